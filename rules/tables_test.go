package rules_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

const rateCard = `
- id: reseller_rates
  version: 1
  kind: table
  env_version: 1
  expression: '{"gold": percent(30), "silver": percent(25), "unspecified": percent(20)}'
- id: reseller_rates
  version: 2
  kind: table
  env_version: 1
  effective_from: 2026-07-01T00:00:00Z
  expression: '{"gold": percent(32), "silver": percent(26), "unspecified": percent(20)}'
- id: reseller-share
  version: 1
  kind: share
  env_version: 1
  expression: reseller_rates[string(partner.tier)]
  tests:
    - {name: gold, facts: {partner: {tier: gold}}, want: "0.30"}
    - {name: gold from July, at: 2026-07-01T00:00:00Z, facts: {partner: {tier: gold}}, want: "0.32"}
- id: reseller-fee
  version: 1
  kind: amount
  env_version: 1
  expression: line.amount * reseller_rates[string(partner.tier)]
`

// TestTablesSharedAndVersioned: one rate card read by two rules; a second
// version of the card from July changes both, with no new rule version.
func TestTablesSharedAndVersioned(t *testing.T) {
	env := mustEnv()
	set, err := env.LoadRuleSet(rules.File{Name: "rates.yaml", Data: []byte(rateCard)})
	require.NoError(t, err)
	require.NoError(t, set.RunTests(context.Background()))
	facts := sampleFacts(env) // a gold partner, a EUR 150.00 line
	for _, c := range []struct {
		at         time.Time
		share, fee string
		table      string
	}{
		{time.Date(2026, 6, 30, 23, 0, 0, 0, time.UTC), "0.30", "45.00", "1"},
		{time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), "0.32", "48.00", "2"},
	} {
		share, err := set.At("reseller-share", c.at)
		require.NoError(t, err)
		got, err := share.Share(context.Background(), facts)
		require.NoError(t, err)
		require.True(t, got.Equal(decimal.RequireFromString(c.share)), "%s: %s", c.at, got)
		require.Equal(t, []ensemble.Ref{{Kind: rules.RefKindTable, ID: "reseller_rates", Version: c.table}}, share.Tables())

		fee, err := set.At("reseller-fee", c.at)
		require.NoError(t, err)
		m, err := fee.Amount(context.Background(), facts)
		require.NoError(t, err)
		require.True(t, m.Equal(ensemble.MustMoney(c.fee, "EUR")), "%s: %s", c.at, m)
	}
	// A table is read, not evaluated.
	tbl, err := set.At("reseller_rates", time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, 2, tbl.Version())
	_, err = tbl.Eval(context.Background(), facts)
	require.ErrorIs(t, err, rules.ErrWrongKind)
	// Alone, without its set, a rule that reads a table does not compile.
	r, _ := set.Rule("reseller-share", 1)
	_, err = env.Compile(r.Document())
	require.ErrorContains(t, err, "undeclared reference to 'reseller_rates'")
}

func TestTableErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"a table reads facts", `
- {id: rates, version: 1, kind: table, env_version: 1, expression: 'line.amount'}`,
			`rules: t.yaml:2:68: rule "rates" v1: expression: a table is a constant: it cannot read [line.amount]`},
		{"versions of different types", `
- {id: rates, version: 1, kind: table, env_version: 1, expression: 'percent(3)'}
- {id: rates, version: 2, kind: table, env_version: 1, expression: '"3%"'}`,
			`rules: t.yaml:3:68: rule "rates" v2: expression: table "rates" v2 is of type string, but v1 is of type decimal: every version of a table has one type`},
		{"a table named like a variable", `
- {id: partner, version: 1, kind: table, env_version: 1, expression: '1'}`,
			`rules: t.yaml:2:8: rule "partner" v1: id: table "partner" has the name of a variable`},
		{"an id that is not a name", `
- {id: reseller-rates, version: 1, kind: table, env_version: 1, expression: '1'}`,
			`id: a table's id is the name rules read it by`},
		{"a rule outlives its table", `
- {id: rates, version: 1, kind: table, env_version: 1, effective_until: 2026-07-01T00:00:00Z, expression: 'percent(3)'}
- {id: share, version: 1, kind: share, env_version: 1, expression: 'rates'}`,
			`rules: t.yaml:3:68: rule "share" v1: expression: reads table "rates", which has no version in force from 2026-07-01T00:00:00Z until forever`},
		{"a test case outside its rule's span", `
- {id: r, version: 1, kind: condition, env_version: 1, effective_from: 2026-01-01T00:00:00Z, expression: 'true', tests: [{name: x, at: 2025-01-01T00:00:00Z, want: true}]}`,
			`tests[0].at: 2025-01-01T00:00:00Z is outside the rule's effective span`},
		{"a table with test cases", `
- {id: rates, version: 1, kind: table, env_version: 1, expression: '1', tests: [{name: x, want: 1}]}`,
			`tests: a table has no test cases: test the rules that read it`},
	}
	env := mustEnv()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.LoadRuleSet(rules.File{Name: "t.yaml", Data: []byte(tt.src)})
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestTableShadowedByComprehensionVariable: a comprehension variable named
// like a table is the comprehension's own, so the rule reads no table.
func TestTableShadowedByComprehensionVariable(t *testing.T) {
	env := mustEnv()
	set, err := env.LoadRuleSet(rules.File{Name: "t.yaml", Data: []byte(`
- {id: tags, version: 1, kind: table, env_version: 1, expression: '["promo"]'}
- {id: promo, version: 1, kind: condition, env_version: 1, expression: 'line.tags.exists(tags, tags == "promo")'}
- {id: listed, version: 1, kind: condition, env_version: 1, expression: 'line.tags.exists(t, t in tags)'}
`)})
	require.NoError(t, err)
	r, _ := set.Rule("promo", 1)
	require.Empty(t, r.Tables())
	r, _ = set.Rule("listed", 1)
	require.Len(t, r.Tables(), 1)
	ok, err := r.Condition(context.Background(), sampleFacts(env))
	require.NoError(t, err)
	require.True(t, ok)
}

// TestTimeline: a rule's timeline splits where the table it reads changes
// version, and each stretch's rule is what At returns in it.
func TestTimeline(t *testing.T) {
	env := mustEnv()
	set, err := env.LoadRuleSet(rules.File{Name: "rates.yaml", Data: []byte(rateCard)})
	require.NoError(t, err)
	july := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	spans := set.Timeline("reseller-share")
	require.Len(t, spans, 2)
	require.True(t, spans[0].From.IsZero() && spans[0].Until.Equal(july))
	require.True(t, spans[1].From.Equal(july) && spans[1].Until.IsZero())
	require.Equal(t, "1", spans[0].Rule.Tables()[0].Version)
	require.Equal(t, "2", spans[1].Rule.Tables()[0].Version)
	at, err := set.At("reseller-share", july.AddDate(0, 1, 0))
	require.NoError(t, err)
	require.Same(t, spans[1].Rule, at)
	require.Empty(t, set.Timeline("nope"))
}
