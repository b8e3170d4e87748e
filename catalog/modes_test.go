package catalog_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/stretchr/testify/require"
)

// modeLine is one expected line of a breakdown: tier, quantity (units, or
// blocks for a block tier), subtotal and, under SpendPerTier, the line's
// share of the adjustment ("" for none).
type modeLine struct {
	tier          int
	qty, sub, adj string
}

// requireLines compares a breakdown with the expected lines.
func requireLines(t tb, got []catalog.Line, want []modeLine) {
	t.Helper()
	require.Len(t, got, len(want))
	for i, l := range want {
		require.Equal(t, l.tier, got[i].Tier, "line %d tier", i)
		require.True(t, got[i].Quantity.Equal(dec(l.qty)), "line %d quantity %s, want %s", i, got[i].Quantity, l.qty)
		require.True(t, got[i].Subtotal.Amount().Equal(dec(l.sub)), "line %d subtotal %s, want %s", i, got[i].Subtotal, l.sub)
		adj := l.adj
		if adj == "" {
			adj = "0"
		}
		require.True(t, got[i].Adjustment.Amount().Equal(dec(adj)), "line %d adjustment %s, want %s", i, got[i].Adjustment, adj)
	}
}

// blockTier is a tier billed per block: amount per block of size units.
func blockTier(upTo, size, perBlock, flat string) catalog.Tier {
	t := catalog.Tier{BlockSize: dec(size), UnitAmount: dec(perBlock)}
	if upTo != "" {
		t.UpTo = up(upTo)
	}
	if flat != "" {
		t.FlatAmount = dec(flat)
	}
	return t
}

