package usage

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// Line is what the usage package needs to know about one order line: when
// it was active and how its billing periods fall. The host builds it from
// the order record (the order package owns lines; usage only sees their
// reference).
type Line struct {
	// Ref is the order line reference records carry in Record.Line.
	Ref LineRef `json:"ref"`
	// Active lists the segments [start, end) during which the line was
	// active. A record whose instant lies in none of them is rejected with
	// ErrOutsideActive. Segments may touch or overlap; they are merged. A
	// line with no segments accepts no record.
	Active []ensemble.Period `json:"active"`
	// Cadence, Anchor and TimeZone define the line's billing periods:
	// the record at instant t belongs to Cadence.PeriodAt(Anchor, t, zone).
	// Leave them zero when Periods lists the periods instead.
	Cadence ensemble.Cadence `json:"cadence,omitzero"`
	Anchor  time.Time        `json:"anchor,omitzero"`
	// TimeZone is an IANA zone name such as "Europe/Paris" in which the
	// billing calendar is stepped; empty means UTC. "Local" is rejected:
	// periods must not depend on the machine that computes them.
	TimeZone string `json:"time_zone,omitempty"`
	// Periods lists the line's billing periods explicitly, for lines whose
	// cycle is not one cadence from one anchor (re-anchored on a plan
	// change, say). They must not overlap; a record in none of them is
	// rejected with ErrNoPeriod. Set either Periods or Cadence and Anchor.
	Periods []ensemble.Period `json:"periods,omitempty"`
	// Cycles lists, with Periods, the billing cycles that some of them are
	// pieces of: a cycle cut where the line's price changes inside it (an
	// upgrade or a downgrade; invoice.Builder.UsageLines lists both). A
	// WeightedAverage aggregate of such a piece averages its level over
	// the cycle, not the piece (Aggregate.Cycle): the level times the
	// fraction of the cycle in the piece, so that the pieces of a cycle add
	// up to its average and each is rated at its own price. Cycles must
	// not overlap, nor cut a period: each period lies in one cycle or in
	// none (a period that is a cycle, or in none, averages over itself).
	// Other aggregations ignore them.
	Cycles []ensemble.Period `json:"cycles,omitempty"`
	// ClosedBefore closes this line's billing periods that end at or
	// before it (already invoiced), in addition to Config.ClosedBefore;
	// the later of the two applies. A period in which the line's activity
	// stops (an active segment ends inside it, before another resumes it
	// or without one) closes at that first stop rather than at its end: the
	// invoice bills the period's usage then (invoice.Run), so records of a
	// restart later in the period are late. Records for closed periods go
	// to Report.Adjustments. The zero time closes nothing. An active
	// segment still running should end after ClosedBefore (the lines of
	// invoice.Builder.UsageLines end it at the run's instant).
	ClosedBefore time.Time `json:"closed_before,omitzero"`
}

