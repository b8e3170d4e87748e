package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// Document is a rule as authors write it, in YAML or JSON:
//
//	id: reseller-share
//	version: 2
//	kind: share
//	env_version: 1
//	effective_from: 2026-01-01T00:00:00Z
//	description: Gold resellers keep 30%, others 25%.
//	expression: 'partner.tier == "gold" ? percent(30) : percent(25)'
//	tests:
//	  - name: gold
//	    facts: {partner: {tier: gold}}
//	    want: "0.30"
//
// A rule version is in force from EffectiveFrom (inclusive, zero: always)
// until EffectiveUntil (exclusive, zero: forever); where versions overlap,
// the highest is in force. A version that higher versions hide entirely is
// refused when the set is loaded (ErrShadowedVersion); Continuous, on any
// version of a rule, also refuses a stretch of time between its first and
// last version where none is in force (ErrVersionGap). Policy rules may give a
// reason (a fixed text) or a reason_expression (a CEL string expression)
// used when they deny.
type Document struct {
	ID               string     `json:"id"`
	Version          int        `json:"version"`
	Kind             Kind       `json:"kind"`
	Description      string     `json:"description,omitempty"`
	EnvVersion       Version    `json:"env_version"`
	EffectiveFrom    time.Time  `json:"effective_from,omitzero"`
	EffectiveUntil   time.Time  `json:"effective_until,omitzero"`
	Continuous       bool       `json:"continuous,omitempty"`
	Expression       string     `json:"expression"`
	Reason           string     `json:"reason,omitempty"`
	ReasonExpression string     `json:"reason_expression,omitempty"`
	Tests            []TestCase `json:"tests,omitempty"`

	// Source names where the document came from (a file name) in error
	// messages. It is not part of the document's JSON.
	Source string `json:"-"`
}

// TestCase is one check of a rule written beside it: input facts (each
// variable as the JSON its Go type decodes from) and either the expected
// result (Want: a bool for conditions, a decimal string for shares, a money
// object for amounts, a bool or {"allowed": ..., "reason": ...} for
// policies) or a text the evaluation error must contain (WantError).
//
// At is the instant the case is evaluated at, within the rule's effective
// span: in a rule set it picks the versions of the tables the rule reads
// (as RuleSet.At does), so a new rate card can be tested from its date.
// Zero: when the rule takes effect.
type TestCase struct {
	Name      string                     `json:"name"`
	At        time.Time                  `json:"at,omitzero"`
	Facts     map[string]json.RawMessage `json:"facts,omitempty"`
	Want      json.RawMessage            `json:"want,omitempty"`
	WantError string                     `json:"want_error,omitempty"`
}

func (d Document) clone() Document {
	c := d
	c.Tests = make([]TestCase, len(d.Tests))
	for i, t := range d.Tests {
		c.Tests[i] = TestCase{Name: t.Name, At: t.At, WantError: t.WantError, Want: slices.Clone(t.Want)}
		if t.Facts != nil {
			c.Tests[i].Facts = make(map[string]json.RawMessage, len(t.Facts))
			for k, v := range t.Facts {
				c.Tests[i].Facts[k] = slices.Clone(v)
			}
		}
	}
	if d.Tests == nil {
		c.Tests = nil
	}
	return c
}

func (d Document) inForce(t time.Time) bool {
	if !d.EffectiveFrom.IsZero() && t.Before(d.EffectiveFrom) {
		return false
	}
	if !d.EffectiveUntil.IsZero() && !t.Before(d.EffectiveUntil) {
		return false
	}
	return true
}

