package invoice

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ensemble-commerce/ensemble"
)

// creditedDiscount is the ID of the part of a proration credit that credit
// notes had already given back (see creditedBefore).
const creditedDiscount DiscountID = "credited"

// creditedBefore lowers the proration credits of lines that credit notes
// had credited in part or in full, given in Run.Billed with the lines they
// credit, so that what credit notes and proration credits give back of a
// line never exceeds what it billed. The credit is the unused part of what
// the credit notes left: with B the credited line's Total, L what its
// credit notes left of it and T the unused part's total (the credit as it
// would be without them, tax included), the credit's total is t =
// round(T × L / B), split as a credit note splits what it credits: net =
// round(N × t / L) of the net N left, tax = t - net. t never exceeds L, nor
// the net and tax the net and tax left; all of L when T is all of B.
//
// The line records B and L (Proration.Billed, Proration.Left), and the part
// of the unused time not credited again as a discount with ID "credited",
// so Net = Amount - Discount (- Prepaid.Covered) (- Tax when inclusive)
// still holds. What a prepaid commitment covered is given back to it as
// before: credit notes credit only what a line billed in cash. It runs
// after tax.
func (g *gen) creditedBefore(inv *Invoice) {
	if len(g.credited) == 0 && len(g.carried) == 0 {
		return
	}
	for i := range inv.Lines {
		l := &inv.Lines[i]
		if l.Kind != KindProrationCredit {
			continue
		}
		notes := g.credited[l.Credits]
		bl, ok := g.billed[l.Credits]
		if c, again := g.carried[l.Credits]; again {
			// Billed anew by this run, with credits carried to it.
			notes, bl, ok = c.credits, c.line, true
		}
		if len(notes) == 0 {
			continue
		}
		if !ok {
			g.ps.Add(g.subPath(), &LineError{Line: l.Credits, Err: ErrInvalid, Value: fmt.Sprintf(
				"credit note line %q in the run's billed lines credits it, but the billed lines lack it: give the line with its credit notes, so the proration credit %q gives back only what they left", notes[0].ID, l.ID)})
			continue
		}
		x := &g.arith
		billed := bl.Total
		left, net, tax := bl.Total, bl.Net, bl.Tax
		taxes := cloneTaxes(bl.Taxes)
		for _, cn := range notes {
			left, net, tax = x.Add(left, cn.Total), x.Add(net, cn.Net), x.Add(tax, cn.Tax)
			taxes = addTaxes(x, taxes, cn.Taxes)
		}
		if left.IsNegative() || net.IsNegative() || tax.IsNegative() || g.cmp(left, billed) > 0 {
			g.ps.Add(g.subPath(), &LineError{Line: l.Credits, Err: ErrOverCredit, Value: fmt.Sprintf(
				"its credit notes in the run's billed lines leave %s (net %s, tax %s) of the %s it billed", left, net, tax, billed)})
			continue
		}
		if !billed.IsPositive() || g.cmp(left, billed) == 0 || !l.Total.IsNegative() {
			continue // nothing was credited, or nothing to credit
		}
		unused := l.Total.Neg()
		t := unused.MulRatio(quo(ensemble.RatioFromDecimal(left.Amount()), ensemble.RatioFromDecimal(billed.Amount())), g.mode)
		if g.cmp(t, left) > 0 {
			t = left
		}
		cnet := ensemble.MoneyFromMinor(0, g.cur)
		switch {
		case g.cmp(t, left) == 0:
			cnet = net
		case t.IsPositive():
			cnet = net.MulRatio(quo(ensemble.RatioFromDecimal(t.Amount()), ensemble.RatioFromDecimal(left.Amount())), g.mode)
		}
		ctax := x.Sub(t, cnet)
		if g.cmp(t, left) == 0 {
			ctax = tax
		}
		l.Net, l.Tax, l.Total = cnet.Neg(), ctax.Neg(), t.Neg()
		if len(l.Taxes) > 0 {
			// Each component gives back its share of what the credit
			// notes left of it, never more.
			l.Taxes = negTaxes(splitTax(x, ctax, taxes))
		}
		// Net = Amount - Discount - Covered (- Tax): the discount takes
		// what is not credited again.
		d := x.Sub(l.Amount, l.Net)
		if l.Prepaid != nil {
			d = x.Sub(d, l.Prepaid.Covered)
		}
		if l.TaxRule.Inclusive {
			d = x.Sub(d, l.Tax)
		}
		if again := x.Sub(d, l.Discount); !again.IsZero() {
			l.Discounts = append(l.Discounts, AppliedDiscount{ID: creditedDiscount, Amount: again})
			slices.SortFunc(l.Discounts, func(a, b AppliedDiscount) int { return strings.Compare(string(a.ID), string(b.ID)) })
		}
		l.Discount = d
		if l.Proration != nil {
			p := *l.Proration
			p.Billed, p.Left = billed, left
			l.Proration = &p
		}
	}
}
