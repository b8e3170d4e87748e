package invoice

import (
	"slices"
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
// Pin, Charge, Quantity, Customer, SubscriptionStart (the contract's
// start), Period (the service), SupplierCosts (per bundle component),
// Credits (the line a credit reverses), Bearer (who bears a credit) and
// Refs.
//
// Lines share memory: lines of one Build that rate the same charge and
// quantity share one Tiers slice, and a supplier cost's AppliesTo.Charges
// is the catalog's own. Treat a line's slices as read-only; Clone returns a
// copy that shares nothing. (Copying Tiers for every line Build returns was
// measured: one allocation more per line, 16% more bytes.)
type Line struct {
	// ID identifies the line (see LineID).
	ID LineID `json:"id"`
	// Kind says what produced it.
	Kind LineKind `json:"kind"`
	// Subscription says whose line it is.
	Subscription SubscriptionID `json:"subscription"`
	// SubscriptionStart is when the subscription the line bills started:
	// its activation, the earliest start of its items' first segments
	// (from an order, its first activation), which Subscription.Term runs
	// from too. Build sets it on every line of the subscription, whatever
	// item the line bills: an item added in the contract's second year
	// carries the subscription's start, not its own. A credit-note line
	// carries the credited line's. It may come after the line's Date (a
	// prepaid commitment bought before the service starts).
	// settlement.FromInvoice makes it the settlement line's ContractStart,
	// which partner programs paying on the first months of a contract
	// read. Zero on a line that does not say (one built before it existed).
	SubscriptionStart time.Time `json:"subscription_start,omitzero"`
	// Item is the subscription item (empty for a line of the subscription
	// as a whole: a commitment true-up, the subscription term's fee, a
	// prepaid commitment's purchase and breakage).
	Item ItemID `json:"item,omitempty"`
	// Customer is the customer billed.
	Customer CustomerID `json:"customer"`
	// Date is the instant the line fell due.
	Date time.Time `json:"date"`
	// Description is a short human-readable label.
	Description string `json:"description"`
	// Pin and Charge name the catalog offer version and charge billed. A
	// line of the subscription as a whole has no charge and is attributed
	// to an item's offer: a commitment true-up to the subscription's first
	// item (by ID) in service in the cycle (of a scoped commitment, the
	// first holding its scope, with the scope's charge: see
	// CommitmentScope), the subscription term's fee to
	// the first in service at the end, a prepaid commitment's purchase and
	// breakage to the first whose charge draws on it (or its own Offer).
	// Such a line carries the references of that item and of its segment
	// then (from an order, its order line and segment).
	Pin catalog.Pin `json:"pin,omitzero"`
	// Charge is the charge of Pin's offer the line bills. A true-up of a
	// scoped minimum commitment carries the scope's one charge of Pin's
	// offer, when it has one (see CommitmentScope).
	Charge catalog.ChargeID `json:"charge,omitempty"`
	// CommitmentScope is, on the true-up of a minimum commitment limited
	// to part of the subscription (Commitment.Scope), the scope it tops
	// up; nil on every other line, and on a true-up of the whole
	// subscription.
	CommitmentScope *CommitmentScope `json:"commitment_scope,omitempty"`
	// Model is the charge's price model.
	Model catalog.Model `json:"model,omitempty"`
	// Cycle is the billing cycle the line belongs to (for a usage line, its
	// usage period: the cycle, or its piece at one charge under
	// SplitAtChange); Period the part of it the line covers (equal to Cycle
	// unless prorated).
	Cycle ensemble.Period `json:"cycle"`
	// Period is the part of Cycle the line covers: its service period.
	// Recurring lines are clipped to the segment billed; a usage line to
	// the part of its usage period the item was in service (from the first
	// segment in force in it to the end of the item's service in it), so
	// an item activated on January 15 on a cycle anchored on the 1st bills
	// January's usage for [Jan 15, Feb 1). A prepaid commitment draws on a
	// line whose Period starts in its term, a minimum commitment counts a
	// line in the cycle its Period starts in, and settlement reports the
	// service by it; usage itself stays keyed by its usage period
	// (Usage.Period).
	Period ensemble.Period `json:"period"`
	// Quantity is the quantity rated (units, or the usage value). A flat
	// price's amount does not depend on it: a one-time flat fee of an item
	// of 25 seats says 25 here and bills its amount once, so a host
	// printing a unit price divides only per-unit amounts by it (the
	// charge's price model says which: Pin, Charge). On a late usage
	// adjustment (KindUsageAdjustment) and a progressive bill it is the
	// period's cumulative quantity, not what the line adds: 5 late hours of
	// a month billed 40 say 45, and Usage.Billed says 40, so a host printing
	// the hours a line bills prints Quantity less Usage.Billed.
	Quantity decimal.Decimal `json:"quantity"`
	// Full is the exact, unrounded rating of Quantity for a whole cycle,
	// before proration (for usage, the rating; for adjustments, the delta).
	Full ensemble.Money `json:"full"`
	// Tiers is the rating's breakdown by tier (of the whole cycle), shared
	// with other lines (see Line).
	Tiers []catalog.Line `json:"tiers,omitempty"`
	// Proration says how Amount was prorated (nil: a whole cycle).
	Proration *Proration `json:"proration,omitempty"`
	// Usage is the usage aggregate the line rated (nil for other kinds).
	Usage *UsageTrace `json:"usage,omitempty"`
	// Attribution is, on a usage line of a charge that attributes its
	// usage (catalog.Charge.AttributeTo), whose usage the line bills: the
	// attribute, its value and the whole charge the line is a part of; on
	// a credit-note line, the credited line's (nil for other lines). See
	// Attribution.
	Attribution *Attribution `json:"attribution,omitempty"`
	// Currency is the line's currency.
	Currency ensemble.Currency `json:"currency"`
	// Amount is the line's amount before discounts, rounded once.
	Amount ensemble.Money `json:"amount"`
	// Discounts lists each discount taken off; Discount is their sum.
	Discounts []AppliedDiscount `json:"discounts,omitempty"`
	// Discount is the sum of Discounts, in whole minor units.
	Discount ensemble.Money `json:"discount"`
	// Recouped, on a minimum commitment's true-up (KindCommitmentTrueUp),
	// is what the true-up bills back of the discounts the cycle's counted
	// lines took (their Discounts, but fixed ones the invoice takes after
	// the commitment counted the line), by discount id: a true-up T
	// against discounts D bills back R = min(T, ΣD), allocated over the
	// discounts in proportion to what each took, by largest remainder
	// keyed by discount id and listed by it; nil when the cycle's lines
	// took no discount.
	// It changes nothing the customer is billed (the true-up takes no
	// discount: Discounts stays empty); settlement reads it to pay what it
	// bills back to the node that funded each discount (settlement's
	// Line.Recouped). A true-up credit (late usage: Line.Credits names the
	// true-up) gives back the true-up's recouped part in proportion to
	// what it credits of it (negative, half to even, allocated as the
	// true-up recouped it); a true-up a correction makes owed recoups
	// nothing.
	Recouped []AppliedDiscount `json:"recouped,omitempty"`
	// Prepaid says how much of the line a prepaid commitment covered (nil:
	// none). The covered part is not billed again: Net and Tax are of
	// Amount - Discount - Prepaid.Covered.
	Prepaid *PrepaidDraw `json:"prepaid,omitempty"`
	// Net is the amount net of discounts, prepaid cover and tax.
	Net ensemble.Money `json:"net"`
	// Tax is the line's tax and TaxRule the rule that set it.
	Tax ensemble.Money `json:"tax"`
	// TaxRule is the rule (and treatment) the tax was computed under.
	TaxRule TaxTrace `json:"tax_rule"`
	// Taxes is, for a rule with components (TaxRule.Components), each
	// component's tax, in the rule's order; they add up to Tax. Nil for a
	// rule with a single rate. A credit's components are negative and
	// never give back more of a component than the line billed.
	Taxes []TaxAmount `json:"taxes,omitempty"`
	// Total is Net + Tax.
	Total ensemble.Money `json:"total"`
	// Credits is, for a proration credit, the line whose unused part it
	// credits; for a credit-note line, the invoice line it reverses; for a
	// usage adjustment that lowers the amount (a volume price), the usage
	// line it corrects. Every line with a negative net names one, and a line
	// that names one never has a positive net or tax, as package settlement
	// expects.
	Credits LineID `json:"credits,omitempty"`
	// Bearer is, for a credit-note line, who bears it in settlement
	// (CreditLine.Bearer, else CreditRequest.Bearer); zero: every party in
	// proportion.
	Bearer Bearer `json:"bearer,omitzero"`
	// CreditedInvoice is, for a credit-note line, the invoice of Credits.
	CreditedInvoice InvoiceID `json:"credited_invoice,omitempty"`
	// Reissues is, on a line a run billed anew because a back-dated change
	// altered a line an earlier run had billed (see Run.Billed), the ID the
	// line has when billed in one run over the whole span: the ID of the
	// line it stands for. Its own ID is that one followed by "/reissue/"
	// and the run's instant, so it never repeats; the line it replaces is
	// reversed first (KindReversal). A proration credit billed anew credits
	// the line billed anew (Credits). Empty otherwise.
	Reissues LineID `json:"reissues,omitempty"`
	// SupplierCosts is what each supplier of a bundle is owed for a line
	// with a positive Net (catalog.Catalog.SupplierCosts on what the line
	// charged: Net, plus Prepaid.CoveredNet when a prepaid commitment
	// covered part of it), for the components whose cost applies to the
	// line's Charge and comes to more than zero; each records its ratio or
	// fixed amount, its scope (AppliesTo) and, for a cost in another
	// currency, the amount in that currency and the rate it was converted
	// at. A ratio cost is a share of what the line charged, after every
	// discount. The costs never exceed what the line charged: when fixed
	// costs on top of the ratio costs would (a large discount), and each
	// says its supplier bears the shortfall (catalog.ShortfallSupplier),
	// the fixed costs share what the ratio costs leave, in proportion to
	// their amounts, each recording what it could not carry (Capped; a
	// cost cut to zero stays listed); otherwise the run fails
	// (ErrCostShortfall). A free line carries none. Credits carry none:
	// settlement reverses the credited line's entries instead.
	SupplierCosts []catalog.SupplierCost `json:"supplier_costs,omitempty"`
	// CostsNotApplied lists the bundle's components whose cost does not
	// apply to the line's Charge (a ratio cost on a one-time fee, by
	// default), with a zero Cost and the scope that left them out, so that
	// Explain says which costs applied and which did not; on an
	// early-termination fee attributed to a bundle, every component (no
	// supplier shares the fee). Settlement ignores it.
	CostsNotApplied []catalog.SupplierCost `json:"costs_not_applied,omitempty"`
	// Refs are the trace references of the line, sorted: subscription item,
	// offer, charge, price, usage aggregate, credited line, discounts, tax
	// rule.
	Refs []ensemble.Ref `json:"refs"`
}

// Clone returns a copy of l that shares no memory with l, other lines or
// the catalog: its own slices (Tiers, Discounts, Recouped, SupplierCosts with their
// AppliesTo.Charges, CostsNotApplied, Refs) and its own Proration, Usage
// (with its Late), Prepaid (with its Refund) and CommitmentScope.
func (l Line) Clone() Line {
	l.Tiers = slices.Clone(l.Tiers)
	l.Discounts = slices.Clone(l.Discounts)
	l.Taxes = slices.Clone(l.Taxes)
	l.Recouped = slices.Clone(l.Recouped)
	l.SupplierCosts = cloneCosts(l.SupplierCosts)
	l.CostsNotApplied = cloneCosts(l.CostsNotApplied)
	l.Refs = slices.Clone(l.Refs)
	l.Proration = clonePtr(l.Proration)
	l.Usage = clonePtr(l.Usage)
	l.Attribution = clonePtr(l.Attribution)
	if l.Usage != nil {
		l.Usage.Late = clonePtr(l.Usage.Late)
	}
	l.Prepaid = clonePtr(l.Prepaid)
	if l.Prepaid != nil {
		l.Prepaid.Refund = clonePtr(l.Prepaid.Refund)
	}
	if sc := l.CommitmentScope; sc != nil {
		l.CommitmentScope = &CommitmentScope{Offers: slices.Clone(sc.Offers), Items: slices.Clone(sc.Items), Charges: slices.Clone(sc.Charges)}
	}
	return l
}

// cloneCosts copies supplier costs with their scopes' charges.
func cloneCosts(cs []catalog.SupplierCost) []catalog.SupplierCost {
	cs = slices.Clone(cs)
	for i := range cs {
		cs[i].AppliesTo.Charges = slices.Clone(cs[i].AppliesTo.Charges)
	}
	return cs
}

// clonePtr returns a pointer to a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// Proration is how a recurring line's amount was taken from its cycle's
// full amount: Amount = round(Full × To) - round(Full × From), where From
// and To are the fractions of the cycle elapsed at the start and end of
// Line.Period. Rounding the cumulative amounts (rather than each part) makes
// the parts of a cycle split at any instants add up to exactly round(Full).
//
// A volume price whose catalog.Price.FlatProration is catalog.FlatWhole
// (Lago's prorated volume charge) prorates only its units: the tier's flat
// amount is Whole, AtTo and AtFrom prorate Full - Whole, and the line bills
// AtTo - AtFrom + round(Whole). A proration credit gives back only the
// prorated part: the flat amount billed whole is never credited, and every
// piece of a cycle (before and after a change) bills its own.
//
// An early-termination fee declining over the term (TerminationDeclining)
// records the part of the term left the same way (From is the elapsed
// fraction at the end, To is 1, Fraction what is left), but its amount is
// the declining fee itself, rounded once: Amount = AtTo = round(Full ×
// Fraction), and AtFrom is zero. A contract states the fee owed that way;
// Full less round(Full × From) would differ by a minor unit on a tie.
type Proration struct {
	// Basis is how the cycle was measured.
	Basis ensemble.ProrationBasis `json:"basis"`
	// From is the elapsed fraction of the cycle at the start of the line's
	// Period, exact.
	From ensemble.Ratio `json:"from"`
	// To is the elapsed fraction at its end, exact.
	To ensemble.Ratio `json:"to"`
	// Fraction is To - From: the share of the cycle the line covers.
	Fraction ensemble.Ratio `json:"fraction"`
	// AtTo is round(Full × To); the line's Amount is AtTo - AtFrom
	// (negated for a credit).
	AtTo ensemble.Money `json:"at_to"`
	// AtFrom is round(Full × From).
	AtFrom ensemble.Money `json:"at_from"`
	// Whole is the part of Full billed whole rather than prorated (a
	// catalog.FlatWhole volume tier's flat amount); zero otherwise.
	Whole ensemble.Money `json:"whole,omitzero"`
	// Billed and Left are, on a proration credit of a line that credit
	// notes had credited in part or in full (given in Run.Billed), the
	// Total that line billed and what the credit notes left of it. The
	// credit is then the unused part of what they left: its total is
	// round(T × Left / Billed) of the unused part's total T, split into
	// net and tax as a credit note splits what it credits, and the part
	// not credited again is the line's discount "credited". Both zero
	// otherwise.
	Billed ensemble.Money `json:"billed,omitzero"`
	Left   ensemble.Money `json:"left,omitzero"`
}

// UsageTrace is the usage aggregate a usage line rated.
type UsageTrace struct {
	// Meter is the meter the aggregate folded.
	Meter usage.MeterID `json:"meter"`
	// Period is the usage period: the charge's cycle, or the piece of it
	// billed at one charge when the item's usage charge changed inside it
	// (SplitAtChange).
	Period ensemble.Period `json:"period"`
	// Records counts the records rated (for an adjustment, all of the
	// period's, late ones included).
	Records int64 `json:"records"`
	// Digest identifies those records (usage.Digest).
	Digest usage.Digest `json:"digest"`
	// Ref is the aggregate's trace reference (usage.Aggregate.Ref).
	Ref ensemble.Ref `json:"ref"`
	// Billed is, for an adjustment, a progressive bill or the final bill of
	// a period billed progressively, the quantity billed before; Quantity
	// on the line is then the cumulative quantity.
	Billed decimal.Decimal `json:"billed,omitzero"`
	// BilledNet is, for the final bill of a period billed progressively,
	// the net the progressive lines billed before it (round(rate(Billed))
	// less its percentage discounts, each rounded once): with the line's
	// own net, the whole period's usage, which a minimum commitment counts.
	BilledNet ensemble.Money `json:"billed_net,omitzero"`
	// Late is, for an adjustment, the late aggregate's reference.
	Late *ensemble.Ref `json:"late,omitempty"`
	// SpendShare is the part of its charge's minimum and maximum spend the
	// usage period owes (catalog.RateOptions.SpendShare), zero for the
	// whole. Under SpendProration catalog.SpendWhole, a piece of a period
	// cut where the item's usage charge changed (Period is the piece) owes
	// its share of the service of the period's pieces, so that they owe one
	// minimum between them, and a whole period the whole; under
	// catalog.SpendService, a period or piece owes its service over the
	// whole billing cycle (17/31 for January 15-31).
	SpendShare ensemble.Ratio `json:"spend_share,omitzero"`
	// SpendShareBilled is, on the line billing a later stretch of service
	// in the usage period (the item restarted in it after a stop, under
	// catalog.SpendService), the share the period was billed at before it;
	// SpendShare is then the share with the stretch, and Billed the usage
	// both are rated with. Zero on other lines.
	SpendShareBilled ensemble.Ratio `json:"spend_share_billed,omitzero"`
	// SpendProration is the charge's catalog.Price.SpendProration, which
	// SpendShare was worked out under.
	SpendProration catalog.SpendProration `json:"spend_proration,omitempty"`
}

// Attribution says whose usage an attributed usage line bills. A charge
// that attributes its usage (catalog.Charge.AttributeTo) is rated on the
// period's whole quantity, as the customer's contract prices it: tiers,
// free units and minimum and maximum spend apply to the charge as a whole.
// Its amount, rounded once, is then allocated over the attribute's values
// in proportion to their quantities (usage.Aggregate.Parts), by largest
// remainder with ties broken by value, and billed as one line per value:
// its ID is the charge's usage line ID followed by "/" and the value, its
// Quantity the value's, its Amount (and Full) the value's part, its Tiers
// the whole charge's breakdown, and its percentage discounts and tax are
// taken off that part as off any line (each rounded on the line, so they
// may differ by a minor unit from the whole's). The
// parts add up to the whole charge's amount exactly. Each line is
// credited, disputed and settled on its own (settlement.FromInvoice
// carries the value to the settlement line, whose plan can pay the partner
// it names). A period whose values have no quantity at all (an idle
// period owing a minimum spend) bills one line with no attribution, under
// the charge's usage line ID.
//
// Late usage of an attributed charge bills, per value, what the value's
// part of rate(cumulative) comes to less its part of rate(billed): so the
// late lines of a value add up, over any split of runs, to the part one
// run over every record gives it, and a value whose part shrinks (a tier
// or a minimum shared out anew) gets a negative line crediting its usage
// line.
type Attribution struct {
	// Attribute is the record attribute (catalog.Charge.AttributeTo).
	Attribute string `json:"attribute"`
	// Value is the attribute's value whose usage the line bills.
	Value string `json:"value"`
	// Quantity is the whole charge's quantity in the period (cumulative
	// for a late usage line), of which the line's Quantity is the value's.
	Quantity decimal.Decimal `json:"quantity"`
	// Amount is the whole charge's amount the line's Amount is a part of
	// (for a late usage line, the whole adjustment).
	Amount ensemble.Money `json:"amount"`
}

// AppliedDiscount is one discount taken off a line.
type AppliedDiscount struct {
	// ID names the discount ("partner" and "line" for an item's partner
	// discount and a segment's discount; "credited", on a proration
	// credit, for the part of the unused time that credit notes had
	// credited already: see Proration.Billed).
	ID DiscountID `json:"id"`
	// Percent is the discount's rate, or zero for a fixed discount.
	Percent ensemble.Ratio `json:"percent,omitzero"`
	// Amount is what it took off (same sign as the line's Amount).
	Amount ensemble.Money `json:"amount"`
	// Service is the part of the line's service a percentage discount
	// lasting calendar time (Discount.Length) covered, when it covered
	// only part of it (the line straddles its start or end); zero
	// otherwise. Amount is for that part, prorated.
	Service ensemble.Period `json:"service,omitzero"`
}

// TaxTrace is the tax rule a line was taxed under.
type TaxTrace struct {
	// ID is the rule (empty when the table is empty).
	ID TaxRuleID `json:"id,omitempty"`
	// Rate is the rate charged: the rule's, or 0 for exempt and reverse
	// charge customers.
	Rate ensemble.Ratio `json:"rate"`
	// Inclusive says the line's Amount included the tax.
	Inclusive bool `json:"inclusive,omitempty"`
	// Treatment says whether tax was charged and why not.
	Treatment TaxTreatment `json:"treatment"`
}

// TaxLine is the invoice's tax for one rule (and treatment): the taxable
// base (Σ Net) and the tax (Σ Tax) of its lines.
type TaxLine struct {
	// Rule is the rule and treatment.
	Rule TaxTrace `json:"rule"`
	// Base is the taxable base: the sum of the lines' Net.
	Base ensemble.Money `json:"base"`
	// Tax is the sum of the lines' Tax.
	Tax ensemble.Money `json:"tax"`
	// Components is, for a rule with components, the sum of the lines'
	// Taxes per component, in the rule's order; they add up to Tax.
	Components []TaxAmount `json:"components,omitempty"`
}

// AppliedCredit is the part of a prepaid credit an invoice consumed.
type AppliedCredit struct {
	// Credit is the prepaid credit drawn on.
	Credit CreditID `json:"credit"`
	// Amount is what the invoice took from it; the host lowers the
	// credit's balance by it.
	Amount ensemble.Money `json:"amount"`
}

// Invoice is what one subscription owes for one run. Lines are sorted by
// ID. Subtotal = Σ Net, Tax = Σ Tax = Σ Taxes[i].Tax, Total = Subtotal + Tax
// = Σ Total, AmountDue = Total - Σ Credits, all exact in minor units.
type Invoice struct {
	// ID is "<subscription>/<run instant>".
	ID InvoiceID `json:"id"`
	// Status is Draft as built, Issued after Issue.
	Status Status `json:"status"`
	// Subscription says whose invoice it is.
	Subscription SubscriptionID `json:"subscription"`
	// Customer is whom it bills.
	Customer Customer `json:"customer"`
	// Currency is the subscription's currency, of every amount.
	Currency ensemble.Currency `json:"currency"`
	// Date is the run's instant (Run.At): the invoice bills the lines due
	// in (After, Date].
	Date time.Time `json:"date"`
	// After is the previous run's instant (Run.After).
	After time.Time `json:"after,omitzero"`
	// IssuedAt is set by Issue.
	IssuedAt time.Time `json:"issued_at,omitzero"`
	// TaxRounding is the policy the invoice's tax was rounded with.
	TaxRounding TaxRounding `json:"tax_rounding"`
	// Mode is the rounding mode of its amounts; credit notes use it too.
	Mode ensemble.RoundingMode `json:"mode"`
	// Lines are the invoice's lines, sorted by ID.
	Lines []Line `json:"lines"`
	// Subtotal is the sum of the lines' Net.
	Subtotal ensemble.Money `json:"subtotal"`
	// Taxes is the tax per rule and treatment, sorted by rule ID.
	Taxes []TaxLine `json:"taxes"`
	// Tax is the sum of the lines' Tax.
	Tax ensemble.Money `json:"tax"`
	// Total is Subtotal + Tax.
	Total ensemble.Money `json:"total"`
	// Credits are the prepaid credits applied, in the order they were.
	Credits []AppliedCredit `json:"credits,omitempty"`
	// AmountDue is Total less the credits applied.
	AmountDue ensemble.Money `json:"amount_due"`
	// Prepaid says, for each prepaid commitment the invoice touched, what
	// it drew and what is left: the host adds Drawn and Expired to the
	// commitment's Drawn before the next run.
	Prepaid []PrepaidUse `json:"prepaid,omitempty"`
	// ReverseCharge says the customer accounts for the tax (the invoice
	// must say so).
	ReverseCharge bool `json:"reverse_charge,omitempty"`
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
