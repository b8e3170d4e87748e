package ensemble_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
)

func ExampleAllocate() {
	total := ensemble.MustMoney("100.00", "EUR")
	parts, err := ensemble.Allocate(total, []ensemble.Share{
		{Key: "distributor", Weight: ensemble.MustRatio("1/3")},
		{Key: "reseller", Weight: ensemble.MustRatio("1/3")},
		{Key: "platform", Weight: ensemble.MustRatio("1/3")},
	}, ensemble.AllocateOptions{})
	if err != nil {
		panic(err)
	}
	// The leftover cent goes to the largest remainder; all three tie, so the
	// byte-wise smallest key ("distributor") takes it, whatever the order.
	fmt.Println(parts)
	// Output: [EUR 33.34 EUR 33.33 EUR 33.33]
}

func ExampleAllocate_zeroWeight() {
	// Numscript splits 3 cents 0/50/50 as 1/1/1; a zero weight here always
	// gets zero.
	parts, _ := ensemble.Allocate(ensemble.MustMoney("0.03", "USD"), []ensemble.Share{
		{Key: "referrer", Weight: ensemble.MustRatio("0%")},
		{Key: "seller", Weight: ensemble.MustRatio("50%")},
		{Key: "supplier", Weight: ensemble.MustRatio("50%")},
	}, ensemble.AllocateOptions{})
	fmt.Println(parts)
	// Output: [USD 0.00 USD 0.02 USD 0.01]
}

func ExampleAllocateUnits() {
	// In minor units, with no allocation at all: a hot-path building block.
	dst := make([]int64, 2)
	err := ensemble.AllocateUnits(dst, -1001, []ensemble.Share{
		{Key: "a", Weight: ensemble.MustRatio("1")},
		{Key: "b", Weight: ensemble.MustRatio("1")},
	}, ensemble.AllocateOptions{Method: ensemble.FirstInOrder})
	fmt.Println(dst, err)
	// Output: [-501 -500] <nil>
}

func ExampleMoney_Split() {
	parts, _ := ensemble.MustMoney("10.00", "EUR").Split(3)
	fmt.Println(parts)
	// Output: [EUR 3.34 EUR 3.33 EUR 3.33]
}

func ExampleNewMoney() {
	price, err := ensemble.NewMoney("0.00013", "EUR") // per GB: finer than a cent is legal
	if err != nil {
		panic(err)
	}
	line := price.Mul(decimal.NewFromInt(28_346))
	fmt.Println(line, "->", line.Round(ensemble.RoundHalfAwayFromZero))
	// Output: EUR 3.68498 -> EUR 3.68
}

func ExampleMoney_Add() {
	a := ensemble.MustMoney("12.30", "EUR")
	sum, _ := a.Add(ensemble.MustMoney("0.70", "EUR"))
	fmt.Println(sum)
	_, err := a.Add(ensemble.MustMoney("1.00", "USD"))
	fmt.Println(err, errors.Is(err, ensemble.ErrCurrencyMismatch))
	// Output:
	// EUR 13.00
	// ensemble: add: currency mismatch EUR and USD true
}

