package settlement_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A consolidated statement converts at the rates in force at its At: USD
// 0.92 from March 1st (consolidationRates). A payout of it dated February
// 20th would pay at a rate that was not yet in force on its date (USD
// 100.00 paid as EUR 92.00, where February's 0.90 gives 90.00): refused as
// PayOut refuses an Exchange not yet in force, with an
// *ensemble.RateError wrapping ensemble.ErrNoRate that names the pair,
// the payout's date and when the rate starts. Dated on or after March 1st
// it pays.
func TestPayOutConsolidatedRefusesRateNotYetInForce(t *testing.T) {
	feb := ensemble.MustPeriod(date("2026-02-01"), date("2026-03-01"))
	sts, err := settlement.Statements([]settlement.Entry{
		entryOf("e1", settlement.KindEarning, "acme", eur("10.00"), "2026-02-03"),
		entryOf("u1", settlement.KindEarning, "acme", mustUSD("100.00"), "2026-02-04"),
	}, settlement.StatementOptions{Period: feb})
	require.NoError(t, err)
	got, err := settlement.Consolidate(sts, settlement.Consolidation{Currency: ensemble.MustCurrency("EUR"), Rates: consolidationRates(),
		At: date("2026-03-05"), Net: true})
	require.NoError(t, err)
	require.Len(t, got, 1)
	requireMoney(t, got[0].Payable, eur("102.00"))

	_, err = settlement.PayOutConsolidated(got[0], settlement.Payout{ID: "early", Date: date("2026-02-20")})
	require.ErrorIs(t, err, ensemble.ErrNoRate)
	var re *ensemble.RateError
	require.True(t, errors.As(err, &re))
	require.Equal(t, "USD", re.From.Code())
	require.Equal(t, "EUR", re.To.Code())
	require.True(t, re.At.Equal(date("2026-02-20")))
	require.Contains(t, err.Error(), "in force only from 2026-03-01")
	require.Contains(t, err.Error(), `payout "early"`)

	for _, d := range []string{"2026-03-01", "2026-03-05", "2026-03-09"} {
		pay, err := settlement.PayOutConsolidated(got[0], settlement.Payout{ID: "p", Date: date(d)})
		require.NoError(t, err, d)
		require.Len(t, pay, 2)
		requireMoney(t, pay[1].Conversion.To, eur("92.00"))
	}
}
