package usage_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/usage"
)

// TestConflictManyContents feeds ids with thousands of different contents,
// each content again respelled (trailing zeros, another zone, a fresh
// map): every content is listed once and every respelled copy counted as a
// duplicate. Matching a record against the contents of its id takes
// constant time, so this runs in milliseconds (it took seconds when each
// record was compared with every content before it).
func TestConflictManyContents(t *testing.T) {
	tests := []struct {
		name     string
		contents int
		meter    string
		attrs    bool
	}{
		{"sum quantities", 5000, "gpu", false},
		{"count_unique users", 5000, "users", true},
		{"rejected first content", 2000, "tpu", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := usage.New(testConfig())
			require.NoError(t, err)
			for pass := range 2 {
				for i := range tt.contents {
					r := rec("x", "L1", tt.meter, strconv.Itoa(i), "2026-01-05T00:00:00Z")
					if tt.attrs {
						r.Attributes = map[string]string{"user": "u" + strconv.Itoa(i%7), "n": strconv.Itoa(i)}
					}
					if pass == 1 {
						r = respell(r)
					}
					a.AddRecord(r)
				}
			}
			rep := a.Report()
			require.Len(t, rep.Conflicts, 1)
			require.Len(t, rep.Conflicts[0].Records, tt.contents)
			require.Equal(t, int64(tt.contents), rep.Stats.Duplicates)
			require.Empty(t, rep.Aggregates)
		})
	}
}

// TestPropertyConflictContentsMatchModel draws few ids with many contents,
// respelled repeats among them, and checks the report against the model,
// which compares each record with every content seen before (the plain
// reference of the content index).
func TestPropertyConflictContentsMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		base := rapid.SliceOfN(genRecord(), 1, 40).Draw(t, "records")
		for i := range base {
			base[i].ID = usage.RecordID("c" + strconv.Itoa(rapid.IntRange(0, 2).Draw(t, "id_"+strconv.Itoa(i))))
			base[i].Quantity = base[i].Quantity.Mod(decimal.New(1000, 0)) // readable: no rejection before dedup
		}
		stream := slices.Clone(base)
		for _, i := range rapid.SliceOfN(rapid.IntRange(0, len(base)-1), 0, 30).Draw(t, "respelled") {
			stream = append(stream, respell(base[i]))
		}
		stream = rapid.Permutation(stream).Draw(t, "stream")
		checkAgainstModel(t, collect(t, cfg, stream...), model(t, cfg, stream))
	})
}

// TestPropertySegmentedLineMatchesModel draws a line of many short active
// segments, which no billing period lies inside (so every record takes the
// path that searches the segments), and checks the report against the
// model, which scans every segment.
func TestPropertySegmentedLineMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := testConfig()
		l := &cfg.Lines[0]
		l.Active = nil
		for d := range rapid.IntRange(1, 80).Draw(t, "segments") {
			start := genBase.AddDate(0, 0, 7+d)
			l.Active = append(l.Active, period(start.Format(time.RFC3339), start.Add(time.Duration(rapid.IntRange(1, 30).Draw(t, "hours"))*time.Hour).Format(time.RFC3339)))
		}
		records := rapid.SliceOfN(genRecord(), 0, 60).Draw(t, "records")
		checkAgainstModel(t, collect(t, cfg, records...), model(t, cfg, records))
	})
}
