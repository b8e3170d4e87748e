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
	"github.com/ensemble-commerce/ensemble/settlement"
)

// The contractor trial's network: the firm is the platform, under its own
// id, beside a contractor it pays.
const platformPartyNetwork = `
partners:
  - {id: itfirm, name: Northbridge IT, type: platform, terms: [{from: 2025-01-01T00:00:00Z}]}
  - {id: anna, name: Anna Kowalski, type: contractor, terms: [{from: 2025-06-01T00:00:00Z}]}
`

const platformPartyPlan = `
id: managed
version: 1
root:
  id: line
  children:
    - {id: lead, party: seller, share: "5%"}
    - {id: firm, party: platform, share: remaining}
`

// TestNewRefusesAPlatformTheNetworkDoesNotHold: the contractor trial named
// its firm "itfirm" (type platform) in the network and built the settler
// without Config.Platform, which README never mentions. Every share of the
// firm was paid to a party "platform" the network does not hold (EUR
// 7,600.00 of an 8,000.00 retainer), without a word, and the host's payout
// loop, skipping "itfirm", paid the firm's own revenue out as if it were a
// partner's. New now refuses it with ErrPlatformParty naming the network's
// platform; with Config.Platform set to it, the firm's share is itfirm's.
func TestNewRefusesAPlatformTheNetworkDoesNotHold(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(platformPartyNetwork))
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(platformPartyPlan))
	require.NoError(t, err)

	_, err = settlement.New(settlement.Config{Plans: plans, Network: net})
	require.Error(t, err, "a settler paying the platform's shares to \"platform\", which the network does not hold")
	require.ErrorIs(t, err, settlement.ErrPlatformParty)
	var ve *ensemble.ValidationError
	require.True(t, errors.As(err, &ve))
	require.Equal(t, "platform", ve.Problems[0].Path)
	require.Contains(t, err.Error(), `"itfirm"`)
	require.Contains(t, err.Error(), "Config.Platform")

	s, err := settlement.New(settlement.Config{Plans: plans, Network: net, Platform: "itfirm"})
	require.NoError(t, err)
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{{
		ID: "L1", Date: at, Offer: catalog.Pin{Offer: "managed-eur", Version: 1}, Amount: ensemble.MustMoney("8000.00", "EUR"),
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "anna"},
	}})
	require.NoError(t, err)
	got := map[partner.ID]ensemble.Money{}
	for _, e := range res.Entries {
		got[e.Party] = e.Amount
	}
	require.Len(t, got, 2)
	require.True(t, got["itfirm"].Equal(ensemble.MustMoney("7600.00", "EUR")), "firm: %s", got["itfirm"])
	require.True(t, got["anna"].Equal(ensemble.MustMoney("400.00", "EUR")), "lead: %s", got["anna"])
}

// TestNewRefusesAPlatformIDOfAnotherPartner: a partner of the network
// whose id is the platform's but of another type would be paid every
// share of the platform on top of its own.
func TestNewRefusesAPlatformIDOfAnotherPartner(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(`
partners:
  - {id: platform, name: A reseller called Platform, type: reseller, terms: [{from: 2025-01-01T00:00:00Z}]}
  - {id: anna, name: Anna Kowalski, type: contractor, terms: [{from: 2025-06-01T00:00:00Z}]}
`))
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(platformPartyPlan))
	require.NoError(t, err)
	_, err = settlement.New(settlement.Config{Plans: plans, Network: net})
	require.ErrorIs(t, err, settlement.ErrPlatformParty)
	require.Contains(t, err.Error(), `of type "reseller"`)
}

// TestNewAcceptsANetworkWithoutAPlatform: the platform need not be a
// partner of the network; a network holding none is not checked, and one
// whose platform is the default id is accepted as before.
func TestNewAcceptsANetworkWithoutAPlatform(t *testing.T) {
	plans, err := settlement.ParsePlans([]byte(platformPartyPlan))
	require.NoError(t, err)
	for _, doc := range []string{`
partners:
  - {id: anna, name: Anna Kowalski, type: contractor, terms: [{from: 2025-06-01T00:00:00Z}]}
`, `
partners:
  - {id: platform, name: The firm, type: platform, terms: [{from: 2025-01-01T00:00:00Z}]}
  - {id: anna, name: Anna Kowalski, type: contractor, terms: [{from: 2025-06-01T00:00:00Z}]}
`} {
		net, err := partner.LoadNetwork([]byte(doc))
		require.NoError(t, err)
		_, err = settlement.New(settlement.Config{Plans: plans, Network: net})
		require.NoError(t, err)
	}
}
