package usage_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
)

// run aggregates records under cfg with the ledger of earlier runs.
func run(t tb, cfg usage.Config, ledger usage.Ledger, records ...usage.Record) *usage.Report {
	t.Helper()
	cfg.Ledger = ledger
	return collect(t, cfg, records...)
}

// TestLedgerAcrossRuns bills January, then a month later receives a
// January record again (identical, respelled), one with a changed
// quantity, a late January record and a February one: the identical one
// is a duplicate billed zero more, the changed one a conflict naming what
// was billed, and only the new records aggregate.
func TestLedgerAcrossRuns(t *testing.T) {
	cfg := testConfig()
	jan1 := run(t, cfg, usage.Ledger{},
		rec("a1", "L1", "gpu", "2.5", "2026-01-05T10:00:00Z"),
		rec("a2", "L1", "gpu", "4", "2026-01-20T10:00:00Z"),
		rec("a2", "L1", "gpu", "4.0", "2026-01-20T10:00:00Z"), // a retry within the run
	)
	g := find(t, jan1, "L1", "gpu", "2026-01-01T00:00:00Z")
	require.Equal(t, "6.5", g.Value.String())
	require.Equal(t, int64(2), g.Records)
	require.Equal(t, 2, jan1.Ledger.Len())
	require.Equal(t, usage.Stats{Read: 3, Accepted: 2, Duplicates: 1}, jan1.Stats)

	// A month later: January is closed (invoiced).
	cfg.ClosedBefore = utc("2026-02-01T00:00:00Z")
	resent := respell(rec("a2", "L1", "gpu", "4", "2026-01-20T10:00:00Z"))
	changed := rec("a1", "L1", "gpu", "2.75", "2026-01-05T10:00:00Z")
	feb := run(t, cfg, jan1.Ledger,
		resent,
		changed,
		rec("c1", "L1", "gpu", "1", "2026-01-28T10:00:00Z"), // late January
		rec("b1", "L1", "gpu", "3", "2026-02-10T10:00:00Z"),
	)
	require.Equal(t, usage.Stats{Read: 4, Accepted: 2, Duplicates: 1, Resent: 1, Conflicts: 1}, feb.Stats)
	// January gets an adjustment of the late record alone: 1, not 1 + 4.
	require.Len(t, feb.Adjustments, 1)
	adj := feb.Adjustments[0]
	require.Equal(t, "1", adj.Value.String())
	require.Equal(t, int64(1), adj.Records)
	require.Equal(t, usage.DigestOf("c1"), adj.Digest)
	require.Len(t, feb.Aggregates, 1)
	require.Equal(t, "3", find(t, feb, "L1", "gpu", "2026-02-01T00:00:00Z").Value.String())
	// Billed in January and late: 2.5 + 4 + 1 = 7.5, never 11.5.
	cum, err := g.Merge(adj)
	require.NoError(t, err)
	require.Equal(t, "7.5", cum.Value.String())

	require.Len(t, feb.Conflicts, 1)
	c := feb.Conflicts[0]
	require.Equal(t, usage.RecordID("a1"), c.ID)
	require.Len(t, c.Records, 1)
	require.Equal(t, "2.75", c.Records[0].Quantity.String())
	require.NotNil(t, c.Billed)
	require.Equal(t, rec("a1", "L1", "gpu", "2.5", "2026-01-05T10:00:00Z").ContentDigest(), c.Billed.Digest)
	require.Equal(t, period("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"), c.Billed.Period)
	require.ErrorIs(t, c, usage.ErrConflict)
	require.Contains(t, c.Error(), "billed in an earlier run")
	// The report, Conflict.Billed included, round-trips through JSON (its
	// ledger is persisted on its own).
	var back usage.Report
	require.NoError(t, json.Unmarshal([]byte(mustJSON(t, feb)), &back))
	require.Equal(t, mustJSON(t, feb), mustJSON(t, &back))
	require.True(t, back.Conflicts[0].Billed.Equal(*c.Billed))

	// The ledger after the run: a1 still as billed, a2, c1 and b1.
	require.Equal(t, 4, feb.Ledger.Len())
	e, ok := feb.Ledger.Lookup("a1")
	require.True(t, ok)
	require.Equal(t, c.Billed.Digest, e.Digest)
	_, ok = jan1.Ledger.Lookup("b1")
	require.False(t, ok, "the ledger given is unchanged")
	require.Equal(t, 2, jan1.Ledger.Len())
}

