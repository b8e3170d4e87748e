package invoice_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// The order line's "15% off usage" (the segment's line discount, scoped
// to events) corrected back to June 1 on July 10, after the run of July 1
// billed June's 4,000 events (400.00) without it: the run of August 1
// credits June's usage 60.00 (a credit_note line crediting June's usage
// line, traced to the "line" discount), as a discount of the
// subscription recorded late is, besides July's usage 15% off (85.00);
// the run of September 1 credits nothing more. Before, June's usage stood
// undiscounted, silently: the Aug 1 run billed only July's 85.00 and
// August's fee.
func TestLateLineDiscountCreditsBilledUsage(t *testing.T) {
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
	sg := &s.Items[0].Segments[0]
	sg.Discount, sg.DiscountCharges, sg.Recorded = ensemble.MustRatio("15%"), []catalog.ChargeID{"events"}, date(2026, 7, 10)
	billed := append(jun.Lines, jul.Lines...)
	aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")}, Billed: billed}, s)
	require.Equal(t, []string{
		"credit_note events 06 -60.00 " + string(june.ID),
		"usage events 07 85.00 ",
		"recurring platform 08 200.00 ",
	}, kindsOf(aug))
	for _, l := range aug.Lines {
		if l.Kind == invoice.KindCreditNote {
			require.Contains(t, l.Refs, ensemble.Ref{Kind: invoice.RefDiscount, ID: "line"})
		}
	}
	aug, err := invoice.Issue(aug, date(2026, 8, 1))
	require.NoError(t, err)
	sep := build1(t, b, invoice.Run{After: date(2026, 8, 1), At: date(2026, 9, 1), Usage: []usage.Aggregate{eventsIn(time.August, "1000")},
		Billed: append(billed, aug.Lines...)}, s)
	require.Equal(t, []string{"usage events 08 85.00 ", "recurring platform 09 200.00 "}, kindsOf(sep))
}

// Property: a segment's line discount back-dated to the start of the
// usage it covers (recorded after June's usage was billed) leaves June's
// usage billed, less the run of August's credit, at what one run knowing
// the discount bills of it; known when June was billed (Recorded zero) or
// never changed, the later run credits nothing.
func TestPropertyLateLineDiscountBillsAsOneRun(t *testing.T) {
	b := chargesBuilder(t)
	rapid.Check(t, func(rt *rapid.T) {
		bp := rapid.IntRange(1, 10000).Draw(rt, "basis_points")
		p := ensemble.MustRatio(fmt.Sprintf("%d.%02d%%", bp/100, bp%100))
		events := fmt.Sprint(rapid.IntRange(1, 500000).Draw(rt, "june_events"))
		known := rapid.Bool().Draw(rt, "known")
		s := chargesSub()
		late := s
		late.Items = slices.Clone(s.Items)
		late.Items[0].Segments = slices.Clone(s.Items[0].Segments)
		sg := &late.Items[0].Segments[0]
		sg.Discount, sg.DiscountCharges = p, []catalog.ChargeID{"events"}
		if known {
			s = late
		} else {
			sg.Recorded = date(2026, 7, rapid.IntRange(2, 31).Draw(rt, "recorded"))
		}
		jun := build1(t, b, invoice.Run{At: date(2026, 6, 1)}, s)
		jul := build1(t, b, invoice.Run{After: date(2026, 6, 1), At: date(2026, 7, 1), Usage: []usage.Aggregate{eventsIn(time.June, events)}, Billed: jun.Lines}, s)
		aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1")},
			Billed: append(slices.Clone(jun.Lines), jul.Lines...)}, late)
		one := build1(t, b, invoice.Run{At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.June, events)}}, late)
		june := func(lines []invoice.Line, kind invoice.LineKind) ensemble.Money {
			sum := ensemble.MoneyFromMinor(0, s.Currency)
			for _, l := range lines {
				if l.Kind == kind && l.Charge == "events" && l.Period.Start.Equal(date(2026, 6, 1)) {
					var err error
					sum, err = sum.Add(l.Net)
					require.NoError(rt, err)
				}
			}
			return sum
		}
		credit := june(aug.Lines, invoice.KindCreditNote)
		if known {
			require.True(rt, credit.IsZero(), "credited %s of a discount known when the usage was billed", credit)
		}
		got, err := june(jul.Lines, invoice.KindUsage).Add(credit)
		require.NoError(rt, err)
		want := june(one.Lines, invoice.KindUsage)
		require.True(rt, got.Equal(want), "June's usage billed %s and credited %s, one run %s", june(jul.Lines, invoice.KindUsage), credit, want)
	})
}

// A partner discount of 10% granted on July 10 for ever
// (Item.PartnerDiscountRecorded), after the runs of June 1 and July 1
// billed the 500.00 onboarding, June's and July's 200.00 platform fees and
// June's 4,000 events (400.00) without it: the run of August 1 credits
// June's usage 40.00, traced to the "partner" discount, and bills the
// fixed lines anew with it (reversals of 500.00 and 2 × 200.00, rebilled
// at 450.00 and 2 × 180.00), beside July's usage and August's fee 10% off
// (90.00, 180.00). Before, the partner discount had no instant: the run
// discounted July's usage and August's fee only, and what was billed
// before stood undiscounted, silently.
func TestLatePartnerDiscountCreditsBilledUsage(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	jun, jul := chargesMonthly(t, b, s, "4000")
	it := &s.Items[0]
	it.PartnerDiscount, it.PartnerDiscountRecorded = ensemble.MustRatio("10%"), date(2026, 7, 10)
	billed := append(jun.Lines, jul.Lines...)
	aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")}, Billed: billed}, s)
	june := "mkt/box/20260601T000000Z/trialbox/"
	require.Equal(t, []string{
		"credit_note events 06 -40.00 " + june + "events/usage",
		"one_time onboarding 06 450.00 ", "reversal onboarding 06 -500.00 " + june + "onboarding/one_time",
		"recurring platform 06 180.00 ", "reversal platform 06 -200.00 " + june + "platform/recurring/20260601T000000Z",
		"usage events 07 90.00 ",
		"recurring platform 07 180.00 ", "reversal platform 07 -200.00 mkt/box/20260701T000000Z/trialbox/platform/recurring/20260701T000000Z",
		"recurring platform 08 180.00 ",
	}, kindsOf(aug))
	var credit ensemble.Money
	for _, l := range aug.Lines {
		if l.Kind == invoice.KindCreditNote && l.Charge == "events" {
			require.Contains(t, l.Refs, ensemble.Ref{Kind: invoice.RefDiscount, ID: "partner"})
			credit = l.Net
		}
	}
	require.Equal(t, "-40.00", credit.AmountString())
}
