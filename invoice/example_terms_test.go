package invoice_test

import (
	"fmt"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/shopspring/decimal"
)

// A yearly commitment activated on March 17 inside a subscription anchored
// on the 1st bills its own year in full, from its own anchor; the monthly
// seats keep the subscription's cycles.
func ExampleItem_anchor() {
	cat, err := catalog.LoadYAML([]byte(exampleCatalog + `
  - id: commit
    version: 1
    name: Annual commitment
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: year, name: Annual fee, type: recurring, cadence: {unit: yearly}, timing: in_advance, price: {model: flat, amount: "1200.00"}}
`))
	if err != nil {
		panic(err)
	}
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	if err != nil {
		panic(err)
	}
	mar1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mar17 := time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	sub := invoice.Subscription{
		ID: "sub-1", Customer: invoice.Customer{ID: "acme"}, Currency: ensemble.MustCurrency("EUR"), Anchor: mar1,
		Items: []invoice.Item{
			{ID: "seats", Segments: []invoice.Segment{{Start: mar1, Pin: catalog.Pin{Offer: "basic", Version: 1}, Quantity: decimal.NewFromInt(2)}}},
			{ID: "yearly", Anchor: mar17, Term: invoice.Term{Length: ensemble.Every(1, ensemble.Yearly)},
				Segments: []invoice.Segment{{Start: mar17, Pin: catalog.Pin{Offer: "commit", Version: 1}, Quantity: decimal.NewFromInt(1)}}},
		},
	}
	invs, err := b.Build(invoice.Run{At: mar17}, []invoice.Subscription{sub})
	if err != nil {
		panic(err)
	}
	for _, l := range invs[0].Lines {
		fmt.Printf("%s %s %s\n", l.Item, l.Period, l.Amount)
	}
	// Output:
	// seats [2026-03-01T00:00:00Z, 2026-04-01T00:00:00Z) EUR 20.00
	// yearly [2026-03-17T00:00:00Z, 2027-03-17T00:00:00Z) EUR 1200.00
}

// An early-termination fee of "three months of the monthly fee, or what is
// left of the term if less": 10 seats at EUR 50.00 raised to 15 on June 1,
// under a 24-month term from January 1 2026. Ending on September 15 owes
// three months of the 15 seats; ending on November 16 2027, 1½ months
// before the term's end, owes what is left.
func ExampleTerminationPeriods() {
	cat, err := catalog.LoadYAML([]byte(exampleCatalog + `
  - id: team
    version: 1
    name: Team
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "50.00"}}
`))
	if err != nil {
		panic(err)
	}
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	if err != nil {
		panic(err)
	}
	jan1, jun1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	team := catalog.Pin{Offer: "team", Version: 1}
	for _, end := range []time.Time{time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC), time.Date(2027, 11, 16, 0, 0, 0, 0, time.UTC)} {
		sub := invoice.Subscription{
			ID: "sub-1", Customer: invoice.Customer{ID: "acme"}, Currency: ensemble.MustCurrency("EUR"), Anchor: jan1, CancelAt: end,
			Term: invoice.Term{Length: ensemble.Every(24, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{
				Rule: invoice.TerminationPeriods, Periods: ensemble.Every(3, ensemble.Monthly), CapAtRemaining: true}},
			Items: []invoice.Item{{ID: "seats", Segments: []invoice.Segment{
				{Start: jan1, End: jun1, Pin: team, Quantity: decimal.NewFromInt(10)},
				{Start: jun1, Pin: team, Quantity: decimal.NewFromInt(15)},
			}}},
		}
		invs, err := b.Build(invoice.Run{After: end.AddDate(0, 0, -1), At: end}, []invoice.Subscription{sub})
		if err != nil {
			panic(err)
		}
		for _, l := range invs[0].Lines {
			if l.Kind == invoice.KindEarlyTermination {
				fmt.Printf("%s: %s (%s)\n", end.Format(time.DateOnly), l.Amount, l.Description)
			}
		}
	}
	// Output:
	// 2026-09-15: EUR 2250.00 (Early termination fee: 3 months of charges, no more than the remaining value)
	// 2027-11-16: EUR 1125.00 (Early termination fee: the remaining value, less than 3 months of charges)
}
