package catalog_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// priceBookYAML prices one offer in EUR, JPY and BHD: a seat at EUR 100.00,
// JPY 16,000 and BHD 38.500, and API calls on tiers of each currency's
// own (JPY's first 500 calls are free). A bundle owes its supplier a fixed
// cost given in each currency.
const priceBookYAML = `
offers:
  - id: saas
    version: 1
    currency: EUR
    currencies: [JPY, BHD]
    effective_from: 2026-01-01T00:00:00Z
    quantity: whole
    charges:
      - id: seat
        type: recurring
        cadence: {unit: monthly}
        timing: in_advance
        price: {model: per_unit, amount: "100.00"}
        prices:
          JPY: {amount: "16000"}
          BHD: {amount: "38.500"}
      - id: api
        type: usage
        meter: api-calls
        price: {model: graduated, tiers: [{up_to: "1000", unit_amount: "0.05"}, {unit_amount: "0.04"}]}
        prices:
          JPY: {tiers: [{up_to: "500", unit_amount: "0"}, {up_to: "5000", unit_amount: "8"}, {unit_amount: "6", flat_amount: "1000"}]}
          BHD: {model: graduated, tiers: [{up_to: "1000", unit_amount: "0.019"}, {unit_amount: "0.015"}]}
  - id: suite
    version: 1
    kind: bundle
    currency: EUR
    currencies: [JPY]
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: seat
        type: recurring
        cadence: {unit: monthly}
        timing: in_advance
        price: {model: per_unit, amount: "50.00"}
        prices: {JPY: {amount: "8000"}}
    components:
      - {offer: saas, supplier: vendor, cost: {fixed: "10.00", fixed_in: {JPY: "1500"}}}
`

func priceBook(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.LoadYAML([]byte(priceBookYAML))
	require.NoError(t, err)
	return c
}

// TestPriceBookRatesEachCurrencyAsWritten: an offer priced in EUR, JPY and
// BHD rates a seat at each currency's own amount, in its own minor units
// (16,000 yen, 38.500 dinars), never converted; the JPY tiers are JPY's
// own; Rater keeps rating in the offer's Currency.
func TestPriceBookRatesEachCurrencyAsWritten(t *testing.T) {
	c := priceBook(t)
	pin := catalog.Pin{Offer: "saas", Version: 1}
	curs, err := c.Currencies(pin)
	require.NoError(t, err)
	require.Equal(t, []ensemble.Currency{ensemble.MustCurrency("EUR"), ensemble.MustCurrency("BHD"), ensemble.MustCurrency("JPY")}, curs)

	for _, tc := range []struct {
		cur, charge, qty, want string
	}{
		{"EUR", "seat", "3", "300.00"},
		{"JPY", "seat", "3", "48000"},
		{"BHD", "seat", "3", "115.500"},
		{"EUR", "api", "6000", "250.00"}, // 1000 × 0.05 + 5000 × 0.04
		{"JPY", "api", "6000", "43000"},  // 500 free, 4500 × 8, 1000 × 6 + 1000 flat
		{"BHD", "api", "6000", "94.000"}, // 1000 × 0.019 + 5000 × 0.015
		{"JPY", "api", "501", "8"},       // one call past the free 500; the open tier (and its flat) not reached
		{"BHD", "api", "1", "0.019"},
	} {
		cur := ensemble.MustCurrency(tc.cur)
		r, err := c.RaterIn(pin, catalog.ChargeID(tc.charge), cur)
		require.NoError(t, err)
		require.Equal(t, cur, r.Currency())
		got, err := r.Amount(dec(tc.qty), catalog.RateOptions{})
		require.NoError(t, err)
		require.True(t, got.Equal(ensemble.MustMoney(tc.want, tc.cur)), "%s %s × %s: %s, want %s", tc.cur, tc.charge, tc.qty, got, tc.want)
		require.Equal(t, pin.PriceRef(catalog.ChargeID(tc.charge)), r.Ref())
	}
	r, err := c.Rater(pin, "seat")
	require.NoError(t, err)
	require.Equal(t, "EUR", r.Currency().Code(), "Rater rates in the offer's Currency")

	// The model left out of a further price is the charge's, and the
	// document says so once loaded.
	ch, err := c.Charge(pin, "api")
	require.NoError(t, err)
	require.Equal(t, catalog.Graduated, ch.Prices["JPY"].Model)
	require.Len(t, ch.Prices["JPY"].Tiers, 3)
}

