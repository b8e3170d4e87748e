package ensemble_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestPeriod(t *testing.T) {
	p := ensemble.MustPeriod(day(2026, 1, 1), day(2026, 2, 1))
	require.True(t, p.Contains(day(2026, 1, 1)))
	require.False(t, p.Contains(day(2026, 2, 1)), "end is excluded")
	require.False(t, p.Contains(day(2025, 12, 31)))
	require.Equal(t, 31*24*time.Hour, p.Duration())
	require.False(t, p.IsEmpty())

	o, ok := p.Overlap(ensemble.MustPeriod(day(2026, 1, 20), day(2026, 3, 1)))
	require.True(t, ok)
	require.True(t, o.Equal(ensemble.MustPeriod(day(2026, 1, 20), day(2026, 2, 1))))
	_, ok = p.Overlap(ensemble.MustPeriod(day(2026, 2, 1), day(2026, 3, 1)))
	require.False(t, ok, "adjacent half-open periods do not overlap")

	_, err := ensemble.NewPeriod(day(2026, 2, 1), day(2026, 1, 1))
	require.ErrorIs(t, err, ensemble.ErrPeriodOrder)
	_, err = ensemble.NewPeriod(time.Time{}, day(2026, 1, 1))
	require.Error(t, err)
	empty, err := ensemble.NewPeriod(day(2026, 1, 1), day(2026, 1, 1))
	require.NoError(t, err)
	require.True(t, empty.IsEmpty())

	b, err := json.Marshal(p)
	require.NoError(t, err)
	require.JSONEq(t, `{"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z"}`, string(b))
	var back ensemble.Period
	require.NoError(t, json.Unmarshal(b, &back))
	require.True(t, back.Equal(p))
}

func TestProrate(t *testing.T) {
	jan := ensemble.MustPeriod(day(2026, 1, 1), day(2026, 2, 1))
	feb := ensemble.MustPeriod(day(2026, 2, 1), day(2026, 3, 1))
	feb24 := ensemble.MustPeriod(day(2024, 2, 1), day(2024, 3, 1))
	midday := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		part   ensemble.Period
		whole  ensemble.Period
		want   map[ensemble.ProrationBasis]string
		anchor time.Time
	}{
		{"first ten days of January", ensemble.MustPeriod(day(2026, 1, 1), day(2026, 1, 11)), jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "10/31", ensemble.ProrateDaysEndExclusive: "10/31", ensemble.ProrateDaysEndInclusive: "10/31", ensemble.ProrateThirtyDayMonth: "1/3"}, time.Time{}},
		{"upgrade at noon on the 15th, before", ensemble.MustPeriod(day(2026, 1, 1), midday), jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "29/62", ensemble.ProrateDaysEndExclusive: "14/31", ensemble.ProrateDaysEndInclusive: "15/31", ensemble.ProrateThirtyDayMonth: "29/60"}, time.Time{}},
		{"upgrade at noon on the 15th, after", ensemble.MustPeriod(midday, day(2026, 2, 1)), jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "33/62", ensemble.ProrateDaysEndExclusive: "17/31", ensemble.ProrateDaysEndInclusive: "17/31", ensemble.ProrateThirtyDayMonth: "31/60"}, time.Time{}},
		{"second half of February", ensemble.MustPeriod(day(2026, 2, 15), day(2026, 3, 1)), feb, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "1/2", ensemble.ProrateDaysEndExclusive: "1/2", ensemble.ProrateDaysEndInclusive: "1/2", ensemble.ProrateThirtyDayMonth: "8/15"}, time.Time{}},
		{"a cycle anchored on the 31st is a whole month", ensemble.MustPeriod(day(2026, 3, 15), day(2026, 3, 31)), ensemble.MustPeriod(day(2026, 2, 28), day(2026, 3, 31)), map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "16/31", ensemble.ProrateDaysEndExclusive: "16/31", ensemble.ProrateDaysEndInclusive: "16/31", ensemble.ProrateThirtyDayMonth: "1/2"}, day(2026, 1, 31)},
		{"the same cycle counted from its own start is 33 days", ensemble.MustPeriod(day(2026, 3, 15), day(2026, 3, 31)), ensemble.MustPeriod(day(2026, 2, 28), day(2026, 3, 31)), map[ensemble.ProrationBasis]string{
			ensemble.ProrateThirtyDayMonth: "6/11"}, time.Time{}},
		{"a quarter is three 30-day months", ensemble.MustPeriod(day(2026, 2, 1), day(2026, 3, 1)), ensemble.MustPeriod(day(2026, 1, 1), day(2026, 4, 1)), map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "28/90", ensemble.ProrateDaysEndExclusive: "28/90", ensemble.ProrateDaysEndInclusive: "28/90", ensemble.ProrateThirtyDayMonth: "1/3"}, time.Time{}},
		{"leap day February", ensemble.MustPeriod(day(2024, 2, 29), day(2024, 3, 1)), feb24, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "1/29", ensemble.ProrateDaysEndExclusive: "1/29", ensemble.ProrateDaysEndInclusive: "1/29", ensemble.ProrateThirtyDayMonth: "1/15"}, time.Time{}},
		{"the 31st under 30-day months", ensemble.MustPeriod(day(2026, 1, 31), day(2026, 2, 1)), jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "1/31", ensemble.ProrateDaysEndExclusive: "1/31", ensemble.ProrateDaysEndInclusive: "1/31", ensemble.ProrateThirtyDayMonth: "0"}, time.Time{}},
		{"part outside the whole is clipped", ensemble.MustPeriod(day(2025, 12, 1), day(2026, 1, 2)), jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "1/31", ensemble.ProrateDaysEndExclusive: "1/31", ensemble.ProrateDaysEndInclusive: "1/31", ensemble.ProrateThirtyDayMonth: "1/30"}, time.Time{}},
		{"disjoint", feb, jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "0", ensemble.ProrateDaysEndExclusive: "0", ensemble.ProrateDaysEndInclusive: "0", ensemble.ProrateThirtyDayMonth: "0"}, time.Time{}},
	}
	for _, tt := range tests {
		for basis, want := range tt.want {
			t.Run(tt.name+"/"+basis.String(), func(t *testing.T) {
				got, err := ensemble.Prorate(tt.part, tt.whole, ensemble.ProrateOptions{Basis: basis, Anchor: tt.anchor})
				require.NoError(t, err)
				require.True(t, got.Equal(ensemble.MustRatio(want)), "got %s want %s", got, want)
			})
		}
	}
}

func TestProrateDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	// March 2026 in Berlin has a 23-hour day (the 29th). By days it is one
	// day of 31; by exact time it is 23 hours of 743.
	whole := ensemble.MustPeriod(time.Date(2026, 3, 1, 0, 0, 0, 0, berlin), time.Date(2026, 4, 1, 0, 0, 0, 0, berlin))
	dstDay := ensemble.MustPeriod(time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 3, 30, 0, 0, 0, 0, berlin))
	byDays, err := ensemble.Prorate(dstDay, whole, ensemble.ProrateOptions{Basis: ensemble.ProrateDaysEndExclusive, Location: berlin})
	require.NoError(t, err)
	require.True(t, byDays.Equal(ensemble.MustRatio("1/31")), "got %s", byDays)
	byTime, err := ensemble.Prorate(dstDay, whole, ensemble.ProrateOptions{Basis: ensemble.ProrateExactTime, Location: berlin})
	require.NoError(t, err)
	require.True(t, byTime.Equal(ensemble.MustRatio("23/743")), "got %s", byTime)
	// In UTC the same instants straddle two dates differently.
	utcDays, err := ensemble.Prorate(dstDay, whole, ensemble.ProrateOptions{Basis: ensemble.ProrateDaysEndExclusive, Location: time.UTC})
	require.NoError(t, err)
	require.True(t, utcDays.Equal(ensemble.MustRatio("1/31")), "got %s", utcDays)
	// Half of the 23-hour day under 30-day months is half a day.
	half := ensemble.MustPeriod(time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 3, 29, 12, 30, 0, 0, berlin))
	m, err := half.Measure(ensemble.ProrateThirtyDayMonth, berlin)
	require.NoError(t, err)
	require.True(t, m.Equal(ensemble.MustRatio("1/2")), "got %s", m)
}

