package settlement_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// affiliatePlan is the affiliate trial's program: EUR 100.00 to the
// affiliate (the route's referrer) on a customer's first order, once per
// customer, and 20% of every line; the platform keeps the rest.
const affiliatePlan = `
- id: affiliate
  version: 1
  currencies: [EUR]
  root:
    id: line
    children:
      - {id: bounty, party: referrer, share: {amount: {amount: "100.00", currency: EUR}}, condition: aff-first-order, once: customer}
      - {id: commission, party: referrer, share: "20%"}
      - {id: platform, party: platform, share: remaining}
`

const affiliateRules = `
- id: aff-first-order
  version: 1
  kind: condition
  env_version: 1
  description: The customer's first order, as the host's order history says.
  expression: 'has(line.attributes.first_order)'
`

// affiliateLine is a sale to customer referred by referral-ams, a first
// order when first.
func affiliateLine(id, customer, amount, day string, first bool) settlement.Line {
	l := settlement.Line{ID: settlement.LineID(id), Date: date(day), Amount: eur(amount),
		Offer: catalog.Pin{Offer: "cloud-backup", Version: 1}, Charge: "seat",
		Customer: settlement.Customer{ID: customer, Country: "FR"},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"},
			Referrer: "referral-ams"}}
	if first {
		l.Attributes = map[string]string{"first_order": "true"}
	}
	return l
}

func affiliateSettler(t *testing.T) *settlement.Settler {
	t.Helper()
	return planSettler(t, affiliatePlan, loadNetwork(t), affiliateRules)
}

// nodeEntries returns the entries of node path (plan affiliate's).
func nodeEntries(entries []settlement.Entry, node string) []settlement.Entry {
	var out []settlement.Entry
	for _, e := range entries {
		if e.Node == node {
			out = append(out, e)
		}
	}
	return out
}

// TestOncePerCustomerBountyAffiliateTrial: the affiliate trial's figures
// (findings A3). The first order of client-lyon, EUR 300.00, pays the
// affiliate 160.00 (the 100.00 bounty and 20% of 300.00); the customer's
// second invoice, under new line ids, pays 60.00; the first invoice
// re-issued under new line ids with first_order set again (a corrected
// invoice) pays 60.00 too, no second bounty: the platform keeps the
// 100.00, exactly as when the condition does not hold. Before the option
// the bounty was the host's attribute alone, and the re-issue paid 160.00
// again without a word. The state records which line paid the bounty, in
// its JSON and binary forms; another customer's first order pays it.
func TestOncePerCustomerBountyAffiliateTrial(t *testing.T) {
	s := affiliateSettler(t)
	ctx := context.Background()

	first, err := s.Settle(ctx, settlement.State{}, []settlement.Line{affiliateLine("INV-1/1", "client-lyon", "300.00", "2026-05-05", true)})
	require.NoError(t, err)
	requirePaid(t, first.Entries, map[partner.ID]string{"referral-ams": "160.00", "platform": "140.00"})
	by, ok := first.State.OncePaid("affiliate", "line/bounty", "client-lyon")
	require.True(t, ok)
	require.Equal(t, settlement.LineID("INV-1/1"), by)

	second, err := s.Settle(ctx, first.State, []settlement.Line{affiliateLine("INV-2/1", "client-lyon", "300.00", "2026-06-05", false)})
	require.NoError(t, err)
	requirePaid(t, second.Entries, map[partner.ID]string{"referral-ams": "60.00", "platform": "240.00"})

	// The re-issued first invoice, read back from JSON and from the
	// binary form too.
	reissue := affiliateLine("INV-1-R/1", "client-lyon", "300.00", "2026-05-05", true)
	js, err := json.Marshal(second.State)
	require.NoError(t, err)
	require.Contains(t, string(js), `"once":[{"plan":"affiliate","node":"line/bounty","customer":"client-lyon","line":"INV-1/1"}]`)
	var fromJSON, fromBin settlement.State
	require.NoError(t, json.Unmarshal(js, &fromJSON))
	blob, err := second.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(settlement.BinaryVersion), blob[1])
	require.NoError(t, fromBin.UnmarshalBinary(blob))
	for name, st := range map[string]settlement.State{"state": second.State, "json": fromJSON, "binary": fromBin} {
		again, err := s.Settle(ctx, st, []settlement.Line{reissue})
		require.NoError(t, err, name)
		requirePaid(t, again.Entries, map[partner.ID]string{"referral-ams": "60.00", "platform": "240.00"})
		require.Empty(t, nodeEntries(again.Entries, "line/bounty"), name)
		by, _ := again.State.OncePaid("affiliate", "line/bounty", "client-lyon")
		require.Equal(t, settlement.LineID("INV-1/1"), by, name)
	}

	// Another customer's first order pays its own bounty.
	other, err := s.Settle(ctx, second.State, []settlement.Line{affiliateLine("INV-3/1", "client-nantes", "300.00", "2026-06-06", true)})
	require.NoError(t, err)
	requirePaid(t, other.Entries, map[partner.ID]string{"referral-ams": "160.00", "platform": "140.00"})
}

