package settlement_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

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

// In the other order, the month refunded first (7,200.00 in proportion:
// anna 360.00, refco 576.00, the firm 6,264.00) and the SLA credit last,
// 800.00 borne by anna, bearer_owes, takes all the line has left: every
// part gives back what it has (anna 40.00, refco 64.00, the firm 696.00)
// and every party ends at zero, as in the trial's order. A credit of all
// a line has left undoes it, whoever bears it: the customer got back all
// it paid, so nobody keeps anything of the line.
func TestBearerOwesLastCreditTakesWhatIsLeft(t *testing.T) {
	s, res := retainerSettled(t)
	c1, err := s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-7200.00", "2026-03-20")})
	require.NoError(t, err)
	requireParties(t, c1.Entries, map[partner.ID]string{"anna": "-360.00", "refco": "-576.00", "firm": "-6264.00"})
	c2, err := s.Settle(ctx, c1.State, []settlement.Line{bearerCredit("C2", "-800.00", "2026-03-25",
		settlement.Bearer{Party: "anna", Shortfall: settlement.ShortfallBearerOwes})})
	require.NoError(t, err)
	requireParties(t, c2.Entries, map[partner.ID]string{"anna": "-40.00", "refco": "-64.00", "firm": "-696.00"})
	for _, e := range c2.Entries {
		require.Equal(t, "credit of L1 by C2, borne by party anna, which takes all the line has left: every part gives back what it has unreversed", e.Note)
	}
}

// stateRoundTrip requires st to read back from its JSON and binary forms, each
// writing the same JSON again, and returns the JSON one.
func stateRoundTrip(t require.TestingT, st settlement.State) settlement.State {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
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

// owedState credits the retainer's SLA credit, 800.00 borne by anna beyond
// her 400.00, and returns the settler, the entries so far and the state.
func owedState(t *testing.T) (*settlement.Settler, []settlement.Entry, settlement.State) {
	t.Helper()
	s, res := retainerSettled(t)
	c1, err := s.Settle(ctx, res.State, []settlement.Line{bearerCredit("C1", "-800.00", "2026-03-20",
		settlement.Bearer{Party: "anna", Shortfall: settlement.ShortfallBearerOwes})})
	require.NoError(t, err)
	return s, append(slices.Clone(res.Entries), c1.Entries...), c1.State
}

// After anna owed 400.00 beyond her part (unreversed: anna -400.00, refco
// 640.00, firm 6,960.00, 7,200.00 in all), later credits:
//   - 720.00 in proportion: the owing part gets back its share, 720 ×
//     400/7,200 = 40.00, and the others give back 760.00 by what they
//     have: refco 64.00, firm 696.00;
//   - 100.00 borne by refco: refco alone;
//   - 100.00 more borne by anna, bearer_owes: anna gives it all (her part
//     goes to -500.00); with the default shortfall it is refused (she has
//     -400.00), and with shortfall proportional the others give it all,
//     by what they have: refco 100 × 640/7,600 = 8.42, firm 91.58;
//   - a credit of all that is left zeroes every party.
func TestBearerOwesLaterCredits(t *testing.T) {
	s, entries, st := owedState(t)
	for _, tc := range []struct {
		name   string
		line   settlement.Line
		want   map[partner.ID]string
		refuse error
	}{
		{"proportional", credit("C2", "L1", "-720.00", "2026-03-25"), map[partner.ID]string{"anna": "40.00", "refco": "-64.00", "firm": "-696.00"}, nil},
		{"borne by refco", bearerCredit("C2", "-100.00", "2026-03-25", settlement.Bearer{Party: "refco"}), map[partner.ID]string{"refco": "-100.00"}, nil},
		{"anna owes more", bearerCredit("C2", "-100.00", "2026-03-25", settlement.Bearer{Party: "anna", Shortfall: settlement.ShortfallBearerOwes}),
			map[partner.ID]string{"anna": "-100.00"}, nil},
		{"anna has nothing", bearerCredit("C2", "-100.00", "2026-03-25", settlement.Bearer{Party: "anna"}), nil, settlement.ErrBearerShortfall},
		{"anna has nothing, the others make it up", bearerCredit("C2", "-100.00", "2026-03-25", settlement.Bearer{Party: "anna", Shortfall: settlement.ShortfallProportional}),
			map[partner.ID]string{"refco": "-8.42", "firm": "-91.58"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Settle(ctx, st, []settlement.Line{tc.line})
			if tc.refuse != nil {
				require.ErrorIs(t, err, tc.refuse)
				return
			}
			require.NoError(t, err)
			requireParties(t, got.Entries, tc.want)
			next := stateRoundTrip(t, got.State)
			all := append(slices.Clone(entries), got.Entries...)
			ll, _ := next.Line("L1")
			rest, err := ll.Credited.Sub(ll.Basis)
			require.NoError(t, err)
			end, err := s.Settle(ctx, next, []settlement.Line{credit("C3", "L1", rest.AmountString(), "2026-03-28")})
			require.NoError(t, err)
			all = append(all, end.Entries...)
			requireParties(t, all, map[partner.ID]string{"anna": "0.00", "refco": "0.00", "firm": "0.00"})
		})
	}
}

// A dispute of a line whose bearer owed beyond its part holds nothing of
// that part; lost in full, it zeroes every party as a full credit does.
func TestBearerOwesThenDispute(t *testing.T) {
	s, entries, st := owedState(t)
	d, err := s.Dispute(st, "L1", date("2026-03-22"))
	require.NoError(t, err)
	held := byParty(d.Entries, settlement.KindHold)
	require.NotContains(t, held, partner.ID("anna"))
	requireMoney(t, held["refco"], eur("640.00"))
	stateRoundTrip(t, d.State)
	r, err := s.ResolveDispute(d.State, "L1", false, date("2026-03-30"))
	require.NoError(t, err)
	all := append(append(entries, d.Entries...), r.Entries...)
	requireParties(t, all, map[partner.ID]string{"anna": "0.00", "refco": "0.00", "firm": "0.00"})

	// A lost dispute or a write-off cannot make its bearer owe beyond
	// its part.
	d, err = s.Dispute(st, "L1", date("2026-03-22"))
	require.NoError(t, err)
	_, err = s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: eur("100.00"),
		Bearer: settlement.Bearer{Party: "anna", Shortfall: settlement.ShortfallBearerOwes}}, date("2026-03-30"))
	require.ErrorIs(t, err, settlement.ErrInvalidDispute)
}

