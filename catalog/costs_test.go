package catalog_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// cloudSuite is the issue's bundle: a EUR 500.00 one-time onboarding fee and
// a EUR 249.99 monthly charge, with the compute supplier's 55% written with
// the applies_to of the case (empty: the default).
func cloudSuite(t *testing.T, appliesTo string) *catalog.Catalog {
	t.Helper()
	if appliesTo != "" {
		appliesTo = ", applies_to: " + appliesTo
	}
	c, err := catalog.LoadYAML([]byte(`
offers:
  - {id: compute, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - {id: install, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: cloud-suite
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: onboarding, type: one_time, price: {model: flat, amount: "500.00"}}
      - {id: monthly, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "249.99"}}
    components:
      - {offer: compute, supplier: computeco, cost: {ratio: "55%"` + appliesTo + `}}
`))
	require.NoError(t, err)
	return c
}

// costsOf lists "supplier cost" for the costs that apply and "supplier -"
// for those that do not, then "margin m".
func costsOf(c catalog.Costs) []string {
	var out []string
	for _, sc := range c.Costs {
		out = append(out, sc.Supplier+" "+sc.Cost.AmountString())
	}
	for _, sc := range c.NotApplied {
		out = append(out, sc.Supplier+" -")
	}
	return append(out, "margin "+c.Margin.AmountString())
}

// TestSupplierCostsPerCharge: the issue's case. A ratio cost applies by
// default to recurring and usage charges only, so a one-time onboarding fee
// pays the supplier nothing; applies_to: all takes the fee in; a list names
// the charges exactly.
//
// Figures: 55% of 500.00 = 275.00 exactly. 55% of 249.99 = 137.4945 and the
// margin's 45% = 112.4955: floors 137.49 + 112.49 = 249.98, and the cent
// left goes to the larger remainder (0.55 of a cent, the margin's), so the
// supplier gets 137.49 and the margin 112.50.
func TestSupplierCostsPerCharge(t *testing.T) {
	tests := []struct {
		name, appliesTo        string
		onboarding, monthly    []string
		onboardingScope, scope string
	}{
		{"default: recurring and usage only", "",
			[]string{"computeco -", "margin 500.00"}, []string{"computeco 137.49", "margin 112.50"}, "recurring", "recurring"},
		{"recurring said explicitly", "recurring",
			[]string{"computeco -", "margin 500.00"}, []string{"computeco 137.49", "margin 112.50"}, "recurring", "recurring"},
		{"all: the fee carries it too", "all",
			[]string{"computeco 275.00", "margin 225.00"}, []string{"computeco 137.49", "margin 112.50"}, "all", "all"},
		{"named: the fee only", "[onboarding]",
			[]string{"computeco 275.00", "margin 225.00"}, []string{"computeco -", "margin 249.99"}, "[onboarding]", "[onboarding]"},
		{"named: both", "[onboarding, monthly]",
			[]string{"computeco 275.00", "margin 225.00"}, []string{"computeco 137.49", "margin 112.50"}, "[monthly onboarding]", "[monthly onboarding]"},
	}
	pin := catalog.Pin{Offer: "cloud-suite", Version: 1}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cloudSuite(t, tc.appliesTo)
			fee, err := c.SupplierCosts(pin, "onboarding", money("500.00", "EUR"), dec("1"), catalog.CostOptions{})
			require.NoError(t, err)
			require.Equal(t, tc.onboarding, costsOf(fee))
			month, err := c.SupplierCosts(pin, "monthly", money("249.99", "EUR"), dec("1"), catalog.CostOptions{})
			require.NoError(t, err)
			require.Equal(t, tc.monthly, costsOf(month))
			for _, sc := range append(append(fee.Costs, fee.NotApplied...), append(month.Costs, month.NotApplied...)...) {
				require.Equal(t, tc.scope, sc.AppliesTo.String(), "the line records the scope that decided")
				require.True(t, sc.Ratio.Equal(ensemble.MustRatio("55%")))
			}
		})
	}
}

