package ensemble_test

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

// TestAllocationMethods works each method by hand on splits where they
// differ. The NumscriptOrder figures are those Numscript's allocation rule
// gives (floor every part, then leftover units one each in declaration
// order), except where a zero weight comes first: there Numscript pays the 0%
// destination a unit and Ensemble does not.
func TestAllocationMethods(t *testing.T) {
	eur3 := ensemble.MoneyFromMinor(3, eur)
	ten := ensemble.MoneyFromMinor(10, eur)
	tests := []struct {
		name   string
		total  ensemble.Money
		shares []ensemble.Share
		want   map[ensemble.AllocationMethod][]string
	}{
		{"whole share first", ten, shares("2", "1", "1"), map[ensemble.AllocationMethod][]string{
			// exact 5, 2.5, 2.5; floors 5, 2, 2; one unit left
			ensemble.LargestRemainder: {"0.05", "0.03", "0.02"},
			ensemble.FirstInOrder:     {"0.05", "0.03", "0.02"},
			ensemble.NumscriptOrder:   {"0.06", "0.02", "0.02"},
		}},
		{"thirds", ensemble.MustMoney("1.00", "EUR"), shares("1/3", "1/3", "1/3"), map[ensemble.AllocationMethod][]string{
			ensemble.LargestRemainder: {"0.34", "0.33", "0.33"},
			ensemble.FirstInOrder:     {"0.34", "0.33", "0.33"},
			ensemble.NumscriptOrder:   {"0.34", "0.33", "0.33"},
		}},
		{"largest remainder last", ensemble.MoneyFromMinor(100, eur), shares("10%", "20%", "70.5%"), map[ensemble.AllocationMethod][]string{
			// weights 100, 200, 705 of 1005: exact 9.95, 19.90, 70.15
			ensemble.LargestRemainder: {"0.10", "0.20", "0.70"},
			ensemble.FirstInOrder:     {"0.10", "0.20", "0.70"},
			ensemble.NumscriptOrder:   {"0.10", "0.20", "0.70"},
		}},
		{"zero weight first", eur3, shares("0", "50%", "50%"), map[ensemble.AllocationMethod][]string{
			// Numscript: 1/1/1. A zero weight gets zero here.
			ensemble.LargestRemainder: {"0.00", "0.02", "0.01"},
			ensemble.FirstInOrder:     {"0.00", "0.02", "0.01"},
			ensemble.NumscriptOrder:   {"0.00", "0.02", "0.01"},
		}},
		{"negative total mirrors", ten.Neg(), shares("2", "1", "1"), map[ensemble.AllocationMethod][]string{
			ensemble.NumscriptOrder: {"-0.06", "-0.02", "-0.02"},
		}},
		{"beyond int64", ensemble.MustMoney("100000000000000000000.01", "EUR"), shares("2", "1", "1"), map[ensemble.AllocationMethod][]string{
			// 10^22 + 1 units: exact 5×10^21 + 0.5, 2.5×10^21 + 0.25 twice; one unit left
			ensemble.LargestRemainder: {"50000000000000000000.01", "25000000000000000000.00", "25000000000000000000.00"},
			ensemble.NumscriptOrder:   {"50000000000000000000.01", "25000000000000000000.00", "25000000000000000000.00"},
		}},
	}
	for _, tt := range tests {
		for method, want := range tt.want {
			if len(want) == 0 {
				continue
			}
			t.Run(tt.name+"/"+method.String(), func(t *testing.T) {
				parts, err := ensemble.Allocate(tt.total, tt.shares, ensemble.AllocateOptions{Method: method})
				require.NoError(t, err)
				require.Equal(t, want, amounts(t, parts))
			})
		}
	}
}

