package settlement_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

func TestCapsFloorsAndFixedAmounts(t *testing.T) {
	plan := `{id: p, version: 1, currencies: [EUR], root: {id: root, children: [
		{id: fee, party: platform, share: {amount: {amount: "1.50", currency: EUR}}, fallback: platform},
		{id: ref, party: referrer, share: "10%", cap: {amount: "5.00", currency: EUR}},
		{id: plat, party: platform, share: "10%", floor: {amount: "2.00", currency: EUR}, fallback: platform},
		{id: seller, party: seller, share: remaining}]}}`
	s := planSettler(t, plan, loadNetwork(t))
	tests := []struct {
		amount string
		want   map[partner.ID]string
		note   string // the seller's: what the caps and floors moved to or from it
		err    error
	}{
		// 1.50 fixed; ref 10% = 10.00 capped at 5.00; platform 10% = 10.00; seller the rest.
		{"100.00", map[partner.ID]string{"platform": "11.50", "referral-ams": "5.00", "sub-utrecht": "83.50"}, "includes EUR 5.00 above the cap of ref", nil},
		// ref 10% = 3.00 under the cap; platform 10% = 3.00 above the floor.
		{"30.00", map[partner.ID]string{"platform": "4.50", "referral-ams": "3.00", "sub-utrecht": "22.50"}, "", nil},
		// ref 1.00; platform 10% = 1.00 raised to the 2.00 floor.
		{"10.00", map[partner.ID]string{"platform": "3.50", "referral-ams": "1.00", "sub-utrecht": "5.50"}, "less EUR 1.00 to meet the floor of plat", nil},
		// 1.50 fixed + 2.00 floor exceed 3.00.
		{"3.00", nil, "", settlement.ErrOverAllocation},
		// the fixed amount alone exceeds 1.00.
		{"1.00", nil, "", settlement.ErrOverAllocation},
	}
	for _, tc := range tests {
		t.Run(tc.amount, func(t *testing.T) {
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", tc.amount, "2026-03-01")})
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				if tc.amount == "1.00" {
					require.ErrorContains(t, err, "fixed amounts and amount rules' results come to EUR 1.50 with this child's EUR 1.50, more than the EUR 1.00 node")
				}
				return
			}
			require.NoError(t, err)
			got := byParty(res.Entries)
			require.Len(t, got, len(tc.want), "%v", got)
			for p, w := range tc.want {
				requireMoney(t, got[p], eur(w), p)
			}
			for _, e := range res.Entries {
				if e.Party == "sub-utrecht" {
					require.Equal(t, tc.note, e.Note)
				}
			}
		})
	}
	usd := chainLine("L2", "10.00", "2026-03-01")
	usd.Amount = mustUSD("10.00")
	usd.Tax = mustUSD("0")
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{usd})
	require.ErrorIs(t, err, settlement.ErrNoPlan, "the plan settles EUR lines")
	// Its amounts are in EUR: a plan for lines in any currency, or in USD,
	// could split none of those, and is refused when loaded, not line by
	// line when settled (a new user's trial: it loaded, and USD lines
	// failed one by one).
	for _, currencies := range []string{"", "currencies: [EUR, USD], "} {
		docs, err := settlement.ParsePlans([]byte(strings.Replace(plan, "currencies: [EUR], ", currencies, 1)))
		require.NoError(t, err)
		_, err = settlement.New(settlement.Config{Plans: docs, Network: loadNetwork(t)})
		require.ErrorIs(t, err, settlement.ErrCurrency)
		for _, path := range []string{"root.children[0].share.amount", "root.children[1].cap", "root.children[2].floor"} {
			require.ErrorContains(t, err, path)
		}
	}
}

func TestNotYetPartnerFallsBack(t *testing.T) {
	s := newSettler(t)
	// 2025-04-01: sub-utrecht joins in June, reseller-nl (silver) in March.
	l := chainLine("L1", "100.00", "2025-04-01")
	l.Route.Referrer = ""
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	got := byParty(res.Entries)
	// platform 20 + the seller's remaining 67.20 (not a partner yet);
	// channel 80: distributor gold 6% = 4.80, reseller silver 10% = 8.00.
	for p, w := range map[partner.ID]string{"platform": "87.20", "distri-eu": "4.80", "reseller-nl": "8.00"} {
		requireMoney(t, got[p], eur(w), p)
	}
	var note string
	for _, e := range res.Entries {
		if e.Node == "root/channel/seller" {
			note = e.Note
		}
	}
	// The referral, which the route lacks, has a condition (has-referrer),
	// not evaluated without a referrer: the channel's leaves do not say
	// they took its share, which the contract may not have given.
	require.Equal(t, "fallback to platform: partner sub-utrecht is not a partner yet", note)
}

// TestCapMovesToAnInnerRemaining: what a cap moves to a remaining inner
// node is split below it, and every leaf below says so, prefixed with the
// inner node's id.
func TestCapMovesToAnInnerRemaining(t *testing.T) {
	plan := `{id: p, version: 1, currencies: [EUR], root: {id: root, children: [
		{id: plat, party: platform, share: "20%", cap: {amount: "10.00", currency: EUR}, fallback: platform},
		{id: channel, share: remaining, children: [
			{id: distributor, party: distributor, share: "10%"},
			{id: seller, party: seller, share: remaining}]}]}}`
	s := planSettler(t, plan, loadNetwork(t))
	l := chainLine("L1", "100.00", "2026-03-01")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	// platform 20.00 capped at 10.00; channel 80.00 + 10.00 = 90.00:
	// distributor 9.00, seller 81.00.
	got := byParty(res.Entries)
	for p, w := range map[partner.ID]string{"platform": "10.00", "distri-eu": "9.00", "sub-utrecht": "81.00"} {
		requireMoney(t, got[p], eur(w), p)
	}
	for _, e := range res.Entries {
		want := "channel includes EUR 10.00 above the cap of plat"
		if e.Party == "platform" {
			want = ""
			require.Equal(t, "20%, capped at EUR 10.00", e.Share)
		}
		require.Equal(t, want, e.Note, e.ID)
	}
}
