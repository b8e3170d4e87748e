package settlement_test

import (
	"slices"
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
	"github.com/ensemble-commerce/ensemble/usage"
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
			SupplierCosts:     []catalog.SupplierCost{{Supplier: "s1", Offer: "backup", Component: ensemble.Ref{Kind: "bundle_component", ID: "suite/backup/s1", Version: "2"}, Cost: ensemble.MustMoney("10.00", "EUR")}},
			Period:            ensemble.Period{Start: at, End: at.AddDate(0, 1, 0)},
			SubscriptionStart: at.AddDate(-1, 0, 0),
			Refs:              []ensemble.Ref{{Kind: "offer", ID: "suite", Version: "2"}}},
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
	require.True(t, first.Service.Equal(lines[0].Period))
	require.True(t, first.ContractStart.Equal(at.AddDate(-1, 0, 0)), "the subscription's start is the contract's")
	require.True(t, got[1].ContractStart.IsZero())
	// The order's route is the line's, the same type with nothing
	// converted.
	require.Empty(t, cmp.Diff(o.Route, first.Route))
	require.Equal(t, partner.ID("r1"), first.Route.Seller)
	require.Len(t, first.SupplierCosts, 1)
	require.Equal(t, []ensemble.Ref{{Kind: invoice.RefLine, ID: "inv-1/l1"}, {Kind: "offer", ID: "suite", Version: "2"}}, first.Trace)
	require.Empty(t, first.Credits)
	require.Equal(t, settlement.LineID("inv-1/l1"), got[1].Credits, "a credit-note line credits the invoice line")

	require.Equal(t, settlement.DisputeUnstated, got[1].Dispute)

	// A credit note documenting a lost dispute says so on its credit
	// lines; the sale documents nothing.
	doc, err := settlement.FromInvoiceWith(lines, o, settlement.InvoiceOptions{Dispute: settlement.DisputeDocuments})
	require.NoError(t, err)
	require.Equal(t, settlement.DisputeUnstated, doc[0].Dispute)
	require.Equal(t, settlement.DisputeDocuments, doc[1].Dispute)

	// The route is a copy: changing the order afterwards moves nothing.
	o.Route.Chain[0] = "someone-else"
	require.Equal(t, partner.ID("r1"), first.Route.Chain[0])
}

