package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/partner"
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

// TestFromInvoiceFundsDiscountsNetOfInclusiveTax: under prices that
// include tax a discount takes tax off with the price, but the line
// settles its net: FromInvoice carries what the discount took of the net
// (120.00 off a licence of 600.00 with 20% VAT included is 100.00 of the
// 500.00 list price net of tax), so the channel keeps 12% and 18% of
// 500.00, 60.00 and 90.00, and the vendor funds 100.00. (It carried the
// 120.00 with its tax: the root split 520.00, the distributor paid 62.40,
// the reseller 93.60, the vendor 244.00.)
func TestFromInvoiceFundsDiscountsNetOfInclusiveTax(t *testing.T) {
	at := date("2026-06-01")
	l := invoice.Line{ID: "s1/licence/jun", Kind: invoice.KindUsage, Date: at, Pin: catalog.Pin{Offer: "cloud-backup", Version: 1}, Charge: "seat",
		Currency: eur("0").Currency(), Amount: eur("600.00"), Discount: eur("120.00"), Net: eur("400.00"), Tax: eur("80.00"), Total: eur("480.00"),
		TaxRule:   invoice.TaxTrace{ID: "nl-vat", Rate: ensemble.MustRatio("20%"), Inclusive: true},
		Discounts: []invoice.AppliedDiscount{{ID: "launch-20", Percent: ensemble.MustRatio("20%"), Amount: eur("120.00")}}}
	sl, err := settlement.FromInvoice([]invoice.Line{l}, prepaidOrder)
	require.NoError(t, err)
	require.Len(t, sl[0].Discounts, 1)
	requireMoney(t, sl[0].Discounts[0].Amount, eur("100.00"))

	s := planSettler(t, fundingPlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, sl)
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"distri-eu": "60.00", "sub-utrecht": "90.00", "platform": "250.00"})
}

// TestDiscountFundedByANodeThatCannotBePaidSaysSo: a funding node whose
// party the line's route lacks (no referrer) takes no part of the line,
// its share left to the remaining sibling: the line fails with
// ErrDiscountFunding saying why, not that a condition does not hold (the
// node has none).
func TestDiscountFundedByANodeThatCannotBePaidSaysSo(t *testing.T) {
	const plan = `
- id: channel
  version: 1
  discount_funding:
    - {discount: partner, node: referral}
  root:
    id: root
    children:
      - {id: referral, party: referrer, share: "10%"}
      - {id: vendor, party: platform, share: remaining}
`
	s := planSettler(t, plan, loadNetwork(t))
	l := discounted("L1", "470.00", settlement.Discount{ID: "partner", Amount: eur("30.00")})
	require.Empty(t, l.Route.Referrer)
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.ErrorIs(t, err, settlement.ErrDiscountFunding)
	require.ErrorContains(t, err, `node "referral" funds discount partner (EUR 30.00) and takes no part of this line (its party cannot be paid: the route has no referrer)`)
}
