package invoice_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// seatsAt is 10 Basic seats from February 1 2026 (anchor February 1),
// recorded then; from, when set, changes them to qty from that instant,
// recorded at rec.
func seatsAt(from, rec time.Time, qty string) invoice.Subscription {
	first := seg(date(2026, 2, 1), time.Time{}, pin("basic", 1), "10")
	first.Recorded = date(2026, 2, 1)
	it := item("i1", first)
	if !from.IsZero() {
		it.Segments[0].End, it.Segments[0].EndRecorded = from, rec
		next := seg(from, time.Time{}, pin("basic", 1), qty)
		next.Recorded = rec
		it.Segments = append(it.Segments, next)
	}
	return sub("s1", date(2026, 2, 1), it)
}

// runs bills s (as known before the change, then after it) in monthly
// runs from February 1, the runs from change on given the lines earlier
// runs issued; it returns their invoices.
func runs(t *testing.T, b *invoice.Builder, before, after invoice.Subscription, change time.Time, until time.Time) []invoice.Invoice {
	t.Helper()
	var out []invoice.Invoice
	var issued []invoice.Line
	var prev time.Time
	for at := date(2026, 2, 1); !at.After(until); at = at.AddDate(0, 1, 0) {
		s := before
		if at.After(change) {
			s = after
		}
		invs, err := b.Build(invoice.Run{After: prev, At: at, Billed: issued}, []invoice.Subscription{s})
		require.NoError(t, err, "run at %s", at.Format(time.DateOnly))
		for _, inv := range invs {
			require.NoError(t, inv.Check())
			out = append(out, inv)
			issued = append(issued, inv.Lines...)
		}
		prev = at
	}
	return out
}

// A back-dated change without the lines earlier runs issued is a
// *BackdatedError wrapping ErrBackdated, naming the subscription, item,
// field and instants, never a run that bills without it: 12 seats from
// February 20, recorded March 5, after the run at March 1 billed February
// and March for 10. So are a cancellation and a discount recorded late.
// Left zero, Recorded bills as before it existed.
func TestBackdatedChangeWithoutBilledIsTypedError(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	run := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1)}
	tests := []struct {
		name  string
		edit  func(*invoice.Subscription)
		item  invoice.ItemID
		field string
		eff   time.Time
	}{
		{"a quantity change", func(s *invoice.Subscription) { *s = seatsAt(date(2026, 2, 20), date(2026, 3, 5), "12") }, "i1", "segments[1].start", date(2026, 2, 20)},
		{"a cancellation", func(s *invoice.Subscription) { s.CancelAt, s.CancelRecorded = date(2026, 2, 10), date(2026, 3, 5) }, "", "cancel_at", date(2026, 2, 10)},
		// Nothing of March is left to recompute, yet March was billed.
		{"a cancellation where March starts", func(s *invoice.Subscription) { s.CancelAt, s.CancelRecorded = date(2026, 3, 1), date(2026, 3, 5) }, "", "cancel_at", date(2026, 3, 1)},
		{"a discount", func(s *invoice.Subscription) {
			s.Discounts = []invoice.Discount{{ID: "promo", Percent: ensemble.MustRatio("10%"), Start: date(2026, 2, 15), Recorded: date(2026, 3, 5)}}
		}, "", "discounts[0].start", date(2026, 2, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := seatsAt(time.Time{}, time.Time{}, "")
			tc.edit(&s)
			_, err := b.Build(run, []invoice.Subscription{s})
			require.ErrorIs(t, err, invoice.ErrBackdated)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			var be *invoice.BackdatedError
			require.ErrorAs(t, err, &be)
			require.Equal(t, invoice.SubscriptionID("s1"), be.Subscription)
			require.Equal(t, tc.item, be.Item)
			require.Equal(t, tc.field, be.Field)
			require.True(t, tc.eff.Equal(be.Effective), "effective %s", be.Effective)
			require.True(t, date(2026, 3, 5).Equal(be.Recorded))
			require.True(t, run.After.Equal(be.After))
			require.Contains(t, err.Error(), "Run.Billed")

			// Given what was billed, the run catches up.
			first := build1(t, b, invoice.Run{At: date(2026, 2, 1)}, seatsAt(time.Time{}, time.Time{}, ""))
			second := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, seatsAt(time.Time{}, time.Time{}, ""))
			run := run
			run.Billed = append(slices.Clone(first.Lines), second.Lines...)
			build1(t, b, run, s)
		})
	}

	t.Run("an end recorded without an end is invalid", func(t *testing.T) {
		s := seatsAt(time.Time{}, time.Time{}, "")
		s.Items[0].Segments[0].EndRecorded = date(2026, 3, 5)
		s.CancelRecorded = date(2026, 3, 5)
		err := b.Validate(run, []invoice.Subscription{s})
		require.ErrorIs(t, err, invoice.ErrInvalid)
		require.ErrorContains(t, err, "subscriptions[0].items[0].segments[0].end_recorded")
		require.ErrorContains(t, err, "subscriptions[0].cancel_recorded")
	})
	t.Run("recorded left zero bills as before", func(t *testing.T) {
		s := seatsAt(date(2026, 2, 20), date(2026, 3, 5), "12")
		s.Items[0].Segments[0].EndRecorded, s.Items[0].Segments[1].Recorded = time.Time{}, time.Time{}
		inv := build1(t, b, run, s)
		require.Equal(t, []string{"recurring seats 120.00"}, amounts(inv), "April only, as before")
	})
}

