package invoice

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/usage"
)

// PrepaidCommitment is a sum the customer buys up front for a term
// (Metronome's prepaid commit, Orb's prepaid commitment), drawn down by the
// charges it names:
//
//   - The purchase is billed once, in full and taxed, when the term starts:
//     a KindPrepayment line of Amount.
//   - Every later line of a charge it names whose service starts in the
//     term draws on it, in service-start then ID order, across invoices:
//     Line.Prepaid.Covered is taken from the commitment and not billed
//     again (Net and Tax are of the rest), until the commitment is spent;
//     what a line bills beyond it is overage, billed as usual. A line draws
//     from one commitment: the first with a balance, by earlier End, then
//     ID. A negative line of a charge it names (a usage adjustment that
//     lowers a covered period) gives back to the commitment what was drawn
//     before it gives back cash, but never more than its usage period drew
//     on it (the lines of the period's item, charge, meter and attribution
//     value, net of what earlier corrections gave back): the rest lowers
//     the overage the period billed, in cash. A period billed wholly as
//     overage gives everything back in cash: USD 420.00 of images billed
//     after the commitment was spent, corrected to 360.00, credit the
//     customer 60.00 (they gave the 60.00 back to the spent commitment,
//     where it expired unused at the term's end). What a period drew is
//     read from Run.Billed, so a run given a negative late adjustment of a
//     period drawn on a commitment needs the lines earlier runs issued
//     (the period's usage line and its adjustments): without them it fails
//     with a *UsageError wrapping ErrBilledIncomplete naming the period.
//     Given back after what was left expired
//     (in an earlier run: the term ended, or the subscription), it expires
//     too, on a breakage line of the run that bills it, dated at the run
//     ("<subscription>/prepaid/<id>/prepaid_breakage/<run's At>"), so a
//     commitment is always all drawn or expired once it ends.
//   - What is left when the term ends expires (Breakage, the default): a
//     KindPrepaidBreakage line records it, covered in full, billing
//     nothing. With Rollover it stays drawable until RolloverEnd, then
//     expires; with a RolloverShare only that share of it does (rounded
//     down to the minor unit), the rest expiring at End.
//   - When the subscription ends inside the term (at CancelAt, or when its
//     last item ends), what is left expires then, not at the term's end:
//     the breakage line is due at the end, in the run that bills it, after
//     the last usage has drawn (with Rollover too: nothing is left to draw
//     on it). EUR 300 with 165 drawn by a cancellation on March 20 lets
//     135.00 expire on March 20.
//
// A contract that refunds what is left at the end, rather than letting it
// expire, refunds it before the run that bills the end: a credit note of
// the purchase line (NewCreditNote, CreditLine.Percent of the last
// PrepaidUse's Remaining over Amount, told what was drawn in
// CreditRequest.Prepaid), then Amount lowered by its PrepaidRefund.Unused.
// The last period's usage is then billed as overage, since its cover was
// refunded, and both earning modes settle it right. Refunding the breakage
// after it expired settles right only on prepayment: on consumption the
// partners earned on it when it expired.
//
// Build is stateless: Drawn is what earlier runs drew and let expire, and
// each invoice's Prepaid lists what it drew and expired, for the host to
// add to Drawn before the next run (as PrepaidCredit.Balance is kept).
//
// A credit note of the purchase (a refund) is marked with a Prepaid of
// nothing covered whose Refund splits it into the part never drawn and the
// part already drawn or expired (NewCreditNote needs what was drawn:
// CreditRequest.Prepaid); lower the commitment's Amount by the unused part
// (PrepaidRefund.Unused), so nothing more is drawn on it. Partners keep
// what they earned on what was drawn, in either earning mode, unless the
// consumption itself is taken back (see PrepaidRefund). A credit note
// credits what a line billed beyond the commitment, never what the
// commitment covered: covered consumption is taken back by correcting the
// usage (a late adjustment that lowers it gives back to the commitment).
//
// Settlement sees the cash truthfully: package settlement's FromInvoice
// makes the host choose whether partners earn on the prepayment when it is
// invoiced or on consumption as it is drawn (covered parts and breakage),
// never both; Line.Prepaid.CoveredTax carries the purchase's tax to the
// parts drawn, so a gross basis sees it too. A bundle's suppliers are owed
// on consumption: the purchase line's Refs name the bundle components
// (catalog.RefComponent) whose cost applies to a charge that draws on the
// commitment, among the bundles the items hold during its term when the
// purchase is billed, so settlement refuses to settle such a commitment on
// prepayment at its purchase, before anything of it is settled one way.
type PrepaidCommitment struct {
	// ID names the commitment within the subscription; required.
	ID PrepaidID `json:"id"`
	// Amount is the sum bought, in the subscription's currency (whole minor
	// units, positive).
	Amount decimal.Decimal `json:"amount"`
	// Currency is, when set, the currency Amount is said in, which Build
	// checks against the subscription's: a commitment of "USD 50,000"
	// copied onto a subscription billed in EUR is refused (a problem at
	// prepaid[k].currency wrapping ErrCurrency and an
	// *ensemble.CurrencyMismatchError) rather than billed as EUR 50,000.00.
	// Zero: Amount is in the subscription's currency, unchecked. It
	// converts nothing.
	Currency ensemble.Currency `json:"currency,omitzero"`
	// Start and End are the term, [Start, End); both required.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Meters limits the lines that draw to the usage of these meters;
	// Charges to the lines of these charges (any kind). Both empty: every
	// usage line draws.
	Meters  []usage.MeterID    `json:"meters,omitempty"`
	Charges []catalog.ChargeID `json:"charges,omitempty"`
	// Expiry says what happens to what is left at End.
	Expiry PrepaidExpiry `json:"expiry,omitempty"`
	// RolloverEnd is, with Rollover, when what is left finally expires;
	// after End. Required with Rollover, refused without.
	RolloverEnd time.Time `json:"rollover_end,omitzero"`
	// RolloverShare is, with Rollover, the share of what is left at End
	// that rolls over, in (0, 100%]; zero rolls all of it. "10% of the
	// unused commitment rolls into the renewal, the rest expires": at End
	// the share of what is left, rounded once to the minor unit and down
	// (toward zero: never more than the share rolls), stays drawable
	// until RolloverEnd; the rest expires at End on a KindPrepaidBreakage
	// line of its own ("<subscription>/prepaid/<id>/prepaid_breakage/<End>",
	// dated End), and what the rolled part leaves expires at RolloverEnd
	// as before. With EUR 200.05 left, 10% rolls 20.00 (20.005 exact) and
	// 180.05 expires at End. A late correction, billed after End, that
	// gives back to the commitment what a period before End drew is split
	// the same way, once per correction: the rolled share of it goes back
	// to the rolled balance, the rest expires on a breakage line of the
	// run that bills it (dated at the run). When the subscription ends
	// before End, everything left expires then (nothing rolls). Settled
	// on consumption, partners earn on the part that expires at End when
	// it expires, and on the rolled part as it is drawn or expires.
	RolloverShare ensemble.Ratio `json:"rollover_share,omitzero"`
	// Drawn is what runs before this one drew and let expire, and
	// DrawnThrough the At of the last of them: the Total and Through of
	// the PrepaidUse the last invoice reported. Zero at first. Once a run
	// starts after Start, Build refuses a commitment whose DrawnThrough is
	// not the run's After: a Drawn not carried forward would cover the same
	// sum twice. (A run that bills the subscription nothing leaves it
	// unchanged: carry DrawnThrough to that run's At yourself.)
	Drawn        decimal.Decimal `json:"drawn,omitzero"`
	DrawnThrough time.Time       `json:"drawn_through,omitzero"`
	// Offer is the offer version the purchase and the breakage are
	// attributed to: settlement picks their plan and reports them by it.
	// Zero: the one offer, an item's or an add-on's, with a charge that
	// draws on the commitment during its term; when the charges of several
	// offers draw on it, or of none, Build asks for Offer (ErrRequired at
	// prepaid[k].offer, naming the offers) rather than pick one.
	Offer catalog.Pin `json:"offer,omitzero"`
	// TaxCode is the tax code the purchase is taxed with.
	TaxCode string `json:"tax_code,omitempty"`
}

