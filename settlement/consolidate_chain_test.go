package settlement_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// secureScanMonths folds the distributor trial's SecureScan: EUR 8,650.00
// earned in January, paid on February 1st in USD at January's 1.08 (USD
// 9,342.00), EUR 250.00 earned in February. It returns the entries and
// the two statements.
func secureScanMonths(t *testing.T, pay bool) ([]settlement.Entry, settlement.Statement, settlement.Statement, ensemble.ExchangeRates) {
	t.Helper()
	eurC, usdC := ensemble.MustCurrency("EUR"), ensemble.MustCurrency("USD")
	rates := ensemble.ExchangeRates{
		{From: eurC, To: usdC, Since: date("2026-01-01"), Rate: ensemble.MustRatio("1.08")},
		{From: eurC, To: usdC, Since: date("2026-02-01"), Rate: ensemble.MustRatio("1.10")},
	}
	jan := ensemble.MustPeriod(date("2026-01-01"), date("2026-02-01"))
	feb := ensemble.MustPeriod(date("2026-02-01"), date("2026-03-01"))
	entries := []settlement.Entry{entryOf("jan", settlement.KindEarning, "securescan", eur("8650.00"), "2026-01-15")}
	js, err := settlement.Statements(entries, settlement.StatementOptions{Period: jan})
	require.NoError(t, err)
	require.Len(t, js, 1)
	if pay {
		p, err := settlement.PayOut(js[0], settlement.Payout{ID: "securescan-jan", Date: date("2026-02-01"), Exchange: &rates[0], Mode: ensemble.RoundHalfAwayFromZero})
		require.NoError(t, err)
		requireMoney(t, p.Conversion.To, mustUSD("9342.00"))
		entries = append(entries, p)
	}
	entries = append(entries, entryOf("feb", settlement.KindEarning, "securescan", eur("250.00"), "2026-02-10"))
	fs, err := settlement.Statements(entries, settlement.StatementOptions{Period: feb, Previous: js})
	require.NoError(t, err)
	require.Len(t, fs, 1)
	return entries, js[0], fs[0], rates
}

// F6 of the distributor trial: SecureScan's lines are in EUR, it is paid
// in USD at the month's rate. January closes at EUR 8,650.00 = USD
// 9,342.00 (1.08) and is paid USD 9,342.00 on February 1st. February's USD
// statement (rate 1.10) reported opening and paid out USD 9,515.00
// (8,650.00 × 1.10): it neither opened at January's closing nor showed
// what was paid. Given January's consolidated statement and the payouts,
// it opens at USD 9,342.00, pays out USD 9,342.00, earns 275.00 (250.00 ×
// 1.10) and closes at 275.00, with no revaluation: the carried balance
// was paid at the rate it was carried at. Left unpaid, the carried balance
// is revalued: 8,650.00 × (1.10 - 1.08) = USD 173.00 of Revaluation.
func TestConsolidateChainsAtHistoricalRates(t *testing.T) {
	usdC := ensemble.MustCurrency("USD")
	entries, js, fs, rates := secureScanMonths(t, true)
	c := settlement.Consolidation{Currency: usdC, Rates: rates, At: date("2026-01-01"), Mode: ensemble.RoundHalfAwayFromZero}
	jc, err := settlement.Consolidate([]settlement.Statement{js}, c)
	require.NoError(t, err)
	requireMoney(t, jc[0].Closing, mustUSD("9342.00"))

	// Without the chain: every figure at February's rate, as before.
	c.At = date("2026-02-01")
	old, err := settlement.Consolidate([]settlement.Statement{fs}, c)
	require.NoError(t, err)
	requireMoney(t, old[0].Opening, mustUSD("9515.00"))
	requireMoney(t, old[0].PaidOut, mustUSD("9515.00"))
	requireMoney(t, old[0].Revaluation, mustUSD("0.00"))

	c.Previous, c.Payouts = jc, entries
	got, err := settlement.Consolidate([]settlement.Statement{fs}, c)
	require.NoError(t, err)
	fc := got[0]
	requireMoney(t, fc.Opening, mustUSD("9342.00"), "January's USD closing")
	requireMoney(t, fc.PaidOut, mustUSD("9342.00"), "the USD actually paid")
	requireMoney(t, fc.Earned, mustUSD("275.00"))
	requireMoney(t, fc.Revaluation, mustUSD("0.00"))
	requireMoney(t, fc.Rounding, mustUSD("0.00"))
	requireMoney(t, fc.Closing, mustUSD("275.00"))
	requireMoney(t, fc.Payable, mustUSD("275.00"))
	part := fc.Parts[0]
	require.NotNil(t, part.Carried)
	require.True(t, part.Carried.Rate.Equal(ensemble.MustRatio("1.08")), "the opening says the rate it was carried at")
	require.True(t, part.Rate.Rate.Equal(ensemble.MustRatio("1.10")), "the flows' rate")
	require.Len(t, part.Paid, 1)
	require.Equal(t, settlement.EntryID("payout:securescan-jan"), part.Paid[0].Entry)
	require.True(t, part.Paid[0].Conversion.Rate.Equal(ensemble.MustRatio("1.08")), "the payout says the rate it was paid at")
	require.NoError(t, fc.Check())
	pay, err := settlement.PayOutConsolidated(fc, settlement.Payout{ID: "securescan-feb", Date: date("2026-03-01")})
	require.NoError(t, err)
	requireMoney(t, pay[0].Conversion.To, mustUSD("275.00"))

	// January's balance left unpaid: carried at 1.08, revalued at 1.10.
	entries, _, fs, _ = secureScanMonths(t, false)
	c.Previous, c.Payouts = jc, entries
	got, err = settlement.Consolidate([]settlement.Statement{fs}, c)
	require.NoError(t, err)
	fc = got[0]
	requireMoney(t, fc.Opening, mustUSD("9342.00"))
	requireMoney(t, fc.PaidOut, mustUSD("0.00"))
	requireMoney(t, fc.Earned, mustUSD("275.00"))
	requireMoney(t, fc.Revaluation, mustUSD("173.00"), "8,650.00 × (1.10 - 1.08)")
	requireMoney(t, fc.Closing, mustUSD("9790.00"), "8,900.00 × 1.10")
	require.NoError(t, fc.Check())

	// A tampered carried opening is refused before it is paid.
	bad := fc
	bad.Parts = append([]settlement.ConsolidatedPart(nil), fc.Parts...)
	carried := *bad.Parts[0].Carried
	carried.To = mustUSD("9000.00")
	bad.Parts[0].Carried = &carried
	require.ErrorIs(t, bad.Check(), settlement.ErrStatementMismatch)
}

