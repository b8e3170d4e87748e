package order_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
)

// exampleOrder takes a direct order for 10 backup seats to active on March
// 1 2026 and returns it with its events and the context.
func exampleOrder() (order.Order, []order.Event, order.Context) {
	cat, err := catalog.LoadYAML([]byte(storeYAML))
	if err != nil {
		panic(err)
	}
	env := order.Context{Catalog: cat} // a direct order needs no governance
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var events []order.Event
	o := order.Order{}
	for _, cmd := range []order.Command{
		{Kind: order.CmdCreate, Order: "ord-7", Draft: &order.Draft{
			Customer: order.Customer{ID: "acme", Country: "DE"},
			Lines:    []order.Line{{ID: "seats", Pin: catalog.Pin{Offer: "backup"}, Quantity: decimal.NewFromInt(10)}},
		}},
		{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 14)},
		{Kind: order.CmdAccept, Actor: "buyer@acme"},
		{Kind: order.CmdBeginActivation},
		{Kind: order.CmdCompleteTask, Task: "seats", Actor: "provisioner"},
	} {
		next, evs, err := o.Decide(context.Background(), env, cmd, at)
		if err != nil {
			panic(err)
		}
		o, events = next, append(events, evs...)
		at = at.Add(time.Hour)
	}
	return o, events, env
}

// Example takes an order from draft to active: every command returns the new
// state and the events to store.
func Example() {
	o, events, _ := exampleOrder()
	for _, ev := range events {
		fmt.Printf("%d %-20s %s -> %s\n", ev.Seq, ev.Kind, ev.From, ev.To)
	}
	fmt.Println(o.Status, o.Lines[0].Pin, o.Route.Kind, o.Currency)
	// Output:
	// 1 created              none -> draft
	// 2 quoted               draft -> quoted
	// 3 accepted             quoted -> accepted
	// 4 activation_started   accepted -> activating
	// 5 task_completed       activating -> activating
	// 6 activated            activating -> active
	// active backup@1 direct EUR
}

// ExampleOrder_SegmentsIn changes the quantity mid-month and lists the
// segments invoicing prorates in April.
func ExampleOrder_SegmentsIn() {
	o, _, env := exampleOrder()
	o, _, err := o.Decide(context.Background(), env, order.Command{Kind: order.CmdChange, Change: &order.Change{
		Kind: order.ChangeQuantity, Line: "seats", Quantity: decimal.NewFromInt(25),
		EffectiveAt: time.Date(2026, 4, 16, 0, 0, 0, 0, time.UTC),
	}}, time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	april := ensemble.MustPeriod(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	for _, s := range o.SegmentsIn(april) {
		fmt.Println(s.ID, s.Pin, s.Quantity, s.Start.Format(time.DateOnly), s.End.Format(time.DateOnly), s.Cause, s.Change)
	}
	// Output:
	// seats/6 backup@1 10 2026-04-01 2026-04-16 activated unspecified
	// seats/7 backup@1 25 2026-04-16 2026-05-01 changed quantity
}

// ExampleOrder_Decide_cancelAtPeriodEnd schedules a cancellation at the end
// of the billing period (monthly from the activation instant), then
// completes it.
func ExampleOrder_Decide_cancelAtPeriodEnd() {
	o, _, env := exampleOrder()
	o, _, err := o.Decide(context.Background(), env, order.Command{Kind: order.CmdCancel, Reason: "switching"},
		time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	fmt.Println(o.Status, o.Cancellation.Mode, o.Cancellation.EffectiveAt.Format(time.RFC3339))
	o, _, err = o.Decide(context.Background(), env, order.Command{Kind: order.CmdCompleteCancellation}, o.Cancellation.EffectiveAt)
	if err != nil {
		panic(err)
	}
	fmt.Println(o.Status, o.Segments[0].End.Format(time.RFC3339))
	// Output:
	// active at_period_end 2026-05-01T13:00:00Z
	// cancelled 2026-05-01T13:00:00Z
}

// ExampleMeasure computes cycle times from the events alone.
func ExampleMeasure() {
	_, events, _ := exampleOrder()
	c := order.Measure(events)
	fmt.Println("quote to order:", c.QuoteToOrder, "order to activation:", c.OrderToActivation, "open exceptions:", c.OpenExceptions)
	// Output:
	// quote to order: 1h0m0s order to activation: 2h0m0s open exceptions: 0
}
