package settlement_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// collectPlan pays the platform 25%, the referrer 15% and the seller the
// rest, each only as the customer pays.
var collectPlan = collectPlanOf("25%", "15%")

// collectPlanOf is a plan paying the platform and the referrer the shares
// given and the seller the rest, as the customer pays.
func collectPlanOf(platform, referrer string) string {
	return fmt.Sprintf(`
id: marketplace
version: 1
payable: on_collection
root:
  id: root
  children:
    - {id: platform, party: platform, share: %q}
    - {id: referrer, party: referrer, share: %q}
    - {id: seller, party: seller, share: remaining}
`, platform, referrer)
}

// collectLine is a line of EUR 100.00 plus 19.00 tax on invoice INV-7:
// the customer owes 119.00; the plan splits the 100.00 into 25.00, 15.00
// and 60.00.
func collectLine(id string) settlement.Line {
	l := chainLine(id, "100.00", "2026-03-01")
	l.Tax, l.Invoice = eur("19.00"), "INV-7"
	return l
}

// settledCollect settles collectLine("L1") on collection.
func settledCollect(t testing.TB) (*settlement.Settler, []settlement.Entry, settlement.State) {
	t.Helper()
	s := planSettler(t, collectPlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{collectLine("L1")})
	require.NoError(t, err)
	return s, res.Entries, res.State
}

// statementsOf folds entries over March and April 2026, by party.
func statementsOf(t *testing.T, entries []settlement.Entry) map[partner.ID]settlement.Statement {
	t.Helper()
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date("2026-05-01"))})
	require.NoError(t, err)
	out := map[partner.ID]settlement.Statement{}
	for _, st := range sts {
		require.NoError(t, st.Check())
		out[st.Party] = st
	}
	return out
}

// figures are a party's statement figures, in EUR: earned, reversed,
// collected, payable (= closing) and awaiting.
type figures struct{ earned, reversed, collected, payable, awaiting string }

func requireFigures(t *testing.T, sts map[partner.ID]settlement.Statement, want map[partner.ID]figures) {
	t.Helper()
	require.Len(t, sts, len(want))
	for p, w := range want {
		st := sts[p]
		for _, f := range []struct {
			name      string
			got, want ensemble.Money
		}{{"earned", st.Earned, eur(w.earned)}, {"reversed", st.Reversed, eur(w.reversed)}, {"collected", st.Collected, eur(w.collected)},
			{"closing", st.Closing, eur(w.payable)}, {"payable", st.Payable, eur(w.payable)}, {"awaiting", st.Awaiting, eur(w.awaiting)}} {
			requireMoney(t, f.got, f.want, p, f.name)
		}
	}
}

// Hand-worked: L1 bills EUR 100.00 + 19.00 tax (the customer owes 119.00);
// the platform earns 25.00, the referrer 15.00, the seller 60.00, all
// awaiting the customer's payment, so nothing is payable yet.
//
// The customer pays 50.00 of the 119.00: that is 100.00 × 50/119 = 42.0168
// of the basis, 42.02 half away from zero, made payable in proportion to
// what each awaits (25:15:60): 10.505, 6.303, 25.212; 42.01 in whole cents,
// and the last cent to the largest remainder, the platform's .5: 10.51,
// 6.30, 25.21.
//
// Then the other 69.00 is written off: 100.00 - 42.02 = 57.98 of the basis,
// clawed back in proportion to what each awaits (14.49, 8.70, 34.79), which
// is all of it. Each clawback comes off what the party awaited, so nothing
// awaits any more and each party is paid exactly what was collected for it.
func TestCollectionThenWriteOff(t *testing.T) {
	s, entries, st := settledCollect(t)
	requireFigures(t, statementsOf(t, entries), map[partner.ID]figures{
		"platform":     {"25.00", "0", "0", "0", "25.00"},
		"referral-ams": {"15.00", "0", "0", "0", "15.00"},
		"sub-utrecht":  {"60.00", "0", "0", "0", "60.00"},
	})

	c, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("50.00"), Invoice: "INV-7"})
	require.NoError(t, err)
	require.Len(t, c.Entries, 3)
	for _, e := range c.Entries {
		require.Equal(t, settlement.KindCollected, e.Kind)
		require.Equal(t, settlement.EntryID(string(e.Reverses)+"#collected.PAY-1"), e.ID)
	}
	requireMoney(t, sumEntries(c.Entries), eur("42.02"))
	entries = append(entries, c.Entries...)
	requireFigures(t, statementsOf(t, entries), map[partner.ID]figures{
		"platform":     {"25.00", "0", "10.51", "10.51", "14.49"},
		"referral-ams": {"15.00", "0", "6.30", "6.30", "8.70"},
		"sub-utrecht":  {"60.00", "0", "25.21", "25.21", "34.79"},
	})

	// The seller's statement explains itself: what awaits payment and
	// what the payment made payable, each with its entries.
	text, err := settlement.ExplainStatement(statementsOf(t, entries)["sub-utrecht"], entries)
	require.NoError(t, err)
	for _, want := range []string{
		"  uncollected       60.00  (1 entry)\n",
		"2026-03-01         60.00  line L1, uncollected, node root/seller of plan marketplace@1, on entry L1:root/seller, payable when the customer pays\n",
		"  collected         25.21  (1 entry)\n",
		"2026-03-20         25.21  line L1, collected, node root/seller of plan marketplace@1, on entry L1:root/seller, collection PAY-1: EUR 50.00 of EUR 119.00 paid\n",
		"  payable           25.21\n",
		"  awaiting          34.79\n",
	} {
		require.Contains(t, text, want)
	}

	// A collection sent again is refused, and so is more than is owed.
	_, err = s.Collect(c.State, settlement.Collection{ID: "PAY-1", Date: date("2026-03-21"), Amount: eur("1.00"), Lines: []settlement.LineID{"L1"}})
	require.ErrorIs(t, err, settlement.ErrCollectionApplied)
	_, err = s.Collect(c.State, settlement.Collection{ID: "PAY-2", Date: date("2026-03-21"), Amount: eur("69.01"), Lines: []settlement.LineID{"L1"}})
	require.ErrorIs(t, err, settlement.ErrOverCollection)
	var ce *settlement.CollectionError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "PAY-2", ce.Collection)

	w, err := s.WriteOff(c.State, settlement.Collection{ID: "WO-1", Date: date("2026-04-30"), Amount: eur("69.00"), Lines: []settlement.LineID{"L1"}})
	require.NoError(t, err)
	requireParties(t, w.Entries, map[partner.ID]string{"platform": "-14.49", "referral-ams": "-8.70", "sub-utrecht": "-34.79"})
	requireMoney(t, sumEntries(w.Entries, settlement.KindUncollected), eur("-57.98"))
	for _, e := range w.Entries {
		require.Equal(t, settlement.LineID("L1#writeoff.WO-1"), e.Line)
	}
	entries = append(entries, w.Entries...)
	requireFigures(t, statementsOf(t, entries), map[partner.ID]figures{
		"platform":     {"25.00", "-14.49", "10.51", "10.51", "0"},
		"referral-ams": {"15.00", "-8.70", "6.30", "6.30", "0"},
		"sub-utrecht":  {"60.00", "-34.79", "25.21", "25.21", "0"},
	})
	// Its statement says nothing awaits any more, in so many words.
	text, err = settlement.ExplainStatement(statementsOf(t, entries)["sub-utrecht"], entries)
	require.NoError(t, err)
	require.Contains(t, text, "  awaiting           0.00\n")
	// The line's tree shows, under each party, what awaited payment, what
	// was collected and what the write-off took.
	tree, err := settlement.Explain("L1", entries)
	require.NoError(t, err)
	for _, want := range []string{
		"uncollected EUR 60.00 on 2026-03-01, payable when the customer pays",
		"collected EUR 25.21 on 2026-03-20, collection PAY-1: EUR 50.00 of EUR 119.00 paid",
		"clawback EUR -34.79 on 2026-04-30, write-off WO-1 of EUR 69.00",
		"uncollected EUR -34.79 on 2026-04-30, write-off WO-1 of EUR 69.00, off what awaits the customer's payment",
	} {
		require.Contains(t, tree, want)
	}
	ll, ok := w.State.Line("L1")
	require.True(t, ok)
	requireMoney(t, ll.Credited, eur("57.98"))
	requireMoney(t, ll.Collection.Collected, eur("50.00"))
	requireMoney(t, ll.Collection.WrittenOff, eur("69.00"))
	require.Equal(t, []string{"PAY-1", "WO-1"}, ll.Collection.IDs)

	// Nothing is owed any more; the state round-trips.
	_, err = s.Collect(w.State, settlement.Collection{ID: "PAY-3", Date: date("2026-05-01"), Amount: eur("0.01"), Invoice: "INV-7"})
	require.ErrorIs(t, err, settlement.ErrOverCollection)
	b, err := json.Marshal(w.State)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back))
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))
}

