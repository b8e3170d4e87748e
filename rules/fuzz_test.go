package rules_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ensemble-commerce/ensemble/rules"
)

func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		benchCondition,
		benchShare,
		`line.amount * dec("0.15")`,
		`dec("1").div(dec("3"), 4, "half_even") > dec("0.3")`,
		`order.flags.all(a, a != "")`,
		`1.5 > dyn(2)`,
		`dec("1e99")`,
		`money("1", "EUR") + money("1", "USD") == money("2", "EUR")`,
	} {
		f.Add(seed)
	}
	env := mustEnv()
	f.Fuzz(func(t *testing.T, expr string) {
		checkCompileOutcome(t, env, expr)
	})
}

func FuzzLoadDocuments(f *testing.F) {
	for _, seed := range []string{shareYAML, shareV1JSON, policyYAML, `[]`, `id: x`, `{"id": "x", "version": 1}`} {
		f.Add([]byte(seed))
	}
	env := mustEnv()
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := rules.ParseDocuments(data)
		if err != nil && docs != nil {
			t.Fatal("documents came back with an error")
		}
		var de *rules.DocumentError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		set, err := env.LoadRuleSet(rules.File{Name: "fuzz", Data: data})
		if err != nil {
			if set != nil {
				t.Fatal("a rule set came back with an error")
			}
			return
		}
		_ = set.RunTests(context.Background())
	})
}
