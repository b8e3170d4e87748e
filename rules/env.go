package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/ensemble-commerce/ensemble"
)

// Version is the version of the rule language a rule was written for. Each
// rule document records it; functions introduced in a later version are not
// visible to it, and a newer library keeps compiling and running it. The zero
// Version is unspecified and rejected: a document must name its version.
type Version uint32

const (
	// Version1 is the first rule language: decimals, money and the
	// functions listed in Library.
	Version1 Version = 1
	// Version2 adds abs() for decimals and money.
	Version2 Version = 2
	// Version3 adds months_since() for timestamps: whole calendar months
	// from one instant to another.
	Version3 Version = 3
	// LatestVersion is the newest version this library knows.
	LatestVersion = Version3
)

// Defaults for the options of NewEnv.
const (
	// DefaultCostBudget bounds a rule's static worst-case cost estimate, in
	// cost units of about 50 ns of evaluation each: a rule the default
	// budget accepts takes at most about 50 µs per evaluation on a 2-core
	// machine of 2026, whatever it computes, as long as its inputs are
	// within the sizes the estimate assumes (see SizeHint). The slowest
	// such rule found reads fields and list elements over and over, which
	// cel-go charges one unit each; the library's decimal and money
	// operations are charged by their operands' digits (see Library).
	DefaultCostBudget = 1_000
	// DefaultCostLimit bounds the cost one evaluation may spend, as
	// Kubernetes bounds each CEL call. It equals DefaultCostBudget: an
	// evaluation whose inputs are within the sizes the estimate assumed is
	// charged no more than the estimate and never reaches it, and one fed
	// larger inputs stops with a *CostError after about the same time.
	DefaultCostLimit = 1_000
	// DefaultSizeHint is the size the cost estimate assumes for a list, map
	// or string variable or field that has no SizeHint. A comprehension
	// over such a list costs at least 4,000 units: a consumer whose rules
	// loop over a list declares the list's largest size with SizeHint.
	DefaultSizeHint = 1000
	// DefaultMaxExpressionSize bounds an expression's length in code points.
	DefaultMaxExpressionSize = 16 << 10
	// DefaultMaxNesting bounds how deeply an expression nests.
	DefaultMaxNesting = 64
	// MaxComprehensionNesting bounds how deeply comprehensions (all, exists,
	// map, filter) nest in one rule.
	MaxComprehensionNesting = 2
)

// config is what the options of NewEnv set.
type config struct {
	vars        []varDecl
	costBudget  uint64
	costLimit   uint64
	sizeHints   map[string]uint64
	defaultSize uint64
	untracked   bool
	maxExprSize int
	maxNesting  int
}

type varDecl struct {
	name string
	rt   reflect.Type
}

// Option configures NewEnv. Each option takes a value; where two options set
// the same thing, the last one wins.
type Option func(*config)

// Var declares a variable that rules can read, of Go type T: a struct (or a
// pointer to one), or a string, bool, integer, decimal.Decimal,
// ensemble.Money, time.Time, time.Duration, slice or map of these.
//
// A struct's exported fields appear under their json names (a cel tag
// overrides, "-" in either hides the field): decimal.Decimal fields as
// decimal, ensemble.Money as money, time.Time as timestamp, strings and named
// string types as string, types that implement encoding.TextMarshaler (enums,
// ensemble.Currency) as their text, nested structs as objects. Float fields
// are an error (rules compute exactly); fields of other types (funcs,
// interfaces) are left out. A nil pointer reads as the zero value.
//
//	env, err := rules.NewEnv(rules.Var[Line]("line"), rules.Var[Partner]("partner"))
func Var[T any](name string) Option {
	return func(c *config) {
		c.vars = append(c.vars, varDecl{name: name, rt: reflect.TypeFor[T]()})
	}
}

// CostBudget sets the budget a rule's static worst-case cost estimate must
// fit when it is compiled (default DefaultCostBudget).
func CostBudget(n uint64) Option { return func(c *config) { c.costBudget = n } }

// CostLimit sets the cost one evaluation may spend before it stops with a
// *CostError (default DefaultCostLimit).
func CostLimit(n uint64) Option { return func(c *config) { c.costLimit = n } }

// SizeHint tells the cost estimate the largest size of the list, map or
// string at path, a variable and its fields joined by dots ("order.lines",
// "partner.tags", "order.lines.@items.tags" for the tags of each line), or
// the most digits of the decimal or money at path. Without a hint,
// DefaultSizeHint is assumed for lists, maps and strings, and
// MaxResultDigits for decimals and money. A value larger than its hint is
// charged its actual size when a rule runs, so the runtime limit stops a
// rule that reads too large an input.
func SizeHint(path string, n uint64) Option {
	return func(c *config) {
		if c.sizeHints == nil {
			c.sizeHints = map[string]uint64{}
		}
		c.sizeHints[path] = n
	}
}

