package catalog_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// Catalog ids follow the library's one id grammar (ensemble.CheckID): an id
// holding a separator settlement joins payout entry ids on (':' or '#') is
// refused when the catalog loads, with the field and the character, rather
// than loading and failing when a line of it is settled.
func TestIDsRefuseEntrySeparators(t *testing.T) {
	doc := func() catalog.Document {
		base := catalog.Offer{ID: "p", Version: 1, Currency: "EUR", EffectiveFrom: day("2026-01-01")}
		bundle := catalog.Offer{ID: "b", Version: 1, Kind: catalog.Bundle, Currency: "EUR", EffectiveFrom: day("2026-01-01"),
			Charges: []catalog.Charge{{ID: "plan", Type: catalog.Recurring, Cadence: ensemble.Every(1, ensemble.Monthly), Timing: catalog.InAdvance,
				Price: catalog.Price{Model: catalog.Flat, Amount: dec("10")}}},
			Components: []catalog.Component{{Offer: "p", Supplier: "zeta", Cost: catalog.WholesaleCost{Ratio: ensemble.MustRatio("1/3")}}}}
		return catalog.Document{Offers: []catalog.Offer{bundle, base}}
	}
	_, err := catalog.New(doc())
	require.NoError(t, err)
	cases := []struct {
		name, path, sep string
		edit            func(d *catalog.Document)
	}{
		{"supplier with '#'", "offers[0].components[0].supplier", "#", func(d *catalog.Document) { d.Offers[0].Components[0].Supplier = "zeta#eu" }},
		{"supplier with ':'", "offers[0].components[0].supplier", ":", func(d *catalog.Document) { d.Offers[0].Components[0].Supplier = "zeta:eu" }},
		{"offer with ':'", "offers[1].id", ":", func(d *catalog.Document) {
			d.Offers[1].ID = "p:1"
			d.Offers[0].Components[0].Offer = "p:1"
		}},
		{"charge with '#'", "offers[0].charges[0].id", "#", func(d *catalog.Document) { d.Offers[0].Charges[0].ID = "plan#2" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := doc()
			tc.edit(&d)
			_, err := catalog.New(d)
			require.ErrorIs(t, err, catalog.ErrInvalidID)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			found := false
			for _, p := range ve.Problems {
				var ie *ensemble.IDError
				if p.Path == tc.path && errors.As(p, &ie) {
					require.Equal(t, tc.sep, ie.Separator)
					found = true
				}
			}
			require.True(t, found, "no *ensemble.IDError at %s in %v", tc.path, err)
		})
	}
}
