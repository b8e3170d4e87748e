package usage

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// WeightedScale is the number of digits after the point a WeightedAverage
// aggregate is rounded to, once, half away from zero: ∫ level dt is
// exact (each level times its duration in integer nanoseconds) and so is
// the period's length, so the one rounding is the division. An average
// that is exact in fewer digits (100 for a reading of 100 all month) is
// exact; (100×10 + 200×21)/31 is 167.741935483871.
const WeightedScale = 12

// Level is one step of a WeightedAverage aggregate's level: from At the
// level is Quantity, until the next Level. Record is the reading that set
// it.
type Level struct {
	At       time.Time       `json:"at"` // UTC
	Quantity decimal.Decimal `json:"quantity"`
	Record   RecordID        `json:"record"`
	// Carried marks the level before the period's first reading: the
	// latest reading of the same line and meter in an earlier period,
	// that the aggregator accepted or that an aggregate of Config.Billed
	// holds (At is that reading's instant, before the period; it counts
	// from the period's start). With none, the level before the first
	// reading is zero, and no Level is carried: nothing was metered yet (a
	// line that starts inside the period averages its readings over the
	// whole period, which prorates it). A period with no reading at all
	// holds its carried level alone (see Report.Aggregates).
	Carried bool `json:"carried,omitempty"`
}

// ErrBadLevels reports a WeightedAverage aggregate whose Levels cannot
// give its value: a reading outside the period (or the years 1678-2262),
// a carried level at or after its start, or a quantity of more than
// ensemble.MaxAmountDigits digits.
var ErrBadLevels = errors.New("usage: bad levels of a weighted average")

// compareLevels orders levels by instant, then record id: of levels at
// one instant, the last in this order holds.
func compareLevels(x, y Level) int {
	if c := x.At.Compare(y.At); c != 0 {
		return c
	}
	return strings.Compare(string(x.Record), string(y.Record))
}

