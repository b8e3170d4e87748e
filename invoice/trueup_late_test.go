package invoice_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// lateHours is hours of March's engineering that arrived after March was
// billed with billed hours.
func lateHours(billed, late string) invoice.LateUsage {
	b := hoursIn(date(2026, 3, 1), billed)
	l := hoursIn(date(2026, 3, 1), late)
	l.Digest = usage.DigestOf(usage.RecordID("late " + late))
	return invoice.LateUsage{Billed: b, Late: l}
}

// marchSum is what the lines of the invoices bill for March's engineering
// (usage, late usage and true-ups of the cycle starting March 1).
func marchSum(t *testing.T, invs ...invoice.Invoice) ensemble.Money {
	t.Helper()
	sum := ensemble.MoneyFromMinor(0, gbp)
	for _, inv := range invs {
		for _, l := range inv.Lines {
			if l.Pin.Offer == "engineering" && l.Cycle.Start.Equal(date(2026, 3, 1)) {
				var err error
				sum, err = sum.Add(l.Amount)
				require.NoError(t, err)
			}
		}
	}
	return sum
}

// TestLateUsageRecomputesTrueUp is the trial's case: a GBP 500.00 monthly
// minimum on engineering, March billed with 5 hours (475.00) and a 25.00
// true-up; one more hour (95.00) of March arrives late. The run billing it
// credits the 25.00 true-up the cycle no longer owes, so March comes to
// max(570.00, 500.00) = 570.00, where the runs billed 595.00. A usage
// correction lowering March to 4 hours (380.00) bills the 95.00 more of
// true-up it now owes (500.00 in all).
func TestLateUsageRecomputesTrueUp(t *testing.T) {
	b := scopeBuilder(t)
	s := trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
	first := build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s)
	march := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 3, 1), "5")}}, s)
	require.Equal(t, "25.00", trueUp(march).Amount.AmountString())
	billed := append(append([]invoice.Line(nil), first.Lines...), march.Lines...)

	april := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 4, 1), "6")},
		Late: []invoice.LateUsage{lateHours("5", "1")}, Billed: billed}, s)
	require.Equal(t, "570.00", marchSum(t, march, april).AmountString(), "max(570.00, 500.00)")
	adj := trueUp(april)
	require.NotNil(t, adj)
	require.Equal(t, "-25.00", adj.Amount.AmountString())
	require.Equal(t, trueUp(march).ID, adj.Credits)
	require.True(t, adj.Date.Equal(date(2026, 5, 1)))
	require.True(t, adj.Cycle.Start.Equal(date(2026, 3, 1)))
	require.Equal(t, "engineering hours", string(adj.Pin.Offer)+" "+string(adj.Charge))
	require.Contains(t, invoice.Explain(*adj), "GBP 570.00")

	// A correction taking an hour back bills the true-up March now owes.
	corr := lateHours("5", "-1")
	april2 := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 4, 1), "6")},
		Late: []invoice.LateUsage{corr}, Billed: billed}, s)
	require.Equal(t, "500.00", marchSum(t, march, april2).AmountString())
	require.Equal(t, "95.00", trueUp(april2).Amount.AmountString())

	// Both, in two runs: +1 hour, then -2 (4 hours in all: 380.00).
	billed2 := append(append([]invoice.Line(nil), billed...), april.Lines...)
	both := lateHours("6", "-2")
	both.Billed.Records = 2
	may := build1(t, b, invoice.Run{After: date(2026, 5, 1), At: date(2026, 6, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 5, 1), "6")},
		Late: []invoice.LateUsage{both}, Billed: billed2}, s)
	require.Equal(t, "500.00", marchSum(t, march, april, may).AmountString())

	// The correction's true-up, then 2 hours late (570.00): the 120.00 of
	// true-up billed is credited line by line, the latest first, each at
	// most what it billed, so settlement never over-credits one.
	billed3 := append(append([]invoice.Line(nil), billed...), april2.Lines...)
	two := lateHours("4", "2")
	may2 := build1(t, b, invoice.Run{After: date(2026, 5, 1), At: date(2026, 6, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 5, 1), "6")},
		Late: []invoice.LateUsage{two}, Billed: billed3}, s)
	require.Equal(t, "570.00", marchSum(t, march, april2, may2).AmountString())
	var credits []string
	for _, l := range may2.Lines {
		if l.Kind == invoice.KindCommitmentTrueUp {
			credits = append(credits, string(l.ID)+" "+l.Amount.AmountString()+" credits "+string(l.Credits))
		}
	}
	require.Equal(t, []string{
		"acme/commitment/20260301T000000Z/20260601T000000Z -95.00 credits acme/commitment/20260301T000000Z/20260501T000000Z",
		"acme/commitment/20260301T000000Z/20260601T000000Z/2 -25.00 credits acme/commitment/20260301T000000Z",
	}, credits)

	// Without what earlier runs billed, the run cannot tell what March's
	// true-up was: a typed error, never a guess.
	_, err := b.Build(invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 4, 1), "6")},
		Late: []invoice.LateUsage{lateHours("5", "1")}}, []invoice.Subscription{s})
	require.True(t, errors.Is(err, invoice.ErrBilledIncomplete), "%v", err)
	// Nor without the true-up line itself.
	noTrueUp := append(append([]invoice.Line(nil), first.Lines...), march.Lines...)
	noTrueUp = deleteKind(noTrueUp, invoice.KindCommitmentTrueUp)
	_, err = b.Build(invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 4, 1), "6")},
		Late: []invoice.LateUsage{lateHours("5", "1")}, Billed: noTrueUp}, []invoice.Subscription{s})
	require.True(t, errors.Is(err, invoice.ErrBilledIncomplete), "%v", err)
}

