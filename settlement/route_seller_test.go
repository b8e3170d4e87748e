package settlement_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// affiliateNetwork is the affiliate trial's: a two-tier affiliate program
// where an affiliate is the sale's seller and the affiliate that recruited
// it its parent (chain[1], paid an override).
const affiliateNetwork = `
parent_types:
  affiliate: [affiliate]
partners:
  - {id: platform, name: SeatSoft GmbH, type: platform, terms: [{from: 2025-01-01T00:00:00Z}]}
  - {id: aff-001, name: Affiliate 1, type: affiliate, terms: [{from: 2025-01-01T00:00:00Z, tier: bronze}]}
  - {id: aff-003, name: Affiliate 3, type: affiliate, terms: [{from: 2025-01-01T00:00:00Z, tier: gold}]}
  - {id: aff-004, name: Affiliate 4, type: affiliate, terms: [{from: 2025-01-01T00:00:00Z, tier: silver, parent: aff-003}]}
`

// TestRouteNamingAnUnknownSellerIsRefusedWhateverThePlan: the affiliate
// trial's hand-filled line named its affiliate (the seller) misspelt,
// aff-0O1 for aff-001. Under a plan paying the seller it was refused, but
// not as an invalid line, at no path and with no hint ("partner "aff-0O1":
// partner: unknown partner"); under a plan paying only the platform and the
// recruiter it settled without a word, the sale recorded as made by a
// partner that does not exist. The seller and its chain are checked as the
// route's referrer, marketplace and co-sellers are: ErrInvalidLine at
// route.seller (also when the route gives the seller only as its chain's
// first) or route.chain[i], wrapping partner.ErrUnknownPartner, with
// the nearest id, whatever the plan pays.
func TestRouteNamingAnUnknownSellerIsRefusedWhateverThePlan(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(affiliateNetwork))
	require.NoError(t, err)
	may := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, doc := range []string{`
id: pays-seller
version: 1
root:
  id: line
  children:
    - {id: commission, party: seller, share: "20%"}
    - {id: platform, party: platform, share: remaining}
`, `
id: pays-recruiter
version: 1
root:
  id: line
  children:
    - {id: override, party: "chain[1]", share: "5%"}
    - {id: platform, party: platform, share: remaining}
`, `
id: platform-only
version: 1
root: {id: line, party: platform}
`} {
		plans, err := settlement.ParsePlans([]byte(doc))
		require.NoError(t, err)
		s, err := settlement.New(settlement.Config{Plans: plans, Network: net})
		require.NoError(t, err)
		sale := func(r partner.Route) settlement.Line {
			r.Kind = partner.RoutePartner
			return settlement.Line{ID: "L1", Date: may, Amount: ensemble.MustMoney("300.00", "EUR"), Tax: ensemble.MustMoney("57.00", "EUR"),
				Offer: catalog.Pin{Offer: "seats-std", Version: 1}, Route: r}
		}
		// Cold, then warm: once the settler holds the spelt-right route
		// (which lets sales of it skip the partner look-ups), a route that
		// differs from it in one partner is still checked.
		for _, warm := range []bool{false, true} {
			if warm {
				_, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale(partner.Route{Seller: "aff-004", Chain: []partner.ID{"aff-004", "aff-003"}})})
				require.NoError(t, err)
			}
			for name, tc := range map[string]struct {
				route      partner.Route
				path, near string
			}{
				"seller":          {partner.Route{Seller: "aff-0O1"}, "route.seller", "aff-001"},
				"seller in chain": {partner.Route{Chain: []partner.ID{"aff-0O4", "aff-003"}}, "route.seller", "aff-004"},
				"recruiter":       {partner.Route{Seller: "aff-004", Chain: []partner.ID{"aff-004", "aff-0O3"}}, "route.chain[1]", "aff-003"},
			} {
				t.Run(fmt.Sprintf("%s/%s/warm=%v", plans[0].ID, name, warm), func(t *testing.T) {
					res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale(tc.route)})
					require.Error(t, err, "paid %v", res.Entries)
					require.True(t, errors.Is(err, settlement.ErrInvalidLine), err.Error())
					require.True(t, errors.Is(err, partner.ErrUnknownPartner), err.Error())
					var le *settlement.LineError
					require.True(t, errors.As(err, &le), err.Error())
					require.Equal(t, settlement.LineID("L1"), le.Line)
					require.ErrorContains(t, err, tc.path)
					require.ErrorContains(t, err, `did you mean "`+tc.near+`"`)
					require.Empty(t, res.Entries)
				})
			}
		}
		// The partners spelt right settle as before.
		res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{sale(partner.Route{Seller: "aff-004", Chain: []partner.ID{"aff-004", "aff-003"}})})
		require.NoError(t, err)
		require.NotEmpty(t, res.Entries)
	}
}
