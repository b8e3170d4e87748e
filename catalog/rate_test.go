package catalog_test

import (
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/stretchr/testify/require"
)

type line struct {
	tier     int
	qty, sub string
}

func TestRateModels(t *testing.T) {
	ratio := ensemble.MustRatio
	pct := catalog.Price{Model: catalog.Percentage, Rate: ratio("2.9%"), FixedFee: dec("0.30"),
		TransactionMinimum: dec("0.50"), TransactionMaximum: dec("10")}
	gradPct := catalog.Price{Model: catalog.GraduatedPercentage, Tiers: []catalog.Tier{
		{UpTo: up("1000"), Rate: ratio("2%")},
		{Rate: ratio("1%"), FlatAmount: dec("5")},
	}}
	pkg := func(size string, r catalog.PackageRounding) catalog.Price {
		return catalog.Price{Model: catalog.Package, Amount: dec("5"), PackageSize: dec(size), PackageRounding: r}
	}
	jpyVolume := catalog.Price{Model: catalog.Volume, Tiers: []catalog.Tier{
		{UpTo: up("10"), UnitAmount: dec("1000")},
		{UnitAmount: dec("800")},
	}}
	spend := catalog.Price{Model: catalog.PerUnit, Amount: dec("1.00"), MinimumSpend: dec("20"), MaximumSpend: dec("100")}
	perTier := catalog.Price{Model: catalog.Graduated, Tiers: []catalog.Tier{
		{UpTo: up("1"), UnitAmount: dec("0.015")},
		{UnitAmount: dec("0.015")},
	}}
	halfEven := catalog.RateOptions{Mode: ensemble.RoundHalfEven}
	jpyGraduated := catalog.Price{Model: catalog.Graduated, Tiers: []catalog.Tier{
		{UpTo: up("10"), UnitAmount: dec("100"), FlatAmount: dec("500")},
		{UnitAmount: dec("80")},
	}}
	kwdGraduated := catalog.Price{Model: catalog.Graduated, Tiers: []catalog.Tier{
		{UpTo: up("1"), UnitAmount: dec("0.1235")},
		{UnitAmount: dec("0.0995")},
	}}
	kwdVolume := catalog.Price{Model: catalog.Volume, Tiers: []catalog.Tier{
		{UpTo: up("100"), UnitAmount: dec("0.005")},
		{UnitAmount: dec("0.004"), FlatAmount: dec("0.5")},
	}}
	jpyGradPct := catalog.Price{Model: catalog.GraduatedPercentage, Tiers: []catalog.Tier{
		{UpTo: up("10000"), Rate: ratio("3%")},
		{Rate: ratio("2.5%"), FlatAmount: dec("100")},
	}}
	tests := []struct {
		name  string
		price catalog.Price
		cur   string
		qty   string
		opts  catalog.RateOptions
		want  string
		adj   string
		lines []line
	}{
		{"flat at zero", catalog.Price{Model: catalog.Flat, Amount: dec("9.99")}, "EUR", "0", catalog.RateOptions{}, "9.99", "", []line{{0, "0", "9.99"}}},
		{"flat ignores quantity", catalog.Price{Model: catalog.Flat, Amount: dec("9.99")}, "EUR", "7.5", catalog.RateOptions{}, "9.99", "", []line{{0, "7.5", "9.99"}}},
		{"flat KWD half away", catalog.Price{Model: catalog.Flat, Amount: dec("1.2345")}, "KWD", "1", catalog.RateOptions{}, "1.235", "", nil},
		{"flat KWD half even", catalog.Price{Model: catalog.Flat, Amount: dec("1.2345")}, "KWD", "1", halfEven, "1.234", "", nil},
		{"flat JPY", catalog.Price{Model: catalog.Flat, Amount: dec("980")}, "JPY", "0.5", catalog.RateOptions{}, "980", "", nil},
		{"per unit zero", catalog.Price{Model: catalog.PerUnit, Amount: dec("0.00013")}, "EUR", "0", catalog.RateOptions{}, "0", "", []line{{0, "0", "0"}}},
		{"per unit sub-cent price", catalog.Price{Model: catalog.PerUnit, Amount: dec("0.00013")}, "EUR", "1000000", catalog.RateOptions{}, "130.00", "", []line{{0, "1000000", "130"}}},
		{"per unit rounds the line once", catalog.Price{Model: catalog.PerUnit, Amount: dec("0.00013")}, "EUR", "12345", catalog.RateOptions{}, "1.60", "", []line{{0, "12345", "1.60485"}}},
		{"per unit unrounded", catalog.Price{Model: catalog.PerUnit, Amount: dec("0.00013")}, "EUR", "12345", catalog.RateOptions{Rounding: catalog.RoundNone}, "1.60485", "", nil},
		{"per unit KWD tie half away", catalog.Price{Model: catalog.PerUnit, Amount: dec("0.0125")}, "KWD", "1", catalog.RateOptions{}, "0.013", "", nil},
		{"per unit KWD tie half even", catalog.Price{Model: catalog.PerUnit, Amount: dec("0.0125")}, "KWD", "1", halfEven, "0.012", "", nil},
		{"per unit KWD fractional", catalog.Price{Model: catalog.PerUnit, Amount: dec("0.125")}, "KWD", "2.5", catalog.RateOptions{}, "0.313", "", nil},
		{"per unit JPY", catalog.Price{Model: catalog.PerUnit, Amount: dec("12.5")}, "JPY", "3", catalog.RateOptions{}, "38", "", nil},

		{"graduated zero bills first flat", tiers3(catalog.Graduated), "EUR", "0", catalog.RateOptions{}, "5.00", "", []line{{0, "0", "5"}}},
		{"graduated inside first tier", tiers3(catalog.Graduated), "EUR", "50", catalog.RateOptions{}, "10.00", "", []line{{0, "50", "10"}}},
		{"graduated exact boundary stays in tier", tiers3(catalog.Graduated), "EUR", "100", catalog.RateOptions{}, "15.00", "", []line{{0, "100", "15"}}},
		{"graduated fraction past boundary", tiers3(catalog.Graduated), "EUR", "100.5", catalog.RateOptions{}, "15.04", "", []line{{0, "100", "15"}, {1, "0.5", "0.04"}}},
		{"graduated second boundary", tiers3(catalog.Graduated), "EUR", "1000", catalog.RateOptions{}, "87.00", "", []line{{0, "100", "15"}, {1, "900", "72"}}},
		{"graduated open tier", tiers3(catalog.Graduated), "EUR", "1500", catalog.RateOptions{}, "122.00", "", []line{{0, "100", "15"}, {1, "900", "72"}, {2, "500", "35"}}},
		{"graduated tiny fraction", tiers3(catalog.Graduated), "EUR", "0.001", catalog.RateOptions{}, "5.00", "", []line{{0, "0.001", "5.0001"}}},
		{"graduated per line rounding", perTier, "EUR", "2", catalog.RateOptions{}, "0.03", "", []line{{0, "1", "0.015"}, {1, "1", "0.015"}}},
		{"graduated per tier rounding", perTier, "EUR", "2", catalog.RateOptions{Rounding: catalog.RoundPerTier}, "0.04", "", []line{{0, "1", "0.02"}, {1, "1", "0.02"}}},

		{"graduated JPY zero", jpyGraduated, "JPY", "0", catalog.RateOptions{}, "500", "", []line{{0, "0", "500"}}},
		{"graduated JPY boundary", jpyGraduated, "JPY", "10", catalog.RateOptions{}, "1500", "", []line{{0, "10", "1500"}}},
		{"graduated JPY fraction in open tier", jpyGraduated, "JPY", "10.5", catalog.RateOptions{}, "1540", "", []line{{0, "10", "1500"}, {1, "0.5", "40"}}},
		{"graduated JPY rounds the line", jpyGraduated, "JPY", "12.256", catalog.RateOptions{}, "1680", "", []line{{0, "10", "1500"}, {1, "2.256", "180.48"}}},
		{"graduated KWD first tier", kwdGraduated, "KWD", "1", catalog.RateOptions{}, "0.124", "", nil},
		{"graduated KWD fraction", kwdGraduated, "KWD", "1.5", catalog.RateOptions{}, "0.173", "", []line{{0, "1", "0.1235"}, {1, "0.5", "0.04975"}}},
		{"graduated KWD exact", kwdGraduated, "KWD", "2", catalog.RateOptions{}, "0.223", "", nil},
		{"graduated KWD per tier rounding", kwdGraduated, "KWD", "1.5", catalog.RateOptions{Rounding: catalog.RoundPerTier}, "0.174", "", []line{{0, "1", "0.124"}, {1, "0.5", "0.050"}}},

		{"volume zero bills first flat", tiers3(catalog.Volume), "EUR", "0", catalog.RateOptions{}, "5.00", "", []line{{0, "0", "5"}}},
		{"volume boundary", tiers3(catalog.Volume), "EUR", "100", catalog.RateOptions{}, "15.00", "", []line{{0, "100", "15"}}},
		{"volume just past boundary", tiers3(catalog.Volume), "EUR", "101", catalog.RateOptions{}, "8.08", "", []line{{1, "101", "8.08"}}},
		{"volume second boundary", tiers3(catalog.Volume), "EUR", "1000", catalog.RateOptions{}, "80.00", "", []line{{1, "1000", "80"}}},
		{"volume open tier half away", tiers3(catalog.Volume), "EUR", "1000.5", catalog.RateOptions{}, "60.03", "", []line{{2, "1000.5", "60.025"}}},
		{"volume open tier half even", tiers3(catalog.Volume), "EUR", "1000.5", halfEven, "60.02", "", nil},
		{"volume JPY boundary", jpyVolume, "JPY", "10", catalog.RateOptions{}, "10000", "", []line{{0, "10", "10000"}}},
		{"volume JPY open", jpyVolume, "JPY", "11", catalog.RateOptions{}, "8800", "", []line{{1, "11", "8800"}}},
		{"volume JPY fractional", jpyVolume, "JPY", "2.5", catalog.RateOptions{}, "2500", "", nil},
		{"volume JPY fractional rounding", jpyVolume, "JPY", "10.0005", catalog.RateOptions{}, "8000", "", []line{{1, "10.0005", "8000.4"}}},

		{"volume KWD zero", kwdVolume, "KWD", "0", catalog.RateOptions{}, "0", "", []line{{0, "0", "0"}}},
		{"volume KWD boundary", kwdVolume, "KWD", "100", catalog.RateOptions{}, "0.500", "", []line{{0, "100", "0.5"}}},
		{"volume KWD open tier", kwdVolume, "KWD", "100.1", catalog.RateOptions{}, "0.900", "", []line{{1, "100.1", "0.9004"}}},

		{"package zero", pkg("100", catalog.RoundUpPackages), "EUR", "0", catalog.RateOptions{}, "0", "", []line{{0, "0", "0"}}},
		{"package one unit rounds up", pkg("100", catalog.RoundUpPackages), "EUR", "1", catalog.RateOptions{}, "5.00", "", []line{{0, "1", "5"}}},
		{"package one unit rounds down", pkg("100", catalog.RoundDownPackages), "EUR", "1", catalog.RateOptions{}, "0", "", []line{{0, "0", "0"}}},
		{"package exact", pkg("100", catalog.RoundUpPackages), "EUR", "100", catalog.RateOptions{}, "5.00", "", nil},
		{"package exact down", pkg("100", catalog.RoundDownPackages), "EUR", "100", catalog.RateOptions{}, "5.00", "", nil},
		{"package partial up", pkg("100", catalog.RoundUpPackages), "EUR", "250", catalog.RateOptions{}, "15.00", "", []line{{0, "3", "15"}}},
		{"package partial down", pkg("100", catalog.RoundDownPackages), "EUR", "250", catalog.RateOptions{}, "10.00", "", []line{{0, "2", "10"}}},
		{"package fractional size", pkg("2.5", catalog.RoundUpPackages), "EUR", "5.1", catalog.RateOptions{}, "15.00", "", nil},
		{"package KWD", catalog.Price{Model: catalog.Package, Amount: dec("1.2345"), PackageSize: dec("10")}, "KWD", "15", catalog.RateOptions{}, "2.469", "", nil},

		{"package JPY up", catalog.Price{Model: catalog.Package, Amount: dec("300"), PackageSize: dec("10")}, "JPY", "25", catalog.RateOptions{}, "900", "", []line{{0, "3", "900"}}},
		{"package JPY down", catalog.Price{Model: catalog.Package, Amount: dec("300"), PackageSize: dec("10"), PackageRounding: catalog.RoundDownPackages}, "JPY", "25", catalog.RateOptions{}, "600", "", []line{{0, "2", "600"}}},
		{"package fractional quantity below one package", catalog.Price{Model: catalog.Package, Amount: dec("300"), PackageSize: dec("10")}, "JPY", "0.01", catalog.RateOptions{}, "300", "", nil},

		{"percentage plain", pct, "EUR", "100", catalog.RateOptions{}, "3.20", "", []line{{0, "100", "3.2"}}},
		{"percentage rounds once", pct, "EUR", "10.35", catalog.RateOptions{}, "0.60", "", []line{{0, "10.35", "0.60015"}}},
		{"percentage minimum", pct, "EUR", "5", catalog.RateOptions{}, "0.50", "0.055", []line{{0, "5", "0.445"}}},
		{"percentage zero amount still has the minimum", pct, "EUR", "0", catalog.RateOptions{}, "0.50", "0.20", nil},
		{"percentage maximum", pct, "EUR", "1000", catalog.RateOptions{}, "10.00", "-19.30", nil},
		{"percentage JPY", catalog.Price{Model: catalog.Percentage, Rate: ratio("3.6%")}, "JPY", "1250", catalog.RateOptions{}, "45", "", nil},

		{"percentage KWD", catalog.Price{Model: catalog.Percentage, Rate: ratio("1.25%"), FixedFee: dec("0.1")}, "KWD", "10.5", catalog.RateOptions{}, "0.231", "", []line{{0, "10.5", "0.23125"}}},
		{"percentage zero amount bills the fee", catalog.Price{Model: catalog.Percentage, Rate: ratio("1.25%"), FixedFee: dec("0.1")}, "KWD", "0", catalog.RateOptions{}, "0.100", "", nil},

		{"graduated percentage zero", gradPct, "EUR", "0", catalog.RateOptions{}, "0", "", []line{{0, "0", "0"}}},
		{"graduated percentage first tier", gradPct, "EUR", "500", catalog.RateOptions{}, "10.00", "", nil},
		{"graduated percentage boundary", gradPct, "EUR", "1000", catalog.RateOptions{}, "20.00", "", nil},
		{"graduated percentage open", gradPct, "EUR", "1500", catalog.RateOptions{}, "30.00", "", []line{{0, "1000", "20"}, {1, "500", "10"}}},

		{"graduated percentage JPY boundary", jpyGradPct, "JPY", "10000", catalog.RateOptions{}, "300", "", nil},
		{"graduated percentage JPY past boundary", jpyGradPct, "JPY", "10001", catalog.RateOptions{}, "400", "", []line{{0, "10000", "300"}, {1, "1", "100.025"}}},
		{"graduated percentage JPY fraction", jpyGradPct, "JPY", "12345.5", catalog.RateOptions{}, "459", "", []line{{0, "10000", "300"}, {1, "2345.5", "158.6375"}}},

		{"free units cover all", catalog.Price{Model: catalog.PerUnit, Amount: dec("1"), FreeUnits: dec("10")}, "EUR", "5", catalog.RateOptions{}, "0", "", []line{{0, "0", "0"}}},
		{"free units then billed", catalog.Price{Model: catalog.PerUnit, Amount: dec("1"), FreeUnits: dec("10")}, "EUR", "15.5", catalog.RateOptions{}, "5.50", "", []line{{0, "5.5", "5.5"}}},
		{"free units pick the volume tier", catalog.Price{Model: catalog.Volume, FreeUnits: dec("5"), Tiers: []catalog.Tier{
			{UpTo: up("10"), UnitAmount: dec("2")}, {UnitAmount: dec("1")}}}, "EUR", "14", catalog.RateOptions{}, "18.00", "", []line{{0, "9", "18"}}},

		{"minimum spend lifts", spend, "EUR", "5", catalog.RateOptions{}, "20.00", "15", nil},
		{"minimum spend not in interim ratings", spend, "EUR", "5", catalog.RateOptions{Interim: true}, "5.00", "", nil},
		{"within spend bounds", spend, "EUR", "50", catalog.RateOptions{}, "50.00", "", nil},
		{"maximum spend caps", spend, "EUR", "500", catalog.RateOptions{}, "100.00", "-400", nil},
		{"maximum spend caps interim ratings", spend, "EUR", "500", catalog.RateOptions{Interim: true}, "100.00", "-400", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRater(t, tc.price, tc.cur)
			got, err := r.Rate(dec(tc.qty), tc.opts)
			require.NoError(t, err)
			requireMoney(t, got.Amount, money(tc.want, tc.cur))
			require.Equal(t, tc.cur, got.Amount.Currency().Code())
			adj := tc.adj
			if adj == "" {
				adj = "0"
			}
			require.True(t, got.Adjustment.Amount().Equal(dec(adj)), "adjustment %s, want %s", got.Adjustment, adj)
			if tc.lines != nil {
				require.Len(t, got.Lines, len(tc.lines))
				for i, l := range tc.lines {
					require.Equal(t, l.tier, got.Lines[i].Tier, "line %d tier", i)
					require.True(t, got.Lines[i].Quantity.Equal(dec(l.qty)), "line %d quantity %s, want %s", i, got.Lines[i].Quantity, l.qty)
					require.True(t, got.Lines[i].Subtotal.Amount().Equal(dec(l.sub)), "line %d subtotal %s, want %s", i, got.Lines[i].Subtotal, l.sub)
				}
			}
			amount, err := r.Amount(dec(tc.qty), tc.opts)
			require.NoError(t, err)
			requireMoney(t, amount, got.Amount, "Amount agrees with Rate")
		})
	}
}

