package ensemble_test

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

func shares(weights ...string) []ensemble.Share {
	out := make([]ensemble.Share, len(weights))
	for i, w := range weights {
		out[i] = ensemble.Share{Key: string(rune('a' + i)), Weight: ensemble.MustRatio(w)}
	}
	return out
}

func amounts(t *testing.T, parts []ensemble.Money) []string {
	t.Helper()
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.AmountString()
	}
	return out
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		name   string
		total  ensemble.Money
		shares []ensemble.Share
		method ensemble.AllocationMethod
		want   []string
	}{
		{"thirds", ensemble.MustMoney("100.00", "EUR"), shares("1/3", "1/3", "1/3"), ensemble.LargestRemainder, []string{"33.34", "33.33", "33.33"}},
		{"one third two thirds", ensemble.MustMoney("100.00", "EUR"), shares("1/3", "2/3"), ensemble.LargestRemainder, []string{"33.33", "66.67"}},
		// Numscript gives the 0% destination a leftover unit (1/1/1); we never do.
		{"zero weight gets zero", ensemble.MustMoney("0.03", "EUR"), shares("0", "50%", "50%"), ensemble.LargestRemainder, []string{"0.00", "0.02", "0.01"}},
		{"zero weight gets zero first in order", ensemble.MustMoney("0.03", "EUR"), shares("0", "50%", "50%"), ensemble.FirstInOrder, []string{"0.00", "0.02", "0.01"}},
		// Largest remainder is not monotone in the total (ANCHORS.md).
		{"sevenths of 3", ensemble.MoneyFromMinor(3, eur), shares("1/7", "3/7", "3/7"), ensemble.LargestRemainder, []string{"0.01", "0.01", "0.01"}},
		{"sevenths of 4", ensemble.MoneyFromMinor(4, eur), shares("1/7", "3/7", "3/7"), ensemble.LargestRemainder, []string{"0.00", "0.02", "0.02"}},
		{"first in order takes leftovers in order", ensemble.MoneyFromMinor(5, eur), shares("1", "1", "1"), ensemble.FirstInOrder, []string{"0.02", "0.02", "0.01"}},
		{"relative weights", ensemble.MustMoney("10", "JPY"), shares("1", "1", "2"), ensemble.LargestRemainder, []string{"3", "2", "5"}},
		{"negative total mirrors", ensemble.MustMoney("-100.00", "EUR"), shares("1/3", "1/3", "1/3"), ensemble.LargestRemainder, []string{"-33.34", "-33.33", "-33.33"}},
		{"three digit currency", ensemble.MustMoney("1.000", "KWD"), shares("1/3", "1/3", "1/3"), ensemble.LargestRemainder, []string{"0.334", "0.333", "0.333"}},
		{"zero total", ensemble.MustMoney("0", "EUR"), shares("1", "2"), ensemble.LargestRemainder, []string{"0.00", "0.00"}},
		{"beyond int64", ensemble.MustMoney("123456789012345678901234.56", "EUR"), shares("1/7", "3/7", "3/7"), ensemble.LargestRemainder,
			[]string{"17636684144620811271604.94", "52910052433862433814814.81", "52910052433862433814814.81"}},
		{"weights beyond int64", ensemble.MustMoney("1.00", "EUR"), shares("1/99999999999999999989", "1/99999999999999999989"), ensemble.LargestRemainder, []string{"0.50", "0.50"}},
		{"percentages", ensemble.MustMoney("99.99", "USD"), shares("15%", "70%", "15%"), ensemble.LargestRemainder, []string{"15.00", "69.99", "15.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := ensemble.Allocate(tt.total, tt.shares, ensemble.AllocateOptions{Method: tt.method})
			require.NoError(t, err)
			require.Equal(t, tt.want, amounts(t, parts))
			sum, err := ensemble.Sum(parts...)
			require.NoError(t, err)
			require.True(t, sum.Equal(tt.total), "sum %s of %s", sum, tt.total)
		})
	}
}