// TestLedgerResentTable lists what a record re-sent in a later run
// becomes, against a ledger that billed r1 (gpu 10 on Jan 5, user ann).
func TestLedgerResentTable(t *testing.T) {
	cfg := testConfig()
	billed := rec("r1", "L1", "gpu", "10", "2026-01-05T00:00:00Z", "user", "ann")
	first := run(t, cfg, usage.Ledger{}, billed)
	require.Equal(t, 1, first.Ledger.Len())
	tests := []struct {
		name       string
		records    []usage.Record
		duplicates int64
		resent     int64
		conflict   int // contents listed in the conflict; 0 for none
		aggregated bool
	}{
		{"identical", []usage.Record{billed}, 1, 1, 0, false},
		{"respelled", []usage.Record{respell(billed)}, 1, 1, 0, false},
		{"twice", []usage.Record{billed, respell(billed)}, 2, 2, 0, false},
		{"changed quantity", []usage.Record{rec("r1", "L1", "gpu", "11", "2026-01-05T00:00:00Z", "user", "ann")}, 0, 0, 1, false},
		{"changed instant", []usage.Record{rec("r1", "L1", "gpu", "10", "2026-01-05T00:00:01Z", "user", "ann")}, 0, 0, 1, false},
		{"changed attribute", []usage.Record{rec("r1", "L1", "gpu", "10", "2026-01-05T00:00:00Z", "user", "bob")}, 0, 0, 1, false},
		{"no attribute", []usage.Record{rec("r1", "L1", "gpu", "10", "2026-01-05T00:00:00Z")}, 0, 0, 1, false},
		{"other line", []usage.Record{rec("r1", "L2", "gpu", "10", "2026-01-05T00:00:00Z", "user", "ann")}, 0, 0, 1, false},
		{"other meter", []usage.Record{rec("r1", "L1", "calls", "10", "2026-01-05T00:00:00Z", "user", "ann")}, 0, 0, 1, false},
		{"changed then billed", []usage.Record{rec("r1", "L1", "gpu", "11", "2026-01-05T00:00:00Z", "user", "ann"), billed}, 1, 1, 1, false},
		{"billed then changed", []usage.Record{billed, rec("r1", "L1", "gpu", "11", "2026-01-05T00:00:00Z", "user", "ann")}, 1, 1, 1, false},
		{"two changes, one twice", []usage.Record{
			rec("r1", "L1", "gpu", "11", "2026-01-05T00:00:00Z", "user", "ann"),
			rec("r1", "L1", "gpu", "12", "2026-01-05T00:00:00Z", "user", "ann"),
			rec("r1", "L1", "gpu", "11.00", "2026-01-05T00:00:00Z", "user", "ann"),
		}, 1, 0, 2, false},
		{"new id", []usage.Record{rec("r2", "L1", "gpu", "10", "2026-01-05T00:00:00Z", "user", "ann")}, 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := run(t, cfg, first.Ledger, tt.records...)
			require.Equal(t, tt.duplicates, rep.Stats.Duplicates)
			require.Equal(t, tt.resent, rep.Stats.Resent)
			if tt.conflict == 0 {
				require.Empty(t, rep.Conflicts)
			} else {
				require.Len(t, rep.Conflicts, 1)
				require.Len(t, rep.Conflicts[0].Records, tt.conflict)
				require.NotNil(t, rep.Conflicts[0].Billed)
				require.Equal(t, billed.ContentDigest(), rep.Conflicts[0].Billed.Digest)
			}
			require.Equal(t, tt.aggregated, len(rep.Aggregates) > 0)
			want := 1
			if tt.aggregated {
				want = 2
			}
			require.Equal(t, want, rep.Ledger.Len())
			// Whatever the order of the run's records.
			back := slices.Clone(tt.records)
			slices.Reverse(back)
			requireSameReport(t, run(t, cfg, first.Ledger, back...), rep)
		})
	}
}