func TestRateErrors(t *testing.T) {
	r := mustRater(t, tiers3(catalog.Graduated), "EUR")
	tests := []struct {
		name string
		qty  string
		opts catalog.RateOptions
		want error
	}{
		{"negative quantity", "-1", catalog.RateOptions{}, catalog.ErrNegativeQuantity},
		{"huge exponent", "1e60", catalog.RateOptions{}, catalog.ErrOutOfRange},
		{"tiny exponent", "1e-60", catalog.RateOptions{}, catalog.ErrOutOfRange},
		{"unknown mode", "1", catalog.RateOptions{Mode: 99}, nil},
		{"unknown policy", "1", catalog.RateOptions{Rounding: 9}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Rate(dec(tc.qty), tc.opts)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			require.Nil(t, got.Lines, "a failed call returns no partial result")
			_, err = r.Amount(dec(tc.qty), tc.opts)
			require.Error(t, err)
			_, err = r.RateDelta(dec("0"), dec(tc.qty), catalog.RateOptions{}, tc.opts)
			require.Error(t, err)
			_, err = r.RateDelta(dec(tc.qty), dec("0"), tc.opts, catalog.RateOptions{})
			require.Error(t, err)
		})
	}
}

func TestRateDelta(t *testing.T) {
	r := mustRater(t, tiers3(catalog.Graduated), "EUR")
	tests := []struct {
		name              string
		billed, cum, want string
	}{
		{"within a tier", "10", "60", "5.00"},
		{"across a boundary", "90", "110", "1.80"},
		{"into the open tier adds its flat", "900", "1100", "23.00"},
		{"nothing new", "500", "500", "0"},
		{"first bill", "0", "100", "10.00"},
		{"correction downwards", "110", "90", "-1.80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.RateDelta(dec(tc.billed), dec(tc.cum), catalog.RateOptions{}, catalog.RateOptions{})
			require.NoError(t, err)
			requireMoney(t, got.Amount, money(tc.want, "EUR"))
			diff, err := got.Cumulative.Amount.Sub(got.Billed.Amount)
			require.NoError(t, err)
			requireMoney(t, got.Amount, diff)
		})
	}
}

