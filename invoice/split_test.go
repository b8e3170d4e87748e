package invoice_test

import (
	"math/big"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// splitYAML prices one meter, storage in GB, four ways:
//
//	standard: graduated, up to 500 GB at EUR 0.05, beyond at EUR 0.09
//	          rate(300) = 15.00, rate(600) = 25.00 + 100 × 0.09 = 34.00,
//	          rate(800) = 25.00 + 300 × 0.09 = 52.00, rate(900) = 61.00,
//	          rate(1200) = 25.00 + 700 × 0.09 = 88.00
//	pro:      graduated, 1,000 GB included, beyond at EUR 0.08
//	          rate(400) = 0.00, rate(1100) = 8.00, rate(1200) = 16.00,
//	          rate(1500) = 40.00
//	basic:    EUR 0.10 per GB, minimum spend EUR 20
//	plus:     EUR 0.05 per GB, minimum spend EUR 50
const splitYAML = `
offers:
  - id: standard
    version: 1
    name: Standard
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - id: gb
        name: Storage
        type: usage
        meter: gb
        price: {model: graduated, tiers: [{up_to: 500, unit_amount: "0.05"}, {unit_amount: "0.09"}]}
  - id: pro
    version: 1
    name: Pro
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - id: gb
        name: Storage
        type: usage
        meter: gb
        price: {model: graduated, tiers: [{up_to: 1000, unit_amount: "0"}, {unit_amount: "0.08"}]}
  - id: basic
    version: 1
    name: Basic
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: gb, name: Storage, type: usage, meter: gb, price: {model: per_unit, amount: "0.10", minimum_spend: "20"}}
  - id: plus
    version: 1
    name: Plus
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: gb, name: Storage, type: usage, meter: gb, price: {model: per_unit, amount: "0.05", minimum_spend: "50"}}
`

var (
	splitCatalog = func() *catalog.Catalog {
		cat, err := catalog.LoadYAML([]byte(splitYAML))
		if err != nil {
			panic(err)
		}
		return cat
	}()
	gbMeters = []usage.Meter{{ID: "gb", Aggregation: usage.Sum, Unit: "GB"}}
)

func splitBuilder(t tb, split invoice.UsageSplit) *invoice.Builder {
	t.Helper()
	b, err := invoice.NewBuilder(splitCatalog, invoice.Options{UsageSplit: split})
	require.NoError(t, err)
	return b
}

// storageSub is a tax-exempt subscription anchored on April 1, 2026 whose
// one item, "storage", holds segs.
func storageSub(segs ...invoice.Segment) invoice.Subscription {
	s := sub("s1", date(2026, 4, 1), item("storage", segs...))
	s.Customer.TaxExempt = true
	return s
}

// gbRecord is a record of q GB at instant at.
func gbRecord(id string, at time.Time, q string) usage.Record {
	return usage.Record{ID: usage.RecordID(id), Line: "s1/storage", Meter: "gb", At: at, Quantity: dec(q)}
}

// collect aggregates records on the usage lines b gives for s until until.
func collect(t tb, b *invoice.Builder, s invoice.Subscription, until, closed time.Time, ledger usage.Ledger, recs ...usage.Record) *usage.Report {
	t.Helper()
	lines, err := b.UsageLines(until, s)
	require.NoError(t, err)
	rep, err := usage.Collect(usage.Config{Meters: gbMeters, Lines: lines, ClosedBefore: closed, Ledger: ledger}, slices.Values(recs))
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	require.Empty(t, rep.Rejections)
	return rep
}

// usageLines writes each usage line as "kind offer [service) amount".
func usageLines(inv invoice.Invoice) []string {
	var out []string
	for _, l := range inv.Lines {
		if l.Usage != nil {
			out = append(out, l.Kind.String()+" "+string(l.Pin.Offer)+" "+l.Period.String()+" "+l.Amount.AmountString())
		}
	}
	return out
}

func period(from, to time.Time) string { return ensemble.MustPeriod(from, to).String() }

// TestUsageSplitAtUpgradeTrial is a new user's trial: Standard prices GB
// through tiers, Pro includes 1,000 GB; the customer stores 800 GB before
// upgrading on April 15 and 400 GB after. Each piece of April is billed at
// its own offer: 800 GB at Standard (25.00 + 300 × 0.09 = 52.00) and 400 GB
// at Pro (included: 0.00), 52.00 in all, where pricing all 1,200 GB at Pro
// billed 200 × 0.08 = 16.00 (SplitNone keeps that).
func TestUsageSplitAtUpgradeTrial(t *testing.T) {
	apr1, apr15, may1 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1)
	s := storageSub(seg(apr1, apr15, pin("standard", 1), "1"), seg(apr15, time.Time{}, pin("pro", 1), "1"))
	recs := []usage.Record{gbRecord("r1", date(2026, 4, 3), "500"), gbRecord("r2", date(2026, 4, 10), "300"), gbRecord("r3", date(2026, 4, 20), "400")}
	for _, tc := range []struct {
		name  string
		split invoice.UsageSplit
		want  []string
		total string
	}{
		{"each piece at its own offer", invoice.SplitAtChange, []string{
			"usage standard " + period(apr1, apr15) + " 52.00",
			"usage pro " + period(apr15, may1) + " 0.00",
		}, "52.00"},
		{"the latest offer prices the whole period", invoice.SplitNone, []string{
			"usage pro " + period(apr1, may1) + " 16.00",
		}, "16.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := splitBuilder(t, tc.split)
			rep := collect(t, b, s, may1, time.Time{}, usage.Ledger{}, recs...)
			inv := build1(t, b, invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, s)
			require.Equal(t, tc.want, usageLines(inv))
			require.Equal(t, tc.total, inv.Total.AmountString())
			// Each line traces to the aggregate it rated, of its own
			// usage period.
			require.Len(t, rep.Aggregates, len(inv.Lines))
			for i, l := range inv.Lines {
				g := rep.Aggregates[i]
				require.Equal(t, g.Ref(), l.Usage.Ref)
				require.True(t, g.Period.Equal(l.Usage.Period))
				require.True(t, g.Period.Equal(l.Cycle))
				require.True(t, g.Value.Equal(l.Quantity))
				require.Contains(t, l.Refs, g.Ref())
			}
			roundTrip(t, inv)
		})
	}
}

