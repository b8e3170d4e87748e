package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// A line credited in full after its clawback windows keeps the bonuses
// (the platform, the windows' bearer, below zero): nothing is left
// unreversed, so a dispute opened on it disputes nothing and holds
// nothing, the kept bonuses included, and the State it writes reads back
// (the reader used to require a whole dispute to hold all each part has
// unreversed: "an open dispute holds 0, and reserves 0, not together the
// unreversed EUR 3000.00 less the awaiting 0", seed 9960101581026495412 of
// TestPropertyReferenceSettler). Won, it releases nothing, and the parts
// keep what they had.
func TestDisputeOfALineCreditedInFullPastItsWindows(t *testing.T) {
	s, st := programSettled(t, "on_settlement", "{within_days: 90}")
	r, err := s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-100000.00", "2026-08-01")})
	require.NoError(t, err)
	kept := map[string]string{"root/tier": "0.00", "root/dealreg": "3000.00", "root/newlogo": "500.00", "root/mdf": "0.00",
		"root/platform": "-3500.00"}
	require.Equal(t, kept, partsOf(t, r.State, "L1"))

	d, err := s.Dispute(r.State, "L1", date("2026-08-20"))
	require.NoError(t, err)
	require.Empty(t, d.Entries)
	ll, ok := d.State.Line("L1")
	require.True(t, ok)
	require.True(t, ll.Disputed)
	for _, p := range ll.Parts {
		require.True(t, p.Held.IsZero(), "%s holds %s", p.Node, p.Held)
	}
	js, err := json.Marshal(d.State)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(js, &back))
	bin, err := d.State.MarshalBinary()
	require.NoError(t, err)
	var fromBin settlement.State
	require.NoError(t, fromBin.UnmarshalBinary(bin))
	require.JSONEq(t, string(js), string(mustJSON(t, fromBin)))

	won, err := s.ResolveDispute(back, "L1", true, date("2026-09-01"))
	require.NoError(t, err)
	require.Empty(t, won.Entries)
	require.Equal(t, kept, partsOf(t, won.State, "L1"))

	// A hold of what the kept bonus has is refused: the dispute disputes
	// nothing.
	var raw map[string]any
	require.NoError(t, json.Unmarshal(js, &raw))
	for _, p := range raw["lines"].([]any)[0].(map[string]any)["parts"].([]any) {
		if pm := p.(map[string]any); pm["node"] == "root/dealreg" {
			pm["held"] = map[string]any{"amount": "3000.00", "currency": "EUR"}
		}
	}
	bad, err := json.Marshal(raw)
	require.NoError(t, err)
	var refused settlement.State
	err = json.Unmarshal(bad, &refused)
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	require.ErrorContains(t, err, "holds EUR 3000.00")
}
