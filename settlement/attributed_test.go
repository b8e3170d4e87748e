package settlement_test

import (
	"encoding/json"
	"slices"
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
	"github.com/ensemble-commerce/ensemble/usage"
)

// contractorNetwork: ServiceCo's contractors C1 and C2, and C3, suspended
// from April 15.
func contractorNetwork(t testing.TB) *partner.Network {
	t.Helper()
	net, err := partner.LoadNetwork([]byte(`
partners:
  - {id: C1, name: Contractor one, type: contractor, terms: [{from: 2026-01-01T00:00:00Z}]}
  - {id: C2, name: Contractor two, type: contractor, terms: [{from: 2026-01-01T00:00:00Z}]}
  - id: C3
    name: Contractor three
    type: contractor
    terms: [{from: 2026-01-01T00:00:00Z}]
    lifecycle:
      - {partner: C3, action: apply, from: none, to: applied, at: 2025-12-01T00:00:00Z, actor: portal}
      - {partner: C3, action: vet, from: applied, to: vetted, at: 2025-12-10T00:00:00Z, actor: ops}
      - {partner: C3, action: activate, from: vetted, to: active, at: 2026-01-01T00:00:00Z, actor: ops}
      - {partner: C3, action: suspend, from: active, to: suspended, at: 2026-04-15T00:00:00Z, actor: risk, reason: no insurance}
`))
	require.NoError(t, err)
	return net
}

// hoursPlan pays each hour's net 80% to the contractor who did it, the
// rest to ServiceCo (the platform); a line no contractor did (a minimum
// owed with no hours) goes to ServiceCo whole.
const hoursPlan = `
- id: hours
  version: 1
  root:
    id: root
    children:
      - {id: contractor, party: attributed, share: "80%", condition: attributed-usage}
      - {id: serviceco, party: platform, share: remaining}
`

const attributedRule = `
- id: attributed-usage
  version: 1
  kind: condition
  env_version: 1
  description: The line bills hours a contractor did.
  expression: 'line.attributed != ""'
`

func contractorSettler(t testing.TB, plan string) *settlement.Settler {
	t.Helper()
	plans, err := settlement.ParsePlans([]byte(plan))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t, attributedRule), Network: contractorNetwork(t), Platform: "serviceco"})
	require.NoError(t, err)
	return s
}

func gbp(s string) ensemble.Money { return ensemble.MustMoney(s, "GBP") }

