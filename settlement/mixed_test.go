package settlement_test

import (
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
