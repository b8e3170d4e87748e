package invoice_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/usage"
)

// trialOrder takes a direct order for one trialbox whose line's discount is
// 15% limited to charges, to active on June 1 2026; it returns the first
// refusal.
func trialOrder(t *testing.T, charges []catalog.ChargeID, steps ...order.Command) (order.Order, error) {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(chargesCatalog))
	require.NoError(t, err)
	env := order.Context{Catalog: cat}
	at := date(2026, 5, 25)
	cmds := []struct {
		at  time.Time
		cmd order.Command
	}{
		{at, order.Command{Kind: order.CmdCreate, Order: "ord-trial", Draft: &order.Draft{
			Customer: order.Customer{ID: "acme", Country: "FR", TaxStatus: order.TaxExempt},
			Lines: []order.Line{{ID: "l1", Pin: catalog.Pin{Offer: "trialbox"}, Quantity: dec("1"),
				Discount: order.Discount{Ratio: ensemble.MustRatio("15%"), Charges: charges}}},
			Billing: order.Billing{Anchor: date(2026, 6, 1)},
		}}},
		{at, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}},
		{at, order.Command{Kind: order.CmdAccept}},
		{at, order.Command{Kind: order.CmdBeginActivation}},
		{date(2026, 6, 1), order.Command{Kind: order.CmdCompleteTask, Task: "l1"}},
	}
	for _, c := range steps {
		cmds = append(cmds, struct {
			at  time.Time
			cmd order.Command
		}{c.Change.EffectiveAt, c})
	}
	var o order.Order
	for _, step := range cmds {
		next, _, err := o.Decide(context.Background(), env, step.cmd, step.at)
		if err != nil {
			return o, err
		}
		o = next
	}
	return o, nil
}

// An order line's "15% off usage" (order.Discount.Charges) reaches the
// invoice: the segments carry it (DiscountCharges), FromOrder carries it,
// and the invoices take 60.00 off June's 4,000 events and nothing off the
// onboarding or platform fees, as the subscription discount scoped so does.
// Before, an order line's discount applied to every charge of the line.
func TestDiscountChargesFromOrder(t *testing.T) {
	o, err := trialOrder(t, []catalog.ChargeID{"events"})
	require.NoError(t, err)
	require.Equal(t, []catalog.ChargeID{"events"}, o.Lines[0].Discount.Charges)
	require.Equal(t, order.BasisPlatform, o.Lines[0].Discount.Basis)
	require.Len(t, o.Segments, 1)
	require.Equal(t, []catalog.ChargeID{"events"}, o.Segments[0].DiscountCharges)
	back, err := order.DecodeOrder([]byte(mustJSON(t, o)))
	require.NoError(t, err)
	require.Equal(t, []catalog.ChargeID{"events"}, back.Segments[0].DiscountCharges)
	require.Contains(t, mustJSON(t, o), `"discount":{"ratio":"0.15","charges":["events"]`)

	s, err := invoice.FromOrder(o)
	require.NoError(t, err)
	require.Equal(t, []catalog.ChargeID{"events"}, s.Items[0].Segments[0].DiscountCharges)
	b := chargesBuilder(t)
	jun := build1(t, b, invoice.Run{At: date(2026, 6, 1)}, s)
	jun, err = invoice.Issue(jun, date(2026, 6, 1))
	require.NoError(t, err)
	agg := eventsIn(time.June, "4000")
	agg.Line = usage.LineRef(o.LineRef("l1"))
	jul := build1(t, b, invoice.Run{After: date(2026, 6, 1), At: date(2026, 7, 1), Usage: []usage.Aggregate{agg}, Billed: jun.Lines}, s)
	require.Equal(t, []string{"events 06 line 60.00"}, discountsBy(jun, jul))
	require.Equal(t, "700.00", jun.Total.AmountString())
	require.Equal(t, "540.00", jul.Total.AmountString())
}

// A line's discount limited to a charge its offer and add-ons lack is
// refused at the quote (a *LineError wrapping ErrDiscountCharge at
// lines[0].discount.charges[0], naming the line and the charge), as is a
// change to an offer without the charge that keeps the discount.
func TestDiscountChargesOrderRefusesUnknownCharge(t *testing.T) {
	_, err := trialOrder(t, []catalog.ChargeID{"event"})
	require.ErrorIs(t, err, order.ErrDiscountCharge)
	require.ErrorIs(t, err, order.ErrUnknown)
	var le *order.LineError
	require.True(t, errors.As(err, &le), "%v", err)
	require.Equal(t, order.LineID("l1"), le.Line)
	require.Equal(t, "event", le.Value)
	require.Contains(t, err.Error(), "lines[0].discount.charges[0]")

	_, err = trialOrder(t, []catalog.ChargeID{"events", "events"})
	require.ErrorIs(t, err, order.ErrDuplicate)

	_, err = trialOrder(t, []catalog.ChargeID{"events"}, order.Command{Kind: order.CmdChange,
		Change: &order.Change{Kind: order.ChangeOffer, Line: "l1", Pin: catalog.Pin{Offer: "other"}, EffectiveAt: date(2026, 6, 15)}})
	require.ErrorIs(t, err, order.ErrDiscountCharge)
	require.Contains(t, err.Error(), "change.discount.charges[0]")
}
