package invoice_test

import (
	"fmt"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// creditLedger raises credit notes against one issued invoice, beside a
// model of what remains creditable per line (in minor units).
type creditLedger struct {
	inv   invoice.Invoice
	notes []invoice.CreditNote
	// model: remaining total and tax per line, in minor units.
	total, tax map[invoice.LineID]int64
	n          int
}

func units(t *rapid.T, m ensemble.Money) int64 {
	u, err := m.MinorUnits()
	require.NoError(t, err)
	return u
}

func (c *creditLedger) raise(t *rapid.T, req invoice.CreditRequest) (invoice.CreditNote, error) {
	c.n++
	req.ID = fmt.Sprint(c.n)
	req.Reason = rapid.SampledFrom([]invoice.Reason{invoice.ReasonDispute, invoice.ReasonRefund, invoice.ReasonGoodwill, invoice.ReasonCorrection}).Draw(t, "reason")
	req.At = c.inv.Date
	cn, err := invoice.NewCreditNote(c.inv, c.notes, req)
	if err == nil {
		c.notes = append(c.notes, cn)
		for _, l := range cn.Lines {
			c.total[l.Credits] += units(t, l.Total)
			c.tax[l.Credits] += units(t, l.Tax)
		}
	}
	return cn, err
}

func TestStateMachineCreditNotes(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerInvoice)
	rapid.Check(t, func(t *rapid.T) {
		c := &creditLedger{inv: inv, total: map[invoice.LineID]int64{}, tax: map[invoice.LineID]int64{}}
		var ids []invoice.LineID
		for _, l := range inv.Lines {
			ids = append(ids, l.ID)
			c.total[l.ID] = units(t, l.Total)
			c.tax[l.ID] = units(t, l.Tax)
		}
		t.Repeat(map[string]func(*rapid.T){
			"amount": func(t *rapid.T) {
				id := rapid.SampledFrom(ids).Draw(t, "line")
				before := c.total[id]
				amt := rapid.Int64Range(1, before+3).Draw(t, "amount")
				cn, err := c.raise(t, invoice.CreditRequest{Lines: []invoice.CreditLine{{Line: id, Amount: decimal.New(amt, -2)}}})
				switch {
				case before == 0:
					require.ErrorIs(t, err, invoice.ErrNotCreditable)
				case amt > before:
					require.ErrorIs(t, err, invoice.ErrOverCredit)
				default:
					require.NoError(t, err)
					require.Equal(t, -amt, units(t, cn.Total))
				}
			},
			"quantity": func(t *rapid.T) {
				id := rapid.SampledFrom(ids).Draw(t, "line")
				before := c.total[id]
				q := decimal.New(rapid.Int64Range(1, 400).Draw(t, "quantity"), -2)
				_, err := c.raise(t, invoice.CreditRequest{Lines: []invoice.CreditLine{{Line: id, Quantity: q}}})
				if before == 0 {
					require.Error(t, err)
				}
			},
			"rest of a line": func(t *rapid.T) {
				id := rapid.SampledFrom(ids).Draw(t, "line")
				before := c.total[id]
				_, err := c.raise(t, invoice.CreditRequest{Lines: []invoice.CreditLine{{Line: id}}})
				if before == 0 {
					require.ErrorIs(t, err, invoice.ErrNotCreditable)
				} else {
					require.NoError(t, err)
					require.Zero(t, c.total[id])
					require.Zero(t, c.tax[id], "the last credit takes exactly the remaining tax")
				}
			},
			"": func(t *rapid.T) {
				rem, err := invoice.Remaining(c.inv, c.notes)
				require.NoError(t, err)
				for _, r := range rem {
					require.Equal(t, c.total[r.Line], units(t, r.Total), r.Line)
					require.Equal(t, c.tax[r.Line], units(t, r.Tax), r.Line)
					require.GreaterOrEqual(t, c.total[r.Line], int64(0))
					require.GreaterOrEqual(t, c.tax[r.Line], int64(0))
					require.LessOrEqual(t, c.tax[r.Line], c.total[r.Line])
				}
			},
		})
		// Crediting whatever is left returns the invoice's tax and total exactly.
		c.raise(t, invoice.CreditRequest{Full: true})
		var tax, total int64
		for _, cn := range c.notes {
			tax += units(t, cn.Tax)
			total += units(t, cn.Total)
		}
		require.Equal(t, -units(t, inv.Tax), tax)
		require.Equal(t, -units(t, inv.Total), total)
	})
}
