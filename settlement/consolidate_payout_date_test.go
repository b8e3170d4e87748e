package settlement_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

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

// For random balances in four currencies, rates starting on random days of
// March and April, a consolidation At a random instant and a payout dated
// on a random day: the payout is refused with ensemble.ErrNoRate exactly
// when a part it pays converts at a rate whose Since is after its date;
// otherwise every conversion it records is at a rate in force on its date.
func TestPropertyPayOutConsolidatedRateInForce(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	codes := []string{"EUR", "USD", "GBP", "JPY"}
	rapid.Check(t, func(t *rapid.T) {
		var entries []settlement.Entry
		for i, code := range codes {
			u := rapid.Int64Range(-50_000, 100_000).Draw(t, "units")
			if u != 0 {
				entries = append(entries, entryOf(fmt.Sprint("x", i), settlement.KindEarning, "acme", ensemble.MoneyFromMinor(u, ensemble.MustCurrency(code)), "2026-03-10"))
			}
		}
		if len(entries) == 0 {
			return
		}
		sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: march})
		require.NoError(t, err)
		var rates ensemble.ExchangeRates
		for _, code := range codes[1:] {
			for j := range rapid.IntRange(1, 3).Draw(t, "rates") {
				since := date("2026-03-01").AddDate(0, 0, 20*j+rapid.IntRange(0, 19).Draw(t, "since"))
				rates = append(rates, ensemble.ExchangeRate{From: ensemble.MustCurrency(code), To: ensemble.MustCurrency("EUR"), Since: since,
					Rate: ensemble.MustRatio(fmt.Sprintf("%d/10000", rapid.Int64Range(1, 200_000).Draw(t, "rate")))})
			}
		}
		at := date("2026-03-01").AddDate(0, 0, rapid.IntRange(0, 70).Draw(t, "at"))
		got, err := settlement.Consolidate(sts, settlement.Consolidation{Currency: ensemble.MustCurrency("EUR"), Rates: rates, At: at, Net: true})
		if err != nil {
			require.ErrorIs(t, err, ensemble.ErrNoRate) // At before a pair's first rate
			return
		}
		cs := got[0]
		if !cs.Payable.IsPositive() {
			return
		}
		payDate := date("2026-03-01").AddDate(0, 0, rapid.IntRange(0, 80).Draw(t, "pay"))
		early := false
		for _, p := range cs.Parts {
			if p.Statement.Currency != cs.Currency && !p.Statement.Closing.IsZero() && p.Rate.Since.After(payDate) {
				early = true
			}
		}
		pay, err := settlement.PayOutConsolidated(cs, settlement.Payout{ID: "p", Date: payDate})
		if early {
			require.ErrorIs(t, err, ensemble.ErrNoRate)
			require.Nil(t, pay)
			return
		}
		require.NoError(t, err)
		for _, e := range pay {
			if e.Conversion == nil {
				continue
			}
			r, err := rates.At(e.Amount.Currency(), cs.Currency, at)
			require.NoError(t, err)
			require.False(t, r.Since.After(e.Date), "%s paid on %s at a rate from %s", e.ID, e.Date, r.Since)
		}
	})
}
