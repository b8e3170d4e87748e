package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// mixedPlans pay a service line on settlement (the platform keeps it) and
// an add-on on collection: the ISV (sub-utrecht here) 70%, the platform
// the rest.
const mixedPlans = `
- {id: svc, version: 1, offers: [svc], root: {id: root, children: [{id: platform, party: platform, share: remaining}]}}
- {id: addon, version: 1, offers: [addon], payable: on_collection,
   root: {id: root, children: [{id: isv, party: "partner:sub-utrecht", share: "70%"}, {id: platform, party: platform, share: remaining}]}}
`

// mixedLine is a sale line of offer (svc or addon) on invoice inv.
func mixedLine(id, offer, day, amount, tax, inv string) settlement.Line {
	return settlement.Line{ID: settlement.LineID(id), Date: date(day), Amount: eur(amount), Tax: eur(tax),
		Offer: catalog.Pin{Offer: catalog.OfferID(offer), Version: 1}, Route: partner.Route{Kind: partner.RouteDirect}, Invoice: inv}
}

// mixedCredit is a credit of line of on invoice inv.
func mixedCredit(id, of, day, amount, tax, inv string) settlement.Line {
	return settlement.Line{ID: settlement.LineID(id), Date: date(day), Credits: settlement.LineID(of), Amount: eur(amount), Tax: eur(tax), Invoice: inv}
}

// clawbacksOf returns the clawbacks of entries, party by party.
func clawbacksOf(entries []settlement.Entry) map[partner.ID]string {
	out := map[partner.ID]string{}
	for _, e := range entries {
		if e.Kind == settlement.KindClawback {
			out[e.Party] = e.Amount.AmountString()
		}
	}
	return out
}

// TestCreditNoteAfterASetOffTakesBackOnlyItsAmount: February's service
// line (EUR 400.00 + 84.00, paid on settlement) is credited on March's
// invoice INV-MAR, a proration credit netted there on the add-on (105.00 +
// 22.05, 70% to the ISV on collection), the invoice's only line. A credit
// note of 20.00 + 4.20 on the add-on then takes back 20.00: 14.00 from the
// ISV and 6.00 from the platform, or 20.00 from the ISV when it bears it.
// Before, when the set-off left the customer owing less than the credit
// note (108.90 or 242.00 of it), the credit note took the whole line back
// (ISV −73.50, platform −31.50; borne by the ISV, a *BearerError saying
// the credit takes EUR 105.00): the set-off, which the customer did not
// pay for, read as value credit notes had taken off the line, so all that
// the line had left seemed to await a payment that would never come.
func TestCreditNoteAfterASetOffTakesBackOnlyItsAmount(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	feb, err := s.Settle(ctx, settlement.State{}, []settlement.Line{mixedLine("feb-svc", "svc", "2026-02-01", "400.00", "84.00", "INV-FEB")})
	require.NoError(t, err)
	for _, setOff := range []struct{ amount, tax, on, owed string }{
		{"-50.00", "-10.50", "60.50", "42.35"},  // the customer still owes more than the credit note
		{"-90.00", "-18.90", "108.90", "0.00"},  // 18.15 owed, less than the credit note's 24.20
		{"-200.00", "-42.00", "127.05", "0.00"}, // more than the add-on: it owes nothing
	} {
		t.Run("set-off "+setOff.amount, func(t *testing.T) {
			res, err := s.Settle(ctx, feb.State, []settlement.Line{
				mixedLine("mar-addon", "addon", "2026-03-01", "105.00", "22.05", "INV-MAR"),
				mixedCredit("pc", "feb-svc", "2026-02-15", setOff.amount, setOff.tax, "INV-MAR"),
			})
			require.NoError(t, err)
			// The state records the set-off, through its round trips.
			ll, ok := res.State.Line("mar-addon")
			require.True(t, ok)
			require.Equal(t, setOff.on, ll.Collection.SetOff.AmountString())
			b, err := res.State.MarshalBinary()
			require.NoError(t, err)
			var back settlement.State
			require.NoError(t, back.UnmarshalBinary(b))
			require.JSONEq(t, string(mustJSON(t, res.State)), string(mustJSON(t, back)))
			require.NoError(t, back.UnmarshalJSON(mustJSON(t, res.State)))
			require.JSONEq(t, string(mustJSON(t, res.State)), string(mustJSON(t, back)))
			for _, tc := range []struct {
				bearer settlement.Bearer
				want   map[partner.ID]string
			}{
				{settlement.Bearer{}, map[partner.ID]string{"sub-utrecht": "-14.00", "platform": "-6.00"}},
				{settlement.Bearer{Party: "sub-utrecht"}, map[partner.ID]string{"sub-utrecht": "-20.00"}},
			} {
				gw := mixedCredit("gw", "mar-addon", "2026-03-10", "-20.00", "-4.20", "INV-MAR")
				gw.Bearer = tc.bearer
				got, err := s.Settle(ctx, res.State, []settlement.Line{gw})
				require.NoError(t, err, "bearer %s", tc.bearer)
				require.Equal(t, tc.want, clawbacksOf(got.Entries), "bearer %s", tc.bearer)
				ll, ok := got.State.Line("mar-addon")
				require.True(t, ok)
				owed, err := ll.Collection.Owed()
				require.NoError(t, err)
				require.Equal(t, setOff.owed, owed.AmountString())
				left, err := ll.Basis.Sub(ll.Credited)
				require.NoError(t, err)
				require.Equal(t, "85.00", left.AmountString(), "the add-on keeps 85.00 of its 105.00")
			}
		})
	}
}