// TestUsageSplitAtDowngrade: 400 GB on Pro until April 15, then 800 GB on
// Standard: 0.00 + 52.00, where Standard for all 1,200 GB is 88.00.
func TestUsageSplitAtDowngrade(t *testing.T) {
	apr1, apr15, may1 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1)
	s := storageSub(seg(apr1, apr15, pin("pro", 1), "1"), seg(apr15, time.Time{}, pin("standard", 1), "1"))
	recs := []usage.Record{gbRecord("r1", date(2026, 4, 2), "400"), gbRecord("r2", date(2026, 4, 29), "800")}
	for _, tc := range []struct {
		name  string
		split invoice.UsageSplit
		want  []string
	}{
		{"split", invoice.SplitAtChange, []string{"usage pro " + period(apr1, apr15) + " 0.00", "usage standard " + period(apr15, may1) + " 52.00"}},
		{"whole", invoice.SplitNone, []string{"usage standard " + period(apr1, may1) + " 88.00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := splitBuilder(t, tc.split)
			rep := collect(t, b, s, may1, time.Time{}, usage.Ledger{}, recs...)
			inv := build1(t, b, invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, s)
			require.Equal(t, tc.want, usageLines(inv))
		})
	}
}

// TestUsageSplitTwoChangesInOnePeriod: Standard, Pro from April 10,
// Standard again from April 20, with a quantity change on April 25 that
// changes no charge (so cuts nothing). Three pieces, each rated alone:
// Standard 300 GB = 15.00, Pro 1,500 GB = 40.00, Standard 600 GB = 34.00;
// the two Standard pieces do not share their tiers (as Kill Bill's usage
// intervals per plan do not).
func TestUsageSplitTwoChangesInOnePeriod(t *testing.T) {
	apr1, apr10, apr20, apr25, may1 := date(2026, 4, 1), date(2026, 4, 10), date(2026, 4, 20), date(2026, 4, 25), date(2026, 5, 1)
	s := storageSub(seg(apr1, apr10, pin("standard", 1), "1"), seg(apr10, apr20, pin("pro", 1), "1"),
		seg(apr20, apr25, pin("standard", 1), "1"), seg(apr25, time.Time{}, pin("standard", 1), "2"))
	b := splitBuilder(t, invoice.SplitAtChange)
	lines, err := b.UsageLines(may1, s)
	require.NoError(t, err)
	require.Len(t, lines, 1)
	require.Equal(t, []ensemble.Period{ensemble.MustPeriod(apr1, apr10), ensemble.MustPeriod(apr10, apr20), ensemble.MustPeriod(apr20, may1)}, lines[0].Periods)
	rep := collect(t, b, s, may1, time.Time{}, usage.Ledger{},
		gbRecord("r1", date(2026, 4, 5), "300"), gbRecord("r2", date(2026, 4, 12), "1500"),
		gbRecord("r3", date(2026, 4, 21), "200"), gbRecord("r4", date(2026, 4, 28), "400"))
	// The first piece is due at the first change, the second at the
	// second: a run on April 15 bills the first alone.
	mid := build1(t, b, invoice.Run{After: apr1, At: date(2026, 4, 15), Usage: rep.Aggregates[:1]}, s)
	require.Equal(t, []string{"usage standard " + period(apr1, apr10) + " 15.00"}, usageLines(mid))
	inv := build1(t, b, invoice.Run{After: date(2026, 4, 15), At: may1, Usage: rep.Aggregates[1:]}, s)
	require.Equal(t, []string{
		"usage pro " + period(apr10, apr20) + " 40.00",
		"usage standard " + period(apr20, may1) + " 34.00",
	}, usageLines(inv))
	// A run before the first change does not bill its piece yet.
	_, err = b.Build(invoice.Run{After: apr1, At: date(2026, 4, 5), Usage: rep.Aggregates[:1]}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrUsageNotDue)
}

