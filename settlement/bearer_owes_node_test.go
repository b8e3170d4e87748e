package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestNodeBearerLeavesAPartBelowZeroOut: reseller-nl owes beyond its part
// of L1 (a 175.00 credit it bears with bearer_owes), then a 500.00 credit
// borne by the channel node: the channel's parts that have something give
// it back between them, and reseller-nl, below zero, neither gets back a
// share of it nor counts against what the channel has. Before, the node's
// split included the negative part: reseller-nl got +86.96 back of a
// credit it was not to bear, the other two paid for it, and 600.00 borne
// by the channel was refused as more than it had though its other parts
// held 675.00.
func TestNodeBearerLeavesAPartBelowZeroOut(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-04")})
	require.NoError(t, err)
	c1, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-175.00", "2026-03-10", settlement.Bearer{Party: "reseller-nl", Shortfall: settlement.ShortfallBearerOwes})})
	require.NoError(t, err)
	before, _ := c1.State.Line("L1")
	var channel int64 // what the channel's parts above zero have
	for _, p := range before.Parts {
		if p.Party == "reseller-nl" {
			require.True(t, p.Unreversed.IsNegative(), "reseller-nl owes: %s", p.Unreversed)
		} else if p.Party == "distri-eu" || p.Party == "sub-utrecht" {
			channel += minorOf(p.Unreversed)
		}
	}
	for _, amt := range []string{"-500.00", "-600.00"} {
		c2, err := s.Settle(ctx, c1.State, []settlement.Line{bearerCredit("C2", amt, "2026-03-12", settlement.Bearer{Node: "root/channel"})})
		if minorOf(eur(amt[1:])) > channel {
			require.ErrorIs(t, err, settlement.ErrBearerShortfall, amt)
			continue
		}
		require.NoError(t, err, amt)
		var sum int64
		for _, e := range c2.Entries {
			if e.Kind != settlement.KindClawback {
				continue
			}
			require.NotEqual(t, "reseller-nl", string(e.Party), "%s: %s %s", amt, e.ID, e.Amount)
			require.True(t, e.Party == "distri-eu" || e.Party == "sub-utrecht", "%s: %s", amt, e.ID)
			sum += minorOf(e.Amount)
		}
		require.Equal(t, minorOf(eur(amt)), sum, amt)
	}
}