// TestOncePerCustomerWithinOneCall: two first orders of one customer in
// one call (the invoice and its re-issue) pay the bounty on the first in
// canonical order (date, then id) only, whatever order they are given in.
func TestOncePerCustomerWithinOneCall(t *testing.T) {
	s := affiliateSettler(t)
	a := affiliateLine("INV-1/1", "client-lyon", "300.00", "2026-05-05", true)
	b := affiliateLine("INV-1-R/1", "client-lyon", "300.00", "2026-05-05", true)
	for _, lines := range [][]settlement.Line{{a, b}, {b, a}} {
		r, err := s.Settle(context.Background(), settlement.State{}, lines)
		require.NoError(t, err)
		bounty := nodeEntries(r.Entries, "line/bounty")
		require.Len(t, bounty, 1)
		require.Equal(t, settlement.LineID("INV-1-R/1"), bounty[0].Line) // "INV-1-R/1" < "INV-1/1"
		requirePaid(t, r.Entries, map[partner.ID]string{"referral-ams": "220.00", "platform": "380.00"})
	}
}

// TestOncePerCustomerNeedsCustomer: a line without a customer id settled
// by a plan with a node paid once per customer is ErrInvalidLine at
// customer.id, naming the node; nothing is recorded.
func TestOncePerCustomerNeedsCustomer(t *testing.T) {
	s := affiliateSettler(t)
	_, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{affiliateLine("INV-1/1", "", "300.00", "2026-05-05", true)})
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "line/bounty", le.Node)
	require.Contains(t, err.Error(), "customer.id")
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
}

// TestOncePerCustomerCreditKeepsRecord: a refund of the line that paid
// the bounty, in full, claws it back with the commission; the record
// stays, so a later first order of the customer pays no bounty again.
func TestOncePerCustomerCreditKeepsRecord(t *testing.T) {
	s := affiliateSettler(t)
	ctx := context.Background()
	first, err := s.Settle(ctx, settlement.State{}, []settlement.Line{affiliateLine("INV-1/1", "client-lyon", "300.00", "2026-05-05", true)})
	require.NoError(t, err)
	refund, err := s.Settle(ctx, first.State, []settlement.Line{{ID: "CN-1/1", Credits: "INV-1/1", Date: date("2026-05-20"), Amount: eur("-300.00")}})
	require.NoError(t, err)
	requireKind(t, refund.Entries, settlement.KindClawback, map[partner.ID]string{"referral-ams": "-160.00", "platform": "-140.00"})
	later, err := s.Settle(ctx, refund.State, []settlement.Line{affiliateLine("INV-4/1", "client-lyon", "300.00", "2026-07-01", true)})
	require.NoError(t, err)
	requirePaid(t, later.Entries, map[partner.ID]string{"referral-ams": "60.00", "platform": "240.00"})
	by, _ := later.State.OncePaid("affiliate", "line/bounty", "client-lyon")
	require.Equal(t, settlement.LineID("INV-1/1"), by)
}

