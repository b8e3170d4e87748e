package invoice

import (
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/usage"
)

// spendTopUps bills, for every usage period of stream st's charge that
// prorates its spend bounds by service (catalog.SpendService), the share of
// the minimum and maximum spend each later stretch of service in it owes
// (laterStretches: the item restarted inside the period after a stop),
// when the stretch's share is due in the run: one KindUsageAdjustment line
// per stretch, rate(u, share with it) - rate(u, share before it), u the
// period's usage as billed before this run's late usage (spendTopUpUsage).
// The period's usage line bills the first stretch's share at the first
// stop, and late usage re-rates at the share of the stretches due by the
// run (spendShareAt), so the lines of the period add up to rate(all its
// usage, its whole service), however the runs are split.
func (g *gen) spendTopUps(it *Item, st *stream, segs []Segment, aggs []usage.Aggregate, late []LateUsage, progs []ProgressiveUsage, at int) {
	if st.pieces[0].ch.spend != catalog.SpendService {
		return
	}
	g.usagePeriods(st, at, func(meter usage.MeterID, pd ensemble.Period, cad ensemble.Cadence) {
		g.spendTopUpsOf(it, st, segs, aggs, late, progs, meter, pd, cad, at)
	})
}

// spendTopUpsOf bills the shares of usage period pd's later stretches due
// in the run, when stream st's charge bills pd, each from the share billed
// before it: the period's first stretch's and the later stretches' earlier
// runs billed. A run catching up a back-dated change (see Run.Billed) also
// bills, dated at the run, the share of a stretch due by Run.After whose
// restart was recorded after it: no earlier run knew the stretch.
func (g *gen) spendTopUpsOf(it *Item, st *stream, segs []Segment, aggs []usage.Aggregate, late []LateUsage, progs []ProgressiveUsage, m usage.MeterID, pd ensemble.Period, cad ensemble.Cadence, at int) {
	pd = ensemble.Period{Start: pd.Start.UTC(), End: pd.End.UTC()}
	ch, firstEnd, disc, fallback := g.pieceCharge(segs, m, pd)
	if ch == nil || fallback || ch.key != st.key {
		return
	}
	later := g.laterStretches(ch, segs, m, pd, firstEnd)
	// The stretches earlier runs billed (due by After, and known then: a
	// share that rounds to nothing more leaves no line) and those this
	// run bills: due in it, or, catching up a back-dated change, due by
	// After but restarted by a change recorded after it.
	var billed, now []stretch
	for _, sr := range later {
		switch {
		case g.due(sr.due):
			now = append(now, sr)
		case sr.due.After(g.run.At):
		case !g.repairing || !sr.known.After(g.run.After):
			billed = append(billed, sr)
		default:
			now = append(now, sr)
		}
	}
	if len(now) == 0 {
		return
	}
	base, err := g.spendShare(cad, segs, m, pd)
	if err != nil {
		g.ps.Add(g.itemPath(at), err)
		return
	}
	u, ok := g.spendTopUpUsage(it, segs, ch, aggs, late, progs, m, pd, firstEnd, base, at)
	if !ok {
		return
	}
	svc := usageService(segs, pd, firstEnd)
	ps := g.pcts(it, ch.offer.pin.Offer, ch.id, svc.Start, disc)
	for _, sr := range now {
		from, err := g.spendSharePlus(cad, pd, base, billed)
		if err != nil {
			g.ps.Add(g.itemPath(at), err)
			return
		}
		billed = append(billed, sr)
		to, err := g.spendSharePlus(cad, pd, base, billed)
		if err != nil {
			g.ps.Add(g.itemPath(at), err)
			return
		}
		if !g.spendTopUp(it, ch, u, pd, sr, from, to, ps, at) {
			return
		}
	}
}

