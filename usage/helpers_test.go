package usage_test

import (
	"encoding/json"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	_ "time/tzdata" // tests name IANA zones whatever the host has installed
)

// tb is what the helpers need from *testing.T, *testing.B and *rapid.T.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	FailNow()
}

// Meters of the test fixture, one per aggregation.
var testMeters = []usage.Meter{
	{ID: "gpu", Unit: "hour", Aggregation: usage.Sum},
	{ID: "peak", Unit: "GB", Aggregation: usage.Max},
	{ID: "calls", Unit: "call", Aggregation: usage.Count},
	{ID: "users", Unit: "user", Aggregation: usage.CountUnique, UniqueAttribute: "user"},
	{ID: "level", Unit: "GB", Aggregation: usage.Latest, AllowNegative: true},
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func period(start, end string) ensemble.Period { return ensemble.MustPeriod(utc(start), utc(end)) }

// testLines: L1 bills monthly from Jan 1 (UTC) and is active Jan 1 - Apr 1;
// L2 bills monthly from Jan 15 midnight in Paris and was suspended
// Feb 10 - Feb 20; L4 lists its periods, with a gap Feb 15 - Feb 20 and
// none after Apr 1.
func testLines() []usage.Line {
	return []usage.Line{
		{
			Ref: "L1", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: utc("2026-01-01T00:00:00Z"),
			Active: []ensemble.Period{period("2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z")},
		},
		{
			Ref: "L2", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: utc("2026-01-14T23:00:00Z"), TimeZone: "Europe/Paris",
			Active: []ensemble.Period{
				period("2026-01-14T23:00:00Z", "2026-02-10T00:00:00Z"),
				period("2026-02-20T00:00:00Z", "2026-06-01T00:00:00Z"),
			},
		},
		{
			Ref:    "L4",
			Active: []ensemble.Period{period("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z")},
			Periods: []ensemble.Period{
				period("2026-02-20T00:00:00Z", "2026-04-01T00:00:00Z"),
				period("2026-01-01T00:00:00Z", "2026-01-20T00:00:00Z"),
				period("2026-01-20T00:00:00Z", "2026-02-15T00:00:00Z"),
			},
		},
	}
}

func testConfig() usage.Config {
	return usage.Config{Meters: testMeters, Lines: testLines()}
}

func dec(s string) decimal.Decimal {
	d, err := ensemble.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// rec builds a record; attrs are key, value pairs.
func rec(id, line, meter, qty, at string, attrs ...string) usage.Record {
	r := usage.Record{ID: usage.RecordID(id), Line: usage.LineRef(line), Meter: usage.MeterID(meter), Quantity: dec(qty), At: utc(at)}
	if len(attrs) > 0 {
		r.Attributes = map[string]string{}
		for i := 0; i+1 < len(attrs); i += 2 {
			r.Attributes[attrs[i]] = attrs[i+1]
		}
	}
	return r
}

func collect(t tb, cfg usage.Config, records ...usage.Record) *usage.Report {
	t.Helper()
	a, err := usage.New(cfg)
	require.NoError(t, err)
	for _, r := range records {
		a.AddRecord(r)
	}
	return a.Report()
}

func mustJSON(t tb, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// requireSameReport fails unless the reports encode to the same JSON, byte
// for byte (which implies equal values); on failure it shows a readable
// diff.
func requireSameReport(t tb, got, want *usage.Report) {
	t.Helper()
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Fatalf("reports differ (-want +got):\n%s", cmp.Diff(want, got))
	}
}

// find returns the aggregate for line, meter and period start, from the
// aggregates and then the adjustments.
func find(t tb, rep *usage.Report, line, meter, start string) usage.Aggregate {
	t.Helper()
	for _, list := range [][]usage.Aggregate{rep.Aggregates, rep.Adjustments} {
		for _, g := range list {
			if string(g.Line) == line && string(g.Meter) == meter && g.Period.Start.Equal(utc(start)) {
				return g
			}
		}
	}
	t.Fatalf("no aggregate for %s %s %s in %s", line, meter, start, mustJSON(t, rep))
	return usage.Aggregate{}
}
