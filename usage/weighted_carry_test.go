package usage_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// tbLineUntil is the backup line from January 1, 2026, active until the
// run at until (as invoice.Builder.UsageLines ends a running segment).
func tbLineUntil(until time.Time) usage.Line {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return usage.Line{Ref: "backup-1", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: jan,
		Active: []ensemble.Period{ensemble.MustPeriod(jan, until)}}
}

// mon returns the first instant of month m of 2026 (13 is January 2027).
func mon(m int) time.Time { return time.Date(2026, time.Month(m), 1, 0, 0, 0, 0, time.UTC) }

// aggregateAt returns the aggregate of list whose period starts at start.
func aggregateAt(list []usage.Aggregate, start time.Time) (usage.Aggregate, bool) {
	for _, g := range list {
		if g.Period.Start.Equal(start) {
			return g, true
		}
	}
	return usage.Aggregate{}, false
}

// 100 TB read on January 10, and no reading in February: the level holds
// through February, which bills 100 TB-months, whether January was read
// in the same run or billed by an earlier one (Config.Billed). Before,
// February had no aggregate and billed as idle: zero.
func TestWeightedAverageCarriesIntoPeriodWithoutReading(t *testing.T) {
	jan10 := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	rs := []usage.Record{reading("jan-10", jan10, "100")}

	one := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(3))}}, rs)
	require.Len(t, one.Aggregates, 2)
	require.Equal(t, "70.967741935484", one.Aggregates[0].Value.String()) // 100 × 22/31
	feb := one.Aggregates[1]
	require.True(t, feb.Period.Equal(ensemble.MustPeriod(mon(2), mon(3))), "period %s", feb.Period)
	require.Equal(t, "100", feb.Value.String())
	require.Zero(t, feb.Records)
	require.Equal(t, usage.Digest{}, feb.Digest)
	require.Equal(t, []usage.Level{{At: jan10, Quantity: decimal.NewFromInt(100), Record: "jan-10", Carried: true}}, feb.Levels)

	// Across runs: the run at February 1 bills January; the one at March 1
	// reads nothing and carries January's level from Config.Billed.
	first := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}}, rs)
	require.Len(t, first.Aggregates, 1)
	second := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(3))},
		ClosedBefore: mon(2), Ledger: first.Ledger, Billed: first.Aggregates}, nil)
	require.Len(t, second.Aggregates, 1)
	require.Empty(t, second.Adjustments)
	require.Equal(t, "100", second.Aggregates[0].Value.String())
	require.True(t, second.Aggregates[0].Period.Equal(feb.Period))

	// Config.Through bounds the periods reported: a line whose segment
	// runs to the end of the year reports February and March at the run
	// of April 1, not the months after it.
	long := tbLine(mon(1))
	third := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{long}, Through: mon(4)}, rs)
	require.Len(t, third.Aggregates, 3)
	require.Equal(t, "100", third.Aggregates[2].Value.String())

	// A line that stopped (cancelled on February 15) carries its level
	// only while active: 100 × 14/28 in February, nothing after.
	stopped := tbLine(mon(1))
	stopped.Active = []ensemble.Period{ensemble.MustPeriod(mon(1), time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC))}
	fourth := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{stopped}}, rs)
	require.Len(t, fourth.Aggregates, 2)
	require.Equal(t, "50", fourth.Aggregates[1].Value.String())
}

// A late reading changes the level carried into the periods after it that
// were billed already: January 10 read 100 and billed; February billed
// with that level carried until its own reading (100 on February 15), or
// with no reading at all; then a reading of 200 on January 20 arrives
// late. February was billed carrying 100 and now carries 200: the run
// reports an adjustment of no records for it (Late, its Levels the new
// carried level), which merged with what February billed re-averages it.
// Before, only January was adjusted, and February stayed billed at the
// level it opened with.
func TestWeightedAverageLateReadingRecarriesBilledPeriods(t *testing.T) {
	jan10, jan20, feb15 := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		feb      []usage.Record
		billed   string // February as billed
		adjusted string // February merged with its adjustment
		march    string // March, read nowhere: the last level of all
	}{
		{"february read on the 15th", []usage.Record{reading("feb-15", feb15, "100")}, "100", "150", "100"}, // (200×14 + 100×14)/28
		{"february not read", nil, "100", "200", "200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}}
			r1 := collectTB(t, cfg, []usage.Record{reading("jan-10", jan10, "100")})
			billed := slices.Clone(r1.Aggregates)

			cfg = usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(3))}, ClosedBefore: mon(2), Ledger: r1.Ledger, Billed: billed}
			r2 := collectTB(t, cfg, tc.feb)
			require.Len(t, r2.Aggregates, 1)
			require.Equal(t, tc.billed, r2.Aggregates[0].Value.String())
			billed = append(billed, r2.Aggregates...)

			cfg = usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(4))}, ClosedBefore: mon(3), Ledger: r2.Ledger, Billed: billed}
			r3 := collectTB(t, cfg, []usage.Record{reading("jan-20", jan20, "200")})
			require.Len(t, r3.Adjustments, 2, "January's late reading, and February's carried level")
			adj, ok := aggregateAt(r3.Adjustments, mon(2))
			require.True(t, ok)
			require.True(t, adj.Late)
			require.Zero(t, adj.Records)
			require.Equal(t, []usage.Level{{At: jan20, Quantity: decimal.NewFromInt(200), Record: "jan-20", Carried: true}}, adj.Levels)
			merged, err := r2.Aggregates[0].Merge(adj)
			require.NoError(t, err)
			require.Equal(t, tc.adjusted, merged.Value.String())
			// March, read nowhere, carries the last level of all.
			require.Len(t, r3.Aggregates, 1)
			require.Equal(t, tc.march, r3.Aggregates[0].Value.String())
		})
	}
}

