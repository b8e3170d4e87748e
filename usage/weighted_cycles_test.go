package usage_test

import (
	"encoding/json"
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

// piecesLine is the backup line over January 2026, its cycle cut at cut
// (an upgrade): two listed periods, pieces of the January cycle.
func piecesLine(cut time.Time) usage.Line {
	return usage.Line{Ref: "backup-1", Active: []ensemble.Period{ensemble.MustPeriod(mon(1), mon(2))},
		Periods: []ensemble.Period{ensemble.MustPeriod(mon(1), cut), ensemble.MustPeriod(cut, mon(2))},
		Cycles:  []ensemble.Period{ensemble.MustPeriod(mon(1), mon(2))}}
}

// January cut on the 11th: 100 TB from the 1st, 200 from the 21st. The
// piece before the cut is 100 × 10/31 = 32.258064516129 TB-months, the
// one after (100 × 10 + 200 × 11)/31 = 103.225806451613: the level times
// the fraction of January in the piece, adding up to January's
// 135.483870967742. Averaged over the pieces themselves they were 100 and
// 152.380952380952, each billed as a month.
func TestWeightedAveragePiecesAverageOverTheirCycle(t *testing.T) {
	jan11, jan21 := time.Date(2026, 1, 11, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 21, 0, 0, 0, 0, time.UTC)
	rs := []usage.Record{reading("a", mon(1), "100"), reading("b", jan21, "200")}
	rep := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{piecesLine(jan11)}}, rs)
	require.Len(t, rep.Aggregates, 2)
	require.Equal(t, "32.258064516129", rep.Aggregates[0].Value.String())
	require.Equal(t, "103.225806451613", rep.Aggregates[1].Value.String())
	for _, g := range rep.Aggregates {
		require.True(t, g.Cycle.Equal(ensemble.MustPeriod(mon(1), mon(2))), "cycle %s", g.Cycle)
	}
	require.True(t, rep.Aggregates[1].Levels[0].Carried)

	noCycles := piecesLine(jan11)
	noCycles.Cycles = nil
	rep = collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{noCycles}}, rs)
	require.Equal(t, "100", rep.Aggregates[0].Value.String())
	require.Equal(t, "152.380952380952", rep.Aggregates[1].Value.String()) // (100×10 + 200×11)/21
	require.Equal(t, ensemble.Period{}, rep.Aggregates[0].Cycle)

	// A late reading merges over the cycle too; an aggregate of another
	// cycle does not merge.
	late := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{piecesLine(jan11)}, ClosedBefore: mon(2)},
		[]usage.Record{reading("c", time.Date(2026, 1, 26, 0, 0, 0, 0, time.UTC), "100")})
	one := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{piecesLine(jan11)}},
		append(slices.Clone(rs), reading("c", time.Date(2026, 1, 26, 0, 0, 0, 0, time.UTC), "100")))
	first := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{piecesLine(jan11)}}, rs)
	m, err := first.Aggregates[1].Merge(late.Adjustments[0])
	require.NoError(t, err)
	require.True(t, m.Value.Equal(one.Aggregates[1].Value), "merged %s, one run %s", m.Value, one.Aggregates[1].Value)
	other := late.Adjustments[0]
	other.Cycle = ensemble.Period{}
	_, err = first.Aggregates[1].Merge(other)
	require.ErrorIs(t, err, usage.ErrMergeMismatch)
}

