package usage_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

var (
	genBase = utc("2025-12-25T00:00:00Z")
	paris   = func() *time.Location {
		l, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			panic(err)
		}
		return l
	}()
)

// genQuantity draws small integers and decimals spelled at various scales,
// negatives, and values near and beyond the int64 range.
func genQuantity() *rapid.Generator[decimal.Decimal] {
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) decimal.Decimal {
			return decimal.New(rapid.Int64Range(-3, 12).Draw(t, "coef"), -rapid.Int32Range(0, 2).Draw(t, "scale"))
		}),
		rapid.Custom(func(t *rapid.T) decimal.Decimal {
			return dec(rapid.SampledFrom([]string{
				"9223372036854775807", "9223372036854775806.5", "-9223372036854775808",
				"123456789012345678901234567.891", "0.000000000000000000001",
			}).Draw(t, "big"))
		}),
	)
}

// genRecord draws records over a small pool of ids, lines, meters, users
// and days, so that duplicates, conflicts and rejections all happen.
func genRecord() *rapid.Generator[usage.Record] {
	return rapid.Custom(func(t *rapid.T) usage.Record {
		r := usage.Record{
			ID:       usage.RecordID(rapid.SampledFrom([]string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "", "r10"}).Draw(t, "id")),
			Line:     usage.LineRef(rapid.SampledFrom([]string{"L1", "L1", "L2", "L2", "L4", "L9"}).Draw(t, "line")),
			Meter:    usage.MeterID(rapid.SampledFrom([]string{"gpu", "peak", "calls", "users", "level", "tpu"}).Draw(t, "meter")),
			Quantity: genQuantity().Draw(t, "quantity"),
			At:       genBase.Add(time.Duration(rapid.Int64Range(0, 150*24*60).Draw(t, "minute")) * time.Minute),
		}
		if rapid.Bool().Draw(t, "has_user") {
			r.Attributes = map[string]string{"user": rapid.SampledFrom([]string{"ann", "bob", "cy"}).Draw(t, "user")}
			if rapid.Bool().Draw(t, "has_region") {
				r.Attributes["region"] = rapid.SampledFrom([]string{"eu", "us"}).Draw(t, "region")
			}
		}
		return r
	})
}

// respell returns r with the same content written differently: trailing
// zeros on the quantity, the instant in another zone, a fresh map.
func respell(r usage.Record) usage.Record {
	r.Quantity = decimal.New(0, -3).Add(r.Quantity)
	r.At = r.At.In(paris)
	if r.Attributes != nil {
		r.Attributes = maps.Clone(r.Attributes)
	}
	return r
}

func genConfig(t *rapid.T) usage.Config {
	cfg := testConfig()
	if rapid.Bool().Draw(t, "closed") {
		cfg.ClosedBefore = genBase.AddDate(0, 0, rapid.IntRange(0, 120).Draw(t, "closed_days"))
	}
	cfg.RecordIDs = rapid.Bool().Draw(t, "record_ids")
	return cfg
}

func TestPropertyMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		records := rapid.SliceOfN(genRecord(), 0, 60).Draw(t, "records")
		got := collect(t, cfg, records...)
		want := model(t, cfg, records)
		checkAgainstModel(t, got, want)
	})
}

func TestPropertyOrderIndependent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		records := rapid.SliceOfN(genRecord(), 0, 60).Draw(t, "records")
		shuffled := rapid.Permutation(records).Draw(t, "shuffled")
		requireSameReport(t, collect(t, cfg, shuffled...), collect(t, cfg, records...))
	})
}

func TestPropertyDuplicatesIgnored(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		records := rapid.SliceOfN(genRecord(), 1, 40).Draw(t, "records")
		extra := rapid.SliceOfN(rapid.IntRange(0, len(records)-1), 1, 20).Draw(t, "duplicated")
		stream := slices.Clone(records)
		emptyIDs := 0
		for _, i := range extra {
			stream = append(stream, respell(records[i]))
			if records[i].ID == "" {
				emptyIDs++ // without an id there is no dedup: rejected again
			}
		}
		stream = rapid.Permutation(stream).Draw(t, "stream")
		want := collect(t, cfg, records...)
		got := collect(t, cfg, stream...)
		require.Equal(t, want.Stats.Read+int64(len(extra)), got.Stats.Read)
		require.Equal(t, want.Stats.Duplicates+int64(len(extra)-emptyIDs), got.Stats.Duplicates)
		if emptyIDs > 0 {
			return // rejections differ by the re-read empty-id records
		}
		want.Stats, got.Stats = usage.Stats{}, usage.Stats{}
		requireSameReport(t, got, want)
	})
}