// termEnd is when draws stop and what is left expires, if the
// subscription lasts: End, or RolloverEnd with a rollover.
func (c *PrepaidCommitment) termEnd() time.Time {
	if c.Expiry == Rollover {
		return c.RolloverEnd
	}
	return c.End
}

// drawEnd is when draws on c stop and what is left expires: the end of its
// term (termEnd), or the subscription's end when it ends before (at
// CancelAt, or when its last item ends; never before c's Start).
func (g *gen) drawEnd(c *PrepaidCommitment) time.Time {
	end := c.termEnd()
	if !g.spanned {
		_, g.stop, g.open = g.span()
		g.spanned = true
	}
	if !g.open && !g.stop.IsZero() && g.stop.Before(end) {
		end = g.stop
		if end.Before(c.Start) {
			end = c.Start
		}
	}
	return end
}

// draws reports whether line l draws on the commitment, whose draws end
// at end.
func (c *PrepaidCommitment) draws(l *Line, end time.Time) bool {
	switch l.Kind {
	case KindPrepayment, KindPrepaidBreakage, KindCommitmentTrueUp, KindCreditNote, KindEarlyTermination, KindReversal:
		return false
	}
	if s := l.Period.Start; s.Before(c.Start) || !s.Before(end) {
		return false
	}
	usageLine := (l.Kind == KindUsage || l.Kind == KindUsageAdjustment || l.Kind == KindProgressiveUsage) && l.Usage != nil
	switch {
	case len(c.Meters) == 0 && len(c.Charges) == 0:
		return usageLine
	case usageLine && slices.Contains(c.Meters, l.Usage.Meter):
		return true
	}
	return slices.Contains(c.Charges, l.Charge)
}

