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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
}

// BenchmarkLine is the settlement loop: set this line's facts, then
// evaluate a condition and a share for it.
func BenchmarkLine(b *testing.B) {
	for _, trusted := range []bool{false, true} {
		name := "cost_limit"
		if trusted {
			name = "trusted"
		}
		b.Run(name, func(b *testing.B) {
			env := mustEnv(rules.TrustBounded(trusted))
			cond, err := env.Compile(doc(rules.Condition, benchCondition))
			if err != nil {
				b.Fatal(err)
			}
			share, err := env.Compile(doc(rules.Share, benchShare))
			if err != nil {
				b.Fatal(err)
			}
			f := sampleFacts(env)
			lines := make([]Line, 64)
			for i := range lines {
				lines[i] = *sampleLine()
			}
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := f.Set("line", &lines[i%len(lines)]); err != nil {
					b.Fatal(err)
				}
				i++
				if ok, err := cond.Condition(ctx, f); err != nil || !ok {
					b.Fatal(err)
				}
				if _, err := share.Share(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
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
