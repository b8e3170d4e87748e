package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	quickstartRules = "../quickstart/data/settlement-rules.yaml"
	quickstartPlans = "../quickstart/data/plans.yaml"
)

// TestRulecheck runs the command on good and broken rule and plan files and
// compares its report and exit status with golden files, so the example
// (and the README that quotes it) never rots.
func TestRulecheck(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		exit   int
		golden string
	}{
		{"partner channel rules", []string{"-env", "partner", "../../partner/testdata/rules.yaml"}, exitOK, "channel"},
		{"broken rules", []string{"-env", "partner", "testdata/broken.yaml"}, exitFail, "broken"},
		{"the mistakes authors make", []string{"-env", "settlement", "testdata/mistakes.yaml"}, exitFail, "mistakes"},
		{"a table and versions", []string{"-env", "settlement", "testdata/rates.yaml"}, exitOK, "rates"},
		{"a shadowed version and a gap", []string{"-env", "settlement", "testdata/shadowed.yaml"}, exitFail, "shadowed"},
		{"quickstart plans", []string{"-plans", quickstartPlans, quickstartRules}, exitOK, "plans"},
		{"over-allocating plan", []string{"-plans", "testdata/bad-plans.yaml", quickstartRules}, exitFail, "bad-plans"},
		{"plans when the rules do not load", []string{"-plans", "testdata/plans-a.yaml", "testdata/shadowed.yaml"}, exitFail, "unvalidated"},
		{"partner typos in plans", []string{"-plans", "testdata/partner-plans.yaml", "-network", "testdata/network.yaml"}, exitFail, "network"},
		{"two plan files that tie", []string{"-plans", "testdata/plans-a.yaml", "-plans", "testdata/plans-b.yaml"}, exitFail, "tie"},
		{"each of them alone", []string{"-plans", "testdata/plans-b.yaml"}, exitOK, "tie-alone"},
		{"a plan version hidden from another file", []string{"-plans", "testdata/plans-a.yaml,testdata/plans-v2.yaml"}, exitFail, "hidden-plan"},
		{"warnings pass", []string{"-plans", "../multitier/data/plans.yaml", "../multitier/data/settlement-rules.yaml", quickstartRules}, exitOK, "warnings"},
		{"a currency the tiers cannot read", []string{"-plans", "testdata/fx-plans.yaml", "-rates", "testdata/fx-rates.yaml"}, exitFail, "fx"},
		{"currencies without rates", []string{"-plans", "testdata/fx-plans.yaml"}, exitFail, "fx-no-rates"},
		{"rates a settler refuses", []string{"-plans", "testdata/fx-plans.yaml", "-rates", "testdata/fx-bad-rates.yaml"}, exitFail, "fx-bad-rates"},
		{"retroactive tiers and other currencies", []string{"-plans", "testdata/retro-fx-plans.yaml", "-rates", "testdata/retro-fx-rates.yaml"}, exitFail, "retro-fx"},
		{"warnings fail with -strict", []string{"-strict", "-env", "partner", "../../partner/testdata/rules.yaml"}, exitFail, "strict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(context.Background(), tt.args, &stdout, &stderr)
			require.Empty(t, stderr.String())
			require.Equal(t, tt.exit, got, "exit status\n%s", stdout.String())
			golden(t, filepath.Join("testdata", tt.golden+".golden"), stdout.Bytes())
		})
	}
}

// golden compares got with the file, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(name, got, 0o644))
	}
	want, err := os.ReadFile(name)
	require.NoError(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (go test ./examples/rulecheck -update to accept):\n%s", name, got)
	}
}

// TestPlansFlag: -plans repeated and -plans with commas name the same files.
func TestPlansFlag(t *testing.T) {
	var repeated, commas bytes.Buffer
	a := run(context.Background(), []string{"-plans", "testdata/plans-a.yaml", "-plans", "testdata/plans-b.yaml"}, &repeated, &bytes.Buffer{})
	b := run(context.Background(), []string{"-plans", "testdata/plans-a.yaml,testdata/plans-b.yaml"}, &commas, &bytes.Buffer{})
	require.Equal(t, a, b)
	require.Equal(t, repeated.String(), commas.String())
}

// report is the -json output as CI reads it.
type report struct {
	OK    bool `json:"ok"`
	Rules struct {
		Rules []struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
			Source  string `json:"source"`
			Line    int    `json:"line"`
			OK      bool   `json:"ok"`
			Tests   []struct {
				Name string `json:"name"`
				Pass bool   `json:"pass"`
				Line int    `json:"line"`
			} `json:"tests"`
		} `json:"rules"`
		Problems []diagnostic `json:"problems"`
		Warnings []diagnostic `json:"warnings"`
	} `json:"rules"`
	Plans []struct {
		File    string `json:"file"`
		ID      string `json:"id"`
		Version int    `json:"version"`
		OK      bool   `json:"ok"`
	} `json:"plans"`
	Problems []diagnostic `json:"problems"`
	Warnings []diagnostic `json:"warnings"`
}

