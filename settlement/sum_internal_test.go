package settlement

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

// A sum equals math/big's over any sequence of int64 additions and
// subtractions, with the int64 edges drawn often, and reads back through
// Money exactly.
func TestPropertySumMatchesBig(t *testing.T) {
	eurC := ensemble.MustCurrency("EUR")
	edge := rapid.SampledFrom([]int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, -1, 0, 1})
	rapid.Check(t, func(t *rapid.T) {
		var s sum
		want := new(big.Int)
		for i := range rapid.IntRange(0, 40).Draw(t, "ops") {
			u := rapid.OneOf(edge, rapid.Int64()).Draw(t, "u")
			switch op := rapid.IntRange(0, 3).Draw(t, "op"); op {
			case 0:
				s.add(u)
				want.Add(want, big.NewInt(u))
			case 1:
				s.plus(sum{small: u})
				want.Add(want, big.NewInt(u))
			case 2:
				o := sum{small: u}
				o.add(u) // may be big
				s.minus(o)
				want.Sub(want, new(big.Int).Mul(big.NewInt(u), big.NewInt(2)))
			case 3:
				s = s.neg()
				want.Neg(want)
			}
			require.Equal(t, 0, s.bigInt().Cmp(want), "after op %d", i)
			require.Equal(t, want.Sign(), s.sign())
			require.Equal(t, want.IsInt64(), s.big == nil, "int64 sums stay small")
			require.Equal(t, 0, s.cmp(sum{big: want}))
		}
		var tl tally
		back := tl.units(s.money(eurC), func() string { return "back" })
		require.NoError(t, tl.err)
		require.Equal(t, 0, back.cmp(s))
	})
}
