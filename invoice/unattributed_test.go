package invoice_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// TestUnattributedUsageBillsALineOfItsOwn is the aiapi trial's finding A6:
// most usage is direct, through no partner's integration. With
// usage.Meter.AllowUnattributed a record without the attribute is
// accepted as nobody's (on main it is rejected with ErrMissingAttribute,
// so the trial invented a value "direct", printed on the invoice): March,
// 2 direct hours, C1 3 and C2 5 at GBP 95.00 bill 950.00 as the charge's
// plain line of 190.00 with no attribution, and C1's 285.00 and C2's
// 475.00; a late direct hour in April's run is billed on the plain line
// too (95.00).
func TestUnattributedUsageBillsALineOfItsOwn(t *testing.T) {
	meters := []usage.Meter{{ID: "hours", Unit: "hour", Aggregation: usage.Sum, AttributeTo: "contractor", AllowUnattributed: true}}
	b := engBuilder(t, perHour)
	subs := engSubs()
	deliveries := [][]usage.Record{
		{hours("d1", "", "2", engDay(3, 10)), hours("m1", "C1", "3", engDay(3, 11)), hours("m2", "C2", "5", engDay(3, 12))},
		{hours("d2", "", "1", engDay(3, 30))},
	}
	var ledger usage.Ledger
	var billed []usage.Aggregate
	var lines []invoice.Line
	after := engDay(3, 1)
	for i, at := range []time.Time{engDay(4, 1), engDay(5, 1)} {
		ul, err := b.UsageLines(at, subs...)
		require.NoError(t, err)
		rep, err := usage.Collect(usage.Config{Meters: meters, Lines: ul, ClosedBefore: after, Ledger: ledger}, slices.Values(deliveries[i]))
		require.NoError(t, err)
		require.Empty(t, rep.Rejections)
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		require.NoError(t, err)
		run := invoice.Run{After: after, At: at, Usage: rep.Aggregates, Late: late}
		invs, err := b.Build(run, subs)
		require.NoError(t, err)
		for _, inv := range invs {
			for _, l := range inv.Lines {
				if l.Kind == invoice.KindUsage || l.Kind == invoice.KindUsageAdjustment {
					lines = append(lines, l)
				}
			}
		}
		done, err := b.BilledUsage(run, subs, meters)
		require.NoError(t, err)
		billed, ledger, after = append(billed, done...), rep.Ledger, at
	}
	require.Equal(t, []string{
		"acme-eng/eng/20260301T000000Z/engineering/hours/usage 2 GBP 190.00",
		"acme-eng/eng/20260301T000000Z/engineering/hours/usage/C1 3 GBP 285.00 contractor=C1 of 10 GBP 950.00",
		"acme-eng/eng/20260301T000000Z/engineering/hours/usage/C2 5 GBP 475.00 contractor=C2 of 10 GBP 950.00",
	}, linesText(lines[:3]))
	require.Nil(t, lines[0].Attribution)
	require.Equal(t, "On-site engineering: Hours", lines[0].Description)
	require.Len(t, lines, 4)
	require.Nil(t, lines[3].Attribution)
	require.Equal(t, "GBP 95.00", lines[3].Amount.String())

	// Without the option the direct record is refused, as before.
	meters[0].AllowUnattributed = false
	ul, err := b.UsageLines(engDay(4, 1), subs...)
	require.NoError(t, err)
	rep, err := usage.Collect(usage.Config{Meters: meters, Lines: ul}, slices.Values(deliveries[0]))
	require.NoError(t, err)
	require.Len(t, rep.Rejections, 1)
	require.ErrorIs(t, rep.Rejections[0], usage.ErrMissingAttribute)
}
