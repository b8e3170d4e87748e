package ensemble_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

func TestArithKeepsTheFirstError(t *testing.T) {
	var x ensemble.Arith
	require.NoError(t, x.Err(), "the zero Arith holds no error")
	sum := x.Add(ensemble.MustMoney("1.50", "EUR"), ensemble.MustMoney("2.25", "EUR"))
	require.True(t, sum.Equal(ensemble.MustMoney("3.75", "EUR")), "got %s", sum)
	require.Equal(t, 1, x.Cmp(sum, ensemble.Money{}), "the zero Money compares with any currency")
	require.NoError(t, x.Err())

	got := x.Sub(sum, ensemble.MustMoney("1.00", "USD"))
	require.True(t, got.Equal(ensemble.Money{}), "a failed Sub returns the zero Money, got %s", got)
	require.Zero(t, x.Cmp(sum, ensemble.MustMoney("1.00", "JPY")))
	x.Add(sum, sum) // a later success does not clear the error

	var mm *ensemble.CurrencyMismatchError
	require.ErrorAs(t, x.Err(), &mm)
	require.Equal(t, "sub", mm.Op, "the first error is kept, not the Cmp after it")
	require.Equal(t, usd, mm.B)
	require.ErrorIs(t, x.Err(), ensemble.ErrCurrencyMismatch)
}

// TestArithAgreesWithMoney checks that Arith returns what Money's own
// methods return, and keeps exactly the first of their errors.
func TestArithAgreesWithMoney(t *testing.T) {
	curs := []ensemble.Currency{eur, usd, {}}
	rapid.Check(t, func(t *rapid.T) {
		var x ensemble.Arith
		var first error
		n := rapid.IntRange(1, 8).Draw(t, "ops")
		for i := 0; i < n; i++ {
			a := ensemble.MoneyFromMinor(rapid.Int64().Draw(t, "a"), eur)
			b := ensemble.MoneyFromMinor(rapid.Int64Range(-1000, 1000).Draw(t, "b"), rapid.SampledFrom(curs).Draw(t, "currency"))
			var err error
			switch op := rapid.IntRange(0, 2).Draw(t, "op"); op {
			case 0:
				want, e := a.Add(b)
				require.True(t, x.Add(a, b).Equal(want))
				err = e
			case 1:
				want, e := a.Sub(b)
				require.True(t, x.Sub(a, b).Equal(want))
				err = e
			default:
				want, e := a.Cmp(b)
				require.Equal(t, want, x.Cmp(a, b))
				err = e
			}
			if first == nil {
				first = err
			}
		}
		require.Equal(t, first != nil, x.Err() != nil)
		if first != nil {
			require.Equal(t, first.Error(), x.Err().Error())
			require.True(t, errors.Is(x.Err(), ensemble.ErrCurrencyMismatch))
		}
	})
}
