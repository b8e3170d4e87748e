package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A plan for lines in a declared unit (Chile's Unidad de Fomento, CLF, a
// fund code the catalog declares with four digits) is read without a
// registry, so it names the unit with its digits, "CLF:4". Written as the
// bare "CLF", the error says that form rather than only "declare it as a
// unit", which a plan document cannot do; written as "CLF:4", the plan
// settles a CLF line.
func TestParsePlansDeclaredUnitSaysCodeDigits(t *testing.T) {
	_, err := settlement.ParsePlans([]byte(`
id: uf
version: 1
currencies: [CLF]
root: {id: sale, children: [{id: platform, party: platform, share: remaining}]}
`))
	require.ErrorIs(t, err, ensemble.ErrUndeclaredUnit)
	require.Contains(t, err.Error(), `currencies[0]`)
	require.Contains(t, err.Error(), `"CLF:DIGITS"`)

	plans, err := settlement.ParsePlans([]byte(`
id: uf
version: 1
currencies: ["CLF:4"]
root: {id: sale, children: [{id: platform, party: platform, share: remaining}]}
`))
	require.NoError(t, err)
	require.Len(t, plans, 1)
}
