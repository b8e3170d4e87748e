package settlement_test

// Disputes of part of a line (Settler.DisputeAmount), with hand figures:
// a EUR 1,000.00 line split platform 20% / reseller 30% / vendor 50%,
// 400.00 of it disputed.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// partialPlan pays the platform 20%, the reseller 30% (reserve: a leaf
// reserve of the reseller's part, when given) and the seller the rest.
func partialPlan(reserve string) string {
	r := ""
	if reserve != "" {
		r = ", reserve: {ratio: " + `"` + reserve + `"` + ", days: 30}"
	}
	return `
id: partial
version: 1
root:
  id: root
  children:
    - {id: platform, party: platform, share: "20%"}
    - {id: reseller, party: reseller, share: "30%"` + r + `}
    - {id: vendor, party: seller, share: remaining}
`
}

// settledPartial settles a EUR 1,000.00 line L1 on March 4, 2026 under
// partialPlan: platform 200.00, reseller-nl 300.00, sub-utrecht 500.00.
func settledPartial(t *testing.T, reserve string) (*settlement.Settler, settlement.Result) {
	t.Helper()
	s := planSettler(t, partialPlan(reserve), loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-04")})
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"platform": "200.00", "reseller-nl": "300.00", "sub-utrecht": "500.00"})
	return s, res
}

// requireKind requires the entries of kind to add up by party as want.
func requireKind(t *testing.T, entries []settlement.Entry, kind settlement.EntryKind, want map[partner.ID]string) {
	t.Helper()
	got := byParty(entries, kind)
	require.Len(t, got, len(want), "%v", got)
	for p, w := range want {
		requireMoney(t, got[p], eur(w), p, kind)
	}
}

// disputeRoundTrip requires st to read back from JSON and binary as it was.
func disputeRoundTrip(t interface {
	require.TestingT
	Helper()
}, st settlement.State) {
	t.Helper()
	js, err := json.Marshal(st)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(js, &back))
	js2, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(js), string(js2))
	b, err := st.MarshalBinary()
	require.NoError(t, err)
	var bin settlement.State
	require.NoError(t, bin.UnmarshalBinary(b))
	js3, err := json.Marshal(bin)
	require.NoError(t, err)
	require.JSONEq(t, string(js), string(js3))
}

// A dispute of 400.00 of the 1,000.00 line holds each party's share of
// it, in proportion to what it earned: 80.00 / 120.00 / 200.00; the rest
// (120.00 / 180.00 / 300.00) stays payable. Before, a host could only
// hold the whole 1,000.00 (Dispute).
func TestDisputeAmountHoldsEachPartysShare(t *testing.T) {
	s, res := settledPartial(t, "")
	d, err := s.DisputeAmount(res.State, "L1", eur("400.00"), date("2026-03-10"))
	require.NoError(t, err)
	requireKind(t, d.Entries, settlement.KindHold, map[partner.ID]string{"platform": "80.00", "reseller-nl": "120.00", "sub-utrecht": "200.00"})
	for _, e := range d.Entries {
		require.Equal(t, "dispute 1 of EUR 400.00 of EUR 1000.00 unreversed opened", e.Note)
	}
	ll, ok := d.State.Line("L1")
	require.True(t, ok)
	require.True(t, ll.Disputed)
	requireMoney(t, ll.DisputedAmount, eur("400.00"))
	disputeRoundTrip(t, d.State)

	all := append(append([]settlement.Entry{}, res.Entries...), d.Entries...)
	sts := statementsOf(t, all)
	for p, w := range map[partner.ID][2]string{"platform": {"80.00", "120.00"}, "reseller-nl": {"120.00", "180.00"}, "sub-utrecht": {"200.00", "300.00"}} {
		requireMoney(t, sts[p].Withheld, eur(w[0]), p, "withheld")
		requireMoney(t, sts[p].Closing, eur(w[1]), p, "closing")
	}

	// Explain renders each hold as the share it is.
	x, err := settlement.Explain("L1", all)
	require.NoError(t, err)
	require.Contains(t, x, "dispute 1 of EUR 400.00 of EUR 1000.00 unreversed opened")

	// While it is open the line takes no credit of the amount disputed:
	// of more than the 600.00 left undisputed.
	_, err = s.Settle(ctx, d.State, []settlement.Line{credit("C1", "L1", "-600.01", "2026-03-12")})
	require.ErrorIs(t, err, settlement.ErrDisputed)
}