// TestRateBlocks checks tiered blocks against the figures of Kill Bill's
// own tests (TestContiguousIntervalConsumableInArrear: a tier there is a
// block size, a number of blocks and a price per block, so a tier's up_to
// here is the sum of size × max over it and the tiers below), and against
// hand-worked cases.
func TestRateBlocks(t *testing.T) {
	graduated := func(tiers ...catalog.Tier) catalog.Price {
		return catalog.Price{Model: catalog.Graduated, Tiers: tiers}
	}
	volume := func(tiers ...catalog.Tier) catalog.Price {
		return catalog.Price{Model: catalog.Volume, Tiers: tiers}
	}
	// Kill Bill: block size 100 × 10 blocks at 1, then size 1000 at 1.
	kbAll := graduated(blockTier("1000", "100", "1", ""), blockTier("", "1000", "1", ""))
	// Kill Bill: size 1 × 10 at 1.5, size 1 × 100 at 1.0, size 1 × 1000 at 0.5.
	kbOnes := []catalog.Tier{blockTier("10", "1", "1.5", ""), blockTier("110", "1", "1.0", ""), blockTier("", "1", "0.5", "")}
	// Kill Bill TOP_TIER: 100 × 10 at 1, 1000 × 100 at 1, 1000 × 100 at 0.5.
	kbTop := volume(blockTier("1000", "100", "1", ""), blockTier("101000", "1000", "1", ""), blockTier("", "1000", "0.5", ""))
	// Hand-worked: a first tier of 250 units in blocks of 100 (its last
	// block is partial), then blocks of 100 at 1 with a flat 4.
	uneven := func(m catalog.Model) catalog.Price {
		return catalog.Price{Model: m, Tiers: []catalog.Tier{blockTier("250", "100", "2", "1"), blockTier("", "100", "1", "4")}}
	}
	mixed := graduated(catalog.Tier{UpTo: up("10"), UnitAmount: dec("0.5")}, blockTier("", "0.25", "0.1", ""))
	tests := []struct {
		name  string
		price catalog.Price
		cur   string
		qty   string
		opts  catalog.RateOptions
		want  string
		lines []modeLine
	}{
		// Kill Bill's figures.
		{"kill bill all tiers 5325", kbAll, "USD", "5325", catalog.RateOptions{}, "15.00", []modeLine{{0, "10", "10", ""}, {1, "5", "5", ""}}},
		{"kill bill all tiers size one 111", graduated(kbOnes...), "USD", "111", catalog.RateOptions{}, "115.50", []modeLine{{0, "10", "15", ""}, {1, "100", "100", ""}, {2, "1", "0.5", ""}}},
		{"kill bill top tier 1000", kbTop, "USD", "1000", catalog.RateOptions{}, "10.00", []modeLine{{0, "10", "10", ""}}},
		{"kill bill top tier 101000", kbTop, "USD", "101000", catalog.RateOptions{}, "101.00", []modeLine{{1, "101", "101", ""}}},
		{"kill bill top tier 101001", kbTop, "USD", "101001", catalog.RateOptions{}, "51.00", []modeLine{{2, "102", "51", ""}}},
		{"kill bill top tier past the last max", kbTop, "USD", "300000", catalog.RateOptions{}, "150.00", []modeLine{{2, "300", "150", ""}}},
		{"kill bill top tier size one 111", volume(kbOnes...), "USD", "111", catalog.RateOptions{}, "55.50", []modeLine{{2, "111", "55.5", ""}}},
		{"kill bill minutes 1000 in blocks of 1000", volume(blockTier("", "1000", "0.5", "")), "USD", "1000", catalog.RateOptions{}, "0.50", []modeLine{{0, "1", "0.5", ""}}},
		{"kill bill megabytes 30720 in blocks of 512", volume(blockTier("", "512", "0.3", "")), "USD", "30720", catalog.RateOptions{}, "18.00", []modeLine{{0, "60", "18", ""}}},

		// Hand-worked.
		{"zero bills no block, the first flat", uneven(catalog.Graduated), "EUR", "0", catalog.RateOptions{}, "1.00", []modeLine{{0, "0", "1", ""}}},
		{"a fraction of a unit starts a block", uneven(catalog.Graduated), "EUR", "0.5", catalog.RateOptions{}, "3.00", []modeLine{{0, "1", "3", ""}}},
		{"exact block boundary", uneven(catalog.Graduated), "EUR", "200", catalog.RateOptions{}, "5.00", []modeLine{{0, "2", "5", ""}}},
		{"partial last block of a full tier is billed whole", uneven(catalog.Graduated), "EUR", "250", catalog.RateOptions{}, "7.00", []modeLine{{0, "3", "7", ""}}},
		// 3 blocks × 2 + 1 = 7; 10 units of tier 1 start one block: 1 + 4.
		{"graduated slices start their own blocks", uneven(catalog.Graduated), "EUR", "260", catalog.RateOptions{}, "12.00", []modeLine{{0, "3", "7", ""}, {1, "1", "5", ""}}},
		// 260 units reach tier 1: ceil(260 / 100) = 3 blocks × 1 + 4.
		{"volume bills every block at the tier reached", uneven(catalog.Volume), "EUR", "260", catalog.RateOptions{}, "7.00", []modeLine{{1, "3", "7", ""}}},
		{"volume at the first bound", uneven(catalog.Volume), "EUR", "250", catalog.RateOptions{}, "7.00", []modeLine{{0, "3", "7", ""}}},
		// 10 units at 0.5 = 5; 0.3 units in blocks of 0.25: 2 blocks × 0.1.
		{"block tier after a unit tier", mixed, "EUR", "10.3", catalog.RateOptions{}, "5.20", []modeLine{{0, "10", "5", ""}, {1, "2", "0.2", ""}}},
		{"free units come off before blocks", catalog.Price{Model: catalog.Volume, FreeUnits: dec("50"), Tiers: []catalog.Tier{blockTier("", "100", "3", "")}}, "EUR", "151", catalog.RateOptions{}, "6.00", []modeLine{{0, "2", "6", ""}}},
		// 7 blocks × 0.125 = 0.875 (KWD keeps 3 digits; JPY none).
		{"KWD blocks", volume(blockTier("", "10", "0.125", "")), "KWD", "61", catalog.RateOptions{}, "0.875", nil},
		{"JPY blocks round once", volume(blockTier("", "10", "12.5", "")), "JPY", "61", catalog.RateOptions{}, "88", []modeLine{{0, "7", "87.5", ""}}},
		{"JPY blocks per tier", graduated(blockTier("10", "10", "12.5", ""), blockTier("", "10", "12.5", "")), "JPY", "11", catalog.RateOptions{Rounding: catalog.RoundPerTier}, "26", []modeLine{{0, "1", "13", ""}, {1, "1", "13", ""}}},
		// A quantity beyond the fixed-point range takes the exact path.
		{"a huge quantity", volume(blockTier("", "1000", "0.5", "")), "EUR", "12345678901234567890.5", catalog.RateOptions{}, "6172839450617284", []modeLine{{0, "12345678901234568", "6172839450617284", ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRater(t, tc.price, tc.cur)
			got, err := r.Rate(dec(tc.qty), tc.opts)
			require.NoError(t, err)
			requireMoney(t, got.Amount, money(tc.want, tc.cur))
			if tc.lines != nil {
				requireLines(t, got.Lines, tc.lines)
			}
			amount, err := r.Amount(dec(tc.qty), tc.opts)
			require.NoError(t, err)
			requireMoney(t, amount, got.Amount, "Amount agrees with Rate")
			slow, err := catalog.RateExact(r, dec(tc.qty), tc.opts)
			require.NoError(t, err)
			requireEqual(t, slow, got)
		})
	}
}

// openMeterTiers are the tiers of OpenMeter's graduated tiered price tests
// (rate/tieredgraduated_test.go): (0, 5] flat 100, (5, 10] flat 50,
// (10, 15] at 5, above at 1.
func openMeterTiers(m catalog.Model, spend catalog.SpendAdjustment) catalog.Price {
	return catalog.Price{Model: m, SpendAdjustment: spend, Tiers: []catalog.Tier{
		{UpTo: up("5"), FlatAmount: dec("100")},
		{UpTo: up("10"), FlatAmount: dec("50")},
		{UpTo: up("15"), UnitAmount: dec("5")},
		{UnitAmount: dec("1")},
	}}
}

// TestRateSpendPerTier checks the maximum spend spread over the tier lines
// against OpenMeter's "maximum spend set mid tier 2/3" case, and minimum
// and maximum spreads worked by hand.
func TestRateSpendPerTier(t *testing.T) {
	withSpend := func(p catalog.Price, lo, hi string) catalog.Price {
		if lo != "" {
			p.MinimumSpend = dec(lo)
		}
		if hi != "" {
			p.MaximumSpend = dec(hi)
		}
		return p
	}
	om := func(hi string) catalog.Price {
		return withSpend(openMeterTiers(catalog.Graduated, catalog.SpendPerTier), "", hi)
	}
	perUnit := catalog.Price{Model: catalog.PerUnit, Amount: dec("1.00"), MinimumSpend: dec("20"), MaximumSpend: dec("100"), SpendAdjustment: catalog.SpendPerTier}
	tests := []struct {
		name  string
		price catalog.Price
		cur   string
		qty   string
		opts  catalog.RateOptions
		want  string
		adj   string
		lines []modeLine
	}{
		// 100 + 50 + 5 × 5 + 7 × 1 = 182, capped at 170: OpenMeter takes
		// the 7 of tier 4 and 5 of tier 3's 25.
		{"openmeter cap mid tier 3", om("170"), "USD", "22", catalog.RateOptions{}, "170.00", "-12",
			[]modeLine{{0, "5", "100", ""}, {1, "5", "50", ""}, {2, "5", "25", "-5"}, {3, "7", "7", "-7"}}},
		{"the default keeps one adjustment", withSpend(openMeterTiers(catalog.Graduated, catalog.SpendTotal), "", "170"), "USD", "22", catalog.RateOptions{}, "170.00", "-12",
			[]modeLine{{0, "5", "100", ""}, {1, "5", "50", ""}, {2, "5", "25", ""}, {3, "7", "7", ""}}},
		{"a cap that empties two tiers and cuts a third", om("120"), "USD", "22", catalog.RateOptions{}, "120.00", "-62",
			[]modeLine{{0, "5", "100", ""}, {1, "5", "50", "-30"}, {2, "5", "25", "-25"}, {3, "7", "7", "-7"}}},
		{"a cap inside the first tier's flat", om("60"), "USD", "3", catalog.RateOptions{}, "60.00", "-40", []modeLine{{0, "3", "100", "-40"}}},
		{"under the cap nothing is cut", om("170"), "USD", "13", catalog.RateOptions{}, "165.00", "",
			nil},
		{"a cap on the exact amount cuts nothing", om("182"), "USD", "22", catalog.RateOptions{}, "182.00", "", nil},
		{"the cap applies to interim ratings", om("170"), "USD", "22", catalog.RateOptions{Interim: true}, "170.00", "-12",
			[]modeLine{{0, "5", "100", ""}, {1, "5", "50", ""}, {2, "5", "25", "-5"}, {3, "7", "7", "-7"}}},
		{"a cap with finer digits than the currency", om("169.995"), "USD", "22", catalog.RateOptions{Rounding: catalog.RoundNone}, "169.995", "-12.005",
			[]modeLine{{0, "5", "100", ""}, {1, "5", "50", ""}, {2, "5", "25", "-5.005"}, {3, "7", "7", "-7"}}},
		// Volume: 22 units in the open tier at 1 = 22, minimum 30.
		{"a minimum lifts the last line", withSpend(openMeterTiers(catalog.Volume, catalog.SpendPerTier), "30", ""), "USD", "22", catalog.RateOptions{}, "30.00", "8", []modeLine{{3, "22", "22", "8"}}},
		{"a minimum lifts the highest graduated tier", withSpend(openMeterTiers(catalog.Graduated, catalog.SpendPerTier), "200", ""), "USD", "12", catalog.RateOptions{}, "200.00", "40",
			[]modeLine{{0, "5", "100", ""}, {1, "5", "50", ""}, {2, "2", "10", "40"}}},
		{"no minimum in interim ratings", withSpend(openMeterTiers(catalog.Graduated, catalog.SpendPerTier), "200", ""), "USD", "12", catalog.RateOptions{Interim: true}, "160.00", "",
			[]modeLine{{0, "5", "100", ""}, {1, "5", "50", ""}, {2, "2", "10", ""}}},
		{"per unit minimum", perUnit, "EUR", "5", catalog.RateOptions{}, "20.00", "15", []modeLine{{0, "5", "5", "15"}}},
		{"per unit maximum", perUnit, "EUR", "500", catalog.RateOptions{}, "100.00", "-400", []modeLine{{0, "500", "500", "-400"}}},
		// Per tier: 1 × 0.015 rounds to 0.02 twice; the cap 0.03 takes one cent from the top line.
		{"per tier rounding cuts rounded subtotals", catalog.Price{Model: catalog.Graduated, MaximumSpend: dec("0.03"), SpendAdjustment: catalog.SpendPerTier,
			Tiers: []catalog.Tier{{UpTo: up("1"), UnitAmount: dec("0.015")}, {UnitAmount: dec("0.015")}}}, "EUR", "2", catalog.RateOptions{Rounding: catalog.RoundPerTier}, "0.03", "-0.01",
			[]modeLine{{0, "1", "0.02", ""}, {1, "1", "0.02", "-0.01"}}},
		{"block tiers are cut by blocks' subtotals", catalog.Price{Model: catalog.Graduated, MaximumSpend: dec("12"), SpendAdjustment: catalog.SpendPerTier,
			Tiers: []catalog.Tier{blockTier("1000", "100", "1", ""), blockTier("", "1000", "1", "")}}, "USD", "5325", catalog.RateOptions{}, "12.00", "-3",
			[]modeLine{{0, "10", "10", ""}, {1, "5", "5", "-3"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRater(t, tc.price, tc.cur)
			got, err := r.Rate(dec(tc.qty), tc.opts)
			require.NoError(t, err)
			requireMoney(t, got.Amount, money(tc.want, tc.cur))
			adj := tc.adj
			if adj == "" {
				adj = "0"
			}
			require.True(t, got.Adjustment.Amount().Equal(dec(adj)), "adjustment %s, want %s", got.Adjustment, adj)
			if tc.lines != nil {
				requireLines(t, got.Lines, tc.lines)
			}
			amount, err := r.Amount(dec(tc.qty), tc.opts)
			require.NoError(t, err)
			requireMoney(t, amount, got.Amount, "Amount agrees with Rate")
		})
	}
}

// TestRateSpendPerTierProgressive follows OpenMeter's case as it is
// billed there: 12 units billed progressively (100 + 50 + 2 × 5 = 160),
// then the period closes at 22. The last bill is 10, the cap's 170 less
// the 160 billed, and the cumulative breakdown cuts tier 3 by 5 and tier
// 4 by 7, the discounts OpenMeter puts on those lines.
func TestRateSpendPerTierProgressive(t *testing.T) {
	p := openMeterTiers(catalog.Graduated, catalog.SpendPerTier)
	p.MaximumSpend = dec("170")
	r := mustRater(t, p, "USD")
	first, err := r.Rate(dec("12"), catalog.RateOptions{Interim: true})
	require.NoError(t, err)
	requireMoney(t, first.Amount, money("160", "USD"))
	d, err := r.RateDelta(dec("12"), dec("22"), catalog.RateOptions{Interim: true}, catalog.RateOptions{})
	require.NoError(t, err)
	requireMoney(t, d.Amount, money("10", "USD"))
	requireLines(t, d.Cumulative.Lines, []modeLine{{0, "5", "100", ""}, {1, "5", "50", ""}, {2, "5", "25", "-5"}, {3, "7", "7", "-7"}})
}

// lagoVolume is the volume price of Lago's volume_service_spec: [0, 100]
// at 2 with flat 10, [101, 200] at 1, above at 0.5 with flat 50 (Lago's
// ranges start at from_value; ours end at an inclusive up_to).
func lagoVolume(flat catalog.FlatProration) catalog.Price {
	return catalog.Price{Model: catalog.Volume, FlatProration: flat, Tiers: []catalog.Tier{
		{UpTo: up("100"), UnitAmount: dec("2"), FlatAmount: dec("10")},
		{UpTo: up("200"), UnitAmount: dec("1")},
		{UnitAmount: dec("0.5"), FlatAmount: dec("50")},
	}}
}

// TestRateLagoVolume checks Lago's unprorated volume figures
// (volume_service_spec.rb), which follow the same convention as ours but
// at zero: Lago bills nothing when nothing is used ("return 0 if
// units.zero?"), FlatAtZeroWaived; by default the first tier's flat is
// billed at zero, as OpenMeter bills it.
func TestRateLagoVolume(t *testing.T) {
	billed := mustRater(t, lagoVolume(catalog.FlatWhole), "EUR")
	got, err := billed.Rate(dec("0"), catalog.RateOptions{})
	require.NoError(t, err)
	requireMoney(t, got.Amount, money("10", "EUR"), "by default, zero bills the first flat")
	tests := []struct {
		name, qty, want string
	}{
		{"zero bills nothing", "0", "0"},
		{"one unit", "1", "12"},
		{"the first bound", "100", "210"},
		{"between the bounds", "100.5", "100.5"},
		{"the second tier", "101", "101"},
		{"the second bound", "200", "200"},
		{"the open tier", "300", "200"},
		{"a fixed charge of 210", "210", "155"},
	}
	lago := lagoVolume(catalog.FlatWhole)
	lago.FlatAtZero = catalog.FlatAtZeroWaived
	r := mustRater(t, lago, "EUR")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Rate(dec(tc.qty), catalog.RateOptions{})
			require.NoError(t, err)
			requireMoney(t, got.Amount, money(tc.want, "EUR"))
			amount, err := r.Amount(dec(tc.qty), catalog.RateOptions{})
			require.NoError(t, err)
			requireMoney(t, amount, got.Amount, "Amount is Rate's")
		})
	}
	prorated, err := r.RateProrated(catalog.Proration{Full: dec("0"), Units: dec("0"), Fraction: ensemble.MustRatio("0.5")}, catalog.RateOptions{})
	require.NoError(t, err)
	requireMoney(t, prorated.Amount, money("0", "EUR"), "nothing used in a prorated piece bills nothing")
}

