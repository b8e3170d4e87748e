package invoice_test

import (
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

// kindsOf returns each line of inv as "kind charge month net credits".
func kindsOf(inv invoice.Invoice) []string {
	var out []string
	for _, l := range inv.Lines {
		out = append(out, l.Kind.String()+" "+string(l.Charge)+" "+l.Period.Start.Format("01")+" "+l.Net.AmountString()+" "+string(l.Credits))
	}
	return out
}

// "15% off usage" from the subscription's start (June 1), recorded on July
// 10, after the run of July 1 billed June's 4,000 events (400.00) without
// it: the run of August 1 credits the customer 15% of what June's usage
// billed (a credit_note line of -60.00 crediting June's usage line,
// traced to the discount), besides July's usage 15% off (85.00). The run
// of September 1, given what August's billed, credits nothing more. Before,
// June's usage stood undiscounted: the customer paid 60.00 the contract
// no longer owes.
func TestLateUsageDiscountCreditsBilledUsage(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	jun, jul := chargesMonthly(t, b, s, "4000")
	var june invoice.Line
	for _, l := range jul.Lines {
		if l.Kind == invoice.KindUsage {
			june = l
		}
	}
	require.Equal(t, "400.00", june.Net.AmountString())
	s.Discounts = []invoice.Discount{{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 7, 10)}}
	billed := append(jun.Lines, jul.Lines...)
	aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")}, Billed: billed}, s)
	require.Equal(t, []string{
		"credit_note events 06 -60.00 " + string(june.ID),
		"usage events 07 85.00 ",
		"recurring platform 08 200.00 ",
	}, kindsOf(aug))
	var credit invoice.Line
	for _, l := range aug.Lines {
		if l.Kind == invoice.KindCreditNote {
			credit = l
		}
	}
	require.Contains(t, credit.Refs, ensemble.Ref{Kind: invoice.RefDiscount, ID: "usage-15"})
	require.Contains(t, credit.Refs, ensemble.Ref{Kind: invoice.RefLine, ID: string(june.ID)})
	aug, err := invoice.Issue(aug, date(2026, 8, 1))
	require.NoError(t, err)

	sep := build1(t, b, invoice.Run{After: date(2026, 8, 1), At: date(2026, 9, 1), Usage: []usage.Aggregate{eventsIn(time.August, "1000")},
		Billed: append(billed, aug.Lines...)}, s)
	require.Equal(t, []string{"usage events 08 85.00 ", "recurring platform 09 200.00 "}, kindsOf(sep))
}
