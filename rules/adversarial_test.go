package rules_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/rules"
)

// Each hostile rule is rejected when it is compiled, with a positioned
// error, or stopped by the runtime cost limit; none hangs or panics.
func TestAdversarialRejectedAtCompile(t *testing.T) {
	env := mustEnv()
	deepParens := strings.Repeat("(", 500) + "true" + strings.Repeat(")", 500)
	deepLists := strings.Repeat("[", 300) + "1" + strings.Repeat("]", 300) + ".size() == 1"
	longAnd := strings.Repeat(`line.id == "x" && `, 2000) + "true"
	hugeList := "[" + strings.Repeat("1, ", 10000) + "1].size() > 0"
	cases := []struct {
		name     string
		kind     rules.Kind
		expr     string
		contains string
	}{
		{"deep parentheses", rules.Condition, deepParens, "recursion limit exceeded"},
		{"deep lists", rules.Condition, deepLists, "recursion limit exceeded"},
		{"long expression", rules.Condition, longAnd, "expression code point size exceeds limit"},
		{"huge list literal", rules.Condition, hugeList, "expression code point size exceeds limit"},
		{"quadratic comprehension", rules.Condition, `order.flags.all(a, order.flags.all(b, a != b))`, "estimated worst-case cost"},
		{"quadratic map", rules.Condition, `order.flags.map(a, order.flags.map(b, a + b)).size() > 0`, "estimated worst-case cost"},
		{"triple nesting", rules.Condition, `[1].all(a, [1].all(b, [1].all(c, a == b)))`, "comprehension exceeds nesting limit"},
		{"giant decimal literal", rules.Share, `dec("` + strings.Repeat("9", 400) + `")`, "invalid decimal literal"},
		{"giant money literal", rules.Amount, `money("` + strings.Repeat("9", 60) + `", "EUR")`, "invalid money amount"},
		{"unknown variable", rules.Condition, `customer.vip == true`, "undeclared reference to 'customer'"},
		{"wrong output type", rules.Amount, `line.quantity`, "an amount rule must be of type money, not decimal"},
		{"double literal", rules.Condition, `order.count > 1.0`, "double literal"},
		{"exponent double literal", rules.Condition, `1e3 > 2e3`, "double literal"},
		{"double conversion", rules.Condition, `double("1.5") > double("1")`, "double(...) is not allowed"},
		{"int of double", rules.Condition, `int(2.5) == 2`, "double literal 2.5"},
		{"dyn comparison", rules.Condition, `dyn(line.amount) == 100`, "dyn(...) is not allowed"},
		{"dyn in list", rules.Condition, `[dyn(1)][0] == 1`, "dyn(...) is not allowed"},
		{"mixed list smuggles dyn", rules.Condition, `[line.amount, 1][0] == 100`, "expected type 'money' but found 'int'"},
		{"wrapper message smuggles double", rules.Condition, `google.protobuf.DoubleValue{} == google.protobuf.DoubleValue{}`, "building google.protobuf.DoubleValue values is not allowed"},
		{"building host structs", rules.Condition, `rules_test.Route{depth: 1}.depth == 1`, "building rules_test.Route values is not allowed"},
		{"double in map", rules.Condition, `{"a": 0.5}["a"] > 0.1`, "double literal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := env.Compile(doc(c.kind, c.expr))
			require.Nil(t, r)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.contains)
			var ce *rules.CompileError
			var cost *rules.CostError
			require.True(t, errors.As(err, &ce) || errors.As(err, &cost), "typed error, got %T", err)
			if ce != nil {
				require.Equal(t, "r", ce.RuleID)
				require.Positive(t, ce.Issues[0].Line)
				require.Positive(t, ce.Issues[0].Column)
			}
		})
	}
}

