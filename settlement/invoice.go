package settlement

import (
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
)

// FromInvoice returns the settlement lines of invoice or credit-note lines
// of an order, in the same order: each line's id, date, net amount and tax,
// offer pin, charge, quantity (what the line adds, for a line whose
// invoice Quantity is cumulative: see Line.Quantity), service period, the
// start of its contract (invoice.Line.SubscriptionStart, as ContractStart),
// supplier costs and the line it credits (a
// proration credit credits the line it reverses; a credit-note line the
// invoice line) with who bears the credit (invoice.Line.Bearer, as a
// Bearer: a bearer that is not one is ErrInvalidLine), the order's customer
// and route, and a trace that starts with
// the invoice line itself (invoice.RefLine) followed by the line's own
// references. The credit of a discount recorded late (a credit-note line
// whose Refs name the discount: see invoice.Discount.Recorded) lists that
// discount in Discounts, positive: it takes it rather than giving it
// back, so that a node funding it bears it alone (see Line.Discounts).
// Invoice line ids are unique across invoices and credit notes,
// so they serve as settlement line ids. Lines of prepaid commitments need
// FromInvoiceWith, which says when partners earn on them.
//
// Of o only the customer (ID and Country) and the route are read, and its
// ID checked: a host that bills subscriptions it keeps itself
// (invoice.Subscription), without package order, passes
// order.Order{Customer: ..., Route: ...} with the route the sale was made
// under. The lines must bill o: a line whose Customer is not o's customer,
// or whose trace names another order than o's ID (order.RefOrder, which
// invoice.FromOrder puts on every line), is refused with ErrOrderMismatch
// (and ErrInvalidLine, in a *LineError naming the line), and no line is
// converted; otherwise another order's seller, chain and referrer would be
// paid for it. A line naming no customer or order, and an order naming no
// customer or ID, are not checked on what they leave out.
//
// A route without a kind (a hand-filled order's, written as an order.Draft's
// is) is given the kind its parties make, as package order derives a
// draft's: marketplace when it names a marketplace, else co_sell with
// co-sellers, else partner with a seller (or a chain), else referral with a
// referrer; a kind given is kept. A route naming no party keeps no kind, and
// Settle refuses its sale lines (ErrInvalidLine at route.kind), rather than
// settle an order whose route was forgotten as a direct sale.
func FromInvoice(lines []invoice.Line, o order.Order) ([]Line, error) {
	return FromInvoiceWith(lines, o, InvoiceOptions{})
}

// fromInvoice converts the lines without the choices of InvoiceOptions.
func fromInvoice(lines []invoice.Line, o order.Order) ([]Line, error) {
	// The order's route, copied once: the lines share it.
	route := o.Route
	route.Chain, route.CoSellers = slices.Clone(route.Chain), slices.Clone(route.CoSellers)
	if route.Kind == partner.RouteUnspecified {
		route.Kind = impliedKind(&route)
	}
	customer := Customer{ID: string(o.Customer.ID), Country: partner.Territory(o.Customer.Country)}
	out := make([]Line, len(lines))
	for i, l := range lines {
		if err := sameOrder(&l, &o); err != nil {
			return nil, lineErr(LineID(l.ID), "", "", "", err)
		}
		trace := make([]ensemble.Ref, 0, len(l.Refs)+1)
		trace = append(trace, ensemble.Ref{Kind: invoice.RefLine, ID: string(l.ID)})
		out[i] = Line{
			ID: LineID(l.ID), Date: l.Date, Amount: l.Net, Tax: l.Tax, Offer: l.Pin, Charge: l.Charge, Kind: l.Kind.String(),
			Quantity: billedQuantity(&l), PeriodQuantity: periodQuantity(&l), Customer: customer, Route: route, SupplierCosts: l.SupplierCosts,
			Credits: LineID(l.Credits), Service: l.Period, ContractStart: l.SubscriptionStart, Trace: append(trace, l.Refs...),
		}
		out[i].Discounts = saleDiscounts(&l)
		if id, ok := lateDiscount(&l); ok {
			out[i].Discounts = []Discount{{ID: id, Amount: l.Net.Neg()}}
		}
		out[i].Recouped = netDiscounts(&l, l.Recouped)
		if l.Attribution != nil {
			out[i].Attributed = l.Attribution.Value
		}
		if l.Bearer != (invoice.Bearer{}) {
			b, err := bearerFromInvoice(l.Bearer)
			if err != nil {
				return nil, lineErr(LineID(l.ID), "", "", "", fmt.Errorf("%w: bearer: %w", ErrInvalidLine, err))
			}
			out[i].Bearer = b
		}
	}
	return out, nil
}

