package settlement_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// consolidationRates: USD changed rate on March 1st; GBP has one rate.
func consolidationRates() ensemble.ExchangeRates {
	usd, gbp, e := ensemble.MustCurrency("USD"), ensemble.MustCurrency("GBP"), ensemble.MustCurrency("EUR")
	return ensemble.ExchangeRates{
		{From: usd, To: e, Since: date("2026-01-01"), Rate: ensemble.MustRatio("0.90")},
		{From: usd, To: e, Since: date("2026-03-01"), Rate: ensemble.MustRatio("0.92")},
		{From: gbp, To: e, Since: date("2026-01-01"), Rate: ensemble.MustRatio("1.17")},
	}
}

// A partner earns in three currencies in March: EUR 1,000.00 payable; USD
// 200.00 earned and 350.00 clawed back (closing USD -150.00, carried); GBP
// 40.00, below the GBP 50.00 minimum (carried). Reported in EUR at the
// rates in force on April 1st (USD 0.92, GBP 1.17):
//
//	USD: 200.00 × 0.92 = 184.00, -350.00 × 0.92 = -322.00, closing -138.00
//	GBP: 40.00 × 1.17 = 46.80
//	closing 1,000.00 - 138.00 + 46.80 = 908.80
//
// Without netting only the EUR statement is payable (1,000.00) and -91.20
// carries; netted, 908.80 is payable and paid by three entries whose
// conversions add up to it, after which every currency's balance is zero.
func TestConsolidateThreeCurrencies(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	april := ensemble.MustPeriod(date("2026-04-01"), date("2026-05-01"))
	gbp := func(s string) ensemble.Money { return ensemble.MustMoney(s, "GBP") }
	entries := []settlement.Entry{
		entryOf("e1", settlement.KindEarning, "acme", eur("1000.00"), "2026-03-03"),
		entryOf("u1", settlement.KindEarning, "acme", mustUSD("200.00"), "2026-03-04"),
		entryOf("u2", settlement.KindClawback, "acme", mustUSD("-350.00"), "2026-03-05"),
		entryOf("g1", settlement.KindEarning, "acme", gbp("40.00"), "2026-03-06"),
	}
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: march, Minimums: []ensemble.Money{gbp("50.00")}})
	require.NoError(t, err)
	require.Len(t, sts, 3)

	c := settlement.Consolidation{Currency: ensemble.MustCurrency("EUR"), Rates: consolidationRates(), At: date("2026-04-01")}
	got, err := settlement.Consolidate(sts, c)
	require.NoError(t, err)
	require.Len(t, got, 1)
	cs := got[0]
	requireMoney(t, cs.Earned, eur("1230.80")) // 1,000.00 + 184.00 + 46.80
	requireMoney(t, cs.Reversed, eur("-322.00"))
	requireMoney(t, cs.Closing, eur("908.80"))
	requireMoney(t, cs.Rounding, eur("0.00"))
	requireMoney(t, cs.Payable, eur("1000.00"))
	requireMoney(t, cs.CarriedForward, eur("-91.20"))
	require.Len(t, cs.Parts, 3)
	require.Equal(t, []string{"EUR", "GBP", "USD"}, []string{cs.Parts[0].Statement.Currency.Code(), cs.Parts[1].Statement.Currency.Code(), cs.Parts[2].Statement.Currency.Code()})
	require.True(t, cs.Parts[2].Rate.Rate.Equal(ensemble.MustRatio("0.92")), "the rate in force on April 1st, recorded")
	require.True(t, cs.Parts[0].Rate.Rate.IsZero(), "EUR converts at one")
	requireMoney(t, cs.Parts[2].Converted.Closing, eur("-138.00"))

	// Paying the unnetted figure pays the EUR statement alone.
	pay, err := settlement.PayOutConsolidated(cs, settlement.Payout{ID: "p1", Date: date("2026-04-05")})
	require.NoError(t, err)
	require.Len(t, pay, 1)
	require.Equal(t, settlement.EntryID("payout:p1/EUR"), pay[0].ID)
	requireMoney(t, pay[0].Amount, eur("1000.00"))

	// Netted at a 50.00 minimum.
	c.Net, c.Minimum = true, eur("50.00")
	got, err = settlement.Consolidate(sts, c)
	require.NoError(t, err)
	cs = got[0]
	requireMoney(t, cs.Payable, eur("908.80"))
	requireMoney(t, cs.CarriedForward, eur("0.00"))
	pay, err = settlement.PayOutConsolidated(cs, settlement.Payout{ID: "p1", Date: date("2026-04-05")})
	require.NoError(t, err)
	require.Len(t, pay, 3)
	paid := eur("0.00")
	for _, e := range pay {
		to := e.Amount
		if e.Conversion != nil {
			requireMoney(t, e.Conversion.From, e.Amount)
			to = e.Conversion.To
		}
		paid, err = paid.Add(to)
		require.NoError(t, err)
	}
	requireMoney(t, paid, eur("908.80"), "the conversions add up to the payable")
	requireMoney(t, pay[2].Amount, mustUSD("-150.00"), "the USD debt is offset, in USD")
	requireMoney(t, pay[2].Conversion.To, eur("-138.00"))

	next, err := settlement.Statements(pay, settlement.StatementOptions{Period: april, Previous: sts})
	require.NoError(t, err)
	for _, s := range next {
		require.True(t, s.Closing.IsZero(), "%s closes at %s", s.Currency, s.Closing)
	}

	b, err := json.Marshal(got)
	require.NoError(t, err)
	var back []settlement.Consolidated
	require.NoError(t, json.Unmarshal(b, &back))
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))
}

