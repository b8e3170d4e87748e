package invoice

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/usage"
)

// LateUsageFrom pairs late usage with what was billed, for Run.Late: each
// adjustment (an aggregate of usage.Report.Adjustments: the records that
// arrived for a period already closed) with the aggregate billed for the
// same line, meter and period.
//
// billed is what earlier runs billed, in any order: the aggregates given in
// their Run.Usage and the Late aggregates of their Run.Late (what an earlier
// LateUsageFrom returned). The aggregates of one line, meter and period
// there hold different records (the usage ledger bills a record once), and
// are merged (usage.Aggregate.Merge) into what was billed of the period,
// so a period adjusted twice is billed the second time against the first
// adjustment too. Builder.BilledUsage returns exactly this for a run,
// including, for a period billed with no usage at all (an idle period), an
// aggregate of its line, meter, aggregation and period with no records and
// a zero value: give one for such a period when keeping billed another way.
// Every aggregate given counts: the same one given twice is billed twice
// as much, unless both list their record ids (usage.Config.RecordIDs), in
// which case a record met twice is refused.
//
// The adjustments of one line, meter and period (from several deliveries
// since the last run) are merged into one, so the period's late records
// are billed as one delta, rate(cumulative) - rate(billed), whatever the
// deliveries they came in. The result is sorted by line, meter and period
// start; each LateUsage's Billed is not marked Late and its Late is.
//
// Nothing is dropped. Problems are reported all at once in an
// *ensemble.ValidationError (subject "invoice late usage") whose entries
// are *UsageError values naming the line, meter and period, at the path
// adjustments[i] or billed[i]: an adjustment with nothing billed to pair
// with (ErrNothingBilled); an adjustment not marked Late (ErrInvalid: the
// usage of an open period goes in Run.Usage); a record id listed by two
// aggregates of one period, billed or late (ErrDuplicate: it would be
// billed twice); and aggregates of one period that do not merge (a
// different aggregation: usage.ErrMergeMismatch). A failed call returns
// nothing.
//
// Aggregates are told apart by their record ids, never by their digests:
// usage.Digest is an additive hash that different sets of short ids can
// share.
func LateUsageFrom(adjustments, billed []usage.Aggregate) ([]LateUsage, error) {
	var ps ensemble.Problems
	type group struct {
		adj, billed []int
	}
	groups := map[periodKey]*group{}
	at := func(g usage.Aggregate) *group {
		k := keyOf(g)
		gr := groups[k]
		if gr == nil {
			gr = &group{}
			groups[k] = gr
		}
		return gr
	}
	for i, g := range adjustments {
		if !g.Late {
			ps.Add(ensemble.Path("adjustments", i), usageErr(g, ErrInvalid, "not a late adjustment (usage.Report.Adjustments): the usage of a period not billed yet goes in Run.Usage"))
			continue
		}
		gr := at(g)
		gr.adj = append(gr.adj, i)
	}
	for i, g := range billed {
		gr := at(g)
		gr.billed = append(gr.billed, i)
	}
	keys := make([]periodKey, 0, len(groups))
	for k, gr := range groups {
		if len(gr.adj) > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareKeys)
	out := make([]LateUsage, 0, len(keys))
	for _, k := range keys {
		gr := groups[k]
		seen := map[usage.RecordID]string{}
		b, okB := fold(&ps, billed, gr.billed, "billed", seen)
		l, okL := fold(&ps, adjustments, gr.adj, "adjustments", seen)
		if !okB || !okL {
			continue
		}
		b.Late, l.Late = false, true
		if len(gr.billed) == 0 {
			ps.Add(ensemble.Path("adjustments", gr.adj[0]), usageErr(l, ErrNothingBilled,
				"no aggregate of its period in billed: give what the period was billed with (a zero aggregate if it was billed with no usage)"))
			continue
		}
		if _, err := b.Merge(l); err != nil {
			ps.Add(ensemble.Path("adjustments", gr.adj[0]), usageErr(l, err, ""))
			continue
		}
		out = append(out, LateUsage{Billed: b, Late: l})
	}
	if err := ps.Err("invoice late usage"); err != nil {
		return nil, err
	}
	return out, nil
}

// fold merges the aggregates of one period, billed (indexes into billed)
// or late (into adjustments), in an order that does not depend on the
// order they were given in. Record ids listed on both sides must not meet:
// a record is billed once.
func fold(ps *ensemble.Problems, list []usage.Aggregate, idx []int, field string, seen map[usage.RecordID]string) (usage.Aggregate, bool) {
	if len(idx) == 0 {
		return usage.Aggregate{}, true
	}
	idx = slices.Clone(idx)
	slices.SortStableFunc(idx, func(a, b int) int { return compareAggs(list[a], list[b]) })
	ok := true
	var out usage.Aggregate
	for j, i := range idx {
		g := list[i]
		path := ensemble.Path(field, i)
		for _, id := range g.RecordIDs {
			if at, dup := seen[id]; dup {
				ps.Add(path, usageErr(g, ErrDuplicate, fmt.Sprintf("record %q is in %s too: a record is billed once", id, at)))
				ok = false
				break
			}
			seen[id] = path
		}
		if j == 0 {
			out = g
			continue
		}
		m, err := out.Merge(g)
		if err != nil {
			ps.Add(path, usageErr(g, err, ""))
			ok = false
			continue
		}
		out = m
	}
	return out, ok
}

