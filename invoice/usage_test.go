package invoice_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/usage"
)

// The api offer of the test catalog rates calls through graduated tiers:
// the first 100 free, up to 1,000 at EUR 0.05, beyond at EUR 0.02. So
//
//	rate(800)  = 700 × 0.05              = 35.00
//	rate(950)  = 850 × 0.05              = 42.50
//	rate(1000) = 900 × 0.05              = 45.00
//	rate(1300) = 45.00 + 300 × 0.02      = 51.00
//	rate(1500) = 45.00 + 500 × 0.02      = 55.00
//	rate(1600) = 45.00 + 600 × 0.02      = 57.00
//	rate(500)  = 400 × 0.05              = 20.00

// lateOf returns an adjustment of late records for March.
func lateOf(value string, ids ...usage.RecordID) usage.Aggregate {
	g := marchUsage("s1/api", value, ids...)
	g.Late = true
	return g
}

// listed returns g listing its record ids, as usage.Config.RecordIDs asks.
func listed(g usage.Aggregate, ids ...usage.RecordID) usage.Aggregate {
	g.RecordIDs = slices.Sorted(slices.Values(ids))
	return g
}

// febUsage returns the aggregate of February.
func febUsage(value string, late bool, ids ...usage.RecordID) usage.Aggregate {
	g := marchUsage("s1/api", value, ids...)
	g.Period = ensemble.MustPeriod(date(2026, 2, 1), date(2026, 3, 1))
	g.Late = late
	return g
}

func apiSub() invoice.Subscription {
	s := sub("s1", date(2026, 2, 1), item("api", seg(date(2026, 2, 1), time.Time{}, pin("api", 1), "1")))
	s.Customer.TaxExempt = true
	return s
}

// TestLateUsageFrom pairs adjustments with what was billed and bills the
// pairs: each line is rate(cumulative) - rate(billed), by hand above.
func TestLateUsageFrom(t *testing.T) {
	billedMarch := marchUsage("s1/api", "800", "r1", "r2", "r3")
	zeroMarch := marchUsage("s1/api", "0") // billed with no usage
	for _, tc := range []struct {
		name        string
		adjustments []usage.Aggregate
		billed      []usage.Aggregate
		// want is, per pair in order: billed value, late value, late
		// records, and the adjustment line's amount.
		want [][4]string
	}{
		{"one adjustment", []usage.Aggregate{lateOf("500", "r4")}, []usage.Aggregate{billedMarch},
			[][4]string{{"800", "500", "1", "16.00"}}}, // 51.00 - 35.00
		{"two deliveries' adjustments are one delta", []usage.Aggregate{lateOf("300", "r4"), lateOf("200", "r5")}, []usage.Aggregate{billedMarch},
			[][4]string{{"800", "500", "2", "16.00"}}},
		{"aggregates are told apart by their records, not their digests", []usage.Aggregate{lateOf("500", "r12", "r26")},
			[]usage.Aggregate{billedMarch, lateOf("0", "r17", "r23")}, // usage.DigestOf("r12", "r26") == usage.DigestOf("r17", "r23")
			[][4]string{{"800", "500", "2", "16.00"}}},
		{"record ids listed on both sides that do not meet", []usage.Aggregate{listed(lateOf("500", "r4"), "r4")}, []usage.Aggregate{listed(billedMarch, "r1", "r2", "r3")},
			[][4]string{{"800", "500", "1", "16.00"}}},
		{"a second adjustment is billed against the first", []usage.Aggregate{lateOf("100", "r6")},
			[]usage.Aggregate{lateOf("700", "r4", "r5"), billedMarch},
			[][4]string{{"1500", "100", "1", "2.00"}}}, // 57.00 - 55.00
		{"a period billed with no usage", []usage.Aggregate{lateOf("500", "r4")}, []usage.Aggregate{zeroMarch},
			[][4]string{{"0", "500", "1", "20.00"}}}, // 20.00 - 0.00
		{"sorted by line, meter and period", []usage.Aggregate{lateOf("500", "r4"), febUsage("50", true, "r9")},
			[]usage.Aggregate{billedMarch, febUsage("950", false, "r7", "r8")},
			[][4]string{{"950", "50", "1", "2.50"}, {"800", "500", "1", "16.00"}}}, // 45.00 - 42.50; 51.00 - 35.00
		{"nothing late", nil, []usage.Aggregate{billedMarch}, [][4]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := invoice.LateUsageFrom(tc.adjustments, tc.billed)
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			if len(got) == 0 {
				return
			}
			inv := build1(t, builder(t, invoice.Options{}), invoice.Run{After: date(2026, 4, 1), At: date(2026, 4, 2), Late: got}, apiSub())
			require.Len(t, inv.Lines, len(got))
			for i, w := range tc.want {
				require.False(t, got[i].Billed.Late)
				require.True(t, got[i].Late.Late)
				require.True(t, dec(w[0]).Equal(got[i].Billed.Value), "billed %s", got[i].Billed.Value)
				require.True(t, dec(w[1]).Equal(got[i].Late.Value), "late %s", got[i].Late.Value)
				require.Equal(t, w[2], strconv.FormatInt(got[i].Late.Records, 10))
				l := inv.Lines[slices.IndexFunc(inv.Lines, func(l invoice.Line) bool { return l.Usage.Period.Equal(got[i].Late.Period) })]
				require.Equal(t, invoice.KindUsageAdjustment, l.Kind)
				require.Equal(t, w[3], l.Amount.AmountString())
			}
		})
	}
}

