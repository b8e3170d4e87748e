package catalog_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// genDec draws a non-negative decimal with up to maxScale digits after the
// point; now and then a large one, to leave the fixed-point fast path.
func genDec(t *rapid.T, label string, maxInt int64, maxScale int32) decimal.Decimal {
	if rapid.IntRange(0, 19).Draw(t, label+"_big") == 0 {
		big := rapid.StringMatching(`[1-9][0-9]{17,18}`).Draw(t, label+"_digits")
		return dec(big).Shift(-rapid.Int32Range(0, maxScale+2).Draw(t, label+"_bigscale"))
	}
	v := rapid.Int64Range(0, maxInt).Draw(t, label+"_coef")
	return decimal.New(v, -rapid.Int32Range(0, maxScale).Draw(t, label+"_scale"))
}

func genCurrency(t *rapid.T) ensemble.Currency {
	return ensemble.MustCurrency(rapid.SampledFrom([]string{"EUR", "JPY", "KWD", "USD"}).Draw(t, "currency"))
}

func genOptions(t *rapid.T) catalog.RateOptions {
	return catalog.RateOptions{
		Rounding: catalog.RoundingPolicy(rapid.IntRange(0, 2).Draw(t, "policy")),
		Mode:     ensemble.RoundingMode(rapid.IntRange(0, 6).Draw(t, "mode")),
		Interim:  rapid.Bool().Draw(t, "interim"),
	}
}

// genTiers draws 1 to 5 tiers with strictly increasing bounds and an open
// last tier.
func genTiers(t *rapid.T, rates bool) []catalog.Tier {
	n := rapid.IntRange(1, 5).Draw(t, "tiers")
	tiers := make([]catalog.Tier, n)
	bound := decimal.Zero
	for i := range tiers {
		if i < n-1 {
			step := genDec(t, "step", 5000, 2)
			if step.IsZero() {
				step = decimal.New(1, 0)
			}
			bound = bound.Add(step)
			b := bound
			tiers[i].UpTo = &b
		}
		if rates {
			tiers[i].Rate = ensemble.RatioFromDecimal(decimal.New(rapid.Int64Range(0, 5000).Draw(t, "bp"), -4))
		} else {
			tiers[i].UnitAmount = genDec(t, "unit", 100000, 5)
		}
		if rapid.Bool().Draw(t, "has_flat") {
			tiers[i].FlatAmount = genDec(t, "flat", 10000, 2)
		}
	}
	return tiers
}

// oracleGraduated prices q on tiers by the definition, with decimals only.
func oracleGraduated(tiers []catalog.Tier, q decimal.Decimal, rates bool) decimal.Decimal {
	sum, lower := decimal.Zero, decimal.Zero
	for i, t := range tiers {
		unit := t.UnitAmount
		if rates {
			unit = t.Rate.Decimal(10, ensemble.RoundHalfEven)
		}
		if i > 0 && q.Cmp(lower) <= 0 {
			break
		}
		sum = sum.Add(t.FlatAmount)
		top := q
		if t.UpTo != nil && t.UpTo.Cmp(q) < 0 {
			top = *t.UpTo
		}
		sum = sum.Add(top.Sub(lower).Mul(unit))
		if t.UpTo != nil {
			lower = *t.UpTo
		}
	}
	return sum
}

// oracleSlice prices the units in (b, c] of a graduated price: each tier's
// overlap with the slice, plus the flat amount of every tier first reached
// inside it.
func oracleSlice(tiers []catalog.Tier, b, c decimal.Decimal) decimal.Decimal {
	sum, lower := decimal.Zero, decimal.Zero
	for i, t := range tiers {
		lo, hi := decimal.Max(lower, b), c
		if t.UpTo != nil {
			hi = decimal.Min(*t.UpTo, c)
		}
		if hi.Cmp(lo) > 0 {
			sum = sum.Add(hi.Sub(lo).Mul(t.UnitAmount))
		}
		if i > 0 && lower.Cmp(b) >= 0 && lower.Cmp(c) < 0 {
			sum = sum.Add(t.FlatAmount)
		}
		if t.UpTo != nil {
			lower = *t.UpTo
		}
	}
	return sum
}

