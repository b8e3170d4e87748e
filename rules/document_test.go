package rules_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

const shareYAML = `
id: reseller-share
version: 2
kind: share
env_version: 1
effective_from: 2026-01-01T00:00:00Z
description: Gold resellers keep 30%, others 25%, plus any uplift.
expression: |
  (partner.tier == "gold" ? percent(30) : percent(25))
    + ("uplift" in partner.attributes ? dec(partner.attributes["uplift"]) : dec("0"))
tests:
  - name: gold with uplift
    facts:
      partner: {id: p-1, tier: gold, attributes: {uplift: "0.05"}}
    want: "0.35"
  - name: silver
    facts:
      partner: {id: p-2, tier: silver}
    want: "0.25"
  - name: bad uplift
    facts:
      partner: {tier: gold, attributes: {uplift: "5%"}}
    want_error: "plain decimal notation"
`

const shareV1JSON = `{
  "id": "reseller-share", "version": 1, "kind": "share", "env_version": 1,
  "effective_until": "2026-01-01T00:00:00Z",
  "expression": "percent(20)",
  "tests": [{"name": "flat", "want": "0.2"}]
}`

const policyYAML = `
- id: sell-permission
  version: 1
  kind: policy
  env_version: 1
  expression: partner.type == "reseller" && line.amount <= money("10000", "EUR")
  reason_expression: '"partner " + partner.id + " may not sell " + line.offer_id'
  tests:
    - name: reseller small order
      facts:
        partner: {id: p-1, type: reseller}
        line: {amount: {amount: "100", currency: EUR}, offer_id: cloud}
      want: true
    - name: referrer
      facts:
        partner: {id: p-9, type: referrer}
        line: {amount: {amount: "100", currency: EUR}, offer_id: cloud}
      want: {allowed: false, reason: "partner p-9 may not sell cloud"}
- id: big-line
  version: 1
  kind: condition
  env_version: 1
  expression: line.amount > money("1000", "EUR")
  tests:
    - name: small
      facts: {line: {amount: {amount: "999.99", currency: EUR}}}
      want: false
- id: fee
  version: 1
  kind: amount
  env_version: 1
  expression: (line.amount * percent("2.9") + money("0.30", "EUR")).round(2)
  tests:
    - name: hundred
      facts: {line: {amount: {amount: "100", currency: EUR}}}
      want: {amount: "3.20", currency: EUR}
    - name: dollars
      facts: {line: {amount: {amount: "100", currency: USD}}}
      want_error: currency mismatch
- id: static-reason
  version: 1
  kind: policy
  env_version: 1
  expression: route.depth <= 3
  reason: route too deep
  tests:
    - name: deep
      facts: {route: {depth: 4}}
      want: {allowed: false, reason: route too deep}
`

func loadSample(t *testing.T) *rules.RuleSet {
	t.Helper()
	env := mustEnv()
	set, err := env.LoadRuleSet(
		rules.File{Name: "share.yaml", Data: []byte(shareYAML)},
		rules.File{Name: "share-v1.json", Data: []byte(shareV1JSON)},
		rules.File{Name: "policy.yaml", Data: []byte(policyYAML)},
	)
	require.NoError(t, err)
	return set
}

func TestRuleSetLoadsAndRunsTests(t *testing.T) {
	set := loadSample(t)
	var ids []string
	for _, r := range set.Rules() {
		ids = append(ids, r.Ref().String())
	}
	require.Equal(t, []string{
		"rule:big-line@1", "rule:fee@1", "rule:reseller-share@1", "rule:reseller-share@2",
		"rule:sell-permission@1", "rule:static-reason@1",
	}, ids)
	require.NoError(t, set.RunTests(context.Background()))
}

func TestRuleSetAt(t *testing.T) {
	set := loadSample(t)
	cases := []struct {
		name    string
		id      string
		at      time.Time
		version int
		err     error
	}{
		{"before the switch", "reseller-share", time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), 1, nil},
		{"at the switch", "reseller-share", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 2, nil},
		{"open ended", "big-line", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), 1, nil},
		{"unknown id", "nope", time.Now(), 0, rules.ErrUnknownRule},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := set.At(c.id, c.at)
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.version, r.Version())
		})
	}
	env := mustEnv()
	d := doc(rules.Condition, "true")
	d.EffectiveFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := env.NewRuleSet(d)
	require.NoError(t, err)
	_, err = s.At("r", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	require.ErrorIs(t, err, rules.ErrNotInForce)
	r, ok := s.Rule("r", 1)
	require.True(t, ok)
	require.Equal(t, "r", r.ID())
	_, ok = s.Rule("r", 2)
	require.False(t, ok)
}

