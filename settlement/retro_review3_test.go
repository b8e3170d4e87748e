package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestRetroactiveVolumeOfNobodyKeepsNoRecord: a retroactive share paid to
// the platform reads the volume of the route's referrer, and a line with
// no referrer reads the volume of nobody (zero). The line keeps no record
// of what the rate applied to: before, it recorded one in a volume with no
// partner and no currency, and the State it returned failed to write
// ("parse currency ''"), as the reference property found.
func TestRetroactiveVolumeOfNobodyKeepsNoRecord(t *testing.T) {
	plan := strings.Replace(retroPlan, "party: seller\n      share:\n        cumulative:\n          of: seller",
		"party: platform\n      fallback: platform\n      share:\n        cumulative:\n          of: referrer", 1)
	require.Contains(t, plan, "of: referrer")
	s := planSettler(t, strings.NewReplacer("WINDOW", "calendar_year", "TIERS", retroTiers).Replace(plan), loadNetwork(t))
	l := chainLine("L1", "400000.00", "2026-02-01")
	l.Route.Referrer = ""
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	require.NotContains(t, string(b), "retroactive")
	var st settlement.State
	require.NoError(t, json.Unmarshal(b, &st))
	bin, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, st.UnmarshalBinary(bin))
}
