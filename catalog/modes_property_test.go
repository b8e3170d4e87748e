package catalog_test

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// genBlocks gives some of the tiers a block size above zero.
func genBlocks(t *rapid.T, tiers []catalog.Tier) []catalog.Tier {
	for i := range tiers {
		if rapid.Bool().Draw(t, "has_block") {
			size := genDec(t, "block", 2000, 2)
			if size.IsZero() {
				size = decimal.New(1, 0)
			}
			tiers[i].BlockSize = size
		}
	}
	return tiers
}

// perUnitBounds prices q on tiers as if every block tier billed its units
// at the block's price divided by its size (the per-unit equivalent), and
// adds one block's price for every tier billed in blocks (the most that
// rounding a slice up to whole blocks can add). Exact rationals.
func perUnitBounds(tiers []catalog.Tier, model catalog.Model, q decimal.Decimal) (lo, hi *big.Rat) {
	lo, hi = new(big.Rat), new(big.Rat)
	add := func(t catalog.Tier, units decimal.Decimal) {
		unit := t.UnitAmount.Rat()
		if t.BlockSize.Sign() > 0 {
			unit.Quo(unit, t.BlockSize.Rat())
			if units.Sign() > 0 {
				hi.Add(hi, t.UnitAmount.Rat())
			}
		}
		part := new(big.Rat).Mul(units.Rat(), unit)
		part.Add(part, t.FlatAmount.Rat())
		lo.Add(lo, part)
		hi.Add(hi, part)
	}
	lower := decimal.Zero
	for i, t := range tiers {
		inTier := t.UpTo == nil || q.Cmp(*t.UpTo) <= 0
		if model == catalog.Volume {
			if inTier {
				add(t, q)
				return lo, hi
			}
		} else {
			if i > 0 && q.Cmp(lower) <= 0 {
				return lo, hi
			}
			top := q
			if !inTier {
				top = *t.UpTo
			}
			add(t, top.Sub(lower))
		}
		if t.UpTo != nil {
			lower = *t.UpTo
		}
	}
	return lo, hi
}

// Block tiers never bill less than the per-unit equivalent, nor more than
// one block per tier above it; the fixed-point path agrees with the exact
// one.
func TestPropertyBlocks(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		model := rapid.SampledFrom([]catalog.Model{catalog.Graduated, catalog.Volume}).Draw(t, "model")
		cur := genCurrency(t)
		tiers := genBlocks(t, genTiers(t, false))
		r, err := catalog.NewRater(catalog.Price{Model: model, Tiers: tiers}, cur)
		require.NoError(t, err)
		q := genDec(t, "q", 50000, 3)
		exact, err := r.Rate(q, catalog.RateOptions{Rounding: catalog.RoundNone})
		noRange(t, err)
		got := exact.Amount.Amount().Rat()
		lo, hi := perUnitBounds(tiers, model, q)
		require.True(t, got.Cmp(lo) >= 0, "%s at %s bills less than the per-unit equivalent %s", exact.Amount, q, lo.FloatString(6))
		require.True(t, got.Cmp(hi) <= 0, "%s at %s bills more than one block per tier above it: %s", exact.Amount, q, hi.FloatString(6))
		for _, l := range exact.Lines {
			if tiers[l.Tier].BlockSize.Sign() > 0 {
				require.True(t, l.Quantity.IsInteger(), "a whole number of blocks: %s", l.Quantity)
			}
		}
		opts := genOptions(t)
		full, err := r.Rate(q, opts)
		noRange(t, err)
		slow, err := catalog.RateExact(r, q, opts)
		noRange(t, err)
		requireEqual(t, full, slow)
		fast, err := r.Amount(q, opts)
		noRange(t, err)
		requireMoney(t, fast, full.Amount, "Amount agrees with Rate")
	})
}

