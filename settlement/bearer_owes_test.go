package settlement_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// retainerPlan pays the lead contractor anna 5% of the month's retainer,
// the referral partner 8% and the firm (the platform) the rest.
const retainerPlan = `
- id: retainer
  version: 1
  root:
    id: root
    children:
      - {id: lead, party: "partner:anna", share: "5%"}
      - {id: referral, party: referrer, share: "8%"}
      - {id: firm, party: platform, share: remaining}
`

// retainerSettled settles the month's retainer, EUR 8,000.00: anna
// 400.00, the referrer 640.00, the firm 6,960.00.
func retainerSettled(t *testing.T) (*settlement.Settler, settlement.Result) {
	t.Helper()
	net, err := partner.LoadNetwork([]byte(`
partners:
  - {id: anna, name: Anna (lead contractor), type: contractor, terms: [{from: 2026-01-01T00:00:00Z}]}
  - {id: refco, name: Referral partner, type: referral, terms: [{from: 2026-01-01T00:00:00Z}]}
`))
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(retainerPlan))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: net, Platform: "firm"})
	require.NoError(t, err)
	l := settlement.Line{ID: "L1", Date: date("2026-03-01"), Amount: eur("8000.00"), Tax: eur("0"),
		Offer: catalog.Pin{Offer: "retainer", Version: 1}, Charge: "monthly",
		Route: partner.Route{Kind: partner.RouteDirect, Referrer: "refco"}}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"anna": "400.00", "refco": "640.00", "firm": "6960.00"})
	return s, res
}

// The contractor trial's contract: "an SLA credit of 10% of the month's
// retainer (800.00) is borne by the lead contractor", whose part of the
// line is 400.00. Before ShortfallBearerOwes the credit was refused
// (ErrBearerShortfall) or, with shortfall proportional, took 400.00 from
// anna and 400.00 from the others; the host moved the rest with an Adjust
// outside the ledger. With bearer_owes anna gives back 800.00, the
// referrer and the firm nothing, and the ledger records anna's part at
// -400.00 unreversed. A full credit of the rest (7,200.00) then leaves
// every party at zero on the line: anna gets back the 400.00 she gave
// beyond her part, since the customer got back all it paid.
func TestBearerOwesTheSLACreditBeyondItsPart(t *testing.T) {
	s, res := retainerSettled(t)
	anna := settlement.Bearer{Party: "anna"}
	_, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-800.00", "2026-03-20", anna)})
	var be *settlement.BearerError
	require.ErrorAs(t, err, &be)
	require.ErrorIs(t, err, settlement.ErrBearerShortfall)

	anna.Shortfall = settlement.ShortfallBearerOwes
	c1, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-800.00", "2026-03-20", anna)})
	require.NoError(t, err)
	requireParties(t, c1.Entries, map[partner.ID]string{"anna": "-800.00"})
	require.Len(t, c1.Entries, 1)
	e := c1.Entries[0]
	require.Equal(t, "borne by party anna, beyond its part of the line", e.Share)
	require.Equal(t, "credit of L1 by C1, borne by party anna beyond its part of the line: EUR 400.00 more than its EUR 400.00 unreversed", e.Note)
	ll, ok := c1.State.Line("L1")
	require.True(t, ok)
	requireMoney(t, ll.Credited, eur("800.00"))
	unrev := map[partner.ID]ensemble.Money{}
	for _, p := range ll.Parts {
		unrev[p.Party] = p.Unreversed
	}
	requireMoney(t, unrev["anna"], eur("-400.00"))
	requireMoney(t, unrev["refco"], eur("640.00"))
	requireMoney(t, unrev["firm"], eur("6960.00"))

	// The state round-trips, in JSON and binary.
	st := stateRoundTrip(t, c1.State)

	c2, err := s.Settle(ctx, st, []settlement.Line{credit("C2", "L1", "-7200.00", "2026-03-25")})
	require.NoError(t, err)
	requireParties(t, c2.Entries, map[partner.ID]string{"anna": "400.00", "refco": "-640.00", "firm": "-6960.00"})
	all := append(append(append([]settlement.Entry{}, res.Entries...), c1.Entries...), c2.Entries...)
	requireParties(t, all, map[partner.ID]string{"anna": "0.00", "refco": "0.00", "firm": "0.00"})
	ll, _ = c2.State.Line("L1")
	for _, p := range ll.Parts {
		require.True(t, p.Unreversed.IsZero(), "%s: %s", p.Party, p.Unreversed)
	}
	stateRoundTrip(t, c2.State)
}

// stateRoundTrip requires st to read back from its JSON and binary forms, each
// writing the same JSON again, and returns the JSON one.
func stateRoundTrip(t *testing.T, st settlement.State) settlement.State {
	t.Helper()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back))
	again, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(again))
	bin, err := st.MarshalBinary()
	require.NoError(t, err)
	var fromBin settlement.State
	require.NoError(t, fromBin.UnmarshalBinary(bin))
	viaBin, err := json.Marshal(fromBin)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(viaBin))
	return back
}

var _ = errors.Is
