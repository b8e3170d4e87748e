package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A new-user trial (a Quebec SaaS): a storage line of 167.74 + 25.12 GST
// and QST (192.86) payable on collection, disputed, 100.00 of it lost. The
// lost dispute takes the share of the total the lost basis stands for off
// what the customer owes, 192.86 × 100.00 / 167.74 = 114.9755, rounded half
// up to 114.98 (77.88 owed). The documenting credit note's own total then
// replaces that share (README, Disputes): a note of 100.00 + 14.98 leaves
// 77.88 owed, one of 100.00 + 14.97 (tax per component) 77.89, each paid in
// full by exactly that; a note further than MaxNoteRounding from the share
// is ErrDocumentedTotal, naming both amounts, and changes nothing.
func TestDisputeLostInPartDocumentingNoteSetsWhatIsOwed(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l := chainLine("L1", "167.74", "2026-02-01")
	l.Tax, l.Invoice = eur("25.12"), "INV-2"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	d, err := s.Dispute(res.State, "L1", date("2026-02-05"))
	require.NoError(t, err)
	r, err := s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: eur("100.00")}, date("2026-03-01"))
	require.NoError(t, err)
	owed := func(st settlement.State) string {
		ll, ok := st.Line("L1")
		require.True(t, ok)
		o, err := ll.Collection.Owed()
		require.NoError(t, err)
		return o.AmountString()
	}
	require.Equal(t, "77.88", owed(r.State))
	ll, _ := r.State.Line("L1")
	require.Equal(t, "114.98", ll.UndocumentedOwed.AmountString())

	for tax, want := range map[string]string{"-14.98": "77.88", "-14.97": "77.89", "-15.01": "77.85", "-14.95": "77.91"} {
		note := credit("CN1", "L1", "-100.00", "2026-03-02")
		note.Tax, note.Invoice, note.Dispute = eur(tax), "INV-2", settlement.DisputeDocuments
		n, err := s.Settle(ctx, r.State, []settlement.Line{note})
		require.NoError(t, err, tax)
		require.Empty(t, n.Entries)
		require.Equal(t, want, owed(n.State), "the documenting note's tax %s", tax)
		nl, _ := n.State.Line("L1")
		require.True(t, nl.UndocumentedOwed.IsZero())

		over, err := ensemble.MustMoney(want, "EUR").Add(eur("0.01"))
		require.NoError(t, err)
		_, err = s.Collect(n.State, settlement.Collection{ID: "P1", Date: date("2026-03-05"), Amount: over, Invoice: "INV-2"})
		require.ErrorIs(t, err, settlement.ErrOverCollection, tax)
		p, err := s.Collect(n.State, settlement.Collection{ID: "P1", Date: date("2026-03-05"), Amount: eur(want), Invoice: "INV-2"})
		require.NoError(t, err, tax)
		require.Equal(t, "0.00", owed(p.State))
	}
	for _, tax := range []string{"-15.02", "-14.94"} {
		note := credit("CN1", "L1", "-100.00", "2026-03-02")
		note.Tax, note.Invoice, note.Dispute = eur(tax), "INV-2", settlement.DisputeDocuments
		_, err := s.Settle(ctx, r.State, []settlement.Line{note})
		require.ErrorIs(t, err, settlement.ErrDocumentedTotal, tax)
		require.ErrorContains(t, err, "114.98")
	}
}

// A state written before lost disputes recorded what they took off what
// the customer owes (JSON without "undocumented_owed", binary version 12 or
// earlier) reads it as zero: its documenting note then leaves what is owed
// as the dispute set it (77.88, as before), never guessed. One written now
// keeps it through JSON and the binary form (version 13).
func TestStateBeforeUndocumentedOwedLeavesWhatIsOwed(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l := chainLine("L1", "167.74", "2026-02-01")
	l.Tax, l.Invoice = eur("25.12"), "INV-2"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	d, err := s.Dispute(res.State, "L1", date("2026-02-05"))
	require.NoError(t, err)
	r, err := s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: eur("100.00")}, date("2026-03-01"))
	require.NoError(t, err)
	requireBothRoundTrips(t, r.State)

	j, err := json.Marshal(r.State)
	require.NoError(t, err)
	const field = `"undocumented_owed":{"amount":"114.98","currency":"EUR"},`
	require.Contains(t, string(j), field)
	var old settlement.State
	require.NoError(t, json.Unmarshal([]byte(strings.Replace(string(j), field, "", 1)), &old))
	ll, _ := old.Line("L1")
	require.True(t, ll.UndocumentedOwed.IsZero())

	note := credit("CN1", "L1", "-100.00", "2026-03-02")
	note.Tax, note.Invoice, note.Dispute = eur("-14.97"), "INV-2", settlement.DisputeDocuments
	n, err := s.Settle(ctx, old, []settlement.Line{note})
	require.NoError(t, err)
	nl, _ := n.State.Line("L1")
	o, err := nl.Collection.Owed()
	require.NoError(t, err)
	require.Equal(t, "77.88", o.AmountString())
}
