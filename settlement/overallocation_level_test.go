package settlement_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestOverAllocatedLevelNamesTheLevelAndWhatItsChildrenTake: the affiliate
// trial pays a flat EUR 100.00 bounty on a new customer's first line on top
// of a 20% commission (rule commission-rate), the platform taking the rest.
// A first line of EUR 120.00 (4 seats) cannot carry 100.00 + 24.00 and is
// refused, rightly, but the error named node "line/platform" and rule
// "commission-rate@1", the first rule among the children, which had nothing
// to do with the fixed amount, and did not say what the children took. It now
// names the level whose children take more than it has ("line"), no rule,
// and lists each child's amount and the rule that decided it.
func TestOverAllocatedLevelNamesTheLevelAndWhatItsChildrenTake(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(affiliateNetwork))
	require.NoError(t, err)
	env, err := settlement.Env()
	require.NoError(t, err)
	rs, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: []byte(`
- id: commission-rate
  version: 1
  kind: share
  env_version: 1
  expression: 'partner.tier == "gold" ? percent(30) : partner.tier == "silver" ? percent(25) : percent(20)'
`)})
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(`
id: affiliate
version: 1
currencies: [EUR]
root:
  id: line
  children:
    - {id: bounty, party: seller, share: {amount: {amount: "100.00", currency: EUR}}}
    - {id: commission, party: seller, share: {rule: commission-rate}}
    - {id: platform, party: platform, share: remaining}
`))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Rules: rs, Network: net})
	require.NoError(t, err)
	sale := func(net string) settlement.Line {
		return settlement.Line{ID: "L-small", Date: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Amount: ensemble.MustMoney(net, "EUR"),
			Tax: ensemble.MustMoney("0.00", "EUR"), Offer: catalog.Pin{Offer: "seats-std", Version: 1},
			Route: partner.Route{Kind: partner.RoutePartner, Seller: "aff-001"}}
	}
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale("120.00")})
	require.Error(t, err, "paid %v", res.Entries)
	require.True(t, errors.Is(err, settlement.ErrOverAllocation), err.Error())
	var le *settlement.LineError
	require.True(t, errors.As(err, &le), err.Error())
	require.Equal(t, settlement.LineID("L-small"), le.Line)
	require.Equal(t, "affiliate", le.Plan)
	require.Equal(t, "line", le.Node, err.Error())
	require.Empty(t, le.Rule, err.Error())
	for _, want := range []string{"bounty EUR 100.00", "commission EUR 24.00 (rule commission-rate@1)", "EUR 124.00", "EUR 4.00 more than", "EUR 120.00", `"platform"`} {
		require.ErrorContains(t, err, want)
	}

	// A line that carries both settles as before: 100.00 + 60.00, the platform 140.00.
	res, err = s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale("300.00")})
	require.NoError(t, err)
	got := map[string]string{}
	for _, e := range res.Entries {
		got[e.Node] = e.Amount.AmountString()
	}
	require.Equal(t, map[string]string{"line/bounty": "100.00", "line/commission": "60.00", "line/platform": "140.00"}, got)
}
