package invoice

import (
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
)

// Line is one line of an invoice or a credit note, with everything that
// explains its amount. Amounts are in whole minor units and relate exactly:
//
//	Net   = Amount - Discount            (exclusive tax)
//	Net   = Amount - Discount - Tax      (inclusive tax: Amount includes it)
//	Total = Net + Tax
//
// Proration credits and credit-note lines carry negative amounts.
//
// Settlement reads: ID, Date, Net (the basis, net of tax), Tax, Currency,
// Pin, Charge, Quantity, Customer, SupplierCosts (per bundle component),
// Credits (the line a credit reverses) and Refs.
type Line struct {
	ID           LineID         `json:"id"`
	Kind         LineKind       `json:"kind"`
	Subscription SubscriptionID `json:"subscription"`
	Item         ItemID         `json:"item,omitempty"`
	Customer     CustomerID     `json:"customer"`
	// Date is the instant the line fell due.
	Date time.Time `json:"date"`
	// Description is a short human-readable label.
	Description string `json:"description"`
	// Pin and Charge name the catalog offer version and charge billed. A
	// commitment true-up has no charge; its Pin is the offer of the
	// subscription's first item (by ID) in service in the cycle.
	Pin    catalog.Pin      `json:"pin,omitzero"`
	Charge catalog.ChargeID `json:"charge,omitempty"`
	// Model is the charge's price model.
	Model catalog.Model `json:"model,omitempty"`
	// Cycle is the billing cycle the line belongs to; Period the part of it
	// the line covers (equal to Cycle unless prorated).
	Cycle  ensemble.Period `json:"cycle"`
	Period ensemble.Period `json:"period"`
	// Quantity is the quantity rated (units, or the usage value).
	Quantity decimal.Decimal `json:"quantity"`
	// Full is the exact, unrounded rating of Quantity for a whole cycle,
	// before proration (for usage, the rating; for adjustments, the delta).
	Full ensemble.Money `json:"full"`
	// Tiers is the rating's breakdown by tier (of the whole cycle). Lines of
	// one Build that rate the same charge and quantity share it: treat it as
	// read-only.
	Tiers []catalog.Line `json:"tiers,omitempty"`
	// Proration says how Amount was prorated (nil: a whole cycle).
	Proration *Proration `json:"proration,omitempty"`
	// Usage is the usage aggregate the line rated (nil for other kinds).
	Usage *UsageTrace `json:"usage,omitempty"`
	// Currency is the line's currency.
	Currency ensemble.Currency `json:"currency"`
	// Amount is the line's amount before discounts, rounded once.
	Amount ensemble.Money `json:"amount"`
	// Discounts lists each discount taken off; Discount is their sum.
	Discounts []AppliedDiscount `json:"discounts,omitempty"`
	Discount  ensemble.Money    `json:"discount"`
	// Net is the amount net of discounts and tax.
	Net ensemble.Money `json:"net"`
	// Tax is the line's tax and TaxRule the rule that set it.
	Tax     ensemble.Money `json:"tax"`
	TaxRule TaxTrace       `json:"tax_rule"`
	// Total is Net + Tax.
	Total ensemble.Money `json:"total"`
	// Credits is, for a proration credit, the line whose unused part it
	// credits; for a credit-note line, the invoice line it reverses; for a
	// usage adjustment that lowers the amount (a volume price), the usage
	// line it corrects. Every line with a negative net names one, and a line
	// that names one never has a positive net or tax, as package settlement
	// expects.
	Credits LineID `json:"credits,omitempty"`
	// CreditedInvoice is, for a credit-note line, the invoice of Credits.
	CreditedInvoice InvoiceID `json:"credited_invoice,omitempty"`
	// SupplierCosts is what each supplier of a bundle is owed for a line
	// with a positive Net (catalog.Catalog.SupplierCosts on Net). Credits
	// carry none: settlement reverses the credited line's entries instead.
	SupplierCosts []catalog.SupplierCost `json:"supplier_costs,omitempty"`
	// Refs are the trace references of the line, sorted: subscription item,
	// offer, charge, price, usage aggregate, credited line, discounts, tax
	// rule.
	Refs []ensemble.Ref `json:"refs"`
}

