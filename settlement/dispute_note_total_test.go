package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// A new-user trial (a Quebec SaaS, findings F1): invoice INV-2 bills seats
// 150.00 + 22.46 tax and storage 167.74 + 25.12 GST and QST (365.32), both
// payable on collection. The storage line is disputed and 100.00 of it
// lost: settlement takes 192.86 × 100.00 / 167.74 = 114.9755, rounded to
// 114.98, off what the customer owes. The customer's billing system issues
// the credit note for the lost part with its tax per component, net 100.00
// + GST 5.00 + QST 9.97 = 114.97, and the customer pays the invoice less the
// note, 365.32 - 114.97 = 250.35. The note, the customer's document, sets
// what the lost dispute took off what is owed: the payment is accepted and
// leaves nothing owed (before: ErrOverCollection, "250.34 owed").
func TestDocumentingCreditNoteSetsWhatALostDisputeTookOffWhatIsOwed(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	seats := chainLine("L0", "150.00", "2026-02-01")
	seats.Tax, seats.Invoice = eur("22.46"), "INV-2"
	l := chainLine("L1", "167.74", "2026-02-01")
	l.Tax, l.Invoice = eur("25.12"), "INV-2"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{seats, l})
	require.NoError(t, err)
	d, err := s.Dispute(res.State, "L1", date("2026-02-05"))
	require.NoError(t, err)
	r, err := s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: eur("100.00")}, date("2026-03-01"))
	require.NoError(t, err)
	owed := func(st settlement.State, id settlement.LineID) string {
		ll, ok := st.Line(id)
		require.True(t, ok)
		o, err := ll.Collection.Owed()
		require.NoError(t, err)
		return o.AmountString()
	}
	require.Equal(t, "77.88", owed(r.State, "L1"))

	note := credit("CN1", "L1", "-100.00", "2026-03-02")
	note.Tax, note.Invoice, note.Dispute = eur("-14.97"), "INV-2", settlement.DisputeDocuments
	n, err := s.Settle(ctx, r.State, []settlement.Line{note})
	require.NoError(t, err)
	require.Empty(t, n.Entries, "the parties' entries were split on the net, which agrees")
	require.Equal(t, "77.89", owed(n.State, "L1"), "the note's 114.97 came off, not the 114.98 share")

	p, err := s.Collect(n.State, settlement.Collection{ID: "P3", Date: date("2026-03-05"), Amount: eur("250.35"), Invoice: "INV-2"})
	require.NoError(t, err)
	require.Equal(t, "0.00", owed(p.State, "L0"))
	require.Equal(t, "0.00", owed(p.State, "L1"))
}