// A run cannot tell from the segments whether an earlier run billed
// anything a back-dated change touches, so without Run.Billed it is the
// error even when none did: Support is billed in arrears, the run at
// January 20 billed nothing, and 3 hours from January 15, recorded January
// 25, are ErrBackdated at February 1. A subscription no run has billed yet
// is billed from the beginning (Run.After zero), as one run bills it.
func TestBackdatedChangeOfASubscriptionNeverBilledBillsFromTheBeginning(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	first := seg(date(2026, 1, 10), date(2026, 1, 15), pin("support", 1), "2")
	first.Recorded, first.EndRecorded = date(2026, 1, 10), date(2026, 1, 25)
	next := seg(date(2026, 1, 15), time.Time{}, pin("support", 1), "3")
	next.Recorded = date(2026, 1, 25)
	s := sub("s1", date(2026, 1, 1), item("i1", first, next))
	_, err := b.Build(invoice.Run{After: date(2026, 1, 20), At: date(2026, 2, 1)}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrBackdated)
	inv := build1(t, b, invoice.Run{At: date(2026, 2, 1)}, s)
	require.Equal(t, []string{"recurring hours 6.45", "recurring hours 32.90"}, amounts(inv), "2 × 20 × 5/31 and 3 × 20 × 17/31")
}

// Billed in arrears, a line whose service a back-dated change cuts is
// reversed and billed anew under an ID of its own: 2 Support hours billed
// for February (40.00) at March 1; on March 10 the host records 3 hours
// from February 15. The run at April 1 reverses February's 40.00, bills
// February 1 to 15 anew (2 × 20 × 14/28 = 20.00, Reissues naming the
// line it stands for) and February 15 to March 1 for 3 hours (30.00).
func TestBackdatedChangeReissuesAnArrearsLine(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	support := func(from time.Time) invoice.Subscription {
		s := seatsAt(from, date(2026, 3, 10), "3")
		for k := range s.Items[0].Segments {
			s.Items[0].Segments[k].Pin = pin("support", 1)
		}
		s.Items[0].Segments[0].Quantity = dec("2")
		return s
	}
	invs := runs(t, b, support(time.Time{}), support(date(2026, 2, 15)), date(2026, 3, 10), date(2026, 4, 1))
	require.Len(t, invs, 2)
	feb := invs[0].Lines[0]
	require.Equal(t, "40.00", feb.Net.AmountString())
	apr := invs[1]
	require.Equal(t, []string{"recurring hours 20.00", "reversal hours -40.00", "recurring hours 30.00", "recurring hours 60.00"}, amounts(apr))
	again, reversal := apr.Lines[0], apr.Lines[1]
	require.Equal(t, feb.ID, again.Reissues)
	require.Equal(t, invoice.LineID(string(feb.ID)+"/reissue/20260401T000000Z"), again.ID)
	require.Equal(t, feb.ID, reversal.Credits)
	require.True(t, date(2026, 4, 1).Equal(reversal.Date), "a reversal is dated at the run")
	require.Contains(t, invoice.Explain(again), "bills line "+string(feb.ID)+" anew")
	require.Contains(t, invoice.Explain(reversal), "reverses it")
	roundTrip(t, apr)
	one := build1(t, b, invoice.Run{At: date(2026, 4, 1)}, support(date(2026, 2, 15)))
	total, err := feb.Net.Add(apr.Subtotal)
	require.NoError(t, err)
	require.True(t, one.Subtotal.Equal(total), "one run %s, the runs %s", one.Subtotal, total)
}

