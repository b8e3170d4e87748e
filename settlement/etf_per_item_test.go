package settlement_test

import (
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
)

// An order of a software licence (offer licence, CAD 6.00 a device a
// month) and an XDR add-on sold as an offer of its own (offer xdr, CAD 4.00
// a device a month), 200 devices each, under the order's 36-month term with
// a fee of 50% of the remaining value, cancelled after 10 months: 26 months
// left. The fee is one line per item, its share of the remaining value,
// each attributed to its item's offer: 0.5 × 26 × 1,200 = 15,600.00 for the
// licence and 0.5 × 26 × 800 = 10,400.00 for the add-on. Settled, each line
// is split by its own offer's plan: the seller earns 22% of the licence's
// share and 90% of the add-on's. Before, the whole fee (26,000.00) was one
// line attributed to the licence (the first item by ID), which paid the
// seller 22% of the add-on's share as well.
func TestOrderTermFeeIsSplitPerItemAndSettledByEachPlan(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - id: licence
    version: 1
    name: Endpoint licence
    currency: CAD
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: devices, name: Devices, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "6.00"}}
  - id: xdr
    version: 1
    name: XDR add-on
    currency: CAD
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: devices, name: Devices, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "4.00"}}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	start, stop := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	licence, xdr := catalog.Pin{Offer: "licence", Version: 1}, catalog.Pin{Offer: "xdr", Version: 1}
	devices := decimal.NewFromInt(200)
	s := invoice.Subscription{
		ID: "ord-1", Customer: invoice.Customer{ID: "acme", Region: "CA"}, Currency: ensemble.MustCurrency("CAD"), Anchor: start, CancelAt: stop,
		Items: []invoice.Item{
			{ID: "licence", Segments: []invoice.Segment{{Start: start, End: stop, Pin: licence, Quantity: devices}}},
			{ID: "xdr", Segments: []invoice.Segment{{Start: start, End: stop, Pin: xdr, Quantity: devices}}},
		},
		Term: invoice.Term{Length: ensemble.Every(36, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{
			Rule: invoice.TerminationRemaining, Percent: ensemble.MustRatio("50%")}},
	}
	invs, err := b.Build(invoice.Run{After: time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC), At: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)}, []invoice.Subscription{s})
	require.NoError(t, err)
	require.Len(t, invs, 1)
	var fees []invoice.Line
	for _, l := range invs[0].Lines {
		if l.Kind == invoice.KindEarlyTermination {
			fees = append(fees, l)
		}
	}
	require.Len(t, fees, 2, "one fee line per item")
	for k, want := range []struct {
		item   invoice.ItemID
		pin    catalog.Pin
		amount string
	}{{"licence", licence, "15600.00"}, {"xdr", xdr, "10400.00"}} {
		require.Equal(t, want.item, fees[k].Item)
		require.Equal(t, want.pin, fees[k].Pin)
		require.True(t, ensemble.MustMoney(want.amount, "CAD").Equal(fees[k].Amount), "%s: %s", want.item, fees[k].Amount)
	}

	plans := `
- {id: licences, version: 1, offers: [licence], root: {id: root, children: [{id: seller, party: seller, share: "22%"}, {id: vendor, party: platform, share: remaining}]}}
- {id: addons, version: 1, offers: [xdr], root: {id: root, children: [{id: seller, party: seller, share: "90%"}, {id: vendor, party: platform, share: remaining}]}}
`
	settler := planSettler(t, plans, loadNetwork(t))
	o := order.Order{ID: "ord-1", Customer: order.Customer{ID: "acme", Country: "CA"},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}}
	lines, err := settlement.FromInvoice(fees, o)
	require.NoError(t, err)
	for k, want := range []string{"3432.00", "9360.00"} { // 22% of 15,600.00; 90% of 10,400.00
		res, err := settler.Settle(ctx, settlement.State{}, lines[k:k+1])
		require.NoError(t, err)
		require.True(t, ensemble.MustMoney(want, "CAD").Equal(feeSumOf(res.Entries, "sub-utrecht")), "line %s: the seller earns %s", lines[k].ID, feeSumOf(res.Entries, "sub-utrecht"))
	}
}
