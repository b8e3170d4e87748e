package settlement_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// dealPlan pays the seller a deal-registration bonus when it registered
// the deal (the host's fact, line.attributes["registered_by"]), and a new
// logo bonus on a customer's first order; the platform keeps the rest.
const dealPlan = `
- id: deals
  version: 1
  currencies: [EUR]
  root:
    id: root
    children:
      - {id: registration, party: seller, share: {rule: deal-registration}}
      - {id: new-logo, party: seller, share: {amount: {amount: "500.00", currency: EUR}}, condition: first-order}
      - {id: platform, party: platform, share: remaining}
`

const dealRules = `
- id: deal-registration
  version: 1
  kind: amount
  env_version: 1
  description: EUR 30,000.00 to the partner who registered the deal before the order.
  expression: 'has(line.attributes.registered_by) && line.attributes["registered_by"] == partner.id ? money("30000.00", "EUR") : money("0.00", "EUR")'
- id: first-order
  version: 1
  kind: condition
  env_version: 1
  description: The customer's first order, as the host's order history says.
  expression: 'has(line.attributes.first_order)'
`

// dealLine is a EUR 200,000.00 sale by reseller-nl with the attributes
// attrs.
func dealLine(id string, attrs map[string]string) settlement.Line {
	return settlement.Line{ID: settlement.LineID(id), Date: date("2026-03-02"), Amount: eur("200000.00"),
		Offer: catalog.Pin{Offer: "ai-suite", Version: 1}, Charge: "annual",
		Customer:   settlement.Customer{ID: "cust-1", Country: "NL"},
		Route:      partner.Route{Kind: partner.RoutePartner, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl", "distri-eu"}},
		Attributes: attrs}
}

// requirePaid checks what each party earned, the parties not named
// earning nothing.
func requirePaid(t *testing.T, entries []settlement.Entry, want map[partner.ID]string) {
	t.Helper()
	got := byParty(entries, settlement.KindEarning)
	for p, m := range got {
		if _, ok := want[p]; !ok {
			require.True(t, m.IsZero(), "%s earned %s", p, m)
		}
	}
	for p, w := range want {
		requireMoney(t, got[p], eur(w), p)
	}
}

// TestDealRegistrationBonusFromLineAttributes: a rule reads the host's
// own fact of the sale, who registered the deal, from line.attributes:
// the partner who registered it is paid EUR 30,000.00; a deal registered
// by another partner, or by no one, pays no bonus. (Before
// Line.Attributes a host smuggled the registrant through Line.Attributed,
// whose typo paid no bonus without a word.)
func TestDealRegistrationBonusFromLineAttributes(t *testing.T) {
	s := planSettler(t, dealPlan, loadNetwork(t), dealRules)
	for _, tc := range []struct {
		name  string
		attrs map[string]string
		want  map[partner.ID]string
	}{
		{"registered by the seller", map[string]string{"registered_by": "reseller-nl"},
			map[partner.ID]string{"reseller-nl": "30000.00", "platform": "170000.00"}},
		{"registered by another partner", map[string]string{"registered_by": "reseller-de"},
			map[partner.ID]string{"platform": "200000.00"}},
		{"not registered", nil, map[partner.ID]string{"platform": "200000.00"}},
		{"other attributes only", map[string]string{"campaign": "spring"}, map[partner.ID]string{"platform": "200000.00"}},
		{"registered, first order", map[string]string{"registered_by": "reseller-nl", "first_order": "true"},
			map[partner.ID]string{"reseller-nl": "30500.00", "platform": "169500.00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L1", tc.attrs)})
			require.NoError(t, err)
			requirePaid(t, res.Entries, tc.want)
			// The reference settler pays alike.
			ref, err := settlement.NewReference(settlement.Config{Plans: mustPlans(t, dealPlan), Rules: loadRules(t, dealRules), Network: loadNetwork(t)})
			require.NoError(t, err)
			rres, err := ref.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L1", tc.attrs)})
			require.NoError(t, err)
			require.Equal(t, string(mustJSON(t, rres.Entries)), string(mustJSON(t, res.Entries)))
		})
	}
	// Lines with and without the attribute in one call: nothing decided
	// for one is reused for the other.
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L1", nil),
		dealLine("L2", map[string]string{"registered_by": "reseller-nl"}), dealLine("L3", nil)})
	require.NoError(t, err)
	var l2 []settlement.Entry
	for _, e := range res.Entries {
		if e.Line == "L2" {
			l2 = append(l2, e)
		}
	}
	requirePaid(t, l2, map[partner.ID]string{"reseller-nl": "30000.00", "platform": "170000.00"})
	requirePaid(t, res.Entries, map[partner.ID]string{"reseller-nl": "30000.00", "platform": "570000.00"})
}

