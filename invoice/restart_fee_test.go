package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// termSub is Basic (EUR 10 a month in advance, EUR 50 set-up) from
// February 1 2026 on a 12-month term with an item fee of EUR 100 and a
// subscription fee of EUR 300 for ending inside it, in segs.
func termSub(segs ...invoice.Segment) invoice.Subscription {
	year := ensemble.Every(12, ensemble.Monthly)
	s := sub("s1", date(2026, 2, 1), item("i", segs...))
	s.Term = invoice.Term{Length: year, EarlyTermination: &invoice.EarlyTermination{Amount: dec("300")}}
	s.Items[0].Term = invoice.Term{Length: year, EarlyTermination: &invoice.EarlyTermination{Amount: dec("100")}}
	return s
}

// recordedAt is sg recorded at rec, its end at endRec.
func recordedAt(sg invoice.Segment, rec, endRec time.Time) invoice.Segment {
	sg.Recorded, sg.EndRecorded = rec, endRec
	return sg
}

// A stop inside the term bills the early-termination fees (the item's EUR
// 100, the subscription's 300: it has no other item); a restart recorded
// after the stop turns it into a pause, so the fees are reversed at the
// restart, crediting the lines that billed them. Whatever the runs, the
// fees net to nothing: one run over the span bills them and their
// reversals. The fees used to stay billed.
func TestRestartReversesEarlyTerminationFee(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := termSub(
		recordedAt(seg(date(2026, 2, 1), date(2026, 2, 6), pin("basic", 1), "1"), date(2026, 2, 1), date(2026, 2, 6)),
		recordedAt(seg(date(2026, 2, 15), time.Time{}, pin("basic", 1), "1"), date(2026, 2, 15), time.Time{}))
	per, issued := restartRuns(t, b, s, date(2026, 2, 10), date(2026, 3, 1))
	require.Equal(t, [][]string{
		{"early_termination  300.00", "proration_credit seats -8.21", "recurring seats 10.00", "one_time setup 50.00", "early_termination  100.00"},
		{"early_termination  -300.00", "recurring seats 5.00", "early_termination  -100.00", "recurring seats 10.00"},
	}, per)
	fees := map[invoice.LineID]invoice.Line{}
	for _, l := range issued {
		if l.Kind == invoice.KindEarlyTermination && l.Credits == "" {
			fees[l.ID] = l
		}
	}
	for _, l := range issued {
		if l.Kind != invoice.KindEarlyTermination || l.Credits == "" {
			continue
		}
		fee, ok := fees[l.Credits]
		require.True(t, ok, "%s credits %s, not a fee", l.ID, l.Credits)
		require.True(t, fee.Net.Neg().Equal(l.Net), "%s reverses %s of %s", l.ID, l.Net, fee.Net)
		require.True(t, date(2026, 2, 15).Equal(l.Date), "due at the restart")
		require.True(t, fee.Period.Equal(l.Period), "the fee's period")
		require.True(t, l.Cycle.Start.Equal(l.Date) && l.Cycle.End.Equal(l.Date), "the restart's instant")
		require.Contains(t, invoice.Explain(l), "restart recorded after")
	}
	require.Len(t, fees, 2)

	one := build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s)
	require.True(t, one.Subtotal.Equal(sumNet(t, issued)), "one run %s, the runs %s", one.Subtotal, sumNet(t, issued))
}

// A pause known before the stop took effect (the restart recorded first)
// is no end: no fee is billed, in any run.
func TestScheduledPauseOwesNoFee(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := termSub(
		recordedAt(seg(date(2026, 2, 1), date(2026, 2, 6), pin("basic", 1), "1"), date(2026, 2, 1), date(2026, 2, 3)),
		recordedAt(seg(date(2026, 2, 15), time.Time{}, pin("basic", 1), "1"), date(2026, 2, 3), time.Time{}))
	for _, at := range []time.Time{date(2026, 2, 10), date(2026, 3, 1)} {
		inv := build1(t, b, invoice.Run{At: at}, s)
		for _, l := range inv.Lines {
			require.NotEqual(t, invoice.KindEarlyTermination, l.Kind, l.ID)
		}
	}
}

// A restart that does not say when it was recorded (Recorded zero) was
// known from the start, as any segment that does not say is (see
// Segment.Recorded): its stop is a pause, no run bills a fee for it, and
// the restart owes no reversal. A host that learns a restart after the
// stop took effect says when (TestRestartReversesEarlyTerminationFee).
func TestUnrecordedRestartIsAPause(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := termSub(
		recordedAt(seg(date(2026, 2, 1), date(2026, 2, 6), pin("basic", 1), "1"), date(2026, 2, 1), date(2026, 2, 6)),
		seg(date(2026, 2, 15), time.Time{}, pin("basic", 1), "1"))
	first := build1(t, b, invoice.Run{At: date(2026, 2, 10)}, s)
	second := build1(t, b, invoice.Run{After: date(2026, 2, 10), At: date(2026, 3, 1)}, s)
	require.Equal(t, []string{"proration_credit seats -8.21", "recurring seats 10.00", "one_time setup 50.00"}, amounts(first))
	require.Equal(t, []string{"recurring seats 5.00", "recurring seats 10.00"}, amounts(second))
}