// TestRateLagoGraduated checks Lago's graduated figures
// (graduated_service_spec.rb: [0, 10] at 10 with flat 2, [11, 20] at 5
// with flat 3, above at 5 with flat 3): each tier's flat amount once the
// quantity reaches it, nothing at zero when the price waives it (Lago),
// the first flat by default (OpenMeter); a minimum spend applies either
// way.
func TestRateLagoGraduated(t *testing.T) {
	p := catalog.Price{Model: catalog.Graduated, FlatAtZero: catalog.FlatAtZeroWaived, Tiers: []catalog.Tier{
		{UpTo: up("10"), UnitAmount: dec("10"), FlatAmount: dec("2")},
		{UpTo: up("20"), UnitAmount: dec("5"), FlatAmount: dec("3")},
		{UnitAmount: dec("5"), FlatAmount: dec("3")},
	}}
	r := mustRater(t, p, "EUR")
	for _, c := range [][2]string{{"0", "0"}, {"1", "12"}, {"10", "102"}, {"11", "110"}, {"12", "115"}, {"21", "163"}} {
		got, err := r.Rate(dec(c[0]), catalog.RateOptions{})
		require.NoError(t, err)
		requireMoney(t, got.Amount, money(c[1], "EUR"), "quantity %s", c[0])
	}
	p.FlatAtZero = catalog.FlatAtZeroBilled
	got, err := mustRater(t, p, "EUR").Rate(dec("0"), catalog.RateOptions{})
	require.NoError(t, err)
	requireMoney(t, got.Amount, money("2", "EUR"), "by default the first flat at zero")
	p.FlatAtZero, p.MinimumSpend = catalog.FlatAtZeroWaived, dec("5")
	got, err = mustRater(t, p, "EUR").Rate(dec("0"), catalog.RateOptions{})
	require.NoError(t, err)
	requireMoney(t, got.Amount, money("5", "EUR"), "waived, the minimum spend still applies")
	d, err := r.RateDelta(dec("0"), dec("1"), catalog.RateOptions{}, catalog.RateOptions{})
	require.NoError(t, err)
	requireMoney(t, d.Amount, money("12", "EUR"), "the first unit brings the first flat")
}