// Won, the holds are released: every party is paid all it earned.
// Lost in full (ResolveDispute), the shares are clawed back (80.00 /
// 120.00 / 200.00) and the rest stays earned; partly lost (100.00), 20.00
// / 30.00 / 50.00 are; more than the 400.00 disputed is ErrInvalidDispute
// naming both.
func TestDisputeAmountResolved(t *testing.T) {
	holds := map[partner.ID]string{"platform": "80.00", "reseller-nl": "120.00", "sub-utrecht": "200.00"}
	for _, tc := range []struct {
		name    string
		resolve func(*settlement.Settler, settlement.State) (settlement.Result, error)
		back    map[partner.ID]string
		closing map[partner.ID]string
		note    string
	}{
		{"won", func(s *settlement.Settler, st settlement.State) (settlement.Result, error) {
			return s.ResolveDispute(st, "L1", true, date("2026-04-01"))
		}, map[partner.ID]string{}, map[partner.ID]string{"platform": "200.00", "reseller-nl": "300.00", "sub-utrecht": "500.00"}, "dispute 1 won"},
		{"lost in full", func(s *settlement.Settler, st settlement.State) (settlement.Result, error) {
			return s.ResolveDispute(st, "L1", false, date("2026-04-01"))
		}, map[partner.ID]string{"platform": "-80.00", "reseller-nl": "-120.00", "sub-utrecht": "-200.00"},
			map[partner.ID]string{"platform": "120.00", "reseller-nl": "180.00", "sub-utrecht": "300.00"}, "dispute 1 lost"},
		{"lost 400.00 with", func(s *settlement.Settler, st settlement.State) (settlement.Result, error) {
			return s.ResolveDisputeWith(st, "L1", settlement.DisputeOutcome{Lost: eur("400.00")}, date("2026-04-01"))
		}, map[partner.ID]string{"platform": "-80.00", "reseller-nl": "-120.00", "sub-utrecht": "-200.00"},
			map[partner.ID]string{"platform": "120.00", "reseller-nl": "180.00", "sub-utrecht": "300.00"}, "dispute 1 lost"},
		{"partly lost", func(s *settlement.Settler, st settlement.State) (settlement.Result, error) {
			return s.ResolveDisputeWith(st, "L1", settlement.DisputeOutcome{Lost: eur("100.00")}, date("2026-04-01"))
		}, map[partner.ID]string{"platform": "-20.00", "reseller-nl": "-30.00", "sub-utrecht": "-50.00"},
			map[partner.ID]string{"platform": "180.00", "reseller-nl": "270.00", "sub-utrecht": "450.00"}, "dispute 1 partly lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, res := settledPartial(t, "")
			d, err := s.DisputeAmount(res.State, "L1", eur("400.00"), date("2026-03-10"))
			require.NoError(t, err)
			r, err := tc.resolve(s, d.State)
			require.NoError(t, err)
			requireKind(t, r.Entries, settlement.KindRelease, holds)
			requireKind(t, r.Entries, settlement.KindClawback, tc.back)
			for _, e := range r.Entries {
				if e.Kind == settlement.KindRelease {
					require.Equal(t, tc.note, e.Note)
				}
			}
			ll, _ := r.State.Line("L1")
			require.False(t, ll.Disputed)
			require.True(t, ll.DisputedAmount.IsZero())
			disputeRoundTrip(t, r.State)
			all := append(append(append([]settlement.Entry{}, res.Entries...), d.Entries...), r.Entries...)
			sts := statementsOf(t, all)
			for p, w := range tc.closing {
				requireMoney(t, sts[p].Closing, eur(w), p)
				require.True(t, sts[p].Withheld.IsZero(), p)
			}
		})
	}

	s, res := settledPartial(t, "")
	d, err := s.DisputeAmount(res.State, "L1", eur("400.00"), date("2026-03-10"))
	require.NoError(t, err)
	_, err = s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: eur("400.01")}, date("2026-04-01"))
	require.ErrorIs(t, err, settlement.ErrInvalidDispute)
	require.ErrorContains(t, err, "400.01")
	require.ErrorContains(t, err, "400.00 disputed")
	_, err = s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: eur("1000.01")}, date("2026-04-01"))
	require.ErrorIs(t, err, settlement.ErrOverCredit)
	_, err = s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{}, date("2026-04-01"))
	require.ErrorIs(t, err, settlement.ErrInvalidDispute)
	require.ErrorContains(t, err, "up to the EUR 400.00 disputed")
}

