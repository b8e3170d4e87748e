package ensemble_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
)

// A host that keeps its table the way its treasury quotes it ("USD 1 = CAD
// 1.37") and asks for CAD to USD (a distributor's parent consolidating CAD
// statements in USD) got "no exchange rate from CAD to USD" and nothing
// more, as if the table were empty. The rate is still refused (never
// inverted), but the error says what the table holds and what to give; and a
// pair whose first rate comes later says when it starts.
func TestNoRateSaysTheTableHoldsTheReversedPairOrALaterRate(t *testing.T) {
	cad, usd := ensemble.MustCurrency("CAD"), ensemble.MustCurrency("USD")
	reversed := ensemble.ExchangeRates{{From: usd, To: cad, Since: day(2026, 1, 1), Rate: ensemble.MustRatio("1.37")}}
	later := ensemble.ExchangeRates{{From: cad, To: usd, Since: day(2026, 6, 1), Rate: ensemble.MustRatio("0.73")}}
	for _, tc := range []struct {
		name  string
		rates ensemble.ExchangeRates
		want  string
	}{
		{"reversed pair", reversed, "ensemble: no exchange rate from CAD to USD at 2026-04-01T00:00:00Z: the rates hold USD to CAD, never inverted: give CAD to USD"},
		{"first rate later", later, "ensemble: no exchange rate from CAD to USD at 2026-04-01T00:00:00Z: the pair's first rate is in force from 2026-06-01T00:00:00Z"},
		{"empty table", nil, "ensemble: no exchange rate from CAD to USD at 2026-04-01T00:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.rates.At(cad, usd, day(2026, 4, 1))
			var re *ensemble.RateError
			require.ErrorAs(t, err, &re)
			require.ErrorIs(t, err, ensemble.ErrNoRate)
			require.Equal(t, tc.want, err.Error())
		})
	}
	_, err := reversed.Find(cad, usd)
	require.ErrorIs(t, err, ensemble.ErrNoRate)
	require.EqualError(t, err, "ensemble: no exchange rate from CAD to USD: the rates hold USD to CAD, never inverted: give CAD to USD")
}
