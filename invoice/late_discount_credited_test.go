package invoice_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

// juneUsageLine is the usage line of June's 4,000 events (400.00) that the
// run of July 1 billed.
func juneUsageLine(t *testing.T, jul invoice.Invoice) invoice.Line {
	t.Helper()
	for _, l := range jul.Lines {
		if l.Kind == invoice.KindUsage {
			require.Equal(t, "400.00", l.Net.AmountString())
			return l
		}
	}
	t.Fatal("no usage line")
	return invoice.Line{}
}

// "15% off usage" recorded on July 10, after the host credited June's usage
// (400.00) with a credit note of its own: the run of August 1 credits 15%
// of what the note left, as one run would have discounted what the
// customer still pays for, and never more than the note left. A note of
// all of it leaves nothing to credit; one of 100.00 leaves 300.00, 15%
// of which is 45.00; a 90% one leaves 40.00: 6.00. Before, the run
// credited 60.00 in every case (460.00 back on a 400.00 line after the
// full note). The run of September 1, given August's lines, credits
// nothing more.
func TestLateUsageDiscountCreditsWhatTheHostsNotesLeft(t *testing.T) {
	for _, c := range []struct {
		name   string
		credit invoice.CreditLine
		want   []string // the credit notes of August 1
	}{
		{"full note", invoice.CreditLine{Percent: ensemble.MustRatio("100%")}, nil},
		{"100.00", invoice.CreditLine{Amount: dec("100.00")}, []string{"credit_note events 06 -45.00"}},
		{"90%", invoice.CreditLine{Percent: ensemble.MustRatio("90%")}, []string{"credit_note events 06 -6.00"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := chargesBuilder(t)
			s := chargesSub()
			jun, jul := chargesMonthly(t, b, s, "4000")
			june := juneUsageLine(t, jul)
			cl := c.credit
			cl.Line = june.ID
			cn, err := invoice.NewCreditNote(jul, nil, invoice.CreditRequest{ID: "sla", Reason: invoice.ReasonGoodwill, At: date(2026, 7, 5), Lines: []invoice.CreditLine{cl}})
			require.NoError(t, err)
			s.Discounts = []invoice.Discount{{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 7, 10)}}
			billed := append(append(append([]invoice.Line(nil), jun.Lines...), jul.Lines...), cn.Lines...)
			aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")}, Billed: billed}, s)
			var credits []string
			for _, l := range aug.Lines {
				if l.Kind == invoice.KindCreditNote {
					require.Equal(t, june.ID, l.Credits)
					credits = append(credits, l.Kind.String()+" "+string(l.Charge)+" "+l.Period.Start.Format("01")+" "+l.Net.AmountString())
				}
			}
			require.Equal(t, c.want, credits)
			aug, err = invoice.Issue(aug, date(2026, 8, 1))
			require.NoError(t, err)
			// What is left of June's usage line is never below zero.
			rem, err := invoice.Remaining(jul, []invoice.CreditNote{cn}, aug.Lines...)
			require.NoError(t, err)
			for _, r := range rem {
				if r.Line == june.ID {
					require.False(t, r.Total.IsNegative(), "June's usage left %s", r.Total)
				}
			}
			sep := build1(t, b, invoice.Run{After: date(2026, 8, 1), At: date(2026, 9, 1), Usage: []usage.Aggregate{eventsIn(time.August, "1000")},
				Billed: append(billed, aug.Lines...)}, s)
			require.Equal(t, []string{"usage events 08 85.00 ", "recurring platform 09 200.00 "}, kindsOf(sep))
		})
	}
}

// Two discounts recorded late, one after the other's credit: "partner-60"
// (60% off usage) recorded July 10 credits 240.00 of June's 400.00 on
// August 1; "usage-60" recorded August 10 finds 160.00 left of the line,
// and credits that, not another 240.00 (before: 480.00 back on a 400.00
// line). Another discount's late credit is a discount, not a host's note:
// "usage-15" recorded August 10 instead still credits its 60.00 of the
// 400.00 billed, as one run would take both off the line.
func TestLateUsageDiscountCountsAnotherDiscountsCredit(t *testing.T) {
	for _, c := range []struct {
		second invoice.Discount
		want   string
	}{
		{invoice.Discount{ID: "usage-60", Percent: ensemble.MustRatio("60%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 8, 10)}, "-160.00"},
		{invoice.Discount{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 8, 10)}, "-60.00"},
	} {
		t.Run(string(c.second.ID), func(t *testing.T) {
			b := chargesBuilder(t)
			s := chargesSub()
			jun, jul := chargesMonthly(t, b, s, "4000")
			june := juneUsageLine(t, jul)
			first := invoice.Discount{ID: "partner-60", Percent: ensemble.MustRatio("60%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 7, 10)}
			s.Discounts = []invoice.Discount{first}
			billed := append(append([]invoice.Line(nil), jun.Lines...), jul.Lines...)
			aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")}, Billed: billed}, s)
			require.Contains(t, kindsOf(aug), "credit_note events 06 -240.00 "+string(june.ID))
			aug, err := invoice.Issue(aug, date(2026, 8, 1))
			require.NoError(t, err)
			billed = append(billed, aug.Lines...)

			s.Discounts = []invoice.Discount{first, c.second}
			sep := build1(t, b, invoice.Run{After: date(2026, 8, 1), At: date(2026, 9, 1), Usage: []usage.Aggregate{eventsIn(time.August, "1000")}, Billed: billed}, s)
			var juneCredits []string
			for _, l := range sep.Lines {
				if l.Kind == invoice.KindCreditNote && l.Credits == june.ID {
					juneCredits = append(juneCredits, l.Net.AmountString())
				}
			}
			require.Equal(t, []string{c.want}, juneCredits)
		})
	}
}

// A line given twice in Run.Billed is refused, ErrDuplicate at
// run.billed[k].id naming the line, as NewCreditNote refuses a line given
// twice: before, a late discount failed with the allocator's "duplicate
// allocation key" at the discount's path, and a credit note given twice
// lowered a proration credit twice.
func TestRunBilledLineGivenTwiceIsRefused(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	jun, jul := chargesMonthly(t, b, s, "4000")
	s.Discounts = []invoice.Discount{{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 7, 10)}}
	billed := append(append(append([]invoice.Line(nil), jun.Lines...), jul.Lines...), jul.Lines[0])
	_, err := b.Build(invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")}, Billed: billed}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrDuplicate)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Contains(t, err.Error(), ensemble.Path("run", "billed", len(billed)-1, "id"))
	require.Contains(t, err.Error(), string(jul.Lines[0].ID))
	require.Contains(t, err.Error(), fmt.Sprintf("billed[%d] too", len(jun.Lines)))
}