// drawsCharge reports whether the lines of charge ch draw on the
// commitment (in its term): the usage of its meters, its charges, or with
// neither, every usage charge.
func (c *PrepaidCommitment) drawsCharge(ch *chargeInfo) bool {
	usageCharge := ch.meter != ""
	return (len(c.Meters) == 0 && len(c.Charges) == 0 && usageCharge) ||
		(usageCharge && slices.Contains(c.Meters, usage.MeterID(ch.meter))) || slices.Contains(c.Charges, ch.id)
}

// PrepaidExpiry says what happens to what is left of a prepaid commitment
// when its term ends.
type PrepaidExpiry uint8

const (
	// Breakage (the default) lets what is left expire at End.
	Breakage PrepaidExpiry = iota
	// Rollover keeps what is left drawable until RolloverEnd, or only a
	// share of it (PrepaidCommitment.RolloverShare), the rest expiring at
	// End.
	Rollover
)

var expiryNames = []string{Breakage: "breakage", Rollover: "rollover"}

// String returns the expiry's lowercase name.
func (e PrepaidExpiry) String() string { return ensemble.EnumName(e, expiryNames, "prepaid_expiry") }

// MarshalText writes the expiry's name; an undeclared value is an error.
func (e PrepaidExpiry) MarshalText() ([]byte, error) {
	return ensemble.EnumText(e, expiryNames, "invoice", "prepaid expiry")
}

// UnmarshalText reads an expiry's name; "" is Breakage.
func (e *PrepaidExpiry) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[PrepaidExpiry](b, expiryNames, "invoice", "prepaid expiry")
	if err == nil {
		*e = v
	}
	return err
}

// PrepaidDraw is what a prepaid commitment covered of one line.
type PrepaidDraw struct {
	// Commitment is the commitment drawn.
	Commitment PrepaidID `json:"commitment"`
	// Covered is the part of Amount - Discount the commitment paid:
	// negative when the line gives back to it.
	Covered ensemble.Money `json:"covered"`
	// CoveredNet is Covered net of tax: Covered, unless the purchase's tax
	// was included in its price (then Covered - CoveredTax).
	CoveredNet ensemble.Money `json:"covered_net"`
	// CoveredTax is the part of the purchase's tax that Covered carries:
	// the purchase tax is spread over the draws in proportion, rounded
	// cumulatively, so the draws and the breakage of a commitment carry
	// exactly its tax.
	CoveredTax ensemble.Money `json:"covered_tax"`
	// Remaining is what is left of the commitment after the line.
	Remaining ensemble.Money `json:"remaining"`
	// Refund is, on a credit-note line refunding the commitment's purchase,
	// how the refund splits into what was never drawn and what was (nil on
	// every other line); nothing is covered on such a line.
	Refund *PrepaidRefund `json:"refund,omitempty"`
}

// PrepaidUse is what one invoice did to a prepaid commitment in force
// during its run (drawn or not).
type PrepaidUse struct {
	Commitment PrepaidID `json:"commitment"`
	// Total is what has been drawn and let expire so far, and Through the
	// run's At: the commitment's Drawn and DrawnThrough for the next run.
	Total   decimal.Decimal `json:"total"`
	Through time.Time       `json:"through"`
	// Before is what was left before the invoice.
	Before ensemble.Money `json:"before"`
	// Drawn is what its lines drew, net of what they gave back.
	Drawn ensemble.Money `json:"drawn"`
	// Expired is what expired at the end of the term (breakage).
	Expired ensemble.Money `json:"expired"`
	// Remaining is what is left after it.
	Remaining ensemble.Money `json:"remaining"`
}

// prepaidLines adds, for each prepaid commitment, the purchase line at its
// start and the breakage line at the end of its draws (filled in when the
// invoice draws, see drawPrepaid); Build keeps those due in the run.
func (g *gen) prepaidLines() {
	for k := range g.s.Prepaid {
		c := &g.s.Prepaid[k]
		ref := ensemble.Ref{Kind: RefPrepaid, ID: string(g.s.ID) + "/" + string(c.ID)}
		amount := ensemble.MoneyFromDecimal(c.Amount, g.cur)
		zero := ensemble.MoneyFromMinor(0, g.cur)
		pin, attr, err := g.prepaidPin(c)
		if err != nil {
			g.ps.Add(ensemble.Path(g.subPath(), "prepaid", k)+".offer", err)
			continue
		}
		base := Line{
			Subscription: g.s.ID, Customer: g.s.Customer.ID, Pin: pin, Currency: g.cur,
			Cycle: ensemble.Period{Start: c.Start, End: c.End}, Period: ensemble.Period{Start: c.Start, End: c.End},
			Quantity: decimal.NewFromInt(1), Full: amount, Discount: zero,
		}
		if g.due(c.Start) {
			l := base
			l.ID = prepaidLineID(g.s.ID, c.ID, KindPrepayment)
			l.Kind, l.Date, l.Description, l.Amount = KindPrepayment, c.Start, "Prepaid commitment "+string(c.ID), amount
			l.Refs = append(append([]ensemble.Ref{ref}, attr...), g.owedOnConsumption(c)...)
			*g.next() = l
		}
		if end := g.drawEnd(c); g.due(end) {
			*g.next() = g.breakageLine(c, pin, attr, end)
		}
		if c.partialRollover() && g.drawEnd(c).After(c.End) && g.due(c.End) {
			l := g.breakageLine(c, pin, attr, c.End)
			l.ID = partialExpiryID(g.s.ID, c)
			l.Description = "Prepaid commitment " + string(c.ID) + " expired unused at the term's end, less the " + c.RolloverShare.String() + " that rolls over"
			*g.next() = l
		}
	}
}

