package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestDecodedDisputeAmountEditedIsRefused: a dispute of 400.00 of a
// 1,000.00 line paid on settlement, its disputed amount raised to 900.00 by
// hand in the State's JSON, read back without error, and losing it clawed
// back 900.00 where 400.00 was held; a hold zeroed read back too. Each
// part of such a line holds exactly its share of the amount: both edits
// are ErrCorruptState.
func TestDecodedDisputeAmountEditedIsRefused(t *testing.T) {
	s, res := settledPartial(t, "")
	d, err := s.DisputeAmount(res.State, "L1", eur("400.00"), date("2026-03-10"))
	require.NoError(t, err)
	js, err := json.Marshal(d.State)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(js, &back), "the state as written reads")
	for _, edit := range [][2]string{
		{`"disputed_amount":{"amount":"400.00","currency":"EUR"}`, `"disputed_amount":{"amount":"900.00","currency":"EUR"}`},
		{`"held":{"amount":"200.00","currency":"EUR"}`, `"held":{"amount":"0.00","currency":"EUR"}`},
	} {
		ed := strings.Replace(string(js), edit[0], edit[1], 1)
		require.NotEqual(t, string(js), ed, edit[0])
		var st settlement.State
		require.ErrorIs(t, json.Unmarshal([]byte(ed), &st), settlement.ErrCorruptState, edit[1])
	}
}
