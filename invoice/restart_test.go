package invoice_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// restartRuns bills s as a host learns it, one run per instant: before each run
// the host knows the segments that started by then, an open one open until
// its end has passed. It returns each run's lines (kind, charge, amount)
// and every line issued, failing on a line ID issued twice.
func restartRuns(t *testing.T, b *invoice.Builder, s invoice.Subscription, ats ...time.Time) ([][]string, []invoice.Line) {
	t.Helper()
	var after time.Time
	var per [][]string
	var issued []invoice.Line
	seen := map[invoice.LineID]bool{}
	for _, at := range ats {
		invs, err := b.Build(invoice.Run{After: after, At: at}, []invoice.Subscription{knownAt(s, at)})
		require.NoError(t, err, "run at %s", at.Format(time.DateOnly))
		var got []string
		for _, inv := range invs {
			require.NoError(t, inv.Check())
			got = append(got, amounts(inv)...)
			for _, l := range inv.Lines {
				require.False(t, seen[l.ID], "line %s issued twice", l.ID)
				seen[l.ID] = true
			}
			issued = append(issued, inv.Lines...)
		}
		per = append(per, got)
		after = at
	}
	return per, issued
}

// knownAt is s as known at instant at: the segments started by then, each
// open while its end is still to come (a stop is learnt when it happens).
func knownAt(s invoice.Subscription, at time.Time) invoice.Subscription {
	out := s
	out.Items = nil
	for _, it := range s.Items {
		var segs []invoice.Segment
		for _, sg := range it.Segments {
			if sg.Start.After(at) {
				break
			}
			if sg.End.After(at) {
				sg.End, sg.EndRecorded = time.Time{}, time.Time{}
			}
			segs = append(segs, sg)
		}
		if len(segs) > 0 {
			it.Segments = segs
			out.Items = append(out.Items, it)
		}
	}
	return out
}

// sumNet adds up the net of lines.
func sumNet(t *testing.T, lines []invoice.Line) ensemble.Money {
	t.Helper()
	sum := money("0")
	for _, l := range lines {
		var err error
		sum, err = sum.Add(l.Net)
		require.NoError(t, err)
	}
	return sum
}

// The reviewer's case: Support (EUR 20 a month, in arrears) stopped on
// February 6 and restarted on February 15. The run of February 10 bills
// the stop's 5 days, round(20 × 5/28) = 3.57; the run of March 1 bills
// only the 14 days from the restart, 20 - round(20 × 14/28) = 10.00. It
// used to bill the 3.57 again (the piece's due instant moved to the cycle's
// end once the restart was known): 17.14 for the 13.57 the contract says.
func TestArrearsRestartBillsTheEarlierPieceOnce(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 2, 1), item("help",
		seg(date(2026, 2, 1), date(2026, 2, 6), pin("support", 1), "1"),
		seg(date(2026, 2, 15), time.Time{}, pin("support", 1), "1")))
	per, issued := restartRuns(t, b, s, date(2026, 2, 10), date(2026, 3, 1))
	require.Equal(t, [][]string{{"recurring hours 3.57"}, {"recurring hours 10.00"}}, per)
	require.True(t, money("13.57").Equal(sumNet(t, issued)), "billed %s", sumNet(t, issued))

	// One run over the whole span bills the same lines, the first piece
	// due at its stop.
	inv := build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s)
	require.Equal(t, []string{"recurring hours 3.57", "recurring hours 10.00"}, amounts(inv))
	require.True(t, date(2026, 2, 6).Equal(inv.Lines[0].Date), "due at the stop: %s", inv.Lines[0].Date)
	require.True(t, date(2026, 3, 1).Equal(inv.Lines[1].Date))
}

// A gap in one charge's service is the same case without any pause of the
// item: Support until February 6, Basic (in advance) until the 15th, then
// Support again. The run of February 10 bills Support's first 5 days
// (3.57); the run of March 1 credits Basic's unused days and bills
// Support's last 14, never the first 5 again.
func TestArrearsSwitchAwayAndBackBillsEachPieceOnce(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 2, 1), item("i",
		seg(date(2026, 2, 1), date(2026, 2, 6), pin("support", 1), "1"),
		seg(date(2026, 2, 6), date(2026, 2, 15), pin("basic", 1), "1"),
		seg(date(2026, 2, 15), time.Time{}, pin("support", 1), "1")))
	per, _ := restartRuns(t, b, s, date(2026, 2, 10), date(2026, 3, 1))
	require.Equal(t, [][]string{
		{"recurring seats 8.21", "recurring hours 3.57"}, // 10 - round(10 × 5/28)
		{"proration_credit seats -5.00", "recurring hours 10.00"},
	}, per)
}