// Validate reports every invalid field of the document at once as an
// *ensemble.ValidationError: a missing id, version, kind, env_version or
// expression, an unknown env_version, an empty effective span, reason fields
// on a rule that is not a policy, and test cases without a name, with a
// duplicate name, or with both or neither of want and want_error. It does
// not compile the expression.
func (d Document) Validate() error {
	var p ensemble.Problems
	if d.ID == "" {
		p.Addf("id", "missing")
	} else if err := ensemble.CheckID(d.ID, "@:/#"); err != nil {
		p.Add("id", err)
	}
	if d.Version < 1 {
		p.Addf("version", "must be 1 or more, got %d", d.Version)
	}
	if d.Kind == KindUnspecified || d.Kind > Table {
		p.Addf("kind", "must be condition, share, amount, policy or table")
	}
	if d.Kind == Table {
		if d.ID != "" && !validIdent(d.ID) {
			p.Addf("id", "a table's id is the name rules read it by: letters, digits and _, not starting with a digit")
		}
		if len(d.Tests) > 0 {
			p.Addf("tests", "a table has no test cases: test the rules that read it")
		}
	}
	if d.EnvVersion < Version1 || d.EnvVersion > LatestVersion {
		p.Addf("env_version", "must be 1 to %d, got %d", LatestVersion, d.EnvVersion)
	}
	if strings.TrimSpace(d.Expression) == "" {
		p.Addf("expression", "missing")
	}
	if !d.EffectiveFrom.IsZero() && !d.EffectiveUntil.IsZero() && !d.EffectiveUntil.After(d.EffectiveFrom) {
		p.Addf("effective_until", "must be after effective_from")
	}
	if d.Kind != Policy {
		if d.Reason != "" {
			p.Addf("reason", "only policy rules have a reason")
		}
		if d.ReasonExpression != "" {
			p.Addf("reason_expression", "only policy rules have a reason_expression")
		}
	}
	names := map[string]bool{}
	for i, tc := range d.Tests {
		path := ensemble.Path("tests", i)
		if tc.Name == "" {
			p.Addf(path+".name", "missing")
		} else if names[tc.Name] {
			p.Addf(path+".name", "duplicate test case %q", tc.Name)
		}
		names[tc.Name] = true
		if (len(tc.Want) == 0) == (tc.WantError == "") {
			p.Addf(path, "test case %q needs exactly one of want and want_error", tc.Name)
		}
	}
	subject := "rule document"
	if d.ID != "" {
		subject = ruleName(d.ID, d.Version)
	}
	return p.Err(subject)
}

// ParseDocuments reads rule documents from YAML or JSON: one document, or a
// list of documents. Unknown fields are an error, so a misspelt field is not
// silently ignored. Every document that cannot be read is reported, as a
// *DocumentError naming its index and, when it can be read, its id. The
// documents are not validated or compiled; see Env.Compile and
// Env.NewRuleSet.
func ParseDocuments(data []byte) ([]Document, error) {
	docs, _, errs := parseFile(File{Data: data})
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return docs, nil
}

// parseFile reads the documents of one file and places their fields in it.
// The maps are in step with the documents (nil entries when the text cannot
// be placed).
func parseFile(f File) ([]Document, []*sourceMap, []error) {
	source, data := f.Name, f.Data
	if len(data) > ensemble.MaxDocumentBytes {
		return nil, nil, []error{&DocumentError{Source: source, Err: ensemble.CheckDocument("rules", data)}}
	}
	// JSON is read as it is; anything else, YAML's flow style included
	// ({id: r, ...}), is YAML.
	js := bytes.TrimSpace(data)
	if !json.Valid(js) {
		var err error
		js, err = ensemble.YAMLToJSON(data)
		if err != nil {
			return nil, nil, []error{fileError(source, err)}
		}
		js = bytes.TrimSpace(js)
	}
	if err := ensemble.CheckDocument("rules", js); err != nil {
		return nil, nil, []error{fileError(source, err)}
	}
	raws := []json.RawMessage{js}
	if js[0] == '[' {
		// Decode into a new slice: encoding/json would copy the first item
		// into the RawMessage already there, which is the caller's bytes.
		raws = nil
		if err := strictUnmarshal(js, &raws); err != nil {
			return nil, nil, []error{&DocumentError{Source: source, Err: err}}
		}
	}
	maps := sourceMaps(source, data)
	if len(maps) != len(raws) {
		maps = make([]*sourceMap, len(raws))
	}
	var docs []Document
	var placed []*sourceMap
	var errs []error
	for i, raw := range raws {
		d, err := parseDocument(raw)
		if err != nil {
			name := source
			if js[0] == '[' && maps[i] == nil {
				name = fmt.Sprintf("%s[%d]", source, i)
			}
			errs = append(errs, documentError(name, raw, maps[i], err))
			continue
		}
		d.Source = source
		docs = append(docs, d)
		placed = append(placed, maps[i])
	}
	return docs, placed, errs
}

// parseFiles reads the documents of every file, with their places.
func parseFiles(files []File) ([]Document, []*sourceMap, []error) {
	var docs []Document
	var maps []*sourceMap
	var errs []error
	for _, f := range files {
		ds, ms, ferrs := parseFile(f)
		errs = append(errs, ferrs...)
		docs = append(docs, ds...)
		maps = append(maps, ms...)
	}
	return docs, maps, errs
}

// fileError wraps an error reading a whole file, keeping the line and
// column a *ensemble.DecodeError gives.
func fileError(source string, err error) error {
	de := &DocumentError{Source: source, Err: err}
	var dec *ensemble.DecodeError
	if errors.As(err, &dec) {
		de.Line, de.Column = dec.Line, dec.Column
	}
	return de
}