// BilledUsage returns the usage run bills for subs, to keep for
// LateUsageFrom in later runs: for each item, usage meter and period due in
// the run, the aggregate given in Run.Usage (or Run.Progressive's usage of
// a period that ended), or, when none was given (an idle period, billed as
// zero usage), an aggregate of no records and a zero value with the
// meter's aggregation, unit (and level-hours) from meters (usage.Config.Meters; the idle
// periods of a meter it lacks, which collects no usage, are left out); and
// the Late aggregate of each Run.Late. They are sorted by line, meter,
// period start, then not late before late, then digest.
//
// It builds the run as Build does, so it fails where Build fails, with the
// same error; aggregates given only for a minimum commitment's true-up
// (see Run.Usage) are not in it, since the run does not bill them.
func (b *Builder) BilledUsage(run Run, subs []Subscription, meters []usage.Meter) ([]usage.Aggregate, error) {
	var out []usage.Aggregate
	if _, err := b.build(run, subs, &out); err != nil {
		return nil, err
	}
	byID := make(map[usage.MeterID]*usage.Meter, len(meters))
	for i := range meters {
		byID[meters[i].ID] = &meters[i]
	}
	kept := out[:0]
	for _, g := range out {
		if g.Aggregation == usage.AggregationUnspecified && g.Records == 0 {
			m, ok := byID[g.Meter]
			if !ok {
				continue
			}
			g.Aggregation, g.Unit, g.AttributeTo = m.Aggregation, m.Unit, m.AttributeTo
			g.LevelHours = m.LevelHours && m.Aggregation == usage.WeightedAverage
		}
		kept = append(kept, g)
	}
	for _, l := range run.Late {
		kept = append(kept, l.Late)
	}
	slices.SortFunc(kept, func(a, b usage.Aggregate) int {
		return cmp.Or(compareKeys(keyOf(a), keyOf(b)), compareAggs(a, b))
	})
	return slices.Clip(kept), nil
}

func usageErr(g usage.Aggregate, err error, detail string) *UsageError {
	return &UsageError{Line: g.Line, Meter: g.Meter, Period: utcPeriod(g.Period), Detail: detail, Err: err}
}

func utcPeriod(p ensemble.Period) ensemble.Period {
	return ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}
}

// periodKey is an aggregate's line, meter and period, as a map key.
type periodKey struct {
	line       usage.LineRef
	meter      usage.MeterID
	start, end int64 // Unix seconds
	sn, en     int32 // nanoseconds
}

func keyOf(g usage.Aggregate) periodKey {
	return periodKey{line: g.Line, meter: g.Meter,
		start: g.Period.Start.Unix(), sn: int32(g.Period.Start.Nanosecond()),
		end: g.Period.End.Unix(), en: int32(g.Period.End.Nanosecond())}
}

func compareKeys(a, b periodKey) int {
	return cmp.Or(strings.Compare(string(a.line), string(b.line)), strings.Compare(string(a.meter), string(b.meter)),
		cmp.Compare(a.start, b.start), cmp.Compare(a.sn, b.sn), cmp.Compare(a.end, b.end), cmp.Compare(a.en, b.en))
}

// compareAggs orders aggregates of one period: not late first, then by
// digest, records and value, so that folding them does not depend on the
// order they were given in.
func compareAggs(a, b usage.Aggregate) int {
	if a.Late != b.Late {
		if a.Late {
			return 1
		}
		return -1
	}
	return cmp.Or(slices.Compare(a.Digest[:], b.Digest[:]), cmp.Compare(a.Records, b.Records), a.Value.Cmp(b.Value))
}

