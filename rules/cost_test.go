package rules_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

// exprGen draws rules over c (a Costly) from a small grammar of the
// library's operations, the standard functions the cost model prices and
// comprehensions over c's lists, nested up to MaxComprehensionNesting.
type exprGen struct {
	t     *rapid.T
	depth int
	loops int // comprehensions around the expression being drawn
	vars  []string
}

func (g *exprGen) pick(label string, n int) int {
	return rapid.IntRange(0, n-1).Draw(g.t, label)
}

func (g *exprGen) leaf() bool {
	g.depth++
	return g.depth > 6 || rapid.IntRange(0, 2).Draw(g.t, "leaf") == 0
}

func (g *exprGen) scale() string {
	if g.pick("literal scale", 3) == 0 {
		return "c.a.sign() + 1"
	}
	return fmt.Sprint(g.pick("scale", rules.MaxScale+1))
}

func (g *exprGen) mode() string {
	if g.pick("with mode", 2) == 0 {
		return ""
	}
	return `, "` + []string{"half_even", "half_down", "up", "down", "ceiling", "floor"}[g.pick("mode", 6)] + `"`
}

func (g *exprGen) literal() string {
	n := rapid.IntRange(1, 30).Draw(g.t, "literal digits")
	frac := rapid.IntRange(0, min(n, rules.MaxScale)).Draw(g.t, "literal fraction")
	return wide("31415926535897932384", n, frac).String()
}

func (g *exprGen) decimal() string {
	if g.leaf() {
		opts := []string{"c.a", "c.b", `dec("` + g.literal() + `")`, fmt.Sprintf("percent(%d)", g.pick("percent", 200))}
		for _, v := range g.vars {
			if strings.HasPrefix(v, "x") {
				opts = append(opts, v)
			}
		}
		return opts[g.pick("decimal leaf", len(opts))]
	}
	switch g.pick("decimal", 11) {
	case 0:
		return "(" + g.decimal() + " + " + g.decimal() + ")"
	case 1:
		return "(" + g.decimal() + " - " + g.decimal() + ")"
	case 2:
		return "(" + g.decimal() + " * " + g.decimal() + ")"
	case 3:
		return "-" + g.decimal()
	case 4:
		return g.decimal() + ".div(" + g.decimal() + ", " + g.scale() + g.mode() + ")"
	case 5:
		return g.decimal() + ".round(" + g.scale() + g.mode() + ")"
	case 6:
		return "min(" + g.decimal() + ", " + g.decimal() + ")"
	case 7:
		return g.money() + ".amount()"
	case 8:
		return g.money() + ".div(" + g.money() + ", " + g.scale() + ")"
	case 9:
		return "(" + g.boolean() + " ? " + g.decimal() + " : " + g.decimal() + ")"
	default:
		return "percent(" + g.decimal() + ")"
	}
}

func (g *exprGen) money() string {
	if g.leaf() {
		opts := []string{"c.m", "c.n", `money("` + g.literal() + `", "EUR")`}
		for _, v := range g.vars {
			if strings.HasPrefix(v, "m") {
				opts = append(opts, v)
			}
		}
		return opts[g.pick("money leaf", len(opts))]
	}
	switch g.pick("money", 8) {
	case 0:
		return "(" + g.money() + " + " + g.money() + ")"
	case 1:
		return "(" + g.money() + " - " + g.money() + ")"
	case 2:
		return "(" + g.money() + " * " + g.decimal() + ")"
	case 3:
		return "(" + g.decimal() + " * " + g.money() + ")"
	case 4:
		return g.money() + ".div(" + g.decimal() + ", " + g.scale() + g.mode() + ")"
	case 5:
		return g.money() + ".round(" + g.scale() + g.mode() + ")"
	case 6:
		return "max(" + g.money() + ", " + g.money() + ")"
	default:
		return "money(" + g.decimal() + ", " + g.text() + ")"
	}
}

