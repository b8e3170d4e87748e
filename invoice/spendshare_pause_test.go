package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// januaryNet adds up the net of the usage lines (usage, late usage and
// spend top-ups) of January's usage period among lines.
func januaryNet(t *testing.T, lines []invoice.Line) string {
	t.Helper()
	jan := period(date(2026, 1, 1), date(2026, 2, 1))
	var usageLines []invoice.Line
	for _, l := range lines {
		if l.Usage != nil && l.Cycle.String() == jan {
			usageLines = append(usageLines, l)
		}
	}
	return sumNet(t, usageLines).AmountString()
}

// TestSpendProrationServiceAcrossAPause is the README's case: storage on
// security-s (EUR 0.01 per GB, a monthly EUR 5.00 minimum prorated by
// service) from January 1, stopped on January 10 and restarted on January
// 20, in service 21 of January's 31 days. January owes 5.00 × 21/31 =
// 3.39, not 5.00 × 9/31 = 1.45 (the service up to the stop, where the
// period's usage line is due): the stretch from the restart owes its
// 12/31, 1.94, billed at its end. So do runs split at any instants, the
// restart learnt at the stop or after a run billed it; 400 GB recorded
// after the restart (late usage of the period) and 10 GB before it bill
// 4.10 in all, the minimum once. Owed whole (security), the pause bills
// the whole minimum once: 5.00, and 4.10 of usage stays under it.
func TestSpendProrationServiceAcrossAPause(t *testing.T) {
	jan1, jan3, jan10, jan12, jan20, jan25, feb1 := date(2026, 1, 1), date(2026, 1, 3), date(2026, 1, 10), date(2026, 1, 12), date(2026, 1, 20), date(2026, 1, 25), date(2026, 2, 1)
	b := prorationBuilder(t, invoice.Options{})
	paused := func(offer string) invoice.Subscription {
		s := januarySub(seg(jan1, jan10, pin(offer, 1), "1"), seg(jan20, time.Time{}, pin(offer, 1), "1"))
		s.Items[0].Segments[0].EndRecorded = jan10
		s.Items[0].Segments[1].Recorded = jan20
		return s
	}
	stopped := func(offer string) invoice.Subscription { // as known before the restart
		s := paused(offer)
		s.Items[0].Segments = s.Items[0].Segments[:1]
		return s
	}
	before, after := gbRecord("r1", jan3, "10"), gbRecord("r2", jan25, "400")

	for _, tc := range []struct {
		offer          string
		idle, withLate string
	}{
		{"security-s", "3.39", "4.10"},
		{"security", "5.00", "5.00"},
	} {
		t.Run(tc.offer+"/one run", func(t *testing.T) {
			s := paused(tc.offer)
			inv := build1(t, b, invoice.Run{At: feb1}, s)
			require.Equal(t, tc.idle, januaryNet(t, inv.Lines), "%v", usageLines(inv))

			rep := collect(t, b, s, feb1, time.Time{}, usage.Ledger{}, before, after)
			inv = build1(t, b, invoice.Run{At: feb1, Usage: rep.Aggregates}, s)
			require.Equal(t, tc.withLate, januaryNet(t, inv.Lines), "%v", usageLines(inv))
		})

		t.Run(tc.offer+"/restart learnt after the stop was billed", func(t *testing.T) {
			for _, records := range []bool{false, true} {
				var recs []usage.Record
				if records {
					recs = []usage.Record{before}
				}
				rep := collect(t, b, stopped(tc.offer), jan12, time.Time{}, usage.Ledger{}, recs...)
				run := invoice.Run{At: jan12, Usage: rep.Aggregates}
				first := build1(t, b, run, stopped(tc.offer))
				billed, err := b.BilledUsage(run, []invoice.Subscription{stopped(tc.offer)}, gbMeters)
				require.NoError(t, err)

				second := invoice.Run{After: jan12, At: feb1, Billed: first.Lines}
				if records {
					rep2 := collect(t, b, paused(tc.offer), feb1, jan12, rep.Ledger, after)
					second.Late, err = invoice.LateUsageFrom(rep2.Adjustments, billed)
					require.NoError(t, err)
				}
				invs, err := b.Build(second, []invoice.Subscription{paused(tc.offer)})
				require.NoError(t, err)
				lines := first.Lines
				for _, inv := range invs {
					require.NoError(t, inv.Check())
					lines = append(lines, inv.Lines...)
				}
				want := tc.idle
				if records {
					want = tc.withLate
				}
				require.Equal(t, want, januaryNet(t, lines), "records %v: %v", records, lines)
			}
		})
	}
}