// TestSupplierCostsMixedBundle: a ratio cost on the service and a fixed
// installation cost on the fee. The installer is owed EUR 150.00 a site
// once, on the onboarding line of 3 sites (450.00 of 1,500.00); the compute
// supplier 55% of the monthly line only (3 × 249.99 = 749.97: 412.4835 →
// 412.48, margin 337.4865 → 337.49).
func TestSupplierCostsMixedBundle(t *testing.T) {
	c, err := catalog.LoadYAML([]byte(`
offers:
  - {id: compute, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - {id: install, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: cloud-suite
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: onboarding, type: one_time, price: {model: per_unit, amount: "500.00"}}
      - {id: monthly, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "249.99"}}
      - {id: egress, type: usage, meter: gb, price: {model: per_unit, amount: "0.05"}}
    components:
      - {offer: compute, supplier: computeco, cost: {ratio: "55%"}}
      - {offer: install, supplier: fitters, cost: {fixed: "150.00", applies_to: [onboarding]}}
`))
	require.NoError(t, err)
	pin := catalog.Pin{Offer: "cloud-suite", Version: 1}
	tests := []struct {
		charge catalog.ChargeID
		retail string
		qty    string
		want   []string
	}{
		{"onboarding", "1500.00", "3", []string{"fitters 450.00", "computeco -", "margin 1050.00"}},
		{"monthly", "749.97", "3", []string{"computeco 412.48", "fitters -", "margin 337.49"}},
		// Usage: the ratio applies (default scope); the fixed cost never does, whatever the usage quantity.
		{"egress", "61.75", "1235", []string{"computeco 33.96", "fitters -", "margin 27.79"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.charge), func(t *testing.T) {
			got, err := c.SupplierCosts(pin, tc.charge, money(tc.retail, "EUR"), dec(tc.qty), catalog.CostOptions{})
			require.NoError(t, err)
			require.Equal(t, tc.want, costsOf(got))
		})
	}
}

// TestSupplierCostsProratedFixed: a fixed cost on a prorated recurring line
// is fixed × quantity × fraction, rounded once: 3.00 × 2 per bundle × 2
// bundles × 16/31 = 12.00 × 16/31 = 6.193548... → 6.19.
func TestSupplierCostsProratedFixed(t *testing.T) {
	c := mustStore(t)
	f := ensemble.MustRatio("16/31")
	got, err := c.SupplierCosts(catalog.Pin{Offer: "suite", Version: 1}, "licence", money("25.81", "EUR"), dec("2"), catalog.CostOptions{Fraction: &f})
	require.NoError(t, err)
	// cloudco: 40% of 25.81 = 10.324 → 10.32.
	require.Equal(t, []string{"cloudco 10.32", "vaultco 6.19", "margin 9.30"}, costsOf(got))
}