func TestAllocateTieBreaksByKeyNotPosition(t *testing.T) {
	total := ensemble.MoneyFromMinor(1, eur)
	one := ensemble.MustRatio("1")
	ab, err := ensemble.Allocate(total, []ensemble.Share{{Key: "zeta", Weight: one}, {Key: "alpha", Weight: one}}, ensemble.AllocateOptions{})
	require.NoError(t, err)
	ba, err := ensemble.Allocate(total, []ensemble.Share{{Key: "alpha", Weight: one}, {Key: "zeta", Weight: one}}, ensemble.AllocateOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"0.00", "0.01"}, amounts(t, ab))
	require.Equal(t, []string{"0.01", "0.00"}, amounts(t, ba))
}

func TestAllocateErrors(t *testing.T) {
	_, err := ensemble.Allocate(ensemble.MustMoney("1.00", "EUR"), shares("0", "0"), ensemble.AllocateOptions{})
	require.ErrorIs(t, err, ensemble.ErrZeroWeights)
	_, err = ensemble.Allocate(ensemble.MustMoney("1.00", "EUR"), nil, ensemble.AllocateOptions{})
	require.ErrorIs(t, err, ensemble.ErrZeroWeights)
	_, err = ensemble.Allocate(ensemble.MustMoney("1.00", "EUR"), shares("1", "-1/2"), ensemble.AllocateOptions{})
	var we *ensemble.WeightError
	require.ErrorAs(t, err, &we)
	require.Equal(t, 1, we.Index)
	require.Equal(t, "b", we.Key)
	require.ErrorIs(t, err, ensemble.ErrNegativeWeight)
	_, err = ensemble.Allocate(ensemble.MustMoney("1.005", "EUR"), shares("1", "1"), ensemble.AllocateOptions{})
	require.ErrorIs(t, err, ensemble.ErrNotMinorUnits)
	_, err = ensemble.Allocate(ensemble.MustMoney("1000000000000000000000000000000", "EUR"), shares("1", "-1"), ensemble.AllocateOptions{})
	require.Error(t, err)
	_, err = ensemble.MustMoney("1.00", "EUR").Split(0)
	require.ErrorIs(t, err, ensemble.ErrZeroWeights)
	dst := make([]int64, 1)
	require.Error(t, ensemble.AllocateUnits(dst, 5, shares("1", "1"), ensemble.AllocateOptions{}))
	require.Equal(t, int64(0), dst[0], "dst untouched on error")
}

func TestAllocateUnitsExtremes(t *testing.T) {
	for _, total := range []int64{math.MaxInt64, math.MinInt64, math.MinInt64 + 1, -1, 1} {
		t.Run(strconv.FormatInt(total, 10), func(t *testing.T) {
			dst := make([]int64, 3)
			require.NoError(t, ensemble.AllocateUnits(dst, total, shares("1/3", "1/3", "1/3"), ensemble.AllocateOptions{}))
			sum := new(big.Int)
			for _, d := range dst {
				sum.Add(sum, big.NewInt(d))
			}
			require.Equal(t, big.NewInt(total).String(), sum.String())
		})
	}
}

func TestSplit(t *testing.T) {
	parts, err := ensemble.MustMoney("10.00", "EUR").Split(3)
	require.NoError(t, err)
	require.Equal(t, []string{"3.34", "3.33", "3.33"}, amounts(t, parts))
	parts, err = ensemble.MustMoney("-0.05", "EUR").Split(2)
	require.NoError(t, err)
	require.Equal(t, []string{"-0.03", "-0.02"}, amounts(t, parts))
}

func TestAllocationMethodText(t *testing.T) {
	for _, m := range []ensemble.AllocationMethod{ensemble.LargestRemainder, ensemble.FirstInOrder, ensemble.NumscriptOrder} {
		b, err := m.MarshalText()
		require.NoError(t, err)
		var back ensemble.AllocationMethod
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, m, back)
	}
	var m ensemble.AllocationMethod
	require.Error(t, m.UnmarshalText([]byte("random")))
}

