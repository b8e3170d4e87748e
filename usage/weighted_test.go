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

var tbMeter = usage.Meter{ID: "tb_protected", Unit: "TB", Aggregation: usage.WeightedAverage}

func tbLine(start time.Time) usage.Line {
	return usage.Line{
		Ref: "backup-1", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: start,
		Active: []ensemble.Period{ensemble.MustPeriod(start, start.AddDate(1, 0, 0))},
	}
}

func reading(id string, at time.Time, q string) usage.Record {
	return usage.Record{ID: usage.RecordID(id), Line: "backup-1", Meter: tbMeter.ID, Quantity: decimal.RequireFromString(q), At: at}
}

// daily returns one reading a day at 00:00 from day from to day to of
// January 2026 (1-based, inclusive).
func daily(from, to int, q string) []usage.Record {
	var rs []usage.Record
	for d := from; d <= to; d++ {
		rs = append(rs, reading(fmt.Sprintf("jan-%02d", d), time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC), q))
	}
	return rs
}

func collectTB(t tb, cfg usage.Config, rs []usage.Record) *usage.Report {
	t.Helper()
	rep, err := usage.Collect(cfg, slices.Values(rs))
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	return rep
}

// The trial: 100 TB protected every day of January is exactly 100
// TB-months, where the host's workaround (100/31 rounded to 3.23 a day,
// summed) gave 100.13 and crossed a tier boundary.
func TestWeightedAverageDailyReadingsAreExact(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}, Through: jan.AddDate(0, 1, 0)}
	rep := collectTB(t, cfg, daily(1, 31, "100"))
	require.Len(t, rep.Aggregates, 1)
	g := rep.Aggregates[0]
	require.Equal(t, "100", g.Value.String())
	require.Equal(t, usage.WeightedAverage, g.Aggregation)
	require.EqualValues(t, 31, g.Records)
	require.Len(t, g.Levels, 31)

	rep = collectTB(t, cfg, append(daily(1, 10, "100"), daily(11, 31, "200")...))
	want := decimal.RequireFromString("5200").DivRound(decimal.NewFromInt(31), usage.WeightedScale)
	require.True(t, rep.Aggregates[0].Value.Equal(want), "got %s, want %s", rep.Aggregates[0].Value, want)
	require.Equal(t, "167.741935483871", rep.Aggregates[0].Value.String())
}

// The level before a period's first reading is the last reading of an
// earlier period; a line whose first reading comes mid-period averages
// zero before it.
func TestWeightedAverageCarriesLevelAcrossPeriods(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}, Through: jan.AddDate(0, 2, 0)}
	rs := []usage.Record{
		reading("a", time.Date(2026, 1, 22, 0, 0, 0, 0, time.UTC), "31"), // 10 days of January
		reading("b", time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC), "56"), // Feb 1-14 at 31, 15-28 at 56
	}
	rep := collectTB(t, cfg, rs)
	require.Len(t, rep.Aggregates, 2)
	require.Equal(t, "10", rep.Aggregates[0].Value.String()) // 31 × 10 / 31
	require.Equal(t, "43.5", rep.Aggregates[1].Value.String())
	require.True(t, rep.Aggregates[1].Levels[0].Carried)
	require.Equal(t, usage.RecordID("a"), rep.Aggregates[1].Levels[0].Record)
}

// A late reading merged with what was billed gives the one-run average.
func TestWeightedAverageLateReadingMerges(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := jan.AddDate(0, 1, 0)
	cfg := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}}
	all := append(daily(1, 10, "100"), daily(11, 31, "200")...)
	one := collectTB(t, cfg, all)

	var first, late []usage.Record
	for i, r := range all {
		if i%7 == 3 {
			late = append(late, r)
		} else {
			first = append(first, r)
		}
	}
	billed := collectTB(t, cfg, first)
	cfg.ClosedBefore, cfg.Ledger = feb, billed.Ledger
	adj := collectTB(t, cfg, append(late, first...)) // the billed ones re-sent: duplicates
	require.Len(t, adj.Adjustments, 1)
	require.EqualValues(t, len(first), adj.Stats.Resent)
	merged, err := billed.Aggregates[0].Merge(adj.Adjustments[0])
	require.NoError(t, err)
	require.True(t, merged.Value.Equal(one.Aggregates[0].Value), "merged %s, one run %s", merged.Value, one.Aggregates[0].Value)
	require.Equal(t, one.Aggregates[0].Digest, merged.Digest)
}