// Config is the input of an Aggregator: the meters, the lines with their
// active segments and billing cycles, and which periods are closed.
type Config struct {
	Meters []Meter `json:"meters"`
	Lines  []Line  `json:"lines"`
	// ClosedBefore closes, for every line, the billing periods that end at
	// or before it, or whose line's activity first stops inside them at or
	// before it (see Line.ClosedBefore). Records for a closed period are
	// late: they aggregate into Report.Adjustments instead of
	// Report.Aggregates. The zero time closes nothing.
	ClosedBefore time.Time `json:"closed_before,omitzero"`
	// RecordIDs asks for every aggregate to list its record ids (sorted)
	// besides their digest. It costs one id per accepted record in the
	// report.
	RecordIDs bool `json:"record_ids,omitempty"`
	// Ledger is what earlier runs billed: the Report.Ledger of the
	// previous run, as the host persisted it. A record it holds is billed
	// zero more: a duplicate when re-sent with the same content, a
	// Conflict when re-sent with another; a record of a period it was
	// pruned of is rejected with ErrPrunedPeriod. The zero Ledger is a
	// host's first run. It is left out of the config's JSON (persist it on
	// its own with its MarshalBinary or MarshalJSON): a config read back
	// from JSON has the zero Ledger.
	Ledger Ledger `json:"-"`
	// Resend says what a record re-sent under an id Config.Ledger holds,
	// with another content than the one billed, is: ResendConflict (the
	// default) reports it as a Conflict and bills nothing; ResendCorrects
	// takes a re-send that changes only the quantity of a Sum meter's
	// record as its correction, billing the difference (see
	// ResendPolicy). A run under ResendCorrects keeps each record's
	// quantity in Report.Ledger, which a later correction needs.
	Resend ResendPolicy `json:"resend,omitzero"`
	// Billed is the usage earlier runs billed (invoice.Builder.BilledUsage
	// keeps it for invoice.LateUsageFrom): its WeightedAverage aggregates
	// carry their last level into the periods of this run, so that the
	// level before a period's first reading is the latest reading before
	// the period (see Level), whether an earlier run or this one read it.
	// Aggregates of other aggregations, or of meters that are not a
	// WeightedAverage meter of the config, carry nothing and are ignored;
	// a WeightedAverage one whose Levels do not lie in its period is an
	// error (ErrBadLevels).
	//
	// After a run inside a billing period, pass the aggregates of the
	// periods that run left open in Config.Open, which merges them for
	// the host. (The old way, still accepted for a config without Open:
	// add them to Billed for this run only, not to the usage kept for
	// invoice.LateUsageFrom, and merge each with this run's aggregate of
	// the period, Aggregate.Merge, before billing it; billed unmerged, the
	// period loses the earlier run's records.) A WeightedAverage one seen through an instant before its
	// period's end (Aggregate.Through), of a period this run does not
	// close, is reported again by this run, as an aggregate of no records
	// when the run has no reading of it, seen through this run's instant,
	// so that the merge takes this run's view of the line's activity
	// rather than the earlier run's stop at its own instant.
	Billed []Aggregate `json:"billed,omitempty"`
	// Open is the aggregates an earlier run reported of periods it left
	// open (periods that end after that run: Report.Aggregates the invoice
	// run did not bill, invoice.ErrUsageNotDue), which this run merges
	// itself: each is merged (Aggregate.Merge) with this run's aggregate
	// of the same line, meter and period, or reported as it is when this
	// run has none, so that Report.Aggregates holds each period's
	// aggregate over every run so far, to bill as it is, and never the
	// later run's records alone. Their WeightedAverage levels carry as
	// Config.Billed's do, so an open aggregate need not also be in Billed
	// (it may be: it is carried once). Keep the aggregates this run leaves
	// open (of periods ending after it) and pass them in Open to the next
	// run; the ones it closes are billed, and go to Billed as usual.
	//
	// Each must be of a line and a meter of this config, with the meter's
	// aggregation, of a period this run has not closed (ClosedBefore,
	// Line.ClosedBefore) nor the ledger pruned, not Late, and at most one
	// per line, meter and period; a WeightedAverage one must be seen
	// through an instant before its period's end (Aggregate.Through) with
	// valid levels. Anything else is an error matching ErrOpenAggregate: a
	// period the run cannot merge is refused rather than billed short.
	// With Open set, do not merge the report's aggregates with the kept
	// ones again (that would count the earlier run's records twice); the
	// old way, open aggregates in Billed and Aggregate.Merge by the host,
	// still works for a config without Open. Shards of one run merged with
	// MergeReports run without Open (MergeReports refuses a report that
	// merged an open aggregate beside another holding its period).
	Open []Aggregate `json:"open,omitempty"`
	// Through is the instant the run bills usage through (the run's
	// instant, invoice.Run.At): a WeightedAverage meter's level holds
	// from its last reading on, so every billing period of a line and
	// such a meter that holds no reading of the run, that starts after a
	// period holding a level (a reading of this run, or of Config.Billed)
	// and that the line is active in, is reported with the level carried
	// into it (an aggregate of no records, see Report.Aggregates) when it
	// is billed by Through: at its end, or where the line's activity in it
	// first stops. The zero time means the end of the line's last active
	// segment (invoice.Builder.UsageLines ends a running one at the run's
	// instant); set it when a line's segments run past the run, or the
	// periods after the run are reported too, each holding the level
	// carried into it. Other aggregations ignore it.
	Through time.Time `json:"through,omitzero"`
	// ExpectedRecords is how many distinct record ids the host expects,
	// a capacity hint: the dedup set is sized for it up front instead of
	// growing (and rehashing) as records arrive. Zero means no hint; it is
	// capped at MaxExpectedRecords. Results never depend on it.
	ExpectedRecords int `json:"expected_records,omitempty"`
}