// A dispute of an amount that is not positive whole minor units of the
// line's currency, at most what the line has unreversed, is refused.
func TestDisputeAmountInvalid(t *testing.T) {
	s, res := settledPartial(t, "")
	for _, amount := range []ensemble.Money{eur("0"), {}, eur("-1.00"), eur("1000.01"), mustUSD("400.00"), eur("400.001")} {
		_, err := s.DisputeAmount(res.State, "L1", amount, date("2026-03-10"))
		require.ErrorIs(t, err, settlement.ErrInvalidDispute, amount)
		var le *settlement.LineError
		require.ErrorAs(t, err, &le)
		require.Equal(t, settlement.LineID("L1"), le.Line)
		var ve *ensemble.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Contains(t, err.Error(), "amount", amount)
	}
	_, err := s.DisputeAmount(res.State, "L1", eur("400.00"), date("0000-12-31"))
	require.ErrorIs(t, err, settlement.ErrInvalidDispute)
}

// A dispute of all the line has unreversed is Dispute's: the same
// entries and the same state, byte for byte.
func TestDisputeAmountOfAllIsDispute(t *testing.T) {
	s, res := settledPartial(t, "50%")
	a, err := s.DisputeAmount(res.State, "L1", eur("1000.00"), date("2026-03-10"))
	require.NoError(t, err)
	b, err := s.Dispute(res.State, "L1", date("2026-03-10"))
	require.NoError(t, err)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	require.Equal(t, string(jb), string(ja))
}

// Reserves: the reseller's leaf reserve holds 50% of its 300.00 (150.00)
// for 30 days. Its share of the 400.00 disputed, 120.00, is withheld by
// the reserve already: the dispute holds nothing of it now, and 120.00
// from the reserve's release on (April 3), so it is never withheld twice
// and never paid while disputed. The platform and the vendor hold 80.00
// and 200.00. Won on April 10, after the release, the 120.00 is released
// then.
func TestDisputeAmountBesideReserve(t *testing.T) {
	s, res := settledPartial(t, "50%")
	d, err := s.DisputeAmount(res.State, "L1", eur("400.00"), date("2026-03-10"))
	require.NoError(t, err)
	var now, later []settlement.Entry
	for _, e := range d.Entries {
		if e.Date.Equal(date("2026-03-10")) {
			now = append(now, e)
		} else {
			later = append(later, e)
		}
	}
	requireKind(t, now, settlement.KindHold, map[partner.ID]string{"platform": "80.00", "sub-utrecht": "200.00"})
	requireKind(t, later, settlement.KindHold, map[partner.ID]string{"reseller-nl": "120.00"})
	require.True(t, later[0].Date.Equal(date("2026-04-03")), later[0].Date)
	ll, _ := d.State.Line("L1")
	for _, p := range ll.Parts {
		if p.Party == "reseller-nl" {
			requireMoney(t, p.HeldByReserves, eur("120.00"))
			require.True(t, p.Held.IsZero())
		}
	}
	disputeRoundTrip(t, d.State)
	r, err := s.ResolveDispute(d.State, "L1", true, date("2026-04-10"))
	require.NoError(t, err)
	requireKind(t, r.Entries, settlement.KindRelease, map[partner.ID]string{"platform": "80.00", "reseller-nl": "120.00", "sub-utrecht": "200.00"})
	all := append(append(append([]settlement.Entry{}, res.Entries...), d.Entries...), r.Entries...)
	sts := statementsOf(t, all)
	requireMoney(t, sts["reseller-nl"].Closing, eur("300.00"))
	require.True(t, sts["reseller-nl"].Withheld.IsZero())
}

