package usage_test

import (
	"encoding/json"
	"fmt"
	"pgregory.net/rapid"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

// A storage meter weighted by time: 100 TB read on January 1 and 300 TB
// on January 20. A run on January 15 (Through January 15, the line's
// segment ended at the run as invoice.Builder.UsageLines ends it) reports
// the month so far; the run on February 1 reads the January 20 reading.
// Merged, in either order, the two reports are the month one run on
// February 1 reports: (100 × 19 + 300 × 12)/31 = 177.419354838710
// TB-months. Before, the merge took the union of the two runs' inactive
// stretches, so January 15 to February 1, inactive only in the first
// run's view (it had not got there yet), counted zero: 100 × 14/31 =
// 45.161290322581.
func TestWeightedAverageMidPeriodRunMergesToTheMonth(t *testing.T) {
	jan15 := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	jan20 := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	r1 := []usage.Record{reading("jan-01", mon(1), "100")}
	r2 := []usage.Record{reading("jan-20", jan20, "300")}
	const want = "177.41935483871" // canonical: no trailing zero

	one := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}, Through: mon(2)}, append(r1, r2...))
	require.Len(t, one.Aggregates, 1)
	require.Equal(t, want, one.Aggregates[0].Value.String())

	first := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(jan15)}, Through: jan15}, r1)
	require.Len(t, first.Aggregates, 1)
	second := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}, Through: mon(2),
		ClosedBefore: jan15, Ledger: first.Ledger, Billed: first.Aggregates}, r2)
	require.Len(t, second.Aggregates, 1)

	for _, order := range [][]*usage.Report{{first, second}, {second, first}} {
		merged, err := usage.MergeReports(order...)
		require.NoError(t, err)
		require.Len(t, merged.Aggregates, 1)
		require.Equal(t, want, merged.Aggregates[0].Value.String())
		require.Equal(t, int64(2), merged.Aggregates[0].Records)
	}
	for _, pair := range [][2]usage.Aggregate{{first.Aggregates[0], second.Aggregates[0]}, {second.Aggregates[0], first.Aggregates[0]}} {
		g, err := pair[0].Merge(pair[1])
		require.NoError(t, err)
		require.Equal(t, want, g.Value.String())
	}

	// The run on February 1 reads nothing of January: it still reports
	// January (an aggregate of no records, its view of the line's activity
	// through February 1), since the first run's open aggregate, given in
	// Config.Billed, was computed through January 15 only. Merged, the
	// month holds 100 TB: 100 TB-months, not 100 × 14/31.
	idle := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}, Through: mon(2),
		ClosedBefore: jan15, Ledger: first.Ledger, Billed: first.Aggregates}, nil)
	merged, err := usage.MergeReports(first, idle)
	require.NoError(t, err)
	require.Len(t, merged.Aggregates, 1)
	require.Equal(t, "100", merged.Aggregates[0].Value.String())
	require.Equal(t, int64(1), merged.Aggregates[0].Records)
}

// Aggregate.Through round-trips through JSON, and an aggregate stored
// before it was (no "through") decodes with the zero time, which Merge
// treats as before: the union of the inactive stretches.
func TestWeightedAverageThroughJSON(t *testing.T) {
	jan15 := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	first := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(jan15)}, Through: jan15},
		[]usage.Record{reading("jan-01", mon(1), "100")})
	g := first.Aggregates[0]
	require.True(t, g.Through.Equal(jan15))
	b, err := json.Marshal(g)
	require.NoError(t, err)
	require.Contains(t, string(b), `"through":"2026-01-15T00:00:00Z"`)
	var back usage.Aggregate
	require.NoError(t, json.Unmarshal(b, &back))
	require.True(t, back.Through.Equal(jan15))
	require.Equal(t, g.Inactive, back.Inactive)

	old := strings.Replace(string(b), `,"through":"2026-01-15T00:00:00Z"`, "", 1)
	require.NotEqual(t, string(b), old)
	var stored usage.Aggregate
	require.NoError(t, json.Unmarshal([]byte(old), &stored))
	require.True(t, stored.Through.IsZero())
	later := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}, Through: mon(2),
		ClosedBefore: jan15, Ledger: first.Ledger, Billed: []usage.Aggregate{g}}, nil)
	require.Len(t, later.Aggregates, 1)
	m, err := stored.Merge(later.Aggregates[0])
	require.NoError(t, err)
	require.Equal(t, "45.161290322581", m.Value.String()) // the union: January 15 on inactive
	require.True(t, m.Through.Equal(mon(2)))
}

// Property: readings of a weighted meter over three months, delivered by
// runs at random instants (each reading in a run after it), each run
// collecting up to its instant (the line's segment ending there) and given
// the aggregates the runs before it reported: their reports, merged in
// any order, hold for every period the aggregate one run at the end
// reports.
func TestWeightedAverageRunsMergeToOneRunProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		end := mon(4)
		var runs []time.Time
		for range rapid.IntRange(0, 4).Draw(t, "runs") {
			runs = append(runs, mon(1).Add(time.Duration(rapid.IntRange(1, int(end.Sub(mon(1))/time.Hour)-1).Draw(t, "run hour"))*time.Hour))
		}
		slices.SortFunc(runs, func(x, y time.Time) int { return x.Compare(y) })
		runs = append(slices.Compact(runs), end)
		byRun := make([][]usage.Record, len(runs))
		var all []usage.Record
		for i := range rapid.IntRange(0, 8).Draw(t, "readings") {
			at := mon(1).Add(time.Duration(rapid.IntRange(0, int(end.Sub(mon(1))/time.Hour)-1).Draw(t, "hour")) * time.Hour)
			r := reading(fmt.Sprintf("r%02d", i), at, fmt.Sprint(rapid.IntRange(0, 300).Draw(t, "tb")))
			all = append(all, r)
			k := slices.IndexFunc(runs, func(x time.Time) bool { return x.After(at) })
			k = rapid.IntRange(k, len(runs)-1).Draw(t, "run")
			byRun[k] = append(byRun[k], r)
		}
		var reps []*usage.Report
		var ledger usage.Ledger
		var seen []usage.Aggregate
		for k, at := range runs {
			rep := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(at)}, Through: at,
				Ledger: ledger, Billed: seen}, byRun[k])
			reps, ledger = append(reps, rep), rep.Ledger
			merged, err := usage.MergeReports(reps...)
			require.NoError(t, err)
			seen = merged.Aggregates
		}
		perm := rapid.Permutation(reps).Draw(t, "order")
		merged, err := usage.MergeReports(perm...)
		require.NoError(t, err)
		one := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(end)}, Through: end}, all)
		for _, g := range one.Aggregates {
			m, ok := aggregateAt(merged.Aggregates, g.Period.Start)
			require.True(t, ok, "period %s: one run reports %s, the runs nothing", g.Period, g.Value)
			require.True(t, m.Value.Equal(g.Value), "period %s: the runs merge to %s, one run %s", g.Period, m.Value, g.Value)
			require.Equal(t, g.Records, m.Records)
		}
		for _, m := range merged.Aggregates {
			if _, ok := aggregateAt(one.Aggregates, m.Period.Start); !ok {
				require.True(t, m.Value.IsZero(), "period %s: the runs report %s, one run nothing", m.Period, m.Value)
			}
		}
	})
}