// Several pauses in one cycle: 2 hours of Support (EUR 40 a month) from
// March 1 to 5, 3 from the 10th to the 15th, 2 again from the 20th, with a
// run after each stop. Each piece is billed once, by the run its stop
// falls in: round(40 × 4/31) = 5.16; round(60 × 14/31) - round(60 × 9/31)
// = 27.10 - 17.42 = 9.68; 40 - round(40 × 19/31) = 15.48; 30.32 in all, as
// one run bills. (The runs used to bill 5.16 three times and 9.68 twice.)
func TestArrearsSeveralPausesInACycle(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 3, 1), item("help",
		seg(date(2026, 3, 1), date(2026, 3, 5), pin("support", 1), "2"),
		seg(date(2026, 3, 10), date(2026, 3, 15), pin("support", 1), "3"),
		seg(date(2026, 3, 20), time.Time{}, pin("support", 1), "2")))
	per, issued := restartRuns(t, b, s, date(2026, 3, 7), date(2026, 3, 17), date(2026, 4, 1))
	require.Equal(t, [][]string{{"recurring hours 5.16"}, {"recurring hours 9.68"}, {"recurring hours 15.48"}}, per)
	require.True(t, money("30.32").Equal(sumNet(t, issued)), "billed %s", sumNet(t, issued))
	one := build1(t, b, invoice.Run{At: date(2026, 4, 1)}, s)
	require.True(t, one.Subtotal.Equal(sumNet(t, issued)), "one run bills %s", one.Subtotal)
}

// In advance, a stop and a restart already bill each piece once: the cycle
// is charged at its start, the unused part credited at the stop and the
// rest charged again from the restart, each line due at its own instant:
// 10.00 - 8.21 + 5.00 = 6.79 = round(10 × 5/28) + 10 - round(10 × 14/28).
func TestAdvanceRestartBillsEachPieceOnce(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 2, 1), item("seats",
		seg(date(2026, 2, 1), date(2026, 2, 6), pin("basic", 1), "1"),
		seg(date(2026, 2, 15), time.Time{}, pin("basic", 1), "1")))
	per, _ := restartRuns(t, b, s, date(2026, 2, 10), date(2026, 3, 1))
	require.Equal(t, [][]string{
		{"proration_credit seats -8.21", "recurring seats 10.00", "one_time setup 50.00"},
		{"recurring seats 5.00", "recurring seats 10.00"}, // February 15 to March 1; March
	}, per)
}

// A usage period the item stops in is due at the stop: the minimum spend
// of Events (EUR 20) is billed once for February by the run of February
// 10, and the restart on the 15th does not bill it again. It used to,
// once the restart moved the period's due instant to its end.
func TestIdleUsageMinimumOnceAcrossARestart(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 2, 1), item("ev",
		seg(date(2026, 2, 1), date(2026, 2, 6), pin("events", 1), "1"),
		seg(date(2026, 2, 15), time.Time{}, pin("events", 1), "1")))
	per, issued := restartRuns(t, b, s, date(2026, 2, 10), date(2026, 3, 1), date(2026, 4, 1))
	require.Equal(t, [][]string{{"usage events 20.00"}, nil, {"usage events 20.00"}}, per)
	require.Equal(t, ensemble.MustPeriod(date(2026, 2, 1), date(2026, 2, 6)), issued[0].Period, "service to the stop")
}

