package settlement_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// fundingPlan is a vendor's channel plan (the platform is the vendor):
// the distributor 12% and the reseller 18% of every line, the vendor the
// rest; the vendor funds its launch promotion, the reseller the partner
// discount it gives its customer.
const fundingPlan = `
- id: channel
  version: 1
  discount_funding:
    - {discount: launch-20, node: vendor}
    - {discount: partner, node: reseller}
  root:
    id: root
    children:
      - {id: distributor, party: distributor, share: "12%"}
      - {id: reseller, party: seller, share: "18%"}
      - {id: vendor, party: platform, share: remaining}
`

// discounted is a licence line listed at EUR 500.00 that discounts took
// from.
func discounted(id string, amount string, discounts ...settlement.Discount) settlement.Line {
	l := bundleLine(id)
	l.SupplierCosts = nil
	l.Amount, l.Discounts = eur(amount), discounts
	return l
}

// TestDiscountFundedByTheVendorKeepsTheChannelsMargins: the trial's
// licence, 50 seats at EUR 10.00, 20% off for the first three cycles, a
// discount the vendor funds alone: the distributor and the reseller are
// paid 12% and 18% of the list price, 60.00 and 90.00, and the vendor the
// 400.00 net less those, 250.00 (split on the net, as before, they got
// 48.00 and 72.00 and the vendor 280.00). A discount no entry names is
// borne by all in proportion, as before.
func TestDiscountFundedByTheVendorKeepsTheChannelsMargins(t *testing.T) {
	s := planSettler(t, fundingPlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		discounted("L1", "400.00", settlement.Discount{ID: "launch-20", Amount: eur("100.00")}),
	})
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"distri-eu": "60.00", "reseller-nl": "90.00", "platform": "250.00"})
	for _, e := range res.Entries {
		if e.Party == "platform" {
			require.Contains(t, e.Note, "less EUR 100.00 of discount launch-20, which it funds")
		} else {
			require.NotContains(t, e.Note, "discount", e.Party)
		}
	}

	// A partner discount the reseller gives from its margin, beside the
	// launch promotion: each funder bears its own.
	res, err = s.Settle(ctx, settlement.State{}, []settlement.Line{
		discounted("L2", "370.00", settlement.Discount{ID: "launch-20", Amount: eur("100.00")}, settlement.Discount{ID: "partner", Amount: eur("30.00")}),
	})
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"distri-eu": "60.00", "reseller-nl": "60.00", "platform": "250.00"})

	// A discount the plan does not fund: the net split as it is.
	res, err = s.Settle(ctx, settlement.State{}, []settlement.Line{
		discounted("L3", "400.00", settlement.Discount{ID: "loyalty", Amount: eur("100.00")}),
	})
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"distri-eu": "48.00", "reseller-nl": "72.00", "platform": "280.00"})
}

// TestDiscountFundingCreditsReverseTheSplitAsPaid: a credit of a line
// whose discount the vendor funded reverses each party's part in
// proportion to what it was paid, and a full credit returns every party to
// zero.
func TestDiscountFundingCreditsReverseTheSplitAsPaid(t *testing.T) {
	s := planSettler(t, fundingPlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		discounted("L1", "400.00", settlement.Discount{ID: "launch-20", Amount: eur("100.00")}),
	})
	require.NoError(t, err)
	cr, err := s.Settle(ctx, res.State, []settlement.Line{credit("CN1", "L1", "-40.00", "2026-03-10")})
	require.NoError(t, err)
	requireParties(t, cr.Entries, map[partner.ID]string{"distri-eu": "-6.00", "reseller-nl": "-9.00", "platform": "-25.00"})
	all, err := s.Settle(ctx, cr.State, []settlement.Line{credit("CN2", "L1", "-360.00", "2026-03-11")})
	require.NoError(t, err)
	requireParties(t, all.Entries, map[partner.ID]string{"distri-eu": "-54.00", "reseller-nl": "-81.00", "platform": "-225.00"})
}

