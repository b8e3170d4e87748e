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

	// A seller without a chain is a seller without parents.
	flat := both
	flat.Route.Chain = []partner.ID{"reseller-de"}
	flat.Route.Seller = "reseller-de"
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
