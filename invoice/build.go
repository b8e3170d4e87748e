package invoice

import (
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/usage"
)

// Build bills every subscription for one run: every line due in
// (run.After, run.At] (see Run), one invoice per subscription that has any,
// sorted by subscription ID; the invoice ID is "<subscription>/<run.At>".
//
// Amounts are computed exactly and rounded to the minor unit once per line
// in the builder's mode: a recurring line covering the fractions [from, to)
// of its cycle is round(full × to) - round(full × from), so the parts of a
// cycle add up to exactly the whole; usage lines round the rating once (or per
// tier, per Options.Rating). Discounts, tax and totals follow (see Line).
//
// Changes recorded as segments are prorated: the unused part of what was
// billed in advance is credited at the amounts it was billed with (so a
// second change in a cycle credits what the first one charged, not the
// original price) and the new state is charged from the change.
//
// A change recorded after run.After but effective at or before it (a
// back-dated change: Segment.Recorded) is caught up against the lines
// earlier runs issued, run.Billed: the run also bills what it owes that
// fell due before After, and reverses and bills anew what it alters (see
// Run.Billed). Without them it is a *BackdatedError wrapping
// ErrBackdated.
//
// Problems of the inputs are reported all at once in an
// *ensemble.ValidationError; a failed call returns no invoice.
func (b *Builder) Build(run Run, subs []Subscription) ([]Invoice, error) {
	return b.build(run, subs, nil)
}

// build is Build; with billed set, it also appends the usage the run bills
// (see BilledUsage), with idle periods as aggregates of no records.
func (b *Builder) build(run Run, subs []Subscription, billed *[]usage.Aggregate) ([]Invoice, error) {
	var ps ensemble.Problems
	refs := b.validate(&ps, run, subs)
	if err := ps.Err("invoice run"); err != nil {
		return nil, err
	}
	// Group the usage by subscription without a map: count, then place.
	aggAt := make([][2]int, len(run.Usage))
	aggStart := make([]int32, len(subs)+1)
	for k, g := range run.Usage {
		aggAt[k], _ = refs.find(g.Line)
		aggStart[aggAt[k][0]+1]++
	}
	for i := range subs {
		aggStart[i+1] += aggStart[i]
	}
	aggSorted := make([]int32, len(run.Usage))
	fill := slices.Clone(aggStart[:len(subs)])
	for k := range run.Usage {
		i := aggAt[k][0]
		aggSorted[fill[i]] = int32(k)
		fill[i]++
	}
	lates := map[[2]int][]LateUsage{}
	for _, l := range run.Late {
		k, _ := refs.find(l.Billed.Line)
		lates[k] = append(lates[k], l)
	}
	progs := map[[2]int][]ProgressiveUsage{}
	for _, p := range run.Progressive {
		k, _ := refs.find(p.Usage.Line)
		progs[k] = append(progs[k], p)
	}
	basis := b.opts.Basis
	if run.Basis != nil {
		basis = *run.Basis
	}
	order := make([]int, len(subs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(string(subs[x].ID), string(subs[y].ID)) })
	zones := map[string]*time.Location{}
	out := make([]Invoice, 0, len(subs))
	ar := &arena{}
	cache := map[rateKey]catalog.Rating{}
	invID := fmtTime(run.At)
	var billedLines map[LineID]*Line
	var credited map[LineID][]*Line
	var reissued map[LineID]*Line
	var billedBySub map[SubscriptionID][]*Line
	if len(run.Billed) > 0 {
		billedLines = make(map[LineID]*Line, len(run.Billed))
		billedBySub = map[SubscriptionID][]*Line{}
		reversed := map[LineID]bool{}
		for i := range run.Billed {
			l := &run.Billed[i]
			billedLines[l.ID] = l
			billedBySub[l.Subscription] = append(billedBySub[l.Subscription], l)
			if l.Kind == KindCreditNote && l.Credits != "" {
				if credited == nil {
					credited = map[LineID][]*Line{}
				}
				credited[l.Credits] = append(credited[l.Credits], l)
			}
			if l.Kind == KindReversal {
				reversed[l.Credits] = true
			}
		}
		// The lines billed anew that stand: what a later proration credit
		// of the line they stand for credits.
		for i := range run.Billed {
			if l := &run.Billed[i]; l.Reissues != "" && !reversed[l.ID] {
				if reissued == nil {
					reissued = map[LineID]*Line{}
				}
				reissued[l.Reissues] = l
			}
		}
	}
	var items []usage.Aggregate
	for _, i := range order {
		s := &subs[i]
		loc, ok := zones[s.TimeZone]
		if !ok {
			loc, _ = loadZone(s.TimeZone)
			zones[s.TimeZone] = loc
		}
		g := &gen{b: b, run: &run, s: s, loc: loc, cur: s.Currency, mode: b.opts.Mode, cad: cadenceOf(s),
			popts: ensemble.ProrateOptions{Basis: basis, Location: loc, Anchor: s.Anchor},
			limit: run.At.Add(1), ps: &ps, idx: i, arena: ar, cache: cache, invID: invID, billed: billedLines, credited: credited, billedUsage: billed,
			reissued: reissued, billedSub: billedBySub[s.ID]}
		g.from = run.After
		g.all = s.Commitment != nil || hasFixedDiscount(s)
		g.lines = ar.open()
		if g.all && !run.After.IsZero() {
			if c, _, err := g.cad.PeriodAt(s.Anchor, run.After, loc); err == nil {
				g.from = c.Start.UTC()
			}
			g.commitFrom = g.from
			if hasFixedDiscount(s) {
				g.from = g.billedFrom()
			}
		}
		g.checkBackdated()
		// Items in ID order, so that lines usually come out sorted.
		var small [16]int
		byID := small[:0]
		for j := range s.Items {
			byID = append(byID, j)
		}
		slices.SortFunc(byID, func(a, b int) int { return strings.Compare(string(s.Items[a].ID), string(s.Items[b].ID)) })
		for _, j := range byID {
			items = items[:0]
			for _, k := range aggSorted[aggStart[i]:aggStart[i+1]] {
				if aggAt[k][1] == j {
					items = append(items, run.Usage[k])
				}
			}
			g.item(j, &s.Items[j], items, lates[[2]int{i, j}], progs[[2]int{i, j}])
		}
		g.subscriptionTerm()
		g.checkRestartAfterEnd()
		g.commitment()
		g.lateTrueUps()
		g.prepaidLines()
		if ps.Len() > 0 {
			ps.Add(g.subPath(), g.mismatch())
			ar.release(g.lines)
			continue
		}
		inv, ok := g.invoice()
		if err := g.mismatch(); err != nil {
			ps.Add(g.subPath(), err)
		} else if ok {
			out = append(out, inv)
		}
	}
	if err := ps.Err("invoice run"); err != nil {
		return nil, err
	}
	return out, nil
}