func ExampleArith() {
	lines := []ensemble.Money{ensemble.MustMoney("12.30", "EUR"), ensemble.MustMoney("0.70", "EUR"), ensemble.MustMoney("5.00", "USD")}
	var x ensemble.Arith
	total := ensemble.MustMoney("0", "EUR")
	for _, l := range lines {
		total = x.Add(total, l)
	}
	if err := x.Err(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(total)
	// Output: ensemble: add: currency mismatch EUR and USD
}

func ExampleMoney_Round() {
	m := ensemble.MustMoney("3.685", "EUR") // 55 × 0.067
	for _, mode := range []ensemble.RoundingMode{ensemble.RoundHalfAwayFromZero, ensemble.RoundHalfEven, ensemble.RoundDown} {
		fmt.Println(mode, m.Round(mode))
	}
	// Output:
	// half_away_from_zero EUR 3.69
	// half_even EUR 3.68
	// down EUR 3.68
}

func ExampleMoney_MarshalJSON() {
	b, _ := json.Marshal(ensemble.MustMoney("12.3", "EUR"))
	fmt.Println(string(b))
	var m ensemble.Money
	_ = json.Unmarshal([]byte(`{"amount":"0.005","currency":"KWD"}`), &m)
	fmt.Println(m)
	// Output:
	// {"amount":"12.30","currency":"EUR"}
	// KWD 0.005
}

func ExampleParseRatio() {
	for _, s := range []string{"1/3", "12.5%", "0.125", "6/4"} {
		r, _ := ensemble.ParseRatio(s)
		fmt.Println(s, "=", r)
	}
	third := ensemble.MustRatio("1/3")
	fmt.Println("three thirds:", third.Add(third).Add(third))
	// Output:
	// 1/3 = 1/3
	// 12.5% = 0.125
	// 0.125 = 0.125
	// 6/4 = 1.5
	// three thirds: 1
}

func ExampleRound() {
	d := decimal.RequireFromString("-2.5")
	fmt.Println(ensemble.Round(d, 0, ensemble.RoundHalfAwayFromZero), ensemble.Round(d, 0, ensemble.RoundHalfEven), ensemble.Round(d, 0, ensemble.RoundCeiling))
	// Output: -3 -2 -2
}

func ExampleProrate() {
	month := ensemble.MustPeriod(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	// An upgrade at noon on January 15th: the unused part of the month.
	rest := ensemble.MustPeriod(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), month.End)
	for _, basis := range []ensemble.ProrationBasis{ensemble.ProrateExactTime, ensemble.ProrateDaysEndExclusive, ensemble.ProrateDaysEndInclusive, ensemble.ProrateThirtyDayMonth, ensemble.ProrateThirtyDayCalendarMonth} {
		f, _ := ensemble.Prorate(rest, month, ensemble.ProrateOptions{Basis: basis, Location: time.UTC})
		fmt.Printf("%-25s %-6s credit %s\n", basis, f, ensemble.MustMoney("31.00", "EUR").MulRatio(f, ensemble.RoundHalfAwayFromZero))
	}
	// Output:
	// exact_time                33/62  credit EUR 16.50
	// days_end_exclusive        17/31  credit EUR 17.00
	// days_end_inclusive        17/31  credit EUR 17.00
	// thirty_day_month          31/60  credit EUR 16.02
	// thirty_day_calendar_month 8/15   credit EUR 16.53
}

func ExampleProrate_killBillStub() {
	// A monthly plan billed on the 23rd, started on February 15: the stub
	// up to the February 23 bill date, in its cycle [Jan 23, Feb 23).
	cycle := ensemble.MustPeriod(time.Date(2023, 1, 23, 0, 0, 0, 0, time.UTC), time.Date(2023, 2, 23, 0, 0, 0, 0, time.UTC))
	stub := ensemble.MustPeriod(time.Date(2023, 2, 15, 0, 0, 0, 0, time.UTC), cycle.End)
	for _, basis := range []ensemble.ProrationBasis{ensemble.ProrateThirtyDayCalendarMonth, ensemble.ProrateThirtyDayMonth} {
		f, _ := ensemble.Prorate(stub, cycle, ensemble.ProrateOptions{Basis: basis})
		fmt.Printf("%-25s %-5s %s\n", basis, f, ensemble.MustMoney("19.95", "USD").MulRatio(f, ensemble.RoundHalfAwayFromZero))
	}
	// Output:
	// thirty_day_calendar_month 4/15  USD 5.32
	// thirty_day_month          7/30  USD 4.66
}

func ExamplePeriodThrough() {
	// Lago's "January 1 to January 31", both days included.
	jan, _ := ensemble.PeriodThrough(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), time.UTC)
	days, _ := jan.Measure(ensemble.ProrateDaysEndInclusive, time.UTC)
	fmt.Println(jan, days)
	// The last day's own midnight ends the period a day early.
	short := ensemble.MustPeriod(jan.Start, time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC))
	days, _ = short.Measure(ensemble.ProrateDaysEndInclusive, time.UTC)
	fmt.Println(short, days)
	// Output:
	// [2026-01-01T00:00:00Z, 2026-02-01T00:00:00Z) 31
	// [2026-01-01T00:00:00Z, 2026-01-31T00:00:00Z) 30
}

