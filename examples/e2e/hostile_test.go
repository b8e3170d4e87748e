package e2e_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// hostile returns malformed variants of a valid JSON document, by the class
// of input each one is: every loader must refuse each with a typed
// ensemble.DecodeError. The key variants insert a key before the document's
// first key, with null, which encoding/json alone would accept silently.
func hostile(t *testing.T, valid string) map[string]string {
	t.Helper()
	brace := strings.IndexByte(valid, '{')
	require.GreaterOrEqual(t, brace, 0)
	var first string
	dec := json.NewDecoder(strings.NewReader(valid[brace:]))
	_, _ = dec.Token()
	if tok, err := dec.Token(); err == nil {
		first, _ = tok.(string)
	}
	require.NotEmpty(t, first, "the document needs a key")
	insert := func(s string) string { return valid[:brace+1] + s + valid[brace+1:] }
	return map[string]string{
		"empty":            "",
		"utf8 bom":         "\xEF\xBB\xBF" + valid,
		"utf16 bom":        "\xFF\xFE" + valid,
		"utf32 bom":        "\x00\x00\xFE\xFF" + valid,
		"invalid utf8":     insert(`"caf` + "\xE9" + `":null,`),
		"trailing garbage": valid + " }",
		"second value":     valid + "\n" + valid,
		"duplicate key":    insert(`"` + first + `":null,`),
		"case-variant key": insert(`"` + strings.ToUpper(first) + `":null,`),
	}
}

func quickstartJSON(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile("../quickstart/data/" + file)
	require.NoError(t, err)
	js, err := ensemble.YAMLToJSON(data)
	require.NoError(t, err)
	return string(js)
}

// TestEveryLoaderIsStrict feeds each class of malformed document to every
// loader, through the public API: each is refused with an error that is an
// ensemble.DecodeError, and the valid document still loads.
func TestEveryLoaderIsStrict(t *testing.T) {
	env, err := settlement.Env()
	require.NoError(t, err)
	state, err := json.Marshal(settlement.State{})
	require.NoError(t, err)
	loaders := []struct {
		name  string
		valid string
		load  func([]byte) error
	}{
		{"catalog.Load", quickstartJSON(t, "catalog.yaml"), func(b []byte) error { _, err := catalog.Load(b); return err }},
		{"catalog.LoadYAML", quickstartJSON(t, "catalog.yaml"), func(b []byte) error { _, err := catalog.LoadYAML(b); return err }},
		{"partner.LoadNetwork", quickstartJSON(t, "network.yaml"), func(b []byte) error { _, err := partner.LoadNetwork(b); return err }},
		{"rules.ParseDocuments", quickstartJSON(t, "settlement-rules.yaml"), func(b []byte) error { _, err := rules.ParseDocuments(b); return err }},
		{"rules.Env.LoadRuleSet", quickstartJSON(t, "settlement-rules.yaml"), func(b []byte) error {
			_, err := env.LoadRuleSet(rules.File{Name: "r.json", Data: b})
			return err
		}},
		{"settlement.ParsePlans", quickstartJSON(t, "plans.yaml"), func(b []byte) error { _, err := settlement.ParsePlans(b); return err }},
		{"settlement.State", string(state), func(b []byte) error { var s settlement.State; return ensemble.DecodeJSON("state", b, &s) }},
		{"invoice.DecodeInput", `{"run":{"at":"2026-01-01T00:00:00Z"},"subscriptions":[]}`, func(b []byte) error { _, err := invoice.DecodeInput(b); return err }},
		{"order.DecodeCommand", `{"kind":"accept"}`, func(b []byte) error { _, err := order.DecodeCommand(b); return err }},
		{"ensemble.Money", `{"amount":"12.30","currency":"EUR"}`, func(b []byte) error { var m ensemble.Money; return ensemble.DecodeJSON("money", b, &m) }},
	}
	for _, l := range loaders {
		t.Run(l.name, func(t *testing.T) {
			require.NoError(t, l.load([]byte(l.valid)), "the valid document loads")
			for class, doc := range hostile(t, l.valid) {
				err := l.load([]byte(doc))
				require.Error(t, err, class)
				var de *ensemble.DecodeError
				if !errors.As(err, &de) {
					t.Errorf("%s: %s: untyped error %T: %v", l.name, class, err, err)
				}
			}
		})
	}
}