func TestAdversarialStoppedAtRuntime(t *testing.T) {
	huge := make([]string, 200_000)
	for i := range huge {
		huge[i] = "flag"
	}
	cases := []struct {
		name string
		opts []rules.Option
		kind rules.Kind
		expr string
		is   error
	}{
		{
			name: "list larger than its size hint",
			opts: []rules.Option{rules.SizeHint("order.flags", 10), rules.CostLimit(10_000)},
			kind: rules.Condition,
			expr: `order.flags.exists(f, f == "other")`,
			is:   rules.ErrCostLimit,
		},
		{
			name: "quadratic within budget statically, over the limit at run time",
			opts: []rules.Option{rules.SizeHint("order.flags", 10), rules.SizeHint("order.flags.@items", 4)},
			kind: rules.Condition,
			expr: `order.flags.all(a, order.flags.all(b, a == b))`,
			is:   rules.ErrCostLimit,
		},
		{
			name: "trusted environment still limits comprehensions",
			opts: []rules.Option{rules.TrustBounded(true), rules.SizeHint("order.flags", 10), rules.CostLimit(10_000)},
			kind: rules.Condition,
			expr: `order.flags.exists(f, f == "other")`,
			is:   rules.ErrCostLimit,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := mustEnv(c.opts...)
			r, err := env.Compile(doc(c.kind, c.expr))
			require.NoError(t, err)
			require.True(t, r.CostTracked())
			f := env.NewFacts()
			require.NoError(t, f.Set("order", &Order{Flags: huge}))
			_, err = r.Eval(context.Background(), f)
			require.ErrorIs(t, err, c.is)
			var ce *rules.CostError
			require.ErrorAs(t, err, &ce)
			require.True(t, ce.Runtime)
			require.Equal(t, "r", ce.RuleID)
			require.Contains(t, err.Error(), `rule "r" v1 exceeded the runtime cost limit`)
		})
	}
}

func TestGrowingDecimalsAreBounded(t *testing.T) {
	env := mustEnv()
	big := `dec("` + strings.Repeat("9", 40) + `")`
	// A constant that overflows overflows on every evaluation: refused
	// when compiled, with the evaluation's error.
	_, err := env.Compile(doc(rules.Share, big+" * "+big+" * "+big))
	var re *rules.RangeError
	require.ErrorAs(t, err, &re)
	require.Contains(t, err.Error(), "more than 80 digits")
	require.Contains(t, err.Error(), "the rule reads no fact")
	// One that reads a fact overflows when evaluated.
	r, err := env.Compile(doc(rules.Share, big+" * "+big+" * "+big+" * line.quantity"))
	require.NoError(t, err)
	f := env.NewFacts()
	require.NoError(t, f.Set("line", sampleLine()))
	_, err = r.Share(context.Background(), f)
	require.ErrorAs(t, err, &re)
	require.Contains(t, err.Error(), "more than 80 digits")

	_, err = env.Compile(doc(rules.Share, `[1, 2, 3, 4, 5].map(i, dec("0.000000001")).all(x, true) ? dec("0.000000001") * dec("0.000000001") * dec("0.000000001") * dec("0.000000001") * dec("0.000000001") : dec("0")`))
	require.ErrorAs(t, err, &re, "a constant: refused when compiled")
	require.Contains(t, err.Error(), "more than 40 digits after the point")
}

func TestTrustBoundedSkipsTrackerOnlyWithoutComprehensions(t *testing.T) {
	env := mustEnv(rules.TrustBounded(true), rules.SizeHint("order.flags", 10))
	plain, err := env.Compile(doc(rules.Condition, benchCondition))
	require.NoError(t, err)
	require.False(t, plain.CostTracked())
	loop, err := env.Compile(doc(rules.Condition, `order.flags.all(f, f != "")`))
	require.NoError(t, err)
	require.True(t, loop.CostTracked())
	def := mustEnv()
	tracked, err := def.Compile(doc(rules.Condition, benchCondition))
	require.NoError(t, err)
	require.True(t, tracked.CostTracked())
}

// A rule that reads no fact has one result: one that fails (a division by
// zero) would fail every line it decides, so it is refused when compiled,
// with the evaluation's error (a new user's trial loaded it and saw every
// line fail when settled). One that reads a fact is evaluated per line.
func TestConstantRuleFailingIsRefusedWhenCompiled(t *testing.T) {
	env := mustEnv()
	_, err := env.Compile(doc(rules.Share, `dec("1").div(dec("0"), 2)`))
	require.ErrorIs(t, err, rules.ErrDivisionByZero)
	require.ErrorContains(t, err, "the rule reads no fact, so it fails on every evaluation")
	var de *rules.DocumentError
	require.ErrorAs(t, err, &de)

	r, err := env.Compile(doc(rules.Share, `line.quantity > dec("5") ? dec("1").div(dec("0"), 2) : percent(10)`))
	require.NoError(t, err, "it reads a fact: evaluated per line")
	f := env.NewFacts()
	require.NoError(t, f.Set("line", sampleLine()))
	got, err := r.Share(context.Background(), f)
	require.NoError(t, err)
	require.True(t, got.Equal(decimal.RequireFromString("0.1")))

	_, err = env.Compile(doc(rules.Share, `percent(10)`))
	require.NoError(t, err, "a constant that evaluates is fine")
}
