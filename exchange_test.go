package ensemble_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

func TestExchangeRatesAt(t *testing.T) {
	usd, eur, gbp := ensemble.MustCurrency("USD"), ensemble.MustCurrency("EUR"), ensemble.MustCurrency("GBP")
	rates := ensemble.ExchangeRates{
		{From: usd, To: eur, Since: day(2026, 3, 1), Rate: ensemble.MustRatio("0.93")},
		{From: usd, To: eur, Since: day(2026, 1, 1), Rate: ensemble.MustRatio("0.91")},
		{From: usd, To: eur, Since: day(2026, 2, 1), Rate: ensemble.MustRatio("0.92")},
		{From: eur, To: usd, Rate: ensemble.MustRatio("1.08")}, // undated: in force from the beginning
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{day(2026, 1, 1), "0.91"},
		{day(2026, 1, 31), "0.91"},
		{day(2026, 2, 1), "0.92"}, // a rate is in force from its Since, inclusive
		{day(2026, 2, 28).Add(23 * time.Hour), "0.92"},
		{day(2026, 3, 1), "0.93"},
		{day(2027, 1, 1), "0.93"},
	} {
		r, err := rates.At(usd, eur, tc.at)
		require.NoError(t, err, tc.at)
		require.True(t, r.Rate.Equal(ensemble.MustRatio(tc.want)), "%s: got %s, want %s", tc.at, r.Rate, tc.want)
	}
	r, err := rates.At(eur, usd, day(1990, 1, 1))
	require.NoError(t, err)
	require.True(t, r.Rate.Equal(ensemble.MustRatio("1.08")))

	// Before the pair's first rate, or a pair never given (never inverted,
	// never through a third currency): ErrNoRate naming pair and instant.
	for _, c := range []struct {
		from, to ensemble.Currency
		at       time.Time
		msg      string
	}{
		{usd, eur, day(2025, 12, 31), "ensemble: no exchange rate from USD to EUR at 2025-12-31T00:00:00Z: the pair's first rate is in force from 2026-01-01T00:00:00Z"},
		{gbp, eur, day(2026, 2, 1), "ensemble: no exchange rate from GBP to EUR at 2026-02-01T00:00:00Z"},
	} {
		_, err := rates.At(c.from, c.to, c.at)
		var re *ensemble.RateError
		require.ErrorAs(t, err, &re)
		require.ErrorIs(t, err, ensemble.ErrNoRate)
		require.Equal(t, c.msg, err.Error())
	}

	// A pair given twice with one Since is ambiguous: refused when used,
	// and by Check, which names both positions.
	twice := append(rates[:len(rates):len(rates)], ensemble.ExchangeRate{From: usd, To: eur, Since: day(2026, 2, 1), Rate: ensemble.MustRatio("0.95")})
	_, err = twice.At(usd, eur, day(2026, 2, 15))
	require.ErrorIs(t, err, ensemble.ErrRate)
	_, err = twice.At(usd, eur, day(2026, 1, 15)) // the ambiguity is not in force
	require.NoError(t, err)
	err = twice.Check()
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 1)
	require.Equal(t, "rates[4]", ve.Problems[0].Path)
	require.ErrorIs(t, err, ensemble.ErrRate)
	require.Contains(t, err.Error(), "given twice (rates[2])")
	require.NoError(t, rates.Check())
}

func TestExchangeRateCheck(t *testing.T) {
	usd, eur := ensemble.MustCurrency("USD"), ensemble.MustCurrency("EUR")
	for _, c := range []struct {
		name string
		r    ensemble.ExchangeRate
		msg  string
	}{
		{"itself", ensemble.ExchangeRate{From: eur, To: eur, Rate: ensemble.MustRatio("1")}, "a currency converts to itself at 1"},
		{"no from", ensemble.ExchangeRate{To: eur, Rate: ensemble.MustRatio("1")}, "a currency is missing"},
		{"zero", ensemble.ExchangeRate{From: usd, To: eur}, "0 is not above zero"},
		{"negative", ensemble.ExchangeRate{From: usd, To: eur, Rate: ensemble.MustRatio("-0.9")}, "-0.9 is not above zero"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.r.Check()
			var re *ensemble.RateError
			require.ErrorAs(t, err, &re)
			require.ErrorIs(t, err, ensemble.ErrRate)
			require.Contains(t, err.Error(), c.msg)
			// An unusable rate is refused when it is the one in force.
			_, err = ensemble.ExchangeRates{c.r}.At(c.r.From, c.r.To, day(2026, 1, 1))
			if !c.r.From.IsZero() {
				require.ErrorIs(t, err, ensemble.ErrRate)
			}
			require.ErrorIs(t, ensemble.ExchangeRates{c.r}.Check(), ensemble.ErrRate)
		})
	}
}