// A reversal gives back only what credit notes left of the line, so the
// two never give back more than it billed: a 10% goodwill credit of
// March's 100.00 (10.00) before the host records, on March 5, 12 seats
// from February 20; the run at April 1 reverses 90.00 of March and bills
// 120.00 anew, carrying the note's 10.00 to it: the runs and the note bill
// what one run bills less the note.
func TestBackdatedReversalGivesBackWhatCreditNotesLeft(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	before := seatsAt(time.Time{}, time.Time{}, "")
	feb := build1(t, b, invoice.Run{At: date(2026, 2, 1)}, before)
	mar := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, before)
	mar, err := invoice.Issue(mar, date(2026, 3, 1))
	require.NoError(t, err)
	cn, err := invoice.NewCreditNote(mar, nil, invoice.CreditRequest{ID: "sla", Reason: invoice.ReasonGoodwill, At: date(2026, 3, 3),
		Lines: []invoice.CreditLine{{Line: mar.Lines[0].ID, Percent: ensemble.MustRatio("10%")}}})
	require.NoError(t, err)
	billed := append(append(slices.Clone(feb.Lines), mar.Lines...), cn.Lines...)
	after := seatsAt(date(2026, 2, 20), date(2026, 3, 5), "12")
	apr := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Billed: billed}, after)
	require.Equal(t, []string{"proration_credit seats -32.14", "recurring seats 38.57", "recurring seats 120.00", "credit_note seats -10.00", "reversal seats -90.00", "recurring seats 120.00"}, amounts(apr))

	one := build1(t, b, invoice.Run{At: date(2026, 4, 1)}, after)
	got := money("0")
	for _, m := range []ensemble.Money{feb.Subtotal, mar.Subtotal, cn.Subtotal, apr.Subtotal} {
		got, err = got.Add(m)
		require.NoError(t, err)
	}
	want, err := one.Subtotal.Add(cn.Subtotal)
	require.NoError(t, err)
	require.True(t, want.Equal(got), "one run and the note %s, the runs and the note %s", want, got)
	require.Equal(t, "-90.00", apr.Lines[4].Total.AmountString())

	// Told of the reversal, a later credit note finds nothing left of the
	// line to credit.
	rem, err := invoice.Remaining(mar, []invoice.CreditNote{cn}, apr.Lines...)
	require.NoError(t, err)
	require.Len(t, rem, 1)
	require.True(t, rem[0].Total.IsZero(), "%s left", rem[0].Total)
	_, err = invoice.NewCreditNote(mar, []invoice.CreditNote{cn}, invoice.CreditRequest{ID: "again", Reason: invoice.ReasonRefund, At: date(2026, 4, 2),
		Lines: []invoice.CreditLine{{Line: mar.Lines[0].ID}}, Prorated: apr.Lines})
	require.ErrorIs(t, err, invoice.ErrNotCreditable)
}