// partialRollover reports whether only a share of what is left of c at
// End rolls over (RolloverShare below 100%).
func (c *PrepaidCommitment) partialRollover() bool {
	return c.Expiry == Rollover && !c.RolloverShare.IsZero() && c.RolloverShare.Cmp(ensemble.MustRatio("1")) < 0
}

// partialExpiryID is the id of the line on which what does not roll over
// of c expires at End.
func partialExpiryID(s SubscriptionID, c *PrepaidCommitment) LineID {
	return LineID(string(prepaidLineID(s, c.ID, KindPrepaidBreakage)) + "/" + fmtTime(c.End))
}

// rolled is the share of left that rolls over at c's End: rounded down,
// to the minor unit, once.
func (c *PrepaidCommitment) rolled(left ensemble.Money) ensemble.Money {
	return left.MulRatio(c.RolloverShare, ensemble.RoundDown)
}

// breakageLine is the line recording that what is left of commitment c
// expires at end, its draws' end (drawPrepaid fills in the amount).
func (g *gen) breakageLine(c *PrepaidCommitment, pin catalog.Pin, attr []ensemble.Ref, end time.Time) Line {
	zero := ensemble.MoneyFromMinor(0, g.cur)
	l := Line{
		ID: prepaidLineID(g.s.ID, c.ID, KindPrepaidBreakage), Kind: KindPrepaidBreakage, Date: end,
		Description:  "Prepaid commitment " + string(c.ID) + " expired unused",
		Subscription: g.s.ID, Customer: g.s.Customer.ID, Pin: pin, Currency: g.cur,
		Cycle: ensemble.Period{Start: c.Start, End: c.End}, Period: ensemble.Period{Start: c.Start, End: end},
		Quantity: decimal.NewFromInt(1), Amount: zero, Full: zero, Discount: zero,
		Refs: append([]ensemble.Ref{{Kind: RefPrepaid, ID: string(g.s.ID) + "/" + string(c.ID)}}, attr...),
	}
	if end.Before(c.termEnd()) {
		l.Description += " at the subscription's end"
	}
	return l
}

// inForce reports whether the commitment is bought, drawn or expires in
// the run: its [Start, drawEnd] meets (After, At].
func (g *gen) inForce(c *PrepaidCommitment) bool {
	return !c.Start.After(g.run.At) && (g.run.After.IsZero() || g.drawEnd(c).After(g.run.After))
}

// owedOnConsumption lists the bundle components whose suppliers are owed on
// what the commitment covers: those whose cost applies to a charge that
// draws on it, of the bundles the subscription's items hold during its
// term (as known when the purchase is billed), sorted. The purchase line
// carries them in its Refs (see PrepaidCommitment).
func (g *gen) owedOnConsumption(c *PrepaidCommitment) []ensemble.Ref {
	var out []ensemble.Ref
	for j := range g.s.Items {
		for _, sg := range g.segments(&g.s.Items[j]) {
			if !sg.Start.Before(g.drawEnd(c)) || (!sg.End.IsZero() && !sg.End.After(c.Start)) {
				continue
			}
			for _, pin := range append(addOnPins(sg.AddOns), sg.Pin) {
				oi := g.b.offerIn(pin, g.cur)
				if oi == nil || oi.kind != catalog.Bundle {
					continue
				}
				for _, ch := range oi.charges {
					if len(ch.suppliers) > 0 && c.drawsCharge(ch) {
						out = append(out, ch.suppliers...)
					}
				}
			}
		}
	}
	slices.SortFunc(out, ensemble.Ref.Compare)
	return slices.Compact(out)
}

// prepaidLineID is the ID of a prepaid commitment's purchase or breakage
// line: "subscription/prepaid/commitment/kind".
func prepaidLineID(s SubscriptionID, c PrepaidID, k LineKind) LineID {
	return LineID(string(s) + "/prepaid/" + string(c) + "/" + lineKindNames[k])
}