// The trial's April: on-site engineering at GBP 95.00 an hour, billed
// monthly in arrears from the contractors' field app, each record naming
// the contractor who did the hours; each hour's net goes 80% to the
// contractor who did it, 20% to ServiceCo. C1 did 6 hours and C2 4: the
// invoice bills 570.00 and 380.00, and settlement pays C1 456.00, C2
// 304.00 and ServiceCo 190.00 (before: no plan node could pay the
// contractor a record names).
func TestAttributedUsagePaysTheContractorWhoDidIt(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - id: engineering
    version: 1
    currency: GBP
    effective_from: 2026-01-01T00:00:00Z
    charges: [{id: hours, name: On-site engineering, type: usage, meter: hours, attribute_to: contractor, price: {model: per_unit, amount: "95.00"}}]
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	apr1, may1 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	sub := invoice.Subscription{ID: "acme-eng", Customer: invoice.Customer{ID: "acme", TaxExempt: true}, Currency: ensemble.MustCurrency("GBP"), Anchor: apr1,
		Items: []invoice.Item{{ID: "eng", Segments: []invoice.Segment{{Start: apr1, Pin: catalog.Pin{Offer: "engineering", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
	ulines, err := b.UsageLines(may1, sub)
	require.NoError(t, err)
	rec := func(id, who string, h int64, day int) usage.Record {
		return usage.Record{ID: usage.RecordID(id), Line: "acme-eng/eng", Meter: "hours", Quantity: decimal.NewFromInt(h),
			At: apr1.AddDate(0, 0, day), Attributes: map[string]string{"contractor": who}}
	}
	rep, err := usage.Collect(usage.Config{Meters: []usage.Meter{{ID: "hours", Unit: "hour", Aggregation: usage.Sum, AttributeTo: "contractor"}}, Lines: ulines},
		slices.Values([]usage.Record{rec("a1", "C1", 4, 6), rec("a2", "C2", 4, 7), rec("a3", "C1", 2, 20), rec("a2", "C2", 4, 7)}))
	require.NoError(t, err)
	invs, err := b.Build(invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, []invoice.Subscription{sub})
	require.NoError(t, err)
	inv, err := invoice.Issue(invs[0], may1)
	require.NoError(t, err)
	o := order.Order{ID: "acme-eng", Customer: order.Customer{ID: "acme", Country: "GB"}, Route: partner.Route{Kind: partner.RouteDirect}}
	lines, err := settlement.FromInvoice(inv.Lines, o)
	require.NoError(t, err)
	require.Len(t, lines, 2)
	require.Equal(t, "C1", lines[0].Attributed)
	require.Equal(t, "C2", lines[1].Attributed)

	s := contractorSettler(t, hoursPlan)
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	entries := res.Entries
	paid := byParty(entries)
	requireMoney(t, paid["C1"], gbp("456.00"))
	requireMoney(t, paid["C2"], gbp("304.00"))
	requireMoney(t, paid["serviceco"], gbp("190.00"))
	require.Len(t, paid, 3)
	for _, e := range entries {
		if e.Party == "C1" || e.Party == "C2" {
			require.Equal(t, "attributed", e.Role)
		}
	}

	// A dispute credits 2 of C2's hours, borne by everyone in proportion:
	// C2 gives back 152.00 and ServiceCo 38.00; C1 nothing.
	note, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "dispute-1", Reason: invoice.ReasonDispute, At: may1.AddDate(0, 0, 9),
		Lines: []invoice.CreditLine{{Line: inv.Lines[1].ID, Quantity: decimal.NewFromInt(2)}}})
	require.NoError(t, err)
	credits, err := settlement.FromInvoice(note.Lines, o)
	require.NoError(t, err)
	back, err := s.Settle(ctx, res.State, credits)
	require.NoError(t, err)
	taken := byParty(back.Entries)
	requireMoney(t, taken["C2"], gbp("-152.00"))
	requireMoney(t, taken["serviceco"], gbp("-38.00"))
	require.NotContains(t, taken, partner.ID("C1"))
}

// Whose usage a line bills decides who is paid, so a value that names no
// partner who can trade at the line's date is refused with
// ErrAttributedParty naming the line and node (and the partner whose id is
// nearest: a timesheet naming "c1" for C1), never paid to anyone else;
// a line no one is named on is refused by a node that pays "attributed"
// without a condition, and paid to ServiceCo under hoursPlan.
func TestAttributedPartyRefused(t *testing.T) {
	line := func(who, day string) settlement.Line {
		return settlement.Line{ID: settlement.LineID("L-" + who + "-" + day), Date: date(day), Amount: gbp("95.00"),
			Offer: catalog.Pin{Offer: "engineering", Version: 1}, Charge: "hours", Kind: "usage", Attributed: who,
			Route: partner.Route{Kind: partner.RouteDirect}}
	}
	s := contractorSettler(t, hoursPlan)
	unguarded := contractorSettler(t, `
- id: hours
  version: 1
  root:
    id: root
    children:
      - {id: contractor, party: attributed, share: "80%", fallback: platform}
      - {id: serviceco, party: platform, share: remaining}
`)
	for _, tc := range []struct {
		name string
		s    *settlement.Settler
		line settlement.Line
		want string
	}{
		{"unknown partner", s, line("C9", "2026-04-30"), `"C9"`},
		{"a partner's id in another case", s, line("c1", "2026-04-30"), `"c1" (did you mean "C1"?)`},
		{"suspended at the line's date", s, line("C3", "2026-04-30"), `"C3" cannot trade at 2026-04-30T00:00:00Z (suspended)`},
		{"attributed to no one, no condition", unguarded, line("", "2026-04-30"), "attributed to no one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.s.Settle(ctx, settlement.State{}, []settlement.Line{tc.line})
			require.Nil(t, res.Entries)
			require.ErrorIs(t, err, settlement.ErrAttributedParty)
			require.ErrorContains(t, err, tc.want)
			var le *settlement.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, tc.line.ID, le.Line)
			require.Equal(t, "root/contractor", le.Node)
		})
	}
	// C3 before the suspension is paid; a line attributed to no one goes
	// to ServiceCo under the condition.
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{line("C3", "2026-04-14"), line("", "2026-04-30")})
	require.NoError(t, err)
	paid := byParty(res.Entries)
	requireMoney(t, paid["C3"], gbp("76.00"))
	requireMoney(t, paid["serviceco"], gbp("114.00"))
}

// A sale sent again attributed to someone else is another sale's facts:
// ErrLineConflict, not a silent duplicate.
func TestAttributedIsAFactOfTheSale(t *testing.T) {
	s := contractorSettler(t, hoursPlan)
	l := settlement.Line{ID: "L1", Date: date("2026-04-30"), Amount: gbp("95.00"), Offer: catalog.Pin{Offer: "engineering", Version: 1},
		Charge: "hours", Attributed: "C1", Route: partner.Route{Kind: partner.RouteDirect}}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	l.Attributed = "C2"
	_, err = s.Settle(ctx, res.State, []settlement.Line{l})
	require.ErrorIs(t, err, settlement.ErrLineConflict)
}

// A state holding parts paid to an attributed party on a line without a
// seller (a direct sale) reads back, from JSON and from its binary form
// (the state's reader took "attributed" for a partner type and refused the
// line for having no seller).
func TestStateWithAttributedPartsReadsBack(t *testing.T) {
	s := contractorSettler(t, hoursPlan)
	l := settlement.Line{ID: "L1", Date: date("2026-04-30"), Amount: gbp("95.00"), Offer: catalog.Pin{Offer: "engineering", Version: 1},
		Charge: "hours", Attributed: "C1", Route: partner.Route{Kind: partner.RouteDirect}}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	js, err := json.Marshal(res.State)
	require.NoError(t, err)
	var fromJSON settlement.State
	require.NoError(t, json.Unmarshal(js, &fromJSON))
	bin, err := res.State.MarshalBinary()
	require.NoError(t, err)
	var fromBin settlement.State
	require.NoError(t, fromBin.UnmarshalBinary(bin))
	for _, st := range []settlement.State{fromJSON, fromBin} {
		back, err := s.Settle(ctx, st, []settlement.Line{{ID: "C1", Credits: "L1", Date: date("2026-05-10"), Amount: gbp("-95.00")}})
		require.NoError(t, err)
		requireMoney(t, byParty(back.Entries)["C1"], gbp("-76.00"))
	}
}