// A proration credit of a line billed anew credits the line billed anew,
// what it billed: a run on March 10 catches up 12 seats from February 20
// (recorded March 5), billing March anew for 12; a change to 15 seats on
// March 20, recorded then, is billed at April 1 as usual, and its credit
// of March's unused part credits the line billed anew (120.00 × 12/31).
func TestCreditOfAReissuedLineCreditsIt(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	before := seatsAt(time.Time{}, time.Time{}, "")
	feb := build1(t, b, invoice.Run{At: date(2026, 2, 1)}, before)
	mar := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, before)
	billed := append(slices.Clone(feb.Lines), mar.Lines...)
	after := seatsAt(date(2026, 2, 20), date(2026, 3, 5), "12")
	mid := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 3, 10), Billed: billed}, after)
	var again invoice.Line
	for _, l := range mid.Lines {
		if l.Reissues != "" {
			again = l
		}
	}
	require.Equal(t, mar.Lines[0].ID, again.Reissues)
	billed = append(billed, mid.Lines...)

	later := after
	later.Items[0].Segments[1].End, later.Items[0].Segments[1].EndRecorded = date(2026, 3, 20), date(2026, 3, 20)
	third := seg(date(2026, 3, 20), time.Time{}, pin("basic", 1), "15")
	third.Recorded = date(2026, 3, 20)
	later.Items[0].Segments = append(later.Items[0].Segments, third)
	apr := build1(t, b, invoice.Run{After: date(2026, 3, 10), At: date(2026, 4, 1), Billed: billed}, later)
	var credit invoice.Line
	for _, l := range apr.Lines {
		if l.Kind == invoice.KindProrationCredit {
			credit = l
		}
	}
	require.Equal(t, again.ID, credit.Credits, "credits the line that stands")
	require.Equal(t, "-46.45", credit.Amount.AmountString(), "120.00 × 12/31")
	require.Contains(t, credit.Refs, ensemble.Ref{Kind: invoice.RefLine, ID: string(again.ID)})
}

// A line no change touches is never reversed: the catch-up of a change
// on February 20 leaves January's lines of an item activated in January
// as they were billed, even passed in Run.Billed with the rest.
func TestBackdatedChangeLeavesEarlierCyclesAlone(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	s := func(changed bool) invoice.Subscription {
		x := seatsAt(time.Time{}, time.Time{}, "")
		if changed {
			x = seatsAt(date(2026, 2, 20), date(2026, 3, 5), "12")
		}
		x.Anchor = date(2026, 1, 1)
		x.Items[0].Segments[0].Start, x.Items[0].Segments[0].Recorded = date(2026, 1, 10), date(2026, 1, 10)
		return x
	}
	var issued []invoice.Line
	prev := time.Time{}
	for _, at := range []time.Time{date(2026, 1, 10), date(2026, 2, 1), date(2026, 3, 1)} {
		inv := build1(t, b, invoice.Run{After: prev, At: at, Billed: issued}, s(false))
		issued = append(issued, inv.Lines...)
		prev = at
	}
	apr := build1(t, b, invoice.Run{After: prev, At: date(2026, 4, 1), Billed: issued}, s(true))
	for _, l := range apr.Lines {
		require.False(t, l.Cycle.Start.Before(date(2026, 2, 1)), "line %s of January", l.ID)
		if l.Kind == invoice.KindReversal {
			require.True(t, strings.Contains(string(l.Credits), "20260301"), "only March is reversed: %s", l.Credits)
		}
	}
}

// A line billed in arrears is due when its charge ends in the cycle, which
// a back-dated stop can move before the change a later run catches up;
// the line is no less billed: 1 Support hour from January 10 to 15, paused
// to January 20, billed at February 1 (both January lines due then); on
// February 10 the host records the stop from January 15, and the run at
// March 1 reverses the line from January 20 and keeps the other, now due
// January 15; on March 5 a 10% discount from February is recorded, and
// the run at April 1 has nothing to bill or reverse. (It reversed the
// line from January 10, due February 1 as billed but January 15 as
// recomputed: a case rapid found.)
func TestBackdatedChangeLeavesALineNowDueEarlierAlone(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	a := seg(date(2026, 1, 10), date(2026, 1, 15), pin("support", 1), "1")
	a.Recorded, a.EndRecorded = date(2026, 1, 10), date(2026, 1, 10)
	later := seg(date(2026, 1, 20), time.Time{}, pin("support", 1), "1")
	later.Recorded = date(2026, 1, 10)
	s := sub("s1", date(2026, 1, 1), item("i1", a, later))
	feb := build1(t, b, invoice.Run{At: date(2026, 2, 1)}, s)
	require.Equal(t, []string{"recurring hours 3.22", "recurring hours 7.74"}, amounts(feb))

	s.Items[0].Segments = s.Items[0].Segments[:1]
	s.Items[0].Segments[0].EndRecorded = date(2026, 2, 10)
	mar := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1), Billed: feb.Lines}, s)
	require.Equal(t, []string{"reversal hours -7.74"}, amounts(mar))

	s.Discounts = []invoice.Discount{{ID: "promo", Percent: ensemble.MustRatio("10%"), Start: date(2026, 2, 3), Recorded: date(2026, 3, 5)}}
	apr, err := b.Build(invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Billed: append(slices.Clone(feb.Lines), mar.Lines...)}, []invoice.Subscription{s})
	require.NoError(t, err)
	require.Empty(t, apr, "nothing to bill, nothing to reverse")
	one := build1(t, b, invoice.Run{At: date(2026, 4, 1)}, s)
	got, err := feb.Subtotal.Add(mar.Subtotal)
	require.NoError(t, err)
	require.True(t, one.Subtotal.Equal(got), "one run %s, the runs %s", one.Subtotal, got)
}