// TestPriceBookCurrencyNotPricedIsTyped: a currency the offer does not
// price (USD) is a *CurrencyError wrapping ErrCurrency that names the offer
// and the currencies it has, from PricedIn, RaterIn and SupplierCosts.
func TestPriceBookCurrencyNotPricedIsTyped(t *testing.T) {
	c := priceBook(t)
	pin := catalog.Pin{Offer: "saas", Version: 1}
	_, err := c.PricedIn(pin, "USD")
	var ce *catalog.CurrencyError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, catalog.ErrCurrency)
	require.Equal(t, catalog.OfferID("saas"), ce.Offer)
	require.Equal(t, []string{"EUR", "BHD", "JPY"}, ce.Currencies)
	require.EqualError(t, err, `catalog: offer "saas"@1 is not priced in USD: its currencies are EUR, BHD, JPY`)

	for _, code := range []string{"EUR", "JPY", "BHD"} {
		cur, err := c.PricedIn(pin, code)
		require.NoError(t, err)
		require.Equal(t, code, cur.Code())
	}
	_, err = c.PricedIn(pin, "XXQ")
	require.ErrorAs(t, err, &ce, "a code that names no currency is not priced either")

	_, err = c.RaterIn(pin, "seat", ensemble.MustCurrency("USD"))
	require.ErrorAs(t, err, &ce)
	_, err = c.SupplierCosts(catalog.Pin{Offer: "suite", Version: 1}, "seat", ensemble.MustMoney("100.00", "USD"), dec("1"), catalog.CostOptions{})
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, catalog.ErrCurrency)

	// An offer in one currency has one: Currencies and PricedIn say so.
	one, err := catalog.LoadYAML([]byte(wholeYAML))
	require.NoError(t, err)
	curs, err := one.Currencies(catalog.Pin{Offer: "sites", Version: 1})
	require.NoError(t, err)
	require.Equal(t, []ensemble.Currency{ensemble.MustCurrency("PLN")}, curs)
	_, err = one.PricedIn(catalog.Pin{Offer: "sites", Version: 1}, "EUR")
	require.ErrorAs(t, err, &ce)
	require.Equal(t, []string{"PLN"}, ce.Currencies)
}

// TestPriceBookBundleFixedCostInEachCurrency: a bundle line in JPY owes the
// supplier the fixed cost written in JPY (1,500 yen a unit), not a
// conversion of EUR 10.00; in EUR it owes EUR 10.00.
func TestPriceBookBundleFixedCostInEachCurrency(t *testing.T) {
	c := priceBook(t)
	pin := catalog.Pin{Offer: "suite", Version: 1}
	costs, err := c.SupplierCosts(pin, "seat", ensemble.MustMoney("24000", "JPY"), dec("3"), catalog.CostOptions{})
	require.NoError(t, err)
	require.Len(t, costs.Costs, 1)
	require.True(t, costs.Costs[0].Cost.Equal(ensemble.MustMoney("4500", "JPY")), "%s", costs.Costs[0].Cost)
	require.True(t, costs.Costs[0].Fixed.Equal(ensemble.MustMoney("1500", "JPY")))
	require.True(t, costs.Costs[0].Rate.IsZero(), "no conversion")
	require.True(t, costs.Margin.Equal(ensemble.MustMoney("19500", "JPY")))

	costs, err = c.SupplierCosts(pin, "seat", ensemble.MustMoney("150.00", "EUR"), dec("3"), catalog.CostOptions{})
	require.NoError(t, err)
	require.True(t, costs.Costs[0].Cost.Equal(ensemble.MustMoney("30.00", "EUR")))
}

