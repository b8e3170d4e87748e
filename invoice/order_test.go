package invoice_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
)

// activeOrder takes a direct order for 10 Basic seats to active on March 1
// 2026, upgrades it to Pro on March 16 and schedules a cancellation.
func activeOrder(t *testing.T, status order.TaxStatus) order.Order {
	t.Helper()
	env := order.Context{Catalog: testCatalog(t)}
	at := date(2026, 2, 20)
	var o order.Order
	for _, step := range []struct {
		at  time.Time
		cmd order.Command
	}{
		{at, order.Command{Kind: order.CmdCreate, Order: "ord-9", Draft: &order.Draft{
			Customer: order.Customer{ID: "acme", Country: "FR", TaxStatus: status, TaxID: "FR123"},
			Lines:    []order.Line{{ID: "l1", Pin: catalog.Pin{Offer: "basic"}, Quantity: dec("10")}},
			Billing:  order.Billing{Anchor: date(2026, 3, 1), TimeZone: "Europe/Paris"},
		}}},
		{at, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}},
		{at, order.Command{Kind: order.CmdAccept}},
		{at, order.Command{Kind: order.CmdBeginActivation}},
		{date(2026, 3, 1), order.Command{Kind: order.CmdCompleteTask, Task: "l1"}},
		{date(2026, 3, 16), order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeOffer, Line: "l1", Pin: catalog.Pin{Offer: "pro"}}}},
	} {
		next, _, err := o.Decide(context.Background(), env, step.cmd, step.at)
		require.NoError(t, err, "%s", step.cmd.Kind)
		o = next
	}
	return o
}

func TestFromOrder(t *testing.T) {
	o := activeOrder(t, order.ReverseCharge)
	sub, err := invoice.FromOrder(o)
	require.NoError(t, err)
	require.Equal(t, invoice.SubscriptionID("ord-9"), sub.ID)
	require.Equal(t, invoice.Customer{ID: "acme", Region: "FR", ReverseCharge: true}, sub.Customer)
	require.Equal(t, "EUR", sub.Currency.Code())
	require.True(t, sub.Anchor.Equal(date(2026, 3, 1)))
	require.Equal(t, "Europe/Paris", sub.TimeZone)
	require.True(t, sub.CancelAt.IsZero())
	require.Len(t, sub.Items, 1)
	item := sub.Items[0]
	require.Equal(t, invoice.ItemID("l1"), item.ID)
	require.Equal(t, o.LineRef("l1"), string(item.UsageLine))
	require.Len(t, item.Segments, 2)
	require.Equal(t, catalog.Pin{Offer: "basic", Version: 1}, item.Segments[0].Pin)
	require.True(t, item.Segments[0].End.Equal(date(2026, 3, 16)))
	require.Equal(t, catalog.Pin{Offer: "pro", Version: 1}, item.Segments[1].Pin)
	require.True(t, item.Segments[1].End.IsZero(), "the current segment is open")

	// The subscription bills: March in advance for Basic, then the upgrade.
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive,
		Taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "fr-vat", Region: "FR", Rate: ensemble.MustRatio("20%")}}}})
	invs, err := b.Build(invoice.Run{At: date(2026, 3, 20)}, []invoice.Subscription{sub})
	require.NoError(t, err)
	require.Len(t, invs, 1)
	require.True(t, invs[0].ReverseCharge)
	require.True(t, invs[0].Tax.IsZero())
	// Every line traces to its order line, and to the segment in force when
	// its service starts: Basic's March line to the first, the upgrade's
	// charge and Basic's credit (from March 16) to the second.
	for _, l := range invs[0].Lines {
		require.Contains(t, l.Refs, o.Ref("l1"), l.ID)
		seg := o.Segments[0]
		if !l.Period.Start.Before(o.Segments[1].Start) {
			seg = o.Segments[1]
		}
		require.Contains(t, l.Refs, o.SegmentRef(seg.ID), l.ID)
	}

	// A cancellation at period end stops the subscription there.
	o2, _, err := o.Decide(context.Background(), order.Context{Catalog: testCatalog(t)}, order.Command{Kind: order.CmdCancel}, date(2026, 3, 20))
	require.NoError(t, err)
	sub2, err := invoice.FromOrder(o2)
	require.NoError(t, err)
	stop, ok := o2.StopsAt()
	require.True(t, ok)
	require.True(t, sub2.CancelAt.Equal(stop))
}

func TestFromOrderRejectsOrdersWithNothingToBill(t *testing.T) {
	_, err := invoice.FromOrder(order.Order{ID: "draft-only", Currency: "EUR"})
	require.ErrorContains(t, err, "never activated")
	o := activeOrder(t, order.Taxable)
	o.Currency = "ZZZ"
	_, err = invoice.FromOrder(o)
	require.Error(t, err)
}

// Every line of a subscription from an order traces to the order
// (order.RefOrder) and to an order line (order.RefOrderLine): an item's
// lines to its own, the lines of the subscription as a whole to the line
// their offer is attributed to (a prepaid commitment's purchase to the
// first line whose charge draws on it, a minimum commitment's true-up and
// the order term's fee to the first line in service). No line ID holds an
// empty segment: those lines are "ord-5/prepaid/...", "ord-5/commitment/..."
// and "ord-5/early_termination/...".
func TestFromOrderEveryLineTracesToTheOrder(t *testing.T) {
	b := termsBuilder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	o := termOrder(t, &order.EarlyTermination{Amount: dec("300.00")})
	s, err := invoice.FromOrder(o)
	require.NoError(t, err)
	require.Equal(t, []ensemble.Ref{{Kind: order.RefOrder, ID: "ord-5"}}, s.Refs)
	s.Commitment = &invoice.Commitment{Minimum: dec("5000")}
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "seats-2026", Amount: dec("100"), Start: inParis(2026, 3, 1), End: inParis(2027, 3, 1),
		Charges: []catalog.ChargeID{"seats"}}}
	inv := build1(t, b, invoice.Run{At: inParis(2026, 7, 15)}, s)
	kinds := map[invoice.LineKind]bool{}
	for _, l := range inv.Lines {
		kinds[l.Kind] = true
		require.NotContains(t, string(l.ID), "//", "an empty segment in %s", l.ID)
		require.False(t, strings.HasSuffix(string(l.ID), "/"), l.ID)
		require.Contains(t, l.Refs, ensemble.Ref{Kind: order.RefOrder, ID: "ord-5"}, "%s traces to the order", l.ID)
		want := o.Ref("seats")
		if l.Item == "yearly" {
			want = o.Ref("yearly")
		}
		require.Contains(t, l.Refs, want, "%s traces to its order line", l.ID)
		switch l.Kind {
		case invoice.KindPrepayment:
			require.Equal(t, invoice.LineID("ord-5/prepaid/seats-2026/prepayment"), l.ID)
		case invoice.KindCommitmentTrueUp:
			require.True(t, strings.HasPrefix(string(l.ID), "ord-5/commitment/"), l.ID)
		case invoice.KindEarlyTermination:
			if l.Item == "" {
				require.Equal(t, invoice.LineID("ord-5/early_termination/20260228T230000Z/20260630T220000Z"), l.ID)
			}
		}
	}
	for _, k := range []invoice.LineKind{invoice.KindPrepayment, invoice.KindCommitmentTrueUp, invoice.KindEarlyTermination, invoice.KindRecurring} {
		require.True(t, kinds[k], "a %s line was billed", k)
	}
}
