package invoice_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// prepaidMonths bills the EUR 1,200 commitment of
// TestPrepaidCommitmentDrawnOverThreeInvoices through April: January and
// February (525.00 each) and 150.00 of March (425.00) are covered, the rest of
// March (275.00) and all of April (30,000 calls: 45 + 29,000 × 0.02 = 625.00)
// are overage. It returns the subscription as the host carries it to May and
// every line the runs issued.
func prepaidMonths(t *testing.T, b *invoice.Builder) (invoice.Subscription, []invoice.Line, map[time.Month]usage.Aggregate) {
	t.Helper()
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "2026", Amount: dec("1200"), Start: date(2026, 1, 1), End: date(2027, 1, 1), Meters: []usage.MeterID{"api_calls"}}}
	billed := map[time.Month]usage.Aggregate{}
	var issued []invoice.Line
	after := date(2025, 12, 31)
	for m, calls := range []string{"", "25000", "25000", "20000", "30000"} {
		at := date(2026, time.Month(m+1), 1)
		run := invoice.Run{After: after, At: at}
		if calls != "" {
			a := monthUsage("s1/api", time.Month(m), calls)
			billed[time.Month(m)] = a
			run.Usage = []usage.Aggregate{a}
		}
		inv := build1(t, b, run, s)
		issued = append(issued, inv.Lines...)
		s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = inv.Prepaid[0].Total, inv.Prepaid[0].Through
		after = at
	}
	require.Equal(t, "1200", s.Prepaid[0].Drawn.String())
	return s, issued, billed
}

func lateCalls(month time.Month, calls string) usage.Aggregate {
	a := monthUsage("s1/api", month, calls)
	a.Digest = usage.DigestOf(usage.RecordID("late-" + month.String()))
	a.Late = true
	return a
}

// TestPrepaidCorrectionOfAnOverageLineIsCash: a late correction lowering a
// usage period that drew nothing on the commitment (April, all overage)
// gives the customer back cash, not commitment: April's 30,000 calls
// corrected to 25,000 bill 525.00 − 625.00 = −100.00 (and −20.00 VAT), and
// the commitment stays spent. It gave the 100.00 back to the commitment,
// billing nothing: the customer's cash for April's overage became a balance
// that expires unused at the term's end.
func TestPrepaidCorrectionOfAnOverageLineIsCash(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	s, issued, billed := prepaidMonths(t, b)
	inv := build1(t, b, invoice.Run{After: date(2026, 5, 1), At: date(2026, 5, 20), Billed: issued,
		Late: []invoice.LateUsage{{Billed: billed[time.April], Late: lateCalls(time.April, "-5000")}}}, s)
	require.Len(t, inv.Lines, 1)
	l := inv.Lines[0]
	require.Equal(t, invoice.KindUsageAdjustment, l.Kind)
	require.Equal(t, "-100.00", l.Amount.AmountString())
	require.Nil(t, l.Prepaid, "April drew nothing on the commitment: its correction gives nothing back to it")
	require.Equal(t, "-100.00", l.Net.AmountString())
	require.Equal(t, "-20.00", l.Tax.AmountString())
	require.Len(t, inv.Prepaid, 1)
	require.Equal(t, "0.00", inv.Prepaid[0].Remaining.AmountString())
	require.Equal(t, "1200", inv.Prepaid[0].Total.String())
}

// TestPrepaidCorrectionGivesBackAtMostWhatItsPeriodDrew: March drew 150.00 of
// the commitment and billed 275.00 of overage; 10,000 calls fewer (45 +
// 9,000 × 0.02 = 225.00, −200.00) give the 150.00 March drew back to the
// commitment and the other 50.00 in cash. It gave all 200.00 back to the
// commitment, 50.00 more than March ever drew on it.
func TestPrepaidCorrectionGivesBackAtMostWhatItsPeriodDrew(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	s, issued, billed := prepaidMonths(t, b)
	inv := build1(t, b, invoice.Run{After: date(2026, 5, 1), At: date(2026, 5, 20), Billed: issued,
		Late: []invoice.LateUsage{{Billed: billed[time.March], Late: lateCalls(time.March, "-10000")}}}, s)
	require.Len(t, inv.Lines, 1)
	l := inv.Lines[0]
	require.Equal(t, "-200.00", l.Amount.AmountString())
	require.NotNil(t, l.Prepaid)
	require.Equal(t, "-150.00", l.Prepaid.Covered.AmountString())
	require.Equal(t, "-50.00", l.Net.AmountString())
	require.Equal(t, "150.00", inv.Prepaid[0].Remaining.AmountString())

	// A second correction of March finds March's draw given back already
	// (the first correction's line in Run.Billed): it is all cash.
	issued = append(issued, inv.Lines...)
	s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = inv.Prepaid[0].Total, inv.Prepaid[0].Through
	first := lateCalls(time.March, "-10000")
	merged, err := billed[time.March].Merge(first)
	require.NoError(t, err)
	second := monthUsage("s1/api", time.March, "-1000")
	second.Digest = usage.DigestOf("late-2")
	second.Late = true
	inv = build1(t, b, invoice.Run{After: date(2026, 5, 20), At: date(2026, 6, 1), Billed: issued,
		Late: []invoice.LateUsage{{Billed: merged, Late: second}}}, s)
	var adj invoice.Line
	for _, x := range inv.Lines {
		if x.Kind == invoice.KindUsageAdjustment {
			adj = x
		}
	}
	require.Equal(t, "-20.00", adj.Amount.AmountString())
	require.Nil(t, adj.Prepaid)
	require.Equal(t, "-20.00", adj.Net.AmountString())
}

