package invoice_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The backup SaaS of the trial: USD 12.00 per protected TB-month, the
// first 10 TB-months free, and every TB-month at 9.00 beyond 90 billable
// (a volume price).
const backupCatalog = `
offers:
  - id: backup
    version: 1
    name: Backup
    currency: USD
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: protected
        name: Protected TB-months
        type: usage
        meter: tb_protected
        price:
          model: volume
          free_units: "10"
          tiers:
            - {up_to: 90, unit_amount: "12.00"}
            - {unit_amount: "9.00"}
`

// TestWeightedAverageBillsTBMonths: a daily reading of 100 TB protected,
// every day of January, is 100 TB-months on a weighted_average meter:
// USD 1,080.00. The trial's workaround, a sum meter fed 100/31 rounded to
// 3.23 a day, summed to 100.13 and crossed into the volume tier: 811.17.
// Late readings (200 TB from January 21, re-read after the month was
// billed) are billed as the difference of the re-averaged month.
func TestWeightedAverageBillsTBMonths(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(backupCatalog))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	jan1, feb1, mar1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	subs := []invoice.Subscription{{ID: "acme", Customer: invoice.Customer{ID: "acme", TaxExempt: true}, Currency: ensemble.MustCurrency("USD"), Anchor: jan1,
		Items: []invoice.Item{{ID: "backup", Segments: []invoice.Segment{{Start: jan1, Pin: catalog.Pin{Offer: "backup", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}}
	lines, err := b.UsageLines(feb1, subs...)
	require.NoError(t, err)

	bill := func(meter usage.Meter, perDay string) (*usage.Report, string) {
		var rs []usage.Record
		for d := 1; d <= 31; d++ {
			rs = append(rs, usage.Record{ID: usage.RecordID(fmt.Sprintf("jan-%02d", d)), Line: "acme/backup", Meter: "tb_protected",
				Quantity: decimal.RequireFromString(perDay), At: time.Date(2026, 1, d, 2, 0, 0, 0, time.UTC)})
		}
		rep, err := usage.Collect(usage.Config{Meters: []usage.Meter{meter}, Lines: lines, ClosedBefore: jan1}, slices.Values(rs))
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		run := invoice.Run{After: jan1, At: feb1, Usage: rep.Aggregates}
		invs, err := b.Build(run, subs)
		require.NoError(t, err)
		require.Len(t, invs, 1)
		require.Len(t, invs[0].Lines, 1)
		return rep, invs[0].Lines[0].Amount.String()
	}
	weighted := usage.Meter{ID: "tb_protected", Unit: "TB", Aggregation: usage.WeightedAverage}
	_, workaround := bill(usage.Meter{ID: "tb_protected", Unit: "TB", Aggregation: usage.Sum}, "3.23")
	require.Equal(t, "USD 811.17", workaround)
	// The first reading is at 02:00 on January 1: before it, nothing was
	// read, so the level is zero for two hours. Read at midnight, or
	// carried from December's last reading, the month is exactly 100.
	rep, got := bill(weighted, "100")
	require.Equal(t, "99.731182795699", rep.Aggregates[0].Value.String()) // 100 × (31 days - 2 h) / 31 days
	require.Equal(t, "USD 1076.77", got)

	// The same readings at midnight, then a late re-read: from January 21
	// on, 200 TB.
	var rs []usage.Record
	for d := 1; d <= 31; d++ {
		rs = append(rs, usage.Record{ID: usage.RecordID(fmt.Sprintf("jan-%02d", d)), Line: "acme/backup", Meter: "tb_protected",
			Quantity: decimal.NewFromInt(100), At: time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC)})
	}
	rep, err = usage.Collect(usage.Config{Meters: []usage.Meter{weighted}, Lines: lines, ClosedBefore: jan1}, slices.Values(rs))
	require.NoError(t, err)
	require.Equal(t, "100", rep.Aggregates[0].Value.String())
	run := invoice.Run{After: jan1, At: feb1, Usage: rep.Aggregates}
	invs, err := b.Build(run, subs)
	require.NoError(t, err)
	require.Equal(t, "USD 1080.00", invs[0].Lines[0].Amount.String())
	billed, err := b.BilledUsage(run, subs, []usage.Meter{weighted})
	require.NoError(t, err)

	lines, err = b.UsageLines(mar1, subs...)
	require.NoError(t, err)
	var late []usage.Record
	for d := 21; d <= 31; d++ {
		late = append(late, usage.Record{ID: usage.RecordID(fmt.Sprintf("jan-%02d-reread", d)), Line: "acme/backup", Meter: "tb_protected",
			Quantity: decimal.NewFromInt(200), At: time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC)})
	}
	rep2, err := usage.Collect(usage.Config{Meters: []usage.Meter{weighted}, Lines: lines, ClosedBefore: feb1, Ledger: rep.Ledger}, slices.Values(append(late, rs...)))
	require.NoError(t, err)
	require.NoError(t, rep2.Err())
	require.Len(t, rep2.Adjustments, 1)
	lu, err := invoice.LateUsageFrom(rep2.Adjustments, billed)
	require.NoError(t, err)
	invs, err = b.Build(invoice.Run{After: feb1, At: mar1, Usage: rep2.Aggregates, Late: lu}, subs)
	require.NoError(t, err)
	require.Len(t, invs, 1)
	// January re-averaged: the re-reads at the instants of the readings
	// they correct hold (of readings at one instant, the greatest record
	// id): (100×20 + 200×11)/31 = 135.483870967742 TB-months, billable
	// 125.483870967742 at 9.00 = 1,129.35, less the 1,080.00 billed.
	var amounts []string
	for _, l := range invs[0].Lines {
		amounts = append(amounts, l.Kind.String()+" "+l.Amount.String())
	}
	// February, read nowhere, bills the level carried from January's last
	// reading: the re-read of 200 TB on January 31 (190 billable at 9.00).
	require.Equal(t, []string{"usage_adjustment USD 49.35", "usage USD 1710.00"}, amounts)
}

// TestWeightedAveragePiecesBillTheirShare: an upgrade from Standard to
// Pro on April 15 cuts April into pieces, each billed at its own price.
// A weighted average of a piece is the level times the fraction of April
// in the piece (usage.Aggregate.Cycle, from the usage.Line.Cycles that
// UsageLines lists), where it used to be refused (ErrAveragePiece): 1,000
// GB from April 1 and 3,000 from April 20 are, over Standard's 14 days,
// 1,000 × 14/30 = 466.666666666667 GB-months (at 0.05: 23.33), and over
// Pro's 16, (1,000 × 5 + 3,000 × 11)/30 = 1,266.666666666667 (1,000
// included, 266.666666666667 at 0.08: 21.33). With no reading after the
// upgrade, Pro's piece carries 1,000 GB: 533.333333333333, included. Under
// SplitNone April is billed whole at Pro: 1,733.333333333333, 58.67. A
// piece averaged over itself (lines without their Cycles) is still
// refused, with a typed error saying how to collect it.
func TestWeightedAveragePiecesBillTheirShare(t *testing.T) {
	apr1, apr15, apr20, may1 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 4, 20), date(2026, 5, 1)
	s := storageSub(seg(apr1, apr15, pin("standard", 1), "1"), seg(apr15, time.Time{}, pin("pro", 1), "1"))
	meters := []usage.Meter{{ID: "gb", Unit: "GB", Aggregation: usage.WeightedAverage}}
	bill := func(split invoice.UsageSplit, strip bool, recs ...usage.Record) ([]string, error) {
		b := splitBuilder(t, split)
		lines, err := b.UsageLines(may1, s)
		require.NoError(t, err)
		if strip {
			for i := range lines {
				lines[i].Cycles = nil
			}
		}
		rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines}, slices.Values(recs))
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		invs, err := b.Build(invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, []invoice.Subscription{s})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, inv := range invs {
			for _, l := range inv.Lines {
				if l.Usage != nil {
					out = append(out, string(l.Pin.Offer)+" "+l.Cycle.String()+" "+l.Quantity.String()+" "+l.Amount.AmountString())
				}
			}
		}
		return out, nil
	}
	got, err := bill(invoice.SplitAtChange, false, gbRecord("r1", apr1, "1000"), gbRecord("r2", apr20, "3000"))
	require.NoError(t, err)
	require.Equal(t, []string{
		"standard [2026-04-01T00:00:00Z, 2026-04-15T00:00:00Z) 466.666666666667 23.33",
		"pro [2026-04-15T00:00:00Z, 2026-05-01T00:00:00Z) 1266.666666666667 21.33",
	}, got)

	got, err = bill(invoice.SplitAtChange, false, gbRecord("r1", apr1, "1000"))
	require.NoError(t, err)
	require.Equal(t, []string{
		"standard [2026-04-01T00:00:00Z, 2026-04-15T00:00:00Z) 466.666666666667 23.33",
		"pro [2026-04-15T00:00:00Z, 2026-05-01T00:00:00Z) 533.333333333333 0.00",
	}, got)

	got, err = bill(invoice.SplitNone, false, gbRecord("r1", apr1, "1000"), gbRecord("r2", apr20, "3000"))
	require.NoError(t, err)
	require.Equal(t, []string{"pro [2026-04-01T00:00:00Z, 2026-05-01T00:00:00Z) 1733.333333333333 58.67"}, got)

	_, err = bill(invoice.SplitAtChange, true, gbRecord("r1", apr1, "1000"), gbRecord("r2", apr20, "3000"))
	require.ErrorIs(t, err, invoice.ErrAveragePiece)
	var ue *invoice.UsageError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, "s1/storage", string(ue.Line))
	require.ErrorContains(t, err, "usage.Line.Cycles")
}

