package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ensemble-commerce/ensemble/rules"
)

// writeText writes the report rule authors read: each rule with its cost,
// reads and tables, its problems and warnings, and a line per test case;
// then each plan; then one summary line.
func writeText(w io.Writer, res *result) error {
	b := bufio.NewWriter(w)
	rep := res.Rules
	fmt.Fprintf(b, "environment %s: variables %s\n", res.env, strings.Join(res.variables, ", "))
	attached, loose := byRule(rep)
	for i, rr := range rep.Rules {
		fmt.Fprintf(b, "\n%s\n", ruleHeader(rr))
		if rr.Description != "" {
			fmt.Fprintf(b, "  %s\n", strings.ReplaceAll(strings.TrimSpace(rr.Description), "\n", "\n  "))
		}
		for _, d := range attached[i] {
			fmt.Fprintln(b, d.String())
		}
		for _, c := range rr.Tests {
			if c.Pass {
				fmt.Fprintf(b, "  PASS %s\n", c.Name)
				continue
			}
			fmt.Fprintf(b, "  FAIL %s (%s:%d:%d): %s\n", c.Name, rr.Source, c.Line, c.Column, c.Message)
		}
	}
	writeDiags(b, loose)
	if res.network != "" {
		status := "ok"
		if len(res.networkDiags) > 0 {
			status = "FAIL: does not load, so no plan is checked against it"
		}
		fmt.Fprintf(b, "\nnetwork %s  %s\n", res.network, status)
		writeDiags(b, res.networkDiags)
	}
	if res.rates != "" {
		status := "ok"
		if len(res.ratesDiags) > 0 {
			status = "FAIL"
		}
		fmt.Fprintf(b, "\nrates %s  %s\n", res.rates, status)
		writeDiags(b, res.ratesDiags)
	}
	for _, pf := range res.planFiles {
		if len(pf.diags) > 0 {
			fmt.Fprintf(b, "\n%s  FAIL\n", pf.name)
			writeDiags(b, pf.diags)
		}
		for _, i := range pf.plans {
			pr := res.Plans[i]
			status := "ok"
			if !pr.OK {
				status = "FAIL"
			}
			fmt.Fprintf(b, "\nplan %s@%d  %s  %s\n", pr.ID, pr.Version, pr.File, status)
			writeDiags(b, pr.diags)
		}
	}
	writeDiags(b, res.loose)
	fmt.Fprintf(b, "\n%s\n", summary(res))
	return b.Flush()
}

// ruleHeader is a rule's first line: "id@version  kind  env vN  cost N
// reads a, b  tables t@v", or "... does not compile".
func ruleHeader(rr rules.RuleReport) string {
	h := fmt.Sprintf("%s@%d  %s  env v%d", rr.ID, rr.Version, rr.Kind, rr.EnvVersion)
	if !rr.Compiled {
		return h + "  does not compile"
	}
	h += fmt.Sprintf("  cost %d", rr.Cost)
	if len(rr.Reads) > 0 {
		h += "  reads " + strings.Join(rr.Reads, ", ")
	}
	if len(rr.Tables) > 0 {
		tables := make([]string, len(rr.Tables))
		for i, t := range rr.Tables {
			tables[i] = t.ID + "@" + t.Version
		}
		h += "  tables " + strings.Join(tables, ", ")
	}
	return h
}

func writeDiags(w io.Writer, diags []rules.Diagnostic) {
	for _, d := range diags {
		fmt.Fprintln(w, d.String())
	}
}

// summary is the last line: "ok: ..." or "FAIL: ..." with the counts.
func summary(res *result) string {
	problems := len(res.Rules.Problems) + len(res.Problems)
	var counts []string
	count := func(n int, what string) {
		switch {
		case n == 1:
			counts = append(counts, "1 "+what)
		case n > 1:
			counts = append(counts, fmt.Sprintf("%d %ss", n, what))
		}
	}
	if res.OK {
		count(len(res.Rules.Rules), "rule")
		count(len(res.Plans), "plan")
		s := "ok: " + strings.Join(counts, ", ")
		if n := res.warnings(); n > 0 {
			s += fmt.Sprintf("; %d warning%s (-strict fails on warnings)", n, plural(n))
		}
		return s
	}
	count(problems, "problem")
	count(res.failingCases(), "failing test case")
	count(res.warnings(), "warning")
	s := "FAIL: " + strings.Join(counts, ", ")
	if res.strict && problems == 0 && res.failingCases() == 0 {
		s += " (-strict)"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// writeJSON writes the result as one JSON object, fields in a fixed order,
// for CI to annotate the files with.
func writeJSON(w io.Writer, res *result) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // keep '_>_' and "a -> b" readable
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
