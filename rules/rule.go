package rules

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
)

// RefKindRule is the ensemble.RefKind of a reference to a rule version.
const RefKindRule ensemble.RefKind = "rule"

// Rule is a compiled rule document: type-checked, cost-estimated and planned
// once, then evaluated many times. A Rule is immutable and safe for
// concurrent use.
type Rule struct {
	doc      Document
	env      *Env
	main     program
	reason   *program // policy rules with a reason_expression
	estimate uint64   // static worst-case cost of the expression
	tracked  bool
	src      *sourceMap   // where the document's fields are in its file; nil when built in Go
	tables   *tableValues // the table versions bound to this rule, in a rule set
	value    ref.Val      // a table's value, computed when it is compiled
	set      *RuleSet     // the set it belongs to, if any
	base     *Rule        // in a set, the rule before any table is bound
}

type program struct {
	field   string
	tracked bool
	ast     *cel.Ast
	prg     cel.Program
}

// ID returns the rule's id.
func (r *Rule) ID() string { return r.doc.ID }

// Version returns the rule document's version.
func (r *Rule) Version() int { return r.doc.Version }

// Kind returns what the rule computes.
func (r *Rule) Kind() Kind { return r.doc.Kind }

// EnvVersion returns the language version the rule was written for.
func (r *Rule) EnvVersion() Version { return r.doc.EnvVersion }

// Ref returns the trace reference to this rule version: kind "rule", the id
// and the version.
func (r *Rule) Ref() ensemble.Ref {
	return ensemble.Ref{Kind: RefKindRule, ID: r.doc.ID, Version: strconv.Itoa(r.doc.Version)}
}

// Document returns a copy of the document the rule was compiled from.
func (r *Rule) Document() Document { return r.doc.clone() }

// CostEstimate returns the static worst-case cost of the rule's expression,
// in the units of CostBudget and CostLimit.
func (r *Rule) CostEstimate() uint64 { return r.estimate }

// CostTracked reports whether evaluation runs with the runtime cost limit. It
// is false only for rules without comprehensions in an environment built with
// TrustBounded(true).
func (r *Rule) CostTracked() bool { return r.tracked }

// InForce reports whether the rule version is in force at t: t is at or after
// EffectiveFrom (when set) and before EffectiveUntil (when set).
func (r *Rule) InForce(t time.Time) bool { return r.doc.inForce(t) }

// Compile checks a rule document and compiles its expression(s) in the
// environment version the document names. Every problem is reported at
// once: invalid fields as a *DocumentError holding an
// *ensemble.ValidationError, expression problems as *CompileError (with
// line, column and caret snippet), an estimate over the budget as a
// *CostError; several at once come in a *LoadError.
//
// A rule that reads a table compiles only in a rule set holding the table
// (LoadRuleSet, NewRuleSet).
func (e *Env) Compile(doc Document) (*Rule, error) {
	return e.compile(doc, nil, nil)
}