// TestPriceBookMissingPriceRefused: a catalog whose seat charge lists no
// BHD price, though the offer lists BHD, is refused with ErrMissingPrice
// naming the offer, the charge and the currency; so is a fixed cost
// without its JPY amount. Every problem of a price book is reported at
// once, each with its path.
func TestPriceBookMissingPriceRefused(t *testing.T) {
	doc := strings.Replace(priceBookYAML, `          BHD: {amount: "38.500"}`+"\n", "", 1)
	_, err := catalog.LoadYAML([]byte(doc))
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.ErrorIs(t, err, catalog.ErrMissingPrice)
	var oe *catalog.OfferError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, catalog.OfferID("saas"), oe.Offer)
	require.Equal(t, catalog.ChargeID("seat"), oe.Charge)
	require.Equal(t, "BHD", oe.Value)
	require.Contains(t, err.Error(), `offers[0].charges[0].prices`)
	require.Contains(t, err.Error(), `offer "saas"@1 charge "seat": no price in a currency the offer lists: "BHD"`)

	// Unit amounts may carry more digits than the currency has (a BHD
	// call at 0.0195), as in the offer's Currency.
	_, err = catalog.LoadYAML([]byte(strings.Replace(priceBookYAML, `unit_amount: "0.019"`, `unit_amount: "0.0195"`, 1)))
	require.NoError(t, err)

	for _, tc := range []struct {
		name, from, to string
		cond           error
		path           string
	}{
		{"fixed cost without its JPY amount", `, fixed_in: {JPY: "1500"}`, ``, catalog.ErrMissingPrice, "offers[1].components[0].cost.fixed_in"},
		{"a price in a currency the offer does not list", `          BHD: {amount: "38.500"}`, `          BHD: {amount: "38.500"}` + "\n" + `          USD: {amount: "110"}`, catalog.ErrFieldNotAllowed, "offers[0].charges[0].prices.USD"},
		{"another model", `JPY: {amount: "16000"}`, `JPY: {model: flat, amount: "16000"}`, catalog.ErrFieldNotAllowed, "offers[0].charges[0].prices.JPY.model"},
		{"a negative amount", `BHD: {amount: "38.500"}`, `BHD: {amount: "-38.500"}`, catalog.ErrNegative, "offers[0].charges[0].prices.BHD.amount"},
		{"tiers out of order", `{up_to: "5000", unit_amount: "8"}`, `{up_to: "400", unit_amount: "8"}`, catalog.ErrTierOrder, "offers[0].charges[1].prices.JPY.tiers[1].up_to"},
		{"the offer's own currency listed again", `currencies: [JPY, BHD]`, `currencies: [JPY, BHD, EUR]`, catalog.ErrDuplicate, "offers[0].currencies[2]"},
		{"an unknown currency", `currencies: [JPY, BHD]`, `currencies: [JPY, BHD, XXQ]`, catalog.ErrUnknownCurrency, "offers[0].currencies[2]"},
		{"a currency listed twice", `currencies: [JPY, BHD]`, `currencies: [JPY, BHD, JPY]`, catalog.ErrDuplicate, "offers[0].currencies[2]"},
		{"a JPY minimum spend in fractions of a yen", `JPY: {tiers: [`, `JPY: {minimum_spend: "100.5", tiers: [`, ensemble.ErrNotMinorUnits, "offers[0].charges[1].prices.JPY.minimum_spend"},
		{"a BHD tier flat amount below the fils", `{unit_amount: "0.015"}`, `{unit_amount: "0.015", flat_amount: "1.0005"}`, ensemble.ErrNotMinorUnits, "offers[0].charges[1].prices.BHD.tiers[1].flat_amount"},
		{"fixed_in on a ratio cost", `{fixed: "10.00", fixed_in: {JPY: "1500"}}`, `{ratio: "10%", fixed_in: {JPY: "1500"}}`, catalog.ErrFieldNotAllowed, "offers[1].components[0].cost.fixed_in"},
		{"fixed_in on a cost in its own currency", `{fixed: "10.00", fixed_in: {JPY: "1500"}}`, `{fixed: "10.00", currency: USD, fixed_in: {JPY: "1500"}}`, catalog.ErrFieldNotAllowed, "offers[1].components[0].cost.fixed_in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, priceBookYAML, tc.from)
			_, err := catalog.LoadYAML([]byte(strings.Replace(priceBookYAML, tc.from, tc.to, 1)))
			require.ErrorIs(t, err, tc.cond)
			require.ErrorContains(t, err, tc.path)
		})
	}
}

// TestPriceBookDocumentRoundTrips: a price book writes back to JSON that
// loads into the same bytes (keys as currency keys, models filled in), and
// a declared unit is priced by its bare code or its key alike.
func TestPriceBookDocumentRoundTrips(t *testing.T) {
	c := priceBook(t)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.Contains(t, string(b), `"currencies":["BHD","JPY"]`)
	require.Contains(t, string(b), `"prices":{"BHD":{"model":"per_unit","amount":"38.5"},"JPY":{"model":"per_unit","amount":"16000"}}`)
	back, err := catalog.Load(b)
	require.NoError(t, err)
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.Equal(t, string(b), string(b2))

	gems := `
units: [{code: GEMS, digits: 0}]
offers:
  - id: game
    version: 1
    currency: EUR
    currencies: [GEMS]
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: pass, type: one_time, price: {model: flat, amount: "4.99"}, prices: {"GEMS:0": {amount: "500"}}}
`
	g, err := catalog.LoadYAML([]byte(gems))
	require.NoError(t, err)
	pin := catalog.Pin{Offer: "game", Version: 1}
	for _, code := range []string{"GEMS", "GEMS:0"} {
		cur, err := g.PricedIn(pin, code)
		require.NoError(t, err)
		r, err := g.RaterIn(pin, "pass", cur)
		require.NoError(t, err)
		got, err := r.Amount(dec("1"), catalog.RateOptions{})
		require.NoError(t, err)
		require.Equal(t, "500", got.Amount().String())
	}
	_, err = catalog.LoadYAML([]byte(strings.Replace(gems, `{"GEMS:0": {amount: "500"}}`, `{"GEMS:0": {amount: "500"}, GEMS: {amount: "5"}}`, 1)))
	require.ErrorIs(t, err, catalog.ErrDuplicate, "one currency written twice")
	var pe *catalog.OfferError
	require.True(t, errors.As(err, &pe))
}

