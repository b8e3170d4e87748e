package rules

import (
	"slices"
	"strings"

	"cel.dev/cel-go/common/ast"
)

// Reads returns the facts the rule reads, as paths of declared variables
// and their fields joined by dots ("line.amount", "partner.tier"), sorted,
// from its checked expression (and reason_expression). A value used whole
// (a list a comprehension ranges over, a map indexed, a struct passed to a
// function) is read as its path, which covers everything under it; a path
// under another listed path is left out. Two evaluations whose facts agree
// on every path read give the same result, so a consumer can key a cache
// on exactly these.
func (r *Rule) Reads() []string {
	var out []string
	for _, p := range []*program{&r.main, r.reason} {
		if p != nil && p.ast != nil {
			out = append(out, readsOf(p.ast.NativeRep(), r.env)...)
		}
	}
	return minimalPaths(out)
}

// readsOf lists the variable paths an expression reads.
func readsOf(a *ast.AST, env *Env) []string {
	var out []string
	walkFree(a.Expr(), nil, func(e ast.Expr, local map[string]bool) bool {
		switch e.Kind() {
		case ast.IdentKind:
			if name := e.AsIdent(); !local[name] && env.varIndex(name) >= 0 {
				out = append(out, name)
			}
		case ast.SelectKind:
			if p, ok := selectPath(e, local, env); ok {
				out = append(out, p)
				return false
			}
		}
		return true
	})
	return out
}

// walkFree calls f on e and, while f returns true, on its children, with
// the names comprehensions bind at each place (their iteration and
// accumulator variables), so f can tell a fact or table from a local of the
// same name.
func walkFree(e ast.Expr, local map[string]bool, f func(e ast.Expr, local map[string]bool) bool) {
	if !f(e, local) {
		return
	}
	switch e.Kind() {
	case ast.SelectKind:
		walkFree(e.AsSelect().Operand(), local, f)
	case ast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			walkFree(c.Target(), local, f)
		}
		for _, x := range c.Args() {
			walkFree(x, local, f)
		}
	case ast.ListKind:
		for _, x := range e.AsList().Elements() {
			walkFree(x, local, f)
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			walkFree(en.AsMapEntry().Key(), local, f)
			walkFree(en.AsMapEntry().Value(), local, f)
		}
	case ast.StructKind:
		for _, fl := range e.AsStruct().Fields() {
			walkFree(fl.AsStructField().Value(), local, f)
		}
	case ast.ComprehensionKind:
		c := e.AsComprehension()
		walkFree(c.IterRange(), local, f)
		walkFree(c.AccuInit(), local, f)
		inner := make(map[string]bool, len(local)+3)
		for k := range local {
			inner[k] = true
		}
		inner[c.IterVar()], inner[c.AccuVar()] = true, true
		if c.HasIterVar2() {
			inner[c.IterVar2()] = true
		}
		walkFree(c.LoopCondition(), inner, f)
		walkFree(c.LoopStep(), inner, f)
		walkFree(c.Result(), inner, f)
	}
}

// selectPath returns "var.field.field" for a chain of field selections on
// a declared variable (has() tests included), or false.
func selectPath(e ast.Expr, local map[string]bool, env *Env) (string, bool) {
	switch e.Kind() {
	case ast.IdentKind:
		name := e.AsIdent()
		return name, !local[name] && env.varIndex(name) >= 0
	case ast.SelectKind:
		p, ok := selectPath(e.AsSelect().Operand(), local, env)
		return p + "." + e.AsSelect().FieldName(), ok
	}
	return "", false
}

// minimalPaths sorts paths, drops duplicates and paths under another path.
func minimalPaths(paths []string) []string {
	slices.Sort(paths)
	paths = slices.Compact(paths)
	out := paths[:0]
	for _, p := range paths {
		if n := len(out); n > 0 && strings.HasPrefix(p, out[n-1]+".") {
			continue
		}
		out = append(out, p)
	}
	return slices.Clip(out)
}
