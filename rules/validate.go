package rules

import (
	"strings"
	"sync/atomic"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/ensemble-commerce/ensemble"
)

// literalValidator rejects doubles and dyn, and checks the literal arguments
// of dec, percent, money, div and round, at the position of the offending
// expression.
type literalValidator struct{}

// Name implements cel.ASTValidator.
func (literalValidator) Name() string { return "ensemble.rules.literals" }

// Validate implements cel.ASTValidator.
func (literalValidator) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *ast.AST, iss *cel.Issues) {
	findProblems(a, iss.ReportErrorAtID)
}

// reporter records a problem at the expression with the given id.
type reporter func(id int64, format string, args ...any)

// findProblems reports double literals, double() and dyn() calls and bad
// literal arguments. It needs no type information, so it also runs on a
// parsed expression that does not type-check.
func findProblems(a *ast.AST, report reporter) {
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.LiteralKind:
			if _, ok := e.AsLiteral().(types.Double); ok {
				report(e.ID(), "double literal %v is not allowed: rules compute with exact decimals", e.AsLiteral())
			}
		case ast.CallKind:
			validateCall(e, report)
		case ast.StructKind:
			report(e.ID(), "building %s values is not allowed: rules read the facts they are given", e.AsStruct().TypeName())
		}
	}))
}

