package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// A new-user trial (a Quebec SaaS): a storage line of 167.74 + 25.12 GST
// and QST (192.86) payable on collection, disputed, 100.00 of it lost. The
// lost dispute takes the share of the total the lost basis stands for off
// what the customer owes, 192.86 × 100.00 / 167.74 = 114.9755, rounded half
// up to 114.98, and the documenting credit note's own total is not read
// (README, Disputes): a note of 100.00 + 14.98 leaves 77.88 owed, which pays
// the line in full; one of 100.00 + 14.97 leaves the customer's documents
// saying 77.89, which is refused by the cent.
func TestDisputeLostInPartTakesItsShareOfTheTotalOffWhatIsOwed(t *testing.T) {
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

	for _, tax := range []string{"-14.98", "-14.97"} {
		note := credit("CN1", "L1", "-100.00", "2026-03-02")
		note.Tax, note.Invoice, note.Dispute = eur(tax), "INV-2", settlement.DisputeDocuments
		n, err := s.Settle(ctx, r.State, []settlement.Line{note})
		require.NoError(t, err)
		require.Empty(t, n.Entries)
		require.Equal(t, "77.88", owed(n.State), "the documenting note's tax %s is not read", tax)

		_, err = s.Collect(n.State, settlement.Collection{ID: "P1", Date: date("2026-03-05"), Amount: eur("77.89"), Invoice: "INV-2"})
		require.ErrorIs(t, err, settlement.ErrOverCollection)
		p, err := s.Collect(n.State, settlement.Collection{ID: "P1", Date: date("2026-03-05"), Amount: eur("77.88"), Invoice: "INV-2"})
		require.NoError(t, err)
		require.Equal(t, "0.00", owed(p.State))
	}
}
