package settlement_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// coSellPlan is the natural plan for co-sold deals under a reseller chain:
// the platform takes 20%, a referrer its fee, and of the channel's rest
// the distributor and the reseller their rule's rates; the deal node pays
// what remains to the seller and its co-sellers by their weights.
const coSellPlan = `
id: cosell
version: 1
routes: [co_sell]
root:
  id: margin
  children:
    - {id: platform, party: platform, share: "20%"}
    - {id: referral, party: referrer, condition: has-referrer, share: {rule: referral-fee}}
    - id: channel
      share: remaining
      children:
        - {id: distributor, party: distributor, share: {rule: distributor-share}}
        - {id: reseller, party: reseller, share: {rule: reseller-share}}
        - {id: deal, party: co_sellers, share: remaining}
`

// coSellLine is a EUR 999.99 line sold by sub-utrecht (a sub-reseller
// under reseller-nl under distri-eu), referred by referral-ams, with
// co-sellers, on day.
func coSellLine(day string, sellerWeight string, co ...partner.CoSeller) settlement.Line {
	l := settlement.Line{ID: "L1", Date: date(day), Amount: eur("999.99"), Offer: catalog.Pin{Offer: "suite", Version: 1},
		Route: partner.Route{Kind: partner.RouteCoSell, Seller: "sub-utrecht",
			Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}, Referrer: "referral-ams", CoSellers: co}}
	if sellerWeight != "" {
		l.Route.SellerWeight = ensemble.MustRatio(sellerWeight)
	}
	return l
}

// A co-sold deal's split covers the seller and its co-sellers together,
// by the weights on the route. Every case settles EUR 999.99 through
// coSellPlan on a date when distri-eu is gold and reseller-nl is gold
// (not platinum):
//
//	margin 999.99 = 99,999 cents
//	  referral: min(5% × 999.99, 50) = 49.9995, rounded: 50.00 (a fixed amount, taken first)
//	  platform 20% and channel (remaining) 80% of 99,999: 19,999.8 and 79,999.2;
//	    floors 19,999 + 79,999 leave 1 cent, to the larger remainder (platform .8):
//	    platform 200.00, channel 800.00 - 0.01 - 50.00 = 749.99
//	  channel 749.99 = 74,999 cents: distributor 6% = 4,499.94, reseller 10% = 7,499.9,
//	    deal (remaining) 84% = 62,999.16; floors leave 2 cents, to .94 and .9:
//	    distributor 45.00, reseller 75.00, deal 629.99
//	  deal 629.99 = 62,999 cents, split by co-sell weight (below)
//
// So the platform, the referrer and the chain above the seller get 370.00
// in every case, and the cases differ only in the deal's 629.99.
func TestCoSellHandWorked(t *testing.T) {
	s := planSettler(t, coSellPlan, loadNetwork(t))
	w := ensemble.MustRatio
	tests := []struct {
		name string
		line settlement.Line
		deal map[partner.ID]string // the deal node's entries: amount, share
	}{
		// 62,999 × 70% = 44,099.3 and × 30% = 18,899.7: floors leave 1
		// cent, to dev-1's larger remainder (.7). Before co-sell covered
		// the seller, this natural plan paid dev-1 all 629.99 and the
		// reseller nothing.
		{"70/30 with a technology partner", coSellLine("2026-03-10", "0.7", partner.CoSeller{Partner: "dev-1", Weight: w("0.3")}),
			map[partner.ID]string{"sub-utrecht": "440.99 remaining, co-sell weight 70%", "dev-1": "189.00 remaining, co-sell weight 30%"}},
		// No weights on the route: the seller and dev-1 share equally,
		// 31,499.5 each; the cent left over goes to the smaller id on the
		// tie ("dev-1" < "sub-utrecht"), and each entry says the split was
		// equal for want of weights.
		{"no weights: an equal split", coSellLine("2026-03-10", "", partner.CoSeller{Partner: "dev-1"}),
			map[partner.ID]string{"sub-utrecht": "314.99 remaining, co-sell weight 50%, equal: no weights on the route",
				"dev-1": "315.00 remaining, co-sell weight 50%, equal: no weights on the route"}},
		// Thirds stay exact: 20,999.67 each; floors leave 2 cents, to the
		// two smaller ids on the three-way tie.
		{"thirds", coSellLine("2026-03-10", "1/3", partner.CoSeller{Partner: "dev-1", Weight: w("1/3")}, partner.CoSeller{Partner: "reseller-de", Weight: w("1/3")}),
			map[partner.ID]string{"dev-1": "210.00 remaining, co-sell weight 1/3 (≈33.33%)", "reseller-de": "210.00 remaining, co-sell weight 1/3 (≈33.33%)",
				"sub-utrecht": "209.99 remaining, co-sell weight 1/3 (≈33.33%)"}},
		// reseller-de is suspended from 2026-04-01: its 30% cannot be
		// paid, and the seller, the only party left, takes the deal; its
		// share says the weights it was paid by.
		{"a suspended co-seller", coSellLine("2026-04-10", "0.7", partner.CoSeller{Partner: "reseller-de", Weight: w("0.3")}),
			map[partner.ID]string{"sub-utrecht": "629.99 remaining, co-sell weight 70% of 70% payable"}},
		// A suspended co-seller of weight zero leaves nothing to share:
		// the seller's weight is still the whole.
		{"a suspended co-seller of no weight", coSellLine("2026-04-10", "1", partner.CoSeller{Partner: "reseller-de"}),
			map[partner.ID]string{"sub-utrecht": "629.99 remaining, co-sell weight 100%"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{tt.line})
			require.NoError(t, err)
			got := map[partner.ID]string{}
			for _, e := range res.Entries {
				if e.Node == "margin/channel/deal" {
					require.Equal(t, "co_sellers", e.Role)
					require.Equal(t, settlement.EntryID("L1:margin/channel/deal/"+string(e.Party)), e.ID)
					got[e.Party] = strings.TrimPrefix(e.Amount.String(), "EUR ") + " " + e.Share
				}
			}
			require.Equal(t, tt.deal, got)
			others := byParty(res.Entries)
			for p, want := range map[partner.ID]string{"platform": "200.00", "referral-ams": "50.00", "distri-eu": "45.00", "reseller-nl": "75.00"} {
				requireMoney(t, others[p], eur(want), p)
			}
			requireMoney(t, sumEntries(res.Entries), eur("999.99"), "the line's entries add up to it")
		})
	}
}