// TestBinaryVersion7StillReads: a version-7 state, written by the
// settler before collections recorded a set-off (the add-on of INV-MAR
// holds a set-off of 108.90, a credit of February's service line paid on
// settlement, and 10.00 of INV-MAR was paid; L1's open dispute holds
// reseller-nl's reserve release of 150.00 on March 31), reads as the JSON
// written with it, with no set-off and the dispute's hold at release, and
// is written again in the current version, which keeps both.
func TestBinaryVersion7StillReads(t *testing.T) {
	st := versionedState(t, 7)
	ll, ok := st.Line("mar-addon")
	require.True(t, ok)
	require.Equal(t, "108.90", ll.Collection.Credited.AmountString())
	require.True(t, ll.Collection.SetOff.IsZero(), "a version-7 state records no set-off")
	heldAtRelease := func(st settlement.State) {
		t.Helper()
		ll, _ := st.Line("L1")
		require.Len(t, ll.Parts[1].HeldAtRelease, 1)
		h := ll.Parts[1].HeldAtRelease[0]
		requireEUR(t, "150.00", h.Amount, "reseller-nl's release held by the dispute")
		require.True(t, h.Date.Equal(date("2026-03-31")), "held at %s", h.Date)
	}
	heldAtRelease(st)
	s := planSettler(t, mixedPlans, loadNetwork(t))
	res, err := s.Collect(st, settlement.Collection{ID: "P2", Date: date("2026-03-25"), Amount: eur("8.15"), Invoice: "INV-MAR"})
	require.NoError(t, err)
	b, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(settlement.BinaryVersion), b[1])
	var again settlement.State
	require.NoError(t, again.UnmarshalBinary(b))
	heldAtRelease(again)
}

// TestCreditNoteMovesTheSetOffBeforeTheCash: a credit of February's
// service line (paid on settlement) of EUR 100.00 + 21.00 is netted on
// INV-MAR's two add-ons A and B (105.00 + 22.05 each): 60.50 set off on
// each. The customer pays A's 66.55; a credit note of 50.00 + 10.50 on A
// then leaves A worth 66.55, what was paid: the 60.50 set off on A moves
// to B, still no payment (B's set-off is 121.00; it owes 6.05, and its
// parties are paid when it is paid), and A keeps the cash paid for it.
// Before, A's cash moved to B as a payment (B's parties were paid 50.00
// of its basis at once) and A kept the set-off, so 66.55 of cash and a
// credit nobody paid made 105.00 of the basis payable.
func TestCreditNoteMovesTheSetOffBeforeTheCash(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		mixedLine("feb-svc", "svc", "2026-02-01", "400.00", "84.00", "INV-FEB"),
		mixedLine("A", "addon", "2026-03-01", "105.00", "22.05", "INV-MAR"),
		mixedLine("B", "addon", "2026-03-01", "105.00", "22.05", "INV-MAR"),
		mixedCredit("pc", "feb-svc", "2026-02-15", "-100.00", "-21.00", "INV-MAR"),
	})
	require.NoError(t, err)
	paid, err := s.Collect(res.State, settlement.Collection{ID: "P1", Date: date("2026-03-20"), Amount: eur("66.55"), Lines: []settlement.LineID{"A"}})
	require.NoError(t, err)
	cn, err := s.Settle(ctx, paid.State, []settlement.Line{mixedCredit("cn", "A", "2026-03-21", "-50.00", "-10.50", "INV-MAR")})
	require.NoError(t, err)
	for _, e := range cn.Entries {
		require.NotEqual(t, settlement.LineID("B"), e.Line, "B is paid nothing: %s %s", e.ID, e.Amount)
	}
	a, _ := cn.State.Line("A")
	require.Equal(t, "66.55", a.Collection.Collected.AmountString())
	require.True(t, a.Collection.SetOff.IsZero(), "A's set-off moved: %s", a.Collection.SetOff)
	b, _ := cn.State.Line("B")
	require.Equal(t, "121.00", b.Collection.SetOff.AmountString())
	require.True(t, b.Collection.Collected.IsZero())
	owed, err := b.Collection.Owed()
	require.NoError(t, err)
	require.Equal(t, "6.05", owed.AmountString())
	last, err := s.Collect(cn.State, settlement.Collection{ID: "P2", Date: date("2026-03-25"), Amount: eur("6.05"), Invoice: "INV-MAR"})
	require.NoError(t, err)
	got := map[partner.ID]string{}
	for _, e := range last.Entries {
		got[e.Party] = e.Amount.AmountString()
	}
	require.Equal(t, map[partner.ID]string{"sub-utrecht": "73.50", "platform": "31.50"}, got, "B paid in full: all of it payable")
}

