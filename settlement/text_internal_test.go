package settlement

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

// TestPropertyMoneyTextIsMoneyString checks that the text entries and
// share texts write for minor units is Money.String's, for currencies of
// 0 to 3 minor digits and declared units of up to 18.
func TestPropertyMoneyTextIsMoneyString(t *testing.T) {
	units, err := ensemble.NewUnits(ensemble.Unit{Code: "GEMS", Digits: 0}, ensemble.Unit{Code: "TOKENS", Digits: 8},
		ensemble.Unit{Code: "DUST", Digits: 18})
	require.NoError(t, err)
	var curs []ensemble.Currency
	for _, code := range []string{"EUR", "JPY", "BHD", "GEMS", "TOKENS", "DUST"} {
		c, err := units.Currency(code)
		require.NoError(t, err)
		curs = append(curs, c)
	}
	edge := rapid.SampledFrom([]int64{0, 1, -1, 9, 10, 99, 100, -100, 12345, math.MaxInt64, math.MinInt64, math.MinInt64 + 1})
	rapid.Check(t, func(t *rapid.T) {
		cur := rapid.SampledFrom(curs).Draw(t, "currency")
		u := rapid.OneOf(edge, rapid.Int64(), rapid.Int64Range(-100_000, 100_000)).Draw(t, "units")
		require.Equal(t, ensemble.MoneyFromMinor(u, cur).String(), moneyText(u, cur))
	})
}

// TestPropertyAppendDateIsDateOnly checks the date reserve notes write
// against time.DateOnly's, for instants over ten thousand years and more.
func TestPropertyAppendDateIsDateOnly(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		at := time.Unix(rapid.Int64Range(-70_000_000_000, 300_000_000_000).Draw(t, "unix"), 0).UTC()
		require.Equal(t, at.Format(time.DateOnly), string(appendDate([]byte("x "), at))[2:])
	})
}