// DefaultSize sets the size assumed for lists, maps and strings without a
// SizeHint (default DefaultSizeHint).
func DefaultSize(n uint64) Option { return func(c *config) { c.defaultSize = n } }

// TrustBounded makes rules without comprehensions evaluate without the
// runtime cost tracker when on is true. Such a rule's cost is bounded by its
// estimate when its inputs are within the sizes the estimate assumed (see
// SizeHint), so the limit cannot be reached; skipping the tracker saves time
// and allocations per evaluation. Nothing stops such a rule fed a larger
// string or decimal than assumed. Rules with comprehensions keep the limit.
func TrustBounded(on bool) Option { return func(c *config) { c.untracked = on } }

// MaxExpressionSize bounds an expression's length in code points (default
// DefaultMaxExpressionSize).
func MaxExpressionSize(n int) Option { return func(c *config) { c.maxExprSize = n } }

// MaxNesting bounds how deeply an expression may nest (default
// DefaultMaxNesting).
func MaxNesting(n int) Option { return func(c *config) { c.maxNesting = n } }

// Env is a rule language environment: the library of decimal and money
// functions at every version, plus the variables a consumer declared. An Env
// is immutable and safe for concurrent use; build one per consumer and
// compile every rule with it.
type Env struct {
	cfg      config
	prov     *provider
	vars     []varDecl
	varTypes []*goType
	byVer    []*cel.Env // index: version - 1
	est      estimator
}