// Inputs that do not chain are a *ChainError naming the party and what
// does not match.
func TestConsolidateRefusesInputsThatDoNotChain(t *testing.T) {
	usdC := ensemble.MustCurrency("USD")
	entries, js, fs, rates := secureScanMonths(t, true)
	c := settlement.Consolidation{Currency: usdC, Rates: rates, At: date("2026-01-01"), Mode: ensemble.RoundHalfAwayFromZero}
	jc, err := settlement.Consolidate([]settlement.Statement{js}, c)
	require.NoError(t, err)
	c.At = date("2026-02-01")
	chainErr := func(t *testing.T, c settlement.Consolidation, sts []settlement.Statement, want string) {
		t.Helper()
		_, err := settlement.Consolidate(sts, c)
		require.ErrorIs(t, err, settlement.ErrStatementMismatch)
		var ce *settlement.ChainError
		require.True(t, errors.As(err, &ce), "%v", err)
		require.Equal(t, "securescan", string(ce.Party))
		require.ErrorContains(t, err, want)
	}
	t.Run("previous of another reporting currency", func(t *testing.T) {
		c := c
		c.Previous = []settlement.Consolidated{jc[0]}
		c.Previous[0].Currency = ensemble.MustCurrency("GBP")
		chainErr(t, c, []settlement.Statement{fs}, "not USD")
	})
	t.Run("previous that does not end where the period starts", func(t *testing.T) {
		c := c
		c.Previous, c.At = jc, date("2026-03-01")
		mar := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
		ms, err := settlement.Statements(entries, settlement.StatementOptions{Period: mar})
		require.NoError(t, err)
		chainErr(t, c, ms, "does not end where")
	})
	t.Run("previous given twice", func(t *testing.T) {
		c := c
		c.Previous = []settlement.Consolidated{jc[0], jc[0]}
		chainErr(t, c, []settlement.Statement{fs}, "given twice")
	})
	t.Run("previous closing that is not the opening", func(t *testing.T) {
		c := c
		c.Previous = jc
		other := fs
		other.Opening, other.Earned = eur("8000.00"), eur("900.00") // still closes at 250.00
		chainErr(t, c, []settlement.Statement{other}, "it opens at EUR 8000.00")
	})
	t.Run("payouts that do not add up to the paid out", func(t *testing.T) {
		c := c
		c.Previous, c.Payouts = jc, entries[:1] // the payout left out
		chainErr(t, c, []settlement.Statement{fs}, "add up to EUR 0.00")
	})
}