func TestWeightedAverageConfig(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := tbMeter
	m.AttributeTo = "partner"
	_, err := usage.New(usage.Config{Meters: []usage.Meter{m}, Lines: []usage.Line{tbLine(jan)}})
	require.ErrorIs(t, err, usage.ErrBadAggregation)

	g, err := usage.ParseAggregation("weighted_average")
	require.NoError(t, err)
	require.Equal(t, usage.WeightedAverage, g)

	rep, err := usage.Collect(usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}},
		slices.Values([]usage.Record{reading("neg", jan, "-1")}))
	require.NoError(t, err)
	require.ErrorIs(t, rep.Err(), usage.ErrNegativeQuantity)
}

// Property: the weighted average equals a plain reference (Σ over the
// period's seconds of the level, / the period's seconds), whatever the
// readings, their order and their split into a billed run and late
// deliveries merged after.
func TestWeightedAverageProperty(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := jan.AddDate(0, 1, 0)
	secs := int64(feb.Sub(jan) / time.Second)
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "readings")
		type rd struct {
			sec int64
			q   int64
			exp int32
		}
		rds := make([]rd, n)
		var rs []usage.Record
		for i := range rds {
			rds[i] = rd{rapid.Int64Range(0, secs-1).Draw(t, "sec"), rapid.Int64Range(0, 1_000_000).Draw(t, "q"), int32(rapid.IntRange(-3, 0).Draw(t, "exp"))}
			rs = append(rs, usage.Record{ID: usage.RecordID(fmt.Sprintf("r%03d", i)), Line: "backup-1", Meter: tbMeter.ID,
				Quantity: decimal.New(rds[i].q, rds[i].exp), At: jan.Add(time.Duration(rds[i].sec) * time.Second)})
		}
		// Reference: the level at each second is the reading with the
		// latest instant at or before it (the greatest id on a tie), zero
		// before the first; summed second by second in runs.
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(x, y int) int {
			if rds[x].sec != rds[y].sec {
				return int(rds[x].sec - rds[y].sec)
			}
			return x - y // ids r000.. sort as their index
		})
		total := decimal.Zero
		for k, i := range idx {
			end := secs
			if k+1 < n {
				end = rds[idx[k+1]].sec
			}
			total = total.Add(decimal.New(rds[i].q, rds[i].exp).Mul(decimal.NewFromInt(end - rds[i].sec)))
		}
		want := total.DivRound(decimal.NewFromInt(secs), usage.WeightedScale)

		cfg := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}, Through: feb}
		shuffled := rapid.Permutation(rs).Draw(t, "order")
		rep, err := usage.Collect(cfg, slices.Values(shuffled))
		require.NoError(t, err)
		require.Len(t, rep.Aggregates, 1)
		got := rep.Aggregates[0]
		require.True(t, got.Value.Equal(want), "got %s, want %s", got.Value, want)

		// Deliveries: a billed run, then late batches, each merged in.
		cut := rapid.IntRange(1, n).Draw(t, "billed")
		billed, err := usage.Collect(cfg, slices.Values(shuffled[:cut]))
		require.NoError(t, err)
		acc := billed.Aggregates[0]
		ledger := billed.Ledger
		cfg.ClosedBefore = feb
		for lo := cut; lo < n; {
			hi := rapid.IntRange(lo+1, n).Draw(t, "batch")
			cfg.Ledger = ledger
			rep, err := usage.Collect(cfg, slices.Values(shuffled[:hi])) // every earlier one re-sent
			require.NoError(t, err)
			require.Len(t, rep.Adjustments, 1)
			acc, err = acc.Merge(rep.Adjustments[0])
			require.NoError(t, err)
			ledger, lo = rep.Ledger, hi
		}
		require.True(t, acc.Value.Equal(want), "merged %s, want %s", acc.Value, want)
		require.Equal(t, got.Digest, acc.Digest)
		require.EqualValues(t, n, acc.Records)
	})
}

