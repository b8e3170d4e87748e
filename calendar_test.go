package ensemble_test

import (
	"testing"
	"time"
	_ "time/tzdata" // every zone loads, whatever the machine has

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// TestCadenceDSTRuleZones: one rule resolves a cycle boundary that a clock
// change breaks, in every zone: in a gap, the first instant after the gap;
// in an overlap, the first occurrence. (time.Date alone moves a New York
// gap back and a London one forward, and takes New York's first overlap
// reading but London's second.)
func TestCadenceDSTRuleZones(t *testing.T) {
	tests := []struct {
		name    string
		zone    string
		cadence ensemble.Cadence
		anchor  [5]int // y, m, d, hh, mm of the anchor in the zone
		n       int
		want    string
	}{
		{"New York gap moves forward", "America/New_York", ensemble.Every(1, ensemble.Daily), [5]int{2026, 3, 7, 2, 30}, 1, "2026-03-08T03:00:00-04:00"},
		{"London gap moves forward", "Europe/London", ensemble.Every(1, ensemble.Daily), [5]int{2026, 3, 28, 1, 30}, 1, "2026-03-29T02:00:00+01:00"},
		{"Berlin gap moves forward", "Europe/Berlin", ensemble.Every(1, ensemble.Monthly), [5]int{2026, 1, 29, 2, 30}, 2, "2026-03-29T03:00:00+02:00"},
		{"Sydney gap moves forward", "Australia/Sydney", ensemble.Every(1, ensemble.Weekly), [5]int{2026, 9, 27, 2, 30}, 1, "2026-10-04T03:00:00+11:00"},
		{"Lord Howe half-hour gap", "Australia/Lord_Howe", ensemble.Every(1, ensemble.Daily), [5]int{2026, 10, 3, 2, 15}, 1, "2026-10-04T02:30:00+11:00"},
		{"Santiago skipped midnight", "America/Santiago", ensemble.Every(1, ensemble.Daily), [5]int{2026, 9, 5, 0, 0}, 1, "2026-09-06T01:00:00-03:00"},
		{"New York overlap takes the first", "America/New_York", ensemble.Every(1, ensemble.Daily), [5]int{2026, 10, 31, 1, 30}, 1, "2026-11-01T01:30:00-04:00"},
		{"London overlap takes the first", "Europe/London", ensemble.Every(1, ensemble.Daily), [5]int{2026, 10, 24, 1, 30}, 1, "2026-10-25T01:30:00+01:00"},
		{"Berlin overlap takes the first", "Europe/Berlin", ensemble.Every(1, ensemble.Monthly), [5]int{2026, 9, 25, 2, 30}, 1, "2026-10-25T02:30:00+02:00"},
		{"Sydney overlap takes the first", "Australia/Sydney", ensemble.Every(1, ensemble.Daily), [5]int{2026, 4, 4, 2, 30}, 1, "2026-04-05T02:30:00+11:00"},
		{"Apia skipped day moves to the next", "Pacific/Apia", ensemble.Every(1, ensemble.Daily), [5]int{2011, 12, 28, 12, 0}, 2, "2011-12-31T00:00:00+14:00"},
		{"the day after keeps its time", "America/New_York", ensemble.Every(1, ensemble.Daily), [5]int{2026, 3, 7, 2, 30}, 2, "2026-03-09T02:30:00-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			a := tt.anchor
			anchor := time.Date(a[0], time.Month(a[1]), a[2], a[3], a[4], 0, 0, loc)
			got, err := tt.cadence.Boundary(anchor, tt.n, loc)
			require.NoError(t, err)
			require.Equal(t, tt.want, got.Format(time.RFC3339))
			// The cycles on either side of it hold time, and PeriodAt finds them.
			prev, err := tt.cadence.Boundary(anchor, tt.n-1, loc)
			require.NoError(t, err)
			require.True(t, got.After(prev), "cycle %d is empty", tt.n-1)
			p, _, err := tt.cadence.PeriodAt(anchor, got, loc)
			require.NoError(t, err)
			require.True(t, p.Start.Equal(got), "PeriodAt(%s) starts at %s", got, p.Start)
		})
	}
}

