package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestDiscountFundedBelowAnInactiveNodeIsNotPaidOut: a node funding a
// discount below an inner node whose condition does not hold takes no part
// of the line, as a funder whose own condition does not hold: the line
// fails with ErrDiscountFunding rather than pay the others the discount.
// (The discount was added to what the root splits and never taken off:
// the distributor 60.00 and the vendor 440.00, EUR 500.00 paid out of a
// line of 470.00.)
func TestDiscountFundedBelowAnInactiveNodeIsNotPaidOut(t *testing.T) {
	const plan = `
- id: channel
  version: 1
  discount_funding:
    - {discount: partner, node: reseller}
  root:
    id: root
    children:
      - {id: distributor, party: distributor, share: "12%"}
      - id: resale
        share: "18%"
        condition: b-never
        children:
          - {id: reseller, party: seller, share: remaining}
      - {id: vendor, party: platform, share: remaining}
`
	s := planSettler(t, plan, loadNetwork(t), `
- id: b-never
  version: 1
  kind: condition
  env_version: 1
  expression: 'line.amount > money("1000000", line.currency)'
`)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		discounted("L1", "470.00", settlement.Discount{ID: "partner", Amount: eur("30.00")}),
	})
	require.ErrorIs(t, err, settlement.ErrDiscountFunding, "paid %v", res.Entries)
	require.ErrorContains(t, err, `node "reseller" funds discount partner (EUR 30.00) and takes no part of this line`)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "root/resale/reseller", le.Node)
}
