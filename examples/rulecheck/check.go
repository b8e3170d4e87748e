package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ensemble-commerce/ensemble/rules"
)

// result is everything one run found. Its exported fields are the -json
// output, in this order; the rules' own problems and warnings are in Rules,
// those of plans and the network in Problems and Warnings.
type result struct {
	// OK is the gate: the rules load and every test case passes, every plan
	// is valid, and with -strict there is no warning either.
	OK       bool               `json:"ok"`
	Rules    *rules.Report      `json:"rules"`
	Plans    []planResult       `json:"plans"`
	Problems []rules.Diagnostic `json:"problems"`
	Warnings []rules.Diagnostic `json:"warnings"`

	env          string   // the -env name
	variables    []string // the variables rules may read in it
	strict       bool
	planFiles    []planFile         // in command-line order, for the text report
	network      string             // the -network file, if any
	networkDiags []rules.Diagnostic // its problems, when it does not load
	rates        string             // the -rates file, if any
	ratesDiags   []rules.Diagnostic // its problems
	loose        []rules.Diagnostic // problems of the plans together that name no plan
}

// planResult is one plan version of one plan file.
type planResult struct {
	File    string `json:"file"`
	ID      string `json:"id"`
	Version int    `json:"version"`
	// OK reports that the plan has no problem; warnings do not count.
	OK bool `json:"ok"`

	diags []rules.Diagnostic // its problems and warnings, as found
}

// check runs every check o asks for. It returns an error only for what
// stops the checks from running at all (an environment that does not
// build); everything wrong with the files is in the result.
func check(ctx context.Context, o options) (*result, error) {
	newEnv, ok := environments[o.env]
	if !ok {
		return nil, fmt.Errorf("unknown environment %q", o.env)
	}
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	files := make([]rules.File, len(o.rules))
	for i, f := range o.rules {
		files[i] = rules.File{Name: f.name, Data: f.data}
	}
	res := &result{
		Rules:     env.Check(ctx, files...),
		Plans:     []planResult{},
		Problems:  []rules.Diagnostic{},
		Warnings:  []rules.Diagnostic{},
		env:       o.env,
		variables: env.Variables(),
		strict:    o.strict,
	}
	showLines(res.Rules.Problems, o.rules)
	if len(o.plans) > 0 {
		// The plans name rules of the set: validate them against it only
		// when it loads, or every rule they name would look unknown.
		var set *rules.RuleSet
		if len(res.Rules.Problems) == 0 {
			if set, err = env.LoadRuleSet(files...); err != nil {
				return nil, fmt.Errorf("the rules check clean but do not load: %w", err)
			}
		}
		checkPlans(res, o.plans, o.network, o.rates, set)
	}
	res.OK = res.Rules.OK() && len(res.Problems) == 0 && !(o.strict && res.warnings() > 0)
	return res, nil
}

// showLines gives each placed problem that shows no line of its file
// (a hidden version, a bad test fact) the line with a caret, as compile
// errors have.
func showLines(diags []rules.Diagnostic, files []file) {
	for i, d := range diags {
		if d.Snippet != "" || d.Line == 0 {
			continue
		}
		for _, f := range files {
			if f.name == d.Source {
				diags[i].Snippet = yamlDoc{lines: strings.Split(string(f.data), "\n")}.snippet(d.Line, d.Column)
				break
			}
		}
	}
}

// warnings counts the warnings of rules, plans and the network.
func (r *result) warnings() int { return len(r.Rules.Warnings) + len(r.Warnings) }

// failingCases counts the test cases that fail.
func (r *result) failingCases() int {
	n := 0
	for _, rr := range r.Rules.Rules {
		for _, c := range rr.Tests {
			if !c.Pass {
				n++
			}
		}
	}
	return n
}

// byRule gives each of the rules' diagnostics to the rule report it is
// about, by index into Report.Rules: the one of the same id and version
// read from the diagnostic's file, else the first of that id and version.
// Diagnostics about no rule of the report (a file that does not parse)
// are returned apart.
func byRule(rep *rules.Report) (map[int][]rules.Diagnostic, []rules.Diagnostic) {
	attached := map[int][]rules.Diagnostic{}
	var loose []rules.Diagnostic
	for _, d := range append(append([]rules.Diagnostic(nil), rep.Problems...), rep.Warnings...) {
		at := -1
		for i, rr := range rep.Rules {
			if d.RuleID == "" || rr.ID != d.RuleID || rr.Version != d.Version {
				continue
			}
			if at < 0 || (rr.Source == d.Source && rep.Rules[at].Source != d.Source) {
				at = i
			}
		}
		if at < 0 {
			loose = append(loose, d)
			continue
		}
		attached[at] = append(attached[at], d)
	}
	return attached, loose
}