func TestProrateErrors(t *testing.T) {
	jan31 := ensemble.MustPeriod(day(2026, 1, 31), day(2026, 2, 1).Add(-time.Hour))
	_, err := ensemble.Prorate(jan31, jan31, ensemble.ProrateOptions{Basis: ensemble.ProrateDaysEndExclusive})
	require.ErrorIs(t, err, ensemble.ErrEmptyPeriod, "a period within one day counts no days")
	_, err = ensemble.Prorate(jan31, ensemble.Period{Start: day(2026, 2, 1), End: day(2026, 1, 1)}, ensemble.ProrateOptions{Basis: ensemble.ProrateExactTime})
	require.ErrorIs(t, err, ensemble.ErrPeriodOrder)
	_, err = ensemble.Prorate(jan31, jan31, ensemble.ProrateOptions{Basis: ensemble.ProrationBasis(42)})
	require.Error(t, err)
}

func TestProrationBasisText(t *testing.T) {
	for b := ensemble.ProrateExactTime; b <= ensemble.ProrateThirtyDayMonth; b++ {
		txt, err := b.MarshalText()
		require.NoError(t, err)
		var back ensemble.ProrationBasis
		require.NoError(t, back.UnmarshalText(txt))
		require.Equal(t, b, back)
	}
	var b ensemble.ProrationBasis
	require.Error(t, b.UnmarshalText([]byte("actual_365")))
}

// genInstant draws instants across several years, at whole seconds or with
// nanoseconds.
func genInstant(t *rapid.T, label string) time.Time {
	secs := rapid.Int64Range(day(2023, 1, 1).Unix(), day(2028, 12, 31).Unix()).Draw(t, label)
	ns := rapid.OneOf(rapid.Just[int64](0), rapid.Int64Range(0, 999_999_999)).Draw(t, label+"_ns")
	return time.Unix(secs, ns).UTC()
}

// TestProrationAdditive checks that the fractions of [a,b) and [b,c) within
// [a,c) add up to exactly one under every basis that promises it, and that
// the measures themselves add up under the bases that do not depend on the
// whole (exact time, days end exclusive).
func TestProrationAdditive(t *testing.T) {
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"}
	rapid.Check(t, func(t *rapid.T) {
		ts := []time.Time{genInstant(t, "a"), genInstant(t, "b"), genInstant(t, "c")}
		for i := range ts {
			for j := i + 1; j < len(ts); j++ {
				if ts[j].Before(ts[i]) {
					ts[i], ts[j] = ts[j], ts[i]
				}
			}
		}
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Skip(err)
		}
		basis := rapid.SampledFrom([]ensemble.ProrationBasis{ensemble.ProrateExactTime, ensemble.ProrateDaysEndExclusive, ensemble.ProrateThirtyDayMonth}).Draw(t, "basis")
		ab, err1 := ensemble.MustPeriod(ts[0], ts[1]).Measure(basis, loc)
		bc, err2 := ensemble.MustPeriod(ts[1], ts[2]).Measure(basis, loc)
		ac, err3 := ensemble.MustPeriod(ts[0], ts[2]).Measure(basis, loc)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		if basis != ensemble.ProrateThirtyDayMonth && !ab.Add(bc).Equal(ac) {
			t.Fatalf("%s: %s + %s != %s", basis, ab, bc, ac)
		}
		if ab.Sign() < 0 || bc.Sign() < 0 {
			t.Fatalf("%s: negative measure", basis)
		}
		// And the fractions of a whole add up the same way.
		whole := ensemble.MustPeriod(ts[0], ts[2])
		if ac.IsZero() {
			return
		}
		f1, _ := ensemble.Prorate(ensemble.MustPeriod(ts[0], ts[1]), whole, ensemble.ProrateOptions{Basis: basis, Location: loc})
		f2, _ := ensemble.Prorate(ensemble.MustPeriod(ts[1], ts[2]), whole, ensemble.ProrateOptions{Basis: basis, Location: loc})
		if !f1.Add(f2).Equal(ensemble.MustRatio("1")) {
			t.Fatalf("%s: fractions %s + %s != 1", basis, f1, f2)
		}
		if f1.Sign() < 0 || f2.Sign() < 0 {
			t.Fatalf("%s: negative fraction %s or %s", basis, f1, f2)
		}
	})
}