// TestWeightedAverageAttributionRefused: a charge that attributes its
// usage (attribute_to) cannot bill a weighted average, which usage refuses
// to attribute (usage.ErrBadAggregation): the invoice says so with
// ErrAttribution instead of billing it unattributed.
func TestWeightedAverageAttributionRefused(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(strings.Replace(backupCatalog, "meter: tb_protected", "meter: tb_protected\n        attribute_to: partner", 1)))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	jan1, feb1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	subs := []invoice.Subscription{{ID: "acme", Customer: invoice.Customer{ID: "acme", TaxExempt: true}, Currency: ensemble.MustCurrency("USD"), Anchor: jan1,
		Items: []invoice.Item{{ID: "backup", Segments: []invoice.Segment{{Start: jan1, Pin: catalog.Pin{Offer: "backup", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}}
	lines, err := b.UsageLines(feb1, subs...)
	require.NoError(t, err)
	_, err = usage.New(usage.Config{Meters: []usage.Meter{{ID: "tb_protected", Aggregation: usage.WeightedAverage, AttributeTo: "partner"}}, Lines: lines})
	require.ErrorIs(t, err, usage.ErrBadAggregation)
	rep, err := usage.Collect(usage.Config{Meters: []usage.Meter{{ID: "tb_protected", Aggregation: usage.WeightedAverage}}, Lines: lines},
		slices.Values([]usage.Record{{ID: "r1", Line: "acme/backup", Meter: "tb_protected", Quantity: decimal.NewFromInt(100), At: jan1}}))
	require.NoError(t, err)
	_, err = b.Build(invoice.Run{After: jan1, At: feb1, Usage: rep.Aggregates}, subs)
	require.ErrorIs(t, err, invoice.ErrAttribution)
	require.ErrorContains(t, err, "weighted_average, which cannot be attributed")
}

// TestWeightedAverageCarriedLevelBilled: 100 TB read on January 10 and
// nothing read in February. The run of March 1 bills February the level
// carried from January, 100 TB-months (USD 1,080.00), where it billed
// February as idle (nothing). A reading of 200 TB on January 20, late,
// re-averages January and changes the level carried into February, which
// the run of April 1 adjusts too (200 TB-months: 1,710.00, so 630.00
// more), and bills March at 200. Figures: January billed 100 × 22/31 =
// 70.967741935484 TB-months, billable 60.967741935484 at 12.00 = 731.61;
// re-averaged (100 × 10 + 200 × 12)/31 = 109.677419354839, billable
// 99.677419354839 at the volume tier's 9.00 = 897.10, so 165.49 more.
func TestWeightedAverageCarriedLevelBilled(t *testing.T) {
	b, subs, at := backupRuns(t, backupCatalog)
	run := weightedRuns(t, b, subs)
	require.Equal(t, []string{"usage Jan 70.967741935484 USD 731.61"}, run(at(1, 1), at(2, 1), tbRead("jan-10", at(1, 10), 100)))
	require.Equal(t, []string{"usage Feb 100 USD 1080.00"}, run(at(2, 1), at(3, 1)))
	require.Equal(t, []string{
		"usage_adjustment Jan 109.677419354839 USD 165.49",
		"usage_adjustment Feb 200 USD 630.00",
		"usage Mar 200 USD 1710.00",
	}, run(at(3, 1), at(4, 1), tbRead("jan-20", at(1, 20), 200)))
	// A later reading of January (100 TB on January 25) changes the level
	// carried into February and March again: their adjustments have ids of
	// their own (the carried reading's), not the first adjustment's.
	require.Equal(t, []string{
		"usage_adjustment Jan 87.096774193548 USD 28.06", // (100×10 + 200×5 + 100×7)/31, billable 77.096774193548 at 12.00 = 925.16, less 897.10
		"usage_adjustment Feb 100 USD -630.00",
		"usage_adjustment Mar 100 USD -630.00",
		"usage Apr 100 USD 1080.00",
	}, run(at(4, 1), at(5, 1), tbRead("jan-25", at(1, 25), 100)))
}

// backupRuns returns a builder over the catalog yaml (offer backup
// version 1, meter tb_protected), the subscription acme to it from
// January 1, 2026, and a shorthand for instants of 2026.
func backupRuns(t tb, yaml string) (*invoice.Builder, []invoice.Subscription, func(m, d int) time.Time) {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(yaml))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	at := func(m, d int) time.Time { return time.Date(2026, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	subs := []invoice.Subscription{{ID: "acme", Customer: invoice.Customer{ID: "acme", TaxExempt: true}, Currency: ensemble.MustCurrency("USD"), Anchor: at(1, 1),
		Items: []invoice.Item{{ID: "backup", Segments: []invoice.Segment{{Start: at(1, 1), Pin: catalog.Pin{Offer: "backup", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}}
	return b, subs, at
}

func tbRead(id string, at time.Time, q int64) usage.Record {
	return usage.Record{ID: usage.RecordID(id), Line: "acme/backup", Meter: "tb_protected", Quantity: decimal.NewFromInt(q), At: at}
}

// weightedRuns returns a host's run, as the README runs it: the usage
// lines up to the run, the records collected with the ledger and the
// usage billed before (usage.Config.Billed, through the run's instant),
// late usage paired with what was billed, the run built and its usage
// kept. It returns each line as "kind cycle quantity amount", and
// fails on a line id issued twice over the runs.
func weightedRuns(t tb, b *invoice.Builder, subs []invoice.Subscription) func(after, runAt time.Time, rs ...usage.Record) []string {
	run := weightedLines(t, b, subs)
	return func(after, runAt time.Time, rs ...usage.Record) []string {
		var out []string
		for _, l := range run(after, runAt, rs...) {
			out = append(out, l.Kind.String()+" "+l.Cycle.Start.Format("Jan")+" "+l.Quantity.String()+" "+l.Amount.String())
		}
		return out
	}
}

// weightedLines is weightedRuns returning the lines.
func weightedLines(t tb, b *invoice.Builder, subs []invoice.Subscription) func(after, runAt time.Time, rs ...usage.Record) []invoice.Line {
	meters := []usage.Meter{{ID: "tb_protected", Unit: "TB", Aggregation: usage.WeightedAverage}}
	var billed []usage.Aggregate
	var ledger usage.Ledger
	ids := map[invoice.LineID]bool{}
	first := true
	return func(after, runAt time.Time, rs ...usage.Record) []invoice.Line {
		t.Helper()
		lines, err := b.UsageLines(runAt, subs...)
		require.NoError(t, err)
		cfg := usage.Config{Meters: meters, Lines: lines, Ledger: ledger, Billed: billed, Through: runAt}
		if !first {
			cfg.ClosedBefore = after
		}
		first = false
		rep, err := usage.Collect(cfg, slices.Values(rs))
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		require.NoError(t, err)
		r := invoice.Run{After: after, At: runAt, Usage: rep.Aggregates, Late: late}
		invs, err := b.Build(r, subs)
		require.NoError(t, err)
		done, err := b.BilledUsage(r, subs, meters)
		require.NoError(t, err)
		billed, ledger = append(billed, done...), rep.Ledger
		var out []invoice.Line
		for _, inv := range invs {
			for _, l := range inv.Lines {
				require.False(t, ids[l.ID], "line id %s issued twice", l.ID)
				ids[l.ID] = true
				out = append(out, l)
			}
		}
		return out
	}
}

// Property: TB readings delivered over monthly runs (a reading in its own
// month's run or any later one), each run given the ledger and the usage
// billed before, bill each month, its late deltas added up, what one run
// over every reading bills it: a month with no reading the level carried
// into it, a late reading re-billing the months it changes the carried
// level of.
func TestWeightedAverageRunsBillOneRunProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b, subs, at := backupRuns(t, backupCatalog)
		months := rapid.IntRange(1, 4).Draw(t, "months")
		n := rapid.IntRange(0, 8).Draw(t, "readings")
		byRun := make([][]usage.Record, months+1)
		var all []usage.Record
		for i := range n {
			m := rapid.IntRange(1, months).Draw(t, "month")
			r := tbRead(fmt.Sprintf("r%02d", i), at(m, 1).Add(time.Duration(rapid.IntRange(0, 27*24).Draw(t, "hour"))*time.Hour), int64(rapid.IntRange(0, 300).Draw(t, "tb")))
			all = append(all, r)
			k := rapid.IntRange(m, months).Draw(t, "run")
			byRun[k] = append(byRun[k], r)
		}
		sums := func(lines []invoice.Line, into map[string]ensemble.Money) {
			for _, l := range lines {
				k := l.Cycle.Start.Format("Jan")
				sum, err := into[k].Add(l.Amount)
				require.NoError(t, err)
				into[k] = sum
			}
		}
		runs := map[string]ensemble.Money{}
		run := weightedLines(t, b, subs)
		for k := 1; k <= months; k++ {
			sums(run(at(k, 1), at(k+1, 1), byRun[k]...), runs)
		}
		one := map[string]ensemble.Money{}
		sums(weightedLines(t, b, subs)(at(1, 1), at(months+1, 1), all...), one)
		for m := 1; m <= months; m++ {
			k := at(m, 1).Format("Jan")
			require.True(t, runs[k].Equal(one[k]), "%s: the runs bill %s, one run %s", k, runs[k], one[k])
		}
	})
}

// A graduated price over a weighted_average meter: USD 12.00 per TB-month
// up to 50, 9.00 up to 150 with a flat 25.00 once the average reaches
// that tier, 6.00 beyond.
const backupGraduated = `
offers:
  - id: backup
    version: 1
    name: Backup
    currency: USD
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: protected
        name: Protected TB-months
        type: usage
        meter: tb_protected
        price:
          model: graduated
          tiers:
            - {up_to: 50, unit_amount: "12.00"}
            - {up_to: 150, unit_amount: "9.00", flat_amount: "25.00"}
            - {unit_amount: "6.00"}
`

// TestWeightedAverageGraduatedTiers rates time-weighted averages on a
// graduated price, each figure by hand:
//   - January, 100 TB from the 1st, 200 from the 11th: (100×10 + 200×21)/31
//     = 167.741935483871 TB-months: 50 × 12.00 = 600.00, 100 × 9.00 + 25.00
//     = 925.00, 17.741935483871 × 6.00 = 106.451612903226; 1,631.45;
//   - February, read nowhere: 200 carried, 600.00 + 925.00 + 50 × 6.00 =
//     1,825.00;
//   - a late re-read of 100 on January 21: (100×10 + 200×10 + 100×11)/31 =
//     132.258064516129: 600.00 + 82.258064516129 × 9.00 + 25.00 =
//     1,365.32, so -266.13; February now carries 100: 600.00 + 450.00 +
//     25.00 = 1,075.00, so -750.00; March at 100: 1,075.00.
func TestWeightedAverageGraduatedTiers(t *testing.T) {
	b, subs, at := backupRuns(t, backupGraduated)
	run := weightedRuns(t, b, subs)
	require.Equal(t, []string{"usage Jan 167.741935483871 USD 1631.45"}, run(at(1, 1), at(2, 1), tbRead("jan-01", at(1, 1), 100), tbRead("jan-11", at(1, 11), 200)))
	require.Equal(t, []string{"usage Feb 200 USD 1825.00"}, run(at(2, 1), at(3, 1)))
	require.Equal(t, []string{
		"usage_adjustment Jan 132.258064516129 USD -266.13",
		"usage_adjustment Feb 100 USD -750.00",
		"usage Mar 100 USD 1075.00",
	}, run(at(3, 1), at(4, 1), tbRead("jan-21", at(1, 21), 100)))

	// The flat amount of the second tier applies once the average passes
	// 50 (up_to is inclusive): 50 all month is 600.00; one more TB for one
	// day of 31 is 50.032258064516, 600.00 + 0.29 + 25.00 = 625.29.
	for _, tc := range []struct {
		name string
		rs   []usage.Record
		want string
	}{
		{"at the boundary", []usage.Record{tbRead("a", at(1, 1), 50)}, "usage Jan 50 USD 600.00"},
		{"a day above it", []usage.Record{tbRead("a", at(1, 1), 50), tbRead("b", at(1, 31), 51)}, "usage Jan 50.032258064516 USD 625.29"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, subs, at := backupRuns(t, backupGraduated)
			require.Equal(t, []string{tc.want}, weightedRuns(t, b, subs)(at(1, 1), at(2, 1), tc.rs...))
		})
	}
}

// weightedRunsAnyInstant returns a host's run at any instant, a run
// inside a period included: as weightedLines, and the aggregates of
// periods still open at the run (not due yet) are kept and merged with the
// next run's (in the order swap draws: either order merges alike), given
// to the next run's usage.Config.Billed so that it reports their periods
// with its view of the line's activity (usage.Aggregate.Through).
func weightedRunsAnyInstant(t *rapid.T, b *invoice.Builder, subs []invoice.Subscription) func(after, runAt time.Time, first bool, rs ...usage.Record) []invoice.Line {
	meters := []usage.Meter{{ID: "tb_protected", Unit: "TB", Aggregation: usage.WeightedAverage}}
	var billed, pending []usage.Aggregate
	var ledger usage.Ledger
	return func(after, runAt time.Time, first bool, rs ...usage.Record) []invoice.Line {
		lines, err := b.UsageLines(runAt, subs...)
		require.NoError(t, err)
		cfg := usage.Config{Meters: meters, Lines: lines, Ledger: ledger, Billed: append(slices.Clone(billed), pending...), Through: runAt}
		if !first {
			cfg.ClosedBefore = after
		}
		rep, err := usage.Collect(cfg, slices.Values(rs))
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		all := slices.Clone(rep.Aggregates)
		for _, p := range pending {
			k := slices.IndexFunc(all, func(g usage.Aggregate) bool {
				return g.Line == p.Line && g.Meter == p.Meter && g.Period.Equal(p.Period)
			})
			if k < 0 {
				all = append(all, p)
				continue
			}
			x, y := all[k], p
			if rapid.Bool().Draw(t, "swap") {
				x, y = y, x
			}
			all[k], err = x.Merge(y)
			require.NoError(t, err)
		}
		var due []usage.Aggregate
		pending = nil
		for _, g := range all {
			if g.Period.End.After(runAt) {
				pending = append(pending, g)
			} else {
				due = append(due, g)
			}
		}
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		require.NoError(t, err)
		r := invoice.Run{After: after, At: runAt, Usage: due, Late: late}
		invs, err := b.Build(r, subs)
		require.NoError(t, err)
		done, err := b.BilledUsage(r, subs, meters)
		require.NoError(t, err)
		billed, ledger = append(billed, done...), rep.Ledger
		var out []invoice.Line
		for _, inv := range invs {
			out = append(out, inv.Lines...)
		}
		return out
	}
}

// A storage meter weighted by time, read on January 1 (100 TB) and
// January 20 (300 TB): a run on January 15 reports January so far (not
// due: it is kept and merged with the next run's), the run on February 1
// bills the month: (100 × 19 + 300 × 12)/31 = 177.41935483871 TB-months,
// billable 167.41935483871 at 9.00 = USD 1,506.77, what one run on
// February 1 bills. Before, the merged January took the first run's view
// of the line (stopped at the run: January 15 on counted zero) and billed
// 100 × 14/31 = 45.161290322581, USD 421.94.
func TestWeightedAverageRunInsidePeriodBillsTheMonth(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b, subs, at := backupRuns(t, backupCatalog)
		run := weightedRunsAnyInstant(t, b, subs)
		require.Empty(t, run(at(1, 1), at(1, 15), true, tbRead("jan-01", at(1, 1), 100)))
		got := run(at(1, 15), at(2, 1), false, tbRead("jan-20", at(1, 20), 300))
		require.Len(t, got, 1)
		require.Equal(t, "177.41935483871", got[0].Quantity.String())
		require.Equal(t, "1506.77", got[0].Amount.AmountString())
		one := weightedLines(t, b, subs)(at(1, 1), at(2, 1), tbRead("jan-01", at(1, 1), 100), tbRead("jan-20", at(1, 20), 300))
		require.Len(t, one, 1)
		require.True(t, one[0].Amount.Equal(got[0].Amount))
	})
}

// Property: TB readings delivered over runs at random instants, inside
// periods as well as at their ends (a reading in any run at or after its
// instant), each run given the ledger, the usage billed before and the
// aggregates of periods still open, bill each month, its late deltas
// added up, what one run at the end bills it, to the cent.
func TestWeightedAverageRunsAtAnyInstantBillOneRunProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b, subs, at := backupRuns(t, backupCatalog)
		months := rapid.IntRange(1, 3).Draw(t, "months")
		end := at(months+1, 1)
		// Run instants: some hours of the months, sorted, then the end.
		var runs []time.Time
		for range rapid.IntRange(0, 4).Draw(t, "runs") {
			runs = append(runs, at(1, 1).Add(time.Duration(rapid.IntRange(1, int(end.Sub(at(1, 1))/time.Hour)-1).Draw(t, "run hour"))*time.Hour))
		}
		slices.SortFunc(runs, func(x, y time.Time) int { return x.Compare(y) })
		runs = append(slices.Compact(runs), end)
		n := rapid.IntRange(0, 8).Draw(t, "readings")
		byRun := make([][]usage.Record, len(runs))
		var all []usage.Record
		for i := range n {
			m := rapid.IntRange(1, months).Draw(t, "month")
			r := tbRead(fmt.Sprintf("r%02d", i), at(m, 1).Add(time.Duration(rapid.IntRange(0, 27*24).Draw(t, "hour"))*time.Hour), int64(rapid.IntRange(0, 300).Draw(t, "tb")))
			all = append(all, r)
			k := slices.IndexFunc(runs, func(x time.Time) bool { return x.After(r.At) })
			k = rapid.IntRange(k, len(runs)-1).Draw(t, "run")
			byRun[k] = append(byRun[k], r)
		}
		sums := func(lines []invoice.Line, into map[string]ensemble.Money) {
			for _, l := range lines {
				k := l.Cycle.Start.Format("Jan")
				sum, err := into[k].Add(l.Amount)
				require.NoError(t, err)
				into[k] = sum
			}
		}
		got := map[string]ensemble.Money{}
		run := weightedRunsAnyInstant(t, b, subs)
		after := at(1, 1)
		for k, runAt := range runs {
			sums(run(after, runAt, k == 0, byRun[k]...), got)
			after = runAt
		}
		one := map[string]ensemble.Money{}
		sums(weightedLines(t, b, subs)(at(1, 1), end, all...), one)
		for m := 1; m <= months; m++ {
			k := at(m, 1).Format("Jan")
			require.True(t, got[k].Equal(one[k]), "%s: the runs bill %s, one run %s", k, got[k], one[k])
		}
	})
}
