package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A route names its seller as Seller and as its chain's first partner; a
// line filled by hand may give either, and settles the same.
func TestRouteSellerGivenEitherWay(t *testing.T) {
	s := newSettler(t)
	both := chainLine("L1", "1000.00", "2026-03-10")
	want, err := s.Settle(ctx, settlement.State{}, []settlement.Line{both})
	require.NoError(t, err)
	require.Equal(t, partner.ID("sub-utrecht"), want.Entries[0].Seller)

	chainOnly := both
	chainOnly.Route.Seller = ""
	got, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainOnly})
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(want.Entries, got.Entries, cmpOpts...), "a chain without a seller names chain[0] the seller")
	requireSameState(t, want.State, got.State)
	require.Empty(t, chainOnly.Route.Seller, "the caller's line is left alone")

	// A seller without a chain is a seller without parents, when the
	// network gives it none at the line's date.
	flat := both
	flat.Route.Chain = []partner.ID{"distri-eu"}
	flat.Route.Seller = "distri-eu"
	want, err = s.Settle(ctx, settlement.State{}, []settlement.Line{flat})
	require.NoError(t, err)
	sellerOnly := flat
	sellerOnly.Route.Chain = nil
	got, err = s.Settle(ctx, settlement.State{}, []settlement.Line{sellerOnly})
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(want.Entries, got.Entries, cmpOpts...))
	requireSameState(t, want.State, got.State)
	require.Nil(t, sellerOnly.Route.Chain, "the caller's line is left alone")
}

// Hole: a line naming a seller without its chain settled as if the seller
// had no parents, though the network gave it some: the parents' nodes
// paid nothing and their part went to the next nodes, with no error (a
// new user's co-sell trial paid the co-sellers the distributor's and the
// reseller's 255.87). Such a line is refused, naming the chain the
// network gives; the chain the sale was made under, or the seller alone,
// settles as given.
func TestRouteSellerWithoutItsChainRefused(t *testing.T) {
	s := newSettler(t)
	l := chainLine("L1", "1000.00", "2026-03-10")
	l.Route.Chain = nil
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	requireInvalidAt(t, err, "L1", "route.chain")
	require.ErrorContains(t, err, `seller "sub-utrecht" without its chain`)
	require.ErrorContains(t, err, "chain sub-utrecht > reseller-nl > distri-eu")

	l.Route.Chain = []partner.ID{"sub-utrecht"} // sold without its parents: the host says so
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
}

func TestRouteSellerMustBeTheChainsFirst(t *testing.T) {
	l := chainLine("L1", "1000.00", "2026-03-10")
	l.Route.Seller = "reseller-nl"
	_, err := newSettler(t).Settle(ctx, settlement.State{}, []settlement.Line{l})
	requireInvalidAt(t, err, "L1", "route.seller")
	require.ErrorIs(t, err, partner.ErrInvalidRoute)
}

func requireSameState(t *testing.T, want, got settlement.State) {
	t.Helper()
	w, err := json.Marshal(want)
	require.NoError(t, err)
	g, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, string(w), string(g))
}
