package invoice_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestLevelHoursBillsPerGPUHour is the aiapi trial's finding A3: reserved
// GPUs at USD 2.50 per GPU-hour, read as a level (2 GPUs from February 1,
// 4 from March 16) on a weighted_average meter with level_hours. February
// bills 2 × 672 h × 2.50 = 3,360.00 (on main the meter gives 2 GPU-months,
// 5.00 at the hourly price), March 2 × 360 h + 4 × 384 h = 2,256 h,
// 5,640.00; a late reading of 3 GPUs from March 10 bills the difference
// of the re-integrated month, 144 h × 1 GPU × 2.50 = 360.00, on May 1,
// beside April's 4 × 720 h = 2,880 h (7,200.00, the level carried).
func TestLevelHoursBillsPerGPUHour(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - id: gpu
    version: 1
    name: Reserved GPUs
    currency: USD
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: reserved, name: Reserved GPU-hours, type: usage, meter: gpus, price: {model: per_unit, amount: "2.50"}}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	subs := []invoice.Subscription{{ID: "alpha", Customer: invoice.Customer{ID: "alpha", TaxExempt: true}, Currency: ensemble.MustCurrency("USD"), Anchor: day(2, 1),
		Items: []invoice.Item{{ID: "gpu", Segments: []invoice.Segment{{Start: day(2, 1), Pin: catalog.Pin{Offer: "gpu", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}}
	meters := []usage.Meter{{ID: "gpus", Unit: "GPU-hour", Aggregation: usage.WeightedAverage, LevelHours: true}}
	reading := func(id string, n int64, at time.Time) usage.Record {
		return usage.Record{ID: usage.RecordID(id), Line: "alpha/gpu", Meter: "gpus", Quantity: decimal.NewFromInt(n), At: at}
	}
	deliveries := [][]usage.Record{
		{reading("g1", 2, day(2, 1))},
		{reading("g2", 4, day(3, 16))},
		{reading("g3", 3, day(3, 10))},
	}
	var ledger usage.Ledger
	var billed []usage.Aggregate
	var got []string
	after := day(2, 1)
	for i, at := range []time.Time{day(3, 1), day(4, 1), day(5, 1)} {
		ul, err := b.UsageLines(at, subs...)
		require.NoError(t, err)
		rep, err := usage.Collect(usage.Config{Meters: meters, Lines: ul, ClosedBefore: after, Ledger: ledger, Billed: billed}, slices.Values(deliveries[i]))
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		require.NoError(t, err)
		run := invoice.Run{After: after, At: at, Usage: rep.Aggregates, Late: late}
		invs, err := b.Build(run, subs)
		require.NoError(t, err)
		for _, inv := range invs {
			for _, l := range inv.Lines {
				got = append(got, l.Kind.String()+" "+l.Quantity.String()+" "+l.Amount.String())
			}
		}
		done, err := b.BilledUsage(run, subs, meters)
		require.NoError(t, err)
		billed, ledger, after = append(billed, done...), rep.Ledger, at
	}
	require.Equal(t, []string{
		"usage 1344 USD 3360.00",
		"usage 2256 USD 5640.00",
		"usage_adjustment 2400 USD 360.00",
		"usage 2880 USD 7200.00",
	}, got)
}
