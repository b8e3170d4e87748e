package rules

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ensemble-commerce/ensemble"
)

// Sentinel conditions, matched with errors.Is through the typed errors that
// carry them.
var (
	// ErrCostLimit is matched by every *CostError: a rule over its static
	// cost budget or its runtime cost limit.
	ErrCostLimit = errors.New("rules: cost limit exceeded")
	// ErrWrongKind reports evaluating a rule as a kind it is not, such as
	// calling Share on a condition rule.
	ErrWrongKind = errors.New("rules: wrong rule kind")
	// ErrNotInForce reports that no version of a rule is in force at the
	// instant asked for.
	ErrNotInForce = errors.New("rules: no version in force")
	// ErrUnknownRule reports a rule id the rule set does not hold.
	ErrUnknownRule = errors.New("rules: unknown rule")
)

// ruleName renders `rule "id" v3` for messages.
func ruleName(id string, version int) string {
	return fmt.Sprintf("rule %q v%d", id, version)
}

// Issue is one problem found in an expression: where it is (line and
// column from 1, within the expression), what is wrong, a caret snippet, and
// for the mistakes rule authors often make, a Hint that says the fix (with
// the right value: a double 0.15 is dec("0.15"), never percent(dec("0.15"))).
//
// When the rule was read from a file (LoadRuleSet, Check), DocLine and
// DocColumn give the same place in the file and the snippet shows the file's
// line; they are 0 when it cannot be told, as inside folded scalars.
type Issue struct {
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	Message   string `json:"message"`
	Hint      string `json:"hint,omitempty"`
	Snippet   string `json:"snippet,omitempty"`
	DocLine   int    `json:"doc_line,omitempty"`
	DocColumn int    `json:"doc_column,omitempty"`
}

// where renders "file:line:col: " (or as much of it as is known) for a
// message.
func where(source string, line, column int) string {
	switch {
	case source != "" && line > 0:
		return fmt.Sprintf("%s:%d:%d: ", source, line, column)
	case source != "":
		return source + ": "
	case line > 0:
		return fmt.Sprintf("%d:%d: ", line, column)
	}
	return ""
}

// CompileError reports every problem in one rule's expression: syntax, type
// errors, undeclared names, forbidden doubles and dyn, bad literals, a result
// type that does not match the rule's kind.
type CompileError struct {
	Source  string // the file or origin the document came from, if known
	RuleID  string
	Version int
	Field   string // "expression" or "reason_expression"
	Issues  []Issue
}

// Error renders the problem, naming the rule where there is one.
func (e *CompileError) Error() string {
	var b strings.Builder
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("rules: " + where(e.Source, is.DocLine, is.DocColumn))
		fmt.Fprintf(&b, "%s %s %d:%d: %s", ruleName(e.RuleID, e.Version), e.Field, is.Line, is.Column, is.Message)
		if is.Snippet != "" {
			b.WriteString("\n" + is.Snippet)
		}
		if is.Hint != "" {
			b.WriteString("\n hint: " + is.Hint)
		}
	}
	if len(e.Issues) == 0 {
		fmt.Fprintf(&b, "rules: %s %s does not compile", ruleName(e.RuleID, e.Version), e.Field)
	}
	return b.String()
}

// CostError reports a rule whose static cost estimate exceeds the budget
// (Runtime false, found when the rule is compiled) or whose evaluation
// exceeded the runtime cost limit (Runtime true). It matches ErrCostLimit.
//
// A runtime error names the field evaluated, gives the rule's estimate
// when compiled (Estimate) and says in Hint (and its text) what to look at:
// the facts the rule reads (Rule.Reads), one of which was larger than the
// size the estimate assumed ("rules: rule "bad" v1 exceeded the runtime
// cost limit 1000: estimated at most 603 when compiled, for every list, map
// and string no larger than its size hint ...: an input of this evaluation
// is larger than its size hint; it reads partner.attributes"). Its Line
// and Column are 0: the limit stops the evaluation as a whole.
//
// A budget error found when compiling points at the costliest part of the
// expression (the outermost comprehension, else the expression's start):
// Line and Column within the expression, DocLine and DocColumn in the file
// when the rule was read from one, with a caret snippet.
type CostError struct {
	Source    string
	RuleID    string
	Version   int
	Field     string // "expression" or "reason_expression"
	Runtime   bool
	Estimate  uint64 // the static worst case (of a runtime error, the rule's when compiled)
	Limit     uint64
	Line      int
	Column    int
	DocLine   int
	DocColumn int
	Snippet   string
	Hint      string
}

