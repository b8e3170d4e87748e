package invoice_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// A fixed wholesale cost is owed per bundle unit per cycle: a line covering
// part of a cycle owes that part of it, and a ratio cost follows the line's
// net.
func TestBundleSupplierCostsProrated(t *testing.T) {
	// Activated on March 16 with an anchor on March 1: 16 of 31 days.
	s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 16), time.Time{}, pin("suite", 1), "2")))
	inv := build1(t, builder(t, invoice.Options{Basis: 1}), invoice.Run{At: date(2026, 3, 16)}, s)
	require.Len(t, inv.Lines, 1)
	l := inv.Lines[0]
	require.Equal(t, "51.61", l.Net.AmountString(), "100.00 - round(100.00 × 15/31)")
	var got []string
	for _, c := range l.SupplierCosts {
		got = append(got, c.Supplier+" "+c.Cost.AmountString())
	}
	// acme: 40% of 51.61; zeta: 5.00 × 2 units × 16/31.
	require.Equal(t, []string{"acme 20.64", "zeta 5.16"}, got)
}

// cloudYAML is the bundle: a EUR 500.00 one-time onboarding fee and
// a EUR 249.99 monthly charge, the compute supplier owed 55% (SCOPE: the
// cost's applies_to, if any), and an AI bundle whose GPU supplier is owed a
// fixed USD 12.35 a seat.
const cloudYAML = `
offers:
  - {id: compute, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z}
  - {id: gpu, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z}
  - id: cloud
    version: 1
    name: Cloud suite
    kind: bundle
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: onboarding, name: Onboarding, type: one_time, price: {model: flat, amount: "500.00"}}
      - {id: monthly, name: Compute, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "249.99"}}
    components:
      - {offer: compute, supplier: computeco, cost: {ratio: "55%"SCOPE}}
  - id: ai
    version: 1
    name: AI suite
    kind: bundle
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "40.00"}}
    components:
      - {offer: gpu, supplier: gpuco, cost: {fixed: "12.35", currency: USD}}
`

func cloudBuilder(t *testing.T, appliesTo string) *invoice.Builder {
	t.Helper()
	if appliesTo != "" {
		appliesTo = ", applies_to: " + appliesTo
	}
	cat, err := catalog.LoadYAML([]byte(strings.Replace(cloudYAML, "SCOPE", appliesTo, 1)))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	return b
}

// costLines lists a line's supplier costs ("supplier cost") and the
// components that did not apply ("supplier -").
func costLines(l invoice.Line) []string {
	var out []string
	for _, c := range l.SupplierCosts {
		out = append(out, c.Supplier+" "+c.Cost.AmountString())
	}
	for _, c := range l.CostsNotApplied {
		out = append(out, c.Supplier+" -")
	}
	return out
}

// TestSupplierCostsPerCharge: the case on an invoice. The bundle is
// activated on March 1 and billed that day: the onboarding fee (EUR 500.00)
// and March's compute (EUR 249.99). By default the supplier's 55% applies to
// the recurring charge only: 55% of 249.99 = 137.4945, the margin's 45% =
// 112.4955; floors 137.49 + 112.49 leave a cent, which goes to the larger
// remainder (the margin's), so the supplier gets 137.49 and nothing of the
// fee (before the fix: 275.00 of it). With applies_to: all it gets 275.00
// of the fee too; with [onboarding] only the fee's.
func TestSupplierCostsPerCharge(t *testing.T) {
	tests := []struct {
		name, appliesTo           string
		onboarding, monthly       []string
		onboardingWhy, monthlyWhy string
	}{
		{"default", "", []string{"computeco -"}, []string{"computeco 137.49"},
			"  supplier computeco (compute), 55%: not applied to charge onboarding (one-time): applies to recurring and usage charges, the default\n",
			"  supplier computeco (compute): 55% of the net EUR 249.99 = EUR 137.49 (applies to recurring and usage charges, the default)\n"},
		{"all", "all", []string{"computeco 275.00"}, []string{"computeco 137.49"},
			"  supplier computeco (compute): 55% of the net EUR 500.00 = EUR 275.00 (applies to all charges)\n",
			"  supplier computeco (compute): 55% of the net EUR 249.99 = EUR 137.49 (applies to all charges)\n"},
		{"named", "[onboarding]", []string{"computeco 275.00"}, []string{"computeco -"},
			"  supplier computeco (compute): 55% of the net EUR 500.00 = EUR 275.00 (applies to charges onboarding)\n",
			"  supplier computeco (compute), 55%: not applied to charge monthly (recurring): applies to charges onboarding\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("cloud", 1), "1")))
			inv := build1(t, cloudBuilder(t, tc.appliesTo), invoice.Run{At: date(2026, 3, 1)}, s)
			byCharge := map[catalog.ChargeID]invoice.Line{}
			for _, l := range inv.Lines {
				byCharge[l.Charge] = l
			}
			fee, month := byCharge["onboarding"], byCharge["monthly"]
			require.Equal(t, "500.00", fee.Net.AmountString())
			require.Equal(t, "249.99", month.Net.AmountString())
			require.Equal(t, tc.onboarding, costLines(fee))
			require.Equal(t, tc.monthly, costLines(month))
			require.Contains(t, invoice.Explain(fee), tc.onboardingWhy)
			require.Contains(t, invoice.Explain(month), tc.monthlyWhy)
			// The component is in a line's trace only when its cost applied.
			component := pin("cloud", 1).ComponentRef("compute", "computeco")
			require.Equal(t, len(fee.SupplierCosts) > 0, slices.Contains(fee.Refs, component))
			require.Equal(t, len(month.SupplierCosts) > 0, slices.Contains(month.Refs, component))
			roundTrip(t, inv)
		})
	}
}

