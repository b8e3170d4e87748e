package invoice

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// A discount recorded after a run billed usage it covers (a back-dated
// discount: Discount.Recorded after Run.After, reaching lines billed by
// then) is caught up by the run, as Kill Bill repairs an invoice already
// issued with an adjustment item rather than leave it (Lago applies a
// coupon to the next invoices only). Recurring and one-time lines are
// billed anew (see reconcile); usage is billed from its aggregates, which
// the run does not have again, so the run credits instead what the
// discount would have taken off the usage already billed: one
// KindCreditNote line per usage line it reaches (see lateDiscountCredits).
// A segment's line discount back-dated with its segment (Segment.Recorded)
// and an item's partner discount granted late
// (Item.PartnerDiscountRecorded) are percentage discounts recorded late
// like any other, credited by the same path (lateLineDiscountCredits).

// usageGroup is the usage billed for one usage period of one item and
// charge (and one value of an attributed charge): its usage line and the
// adjustments and credits of it that earlier runs billed.
type usageGroup struct {
	root  *Line   // the period's usage (or progressive) line
	lines []*Line // root and its adjustments, in ID order
}

// usageGroupKey names a usage period's lines: item, offer, charge, usage
// period start and the attributed value.
func usageGroupKey(l *Line) string {
	v := ""
	if l.Attribution != nil {
		v = l.Attribution.Value
	}
	return string(l.Item) + "\x00" + string(l.Pin.Offer) + "\x00" + string(l.Charge) + "\x00" + l.Cycle.Start.UTC().Format("20060102T150405.999999999") + "\x00" + v
}

// lateDiscountCredits returns the credits of a run catching up discounts
// recorded after Run.After (back-dated: see Discount.Recorded) on the
// usage earlier runs billed without them (the usage lines of Run.Billed,
// with their adjustments). For each percentage discount so recorded and
// each usage period of Run.Billed it reaches (its item, offer, charges,
// and its window holding the usage line's service start, or for a window
// in calendar time the share of the service inside it), the credit is
// what one run billing the period with the discount would have taken of
// it, round(S × p) over that share, where S is what the period's lines
// billed before discounts (usage line and adjustments: they add up to
// rate(cumulative)), less what those lines took of it already, times the
// share of what they billed after discounts that the host's credit notes
// and reversals of them in Run.Billed left (the discount applies to what
// the customer still pays for), less what earlier credits of it gave
// back, and capped at what the lines have left after their discounts and
// every credit of them. It is split over the lines it credits (see
// lateCredit), one KindCreditNote line each, crediting that line
// (Credits), with the amount negated and no discount, dated at the run,
// with ID "<credited line>/discount/<discount>/<run instant>", traced to
// the line and the discount (Refs), so that a later run given it in
// Run.Billed credits nothing more and settlement reverses it from the
// credited line's entries. A fixed discount so
// recorded, a subscription with a minimum commitment, a period's line
// drawn on a prepaid commitment, and adjustments whose usage line
// Run.Billed lacks are refused, a *LateDiscountError at the discount's
// path, rather than credited inexactly or left.
func (g *gen) lateDiscountCredits() []Line {
	after := g.run.After
	if after.IsZero() || len(g.billedSub) == 0 {
		return nil
	}
	groups := map[string]*usageGroup{}
	var keys []string
	for _, l := range g.billedSub {
		if l.Usage == nil || (l.Kind != KindUsage && l.Kind != KindUsageAdjustment && l.Kind != KindProgressiveUsage) {
			continue
		}
		k := usageGroupKey(l)
		gr := groups[k]
		if gr == nil {
			gr = &usageGroup{}
			groups[k] = gr
			keys = append(keys, k)
		}
		gr.lines = append(gr.lines, l)
		if l.Kind == KindUsage && (gr.root == nil || l.ID < gr.root.ID) {
			gr.root = l
		}
	}
	if len(groups) == 0 {
		return nil
	}
	slices.Sort(keys)
	for _, gr := range groups {
		slices.SortFunc(gr.lines, func(a, b *Line) int { return strings.Compare(string(a.ID), string(b.ID)) })
		if gr.root == nil {
			for _, l := range gr.lines {
				if l.Kind == KindProgressiveUsage {
					gr.root = l
					break
				}
			}
		}
	}
	var out []Line
	scan := func(ds []Discount, owner *Item, path string) {
		for k := range ds {
			d := &ds[k]
			if !d.Recorded.After(after) {
				continue
			}
			w, ok := g.windowOf(d, owner)
			if !ok {
				continue
			}
			at := ensemble.Path(path, "discounts", k)
			for _, key := range keys {
				gr := groups[key]
				first := gr.lines[0]
				if owner != nil && first.Item != owner.ID || d.Offer != "" && first.Pin.Offer != d.Offer || !d.scoped(first.Charge) {
					continue
				}
				svc := first.Period
				if gr.root != nil {
					svc = gr.root.Period
				}
				if !w.exact && !w.contains(svc.Start) || w.exact && !w.meets(svc) {
					continue
				}
				out = append(out, g.lateCredit(d, w, gr, at)...)
			}
		}
	}
	for j := range g.s.Items {
		scan(g.s.Items[j].Discounts, &g.s.Items[j], g.itemPath(j))
	}
	scan(g.s.Discounts, nil, g.subPath())
	for j := range g.s.Items {
		it := &g.s.Items[j]
		if !it.PartnerDiscount.IsZero() {
			// The partner discount, for ever: a discount of the item with
			// ID "partner" recorded with it.
			d := Discount{ID: partnerDiscount, Percent: it.PartnerDiscount, Charges: it.PartnerDiscountCharges, Recorded: it.PartnerDiscountRecorded}
			if d.Recorded.After(after) {
				for _, key := range keys {
					gr := groups[key]
					if first := gr.lines[0]; first.Item == it.ID && d.scoped(first.Charge) {
						out = append(out, g.lateCredit(&d, window{}, gr, g.itemPath(j)+".partner_discount")...)
					}
				}
			}
		}
		out = append(out, g.lateLineDiscountCredits(it, g.itemPath(j), groups, keys)...)
	}
	return out
}

