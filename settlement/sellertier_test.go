package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestDistributorShareBySellerTier: the distributor earns 8% of deals its
// gold resellers sell and 6% of the others' (a new user's trial could not
// write it: partner.tier on the distributor's node reads the distributor's
// own tier). reseller-nl is silver until 2026-02-01 and gold from then on,
// so of two EUR 1,000.00 sales either side of the date distri-eu earns
// 60.00 and then 80.00; within a call and across calls, whatever the
// settler caches.
func TestDistributorShareBySellerTier(t *testing.T) {
	const plan = `
id: channel
version: 1
root:
  id: root
  children:
    - {id: distributor, party: distributor, share: {rule: distributor-by-seller-tier}}
    - {id: rest, party: platform, share: remaining}
`
	const rule = `
- id: distributor-by-seller-tier
  version: 1
  kind: share
  env_version: 1
  expression: 'route.seller_tier == "gold" ? percent(8) : percent(6)'
`
	s := planSettler(t, plan, loadNetwork(t), rule)
	sale := func(id, day string) settlement.Line {
		l := chainLine(id, "1000.00", day)
		l.Route = partner.Route{Kind: partner.RoutePartner, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl", "distri-eu"}}
		return l
	}
	distributor := func(entries []settlement.Entry) []string {
		var out []string
		for _, e := range entries {
			if e.Party == "distri-eu" {
				out = append(out, string(e.Line)+" "+e.Amount.AmountString())
			}
		}
		return out
	}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{sale("L1", "2026-01-15"), sale("L2", "2026-02-15"), sale("L3", "2026-01-20")})
	require.NoError(t, err)
	require.Equal(t, []string{"L1 60.00", "L3 60.00", "L2 80.00"}, distributor(res.Entries))
	for _, l := range []settlement.Line{sale("L4", "2026-01-25"), sale("L5", "2026-03-01")} { // one line a call, on the cached settler
		r, err := s.Settle(ctx, res.State, []settlement.Line{l})
		require.NoError(t, err)
		want := map[settlement.LineID]string{"L4": "L4 60.00", "L5": "L5 80.00"}[l.ID]
		require.Equal(t, []string{want}, distributor(r.Entries))
	}
}