// TestSupplierCostsRateInForce: a run converts at the rate in force at
// its instant. A table with USD→EUR 0.9234 from January and 0.95 from June
// converts March's cost at 0.9234 (EUR 11.77); a table whose only rate
// starts in June converts nothing in March: the build fails naming the
// pair and the instant, where the June rate was taken before (a new user's
// trial: the reseller's share fell by the difference, without an error).
func TestSupplierCostsRateInForce(t *testing.T) {
	b := cloudBuilder(t, "")
	s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 16), time.Time{}, pin("ai", 1), "2")))
	usd := ensemble.MustCurrency("USD")
	june := catalog.Rate{From: usd, To: eur, Rate: ensemble.MustRatio("0.95"), Since: date(2026, 6, 1)}
	dated := catalog.Rates{june, {From: usd, To: eur, Rate: ensemble.MustRatio("0.9234"), Since: date(2026, 1, 1)}}
	inv := build1(t, b, invoice.Run{At: date(2026, 3, 16), Rates: dated}, s)
	require.Equal(t, "EUR 11.77", inv.Lines[0].SupplierCosts[0].Cost.String())
	require.True(t, inv.Lines[0].SupplierCosts[0].Rate.Equal(ensemble.MustRatio("0.9234")))

	invs, err := b.Build(invoice.Run{At: date(2026, 3, 16), Rates: catalog.Rates{june}}, []invoice.Subscription{s})
	require.Nil(t, invs)
	var re *catalog.RateError
	require.ErrorAs(t, err, &re)
	require.ErrorIs(t, err, catalog.ErrNoRate)
	require.True(t, re.At.Equal(date(2026, 3, 16)))
	require.Contains(t, err.Error(), "no exchange rate from USD to EUR in force at 2026-03-16T00:00:00Z")

	// A table holding the pair the other way round says so (a new user's
	// trial read only "no exchange rate from USD to EUR").
	reversed := catalog.Rates{{From: eur, To: usd, Rate: ensemble.MustRatio("1.0843")}}
	_, err = b.Build(invoice.Run{At: date(2026, 3, 16), Rates: reversed}, []invoice.Subscription{s})
	require.ErrorIs(t, err, catalog.ErrNoRate)
	require.ErrorContains(t, err, "no exchange rate from USD to EUR in force at 2026-03-16T00:00:00Z: the rates hold EUR to USD, never inverted: give USD to EUR")
}