func deleteKind(ls []invoice.Line, k invoice.LineKind) []invoice.Line {
	out := ls[:0]
	for _, l := range ls {
		if l.Kind != k {
			out = append(out, l)
		}
	}
	return out
}

// TestLateUsageTrueUpWithPrepaid: a EUR 500.00 monthly minimum beside EUR
// 1,200 prepaid for the year. January's 10,000 calls (225.00) are covered
// and fall 275.00 short; 10,000 more calls of January arrive late (200.00
// more, covered too): covered consumption counts, so the late run credits
// 200.00 of the true-up (75.00 left), never drawn from the commitment.
func TestLateUsageTrueUpWithPrepaid(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Commitment = &invoice.Commitment{Minimum: dec("500")}
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "c", Amount: dec("1200"), Start: date(2026, 1, 1), End: date(2027, 1, 1)}}
	jan := build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, 2, 1), Usage: []usage.Aggregate{monthUsage("s1/api", time.January, "10000")}}, s)
	require.Equal(t, "275.00", trueUp(jan).Amount.AmountString())
	s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = dec("225"), date(2026, 2, 1)
	late := monthUsage("s1/api", time.January, "10000")
	late.Digest, late.Late = usage.DigestOf("late"), true
	feb := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1), Usage: []usage.Aggregate{monthUsage("s1/api", time.February, "25000")},
		Late: []invoice.LateUsage{{Billed: monthUsage("s1/api", time.January, "10000"), Late: late}}, Billed: jan.Lines}, s)
	var got []string
	for _, l := range feb.Lines {
		if l.Cycle.Start.Equal(date(2026, 1, 1)) {
			cov := "-"
			if l.Prepaid != nil {
				cov = l.Prepaid.Covered.AmountString()
			}
			got = append(got, l.Kind.String()+" "+l.Amount.AmountString()+" "+cov)
		}
	}
	slices.Sort(got)
	require.Equal(t, []string{"commitment_true_up -200.00 -", "usage_adjustment 200.00 200.00"}, got)
}