// impliedKind is the kind route r's parties make (partner.Route.PartiesKind),
// as package order derives a draft's; RouteUnspecified when it names no
// party, since a route forgotten is no direct sale.
func impliedKind(r *partner.Route) partner.RouteKind {
	if k := r.PartiesKind(); k != partner.RouteDirect {
		return k
	}
	return partner.RouteUnspecified
}

// sameOrder checks that invoice line l bills order o: its customer, when
// both name one, is o's, and the order its trace names (order.RefOrder), when o
// has an ID, is o. Else the line would be settled under another order's
// route and customer (ErrOrderMismatch).
func sameOrder(l *invoice.Line, o *order.Order) error {
	if l.Customer != "" && o.Customer.ID != "" && string(l.Customer) != string(o.Customer.ID) {
		return fmt.Errorf("%w: %w: the line bills customer %q, not customer %q of the order given: pass the order the line bills",
			ErrInvalidLine, ErrOrderMismatch, l.Customer, o.Customer.ID)
	}
	if o.ID == "" {
		return nil
	}
	for _, r := range l.Refs {
		if r.Kind == order.RefOrder && r.ID != string(o.ID) {
			return fmt.Errorf("%w: %w: the line bills order %q, not order %q: pass the order the line bills",
				ErrInvalidLine, ErrOrderMismatch, r.ID, o.ID)
		}
	}
	return nil
}

// saleDiscounts returns what the discounts of invoice line l took off its
// net (Line.Discounts), nil when none did; on a credit, what it gives back
// of them (negative), less invoice's "credited", the part of a proration
// credit that credit notes took before, which is no discount. Under prices that include tax
// a discount took the tax with the price: what it took of the net is its
// amount over one plus the rate charged (half to even), as the line's net
// is its gross less the tax.
func saleDiscounts(l *invoice.Line) []Discount { return netDiscounts(l, l.Discounts) }

// netDiscounts returns what discounts ds of invoice line l (its Discounts,
// or its Recouped) are of its net, as saleDiscounts says, nil when none.
func netDiscounts(l *invoice.Line, ds []invoice.AppliedDiscount) []Discount {
	var out []Discount
	var net ensemble.Ratio // 1 / (1 + rate), when the prices include tax
	if l.TaxRule.Inclusive && l.TaxRule.Rate.Sign() > 0 {
		net = ensemble.RatioFromRat(new(big.Rat).Inv(new(big.Rat).Add(big.NewRat(1, 1), l.TaxRule.Rate.Rat())))
	}
	for _, d := range ds {
		if d.Amount.IsZero() || l.Credits != "" && d.ID == creditedByNotes {
			continue
		}
		m := d.Amount
		if net.Sign() > 0 {
			m = m.MulRatio(net, ensemble.RoundHalfEven)
		}
		out = append(out, Discount{ID: string(d.ID), Amount: m})
	}
	return out
}

// lateDiscount returns the discount that invoice line l credits, when l
// is the credit of a percentage discount recorded late on usage billed
// before it (invoice.Discount.Recorded): a credit-note line crediting a
// usage line, listing no discounts, whose Refs name the credited line
// and the discount (invoice.RefDiscount). Such a credit gives back none
// of the list price: all it credits is the discount taken, which
// FromInvoice lists positive in the settlement line's Discounts (a credit
// taking a discount, not giving it back), so that a node funding the
// discount bears it alone, as it would have had the discount been known
// when the usage was billed.
func lateDiscount(l *invoice.Line) (string, bool) {
	if l.Kind != invoice.KindCreditNote || l.Credits == "" || len(l.Discounts) > 0 || !l.Net.IsNegative() {
		return "", false
	}
	id := ""
	for _, r := range l.Refs {
		if r.Kind == invoice.RefDiscount {
			if id != "" {
				return "", false
			}
			id = r.ID
		}
	}
	return id, id != ""
}

