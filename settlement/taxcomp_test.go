package settlement_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// A Quebec line taxed with GST 5% and QST 9.975% (stacked components)
// reaches settlement with its pre-tax amount 10.10 and its whole tax 1.52
// (0.51 + 1.01): partners are paid on the pre-tax amount, as with one rate.
func TestFromInvoiceTaxComponentsKeepsTheWholeTax(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - id: app
    version: 1
    name: App
    currency: CAD
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: fee, name: Fee, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "10.10"}}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "ca-qc", Region: "CA-QC",
		Components: []invoice.TaxComponent{{Name: "GST", Rate: ensemble.MustRatio("5%")}, {Name: "QST", Rate: ensemble.MustRatio("9.975%")}}}}}})
	require.NoError(t, err)
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	invs, err := b.Build(invoice.Run{At: jan}, []invoice.Subscription{{ID: "s", Customer: invoice.Customer{ID: "c", Region: "CA-QC"},
		Currency: ensemble.MustCurrency("CAD"), Anchor: jan,
		Items: []invoice.Item{{ID: "i", Segments: []invoice.Segment{{Start: jan, Pin: catalog.Pin{Offer: "app", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}})
	require.NoError(t, err)
	lines, err := settlement.FromInvoice(invs[0].Lines, order.Order{})
	require.NoError(t, err)
	require.Len(t, lines, 1)
	require.Equal(t, "10.10", lines[0].Amount.AmountString())
	require.Equal(t, "1.52", lines[0].Tax.AmountString())
}
