package settlement_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// routePartiesNetwork is the cosell trial's: an ISV selling on a
// hyperscaler's marketplace, co-sold by the hyperscaler's account teams
// (acct-west becomes a partner only in March).
const routePartiesNetwork = `
partners:
  - {id: isv-obs, name: ObserveCo, type: isv, terms: [{from: 2025-01-01T00:00:00Z}]}
  - {id: acct-east, name: Account team East, type: account_team, terms: [{from: 2025-01-01T00:00:00Z}]}
  - {id: acct-west, name: Account team West, type: account_team, terms: [{from: 2026-03-01T00:00:00Z}]}
  - {id: hyperscaler, name: Hyperscaler marketplace, type: marketplace, terms: [{from: 2025-01-01T00:00:00Z}]}
  - {id: agent-1, name: Referral agent, type: referral, terms: [{from: 2025-01-01T00:00:00Z}]}
`

// TestRouteNamingAnUnknownPartnerIsRefusedWhateverThePlan: the cosell trial
// (C1) paid the account team's 2% co-sell fee by a node naming the partner
// (party partner:acct-east), since a co_sellers node splits by the route's
// weights. A route whose co-seller was misspelt (acct-eats) settled without a
// word, USD 2,400.00 to acct-east and the sale recorded as co-sold by a
// partner that does not exist; so did a misspelt referrer or marketplace
// under a plan with no node for them. Under a plan with a co_sellers node the
// same route was refused. A route is the record of who took part in the sale,
// so each partner it names is checked against the network whatever the plan
// pays: ErrInvalidLine at the party's path, wrapping
// partner.ErrUnknownPartner, with the nearest id. A partner the network
// knows but who is not one yet at the line's date is a matter for the plan
// (its share falls back), as before.
func TestRouteNamingAnUnknownPartnerIsRefusedWhateverThePlan(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(routePartiesNetwork))
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(`
id: cosell-named
version: 1
routes: [co_sell]
root:
  id: root
  children:
    - {id: fee, party: platform, share: "3%"}
    - {id: east, party: "partner:acct-east", share: "2%"}
    - {id: isv, party: seller, share: remaining}
`))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Network: net})
	require.NoError(t, err)
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sale := func(r partner.Route) settlement.Line {
		r.Kind = partner.RouteCoSell
		r.Seller = "isv-obs"
		return settlement.Line{ID: "L1", Date: jan, Amount: ensemble.MustMoney("120000.00", "USD"), Tax: ensemble.MustMoney("0.00", "USD"),
			Offer: catalog.Pin{Offer: "observe", Version: 1}, Route: r}
	}
	for name, tc := range map[string]struct {
		route      partner.Route
		path, near string
	}{
		"co-seller":   {partner.Route{CoSellers: []partner.CoSeller{{Partner: "acct-eats"}}}, "route.co_sellers[0].partner", "acct-east"},
		"second":      {partner.Route{CoSellers: []partner.CoSeller{{Partner: "acct-east"}, {Partner: "acct-wset"}}}, "route.co_sellers[1].partner", "acct-west"},
		"referrer":    {partner.Route{Referrer: "agent-2x", CoSellers: []partner.CoSeller{{Partner: "acct-east"}}}, "route.referrer", ""},
		"marketplace": {partner.Route{Marketplace: "hyperscalr", CoSellers: []partner.CoSeller{{Partner: "acct-east"}}}, "route.marketplace", "hyperscaler"},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale(tc.route)})
			require.Error(t, err, "paid %v", res.Entries)
			require.True(t, errors.Is(err, settlement.ErrInvalidLine), err.Error())
			require.True(t, errors.Is(err, partner.ErrUnknownPartner), err.Error())
			var le *settlement.LineError
			require.True(t, errors.As(err, &le), err.Error())
			require.Equal(t, settlement.LineID("L1"), le.Line)
			require.ErrorContains(t, err, tc.path)
			if tc.near != "" {
				require.ErrorContains(t, err, `did you mean "`+tc.near+`"`)
			}
			require.Empty(t, res.Entries)
		})
	}

	// Partners the network knows settle as before, a co-seller not yet a
	// partner at the line's date included (the plan names acct-east).
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale(partner.Route{Referrer: "agent-1", Marketplace: "hyperscaler",
		CoSellers: []partner.CoSeller{{Partner: "acct-east"}, {Partner: "acct-west"}}})})
	require.NoError(t, err)
	got := map[partner.ID]string{}
	for _, e := range res.Entries {
		got[e.Party] = e.Amount.AmountString()
	}
	require.Equal(t, map[partner.ID]string{"platform": "3600.00", "acct-east": "2400.00", "isv-obs": "114000.00"}, got)

	// Without a network nothing can be checked: the route settles as given.
	bare, err := settlement.New(settlement.Config{Plans: plans})
	require.NoError(t, err)
	_, err = bare.Settle(context.Background(), settlement.State{}, []settlement.Line{sale(partner.Route{CoSellers: []partner.CoSeller{{Partner: "acct-eats"}}})})
	require.NoError(t, err)
}