func TestPropertyPeriodsAddUp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		records := rapid.SliceOfN(genRecord(), 0, 60).Draw(t, "records")
		monthly := testConfig()
		whole := testConfig()
		for i := range whole.Lines {
			if len(whole.Lines[i].Periods) > 0 {
				// Records outside the listed periods stay rejected.
				whole.Lines[i].Periods = []ensemble.Period{
					period("2026-01-01T00:00:00Z", "2026-02-15T00:00:00Z"),
					period("2026-02-20T00:00:00Z", "2026-04-01T00:00:00Z"),
				}
				continue
			}
			whole.Lines[i].Cadence = ensemble.Every(ensemble.MaxCadenceCount, ensemble.Yearly)
			whole.Lines[i].Anchor = utc("2000-01-01T00:00:00Z")
		}
		parts, all := collect(t, monthly, records...), collect(t, whole, records...)
		type key struct{ line, meter string }
		type acc struct {
			value   decimal.Decimal
			records int64
			digest  usage.Digest
		}
		sums := map[key]acc{}
		for _, g := range parts.Aggregates {
			if g.Aggregation != usage.Sum && g.Aggregation != usage.Count {
				continue
			}
			k := key{string(g.Line), string(g.Meter)}
			a := sums[k]
			sums[k] = acc{a.value.Add(g.Value), a.records + g.Records, a.digest.Add(g.Digest)}
		}
		seen := 0
		for _, g := range all.Aggregates {
			if g.Aggregation != usage.Sum && g.Aggregation != usage.Count {
				continue
			}
			seen++
			a := sums[key{string(g.Line), string(g.Meter)}]
			require.True(t, a.value.Equal(g.Value), "%s %s: periods add to %s, whole is %s", g.Line, g.Meter, a.value, g.Value)
			require.Equal(t, g.Records, a.records)
			require.Equal(t, g.Digest, a.digest)
		}
		require.Len(t, sums, seen)
		require.Equal(t, all.Stats, parts.Stats)
	})
}

func TestPropertyConflictsDetected(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		cfg.RecordIDs = true
		records := rapid.SliceOfNDistinct(genRecord(), 1, 30, func(r usage.Record) usage.RecordID { return r.ID }).Draw(t, "records")
		victim := records[rapid.IntRange(0, len(records)-1).Draw(t, "victim")]
		if victim.ID == "" {
			return
		}
		other := victim
		switch rapid.IntRange(0, 5).Draw(t, "change") {
		case 0:
			// Kept within 40 digits: longer quantities are rejected before
			// deduplication (TestRejections).
			other.Quantity = other.Quantity.Add(decimal.New(1, -rapid.Int32Range(0, 10).Draw(t, "delta_scale")))
		case 1:
			other.At = other.At.Add(time.Duration(rapid.Int64Range(1, 1e9).Draw(t, "delta_ns")))
		case 2:
			other.Line = "L1" + other.Line
		case 3:
			other.Meter = "m" + other.Meter
		case 4:
			other.Attributes = map[string]string{"user": "zed"}
		case 5:
			other.Attributes = maps.Clone(other.Attributes)
			if other.Attributes == nil {
				other.Attributes = map[string]string{}
			}
			other.Attributes["extra"] = ""
		}
		stream := append(slices.Clone(records), other)
		stream = rapid.Permutation(stream).Draw(t, "stream")
		rep := collect(t, cfg, stream...)
		require.Len(t, rep.Conflicts, 1)
		require.Equal(t, victim.ID, rep.Conflicts[0].ID)
		require.Len(t, rep.Conflicts[0].Records, 2)
		require.ErrorIs(t, rep.Err(), usage.ErrConflict)
		for _, list := range [][]usage.Aggregate{rep.Aggregates, rep.Adjustments} {
			for _, g := range list {
				require.NotContains(t, g.RecordIDs, victim.ID)
			}
		}
	})
}

func TestPropertyJSONRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRecord().Draw(t, "record")
		b, err := json.Marshal(r)
		require.NoError(t, err)
		var back usage.Record
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, r.ID, back.ID)
		require.True(t, back.SameContent(r), "%s", b)

		cfg := genConfig(t)
		rep := collect(t, cfg, rapid.SliceOfN(genRecord(), 0, 40).Draw(t, "records")...)
		enc := mustJSON(t, rep)
		var repBack usage.Report
		require.NoError(t, json.Unmarshal([]byte(enc), &repBack))
		// The ledger is left out of the report's JSON: it is persisted on
		// its own (TestPropertyLedgerEncodingRoundTrip).
		require.True(t, repBack.Ledger.IsZero())
		repBack.Ledger = rep.Ledger
		if d := cmp.Diff(*rep, repBack); d != "" {
			t.Fatalf("report round trip (-want +got):\n%s", d)
		}
		require.Equal(t, enc, mustJSON(t, &repBack))

		var cfgBack usage.Config
		require.NoError(t, json.Unmarshal([]byte(mustJSON(t, cfg)), &cfgBack))
		if d := cmp.Diff(cfg, cfgBack); d != "" {
			t.Fatalf("config round trip (-want +got):\n%s", d)
		}
	})
}

// TestPropertyIncremental feeds records in batches, asking for reports in
// between, against the model of one batch holding every record so far.
func TestPropertyIncremental(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		a, err := usage.New(cfg)
		require.NoError(t, err)
		var all []usage.Record
		t.Repeat(map[string]func(*rapid.T){
			"add": func(t *rapid.T) {
				batch := rapid.SliceOfN(genRecord(), 0, 10).Draw(t, "batch")
				a.Add(slices.Values(batch))
				all = append(all, batch...)
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
				requireSameReport(t, got, collect(t, cfg, all...))
				require.Equal(t, a.Stats(), got.Stats)
			},
			"": func(t *rapid.T) {
				st := a.Stats()
				require.Equal(t, int64(len(all)), st.Read)
				require.LessOrEqual(t, st.Accepted+st.Duplicates, st.Read)
			},
		})
		checkAgainstModel(t, a.Report(), model(t, cfg, all))
	})
}

// modelReport is what a naive implementation expects: aggregates keyed by
// line|meter|period start|late, rejections as "id reason" strings, and the
// conflicting ids with how many contents each had.
type modelReport struct {
	aggregates map[string]usage.Aggregate
	rejections []string
	conflicts  map[usage.RecordID]int
	stats      usage.Stats
}