// TestOncePerCustomerPruneKeepsRecord: Prune drops the line that paid the
// bounty but keeps the record, so a later first order pays none.
func TestOncePerCustomerPruneKeepsRecord(t *testing.T) {
	s := affiliateSettler(t)
	ctx := context.Background()
	first, err := s.Settle(ctx, settlement.State{}, []settlement.Line{affiliateLine("INV-1/1", "client-lyon", "300.00", "2026-05-05", true)})
	require.NoError(t, err)
	pruned := first.State.Prune(date("2026-06-01"))
	require.False(t, pruned.Has("INV-1/1"))
	by, ok := pruned.OncePaid("affiliate", "line/bounty", "client-lyon")
	require.True(t, ok)
	require.Equal(t, settlement.LineID("INV-1/1"), by)
	js, err := json.Marshal(pruned)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(js, &back))
	later, err := s.Settle(ctx, back, []settlement.Line{affiliateLine("INV-5/1", "client-lyon", "300.00", "2026-07-01", true)})
	require.NoError(t, err)
	requirePaid(t, later.Entries, map[partner.ID]string{"referral-ams": "60.00", "platform": "240.00"})
}

// TestOncePerCustomerShards: split parts keep every record and merge back;
// two shards that each paid one customer's bounty (the customer's lines
// keyed to two shards) do not merge: ErrStateOverlap names the customer
// and the node.
func TestOncePerCustomerShards(t *testing.T) {
	s := affiliateSettler(t)
	ctx := context.Background()
	first, err := s.Settle(ctx, settlement.State{}, []settlement.Line{affiliateLine("INV-1/1", "client-lyon", "300.00", "2026-05-05", true)})
	require.NoError(t, err)
	a := first.State.SplitByLine(func(id settlement.LineID) bool { return id == "INV-1/1" })
	b := first.State.SplitByLine(func(id settlement.LineID) bool { return id != "INV-1/1" })
	for _, part := range []settlement.State{a, b} {
		_, ok := part.OncePaid("affiliate", "line/bounty", "client-lyon")
		require.True(t, ok)
	}
	merged, err := settlement.MergeStates(a, b)
	require.NoError(t, err)
	require.JSONEq(t, string(mustJSON(t, first.State)), string(mustJSON(t, merged)))

	one, err := s.Settle(ctx, settlement.State{}, []settlement.Line{affiliateLine("INV-1/1", "client-lyon", "300.00", "2026-05-05", true)})
	require.NoError(t, err)
	two, err := s.Settle(ctx, settlement.State{}, []settlement.Line{affiliateLine("INV-1-R/1", "client-lyon", "300.00", "2026-05-05", true)})
	require.NoError(t, err)
	_, err = settlement.MergeStates(one.State, two.State)
	require.ErrorIs(t, err, settlement.ErrStateOverlap)
	require.Contains(t, err.Error(), `customer "client-lyon"`)
	require.Contains(t, err.Error(), `node "line/bounty"`)
}

// TestOncePerCustomerPlanChecks: the option is "customer" or none; the
// root has none; a level with such a node needs a remaining child, which
// takes none.
func TestOncePerCustomerPlanChecks(t *testing.T) {
	_, err := settlement.ParsePlans([]byte(`
- id: p
  version: 1
  root:
    id: root
    children:
      - {id: bounty, party: referrer, share: "10%", once: order}
      - {id: platform, party: platform, share: remaining}
`))
	require.ErrorIs(t, err, ensemble.ErrUnknownEnum)
	for want, yaml := range map[string]string{
		"no child takes the remaining amount": `
- id: p
  version: 1
  root:
    id: root
    children:
      - {id: bounty, party: platform, share: "10%", once: customer}
      - {id: platform, party: platform, share: "90%"}
`,
		"the remaining child takes no condition, once option": `
- id: p
  version: 1
  root:
    id: root
    children:
      - {id: platform, party: platform, share: remaining, once: customer}
`,
		"root.once: the root is paid on every line": `
- id: p
  version: 1
  root: {id: root, party: platform, once: customer}
`,
	} {
		plans, err := settlement.ParsePlans([]byte(yaml))
		require.NoError(t, err, want)
		_, err = settlement.New(settlement.Config{Plans: plans})
		var ve *ensemble.ValidationError
		require.True(t, errors.As(err, &ve), "%s: %v", want, err)
		require.Contains(t, err.Error(), want)
	}
}