// TestLedgerConflictWithinAndAcross: an id billed in run 1 and sent with
// two other contents in run 2 is one conflict listing both and the entry
// billed; a record rejected in run 1 is not remembered and aggregates when
// fixed; a record of a conflict in run 1 is not remembered either.
func TestLedgerConflictWithinAndAcross(t *testing.T) {
	cfg := testConfig()
	first := run(t, cfg, usage.Ledger{},
		rec("ok", "L1", "gpu", "1", "2026-01-05T00:00:00Z"),
		rec("bad", "L1", "tpu", "1", "2026-01-05T00:00:00Z"), // unknown meter
		rec("twice", "L1", "gpu", "1", "2026-01-06T00:00:00Z"),
		rec("twice", "L1", "gpu", "2", "2026-01-06T00:00:00Z"),
	)
	require.Len(t, first.Rejections, 1)
	require.Len(t, first.Conflicts, 1)
	require.Equal(t, 1, first.Ledger.Len())
	second := run(t, cfg, first.Ledger,
		rec("ok", "L1", "gpu", "5", "2026-01-05T00:00:00Z"),
		rec("ok", "L1", "gpu", "6", "2026-01-05T00:00:00Z"),
		rec("bad", "L1", "gpu", "1", "2026-01-05T00:00:00Z"),   // fixed
		rec("twice", "L1", "gpu", "2", "2026-01-06T00:00:00Z"), // resolved upstream
	)
	require.Len(t, second.Conflicts, 1)
	require.Len(t, second.Conflicts[0].Records, 2)
	require.Equal(t, usage.RecordID("ok"), second.Conflicts[0].Billed.ID)
	g := find(t, second, "L1", "gpu", "2026-01-01T00:00:00Z")
	require.Equal(t, "3", g.Value.String())
	require.Equal(t, usage.DigestOf("bad", "twice"), g.Digest)
	require.Equal(t, 3, second.Ledger.Len())
}

// TestLedgerPrune prunes a ledger of January and February at Feb 1: the
// January ids are dropped and January's records are refused (whether they
// were billed is no longer known), while February's re-sent record is
// still a duplicate. Pruning again earlier keeps the later cutoff.
func TestLedgerPrune(t *testing.T) {
	cfg := testConfig()
	jan := rec("j1", "L1", "gpu", "2", "2026-01-10T00:00:00Z")
	feb := rec("f1", "L1", "gpu", "3", "2026-02-10T00:00:00Z")
	first := run(t, cfg, usage.Ledger{}, jan, feb)
	require.Equal(t, 2, first.Ledger.Len())

	cut := utc("2026-02-01T00:00:00Z")
	pruned := first.Ledger.Prune(cut)
	require.Equal(t, 1, pruned.Len())
	require.True(t, pruned.PrunedBefore().Equal(cut))
	require.True(t, first.Ledger.PrunedBefore().IsZero(), "the ledger pruned is unchanged")
	_, ok := pruned.Lookup("j1")
	require.False(t, ok)

	tests := []struct {
		name   string
		record usage.Record
		reason usage.Reason
		resent int64
	}{
		{"january re-sent", jan, usage.ReasonPrunedPeriod, 0},
		{"january, new id", rec("j2", "L1", "gpu", "1", "2026-01-31T23:59:59Z"), usage.ReasonPrunedPeriod, 0},
		{"february re-sent", feb, usage.ReasonUnspecified, 1},
		{"february, new id", rec("f2", "L1", "gpu", "1", "2026-02-01T00:00:00Z"), usage.ReasonUnspecified, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := run(t, cfg, pruned, tt.record)
			require.Equal(t, tt.resent, rep.Stats.Resent)
			if tt.reason == usage.ReasonUnspecified {
				require.Empty(t, rep.Rejections)
				return
			}
			require.Len(t, rep.Rejections, 1)
			require.Equal(t, tt.reason, rep.Rejections[0].Reason)
			require.ErrorIs(t, rep.Err(), usage.ErrPrunedPeriod)
			require.Contains(t, rep.Rejections[0].Error(), "ledger's cutoff 2026-02-01T00:00:00Z")
			require.True(t, rep.Ledger.PrunedBefore().Equal(cut), "the cutoff is carried to the next ledger")
		})
	}
	require.True(t, pruned.Prune(utc("2026-01-15T00:00:00Z")).PrunedBefore().Equal(cut))
	all := pruned.Prune(utc("2026-04-01T00:00:00Z"))
	require.Equal(t, 0, all.Len())
	require.False(t, all.IsZero(), "a ledger pruned of everything still remembers its cutoff")
	require.True(t, first.Ledger.Prune(time.Time{}).Equal(first.Ledger))
}

