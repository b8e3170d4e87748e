package settlement_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

const tierPlan = `
id: tiers
version: 1
root:
  id: root
  children:
    - {id: reseller, party: reseller, share: {rule: tier-share}}
    - {id: platform, party: platform, share: remaining}
`

// tierRule pays gold resellers more; the comprehension keeps the runtime
// cost limit on whatever the environment's options.
const tierRule = `
- id: tier-share
  version: 1
  kind: share
  env_version: 1
  expression: '["gold", "platinum"].exists(t, t == partner.tier) ? percent(12) : percent(10)'
`

func tierSettler(t *testing.T, opts ...rules.Option) (*settlement.Settler, error) {
	t.Helper()
	env, err := settlement.Env(opts...)
	require.NoError(t, err)
	rs, err := env.LoadRuleSet(rules.File{Name: "tier.yaml", Data: []byte(tierRule)})
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(tierPlan))
	require.NoError(t, err)
	return settlement.New(settlement.Config{Plans: plans, Rules: rs, Network: loadNetwork(t)})
}

// TestNewUsesHostRules: New uses the host's rules as compiled, with the
// options of the environment the host built: a cost limit the host sets
// stops the settler's evaluations, where a settler that compiled the rules
// again in an environment of its own would have used the default limit.
func TestNewUsesHostRules(t *testing.T) {
	lines := []settlement.Line{chainLine("L1", "100", "2026-03-01")}
	s, err := tierSettler(t)
	require.NoError(t, err)
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	requireMoney(t, byParty(res.Entries)["reseller-nl"], eur("12")) // gold from 2026-02-01

	s, err = tierSettler(t, rules.CostLimit(3))
	require.NoError(t, err)
	_, err = s.Settle(ctx, settlement.State{}, lines)
	require.ErrorIs(t, err, settlement.ErrRule)
	var ce *rules.CostError
	require.ErrorAs(t, err, &ce)
	require.True(t, ce.Runtime)
	require.EqualValues(t, 3, ce.Limit)
}

// TestNewRefusesForeignEnv: a rule set compiled in an environment
// settlement.Env did not build is refused with an *EnvError naming what
// differs, never compiled again; one compiled in an environment declaring
// exactly settlement's variables and types is used.
func TestNewRefusesForeignEnv(t *testing.T) {
	type otherLine struct {
		ID string `json:"id"`
	}
	doc := rules.Document{ID: "r", Version: 1, Kind: rules.Condition, EnvVersion: rules.Version1, Expression: `true`}
	plans, err := settlement.ParsePlans([]byte(strings.ReplaceAll(tierPlan, "{rule: tier-share}", "\"10%\", condition: r")))
	require.NoError(t, err)
	same := []rules.Option{
		rules.Var[settlement.LineFacts](settlement.VarLine), rules.Var[settlement.OfferFacts](settlement.VarOffer),
		rules.Var[settlement.RouteFacts](settlement.VarRoute), rules.Var[settlement.CustomerFacts](settlement.VarCustomer),
		rules.Var[partner.Snapshot](settlement.VarPartner), rules.Var[settlement.VolumeFacts](settlement.VarVolume),
	}
	tests := []struct {
		name                       string
		opts                       []rules.Option
		missing, extra, mismatched []string
	}{
		{"settlement's variables declared by hand", same, nil, nil, nil},
		{"an extra variable", append(same[:6:6], rules.Var[otherLine]("order")), nil, []string{"order"}, nil},
		{"a variable missing", same[:5], []string{"volume"}, nil, nil},
		{"a variable of another type", append([]rules.Option{rules.Var[otherLine](settlement.VarLine)}, same[1:]...), nil, nil, []string{"line"}},
		{"another package's environment", []rules.Option{rules.Var[partner.Snapshot]("partner"), rules.Var[otherLine]("actor")},
			[]string{"customer", "line", "offer", "route", "volume"}, []string{"actor"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := rules.NewEnv(tc.opts...)
			require.NoError(t, err)
			rs, err := env.NewRuleSet(doc)
			require.NoError(t, err)
			s, err := settlement.New(settlement.Config{Plans: plans, Rules: rs, Network: loadNetwork(t)})
			if tc.missing == nil && tc.extra == nil && tc.mismatched == nil {
				require.NoError(t, err)
				_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100", "2026-03-01")})
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, settlement.ErrForeignEnv)
			var ee *settlement.EnvError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, tc.missing, ee.Missing)
			require.Equal(t, tc.extra, ee.Extra)
			require.Equal(t, tc.mismatched, ee.Mismatched)
			require.Contains(t, err.Error(), "compile them with settlement.Env")
			require.Nil(t, s)
		})
	}
	var ee *settlement.EnvError
	_, err = settlement.New(settlement.Config{Plans: plans, Rules: &rules.RuleSet{}})
	require.True(t, errors.As(err, &ee), "a rule set without an environment: %v", err)
}

// TestNewCompilesNothing: building a settler compiles no rule (compiling
// one costs over 1,200 allocations; New compiled each rule three or four
// times before): 40 rules a plan names add fewer than 400 allocations each
// to New (about 90: the nodes naming them, what each reads, its timeline).
func TestNewCompilesNothing(t *testing.T) {
	build := func(n int) float64 {
		var docs, nodes strings.Builder
		for i := range n {
			fmt.Fprintf(&docs, "- {id: r%d, version: 1, kind: condition, env_version: 1, expression: 'partner.tier == \"gold\" && route.depth > %d'}\n", i, i)
			fmt.Fprintf(&nodes, "    - {id: n%d, party: reseller, share: \"1%%\", condition: r%d}\n", i, i)
		}
		env, err := settlement.Env()
		require.NoError(t, err)
		rs, err := env.LoadRuleSet(rules.File{Name: "r.yaml", Data: []byte(docs.String())})
		require.NoError(t, err)
		plans, err := settlement.ParsePlans([]byte("id: p\nversion: 1\nroot:\n  id: root\n  children:\n" + nodes.String() +
			"    - {id: rest, party: platform, share: remaining}\n"))
		require.NoError(t, err)
		cfg := settlement.Config{Plans: plans, Rules: rs, Network: loadNetwork(t)}
		return testing.AllocsPerRun(5, func() {
			if _, err := settlement.New(cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
	one, forty := build(1), build(40)
	require.Less(t, (forty-one)/39, 400.0, "New allocates %.0f for 1 rule, %.0f for 40", one, forty)
}
