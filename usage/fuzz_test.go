package usage_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"

	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// FuzzRecordJSON decodes arbitrary bytes as a usage record, and as a
// stream of records with Decode. Decoding never panics; a record that
// decodes re-encodes to a record with the same id and content, and
// aggregates without panicking, as a duplicate of itself the second time
// (an invalid record is never aggregated: refused, and the second time
// refused again when its id is no id, such as white space, or dropped as a
// duplicate of the one refused).
// Decode agrees with json.Unmarshal on a single object.
func FuzzRecordJSON(f *testing.F) {
	for _, seed := range []string{
		`{"id":"r1","line":"L1","meter":"gpu","quantity":"1.50","at":"2026-01-02T00:00:00Z","attributes":{"user":"ann"}}`,
		`{"id":"r2","line":"L2","meter":"level","quantity":-0.25,"at":"2026-03-14T23:00:00+01:00"}`,
		`{"id":"r3","line":"L1","meter":"users","quantity":null,"at":"2026-01-02T00:00:00Z","attributes":{}}`,
		`{"id":"","quantity":"1e5"}`,
		`{"quantity":"99999999999999999999999999999999999999.9"}`,
		`[]`,
		`[{"id":"a","quantity":1},{"id":"b"}]`,
		"{\"id\":\"a\"}\n{\"id\":\"b\",\"quantity\":\"2\"}\n",
	} {
		f.Add([]byte(seed))
	}
	cfg := testConfig()
	f.Fuzz(func(t *testing.T, data []byte) {
		var first *usage.Record
		for r, err := range usage.Decode(bytes.NewReader(data)) {
			if err != nil {
				var de *usage.DecodeError
				require.ErrorAs(t, err, &de)
				break
			}
			if first == nil {
				first = &r
			}
			b, err := json.Marshal(r)
			require.NoError(t, err)
			var back usage.Record
			require.NoError(t, json.Unmarshal(b, &back), "%s", b)
			require.True(t, back.SameContent(r), "%s", b)
		}
		var r usage.Record
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
			require.NotNil(t, first, "Decode lost the record json.Unmarshal reads")
			require.Equal(t, r.ID, first.ID)
			require.True(t, first.SameContent(r))
		}
		b, err := json.Marshal(r)
		require.NoError(t, err)
		var back usage.Record
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		require.Equal(t, r.ID, back.ID)
		require.True(t, back.SameContent(r), "%s", b)

		a, err := usage.New(cfg)
		require.NoError(t, err)
		a.AddRecord(r)
		a.AddRecord(back)
		rep := a.Report()
		require.Equal(t, int64(2), rep.Stats.Read)
		switch {
		case rep.Stats.Rejected > 0: // an invalid record (an id of white space): refused, never aggregated
			require.Zero(t, rep.Stats.Accepted)
			require.Equal(t, int64(2), rep.Stats.Rejected+rep.Stats.Duplicates)
		case r.ID != "":
			require.Equal(t, int64(1), rep.Stats.Duplicates)
			require.Empty(t, rep.Conflicts)
		}
	})
}

