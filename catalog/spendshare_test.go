package catalog_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// A piece of a period owes its share of the minimum spend: 14 days of a
// 31-day month under a EUR 100.00 minimum owe EUR 45.16, and the other 17
// days EUR 54.84, together the one minimum, as Lago prorates a charge's
// minimum by the days its subscription ran.
func TestSpendShareOfTheMinimum(t *testing.T) {
	r, err := catalog.NewRater(catalog.Price{Model: catalog.PerUnit, Amount: dec("0.10"), MinimumSpend: dec("100")}, ensemble.MustCurrency("EUR"))
	require.NoError(t, err)
	first, err := r.Rate(dec("30"), catalog.RateOptions{SpendShare: ensemble.MustRatio("14/31")})
	require.NoError(t, err)
	requireMoney(t, first.Amount, ensemble.MustMoney("45.16", "EUR"))
	requireMoney(t, first.Adjustment, ensemble.MustMoney("42.16", "EUR"))
	rest, err := r.Rate(dec("30"), catalog.RateOptions{SpendShare: ensemble.MustRatio("17/31")})
	require.NoError(t, err)
	requireMoney(t, rest.Amount, ensemble.MustMoney("54.84", "EUR"))
	fast, err := r.Amount(dec("30"), catalog.RateOptions{SpendShare: ensemble.MustRatio("17/31")})
	require.NoError(t, err)
	requireMoney(t, fast, rest.Amount, "Amount agrees with Rate")

	// Above its share of the minimum a piece bills its usage.
	busy, err := r.Rate(dec("500"), catalog.RateOptions{SpendShare: ensemble.MustRatio("14/31")})
	require.NoError(t, err)
	requireMoney(t, busy.Amount, ensemble.MustMoney("50.00", "EUR"))

	// The whole period (zero or 1) owes the whole minimum.
	for _, share := range []ensemble.Ratio{{}, ensemble.MustRatio("1")} {
		whole, err := r.Rate(dec("30"), catalog.RateOptions{SpendShare: share})
		require.NoError(t, err)
		requireMoney(t, whole.Amount, ensemble.MustMoney("100.00", "EUR"))
	}
}

// The maximum spend is shared too: two pieces of a period cap together at
// the period's maximum, not at twice it.
func TestSpendShareOfTheMaximum(t *testing.T) {
	r, err := catalog.NewRater(catalog.Price{Model: catalog.PerUnit, Amount: dec("1"), MaximumSpend: dec("300")}, ensemble.MustCurrency("EUR"))
	require.NoError(t, err)
	half, err := r.Rate(dec("1000"), catalog.RateOptions{SpendShare: ensemble.MustRatio("1/2")})
	require.NoError(t, err)
	requireMoney(t, half.Amount, ensemble.MustMoney("150.00", "EUR"))
}

// A transaction's bounds (Percentage) are per transaction, not per
// period: a share leaves them alone.
func TestSpendShareLeavesTransactionBounds(t *testing.T) {
	r, err := catalog.NewRater(catalog.Price{Model: catalog.Percentage, Rate: ensemble.MustRatio("1%"), TransactionMinimum: dec("0.50")}, ensemble.MustCurrency("EUR"))
	require.NoError(t, err)
	rt, err := r.Rate(dec("10"), catalog.RateOptions{SpendShare: ensemble.MustRatio("1/4")})
	require.NoError(t, err)
	requireMoney(t, rt.Amount, ensemble.MustMoney("0.50", "EUR"))
}

func TestSpendShareOutOfRange(t *testing.T) {
	r, err := catalog.NewRater(catalog.Price{Model: catalog.PerUnit, Amount: dec("1"), MinimumSpend: dec("10")}, ensemble.MustCurrency("EUR"))
	require.NoError(t, err)
	for _, share := range []string{"-1/2", "3/2"} {
		_, err := r.Rate(dec("1"), catalog.RateOptions{SpendShare: ensemble.MustRatio(share)})
		require.ErrorIs(t, err, catalog.ErrOutOfRange, share)
		require.ErrorContains(t, err, "spend share "+ensemble.MustRatio(share).String())
		_, err = r.Amount(dec("1"), catalog.RateOptions{SpendShare: ensemble.MustRatio(share)})
		require.ErrorIs(t, err, catalog.ErrOutOfRange, share)
	}
}

// Under any share, a rating is its lines' sum clamped to the bounds times
// the share, each rounded to the minor unit, and Amount agrees with Rate.
func TestPropertySpendShare(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cur := genCurrency(t)
		p := catalog.Price{Model: catalog.Graduated, Tiers: genTiers(t, false)}
		lo := genDec(t, "min", 10000, 2)
		hi := lo.Add(genDec(t, "span", 10000, 2))
		if rapid.Bool().Draw(t, "has_min") {
			p.MinimumSpend = lo
		}
		if rapid.Bool().Draw(t, "has_max") {
			p.MaximumSpend = hi
		}
		r, err := catalog.NewRater(p, cur)
		require.NoError(t, err)
		den := rapid.Int64Range(1, 400).Draw(t, "den")
		share, err := ensemble.NewRatio(rapid.Int64Range(1, den).Draw(t, "num"), den)
		require.NoError(t, err)
		opts := genOptions(t)
		opts.SpendShare = share
		q := genDec(t, "q", 50000, 3)

		got, err := r.Rate(q, opts)
		noRange(t, err)
		plain, err := r.Rate(q, catalog.RateOptions{Rounding: catalog.RoundNone, Mode: opts.Mode})
		noRange(t, err)
		want := sumLines(plain).Sub(plain.Adjustment.Amount()) // the lines alone
		if opts.Rounding == catalog.RoundPerTier {
			want = decimal.Zero
			for _, l := range plain.Lines {
				want = want.Add(ensemble.Round(l.Subtotal.Amount(), cur.Digits(), opts.Mode))
			}
		}
		min, max := p.MinimumSpend, p.MaximumSpend
		if share.Cmp(ensemble.RatioFromInt(1)) != 0 {
			min = ensemble.MoneyFromDecimal(min, cur).MulRatio(share, opts.Mode).Amount()
			max = ensemble.MoneyFromDecimal(max, cur).MulRatio(share, opts.Mode).Amount()
		}
		if !opts.Interim && min.IsPositive() && want.LessThan(min) {
			want = min
		} else if p.MaximumSpend.IsPositive() && want.GreaterThan(max) {
			want = max
		}
		if opts.Rounding != catalog.RoundNone {
			want = ensemble.Round(want, cur.Digits(), opts.Mode)
		}
		require.True(t, got.Amount.Amount().Equal(want), "got %s, want %s (share %s)", got.Amount, want, share)

		fast, err := r.Amount(q, opts)
		noRange(t, err)
		requireMoney(t, fast, got.Amount, "Amount agrees with Rate")
	})
}
