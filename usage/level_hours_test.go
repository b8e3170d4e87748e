package usage_test

import (
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

// TestLevelHoursBillsGPUHours is the aiapi trial's finding A3: reserved
// GPUs priced 2.50 per GPU-hour. A weighted_average meter gives the
// average level (GPU-months): 2 GPUs all February bill 2 × 1,860.00 =
// 3,720.00 at a per-month price of 2.50 × 744 h, where the contract says
// 2 × 672 h × 2.50 = 3,360.00. With Meter.LevelHours the value is the
// level's integral in hours: February 1,344 GPU-hours (3,360.00), March
// 2 GPUs for 360 h then 4 for 384 h = 2,256 GPU-hours (5,640.00), from two
// readings instead of one record per hour.
func TestLevelHoursBillsGPUHours(t *testing.T) {
	cfg := usage.Config{
		Meters: []usage.Meter{{ID: "gpus", Unit: "GPU-hour", Aggregation: usage.WeightedAverage, LevelHours: true}},
		Lines: []usage.Line{{
			Ref: "o-alpha/gpu", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: utc("2026-02-01T00:00:00Z"),
			Active: []ensemble.Period{period("2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z")},
		}},
	}
	records := []usage.Record{
		rec("g1", "o-alpha/gpu", "gpus", "2", "2026-02-01T00:00:00Z"),
		rec("g2", "o-alpha/gpu", "gpus", "4", "2026-03-16T00:00:00Z"),
	}
	rep := collect(t, cfg, records...)
	require.Empty(t, rep.Rejections)
	feb := find(t, rep, "o-alpha/gpu", "gpus", "2026-02-01T00:00:00Z")
	mar := find(t, rep, "o-alpha/gpu", "gpus", "2026-03-01T00:00:00Z")
	require.Equal(t, "1344", feb.Value.String())
	require.Equal(t, "2256", mar.Value.String())
	require.True(t, mar.LevelHours)
	price := dec("2.50")
	require.Equal(t, "3360", feb.Value.Mul(price).String())
	require.Equal(t, "5640", mar.Value.Mul(price).String())

	// A late reading (2 GPUs from March 10 to 16, not 2 → 4 on the 16th:
	// 3 GPUs from the 10th) re-averages March exactly when merged:
	// 2 × 216 h + 3 × 144 h + 4 × 384 h = 2,400.
	cfg.ClosedBefore = utc("2026-04-01T00:00:00Z")
	cfg.Ledger = rep.Ledger
	cfg.Billed = rep.Aggregates
	late := collect(t, cfg, rec("g3", "o-alpha/gpu", "gpus", "3", "2026-03-10T00:00:00Z"))
	adj := find(t, late, "o-alpha/gpu", "gpus", "2026-03-01T00:00:00Z")
	cum, err := mar.Merge(adj)
	require.NoError(t, err)
	require.Equal(t, "2400", cum.Value.String())

	// Without the option the value is the average level: 2 GPU-months in
	// February; the option on another aggregation is a config error.
	cfg = usage.Config{Meters: []usage.Meter{{ID: "gpus", Aggregation: usage.WeightedAverage}}, Lines: cfg.Lines}
	avg := collect(t, cfg, records...)
	require.Equal(t, "2", find(t, avg, "o-alpha/gpu", "gpus", "2026-02-01T00:00:00Z").Value.String())
	cfg.Meters[0] = usage.Meter{ID: "gpus", Aggregation: usage.Sum, LevelHours: true}
	require.ErrorIs(t, cfg.Validate(), usage.ErrBadAggregation)
	_, err = mar.Merge(find(t, avg, "o-alpha/gpu", "gpus", "2026-03-01T00:00:00Z"))
	require.ErrorIs(t, err, usage.ErrMergeMismatch)
}