// NewEnv builds an environment from options. A variable whose Go type cannot
// be exposed, a duplicate or invalid variable name, and bad limits are
// reported together.
func NewEnv(opts ...Option) (*Env, error) {
	cfg := config{
		costBudget:  DefaultCostBudget,
		costLimit:   DefaultCostLimit,
		defaultSize: DefaultSizeHint,
		maxExprSize: DefaultMaxExpressionSize,
		maxNesting:  DefaultMaxNesting,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	prov, err := newProvider()
	if err != nil {
		return nil, err
	}
	e := &Env{cfg: cfg, prov: prov}
	var errs []error
	if cfg.costBudget == 0 || cfg.costLimit == 0 {
		errs = append(errs, fmt.Errorf("rules: cost budget and cost limit must be positive"))
	}
	if cfg.maxExprSize <= 0 || cfg.maxNesting <= 0 {
		errs = append(errs, fmt.Errorf("rules: expression size and nesting limits must be positive"))
	}
	seen := map[string]bool{}
	var celVars []cel.EnvOption
	for _, v := range cfg.vars {
		if !validIdent(v.name) {
			errs = append(errs, fmt.Errorf("rules: variable name %q is not a CEL identifier", v.name))
			continue
		}
		if seen[v.name] {
			errs = append(errs, fmt.Errorf("rules: variable %q declared twice", v.name))
			continue
		}
		seen[v.name] = true
		gt, err := prov.typeOf(v.rt, v.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if gt == nil {
			errs = append(errs, &UnsupportedTypeError{Path: v.name, Type: v.rt.String(), Reason: "no CEL type for it"})
			continue
		}
		e.vars = append(e.vars, v)
		e.varTypes = append(e.varTypes, gt)
		celVars = append(celVars, cel.Variable(v.name, gt.cel))
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	e.est = estimator{hints: cfg.sizeHints, def: cfg.defaultSize}
	for v := Version1; v <= LatestVersion; v++ {
		base := []cel.EnvOption{
			cel.CustomTypeProvider(prov),
			cel.CustomTypeAdapter(prov),
			cel.DefaultUTCTimeZone(true),
			cel.ParserExpressionSizeLimit(cfg.maxExprSize),
			cel.ParserRecursionLimit(cfg.maxNesting),
			cel.ASTValidators(
				cel.ValidateComprehensionNestingLimit(MaxComprehensionNesting),
				cel.ValidateHomogeneousAggregateLiterals(),
				cel.ValidateTimestampLiterals(),
				cel.ValidateDurationLiterals(),
				cel.ValidateRegexLiterals(),
			),
			Library(v),
		}
		ce, err := cel.NewEnv(append(base, celVars...)...)
		if err != nil {
			return nil, fmt.Errorf("rules: building environment version %d: %w", v, err)
		}
		e.byVer = append(e.byVer, ce)
	}
	return e, nil
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	switch s {
	case "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
		"function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while":
		return false
	}
	return true
}

// Variables returns the names of the declared variables, sorted.
func (e *Env) Variables() []string {
	out := make([]string, len(e.vars))
	for i, v := range e.vars {
		out[i] = v.name
	}
	sort.Strings(out)
	return out
}

func (e *Env) celEnv(v Version) (*cel.Env, error) {
	if v < Version1 || v > LatestVersion {
		return nil, fmt.Errorf("environment version %d is not known (this library knows 1 to %d)", v, LatestVersion)
	}
	return e.byVer[v-1], nil
}

func (e *Env) varIndex(name string) int {
	for i, v := range e.vars {
		if v.name == name {
			return i
		}
	}
	return -1
}

// Facts holds the values of an environment's variables for evaluation. Build
// one with Env.NewFacts, Set the variables, evaluate, and Set again for the
// next input: a Facts is reused across evaluations to avoid allocations. A
// Facts is not safe for concurrent use; give each goroutine its own. It
// implements cel-go's interpreter.Activation.
type Facts struct {
	env    *Env
	vals   []ref.Val
	tables *tableValues // the tables bound to the rule being evaluated
}

// NewFacts returns an empty Facts for e's variables.
func (e *Env) NewFacts() *Facts {
	return &Facts{env: e, vals: make([]ref.Val, len(e.vars))}
}

// Set gives variable name the value v, which must be of the Go type the
// variable was declared with (or a pointer to it; a pointer to a struct is
// read in place, without a copy). Slices and maps are read in place too,
// an element when a rule reads it, so that reading one element of a long
// list costs what reading it from a short one does: do not change them
// while a rule evaluates. An unknown name or a wrong type is an error and
// leaves the facts unchanged.
func (f *Facts) Set(name string, v any) error {
	i := f.env.varIndex(name)
	if i < 0 {
		return fmt.Errorf("rules: no variable %q is declared", name)
	}
	want := f.env.vars[i].rt
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return fmt.Errorf("rules: variable %q: nil value", name)
	}
	switch {
	case rv.Type() == want:
	case rv.Kind() == reflect.Pointer && rv.Type().Elem() == want:
		if rv.IsNil() {
			rv = reflect.Zero(want)
		} else {
			rv = rv.Elem()
		}
	default:
		return fmt.Errorf("rules: variable %q is %v, not %T", name, want, v)
	}
	val := f.env.varTypes[i].conv(rv)
	if types.IsError(val) {
		return fmt.Errorf("rules: variable %q: %v", name, val)
	}
	f.vals[i] = val
	return nil
}

// SetJSON decodes data into the variable's Go type with encoding/json and
// sets it, so facts written in a rule document's test cases reach rules as
// the consumer's own types.
func (f *Facts) SetJSON(name string, data []byte) error {
	i := f.env.varIndex(name)
	if i < 0 {
		return fmt.Errorf("rules: no variable %q is declared", name)
	}
	p := reflect.New(f.env.vars[i].rt)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p.Interface()); err != nil {
		return fmt.Errorf("rules: variable %q: %w", name, err)
	}
	return f.Set(name, p.Interface())
}

// Reset unsets every variable.
func (f *Facts) Reset() { clear(f.vals) }

// ResolveName implements interpreter.Activation.
func (f *Facts) ResolveName(name string) (any, bool) {
	for i, v := range f.env.vars {
		if v.name == name {
			val := f.vals[i]
			return val, val != nil
		}
	}
	return f.tables.ResolveName(name)
}

// Parent implements interpreter.Activation.
func (f *Facts) Parent() interpreter.Activation { return nil }

// Kind says what a rule computes and so which type its expression must have.
type Kind uint8

const (
	// KindUnspecified is the zero Kind; a rule document must name its kind.
	KindUnspecified Kind = iota
	// Condition rules are bool expressions: is this node, offer or line
	// eligible.
	Condition
	// Share rules are decimal expressions: a ratio such as 0.25.
	Share
	// Amount rules are money expressions.
	Amount
	// Policy rules are bool expressions (true allows) with a reason given
	// when they deny: the document's reason, or its reason_expression (a
	// string expression evaluated on denial).
	Policy
	// Table documents hold a named constant (a rate card, a tier table)
	// that the other rules of the set read by the table's id; see RuleSet.
	Table
)

var kindNames = [...]string{"unspecified", "condition", "share", "amount", "policy", "table"}

// String returns the kind's lowercase name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind reads a kind's name.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if n == s && i > 0 {
			return Kind(i), nil
		}
	}
	return KindUnspecified, &ensemble.EnumError{Package: "rules", Kind: "rule kind", Text: s, Hint: "want condition, share, amount, policy or table"}
}

// MarshalText writes the kind's name.
func (k Kind) MarshalText() ([]byte, error) {
	if int(k) >= len(kindNames) {
		return nil, &ensemble.EnumError{Package: "rules", Kind: "rule kind", Text: strconv.Itoa(int(k)), Number: true}
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind's name; "" and "unspecified" are KindUnspecified.
func (k *Kind) UnmarshalText(b []byte) error {
	if len(b) == 0 || string(b) == "unspecified" {
		*k = KindUnspecified
		return nil
	}
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// resultType is the CEL type a rule of kind k must produce (nil: a table,
// any type).
func (k Kind) resultType() *types.Type {
	switch k {
	case Table:
		return nil
	case Share:
		return DecimalType
	case Amount:
		return MoneyType
	default:
		return types.BoolType
	}
}