// hasFixedDiscount reports whether s or one of its items has a
// fixed-amount discount: its lines of the cycles a run's lines serve that
// earlier runs billed are computed, for what they took of it when
// Run.Billed lacks them (see fixedDiscounts).
func hasFixedDiscount(s *Subscription) bool {
	fixed := func(ds []Discount) bool {
		for k := range ds {
			if !ds[k].Amount.IsZero() {
				return true
			}
		}
		return false
	}
	if fixed(s.Discounts) {
		return true
	}
	for j := range s.Items {
		if fixed(s.Items[j].Discounts) {
			return true
		}
	}
	return false
}

// billedFrom returns where the lines earlier runs billed of the cycles
// the run's lines start in begin: the start of the subscription's cycle
// holding After, or of an earlier one, where a line billed in arrears (a
// usage line, a recurring charge in arrears) due after After serves from
// (the start of its period holding After).
func (g *gen) billedFrom() time.Time {
	from := g.from
	earliest := func(cad ensemble.Cadence, anchor time.Time) {
		p, _, err := cad.PeriodAt(anchor, g.run.After, g.loc)
		if err != nil || !p.Start.Before(from) {
			return
		}
		if c, ok := g.subCycle(p.Start); ok && c.Start.Before(from) {
			from = c.Start.UTC()
		}
	}
	g.chargeCadences(nil, func(ch *chargeInfo) bool {
		return ch.typ == catalog.Usage || ch.typ == catalog.Recurring && ch.timing == catalog.InArrears
	}, earliest)
	return from
}

// chargeCadences calls f with the cadence and anchor of every charge keep
// accepts of the offers and add-ons the subscription's items (of owner
// alone, when not nil) hold in any segment; a charge without a cadence of
// its own steps on the subscription's.
func (g *gen) chargeCadences(owner *Item, keep func(*chargeInfo) bool, f func(cad ensemble.Cadence, anchor time.Time)) {
	for j := range g.s.Items {
		it := &g.s.Items[j]
		if owner != nil && it != owner {
			continue
		}
		anchor := g.s.Anchor
		if !it.Anchor.IsZero() {
			anchor = it.Anchor
		}
		pins := func(p catalog.Pin) {
			o := g.b.offerIn(p, g.cur)
			if o == nil {
				return // reported by validation
			}
			for _, ch := range o.charges {
				if !keep(ch) {
					continue
				}
				cad := ch.cadence
				if cad == (ensemble.Cadence{}) {
					cad = g.cad
				}
				f(cad, anchor)
			}
		}
		for _, sg := range it.Segments {
			pins(sg.Pin)
			for _, a := range sg.AddOns {
				pins(a.Pin)
			}
		}
	}
}

// due reports whether t lies in (After, At].
func (g *gen) due(t time.Time) bool {
	return (g.run.After.IsZero() || t.After(g.run.After)) && !t.After(g.run.At)
}

