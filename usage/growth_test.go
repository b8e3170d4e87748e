package usage_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
)

// TestConflictManyContents feeds ids with thousands of different contents,
// each content again respelled (trailing zeros, another zone, a fresh
// map): every content is listed once and every respelled copy counted as a
// duplicate. Matching a record against the contents of its id takes
// constant time, so this runs in milliseconds (it took seconds when each
// record was compared with every content before it).
func TestConflictManyContents(t *testing.T) {
	tests := []struct {
		name     string
		contents int
		meter    string
		attrs    bool
	}{
		{"sum quantities", 5000, "gpu", false},
		{"count_unique users", 5000, "users", true},
		{"rejected first content", 2000, "tpu", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := usage.New(testConfig())
			require.NoError(t, err)
			for pass := range 2 {
				for i := range tt.contents {
					r := rec("x", "L1", tt.meter, strconv.Itoa(i), "2026-01-05T00:00:00Z")
					if tt.attrs {
						r.Attributes = map[string]string{"user": "u" + strconv.Itoa(i%7), "n": strconv.Itoa(i)}
					}
					if pass == 1 {
						r = respell(r)
					}
					a.AddRecord(r)
				}
			}
			rep := a.Report()
			require.Len(t, rep.Conflicts, 1)
			require.Len(t, rep.Conflicts[0].Records, tt.contents)
			require.Equal(t, int64(tt.contents), rep.Stats.Duplicates)
			require.Empty(t, rep.Aggregates)
		})
	}
}

// TestPropertyConflictContentsMatchModel draws few ids with many contents,
// respelled repeats among them, and checks the report against the model,
// which compares each record with every content seen before (the plain
// reference of the content index).
func TestPropertyConflictContentsMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		base := rapid.SliceOfN(genRecord(), 1, 40).Draw(t, "records")
		for i := range base {
			base[i].ID = usage.RecordID("c" + strconv.Itoa(rapid.IntRange(0, 2).Draw(t, "id_"+strconv.Itoa(i))))
			base[i].Quantity = base[i].Quantity.Mod(decimal.New(1000, 0)) // readable: no rejection before dedup
		}
		stream := slices.Clone(base)
		for _, i := range rapid.SliceOfN(rapid.IntRange(0, len(base)-1), 0, 30).Draw(t, "respelled") {
			stream = append(stream, respell(base[i]))
		}
		stream = rapid.Permutation(stream).Draw(t, "stream")
		checkAgainstModel(t, collect(t, cfg, stream...), model(t, cfg, stream))
	})
}

// TestPropertySegmentedLineMatchesModel draws a line of many short active
// segments, which no billing period lies inside (so every record takes the
// path that searches the segments), and checks the report against the
// model, which scans every segment.
func TestPropertySegmentedLineMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := testConfig()
		l := &cfg.Lines[0]
		l.Active = nil
		for d := range rapid.IntRange(1, 80).Draw(t, "segments") {
			start := genBase.AddDate(0, 0, 7+d)
			l.Active = append(l.Active, period(start.Format(time.RFC3339), start.Add(time.Duration(rapid.IntRange(1, 30).Draw(t, "hours"))*time.Hour).Format(time.RFC3339)))
		}
		records := rapid.SliceOfN(genRecord(), 0, 60).Draw(t, "records")
		checkAgainstModel(t, collect(t, cfg, records...), model(t, cfg, records))
	})
}

// TestMergeManyShards merges the reports of 500 shards that each counted
// 100 of one meter's unique values (and listed 100 record ids): the merge
// equals the report of one aggregator over every record. The values and
// ids of one key are gathered and sorted once, so the merge takes
// milliseconds (about two seconds when each shard's aggregate was merged
// into a list grown by every shard before it).
func TestMergeManyShards(t *testing.T) {
	cfg, shards := shardRecords(50_000)
	reps := make([]*usage.Report, len(shards))
	for k, recs := range shards {
		reps[k] = collect(t, cfg, recs...)
	}
	got, err := usage.MergeReports(reps...)
	require.NoError(t, err)
	require.Len(t, got.Aggregates, 1)
	require.Len(t, got.Aggregates[0].Uniques, 25_000)
	requireSameReport(t, got, collect(t, cfg, slices.Concat(shards...)...))
}