// genShares draws between 1 and 12 shares with distinct keys and
// non-negative weights, at least one of them positive; some weights are zero
// and some have large or awkward denominators.
func genShares() *rapid.Generator[[]ensemble.Share] {
	return rapid.Custom(func(t *rapid.T) []ensemble.Share {
		n := rapid.IntRange(1, 12).Draw(t, "n")
		out := make([]ensemble.Share, n)
		positive := false
		for i := range out {
			num := rapid.OneOf(rapid.Just[int64](0), rapid.Int64Range(0, 1000), rapid.Int64Range(0, math.MaxInt64/4)).Draw(t, "num")
			den := rapid.OneOf(rapid.Just[int64](1), rapid.Int64Range(1, 1000), rapid.Int64Range(1, math.MaxInt64/4)).Draw(t, "den")
			r, err := ensemble.NewRatio(num, den)
			if err != nil {
				t.Fatal(err)
			}
			positive = positive || num > 0
			out[i] = ensemble.Share{Key: fmt.Sprintf("k%02d", i), Weight: r}
		}
		if !positive {
			out[rapid.IntRange(0, n-1).Draw(t, "forced")].Weight = ensemble.MustRatio("1")
		}
		return out
	})
}

// exactShare returns total × w_i / Σw as a big.Rat, in minor units.
func exactShare(units *big.Int, shares []ensemble.Share, i int) *big.Rat {
	sum := new(big.Rat)
	for _, s := range shares {
		sum.Add(sum, s.Weight.Rat())
	}
	r := new(big.Rat).SetInt(units)
	r.Mul(r, shares[i].Weight.Rat())
	return r.Quo(r, sum)
}

func TestAllocateProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency().Draw(t, "currency")
		var units *big.Int
		if rapid.Bool().Draw(t, "huge") {
			units, _ = new(big.Int).SetString(rapid.StringMatching(`-?[1-9][0-9]{18,30}`).Draw(t, "hugeUnits"), 10)
		} else {
			units = big.NewInt(rapid.Int64().Draw(t, "units"))
		}
		total := ensemble.MoneyFromDecimal(decimal.NewFromBigInt(units, -cur.Digits()), cur)
		sh := genShares().Draw(t, "shares")
		method := ensemble.AllocationMethod(rapid.IntRange(0, 2).Draw(t, "method"))
		parts, err := ensemble.Allocate(total, sh, ensemble.AllocateOptions{Method: method})
		if err != nil {
			t.Fatalf("allocate %s: %v", total, err)
		}

		// Conservation: the parts sum to exactly the total.
		sum, err := ensemble.Sum(parts...)
		if err != nil || !sum.Equal(total) {
			t.Fatalf("sum %s != total %s (%v)", sum, total, err)
		}
		for i, p := range parts {
			// Whole minor units, within one unit of the exact share.
			if !p.IsRounded() {
				t.Fatalf("part %d %s is not whole minor units", i, p)
			}
			pu := new(big.Rat).SetFrac(p.Amount().Shift(cur.Digits()).BigInt(), big.NewInt(1))
			// Every method floors and adds at most one unit, so a part is
			// in [exact-1, exact+1); NumscriptOrder may also add a unit to
			// an exact share already whole, so it reaches exact+1 in
			// magnitude.
			diff := new(big.Rat).Sub(pu, exactShare(units, sh, i))
			limit := diff.Abs(diff).Cmp(big.NewRat(1, 1))
			if limit > 0 || (limit == 0 && method != ensemble.NumscriptOrder) {
				t.Fatalf("part %d %s is too far from its exact share under %s", i, p, method)
			}
			// A zero weight gets zero.
			if sh[i].Weight.IsZero() && !p.IsZero() {
				t.Fatalf("zero-weight part %d got %s", i, p)
			}
		}

		// Sign symmetry: allocate(-T) == -allocate(T).
		neg, err := ensemble.Allocate(total.Neg(), sh, ensemble.AllocateOptions{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		for i := range parts {
			if !neg[i].Equal(parts[i].Neg()) {
				t.Fatalf("part %d: allocate(-T) = %s, -allocate(T) = %s", i, neg[i], parts[i].Neg())
			}
		}

		// Permuting the shares permutes the result (keys are distinct), for
		// largest remainder, whose ties go by key, not position.
		if method == ensemble.LargestRemainder {
			perm := rapid.Permutation(indexes(len(sh))).Draw(t, "perm")
			permuted := make([]ensemble.Share, len(sh))
			for i, j := range perm {
				permuted[i] = sh[j]
			}
			pparts, err := ensemble.Allocate(total, permuted, ensemble.AllocateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i, j := range perm {
				if !pparts[i].Equal(parts[j]) {
					t.Fatalf("permuted share %s got %s, unpermuted %s", sh[j].Key, pparts[i], parts[j])
				}
			}
		}
	})
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestAllocateUnitsMatchesAllocate checks the int64 path against the
// math/big path used for amounts beyond int64: scaling the total by 10^20
// moves it onto the big path, and parts must scale with it when the split is
// exact, and always conserve.
func TestAllocateUnitsMatchesAllocate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		total := rapid.Int64Range(-1e12, 1e12).Draw(t, "total")
		sh := genShares().Draw(t, "shares")
		method := ensemble.AllocationMethod(rapid.IntRange(0, 2).Draw(t, "method"))
		dst := make([]int64, len(sh))
		if err := ensemble.AllocateUnits(dst, total, sh, ensemble.AllocateOptions{Method: method}); err != nil {
			t.Fatal(err)
		}
		parts, err := ensemble.Allocate(ensemble.MoneyFromMinor(total, jpy), sh, ensemble.AllocateOptions{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		for i := range dst {
			if !parts[i].Amount().Equal(decimal.NewFromInt(dst[i])) {
				t.Fatalf("part %d: AllocateUnits %d, Allocate %s", i, dst[i], parts[i])
			}
		}
	})
}