// On a line payable on collection the bearer cannot owe beyond its part:
// what each part awaits of the customer's payment stays within what it
// has. The credit is refused (ErrBearerOwes) and changes nothing; a
// write-off cannot name bearer_owes at all.
func TestBearerOwesRefusedOnCollection(t *testing.T) {
	s, _, st := settledCollect(t)
	c := bearerCredit("C1", "-20.00", "2026-03-20", settlement.Bearer{Role: "referrer", Shortfall: settlement.ShortfallBearerOwes})
	c.Tax = eur("-3.80")
	got, err := s.Settle(ctx, st, []settlement.Line{c})
	require.ErrorIs(t, err, settlement.ErrBearerOwes)
	var be *settlement.BearerError
	require.ErrorAs(t, err, &be)
	require.Contains(t, err.Error(), "balance on collection")
	require.Empty(t, got.Entries)
	c.Amount, c.Tax = eur("-10.00"), eur("-1.90") // within the referrer's 15.00
	_, err = s.Settle(ctx, st, []settlement.Line{c})
	require.NoError(t, err)
	_, err = s.WriteOff(st, settlement.Collection{ID: "WO-1", Date: date("2026-04-30"), Amount: eur("10.00"), Lines: []settlement.LineID{"L1"},
		Bearer: settlement.Bearer{Role: "referrer", Shortfall: settlement.ShortfallBearerOwes}})
	require.ErrorIs(t, err, settlement.ErrInvalidCollection)
}

// A hand-edited state cannot put a part below zero: only a part a credit
// of its line whose bearer owed beyond its part bears goes there.
func TestBearerOwesStateRefusesHandEdits(t *testing.T) {
	_, _, st := owedState(t)
	b, err := json.Marshal(st)
	require.NoError(t, err)
	for _, tc := range []struct {
		name, from, to, want string
	}{
		// refco below zero, the firm making up the sum: no credit bears refco.
		{"another party below zero", `"unreversed":{"amount":"640.00"`, `"unreversed":{"amount":"-1.00"`, "no credit of the line whose bearer owes"},
		// The credit no longer says bearer_owes.
		{"the credit does not owe", `"shortfall":"bearer_owes"`, `"shortfall":"proportional"`, "no credit of the line whose bearer owes"},
		// Beyond the basis.
		{"below amount less basis", `"unreversed":{"amount":"-400.00"`, `"unreversed":{"amount":"-7700.00"`, "outside [0, amount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := strings.Replace(string(b), tc.from, tc.to, 1)
			require.NotEqual(t, string(b), edited)
			var back settlement.State
			err := json.Unmarshal([]byte(edited), &back)
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// The clawback's note says the credit was borne beyond the bearer's part,
// and Explain shows it under the credited line; anna's statement shows
// the 400.00 she earned and the 800.00 clawed back.
func TestBearerOwesExplained(t *testing.T) {
	_, entries, _ := owedState(t)
	text, err := settlement.Explain("L1", entries)
	require.NoError(t, err)
	require.Contains(t, text, "borne by party anna beyond its part of the line: EUR 400.00 more than its EUR 400.00 unreversed")
	text, err = settlement.Explain("C1", entries)
	require.NoError(t, err)
	require.Contains(t, text, "clawback EUR -800.00 -> anna (of entry L1:root/lead), borne by party anna, beyond its part of the line")
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))})
	require.NoError(t, err)
	found := false
	for _, st := range sts {
		if st.Party == "anna" {
			found = true
			requireMoney(t, st.Closing, eur("-400.00"))
		}
	}
	require.True(t, found)
	b, err := json.Marshal(bearerCredit("C1", "-1.00", "2026-03-20", settlement.Bearer{Party: "anna", Shortfall: settlement.ShortfallBearerOwes}))
	require.NoError(t, err)
	require.Contains(t, string(b), `"bearer":{"party":"anna","shortfall":"bearer_owes"}`)
}