// TestDiscountFundingRefusesWhatTheFunderCannotBear: a discount beyond
// the funding node's share of the list price, or funded by a node that
// takes no part of the line, fails the line with ErrDiscountFunding naming
// the node and the discount; the other parties are never paid less to
// make up for it. A line sent again with other discounts is another sale.
func TestDiscountFundingRefusesWhatTheFunderCannotBear(t *testing.T) {
	s := planSettler(t, fundingPlan, loadNetwork(t))
	// The reseller's 18% of 500.00 is 90.00: a partner discount of 100.00
	// is more than it is paid.
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		discounted("L1", "400.00", settlement.Discount{ID: "partner", Amount: eur("100.00")}),
	})
	require.ErrorIs(t, err, settlement.ErrDiscountFunding)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "root/reseller", le.Node)
	require.ErrorContains(t, err, `node "reseller" funds discount partner (EUR 100.00) and is paid EUR 90.00 of the line before it`)

	// A free month funded by the vendor: the channel's 30% of the list
	// cannot come out of nothing.
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{
		discounted("L2", "0.00", settlement.Discount{ID: "launch-20", Amount: eur("500.00")}),
	})
	require.ErrorIs(t, err, settlement.ErrDiscountFunding)

	// Sent again with another discount, a settled line is a changed sale.
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		discounted("L3", "400.00", settlement.Discount{ID: "launch-20", Amount: eur("100.00")}),
	})
	require.NoError(t, err)
	_, err = s.Settle(ctx, res.State, []settlement.Line{
		discounted("L3", "400.00", settlement.Discount{ID: "launch-20", Amount: eur("90.00")}),
	})
	require.ErrorIs(t, err, settlement.ErrLineConflict)
	require.ErrorContains(t, err, "discounts")

	// Discounts the line cannot carry are refused whatever the plan.
	for _, bad := range [][]settlement.Discount{
		{{ID: "", Amount: eur("1.00")}},
		{{ID: "a", Amount: eur("1.00")}, {ID: "a", Amount: eur("2.00")}},
		{{ID: "a", Amount: eur("-1.00")}},
		{{ID: "a", Amount: usd("1.00")}},
	} {
		_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{discounted("L4", "400.00", bad...)})
		require.ErrorIs(t, err, settlement.ErrInvalidLine, "%v", bad)
		require.ErrorContains(t, err, "discounts[", "%v", bad)
	}
}

// TestDiscountFundingConditionOff: a node that funds a discount and takes
// no part of the line (its condition does not hold) fails it rather than
// leave the discount to the others.
func TestDiscountFundingConditionOff(t *testing.T) {
	plan := strings.Replace(fundingPlan, `{id: reseller, party: seller, share: "18%"}`,
		`{id: reseller, party: seller, share: "18%", condition: b-never}`, 1)
	s := planSettler(t, plan, loadNetwork(t), `
- id: b-never
  version: 1
  kind: condition
  env_version: 1
  expression: 'line.amount > money("1000000", line.currency)'
`)
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		discounted("L1", "470.00", settlement.Discount{ID: "partner", Amount: eur("30.00")}),
	})
	require.ErrorIs(t, err, settlement.ErrDiscountFunding)
	require.ErrorContains(t, err, "takes no part of this line")
}

