package usage_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The trial (findings F2): 10 TB protected from January 1 and 40 TB from
// January 20; an interim run on January 15 reads the first, the month-end
// run on February 1 the second. January is (10 × 19 + 40 × 12)/31 =
// 21.612903225806 TB-months. A host that passed the interim run's open
// aggregate in Config.Billed and billed the February 1 aggregate as
// returned, forgetting to merge it with the kept one, billed 480/31 =
// 15.483870967742 (SEK 30,967.74 instead of 43,225.81) without an error;
// with no reading after the interim run it billed 0 and carried nothing
// into February. Given in Config.Open, the February 1 run reports
// January already merged: the aggregate to bill as it is.
func TestOpenAggregateMergedByTheNextRun(t *testing.T) {
	jan15 := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	jan20 := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	r1 := []usage.Record{reading("jan-01", mon(1), "10")}
	r2 := []usage.Record{reading("jan-20", jan20, "40")}

	first := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(jan15)}, Through: jan15}, r1)
	require.Len(t, first.Aggregates, 1)
	kept := first.Aggregates // January ends after the run: open, kept

	// The old path, unmerged: what the trial billed.
	old := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}, Through: mon(2),
		ClosedBefore: jan15, Ledger: first.Ledger, Billed: kept}, r2)
	require.Equal(t, "15.483870967742", old.Aggregates[0].Value.String())

	second := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}, Through: mon(2),
		ClosedBefore: jan15, Ledger: first.Ledger, Open: kept}, r2)
	require.Len(t, second.Aggregates, 1)
	jan := second.Aggregates[0]
	require.True(t, jan.Period.Start.Equal(mon(1)))
	require.Equal(t, "21.612903225806", jan.Value.String())
	require.Equal(t, int64(2), jan.Records)
	require.Equal(t, "43225.81", jan.Value.Mul(decimal.NewFromInt(2000)).StringFixedBank(2)) // SEK 2,000 a TB-month

	// Open given and Billed holding it too (the README's old sample): the
	// level is carried once, the month is the same.
	both := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}, Through: mon(2),
		ClosedBefore: jan15, Ledger: first.Ledger, Billed: kept, Open: kept}, r2)
	require.Equal(t, "21.612903225806", both.Aggregates[0].Value.String())

	// No reading after the interim run: January is 10 TB-months, and the
	// level carries into February and March (the line runs to April).
	idle := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(4))}, Through: mon(4),
		ClosedBefore: jan15, Ledger: first.Ledger, Open: kept}, nil)
	require.Len(t, idle.Aggregates, 3)
	for _, g := range idle.Aggregates {
		require.Equal(t, "10", g.Value.String(), "%s", g.Period)
	}

	// The report already holds the interim run's records: merging it with
	// the interim run's report would count them twice, and is refused.
	_, err := usage.MergeReports(first, second)
	require.ErrorIs(t, err, usage.ErrOpenAggregate)
}

// An open aggregate the run cannot merge is refused, never billed short.
func TestOpenAggregateRefused(t *testing.T) {
	jan15 := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	first := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(jan15)}, Through: jan15},
		[]usage.Record{reading("jan-01", mon(1), "10")})
	g := first.Aggregates[0]
	full := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}, Through: mon(2)},
		[]usage.Record{reading("jan-01", mon(1), "10")}).Aggregates[0]
	other := g
	other.Line = "backup-2"
	otherMeter := g
	otherMeter.Meter = "gb"
	late := g
	late.Late = true
	sum := g
	sum.Aggregation = usage.Sum
	for name, c := range map[string]struct {
		open   []usage.Aggregate
		closed time.Time
	}{
		"twice":         {open: []usage.Aggregate{g, g}},
		"unknown line":  {open: []usage.Aggregate{other}},
		"unknown meter": {open: []usage.Aggregate{otherMeter}},
		"late":          {open: []usage.Aggregate{late}},
		"aggregation":   {open: []usage.Aggregate{sum}},
		"not open":      {open: []usage.Aggregate{full}},
		"closed":        {open: []usage.Aggregate{g}, closed: mon(2)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := usage.Collect(usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}, Through: mon(2),
				ClosedBefore: c.closed, Ledger: first.Ledger, Open: c.open}, nil)
			require.ErrorIs(t, err, usage.ErrOpenAggregate)
		})
	}
}

// Property: a host following the README (each run bills the aggregates of
// the periods it closes and passes those it leaves open in Config.Open to
// the next run) bills each period what one run after every reading bills,
// whatever the readings and the run instants; for a sum meter too.
func TestOpenAggregatesRunsBillAsOneRun(t *testing.T) {
	gbMeter := usage.Meter{ID: "gb", Unit: "GB", Aggregation: usage.Sum}
	rapid.Check(t, func(t *rapid.T) {
		end := mon(4)
		var recs []usage.Record
		for i := range rapid.IntRange(0, 8).Draw(t, "readings") {
			at := mon(1).Add(time.Duration(rapid.IntRange(0, 89).Draw(t, "day")) * 24 * time.Hour)
			q := fmt.Sprint(rapid.IntRange(0, 50).Draw(t, "q"))
			if rapid.Bool().Draw(t, "sum") {
				recs = append(recs, usage.Record{ID: usage.RecordID(fmt.Sprint("s", i)), Line: "backup-1", Meter: "gb", Quantity: decimal.RequireFromString(q), At: at})
			} else {
				recs = append(recs, reading(fmt.Sprint("r", i), at, q))
			}
		}
		var runs []time.Time
		for range rapid.IntRange(0, 4).Draw(t, "runs") {
			runs = append(runs, mon(1).Add(time.Duration(rapid.IntRange(1, 89).Draw(t, "run day"))*24*time.Hour))
		}
		slices.SortFunc(runs, time.Time.Compare)
		runs = slices.Compact(append(runs, end))
		meters := []usage.Meter{tbMeter, gbMeter}

		one := collectTB(t, usage.Config{Meters: meters, Lines: []usage.Line{tbLineUntil(end)}, Through: end}, recs)
		want := map[string]string{}
		for _, g := range one.Aggregates {
			want[string(g.Meter)+g.Period.String()] = g.Value.String()
		}

		got := map[string]string{}
		var ledger usage.Ledger
		var billed, kept []usage.Aggregate
		closed := time.Time{}
		for _, run := range runs {
			var batch []usage.Record
			for _, r := range recs {
				if r.At.Before(run) && !r.At.Before(closed) {
					batch = append(batch, r)
				}
			}
			rep := collectTB(t, usage.Config{Meters: meters, Lines: []usage.Line{tbLineUntil(run)}, Through: run,
				ClosedBefore: closed, Ledger: ledger, Billed: billed, Open: kept}, batch)
			ledger, kept = rep.Ledger, nil
			for _, g := range rep.Aggregates {
				if g.Period.End.After(run) {
					kept = append(kept, g)
					continue
				}
				k := string(g.Meter) + g.Period.String()
				_, dup := got[k]
				require.False(t, dup, "%s billed twice", k)
				got[k] = g.Value.String()
				billed = append(billed, g)
			}
			require.Empty(t, rep.Adjustments)
			closed = run
		}
		require.Empty(t, kept)
		for k, v := range want {
			if v == "0" && got[k] == "" {
				continue
			}
			require.Equal(t, v, got[k], "%s", k)
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				require.Equal(t, "0", v, "%s", k)
			}
		}
	})
}
