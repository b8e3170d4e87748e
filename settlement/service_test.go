package settlement_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestServicePeriodKept: a March line invoiced on 1 April keeps March as
// its service period on every entry, and a credit's clawbacks keep the
// credited period, so payouts can be reported by the month of service.
func TestServicePeriodKept(t *testing.T) {
	s := newSettler(t)
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	sale := chainLine("L1", "100.00", "2026-04-01")
	sale.Service = march
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale})
	require.NoError(t, err)
	require.NotEmpty(t, res.Entries)
	for _, e := range res.Entries {
		require.True(t, e.Service.Start.Equal(march.Start) && e.Service.End.Equal(march.End), "entry %s: %v", e.ID, e.Service)
	}
	credit := chainLine("C1", "-40.00", "2026-04-10")
	credit.Credits, credit.Service = "L1", march
	res, err = s.Settle(context.Background(), res.State, []settlement.Line{credit})
	require.NoError(t, err)
	for _, e := range res.Entries {
		require.Equal(t, settlement.KindClawback, e.Kind)
		require.True(t, e.Service.Start.Equal(march.Start), "clawback %s: %v", e.ID, e.Service)
	}

	bad := chainLine("L2", "10.00", "2026-04-01")
	bad.Service = ensemble.Period{Start: march.End, End: march.Start}
	_, err = s.Settle(context.Background(), settlement.State{}, []settlement.Line{bad})
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	require.ErrorContains(t, err, "service")
}

// TestDisputeEntriesKeepServicePeriod: a dispute's holds, its releases and
// a lost dispute's clawbacks carry the disputed line's service period, as
// its earnings do, also when the state was stored as JSON in between; a
// stored service period that is not a period is refused.
func TestDisputeEntriesKeepServicePeriod(t *testing.T) {
	s := newSettler(t)
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	sale := chainLine("L1", "100.00", "2026-04-01")
	sale.Service = march
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale})
	require.NoError(t, err)
	requireService := func(t *testing.T, entries []settlement.Entry, kinds ...settlement.EntryKind) {
		t.Helper()
		require.NotEmpty(t, entries)
		for _, e := range entries {
			require.Contains(t, kinds, e.Kind, e.ID)
			require.True(t, e.Service.Equal(march), "entry %s: %v", e.ID, e.Service)
		}
	}
	for _, won := range []bool{true, false} {
		t.Run(map[bool]string{true: "won", false: "lost"}[won], func(t *testing.T) {
			held, err := s.Dispute(res.State, "L1", date("2026-04-05"))
			require.NoError(t, err)
			requireService(t, held.Entries, settlement.KindHold)

			b, err := json.Marshal(held.State)
			require.NoError(t, err)
			var st settlement.State
			require.NoError(t, json.Unmarshal(b, &st))
			l, ok := st.Line("L1")
			require.True(t, ok)
			require.True(t, l.Service.Equal(march), "stored %v", l.Service)

			out, err := s.ResolveDispute(st, "L1", won, date("2026-04-20"))
			require.NoError(t, err)
			requireService(t, out.Entries, settlement.KindRelease, settlement.KindClawback)
		})
	}

	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	bad := strings.Replace(string(b), `"2026-04-01T00:00:00Z"}`, `"2026-02-01T00:00:00Z"}`, 1)
	require.NotEqual(t, string(b), bad, "the service period is stored")
	var st settlement.State
	err = json.Unmarshal([]byte(bad), &st)
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	require.ErrorContains(t, err, "service")
}
