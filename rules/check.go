package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ensemble-commerce/ensemble"
)

// Report is what Env.Check finds in a set of rule files: every rule with
// its cost, what it reads and the result of each of its test cases; every
// problem that stops the set from loading, placed in its file; and
// warnings, which do not. It marshals to JSON for CI.
type Report struct {
	Rules    []RuleReport `json:"rules"`
	Problems []Diagnostic `json:"problems,omitempty"`
	Warnings []Diagnostic `json:"warnings,omitempty"`
}

// OK reports whether the set loads and every test case passes.
func (r *Report) OK() bool {
	if len(r.Problems) > 0 {
		return false
	}
	for _, rr := range r.Rules {
		if !rr.OK {
			return false
		}
	}
	return true
}

// RuleReport is one rule version as Check found it.
type RuleReport struct {
	Source      string         `json:"source,omitempty"`
	Line        int            `json:"line,omitempty"`
	Column      int            `json:"column,omitempty"`
	ID          string         `json:"id"`
	Version     int            `json:"version"`
	Kind        Kind           `json:"kind"`
	EnvVersion  Version        `json:"env_version"`
	Description string         `json:"description,omitempty"`
	Compiled    bool           `json:"compiled"`
	Cost        uint64         `json:"cost,omitempty"`   // the static worst-case estimate
	Reads       []string       `json:"reads,omitempty"`  // see Rule.Reads
	Tables      []ensemble.Ref `json:"tables,omitempty"` // see Rule.Tables
	Tests       []CaseReport   `json:"tests,omitempty"`
	OK          bool           `json:"ok"` // compiled, and every test case passes
}