// MaxExpectedRecords caps Config.ExpectedRecords, so a hint cannot reserve
// unbounded memory.
const MaxExpectedRecords = 1 << 26

// Validate reports every problem of the config at once in an
// *ensemble.ValidationError: empty or duplicate meter ids and line
// references (ErrEmptyID, ErrDuplicateID), an unspecified aggregation or a
// unique attribute that does not fit it (ErrBadAggregation), an invalid
// cadence, a zero anchor, an unknown time zone, invalid segments, invalid
// or overlapping periods, periods given together with a cadence, invalid
// or overlapping cycles, cycles that cut a period or come without periods,
// and billed weighted averages whose levels do not fit their period (or
// their cycle: ErrBadLevels).
func (c Config) Validate() error {
	_, _, err := c.compile()
	return err
}

// lineState is a Line compiled for the hot path: instants as int64 Unix
// nanoseconds, segments merged, and the periods met so far.
type lineState struct {
	ref     LineRef
	active  [][2]int64 // merged, sorted [start, end)
	cadence ensemble.Cadence
	anchor  time.Time
	loc     *time.Location
	closed  int64 // a period is closed when its end <= closed
	through int64 // Config.Through, MaxInt64 for none
	periods periodRuns
	last    periodState       // the period used last (none at first: start == end)
	listed  []ensemble.Period // Line.Periods, sorted, or nil for the cadence
	cycles  []ensemble.Period // Line.Cycles, sorted, in UTC
}

// periodState is one billing period of one line that holds records.
type periodState struct {
	start, end int64
	id         int32 // index into Aggregator.periods
}

// periodRuns holds the periods of one line met so far, to find the one
// holding an instant. They are kept in sorted runs whose lengths are
// distinct powers of two (the logarithmic method): a new period merges the
// runs shorter than the first free length into that one. In whatever order
// n periods arrive, adding them costs O(n log n) in all and a look-up
// O(log² n); one sorted slice cost O(n) for each period met before those
// already held (a stream read newest first), O(n²) in all.
type periodRuns struct {
	// all holds run k, of 2^k periods sorted by start, at
	// all[2^k-1 : 2^(k+1)-1] when bit k of n is set: one slice, so that a
	// line of a few periods costs what a sorted slice of them did.
	all []periodState
	n   int // periods held
}

func (r *periodRuns) run(k int) []periodState { return r.all[1<<k-1 : 1<<(k+1)-1] }

// find returns the period holding ns. A run that ends before ns or
// starts after it is passed over without a search, so that periods met in
// time order, or in falling time order, are looked up in O(log n).
func (r *periodRuns) find(ns int64) (periodState, bool) {
	for k := 0; r.n>>k != 0; k++ {
		if r.n>>k&1 == 0 {
			continue
		}
		run := r.run(k)
		if ns < run[0].start || ns >= run[len(run)-1].end {
			continue
		}
		i, found := slices.BinarySearchFunc(run, ns, func(p periodState, ns int64) int {
			switch {
			case p.end <= ns:
				return -1
			case p.start > ns:
				return 1
			}
			return 0
		})
		if found {
			return run[i], true
		}
	}
	return periodState{}, false
}

// add adds p, which overlaps no period held.
func (r *periodRuns) add(p periodState) {
	k := bits.TrailingZeros(^uint(r.n)) // the first free run
	lo, hi := 1<<k-1, 1<<(k+1)-1
	if len(r.all) < hi {
		r.all = slices.Grow(r.all, hi-len(r.all))[:hi]
	}
	// p and the runs below k hold 1 + 1 + 2 + ... + 2^(k-1) = 2^k periods.
	dst := append(r.all[lo:lo:hi], p)
	for i := range k {
		dst = mergeRun(dst, r.run(i))
	}
	r.n++
}

