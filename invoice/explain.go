package invoice

import (
	"fmt"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// Explain answers "why is this line this amount" in readable text, from
// what the line records (its trace), without re-deriving anything: where it
// came from (subscription, item, offer version, charge, price model), the
// quantity and usage aggregate it rated, the full-cycle rating by tier, the
// proration (basis, fractions and the two rounded cumulative amounts it is
// the difference of), each discount, the tax rule (and each of its
// components, TaxRule.Components, with its rate and tax), and the totals; for a
// bundle line, each supplier cost that applied (its ratio, or its fixed
// amount, quantity, proration and any conversion, and the scope that made
// it apply) and each that did not, with the scope that left it out. A
// difference it cannot take (a line holding amounts of two currencies, which
// Invoice.Check refuses) is written as the error, never as a zero.
func Explain(l Line) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", l.ID, l.Description)
	fmt.Fprintf(&b, "  %s line of subscription %s", l.Kind, l.Subscription)
	if l.Item != "" {
		fmt.Fprintf(&b, ", item %s", l.Item)
	}
	when := "due"
	if l.Kind == KindCreditNote || l.Kind == KindReversal {
		when = "dated"
	}
	fmt.Fprintf(&b, ", customer %s, %s %s\n", l.Customer, when, day(l.Date))
	if l.Charge != "" && l.Kind != KindCommitmentTrueUp { // a true-up says its attribution below
		fmt.Fprintf(&b, "  offer %s, charge %s (%s), quantity %s\n", l.Pin, l.Charge, l.Model, l.Quantity)
	}
	if u := l.Usage; u != nil {
		whose := ""
		if l.Attribution != nil { // the trace is the whole charge's
			whose = " of the whole charge"
		}
		fmt.Fprintf(&b, "  usage: meter %s over %s, %d records%s, digest %s\n", u.Meter, span(u.Period), u.Records, whose, u.Digest)
		if u.Late != nil {
			fmt.Fprintf(&b, "  late usage: %s billed before, %s now (adjustment %s): rate(cumulative) - rate(billed)\n", u.Billed, l.Quantity, u.Late)
		}
		if !u.SpendShareBilled.IsZero() {
			owes := "all"
			if !u.SpendShare.IsZero() {
				owes = u.SpendShare.String()
			}
			fmt.Fprintf(&b, "  service from %s, after a restart in the period (spend proration: service): the period owes %s of the charge's minimum and maximum spend, %s billed before; usage billed %s: rate(at %s) - rate(at %s)\n",
				day(l.Period.Start), owes, u.SpendShareBilled, u.Billed, owes, u.SpendShareBilled)
		} else if !u.SpendShare.IsZero() && u.SpendProration == catalog.SpendService {
			fmt.Fprintf(&b, "  in service for part of its billing cycle (spend proration: service): owes %s of the charge's minimum and maximum spend\n", u.SpendShare)
		} else if !u.SpendShare.IsZero() {
			fmt.Fprintf(&b, "  a piece of its period, cut where the usage charge changed: owes %s of the charge's minimum and maximum spend\n", u.SpendShare)
		}
	}
	if a := l.Attribution; a != nil && l.Kind == KindUsageAdjustment && l.Usage != nil {
		// A late line bills the value's part of rate(cumulative) less its
		// part of rate(billed), not its share of the adjustment by the
		// cumulative quantities (45 of 78 is not 600.00 of 960.00).
		fmt.Fprintf(&b, "  attributed to %s %s: %s of the charge's %s now, %s billed before; its part of rate(cumulative) less its part of rate(billed): %s of the adjustment's %s (each part in proportion to quantity, largest remainder)\n",
			a.Attribute, a.Value, l.Quantity, a.Quantity, l.Usage.Billed, l.Amount, a.Amount)
	} else if a != nil {
		fmt.Fprintf(&b, "  attributed to %s %s: %s of the charge's %s, so %s of its %s (in proportion to quantity, largest remainder)\n",
			a.Attribute, a.Value, l.Quantity, a.Quantity, l.Amount, a.Amount)
	}
	if l.Kind != KindCreditNote && l.Kind != KindCommitmentTrueUp && l.Kind != KindReversal {
		what := "full cycle " + span(l.Cycle)
		switch l.Kind {
		case KindOneTime:
			what = "one-time"
		case KindUsage:
			what = "usage rating"
		case KindUsageAdjustment:
			what = "rating delta"
		case KindProgressiveUsage:
			what = "rating delta of the usage so far (period still open, no minimum spend yet)"
		case KindEarlyTermination:
			what = "early termination inside the term " + span(l.Cycle) + ", fee base"
			if l.Credits != "" {
				what = "early-termination fee reversed at the restart, fee base"
			}
		}
		// An attributed usage line's tiers are the whole charge's: it
		// explains the charge's rating, of which it bills a part (above).
		full := l.Full
		if a := l.Attribution; a != nil && l.Kind == KindUsage {
			full, what = a.Amount, what+" of the whole charge"
		}
		fmt.Fprintf(&b, "  %s: %s\n", what, full)
		var x ensemble.Arith
		tiers := ensemble.MoneyFromMinor(0, l.Full.Currency())
		for _, t := range l.Tiers {
			fmt.Fprintf(&b, "    tier %d: %s × %s + %s = %s\n", t.Tier, t.Quantity, t.UnitAmount.AmountString(), t.FlatAmount.AmountString(), t.Subtotal.AmountString())
			tiers = x.Add(tiers, t.Subtotal)
		}
		// What a minimum spend lifted or a maximum cut, to the rating.
		adj := x.Sub(full, tiers)
		if l.Attribution != nil && adj.Round(ensemble.RoundHalfAwayFromZero).IsZero() {
			adj = ensemble.Money{} // the whole charge's amount is rounded, its tiers are not
		}
		if l.Kind == KindUsage && len(l.Tiers) > 0 && x.Err() == nil && !adj.IsZero() {
			bound := "minimum spend"
			if adj.IsNegative() {
				bound = "maximum spend"
			}
			if u := l.Usage; u != nil && !u.SpendShare.IsZero() && u.SpendProration == catalog.SpendService {
				bound += " (" + u.SpendShare.String() + " of it)"
			} else if u != nil && !u.SpendShare.IsZero() {
				bound += " (this piece's " + u.SpendShare.String() + " of it)"
			}
			fmt.Fprintf(&b, "    %s: %s, adjusted by %s\n", bound, full.AmountString(), adj.AmountString())
		}
	}
	if l.Kind == KindCommitmentTrueUp {
		var x ensemble.Arith
		owed := l.Full
		if p := l.Proration; p != nil {
			owed = x.Sub(p.AtTo, p.AtFrom)
		}
		spent := x.Sub(owed, l.Amount)
		if err := x.Err(); err != nil {
			fmt.Fprintf(&b, "  minimum commitment %s per cycle %s: %v\n", l.Full, span(l.Cycle), err)
		} else if isTrueUpAdjustment(&l) {
			fmt.Fprintf(&b, "  minimum commitment %s per cycle %s: %s owed for %s; adjusts the true-up earlier runs billed by %s, as the description says\n",
				l.Full, span(l.Cycle), owed, span(l.Period), l.Amount)
		} else {
			counted := "the lines starting in it"
			if l.CommitmentScope != nil {
				counted = "the lines of " + l.CommitmentScope.String() + " starting in it"
			}
			fmt.Fprintf(&b, "  minimum commitment %s per cycle %s: %s owed for %s, %s net %s\n",
				l.Full, span(l.Cycle), owed, span(l.Period), counted, spent)
		}
		if l.Pin.Offer != "" && l.Charge != "" {
			fmt.Fprintf(&b, "  attributed to offer %s, charge %s\n", l.Pin, l.Charge)
		} else if l.Pin.Offer != "" {
			fmt.Fprintf(&b, "  attributed to offer %s\n", l.Pin)
		}
	}
	if p := l.Proration; p != nil && l.Kind == KindEarlyTermination {
		// A declining fee is the declining amount itself, rounded once.
		fmt.Fprintf(&b, "  declining: %s of the term left (%s) for %s: round(%s × %s) = %s\n",
			p.Fraction, p.Basis, span(l.Period), l.Full.AmountString(), p.Fraction, p.AtTo.AmountString())
	} else if p != nil {
		var x ensemble.Arith
		prorated := l.Full
		if !p.Whole.IsZero() {
			prorated = x.Sub(l.Full, p.Whole)
		}
		if err := x.Err(); err != nil {
			fmt.Fprintf(&b, "  prorated %s (%s) for %s: %v\n", p.Fraction, p.Basis, span(l.Period), err)
		} else {
			fmt.Fprintf(&b, "  prorated %s (%s) for %s: round(%s × %s) - round(%s × %s) = %s - %s\n",
				p.Fraction, p.Basis, span(l.Period), prorated.AmountString(), p.To, prorated.AmountString(), p.From,
				p.AtTo.AmountString(), p.AtFrom.AmountString())
		}
		if !p.Billed.IsZero() {
			fmt.Fprintf(&b, "  credit notes had credited the line: they left %s of the %s it billed, so the unused part is credited in that proportion, split into net and tax as a credit note splits it\n",
				p.Left.AmountString(), p.Billed.AmountString())
		}
		if !p.Whole.IsZero() {
			what := "billed whole"
			if l.Kind == KindProrationCredit {
				what = "not credited"
			}
			fmt.Fprintf(&b, "  flat amount %s %s (never prorated)\n", p.Whole.AmountString(), what)
		}
	}
	if l.Credits != "" {
		fmt.Fprintf(&b, "  credits line %s", l.Credits)
		if l.CreditedInvoice != "" {
			fmt.Fprintf(&b, " of invoice %s", l.CreditedInvoice)
		}
		b.WriteString("\n")
	}
	if l.Kind == KindEarlyTermination && l.Credits != "" {
		fmt.Fprintf(&b, "  reverses the fee: a restart recorded after the stop it was billed at made that stop a pause, not an end\n")
	}
	if l.Kind == KindReversal {
		fmt.Fprintf(&b, "  reverses it: a change recorded after it was billed (back-dated) alters or removes it; gives back what is left of it, less what its proration credits and credit notes gave back\n")
	}
	if l.Reissues != "" {
		fmt.Fprintf(&b, "  bills line %s anew, as a change recorded after it was billed (back-dated) makes it; the line billed before is reversed\n", l.Reissues)
	}
	fmt.Fprintf(&b, "  amount %s\n", l.Amount)
	for _, d := range l.Discounts {
		if d.ID == creditedDiscount && l.Kind == KindProrationCredit {
			fmt.Fprintf(&b, "  already credited by credit notes, not credited again: %s\n", d.Amount.Neg())
			continue
		}
		if d.Percent.IsZero() {
			fmt.Fprintf(&b, "  discount %s (fixed, shared over the invoice's lines): -%s\n", d.ID, d.Amount)
		} else if !d.Service.Start.IsZero() {
			fmt.Fprintf(&b, "  discount %s %s of the service in %s, where it runs: -%s\n", d.ID, d.Percent.Percent(), span(d.Service), d.Amount)
		} else {
			fmt.Fprintf(&b, "  discount %s %s: -%s\n", d.ID, d.Percent.Percent(), d.Amount)
		}
	}
	switch pd := l.Prepaid; {
	case l.Kind == KindPrepayment:
		fmt.Fprintf(&b, "  buys prepaid commitment %s for %s\n", strings.TrimSuffix(strings.TrimPrefix(string(l.ID), string(l.Subscription)+"/prepaid/"), "/prepayment"), span(l.Period))
		for _, r := range l.Refs {
			if r.Kind == catalog.RefComponent {
				fmt.Fprintf(&b, "  covers charges of bundle component %s@%s, whose supplier is owed on consumption: partners earn on it as it is drawn\n", r.ID, r.Version)
			}
		}
	case pd != nil && pd.Refund != nil:
		r := pd.Refund
		fmt.Fprintf(&b, "  refunds prepaid commitment %s, %s of it drawn or expired: %s never drawn (net %s, tax %s), %s already drawn or expired\n",
			pd.Commitment, r.Drawn, r.Unused.Neg(), r.UnusedNet.Neg(), r.UnusedTax.Neg(), r.Used.Neg())
	case pd != nil && l.Kind == KindPrepaidBreakage:
		fmt.Fprintf(&b, "  prepaid commitment %s expired with %s unused (covered, billed nothing)\n", pd.Commitment, pd.Covered)
	case pd != nil && pd.Covered.IsNegative():
		fmt.Fprintf(&b, "  gives back %s to prepaid commitment %s (%s left)\n", pd.Covered.Neg(), pd.Commitment, pd.Remaining)
	case pd != nil:
		fmt.Fprintf(&b, "  prepaid commitment %s covers %s, with %s of its purchase tax (%s left); the rest is billed\n",
			pd.Commitment, pd.Covered, pd.CoveredTax, pd.Remaining)
	}
	t := l.TaxRule
	switch t.Treatment {
	case TaxStandard:
		how := "exclusive"
		if t.Inclusive {
			how = "inclusive (included in the amount)"
		}
		fmt.Fprintf(&b, "  tax %s %s %s: %s\n", t.ID, t.Rate.Percent(), how, l.Tax)
	case TaxReverseCharge:
		fmt.Fprintf(&b, "  tax %s: reverse charge, the customer accounts for it: %s\n", t.ID, l.Tax)
	case TaxExempt:
		fmt.Fprintf(&b, "  tax %s: customer exempt: %s\n", t.ID, l.Tax)
	default:
		fmt.Fprintf(&b, "  no tax: %s\n", l.Tax)
	}
	for _, c := range l.Taxes {
		fmt.Fprintf(&b, "    %s %s: %s\n", c.Name, c.Rate.Percent(), c.Amount)
	}
	fmt.Fprintf(&b, "  net %s + tax %s = total %s\n", l.Net, l.Tax, l.Total)
	for _, c := range l.SupplierCosts {
		fmt.Fprintf(&b, "  supplier %s (%s): %s (applies to %s)\n", c.Supplier, c.Offer, costFormula(l, c), scopeText(c))
	}
	for _, c := range l.CostsNotApplied {
		if l.Kind == KindEarlyTermination {
			fmt.Fprintf(&b, "  supplier %s (%s): no share of an early-termination fee (a bundle's suppliers are owed on the service they deliver, not on the fee)\n",
				c.Supplier, c.Offer)
			continue
		}
		what := c.Ratio.Percent()
		if c.Ratio.IsZero() {
			what = "fixed " + c.Fixed.String() + " " + perText(c)
		}
		fmt.Fprintf(&b, "  supplier %s (%s), %s: not applied to charge %s (%s): applies to %s\n",
			c.Supplier, c.Offer, what, l.Charge, chargeKind(l.Kind), scopeText(c))
	}
	return b.String()
}

