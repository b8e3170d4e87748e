// Command rulecheck is what rule authors run on their rule documents: it
// compiles every rule in the environment its consumer declares, reports
// positioned errors with a caret snippet, prints each rule's estimated cost,
// and runs the test cases written beside the rules, one pass/fail line each.
//
//	go run ./examples/rulecheck -env partner partner/testdata/rules.yaml
//	go run ./examples/rulecheck -env settlement -plans plans.yaml settlement-rules.yaml
//
// It exits 1 when any rule fails to compile or any test case fails, so it
// can gate a pull request that changes rules.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// environments maps the -env flag to the consumer whose variables the rules
// read. Each consumer package declares its own.
var environments = map[string]func() (*rules.Env, error){
	"partner":    func() (*rules.Env, error) { return partner.Env() },
	"settlement": func() (*rules.Env, error) { return settlement.Env() },
}

func main() {
	envName := flag.String("env", "partner", "the environment the rules are written for: "+strings.Join(envNames(), ", "))
	plansFile := flag.String("plans", "", "a settlement plan document to validate against the rules (with -env settlement)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: rulecheck [-env name] [-plans plans.yaml] rules.yaml ...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var files []rules.File
	for _, name := range flag.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rulecheck:", err)
			os.Exit(2)
		}
		files = append(files, rules.File{Name: name, Data: data})
	}
	var plans []byte
	if *plansFile != "" {
		var err error
		if plans, err = os.ReadFile(*plansFile); err != nil {
			fmt.Fprintln(os.Stderr, "rulecheck:", err)
			os.Exit(2)
		}
	}
	ok, err := check(os.Stdout, *envName, files)
	if err == nil && ok && plans != nil {
		ok, err = checkPlans(os.Stdout, filepath.Base(*plansFile), plans, files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rulecheck:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func envNames() []string {
	names := make([]string, 0, len(environments))
	for name := range environments {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// check loads files in the named environment and writes its report to w. It
// returns false when any rule fails to compile or any test case fails.
func check(w io.Writer, envName string, files []rules.File) (bool, error) {
	newEnv, known := environments[envName]
	if !known {
		return false, fmt.Errorf("unknown environment %q (want one of %s)", envName, strings.Join(envNames(), ", "))
	}
	env, err := newEnv()
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "environment %s: variables %s\n", envName, strings.Join(env.Variables(), ", "))
	pass := true
	for _, f := range files {
		docs, err := rules.ParseDocuments(f.Data)
		if err != nil {
			pass = false
			fmt.Fprintf(w, "\n%s: FAIL: %v\n", f.Name, err)
			continue
		}
		for _, doc := range docs {
			doc.Source = f.Name
			pass = checkRule(w, env, doc) && pass
		}
	}
	if pass {
		// Problems only a whole set shows, such as a duplicate id and version.
		if _, err := env.LoadRuleSet(files...); err != nil {
			pass = false
			for _, e := range flatten(err) {
				fmt.Fprintf(w, "\nFAIL: %v\n", e)
			}
		}
	}
	if pass {
		fmt.Fprintln(w, "\nok")
	} else {
		fmt.Fprintln(w, "\nFAIL")
	}
	return pass, nil
}

// checkRule compiles one document, prints its cost, and runs its test cases.
func checkRule(w io.Writer, env *rules.Env, doc rules.Document) bool {
	fmt.Fprintf(w, "\n%s@%d  %s", doc.ID, doc.Version, doc.Kind)
	r, err := env.Compile(doc)
	if err != nil {
		fmt.Fprintln(w, "  FAIL: does not compile")
		for _, e := range flatten(err) {
			fmt.Fprintf(w, "%v\n", e)
		}
		return false
	}
	fmt.Fprintf(w, "  env v%d  estimated cost %d\n", r.EnvVersion(), r.CostEstimate())
	if doc.Description != "" {
		fmt.Fprintf(w, "  %s\n", doc.Description)
	}
	if len(doc.Tests) == 0 {
		fmt.Fprintln(w, "  (no test cases)")
		return true
	}
	failures := r.RunTests(context.Background())
	pass := true
	for _, tc := range doc.Tests {
		i := slices.IndexFunc(failures, func(f rules.TestFailure) bool { return f.Case == tc.Name })
		if i < 0 {
			fmt.Fprintf(w, "  PASS %s\n", tc.Name)
			continue
		}
		pass = false
		fmt.Fprintf(w, "  FAIL %s: %s\n", tc.Name, failures[i].Message)
	}
	return pass
}

// checkPlans validates settlement plans against the rule files: every node's
// role, share and rule kind, and that no level can over-allocate.
func checkPlans(w io.Writer, name string, doc []byte, files []rules.File) (bool, error) {
	env, err := settlement.Env()
	if err != nil {
		return false, err
	}
	set, err := env.LoadRuleSet(files...)
	if err != nil {
		return false, err
	}
	plans, err := settlement.ParsePlans(doc)
	if err == nil {
		_, err = settlement.New(settlement.Config{Plans: plans, Rules: set})
	}
	if err != nil {
		fmt.Fprintf(w, "\n%s: FAIL\n", name)
		for _, e := range flatten(err) {
			fmt.Fprintf(w, "%v\n", e)
		}
		return false, nil
	}
	for _, p := range plans {
		fmt.Fprintf(w, "\nplan %s@%d  ok\n", p.ID, p.Version)
	}
	return true, nil
}

// flatten lists the errors a *rules.LoadError or an
// *ensemble.ValidationError gathers, or err itself.
func flatten(err error) []error {
	var le *rules.LoadError
	if errors.As(err, &le) {
		return le.Errs
	}
	var ve *ensemble.ValidationError
	if errors.As(err, &ve) {
		out := make([]error, len(ve.Problems))
		for i, p := range ve.Problems {
			out[i] = p
		}
		return out
	}
	return []error{err}
}