// prepaidPin is the offer a commitment's purchase and breakage are
// attributed to: its own (Offer), or else the one offer with a charge that
// draws on it during its term, an item's or an add-on's; with the
// references of the first item (by ID) and segment holding that offer then
// (see attribution). Without Offer, charges of several offers drawing on
// it, or of none, are an error naming them: attributing the purchase to
// one of them, or to the first item, would pay it by a plan the contract
// may not name (an add-on's usage drawing on it paid its ISV nothing).
func (g *gen) prepaidPin(c *PrepaidCommitment) (catalog.Pin, []ensemble.Ref, error) {
	items := make([]*Item, len(g.s.Items))
	for j := range g.s.Items {
		items[j] = &g.s.Items[j]
	}
	slices.SortFunc(items, func(a, b *Item) int { return strings.Compare(string(a.ID), string(b.ID)) })
	var pins []catalog.Pin // the offers that draw, in the order first found
	var attr []ensemble.Ref
	draws := func(p catalog.Pin) bool {
		if oi := g.b.offerIn(p, g.cur); oi != nil {
			return slices.ContainsFunc(oi.charges, c.drawsCharge)
		}
		return false
	}
	for _, it := range items {
		for _, sg := range g.segments(it) {
			if !sg.Start.Before(g.drawEnd(c)) || (!sg.End.IsZero() && !sg.End.After(c.Start)) {
				continue
			}
			if c.Offer.Offer != "" {
				if sg.Pin == c.Offer || slices.ContainsFunc(sg.AddOns, func(a AddOn) bool { return a.Pin == c.Offer }) {
					return c.Offer, attribution(it, &sg), nil
				}
				continue
			}
			for _, p := range append([]catalog.Pin{sg.Pin}, addOnPins(sg.AddOns)...) {
				if draws(p) && !slices.Contains(pins, p) {
					if pins = append(pins, p); len(pins) == 1 {
						attr = attribution(it, &sg)
					}
				}
			}
		}
	}
	switch {
	case c.Offer.Offer != "":
		return c.Offer, nil, nil
	case len(pins) == 1:
		return pins[0], attr, nil
	case len(pins) == 0:
		return catalog.Pin{}, nil, because(ErrRequired, "no charge of the subscription's items or add-ons draws on commitment %q during its term: name the offer its purchase is attributed to (settlement pays the purchase by that offer's plan)", c.ID)
	}
	names := make([]string, len(pins))
	for i, p := range pins {
		names[i] = p.String()
	}
	return catalog.Pin{}, nil, because(ErrRequired, "charges of offers %s draw on commitment %q: name the offer its purchase is attributed to (settlement pays the purchase by that offer's plan)", strings.Join(names, ", "), c.ID)
}

// prepaidState is a commitment while an invoice draws on it.
type prepaidState struct {
	c         *PrepaidCommitment
	end       time.Time // when its draws end (gen.drawEnd)
	amount    ensemble.Money
	drawn     ensemble.Money // before and during this invoice, expiry included
	purchTax  ensemble.Money // the tax of the purchase, spread over the draws
	inclusive bool           // the purchase's tax is included in its amount
	use       PrepaidUse
	touched   bool
	// lateExpired is what lines of this invoice gave back after the
	// commitment's rest expired in an earlier run: it expires in this one.
	lateExpired ensemble.Money
}

// expiredBefore reports whether st's draws ended, and its rest expired,
// in a run before this one.
func (g *gen) expiredBefore(st *prepaidState) bool {
	return !g.run.After.IsZero() && !st.end.After(g.run.After)
}

// partlyExpiredBefore reports whether st's term ended, and what did not
// roll over of it expired, in a run before this one.
func (g *gen) partlyExpiredBefore(st *prepaidState) bool {
	return !g.run.After.IsZero() && !st.c.End.After(g.run.After) && st.end.After(st.c.End)
}