// A run catching up a back-dated change reconciles it with Run.Billed; a
// line earlier runs issued that is missing there would be taken for one no
// run billed, and billed again. Where the run can tell the line was
// issued, it is a *BilledIncompleteError (ErrBilledIncomplete) naming the
// line: 10 Basic seats billed for February and March, and on March 5 12
// seats from February 20; given only March's lines, the run at April 1
// billed February's 100.00 a second time (246.43 for 146.43).
func TestBackdatedCatchUpRefusesAnIncompleteBilled(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	before := seatsAt(time.Time{}, time.Time{}, "")
	after := seatsAt(date(2026, 2, 20), date(2026, 3, 5), "12")
	feb := build1(t, b, invoice.Run{At: date(2026, 2, 1)}, before)
	mar := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, before)
	apr := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1)}
	requireMissing := func(t *testing.T, err error, line invoice.LineID, due time.Time) {
		t.Helper()
		require.ErrorIs(t, err, invoice.ErrBilledIncomplete)
		var be *invoice.BilledIncompleteError
		require.ErrorAs(t, err, &be)
		require.Equal(t, invoice.SubscriptionID("s1"), be.Subscription)
		require.Equal(t, line, be.Line)
		require.True(t, due.Equal(be.Due), "due %s", be.Due)
		require.Contains(t, err.Error(), "Run.Billed")
	}

	t.Run("a line of the cycle the change takes effect in", func(t *testing.T) {
		run := apr
		run.Billed = mar.Lines
		_, err := b.Build(run, []invoice.Subscription{after})
		requireMissing(t, err, feb.Lines[0].ID, date(2026, 2, 1))
		var be *invoice.BilledIncompleteError
		require.ErrorAs(t, err, &be)
		require.Equal(t, invoice.ItemID("i1"), be.Item)
		require.True(t, date(2026, 2, 20).Equal(be.Effective))

		run.Billed = append(slices.Clone(feb.Lines), mar.Lines...)
		got := build1(t, b, run, after)
		require.Equal(t, "146.43", got.Subtotal.AmountString(), "-32.14 + 38.57 + 120.00 - 100.00 + 120.00")
	})
	t.Run("a line billed after the change takes effect", func(t *testing.T) {
		// A second item, untouched, billed in advance from a segment
		// recorded before the run: its March line was issued.
		two := func(s invoice.Subscription) invoice.Subscription {
			it := item("i2", seg(date(2026, 2, 1), time.Time{}, pin("pro", 1), "1"))
			it.Segments[0].Recorded = date(2026, 2, 1)
			s.Items = append(s.Items, it)
			return s
		}
		febTwo := build1(t, b, invoice.Run{At: date(2026, 2, 1)}, two(before))
		marTwo := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, two(before))
		var i2 invoice.Line
		for _, l := range marTwo.Lines {
			if l.Item == "i2" {
				i2 = l
			}
		}
		run := apr
		for _, l := range append(slices.Clone(febTwo.Lines), marTwo.Lines...) {
			if l.ID != i2.ID {
				run.Billed = append(run.Billed, l)
			}
		}
		_, err := b.Build(run, []invoice.Subscription{two(after)})
		requireMissing(t, err, i2.ID, date(2026, 3, 1))
	})
	t.Run("the reversal of a line billed anew", func(t *testing.T) {
		run := apr
		run.Billed = append(slices.Clone(feb.Lines), mar.Lines...)
		caught := build1(t, b, run, after)
		billed := append(slices.Clone(run.Billed), caught.Lines...)
		var reversal invoice.LineID
		billed = slices.DeleteFunc(billed, func(l invoice.Line) bool {
			if l.Kind == invoice.KindReversal {
				reversal = l.ID
				return true
			}
			return false
		})
		// A stop from March 20, recorded April 5, catches up March again:
		// without the reversal, the line billed for March and the one
		// billed anew would both be reversed.
		later := after
		later.Items[0].Segments[1].End, later.Items[0].Segments[1].EndRecorded = date(2026, 3, 20), date(2026, 4, 5)
		_, err := b.Build(invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Billed: billed}, []invoice.Subscription{later})
		requireMissing(t, err, reversal, time.Time{})
	})
}

