package invoice_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

const catalogYAML = `
offers:
  - id: basic
    version: 1
    name: Basic
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    effective_until: 2030-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "10.00"}}
      - {id: setup, name: Setup fee, type: one_time, price: {model: flat, amount: "50.00"}}
  - id: basic
    version: 2
    name: Basic
    currency: EUR
    effective_from: 2030-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "10.00"}}
      - {id: setup, name: Setup fee, type: one_time, price: {model: flat, amount: "50.00"}}
  - id: pro
    version: 1
    name: Pro
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "30.00"}}
  - id: api
    version: 1
    name: API
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - id: calls
        name: API calls
        type: usage
        meter: api_calls
        price:
          model: graduated
          tiers:
            - {up_to: 100, unit_amount: "0"}
            - {up_to: 1000, unit_amount: "0.05"}
            - {unit_amount: "0.02"}
  - id: support
    version: 1
    name: Support
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    effective_until: 2030-01-01T00:00:00Z
    charges:
      - {id: hours, name: Support, type: recurring, cadence: {unit: monthly}, timing: in_arrears, price: {model: per_unit, amount: "20.00"}}
  - id: support
    version: 2
    name: Support
    currency: EUR
    effective_from: 2030-01-01T00:00:00Z
    charges:
      - {id: hours, name: Support, type: recurring, cadence: {unit: monthly}, timing: in_arrears, price: {model: per_unit, amount: "20.00"}}
  - id: storage
    version: 1
    name: Extra storage
    kind: add_on
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    attaches_to: [basic, pro]
    charges:
      - {id: tb, name: Storage TB, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "2.00"}}
  - id: suite
    version: 1
    name: Suite
    kind: bundle
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    components:
      - {offer: basic, supplier: acme, cost: {ratio: "40%"}}
      - {offer: api, supplier: zeta, cost: {fixed: "5.00", shortfall: supplier}}
    charges:
      - {id: plan, name: Suite plan, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "100.00"}}
  - id: events
    version: 1
    name: Events
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: events, name: Events, type: usage, meter: events, price: {model: per_unit, amount: "0.01", minimum_spend: "20"}}
  - id: bulk
    version: 1
    name: Bulk API
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - id: calls
        name: API calls
        type: usage
        meter: api_calls
        price:
          model: volume
          tiers:
            - {up_to: 1000, unit_amount: "0.05"}
            - {unit_amount: "0.02"}
  - id: yen
    version: 1
    currency: JPY
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: plan, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "1000"}}
`

func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(catalogYAML))
	require.NoError(t, err)
	return cat
}

func builder(t testing.TB, opts invoice.Options) *invoice.Builder {
	t.Helper()
	b, err := invoice.NewBuilder(testCatalog(t), opts)
	require.NoError(t, err)
	return b
}

// tb is what both *testing.T and *rapid.T offer.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	FailNow()
}

var eur = ensemble.MustCurrency("EUR")

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func money(s string) ensemble.Money { return ensemble.MustMoney(s, "EUR") }

func pin(o string, v int) catalog.Pin { return catalog.Pin{Offer: catalog.OfferID(o), Version: v} }

func seg(from, to time.Time, p catalog.Pin, qty string) invoice.Segment {
	return invoice.Segment{Start: from, End: to, Pin: p, Quantity: dec(qty)}
}

func sub(id string, anchor time.Time, items ...invoice.Item) invoice.Subscription {
	return invoice.Subscription{
		ID: invoice.SubscriptionID(id), Customer: invoice.Customer{ID: "cust-" + invoice.CustomerID(id), Region: "FR"},
		Currency: eur, Anchor: anchor, Items: items,
	}
}

func item(id string, segs ...invoice.Segment) invoice.Item {
	return invoice.Item{ID: invoice.ItemID(id), Segments: segs}
}

// amounts returns each line's kind and amount, in line order.
func amounts(inv invoice.Invoice) []string {
	var out []string
	for _, l := range inv.Lines {
		out = append(out, l.Kind.String()+" "+string(l.Charge)+" "+l.Amount.AmountString())
	}
	return out
}

// build builds one run and returns the single invoice.
func build1(t tb, b *invoice.Builder, run invoice.Run, s invoice.Subscription) invoice.Invoice {
	t.Helper()
	invs, err := b.Build(run, []invoice.Subscription{s})
	require.NoError(t, err)
	require.Len(t, invs, 1)
	require.NoError(t, invs[0].Check())
	return invs[0]
}

var cmpOpts = cmp.Options{cmp.Comparer(func(a, b ensemble.Currency) bool { return a == b })}

// roundTrip checks that v survives encoding/json: same value, same bytes.
func roundTrip[T any](t tb, v T) {
	t.Helper()
	b1, err := json.Marshal(v)
	require.NoError(t, err)
	var back T
	require.NoError(t, json.Unmarshal(b1, &back))
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.Equal(t, string(b1), string(b2))
	if d := cmp.Diff(v, back, cmpOpts); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
}
