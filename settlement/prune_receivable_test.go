package settlement_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPruneKeepsAnOwedReceivableWhoseInvoiceIsPaidOnCollection: INV-1
// holds a service line paid on settlement (EUR 400.00 + 84.00, owed) and
// an add-on on collection (500.00 + 105.00) that the customer paid. The
// state is pruned on June 1: the add-on owes nothing and goes, and the
// service line, still owed 484.00, used to go with it, as its invoice kept
// no line on collection. An add-on of 100.00 + 21.00 billed on INV-1 on
// June 5 then took all of a payment of 121.00 of INV-1 (its basis 100.00
// made payable: 70.00 to the ISV, 30.00 to the platform) where, unpruned,
// the payment is spread over both lines (of 605.00 owed, 96.80 to the
// service line, 24.20 to the add-on: 14.00 to the ISV, 6.00 to the
// platform); and a payment of INV-1 before it was refused
// (ErrUnknownInvoice). Prune keeps the receivable while it is owed: both
// states pay the same.
func TestPruneKeepsAnOwedReceivableWhoseInvoiceIsPaidOnCollection(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		mixedLine("svc", "svc", "2026-03-15", "400.00", "84.00", "INV-1"),
		mixedLine("addon", "addon", "2026-03-15", "500.00", "105.00", "INV-1"),
	})
	require.NoError(t, err)
	paid, err := s.Collect(res.State, settlement.Collection{ID: "ADDON", Date: date("2026-04-10"), Amount: eur("605.00"), Lines: []settlement.LineID{"addon"}})
	require.NoError(t, err)
	pruned := paid.State.Prune(date("2026-06-01"))
	require.True(t, pruned.Has("svc"), "the service line is still owed 484.00")
	require.False(t, pruned.Has("addon"), "the add-on owes nothing")
	require.Empty(t, settlement.CollectionIndexDiff(pruned))

	for name, st := range map[string]settlement.State{"unpruned": paid.State, "pruned": pruned} {
		early, err := s.Collect(st, settlement.Collection{ID: "P0", Date: date("2026-06-02"), Amount: eur("10.00"), Invoice: "INV-1"})
		require.NoError(t, err, name)
		require.Empty(t, early.Entries, name)
		more, err := s.Settle(ctx, st, []settlement.Line{mixedLine("addon2", "addon", "2026-06-05", "100.00", "21.00", "INV-1")})
		require.NoError(t, err, name)
		p, err := s.Collect(more.State, settlement.Collection{ID: "P1", Date: date("2026-06-10"), Amount: eur("121.00"), Invoice: "INV-1"})
		require.NoError(t, err, name)
		require.Equal(t, map[partner.ID]string{"sub-utrecht": "14.00", "platform": "6.00"}, collectedOf(p.Entries), name)
		svc, _ := p.State.Line("svc")
		require.Equal(t, "96.80", svc.Receivable.Collected.AmountString(), name)
	}
}

