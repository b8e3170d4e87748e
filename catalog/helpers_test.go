package catalog_test

import (
	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func up(s string) *decimal.Decimal {
	d := dec(s)
	return &d
}

func money(amount, code string) ensemble.Money { return ensemble.MustMoney(amount, code) }

// tb is what the helpers need from *testing.T, *testing.B and *rapid.T.
type tb interface {
	require.TestingT
	Helper()
	Fatalf(format string, args ...any)
}

func mustRater(t tb, p catalog.Price, code string) *catalog.Rater {
	t.Helper()
	r, err := catalog.NewRater(p, ensemble.MustCurrency(code))
	require.NoError(t, err)
	return r
}

// requireMoney compares Money with Equal (1.0 equals 1.00).
func requireMoney(t tb, got, want ensemble.Money, msgAndArgs ...any) {
	t.Helper()
	require.True(t, got.Equal(want), "got %s, want %s %v", got, want, msgAndArgs)
}

// requireEqual compares values holding decimals or Money with cmp.Diff,
// which honours their Equal methods.
func requireEqual(t tb, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("mismatch (-want +got):\n%s", d)
	}
}

// graduatedEUR is the 3-tier price most tables use:
// (0, 100] at 0.10 with flat 5, (100, 1000] at 0.08, (1000, ∞) at 0.05 with flat 10.
func tiers3(model catalog.Model) catalog.Price {
	return catalog.Price{Model: model, Tiers: []catalog.Tier{
		{UpTo: up("100"), UnitAmount: dec("0.10"), FlatAmount: dec("5")},
		{UpTo: up("1000"), UnitAmount: dec("0.08")},
		{UnitAmount: dec("0.05"), FlatAmount: dec("10")},
	}}
}