// TestAllocatorMatchesAllocateUnits checks that a compiled Allocator gives
// exactly AllocateUnits' parts, for every method, including keys whose
// order is not the shares' order and weights beyond int64.
func TestAllocatorMatchesAllocateUnits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sh := genShares().Draw(t, "shares")
		if rapid.Bool().Draw(t, "shuffledKeys") {
			perm := rapid.Permutation(indexes(len(sh))).Draw(t, "perm")
			for i := range sh {
				sh[i].Key = fmt.Sprintf("k%02d", perm[i])
			}
		}
		method := ensemble.AllocationMethod(rapid.IntRange(0, 2).Draw(t, "method"))
		a, err := ensemble.NewAllocator(sh, ensemble.AllocateOptions{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if a.Len() != len(sh) {
			t.Fatalf("Len %d for %d shares", a.Len(), len(sh))
		}
		for range 5 {
			total := rapid.Int64().Draw(t, "total")
			want := make([]int64, len(sh))
			got := make([]int64, len(sh))
			if err := ensemble.AllocateUnits(want, total, sh, ensemble.AllocateOptions{Method: method}); err != nil {
				t.Fatal(err)
			}
			if err := a.Units(got, total); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("total %d: Allocator %v, AllocateUnits %v", total, got, want)
			}
		}
	})
}

func TestNewAllocatorErrors(t *testing.T) {
	_, err := ensemble.NewAllocator(nil, ensemble.AllocateOptions{})
	require.ErrorIs(t, err, ensemble.ErrZeroWeights)
	_, err = ensemble.NewAllocator(shares("0", "0"), ensemble.AllocateOptions{})
	require.ErrorIs(t, err, ensemble.ErrZeroWeights)
	_, err = ensemble.NewAllocator(shares("1", "-1/2"), ensemble.AllocateOptions{})
	require.ErrorIs(t, err, ensemble.ErrNegativeWeight)
	_, err = ensemble.NewAllocator(shares("1/99999999999999999989", "-1"), ensemble.AllocateOptions{})
	require.ErrorIs(t, err, ensemble.ErrNegativeWeight, "checked on the math/big path too")
	a, err := ensemble.NewAllocator(shares("1", "1"), ensemble.AllocateOptions{})
	require.NoError(t, err)
	require.Error(t, a.Units(make([]int64, 3), 10))
}