// Each figure converts on its own and is rounded once; what that leaves
// between the converted flows and the converted closing is Rounding.
// 0.03 + 0.03 at 0.5: each 0.015 → 0.02, flows 0.04; closing 0.06 → 0.03.
func TestConsolidateRounding(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	entries := []settlement.Entry{
		entryOf("u1", settlement.KindEarning, "acme", mustUSD("0.03"), "2026-03-04"),
		entryOf("u2", settlement.KindAdjustment, "acme", mustUSD("0.03"), "2026-03-05"),
	}
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: march})
	require.NoError(t, err)
	rates := ensemble.ExchangeRates{{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"), Rate: ensemble.MustRatio("0.5")}}
	got, err := settlement.Consolidate(sts, settlement.Consolidation{Currency: ensemble.MustCurrency("EUR"), Rates: rates, At: date("2026-04-01")})
	require.NoError(t, err)
	cs := got[0]
	requireMoney(t, cs.Earned, eur("0.02"))
	requireMoney(t, cs.Adjusted, eur("0.02"))
	requireMoney(t, cs.Closing, eur("0.03"))
	requireMoney(t, cs.Rounding, eur("-0.01"))
}

func TestConsolidateErrors(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	sts, err := settlement.Statements([]settlement.Entry{
		entryOf("u1", settlement.KindEarning, "acme", mustUSD("10.00"), "2026-03-04"),
	}, settlement.StatementOptions{Period: march})
	require.NoError(t, err)
	e := ensemble.MustCurrency("EUR")
	ok := settlement.Consolidation{Currency: e, Rates: consolidationRates(), At: date("2026-04-01")}

	// No USD rate in force in 2025: the pair and instant are named.
	c := ok
	c.At = date("2025-06-01")
	_, err = settlement.Consolidate(sts, c)
	var re *ensemble.RateError
	require.ErrorAs(t, err, &re)
	require.ErrorIs(t, err, ensemble.ErrNoRate)
	require.Contains(t, err.Error(), `statement of "acme" in USD: ensemble: no exchange rate from USD to EUR at 2025-06-01`)

	for name, tc := range map[string]struct {
		bad  func(*settlement.Consolidation)
		want error
	}{
		"no currency": {func(c *settlement.Consolidation) { c.Currency = ensemble.Currency{} }, settlement.ErrCurrency},
		"no instant":  {func(c *settlement.Consolidation) { c.At = time.Time{} }, ensemble.ErrRate},
		"minimum":     {func(c *settlement.Consolidation) { c.Minimum = mustUSD("5.00") }, settlement.ErrCurrency},
		// A new user's trial: a minimum without Net was ignored, and a
		// balance below it paid.
		"minimum without net": {func(c *settlement.Consolidation) { c.Minimum = eur("200.00") }, settlement.ErrInvalidPayout},
	} {
		c := ok
		tc.bad(&c)
		_, err := settlement.Consolidate(sts, c)
		require.ErrorIs(t, err, tc.want, name)
	}

	// Statements of one party, period and currency must be merged first.
	_, err = settlement.Consolidate(append(sts, sts...), ok)
	require.ErrorIs(t, err, settlement.ErrStatementMismatch)

	// Nothing payable; a payout id holding a separator.
	got, err := settlement.Consolidate(sts, settlement.Consolidation{Currency: e, Rates: consolidationRates(), At: date("2026-04-01"), Net: true, Minimum: eur("100.00")})
	require.NoError(t, err)
	_, err = settlement.PayOutConsolidated(got[0], settlement.Payout{ID: "p", Date: date("2026-04-02")})
	require.ErrorIs(t, err, settlement.ErrNothingPayable)
	_, err = settlement.PayOutConsolidated(got[0], settlement.Payout{ID: "p/USD", Date: date("2026-04-02")})
	require.ErrorIs(t, err, settlement.ErrInvalidPayout)
	var ide *ensemble.IDError
	require.ErrorAs(t, err, &ide)

	// A table holding an unusable rate is refused, used or not.
	for _, r := range []ensemble.ExchangeRate{
		{From: e, To: e, Rate: ensemble.MustRatio("1.1")},
		consolidationRates()[0], // the pair given twice for one Since
	} {
		c := ok
		c.Rates = append(consolidationRates(), r)
		_, err = settlement.Consolidate(sts, c)
		require.ErrorIs(t, err, ensemble.ErrRate)
	}
	// A statement that does not hold together is refused.
	odd := sts[0]
	odd.Earned = eur("10.00") // a USD statement holding EUR
	_, err = settlement.Consolidate([]settlement.Statement{odd}, ok)
	require.ErrorIs(t, err, settlement.ErrStatementMismatch)
}

// Tampering with a consolidated statement, or with one of its parts, is
// refused before anything is paid: PayOutConsolidated consolidates the
// parts again at their recorded rates and compares.
func TestPayOutConsolidatedRefusesTampering(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	sts, err := settlement.Statements([]settlement.Entry{
		entryOf("e1", settlement.KindEarning, "acme", eur("100.00"), "2026-03-03"),
		entryOf("u1", settlement.KindEarning, "acme", mustUSD("50.00"), "2026-03-04"),
	}, settlement.StatementOptions{Period: march})
	require.NoError(t, err)
	got, err := settlement.Consolidate(sts, settlement.Consolidation{Currency: ensemble.MustCurrency("EUR"), Rates: consolidationRates(),
		At: date("2026-04-01"), Net: true})
	require.NoError(t, err)
	pay := settlement.Payout{ID: "p", Date: date("2026-04-02")}
	_, err = settlement.PayOutConsolidated(got[0], pay)
	require.NoError(t, err)
	for name, tamper := range map[string]func(c *settlement.Consolidated){
		"payable":      func(c *settlement.Consolidated) { c.Payable = eur("1146.00") },
		"part closing": func(c *settlement.Consolidated) { c.Parts[0].Statement.Closing = eur("1100.00") },
		"part re-balanced": func(c *settlement.Consolidated) {
			c.Parts[0].Statement.Earned, c.Parts[0].Statement.Closing, c.Parts[0].Statement.Payable = eur("1100.00"), eur("1100.00"), eur("1100.00")
		},
		"converted":     func(c *settlement.Consolidated) { c.Parts[1].Converted.Closing = eur("460.00") },
		"rate":          func(c *settlement.Consolidated) { c.Parts[1].Rate.Rate = ensemble.MustRatio("9.2") },
		"another party": func(c *settlement.Consolidated) { c.Parts[1].Statement.Party = "mallory" },
	} {
		c := got[0]
		c.Parts = slices.Clone(c.Parts)
		tamper(&c)
		_, err := settlement.PayOutConsolidated(c, pay)
		require.ErrorIs(t, err, settlement.ErrStatementMismatch, name)
	}
}

// For random entries in three currencies: every consolidated statement
// keeps its identities; netted, the payout entries' conversions add up to
// exactly Payable and leave every currency's balance at zero.
func TestPropertyConsolidate(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	april := ensemble.MustPeriod(date("2026-04-01"), date("2026-05-01"))
	codes := []string{"EUR", "USD", "GBP", "JPY"}
	kinds := []settlement.EntryKind{settlement.KindEarning, settlement.KindClawback, settlement.KindAdjustment, settlement.KindReserve, settlement.KindRelease}
	rapid.Check(t, func(t *rapid.T) {
		var entries []settlement.Entry
		for i := range rapid.IntRange(0, 20).Draw(t, "n") {
			code := rapid.SampledFrom(codes).Draw(t, "cur")
			cur := ensemble.MustCurrency(code)
			u := rapid.Int64Range(-100_000, 100_000).Draw(t, "units")
			party := partner.ID(rapid.SampledFrom([]string{"a", "b"}).Draw(t, "party"))
			entries = append(entries, entryOf(fmt.Sprint("x", i), rapid.SampledFrom(kinds).Draw(t, "kind"), party,
				ensemble.MoneyFromMinor(u, cur), "2026-03-10"))
		}
		sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: march,
			Minimums: []ensemble.Money{eur("10.00"), mustUSD("20.00")}})
		require.NoError(t, err)
		var rates ensemble.ExchangeRates
		for _, code := range codes[1:] {
			n := rapid.Int64Range(1, 200_000).Draw(t, "rate")
			rates = append(rates, ensemble.ExchangeRate{From: ensemble.MustCurrency(code), To: ensemble.MustCurrency("EUR"),
				Rate: ensemble.MustRatio(fmt.Sprintf("%d/10000", n))})
		}
		c := settlement.Consolidation{Currency: ensemble.MustCurrency("EUR"), Rates: rates, At: date("2026-04-01"),
			Net:  rapid.Bool().Draw(t, "net"),
			Mode: rapid.SampledFrom([]ensemble.RoundingMode{ensemble.RoundHalfEven, ensemble.RoundDown, ensemble.RoundUp}).Draw(t, "mode")}
		if c.Net { // a minimum is the netted balance's
			c.Minimum = eur(rapid.SampledFrom([]string{"0.00", "25.00"}).Draw(t, "min"))
		}
		got, err := settlement.Consolidate(sts, c)
		require.NoError(t, err)
		for _, cs := range got {
			flows, err := ensemble.Sum(cs.Opening, cs.Earned, cs.Reversed, cs.Adjusted, cs.Reserved.Neg(), cs.Released, cs.PaidOut.Neg(), cs.Rounding)
			require.NoError(t, err)
			requireMoney(t, cs.Closing, flows, "closing identity")
			sum, err := cs.Payable.Add(cs.CarriedForward)
			require.NoError(t, err)
			requireMoney(t, sum, cs.Closing, "payable + carried")
			for _, p := range cs.Parts {
				if p.Statement.Currency != c.Currency {
					want, err := p.Rate.Convert(p.Statement.Closing, c.Mode)
					require.NoError(t, err)
					requireMoney(t, p.Converted.Closing, want, "closing converts once")
				}
			}
			if !cs.Payable.IsPositive() {
				continue
			}
			pay, err := settlement.PayOutConsolidated(cs, settlement.Payout{ID: "p", Date: date("2026-04-02")})
			require.NoError(t, err)
			paid := eur("0.00")
			for _, e := range pay {
				to := e.Amount
				if e.Conversion != nil {
					to = e.Conversion.To
				}
				paid, err = paid.Add(to)
				require.NoError(t, err)
			}
			requireMoney(t, paid, cs.Payable, "payouts add up to payable")
			var prev []settlement.Statement
			for _, p := range cs.Parts {
				prev = append(prev, p.Statement)
			}
			next, err := settlement.Statements(pay, settlement.StatementOptions{Period: april, Previous: prev})
			require.NoError(t, err)
			for _, s := range next {
				if c.Net {
					require.True(t, s.Closing.IsZero(), "netted: %s closes at %s", s.Currency, s.Closing)
					continue
				}
				// Unnetted, each currency carries what it carried.
				for _, p := range prev {
					if p.Currency == s.Currency {
						requireMoney(t, s.Closing, p.CarriedForward, "%s carries", s.Currency)
					}
				}
			}
		}
	})
}
