package invoice_test

// From a review: a piece's spend share is recomputed from the item's segments at
// every run; a cancellation after the piece was billed changes it, and the
// late delta re-rates the billed side at the new share, not the one billed.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

func TestUsageSplitLateUsageKeepsTheShareBilled(t *testing.T) {
	apr1, apr15, apr20, apr25, may10 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 4, 20), date(2026, 4, 25), date(2026, 5, 10)
	open := storageSub(seg(apr1, apr15, pin("basic", 1), "1"), seg(apr15, time.Time{}, pin("plus", 1), "1"))
	cancelled := storageSub(seg(apr1, apr15, pin("basic", 1), "1"), seg(apr15, apr25, pin("plus", 1), "1"))
	b := splitBuilder(t, invoice.SplitAtChange)

	// April 20: the Basic piece (due at the change) bills 10 GB, below its
	// 7/15 of the EUR 20 minimum: 9.33.
	rep := collect(t, b, open, apr20, time.Time{}, usage.Ledger{}, gbRecord("r1", date(2026, 4, 3), "10"))
	run := invoice.Run{After: apr1, At: apr20, Usage: rep.Aggregates[:1]}
	first := build1(t, b, run, open)
	require.Equal(t, []string{"usage basic " + period(apr1, apr15) + " 9.33"}, usageLines(first))
	billed, err := b.BilledUsage(run, []invoice.Subscription{open}, gbMeters)
	require.NoError(t, err)

	// The item is cancelled on April 25; 190 GB more arrive late for April
	// 10: the piece used 200 GB, EUR 20.00, above any share of the minimum.
	rep2 := collect(t, b, cancelled, may10, apr20, rep.Ledger, gbRecord("r2", date(2026, 4, 10), "190"))
	pairs, err := invoice.LateUsageFrom(rep2.Adjustments, billed)
	require.NoError(t, err)
	invs, err := b.Build(invoice.Run{After: apr20, At: may10, Late: pairs, Usage: rep2.Aggregates}, []invoice.Subscription{cancelled})
	require.NoError(t, err)
	var adj string
	for _, l := range invs[0].Lines {
		if l.Kind == invoice.KindUsageAdjustment {
			adj = l.Amount.AmountString()
		}
	}
	// 9.33 billed + the adjustment must be the piece's 20.00: 10.67.
	require.Equal(t, "10.67", adj, "the late delta re-rated what was billed at a share it was not billed at")
}

// lateAdjustment returns the amount of inv's one usage adjustment line.
func lateAdjustment(t *testing.T, inv invoice.Invoice) string {
	t.Helper()
	var out []string
	for _, l := range inv.Lines {
		if l.Kind == invoice.KindUsageAdjustment {
			out = append(out, l.Amount.AmountString())
		}
	}
	require.Len(t, out, 1, "%v", amounts(inv))
	return out[0]
}

// TestUsageSplitStopLearntAfterThePieceKeepsItsShare: Basic (EUR 20
// minimum) until April 15, Plus (EUR 50 minimum) after, still open at the
// run of May 1, which bills Plus's idle piece its 8/15 of the minimum,
// 26.67. On May 3 a cancellation on April 25 is recorded, and 600 GB
// arrive late for April 20: the piece used EUR 30.00, so the late delta
// is 30.00 - 26.67 = 3.33. It billed 13.33 (40.00 for 30.00 of usage): the
// stop, learnt after the piece was billed, cut the piece's share to 10/30,
// and the delta re-rated what was billed at a share it was not billed at.
func TestUsageSplitStopLearntAfterThePieceKeepsItsShare(t *testing.T) {
	apr1, apr15, apr25, may1, may3, may10 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 4, 25), date(2026, 5, 1), date(2026, 5, 3), date(2026, 5, 10)
	open := storageSub(seg(apr1, apr15, pin("basic", 1), "1"), seg(apr15, time.Time{}, pin("plus", 1), "1"))
	b := splitBuilder(t, invoice.SplitAtChange)

	rep := collect(t, b, open, may1, time.Time{}, usage.Ledger{}, gbRecord("r1", date(2026, 4, 3), "50"))
	run := invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}
	first := build1(t, b, run, open)
	require.Equal(t, []string{"usage basic " + period(apr1, apr15) + " 9.33", "usage plus " + period(apr15, may1) + " 26.67"}, usageLines(first))
	billed, err := b.BilledUsage(run, []invoice.Subscription{open}, gbMeters)
	require.NoError(t, err)

	cancelled := open
	cancelled.CancelAt, cancelled.CancelRecorded = apr25, may3
	rep2 := collect(t, b, cancelled, may10, may1, rep.Ledger, gbRecord("r2", date(2026, 4, 20), "600"))
	pairs, err := invoice.LateUsageFrom(rep2.Adjustments, billed)
	require.NoError(t, err)
	late := build1(t, b, invoice.Run{After: may1, At: may10, Late: pairs, Billed: first.Lines}, cancelled)
	require.Equal(t, "3.33", lateAdjustment(t, late), "26.67 billed + the delta must be the piece's 30.00")
}
