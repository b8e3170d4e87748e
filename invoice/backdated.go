package invoice

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// checkBackdated looks for back-dated changes of the subscription: a
// segment, a segment's end, the cancellation or a discount recorded after
// the run's After but taking effect at or before it, which the run at
// After billed without. With one, the run catches up (repairing, from the
// earliest instant such a change takes effect at): see reconcile. That
// needs the lines earlier runs issued (Run.Billed): with none of the
// subscription's, each change is a *BackdatedError. (What an earlier run
// billed cannot be told from the segments as they stand: a change at the
// instant the first segment starts replaces it, and a stop at a cycle's
// start leaves no line of the cycle the run billed in advance.)
func (g *gen) checkBackdated() {
	after := g.run.After
	if after.IsZero() {
		return
	}
	// note records a change of field (under the problem path at gives)
	// taking effect at eff, recorded at rec, if it is back-dated; quiet
	// when it is reported with another (an end with the next start).
	note := func(at func() string, item ItemID, field func() string, eff, rec time.Time, quiet bool) {
		if rec.IsZero() || eff.IsZero() || !rec.After(after) || eff.After(after) {
			return
		}
		if !g.repairing || eff.Before(g.repairFrom) {
			g.repairing, g.repairFrom = true, eff
		}
		if len(g.billedSub) == 0 && !quiet {
			f := field()
			g.ps.Add(at()+"."+f, &BackdatedError{Subscription: g.s.ID, Item: item, Field: f,
				Effective: eff, Recorded: rec, After: after, Err: ErrBackdated})
		}
	}
	discounts := func(at func() string, item ItemID, owner *Item, ds []Discount) {
		for k := range ds {
			if d := &ds[k]; d.Recorded.After(after) {
				if w, ok := g.windowOf(d, owner); ok {
					eff := w.from
					if w.exact {
						eff = g.exactEffective(w, owner)
					}
					note(at, item, func() string { return ensemble.Path("discounts", k) + ".start" }, eff, d.Recorded, false)
				}
			}
		}
	}
	for j := range g.s.Items {
		it := &g.s.Items[j]
		at := func() string { return g.itemPath(j) }
		for k, sg := range it.Segments {
			if !sg.Recorded.After(after) && !sg.EndRecorded.After(after) {
				continue
			}
			f := func(end string) func() string { return func() string { return ensemble.Path("segments", k) + end } }
			note(at, it.ID, f(".start"), sg.Start, sg.Recorded, false)
			// An end recorded with the start of the next segment is one
			// change, reported once, at the start.
			next := k+1 < len(it.Segments) && it.Segments[k+1].Start.Equal(sg.End) && it.Segments[k+1].Recorded.Equal(sg.EndRecorded)
			note(at, it.ID, f(".end"), sg.End, sg.EndRecorded, next)
		}
		discounts(at, it.ID, it, it.Discounts)
		if !it.PartnerDiscount.IsZero() && len(it.Segments) > 0 {
			// The partner discount applies from the item's activation.
			note(at, it.ID, func() string { return "partner_discount_recorded" }, it.Segments[0].Start, it.PartnerDiscountRecorded, false)
		}
	}
	sub := func() string { return g.subPath() }
	for k, r := range g.s.Removed {
		note(sub, r.Item, func() string { return ensemble.Path("removed", k) + ".start" }, r.Start, r.Recorded, false)
	}
	note(sub, "", func() string { return "cancel_at" }, g.s.CancelAt, g.s.CancelRecorded, false)
	discounts(sub, "", nil, g.s.Discounts)
}

// validateRemoved reports what is wrong with the subscription's removals:
// an item ID malformed, a start or recorded instant missing.
func validateRemoved(ps *ensemble.Problems, at func() string, s *Subscription) {
	for k, r := range s.Removed {
		ra := func() string { return ensemble.Path(at(), "removed", k) }
		if err := validID(string(r.Item)); err != nil {
			ps.Add(ra()+".item", err)
		}
		if r.Start.IsZero() {
			ps.Add(ra()+".start", ErrRequired)
		}
		if r.Recorded.IsZero() {
			ps.Add(ra()+".recorded", ErrRequired)
		}
	}
}

