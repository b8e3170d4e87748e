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
	doc := strings.Replace(exampleYAML, "currency: EUR", "currency: gems:0", 1)
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

	for _, code := range []string{"GEMS", "XAU", "DEM"} {
		_, err := catalog.LoadYAML([]byte(strings.Replace(exampleYAML, "currency: EUR", "currency: "+code, 1)))
		require.ErrorIs(t, err, catalog.ErrUnknownCurrency, code)
		require.ErrorContains(t, err, "offers[0].currency", code)
	}
}
