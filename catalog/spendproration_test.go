package catalog_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// TestSpendProrationField: a usage price with a minimum spend reads and
// writes spend_proration ("whole", the default, left out; "service"), and
// the catalog refuses it where it would mean nothing, naming the path: on
// a recurring charge, on a price without a minimum or maximum spend, or
// with a name it does not know.
func TestSpendProrationField(t *testing.T) {
	p := catalog.Price{Model: catalog.PerUnit, Amount: dec("0.01"), MinimumSpend: dec("5"), SpendProration: catalog.SpendService}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	require.JSONEq(t, `{"model":"per_unit","amount":"0.01","minimum_spend":"5","spend_proration":"service"}`, string(b))
	var back catalog.Price
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, catalog.SpendService, back.SpendProration)
	p.SpendProration = catalog.SpendWhole
	b, err = json.Marshal(p)
	require.NoError(t, err)
	require.NotContains(t, string(b), "spend_proration", "the default is left out")

	doc := `
offers:
  - id: security
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: scans, type: usage, meter: scans, price: {model: per_unit, amount: "0.01", minimum_spend: "5", spend_proration: service}}
      - {id: capped, type: usage, meter: alerts, price: {model: per_unit, amount: "0.01", maximum_spend: "50", spend_proration: service}}
      - {id: seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "3", minimum_spend: "5", spend_proration: service}}
      - {id: plain, type: usage, meter: logs, price: {model: per_unit, amount: "0.01", spend_proration: service}}
`
	_, err = catalog.LoadYAML([]byte(doc))
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	paths := map[string]error{}
	for _, p := range ve.Problems {
		paths[p.Path] = p.Err
	}
	require.Len(t, paths, 2, "%v", err)
	require.ErrorIs(t, paths["offers[0].charges[2].price.spend_proration"], catalog.ErrFieldNotAllowed, "a recurring charge")
	require.ErrorIs(t, paths["offers[0].charges[3].price.spend_proration"], catalog.ErrFieldNotAllowed, "no minimum or maximum spend")

	_, err = catalog.LoadYAML([]byte(`
offers:
  - id: security
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: scans, type: usage, meter: scans, price: {model: per_unit, amount: "0.01", minimum_spend: "5", spend_proration: prorated}}
`))
	var de *ensemble.DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, "offers[0].charges[0].price.spend_proration", de.Path)
	require.True(t, errors.Is(err, ensemble.ErrUnknownEnum), "%v", err)
}
