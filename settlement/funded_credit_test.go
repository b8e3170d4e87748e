package settlement_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// trialFundingPlan is the trial's channel deal: the distributor 10% and
// the reseller 20% of the list price, the vendor (the platform) the rest;
// the vendor funds its 25% launch promotion, the reseller the EUR 25.00
// welcome discount it gives its customer each month.
const trialFundingPlan = `
- id: channel
  version: 1
  discount_funding:
    - {discount: launch, node: vendor}
    - {discount: welcome, node: reseller}
  root:
    id: root
    children:
      - {id: distributor, party: distributor, share: "10%"}
      - {id: reseller, party: seller, share: "20%"}
      - {id: vendor, party: platform, share: remaining}
`

// trialCancellation bills the trial's licence, 60 seats at EUR 10.00 a
// month from April 1, 25% off (launch) and EUR 25.00 off a month
// (welcome), and its cancellation from April 9 recorded that day: April's
// line (600.00 listed, 425.00 net) and the proration credit of April 9 to
// May 1, 22 of 30 days: 440.00 listed, less 110.00 of the launch
// promotion, 330.00 (the welcome discount, taken once a cycle, is not
// given back).
func trialCancellation(t *testing.T) (sale, credit []settlement.Line) {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: app, version: 1, name: App, currency: EUR, effective_from: 2026-01-01T00:00:00Z,
     charges: [{id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "10.00"}}]}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	sub := invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "c1"}, Currency: ensemble.MustCurrency("EUR"), Anchor: day(4, 1),
		Items: []invoice.Item{{ID: "seats", Segments: []invoice.Segment{{Start: day(4, 1), Recorded: day(4, 1),
			Pin: catalog.Pin{Offer: "app", Version: 1}, Quantity: decimal.NewFromInt(60)}}}},
		Discounts: []invoice.Discount{{ID: "launch", Percent: ensemble.MustRatio("25%")}, {ID: "welcome", Amount: decimal.RequireFromString("25.00")}}}
	o := order.Order{ID: "s1", Customer: order.Customer{ID: "c1", Country: "NL"},
		Route: partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{"reseller-nl", "distri-eu"}}}
	convert := func(invs []invoice.Invoice) []settlement.Line {
		var out []settlement.Line
		for _, inv := range invs {
			lines, err := settlement.FromInvoice(inv.Lines, o)
			require.NoError(t, err)
			out = append(out, lines...)
		}
		return out
	}
	invs, err := b.Build(invoice.Run{At: day(4, 1)}, []invoice.Subscription{sub})
	require.NoError(t, err)
	sale = convert(invs)
	require.Len(t, sale, 1)
	requireMoney(t, sale[0].Amount, eur("425.00"))
	var billed []invoice.Line
	for _, inv := range invs {
		billed = append(billed, inv.Lines...)
	}
	sub.CancelAt, sub.CancelRecorded = day(4, 9), day(4, 9)
	invs, err = b.Build(invoice.Run{After: day(4, 1), At: day(4, 9), Billed: billed}, []invoice.Subscription{sub})
	require.NoError(t, err)
	credit = convert(invs)
	require.Len(t, credit, 1)
	require.Equal(t, "proration_credit", credit[0].Kind)
	requireMoney(t, credit[0].Amount, eur("-330.00"))
	return sale, credit
}

// TestFundedDiscountProrationCreditReSplitsTheListPrice: the trial's
// cancellation credits 440.00 of the 600.00 list price, giving back
// 110.00 of the launch promotion the vendor funds and none of the welcome
// discount the reseller funds. The credit is re-split as the sale was: the
// distributor gives back 10% of the credited list price, 44.00, the
// reseller 20%, 88.00, and the vendor 70% less the 110.00 it funded,
// 198.00 (reversed in proportion to what each was paid, they gave back
// 46.59, 73.76 and 209.65). A credit note of the same amount listing no
// discount gives back each in the share of the list price it credits: in
// proportion to what each was paid. The rest of the line, credited, leaves
// every part at zero.
func TestFundedDiscountProrationCreditReSplitsTheListPrice(t *testing.T) {
	s := planSettler(t, trialFundingPlan, loadNetwork(t))
	sale, credit := trialCancellation(t)
	res, err := s.Settle(ctx, settlement.State{}, sale)
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"distri-eu": "60.00", "reseller-nl": "95.00", "platform": "270.00"})

	cr, err := s.Settle(ctx, res.State, credit)
	require.NoError(t, err)
	requireParties(t, cr.Entries, map[partner.ID]string{"distri-eu": "-44.00", "reseller-nl": "-88.00", "platform": "-198.00"})
	for _, e := range cr.Entries {
		require.Contains(t, e.Note, "re-split on the list price it credits")
	}
	ll, ok := cr.State.Line(sale[0].ID)
	require.True(t, ok)
	requireMoney(t, ll.FundedDiscounts, eur("175.00"))
	for _, p := range ll.Parts {
		want := map[partner.ID]string{"distri-eu": "0.00", "reseller-nl": "25.00", "platform": "150.00"}[p.Party]
		requireMoney(t, p.Funded, eur(want), string(p.Party))
	}

	// The same amount as a credit note listing no discount.
	note := credit[0]
	note.ID, note.Kind, note.Discounts = "cn-1", "credit_note", nil
	prop, err := s.Settle(ctx, res.State, []settlement.Line{note})
	require.NoError(t, err)
	requireParties(t, prop.Entries, map[partner.ID]string{"distri-eu": "-46.59", "reseller-nl": "-73.76", "platform": "-209.65"})

	// The rest of the line: every part at zero.
	rest := credit[0]
	rest.ID, rest.Kind, rest.Amount, rest.Tax, rest.Discounts = "cn-2", "credit_note", eur("-95.00"), eur("0.00"), nil
	all, err := s.Settle(ctx, cr.State, []settlement.Line{rest})
	require.NoError(t, err)
	ll, _ = all.State.Line(sale[0].ID)
	for _, p := range ll.Parts {
		requireMoney(t, p.Unreversed, eur("0.00"), string(p.Party))
	}
}

