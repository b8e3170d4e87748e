package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/parser"
	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
)

// hinter explains the mistakes rule authors often make in one expression:
// each hint says the fix, written with the author's own operands.
type hinter struct {
	env     *Env
	version Version
	kind    Kind
	field   string
	text    string
	parsed  *ast.AST // nil when the expression does not parse
	checked *ast.AST // nil when it does not type-check
}

var (
	noOverload = regexp.MustCompile(`^found no matching overload for '([^']+)' applied to '\((.*)\)'`)
	undeclared = regexp.MustCompile(`^undeclared reference to '([^']+)'`)
	undefField = regexp.MustCompile(`^undefined field '([^']+)'`)
	wrongType  = regexp.MustCompile(`rule must be of type (\w+), not (.+)$`)
)

// hint returns the fix for the mistake e reports, or "" when there is no
// better advice than the message.
func (h hinter) hint(e *common.Error) string {
	msg := e.Message
	switch {
	case strings.HasPrefix(msg, "double literal"):
		return h.doubleHint(e.ExprID)
	case strings.HasPrefix(msg, "there is no / in rules"):
		return h.divisionHint(e.ExprID)
	case noOverload.MatchString(msg):
		m := noOverload.FindStringSubmatch(msg)
		return h.overloadHint(e.ExprID, m[1], strings.Split(m[2], ", "))
	case undeclared.MatchString(msg):
		name := undeclared.FindStringSubmatch(msg)[1]
		if v := h.introducedIn(name); v > h.version {
			return fmt.Sprintf("%s is introduced at env_version %d: set env_version: %d in the document (this one says %d)", name, v, v, h.version)
		}
	case undefField.MatchString(msg):
		name := undefField.FindStringSubmatch(msg)[1]
		if s := suggest(name, h.fieldsAt(e.ExprID)); s != "" {
			return "did you mean " + s + "?"
		}
	case wrongType.MatchString(msg):
		m := wrongType.FindStringSubmatch(msg)
		return resultHint(m[1], m[2])
	}
	return ""
}

// resultHint explains a rule whose expression is of the wrong type for its
// kind.
func resultHint(want, got string) string {
	switch {
	case want == "decimal" && got == "money":
		return `a share is a ratio such as percent(30) or dec("0.25"), applied to the amount by whoever reads it; to pay a fixed sum, make it an amount rule (kind: amount); for the ratio of two sums, write a.div(b, 6)`
	case want == "money" && got == "decimal":
		return `an amount is money: multiply money by the ratio (line.amount * percent(30)), or write money(x, "EUR")`
	case want == "money" && got == "int":
		return `an amount is money: write money("100", "EUR")`
	case want == "decimal" && got == "int":
		return `a share is a decimal: write dec(1) or percent(100)`
	case want == "bool":
		return "a condition or policy is true or false: compare, as in x > y or x == y"
	}
	return ""
}

// doubleHint writes a double literal as the exact decimal the author
// meant, keeping its value: 0.15 becomes dec("0.15"), never
// percent(dec("0.15")), which is a hundred times smaller.
func (h hinter) doubleHint(id int64) string {
	lit := h.source(id)
	d, err := decimal.NewFromString(lit)
	if err != nil {
		return ""
	}
	plain := d.String()
	parent, arg := h.parentCall(id)
	switch {
	case parent != nil && parent.AsCall().FunctionName() == "percent" && d.Abs().LessThan(decimal.NewFromInt(1)):
		// Below 1, the author most likely wrote the ratio itself.
		return fmt.Sprintf(`percent takes a number of percent: if you meant %s%%, write percent("%s") or dec("%s"); if you meant %s%%, write percent("%s")`,
			d.Shift(2).String(), d.Shift(2).String(), plain, plain, plain)
	case parent != nil && parent.AsCall().FunctionName() == "percent":
		return fmt.Sprintf(`write percent("%s") for %s%% (percent takes a number of percent; dec("%s") would be %s%%)`,
			plain, plain, plain, d.Shift(2).String())
	case parent != nil && parent.AsCall().FunctionName() == "dec":
		return fmt.Sprintf(`write dec("%s"): a decimal literal is a string`, plain)
	case parent != nil && parent.AsCall().FunctionName() == "money" && arg == 0:
		return fmt.Sprintf(`write the amount as a string: money("%s", ...)`, plain)
	}
	return fmt.Sprintf(`write dec("%s")`, plain)
}