// lateLineDiscountCredits returns the credits of the line discounts
// (Segment.Discount, ID "line") of item it's segments recorded after
// Run.After (back-dated: Segment.Recorded) on the usage billed of groups,
// as lateDiscountCredits credits a discount recorded late: a segment's
// line discount is a percentage discount like any other, recorded with
// the segment. It reaches the usage periods whose usage one run prices by
// the segment (the last of the item's segments that overlaps the period:
// see usageCharge), of the charges it is scoped to (DiscountCharges), the
// credit being what one run would have taken of the period at the
// segment's rate less what the period's lines took of "line" already (a
// back-dated segment keeping the discount credits nothing).
func (g *gen) lateLineDiscountCredits(it *Item, path string, groups map[string]*usageGroup, keys []string) []Line {
	var out []Line
	for k := range it.Segments {
		sg := &it.Segments[k]
		if sg.Discount.IsZero() || !sg.Recorded.After(g.run.After) {
			continue
		}
		d := Discount{ID: lineDiscount, Percent: sg.Discount, Charges: sg.DiscountCharges, Recorded: sg.Recorded}
		at := ensemble.Path(path, "segments", k) + ".discount"
		for _, key := range keys {
			gr := groups[key]
			first := gr.lines[0]
			if first.Item != it.ID || !d.scoped(first.Charge) {
				continue
			}
			svc := first.Period
			if gr.root != nil {
				svc = gr.root.Period
			}
			// The last segment overlapping the period prices its usage.
			if !sg.Start.Before(svc.End) || !sg.End.IsZero() && !sg.End.After(svc.Start) ||
				k+1 < len(it.Segments) && it.Segments[k+1].Start.Before(svc.End) {
				continue
			}
			out = append(out, g.lateCredit(&d, window{from: svc.Start, to: svc.End}, gr, at)...)
		}
	}
	return out
}