// Across runs, the level before February's first reading (02:00 on
// February 1) is January's last reading, carried from what January billed
// (Config.Billed): February is exactly 100 TB-months, not 100 less two
// hours of zero.
func TestWeightedAverageCarriesLevelAcrossRuns(t *testing.T) {
	jan, feb, mar := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var janRs, febRs []usage.Record
	for d := jan; d.Before(mar); d = d.AddDate(0, 0, 1) {
		r := reading(d.Format("day-2006-01-02"), d.Add(2*time.Hour), "100")
		if d.Before(feb) {
			janRs = append(janRs, r)
		} else {
			febRs = append(febRs, r)
		}
	}
	cfg := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}, Through: feb}
	first := collectTB(t, cfg, janRs)
	require.Equal(t, "99.731182795699", first.Aggregates[0].Value.String()) // zero before the first reading ever

	cfg.ClosedBefore, cfg.Ledger, cfg.Through = feb, first.Ledger, mar
	alone := collectTB(t, cfg, febRs)
	require.Equal(t, "99.702380952381", alone.Aggregates[0].Value.String()) // nothing carried: two hours of zero

	cfg.Billed = first.Aggregates
	second := collectTB(t, cfg, febRs)
	require.Len(t, second.Aggregates, 1)
	g := second.Aggregates[0]
	require.Equal(t, "100", g.Value.String())
	require.True(t, g.Levels[0].Carried)
	require.Equal(t, usage.RecordID("day-2026-01-31"), g.Levels[0].Record)

	// One run over both months carries the same level.
	cfg.ClosedBefore, cfg.Ledger, cfg.Billed = time.Time{}, usage.Ledger{}, nil
	both := collectTB(t, cfg, append(janRs, febRs...))
	require.True(t, both.Aggregates[1].Value.Equal(g.Value))

	// Billed levels outside their period are refused.
	bad := first.Aggregates[0]
	bad.Levels = slices.Clone(bad.Levels)
	bad.Levels[0].At = feb
	_, err := usage.New(usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}, Billed: []usage.Aggregate{bad}})
	require.ErrorIs(t, err, usage.ErrBadLevels)
}

// Property: a weighted average's report is the same, byte for byte in
// JSON, whatever the order and batching of the readings, their duplicates
// and conflicting re-sends, and however they are sharded by id and the
// shards' reports merged (MergeReports carries the level across the
// shards' periods as one aggregator would).
func TestWeightedAverageOrderAndShardsProperty(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := jan.AddDate(0, 3, 0)
	cfg := usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}, ClosedBefore: jan.AddDate(0, 1, 0)}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(t, "readings")
		var rs []usage.Record
		for range n {
			at := jan.Add(time.Duration(rapid.Int64Range(0, int64(end.Sub(jan)/time.Hour)-1).Draw(t, "hour")) * time.Hour)
			r := reading(fmt.Sprintf("r%02d", rapid.IntRange(0, n).Draw(t, "id")), at, fmt.Sprint(rapid.IntRange(0, 500).Draw(t, "tb")))
			rs = append(rs, r)
			if rapid.Bool().Draw(t, "dup") {
				rs = append(rs, r)
			}
		}
		want, err := usage.Collect(cfg, slices.Values(rs))
		require.NoError(t, err)
		wantJSON, err := json.Marshal(want)
		require.NoError(t, err)

		shuffled := rapid.Permutation(rs).Draw(t, "order")
		a, err := usage.New(cfg)
		require.NoError(t, err)
		for lo := 0; lo < len(shuffled); {
			hi := rapid.IntRange(lo+1, len(shuffled)).Draw(t, "batch")
			a.Add(slices.Values(shuffled[lo:hi]))
			lo = hi
		}
		got, err := json.Marshal(a.Report())
		require.NoError(t, err)
		require.JSONEq(t, string(wantJSON), string(got))

		shards := rapid.IntRange(1, 4).Draw(t, "shards")
		parts := make([][]usage.Record, shards)
		for _, r := range shuffled {
			k := int(r.ID[len(r.ID)-1]) % shards
			parts[k] = append(parts[k], r)
		}
		var reps []*usage.Report
		for _, p := range parts {
			rep, err := usage.Collect(cfg, slices.Values(p))
			require.NoError(t, err)
			reps = append(reps, rep)
		}
		merged, err := usage.MergeReports(reps...)
		require.NoError(t, err)
		got, err = json.Marshal(merged)
		require.NoError(t, err)
		require.JSONEq(t, string(wantJSON), string(got))
	})
}