// spendTopUp bills stretch s's share of usage period pd's spend bounds:
// u rated at share to less u rated at share from. It reports false when
// rating failed (the problem is recorded).
func (g *gen) spendTopUp(it *Item, ch *chargeInfo, u usage.Aggregate, pd ensemble.Period, s stretch, from, to ensemble.Ratio, ps []pct, at int) bool {
	before := catalog.RateOptions{Rounding: g.b.opts.Rating, Mode: g.mode, SpendShare: from}
	after := catalog.RateOptions{Rounding: g.b.opts.Rating, Mode: g.mode, SpendShare: to}
	d, err := ch.rater.RateDelta(u.Value, u.Value, before, after)
	if err != nil {
		g.ps.Add(g.itemPath(at), err)
		return false
	}
	afterAmt, beforeAmt := d.Cumulative.Amount.Round(g.mode), d.Billed.Amount.Round(g.mode)
	if afterAmt.Equal(beforeAmt) {
		return true // usage above the bounds either way: nothing owed
	}
	usageID := g.lineID(it, pd.Start, ch, KindUsage, time.Time{})
	l := g.newLine(it, KindUsageAdjustment, ch, ch.offer.pin, u.Value)
	l.ID = g.lineID(it, pd.Start, ch, KindUsageAdjustment, s.restart)
	l.Description = "Service from " + s.svc.Start.Format(time.DateOnly) + " (spend proration: service): " + l.Description
	l.Date = s.due
	if !g.due(s.due) {
		l.Date = g.run.At // caught up: a back-dated restart revealed the stretch
	}
	l.Full = d.Amount
	l.Tiers = d.Cumulative.Lines
	l.Amount = g.sub(afterAmt, beforeAmt)
	if l.Amount.IsNegative() {
		l.Credits = usageID
	}
	l.Usage = &UsageTrace{Meter: u.Meter, Period: pd, Records: u.Records, Digest: u.Digest, Ref: u.Ref(), Billed: u.Value,
		SpendShare: to, SpendShareBilled: from, SpendProration: ch.spend}
	l.Cycle, l.Period = pd, s.svc
	l.Refs = append(l.Refs, l.Usage.Ref, ensemble.Ref{Kind: RefLine, ID: string(usageID)})
	g.deltaDiscount(l, afterAmt, beforeAmt, ps, s.svc)
	return true
}

// spendTopUpUsage returns the usage of period pd as billed before the
// run's late usage, which a stretch's share is rated with: the aggregate
// of pd in the run (its usage line billed now, from Run.Usage or
// Run.Progressive), the billed side of its late usage (Run.Late), zero when
// its usage line is billed idle in the run, else what the usage line and
// late adjustments of pd in Run.Billed billed last (the most records), or
// the aggregate given for a minimum commitment (Run.Usage, as its usage
// line billed it) when Run.Billed holds no more records.
// With none of these, it records a *UsageError wrapping
// ErrBilledIncomplete and reports false, unless Run.Billed holds lines of
// the subscription and zero usage rated at share base rounds to nothing
// (an idle period's line is then left out, so none is expected).
func (g *gen) spendTopUpUsage(it *Item, segs []Segment, ch *chargeInfo, aggs []usage.Aggregate, late []LateUsage, progs []ProgressiveUsage, m usage.MeterID, pd ensemble.Period, firstEnd time.Time, base ensemble.Ratio, at int) (usage.Aggregate, bool) {
	for k := range late {
		if b := &late[k].Billed; b.Meter == m && b.Period.Start.Equal(pd.Start) {
			return *b, true
		}
	}
	// An aggregate given for a minimum commitment only (its usage line
	// billed earlier) is the usage as that line billed it: late usage
	// billed since, in Run.Billed, holds more records.
	var context *usage.Aggregate
	for k := range aggs {
		if aggs[k].Meter == m && aggs[k].Period.Start.Equal(pd.Start) {
			if g.due(firstEnd) {
				return aggs[k], true
			}
			context = &aggs[k]
		}
	}
	for k := range progs {
		if u := &progs[k].Usage; u.Meter == m && u.Period.Start.Equal(pd.Start) {
			return *u, true
		}
	}
	idle := usage.Aggregate{Line: usageRef(g.s, it), Meter: m, Period: pd}
	if context == nil && (g.due(firstEnd) || g.usageCaughtUp(it, segs, ch, pd, firstEnd)) {
		return idle, true
	}
	usageID := g.lineID(it, pd.Start, ch, KindUsage, time.Time{})
	var found *Line
	for _, l := range g.billedSub {
		if l.Item != it.ID || l.Usage == nil || !l.Cycle.Equal(pd) || l.Usage.Meter != m ||
			(l.ID != usageID && l.Kind != KindUsageAdjustment) {
			continue
		}
		if found == nil || l.Usage.Records > found.Usage.Records {
			found = l
		}
	}
	if context != nil && (found == nil || found.Usage.Records <= context.Records) {
		return *context, true
	}
	if found != nil {
		idle.Value, idle.Records, idle.Digest = found.Quantity, found.Usage.Records, found.Usage.Digest
		return idle, true
	}
	if len(g.billedSub) > 0 {
		r, err := ch.rater.Rate(idle.Value, catalog.RateOptions{Rounding: g.b.opts.Rating, Mode: g.mode, SpendShare: base})
		if err == nil && r.Amount.Round(g.mode).IsZero() {
			return idle, true
		}
	}
	g.ps.Add(g.itemPath(at), &UsageError{Line: idle.Line, Meter: m, Period: pd, Due: firstEnd, Err: ErrBilledIncomplete,
		Detail: "the item restarted in the period after its usage was billed at " + fmtRFC(firstEnd) +
			", and the service since owes its share of the minimum and maximum spend (spend proration: service), rated with the usage billed: pass the period's usage line and late adjustments in Run.Billed"})
	return usage.Aggregate{}, false
}
