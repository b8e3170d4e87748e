package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A line of EUR 1.49 + 0.13 tax (1.62) payable on collection, nothing
// paid, is disputed and 1.48 of it lost: the lost dispute takes 1.62 ×
// 1.48 / 1.49 = 1.6091, rounded to 1.61, off what the customer owes,
// leaving 0.01 owed, and 0.01 of the basis awaiting it. The customer's
// billing system documents the loss with a note of 1.48 + tax per component
// (4% + 4.5% + 0.375%: 0.06 + 0.07 + 0.01) = 1.62, a unit more than the
// share (within MaxNoteRounding): the note's total replaces the share, so the
// customer owes nothing. What still awaited its payment, 0.01, will never be
// paid: the note takes it back from the parts ("awaiting a payment no longer
// owed"), as a credit note closing a line does, and the state reads back.
// Before, the parts kept awaiting 0.01 of a line owing nothing, a state the
// library's own reader refused ("the parts await EUR 0.01, not the EUR 0.00
// the customer still owes of the basis"; rapid seed A9).
func TestDocumentingNoteThatClosesTheLineTakesBackWhatAwaited(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l := chainLine("L1", "1.49", "2026-02-01")
	l.Tax, l.Invoice = eur("0.13"), "INV-2"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	d, err := s.Dispute(res.State, "L1", date("2026-02-05"))
	require.NoError(t, err)
	r, err := s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: eur("1.48")}, date("2026-03-01"))
	require.NoError(t, err)
	ll, _ := r.State.Line("L1")
	o, err := ll.Collection.Owed()
	require.NoError(t, err)
	require.Equal(t, "0.01", o.AmountString())
	require.Equal(t, "1.61", ll.UndocumentedOwed.AmountString())
	require.Equal(t, "0.01", partsAwaiting(ll).AmountString())

	note := credit("CN1", "L1", "-1.48", "2026-03-02")
	note.Tax, note.Invoice, note.Dispute = eur("-0.14"), "INV-2", settlement.DisputeDocuments
	n, err := s.Settle(ctx, r.State, []settlement.Line{note})
	require.NoError(t, err)

	nl, _ := n.State.Line("L1")
	o, err = nl.Collection.Owed()
	require.NoError(t, err)
	require.Equal(t, "0.00", o.AmountString(), "the note's 1.62 came off, not the 1.61 share")
	require.Equal(t, "0.00", partsAwaiting(nl).AmountString(), "nothing awaits a payment no longer owed")
	require.Equal(t, "1.49", nl.Credited.AmountString(), "1.48 lost, 0.01 taken back by the note")
	require.Equal(t, "1.48", nl.Documented.AmountString())
	var clawed, uncollected int64
	for _, e := range n.Entries {
		require.Equal(t, settlement.LineID("CN1"), e.Line, "%+v", e)
		u, err := e.Amount.MinorUnits()
		require.NoError(t, err)
		switch e.Kind {
		case settlement.KindClawback:
			clawed += u
		case settlement.KindUncollected:
			uncollected += u
		}
	}
	require.Equal(t, int64(-1), clawed, "%+v", n.Entries)
	require.Equal(t, int64(-1), uncollected, "%+v", n.Entries)

	// The state reads back, and the note sent again is already settled.
	b, err := json.Marshal(n.State)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back))
	_, err = s.Settle(ctx, back, []settlement.Line{note})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	require.NotErrorIs(t, err, settlement.ErrLineConflict)
}

// partsAwaiting is what the parts of ll await of the customer's payment.
func partsAwaiting(ll settlement.LedgerLine) ensemble.Money {
	sum := ensemble.MoneyFromMinor(0, ll.Basis.Currency())
	for _, p := range ll.Parts {
		if !p.Awaiting.IsZero() {
			var err error
			if sum, err = sum.Add(p.Awaiting); err != nil {
				panic(err)
			}
		}
	}
	return sum
}
