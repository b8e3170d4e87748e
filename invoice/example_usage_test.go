package invoice_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
)

const usageCatalog = `
offers:
  - id: api
    version: 1
    name: API
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: calls
        name: API calls
        type: usage
        meter: api_calls
        price:
          model: graduated
          tiers:
            - {up_to: 100, unit_amount: "0"}
            - {up_to: 1000, unit_amount: "0.05"}
            - {unit_amount: "0.02"}
`

// The usage lines of a subscription are what usage.Config needs: the
// reference records carry, when the item was active and the periods its
// usage is billed in.
func ExampleBuilder_UsageLines() {
	cat, err := catalog.LoadYAML([]byte(usageCatalog))
	if err != nil {
		panic(err)
	}
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	if err != nil {
		panic(err)
	}
	feb1 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	s := invoice.Subscription{ID: "sub-1", Customer: invoice.Customer{ID: "acme"}, Currency: ensemble.MustCurrency("EUR"), Anchor: feb1,
		Items: []invoice.Item{{ID: "api", Segments: []invoice.Segment{{Start: feb1, Pin: catalog.Pin{Offer: "api", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
	lines, err := b.UsageLines(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), s)
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l.Ref, l.Active, l.Cadence, "from", l.Anchor.Format(time.DateOnly))
	}
	// Output:
	// sub-1/api [[2026-02-01T00:00:00Z, 2026-05-01T00:00:00Z)] monthly from 2026-02-01
}

// Two monthly runs with late usage: the records delivered for the run of
// May 1 hold a March record that was missing when March was billed on
// April 1. The usage is collected with the periods billed closed, so the
// record is an adjustment; LateUsageFrom pairs it with what March billed
// (BilledUsage, kept from run to run), and the run bills
// rate(800 + 500) - rate(800) = 51.00 - 35.00.
func ExampleLateUsageFrom() {
	cat, err := catalog.LoadYAML([]byte(usageCatalog))
	if err != nil {
		panic(err)
	}
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	if err != nil {
		panic(err)
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	subs := []invoice.Subscription{{ID: "sub-1", Customer: invoice.Customer{ID: "acme", TaxExempt: true}, Currency: ensemble.MustCurrency("EUR"), Anchor: day(3, 1),
		Items: []invoice.Item{{ID: "api", Segments: []invoice.Segment{{Start: day(3, 1), Pin: catalog.Pin{Offer: "api", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}}
	meters := []usage.Meter{{ID: "api_calls", Unit: "call", Aggregation: usage.Sum}}
	deliveries := [][]usage.Record{
		{{ID: "r1", Line: "sub-1/api", Meter: "api_calls", At: day(3, 4), Quantity: decimal.NewFromInt(800)}},
		{{ID: "r2", Line: "sub-1/api", Meter: "api_calls", At: day(3, 30), Quantity: decimal.NewFromInt(500)},
			{ID: "r3", Line: "sub-1/api", Meter: "api_calls", At: day(4, 9), Quantity: decimal.NewFromInt(150)}},
	}

	var ledger usage.Ledger      // the records billed, persisted between runs
	var billed []usage.Aggregate // the usage billed, persisted between runs
	after := day(3, 1)
	for i, at := range []time.Time{day(4, 1), day(5, 1)} {
		lines, err := b.UsageLines(at, subs...)
		if err != nil {
			panic(err)
		}
		rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines, ClosedBefore: after, Ledger: ledger}, slices.Values(deliveries[i]))
		if err != nil {
			panic(err)
		}
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		if err != nil {
			panic(err)
		}
		run := invoice.Run{After: after, At: at, Usage: rep.Aggregates, Late: late}
		invs, err := b.Build(run, subs)
		if err != nil {
			panic(err)
		}
		for _, l := range invs[0].Lines {
			fmt.Printf("%s %-16s %s %5s calls %s\n", at.Format("Jan 2"), l.Kind, l.Period.Start.Format("Jan"), l.Quantity, l.Amount)
		}
		done, err := b.BilledUsage(run, subs, meters)
		if err != nil {
			panic(err)
		}
		billed, ledger, after = append(billed, done...), rep.Ledger, at
	}
	// Output:
	// Apr 1 usage            Mar   800 calls EUR 35.00
	// May 1 usage_adjustment Mar  1300 calls EUR 16.00
	// May 1 usage            Apr   150 calls EUR 2.50
}

// An upgrade mid-month: 800 GB stored on Standard (tiered) before April 15
// and 400 GB on Pro (1,000 GB included) after. April's usage is billed per
// piece, each at its own offer (SplitAtChange, the default); SplitNone
// would price all 1,200 GB at Pro (16.00).
func ExampleBuilder_UsageLines_upgrade() {
	b, err := invoice.NewBuilder(splitCatalog, invoice.Options{})
	if err != nil {
		panic(err)
	}
	apr1, apr15, may1 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s := invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "c1", TaxExempt: true}, Currency: ensemble.MustCurrency("EUR"), Anchor: apr1,
		Items: []invoice.Item{{ID: "storage", Segments: []invoice.Segment{
			{Start: apr1, End: apr15, Pin: catalog.Pin{Offer: "standard", Version: 1}, Quantity: decimal.NewFromInt(1)},
			{Start: apr15, Pin: catalog.Pin{Offer: "pro", Version: 1}, Quantity: decimal.NewFromInt(1)},
		}}}}
	lines, err := b.UsageLines(may1, s)
	if err != nil {
		panic(err)
	}
	fmt.Println("periods:", lines[0].Periods)
	rep, err := usage.Collect(usage.Config{Meters: []usage.Meter{{ID: "gb", Aggregation: usage.Sum}}, Lines: lines}, slices.Values([]usage.Record{
		{ID: "r1", Line: "s1/storage", Meter: "gb", At: apr1.AddDate(0, 0, 5), Quantity: decimal.NewFromInt(800)},
		{ID: "r2", Line: "s1/storage", Meter: "gb", At: apr15.AddDate(0, 0, 5), Quantity: decimal.NewFromInt(400)},
	}))
	if err != nil {
		panic(err)
	}
	invs, err := b.Build(invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, []invoice.Subscription{s})
	if err != nil {
		panic(err)
	}
	for _, l := range invs[0].Lines {
		fmt.Println(l.Pin.Offer, l.Quantity, "GB", l.Period, l.Amount)
	}
	fmt.Println("total", invs[0].Total)
	// Output:
	// periods: [[2026-04-01T00:00:00Z, 2026-04-15T00:00:00Z) [2026-04-15T00:00:00Z, 2026-05-01T00:00:00Z)]
	// standard 800 GB [2026-04-01T00:00:00Z, 2026-04-15T00:00:00Z) EUR 52.00
	// pro 400 GB [2026-04-15T00:00:00Z, 2026-05-01T00:00:00Z) EUR 0.00
	// total EUR 52.00
}
