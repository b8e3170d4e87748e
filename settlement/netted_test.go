package settlement_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestCreditNettedOnALaterInvoice: a credit of March's line L1 (invoice
// INV-7, EUR 100.00 + 19.00 tax, split 25/15/60 on collection) given on
// April's invoice INV-8 (a proration credit: EUR −40.00 − 7.60 tax), beside
// April's line L2 (100.00 + 19.00). The customer pays INV-7's 119.00 as
// invoiced and INV-8's 71.40 (119.00 − 47.60): it owes nothing, and
// nothing may await. The credit takes 10.00 / 6.00 / 24.00 back from L1's
// parties and 47.60 off what L2 is owed: when the customer had paid INV-7
// in full, as a payment of L2 (the customer's money for L1 funds it: 40.00
// of L2 is payable at once); otherwise as a credit note of L2, no payment
// (nothing of L2 is payable until the customer pays INV-8). Each party
// ends with its share of what stands, 160.00: the platform 40.00, the
// referrer 24.00, the seller 96.00. Before, the credit came off INV-7's
// balance: paid first, INV-8's line awaited 40% forever; paid after,
// INV-7's 119.00 was refused as more than owed (71.40).
func TestCreditNettedOnALaterInvoice(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l2, c1 := aprilLineAndCredit()
	pay := func(t *testing.T, st settlement.State, id, invoice, amount string) ([]settlement.Entry, settlement.State) {
		t.Helper()
		res, err := s.Collect(st, settlement.Collection{ID: id, Date: date("2026-04-10"), Amount: eur(amount), Invoice: invoice})
		require.NoError(t, err)
		return res.Entries, res.State
	}
	want := map[partner.ID]string{"platform": "40.00", "referral-ams": "24.00", "sub-utrecht": "96.00"}
	check := func(t *testing.T, entries []settlement.Entry) {
		t.Helper()
		got := map[partner.ID]string{}
		for p, st := range statementsOf(t, entries) {
			require.True(t, st.Awaiting.IsZero(), "%s awaits %s", p, st.Awaiting)
			got[p] = st.Payable.AmountString()
		}
		require.Equal(t, want, got)
	}

	t.Run("INV-7 paid before the credit", func(t *testing.T) {
		_, entries, st := settledCollect(t)
		e, st := pay(t, st, "P1", "INV-7", "119.00")
		entries = append(entries, e...)
		res, err := s.Settle(ctx, st, []settlement.Line{l2, c1})
		require.NoError(t, err)
		entries, st = append(entries, res.Entries...), res.State
		// INV-7 paid in full funds the credit: it pays L2 47.60 of 119.00,
		// 40.00 of its basis, 10.00 / 6.00 / 24.00.
		var paid []string
		for _, e := range res.Entries {
			if e.Kind == settlement.KindCollected {
				require.Contains(t, e.Note, "credit C1 netted on invoice INV-8: EUR 47.60 of EUR 119.00 paid")
				paid = append(paid, e.Amount.AmountString())
			}
		}
		require.ElementsMatch(t, []string{"10.00", "6.00", "24.00"}, paid)
		l2s, _ := st.Line("L2")
		require.Equal(t, "47.60", l2s.Collection.Collected.AmountString())
		require.True(t, l2s.Collection.Credited.IsZero())
		// L1's balance stays paid: the credit did not come off it.
		ll, _ := st.Line("L1")
		require.True(t, ll.Collection.Credited.IsZero(), "credited %s", ll.Collection.Credited)
		e, st = pay(t, st, "P2", "INV-8", "71.40")
		entries = append(entries, e...)
		check(t, entries)
		_, err = s.Collect(st, settlement.Collection{ID: "P3", Date: date("2026-04-11"), Amount: eur("0.01"), Invoice: "INV-8"})
		require.ErrorIs(t, err, settlement.ErrOverCollection, "the customer owes nothing on INV-8")
	})

	t.Run("INV-7 paid after the credit", func(t *testing.T) {
		_, entries, st := settledCollect(t)
		res, err := s.Settle(ctx, st, []settlement.Line{c1, l2}) // in any order: sales settle first
		require.NoError(t, err)
		entries, st = append(entries, res.Entries...), res.State
		// The credit is pending on L2 until the customer pays L1 in full;
		// the state keeps that through its round trips.
		ll, _ := st.Line("L2")
		require.Len(t, ll.Collection.Pending, 1)
		require.Equal(t, "C1 L1 47.60", string(ll.Collection.Pending[0].Credit)+" "+string(ll.Collection.Pending[0].Line)+" "+ll.Collection.Pending[0].Amount.AmountString())
		l1, _ := st.Line("L1")
		require.Equal(t, []string{"INV-8"}, l1.Collection.LentTo)
		for _, rt := range []func(settlement.State) settlement.State{
			func(st settlement.State) settlement.State {
				var back settlement.State
				require.NoError(t, back.UnmarshalJSON(mustJSON(t, st)))
				return back
			},
			func(st settlement.State) settlement.State {
				b, err := st.MarshalBinary()
				require.NoError(t, err)
				var back settlement.State
				require.NoError(t, back.UnmarshalBinary(b))
				return back
			},
		} {
			require.JSONEq(t, string(mustJSON(t, st)), string(mustJSON(t, rt(st))))
		}
		// Paying L1 in full funds it: 47.60 of L2 is paid, 40.00 of its basis.
		e, st := pay(t, st, "P1", "INV-7", "119.00")
		entries = append(entries, e...)
		var funded []string
		for _, x := range e {
			if x.Line == "L2" {
				require.Equal(t, settlement.KindCollected, x.Kind)
				require.Contains(t, x.Note, "credit C1 netted on invoice INV-8, funded: EUR 47.60 of EUR 119.00 paid")
				funded = append(funded, x.Amount.AmountString())
			}
		}
		require.ElementsMatch(t, []string{"10.00", "6.00", "24.00"}, funded)
		e, st = pay(t, st, "P2", "INV-8", "71.40")
		entries = append(entries, e...)
		check(t, entries)
		ll, _ = st.Line("L2")
		require.Equal(t, []string{"C1#funded", "P2"}, ll.Collection.IDs)
		require.Equal(t, "119.00", ll.Collection.Collected.AmountString())
		require.True(t, ll.Collection.Credited.IsZero())
	})

	t.Run("INV-7 paid after the credit while L2 is disputed", func(t *testing.T) {
		// The customer's money for L1 funds the credit on L2 while L2 is
		// disputed: the dispute contests L2, not L1's cash (deferring it
		// to the dispute's end had the lender settle twice when anything
		// else closed it). The dispute holds what is payable, so what the
		// funding pays is released when it is resolved.
		_, entries, st := settledCollect(t)
		res, err := s.Settle(ctx, st, []settlement.Line{c1, l2})
		require.NoError(t, err)
		entries, st = append(entries, res.Entries...), res.State
		d, err := s.Dispute(st, "L2", date("2026-04-05"))
		require.NoError(t, err)
		entries, st = append(entries, d.Entries...), d.State
		e, st := pay(t, st, "P1", "INV-7", "119.00")
		entries = append(entries, e...)
		for _, x := range e {
			require.NotEqual(t, settlement.LineID("L2"), x.Line, "%s: released while disputed", x.ID)
		}
		ll, _ := st.Line("L2")
		require.Empty(t, ll.Collection.Pending)
		require.Equal(t, "47.60", ll.Collection.Collected.AmountString())
		l1, _ := st.Line("L1")
		require.Empty(t, l1.Collection.LentTo)
		won, err := s.ResolveDispute(st, "L2", true, date("2026-04-08"))
		require.NoError(t, err)
		entries, st = append(entries, won.Entries...), won.State
		var funded int
		for _, x := range won.Entries {
			if x.Kind == settlement.KindCollected {
				require.Contains(t, string(x.ID), "#collected.L2#dispute.1")
				require.Contains(t, x.Note, "dispute 1 resolved, credits netted on invoice INV-8 funded during it")
				funded++
			}
		}
		require.Equal(t, 3, funded)
		e, _ = pay(t, st, "P2", "INV-8", "71.40")
		entries = append(entries, e...)
		check(t, entries)
	})

	for _, paidFirst := range []bool{true, false} {
		name := map[bool]string{true: "INV-7 paid before the credit", false: "INV-7 paid after the credit"}[paidFirst]
		t.Run(name+", INV-8 partly paid, then written off", func(t *testing.T) {
			// A new user's trial: the customer pays 30.00 of INV-8's 71.40
			// and the rest is written off. Cash in, net of tax: (119.00 +
			// 30.00) / 1.19 = 125.21: L1's 60.00 and L2's share paid, 100 ×
			// 77.60 / 119.00 = 65.21 (16.30 / 9.78 / 39.13), in either
			// order. Before, the write-off also took back the 40.00 the
			// credit had paid of L2 (paid first: the credit was no payment;
			// paid after: INV-7's payment did not reach L2): the parties
			// kept 100.00.
			_, entries, st := settledCollect(t)
			steps := []func(){
				func() {
					var e []settlement.Entry
					e, st = pay(t, st, "P1", "INV-7", "119.00")
					entries = append(entries, e...)
				},
				func() {
					res, err := s.Settle(ctx, st, []settlement.Line{l2, c1})
					require.NoError(t, err)
					entries, st = append(entries, res.Entries...), res.State
				},
			}
			if !paidFirst {
				steps[0], steps[1] = steps[1], steps[0]
			}
			for _, step := range steps {
				step()
			}
			e, st := pay(t, st, "P2", "INV-8", "30.00")
			entries = append(entries, e...)
			w, err := s.WriteOff(st, settlement.Collection{ID: "W1", Date: date("2026-04-30"), Amount: eur("41.40"), Invoice: "INV-8"})
			require.NoError(t, err)
			entries = append(entries, w.Entries...)
			defer func() {
				want = map[partner.ID]string{"platform": "40.00", "referral-ams": "24.00", "sub-utrecht": "96.00"}
			}()
			want = map[partner.ID]string{"platform": "31.30", "referral-ams": "18.78", "sub-utrecht": "75.13"}
			check(t, entries)
		})
	}

	t.Run("a credit above what the later invoice owes", func(t *testing.T) {
		// L2 is 20.00 + 3.80: the credit takes its 23.80, so the customer
		// owes nothing on INV-8, and takes the other 23.80 off INV-7's
		// balance, which the customer pays as 95.20. L2's parties are
		// payable when the customer pays INV-7 in full, which funds the
		// credit ("<credit>#funded"), not before: the credit alone is no
		// payment.
		small := l2
		small.Amount, small.Tax = eur("20.00"), eur("3.80")
		_, entries, st := settledCollect(t)
		res, err := s.Settle(ctx, st, []settlement.Line{small, c1})
		require.NoError(t, err)
		entries, st = append(entries, res.Entries...), res.State
		ll, _ := st.Line("L1")
		require.Equal(t, "23.80", ll.Collection.Credited.AmountString())
		for _, e := range res.Entries {
			require.NotEqual(t, settlement.KindCollected, e.Kind, "%s: payable before the customer paid", e.ID)
		}
		e, _ := pay(t, st, "P1", "INV-7", "95.20")
		entries = append(entries, e...)
		var released int
		for _, e := range e {
			if e.Kind == settlement.KindCollected && e.Line == "L2" {
				require.Contains(t, string(e.ID), "#collected.C1#funded")
				require.Contains(t, e.Note, "credit C1 netted on invoice INV-8, funded")
				released++
			}
		}
		require.Equal(t, 3, released)
		want = map[partner.ID]string{"platform": "20.00", "referral-ams": "12.00", "sub-utrecht": "48.00"} // 60% of L1, all of L2
		check(t, entries)
	})

	t.Run("nothing paid, both invoices written off", func(t *testing.T) {
		// A credit is no payment: nobody is paid what the customer never
		// paid.
		_, entries, st := settledCollect(t)
		res, err := s.Settle(ctx, st, []settlement.Line{l2, c1})
		require.NoError(t, err)
		entries, st = append(entries, res.Entries...), res.State
		for inv, amount := range map[string]string{"INV-7": "119.00", "INV-8": "71.40"} {
			r, err := s.WriteOff(st, settlement.Collection{ID: "W-" + inv, Date: date("2026-04-20"), Amount: eur(amount), Invoice: inv})
			require.NoError(t, err)
			entries, st = append(entries, r.Entries...), r.State
		}
		want = map[partner.ID]string{"platform": "0.00", "referral-ams": "0.00", "sub-utrecht": "0.00"}
		check(t, entries)
		want = map[partner.ID]string{"platform": "40.00", "referral-ams": "24.00", "sub-utrecht": "96.00"}
	})

	t.Run("a credit note on the credited invoice", func(t *testing.T) {
		// The credit note names INV-7 (or no invoice): it comes off
		// INV-7's balance, 71.40 left to pay.
		cn := c1
		cn.Invoice = "INV-7"
		_, entries, st := settledCollect(t)
		res, err := s.Settle(ctx, st, []settlement.Line{cn})
		require.NoError(t, err)
		entries, st = append(entries, res.Entries...), res.State
		e, _ := pay(t, st, "P1", "INV-7", "71.40")
		entries = append(entries, e...)
		want = map[partner.ID]string{"platform": "15.00", "referral-ams": "9.00", "sub-utrecht": "36.00"}
		check(t, entries)
	})
}

