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

// TestScopedTrueUpPaidLikeTheScope: a UK IT-services firm (a new user's
// trial) bills 25 managed desktops at GBP 40.00 and engineering hours at
// 95.00 on one invoice, with a monthly minimum spend of 500.00 on
// engineering, and pays the engineers' firm (sub-utrecht here) 30% of
// engineering. March's 5 hours (475.00) are topped up by 25.00: the
// true-up is attributed to the engineering offer and its hours charge, so
// the plan paying engineering pays it, by offer (the engineers get 150.00,
// 30% of the 500.00 minimum) or by a rule on offer.charge. Unscoped, the
// true-up went to the first item's offer, the desktops', whose plan paid
// the engineers none of it.
func TestScopedTrueUpPaidLikeTheScope(t *testing.T) {
	d := func(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC) }
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: desktop, version: 1, name: Managed desktop, currency: GBP, effective_from: 2020-01-01T00:00:00Z,
     charges: [{id: seats, name: Desktop seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "40.00"}}]}
  - {id: engineering, version: 1, name: Engineering, currency: GBP, effective_from: 2020-01-01T00:00:00Z,
     charges: [{id: hours, name: Engineering hours, type: usage, meter: hours, price: {model: per_unit, amount: "95.00"}}]}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	sub := invoice.Subscription{ID: "acme", Customer: invoice.Customer{ID: "acme-ltd"}, Currency: ensemble.MustCurrency("GBP"), Anchor: d(3),
		Items: []invoice.Item{
			{ID: "desktop", Segments: []invoice.Segment{{Start: d(3), Pin: catalog.Pin{Offer: "desktop", Version: 1}, Quantity: decimal.NewFromInt(25)}}},
			{ID: "engineering", Segments: []invoice.Segment{{Start: d(3), Pin: catalog.Pin{Offer: "engineering", Version: 1}, Quantity: decimal.NewFromInt(1)}}},
		},
		Commitment: &invoice.Commitment{Minimum: decimal.NewFromInt(500), Scope: invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}}}}
	march := usage.Aggregate{Line: "acme/engineering", Meter: "hours", Aggregation: usage.Sum, Period: ensemble.Period{Start: d(3), End: d(4)},
		Value: decimal.NewFromInt(5), Records: 1, Digest: usage.DigestOf("march")}
	invs, err := b.Build(invoice.Run{After: d(3), At: d(4), Usage: []usage.Aggregate{march}}, []invoice.Subscription{sub})
	require.NoError(t, err)
	lines, err := settlement.FromInvoice(invs[0].Lines, order.Order{ID: "acme", Customer: order.Customer{ID: "acme-ltd", Country: "GB"},
		Route: partner.Route{Kind: partner.RouteDirect}})
	require.NoError(t, err)
	var trueUp settlement.Line
	for _, l := range lines {
		if l.Kind == "commitment_true_up" {
			trueUp = l
		}
	}
	require.Equal(t, "25.00", trueUp.Amount.AmountString())
	require.Equal(t, catalog.Pin{Offer: "engineering", Version: 1}, trueUp.Offer)
	require.Equal(t, catalog.ChargeID("hours"), trueUp.Charge)

	engineers := func(s *settlement.Settler) map[string]string {
		t.Helper()
		res, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		paid := map[string]string{}
		for _, e := range res.Entries {
			if e.Party == "sub-utrecht" {
				paid[string(e.Line)] = e.Amount.AmountString()
			}
		}
		return paid
	}
	want := map[string]string{"acme/commitment/20260301T000000Z": "7.50", "acme/engineering/20260301T000000Z/engineering/hours/usage": "142.50"}
	// By offer: the engineering plan.
	require.Equal(t, want, engineers(planSettler(t, `
- {id: desk, version: 1, offers: [desktop], root: {id: root, children: [{id: platform, party: platform, share: remaining}]}}
- {id: eng, version: 1, offers: [engineering], root: {id: root, children: [
    {id: engineers, party: "partner:sub-utrecht", share: "30%"}, {id: platform, party: platform, share: remaining}]}}
`, loadNetwork(t))))
	// By charge: one plan, a rule on offer.charge.
	require.Equal(t, want, engineers(planSettler(t, `
{id: all, version: 1, root: {id: root, children: [
  {id: engineers, party: "partner:sub-utrecht", condition: engineering-hours, share: "30%"}, {id: platform, party: platform, share: remaining}]}}
`, loadNetwork(t), "id: engineering-hours\nversion: 1\nkind: condition\nenv_version: 1\nexpression: 'offer.charge == \"hours\"'\n")))
}