// creditedByNotes is the id invoice gives the part of a proration credit
// that credit notes credited before (invoice's creditedDiscount).
const creditedByNotes = "credited"

// settledDiscounts returns the discounts ds of invoice line l for the part
// of its value that its settlement line settles, settled: all of them when
// it settles the line's whole value (its net, and what a prepaid
// commitment covered of it), none when it settles nothing (a line drawn on
// a commitment whose partners earned on the purchase), and in proportion
// between (half to even), so that a node funding them bears the discounts
// of what its line pays.
func settledDiscounts(ds []Discount, l *invoice.Line, settled ensemble.Money) []Discount {
	if len(ds) == 0 {
		return ds
	}
	value := l.Net
	if l.Prepaid != nil && !l.Prepaid.CoveredNet.IsZero() {
		var err error
		if value, err = value.Add(l.Prepaid.CoveredNet); err != nil {
			return ds // in the line's currency: validate names any other
		}
	}
	switch {
	case settled.Equal(value):
		return ds
	case settled.IsZero() || !value.IsPositive():
		return nil
	}
	s, err1 := settled.MinorUnits()
	v, err2 := value.MinorUnits()
	share, err3 := ensemble.NewRatio(s, v)
	if err := errors.Join(err1, err2, err3); err != nil {
		return ds // out of range: validate names it
	}
	out := make([]Discount, len(ds))
	for i, d := range ds {
		out[i] = Discount{ID: d.ID, Amount: d.Amount.MulRatio(share, ensemble.RoundHalfEven)}
	}
	return out
}

// billedQuantity returns what invoice line l bills of its quantity: its
// Quantity, less what was billed before (Usage.Billed) on a line whose
// Quantity is the period's cumulative usage (a late-usage adjustment, a
// progressive bill, the final bill of a period billed progressively), so
// that a rule reading line.quantity reads the 5 late hours an adjustment
// bills, not the 130 of the whole period.
func billedQuantity(l *invoice.Line) decimal.Decimal {
	if l.Usage == nil || l.Usage.Billed.IsZero() {
		return l.Quantity
	}
	return l.Quantity.Sub(l.Usage.Billed)
}

// periodQuantity returns the usage period's quantity of invoice line l
// when it bills part of it (its cumulative Quantity), else zero.
func periodQuantity(l *invoice.Line) decimal.Decimal {
	if l.Usage == nil || l.Usage.Billed.IsZero() {
		return decimal.Decimal{}
	}
	return l.Quantity
}

// bearerFromInvoice reads a credit-note line's bearer.
func bearerFromInvoice(b invoice.Bearer) (Bearer, error) {
	out := Bearer{Party: partner.ID(b.Party), Node: b.Node, Role: b.Role, Component: b.Component}
	if err := out.Shortfall.UnmarshalText([]byte(b.Shortfall)); err != nil {
		return Bearer{}, err
	}
	var p ensemble.Problems
	out.validate(&p, "bearer")
	return out, p.Err("bearer")
}