// TestLedgerPruneThenResendWithoutCutoff shows why the cutoff is kept: a
// host that pruned and then started from an empty ledger bills January
// again; with the pruned ledger, January is refused.
func TestLedgerPruneThenResendWithoutCutoff(t *testing.T) {
	cfg := testConfig()
	jan := rec("j1", "L1", "gpu", "2", "2026-01-10T00:00:00Z")
	first := run(t, cfg, usage.Ledger{}, jan)
	again := run(t, cfg, usage.Ledger{}, jan)
	require.Len(t, again.Aggregates, 1, "without a ledger the record is new")
	refused := run(t, cfg, first.Ledger.Prune(utc("2026-02-01T00:00:00Z")), jan)
	require.Empty(t, refused.Aggregates)
	require.Equal(t, usage.ReasonPrunedPeriod, refused.Rejections[0].Reason)
}

// TestLedgerMerge merges the ledgers of two shards, each given the same
// earlier ledger: identical entries merge, and an id both billed with
// different contents is a *LedgerConflictError naming both.
func TestLedgerMerge(t *testing.T) {
	cfg := testConfig()
	base := run(t, cfg, usage.Ledger{}, rec("x", "L1", "gpu", "1", "2026-01-02T00:00:00Z")).Ledger
	a := run(t, cfg, base, rec("a", "L1", "gpu", "1", "2026-01-03T00:00:00Z")).Ledger
	b := run(t, cfg, base, rec("b", "L1", "calls", "1", "2026-02-03T00:00:00Z")).Ledger
	ab, err := usage.MergeLedgers(a, b)
	require.NoError(t, err)
	require.Equal(t, 3, ab.Len())
	ba, err := b.Merge(a)
	require.NoError(t, err)
	require.True(t, ab.Equal(ba))
	require.Equal(t, 2, a.Len(), "merging leaves its inputs as they were")

	c := run(t, cfg, base, rec("a", "L1", "gpu", "2", "2026-01-03T00:00:00Z")).Ledger
	_, err = usage.MergeLedgers(a, b, c)
	var ce *usage.LedgerConflictError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, usage.ErrConflict)
	require.Len(t, ce.Conflicts, 1)
	require.Equal(t, usage.RecordID("a"), ce.Conflicts[0].ID)
	require.Len(t, ce.Conflicts[0].Entries, 2)
	require.Contains(t, err.Error(), `1 record id billed as different records, first "a"`)
	_, err2 := usage.MergeLedgers(c, b, a)
	require.Equal(t, err.Error(), err2.Error())

	// A later cutoff wins, and prunes the other side too.
	merged, err := usage.MergeLedgers(a.Prune(utc("2026-02-01T00:00:00Z")), b)
	require.NoError(t, err)
	require.Equal(t, 1, merged.Len())
	require.True(t, merged.PrunedBefore().Equal(utc("2026-02-01T00:00:00Z")))
}

// TestMergeReportsOfRuns: the reports of successive runs carrying the
// ledger merge into the report one run over every distinct record gives.
func TestMergeReportsOfRuns(t *testing.T) {
	cfg := testConfig()
	recs := []usage.Record{
		rec("1", "L1", "gpu", "1", "2026-01-02T00:00:00Z"),
		rec("2", "L1", "peak", "7", "2026-01-03T00:00:00Z"),
		rec("3", "L1", "users", "0", "2026-01-04T00:00:00Z", "user", "ann"),
		rec("4", "L1", "gpu", "2", "2026-02-02T00:00:00Z"),
	}
	r1 := run(t, cfg, usage.Ledger{}, recs[0], recs[1])
	r2 := run(t, cfg, r1.Ledger, recs[1], recs[2], recs[0])
	r3 := run(t, cfg, r2.Ledger, recs[3], recs[2])
	merged, err := usage.MergeReports(r1, r2, r3)
	require.NoError(t, err)
	whole := collect(t, cfg, recs...)
	require.Equal(t, mustJSON(t, whole.Aggregates), mustJSON(t, merged.Aggregates))
	require.True(t, whole.Ledger.Equal(merged.Ledger))
	require.Equal(t, int64(3), merged.Stats.Resent)
}