// TestAllocateTwoLeftovers works a split with two leftover units, where the
// three methods all differ.
func TestAllocateTwoLeftovers(t *testing.T) {
	// 11 units by 1, 2, 1, 4 (of 8): exact 1.375, 2.75, 1.375, 5.5;
	// floors 1, 2, 1, 5; two units left.
	total := ensemble.MoneyFromMinor(11, eur)
	sh := shares("1", "2", "1", "4")
	for method, want := range map[ensemble.AllocationMethod][]string{
		ensemble.LargestRemainder: {"0.01", "0.03", "0.01", "0.06"}, // remainders .75 and .5 first
		ensemble.FirstInOrder:     {"0.02", "0.03", "0.01", "0.05"}, // first two fractional shares
		ensemble.NumscriptOrder:   {"0.02", "0.03", "0.01", "0.05"}, // first two shares
	} {
		parts, err := ensemble.Allocate(total, sh, ensemble.AllocateOptions{Method: method})
		require.NoError(t, err)
		require.Equal(t, want, amounts(t, parts), method.String())
	}
}

func TestAllocateDuplicateKeys(t *testing.T) {
	one := ensemble.MustRatio("1")
	dup := []ensemble.Share{{Key: "reseller", Weight: one}, {Key: "platform", Weight: one}, {Key: "reseller", Weight: one}}
	many := make([]ensemble.Share, 40)
	for i := range many {
		many[i] = ensemble.Share{Key: fmt.Sprintf("p%02d", i), Weight: one}
	}
	many[33].Key = "p07"
	check := func(t *testing.T, err error, index int, key string) {
		t.Helper()
		require.ErrorIs(t, err, ensemble.ErrDuplicateKey)
		var se *ensemble.ShareError
		require.ErrorAs(t, err, &se)
		require.Equal(t, index, se.Index)
		require.Equal(t, key, se.Key)
	}
	for _, tt := range []struct {
		name   string
		shares []ensemble.Share
		index  int
		key    string
	}{{"pairs", dup, 2, "reseller"}, {"sorted", many, 33, "p07"}} {
		t.Run(tt.name, func(t *testing.T) {
			total := ensemble.MustMoney("10.00", "EUR")
			_, err := ensemble.Allocate(total, tt.shares, ensemble.AllocateOptions{})
			check(t, err, tt.index, tt.key)
			dst := make([]int64, len(tt.shares))
			check(t, ensemble.AllocateUnits(dst, 1000, tt.shares, ensemble.AllocateOptions{}), tt.index, tt.key)
			require.Equal(t, make([]int64, len(tt.shares)), dst, "dst untouched")
			_, err = ensemble.NewAllocator(tt.shares, ensemble.AllocateOptions{Method: ensemble.NumscriptOrder})
			check(t, err, tt.index, tt.key)
			_, _, err = ensemble.AllocateWithRemainder(total, tt.shares, ensemble.RemainderOptions{})
			check(t, err, tt.index, tt.key)
		})
	}
}

func TestAllocateUnknownMethod(t *testing.T) {
	_, err := ensemble.Allocate(ensemble.MustMoney("1.00", "EUR"), shares("1"), ensemble.AllocateOptions{Method: 9})
	var pe *ensemble.ParseError
	require.ErrorAs(t, err, &pe)
	_, err = ensemble.NewAllocator(shares("1"), ensemble.AllocateOptions{Method: 9})
	require.ErrorAs(t, err, &pe)
	_, _, err = ensemble.AllocateWithRemainder(ensemble.MustMoney("1.00", "EUR"), shares("1"), ensemble.RemainderOptions{Mode: 9})
	require.ErrorAs(t, err, &pe)
	_, err = ensemble.ParseAllocationMethod("numscript")
	require.ErrorAs(t, err, &pe)
}