// noRange skips a case whose amounts need more than 40 digits, which Rate
// rejects with ErrOutOfRange (the generators reach it only at their edge),
// and fails on any other error.
func noRange(t *rapid.T, err error) {
	t.Helper()
	if errors.Is(err, catalog.ErrOutOfRange) {
		t.Skip("amount beyond 40 digits")
	}
	require.NoError(t, err)
}

func sumLines(rt catalog.Rating) decimal.Decimal {
	s := rt.Adjustment.Amount()
	for _, l := range rt.Lines {
		s = s.Add(l.Subtotal.Amount())
	}
	return s
}

func TestPropertyGraduated(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rates := rapid.Bool().Draw(t, "percentage")
		model := catalog.Graduated
		if rates {
			model = catalog.GraduatedPercentage
		}
		cur := genCurrency(t)
		tiers := genTiers(t, rates)
		r, err := catalog.NewRater(catalog.Price{Model: model, Tiers: tiers}, cur)
		require.NoError(t, err)
		q1 := genDec(t, "q1", 50000, 3)
		q2 := q1.Add(genDec(t, "more", 50000, 3))
		opts := genOptions(t)
		a1, err := r.Rate(q1, opts)
		noRange(t, err)
		a2, err := r.Rate(q2, opts)
		noRange(t, err)
		c, err := a1.Amount.Cmp(a2.Amount)
		require.NoError(t, err)
		require.LessOrEqual(t, c, 0, "non-decreasing: %s at %s, %s at %s", a1.Amount, q1, a2.Amount, q2)

		exact, err := r.Rate(q2, catalog.RateOptions{Rounding: catalog.RoundNone})
		noRange(t, err)
		want := oracleGraduated(tiers, q2, rates)
		require.True(t, exact.Amount.Amount().Equal(want), "exact %s, oracle %s", exact.Amount, want)
		require.True(t, sumLines(exact).Equal(exact.Amount.Amount()), "amount is the sum of its breakdown")
		perLine, err := r.Rate(q2, catalog.RateOptions{Mode: opts.Mode})
		noRange(t, err)
		require.True(t, perLine.Amount.Amount().Equal(ensemble.Round(sumLines(perLine), cur.Digits(), opts.Mode)))
		require.True(t, perLine.Amount.IsRounded())
		for i, l := range exact.Lines {
			require.Equal(t, i, l.Tier)
		}

		fast, err := r.Amount(q2, opts)
		noRange(t, err)
		requireMoney(t, fast, a2.Amount, "Amount agrees with Rate")
	})
}

func TestPropertyDelta(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		tiers := genTiers(t, false)
		p := catalog.Price{Model: catalog.Graduated, Tiers: tiers}
		if rapid.Bool().Draw(t, "has_min") {
			p.MinimumSpend = genDec(t, "min", 100000, 2)
		}
		r, err := catalog.NewRater(p, cur)
		require.NoError(t, err)
		// A period's usage arrives in steps: the first bill rates the first
		// quantity, every later one the delta; all but the last are interim.
		steps := rapid.SliceOfN(rapid.Int64Range(0, 20000), 1, 6).Draw(t, "steps")
		mode := ensemble.RoundingMode(rapid.IntRange(0, 6).Draw(t, "mode"))
		interim := catalog.RateOptions{Mode: mode, Interim: true}
		final := catalog.RateOptions{Mode: mode}
		billed := decimal.New(rapid.Int64Range(0, 20000).Draw(t, "first"), -1)
		opts := interim
		if len(steps) == 0 {
			opts = final
		}
		first, err := r.Rate(billed, opts)
		noRange(t, err)
		sum := first.Amount
		for i, s := range steps {
			cum := billed.Add(decimal.New(s, -1))
			exact, err := r.RateDelta(billed, cum, catalog.RateOptions{Rounding: catalog.RoundNone, Interim: true}, catalog.RateOptions{Rounding: catalog.RoundNone, Interim: true})
			noRange(t, err)
			want := oracleSlice(tiers, billed, cum)
			require.True(t, exact.Amount.Amount().Equal(want), "delta (%s, %s] = %s, slice price %s", billed, cum, exact.Amount, want)

			opts := interim
			if i == len(steps)-1 {
				opts = final
			}
			d, err := r.RateDelta(billed, cum, interim, opts)
			noRange(t, err)
			sum, err = sum.Add(d.Amount)
			require.NoError(t, err)
			billed = cum
		}
		total, err := r.Rate(billed, final)
		noRange(t, err)
		requireMoney(t, sum, total.Amount, "the bills add up to the rating of the final quantity")
	})
}