// TestUsageSplitLateUsageAcrossTheChange: after the trial's April was
// billed, 100 GB arrive late for April 12 and 700 GB for April 25. Each is
// an adjustment of its own piece, billed as rate(cumulative) -
// rate(billed) at that piece's offer: Standard 61.00 - 52.00 = 9.00, Pro
// 8.00 - 0.00 = 8.00. Billing everything at once bills the same.
func TestUsageSplitLateUsageAcrossTheChange(t *testing.T) {
	apr1, apr15, may1, may10 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1), date(2026, 5, 10)
	s := storageSub(seg(apr1, apr15, pin("standard", 1), "1"), seg(apr15, time.Time{}, pin("pro", 1), "1"))
	b := splitBuilder(t, invoice.SplitAtChange)
	onTime := []usage.Record{gbRecord("r1", date(2026, 4, 3), "800"), gbRecord("r2", date(2026, 4, 20), "400")}
	late := []usage.Record{gbRecord("r3", date(2026, 4, 12), "100"), gbRecord("r4", date(2026, 4, 25), "700")}

	rep := collect(t, b, s, may1, time.Time{}, usage.Ledger{}, onTime...)
	run := invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}
	first := build1(t, b, run, s)
	billed, err := b.BilledUsage(run, []invoice.Subscription{s}, gbMeters)
	require.NoError(t, err)
	require.Len(t, billed, 2)

	rep2 := collect(t, b, s, may10, may1, rep.Ledger, late...)
	require.Empty(t, rep2.Aggregates)
	require.Len(t, rep2.Adjustments, 2)
	pairs, err := invoice.LateUsageFrom(rep2.Adjustments, billed)
	require.NoError(t, err)
	second := build1(t, b, invoice.Run{After: may1, At: may10, Late: pairs}, s)
	require.Equal(t, []string{
		"usage_adjustment standard " + period(apr1, apr15) + " 9.00",
		"usage_adjustment pro " + period(apr15, may1) + " 8.00",
	}, usageLines(second))
	for _, l := range second.Lines {
		require.NotNil(t, l.Usage.Late)
	}

	all := collect(t, b, s, may1, time.Time{}, usage.Ledger{}, append(slices.Clone(onTime), late...)...)
	once := build1(t, b, invoice.Run{After: apr1, At: may1, Usage: all.Aggregates}, s)
	sum, err := first.Total.Add(second.Total)
	require.NoError(t, err)
	require.Equal(t, once.Total.AmountString(), sum.AmountString())
	require.Equal(t, "69.00", sum.AmountString()) // 61.00 + 8.00
}

