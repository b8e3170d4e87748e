package settlement_test

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// FuzzPlans loads arbitrary plan documents: loading and validation never
// panic, and a plan that validates settles a line conserving its amount or
// fails with an error.
func FuzzPlans(f *testing.F) {
	data, err := os.ReadFile("testdata/plans.yaml")
	require.NoError(f, err)
	f.Add(data)
	f.Add([]byte(appStorePlan))
	f.Add([]byte(devPlan))
	f.Add([]byte(`{id: p, version: 1, root: {id: root, children: [{id: a, party: "chain[*]", share: "1/3"}, {id: b, party: platform, share: remaining}]}}`))
	f.Add([]byte(`[{"id":"x","version":1,"root":{"id":"r","party":"partner:dev-1"}}]`))
	rs := loadRules(f)
	net := loadNetwork(f)
	lines := []settlement.Line{chainLine("L1", "1000.00", "2026-03-01"), appLine("L2", "0.07", "2026-05-01")}
	f.Fuzz(func(t *testing.T, doc []byte) {
		plans, err := settlement.ParsePlans(doc)
		if err != nil {
			var de *ensemble.DecodeError
			var ve *ensemble.ValidationError
			if !errors.As(err, &de) && !errors.As(err, &ve) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		s, err := settlement.New(settlement.Config{Plans: plans, Rules: rs, Network: net})
		if err != nil {
			return
		}
		for _, l := range lines {
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
			if err != nil {
				continue
			}
			total := sumEntries(res.Entries, settlement.KindEarning, settlement.KindSupplierCost)
			requireMoney(t, total, l.Amount, "line conserves")
		}
		b, err := json.Marshal(plans)
		require.NoError(t, err)
		_, err = settlement.ParsePlans(b)
		require.NoError(t, err, "a plan that loaded loads again from its JSON")
	})
}

// FuzzState reads arbitrary state JSON: it never panics; what it refuses
// is refused with an error matching ErrCorruptState that is a
// *ensemble.DecodeError or holds only *StateError problems; a state that
// reads writes back to JSON that reads again; and settling on it (a credit,
// a dispute and its resolution, a payment and a write-off) either fails or
// leaves a state that reads back too, so every invariant decoding checks is
// one settling keeps.
func FuzzState(f *testing.F) {
	s := newSettler(f)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "10.00", "2026-03-01")})
	require.NoError(f, err)
	b, err := json.Marshal(res.State)
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte(`{"lines":[],"volumes":[]}`))
	credited, err := s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-3.33", "2026-03-02")})
	require.NoError(f, err)
	held, err := s.Dispute(credited.State, "L1", date("2026-03-03"))
	require.NoError(f, err)
	for _, st := range []settlement.State{credited.State, held.State} {
		b, err := json.Marshal(st)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add(ledgerState(f))
	f.Add(collectedState(f)) // L1 payable on collection, partly paid
	f.Add(reserveState(f))   // rolling reserves, partly drawn
	f.Fuzz(func(t *testing.T, doc []byte) {
		var st settlement.State
		if err := st.UnmarshalJSON(doc); err != nil {
			requireStateError(t, err)
			err2 := json.Unmarshal(doc, &st)
			var se *json.SyntaxError
			if !errors.As(err2, &se) {
				requireStateError(t, err2)
			}
			return
		}
		out, err := json.Marshal(st)
		require.NoError(t, err)
		var back settlement.State
		require.NoError(t, json.Unmarshal(out, &back))
		for _, step := range []func(settlement.State) (settlement.Result, error){
			func(st settlement.State) (settlement.Result, error) {
				return s.Settle(ctx, st, []settlement.Line{credit("C9", "L1", "-1.00", "2026-03-02")})
			},
			func(st settlement.State) (settlement.Result, error) { return s.Dispute(st, "L1", date("2026-03-04")) },
			func(st settlement.State) (settlement.Result, error) {
				return s.ResolveDispute(st, "L1", false, date("2026-03-05"))
			},
			func(st settlement.State) (settlement.Result, error) {
				return s.Collect(st, settlement.Collection{ID: "PAY-9", Date: date("2026-03-06"), Amount: eur("0.50"), Lines: []settlement.LineID{"L1"}})
			},
			func(st settlement.State) (settlement.Result, error) {
				return s.WriteOff(st, settlement.Collection{ID: "WO-9", Date: date("2026-03-07"), Amount: eur("0.30"), Lines: []settlement.LineID{"L1"}})
			},
		} {
			res, err := step(back)
			if err != nil {
				continue
			}
			out, err := json.Marshal(res.State)
			require.NoError(t, err)
			var next settlement.State
			require.NoError(t, json.Unmarshal(out, &next), "a state settling leaves reads back: %s", out)
			back = next
		}
	})
}

// requireStateError checks that err is what State.UnmarshalJSON promises:
// it matches ErrCorruptState, and is a *ensemble.DecodeError or a
// *ensemble.ValidationError whose every problem is a *StateError.
func requireStateError(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	var de *ensemble.DecodeError
	if errors.As(err, &de) {
		return
	}
	var ve *ensemble.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	require.NotEmpty(t, ve.Problems)
	for _, p := range ve.Problems {
		var se *settlement.StateError
		if !errors.As(p, &se) {
			t.Fatalf("problem %q is not a *StateError: %T", p.Path, p.Err)
		}
	}
}
