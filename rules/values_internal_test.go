package rules

import (
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

// TestMoneyInBoundsAgreesWithCheckBounds checks the allocation-free bounds
// check of money results against the exact one over amounts of every
// representation: int64 and big coefficients, zeros, and exponents on both
// sides of the bounds. The fast check may only say yes where the exact one
// does.
func TestMoneyInBoundsAgreesWithCheckBounds(t *testing.T) {
	curs := []ensemble.Currency{ensemble.MustCurrency("EUR"), ensemble.MustCurrency("JPY"), ensemble.MustCurrency("BHD")}
	rapid.Check(t, func(t *rapid.T) {
		exp := rapid.Int32Range(-2*MaxResultScale, 2*MaxResultDigits).Draw(t, "exp")
		var coef *big.Int
		switch rapid.IntRange(0, 3).Draw(t, "size") {
		case 0:
			coef = new(big.Int) // zero spans 1 + exp digits for any exp >= 0
		case 1:
			coef = big.NewInt(rapid.Int64Range(-1000, 1000).Draw(t, "small"))
		case 2:
			coef = big.NewInt(rapid.Int64().Draw(t, "int64"))
		default:
			digits := rapid.IntRange(19, 90).Draw(t, "digits")
			coef = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
			coef.Add(coef, big.NewInt(rapid.Int64().Draw(t, "low")))
		}
		cur := rapid.SampledFrom(curs).Draw(t, "currency")
		m := ensemble.MoneyFromDecimal(decimal.NewFromBigInt(coef, exp), cur)
		if moneyInBounds(m) {
			require.Nil(t, checkBounds(m.Amount()), "%s (coefficient %s, exponent %d)", m, coef, exp)
		}
	})
}

// TestMoneyInBoundsTakesCommonAmounts checks the fast check says yes to
// the amounts rules mostly compute (so they skip the exact check) and no
// to those only the exact check can decide.
func TestMoneyInBoundsTakesCommonAmounts(t *testing.T) {
	eur := ensemble.MustCurrency("EUR")
	for _, tc := range []struct {
		name string
		m    ensemble.Money
		want bool
	}{
		{"minor units", ensemble.MoneyFromMinor(1234, eur), true},
		{"a product finer than the minor unit", ensemble.MoneyFromMinor(1234, eur).Mul(decimal.RequireFromString("0.05")), true},
		{"negative", ensemble.MoneyFromMinor(-99, eur), true},
		{"a positive exponent", ensemble.MoneyFromDecimal(decimal.New(5, 3), eur), true},
		{"zero", ensemble.MoneyFromMinor(0, eur), false},
		{"too many digits after the point", ensemble.MoneyFromDecimal(decimal.New(5, -MaxResultScale-1), eur), false},
		{"an integer part beyond int64 minor units", ensemble.MoneyFromDecimal(decimal.New(1, 30), eur), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, moneyInBounds(tc.m))
			if tc.want {
				require.Nil(t, checkBounds(tc.m.Amount()))
			}
		})
	}
}