// TestLineAttributeIndexedWithoutHasFailsTheLine: indexing an attribute
// the line does not set is a rule error naming the line, not a bonus
// silently unpaid or paid.
func TestLineAttributeIndexedWithoutHasFailsTheLine(t *testing.T) {
	rule := strings.Replace(dealRules, `has(line.attributes.registered_by) && `, "", 1)
	s := planSettler(t, dealPlan, loadNetwork(t), rule)
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L1", map[string]string{"first_order": "true"})})
	require.ErrorIs(t, err, settlement.ErrRule)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("L1"), le.Line)
	require.ErrorContains(t, err, "registered_by")
}

// TestResentSaleWithOtherAttributesConflicts: a sale sent again under its
// id with other attributes (the deal's registrant corrected, the first
// order mark dropped) is ErrLineConflict, which a host does not drop as a
// retry; the same attributes in another map are a retry
// (ErrAlreadySettled alone).
func TestResentSaleWithOtherAttributesConflicts(t *testing.T) {
	s := planSettler(t, dealPlan, loadNetwork(t), dealRules)
	first := map[string]string{"registered_by": "reseller-nl", "first_order": "true"}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L1", first)})
	require.NoError(t, err)
	var fromBin, fromJSON settlement.State
	blob, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, fromBin.UnmarshalBinary(blob))
	require.NoError(t, json.Unmarshal(mustJSON(t, res.State), &fromJSON))
	for name, attrs := range map[string]map[string]string{
		"another registrant":    {"registered_by": "reseller-de", "first_order": "true"},
		"no longer first":       {"registered_by": "reseller-nl"},
		"none":                  nil,
		"another value":         {"registered_by": "reseller-nl", "first_order": "yes"},
		"an attribute added":    {"registered_by": "reseller-nl", "first_order": "true", "campaign": "spring"},
		"key and value swapped": {"reseller-nl": "registered_by", "first_order": "true"},
	} {
		t.Run(name, func(t *testing.T) {
			for sn, st := range map[string]settlement.State{"state": res.State, "from binary": fromBin, "from JSON": fromJSON} {
				_, err := s.Settle(ctx, st, []settlement.Line{dealLine("L1", attrs)})
				require.ErrorIs(t, err, settlement.ErrLineConflict, sn)
				require.ErrorContains(t, err, "attributes", sn)
			}
			_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L1", first), dealLine("L1", attrs)})
			require.ErrorIs(t, err, settlement.ErrLineConflict)
		})
	}
	t.Run("the same attributes", func(t *testing.T) {
		same := map[string]string{"first_order": "true", "registered_by": "reseller-nl"}
		for _, st := range []settlement.State{res.State, fromBin, fromJSON} {
			_, err := s.Settle(ctx, st, []settlement.Line{dealLine("L1", same)})
			require.ErrorIs(t, err, settlement.ErrAlreadySettled)
			require.NotErrorIs(t, err, settlement.ErrLineConflict)
		}
	})
	t.Run("a sale without attributes prints as before", func(t *testing.T) {
		r, err := s.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L2", nil)})
		require.NoError(t, err)
		_, err = s.Settle(ctx, r.State, []settlement.Line{dealLine("L2", map[string]string{})})
		require.ErrorIs(t, err, settlement.ErrAlreadySettled)
		require.NotErrorIs(t, err, settlement.ErrLineConflict)
	})
}