func TestRuleSetReportsEveryError(t *testing.T) {
	env := mustEnv()
	bad := `
- id: a
  version: 1
  kind: condition
  env_version: 1
  expression: |
    line.amount > 100.5 &&
      partner.nope == "x"
- id: a
  version: 1
  kind: condition
  env_version: 1
  expression: "true"
- id: b
  version: 1
  kind: share
  env_version: 1
  expression: line.amount
- id: c
  version: 0
  kind: rate
  env_version: 1
  expression: "true"
- id: d
  version: 1
  kind: condition
  env_version: 1
  expression: "true"
  tests:
    - name: t
      facts: {customer: {}}
      want: "yes"
`
	_, err := env.LoadRuleSet(
		rules.File{Name: "bad.yaml", Data: []byte(bad)},
		rules.File{Name: "broken.json", Data: []byte(`{"id": "x", "expresion": "true"}`)},
	)
	var le *rules.LoadError
	require.ErrorAs(t, err, &le)
	msg := err.Error()
	for _, want := range []string{
		`bad.yaml:7:19: rule "a" v1 expression 1:15: double literal 100.5 is not allowed`,
		`hint: write dec("100.5")`,
		`bad.yaml:8:14: rule "a" v1 expression 2:10: undefined field 'nope'`,
		" |       partner.nope == \"x\"\n | .............^",
		`bad.yaml:10:12: rule "a" v1: version: duplicate id and version (first at bad.yaml:2:3)`,
		`bad.yaml:18:15: rule "b" v1 expression 1:1: a share rule must be of type decimal, not money`,
		`broken.json:1:13: rule "x" v0: expresion: json: unknown field "expresion" (did you mean 'expression'?)`,
		`rules: bad.yaml:31:25: rule "d" v1: tests[0].facts.customer: rules: no variable "customer" is declared`,
		`rules: bad.yaml:32:13: rule "d" v1: tests[0].want: json: cannot unmarshal string`,
		// Rule c cannot be decoded (unknown kind): its kind is placed.
		`rules: bad.yaml:21:9: rule "c" v0: kind: rules: unknown rule kind "rate"`,
	} {
		require.Contains(t, msg, want)
	}
	var ce *rules.CompileError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "bad.yaml", ce.Source)
}

func TestDocumentValidate(t *testing.T) {
	d := rules.Document{
		Kind:           rules.Condition,
		EffectiveFrom:  time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		EffectiveUntil: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Reason:         "no",
		Tests:          []rules.TestCase{{Name: "x"}, {Name: "x", Want: json.RawMessage("true"), WantError: "e"}, {}},
	}
	err := d.Validate()
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.Equal(t, []string{
		"id", "version", "env_version", "expression", "effective_until", "reason",
		"tests[0]", "tests[1].name", "tests[1]", "tests[2].name", "tests[2]",
	}, paths)
	env := mustEnv()
	_, err = env.Compile(d)
	var de *rules.DocumentError
	require.ErrorAs(t, err, &de)
	require.ErrorAs(t, err, &ve)
}

func TestRunTestsReportsFailures(t *testing.T) {
	env := mustEnv()
	set, err := env.LoadRuleSet(rules.File{Name: "f.yaml", Data: []byte(`
- id: share
  version: 1
  kind: share
  env_version: 1
  expression: percent(25)
  tests:
    - {name: right, want: "0.25"}
    - {name: wrong, want: "0.3"}
    - {name: expects error, want_error: boom}
- id: cond
  version: 3
  kind: condition
  env_version: 1
  expression: line.amount.div(dec("0"), 2) > money("1", "EUR")
  tests:
    - name: wrong error
      facts: {line: {amount: {amount: "1", currency: EUR}}}
      want_error: currency
    - name: unexpected error
      facts: {line: {amount: {amount: "1", currency: EUR}}}
      want: true
- id: pol
  version: 1
  kind: policy
  env_version: 1
  expression: "false"
  reason: nope
  tests:
    - {name: denied any reason, want: false}
    - {name: wrong reason, want: {allowed: false, reason: other}}
    - {name: wrong verdict, want: true}
`)})
	require.NoError(t, err)
	err = set.RunTests(context.Background())
	var te *rules.TestError
	require.ErrorAs(t, err, &te)
	got := te.Failures
	want := []rules.TestFailure{
		{Source: "f.yaml", Line: 17, Column: 7, RuleID: "cond", Version: 3, Case: "wrong error", Message: `got error "rules: rule \"cond\" v3 expression 1:16: rules: division by zero", want an error containing "currency"`},
		{Source: "f.yaml", Line: 20, Column: 7, RuleID: "cond", Version: 3, Case: "unexpected error", Message: `unexpected error: rules: rule "cond" v3 expression 1:16: rules: division by zero`},
		{Source: "f.yaml", Line: 31, Column: 7, RuleID: "pol", Version: 1, Case: "wrong reason", Message: `got denied ("nope"), want denied ("other")`},
		{Source: "f.yaml", Line: 32, Column: 7, RuleID: "pol", Version: 1, Case: "wrong verdict", Message: `got denied ("nope"), want allowed`},
		{Source: "f.yaml", Line: 9, Column: 7, RuleID: "share", Version: 1, Case: "wrong", Message: `got 0.25, want 0.3`},
		{Source: "f.yaml", Line: 10, Column: 7, RuleID: "share", Version: 1, Case: "expects error", Message: `got 0.25, want an error containing "boom"`},
	}
	require.Empty(t, cmp.Diff(want, got))
	require.Contains(t, err.Error(), `f.yaml:9:7: rule "share" v1 case "wrong": got 0.25, want 0.3`)
}