// Explain's tree shows the weight each co-seller was paid by.
func TestCoSellExplain(t *testing.T) {
	s := planSettler(t, coSellPlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{coSellLine("2026-03-10", "0.7", partner.CoSeller{Partner: "dev-1", Weight: ensemble.MustRatio("0.3")})})
	require.NoError(t, err)
	tree, err := settlement.Explain("L1", res.Entries)
	require.NoError(t, err)
	require.Contains(t, tree, `
      └─ deal  EUR 629.99
           EUR 440.99 -> sub-utrecht (co_sellers), share remaining, co-sell weight 70%
           EUR 189.00 -> dev-1 (co_sellers), share remaining, co-sell weight 30%
`)
}

// A hand-filled line is checked as an order is: a party once on the route,
// the seller among its co-sellers neither (it was paid twice), weights
// summing to one whole. Each is refused with nothing settled, at the
// field's path.
func TestCoSellLineValidation(t *testing.T) {
	s := planSettler(t, coSellPlan, loadNetwork(t))
	w := ensemble.MustRatio
	for _, tt := range []struct {
		name  string
		line  settlement.Line
		path  string
		conds []error
	}{
		{"the seller among its co-sellers", coSellLine("2026-03-10", "0.5", partner.CoSeller{Partner: "sub-utrecht", Weight: w("0.5")}),
			"route.co_sellers[0].partner", []error{partner.ErrDuplicateParty}},
		{"a co-seller twice", coSellLine("2026-03-10", "0.4", partner.CoSeller{Partner: "dev-1", Weight: w("0.3")}, partner.CoSeller{Partner: "dev-1", Weight: w("0.3")}),
			"route.co_sellers[1].partner", []error{partner.ErrDuplicateParty}},
		{"weights short of one", coSellLine("2026-03-10", "0.7", partner.CoSeller{Partner: "dev-1", Weight: w("0.2")}),
			"route.co_sellers", []error{partner.ErrCoSellWeights}},
		{"relative weights", coSellLine("2026-03-10", "7", partner.CoSeller{Partner: "dev-1", Weight: w("3")}),
			"route.co_sellers", []error{partner.ErrCoSellWeights}},
		{"the seller's weight forgotten", coSellLine("2026-03-10", "", partner.CoSeller{Partner: "dev-1", Weight: w("0.3")}),
			"route.co_sellers", []error{partner.ErrCoSellWeights}},
		{"a negative weight", coSellLine("2026-03-10", "1.5", partner.CoSeller{Partner: "dev-1", Weight: w("-0.5")}),
			"route.co_sellers[0].weight", []error{partner.ErrCoSellWeights, ensemble.ErrNegativeWeight}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{tt.line})
			require.Empty(t, res.Entries)
			requireInvalidAt(t, err, "L1", tt.path)
			for _, c := range tt.conds {
				require.ErrorIs(t, err, c)
			}
		})
	}
	// Co-sellers need a seller: a route that names none is refused too.
	l := coSellLine("2026-03-10", "", partner.CoSeller{Partner: "dev-1", Weight: w("1")})
	l.Route.Seller, l.Route.Chain = "", nil
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	requireInvalidAt(t, err, "L1", "route.seller")
	require.ErrorIs(t, err, partner.ErrMissingParty)
}