// PrepaidEarning says when partners earn on a prepaid commitment
// (invoice.PrepaidCommitment): on the purchase when it is invoiced, or on
// consumption as it is drawn. The two never both pay: over a commitment's
// term each settles the same cash (the purchase, or the covered parts plus
// the breakage), at different times. A bundle's supplier costs are owed on
// consumption, so a commitment whose covered charges carry them needs
// EarnOnConsumption: its purchase line names the bundle components owed
// (catalog.RefComponent references, see invoice.PrepaidCommitment), and
// FromInvoiceWith refuses that purchase under EarnOnPrepayment, at the
// first invoice, before anything of the commitment is settled one way. (A
// covered bundle line whose suppliers are owed is refused under
// EarnOnPrepayment too, for a bundle the purchase did not name: one the
// subscription gained after the purchase was billed.)
//
// A refund of the purchase (a credit note of it, split by
// invoice.PrepaidRefund into what was never drawn and what was) settles by
// one rule in both modes: the unused part earned nothing on consumption and
// reverses the purchase's earnings on prepayment; the used part was
// consumed, so partners keep what they earned on it (it settles nothing in
// either mode) unless the consumption itself is taken back (a usage
// correction, which gives back to the commitment and settles as a credit on
// consumption). So the modes still agree after a refund: with EUR 1,200
// bought and 400 drawn, refunding all 1,200 leaves partners earning on 400
// either way (1,200 less the 800 unused, or the 400 drawn), and the host
// lowers the commitment to 400, so nothing is left to expire.
//
// The mode is one for every party the commitment's lines pay: a contract
// where the marketplace and a reseller take their fee on the cash billed
// (the purchase) while technology partners earn on the usage they brought,
// covered or not, cannot be settled under one plan yet. On consumption the
// marketplace is paid as the commitment is drawn, not when it bills the
// purchase; on prepayment the technology partners are paid nothing on
// covered usage. Over the term each party earns the same in both modes;
// only when differs.
//
// What expires unused (the breakage, at the term's end, at the
// subscription's end, or, with invoice.PrepaidCommitment.RolloverShare,
// the part that does not roll over at End and the rolled part at
// RolloverEnd) is earned on consumption when it expires, by every party
// in the share the plan gives it of the breakage line; on prepayment it
// earns nothing, having been earned with the purchase.
type PrepaidEarning uint8

const (
	// PrepaidUnspecified is the zero value: FromInvoice refuses any line
	// that buys, draws on or lets expire a prepaid commitment, since
	// guessing would change who is paid when.
	PrepaidUnspecified PrepaidEarning = iota
	// EarnOnPrepayment settles the purchase line when it is invoiced; the
	// covered parts of later lines and the breakage settle nothing (their
	// settlement lines carry only what the lines bill beyond the
	// commitment). A refund of the purchase settles its unused part
	// (PrepaidRefund.UnusedNet and UnusedTax), reversing the purchase's
	// earnings on what was never drawn; its used part settles nothing.
	EarnOnPrepayment
	// EarnOnConsumption settles nothing on the purchase, nor on a refund
	// of it (the unused part earned nothing, the used part stays earned);
	// each line settles what it bills plus what the commitment covered of
	// it (net, with the share of the purchase's tax it carries), and the
	// breakage settles when it expires. Under a plan paid on collection
	// its lines are refused (ErrPrepaidEarning): the customer pays the
	// purchase, which settles nothing, and no payment funds what the
	// commitment covers of a line drawn on it, which would await forever.
	EarnOnConsumption
)

var prepaidEarningNames = []string{PrepaidUnspecified: "", EarnOnPrepayment: "on_prepayment", EarnOnConsumption: "on_consumption"}

// String returns the mode's name: "on_prepayment", "on_consumption", or
// "" when unspecified.
func (p PrepaidEarning) String() string {
	return ensemble.EnumName(p, prepaidEarningNames, "prepaid_earning")
}

// MarshalText writes the mode's name; an undeclared mode is an error.
func (p PrepaidEarning) MarshalText() ([]byte, error) {
	return ensemble.EnumText(p, prepaidEarningNames, "settlement", "prepaid earning")
}

// UnmarshalText reads a mode's name; "" is PrepaidUnspecified.
func (p *PrepaidEarning) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[PrepaidEarning](b, prepaidEarningNames, "settlement", "prepaid earning")
	if err == nil {
		*p = v
	}
	return err
}

// ErrPrepaidEarning reports an invoice line touching a prepaid commitment
// converted without a PrepaidEarning, or, under EarnOnPrepayment, the
// purchase of a commitment whose covered charges carry bundle supplier
// costs (owed on consumption) or a covered bundle line whose suppliers are
// owed.
var ErrPrepaidEarning = errors.New("settlement: prepaid commitment needs an earning mode")