// Property: a party paid in EUR and USD, reported in USD over several
// months at changing rates, sometimes paid (at the month's rate or
// another, or netted across currencies by PayOutConsolidated), sometimes
// carrying its balance. Chained, each consolidated
// opening is the previous closing, each statement holds together, and
// over the months the converted flows, payouts and revaluations add up to
// the last closing less the first opening, to the cent.
func TestPropertyConsolidatedStatementsChain(t *testing.T) {
	eurC, usdC := ensemble.MustCurrency("EUR"), ensemble.MustCurrency("USD")
	rapid.Check(t, func(t *rapid.T) {
		months := rapid.IntRange(2, 6).Draw(t, "months")
		net := rapid.Bool().Draw(t, "net")
		start := date("2026-01-01")
		var entries []settlement.Entry
		var rates ensemble.ExchangeRates
		var prevSt []settlement.Statement
		var prevCons []settlement.Consolidated
		var first, last ensemble.Money
		total := ensemble.MoneyFromMinor(0, usdC)
		for m := 0; m < months; m++ {
			from, to := start.AddDate(0, m, 0), start.AddDate(0, m+1, 0)
			period := ensemble.MustPeriod(from, to)
			rate := ensemble.ExchangeRate{From: eurC, To: usdC, Since: from,
				Rate: ensemble.MustRatio(rapid.SampledFrom([]string{"0.97", "1.0834", "1.10", "1.1171", "1.25"}).Draw(t, "rate"))}
			rates = append(rates, rate)
			// Pay last month's statements on the 1st, at last month's rate
			// or this month's; netted, their consolidation at last month's.
			if net && len(prevCons) > 0 && prevCons[0].Payable.IsPositive() && rapid.Bool().Draw(t, "pay netted") {
				pay, err := settlement.PayOutConsolidated(prevCons[0], settlement.Payout{ID: "n" + from.Format("200601"), Date: from})
				if err != nil {
					t.Fatal(err)
				}
				entries = append(entries, pay...)
			}
			for _, s := range prevSt {
				if net {
					break
				}
				if !s.Payable.IsPositive() || !rapid.Bool().Draw(t, "pay") {
					continue
				}
				p := settlement.Payout{ID: "p" + s.Currency.Code() + from.Format("200601"), Date: from, Mode: ensemble.RoundHalfEven}
				if s.Currency == eurC {
					ex := rates[len(rates)-1-rapid.IntRange(0, min(1, len(rates)-1)).Draw(t, "paid at")]
					ex.Since = time.Time{}
					p.Exchange = &ex
				}
				e, err := settlement.PayOut(s, p)
				if err != nil {
					t.Fatal(err)
				}
				entries = append(entries, e)
			}
			for i, n := 0, rapid.IntRange(0, 3).Draw(t, "sales"); i < n; i++ {
				cur := rapid.SampledFrom([]ensemble.Currency{eurC, usdC}).Draw(t, "currency")
				amount := ensemble.MoneyFromMinor(rapid.Int64Range(-50_00, 5_000_00).Draw(t, "minor"), cur)
				kind := settlement.KindEarning
				if amount.IsNegative() {
					kind = settlement.KindClawback
				}
				entries = append(entries, entryOf("e"+from.Format("200601")+string(rune('a'+i)), kind, "acme", amount, from.AddDate(0, 0, 3+i).Format("2006-01-02")))
			}
			sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: period, Previous: prevSt})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := settlement.Consolidate(sts, settlement.Consolidation{Currency: usdC, Rates: rates, At: from, Mode: ensemble.RoundHalfEven,
				Net: net, Previous: prevCons, Payouts: entries})
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) == 0 {
				prevSt, prevCons = sts, cs
				continue
			}
			c := cs[0]
			if err := c.Check(); err != nil {
				t.Fatal(err)
			}
			if first.IsZero() && last.IsZero() && len(prevCons) == 0 {
				first = c.Opening
			} else if !c.Opening.Equal(last) {
				t.Fatalf("%s opens at %s, the previous month closed at %s", period, c.Opening, last)
			}
			flows, err := ensemble.Sum(c.Earned, c.Reversed, c.Adjusted, c.Reserved.Neg(), c.Released, c.Uncollected.Neg(), c.Collected,
				c.PaidOut.Neg(), c.Revaluation, c.Rounding)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := c.Opening.Add(flows); !want.Equal(c.Closing) {
				t.Fatalf("%s: opening %s + flows %s is not the closing %s", period, c.Opening, flows, c.Closing)
			}
			if total, err = total.Add(flows); err != nil {
				t.Fatal(err)
			}
			// Paid out in USD: exactly what the payouts of the month paid.
			paid := ensemble.MoneyFromMinor(0, usdC)
			for _, e := range entries {
				if e.Kind == settlement.KindPayout && period.Contains(e.Date) {
					if e.Conversion != nil {
						paid, _ = paid.Add(e.Conversion.To)
					} else {
						paid, _ = paid.Add(e.Amount)
					}
				}
			}
			if !paid.Equal(c.PaidOut) {
				t.Fatalf("%s: paid out %s, the payouts paid %s", period, c.PaidOut, paid)
			}
			last = c.Closing
			prevSt, prevCons = sts, cs
		}
		if first.IsZero() && last.IsZero() {
			return
		}
		if want, _ := last.Sub(first); !want.Equal(total) {
			t.Fatalf("over the months the flows add up to %s, the closing moved by %s", total, want)
		}
	})
}