// TestPriceBookEntryKeepsTheBaseBounds is review3's F10: a price in a
// further currency that leaves out a spend or transaction bound, a fixed
// fee or free units its base price sets is refused (ErrMissingBound,
// naming the offer, the charge, the currency and the field), since the
// amounts are per currency and cannot be inherited: on main a JPY entry
// {tiers: ...} under a base capped at EUR 500.00 validated and JPY
// customers were billed uncapped. Stated in the entry, it validates.
func TestPriceBookEntryKeepsTheBaseBounds(t *testing.T) {
	api := `price: {model: graduated, tiers: [{up_to: "1000", unit_amount: "0.05"}, {unit_amount: "0.04"}]}`
	jpy := `JPY: {tiers: [`
	bhd := `BHD: {model: graduated, tiers: [`
	for _, tc := range []struct{ field, base, jpy, bhd string }{
		{"maximum_spend", `maximum_spend: "500.00"`, `maximum_spend: "80000"`, `maximum_spend: "190.000"`},
		{"minimum_spend", `minimum_spend: "10.00"`, `minimum_spend: "1600"`, `minimum_spend: "3.800"`},
		{"free_units", `free_units: "100"`, `free_units: "100"`, `free_units: "50"`},
	} {
		t.Run(tc.field, func(t *testing.T) {
			doc := strings.Replace(priceBookYAML, api, strings.Replace(api, `{model: graduated,`, `{model: graduated, `+tc.base+`,`, 1), 1)
			doc = strings.Replace(doc, bhd, `BHD: {model: graduated, `+tc.bhd+`, tiers: [`, 1)
			require.NotEqual(t, priceBookYAML, doc)
			_, err := catalog.LoadYAML([]byte(doc))
			require.ErrorIs(t, err, catalog.ErrMissingBound)
			var oe *catalog.OfferError
			require.ErrorAs(t, err, &oe)
			require.Equal(t, catalog.ChargeID("api"), oe.Charge)
			require.Equal(t, "JPY", oe.Value)
			require.ErrorContains(t, err, "offers[0].charges[1].prices.JPY."+tc.field)
			require.NotContains(t, err.Error(), "prices.BHD")

			_, err = catalog.LoadYAML([]byte(strings.Replace(doc, jpy, `JPY: {`+tc.jpy+`, tiers: [`, 1)))
			require.NoError(t, err)
		})
	}

	pct := `
offers:
  - id: pay
    version: 1
    currency: EUR
    currencies: [JPY]
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: fee
        type: one_time
        price: {model: percentage, rate: 2.9%, fixed_fee: "0.30", transaction_minimum: "0.50", transaction_maximum: "20.00"}
        prices: {JPY: {rate: 3.6%, fixed_fee: "40", transaction_minimum: "80", transaction_maximum: "3000"}}
`
	_, err := catalog.LoadYAML([]byte(pct))
	require.NoError(t, err)
	for _, field := range []string{"fixed_fee", "transaction_minimum", "transaction_maximum"} {
		t.Run(field, func(t *testing.T) {
			jp := `JPY: {rate: 3.6%, fixed_fee: "40", transaction_minimum: "80", transaction_maximum: "3000"}`
			without := strings.NewReplacer(`, `+field+`: "40"`, ``, `, `+field+`: "80"`, ``, `, `+field+`: "3000"`, ``).Replace(jp)
			require.NotEqual(t, jp, without)
			_, err := catalog.LoadYAML([]byte(strings.Replace(pct, jp, without, 1)))
			require.ErrorIs(t, err, catalog.ErrMissingBound)
			require.ErrorContains(t, err, "offers[0].charges[0].prices.JPY."+field)
			require.ErrorContains(t, err, `charge "fee"`)
		})
	}
}
