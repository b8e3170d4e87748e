package rules_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

// render writes a result the way the tables below spell it.
func render(r rules.Result) string {
	switch r.Kind {
	case rules.Condition:
		if r.Bool {
			return "true"
		}
		return "false"
	case rules.Share:
		return r.Decimal.String()
	case rules.Amount:
		return r.Money.String()
	default:
		if r.Decision.Allowed {
			return "allowed"
		}
		return "denied: " + r.Decision.Reason
	}
}

func evalExpr(t *testing.T, env *rules.Env, kind rules.Kind, expr string) (string, error) {
	t.Helper()
	r, err := env.Compile(doc(kind, expr))
	if err != nil {
		return "", err
	}
	res, err := r.Eval(context.Background(), sampleFacts(env))
	if err != nil {
		return "", err
	}
	return render(res), nil
}

func TestFunctions(t *testing.T) {
	env := mustEnv()
	cases := []struct {
		name string
		kind rules.Kind
		expr string
		want string
	}{
		{"dec string", rules.Share, `dec("0.25")`, "0.25"},
		{"dec negative", rules.Share, `dec("-12.5")`, "-12.5"},
		{"dec int", rules.Share, `dec(3)`, "3"},
		{"dec of variable string", rules.Share, `dec(partner.attributes["uplift"])`, "0.05"},
		{"percent string", rules.Share, `percent("12.5")`, "0.125"},
		{"percent int", rules.Share, `percent(30)`, "0.3"},
		{"percent decimal", rules.Share, `percent(dec("7"))`, "0.07"},
		{"money string", rules.Amount, `money("100", "EUR")`, "EUR 100.00"},
		{"money decimal", rules.Amount, `money(dec("0.5") * dec("3"), "USD")`, "USD 1.50"},
		{"money lowercase code", rules.Amount, `money("5", "jpy")`, "JPY 5"},
		{"add decimal", rules.Share, `dec("0.1") + dec("0.2")`, "0.3"},
		{"subtract decimal", rules.Share, `dec("1") - dec("0.75")`, "0.25"},
		{"multiply decimal", rules.Share, `dec("0.5") * dec("0.5")`, "0.25"},
		{"negate decimal", rules.Share, `-dec("0.5")`, "-0.5"},
		{"add money", rules.Amount, `line.amount + money("0.50", "EUR")`, "EUR 150.50"},
		{"subtract money", rules.Amount, `line.amount - money("50", "EUR")`, "EUR 100.00"},
		{"money times decimal", rules.Amount, `line.amount * dec("0.15")`, "EUR 22.50"},
		{"decimal times money", rules.Amount, `dec("0.15") * line.amount`, "EUR 22.50"},
		{"negate money", rules.Amount, `-line.amount`, "EUR -150.00"},
		{"less decimal", rules.Condition, `dec("1") < dec("2")`, "true"},
		{"less equals decimal", rules.Condition, `dec("2") <= dec("2.00")`, "true"},
		{"greater decimal", rules.Condition, `dec("1") > dec("2")`, "false"},
		{"greater equals decimal", rules.Condition, `line.quantity >= dec("3")`, "true"},
		{"equal decimal numerically", rules.Condition, `dec("1.0") == dec("1.00")`, "true"},
		{"not equal decimal", rules.Condition, `dec("1") != dec("1.01")`, "true"},
		{"less money", rules.Condition, `money("1", "EUR") < line.amount`, "true"},
		{"less equals money", rules.Condition, `line.amount <= money("150", "EUR")`, "true"},
		{"greater money", rules.Condition, `line.amount > money("100", "EUR")`, "true"},
		{"greater equals money", rules.Condition, `line.amount >= money("150.01", "EUR")`, "false"},
		{"equal money", rules.Condition, `line.amount == money("150", "EUR")`, "true"},
		{"money of other currency is not equal", rules.Condition, `line.amount != money("150", "USD")`, "true"},
		{"div decimal", rules.Share, `dec("1").div(dec("3"), 4)`, "0.3333"},
		{"div half away", rules.Share, `dec("2.5").div(dec("1"), 0)`, "3"},
		{"div half even", rules.Share, `dec("2.5").div(dec("1"), 0, "half_even")`, "2"},
		{"div negative half away", rules.Share, `dec("-2.5").div(dec("1"), 0)`, "-3"},
		{"div floor", rules.Share, `dec("-1").div(dec("3"), 2, "floor")`, "-0.34"},
		{"div ceiling", rules.Share, `dec("1").div(dec("3"), 2, "ceiling")`, "0.34"},
		{"div up", rules.Share, `dec("1").div(dec("3"), 1, "up")`, "0.4"},
		{"div down", rules.Share, `dec("2").div(dec("3"), 1, "down")`, "0.6"},
		{"div half down", rules.Share, `dec("0.25").div(dec("1"), 1, "half_down")`, "0.2"},
		{"div money by decimal", rules.Amount, `money("10", "EUR").div(dec("3"), 2)`, "EUR 3.33"},
		{"div money by money", rules.Share, `money("25", "EUR").div(line.amount, 4)`, "0.1667"},
		{"round decimal", rules.Share, `dec("2.345").round(2)`, "2.35"},
		{"round decimal half even", rules.Share, `dec("2.345").round(2, "half_even")`, "2.34"},
		{"round money", rules.Amount, `money("3.685", "EUR").round(2)`, "EUR 3.69"},
		{"round money half even", rules.Amount, `money("3.685", "EUR").round(2, "half_even")`, "EUR 3.68"},
		{"string decimal", rules.Condition, `string(dec("1.50")) == "1.5"`, "true"},
		{"string money", rules.Condition, `string(money("12.3", "EUR")) == "EUR 12.30"`, "true"},
		{"min decimal", rules.Share, `min(dec("0.3"), dec("0.25"))`, "0.25"},
		{"max decimal", rules.Share, `max(dec("0.3"), dec("0.25"))`, "0.3"},
		{"min money", rules.Amount, `min(money("5", "EUR"), line.amount)`, "EUR 5.00"},
		{"max money", rules.Amount, `max(money("5", "EUR"), line.amount)`, "EUR 150.00"},
		{"amount", rules.Share, `line.amount.amount()`, "150"},
		{"currency", rules.Condition, `line.amount.currency() == "EUR"`, "true"},
		{"sign decimal", rules.Condition, `dec("-2").sign() == -1`, "true"},
		{"sign money", rules.Condition, `line.amount.sign() == 1`, "true"},
		{"ternary share", rules.Share, `partner.tier == "gold" ? percent(30) : percent(25)`, "0.3"},
		{"comprehension over decimals", rules.Condition, `[dec("1"), dec("2")].all(x, x > dec("0"))`, "true"},
		{"decimal in list", rules.Condition, `dec("2.0") in [dec("1"), dec("2")]`, "true"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := evalExpr(t, env, c.kind, c.expr)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func TestFunctionsVersion2(t *testing.T) {
	env := mustEnv()
	cases := []struct {
		name string
		kind rules.Kind
		expr string
		want string
	}{
		{"abs decimal", rules.Share, `dec("-2.5").abs()`, "2.5"},
		{"abs money", rules.Amount, `(-line.amount).abs()`, "EUR 150.00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := doc(c.kind, c.expr)
			d.EnvVersion = rules.Version2
			r, err := env.Compile(d)
			require.NoError(t, err)
			res, err := r.Eval(context.Background(), sampleFacts(env))
			require.NoError(t, err)
			require.Equal(t, c.want, render(res))

			d.EnvVersion = rules.Version1
			_, err = env.Compile(d)
			var ce *rules.CompileError
			require.ErrorAs(t, err, &ce, "a version 2 function must be invisible to version 1 rules")
			require.Contains(t, ce.Error(), "undeclared reference to 'abs'")
		})
	}
}

func TestEvalErrors(t *testing.T) {
	env := mustEnv()
	cases := []struct {
		name     string
		kind     rules.Kind
		expr     string
		line     int
		column   int
		contains string
		is       error
	}{
		{"currency mismatch add", rules.Amount, `line.amount + money("1", "USD")`, 1, 13, "currency mismatch EUR and USD", ensemble.ErrCurrencyMismatch},
		{"currency mismatch compare", rules.Condition, `line.amount < money("1", "USD")`, 1, 13, "currency mismatch", ensemble.ErrCurrencyMismatch},
		{"currency mismatch min", rules.Amount, `min(line.amount, money("1", "USD"))`, 1, 4, "currency mismatch", ensemble.ErrCurrencyMismatch},
		{"currency mismatch div", rules.Share, `line.amount.div(money("1", "USD"), 2)`, 1, 16, "currency mismatch", ensemble.ErrCurrencyMismatch},
		{"division by zero", rules.Share, `dec("1").div(dec("0"), 2)`, 1, 13, "division by zero", rules.ErrDivisionByZero},
		{"money division by zero", rules.Amount, `line.amount.div(dec("0"), 2)`, 1, 16, "division by zero", rules.ErrDivisionByZero},
		{"money by zero money", rules.Share, `line.amount.div(money("0", "EUR"), 2)`, 1, 16, "division by zero", rules.ErrDivisionByZero},
		{"bad runtime decimal", rules.Share, `dec(order.channel)`, 1, 4, "want plain decimal notation", nil},
		{"bad runtime currency", rules.Amount, `money("1", order.channel)`, 1, 6, "currency", nil},
		{"bad runtime scale", rules.Share, `dec("1").round(order.count - 5)`, 1, 15, "scale -3 out of range", nil},
		{"bad runtime mode", rules.Share, `dec("1").round(2, order.channel)`, 1, 15, "rounding mode", nil},
		{"result too fine", rules.Share, `dec("0.000000000000000001") * dec("0.000000000000000001") * dec("0.00001")`, 1, 59, "out of range", nil},
		{"missing map key", rules.Share, `dec(partner.attributes["nope"])`, 1, 23, "no such key", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := evalExpr(t, env, c.kind, c.expr)
			var ee *rules.EvalError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, "r", ee.RuleID)
			require.Equal(t, c.line, ee.Line, "line")
			require.Equal(t, c.column, ee.Column, "column")
			require.Contains(t, err.Error(), c.contains)
			require.Contains(t, err.Error(), `rule "r" v1 expression`)
			if c.is != nil {
				require.True(t, errors.Is(err, c.is), "errors.Is(%v, %v)", err, c.is)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	env := mustEnv()
	cases := []struct {
		name     string
		kind     rules.Kind
		expr     string
		line     int
		column   int
		contains string
	}{
		{"double literal", rules.Condition, `line.quantity > 1.5`, 1, 17, "double literal 1.5 is not allowed"},
		{"double conversion", rules.Condition, "true &&\n double(order.count) > 1", 2, 8, "double(...) is not allowed"},
		{"dyn", rules.Condition, `dyn(line.amount) == 100`, 1, 4, "dyn(...) is not allowed"},
		{"bad decimal literal", rules.Share, `dec("1e5")`, 1, 5, "invalid decimal literal"},
		{"giant decimal literal", rules.Share, `dec("123456789012345678901234567890123456789012345")`, 1, 5, "invalid decimal literal"},
		{"too fine decimal literal", rules.Share, `dec("0.0000000000000000001")`, 1, 5, "more than 18 digits after the point"},
		{"bad percent literal", rules.Share, `percent("12,5")`, 1, 9, "invalid decimal literal"},
		{"bad money amount", rules.Amount, `money("1.2.3", "EUR")`, 1, 7, "invalid money amount"},
		{"bad currency", rules.Amount, `money("1", "EURO")`, 1, 12, "invalid currency"},
		{"scale out of range", rules.Share, `dec("1").div(dec("3"), 19)`, 1, 24, "scale 19 out of range"},
		{"negative scale", rules.Share, `dec("1").round(-1)`, 1, 16, "scale -1 out of range"},
		{"bad rounding mode", rules.Share, `dec("1").round(2, "bankers")`, 1, 19, "invalid rounding mode"},
		{"money times money", rules.Amount, `line.amount * line.amount`, 1, 13, "no matching overload"},
		{"decimal plus int", rules.Share, `dec("1") + 1`, 1, 10, "no matching overload"},
		{"money plus decimal", rules.Amount, `line.amount + dec("1")`, 1, 13, "no matching overload"},
		{"divide operator", rules.Share, `dec("1") / dec("2")`, 1, 10, "there is no / in rules"},
		{"unknown variable", rules.Condition, `customer.vip`, 1, 1, "undeclared reference to 'customer'"},
		{"unknown field", rules.Condition, `line.colour == "red"`, 1, 5, "undefined field 'colour'"},
		{"hidden field", rules.Condition, `line.Internal == ""`, 1, 5, "undefined field 'Internal'"},
		{"wrong output type", rules.Share, `line.amount`, 1, 1, "a share rule must be of type decimal, not money"},
		{"condition not bool", rules.Condition, `dec("1")`, 1, 1, "a condition rule must be of type bool, not decimal"},
		{"syntax error", rules.Condition, `line.amount >`, 1, 14, "Syntax error"},
		{"bad timestamp literal", rules.Condition, `line.date > timestamp("yesterday")`, 1, 23, "invalid timestamp argument"},
		{"bad duration literal", rules.Condition, `duration("1 month") > duration("1h")`, 1, 10, "invalid duration argument"},
		{"bad regex literal", rules.Condition, `order.channel.matches("[")`, 1, 23, "invalid matches argument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := env.Compile(doc(c.kind, c.expr))
			var ce *rules.CompileError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, "r", ce.RuleID)
			require.NotEmpty(t, ce.Issues)
			is := ce.Issues[0]
			for _, i := range ce.Issues {
				if strings.Contains(i.Message, c.contains) {
					is = i
				}
			}
			require.Equal(t, c.line, is.Line, "line: %v", err)
			require.Equal(t, c.column, is.Column, "column: %v", err)
			require.Contains(t, is.Message, c.contains)
			require.Contains(t, is.Snippet, "^", "caret snippet")
			require.Contains(t, err.Error(), `rule "r" v1 expression`)
		})
	}
}

func TestCompileReportsEveryIssue(t *testing.T) {
	env := mustEnv()
	_, err := env.Compile(doc(rules.Condition, `1.5 > 2.5 && dyn(1) == 1 && dec("x") > dec("y")`))
	var ce *rules.CompileError
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Issues, 5)
}

func TestWrongKindCall(t *testing.T) {
	env := mustEnv()
	r, err := env.Compile(doc(rules.Condition, `true`))
	require.NoError(t, err)
	_, err = r.Share(context.Background(), nil)
	require.ErrorIs(t, err, rules.ErrWrongKind)
	_, err = r.Amount(context.Background(), nil)
	require.ErrorIs(t, err, rules.ErrWrongKind)
	_, err = r.Policy(context.Background(), nil)
	require.ErrorIs(t, err, rules.ErrWrongKind)
	s, err := env.Compile(doc(rules.Share, `dec("1")`))
	require.NoError(t, err)
	_, err = s.Condition(context.Background(), nil)
	require.ErrorIs(t, err, rules.ErrWrongKind)
}

func TestConstantCallsAreFoldedAtCompile(t *testing.T) {
	env, err := rules.NewEnv(rules.Var[string]("s"), rules.TrustBounded(true))
	require.NoError(t, err)
	folded, err := env.Compile(doc(rules.Condition, `dec("0.25") < dec("0.5") && money("100", "EUR") > money("99.99", "EUR")`))
	require.NoError(t, err)
	parsed, err := env.Compile(doc(rules.Condition, `dec(s) < dec("0.5") && money(s, "EUR") < money("99.99", "EUR")`))
	require.NoError(t, err)
	f := env.NewFacts()
	require.NoError(t, f.Set("s", "0.25"))
	ctx := context.Background()
	allocs := func(r *rules.Rule) float64 {
		return testing.AllocsPerRun(50, func() {
			ok, err := r.Condition(ctx, f)
			if err != nil || !ok {
				panic("unexpected result")
			}
		})
	}
	// Literals are parsed once, at compile time: evaluating the folded rule
	// allocates less than a rule that must parse its decimals each time.
	require.Less(t, allocs(folded), allocs(parsed))
}

// TestMoneyLiteralAmountParsedOnce checks money(<literal>, <code>) whose
// code is read from the facts: the amount is parsed when the rule is
// compiled, and the call gives what parsing at every evaluation gave (the
// same money, the same error at the same place, the same runtime cost)
// without allocating for the parse.
func TestMoneyLiteralAmountParsedOnce(t *testing.T) {
	type facts struct {
		Amount string `json:"amount"`
		Code   string `json:"code"`
	}
	env, err := rules.NewEnv(rules.Var[facts]("f"))
	require.NoError(t, err)
	literal, err := env.Compile(doc(rules.Amount, `money("12.5", f.code) * dec("2")`))
	require.NoError(t, err)
	read, err := env.Compile(doc(rules.Amount, `money(f.amount, f.code) * dec("2")`))
	require.NoError(t, err)
	ctx := context.Background()
	for _, code := range []string{"EUR", "JPY", "BHD"} {
		f := env.NewFacts()
		require.NoError(t, f.Set("f", facts{Amount: "12.5", Code: code}))
		got, err := literal.Amount(ctx, f)
		require.NoError(t, err)
		want, err := read.Amount(ctx, f)
		require.NoError(t, err)
		require.True(t, got.Equal(want), "%s: %s, want %s", code, got, want)
		require.True(t, got.Equal(ensemble.MustMoney("25", code)), "%s: %s", code, got)
		// Reading f.amount costs two units more (the variable and its
		// field), the call the same as before the literal was parsed once.
		cl, err := rules.RuntimeCost(literal, f)
		require.NoError(t, err)
		cr, err := rules.RuntimeCost(read, f)
		require.NoError(t, err)
		require.Equal(t, cr-2, cl, "%s: runtime cost", code)
		allocs := func(r *rules.Rule) float64 {
			return testing.AllocsPerRun(50, func() {
				if _, err := r.Amount(ctx, f); err != nil {
					panic(err)
				}
			})
		}
		// Reading the amount costs an allocation (the field's text as a CEL
		// value) and parsing it another; the literal, parsed once, neither.
		require.LessOrEqual(t, allocs(literal)+2, allocs(read), "%s: allocations", code)
	}
	f := env.NewFacts()
	require.NoError(t, f.Set("f", facts{Amount: "12.5", Code: "NOPE"}))
	_, errLit := literal.Amount(ctx, f)
	var ee *rules.EvalError
	require.ErrorAs(t, errLit, &ee)
	require.Equal(t, 1, ee.Line)
	require.Equal(t, 6, ee.Column, "the error is placed at money's call")
	_, errRead := read.Amount(ctx, f)
	require.ErrorAs(t, errRead, &ee)
	require.Equal(t, 6, ee.Column)
	require.Equal(t, errors.Unwrap(errRead).Error(), errors.Unwrap(errLit).Error())
}

// TestMoneyLiteralMadeOncePerCurrency checks money(<literal>, <code>)
// whose code is read from the facts: its money is made once per currency
// (evaluating it in a currency seen before allocates no more than reading
// the code), for more currencies than one, in turn and from several
// goroutines at once; a code that is no currency is an error at every
// evaluation and leaves the currencies seen before as they were.
func TestMoneyLiteralMadeOncePerCurrency(t *testing.T) {
	type facts struct {
		Code string `json:"code"`
	}
	env, err := rules.NewEnv(rules.Var[*facts]("f"), rules.TrustBounded(true))
	require.NoError(t, err)
	made, err := env.Compile(doc(rules.Condition, `money("10", f.code) > money("9.99", f.code)`))
	require.NoError(t, err)
	read, err := env.Compile(doc(rules.Condition, `f.code != "" && f.code != ""`))
	require.NoError(t, err)
	amount, err := env.Compile(doc(rules.Amount, `money("12.5", f.code) * dec("2")`))
	require.NoError(t, err)
	ctx := context.Background()
	fs := &facts{}
	f := env.NewFacts()
	require.NoError(t, f.Set("f", fs))
	allocs := func(r *rules.Rule) float64 {
		return testing.AllocsPerRun(20, func() {
			if ok, err := r.Condition(ctx, f); err != nil || !ok {
				panic("unexpected result")
			}
		})
	}
	codes := []string{"EUR", "JPY", "BHD", "USD", "GEMS:0"}
	for round := range 2 {
		for _, code := range codes {
			fs.Code = code
			require.LessOrEqual(t, allocs(made), allocs(read), "round %d, %s: allocations", round, code)
			got, err := amount.Amount(ctx, f)
			require.NoError(t, err)
			require.True(t, got.Equal(ensemble.MustMoney("25", code)), "%s: %s", code, got)
		}
		fs.Code = "NOPE"
		_, err := made.Condition(ctx, f)
		var ee *rules.EvalError
		require.ErrorAs(t, err, &ee, "round %d", round)
		require.Equal(t, 6, ee.Column, "the error is placed at money's call")
	}
	// Concurrent evaluations, each with its own facts, in currencies seen
	// and not yet seen by this rule.
	fresh, err := env.Compile(doc(rules.Amount, `money("12.5", f.code) * dec("2")`))
	require.NoError(t, err)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			own := &facts{}
			ff := env.NewFacts()
			if err := ff.Set("f", own); err != nil {
				errs <- err
				return
			}
			for i := range 200 {
				own.Code = codes[(g+i)%len(codes)]
				got, err := fresh.Amount(ctx, ff)
				if err == nil && !got.Equal(ensemble.MustMoney("25", own.Code)) {
					err = errors.New("money " + got.String() + " in " + own.Code)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}

func TestLibraryInAPlainCELEnv(t *testing.T) {
	env, err := cel.NewEnv(rules.Library(rules.Version1))
	require.NoError(t, err)
	ast, iss := env.Compile(`(money("10", "EUR") * percent("12.5")).round(2) == money("1.25", "EUR")`)
	require.NoError(t, iss.Err())
	prg, err := env.Program(ast)
	require.NoError(t, err)
	out, _, err := prg.Eval(cel.NoVars())
	require.NoError(t, err)
	require.Equal(t, true, out.Value())

	_, iss = env.Compile(`1.5 > 1.0`)
	require.ErrorContains(t, iss.Err(), "double literal 1.5 is not allowed")
}
