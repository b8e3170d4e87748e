package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// TestAttributedLateExplainSaysItsParts: the contractor trial's late
// January hours (anna 40 billed, 5 late; cara 3 late; 78 in all) were
// explained as "45 of the charge's 78, so EUR 600.00 of its EUR 960.00
// (in proportion to quantity)", which 45/78 of 960.00 (553.85) is not:
// a late line bills the value's part of rate(cumulative) less its part of
// rate(billed). Here C1 bills 3 hours and C2 2 in March, then 1 and 2
// late: C1's late line is 95.00 of the adjustment's 285.00, not 4/8 of it.
func TestAttributedLateExplainSaysItsParts(t *testing.T) {
	lines, err := billRuns(engBuilder(t, perHour), []time.Time{engDay(4, 1), engDay(5, 1)}, [][]usage.Record{
		{hours("m1", "C1", "3", engDay(3, 10)), hours("m2", "C2", "2", engDay(3, 11))},
		{hours("m3", "C1", "1", engDay(3, 20)), hours("m4", "C2", "2", engDay(3, 21))},
	})
	require.NoError(t, err)
	var late []invoice.Line
	for _, l := range lines {
		if l.Kind == invoice.KindUsageAdjustment {
			late = append(late, l)
		}
	}
	require.Len(t, late, 2)
	c1, c2 := invoice.Explain(late[0]), invoice.Explain(late[1])
	require.Contains(t, c1, "attributed to contractor C1: 4 of the charge's 8 now, 3 billed before; its part of rate(cumulative) less its part of rate(billed): GBP 95.00 of the adjustment's GBP 285.00 (each part in proportion to quantity, largest remainder)")
	require.Contains(t, c2, "attributed to contractor C2: 4 of the charge's 8 now, 2 billed before; its part of rate(cumulative) less its part of rate(billed): GBP 190.00 of the adjustment's GBP 285.00")
	require.NotContains(t, c1, "so GBP 95.00 of its GBP 285.00", "4 of 8 is not 95.00 of 285.00")
}
