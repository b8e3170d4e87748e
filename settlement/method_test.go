package settlement_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPlanAllocationMethod settles one line through the same nested plan
// under each allocation method a plan can select, worked by hand. EUR 0.13:
//
//	root: platform 50%, channel remaining -> exact 6.5 and 6.5 units
//	channel: seller remaining (declared first), distributor 25%, reseller 25%
//
// largest_remainder: the root's tie goes to the smaller key, channel (7);
// channel 7 is exact 3.5, 1.75, 1.75, floors 3, 1, 1, and the two leftover
// units go to the largest remainders, distributor and reseller.
// numscript_order: the root's leftover goes to platform, declared first (7);
// channel 6 is exact 3, 1.5, 1.5, floors 3, 1, 1, and the leftover unit goes
// to seller, declared first though its share was already whole.
// first_in_order: platform (7) as in Numscript, but under channel the unit
// skips seller's whole share and goes to distributor.
func TestPlanAllocationMethod(t *testing.T) {
	const plan = `
id: nested
version: 1
method: METHOD
routes: [partner]
root:
  id: root
  children:
    - {id: platform, party: platform, share: "50%"}
    - id: channel
      share: remaining
      children:
        - {id: seller, party: seller, share: remaining}
        - {id: distributor, party: distributor, share: "25%"}
        - {id: reseller, party: reseller, share: "25%"}
`
	tests := []struct {
		method string
		want   map[string]string // node -> amount
	}{
		{"largest_remainder", map[string]string{"platform": "0.06", "seller": "0.03", "distributor": "0.02", "reseller": "0.02"}},
		{"numscript_order", map[string]string{"platform": "0.07", "seller": "0.04", "distributor": "0.01", "reseller": "0.01"}},
		{"first_in_order", map[string]string{"platform": "0.07", "seller": "0.03", "distributor": "0.02", "reseller": "0.01"}},
	}
	net, err := partner.LoadNetwork([]byte(exampleNetwork))
	require.NoError(t, err)
	env, err := settlement.Env()
	require.NoError(t, err)
	rs, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: []byte(exampleRules)})
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			plans, err := settlement.ParsePlans([]byte(strings.Replace(plan, "METHOD", tt.method, 1)))
			require.NoError(t, err)
			s, err := settlement.New(settlement.Config{Plans: plans, Rules: rs, Network: net})
			require.NoError(t, err)
			res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "0.13")})
			require.NoError(t, err)
			got := map[string]string{}
			for _, e := range res.Entries {
				got[e.Node[strings.LastIndexByte(e.Node, '/')+1:]] = e.Amount.AmountString()
			}
			require.Equal(t, tt.want, got)
		})
	}
	_, err = settlement.ParsePlans([]byte(strings.Replace(plan, "METHOD", "numscript", 1)))
	var pe *ensemble.ParseError
	require.ErrorAs(t, err, &pe, "an unknown method is refused by name")
}