// divisionHint writes a / b as a div, ints written as decimals.
func (h hinter) divisionHint(id int64) string {
	call := h.find(id)
	if call == nil || call.Kind() != ast.CallKind || len(call.AsCall().Args()) != 2 {
		return ""
	}
	args := call.AsCall().Args()
	a, b := decimalForm(h.operand(args[0])), decimalForm(h.operand(args[1]))
	return fmt.Sprintf("write %s.div(%s, 4): 4 digits after the point (for money, its currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD); a rounding mode may follow, such as \"half_even\"", a, b)
}

// overloadHint explains an operator or function applied to the wrong
// types: / between decimals, money compared with a number, an int beside
// a decimal.
func (h hinter) overloadHint(id int64, fn string, args []string) string {
	call := h.find(id)
	if call == nil || call.Kind() != ast.CallKind {
		return ""
	}
	ops := call.AsCall().Args()
	text := func(i int) string {
		if i < len(ops) {
			return h.operand(ops[i])
		}
		return "x"
	}
	has := func(t string) bool { return slices.Contains(args, t) }
	switch {
	case isComparison(fn) && has("money") && (has("int") || has("decimal") || has("uint")):
		m, other := 0, 1
		if args[0] != "money" {
			m, other = 1, 0
		}
		num := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(decimalForm(text(other)), "dec("), "percent("), ")")
		if !strings.HasPrefix(num, `"`) {
			num = `"100"`
		}
		return fmt.Sprintf("money compares with money of the same currency: %s %s money(%s, %s.currency()), or compare its amount: %s.amount() %s %s",
			text(m), opSymbol(fn), num, text(m), text(m), opSymbol(fn), decimalForm(text(other)))
	case (has("decimal") || has("money")) && (has("int") || has("uint")):
		i := slices.Index(args, "int")
		if i < 0 {
			i = slices.Index(args, "uint")
		}
		return fmt.Sprintf("decimals do not mix with int: write %s", decimalForm(text(i)))
	case (fn == "_+_" || fn == "_-_") && has("money") && has("decimal"):
		return "money adds to money: turn the decimal into money with money(x, \"EUR\"), or multiply money by it"
	}
	return ""
}

func isComparison(fn string) bool {
	switch fn {
	case "_<_", "_<=_", "_>_", "_>=_", "_==_", "_!=_":
		return true
	}
	return false
}

func opSymbol(fn string) string { return strings.Trim(fn, "_") }

// decimalForm writes an operand as a decimal: an int literal 100 as
// dec("100"), anything else as it is.
func decimalForm(s string) string {
	if _, err := decimal.NewFromString(s); err == nil && !strings.ContainsAny(s, `"`) {
		return `dec("` + s + `")`
	}
	return s
}

// introducedIn returns the first environment version that declares
// function name, or 0.
func (h hinter) introducedIn(name string) Version {
	for v := Version1; v <= LatestVersion; v++ {
		if h.env.byVer[v-1].HasFunction(name) {
			return v
		}
	}
	return 0
}