// mergePairwise is the plain reference of how MergeReports folds
// aggregates: sorted stably by line, meter and period start, those of one
// key merged one after the other with Aggregate.Merge.
func mergePairwise(gs []usage.Aggregate) ([]usage.Aggregate, error) {
	key := func(x, y usage.Aggregate) int {
		if c := strings.Compare(string(x.Line), string(y.Line)); c != 0 {
			return c
		}
		if c := strings.Compare(string(x.Meter), string(y.Meter)); c != 0 {
			return c
		}
		return x.Period.Start.Compare(y.Period.Start)
	}
	gs = slices.Clone(gs)
	slices.SortStableFunc(gs, key)
	out := []usage.Aggregate{}
	for _, g := range gs {
		g.Uniques, g.RecordIDs = slices.Clone(g.Uniques), slices.Clone(g.RecordIDs)
		if n := len(out); n > 0 && key(out[n-1], g) == 0 {
			m, err := out[n-1].Merge(g)
			if err != nil {
				return nil, fmt.Errorf("usage: merge reports: %w", err)
			}
			out[n-1] = m
			continue
		}
		out = append(out, g)
	}
	return out, nil
}

// genAggregate draws aggregates over two lines, two meters and two
// periods, most of one aggregation per meter but some of another (which
// Merge refuses), some with another end, with nil, empty, unsorted and
// repeating lists of unique values and record ids.
func genAggregate() *rapid.Generator[usage.Aggregate] {
	jan, feb := utc("2026-01-01T00:00:00Z"), utc("2026-02-01T00:00:00Z")
	list := func(t *rapid.T, name string) []string {
		switch rapid.IntRange(0, 3).Draw(t, name+"_kind") {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		return rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "c", "d", "e"}), 1, 6).Draw(t, name)
	}
	return rapid.Custom(func(t *rapid.T) usage.Aggregate {
		g := usage.Aggregate{
			Line:  usage.LineRef(rapid.SampledFrom([]string{"L1", "L2"}).Draw(t, "line")),
			Meter: usage.MeterID(rapid.SampledFrom([]string{"m1", "m2"}).Draw(t, "meter")),
			Unit:  rapid.SampledFrom([]string{"", "u"}).Draw(t, "unit"),
			Late:  rapid.Bool().Draw(t, "late"),
			Value: genQuantity().Draw(t, "value"),
		}
		g.Aggregation = usage.CountUnique
		if g.Meter == "m2" {
			g.Aggregation = rapid.SampledFrom([]usage.Aggregation{usage.Sum, usage.Max, usage.Latest, usage.Count}).Draw(t, "aggregation")
		}
		if rapid.IntRange(0, 19).Draw(t, "odd_aggregation") == 0 {
			g.Aggregation = usage.Sum
		}
		start := rapid.SampledFrom([]time.Time{jan, feb}).Draw(t, "start")
		end := start.AddDate(0, 1, 0)
		if rapid.IntRange(0, 19).Draw(t, "odd_end") == 0 {
			end = end.Add(time.Hour)
		}
		g.Period = ensemble.MustPeriod(start, end)
		g.Records = rapid.Int64Range(0, 5).Draw(t, "records")
		ids := list(t, "record_ids")
		for _, id := range ids {
			g.Digest = g.Digest.Add(usage.DigestOf(usage.RecordID(id)))
		}
		if ids != nil {
			g.RecordIDs = make([]usage.RecordID, len(ids))
			for i, id := range ids {
				g.RecordIDs[i] = usage.RecordID(id)
			}
		}
		g.Source = usage.RecordID(rapid.SampledFrom([]string{"", "a", "b", "c"}).Draw(t, "source"))
		g.SourceAt = jan.Add(time.Duration(rapid.IntRange(0, 3).Draw(t, "source_at")) * time.Hour)
		g.Uniques = list(t, "uniques")
		return g
	})
}

// TestPropertyMergeReportsMatchesPairwise checks the one-pass fold of
// MergeReports against the plain reference that merges the aggregates of
// a key one after the other: the same aggregates (nil and empty lists
// apart, values spelled alike), or the same error, and inputs unchanged.
func TestPropertyMergeReportsMatchesPairwise(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		reps := make([]*usage.Report, rapid.IntRange(0, 6).Draw(t, "reports"))
		var aggs, adjs []usage.Aggregate
		for k := range reps {
			reps[k] = &usage.Report{
				Aggregates:  rapid.SliceOfN(genAggregate(), 0, 5).Draw(t, "aggregates"),
				Adjustments: rapid.SliceOfN(genAggregate(), 0, 3).Draw(t, "adjustments"),
			}
			aggs, adjs = append(aggs, reps[k].Aggregates...), append(adjs, reps[k].Adjustments...)
		}
		before := mustJSON(t, reps)
		got, err := usage.MergeReports(reps...)
		require.Equal(t, before, mustJSON(t, reps), "inputs changed")
		wantAggs, errAggs := mergePairwise(aggs)
		wantAdjs, errAdjs := mergePairwise(adjs)
		if wantErr := errors.Join(errAggs, errAdjs); wantErr != nil {
			require.Error(t, err)
			require.Nil(t, got)
			first := errAggs
			if first == nil {
				first = errAdjs
			}
			require.Equal(t, first.Error(), err.Error())
			return
		}
		require.NoError(t, err)
		for _, pair := range [][2][]usage.Aggregate{{wantAggs, got.Aggregates}, {wantAdjs, got.Adjustments}} {
			want, got := pair[0], pair[1]
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("merged aggregates differ from the pairwise merge (-want +got):\n%s", d)
			}
			for i := range want {
				require.Equal(t, want[i].Value.Exponent(), got[i].Value.Exponent(), "value %s", got[i].Value)
			}
			require.Equal(t, mustJSON(t, want), mustJSON(t, got))
		}
	})
}

