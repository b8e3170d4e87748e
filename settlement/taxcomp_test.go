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

// A line taxed with GST and QST paid on collection, cancelled on January 3:
// 1.03 + 0.15 tax (GST 0.05 + QST 0.10), its proration credit of 0.96
// bills 0.14 tax (the line's tax in proportion, split GST -0.05, QST
// -0.09), which settlement accepts; rounding each component of the credit
// on its own gave back 0.05 + 0.10 = 0.15, more than a unit off the line's
// rate, which settlement refuses (ErrInvalidLine).
func TestTaxComponentsProrationCreditSettles(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - id: app
    version: 1
    name: App
    currency: CAD
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: fee, name: Fee, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "1.03"}}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "ca-qc", Region: "CA-QC",
		Components: []invoice.TaxComponent{{Name: "GST", Rate: ensemble.MustRatio("5%")}, {Name: "QST", Rate: ensemble.MustRatio("9.975%")}}}}}})
	require.NoError(t, err)
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	jan3 := jan.AddDate(0, 0, 2)
	sub := func(end time.Time) invoice.Subscription {
		return invoice.Subscription{ID: "s", Customer: invoice.Customer{ID: "c", Region: "CA-QC"}, Currency: ensemble.MustCurrency("CAD"), Anchor: jan,
			Items: []invoice.Item{{ID: "i", Segments: []invoice.Segment{{Start: jan, End: end, Pin: catalog.Pin{Offer: "app", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
	}
	first, err := b.Build(invoice.Run{At: jan}, []invoice.Subscription{sub(time.Time{})})
	require.NoError(t, err)
	second, err := b.Build(invoice.Run{After: jan, At: jan3, Billed: first[0].Lines}, []invoice.Subscription{sub(jan3)})
	require.NoError(t, err)
	bl := first[0].Lines[0]
	var pc invoice.Line
	for _, l := range second[0].Lines {
		if l.Kind == invoice.KindProrationCredit {
			pc = l
		}
	}
	require.Equal(t, "0.15", bl.Tax.AmountString())
	require.Equal(t, "-0.96", pc.Net.AmountString())
	require.Equal(t, "-0.14", pc.Tax.AmountString())
	require.Equal(t, "GST", pc.Taxes[0].Name)
	require.Equal(t, "-0.05", pc.Taxes[0].Amount.AmountString())
	require.Equal(t, "-0.09", pc.Taxes[1].Amount.AmountString())

	s := planSettler(t, collectPlan, loadNetwork(t))
	line := chainLine("L1", bl.Net.AmountString(), "2026-01-01")
	line.Tax, line.Invoice = eur(bl.Tax.AmountString()), "INV-1"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{line})
	require.NoError(t, err)
	credit := func(tax string) settlement.Line {
		cn := chainLine("PC-1", pc.Net.AmountString(), "2026-01-03")
		cn.Tax, cn.Credits = eur(tax), line.ID
		return cn
	}
	_, err = s.Settle(ctx, res.State, []settlement.Line{credit(pc.Tax.AmountString())})
	require.NoError(t, err)
	_, err = s.Settle(ctx, res.State, []settlement.Line{credit("-0.15")})
	require.ErrorIs(t, err, settlement.ErrInvalidLine, "each component rounded alone")
}