// TestLedgerEncodings pins both encodings of a small ledger and checks
// that decoders refuse what breaks an invariant.
func TestLedgerEncodings(t *testing.T) {
	cfg := testConfig()
	rep := run(t, cfg, usage.Ledger{},
		rec("e2", "L1", "gpu", "1.50", "2026-01-02T00:00:00Z"),
		rec("e10", "L1", "gpu", "2", "2026-01-03T00:00:00Z"),
		rec("e1", "L2", "calls", "1", "2026-02-03T00:00:00Z"),
	)
	l := rep.Ledger.Prune(utc("2025-12-01T00:00:00Z"))
	js, err := json.Marshal(l)
	require.NoError(t, err)
	d1 := rec("e2", "L1", "gpu", "1.5", "2026-01-02T00:00:00Z").ContentDigest()
	d2 := rec("e10", "L1", "gpu", "2", "2026-01-03T00:00:00Z").ContentDigest()
	d3 := rec("e1", "L2", "calls", "1", "2026-02-03T00:00:00Z").ContentDigest()
	want := `{"version":1,"pruned_before":"2025-12-01T00:00:00Z","lines":[` +
		`{"line":"L1","meter":"gpu","periods":[{"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z","records":[` +
		`{"id":"e10","digest":"` + d2.String() + `"},{"id":"e2","digest":"` + d1.String() + `"}]}]},` +
		`{"line":"L2","meter":"calls","periods":[{"start":"2026-01-14T23:00:00Z","end":"2026-02-14T23:00:00Z","records":[` +
		`{"id":"e1","digest":"` + d3.String() + `"}]}]}]}`
	require.Equal(t, want, string(js))
	var back usage.Ledger
	require.NoError(t, json.Unmarshal(js, &back))
	require.True(t, back.Equal(l))

	bin, err := l.MarshalBinary()
	require.NoError(t, err)
	var fromBin usage.Ledger
	require.NoError(t, fromBin.UnmarshalBinary(bin))
	require.True(t, fromBin.Equal(l))
	require.Equal(t, "ENSL\x01\x01", string(bin[:6]))

	bad := map[string]string{
		"version":            strings.Replace(want, `"version":1`, `"version":2`, 1),
		"unknown field":      strings.Replace(want, `"version":1`, `"version":1,"extra":1`, 1),
		"case-variant key":   strings.Replace(want, `"version":1`, `"version":1,"Version":1`, 1),
		"ids out of order":   strings.Replace(want, `"id":"e10"`, `"id":"e3"`, 1),
		"id twice":           strings.Replace(want, `{"id":"e1","digest"`, `{"id":"e10","digest"`, 1),
		"bad digest":         strings.Replace(want, d3.String(), "XYZ", 1),
		"empty period":       strings.Replace(want, `"end":"2026-02-01T00:00:00Z"`, `"end":"2026-01-01T00:00:00Z"`, 1),
		"pruned period":      strings.Replace(want, `"pruned_before":"2025-12-01T00:00:00Z"`, `"pruned_before":"2026-03-01T00:00:00Z"`, 1),
		"lines out of order": strings.Replace(strings.Replace(want, `"line":"L2"`, `"line":"L0"`, 1), `"line":"L1"`, `"line":"L3"`, 1),
		"no records":         `{"version":1,"lines":[{"line":"L1","meter":"gpu","periods":[{"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z","records":[]}]}]}`,
		"empty":              ``,
	}
	for name, doc := range bad {
		t.Run(name, func(t *testing.T) {
			var l usage.Ledger
			err := json.Unmarshal([]byte(doc), &l)
			if name == "empty" {
				err = l.UnmarshalJSON([]byte(doc))
			}
			require.Error(t, err)
			if name != "empty" {
				require.ErrorIs(t, err, usage.ErrInvalidLedger)
			}
			var de *ensemble.DecodeError
			var ve *ensemble.ValidationError
			require.True(t, errors.As(err, &de) || errors.As(err, &ve), "%T %v", err, err)
		})
	}
	for name, b := range map[string][]byte{
		"no header":     []byte("ENS"),
		"version":       append([]byte("ENSL\x02"), bin[5:]...),
		"truncated":     bin[:len(bin)-1],
		"trailing":      append(slices.Clone(bin), 0),
		"unknown flags": append([]byte("ENSL\x01\x02"), bin[6:]...),
	} {
		t.Run("binary "+name, func(t *testing.T) {
			var l usage.Ledger
			err := l.UnmarshalBinary(b)
			var fe *usage.LedgerFormatError
			require.ErrorAs(t, err, &fe)
			require.ErrorIs(t, err, usage.ErrInvalidLedger)
		})
	}
}
