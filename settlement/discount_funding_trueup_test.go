package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestFundedDiscountRecoupedByATrueUpIsStillBorneByItsFunder pins what the
// README says of a funded discount beside a minimum commitment (a trial's
// marketplace deal): a usage line of 624.00, 15% off funded by the vendor
// (530.40 billed), and the 1,469.60 true-up to a 2,000.00 minimum bill the
// customer 2,000.00, what no discount would have billed; the plan still adds
// the 93.60 back on the usage line and splits the true-up as billed, so the
// marketplace's 3% and the reseller's 20% are of 2,093.60 (62.81 and 418.72)
// and the vendor gets 1,518.47, not 60.00, 400.00 and 1,540.00. A contract
// under which the funder bears only what the discount took off the bill
// needs the host's adjustment (or a credit of the true-up).
func TestFundedDiscountRecoupedByATrueUpIsStillBorneByItsFunder(t *testing.T) {
	plan := `{id: p, version: 1, discount_funding: [{discount: private-offer, node: vendor}], root: {id: root, children: [
		{id: listing, party: platform, share: "3%"},
		{id: reseller, party: seller, share: "20%"},
		{id: vendor, party: "partner:distri-eu", share: remaining}]}}`
	s := planSettler(t, plan, loadNetwork(t))
	usage := chainLine("U1", "530.40", "2026-02-01")
	usage.Kind = "usage"
	usage.Route = partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}
	usage.Discounts = []settlement.Discount{{ID: "private-offer", Amount: eur("93.60")}}
	trueUp := chainLine("T1", "1469.60", "2026-02-01")
	trueUp.Kind = "commitment_true_up"
	trueUp.Route = usage.Route
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{usage, trueUp})
	require.NoError(t, err)
	got := byParty(res.Entries, settlement.KindEarning)
	for party, want := range map[partner.ID]string{"platform": "62.81", "sub-utrecht": "418.72", "distri-eu": "1518.47"} {
		require.True(t, got[party].Equal(eur(want)), "%s: %s, want %s", party, got[party], want)
	}
}
