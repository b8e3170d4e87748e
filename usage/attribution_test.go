package usage_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/usage"
)

var hoursMeter = usage.Meter{ID: "hours", Unit: "hour", Aggregation: usage.Sum, AttributeTo: "contractor"}

func attributedConfig() usage.Config {
	return usage.Config{Meters: []usage.Meter{hoursMeter, {ID: "visits", Aggregation: usage.Count, AttributeTo: "contractor"}}, Lines: testLines()}
}

// requireParts compares an aggregate's parts (value, quantity, records)
// with want, given as value, quantity, records triples.
func requireParts(t require.TestingT, got []usage.Part, want ...any) {
	require.Len(t, got, len(want)/3, "parts %v", got)
	for i := range got {
		require.Equal(t, want[3*i], got[i].Value)
		require.True(t, got[i].Quantity.Equal(dec(want[3*i+1].(string))), "part %s: %s, want %s", got[i].Value, got[i].Quantity, want[3*i+1])
		require.Equal(t, int64(want[3*i+2].(int)), got[i].Records)
	}
}

// The trial's April: the contractors' field app sends C1's 6 hours and
// C2's 4 in records that name them; the aggregate keeps the period's 10
// hours and each contractor's share of them, a re-sent record counting
// once.
func TestAggregateKeepsQuantityPerAttributeValue(t *testing.T) {
	records := []usage.Record{
		rec("h1", "L1", "hours", "4", "2026-03-02T09:00:00Z", "contractor", "C1"),
		rec("h2", "L1", "hours", "2.5", "2026-03-03T09:00:00Z", "contractor", "C2"),
		rec("h3", "L1", "hours", "2", "2026-03-04T09:00:00Z", "contractor", "C1", "site", "leeds"),
		rec("h4", "L1", "hours", "1.5", "2026-03-05T09:00:00Z", "contractor", "C2"),
		rec("h2", "L1", "hours", "2.5", "2026-03-03T09:00:00Z", "contractor", "C2"), // re-sent
	}
	rep := collect(t, attributedConfig(), records...)
	g := find(t, rep, "L1", "hours", "2026-03-01T00:00:00Z")
	require.True(t, g.Value.Equal(dec("10")), "value %s", g.Value)
	require.Equal(t, "contractor", g.AttributeTo)
	requireParts(t, g.Parts, "C1", "6", 2, "C2", "4", 2)
	require.Equal(t, int64(1), rep.Stats.Duplicates)

	// A later run that gets h1 again bills it zero more.
	next, err := usage.Collect(usage.Config{Meters: attributedConfig().Meters, Lines: testLines(), Ledger: rep.Ledger},
		slices.Values([]usage.Record{records[0], rec("h5", "L1", "hours", "1", "2026-03-06T09:00:00Z", "contractor", "C1")}))
	require.NoError(t, err)
	g = find(t, next, "L1", "hours", "2026-03-01T00:00:00Z")
	requireParts(t, g.Parts, "C1", "1", 1)
	require.Equal(t, int64(1), next.Stats.Resent)
}

// A Count meter attributes the count of records.
func TestAttributedCountMeter(t *testing.T) {
	rep := collect(t, attributedConfig(),
		rec("v1", "L1", "visits", "0", "2026-01-02T09:00:00Z", "contractor", "C2"),
		rec("v2", "L1", "visits", "0", "2026-01-03T09:00:00Z", "contractor", "C1"),
		rec("v3", "L1", "visits", "0", "2026-01-04T09:00:00Z", "contractor", "C2"))
	g := find(t, rep, "L1", "visits", "2026-01-01T00:00:00Z")
	requireParts(t, g.Parts, "C1", "1", 1, "C2", "2", 2)
}

