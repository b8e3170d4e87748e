package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestDecodeLineIsStrict: DecodeLine accepts and refuses exactly what
// ensemble.DecodeJSON does, with the same line or the same error, on the
// generated lines as writeLines writes them and on respellings of them:
// some DecodeJSON accepts (spaces, fewer fields, a key in another case, an
// amount with a trailing zero or as a JSON number) and some it refuses (a
// key twice, an unknown field, data after the value).
// amountText is an amount's decimal text, quoted.
var amountText = regexp.MustCompile(`"amount":"([^"]*)"`)

func TestDecodeLineIsStrict(t *testing.T) {
	respell := []func(string) string{
		func(s string) string { return s },
		func(s string) string { return " " + strings.ReplaceAll(s, `,"`, `, "`) + "\n" },
		func(s string) string { return `{"offer":` + s[strings.Index(s, `"offer":`)+8:] }, // fields dropped: amount, date, id
		func(s string) string { return strings.Replace(s, `"id":`, `"id":"X","id":`, 1) },
		func(s string) string { return strings.Replace(s, `"id":`, `"ID":`, 1) },
		func(s string) string { return strings.Replace(s, `{"id":`, `{"idd":1,"id":`, 1) },
		func(s string) string { return amountText.ReplaceAllString(s, `"amount":$1`) },
		func(s string) string { return strings.Replace(s, `","currency"`, `0","currency"`, 1) },
		func(s string) string { return s + `{}` },
		func(s string) string {
			return strings.Replace(s, `"currency":"EUR"`, `"currency":"EUR","currency":"EUR"`, 1)
		},
	}
	const n = 300
	lines := generateMonth(n)
	lines = append(lines, settlement.Line{ID: "bare", Amount: ensemble.MustMoney("1.00", "EUR")}, settlement.Line{})
	accepted, refused := 0, 0
	for _, l := range lines {
		canonical, err := json.Marshal(l)
		require.NoError(t, err)
		for i, f := range respell {
			text := []byte(f(string(canonical)))
			var want settlement.Line
			wantErr := ensemble.DecodeJSON("settlement line", text, &want)
			got, err := DecodeLine(text)
			if wantErr != nil {
				require.EqualError(t, err, wantErr.Error(), "respelling %d of %s", i, canonical)
				refused++
				continue
			}
			require.NoError(t, err, "respelling %d of %s", i, canonical)
			requireSameJSON(t, want, got)
			accepted++
		}
	}
	require.GreaterOrEqual(t, accepted, 3*n, "each generated line is accepted at least as written, spaced and with a trailing zero")
	require.GreaterOrEqual(t, refused, 4*n, "each generated line is refused respelled at least four ways")
}