func parseDocument(js []byte) (Document, error) {
	var d Document
	err := strictUnmarshal(js, &d)
	return d, err
}

// documentError names the id and version of a document that failed to
// decode, when they can be read, and places the offending field in the
// file.
func documentError(source string, raw []byte, m *sourceMap, err error) error {
	var head struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	}
	_ = json.Unmarshal(raw, &head)
	de := &DocumentError{Source: source, RuleID: head.ID, Version: head.Version, Err: err}
	var te *json.UnmarshalTypeError
	at := m.at("")
	switch {
	case errors.As(err, &te):
		de.Field = te.Field
		at = m.at(te.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		de.Field = name
		if m != nil {
			at = m.key(unknownKeyPath(m, name))
		}
		fields := documentFields
		if m != nil && strings.Contains(unknownKeyPath(m, name), "tests[") {
			fields = []string{"name", "at", "facts", "want", "want_error"}
		}
		if s := suggest(name, fields); s != "" {
			de.Err = fmt.Errorf("%w (did you mean %s?)", err, s)
		}
	default:
		// A value's own decoder refused it (a kind, a date) without saying
		// where: the field is the one that fails alone.
		if f := failingField(raw); f != "" {
			de.Field = f
			at = m.at(f)
		}
		var pe *time.ParseError
		if errors.As(err, &pe) {
			de.Err = fmt.Errorf("%q is not an instant: write it with its time and zone, such as %sT00:00:00Z (a date alone does not say in which zone the day starts)", pe.Value, strings.Trim(pe.Value, `"`))
		}
	}
	de.Line, de.Column = at.line, at.column
	return de
}

// documentFields are the fields of a rule document, for "did you mean".
var documentFields = []string{"id", "version", "kind", "description", "env_version", "effective_from", "effective_until",
	"continuous", "expression", "reason", "reason_expression", "tests"}

// failingField returns the top-level field of a document that fails to
// decode on its own, or "".
func failingField(raw []byte) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return ""
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		var d Document
		if json.Unmarshal(one, &d) != nil {
			return k
		}
	}
	return ""
}

// unknownKeyPath finds the path of a key encoding/json refused by name
// only: the shallowest field of that name in the document.
func unknownKeyPath(m *sourceMap, name string) string {
	best := ""
	for p := range m.keys {
		if (p == name || strings.HasSuffix(p, "."+name)) && (best == "" || len(p) < len(best) || len(p) == len(best) && p < best) {
			best = p
		}
	}
	return best
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the document")
	}
	return nil
}

// File is a named rule source: YAML or JSON holding one document or a list.
type File struct {
	Name string
	Data []byte
}

// RuleSet holds compiled rules by id and version. It is immutable and safe
// for concurrent use.
type RuleSet struct {
	env   *Env
	byID  map[string][]*Rule // versions ascending
	ids   []string
	bound map[*Rule][]binding // rules that read tables: bound per stretch of time
}

// LoadRuleSet parses every file and compiles every document in it, and
// reports every problem at once in a *LoadError (a single problem is
// returned as itself): unreadable files, invalid documents, compile errors
// with line, column and snippet, cost over budget, duplicate id and version,
// malformed test cases. On any error no rule set is returned.
func (e *Env) LoadRuleSet(files ...File) (*RuleSet, error) {
	docs, maps, errs := parseFiles(files)
	s, err := e.newRuleSet(docs, maps)
	errs = append(errs, flattenLoad(err)...)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return s, nil
}

// flattenLoad lists the errors a *LoadError gathers, or err itself.
func flattenLoad(err error) []error {
	if err == nil {
		return nil
	}
	if le, ok := err.(*LoadError); ok {
		return le.Errs
	}
	return []error{err}
}

// NewRuleSet compiles docs into a rule set, reporting every problem at once
// as LoadRuleSet does. Documents built in Go have no file, so their errors
// give places within the expression only.
func (e *Env) NewRuleSet(docs ...Document) (*RuleSet, error) {
	return e.newRuleSet(docs, nil)
}

func (e *Env) newRuleSet(docs []Document, maps []*sourceMap) (*RuleSet, error) {
	s, errs := e.buildSet(docs, maps)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return s, nil
}