// mergeRun merges the sorted src into the sorted dst, in place from the
// end of dst's capacity, which must hold both.
func mergeRun(dst, src []periodState) []periodState {
	i, j := len(dst)-1, len(src)-1
	dst = dst[:len(dst)+len(src)]
	for k := len(dst) - 1; j >= 0; k-- {
		if i >= 0 && dst[i].start > src[j].start {
			dst[k] = dst[i]
			i--
		} else {
			dst[k] = src[j]
			j--
		}
	}
	return dst
}

// periodInfo is what a report says about a period.
type periodInfo struct {
	period     ensemble.Period // in UTC
	start, end int64           // period in Unix nanoseconds
	closed     bool
	pruned     bool // ended at or before the ledger's cutoff: its records are refused
}

// lineHot caches, per line, the last period met that lies wholly inside
// an active segment: a record in it needs no other lookup.
type lineHot struct {
	start, end int64 // empty until a period is cached
	period     int32
}

const (
	minUnixSec = math.MinInt64/int64(time.Second) + 1
	maxUnixSec = math.MaxInt64/int64(time.Second) - 1
)

// nanos returns t as Unix nanoseconds, saturating outside the int64 range.
func nanos(t time.Time) int64 {
	switch s := t.Unix(); {
	case s < minUnixSec:
		return math.MinInt64
	case s > maxUnixSec:
		return math.MaxInt64
	}
	return t.UnixNano()
}