// TestSkippedLocalDaysCycles: the days Pacific/Apia (2011-12-30) and
// Pacific/Kiritimati (1994-12-31) skipped leave no empty cycle, no panic
// and no proration that fails: cycles run on past the day, day counts on
// either side add up to the whole (end-inclusive counts included), and a
// daily cycle prorates under every basis.
func TestSkippedLocalDaysCycles(t *testing.T) {
	tests := []struct {
		name       string
		zone       string
		before     [3]int // the day before the skipped one
		after      [3]int // the day after it
		afterStart string
	}{
		{"Apia 2011-12-30", "Pacific/Apia", [3]int{2011, 12, 29}, [3]int{2011, 12, 31}, "2011-12-31T00:00:00+14:00"},
		{"Kiritimati 1994-12-31", "Pacific/Kiritimati", [3]int{1994, 12, 30}, [3]int{1995, 1, 1}, "1995-01-01T00:00:00+14:00"},
		{"Kwajalein 1993-08-21", "Pacific/Kwajalein", [3]int{1993, 8, 20}, [3]int{1993, 8, 22}, "1993-08-22T00:00:00+12:00"},
	}
	for _, tt := range tests {
		loc := mustZone(t, tt.zone)
		before := time.Date(tt.before[0], time.Month(tt.before[1]), tt.before[2], 0, 0, 0, 0, loc)
		after := time.Date(tt.after[0], time.Month(tt.after[1]), tt.after[2], 0, 0, 0, 0, loc)
		t.Run(tt.name+"/day starts", func(t *testing.T) {
			require.Equal(t, tt.afterStart, after.Format(time.RFC3339))
			require.Equal(t, 24*time.Hour, after.Sub(before), "the day before is the only day between")
		})
		t.Run(tt.name+"/inclusive days add up", func(t *testing.T) {
			end := after.AddDate(0, 0, 1)
			whole := ensemble.MustPeriod(before, end)
			for _, basis := range []ensemble.ProrationBasis{ensemble.ProrateDaysEndInclusive, ensemble.ProrateDaysEndExclusive, ensemble.ProrateThirtyDayCalendarMonth} {
				a, err := ensemble.MustPeriod(before, after).Measure(basis, loc)
				require.NoError(t, err)
				b, err := ensemble.MustPeriod(after, end).Measure(basis, loc)
				require.NoError(t, err)
				w, err := whole.Measure(basis, loc)
				require.NoError(t, err)
				require.True(t, a.Add(b).Equal(w), "%s: %s + %s != %s", basis, a, b, w)
			}
			p, err := ensemble.PeriodThrough(before, after, loc)
			require.NoError(t, err)
			require.True(t, p.Equal(whole), "PeriodThrough gives %s", p)
		})
		for _, hour := range []int{0, 12} {
			t.Run(tt.name+"/daily cycles at "+time.Duration(hour*int(time.Hour)).String(), func(t *testing.T) {
				anchor := before.AddDate(0, 0, -2).Add(time.Duration(hour) * time.Hour)
				span := ensemble.MustPeriod(anchor, anchor.AddDate(0, 0, 6))
				seq, err := ensemble.Every(1, ensemble.Daily).Periods(anchor, span, loc)
				require.NoError(t, err)
				var prev ensemble.Period
				count := 0
				for p := range seq {
					require.False(t, p.IsEmpty(), "empty cycle %s", p)
					if count > 0 {
						require.True(t, p.Start.Equal(prev.End), "gap between %s and %s", prev, p)
					}
					mid := p.Start.Add(p.Duration() / 3)
					for basis := ensemble.ProrationBasis(0); basis.Valid(); basis++ {
						opts := ensemble.ProrateOptions{Basis: basis, Location: loc, Anchor: anchor}
						f1, err := ensemble.Prorate(ensemble.MustPeriod(p.Start, mid), p, opts)
						require.NoError(t, err, "%s %s", basis, p)
						f2, err := ensemble.Prorate(ensemble.MustPeriod(mid, p.End), p, opts)
						require.NoError(t, err, "%s %s", basis, p)
						if basis != ensemble.ProrateDaysEndInclusive {
							require.True(t, f1.Add(f2).Equal(ensemble.RatioFromInt(1)), "%s %s: %s + %s", basis, p, f1, f2)
						}
					}
					prev = p
					count++
				}
				require.GreaterOrEqual(t, count, 5)
			})
		}
	}
}

