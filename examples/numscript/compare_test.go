package numscript_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/examples/numscript"
)

var ctx = context.Background()

// settlers are the three ways a line is settled, each built once, as a
// host would.
type settlers struct {
	ensemble *numscript.Ensemble
	interp   *numscript.Numscript
	vm       *numscript.NumscriptVM
}

func newSettlers(t testing.TB) settlers {
	t.Helper()
	e, err := numscript.NewEnsemble()
	require.NoError(t, err)
	n, err := numscript.NewNumscript()
	require.NoError(t, err)
	vm, err := numscript.NewNumscriptVM()
	require.NoError(t, err)
	return settlers{e, n, vm}
}

// settleBoth settles one line of cents with Ensemble and with Numscript
// (its interpreter and its VM) and fails t unless every party gets the
// same minor units, all of the line's amount between them.
func settleBoth(t require.TestingT, s settlers, id string, cents int64) numscript.Split {
	got, err := s.ensemble.Settle(ctx, s.ensemble.Line(id, cents))
	require.NoError(t, err, "ensemble, %d cents", cents)
	want, err := s.interp.Settle(ctx, s.interp.Vars(cents))
	require.NoError(t, err, "numscript, %d cents", cents)
	require.Equal(t, want, got, "%d cents: ensemble (got) against numscript's interpreter (want)", cents)
	vm, err := s.vm.Settle(ctx, s.interp.Vars(cents))
	require.NoError(t, err, "numscript vm, %d cents", cents)
	require.Equal(t, want, vm, "%d cents: numscript's vm (got) against its interpreter (want)", cents)
	var sum int64
	for _, units := range got {
		sum += units
	}
	require.Equal(t, cents, sum, "%d cents: the parts do not add up to the line", cents)
	return got
}

// TestSplitsAgree settles a few thousand lines both ways: every amount
// from 0 to 5,000 cents (every leftover pattern of both levels many times
// over), amounts around powers of ten up to a trillion euros, and the
// largest amounts a line holds, up to the largest int64.
func TestSplitsAgree(t *testing.T) {
	s := newSettlers(t)
	var amounts []int64
	for c := range int64(5_001) {
		amounts = append(amounts, c)
	}
	for p := int64(10_000); p <= 100_000_000_000_000; p *= 10 {
		for d := int64(-3); d <= 3; d++ {
			amounts = append(amounts, p+d)
		}
	}
	for d := range int64(4) {
		amounts = append(amounts, math.MaxInt64/2-d, math.MaxInt64-d)
	}
	amounts = append(amounts, 1_000_003, 123_456_789, 999_999_999_999)
	for i, cents := range amounts {
		settleBoth(t, s, fmt.Sprintf("L%07d", i), cents)
	}
}

// TestSplitsAgreeProperty settles lines of any amount both ways.
func TestSplitsAgreeProperty(t *testing.T) {
	s := newSettlers(t)
	rapid.Check(t, func(t *rapid.T) {
		cents := rapid.OneOf(
			rapid.Int64Range(0, 10_000),
			rapid.Int64Range(0, 1_000_000_000_000),
			rapid.Int64Range(0, math.MaxInt64),
		).Draw(t, "cents")
		settleBoth(t, s, "L1", cents)
	})
}

// TestLeftoversFollowNumscript pins the leftover rule on amounts small
// enough to check by hand: each level floors every part (the remaining
// part too, at 1 - the others' ratios), then gives the units left over one
// each in declaration order.
func TestLeftoversFollowNumscript(t *testing.T) {
	s := newSettlers(t)
	for _, tc := range []struct {
		name  string
		cents int64
		want  numscript.Split
	}{
		// Root: 0.2 / 0.05 / 0.75 floor to 0/0/0; the unit goes to the
		// first part.
		{"one cent goes to the platform", 1, numscript.Split{numscript.Platform: 1}},
		// Root: 1.4 / 0.35 / 5.25 floor to 1/0/5, leftover 1 to the
		// platform; channel 5: 0.3 / 0.5 / 4.2 floor to 0/0/4, leftover 1
		// to the distributor.
		{"seven cents", 7, numscript.Split{numscript.Platform: 2, numscript.Distributor: 1, numscript.Seller: 4}},
		// Root: 19.8 / 4.95 / 74.25 floor to 19/4/74, leftovers 2 to the
		// platform and the referrer; channel 74: 4.44 / 7.4 / 62.16 floor
		// to 4/7/62, leftover 1 to the distributor.
		{"ninety-nine cents", 99, numscript.Split{numscript.Platform: 20, numscript.Referrer: 5, numscript.Distributor: 5, numscript.Reseller: 7, numscript.Seller: 62}},
		// Whole at the root (20/5/75); channel 75: 4.5 / 7.5 / 63 floor
		// to 4/7/63, leftover 1 to the distributor, though the seller's
		// share was whole.
		{"one euro", 100, numscript.Split{numscript.Platform: 20, numscript.Referrer: 5, numscript.Distributor: 5, numscript.Reseller: 7, numscript.Seller: 63}},
		{"one euro and a cent", 101, numscript.Split{numscript.Platform: 21, numscript.Referrer: 5, numscript.Distributor: 5, numscript.Reseller: 7, numscript.Seller: 63}},
		// Root: 200000.6 / 50000.15 / 750002.25 floor to 200000/50000/750002,
		// leftover 1 to the platform; channel 750002: 45000.12 / 75000.2 /
		// 630001.68 floor to 45000/75000/630001, leftover 1 to the
		// distributor.
		{"a million and three cents", 1_000_003, numscript.Split{numscript.Platform: 200_001, numscript.Referrer: 50_000, numscript.Distributor: 45_001, numscript.Reseller: 75_000, numscript.Seller: 630_001}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := settleBoth(t, s, "L1", tc.cents)
			require.Equal(t, tc.want, got)
		})
	}
}