func TestCadenceBoundary(t *testing.T) {
	monthly := ensemble.Every(1, ensemble.Monthly)
	tests := []struct {
		name    string
		cadence ensemble.Cadence
		anchor  time.Time
		want    []time.Time // boundaries 0, 1, 2, ...
	}{
		{"anchor on the 31st clamps and recovers", monthly, day(2026, 1, 31), []time.Time{day(2026, 1, 31), day(2026, 2, 28), day(2026, 3, 31), day(2026, 4, 30), day(2026, 5, 31)}},
		{"leap year February", monthly, day(2024, 1, 31), []time.Time{day(2024, 1, 31), day(2024, 2, 29), day(2024, 3, 31)}},
		{"yearly from a leap day", ensemble.Every(1, ensemble.Yearly), day(2024, 2, 29), []time.Time{day(2024, 2, 29), day(2025, 2, 28), day(2026, 2, 28), day(2027, 2, 28), day(2028, 2, 29)}},
		{"quarterly from the 30th", ensemble.Every(1, ensemble.Quarterly), day(2025, 11, 30), []time.Time{day(2025, 11, 30), day(2026, 2, 28), day(2026, 5, 30), day(2026, 8, 30)}},
		{"every two weeks", ensemble.Every(2, ensemble.Weekly), day(2026, 12, 21), []time.Time{day(2026, 12, 21), day(2027, 1, 4), day(2027, 1, 18)}},
		{"daily over a year end", ensemble.Every(1, ensemble.Daily), day(2026, 12, 31), []time.Time{day(2026, 12, 31), day(2027, 1, 1)}},
		{"every 3 months keeps the time of day", ensemble.Every(3, ensemble.Monthly), time.Date(2026, 1, 31, 9, 30, 0, 0, time.UTC),
			[]time.Time{time.Date(2026, 1, 31, 9, 30, 0, 0, time.UTC), time.Date(2026, 4, 30, 9, 30, 0, 0, time.UTC), time.Date(2026, 7, 31, 9, 30, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n, want := range tt.want {
				got, err := tt.cadence.Boundary(tt.anchor, n, nil)
				require.NoError(t, err)
				require.True(t, got.Equal(want), "boundary %d: got %s want %s", n, got, want)
			}
		})
	}
}

func TestCadenceDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	// Daily at 09:00 local across the spring-forward day (Sunday 8 March 2026): each day is one
	// period, the DST one 23 hours long.
	anchor := time.Date(2026, 3, 7, 9, 0, 0, 0, ny)
	daily := ensemble.Every(1, ensemble.Daily)
	span := ensemble.MustPeriod(anchor, time.Date(2026, 3, 10, 9, 0, 0, 0, ny))
	seq, err := daily.Periods(anchor, span, ny)
	require.NoError(t, err)
	var hours []time.Duration
	for p := range seq {
		require.Equal(t, 9, p.Start.Hour(), "local wall clock kept")
		hours = append(hours, p.Duration())
	}
	require.Equal(t, []time.Duration{23 * time.Hour, 24 * time.Hour, 24 * time.Hour}, hours)
}

func TestCadencePeriodAt(t *testing.T) {
	monthly := ensemble.Every(1, ensemble.Monthly)
	p, n, err := monthly.PeriodAt(day(2026, 1, 31), day(2026, 3, 15), nil)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.True(t, p.Equal(ensemble.MustPeriod(day(2026, 2, 28), day(2026, 3, 31))), "got %s", p)
	p, n, err = monthly.PeriodAt(day(2026, 1, 31), day(2025, 12, 31), nil)
	require.NoError(t, err)
	require.Equal(t, -1, n)
	require.True(t, p.Equal(ensemble.MustPeriod(day(2025, 12, 31), day(2026, 1, 31))), "got %s", p)

	_, _, err = ensemble.Cadence{}.PeriodAt(day(2026, 1, 1), day(2026, 1, 2), nil)
	require.Error(t, err)
	_, err = ensemble.Every(-1, ensemble.Monthly).Boundary(day(2026, 1, 1), 1, nil)
	require.Error(t, err)
	_, _, err = ensemble.Every(1, ensemble.Daily).PeriodAt(day(2026, 1, 1), day(9999, 1, 1), nil)
	require.Error(t, err, "too far from the anchor")
	require.Equal(t, "every 3 months", ensemble.Every(3, ensemble.Monthly).String())
	require.Equal(t, "weekly", ensemble.Every(1, ensemble.Weekly).String())
}

