package invoice_test

import (
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

// issuedInvoice bills Pro ×3 (90.00), storage ×7 per seat (21 × 2.00 =
// 42.00) and 102.6 API calls (0.13) at 19% exclusive tax.
func issuedInvoice(t testing.TB, rounding invoice.TaxRounding) invoice.Invoice {
	s := sub("s1", date(2026, 2, 1),
		invoice.Item{ID: "plan", Segments: []invoice.Segment{{Start: date(2026, 2, 1), Pin: pin("pro", 1), Quantity: dec("3"),
			AddOns: []invoice.AddOn{{Pin: pin("storage", 1), Quantity: dec("7")}}}}},
		item("api", seg(date(2026, 2, 1), time.Time{}, pin("api", 1), "1")))
	s.Customer.Region = "XX"
	b := builder(t, invoice.Options{Taxes: taxes, TaxRounding: rounding})
	inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{marchUsage("s1/api", "102.6")}}, s)
	inv, err := invoice.Issue(inv, date(2026, 4, 1))
	require.NoError(t, err)
	return inv
}

// Credit notes raised line by line, by quantity, by amount and for the
// rest, add up to exactly the invoice: subtotal, tax and total.
func TestCreditNotesLineByLine(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerLine)
	require.Equal(t, []string{"usage calls 0.13", "recurring seats 90.00", "recurring tb 42.00"}, amounts(inv))
	pro := inv.Lines[1].ID
	at := date(2026, 4, 10)
	steps := []struct {
		name     string
		req      invoice.CreditRequest
		net, tax string
	}{
		// 1 of 3 seats: 107.10 × 1/3 = 35.70, of which net 90 × 35.70/107.10 = 30.00.
		{"one seat", invoice.CreditRequest{ID: "1", Reason: invoice.ReasonRefund, At: at, Lines: []invoice.CreditLine{{Line: pro, Quantity: dec("1")}}}, "-30.00", "-5.70"},
		// 33.33 of the remaining 71.40: net round(60 × 33.33/71.40) = 28.01.
		{"an amount", invoice.CreditRequest{ID: "2", Reason: invoice.ReasonGoodwill, At: at, Lines: []invoice.CreditLine{{Line: pro, Amount: dec("33.33")}}}, "-28.01", "-5.32"},
		// The rest of every line: 31.99 + 6.08 of Pro, all of the others (42.00 + 7.98, 0.13 + 0.02).
		{"the rest", invoice.CreditRequest{ID: "3", Reason: invoice.ReasonCorrection, At: at, Full: true}, "-74.12", "-14.08"},
	}
	var notes []invoice.CreditNote
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			cn, err := invoice.NewCreditNote(inv, notes, st.req)
			require.NoError(t, err)
			require.Equal(t, st.net, cn.Subtotal.AmountString())
			require.Equal(t, st.tax, cn.Tax.AmountString())
			for _, l := range cn.Lines {
				require.Contains(t, invoice.Explain(l), "credits line "+string(l.Credits)+" of invoice "+string(inv.ID))
				require.Equal(t, invoice.KindCreditNote, l.Kind)
				require.Equal(t, inv.ID, l.CreditedInvoice)
				require.True(t, at.Equal(l.Date))
			}
			roundTrip(t, cn)
			notes = append(notes, cn)
		})
	}
	sub, tax, total := money("0"), money("0"), money("0")
	for _, cn := range notes {
		sub, _ = sub.Add(cn.Subtotal)
		tax, _ = tax.Add(cn.Tax)
		total, _ = total.Add(cn.Total)
	}
	require.True(t, sub.Neg().Equal(inv.Subtotal), "%s vs %s", sub, inv.Subtotal)
	require.True(t, tax.Neg().Equal(inv.Tax), "%s vs %s", tax, inv.Tax)
	require.True(t, total.Neg().Equal(inv.Total), "%s vs %s", total, inv.Total)
	rem, err := invoice.Remaining(inv, notes)
	require.NoError(t, err)
	for _, r := range rem {
		require.True(t, r.Total.IsZero())
		require.True(t, r.Tax.IsZero())
	}

	t.Run("nothing left", func(t *testing.T) {
		_, err := invoice.NewCreditNote(inv, notes, invoice.CreditRequest{ID: "4", Reason: invoice.ReasonRefund, At: at, Lines: []invoice.CreditLine{{Line: pro}}})
		require.ErrorIs(t, err, invoice.ErrNotCreditable)
	})
}