// TestSupplierCostsCurrency: a fixed cost in USD on a EUR bundle is
// converted at the host's rate, once, with both amounts and the rate kept.
func TestSupplierCostsCurrency(t *testing.T) {
	c, err := catalog.LoadYAML([]byte(`
offers:
  - {id: gpu, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - {id: tokens, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: ai-suite
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "40.00"}}
    components:
      - {offer: gpu, supplier: gpuco, cost: {fixed: "12.35", currency: USD}}
      - {offer: tokens, supplier: tokenco, quantity: 3, cost: {fixed: "1000", currency: JPY}}
`))
	require.NoError(t, err)
	pin := catalog.Pin{Offer: "ai-suite", Version: 1}
	usd, eur, jpy := ensemble.MustCurrency("USD"), ensemble.MustCurrency("EUR"), ensemble.MustCurrency("JPY")
	rates := catalog.Rates{
		{From: usd, To: eur, Rate: ensemble.MustRatio("0.9234")},
		{From: jpy, To: eur, Rate: ensemble.MustRatio("0.0061")},
		{From: eur, To: usd, Rate: ensemble.MustRatio("1.0829")}, // the other way: never used for USD → EUR
	}
	f := ensemble.MustRatio("16/31")
	tests := []struct {
		name     string
		fraction *ensemble.Ratio
		gpu      [2]string // source, cost
		tokens   [2]string
		margin   string
	}{
		// gpuco: 12.35 × 2 = USD 24.70; × 0.9234 = 22.80798 → EUR 22.81.
		// tokenco: 1000 × 3 × 2 = JPY 6000; × 0.0061 = 36.60 → EUR 36.60.
		// margin: 80.00 - 22.81 - 36.60 = 20.59.
		{"whole cycle", nil, [2]string{"USD 24.70", "EUR 22.81"}, [2]string{"JPY 6000", "EUR 36.60"}, "EUR 20.59"},
		// Prorated 16/31, rounded once in the supplier's currency, then
		// converted once: USD 24.70 × 16/31 = 12.748... → USD 12.75;
		// × 0.9234 = 11.77335 → EUR 11.77. JPY 6000 × 16/31 = 3096.77 →
		// JPY 3097; × 0.0061 = 18.8917 → EUR 18.89. Margin 41.29 - 11.77 -
		// 18.89 = 10.63.
		{"prorated", &f, [2]string{"USD 12.75", "EUR 11.77"}, [2]string{"JPY 3097", "EUR 18.89"}, "EUR 10.63"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			retail := money("80.00", "EUR")
			if tc.fraction != nil {
				retail = money("41.29", "EUR")
			}
			got, err := c.SupplierCosts(pin, "seats", retail, dec("2"), catalog.CostOptions{Fraction: tc.fraction, Rates: rates})
			require.NoError(t, err)
			require.Len(t, got.Costs, 2)
			gpu, tokens := got.Costs[0], got.Costs[1]
			require.Equal(t, [2]string{gpu.Source.String(), gpu.Cost.String()}, tc.gpu)
			require.True(t, gpu.Rate.Equal(ensemble.MustRatio("0.9234")))
			require.Equal(t, "USD 12.35", gpu.Fixed.String())
			require.Equal(t, [2]string{tokens.Source.String(), tokens.Cost.String()}, tc.tokens)
			require.Equal(t, "JPY 3000", tokens.Fixed.String(), "1000 × component quantity 3")
			require.Equal(t, tc.margin, got.Margin.String())

			b, err := json.Marshal(got)
			require.NoError(t, err)
			require.Contains(t, string(b), `"source":{"amount":"`)
			require.Contains(t, string(b), `"rate":"0.9234"`)
			var back catalog.Costs
			require.NoError(t, json.Unmarshal(b, &back))
			requireEqual(t, back, got)
		})
	}

	t.Run("missing rate names the pair", func(t *testing.T) {
		got, err := c.SupplierCosts(pin, "seats", money("80.00", "EUR"), dec("2"), catalog.CostOptions{Rates: rates[:1]})
		var re *catalog.RateError
		require.ErrorAs(t, err, &re)
		require.ErrorIs(t, err, catalog.ErrNoRate)
		require.Equal(t, jpy, re.From)
		require.Equal(t, eur, re.To)
		require.Equal(t, "tokens/tokenco", re.Component)
		require.Equal(t, `catalog: offer "ai-suite"@1 component "tokens/tokenco": no exchange rate from JPY to EUR`, err.Error())
		require.Nil(t, got.Costs)
	})
	for _, tc := range []struct {
		name  string
		rates catalog.Rates
		msg   string
	}{
		{"rate given twice", append(rates, catalog.Rate{From: usd, To: eur, Rate: ensemble.MustRatio("0.92")}),
			`catalog: offer "ai-suite"@1 component "gpu/gpuco": invalid exchange rate from USD to EUR: given twice`},
		{"zero rate", catalog.Rates{{From: usd, To: eur}, rates[1]},
			`catalog: offer "ai-suite"@1 component "gpu/gpuco": invalid exchange rate from USD to EUR: 0 is not above zero`},
		{"negative rate", catalog.Rates{{From: usd, To: eur, Rate: ensemble.MustRatio("-0.9")}, rates[1]},
			`catalog: offer "ai-suite"@1 component "gpu/gpuco": invalid exchange rate from USD to EUR: -0.9 is not above zero`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.SupplierCosts(pin, "seats", money("80.00", "EUR"), dec("2"), catalog.CostOptions{Rates: tc.rates})
			var re *catalog.RateError
			require.ErrorAs(t, err, &re)
			require.ErrorIs(t, err, catalog.ErrRate)
			require.Equal(t, tc.msg, err.Error())
		})
	}
	require.ErrorIs(t, catalog.Rate{From: eur, To: eur, Rate: ensemble.MustRatio("1")}.Check(), catalog.ErrRate)
	require.ErrorIs(t, catalog.Rate{To: eur, Rate: ensemble.MustRatio("1")}.Check(), catalog.ErrRate)
}

