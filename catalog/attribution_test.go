package catalog_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/catalog"
)

// A usage charge can name the record attribute its usage is attributed
// to (the trial's "each record names the contractor who did the hours");
// it survives loading and round-trips.
func TestUsageChargeAttributeTo(t *testing.T) {
	c, err := catalog.LoadYAML([]byte(`
offers:
  - id: engineering
    version: 1
    currency: GBP
    effective_from: 2026-01-01T00:00:00Z
    charges: [{id: hours, type: usage, meter: hours, attribute_to: contractor, price: {model: per_unit, amount: "95.00"}}]
`))
	require.NoError(t, err)
	o, err := c.Offer(catalog.Pin{Offer: "engineering", Version: 1})
	require.NoError(t, err)
	require.Equal(t, "contractor", o.Charges[0].AttributeTo)
}

// Only a usage charge's usage can be attributed, and the attribute is a
// name of the id grammar.
func TestAttributeToRefused(t *testing.T) {
	for _, tc := range []struct {
		name, charge, want string
		err                error
	}{
		{"recurring", `{id: c, type: recurring, cadence: {unit: monthly}, timing: in_advance, attribute_to: contractor, price: {model: flat, amount: "1"}}`,
			`offers[0].charges[0].attribute_to`, catalog.ErrFieldNotAllowed},
		{"one-time", `{id: c, type: one_time, attribute_to: contractor, price: {model: flat, amount: "1"}}`,
			`offers[0].charges[0].attribute_to`, catalog.ErrFieldNotAllowed},
		{"separator", `{id: c, type: usage, meter: m, attribute_to: "con/tractor", price: {model: per_unit, amount: "1"}}`,
			`offers[0].charges[0].attribute_to`, catalog.ErrInvalidID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := catalog.LoadYAML([]byte(`
offers:
  - id: o
    version: 1
    currency: GBP
    effective_from: 2026-01-01T00:00:00Z
    charges: [` + tc.charge + `]
`))
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