// splitPlan pays the platform 20%, the referrer 12.5% and the seller the
// rest, as the customer pays: shares whose cents round.
var splitPlan = collectPlanOf("20%", "12.5%")

// A write-off takes from each party what it awaits, so each keeps to the
// cent what was collected for it. A write-off in proportion to what each
// has unreversed would not: its largest remainder and the payment's round
// over different weights. Both cases were found by a new user's trial,
// hand-worked:
//
//   - Y1 bills 79.60: 15.92 / 9.95 / 53.73. A payment of 15.00 makes
//     3.00 / 1.875 / 10.125 payable, 3.00 / 1.88 / 10.12 in cents (the tie
//     of .5 to the entry id first, the referrer's). Writing off the 64.60
//     left takes 12.92 / 8.07 / 43.61, what each awaits; in proportion to
//     what each has unreversed it would take 12.92 / 8.08 / 43.60, and the
//     referrer would close at 1.87 against 1.88 collected for it.
//   - X1 bills 39.63: 7.93 / 4.95 / 26.75. A payment of 20.30 makes
//     4.06 / 2.54 / 13.70 payable; a credit of 15.59 takes 3.12 / 1.95 /
//     10.52 off what each awaits, leaving 0.75 / 0.46 / 2.53. Writing off
//     the 3.74 still owed takes exactly that (in proportion to what each
//     has unreversed, 4.81 / 3.00 / 16.23, it would be 0.75 / 0.47 / 2.52).
func TestWriteOffKeepsWhatWasCollected(t *testing.T) {
	for _, tc := range []struct {
		name, amount, paid string
		credit             string // a credit of the line before the write-off, or ""
		writtenOff         string
		want               map[partner.ID]string // each party's closing balance: what was collected for it
	}{
		{"Y1", "79.60", "15.00", "", "64.60", map[partner.ID]string{"platform": "3.00", "referral-ams": "1.88", "sub-utrecht": "10.12"}},
		{"X1", "39.63", "20.30", "-15.59", "3.74", map[partner.ID]string{"platform": "4.06", "referral-ams": "2.54", "sub-utrecht": "13.70"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := planSettler(t, splitPlan, loadNetwork(t))
			l := chainLine(tc.name, tc.amount, "2026-03-01")
			l.Invoice = "INV-" + tc.name
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
			require.NoError(t, err)
			entries, st := res.Entries, res.State
			step := func(r settlement.Result, err error) {
				t.Helper()
				require.NoError(t, err)
				entries, st = append(entries, r.Entries...), r.State
			}
			step(s.Collect(st, settlement.Collection{ID: "PAY", Date: date("2026-03-05"), Amount: eur(tc.paid), Invoice: l.Invoice}))
			if tc.credit != "" {
				cn := chainLine("CN-"+tc.name, tc.credit, "2026-03-06")
				cn.Credits = l.ID
				step(s.Settle(ctx, st, []settlement.Line{cn}))
			}
			step(s.WriteOff(st, settlement.Collection{ID: "WO", Date: date("2026-03-07"), Amount: eur(tc.writtenOff), Invoice: l.Invoice}))
			sts := statementsOf(t, entries)
			for p, want := range tc.want {
				requireMoney(t, sts[p].Closing, eur(want), p, "closing")
				requireMoney(t, sts[p].Collected, eur(want), p, "collected")
				requireMoney(t, sts[p].Awaiting, eur("0"), p, "awaiting")
			}
		})
	}
}