// TestUsageSplitIdlePeriod: no usage at all in April, on Basic until April
// 15 and Plus after. Each piece bills what zero usage costs at its own
// offer, owing its share of the month's minimum spend (as Lago prorates a
// terminated subscription's): Basic's 20.00 for 14 days of 30, 9.33, and
// Plus's 50.00 for 16, 26.67 (each minimum whole, 70.00, before pieces
// shared them). Whole, at Plus: 50.00. BilledUsage keeps a zero aggregate
// per piece, for late usage to pair with.
func TestUsageSplitIdlePeriod(t *testing.T) {
	apr1, apr15, may1 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1)
	s := storageSub(seg(apr1, apr15, pin("basic", 1), "1"), seg(apr15, time.Time{}, pin("plus", 1), "1"))
	for _, tc := range []struct {
		name   string
		split  invoice.UsageSplit
		want   []string
		billed []ensemble.Period
	}{
		{"split", invoice.SplitAtChange, []string{"usage basic " + period(apr1, apr15) + " 9.33", "usage plus " + period(apr15, may1) + " 26.67"},
			[]ensemble.Period{ensemble.MustPeriod(apr1, apr15), ensemble.MustPeriod(apr15, may1)}},
		{"whole", invoice.SplitNone, []string{"usage plus " + period(apr1, may1) + " 50.00"},
			[]ensemble.Period{ensemble.MustPeriod(apr1, may1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := splitBuilder(t, tc.split)
			run := invoice.Run{After: apr1, At: may1}
			inv := build1(t, b, run, s)
			require.Equal(t, tc.want, usageLines(inv))
			billed, err := b.BilledUsage(run, []invoice.Subscription{s}, gbMeters)
			require.NoError(t, err)
			var got []ensemble.Period
			for _, g := range billed {
				require.Zero(t, g.Records)
				got = append(got, g.Period)
			}
			require.Equal(t, tc.billed, got)
		})
	}
}