// weightedValue returns ∫ level dt over period / the length of cycle
// (period itself when cycle is zero: see Aggregate.Cycle), for levels
// sorted by compareLevels, rounded once to WeightedScale digits. The level
// is zero before the first level and within the inactive stretches;
// carried levels count from the period's start. With hours
// (Meter.LevelHours) it returns ∫ level dt in hours instead, whatever the
// cycle.
func weightedValue(period, cycle ensemble.Period, levels []Level, inactive []ensemble.Period, hours bool) (decimal.Decimal, error) {
	start, end := period.Start, period.End
	s, e := start.UnixNano(), end.UnixNano()
	if e <= s {
		return decimal.Decimal{}, fmt.Errorf("%w: empty period [%s, %s)", ErrBadLevels, start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
	}
	base := e - s
	if cycle != (ensemble.Period{}) {
		if cycle.Start.Unix() < minUnixSec || cycle.End.Unix() > maxUnixSec || cycle.Start.After(start) || cycle.End.Before(end) {
			return decimal.Decimal{}, fmt.Errorf("%w: period %s is not within its cycle %s", ErrBadLevels, period, cycle)
		}
		base = cycle.End.UnixNano() - cycle.Start.UnixNano()
	}
	if hours {
		base = int64(time.Hour)
	}
	integral := decimal.Zero
	for i, l := range levels {
		if !numOf(l.Quantity).readable() {
			return decimal.Decimal{}, fmt.Errorf("%w: level of record %q: quantity of more than %d digits", ErrBadLevels, l.Record, ensemble.MaxAmountDigits)
		}
		at := l.At.UnixNano()
		if sec := l.At.Unix(); sec < minUnixSec || sec > maxUnixSec || l.Carried != (at < s) || at >= e {
			return decimal.Decimal{}, fmt.Errorf("%w: level of record %q at %s (carried %t) in period [%s, %s)", ErrBadLevels,
				l.Record, l.At.UTC().Format(time.RFC3339Nano), l.Carried, start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
		}
		from, to := max(at, s), e
		if i+1 < len(levels) {
			to = max(levels[i+1].At.UnixNano(), s)
		}
		if d := to - from - overlap(from, to, inactive); d > 0 {
			integral = integral.Add(l.Quantity.Mul(decimal.NewFromInt(d)))
		}
	}
	return canonicalDecimal(integral.DivRound(decimal.NewFromInt(base), WeightedScale)), nil
}

// overlap returns the nanoseconds of [from, to) within the stretches,
// which do not overlap one another.
func overlap(from, to int64, stretches []ensemble.Period) int64 {
	var n int64
	for _, p := range stretches {
		if a, b := max(from, p.Start.UnixNano()), min(to, p.End.UnixNano()); b > a {
			n += b - a
		}
	}
	return n
}

// gapsOf returns the stretches of [s, e) outside the merged, sorted
// active segments, in UTC.
func gapsOf(s, e int64, active [][2]int64) []ensemble.Period {
	var out []ensemble.Period
	at := s
	for _, seg := range active {
		if seg[1] <= at || seg[0] >= e {
			continue
		}
		if seg[0] > at {
			out = append(out, ensemble.Period{Start: time.Unix(0, at).UTC(), End: time.Unix(0, seg[0]).UTC()})
		}
		at = max(at, seg[1])
	}
	if at < e {
		out = append(out, ensemble.Period{Start: time.Unix(0, at).UTC(), End: time.Unix(0, e).UTC()})
	}
	return out
}

// mergeStretches returns the union of two lists of stretches, sorted and
// merged.
func mergeStretches(a, b []ensemble.Period) []ensemble.Period {
	if len(a)+len(b) == 0 {
		return nil
	}
	all := make([][2]int64, 0, len(a)+len(b))
	for _, p := range append(slices.Clone(a), b...) {
		if p.End.After(p.Start) {
			all = append(all, [2]int64{p.Start.UnixNano(), p.End.UnixNano()})
		}
	}
	slices.SortFunc(all, func(x, y [2]int64) int { return cmp.Compare(x[0], y[0]) })
	var out []ensemble.Period
	for _, x := range all {
		if n := len(out); n > 0 && x[0] <= out[n-1].End.UnixNano() {
			if x[1] > out[n-1].End.UnixNano() {
				out[n-1].End = time.Unix(0, x[1]).UTC()
			}
			continue
		}
		out = append(out, ensemble.Period{Start: time.Unix(0, x[0]).UTC(), End: time.Unix(0, x[1]).UTC()})
	}
	return out
}

// mergeViews returns the Inactive stretches and the Through of the merge
// of two WeightedAverage aggregates of one period: those of the one seen
// through the later instant, which saw the line's activity further (an
// earlier run inside the period saw it stop at the run); the union of
// both when they were seen through the same instant or either has no
// Through.
func mergeViews(g, o Aggregate) ([]ensemble.Period, time.Time) {
	switch {
	case g.Through.IsZero() || o.Through.IsZero():
		t := g.Through
		if o.Through.After(t) {
			t = o.Through
		}
		return mergeStretches(g.Inactive, o.Inactive), t
	case g.Through.Before(o.Through):
		return mergeStretches(nil, o.Inactive), o.Through
	case o.Through.Before(g.Through):
		return mergeStretches(nil, g.Inactive), g.Through
	}
	return mergeStretches(g.Inactive, o.Inactive), g.Through
}

// mergeLevels returns the levels of a and b together, sorted, with one
// carried level at most (the later).
func mergeLevels(a, b []Level) []Level {
	out := make([]Level, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.SortFunc(out, compareLevels)
	out = slices.CompactFunc(out, func(x, y Level) bool { return compareLevels(x, y) == 0 })
	last := -1
	for i, l := range out {
		if l.Carried {
			last = i
		}
	}
	if last > 0 {
		out = out[last:] // carried levels sort first: keep the latest
	}
	return out
}

// weighted fills the Levels and Value of the WeightedAverage aggregates
// among gs (sorted by line, meter and period start): each from its slot's
// accepted readings (none for a carried period, slot -1) and, before the
// first, the latest of the last level of the nearest earlier aggregate of
// the same line and meter and the last levels Config.Billed holds of
// earlier periods. It returns, per aggregate, whether to leave it out: a
// carried period (see withCarried) with no level to carry, or a closed one
// whose carried level is the one it was billed with (no reading of this
// run is later than what Config.Billed carries into it).
func (a *Aggregator) weighted(gs []*Aggregate, slots []int32) []bool {
	a.indexMembers()
	drop := make([]bool, len(gs))
	var prev *Aggregate
	for i, g := range gs {
		levels := []Level{}
		if slots[i] >= 0 {
			for _, ei := range a.members[slots[i]] {
				e := a.entry(ei)
				if e.state&^stBigQty != stAccepted {
					continue // withdrawn by a conflict
				}
				levels = append(levels, Level{At: time.Unix(0, e.ns).UTC(), Quantity: a.numOf(e).decimal(), Record: RecordID(a.idOf(ei))})
			}
		}
		slices.SortFunc(levels, compareLevels)
		var run, billed *Level
		if prev != nil && prev.Line == g.Line && prev.Meter == g.Meter && len(prev.Levels) > 0 {
			run = &prev.Levels[len(prev.Levels)-1]
		}
		start := g.Period.Start.UnixNano()
		for _, c := range a.carry[carryKey{g.Line, g.Meter}] {
			if c.end <= start && (billed == nil || compareLevels(c.level, *billed) > 0) {
				billed = &c.level
			}
		}
		open := run
		if open == nil || billed != nil && compareLevels(*billed, *open) >= 0 {
			open = billed
		}
		if slots[i] < 0 && !a.reopened[reopenKey{g.Line, g.Meter, start}] && (open == nil || g.Late && open != run) {
			drop[i] = true
			continue
		}
		if open != nil {
			c := *open
			c.Carried = true
			levels = append([]Level{c}, levels...)
		}
		g.Levels = levels
		l := &a.lines[a.lineOf(g.Line)]
		g.Inactive = gapsOf(g.Period.Start.UnixNano(), g.Period.End.UnixNano(), l.active)
		if v := l.view(); v > 0 {
			g.Through = time.Unix(0, v).UTC()
		}
		g.Value, _ = weightedValue(g.Period, g.Cycle, levels, g.Inactive, g.LevelHours) // levels lie in the period, the period in its cycle
		prev = g
	}
	return drop
}

// withCarried adds to all (the report's aggregates, sorted by line, meter
// and period start, with wslots the slots of its WeightedAverage ones in
// order) an aggregate of no records for every billing period of a line
// and WeightedAverage meter that has none, that the line is active in
// some of, that starts at or after the end of a period holding a level
// of the same line and meter (an aggregate of this run, or one of
// Config.Billed), and that is billed (at its end, or where the line's
// activity in it stops) by the end of the line's last active segment and
// by Config.Through: the level carried into it holds through it. An open period's is an
// aggregate; a closed period's (already billed) an adjustment, which
// weighted keeps only when a reading of this run changes the level
// carried into it. It returns all and wslots with them, sorted, the slot
// of an added aggregate being -1.
func (a *Aggregator) withCarried(all []Aggregate, wslots []int32) ([]Aggregate, []int32) {
	type key struct{ line, meter int32 }
	type span struct {
		from   int64 // the earliest end of a period holding a level
		run    bool  // whether this run holds one
		starts map[int64]bool
		reopen []openBilled // open periods of Config.Billed seen through an earlier instant
	}
	spans := map[key]*span{}
	get := func(k key) *span {
		sp := spans[k]
		if sp == nil {
			sp = &span{from: math.MaxInt64, starts: map[int64]bool{}}
			spans[k] = sp
		}
		return sp
	}
	for _, g := range all {
		if g.Aggregation != WeightedAverage {
			continue
		}
		sp := get(key{a.lineIdx[g.Line], a.meterIdx[g.Meter]})
		sp.from = min(sp.from, g.Period.End.UnixNano())
		sp.run = true
		sp.starts[g.Period.Start.UnixNano()] = true
	}
	for k, cs := range a.carry {
		li, ok := a.lineIdx[k.line]
		if !ok {
			continue
		}
		sp := get(key{li, a.meterIdx[k.meter]})
		for _, c := range cs {
			sp.from = min(sp.from, c.end)
		}
	}
	for k, os := range a.open {
		li, ok := a.lineIdx[k.line]
		if !ok {
			continue
		}
		get(key{li, a.meterIdx[k.meter]}).reopen = os
	}
	keys := make([]key, 0, len(spans))
	for k := range spans {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y key) int {
		return cmp.Or(cmp.Compare(a.lineRank[x.line], a.lineRank[y.line]), cmp.Compare(a.meterRank[x.meter], a.meterRank[y.meter]))
	})
	var added []Aggregate
	for _, k := range keys {
		sp, l, m := spans[k], &a.lines[k.line], &a.meters[k.meter]
		// A period an earlier run reported open, seen through an instant
		// before this run's: reported again (an aggregate of no records
		// when it has no reading here) so that merging the two takes this
		// run's view of the line's activity (Aggregate.Through).
		view := l.view()
		for _, o := range sp.reopen {
			if sp.starts[o.start] || o.through >= view || l.billedAt(o.start, o.end) <= l.closed || o.end <= a.horizon {
				continue
			}
			sp.starts[o.start] = true
			p := ensemble.Period{Start: time.Unix(0, o.start).UTC(), End: time.Unix(0, o.end).UTC()}
			if a.reopened == nil {
				a.reopened = map[reopenKey]bool{}
			}
			a.reopened[reopenKey{l.ref, m.ID, o.start}] = true
			added = append(added, Aggregate{Line: l.ref, Meter: m.ID, Unit: m.Unit, Aggregation: m.Aggregation, Period: p, Cycle: l.cycleOf(p), LevelHours: m.LevelHours})
		}
		if len(l.active) == 0 || sp.from == math.MaxInt64 {
			continue
		}
		from, to := max(sp.from, l.active[0][0]), min(l.active[len(l.active)-1][1], l.through)
		if !sp.run {
			from = max(from, l.closed) // only open periods can change
		}
		l.eachPeriod(from, to, func(p ensemble.Period, s, e int64) {
			billed := l.billedAt(s, e)
			if sp.starts[s] || e <= a.horizon || billed > l.through || !l.activeIn(s, e) {
				return
			}
			added = append(added, Aggregate{Line: l.ref, Meter: m.ID, Unit: m.Unit, Aggregation: m.Aggregation,
				Period: p, Cycle: l.cycleOf(p), Late: billed <= l.closed, LevelHours: m.LevelHours})
		})
	}
	if len(added) == 0 {
		return all, wslots
	}
	type item struct {
		g    Aggregate
		slot int32
	}
	items := make([]item, 0, len(all)+len(added))
	w := 0
	for _, g := range all {
		it := item{g: g, slot: -1}
		if g.Aggregation == WeightedAverage {
			it.slot = wslots[w]
			w++
		}
		items = append(items, it)
	}
	for _, g := range added {
		items = append(items, item{g: g, slot: -1})
	}
	slices.SortStableFunc(items, func(x, y item) int {
		return cmp.Or(cmp.Compare(a.lineRank[a.lineIdx[x.g.Line]], a.lineRank[a.lineIdx[y.g.Line]]),
			cmp.Compare(a.meterRank[a.meterIdx[x.g.Meter]], a.meterRank[a.meterIdx[y.g.Meter]]),
			x.g.Period.Start.Compare(y.g.Period.Start))
	})
	all, wslots = make([]Aggregate, 0, len(items)), make([]int32, 0, len(wslots)+len(added))
	for _, it := range items {
		all = append(all, it.g)
		if it.g.Aggregation == WeightedAverage {
			wslots = append(wslots, it.slot)
		}
	}
	return all, wslots
}

// cycleOf returns the cycle of Line.Cycles that period p is a piece of,
// or the zero Period when p is a cycle itself or lies in none.
func (l *lineState) cycleOf(p ensemble.Period) ensemble.Period {
	// The last cycle starting at or before p is the only candidate.
	i, _ := slices.BinarySearchFunc(l.cycles, p.Start, func(c ensemble.Period, t time.Time) int {
		if c.Start.After(t) {
			return 1
		}
		return -1
	})
	if i > 0 {
		if c := l.cycles[i-1]; !c.End.Before(p.End) && !c.Equal(p) {
			return c
		}
	}
	return ensemble.Period{}
}

// activeIn reports whether the line is active at some instant of
// [s, e).
func (l *lineState) activeIn(s, e int64) bool {
	for _, seg := range l.active {
		if seg[0] < e && seg[1] > s {
			return true
		}
	}
	return false
}

// eachPeriod calls f with each billing period of the line that ends after
// from and starts before to, in order, with its bounds in Unix
// nanoseconds.
func (l *lineState) eachPeriod(from, to int64, f func(p ensemble.Period, s, e int64)) {
	if from >= to {
		return
	}
	if l.listed != nil {
		for _, p := range l.listed {
			if s, e := nanos(p.Start), nanos(p.End); e > from && s < to {
				f(p, s, e)
			}
		}
		return
	}
	for t := from; t < to; {
		p, _, err := l.cadence.PeriodAt(l.anchor, time.Unix(0, t).UTC(), l.loc)
		if err != nil {
			return
		}
		p = ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}
		s, e := nanos(p.Start), nanos(p.End)
		if e <= t {
			return
		}
		if s < to {
			f(p, s, e)
		}
		t = e
	}
}

type carryKey struct {
	line  LineRef
	meter MeterID
}

// reopenKey names a period of a line and meter that withCarried reports
// again for an earlier run's open aggregate (Config.Billed).
type reopenKey struct {
	line  LineRef
	meter MeterID
	start int64
}

// openBilled is a WeightedAverage aggregate of Config.Billed seen through
// an instant before its period's end: a period an earlier run reported
// while it was open.
type openBilled struct {
	start, end, through int64 // Unix nanoseconds
}

// openOf indexes the WeightedAverage aggregates of billed, of a
// WeightedAverage meter of meters, whose Through is before their period's
// end.
func openOf(billed []Aggregate, meters []Meter) map[carryKey][]openBilled {
	var out map[carryKey][]openBilled
	for _, g := range billed {
		if g.Aggregation != WeightedAverage || g.Through.IsZero() || !g.Through.Before(g.Period.End) || !slices.ContainsFunc(meters, func(m Meter) bool {
			return m.ID == g.Meter && m.Aggregation == WeightedAverage
		}) {
			continue
		}
		if out == nil {
			out = map[carryKey][]openBilled{}
		}
		k := carryKey{g.Line, g.Meter}
		out[k] = append(out[k], openBilled{start: g.Period.Start.UnixNano(), end: g.Period.End.UnixNano(), through: g.Through.UnixNano()})
	}
	return out
}

// view returns the instant the run sees the line through (see
// Aggregate.Through): Config.Through, or with none the end of its last
// active segment; 0 for a line with no segment and no Through.
func (l *lineState) view() int64 {
	if l.through != math.MaxInt64 {
		return l.through
	}
	if len(l.active) == 0 {
		return 0
	}
	return l.active[len(l.active)-1][1]
}

type carried struct {
	end   int64 // the end of the aggregate's period, Unix nanoseconds
	level Level // its last level
}

// carryOf indexes the last level of each WeightedAverage aggregate of
// billed whose meter is a WeightedAverage meter of meters.
func carryOf(billed []Aggregate, meters []Meter) map[carryKey][]carried {
	var out map[carryKey][]carried
	for _, g := range billed {
		if g.Aggregation != WeightedAverage || len(g.Levels) == 0 || !slices.ContainsFunc(meters, func(m Meter) bool {
			return m.ID == g.Meter && m.Aggregation == WeightedAverage
		}) {
			continue
		}
		if out == nil {
			out = map[carryKey][]carried{}
		}
		k := carryKey{g.Line, g.Meter}
		l := g.Levels[len(g.Levels)-1]
		l.At = l.At.UTC()
		out[k] = append(out[k], carried{end: g.Period.End.UnixNano(), level: l})
	}
	return out
}

// recarry carries, in merged reports, the last level of each
// WeightedAverage aggregate into the next aggregate of the same line and
// meter (over aggs and adjs together) when it is later than the level that
// aggregate carries, and recomputes its value: what one aggregator over
// every shard's records would have carried.
func recarry(aggs, adjs []Aggregate) error {
	var gs []*Aggregate
	for _, list := range [][]Aggregate{aggs, adjs} {
		for i := range list {
			if list[i].Aggregation == WeightedAverage {
				gs = append(gs, &list[i])
			}
		}
	}
	slices.SortStableFunc(gs, func(x, y *Aggregate) int { return compareAggregates(*x, *y) })
	for i := 1; i < len(gs); i++ {
		prev, g := gs[i-1], gs[i]
		if prev.Line != g.Line || prev.Meter != g.Meter || len(prev.Levels) == 0 || prev.Period.End.After(g.Period.Start) {
			continue
		}
		c := prev.Levels[len(prev.Levels)-1]
		c.Carried = true
		if len(g.Levels) > 0 && g.Levels[0].Carried && compareLevels(g.Levels[0], c) >= 0 {
			continue
		}
		g.Levels = mergeLevels([]Level{c}, g.Levels)
		v, err := weightedValue(g.Period, g.Cycle, g.Levels, g.Inactive, g.LevelHours)
		if err != nil {
			return fmt.Errorf("usage: merge reports: %s: %w", g.Ref(), err)
		}
		g.Value = v
	}
	return nil
}
