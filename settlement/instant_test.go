package settlement_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// year10000 is the first instant JSON cannot write.
var year10000 = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)

// requireProblemAt requires err to hold a *ensemble.ValidationError with a
// problem at path whose text holds want.
func requireProblemAt(t *testing.T, err error, path, want string) {
	t.Helper()
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	i := slices.IndexFunc(ve.Problems, func(p *ensemble.FieldError) bool { return p.Path == path && strings.Contains(p.Error(), want) })
	require.GreaterOrEqual(t, i, 0, "want %q at %s: %v", want, path, err)
}

// requireWritable requires the state and entries to be written as JSON.
func requireWritable(t *testing.T, st settlement.State, es []settlement.Entry) {
	t.Helper()
	_, err := json.Marshal(st)
	require.NoError(t, err, "the state")
	_, err = json.Marshal(es)
	require.NoError(t, err, "the entries")
}

// TestDatesSettlementCannotRecordAreRefused: a date after year 9999 (which
// the JSON of a State and of entries cannot write) or before year 1 is
// refused where it comes in, with the call's own typed error naming the
// field (a hostile test: a line or a dispute dated 10000-01-01 settled,
// and the State returned could not be persisted). The last instant of
// 9999 settles, and everything it makes is written.
func TestDatesSettlementCannotRecordAreRefused(t *testing.T) {
	s := planSettler(t, reservePlans, loadNetwork(t))
	sale, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.NoError(t, err)

	t.Run("lines", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(l *settlement.Line)
			path string
			want string
		}{
			{"a sale dated in year 10000", func(l *settlement.Line) { l.Date = year10000 }, "date", "after year 9999"},
			{"a sale dated in year -5", func(l *settlement.Line) { l.Date = time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC) }, "date", "before year 1"},
			{"a sale dated in year 0", func(l *settlement.Line) { l.Date = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC) }, "date", "before year 1"},
			{"a service ending in year 10000", func(l *settlement.Line) { l.Service = ensemble.Period{Start: l.Date, End: year10000} }, "service.end", "after year 9999"},
			{"a sale whose reserve would release in year 10000", func(l *settlement.Line) { l.Date = time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC) },
				"date", `plan "resale" holds reserves for up to 90 days`},
			{"a credit dated in year 10000", func(l *settlement.Line) { *l = credit("C1", "L1", "-10.00", "2026-03-02"); l.Date = year10000 }, "date", "after year 9999"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				l := chainLine("L2", "1000.00", "2026-03-01")
				tc.edit(&l)
				_, err := s.Settle(ctx, sale.State, []settlement.Line{l})
				require.ErrorIs(t, err, settlement.ErrInvalidLine)
				require.NotErrorIs(t, err, settlement.ErrBeforeWindow)
				requireProblemAt(t, err, tc.path, tc.want)
				var le *settlement.LineError
				require.ErrorAs(t, err, &le)
				require.Equal(t, l.ID, le.Line)
			})
		}
	})

	t.Run("the last instant of 9999", func(t *testing.T) {
		last := time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
		plain := planSettler(t, strings.Replace(reservePlans, `  reserves: [{party: reseller-nl, ratio: "10%", days: 90}]`+"\n", "", 1), loadNetwork(t))
		l := chainLine("L2", "1000.00", "2026-03-01")
		l.Date, l.Service = last, ensemble.Period{Start: last, End: last}
		res, err := plain.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		requireWritable(t, res.State, res.Entries)
		d, err := plain.Dispute(res.State, "L2", last)
		require.NoError(t, err)
		requireWritable(t, d.State, d.Entries)
		// A reserve of 90 days releases in 9999 for a sale of September.
		l.Date, l.Service = time.Date(9999, 9, 1, 0, 0, 0, 0, time.UTC), ensemble.Period{}
		res, err = s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		requireWritable(t, res.State, res.Entries)
	})

	t.Run("disputes", func(t *testing.T) {
		_, err := s.Dispute(sale.State, "L1", year10000)
		require.ErrorIs(t, err, settlement.ErrInvalidDispute)
		requireProblemAt(t, err, "at", "after year 9999")
		d, err := s.Dispute(sale.State, "L1", date("2026-03-05"))
		require.NoError(t, err)
		_, err = s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Won: true}, year10000)
		require.ErrorIs(t, err, settlement.ErrInvalidDispute)
		requireProblemAt(t, err, "at", "after year 9999")
		_, err = s.ResolveDispute(d.State, "L1", false, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))
		require.ErrorIs(t, err, settlement.ErrInvalidDispute)
		requireProblemAt(t, err, "at", "before year 1")
	})

	t.Run("collections and write-offs", func(t *testing.T) {
		cs, _, st := settledCollect(t)
		for _, writeOff := range []bool{false, true} {
			c := settlement.Collection{ID: "P1", Date: year10000, Amount: eur("10.00"), Invoice: "INV-7"}
			var err error
			if writeOff {
				_, err = cs.WriteOff(st, c)
			} else {
				_, err = cs.Collect(st, c)
			}
			require.ErrorIs(t, err, settlement.ErrInvalidCollection)
			requireProblemAt(t, err, "date", "after year 9999")
		}
	})

	t.Run("adjustments", func(t *testing.T) {
		_, err := settlement.Adjust(settlement.Adjustment{ID: "A1", Party: "reseller-nl", Amount: eur("5.00"), Date: year10000,
			Reason: "goodwill", Approver: "finance"})
		require.ErrorIs(t, err, settlement.ErrInvalidAdjustment)
		requireProblemAt(t, err, "date", "after year 9999")
	})

	t.Run("a state pruned after 9999", func(t *testing.T) {
		pruned := sale.State.Prune(year10000)
		require.Zero(t, pruned.Len())
		requireWritable(t, pruned, nil)
		_, err := s.Settle(ctx, pruned, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
		require.ErrorIs(t, err, settlement.ErrBeforeWindow)
	})
}

// TestBinaryDecodeRefusesInstantsJSONCannotWrite: a state or entries blob
// holding an instant after year 9999 is refused, as its JSON would be, not
// read into a value that can no longer be written.
func TestBinaryDecodeRefusesInstantsJSONCannotWrite(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.NoError(t, err)

	late := res.Entries[0]
	late.Date = year10000
	blob, err := settlement.EncodeEntries([]settlement.Entry{late})
	require.NoError(t, err)
	_, err = settlement.DecodeEntries(blob)
	require.ErrorIs(t, err, settlement.ErrCorruptEntries)
	require.ErrorContains(t, err, "year 10000")

	// The state's line date, 2026-03-01 as Unix seconds, moved to 10000.
	blob, err = res.State.MarshalBinary()
	require.NoError(t, err)
	was, now := binary.AppendVarint(nil, date("2026-03-01").Unix()), binary.AppendVarint(nil, year10000.Unix())
	require.Equal(t, 1, bytes.Count(blob, was), "the line's date, once")
	var st settlement.State
	err = st.UnmarshalBinary(bytes.Replace(blob, was, now, 1))
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	var de *ensemble.DecodeError
	require.True(t, errors.As(err, &de), "a *DecodeError: %v", err)
	require.ErrorContains(t, err, "year 10000")
}