// InvoiceOptions are the choices FromInvoiceWith makes that the invoice
// lines alone cannot.
type InvoiceOptions struct {
	// Prepaid says when partners earn on prepaid commitments.
	Prepaid PrepaidEarning
	// Invoice is the id of the invoice the lines are on, copied to each
	// line's Invoice, so that a collection of the invoice pays them
	// (Collection.Invoice); empty leaves it unset.
	Invoice invoice.InvoiceID
	// Dispute is copied to each credit line (one that credits another;
	// sales keep none): DisputeDocuments when the lines are a credit
	// note documenting what lost disputes reversed already, so they
	// reverse nothing more; DisputeSeparate for a credit besides them
	// (see Line.Dispute). It is not read from the note's reason: a credit
	// note for a dispute may follow a dispute won in part, which reversed
	// nothing.
	Dispute DisputeLink
	// Attributes are the host's own facts of the sale the lines bill,
	// copied to every line (Line.Attributes, which rules read as
	// line.attributes): who registered the deal, whether it is the
	// customer's first order. They are the host's, decided from its own
	// records when it settles an order's invoice, and they are facts of
	// the deal rather than of one invoice line, so they are given once
	// per call, as the order's route is; a host whose lines of one order
	// differ sets Line.Attributes on the lines returned. Neither the
	// order nor the invoice line carries them: package order records
	// what was sold and invoice what was billed, not what a partner
	// program pays on. The lines share one copy, which the call makes;
	// nil leaves them none. Settle checks them (see Line.Attributes).
	Attributes map[string]string
}

// FromInvoiceWith is FromInvoice with options: see PrepaidEarning for the
// lines of prepaid commitments. A line that settles nothing under the
// chosen mode (a purchase on consumption, a breakage on prepayment) keeps
// its place with a zero amount, so the lines stay in step with the
// invoice's. A line that cannot be converted fails the whole call (no line
// is returned, so a batch is never settled in part) with a *LineError
// naming that line, its kind and what to change.
func FromInvoiceWith(lines []invoice.Line, o order.Order, opts InvoiceOptions) ([]Line, error) {
	out, err := fromInvoice(lines, o)
	if err != nil {
		return nil, err
	}
	attrs := maps.Clone(opts.Attributes) // one copy, which the lines share, as they share the route
	for i := range out {
		out[i].Invoice = string(opts.Invoice)
		out[i].Attributes = attrs
		if out[i].Credits != "" {
			out[i].Dispute = opts.Dispute
		}
	}
	// Purchases first: a purchase refused for its bundles names the
	// commitment's problem before any line it covers does.
	for _, purchases := range []bool{true, false} {
		for i := range lines {
			if (lines[i].Kind == invoice.KindPrepayment) != purchases {
				continue
			}
			if err := earnPrepaid(&out[i], &lines[i], opts.Prepaid); err != nil {
				return nil, err
			}
			out[i].Discounts = settledDiscounts(out[i].Discounts, &lines[i], out[i].Amount)
		}
	}
	return out, nil
}

// PrepaidTerms names a prepaid commitment ("subscription/commitment", as
// invoice.RefPrepaid) and the mode its partners earn by.
type PrepaidTerms struct {
	Commitment string         `json:"commitment"`
	Earning    PrepaidEarning `json:"earning"`
}

// IsZero reports whether the line touches no prepaid commitment.
func (p PrepaidTerms) IsZero() bool { return p.Commitment == "" && p.Earning == PrepaidUnspecified }