// TestPeriodsNewestFirst reads one record in each of 50,000 billing
// periods of a line, newest first, for a line that lists its periods and
// for one billed daily: the report is the one of the same records read
// oldest first. A new period is placed among those met before in
// logarithmic time, so each pass takes tens of milliseconds (the listed
// periods took about two seconds when every period was inserted at the
// front of one sorted slice).
func TestPeriodsNewestFirst(t *testing.T) {
	const n = 50_000
	listed, listedRecs := listedPeriods(n)
	base := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
	daily := usage.Config{Meters: listed.Meters, Lines: []usage.Line{{
		Ref: "L1", Cadence: ensemble.Every(1, ensemble.Daily), Anchor: base,
		Active: []ensemble.Period{ensemble.MustPeriod(base, base.AddDate(0, 0, n))},
	}}}
	dailyRecs := make([]usage.Record, n)
	for i := range n {
		dailyRecs[n-1-i] = usage.Record{ID: usage.RecordID("e-" + strconv.Itoa(i)), Line: "L1", Meter: "gpu", Quantity: decimal.New(1, 0), At: base.AddDate(0, 0, i).Add(time.Hour)}
	}
	tests := []struct {
		name    string
		cfg     usage.Config
		records []usage.Record
	}{
		{"listed periods", listed, listedRecs},
		{"daily cadence", daily, dailyRecs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(t, tt.cfg, tt.records...)
			require.Len(t, got.Aggregates, n)
			oldestFirst := slices.Clone(tt.records)
			slices.Reverse(oldestFirst)
			requireSameReport(t, got, collect(t, tt.cfg, oldestFirst...))
		})
	}
}

// TestPropertyManyPeriodsMatchModel reads records over a line that lists
// up to 300 periods and a line billed daily, in any order or newest
// first, so that periods are met before and between those already held,
// and checks the report against the model, which finds each record's
// period by a scan.
func TestPropertyManyPeriodsMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		cfg.Lines = slices.Clone(cfg.Lines)
		jan := utc("2026-01-01T00:00:00Z")
		cfg.Lines[0].Cadence = ensemble.Every(1, ensemble.Daily)
		l4 := &cfg.Lines[2]
		l4.Periods = nil
		at := jan
		for range rapid.IntRange(1, 300).Draw(t, "periods") {
			at = at.Add(time.Duration(rapid.IntRange(0, 2).Draw(t, "gap_hours")) * time.Hour)
			end := at.Add(time.Duration(rapid.IntRange(1, 12).Draw(t, "hours")) * time.Hour)
			l4.Periods = append(l4.Periods, ensemble.MustPeriod(at, end))
			at = end
		}
		records := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) usage.Record {
			r := genRecord().Draw(t, "record")
			r.Line = usage.LineRef(rapid.SampledFrom([]string{"L1", "L4"}).Draw(t, "line"))
			r.At = jan.Add(time.Duration(rapid.Int64Range(0, int64(at.Sub(jan)/time.Minute)).Draw(t, "minute")) * time.Minute)
			return r
		}), 0, 100).Draw(t, "records")
		if rapid.Bool().Draw(t, "newest_first") {
			slices.SortStableFunc(records, func(x, y usage.Record) int { return y.At.Compare(x.At) })
		}
		checkAgainstModel(t, collect(t, cfg, records...), model(t, cfg, records))
	})
}