// FuzzLedgerDecode reads arbitrary bytes as a ledger's binary form and as
// its JSON. Decoding never panics; every error is typed and matches
// ErrInvalidLedger; a ledger accepted from its binary form writes back the
// very same bytes (the form is canonical), and one accepted from JSON
// writes JSON that reads back into an equal ledger and writes the same
// bytes again, and round-trips through the binary form too.
func FuzzLedgerDecode(f *testing.F) {
	cfg := testConfig()
	first := collect(f, cfg,
		rec("e1", "L1", "gpu", "1.5", "2026-01-02T00:00:00Z"),
		rec("e10", "L1", "gpu", "2", "2026-01-03T00:00:00Z"),
		rec("e2", "L1", "peak", "7", "2026-02-03T00:00:00Z"),
		rec("x", "L2", "calls", "1", "2026-02-03T00:00:00Z"),
	)
	cfg.Resend = usage.ResendCorrects
	withQty := collect(f, cfg,
		rec("e1", "L1", "gpu", "1.50", "2026-01-02T00:00:00Z"),
		rec("e2", "L1", "gpu", "-0.000001", "2026-01-03T00:00:00Z"),
	)
	for _, l := range []usage.Ledger{{}, first.Ledger, first.Ledger.Prune(utc("2026-02-01T00:00:00Z")), first.Ledger.Prune(utc("2027-01-01T00:00:00Z")), withQty.Ledger} {
		b, err := l.MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
		j, err := json.Marshal(l)
		require.NoError(f, err)
		f.Add(j)
	}
	f.Add([]byte(`{"version":1,"lines":[{"line":"L1","meter":"gpu","periods":[{"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z","records":[{"id":"a","digest":"0000000000000001"},{"id":"a","digest":"0000000000000002"}]}]}]}`))
	f.Add([]byte("ENSL\x01\x00\x01\x02L1\x03gpu\x01\x00\x01\x01\x00\x01a\x00\x00\x00\x00\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var l usage.Ledger
		if err := l.UnmarshalBinary(data); err != nil {
			var fe *usage.LedgerFormatError
			require.ErrorAs(t, err, &fe)
			require.ErrorIs(t, err, usage.ErrInvalidLedger)
		} else {
			b, err := l.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, data, b)
			require.Equal(t, l.Len(), len(slices.Collect(l.All())))
		}
		var lj usage.Ledger
		if err := lj.UnmarshalJSON(data); err != nil {
			require.ErrorIs(t, err, usage.ErrInvalidLedger)
			var de *ensemble.DecodeError
			var ve *ensemble.ValidationError
			require.True(t, errors.As(err, &de) || errors.As(err, &ve), "%T: %v", err, err)
			return
		}
		j, err := json.Marshal(lj)
		require.NoError(t, err)
		var back usage.Ledger
		require.NoError(t, json.Unmarshal(j, &back), "%s", j)
		require.True(t, back.Equal(lj))
		j2, err := json.Marshal(back)
		require.NoError(t, err)
		require.Equal(t, string(j), string(j2))
		b, err := lj.MarshalBinary()
		require.NoError(t, err)
		var fromBin usage.Ledger
		require.NoError(t, fromBin.UnmarshalBinary(b))
		require.True(t, fromBin.Equal(lj))
	})
}

// FuzzWeightedMerge: merging a weighted average with aggregates read from
// any JSON never panics, and either fails with a typed error or gives an
// average within the least (and zero) and the greatest level, give or
// take the rounding to usage.WeightedScale digits.
func FuzzWeightedMerge(f *testing.F) {
	f.Add([]byte(`{"line":"backup-1","meter":"tb_protected","aggregation":"weighted_average","period":{"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z"},"value":"0","records":1,"digest":"00000000000000000000000000000000","levels":[{"at":"2026-01-21T00:00:00Z","quantity":"200","record":"x"}]}`))
	f.Add([]byte(`{"aggregation":"weighted_average","period":{"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z"},"levels":[{"at":"2025-12-31T00:00:00Z","quantity":"1e99999","record":"x","carried":true}]}`))
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := usage.Aggregate{Line: "backup-1", Meter: "tb_protected", Aggregation: usage.WeightedAverage, Period: ensemble.MustPeriod(jan, jan.AddDate(0, 1, 0)),
		Records: 1, Levels: []usage.Level{{At: jan.AddDate(0, 0, 3), Quantity: decimal.NewFromInt(100), Record: "a"}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var o usage.Aggregate
		if json.Unmarshal(b, &o) != nil {
			return
		}
		o.Line, o.Meter = g.Line, g.Meter
		m, err := g.Merge(o)
		if err != nil {
			if !errors.Is(err, usage.ErrBadLevels) && !errors.Is(err, usage.ErrMergeMismatch) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		lo, hi := decimal.Zero, decimal.Zero
		for _, l := range m.Levels {
			lo, hi = decimal.Min(lo, l.Quantity), decimal.Max(hi, l.Quantity)
		}
		ulp := decimal.New(1, -usage.WeightedScale)
		if m.Value.LessThan(lo.Sub(ulp)) || m.Value.GreaterThan(hi.Add(ulp)) {
			t.Fatalf("average %s outside [%s, %s]", m.Value, lo, hi)
		}
	})
}