// TestLineAttributesChecked: attributes a rule could misread, or a log
// could not print, are refused with ErrInvalidLine and an
// *AttributeError (ErrLineAttribute) naming the line and the key.
func TestLineAttributesChecked(t *testing.T) {
	s := planSettler(t, dealPlan, loadNetwork(t), dealRules)
	many := map[string]string{}
	for i := range settlement.MaxLineAttributes + 1 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	for _, tc := range []struct {
		name  string
		attrs map[string]string
		key   string // the key named; "" for too many
		want  string
	}{
		{"an empty key", map[string]string{"": "reseller-nl"}, "", "empty key"},
		{"an empty value", map[string]string{"registered_by": ""}, "registered_by", "empty value"},
		{"a control character in a value", map[string]string{"registered_by": "reseller-nl\n"}, "registered_by", "control characters"},
		{"a control character in a key", map[string]string{"registered\tby": "reseller-nl"}, "registered\tby", "control characters"},
		{"invalid UTF-8", map[string]string{"registered_by": "reseller-\xff"}, "registered_by", "UTF-8"},
		{"a long key", map[string]string{strings.Repeat("k", settlement.MaxAttributeKey+1): "x"}, strings.Repeat("k", settlement.MaxAttributeKey+1), "MaxAttributeKey"},
		{"a long value", map[string]string{"note": strings.Repeat("v", settlement.MaxAttributeValue+1)}, "note", "MaxAttributeValue"},
		{"too many", many, "", "MaxLineAttributes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L7", tc.attrs)})
			require.ErrorIs(t, err, settlement.ErrInvalidLine)
			require.ErrorIs(t, err, settlement.ErrLineAttribute)
			require.ErrorContains(t, err, tc.want)
			require.Empty(t, res.Entries)
			var le *settlement.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, settlement.LineID("L7"), le.Line)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1)
			if tc.name == "too many" {
				require.Equal(t, "attributes", ve.Problems[0].Path)
				return
			}
			require.Equal(t, fmt.Sprintf("attributes[%q]", tc.key), ve.Problems[0].Path)
			var ae *settlement.AttributeError
			require.True(t, errors.As(err, &ae))
			require.Equal(t, tc.key, ae.Key)
		})
	}
	// At the bounds, accepted.
	ok := map[string]string{strings.Repeat("k", settlement.MaxAttributeKey): strings.Repeat("é", settlement.MaxAttributeValue/2)}
	for i := range settlement.MaxLineAttributes - 1 {
		ok[fmt.Sprintf("k%02d", i)] = "v w"
	}
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L8", ok)})
	require.NoError(t, err)
}

// TestFromInvoiceWithAttributes: InvoiceOptions.Attributes are copied to
// every line converted, in a copy of the host's map, and paid on.
func TestFromInvoiceWithAttributes(t *testing.T) {
	inv := []invoice.Line{
		{ID: "INV-1/1", Date: date("2026-03-02"), Net: eur("150000.00"), Pin: catalog.Pin{Offer: "ai-suite", Version: 1}, Charge: "annual"},
		{ID: "INV-1/2", Date: date("2026-03-02"), Net: eur("50000.00"), Pin: catalog.Pin{Offer: "ai-suite", Version: 1}, Charge: "setup"},
	}
	o := order.Order{Customer: order.Customer{ID: "cust-1", Country: "NL"},
		Route: partner.Route{Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl", "distri-eu"}}}
	attrs := map[string]string{"registered_by": "reseller-nl"}
	lines, err := settlement.FromInvoiceWith(inv, o, settlement.InvoiceOptions{Attributes: attrs})
	require.NoError(t, err)
	attrs["registered_by"] = "reseller-de" // the host's map is not the lines'
	for _, l := range lines {
		require.Equal(t, map[string]string{"registered_by": "reseller-nl"}, l.Attributes, l.ID)
	}
	s := planSettler(t, dealPlan, loadNetwork(t), dealRules)
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	// The bonus on each line: EUR 30,000.00 twice.
	requirePaid(t, res.Entries, map[partner.ID]string{"reseller-nl": "60000.00", "platform": "140000.00"})

	none, err := settlement.FromInvoice(inv, o)
	require.NoError(t, err)
	for _, l := range none {
		require.Nil(t, l.Attributes)
	}
}

// TestLineAttributesTypedByRules: attribute values are strings, which a
// rule reads as a date (timestamp, RFC 3339) or a decimal (dec): the
// bonus is paid when the deal was registered before the line's date, by a
// partner scoring at least 0.8.
func TestLineAttributesTypedByRules(t *testing.T) {
	const rule = `
- id: deal-registration
  version: 1
  kind: amount
  env_version: 1
  expression: >-
    has(line.attributes.registered_at) && timestamp(line.attributes["registered_at"]) < line.date &&
    has(line.attributes.score) && dec(line.attributes["score"]) >= dec("0.8") ? money("30000.00", "EUR") : money("0.00", "EUR")
- id: first-order
  version: 1
  kind: condition
  env_version: 1
  expression: 'false'
`
	s := planSettler(t, dealPlan, loadNetwork(t), rule)
	for _, tc := range []struct {
		at, score, want string
	}{
		{"2026-02-10T09:00:00Z", "0.9", "30000.00"},
		{"2026-03-05T09:00:00Z", "0.9", "0.00"}, // registered after the order
		{"2026-02-10T09:00:00Z", "0.75", "0.00"},
	} {
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{dealLine("L1", map[string]string{"registered_at": tc.at, "score": tc.score})})
		require.NoError(t, err)
		requireMoney(t, byParty(res.Entries, settlement.KindEarning)["reseller-nl"], eur(tc.want), tc.at+" "+tc.score)
	}
}
