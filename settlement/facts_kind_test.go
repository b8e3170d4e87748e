package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestResentSaleWithAnotherKindConflicts: rules read a line's kind
// (line.kind), so a sale sent again under its id with another kind is
// another sale's facts: ErrLineConflict, where it was ErrAlreadySettled
// alone, a retry a host drops, though a rule keeping a node off
// early-termination fees would have paid it otherwise. Sent again with
// the same kind it is a retry; a state whose sale was printed before
// kinds were (its facts lack it) takes it for a retry whatever its kind.
func TestResentSaleWithAnotherKindConflicts(t *testing.T) {
	s := newSettler(t)
	l := chainLine("L1", "1000.00", "2026-03-04")
	l.Kind = "recurring"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)

	same := l
	_, err = s.Settle(ctx, res.State, []settlement.Line{same})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	require.NotErrorIs(t, err, settlement.ErrLineConflict)

	other := l
	other.Kind = "early_termination"
	_, err = s.Settle(ctx, res.State, []settlement.Line{other})
	require.ErrorIs(t, err, settlement.ErrLineConflict)

	// A state written before kinds were printed.
	js, err := json.Marshal(res.State)
	require.NoError(t, err)
	now, before := settlement.PrintFacts(&l), settlement.PrintFactsWithoutKind(&l)
	require.NotEqual(t, now, before)
	old := strings.Replace(string(js), `"facts":"`+now+`"`, `"facts":"`+before+`"`, 1)
	require.NotEqual(t, string(js), old)
	var st settlement.State
	require.NoError(t, json.Unmarshal([]byte(old), &st))
	for _, k := range []string{"recurring", "early_termination"} {
		again := l
		again.Kind = k
		_, err = s.Settle(ctx, st, []settlement.Line{again})
		require.ErrorIs(t, err, settlement.ErrAlreadySettled, k)
		require.NotErrorIs(t, err, settlement.ErrLineConflict, k)
	}
}