func TestExchangeRateConvert(t *testing.T) {
	usd, eur, jpy := ensemble.MustCurrency("USD"), ensemble.MustCurrency("EUR"), ensemble.MustCurrency("JPY")
	r := ensemble.ExchangeRate{From: usd, To: eur, Rate: ensemble.MustRatio("0.9234")}
	// 24.70 × 0.9234 = 22.80798: rounded once to EUR 22.81 half away from
	// zero, EUR 22.80 down; negative amounts mirror.
	for _, c := range []struct {
		in   string
		mode ensemble.RoundingMode
		want string
	}{
		{"24.70", ensemble.RoundHalfAwayFromZero, "EUR 22.81"},
		{"24.70", ensemble.RoundDown, "EUR 22.80"},
		{"-24.70", ensemble.RoundHalfAwayFromZero, "EUR -22.81"},
		{"0.00", ensemble.RoundHalfAwayFromZero, "EUR 0.00"},
	} {
		got, err := r.Convert(ensemble.MustMoney(c.in, "USD"), c.mode)
		require.NoError(t, err)
		require.Equal(t, c.want, got.String())
	}
	// To a currency with no minor unit: JPY 0 digits.
	got, err := ensemble.ExchangeRate{From: usd, To: jpy, Rate: ensemble.MustRatio("151.37")}.Convert(ensemble.MustMoney("10.05", "USD"), ensemble.RoundHalfEven)
	require.NoError(t, err)
	require.Equal(t, "JPY 1521", got.String()) // 1521.2685
	_, err = r.Convert(ensemble.MustMoney("1.00", "GBP"), ensemble.RoundHalfEven)
	require.ErrorIs(t, err, ensemble.ErrCurrencyMismatch)
}

func TestExchangeRatesJSON(t *testing.T) {
	in := ensemble.ExchangeRates{
		{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"), Since: day(2026, 3, 1), Rate: ensemble.MustRatio("0.9234")},
		{From: ensemble.MustCurrency("GBP"), To: ensemble.MustCurrency("EUR"), Rate: ensemble.MustRatio("7/6")},
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, `[{"from":"USD","to":"EUR","since":"2026-03-01T00:00:00Z","rate":"0.9234"},{"from":"GBP","to":"EUR","rate":"7/6"}]`, string(b))
	var back ensemble.ExchangeRates
	require.NoError(t, json.Unmarshal(b, &back))
	require.Empty(t, cmp.Diff(in, back, cmp.Comparer(func(a, b ensemble.Ratio) bool { return a.Equal(b) }),
		cmp.Comparer(func(a, b ensemble.Currency) bool { return a == b })))
}

// TestPropertyExchangeRatesAt compares At with a plain reading of its
// definition: among the pair's rates with Since not after t, the latest.
func TestPropertyExchangeRatesAt(t *testing.T) {
	curs := []ensemble.Currency{ensemble.MustCurrency("USD"), ensemble.MustCurrency("EUR"), ensemble.MustCurrency("GBP")}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 8).Draw(t, "n")
		var rs ensemble.ExchangeRates
		for i := range n {
			from := rapid.SampledFrom(curs).Draw(t, "from")
			to := rapid.SampledFrom(curs).Draw(t, "to")
			if from == to {
				continue
			}
			since := time.Time{}
			if d := rapid.IntRange(0, 5).Draw(t, "day"); d > 0 {
				since = day(2026, 1, d*7)
			}
			rs = append(rs, ensemble.ExchangeRate{From: from, To: to, Since: since, Rate: ensemble.RatioFromInt(int64(i + 1))})
		}
		from, to := rapid.SampledFrom(curs).Draw(t, "qfrom"), rapid.SampledFrom(curs).Draw(t, "qto")
		at := day(2026, 1, 1).Add(time.Duration(rapid.IntRange(0, 50*24).Draw(t, "hours")) * time.Hour)

		var best []int
		for i, r := range rs {
			if r.From != from || r.To != to || r.Since.After(at) {
				continue
			}
			if len(best) == 0 || r.Since.After(rs[best[0]].Since) {
				best = []int{i}
			} else if r.Since.Equal(rs[best[0]].Since) {
				best = append(best, i)
			}
		}
		got, err := rs.At(from, to, at)
		switch len(best) {
		case 0:
			require.ErrorIs(t, err, ensemble.ErrNoRate)
		case 1:
			require.NoError(t, err)
			require.True(t, got.Rate.Equal(rs[best[0]].Rate))
		default:
			require.ErrorIs(t, err, ensemble.ErrRate)
		}
	})
}