// compile is Compile for a document read from a file, whose errors m places
// in it, in a set whose tables ts declares (nil: none).
func (e *Env) compile(doc Document, m *sourceMap, ts *tableSet) (*Rule, error) {
	r := &Rule{doc: doc.clone(), env: e, src: m}
	if err := doc.Validate(); err != nil {
		field := ""
		var ve *ensemble.ValidationError
		if errors.As(err, &ve) && len(ve.Problems) > 0 {
			field = ve.Problems[0].Path
		}
		de := r.fieldError(field, err)
		de.Field = ""
		return nil, de
	}
	ce, err := e.celEnv(doc.EnvVersion)
	if err != nil {
		return nil, r.fieldError("env_version", err)
	}
	if ts != nil && doc.Kind != Table {
		ce = ts.envs[doc.EnvVersion-1]
	}
	var errs []error
	main, est, err := e.compileExpr(ce, ts.estimator(e), r, "expression", doc.Expression, doc.Kind.resultType())
	if err != nil {
		errs = append(errs, err)
	}
	r.main, r.estimate = main, est
	if doc.Kind == Policy && doc.ReasonExpression != "" {
		reason, _, err := e.compileExpr(ce, ts.estimator(e), r, "reason_expression", doc.ReasonExpression, types.StringType)
		if err != nil {
			errs = append(errs, err)
		}
		r.reason = &reason
	}
	if len(errs) == 0 {
		r.tracked = main.tracked
		if err := r.checkTests(); err != nil {
			errs = append(errs, err)
		}
		if doc.Kind != Table {
			if err := r.checkConstant(ts); err != nil {
				errs = append(errs, err)
			}
		}
		if doc.Kind == Table {
			if err := r.tableValue(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return r, nil
}

// runtimeCostError is the *CostError of an evaluation of field stopped by
// the runtime cost limit, saying why: the rule's estimate when compiled,
// and the facts it reads, one of which must have been larger than the
// estimate assumed (unless the estimate itself is over the limit, which a
// budget above the limit lets through).
func (r *Rule) runtimeCostError(field string) *CostError {
	limit := r.env.cfg.costLimit
	e := &CostError{RuleID: r.doc.ID, Version: r.doc.Version, Field: field, Runtime: true, Estimate: r.estimate, Limit: limit}
	reads := ""
	if rs := r.Reads(); len(rs) > 0 {
		reads = "; it reads " + strings.Join(rs, ", ")
	}
	if r.estimate > limit {
		e.Hint = fmt.Sprintf("estimated at most %d when compiled, over the limit %d (the cost budget let it through): lower the budget to the limit, or raise the limit%s", r.estimate, limit, reads)
		return e
	}
	e.Hint = fmt.Sprintf("estimated at most %d when compiled, for every list, map and string no larger than its size hint (1,000 without one) and every decimal or money fact of at most 80 digits: an input of this evaluation is larger than its size hint%s", r.estimate, reads)
	return e
}

// checkConstant evaluates a rule that reads no fact and no table (of set
// ts, nil: none), whose
// result is the same on every evaluation: one that fails (a division by
// zero, an overflow) would fail every line it decides, so it is refused
// when compiled, with the evaluation's error.
func (r *Rule) checkConstant(ts *tableSet) error {
	if len(r.Reads()) > 0 {
		return nil
	}
	for _, p := range []*program{&r.main, r.reason} {
		if ts != nil && p != nil && p.ast != nil && len(ts.tablesRead(p.ast.NativeRep())) > 0 {
			return nil // its value is the tables', bound per version
		}
	}
	if _, err := r.Eval(context.Background(), r.env.NewFacts()); err != nil {
		return r.fieldError("expression", fmt.Errorf("the rule reads no fact, so it fails on every evaluation: %w", err))
	}
	return nil
}

// fieldError is a *DocumentError about the field at path, placed in the
// rule's file when it was read from one.
func (r *Rule) fieldError(path string, err error) *DocumentError {
	at := r.src.at(path)
	return &DocumentError{Source: r.doc.Source, RuleID: r.doc.ID, Version: r.doc.Version, Field: path, Line: at.line, Column: at.column, Err: err}
}

func hasComprehension(a *cel.Ast) bool {
	found := false
	ast.PreOrderVisit(a.NativeRep().Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		found = found || e.Kind() == ast.ComprehensionKind
	}))
	return found
}

func (e *Env) compileExpr(ce *cel.Env, sizes estimator, r *Rule, field, expr string, want *types.Type) (program, uint64, error) {
	doc := &r.doc
	p := program{field: field}
	src := common.NewTextSource(expr)
	h := hinter{env: e, version: doc.EnvVersion, kind: doc.Kind, field: field, text: expr}
	compileErr := func(errs []*common.Error) error {
		issues := issuesOf(src, errs, h)
		r.placeIssues(field, expr, issues)
		return &CompileError{Source: doc.Source, RuleID: doc.ID, Version: doc.Version, Field: field, Issues: issues}
	}
	parsed, iss := ce.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return p, 0, compileErr(iss.Errors())
	}
	h.parsed = parsed.NativeRep()
	// Doubles, dyn and bad literals are reported even when the expression
	// does not type-check, beside the checker's own errors.
	var early []*common.Error
	info := parsed.NativeRep().SourceInfo()
	findProblems(parsed.NativeRep(), func(id int64, format string, args ...any) {
		early = append(early, &common.Error{Location: info.GetStartLocation(id), Message: fmt.Sprintf(format, args...), ExprID: id})
	})
	a, iss := ce.Check(parsed)
	if iss != nil && iss.Err() != nil || len(early) > 0 {
		var all []*common.Error
		all = append(all, early...)
		if iss != nil {
			for _, ce := range iss.Errors() {
				// A double literal already reported makes the checker
				// complain about doubles too; one report is enough.
				if len(early) > 0 && (strings.Contains(ce.Message, "double") || strings.Contains(ce.Message, "'_/_'")) {
					continue
				}
				all = append(all, ce)
			}
		}
		return p, 0, compileErr(all)
	}
	h.checked = a.NativeRep()
	if out := a.OutputType(); want != nil && !out.IsExactType(want) {
		// The whole expression is of the wrong type: point at its start.
		ce := &common.Error{Location: common.NewLocation(1, 0), Message: fmt.Sprintf("%s %s rule must be of type %s, not %s", article(doc.Kind), doc.Kind, want, out), ExprID: a.NativeRep().Expr().ID()}
		if field == "reason_expression" {
			ce.Message = fmt.Sprintf("reason_expression must be of type string, not %s", out)
		}
		return p, 0, compileErr([]*common.Error{ce})
	}
	if errs := currencyMismatches(a.NativeRep()); len(errs) > 0 {
		return p, 0, compileErr(errs)
	}
	est, err := ce.EstimateCost(a, sizes)
	if err != nil {
		return p, 0, compileErr([]*common.Error{{Location: common.NewLocation(1, 0), Message: "cost estimate failed: " + err.Error()}})
	}
	if est.Max > e.cfg.costBudget {
		return p, 0, r.costError(field, expr, a.NativeRep(), est.Max, e.cfg.costBudget)
	}
	opts := []cel.ProgramOption{cel.InterruptCheckFrequency(64)}
	p.tracked = !e.cfg.untracked || hasComprehension(a)
	if p.tracked {
		opts = append(opts, cel.CostTracking(sizes), cel.CostLimit(e.cfg.costLimit))
	}
	prg, err := ce.Program(a, opts...)
	if err != nil {
		return p, 0, compileErr([]*common.Error{{Location: common.NewLocation(1, 0), Message: err.Error()}})
	}
	p.ast, p.prg = a, prg
	return p, est.Max, nil
}

