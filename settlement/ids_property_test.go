package settlement_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestIDsThatLoadUpstreamSettle: the library has one id grammar, so an id
// the partner network or the catalog accepts is accepted where settlement
// writes it into entry ids: a partner on a route, a bundle component's
// offer and supplier in a supplier cost. (A catalog with a supplier
// "acme#eu" used to load and fail at settlement.)
func TestIDsThatLoadUpstreamSettle(t *testing.T) {
	rs := loadRules(t)
	plans, err := settlement.ParsePlans([]byte("id: p\nversion: 1\nroot:\n  id: root\n  children:\n" +
		"    - {id: platform, party: platform, share: \"10%\"}\n    - {id: seller, party: seller, share: remaining}\n"))
	require.NoError(t, err)
	fixed, err := settlement.New(settlement.Config{Plans: plans, Rules: rs, Network: loadNetwork(t)})
	require.NoError(t, err)
	from := date("2026-01-01")
	rapid.Check(t, func(t *rapid.T) {
		id := rapid.StringOfN(rapid.SampledFrom([]rune("ab:#/@ é")), 1, 4, -1).Draw(t, "id")

		net, err := partner.NewNetwork(partner.NetworkSpec{Partners: []partner.Partner{
			{ID: partner.ID(id), Name: "P", Type: partner.TypeReseller, Terms: []partner.Terms{{From: from}}}}})
		if err == nil {
			s, err := settlement.New(settlement.Config{Plans: plans, Rules: rs, Network: net})
			require.NoError(t, err)
			l := chainLine("L1", "100.00", "2026-03-01")
			l.Route = partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{partner.ID(id)}}
			_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{l})
			require.NoError(t, err, "partner %q loads in a network", id)
		}

		base := catalog.Offer{ID: catalog.OfferID(id), Version: 1, Currency: "EUR", EffectiveFrom: from}
		bundle := catalog.Offer{ID: "b", Version: 1, Kind: catalog.Bundle, Currency: "EUR", EffectiveFrom: from,
			Charges: []catalog.Charge{{ID: "plan", Type: catalog.Recurring, Cadence: ensemble.Every(1, ensemble.Monthly), Timing: catalog.InAdvance,
				Price: catalog.Price{Model: catalog.Flat, Amount: decimal.NewFromInt(10)}}},
			Components: []catalog.Component{{Offer: catalog.OfferID(id), Supplier: id, Cost: catalog.WholesaleCost{Ratio: ensemble.MustRatio("1/3")}}}}
		cat, err := catalog.New(catalog.Document{Offers: []catalog.Offer{bundle, base}})
		if err == nil {
			pin := catalog.Pin{Offer: "b", Version: 1}
			costs, err := cat.SupplierCosts(pin, "plan", eur("100.00"), decimal.NewFromInt(1), catalog.CostOptions{})
			require.NoError(t, err)
			l := chainLine("L1", "100.00", "2026-03-01")
			l.Offer, l.Charge, l.SupplierCosts = pin, "plan", costs.Costs
			_, err = fixed.Settle(ctx, settlement.State{}, []settlement.Line{l})
			require.NoError(t, err, "offer and supplier %q load in a catalog", id)
		}
	})
}
