package invoice_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// TestPrepaidRolloverShare: "10% of what is unused rolls into the renewal,
// the rest expires". EUR 300.05 bought for the first quarter, 100 drawn:
// on 1 April 10% of the 200.05 left rolls over, rounded once, down, to
// the cent (20.00, where 20.005 is exact), and 180.05 expires on a
// breakage line dated 1 April. April's 65.00 of usage draws the 20.00
// (45.00 overage); nothing is left to expire on 1 July. On main a
// rollover kept all 200.05, so April was covered in full.
func TestPrepaidRolloverShare(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	c := invoice.PrepaidCommitment{ID: "q1", Amount: dec("300.05"), Start: date(2026, 1, 1), End: date(2026, 4, 1),
		Expiry: invoice.Rollover, RolloverEnd: date(2026, 7, 1), RolloverShare: ensemble.MustRatio("10%"),
		Drawn: dec("100"), DrawnThrough: date(2026, 3, 1)}
	s.Prepaid = []invoice.PrepaidCommitment{c}
	line := func(l invoice.Line) string {
		cov := "-"
		if l.Prepaid != nil {
			cov = l.Prepaid.Covered.AmountString()
		}
		return string(l.ID) + " " + l.Kind.String() + " " + l.Amount.AmountString() + " covered " + cov + " net " + l.Net.AmountString()
	}
	lines := func(inv invoice.Invoice) []string {
		var out []string
		for _, l := range inv.Lines {
			out = append(out, line(l))
		}
		return out
	}

	march := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{monthUsage("s1/api", time.March, "100")}}, s)
	require.Equal(t, []string{
		"s1/prepaid/q1/prepaid_breakage/20260401T000000Z prepaid_breakage 180.05 covered 180.05 net 0.00",
	}, lines(march)[1:]) // the first is March's usage line, in the free tier
	require.Equal(t, "180.05", march.Prepaid[0].Expired.AmountString())
	require.Equal(t, "20.00", march.Prepaid[0].Remaining.AmountString())

	s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = march.Prepaid[0].Total, march.Prepaid[0].Through
	april := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{monthUsage("s1/api", time.April, "2000")}}, s)
	require.Len(t, april.Lines, 1)
	require.Equal(t, "20.00", april.Lines[0].Prepaid.Covered.AmountString())
	require.Equal(t, "45.00", april.Lines[0].Net.AmountString())
	require.Equal(t, "0.00", april.Prepaid[0].Remaining.AmountString())

	// One run over March and April bills the same.
	s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = dec("100"), date(2026, 3, 1)
	both := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{
		monthUsage("s1/api", time.March, "100"), monthUsage("s1/api", time.April, "2000")}}, s)
	require.Equal(t, "180.05", both.Prepaid[0].Expired.AmountString())
	require.Equal(t, "0.00", both.Prepaid[0].Remaining.AmountString())
	require.Equal(t, "45.00", both.AmountDue.AmountString())
}

// TestPrepaidRolloverShareValidation: a share needs a rollover and lies in
// (0, 100%].
func TestPrepaidRolloverShareValidation(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{
		{ID: "a", Amount: dec("10"), Start: date(2026, 1, 1), End: date(2027, 1, 1), RolloverShare: ensemble.MustRatio("10%")},
		{ID: "b", Amount: dec("10"), Start: date(2026, 1, 1), End: date(2027, 1, 1), Expiry: invoice.Rollover, RolloverEnd: date(2027, 6, 1),
			RolloverShare: ensemble.MustRatio("110%")},
	}
	_, err := b.Build(invoice.Run{At: date(2026, 1, 1)}, []invoice.Subscription{s})
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
		require.ErrorIs(t, p.Err, invoice.ErrInvalid)
	}
	require.Equal(t, []string{"subscriptions[0].prepaid[0].rollover_share", "subscriptions[0].prepaid[1].rollover_share"}, paths)
}