// placeIssues gives each issue its place in the rule's file, with the
// file's line as the snippet, when the rule was read from one.
func (r *Rule) placeIssues(field, expr string, issues []Issue) {
	ep, ok := r.src.expr(field, expr)
	if !ok {
		return
	}
	for i := range issues {
		at := ep.place(issues[i].Line, issues[i].Column)
		if at.line == 0 {
			continue
		}
		issues[i].DocLine, issues[i].DocColumn = at.line, at.column
		issues[i].Snippet = r.src.snippet(at)
	}
}

// costError reports an estimate over the budget at the outermost
// comprehension (where the cost multiplies), or at the expression's start.
func (r *Rule) costError(field, expr string, a *ast.AST, estimate, budget uint64) *CostError {
	at := a.Expr()
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() == ast.ComprehensionKind && at.Kind() != ast.ComprehensionKind {
			at = e
		}
	}))
	src := common.NewTextSource(expr)
	loc := a.SourceInfo().GetStartLocation(at.ID())
	is := issueOf(src, &common.Error{Location: loc, ExprID: at.ID()})
	is.Hint = "the estimate assumes every list, map and string is as large as its size hint (1,000 without one) and every decimal or money fact 80 digits long; a consumer bounds them with rules.SizeHint, an author with fewer or smaller loops"
	issues := []Issue{is}
	r.placeIssues(field, expr, issues)
	is = issues[0]
	return &CostError{Source: r.doc.Source, RuleID: r.doc.ID, Version: r.doc.Version, Field: field, Estimate: estimate, Limit: budget,
		Line: is.Line, Column: is.Column, DocLine: is.DocLine, DocColumn: is.DocColumn, Snippet: is.Snippet, Hint: is.Hint}
}

// issuesOf turns cel errors into issues with their hints, sorted by
// position, without duplicates (the AST validator reports again what
// findProblems found).
func issuesOf(src common.Source, errs []*common.Error, h hinter) []Issue {
	var out []Issue
	seen := map[Issue]bool{}
	for _, e := range errs {
		is := issueOf(src, e)
		k := Issue{Line: is.Line, Column: is.Column, Message: is.Message}
		if seen[k] {
			continue
		}
		seen[k] = true
		is.Hint = h.hint(e)
		out = append(out, is)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Column < out[j].Column
	})
	return out
}

func article(k Kind) string {
	if k == Amount {
		return "an"
	}
	return "a"
}

func issueOf(src common.Source, ce *common.Error) Issue {
	is := Issue{Line: ce.Location.Line(), Column: ce.Location.Column() + 1, Message: ce.Message}
	if is.Line < 1 {
		is.Line, is.Column = 1, 1
	}
	if is.Column < 1 {
		is.Column = 1
	}
	disp := ce.ToDisplayString(src)
	if i := strings.IndexByte(disp, '\n'); i >= 0 {
		is.Snippet = disp[i+1:]
	}
	return is
}

// Decision is the outcome of a policy rule: whether it allows, and the
// reason when it denies.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason,omitempty"`
}

// Result is the outcome of any rule, as Eval returns it: Bool for condition
// rules, Decimal for share rules, Money for amount rules, Decision for policy
// rules.
type Result struct {
	Kind     Kind            `json:"kind"`
	Bool     bool            `json:"bool,omitempty"`
	Decimal  decimal.Decimal `json:"decimal,omitzero"`
	Money    ensemble.Money  `json:"money,omitzero"`
	Decision Decision        `json:"decision,omitzero"`
}