// earnPrepaid sets the amount and tax a prepaid line settles under mode p.
func earnPrepaid(sl *Line, l *invoice.Line, p PrepaidEarning) error {
	touches := l.Kind == invoice.KindPrepayment || l.Kind == invoice.KindPrepaidBreakage || l.Prepaid != nil
	if !touches {
		return nil
	}
	sl.Prepaid = PrepaidTerms{Earning: p}
	for _, r := range l.Refs {
		if r.Kind == invoice.RefPrepaid {
			sl.Prepaid.Commitment = r.ID
		}
	}
	fail := func(why string) error {
		return lineErr(sl.ID, "", "", "", fmt.Errorf("%w: %s line: %s (no line of the batch was converted)", ErrPrepaidEarning, l.Kind, why))
	}
	zero := ensemble.MoneyFromMinor(0, l.Currency)
	switch {
	case p == PrepaidUnspecified:
		return fail("choose settlement.EarnOnPrepayment or EarnOnConsumption in InvoiceOptions")
	case p > EarnOnConsumption:
		return fail(fmt.Sprintf("unknown mode %d", p))
	case l.Kind == invoice.KindPrepayment && p == EarnOnPrepayment && len(owedComponents(l.Refs)) > 0:
		return fail(fmt.Sprintf("commitment %q covers charges of bundles whose suppliers are owed on consumption (%s): "+
			"settle this commitment with settlement.EarnOnConsumption (InvoiceOptions.Prepaid), from this purchase on",
			sl.Prepaid.Commitment, strings.Join(owedComponents(l.Refs), ", ")))
	case l.Kind == invoice.KindPrepayment && p == EarnOnConsumption,
		l.Kind == invoice.KindPrepaidBreakage && p == EarnOnPrepayment:
		sl.Amount, sl.Tax = zero, zero
	case l.Kind == invoice.KindCreditNote && p == EarnOnConsumption:
		// A refund of the purchase: partners earned only on what was
		// drawn, which stays earned, so it settles nothing (the purchase
		// settled nothing).
		sl.Amount, sl.Tax = zero, zero
	case l.Kind == invoice.KindCreditNote:
		// On prepayment, the refund reverses the purchase's earnings on
		// what was never drawn; what was drawn stays earned.
		rf := l.Prepaid.Refund
		if rf == nil {
			return fail("a refund of a prepaid commitment's purchase must say what of it was unused: raise it with invoice.CreditRequest.Prepaid")
		}
		sl.Amount, sl.Tax = rf.UnusedNet, rf.UnusedTax
	case p == EarnOnConsumption:
		var err error
		if sl.Amount, err = l.Net.Add(l.Prepaid.CoveredNet); err == nil {
			sl.Tax, err = l.Tax.Add(l.Prepaid.CoveredTax)
		}
		if err != nil {
			return lineErr(sl.ID, "", "", "", err)
		}
	case len(l.SupplierCosts) > 0 && l.Prepaid != nil && !l.Prepaid.Covered.IsZero():
		suppliers := make([]string, 0, len(l.SupplierCosts))
		for _, c := range l.SupplierCosts {
			suppliers = append(suppliers, c.Supplier)
		}
		return fail(fmt.Sprintf("commitment %q covers %s of this bundle line, whose suppliers (%s) are owed on consumption: "+
			"settle commitments whose covered charges carry bundle supplier costs with settlement.EarnOnConsumption, from their purchase on "+
			"(a purchase names the bundles the subscription held when it was billed, and is refused on prepayment then)",
			sl.Prepaid.Commitment, l.Prepaid.Covered, strings.Join(suppliers, ", ")))
	}
	return nil
}

// owedComponents lists the bundle components a prepaid commitment's
// purchase line names (catalog.RefComponent): those whose suppliers are
// owed on what the commitment covers.
func owedComponents(refs []ensemble.Ref) []string {
	var out []string
	for _, r := range refs {
		if r.Kind == catalog.RefComponent {
			out = append(out, r.ID+"@"+r.Version)
		}
	}
	return out
}

// prepaidEarning checks that a line of a prepaid commitment is settled the
// way the commitment's first line was, and records that way.
func (r *run) prepaidEarning(l *Line) error {
	p := l.Prepaid
	if p.IsZero() {
		return nil
	}
	if p.Commitment == "" || (p.Earning != EarnOnPrepayment && p.Earning != EarnOnConsumption) {
		return lineErr(l.ID, "", "", "", fmt.Errorf("%w: prepaid terms need a commitment and an earning mode", ErrPrepaidEarning))
	}
	was, ok := r.st.prepaid.lookup(p.Commitment)
	if ok && was != p.Earning {
		return lineErr(l.ID, "", "", "", fmt.Errorf("%w: commitment %q was settled %s, this line asks %s: partners would earn twice",
			ErrPrepaidEarning, p.Commitment, was, p.Earning))
	}
	if !ok {
		r.undoPrepaid(p.Commitment)
		r.st.ownPrepaid().put(p.Commitment, p.Earning)
	}
	return nil
}
