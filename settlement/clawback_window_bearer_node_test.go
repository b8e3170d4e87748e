package settlement_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A clawback window borne by a node the plan does not have (node "root"
// of a plan whose root is "n", a mistyped path) could bear no part of any
// line: every credit, lost dispute or write-off after the window would be
// refused, a write-off of a credit netted on an invoice inside a Collect
// included (seeds of TestPropertyReferenceSettler, where the reference
// settler panicked "node root bears no part of line "L011" (its parts:
// n/nr)"). New refuses the plan, naming the path and the node, wrapping
// ErrBearerNotOnLine; a node of the plan, or a supplier cost's, is taken.
func TestClawbackWindowBearerNodeNotInPlan(t *testing.T) {
	plan := func(root, bearer string) string {
		return `
id: program
version: 1
currencies: [EUR]
root:
  id: ` + root + `
  children:
    - {id: tier, party: seller, share: "15%", clawback: {within_days: 30, borne_by: {node: ` + bearer + `}}}
    - {id: platform, party: platform, share: remaining}
`
	}
	for _, c := range []struct{ root, bearer, bad string }{
		{"n", "root", "root"},
		{"n", "root/platform", "root/platform"},
		{"root", "root/platfrom", "root/platfrom"},
		{"n", "n", ""},
		{"n", "n/platform", ""},
		{"n", "supplier_costs", ""},
		{"n", "supplier_costs/gpu", ""},
	} {
		plans, err := settlement.ParsePlans([]byte(plan(c.root, c.bearer)))
		require.NoError(t, err)
		_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)})
		if c.bad == "" {
			require.NoError(t, err, c.bearer)
			continue
		}
		var ve *ensemble.ValidationError
		require.True(t, errors.As(err, &ve), "%v", err)
		require.ErrorIs(t, err, settlement.ErrBearerNotOnLine)
		require.ErrorContains(t, err, "plans[0].root.children[0].clawback.borne_by.node")
		require.ErrorContains(t, err, `node "`+c.bad+`" is no node of the plan (its root is "`+c.root+`")`)
	}
}