// TestRateProrated checks prorated volume ratings against Lago's
// "when charge is prorated" figure and hand-worked cases.
func TestRateProrated(t *testing.T) {
	ratio := ensemble.MustRatio
	blocks := catalog.Price{Model: catalog.Volume, FlatProration: catalog.FlatWhole, Tiers: []catalog.Tier{
		blockTier("10", "5", "3", "1"), blockTier("", "5", "2", "6"),
	}}
	tests := []struct {
		name  string
		price catalog.Price
		cur   string
		p     catalog.Proration
		opts  catalog.RateOptions
		want  string
		lines []modeLine
	}{
		// Lago: 300 full units pick the third range; 198.6 prorated units at
		// 0.5 = 99.3, plus its flat 50 = 149.3.
		{"lago prorated volume", lagoVolume(catalog.FlatWhole), "EUR", catalog.Proration{Full: dec("300"), Units: dec("198.6"), Fraction: ratio("0.662")}, catalog.RateOptions{}, "149.30",
			[]modeLine{{2, "198.6", "149.3", ""}}},
		// The same with the flat prorated: 50 × 0.662 = 33.1.
		{"flat prorated", lagoVolume(catalog.FlatProrated), "EUR", catalog.Proration{Full: dec("300"), Units: dec("198.6"), Fraction: ratio("0.662")}, catalog.RateOptions{}, "132.40",
			[]modeLine{{2, "198.6", "132.4", ""}}},
		// Half a month of 300 seats: 150 × 0.5 + 50 whole = 125; prorated 100.
		{"half a period, flat whole", lagoVolume(catalog.FlatWhole), "EUR", catalog.Proration{Full: dec("300"), Units: dec("150"), Fraction: ratio("1/2")}, catalog.RateOptions{}, "125.00", nil},
		{"half a period, flat prorated", lagoVolume(catalog.FlatProrated), "EUR", catalog.Proration{Full: dec("300"), Units: dec("150"), Fraction: ratio("1/2")}, catalog.RateOptions{}, "100.00", nil},
		// 50 × 15/31 = 24.19354... rounds to 24.19; 145.16 × 0.5 = 72.58.
		{"a repeating fraction rounds the flat", lagoVolume(catalog.FlatProrated), "EUR", catalog.Proration{Full: dec("300"), Units: dec("145.16"), Fraction: ratio("15/31")}, catalog.RateOptions{Rounding: catalog.RoundNone}, "96.77",
			[]modeLine{{2, "145.16", "96.77", ""}}},
		// The full quantity, not the units, picks the tier: 90 units would
		// be in the first tier at 2 each.
		{"the full quantity picks the tier", lagoVolume(catalog.FlatWhole), "EUR", catalog.Proration{Full: dec("201"), Units: dec("90"), Fraction: ratio("90/201")}, catalog.RateOptions{}, "95.00",
			[]modeLine{{2, "90", "95", ""}}},
		// Units above the full quantity (seats removed before the end).
		{"no full units", lagoVolume(catalog.FlatWhole), "EUR", catalog.Proration{Full: dec("0"), Units: dec("1.613"), Fraction: ratio("1")}, catalog.RateOptions{}, "13.23",
			[]modeLine{{0, "1.613", "13.226", ""}}},
		{"the whole period is Rate", lagoVolume(catalog.FlatProrated), "EUR", catalog.Proration{Full: dec("300"), Units: dec("300"), Fraction: ratio("1")}, catalog.RateOptions{}, "200.00",
			[]modeLine{{2, "300", "200", ""}}},
		{"nothing in service", lagoVolume(catalog.FlatProrated), "EUR", catalog.Proration{Full: dec("300"), Units: dec("0"), Fraction: ratio("0")}, catalog.RateOptions{}, "0", nil},
		// 12 full units pick tier 1; 4.2 units start 1 block of 5: 2 + 6.
		{"prorated blocks", blocks, "EUR", catalog.Proration{Full: dec("12"), Units: dec("4.2"), Fraction: ratio("0.35")}, catalog.RateOptions{}, "8.00", []modeLine{{1, "1", "8", ""}}},
		{"free units", catalog.Price{Model: catalog.Volume, FreeUnits: dec("100"), FlatProration: catalog.FlatWhole, Tiers: lagoVolume(0).Tiers}, "EUR",
			catalog.Proration{Full: dec("400"), Units: dec("250"), Fraction: ratio("5/8")}, catalog.RateOptions{}, "125.00", []modeLine{{2, "150", "125", ""}}},
		{"a maximum spend caps the prorated amount", catalog.Price{Model: catalog.Volume, MaximumSpend: dec("120"), FlatProration: catalog.FlatWhole, Tiers: lagoVolume(0).Tiers}, "EUR",
			catalog.Proration{Full: dec("300"), Units: dec("198.6"), Fraction: ratio("0.662")}, catalog.RateOptions{}, "120.00", nil},
		{"JPY", lagoVolume(catalog.FlatProrated), "JPY", catalog.Proration{Full: dec("300"), Units: dec("100"), Fraction: ratio("1/3")}, catalog.RateOptions{}, "67", []modeLine{{2, "100", "67", ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRater(t, tc.price, tc.cur)
			got, err := r.RateProrated(tc.p, tc.opts)
			require.NoError(t, err)
			requireMoney(t, got.Amount, money(tc.want, tc.cur))
			require.True(t, got.Quantity.Equal(tc.p.Units) && got.Full.Equal(tc.p.Full))
			if tc.lines != nil {
				requireLines(t, got.Lines, tc.lines)
			}
		})
	}
}

func TestRateProratedErrors(t *testing.T) {
	volume := mustRater(t, lagoVolume(catalog.FlatWhole), "EUR")
	tests := []struct {
		name string
		r    *catalog.Rater
		p    catalog.Proration
		opts catalog.RateOptions
		want error
	}{
		{"not a volume price", mustRater(t, tiers3(catalog.Graduated), "EUR"), catalog.Proration{Full: dec("1"), Units: dec("1"), Fraction: ensemble.MustRatio("1")}, catalog.RateOptions{}, catalog.ErrModel},
		{"negative full", volume, catalog.Proration{Full: dec("-1"), Units: dec("1")}, catalog.RateOptions{}, catalog.ErrNegativeQuantity},
		{"negative units", volume, catalog.Proration{Full: dec("1"), Units: dec("-1")}, catalog.RateOptions{}, catalog.ErrNegativeQuantity},
		{"huge units", volume, catalog.Proration{Full: dec("1"), Units: dec("1e60")}, catalog.RateOptions{}, catalog.ErrOutOfRange},
		{"fraction above one", volume, catalog.Proration{Full: dec("1"), Units: dec("1"), Fraction: ensemble.MustRatio("3/2")}, catalog.RateOptions{}, catalog.ErrOutOfRange},
		{"negative fraction", volume, catalog.Proration{Full: dec("1"), Units: dec("1"), Fraction: ensemble.MustRatio("-1/2")}, catalog.RateOptions{}, catalog.ErrOutOfRange},
		{"unknown mode", volume, catalog.Proration{Full: dec("1"), Units: dec("1")}, catalog.RateOptions{Mode: 99}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.r.RateProrated(tc.p, tc.opts)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			require.Nil(t, got.Lines, "a failed call returns no partial result")
		})
	}
}