// A fixed discount is taken once per invoice period, and a run catching up
// a back-dated change bills lines for periods earlier invoices billed: 10
// Basic seats with EUR 5.00 off, billed for February and March, then on
// March 5 12 seats from February 20. For ever, the run at April 1 reversed
// March (95.00, its 5.00 off given back) and took 5.00 once off the three
// lines it billed (February 20's, March's anew and April's): the runs
// billed 501.43 where 5.00 off each of four invoices is 496.43. Now March
// billed anew keeps March's 5.00 and April takes its own. For February
// only, it took February's 5.00 again off February 20's line (506.43 for
// 511.43, what one run bills); now that line takes what February's line
// left of it, nothing.
func TestBackdatedCatchUpTakesAFixedDiscountOncePerPeriod(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	tests := []struct {
		name     string
		discount invoice.Discount
		total    string
		april    []string
	}{
		{"for ever", invoice.Discount{ID: "promo", Amount: dec("5")}, "496.43",
			[]string{"recurring seats 38.57 net 38.57", "recurring seats 120.00 net 115.00", "reversal seats -95.00 net -95.00", "recurring seats 120.00 net 115.00"}},
		{"for February", invoice.Discount{ID: "promo", Amount: dec("5"), Duration: invoice.Once}, "511.43",
			[]string{"recurring seats 38.57 net 38.57", "recurring seats 120.00 net 120.00", "reversal seats -100.00 net -100.00", "recurring seats 120.00 net 120.00"}},
		// 150.00 off March, more than it bills: March billed anew takes
		// the 100.00 its first line took and 20.00 more of what is left.
		{"more than March bills", invoice.Discount{ID: "promo", Amount: dec("150"), Duration: invoice.Once, Start: date(2026, 3, 1)}, "396.43",
			[]string{"recurring seats 38.57 net 38.57", "recurring seats 120.00 net 0.00", "reversal seats 0.00 net 0.00", "recurring seats 120.00 net 120.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			with := func(s invoice.Subscription) invoice.Subscription {
				s.Discounts = []invoice.Discount{tc.discount}
				return s
			}
			invs := runs(t, b, with(seatsAt(time.Time{}, time.Time{}, "")), with(seatsAt(date(2026, 2, 20), date(2026, 3, 5), "12")), date(2026, 3, 5), date(2026, 5, 1))
			got := billedInAll(t, invs)
			require.Equal(t, tc.total, got.AmountString())
			require.Len(t, invs, 4)
			var april []string
			for _, l := range invs[2].Lines {
				if l.Kind != invoice.KindProrationCredit {
					april = append(april, l.Kind.String()+" "+string(l.Charge)+" "+l.Amount.AmountString()+" net "+l.Net.AmountString())
				}
			}
			require.Equal(t, tc.april, april)
		})
	}
}