// UsageLines returns the usage lines of subscriptions, for usage.Config,
// sorted by reference (not in the order of subs):
// one per item (its reference Item.UsageLine, or "subscription/item", the
// reference FromOrder gives an order line: order.Order.LineRef), active
// over the item's segments (cut at the subscription's CancelAt; an open
// segment is active until until, the instant the usage is collected up
// to), with the billing periods this builder bills the item's usage in: the
// cadence of its usage charges (the subscription's when they have none,
// monthly by default), stepped from the item's own anchor or the
// subscription's, in the subscription's time zone. Where an item's
// segments change a usage charge inside a period (SplitAtChange), its line
// lists its periods instead (usage.Line.Periods, from the period holding
// its first active instant to the one holding its last), each period cut
// at the changes inside it, so the aggregator gives one aggregate per
// piece. Records outside the segments are then rejected by the aggregator
// (usage.ErrOutsideActive) and every aggregate is of a period Build
// accepts. A partial aggregate of an open period collected before a
// change was recorded holds records before the change only (when the
// change is not backdated before that collection's until): it is the
// first piece's. Lines are sorted by
// reference; ClosedBefore is left zero (set usage.Config.ClosedBefore).
//
// Problems are reported all at once in an *ensemble.ValidationError: a zero
// until, the problems Validate finds in subs, and an item whose usage
// charges bill on different cadences (ErrInvalid: one usage line has one
// set of periods).
func (b *Builder) UsageLines(until time.Time, subs ...Subscription) ([]usage.Line, error) {
	var ps ensemble.Problems
	if until.IsZero() {
		ps.Add("until", ErrRequired)
		return nil, ps.Err("invoice usage lines")
	}
	b.validate(&ps, Run{At: until}, subs)
	if err := ps.Err("invoice usage lines"); err != nil {
		return nil, err
	}
	var out []usage.Line
	for i := range subs {
		s := &subs[i]
		for j := range s.Items {
			it := &s.Items[j]
			l := usage.Line{Ref: usageRef(s, it), Anchor: s.Anchor, TimeZone: s.TimeZone}
			if !it.Anchor.IsZero() {
				l.Anchor = it.Anchor
			}
			var cads []ensemble.Cadence
			var meters []string
			segs := make([]Segment, 0, len(it.Segments))
			for _, sg := range it.Segments {
				if !s.CancelAt.IsZero() && !sg.Start.Before(s.CancelAt) {
					break
				}
				if !s.CancelAt.IsZero() && (sg.End.IsZero() || sg.End.After(s.CancelAt)) {
					sg.End = s.CancelAt
				}
				segs = append(segs, sg)
				end := sg.End
				if end.IsZero() {
					end = until
				}
				if end.After(sg.Start) {
					l.Active = append(l.Active, ensemble.Period{Start: sg.Start, End: end})
				}
				for _, pin := range append(addOnPins(sg.AddOns), sg.Pin) {
					for _, ch := range b.offers[pin].charges {
						if ch.typ != catalog.Usage {
							continue
						}
						cad := ch.cadence
						if cad == (ensemble.Cadence{}) {
							cad = cadenceOf(s)
						}
						cad.Count = max(cad.Count, 1) // {unit: weekly} is every week
						if !slices.Contains(cads, cad) {
							cads = append(cads, cad)
							meters = append(meters, ch.meter)
						}
					}
				}
			}
			switch len(cads) {
			case 0:
				l.Cadence = cadenceOf(s)
				l.Cadence.Count = max(l.Cadence.Count, 1)
			case 1:
				l.Cadence = cads[0]
			default:
				ps.Add(ensemble.Path("subscriptions", i, "items", j), bad(ErrInvalid,
					"usage charges of meters %q and %q bill on different cadences (%s, %s): one usage line has one set of periods", meters[0], meters[1], cads[0], cads[1]))
			}
			if cuts := b.usageCuts(segs, s.Currency); len(cuts) > 0 && len(l.Active) > 0 && len(cads) == 1 {
				if err := listUsagePeriods(&l, cuts, s.TimeZone); err != nil {
					ps.Add(ensemble.Path("subscriptions", i, "items", j), err)
				}
			}
			out = append(out, l)
		}
	}
	if err := ps.Err("invoice usage lines"); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b usage.Line) int { return strings.Compare(string(a.Ref), string(b.Ref)) })
	return out, nil
}

// listUsagePeriods replaces line l's cadence and anchor with the periods
// they step, from the one holding its first active instant to the one
// holding its last, each cut at the instants in cuts inside it (the item's
// usage charge changes there: see SplitAtChange), so that the aggregator
// gives one aggregate per piece; the cycles cut are its Cycles, over
// which a weighted average of a piece averages its level (usage.Aggregate.Cycle).
func listUsagePeriods(l *usage.Line, cuts []time.Time, zone string) error {
	loc, err := loadZone(zone)
	if err != nil {
		return err
	}
	start, end := l.Active[0].Start, l.Active[0].End
	for _, a := range l.Active[1:] {
		start, end = minTime(start, a.Start), maxTime(end, a.End)
	}
	var periods, cut []ensemble.Period
	err = cycles(l.Cadence, l.Anchor, start, end, loc, func(c ensemble.Period) bool {
		pieces := usagePieces(c, cuts)
		periods = append(periods, pieces...)
		if len(pieces) > 1 {
			cut = append(cut, c)
		}
		return true
	})
	if err != nil {
		return err
	}
	l.Periods, l.Cycles, l.Cadence, l.Anchor = periods, cut, ensemble.Cadence{}, time.Time{}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
