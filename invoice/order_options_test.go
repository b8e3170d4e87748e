package invoice_test

import (
	"context"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// suspendedOrder takes an order for 2 Basic seats with 3 TB of storage per
// seat to active on March 1, 2026, suspends it from March 11 and, if
// resume, resumes it on March 21.
func suspendedOrder(t *testing.T, resume bool) order.Order {
	t.Helper()
	env := order.Context{Catalog: testCatalog(t)}
	at := date(2026, 2, 28)
	var o order.Order
	for _, step := range []struct {
		at  time.Time
		cmd order.Command
	}{
		{at, order.Command{Kind: order.CmdCreate, Order: "ord-2", Draft: &order.Draft{
			Customer: order.Customer{ID: "acme", Country: "FR"},
			Lines: []order.Line{{ID: "seats", Pin: catalog.Pin{Offer: "basic"}, Quantity: decimal.NewFromInt(2),
				AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "storage"}, Quantity: decimal.NewFromInt(3)}}}},
			Billing: order.Billing{Anchor: date(2026, 3, 1)},
		}}},
		{at, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 14)}},
		{at, order.Command{Kind: order.CmdAccept}},
		{at, order.Command{Kind: order.CmdBeginActivation}},
		{date(2026, 3, 1), order.Command{Kind: order.CmdCompleteTask, Task: "seats"}},
		{date(2026, 3, 11), order.Command{Kind: order.CmdSuspend}},
		{date(2026, 3, 21), order.Command{Kind: order.CmdResume}},
	} {
		if step.cmd.Kind == order.CmdResume && !resume {
			break
		}
		next, _, err := o.Decide(context.Background(), env, step.cmd, step.at)
		require.NoError(t, err, "%s", step.cmd.Kind)
		o = next
	}
	return o
}

func TestFromOrderWithSkipSuspended(t *testing.T) {
	o := suspendedOrder(t, true)
	require.Len(t, o.Suspensions, 1)
	plain, err := invoice.FromOrderWith(o, invoice.OrderOptions{})
	require.NoError(t, err)
	require.Len(t, plain.Items[0].Segments, 1)
	s, err := invoice.FromOrderWith(o, invoice.OrderOptions{SkipSuspended: true})
	require.NoError(t, err)
	segs := s.Items[0].Segments
	require.Len(t, segs, 2)
	require.True(t, date(2026, 3, 11).Equal(segs[0].End))
	require.True(t, date(2026, 3, 21).Equal(segs[1].Start))
	require.True(t, segs[1].End.IsZero())

	inv := build1(t, builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive}), invoice.Run{At: date(2026, 3, 31)}, s)
	// Basic ×2 (20.00) and storage 3 per seat (6 TB, 12.00) billed for
	// March, credited for the 20 days from March 11 and charged again for
	// the 11 days from March 21 (days end-exclusive, 31 days).
	require.Equal(t, []string{
		"proration_credit seats -13.55", // -(20 - round(20 × 10/31)) = -(20 - 6.45)
		"recurring seats 20.00",
		"recurring seats 7.10", // 20 - round(20 × 20/31) = 20 - 12.90
		"one_time setup 50.00",
		"proration_credit tb -8.13", // -(12 - round(12 × 10/31)) = -(12 - 3.87)
		"recurring tb 12.00",
		"recurring tb 4.26", // 12 - round(12 × 20/31) = 12 - 7.74
	}, amounts(inv))
}

// A suspension that still lasts leaves everything after its start out.
func TestFromOrderWithOpenSuspension(t *testing.T) {
	o := suspendedOrder(t, false)
	s, err := invoice.FromOrderWith(o, invoice.OrderOptions{SkipSuspended: true})
	require.NoError(t, err)
	segs := s.Items[0].Segments
	require.Len(t, segs, 1)
	require.True(t, date(2026, 3, 11).Equal(segs[0].End))
}