// TestLateUsageTrueUpCreditClawsBack: March's 25.00 true-up of the
// engineering minimum (500.00), paid 30% to the engineers' firm (7.50),
// then one more hour of March (95.00) arrives late: the run billing it
// credits the true-up the cycle no longer owes (-25.00, crediting it), and
// settlement claws back the 7.50 as it paid it, while the late hour pays
// 28.50. The engineers get 30% of 570.00 for March, 171.00, where they got
// 178.50 of the 595.00 the customer paid. A correction taking 1 hour back
// instead bills 95.00 more true-up, a sale paid as the true-up (28.50).
func TestLateUsageTrueUpCreditClawsBack(t *testing.T) {
	d := func(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC) }
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: engineering, version: 1, name: Engineering, currency: GBP, effective_from: 2020-01-01T00:00:00Z,
     charges: [{id: hours, name: Engineering hours, type: usage, meter: hours, price: {model: per_unit, amount: "95.00"}}]}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	sub := invoice.Subscription{ID: "acme", Customer: invoice.Customer{ID: "acme-ltd"}, Currency: ensemble.MustCurrency("GBP"), Anchor: d(3),
		Items: []invoice.Item{
			{ID: "engineering", Segments: []invoice.Segment{{Start: d(3), Pin: catalog.Pin{Offer: "engineering", Version: 1}, Quantity: decimal.NewFromInt(1)}}},
		},
		Commitment: &invoice.Commitment{Minimum: decimal.NewFromInt(500)}}
	hours := func(v int64, digest string) usage.Aggregate {
		return usage.Aggregate{Line: "acme/engineering", Meter: "hours", Aggregation: usage.Sum, Period: ensemble.Period{Start: d(3), End: d(4)},
			Value: decimal.NewFromInt(v), Records: 1, Digest: usage.DigestOf(usage.RecordID(digest))}
	}
	march, err := b.Build(invoice.Run{After: d(3), At: d(4), Usage: []usage.Aggregate{hours(5, "march")}}, []invoice.Subscription{sub})
	require.NoError(t, err)
	o := order.Order{ID: "acme", Customer: order.Customer{ID: "acme-ltd", Country: "GB"}, Route: partner.Route{Kind: partner.RouteDirect}}
	s := planSettler(t, `
- {id: eng, version: 1, offers: [engineering], root: {id: root, children: [
    {id: engineers, party: "partner:sub-utrecht", share: "30%"}, {id: platform, party: platform, share: remaining}]}}
`, loadNetwork(t))
	engineers := func(res settlement.Result) map[string]string {
		paid := map[string]string{}
		for _, e := range res.Entries {
			if e.Party == "sub-utrecht" {
				paid[string(e.Line)] = e.Amount.AmountString()
			}
		}
		return paid
	}
	lines, err := settlement.FromInvoice(march[0].Lines, o)
	require.NoError(t, err)
	first, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"acme/commitment/20260301T000000Z": "7.50", "acme/engineering/20260301T000000Z/engineering/hours/usage": "142.50"}, engineers(first))

	for _, c := range []struct {
		late int64
		want map[string]string
	}{
		{1, map[string]string{"acme/commitment/20260301T000000Z/20260501T000000Z": "-7.50"}},
		{-1, map[string]string{"acme/commitment/20260301T000000Z/20260501T000000Z": "28.50"}},
	} {
		late := hours(c.late, "late")
		late.Late = true
		april, err := b.Build(invoice.Run{After: d(4), At: d(5), Usage: []usage.Aggregate{{Line: "acme/engineering", Meter: "hours", Aggregation: usage.Sum,
			Period: ensemble.Period{Start: d(4), End: d(5)}, Value: decimal.NewFromInt(6), Records: 1, Digest: usage.DigestOf("april")}},
			Late: []invoice.LateUsage{{Billed: hours(5, "march"), Late: late}}, Billed: march[0].Lines}, []invoice.Subscription{sub})
		require.NoError(t, err)
		lines, err := settlement.FromInvoice(april[0].Lines, o)
		require.NoError(t, err)
		res, err := s.Settle(ctx, first.State, lines)
		require.NoError(t, err)
		got := engineers(res)
		for id := range got {
			if id != "acme/commitment/20260301T000000Z/20260501T000000Z" {
				delete(got, id) // the late hour and April's hours
			}
		}
		require.Equal(t, c.want, got, "late %d", c.late)
		if c.late > 0 {
			continue
		}
		// After the correction's 95.00, 2 hours of March arrive late
		// (570.00): the 120.00 of true-up is credited on its two lines,
		// each clawed back as it was paid (-28.50, -7.50), none over.
		late2 := hours(2, "late2")
		late2.Late = true
		billed := append(append([]invoice.Line(nil), march[0].Lines...), april[0].Lines...)
		may, err := b.Build(invoice.Run{After: d(5), At: d(6), Late: []invoice.LateUsage{{Billed: hours(4, "march"), Late: late2}}, Billed: billed},
			[]invoice.Subscription{sub})
		require.NoError(t, err)
		mayLines, err := settlement.FromInvoice(may[0].Lines, o)
		require.NoError(t, err)
		res2, err := s.Settle(ctx, res.State, mayLines)
		require.NoError(t, err)
		got = engineers(res2)
		delete(got, "acme/engineering/20260301T000000Z/engineering/hours/usage_adjustment/"+late2.Digest.String())
		delete(got, "acme/commitment/20260501T000000Z") // May, given no hours
		require.Equal(t, map[string]string{"acme/commitment/20260301T000000Z/20260601T000000Z": "-28.50", "acme/commitment/20260301T000000Z/20260601T000000Z/2": "-7.50"}, got)
	}
}