// TestUsageSplitSharesTheMinimumSpend: Basic (EUR 0.10 a GB, EUR 20
// minimum) until April 15, Plus (EUR 0.05, EUR 50 minimum) after. 50 GB
// before the change bill Basic's minimum for 14 days of 30, 9.33 (not
// 20.00); 1,000 GB after bill their 50.00, above Plus's 26.67 for 16 days.
// The line's trace and explanation give the piece's share.
func TestUsageSplitSharesTheMinimumSpend(t *testing.T) {
	apr1, apr15, may1 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1)
	s := storageSub(seg(apr1, apr15, pin("basic", 1), "1"), seg(apr15, time.Time{}, pin("plus", 1), "1"))
	b := splitBuilder(t, invoice.SplitAtChange)
	rep := collect(t, b, s, may1, time.Time{}, usage.Ledger{}, gbRecord("r1", date(2026, 4, 3), "50"), gbRecord("r2", date(2026, 4, 20), "1000"))
	inv := build1(t, b, invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, s)
	require.Equal(t, []string{"usage basic " + period(apr1, apr15) + " 9.33", "usage plus " + period(apr15, may1) + " 50.00"}, usageLines(inv))
	require.True(t, inv.Lines[0].Usage.SpendShare.Equal(ensemble.MustRatio("7/15")), "%s", inv.Lines[0].Usage.SpendShare)
	require.True(t, inv.Lines[1].Usage.SpendShare.Equal(ensemble.MustRatio("8/15")), "%s", inv.Lines[1].Usage.SpendShare)
	require.Contains(t, invoice.Explain(inv.Lines[0]), "owes 7/15 of the charge's minimum and maximum spend")
	require.Contains(t, invoice.Explain(inv.Lines[0]), "    minimum spend (this piece's 7/15 of it): 9.33, adjusted by 4.33\n")

	// Billed whole, the month owes Plus's minimum once: 50.00 + 50 GB.
	whole := splitBuilder(t, invoice.SplitNone)
	rep = collect(t, whole, s, may1, time.Time{}, usage.Ledger{}, gbRecord("r1", date(2026, 4, 3), "50"), gbRecord("r2", date(2026, 4, 20), "1000"))
	inv = build1(t, whole, invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, s)
	require.Equal(t, []string{"usage plus " + period(apr1, may1) + " 52.50"}, usageLines(inv))
	require.True(t, inv.Lines[0].Usage.SpendShare.IsZero())
}

// TestUsageSplitRefusesAWholePeriodOverAChange: under SplitAtChange, an
// aggregate of the whole of April (from a usage line made before the
// change was known, say) cannot be billed: which part was used before the
// change is unknown. It is a *UsageError wrapping ErrSpansChange; usage
// of a period that is neither a cycle nor a piece is ErrInvalid.
func TestUsageSplitRefusesAWholePeriodOverAChange(t *testing.T) {
	apr1, apr15, may1 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1)
	s := storageSub(seg(apr1, apr15, pin("standard", 1), "1"), seg(apr15, time.Time{}, pin("pro", 1), "1"))
	b := splitBuilder(t, invoice.SplitAtChange)
	whole := usage.Aggregate{Line: "s1/storage", Meter: "gb", Aggregation: usage.Sum, Period: ensemble.MustPeriod(apr1, may1), Value: dec("1200"), Records: 1, Digest: usage.DigestOf("r1")}
	_, err := b.Build(invoice.Run{After: apr1, At: may1, Usage: []usage.Aggregate{whole}}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrSpansChange)
	var ue *invoice.UsageError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, usage.LineRef("s1/storage"), ue.Line)
	require.True(t, ue.Period.Equal(ensemble.MustPeriod(apr1, may1)))

	odd := whole
	odd.Period = ensemble.MustPeriod(apr1, date(2026, 4, 20))
	_, err = b.Build(invoice.Run{After: apr1, At: may1, Usage: []usage.Aggregate{odd}}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrInvalid)
}

// TestUsageSplitProgressive: thresholds bill each piece's usage so far
// while the piece is open; the piece before the change ends at the change
// and owes its final bill then, at its own offer.
func TestUsageSplitProgressive(t *testing.T) {
	apr1, apr15, may1 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1)
	s := storageSub(seg(apr1, apr15, pin("standard", 1), "1"), seg(apr15, time.Time{}, pin("pro", 1), "1"))
	s.Items[0].Thresholds = []invoice.UsageThreshold{{Meter: "gb", Amount: dec("10")}}
	b := splitBuilder(t, invoice.SplitAtChange)
	agg := func(from, to time.Time, v string, ids ...usage.RecordID) usage.Aggregate {
		return usage.Aggregate{Line: "s1/storage", Meter: "gb", Aggregation: usage.Sum, Period: ensemble.MustPeriod(from, to), Value: dec(v), Records: int64(len(ids)), Digest: usage.DigestOf(ids...)}
	}
	// April 10: 600 GB so far on Standard (25.00 + 100 × 0.09 = 34.00).
	p1 := invoice.ProgressiveUsage{Usage: agg(apr1, apr15, "600", "r1")}
	ahead := build1(t, b, invoice.Run{After: apr1, At: date(2026, 4, 10), Progressive: []invoice.ProgressiveUsage{p1}}, s)
	require.Equal(t, []string{"progressive_usage standard " + period(apr1, date(2026, 4, 10)) + " 34.00"}, usageLines(ahead))
	// May 1: the Standard piece ended with 800 GB (52.00 - 34.00 billed);
	// the Pro piece holds 1,200 GB (16.00).
	final := build1(t, b, invoice.Run{After: date(2026, 4, 10), At: may1, Progressive: []invoice.ProgressiveUsage{
		{Usage: agg(apr1, apr15, "800", "r1", "r2"), Billed: p1.Usage},
		{Usage: agg(apr15, may1, "1200", "r3")},
	}}, s)
	require.Equal(t, []string{
		"usage standard " + period(apr1, apr15) + " 18.00",
		"usage pro " + period(apr15, may1) + " 16.00",
	}, usageLines(final))
}

