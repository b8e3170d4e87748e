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

// FuzzState reads arbitrary state JSON: it never panics, and a state that
// reads writes back to JSON that reads again.
func FuzzState(f *testing.F) {
	s := newSettler(f)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "10.00", "2026-03-01")})
	require.NoError(f, err)
	b, err := json.Marshal(res.State)
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte(`{"lines":[],"volumes":[]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var st settlement.State
		if json.Unmarshal(doc, &st) != nil {
			return
		}
		out, err := json.Marshal(st)
		require.NoError(t, err)
		var back settlement.State
		require.NoError(t, json.Unmarshal(out, &back))
		_, _ = s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-1.00", "2026-03-02")})
	})
}