// drawPrepaid lets the invoice's lines draw on the subscription's prepaid
// commitments (see PrepaidCommitment) and fills in the breakage lines. It
// runs after discounts and before tax.
func (g *gen) drawPrepaid(inv *Invoice) {
	if len(g.s.Prepaid) == 0 {
		return
	}
	states := make([]*prepaidState, len(g.s.Prepaid))
	for k := range g.s.Prepaid {
		c := &g.s.Prepaid[k]
		zero := ensemble.MoneyFromMinor(0, g.cur)
		st := &prepaidState{c: c, end: g.drawEnd(c), amount: ensemble.MoneyFromDecimal(c.Amount, g.cur)}
		st.drawn = ensemble.MoneyFromDecimal(c.Drawn, g.cur)
		st.purchTax, st.inclusive = g.purchaseTax(c, st.amount)
		st.use = PrepaidUse{Commitment: c.ID, Before: g.sub(st.amount, st.drawn), Drawn: zero, Expired: zero}
		st.lateExpired = zero
		states[k] = st
	}
	slices.SortFunc(states, func(a, b *prepaidState) int {
		if c := a.end.Compare(b.end); c != 0 {
			return c
		}
		return strings.Compare(string(a.c.ID), string(b.c.ID))
	})
	// Lines draw in service-start order; a breakage line comes when its
	// draws end, after every line that starts before and before those
	// that start then.
	at := func(i int) time.Time {
		if inv.Lines[i].Kind == KindPrepaidBreakage {
			return inv.Lines[i].Period.End
		}
		return inv.Lines[i].Period.Start
	}
	order := make([]int, 0, len(inv.Lines))
	for i := range inv.Lines {
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := at(a).Compare(at(b)); c != 0 {
			return c
		}
		// A breakage comes before the lines starting when it expires:
		// they cannot draw on the commitment whose draws end then, but
		// may on what rolled over of it at End (RolloverShare).
		if ka, kb := inv.Lines[a].Kind == KindPrepaidBreakage, inv.Lines[b].Kind == KindPrepaidBreakage; ka != kb {
			if ka {
				return -1
			}
			return 1
		}
		return strings.Compare(string(inv.Lines[a].ID), string(inv.Lines[b].ID))
	})
	seen := make([]bool, len(inv.Lines))
	for _, i := range order {
		seen[i] = true
		l := &inv.Lines[i]
		if l.Kind == KindPrepaidBreakage {
			for _, st := range states {
				switch {
				case l.ID == prepaidLineID(g.s.ID, st.c.ID, KindPrepaidBreakage):
					left := g.sub(st.amount, st.drawn)
					l.Amount, l.Full = left, left
					st.use.Expired = g.add(st.use.Expired, left)
					g.cover(l, st, left)
				case st.c.partialRollover() && l.ID == partialExpiryID(g.s.ID, st.c):
					left := g.sub(st.amount, st.drawn)
					expire := g.sub(left, st.c.rolled(left))
					l.Amount, l.Full = expire, expire
					st.use.Expired = g.add(st.use.Expired, expire)
					g.cover(l, st, expire)
				}
			}
			continue
		}
		gross := g.sub(l.Amount, l.Discount)
	draw:
		for _, st := range states {
			if !st.c.draws(l, st.end) {
				continue
			}
			left := g.sub(st.amount, st.drawn)
			var take ensemble.Money
			switch gross.Sign() {
			case 1:
				if !left.IsPositive() {
					continue
				}
				take = gross
				if g.cmp(take, left) > 0 {
					take = left
				}
			case -1:
				if !st.drawn.IsPositive() {
					continue
				}
				take = gross
				if g.cmp(take.Neg(), st.drawn) > 0 {
					take = st.drawn.Neg()
				}
				if l.Usage != nil {
					// A usage line gives back at most what its usage
					// period drew on this commitment; the rest lowers
					// the overage it billed, in cash.
					drew, known := g.periodDrew(inv, seen, l, st.c.ID)
					if !known {
						g.periodDrawUnknown(l, st.c.ID)
						break draw
					}
					if !drew.IsPositive() {
						continue
					}
					if g.cmp(take.Neg(), drew) > 0 {
						take = drew.Neg()
					}
				}
				switch {
				case g.expiredBefore(st):
					// Given back to a commitment whose rest expired in an
					// earlier run: it expires too, in this run.
					st.lateExpired = g.sub(st.lateExpired, take)
				case st.c.partialRollover() && l.Period.Start.Before(st.c.End) && g.partlyExpiredBefore(st):
					// Given back, for a period before the term's end, to a
					// commitment of which only a share rolled over at the
					// end (in an earlier run): only that share of it rolls.
					back := take.Neg()
					st.lateExpired = g.add(st.lateExpired, g.sub(back, st.c.rolled(back)))
				}
			default:
				continue
			}
			st.use.Drawn = g.add(st.use.Drawn, take)
			g.cover(l, st, take)
			break
		}
	}
	for _, st := range states {
		if st.lateExpired.IsPositive() {
			pin, attr, err := g.prepaidPin(st.c)
			if err != nil {
				continue // prepaidLines reported it, and the run fails
			}
			l := g.breakageLine(st.c, pin, attr, st.end)
			l.ID = LineID(string(l.ID) + "/" + fmtTime(g.run.At))
			l.Date, l.Amount, l.Full = g.run.At, st.lateExpired, st.lateExpired
			l.Description = "Prepaid commitment " + string(st.c.ID) + ": given back by a late correction after it expired, expired unused"
			st.use.Expired = g.add(st.use.Expired, st.lateExpired)
			g.cover(&l, st, st.lateExpired)
			inv.Lines = append(inv.Lines, l)
		}
	}
	for _, st := range states {
		if st.touched || g.inForce(st.c) {
			st.use.Remaining = g.sub(st.amount, st.drawn)
			st.use.Total, st.use.Through = st.drawn.Amount(), g.run.At
			inv.Prepaid = append(inv.Prepaid, st.use)
		}
	}
	// A commitment spent before it expired leaves nothing to record.
	inv.Lines = slices.DeleteFunc(inv.Lines, func(l Line) bool { return l.Kind == KindPrepaidBreakage && l.Amount.IsZero() })
	slices.SortFunc(inv.Prepaid, func(a, b PrepaidUse) int { return strings.Compare(string(a.Commitment), string(b.Commitment)) })
}