// TestUsageSplitOptionJSON: the option marshals by name and round-trips.
func TestUsageSplitOptionJSON(t *testing.T) {
	for _, u := range []invoice.UsageSplit{invoice.SplitAtChange, invoice.SplitNone} {
		text, err := u.MarshalText()
		require.NoError(t, err)
		require.Equal(t, u.String(), string(text))
		var back invoice.UsageSplit
		require.NoError(t, back.UnmarshalText(text))
		require.Equal(t, u, back)
		roundTrip(t, invoice.Options{UsageSplit: u})
	}
	_, err := invoice.UsageSplit(7).MarshalText()
	require.Error(t, err)
	_, err = invoice.NewBuilder(splitCatalog, invoice.Options{UsageSplit: 7})
	require.ErrorIs(t, err, invoice.ErrInvalid)
}

// TestPropertyUsageSplitBillsEachPieceAlone: records over a month with up
// to three changes of offer (some to the same offer, which cut nothing) bill,
// per piece, exactly what rating that piece's usage alone at its offer
// bills; the pieces tile the month; and billing them in one run at the
// month's end or in a run at each change bills the same.
func TestPropertyUsageSplitBillsEachPieceAlone(t *testing.T) {
	offers := []string{"standard", "pro", "basic", "plus"}
	rapid.Check(t, func(t *rapid.T) {
		b := splitBuilder(t, invoice.SplitAtChange)
		start, end := date(2026, 4, 1), date(2026, 5, 1)
		n := rapid.IntRange(0, 3).Draw(t, "changes")
		cuts := make([]time.Time, 0, n)
		for i := range n {
			cuts = append(cuts, start.Add(time.Duration(rapid.IntRange(1, 30*24-1).Draw(t, "change_hour_"+strconv.Itoa(i)))*time.Hour))
		}
		slices.SortFunc(cuts, time.Time.Compare)
		cuts = slices.CompactFunc(cuts, time.Time.Equal)
		bounds := append(append([]time.Time{start}, cuts...), time.Time{})
		var segs []invoice.Segment
		for i := range len(bounds) - 1 {
			o := rapid.SampledFrom(offers).Draw(t, "offer_"+strconv.Itoa(i))
			segs = append(segs, seg(bounds[i], bounds[i+1], pin(o, 1), "1"))
		}
		s := storageSub(segs...)
		var recs []usage.Record
		for i := range rapid.IntRange(0, 12).Draw(t, "records") {
			at := start.Add(time.Duration(rapid.Int64Range(0, int64(end.Sub(start)/time.Minute)-1).Draw(t, "at_minutes")) * time.Minute)
			q := decimal.New(rapid.Int64Range(0, 1500).Draw(t, "gb"), 0)
			recs = append(recs, usage.Record{ID: usage.RecordID("r" + strconv.Itoa(i)), Line: "s1/storage", Meter: "gb", At: at, Quantity: q})
		}
		rep := collect(t, b, s, end, time.Time{}, usage.Ledger{}, recs...)
		invs, err := b.Build(invoice.Run{After: start, At: end, Usage: rep.Aggregates}, []invoice.Subscription{s})
		require.NoError(t, err)
		var inv invoice.Invoice // none when nothing is owed
		if len(invs) > 0 {
			inv = invs[0]
			require.NoError(t, inv.Check())
		}

		// The pieces tile the month, each a run of one offer.
		lines, err := b.UsageLines(end, s)
		require.NoError(t, err)
		pieces := lines[0].Periods
		if len(pieces) == 0 {
			pieces = []ensemble.Period{ensemble.MustPeriod(start, end)}
		}
		require.True(t, pieces[0].Start.Equal(start))
		require.True(t, pieces[len(pieces)-1].End.Equal(end))
		for i := 1; i < len(pieces); i++ {
			require.True(t, pieces[i].Start.Equal(pieces[i-1].End))
		}

		// Each piece bills its usage rated alone at its offer (zero usage
		// too), owing its offer's minimum spend for its share of the month.
		want := ensemble.MustMoney("0", "EUR")
		for _, pc := range pieces {
			share := ensemble.Ratio{}
			if len(pieces) > 1 {
				share = ensemble.RatioFromRat(big.NewRat(int64(pc.End.Sub(pc.Start)/time.Hour), int64(end.Sub(start)/time.Hour)))
			}
			var q decimal.Decimal
			for _, r := range recs {
				if pc.Contains(r.At) {
					q = q.Add(r.Quantity)
				}
			}
			// The offer of the latest segment overlapping the piece.
			k := 0
			for j := range segs {
				if segs[j].Start.Before(pc.End) {
					k = j
				}
			}
			r, err := splitCatalog.Rater(segs[k].Pin, "gb")
			require.NoError(t, err)
			rt, err := r.Rate(q, catalog.RateOptions{SpendShare: share})
			require.NoError(t, err)
			want, err = want.Add(rt.Amount.Round(ensemble.RoundHalfAwayFromZero))
			require.NoError(t, err)
			i := slices.IndexFunc(inv.Lines, func(l invoice.Line) bool { return l.Usage.Period.Equal(pc) })
			if rt.Amount.IsZero() && i < 0 {
				continue // an idle piece that costs nothing has no line
			}
			require.GreaterOrEqual(t, i, 0, "no line for %s", pc)
			require.Equal(t, segs[k].Pin, inv.Lines[i].Pin)
			require.Equal(t, rt.Amount.Round(ensemble.RoundHalfAwayFromZero).AmountString(), inv.Lines[i].Amount.AmountString())
		}
		require.True(t, want.Amount().Equal(inv.Total.Amount()), "one run bills %s, the pieces alone %s", inv.Total, want)
		require.Len(t, inv.Lines, len(rep.Aggregates)+idleLines(inv))

		// A run at each change, then one at the month's end, bills the
		// same.
		total := ensemble.MustMoney("0", "EUR")
		after := start
		for _, at := range append(slices.Clone(cuts), end) {
			var due []usage.Aggregate
			for _, g := range rep.Aggregates {
				if g.Period.End.After(after) && !g.Period.End.After(at) {
					due = append(due, g)
				}
			}
			invs, err := b.Build(invoice.Run{After: after, At: at, Usage: due}, []invoice.Subscription{s})
			require.NoError(t, err)
			for _, inv := range invs {
				total, err = total.Add(inv.Total)
				require.NoError(t, err)
			}
			after = at
		}
		require.True(t, want.Amount().Equal(total.Amount()), "a run at each change bills %s, the pieces alone %s", total, want)
	})
}

// idleLines counts the usage lines of inv that rated no records.
func idleLines(inv invoice.Invoice) int {
	n := 0
	for _, l := range inv.Lines {
		if l.Usage != nil && l.Usage.Records == 0 {
			n++
		}
	}
	return n
}