// A meter is declared weighted_average by name in a config's JSON (and
// YAML, through the same text unmarshalling); billed aggregates persisted
// as JSON keep their levels, so they carry and merge after a round trip.
func TestWeightedAverageJSON(t *testing.T) {
	var cfg usage.Config
	require.NoError(t, json.Unmarshal([]byte(`{"meters": [{"id": "tb_protected", "unit": "TB", "aggregation": "weighted_average"}], "lines": []}`), &cfg))
	require.Equal(t, usage.WeightedAverage, cfg.Meters[0].Aggregation)
	var pe *usage.ParseError
	require.ErrorAs(t, json.Unmarshal([]byte(`{"meters": [{"id": "tb", "aggregation": "weighted_sum"}]}`), &cfg), &pe)

	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg = usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}}
	rep := collectTB(t, cfg, append(daily(1, 10, "100"), daily(11, 31, "200.50")...))
	b, err := json.Marshal(rep.Aggregates)
	require.NoError(t, err)
	var back []usage.Aggregate
	require.NoError(t, json.Unmarshal(b, &back))
	require.Len(t, back[0].Levels, 31)
	require.True(t, back[0].Levels[30].Quantity.Equal(decimal.RequireFromString("200.5")))
	require.True(t, back[0].Value.Equal(rep.Aggregates[0].Value))
	late := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{tbLine(jan)}, ClosedBefore: jan.AddDate(0, 1, 0)},
		[]usage.Record{reading("jan-31-reread", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), "100")})
	merged, err := back[0].Merge(late.Adjustments[0])
	require.NoError(t, err)
	// 100 for 10 days, 200.50 for 20, 100 for the last: (1000 + 4010 + 100)/31.
	require.Equal(t, "164.838709677419", merged.Value.String())
	cfg.Billed = back
	_, err = usage.New(cfg)
	require.NoError(t, err)
}

// A line cancelled on January 21, or paused January 11-20, holds its level
// only while active: the period's average prorates it, where carrying the
// last reading to the period's end would bill 100 TB-months.
func TestWeightedAverageInactiveStretchesCountZero(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name   string
		active []ensemble.Period
		want   string
	}{
		{"cancelled", []ensemble.Period{ensemble.MustPeriod(jan, day(21))}, "64.516129032258"},                                                  // 100 × 20/31
		{"paused", []ensemble.Period{ensemble.MustPeriod(jan, day(11)), ensemble.MustPeriod(day(21), jan.AddDate(1, 0, 0))}, "67.741935483871"}, // 100 × 21/31
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tbLine(jan)
			l.Active = tc.active
			var rs []usage.Record
			for _, r := range daily(1, 31, "100") {
				for _, p := range tc.active {
					if p.Contains(r.At) {
						rs = append(rs, r)
					}
				}
			}
			rep := collectTB(t, usage.Config{Meters: []usage.Meter{tbMeter}, Lines: []usage.Line{l}, Through: jan.AddDate(0, 1, 0)}, rs)
			require.Len(t, rep.Aggregates, 1)
			g := rep.Aggregates[0]
			require.Equal(t, tc.want, g.Value.String())
			require.NotEmpty(t, g.Inactive)
			// Merging with an empty late aggregate keeps the stretches.
			m, err := g.Merge(usage.Aggregate{Line: g.Line, Meter: g.Meter, Aggregation: g.Aggregation, Period: g.Period})
			require.NoError(t, err)
			require.True(t, m.Value.Equal(g.Value))
		})
	}
}