// TestSupplierCostsOtherCurrency: the GPU supplier is owed USD 12.35 a seat
// a month. Two seats from March 16, anchor March 1: the line bills 16/31 of
// EUR 80.00 = 80.00 - round(80.00 × 15/31) = 80.00 - 38.71 = EUR 41.29, and
// the cost is USD 24.70 × 16/31 = 12.748... → USD 12.75, converted at the
// run's 0.9234 EUR per USD: 11.773350 → EUR 11.77, rounded once. The line
// keeps the rate and both amounts; without the rate the build fails naming
// the pair.
func TestSupplierCostsOtherCurrency(t *testing.T) {
	b := cloudBuilder(t, "")
	s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 16), time.Time{}, pin("ai", 1), "2")))
	usd := ensemble.MustCurrency("USD")
	rates := catalog.Rates{{From: usd, To: eur, Rate: ensemble.MustRatio("0.9234")}}
	run := invoice.Run{At: date(2026, 3, 16), Rates: rates}
	roundTrip(t, run)
	in, err := invoice.DecodeInput([]byte(`{"run":{"at":"2026-03-16T00:00:00Z","rates":[{"from":"USD","to":"EUR","rate":"0.9234"}]},"subscriptions":[]}`))
	require.NoError(t, err)
	if d := cmp.Diff(run, in.Run, cmpOpts); d != "" {
		t.Fatalf("a host's run with rates decodes (-want +got):\n%s", d)
	}
	inv := build1(t, b, run, s)
	require.Len(t, inv.Lines, 1)
	l := inv.Lines[0]
	require.Equal(t, "41.29", l.Net.AmountString())
	require.Len(t, l.SupplierCosts, 1)
	c := l.SupplierCosts[0]
	require.Equal(t, "USD 12.35", c.Fixed.String())
	require.Equal(t, "USD 12.75", c.Source.String())
	require.True(t, c.Rate.Equal(ensemble.MustRatio("0.9234")))
	require.Equal(t, "EUR 11.77", c.Cost.String())
	require.Contains(t, invoice.Explain(l),
		"  supplier gpuco (gpu): fixed USD 12.35 a unit × 2 × 16/31 = USD 12.75, at 0.9234 EUR per USD (rounded once) = EUR 11.77 (applies to recurring charges, the default)\n")
	roundTrip(t, inv)

	invs, err := b.Build(invoice.Run{At: date(2026, 3, 16)}, []invoice.Subscription{s})
	require.Nil(t, invs)
	var re *catalog.RateError
	require.ErrorAs(t, err, &re)
	require.ErrorIs(t, err, catalog.ErrNoRate)
	require.Equal(t, usd, re.From)
	require.Equal(t, eur, re.To)
	require.Contains(t, err.Error(), `no exchange rate from USD to EUR`)

	// Unusable rates are refused before anything is built, at their path.
	bad := catalog.Rates{rates[0], {From: usd, To: eur, Rate: ensemble.MustRatio("0.92")}, {From: eur, To: usd}}
	_, err = b.Build(invoice.Run{At: date(2026, 3, 16), Rates: bad}, []invoice.Subscription{s})
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path+": "+p.Err.Error())
	}
	require.Equal(t, []string{
		"run.rates[1]: ensemble: invalid exchange rate from USD to EUR: given twice",
		"run.rates[2]: ensemble: invalid exchange rate from EUR to USD: 0 is not above zero",
	}, paths)
}

// TestPropertySupplierCostsPerLine: whatever the bundle's scopes, ratios,
// quantities, activation date and discounts, on every line of every
// invoice: each component is listed once, as applied or not, as its scope
// says for the line's charge; ratio costs are each within a cent of
// net × ratio and together never exceed the net (a cost that comes to zero
// is dropped); a fixed cost is round(fixed × quantity × fraction).
func TestPropertySupplierCostsPerLine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var doc strings.Builder
		doc.WriteString(`offers:
  - {id: part, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z}
  - id: b
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: fee, type: one_time, price: {model: per_unit, amount: "` + cents(t, "fee") + `"}}
      - {id: plan, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "` + cents(t, "plan") + `"}}
      - {id: calls, type: usage, meter: calls, price: {model: per_unit, amount: "0.013"}}
    components:
`)
		left := 100
		for i := range rapid.IntRange(1, 4).Draw(t, "components") {
			scope := rapid.SampledFrom([]string{"", ", applies_to: all", ", applies_to: recurring", ", applies_to: [fee]", ", applies_to: [plan, fee]", ", applies_to: [calls]"}).Draw(t, "scope")
			if rapid.Bool().Draw(t, "fixed") {
				if scope == ", applies_to: [calls]" {
					scope = ""
				}
				fmt.Fprintf(&doc, "      - {offer: part, supplier: s%d, cost: {fixed: \"%s\"%s, shortfall: supplier}}\n", i, decimal.New(int64(rapid.IntRange(0, 300).Draw(t, "fixed_cents")), -2), scope)
			} else {
				pct := rapid.IntRange(0, left).Draw(t, "percent")
				left -= pct
				fmt.Fprintf(&doc, "      - {offer: part, supplier: s%d, cost: {ratio: \"%d%%\"%s}}\n", i, pct, scope)
			}
		}
		cat, err := catalog.LoadYAML([]byte(doc.String()))
		require.NoError(t, err, doc.String())
		o, err := cat.Offer(pin("b", 1))
		require.NoError(t, err)
		b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
		require.NoError(t, err)
		start := date(2026, 3, rapid.IntRange(1, 28).Draw(t, "start_day"))
		it := item("i1", seg(start, time.Time{}, pin("b", 1), strconv.Itoa(rapid.IntRange(1, 50).Draw(t, "quantity"))))
		if rapid.Bool().Draw(t, "discount") {
			it.Discounts = []invoice.Discount{{ID: "d", Percent: ensemble.RatioFromDecimal(decimal.New(int64(rapid.IntRange(1, 100).Draw(t, "discount_percent")), -2)), Duration: invoice.Forever}}
		}
		s := sub("s1", date(2026, 3, 1), it)
		calls := usage.Aggregate{Line: "s1/i1", Meter: "calls", Aggregation: usage.Sum,
			Period: ensemble.MustPeriod(date(2026, 3, 1), date(2026, 4, 1)), Value: decimal.NewFromInt(int64(rapid.IntRange(0, 100000).Draw(t, "calls"))),
			Records: 1, Digest: usage.DigestOf("r1")}
		invs, err := b.Build(invoice.Run{At: date(2026, 4, 1), Usage: []usage.Aggregate{calls}}, []invoice.Subscription{s})
		require.NoError(t, err)
		kinds := map[invoice.LineKind]bool{}
		for _, inv := range invs {
			for _, l := range inv.Lines {
				checkLineCosts(t, o, l)
				kinds[l.Kind] = true
			}
		}
		require.True(t, kinds[invoice.KindOneTime] && kinds[invoice.KindRecurring] && kinds[invoice.KindUsage], "every kind of line is drawn: %v", kinds)
	})
}