func TestAllocateWithRemainder(t *testing.T) {
	tests := []struct {
		name      string
		total     ensemble.Money
		shares    []ensemble.Share
		mode      ensemble.RemainderMode
		want      []string
		remainder string
	}{
		{"floor thirds", ensemble.MustMoney("1.00", "EUR"), shares("1", "1", "1"), ensemble.FloorParts, []string{"0.33", "0.33", "0.33"}, "0.01"},
		{"floor whole", ensemble.MustMoney("1.00", "EUR"), shares("1", "1", "2"), ensemble.FloorParts, []string{"0.25", "0.25", "0.50"}, "0.00"},
		{"floor zero weight", ensemble.MustMoney("0.03", "EUR"), shares("0", "1", "1"), ensemble.FloorParts, []string{"0.00", "0.01", "0.01"}, "0.01"},
		{"floor negative", ensemble.MustMoney("-1.00", "EUR"), shares("1", "1", "1"), ensemble.FloorParts, []string{"-0.33", "-0.33", "-0.33"}, "-0.01"},
		// brick/money: 1.00 split 1:2 allocates 0.99 as 0.33 and 0.66.
		{"blocks one two", ensemble.MustMoney("1.00", "EUR"), shares("1", "2"), ensemble.WholeBlocks, []string{"0.33", "0.66"}, "0.01"},
		{"blocks sevenths", ensemble.MustMoney("1.00", "EUR"), shares("1", "1", "1", "1", "1", "1", "1"), ensemble.WholeBlocks,
			[]string{"0.14", "0.14", "0.14", "0.14", "0.14", "0.14", "0.14"}, "0.02"},
		// 30%, 70% reduce to 3:7, a block of 10 units.
		{"blocks percents", ensemble.MustMoney("1.05", "EUR"), shares("30%", "70%"), ensemble.WholeBlocks, []string{"0.30", "0.70"}, "0.05"},
		// Where floor parts leave units the blocks keep more: 2:3 of 0.07.
		{"floor two three", ensemble.MoneyFromMinor(7, eur), shares("2", "3"), ensemble.FloorParts, []string{"0.02", "0.04"}, "0.01"},
		{"blocks two three", ensemble.MoneyFromMinor(7, eur), shares("2", "3"), ensemble.WholeBlocks, []string{"0.02", "0.03"}, "0.02"},
		{"blocks bigger than total", ensemble.MoneyFromMinor(4, eur), shares("2", "3"), ensemble.WholeBlocks, []string{"0.00", "0.00"}, "0.04"},
		{"blocks zero weight", ensemble.MoneyFromMinor(7, eur), shares("0", "2", "4"), ensemble.WholeBlocks, []string{"0.00", "0.02", "0.04"}, "0.01"},
		{"blocks negative", ensemble.MustMoney("-1.00", "EUR"), shares("1", "2"), ensemble.WholeBlocks, []string{"-0.33", "-0.66"}, "-0.01"},
		{"no currency digits", ensemble.MustMoney("100", "JPY"), shares("1", "1", "1"), ensemble.WholeBlocks, []string{"33", "33", "33"}, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, rem, err := ensemble.AllocateWithRemainder(tt.total, tt.shares, ensemble.RemainderOptions{Mode: tt.mode})
			require.NoError(t, err)
			require.Equal(t, tt.want, amounts(t, parts))
			require.Equal(t, tt.remainder, rem.AmountString())
			require.Equal(t, tt.total.Currency(), rem.Currency())
		})
	}
	_, _, err := ensemble.AllocateWithRemainder(ensemble.MustMoney("1.005", "EUR"), shares("1"), ensemble.RemainderOptions{})
	require.ErrorIs(t, err, ensemble.ErrNotMinorUnits)
	_, _, err = ensemble.AllocateWithRemainder(ensemble.MustMoney("1.00", "EUR"), shares("0", "0"), ensemble.RemainderOptions{})
	require.ErrorIs(t, err, ensemble.ErrZeroWeights)
	_, _, err = ensemble.AllocateWithRemainder(ensemble.MustMoney("1.00", "EUR"), shares("1", "-1"), ensemble.RemainderOptions{})
	require.ErrorIs(t, err, ensemble.ErrNegativeWeight)
}