// collectedOf returns what entries make payable as collected, party by
// party.
func collectedOf(entries []settlement.Entry) map[partner.ID]string {
	out := map[partner.ID]string{}
	for _, e := range entries {
		if e.Kind == settlement.KindCollected {
			out[e.Party] = e.Amount.AmountString()
		}
	}
	return out
}

// TestPaymentOfAMixedInvoiceGoesToEveryLineInProportion: invoice INV-1
// holds a service line paid on settlement (EUR 400.00 + 84.00) and an
// add-on paid on collection (500.00 + 105.00, 70% to the ISV), 1,089.00
// in all. A payment of the invoice goes to both lines in proportion to
// what each owes: of half the invoice, 544.50, the add-on takes 302.50, so
// 250.00 of its basis is payable (ISV 175.00, platform 75.00), and the
// service line's 242.00 is recorded on it (LedgerLine.Receivable) and
// releases nothing (it was paid on settlement). 700.00 is no
// over-collection: the add-on takes 388.89 of it. Before, the payment went
// to the add-on alone: 544.50 paid the ISV 315.00 for its pro-rata 175.00,
// and 700.00 was refused (ErrOverCollection: 605.00 owed).
func TestPaymentOfAMixedInvoiceGoesToEveryLineInProportion(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		mixedLine("svc", "svc", "2026-03-15", "400.00", "84.00", "INV-1"),
		mixedLine("addon", "addon", "2026-03-15", "500.00", "105.00", "INV-1"),
	})
	require.NoError(t, err)
	receivable := func(t *testing.T, st settlement.State) *settlement.LedgerCollection {
		t.Helper()
		ll, ok := st.Line("svc")
		require.True(t, ok)
		require.Nil(t, ll.Collection, "a line paid on settlement")
		require.NotNil(t, ll.Receivable)
		return ll.Receivable
	}
	require.Equal(t, "484.00", receivable(t, res.State).Total.AmountString())

	t.Run("half", func(t *testing.T) {
		half, err := s.Collect(res.State, settlement.Collection{ID: "half", Date: date("2026-04-20"), Amount: eur("544.50"), Invoice: "INV-1"})
		require.NoError(t, err)
		require.Equal(t, map[partner.ID]string{"sub-utrecht": "175.00", "platform": "75.00"}, collectedOf(half.Entries))
		for _, e := range half.Entries {
			require.Equal(t, settlement.LineID("addon"), e.Line, "the service line releases nothing: %s", e.ID)
		}
		require.Equal(t, "242.00", receivable(t, half.State).Collected.AmountString())
		addon, _ := half.State.Line("addon")
		require.Equal(t, "302.50", addon.Collection.Collected.AmountString())

		// The rest, by lines: the customer owes 242.00 and 302.50.
		rest, err := s.Collect(half.State, settlement.Collection{ID: "rest", Date: date("2026-04-25"), Amount: eur("544.50"), Lines: []settlement.LineID{"svc", "addon"}})
		require.NoError(t, err)
		require.Equal(t, map[partner.ID]string{"sub-utrecht": "175.00", "platform": "75.00"}, collectedOf(rest.Entries))
		_, err = s.Collect(rest.State, settlement.Collection{ID: "more", Date: date("2026-04-26"), Amount: eur("0.01"), Invoice: "INV-1"})
		require.ErrorIs(t, err, settlement.ErrOverCollection)

		// A credit note of the service line after the payment leaves the
		// customer's cash for it beyond its value (121.00 of the 242.00)
		// to pay the add-on, as the invoice now asks 726.00 in all.
		cn, err := s.Settle(ctx, half.State, []settlement.Line{mixedCredit("cn", "svc", "2026-04-21", "-300.00", "-63.00", "INV-1")})
		require.NoError(t, err)
		require.Equal(t, map[partner.ID]string{"platform": "-300.00"}, clawbacksOf(cn.Entries))
		require.Equal(t, map[partner.ID]string{"sub-utrecht": "70.00", "platform": "30.00"}, collectedOf(cn.Entries))
		addon, _ = cn.State.Line("addon")
		owed, err := addon.Collection.Owed()
		require.NoError(t, err)
		require.Equal(t, "181.50", owed.AmountString(), "726.00 less the 544.50 paid")
	})

	t.Run("700.00, the rest written off", func(t *testing.T) {
		most, err := s.Collect(res.State, settlement.Collection{ID: "most", Date: date("2026-04-20"), Amount: eur("700.00"), Invoice: "INV-1"})
		require.NoError(t, err)
		require.Equal(t, map[partner.ID]string{"sub-utrecht": "224.98", "platform": "96.42"}, collectedOf(most.Entries))
		require.Equal(t, "311.11", receivable(t, most.State).Collected.AmountString())
		lost, err := s.WriteOff(most.State, settlement.Collection{ID: "lost", Date: date("2026-05-20"), Amount: eur("389.00"), Invoice: "INV-1"})
		require.NoError(t, err)
		require.Equal(t, map[partner.ID]string{"sub-utrecht": "-125.02", "platform": "-53.58"}, clawbacksOf(lost.Entries))
		for _, e := range lost.Entries {
			require.Equal(t, "addon#writeoff.lost", string(e.Line), "the service line's parties keep what they were paid: %s", e.ID)
		}
		require.Equal(t, "172.89", receivable(t, lost.State).WrittenOff.AmountString())
	})
}

