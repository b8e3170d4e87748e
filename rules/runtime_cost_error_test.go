package rules_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/rules"
)

// TestRuntimeCostErrorSaysWhatWasLarger: a rule accepted under the budget
// and stopped at run time by the cost limit says why: its estimate when
// compiled, for inputs within their size hints, and the facts it reads,
// one of which was larger. A trial's partner rule looping over the
// partner's attributes (size hint 100) met a partner with 400 and failed
// with "exceeded the runtime cost limit 1000" alone (Line 0, Column 0, no
// estimate, no hint): nothing said which input to look at.
func TestRuntimeCostErrorSaysWhatWasLarger(t *testing.T) {
	env := mustEnv(rules.SizeHint("order.flags", 10), rules.CostLimit(1_000))
	r, err := env.Compile(doc(rules.Condition, `order.flags.exists(f, f == "other")`))
	require.NoError(t, err)
	require.LessOrEqual(t, r.CostEstimate(), uint64(1_000))
	huge := make([]string, 400)
	for i := range huge {
		huge[i] = "flag"
	}
	f := env.NewFacts()
	require.NoError(t, f.Set("order", &Order{Flags: huge}))
	_, err = r.Eval(context.Background(), f)
	require.ErrorIs(t, err, rules.ErrCostLimit)
	var ce *rules.CostError
	require.ErrorAs(t, err, &ce)
	require.True(t, ce.Runtime)
	require.Equal(t, "expression", ce.Field)
	require.Equal(t, r.CostEstimate(), ce.Estimate, "the estimate when compiled")
	require.Contains(t, ce.Hint, "order.flags")
	require.Contains(t, err.Error(), `rule "r" v1 exceeded the runtime cost limit 1000`)
	require.Contains(t, err.Error(), fmt.Sprintf("estimated at most %d when compiled", r.CostEstimate()))
	require.Contains(t, err.Error(), "larger than its size hint")
	require.Contains(t, err.Error(), "it reads order.flags")
}
