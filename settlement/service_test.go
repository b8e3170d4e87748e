package settlement_test

import (
	"context"
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
