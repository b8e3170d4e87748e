package catalog_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// An offer version with no currency was reported as an unknown currency
// (ErrUnknownCurrency, not ErrRequired), so a new user looked for a
// misspelt code where there was none. No currency is ErrRequired; a code
// neither ISO 4217 nor declared stays ErrUnknownCurrency.
func TestOfferWithoutCurrencyIsRequiredNotUnknown(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		want, not  error
		says       string
	}{
		{"absent", "", catalog.ErrRequired, catalog.ErrUnknownCurrency, `offers[0].currency: catalog: offer "storage"@1: required`},
		{"unknown", "    currency: EURO\n", catalog.ErrUnknownCurrency, catalog.ErrRequired, `offers[0].currency: catalog: offer "storage"@1: unknown currency: "EURO"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalog.LoadYAML([]byte(strings.Replace(exampleYAML, "    currency: EUR\n", tt.line, 1)))
			require.ErrorIs(t, err, tt.want)
			require.NotErrorIs(t, err, tt.not)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1)
			require.Equal(t, tt.says, ve.Problems[0].Error())
		})
	}
}