// A credit note whose tax was rounded otherwise than the line's leaves
// the customer owing a little more or less than the line holds back. The
// ledger counts what the customer owes in money of the invoice (the total
// less payments, write-offs and credit notes with their tax), so nothing
// ever awaits a payment that is no longer owed. Hand-worked, on a line of
// 100.00 + 20.00 VAT (25/15/60):
//
//   - write-off: paid 50.03 (41.69 of the basis payable); a credit note of
//     10.03 + 2.01 VAT (20% of 10.03 rounded up) leaves 57.93 owed and
//     48.28 awaiting. Writing off the 57.93 stands for 48.275 of the
//     basis, 48.27 rounded, but it leaves nothing owed, so it takes all
//     48.28: nothing awaits, where 0.01 would have awaited forever.
//   - credit: paid 60.04 (50.03 payable, 100.00 × 60.04 / 120.00 =
//     50.033); a credit note of 49.96 + 10.00 VAT (9.992 rounded up)
//     leaves nothing owed, so it takes back with its 49.96 the 0.01 that
//     would still await: 49.97.
//   - a credit note whose VAT is not the line's 20%, within a cent, is
//     refused: on a line paid on collection it would change what the
//     customer owes, and what its last payment releases.
func TestNothingAwaitsOnceNothingIsOwed(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	line := func(id string) (settlement.Result, settlement.Line) {
		l := chainLine(id, "100.00", "2026-03-01")
		l.Tax, l.Invoice = eur("20.00"), "INV-"+id
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		return res, l
	}
	creditNote := func(l settlement.Line, amount, tax string) settlement.Line {
		cn := chainLine("CN-"+string(l.ID), amount, "2026-03-10")
		cn.Tax, cn.Credits = eur(tax), l.ID
		return cn
	}
	awaiting := func(st settlement.State, id settlement.LineID) ensemble.Money {
		ll, ok := st.Line(id)
		require.True(t, ok)
		sum := eur("0")
		for _, p := range ll.Parts {
			var err error
			sum, err = sum.Add(p.Awaiting)
			require.NoError(t, err)
		}
		return sum
	}

	res, l := line("W1")
	p, err := s.Collect(res.State, settlement.Collection{ID: "PAY", Date: date("2026-03-05"), Amount: eur("50.03"), Invoice: l.Invoice})
	require.NoError(t, err)
	requireMoney(t, sumEntries(p.Entries), eur("41.69"))
	c, err := s.Settle(ctx, p.State, []settlement.Line{creditNote(l, "-10.03", "-2.01")})
	require.NoError(t, err)
	requireMoney(t, awaiting(c.State, l.ID), eur("48.28"))
	_, err = s.WriteOff(c.State, settlement.Collection{ID: "WO", Date: date("2026-03-20"), Amount: eur("57.94"), Invoice: l.Invoice})
	require.ErrorIs(t, err, settlement.ErrOverCollection, "57.93 is owed")
	w, err := s.WriteOff(c.State, settlement.Collection{ID: "WO", Date: date("2026-03-20"), Amount: eur("57.93"), Invoice: l.Invoice})
	require.NoError(t, err)
	requireMoney(t, sumEntries(w.Entries, settlement.KindClawback), eur("-48.28"))
	requireMoney(t, awaiting(w.State, l.ID), eur("0"))
	ll, _ := w.State.Line(l.ID)
	requireMoney(t, ll.Collection.WriteOffClawback, eur("48.28"))
	requireMoney(t, ll.Collection.Credited, eur("12.04"))

	res, l = line("C1")
	p, err = s.Collect(res.State, settlement.Collection{ID: "PAY", Date: date("2026-03-05"), Amount: eur("60.04"), Invoice: l.Invoice})
	require.NoError(t, err)
	requireMoney(t, sumEntries(p.Entries), eur("50.03"))
	c, err = s.Settle(ctx, p.State, []settlement.Line{creditNote(l, "-49.96", "-10.00")})
	require.NoError(t, err)
	requireMoney(t, sumEntries(c.Entries, settlement.KindClawback), eur("-49.97"))
	requireMoney(t, awaiting(c.State, l.ID), eur("0"))
	require.Contains(t, c.Entries[0].Note, "and EUR 0.01 awaiting a payment no longer owed")
	ll, _ = c.State.Line(l.ID)
	requireMoney(t, ll.Credited, eur("49.97"))
	for _, tax := range []string{"-12.00", "-8.00", "0"} {
		_, err = s.Settle(ctx, p.State, []settlement.Line{creditNote(l, "-50.00", tax)})
		require.ErrorIs(t, err, settlement.ErrInvalidLine, tax)
		require.ErrorContains(t, err, "not in proportion to the credited line's EUR 20.00 on EUR 100.00 (about EUR -10.00)")
	}
	_, err = s.Collect(c.State, settlement.Collection{ID: "PAY-2", Date: date("2026-03-21"), Amount: eur("0.01"), Invoice: l.Invoice})
	require.ErrorIs(t, err, settlement.ErrOverCollection, "nothing is owed")
}

// Hand-worked: after the 50.00 payment (42.02 payable, 57.98 awaiting:
// 14.49, 8.70, 34.79), a credit note of 30.00 net + 5.70 tax reverses
// 30.00 of the basis in proportion (7.50, 4.50, 18.00). The credit reduces
// what the customer owes (119.00 - 35.70 = 83.30, of which 33.30 is still
// due), so it comes off what awaits payment, not off what was paid: the
// parties' payable amounts do not move, and 27.98 awaits (6.99, 4.20,
// 16.79). Paying the 33.30 makes all of it payable; a cent more is an
// over-collection.
func TestCreditAfterPartialCollection(t *testing.T) {
	s, entries, st := settledCollect(t)
	c, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("50.00"), Lines: []settlement.LineID{"L1"}})
	require.NoError(t, err)
	entries = append(entries, c.Entries...)
	credit := settlement.Line{ID: "CN1", Credits: "L1", Date: date("2026-03-25"), Amount: eur("-30.00"), Tax: eur("-5.70")}
	cr, err := s.Settle(ctx, c.State, []settlement.Line{credit})
	require.NoError(t, err)
	requireParties(t, cr.Entries, map[partner.ID]string{"platform": "-7.50", "referral-ams": "-4.50", "sub-utrecht": "-18.00"})
	requireMoney(t, sumEntries(cr.Entries, settlement.KindUncollected), eur("-30.00"))
	entries = append(entries, cr.Entries...)
	requireFigures(t, statementsOf(t, entries), map[partner.ID]figures{
		"platform":     {"25.00", "-7.50", "10.51", "10.51", "6.99"},
		"referral-ams": {"15.00", "-4.50", "6.30", "6.30", "4.20"},
		"sub-utrecht":  {"60.00", "-18.00", "25.21", "25.21", "16.79"},
	})

	_, err = s.Collect(cr.State, settlement.Collection{ID: "PAY-2", Date: date("2026-04-02"), Amount: eur("33.31"), Invoice: "INV-7"})
	require.ErrorIs(t, err, settlement.ErrOverCollection)
	p2, err := s.Collect(cr.State, settlement.Collection{ID: "PAY-2", Date: date("2026-04-02"), Amount: eur("33.30"), Invoice: "INV-7"})
	require.NoError(t, err)
	requireMoney(t, sumEntries(p2.Entries), eur("27.98"))
	entries = append(entries, p2.Entries...)
	requireFigures(t, statementsOf(t, entries), map[partner.ID]figures{
		"platform":     {"25.00", "-7.50", "17.50", "17.50", "0"},
		"referral-ams": {"15.00", "-4.50", "10.50", "10.50", "0"},
		"sub-utrecht":  {"60.00", "-18.00", "42.00", "42.00", "0"},
	})
}