// TestLateUsageFromOrder: the pairs do not depend on the order of either
// list.
func TestLateUsageFromOrder(t *testing.T) {
	adj := []usage.Aggregate{lateOf("300", "r4"), febUsage("50", true, "r9"), lateOf("200", "r5")}
	billed := []usage.Aggregate{lateOf("100", "r6"), marchUsage("s1/api", "800", "r1"), febUsage("950", false, "r7")}
	want, err := invoice.LateUsageFrom(adj, billed)
	require.NoError(t, err)
	slices.Reverse(adj)
	slices.Reverse(billed)
	got, err := invoice.LateUsageFrom(adj, billed)
	require.NoError(t, err)
	require.Equal(t, mustJSON(t, want), mustJSON(t, got))
}

// TestLateUsageFromRefuses: nothing is dropped; every problem is a
// *UsageError naming line, meter and period, all reported at once.
func TestLateUsageFromRefuses(t *testing.T) {
	march := ensemble.MustPeriod(date(2026, 3, 1), date(2026, 4, 1))
	billedMarch := marchUsage("s1/api", "800", "r1", "r2", "r3")
	maxLate := lateOf("500", "r4")
	maxLate.Aggregation = usage.Max
	for _, tc := range []struct {
		name        string
		adjustments []usage.Aggregate
		billed      []usage.Aggregate
		want        error
		path        string
	}{
		{"nothing billed for the period", []usage.Aggregate{lateOf("500", "r4")}, []usage.Aggregate{febUsage("950", false, "r7")},
			invoice.ErrNothingBilled, "adjustments[0]"},
		{"nothing billed at all", []usage.Aggregate{lateOf("500", "r4")}, nil, invoice.ErrNothingBilled, "adjustments[0]"},
		{"not a late adjustment", []usage.Aggregate{marchUsage("s1/api", "500", "r4")}, []usage.Aggregate{billedMarch},
			invoice.ErrInvalid, "adjustments[0]"},
		{"an adjustment billed already", []usage.Aggregate{listed(lateOf("500", "r4"), "r4")}, []usage.Aggregate{billedMarch, listed(lateOf("500", "r4"), "r4")},
			invoice.ErrDuplicate, "adjustments[0]"},
		{"an adjustment given twice", []usage.Aggregate{listed(lateOf("500", "r4"), "r4"), listed(lateOf("500", "r4"), "r4")}, []usage.Aggregate{billedMarch},
			invoice.ErrDuplicate, "adjustments[1]"},
		{"a record billed twice", []usage.Aggregate{lateOf("500", "r4")},
			[]usage.Aggregate{listed(billedMarch, "r1", "r2", "r3"), listed(lateOf("100", "r3"), "r3")}, invoice.ErrDuplicate, "billed[1]"},
		{"another aggregation", []usage.Aggregate{maxLate}, []usage.Aggregate{billedMarch}, usage.ErrMergeMismatch, "adjustments[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := invoice.LateUsageFrom(tc.adjustments, tc.billed)
			require.Nil(t, got)
			require.ErrorIs(t, err, tc.want)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1, "%v", err)
			require.Equal(t, tc.path, ve.Problems[0].Path)
			var ue *invoice.UsageError
			require.ErrorAs(t, err, &ue)
			require.Equal(t, usage.LineRef("s1/api"), ue.Line)
			require.Equal(t, usage.MeterID("api_calls"), ue.Meter)
			require.True(t, march.Equal(ue.Period), "%s", ue.Period)
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		_, err := invoice.LateUsageFrom([]usage.Aggregate{marchUsage("s1/api", "5", "x"), lateOf("500", "r4"), febUsage("50", true, "r9")}, nil)
		var ve *ensemble.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Len(t, ve.Problems, 3)
		require.True(t, strings.HasPrefix(err.Error(), "invoice late usage: 3 problems: adjustments[0]: "), err.Error())
	})
}