type diagnostic struct {
	Severity string `json:"severity"`
	Source   string `json:"source"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	RuleID   string `json:"rule_id"`
	Field    string `json:"field"`
	Message  string `json:"message"`
	Hint     string `json:"hint"`
	Snippet  string `json:"snippet"`
}

// TestJSON reads the -json output back as CI would: the gate's result,
// every problem placed in its file, and the fields in a fixed order.
func TestJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-json", "-plans", "testdata/partner-plans.yaml", "-network", "testdata/network.yaml",
		"testdata/shadowed.yaml", "testdata/mistakes.yaml"}, &stdout, &stderr)
	require.Equal(t, exitFail, code)
	require.Empty(t, stderr.String())

	// One object, its fields in the documented order.
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	var keys []string
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	require.Equal(t, []string{"ok", "rules", "plans", "problems", "warnings"}, keys)

	var r report
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &r))
	require.False(t, r.OK)

	// Rule problems are placed in their files, with the file's line.
	require.NotEmpty(t, r.Rules.Problems)
	for _, p := range r.Rules.Problems {
		require.Equal(t, "error", p.Severity)
		require.Contains(t, []string{"testdata/shadowed.yaml", "testdata/mistakes.yaml"}, p.Source)
		require.Positive(t, p.Line, "%+v", p)
		require.Positive(t, p.Column, "%+v", p)
		require.NotEmpty(t, p.RuleID)
		require.Contains(t, p.Snippet, "^")
	}
	var shadow diagnostic
	for _, p := range r.Rules.Problems {
		if strings.Contains(p.Message, "is never in force") {
			shadow = p
		}
	}
	require.Equal(t, [3]any{"testdata/shadowed.yaml", 17, 19}, [3]any{shadow.Source, shadow.Line, shadow.Column})
	require.Equal(t, "distributor-share", shadow.RuleID)
	require.Contains(t, shadow.Snippet, "effective_from: 2025-07-01T00:00:00Z")

	// The failing test case says where it is.
	var failing int
	for _, rr := range r.Rules.Rules {
		for _, c := range rr.Tests {
			if !c.Pass {
				failing++
				require.Equal(t, "wrong-want", rr.ID)
				require.Equal(t, 82, c.Line)
			}
		}
	}
	require.Equal(t, 1, failing)

	// Plans: the network typo placed at the party, with the suggestion;
	// the tiers' warning.
	require.Len(t, r.Plans, 2)
	require.Equal(t, "testdata/partner-plans.yaml", r.Plans[0].File)
	require.False(t, r.Plans[0].OK)
	require.Len(t, r.Problems, 4, "two typos, and the two plans not validated against rules that do not load")
	typo := r.Problems[0]
	require.Equal(t, [3]any{"testdata/partner-plans.yaml", 12, 27}, [3]any{typo.Source, typo.Line, typo.Column})
	require.Equal(t, "plan alliance@1: root.children[2].party", typo.Field)
	require.Equal(t, "did you mean partner:distri-eu?", typo.Hint)
	require.Len(t, r.Warnings, 1)
	require.Equal(t, "warning", r.Warnings[0].Severity)
	require.Contains(t, r.Warnings[0].Message, "the cumulative tiers are in EUR")
}

// TestStrictJSON: with -strict a warning alone fails the gate, in JSON too.
func TestStrictJSON(t *testing.T) {
	for _, strict := range []bool{false, true} {
		args := []string{"-json", "-env", "partner", "../../partner/testdata/rules.yaml"}
		want := exitOK
		if strict {
			args, want = append([]string{"-strict"}, args...), exitFail
		}
		var stdout bytes.Buffer
		require.Equal(t, want, run(context.Background(), args, &stdout, &bytes.Buffer{}))
		var r report
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &r))
		require.Equal(t, !strict, r.OK)
		require.Len(t, r.Rules.Warnings, 3)
		require.Empty(t, r.Rules.Problems)
	}
}

// TestUsage: a wrong command line exits 2 and says why on stderr.
func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no files", nil, "no rule files given"},
		{"unknown flag", []string{"-nope", "a.yaml"}, "flag provided but not defined: -nope"},
		{"unknown environment", []string{"-env", "nope", "a.yaml"}, `unknown environment "nope" (want one of partner, settlement)`},
		{"unreadable file", []string{"testdata/missing.yaml"}, "testdata/missing.yaml: no such file or directory"},
		{"unreadable plans", []string{"-plans", "testdata/missing.yaml"}, "testdata/missing.yaml: no such file or directory"},
		{"plans in the partner environment", []string{"-env", "partner", "-plans", "testdata/plans-a.yaml"}, "-plans checks settlement plans: their rules are written for -env settlement, not partner"},
		{"network without plans", []string{"-network", "testdata/network.yaml", "testdata/rates.yaml"}, "-network checks the partners plans pay: give the plans with -plans"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.Equal(t, exitUsage, run(context.Background(), tt.args, &stdout, &stderr))
			require.Empty(t, stdout.String())
			require.Contains(t, stderr.String(), tt.want)
		})
	}
	var stderr bytes.Buffer
	require.Equal(t, exitOK, run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &stderr))
	require.True(t, strings.HasPrefix(stderr.String(), usageLine))
}

// TestBrokenInputsArePlaced: plan and network files that do not decode
// are reported in their own coordinates, never in those of the JSON the
// YAML was converted to.
func TestBrokenInputsArePlaced(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	plans := write("plans.yaml", "- id: a\n  version: 1\n  root: {id: r, party: platform, extra: 1}\n")
	network := write("network.yaml", "partners:\n  - id: x\n    nmae: y\n")
	badParent := write("parent.yaml", "partners:\n  - id: x\n    name: X\n    type: reseller\n    terms:\n      - {from: 2025-01-01T00:00:00Z, parent: y}\n")
	syntax := write("syntax.yaml", "- id: a\n  version: [\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown plan field", []string{"-plans", plans}, plans + `:3:34: error: plan a@1: node "r": json: unknown field "extra"`},
		{"unknown network field", []string{"-plans", "testdata/plans-a.yaml", "-network", network}, network + `:3:5: error: partners[0].nmae: unknown field "nmae"`},
		{"network problem at a path", []string{"-plans", "testdata/plans-a.yaml", "-network", badParent}, badParent + `:6:46: error: partners[0].terms[0].parent: unknown parent "y"`},
		{"YAML syntax", []string{"-plans", syntax}, syntax + ":"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			require.Equal(t, exitFail, run(context.Background(), tt.args, &stdout, &bytes.Buffer{}))
			require.Contains(t, stdout.String(), "\n"+tt.want, stdout.String())
		})
	}
}

func TestNearest(t *testing.T) {
	ids := []string{"distri-eu", "reseller-nl", "reseller-de", "acme-tech"}
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"distri-ue", []string{"distri-eu"}},     // two letters swapped
		{"reseller-nk", []string{"reseller-nl"}}, // the nearest only
		{"Acme-Tech", []string{"acme-tech"}},
		{"globex", nil},
	} {
		require.Equal(t, tt.want, ensemble.Nearest(tt.name, ids), tt.name)
	}
}

// TestReadmeQuotesRealOutput: every report the README quotes (its ```text
// blocks) is still, line for line, part of what rulecheck prints for one
// of the golden cases above.
func TestReadmeQuotesRealOutput(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	goldens, err := filepath.Glob("testdata/*.golden")
	require.NoError(t, err)
	var outputs []string
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		require.NoError(t, err)
		outputs = append(outputs, string(b))
	}
	blocks := strings.Split(string(readme), "```text\n")[1:]
	require.NotEmpty(t, blocks)
	for _, b := range blocks {
		quote, _, ok := strings.Cut(b, "```")
		require.True(t, ok, "unclosed block")
		found := false
		for _, o := range outputs {
			found = found || strings.Contains(o, quote)
		}
		require.True(t, found, "the README quotes output that no golden file holds:\n%s", quote)
	}
}

