package catalog_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// TestDecimalSpellings: an amount in a catalog has one spelling, plain
// decimal text; null (which would make a price free), exponents and a bare
// point are refused at their path.
func TestDecimalSpellings(t *testing.T) {
	js, err := ensemble.YAMLToJSON([]byte(exampleYAML))
	require.NoError(t, err)
	valid := string(js)
	require.Contains(t, valid, `"unit_amount":"0.10"`)
	for _, spelling := range []string{`null`, `"3e1"`, `3e1`, `".5"`, `"30."`, `true`} {
		t.Run(spelling, func(t *testing.T) {
			_, err := catalog.Load([]byte(strings.Replace(valid, `"unit_amount":"0.10"`, `"unit_amount":`+spelling, 1)))
			var de *ensemble.DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, "offers[0].charges[0].price.tiers[0].unit_amount", de.Path)
		})
	}
}
