package invoice_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
)

// shieldYAML is a new user's trial catalog: seats at EUR 40 a month in
// advance, and a Pro plan at EUR 60.
const shieldYAML = `
offers:
  - id: shield-suite
    version: 1
    name: Shield Suite
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "40.00"}}
  - id: shield-pro
    version: 1
    name: Shield Pro
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "60.00"}}
`

// shieldTrial is the trial: an order of 10 Shield Suite seats anchored on
// February 1, billed by runs at February 1 and March 1; on March 5 the
// host records change (effective in February), and the runs at April 1
// and May 1 follow, each given the lines earlier runs issued (Run.Billed).
// It returns each run's invoice and, for comparison, the order as it
// stands billed in one run (0, May 1].
func shieldTrial(t *testing.T, change order.Command) (runs []invoice.Invoice, oneRun invoice.Invoice) {
	t.Helper()
	runs, one := shieldTrialWith(t, nil, change)
	require.Len(t, one, 1)
	return runs, one[0]
}

// shieldTrialWith is shieldTrial with the commands before, recorded on
// February 25, before the run at March 1; the one run may bill nothing.
func shieldTrialWith(t *testing.T, before []order.Command, change order.Command) (runs, oneRun []invoice.Invoice) {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(shieldYAML))
	require.NoError(t, err)
	env := order.Context{Catalog: cat}
	var o order.Order
	step := func(cmd order.Command, at time.Time) {
		t.Helper()
		next, _, err := o.Decide(context.Background(), env, cmd, at)
		require.NoError(t, err, "%s", cmd.Kind)
		o = next
	}
	step(order.Command{Kind: order.CmdCreate, Order: "o1", Draft: &order.Draft{Customer: order.Customer{ID: "c1", Country: "DE"},
		Lines:   []order.Line{{ID: "l", Pin: catalog.Pin{Offer: "shield-suite"}, Quantity: decimal.NewFromInt(10)}},
		Billing: order.Billing{Anchor: date(2026, 2, 1)}}}, date(2026, 1, 20))
	step(order.Command{Kind: order.CmdQuote, ExpiresAt: date(2026, 2, 20)}, date(2026, 1, 20))
	step(order.Command{Kind: order.CmdAccept}, date(2026, 1, 21))
	step(order.Command{Kind: order.CmdBeginActivation}, date(2026, 1, 22))
	step(order.Command{Kind: order.CmdCompleteTask, Task: o.Tasks[0].ID}, date(2026, 2, 1))
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	var issued []invoice.Line
	bill := func(r invoice.Run) {
		t.Helper()
		r.Billed = issued
		sub, err := invoice.FromOrder(o)
		require.NoError(t, err)
		invs, err := b.Build(r, []invoice.Subscription{sub})
		require.NoError(t, err)
		for _, inv := range invs {
			require.NoError(t, inv.Check())
			runs = append(runs, inv)
			issued = append(issued, inv.Lines...)
		}
	}
	bill(invoice.Run{At: date(2026, 2, 1)})
	for _, cmd := range before {
		step(cmd, date(2026, 2, 25))
	}
	bill(invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)})
	step(change, date(2026, 3, 5))
	bill(invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1)})
	bill(invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1)})
	sub, err := invoice.FromOrder(o)
	require.NoError(t, err)
	oneRun, err = b.Build(invoice.Run{At: date(2026, 5, 1)}, []invoice.Subscription{sub})
	require.NoError(t, err)
	return runs, oneRun
}

// billedInAll is the net the invoices bill together.
func billedInAll(t *testing.T, invs []invoice.Invoice) ensemble.Money {
	t.Helper()
	total := money("0")
	for _, inv := range invs {
		var err error
		total, err = total.Add(inv.Subtotal)
		require.NoError(t, err)
	}
	return total
}

// lineFigures returns each line's kind, quantity, period and net.
func lineFigures(inv invoice.Invoice) []string {
	var out []string
	for _, l := range inv.Lines {
		out = append(out, l.Kind.String()+" "+l.Quantity.String()+" "+l.Period.Start.Format("01-02")+".."+l.Period.End.Format("01-02")+" "+l.Net.AmountString())
	}
	return out
}

// A trial: 10 seats at EUR 40 billed for February and March, then on March
// 5 a change to 12 seats effective February 20. The run at April 1 bills
// what the change owes, dated before it: the unused February 20 to March 1
// of the 10 seats credited (-128.57) and the 12 seats charged for it
// (154.29); March billed for 10 seats is reversed (-400.00) and billed for
// 12 (480.00). The runs bill 400×19/28 + 480×9/28 + 480×3 = 1,865.72 in
// all, as one run over the whole span does; they billed 1,760.00.
func TestBackdatedSeatIncreaseIsCaughtUp(t *testing.T) {
	runs, one := shieldTrial(t, order.Command{Kind: order.CmdChange, Change: &order.Change{
		Kind: order.ChangeQuantity, Line: "l", Quantity: decimal.NewFromInt(12), EffectiveAt: date(2026, 2, 20)}})
	got := billedInAll(t, runs)
	require.True(t, money("1865.72").Equal(got), "billed %s in all", got)
	require.True(t, one.Subtotal.Equal(got), "one run bills %s, the runs %s", one.Subtotal, got)
	require.GreaterOrEqual(t, len(runs), 3)
	require.Equal(t, []string{
		"proration_credit 10 02-20..03-01 -128.57",
		"recurring 12 02-20..03-01 154.29",
		"recurring 12 03-01..04-01 480.00",
		"reversal -10 03-01..04-01 -400.00",
		"recurring 12 04-01..05-01 480.00",
	}, lineFigures(runs[2]))
	require.Equal(t, []string{"recurring 12 05-01..06-01 480.00"}, lineFigures(runs[3]))
}

