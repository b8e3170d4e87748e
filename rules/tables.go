package rules

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/ensemble-commerce/ensemble"
)

// RefKindTable is the ensemble.RefKind of a reference to a table version.
const RefKindTable ensemble.RefKind = "table"

// A table is a rule document of kind table: a constant expression (no
// facts) such as a rate card, written once and read by the other rules of
// its set by the table's id:
//
//	id: reseller_rates
//	version: 1
//	kind: table
//	env_version: 1
//	expression: '{"gold": percent(30), "silver": percent(25)}'
//
//	id: reseller-share
//	...
//	expression: 'reseller_rates[partner.tier]'
//
// Tables are versioned with the set like any rule. A rule reads, at each
// instant, the highest version of the table in force then: RuleSet.At binds
// it, so a new rate card from July needs one table version and no new rule
// version. Loading the set refuses a table whose versions differ in type, a
// table named like a variable, and a rule that reads a table with no
// version in force during part of the rule's span. Rule.Tables names the
// table versions a rule returned by At was bound to.

// tableValues is the activation of the table versions bound to one rule.
type tableValues struct {
	names []string
	vals  []ref.Val
	refs  []ensemble.Ref
}

// ResolveName implements interpreter.Activation.
func (t *tableValues) ResolveName(name string) (any, bool) {
	if t == nil {
		return nil, false
	}
	for i, n := range t.names {
		if n == name {
			return t.vals[i], true
		}
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (t *tableValues) Parent() interpreter.Activation { return nil }

// Tables returns the table versions this rule reads, as bound by the rule
// set it came from (RuleSet.At binds those in force at the instant asked
// for; RuleSet.Rule and Rules those in force when the rule version takes
// effect). It is empty for rules that read no table.
func (r *Rule) Tables() []ensemble.Ref {
	if r.tables == nil {
		return nil
	}
	return slices.Clone(r.tables.refs)
}

// tableSet is what a rule set's tables give its rules: the versions of each
// table, and per environment version a cel.Env declaring them.
type tableSet struct {
	byName map[string][]*Rule // versions ascending
	names  []string           // sorted
	envs   []*cel.Env         // index: environment version - 1
	sizes  estimator          // the environment's, with each table's largest size
}

// estimator returns the cost estimator for rules of the set: the
// environment's, told the size of each table (the largest of its versions),
// so that a loop over a table is priced by what it holds.
func (ts *tableSet) estimator(e *Env) estimator {
	if ts == nil {
		return e.est
	}
	return ts.sizes
}

// binding is a rule bound to the table versions in force from an instant.
type binding struct {
	from time.Time // zero: the beginning of time
	rule *Rule
}

// compileTables compiles the table documents of a set and declares them
// for the other rules. It returns nil when there are none.
func (e *Env) compileTables(docs []Document, srcs []*sourceMap) (*tableSet, []error) {
	ts := &tableSet{byName: map[string][]*Rule{}}
	var errs []error
	for i, d := range docs {
		if d.Kind != Table {
			continue
		}
		r, err := e.compile(d, mapOf(srcs, i), nil)
		if err != nil {
			errs = append(errs, flattenLoad(err)...)
			continue
		}
		if e.varIndex(d.ID) >= 0 {
			errs = append(errs, r.fieldError("id", fmt.Errorf("table %q has the name of a variable", d.ID)))
			continue
		}
		ts.byName[d.ID] = append(ts.byName[d.ID], r)
	}
	if len(ts.byName) == 0 {
		return nil, errs
	}
	var decls []cel.EnvOption
	for name, rs := range ts.byName {
		slices.SortFunc(rs, func(a, b *Rule) int { return a.Version() - b.Version() })
		t := rs[0].main.ast.OutputType()
		for _, r := range rs[1:] {
			if got := r.main.ast.OutputType(); !got.IsExactType(t) {
				errs = append(errs, r.fieldError("expression", fmt.Errorf("table %q v%d is of type %s, but v%d is of type %s: every version of a table has one type",
					name, r.Version(), got, rs[0].Version(), t)))
			}
		}
		ts.names = append(ts.names, name)
		decls = append(decls, cel.Variable(name, t))
	}
	slices.Sort(ts.names)
	ts.sizes = e.est
	ts.sizes.hints = maps.Clone(e.est.hints)
	if ts.sizes.hints == nil {
		ts.sizes.hints = map[string]uint64{}
	}
	for name, rs := range ts.byName {
		for _, r := range rs {
			if n, ok := sizeOf(r.value); ok {
				ts.sizes.hints[name] = max(ts.sizes.hints[name], n)
			}
		}
	}
	for v := Version1; v <= LatestVersion; v++ {
		ce, err := e.byVer[v-1].Extend(decls...)
		if err != nil {
			errs = append(errs, fmt.Errorf("rules: declaring tables: %w", err))
			return nil, errs
		}
		ts.envs = append(ts.envs, ce)
	}
	return ts, errs
}

// sizeOf is the size of a list, map or string value.
func sizeOf(v ref.Val) (uint64, bool) {
	if s, ok := v.(traits.Sizer); ok {
		if n, ok := s.Size().(types.Int); ok && n >= 0 {
			return uint64(n), true
		}
	}
	return 0, false
}

func mapOf(maps []*sourceMap, i int) *sourceMap {
	if i < len(maps) {
		return maps[i]
	}
	return nil
}

// tablesRead lists the tables an expression reads, sorted.
func (ts *tableSet) tablesRead(a *ast.AST) []string {
	var out []string
	walkFree(a.Expr(), nil, func(e ast.Expr, local map[string]bool) bool {
		if e.Kind() == ast.IdentKind {
			if n := e.AsIdent(); !local[n] && ts.byName[n] != nil {
				out = append(out, n)
			}
		}
		return true
	})
	slices.Sort(out)
	return slices.Compact(out)
}

// bind splits a rule version's span where a table it reads changes version
// and binds each stretch to the table versions in force in it.
func (ts *tableSet) bind(r *Rule) ([]binding, error) {
	var names []string
	for _, p := range []*program{&r.main, r.reason} {
		if p != nil && p.ast != nil {
			names = append(names, ts.tablesRead(p.ast.NativeRep())...)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		return nil, nil
	}
	from, until := r.doc.EffectiveFrom, r.doc.EffectiveUntil
	starts := []time.Time{from}
	inside := func(t time.Time) bool {
		return !t.IsZero() && (from.IsZero() || t.After(from)) && (until.IsZero() || t.Before(until))
	}
	for _, n := range names {
		for _, tv := range ts.byName[n] {
			for _, t := range []time.Time{tv.doc.EffectiveFrom, tv.doc.EffectiveUntil} {
				if inside(t) {
					starts = append(starts, t)
				}
			}
		}
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	starts = slices.CompactFunc(starts, time.Time.Equal)
	out := make([]binding, 0, len(starts))
	for k, at := range starts {
		tv := &tableValues{}
		for _, n := range names {
			var in *Rule
			versions := ts.byName[n]
			for i := len(versions) - 1; i >= 0; i-- {
				if versions[i].InForce(at) {
					in = versions[i]
					break
				}
			}
			if in == nil {
				end := until
				if k+1 < len(starts) {
					end = starts[k+1]
				}
				return nil, r.fieldError("expression", fmt.Errorf("reads table %q, which has no version in force %s", n, spanText(at, end)))
			}
			tv.names = append(tv.names, n)
			tv.vals = append(tv.vals, in.value)
			tv.refs = append(tv.refs, ensemble.Ref{Kind: RefKindTable, ID: n, Version: strconv.Itoa(in.Version())})
		}
		b := *r
		b.tables = tv
		out = append(out, binding{from: at, rule: &b})
	}
	return out, nil
}

// tableValue evaluates a table's constant expression once, when it is
// compiled. A table may not read facts.
func (r *Rule) tableValue() error {
	if reads := r.Reads(); len(reads) > 0 {
		return r.fieldError("expression", fmt.Errorf("a table is a constant: it cannot read %v", reads))
	}
	v, _, err := r.main.prg.Eval(interpreter.EmptyActivation())
	if err != nil {
		return r.fieldError("expression", err)
	}
	if types.IsError(v) {
		return r.fieldError("expression", fmt.Errorf("%v", v))
	}
	r.value = v
	return nil
}

// RuleSpan is a stretch of time over which RuleSet.At returns one *Rule: a
// version of a rule, bound to the versions of the tables it reads in force
// over the whole stretch. From is zero for the beginning of time, Until for
// the end.
type RuleSpan struct {
	From, Until time.Time
	Rule        *Rule
}

// Timeline returns, in time order, the stretches over which At(id, t)
// returns one *Rule and no other, leaving out those where no version is in
// force: what a consumer that resolves rules by date itself (settlement)
// reads instead of the versions, so that a table's new version is seen
// from its date.
func (s *RuleSet) Timeline(id string) []RuleSpan {
	rs := s.byID[id]
	var bounds []time.Time
	for _, r := range rs {
		bounds = append(bounds, r.doc.EffectiveFrom, r.doc.EffectiveUntil)
		for _, b := range s.bound[r] {
			bounds = append(bounds, b.from)
		}
	}
	bounds = slices.DeleteFunc(bounds, time.Time.IsZero)
	slices.SortFunc(bounds, time.Time.Compare)
	bounds = slices.CompactFunc(bounds, time.Time.Equal)
	// Stretch k runs from starts[k] (zero: the beginning of time) to the
	// next start (zero: the end of time).
	starts := append([]time.Time{{}}, bounds...)
	var out []RuleSpan
	for k, from := range starts {
		var until time.Time
		if k+1 < len(starts) {
			until = starts[k+1]
		}
		at := from
		if at.IsZero() {
			if until.IsZero() {
				at = time.Unix(0, 0).UTC()
			} else {
				at = until.Add(-1) // the instant before the first bound
			}
		}
		r, err := s.At(id, at)
		if err != nil {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Rule == r && out[n-1].Until.Equal(from) {
			out[n-1].Until = until
			continue
		}
		out = append(out, RuleSpan{From: from, Until: until, Rule: r})
	}
	return out
}