// TestModeValidation checks that the new fields are validated with typed
// errors naming their path.
func TestModeValidation(t *testing.T) {
	blockOn := func(m catalog.Model, size string) catalog.Price {
		p := catalog.Price{Model: m, Tiers: []catalog.Tier{{UpTo: up("10")}, {BlockSize: dec(size)}}}
		return p
	}
	tests := []struct {
		name  string
		price catalog.Price
		path  string
		want  error
	}{
		{"negative block size", blockOn(catalog.Graduated, "-1"), "price.tiers[1].block_size", catalog.ErrNegative},
		{"huge block size", blockOn(catalog.Volume, "1e50"), "price.tiers[1].block_size", catalog.ErrOutOfRange},
		{"blocks of a graduated percentage", blockOn(catalog.GraduatedPercentage, "5"), "price.tiers[1].block_size", catalog.ErrFieldNotAllowed},
		{"spend per tier on a percentage", catalog.Price{Model: catalog.Percentage, SpendAdjustment: catalog.SpendPerTier}, "price.spend_adjustment", catalog.ErrFieldNotAllowed},
		{"unknown spend adjustment", catalog.Price{Model: catalog.PerUnit, SpendAdjustment: 7}, "price.spend_adjustment", catalog.ErrOutOfRange},
		{"flat whole on graduated", catalog.Price{Model: catalog.Graduated, FlatProration: catalog.FlatWhole, Tiers: tiers3(catalog.Graduated).Tiers}, "price.flat_proration", catalog.ErrFieldNotAllowed},
		{"unknown flat proration", catalog.Price{Model: catalog.Volume, FlatProration: 9, Tiers: tiers3(catalog.Volume).Tiers}, "price.flat_proration", catalog.ErrOutOfRange},
		{"flat waived on a per-unit price", catalog.Price{Model: catalog.PerUnit, Amount: dec("1"), FlatAtZero: catalog.FlatAtZeroWaived}, "price.flat_at_zero", catalog.ErrFieldNotAllowed},
		{"unknown flat at zero", catalog.Price{Model: catalog.Volume, FlatAtZero: 9, Tiers: tiers3(catalog.Volume).Tiers}, "price.flat_at_zero", catalog.ErrOutOfRange},
		{"unknown spend proration", catalog.Price{Model: catalog.PerUnit, MinimumSpend: dec("5"), SpendProration: 7}, "price.spend_proration", catalog.ErrOutOfRange},
		{"spend proration without a spend bound", catalog.Price{Model: catalog.PerUnit, Amount: dec("1"), SpendProration: catalog.SpendService}, "price.spend_proration", catalog.ErrFieldNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := catalog.NewRater(tc.price, ensemble.MustCurrency("EUR"))
			require.Nil(t, r)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			found := false
			for _, p := range ve.Problems {
				found = found || (p.Path == tc.path && errors.Is(p.Err, tc.want))
			}
			require.True(t, found, "want %s at %s, got %v", tc.want, tc.path, err)
		})
	}
	t.Run("inside a catalog", func(t *testing.T) {
		doc := `{"offers":[{"id":"a","version":1,"currency":"EUR","effective_from":"2026-01-01T00:00:00Z","charges":[
			{"id":"ok","type":"usage","meter":"m","price":{"model":"per_unit","amount":"1"}},
			{"id":"c","type":"usage","meter":"m","price":{"model":"graduated","flat_proration":"whole","tiers":[{"up_to":"10"},{"up_to":"20"},{"block_size":"-5"}]}}]}]}`
		_, err := catalog.Load([]byte(doc))
		var ve *ensemble.ValidationError
		require.ErrorAs(t, err, &ve)
		paths := map[string]error{}
		for _, p := range ve.Problems {
			paths[p.Path] = p.Err
		}
		require.ErrorIs(t, paths["offers[0].charges[1].price.tiers[2].block_size"], catalog.ErrNegative)
		require.ErrorIs(t, paths["offers[0].charges[1].price.flat_proration"], catalog.ErrFieldNotAllowed)
		var oe *catalog.OfferError
		require.ErrorAs(t, paths["offers[0].charges[1].price.tiers[2].block_size"], &oe)
		require.Equal(t, catalog.ChargeID("c"), oe.Charge)
	})
	t.Run("unknown names are strict", func(t *testing.T) {
		for _, doc := range []string{
			`{"model":"volume","flat_proration":"Whole","tiers":[{}]}`,
			`{"model":"volume","spend_adjustment":"spread","tiers":[{}]}`,
			`{"model":"volume","flat_at_zero":"free","tiers":[{}]}`,
			`{"model":"per_unit","minimum_spend":"5","spend_proration":"prorated"}`,
		} {
			var p catalog.Price
			require.Error(t, json.Unmarshal([]byte(doc), &p), doc)
		}
	})
}

