package usage_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/usage"
)

// The dedup set's capacity hint changes speed, never results.
func TestExpectedRecordsIsOnlyAHint(t *testing.T) {
	records := []usage.Record{
		rec("a", "L1", "gpu", "1.5", "2026-01-02T00:00:00Z"),
		rec("b", "L1", "peak", "20", "2026-01-03T00:00:00Z"),
		rec("b", "L1", "peak", "20", "2026-01-03T00:00:00Z"),
		rec("c", "L1", "gpu", "-1", "2026-01-04T00:00:00Z"),
	}
	var want []byte
	for _, hint := range []int{0, -5, 2, 1_000_000, usage.MaxExpectedRecords + 1} {
		cfg := testConfig()
		cfg.ExpectedRecords = hint
		rep, err := usage.Collect(cfg, slices.Values(records))
		require.NoError(t, err)
		got, err := json.Marshal(rep)
		require.NoError(t, err)
		if want == nil {
			want = got
			continue
		}
		require.JSONEq(t, string(want), string(got), "hint %d", hint)
	}
}