func (c Config) compile() ([]Meter, []lineState, error) {
	var p ensemble.Problems
	meters := slices.Clone(c.Meters)
	seenM := make(map[MeterID]bool, len(meters))
	for i, m := range meters {
		path := ensemble.Path("meters", i)
		switch {
		case m.ID == "":
			p.Add(path+".id", ErrEmptyID)
		case ensemble.CheckID(string(m.ID), "") != nil:
			p.Add(path+".id", ensemble.CheckID(string(m.ID), ""))
		case seenM[m.ID]:
			p.Add(path+".id", fmt.Errorf("%w: meter %q", ErrDuplicateID, m.ID))
		}
		seenM[m.ID] = true
		switch {
		case m.Aggregation == AggregationUnspecified || int(m.Aggregation) >= len(aggregationNames):
			p.Add(path+".aggregation", fmt.Errorf("%w: meter %q: %s", ErrBadAggregation, m.ID, m.Aggregation))
		case m.Aggregation == CountUnique && m.UniqueAttribute == "":
			p.Add(path+".unique_attribute", fmt.Errorf("%w: meter %q: count_unique needs a unique attribute", ErrBadAggregation, m.ID))
		case m.Aggregation != CountUnique && m.UniqueAttribute != "":
			p.Add(path+".unique_attribute", fmt.Errorf("%w: meter %q: unique attribute %q needs count_unique, not %s", ErrBadAggregation, m.ID, m.UniqueAttribute, m.Aggregation))
		}
		if m.LevelHours && m.Aggregation != WeightedAverage {
			p.Add(path+".level_hours", fmt.Errorf("%w: meter %q: level_hours needs weighted_average, not %s", ErrBadAggregation, m.ID, m.Aggregation))
		}
		if m.AllowUnattributed && m.AttributeTo == "" {
			p.Add(path+".allow_unattributed", fmt.Errorf("%w: meter %q: allow_unattributed needs attribute_to", ErrBadAggregation, m.ID))
		}
		if m.AttributeTo != "" {
			if err := ensemble.CheckID(m.AttributeTo, ensemble.RefSeparators); err != nil {
				p.Add(path+".attribute_to", fmt.Errorf("meter %q: %w", m.ID, err))
			} else if m.Aggregation != Sum && m.Aggregation != Count {
				p.Add(path+".attribute_to", fmt.Errorf("%w: meter %q: usage attributed to %q needs sum or count, whose quantities add up over its values, not %s", ErrBadAggregation, m.ID, m.AttributeTo, m.Aggregation))
			}
		}
	}
	if c.Resend > ResendCorrects {
		p.Add("resend", fmt.Errorf("%w %s: want conflict or correct", ErrBadResendPolicy, c.Resend))
	}
	lines := make([]lineState, len(c.Lines))
	seenL := make(map[LineRef]bool, len(c.Lines))
	closedAll := int64(math.MinInt64)
	if !c.ClosedBefore.IsZero() {
		closedAll = nanos(c.ClosedBefore)
	}
	through := int64(math.MaxInt64)
	if !c.Through.IsZero() {
		through = nanos(c.Through)
	}
	type zone struct {
		loc *time.Location
		err error
	}
	zones := map[string]zone{"": {loc: time.UTC}, "UTC": {loc: time.UTC}}
	for i, l := range c.Lines {
		path := ensemble.Path("lines", i)
		switch {
		case l.Ref == "":
			p.Add(path+".ref", ErrEmptyID)
		case seenL[l.Ref]:
			p.Add(path+".ref", fmt.Errorf("%w: line %q", ErrDuplicateID, l.Ref))
		}
		seenL[l.Ref] = true
		var listed, cycles []ensemble.Period
		if len(l.Cycles) > 0 && len(l.Periods) == 0 {
			p.Add(path+".cycles", fmt.Errorf("usage: line %q: cycles without periods: the cycles of a cadence are its periods", l.Ref))
		}
		switch {
		case len(l.Periods) > 0:
			if l.Cadence != (ensemble.Cadence{}) || !l.Anchor.IsZero() {
				p.Add(path+".periods", fmt.Errorf("usage: line %q: periods and a cadence: set one", l.Ref))
			}
			listed = listPeriods(&p, path, l)
			cycles = listCycles(&p, path, l, listed)
		default:
			if err := l.Cadence.Validate(); err != nil {
				p.Add(path+".cadence", fmt.Errorf("line %q: %w", l.Ref, err))
			}
			if l.Anchor.IsZero() {
				p.Add(path+".anchor", fmt.Errorf("usage: line %q: zero anchor", l.Ref))
			}
		}
		z, ok := zones[l.TimeZone]
		if !ok {
			if l.TimeZone == "Local" {
				z.err = errors.New("the host's zone would make billing periods depend on the machine")
			} else {
				z.loc, z.err = time.LoadLocation(l.TimeZone)
			}
			zones[l.TimeZone] = z
		}
		loc := z.loc
		if z.err != nil {
			p.Add(path+".time_zone", fmt.Errorf("usage: line %q: time zone %q: %w", l.Ref, l.TimeZone, z.err))
			loc = time.UTC
		}
		ls := lineState{ref: l.Ref, cadence: l.Cadence, anchor: l.Anchor, loc: loc, closed: closedAll, listed: listed, cycles: cycles, through: through}
		if !l.ClosedBefore.IsZero() {
			ls.closed = max(ls.closed, nanos(l.ClosedBefore))
		}
		for j, seg := range l.Active {
			if err := seg.Validate(); err != nil {
				p.Add(ensemble.Path("lines", i, "active", j), fmt.Errorf("line %q: %w", l.Ref, err))
				continue
			}
			if !seg.IsEmpty() {
				ls.active = append(ls.active, [2]int64{nanos(seg.Start), nanos(seg.End)})
			}
		}
		ls.active = mergeSegments(ls.active)
		lines[i] = ls
	}
	for i, g := range c.Billed {
		if g.Aggregation != WeightedAverage || len(g.Levels) == 0 {
			continue
		}
		if !slices.IsSortedFunc(g.Levels, compareLevels) {
			p.Add(ensemble.Path("billed", i)+".levels", fmt.Errorf("%w: %s: not sorted by instant, then record id", ErrBadLevels, g.Ref()))
		} else if _, err := weightedValue(g.Period, g.Cycle, g.Levels, g.Inactive, g.LevelHours); err != nil {
			p.Add(ensemble.Path("billed", i)+".levels", fmt.Errorf("%s: %w", g.Ref(), err))
		}
	}
	c.checkOpen(&p, meters, lines)
	if err := p.Err("usage config"); err != nil {
		return nil, nil, err
	}
	return meters, lines, nil
}

// listPeriods validates a line's explicit periods and returns them sorted
// by start, in UTC.
func listPeriods(p *ensemble.Problems, path string, l Line) []ensemble.Period {
	return sortedSpans(p, path, l.Ref, "periods", "period", l.Periods)
}

