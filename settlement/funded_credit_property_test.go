package settlement_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// fundedCreditPlans are the deals TestPropertyFundedCreditsReSplit draws
// from: the trial's (a leaf funding each discount), an inner node funding
// the partner discount of the parties below it, a node funding every
// discount the plan names no funder of, and funding nodes one below the
// other (whose parts' funding the state does not record: credits reverse
// in proportion).
var fundedCreditPlans = []string{trialFundingPlan, `
- id: channel
  version: 1
  discount_funding:
    - {discount: launch, node: vendor}
    - {discount: partner, node: channel}
  root:
    id: root
    children:
      - id: channel
        share: "35%"
        children:
          - {id: reseller, party: seller, share: "60%"}
          - {id: distributor, party: distributor, share: remaining}
      - {id: vendor, party: platform, share: remaining}
`, `
- id: channel
  version: 1
  discount_funding:
    - {discount: launch, node: vendor}
    - {node: reseller}
  root:
    id: root
    children:
      - {id: distributor, party: distributor, share: "1/7"}
      - {id: reseller, party: seller, share: "23%"}
      - {id: vendor, party: platform, share: remaining}
`, `
- id: channel
  version: 1
  discount_funding:
    - {discount: partner, node: channel}
    - {discount: launch, node: reseller}
  root:
    id: root
    children:
      - id: channel
        share: "40%"
        children:
          - {id: reseller, party: seller, share: "70%"}
          - {id: distributor, party: distributor, share: remaining}
      - {id: vendor, party: platform, share: remaining}
`}

// TestPropertyFundedCreditsReSplit: a line whose discounts nodes fund,
// credited in parts (each giving back a share of the list price and of
// each discount, in proportion or not, listed on the credit or not, as a
// proration credit or a credit note) and then in full, settles as the
// reference settler does, byte for byte, with the same state; every
// credit's clawbacks add up to its amount exactly, no part is reversed
// below zero, and after the full credit every part is at zero.
func TestPropertyFundedCreditsReSplit(t *testing.T) {
	net := loadNetwork(t)
	rs := loadRules(t)
	plans := make([][]settlement.PlanDocument, len(fundedCreditPlans))
	for i, y := range fundedCreditPlans {
		p, err := settlement.ParsePlans([]byte(y))
		require.NoError(t, err)
		plans[i] = p
	}
	rapid.Check(t, func(t *rapid.T) {
		cfg := settlement.Config{Plans: plans[rapid.IntRange(0, len(plans)-1).Draw(t, "plan")], Rules: rs, Network: net}
		real, err := settlement.New(cfg)
		require.NoError(t, err)
		ref := newRefSettler(cfg)
		cur := eur("0").Currency()
		list := rapid.Int64Range(1, 2_000_000).Draw(t, "list")
		sale := settlement.Line{ID: "L1", Date: date("2026-04-01"), Offer: catalog.Pin{Offer: "ai-suite", Version: 1}, Charge: "monthly",
			Route: partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{"reseller-nl", "distri-eu"}}}
		given := map[string]int64{}
		net := list
		for _, id := range []string{"launch", "partner", "welcome"} {
			if rapid.Bool().Draw(t, id) {
				d := rapid.Int64Range(1, max(1, list/4)).Draw(t, id+".amount")
				if d >= net {
					continue
				}
				sale.Discounts = append(sale.Discounts, settlement.Discount{ID: id, Amount: ensemble.MoneyFromMinor(d, cur)})
				given[id], net = d, net-d
			}
		}
		if rapid.IntRange(0, 3).Draw(t, "costs") == 0 {
			sale.SupplierCosts = []catalog.SupplierCost{{Supplier: "gpuco", Offer: "gpu", Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "gpu", Version: "1"},
				Cost: ensemble.MoneyFromMinor(rapid.Int64Range(0, net/5).Draw(t, "cost"), cur)}}
		}
		sale.Amount = ensemble.MoneyFromMinor(net, cur)
		st := settle(t, real, ref, settlement.State{}, sale)
		if st == nil {
			t.Skip("the funders cannot bear the discounts")
		}
		left := net
		for i := range rapid.IntRange(0, 4).Draw(t, "partial credits") {
			label := fmt.Sprintf("credit%d", i)
			part := rapid.Int64Range(1, list).Draw(t, label+".list") // of the list price
			c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%d", i)), Credits: "L1", Date: date("2026-04-09"), Kind: "credit_note"}
			amount := part
			for _, d := range sale.Discounts {
				g := minorOf(d.Amount) * part / list // in proportion
				switch rapid.IntRange(0, 3).Draw(t, label+"."+d.ID) {
				case 0:
					g = 0 // a fixed discount a proration does not give back
				case 1:
					g = rapid.Int64Range(0, minorOf(d.Amount)).Draw(t, label+"."+d.ID+".amount")
				}
				if g != 0 {
					c.Discounts = append(c.Discounts, settlement.Discount{ID: d.ID, Amount: ensemble.MoneyFromMinor(-g, cur)})
				}
				amount -= g
			}
			switch rapid.IntRange(0, 3).Draw(t, label+".kind") {
			case 0: // a credit note listing no discount: in proportion
				c.Discounts = nil
			case 1, 2:
				c.Kind = "proration_credit"
			}
			if amount <= 0 {
				continue
			}
			c.Amount = ensemble.MoneyFromMinor(-amount, cur)
			if next := settle(t, real, ref, *st, c); next != nil {
				st, left = next, left-amount
			}
		}
		if left > 0 {
			st = settle(t, real, ref, *st, settlement.Line{ID: "C-all", Credits: "L1", Date: date("2026-04-30"), Amount: ensemble.MoneyFromMinor(-left, cur)})
			require.NotNil(t, st)
		}
		ll, ok := st.Line("L1")
		require.True(t, ok)
		for _, p := range ll.Parts {
			require.True(t, p.Unreversed.IsZero(), "%s: %s left", p.Entry, p.Unreversed)
		}
	})
}

// settle settles line l with both settlers from st and requires the same
// entries, error and state, and, for a credit, clawbacks adding up to its
// amount; it returns the new state, or nil when both refused the line.
func settle(t *rapid.T, real *settlement.Settler, ref *refSettler, st settlement.State, l settlement.Line) *settlement.State {
	want, wantErr := ref.Settle([]settlement.Line{l})
	res, err := real.Settle(ctx, st, []settlement.Line{l})
	requireSameError(t, err, wantErr)
	if err != nil {
		return nil
	}
	requireSameEntries(t, res.Entries, want)
	b, err := ref.state.JSON()
	require.NoError(t, err)
	require.Equal(t, string(b), string(mustJSON(t, res.State)))
	if l.Credits != "" {
		var sum int64
		for _, e := range res.Entries {
			if e.Kind == settlement.KindClawback {
				sum += minorOf(e.Amount)
			}
		}
		require.Equal(t, minorOf(l.Amount), sum, "the clawbacks of %s", l.ID)
	}
	return &res.State
}