func cents(t *rapid.T, label string) string {
	return decimal.New(int64(rapid.IntRange(0, 100000).Draw(t, label+"_cents")), -2).StringFixed(2)
}

func checkLineCosts(t *rapid.T, o catalog.Offer, l invoice.Line) {
	var typ catalog.ChargeType
	for _, ch := range o.Charges {
		if ch.ID == l.Charge {
			typ = ch.Type
		}
	}
	if !l.Net.IsPositive() {
		require.Empty(t, l.SupplierCosts, "line %s", l.ID)
		return
	}
	listed := map[string]int{}
	var ratios, all ensemble.Money
	capped := false
	for _, c := range l.SupplierCosts {
		listed[c.Supplier]++
		require.True(t, (c.Cost.IsPositive() || c.Capped.IsPositive()) && !c.Cost.IsNegative() && c.Cost.IsRounded(), "cost %s (capped %s)", c.Cost, c.Capped)
		all, _ = all.Add(c.Cost)
		capped = capped || !c.Capped.IsZero()
		if !c.Ratio.IsZero() {
			exact := ensemble.RatioFromDecimal(l.Net.Amount()).Mul(c.Ratio)
			diff := exact.Sub(ensemble.RatioFromDecimal(c.Cost.Amount()))
			cent := ensemble.MustRatio("0.01")
			require.True(t, diff.Cmp(cent) < 0 && diff.Neg().Cmp(cent) < 0, "%s: ratio cost %s within a cent of %s", l.ID, c.Cost, exact)
			var err error
			ratios, err = ratios.Add(c.Cost)
			require.NoError(t, err)
		} else {
			want := c.Fixed.Mul(l.Quantity)
			if l.Proration != nil {
				want = want.MulRatio(l.Proration.Fraction, ensemble.RoundHalfAwayFromZero)
			}
			owed, err := c.Cost.Add(c.Capped)
			require.NoError(t, err)
			require.True(t, owed.Equal(want.Round(ensemble.RoundHalfAwayFromZero)), "%s: fixed cost %s + capped %s, want %s", l.ID, c.Cost, c.Capped, want)
		}
	}
	c, err := ratios.Cmp(l.Net)
	require.NoError(t, err)
	require.LessOrEqual(t, c, 0, "%s: ratio costs %s above the net %s", l.ID, ratios, l.Net)
	// Every cost together never exceeds the net; a cost is capped only
	// when the costs would have, and then they come to exactly the net.
	c, err = all.Cmp(l.Net)
	require.NoError(t, err)
	require.LessOrEqual(t, c, 0, "%s: costs %s above the net %s", l.ID, all, l.Net)
	if capped {
		require.True(t, all.Equal(l.Net), "%s: capped costs come to %s, not the net %s", l.ID, all, l.Net)
	}
	for _, c := range l.CostsNotApplied {
		listed[c.Supplier]++
		require.True(t, c.Cost.IsZero())
	}
	for _, comp := range o.Components {
		applies := comp.Cost.AppliesTo.Includes(l.Charge, typ, !comp.Cost.Fixed.IsZero())
		inNot := slices.ContainsFunc(l.CostsNotApplied, func(c catalog.SupplierCost) bool { return c.Supplier == comp.Supplier })
		require.Equal(t, !applies, inNot, "%s: component %s applies %v", l.ID, comp.Supplier, applies)
		require.LessOrEqual(t, listed[comp.Supplier], 1, "%s: %s listed twice", l.ID, comp.Supplier)
		if !applies {
			require.Equal(t, 1, listed[comp.Supplier])
		}
	}
	// An independent model of the default: a one-time fee carries no cost
	// unless the scope is all or names it.
	if typ == catalog.OneTime {
		for _, sc := range l.SupplierCosts {
			require.True(t, sc.AppliesTo.Scope == catalog.CostAll || slices.Contains(sc.AppliesTo.Charges, l.Charge), "%s: %s on a one-time fee with scope %s", l.ID, sc.Supplier, sc.AppliesTo)
		}
	}
}