// Hand-worked: after the 50.00 payment, a dispute holds only what was
// made payable (10.51, 6.30, 25.21): what awaits payment is held back
// already. No payment is taken while it is open. Lost in full, every part
// is clawed back (25.00, 15.00, 60.00), and what awaited payment (14.49,
// 8.70, 34.79) is no longer held back: every party nets to zero.
func TestDisputeOfAPartlyCollectedLine(t *testing.T) {
	s, entries, st := settledCollect(t)
	c, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("50.00"), Invoice: "INV-7"})
	require.NoError(t, err)
	entries = append(entries, c.Entries...)
	d, err := s.Dispute(c.State, "L1", date("2026-03-22"))
	require.NoError(t, err)
	require.Equal(t, map[partner.ID]string{"platform": "10.51", "referral-ams": "6.30", "sub-utrecht": "25.21"}, amounts(byParty(d.Entries, settlement.KindHold)))
	_, err = s.Collect(d.State, settlement.Collection{ID: "PAY-2", Date: date("2026-03-23"), Amount: eur("1.00"), Invoice: "INV-7"})
	require.ErrorIs(t, err, settlement.ErrDisputed)
	entries = append(entries, d.Entries...)
	requireFigures(t, statementsOf(t, entries), map[partner.ID]figures{
		"platform":     {"25.00", "0", "10.51", "0", "14.49"},
		"referral-ams": {"15.00", "0", "6.30", "0", "8.70"},
		"sub-utrecht":  {"60.00", "0", "25.21", "0", "34.79"},
	})
	r, err := s.ResolveDispute(d.State, "L1", false, date("2026-04-10"))
	require.NoError(t, err)
	require.Equal(t, map[partner.ID]string{"platform": "-14.49", "referral-ams": "-8.70", "sub-utrecht": "-34.79"}, amounts(byParty(r.Entries, settlement.KindUncollected)))
	entries = append(entries, r.Entries...)
	requireFigures(t, statementsOf(t, entries), map[partner.ID]figures{
		"platform":     {"25.00", "-25.00", "10.51", "0", "0"},
		"referral-ams": {"15.00", "-15.00", "6.30", "0", "0"},
		"sub-utrecht":  {"60.00", "-60.00", "25.21", "0", "0"},
	})
}

// amounts writes each party's amount as its text.
func amounts(m map[partner.ID]ensemble.Money) map[partner.ID]string {
	out := map[partner.ID]string{}
	for p, a := range m {
		out[p] = a.AmountString()
	}
	return out
}

// collectedState is the State of TestCollectionThenWriteOff after the
// 50.00 payment, as JSON: L1 awaits 14.49, 8.70 and 34.79.
func collectedState(t testing.TB) []byte {
	t.Helper()
	s, _, st := settledCollect(t)
	c, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("50.00"), Invoice: "INV-7"})
	require.NoError(t, err)
	b, err := json.Marshal(c.State)
	require.NoError(t, err)
	return b
}