func TestPropertyVolume(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		tiers := genTiers(t, false)
		r, err := catalog.NewRater(catalog.Price{Model: catalog.Volume, Tiers: tiers}, cur)
		require.NoError(t, err)
		q := genDec(t, "q", 50000, 3)
		got, err := r.Rate(q, catalog.RateOptions{Rounding: catalog.RoundNone})
		noRange(t, err)
		k := len(tiers) - 1
		for i, tier := range tiers {
			if tier.UpTo != nil && q.Cmp(*tier.UpTo) <= 0 {
				k = i
				break
			}
		}
		want := q.Mul(tiers[k].UnitAmount).Add(tiers[k].FlatAmount)
		require.True(t, got.Amount.Amount().Equal(want), "volume %s at %s, want tier %d: %s", got.Amount, q, k, want)
		require.Len(t, got.Lines, 1)
		require.Equal(t, k, got.Lines[0].Tier)
		opts := genOptions(t)
		full, err := r.Rate(q, opts)
		noRange(t, err)
		fast, err := r.Amount(q, opts)
		noRange(t, err)
		requireMoney(t, fast, full.Amount, "Amount agrees with Rate")
	})
}

func TestPropertyPackage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		size := genDec(t, "size", 1000, 2)
		if size.IsZero() {
			size = decimal.New(1, 0)
		}
		rounding := catalog.PackageRounding(rapid.IntRange(0, 1).Draw(t, "rounding"))
		amount := genDec(t, "amount", 100000, 4)
		r, err := catalog.NewRater(catalog.Price{Model: catalog.Package, Amount: amount, PackageSize: size, PackageRounding: rounding}, cur)
		require.NoError(t, err)
		q := genDec(t, "q", 100000, 3)
		got, err := r.Rate(q, catalog.RateOptions{Rounding: catalog.RoundNone})
		noRange(t, err)
		n := got.Lines[0].Quantity
		require.True(t, n.IsInteger(), "a whole number of packages")
		// n packages cover q (up) or fit in q (down), and one fewer or more does not.
		if rounding == catalog.RoundUpPackages {
			require.True(t, n.Mul(size).Cmp(q) >= 0 && (n.IsZero() || n.Sub(decimal.New(1, 0)).Mul(size).Cmp(q) < 0), "ceil(%s/%s) = %s", q, size, n)
		} else {
			require.True(t, n.Mul(size).Cmp(q) <= 0 && n.Add(decimal.New(1, 0)).Mul(size).Cmp(q) > 0, "floor(%s/%s) = %s", q, size, n)
		}
		require.True(t, got.Amount.Amount().Equal(n.Mul(amount)))
		opts := genOptions(t)
		full, err := r.Rate(q, opts)
		noRange(t, err)
		fast, err := r.Amount(q, opts)
		noRange(t, err)
		requireMoney(t, fast, full.Amount, "Amount agrees with Rate")
	})
}

func TestPropertySpendBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		minor := func(label string) decimal.Decimal {
			return decimal.New(rapid.Int64Range(0, 100000).Draw(t, label), -cur.Digits())
		}
		lo := minor("min")
		hi := lo.Add(minor("span"))
		if rapid.Bool().Draw(t, "no_max") {
			hi = decimal.Zero
		}
		p := catalog.Price{Model: catalog.PerUnit, Amount: genDec(t, "unit", 100000, 4), MinimumSpend: lo, MaximumSpend: hi}
		if rapid.Bool().Draw(t, "graduated") {
			p = catalog.Price{Model: catalog.Graduated, Tiers: genTiers(t, false), MinimumSpend: lo, MaximumSpend: hi}
		}
		r, err := catalog.NewRater(p, cur)
		require.NoError(t, err)
		opts := genOptions(t)
		got, err := r.Rate(genDec(t, "q", 100000, 3), opts)
		noRange(t, err)
		a := got.Amount.Amount()
		if !opts.Interim {
			require.True(t, a.Cmp(lo) >= 0, "%s below the minimum %s", a, lo)
		}
		if hi.Sign() > 0 {
			require.True(t, a.Cmp(hi) <= 0, "%s above the maximum %s", a, hi)
		}
		if opts.Rounding == catalog.RoundNone {
			require.True(t, sumLines(got).Equal(a))
		}
	})
}

func TestPropertyPercentage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		rate := decimal.New(rapid.Int64Range(0, 10000).Draw(t, "bp"), -4)
		fee := genDec(t, "fee", 1000, 2)
		txMin := genDec(t, "txmin", 1000, 2)
		txMax := decimal.Zero
		if rapid.Bool().Draw(t, "has_max") {
			txMax = txMin.Add(genDec(t, "txspan", 100000, 2))
		}
		r, err := catalog.NewRater(catalog.Price{Model: catalog.Percentage, Rate: ensemble.RatioFromDecimal(rate),
			FixedFee: fee, TransactionMinimum: txMin, TransactionMaximum: txMax}, cur)
		require.NoError(t, err)
		amount := genDec(t, "amount", 10000000, 2)
		got, err := r.Rate(amount, catalog.RateOptions{Rounding: catalog.RoundNone})
		noRange(t, err)
		want := amount.Mul(rate).Add(fee)
		if txMin.Sign() > 0 && want.Cmp(txMin) < 0 {
			want = txMin
		}
		if txMax.Sign() > 0 && want.Cmp(txMax) > 0 {
			want = txMax
		}
		require.True(t, got.Amount.Amount().Equal(want), "got %s, want %s", got.Amount, want)
		opts := genOptions(t)
		full, err := r.Rate(amount, opts)
		noRange(t, err)
		fast, err := r.Amount(amount, opts)
		noRange(t, err)
		requireMoney(t, fast, full.Amount, "Amount agrees with Rate")
	})
}

func TestPropertyFreeUnits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		free := genDec(t, "free", 1000, 2)
		tiers := genTiers(t, false)
		withFree, err := catalog.NewRater(catalog.Price{Model: catalog.Graduated, Tiers: tiers, FreeUnits: free}, cur)
		require.NoError(t, err)
		plain, err := catalog.NewRater(catalog.Price{Model: catalog.Graduated, Tiers: tiers}, cur)
		require.NoError(t, err)
		q := genDec(t, "q", 100000, 3)
		opts := genOptions(t)
		got, err := withFree.Rate(q, opts)
		noRange(t, err)
		want, err := plain.Rate(decimal.Max(decimal.Zero, q.Sub(free)), opts)
		noRange(t, err)
		requireMoney(t, got.Amount, want.Amount, "free units price like a smaller quantity")
		require.True(t, got.Free.Equal(decimal.Min(q, free)))
		fast, err := withFree.Amount(q, opts)
		noRange(t, err)
		requireMoney(t, fast, got.Amount)
	})
}

func TestPropertyRatingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		r, err := catalog.NewRater(catalog.Price{Model: catalog.Graduated, Tiers: genTiers(t, false), MinimumSpend: genDec(t, "min", 1000, 0)}, cur)
		require.NoError(t, err)
		got, err := r.RateDelta(genDec(t, "billed", 1000, 2), genDec(t, "cum", 100000, 2), genOptions(t), genOptions(t))
		noRange(t, err)
		b, err := json.Marshal(got)
		require.NoError(t, err)
		var back catalog.Delta
		require.NoError(t, json.Unmarshal(b, &back))
		requireEqual(t, back, got)
		b2, err := json.Marshal(back)
		require.NoError(t, err)
		require.Equal(t, string(b), string(b2))
	})
}