// buildSet compiles docs into a rule set holding every rule that compiles,
// and returns every problem found, so that Check can report each rule.
func (e *Env) buildSet(docs []Document, maps []*sourceMap) (*RuleSet, []error) {
	s := &RuleSet{env: e, byID: map[string][]*Rule{}, bound: map[*Rule][]binding{}}
	ts, errs := e.compileTables(docs, maps)
	type key struct {
		id string
		v  int
	}
	type first struct {
		source string
		at     pos
	}
	seen := map[key]first{}
	for i, d := range docs {
		m := mapOf(maps, i)
		if d.ID != "" {
			k := key{d.ID, d.Version}
			if f, dup := seen[k]; dup {
				where := ""
				switch {
				case f.source != "" && f.at.line > 0:
					where = fmt.Sprintf(" (first at %s:%d:%d)", f.source, f.at.line, f.at.column)
				case f.source != "":
					where = " (first in " + f.source + ")"
				}
				at := m.at("version")
				errs = append(errs, &DocumentError{Source: d.Source, RuleID: d.ID, Version: d.Version, Field: "version",
					Line: at.line, Column: at.column, Err: fmt.Errorf("duplicate id and version%s", where)})
				continue
			}
			seen[k] = first{d.Source, m.at("")}
		}
		if d.Kind == Table {
			continue // compiled above
		}
		r, err := e.compile(d, m, ts)
		if err != nil {
			errs = append(errs, flattenLoad(err)...)
			continue
		}
		r.set, r.base = s, r
		if ts != nil {
			bs, err := ts.bind(r)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if len(bs) > 0 {
				s.bound[r] = bs
			}
		}
		s.byID[r.ID()] = append(s.byID[r.ID()], r)
	}
	if ts != nil {
		for name, rs := range ts.byName {
			s.byID[name] = append(s.byID[name], rs...)
		}
	}
	errs = append(errs, versionProblems(docs, maps)...)
	for id, rs := range s.byID {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Version() < rs[j].Version() })
		s.ids = append(s.ids, id)
	}
	sort.Strings(s.ids)
	return s, errs
}

// boundAt returns r bound to the tables in force at t, or r itself when it
// reads none.
func (s *RuleSet) boundAt(r *Rule, t time.Time) *Rule {
	bs := s.bound[r]
	if len(bs) == 0 {
		return r
	}
	i := sort.Search(len(bs), func(i int) bool { return bs[i].from.After(t) })
	if i == 0 {
		return bs[0].rule
	}
	return bs[i-1].rule
}

// first returns r bound to the tables in force when it takes effect.
func (s *RuleSet) first(r *Rule) *Rule {
	if bs := s.bound[r]; len(bs) > 0 {
		return bs[0].rule
	}
	return r
}

// Env returns the environment the set's rules were compiled in, with the
// options it was built with (cost limits, TrustBounded): evaluating them
// needs Facts from its NewFacts, since facts of another environment are an
// error. A consumer that declares its own variables checks it to use the
// set as compiled instead of compiling the documents again.
func (s *RuleSet) Env() *Env { return s.env }

// Rules returns every rule, sorted by id and then version; a rule that
// reads tables is bound to the versions in force when it takes effect.
func (s *RuleSet) Rules() []*Rule {
	var out []*Rule
	for _, id := range s.ids {
		for _, r := range s.byID[id] {
			out = append(out, s.first(r))
		}
	}
	return out
}

// Rule returns the rule with the given id and version, bound to the table
// versions in force when it takes effect.
func (s *RuleSet) Rule(id string, version int) (*Rule, bool) {
	for _, r := range s.byID[id] {
		if r.Version() == version {
			return s.first(r), true
		}
	}
	return nil, false
}

// At returns the version of rule id in force at t: among the versions whose
// effective span contains t, the highest, bound to the versions of the
// tables it reads in force at t. An unknown id wraps
// ErrUnknownRule; no version in force wraps ErrNotInForce.
func (s *RuleSet) At(id string, t time.Time) (*Rule, error) {
	rs, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownRule, id)
	}
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].InForce(t) {
			return s.boundAt(rs[i], t), nil
		}
	}
	return nil, fmt.Errorf("%w: rule %q at %s", ErrNotInForce, id, t.UTC().Format(time.RFC3339))
}

// RunTests runs the test cases of every rule in the set, in id, version and
// case order, and returns a *TestError listing every failure with the rule
// id, version and case name, or nil when all pass. A consumer wires this
// into one Go test so that rule authors only write YAML.
func (s *RuleSet) RunTests(ctx context.Context) error {
	var fails []TestFailure
	for _, r := range s.Rules() {
		fails = append(fails, r.RunTests(ctx)...)
	}
	if len(fails) > 0 {
		return &TestError{Failures: fails}
	}
	return nil
}