// TestAllocateWithRemainderProperties: parts plus remainder conserve the
// total, the result mirrors under negation, a zero weight gets zero, the
// floor mode's parts are the floors every method starts from, and whole
// blocks split what they allocate exactly by the weights.
func TestAllocateWithRemainderProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency().Draw(t, "currency")
		units := big.NewInt(rapid.Int64().Draw(t, "units"))
		if rapid.Bool().Draw(t, "huge") {
			units.Mul(units, big.NewInt(1_000_000_007))
		}
		total := ensemble.MoneyFromDecimal(decimal.NewFromBigInt(units, -cur.Digits()), cur)
		sh := genShares().Draw(t, "shares")
		mode := ensemble.RemainderMode(rapid.IntRange(0, 1).Draw(t, "mode"))
		parts, rem, err := ensemble.AllocateWithRemainder(total, sh, ensemble.RemainderOptions{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := ensemble.Sum(append(slices.Clone(parts), rem)...)
		if err != nil || !sum.Equal(total) {
			t.Fatalf("parts + remainder %s != total %s (%v)", sum, total, err)
		}
		if rem.Sign()*total.Sign() < 0 {
			t.Fatalf("remainder %s has the opposite sign of %s", rem, total)
		}
		allocated := new(big.Rat).SetInt(units)
		allocated.Sub(allocated, new(big.Rat).SetInt(rem.Amount().Shift(cur.Digits()).BigInt()))
		for i, p := range parts {
			if sh[i].Weight.IsZero() && !p.IsZero() {
				t.Fatalf("zero-weight part %d got %s", i, p)
			}
			pu := new(big.Rat).SetInt(p.Amount().Shift(cur.Digits()).BigInt())
			switch mode {
			case ensemble.FloorParts:
				// ⌊exact⌋ in magnitude: 0 <= |exact| - |part| < 1.
				d := new(big.Rat).Sub(exactShare(units, sh, i), pu)
				if units.Sign() < 0 {
					d.Neg(d)
				}
				if d.Sign() < 0 || d.Cmp(big.NewRat(1, 1)) >= 0 {
					t.Fatalf("part %d %s is not the floor of its exact share", i, p)
				}
			case ensemble.WholeBlocks:
				// Exactly its share of what is allocated.
				if want := exactShare(allocated.Num(), sh, i); want.Cmp(pu) != 0 {
					t.Fatalf("part %d %s is not exactly %s of the allocated %s", i, p, want.RatString(), allocated.RatString())
				}
			}
		}
		neg, nrem, err := ensemble.AllocateWithRemainder(total.Neg(), sh, ensemble.RemainderOptions{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if !nrem.Equal(rem.Neg()) {
			t.Fatalf("remainder of -T %s, of T %s", nrem, rem)
		}
		for i := range parts {
			if !neg[i].Equal(parts[i].Neg()) {
				t.Fatalf("part %d: %s for -T, %s for T", i, neg[i], parts[i])
			}
		}
	})
}

// referenceAllocate is the allocation rule written plainly, with exact
// rationals and no caches: floor every exact share, then hand the leftover
// units one each to the candidates of the method, best first.
func referenceAllocate(units *big.Int, sh []ensemble.Share, method ensemble.AllocationMethod) []*big.Int {
	abs := new(big.Int).Abs(units)
	parts := make([]*big.Int, len(sh))
	fracs := make([]*big.Rat, len(sh))
	left := new(big.Int).Set(abs)
	sum := new(big.Rat)
	for _, s := range sh {
		sum.Add(sum, s.Weight.Rat())
	}
	for i := range sh {
		exact := new(big.Rat).SetInt(abs)
		exact.Mul(exact, sh[i].Weight.Rat()).Quo(exact, sum)
		parts[i] = new(big.Int).Quo(exact.Num(), exact.Denom())
		fracs[i] = new(big.Rat).Sub(exact, new(big.Rat).SetInt(parts[i]))
		left.Sub(left, parts[i])
	}
	var candidates []int
	for i := range sh {
		switch {
		case method == ensemble.NumscriptOrder && !sh[i].Weight.IsZero(),
			method != ensemble.NumscriptOrder && fracs[i].Sign() != 0:
			candidates = append(candidates, i)
		}
	}
	if method == ensemble.LargestRemainder {
		slices.SortStableFunc(candidates, func(a, b int) int {
			if c := fracs[b].Cmp(fracs[a]); c != 0 {
				return c
			}
			return strings.Compare(sh[a].Key, sh[b].Key)
		})
	}
	for _, i := range candidates[:left.Int64()] {
		parts[i].Add(parts[i], big.NewInt(1))
	}
	for _, p := range parts {
		if units.Sign() < 0 {
			p.Neg(p)
		}
	}
	return parts
}

// TestAllocateMatchesReference compares every path (Allocate on int64 and
// math/big amounts, AllocateUnits, a compiled Allocator) with the plain
// reference, for every method and shares in any key order.
func TestAllocateMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sh := genShares().Draw(t, "shares")
		perm := rapid.Permutation(indexes(len(sh))).Draw(t, "keyOrder")
		for i := range sh {
			sh[i].Key = fmt.Sprintf("k%02d", perm[i])
		}
		method := ensemble.AllocationMethod(rapid.IntRange(0, 2).Draw(t, "method"))
		opts := ensemble.AllocateOptions{Method: method}
		small := rapid.Int64().Draw(t, "units")
		a, err := ensemble.NewAllocator(sh, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, units := range []*big.Int{big.NewInt(small), new(big.Int).Mul(big.NewInt(small), big.NewInt(1_000_003))} {
			want := referenceAllocate(units, sh, method)
			parts, err := ensemble.Allocate(ensemble.MoneyFromDecimal(decimal.NewFromBigInt(units, 0), jpy), sh, opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range parts {
				if parts[i].Amount().BigInt().Cmp(want[i]) != 0 {
					t.Fatalf("%s of %s: part %d is %s, reference %s", method, units, i, parts[i], want[i])
				}
			}
			if !units.IsInt64() {
				continue
			}
			dst := make([]int64, len(sh))
			if err := ensemble.AllocateUnits(dst, units.Int64(), sh, opts); err != nil {
				t.Fatal(err)
			}
			got := make([]int64, len(sh))
			if err := a.Units(got, units.Int64()); err != nil {
				t.Fatal(err)
			}
			for i := range dst {
				if dst[i] != want[i].Int64() || got[i] != want[i].Int64() {
					t.Fatalf("%s of %s: part %d is %d (units), %d (allocator), reference %s", method, units, i, dst[i], got[i], want[i])
				}
			}
		}
	})
}