// TestPropertyRouteNamesOnlyPartnersTheNetworkKnows: whatever co-sellers,
// referrer and marketplace a co-sold route names, from ids the network
// knows and misspelt ones, and whichever plan settles it (one paying the
// co_sellers party, one paying a named partner), the sale is refused with
// ErrInvalidLine and partner.ErrUnknownPartner exactly when the route names
// an id the network lacks, paying nothing, and settles otherwise.
func TestPropertyRouteNamesOnlyPartnersTheNetworkKnows(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(routePartiesNetwork))
	require.NoError(t, err)
	var settlers []*settlement.Settler
	for _, doc := range []string{`
id: cosell
version: 1
routes: [co_sell]
root: {id: root, children: [{id: fee, party: platform, share: "3%"}, {id: cosell, party: co_sellers, share: "2%"}, {id: isv, party: seller, share: remaining}]}
`, `
id: cosell-named
version: 1
routes: [co_sell]
root: {id: root, children: [{id: fee, party: platform, share: "3%"}, {id: east, party: "partner:acct-east", share: "2%"}, {id: isv, party: seller, share: remaining}]}
`} {
		plans, err := settlement.ParsePlans([]byte(doc))
		require.NoError(t, err)
		s, err := settlement.New(settlement.Config{Plans: plans, Network: net})
		require.NoError(t, err)
		settlers = append(settlers, s)
	}
	known := map[partner.ID]bool{"acct-east": true, "acct-west": true, "hyperscaler": true, "agent-1": true}
	rapid.Check(t, func(t *rapid.T) {
		pool := []partner.ID{"acct-east", "acct-west", "acct-eats", "hyperscaler", "hyperscalr", "agent-1", "agent-9"}
		r := partner.Route{Kind: partner.RouteCoSell, Seller: "isv-obs"}
		for _, id := range rapid.SliceOfNDistinct(rapid.SampledFrom(pool), 1, 3, rapid.ID[partner.ID]).Draw(t, "co_sellers") {
			r.CoSellers = append(r.CoSellers, partner.CoSeller{Partner: id})
		}
		r.Referrer = rapid.SampledFrom(append([]partner.ID{""}, pool...)).Draw(t, "referrer")
		r.Marketplace = rapid.SampledFrom(append([]partner.ID{""}, pool...)).Draw(t, "marketplace")
		unknown := false
		for _, id := range append([]partner.ID{r.Referrer, r.Marketplace}, func() []partner.ID {
			var ids []partner.ID
			for _, c := range r.CoSellers {
				ids = append(ids, c.Partner)
			}
			return ids
		}()...) {
			unknown = unknown || (id != "" && !known[id])
		}
		s := rapid.SampledFrom(settlers).Draw(t, "plan")
		l := settlement.Line{ID: "L1", Date: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Amount: ensemble.MustMoney("1000.00", "USD"),
			Tax: ensemble.MustMoney("0.00", "USD"), Offer: catalog.Pin{Offer: "observe", Version: 1}, Route: r}
		res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{l})
		if !unknown {
			require.NoError(t, err)
			return
		}
		require.Error(t, err)
		require.ErrorIs(t, err, settlement.ErrInvalidLine)
		require.ErrorIs(t, err, partner.ErrUnknownPartner)
		require.Empty(t, res.Entries)
	})
}

// TestCoSellFeePaidToTheCoSellersAlone: the cosell trial's ISV sells on the
// marketplace itself and pays the hyperscaler's account teams a 2% co-sell
// fee, split 60/40. A co_sellers node pays the seller too, by its weight: the
// route names the ISV the seller with weight zero beside its co-sellers'
// (a zero weight gets zero), so the fee goes to the co-sellers alone. With
// no weights at all the split is equal and the ISV would pay itself a third.
func TestCoSellFeePaidToTheCoSellersAlone(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(routePartiesNetwork))
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(`
id: cosell
version: 1
routes: [co_sell]
root: {id: root, children: [{id: fee, party: platform, share: "3%"}, {id: cosell, party: co_sellers, share: "2%"}, {id: isv, party: seller, share: remaining}]}
`))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Network: net})
	require.NoError(t, err)
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	paid := func(r partner.Route) map[string]string {
		l := settlement.Line{ID: "L1", Date: at, Amount: ensemble.MustMoney("120000.00", "USD"), Tax: ensemble.MustMoney("0.00", "USD"),
			Offer: catalog.Pin{Offer: "observe", Version: 1}, Route: r}
		res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		got := map[string]string{}
		for _, e := range res.Entries {
			got[e.Node+" "+string(e.Party)] = e.Amount.AmountString()
		}
		return got
	}
	require.Equal(t, map[string]string{"root/fee platform": "3600.00", "root/cosell acct-east": "1440.00", "root/cosell acct-west": "960.00",
		"root/isv isv-obs": "114000.00"}, paid(partner.Route{Kind: partner.RouteCoSell, Seller: "isv-obs", SellerWeight: ensemble.MustRatio("0"),
		CoSellers: []partner.CoSeller{{Partner: "acct-east", Weight: ensemble.MustRatio("0.6")}, {Partner: "acct-west", Weight: ensemble.MustRatio("0.4")}}}))
	require.Equal(t, map[string]string{"root/fee platform": "3600.00", "root/cosell isv-obs": "800.00", "root/cosell acct-east": "800.00",
		"root/cosell acct-west": "800.00", "root/isv isv-obs": "114000.00"}, paid(partner.Route{Kind: partner.RouteCoSell, Seller: "isv-obs",
		CoSellers: []partner.CoSeller{{Partner: "acct-east"}, {Partner: "acct-west"}}}))
}
