package settlement_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

func TestFromInvoice(t *testing.T) {
	o := order.Order{
		ID:       "ord-1",
		Customer: order.Customer{ID: "acme", Country: "NL"},
		Route: partner.Route{Kind: partner.RouteCoSell, Seller: "r1", Chain: []partner.ID{"r1", "d1"}, Referrer: "ref",
			CoSellers: []partner.CoSeller{{Partner: "r2", Weight: ensemble.MustRatio("1/3")}}},
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	lines := []invoice.Line{
		{ID: "inv-1/l1", Date: at, Pin: catalog.Pin{Offer: "suite", Version: 2}, Charge: "seats", Quantity: decimal.NewFromInt(3),
			Net: ensemble.MustMoney("90.00", "EUR"), Tax: ensemble.MustMoney("18.90", "EUR"),
			SupplierCosts: []catalog.SupplierCost{{Supplier: "s1", Offer: "backup", Component: ensemble.Ref{Kind: "bundle_component", ID: "suite/backup/s1", Version: "2"}, Cost: ensemble.MustMoney("10.00", "EUR")}},
			Refs:          []ensemble.Ref{{Kind: "offer", ID: "suite", Version: "2"}}},
		{ID: "inv-1/cn/1/l1", Date: at.AddDate(0, 0, 5), Pin: catalog.Pin{Offer: "suite", Version: 2}, Charge: "seats",
			Net: ensemble.MustMoney("-30.00", "EUR"), Tax: ensemble.MustMoney("-6.30", "EUR"), Credits: "inv-1/l1"},
	}
	got, err := settlement.FromInvoice(lines, o)
	require.NoError(t, err)
	require.Len(t, got, 2)

	first := got[0]
	require.Equal(t, settlement.LineID("inv-1/l1"), first.ID)
	require.True(t, first.Date.Equal(at))
	require.True(t, first.Amount.Equal(ensemble.MustMoney("90.00", "EUR")))
	require.True(t, first.Tax.Equal(ensemble.MustMoney("18.90", "EUR")))
	require.Equal(t, catalog.Pin{Offer: "suite", Version: 2}, first.Offer)
	require.Equal(t, catalog.ChargeID("seats"), first.Charge)
	require.True(t, first.Quantity.Equal(decimal.NewFromInt(3)))
	require.Equal(t, settlement.Customer{ID: "acme", Country: "NL"}, first.Customer)
	// The order's route is the line's, the same type with nothing
	// converted.
	require.Empty(t, cmp.Diff(o.Route, first.Route))
	require.Equal(t, partner.ID("r1"), first.Route.Seller)
	require.Len(t, first.SupplierCosts, 1)
	require.Equal(t, []ensemble.Ref{{Kind: invoice.RefLine, ID: "inv-1/l1"}, {Kind: "offer", ID: "suite", Version: "2"}}, first.Trace)
	require.Empty(t, first.Credits)
	require.Equal(t, settlement.LineID("inv-1/l1"), got[1].Credits, "a credit-note line credits the invoice line")

	// The route is a copy: changing the order afterwards moves nothing.
	o.Route.Chain[0] = "someone-else"
	require.Equal(t, partner.ID("r1"), first.Route.Chain[0])
}