// Under SpendPerTier the lines' adjustments add up to exactly the one-line
// adjustment, a cut takes the highest lines first and never takes a line
// below zero, and nothing else changes.
func TestPropertySpendPerTier(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		minor := func(label string) decimal.Decimal {
			return decimal.New(rapid.Int64Range(0, 200000).Draw(t, label), -cur.Digits()-rapid.Int32Range(0, 1).Draw(t, label+"_fine"))
		}
		p := catalog.Price{Model: rapid.SampledFrom([]catalog.Model{catalog.Graduated, catalog.Volume, catalog.PerUnit}).Draw(t, "model")}
		if p.Model == catalog.PerUnit {
			p.Amount = genDec(t, "unit", 100000, 4)
		} else {
			p.Tiers = genTiers(t, false)
			if rapid.Bool().Draw(t, "blocks") {
				p.Tiers = genBlocks(t, p.Tiers)
			}
		}
		p.MinimumSpend = minor("min")
		if rapid.Bool().Draw(t, "has_max") {
			p.MaximumSpend = p.MinimumSpend.Add(minor("span"))
		}
		total, err := catalog.NewRater(p, cur)
		require.NoError(t, err)
		p.SpendAdjustment = catalog.SpendPerTier
		spread, err := catalog.NewRater(p, cur)
		require.NoError(t, err)
		q := genDec(t, "q", 100000, 3)
		opts := genOptions(t)
		one, err := total.Rate(q, opts)
		noRange(t, err)
		got, err := spread.Rate(q, opts)
		noRange(t, err)

		requireMoney(t, got.Amount, one.Amount)
		requireMoney(t, got.Adjustment, one.Adjustment)
		sum := ensemble.MoneyFromMinor(0, cur)
		cutFrom := len(got.Lines) // lines at or after this index are cut
		for i, l := range got.Lines {
			require.True(t, one.Lines[i].Adjustment.IsZero(), "SpendTotal leaves the lines alone")
			requireMoney(t, l.Subtotal, one.Lines[i].Subtotal)
			sum, err = sum.Add(l.Adjustment)
			require.NoError(t, err)
			net, err := l.Subtotal.Add(l.Adjustment)
			require.NoError(t, err)
			require.False(t, net.IsNegative(), "line %d nets %s", i, net)
			if l.Adjustment.IsNegative() && cutFrom == len(got.Lines) {
				cutFrom = i
			}
		}
		requireMoney(t, sum, got.Adjustment, "the lines' adjustments add up to the rating's")
		for i := cutFrom + 1; i < len(got.Lines); i++ {
			l := got.Lines[i]
			net, _ := l.Subtotal.Add(l.Adjustment)
			require.True(t, net.IsZero(), "above the first line cut, every line is cut to zero (line %d nets %s)", i, net)
		}
		if got.Adjustment.IsPositive() {
			require.True(t, got.Lines[len(got.Lines)-1].Adjustment.Equal(got.Adjustment), "the uplift is on the last line")
		}
		fast, err := spread.Amount(q, opts)
		noRange(t, err)
		requireMoney(t, fast, got.Amount)
		slow, err := catalog.RateExact(spread, q, opts)
		noRange(t, err)
		requireEqual(t, slow, got)
	})
}

// A prorated rating of the whole period is the plain rating; billing the
// flat whole never bills less than prorating it; the full quantity alone
// picks the tier.
func TestPropertyRateProrated(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		tiers := genTiers(t, false)
		if rapid.Bool().Draw(t, "blocks") {
			tiers = genBlocks(t, tiers)
		}
		p := catalog.Price{Model: catalog.Volume, Tiers: tiers}
		if rapid.Bool().Draw(t, "has_free") {
			p.FreeUnits = genDec(t, "free", 100, 1)
		}
		prorated, err := catalog.NewRater(p, cur)
		require.NoError(t, err)
		p.FlatProration = catalog.FlatWhole
		whole, err := catalog.NewRater(p, cur)
		require.NoError(t, err)
		full := genDec(t, "full", 50000, 3)
		opts := genOptions(t)
		opts.Interim = true // no minimum spend to hide the difference

		rt, err := prorated.Rate(full, opts)
		noRange(t, err)
		for _, r := range []*catalog.Rater{prorated, whole} {
			same, err := r.RateProrated(catalog.Proration{Full: full, Units: full, Fraction: ensemble.RatioFromInt(1)}, opts)
			noRange(t, err)
			requireMoney(t, same.Amount, rt.Amount)
			requireEqual(t, same.Lines, rt.Lines)
		}

		num := rapid.Int64Range(0, 31).Draw(t, "days")
		frac := ensemble.MustRatio(big.NewRat(num, 31).RatString())
		units := full.Mul(decimal.New(num, 0)).DivRound(decimal.New(31, 0), 6)
		pr := catalog.Proration{Full: full, Units: units, Fraction: frac}
		a, err := prorated.RateProrated(pr, opts)
		noRange(t, err)
		b, err := whole.RateProrated(pr, opts)
		noRange(t, err)
		c, err := a.Amount.Cmp(b.Amount)
		require.NoError(t, err)
		require.LessOrEqual(t, c, 0, "flat prorated %s, flat whole %s", a.Amount, b.Amount)
		require.Equal(t, rt.Lines[0].Tier, a.Lines[0].Tier, "the full quantity picks the tier")
		require.Equal(t, rt.Lines[0].Tier, b.Lines[0].Tier)

		back := roundTrip(t, b)
		requireEqual(t, back, b)
	})
}

