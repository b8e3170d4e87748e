package settlement_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
	"github.com/ensemble-commerce/ensemble/usage"
)

// TestFromInvoiceUsageSplitAtUpgrade: a month's usage billed per piece
// around an upgrade (invoice.SplitAtChange) becomes one settlement line per
// piece, each on its own offer, so partners are paid on what each offer
// billed: 800 GB on Standard (52.00), 400 GB on Pro (0.00, included).
func TestFromInvoiceUsageSplitAtUpgrade(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - id: standard
    version: 1
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: gb, type: usage, meter: gb, price: {model: graduated, tiers: [{up_to: 500, unit_amount: "0.05"}, {unit_amount: "0.09"}]}}
  - id: pro
    version: 1
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: gb, type: usage, meter: gb, price: {model: graduated, tiers: [{up_to: 1000, unit_amount: "0"}, {unit_amount: "0.08"}]}}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	apr1, apr15, may1 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	sub := invoice.Subscription{ID: "sub-1", Customer: invoice.Customer{ID: "acme", TaxExempt: true}, Currency: ensemble.MustCurrency("EUR"), Anchor: apr1,
		Items: []invoice.Item{{ID: "l1", Segments: []invoice.Segment{
			{Start: apr1, End: apr15, Pin: catalog.Pin{Offer: "standard", Version: 1}, Quantity: decimal.NewFromInt(1)},
			{Start: apr15, Pin: catalog.Pin{Offer: "pro", Version: 1}, Quantity: decimal.NewFromInt(1)},
		}}}}
	lines, err := b.UsageLines(may1, sub)
	require.NoError(t, err)
	rep, err := usage.Collect(usage.Config{Meters: []usage.Meter{{ID: "gb", Aggregation: usage.Sum}}, Lines: lines}, slices.Values([]usage.Record{
		{ID: "r1", Line: "sub-1/l1", Meter: "gb", At: apr1.AddDate(0, 0, 3), Quantity: decimal.NewFromInt(800)},
		{ID: "r2", Line: "sub-1/l1", Meter: "gb", At: apr15.AddDate(0, 0, 3), Quantity: decimal.NewFromInt(400)},
	}))
	require.NoError(t, err)
	invs, err := b.Build(invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, []invoice.Subscription{sub})
	require.NoError(t, err)
	inv, err := invoice.Issue(invs[0], may1)
	require.NoError(t, err)
	o := order.Order{ID: "ord-1", Customer: order.Customer{ID: "acme", Country: "NL"},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl"}}}
	got, err := settlement.FromInvoice(inv.Lines, o)
	require.NoError(t, err)
	require.Len(t, got, 2)
	for i, want := range []struct {
		offer  catalog.OfferID
		amount string
		qty    int64
	}{{"standard", "52.00", 800}, {"pro", "0.00", 400}} {
		require.Equal(t, want.offer, got[i].Offer.Offer)
		require.Equal(t, want.amount, got[i].Amount.AmountString())
		require.True(t, decimal.NewFromInt(want.qty).Equal(got[i].Quantity))
		require.Equal(t, string(inv.Lines[i].ID), got[i].Trace[0].ID)
		require.Contains(t, got[i].Trace, rep.Aggregates[i].Ref())
	}
}
