package catalog_test

import (
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/stretchr/testify/require"
)

// storeYAML is the catalog most tests load: a product with two versions, a
// second product, a bundle of both from two suppliers, and an add-on.
const storeYAML = `
offers:
  - id: storage
    version: 1
    name: Object storage
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    effective_until: 2026-07-01T00:00:00Z
    category: storage
    attributes: {region: eu, tier: standard}
    charges:
      - id: gb-month
        type: usage
        meter: storage_gb
        price:
          model: graduated
          tiers:
            - {up_to: 100, unit_amount: "0.10", flat_amount: "5"}
            - {up_to: 1000, unit_amount: "0.08"}
            - {unit_amount: "0.05", flat_amount: "10"}
      - id: base
        type: recurring
        cadence: {unit: monthly}
        timing: in_advance
        price: {model: flat, amount: "9.00"}
  - id: storage
    version: 2
    name: Object storage
    currency: EUR
    effective_from: 2026-07-01T00:00:00Z
    category: storage
    charges:
      - id: base
        type: recurring
        cadence: {unit: monthly}
        timing: in_advance
        price: {model: flat, amount: "11.00"}
      - id: gb-month
        type: usage
        meter: storage_gb
        price:
          model: volume
          minimum_spend: "10"
          tiers:
            - {up_to: 1000, unit_amount: "0.09"}
            - {unit_amount: "0.06"}
  - id: backup
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: seats
        type: recurring
        cadence: {unit: monthly}
        timing: in_arrears
        price: {model: per_unit, amount: "3.50"}
  - id: suite
    version: 1
    kind: bundle
    name: Storage suite
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    min_quantity: 1
    charges:
      - id: licence
        type: recurring
        cadence: {unit: monthly}
        timing: in_advance
        price: {model: per_unit, amount: "25.00"}
    components:
      - {offer: storage, supplier: cloudco, cost: {ratio: "40%"}}
      - {offer: backup, supplier: vaultco, quantity: 2, cost: {fixed: "3.00"}}
  - id: extra-ip
    version: 1
    kind: add_on
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    min_quantity: 1
    max_quantity: 5
    attaches_to: [storage, suite]
    charges:
      - id: ip
        type: recurring
        cadence: {unit: monthly}
        timing: in_advance
        price: {model: per_unit, amount: "2"}
`

func mustStore(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.LoadYAML([]byte(storeYAML))
	require.NoError(t, err)
	return c
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}
