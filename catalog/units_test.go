package catalog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// TestDeclaredUnitPrices: an offer priced in a declared unit (written with
// its digits, "GEMS:0") rates in that unit, exactly as in an ISO currency;
// a bare code the document does not declare, or a non-tender ISO code, is
// refused by name.
func TestDeclaredUnitPrices(t *testing.T) {
	doc := "units: [{code: GEMS, digits: 0}]\n" + strings.Replace(exampleYAML, "currency: EUR", "currency: gems", 1)
	doc = strings.NewReplacer(`"0.10"`, `"2"`, `"0.08"`, `"1"`, `"0.05"`, `"0.5"`, `flat_amount: "5"`, `flat_amount: "50"`).Replace(doc)
	cat, err := catalog.LoadYAML([]byte(doc))
	require.NoError(t, err)
	pin, err := cat.PinAt("storage", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	cur, err := cat.Currency(pin)
	require.NoError(t, err)
	require.Equal(t, "GEMS:0", cur.Key())
	rater, err := cat.Rater(pin, "gb-month")
	require.NoError(t, err)
	rating, err := rater.Rate(decimal.RequireFromString("1500"), catalog.RateOptions{})
	require.NoError(t, err)
	// 100 × 2 + 50, 900 × 1, 500 × 0.5 + 10 = 250 + 900 + 260
	require.Equal(t, "GEMS 1410", rating.Amount.String())
	units := ensemble.MustUnits(ensemble.Unit{Code: "GEMS", Digits: 0})
	require.NoError(t, units.Check(rating.Amount.Currency()), "the host's registry recognises the catalog's unit")

	// The catalog's document keeps its declaration, and reloads the same.
	again, err := catalog.New(cat.Document())
	require.NoError(t, err)
	require.Equal(t, cat.Document().Units, again.Document().Units)

	for _, tt := range []struct{ units, code string }{
		{"", "GEMS"},   // not declared
		{"", "GEMS:0"}, // written with digits, still not declared
		{"units: [{code: GEMS, digits: 0}]\n", "GEM"},    // a typo
		{"units: [{code: GEMS, digits: 0}]\n", "GEMS:2"}, // digits differ from the declaration
		{"", "XAU"}, // not legal tender
		{"", "DEM"}, // withdrawn
	} {
		_, err := catalog.LoadYAML([]byte(tt.units + strings.Replace(exampleYAML, "currency: EUR", "currency: "+tt.code, 1)))
		require.ErrorIs(t, err, catalog.ErrUnknownCurrency, tt.code)
		require.ErrorContains(t, err, "offers[0].currency", tt.code)
	}
	_, err = catalog.LoadYAML([]byte("units: [{code: EUR, digits: 3}, {code: GEMS, digits: 19}]\n" + exampleYAML))
	require.ErrorContains(t, err, "units[0].code")
	require.ErrorContains(t, err, "units[1].digits")
}
