package rules

import (
	"fmt"

	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"

	"github.com/ensemble-commerce/ensemble"
)

// currencyMismatches finds arithmetic and comparisons between money whose
// currencies are fixed in the expression and differ, such as
// money("1", "EUR") + money("1", "USD"): such a rule fails on every
// evaluation that reaches the operation, so it is refused when checked.
// Money whose currency depends on the facts (line.amount) is not fixed and
// is left to evaluation.
func currencyMismatches(a *ast.AST) []*common.Error {
	var errs []*common.Error
	info := a.SourceInfo()
	var cur func(e ast.Expr) string
	report := func(e ast.Expr, fn, x, y string) {
		what := fmt.Sprintf("%s(%s, %s)", fn, x, y)
		if len(fn) > 2 && fn[0] == '_' && fn[len(fn)-1] == '_' {
			what = x + " " + fn[1:len(fn)-1] + " " + y
		}
		errs = append(errs, &common.Error{Location: info.GetStartLocation(e.ID()), ExprID: e.ID(),
			Message: "currency mismatch: " + what + " fails whenever it is evaluated: money only meets money of the same currency"})
	}
	// both checks two money operands and returns their common currency.
	both := func(e ast.Expr, op string, x, y ast.Expr) string {
		cx, cy := cur(x), cur(y)
		if cx != "" && cy != "" && cx != cy {
			report(e, op, cx, cy)
			return ""
		}
		if cx != "" {
			return cx
		}
		return cy
	}
	isMoney := func(e ast.Expr) bool { return a.GetType(e.ID()).IsExactType(MoneyType) }
	// cur returns the currency of a money expression when the expression
	// fixes it, else "". It visits every call once.
	cur = func(e ast.Expr) string {
		switch e.Kind() {
		case ast.CallKind:
		case ast.ComprehensionKind:
			c := e.AsComprehension()
			for _, x := range []ast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
				cur(x)
			}
			return ""
		case ast.ListKind:
			for _, x := range e.AsList().Elements() {
				cur(x)
			}
			return ""
		case ast.MapKind:
			for _, en := range e.AsMap().Entries() {
				cur(en.AsMapEntry().Key())
				cur(en.AsMapEntry().Value())
			}
			return ""
		case ast.SelectKind:
			cur(e.AsSelect().Operand())
			return ""
		default:
			return ""
		}
		call := e.AsCall()
		args := call.Args()
		if call.IsMemberFunction() {
			args = append([]ast.Expr{call.Target()}, args...)
		}
		name := call.FunctionName()
		switch {
		case name == "money" && len(args) == 2:
			cur(args[0])
			if s, ok := literalString(args[1]); ok {
				if c, err := ensemble.ParseCurrency(s); err == nil {
					return c.Code()
				}
			}
			return ""
		case len(args) == 2 && isMoney(args[0]) && isMoney(args[1]):
			// + - between money, comparisons, min, max, money.div(money).
			c := both(e, name, args[0], args[1])
			if isMoney(e) {
				return c
			}
			return ""
		case name == "_?_:_" && len(args) == 3:
			cur(args[0])
			cx, cy := cur(args[1]), cur(args[2])
			if cx == cy {
				return cx
			}
			return ""
		}
		// Other calls: money times a decimal, negation, round, div by a
		// decimal, abs keep the currency of their one money operand.
		found := ""
		for _, x := range args {
			c := cur(x)
			if isMoney(x) && c != "" {
				found = c
			}
		}
		if isMoney(e) {
			return found
		}
		return ""
	}
	cur(a.Expr())
	return errs
}
