package settlement_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestLateEntriesOfEveryPartyReported: a late payment reported after a
// period was folded makes entries for several parties; the error named
// the first party only, so a host fixing it learnt of the next one run
// by run. Every party's *LateEntriesError is reported at once.
func TestLateEntriesOfEveryPartyReported(t *testing.T) {
	jan := ensemble.MustPeriod(date("2026-01-01"), date("2026-02-01"))
	feb := ensemble.MustPeriod(date("2026-02-01"), date("2026-03-01"))
	folded := []settlement.Entry{
		{ID: "L1:root/a", Party: "isv", Kind: settlement.KindEarning, Amount: eurMinor(1000), Date: date("2026-01-10")},
		{ID: "L1:root/b", Party: "vpnco", Kind: settlement.KindEarning, Amount: eurMinor(2000), Date: date("2026-01-10")},
	}
	jans, err := settlement.Statements(folded, settlement.StatementOptions{Period: jan})
	require.NoError(t, err)
	late := []settlement.Entry{
		{ID: "L0:root/a", Party: "isv", Kind: settlement.KindEarning, Amount: eurMinor(500), Date: date("2026-01-29")},
		{ID: "L0:root/b", Party: "vpnco", Kind: settlement.KindEarning, Amount: eurMinor(700), Date: date("2026-01-29")},
	}
	_, err = settlement.Statements(append(folded, late...), settlement.StatementOptions{Period: feb, Previous: jans})
	require.ErrorIs(t, err, settlement.ErrLateEntries)
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined), "%v", err)
	var parties []partner.ID
	for _, e := range joined.Unwrap() {
		var le *settlement.LateEntriesError
		require.True(t, errors.As(e, &le), "%v", e)
		parties = append(parties, le.Party)
	}
	require.Equal(t, []partner.ID{"isv", "vpnco"}, parties)
}