// The trial's variant: on March 5 the host records that the customer
// stopped on February 10. The service was February 1 to 10 only,
// 400×9/28 = 128.57: the run at April 1 credits the unused February 10 to
// March 1 (-271.43) and reverses March (-400.00). The runs billed 800.00.
func TestBackdatedCancellationIsCaughtUp(t *testing.T) {
	runs, one := shieldTrial(t, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{
		Mode: order.Immediately, EffectiveAt: date(2026, 2, 10)}})
	got := billedInAll(t, runs)
	require.True(t, money("128.57").Equal(got), "billed %s in all", got)
	require.True(t, one.Subtotal.Equal(got), "one run bills %s, the runs %s", one.Subtotal, got)
	require.GreaterOrEqual(t, len(runs), 3)
	require.Equal(t, []string{
		"proration_credit 10 02-10..03-01 -271.43",
		"reversal -10 03-01..04-01 -400.00",
	}, lineFigures(runs[2]))
	require.Len(t, runs, 3, "nothing more to bill in May")
}

// An upgrade to Shield Pro (EUR 60 a seat) effective February 20,
// recorded on March 5: 400 - 128.57 + round(600×9/28) = 192.86 for
// February, and 600.00 for each of March, April and May: 2,264.29, as one
// run bills. The runs billed 2,000.00: February and March as Shield Suite.
func TestBackdatedUpgradeIsCaughtUp(t *testing.T) {
	runs, one := shieldTrial(t, order.Command{Kind: order.CmdChange, Change: &order.Change{
		Kind: order.ChangeOffer, Line: "l", Pin: catalog.Pin{Offer: "shield-pro"}, EffectiveAt: date(2026, 2, 20)}})
	got := billedInAll(t, runs)
	require.True(t, money("2264.29").Equal(got), "billed %s in all", got)
	require.True(t, one.Subtotal.Equal(got), "one run bills %s, the runs %s", one.Subtotal, got)
	require.GreaterOrEqual(t, len(runs), 3)
	require.Equal(t, []string{
		"recurring 10 02-20..03-01 192.86",
		"proration_credit 10 02-20..03-01 -128.57",
		"recurring 10 03-01..04-01 600.00",
		"reversal -10 03-01..04-01 -400.00",
		"recurring 10 04-01..05-01 600.00",
	}, lineFigures(runs[2]))
}

// A line removed back to its start keeps no segment, yet what the runs
// billed of it is reversed: a Shield Pro seat (EUR 60) added from March 1
// is billed with March (460.00); on March 5 the host removes it from
// March 1, and the run at April 1 reverses its 60.00. The runs bill 1,600.00
// in all, as one run does, where they billed 1,660.00 (the seat's March
// stood). So with a cancellation back-dated to the activation, which
// removes every line: the runs end billing nothing, as one run bills
// nothing, where the order could not be billed at all (it had no segment).
// Without the lines billed, the removal is a *BackdatedError.
func TestBackdatedRemovalBackToTheStartIsCaughtUp(t *testing.T) {
	addPro := order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "m",
		Pin: catalog.Pin{Offer: "shield-pro"}, Quantity: decimal.NewFromInt(1), EffectiveAt: date(2026, 3, 1)}}
	t.Run("a line removed from its start", func(t *testing.T) {
		runs, one := shieldTrialWith(t, []order.Command{addPro}, order.Command{Kind: order.CmdChange, Change: &order.Change{
			Kind: order.ChangeRemoveLine, Line: "m", EffectiveAt: date(2026, 3, 1)}})
		require.Len(t, one, 1)
		got := billedInAll(t, runs)
		require.True(t, money("1600.00").Equal(got), "billed %s in all", got)
		require.True(t, one[0].Subtotal.Equal(got), "one run bills %s, the runs %s", one[0].Subtotal, got)
		require.Equal(t, []string{"recurring 10 03-01..04-01 400.00", "recurring 1 03-01..04-01 60.00"}, lineFigures(runs[1]))
		require.Equal(t, []string{"recurring 10 04-01..05-01 400.00", "reversal -1 03-01..04-01 -60.00"}, lineFigures(runs[2]))
	})
	t.Run("an order cancelled back to its activation", func(t *testing.T) {
		runs, one := shieldTrialWith(t, []order.Command{addPro}, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{
			Mode: order.Immediately, EffectiveAt: date(2026, 2, 1)}})
		require.Empty(t, one, "one run bills nothing")
		got := billedInAll(t, runs)
		require.True(t, got.IsZero(), "billed %s in all", got)
		require.Len(t, runs, 3)
		require.Equal(t, []string{"reversal -10 02-01..03-01 -400.00", "reversal -10 03-01..04-01 -400.00", "reversal -1 03-01..04-01 -60.00"}, lineFigures(runs[2]))
	})
	t.Run("without the lines billed", func(t *testing.T) {
		s := sub("s1", date(2026, 2, 1), item("i1", seg(date(2026, 2, 1), time.Time{}, pin("basic", 1), "10")))
		s.Removed = []invoice.Removal{{Item: "i2", Start: date(2026, 3, 1), Recorded: date(2026, 3, 5)}}
		b := builder(t, invoice.Options{})
		_, err := b.Build(invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1)}, []invoice.Subscription{s})
		var be *invoice.BackdatedError
		require.ErrorAs(t, err, &be)
		require.Equal(t, invoice.ItemID("i2"), be.Item)
		require.Equal(t, "removed[0].start", be.Field)
		require.ErrorContains(t, err, "subscriptions[0].removed[0].start")

		s.Removed[0].Recorded = time.Time{}
		require.ErrorIs(t, b.Validate(invoice.Run{At: date(2026, 4, 1)}, []invoice.Subscription{s}), invoice.ErrRequired)
	})
}
