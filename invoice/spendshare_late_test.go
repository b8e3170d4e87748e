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