// repairable reports whether lines of kind k are recomputed over the
// subscription's history when a run catches up a back-dated change: what
// the segments alone decide. Usage is billed from the aggregates given,
// and true-ups and prepaid commitments from state the host carries.
func repairable(k LineKind) bool {
	switch k {
	case KindOneTime, KindRecurring, KindProrationCredit, KindEarlyTermination:
		return true
	}
	return false
}

// touched reports whether line l may be changed by a back-dated change
// taking effect at repairFrom: its cycle ends after it, or, for a one-time
// fee (a cycle of one instant), is it or after it. The cycle, not the due
// instant, decides, since one line has one cycle as billed and as
// recomputed: an in-arrears line is due when its charge ends in the cycle,
// which a change can move (billed due February 1, recomputed due January
// 15 after a stop from January 15), and a line touched as billed but not as
// recomputed would be reversed for nothing.
func (g *gen) touched(l *Line) bool {
	c := l.Cycle
	return c.End.After(g.repairFrom) || (c.Start.Equal(c.End) && !c.End.Before(g.repairFrom))
}

// lineFamily is a line and the proration credits of it: as recomputed
// (ideal, an index of g.lines, and credits) and as billed and standing
// (billed, normally one line, and billedCredits).
type lineFamily struct {
	ideal         int
	credits       []int
	billed        []*Line
	billedCredits []*Line
}