// TestPropertyNettedCreditsLeaveNothingAwaiting: lines on collection on
// two invoices, beside lines paid on settlement (receivables), then
// credits of some of them, all given on their lines' invoices, on none,
// or on the other invoice; the customer pays each invoice what it says it
// owes (its lines' totals less the credits on it, when neither is
// negative), and nothing may await: every payment is accepted, and every
// party ends with its share of what stands.
func TestPropertyNettedCreditsLeaveNothingAwaiting(t *testing.T) {
	s := planSettler(t, mixedCollectPlans, loadNetwork(t))
	rapid.Check(t, func(t *rapid.T) {
		lines := drawMixedLines(t)
		res, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		entries, st := res.Entries, res.State
		owes := map[string]int64{} // by invoice, as the customer reads them
		for _, l := range lines {
			owes[l.Invoice] += minorOf(l.Amount) + minorOf(l.Tax)
		}
		other := map[string]string{"INV-1": "INV-2", "INV-2": "INV-1"}
		// Every credit on its line's invoice, on none, or netted on the
		// other invoice (a credit note of a line a netted credit paid
		// leaves a refund due on it, not off its invoice's other lines).
		on := rapid.SampledFrom([]string{"own", "none", "other"}).Draw(t, "on")
		var credits []settlement.Line
		for _, l := range lines {
			basis := minorOf(l.Amount)
			if basis == 0 || !rapid.Bool().Draw(t, string(l.ID)+".credited") {
				continue
			}
			a := rapid.Int64Range(1, basis).Draw(t, string(l.ID)+".credit")
			tax := basisShare(minorOf(l.Tax), a, basis)
			c := credit("C"+string(l.ID), string(l.ID), "0", "2026-04-01")
			c.Amount, c.Tax = eurMinor(-a), eurMinor(-tax)
			switch on {
			case "own":
				c.Invoice = l.Invoice
			case "other":
				c.Invoice = other[l.Invoice]
			}
			inv := l.Invoice
			if on == "other" {
				inv = c.Invoice
			}
			owes[inv] -= a + tax
			credits = append(credits, c)
		}
		res, err = s.Settle(ctx, st, credits)
		require.NoError(t, err)
		entries, st = append(entries, res.Entries...), res.State
		if owes["INV-1"] < 0 || owes["INV-2"] < 0 {
			// The customer is owed a refund, or a balance to carry to
			// its next invoice: no customer balance is kept here.
			t.Skip("a credit balance")
		}
		for _, inv := range []string{"INV-1", "INV-2"} {
			if owes[inv] <= 0 {
				continue
			}
			r, err := s.Collect(st, settlement.Collection{ID: "P-" + inv, Date: date("2026-04-10"), Amount: eurMinor(owes[inv]), Invoice: inv})
			require.NoError(t, err, "paying %s %d", inv, owes[inv])
			entries, st = append(entries, r.Entries...), r.State
		}
		for _, l := range lines {
			ll, _ := st.Line(l.ID)
			for _, p := range ll.Parts {
				require.True(t, p.Awaiting.IsZero(), "%s awaits %s", p.Entry, p.Awaiting)
			}
		}
		sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-01-01"), date("2027-01-01"))})
		require.NoError(t, err)
		for _, x := range sts {
			require.True(t, x.Awaiting.IsZero(), "%s awaits %s", x.Party, x.Awaiting)
		}
	})
}