// periodDrew returns what the lines of l's usage period (its item, charge,
// meter, period and attribution value) drew on commitment id, net of what
// they gave back: the lines of Run.Billed and those of the invoice drawn
// before l (seen). known is false when l is a usage adjustment and neither
// holds a line of its period: what the period drew cannot be told.
func (g *gen) periodDrew(inv *Invoice, seen []bool, l *Line, id PrepaidID) (drew ensemble.Money, known bool) {
	drew = ensemble.MoneyFromMinor(0, g.cur)
	known = l.Kind != KindUsageAdjustment
	match := func(o *Line) {
		if o == l || o.Usage == nil || o.Item != l.Item || o.Charge != l.Charge || o.Usage.Meter != l.Usage.Meter ||
			!o.Usage.Period.Start.Equal(l.Usage.Period.Start) || !o.Usage.Period.End.Equal(l.Usage.Period.End) ||
			attributedTo(o) != attributedTo(l) {
			return
		}
		known = true
		if o.Prepaid != nil && o.Prepaid.Commitment == id {
			drew = g.add(drew, o.Prepaid.Covered)
		}
	}
	for _, o := range g.billedSub {
		match(o)
	}
	for i := range inv.Lines {
		if seen[i] {
			match(&inv.Lines[i])
		}
	}
	return drew, known
}

func attributedTo(l *Line) string {
	if l.Attribution == nil {
		return ""
	}
	return l.Attribution.Value
}

// periodDrawUnknown reports a usage adjustment that would give back to
// commitment id when Run.Billed holds no line of its period.
func (g *gen) periodDrawUnknown(l *Line, id PrepaidID) {
	ref := usage.LineRef(string(g.s.ID) + "/" + string(l.Item))
	if k := slices.IndexFunc(g.s.Items, func(it Item) bool { return it.ID == l.Item }); k >= 0 {
		ref = usageRef(g.s, &g.s.Items[k])
	}
	g.ps.Add(g.subPath()+".prepaid", &UsageError{Line: ref, Meter: l.Usage.Meter, Period: l.Usage.Period, Due: l.Usage.Period.End, Err: ErrBilledIncomplete,
		Detail: fmt.Sprintf("its usage adjustment lowers the period, and a prepaid commitment (%q) gives back at most what the period drew on it, the rest in cash; Run.Billed holds no line of the period: pass every line earlier runs issued for the subscription (the period's usage line and its adjustments)", id)})
}

// cover records that st covers take of line l: the part of the purchase's
// tax it carries is round(T × drawn after / A) - round(T × drawn before /
// A), so the parts add up to exactly T.
func (g *gen) cover(l *Line, st *prepaidState, take ensemble.Money) {
	before := st.drawn
	st.drawn = g.add(st.drawn, take)
	tax := ensemble.MoneyFromMinor(0, g.cur)
	if st.amount.IsPositive() && !st.purchTax.IsZero() {
		share := func(d ensemble.Money) ensemble.Money {
			r := new(big.Rat).Quo(d.Amount().Rat(), st.amount.Amount().Rat())
			return st.purchTax.MulRatio(ensemble.RatioFromRat(r), g.mode)
		}
		tax = g.sub(share(st.drawn), share(before))
	}
	net := take
	if st.inclusive {
		net = g.sub(take, tax)
	}
	l.Prepaid = &PrepaidDraw{Commitment: st.c.ID, Covered: take, CoveredNet: net, CoveredTax: tax, Remaining: g.sub(st.amount, st.drawn)}
	l.Refs = append(l.Refs, ensemble.Ref{Kind: RefPrepaid, ID: string(g.s.ID) + "/" + string(st.c.ID)})
	st.touched = true
}

// purchaseTax is the tax of buying the commitment as a line taxed alone,
// and whether it is included in the amount; zero when the builder has no
// tax table, the customer pays none, or no rule applies (Build reports that
// on the purchase line).
func (g *gen) purchaseTax(c *PrepaidCommitment, amount ensemble.Money) (ensemble.Money, bool) {
	zero := ensemble.MoneyFromMinor(0, g.cur)
	cust := g.s.Customer
	if len(g.b.taxes) == 0 || cust.ReverseCharge || cust.TaxExempt {
		return zero, false
	}
	r, ok := g.b.taxRule(cust.Region, c.TaxCode)
	if !ok {
		return zero, false
	}
	if cs := g.b.taxC[r.ID]; len(cs) > 0 {
		tax, _ := g.taxComponents(cs, r.Inclusive, amount, nil, "")
		return tax, r.Inclusive
	}
	if d := g.b.taxD[r.ID]; d.ok {
		return amount.Mul(d.d).Round(g.mode), r.Inclusive
	}
	return amount.MulRatio(g.b.taxK[r.ID], g.mode), r.Inclusive
}

// prepaidTaxCode is the tax code of a prepaid commitment's purchase line.
func (g *gen) prepaidTaxCode(l *Line) string {
	for k := range g.s.Prepaid {
		c := &g.s.Prepaid[k]
		if l.ID == prepaidLineID(g.s.ID, c.ID, l.Kind) {
			return c.TaxCode
		}
	}
	return ""
}