func literalString(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

func literalInt(e ast.Expr) (int64, bool) {
	if e.Kind() != ast.LiteralKind {
		return 0, false
	}
	i, ok := e.AsLiteral().(types.Int)
	return int64(i), ok
}

func validateCall(e ast.Expr, report reporter) {
	call := e.AsCall()
	args := call.Args()
	switch call.FunctionName() {
	case "double":
		report(e.ID(), "double(...) is not allowed: rules compute with exact decimals")
	case "dyn":
		report(e.ID(), "dyn(...) is not allowed: it would bypass type checking")
	case "_/_":
		// Between ints CEL's / truncates (25 / 2 is 12), which would pay
		// a share silently wrong; between decimals and money there is
		// none. Division is div, with its scale and rounding.
		report(e.ID(), "there is no / in rules: divide with div, which says its scale and rounding (between ints / would truncate: 25 / 2 is 12)")
	case "dec", "percent":
		if len(args) == 1 {
			if s, ok := literalString(args[0]); ok {
				if _, err := parseDecimalLiteral(s); err != nil {
					report(args[0].ID(), "invalid decimal literal: %v", err)
				}
			}
		}
	case "money":
		if len(args) == 2 {
			if s, ok := literalString(args[0]); ok {
				if _, err := parseDecimalLiteral(s); err != nil {
					report(args[0].ID(), "invalid money amount: %v", err)
				}
			}
			if s, ok := literalString(args[1]); ok {
				if _, err := ensemble.ParseCurrency(s); err != nil {
					report(args[1].ID(), "invalid currency: %v", err)
				}
			}
		}
	case "months_since":
		if len(args) == 3 {
			if s, ok := literalString(args[2]); ok {
				if _, err := loadZone(s); err != nil {
					report(args[2].ID(), "%s", strings.TrimPrefix(err.Error(), "rules: "))
				}
			}
		}
	case "div", "round":
		if !call.IsMemberFunction() {
			return
		}
		scaleAt := 1
		if call.FunctionName() == "round" {
			scaleAt = 0
		}
		if len(args) > scaleAt {
			if i, ok := literalInt(args[scaleAt]); ok && (i < 0 || i > MaxScale) {
				report(args[scaleAt].ID(), "scale %d out of range [0, %d]", i, MaxScale)
			}
		}
		if len(args) > scaleAt+1 {
			if s, ok := literalString(args[scaleAt+1]); ok {
				if _, err := ensemble.ParseRoundingMode(s); err != nil {
					report(args[scaleAt+1].ID(), "invalid rounding mode %q", s)
				}
			}
		}
	}
}

// foldConstants replaces a call to one of the library's pure functions whose
// arguments are all constants by the constant it evaluates to, so that
// dec("0.25") is parsed once, when the program is planned, and never again
// per evaluation; and money(<literal>, <code>) whose code is not a constant
// (money("10", line.currency)) by a call that parsed its amount then
// (moneyOfLiteral). A call that fails is left alone to report its error at
// evaluation (the validator has already rejected bad literals).
func foldConstants(i interpreter.Interpretable) (interpreter.Interpretable, error) {
	call, ok := i.(interpreter.InterpretableCall)
	if !ok {
		return i, nil
	}
	if _, ours := overloadCosts[call.OverloadID()]; !ours {
		return i, nil
	}
	if m := foldMoneyAmount(call); m != nil {
		return m, nil
	}
	if m := foldZone(call); m != nil {
		return m, nil
	}
	for _, a := range call.Args() {
		if _, isConst := a.(interpreter.InterpretableConst); !isConst {
			return i, nil
		}
	}
	v := call.Eval(interpreter.EmptyActivation())
	if types.IsError(v) {
		return i, nil
	}
	return interpreter.NewConstValue(call.ID(), v), nil
}

// foldMoneyAmount returns money(<literal>, <code>) with its literal amount
// parsed, or nil for any other call.
func foldMoneyAmount(call interpreter.InterpretableCall) *moneyOfLiteral {
	args := call.Args()
	if call.OverloadID() != "money_string_string" || len(args) != 2 {
		return nil
	}
	lit, ok := args[0].(interpreter.InterpretableConst)
	if !ok {
		return nil
	}
	if _, isConst := args[1].(interpreter.InterpretableConst); isConst {
		return nil // folded whole
	}
	text, ok := lit.Value().(types.String)
	if !ok {
		return nil
	}
	d, err := parseDecimalLiteral(string(text))
	if err != nil {
		return nil
	}
	return &moneyOfLiteral{call: call, text: text, amount: mkDec(d), code: args[1]}
}

// moneyOfLiteral is money(<literal>, <code>) with the literal parsed once:
// it evaluates the code and makes the money, with the result, the errors
// and the runtime cost of the call it replaces (the cost tracker is charged
// for money_string_string of the literal's text, as the estimate was). The
// money of each code it makes is kept for the next evaluations (of the
// first maxLiteralCodes codes): money("10", line.currency) is made once per
// currency, never per line.
type moneyOfLiteral struct {
	call   interpreter.InterpretableCall // the call replaced: id, function, overload and arguments
	text   types.String                  // the literal, as it is priced
	amount ref.Val                       // the literal parsed
	code   interpreter.InterpretableV2
	// made is the money of the codes evaluated so far, read-only once
	// stored: a program is evaluated concurrently, and a code not yet
	// made is added to a copy.
	made atomic.Pointer[[]codeMoney]
}

// codeMoney is the money a moneyOfLiteral made for a currency code.
type codeMoney struct {
	code types.String
	val  ref.Val
}

// maxLiteralCodes bounds the currencies a money literal keeps its value
// for; others are made per evaluation.
const maxLiteralCodes = 8

// ID implements interpreter.Interpretable.
func (m *moneyOfLiteral) ID() int64 { return m.call.ID() }

// Function implements interpreter.InterpretableCall.
func (m *moneyOfLiteral) Function() string { return m.call.Function() }

// OverloadID implements interpreter.InterpretableCall.
func (m *moneyOfLiteral) OverloadID() string { return m.call.OverloadID() }

// Args implements interpreter.InterpretableCall.
func (m *moneyOfLiteral) Args() []interpreter.InterpretableV2 { return m.call.Args() }

// Eval implements interpreter.Interpretable.
func (m *moneyOfLiteral) Eval(a interpreter.Activation) ref.Val {
	return interpreter.EvalActivation(a, m.Exec)
}

// Exec implements interpreter.InterpretableV2, as cel-go's binary calls do.
func (m *moneyOfLiteral) Exec(f *interpreter.ExecutionFrame) ref.Val {
	code := m.code.Exec(f)
	switch code.(type) {
	case *types.Err:
		return code
	case *types.Unknown:
		if costs := f.CostTracker(); costs != nil {
			costs.EvalBinary(f, m.ID(), m, m.text, code, code)
		}
		return code
	}
	res := m.of(code)
	if costs := f.CostTracker(); costs != nil {
		costs.EvalBinary(f, m.ID(), m, m.text, code, res)
	}
	return res
}

// of returns the literal's money in currency code: the one made for the
// code before, or made now (and kept, unless it is an error or enough
// codes are kept).
func (m *moneyOfLiteral) of(code ref.Val) ref.Val {
	c, isString := code.(types.String)
	made := m.made.Load()
	if isString && made != nil {
		for _, cm := range *made {
			if cm.code == c {
				return cm.val
			}
		}
	}
	res := types.LabelErrNode(m.ID(), moneyOf(m.amount, code))
	if !isString || types.IsError(res) || made != nil && len(*made) >= maxLiteralCodes {
		return res
	}
	var next []codeMoney
	if made != nil {
		next = append(next, *made...)
	}
	// A copy of the code: the facts' string may be part of a larger one.
	next = append(next, codeMoney{code: types.String(strings.Clone(string(c))), val: res})
	m.made.CompareAndSwap(made, &next) // a concurrent evaluation may have stored first: it made the same
	return res
}