// On collection: L1 bills 100.00 + 19.00 tax under collectPlan (25.00 /
// 15.00 / 60.00). The customer pays 59.50 (half): 12.50 / 7.50 / 30.00
// still await payment. A dispute of 40.00 (shares 10.00 / 6.00 / 24.00)
// is all awaiting payment already: it holds nothing. One of 80.00 (shares
// 20.00 / 12.00 / 48.00) holds what exceeds the awaiting: 7.50 / 4.50 /
// 18.00 (30.00 = 80.00 less the 50.00 awaiting). The line takes no payment
// while disputed (ErrDisputed), as under Dispute.
func TestDisputeAmountOnCollection(t *testing.T) {
	s, _, st := settledCollect(t)
	c, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("59.50"), Invoice: "INV-7"})
	require.NoError(t, err)
	d, err := s.DisputeAmount(c.State, "L1", eur("40.00"), date("2026-03-22"))
	require.NoError(t, err)
	require.Empty(t, d.Entries)
	disputeRoundTrip(t, d.State)
	d, err = s.DisputeAmount(c.State, "L1", eur("80.00"), date("2026-03-22"))
	require.NoError(t, err)
	requireKind(t, d.Entries, settlement.KindHold, map[partner.ID]string{"platform": "7.50", "referral-ams": "4.50", "sub-utrecht": "18.00"})
	disputeRoundTrip(t, d.State)
	_, err = s.Collect(d.State, settlement.Collection{ID: "PAY-2", Date: date("2026-03-25"), Amount: eur("59.50"), Lines: []settlement.LineID{"L1"}})
	require.ErrorIs(t, err, settlement.ErrDisputed)
	r, err := s.ResolveDispute(d.State, "L1", false, date("2026-04-01"))
	require.NoError(t, err)
	requireKind(t, r.Entries, settlement.KindClawback, map[partner.ID]string{"platform": "-20.00", "referral-ams": "-12.00", "sub-utrecht": "-48.00"})
	disputeRoundTrip(t, r.State)
}

