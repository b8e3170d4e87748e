package rules_test

import (
	"context"
	"fmt"
	"strings"
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

// BenchmarkCostModel calibrates the cost model: each operation of the
// library, at several digit sizes, in a rule of 32 copies of it, reports
// the CPU time per cost unit charged (cpu-ns/unit), which the prices in
// cost.go keep near 50 ns on the 2-core machine they were set on.
func BenchmarkCostModel(b *testing.B) {
	ops := []struct{ name, expr string }{
		{"add", `c.a + c.b`},
		{"sub_money", `c.m - c.n`},
		{"mul", `c.a * c.b`},
		{"mul_money", `c.m * c.b`},
		{"compare", `c.a < c.b`},
		{"compare_money", `c.m < c.n`},
		{"equal", `c.a == c.b`},
		{"equal_money", `c.m == c.n`},
		{"negate", `-c.a`},
		{"div", `c.a.div(c.b, 18)`},
		{"div_half_even", `c.a.div(c.b, 18, "half_even")`},
		{"div_money", `c.m.div(c.b, 18)`},
		{"div_money_money", `c.m.div(c.n, 18, "floor")`},
		{"round", `c.a.round(2)`},
		{"round_half_even", `c.a.round(2, "half_even")`},
		{"round_money", `c.m.round(2, "half_even")`},
		{"string", `string(c.a)`},
		{"string_money", `string(c.m)`},
		{"min", `min(c.a, c.b)`},
		{"amount", `c.m.amount()`},
		{"money", `money(c.a, "EUR")`},
		{"percent", `percent(c.a)`},
		{"in", `c.a in c.xs`},
		{"months_since", `months_since(c.date, c.date)`},
		{"months_since_zone", `months_since(c.date, c.date, "Europe/Paris")`},
	}
	for _, n := range []int{1, 10, 20, 40, 80} {
		env := costEnv(rules.CostBudget(1e9), rules.CostLimit(1e9))
		f := env.NewFacts()
		must(f.Set("c", costly(n, 16, costlyHint)))
		for _, op := range ops {
			if n > 40 && strings.HasPrefix(op.name, "mul") {
				continue // the product would have more than MaxResultDigits
			}
			b.Run(fmt.Sprintf("%s/digits=%d", op.name, n), func(b *testing.B) {
				benchRule(b, env, latestDoc(rules.Condition, repeat(op.expr, 32)), f)
			})
		}
	}
}

// worstOps are the operations the search for the slowest rule repeats: the
// library's, the standard functions the cost model prices, and cel-go's
// own (reading fields, building lists and maps, conditionals).
var worstOps = []struct{ name, expr string }{
	{"add", `c.a + c.b`},
	{"mul", `c.a * c.b`},
	{"mul_money", `c.m * c.b`},
	{"div", `c.a.div(c.b, 18, "half_even")`},
	{"div_money", `c.m.div(c.n, 18, "floor")`},
	{"round_money", `c.m.round(2, "half_even")`},
	{"string", `string(c.a)`},
	{"string_money", `string(c.m)`},
	{"compare_money", `c.m < c.n`},
	{"equal_money", `c.m == c.n`},
	{"amount", `c.m.amount()`},
	{"negate", `-c.a`},
	{"money_of", `money(c.a, "EUR")`},
	{"parse_decimal", `dec(c.s) > c.a || true`},
	{"concat_text", `c.s + c.t`},
	{"compare_text", `c.s < c.t`},
	{"equal_text", `c.s == c.t`},
	{"size_text", `c.s.size()`},
	{"starts_with", `c.s.startsWith(c.t)`},
	{"contains", `c.s.contains("8")`},
	{"matches", `c.s.matches("^7+8$")`},
	{"table_key", `c.s in c.tab`},
	{"text_of_money", `string(c.m) + string(c.n)`},
	{"time_offset", `c.date.getHours("+01:00")`},
	{"time_zone", `c.date.getHours(c.zone)`},
	{"time_text", `string(c.date)`},
	{"parse_time", `timestamp("2026-03-01T12:00:00Z")`},
	{"months_since", `months_since(c.date, c.date, "Europe/Paris")`},
	{"months_since_zone", `months_since(c.date, c.date, c.zone)`},
	{"list_literal", `[c.a, c.b, c.a]`},
	{"map_literal", `{"k": c.a}`},
	{"select", `c.xs[3]`},
	{"equal_lists", `c.xs == c.xs`},
	{"in_list", `c.a in c.xs`},
	{"conditional", `c.a < c.b ? c.a : c.b`},
}

// worstShapes are the rules searched beside repetitions of worstOps:
// decimals that grow digit by digit, and comprehensions nested as deep as
// MaxComprehensionNesting allows.
var worstShapes = []struct {
	name  string
	build func(k int) string
}{
	{"growing_product", func(k int) string {
		return "dec(c.date.getHours())" + strings.Repeat(` * dec("1.1")`, k) + ` > c.b || true`
	}},
	{"growing_sum", func(k int) string {
		var b strings.Builder
		b.WriteString("c.a")
		for i := range k {
			fmt.Fprintf(&b, ` + dec("0.%0*d1")`, i%rules.MaxScale, 0)
		}
		return b.String() + " > c.b"
	}},
	{"growing_quotient", func(k int) string {
		return "c.a" + strings.Repeat(`.div(dec("1.7"), 18)`, k) + " > c.b"
	}},
	{"nested_map", func(k int) string {
		return "c.ys.map(x, c.ys.map(y, " + list(`x * y`, k) + ")).size() > 0"
	}},
	{"nested_filter", func(k int) string {
		return "c.ns.filter(m, c.ns.filter(n, " + strings.Repeat(`m < n || `, k) + "true).size() > 0).size() > 0"
	}},
	{"nested_exists_text", func(k int) string {
		return "c.ts.exists(s, c.ts.exists(t, " + strings.Repeat(`s < t || `, k) + "false))"
	}},
	{"nested_loops", func(k int) string {
		return "c.ys.exists(x, c.ys.exists(y, " + strings.Repeat(`x == y && `, k) + "false))"
	}},
}

// worstCandidate is a shape of rule with k repetitions of an operation.
type worstCandidate struct {
	name  string
	build func(k int) string
}

// worstCandidates returns every shape searched: each of worstOps repeated,
// alone and in the body of a comprehension over a hinted list, and
// worstShapes.
func worstCandidates() []worstCandidate {
	var out []worstCandidate
	for _, op := range worstOps {
		out = append(out,
			worstCandidate{op.name, func(k int) string { return repeat(op.expr, k) }},
			worstCandidate{op.name + "_in_loop", func(k int) string {
				return "c.xs.map(x, " + list(op.expr, k) + ").size() > 0"
			}})
	}
	for _, s := range worstShapes {
		out = append(out, worstCandidate{s.name, s.build})
	}
	return out
}

// worstFacts are the facts the worst rules are measured with: decimals and
// money of 40 digits (products of two have MaxResultDigits), text of
// DefaultSizeHint code points, lists of costlyHint entries.
func worstFacts(env *rules.Env) *rules.Facts {
	f := env.NewFacts()
	must(f.Set("c", costly(40, rules.DefaultSizeHint, costlyHint)))
	return f
}

// BenchmarkWorstRules measures, for each shape of rule, the slowest rule of
// that shape the default budget accepts.
func BenchmarkWorstRules(b *testing.B) {
	env := costEnv()
	f := worstFacts(env)
	for _, c := range worstCandidates() {
		d, ok := fill(env, c.build)
		if !ok {
			continue
		}
		b.Run(c.name, func(b *testing.B) { benchRule(b, env, d, f) })
	}
}
