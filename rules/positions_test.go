package rules_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/rules"
)

// TestPropertyEveryErrorIsPlaced: whatever is wrong in a rule file, every
// error LoadRuleSet returns for it carries a place inside the file (line
// from 1 to the file's last, column from 1), so an author is never left to
// search.
var placedErrors int

func TestPropertyEveryErrorIsPlaced(t *testing.T) {
	env := mustEnv(rules.SizeHint("order.flags", 10))
	exprs := []string{
		`partner.tier == "gold"`, `percent(30)`, `line.amount * 0.15`, `dec("1") / dec("3")`, `line.amount > 100`,
		`partner.teir == "x"`, `line.amount`, `money("1", "EUR") + money("1", "USD")`, `line.amount.abs()`,
		`order.lines.all(a, order.lines.all(b, a.id != b.id))`, `rates["gold"]`, `(`, `dec("1e3")`, `true`,
	}
	kinds := []string{"condition", "share", "amount", "policy", "table", "rate"}
	dates := []string{"", "2026-01-01T00:00:00Z", "2025-07-01T00:00:00Z", "2026-13-01", "soon"}
	styles := []string{"plain", "single", "double", "block"}
	rapid.Check(t, func(t *rapid.T) {
		var b strings.Builder
		n := rapid.IntRange(1, 4).Draw(t, "docs")
		for i := range n {
			id := rapid.SampledFrom([]string{"r", "rates", "s", "a@b"}).Draw(t, "id")
			fmt.Fprintf(&b, "- id: %s\n", id)
			fmt.Fprintf(&b, "  version: %d\n", rapid.IntRange(0, 3).Draw(t, "version"))
			fmt.Fprintf(&b, "  kind: %s\n", rapid.SampledFrom(kinds).Draw(t, "kind"))
			fmt.Fprintf(&b, "  env_version: %d\n", rapid.IntRange(0, 3).Draw(t, "env"))
			if d := rapid.SampledFrom(dates).Draw(t, "from"); d != "" {
				fmt.Fprintf(&b, "  effective_from: %s\n", d)
			}
			if rapid.Bool().Draw(t, "continuous") {
				b.WriteString("  continuous: true\n")
			}
			if rapid.IntRange(0, 9).Draw(t, "typo") == 0 {
				b.WriteString("  expresion: oops\n")
			}
			expr := rapid.SampledFrom(exprs).Draw(t, "expr")
			switch rapid.SampledFrom(styles).Draw(t, "style") {
			case "plain":
				if strings.ContainsAny(expr, `:#"'[{`) || strings.HasPrefix(expr, "(") {
					fmt.Fprintf(&b, "  expression: '%s'\n", strings.ReplaceAll(expr, "'", "''"))
				} else {
					fmt.Fprintf(&b, "  expression: %s\n", expr)
				}
			case "single":
				fmt.Fprintf(&b, "  expression: '%s'\n", strings.ReplaceAll(expr, "'", "''"))
			case "double":
				fmt.Fprintf(&b, "  expression: \"%s\"\n", strings.ReplaceAll(expr, `"`, `\"`))
			case "block":
				fmt.Fprintf(&b, "  expression: |\n    %s\n", expr)
			}
			if rapid.Bool().Draw(t, "tests") {
				b.WriteString("  tests:\n")
				fmt.Fprintf(&b, "    - name: c%d\n", i)
				b.WriteString(rapid.SampledFrom([]string{
					"      want: true\n", "      want: \"0.3\"\n", "      want_error: x\n", "      facts: {nobody: {}}\n      want: true\n",
					"      facts: {partner: {tier: 3}}\n      want: true\n", "",
				}).Draw(t, "case"))
			}
		}
		src := b.String()
		lines := strings.Count(src, "\n") + 1
		_, err := env.LoadRuleSet(rules.File{Name: "f.yaml", Data: []byte(src)})
		if err != nil {
			placedErrors++
		}
		for _, d := range rules.Diagnostics(err) {
			require.True(t, d.Line >= 1 && d.Line <= lines && d.Column >= 1, "not placed: %s\n%s", d, src)
			require.Equal(t, "f.yaml", d.Source)
		}
	})
	// The generator makes broken files most of the time.
	require.Positive(t, placedErrors)
}

// TestLoadLeavesTheFileAlone: loading a JSON list of rules neither changes
// the caller's bytes nor misplaces errors (encoding/json once wrote the
// first item over the file).
func TestLoadLeavesTheFileAlone(t *testing.T) {
	src := "[\n {\"id\": \"r\", \"version\": 1, \"kind\": \"condition\", \"env_version\": 1,\n  \"expression\": \"line.nope\"}\n]"
	data := []byte(src)
	_, err := mustEnv().LoadRuleSet(rules.File{Name: "f.json", Data: data})
	require.Equal(t, src, string(data))
	require.ErrorContains(t, err, `rules: f.json:3:22: rule "r" v1 expression 1:5: undefined field 'nope'`)
	require.ErrorContains(t, err, "\n |   \"expression\": \"line.nope\"}\n")
}
