package rules_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

func decimalGen() *rapid.Generator[decimal.Decimal] {
	return rapid.Custom(func(t *rapid.T) decimal.Decimal {
		coef := rapid.Int64Range(-1_000_000_000_000, 1_000_000_000_000).Draw(t, "coef")
		scale := rapid.Int32Range(0, 8).Draw(t, "scale")
		return decimal.New(coef, -scale)
	})
}

type pairEnv struct {
	env *rules.Env
	ctx context.Context
}

func newPairEnv(t *testing.T) pairEnv {
	env, err := rules.NewEnv(rules.Var[decimal.Decimal]("a"), rules.Var[decimal.Decimal]("b"),
		rules.Var[int64]("scale"), rules.Var[string]("mode"))
	require.NoError(t, err)
	return pairEnv{env: env, ctx: context.Background()}
}

func (p pairEnv) compile(t *testing.T, kind rules.Kind, expr string) *rules.Rule {
	r, err := p.env.Compile(doc(kind, expr))
	require.NoError(t, err)
	return r
}

func (p pairEnv) facts(a, b decimal.Decimal, scale int64, mode string) *rules.Facts {
	f := p.env.NewFacts()
	must(f.Set("a", a))
	must(f.Set("b", b))
	must(f.Set("scale", scale))
	must(f.Set("mode", mode))
	return f
}

func TestPropertyArithmeticMatchesGo(t *testing.T) {
	p := newPairEnv(t)
	ops := []struct {
		expr string
		goOp func(a, b decimal.Decimal) decimal.Decimal
	}{
		{"a + b", decimal.Decimal.Add},
		{"a - b", decimal.Decimal.Sub},
		{"a * b", decimal.Decimal.Mul},
		{"-a", func(a, _ decimal.Decimal) decimal.Decimal { return a.Neg() }},
		{"min(a, b)", func(a, b decimal.Decimal) decimal.Decimal { return decimal.Min(a, b) }},
		{"max(a, b)", func(a, b decimal.Decimal) decimal.Decimal { return decimal.Max(a, b) }},
		{"money(a, \"EUR\").amount() + money(b, \"EUR\").amount()", decimal.Decimal.Add},
		{"(money(a, \"EUR\") * b).amount()", decimal.Decimal.Mul},
	}
	compiled := make([]*rules.Rule, len(ops))
	for i, op := range ops {
		compiled[i] = p.compile(t, rules.Share, op.expr)
	}
	cmps := []struct {
		expr string
		want func(c int) bool
	}{
		{"a < b", func(c int) bool { return c < 0 }},
		{"a <= b", func(c int) bool { return c <= 0 }},
		{"a > b", func(c int) bool { return c > 0 }},
		{"a >= b", func(c int) bool { return c >= 0 }},
		{"a == b", func(c int) bool { return c == 0 }},
		{"a != b", func(c int) bool { return c != 0 }},
		{"money(a, \"USD\") < money(b, \"USD\")", func(c int) bool { return c < 0 }},
	}
	compiledCmp := make([]*rules.Rule, len(cmps))
	for i, c := range cmps {
		compiledCmp[i] = p.compile(t, rules.Condition, c.expr)
	}
	rapid.Check(t, func(t *rapid.T) {
		a := decimalGen().Draw(t, "a")
		b := decimalGen().Draw(t, "b")
		f := p.facts(a, b, 0, "")
		i := rapid.IntRange(0, len(ops)-1).Draw(t, "op")
		got, err := compiled[i].Share(p.ctx, f)
		require.NoError(t, err)
		want := ops[i].goOp(a, b)
		require.True(t, got.Equal(want), "%s with a=%s b=%s: got %s, want %s", ops[i].expr, a, b, got, want)
		j := rapid.IntRange(0, len(cmps)-1).Draw(t, "cmp")
		ok, err := compiledCmp[j].Condition(p.ctx, f)
		require.NoError(t, err)
		require.Equal(t, cmps[j].want(a.Cmp(b)), ok, "%s with a=%s b=%s", cmps[j].expr, a, b)
	})
}