func TestDocumentJSONRoundTrip(t *testing.T) {
	docs, err := rules.ParseDocuments([]byte(policyYAML))
	require.NoError(t, err)
	require.Len(t, docs, 4)
	for _, d := range docs {
		b, err := json.Marshal(d)
		require.NoError(t, err)
		back, err := rules.ParseDocuments(b)
		require.NoError(t, err)
		require.Len(t, back, 1)
		require.Empty(t, cmp.Diff(d, back[0]))
	}
	// A compiled rule gives back its document.
	env := mustEnv()
	r, err := env.Compile(docs[0])
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(docs[0], r.Document()))
}

func TestResultJSONRoundTrip(t *testing.T) {
	set := loadSample(t)
	for _, r := range set.Rules() {
		env := mustEnv()
		r2, err := env.Compile(r.Document())
		require.NoError(t, err)
		res, err := r2.Eval(context.Background(), sampleFacts(env))
		require.NoError(t, err)
		b, err := json.Marshal(res)
		require.NoError(t, err)
		var back rules.Result
		require.NoError(t, json.Unmarshal(b, &back))
		require.Empty(t, cmp.Diff(res, back), "%s", b)
	}
}

func TestParseDocumentsErrors(t *testing.T) {
	cases := []struct {
		name string
		data string
	}{
		{"not yaml", "id: [unclosed"},
		{"unknown field", "id: x\nexpresion: true"},
		{"trailing data", `{"id": "x"} {"id": "y"}`},
		{"wrong type", "version: two"},
		{"float number in YAML", "version: 1.5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs, err := rules.ParseDocuments([]byte(c.data))
			require.Error(t, err)
			require.Nil(t, docs)
		})
	}
}

func TestCostBudgetAtLoad(t *testing.T) {
	env := mustEnv(rules.SizeHint("order.flags", 10_000))
	_, err := env.Compile(doc(rules.Condition, `order.flags.all(a, order.flags.all(b, a != b))`))
	var ce *rules.CostError
	require.ErrorAs(t, err, &ce)
	require.False(t, ce.Runtime)
	require.Equal(t, "r", ce.RuleID)
	require.Greater(t, ce.Estimate, ce.Limit)
	require.True(t, errors.Is(err, rules.ErrCostLimit))
	// It points at the outer comprehension, where the cost multiplies.
	require.Contains(t, err.Error(), `rule "r" v1 expression 1:16: estimated worst-case cost`)
	require.Equal(t, [2]int{1, 16}, [2]int{ce.Line, ce.Column})
	require.Contains(t, ce.Snippet, "^")

	small := mustEnv(rules.SizeHint("order.flags", 10), rules.SizeHint("order.flags.@items", 4))
	r, err := small.Compile(doc(rules.Condition, `order.flags.all(a, order.flags.all(b, a != b))`))
	require.NoError(t, err)
	require.Less(t, r.CostEstimate(), uint64(20_000))
}