// TestBuildRefusesUsageNotDue: an aggregate given to a run that does not
// bill it was dropped without a word; it is now a *UsageError saying when
// it is due.
func TestBuildRefusesUsageNotDue(t *testing.T) {
	b := builder(t, invoice.Options{})
	april := marchUsage("s1/api", "400", "r9")
	april.Period = ensemble.MustPeriod(date(2026, 4, 1), date(2026, 5, 1))
	ended := apiSub()
	ended.Items[0].Segments[0].End = date(2026, 4, 10)
	for _, tc := range []struct {
		name     string
		s        invoice.Subscription
		run      invoice.Run
		due      time.Time
		wantLine string // the usage line billed when no error
	}{
		{"a period an earlier run billed", apiSub(), invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{marchUsage("s1/api", "800", "r1")}},
			date(2026, 4, 1), ""},
		{"a period still open", apiSub(), invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{april}},
			date(2026, 5, 1), ""},
		{"a period the item ended in, after the end", ended, invoice.Run{After: date(2026, 4, 10), At: date(2026, 5, 1), Usage: []usage.Aggregate{april}},
			date(2026, 4, 10), ""},
		// 300 × 0.05 = 15.00, due at the item's end.
		{"a period the item ended in, at the end", ended, invoice.Run{After: date(2026, 4, 1), At: date(2026, 4, 15), Usage: []usage.Aggregate{april}},
			time.Time{}, "15.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			invs, err := b.Build(tc.run, []invoice.Subscription{tc.s})
			if tc.wantLine != "" {
				require.NoError(t, err)
				require.Equal(t, []string{"usage calls " + tc.wantLine}, amounts(invs[0]))
				return
			}
			require.ErrorIs(t, err, invoice.ErrUsageNotDue)
			require.Nil(t, invs)
			var ue *invoice.UsageError
			require.ErrorAs(t, err, &ue)
			require.Equal(t, usage.LineRef("s1/api"), ue.Line)
			require.Equal(t, usage.MeterID("api_calls"), ue.Meter)
			require.True(t, tc.due.Equal(ue.Due), "due %s", ue.Due)
		})
	}

	// With a minimum commitment, the aggregates of the commitment's open
	// cycle may be given again for its true-up: the run that billed the
	// item's last days (to March 10) billed them; this one bills nothing
	// more of them.
	s := apiSub()
	s.Items[0].Segments[0].End = date(2026, 3, 10)
	s.Commitment = &invoice.Commitment{Minimum: dec("200")}
	march := marchUsage("s1/api", "800", "r1")
	first := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 3, 12), Usage: []usage.Aggregate{march}}, s)
	// The minimum owed for March 1 to 10: 200 × 9/31 = 58.06; short 23.06.
	require.Equal(t, []string{"usage calls 35.00", "commitment_true_up  23.06"}, amounts(first))
	invs, err := b.Build(invoice.Run{After: date(2026, 3, 12), At: date(2026, 4, 1), Usage: []usage.Aggregate{march}}, []invoice.Subscription{s})
	require.NoError(t, err)
	require.Empty(t, invs)
	s.Commitment = nil
	_, err = b.Build(invoice.Run{After: date(2026, 3, 12), At: date(2026, 4, 1), Usage: []usage.Aggregate{march}}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrUsageNotDue)
}