// A credit note of a line a back-dated change reverses is carried to the
// line billed anew, so the customer keeps the credit: 20 Basic seats billed
// 200.00 for March, then an SLA credit of 12.00 (10.00 and 2.00 tax),
// borne by the seller; on March 5 the host records 24 seats from February
// 20. The run at April 1 reverses what the note left of March (190.00)
// and bills March anew (240.00) with the note's 10.00 carried to it, so
// March bills 230.00 net, where it billed 240.00: the note was billed
// back. A stop from March 20, recorded April 5, credits the unused part of
// what the carried credit left, as a proration credit after the note does
// when everything is recorded on time: the runs and the note bill what
// those runs and the note bill.
func TestBackdatedCatchUpCarriesACreditNoteToTheLineBilledAnew(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: taxes})
	twenty := func(from, rec time.Time, stop time.Time) invoice.Subscription {
		s := seatsAt(from, rec, "24")
		s.Items[0].Segments[0].Quantity = dec("20")
		if !stop.IsZero() {
			last := &s.Items[0].Segments[len(s.Items[0].Segments)-1]
			last.End, last.EndRecorded = stop, date(2026, 4, 5)
		}
		return s
	}
	note := func(t *testing.T, mar invoice.Invoice) invoice.CreditNote {
		t.Helper()
		mar, err := invoice.Issue(mar, date(2026, 3, 1))
		require.NoError(t, err)
		var seats invoice.LineID
		for _, l := range mar.Lines {
			if l.Charge == "seats" {
				seats = l.ID
			}
		}
		cn, err := invoice.NewCreditNote(mar, nil, invoice.CreditRequest{ID: "sla", Reason: invoice.ReasonSLA, Incident: "inc-7", At: date(2026, 3, 3),
			Bearer: invoice.Bearer{Role: "seller"}, Lines: []invoice.CreditLine{{Line: seats, Amount: dec("12.00")}}})
		require.NoError(t, err)
		return cn
	}
	// bill runs monthly from February to May, the subscription as known
	// at each run, raising the note after the run at March 1, and returns
	// the invoices and the note.
	bill := func(t *testing.T, known func(at time.Time) invoice.Subscription) ([]invoice.Invoice, invoice.CreditNote) {
		t.Helper()
		var invs []invoice.Invoice
		var cn invoice.CreditNote
		var issued []invoice.Line
		var prev time.Time
		for at := date(2026, 2, 1); !at.After(date(2026, 5, 1)); at = at.AddDate(0, 1, 0) {
			got, err := b.Build(invoice.Run{After: prev, At: at, Billed: issued}, []invoice.Subscription{known(at)})
			require.NoError(t, err, "run at %s", at.Format(time.DateOnly))
			for _, inv := range got {
				require.NoError(t, inv.Check())
				invs = append(invs, inv)
				issued = append(issued, inv.Lines...)
				if at.Equal(date(2026, 3, 1)) {
					cn = note(t, inv)
					issued = append(issued, cn.Lines...)
				}
			}
			prev = at
		}
		return invs, cn
	}
	late, cn := bill(t, func(at time.Time) invoice.Subscription {
		switch {
		case at.Before(date(2026, 3, 5)):
			return twenty(time.Time{}, time.Time{}, time.Time{})
		case at.Before(date(2026, 4, 5)):
			return twenty(date(2026, 2, 20), date(2026, 3, 5), time.Time{})
		}
		return twenty(date(2026, 2, 20), date(2026, 3, 5), date(2026, 3, 20))
	})
	require.Len(t, late, 4)
	apr := late[2]
	var again, carried invoice.Line
	for _, l := range apr.Lines {
		switch {
		case l.Reissues != "":
			again = l
		case l.Kind == invoice.KindCreditNote:
			carried = l
		}
	}
	require.Equal(t, cn.Lines[0].Credits, again.Reissues, "March billed anew")
	require.Equal(t, "240.00", again.Net.AmountString())
	require.Equal(t, again.ID, carried.Credits, "the note's credit is carried to March billed anew")
	require.Equal(t, []string{"-10.00", "-2.00"}, []string{carried.Net.AmountString(), carried.Tax.AmountString()})
	require.Equal(t, invoice.Bearer{Role: "seller"}, carried.Bearer)
	require.Contains(t, carried.Refs, ensemble.Ref{Kind: invoice.RefIncident, ID: "inc-7"})
	require.Contains(t, carried.Refs, ensemble.Ref{Kind: invoice.RefLine, ID: string(cn.Lines[0].ID)})
	march := money("0")
	for _, l := range append(append(slices.Clone(late[1].Lines), cn.Lines...), apr.Lines...) {
		if l.Cycle.Start.Equal(date(2026, 3, 1)) && l.Kind != invoice.KindProrationCredit {
			var err error
			march, err = march.Add(l.Net)
			require.NoError(t, err)
		}
	}
	require.Equal(t, "230.00", march.AmountString(), "March's 240.00 less the 10.00 credited")
	apr, err := invoice.Issue(apr, date(2026, 4, 1))
	require.NoError(t, err)
	rem, err := invoice.Remaining(apr, nil)
	require.NoError(t, err)
	for _, r := range rem {
		if r.Line == again.ID {
			require.Equal(t, "276.00", r.Total.AmountString(), "288.00 billed anew, 12.00 carried")
		}
	}

	// Everything recorded on time, the note raised on March as billed.
	onTime, cnOnTime := bill(t, func(at time.Time) invoice.Subscription {
		s := twenty(date(2026, 2, 20), time.Time{}, date(2026, 3, 20))
		s.Items[0].Segments[0].EndRecorded, s.Items[0].Segments[1].EndRecorded = time.Time{}, time.Time{}
		return s
	})
	sum := func(invs []invoice.Invoice, cn invoice.CreditNote) (ensemble.Money, ensemble.Money) {
		net, tax := cn.Subtotal, cn.Tax
		for _, inv := range invs {
			var e1, e2 error
			net, e1 = net.Add(inv.Subtotal)
			tax, e2 = tax.Add(inv.Tax)
			require.NoError(t, errors.Join(e1, e2))
		}
		return net, tax
	}
	gotNet, gotTax := sum(late, cn)
	wantNet, wantTax := sum(onTime, cnOnTime)
	require.Equal(t, []string{wantNet.AmountString(), wantTax.AmountString()}, []string{gotNet.AmountString(), gotTax.AmountString()},
		"the runs and the note, net and tax, as on time")
}

