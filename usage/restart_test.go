package usage_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
)

// A period in which the line's activity stops closes at that stop: the
// invoice bills the period's usage there, so the records of a restart later
// in the period, collected after a run that billed the stop, are late. L
// bills February (UTC), active to February 6 and again from the 15th; the
// run of February 10 billed February at the stop. Records of February 3
// (late, delivered after that run) and 20 (after the restart) are both
// adjustments of February; they used to be aggregated as February's usage,
// which the invoice bills again from nothing. Before the stop, or with no
// stop in the period, the period closes at its end as ever.
func TestPeriodClosesAtTheLinesFirstStop(t *testing.T) {
	line := usage.Line{Ref: "L", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: utc("2026-01-01T00:00:00Z"),
		Active: []ensemble.Period{
			period("2026-01-01T00:00:00Z", "2026-02-06T00:00:00Z"),
			period("2026-02-15T00:00:00Z", "2026-04-01T00:00:00Z"),
		}}
	records := []usage.Record{
		rec("a", "L", "gpu", "1", "2026-02-03T00:00:00Z"),
		rec("b", "L", "gpu", "2", "2026-02-20T00:00:00Z"),
		rec("c", "L", "gpu", "4", "2026-03-20T00:00:00Z"),
	}
	for _, tc := range []struct {
		name         string
		closedBefore string
		late, open   []string // the periods' starts
	}{
		{"after the stop", "2026-02-10T00:00:00Z", []string{"2026-02-01"}, []string{"2026-03-01"}},
		{"at the stop", "2026-02-06T00:00:00Z", []string{"2026-02-01"}, []string{"2026-03-01"}},
		{"before the stop", "2026-02-05T00:00:00Z", nil, []string{"2026-02-01", "2026-03-01"}},
		{"after the period", "2026-03-01T00:00:00Z", []string{"2026-02-01"}, []string{"2026-03-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := usage.Config{Meters: testMeters, Lines: []usage.Line{line}, ClosedBefore: utc(tc.closedBefore)}
			rep := collect(t, cfg, records...)
			starts := func(gs []usage.Aggregate) []string {
				var out []string
				for _, g := range gs {
					out = append(out, g.Period.Start.Format("2006-01-02"))
				}
				return out
			}
			require.Equal(t, tc.late, starts(rep.Adjustments))
			require.Equal(t, tc.open, starts(rep.Aggregates))
			for _, g := range rep.Adjustments {
				require.True(t, g.Late)
				require.True(t, dec("3").Equal(g.Value), "both February records: %s", g.Value)
			}
		})
	}
}