// roundTrip writes a rating to JSON and reads it back.
func roundTrip(t *rapid.T, rt catalog.Rating) catalog.Rating {
	raw, err := json.Marshal(rt)
	require.NoError(t, err)
	var back catalog.Rating
	require.NoError(t, json.Unmarshal(raw, &back))
	return back
}

// The fixed-point path and the exact path agree on every price the
// document generator draws, the new fields included.
func TestPropertyFastMatchesExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		r, err := catalog.NewRater(genPrice(t), cur)
		require.NoError(t, err)
		q := genDec(t, "q", 100000, 3)
		opts := genOptions(t)
		got, err := r.Rate(q, opts)
		noRange(t, err)
		slow, err := catalog.RateExact(r, q, opts)
		noRange(t, err)
		requireEqual(t, got, slow)
		a, err := r.Amount(q, opts)
		noRange(t, err)
		requireMoney(t, a, got.Amount)
		requireEqual(t, roundTrip(t, got), got)
	})
}

// No price a caller can build, valid or not, and no quantity make the new
// modes panic: NewRater rejects the price or every rating returns.
func TestPropertyModesNoPanic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		anyDec := func(label string) decimal.Decimal {
			return decimal.New(rapid.Int64().Draw(t, label), rapid.Int32Range(-45, 45).Draw(t, label+"_exp"))
		}
		p := catalog.Price{
			Model:           catalog.Model(rapid.IntRange(0, 9).Draw(t, "model")),
			SpendAdjustment: catalog.SpendAdjustment(rapid.IntRange(0, 3).Draw(t, "spend")),
			FlatProration:   catalog.FlatProration(rapid.IntRange(0, 3).Draw(t, "flat")),
			FlatAtZero:      catalog.FlatAtZero(rapid.IntRange(0, 3).Draw(t, "flat at zero")),
			MinimumSpend:    anyDec("min"),
			MaximumSpend:    anyDec("max"),
			FreeUnits:       anyDec("free"),
		}
		for range rapid.IntRange(0, 4).Draw(t, "tiers") {
			tier := catalog.Tier{UnitAmount: anyDec("unit"), FlatAmount: anyDec("flat"), BlockSize: anyDec("block")}
			if rapid.Bool().Draw(t, "bounded") {
				b := anyDec("up_to")
				tier.UpTo = &b
			}
			p.Tiers = append(p.Tiers, tier)
		}
		r, err := catalog.NewRater(p, genCurrency(t))
		if err != nil {
			return
		}
		q, units := anyDec("q"), anyDec("units")
		opts := catalog.RateOptions{Rounding: catalog.RoundingPolicy(rapid.IntRange(0, 3).Draw(t, "policy")),
			Mode: ensemble.RoundingMode(rapid.IntRange(0, 7).Draw(t, "mode")), Interim: rapid.Bool().Draw(t, "interim")}
		_, _ = r.Rate(q, opts)
		_, _ = r.Amount(q, opts)
		_, _ = r.RateDelta(units, q, opts, opts)
		_, _ = r.RateProrated(catalog.Proration{Full: q, Units: units,
			Fraction: ensemble.MustRatio(big.NewRat(rapid.Int64Range(-3, 40).Draw(t, "num"), rapid.Int64Range(1, 31).Draw(t, "den")).RatString())}, opts)
	})
}