// TestModesJSON writes the new fields with their names and reads them
// back.
func TestModesJSON(t *testing.T) {
	p := catalog.Price{Model: catalog.Volume, SpendAdjustment: catalog.SpendPerTier, FlatProration: catalog.FlatWhole, FlatAtZero: catalog.FlatAtZeroWaived, MaximumSpend: dec("100"),
		Tiers: []catalog.Tier{blockTier("1000", "100", "1", ""), blockTier("", "1000", "0.5", "2")}}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	require.JSONEq(t, `{"model":"volume","maximum_spend":"100","spend_adjustment":"per_tier","flat_proration":"whole","flat_at_zero":"waived",
		"tiers":[{"up_to":"1000","unit_amount":"1","block_size":"100"},{"unit_amount":"0.5","flat_amount":"2","block_size":"1000"}]}`, string(b))
	var back catalog.Price
	require.NoError(t, json.Unmarshal(b, &back))
	requireEqual(t, back, p)

	r := mustRater(t, p, "EUR")
	rt, err := r.RateProrated(catalog.Proration{Full: dec("250000"), Units: dec("240000"), Fraction: ensemble.MustRatio("24/25")}, catalog.RateOptions{})
	require.NoError(t, err)
	b, err = json.Marshal(rt)
	require.NoError(t, err)
	require.Contains(t, string(b), `"full":"250000"`)
	require.Contains(t, string(b), `"adjustment":{"amount":"-22.00","currency":"EUR"}`)
	var rback catalog.Rating
	require.NoError(t, json.Unmarshal(b, &rback))
	requireEqual(t, rback, rt)
}