// Usage recorded after a restart, in the period a stop billed, is late
// usage of that period, through the host's usual runs: the lines of
// UsageLines, the periods billed closed (usage.Config.ClosedBefore closes
// a period at the line's first stop in it), LateUsageFrom and BilledUsage.
// 300 API calls before the stop on February 6 bill 200 × 0.05 = 10.00 on
// February 10; 500 after the restart on the 15th bill rate(800) -
// rate(300) = 35.00 - 10.00 = 25.00 on March 1: 35.00, as one run over
// both bills, with the 100 free calls given once. The second run used to
// bill the 500 on their own again as the period's usage line (20.00, under
// the first line's ID).
func TestUsageAfterARestartIsLateUsage(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := apiSub()
	s.Items[0].Segments = []invoice.Segment{
		seg(date(2026, 2, 1), date(2026, 2, 6), pin("api", 1), "1"),
		seg(date(2026, 2, 15), time.Time{}, pin("api", 1), "1"),
	}
	meters := []usage.Meter{{ID: "api_calls", Unit: "call", Aggregation: usage.Sum}}
	rec := func(id string, at time.Time, qty string) usage.Record {
		return usage.Record{ID: usage.RecordID(id), Line: "s1/api", Meter: "api_calls", At: at, Quantity: dec(qty)}
	}
	deliveries := map[time.Time][]usage.Record{
		date(2026, 2, 10): {rec("r1", date(2026, 2, 3), "300")},
		date(2026, 3, 1):  {rec("r2", date(2026, 2, 20), "500")},
	}
	var ledger usage.Ledger
	var billed []usage.Aggregate
	var after time.Time
	var got [][]string
	var issued []invoice.Line
	for _, at := range []time.Time{date(2026, 2, 10), date(2026, 3, 1)} {
		subs := []invoice.Subscription{knownAt(s, at)}
		lines, err := b.UsageLines(at, subs...)
		require.NoError(t, err)
		rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines, ClosedBefore: after, Ledger: ledger}, slices.Values(deliveries[at]))
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		require.NoError(t, err)
		run := invoice.Run{After: after, At: at, Usage: rep.Aggregates, Late: late}
		inv := build1(t, b, run, subs[0])
		got = append(got, amounts(inv))
		issued = append(issued, inv.Lines...)
		done, err := b.BilledUsage(run, subs, meters)
		require.NoError(t, err)
		billed = append(billed, done...)
		ledger, after = rep.Ledger, at
	}
	require.Equal(t, [][]string{{"usage calls 10.00"}, {"usage_adjustment calls 25.00"}}, got)
	require.True(t, money("35.00").Equal(sumNet(t, issued)))

	// One run over both records.
	lines, err := b.UsageLines(date(2026, 3, 1), s)
	require.NoError(t, err)
	rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines},
		slices.Values([]usage.Record{rec("r1", date(2026, 2, 3), "300"), rec("r2", date(2026, 2, 20), "500")}))
	require.NoError(t, err)
	one := build1(t, b, invoice.Run{At: date(2026, 3, 1), Usage: rep.Aggregates}, s)
	require.Equal(t, []string{"usage calls 35.00"}, amounts(one))
}

// A period billed progressively that the item stops in is due at the stop,
// like any usage period: the run after the stop bills its final line (the
// 50.00 minimum less the 25.00 billed ahead); usage after a restart later in
// the period is late usage of it, billed through Run.Late (700 GB in all:
// 70.00 - 50.00 = 20.00). Given again as progressive usage, it is refused
// (ErrUsageNotDue) where the final line, due before the run, was dropped
// without a word, leaving the 440 GB after the restart unbilled.
func TestProgressiveUsageAcrossARestart(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	s := progressiveSub("metered-min")
	s.Items[0].Segments = []invoice.Segment{
		seg(date(2026, 3, 1), date(2026, 3, 10), pin("metered-min", 1), "1"),
		seg(date(2026, 3, 20), time.Time{}, pin("metered-min", 1), "1"),
	}
	stopped := s
	stopped.Items = []invoice.Item{s.Items[0]}
	stopped.Items[0].Segments = s.Items[0].Segments[:1]
	ahead := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 3, 8),
		Progressive: []invoice.ProgressiveUsage{{Usage: gbUsage("250", 1)}}}, stopped)
	require.Equal(t, []string{"progressive_usage gb 25.00"}, amounts(ahead))
	final := build1(t, b, invoice.Run{After: date(2026, 3, 8), At: date(2026, 3, 12),
		Progressive: []invoice.ProgressiveUsage{{Billed: gbUsage("250", 1), Usage: gbUsage("260", 2)}}}, stopped)
	require.Equal(t, []string{"usage gb 25.00"}, amounts(final))

	_, err := b.Build(invoice.Run{After: date(2026, 3, 12), At: date(2026, 4, 1),
		Progressive: []invoice.ProgressiveUsage{{Billed: gbUsage("250", 1), Usage: gbUsage("700", 3)}}}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrUsageNotDue)

	late := gbUsage("440", 3)
	late.Late = true
	inv := build1(t, b, invoice.Run{After: date(2026, 3, 12), At: date(2026, 4, 1),
		Late: []invoice.LateUsage{{Billed: gbUsage("260", 2), Late: late}}}, s)
	require.Equal(t, []string{"usage_adjustment gb 20.00"}, amounts(inv))
}