// TestPrepaidCorrectionNeedsThePeriodsLines: a correction that would give
// back to a commitment needs what its period drew, read from Run.Billed;
// without the period's lines the run fails, naming the period, rather than
// guess who gets the money back.
func TestPrepaidCorrectionNeedsThePeriodsLines(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	s, _, billed := prepaidMonths(t, b)
	_, err := b.Build(invoice.Run{After: date(2026, 5, 1), At: date(2026, 5, 20),
		Late: []invoice.LateUsage{{Billed: billed[time.April], Late: lateCalls(time.April, "-5000")}}}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrBilledIncomplete)
	var ue *invoice.UsageError
	require.True(t, errors.As(err, &ue), "%v", err)
	require.Equal(t, usage.MeterID("api_calls"), ue.Meter)
	require.True(t, date(2026, 4, 1).Equal(ue.Period.Start))
}

// TestPropertyPrepaidCorrectionsNeverGiveBackMoreThanDrawn: months of usage
// drawn on a commitment, then corrections up or down of random months over
// two later runs (each given every line issued before): no usage period
// ever gives back to the commitment more than it drew (what the period's
// lines covered, net, is never negative nor more than they billed), and
// what the commitment reports drawn is what the lines covered.
func TestPropertyPrepaidCorrectionsNeverGiveBackMoreThanDrawn(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	rapid.Check(t, func(rt *rapid.T) {
		s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
		amount := rapid.IntRange(1, 3000).Draw(rt, "commitment")
		s.Prepaid = []invoice.PrepaidCommitment{{ID: "c", Amount: decimal.NewFromInt(int64(amount)), Start: date(2026, 1, 1), End: date(2027, 1, 1), Meters: []usage.MeterID{"api_calls"}}}
		billed := map[time.Month]usage.Aggregate{}
		var issued []invoice.Line
		carry := func(inv invoice.Invoice) {
			issued = append(issued, inv.Lines...)
			s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = inv.Prepaid[0].Total, inv.Prepaid[0].Through
		}
		after := date(2025, 12, 31)
		for m := time.Month(0); m <= 4; m++ {
			at := date(2026, m+1, 1)
			run := invoice.Run{After: after, At: at, Billed: issued}
			if m > 0 {
				a := monthUsage("s1/api", m, strconv.Itoa(rapid.IntRange(0, 40000).Draw(rt, "calls")))
				billed[m] = a
				run.Usage = []usage.Aggregate{a}
			}
			carry(build1(rt, b, run, s))
			after = at
		}
		for k, at := range []time.Time{date(2026, 5, 20), date(2026, 6, 1)} {
			var late []invoice.LateUsage
			for m := time.January; m <= time.April; m++ {
				if !rapid.Bool().Draw(rt, "corrected") {
					continue
				}
				delta := rapid.IntRange(-int(billed[m].Value.IntPart()), 5000).Draw(rt, "delta")
				if delta == 0 {
					continue
				}
				l := monthUsage("s1/api", m, strconv.Itoa(delta))
				l.Digest = usage.DigestOf(usage.RecordID("late-" + strconv.Itoa(k) + m.String()))
				l.Late = true
				late = append(late, invoice.LateUsage{Billed: billed[m], Late: l})
				merged, err := billed[m].Merge(l)
				require.NoError(rt, err)
				billed[m] = merged
			}
			invs, err := b.Build(invoice.Run{After: after, At: at, Billed: issued, Late: late}, []invoice.Subscription{s})
			require.NoError(rt, err)
			if len(invs) == 1 {
				require.NoError(rt, invs[0].Check())
				carry(invs[0])
			} else {
				s.Prepaid[0].DrawnThrough = at
			}
			after = at
		}
		covered := map[time.Month]decimal.Decimal{}
		gross := map[time.Month]decimal.Decimal{}
		total := decimal.Zero
		for _, l := range issued {
			if l.Usage == nil {
				continue
			}
			m := l.Usage.Period.Start.Month()
			gross[m] = gross[m].Add(l.Amount.Amount()).Sub(l.Discount.Amount())
			if l.Prepaid != nil {
				covered[m] = covered[m].Add(l.Prepaid.Covered.Amount())
				total = total.Add(l.Prepaid.Covered.Amount())
			}
		}
		for m, c := range covered {
			require.False(rt, c.IsNegative(), "%s gave back %s more than it drew", m, c.Neg())
			require.True(rt, c.LessThanOrEqual(gross[m]), "%s covered %s of %s billed", m, c, gross[m])
		}
		require.True(rt, total.Equal(s.Prepaid[0].Drawn), "lines covered %s, the commitment says %s drawn", total, s.Prepaid[0].Drawn)
	})
}