var modes = []string{"", "half_away_from_zero", "half_even", "half_down", "up", "down", "ceiling", "floor"}

func TestPropertyDivAndRoundAreExact(t *testing.T) {
	p := newPairEnv(t)
	div := p.compile(t, rules.Share, `a.div(b, scale, mode)`)
	round := p.compile(t, rules.Share, `a.round(scale, mode)`)
	moneyDiv := p.compile(t, rules.Amount, `money(a, "EUR").div(b, scale, mode)`)
	rapid.Check(t, func(t *rapid.T) {
		a := decimalGen().Draw(t, "a")
		b := decimalGen().Filter(func(d decimal.Decimal) bool { return !d.IsZero() }).Draw(t, "b")
		scale := rapid.Int64Range(0, rules.MaxScale).Draw(t, "scale")
		modeName := rapid.SampledFrom(modes).Draw(t, "mode")
		mode, err := ensemble.ParseRoundingMode(modeName)
		require.NoError(t, err)
		f := p.facts(a, b, scale, modeName)

		exact := ensemble.RatioFromRat(new(big.Rat).Quo(a.Rat(), b.Rat()))
		want := exact.Decimal(int32(scale), mode)
		got, err := div.Share(p.ctx, f)
		require.NoError(t, err)
		require.True(t, got.Equal(want), "%s.div(%s, %d, %q): got %s, want %s", a, b, scale, modeName, got, want)

		m, err := moneyDiv.Amount(p.ctx, f)
		require.NoError(t, err)
		require.True(t, m.Amount().Equal(want))

		got, err = round.Share(p.ctx, f)
		require.NoError(t, err)
		want = ensemble.Round(a, int32(scale), mode)
		require.True(t, got.Equal(want), "%s.round(%d, %q): got %s, want %s", a, scale, modeName, got, want)
	})
}

// TestPropertyCurrencyMismatchAlwaysErrors: money of two currencies never
// meets. When the expression fixes both currencies, the rule is refused when
// checked, at the operator; when a fact gives one (here mode), every
// evaluation with another currency fails with ErrCurrencyMismatch at the
// operator.
func TestPropertyCurrencyMismatchAlwaysErrors(t *testing.T) {
	p := newPairEnv(t)
	fixed := []string{
		`money(a, "EUR") + money(b, "USD")`,
		`money(a, "EUR") - money(b, "JPY")`,
		`min(money(a, "EUR"), money(b, "GBP"))`,
		`-money(a, "EUR") * b + money(b, "USD").round(2)`,
		`b > a ? money(a, "EUR") : money(a, "EUR") + money(b, "CHF")`,
	}
	for _, e := range fixed {
		_, err := p.env.Compile(doc(rules.Amount, e))
		var ce *rules.CompileError
		require.ErrorAs(t, err, &ce, e)
		require.Contains(t, ce.Issues[0].Message, "currency mismatch", e)
	}
	exprs := []string{
		`money(a, "EUR") + money(b, mode)`,
		`money(a, mode) - money(b, "JPY")`,
		`min(money(a, "EUR"), money(b, mode))`,
	}
	compiled := make([]*rules.Rule, len(exprs))
	for i, e := range exprs {
		compiled[i] = p.compile(t, rules.Amount, e)
	}
	rapid.Check(t, func(t *rapid.T) {
		a := decimalGen().Draw(t, "a")
		b := decimalGen().Draw(t, "b")
		i := rapid.IntRange(0, len(exprs)-1).Draw(t, "expr")
		mode := rapid.SampledFrom([]string{"USD", "GBP", "CHF"}).Draw(t, "currency")
		_, err := compiled[i].Amount(p.ctx, p.facts(a, b, 0, mode))
		require.True(t, errors.Is(err, ensemble.ErrCurrencyMismatch), "%v", err)
		var ee *rules.EvalError
		require.ErrorAs(t, err, &ee)
		require.Positive(t, ee.Line)
	})
}

