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
	require.Equal(t, []string{"usage_adjustment USD 49.35"}, amounts)
}

// TestWeightedAveragePieceRefused: an upgrade cuts April into pieces, each
// billed at its own price; a weighted average over a piece is the average
// level over the piece, which would bill 1,000 GB for half of April as
// 1,000 GB-months. It is refused with a typed error naming the piece;
// SplitNone bills April whole.
func TestWeightedAveragePieceRefused(t *testing.T) {
	apr1, apr15, may1 := date(2026, 4, 1), date(2026, 4, 15), date(2026, 5, 1)
	s := storageSub(seg(apr1, apr15, pin("standard", 1), "1"), seg(apr15, time.Time{}, pin("pro", 1), "1"))
	meters := []usage.Meter{{ID: "gb", Unit: "GB", Aggregation: usage.WeightedAverage}}
	recs := []usage.Record{gbRecord("r1", apr1, "1000"), gbRecord("r2", apr15, "1000")}
	for _, split := range []invoice.UsageSplit{invoice.SplitAtChange, invoice.SplitNone} {
		b := splitBuilder(t, split)
		lines, err := b.UsageLines(may1, s)
		require.NoError(t, err)
		rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines}, slices.Values(recs))
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		_, err = b.Build(invoice.Run{After: apr1, At: may1, Usage: rep.Aggregates}, []invoice.Subscription{s})
		if split == invoice.SplitNone {
			require.NoError(t, err)
			require.Len(t, rep.Aggregates, 1)
			require.Equal(t, "1000", rep.Aggregates[0].Value.String())
			continue
		}
		require.ErrorIs(t, err, invoice.ErrAveragePiece)
		var ue *invoice.UsageError
		require.ErrorAs(t, err, &ue)
		require.Equal(t, "s1/storage", string(ue.Line))
	}
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