func (g *exprGen) text() string {
	if g.leaf() {
		opts := []string{"c.s", "c.t", `"EUR"`, "c.zone"}
		for _, v := range g.vars {
			if strings.HasPrefix(v, "s") {
				opts = append(opts, v)
			}
		}
		return opts[g.pick("text leaf", len(opts))]
	}
	switch g.pick("text", 4) {
	case 0:
		return "string(" + g.decimal() + ")"
	case 1:
		return "string(" + g.money() + ")"
	case 2:
		return g.money() + ".currency()"
	default:
		return "(" + g.text() + " + " + g.text() + ")"
	}
}

func (g *exprGen) loop(list, elem string, body func() string) string {
	name := fmt.Sprintf("%s%d", elem, g.loops)
	g.loops++
	g.vars = append(g.vars, name)
	b := body()
	g.vars = g.vars[:len(g.vars)-1]
	g.loops--
	return strings.ReplaceAll(list, "$", name) + strings.ReplaceAll(b, "$", name)
}

func (g *exprGen) boolean() string {
	if g.leaf() {
		return []string{"true", "c.a < c.b", `c.s == "7"`}[g.pick("bool leaf", 3)]
	}
	n := 14
	if g.loops >= rules.MaxComprehensionNesting {
		n = 10
	}
	switch g.pick("bool", n) {
	case 0:
		return g.decimal() + " < " + g.decimal()
	case 1:
		return g.decimal() + " == " + g.decimal()
	case 2:
		return g.money() + " >= " + g.money()
	case 3:
		return g.money() + " != " + g.money()
	case 4:
		return g.decimal() + " in c.xs"
	case 5:
		return g.text() + " == " + g.text()
	case 6:
		return g.text() + " < " + g.text()
	case 7:
		return []string{"c.xs == c.xs", "c.ms != c.ms", "c.ss == c.ss", "c.tab == c.tab", `c.tab[c.s] > c.a`, `c.s in c.tab`}[g.pick("containers", 6)]
	case 8:
		return []string{`c.date.getMonth(c.zone) > 1`, `c.date.getHours("+01:00") > 1`, `c.s.size() > 3`,
			`c.s.matches("^7+$")`, `c.s.contains(c.t)`, `timestamp("2026-01-01T00:00:00Z") < c.date`}[g.pick("standard", 6)]
	case 9:
		return "(" + g.boolean() + " && " + g.boolean() + ")"
	case 10:
		return g.loop("c.xs.exists(", "x", func() string { return "$, " + g.boolean() + ")" })
	case 11:
		return g.loop("c.ms.all(", "m", func() string { return "$, " + g.boolean() + ")" })
	case 12:
		return g.loop("c.ss.filter(", "s", func() string { return "$, " + g.boolean() + ").size() > 0" })
	default:
		return g.loop("c.xs.map(", "x", func() string { return "$, " + g.decimal() + ").size() > 0" })
	}
}

// costlyGen draws facts within the sizes the estimate assumes: decimals
// and money of at most MaxResultDigits digits, text of at most the default
// size, lists and tables of at most costlyHint entries.
func costlyGen() *rapid.Generator[*Costly] {
	return rapid.Custom(func(t *rapid.T) *Costly {
		dec := func(label string) decimal.Decimal {
			n := rapid.IntRange(1, rules.MaxResultDigits).Draw(t, label+" digits")
			frac := rapid.IntRange(0, min(n, rules.MaxResultScale)).Draw(t, label+" fraction")
			d := wide("27182818284590452353", n, frac)
			if rapid.Bool().Draw(t, label+" negative") {
				d = d.Neg()
			}
			return d
		}
		text := func(label string) string {
			return strings.Repeat("7", rapid.IntRange(0, rules.DefaultSizeHint).Draw(t, label+" length"))
		}
		eur := ensemble.MustCurrency("EUR")
		c := &Costly{A: dec("a"), B: dec("b"), S: text("s"), T: text("t"), Tab: map[string]decimal.Decimal{}}
		c.M = ensemble.MoneyFromDecimal(dec("m"), eur)
		c.N = ensemble.MoneyFromDecimal(dec("n"), eur)
		c.Zone = []string{"Europe/Paris", "+02:00", "UTC", c.S}[rapid.IntRange(0, 3).Draw(t, "zone")]
		for i := range rapid.IntRange(0, costlyHint).Draw(t, "list length") {
			c.Xs = append(c.Xs, dec("x"))
			c.Ms = append(c.Ms, ensemble.MoneyFromDecimal(dec("m"), eur))
			c.Ss = append(c.Ss, text("ss"))
			c.Tab[fmt.Sprint(i)+text("key")] = dec("tab")
		}
		return c
	})
}