// A stop is a pause when any restart after it was known as it took
// effect, not only the first: every item stops on February 6, one with its
// restart on the 20th scheduled on February 3, the other restarting on the
// 12th, recorded then. The subscription never ended, so its fee is owed in
// no run; the run of March 1 used to reverse a fee no run had billed
// (-300.00), the first restart having been recorded after the stop.
func TestSubscriptionPauseKnownByALaterRestart(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 2, 1),
		item("a",
			recordedAt(seg(date(2026, 2, 1), date(2026, 2, 6), pin("basic", 1), "1"), date(2026, 2, 1), date(2026, 2, 6)),
			recordedAt(seg(date(2026, 2, 12), time.Time{}, pin("basic", 1), "1"), date(2026, 2, 12), time.Time{})),
		item("b",
			recordedAt(seg(date(2026, 2, 1), date(2026, 2, 6), pin("basic", 1), "1"), date(2026, 2, 1), date(2026, 2, 3)),
			recordedAt(seg(date(2026, 2, 20), time.Time{}, pin("basic", 1), "1"), date(2026, 2, 3), time.Time{})))
	s.Term = invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{Amount: dec("300")}}
	visible := func(at time.Time) invoice.Subscription {
		out := s
		out.Items = nil
		for _, it := range s.Items {
			var segs []invoice.Segment
			for _, sg := range it.Segments {
				if !sg.Recorded.After(at) {
					if sg.EndRecorded.After(at) {
						sg.End, sg.EndRecorded = time.Time{}, time.Time{}
					}
					segs = append(segs, sg)
				}
			}
			it.Segments = segs
			out.Items = append(out.Items, it)
		}
		return out
	}
	var after time.Time
	for _, at := range []time.Time{date(2026, 2, 10), date(2026, 3, 1)} {
		inv := build1(t, b, invoice.Run{After: after, At: at}, visible(at))
		for _, l := range inv.Lines {
			require.NotEqual(t, invoice.KindEarlyTermination, l.Kind, "run at %s: %s %s", at.Format(time.DateOnly), l.ID, l.Amount)
		}
		after = at
	}
}

// A subscription with a minimum commitment or a prepaid commitment whose
// every item stopped, billed as its end, then restarted: the run that
// billed the stop billed the commitment's end (February's true-up up to the
// stop, 1,000 × 5/28 - 51.79 = 126.78; the prepaid EUR 300 but 10.00 drawn
// expired as breakage, 290.00), which this version cannot undo: the run of
// the restart refuses (a *RestartError wrapping ErrRestartAfterEnd, naming
// the lines) where it used to bill February's true-up again (943.21 more,
// 1,069.99 for the 943.21 one run bills) or bill the restarted seats in
// cash with the prepaid sum expired. A stop whose true-up came to nothing
// restarts as ever.
func TestRestartAfterTheCommitmentsEnd(t *testing.T) {
	b := builder(t, invoice.Options{})
	stop := recordedAt(seg(date(2026, 2, 1), date(2026, 2, 6), pin("basic", 1), "1"), date(2026, 2, 1), date(2026, 2, 6))
	restart := recordedAt(seg(date(2026, 2, 15), time.Time{}, pin("basic", 1), "1"), date(2026, 2, 15), time.Time{})
	second := invoice.Run{After: date(2026, 2, 10), At: date(2026, 3, 1)}
	for _, tc := range []struct {
		name   string
		commit func(*invoice.Subscription)
		billed string // the line billed at the stop as the end
	}{
		{"a minimum commitment", func(s *invoice.Subscription) { s.Commitment = &invoice.Commitment{Minimum: dec("1000")} },
			"commitment_true_up  126.78"},
		{"a prepaid commitment", func(s *invoice.Subscription) {
			s.Prepaid = []invoice.PrepaidCommitment{{ID: "p", Amount: dec("300"), Start: date(2026, 2, 1), End: date(2027, 2, 1), Charges: []catalog.ChargeID{"seats"}}}
		}, "prepaid_breakage  290.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sub("s1", date(2026, 2, 1), item("i", stop))
			tc.commit(&s)
			first := build1(t, b, invoice.Run{At: date(2026, 2, 10)}, s)
			var end invoice.LineID
			for _, l := range first.Lines {
				if l.Kind == invoice.KindCommitmentTrueUp || l.Kind == invoice.KindPrepaidBreakage {
					require.Equal(t, tc.billed, l.Kind.String()+" "+string(l.Charge)+" "+l.Amount.AmountString())
					end = l.ID
				}
			}
			require.NotEmpty(t, end)
			s.Items[0].Segments = append(s.Items[0].Segments, restart)
			for _, billed := range [][]invoice.Line{nil, first.Lines} {
				run := second
				run.Billed = billed
				if len(s.Prepaid) > 0 && len(first.Prepaid) > 0 {
					s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = first.Prepaid[0].Total, first.Prepaid[0].Through
				}
				_, err := b.Build(run, []invoice.Subscription{s})
				require.ErrorIs(t, err, invoice.ErrRestartAfterEnd)
				var re *invoice.RestartError
				require.ErrorAs(t, err, &re)
				require.True(t, date(2026, 2, 6).Equal(re.Stop) && date(2026, 2, 15).Equal(re.Restart))
				if billed != nil {
					require.Equal(t, []invoice.LineID{end}, re.Billed)
				}
			}
		})
	}

	// February's true-up up to the stop came to nothing (100 × 5/28 =
	// 17.86, short of the 51.79 billed): the restart bills the month's
	// (100 - 56.79 = 43.21), as one run does.
	s := sub("s1", date(2026, 2, 1), item("i", stop))
	s.Commitment = &invoice.Commitment{Minimum: dec("100")}
	first := build1(t, b, invoice.Run{At: date(2026, 2, 10)}, s)
	s.Items[0].Segments = append(s.Items[0].Segments, restart)
	run := second
	run.Billed = first.Lines
	inv := build1(t, b, run, s)
	require.Contains(t, amounts(inv), "commitment_true_up  43.21")
}