// TestPropertyPrepaidRolloverShare: whatever was drawn before the term's
// end and the share rolled, what is left at the end splits exactly into
// what expires then and what rolls (the share of it rounded down to the
// cent), what draws after the end never passes what rolled, and the
// commitment ends all drawn or expired.
func TestPropertyPrepaidRolloverShare(t *testing.T) {
	b := builder(t, invoice.Options{})
	rapid.Check(t, func(t *rapid.T) {
		amount := rapid.Int64Range(1, 100000).Draw(t, "amount_cents")
		drawn := rapid.Int64Range(0, amount).Draw(t, "drawn_cents")
		pct := rapid.Int64Range(1, 100).Draw(t, "share_percent")
		calls := rapid.IntRange(0, 20000).Draw(t, "april_calls")
		cur := eur
		s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
		share := ensemble.MustRatio(strconv.FormatInt(pct, 10) + "%")
		s.Prepaid = []invoice.PrepaidCommitment{{ID: "q1", Amount: ensemble.MoneyFromMinor(amount, cur).Amount(), Start: date(2026, 1, 1), End: date(2026, 4, 1),
			Expiry: invoice.Rollover, RolloverEnd: date(2026, 7, 1), RolloverShare: share,
			Drawn: ensemble.MoneyFromMinor(drawn, cur).Amount(), DrawnThrough: date(2026, 3, 1)}}
		inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{
			monthUsage("s1/api", time.March, "100"), monthUsage("s1/api", time.April, strconv.Itoa(calls))}}, s)
		left := amount - drawn
		rolled := left * pct / 100 // rounded down
		var atEnd, atFinal, after int64
		for _, l := range inv.Lines {
			u, err := l.Amount.MinorUnits()
			require.NoError(t, err)
			switch {
			case l.Kind == invoice.KindPrepaidBreakage && l.Date.Equal(date(2026, 4, 1)):
				atEnd = u
			case l.Kind == invoice.KindPrepaidBreakage:
				atFinal = u
			case l.Prepaid != nil:
				c, err := l.Prepaid.Covered.MinorUnits()
				require.NoError(t, err)
				after += c
			}
		}
		require.Equal(t, left-rolled, atEnd, "expired at the term's end")
		require.LessOrEqual(t, after, rolled)
		require.Equal(t, rolled, after+atFinal, "what rolled is drawn or expires at the rollover's end")
		require.Equal(t, "0.00", inv.Prepaid[0].Remaining.AmountString())
		u, err := inv.Prepaid[0].Expired.MinorUnits()
		require.NoError(t, err)
		require.Equal(t, atEnd+atFinal, u)
	})
}

// TestPrepaidRolloverShareOfALateGiveBack: EUR 300 for the first quarter,
// 10% rolling over: March's 10,000 calls (225.00) draw on it, so 75.00 is
// left on 1 April, 7.50 rolls and 67.50 expires. A correction of March to
// 5,000 calls (125.00, −100.00) billed on 20 April gives March's 100.00
// back: only its 10% (10.00) rolls, the 90.00 expires on a breakage line
// of that run, so the rolled balance is 17.50, as if March had used 5,000
// calls from the start.
func TestPrepaidRolloverShareOfALateGiveBack(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "q1", Amount: dec("300"), Start: date(2026, 1, 1), End: date(2026, 4, 1),
		Expiry: invoice.Rollover, RolloverEnd: date(2026, 7, 1), RolloverShare: ensemble.MustRatio("10%"),
		DrawnThrough: date(2026, 3, 1)}}
	march := monthUsage("s1/api", time.March, "10000")
	inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{march}}, s)
	require.Equal(t, "67.50", inv.Prepaid[0].Expired.AmountString())
	require.Equal(t, "7.50", inv.Prepaid[0].Remaining.AmountString())
	s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = inv.Prepaid[0].Total, inv.Prepaid[0].Through

	late := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 4, 20), Billed: inv.Lines,
		Late: []invoice.LateUsage{{Billed: march, Late: lateCalls(time.March, "-5000")}}}, s)
	var got []string
	for _, l := range late.Lines {
		got = append(got, l.Kind.String()+" "+l.Amount.AmountString()+" net "+l.Net.AmountString())
	}
	require.Equal(t, []string{"usage_adjustment -100.00 net 0.00", "prepaid_breakage 90.00 net 0.00"}, got)
	require.Equal(t, "90.00", late.Prepaid[0].Expired.AmountString())
	require.Equal(t, "17.50", late.Prepaid[0].Remaining.AmountString())
}