// aprilLineAndCredit returns April's line L2 (EUR 100.00 + 19.00, on
// INV-8) and C1, a proration credit of March's L1 (collectLine, INV-7)
// of 40.00 + 7.60 given on INV-8.
func aprilLineAndCredit() (settlement.Line, settlement.Line) {
	l2 := collectLine("L2")
	l2.Invoice = "INV-8"
	c1 := credit("C1", "L1", "-40.00", "2026-04-01")
	c1.Tax, c1.Invoice = eur("-7.60"), "INV-8"
	return l2, c1
}

func eurMinor(u int64) ensemble.Money { return ensemble.MoneyFromMinor(u, eurCur) }

// TestCreditOfALinePaidOnSettlementNettedOnALaterInvoice: March's L1 is
// settled under a plan payable on settlement (offer "onboarding"), April's
// L2 (EUR 100.00 + 19.00) under one payable on collection. A credit of L1
// (EUR −40.00 − 7.60) given on April's invoice is netted there all the
// same, as no payment (nothing records that the customer paid L1): L2 is
// owed 71.40, which the customer pays, and nothing awaits; written off
// instead, it pays nobody.
func TestCreditOfALinePaidOnSettlementNettedOnALaterInvoice(t *testing.T) {
	onCollection, err := settlement.ParsePlans([]byte(collectPlan))
	require.NoError(t, err)
	upfront, err := settlement.ParsePlans([]byte(`
id: upfront
version: 1
offers: [onboarding]
root:
  id: root
  children:
    - {id: seller, party: seller, share: "50%"}
    - {id: platform, party: platform, share: remaining}
`))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: append(onCollection, upfront...), Network: loadNetwork(t)})
	require.NoError(t, err)
	l1 := chainLine("L1", "100.00", "2026-03-01")
	l1.Offer.Offer, l1.Tax, l1.Invoice = "onboarding", eur("19.00"), "INV-7"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l1})
	require.NoError(t, err)
	l2, c1 := aprilLineAndCredit()
	r, err := s.Settle(ctx, res.State, []settlement.Line{l2, c1})
	require.NoError(t, err)
	ll, _ := r.State.Line("L2")
	require.Equal(t, "47.60", ll.Collection.Credited.AmountString())
	w, err := s.WriteOff(r.State, settlement.Collection{ID: "W1", Date: date("2026-04-10"), Amount: eur("71.40"), Invoice: "INV-8"})
	require.NoError(t, err)
	wl, _ := w.State.Line("L2")
	for _, part := range wl.Parts {
		require.True(t, part.Unreversed.IsZero(), "written off, %s keeps %s", part.Entry, part.Unreversed)
	}
	p, err := s.Collect(r.State, settlement.Collection{ID: "P1", Date: date("2026-04-10"), Amount: eur("71.40"), Invoice: "INV-8"})
	require.NoError(t, err)
	ll, _ = p.State.Line("L2")
	for _, part := range ll.Parts {
		require.True(t, part.Awaiting.IsZero(), "%s awaits %s", part.Entry, part.Awaiting)
	}
}