// TestBinaryVersion17StillReads: a version-17 state (testdata/state-v17,
// written before nodes paid once per customer) reads as the JSON written
// with it, with no once record; written again it is version 19, and a
// plan paying a bounty once per customer settles on it.
func TestBinaryVersion17StillReads(t *testing.T) {
	st := versionedState(t, 17)
	_, ok := st.OncePaid("affiliate", "line/bounty", "client-lyon")
	require.False(t, ok)
	b, err := st.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(settlement.BinaryVersion), b[1])
	require.Equal(t, byte(19), b[1])
	r, err := affiliateSettler(t).Settle(context.Background(), st, []settlement.Line{affiliateLine("INV-1/1", "client-lyon", "300.00", "2026-05-05", true)})
	require.NoError(t, err)
	requirePaid(t, r.Entries, map[partner.ID]string{"referral-ams": "160.00", "platform": "140.00"})
	b, err = r.State.MarshalBinary()
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, back.UnmarshalBinary(b))
	require.JSONEq(t, string(mustJSON(t, r.State)), string(mustJSON(t, back)))
}

// TestOnceStateRefusesBadRecords: a state whose once record lacks a field,
// is given twice, or names a credit line or a line of another plan is
// refused (ErrCorruptState), never read as no record.
func TestOnceStateRefusesBadRecords(t *testing.T) {
	s := affiliateSettler(t)
	r, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{affiliateLine("INV-1/1", "client-lyon", "300.00", "2026-05-05", true)})
	require.NoError(t, err)
	js := string(mustJSON(t, r.State))
	rec := `{"plan":"affiliate","node":"line/bounty","customer":"client-lyon","line":"INV-1/1"}`
	require.Contains(t, js, rec)
	for name, bad := range map[string]string{
		"no customer": `{"plan":"affiliate","node":"line/bounty","customer":"","line":"INV-1/1"}`,
		"no line":     `{"plan":"affiliate","node":"line/bounty","customer":"client-lyon","line":""}`,
		"twice":       rec + "," + rec,
		"other plan":  `{"plan":"channel","node":"line/bounty","customer":"client-lyon","line":"INV-1/1"}`,
	} {
		var st settlement.State
		err := json.Unmarshal([]byte(strings.Replace(js, rec, bad, 1)), &st)
		require.ErrorIs(t, err, settlement.ErrCorruptState, name)
	}
}

// TestOncePerCustomerFundingNodeSaysWhy: a bounty that funds the
// customer's welcome discount, paid on the customer's first line, takes no
// part of a second line giving the discount: the line is refused
// (ErrDiscountFunding), saying the bounty was paid once for the customer
// on the first line, not that its condition does not hold.
func TestOncePerCustomerFundingNodeSaysWhy(t *testing.T) {
	plan := strings.Replace(affiliatePlan, "  currencies: [EUR]\n", "  currencies: [EUR]\n  discount_funding:\n    - {discount: welcome, node: bounty}\n", 1)
	s := planSettler(t, plan, loadNetwork(t), affiliateRules)
	ctx := context.Background()
	welcome := func(id string) settlement.Line {
		l := affiliateLine(id, "client-lyon", "300.00", "2026-05-05", true)
		l.Discounts = []settlement.Discount{{ID: "welcome", Amount: eur("10.00")}}
		return l
	}
	first, err := s.Settle(ctx, settlement.State{}, []settlement.Line{welcome("INV-1/1")})
	require.NoError(t, err)
	_, err = s.Settle(ctx, first.State, []settlement.Line{welcome("INV-1-R/1")})
	require.ErrorIs(t, err, settlement.ErrDiscountFunding)
	require.ErrorContains(t, err, `it is paid once per customer, and line "INV-1/1" paid it for customer "client-lyon"`)
}