func TestCompileErrorsNameYAMLPositions(t *testing.T) {
	env := mustEnv()
	src := `# fees
- id: block
  version: 1
  kind: condition
  env_version: 1
  expression: |
    line.amount > money("1", "EUR")
      && line.nope
- id: quoted
  version: 1
  kind: condition
  env_version: 1
  expression: "line.nope"
- id: policy
  version: 1
  kind: policy
  env_version: 1
  expression: "true"
  reason_expression: partner.nope
`
	_, err := env.LoadRuleSet(rules.File{Name: "f.yaml", Data: []byte(src)})
	var le *rules.LoadError
	require.ErrorAs(t, err, &le)
	type place struct {
		id, field                  string
		line, col, docLine, docCol int
	}
	var got []place
	for _, e := range le.Errs {
		var ce *rules.CompileError
		require.ErrorAs(t, e, &ce)
		for _, is := range ce.Issues {
			got = append(got, place{ce.RuleID, ce.Field, is.Line, is.Column, is.DocLine, is.DocColumn})
		}
	}
	require.Equal(t, []place{
		{"block", "expression", 2, 10, 8, 14},
		{"quoted", "expression", 1, 5, 13, 20},
		{"policy", "reason_expression", 1, 8, 19, 29},
	}, got)
	require.Contains(t, err.Error(), `rules: f.yaml:8:14: rule "block" v1 expression 2:10: undefined field 'nope'`)
}

func TestRuleAccessors(t *testing.T) {
	env := mustEnv()
	d := doc(rules.Amount, `line.amount * dec("2")`)
	d.ID, d.Version, d.EnvVersion = "double-it", 7, rules.Version2
	d.EffectiveFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d.EffectiveUntil = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := env.Compile(d)
	require.NoError(t, err)
	require.Equal(t, "double-it", r.ID())
	require.Equal(t, 7, r.Version())
	require.Equal(t, rules.Amount, r.Kind())
	require.Equal(t, rules.Version2, r.EnvVersion())
	require.Equal(t, ensemble.Ref{Kind: rules.RefKindRule, ID: "double-it", Version: "7"}, r.Ref())
	require.Positive(t, r.CostEstimate())
	require.True(t, r.CostTracked())
	require.False(t, r.InForce(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)))
	require.True(t, r.InForce(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.False(t, r.InForce(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))

	// The document a rule returns is a copy: changing it changes nothing.
	got := r.Document()
	got.Expression = "changed"
	require.Equal(t, `line.amount * dec("2")`, r.Document().Expression)

	// A failed evaluation returns no partial result.
	res, err := r.Eval(context.Background(), env.NewFacts())
	require.Error(t, err)
	require.Empty(t, cmp.Diff(rules.Result{}, res))
}

func TestReportTypesJSONRoundTrip(t *testing.T) {
	env := mustEnv()
	_, err := env.Compile(doc(rules.Condition, `1.5 > line.nope`))
	var ce *rules.CompileError
	require.ErrorAs(t, err, &ce)
	b, err := json.Marshal(ce.Issues)
	require.NoError(t, err)
	var issues []rules.Issue
	require.NoError(t, json.Unmarshal(b, &issues))
	require.Empty(t, cmp.Diff(ce.Issues, issues))
	require.Contains(t, string(b), `"snippet":`)

	fails := []rules.TestFailure{{RuleID: "r", Version: 2, Case: "c", Message: "m"}}
	b, err = json.Marshal(fails)
	require.NoError(t, err)
	require.JSONEq(t, `[{"rule_id":"r","version":2,"case":"c","message":"m"}]`, string(b))
	var back []rules.TestFailure
	require.NoError(t, json.Unmarshal(b, &back))
	require.Empty(t, cmp.Diff(fails, back))
}

// TestRuleIDsAreChecked: a rule id that could be read back as another ref
// (a@b, a:b), or holds white space or a control character, is refused.
func TestRuleIDsAreChecked(t *testing.T) {
	for _, id := range []string{"a@b", "a:b", "a/b", "a#b", "a b", "a\x00b"} {
		d := rules.Document{ID: id, Version: 1, Kind: rules.Condition, EnvVersion: rules.Version1, Expression: "true"}
		err := d.Validate()
		require.ErrorIs(t, err, ensemble.ErrInvalidID, "%q", id)
	}
}

// TestParseDocumentsReadsYAMLFlowStyle: a document in YAML's flow style
// begins with '{' or '[' like JSON, and is read as the YAML it is.
func TestParseDocumentsReadsYAMLFlowStyle(t *testing.T) {
	block, err := rules.ParseDocuments([]byte("id: r\nversion: 1\nkind: share\nenv_version: 1\nexpression: dec(\"0.1\")\n"))
	require.NoError(t, err)
	for _, flow := range []string{
		`{id: r, version: 1, kind: share, env_version: 1, expression: 'dec("0.1")'}`,
		`[{id: r, version: 1, kind: share, env_version: 1, expression: 'dec("0.1")'}]`,
		`{"id": "r", "version": 1, "kind": "share", "env_version": 1, "expression": "dec(\"0.1\")"}`,
	} {
		docs, err := rules.ParseDocuments([]byte(flow))
		require.NoError(t, err, flow)
		require.Empty(t, cmp.Diff(block, docs), flow)
	}
}
