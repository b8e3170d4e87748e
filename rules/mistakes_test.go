package rules_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/rules"
)

// TestAuthorMistakes: each mistake rule authors make, as a one-rule file,
// with the exact first line of the message (file:line:col in the file's own
// coordinates) and the hint that fixes it.
func TestAuthorMistakes(t *testing.T) {
	tests := []struct {
		name, kind, expr string
		envVersion       int
		want, hint       string
	}{
		{"slash", "share", `dec("1") / dec("3")`, 1,
			`rules.yaml:5:22: rule "r" v1 expression 1:10: there is no / in rules: divide with div, which says its scale and rounding (between ints / would truncate: 25 / 2 is 12)`,
			`write dec("1").div(dec("3"), 4): 4 digits after the point (for money, its currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD); a rounding mode may follow, such as "half_even"`},
		// Between ints CEL's / truncates: percent(25 / 2) would be 12%.
		{"slash between ints", "share", `percent(25 / 2)`, 1,
			`rules.yaml:5:24: rule "r" v1 expression 1:12: there is no / in rules: divide with div, which says its scale and rounding (between ints / would truncate: 25 / 2 is 12)`,
			`write dec("25").div(dec("2"), 4): 4 digits after the point (for money, its currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD); a rounding mode may follow, such as "half_even"`},
		{"slash on money", "amount", `line.amount / 2`, 1,
			`rules.yaml:5:25: rule "r" v1 expression 1:13: there is no / in rules: divide with div, which says its scale and rounding (between ints / would truncate: 25 / 2 is 12)`,
			`write line.amount.div(dec("2"), 4): 4 digits after the point (for money, its currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD); a rounding mode may follow, such as "half_even"`},
		{"double literal", "amount", `line.amount * 0.15`, 1,
			`rules.yaml:5:27: rule "r" v1 expression 1:15: double literal 0.15 is not allowed: rules compute with exact decimals`,
			`write dec("0.15")`},
		{"double in percent keeps its value", "share", `percent(0.15)`, 1,
			`rules.yaml:5:21: rule "r" v1 expression 1:9: double literal 0.15 is not allowed: rules compute with exact decimals`,
			`percent takes a number of percent: if you meant 15%, write percent("15") or dec("0.15"); if you meant 0.15%, write percent("0.15")`},
		{"double in money", "amount", `money(10.5, "EUR")`, 1,
			`rules.yaml:5:19: rule "r" v1 expression 1:7: double literal 10.5 is not allowed: rules compute with exact decimals`,
			`write the amount as a string: money("10.5", ...)`},
		{"money compared with a number", "condition", `line.amount > 100`, 1,
			`rules.yaml:5:25: rule "r" v1 expression 1:13: found no matching overload for '_>_' applied to '(money, int)'`,
			`money compares with money of the same currency: line.amount > money("100", line.amount.currency()), or compare its amount: line.amount.amount() > dec("100")`},
		{"money compared with a decimal", "condition", `line.amount >= dec("99.5")`, 1,
			`rules.yaml:5:25: rule "r" v1 expression 1:13: found no matching overload for '_>=_' applied to '(money, decimal)'`,
			`money compares with money of the same currency: line.amount >= money("99.5", line.amount.currency()), or compare its amount: line.amount.amount() >= dec("99.5")`},
		{"int beside a decimal", "share", `percent(10) * 2`, 1,
			`rules.yaml:5:25: rule "r" v1 expression 1:13: found no matching overload for '_*_' applied to '(decimal, int)'`,
			`decimals do not mix with int: write dec("2")`},
		{"function of a later env_version", "amount", `line.amount.abs()`, 1,
			`rules.yaml:5:28: rule "r" v1 expression 1:16: undeclared reference to 'abs'`,
			`abs is introduced at env_version 2: set env_version: 2 in the document (this one says 1)`},
		{"misspelled field", "condition", `partner.teir == "gold"`, 1,
			`rules.yaml:5:20: rule "r" v1 expression 1:8: undefined field 'teir'`,
			`did you mean 'tier'?`},
		{"misspelled field of a list element", "condition", `order.lines.all(l, l.amout > line.amount)`, 1,
			`rules.yaml:5:33: rule "r" v1 expression 1:21: undefined field 'amout'`,
			`did you mean 'amount'?`},
		{"misspelled variable", "condition", `partnr.tier == "gold"`, 1,
			`rules.yaml:5:13: rule "r" v1 expression 1:1: undeclared reference to 'partnr' (did you mean 'partner'?)`, ``},
		{"share returning money", "share", `line.amount * percent(30)`, 1,
			`rules.yaml:5:13: rule "r" v1 expression 1:1: a share rule must be of type decimal, not money`,
			`a share is a ratio such as percent(30) or dec("0.25"), applied to the amount by whoever reads it; to pay a fixed sum, make it an amount rule (kind: amount); for the ratio of two sums, write a.div(b, 6)`},
		{"amount returning a decimal", "amount", `percent(30)`, 1,
			`rules.yaml:5:13: rule "r" v1 expression 1:1: an amount rule must be of type money, not decimal`,
			`an amount is money: multiply money by the ratio (line.amount * percent(30)), or write money(x, "EUR")`},
		// A literal is parsed when the rule is compiled, also where the
		// currency is read per line: a bad one fails the load, naming the
		// rule, never an evaluation.
		{"bad money literal with a currency read per line", "amount", `money("10,5", line.currency)`, 1,
			`rules.yaml:5:19: rule "r" v1 expression 1:7: invalid money amount: ensemble: parse decimal "10,5": want plain decimal notation such as 12.30`, ``},
		{"bad decimal literal in a comprehension", "condition", `order.lines.all(l, l.amount.amount() > dec("1e3"))`, 1,
			`rules.yaml:5:56: rule "r" v1 expression 1:44: invalid decimal literal: ensemble: parse decimal "1e3": want plain decimal notation such as 12.30`, ``},
		{"fixed currencies that differ", "amount", `money("1", "EUR") + money("1", "USD")`, 1,
			`rules.yaml:5:31: rule "r" v1 expression 1:19: currency mismatch: EUR + USD fails whenever it is evaluated: money only meets money of the same currency`, ``},
	}
	env := mustEnv()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("id: r\nversion: 1\nkind: %s\nenv_version: %d\nexpression: %s\n", tt.kind, tt.envVersion, tt.expr)
			if strings.ContainsAny(tt.expr, ":#") || strings.HasPrefix(tt.expr, "\"") {
				src = fmt.Sprintf("id: r\nversion: 1\nkind: %s\nenv_version: %d\nexpression: '%s'\n", tt.kind, tt.envVersion, tt.expr)
			}
			_, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: []byte(src)})
			var ce *rules.CompileError
			require.ErrorAs(t, err, &ce)
			lines := strings.Split(err.Error(), "\n")
			require.Equal(t, "rules: "+tt.want, lines[0])
			require.Equal(t, tt.hint, ce.Issues[0].Hint)
			if tt.hint != "" {
				require.Contains(t, err.Error(), "\n hint: "+tt.hint)
			}
			// The snippet is the file's own line with the caret under the
			// column the message names.
			require.Contains(t, ce.Issues[0].Snippet, "expression: ")
			caret := lines[2]
			require.Equal(t, ce.Issues[0].DocColumn, len(caret)-len(" | "), "caret column")
		})
	}
}