// A co-seller the network does not know (a misspelled id on a hand-filled
// line) is an error naming it, as a misspelled referrer is: its share was
// paid to the seller without a word (a new user's trial: "shieldsoft-feild"
// at 30% left the reseller 800.00 of 1,000.00, not 560.00).
func TestCoSellUnknownCoSeller(t *testing.T) {
	s := planSettler(t, coSellPlan, loadNetwork(t))
	l := coSellLine("2026-03-10", "0.7", partner.CoSeller{Partner: "dev-l", Weight: ensemble.MustRatio("0.3")})
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.ErrorIs(t, err, partner.ErrUnknownPartner)
	require.ErrorContains(t, err, `"dev-l"`)
	require.Empty(t, res.Entries)
	var pe *partner.PartnerError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, partner.ID("dev-l"), pe.ID)
	// It names the line and the field, whatever the plan's nodes (see
	// TestRouteNamingAnUnknownPartnerIsRefusedWhateverThePlan).
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("L1"), le.Line)
	require.ErrorContains(t, err, "route.co_sellers[0].partner")
}

// For random weights summing to one, a co-sell node's entries add up to
// its amount and each party gets its weight's share by largest remainder
// (ties by partner id), a zero weight nothing; each entry names its weight.
func TestPropertyCoSellSplitsByWeight(t *testing.T) {
	s := planSettler(t, `{id: co, version: 1, routes: [co_sell], root: {id: root, children: [
  {id: platform, party: platform, share: "1/7"}, {id: co, party: co_sellers, share: remaining}]}}`, loadNetwork(t))
	// Partners that can trade on the line's date.
	trading := []partner.ID{"distri-eu", "reseller-nl", "reseller-de", "sub-utrecht", "referral-ams", "dev-1"}
	rapid.Check(t, func(t *rapid.T) {
		parties := rapid.Permutation(trading).Draw(t, "parties")[:rapid.IntRange(2, len(trading)).Draw(t, "n")]
		raw := make([]int64, len(parties))
		var sum int64
		for i := range raw {
			raw[i] = rapid.Int64Range(0, 9).Draw(t, fmt.Sprintf("weight%d", i))
			sum += raw[i]
		}
		if sum == 0 {
			raw[0], sum = 1, 1
		}
		weight := func(i int) ensemble.Ratio { r, _ := ensemble.NewRatio(raw[i], sum); return r }
		l := settlement.Line{ID: "L1", Date: date("2026-03-10"), Offer: catalog.Pin{Offer: "suite", Version: 1},
			Amount: ensemble.MoneyFromMinor(rapid.Int64Range(0, 10_000_000).Draw(t, "cents"), ensemble.MustCurrency("EUR")),
			Route:  partner.Route{Kind: partner.RouteCoSell, Seller: parties[0], Chain: parties[:1], SellerWeight: weight(0)}}
		for i, p := range parties[1:] {
			l.Route.CoSellers = append(l.Route.CoSellers, partner.CoSeller{Partner: p, Weight: weight(i + 1)})
		}
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)

		// The node's amount is what the platform left of the line.
		node := minorOf(l.Amount) - minorOf(byParty(res.Entries)["platform"])
		got := map[partner.ID]int64{}
		var total int64
		for _, e := range res.Entries {
			if e.Node != "root/co" {
				continue
			}
			i := slices.Index(parties, e.Party)
			require.GreaterOrEqual(t, i, 0, "entry %s pays a party of the split", e.ID)
			require.Equal(t, "remaining, co-sell weight "+pct(weight(i)), e.Share)
			got[e.Party] = minorOf(e.Amount)
			total += minorOf(e.Amount)
		}
		require.Equal(t, node, total, "the co-sell entries add up to the node")

		// Largest remainder, worked out here: each party's floor of
		// node × weight, then the cents left one each to the largest
		// remainders, ties to the smaller partner id.
		want := make([]int64, len(parties))
		rems := make([]int64, len(parties))
		left := node
		for i := range parties {
			want[i], rems[i] = node*raw[i]/sum, node*raw[i]%sum
			left -= want[i]
		}
		order := make([]int, len(parties))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int {
			return cmp.Or(cmp.Compare(rems[b], rems[a]), strings.Compare(string(parties[a]), string(parties[b])))
		})
		for _, i := range order[:left] {
			want[i]++
		}
		for i, p := range parties {
			require.Equal(t, want[i], got[p], "party %s of weight %s", p, weight(i))
		}
	})
}