// TestAllocateManyShares checks a wide split against the reference: the
// leftover ordering is a sort, not an insertion sort.
func TestAllocateManyShares(t *testing.T) {
	const n = 5000
	sh := make([]ensemble.Share, n)
	for i := range sh {
		sh[i] = ensemble.Share{Key: fmt.Sprintf("p%05d", (i*7919)%n), Weight: ensemble.RatioFromInt(int64(i%97 + 1))}
	}
	for _, method := range []ensemble.AllocationMethod{ensemble.LargestRemainder, ensemble.FirstInOrder, ensemble.NumscriptOrder} {
		units := big.NewInt(123_456_789)
		want := referenceAllocate(units, sh, method)
		dst := make([]int64, n)
		require.NoError(t, ensemble.AllocateUnits(dst, units.Int64(), sh, ensemble.AllocateOptions{Method: method}))
		for i := range dst {
			if dst[i] != want[i].Int64() {
				t.Fatalf("%s: part %d is %d, reference %s", method, i, dst[i], want[i])
			}
		}
		require.Equal(t, units.Int64(), sumInt64(dst))
	}
}

func sumInt64(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}

func TestRemainderModeText(t *testing.T) {
	for _, m := range []ensemble.RemainderMode{ensemble.FloorParts, ensemble.WholeBlocks} {
		b, err := m.MarshalText()
		require.NoError(t, err)
		var back ensemble.RemainderMode
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, m, back)
	}
	var m ensemble.RemainderMode
	require.NoError(t, m.UnmarshalText(nil))
	require.Equal(t, ensemble.FloorParts, m)
	require.Error(t, m.UnmarshalText([]byte("floor")))
}