// TestReportsBetweenConflicts reads 200,000 records of a sum and a max
// meter in batches of 250, each batch turning an id of the batch before
// into a conflict, and asks for a report after every batch: the last one
// equals the report of one pass over every record. A withdrawn record is
// taken out of its sum and digest in constant time, and a max held by
// another record stays, so the 800 reports cost little more than listing
// their conflicts (they took about a second more, three times the whole
// test, when every report after a conflict re-read every record read so
// far and rebuilt the slot that lost one).
func TestReportsBetweenConflicts(t *testing.T) {
	const n, batch = 200_000, 250
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := testConfig()
	record := func(i int) usage.Record {
		meter := usage.MeterID("gpu")
		if i%2 == 1 {
			meter = "peak"
		}
		// Quantities rise with i: the max is always the newest record.
		return usage.Record{ID: usage.RecordID("e-" + strconv.Itoa(i)), Line: "L1", Meter: meter, Quantity: decimal.New(int64(100+i), -2), At: base.Add(time.Duration(i) * time.Millisecond)}
	}
	a, err := usage.New(cfg)
	require.NoError(t, err)
	all := make([]usage.Record, 0, n+n/batch)
	for start := 0; start < n; start += batch {
		recs := make([]usage.Record, 0, batch+1)
		for i := start; i < start+batch; i++ {
			recs = append(recs, record(i))
		}
		if start > 0 {
			r := record(start - batch/2)
			r.Quantity = r.Quantity.Add(decimal.New(1, -3))
			recs = append(recs, r)
		}
		a.Add(slices.Values(recs))
		all = append(all, recs...)
		a.Report()
	}
	got := a.Report()
	require.Equal(t, int64(n/batch-1), got.Stats.Conflicts)
	want := collect(t, cfg, all...)
	requireSameReport(t, got, want)
	for i, g := range got.Aggregates {
		require.Equal(t, want.Aggregates[i].Value.Exponent(), g.Value.Exponent(), "%s %s", g.Line, g.Meter)
	}
}

// genContested draws records of few ids over one line and two periods,
// for every meter, with quantities at several exponents: ids turn into
// conflicts in slots of many records, and withdrawing one may or may not
// change a sum's exponent, a max, a latest value or a unique count.
func genContested() *rapid.Generator[usage.Record] {
	return rapid.Custom(func(t *rapid.T) usage.Record {
		r := usage.Record{
			ID:       usage.RecordID("k" + strconv.Itoa(rapid.IntRange(0, 15).Draw(t, "id"))),
			Line:     "L1",
			Meter:    usage.MeterID(rapid.SampledFrom([]string{"gpu", "gpu", "peak", "calls", "users", "level"}).Draw(t, "meter")),
			Quantity: genQuantity().Draw(t, "quantity"),
			At:       utc(rapid.SampledFrom([]string{"2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z", "2026-02-03T00:00:00Z"}).Draw(t, "at")),
		}
		if rapid.IntRange(0, 9).Draw(t, "no_user") > 0 {
			r.Attributes = map[string]string{"user": rapid.SampledFrom([]string{"ann", "bob", "cy", "dee"}).Draw(t, "user")}
			if rapid.Bool().Draw(t, "has_region") {
				r.Attributes["region"] = rapid.SampledFrom([]string{"eu", "us"}).Draw(t, "region")
			}
		}
		return r
	})
}

// TestPropertyReportsBetweenConflictsMatchModel reads records of few ids
// into few slots, new contents of ids already read, and duplicates, and
// asks for reports in between: every report matches the model (values
// spelled alike) and a fresh aggregator's report of the records so far,
// whichever slots were repaired in place and which rebuilt.
func TestPropertyReportsBetweenConflictsMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		a, err := usage.New(cfg)
		require.NoError(t, err)
		var all []usage.Record
		t.Repeat(map[string]func(*rapid.T){
			"add": func(t *rapid.T) {
				batch := rapid.SliceOfN(genContested(), 1, 8).Draw(t, "batch")
				a.Add(slices.Values(batch))
				all = append(all, batch...)
			},
			"add_conflict": func(t *rapid.T) {
				if len(all) == 0 {
					t.Skip("no id to contradict")
				}
				r := all[rapid.IntRange(0, len(all)-1).Draw(t, "which")]
				r.Quantity = r.Quantity.Add(decimal.New(1, -rapid.Int32Range(0, 3).Draw(t, "delta_scale")))
				a.AddRecord(r)
				all = append(all, r)
			},
			"add_duplicate": func(t *rapid.T) {
				if len(all) == 0 {
					t.Skip("nothing to repeat")
				}
				r := respell(all[rapid.IntRange(0, len(all)-1).Draw(t, "which")])
				a.AddRecord(r)
				all = append(all, r)
			},
			"report": func(t *rapid.T) {
				got := a.Report()
				checkAgainstModel(t, got, model(t, cfg, all))
				requireSameReport(t, got, collect(t, cfg, all...))
			},
		})
		checkAgainstModel(t, a.Report(), model(t, cfg, all))
	})
}
