package rules_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/rules"
)

func TestCheckReportsEachRule(t *testing.T) {
	env := mustEnv()
	rep := env.Check(context.Background(),
		rules.File{Name: "good.yaml", Data: []byte(`
- id: gold
  version: 1
  kind: share
  env_version: 1
  expression: 'partner.tier == "gold" ? percent(30) : percent(25)'
  tests:
    - {name: gold, facts: {partner: {tier: gold}}, want: "0.30"}
    - {name: silver, facts: {partner: {tier: silver}}, want: "0.20"}
- id: untested
  version: 1
  kind: condition
  env_version: 1
  expression: route.depth > 1
`)},
		rules.File{Name: "bad.yaml", Data: []byte(`
id: broken
version: 1
kind: share
env_version: 1
expression: dec("1") / dec("3")
`)})
	require.False(t, rep.OK())
	require.Len(t, rep.Rules, 3)

	gold := rep.Rules[0]
	require.True(t, gold.Compiled)
	require.False(t, gold.OK)
	require.Equal(t, []string{"partner.tier"}, gold.Reads)
	require.Positive(t, gold.Cost)
	require.Equal(t, []rules.CaseReport{
		{Name: "gold", Pass: true, Line: 8, Column: 7},
		{Name: "silver", Pass: false, Message: "got 0.25, want 0.2", Line: 9, Column: 7},
	}, gold.Tests)

	require.True(t, rep.Rules[1].OK, "a rule without tests compiles and passes")
	require.Len(t, rep.Warnings, 1)
	require.Equal(t, "good.yaml:10:3: warning: rule \"untested\" v1: no test cases: add tests beside the rule so that a change that alters a payout fails here", rep.Warnings[0].String())

	broken := rep.Rules[2]
	require.False(t, broken.Compiled)
	require.Len(t, rep.Problems, 1)
	p := rep.Problems[0]
	require.Equal(t, [3]any{"bad.yaml", 6, 22}, [3]any{p.Source, p.Line, p.Column})
	require.Contains(t, p.Hint, `dec("1").div(dec("3"), 4)`)
	require.Contains(t, p.String(), "bad.yaml:6:22: error: rule \"broken\" v1: expression 1:10: there is no / in rules")

	// It marshals for CI.
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	require.Contains(t, string(b), `"severity":"error"`)
}