func TestWeightedAverageCyclesConfig(t *testing.T) {
	jan11 := time.Date(2026, 1, 11, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		edit func(*usage.Line)
		want string
	}{
		{"a cycle cuts a period", func(l *usage.Line) { l.Cycles = []ensemble.Period{ensemble.MustPeriod(mon(1), jan11.Add(time.Hour))} }, "cuts period"},
		{"cycles overlap", func(l *usage.Line) {
			l.Cycles = []ensemble.Period{ensemble.MustPeriod(mon(1), mon(2)), ensemble.MustPeriod(jan11, mon(3))}
		}, "overlap"},
		{"cycles without periods", func(l *usage.Line) {
			*l = tbLine(mon(1))
			l.Cycles = []ensemble.Period{ensemble.MustPeriod(mon(1), mon(2))}
		}, "cycles without periods"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := piecesLine(jan11)
			tc.edit(&l)
			err := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{l}}.Validate()
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// Property: the pieces of a cycle add up to the cycle's average, each
// rounded once (so within half a unit of the last digit per piece),
// whatever the readings and the cuts.
func TestWeightedAveragePiecesAddUpProperty(t *testing.T) {
	secs := int64(mon(2).Sub(mon(1)) / time.Second)
	rapid.Check(t, func(t *rapid.T) {
		cuts := rapid.SliceOfNDistinct(rapid.Int64Range(1, secs-1), 1, 3, rapid.ID[int64]).Draw(t, "cuts")
		slices.Sort(cuts)
		var periods []ensemble.Period
		start := mon(1)
		for _, c := range cuts {
			at := mon(1).Add(time.Duration(c) * time.Second)
			periods = append(periods, ensemble.MustPeriod(start, at))
			start = at
		}
		periods = append(periods, ensemble.MustPeriod(start, mon(2)))
		n := rapid.IntRange(0, 10).Draw(t, "readings")
		var rs []usage.Record
		for i := range n {
			rs = append(rs, reading(fmt.Sprintf("r%02d", i), mon(1).Add(time.Duration(rapid.Int64Range(0, secs-1).Draw(t, "sec"))*time.Second),
				fmt.Sprint(rapid.IntRange(0, 1000).Draw(t, "tb"))))
		}
		whole := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLineUntil(mon(2))}}, rs)
		l := usage.Line{Ref: "backup-1", Active: []ensemble.Period{ensemble.MustPeriod(mon(1), mon(2))}, Periods: periods,
			Cycles: []ensemble.Period{ensemble.MustPeriod(mon(1), mon(2))}}
		pieces := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{l}}, rs)
		sum := decimal.Zero
		for _, g := range pieces.Aggregates {
			sum = sum.Add(g.Value)
		}
		want := decimal.Zero
		if len(whole.Aggregates) > 0 {
			want = whole.Aggregates[0].Value
		}
		tol := decimal.New(5, -usage.WeightedScale-1).Mul(decimal.NewFromInt(int64(len(periods) + 1)))
		require.True(t, sum.Sub(want).Abs().LessThanOrEqual(tol), "pieces add up to %s, the cycle is %s", sum, want)
	})
}

// Line.Cycles, Config.Through and Aggregate.Cycle round-trip through JSON:
// a config read back reports the same aggregates, and a billed piece read
// back merges with its late readings.
func TestWeightedAverageCyclesJSON(t *testing.T) {
	jan11 := time.Date(2026, 1, 11, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{piecesLine(jan11)}, Through: mon(2)}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.Contains(t, string(b), `"cycles":[{"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z"}]`)
	require.Contains(t, string(b), `"through":"2026-02-01T00:00:00Z"`)
	var back usage.Config
	require.NoError(t, json.Unmarshal(b, &back))
	rs := []usage.Record{reading("a", mon(1), "100")}
	want, err := json.Marshal(collectTB(t, cfg, rs))
	require.NoError(t, err)
	got, err := json.Marshal(collectTB(t, back, rs))
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))

	var aggs []usage.Aggregate
	require.NoError(t, json.Unmarshal(got, &struct {
		Aggregates *[]usage.Aggregate `json:"aggregates"`
	}{&aggs}))
	require.True(t, aggs[1].Cycle.Equal(ensemble.MustPeriod(mon(1), mon(2))))
	require.Equal(t, "67.741935483871", aggs[1].Value.String()) // 100 × 21/31, carried
	cfg.ClosedBefore, cfg.Billed = mon(2), aggs
	_, err = usage.New(cfg)
	require.NoError(t, err)
}