// TestDiscountFundingRefusedPlans: New refuses funding by a node the plan
// lacks, by the root, a discount funded twice, two entries for the rest
// and a plan splitting the gross, naming the path.
func TestDiscountFundingRefusedPlans(t *testing.T) {
	for _, c := range []struct{ name, funding, basis, want string }{
		{"unknown node", `[{discount: a, node: nobody}]`, "", `discount_funding[0].node: no node "nobody"`},
		{"no node", `[{discount: a}]`, "", `discount_funding[0].node: no node`},
		{"the root", `[{node: root}]`, "", `discount_funding[0].node: the root splits`},
		{"twice", `[{discount: a, node: vendor}, {discount: a, node: reseller}]`, "", `discount_funding[1].discount: discount "a" funded twice`},
		{"two for the rest", `[{node: vendor}, {node: reseller}]`, "", `discount_funding[1].discount: a second entry`},
		{"gross", `[{node: vendor}]`, "basis: gross", `discount_funding: discounts are taken before tax`},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := "- id: channel\n  version: 1\n  " + c.basis + "\n  discount_funding: " + c.funding + `
  root:
    id: root
    children:
      - {id: reseller, party: seller, share: "18%"}
      - {id: vendor, party: platform, share: remaining}
`
			plans, err := settlement.ParsePlans([]byte(plan))
			require.NoError(t, err)
			_, err = settlement.New(settlement.Config{Plans: plans, Network: loadNetwork(t)})
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestFromInvoiceCarriesDiscounts: FromInvoice copies what each discount
// of an invoice line took (zero discounts left out); a line drawn on a
// prepaid commitment carries the discounts of the part it settles: all of
// them on consumption (the covered part is settled), on prepayment those
// of the overage alone, in proportion (the March line: 275.00 of 425.00
// settled, so 55.00 of a 85.00 discount); none on a line settling nothing.
// A credit's are what it gives back, negative, less invoice's "credited"
// (what credit notes took before, no discount).
func TestFromInvoiceCarriesDiscounts(t *testing.T) {
	lines := prepaidLines()
	lines[3].Discounts = []invoice.AppliedDiscount{{ID: "launch-20", Amount: eur("85.00")}, {ID: "nothing", Amount: eur("0.00")}}
	lines[1].Discounts = []invoice.AppliedDiscount{{ID: "launch-20", Amount: eur("10.00")}}
	for mode, want := range map[settlement.PrepaidEarning][2]string{
		settlement.EarnOnConsumption: {"10.00", "85.00"},
		settlement.EarnOnPrepayment:  {"", "55.00"},
	} {
		sl, err := settlement.FromInvoiceWith(lines, prepaidOrder, settlement.InvoiceOptions{Prepaid: mode})
		require.NoError(t, err)
		for i, w := range want {
			l := sl[[]int{1, 3}[i]]
			if w == "" {
				require.Empty(t, l.Discounts, mode.String())
				continue
			}
			require.Len(t, l.Discounts, 1, mode.String())
			require.Equal(t, "launch-20", l.Discounts[0].ID)
			requireMoney(t, l.Discounts[0].Amount, eur(w), mode.String())
		}
	}
	note := invoice.Line{ID: "cn/1", Kind: invoice.KindCreditNote, Date: date("2026-03-05"), Pin: lines[3].Pin, Currency: eur("0").Currency(),
		Net: eur("-10.00"), Credits: "s1/api/mar", Discounts: []invoice.AppliedDiscount{{ID: "credited", Amount: eur("-1.00")}, {ID: "launch-20", Amount: eur("-2.00")}}}
	sl, err := settlement.FromInvoice([]invoice.Line{note}, prepaidOrder)
	require.NoError(t, err)
	require.Len(t, sl[0].Discounts, 1)
	require.Equal(t, "launch-20", sl[0].Discounts[0].ID)
	requireMoney(t, sl[0].Discounts[0].Amount, eur("-2.00"))
}

// TestDiscountsAreFactsOnlyUnderAFundingPlan: under a plan that funds no
// discount, a line's discounts change no payout, so a line settled
// without them (as FromInvoice made lines before it carried them) sent
// again with them is the same sale, ErrAlreadySettled, not a conflict;
// under a funding plan they are facts of the sale (see
// TestDiscountFundingRefusesWhatTheFunderCannotBear).
func TestDiscountsAreFactsOnlyUnderAFundingPlan(t *testing.T) {
	s := planSettler(t, bundlePlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{discounted("L1", "400.00")})
	require.NoError(t, err)
	_, err = s.Settle(ctx, res.State, []settlement.Line{discounted("L1", "400.00", settlement.Discount{ID: "launch-20", Amount: eur("100.00")})})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	require.NotErrorIs(t, err, settlement.ErrLineConflict)

	f := planSettler(t, fundingPlan, loadNetwork(t))
	res, err = f.Settle(ctx, settlement.State{}, []settlement.Line{discounted("L1", "400.00")})
	require.NoError(t, err)
	_, err = f.Settle(ctx, res.State, []settlement.Line{discounted("L1", "400.00", settlement.Discount{ID: "launch-20", Amount: eur("100.00")})})
	require.ErrorIs(t, err, settlement.ErrLineConflict)
}
