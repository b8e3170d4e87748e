package rules_test

import (
	"context"
	"testing"

	"github.com/ensemble-commerce/ensemble/rules"
)

const (
	benchCondition = `line.amount > money("100", "EUR") && partner.tier == "gold" && order.channel == "web" && route.depth <= 3`
	benchShare     = `(line.amount.amount() * (partner.tier == "gold" ? percent("12.5") : percent(10))).div(line.quantity, 4, "half_even")`
)

func BenchmarkCompile(b *testing.B) {
	env := mustEnv()
	d := doc(rules.Condition, benchCondition)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Compile(d); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEval(b *testing.B, kind rules.Kind, expr string, opts ...rules.Option) {
	env := mustEnv(opts...)
	r, err := env.Compile(doc(kind, expr))
	if err != nil {
		b.Fatal(err)
	}
	f := sampleFacts(env)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Eval(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCondition(b *testing.B) {
	b.Run("cost_limit", func(b *testing.B) { benchEval(b, rules.Condition, benchCondition) })
	b.Run("trusted", func(b *testing.B) { benchEval(b, rules.Condition, benchCondition, rules.TrustBounded(true)) })
}

func BenchmarkShare(b *testing.B) {
	b.Run("cost_limit", func(b *testing.B) { benchEval(b, rules.Share, benchShare) })
	b.Run("trusted", func(b *testing.B) { benchEval(b, rules.Share, benchShare, rules.TrustBounded(true)) })
}
