package settlement_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
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
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			s := planSettler(t, strings.Replace(plan, "METHOD", tt.method, 1), loadNetwork(t))
			res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{exampleLine("L1", "0.13")})
			require.NoError(t, err)
			got := map[string]string{}
			for _, e := range res.Entries {
				got[e.Node[strings.LastIndexByte(e.Node, '/')+1:]] = e.Amount.AmountString()
			}
			require.Equal(t, tt.want, got)
		})
	}
	_, err := settlement.ParsePlans([]byte(strings.Replace(plan, "METHOD", "numscript", 1)))
	var pe *ensemble.ParseError
	require.ErrorAs(t, err, &pe, "an unknown method is refused by name")
}

// TestDeclaredUnitSettles settles a line in a unit the host declared (gems,
// no minor digits) through a nested plan, folds the entries into
// statements, and carries the state through JSON: declared units go
// wherever Money goes.
func TestDeclaredUnitSettles(t *testing.T) {
	const plan = `
id: gems
version: 1
routes: [partner]
root:
  id: root
  children:
    - {id: platform, party: platform, share: "30%"}
    - id: channel
      share: remaining
      children:
        - {id: distributor, party: distributor, share: "1/3"}
        - {id: seller, party: seller, share: remaining}
`
	units := ensemble.MustUnits(ensemble.Unit{Code: "GEMS", Digits: 0})
	s := planSettler(t, plan, loadNetwork(t))

	line := exampleLine("G1", "0")
	var err error
	line.Amount, err = units.NewMoney("1001", "GEMS")
	require.NoError(t, err)
	line.Tax, err = units.NewMoney("0", "GEMS")
	require.NoError(t, err)
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{line})
	require.NoError(t, err)
	got := map[string]string{}
	for _, e := range res.Entries {
		got[e.Node[strings.LastIndexByte(e.Node, '/')+1:]] = e.Amount.String()
	}
	// 1001 × 30% = 300.3 -> 300; channel 701 by 1/3 and 2/3 = 233.67 and 467.33 -> 234 and 467.
	require.Equal(t, map[string]string{"platform": "GEMS 300", "distributor": "GEMS 234", "seller": "GEMS 467"}, got)

	sts, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: ensemble.MustPeriod(line.Date, line.Date.AddDate(0, 1, 0))})
	require.NoError(t, err)
	require.NotEmpty(t, sts)
	for _, st := range sts {
		require.Equal(t, "GEMS:0", st.Currency.Key())
	}

	// The state reads back from JSON and a full credit then nets to zero.
	js, err := json.Marshal(res.State)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(js, &back))
	credit := line
	credit.ID = "G1-credit"
	credit.Credits = "G1"
	credit.Amount, credit.Tax = line.Amount.Neg(), line.Tax
	res2, err := s.Settle(context.Background(), back, []settlement.Line{credit})
	require.NoError(t, err)
	total := ensemble.Money{}
	for _, e := range append(res.Entries, res2.Entries...) {
		total, err = total.Add(e.Amount)
		require.NoError(t, err)
	}
	require.True(t, total.IsZero(), "a full credit nets to zero, got %s", total)
}