// Proration is how a recurring line's amount was taken from its cycle's
// full amount: Amount = round(Full × To) - round(Full × From), where From
// and To are the fractions of the cycle elapsed at the start and end of
// Line.Period. Rounding the cumulative amounts (rather than each part) makes
// the parts of a cycle split at any instants add up to exactly round(Full).
type Proration struct {
	Basis ensemble.ProrationBasis `json:"basis"`
	// From and To are the elapsed fractions of the cycle, exact.
	From ensemble.Ratio `json:"from"`
	To   ensemble.Ratio `json:"to"`
	// Fraction is To - From: the share of the cycle the line covers.
	Fraction ensemble.Ratio `json:"fraction"`
	// AtTo and AtFrom are round(Full × To) and round(Full × From); the
	// line's Amount is their difference (negated for a credit).
	AtTo   ensemble.Money `json:"at_to"`
	AtFrom ensemble.Money `json:"at_from"`
}

// UsageTrace is the usage aggregate a usage line rated.
type UsageTrace struct {
	Meter   usage.MeterID   `json:"meter"`
	Period  ensemble.Period `json:"period"`
	Records int64           `json:"records"`
	Digest  usage.Digest    `json:"digest"`
	Ref     ensemble.Ref    `json:"ref"`
	// Billed is, for an adjustment, the quantity billed before; Quantity
	// on the line is then the cumulative quantity.
	Billed decimal.Decimal `json:"billed,omitzero"`
	// Late is, for an adjustment, the late aggregate's reference.
	Late *ensemble.Ref `json:"late,omitempty"`
}

// AppliedDiscount is one discount taken off a line.
type AppliedDiscount struct {
	ID DiscountID `json:"id"`
	// Percent is the discount's rate, or zero for a fixed discount.
	Percent ensemble.Ratio `json:"percent,omitzero"`
	// Amount is what it took off (same sign as the line's Amount).
	Amount ensemble.Money `json:"amount"`
}

// TaxTrace is the tax rule a line was taxed under.
type TaxTrace struct {
	ID        TaxRuleID      `json:"id,omitempty"`
	Rate      ensemble.Ratio `json:"rate"`
	Inclusive bool           `json:"inclusive,omitempty"`
	Treatment TaxTreatment   `json:"treatment"`
}

// TaxLine is the invoice's tax for one rule (and treatment): the taxable
// base (Σ Net) and the tax (Σ Tax) of its lines.
type TaxLine struct {
	Rule TaxTrace       `json:"rule"`
	Base ensemble.Money `json:"base"`
	Tax  ensemble.Money `json:"tax"`
}

// AppliedCredit is the part of a prepaid credit an invoice consumed.
type AppliedCredit struct {
	Credit CreditID       `json:"credit"`
	Amount ensemble.Money `json:"amount"`
}

// Invoice is what one subscription owes for one run. Lines are sorted by
// ID. Subtotal = Σ Net, Tax = Σ Tax = Σ Taxes[i].Tax, Total = Subtotal + Tax
// = Σ Total, AmountDue = Total - Σ Credits, all exact in minor units.
type Invoice struct {
	ID           InvoiceID         `json:"id"`
	Status       Status            `json:"status"`
	Subscription SubscriptionID    `json:"subscription"`
	Customer     Customer          `json:"customer"`
	Currency     ensemble.Currency `json:"currency"`
	// Date is the run's instant; Window the due instants it bills (After, At].
	Date  time.Time `json:"date"`
	After time.Time `json:"after,omitzero"`
	// IssuedAt is set by Issue.
	IssuedAt time.Time `json:"issued_at,omitzero"`
	// TaxRounding is the policy the invoice's tax was rounded with; Mode
	// its rounding mode (credit notes use them too).
	TaxRounding   TaxRounding           `json:"tax_rounding"`
	Mode          ensemble.RoundingMode `json:"mode"`
	Lines         []Line                `json:"lines"`
	Subtotal      ensemble.Money        `json:"subtotal"`
	Taxes         []TaxLine             `json:"taxes"`
	Tax           ensemble.Money        `json:"tax"`
	Total         ensemble.Money        `json:"total"`
	Credits       []AppliedCredit       `json:"credits,omitempty"`
	AmountDue     ensemble.Money        `json:"amount_due"`
	ReverseCharge bool                  `json:"reverse_charge,omitempty"`
}

// Line returns the line with the given ID and whether there is one.
func (inv *Invoice) Line(id LineID) (Line, bool) {
	for i := range inv.Lines {
		if inv.Lines[i].ID == id {
			return inv.Lines[i], true
		}
	}
	return Line{}, false
}