// Property: on the retainer line of a random basis, credits of random
// sizes borne by random parties, bearer_owes among them, conserve money
// (each credit's clawbacks add up to it, the parts' unreversed amounts to
// the basis less what was credited), the state reads back, and a credit
// of all that is left nets every party to zero.
func TestPropertyBearerOwesConservesAndZeroes(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(`
partners:
  - {id: anna, name: Anna, type: contractor, terms: [{from: 2026-01-01T00:00:00Z}]}
  - {id: refco, name: Referral partner, type: referral, terms: [{from: 2026-01-01T00:00:00Z}]}
`))
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(retainerPlan))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: net, Platform: "firm"})
	require.NoError(t, err)
	rapid.Check(t, func(t *rapid.T) {
		basis := rapid.Int64Range(1, 10_000_000).Draw(t, "basis")
		l := settlement.Line{ID: "L1", Date: date("2026-03-01"), Amount: ensemble.MoneyFromMinor(basis, ensemble.MustCurrency("EUR")), Tax: eur("0"),
			Offer: catalog.Pin{Offer: "retainer", Version: 1}, Charge: "monthly",
			Route: partner.Route{Kind: partner.RouteDirect, Referrer: "refco"}}
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		st, all := res.State, slices.Clone(res.Entries)
		left := basis
		for k := range rapid.IntRange(0, 5).Draw(t, "credits") {
			if left == 0 {
				break
			}
			x := rapid.Int64Range(1, left).Draw(t, "credit")
			var b settlement.Bearer
			if p := rapid.SampledFrom([]partner.ID{"", "anna", "refco", "firm"}).Draw(t, "bearer"); p != "" {
				b = settlement.Bearer{Party: p, Shortfall: settlement.Shortfall(rapid.IntRange(0, 2).Draw(t, "shortfall"))}
			}
			c := bearerCredit(fmt.Sprintf("C%d", k), ensemble.MoneyFromMinor(-x, ensemble.MustCurrency("EUR")).AmountString(), "2026-03-20", b)
			got, err := s.Settle(ctx, st, []settlement.Line{c})
			if errors.Is(err, settlement.ErrBearerShortfall) || errors.Is(err, settlement.ErrBearerNotOnLine) { // a party paid nothing has no part
				continue
			}
			require.NoError(t, err)
			var sum int64
			for _, e := range got.Entries {
				require.Equal(t, settlement.KindClawback, e.Kind)
				u, err := e.Amount.MinorUnits()
				require.NoError(t, err)
				sum += u
			}
			require.Equal(t, -x, sum, "the clawbacks add up to the credit")
			if b.Shortfall != settlement.ShortfallBearerOwes {
				// Only a bearer owing beyond its part gives back more
				// than it has.
				ll, _ := st.Line("L1")
				for _, e := range got.Entries {
					for _, p := range ll.Parts {
						if p.Entry == e.Reverses {
							after, err := p.Unreversed.Add(e.Amount)
							require.NoError(t, err)
							require.False(t, after.IsNegative() && !p.Unreversed.IsNegative(), "%s passes zero", p.Entry)
						}
					}
				}
			}
			st, all, left = stateRoundTrip(t, got.State), append(all, got.Entries...), left-x
			ll, _ := st.Line("L1")
			var unrev int64
			for _, p := range ll.Parts {
				u, err := p.Unreversed.MinorUnits()
				require.NoError(t, err)
				unrev += u
			}
			require.Equal(t, left, unrev, "the parts leave the basis less what was credited")
		}
		if left > 0 {
			got, err := s.Settle(ctx, st, []settlement.Line{credit("CZ", "L1", ensemble.MoneyFromMinor(-left, ensemble.MustCurrency("EUR")).AmountString(), "2026-03-28")})
			require.NoError(t, err)
			all = append(all, got.Entries...)
		}
		for p, m := range byParty(all, settlement.KindEarning, settlement.KindClawback) {
			require.True(t, m.IsZero(), "%s ends at %s", p, m)
		}
	})
}