// validatePrepaid checks a subscription's prepaid commitments: ids, a
// positive amount in whole minor units, a term, the rollover end, what was
// drawn (never more than the amount), known meters and charges.
func (b *Builder) validatePrepaid(ps *ensemble.Problems, at func() string, s *Subscription, run Run) {
	seen := map[PrepaidID]bool{}
	for k := range s.Prepaid {
		c := &s.Prepaid[k]
		pa := func() string { return ensemble.Path(at(), "prepaid", k) }
		switch {
		case c.ID == "":
			ps.Add(pa()+".id", ErrRequired)
		case validID(string(c.ID)) != nil:
			ps.Add(pa()+".id", validID(string(c.ID)))
		case seen[c.ID]:
			ps.Add(pa()+".id", bad(ErrDuplicate, "%q", c.ID))
		}
		seen[c.ID] = true
		checkAmountCurrency(ps, pa()+".currency", "prepaid commitment", c.Currency, s.Currency)
		switch {
		case !c.Amount.IsPositive():
			ps.Add(pa()+".amount", because(ErrInvalid, "%s: a prepaid commitment buys a positive sum", c.Amount))
		case inRange(c.Amount) && !ensemble.MoneyFromDecimal(c.Amount, s.Currency).IsRounded():
			ps.Add(pa()+".amount", bad(ErrInvalid, "%s is not whole minor units", c.Amount))
		}
		if c.Start.IsZero() {
			ps.Add(pa()+".start", ErrRequired)
		}
		if c.End.IsZero() {
			ps.Add(pa()+".end", ErrRequired)
		} else if !c.End.After(c.Start) {
			ps.Add(pa()+".end", bad(ErrOrder, "%s is not after start %s", fmtTime(c.End), fmtTime(c.Start)))
		}
		switch {
		case c.Expiry == Rollover && !c.RolloverEnd.After(c.End):
			ps.Add(pa()+".rollover_end", because(ErrInvalid, "a rollover needs a rollover_end after end"))
		case c.Expiry != Rollover && !c.RolloverEnd.IsZero():
			ps.Add(pa()+".rollover_end", because(ErrInvalid, "only a rollover has a rollover_end"))
		case c.Expiry > Rollover:
			ps.Add(pa()+".expiry", bad(ErrInvalid, "%d", c.Expiry))
		}
		switch one := ensemble.MustRatio("1"); {
		case c.RolloverShare.IsZero():
		case c.Expiry != Rollover:
			ps.Add(pa()+".rollover_share", because(ErrInvalid, "only a rollover has a rollover_share"))
		case c.RolloverShare.Sign() <= 0 || c.RolloverShare.Cmp(one) > 0:
			ps.Add(pa()+".rollover_share", bad(ErrInvalid, "%s is outside (0, 100%%]", c.RolloverShare))
		}
		if c.Offer.Offer != "" {
			if _, ok := b.offers[c.Offer]; !ok {
				ps.Add(pa()+".offer", bad(ErrUnknown, "offer %s is not in the catalog", c.Offer))
			}
		}
		if run.After.After(c.Start) && !c.DrawnThrough.Equal(run.After) {
			ps.Add(pa()+".drawn_through", because(ErrInvalid,
				"the run starts at %s but the commitment's draws were carried to %s: set drawn and drawn_through from the last invoice's prepaid total and through",
				fmtTime(run.After), throughText(c.DrawnThrough)))
		}
		switch {
		case c.Drawn.Sign() < 0:
			ps.Add(pa()+".drawn", bad(ErrNegative, "%s", c.Drawn))
		case c.Drawn.GreaterThan(c.Amount):
			ps.Add(pa()+".drawn", bad(ErrInvalid, "%s drawn of a commitment of %s", c.Drawn, c.Amount))
		}
		for j, ch := range c.Charges {
			if !b.knownCharge(ch) {
				ps.Add(ensemble.Path(pa(), "charges", j), because(ErrUnknown, "charge %q is in no offer of the catalog", ch))
			}
		}
		for j, m := range c.Meters {
			if !b.knownMeter(m) {
				ps.Add(ensemble.Path(pa(), "meters", j), because(ErrUnknown, "meter %q is billed by no charge of the catalog", m))
			}
		}
	}
}

func throughText(t time.Time) string {
	if t.IsZero() {
		return "nowhere (never carried)"
	}
	return fmtTime(t)
}

// knownCharge reports whether some offer of the catalog has charge id.
func (b *Builder) knownCharge(id catalog.ChargeID) bool {
	for _, oi := range b.offers {
		for _, ch := range oi.charges {
			if ch.id == id {
				return true
			}
		}
	}
	return false
}

// knownMeter reports whether some usage charge of the catalog bills meter.
func (b *Builder) knownMeter(m usage.MeterID) bool {
	for _, oi := range b.offers {
		for _, ch := range oi.charges {
			if ch.meter == string(m) {
				return true
			}
		}
	}
	return false
}

// checkAmountCurrency reports at path an amount's currency (said) that is
// set and not the subscription's (sub): the amount of what (a prepaid
// commitment, a minimum, a discount) would be billed in another currency
// than the contract says.
func checkAmountCurrency(ps *ensemble.Problems, path, what string, said, sub ensemble.Currency) {
	if said.IsZero() || said == sub {
		return
	}
	ps.Add(path, fmt.Errorf("%w: the %s's amount is in %s, the subscription bills in %s: %w",
		ErrCurrency, what, said, sub, &ensemble.CurrencyMismatchError{Op: "amount", A: said, B: sub}))
}