// A record that names no contractor is nobody's hours: it is rejected
// (ErrMissingAttribute) rather than billed to the customer and paid to no
// one, and billed once fixed and sent again.
func TestAttributedRecordWithoutTheAttributeIsRejected(t *testing.T) {
	rep := collect(t, attributedConfig(),
		rec("h1", "L1", "hours", "4", "2026-03-02T09:00:00Z", "contractor", "C1"),
		rec("h2", "L1", "hours", "3", "2026-03-03T09:00:00Z", "site", "leeds"),
		rec("h3", "L1", "hours", "3", "2026-03-03T09:00:00Z", "contractor", ""),
		rec("h4", "L1", "hours", "3", "2026-03-03T09:00:00Z", "contractor", "C1:x"))
	require.Len(t, rep.Rejections, 3)
	require.ErrorIs(t, rep.Rejections[2], usage.ErrInvalidRecord)
	rep.Rejections = rep.Rejections[:2]
	for _, r := range rep.Rejections {
		require.ErrorIs(t, r, usage.ErrMissingAttribute)
		require.Contains(t, r.Detail, `attributes its usage to attribute "contractor"`)
	}
	g := find(t, rep, "L1", "hours", "2026-03-01T00:00:00Z")
	require.True(t, g.Value.Equal(dec("4")))
	requireParts(t, g.Parts, "C1", "4", 1)

	fixed, err := usage.Collect(usage.Config{Meters: attributedConfig().Meters, Lines: testLines(), Ledger: rep.Ledger},
		slices.Values([]usage.Record{rec("h2", "L1", "hours", "3", "2026-03-03T09:00:00Z", "contractor", "C2")}))
	require.NoError(t, err)
	requireParts(t, find(t, fixed, "L1", "hours", "2026-03-01T00:00:00Z").Parts, "C2", "3", 1)
}

// A record re-sent with another contractor is a conflict: neither version
// counts for either contractor.
func TestAttributedConflictCountsForNoOne(t *testing.T) {
	rep := collect(t, attributedConfig(),
		rec("h1", "L1", "hours", "4", "2026-03-02T09:00:00Z", "contractor", "C1"),
		rec("h2", "L1", "hours", "2", "2026-03-03T09:00:00Z", "contractor", "C2"),
		rec("h1", "L1", "hours", "4", "2026-03-02T09:00:00Z", "contractor", "C2"))
	require.Len(t, rep.Conflicts, 1)
	g := find(t, rep, "L1", "hours", "2026-03-01T00:00:00Z")
	requireParts(t, g.Parts, "C2", "2", 1)
}

func TestAttributeToNeedsSumOrCount(t *testing.T) {
	for _, m := range []usage.Meter{
		{ID: "m", Aggregation: usage.Max, AttributeTo: "contractor"},
		{ID: "m", Aggregation: usage.CountUnique, UniqueAttribute: "user", AttributeTo: "contractor"},
	} {
		_, err := usage.New(usage.Config{Meters: []usage.Meter{m}, Lines: testLines()})
		require.ErrorIs(t, err, usage.ErrBadAggregation)
		require.ErrorContains(t, err, "meters[0].attribute_to")
	}
	_, err := usage.New(usage.Config{Meters: []usage.Meter{{ID: "m", Aggregation: usage.Sum, AttributeTo: "a/b"}}, Lines: testLines()})
	require.ErrorContains(t, err, "meters[0].attribute_to")
}

// Merging aggregates adds their parts value by value; an aggregate of no
// records (an idle period billed) merges whether it names the attribute
// or not, and aggregates of records attributed differently do not merge.
func TestMergeAddsParts(t *testing.T) {
	a := find(t, collect(t, attributedConfig(), rec("h1", "L1", "hours", "4", "2026-03-02T09:00:00Z", "contractor", "C1")), "L1", "hours", "2026-03-01T00:00:00Z")
	b := find(t, collect(t, attributedConfig(),
		rec("h2", "L1", "hours", "1", "2026-03-02T09:00:00Z", "contractor", "C1"),
		rec("h3", "L1", "hours", "2", "2026-03-02T09:00:00Z", "contractor", "C0")), "L1", "hours", "2026-03-01T00:00:00Z")
	m, err := a.Merge(b)
	require.NoError(t, err)
	requireParts(t, m.Parts, "C0", "2", 1, "C1", "5", 2)
	requireParts(t, a.Parts, "C1", "4", 1) // a is untouched

	idle := usage.Aggregate{Line: a.Line, Meter: a.Meter, Aggregation: a.Aggregation, Period: a.Period}
	m, err = idle.Merge(a)
	require.NoError(t, err)
	require.Equal(t, "contractor", m.AttributeTo)
	requireParts(t, m.Parts, "C1", "4", 1)

	plain := b
	plain.AttributeTo, plain.Parts = "", nil
	_, err = plain.Merge(a)
	require.ErrorIs(t, err, usage.ErrMergeMismatch)
}