// lateCredit returns the credits of back-dated discount d (window w) on
// the usage billed of group gr (see lateDiscountCredits): what one run
// would have taken of the period, less what its lines took, in proportion
// to what the host's notes and reversals of the lines left, less what
// earlier credits of d gave back, split over the lines it credits (the
// usage line and its adjustments billing more) in proportion to what each
// has left after its discounts and every credit of it (d's, another
// discount's late credit, the host's notes; largest remainder by line ID),
// so that no credit gives back more than its line holds. It returns none when
// there is nothing to credit or the credit is refused (the problem added
// at path at).
func (g *gen) lateCredit(d *Discount, w window, gr *usageGroup, at string) []Line {
	first := gr.lines[0]
	refuse := func(l *Line, detail string) []Line {
		g.ps.Add(at, &LateDiscountError{Subscription: g.s.ID, Item: l.Item, Discount: d.ID, Line: l.ID, Period: l.Cycle,
			Recorded: d.Recorded, Detail: detail, Err: ErrLateDiscount})
		return nil
	}
	zero := ensemble.MoneyFromMinor(0, g.cur)
	// What earlier runs credited of d on each line of the group (own),
	// and what everything else credited of it (gone): other discounts'
	// late credits, the host's credit notes and reversals (notes), which
	// the customer no longer pays for.
	creditedOn, gone, notes := map[LineID]ensemble.Money{}, map[LineID]ensemble.Money{}, zero
	for _, l := range g.billedSub {
		if l.Kind != KindCreditNote && l.Kind != KindReversal || l.Credits == "" || !l.Amount.IsNegative() {
			continue // a credit gives back: one adding to its line is not counted
		}
		for _, gl := range gr.lines {
			if gl.ID != l.Credits {
				continue
			}
			switch id := string(l.ID); {
			case l.Kind == KindCreditNote && strings.HasPrefix(id, string(l.Credits)+"/discount/"+string(d.ID)+"/"):
				creditedOn[gl.ID] = g.sub(creditedOn[gl.ID], l.Amount)
			case l.Kind == KindCreditNote && strings.HasPrefix(id, string(l.Credits)+"/discount/"):
				gone[gl.ID] = g.sub(gone[gl.ID], l.Amount) // another discount's: a discount, not a note
			default:
				gone[gl.ID] = g.sub(gone[gl.ID], l.Amount)
				notes = g.sub(notes, l.Amount)
			}
		}
	}
	billed, paid, left, taken, credited := zero, zero, zero, zero, zero
	for _, l := range gr.lines {
		billed = g.add(billed, l.Amount)
		paid = g.add(paid, g.sub(l.Amount, l.Discount))
		for _, ad := range l.Discounts {
			if ad.ID == d.ID {
				taken = g.add(taken, ad.Amount)
			}
		}
		credited = g.add(credited, creditedOn[l.ID])
		left = g.sub(g.add(left, g.sub(l.Amount, l.Discount)), gone[l.ID])
	}
	left = g.sub(left, credited)
	if d.Percent.IsZero() {
		if taken.IsZero() && credited.IsZero() && billed.IsPositive() {
			return refuse(first, "a fixed discount is taken off the lines of a cycle in the order they are due, so what the usage billed would have taken of it cannot be told from the lines billed: credit it with a credit note")
		}
		return nil
	}
	svc := first.Period
	if gr.root != nil {
		svc = gr.root.Period
	}
	p := pct{id: d.ID, p: d.Percent, w: w}
	lo, hi, ok := g.covered(p, svc, ratioZero, ratioOne)
	if !ok {
		return nil
	}
	due := g.sub(g.cum(billed, lo.Mul(p.p), hi.Mul(p.p)), taken)
	if notes.IsPositive() && paid.IsPositive() && due.IsPositive() {
		// The discount applies to what the customer still pays for: the
		// share of what the lines billed that the host's notes left.
		due = due.MulRatio(quo(ensemble.RatioFromDecimal(g.sub(paid, notes).Amount()), ensemble.RatioFromDecimal(paid.Amount())), g.mode)
	}
	credit := g.sub(due, credited)
	if g.cmp(credit, left) > 0 {
		credit = left // discounts never take more than the lines hold
	}
	if !credit.IsPositive() {
		return nil
	}
	switch {
	case gr.root == nil:
		return refuse(first, "Run.Billed holds adjustments of the period but not its usage line, whose usage the credit is computed from: give every line earlier runs issued for the subscription")
	case g.s.Commitment != nil:
		return refuse(gr.root, "the subscription has a minimum commitment, whose true-up of the period's cycle counts the usage net of percentage discounts and is not recomputed")
	}
	for _, l := range gr.lines {
		if l.Prepaid != nil {
			return refuse(l, fmt.Sprintf("prepaid commitment %q covered part of the period's usage, and its drawdown is not recomputed", l.Prepaid.Commitment))
		}
	}
	var shares []ensemble.Share
	var onto []*Line
	pool := zero
	for _, l := range gr.lines {
		if room := g.sub(g.sub(g.sub(l.Amount, l.Discount), creditedOn[l.ID]), gone[l.ID]); room.IsPositive() {
			shares = append(shares, ensemble.Share{Key: string(l.ID), Weight: ensemble.RatioFromDecimal(room.Amount())})
			onto = append(onto, l)
			pool = g.add(pool, room)
		}
	}
	if g.cmp(credit, pool) > 0 {
		credit = pool
	}
	if !credit.IsPositive() {
		return nil
	}
	parts, err := ensemble.Allocate(credit, shares, ensemble.AllocateOptions{})
	if err != nil {
		g.ps.Add(at, err)
		return nil
	}
	var out []Line
	for k, l := range onto {
		c := parts[k]
		if !c.IsPositive() {
			continue
		}
		line := Line{
			ID:           LineID(string(l.ID) + "/discount/" + string(d.ID) + "/" + fmtTime(g.run.At)),
			Kind:         KindCreditNote,
			Subscription: l.Subscription,
			Item:         l.Item,
			Customer:     l.Customer,
			Date:         g.run.At,
			Description: fmt.Sprintf("Discount %s (%s) recorded %s, after this usage was billed: %s credited of the period's %s billed: %s",
				d.ID, d.Percent.Percent(), fmtRFC(d.Recorded), credit, billed, l.Description),
			Pin:      l.Pin,
			Charge:   l.Charge,
			Model:    l.Model,
			Cycle:    l.Cycle,
			Period:   l.Period,
			Quantity: decimal.Zero,
			Full:     c.Neg(),
			Currency: g.cur,
			Amount:   c.Neg(),
			Discount: zero,
			Credits:  l.ID,
			Refs:     []ensemble.Ref{{Kind: RefLine, ID: string(l.ID)}, {Kind: RefDiscount, ID: string(d.ID)}},
		}
		if l.Attribution != nil {
			a := *l.Attribution
			line.Attribution = &a
		}
		if g.lateRoots == nil {
			g.lateRoots = map[LineID]*Line{}
		}
		g.lateRoots[line.ID] = l
		out = append(out, line)
	}
	return out
}

