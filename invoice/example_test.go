package invoice_test

import (
	"fmt"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/shopspring/decimal"
)

const exampleCatalog = `
offers:
  - id: basic
    version: 1
    name: Basic
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "10.00"}}
  - id: pro
    version: 1
    name: Pro
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "30.00"}}
`

func exampleBuilder() *invoice.Builder {
	cat, err := catalog.LoadYAML([]byte(exampleCatalog))
	if err != nil {
		panic(err)
	}
	b, err := invoice.NewBuilder(cat, invoice.Options{
		Basis: ensemble.ProrateDaysEndExclusive,
		Taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "vat-fr", Region: "FR", Rate: ensemble.MustRatio("20%")}}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// exampleSubscription upgrades 3 seats of Basic to Pro on March 16.
func exampleSubscription() invoice.Subscription {
	mar1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mar16 := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	return invoice.Subscription{
		ID:       "sub-1",
		Customer: invoice.Customer{ID: "acme", Region: "FR"},
		Currency: ensemble.MustCurrency("EUR"),
		Anchor:   mar1,
		Items: []invoice.Item{{ID: "plan", PartnerDiscount: ensemble.MustRatio("10%"), Segments: []invoice.Segment{
			{Start: mar1, End: mar16, Pin: catalog.Pin{Offer: "basic", Version: 1}, Quantity: decimal.NewFromInt(3)},
			{Start: mar16, Pin: catalog.Pin{Offer: "pro", Version: 1}, Quantity: decimal.NewFromInt(3)},
		}}},
	}
}

// Build the invoice of April 1 for a subscription upgraded mid-March: the
// unused half of Basic is credited, Pro charged from the change, and April
// billed in advance.
func Example() {
	b := exampleBuilder()
	run := invoice.Run{After: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), At: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	invs, err := b.Build(run, []invoice.Subscription{exampleSubscription()})
	if err != nil {
		panic(err)
	}
	inv := invs[0]
	for _, l := range inv.Lines {
		fmt.Printf("%-17s %s %s..%s %7s net %7s\n", l.Kind, l.Pin, l.Period.Start.Format("01-02"), l.Period.End.Format("01-02"), l.Amount.AmountString(), l.Net.AmountString())
	}
	fmt.Println("subtotal", inv.Subtotal, "tax", inv.Tax, "total", inv.Total)
	// Output:
	// proration_credit  basic@1 03-16..04-01  -15.48 net  -13.93
	// recurring         pro@1 03-16..04-01   46.45 net   41.80
	// recurring         pro@1 04-01..05-01   90.00 net   81.00
	// subtotal EUR 108.87 tax EUR 21.77 total EUR 130.64
}

// Explain answers "why is this line this amount" from the line's trace.
func ExampleExplain() {
	b := exampleBuilder()
	run := invoice.Run{After: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), At: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)}
	invs, err := b.Build(run, []invoice.Subscription{exampleSubscription()})
	if err != nil {
		panic(err)
	}
	fmt.Print(invoice.Explain(invs[0].Lines[1]))
	// Output:
	// sub-1/plan/20260301T000000Z/pro/seats/recurring/20260316T000000Z: Pro: Seats
	//   recurring line of subscription sub-1, item plan, customer acme, due 2026-03-16
	//   offer pro@1, charge seats (per_unit), quantity 3
	//   full cycle [2026-03-01, 2026-04-01): EUR 90.00
	//     tier 0: 3 × 30.00 + 0.00 = 90.00
	//   prorated 16/31 (days_end_exclusive) for [2026-03-16, 2026-04-01): round(90.00 × 1) - round(90.00 × 15/31) = 90.00 - 43.55
	//   amount EUR 46.45
	//   discount partner 10%: -EUR 4.65
	//   tax vat-fr 20% exclusive: EUR 8.36
	//   net EUR 41.80 + tax EUR 8.36 = total EUR 50.16
}

// Credit notes reverse issued lines; crediting everything returns exactly
// the invoice's tax.
func ExampleNewCreditNote() {
	b := exampleBuilder()
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	invs, err := b.Build(invoice.Run{After: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), At: at}, []invoice.Subscription{exampleSubscription()})
	if err != nil {
		panic(err)
	}
	inv, err := invoice.Issue(invs[0], at)
	if err != nil {
		panic(err)
	}
	line := inv.Lines[0].ID
	one, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "1", Reason: invoice.ReasonRefund, At: at,
		Lines: []invoice.CreditLine{{Line: line, Quantity: decimal.NewFromInt(1)}}})
	if err != nil {
		panic(err)
	}
	rest, err := invoice.NewCreditNote(inv, []invoice.CreditNote{one}, invoice.CreditRequest{ID: "2", Reason: invoice.ReasonGoodwill, At: at, Full: true})
	if err != nil {
		panic(err)
	}
	fmt.Println("invoice", inv.Subtotal, inv.Tax, inv.Total)
	fmt.Println("note 1 ", one.Subtotal, one.Tax, one.Total)
	fmt.Println("note 2 ", rest.Subtotal, rest.Tax, rest.Total)
	// Output:
	// invoice EUR 81.00 EUR 16.20 EUR 97.20
	// note 1  EUR -27.00 EUR -5.40 EUR -32.40
	// note 2  EUR -54.00 EUR -10.80 EUR -64.80
}
