package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
)

// TestSpendProrationBackdatedFirstStretch: storage on security-s (EUR
// 5.00 monthly minimum prorated by service) runs January 1-10, then, all
// recorded late on February 12, restarts February 3, stops February 5
// and (in one case) restarts again February 7. Runs bill at January 12,
// February 10 (knowing only January) and March 1 (given Run.Billed). No
// run before March 1 knew February's first stretch, whose usage line fell
// due at its stop on February 5: the catch-up bills it, dated March 1,
// 5.00 × 2/28 = 0.36, and the stretch from February 7 its share on top,
// 24/28 in all, 4.29. Before, the stretch's share was refused (a
// *UsageError wrapping ErrBilledIncomplete: "the item restarted in the
// period after its usage was billed", a line no run issued), and without
// the second restart February billed nothing, where 0.36 was owed.
func TestSpendProrationBackdatedFirstStretch(t *testing.T) {
	jan1, jan10, jan12 := date(2026, 1, 1), date(2026, 1, 10), date(2026, 1, 12)
	feb1, feb3, feb5, feb7, feb10, feb12, mar1 := date(2026, 2, 1), date(2026, 2, 3), date(2026, 2, 5), date(2026, 2, 7), date(2026, 2, 10), date(2026, 2, 12), date(2026, 3, 1)
	b := prorationBuilder(t, invoice.Options{})
	febNet := func(lines []invoice.Line) string {
		var out []invoice.Line
		for _, l := range lines {
			if l.Usage != nil && l.Cycle.String() == period(feb1, mar1) {
				out = append(out, l)
			}
		}
		return sumNet(t, out).AmountString()
	}
	for _, tc := range []struct {
		name    string
		restart bool
		want    string
	}{
		{"one stretch", false, "0.36"},
		{"restarted after it", true, "4.29"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := seg(jan1, jan10, pin("security-s", 1), "1")
			first.Recorded, first.EndRecorded = jan1, jan10
			second := seg(feb3, feb5, pin("security-s", 1), "1")
			second.Recorded, second.EndRecorded = feb12, feb12
			segs := []invoice.Segment{first, second}
			if tc.restart {
				third := seg(feb7, time.Time{}, pin("security-s", 1), "1")
				third.Recorded = feb12
				segs = append(segs, third)
			}
			known := januarySub(first)
			var lines []invoice.Line
			for _, run := range []invoice.Run{{At: jan12}, {After: jan12, At: feb10}} {
				invs, err := b.Build(run, []invoice.Subscription{known})
				require.NoError(t, err)
				for _, inv := range invs {
					lines = append(lines, inv.Lines...)
				}
			}
			inv := build1(t, b, invoice.Run{After: feb10, At: mar1, Billed: lines}, januarySub(segs...))
			require.Equal(t, tc.want, febNet(inv.Lines), "%v", usageLines(inv))
			for _, l := range inv.Lines {
				if l.Usage != nil {
					require.True(t, l.Date.Equal(mar1), "%s dated %s", l.ID, l.Date)
				}
			}
			// As one run over the whole history bills it.
			one := build1(t, b, invoice.Run{At: mar1}, januarySub(segs...))
			require.Equal(t, tc.want, febNet(one.Lines), "%v", usageLines(one))
		})
	}
}