// sortedSpans validates spans, a line's periods or cycles (field, each a
// what), and returns them sorted by start, in UTC: each valid and not
// empty, none overlapping the next.
func sortedSpans(p *ensemble.Problems, path string, ref LineRef, field, what string, spans []ensemble.Period) []ensemble.Period {
	out := make([]ensemble.Period, 0, len(spans))
	for j, per := range spans {
		switch err := per.Validate(); {
		case err != nil:
			p.Add(ensemble.Path(path, field, j), fmt.Errorf("usage: line %q: %w", ref, err))
		case per.IsEmpty():
			p.Add(ensemble.Path(path, field, j), fmt.Errorf("usage: line %q: empty %s %s", ref, what, per))
		default:
			out = append(out, ensemble.Period{Start: per.Start.UTC(), End: per.End.UTC()})
		}
	}
	slices.SortFunc(out, func(a, b ensemble.Period) int { return a.Start.Compare(b.Start) })
	for j := 1; j < len(out); j++ {
		if out[j].Start.Before(out[j-1].End) {
			p.Add(path+"."+field, fmt.Errorf("usage: line %q: %s %s and %s overlap", ref, field, out[j-1], out[j]))
		}
	}
	return out
}

// listCycles validates a line's cycles against its listed periods
// (sorted) and returns them sorted by start, in UTC.
func listCycles(p *ensemble.Problems, path string, l Line, listed []ensemble.Period) []ensemble.Period {
	out := sortedSpans(p, path, l.Ref, "cycles", "cycle", l.Cycles)
	for _, per := range listed {
		// The cycles overlapping per follow one another from the first
		// that ends after its start.
		j, _ := slices.BinarySearchFunc(out, per.Start, func(c ensemble.Period, t time.Time) int {
			if c.End.After(t) {
				return 1
			}
			return -1
		})
		for ; j < len(out) && out[j].Start.Before(per.End); j++ {
			if ov, ok := per.Overlap(out[j]); ok && !ov.Equal(per) {
				p.Add(path+".cycles", fmt.Errorf("usage: line %q: cycle %s cuts period %s", l.Ref, out[j], per))
			}
		}
	}
	return out
}

// mergeSegments sorts segments and merges those that touch or overlap.
func mergeSegments(s [][2]int64) [][2]int64 {
	slices.SortFunc(s, func(a, b [2]int64) int {
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		return 0
	})
	out := s[:0]
	for _, seg := range s {
		if n := len(out); n > 0 && seg[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], seg[1])
			continue
		}
		out = append(out, seg)
	}
	return out
}

// activeAt reports whether ns lies in one of the line's segments.
func (l *lineState) activeAt(ns int64) bool {
	s := l.active
	if len(s) > 8 {
		// The last segment starting at or before ns is the only candidate.
		i, _ := slices.BinarySearchFunc(s, ns, func(seg [2]int64, ns int64) int {
			if seg[0] <= ns {
				return -1
			}
			return 1
		})
		return i > 0 && ns < s[i-1][1]
	}
	for i := range s {
		if ns < s[i][0] {
			return false
		}
		if ns < s[i][1] {
			return true
		}
	}
	return false
}

// billedAt returns when the period [start, end) is billed: at its end, or
// where the line's activity in it first stops, when it stops inside it
// (the end of the first merged active segment overlapping it): the invoice
// bills a period's usage then, and usage recorded after a restart later in
// the period is late.
func (l *lineState) billedAt(start, end int64) int64 {
	i, _ := slices.BinarySearchFunc(l.active, start, func(seg [2]int64, ns int64) int {
		if seg[0] <= ns {
			return -1
		}
		return 1
	})
	// active[i-1] is the last segment starting at or before start.
	if i > 0 && l.active[i-1][1] > start {
		i--
	}
	if i < len(l.active) && l.active[i][0] < end && l.active[i][1] < end {
		return l.active[i][1]
	}
	return end
}

// covers reports whether one active segment holds all of [start, end).
// The segments are merged and sorted, so only the last one starting at or
// before start can: it is found by binary search, so that a line of many
// segments costs O(log n) per record that misses the hot period.
func (l *lineState) covers(start, end int64) bool {
	i, _ := slices.BinarySearchFunc(l.active, start, func(seg [2]int64, ns int64) int {
		if seg[0] <= ns {
			return -1
		}
		return 1
	})
	return i > 0 && end <= l.active[i-1][1]
}