// model computes the expected report by the definitions alone, with plain
// decimal arithmetic and no fast paths.
func model(t tb, cfg usage.Config, records []usage.Record) modelReport {
	meters := map[usage.MeterID]usage.Meter{}
	for _, m := range cfg.Meters {
		meters[m.ID] = m
	}
	lines := map[usage.LineRef]usage.Line{}
	for _, l := range cfg.Lines {
		lines[l.Ref] = l
	}
	out := modelReport{aggregates: map[string]usage.Aggregate{}, conflicts: map[usage.RecordID]int{}}
	out.stats.Read = int64(len(records))
	type place struct {
		key    string
		period ensemble.Period
		late   bool
	}
	classify := func(r usage.Record) (place, usage.Reason) {
		if r.At.Year() < 1678 || r.At.Year() > 2261 {
			return place{}, usage.ReasonInvalidRecord
		}
		l, ok := lines[r.Line]
		if !ok {
			return place{}, usage.ReasonUnknownLine
		}
		m, ok := meters[r.Meter]
		if !ok {
			return place{}, usage.ReasonUnknownMeter
		}
		if !m.AllowNegative && r.Quantity.Sign() < 0 {
			return place{}, usage.ReasonNegativeQuantity
		}
		if _, ok := r.Attributes[m.UniqueAttribute]; m.Aggregation == usage.CountUnique && !ok {
			return place{}, usage.ReasonMissingAttribute
		}
		if !slices.ContainsFunc(l.Active, func(p ensemble.Period) bool { return p.Contains(r.At) }) {
			return place{}, usage.ReasonOutsideActive
		}
		var p ensemble.Period
		if len(l.Periods) > 0 {
			i := slices.IndexFunc(l.Periods, func(p ensemble.Period) bool { return p.Contains(r.At) })
			if i < 0 {
				return place{}, usage.ReasonNoPeriod
			}
			p = l.Periods[i]
		} else {
			loc := time.UTC
			if l.TimeZone != "" {
				loc, _ = time.LoadLocation(l.TimeZone)
			}
			var err error
			p, _, err = l.Cadence.PeriodAt(l.Anchor, r.At, loc)
			require.NoError(t, err)
		}
		closed := cfg.ClosedBefore
		if l.ClosedBefore.After(closed) {
			closed = l.ClosedBefore
		}
		late := !closed.IsZero() && !modelBilledAt(l.Active, p).After(closed)
		return place{string(r.Line) + "|" + string(r.Meter) + "|" + p.Start.UTC().Format(time.RFC3339) + "|" + strconv.FormatBool(late),
			ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}, late}, 0
	}
	byID := map[usage.RecordID][]usage.Record{}
	var ids []usage.RecordID
	unreadable := func(d decimal.Decimal) bool {
		return len(strings.Trim(strings.ReplaceAll(d.String(), ".", ""), "-")) > ensemble.MaxAmountDigits
	}
	for _, r := range records {
		if r.ID == "" || unreadable(r.Quantity) {
			out.rejections = append(out.rejections, string(r.ID)+" "+usage.ReasonInvalidRecord.String())
			continue
		}
		seen := byID[r.ID]
		if i := slices.IndexFunc(seen, r.SameContent); i >= 0 {
			out.stats.Duplicates++
			// Of two spellings of one quantity, the one with more
			// digits after the point is kept, whatever the order.
			if r.Quantity.Exponent() < seen[i].Quantity.Exponent() {
				seen[i].Quantity = r.Quantity
			}
			continue
		}
		if seen == nil {
			ids = append(ids, r.ID)
		}
		byID[r.ID] = append(seen, r)
	}
	for _, id := range ids {
		contents := byID[id]
		for _, r := range contents {
			if _, reason := classify(r); reason != 0 {
				out.rejections = append(out.rejections, string(id)+" "+reason.String())
			}
		}
		if len(contents) > 1 {
			out.conflicts[id] = len(contents)
			continue
		}
		r := contents[0]
		pl, reason := classify(r)
		if reason != 0 {
			continue
		}
		out.stats.Accepted++
		m := meters[r.Meter]
		g, ok := out.aggregates[pl.key]
		if !ok {
			g = usage.Aggregate{Line: r.Line, Meter: r.Meter, Unit: m.Unit, Aggregation: m.Aggregation, Period: pl.period, Late: pl.late}
		}
		g.Records++
		g.Digest = g.Digest.Add(usage.DigestOf(r.ID))
		switch m.Aggregation {
		case usage.Sum:
			g.Value = g.Value.Add(r.Quantity)
		case usage.Count:
			g.Value = decimal.NewFromInt(g.Records)
		case usage.Max:
			if c := r.Quantity.Cmp(g.Value); !ok || c > 0 || c == 0 && r.ID > g.Source {
				g.Value, g.Source, g.SourceAt = r.Quantity, r.ID, r.At.UTC()
			}
		case usage.Latest:
			if c := r.At.Compare(g.SourceAt); !ok || c > 0 || c == 0 && r.ID > g.Source {
				g.Value, g.Source, g.SourceAt = r.Quantity, r.ID, r.At.UTC()
			}
		case usage.CountUnique:
			if v := r.Attributes[m.UniqueAttribute]; !slices.Contains(g.Uniques, v) {
				g.Uniques = append(g.Uniques, v)
				slices.Sort(g.Uniques)
			}
			g.Value = decimal.NewFromInt(int64(len(g.Uniques)))
		}
		if cfg.RecordIDs {
			g.RecordIDs = append(g.RecordIDs, r.ID)
			slices.Sort(g.RecordIDs)
		}
		out.aggregates[pl.key] = g
	}
	slices.Sort(out.rejections)
	out.stats.Rejected = int64(len(out.rejections))
	out.stats.Conflicts = int64(len(out.conflicts))
	return out
}

func checkAgainstModel(t tb, got *usage.Report, want modelReport) {
	t.Helper()
	gotAggs := map[string]usage.Aggregate{}
	for _, list := range [][]usage.Aggregate{got.Aggregates, got.Adjustments} {
		for _, g := range list {
			gotAggs[string(g.Line)+"|"+string(g.Meter)+"|"+g.Period.Start.Format(time.RFC3339)+"|"+strconv.FormatBool(g.Late)] = g
		}
	}
	if d := cmp.Diff(want.aggregates, gotAggs); d != "" {
		t.Fatalf("aggregates differ from the model (-want +got):\n%s", d)
	}
	// Equal values, and spelled alike: a sum has the least exponent of its
	// quantities (and 0), a max or latest value its record's.
	for k, w := range want.aggregates {
		if g := gotAggs[k]; g.Value.Exponent() != w.Value.Exponent() {
			t.Fatalf("%s: value %s has exponent %d, the model's %s has %d", k, g.Value, g.Value.Exponent(), w.Value, w.Value.Exponent())
		}
	}
	var rejections []string
	for _, r := range got.Rejections {
		rejections = append(rejections, string(r.Record.ID)+" "+r.Reason.String())
	}
	slices.Sort(rejections)
	require.Equal(t, want.rejections, rejections)
	conflicts := map[usage.RecordID]int{}
	for _, c := range got.Conflicts {
		conflicts[c.ID] = len(c.Records)
	}
	require.Equal(t, want.conflicts, conflicts)
	require.Equal(t, want.stats, got.Stats)

	// Every record read is accounted for once: accepted, a duplicate, or
	// one of the distinct contents rejected or in conflict.
	type content struct {
		id  usage.RecordID
		enc string
	}
	bad := map[content]bool{}
	for i, r := range got.Rejections {
		key := content{r.Record.ID, mustJSON(t, r.Record)}
		if r.Record.ID == "" || len(r.Record.ID) > usage.MaxIDBytes || strings.HasPrefix(r.Detail, "quantity has more than") {
			key.enc += strconv.Itoa(i) // rejected before deduplication: every copy counts
		}
		bad[key] = true
	}
	for _, c := range got.Conflicts {
		for _, r := range c.Records {
			bad[content{r.ID, mustJSON(t, r)}] = true
		}
	}
	require.Equal(t, got.Stats.Read, got.Stats.Accepted+got.Stats.Duplicates+int64(len(bad)))
}

