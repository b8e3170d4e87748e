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

// A run catching up a back-dated change settles as one run would: the
// trial's 10 seats at EUR 40, billed for February and March, then 12 seats
// from February 20 recorded on March 5 and a cancellation from April 10
// recorded on May 3. The catch-up's proration credits and reversals claw
// back what their lines earned (never more than they have unreversed),
// the lines billed anew earn as sales, and every party ends with what one
// run over the span pays it.
func TestBackdatedCatchUpSettlesAsOneRun(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: app, version: 1, name: App, currency: EUR, effective_from: 2026-01-01T00:00:00Z,
     charges: [{id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "40.00"}}]}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	seg := func(from, to, rec, endRec time.Time, qty int64) invoice.Segment {
		return invoice.Segment{Start: from, End: to, Recorded: rec, EndRecorded: endRec, Pin: catalog.Pin{Offer: "app", Version: 1}, Quantity: decimal.NewFromInt(qty)}
	}
	known := func(at time.Time) invoice.Subscription {
		segs := []invoice.Segment{seg(day(2, 1), time.Time{}, day(2, 1), time.Time{}, 10)}
		if at.After(day(3, 5)) {
			segs = []invoice.Segment{seg(day(2, 1), day(2, 20), day(2, 1), day(3, 5), 10), seg(day(2, 20), time.Time{}, day(3, 5), time.Time{}, 12)}
		}
		s := invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "c1"}, Currency: ensemble.MustCurrency("EUR"), Anchor: day(2, 1),
			Items: []invoice.Item{{ID: "seats", Segments: segs}}}
		if at.After(day(5, 3)) {
			s.CancelAt, s.CancelRecorded = day(4, 10), day(5, 3)
		}
		return s
	}
	o := order.Order{ID: "s1", Customer: order.Customer{ID: "c1", Country: "NL"},
		Route: partner.Route{Kind: partner.RouteMarketplace, Chain: []partner.ID{"dev-1"}}}
	s := planSettler(t, "["+storeGross+"]", loadNetwork(t))

	var issued []invoice.Line
	var st settlement.State
	var entries []settlement.Entry
	var after time.Time
	for _, at := range []time.Time{day(2, 1), day(3, 1), day(4, 1), day(5, 1), day(6, 1)} {
		invs, err := b.Build(invoice.Run{After: after, At: at, Billed: issued}, []invoice.Subscription{known(at)})
		require.NoError(t, err)
		after = at
		for _, inv := range invs {
			issued = append(issued, inv.Lines...)
			lines, err := settlement.FromInvoice(inv.Lines, o)
			require.NoError(t, err)
			res, err := s.Settle(ctx, st, lines)
			require.NoError(t, err, "run at %s", at.Format(time.DateOnly))
			st, entries = res.State, append(entries, res.Entries...)
		}
	}
	kinds := map[string]int{}
	for _, l := range issued {
		kinds[l.Kind.String()]++
		if l.Reissues != "" {
			kinds["reissued"]++
		}
	}
	require.Equal(t, map[string]int{"recurring": 6, "proration_credit": 2, "reversal": 2, "reissued": 1}, kinds)
	invs, err := b.Build(invoice.Run{At: day(6, 1)}, []invoice.Subscription{known(day(6, 1))})
	require.NoError(t, err)
	lines, err := settlement.FromInvoice(invs[0].Lines, o)
	require.NoError(t, err)
	one, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)

	got, want := byParty(entries, settlement.KindEarning, settlement.KindClawback), byParty(one.Entries, settlement.KindEarning, settlement.KindClawback)
	require.Len(t, got, len(want))
	for p, m := range want {
		requireMoney(t, got[p], m, "party %s", p)
	}
	requireMoney(t, sumEntries(entries, settlement.KindEarning, settlement.KindClawback), invs[0].Subtotal, "the parties share what was billed")
}
