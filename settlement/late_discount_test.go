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

// A discount recorded after the usage it covers was billed ("15% off
// usage" from June 1, recorded July 10, after June's 4,000 events billed
// 400.00 on July 1) is credited by the run of August 1: its credit line
// (-60.00, crediting June's usage line) settles as a clawback of that
// line's entries in proportion (the platform's 30%: -18.00, the
// developer's -42.00), so every party ends with what one run knowing the
// discount pays it: 340.00 of June and 85.00 of July, 127.50 and 297.50.
func TestLateUsageDiscountCreditSettlesAsOneRun(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: app, version: 1, name: App, currency: EUR, effective_from: 2026-01-01T00:00:00Z,
     charges: [{id: events, name: Events, type: usage, meter: events, cadence: {unit: monthly}, price: {model: per_unit, amount: "0.10"}}]}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	d := invoice.Discount{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Recorded: day(7, 10)}
	known := func(at time.Time) invoice.Subscription {
		s := invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "c1", TaxExempt: true}, Currency: ensemble.MustCurrency("EUR"), Anchor: day(6, 1),
			Items: []invoice.Item{{ID: "app", Segments: []invoice.Segment{{Start: day(6, 1), Pin: catalog.Pin{Offer: "app", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
		if !d.Recorded.After(at) {
			s.Discounts = []invoice.Discount{d}
		}
		return s
	}
	events := func(m time.Month, n int64) usage.Aggregate {
		return usage.Aggregate{Line: "s1/app", Meter: "events", Aggregation: usage.Sum, Period: ensemble.MustPeriod(day(m, 1), day(m+1, 1)),
			Value: decimal.NewFromInt(n), Records: 1, Digest: usage.DigestOf(usage.RecordID("e" + m.String()))}
	}
	o := order.Order{ID: "s1", Customer: order.Customer{ID: "c1", Country: "NL"},
		Route: partner.Route{Kind: partner.RouteMarketplace, Chain: []partner.ID{"dev-1"}}}
	s := planSettler(t, "["+storeGross+"]", loadNetwork(t))

	var issued []invoice.Line
	var st settlement.State
	var entries []settlement.Entry
	var credit []settlement.Entry
	runs := []struct {
		at    time.Time
		usage []usage.Aggregate
	}{{day(7, 1), []usage.Aggregate{events(time.June, 4000)}}, {day(8, 1), []usage.Aggregate{events(time.July, 1000)}}}
	after := day(6, 1)
	for _, r := range runs {
		invs, err := b.Build(invoice.Run{After: after, At: r.at, Usage: r.usage, Billed: issued}, []invoice.Subscription{known(r.at)})
		require.NoError(t, err)
		after = r.at
		for _, inv := range invs {
			issued = append(issued, inv.Lines...)
			lines, err := settlement.FromInvoice(inv.Lines, o)
			require.NoError(t, err)
			res, err := s.Settle(ctx, st, lines)
			require.NoError(t, err, "run at %s", r.at.Format(time.DateOnly))
			st, entries = res.State, append(entries, res.Entries...)
			for i, l := range inv.Lines {
				if l.Kind == invoice.KindCreditNote {
					require.Equal(t, "-60.00", l.Net.AmountString())
					require.Equal(t, settlement.LineID(l.Credits), lines[i].Credits)
					for _, e := range res.Entries {
						if e.Line == lines[i].ID {
							credit = append(credit, e)
						}
					}
				}
			}
		}
	}
	byCredit := byParty(credit, settlement.KindClawback)
	require.Len(t, byCredit, 2)
	requireMoney(t, byCredit["dev-1"], ensemble.MustMoney("-42.00", "EUR"), "the developer's 70%")
	requireMoney(t, sumEntries(credit, settlement.KindClawback), ensemble.MustMoney("-60.00", "EUR"), "the credit claws back what it credits")

	one, err := b.Build(invoice.Run{At: day(8, 1), Usage: []usage.Aggregate{events(time.June, 4000), events(time.July, 1000)}}, []invoice.Subscription{known(day(8, 1))})
	require.NoError(t, err)
	lines, err := settlement.FromInvoice(one[0].Lines, o)
	require.NoError(t, err)
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	got, want := byParty(entries, settlement.KindEarning, settlement.KindClawback), byParty(res.Entries, settlement.KindEarning, settlement.KindClawback)
	require.Len(t, got, len(want))
	for p, m := range want {
		requireMoney(t, got[p], m, "party %s", p)
	}
	requireMoney(t, sumEntries(entries, settlement.KindEarning, settlement.KindClawback), ensemble.MustMoney("425.00", "EUR"), "the parties share what was billed")
}