// TestStateDecodeRefusesCorruptCollections: a State whose collection
// records break an invariant, one at a time, is refused with a
// *StateError naming the line, at the field's path.
func TestStateDecodeRefusesCorruptCollections(t *testing.T) {
	valid := collectedState(t)
	var st settlement.State
	require.NoError(t, json.Unmarshal(valid, &st), "the uncorrupted state reads")
	seller := map[string]any{"role": "seller"}
	coll := func(d stateDoc) map[string]any { return d.line("L1")["collection"].(map[string]any) }
	tests := []struct {
		name    string
		corrupt func(d stateDoc)
		path    string
		want    string
		is      error
	}{
		{"collected beyond the total", func(d stateDoc) { coll(d)["collected"] = moneyJSON("119.01", "EUR") },
			"collection.collected", "exceed the total", settlement.ErrOverCollection},
		{"collected and written off beyond the total", func(d stateDoc) { coll(d)["written_off"] = moneyJSON("69.01", "EUR") },
			"collection.collected", "exceed the total", settlement.ErrOverCollection},
		{"negative collected", func(d stateDoc) { coll(d)["collected"] = moneyJSON("-1.00", "EUR") },
			"collection.collected", "negative collected", nil},
		{"credited beyond the total", func(d stateDoc) { coll(d)["credited"] = moneyJSON("119.01", "EUR") },
			"collection.credited", "exceeds the total", nil},
		{"a negative credited", func(d stateDoc) { coll(d)["credited"] = moneyJSON("-0.01", "EUR") },
			"collection.credited", "negative credited", nil},
		{"write-offs clawing back beyond the basis", func(d stateDoc) { coll(d)["write_off_clawback"] = moneyJSON("100.01", "EUR") },
			"collection.write_off_clawback", "clawed back EUR 100.01 of a basis of EUR 100.00", nil},
		{"a write-off clawback the credited amount does not count", func(d stateDoc) { coll(d)["write_off_clawback"] = moneyJSON("0.01", "EUR") },
			"lines[0].credited", "write-offs add up to EUR 0.01", nil},
		{"credited so that nothing is owed, the parts still awaiting", func(d stateDoc) { coll(d)["credited"] = moneyJSON("69.00", "EUR") },
			"lines[0].collection", "the parts await EUR 57.98, not the EUR 0.00", nil},
		{"a total below the basis", func(d stateDoc) { coll(d)["total"] = moneyJSON("99.99", "EUR") },
			"collection.total", "less than the basis", nil},
		{"a total in another currency", func(d stateDoc) { coll(d)["total"] = moneyJSON("119.00", "USD") },
			"collection.total", "not in the line's currency", settlement.ErrCurrency},
		{"a collection applied twice", func(d stateDoc) { coll(d)["ids"] = []any{"PAY-1", "PAY-1"} },
			"collection.ids[1]", "applied twice", settlement.ErrCollectionApplied},
		{"an invalid collection id", func(d stateDoc) { coll(d)["ids"] = []any{"PAY:1"} },
			"collection.ids[0]", "invalid collection id", nil},
		{"a part awaiting more than it has unreversed", func(d stateDoc) { d.part("L1", seller)["awaiting"] = moneyJSON("60.01", "EUR") },
			"].awaiting", "outside [0, unreversed", nil},
		{"a negative awaiting", func(d stateDoc) { d.part("L1", seller)["awaiting"] = moneyJSON("-0.01", "EUR") },
			"].awaiting", "outside [0, unreversed", nil},
		{"more payable than was collected", func(d stateDoc) {
			p := d.part("L1", seller)
			p["awaiting"] = shift(p["awaiting"], -1)
		}, "lines[0].collection", "the parts await EUR 57.97, not the EUR 57.98", nil},
		{"less payable than was collected", func(d stateDoc) {
			p := d.part("L1", seller)
			p["awaiting"] = shift(p["awaiting"], 1)
		}, "lines[0].collection", "the parts await EUR 57.99, not the EUR 57.98", nil},
		{"awaiting on a line payable on settlement", func(d stateDoc) { delete(d.line("L1"), "collection") },
			"].awaiting", "awaits collection on a line payable on settlement", settlement.ErrNotOnCollection},
		{"awaiting on a receivable", func(d stateDoc) { d.line("L1")["receivable"] = coll(d); delete(d.line("L1"), "collection") },
			"].awaiting", "awaits collection on a line payable on settlement", settlement.ErrNotOnCollection},
		{"both a collection and a receivable", func(d stateDoc) { d.line("L1")["receivable"] = coll(d) },
			"lines[0].receivable", "both on collection and a receivable", nil},
		{"a set-off beyond what credits took off", func(d stateDoc) { coll(d)["set_off"] = moneyJSON("0.01", "EUR") },
			"collection.set_off", "exceeds what credits took off", nil},
		{"a dispute holding what awaits payment", func(d stateDoc) {
			l := d.line("L1")
			l["disputed"], l["disputes"] = true, 1
			for _, p := range l["parts"].([]any) {
				p := p.(map[string]any)
				p["held"] = p["unreversed"]
			}
		}, "].held", "less the awaiting", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(valid, &d))
			tt.corrupt(d)
			p := decodeProblem(t, d, tt.path, tt.want, "L1")
			if tt.is != nil {
				require.ErrorIs(t, p, tt.is)
			}
		})
	}
}

// A plan payable on collection keeps no rolling reserve (a leaf's
// reserve it keeps: TestCollectReserveHoldsEachPayment), and the option
// has two values.
func TestPayableOnCollectionPlansAreChecked(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"rolling reserve": {`{id: p, version: 1, payable: on_collection, reserves: [{party: reseller-nl, ratio: "10%", days: 90}], root: {id: root, children: [
			{id: platform, party: platform, share: "25%"}, {id: seller, party: seller, share: remaining}]}}`,
			"plans[0].reserves"},
	} {
		t.Run(name, func(t *testing.T) {
			plans, err := settlement.ParsePlans([]byte(tc.yaml))
			require.NoError(t, err)
			_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)})
			require.ErrorContains(t, err, tc.want)
			require.ErrorIs(t, err, settlement.ErrReserveOnCollection)
		})
	}
	_, err := settlement.ParsePlans([]byte(`{id: p, version: 1, payable: on_invoice, root: {id: root, party: platform}}`))
	require.ErrorContains(t, err, "payable")
}

// Consolidated into dollars at 1.1 (half away from zero), the seller's
// statement after the 50.00 payment reports 60.00 earned as 66.00, 60.00
// uncollected as 66.00, 25.21 collected as 27.73 and 34.79 awaiting as
// 38.27; its closing of 25.21 converts to 27.73, which the converted flows
// add up to (66.00 - 66.00 + 27.73) without rounding.
func TestConsolidateCollections(t *testing.T) {
	s, entries, st := settledCollect(t)
	c, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("50.00"), Invoice: "INV-7"})
	require.NoError(t, err)
	seller := statementsOf(t, append(entries, c.Entries...))["sub-utrecht"]
	out, err := settlement.Consolidate([]settlement.Statement{seller}, settlement.Consolidation{Currency: usdCur, At: date("2026-04-30"),
		Rates: ensemble.ExchangeRates{{From: eurCur, To: usdCur, Rate: ensemble.MustRatio("1.1")}}})
	require.NoError(t, err)
	require.Len(t, out, 1)
	for _, f := range []struct {
		name      string
		got, want ensemble.Money
	}{{"earned", out[0].Earned, mustUSD("66.00")}, {"uncollected", out[0].Uncollected, mustUSD("66.00")}, {"collected", out[0].Collected, mustUSD("27.73")},
		{"awaiting", out[0].Awaiting, mustUSD("38.27")}, {"closing", out[0].Closing, mustUSD("27.73")}, {"rounding", out[0].Rounding, mustUSD("0")}} {
		requireMoney(t, f.got, f.want, f.name)
	}
}