// TestPropertyPrepaidRolloverShareSplitRuns: monthly runs from March to
// August, the host carrying what was drawn, bill what one run over them
// bills: the same breakage lines, the same cover of April's usage.
func TestPropertyPrepaidRolloverShareSplitRuns(t *testing.T) {
	b := builder(t, invoice.Options{})
	rapid.Check(t, func(t *rapid.T) {
		amount := rapid.Int64Range(1, 100000).Draw(t, "amount_cents")
		drawn := rapid.Int64Range(0, amount).Draw(t, "drawn_cents")
		pct := rapid.Int64Range(1, 100).Draw(t, "share_percent")
		calls := []int{rapid.IntRange(0, 20000).Draw(t, "march_calls"), rapid.IntRange(0, 20000).Draw(t, "april_calls")}
		s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
		s.Prepaid = []invoice.PrepaidCommitment{{ID: "q1", Amount: ensemble.MoneyFromMinor(amount, eur).Amount(), Start: date(2026, 1, 1), End: date(2026, 4, 1),
			Expiry: invoice.Rollover, RolloverEnd: date(2026, 7, 1), RolloverShare: ensemble.MustRatio(strconv.FormatInt(pct, 10) + "%"),
			Drawn: ensemble.MoneyFromMinor(drawn, eur).Amount(), DrawnThrough: date(2026, 3, 1)}}
		usageOf := map[time.Month]usage.Aggregate{time.March: monthUsage("s1/api", time.March, strconv.Itoa(calls[0])),
			time.April: monthUsage("s1/api", time.April, strconv.Itoa(calls[1]))}
		one := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{usageOf[time.March], usageOf[time.April]}}, s)
		summary := func(lines []invoice.Line) []string {
			var out []string
			for _, l := range lines {
				cov := "-"
				if l.Prepaid != nil {
					cov = l.Prepaid.Covered.AmountString()
				}
				out = append(out, string(l.ID)+" "+l.Amount.AmountString()+" "+cov+" "+l.Net.AmountString())
			}
			slices.Sort(out)
			return out
		}
		var split []invoice.Line
		for m := time.March; m < time.August; m++ {
			run := invoice.Run{After: date(2026, m, 1), At: date(2026, m+1, 1)}
			if a, ok := usageOf[m]; ok {
				run.Usage = []usage.Aggregate{a}
			}
			invs, err := b.Build(run, []invoice.Subscription{s})
			require.NoError(t, err)
			if len(invs) == 0 {
				s.Prepaid[0].DrawnThrough = run.At
				continue
			}
			split = append(split, invs[0].Lines...)
			for _, u := range invs[0].Prepaid {
				s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = u.Total, u.Through
			}
		}
		require.Equal(t, summary(one.Lines), summary(split))
	})
}

// TestPrepaidRolloverShareJSON: the share is optional in a document and
// round-trips.
func TestPrepaidRolloverShareJSON(t *testing.T) {
	var c invoice.PrepaidCommitment
	require.NoError(t, json.Unmarshal([]byte(`{"id":"q1","amount":"300","start":"2026-01-01T00:00:00Z","end":"2026-04-01T00:00:00Z",`+
		`"expiry":"rollover","rollover_end":"2026-07-01T00:00:00Z","rollover_share":"10%"}`), &c))
	require.Equal(t, 0, c.RolloverShare.Cmp(ensemble.MustRatio("0.1")))
	roundTrip(t, c)
	c.RolloverShare = ensemble.Ratio{}
	out, err := json.Marshal(c)
	require.NoError(t, err)
	require.NotContains(t, string(out), "rollover_share")
}