func ExampleCadence_Periods() {
	anchor := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	span := ensemble.MustPeriod(anchor, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
	periods, _ := ensemble.Every(1, ensemble.Monthly).Periods(anchor, span, time.UTC)
	for p := range periods {
		fmt.Println(p.Start.Format("Jan 2"), "->", p.End.Format("Jan 2"))
	}
	// Output:
	// Jan 31 -> Feb 29
	// Feb 29 -> Mar 31
	// Mar 31 -> Apr 30
	// Apr 30 -> May 31
}

func ExampleProblems() {
	var p ensemble.Problems
	p.Addf(ensemble.Path("offers", 3, "charges", 1, "tiers", 2, "up_to"), "must be above %s", "100")
	p.Addf(ensemble.Path("offers", 4, "currency"), "unknown currency %q", "ZZZ")
	err := p.Err("catalog")
	var ve *ensemble.ValidationError
	if errors.As(err, &ve) {
		for _, problem := range ve.Problems {
			fmt.Println(problem)
		}
	}
	// Output:
	// offers[3].charges[1].tiers[2].up_to: must be above 100
	// offers[4].currency: unknown currency "ZZZ"
}

func ExampleYAMLToJSON() {
	js, err := ensemble.YAMLToJSON([]byte("price: 0.1\ntiers: [10, 20.50]\nname: gold\n"))
	fmt.Println(string(js), err)
	// Output: {"price":0.1,"tiers":[10,20.50],"name":"gold"} <nil>
}

// Example is the README's taste: prorate an upgrade, then split the charge.
func Example() {
	month := ensemble.MustPeriod(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	rest := ensemble.MustPeriod(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), month.End)

	f, _ := ensemble.Prorate(rest, month, ensemble.ProrateOptions{Basis: ensemble.ProrateDaysEndExclusive})
	charge := ensemble.MustMoney("99.00", "EUR").MulRatio(f, ensemble.RoundHalfAwayFromZero)

	parts, err := ensemble.Allocate(charge, []ensemble.Share{
		{Key: "platform", Weight: ensemble.MustRatio("20%")},
		{Key: "distributor", Weight: ensemble.MustRatio("1/3")},
		{Key: "reseller", Weight: ensemble.MustRatio("1/3")},
		{Key: "referrer", Weight: ensemble.MustRatio("0%")},
		{Key: "supplier", Weight: ensemble.MustRatio("2/15")},
	}, ensemble.AllocateOptions{})
	fmt.Println(f, charge)
	fmt.Println(parts, err)
	// Output:
	// 17/31 EUR 54.29
	// [EUR 10.86 EUR 18.10 EUR 18.09 EUR 0.00 EUR 7.24] <nil>
}

func ExampleParseCurrency() {
	for _, code := range []string{"EUR", "JPY", "KWD", "ZZZ"} {
		c, err := ensemble.ParseCurrency(code)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(c, "minor digits:", c.Digits())
	}
	// Output:
	// EUR minor digits: 2
	// JPY minor digits: 0
	// KWD minor digits: 3
	// ensemble: parse currency "ZZZ": not an ISO 4217 currency that is legal tender today; declare it as a unit, and where no registry is given (plans, rates, stored amounts) write it with its minor digits, "ZZZ:DIGITS"
}

func ExampleMoneyFromMinor() {
	fmt.Println(ensemble.MoneyFromMinor(1230, ensemble.MustCurrency("EUR")))
	fmt.Println(ensemble.MoneyFromMinor(1230, ensemble.MustCurrency("JPY")))
	fmt.Println(ensemble.MoneyFromMinor(1230, ensemble.MustCurrency("KWD")))
	// Output:
	// EUR 12.30
	// JPY 1230
	// KWD 1.230
}

func ExampleMoneyFromDecimal() {
	m := ensemble.MoneyFromDecimal(decimal.RequireFromString("0.125"), ensemble.MustCurrency("USD"))
	fmt.Println(m, m.IsRounded())
	// Output: USD 0.125 false
}

func ExampleParseMoney() {
	m, err := ensemble.ParseMoney("EUR 12.30")
	fmt.Println(m, err)
	_, err = ensemble.ParseMoney("EUR 1e3")
	fmt.Println(err)
	// Output:
	// EUR 12.30 <nil>
	// ensemble: parse money "EUR 1e3": decimal: want plain decimal notation such as 12.30
}

func ExampleMoney_Sub() {
	paid := ensemble.MustMoney("100.00", "EUR")
	refunded := ensemble.MustMoney("30.55", "EUR")
	left, _ := paid.Sub(refunded)
	fmt.Println(left, left.Neg(), left.Neg().Abs())
	// Output: EUR 69.45 EUR -69.45 EUR 69.45
}

func ExampleMoney_Mul() {
	unit := ensemble.MustMoney("0.067", "USD")
	line := unit.Mul(decimal.NewFromInt(55))
	fmt.Println(line, "rounded once:", line.Round(ensemble.RoundHalfAwayFromZero))
	// Output: USD 3.685 rounded once: USD 3.69
}

func ExampleMoney_Cmp() {
	a, b := ensemble.MustMoney("1.0", "EUR"), ensemble.MustMoney("1.00", "EUR")
	c, err := a.Cmp(b)
	fmt.Println(c, err, a.Equal(b))
	_, err = a.Cmp(ensemble.MustMoney("1", "USD"))
	fmt.Println(err)
	// Output:
	// 0 <nil> true
	// ensemble: cmp: currency mismatch EUR and USD
}

func ExampleMoney_MinorUnits() {
	u, err := ensemble.MustMoney("12.30", "EUR").MinorUnits()
	fmt.Println(u, err)
	_, err = ensemble.MustMoney("12.305", "EUR").MinorUnits()
	fmt.Println(errors.Is(err, ensemble.ErrNotMinorUnits))
	// Output:
	// 1230 <nil>
	// true
}

func ExampleMoney_MulRatio() {
	fmt.Println(ensemble.MustMoney("10.00", "EUR").MulRatio(ensemble.MustRatio("1/3"), ensemble.RoundHalfAwayFromZero))
	// Output: EUR 3.33
}

func ExamplePeriod_Overlap() {
	jan := ensemble.MustPeriod(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	active := ensemble.MustPeriod(time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	in, ok := jan.Overlap(active)
	fmt.Println(in, ok)
	fmt.Println(jan.Contains(jan.Start), jan.Contains(jan.End), in.Duration())
	// Output:
	// [2026-01-20T00:00:00Z, 2026-02-01T00:00:00Z) true
	// true false 288h0m0s
}

func ExampleCadence_Boundary() {
	anchor := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	for n := range 4 {
		b, _ := ensemble.Every(1, ensemble.Monthly).Boundary(anchor, n, time.UTC)
		fmt.Println(b.Format("2006-01-02 15:04"))
	}
	// Output:
	// 2026-01-31 09:00
	// 2026-02-28 09:00
	// 2026-03-31 09:00
	// 2026-04-30 09:00
}

func ExampleCadence_PeriodAt() {
	anchor := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	p, n, _ := ensemble.Every(1, ensemble.Quarterly).PeriodAt(anchor, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	fmt.Println(n, p)
	// Output: 1 [2026-04-15T00:00:00Z, 2026-07-15T00:00:00Z)
}

func ExamplePeriod_Measure() {
	feb := ensemble.MustPeriod(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	for _, basis := range []ensemble.ProrationBasis{ensemble.ProrateExactTime, ensemble.ProrateDaysEndExclusive, ensemble.ProrateThirtyDayMonth, ensemble.ProrateThirtyDayCalendarMonth} {
		m, _ := feb.Measure(basis, time.UTC)
		fmt.Println(basis, m)
	}
	// Output:
	// exact_time 2419200
	// days_end_exclusive 28
	// thirty_day_month 30
	// thirty_day_calendar_month 30
}

// Reproduce a Numscript split: leftover units go in declaration order, even
// to a share that was already whole.
func ExampleAllocate_numscriptOrder() {
	shares := []ensemble.Share{
		{Key: "platform", Weight: ensemble.MustRatio("50%")},
		{Key: "reseller", Weight: ensemble.MustRatio("25%")},
		{Key: "referrer", Weight: ensemble.MustRatio("25%")},
	}
	for _, method := range []ensemble.AllocationMethod{ensemble.LargestRemainder, ensemble.NumscriptOrder} {
		parts, err := ensemble.Allocate(ensemble.MustMoney("0.10", "EUR"), shares, ensemble.AllocateOptions{Method: method})
		if err != nil {
			panic(err)
		}
		fmt.Println(method, parts)
	}
	// Output:
	// largest_remainder [EUR 0.05 EUR 0.02 EUR 0.03]
	// numscript_order [EUR 0.06 EUR 0.02 EUR 0.02]
}

// Keep the units that do not divide evenly and book them yourself.
func ExampleAllocateWithRemainder() {
	shares := []ensemble.Share{{Key: "a", Weight: ensemble.MustRatio("2")}, {Key: "b", Weight: ensemble.MustRatio("3")}}
	for _, mode := range []ensemble.RemainderMode{ensemble.FloorParts, ensemble.WholeBlocks} {
		parts, rest, err := ensemble.AllocateWithRemainder(ensemble.MustMoney("0.07", "EUR"), shares, ensemble.RemainderOptions{Mode: mode})
		if err != nil {
			panic(err)
		}
		fmt.Println(mode, parts, "remainder", rest)
	}
	// Output:
	// floor_parts [EUR 0.02 EUR 0.04] remainder EUR 0.01
	// whole_blocks [EUR 0.02 EUR 0.03] remainder EUR 0.02
}

// Declare the units a marketplace settles in beyond ISO currencies, and use
// them wherever Money goes.
func ExampleUnits() {
	units, err := ensemble.NewUnits(ensemble.Unit{Code: "GEMS", Digits: 0}, ensemble.Unit{Code: "CREDITS", Digits: 4})
	if err != nil {
		panic(err)
	}
	pack, err := units.NewMoney("100", "GEMS")
	if err != nil {
		panic(err)
	}
	parts, err := ensemble.Allocate(pack, []ensemble.Share{
		{Key: "creator", Weight: ensemble.MustRatio("70%")},
		{Key: "platform", Weight: ensemble.MustRatio("30%")},
	}, ensemble.AllocateOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(parts)
	js, _ := json.Marshal(parts[0])
	fmt.Println(string(js)) // the digits travel with the code
	_, err = units.Currency("TOKENS")
	fmt.Println(err)
	// Output:
	// [GEMS 70 GEMS 30]
	// {"amount":"70","currency":"GEMS:0"}
	// ensemble: unit "TOKENS": not declared and not ISO 4217 legal tender
}
