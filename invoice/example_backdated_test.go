package invoice_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/shopspring/decimal"
)

// A change recorded after the run that billed the time it takes effect in
// is caught up by the next run, given the lines earlier runs issued: 3
// Basic seats billed for March at March 1, then on March 10 the host
// records an upgrade to Pro from March 1. Without the lines billed, the
// run at April 1 is an error; with them it reverses March's Basic line
// and bills March as Pro, with April.
func ExampleRun_billed() {
	b := exampleBuilder()
	mar1, mar10, apr1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	s := invoice.Subscription{ID: "sub-1", Customer: invoice.Customer{ID: "acme", Region: "FR"}, Currency: exampleSubscription().Currency, Anchor: mar1,
		Items: []invoice.Item{{ID: "plan", Segments: []invoice.Segment{
			{Start: mar1, Recorded: mar1, Pin: catalog.Pin{Offer: "basic", Version: 1}, Quantity: decimal.NewFromInt(3)}}}}}
	march, err := b.Build(invoice.Run{At: mar1}, []invoice.Subscription{s})
	if err != nil {
		panic(err)
	}
	// March 10: Pro from March 1, which replaces the Basic segment.
	s.Items[0].Segments[0] = invoice.Segment{Start: mar1, Recorded: mar10, Pin: catalog.Pin{Offer: "pro", Version: 1}, Quantity: decimal.NewFromInt(3)}
	_, err = b.Build(invoice.Run{After: mar1, At: apr1}, []invoice.Subscription{s})
	fmt.Println("without Run.Billed:", errors.Is(err, invoice.ErrBackdated))
	april, err := b.Build(invoice.Run{After: mar1, At: apr1, Billed: march[0].Lines}, []invoice.Subscription{s})
	if err != nil {
		panic(err)
	}
	for _, l := range april[0].Lines {
		fmt.Printf("%-9s %s %s  net %s\n", l.Kind, l.Pin, l.Period, l.Net)
	}
	// Output:
	// without Run.Billed: true
	// reversal  basic@1 [2026-03-01T00:00:00Z, 2026-04-01T00:00:00Z)  net EUR -30.00
	// recurring pro@1 [2026-03-01T00:00:00Z, 2026-04-01T00:00:00Z)  net EUR 90.00
	// recurring pro@1 [2026-04-01T00:00:00Z, 2026-05-01T00:00:00Z)  net EUR 90.00
}