// TestSetOffOnAMixedInvoiceIsSpreadOverItsLines: February's service line
// (paid on settlement, INV-FEB) is credited EUR 200.00 + 42.00 on March's
// invoice INV-MAR, which holds March's service line (600.00 + 126.00, paid
// on settlement) and the add-on (105.00 + 22.05, 70% to the ISV on
// collection): the customer pays INV-MAR 853.05 less 242.00. The credit is
// set off on both lines in proportion to what they owe: 36.04 on the
// add-on, which then owes 91.01, and nothing of it is payable until the
// customer pays: INV-MAR's 611.05 pays the ISV its 73.50, half of it
// 26.33, and a write-off of all of it leaves the ISV nothing. Before, the
// whole add-on was set off (the invoice's only line on collection): the
// ISV's 73.50 was payable at once though the customer had paid nothing,
// the customer's payment was then refused (ErrOverCollection: "127.05
// paid, 0.00 owed"), and nothing was left to write off.
func TestSetOffOnAMixedInvoiceIsSpreadOverItsLines(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		mixedLine("feb-svc", "svc", "2026-02-01", "400.00", "84.00", "INV-FEB"),
		mixedLine("mar-svc", "svc", "2026-03-01", "600.00", "126.00", "INV-MAR"),
		mixedLine("mar-addon", "addon", "2026-03-01", "105.00", "22.05", "INV-MAR"),
		mixedCredit("mar-credit", "feb-svc", "2026-02-15", "-200.00", "-42.00", "INV-MAR"),
	})
	require.NoError(t, err)
	require.Empty(t, collectedOf(res.Entries), "the customer paid nothing")
	addon, _ := res.State.Line("mar-addon")
	require.Equal(t, "36.04", addon.Collection.SetOff.AmountString())
	owed, err := addon.Collection.Owed()
	require.NoError(t, err)
	require.Equal(t, "91.01", owed.AmountString())
	svc, _ := res.State.Line("mar-svc")
	require.Equal(t, "205.96", svc.Receivable.SetOff.AmountString())

	for _, tc := range []struct {
		name, amount string
		writeOff     bool
		want         map[partner.ID]string
	}{
		{"paid", "611.05", false, map[partner.ID]string{"sub-utrecht": "73.50", "platform": "31.50"}},
		{"half paid", "305.53", false, map[partner.ID]string{"sub-utrecht": "26.33", "platform": "11.28"}},
		{"written off", "611.05", true, map[partner.ID]string{"sub-utrecht": "-73.50", "platform": "-31.50"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := settlement.Collection{ID: "P1", Date: date("2026-03-25"), Amount: eur(tc.amount), Invoice: "INV-MAR"}
			var got settlement.Result
			if tc.writeOff {
				got, err = s.WriteOff(res.State, c)
				require.NoError(t, err)
				require.Equal(t, tc.want, clawbacksOf(got.Entries))
				return
			}
			got, err = s.Collect(res.State, c)
			require.NoError(t, err)
			require.Equal(t, tc.want, collectedOf(got.Entries))
		})
	}
}

