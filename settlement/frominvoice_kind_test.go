package settlement_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestFromInvoiceGivesAHandFilledRouteTheKindItsPartiesMake: the cosell
// trial (C2) billed its own subscriptions and passed FromInvoice the order as
// its godoc says, order.Order{Customer, Route}, with the route's parties and
// no kind, as an order.Draft is written (package order derives the kind
// from the parties). FromInvoice copied the kind-less route to every line,
// and Settle refused each ("route.kind: unspecified route kind"), far from
// the code that built the order and without saying which kind the parties
// make. FromInvoice now gives a route naming parties the kind package order
// derives for them (marketplace when it names a marketplace, else co_sell
// with co-sellers, else partner with a seller, else referral with a
// referrer); a kind given is kept. A route naming nobody keeps no kind, so
// an order whose route was forgotten (order.Order{}) is not settled as a
// direct sale paying the platform everything: Settle refuses it, saying so.
func TestFromInvoiceGivesAHandFilledRouteTheKindItsPartiesMake(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := invoice.Line{ID: "inv-1/l1", Date: jan, Customer: "initech", Pin: catalog.Pin{Offer: "observe", Version: 1},
		Charge: "commit", Net: ensemble.MustMoney("120000.00", "USD"), Tax: ensemble.MustMoney("0.00", "USD"),
		Period: ensemble.Period{Start: jan, End: jan.AddDate(1, 0, 0)}}
	customer := order.Customer{ID: "initech", Country: "US"}
	for name, tc := range map[string]struct {
		route partner.Route
		want  partner.RouteKind
	}{
		"co-sold":            {partner.Route{Seller: "isv-obs", CoSellers: []partner.CoSeller{{Partner: "acct-east"}}}, partner.RouteCoSell},
		"co-sold, chain":     {partner.Route{Chain: []partner.ID{"isv-obs"}, CoSellers: []partner.CoSeller{{Partner: "acct-east"}}}, partner.RouteCoSell},
		"through a partner":  {partner.Route{Seller: "cp-consult"}, partner.RoutePartner},
		"chain only":         {partner.Route{Chain: []partner.ID{"reseller-nl", "distri-eu"}}, partner.RoutePartner},
		"on a marketplace":   {partner.Route{Marketplace: "hyperscaler", Seller: "cp-consult"}, partner.RouteMarketplace},
		"referred":           {partner.Route{Referrer: "agent-1"}, partner.RouteReferral},
		"kind given is kept": {partner.Route{Kind: partner.RouteCoSell, Seller: "isv-obs", CoSellers: []partner.CoSeller{{Partner: "acct-east"}}}, partner.RouteCoSell},
		"direct, given":      {partner.Route{Kind: partner.RouteDirect}, partner.RouteDirect},
		"no party, no kind":  {partner.Route{}, partner.RouteUnspecified},
	} {
		t.Run(name, func(t *testing.T) {
			o := order.Order{Customer: customer, Route: tc.route}
			got, err := settlement.FromInvoice([]invoice.Line{line}, o)
			require.NoError(t, err)
			require.Equal(t, tc.want, got[0].Route.Kind)
			got, err = settlement.FromInvoiceWith([]invoice.Line{line}, o, settlement.InvoiceOptions{})
			require.NoError(t, err)
			require.Equal(t, tc.want, got[0].Route.Kind)
			require.Equal(t, tc.route.Kind, o.Route.Kind, "the caller's order is not changed")
		})
	}

	// The trial's co-sold deal settles as package order would have recorded it.
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
	lines, err := settlement.FromInvoice([]invoice.Line{line}, order.Order{Customer: customer, Route: partner.Route{Seller: "isv-obs",
		SellerWeight: ensemble.MustRatio("0"), CoSellers: []partner.CoSeller{{Partner: "acct-east", Weight: ensemble.MustRatio("1")}}}})
	require.NoError(t, err)
	res, err := s.Settle(context.Background(), settlement.State{}, lines)
	require.NoError(t, err)
	paid := map[partner.ID]string{}
	for _, e := range res.Entries {
		paid[e.Party] = e.Amount.AmountString()
	}
	require.Equal(t, map[partner.ID]string{"platform": "3600.00", "acct-east": "2400.00", "isv-obs": "114000.00"}, paid)

	// A route naming nobody, with no kind, is refused at Settle, saying what to give.
	lines, err = settlement.FromInvoice([]invoice.Line{line}, order.Order{Customer: customer})
	require.NoError(t, err)
	_, err = s.Settle(context.Background(), settlement.State{}, lines)
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	require.ErrorContains(t, err, "route.kind: unspecified route kind: the route names no party")
}

// TestPropertyFromInvoiceKindIsTheOrdersKind: whatever parties a route
// names, a hand-filled order's route gets from FromInvoice the kind package
// order records for a draft with that route, wherever package order accepts
// the draft.
func TestPropertyFromInvoiceKindIsTheOrdersKind(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: observe, version: 1, name: Observe, currency: USD, effective_from: 2025-01-01T00:00:00Z,
     charges: [{id: commit, name: Commit, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "10.00"}}]}
`))
	require.NoError(t, err)
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := invoice.Line{ID: "inv-1/l1", Date: jan, Customer: "c1", Pin: catalog.Pin{Offer: "observe", Version: 1},
		Charge: "commit", Net: ensemble.MustMoney("10.00", "USD"), Tax: ensemble.MustMoney("0.00", "USD"),
		Period: ensemble.Period{Start: jan, End: jan.AddDate(0, 1, 0)}}
	rapid.Check(t, func(t *rapid.T) {
		pick := func(label string) partner.ID {
			return rapid.SampledFrom([]partner.ID{"", "isv-obs", "acct-east", "hyperscaler", "agent-1"}).Draw(t, label)
		}
		r := partner.Route{Seller: pick("seller"), Referrer: pick("referrer"), Marketplace: pick("marketplace")}
		for _, id := range rapid.SliceOfNDistinct(rapid.SampledFrom([]partner.ID{"acct-east", "acct-west"}), 0, 2, rapid.ID[partner.ID]).Draw(t, "co_sellers") {
			r.CoSellers = append(r.CoSellers, partner.CoSeller{Partner: id})
		}
		customer := order.Customer{ID: "c1", Country: "US"}
		o, _, err := order.Order{}.Decide(context.Background(), order.Context{Catalog: cat}, order.Command{Kind: order.CmdCreate, Order: "o1",
			Draft: &order.Draft{Customer: customer, Route: r, Lines: []order.Line{{ID: "l", Pin: catalog.Pin{Offer: "observe"}, Quantity: decimal.NewFromInt(1)}}}}, jan)
		if err != nil {
			t.Skip("package order refuses the draft:", err)
		}
		got, err := settlement.FromInvoice([]invoice.Line{line}, order.Order{Customer: customer, Route: r})
		require.NoError(t, err)
		if r.Seller == "" && r.Referrer == "" && r.Marketplace == "" && len(r.CoSellers) == 0 {
			// Package order records a direct sale; a hand-filled route naming
			// nobody keeps no kind (Settle asks for one).
			require.Equal(t, partner.RouteDirect, o.Route.Kind)
			require.Equal(t, partner.RouteUnspecified, got[0].Route.Kind)
			return
		}
		require.Equal(t, o.Route.Kind, got[0].Route.Kind, "route %+v", r)
	})
}