// TestRateDeltaMinimumSpend bills a period progressively: the interim bills
// leave the minimum spend out, the final one owes it, and late usage after
// the final bill compares final ratings.
func TestRateDeltaMinimumSpend(t *testing.T) {
	r := mustRater(t, catalog.Price{Model: catalog.PerUnit, Amount: dec("1"), MinimumSpend: dec("20")}, "EUR")
	interim, final := catalog.RateOptions{Interim: true}, catalog.RateOptions{}
	first, err := r.Rate(dec("5"), interim)
	require.NoError(t, err)
	requireMoney(t, first.Amount, money("5", "EUR"))
	second, err := r.RateDelta(dec("5"), dec("8"), interim, interim)
	require.NoError(t, err)
	requireMoney(t, second.Amount, money("3", "EUR"))
	last, err := r.RateDelta(dec("8"), dec("10"), interim, final)
	require.NoError(t, err)
	requireMoney(t, last.Amount, money("12", "EUR"), "the final bill lifts the period to its minimum")
	late, err := r.RateDelta(dec("10"), dec("25"), final, final)
	require.NoError(t, err)
	requireMoney(t, late.Amount, money("5", "EUR"), "late usage bills only what exceeds the minimum")
	total := first.Amount
	for _, d := range []catalog.Delta{second, last, late} {
		total, err = total.Add(d.Amount)
		require.NoError(t, err)
	}
	whole, err := r.Rate(dec("25"), final)
	require.NoError(t, err)
	requireMoney(t, total, whole.Amount)
}

func TestRateTransaction(t *testing.T) {
	r := mustRater(t, catalog.Price{Model: catalog.Percentage, Rate: ensemble.MustRatio("1.5%"), FixedFee: dec("0.25")}, "EUR")
	got, err := r.RateTransaction(money("200.00", "EUR"), catalog.RateOptions{})
	require.NoError(t, err)
	requireMoney(t, got.Amount, money("3.25", "EUR"))
	_, err = r.RateTransaction(money("200.00", "USD"), catalog.RateOptions{})
	require.ErrorIs(t, err, catalog.ErrCurrency)
	zero, err := r.RateTransaction(ensemble.Money{}, catalog.RateOptions{})
	require.NoError(t, err)
	requireMoney(t, zero.Amount, money("0.25", "EUR"), "the zero Money fits any currency")
}
