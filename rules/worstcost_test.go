package rules_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/rules"
)

// The slowest rules found that the default budget accepts.
// BenchmarkWorstRules searches the shapes in worstCandidates (every
// operation the library prices, the standard functions it prices, cel-go's
// own reads, literals and conditionals, repeated alone or in a
// comprehension, decimals growing digit by digit, nested comprehensions)
// and the README lists what they cost; BenchmarkWorstRule times these two.
//
// The slowest reads a field and an element of a host's list over and over:
// cel-go charges each read one unit whatever it costs, and reading a host's
// list allocates its view, so no operation the library prices costs more
// time per unit. Its cost does not depend on its inputs. The slowest rule
// whose cost does is the same reads in the body of a comprehension over
// the list, which the runtime limit stops when the list is longer than its
// size hint.
const (
	worstReads       = 329 // the most copies of c.xs[3] the budget accepts
	worstLoopedReads = 13  // the most in the body of a loop over c.xs
)

var (
	worstRule       = repeat(`c.xs[3]`, worstReads)
	worstLoopedRule = "c.xs.map(x, " + list(`c.xs[3]`, worstLoopedReads) + ").size() > 0"
)

func TestWorstRulesFitTheDefaultBudget(t *testing.T) {
	env := costEnv()
	for _, c := range []struct {
		name       string
		rule, more string // the rule, and with one more read
	}{
		{"reads", worstRule, repeat(`c.xs[3]`, worstReads+1)},
		{"reads in a loop", worstLoopedRule, strings.Replace(worstLoopedRule, "[", "[c.xs[3], ", 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := env.Compile(doc(rules.Condition, c.rule))
			require.NoError(t, err)
			require.LessOrEqual(t, r.CostEstimate(), uint64(rules.DefaultCostBudget))
			_, err = env.Compile(doc(rules.Condition, c.more))
			require.ErrorIs(t, err, rules.ErrCostLimit, "one more read must not fit")

			f := worstFacts(env)
			got, err := r.Condition(context.Background(), f)
			require.NoError(t, err)
			require.True(t, got)
			charged, err := rules.RuntimeCost(r, f)
			require.NoError(t, err)
			require.LessOrEqual(t, charged, r.CostEstimate())
		})
	}
}

// Fed lists ten times longer than their size hint, the slowest rule whose
// cost depends on its inputs is stopped by the runtime limit, and the
// slowest rule of all is charged what it was: its time does not grow.
func TestWorstRulesBeyondTheirHints(t *testing.T) {
	env := costEnv()
	long := env.NewFacts()
	require.NoError(t, long.Set("c", costly(40, rules.DefaultSizeHint, 10*costlyHint)))

	looped, err := env.Compile(doc(rules.Condition, worstLoopedRule))
	require.NoError(t, err)
	_, err = looped.Condition(context.Background(), long)
	require.ErrorIs(t, err, rules.ErrCostLimit)
	var ce *rules.CostError
	require.ErrorAs(t, err, &ce)
	require.True(t, ce.Runtime)
	require.Equal(t, uint64(rules.DefaultCostLimit), ce.Limit)

	reads, err := env.Compile(doc(rules.Condition, worstRule))
	require.NoError(t, err)
	short, err := rules.RuntimeCost(reads, worstFacts(env))
	require.NoError(t, err)
	charged, err := rules.RuntimeCost(reads, long)
	require.NoError(t, err)
	require.Equal(t, short, charged)
}

// BenchmarkWorstRule times the slowest rules found that the default budget
// accepts, with inputs at the sizes they assume: the bound the README
// publishes.
func BenchmarkWorstRule(b *testing.B) {
	env := costEnv()
	f := worstFacts(env)
	b.Run("reads", func(b *testing.B) { benchRule(b, env, doc(rules.Condition, worstRule), f) })
	b.Run("reads_in_a_loop", func(b *testing.B) { benchRule(b, env, doc(rules.Condition, worstLoopedRule), f) })
}