// Error renders the problem, naming the rule where there is one.
func (e *CostError) Error() string {
	if e.Runtime {
		msg := fmt.Sprintf("rules: %s exceeded the runtime cost limit %d", ruleName(e.RuleID, e.Version), e.Limit)
		if e.Hint != "" {
			msg += ": " + e.Hint
		}
		return msg
	}
	var b strings.Builder
	b.WriteString("rules: " + where(e.Source, e.DocLine, e.DocColumn) + ruleName(e.RuleID, e.Version))
	if e.Field != "" {
		fmt.Fprintf(&b, " %s %d:%d", e.Field, e.Line, e.Column)
	}
	fmt.Fprintf(&b, ": estimated worst-case cost %d, over the budget %d", e.Estimate, e.Limit)
	if e.Snippet != "" {
		b.WriteString("\n" + e.Snippet)
	}
	if e.Hint != "" {
		b.WriteString("\n hint: " + e.Hint)
	}
	return b.String()
}

// Is reports whether target is ErrCostLimit.
func (e *CostError) Is(target error) bool { return target == ErrCostLimit }

// EvalError reports a failed evaluation: the rule, the position in the
// expression of the call that failed (0:0 when unknown, as for a
// cancellation), and the cause, which errors.Is and errors.As reach
// (ensemble.ErrCurrencyMismatch, ErrDivisionByZero, *RangeError,
// context.Canceled, ...).
type EvalError struct {
	RuleID  string
	Version int
	Field   string // "expression" or "reason_expression"
	Line    int
	Column  int
	Err     error
}

// Error renders the problem, naming the rule where there is one.
func (e *EvalError) Error() string {
	return fmt.Sprintf("rules: %s %s %d:%d: %v", ruleName(e.RuleID, e.Version), e.Field, e.Line, e.Column, e.Err)
}

// Unwrap returns the cause.
func (e *EvalError) Unwrap() error { return e.Err }

// DocumentError reports a rule document that cannot be read or whose fields
// are invalid (missing id, unknown kind, bad dates, duplicate id and
// version, malformed test cases). Line and Column place the field (or the
// document) in its file when it was read from one.
type DocumentError struct {
	Source  string
	RuleID  string
	Version int
	Field   string
	Line    int
	Column  int
	Err     error
}

// Error renders the problem, naming the rule where there is one.
func (e *DocumentError) Error() string {
	var b strings.Builder
	b.WriteString("rules: " + where(e.Source, e.Line, e.Column))
	if e.RuleID != "" {
		b.WriteString(ruleName(e.RuleID, e.Version) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	// A document's own validation names the rule too: say it once.
	var ve *ensemble.ValidationError
	if errors.As(e.Err, &ve) && e.RuleID != "" && ve.Subject == ruleName(e.RuleID, e.Version) {
		for i, p := range ve.Problems {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(p.Error())
		}
		return b.String()
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *DocumentError) Unwrap() error { return e.Err }

// LoadError gathers every error found while loading rule documents, in the
// order of the documents. errors.As and errors.Is look into each.
type LoadError struct {
	Errs []error
}

// Error renders the problem, naming the rule where there is one.
func (e *LoadError) Error() string {
	parts := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		parts[i] = err.Error()
	}
	return fmt.Sprintf("rules: %d problems loading rules:\n%s", len(e.Errs), strings.Join(parts, "\n"))
}

// Unwrap returns every error.
func (e *LoadError) Unwrap() []error { return e.Errs }

func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return &LoadError{Errs: errs}
}

// TestFailure is one failed test case of a rule document. Source, Line and
// Column place the case in its file when the rule was read from one.
type TestFailure struct {
	Source  string `json:"source,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	RuleID  string `json:"rule_id"`
	Version int    `json:"version"`
	Case    string `json:"case"`
	Message string `json:"message"`
}

// TestError reports every failed test case of a rule set.
type TestError struct {
	Failures []TestFailure
}

// Error renders the problem, naming the rule where there is one.
func (e *TestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rules: %d test cases failed", len(e.Failures))
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "\n%s%s case %q: %s", where(f.Source, f.Line, f.Column), ruleName(f.RuleID, f.Version), f.Case, f.Message)
	}
	return b.String()
}