var tokens = []string{
	"line", "partner", "order", "route", ".", "amount", "quantity", "tier", "attributes", "flags", "count",
	"dec", "money", "percent", "div", "round", "min", "max", "string", "double", "dyn", "abs", "all", "exists", "map",
	"(", ")", "[", "]", "{", "}", ",", ":", "?", "+", "-", "*", "/", "%", "<", "<=", ">", ">=", "==", "!=", "&&", "||", "!",
	`"0.25"`, `"EUR"`, `"x"`, `"1e9"`, "1", "2", "1.5", "0u", "true", "false", "null", " ", "\n", "in", "has", "@", "'",
}

func checkCompileOutcome(t require.TestingT, env *rules.Env, expr string) {
	r, err := env.Compile(doc(rules.Condition, expr))
	if err == nil {
		// Whatever compiles also evaluates to a value or an error, never a panic.
		_, _ = r.Condition(context.Background(), sampleFacts(env))
		return
	}
	var ce *rules.CompileError
	var cost *rules.CostError
	var de *rules.DocumentError
	switch {
	case errors.As(err, &ce):
		require.NotEmpty(t, ce.Issues)
		for _, is := range ce.Issues {
			require.GreaterOrEqual(t, is.Line, 1)
			require.GreaterOrEqual(t, is.Column, 1)
			require.NotEmpty(t, is.Message)
		}
	case errors.As(err, &cost):
	case errors.As(err, &de) && strings.Contains(err.Error(), "the rule reads no fact, so it fails on every evaluation"):
		// A constant that fails (a modulus by zero) fails when compiled,
		// with its evaluation's error.
		var ee *rules.EvalError
		require.ErrorAs(t, err, &ee)
	case errors.As(err, &de):
		require.True(t, strings.TrimSpace(expr) == "", "only an empty expression or a failing constant is a document error: %v", err)
	default:
		require.Fail(t, "untyped error", "%T %v", err, err)
	}
}

func TestPropertyAnyTextCompilesOrFailsWithPosition(t *testing.T) {
	env := mustEnv()
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOfN(rapid.SampledFrom(tokens), 0, 24).Draw(t, "tokens")
		checkCompileOutcome(t, env, strings.Join(parts, ""))
	})
}

func TestPropertyDocumentRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := rules.Document{
			ID:          rapid.StringMatching(`[a-z][a-z0-9-]{0,12}`).Draw(t, "id"),
			Version:     rapid.IntRange(1, 1000).Draw(t, "version"),
			Kind:        rules.Kind(rapid.IntRange(1, 4).Draw(t, "kind")),
			Description: rapid.String().Draw(t, "description"),
			EnvVersion:  rules.Version(rapid.IntRange(1, int(rules.LatestVersion)).Draw(t, "env_version")),
			Expression:  rapid.StringN(1, 40, -1).Draw(t, "expression"),
		}
		if rapid.Bool().Draw(t, "dated") {
			d.EffectiveFrom = time.Unix(rapid.Int64Range(0, 4e9).Draw(t, "from"), 0).UTC()
		}
		for i := range rapid.IntRange(0, 3).Draw(t, "tests") {
			d.Tests = append(d.Tests, rules.TestCase{
				Name:  rapid.StringN(1, 10, -1).Draw(t, "name") + string(rune('a'+i)),
				Facts: map[string]json.RawMessage{"route": json.RawMessage(`{"depth":1}`)},
				Want:  json.RawMessage(`true`),
			})
		}
		b, err := json.Marshal(d)
		require.NoError(t, err)
		back, err := rules.ParseDocuments(b)
		require.NoError(t, err)
		require.Len(t, back, 1)
		require.Empty(t, cmp.Diff(d, back[0]))
	})
}