// TestPropertyPruneChangesNoLaterCollection settles random lines of three
// invoices, some paid on settlement (receivables), pays, writes off and
// credits them on random days, and at a random day goes on both from the
// state and from the state pruned that day (a JSON round trip of it now
// and then): every later step (sales, payments and write-offs by invoice
// or by lines, credits of a line, netted on another invoice now and then)
// does on the pruned state what it does on the whole one (the same
// entries, or an error of the same kind: a pruned state's message may say
// it was pruned; a payment of an invoice nothing is owed on any more is
// ErrOverCollection on the whole state, ErrUnknownInvoice on the pruned
// one, which dropped its lines), but for one the pruned state refuses with
// ErrUnknownLine or ErrBeforeWindow (a line it dropped, or dated before the
// cut), which is skipped on both; and at the end, both states pruned at
// the cut write the same JSON.
func TestPropertyPruneChangesNoLaterCollection(t *testing.T) {
	s := planSettler(t, mixedCollectPlans, loadNetwork(t))
	invoices := []string{"INV-1", "INV-2", "INV-3"}
	rapid.Check(t, func(t *rapid.T) {
		whole, pruned := settlement.State{}, settlement.State{}
		var ids []settlement.LineID
		steps := rapid.IntRange(2, 24).Draw(t, "steps")
		cutAt := rapid.IntRange(1, steps-1).Draw(t, "cut")
		var cut = date("2026-03-01")
		seq := 0
		for step := range steps {
			label := fmt.Sprintf("step%d", step)
			at := date("2026-03-01").AddDate(0, 0, 3*step)
			if step == cutAt {
				cut = at.AddDate(0, 0, -rapid.IntRange(0, 3*step).Draw(t, "cut.back"))
				pruned = whole.Prune(cut)
				if rapid.Bool().Draw(t, "cut.json") {
					pruned = requireDecodes(t, pruned)
				}
			}
			seq++
			var apply func(st settlement.State) (settlement.Result, error)
			switch op := rapid.IntRange(0, 4).Draw(t, label+".op"); op {
			case 0: // sales
				var lines []settlement.Line
				for j := range rapid.IntRange(1, 3).Draw(t, label+".lines") {
					id := settlement.LineID(fmt.Sprintf("L%d.%d", step, j))
					l := collectLine(string(id))
					l.Date, l.Invoice = at.AddDate(0, 0, -rapid.IntRange(0, 2).Draw(t, string(id)+".back")), rapid.SampledFrom(invoices).Draw(t, string(id)+".invoice")
					l.Amount = ensemble.MoneyFromMinor(rapid.Int64Range(1, 20_000).Draw(t, string(id)+".amount"), eurCur)
					l.Tax = ensemble.MoneyFromMinor(rapid.Int64Range(0, 4_000).Draw(t, string(id)+".tax"), eurCur)
					if rapid.IntRange(0, 2).Draw(t, string(id)+".on_settlement") == 0 {
						l.Offer = catalog.Pin{Offer: "svc", Version: 1}
					}
					lines, ids = append(lines, l), append(ids, id)
				}
				apply = func(st settlement.State) (settlement.Result, error) { return s.Settle(ctx, st, lines) }
			case 1, 2: // a payment or write-off
				c := settlement.Collection{ID: fmt.Sprintf("P%d", seq), Date: at,
					Amount: ensemble.MoneyFromMinor(rapid.Int64Range(1, 30_000).Draw(t, label+".amount"), eurCur)}
				if rapid.Bool().Draw(t, label+".by_invoice") || len(ids) == 0 {
					c.Invoice = rapid.SampledFrom(invoices).Draw(t, label+".invoice")
				} else {
					c.Lines = []settlement.LineID{rapid.SampledFrom(ids).Draw(t, label+".line")}
				}
				if op == 1 {
					apply = func(st settlement.State) (settlement.Result, error) { return s.Collect(st, c) }
				} else {
					apply = func(st settlement.State) (settlement.Result, error) { return s.WriteOff(st, c) }
				}
			case 3: // a credit, netted on another invoice now and then
				if len(ids) == 0 {
					continue
				}
				cr := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%d", step)), Credits: rapid.SampledFrom(ids).Draw(t, label+".credits"), Date: at,
					Amount: ensemble.MoneyFromMinor(-rapid.Int64Range(1, 5_000).Draw(t, label+".credit"), eurCur), Tax: eur("-1.90")}
				if rapid.Bool().Draw(t, label+".netted") {
					cr.Invoice = rapid.SampledFrom(invoices).Draw(t, label+".netted.invoice")
				}
				apply = func(st settlement.State) (settlement.Result, error) { return s.Settle(ctx, st, []settlement.Line{cr}) }
			default: // time passes
				continue
			}
			got, gotErr := apply(whole)
			if step < cutAt {
				if gotErr == nil {
					whole = got.State
				}
				continue
			}
			p, pErr := apply(pruned)
			if errors.Is(pErr, settlement.ErrUnknownLine) || errors.Is(pErr, settlement.ErrBeforeWindow) {
				continue // what the pruned state no longer holds: skipped on both
			}
			if gotErr != nil || pErr != nil {
				require.Error(t, gotErr, "refused only on the pruned state: %v", pErr)
				require.Error(t, pErr, "refused only on the whole state: %v", gotErr)
				if errors.Is(pErr, settlement.ErrUnknownInvoice) && errors.Is(gotErr, settlement.ErrOverCollection) {
					continue // an invoice that owed nothing, whose lines the cut dropped
				}
				for _, e := range []error{settlement.ErrUnknownInvoice, settlement.ErrInvalidCollection, settlement.ErrOverCollection,
					settlement.ErrCollectionApplied, settlement.ErrNotOnCollection, settlement.ErrDisputed, settlement.ErrOverCredit,
					settlement.ErrAlreadySettled, settlement.ErrCurrency} {
					require.Equal(t, errors.Is(gotErr, e), errors.Is(pErr, e), "%v: %v, pruned %v", e, gotErr, pErr)
				}
				continue
			}
			requireSameEntries(t, p.Entries, got.Entries)
			whole, pruned = got.State, p.State
		}
		require.Equal(t, string(mustJSON(t, whole.Prune(cut))), string(mustJSON(t, pruned.Prune(cut))))
	})
}