// TestSetOffOfAReceivablePaidInFullIsAPayment: when the customer had
// paid February's invoice in full (reported with Collect, the service
// line's receivable then owes nothing), the proration credit of that line
// netted on INV-MAR is funded by that payment: a payment of INV-MAR's
// lines in proportion to what they owe, so the add-on's 36.04 of it makes
// 29.79 of its basis payable at once (ISV 20.85, platform 8.94), as a
// credit of a line on collection paid in full does.
func TestSetOffOfAReceivablePaidInFullIsAPayment(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	feb, err := s.Settle(ctx, settlement.State{}, []settlement.Line{mixedLine("feb-svc", "svc", "2026-02-01", "400.00", "84.00", "INV-FEB")})
	require.NoError(t, err)
	paid, err := s.Collect(feb.State, settlement.Collection{ID: "FEB", Date: date("2026-02-20"), Amount: eur("484.00"), Invoice: "INV-FEB"})
	require.NoError(t, err)
	require.Empty(t, paid.Entries, "the service line was paid on settlement")
	res, err := s.Settle(ctx, paid.State, []settlement.Line{
		mixedLine("mar-svc", "svc", "2026-03-01", "600.00", "126.00", "INV-MAR"),
		mixedLine("mar-addon", "addon", "2026-03-01", "105.00", "22.05", "INV-MAR"),
		mixedCredit("mar-credit", "feb-svc", "2026-02-15", "-200.00", "-42.00", "INV-MAR"),
	})
	require.NoError(t, err)
	require.Equal(t, map[partner.ID]string{"sub-utrecht": "20.85", "platform": "8.94"}, collectedOf(res.Entries))
	addon, _ := res.State.Line("mar-addon")
	require.Equal(t, "36.04", addon.Collection.Collected.AmountString())
	require.True(t, addon.Collection.SetOff.IsZero())
	rest, err := s.Collect(res.State, settlement.Collection{ID: "MAR", Date: date("2026-03-25"), Amount: eur("611.05"), Invoice: "INV-MAR"})
	require.NoError(t, err)
	require.Equal(t, map[partner.ID]string{"sub-utrecht": "52.65", "platform": "22.56"}, collectedOf(rest.Entries))
}

// TestPruneKeepsReceivablesWhileTheirInvoiceAwaitsPayment: Prune keeps a
// line paid on settlement that owes something on its invoice (a payment of
// the invoice is spread over it and the invoice's lines on collection,
// those billed later included), whether or not a line on collection of
// its invoice is kept, and drops it once it owes nothing.
func TestPruneKeepsReceivablesWhileTheirInvoiceAwaitsPayment(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		mixedLine("svc", "svc", "2026-03-15", "400.00", "84.00", "INV-1"),
		mixedLine("addon", "addon", "2026-03-15", "500.00", "105.00", "INV-1"),
		mixedLine("other", "svc", "2026-03-15", "100.00", "21.00", "INV-2"),
	})
	require.NoError(t, err)
	cut := date("2026-06-01")
	kept := res.State.Prune(cut)
	require.True(t, kept.Has("svc"), "INV-1's add-on awaits payment")
	require.True(t, kept.Has("addon"))
	require.True(t, kept.Has("other"), "INV-2 has no line on collection, but its service line is owed")
	require.Empty(t, settlement.CollectionIndexDiff(kept))
	half, err := s.Collect(kept, settlement.Collection{ID: "half", Date: date("2026-06-10"), Amount: eur("544.50"), Invoice: "INV-1"})
	require.NoError(t, err)
	require.Equal(t, map[partner.ID]string{"sub-utrecht": "175.00", "platform": "75.00"}, collectedOf(half.Entries), "still spread over both lines")
	addon, err := s.Collect(half.State, settlement.Collection{ID: "addon", Date: date("2026-06-11"), Amount: eur("302.50"), Lines: []settlement.LineID{"addon"}})
	require.NoError(t, err)
	gone := addon.State.Prune(cut)
	require.False(t, gone.Has("addon"))
	require.True(t, gone.Has("svc"), "still owed 242.00")
	require.Empty(t, settlement.CollectionIndexDiff(gone))
	svc, err := s.Collect(gone, settlement.Collection{ID: "svc", Date: date("2026-06-12"), Amount: eur("242.00"), Invoice: "INV-1"})
	require.NoError(t, err)
	other, err := s.WriteOff(svc.State, settlement.Collection{ID: "lost", Date: date("2026-06-12"), Amount: eur("121.00"), Invoice: "INV-2"})
	require.NoError(t, err)
	require.Empty(t, other.Entries, "the loss of a line paid on settlement is the host's")
	none := other.State.Prune(cut)
	require.False(t, none.Has("svc"), "paid")
	require.False(t, none.Has("other"), "written off")
	require.Empty(t, settlement.CollectionIndexDiff(none))
}

