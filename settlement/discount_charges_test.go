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
	"github.com/ensemble-commerce/ensemble/usage"
)

// TestFundedDiscountLimitedToUsage is a marketplace's trial end to end: an
// offer with a 500.00 onboarding fee, a 200.00 monthly platform fee and
// usage at 0.10 an event, sold by reseller-nl, with "15% off usage"
// (invoice.Discount.Charges) that the vendor funds; the reseller earns 20%
// of the list price. June 1 bills the fees undiscounted, July 1 June's
// 4,000 events (400.00) less 60.00 and July's platform fee. FromInvoice
// carries the 60.00 on the usage line alone, and the reseller gets 20% of
// each list price: 100.00 and 40.00 of the fees, 80.00 of the usage (not
// 68.00, 20% of the 340.00 billed), the vendor the rest less the 60.00 it
// funds: 400.00, 160.00, 260.00 and 160.00. The trial had to put the
// onboarding in its own offer and order line for the discount to miss it.
func TestFundedDiscountLimitedToUsage(t *testing.T) {
	d := func(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC) }
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - id: trialbox
    version: 1
    name: Trialbox
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: onboarding, name: Onboarding, type: one_time, price: {model: flat, amount: "500.00"}}
      - {id: platform, name: Platform, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "200.00"}}
      - {id: events, name: Events, type: usage, meter: events, cadence: {unit: monthly}, price: {model: per_unit, amount: "0.10"}}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	sub := invoice.Subscription{ID: "mkt", Customer: invoice.Customer{ID: "acme", Region: "NL", TaxExempt: true}, Currency: ensemble.MustCurrency("EUR"), Anchor: d(6),
		Items:     []invoice.Item{{ID: "box", Segments: []invoice.Segment{{Start: d(6), Pin: catalog.Pin{Offer: "trialbox", Version: 1}, Quantity: decimal.NewFromInt(1)}}}},
		Discounts: []invoice.Discount{{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}}}}
	jun, err := b.Build(invoice.Run{At: d(6)}, []invoice.Subscription{sub})
	require.NoError(t, err)
	june := usage.Aggregate{Line: "mkt/box", Meter: "events", Aggregation: usage.Sum, Period: ensemble.Period{Start: d(6), End: d(7)},
		Value: decimal.NewFromInt(4000), Records: 1, Digest: usage.DigestOf("june")}
	jul, err := b.Build(invoice.Run{After: d(6), At: d(7), Usage: []usage.Aggregate{june}, Billed: jun[0].Lines}, []invoice.Subscription{sub})
	require.NoError(t, err)

	o := order.Order{ID: "mkt", Customer: order.Customer{ID: "acme", Country: "NL"},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl", "distri-eu"}}}
	lines, err := settlement.FromInvoice(append(jun[0].Lines, jul[0].Lines...), o)
	require.NoError(t, err)
	charge := map[string]string{}
	for _, l := range lines {
		charge[string(l.ID)] = string(l.Charge) + " " + l.Service.Start.Format("01")
		if l.Charge == "events" {
			require.Len(t, l.Discounts, 1)
			require.Equal(t, "usage-15", l.Discounts[0].ID)
			requireMoney(t, l.Discounts[0].Amount, eur("60.00"))
		} else {
			require.Empty(t, l.Discounts, "%s", l.ID)
		}
	}
	s := planSettler(t, `{id: trial, version: 1, discount_funding: [{discount: usage-15, node: vendor}], root: {id: root, children: [
	{id: reseller, party: seller, share: "20%"},
	{id: vendor, party: platform, share: remaining}]}}`, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	paid := map[string]string{}
	for _, e := range res.Entries {
		paid[charge[string(e.Line)]+" "+string(e.Party)] = e.Amount.AmountString()
	}
	require.Equal(t, map[string]string{
		"onboarding 06 reseller-nl": "100.00", "onboarding 06 platform": "400.00",
		"platform 06 reseller-nl": "40.00", "platform 06 platform": "160.00",
		"events 06 reseller-nl": "80.00", "events 06 platform": "260.00",
		"platform 07 reseller-nl": "40.00", "platform 07 platform": "160.00",
	}, paid)
}
