package settlement_test

// Hole 4 of issue 18: Explain follows typed references, never ids.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// rekey gives every entry an opaque id (as a host storing entries under
// its own keys would), rewriting the references between them.
func rekey(entries []settlement.Entry) []settlement.Entry {
	ids := map[settlement.EntryID]settlement.EntryID{}
	out := make([]settlement.Entry, len(entries))
	for i, e := range entries {
		ids[e.ID] = settlement.EntryID(fmt.Sprintf("E%03d", i))
	}
	for i, e := range entries {
		e.ID = ids[e.ID]
		if e.Reverses != "" {
			e.Reverses = ids[e.Reverses]
		}
		out[i] = e
	}
	return out
}

// Hole: Explain parsed ids back (the credited line was the id before its
// first ':'; an entry acted on the line its Reverses id started with). It
// now follows typed references, so ids are opaque to it.
func TestExplainFollowsTypedReferencesNotIDs(t *testing.T) {
	s := newSettler(t)
	l := chainLine("L5", "100.00", "2026-03-01")
	l.Offer = catalog.Pin{Offer: "secure-backup", Version: 1}
	l.SupplierCosts = []catalog.SupplierCost{{Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "secure-backup/backup/supplier-backup", Version: "1"},
		Offer: "backup", Supplier: "supplier-backup", Cost: eur("40.00")}}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l, chainLine("L6", "10.00", "2026-03-01")})
	require.NoError(t, err)
	cr, err := s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L5", "-50.00", "2026-03-05")})
	require.NoError(t, err)
	held, err := s.Dispute(cr.State, "L5", date("2026-03-06"))
	require.NoError(t, err)
	lost, err := s.ResolveDispute(held.State, "L5", false, date("2026-03-07"))
	require.NoError(t, err)
	all := append(append(append(res.Entries, cr.Entries...), held.Entries...), lost.Entries...)
	opaque := rekey(all)
	for _, line := range []settlement.LineID{"L5", "L6"} {
		want, err := settlement.Explain(line, all)
		require.NoError(t, err)
		got, err := settlement.Explain(line, opaque)
		require.NoError(t, err)
		require.Equal(t, want, got, "the tree of %s does not depend on how ids are spelt", line)
	}
	want, err := settlement.Explain("L5", all)
	require.NoError(t, err)
	require.Contains(t, want, "hold EUR")
	require.Contains(t, want, "dispute 1 lost")
	for _, line := range []settlement.LineID{"C1", "L5#dispute.1"} {
		got, err := settlement.Explain(line, opaque)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(got, "line "+string(line)+"  EUR -"), "%s", got)
		require.Contains(t, strings.SplitN(got, "\n", 2)[0], "credits line L5", "%s", got)
	}
}