// RunTests runs the rule's test cases and returns the failures, in case
// order.
func (r *Rule) RunTests(ctx context.Context) []TestFailure {
	var fails []TestFailure
	for i, tc := range r.doc.Tests {
		if msg := r.runCase(ctx, tc); msg != "" {
			at := r.src.at(ensemble.Path("tests", i))
			fails = append(fails, TestFailure{Source: r.doc.Source, Line: at.line, Column: at.column,
				RuleID: r.doc.ID, Version: r.doc.Version, Case: tc.Name, Message: msg})
		}
	}
	return fails
}

func (r *Rule) factsOf(tc TestCase) (*Facts, error) {
	f := r.env.NewFacts()
	names := make([]string, 0, len(tc.Facts))
	for n := range tc.Facts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := f.SetJSON(n, tc.Facts[n]); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// checkTests verifies, at compile time, that every test case's facts decode
// into the declared variables and its want fits the rule's kind.
func (r *Rule) checkTests() error {
	var errs []error
	for i, tc := range r.doc.Tests {
		field := ensemble.Path("tests", i)
		if !tc.At.IsZero() && !r.doc.inForce(tc.At) {
			errs = append(errs, r.fieldError(field+".at", fmt.Errorf("%s is outside the rule's effective span", tc.At.UTC().Format(time.RFC3339))))
		}
		f := r.env.NewFacts()
		for _, n := range slices.Sorted(maps.Keys(tc.Facts)) {
			if err := f.SetJSON(n, tc.Facts[n]); err != nil {
				errs = append(errs, r.fieldError(field+".facts."+n, r.env.factHint(n, err)))
			}
		}
		if len(tc.Want) > 0 {
			if _, err := r.decodeWant(tc.Want); err != nil {
				errs = append(errs, r.fieldError(field+".want", err))
			}
		}
	}
	return joinErrors(errs)
}

func (r *Rule) decodeWant(raw json.RawMessage) (Result, error) {
	res := Result{Kind: r.doc.Kind}
	var err error
	switch r.doc.Kind {
	case Condition:
		err = strictUnmarshal(raw, &res.Bool)
	case Share:
		var s string
		if err = strictUnmarshal(raw, &s); err != nil {
			err = fmt.Errorf("a share's want is a decimal string such as \"0.25\": %w", err)
			break
		}
		res.Decimal, err = ensemble.ParseDecimal(s)
	case Amount:
		if err = strictUnmarshal(raw, &res.Money); err != nil {
			err = fmt.Errorf(`an amount's want is money, such as {amount: "50.00", currency: EUR}: %w`, err)
		}
	case Policy:
		if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
			err = strictUnmarshal(raw, &res.Decision)
		} else {
			err = strictUnmarshal(raw, &res.Decision.Allowed)
			if err == nil && !res.Decision.Allowed {
				res.Decision.Reason = "\x00any"
			}
		}
	}
	return res, err
}

func (r *Rule) runCase(ctx context.Context, tc TestCase) string {
	if !tc.At.IsZero() && r.set != nil {
		// The tables the rule reads, as they are at the case's instant.
		r = r.set.boundAt(r.base, tc.At)
	}
	facts, err := r.factsOf(tc)
	if err != nil {
		return err.Error()
	}
	got, err := r.Eval(ctx, facts)
	if tc.WantError != "" {
		if err == nil {
			return fmt.Sprintf("got %s, want an error containing %q", describe(got), tc.WantError)
		}
		if !strings.Contains(err.Error(), tc.WantError) {
			return fmt.Sprintf("got error %q, want an error containing %q", err.Error(), tc.WantError)
		}
		return ""
	}
	if err != nil {
		return "unexpected error: " + err.Error()
	}
	want, err := r.decodeWant(tc.Want)
	if err != nil {
		return "bad want: " + err.Error()
	}
	if !resultsEqual(got, want) {
		return fmt.Sprintf("got %s, want %s", describe(got), describe(want))
	}
	return ""
}

func resultsEqual(got, want Result) bool {
	switch got.Kind {
	case Condition:
		return got.Bool == want.Bool
	case Share:
		return got.Decimal.Equal(want.Decimal)
	case Amount:
		return got.Money.Equal(want.Money)
	default:
		if got.Decision.Allowed != want.Decision.Allowed {
			return false
		}
		return want.Decision.Reason == "\x00any" || got.Decision.Reason == want.Decision.Reason
	}
}

func describe(r Result) string {
	switch r.Kind {
	case Condition:
		return fmt.Sprint(r.Bool)
	case Share:
		return r.Decimal.String()
	case Amount:
		return r.Money.String()
	default:
		if r.Decision.Allowed {
			return "allowed"
		}
		if r.Decision.Reason == "\x00any" {
			return "denied"
		}
		return fmt.Sprintf("denied (%q)", r.Decision.Reason)
	}
}
