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

// A goodwill credit of a line a back-dated change reverses, carried to the
// line billed anew (invoice.Run.Billed), settles as the credit would on
// one run's line: 10 seats at EUR 40 billed for March, 10.00 credited on
// March 3, then 12 seats from February 20 recorded March 5. The run at
// April 1 reverses the 390.00 the credit left of March, bills 480.00 anew
// and carries the 10.00 to it: every party ends with what one run over
// the span, and the same credit of its March line, pay it.
func TestBackdatedCarriedCreditSettlesAsTheCreditOfOneRun(t *testing.T) {
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
		return invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "c1"}, Currency: ensemble.MustCurrency("EUR"), Anchor: day(2, 1),
			Items: []invoice.Item{{ID: "seats", Segments: segs}}}
	}
	o := order.Order{ID: "s1", Customer: order.Customer{ID: "c1", Country: "NL"},
		Route: partner.Route{Kind: partner.RouteMarketplace, Chain: []partner.ID{"dev-1"}}}
	s := planSettler(t, "["+storeGross+"]", loadNetwork(t))
	// goodwill credits 10.00 of inv's March line.
	goodwill := func(inv invoice.Invoice) invoice.CreditNote {
		t.Helper()
		inv, err := invoice.Issue(inv, inv.Date)
		require.NoError(t, err)
		var march invoice.LineID
		for _, l := range inv.Lines {
			if l.Kind == invoice.KindRecurring && l.Period.Start.Equal(day(3, 1)) {
				march = l.ID
			}
		}
		cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "goodwill", Reason: invoice.ReasonGoodwill, At: day(3, 3),
			Lines: []invoice.CreditLine{{Line: march, Amount: decimal.NewFromInt(10)}}})
		require.NoError(t, err)
		return cn
	}
	settle := func(st settlement.State, lines []invoice.Line) (settlement.State, []settlement.Entry) {
		t.Helper()
		sl, err := settlement.FromInvoice(lines, o)
		require.NoError(t, err)
		res, err := s.Settle(ctx, st, sl)
		require.NoError(t, err)
		return res.State, res.Entries
	}

	var issued []invoice.Line
	var st settlement.State
	var entries, got []settlement.Entry
	var after time.Time
	for _, at := range []time.Time{day(2, 1), day(3, 1), day(4, 1), day(5, 1)} {
		invs, err := b.Build(invoice.Run{After: after, At: at, Billed: issued}, []invoice.Subscription{known(at)})
		require.NoError(t, err)
		after = at
		for _, inv := range invs {
			issued = append(issued, inv.Lines...)
			st, got = settle(st, inv.Lines)
			entries = append(entries, got...)
			if at.Equal(day(3, 1)) {
				cn := goodwill(inv)
				issued = append(issued, cn.Lines...)
				st, got = settle(st, cn.Lines)
				entries = append(entries, got...)
			}
		}
	}
	carried := 0
	for _, l := range issued {
		if l.Kind == invoice.KindCreditNote && l.CreditedInvoice == "s1/20260401T000000Z" {
			carried++
		}
	}
	require.Equal(t, 1, carried, "the credit carried to March billed anew")

	invs, err := b.Build(invoice.Run{At: day(5, 1)}, []invoice.Subscription{known(day(5, 1))})
	require.NoError(t, err)
	st, one := settle(settlement.State{}, invs[0].Lines)
	cn := goodwill(invs[0])
	_, back := settle(st, cn.Lines)
	one = append(one, back...)

	gotParty, wantParty := byParty(entries, settlement.KindEarning, settlement.KindClawback), byParty(one, settlement.KindEarning, settlement.KindClawback)
	require.Len(t, gotParty, len(wantParty))
	for p, m := range wantParty {
		requireMoney(t, gotParty[p], m, "party %s", p)
	}
	want, err := invs[0].Subtotal.Add(cn.Subtotal)
	require.NoError(t, err)
	requireMoney(t, sumEntries(entries, settlement.KindEarning, settlement.KindClawback), want, "the parties share what was billed, less the credit")
}