// TestBinaryVersion8StillReads: a version-8 state, whose lines kept no
// receivable (February's service line and the add-on's set-off of 108.90
// on INV-MAR, 10.00 of it paid), reads as the JSON written with it: the
// service line has no receivable, so INV-MAR counts its add-on alone, as
// before; written again, the state is the current version.
func TestBinaryVersion8StillReads(t *testing.T) {
	st := versionedState(t, 8)
	ll, ok := st.Line("feb-svc")
	require.True(t, ok)
	require.Nil(t, ll.Receivable, "a version-8 state keeps no receivable")
	addon, _ := st.Line("mar-addon")
	require.Equal(t, "108.90", addon.Collection.SetOff.AmountString())
	s := planSettler(t, mixedPlans, loadNetwork(t))
	res, err := s.Collect(st, settlement.Collection{ID: "P2", Date: date("2026-03-25"), Amount: eur("8.15"), Invoice: "INV-MAR"})
	require.NoError(t, err)
	addon, _ = res.State.Line("mar-addon")
	for _, p := range addon.Parts {
		require.True(t, p.Awaiting.IsZero(), "paid in full, %s awaits %s", p.Entry, p.Awaiting)
	}
	b, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(settlement.BinaryVersion), b[1])
}

// TestStateDecodeRefusesCorruptReceivables: a receivable that claims a
// write-off clawback, lends pending credits or names no invoice is
// refused, naming the line.
func TestStateDecodeRefusesCorruptReceivables(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		mixedLine("svc", "svc", "2026-03-15", "400.00", "84.00", "INV-1"),
		mixedLine("addon", "addon", "2026-03-15", "500.00", "105.00", "INV-1"),
	})
	require.NoError(t, err)
	half, err := s.Collect(res.State, settlement.Collection{ID: "half", Date: date("2026-04-20"), Amount: eur("544.50"), Invoice: "INV-1"})
	require.NoError(t, err)
	valid := mustJSON(t, half.State)
	var st settlement.State
	require.NoError(t, json.Unmarshal(valid, &st), "the uncorrupted state reads")
	require.JSONEq(t, string(valid), string(mustJSON(t, st)))
	b, err := half.State.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, st.UnmarshalBinary(b))
	require.JSONEq(t, string(valid), string(mustJSON(t, st)), "through the binary form")
	rec := func(d stateDoc) map[string]any { return d.line("svc")["receivable"].(map[string]any) }
	for _, tt := range []struct {
		name    string
		corrupt func(d stateDoc)
		path    string
		want    string
	}{
		{"a write-off clawback", func(d stateDoc) { rec(d)["write_off_clawback"] = moneyJSON("1.00", "EUR") },
			"receivable.write_off_clawback", "a write-off clawed back EUR 1.00 of a line paid on settlement"},
		{"lent credits", func(d stateDoc) { rec(d)["lent_to"] = []any{"INV-2"} },
			"receivable.lent_to[0]", "lends no pending credit"},
		{"no invoice", func(d stateDoc) { delete(rec(d), "invoice") },
			"receivable.invoice", "a receivable of no invoice"},
		{"collected beyond the total", func(d stateDoc) { rec(d)["collected"] = moneyJSON("484.01", "EUR") },
			"receivable.collected", "exceed the total"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(valid, &d))
			tt.corrupt(d)
			decodeProblem(t, d, tt.path, tt.want, "svc")
		})
	}
}