// genCrowded draws records of one line and period, for max and latest,
// with few quantities and instants.
func genCrowded() *rapid.Generator[usage.Record] {
	return rapid.Custom(func(t *rapid.T) usage.Record {
		return rec(
			"t"+strconv.Itoa(rapid.IntRange(0, 30).Draw(t, "id")), "L1",
			rapid.SampledFrom([]string{"peak", "level", "users"}).Draw(t, "meter"),
			rapid.SampledFrom([]string{"1", "1.0", "2", "2.00", "3"}).Draw(t, "quantity"),
			rapid.SampledFrom([]string{"2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"}).Draw(t, "at"),
			"user", rapid.SampledFrom([]string{"ann", "bob", "cy"}).Draw(t, "user"))
	})
}

// TestPropertyTies crowds records into one line and period with few
// quantities and instants, so that max and latest must break ties by
// record id, and checks the result against the model in every order.
func TestPropertyTies(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		records := rapid.SliceOfN(genCrowded(), 1, 30).Draw(t, "records")
		shuffled := rapid.Permutation(records).Draw(t, "shuffled")
		cfg := testConfig()
		checkAgainstModel(t, collect(t, cfg, shuffled...), model(t, cfg, records))
	})
}

// TestPropertyShardsMerge routes records to shards by id, aggregates each
// shard apart and merges the reports: the result is the report of one
// aggregator over every record.
func TestPropertyShardsMerge(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		records := rapid.SliceOfN(rapid.OneOf(genRecord(), genCrowded()), 0, 60).Draw(t, "records")
		shards := rapid.IntRange(1, 4).Draw(t, "shards")
		route := map[usage.RecordID]int{}
		parts := make([][]usage.Record, shards)
		for i, r := range records {
			k, ok := route[r.ID]
			if !ok || r.ID == "" {
				k = rapid.IntRange(0, shards-1).Draw(t, "shard_"+strconv.Itoa(i))
				route[r.ID] = k
			}
			parts[k] = append(parts[k], r)
		}
		reps := make([]*usage.Report, shards)
		for k := range parts {
			reps[k] = collect(t, cfg, parts[k]...)
		}
		merged, err := usage.MergeReports(reps...)
		require.NoError(t, err)
		requireSameReport(t, merged, collect(t, cfg, records...))
	})
}

// modelBilledAt returns when period p is billed, by the definition: at its
// end, or at the line's first stop inside it (the end of the first stretch
// of activity, its segments joined where they touch or overlap, that meets
// p and ends before p's end), after which records are late.
func modelBilledAt(active []ensemble.Period, p ensemble.Period) time.Time {
	segs := slices.Clone(active)
	segs = slices.DeleteFunc(segs, func(s ensemble.Period) bool { return !s.Start.Before(s.End) })
	slices.SortFunc(segs, func(a, b ensemble.Period) int { return a.Start.Compare(b.Start) })
	var joined []ensemble.Period
	for _, s := range segs {
		if n := len(joined); n > 0 && !s.Start.After(joined[n-1].End) {
			if s.End.After(joined[n-1].End) {
				joined[n-1].End = s.End
			}
			continue
		}
		joined = append(joined, s)
	}
	for _, s := range joined {
		if s.Start.Before(p.End) && s.End.After(p.Start) {
			if s.End.Before(p.End) {
				return s.End
			}
			return p.End
		}
	}
	return p.End
}