// TestCostScopeValidation: every mistake in a component's scope or
// currency is reported at once, each naming the bundle, the component and
// the charge at its path.
func TestCostScopeValidation(t *testing.T) {
	_, err := catalog.LoadYAML([]byte(`
offers:
  - {id: compute, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: suite
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: onboarding, type: one_time, price: {model: flat, amount: "500.00"}}
      - {id: monthly, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "249.99"}}
      - {id: calls, type: usage, meter: calls, price: {model: per_unit, amount: "0.01"}}
    components:
      - {offer: compute, supplier: a, cost: {ratio: "5%", applies_to: [onbording]}}
      - {offer: compute, supplier: b, cost: {fixed: "3.00", applies_to: [monthly, calls]}}
      - {offer: compute, supplier: c, cost: {ratio: "10%", currency: USD}}
      - {offer: compute, supplier: d, cost: {fixed: "1.00", currency: XXQ}}
      - {offer: compute, supplier: e, cost: {ratio: "50%", applies_to: all}}
      - {offer: compute, supplier: f, cost: {ratio: "60%", applies_to: [onboarding, onboarding]}}
      - {offer: compute, supplier: g, cost: {ratio: "1%", applies_to: []}}
`))
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.Path+": "+p.Err.Error())
	}
	require.Equal(t, []string{
		`offers[1].components[0].cost.applies_to[0]: catalog: offer "suite"@1 component "compute/a" charge "onbording": applies_to names a charge the bundle lacks: "onbording"`,
		`offers[1].components[1].cost.applies_to[1]: catalog: offer "suite"@1 component "compute/b" charge "calls": field not allowed here: "a fixed cost is owed per bundle unit; a usage charge bills none"`,
		`offers[1].components[2].cost.currency: catalog: offer "suite"@1 component "compute/c": field not allowed here: "a ratio cost has no currency: USD"`,
		`offers[1].components[3].cost.currency: catalog: offer "suite"@1 component "compute/d": unknown currency: "XXQ"`,
		`offers[1].components[5].cost.applies_to[1]: catalog: offer "suite"@1 component "compute/f" charge "onboarding": duplicate: "onboarding"`,
		`offers[1].components[6].cost.applies_to: catalog: offer "suite"@1 component "compute/g": required: "no charge named"`,
		`offers[1].components: catalog: offer "suite"@1 charge "onboarding": component ratios exceed the retail amount: "1.1"`,
	}, got)
	var oe *catalog.OfferError
	require.ErrorAs(t, ve.Problems[0], &oe)
	require.ErrorIs(t, oe, catalog.ErrUnknownCharge)
	require.Equal(t, catalog.OfferID("suite"), oe.Offer)
	require.Equal(t, "compute/a", oe.Component)
	require.Equal(t, catalog.ChargeID("onbording"), oe.Charge)
}

// TestAppliesToJSON: applies_to reads a scope name or a list of charge ids,
// writes them back the same way, and refuses anything else at its path.
func TestAppliesToJSON(t *testing.T) {
	for _, tc := range []struct {
		text string
		want catalog.AppliesTo
	}{
		{`"recurring"`, catalog.AppliesTo{}},
		{`"all"`, catalog.AppliesTo{Scope: catalog.CostAll}},
		{`["monthly","onboarding"]`, catalog.AppliesTo{Scope: catalog.CostCharges, Charges: []catalog.ChargeID{"monthly", "onboarding"}}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			var got catalog.AppliesTo
			require.NoError(t, json.Unmarshal([]byte(tc.text), &got))
			requireEqual(t, got, tc.want)
			b, err := json.Marshal(got)
			require.NoError(t, err)
			require.Equal(t, tc.text, string(b))
		})
	}
	b, err := json.Marshal(catalog.WholesaleCost{Ratio: ensemble.MustRatio("55%")})
	require.NoError(t, err)
	require.Equal(t, `{"ratio":"0.55"}`, string(b), "the default scope is not written")
	_, err = json.Marshal(catalog.AppliesTo{Scope: 9})
	require.ErrorIs(t, err, ensemble.ErrUnknownEnum)

	doc := func(appliesTo string) []byte {
		return []byte(`{"offers":[{"id":"compute","version":1,"currency":"EUR","effective_from":"2026-01-01T00:00:00Z"},` +
			`{"id":"suite","version":1,"kind":"bundle","currency":"EUR","effective_from":"2026-01-01T00:00:00Z",` +
			`"charges":[{"id":"monthly","type":"recurring","cadence":{"unit":"monthly"},"timing":"in_advance","price":{"model":"flat","amount":"10"}}],` +
			`"components":[{"offer":"compute","supplier":"a","cost":{"ratio":"55%","applies_to":` + appliesTo + `}}]}]}`)
	}
	for _, bad := range []string{`"sometimes"`, `3`, `null`, `{"all":true}`, `[1]`} {
		t.Run(bad, func(t *testing.T) {
			_, err := catalog.Load(doc(bad))
			var de *ensemble.DecodeError
			require.ErrorAs(t, err, &de, "%v", err)
		})
	}
	_, err = catalog.Load(doc(`"sometimes"`))
	var de *ensemble.DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, "offers[1].components[0].cost.applies_to", de.Path)
	require.ErrorIs(t, err, ensemble.ErrUnknownEnum)

	// A catalog's document round-trips with its scopes, charges sorted.
	c, err := catalog.Load(doc(`["monthly"]`))
	require.NoError(t, err)
	js, err := json.Marshal(c.Document())
	require.NoError(t, err)
	require.True(t, strings.Contains(string(js), `"applies_to":["monthly"]`), "%s", js)
	back, err := catalog.Load(js)
	require.NoError(t, err)
	requireEqual(t, back.Document(), c.Document())
}

