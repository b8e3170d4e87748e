package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPropertyDocumentingNotesKeepWhatAwaitsToWhatIsOwed: a line payable
// on collection, paid in part or not at all, disputed and lost in part or
// in full, then documented by credit notes whose totals drift from the
// share the lost dispute took off what is owed by up to MaxNoteRounding
// either way, then paid what it still owes: after every step the State
// reads back (its reader checks that the parts await what the customer
// still owes of the basis, nothing once it owes nothing), and once the
// customer owes nothing nothing awaits, and every party has its part's
// unreversed amount payable.
func TestPropertyDocumentingNotesKeepWhatAwaitsToWhatIsOwed(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	rapid.Check(t, func(t *rapid.T) {
		readsBack := func(st settlement.State) settlement.LedgerLine {
			b, err := json.Marshal(st)
			require.NoError(t, err)
			var back settlement.State
			require.NoError(t, json.Unmarshal(b, &back), "the state does not read back")
			ll, ok := back.Line("L1")
			require.True(t, ok)
			return ll
		}
		units := func(m ensemble.Money) int64 {
			if m.IsZero() {
				return 0
			}
			u, err := m.MinorUnits()
			require.NoError(t, err)
			return u
		}
		owedOf := func(ll settlement.LedgerLine) int64 {
			o, err := ll.Collection.Owed()
			require.NoError(t, err)
			return units(o)
		}
		amount := rapid.Int64Range(1, 2_000).Draw(t, "amount")
		l := chainLine("L1", "0", "2026-02-01")
		l.Amount, l.Tax = ensemble.MoneyFromMinor(amount, eurCur), ensemble.MoneyFromMinor(rapid.Int64Range(0, amount/4+1).Draw(t, "tax"), eurCur)
		l.Invoice = "INV-1"
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		st := res.State
		total := amount + units(l.Tax)
		if paid := rapid.Int64Range(0, total-1).Draw(t, "paid"); paid > 0 {
			p, err := s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-02-03"), Amount: ensemble.MoneyFromMinor(paid, eurCur), Invoice: "INV-1"})
			require.NoError(t, err)
			st = p.State
		}
		d, err := s.Dispute(st, "L1", date("2026-02-05"))
		require.NoError(t, err)
		lost := rapid.Int64Range(1, amount).Draw(t, "lost")
		r, err := s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: ensemble.MoneyFromMinor(lost, eurCur)}, date("2026-03-01"))
		require.NoError(t, err)
		st = r.State
		ll := readsBack(st)
		for i := range rapid.IntRange(1, 2).Draw(t, "notes") {
			undoc := units(ll.Lost) - units(ll.Documented)
			if undoc == 0 {
				break
			}
			net := rapid.Int64Range(1, undoc).Draw(t, "net")
			share := units(ll.UndocumentedOwed)
			if net < undoc {
				share = basisShare(share, net, undoc)
			}
			tax := share - net + int64(rapid.IntRange(-settlement.MaxNoteRounding, settlement.MaxNoteRounding).Draw(t, "drift"))
			note := credit("CN"+string(rune('1'+i)), "L1", "0", "2026-03-02")
			note.Amount, note.Tax = ensemble.MoneyFromMinor(-net, eurCur), ensemble.MoneyFromMinor(-max(tax, 0), eurCur)
			note.Invoice, note.Dispute = "INV-1", settlement.DisputeDocuments
			n, err := s.Settle(ctx, st, []settlement.Line{note})
			require.NoError(t, err)
			st = n.State
			ll = readsBack(st)
		}
		if o := owedOf(ll); o > 0 {
			p, err := s.Collect(st, settlement.Collection{ID: "P2", Date: date("2026-03-05"), Amount: ensemble.MoneyFromMinor(o, eurCur), Invoice: "INV-1"})
			require.NoError(t, err)
			st = p.State
			ll = readsBack(st)
		}
		require.Zero(t, owedOf(ll))
		for _, p := range ll.Parts {
			require.Zero(t, units(p.Awaiting), "%s awaits %s of a line owing nothing", p.Party, p.Awaiting)
		}
	})
}