// Eval evaluates the rule with facts (nil for none) and returns its result
// as a Result of the rule's kind. Evaluation stops with a *CostError when it
// exceeds the cost limit and with an *EvalError wrapping the context's error
// when ctx is done; other failures are an *EvalError naming the rule and the
// position of the failing call.
func (r *Rule) Eval(ctx context.Context, facts *Facts) (Result, error) {
	res := Result{Kind: r.doc.Kind}
	var err error
	switch r.doc.Kind {
	case Condition:
		res.Bool, err = r.Condition(ctx, facts)
	case Share:
		res.Decimal, err = r.Share(ctx, facts)
	case Amount:
		res.Money, err = r.Amount(ctx, facts)
	case Table:
		return Result{}, fmt.Errorf("%w: %s is a table, read by other rules, not evaluated", ErrWrongKind, ruleName(r.doc.ID, r.doc.Version))
	default:
		res.Decision, err = r.Policy(ctx, facts)
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

func (r *Rule) wrongKind(want Kind) error {
	return fmt.Errorf("%w: %s is a %s rule, not a %s rule", ErrWrongKind, ruleName(r.doc.ID, r.doc.Version), r.doc.Kind, want)
}

// Condition evaluates a condition rule.
func (r *Rule) Condition(ctx context.Context, facts *Facts) (bool, error) {
	if r.doc.Kind != Condition {
		return false, r.wrongKind(Condition)
	}
	out, err := r.run(ctx, &r.main, facts)
	if err != nil {
		return false, err
	}
	return bool(out.(types.Bool)), nil
}

// Share evaluates a share rule to its decimal ratio, exactly as the
// expression computed it (round in the expression, or where the share is
// applied).
func (r *Rule) Share(ctx context.Context, facts *Facts) (decimal.Decimal, error) {
	if r.doc.Kind != Share {
		return decimal.Decimal{}, r.wrongKind(Share)
	}
	out, err := r.run(ctx, &r.main, facts)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return out.(decVal).d(), nil
}

// Amount evaluates an amount rule.
func (r *Rule) Amount(ctx context.Context, facts *Facts) (ensemble.Money, error) {
	if r.doc.Kind != Amount {
		return ensemble.Money{}, r.wrongKind(Amount)
	}
	out, err := r.run(ctx, &r.main, facts)
	if err != nil {
		return ensemble.Money{}, err
	}
	return out.(moneyVal).m(), nil
}

// Policy evaluates a policy rule. When it denies, the reason is the
// document's reason_expression evaluated with the same facts, else its
// reason.
func (r *Rule) Policy(ctx context.Context, facts *Facts) (Decision, error) {
	if r.doc.Kind != Policy {
		return Decision{}, r.wrongKind(Policy)
	}
	out, err := r.run(ctx, &r.main, facts)
	if err != nil {
		return Decision{}, err
	}
	if bool(out.(types.Bool)) {
		return Decision{Allowed: true}, nil
	}
	if r.reason == nil {
		return Decision{Reason: r.doc.Reason}, nil
	}
	msg, err := r.run(ctx, r.reason, facts)
	if err != nil {
		return Decision{}, err
	}
	return Decision{Reason: string(msg.(types.String))}, nil
}

// run evaluates one program and turns cel-go's errors into ours.
func (r *Rule) run(ctx context.Context, p *program, facts *Facts) (ref.Val, error) {
	var in any = interpreter.EmptyActivation()
	if r.tables != nil {
		in = r.tables
	}
	if facts != nil {
		if facts.env != r.env {
			return nil, &EvalError{RuleID: r.doc.ID, Version: r.doc.Version, Field: p.field, Err: errors.New("facts belong to another environment")}
		}
		facts.tables = r.tables
		defer func() { facts.tables = nil }()
		in = facts
	}
	var out ref.Val
	var err error
	if ctx == nil || ctx.Done() == nil {
		out, _, err = p.prg.Eval(in)
	} else {
		if cerr := ctx.Err(); cerr != nil {
			return nil, &EvalError{RuleID: r.doc.ID, Version: r.doc.Version, Field: p.field, Err: cerr}
		}
		out, _, err = p.prg.ContextEval(ctx, in)
	}
	if err == nil {
		return out, nil
	}
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		return nil, r.runtimeCostError(p.field)
	}
	ee := &EvalError{RuleID: r.doc.ID, Version: r.doc.Version, Field: p.field, Err: err}
	if ctx != nil && ctx.Err() != nil {
		ee.Err = context.Cause(ctx)
		if ee.Err == nil {
			ee.Err = ctx.Err()
		}
		return nil, ee
	}
	var celErr *types.Err
	if errors.As(err, &celErr) {
		if id := celErr.NodeID(); id != 0 {
			loc := p.ast.NativeRep().SourceInfo().GetStartLocation(id)
			if loc.Line() > 0 {
				ee.Line, ee.Column = loc.Line(), loc.Column()+1
			}
		}
		if inner := errors.Unwrap(celErr); inner != nil {
			ee.Err = inner
		}
	}
	return nil, ee
}