// TestCreditOfAPaidLineSpillsToItsInvoice: what a credit leaves a line
// holding beyond what it is now worth goes to the other lines of its
// invoice that owe, so the customer pays the invoice its total net of the
// credit and nothing awaits. Each invoice line is EUR 100.00 + 20.00 tax,
// split 30% to the platform and 70% to the seller, on collection.
func TestCreditOfAPaidLineSpillsToItsInvoice(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(`partners: [{id: res-a, name: A, type: reseller, terms: [{from: 2025-01-01T00:00:00Z}]}]`))
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(`{id: p, version: 1, payable: on_collection, root: {id: root, children: [
  {id: platform, party: platform, share: "30%"}, {id: seller, party: seller, share: remaining}]}}`))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Network: net})
	require.NoError(t, err)
	d := date("2026-03-01")
	sale := func(id, inv string) settlement.Line {
		return settlement.Line{ID: settlement.LineID(id), Date: d, Amount: eur("100.00"), Tax: eur("20.00"), Invoice: inv,
			Offer: catalog.Pin{Offer: "o", Version: 1}, Route: partner.Route{Kind: partner.RoutePartner, Seller: "res-a", Chain: []partner.ID{"res-a"}}}
	}
	credit := func(id, of, inv, amt, tax string) settlement.Line {
		return settlement.Line{ID: settlement.LineID(id), Credits: settlement.LineID(of), Date: d, Amount: eur(amt), Tax: eur(tax), Invoice: inv}
	}
	type step struct {
		lines []settlement.Line
		pay   *settlement.Collection
	}
	pay := func(id, inv, amount string) step {
		return step{pay: &settlement.Collection{ID: id, Date: d, Amount: eur(amount), Invoice: inv}}
	}
	settle := func(ls ...settlement.Line) step { return step{lines: ls} }
	for _, tc := range []struct {
		name  string
		steps []step
		want  map[partner.ID]string // payable; nothing awaits
	}{
		{
			// A new user's trial: INV-1's L1 is paid; its proration credit
			// of 60.00 is netted on INV-2 (L2, L3), as a payment of 30.00
			// each; then L3 is credited in full on INV-2, which now asks
			// 60.00. L3's 30.00 pays L2, and the customer's 60.00 the rest.
			// Before, L2 kept owing 30.00 and 30% of it awaited forever.
			"a netted payment, then the line credited", []step{
				settle(sale("L1", "INV-1")), pay("P1", "INV-1", "120.00"),
				settle(sale("L2", "INV-2"), sale("L3", "INV-2"), credit("C1", "L1", "INV-2", "-50.00", "-10.00")),
				settle(credit("C2", "L3", "INV-2", "-100.00", "-20.00")), pay("P2", "INV-2", "60.00"),
			},
			map[partner.ID]string{"platform": "45.00", "res-a": "105.00"}, // L1's 50.00 and L2's 100.00
		},
		{
			// The same with INV-1 paid after the credit: the netted credit is
			// no payment, and what it took off L3 comes off L2 instead.
			"a netted credit, then the line credited", []step{
				settle(sale("L1", "INV-1")),
				settle(sale("L2", "INV-2"), sale("L3", "INV-2"), credit("C1", "L1", "INV-2", "-50.00", "-10.00")),
				settle(credit("C2", "L3", "INV-2", "-100.00", "-20.00")), pay("P2", "INV-2", "60.00"), pay("P1", "INV-1", "120.00"),
			},
			map[partner.ID]string{"platform": "45.00", "res-a": "105.00"},
		},
		{
			// One invoice, half paid (60.00 of each line), then L1 credited in
			// full: L1's 60.00 pays L2, which owes nothing more. Before, L1
			// held a refund due of 60.00 and L2 still owed 60.00.
			"a credit note after a part payment", []step{
				settle(sale("L1", "INV-1"), sale("L2", "INV-1")), pay("P1", "INV-1", "120.00"),
				settle(credit("C1", "L1", "INV-1", "-100.00", "-20.00")),
			},
			map[partner.ID]string{"platform": "30.00", "res-a": "70.00"}, // L2's 100.00
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st settlement.State
			var entries []settlement.Entry
			for _, sp := range tc.steps {
				var res settlement.Result
				var err error
				if sp.pay != nil {
					res, err = s.Collect(st, *sp.pay)
				} else {
					res, err = s.Settle(ctx, st, sp.lines)
				}
				require.NoError(t, err)
				entries, st = append(entries, res.Entries...), res.State
			}
			for _, inv := range []string{"INV-1", "INV-2"} {
				_, err := s.Collect(st, settlement.Collection{ID: "P9", Date: d, Amount: eur("0.01"), Invoice: inv})
				if err != nil && !errors.Is(err, settlement.ErrInvalidCollection) {
					require.ErrorIs(t, err, settlement.ErrOverCollection, "%s owes nothing", inv)
				}
			}
			sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(d, d.AddDate(0, 1, 0))})
			require.NoError(t, err)
			got := map[partner.ID]string{}
			for _, x := range sts {
				require.True(t, x.Awaiting.IsZero(), "%s awaits %s", x.Party, x.Awaiting)
				got[x.Party] = x.Payable.AmountString()
			}
			require.Equal(t, tc.want, got)
			var back settlement.State
			require.NoError(t, back.UnmarshalJSON(mustJSON(t, st)), "the state reads back")
		})
	}
}

