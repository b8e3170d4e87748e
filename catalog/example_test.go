package catalog_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/shopspring/decimal"
)

const exampleYAML = `
offers:
  - id: storage
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: gb-month
        type: usage
        meter: storage_gb
        price:
          model: graduated
          tiers:
            - {up_to: 100, unit_amount: "0.10", flat_amount: "5"}
            - {up_to: 1000, unit_amount: "0.08"}
            - {unit_amount: "0.05", flat_amount: "10"}
`

// Load a catalog, find the version in force, and rate a quantity.
func Example() {
	cat, err := catalog.LoadYAML([]byte(exampleYAML))
	if err != nil {
		panic(err)
	}
	pin, err := cat.PinAt("storage", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	rater, err := cat.Rater(pin, "gb-month")
	if err != nil {
		panic(err)
	}
	rating, err := rater.Rate(decimal.RequireFromString("1500"), catalog.RateOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(rating.Price, rating.Amount)
	for _, l := range rating.Lines {
		fmt.Printf("tier %d: %s × %s + %s = %s\n", l.Tier, l.Quantity, l.UnitAmount.AmountString(), l.FlatAmount.AmountString(), l.Subtotal.AmountString())
	}
	// Output:
	// price:storage/gb-month@1 EUR 122.00
	// tier 0: 100 × 0.10 + 5.00 = 15.00
	// tier 1: 900 × 0.08 + 0.00 = 72.00
	// tier 2: 500 × 0.05 + 10.00 = 35.00
}

// A volume price bills every unit at the tier the quantity reaches; rounding
// happens once, on the line total, in the mode asked for.
func ExampleRater_Rate() {
	r, err := catalog.NewRater(catalog.Price{Model: catalog.Volume, Tiers: []catalog.Tier{
		{UpTo: ptr(decimal.RequireFromString("1000")), UnitAmount: decimal.RequireFromString("0.08")},
		{UnitAmount: decimal.RequireFromString("0.05"), FlatAmount: decimal.RequireFromString("10")},
	}}, ensemble.MustCurrency("EUR"))
	if err != nil {
		panic(err)
	}
	for _, mode := range []ensemble.RoundingMode{ensemble.RoundHalfAwayFromZero, ensemble.RoundHalfEven} {
		got, err := r.Rate(decimal.RequireFromString("1000.5"), catalog.RateOptions{Mode: mode})
		if err != nil {
			panic(err)
		}
		fmt.Println(mode, got.Lines[0].Subtotal.AmountString(), got.Amount)
	}
	// Output:
	// half_away_from_zero 60.025 EUR 60.03
	// half_even 60.025 EUR 60.02
}

// Amount is the hot-path call: the same amount as Rate, without the
// breakdown.
func ExampleRater_Amount() {
	r, err := catalog.NewRater(catalog.Price{
		Model: catalog.Package, Amount: decimal.RequireFromString("500"),
		PackageSize: decimal.RequireFromString("100"), PackageRounding: catalog.RoundUpPackages,
	}, ensemble.MustCurrency("JPY"))
	if err != nil {
		panic(err)
	}
	got, err := r.Amount(decimal.RequireFromString("250"), catalog.RateOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(got)
	// Output: JPY 1500
}

// Progressive billing: each invoice bills the cumulative quantity's amount
// minus what the quantity already billed cost.
func ExampleRater_RateDelta() {
	cat, err := catalog.LoadYAML([]byte(exampleYAML))
	if err != nil {
		panic(err)
	}
	r, err := cat.Rater(catalog.Pin{Offer: "storage", Version: 1}, "gb-month")
	if err != nil {
		panic(err)
	}
	interim, final := catalog.RateOptions{Interim: true}, catalog.RateOptions{}
	first, _ := r.Rate(decimal.RequireFromString("90"), interim)
	second, _ := r.RateDelta(decimal.RequireFromString("90"), decimal.RequireFromString("1100"), interim, interim)
	last, _ := r.RateDelta(decimal.RequireFromString("1100"), decimal.RequireFromString("1200"), interim, final)
	fmt.Println(first.Amount, second.Amount, last.Amount, last.Cumulative.Amount)
	// Output: EUR 14.00 EUR 88.00 EUR 5.00 EUR 107.00
}

// A bundle line's retail amount splits into supplier costs and a margin
// that add back to it exactly. The compute supplier's 55% applies to the
// bundle's recurring and usage charges, the default: the EUR 500 onboarding
// fee pays it nothing unless the bundle says applies_to: all, or names the
// fee.
func ExampleCatalog_SupplierCosts() {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: compute, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: cloud-suite
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: onboarding, type: one_time, price: {model: flat, amount: "500.00"}}
      - {id: monthly, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "200.00"}}
    components:
      - {offer: compute, supplier: computeco, cost: {ratio: "55%"}}
`))
	if err != nil {
		panic(err)
	}
	pin := catalog.Pin{Offer: "cloud-suite", Version: 1}
	one := decimal.RequireFromString("1")
	for _, line := range []struct {
		charge catalog.ChargeID
		retail string
	}{{"onboarding", "500.00"}, {"monthly", "200.00"}} {
		costs, err := cat.SupplierCosts(pin, line.charge, ensemble.MustMoney(line.retail, "EUR"), one, catalog.CostOptions{})
		if err != nil {
			panic(err)
		}
		for _, c := range costs.Costs {
			fmt.Println(line.charge, c.Supplier, c.Ratio.Percent(), c.Cost)
		}
		for _, c := range costs.NotApplied {
			fmt.Println(line.charge, c.Supplier, "not applied: applies to", c.AppliesTo)
		}
		fmt.Println(line.charge, "margin", costs.Margin)
	}
	// Output:
	// onboarding computeco not applied: applies to recurring
	// onboarding margin EUR 500.00
	// monthly computeco 55% EUR 110.00
	// monthly margin EUR 90.00
}

// A fixed cost in another currency than the bundle's is converted at the
// rate the host gives, rounded once, with the rate and both amounts kept:
// USD 12.35 × 2 units = USD 24.70; × 0.9234 = 22.807980, EUR 22.81. With no
// rate for the pair, the call fails naming it.
func ExampleCatalog_SupplierCosts_currency() {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: gpu, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: ai-suite
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "40.00"}}
    components:
      - {offer: gpu, supplier: gpuco, cost: {fixed: "12.35", currency: USD}}
`))
	if err != nil {
		panic(err)
	}
	pin := catalog.Pin{Offer: "ai-suite", Version: 1}
	retail, seats := ensemble.MustMoney("80.00", "EUR"), decimal.RequireFromString("2")
	rates := catalog.Rates{{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"), Rate: ensemble.MustRatio("0.9234")}}
	costs, err := cat.SupplierCosts(pin, "seats", retail, seats, catalog.CostOptions{Rates: rates})
	if err != nil {
		panic(err)
	}
	c := costs.Costs[0]
	fmt.Println(c.Supplier, c.Fixed, "a seat:", c.Source, "at", c.Rate, "=", c.Cost)
	fmt.Println("margin", costs.Margin)

	_, err = cat.SupplierCosts(pin, "seats", retail, seats, catalog.CostOptions{})
	var re *catalog.RateError
	fmt.Println(errors.As(err, &re), re.From, re.To)
	fmt.Println(err)
	// Output:
	// gpuco USD 12.35 a seat: USD 24.70 at 0.9234 = EUR 22.81
	// margin EUR 57.19
	// true USD EUR
	// catalog: offer "ai-suite"@1 component "gpu/gpuco": no exchange rate from USD to EUR
}

// Retiring a version stops new sales at an instant; an order that pinned it
// keeps resolving it.
func ExampleCatalog_Retire() {
	cat, err := catalog.LoadYAML([]byte(exampleYAML))
	if err != nil {
		panic(err)
	}
	pin := catalog.Pin{Offer: "storage", Version: 1}
	retired, err := cat.Retire(pin, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	_, err = retired.PinAt("storage", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(errors.Is(err, catalog.ErrNotInForce))
	o, err := retired.Offer(pin)
	fmt.Println(o.ID, o.Version, err)
	// Output:
	// true
	// storage 1 <nil>
}

// Validation reports every problem at once, each at its path.
func ExampleNew() {
	_, err := catalog.New(catalog.Document{Offers: []catalog.Offer{{
		ID: "a", Version: 1, Currency: "ZZZ", EffectiveFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Charges: []catalog.Charge{{ID: "c", Type: catalog.Usage, Meter: "m", Price: catalog.Price{
			Model: catalog.Package, Amount: decimal.RequireFromString("-1"),
		}}},
	}}})
	var ve *ensemble.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// offers[0].currency: catalog: offer "a"@1: unknown currency: "ZZZ"
	// offers[0].charges[0].price.amount: catalog: offer "a"@1 charge "c": negative: "-1"
	// offers[0].charges[0].price.package_size: catalog: offer "a"@1 charge "c": package size must be above zero: "0"
}

func ptr[T any](v T) *T { return &v }
