package ensemble_test

import (
	"archive/zip"
	"go/build"
	"math/big"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

// allZones lists every zone of the Go tz database.
var allZones = sync.OnceValue(func() []string {
	r, err := zip.OpenReader(filepath.Join(build.Default.GOROOT, "lib", "time", "zoneinfo.zip"))
	if err != nil {
		return []string{"UTC", "Pacific/Apia", "Pacific/Kiritimati", "America/New_York", "Europe/London", "America/Santiago"}
	}
	defer r.Close()
	var out []string
	for _, f := range r.File {
		if !strings.HasSuffix(f.Name, "/") {
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return out
})

// TestSkippedLocalDays: Samoa skipped 2011-12-30 and Kiritimati 1994-12-31.
// Daily cycles step over the missing date without an empty period, every
// basis measures them, and day counts do not count the missing date.
func TestSkippedLocalDays(t *testing.T) {
	for _, tt := range []struct {
		zone    string
		skipped time.Time // the missing date, as a UTC date
	}{
		{"Pacific/Apia", time.Date(2011, 12, 30, 0, 0, 0, 0, time.UTC)},
		{"Pacific/Kiritimati", time.Date(1994, 12, 31, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tt.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			require.NoError(t, err)
			y, m, d := tt.skipped.Date()
			before := time.Date(y, m, d-1, 0, 0, 0, 0, loc)
			after := time.Date(y, m, d+2, 0, 0, 0, 0, loc)
			span := ensemble.MustPeriod(before, after)
			daily := ensemble.Every(1, ensemble.Daily)
			seq, err := daily.Periods(before, span, loc)
			require.NoError(t, err)
			var days []string
			for p := range seq {
				require.False(t, p.IsEmpty(), "empty cycle %s", p)
				days = append(days, p.Start.In(loc).Format("2006-01-02"))
				for b := ensemble.ProrationBasis(0); b.Valid(); b++ {
					_, err := ensemble.Prorate(p, p, ensemble.ProrateOptions{Basis: b, Location: loc})
					require.NoError(t, err, "%s under %s", p, b)
				}
			}
			require.Equal(t, []string{before.Format("2006-01-02"), time.Date(y, m, d+1, 0, 0, 0, 0, loc).Format("2006-01-02")}, days,
				"the missing date has no cycle")
			// Two dates exist in the span, whichever way days are counted.
			for _, b := range []ensemble.ProrationBasis{ensemble.ProrateDaysEndExclusive, ensemble.ProrateDaysEndInclusive} {
				n, err := span.Measure(b, loc)
				require.NoError(t, err)
				require.Equal(t, "2", n.String(), b.String())
			}
		})
	}
}

// TestCadenceDSTRule: a boundary whose wall time a clock change skips is the
// first instant after the gap; one the clock repeats is its first
// occurrence — the same in New York and London.
func TestCadenceDSTRule(t *testing.T) {
	for _, tt := range []struct {
		zone, anchor string // anchor wall time
		next         string // the boundary a day later, as RFC 3339
	}{
		{"America/New_York", "2026-03-07T02:30:00", "2026-03-08T03:00:00-04:00"}, // 02:30 does not exist
		{"Europe/London", "2026-03-28T01:30:00", "2026-03-29T02:00:00+01:00"},    // 01:30 does not exist
		{"America/New_York", "2026-10-31T01:30:00", "2026-11-01T01:30:00-04:00"}, // 01:30 twice: the first
		{"Europe/London", "2026-10-24T01:30:00", "2026-10-25T01:30:00+01:00"},    // 01:30 twice: the first
	} {
		t.Run(tt.zone+" "+tt.anchor, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			require.NoError(t, err)
			anchor, err := time.ParseInLocation("2006-01-02T15:04:05", tt.anchor, loc)
			require.NoError(t, err)
			b, err := ensemble.Every(1, ensemble.Daily).Boundary(anchor, 1, loc)
			require.NoError(t, err)
			require.Equal(t, tt.next, b.Format(time.RFC3339))
		})
	}
}

// TestThirtyDayBasisNeverMeasuresZero: a daily cycle on the 31st measures
// nothing by 30-day months; Prorate then measures it in exact time rather
// than failing.
func TestThirtyDayBasisNeverMeasuresZero(t *testing.T) {
	day := ensemble.MustPeriod(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	half := ensemble.MustPeriod(time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC), day.End)
	for _, b := range []ensemble.ProrationBasis{ensemble.ProrateThirtyDayMonth, ensemble.ProrateThirtyDayCalendarMonth} {
		f, err := ensemble.Prorate(half, day, ensemble.ProrateOptions{Basis: b})
		require.NoError(t, err, b.String())
		require.True(t, f.Equal(ensemble.MustRatio("1/2")), "%s: %s", b, f)
	}
}

// TestCalendarAnyZone: in every zone of the tz database, across 1900-2100,
// cycles are never empty, nothing panics, and the parts of a cycle split at
// any instant add up to the whole under every basis that promises it.
func TestCalendarAnyZone(t *testing.T) {
	zones := allZones()
	rapid.Check(t, func(t *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Skip(err)
		}
		lo, hi := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		anchor := time.Unix(rapid.Int64Range(lo, hi).Draw(t, "anchor"), 0).In(loc)
		at := anchor.Add(time.Duration(rapid.Int64Range(0, 400*24).Draw(t, "hours")) * time.Hour)
		c := ensemble.Every(rapid.IntRange(1, 3).Draw(t, "count"), ensemble.CadenceUnit(rapid.IntRange(1, 5).Draw(t, "unit")))
		p, _, err := c.PeriodAt(anchor, at, loc)
		if err != nil {
			t.Fatal(err)
		}
		if p.IsEmpty() || !p.Contains(at) {
			t.Fatalf("%s: cycle %s of %s does not hold %s", loc, p, c, at)
		}
		split := p.Start.Add(time.Duration(rapid.Int64Range(0, int64(p.Duration())).Draw(t, "split")))
		for b := ensemble.ProrationBasis(0); b.Valid(); b++ {
			opts := ensemble.ProrateOptions{Basis: b, Location: loc, Anchor: anchor}
			whole, err := ensemble.Prorate(p, p, opts)
			if err != nil {
				t.Fatalf("%s: %s under %s: %v", loc, p, b, err)
			}
			if whole.String() != "1" {
				t.Fatalf("%s: %s under %s is %s of itself", loc, p, b, whole)
			}
			if b == ensemble.ProrateDaysEndInclusive || !split.After(p.Start) {
				continue // a split inside a day counts that day twice there
			}
			a, err := ensemble.Prorate(ensemble.MustPeriod(p.Start, split), p, opts)
			if err != nil {
				t.Fatal(err)
			}
			z, err := ensemble.Prorate(ensemble.MustPeriod(split, p.End), p, opts)
			if err != nil {
				t.Fatal(err)
			}
			if sum := new(big.Rat).Add(a.Rat(), z.Rat()); sum.Cmp(big.NewRat(1, 1)) != 0 {
				t.Fatalf("%s: %s split at %s under %s: %s + %s", loc, p, split, b, a, z)
			}
		}
	})
}