// CaseReport is the result of one test case.
type CaseReport struct {
	Name    string `json:"name"`
	Pass    bool   `json:"pass"`
	Message string `json:"message,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// Diagnostic is one problem or warning, in its file's own coordinates
// where it has a place: what a person reads and what CI annotates.
type Diagnostic struct {
	Severity string `json:"severity"` // "error" or "warning"
	Source   string `json:"source,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	RuleID   string `json:"rule_id,omitempty"`
	Version  int    `json:"version,omitempty"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
	Snippet  string `json:"snippet,omitempty"`
	Err      error  `json:"-"` // the error it came from; nil for warnings
}

// String renders the diagnostic as compilers do: file:line:col: severity:
// rule: message, then the snippet and the hint.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(where(d.Source, d.Line, d.Column) + d.Severity + ": ")
	if d.RuleID != "" {
		b.WriteString(ruleName(d.RuleID, d.Version) + ": ")
	}
	if d.Field != "" {
		b.WriteString(d.Field + ": ")
	}
	b.WriteString(d.Message)
	if d.Snippet != "" {
		b.WriteString("\n" + d.Snippet)
	}
	if d.Hint != "" {
		b.WriteString("\n hint: " + d.Hint)
	}
	return b.String()
}

// Check reads, compiles and tests rule files as LoadRuleSet would, but
// reports each rule on its own instead of stopping at the first file with a
// problem: what rulecheck prints and what a CI gate reads. Problems are the
// errors LoadRuleSet returns, as diagnostics; a rule without test cases is
// a warning. ctx bounds the test cases.
func (e *Env) Check(ctx context.Context, files ...File) *Report {
	rep := &Report{Rules: []RuleReport{}}
	docs, maps, errs := parseFiles(files)
	set, serrs := e.buildSet(docs, maps)
	errs = append(errs, serrs...)
	lines := map[string][]string{}
	for _, f := range files {
		lines[f.Name] = ensemble.YAMLLines(f.Data)
	}
	failed := map[[2]any]bool{}
	for _, err := range errs {
		for _, d := range Diagnostics(err) {
			if d.Snippet == "" && d.Line > 0 {
				d.Snippet = (&sourceMap{lines: lines[d.Source]}).snippet(pos{d.Line, d.Column})
			}
			rep.Problems = append(rep.Problems, d)
			failed[[2]any{d.RuleID, d.Version}] = true
		}
	}
	for i, d := range docs {
		at := mapOf(maps, i).at("")
		rr := RuleReport{Source: d.Source, Line: at.line, Column: at.column, ID: d.ID, Version: d.Version, Kind: d.Kind,
			EnvVersion: d.EnvVersion, Description: d.Description}
		r, ok := set.Rule(d.ID, d.Version)
		if ok && r.doc.Source == d.Source {
			rr.Compiled = true
			rr.Cost, rr.Reads, rr.Tables = r.CostEstimate(), r.Reads(), r.Tables()
			fails := r.RunTests(ctx)
			for k, tc := range d.Tests {
				tat := r.src.at(ensemble.Path("tests", k))
				cr := CaseReport{Name: tc.Name, Pass: true, Line: tat.line, Column: tat.column}
				for _, f := range fails {
					if f.Case == tc.Name {
						cr.Pass, cr.Message = false, f.Message
					}
				}
				rr.Tests = append(rr.Tests, cr)
			}
		}
		rr.OK = rr.Compiled && !failed[[2]any{d.ID, d.Version}]
		for _, c := range rr.Tests {
			rr.OK = rr.OK && c.Pass
		}
		if rr.Compiled && d.Kind != Table && len(d.Tests) == 0 {
			rep.Warnings = append(rep.Warnings, Diagnostic{Severity: "warning", Source: d.Source, Line: at.line, Column: at.column,
				RuleID: d.ID, Version: d.Version, Message: "no test cases: add tests beside the rule so that a change that alters a payout fails here"})
		}
		rep.Rules = append(rep.Rules, rr)
	}
	return rep
}

// Diagnostics turns an error of this package (one, or a *LoadError of
// many) into diagnostics placed in their files: one per issue of a
// *CompileError, one per failed case of a *TestError, one for any other.
func Diagnostics(err error) []Diagnostic {
	if err == nil {
		return nil
	}
	var out []Diagnostic
	for _, e := range flattenLoad(err) {
		out = append(out, diagnosticsOf(e)...)
	}
	return out
}

func diagnosticsOf(err error) []Diagnostic {
	d := Diagnostic{Severity: "error", Err: err, Message: err.Error()}
	var (
		ce *CompileError
		co *CostError
		de *DocumentError
		ve *VersionError
		te *TestError
	)
	switch {
	case errors.As(err, &ce):
		out := make([]Diagnostic, 0, len(ce.Issues))
		for _, is := range ce.Issues {
			out = append(out, Diagnostic{Severity: "error", Source: ce.Source, Line: is.DocLine, Column: is.DocColumn,
				RuleID: ce.RuleID, Version: ce.Version, Field: fmt.Sprintf("%s %d:%d", ce.Field, is.Line, is.Column),
				Message: is.Message, Hint: is.Hint, Snippet: is.Snippet, Err: err})
		}
		return out
	case errors.As(err, &co):
		d.Source, d.Line, d.Column, d.RuleID, d.Version = co.Source, co.DocLine, co.DocColumn, co.RuleID, co.Version
		d.Field = fmt.Sprintf("%s %d:%d", co.Field, co.Line, co.Column)
		d.Message = fmt.Sprintf("estimated worst-case cost %d, over the budget %d", co.Estimate, co.Limit)
		d.Hint, d.Snippet = co.Hint, co.Snippet
	case errors.As(err, &de):
		d.Source, d.Line, d.Column, d.RuleID, d.Version, d.Field = de.Source, de.Line, de.Column, de.RuleID, de.Version, de.Field
		d.Message = de.Err.Error()
	case errors.As(err, &ve):
		d.Source, d.Line, d.Column, d.RuleID, d.Version = ve.Source, ve.Line, ve.Column, ve.RuleID, ve.Version.Version
		d.Field = "effective_from"
		d.Message = strings.TrimPrefix(ve.detail(), ": ")
		if !errors.Is(ve.Err, ErrVersionGap) {
			d.Message = fmt.Sprintf("this version (%s)%s", spanText(ve.Version.From, ve.Version.Until), ve.detail())
		}
	case errors.As(err, &te):
		out := make([]Diagnostic, 0, len(te.Failures))
		for _, f := range te.Failures {
			out = append(out, Diagnostic{Severity: "error", Source: f.Source, Line: f.Line, Column: f.Column,
				RuleID: f.RuleID, Version: f.Version, Field: fmt.Sprintf("test %q", f.Case), Message: f.Message, Err: err})
		}
		return out
	}
	return []Diagnostic{d}
}
