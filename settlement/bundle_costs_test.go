package settlement_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestBundleCostsPerCharge settles the invoice: a bundle with a
// EUR 500.00 one-time onboarding fee and a EUR 249.99 monthly charge, whose
// backup supplier is owed 55%. Settlement pays the supplier what the
// invoice line says, before the plan splits the margin 70/30 between the
// platform and the seller. By default the fee pays the supplier nothing
// (before, EUR 275.00 of it): the platform gets 350.00 and the seller
// 150.00; the month pays it 137.49 (55% of 249.99 = 137.4945, the cent left
// by the floors going to the margin's larger remainder), and the margin of
// 112.50 splits 78.75 / 33.75. With applies_to: all, the fee pays it 275.00
// and its margin of 225.00 splits 157.50 / 67.50. Every line's entries add
// up to its net.
func TestBundleCostsPerCharge(t *testing.T) {
	tests := []struct {
		name, appliesTo string
		fee, month      map[partner.ID]string
	}{
		{"default: recurring and usage", "",
			map[partner.ID]string{"platform": "350.00", "sub-utrecht": "150.00"},
			map[partner.ID]string{"supplier-backup": "137.49", "platform": "78.75", "sub-utrecht": "33.75"}},
		{"all: the fee too", ", applies_to: all",
			map[partner.ID]string{"supplier-backup": "275.00", "platform": "157.50", "sub-utrecht": "67.50"},
			map[partner.ID]string{"supplier-backup": "137.49", "platform": "78.75", "sub-utrecht": "33.75"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cat, err := catalog.LoadYAML([]byte(strings.Replace(`
offers:
  - {id: backup, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: secure-backup
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: onboarding, type: one_time, price: {model: flat, amount: "500.00"}}
      - {id: monthly, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "249.99"}}
    components:
      - {offer: backup, supplier: supplier-backup, cost: {ratio: "55%"SCOPE}}
`, "SCOPE", tc.appliesTo, 1)))
			require.NoError(t, err)
			b, err := invoice.NewBuilder(cat, invoice.Options{})
			require.NoError(t, err)
			at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			s := invoice.Subscription{ID: "sub-1", Customer: invoice.Customer{ID: "acme", Region: "NL"}, Currency: eur("0").Currency(), Anchor: at,
				Items: []invoice.Item{{ID: "l1", Segments: []invoice.Segment{{Start: at, Pin: catalog.Pin{Offer: "secure-backup", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
			invs, err := b.Build(invoice.Run{At: at}, []invoice.Subscription{s})
			require.NoError(t, err)
			require.Len(t, invs, 1)
			o := order.Order{ID: "ord-1", Customer: order.Customer{ID: "acme", Country: "NL"},
				Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}}
			lines, err := settlement.FromInvoice(invs[0].Lines, o)
			require.NoError(t, err)
			res, err := newSettler(t).Settle(ctx, settlement.State{}, lines)
			require.NoError(t, err)
			for _, l := range lines {
				want := tc.month
				if l.Charge == "onboarding" {
					want = tc.fee
				}
				var mine []settlement.Entry
				for _, e := range res.Entries {
					if e.Line == l.ID {
						mine = append(mine, e)
					}
				}
				got := byParty(mine, settlement.KindEarning, settlement.KindSupplierCost)
				require.Len(t, got, len(want), "%s: %v", l.Charge, got)
				for p, w := range want {
					requireMoney(t, got[p], eur(w), "%s: %s", l.Charge, p)
				}
				requireMoney(t, sumEntries(mine, settlement.KindEarning, settlement.KindSupplierCost), l.Amount, "%s: the entries add up to the net", l.Charge)
				if l.Charge == "onboarding" {
					// A one-time fee is delivered at an instant: its
					// service period is empty, [Mar 1, Mar 1), and valid.
					for _, e := range mine {
						require.True(t, e.Service.Start.Equal(at) && e.Service.End.Equal(at), "entry %s: %v", e.ID, e.Service)
					}
				}
			}
		})
	}
}

// A settler given its suppliers (Config.Suppliers) refuses a sale whose
// supplier costs name another, such as a supplier id the catalog misspells
// (a new user's trial paid "secvendr" USD 37.90 that no one would pay
// out), with ErrUnknownSupplier naming the line and the cost; given none,
// it pays any supplier, as before.
func TestUnknownSupplierRefused(t *testing.T) {
	plans, err := settlement.ParsePlans([]byte(bundlePlan))
	require.NoError(t, err)
	cfg := settlement.Config{Plans: plans, Network: loadNetwork(t), Suppliers: []partner.ID{"gpuco", "storeco"}}
	s, err := settlement.New(cfg)
	require.NoError(t, err)
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{bundleLine("L1")})
	require.NoError(t, err, "both suppliers known")

	typo := bundleLine("L2")
	typo.SupplierCosts[1].Supplier = "storco"
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{bundleLine("L1"), typo})
	require.ErrorIs(t, err, settlement.ErrUnknownSupplier)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("L2"), le.Line)
	require.Contains(t, err.Error(), `supplier_costs[1].supplier`)
	require.Contains(t, err.Error(), `"storco"`)
	res, err := s.SettleWhatYouCan(ctx, settlement.State{}, []settlement.Line{bundleLine("L1"), typo})
	require.NoError(t, err)
	require.Len(t, res.Rejections, 1, "the line is rejected alone")
	require.ErrorIs(t, res.Rejections[0].Err, settlement.ErrUnknownSupplier)

	cfg.Suppliers = nil
	any, err := settlement.New(cfg)
	require.NoError(t, err)
	_, err = any.Settle(ctx, settlement.State{}, []settlement.Line{typo})
	require.NoError(t, err, "no suppliers given: any is paid")

	cfg.Suppliers = []partner.ID{"gpuco", "bad#id"}
	_, err = settlement.New(cfg)
	require.ErrorContains(t, err, "suppliers[1]")
}