// Hand-worked: a payment of an invoice goes to its lines in proportion to
// what each owes. INV-7 holds L1 (EUR 100.00 + 19.00) and L2 (50.00 +
// 9.50): 100.00 paid splits 119:59.50, 66.666 and 33.333; 99.99 in whole
// cents, the last to the larger remainder, L1's: 66.67 and 33.33. A line
// of another invoice is left alone; the collection round-trips as JSON.
func TestCollectionOfAnInvoiceSplitsByWhatEachLineOwes(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l2 := collectLine("L2")
	l2.Amount, l2.Tax = eur("50.00"), eur("9.50")
	l3 := collectLine("L3")
	l3.Invoice = "INV-8"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l2, collectLine("L1"), l3})
	require.NoError(t, err)
	var c settlement.Collection
	require.NoError(t, json.Unmarshal([]byte(`{"id":"PAY-1","date":"2026-03-20T00:00:00Z","amount":{"amount":"100.00","currency":"EUR"},"invoice":"INV-7"}`), &c))
	p, err := s.Collect(res.State, c)
	require.NoError(t, err)
	for id, want := range map[settlement.LineID]string{"L1": "66.67", "L2": "33.33", "L3": "0"} {
		ll, ok := p.State.Line(id)
		require.True(t, ok)
		requireMoney(t, ll.Collection.Collected, eur(want), id)
	}
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"PAY-1","date":"2026-03-20T00:00:00Z","amount":{"amount":"100.00","currency":"EUR"},"invoice":"INV-7"}`, string(b))

	// An invoice none of whose lines await collection says where its
	// lines come from.
	_, err = s.Collect(res.State, settlement.Collection{ID: "PAY-9", Date: date("2026-03-20"), Amount: eur("1.00"), Invoice: "INV-9"})
	require.ErrorIs(t, err, settlement.ErrInvalidCollection)
	require.ErrorIs(t, err, settlement.ErrUnknownInvoice)
	require.ErrorContains(t, err, `no line of invoice "INV-9" awaits collection (its lines are those settled with Line.Invoice "INV-9", which InvoiceOptions.Invoice sets, by a plan payable on collection, or by any plan of a settler with one)`)

	// Every field at fault is named at once.
	_, err = s.Collect(res.State, settlement.Collection{ID: "PAY:2", Amount: eur("-1.00"), Invoice: "INV-7", Lines: []settlement.LineID{"L1"},
		Bearer: settlement.Bearer{Party: "platform"}})
	require.ErrorIs(t, err, settlement.ErrInvalidCollection)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{"id", "date", "amount", "lines", "bearer"}, paths)
	_, err = s.Collect(res.State, settlement.Collection{ID: "PAY-2", Date: date("2026-03-20"), Amount: eur("1.00"), Lines: []settlement.LineID{"L9"}})
	require.ErrorIs(t, err, settlement.ErrUnknownLine)

	// A line payable on settlement awaits nothing.
	plain := newSettler(t)
	r, err := plain.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
	require.NoError(t, err)
	_, err = plain.Collect(r.State, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("1.00"), Lines: []settlement.LineID{"L1"}})
	require.ErrorIs(t, err, settlement.ErrNotOnCollection)
	var ce *settlement.CollectionError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, settlement.LineID("L1"), ce.Line)
}

// A line near int64's range of minor units (its total above half of it)
// is paid and written off exactly: shares of the basis are computed in
// math/big.
func TestCollectionNearInt64Range(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l := collectLine("L1")
	l.Amount, l.Tax = ensemble.MoneyFromMinor(math.MaxInt64/2, eurCur), ensemble.MoneyFromMinor(math.MaxInt64/4, eurCur)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	total := int64(math.MaxInt64/2 + math.MaxInt64/4)
	p, err := s.Collect(res.State, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: ensemble.MoneyFromMinor(total/3, eurCur), Lines: []settlement.LineID{"L1"}})
	require.NoError(t, err)
	// A third of the total pays a third of the basis (half away from zero).
	third := new(big.Int).Mul(big.NewInt(math.MaxInt64/2), big.NewInt(total/3))
	third.Lsh(third, 1).Add(third, big.NewInt(total)).Quo(third, new(big.Int).Lsh(big.NewInt(total), 1))
	requireMoney(t, sumEntries(p.Entries), ensemble.MoneyFromMinor(third.Int64(), eurCur))
	w, err := s.WriteOff(p.State, settlement.Collection{ID: "WO-1", Date: date("2026-04-20"), Amount: ensemble.MoneyFromMinor(total-total/3, eurCur), Lines: []settlement.LineID{"L1"}})
	require.NoError(t, err)
	requireMoney(t, sumEntries(w.Entries, settlement.KindClawback), ensemble.MoneyFromMinor(-(math.MaxInt64/2-third.Int64()), eurCur))
	ll, _ := w.State.Line("L1")
	for _, part := range ll.Parts {
		require.True(t, part.Awaiting.IsZero(), part.Entry)
	}
}

// The binary form of a state holds what lines payable on collection
// record.
func TestBinaryStatesWithCollections(t *testing.T) {
	var st settlement.State
	require.NoError(t, json.Unmarshal(collectedState(t), &st))
	b, err := st.MarshalBinary()
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, back.UnmarshalBinary(b))
	require.Equal(t, string(mustJSON(t, st)), string(mustJSON(t, back)))
}

// awaitsPayment reports whether part of line id of st awaits its
// customer's payment.
func awaitsPayment(st settlement.State, id settlement.LineID) bool {
	ll, _ := st.Line(id)
	return slices.ContainsFunc(ll.Parts, func(p settlement.LedgerPart) bool { return !p.Awaiting.IsZero() })
}

// Pruning keeps a line still awaiting its customer's payment, so the
// payment can still be applied; once paid, the line is pruned like any.
func TestPruneKeepsLinesAwaitingPayment(t *testing.T) {
	s, _, st := settledCollect(t)
	cut := date("2026-06-01")
	require.Equal(t, 1, st.Prune(cut).Len())
	p, err := s.Collect(st.Prune(cut), settlement.Collection{ID: "PAY-1", Date: date("2026-06-02"), Amount: eur("119.00"), Invoice: "INV-7"})
	require.NoError(t, err)
	require.False(t, awaitsPayment(p.State, "L1"))
	require.Zero(t, p.State.Prune(cut).Len())

	// A late credit note of the kept line, dated before the cut, settles
	// (its credits' records were kept with it); and a line is kept while
	// its customer still owes something: paid 59.50 (50.00 of the basis),
	// credited 47.00 + 8.93 tax, 3.57 is owed and 3.00 of the basis
	// awaits; once a write-off of the 3.57 takes the 3.00, the line goes.
	kept := st.Prune(cut)
	cn := collectLine("C1")
	cn.Amount, cn.Tax, cn.Credits, cn.Date = eur("-50.00"), eur("-9.50"), "L1", date("2026-03-10")
	_, err = s.Settle(ctx, kept, []settlement.Line{cn})
	require.NoError(t, err, "a credit of a kept line, dated before the cut")
	p, err = s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("59.50"), Invoice: "INV-7"})
	require.NoError(t, err)
	cn.Amount, cn.Tax = eur("-47.00"), eur("-8.93")
	c, err := s.Settle(ctx, p.State, []settlement.Line{cn})
	require.NoError(t, err)
	require.Equal(t, 1, c.State.Prune(cut).Len(), "3.57 is still owed")
	w, err := s.WriteOff(c.State.Prune(cut), settlement.Collection{ID: "WO-1", Date: date("2026-06-02"), Amount: eur("3.57"), Invoice: "INV-7"})
	require.NoError(t, err)
	require.Zero(t, w.State.Prune(cut).Len())
}

// TestCollectedNoteSaysWhatWasCredited: after a credit note, a payment's
// note says what the credit took off the total, so that "EUR 50.00 of EUR
// 119.00 paid" does not read as EUR 69.00 still owed (from a new user's
// trial).
func TestCollectedNoteSaysWhatWasCredited(t *testing.T) {
	s, _, st := settledCollect(t) // L1: EUR 100.00 + 19.00 tax, on collection
	cr, err := s.Settle(ctx, st, []settlement.Line{{ID: "C1", Credits: "L1", Date: date("2026-03-10"), Amount: eur("-20.00"), Tax: eur("-3.80")}})
	require.NoError(t, err)
	res, err := s.Collect(cr.State, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("95.20"), Lines: []settlement.LineID{"L1"}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Entries)
	for _, e := range res.Entries {
		require.Equal(t, "collection PAY-1: EUR 95.20 of EUR 119.00 paid, EUR 23.80 credited", e.Note, e.ID)
	}
}

// TestCollectInvoiceSkipsDisputedLines: a payment of an invoice whose line
// L2 is disputed goes to its other line, L1 (a new user's trial: the whole
// invoice's payment was refused, so a customer paying what it did not
// dispute had to be applied line by line); more than L1 owes is
// ErrOverCollection, and with every line disputed the payment is
// ErrDisputed, naming the first.
func TestCollectInvoiceSkipsDisputedLines(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{collectLine("L1"), collectLine("L2")})
	require.NoError(t, err)
	d, err := s.Dispute(res.State, "L2", date("2026-03-05"))
	require.NoError(t, err)
	st := d.State
	p, err := s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-03-10"), Amount: eur("119.00"), Invoice: "INV-7"})
	require.NoError(t, err)
	for _, e := range p.Entries {
		require.Equal(t, settlement.LineID("L1"), e.Line, "%s", e.ID)
	}
	l1, _ := p.State.Line("L1")
	require.Equal(t, "119.00", l1.Collection.Collected.AmountString())
	l2, _ := p.State.Line("L2")
	require.True(t, l2.Collection.Collected.IsZero())

	_, err = s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-03-10"), Amount: eur("119.01"), Invoice: "INV-7"})
	require.ErrorIs(t, err, settlement.ErrOverCollection)
	d, err = s.Dispute(st, "L1", date("2026-03-06"))
	require.NoError(t, err)
	_, err = s.Collect(d.State, settlement.Collection{ID: "P1", Date: date("2026-03-10"), Amount: eur("1.00"), Invoice: "INV-7"})
	require.ErrorIs(t, err, settlement.ErrDisputed)
	var ce *settlement.CollectionError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, settlement.LineID("L1"), ce.Line)
}

// TestBearerCreditThenPartPayment: L1 (EUR 100.00 + 19.00, split
// 25/15/60 on collection) is credited 50.00 + 9.50, borne by the seller
// alone: the platform is still owed 25.00, the referrer 15.00, the seller
// 10.00, and the customer 59.50. It pays half (29.75) and the other half
// is written off, in either order: each party keeps half of what it is
// owed, 12.50 / 7.50 / 5.00, so the seller bears its credit and nothing
// else. Before, a payment was split by the parts' amounts as settled
// (25/15/60), so the seller, which had 10.00 left, took all of it while
// the others were short: 15.00 of the platform's and referrer's share went
// to the seller, and the write-off took it from them (a new user's trial:
// an SLA credit borne by a supplier, then a part payment).
func TestBearerCreditThenPartPayment(t *testing.T) {
	for _, payFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("pay first %v", payFirst), func(t *testing.T) {
			s, entries, st := settledCollect(t)
			c := credit("C1", "L1", "-50.00", "2026-03-10")
			c.Tax, c.Bearer = eur("-9.50"), settlement.Bearer{Party: "sub-utrecht"}
			res, err := s.Settle(ctx, st, []settlement.Line{c})
			require.NoError(t, err)
			entries, st = append(entries, res.Entries...), res.State
			steps := []func(settlement.State, settlement.Collection) (settlement.Result, error){s.Collect, s.WriteOff}
			if !payFirst {
				steps[0], steps[1] = steps[1], steps[0]
			}
			for i, step := range steps {
				r, err := step(st, settlement.Collection{ID: fmt.Sprintf("P%d", i), Date: date("2026-03-20"), Amount: eur("29.75"), Invoice: "INV-7"})
				require.NoError(t, err)
				entries, st = append(entries, r.Entries...), r.State
			}
			got := map[partner.ID]string{}
			for p, x := range statementsOf(t, entries) {
				require.True(t, x.Awaiting.IsZero(), "%s awaits %s", p, x.Awaiting)
				got[p] = x.Payable.AmountString()
			}
			require.Equal(t, map[partner.ID]string{"platform": "12.50", "referral-ams": "7.50", "sub-utrecht": "5.00"}, got)
		})
	}
}

// TestBearerCreditAfterAPartPaymentSaysWhoBoreIt: the customer pays half
// of L1 (59.50), then a credit of 50.00 + 9.50 borne by the seller clears
// what it still owes. The seller's clawback comes off what it awaited
// (30.00); the platform's and referrer's halves, still awaited, are cut to
// what the customer owes, nothing, and their entries say they did not bear
// the credit (a new user's trial: the vendor's entry read as if it bore
// part of a supplier's credit).
func TestBearerCreditAfterAPartPaymentSaysWhoBoreIt(t *testing.T) {
	s, _, st := settledCollect(t)
	r, err := s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-03-05"), Amount: eur("59.50"), Invoice: "INV-7"})
	require.NoError(t, err)
	c := credit("C1", "L1", "-50.00", "2026-03-10")
	c.Tax, c.Bearer = eur("-9.50"), settlement.Bearer{Party: "sub-utrecht"}
	res, err := s.Settle(ctx, r.State, []settlement.Line{c})
	require.NoError(t, err)
	notes := map[partner.ID]string{}
	for _, e := range res.Entries {
		if e.Kind == settlement.KindUncollected {
			notes[e.Party] = e.Note
		}
	}
	require.Equal(t, "credit of L1 by C1, borne by party sub-utrecht, off what awaits the customer's payment", notes["sub-utrecht"])
	require.Equal(t, "credit of L1 by C1, borne by party sub-utrecht, not borne by this party: what it awaits of the customer's payment is cut to what the customer still owes", notes["platform"])
	require.Contains(t, notes, partner.ID("referral-ams"))
}

// TestCreditNoteAfterAWriteOff: the customer pays half of L1 (59.50 of
// EUR 100.00 + 19.00) and the rest is written off; then a credit note is
// issued for what was written off (50.00 + 9.50), or for all of the line,
// as accounting does to clean an invoice written off. A credit takes back
// what was written off first (the customer did not owe it, so it was not
// given up), and what the write-off clawed back for it is part of what the
// credit reverses: for the half, the parties keep what was collected for
// them, 12.50 / 7.50 / 30.00; for all of it, nothing, and the 59.50 paid
// is a refund due. Before, the half credit reversed 50.00 on top of the
// write-off's, leaving the parties nothing of the 59.50 paid, and the full
// one was refused (ErrOverCredit).
func TestCreditNoteAfterAWriteOff(t *testing.T) {
	for _, tc := range []struct {
		amount, tax string
		want        map[partner.ID]string
		credited    string
		refund      string // due to the customer
	}{
		{"-50.00", "-9.50", map[partner.ID]string{"platform": "12.50", "referral-ams": "7.50", "sub-utrecht": "30.00"}, "59.50", "EUR 0.00"},
		{"-100.00", "-19.00", map[partner.ID]string{"platform": "0.00", "referral-ams": "0.00", "sub-utrecht": "0.00"}, "119.00", "EUR 59.50"},
	} {
		t.Run(tc.amount, func(t *testing.T) {
			s, entries, st := settledCollect(t)
			for i, step := range []func(settlement.State, settlement.Collection) (settlement.Result, error){s.Collect, s.WriteOff} {
				r, err := step(st, settlement.Collection{ID: fmt.Sprintf("P%d", i), Date: date("2026-03-20"), Amount: eur("59.50"), Invoice: "INV-7"})
				require.NoError(t, err)
				entries, st = append(entries, r.Entries...), r.State
			}
			c := credit("CN", "L1", tc.amount, "2026-04-01")
			c.Tax, c.Invoice = eur(tc.tax), "INV-7"
			res, err := s.Settle(ctx, st, []settlement.Line{c})
			require.NoError(t, err)
			entries, st = append(entries, res.Entries...), res.State
			got := map[partner.ID]string{}
			for p, x := range statementsOf(t, entries) {
				require.True(t, x.Awaiting.IsZero(), "%s awaits %s", p, x.Awaiting)
				got[p] = x.Payable.AmountString()
			}
			require.Equal(t, tc.want, got)
			ll, _ := st.Line("L1")
			cl := ll.Collection
			require.Equal(t, "59.50 0.00 "+tc.credited, cl.Collected.AmountString()+" "+cl.WrittenOff.AmountString()+" "+cl.Credited.AmountString(),
				"collected, written off, credited: the write-off became the credit")
			owed, err := cl.Owed()
			require.NoError(t, err)
			due, err := cl.RefundDue()
			require.NoError(t, err)
			require.Equal(t, "EUR 0.00 "+tc.refund, owed.String()+" "+due.String())
			// The state still adds up, and reads back.
			var back settlement.State
			require.NoError(t, back.UnmarshalJSON(mustJSON(t, st)))
		})
	}
}

// TestCollectionDatedBeforeItsLine: a payment, or a write-off, dated
// before a line it applies to is refused, naming the line and both dates
// (a payment of February 27 of a line billed on March 1 was accepted, its
// collected entries landing in February's statements, before the sale);
// by invoice as by lines, with the state unchanged; dated the line's own
// instant, it is accepted.
func TestCollectionDatedBeforeItsLine(t *testing.T) {
	s, _, st := settledCollect(t)
	for _, tt := range []struct {
		name     string
		writeOff bool
		c        settlement.Collection
		want     string
	}{
		{"a payment of the invoice", false, settlement.Collection{ID: "PAY-1", Date: date("2026-02-27"), Amount: eur("50.00"), Invoice: "INV-7"},
			`settlement: collection "PAY-1" line "L1": invalid collection: 1 problem: date: the collection is dated 2026-02-27, before the line it pays, "L1", dated 2026-03-01`},
		{"a payment of the line", false, settlement.Collection{ID: "PAY-1", Date: date("2026-02-28"), Amount: eur("50.00"), Lines: []settlement.LineID{"L1"}},
			`the collection is dated 2026-02-28, before the line it pays, "L1", dated 2026-03-01`},
		{"a write-off", true, settlement.Collection{ID: "WO-1", Date: date("2026-02-27"), Amount: eur("119.00"), Invoice: "INV-7"},
			`the write-off is dated 2026-02-27, before the line it writes off, "L1", dated 2026-03-01`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			apply := s.Collect
			if tt.writeOff {
				apply = s.WriteOff
			}
			res, err := apply(st, tt.c)
			require.ErrorIs(t, err, settlement.ErrInvalidCollection)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, res.Entries)
			var ce *settlement.CollectionError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.c.ID, ce.Collection)
			require.Equal(t, settlement.LineID("L1"), ce.Line)
			var fe *ensemble.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, "date", fe.Path)
			ll, _ := st.Line("L1")
			require.Empty(t, ll.Collection.IDs, "the state is unchanged")

			tt.c.Date = date("2026-03-01")
			_, err = apply(st, tt.c)
			require.NoError(t, err)
		})
	}
}