// However the records are split into deliveries, sent again or shuffled,
// the parts add up to the value, and merging the deliveries' aggregates
// gives the parts of one run over every record.
func TestPropertyPartsAddUpWhateverTheSplit(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(t, "records")
		var records []usage.Record
		for i := range n {
			who := rapid.SampledFrom([]string{"C1", "C2", "C3"}).Draw(t, "contractor")
			qty := rapid.SampledFrom([]string{"0.25", "1", "2.5", "8", "0"}).Draw(t, "hours")
			day := rapid.IntRange(1, 28).Draw(t, "day")
			records = append(records, rec("r"+string(rune('a'+i%26))+string(rune('a'+i/26)), "L1", "hours", qty,
				"2026-03-"+twoDigits(day)+"T09:00:00Z", "contractor", who))
		}
		whole := collect(t, attributedConfig(), records...)
		want := find(t, whole, "L1", "hours", "2026-03-01T00:00:00Z")
		sum := dec("0")
		var recs int64
		for _, p := range want.Parts {
			sum = sum.Add(p.Quantity)
			recs += p.Records
		}
		if !sum.Equal(want.Value) || recs != want.Records {
			t.Fatalf("parts add up to %s (%d records), value %s (%d)", sum, recs, want.Value, want.Records)
		}
		// Deliveries: each record goes to one of k runs, some twice.
		k := rapid.IntRange(1, 4).Draw(t, "runs")
		runs := make([][]usage.Record, k)
		for _, r := range rapid.Permutation(records).Draw(t, "order") {
			at := rapid.IntRange(0, k-1).Draw(t, "run")
			runs[at] = append(runs[at], r)
			if rapid.Bool().Draw(t, "again") {
				again := rapid.IntRange(0, k-1).Draw(t, "again run")
				runs[again] = append(runs[again], r)
			}
		}
		var ledger usage.Ledger
		var got usage.Aggregate
		for _, rs := range runs {
			rep, err := usage.Collect(usage.Config{Meters: attributedConfig().Meters, Lines: testLines(), Ledger: ledger}, slices.Values(rs))
			if err != nil {
				t.Fatal(err)
			}
			ledger = rep.Ledger
			for _, g := range rep.Aggregates {
				if got.Line == "" {
					got = g
					continue
				}
				if got, err = got.Merge(g); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !got.Value.Equal(want.Value) || len(got.Parts) != len(want.Parts) {
			t.Fatalf("runs give %s %v, one run %s %v", got.Value, got.Parts, want.Value, want.Parts)
		}
		for i := range got.Parts {
			if got.Parts[i].Value != want.Parts[i].Value || !got.Parts[i].Quantity.Equal(want.Parts[i].Quantity) || got.Parts[i].Records != want.Parts[i].Records {
				t.Fatalf("runs give %v, one run %v", got.Parts, want.Parts)
			}
		}
	})
}

func twoDigits(d int) string { return string(rune('0'+d/10)) + string(rune('0'+d%10)) }

// Shards routed by record id merge their parts value by value, and the
// merged report shares no parts with the shards'.
func TestMergeReportsAddsParts(t *testing.T) {
	a := collect(t, attributedConfig(), rec("h1", "L1", "hours", "4", "2026-03-02T09:00:00Z", "contractor", "C1"))
	b := collect(t, attributedConfig(), rec("h2", "L1", "hours", "2", "2026-03-02T09:00:00Z", "contractor", "C2"),
		rec("h3", "L1", "hours", "1", "2026-03-02T09:00:00Z", "contractor", "C1"))
	m, err := usage.MergeReports(a, b)
	require.NoError(t, err)
	requireParts(t, find(t, m, "L1", "hours", "2026-03-01T00:00:00Z").Parts, "C1", "5", 2, "C2", "2", 1)
	one, err := usage.MergeReports(a)
	require.NoError(t, err)
	one.Aggregates[0].Parts[0].Value = "changed"
	require.Equal(t, "C1", a.Aggregates[0].Parts[0].Value)
}