// TestDocumentMistakes: mistakes in a document's fields, placed and
// explained.
func TestDocumentMistakes(t *testing.T) {
	env := mustEnv()
	tests := []struct{ name, src, want string }{
		{"a date without its time", "id: r\nversion: 1\nkind: condition\nenv_version: 1\neffective_from: 2026-07-01\nexpression: 'true'\n",
			`rules: f.yaml:5:17: rule "r" v1: effective_from: "2026-07-01" is not an instant: write it with its time and zone, such as 2026-07-01T00:00:00Z (a date alone does not say in which zone the day starts)`},
		{"a misspelt field", "id: r\nversion: 1\nkind: condition\nenv_version: 1\neffectve_from: 2026-07-01T00:00:00Z\nexpression: 'true'\n",
			`rules: f.yaml:5:1: rule "r" v1: effectve_from: json: unknown field "effectve_from" (did you mean 'effective_from'?)`},
		{"a misspelt test field", "id: r\nversion: 1\nkind: condition\nenv_version: 1\nexpression: 'true'\ntests: [{name: a, wnat: true}]\n",
			`(did you mean 'want'?)`},
		{"a money want written as text", "id: r\nversion: 1\nkind: amount\nenv_version: 1\nexpression: 'line.amount'\ntests: [{name: a, want: EUR 50.00}]\n",
			`an amount's want is money, such as {amount: "50.00", currency: EUR}`},
		{"validation names the rule once", "id: r\nversion: 1\nkind: condition\nenv_version: 9\nexpression: 'true'\n",
			`rules: f.yaml:4:14: rule "r" v1: env_version: must be 1 to 3, got 9`},
		{"a folded expression is placed at its start", "id: r\nversion: 1\nkind: condition\nenv_version: 1\nexpression: >\n  line.nope\n  == 1\n",
			`rules: f.yaml:6:3: rule "r" v1 expression 1:5: undefined field 'nope'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.LoadRuleSet(rules.File{Name: "f.yaml", Data: []byte(tt.src)})
			require.ErrorContains(t, err, tt.want)
		})
	}
}