// The runtime charges no more than the static estimate, for any rule and
// any facts within the sizes the estimate assumes: the estimate is a true
// upper bound, so a rule accepted under the budget is never stopped by a
// limit as large as the budget unless its inputs are larger than assumed.
func TestPropertyRuntimeCostWithinEstimate(t *testing.T) {
	env := costEnv(rules.CostBudget(1<<62), rules.CostLimit(1<<62))
	rapid.Check(t, func(t *rapid.T) {
		g := &exprGen{t: t}
		expr := g.boolean()
		r, err := env.Compile(doc(rules.Condition, expr))
		var ee *rules.EvalError
		if errors.As(err, &ee) {
			// A constant that fails on every evaluation is refused when
			// compiled (money(dec("3"), string(percent(3))): a ratio is no
			// currency); it costs nothing at run time.
			t.Skip("a failing constant, refused when compiled")
		}
		require.NoError(t, err, expr)
		f := env.NewFacts()
		require.NoError(t, f.Set("c", costlyGen().Draw(t, "facts")))
		charged, err := rules.RuntimeCost(r, f)
		var ce *rules.CostError
		require.False(t, errors.As(err, &ce), "%s: %v", expr, err)
		require.LessOrEqual(t, charged, r.CostEstimate(), expr)
	})
}

// The prices the Library godoc quotes.
func TestPricesQuotedInTheLibraryDoc(t *testing.T) {
	cases := []struct {
		id          string
		a, b, scale uint64
		want        uint64
	}{
		{"add_decimal_decimal", 80, 80, 0, 13},
		{"decimal_div_decimal_int", 80, 80, 18, 41},
		{"less_decimal_decimal", 80, 80, 0, 8},
		{"add_decimal_decimal", 1, 1, 0, 5},
		{"decimal_div_decimal_int_string", 1, 1, 18, 21},
		{"greater_equals_decimal_decimal", 1, 1, 0, 4},
	}
	for _, c := range cases {
		require.Equal(t, c.want, rules.Price(c.id, c.a, c.b, c.scale), "%s(%d, %d, scale %d)", c.id, c.a, c.b, c.scale)
	}
}

// A comprehension's body is charged once per element its size hint allows,
// and a nested one once per pair.
func TestComprehensionCostGrowsWithTheSizeHint(t *testing.T) {
	estimate := func(hint uint64, expr string) uint64 {
		env := costEnv(rules.CostBudget(1<<40), rules.SizeHint("c.xs", hint))
		r, err := env.Compile(doc(rules.Condition, expr))
		require.NoError(t, err)
		return r.CostEstimate()
	}
	body := rules.Price("multiply_decimal_decimal", rules.MaxResultDigits, rules.MaxResultDigits, 0)
	loop := `c.xs.map(x, x * c.b).size() > 0`
	step := estimate(8, loop) - estimate(4, loop)
	require.Equal(t, step, estimate(12, loop)-estimate(8, loop), "linear in the hint")
	require.Greater(t, step, 4*body, "every element pays the body")

	nested := `c.xs.exists(x, c.xs.exists(y, x * y > c.b))`
	e4, e8, e16 := estimate(4, nested), estimate(8, nested), estimate(16, nested)
	require.Greater(t, e16-e8, 3*(e8-e4), "quadratic in the hint")
	require.Greater(t, e16, 16*16*body)
}