// TestStatePendingChecked: a state whose pending credits are not what
// credits took off a line (more than it, not positive, of invalid ids) is
// refused, naming the field.
func TestStatePendingChecked(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l2, c1 := aprilLineAndCredit()
	_, _, st := settledCollect(t)
	res, err := s.Settle(ctx, st, []settlement.Line{l2, c1})
	require.NoError(t, err)
	first := func(c map[string]any) map[string]any { return c["pending"].([]any)[0].(map[string]any) }
	for _, tc := range []struct {
		name, want string
		edit       func(c map[string]any)
	}{
		{"more than credited", "exceed what credits took off", func(c map[string]any) {
			first(c)["amount"] = map[string]any{"amount": "47.61", "currency": "EUR"}
		}},
		{"zero", "want a positive amount", func(c map[string]any) { first(c)["amount"] = map[string]any{"amount": "0.00", "currency": "EUR"} }},
		{"a bad credit id", "pending[0].credit", func(c map[string]any) { first(c)["credit"] = "C 1" }},
		{"its own line", "pending[0].line", func(c map[string]any) { first(c)["line"] = "L2" }},
		{"the same credit twice", "pending twice", func(c map[string]any) {
			first(c)["amount"] = map[string]any{"amount": "20.00", "currency": "EUR"}
			c["pending"] = append(c["pending"].([]any), first(c))
		}},
		{"more than the total with what was paid", "pending credits of EUR 47.60, with EUR 100.00 collected", func(c map[string]any) {
			c["collected"] = map[string]any{"amount": "100.00", "currency": "EUR"}
		}},
		{"unfunded beyond what was written off", "unfunded credits of EUR 0.01 exceed what was written off", func(c map[string]any) {
			c["unfunded"] = map[string]any{"amount": "0.01", "currency": "EUR"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc map[string]any
			require.NoError(t, json.Unmarshal(mustJSON(t, res.State), &doc))
			for _, l := range doc["lines"].([]any) {
				if l := l.(map[string]any); l["line"] == "L2" {
					tc.edit(l["collection"].(map[string]any))
				}
			}
			var back settlement.State
			err := json.Unmarshal(mustJSON(t, doc), &back)
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestBinaryVersion3StillReads: a state written by version 3 of the binary
// form, whose collections had no pending credits (collectLine sales L1 and
// L2 on INV-7, 50.00 of it paid), reads as the JSON written with it, and
// the customer pays the rest.
// TestBinaryVersion4StillReads: a version-4 state (a credit of L1 pending
// on L2, whose invoice was partly written off) reads, and settles on:
// INV-7 written off leaves the credit unfunded, now recorded as such.
func TestBinaryVersion4StillReads(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	st := versionedState(t, 4)
	ll, _ := st.Line("L2")
	require.Len(t, ll.Collection.Pending, 1)
	res, err := s.WriteOff(st, settlement.Collection{ID: "W2", Date: date("2026-04-20"), Amount: eur("119.00"), Invoice: "INV-7"})
	require.NoError(t, err)
	ll, _ = res.State.Line("L2")
	require.Equal(t, "47.60", ll.Collection.Unfunded.AmountString())
	b, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(settlement.BinaryVersion), b[1])
}

func TestBinaryVersion3StillReads(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	_, err := s.Collect(versionedState(t, 3), settlement.Collection{ID: "P2", Date: date("2026-03-20"), Amount: eur("188.00"), Invoice: "INV-7"})
	require.NoError(t, err)
}

// TestCreditOfALineAPendingCreditPaid: a credit note of a line a pending
// credit left owing nothing takes back only its own amount (a review:
// it took back the whole line, the pending credit counted as a payment
// that would never come, and the parties lost 45.00 once the credited line
// was paid). L1 is 100.00 + 19.00 on INV-7; L2 50.00 + 9.50 on INV-8; C1
// credits L1 50.00 + 9.50 on INV-8; C2 credits L2 5.00 + 0.95; the
// customer pays INV-7. The parties keep L1's 50.00 and L2's 45.00.
func TestCreditOfALineAPendingCreditPaid(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l2 := collectLine("L2")
	l2.Amount, l2.Tax, l2.Invoice = eur("50.00"), eur("9.50"), "INV-8"
	c1 := credit("C1", "L1", "-50.00", "2026-04-01")
	c1.Tax, c1.Invoice = eur("-9.50"), "INV-8"
	c2 := credit("C2", "L2", "-5.00", "2026-04-02")
	c2.Tax, c2.Invoice = eur("-0.95"), "INV-8"
	_, entries, st := settledCollect(t)
	for _, batch := range [][]settlement.Line{{l2, c1}, {c2}} {
		res, err := s.Settle(ctx, st, batch)
		require.NoError(t, err)
		entries, st = append(entries, res.Entries...), res.State
	}
	p, err := s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-04-10"), Amount: eur("119.00"), Invoice: "INV-7"})
	require.NoError(t, err)
	entries = append(entries, p.Entries...)
	require.Equal(t, "95.00", payableNothingAwaiting(t, entries))
}

// TestPendingCreditSurvivesPruneAndDispute: C1, a credit of L1 netted on
// INV-8 (L2, L3) before INV-7 was paid, is pending on both; a prune keeps
// L1, which lent it (a review: it dropped L1, and L3's part was never
// paid). L3 is disputed when the customer pays INV-7, which funds C1 on
// L2 and L3 alike; the dispute is then won.
func TestPendingCreditSurvivesPruneAndDispute(t *testing.T) {
	s, entries, st := disputedAfterNetting(t, "100.00", "19.00", "-40.00", "-7.60")
	st = st.Prune(date("2026-04-06"))
	l1, ok := st.Line("L1")
	require.True(t, ok, "L1 lent a credit still pending: kept")
	require.Equal(t, []string{"INV-8"}, l1.Collection.LentTo)
	p, err := s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-04-10"), Amount: eur("119.00"), Invoice: "INV-7"})
	require.NoError(t, err)
	entries, st = append(entries, p.Entries...), p.State
	l1, _ = st.Line("L1")
	require.Empty(t, l1.Collection.LentTo, "settled, on the disputed L3 too")
	won, err := s.ResolveDispute(st, "L3", true, date("2026-04-20"))
	require.NoError(t, err)
	entries, st = append(entries, won.Entries...), won.State
	l3s, _ := st.Line("L3")
	require.Empty(t, l3s.Collection.Pending)
	// The customer pays INV-8 its total net of the credit: 238.00 − 47.60.
	pay, err := s.Collect(st, settlement.Collection{ID: "P2", Date: date("2026-04-25"), Amount: eur("190.40"), Invoice: "INV-8"})
	require.NoError(t, err)
	entries = append(entries, pay.Entries...)
	require.Equal(t, "260.00", payableNothingAwaiting(t, entries), "L1's 60.00, L2's and L3's 100.00 each")
}

// TestLostDisputeSpillsPendingCredit: a credit of L1 netted on INV-8 while
// INV-7 is unpaid is pending on L2 and L3; L3 is disputed and lost, so the
// customer owes nothing on it: the part of the credit pending on it goes
// to L2, still pending (a new user's trial: it was dropped, Collect asked
// INV-8 for that much more, and paying what the invoice asks left it
// awaiting for ever). INV-7 (100.00 + 19.00) and INV-8 (L2 100.00 + 19.00,
// L3 10.00 + 1.90, less the credit's 10.00 + 1.90) are paid: the parties
// keep L1's 90.00 and L2's 100.00.
func TestLostDisputeSpillsPendingCredit(t *testing.T) {
	s, entries, st := disputedAfterNetting(t, "10.00", "1.90", "-10.00", "-1.90")
	lost, err := s.ResolveDisputeWith(st, "L3", settlement.DisputeOutcome{Lost: eur("10.00")}, date("2026-04-06"))
	require.NoError(t, err)
	entries, st = append(entries, lost.Entries...), lost.State
	for _, p := range []settlement.Collection{
		{ID: "P9", Date: date("2026-04-10"), Amount: eur("107.11"), Invoice: "INV-8"}, // a cent more than it asks
		{ID: "P1", Date: date("2026-04-10"), Amount: eur("119.00"), Invoice: "INV-7"},
		{ID: "P2", Date: date("2026-04-10"), Amount: eur("107.10"), Invoice: "INV-8"}, // 130.90 − 11.90 − 11.90
	} {
		r, err := s.Collect(st, p)
		if p.ID == "P9" {
			require.ErrorIs(t, err, settlement.ErrOverCollection)
			continue
		}
		require.NoError(t, err)
		entries, st = append(entries, r.Entries...), r.State
	}
	require.Equal(t, "190.00", payableNothingAwaiting(t, entries))
}

// disputedAfterNetting settles collectLine L1 on INV-7 and, on INV-8, L2
// (100.00 + 19.00), L3 (l3 + l3Tax) and C1, a credit of L1 (credit +
// creditTax) netted there while INV-7 is unpaid; then disputes L3. It
// returns the settler, the entries and the state.
func disputedAfterNetting(t *testing.T, l3Amount, l3Tax, creditAmount, creditTax string) (*settlement.Settler, []settlement.Entry, settlement.State) {
	t.Helper()
	s := planSettler(t, collectPlan, loadNetwork(t))
	l2, l3 := collectLine("L2"), collectLine("L3")
	l2.Invoice, l3.Invoice = "INV-8", "INV-8"
	l3.Amount, l3.Tax = eur(l3Amount), eur(l3Tax)
	c1 := credit("C1", "L1", creditAmount, "2026-04-01")
	c1.Tax, c1.Invoice = eur(creditTax), "INV-8"
	_, entries, st := settledCollect(t)
	res, err := s.Settle(ctx, st, []settlement.Line{l2, l3, c1})
	require.NoError(t, err)
	entries, st = append(entries, res.Entries...), res.State
	d, err := s.Dispute(st, "L3", date("2026-04-05"))
	require.NoError(t, err)
	return s, append(entries, d.Entries...), d.State
}

// TestPendingCreditSettledWhenItsLineCloses: March's L1 (invoice INV-7,
// EUR 100.00 + 19.00 tax) is credited 40.00 + 7.60 on April's invoice
// INV-8 (L2, 100.00 + 19.00), before the customer paid L1: the credit is
// pending on L2 until L1 is closed. Each case closes both invoices in
// another order and way; the parties (25/15/60 of each line's basis) end
// with what the customer's cash pays, never more, never less, and nothing
// awaits:
//
//   - INV-8 paid (71.40) and INV-7 written off, in either order: nothing
//     funds the credit, so L2's parties have 60.00 of its 100.00 (the
//     share of what the customer paid for it) and L1's nothing. Before,
//     paying INV-8 released all of L2 (the credit's share too), 100.00
//     paid of 71.40 cash;
//   - INV-8 written off, then INV-7 paid in full: the money for L1 funds
//     the credit, so L2's parties have its 40.00 and L1's their 60.00.
//     Before, the write-off took back the credit's share with the rest,
//     and paying INV-7 found nothing left to pay on L2: 40.00 of the
//     customer's cash paid nobody;
//   - INV-7 half paid, then closed by a credit note of the other half: L1
//     is paid in full, which funds the credit (before, it stayed pending).
func TestPendingCreditSettledWhenItsLineCloses(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l2, c1 := aprilLineAndCredit()
	cn := credit("CN", "L1", "-50.00", "2026-04-15")
	cn.Tax, cn.Invoice = eur("-9.50"), "INV-7"
	type step struct {
		kind            string // "pay", "write-off" or "credit"
		invoice, amount string
	}
	for _, tc := range []struct {
		name  string
		steps []step
		cash  string            // what the customer paid in all
		want  map[string]string // by party: payable
	}{
		{"INV-8 paid, INV-7 written off", []step{{"pay", "INV-8", "71.40"}, {"write-off", "INV-7", "119.00"}},
			"71.40", map[string]string{"platform": "15.00", "referral-ams": "9.00", "sub-utrecht": "36.00"}},
		{"INV-7 written off, INV-8 paid", []step{{"write-off", "INV-7", "119.00"}, {"pay", "INV-8", "71.40"}},
			"71.40", map[string]string{"platform": "15.00", "referral-ams": "9.00", "sub-utrecht": "36.00"}},
		{"INV-8 written off, INV-7 paid", []step{{"write-off", "INV-8", "71.40"}, {"pay", "INV-7", "119.00"}},
			"119.00", map[string]string{"platform": "25.00", "referral-ams": "15.00", "sub-utrecht": "60.00"}},
		{"INV-7 closed by a credit note", []step{{"pay", "INV-7", "59.50"}, {"credit", "", "0"}, {"pay", "INV-8", "71.40"}},
			"130.90", map[string]string{"platform": "27.50", "referral-ams": "16.50", "sub-utrecht": "66.00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, entries, st := settledCollect(t)
			res, err := s.Settle(ctx, st, []settlement.Line{l2, c1})
			require.NoError(t, err)
			entries, st = append(entries, res.Entries...), res.State
			for i, x := range tc.steps {
				var r settlement.Result
				var err error
				c := settlement.Collection{ID: fmt.Sprintf("S%d", i), Date: date("2026-04-20"), Amount: eur(x.amount), Invoice: x.invoice}
				switch x.kind {
				case "pay":
					r, err = s.Collect(st, c)
				case "write-off":
					r, err = s.WriteOff(st, c)
				default:
					r, err = s.Settle(ctx, st, []settlement.Line{cn})
				}
				require.NoError(t, err, "step %d", i)
				entries, st = append(entries, r.Entries...), r.State
			}
			got := map[string]string{}
			var paid int64
			for p, x := range statementsOf(t, entries) {
				require.True(t, x.Awaiting.IsZero(), "%s awaits %s", p, x.Awaiting)
				got[string(p)] = x.Payable.AmountString()
				paid += minorOf(x.Payable)
			}
			require.Equal(t, tc.want, got)
			// What the parties are paid is the net (before 19% tax) of
			// what the customer paid.
			require.Equal(t, minorOf(eur(tc.cash)), paid*119/100, "cash %s, paid %d", tc.cash, paid)
			for _, id := range []settlement.LineID{"L1", "L2"} {
				ll, _ := st.Line(id)
				require.Empty(t, ll.Collection.Pending, "%s", id)
				require.Empty(t, ll.Collection.LentTo, "%s", id)
			}
		})
	}
}

// TestPropertyNettedCreditsPayWhatWasCollected: lines on collection
// (no tax, so a line's basis is its total) on three invoices, credits of
// some of them given on their own invoice, on none or on another (netted
// there, pending while their credited line is not paid in full), then
// payments and write-offs of the invoices in any order and amount, and
// last each invoice paid or written off to the end. Whatever the order,
// once nothing is owed: no credit is pending, nothing awaits, and the
// parties are paid in all exactly the cash the customer paid, less the
// refunds it is due (what a line collected beyond what it is now worth):
// no credit pays what nobody paid for, and no payment is kept from them.
// (When a credit took off more than the customer owed, the balance in
// its favour is not always on a line; credits netted both ways between
// invoices are left out: see settleLent.) The invoices hold lines paid on
// settlement too (receivables, never credited here): their parties keep
// what they were paid on settlement, so the parties are paid in all the
// cash less the refunds, and what the receivables' parties were paid
// beyond what their lines received (what was written off on them).
func TestPropertyNettedCreditsPayWhatWasCollected(t *testing.T) {
	s := planSettler(t, mixedCollectPlans, loadNetwork(t))
	invoices := []string{"INV-1", "INV-2", "INV-3"}
	rapid.Check(t, func(t *rapid.T) {
		var lines, credits []settlement.Line
		for i := range rapid.IntRange(1, 5).Draw(t, "lines") {
			id := fmt.Sprintf("L%d", i+1)
			l := chainLine(id, "0", "2026-03-01")
			l.Amount = eurMinor(rapid.Int64Range(1, 10_000).Draw(t, id+".amount"))
			l.Invoice = rapid.SampledFrom(invoices).Draw(t, id+".invoice")
			lines = append(lines, l)
			if rapid.IntRange(0, 3).Draw(t, id+".on_settlement") == 0 {
				lines[len(lines)-1].Offer = catalog.Pin{Offer: "svc", Version: 1}
				continue
			}
			if rapid.Bool().Draw(t, id+".credited") {
				c := credit("C"+id, id, "0", "2026-04-01")
				c.Amount = eurMinor(-rapid.Int64Range(1, minorOf(l.Amount)).Draw(t, id+".credit"))
				// On its own invoice, on none, or on a later one (a
				// proration credit on the next month's invoice): credits
				// netted both ways between invoices are left out (see
				// settleLent's limits).
				later := slices.DeleteFunc(slices.Clone(invoices), func(inv string) bool { return inv < l.Invoice })
				c.Invoice = rapid.SampledFrom(append([]string{""}, later...)).Draw(t, id+".credit.invoice")
				credits = append(credits, c)
			}
		}
		res, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		entries, st := res.Entries, res.State
		var cash int64
		balance := false // whether a credit took off more than the customer owed (a refund due, or a balance for its next invoice)
		owes := func(inv string) int64 {
			var o int64
			for _, l := range lines {
				if ll, _ := st.Line(l.ID); balanceOf(ll).Invoice == inv {
					c := balanceOf(ll)
					o += max(0, minorOf(c.Total)-minorOf(c.Collected)-minorOf(c.WrittenOff)-minorOf(c.Credited))
				}
			}
			return o
		}
		apply := func(label, inv string, amount int64, writeOff bool) {
			c := settlement.Collection{ID: label, Date: date("2026-05-01"), Amount: eurMinor(amount), Invoice: inv}
			var r settlement.Result
			var err error
			if writeOff {
				r, err = s.WriteOff(st, c)
			} else {
				r, err = s.Collect(st, c)
				cash += amount
			}
			require.NoError(t, err, "%s: %s %d", label, inv, amount)
			entries, st = append(entries, r.Entries...), r.State
		}
		// Credits settle one by one, between payments and write-offs.
		ops := rapid.IntRange(0, 6).Draw(t, "ops")
		for i := 0; len(credits) > 0 || i < ops; i++ {
			if len(credits) > 0 && rapid.Bool().Draw(t, fmt.Sprintf("op%d.credit", i)) {
				c := credits[0]
				inv := c.Invoice
				ll, _ := st.Line(c.Credits)
				if inv == "" {
					inv = ll.Collection.Invoice
				}
				room := owes(inv) // what the credit can come off without a balance in the customer's favour
				if inv != ll.Collection.Invoice {
					room += owes(ll.Collection.Invoice)
				}
				if -minorOf(c.Amount) > room {
					balance = true
				}
				r, err := s.Settle(ctx, st, credits[:1])
				credits = credits[1:]
				if errors.Is(err, settlement.ErrOverCredit) {
					continue // a write-off took back what it would credit
				}
				require.NoError(t, err)
				entries, st = append(entries, r.Entries...), r.State
				continue
			}
			inv := rapid.SampledFrom(invoices).Draw(t, fmt.Sprintf("op%d.invoice", i))
			if o := owes(inv); o > 0 {
				apply(fmt.Sprintf("P%d", i), inv, rapid.Int64Range(1, o).Draw(t, fmt.Sprintf("op%d.amount", i)), rapid.Bool().Draw(t, fmt.Sprintf("op%d.writeoff", i)))
			}
		}
		for _, inv := range rapid.Permutation(invoices).Draw(t, "closing") {
			if o := owes(inv); o > 0 {
				apply("X-"+inv, inv, o, rapid.Bool().Draw(t, "X-"+inv+".writeoff"))
			}
		}
		var refunds, receivables int64
		for _, l := range lines {
			ll, _ := st.Line(l.ID)
			c := balanceOf(ll)
			if ll.Receivable != nil { // its parties were paid its basis, the customer paid what it collected
				receivables += minorOf(ll.Basis) - minorOf(ll.Credited) - minorOf(c.Collected)
			}
			require.Empty(t, c.Pending, "%s", l.ID)
			require.Empty(t, c.LentTo, "%s", l.ID)
			for _, p := range ll.Parts {
				require.True(t, p.Awaiting.IsZero(), "%s awaits %s", p.Entry, p.Awaiting)
			}
			due, err := c.RefundDue()
			require.NoError(t, err)
			refunds += minorOf(due)
		}
		sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-01-01"), date("2027-01-01"))})
		require.NoError(t, err)
		var paid int64
		for _, x := range sts {
			require.True(t, x.Awaiting.IsZero(), "%s awaits %s", x.Party, x.Awaiting)
			paid += minorOf(x.Payable)
		}
		if !balance {
			require.Equal(t, cash-refunds+receivables, paid, "cash %d, refunds due %d, receivables written off %d", cash, refunds, receivables)
		}
	})
}

// TestCreditBeyondWhatIsOwedTakesBackAWriteOffOfLentCredits: INV-7 holds
// L1 and L2 (each EUR 100.00 + 19.00), INV-8 holds L3 (50.00 + 9.50). The
// customer pays 59.50 of L2, and L2 is credited in two ways: C2, 80.00 +
// 15.20 given on INV-8 (59.50 netted on L3, lent by L2, 35.70 off L2's
// balance), or CA, 25.00 + 4.75 netted on INV-8 then CB, 30.00 + 5.70 on
// INV-7. The host writes off what L2 owes, before or after the credit
// that takes 35.70 off L2's balance. Either way L2 ends worth 83.30 to the
// customer (its 119.00 less its own credits), of which it paid 59.50:
// 23.80 is written off, which unfunds as much of what L2 lent (the
// write-off is its lent credits' first), the rest of the lent credits is
// funded by L2's cash, and no refund is due. Then the customer pays what
// INV-7 and INV-8 still ask, and the parties are paid the net of its cash.
// Before, with the write-off first (29.75: all L2 owed then), the credit
// found it held for the credits L2 lent and took none of it back, though
// L2's cash then funded them: L2 recorded 29.75 written off and a refund
// due of 5.95, the cash the parties of L3 were paid.
func TestCreditBeyondWhatIsOwedTakesBackAWriteOffOfLentCredits(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l1, l2, l3 := collectLine("L1"), collectLine("L2"), collectLine("L3")
	l3.Amount, l3.Tax, l3.Invoice = eur("50.00"), eur("9.50"), "INV-8"
	creditOn := func(id, amount, tax, inv string) settlement.Line {
		c := credit(id, "L2", amount, "2026-04-01")
		c.Tax, c.Invoice = eur(tax), inv
		return c
	}
	c2 := creditOn("C2", "-80.00", "-15.20", "INV-8")
	ca, cb := creditOn("CA", "-25.00", "-4.75", "INV-8"), creditOn("CB", "-30.00", "-5.70", "INV-7")
	type step struct {
		kind   string // "pay", "write-off" or "credit"
		amount string // paid or written off on L2
		credit settlement.Line
	}
	pay, writeOff := func(a string) step { return step{kind: "pay", amount: a} }, func(a string) step { return step{kind: "write-off", amount: a} }
	creditStep := func(c settlement.Line) step { return step{kind: "credit", credit: c} }
	for _, tc := range []struct {
		name  string
		steps []step
		cash  string // what the customer paid in all
	}{
		{"netted, write-off first", []step{pay("59.50"), writeOff("29.75"), creditStep(c2)}, "178.50"},
		{"netted, credit first", []step{pay("59.50"), creditStep(c2), writeOff("23.80")}, "178.50"},
		{"lent, write-off first", []step{creditStep(ca), pay("59.50"), writeOff("29.75"), creditStep(cb)}, "208.25"},
		{"lent, credit first", []step{creditStep(ca), pay("59.50"), creditStep(cb), writeOff("23.80")}, "208.25"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l1, l2, l3})
			require.NoError(t, err)
			entries, st := res.Entries, res.State
			apply := func(r settlement.Result, err error) {
				t.Helper()
				require.NoError(t, err)
				entries, st = append(entries, r.Entries...), r.State
			}
			for i, x := range tc.steps {
				if x.kind == "credit" {
					apply(s.Settle(ctx, st, []settlement.Line{x.credit}))
					continue
				}
				c := settlement.Collection{ID: fmt.Sprintf("S%d", i), Date: date("2026-04-20"), Amount: eur(x.amount), Lines: []settlement.LineID{"L2"}}
				if x.kind == "pay" {
					apply(s.Collect(st, c))
				} else {
					apply(s.WriteOff(st, c))
				}
			}
			ll, _ := st.Line("L2")
			c := ll.Collection
			due, err := c.RefundDue()
			require.NoError(t, err)
			require.Equal(t, "59.50 23.80 35.70 0.00", c.Collected.AmountString()+" "+c.WrittenOff.AmountString()+" "+c.Credited.AmountString()+" "+due.AmountString(),
				"L2 collected, written off, credited, refund due")
			for _, inv := range []string{"INV-7", "INV-8"} {
				var owed int64
				for _, id := range []settlement.LineID{"L1", "L3"} {
					if ll, _ := st.Line(id); ll.Collection.Invoice == inv {
						o, err := ll.Collection.Owed()
						require.NoError(t, err)
						owed += minorOf(o)
					}
				}
				if owed > 0 {
					apply(s.Collect(st, settlement.Collection{ID: "X-" + inv, Date: date("2026-04-30"), Amount: eurMinor(owed), Invoice: inv}))
				}
			}
			var paid int64
			for p, x := range statementsOf(t, entries) {
				require.True(t, x.Awaiting.IsZero(), "%s awaits %s", p, x.Awaiting)
				paid += minorOf(x.Payable)
			}
			// The parties are paid the net (before 19% tax) of the cash.
			require.Equal(t, minorOf(eur(tc.cash)), paid*119/100, "cash %s, paid %d", tc.cash, paid)
		})
	}
}

// TestCreditNoteOfALineHoldingAPendingCredit: INV-8 holds L2 and L3
// (each EUR 100.00 + 19.00); March's L1 is credited 40.00 + 7.60 on
// INV-8 before the customer paid it: 23.80 pending on each. The customer
// pays 47.60 of each, then L3's other 47.60 (L3 owes nothing: 95.20 paid,
// 23.80 pending), and a credit note takes 50.00 + 9.50 off L3. L3 is now
// worth 59.50 and holds 119.00: the pending credit, which can no longer
// come off L3, moves to L2 (still pending), then 23.80 of L3's cash pays
// what L2 owes, and 11.90 is a refund due. INV-7 is then written off: the
// two pending credits on L2 are unfunded. The parties are paid the net of
// the cash less the refund, 110.00 (L2 60.00, L3 50.00). Before, the
// pending credit stayed on L3 and all the cash beyond L3's new value
// spilled to L2 as if the pending credit were paid: 11.90 more than the
// customer paid was payable.
func TestCreditNoteOfALineHoldingAPendingCredit(t *testing.T) {
	s, entries, st := settledCollect(t)
	l2, c1 := aprilLineAndCredit()
	l3 := collectLine("L3")
	l3.Invoice = "INV-8"
	cn := credit("CN3", "L3", "-50.00", "2026-04-15")
	cn.Tax, cn.Invoice = eur("-9.50"), "INV-8"
	step := func(r settlement.Result, err error) {
		t.Helper()
		require.NoError(t, err)
		entries, st = append(entries, r.Entries...), r.State
	}
	step(s.Settle(ctx, st, []settlement.Line{l2, l3, c1}))
	step(s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-04-10"), Amount: eur("95.20"), Invoice: "INV-8"}))
	step(s.Collect(st, settlement.Collection{ID: "P2", Date: date("2026-04-12"), Amount: eur("47.60"), Lines: []settlement.LineID{"L3"}}))
	step(s.Settle(ctx, st, []settlement.Line{cn}))
	ll, _ := st.Line("L3")
	c := ll.Collection
	require.Empty(t, c.Pending, "the pending credit moved to L2")
	require.Equal(t, "71.40 59.50", c.Collected.AmountString()+" "+c.Credited.AmountString(), "11.90 collected beyond its value: a refund due")
	due, err := c.RefundDue()
	require.NoError(t, err)
	require.Equal(t, "EUR 11.90", due.String())
	ll, _ = st.Line("L2")
	require.Len(t, ll.Collection.Pending, 1)
	require.Equal(t, "47.60", ll.Collection.Pending[0].Amount.AmountString())
	step(s.WriteOff(st, settlement.Collection{ID: "W1", Date: date("2026-04-30"), Amount: eur("119.00"), Invoice: "INV-7"}))
	got := map[partner.ID]string{}
	for p, x := range statementsOf(t, entries) {
		require.True(t, x.Awaiting.IsZero(), "%s awaits %s", p, x.Awaiting)
		got[p] = x.Payable.AmountString()
	}
	require.Equal(t, map[partner.ID]string{"platform": "27.50", "referral-ams": "16.50", "sub-utrecht": "66.00"}, got)
}

// TestNettedCreditPaysNoLineBeforeItsDate: a proration credit is dated at
// the change it bills (March 15), before the next invoice's lines it is
// netted on (L2, April 1). The payments and write-offs it makes of L2 are
// dated no earlier than L2: before, the funded credit paid L2 on March 15
// (its own date), or on the date the customer paid L1 (March 25), so
// March's statements paid out a line sold in April, while Collect refuses a
// payment dated before a line it pays (the trial's April 15 downgrade
// credit made May's license line payable in April). The amounts are
// unchanged: 47.60 of L2's 119.00 paid, 10.00 / 6.00 / 24.00.
func TestNettedCreditPaysNoLineBeforeItsDate(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l2 := collectLine("L2")
	l2.Date, l2.Invoice = date("2026-04-01"), "INV-8"
	c1 := credit("C1", "L1", "-40.00", "2026-03-15")
	c1.Tax, c1.Invoice = eur("-7.60"), "INV-8"
	requireNotBefore := func(t *testing.T, entries []settlement.Entry, kind settlement.EntryKind, want []string) {
		t.Helper()
		var got []string
		for _, e := range entries {
			if e.Line != "L2" && !strings.HasPrefix(string(e.Line), "L2#") || e.Kind != kind {
				continue // a write-off's entries are on L2#writeoff.<id>
			}
			require.Equal(t, "2026-04-01", e.Date.Format(time.DateOnly), "%s %s dated before L2", e.ID, e.Amount)
			got = append(got, e.Amount.AmountString())
		}
		require.ElementsMatch(t, want, got)
	}
	paid := []string{"10.00", "6.00", "24.00"}

	t.Run("funded when netted", func(t *testing.T) {
		_, _, st := settledCollect(t)
		res, err := s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-03-20"), Amount: eur("119.00"), Invoice: "INV-7"})
		require.NoError(t, err)
		res, err = s.Settle(ctx, res.State, []settlement.Line{l2, c1})
		require.NoError(t, err)
		requireNotBefore(t, res.Entries, settlement.KindCollected, paid)
	})

	t.Run("funded when its credited line is paid", func(t *testing.T) {
		_, _, st := settledCollect(t)
		res, err := s.Settle(ctx, st, []settlement.Line{l2, c1})
		require.NoError(t, err)
		res, err = s.Collect(res.State, settlement.Collection{ID: "P1", Date: date("2026-03-25"), Amount: eur("119.00"), Invoice: "INV-7"})
		require.NoError(t, err)
		requireNotBefore(t, res.Entries, settlement.KindCollected, paid)
	})

	t.Run("unfunded when its credited line is written off", func(t *testing.T) {
		_, _, st := settledCollect(t)
		res, err := s.Settle(ctx, st, []settlement.Line{l2, c1})
		require.NoError(t, err)
		res, err = s.WriteOff(res.State, settlement.Collection{ID: "W1", Date: date("2026-03-25"), Amount: eur("119.00"), Invoice: "INV-7"})
		require.NoError(t, err)
		requireNotBefore(t, res.Entries, settlement.KindClawback, []string{"-10.00", "-6.00", "-24.00"})
		requireNotBefore(t, res.Entries, settlement.KindUncollected, []string{"-10.00", "-6.00", "-24.00"})
	})
}