// Property: a dispute of all a line has unreversed is Dispute's (the same
// entries and state); a dispute of an amount holds, in all (its holds at
// the reserves' releases included), the amount less what awaits payment
// of each part's share of it, each part at most its share; the state
// reads back; won, it releases all it held; lost in full, it claws back
// each part's share (the amount in all) and every party keeps the rest.
// Lines on settlement (the reseller's leaf reserve drawn) and on
// collection (part of the invoice paid first).
func TestPropertyDisputeAmount(t *testing.T) {
	net := loadNetwork(t)
	var onSettlement []*settlement.Settler
	for _, r := range []string{"", "10%", "50%", "100%"} {
		onSettlement = append(onSettlement, planSettler(t, partialPlan(r), net))
	}
	onCollection := planSettler(t, collectPlan, net)
	rapid.Check(t, func(t *rapid.T) {
		coll := rapid.Bool().Draw(t, "on collection")
		s := onCollection
		if !coll {
			s = rapid.SampledFrom(onSettlement).Draw(t, "plan")
		}
		l := chainLine("L1", "0", "2026-03-04")
		l.Amount = ensemble.MoneyFromMinor(rapid.Int64Range(1, 1_000_000).Draw(t, "amount"), eurCur)
		if coll {
			l.Invoice = "INV-1"
			l.Tax = ensemble.MoneyFromMinor(rapid.Int64Range(0, minorOf(l.Amount)/4).Draw(t, "tax"), eurCur)
		}
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		st := res.State
		if coll {
			total := minorOf(l.Amount) + minorOf(l.Tax)
			if paid := rapid.Int64Range(0, total).Draw(t, "paid"); paid > 0 {
				c, err := s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-03-06"), Amount: ensemble.MoneyFromMinor(paid, eurCur), Invoice: "INV-1"})
				require.NoError(t, err)
				st = c.State
			}
		}
		at := date("2026-03-04").AddDate(0, 0, rapid.IntRange(1, 60).Draw(t, "days"))
		left := minorOf(l.Amount)

		whole, err := s.DisputeAmount(st, "L1", l.Amount, at)
		require.NoError(t, err)
		plain, err := s.Dispute(st, "L1", at)
		require.NoError(t, err)
		jw, _ := json.Marshal(whole)
		jp, _ := json.Marshal(plain)
		require.Equal(t, string(jp), string(jw), "a dispute of all it has unreversed is Dispute's")

		amount := rapid.Int64Range(1, left).Draw(t, "disputed")
		d, err := s.DisputeAmount(st, "L1", ensemble.MoneyFromMinor(amount, eurCur), at)
		require.NoError(t, err)
		ll, _ := st.Line("L1")
		shares := make([]int64, len(ll.Parts))
		weights := make([]ensemble.Share, len(ll.Parts))
		for i, p := range ll.Parts {
			weights[i] = ensemble.Share{Key: string(p.Entry), Weight: ensemble.RatioFromInt(minorOf(p.Unreversed))}
		}
		require.NoError(t, ensemble.AllocateUnits(shares, amount, weights, ensemble.AllocateOptions{}))
		var want int64
		held := map[settlement.EntryID]int64{}
		for _, e := range d.Entries {
			require.Equal(t, settlement.KindHold, e.Kind)
			held[e.Reverses] += minorOf(e.Amount)
		}
		for i, p := range ll.Parts {
			withheld := min(shares[i], minorOf(p.Awaiting))
			want += shares[i] - withheld
			require.LessOrEqual(t, held[p.Entry], shares[i]-withheld, p.Entry)
		}
		requireMoney(t, sumEntries(d.Entries, settlement.KindHold), ensemble.MoneyFromMinor(want, eurCur),
			"the holds are the disputed amount less what awaits payment of the shares")
		js, err := json.Marshal(d.State)
		require.NoError(t, err)
		var back settlement.State
		require.NoError(t, json.Unmarshal(js, &back))
		b, err := d.State.MarshalBinary()
		require.NoError(t, err)
		require.NoError(t, back.UnmarshalBinary(b))

		won, err := s.ResolveDispute(d.State, "L1", true, at.AddDate(0, 0, 10))
		require.NoError(t, err)
		requireMoney(t, sumEntries(won.Entries, settlement.KindRelease), sumEntries(d.Entries, settlement.KindHold))
		lost, err := s.ResolveDispute(d.State, "L1", false, at.AddDate(0, 0, 10))
		require.NoError(t, err)
		back2 := map[settlement.EntryID]int64{}
		for _, e := range lost.Entries {
			if e.Kind == settlement.KindClawback {
				back2[e.Reverses] -= minorOf(e.Amount)
			}
		}
		if !coll { // (on collection, a line left owing nothing gives back what would await for ever too)
			for i, p := range ll.Parts {
				require.Equal(t, shares[i], back2[p.Entry], p.Entry)
			}
		}
		after, _ := lost.State.Line("L1")
		require.GreaterOrEqual(t, minorOf(after.Credited), amount)
	})
}