// A fee and its reversal go together when a run catches up a back-dated
// change (Run.Billed): a stop recorded on February 2 but effective on
// January 2 takes away the restart of January 3 that had reversed the fee
// (its reversal is counted with the fee, as a proration credit is with its
// line, where reversing it on its own was refused as over-crediting), and
// a restart on April 1, the term's end, recorded on April 2 reverses the
// fee billed on January 2 in the run that catches it up (the reversal is
// due at the restart, which the catch-up reaches, where it was left out as
// lying outside the term), crediting the fee's line that stands (billed
// anew after a back-dated stop took an earlier restart away), not the one
// reversed. The runs bill what one run over the history bills.
func TestBackdatedChangesAndFeeReversals(t *testing.T) {
	b := builder(t, invoice.Options{})
	quarter := invoice.Term{Length: ensemble.Every(3, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{Amount: dec("100")}}
	mk := func(segs ...invoice.Segment) invoice.Subscription {
		s := sub("s1", date(2026, 1, 1), item("i", segs...))
		s.Items[0].Term = quarter
		return s
	}
	first := recordedAt(seg(date(2026, 1, 1), date(2026, 1, 2), pin("basic", 1), "1"), date(2026, 1, 1), date(2026, 1, 2))
	for _, tc := range []struct {
		name  string
		known []invoice.Subscription // as known at each run, from February 1 on, a month apart
	}{
		{"a back-dated stop takes the restart away", []invoice.Subscription{
			mk(first, recordedAt(seg(date(2026, 1, 3), time.Time{}, pin("basic", 1), "1"), date(2026, 1, 3), time.Time{})),
			mk(recordedAt(first, date(2026, 1, 1), date(2026, 2, 2))),
		}},
		{"a restart at the term's end recorded late", []invoice.Subscription{
			mk(first), mk(first), mk(first),
			mk(first, recordedAt(seg(date(2026, 4, 1), time.Time{}, pin("basic", 1), "1"), date(2026, 4, 2), time.Time{})),
		}},
		{"a fee billed anew, then reversed by a restart recorded late", []invoice.Subscription{
			mk(first, recordedAt(seg(date(2026, 1, 10), time.Time{}, pin("basic", 1), "1"), date(2026, 1, 10), time.Time{})),
			mk(recordedAt(first, date(2026, 1, 1), date(2026, 2, 2))),
			mk(recordedAt(first, date(2026, 1, 1), date(2026, 2, 2))),
			mk(recordedAt(first, date(2026, 1, 1), date(2026, 2, 2)), recordedAt(seg(date(2026, 4, 1), time.Time{}, pin("basic", 1), "1"), date(2026, 4, 2), time.Time{})),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var issued []invoice.Line
			var after time.Time
			at := date(2026, 2, 1)
			for _, s := range tc.known {
				run := invoice.Run{After: after, At: at, Billed: issued}
				invs, err := b.Build(run, []invoice.Subscription{s})
				require.NoError(t, err, "run at %s", at.Format(time.DateOnly))
				for _, inv := range invs {
					require.NoError(t, inv.Check())
					issued = append(issued, inv.Lines...)
				}
				after, at = at, at.AddDate(0, 1, 0)
			}
			ids := map[invoice.LineID]bool{}
			for _, l := range issued {
				require.False(t, ids[l.ID], "line %s issued twice", l.ID)
				ids[l.ID] = true
			}
			// A fee's reversal issued after the fee was reversed credits
			// the line that stands for it.
			reversed := map[invoice.LineID]bool{}
			for _, l := range issued {
				if l.Kind == invoice.KindReversal {
					reversed[l.Credits] = true
				}
				if l.Kind == invoice.KindEarlyTermination && l.Credits != "" {
					require.False(t, reversed[l.Credits], "%s credits %s, reversed before", l.ID, l.Credits)
				}
			}
			one := build1(t, b, invoice.Run{At: after}, tc.known[len(tc.known)-1])
			require.True(t, one.Subtotal.Equal(sumNet(t, issued)), "one run bills %s, the runs %s", one.Subtotal, sumNet(t, issued))
		})
	}
}