func TestCreditNoteErrors(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerInvoice)
	pro := inv.Lines[1].ID
	at := date(2026, 4, 10)
	draft := inv
	draft.Status = invoice.Draft
	tampered := inv
	tampered.Total = money("1.00")
	first, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "1", Reason: invoice.ReasonDispute, At: at, Lines: []invoice.CreditLine{{Line: pro, Amount: dec("100")}}})
	require.NoError(t, err)
	cases := []struct {
		name  string
		inv   invoice.Invoice
		prior []invoice.CreditNote
		req   invoice.CreditRequest
		want  error
	}{
		{"draft", draft, nil, invoice.CreditRequest{ID: "x", Reason: invoice.ReasonRefund, At: at, Full: true}, invoice.ErrNotIssued},
		{"does not reconcile", tampered, nil, invoice.CreditRequest{ID: "x", Reason: invoice.ReasonRefund, At: at, Full: true}, invoice.ErrInvalid},
		{"no reason", inv, nil, invoice.CreditRequest{ID: "x", At: at, Full: true}, invoice.ErrRequired},
		{"over amount", inv, nil, invoice.CreditRequest{ID: "x", Reason: invoice.ReasonRefund, At: at, Lines: []invoice.CreditLine{{Line: pro, Amount: dec("107.11")}}}, invoice.ErrOverCredit},
		{"over amount after a prior note", inv, []invoice.CreditNote{first}, invoice.CreditRequest{ID: "x", Reason: invoice.ReasonRefund, At: at, Lines: []invoice.CreditLine{{Line: pro, Amount: dec("7.11")}}}, invoice.ErrOverCredit},
		{"over quantity", inv, nil, invoice.CreditRequest{ID: "x", Reason: invoice.ReasonRefund, At: at, Lines: []invoice.CreditLine{{Line: pro, Quantity: dec("4")}}}, invoice.ErrOverCredit},
		{"unknown line", inv, nil, invoice.CreditRequest{ID: "x", Reason: invoice.ReasonRefund, At: at, Lines: []invoice.CreditLine{{Line: "nope"}}}, invoice.ErrUnknown},
		{"duplicate note", inv, []invoice.CreditNote{first}, invoice.CreditRequest{ID: "1", Reason: invoice.ReasonRefund, At: at, Full: true}, invoice.ErrDuplicate},
		{"sub-cent amount", inv, nil, invoice.CreditRequest{ID: "x", Reason: invoice.ReasonRefund, At: at, Lines: []invoice.CreditLine{{Line: pro, Amount: dec("1.001")}}}, invoice.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cn, err := invoice.NewCreditNote(tc.inv, tc.prior, tc.req)
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, cn.Lines)
		})
	}
	_, err = invoice.Issue(inv, at)
	require.ErrorIs(t, err, invoice.ErrInvalid)
}

// Late usage is billed as rate(cumulative) - rate(billed) and traces to the
// period it corrects.
func TestLateUsage(t *testing.T) {
	it := item("api", seg(date(2026, 2, 1), time.Time{}, pin("api", 1), "1"))
	it.PartnerDiscount = ensemble.MustRatio("10%")
	s := sub("s1", date(2026, 2, 1), it)
	b := builder(t, invoice.Options{})
	billed := marchUsage("s1/api", "900", "r1")
	late := marchUsage("s1/api", "300", "r2", "r3")
	late.Late = true
	inv := build1(t, b, invoice.Run{After: date(2026, 4, 20), At: date(2026, 5, 1), Late: []invoice.LateUsage{{Billed: billed, Late: late}}}, s)
	require.Len(t, inv.Lines, 1)
	l := inv.Lines[0]
	// 900 calls cost 40.00; 1,200 cost 45.00 + 4.00 = 49.00: the delta is 9.00.
	require.Equal(t, invoice.KindUsageAdjustment, l.Kind)
	require.Equal(t, "9.00", l.Amount.AmountString())
	require.Equal(t, "0.90", l.Discount.AmountString())
	require.True(t, dec("1200").Equal(l.Quantity))
	require.True(t, dec("900").Equal(l.Usage.Billed))
	require.Equal(t, int64(3), l.Usage.Records)
	require.Equal(t, late.Ref(), *l.Usage.Late)
	require.True(t, date(2026, 3, 1).Equal(l.Period.Start))
	require.Contains(t, invoice.Explain(l), "rate(cumulative) - rate(billed)")
}

// A volume price is not monotonic: late usage that crosses into a cheaper
// tier lowers the period's amount. The adjustment is negative and names
// the usage line it corrects, as package settlement expects of a credit.
func TestLateUsageNegativeDelta(t *testing.T) {
	s := sub("s1", date(2026, 2, 1), item("api", seg(date(2026, 2, 1), time.Time{}, pin("bulk", 1), "1")))
	b := builder(t, invoice.Options{Taxes: taxes})
	billed := marchUsage("s1/api", "900", "r1")
	first := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{billed}}, s)
	require.Equal(t, []string{"usage calls 45.00"}, amounts(first)) // 900 × 0.05
	late := marchUsage("s1/api", "200", "r2")
	late.Late = true
	inv := build1(t, b, invoice.Run{After: date(2026, 4, 20), At: date(2026, 5, 1), Late: []invoice.LateUsage{{Billed: billed, Late: late}}}, s)
	// 1,100 calls all at 0.02 = 22.00: 23.00 less than was billed.
	require.Equal(t, []string{"usage_adjustment calls -23.00"}, amounts(inv))
	l := inv.Lines[0]
	require.Equal(t, first.Lines[0].ID, l.Credits)
	require.Equal(t, "-4.60", l.Tax.AmountString())
}