func TestCadenceJSON(t *testing.T) {
	c := ensemble.Every(2, ensemble.Quarterly)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.JSONEq(t, `{"unit":"quarterly","count":2}`, string(b))
	var back ensemble.Cadence
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, c, back)
	require.Error(t, json.Unmarshal([]byte(`{"unit":"fortnightly"}`), &back))
}

// TestCadenceNeverSkipsOrRepeats checks that consecutive cycles are
// contiguous, strictly increasing, and that PeriodAt finds the cycle that
// the iterator yields for every instant.
func TestCadenceNeverSkipsOrRepeats(t *testing.T) {
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"}
	rapid.Check(t, func(t *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Skip(err)
		}
		unit := ensemble.CadenceUnit(rapid.IntRange(int(ensemble.Daily), int(ensemble.Yearly)).Draw(t, "unit"))
		c := ensemble.Every(rapid.IntRange(1, 4).Draw(t, "count"), unit)
		anchor := genInstant(t, "anchor").In(loc)
		from := genInstant(t, "from")
		span := ensemble.MustPeriod(from, from.AddDate(0, 0, rapid.IntRange(1, 400).Draw(t, "days")))
		seq, err := c.Periods(anchor, span, loc)
		if err != nil {
			t.Fatal(err)
		}
		var prev ensemble.Period
		count := 0
		for p := range seq {
			if !p.End.After(p.Start) {
				t.Fatalf("empty or reversed cycle %s", p)
			}
			if count == 0 && !p.Contains(span.Start) {
				t.Fatalf("first cycle %s does not contain %s", p, span.Start)
			}
			if count > 0 && !p.Start.Equal(prev.End) {
				t.Fatalf("gap or overlap between %s and %s", prev, p)
			}
			probe := p.Start.Add(p.Duration() / 2)
			at, _, err := c.PeriodAt(anchor, probe, loc)
			if err != nil || !at.Equal(p) {
				t.Fatalf("PeriodAt(%s) = %s, iterator gave %s (%v)", probe, at, p, err)
			}
			prev = p
			count++
		}
		if count == 0 || prev.End.Before(span.End) {
			t.Fatalf("cycles end at %s before the span's end %s", prev.End, span.End)
		}
	})
}

// TestThirtyDayMonthCycles checks that under ProrateThirtyDayMonth every
// monthly or quarterly cycle counted from its anchor measures a whole number
// of 30-day months, and that a cycle split at any instant adds up to one.
func TestThirtyDayMonthCycles(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		anchor := genInstant(t, "anchor")
		c := ensemble.Every(1, rapid.SampledFrom([]ensemble.CadenceUnit{ensemble.Monthly, ensemble.Quarterly}).Draw(t, "unit"))
		n := rapid.IntRange(-30, 30).Draw(t, "cycle")
		start, err := c.Boundary(anchor, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		end, _ := c.Boundary(anchor, n+1, nil)
		cycle := ensemble.MustPeriod(start, end)
		opts := ensemble.ProrateOptions{Basis: ensemble.ProrateThirtyDayMonth, Anchor: anchor}
		split := start.Add(time.Duration(rapid.Int64Range(0, int64(cycle.Duration())).Draw(t, "split")))
		f1, err1 := ensemble.Prorate(ensemble.MustPeriod(start, split), cycle, opts)
		f2, err2 := ensemble.Prorate(ensemble.MustPeriod(split, end), cycle, opts)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !f1.Add(f2).Equal(ensemble.MustRatio("1")) || f1.Sign() < 0 || f2.Sign() < 0 {
			t.Fatalf("cycle %s split at %s: %s + %s", cycle, split, f1, f2)
		}
		// A half-month part is (days into the step)/30 of a monthly cycle:
		// the first 15 days of a cycle are exactly half of it.
		if c.Unit == ensemble.Monthly {
			half := ensemble.MustPeriod(start, start.AddDate(0, 0, 15))
			f, err := ensemble.Prorate(half, cycle, opts)
			if err != nil || !f.Equal(ensemble.MustRatio("1/2")) {
				t.Fatalf("first 15 days of %s: %s (%v)", cycle, f, err)
			}
		}
	})
}