// periodAt returns the id (index into a.periods) of the line's billing
// period holding ns (the instant at), computing and recording it when it
// is new.
func (a *Aggregator) periodAt(l *lineState, ns int64, at time.Time) (int32, error) {
	if p := l.last; ns >= p.start && ns < p.end {
		return p.id, nil
	}
	if p, found := l.periods.find(ns); found {
		l.last = p
		return p.id, nil
	}
	var per ensemble.Period
	if l.listed != nil {
		j, _ := slices.BinarySearchFunc(l.listed, at, func(p ensemble.Period, t time.Time) int { return p.Start.Compare(t) })
		// listed[j-1] is the last period starting at or before at.
		if j < len(l.listed) && l.listed[j].Start.Equal(at) {
			j++
		}
		if j == 0 || !l.listed[j-1].Contains(at) {
			return 0, fmt.Errorf("%s is in none of its listed periods", at.UTC().Format(time.RFC3339Nano))
		}
		per = l.listed[j-1]
	} else {
		p, _, err := l.cadence.PeriodAt(l.anchor, at, l.loc)
		if err != nil {
			return 0, err
		}
		per = ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}
	}
	ps := periodState{start: nanos(per.Start), end: nanos(per.End), id: int32(len(a.periods))}
	a.periods = append(a.periods, periodInfo{period: per, start: ps.start, end: ps.end, closed: l.billedAt(ps.start, ps.end) <= l.closed, pruned: ps.end <= a.horizon})
	for range a.meters {
		a.periodSlots = append(a.periodSlots, -1)
	}
	l.periods.add(ps)
	l.last = ps
	return ps.id, nil
}

// ResendPolicy says what a record re-sent under a billed id (one
// Config.Ledger holds) with another content is. A record's id is its
// idempotency key; usage pipelines differ on an id re-sent with other
// values: some drop it as a duplicate, some take it as a replacement of
// the event. Both policies bill the content billed, re-sent, zero more;
// under ResendCorrects so is a version a correction superseded.
type ResendPolicy uint8

const (
	// ResendConflict, the default, reports the re-send as a Conflict
	// naming the entry billed (Conflict.Billed) and bills nothing more: a
	// changed re-send may be a bug of the sender. To correct a billed
	// record, send a record of the difference under a new id.
	ResendConflict ResendPolicy = iota
	// ResendCorrects takes a re-send as the record's new version when it
	// changes only the quantity (same line, meter, instant and
	// attributes) of a Sum meter's record whose billed quantity the
	// ledger holds (Ledger.BilledQuantity: the record was collected
	// under ResendCorrects): it supersedes the version billed, and the
	// run aggregates the difference, new − billed, into the record's
	// period, so a closed period gets a late adjustment (Aggregate.Late)
	// of the difference, billed once; the ledger then holds the new
	// version (its digest and quantity), so a third version is billed
	// against the second. Any number of versions, billed over any number
	// of runs, bill in total what their last versions bill in one run.
	//
	// The ledger also keeps the digests of the versions a correction
	// superseded: one re-sent later, in any run (an at-least-once
	// pipeline's redelivery of an old message), is a duplicate counted in
	// Stats.Resent and Stats.Superseded and billed nothing, never a
	// correction back. Records carry no version number, so versions are
	// ordered by the run that first billed them: the last billed wins,
	// and a content once superseded is never billed again under its id
	// (to return to an earlier quantity, send the difference under a new
	// id).
	//
	// A re-send that changes anything but the quantity (it would move the
	// usage to another line, meter, period or attribution, or re-date it),
	// one of another aggregation than Sum, and one of a record billed
	// without its quantity, is still a Conflict, whose Uncorrectable says
	// why and which matches ErrUncorrectable. Two different new versions
	// of one id in one run are a Conflict too (neither is known to be the
	// last), and so is a new id seen with two contents in one run.
	//
	// A correction counts in Stats.Accepted and in its aggregate's Records
	// (and RecordIDs): the aggregate is the difference, of one record.
	// Sharded runs give each shard only the ledger's ids it owns
	// (Ledger.Filter): a shard given the whole ledger still holds a
	// corrected id's billed version, and MergeLedgers reports the two
	// versions as a *LedgerConflictError.
	ResendCorrects
)

