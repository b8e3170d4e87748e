package settlement

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

// marginalRate is the effective rate of a line of b minor units after a
// volume of before, over tiers bounded by bounds, computed plainly: each
// slice of the line at its tier's rate, divided by the line. It returns
// the number of tiers used.
func marginalRate(tiers []Tier, bounds []int64, before, b int64) (*big.Rat, int) {
	num := new(big.Rat)
	lo, after, used := before, before+b, 0
	for i, ub := range bounds {
		if lo >= after {
			break
		}
		if lo >= ub {
			continue
		}
		hi := min(after, ub)
		num.Add(num, new(big.Rat).Mul(new(big.Rat).SetInt64(hi-lo), tiers[i].Rate.Rat()))
		lo = hi
		used++
	}
	return num.Quo(num, new(big.Rat).SetInt64(b)), used
}

// TestPropertyCumulativeRate checks the effective rate and text of a
// cumulative share, which a line within one tier takes from the tier
// without rational arithmetic, against the rate computed plainly, for
// random tiers, volumes and lines, marginal and cliff.
func TestPropertyCumulativeRate(t *testing.T) {
	eurC := ensemble.MustCurrency("EUR")
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(t, "tiers")
		tiers := make([]Tier, n)
		bound := int64(0)
		for i := range tiers {
			tiers[i].Rate = ensemble.RatioFromRat(big.NewRat(rapid.Int64Range(0, 100).Draw(t, "num"), rapid.Int64Range(1, 100).Draw(t, "den")))
			if i < n-1 {
				bound += rapid.Int64Range(1, 10_000).Draw(t, "step")
				tiers[i].UpTo = ensemble.MoneyFromMinor(bound, eurC)
			}
		}
		mode := rapid.SampledFrom([]RateMode{Marginal, Cliff}).Draw(t, "mode")
		c := &cnode{cum: &Cumulative{Mode: mode, Tiers: tiers}}
		c.compileSplit()
		before := rapid.Int64Range(0, bound+10_000).Draw(t, "before")
		b := rapid.Int64Range(0, 20_000).Draw(t, "basis")
		if n > 1 && rapid.Bool().Draw(t, "near a bound") {
			// A line that starts or ends a few units from a tier's bound.
			at := tiers[rapid.IntRange(0, n-2).Draw(t, "bound")].UpTo
			ub, _ := at.MinorUnits()
			before = max(0, ub+rapid.Int64Range(-3, 3).Draw(t, "from"))
			if rapid.Bool().Draw(t, "ends near") {
				before = max(0, ub-rapid.Int64Range(0, 20).Draw(t, "start"))
				b = max(0, ub-before+rapid.Int64Range(-3, 3).Draw(t, "to"))
			}
		}
		plan := &cplan{}
		line := &Line{Amount: ensemble.MoneyFromMinor(b, eurC)}
		dc := &decider{line: line, plan: plan, cur: eurC, volCur: eurC, volBasis: b, volume: []volumeRead{{node: c, owner: "p", before: before}}}
		eff, text, stable, err := dc.cumulative(c)
		require.NoError(t, err)
		bounds, err := tierBounds(tiers, eurC)
		require.NoError(t, err)
		vol := ensemble.MoneyFromMinor(before, eurC).String()
		if mode == Cliff || b == 0 {
			at := before + b
			if b == 0 {
				at = before
			}
			i := 0
			for at > bounds[i] {
				i++
			}
			require.True(t, eff.Equal(tiers[i].Rate))
			require.Equal(t, fmt.Sprintf("%s (cliff, tier %d, volume before %s)", sharePercent(tiers[i].Rate), i+1, vol), text)
			require.True(t, stable)
			return
		}
		want, used := marginalRate(tiers, bounds, before, b)
		require.Zero(t, eff.Rat().Cmp(want), "rate %s, want %s", eff.Rat(), want)
		if used == 1 {
			require.Equal(t, fmt.Sprintf("%s (marginal over 1 tier(s), volume before %s)", sharePercent(eff), vol), text)
			require.True(t, stable, "a line within one tier takes the tier's own rate")
			return
		}
		// Across tiers, what each took of the line.
		var parts []string
		first, lo := -1, before
		for i, ub := range bounds {
			if hi := min(before+b, ub); lo < hi {
				if first < 0 {
					first = i
				}
				parts = append(parts, fmt.Sprintf("%s of %s", sharePercent(tiers[i].Rate), ensemble.MoneyFromMinor(hi-lo, eurC)))
				lo = hi
			}
		}
		require.Equal(t, fmt.Sprintf("%s = %s of %s (tiers %d-%d, volume before %s)", strings.Join(parts, " + "), sharePercent(eff),
			ensemble.MoneyFromMinor(b, eurC), first+1, first+used, vol), text)
		require.False(t, stable)
	})
}

// TestPropertyReserveUnits checks the reserve of an earning, computed in
// 64-bit integers when the ratio's terms fit, against the same computed
// with big integers: the earning times the ratio, rounded down.
func TestPropertyReserveUnits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		den := rapid.OneOf(rapid.Int64Range(1, 1000), rapid.Int64Range(1, math.MaxInt64)).Draw(t, "den")
		num := rapid.Int64Range(0, den).Draw(t, "num")
		amount := rapid.OneOf(rapid.Int64Range(0, 1_000_000), rapid.Int64Range(0, math.MaxInt64)).Draw(t, "amount")
		n := &cnode{reserve: &Reserve{Ratio: ensemble.RatioFromRat(big.NewRat(num, den))}}
		n.compileSplit()
		want := new(big.Int).Mul(big.NewInt(amount), big.NewInt(num))
		want.Quo(want, big.NewInt(den))
		require.Equal(t, want.Int64(), reserveUnits(n, amount))
	})
}

// appendPercent writes what Ratio.Percent writes, for any ratio: whole
// percentages, decimals, ratios that do not terminate, terms near the
// int64 range, and negative ones.
func TestPropertyAppendPercentIsPercent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r ensemble.Ratio
		switch rapid.IntRange(0, 3).Draw(t, "form") {
		case 0: // small terms: weights as hosts write them
			num := rapid.Int64Range(-1000, 1000).Draw(t, "num")
			den := rapid.SampledFrom([]int64{1, 2, 3, 4, 5, 6, 7, 8, 10, 16, 20, 40, 100, 125, 1000, 1024, 3125}).Draw(t, "den")
			r = ensemble.RatioFromRat(big.NewRat(num, den))
		case 1: // any int64 terms
			den := rapid.Int64Range(1, math.MaxInt64).Draw(t, "den")
			r = ensemble.RatioFromRat(big.NewRat(rapid.Int64().Draw(t, "num"), den))
		case 2: // decimals of many places
			den := int64(1)
			for range rapid.IntRange(0, 18).Draw(t, "places") {
				den *= 10
			}
			r = ensemble.RatioFromRat(big.NewRat(rapid.Int64().Draw(t, "num"), den))
		default: // terms beyond int64
			n := new(big.Int).Lsh(big.NewInt(rapid.Int64Range(1, 1000).Draw(t, "num")), 70)
			r = ensemble.RatioFromRat(new(big.Rat).SetFrac(n, big.NewInt(rapid.Int64Range(1, 1000).Draw(t, "den"))))
		}
		require.Equal(t, sharePercent(r), string(appendPercent([]byte("x"), r))[1:], "%s", r.Rat().RatString())
	})
}