// TestCalendarNearClockChanges: in every zone of the tz database, at instants
// drawn near its clock changes between 1900 and 2100, cycles of every unit
// are contiguous and never empty, each holds the instants PeriodAt places
// in it, and under every basis the fractions of a cycle split anywhere (at
// a day start for the end-inclusive basis) add up to one, lie in [0, 1],
// and measures are never negative.
func TestCalendarNearClockChanges(t *testing.T) {
	zones := allZones()
	if len(zones) == 0 {
		t.Skip("no zoneinfo.zip in GOROOT")
	}
	lo, hi := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	rapid.Check(t, func(t *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Fatal(err)
		}
		at := time.Unix(rapid.Int64Range(lo, hi).Draw(t, "at"), 0).In(loc)
		// Most draws sit next to a clock change, where the calendar breaks.
		if _, next := at.ZoneBounds(); !next.IsZero() && rapid.IntRange(0, 3).Draw(t, "near") > 0 {
			at = next.Add(time.Duration(rapid.Int64Range(-36, 36).Draw(t, "hours")) * time.Hour).In(loc)
		}
		y, m, d := at.Date()
		hh := rapid.SampledFrom([]int{0, 0, at.Hour(), rapid.IntRange(0, 23).Draw(t, "hour")}).Draw(t, "anchor_hour")
		anchor := time.Date(y, m, d-rapid.IntRange(0, 40).Draw(t, "back"), hh, rapid.SampledFrom([]int{0, 30, at.Minute()}).Draw(t, "minute"), 0, 0, loc)
		unit := ensemble.CadenceUnit(rapid.IntRange(int(ensemble.Daily), int(ensemble.Yearly)).Draw(t, "unit"))
		c := ensemble.Every(1, unit)
		span := ensemble.MustPeriod(at.Add(-48*time.Hour), at.Add(48*time.Hour))
		seq, err := c.Periods(anchor, span, loc)
		if err != nil {
			t.Fatal(err)
		}
		var prev ensemble.Period
		count := 0
		for p := range seq {
			if p.IsEmpty() {
				t.Fatalf("empty cycle %s", p)
			}
			if count > 0 && !p.Start.Equal(prev.End) {
				t.Fatalf("gap or overlap between %s and %s", prev, p)
			}
			if got, _, err := c.PeriodAt(anchor, p.Start, loc); err != nil || !got.Equal(p) {
				t.Fatalf("PeriodAt(%s) = %s, iterator gave %s (%v)", p.Start, got, p, err)
			}
			split := p.Start.Add(time.Duration(rapid.Int64Range(0, int64(p.Duration())).Draw(t, "split")))
			checkSplit(t, p, split, loc, anchor)
			prev = p
			count++
			if count == 3 {
				break
			}
		}
		if count == 0 {
			t.Fatalf("no cycle over %s", span)
		}
	})
}

// checkSplit checks the fractions of whole split at split under every
// basis, and the end-inclusive count split at the start of split's day.
func checkSplit(t *rapid.T, whole ensemble.Period, split time.Time, loc *time.Location, anchor time.Time) {
	one := ensemble.RatioFromInt(1)
	for basis := ensemble.ProrationBasis(0); basis.Valid(); basis++ {
		s := split
		if basis == ensemble.ProrateDaysEndInclusive {
			y, m, d := split.In(loc).Date()
			s = time.Date(y, m, d, 0, 0, 0, 0, loc) // the day start time.Date gives, in the day or just after it
			if !s.After(whole.Start) || !s.Before(whole.End) {
				continue
			}
			if first, err := ensemble.PeriodThrough(s, s, loc); err != nil || !first.Start.Equal(s) {
				continue // not a day start
			}
		}
		opts := ensemble.ProrateOptions{Basis: basis, Location: loc, Anchor: anchor}
		f1, err1 := ensemble.Prorate(ensemble.MustPeriod(whole.Start, s), whole, opts)
		f2, err2 := ensemble.Prorate(ensemble.MustPeriod(s, whole.End), whole, opts)
		if basis == ensemble.ProrateDaysEndInclusive && (s.Equal(whole.Start) || s.Equal(whole.End)) {
			continue // an empty part is ambiguous there, by design
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %s split at %s: %v, %v", basis, whole, s, err1, err2)
		}
		if f1.Sign() < 0 || f2.Sign() < 0 || f1.Cmp(one) > 0 || f2.Cmp(one) > 0 {
			t.Fatalf("%s: %s split at %s: fractions %s and %s outside [0, 1]", basis, whole, s, f1, f2)
		}
		if !f1.Add(f2).Equal(one) {
			t.Fatalf("%s: %s split at %s: %s + %s != 1", basis, whole, s, f1, f2)
		}
		if m, err := whole.Measure(basis, loc); err != nil || m.Sign() < 0 {
			t.Fatalf("%s: %s measures %s (%v)", basis, whole, m, err)
		}
	}
}
