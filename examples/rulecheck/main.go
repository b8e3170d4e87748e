// Command rulecheck is the gate rule authors and CI run on rule and plan
// documents. It compiles every rule in the environment its consumer
// declares, prints each rule's cost, what it reads and the tables it uses,
// runs the test cases written beside the rules (one PASS or FAIL line
// each), and reports every problem in the file's own coordinates
// (file:line:col, the line with a caret, and a hint when there is a known
// fix). With -plans it validates settlement plans against the rules, all
// plan files together; with -network it checks that every partner:<id> a
// plan pays is in the partner network; with -rates, that every currency a
// plan settles converts into the currency of its cumulative tiers.
//
//	go run ./examples/rulecheck -env partner partner/testdata/rules.yaml
//	go run ./examples/rulecheck -plans plans.yaml,promo-plans.yaml -network network.yaml settlement-rules.yaml
//	go run ./examples/rulecheck -plans fx-plans.yaml -rates rates.yaml settlement-rules.yaml
//	go run ./examples/rulecheck -json -strict -plans plans.yaml settlement-rules.yaml > report.json
//
// It exits 0 when everything passes, 1 when any rule or plan has a
// problem or any test case fails (with -strict, also on any warning), and
// 2 when the command line is wrong or a file cannot be read. See README.md
// beside this file for what each line of the report means.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // a problem, a failing test case, or (-strict) a warning
	exitUsage = 2 // a wrong command line or an unreadable file
)

const (
	envDefault = "partner"    // without -plans
	envSettle  = "settlement" // what plans' rules are written for
	usageLine  = "usage: rulecheck [-env name] [-plans plans.yaml[,more.yaml]] [-network network.yaml] [-rates rates.yaml] [-strict] [-json] rules.yaml ..."
)

// environments maps the -env flag to the consumer whose variables the rules
// read. Each consumer package declares its own.
var environments = map[string]func() (*rules.Env, error){
	"partner":    func() (*rules.Env, error) { return partner.Env() },
	"settlement": func() (*rules.Env, error) { return settlement.Env() },
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// file is one input document: its name as given and its bytes.
type file struct {
	name string
	data []byte
}

// options is what a command line asks for.
type options struct {
	env     string
	rules   []file
	plans   []file
	network *file // nil without -network
	rates   *file // nil without -rates
	strict  bool  // warnings fail too
	json    bool  // one JSON object on stdout instead of the text report
}

// run is the whole command: it parses args, reads the files, checks them
// and writes the report to stdout (usage errors to stderr), returning the
// exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	var shown flagError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &shown):
		return exitUsage // the flag package has said why, with the usage
	case err != nil:
		fmt.Fprintln(stderr, "rulecheck:", err)
		return exitUsage
	}
	res, err := check(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "rulecheck:", err)
		return exitUsage
	}
	if o.json {
		err = writeJSON(stdout, res)
	} else {
		err = writeText(stdout, res)
	}
	if err != nil {
		fmt.Fprintln(stderr, "rulecheck:", err)
		return exitUsage
	}
	if !res.OK {
		return exitFail
	}
	return exitOK
}

// listFlag is a flag that may be repeated and whose values may each hold
// several comma-separated items.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

// flagError is an error of the flag package, which has already written it
// to stderr with the usage.
type flagError struct{ err error }

func (e flagError) Error() string { return e.err.Error() }
func (e flagError) Unwrap() error { return e.err }

// parseArgs reads the command line and the files it names. A flag error
// is a flagError, already written to stderr with the usage.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("rulecheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envName := fs.String("env", "", "the environment the rules are written for: "+strings.Join(envNames(), ", ")+
		" (default "+envDefault+", or "+envSettle+" with -plans)")
	var plans listFlag
	fs.Var(&plans, "plans", "settlement plan files to validate against the rules, all together (repeat the flag or separate with commas)")
	network := fs.String("network", "", "a partner network file: every partner:<id> a plan pays must be in it (with -plans)")
	rates := fs.String("rates", "", "the host's exchange rates: every currency a plan settles must convert into its cumulative tiers' currency (with -plans)")
	strict := fs.Bool("strict", false, "fail on warnings too (rules without test cases, plans whose tiers some line currencies cannot read)")
	asJSON := fs.Bool("json", false, "write one JSON object to stdout, for CI annotations")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usageLine)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return options{}, flagError{err}
	}
	o := options{env: *envName, strict: *strict, json: *asJSON}
	if o.env == "" {
		o.env = envDefault
		if len(plans) > 0 {
			o.env = envSettle
		}
	}
	switch {
	case environments[o.env] == nil:
		return o, fmt.Errorf("unknown environment %q (want one of %s)", o.env, strings.Join(envNames(), ", "))
	case fs.NArg() == 0 && len(plans) == 0:
		fs.Usage()
		return o, errors.New("no rule files given")
	case len(plans) > 0 && o.env != envSettle:
		return o, fmt.Errorf("-plans checks settlement plans: their rules are written for -env %s, not %s", envSettle, o.env)
	case *network != "" && len(plans) == 0:
		return o, errors.New("-network checks the partners plans pay: give the plans with -plans")
	case *rates != "" && len(plans) == 0:
		return o, errors.New("-rates checks the currencies plans settle: give the plans with -plans")
	}
	var err error
	if o.rules, err = readFiles(fs.Args()); err != nil {
		return o, err
	}
	if o.plans, err = readFiles(plans); err != nil {
		return o, err
	}
	if *network != "" {
		nf, err := readFiles([]string{*network})
		if err != nil {
			return o, err
		}
		o.network = &nf[0]
	}
	if *rates != "" {
		rf, err := readFiles([]string{*rates})
		if err != nil {
			return o, err
		}
		o.rates = &rf[0]
	}
	return o, nil
}

func readFiles(names []string) ([]file, error) {
	out := make([]file, 0, len(names))
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, file{name: name, data: data})
	}
	return out, nil
}

func envNames() []string {
	names := make([]string, 0, len(environments))
	for name := range environments {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