// TestFundedPartsSurviveEncodingAndOlderStatesCreditAsBefore: what each
// part funded survives JSON and the binary form (version 10), so the
// trial's proration credit settled on a state read back is re-split; a
// state of binary version 9, written before parts kept what they funded,
// reads with none, and the same credit reverses each part in proportion
// to what it was paid, as it did.
func TestFundedPartsSurviveEncodingAndOlderStatesCreditAsBefore(t *testing.T) {
	s := planSettler(t, trialFundingPlan, loadNetwork(t))
	sale, credit := trialCancellation(t)
	res, err := s.Settle(ctx, settlement.State{}, sale)
	require.NoError(t, err)
	bin, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(settlement.BinaryVersion), bin[1])
	var fromBin, fromJSON settlement.State
	require.NoError(t, fromBin.UnmarshalBinary(bin))
	require.NoError(t, json.Unmarshal(mustJSON(t, res.State), &fromJSON))
	for _, st := range []settlement.State{fromBin, fromJSON} {
		require.JSONEq(t, string(mustJSON(t, res.State)), string(mustJSON(t, st)))
		cr, err := s.Settle(ctx, st, credit)
		require.NoError(t, err)
		requireParties(t, cr.Entries, map[partner.ID]string{"distri-eu": "-44.00", "reseller-nl": "-88.00", "platform": "-198.00"})
	}

	old := versionedState(t, 9)
	ll, ok := old.Line(sale[0].ID)
	require.True(t, ok)
	require.True(t, ll.FundedDiscounts.IsZero())
	cr, err := s.Settle(ctx, old, credit)
	require.NoError(t, err)
	requireParties(t, cr.Entries, map[partner.ID]string{"distri-eu": "-46.59", "reseller-nl": "-73.76", "platform": "-209.65"})
}

// TestStateDecodeRefusesWrongFunding: what a state says the parts of a
// line funded must be zero or more, on earnings, and add up to the line's
// funded discounts: anything else is refused with a *StateError matching
// ErrCorruptState, naming the line and the part.
func TestStateDecodeRefusesWrongFunding(t *testing.T) {
	s := planSettler(t, trialFundingPlan, loadNetwork(t))
	sale, _ := trialCancellation(t)
	res, err := s.Settle(ctx, settlement.State{}, sale)
	require.NoError(t, err)
	id := string(sale[0].ID)
	reseller := map[string]any{"party": "reseller-nl"}
	for _, c := range []struct {
		name, field, want string
		corrupt           func(d stateDoc)
	}{
		{"a part funding less than nothing", "parts[0].funded", "negative funded EUR -1.00", func(d stateDoc) {
			d.part(id, map[string]any{"party": "distri-eu"})["funded"] = moneyJSON("-1.00", "EUR")
		}},
		{"parts funding more than the line's", "funded_discounts", "the line's funded discounts are EUR 175.00, but its parts funded EUR 175.01", func(d stateDoc) {
			p := d.part(id, reseller)
			p["funded"] = shift(p["funded"], 1)
		}},
		{"a line's funded discounts the parts do not add up to", "funded_discounts", "but its parts funded EUR 175.00", func(d stateDoc) {
			d.line(id)["funded_discounts"] = moneyJSON("174.99", "EUR")
		}},
		{"parts funding without the line's", "funded_discounts", "the line's funded discounts are 0", func(d stateDoc) {
			delete(d.line(id), "funded_discounts")
		}},
		{"a funded part in another currency", "parts[0].funded", "not in the line's currency", func(d stateDoc) {
			d.part(id, map[string]any{"party": "distri-eu"})["funded"] = moneyJSON("1.00", "USD")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(mustJSON(t, res.State), &d))
			c.corrupt(d)
			decodeProblem(t, d, c.field, c.want, sale[0].ID)
		})
	}
}
