package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A KWD statement paid in USD with Payout.Rate 10000/32571 (a USD→KWD
// rate, given the wrong way round) paid USD 11.03 instead of 117.01
// without a word: a bare ratio says nothing of its direction (a new
// user's trial). Payout.Exchange labels the pair as rates are labelled
// everywhere else: the statement's currency to the one paid in, checked,
// a reversed pair refused with ensemble.ErrRate; Rate still works.
func TestPayOutChecksALabelledExchangeRate(t *testing.T) {
	kwd, usd, eurC := ensemble.MustCurrency("KWD"), ensemble.MustCurrency("USD"), ensemble.MustCurrency("EUR")
	earned := settlement.Entry{ID: "e1", Kind: settlement.KindEarning, Party: "reseller-kw", Amount: ensemble.MustMoney("35.925", "KWD"), Date: date("2026-03-10")}
	sts, err := settlement.Statements([]settlement.Entry{earned}, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))})
	require.NoError(t, err)
	st := sts[0]
	pay := date("2026-04-02")
	rate := func(from, to ensemble.Currency, r string) *ensemble.ExchangeRate {
		return &ensemble.ExchangeRate{From: from, To: to, Since: date("2026-04-01"), Rate: ensemble.MustRatio(r)}
	}

	for _, p := range []settlement.Payout{
		{ID: "p", Date: pay, Currency: usd, Exchange: rate(kwd, usd, "3.2571")},
		{ID: "p", Date: pay, Exchange: rate(kwd, usd, "3.2571")}, // paid in Exchange.To
		{ID: "p", Date: pay, Currency: usd, Rate: ensemble.MustRatio("3.2571")},
	} {
		e, err := settlement.PayOut(st, p)
		require.NoError(t, err)
		requireMoney(t, e.Amount, ensemble.MustMoney("35.925", "KWD"))
		require.NotNil(t, e.Conversion)
		requireMoney(t, e.Conversion.To, ensemble.MustMoney("117.01", "USD")) // 35.925 × 3.2571 = 117.0113
		require.Zero(t, e.Conversion.Rate.Cmp(ensemble.MustRatio("3.2571")))
	}

	refused := []struct {
		name string
		p    settlement.Payout
		want error
		says string
	}{
		{"a reversed pair", settlement.Payout{ID: "p", Date: pay, Currency: usd, Exchange: rate(usd, kwd, "10000/32571")}, ensemble.ErrRate,
			"from USD to KWD: reversed: the payout converts the statement's KWD into USD; give the rate from KWD to USD"},
		{"a reversed pair, paid in its From", settlement.Payout{ID: "p", Date: pay, Exchange: rate(usd, kwd, "10000/32571")}, ensemble.ErrRate,
			"reversed: the payout converts the statement's KWD into USD"},
		{"another pair", settlement.Payout{ID: "p", Date: pay, Currency: usd, Exchange: rate(eurC, usd, "1.0843")}, ensemble.ErrRate,
			"from EUR to USD: the payout converts the statement's KWD into USD"},
		{"a rate not above zero", settlement.Payout{ID: "p", Date: pay, Currency: usd, Exchange: rate(kwd, usd, "0")}, ensemble.ErrRate, "0 is not above zero"},
		{"a rate not yet in force", settlement.Payout{ID: "p", Date: date("2026-03-31"), Currency: usd, Exchange: rate(kwd, usd, "3.2571")}, ensemble.ErrNoRate,
			"in force only from 2026-04-01T00:00:00Z"},
		{"both a rate and an exchange", settlement.Payout{ID: "p", Date: pay, Currency: usd, Rate: ensemble.MustRatio("3.2571"), Exchange: rate(kwd, usd, "3.2571")},
			settlement.ErrInvalidPayout, "sets both rate and exchange"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			e, err := settlement.PayOut(st, c.p)
			require.ErrorIs(t, err, c.want)
			require.ErrorContains(t, err, c.says)
			require.Equal(t, settlement.Entry{}, e)
			if c.want != settlement.ErrInvalidPayout {
				var re *ensemble.RateError
				require.ErrorAs(t, err, &re)
			}
		})
	}
}