// TestFromInvoiceLateUsageQuantity: a late-usage adjustment bills the 5
// hours reported late for January (125 billed before, on a graduated
// price: 5 × 70.00 = 350.00); its invoice line's Quantity is January's
// cumulative 130, and the settlement line's is the 5 it bills (a new
// user's trial: a rule reading line.quantity read 130 hours on a line
// worth 5).
func TestFromInvoiceLateUsageQuantity(t *testing.T) {
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 0, 0, 0, 0, time.UTC) }
	c, err := catalog.LoadYAML([]byte(`
offers:
  - {id: dev, version: 1, name: Dev, kind: product, currency: GBP, effective_from: 2026-01-01T00:00:00Z,
     charges: [{id: hours, name: Hours, type: usage, meter: hours,
                price: {model: graduated, tiers: [{up_to: "100", unit_amount: "80.00"}, {unit_amount: "70.00"}]}}]}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(c, invoice.Options{})
	require.NoError(t, err)
	sub := invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "acme"}, Currency: ensemble.MustCurrency("GBP"), Anchor: d(1, 1),
		Items: []invoice.Item{{ID: "work", Segments: []invoice.Segment{{Start: d(1, 1), Pin: catalog.Pin{Offer: "dev", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
	meters := []usage.Meter{{ID: "hours", Unit: "hour", Aggregation: usage.Sum}}
	rec := func(id, q string, at time.Time) usage.Record {
		return usage.Record{ID: usage.RecordID(id), Line: "s1/work", Meter: "hours", Quantity: decimal.RequireFromString(q), At: at}
	}
	ul, err := b.UsageLines(d(2, 1), sub)
	require.NoError(t, err)
	rep, err := usage.Collect(usage.Config{Meters: meters, Lines: ul}, slices.Values([]usage.Record{rec("a", "125", d(1, 20))}))
	require.NoError(t, err)
	billed, err := b.BilledUsage(invoice.Run{At: d(2, 1), Usage: rep.Aggregates}, []invoice.Subscription{sub}, meters)
	require.NoError(t, err)
	ul, err = b.UsageLines(d(3, 1), sub)
	require.NoError(t, err)
	rep2, err := usage.Collect(usage.Config{Meters: meters, Lines: ul, ClosedBefore: d(2, 1), Ledger: rep.Ledger},
		slices.Values([]usage.Record{rec("late", "5", d(1, 31))}))
	require.NoError(t, err)
	late, err := invoice.LateUsageFrom(rep2.Adjustments, billed)
	require.NoError(t, err)
	invs, err := b.Build(invoice.Run{After: d(2, 1), At: d(3, 1), Late: late}, []invoice.Subscription{sub})
	require.NoError(t, err)
	l := invs[0].Lines[0]
	require.Equal(t, invoice.KindUsageAdjustment, l.Kind)
	require.Equal(t, "350.00", l.Net.AmountString())
	require.True(t, l.Quantity.Equal(decimal.NewFromInt(130)), "the invoice line's quantity is cumulative: %s", l.Quantity)
	sl, err := settlement.FromInvoice(invs[0].Lines, order.Order{ID: "s1", Route: partner.Route{Kind: partner.RouteDirect}})
	require.NoError(t, err)
	require.True(t, sl[0].Quantity.Equal(decimal.NewFromInt(5)), "the settlement line bills 5 hours, not %s", sl[0].Quantity)
	require.True(t, sl[0].PeriodQuantity.Equal(decimal.NewFromInt(130)), "of January's 130: %s", sl[0].PeriodQuantity)

	// A rule keyed on the period's volume reads it (a trial: 20% once a
	// period passes 100 hours); one reading the line's hours, the 5.
	s := planSettler(t, `
id: hours
version: 1
root:
  id: root
  children:
    - {id: volume, party: platform, share: {rule: by-period-hours}}
    - {id: hours, party: platform, share: {rule: by-line-hours}}
    - {id: rest, party: platform, share: remaining}
`, nil, `
- {id: by-period-hours, version: 1, kind: share, env_version: 1, expression: 'line.period_quantity > dec("100") ? percent(20) : percent(10)'}
- {id: by-line-hours, version: 1, kind: share, env_version: 1, expression: 'line.quantity > dec("100") ? percent(20) : percent(10)'}
`)
	sl[0].Offer = catalog.Pin{Offer: "dev", Version: 1}
	res, err := s.Settle(ctx, settlement.State{}, sl[:1])
	require.NoError(t, err)
	got := map[string]string{}
	for _, e := range res.Entries {
		got[e.Node] = e.Amount.AmountString()
	}
	require.Equal(t, "70.00", got["root/volume"], "20% of 350.00: the period passed 100 hours")
	require.Equal(t, "35.00", got["root/hours"], "10% of 350.00: the line bills 5")
}

// An early-termination fee bills no catalog charge, so a plan paying
// partners on the service and not on the fee reads the invoice line's kind
// (line.kind, which FromInvoice fills): a trial's condition on
// offer.charge != "early_termination" paid the distributor and reseller
// 360.00 of a 1,200.00 fee its contract kept for the vendor.
func TestEarlyTerminationFeeByLineKind(t *testing.T) {
	plan := `{id: p, version: 1, root: {id: root, children: [
		{id: reseller, party: seller, condition: not-a-fee, share: "20%"},
		{id: vendor, party: platform, share: remaining}]}}`
	s := planSettler(t, plan, loadNetwork(t), "id: not-a-fee\nversion: 1\nkind: condition\nenv_version: 1\nexpression: 'line.kind != \"early_termination\"'\n")
	at := time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC)
	o := order.Order{ID: "ord-1", Customer: order.Customer{ID: "acme", Country: "NL"},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}}
	lines, err := settlement.FromInvoice([]invoice.Line{
		{ID: "inv-6/l1", Kind: invoice.KindRecurring, Date: at, Pin: catalog.Pin{Offer: "cloud-backup", Version: 1}, Charge: "seat",
			Net: ensemble.MustMoney("100.00", "EUR"), Tax: ensemble.MustMoney("0.00", "EUR")},
		{ID: "inv-6/l2", Kind: invoice.KindEarlyTermination, Date: at, Pin: catalog.Pin{Offer: "cloud-backup", Version: 1},
			Net: ensemble.MustMoney("1200.00", "EUR"), Tax: ensemble.MustMoney("0.00", "EUR")},
	}, o)
	require.NoError(t, err)
	require.Equal(t, "recurring early_termination", lines[0].Kind+" "+lines[1].Kind)
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	paid := map[string]string{}
	for _, e := range res.Entries {
		paid[string(e.Line)+" "+string(e.Party)] = e.Amount.AmountString()
	}
	require.Equal(t, map[string]string{"inv-6/l1 sub-utrecht": "20.00", "inv-6/l1 platform": "80.00", "inv-6/l2 platform": "1200.00"}, paid)
}