// TestCoSellFallbackToPlatform: a co_sellers leaf whose fallback is the
// platform pays the platform the weight of a party that cannot trade,
// instead of sharing it among the others (a new user's trial: a 60/40
// co-sell with a suspended co-seller paid the other all 20% of the margin).
// On 2026-04-10 reseller-de is suspended: of the deal's 629.99 (as
// TestCoSellHandWorked), the seller's 70% is 440.99 and reseller-de's 30%,
// 189.00, goes to the platform, with a note naming it. A chain[*] leaf
// does the same with a level that cannot trade.
func TestCoSellFallbackToPlatform(t *testing.T) {
	plan := strings.Replace(coSellPlan, "{id: deal, party: co_sellers, share: remaining}",
		"{id: deal, party: co_sellers, share: remaining, fallback: platform}", 1)
	s := planSettler(t, plan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		coSellLine("2026-04-10", "0.7", partner.CoSeller{Partner: "reseller-de", Weight: ensemble.MustRatio("0.3")})})
	require.NoError(t, err)
	got := map[settlement.EntryID]string{}
	for _, e := range res.Entries {
		if e.Node == "margin/channel/deal" {
			got[e.ID] = fmt.Sprintf("%s %s %s: %s", e.Party, e.Amount.AmountString(), e.Share, e.Note)
		}
	}
	require.Equal(t, map[settlement.EntryID]string{
		"L1:margin/channel/deal/sub-utrecht": "sub-utrecht 440.99 remaining, co-sell weight 70%: ",
		"L1:margin/channel/deal":             "platform 189.00 remaining, co-sell weight 30%: fallback to platform: partner reseller-de cannot trade (suspended)",
	}, got)
	requireMoney(t, sumEntries(res.Entries), eur("999.99"), "the line's entries add up to it")
	// The state reads back, and a full credit nets every party to zero.
	var back settlement.State
	require.NoError(t, back.UnmarshalJSON(mustJSON(t, res.State)))
	cr, err := s.Settle(ctx, back, []settlement.Line{credit("C1", "L1", "-999.99", "2026-04-20")})
	require.NoError(t, err)
	for p, m := range byParty(append(res.Entries, cr.Entries...)) {
		require.True(t, m.IsZero(), "%s keeps %s", p, m)
	}

	chainPlan := `
id: levels
version: 1
root:
  id: root
  children:
    - {id: platform, party: platform, share: "50%"}
    - {id: levels, party: "chain[*]", share: remaining, fallback: platform}
`
	s = planSettler(t, chainPlan, loadNetwork(t))
	l := settlement.Line{ID: "L2", Date: date("2026-04-10"), Amount: eur("90.00"), Offer: catalog.Pin{Offer: "suite", Version: 1},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "reseller-de", Chain: []partner.ID{"reseller-de", "distri-eu"}}}
	res, err = s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	byP := byParty(res.Entries)
	requireMoney(t, byP["distri-eu"], eur("22.50"), "distri-eu: its half of the levels' 45.00")
	requireMoney(t, byP["platform"], eur("67.50"), "the platform: 45.00, and reseller-de's 22.50")
	_, suspended := byP["reseller-de"]
	require.False(t, suspended)
}