// dealYAML is a bundle at EUR 40.00 a seat a month whose compute supplier
// is owed 30% of what a line charges and whose GPU and storage suppliers are
// owed a fixed EUR 10.00 and EUR 5.00 a seat.
const dealYAML = `
offers:
  - {id: compute, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z}
  - {id: gpu, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z}
  - {id: storage, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z}
  - id: deal
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "40.00"}}
    components:
      - {offer: compute, supplier: computeco, cost: {ratio: "30%"}}
      - {offer: gpu, supplier: gpuco, cost: {fixed: "10.00", shortfall: supplier}}
      - {offer: storage, supplier: storageco, cost: {fixed: "5.00", shortfall: supplier}}
`

// TestSupplierCostsCappedAtTheNet: a ratio cost is a share of what the line
// charged, after every discount, and a line's costs never exceed its net.
// Two seats bill EUR 80.00:
//   - no discount: 30% of 80.00 = 24.00, fixed 20.00 and 10.00: 54.00, no
//     cap;
//   - 90% off (net 8.00): 30% of 8.00 = 2.40; the fixed 20.00 and 10.00
//     share the 5.60 left, 2 to 1: 3.7333 and 1.8666, floors 3.73 and 1.86,
//     the cent to the larger remainder (storage): 3.73 and 1.87, with 16.27
//     and 8.13 not carried;
//   - a fixed EUR 75.00 off the invoice (net 5.00): 1.50, then 2.33 and 1.17
//     of the 3.50 left.
//
// Without the cap the costs would come to 32.40 of a net of 8.00, and
// settlement would refuse the line.
func TestSupplierCostsCappedAtTheNet(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(dealYAML))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	cases := []struct {
		name     string
		discount invoice.Discount
		net      string
		costs    []string // supplier cost (capped)
		why      string
	}{
		{"no discount", invoice.Discount{}, "80.00", []string{"computeco 24.00 (0)", "gpuco 20.00 (0)", "storageco 10.00 (0)"},
			"  supplier gpuco (gpu): fixed EUR 10.00 a unit × 2 = EUR 20.00 (applies to recurring charges, the default)\n"},
		{"90% off", invoice.Discount{ID: "deal", Percent: ensemble.MustRatio("90%")}, "8.00", []string{"computeco 2.40 (0)", "gpuco 3.73 (16.27)", "storageco 1.87 (8.13)"},
			"  supplier gpuco (gpu): fixed EUR 10.00 a unit × 2 = EUR 20.00, capped at EUR 3.73, what the line's net leaves after ratio costs (EUR 16.27 not carried by the line: shortfall supplier) (applies to recurring charges, the default)\n"},
		{"75.00 off", invoice.Discount{ID: "deal", Amount: dec("75.00")}, "5.00", []string{"computeco 1.50 (0)", "gpuco 2.33 (17.67)", "storageco 1.17 (8.83)"},
			"  supplier computeco (compute): 30% of the net EUR 5.00 = EUR 1.50 (applies to recurring and usage charges, the default)\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("deal", 1), "2")))
			if tc.discount.ID != "" {
				s.Discounts = []invoice.Discount{tc.discount}
			}
			inv := build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s)
			require.Len(t, inv.Lines, 1)
			l := inv.Lines[0]
			require.Equal(t, tc.net, l.Net.AmountString())
			var got []string
			total := money("0")
			for _, c := range l.SupplierCosts {
				got = append(got, c.Supplier+" "+c.Cost.AmountString()+" ("+c.Capped.AmountString()+")")
				total, err = total.Add(c.Cost)
				require.NoError(t, err)
			}
			require.Equal(t, tc.costs, got)
			c, err := total.Cmp(l.Net)
			require.NoError(t, err)
			require.LessOrEqual(t, c, 0, "costs %s never exceed the net %s", total, l.Net)
			require.Contains(t, invoice.Explain(l), tc.why)
			roundTrip(t, inv)
		})
	}
}