// TestLateRecordOfABilledPeriod: a March record that arrives with May's
// delivery. Collected without closing the periods billed, it lands in the
// report's aggregates as March's usage, which the run of May 1 does not
// bill: it used to vanish (and the ledger then counted it billed), now the
// run refuses it. Collected with the periods billed closed, it is an
// adjustment that LateUsageFrom pairs with what April 1 billed.
func TestLateRecordOfABilledPeriod(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := apiSub()
	meters := []usage.Meter{{ID: "api_calls", Unit: "call", Aggregation: usage.Sum}}
	lines, err := b.UsageLines(date(2026, 5, 1), s)
	require.NoError(t, err)
	rec := func(id string, at time.Time, q string) usage.Record {
		return usage.Record{ID: usage.RecordID(id), Line: "s1/api", Meter: "api_calls", At: at, Quantity: dec(q)}
	}

	// April 1: March's 600 + 200 calls, 35.00.
	aprRun := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1)}
	rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines}, slices.Values([]usage.Record{
		rec("r1", date(2026, 3, 3), "600"), rec("r2", date(2026, 3, 20), "200")}))
	require.NoError(t, err)
	aprRun.Usage = rep.Aggregates
	require.Equal(t, []string{"usage calls 35.00"}, amounts(build1(t, b, aprRun, s)))
	billed, err := b.BilledUsage(aprRun, []invoice.Subscription{s}, meters)
	require.NoError(t, err)
	ledger := rep.Ledger

	// May 1: April's 150 calls and a March record of 500.
	may := []usage.Record{rec("r3", date(2026, 3, 25), "500"), rec("r4", date(2026, 4, 8), "150")}
	mayRun := invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1)}
	open, err := usage.Collect(usage.Config{Meters: meters, Lines: lines, Ledger: ledger}, slices.Values(may))
	require.NoError(t, err)
	wrong := mayRun
	wrong.Usage = open.Aggregates
	_, err = b.Build(wrong, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrUsageNotDue)
	var ue *invoice.UsageError
	require.ErrorAs(t, err, &ue)
	require.True(t, ue.Period.Start.Equal(date(2026, 3, 1)))

	closed, err := usage.Collect(usage.Config{Meters: meters, Lines: lines, Ledger: ledger, ClosedBefore: mayRun.After}, slices.Values(may))
	require.NoError(t, err)
	mayRun.Usage = closed.Aggregates
	mayRun.Late, err = invoice.LateUsageFrom(closed.Adjustments, billed)
	require.NoError(t, err)
	// April: 50 × 0.05 = 2.50; March: rate(1300) - rate(800) = 16.00.
	require.Equal(t, []string{"usage_adjustment calls 16.00", "usage calls 2.50"}, amounts(build1(t, b, mayRun, s)))
}

// TestBilledUsage: what a run billed of usage, idle periods included.
func TestBilledUsage(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := apiSub()
	s.Items = append(s.Items, item("ev", seg(date(2026, 2, 1), time.Time{}, pin("events", 1), "1")))
	meters := []usage.Meter{{ID: "api_calls", Unit: "call", Aggregation: usage.Sum}, {ID: "events", Unit: "event", Aggregation: usage.Count}}
	run := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{marchUsage("s1/api", "800", "r1")},
		Late: []invoice.LateUsage{{Billed: febUsage("950", false, "r7"), Late: febUsage("50", true, "r9")}}}
	got, err := b.BilledUsage(run, []invoice.Subscription{s}, meters)
	require.NoError(t, err)
	type row struct {
		line   usage.LineRef
		meter  usage.MeterID
		agg    usage.Aggregation
		start  time.Time
		late   bool
		value  string
		unit   string
		record int64
	}
	var rows []row
	for _, g := range got {
		rows = append(rows, row{g.Line, g.Meter, g.Aggregation, g.Period.Start, g.Late, g.Value.String(), g.Unit, g.Records})
	}
	require.Equal(t, []row{
		{"s1/api", "api_calls", usage.Sum, date(2026, 2, 1), true, "50", "", 1},
		{"s1/api", "api_calls", usage.Sum, date(2026, 3, 1), false, "800", "", 1},
		// March's events were billed as none (the minimum spend of 20.00).
		{"s1/ev", "events", usage.Count, date(2026, 3, 1), false, "0", "event", 0},
	}, rows)

	// A meter the host does not collect has no idle aggregate.
	got, err = b.BilledUsage(run, []invoice.Subscription{s}, meters[:1])
	require.NoError(t, err)
	require.Len(t, got, 2)

	// It fails where Build fails.
	run.Usage[0].Period = ensemble.MustPeriod(date(2026, 4, 1), date(2026, 5, 1))
	_, err = b.BilledUsage(run, []invoice.Subscription{s}, meters)
	require.ErrorIs(t, err, invoice.ErrUsageNotDue)
}

// weeklyOffers adds a usage charge rated per week.
const weeklyOffers = `
  - id: weekly
    version: 1
    name: Weekly events
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: ev, name: Events, type: usage, meter: events, cadence: {unit: weekly}, price: {model: per_unit, amount: "0.01"}}
`