// perText says what a fixed cost is owed for: "a unit" or "a line".
func perText(c catalog.SupplierCost) string {
	if c.Per == catalog.CostPerLine {
		return "a line"
	}
	return "a unit"
}

// costFormula writes how a supplier cost on l was computed, from what the
// line records: "55% of the net EUR 249.99 = EUR 137.49" (a ratio applies
// to what the line charged, after its discounts; with what a prepaid
// commitment covered, "55% of EUR 250.00 charged (the net EUR 100.00 and EUR
// 150.00 covered by prepaid commitment c)"), "fixed EUR 5.00 a unit × 2 ×
// 16/31 = EUR 5.16" ("fixed EUR 30.00 a line = EUR 30.00" owed per line),
// or, converted, "fixed USD 12.35 a unit × 2 = USD 24.70,
// at 0.9234 EUR per USD (rounded once) = EUR 22.81"; a capped fixed cost
// ends "= EUR 10.00, capped at EUR 4.00, what the net leaves after ratio
// costs (EUR 6.00 not carried)".
func costFormula(l Line, c catalog.SupplierCost) string {
	if !c.Ratio.IsZero() {
		if pd := l.Prepaid; pd != nil && !pd.CoveredNet.IsZero() {
			base, err := l.Net.Add(pd.CoveredNet)
			if err != nil {
				return fmt.Sprintf("%s of the net %s and %s covered: %v", c.Ratio.Percent(), l.Net, pd.CoveredNet, err)
			}
			return fmt.Sprintf("%s of %s charged (the net %s and %s covered by prepaid commitment %s) = %s",
				c.Ratio.Percent(), base, l.Net, pd.CoveredNet, pd.Commitment, c.Cost)
		}
		return fmt.Sprintf("%s of the net %s = %s", c.Ratio.Percent(), l.Net, c.Cost)
	}
	f := fmt.Sprintf("fixed %s a unit × %s", c.Fixed, l.Quantity)
	if c.Per == catalog.CostPerLine {
		f = fmt.Sprintf("fixed %s a line", c.Fixed)
	}
	if p := l.Proration; p != nil && l.Kind == KindRecurring {
		f += " × " + p.Fraction.String()
	}
	owed := c.Cost
	if !c.Capped.IsZero() {
		var err error
		if owed, err = c.Cost.Add(c.Capped); err != nil {
			return fmt.Sprintf("%s: cost %s, capped %s: %v", f, c.Cost, c.Capped, err)
		}
	}
	if !c.Rate.IsZero() {
		f = fmt.Sprintf("%s = %s, at %s %s per %s (rounded once) = %s", f, c.Source, c.Rate, owed.Currency(), c.Source.Currency(), owed)
	} else {
		f += " = " + owed.String()
	}
	if !c.Capped.IsZero() {
		bearer := "" // a line stored before costs said who bears a shortfall
		if c.Shortfall == catalog.ShortfallSupplier {
			bearer = " by the line: shortfall supplier"
		}
		f += fmt.Sprintf(", capped at %s, what the line's net leaves after ratio costs (%s not carried%s)", c.Cost, c.Capped, bearer)
	}
	return f
}

// scopeText says which charges a component's cost applies to.
func scopeText(c catalog.SupplierCost) string {
	fixed := c.Ratio.IsZero()
	switch a := c.AppliesTo; a.Scope {
	case catalog.CostRecurring:
		if fixed {
			return "recurring charges, the default"
		}
		return "recurring and usage charges, the default"
	case catalog.CostAll:
		if fixed {
			return "all charges: recurring and one-time (a fixed cost is per unit, never on usage)"
		}
		return "all charges"
	default:
		return "charges " + strings.Trim(a.String(), "[]")
	}
}

// chargeKind names the type of charge a line of kind k bills.
func chargeKind(k LineKind) string {
	switch k {
	case KindOneTime:
		return "one-time"
	case KindUsage, KindUsageAdjustment:
		return "usage"
	}
	return "recurring"
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format(time.RFC3339Nano)
}

func span(p ensemble.Period) string {
	return "[" + day(p.Start) + ", " + day(p.End) + ")"
}
