package invoice_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
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
// the whole minimum once: 5.00, and 4.10 of usage stays under it. The
// stretch's line says what it owes; a run billing it after the period's
// usage line needs that line in Run.Billed (the usage it is rated with),
// or fails with a *UsageError wrapping ErrBilledIncomplete.
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

	t.Run("the stretch's line", func(t *testing.T) {
		inv := build1(t, b, invoice.Run{At: feb1}, paused("security-s"))
		require.Equal(t, []string{"usage security-s " + period(jan1, jan10) + " 1.45", "usage_adjustment security-s " + period(jan20, feb1) + " 1.94"}, usageLines(inv))
		l := inv.Lines[1]
		require.Equal(t, invoice.LineID("s1/storage/20260101T000000Z/security-s/gb/usage_adjustment/20260120T000000Z"), l.ID)
		require.True(t, l.Date.Equal(feb1))
		require.Equal(t, period(jan1, feb1), l.Cycle.String())
		require.True(t, l.Usage.SpendShare.Equal(ensemble.MustRatio("21/31")), "%s", l.Usage.SpendShare)
		require.True(t, l.Usage.SpendShareBilled.Equal(ensemble.MustRatio("9/31")), "%s", l.Usage.SpendShareBilled)
		require.True(t, inv.Lines[0].Usage.SpendShareBilled.IsZero())
		require.Contains(t, invoice.Explain(l), "service from 2026-01-20, after a restart in the period (spend proration: service): the period owes 21/31 of the charge's minimum and maximum spend, 9/31 billed before")
		roundTrip(t, l)
	})

	t.Run("a line discount", func(t *testing.T) {
		s := paused("security-s")
		for k := range s.Items[0].Segments {
			s.Items[0].Segments[k].Discount = ensemble.MustRatio("10%")
		}
		// 10% of the period's 3.39, taken cumulatively: 0.15 of the
		// first stretch's 1.45, then 0.34 - 0.15 = 0.19 of the 1.94.
		inv := build1(t, b, invoice.Run{At: feb1}, s)
		require.Equal(t, "3.05", januaryNet(t, inv.Lines), "%v", usageLines(inv))
		require.Len(t, inv.Lines[1].Discounts, 1)
		require.Equal(t, "0.19", inv.Lines[1].Discounts[0].Amount.AmountString())
	})

	t.Run("without Run.Billed", func(t *testing.T) {
		_, err := b.Build(invoice.Run{After: jan12, At: feb1}, []invoice.Subscription{paused("security-s")})
		require.ErrorIs(t, err, invoice.ErrBilledIncomplete)
		var ue *invoice.UsageError
		require.True(t, errors.As(err, &ue), "%v", err)
		require.Equal(t, usage.LineRef("s1/storage"), ue.Line)
		require.True(t, ue.Due.Equal(jan10), "%s", ue.Due)
		// Owed whole, the restart owes nothing more: no billed lines needed.
		_, err = b.Build(invoice.Run{After: jan12, At: feb1}, []invoice.Subscription{paused("security")})
		require.NoError(t, err)
	})

	t.Run("restart recorded after a run passed it", func(t *testing.T) {
		feb5, feb10 := date(2026, 2, 5), date(2026, 2, 10)
		late := paused("security-s")
		late.Items[0].Segments[1].Recorded = feb5 // back-dated: after the run of February 1
		for _, records := range []bool{false, true} {
			var recs []usage.Record
			if records {
				recs = []usage.Record{before}
			}
			rep := collect(t, b, stopped("security-s"), jan12, time.Time{}, usage.Ledger{}, recs...)
			run := invoice.Run{At: jan12, Usage: rep.Aggregates}
			first := build1(t, b, run, stopped("security-s"))
			billed, err := b.BilledUsage(run, []invoice.Subscription{stopped("security-s")}, gbMeters)
			require.NoError(t, err)
			invs, err := b.Build(invoice.Run{After: jan12, At: feb1}, []invoice.Subscription{stopped("security-s")})
			require.NoError(t, err)
			require.Empty(t, invs)

			third := invoice.Run{After: feb1, At: feb10, Billed: first.Lines}
			if records {
				rep3 := collect(t, b, late, feb10, feb1, rep.Ledger, after)
				third.Late, err = invoice.LateUsageFrom(rep3.Adjustments, billed)
				require.NoError(t, err)
			}
			inv := build1(t, b, third, late)
			lines := append(first.Lines, inv.Lines...)
			want := "3.39"
			if records {
				want = "4.10"
			}
			require.Equal(t, want, januaryNet(t, lines), "records %v: %v", records, usageLines(inv))
			for _, l := range inv.Lines {
				require.True(t, l.Date.Equal(feb10), "%s dated %s", l.ID, l.Date)
			}
		}
	})
}