// lateCreditTax taxes the credits of discounts recorded late (see
// lateDiscountCredits) so that the usage line and its credit carry the tax
// one run would have billed on the line discounted: the credit's tax is
// tax(G - C) - the tax the line billed (of each component alike), where G
// is what the line billed before tax and C what the credit gives back,
// rather than the tax of -C rounded on its own, a minor unit off (0.30 of
// usage 5% off at 19.6%: 0.05 of tax on 0.28, where 0.06 and -0.00 made
// 0.06). It keeps the tax the credit was given when the line was taxed
// under another rule or treatment, when tax is rounded per invoice, or
// when the difference would give back more than the line billed of a
// component, or add tax.
func (g *gen) lateCreditTax(inv *Invoice) {
	if len(g.lateRoots) == 0 || g.b.opts.TaxRounding == TaxPerInvoice {
		return
	}
	x := &g.arith
	for i := range inv.Lines {
		l := &inv.Lines[i]
		bl, ok := g.lateRoots[l.ID]
		if !ok || l.TaxRule.Treatment != TaxStandard || bl.TaxRule.Treatment != TaxStandard || l.TaxRule.ID != bl.TaxRule.ID ||
			l.TaxRule.Inclusive != bl.TaxRule.Inclusive || l.TaxRule.ID == "" || bl.Prepaid != nil {
			continue
		}
		billedGross := bl.Net
		if bl.TaxRule.Inclusive {
			billedGross = x.Add(bl.Net, bl.Tax)
		}
		gross := x.Sub(l.Amount, l.Discount) // negative
		after := x.Add(billedGross, gross)
		var tax ensemble.Money
		var taxes []TaxAmount
		if comps := g.b.taxC[l.TaxRule.ID]; len(comps) > 0 {
			if len(bl.Taxes) != len(comps) {
				continue
			}
			t, ts := g.taxComponents(comps, l.TaxRule.Inclusive, after, nil, "")
			tax, taxes = x.Sub(t, bl.Tax), addTaxes(x, ts, negTaxes(bl.Taxes))
			bad := false
			for k, c := range taxes {
				if c.Amount.IsPositive() || x.Cmp(c.Amount.Neg(), bl.Taxes[k].Amount) > 0 {
					bad = true
				}
			}
			if bad {
				continue
			}
		} else {
			k := g.b.taxK[l.TaxRule.ID]
			var t ensemble.Money
			if d := g.b.taxD[l.TaxRule.ID]; d.ok {
				t = after.Mul(d.d).Round(g.mode)
			} else {
				t = after.MulRatio(k, g.mode)
			}
			tax = x.Sub(t, bl.Tax)
		}
		if x.Err() != nil || tax.IsPositive() || x.Cmp(tax.Neg(), bl.Tax) > 0 {
			continue
		}
		l.Tax, l.Taxes = tax, taxes
		l.Net = gross
		if l.TaxRule.Inclusive {
			l.Net = x.Sub(gross, tax)
		}
		l.Total = x.Add(l.Net, tax)
	}
}