// A line billed anew takes an ID of its own even when Run.Billed lacks the
// line it stands for (a host keeping only the lines that stand): March
// billed for 10 seats, billed anew for 12 at April 1 (12 from February 20,
// recorded March 5), then for 15 at May 1 (15 from March 1, recorded
// April 20), given the lines without March's first. The line billed anew
// at May 1 took the ID of March's first line, as if it were that line: a
// line ID billed twice, which settlement takes for a line settled already.
func TestBackdatedLineBilledAnewKeepsAnIDOfItsOwn(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	before := seatsAt(time.Time{}, time.Time{}, "")
	after := seatsAt(date(2026, 2, 20), date(2026, 3, 5), "12")
	feb := build1(t, b, invoice.Run{At: date(2026, 2, 1)}, before)
	mar := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, before)
	apr := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Billed: append(slices.Clone(feb.Lines), mar.Lines...)}, after)
	march := mar.Lines[0].ID
	var billed []invoice.Line
	for _, l := range append(append(slices.Clone(feb.Lines), mar.Lines...), apr.Lines...) {
		if l.ID != march && l.Credits != march {
			billed = append(billed, l)
		}
	}
	later := after
	later.Items[0].Segments[1].End, later.Items[0].Segments[1].EndRecorded = date(2026, 3, 1), date(2026, 4, 20)
	third := seg(date(2026, 3, 1), time.Time{}, pin("basic", 1), "15")
	third.Recorded = date(2026, 4, 20)
	later.Items[0].Segments = append(later.Items[0].Segments, third)
	may := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Billed: billed}, later)
	ids := map[invoice.LineID]bool{}
	for _, inv := range []invoice.Invoice{feb, mar, apr, may} {
		for _, l := range inv.Lines {
			require.False(t, ids[l.ID], "line %s billed twice", l.ID)
			ids[l.ID] = true
		}
	}
	var again []invoice.LineID
	for _, l := range may.Lines {
		if l.Reissues == march {
			again = append(again, l.ID)
		}
	}
	require.Equal(t, []invoice.LineID{march + "/reissue/20260501T000000Z"}, again)
}
