package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/usage"
)

// A usage line's service period is the part of its usage period the item
// was in service, as a recurring line's is clipped to its segment. Transfer
// at EUR 0.10 a GB on an item activated on January 15, on a subscription
// anchored on the 1st with a minimum commitment of 100.00 a month and a EUR
// 300 prepaid commitment bought at activation (January 15 to January 15,
// 2027):
//   - January's 400 GB bill 40.00 for the usage period [Jan 1, Feb 1), of
//     which the item served [Jan 15, Feb 1): the line's Period starts on
//     January 15, inside the prepaid term, so the commitment covers all
//     40.00 (260.00 left) and nothing is billed in cash; the line carries
//     the order segment in force from January 15;
//   - the minimum commitment still counts it, in full, in January: owed
//     from activation round(100 × 17/31) = 54.84, spent 40.00, true-up
//     14.84;
//   - the usage period itself stays [Jan 1, Feb 1) everywhere usage is
//     keyed (the usage trace, UsageLines' periods, BilledUsage), so the
//     usage ledger and late usage pair as before.
func TestUsageServicePeriodStartsAtActivation(t *testing.T) {
	b := termsBuilder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	segRef := ensemble.Ref{Kind: order.RefSegment, ID: "o1/m/1"}
	sg := seg(date(2026, 1, 15), time.Time{}, pin("metered", 1), "1")
	sg.Refs = []ensemble.Ref{segRef}
	s := sub("s1", date(2026, 1, 1), item("m", sg))
	s.Commitment = &invoice.Commitment{Minimum: dec("100")}
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "p", Amount: dec("300"), Start: date(2026, 1, 15), End: date(2027, 1, 15), Meters: []usage.MeterID{"gb"}}}

	january := ensemble.MustPeriod(date(2026, 1, 1), date(2026, 2, 1))
	agg := usage.Aggregate{Line: "s1/m", Meter: "gb", Aggregation: usage.Sum, Period: january, Value: dec("400"),
		Records: 1, Digest: usage.DigestOf("r1")}
	run := invoice.Run{After: date(2026, 1, 1), At: date(2026, 2, 1), Usage: []usage.Aggregate{agg}}
	inv := build1(t, b, run, s)
	var got []string
	for _, l := range inv.Lines {
		cov := "-"
		if l.Prepaid != nil {
			cov = l.Prepaid.Covered.AmountString()
		}
		got = append(got, l.Kind.String()+" "+l.Amount.AmountString()+" covered "+cov+" net "+l.Net.AmountString())
		if l.Kind != invoice.KindUsage {
			continue
		}
		require.True(t, l.Period.Equal(ensemble.MustPeriod(date(2026, 1, 15), date(2026, 2, 1))), "service from activation: %s", l.Period)
		require.True(t, l.Cycle.Equal(january), "the cycle stays the usage period: %s", l.Cycle)
		require.True(t, l.Usage.Period.Equal(january), "the usage trace keeps the usage period: %s", l.Usage.Period)
		require.Contains(t, l.Refs, segRef, "the segment in force when the service starts")
	}
	require.ElementsMatch(t, []string{
		"prepayment 300.00 covered - net 300.00",
		"usage 40.00 covered 40.00 net 0.00",
		"commitment_true_up 14.84 covered - net 14.84",
	}, got)
	require.Equal(t, "260.00", inv.Prepaid[0].Remaining.AmountString())

	lines, err := b.UsageLines(date(2026, 2, 1), s)
	require.NoError(t, err)
	require.Len(t, lines, 1)
	require.Equal(t, []ensemble.Period{ensemble.MustPeriod(date(2026, 1, 15), date(2026, 2, 1))}, lines[0].Active)
	billed, err := b.BilledUsage(run, []invoice.Subscription{s}, []usage.Meter{{ID: "gb", Aggregation: usage.Sum}})
	require.NoError(t, err)
	require.Len(t, billed, 1)
	require.True(t, billed[0].Period.Equal(january), "billed usage is keyed by the usage period: %s", billed[0].Period)
}

// Progressive billing and a cancellation clip the same way: Transfer at
// EUR 0.10 a GB (minimum spend 5.00) on an item activated on March 10,
// billed progressively past 20.00, cancelled on March 25. 250 GB by March
// 20 bill 25.00 for [Mar 10, Mar 20); the period's final line, 300 GB at
// the cancellation, bills 30.00 - 25.00 = 5.00 for [Mar 10, Mar 25), due
// on March 25.
func TestUsageServicePeriodProgressiveAndCancelled(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	it := item("m", seg(date(2026, 3, 10), time.Time{}, pin("metered", 1), "1"))
	it.Thresholds = []invoice.UsageThreshold{{Meter: "gb", Amount: dec("20")}}
	s := sub("s1", date(2026, 3, 1), it)
	s.CancelAt = date(2026, 3, 25)
	march := ensemble.MustPeriod(date(2026, 3, 1), date(2026, 4, 1))
	so := func(v string, n int64) usage.Aggregate {
		return usage.Aggregate{Line: "s1/m", Meter: "gb", Aggregation: usage.Sum, Period: march, Value: dec(v), Records: n,
			Digest: usage.DigestOf(usage.RecordID(v))}
	}
	first := build1(t, b, invoice.Run{After: date(2026, 3, 10), At: date(2026, 3, 20),
		Progressive: []invoice.ProgressiveUsage{{Usage: so("250", 1)}}}, s)
	require.Len(t, first.Lines, 1)
	l := first.Lines[0]
	require.Equal(t, invoice.KindProgressiveUsage, l.Kind)
	require.Equal(t, "25.00", l.Amount.AmountString())
	require.True(t, l.Period.Equal(ensemble.MustPeriod(date(2026, 3, 10), date(2026, 3, 20))), "%s", l.Period)

	last := build1(t, b, invoice.Run{After: date(2026, 3, 20), At: date(2026, 4, 1),
		Progressive: []invoice.ProgressiveUsage{{Billed: so("250", 1), Usage: so("300", 2)}}}, s)
	require.Len(t, last.Lines, 1)
	l = last.Lines[0]
	require.Equal(t, invoice.KindUsage, l.Kind)
	require.Equal(t, "5.00", l.Amount.AmountString())
	require.True(t, l.Period.Equal(ensemble.MustPeriod(date(2026, 3, 10), date(2026, 3, 25))), "%s", l.Period)
	require.True(t, l.Date.Equal(date(2026, 3, 25)))
	require.True(t, l.Cycle.Equal(march))
}