// reconcile returns the lines of a run catching up a back-dated change,
// sorted by ID. Every line is recomputed from the subscription's history
// (g.lines, generated as one run up to At would generate them); the
// one-time, recurring, proration-credit and early-termination lines the
// change may have touched are reconciled with what earlier runs billed
// (billedSub), family by family (a line and its proration credits, keyed
// by the ID the line has in one run):
//
//   - a family billed as recomputed bills only its recomputed lines that
//     were not billed (a proration credit at a back-dated change);
//   - a family never billed (or reversed since) is billed as recomputed,
//     even when dated before After;
//   - a family billed otherwise (its line billed for another amount,
//     quantity, period or percentage discount, or no longer owed, or a
//     proration credit of it billed that is no longer owed) has its billed
//     line reversed (reversal: what is left of it once its proration
//     credits and credit notes are counted), and is billed anew as
//     recomputed.
//
// A line billed again takes a new ID when its own was issued before (the
// billed lines hold it, or a line billed anew for it): its
// ID followed by "/reissue/<run instant>", naming it in Reissues; proration
// credits credit the line of their family that stands. The other lines are
// kept when due in (After, At], as ever.
func (g *gen) reconcile() []Line {
	at := g.run.At
	issued := make(map[LineID]*Line, len(g.billedSub))
	reversed := map[LineID]bool{}
	stoodFor := map[LineID]bool{}     // IDs a line billed anew stands for
	creditsOf := map[LineID][]*Line{} // proration credits and credit notes of a billed line
	for _, l := range g.billedSub {
		issued[l.ID] = l
		stoodFor[l.Reissues] = true
		switch {
		case l.Kind == KindReversal:
			reversed[l.Credits] = true
		case l.Kind == KindCreditNote || givesBack(l):
			creditsOf[l.Credits] = append(creditsOf[l.Credits], l)
		}
	}
	key := func(l *Line) LineID {
		if l.Reissues != "" {
			return l.Reissues
		}
		return l.ID
	}
	fams := map[LineID]*lineFamily{}
	family := func(k LineID) *lineFamily {
		f, ok := fams[k]
		if !ok {
			f = &lineFamily{ideal: -1}
			fams[k] = f
		}
		return f
	}
	for _, l := range g.billedSub {
		if !repairable(l.Kind) || reversed[l.ID] || !g.touched(l) {
			continue
		}
		if !givesBack(l) {
			f := family(key(l))
			f.billed = append(f.billed, l)
			continue
		}
		root, ok := issued[l.Credits]
		if !ok {
			g.ps.Add(g.subPath(), &LineError{Line: l.Credits, Err: ErrInvalid, Value: fmt.Sprintf(
				"proration credit %q in the run's billed lines credits it, but the billed lines lack it: give every line earlier runs issued for the subscription, so a back-dated change is caught up against what was billed", l.ID)})
			continue
		}
		if reversed[root.ID] {
			continue // given back with the line when it was reversed
		}
		f := family(key(root))
		f.billedCredits = append(f.billedCredits, l)
	}
	var out []Line
	for i := range g.lines {
		l := &g.lines[i]
		if !repairable(l.Kind) || l.Date.After(at) || !g.touched(l) {
			if g.due(l.Date) {
				out = append(out, *l)
			}
			continue
		}
		if givesBack(l) {
			f := family(l.Credits)
			f.credits = append(f.credits, i)
			continue
		}
		family(l.ID).ideal = i
	}
	keys := make([]LineID, 0, len(fams))
	for k := range fams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	g.missing(keys, fams, issued, reversed, key)
	// bill appends recomputed line l, crediting root when it is a
	// proration credit, under a new ID if its own was issued before.
	bill := func(l *Line, root LineID) LineID {
		c := *l
		if givesBack(&c) && root != c.Credits {
			c.Refs = slices.Clone(c.Refs)
			for k := range c.Refs {
				if c.Refs[k].Kind == RefLine && c.Refs[k].ID == string(c.Credits) {
					c.Refs[k].ID = string(root)
				}
			}
			c.Credits = root
		}
		if _, was := issued[c.ID]; was || stoodFor[c.ID] {
			c.Reissues = c.ID
			c.ID = LineID(string(c.ID) + "/reissue/" + fmtTime(at))
			c.Refs = append(slices.Clip(c.Refs), ensemble.Ref{Kind: RefLine, ID: string(c.Reissues)})
		}
		out = append(out, c)
		return c.ID
	}
	for _, k := range keys {
		f := fams[k]
		billedAlike := len(f.billed) == 1 && f.ideal >= 0 && sameLine(f.billed[0], &g.lines[f.ideal])
		kept := make([]bool, len(f.credits))
		for _, bc := range f.billedCredits {
			if !billedAlike {
				break
			}
			found := false
			for n, i := range f.credits {
				if !kept[n] && g.lines[i].ID == key(bc) && sameLine(bc, &g.lines[i]) {
					kept[n], found = true, true
					break
				}
			}
			billedAlike = found
		}
		root := k
		if billedAlike {
			root = f.billed[0].ID
		} else {
			var gone []*Line
			for _, b := range f.billed {
				if r, ok := g.reversal(b, creditsOf[b.ID]); ok {
					out = append(out, r)
					gone = append(gone, b)
				}
			}
			if s, ok := g.reissued[k]; ok && f.ideal < 0 && len(f.billed) == 0 {
				// Only a credit of the line is recomputed (a fee's reversal
				// at a restart the change reaches, the fee before it left
				// alone): it credits the line that stands for it.
				root = s.ID
			}
			if f.ideal >= 0 {
				root = bill(&g.lines[f.ideal], "")
				if len(gone) > 0 {
					if g.reissuedFor == nil {
						g.reissuedFor = map[LineID][]*Line{}
					}
					g.reissuedFor[root] = gone
				}
			}
		}
		for n, i := range f.credits {
			if !billedAlike || !kept[n] {
				bill(&g.lines[i], root)
			}
		}
	}
	slices.SortFunc(out, func(a, b Line) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// missing reports, as *BilledIncompleteError values, the lines earlier
// runs issued that the run's billed lines lack, where the run can tell
// (see issuedBefore): a family whose recomputed line or proration credit
// was issued, with no line standing for it; and the reversal of a line
// the billed lines hold with a line billed anew for it (other than a
// proration credit or a fee's reversal, given back with the line it
// credits: givesBack), but not
// reversed (both would be reversed again). Reconciled without them, the family
// would be billed a second time.
func (g *gen) missing(keys []LineID, fams map[LineID]*lineFamily, issued map[LineID]*Line, reversed map[LineID]bool, key func(*Line) LineID) {
	report := func(item ItemID, id LineID, due time.Time) {
		g.ps.Add(g.subPath(), &BilledIncompleteError{Subscription: g.s.ID, Item: item, Line: id, Due: due, Effective: g.repairFrom, Err: ErrBilledIncomplete})
	}
	for _, l := range g.billedSub {
		// A proration credit (or a fee's reversal) billed anew stands for
		// one given back with the line it credited, which was reversed;
		// that line is checked.
		if x, ok := issued[l.Reissues]; ok && !givesBack(l) && !reversed[x.ID] && g.touched(x) {
			report(x.Item, x.ID+"/reversal", time.Time{})
		}
	}
	for _, k := range keys {
		f := fams[k]
		if f.ideal >= 0 && len(f.billed) == 0 && g.issuedBefore(&g.lines[f.ideal]) {
			report(g.lines[f.ideal].Item, k, g.lines[f.ideal].Date)
		}
		for _, i := range f.credits {
			c := &g.lines[i]
			if g.issuedBefore(c) && !slices.ContainsFunc(f.billedCredits, func(b *Line) bool { return key(b) == c.ID }) {
				report(c.Item, c.ID, c.Date)
			}
		}
	}
}

// issuedBefore reports whether recomputed line l was surely issued by an
// earlier run (as l, or as a line billed anew for it), all runs up to
// After having billed, or caught up, what was recorded by then. It was,
// when it fell due by After and:
//
//   - before repairFrom: nothing recorded after After reaches back so far,
//     so it was computed then as now;
//   - billed in advance, or a one-time fee, at the start of its service,
//     where the item's segment in force was recorded by After: the
//     segment was there then (a change recorded later could only end it
//     sooner), and so was the one before it, and with them the line;
//   - billed in arrears from such a segment, for a cycle over by After.
//
// Other lines may be new: a change recorded after After may have opened
// the segment they bill (whatever it replaced, the run cannot tell), or
// moved the instant they fall due at.
func (g *gen) issuedBefore(l *Line) bool {
	after := g.run.After
	switch {
	case l.Date.After(after):
		return false
	case l.Date.Before(g.repairFrom):
		return true
	case l.Kind != KindRecurring && l.Kind != KindOneTime:
		return false
	case !l.Date.Equal(l.Period.Start) && l.Cycle.End.After(after):
		return false // in arrears, for a cycle not over by After
	}
	for j := range g.s.Items {
		it := &g.s.Items[j]
		if it.ID != l.Item {
			continue
		}
		for _, sg := range it.Segments {
			if !l.Period.Start.Before(sg.Start) && (sg.End.IsZero() || l.Period.Start.Before(sg.End)) {
				return !sg.Recorded.After(after)
			}
		}
	}
	return false
}

// billedEarlier reports whether line l is one a run catching up a
// back-dated change bills for time earlier invoices billed: a line billed
// anew (Line.Reissues), or one no run billed that fell due by After. A
// fixed discount is not taken off it once more for this invoice (see
// catchUpDiscount).
func (g *gen) billedEarlier(l *Line) bool {
	if !g.repairing || l.Kind == KindReversal {
		return false
	}
	_, again := g.reissuedFor[l.ID]
	return again || l.Reissues != "" || !l.Date.After(g.run.After)
}

// catchUpDiscount takes fixed discount d (of item it, or the
// subscription's: nil) off the lines a run catching up a back-dated change
// bills for time earlier invoices billed (billedEarlier), once per cycle,
// never once more for this invoice:
//
//   - a line billed anew in place of billed lines it reverses takes what
//     they took of d, which their reversals give back, at most what is
//     left of it;
//   - then these lines and the others, billed late, take what is left of
//     d for the cycle of the subscription's cadence their service starts
//     in, after what the lines of that cycle that stand (billed and not
//     reversed, or billed anew) took of it, split in proportion to what is
//     left of them, as fixedDiscounts splits it.
//
// So a reissued March line keeps March's 5.00 off, which its reversal gave
// back, and a proration of February 20 billed late takes nothing of a 5.00
// that February's line took. It returns what each cycle's lines took of d
// so far (by the cycle's start), billed and standing or billed late: the
// lines of the run due after After take only what is left (fixedDiscounts).
func (g *gen) catchUpDiscount(lines []Line, d *Discount, it *Item) map[int64]ensemble.Money {
	if !g.repairing {
		return nil
	}
	w, ok := g.windowOf(d, it)
	if !ok {
		return nil
	}
	took := func(l *Line) ensemble.Money {
		m := ensemble.MoneyFromMinor(0, g.cur)
		for _, ad := range l.Discounts {
			if ad.ID == d.ID && ad.Percent.IsZero() {
				m = g.add(m, ad.Amount)
			}
		}
		return m
	}
	periods := map[int64]ensemble.Period{}
	cycle := func(t time.Time) (int64, bool) {
		c, ok := g.subCycle(t)
		if ok {
			periods[c.Start.UnixNano()] = c
		}
		return c.Start.UnixNano(), ok
	}
	take := func(l *Line, m ensemble.Money) {
		l.Discounts = append(l.Discounts, AppliedDiscount{ID: d.ID, Amount: m})
		l.Discount = g.add(l.Discount, m)
	}
	taken := map[int64]ensemble.Money{}
	gone := map[LineID]bool{}
	for i := range lines {
		if l := &lines[i]; l.Kind == KindReversal {
			gone[l.Credits] = true
		}
	}
	for _, b := range g.billedSub {
		if b.Kind == KindReversal {
			gone[b.Credits] = true
		}
	}
	for _, b := range g.billedSub {
		if m := took(b); !gone[b.ID] && !m.IsZero() && (it == nil || b.Item == it.ID) {
			if c, ok := cycle(b.Period.Start); ok {
				taken[c] = g.add(taken[c], m)
			}
		}
	}
	var late []int
	for i := range lines {
		l := &lines[i]
		if !g.billedEarlier(l) || !fixedApplies(d, it, w, l) {
			continue
		}
		left := g.sub(l.Amount, l.Discount)
		m := ensemble.MoneyFromMinor(0, g.cur)
		for _, b := range g.reissuedFor[l.ID] {
			m = g.add(m, took(b))
		}
		if g.cmp(m, left) > 0 {
			m = left
		}
		if m.IsPositive() {
			take(l, m)
			if c, ok := cycle(l.Period.Start); ok {
				taken[c] = g.add(taken[c], m)
			}
		}
		if g.sub(left, m).IsPositive() {
			late = append(late, i)
		}
	}
	// The lines billed late, cycle by cycle in order.
	byCycle := map[int64][]int{}
	var cycles []int64
	for _, i := range late {
		c, ok := cycle(lines[i].Period.Start)
		if !ok {
			return taken
		}
		if _, seen := byCycle[c]; !seen {
			cycles = append(cycles, c)
		}
		byCycle[c] = append(byCycle[c], i)
	}
	slices.Sort(cycles)
	for _, c := range cycles {
		room := g.sub(g.fixedFor(d, w, periods[c]), taken[c])
		if !room.IsPositive() {
			continue
		}
		idx := byCycle[c]
		shares := make([]ensemble.Share, len(idx))
		pool := ensemble.MoneyFromMinor(0, g.cur)
		for k, i := range idx {
			left := g.sub(lines[i].Amount, lines[i].Discount)
			shares[k] = ensemble.Share{Key: string(lines[i].ID), Weight: ensemble.RatioFromDecimal(left.Amount())}
			pool = g.add(pool, left)
		}
		if g.cmp(room, pool) > 0 {
			room = pool
		}
		parts, err := ensemble.Allocate(room, shares, ensemble.AllocateOptions{})
		if err != nil {
			g.ps.Add(g.subPath()+".discounts", err)
			return taken
		}
		for k, i := range idx {
			if parts[k].IsPositive() {
				take(&lines[i], parts[k])
				taken[c] = g.add(taken[c], parts[k])
			}
		}
	}
	return taken
}

// carriedCredits is a line a run catching up a back-dated change bills
// anew, as billed, and the credits carried to it (see carryCredits).
type carriedCredits struct {
	line    *Line
	credits []*Line
}

// carryCredits carries the credit notes of the lines a run catching up a
// back-dated change reverses (a goodwill or SLA credit, and credits
// carried to them by earlier runs) to the lines it bills anew in their
// place: the reversal gives back only what the notes left of a line, so
// without them the line billed anew would bill the credit back. Each note
// line becomes a KindCreditNote line of the invoice crediting the line
// billed anew (Credits), with the note's net and tax, bearer and incident,
// at most what is left of that line (split as a credit note splits what
// it credits), due at the run's instant; its ID is the line's followed by
// "/credit/<n>". So the customer pays, and the parties earn, net what one
// run over the span bills less the credit: 120.00 billed anew for a March
// billed 100.00 with 10.00 credited, 110.00. Proration credits of the
// line billed anew in the same run give back the unused part of what the
// carried credits leave (see creditedBefore). It runs after tax.
func (g *gen) carryCredits(inv *Invoice) {
	if len(g.reissuedFor) == 0 {
		return
	}
	notes := map[LineID][]*Line{}
	for _, l := range g.billedSub {
		if l.Kind == KindCreditNote {
			notes[l.Credits] = append(notes[l.Credits], l)
		}
	}
	x := &g.arith
	zero := ensemble.MoneyFromMinor(0, g.cur)
	n := len(inv.Lines)
	for i := range n {
		var ns []*Line
		for _, b := range g.reissuedFor[inv.Lines[i].ID] {
			ns = append(ns, notes[b.ID]...)
		}
		if len(ns) == 0 {
			continue
		}
		slices.SortFunc(ns, func(a, b *Line) int { return strings.Compare(string(a.ID), string(b.ID)) })
		line := inv.Lines[i].Clone()
		net, tax, total := line.Net, line.Tax, line.Total // what is left of it
		taxes := cloneTaxes(line.Taxes)
		c := carriedCredits{line: &line}
		for k, cn := range ns {
			if !total.IsPositive() || !net.IsPositive() && !tax.IsPositive() {
				break
			}
			cNet, cTax, cTotal := cn.Net.Neg(), cn.Tax.Neg(), cn.Total.Neg()
			if x.Cmp(cTotal, total) >= 0 {
				cNet, cTax, cTotal = net, tax, total
			} else if x.Cmp(cNet, net) > 0 || x.Cmp(cTax, tax) > 0 {
				cNet = net.MulRatio(quo(ensemble.RatioFromDecimal(cTotal.Amount()), ensemble.RatioFromDecimal(total.Amount())), g.mode)
				cTax = x.Sub(cTotal, cNet)
			}
			if !cTotal.IsPositive() {
				continue
			}
			var cTaxes []TaxAmount
			if len(taxes) > 0 {
				cTaxes = splitTax(x, cTax, taxes)
				taxes = addTaxes(x, taxes, negTaxes(cTaxes))
			}
			net, tax, total = x.Sub(net, cNet), x.Sub(tax, cTax), x.Sub(total, cTotal)
			amount := cNet
			if cn.TaxRule.Inclusive {
				amount = x.Add(cNet, cTax)
			}
			refs := append(slices.Clone(line.Refs), ensemble.Ref{Kind: RefLine, ID: string(line.ID)},
				ensemble.Ref{Kind: RefLine, ID: string(cn.ID)}, ensemble.Ref{Kind: RefInvoice, ID: string(inv.ID)})
			for _, r := range cn.Refs {
				if r.Kind == RefIncident {
					refs = append(refs, r)
				}
			}
			inv.Lines = append(inv.Lines, Line{
				ID:              LineID(fmt.Sprintf("%s/credit/%d", line.ID, k+1)),
				Kind:            KindCreditNote,
				Subscription:    line.Subscription,
				Item:            line.Item,
				Customer:        line.Customer,
				Date:            g.run.At,
				Description:     "Credit carried from " + string(cn.ID) + ", of the line billed anew: " + line.Description,
				Pin:             line.Pin,
				Charge:          line.Charge,
				Model:           line.Model,
				Cycle:           line.Cycle,
				Period:          line.Period,
				Quantity:        cn.Quantity,
				Full:            line.Full,
				Currency:        g.cur,
				Amount:          amount.Neg(),
				Discount:        zero,
				Net:             cNet.Neg(),
				Tax:             cTax.Neg(),
				TaxRule:         cn.TaxRule,
				Taxes:           negTaxes(cTaxes),
				Total:           cTotal.Neg(),
				Credits:         line.ID,
				Bearer:          cn.Bearer,
				CreditedInvoice: inv.ID,
				Refs:            refs,
			})
			cl := inv.Lines[len(inv.Lines)-1]
			c.credits = append(c.credits, &cl)
		}
		if len(c.credits) > 0 {
			if g.carried == nil {
				g.carried = map[LineID]carriedCredits{}
			}
			g.carried[line.ID] = c
		}
	}
	if len(inv.Lines) > n {
		slices.SortFunc(inv.Lines, func(a, b Line) int { return strings.Compare(string(a.ID), string(b.ID)) })
	}
}

// sameLine reports whether billed line b bills what recomputed line l
// does: the same kind, offer, charge, quantity, cycle, period, rating,
// amount and percentage discounts. (Fixed discounts are the invoice's, and
// a proration credit's part credited by credit notes its own: see
// creditedBefore.)
func sameLine(b, l *Line) bool {
	if b.Kind != l.Kind || b.Pin != l.Pin || b.Charge != l.Charge || !b.Quantity.Equal(l.Quantity) ||
		!b.Cycle.Equal(l.Cycle) || !b.Period.Equal(l.Period) || !b.Full.Equal(l.Full) || !b.Amount.Equal(l.Amount) {
		return false
	}
	pcts := func(ds []AppliedDiscount) []AppliedDiscount {
		var out []AppliedDiscount
		for _, d := range ds {
			if !d.Percent.IsZero() {
				out = append(out, d)
			}
		}
		return out
	}
	return slices.EqualFunc(pcts(b.Discounts), pcts(l.Discounts), func(x, y AppliedDiscount) bool {
		return x.ID == y.ID && x.Percent.Equal(y.Percent) && x.Amount.Equal(y.Amount)
	})
}

// reversal is the KindReversal line of billed line b, given the lines that
// credited it (its proration credits and credit notes): what is left of
// it, negated, due at the run's instant. It reports false, with the
// problem added, when the credits left less than nothing, or when a
// prepaid commitment covered part of b (a reversal gives back cash only).
func (g *gen) reversal(b *Line, credits []*Line) (Line, bool) {
	for _, l := range append([]*Line{b}, credits...) {
		var y ensemble.Arith
		if !l.Net.IsRounded() || !l.Tax.IsRounded() || l.Net.Currency() != g.cur || !l.Total.Equal(y.Add(l.Net, l.Tax)) {
			g.ps.Add(g.subPath(), &LineError{Line: l.ID, Err: ErrInvalid, Value: fmt.Sprintf(
				"a line of the run's billed lines does not reconcile in %s (net %s + tax %s, total %s): it cannot be reversed", g.cur, l.Net, l.Tax, l.Total)})
			return Line{}, false
		}
	}
	x := &g.arith
	net, tax := b.Net, b.Tax
	taxes := cloneTaxes(b.Taxes)
	for _, c := range credits {
		net, tax = x.Add(net, c.Net), x.Add(tax, c.Tax)
		taxes = addTaxes(x, taxes, c.Taxes)
	}
	total := x.Add(net, tax)
	switch {
	case b.Prepaid != nil && !b.Prepaid.Covered.IsZero():
		g.ps.Add(g.subPath(), &LineError{Line: b.ID, Err: ErrBackdated, Value: fmt.Sprintf(
			"a back-dated change alters it, but prepaid commitment %q covered %s of it, which a reversal cannot give back: credit it with a credit note (CreditRequest) and bill the change as a new line", b.Prepaid.Commitment, b.Prepaid.Covered)})
		return Line{}, false
	case total.IsNegative() || net.IsNegative() || tax.IsNegative():
		g.ps.Add(g.subPath(), &LineError{Line: b.ID, Err: ErrOverCredit, Value: fmt.Sprintf(
			"its credits in the run's billed lines leave %s (net %s, tax %s) of the %s it billed", total, net, tax, b.Total)})
		return Line{}, false
	}
	amount := net
	if b.TaxRule.Inclusive {
		amount = x.Add(net, tax)
	}
	refs := make([]ensemble.Ref, 0, len(b.Refs)+1)
	refs = append(append(refs, b.Refs...), ensemble.Ref{Kind: RefLine, ID: string(b.ID)})
	return Line{
		ID:           LineID(string(b.ID) + "/reversal"),
		Kind:         KindReversal,
		Subscription: b.Subscription,
		Item:         b.Item,
		Customer:     b.Customer,
		Date:         g.run.At,
		Description:  "Reversed, changed since billed: " + b.Description,
		Pin:          b.Pin,
		Charge:       b.Charge,
		Model:        b.Model,
		Cycle:        b.Cycle,
		Period:       b.Period,
		Quantity:     b.Quantity.Neg(),
		Full:         b.Full,
		Currency:     g.cur,
		Amount:       amount.Neg(),
		Discount:     ensemble.MoneyFromMinor(0, g.cur),
		Net:          net.Neg(),
		Tax:          tax.Neg(),
		TaxRule:      b.TaxRule,
		Taxes:        negTaxes(splitTax(x, tax, taxes)),
		Total:        total.Neg(),
		Credits:      b.ID,
		Refs:         refs,
	}, true
}

// usageCaughtUp reports whether a run catching up a back-dated change bills
// the usage line of usage period pd of item it (charge ch), due at end by
// After: the item's service in pd was recorded after After (the first
// segment overlapping pd), so no earlier run knew the period's usage was
// due, and Run.Billed holds no line of pd's usage of the meter (at any
// charge: a segment the change replaced may have priced it). The line is
// then dated at the run, as a stretch's spend share revealed by such a
// change is (spendTopUp).
func (g *gen) usageCaughtUp(it *Item, segs []Segment, ch *chargeInfo, pd ensemble.Period, end time.Time) bool {
	if !g.repairing || g.due(end) || end.After(g.run.At) {
		return false
	}
	for _, sg := range segs {
		if sg.Start.Before(pd.End) && (sg.End.IsZero() || sg.End.After(pd.Start)) {
			if !sg.Recorded.After(g.run.After) {
				return false
			}
			break
		}
	}
	for _, l := range g.billedSub {
		if l.Item == it.ID && l.Usage != nil && string(l.Usage.Meter) == ch.meter && l.Cycle.Equal(pd) {
			return false // billed, at this charge or another
		}
	}
	return true
}
