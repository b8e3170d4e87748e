package rules_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

// Costly is what the cost model's tests and benchmarks read: decimals,
// money and text of chosen sizes, and lists and a table of them.
type Costly struct {
	A    decimal.Decimal            `json:"a"`
	B    decimal.Decimal            `json:"b"`
	M    ensemble.Money             `json:"m"`
	N    ensemble.Money             `json:"n"`
	S    string                     `json:"s"`
	T    string                     `json:"t"`
	Zone string                     `json:"zone"`
	Date time.Time                  `json:"date"`
	Xs   []decimal.Decimal          `json:"xs"`
	Ms   []ensemble.Money           `json:"ms"`
	Ss   []string                   `json:"ss"`
	Tab  map[string]decimal.Decimal `json:"tab"`
	// Short lists, for comprehensions nested in comprehensions.
	Ys []decimal.Decimal `json:"ys"`
	Ns []ensemble.Money  `json:"ns"`
	Ts []string          `json:"ts"`
}

// The size hints of Costly's lists and table in costEnv.
const (
	costlyHint      = 16
	costlyShortHint = 6
)

// costEnv declares c, a Costly, with hints on its lists and table and the
// default budget and limit unless opts say otherwise.
func costEnv(opts ...rules.Option) *rules.Env {
	base := []rules.Option{
		rules.Var[Costly]("c"),
		rules.SizeHint("c.xs", costlyHint),
		rules.SizeHint("c.ms", costlyHint),
		rules.SizeHint("c.ss", costlyHint),
		rules.SizeHint("c.tab", costlyHint),
		rules.SizeHint("c.ys", costlyShortHint),
		rules.SizeHint("c.ns", costlyShortHint),
		rules.SizeHint("c.ts", costlyShortHint),
	}
	env, err := rules.NewEnv(append(base, opts...)...)
	if err != nil {
		panic(err)
	}
	return env
}

// wide returns a positive decimal of n digits from pattern, frac of them
// after the point.
func wide(pattern string, n, frac int) decimal.Decimal {
	var b strings.Builder
	for i := range n {
		b.WriteByte(pattern[i%len(pattern)])
	}
	s := b.String()
	if frac > 0 {
		s = s[:n-frac] + "." + s[n-frac:]
	}
	return decimal.RequireFromString(s)
}

// costly returns facts whose decimals and money have n digits (half of them,
// at most MaxScale, after the point; a + b has n digits too), whose text
// has textLen code points and whose lists and table have listLen entries
// (the short lists listLen × costlyShortHint / costlyHint).
func costly(n, textLen, listLen int) *Costly {
	eur := ensemble.MustCurrency("EUR")
	frac := min(n/2, rules.MaxScale)
	c := &Costly{
		A:    wide("7395184620", n, frac),
		B:    wide("1482739506", n, frac),
		S:    strings.Repeat("7", textLen),
		T:    strings.Repeat("7", textLen-1) + "8",
		Zone: "Europe/Paris",
		Date: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Tab:  map[string]decimal.Decimal{},
	}
	c.M = ensemble.MoneyFromDecimal(c.A, eur)
	c.N = ensemble.MoneyFromDecimal(c.B, eur)
	for i := range listLen {
		c.Xs = append(c.Xs, c.A)
		c.Ms = append(c.Ms, c.M)
		c.Ss = append(c.Ss, c.S)
		c.Tab[fmt.Sprintf("%0*d", textLen, i)] = c.A
	}
	for range listLen * costlyShortHint / costlyHint {
		c.Ys = append(c.Ys, c.B)
		c.Ns = append(c.Ns, c.N)
		c.Ts = append(c.Ts, c.T)
	}
	return c
}

// list returns a list literal of k copies of expr.
func list(expr string, k int) string {
	parts := make([]string, k)
	for i := range parts {
		parts[i] = expr
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// repeat returns a rule that builds a list of k copies of expr.
func repeat(expr string, k int) string {
	return list(expr, k) + ".size() > 0"
}

// fill returns the rule build(k) for the largest k that env accepts, and
// false when it accepts none.
func fill(env *rules.Env, build func(k int) string) (rules.Document, bool) {
	ok := func(k int) bool {
		_, err := env.Compile(latestDoc(rules.Condition, build(k)))
		return err == nil
	}
	if !ok(1) {
		return rules.Document{}, false
	}
	lo, hi := 1, 2
	for ok(hi) && hi < 1<<14 {
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return latestDoc(rules.Condition, build(lo)), true
}

// benchRule evaluates r with facts and reports the CPU time per
// evaluation, the units the tracker charged, the estimate and the CPU time
// per charged unit.
func benchRule(b *testing.B, env *rules.Env, d rules.Document, facts *rules.Facts) {
	b.Helper()
	r, err := env.Compile(d)
	if err != nil {
		b.Fatal(err)
	}
	charged, err := rules.RuntimeCost(r, facts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := r.Eval(ctx, facts); err != nil {
			b.Fatal(err)
		}
	}
	cpu := float64((cpuTime() - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(cpu, "cpu-ns/op")
	b.ReportMetric(float64(charged), "units")
	b.ReportMetric(float64(r.CostEstimate()), "estimate")
	b.ReportMetric(cpu/float64(charged), "cpu-ns/unit")
}
