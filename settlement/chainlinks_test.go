package settlement_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// channelNetwork is a distributor, a reseller under it, a sub-reseller
// under that, and a referral partner, with no parent_types: the types of
// its hierarchy are the ones its terms give.
const channelNetwork = `
partners:
  - {id: distri-eu, name: EuroDistri, type: distributor, terms: [{from: 2025-01-01T00:00:00Z, tier: gold}]}
  - {id: reseller-nl, name: Lowlands IT, type: reseller, terms: [{from: 2025-01-01T00:00:00Z, tier: silver, parent: distri-eu}]}
  - {id: reseller-be, name: Flanders IT, type: reseller, terms: [{from: 2025-01-01T00:00:00Z, parent: distri-eu}]}
  - {id: sub-utrecht, name: Utrecht Shop, type: sub_reseller, terms: [{from: 2025-01-01T00:00:00Z, parent: reseller-nl}]}
  - {id: referral-ams, name: Amsterdam Advisors, type: referral, terms: [{from: 2025-01-01T00:00:00Z}]}
`

// channelPlan pays every level of a chain by type.
const channelPlan = `
id: channel
version: 1
routes: [partner]
root:
  id: root
  children:
    - {id: platform, party: platform, share: "20%"}
    - {id: distributor, party: distributor, share: "6%"}
    - {id: reseller, party: reseller, share: "10%"}
    - {id: seller, party: seller, share: remaining}
`

// TestRouteChainTheNetworksTypesCannotForm: a hand-filled chain may differ
// from the network at the line's date (it is captured when the sale is
// made, and partners move), but a link the network's partner types cannot
// form is refused, ErrInvalidLine at route.chain[i] wrapping a
// *partner.ParentTypeError (a hostile test: [sub-utrecht, referral-ams]
// paid the distributor's and the reseller's shares to the seller without a
// word). The types are the network's parent_types where it declares them,
// else those its terms give; a network that gives no partner a parent
// checks nothing it does not declare.
func TestRouteChainTheNetworksTypesCannotForm(t *testing.T) {
	load := func(t *testing.T, doc string) *partner.Network {
		net, err := partner.LoadNetwork([]byte(doc))
		require.NoError(t, err)
		return net
	}
	settle := func(t *testing.T, net *partner.Network, chain ...partner.ID) (settlement.Result, error) {
		s := planSettler(t, channelPlan, net)
		l := chainLine("L1", "1000.00", "2026-03-01")
		l.Route = partner.Route{Kind: partner.RoutePartner, Chain: chain}
		return s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	}
	refused := func(t *testing.T, err error, level int, want string, observed bool) {
		t.Helper()
		require.ErrorIs(t, err, settlement.ErrInvalidLine)
		require.ErrorIs(t, err, partner.ErrParentType)
		requireProblemAt(t, err, "route.chain["+string(rune('0'+level))+"]", want)
		var pe *partner.ParentTypeError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, observed, pe.Observed)
		var le *settlement.LineError
		require.ErrorAs(t, err, &le)
		require.Equal(t, settlement.LineID("L1"), le.Line)
	}
	terms := load(t, channelNetwork)
	declared := loadNetwork(t) // parent_types: reseller: [distributor], sub_reseller: [reseller, distributor]

	t.Run("a referral partner as the seller's parent", func(t *testing.T) {
		_, err := settle(t, terms, "sub-utrecht", "referral-ams")
		refused(t, err, 1, `a sub_reseller's parent is one of [reseller] in the network's terms (parent_types does not list sub_reseller), "referral-ams" is a referral`, true)
		_, err = settle(t, declared, "sub-utrecht", "referral-ams")
		refused(t, err, 1, `a sub_reseller's parent must be one of [reseller distributor], "referral-ams" is a referral`, false)
	})
	// A type whose partners the network gives no parent is not checked
	// unless declared: their parents may be kept on the routes alone (a
	// review: a network keeping sub-resellers' parents outside it refused
	// every sub-reseller's chain). Declared at the top, it is.
	t.Run("a distributor under a reseller", func(t *testing.T) {
		_, err := settle(t, terms, "distri-eu", "reseller-nl")
		require.NoError(t, err)
		top := load(t, channelNetwork+"parent_types: {distributor: []}\n")
		_, err = settle(t, top, "distri-eu", "reseller-nl")
		refused(t, err, 1, `a distributor's parent must be one of [], "reseller-nl" is a reseller`, false)
	})
	t.Run("every bad link is named", func(t *testing.T) {
		top := load(t, channelNetwork+"parent_types: {distributor: []}\n")
		_, err := settle(t, top, "sub-utrecht", "distri-eu", "reseller-nl")
		refused(t, err, 1, `"distri-eu" is a distributor`, true)
		requireProblemAt(t, err, "route.chain[2]", `a distributor's parent must be one of [], "reseller-nl" is a reseller`)
	})
	t.Run("a type whose parents the network does not keep", func(t *testing.T) {
		mixed := load(t, strings.Replace(channelNetwork, ", parent: reseller-nl", "", 1))
		_, err := settle(t, mixed, "sub-utrecht", "reseller-nl", "distri-eu")
		require.NoError(t, err)
	})

	// A chain the types form settles as given, though the network never
	// put sub-utrecht under reseller-be: captured when the sale was made,
	// it pays the reseller that sold it then.
	t.Run("another parent of the same type", func(t *testing.T) {
		res, err := settle(t, terms, "sub-utrecht", "reseller-be", "distri-eu")
		require.NoError(t, err)
		paid := byParty(res.Entries, settlement.KindEarning)
		require.Equal(t, "100.00", paid["reseller-be"].AmountString())
		require.Equal(t, "60.00", paid["distri-eu"].AmountString())
		require.NotContains(t, paid, partner.ID("reseller-nl"))
	})
	// A network that gives no partner a parent holds no hierarchy to check
	// a chain against (its routes are the hierarchy): only its declared
	// types are.
	t.Run("a network without a hierarchy", func(t *testing.T) {
		flat := load(t, strings.ReplaceAll(strings.ReplaceAll(channelNetwork, ", parent: distri-eu", ""), ", parent: reseller-nl", ""))
		_, err := settle(t, flat, "sub-utrecht", "referral-ams")
		require.NoError(t, err)
		declaredFlat := load(t, strings.ReplaceAll(strings.ReplaceAll(channelNetwork, ", parent: distri-eu", ""), ", parent: reseller-nl", "")+
			"parent_types: {sub_reseller: [reseller]}\n")
		_, err = settle(t, declaredFlat, "sub-utrecht", "referral-ams")
		require.True(t, errors.Is(err, partner.ErrParentType), "%v", err)
	})
}