// FuzzPlace: placing a path in any document never panics, and a place it
// gives is inside the document.
func FuzzPlace(f *testing.F) {
	plans, err := os.ReadFile("testdata/partner-plans.yaml")
	require.NoError(f, err)
	f.Add(plans, 1, "root.children[0].share.cumulative.tiers[0].up_to", "of")
	f.Add(plans, 0, "root.children[9].party", "party")
	f.Add([]byte("a: &x {b: [1, *x]}\n"), -1, "a.b[1].b[0]", "b")
	f.Add([]byte(`"": {"": 1}`), -1, "..[0]", "")
	f.Fuzz(func(t *testing.T, data []byte, i int, path, key string) {
		d := parseYAML(data)
		lines := len(d.lines)
		for _, at := range [][2]int{
			func() [2]int { l, c := d.place(i, path); return [2]int{l, c} }(),
			func() [2]int { l, c := d.findKey(i, key); return [2]int{l, c} }(),
		} {
			if at[0] < 0 || at[0] > lines || (at[0] > 0 && at[1] < 1) {
				t.Fatalf("place %v outside a document of %d lines", at, lines)
			}
			_ = d.snippet(at[0], at[1])
		}
		_ = d.scalar(i, key)
	})
}

// TestHostPlatformNotReported: settlement.New refuses a settler whose
// platform id is not the network's platform (ErrPlatformParty), but that
// id is the host's Config.Platform, which rulecheck does not know: the
// telco network's platform is "orbit", and its plans pass.
func TestHostPlatformNotReported(t *testing.T) {
	var stdout, stderr bytes.Buffer
	got := run(context.Background(), []string{"-plans", "../telco/data/plans.yaml", "-network", "../telco/data/network.yaml",
		"../telco/data/settlement-rules.yaml"}, &stdout, &stderr)
	require.Equal(t, exitOK, got, "%s%s", stdout.String(), stderr.String())
	require.NotContains(t, stdout.String(), "platform party")
}