// fieldsAt returns the fields the operand of the select expression id can
// have: those of its type when it can be told from the variables, else
// every field of every exposed type.
func (h hinter) fieldsAt(id int64) []string {
	sel := h.find(id)
	if sel != nil && sel.Kind() == ast.SelectKind {
		if st := h.structOf(sel.AsSelect().Operand()); st != nil {
			return st.names
		}
	}
	var all []string
	for _, st := range h.env.prov.structs {
		all = append(all, st.names...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// structOf resolves the struct type of a variable, a field path under one,
// or a comprehension variable over a list of structs.
func (h hinter) structOf(e ast.Expr) *structType {
	t := h.typeOf(e)
	if t == nil {
		return nil
	}
	return h.env.prov.structs[t.TypeName()]
}

func (h hinter) typeOf(e ast.Expr) *types.Type {
	switch e.Kind() {
	case ast.IdentKind:
		name := e.AsIdent()
		if i := h.env.varIndex(name); i >= 0 {
			return h.env.varTypes[i].cel
		}
		return h.iterElem(name)
	case ast.SelectKind:
		st := h.structOf(e.AsSelect().Operand())
		if st == nil {
			return nil
		}
		if f, ok := st.fields[e.AsSelect().FieldName()]; ok {
			return f.gt.cel
		}
	}
	return nil
}

// iterElem returns the element type of the list a comprehension variable
// named name ranges over.
func (h hinter) iterElem(name string) *types.Type {
	if h.parsed == nil {
		return nil
	}
	var found *types.Type
	ast.PreOrderVisit(h.parsed.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if found != nil || e.Kind() != ast.ComprehensionKind || e.AsComprehension().IterVar() != name {
			return
		}
		if t := h.typeOf(e.AsComprehension().IterRange()); t != nil && t.Kind() == types.ListKind && len(t.Parameters()) == 1 {
			found = t.Parameters()[0]
		}
	}))
	return found
}

// find returns the parsed expression with the given id.
func (h hinter) find(id int64) ast.Expr {
	if h.parsed == nil || id == 0 {
		return nil
	}
	var found ast.Expr
	ast.PreOrderVisit(h.parsed.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.ID() == id {
			found = e
		}
	}))
	return found
}

// parentCall returns the call whose argument id is, and which argument.
func (h hinter) parentCall(id int64) (ast.Expr, int) {
	if h.parsed == nil {
		return nil, -1
	}
	var parent ast.Expr
	arg := -1
	ast.PreOrderVisit(h.parsed.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.CallKind {
			return
		}
		for i, a := range e.AsCall().Args() {
			if a.ID() == id {
				parent, arg = e, i
			}
		}
	}))
	return parent, arg
}

// source returns the text of one expression node as the author wrote it.
func (h hinter) source(id int64) string {
	if h.parsed == nil {
		return ""
	}
	r, ok := h.parsed.SourceInfo().GetOffsetRange(id)
	if !ok || r.Start < 0 || int(r.Stop) > len([]rune(h.text)) || r.Start >= r.Stop {
		return ""
	}
	return string([]rune(h.text)[r.Start:r.Stop])
}

// operand returns a subexpression as text (cel-go's unparser, so spacing
// may differ from the author's), in parentheses when it is an operator
// call.
func (h hinter) operand(e ast.Expr) string {
	s, err := parser.Unparse(e, h.parsed.SourceInfo())
	if err != nil {
		return "x"
	}
	if e.Kind() == ast.CallKind && strings.HasPrefix(e.AsCall().FunctionName(), "_") {
		return "(" + s + ")"
	}
	return s
}

// suggest returns the names nearest name (ensemble.Nearest), quoted and
// joined with "or", or "".
func suggest(name string, names []string) string {
	near := ensemble.Nearest(name, names)
	for i, n := range near {
		near[i] = "'" + n + "'"
	}
	return strings.Join(near, " or ")
}

// factHint adds "did you mean" to an error decoding a test case's fact
// whose field is misspelt, suggesting among the fields of the variable's
// types.
func (e *Env) factHint(name string, err error) error {
	_, rest, ok := strings.Cut(err.Error(), `unknown field "`)
	if !ok {
		return err
	}
	field, _, _ := strings.Cut(rest, `"`)
	var names []string
	for _, st := range e.prov.structs {
		names = append(names, st.names...)
	}
	slices.Sort(names)
	if s := suggest(field, slices.Compact(names)); s != "" {
		return fmt.Errorf("%w (did you mean %s?)", err, s)
	}
	return err
}