// A ratio cost on a line a prepaid commitment covered is a share of the
// consumption, and the trace says so: EUR 25.00 of a EUR 40.00 seat is
// covered, 15.00 billed; 30% of 40.00 = 12.00.
func TestSupplierCostsOnACoveredLine(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(dealYAML))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("deal", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "c", Amount: dec("25"), Start: date(2026, 3, 1), End: date(2027, 3, 1), Charges: []catalog.ChargeID{"seats"}}}
	inv := build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s)
	var l invoice.Line
	for _, x := range inv.Lines {
		if x.Charge == "seats" {
			l = x
		}
	}
	require.Equal(t, "15.00", l.Net.AmountString())
	require.Contains(t, invoice.Explain(l),
		"  supplier computeco (compute): 30% of EUR 40.00 charged (the net EUR 15.00 and EUR 25.00 covered by prepaid commitment c) = EUR 12.00 (applies to recurring and usage charges, the default)\n")
}

// TestFixedCostPerLine: a supplier owed USD 250.00 a month on a bundle
// billed per seat (EUR 100.00 a seat) with a flat EUR 500.00 platform
// charge. Owed per line (per: line), the cost is USD 250.00 on the platform
// line of a 10-seat subscription, EUR 230.00 at 0.92, and the platform
// keeps 270.00; owed per unit (the default), it is 10 × 250.00, which the
// 500.00 line cannot carry (capped at it: a new user's trial, which had no
// way to say "once a month").
func TestFixedCostPerLine(t *testing.T) {
	for _, tc := range []struct {
		per, cost, source, capped string
	}{
		{", per: line", "EUR 230.00", "USD 250.00", "0"},
		{"", "EUR 500.00", "USD 2500.00", "EUR 1800.00"},
	} {
		cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: edr, version: 1, name: EDR, kind: product, currency: USD, effective_from: 2025-01-01T00:00:00Z}
  - id: suite
    version: 1
    name: Suite
    kind: bundle
    currency: EUR
    effective_from: 2025-01-01T00:00:00Z
    charges:
      - {id: seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "100.00"}}
      - {id: platform, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "500.00"}}
    components:
      - {offer: edr, supplier: edrco, cost: {fixed: "250.00", currency: USD, applies_to: [platform], shortfall: supplier` + tc.per + `}}
`))
		require.NoError(t, err)
		jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		sub := invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "c1"}, Currency: ensemble.MustCurrency("EUR"), Anchor: jan,
			Items: []invoice.Item{{ID: "i1", Segments: []invoice.Segment{{Start: jan, Pin: catalog.Pin{Offer: "suite", Version: 1}, Quantity: decimal.NewFromInt(10)}}}}}
		b, err := invoice.NewBuilder(cat, invoice.Options{})
		require.NoError(t, err)
		rates := ensemble.ExchangeRates{{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"), Rate: ensemble.MustRatio("0.92")}}
		invs, err := b.Build(invoice.Run{At: jan, Rates: rates}, []invoice.Subscription{sub})
		require.NoError(t, err)
		var got []string
		for _, l := range invs[0].Lines {
			for _, c := range l.SupplierCosts {
				got = append(got, fmt.Sprintf("%s net %s cost %s source %s capped %s", l.Charge, l.Net, c.Cost, c.Source, c.Capped))
			}
		}
		require.Equal(t, []string{fmt.Sprintf("platform net EUR 500.00 cost %s source %s capped %s", tc.cost, tc.source, tc.capped)}, got, tc.per)
		if tc.per != "" {
			for _, l := range invs[0].Lines {
				if l.Charge == "platform" {
					require.Contains(t, invoice.Explain(l), "fixed USD 250.00 a line = USD 250.00, at 0.92 EUR per USD (rounded once) = EUR 230.00")
				}
			}
		}
	}
}