// wanted reports whether a line dated t is computed: due in the run, or,
// while the run catches up a back-dated change, due by At.
func (g *gen) wanted(t time.Time) bool {
	return g.due(t) || (g.repairing && !t.After(g.run.At))
}

// invoice keeps the lines due in the run and totals them.
func (g *gen) invoice() (Invoice, bool) {
	// Lines were generated into the arena's open block. When every one is
	// due and they came out sorted (the usual case), they are the
	// invoice's lines as they stand; otherwise the due ones are copied out
	// in order and the block is reused. A run catching up a back-dated
	// change reconciles them with what was billed instead.
	var lines []Line
	if g.repairing {
		lines = g.reconcile()
		g.arena.release(g.lines)
		if credits := g.lateDiscountCredits(); len(credits) > 0 {
			lines = append(lines, credits...)
			slices.SortFunc(lines, func(a, b Line) int { return strings.Compare(string(a.ID), string(b.ID)) })
		}
		if len(lines) == 0 || g.ps.Len() > 0 {
			return Invoice{}, false
		}
		g.fixedDiscounts(lines)
	} else {
		// Fixed discounts first, so that the lines earlier runs billed of
		// the cycle After falls in take their part (see fixedDiscounts).
		g.fixedDiscounts(g.lines)
		var small [16]int
		idx := small[:0]
		sorted := true
		for i := range g.lines {
			if g.due(g.lines[i].Date) {
				if n := len(idx); n > 0 && g.lines[idx[n-1]].ID >= g.lines[i].ID {
					sorted = false
				}
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			g.arena.release(g.lines)
			return Invoice{}, false
		}
		if sorted && len(idx) == len(g.lines) {
			lines = g.arena.keep(g.lines)
		} else {
			slices.SortFunc(idx, func(a, b int) int { return strings.Compare(string(g.lines[a].ID), string(g.lines[b].ID)) })
			lines = make([]Line, len(idx))
			for k, i := range idx {
				lines[k] = g.lines[i]
			}
			g.arena.release(g.lines)
		}
	}
	g.itemRefs(lines)
	inv := Invoice{
		ID:           InvoiceID(string(g.s.ID) + "/" + g.invID),
		Subscription: g.s.ID,
		Customer:     g.s.Customer,
		Currency:     g.cur,
		Date:         g.run.At,
		After:        g.run.After,
		TaxRounding:  g.b.opts.TaxRounding,
		Mode:         g.mode,
		Lines:        lines,
	}
	g.drawPrepaid(&inv)
	if !g.tax(&inv) {
		return Invoice{}, false
	}
	g.lateCreditTax(&inv)
	g.carryCredits(&inv)
	g.creditedBefore(&inv)
	g.costs(&inv)
	g.totals(&inv)
	g.prepaid(&inv)
	started, _, _ := g.span()
	for i := range inv.Lines {
		l := &inv.Lines[i]
		l.SubscriptionStart = started
		l.Refs = append(l.Refs, g.s.Refs...)
		for _, d := range l.Discounts {
			l.Refs = append(l.Refs, ensemble.Ref{Kind: RefDiscount, ID: string(d.ID)})
		}
		if l.TaxRule.ID != "" {
			l.Refs = append(l.Refs, ensemble.Ref{Kind: RefTaxRule, ID: string(l.TaxRule.ID)})
		}
		slices.SortFunc(l.Refs, ensemble.Ref.Compare)
		l.Refs = slices.Compact(l.Refs)
	}
	return inv, true
}

// itemRefs gives each line of an item the item's references and those of
// the segment in force when the line's service starts (its order line and
// segment, from FromOrder).
func (g *gen) itemRefs(lines []Line) {
	for i := range lines {
		l := &lines[i]
		if l.Item == "" || l.Kind == KindReversal {
			continue // a reversal carries the references of what it reverses
		}
		for j := range g.s.Items {
			it := &g.s.Items[j]
			if it.ID != l.Item {
				continue
			}
			if len(it.Refs) > 0 || hasSegmentRefs(it) {
				l.Refs = append(slices.Clip(l.Refs), it.Refs...)
				for k := range it.Segments {
					sg := &it.Segments[k]
					if !l.Period.Start.Before(sg.Start) && (sg.End.IsZero() || l.Period.Start.Before(sg.End)) {
						l.Refs = append(l.Refs, sg.Refs...)
						break
					}
				}
			}
			break
		}
	}
}

func hasSegmentRefs(it *Item) bool {
	for k := range it.Segments {
		if len(it.Segments[k].Refs) > 0 {
			return true
		}
	}
	return false
}

// fixedDiscounts takes each fixed-amount discount off the positive lines
// it applies to, at most its amount per cycle of the subscription's
// cadence (fixedFor) over every invoice: the lines of a cycle take it in
// the order they are due, the lines due at one instant (on one invoice)
// together, split in proportion to what is left of them, and a later
// line takes only what the earlier ones left. So a line re-charging a
// cycle after a change takes nothing of an amount the cycle's first line
// took, whichever run bills it: what the lines earlier runs billed took is
// read from Run.Billed (billedTaken); lines holds, besides the run's lines,
// the lines earlier runs billed of the cycles the run's lines serve
// (computed again: gen.all), and those Run.Billed lacks take their part
// first as computed (but a usage line, computed without its usage: see
// billedTaken) and are then dropped. A run catching up a back-dated change takes it first off the
// lines it bills for time earlier invoices billed, as catchUpDiscount
// says, and its other lines take what the cycle's lines billed and
// standing or billed late left.
func (g *gen) fixedDiscounts(lines []Line) {
	apply := func(d *Discount, it *Item, before map[int64]ensemble.Money) {
		w, ok := g.windowOf(d, it)
		if !ok {
			return
		}
		byCycle := map[int64][]int{}
		periods := map[int64]ensemble.Period{}
		var starts []int64
		for i := range lines {
			l := &lines[i]
			if !fixedApplies(d, it, w, l) || g.billedEarlier(l) || g.readBilled(l) || !g.sub(l.Amount, l.Discount).IsPositive() {
				continue
			}
			c, ok := g.subCycle(l.Period.Start)
			if !ok {
				return
			}
			k := c.Start.UnixNano()
			if _, seen := byCycle[k]; !seen {
				starts = append(starts, k)
				periods[k] = c
			}
			byCycle[k] = append(byCycle[k], i)
		}
		slices.Sort(starts)
		for _, k := range starts {
			idx := byCycle[k]
			slices.SortStableFunc(idx, func(a, b int) int { return lines[a].Date.Compare(lines[b].Date) })
			room := g.fixedFor(d, w, periods[k])
			if m, ok := before[k]; ok {
				room = g.sub(room, m)
			}
			for from := 0; from < len(idx) && room.IsPositive(); {
				to := from + 1
				for to < len(idx) && lines[idx[to]].Date.Equal(lines[idx[from]].Date) {
					to++
				}
				room = g.sub(room, g.takeFixed(lines, idx[from:to], d, room))
				from = to
			}
		}
	}
	// Fixed discounts apply item by item, then subscription-wide, each in
	// ID order, so the input's order never matters.
	items := make([]*Item, len(g.s.Items))
	for j := range g.s.Items {
		items[j] = &g.s.Items[j]
	}
	slices.SortFunc(items, func(a, b *Item) int { return strings.Compare(string(a.ID), string(b.ID)) })
	fixed := func(ds []Discount) []*Discount {
		var out []*Discount
		for k := range ds {
			if !ds[k].Amount.IsZero() {
				out = append(out, &ds[k])
			}
		}
		slices.SortFunc(out, func(a, b *Discount) int { return strings.Compare(string(a.ID), string(b.ID)) })
		return out
	}
	before := func(d *Discount, it *Item) map[int64]ensemble.Money {
		if g.repairing {
			return g.catchUpDiscount(lines, d, it)
		}
		return g.billedTaken(lines, d, it)
	}
	for _, it := range items {
		for _, d := range fixed(it.Discounts) {
			apply(d, it, before(d, it))
		}
	}
	for _, d := range fixed(g.s.Discounts) {
		apply(d, nil, before(d, nil))
	}
	for i := range lines {
		if len(lines[i].Discounts) > 1 {
			slices.SortFunc(lines[i].Discounts, func(a, b AppliedDiscount) int { return strings.Compare(string(a.ID), string(b.ID)) })
		}
	}
}

// readBilled reports whether line l, computed by a run not catching up a
// back-dated change, is one an earlier run billed (due by After) whose
// part of a fixed discount is read from Run.Billed (billedTaken) rather
// than taken again: it is there (by ID), or it is a usage line computed
// idle, without the usage it was billed with.
func (g *gen) readBilled(l *Line) bool {
	if g.repairing || g.run.After.IsZero() || l.Date.After(g.run.After) {
		return false
	}
	if b, ok := g.billed[l.ID]; ok && b.Subscription == g.s.ID {
		return true
	}
	for k := range g.earlier {
		if g.earlier[k].idle == l.ID {
			return true
		}
	}
	return false
}

// billedTaken returns, for a run not catching up a back-dated change, what
// the lines earlier runs billed took of fixed discount d (of item it, or
// the subscription's: nil) by cycle of the subscription's cadence (by the
// cycle's start), as Run.Billed says: the applied discounts of its lines
// of the subscription (not reversed). The run's lines due after After take
// only what is left (fixedDiscounts); the lines earlier runs billed that
// the run computes take their part as computed only when Run.Billed lacks
// them and they can be computed again (not usage: readBilled).
//
// A usage line cannot be computed again without its usage: where a cycle
// holding a line of the run that d applies to holds a usage period an
// earlier run billed (gen.earlier) that d applies to too, Run.Billed must
// hold its usage line (any line of the period's usage), or, when idle usage
// bills nothing and Run.Billed holds lines of the subscription, the period
// was idle; otherwise the run cannot tell what it took and records a
// *UsageError wrapping ErrBilledIncomplete naming the period.
func (g *gen) billedTaken(lines []Line, d *Discount, it *Item) map[int64]ensemble.Money {
	if g.run.After.IsZero() || len(g.billedSub) == 0 && len(g.earlier) == 0 {
		return nil
	}
	w, ok := g.windowOf(d, it)
	if !ok {
		return nil
	}
	taken := map[int64]ensemble.Money{}
	gone := map[LineID]bool{}
	for _, b := range g.billedSub {
		if b.Kind == KindReversal {
			gone[b.Credits] = true
		}
	}
	for _, b := range g.billedSub {
		if gone[b.ID] || b.Date.After(g.run.After) || it != nil && b.Item != it.ID {
			continue
		}
		m := ensemble.MoneyFromMinor(0, g.cur)
		for _, ad := range b.Discounts {
			if ad.ID == d.ID && ad.Percent.IsZero() {
				m = g.add(m, ad.Amount)
			}
		}
		if m.IsZero() {
			continue
		}
		c, ok := g.subCycle(b.Period.Start)
		if !ok {
			return taken
		}
		taken[c.Start.UnixNano()] = g.add(taken[c.Start.UnixNano()], m)
	}
	if len(g.earlier) == 0 {
		return taken
	}
	// The cycles holding a line of the run d applies to.
	due := map[int64]bool{}
	for i := range lines {
		l := &lines[i]
		if !g.due(l.Date) || !fixedApplies(d, it, w, l) || !g.sub(l.Amount, l.Discount).IsPositive() {
			continue
		}
		if c, ok := g.subCycle(l.Period.Start); ok {
			due[c.Start.UnixNano()] = true
		}
	}
	for k := range g.earlier {
		e := &g.earlier[k]
		c, ok := g.subCycle(e.svc.Start)
		if !ok || !due[c.Start.UnixNano()] || !fixedApplies(d, it, w, &Line{Kind: KindUsage, Item: e.item.ID, Pin: e.pin, Charge: e.charge, Period: e.svc}) {
			continue
		}
		if e.idle == "" && len(g.billedSub) > 0 || g.billedPeriod(e) {
			continue
		}
		if g.reported == nil {
			g.reported = map[*earlierUsage]bool{}
		}
		if g.reported[e] {
			continue
		}
		g.reported[e] = true
		g.ps.Add(g.itemPath(e.at), &UsageError{Line: e.line, Meter: e.meter, Period: e.pd, Due: e.due, Err: ErrBilledIncomplete,
			Detail: "an earlier run billed the period's usage at " + fmtRFC(e.due) + ", and what its line took of fixed discount " + quote(string(d.ID)) +
				" for the cycle from " + fmtRFC(c.Start) + " bounds what this run's lines of the cycle take: pass the period's usage line in Run.Billed (a subscription no run has billed a line of yet is billed from the beginning, After zero)"})
	}
	return taken
}

// billedPeriod reports whether Run.Billed holds a line of usage period e
// (its usage line, or a progressive or late-usage line of it).
func (g *gen) billedPeriod(e *earlierUsage) bool {
	for _, b := range g.billedSub {
		if b.Item == e.item.ID && b.Usage != nil && b.Usage.Meter == e.meter && b.Cycle.Equal(e.pd) {
			return true
		}
	}
	return false
}

// takeFixed takes up to take of fixed discount d off lines[idx], split in
// proportion to what is left of them, never more than that, and returns
// what it took.
func (g *gen) takeFixed(lines []Line, idx []int, d *Discount, take ensemble.Money) ensemble.Money {
	if len(idx) == 0 || !take.IsPositive() {
		return ensemble.MoneyFromMinor(0, g.cur)
	}
	shares := make([]ensemble.Share, len(idx))
	pool := ensemble.MoneyFromMinor(0, g.cur)
	for k, i := range idx {
		left := g.sub(lines[i].Amount, lines[i].Discount)
		shares[k] = ensemble.Share{Key: string(lines[i].ID), Weight: ensemble.RatioFromDecimal(left.Amount())}
		pool = g.add(pool, left)
	}
	if g.cmp(take, pool) > 0 {
		take = pool
	}
	parts, err := ensemble.Allocate(take, shares, ensemble.AllocateOptions{})
	if err != nil {
		g.ps.Add(g.subPath()+".discounts", err)
		return ensemble.MoneyFromMinor(0, g.cur)
	}
	for k, i := range idx {
		l := &lines[i]
		l.Discounts = append(l.Discounts, AppliedDiscount{ID: d.ID, Amount: parts[k]})
		l.Discount = g.add(l.Discount, parts[k])
	}
	return take
}

// subCycle returns the cycle of the subscription's cadence that holds t.
func (g *gen) subCycle(t time.Time) (ensemble.Period, bool) {
	c, _, err := g.cad.PeriodAt(g.s.Anchor, t, g.loc)
	if err != nil {
		g.ps.Add(g.subPath()+".discounts", err)
		return ensemble.Period{}, false
	}
	return c, true
}

// fixedApplies reports whether fixed discount d (of item it, or the
// subscription's: nil), whose window is w, applies to line l: a line of
// its item, offer and charges (Discount.Charges) whose service starts in
// the window (or, for an exact window, overlaps it), of a kind discounts
// apply to.
func fixedApplies(d *Discount, it *Item, w window, l *Line) bool {
	switch l.Kind {
	case KindCommitmentTrueUp, KindCreditNote, KindPrepayment, KindPrepaidBreakage, KindEarlyTermination:
		return false
	}
	return (it == nil || l.Item == it.ID) && (d.Offer == "" || l.Pin.Offer == d.Offer) && d.scoped(l.Charge) && w.meets(l.Period)
}

// taxKey groups lines for the tax breakdown.
type taxKey struct {
	id TaxRuleID
	tr TaxTreatment
}

// tax sets every line's tax rule, tax, net and total.
func (g *gen) tax(inv *Invoice) bool {
	cust := g.s.Customer
	perInvoice := g.b.opts.TaxRounding == TaxPerInvoice
	running := map[taxKey]ensemble.Money{}
	var compRunning map[string]ensemble.Money
	if perInvoice {
		compRunning = map[string]ensemble.Money{}
	}
	zero := ensemble.MoneyFromMinor(0, g.cur)
	var deferred []int
	defer func() {
		for _, i := range deferred {
			g.prorationTax(inv, &inv.Lines[i])
		}
	}()
	for i := range inv.Lines {
		l := &inv.Lines[i]
		if l.Kind == KindReversal {
			continue // what is left of the reversed line: net, tax and total as billed (reversal)
		}
		gross := g.sub(l.Amount, l.Discount)
		if l.Prepaid != nil {
			gross = g.sub(gross, l.Prepaid.Covered)
		}
		var tr TaxTrace
		var comps []TaxComponent
		switch {
		case len(g.b.taxes) == 0:
			tr = TaxTrace{Treatment: TaxNone}
		default:
			code := g.taxCode(l)
			r, ok := g.b.taxRule(cust.Region, code)
			if !ok {
				g.ps.Add(g.subPath(), &LineError{Line: l.ID, Err: ErrNoTaxRule, Value: "region " + quote(cust.Region) + " tax code " + quote(code)})
				return false
			}
			tr = TaxTrace{ID: r.ID, Rate: g.b.taxR[r.ID], Inclusive: r.Inclusive}
			comps = r.Components
			switch {
			case cust.ReverseCharge:
				tr.Treatment, tr.Rate = TaxReverseCharge, ratioZero
				inv.ReverseCharge = true
			case cust.TaxExempt:
				tr.Treatment, tr.Rate = TaxExempt, ratioZero
			}
		}
		l.TaxRule = tr
		l.Taxes = nil
		if len(comps) > 0 && !perInvoice && tr.Treatment == TaxStandard && l.Kind == KindProrationCredit && l.Credits != "" {
			deferred = append(deferred, i) // after the line it credits (prorationTax)
			continue
		}
		if len(comps) > 0 {
			tax := zero
			if tr.Treatment == TaxStandard {
				tax, l.Taxes = g.taxComponents(g.b.taxC[tr.ID], tr.Inclusive, gross, compRunning, string(tr.ID))
			} else {
				l.Taxes = zeroComponents(comps, g.cur)
			}
			l.Tax = tax
			l.Net = gross
			if tr.Inclusive {
				l.Net = g.sub(gross, tax)
			}
			l.Total = g.add(l.Net, tax)
			continue
		}
		k := tr.Rate
		if tr.Treatment == TaxStandard && tr.ID != "" {
			k = g.b.taxK[tr.ID]
		}
		var tax ensemble.Money
		switch {
		case k.IsZero():
			tax = zero
		case perInvoice:
			key := taxKey{tr.ID, tr.Treatment}
			prev := running[key]
			if prev.Currency().IsZero() {
				prev = zero
			}
			next := g.add(prev, gross)
			running[key] = next
			tax = g.sub(next.MulRatio(k, g.mode), prev.MulRatio(k, g.mode))
		case tr.Treatment == TaxStandard && g.b.taxD[tr.ID].ok:
			tax = gross.Mul(g.b.taxD[tr.ID].d).Round(g.mode)
		default:
			tax = gross.MulRatio(k, g.mode)
		}
		l.Tax = tax
		if tr.Inclusive {
			l.Net = g.sub(gross, tax)
		} else {
			l.Net = gross
		}
		l.Total = g.add(l.Net, tax)
	}
	return true
}

// prorationTax taxes l, a proration credit under a rule with components
// rounded per line, given its tax rule: its tax is the credited line's tax
// in proportion to the part credited (round(gross × tax / gross billed)),
// split among the components in proportion to what the line billed of
// each (splitTax), so that it never gives back more of a component than
// was billed, and its tax stays within a unit of the credited line's rate,
// as settlement requires of a credit (rounding each component on its own
// could be a unit off per component: 0.96 of a 1.03 line taxed GST 0.05 +
// QST 0.10 gave back 0.05 + 0.10). Without the credited line (in the
// invoice, Run.Billed or the lines billed anew), each component is rounded
// on its own.
func (g *gen) prorationTax(inv *Invoice, l *Line) {
	gross := g.sub(l.Amount, l.Discount)
	if l.Prepaid != nil {
		gross = g.sub(gross, l.Prepaid.Covered)
	}
	var bl *Line
	if c, ok := g.carried[l.Credits]; ok {
		bl = c.line
	} else if b, ok := g.billed[l.Credits]; ok {
		bl = b
	} else {
		for j := range inv.Lines {
			if inv.Lines[j].ID == l.Credits {
				bl = &inv.Lines[j]
			}
		}
	}
	var tax ensemble.Money
	var taxes []TaxAmount
	billedGross := ensemble.Money{}
	if bl != nil {
		billedGross = bl.Net
		if bl.TaxRule.Inclusive {
			billedGross = g.add(bl.Net, bl.Tax)
		}
	}
	credit := gross.Neg()
	switch {
	case bl != nil && bl.TaxRule.ID == l.TaxRule.ID && bl.TaxRule.Treatment == TaxStandard && len(bl.Taxes) > 0 &&
		billedGross.IsPositive() && !credit.IsNegative() && g.cmp(credit, billedGross) <= 0 && !bl.Tax.IsNegative():
		t := credit.MulRatio(quo(ensemble.RatioFromDecimal(bl.Tax.Amount()), ensemble.RatioFromDecimal(billedGross.Amount())), g.mode)
		taxes = negTaxes(splitTax(&g.arith, t, bl.Taxes))
		tax = t.Neg()
	default:
		tax, taxes = g.taxComponents(g.b.taxC[l.TaxRule.ID], l.TaxRule.Inclusive, gross, nil, "")
	}
	l.Tax, l.Taxes = tax, taxes
	l.Net = gross
	if l.TaxRule.Inclusive {
		l.Net = g.sub(gross, tax)
	}
	l.Total = g.add(l.Net, tax)
}

// taxCode is the item's tax code, or the offer's "tax_code" attribute; a
// prepaid commitment's purchase has its own.
func (g *gen) taxCode(l *Line) string {
	if l.Kind == KindPrepayment || l.Kind == KindPrepaidBreakage {
		return g.prepaidTaxCode(l)
	}
	for j := range g.s.Items {
		if g.s.Items[j].ID == l.Item && g.s.Items[j].TaxCode != "" {
			return g.s.Items[j].TaxCode
		}
	}
	if oi := g.b.offerIn(l.Pin, g.cur); oi != nil {
		return oi.taxCode
	}
	return ""
}

// costs lists the supplier costs of bundle lines with a positive net
// (catalog.Catalog.SupplierCosts): each component's cost applies to the
// charges its AppliesTo names, by default the recurring and usage charges
// (a one-time fee carries none). A ratio cost is a share of what the line
// charged: its net after every discount, and what a prepaid commitment
// covered of it; a fixed cost is owed per bundle unit, or once per line
// with per: line (per cycle on a recurring line, prorated with it by
// Proration.Fraction and rounded once; once on a one-time line it applies
// to), never on a usage line. A
// fixed cost in another currency is converted at Run.Rates. The costs never
// exceed what the line charged (capCosts). The components that do not
// apply are kept on the line (CostsNotApplied) for its explanation. A line
// that bills no charge of the bundle (a commitment true-up) carries none.
func (g *gen) costs(inv *Invoice) {
	for i := range inv.Lines {
		l := &inv.Lines[i]
		oi := g.b.offerIn(l.Pin, g.cur)
		ok := oi != nil
		// A part a prepaid commitment covered was consumed all the same:
		// suppliers are owed on it.
		net := l.Net
		if l.Prepaid != nil {
			net = g.add(net, l.Prepaid.CoveredNet)
		}
		if !ok || oi.kind != catalog.Bundle || l.Charge == "" || net.IsNegative() || l.Quantity.Sign() < 0 || l.Kind == KindPrepayment || l.Kind == KindPrepaidBreakage {
			continue
		}
		opts := catalog.CostOptions{Mode: g.mode, Rates: g.run.Rates, At: g.run.At}
		if l.Proration != nil && l.Kind == KindRecurring {
			opts.Fraction = &l.Proration.Fraction
		}
		c, err := g.b.cat.SupplierCosts(l.Pin, l.Charge, net, l.Quantity, opts)
		if err != nil {
			g.ps.Add(g.subPath(), &LineError{Line: l.ID, Err: err})
			continue
		}
		if err := g.capCosts(l.ID, c.Costs, net); err != nil {
			if _, short := err.(*CostShortfallError); !short {
				err = &LineError{Line: l.ID, Err: err}
			}
			g.ps.Add(g.subPath(), err)
			continue
		}
		if net.IsZero() {
			continue // a free line owes what its suppliers agreed to cut: nothing
		}
		l.SupplierCosts = l.SupplierCosts[:0]
		for _, sc := range c.Costs {
			if sc.Cost.IsZero() && sc.Capped.IsZero() {
				continue
			}
			l.SupplierCosts = append(l.SupplierCosts, sc)
			l.Refs = append(l.Refs, sc.Component)
		}
		l.CostsNotApplied = c.NotApplied
	}
}

// capCosts caps line's supplier costs at base, what the line charged
// (its net, and what a prepaid commitment covered of it), so that after a
// large discount a line never owes its suppliers more than it brought in.
// Ratio costs are shares of base already and stay as they are; when the
// fixed costs on top of them come to more than base leaves, they share what
// it leaves in proportion to their amounts (ensemble.Allocate: largest
// remainder, ties by "offer/supplier"), each recording what it could not
// carry in Capped, provided each of them says its supplier bears the
// shortfall (catalog.ShortfallSupplier); otherwise the line is a
// *CostShortfallError naming the first component that does not.
func (g *gen) capCosts(line LineID, costs []catalog.SupplierCost, base ensemble.Money) error {
	total, ratios := ensemble.MoneyFromMinor(0, g.cur), ensemble.MoneyFromMinor(0, g.cur)
	for _, c := range costs {
		total = g.add(total, c.Cost)
		if !c.Ratio.IsZero() {
			ratios = g.add(ratios, c.Cost)
		}
	}
	if g.cmp(total, base) <= 0 {
		return nil
	}
	for _, c := range costs {
		if c.Ratio.IsZero() && c.Cost.IsPositive() && c.Shortfall != catalog.ShortfallSupplier {
			return &CostShortfallError{Line: line, Component: string(c.Offer) + "/" + c.Supplier, Owed: c.Cost,
				Fixed: g.sub(total, ratios), Leaves: g.sub(base, ratios), Err: ErrCostShortfall}
		}
	}
	var idx []int
	var shares []ensemble.Share
	for i, c := range costs {
		if c.Ratio.IsZero() && c.Cost.IsPositive() {
			idx = append(idx, i)
			shares = append(shares, ensemble.Share{Key: string(c.Offer) + "/" + c.Supplier, Weight: ensemble.RatioFromDecimal(c.Cost.Amount())})
		}
	}
	parts, err := ensemble.Allocate(g.sub(base, ratios), shares, ensemble.AllocateOptions{})
	if err != nil {
		return err
	}
	for k, i := range idx {
		costs[i].Capped = g.sub(costs[i].Cost, parts[k])
		costs[i].Cost = parts[k]
	}
	return nil
}

// totals sums the lines into the invoice's subtotal, tax breakdown and
// total.
func (g *gen) totals(inv *Invoice) {
	inv.Subtotal, inv.Tax, inv.Total, inv.Taxes = sumLines(&g.arith, inv.Lines, g.cur)
	inv.AmountDue = inv.Total
}

// prepaid applies the subscription's prepaid credits to a positive total:
// lower priority first, then earlier expiry (never last), then ID; credits
// expired at the run's instant are skipped.
func (g *gen) prepaid(inv *Invoice) {
	if !inv.AmountDue.IsPositive() || len(g.s.Credits) == 0 {
		return
	}
	cs := slices.Clone(g.s.Credits)
	slices.SortFunc(cs, func(a, b PrepaidCredit) int {
		if a.Priority != b.Priority {
			if a.Priority < b.Priority {
				return -1
			}
			return 1
		}
		switch {
		case a.ExpiresAt.IsZero() && !b.ExpiresAt.IsZero():
			return 1
		case !a.ExpiresAt.IsZero() && b.ExpiresAt.IsZero():
			return -1
		}
		if c := a.ExpiresAt.Compare(b.ExpiresAt); c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
	for _, c := range cs {
		if !inv.AmountDue.IsPositive() {
			break
		}
		if (!c.ExpiresAt.IsZero() && !c.ExpiresAt.After(g.run.At)) || !c.Balance.IsPositive() {
			continue
		}
		use := ensemble.MoneyFromDecimal(c.Balance, g.cur)
		if g.cmp(use, inv.AmountDue) > 0 {
			use = inv.AmountDue
		}
		inv.Credits = append(inv.Credits, AppliedCredit{Credit: c.ID, Amount: use})
		inv.AmountDue = g.sub(inv.AmountDue, use)
	}
}
