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