var resendNames = [...]string{ResendConflict: "conflict", ResendCorrects: "correct"}

// String returns the policy's name: "conflict" or "correct".
func (p ResendPolicy) String() string {
	if int(p) < len(resendNames) {
		return resendNames[p]
	}
	return "resend(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText writes the policy's name; an unknown value is an error.
func (p ResendPolicy) MarshalText() ([]byte, error) {
	if int(p) >= len(resendNames) {
		return nil, &ParseError{Kind: "resend policy", Input: p.String(), Want: "conflict or correct"}
	}
	return []byte(resendNames[p]), nil
}

// UnmarshalText reads "conflict" or "correct" (empty: conflict).
func (p *ResendPolicy) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "conflict":
		*p = ResendConflict
	case "correct":
		*p = ResendCorrects
	default:
		return &ParseError{Kind: "resend policy", Input: clip(string(b)), Want: "conflict or correct"}
	}
	return nil
}

// checkOpen validates Config.Open against the compiled meters and lines
// (see Config.Open).
func (c *Config) checkOpen(p *ensemble.Problems, meters []Meter, lines []lineState) {
	seen := make(map[openKey]bool, len(c.Open))
	horizon := c.Ledger.horizon()
	for i, g := range c.Open {
		path := ensemble.Path("open", i)
		fail := func(format string, args ...any) {
			p.Add(path, fmt.Errorf("%w: %s: %s", ErrOpenAggregate, g.Ref(), fmt.Sprintf(format, args...)))
		}
		mi := slices.IndexFunc(meters, func(m Meter) bool { return m.ID == g.Meter })
		li := slices.IndexFunc(lines, func(l lineState) bool { return l.ref == g.Line })
		switch {
		case li < 0:
			fail("line %q is not a line of this run's config", g.Line)
			continue
		case mi < 0:
			fail("meter %q is not a meter of this run's config", g.Meter)
			continue
		case meters[mi].Aggregation != g.Aggregation:
			fail("aggregated as %s, but the meter is %s", g.Aggregation, meters[mi].Aggregation)
			continue
		case g.Period.Validate() != nil || g.Period.IsEmpty():
			fail("not a billing period: %s", g.Period)
			continue
		case g.Late:
			fail("a late adjustment, not an open period's aggregate")
			continue
		case g.AttributeTo != meters[mi].AttributeTo && (g.AttributeTo != "" || g.Records > 0):
			fail("attributed to %q, but the meter to %q", g.AttributeTo, meters[mi].AttributeTo)
			continue
		}
		end := g.Period.End.UnixNano()
		switch {
		case end <= lines[li].closed:
			fail("the period is closed for this run (ClosedBefore): it was billed; pass its aggregate in Billed, not Open")
			continue
		case end <= horizon:
			fail("the period ends at or before the ledger's pruning cutoff")
			continue
		}
		if g.Aggregation == WeightedAverage {
			switch {
			case g.Through.IsZero() || !g.Through.Before(g.Period.End):
				fail("seen through %s, not before the period's end: a closed period's aggregate, billed already; pass it in Billed, not Open", g.Through.Format(time.RFC3339Nano))
				continue
			case g.LevelHours != meters[mi].LevelHours && len(g.Levels) > 0:
				fail("level_hours differs from the meter's")
				continue
			case !g.Cycle.Equal(lines[li].cycleOf(g.Period)):
				fail("cycle %s, but this run's line has %s", g.Cycle, lines[li].cycleOf(g.Period))
				continue
			case !slices.IsSortedFunc(g.Levels, compareLevels):
				fail("levels not sorted by instant, then record id")
				continue
			}
			if _, err := weightedValue(g.Period, g.Cycle, g.Levels, g.Inactive, g.LevelHours); err != nil {
				fail("%v", err)
				continue
			}
		}
		k := openKey{g.Line, g.Meter, g.Period.Start.UnixNano(), end}
		if seen[k] {
			fail("the period is given twice in Open")
			continue
		}
		seen[k] = true
	}
}

// openKey identifies an open aggregate's line, meter and period.
type openKey struct {
	line       LineRef
	meter      MeterID
	start, end int64
}