// TestBinaryVersion14StillReads: a version-14 state (testdata/state-v14,
// written by the library before disputes of an amount), whose open
// dispute of L1 under partialPlan("50%") holds all it has unreversed,
// reads as the JSON written with it, with no disputed amount: lost, it
// claws back all 1,000.00, as it would have; written again, it is the
// latest version (BinaryVersion), and a dispute of an amount of L2 reads back.
func TestBinaryVersion14StillReads(t *testing.T) {
	st := versionedState(t, 14)
	ll, _ := st.Line("L1")
	require.True(t, ll.Disputed)
	require.True(t, ll.DisputedAmount.IsZero())
	s := planSettler(t, partialPlan("50%"), loadNetwork(t))
	r, err := s.ResolveDispute(st, "L1", false, date("2026-04-10"))
	require.NoError(t, err)
	requireKind(t, r.Entries, settlement.KindClawback, map[partner.ID]string{"platform": "-200.00", "reseller-nl": "-300.00", "sub-utrecht": "-500.00"})
	d, err := s.DisputeAmount(st, "L2", eur("10.00"), date("2026-03-11"))
	require.NoError(t, err)
	b, err := d.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(settlement.BinaryVersion), b[1])
	var again settlement.State
	require.NoError(t, again.UnmarshalBinary(b))
	ll, _ = again.Line("L2")
	requireMoney(t, ll.DisputedAmount, eur("10.00"))
	ll, _ = again.Line("L1")
	require.True(t, ll.DisputedAmount.IsZero())
}

// A state whose disputed amount is edited is refused: on a line no
// dispute holds, of the whole basis or more, or holding more than it
// disputes.
func TestDisputedAmountDecodeRefusesEdits(t *testing.T) {
	s, res := settledPartial(t, "")
	d, err := s.DisputeAmount(res.State, "L1", eur("400.00"), date("2026-03-10"))
	require.NoError(t, err)
	js, err := json.Marshal(d.State)
	require.NoError(t, err)
	for _, edit := range []struct{ from, to string }{
		{`"disputed_amount":{"amount":"400.00","currency":"EUR"}`, `"disputed_amount":{"amount":"1000.00","currency":"EUR"}`},
		{`"disputed_amount":{"amount":"400.00","currency":"EUR"}`, `"disputed_amount":{"amount":"-1.00","currency":"EUR"}`},
		{`"disputed_amount":{"amount":"400.00","currency":"EUR"}`, `"disputed_amount":{"amount":"399.99","currency":"EUR"}`},
		{`"disputed":true,`, ``},
	} {
		bad := strings.Replace(string(js), edit.from, edit.to, 1)
		require.NotEqual(t, string(js), bad, edit.from)
		var back settlement.State
		err := json.Unmarshal([]byte(bad), &back)
		require.ErrorIs(t, err, settlement.ErrCorruptState, edit.to)
	}
}

// A dispute of part of a line whose bearer owed beyond its part
// (ShortfallBearerOwes): after anna bore an 800.00 credit of her 400.00
// part (-400.00 unreversed; refco 640.00, the firm 6,960.00: 7,200.00
// left), a dispute of 3,600.00 shares it as a lost dispute of it would
// reverse: anna gets back 3,600 × 400 / 7,200 = 200.00, and refco and the
// firm give back 3,800.00 in proportion, 320.00 and 3,480.00, which the
// dispute holds (anna's part holds nothing). Lost in full, those are
// clawed back and anna gets her 200.00.
func TestDisputeAmountOfALineItsBearerOwedBeyond(t *testing.T) {
	s, res := retainerSettled(t)
	c1, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-800.00", "2026-03-20",
		settlement.Bearer{Party: "anna", Shortfall: settlement.ShortfallBearerOwes})})
	require.NoError(t, err)
	d, err := s.DisputeAmount(c1.State, "L1", eur("3600.00"), date("2026-03-22"))
	require.NoError(t, err)
	requireKind(t, d.Entries, settlement.KindHold, map[partner.ID]string{"refco": "320.00", "firm": "3480.00"})
	disputeRoundTrip(t, d.State)
	r, err := s.ResolveDispute(d.State, "L1", false, date("2026-04-01"))
	require.NoError(t, err)
	requireKind(t, r.Entries, settlement.KindClawback, map[partner.ID]string{"anna": "200.00", "refco": "-320.00", "firm": "-3480.00"})
	requireKind(t, r.Entries, settlement.KindRelease, map[partner.ID]string{"refco": "320.00", "firm": "3480.00"})
}