// TestUsageLines: one usage line per item, with its reference, its active
// segments and the periods Build bills its usage in.
func TestUsageLines(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(catalogYAML + weeklyOffers))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	paris := "Europe/Paris"
	s := sub("s1", date(2026, 2, 1),
		// api, then from March 10 bulk API: both monthly.
		item("api", seg(date(2026, 2, 1), date(2026, 3, 10), pin("api", 1), "1"), seg(date(2026, 3, 10), time.Time{}, pin("bulk", 1), "1")),
		// weekly events from its own anchor, with the host's reference.
		invoice.Item{ID: "ev", UsageLine: "acct-7/events", Anchor: date(2026, 2, 16),
			Segments: []invoice.Segment{seg(date(2026, 2, 16), time.Time{}, pin("weekly", 1), "1")}},
		// no usage charge: the subscription's cadence.
		item("seats", seg(date(2026, 2, 1), time.Time{}, pin("basic", 1), "3")))
	s.TimeZone = paris
	weekly := ensemble.Every(1, ensemble.Weekly)
	monthly := ensemble.Every(1, ensemble.Monthly)
	until := date(2026, 5, 1)

	for _, tc := range []struct {
		name   string
		cancel time.Time
		want   []usage.Line
	}{
		{"open segments are active until the instant given", time.Time{}, []usage.Line{
			{Ref: "acct-7/events", Active: []ensemble.Period{ensemble.MustPeriod(date(2026, 2, 16), until)}, Cadence: weekly, Anchor: date(2026, 2, 16), TimeZone: paris},
			// The calls change charge on March 10: March's period is cut
			// there (SplitAtChange), so the line lists its periods: the
			// months in Paris (March ends at 23:00 UTC on March 31).
			{Ref: "s1/api", Active: []ensemble.Period{ensemble.MustPeriod(date(2026, 2, 1), date(2026, 3, 10)), ensemble.MustPeriod(date(2026, 3, 10), until)}, TimeZone: paris,
				Periods: []ensemble.Period{
					ensemble.MustPeriod(date(2026, 2, 1), date(2026, 3, 1)),
					ensemble.MustPeriod(date(2026, 3, 1), date(2026, 3, 10)),
					ensemble.MustPeriod(date(2026, 3, 10), date(2026, 3, 31).Add(23*time.Hour)),
					ensemble.MustPeriod(date(2026, 3, 31).Add(23*time.Hour), date(2026, 4, 30).Add(23*time.Hour)),
					ensemble.MustPeriod(date(2026, 4, 30).Add(23*time.Hour), date(2026, 5, 31).Add(23*time.Hour)),
				},
				// March is cut: a weighted average of a piece averages its
				// level over March.
				Cycles: []ensemble.Period{ensemble.MustPeriod(date(2026, 3, 1), date(2026, 3, 31).Add(23*time.Hour))}},
			{Ref: "s1/seats", Active: []ensemble.Period{ensemble.MustPeriod(date(2026, 2, 1), until)}, Cadence: monthly, Anchor: date(2026, 2, 1), TimeZone: paris},
		}},
		{"a cancellation ends them", date(2026, 3, 5), []usage.Line{
			{Ref: "acct-7/events", Active: []ensemble.Period{ensemble.MustPeriod(date(2026, 2, 16), date(2026, 3, 5))}, Cadence: weekly, Anchor: date(2026, 2, 16), TimeZone: paris},
			{Ref: "s1/api", Active: []ensemble.Period{ensemble.MustPeriod(date(2026, 2, 1), date(2026, 3, 5))}, Cadence: monthly, Anchor: date(2026, 2, 1), TimeZone: paris},
			{Ref: "s1/seats", Active: []ensemble.Period{ensemble.MustPeriod(date(2026, 2, 1), date(2026, 3, 5))}, Cadence: monthly, Anchor: date(2026, 2, 1), TimeZone: paris},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s
			s.CancelAt = tc.cancel
			got, err := b.UsageLines(until, s)
			require.NoError(t, err)
			require.Equal(t, mustJSON(t, tc.want), mustJSON(t, got))
			require.NoError(t, usage.Config{Lines: got}.Validate())
		})
	}

	// The aggregates of records collected on these lines are of the
	// periods Build bills: weekly from February 16 for the events, monthly
	// in Paris for the calls (March ends at 23:00 UTC on March 31, summer
	// time).
	lines, err := b.UsageLines(until, s)
	require.NoError(t, err)
	meters := []usage.Meter{{ID: "api_calls", Aggregation: usage.Sum}, {ID: "events", Aggregation: usage.Sum}}
	rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines}, slices.Values([]usage.Record{
		{ID: "c1", Line: "s1/api", Meter: "api_calls", At: date(2026, 2, 10), Quantity: dec("300")},
		{ID: "c2", Line: "s1/api", Meter: "api_calls", At: date(2026, 3, 20), Quantity: dec("1200")},
		{ID: "e1", Line: "acct-7/events", Meter: "events", At: date(2026, 2, 20), Quantity: dec("1000")},
		{ID: "e2", Line: "acct-7/events", Meter: "events", At: date(2026, 2, 27), Quantity: dec("500")},
		{ID: "e3", Line: "acct-7/events", Meter: "events", At: date(2026, 2, 10), Quantity: dec("1")}, // before the item
	}))
	require.NoError(t, err)
	require.Len(t, rep.Rejections, 1)
	require.ErrorIs(t, rep.Rejections[0], usage.ErrOutsideActive)
	s.Customer.TaxExempt = true
	inv := build1(t, b, invoice.Run{At: date(2026, 4, 1), Usage: rep.Aggregates}, s)
	var got []string
	for _, l := range inv.Lines {
		if l.Usage != nil && l.Amount.IsPositive() {
			got = append(got, l.Period.String()+" "+l.Amount.AmountString())
		}
	}
	require.Equal(t, []string{
		// 200 × 0.05; then bulk API from March 10, by volume: 1,200 × 0.02
		// (nothing was used in March before the change).
		"[2026-02-01T00:00:00Z, 2026-03-01T00:00:00Z) 10.00",
		"[2026-03-10T00:00:00Z, 2026-03-31T23:00:00Z) 24.00",
		// 1,000 × 0.01 and 500 × 0.01 in the weeks from February 16 and 23.
		"[2026-02-16T00:00:00Z, 2026-02-23T00:00:00Z) 10.00",
		"[2026-02-23T00:00:00Z, 2026-03-02T00:00:00Z) 5.00",
	}, got)
}