// ExampleAppliesTo shows the three ways to write a scope.
func ExampleAppliesTo() {
	for _, text := range []string{`"recurring"`, `"all"`, `["onboarding", "monthly"]`} {
		var a catalog.AppliesTo
		if err := json.Unmarshal([]byte(text), &a); err != nil {
			panic(err)
		}
		fmt.Println(a.Scope, a, a.Includes("onboarding", catalog.OneTime, false))
	}
	// Output:
	// recurring recurring false
	// all all true
	// charges [onboarding monthly] true
}

// TestFixedCostOnSeveralRecurringChargesNamesThem: a fixed cost is owed
// per bundle unit per cycle, so on a bundle with two recurring charges,
// left to the default (or "recurring", or "all") it would be owed on both,
// paying the supplier twice: it is refused (ErrAmbiguousCost) naming the
// charges, until it names the one that counts the units (from a new
// user's trial, whose EUR 8.00 a seat became EUR 16.00). A ratio cost,
// a share of each line, is not refused.
func TestFixedCostOnSeveralRecurringChargesNamesThem(t *testing.T) {
	doc := func(cost string) string {
		return `
offers:
  - {id: backup, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: connect
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: line, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "35.00"}}
      - {id: seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "12.00"}}
      - {id: install, type: one_time, price: {model: flat, amount: "250.00"}}
    components:
      - {offer: backup, supplier: backupco, cost: ` + cost + `}
`
	}
	for _, cost := range []string{`{fixed: "8.00"}`, `{fixed: "8.00", applies_to: recurring}`, `{fixed: "8.00", applies_to: all}`} {
		_, err := catalog.LoadYAML([]byte(doc(cost)))
		require.ErrorIs(t, err, catalog.ErrAmbiguousCost, cost)
		require.ErrorContains(t, err, `offers[1].components[0].cost.applies_to: catalog: offer "connect"@1 component "backup/backupco": `+
			`a fixed cost on several recurring charges must name those it applies to: "line, seats"`)
	}
	for _, cost := range []string{`{fixed: "8.00", applies_to: [seats]}`, `{fixed: "8.00", applies_to: [line, seats]}`, `{ratio: "20%"}`} {
		_, err := catalog.LoadYAML([]byte(doc(cost)))
		require.NoError(t, err, cost)
	}
}

// TestFixedCostPer: a fixed cost owed per line is owed once whatever the
// line's quantity (prorated like the line); per unit, the default, once per
// bundle unit. A ratio cost has no per, and an unknown per is refused at
// its path.
func TestFixedCostPer(t *testing.T) {
	load := func(cost string) (*catalog.Catalog, error) {
		return catalog.LoadYAML([]byte(`
offers:
  - {id: edr, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: suite
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: monthly, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "500.00"}}
    components:
      - {offer: edr, supplier: edrco, quantity: "2", cost: ` + cost + `}
`))
	}
	half := ensemble.MustRatio("1/2")
	for cost, want := range map[string]string{
		`{fixed: "30.00", per: line}`: "EUR 60.00 EUR 30.00", // 30.00 × component quantity 2, once; half a cycle: 30.00
		`{fixed: "30.00", per: unit}`: "EUR 600.00 EUR 300.00",
		`{fixed: "30.00"}`:            "EUR 600.00 EUR 300.00", // × 10 bundles
	} {
		c, err := load(cost)
		require.NoError(t, err, cost)
		var got []string
		for _, f := range []*ensemble.Ratio{nil, &half} {
			costs, err := c.SupplierCosts(catalog.Pin{Offer: "suite", Version: 1}, "monthly", ensemble.MustMoney("500.00", "EUR"),
				decimal.NewFromInt(10), catalog.CostOptions{Fraction: f})
			require.NoError(t, err, cost)
			got = append(got, costs.Costs[0].Cost.String())
		}
		require.Equal(t, want, strings.Join(got, " "), cost)
	}
	_, err := load(`{ratio: "10%", per: line}`)
	require.ErrorIs(t, err, catalog.ErrFieldNotAllowed)
	require.ErrorContains(t, err, "offers[1].components[0].cost.per")
	_, err = load(`{fixed: "1.00", per: seat}`)
	var de *ensemble.DecodeError
	require.ErrorAs(t, err, &de)
	require.ErrorContains(t, err, `offers[1].components[0].cost.per: catalog: unknown cost per "seat"`)
}