// Property: readings delivered over monthly runs (each run at the start
// of a month, a reading in its own month's run or any later one, late
// ones re-averaging what was billed), every run given the ledger and the
// usage billed before it (Config.Billed), bill each period exactly what
// one run over every reading bills: the periods' billed aggregates merged
// with their adjustments equal the one run's, value for value, and a
// period with no reading bills the level carried into it.
func TestWeightedAverageRunsBillOneRunProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		months := rapid.IntRange(1, 5).Draw(t, "months")
		n := rapid.IntRange(0, 12).Draw(t, "readings")
		byRun := make([][]usage.Record, months+1) // run k is at the start of month k+1 (k = 1..months)
		var all []usage.Record
		for i := range n {
			m := rapid.IntRange(1, months).Draw(t, "month")
			day := rapid.IntRange(0, 27).Draw(t, "day")
			hour := rapid.IntRange(0, 23).Draw(t, "hour")
			r := reading(fmt.Sprintf("r%02d", i), mon(m).Add(time.Duration(day*24+hour)*time.Hour), fmt.Sprint(rapid.IntRange(0, 300).Draw(t, "tb")))
			all = append(all, r)
			k := rapid.IntRange(m, months).Draw(t, "run")
			byRun[k] = append(byRun[k], r)
		}
		end := mon(months + 1)
		one, err := usage.Collect(usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(end)}}, slices.Values(all))
		require.NoError(t, err)
		require.Empty(t, one.Adjustments)

		var billed []usage.Aggregate
		var ledger usage.Ledger
		per := map[time.Time]usage.Aggregate{}
		for k := 1; k <= months; k++ {
			cfg := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(k + 1))}, Ledger: ledger, Billed: billed}
			if k > 1 {
				cfg.ClosedBefore = mon(k)
			}
			rep, err := usage.Collect(cfg, slices.Values(byRun[k]))
			require.NoError(t, err)
			require.NoError(t, rep.Err())
			for _, g := range append(slices.Clone(rep.Aggregates), rep.Adjustments...) {
				require.Equal(t, g.Late, g.Period.End.Before(mon(k+1)), "%s late %t in the run at %s", g.Period, g.Late, mon(k+1))
				if prev, ok := per[g.Period.Start]; ok {
					require.True(t, g.Late, "%s billed twice", g.Period)
					g, err = prev.Merge(g)
					require.NoError(t, err)
				} else {
					require.False(t, g.Late, "%s: an adjustment with nothing billed", g.Period)
				}
				per[g.Period.Start] = g
			}
			billed = append(append(billed, rep.Aggregates...), rep.Adjustments...)
			if _, ok := per[mon(k)]; !ok {
				// Billed idle: what invoice.Builder.BilledUsage keeps.
				idle := usage.Aggregate{Line: "backup-1", Meter: tbMeter.ID, Unit: tbMeter.Unit, Aggregation: usage.WeightedAverage, Period: ensemble.MustPeriod(mon(k), mon(k+1))}
				per[mon(k)] = idle
				billed = append(billed, idle)
			}
			ledger = rep.Ledger
		}
		for start, got := range per {
			if _, ok := aggregateAt(one.Aggregates, start); !ok {
				require.True(t, got.Value.IsZero(), "%s: the runs bill %s, one run nothing", got.Period, got.Value)
			}
		}
		for _, want := range one.Aggregates {
			got := per[want.Period.Start]
			require.True(t, got.Value.Equal(want.Value), "%s: runs %s, one run %s", want.Period, got.Value, want.Value)
			require.Equal(t, want.Records, got.Records)
			require.Equal(t, want.Digest, got.Digest)
		}
	})
}