// TestUsageLinesRefuses: what cannot become usage lines.
func TestUsageLinesRefuses(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(catalogYAML + weeklyOffers))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	mixed := sub("s1", date(2026, 2, 1), item("u", seg(date(2026, 2, 1), date(2026, 3, 1), pin("api", 1), "1"), seg(date(2026, 3, 1), time.Time{}, pin("weekly", 1), "1")))
	unknown := sub("s1", date(2026, 2, 1), item("u", seg(date(2026, 2, 1), time.Time{}, pin("nope", 1), "1")))
	for _, tc := range []struct {
		name  string
		until time.Time
		s     invoice.Subscription
		want  error
		path  string
	}{
		{"no instant", time.Time{}, apiSub(), invoice.ErrRequired, "until"},
		{"usage charges on two cadences", date(2026, 5, 1), mixed, invoice.ErrInvalid, "subscriptions[0].items[0]"},
		{"an invalid subscription", date(2026, 5, 1), unknown, invoice.ErrUnknown, "subscriptions[0].items[0].segments[0].pin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.UsageLines(tc.until, tc.s)
			require.Nil(t, got)
			require.ErrorIs(t, err, tc.want)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.path, ve.Problems[0].Path, "%v", err)
		})
	}
}

// TestUsageLinesFromOrder: an order's lines, through FromOrder, are the
// lines its usage records name (order.Order.LineRef).
func TestUsageLinesFromOrder(t *testing.T) {
	o := activeOrder(t, order.Taxable)
	s, err := invoice.FromOrder(o)
	require.NoError(t, err)
	lines, err := builder(t, invoice.Options{}).UsageLines(date(2026, 6, 1), s)
	require.NoError(t, err)
	require.Len(t, lines, 1)
	require.Equal(t, usage.LineRef(o.LineRef("l1")), lines[0].Ref)
	active, ok := o.LinePeriod("l1", date(2026, 6, 1))
	require.True(t, ok)
	var merged []ensemble.Period
	for _, p := range lines[0].Active {
		if n := len(merged); n > 0 && merged[n-1].End.Equal(p.Start) {
			merged[n-1].End = p.End
			continue
		}
		merged = append(merged, p)
	}
	require.Equal(t, []ensemble.Period{active}, merged)
	require.Equal(t, "Europe/Paris", lines[0].TimeZone)
	require.True(t, lines[0].Anchor.Equal(o.Billing.Anchor))
	require.Equal(t, ensemble.Every(1, ensemble.Monthly), lines[0].Cadence)
}

func mustJSON(t tb, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
