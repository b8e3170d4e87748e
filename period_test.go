package ensemble_test

import (
	"encoding/json"
	"errors"
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
			ensemble.ProrateExactTime: "10/31", ensemble.ProrateDaysEndExclusive: "10/31", ensemble.ProrateDaysEndInclusive: "10/31", ensemble.ProrateThirtyDayMonth: "1/3", ensemble.ProrateThirtyDayCalendarMonth: "1/3"}, time.Time{}},
		{"upgrade at noon on the 15th, before", ensemble.MustPeriod(day(2026, 1, 1), midday), jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "29/62", ensemble.ProrateDaysEndExclusive: "14/31", ensemble.ProrateDaysEndInclusive: "15/31", ensemble.ProrateThirtyDayMonth: "29/60", ensemble.ProrateThirtyDayCalendarMonth: "7/15"}, time.Time{}},
		{"upgrade at noon on the 15th, after", ensemble.MustPeriod(midday, day(2026, 2, 1)), jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "33/62", ensemble.ProrateDaysEndExclusive: "17/31", ensemble.ProrateDaysEndInclusive: "17/31", ensemble.ProrateThirtyDayMonth: "31/60", ensemble.ProrateThirtyDayCalendarMonth: "8/15"}, time.Time{}},
		{"second half of February", ensemble.MustPeriod(day(2026, 2, 15), day(2026, 3, 1)), feb, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "1/2", ensemble.ProrateDaysEndExclusive: "1/2", ensemble.ProrateDaysEndInclusive: "1/2", ensemble.ProrateThirtyDayMonth: "8/15", ensemble.ProrateThirtyDayCalendarMonth: "8/15"}, time.Time{}},
		{"a cycle anchored on the 31st is a whole month", ensemble.MustPeriod(day(2026, 3, 15), day(2026, 3, 31)), ensemble.MustPeriod(day(2026, 2, 28), day(2026, 3, 31)), map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "16/31", ensemble.ProrateDaysEndExclusive: "16/31", ensemble.ProrateDaysEndInclusive: "16/31", ensemble.ProrateThirtyDayMonth: "1/2", ensemble.ProrateThirtyDayCalendarMonth: "16/33"}, day(2026, 1, 31)},
		{"the same cycle counted from its own start is 33 days", ensemble.MustPeriod(day(2026, 3, 15), day(2026, 3, 31)), ensemble.MustPeriod(day(2026, 2, 28), day(2026, 3, 31)), map[ensemble.ProrationBasis]string{
			ensemble.ProrateThirtyDayMonth: "6/11"}, time.Time{}},
		{"a quarter is three 30-day months", ensemble.MustPeriod(day(2026, 2, 1), day(2026, 3, 1)), ensemble.MustPeriod(day(2026, 1, 1), day(2026, 4, 1)), map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "28/90", ensemble.ProrateDaysEndExclusive: "28/90", ensemble.ProrateDaysEndInclusive: "28/90", ensemble.ProrateThirtyDayMonth: "1/3", ensemble.ProrateThirtyDayCalendarMonth: "1/3"}, time.Time{}},
		{"leap day February", ensemble.MustPeriod(day(2024, 2, 29), day(2024, 3, 1)), feb24, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "1/29", ensemble.ProrateDaysEndExclusive: "1/29", ensemble.ProrateDaysEndInclusive: "1/29", ensemble.ProrateThirtyDayMonth: "1/15", ensemble.ProrateThirtyDayCalendarMonth: "1/15"}, time.Time{}},
		{"the 31st under 30-day months", ensemble.MustPeriod(day(2026, 1, 31), day(2026, 2, 1)), jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "1/31", ensemble.ProrateDaysEndExclusive: "1/31", ensemble.ProrateDaysEndInclusive: "1/31", ensemble.ProrateThirtyDayMonth: "0", ensemble.ProrateThirtyDayCalendarMonth: "0"}, time.Time{}},
		{"part outside the whole is clipped", ensemble.MustPeriod(day(2025, 12, 1), day(2026, 1, 2)), jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "1/31", ensemble.ProrateDaysEndExclusive: "1/31", ensemble.ProrateDaysEndInclusive: "1/31", ensemble.ProrateThirtyDayMonth: "1/30", ensemble.ProrateThirtyDayCalendarMonth: "1/30"}, time.Time{}},
		{"disjoint", feb, jan, map[ensemble.ProrationBasis]string{
			ensemble.ProrateExactTime: "0", ensemble.ProrateDaysEndExclusive: "0", ensemble.ProrateDaysEndInclusive: "0", ensemble.ProrateThirtyDayMonth: "0", ensemble.ProrateThirtyDayCalendarMonth: "0"}, time.Time{}},
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
	empty := ensemble.MustPeriod(day(2026, 1, 31), day(2026, 1, 31))
	_, err := ensemble.Prorate(empty, empty, ensemble.ProrateOptions{Basis: ensemble.ProrateDaysEndExclusive})
	require.ErrorIs(t, err, ensemble.ErrEmptyPeriod, "an empty whole")
	// A whole within one day counts no days, and is prorated by its time.
	half := ensemble.MustPeriod(day(2026, 1, 31), day(2026, 1, 31).Add(23*time.Hour/2))
	f, err := ensemble.Prorate(half, jan31, ensemble.ProrateOptions{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	require.True(t, f.Equal(ensemble.MustRatio("1/2")), "got %s", f)
	_, err = ensemble.Prorate(jan31, ensemble.Period{Start: day(2026, 2, 1), End: day(2026, 1, 1)}, ensemble.ProrateOptions{Basis: ensemble.ProrateExactTime})
	require.ErrorIs(t, err, ensemble.ErrPeriodOrder)
	_, err = ensemble.Prorate(jan31, jan31, ensemble.ProrateOptions{Basis: ensemble.ProrationBasis(42)})
	require.Error(t, err)
}

func TestProrationBasisText(t *testing.T) {
	names := []string{"exact_time", "days_end_exclusive", "days_end_inclusive", "thirty_day_month", "thirty_day_calendar_month"}
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			b := ensemble.ProrationBasis(i)
			require.True(t, b.Valid())
			txt, err := b.MarshalText()
			require.NoError(t, err)
			require.Equal(t, name, string(txt))
			var back ensemble.ProrationBasis
			require.NoError(t, back.UnmarshalText(txt))
			require.Equal(t, b, back)
		})
	}
	require.Equal(t, ensemble.ProrateThirtyDayCalendarMonth, ensemble.ProrationBasis(len(names)-1))
	var b ensemble.ProrationBasis
	require.Error(t, b.UnmarshalText([]byte("actual_365")))
	require.False(t, ensemble.ProrationBasis(len(names)).Valid())
	_, err := ensemble.ProrationBasis(len(names)).MarshalText()
	require.Error(t, err)
	var zero ensemble.ProrateOptions
	require.Equal(t, ensemble.ProrateExactTime, zero.Basis, "the zero value is still exact time")
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
// whole (exact time, days end exclusive, 30-day calendar months).
func TestProrationAdditive(t *testing.T) {
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kathmandu"}
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
		basis := rapid.SampledFrom([]ensemble.ProrationBasis{ensemble.ProrateExactTime, ensemble.ProrateDaysEndExclusive, ensemble.ProrateThirtyDayMonth, ensemble.ProrateThirtyDayCalendarMonth}).Draw(t, "basis")
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

// TestThirtyDayCalendarMonthKillBill checks ProrateThirtyDayCalendarMonth
// against the figures Kill Bill's own tests publish with
// org.killbill.invoice.proration.fixed.days=30
// (TestInvoiceDateUtilsWithFixedProration, TestInvoiceFixedProration): the
// ratio Kill Bill rounds to 9 digits (0.266666667, 0.733333333) is exact
// here (4/15, 11/15), and a 19.95 monthly price gives Kill Bill's 5.32 and
// 14.63. The whole is the monthly cycle around the stub: a leading stub
// [start, next bill date) sits in the cycle that ends on the bill date, a
// trailing stub [last bill date, end) in the cycle that starts there.
func TestThirtyDayCalendarMonthKillBill(t *testing.T) {
	d := func(y int, m time.Month, dd int) time.Time { return day(y, m, dd) }
	price := ensemble.MustMoney("19.95", "USD")
	tests := []struct {
		name        string
		part, whole ensemble.Period
		days        string // the part's count (Kill Bill's daysBetweenWithFixedDaysInMonth)
		want        string // exact fraction
		amount      string // 19.95 × fraction, half away from zero (Kill Bill: HALF_UP)
		anchor      string // the same part under ProrateThirtyDayMonth, counted from the cycle's start
	}{
		// Leading stubs (calculateProRationBeforeFirstBillingPeriod).
		{"leading May 23 to June 15", ensemble.MustPeriod(d(2023, 5, 23), d(2023, 6, 15)), ensemble.MustPeriod(d(2023, 5, 15), d(2023, 6, 15)), "22", "11/15", "14.63", "11/15"},
		{"leading June 23 to July 15", ensemble.MustPeriod(d(2023, 6, 23), d(2023, 7, 15)), ensemble.MustPeriod(d(2023, 6, 15), d(2023, 7, 15)), "22", "11/15", "14.63", "11/15"},
		{"leading February 23 to March 15", ensemble.MustPeriod(d(2023, 2, 23), d(2023, 3, 15)), ensemble.MustPeriod(d(2023, 2, 15), d(2023, 3, 15)), "22", "11/15", "14.63", "11/15"},
		{"leading February 23 to March 15, leap year", ensemble.MustPeriod(d(2024, 2, 23), d(2024, 3, 15)), ensemble.MustPeriod(d(2024, 2, 15), d(2024, 3, 15)), "22", "11/15", "14.63", "11/15"},
		{"leading May 15 to May 23", ensemble.MustPeriod(d(2023, 5, 15), d(2023, 5, 23)), ensemble.MustPeriod(d(2023, 4, 23), d(2023, 5, 23)), "8", "4/15", "5.32", "4/15"},
		{"leading June 15 to June 23", ensemble.MustPeriod(d(2023, 6, 15), d(2023, 6, 23)), ensemble.MustPeriod(d(2023, 5, 23), d(2023, 6, 23)), "8", "4/15", "5.32", "7/30"}, // from May 23 (31 days) the anchor count loses a day
		// Trailing stubs (calculateProRationAfterLastBillingCycleDate).
		{"trailing May 23 to June 15", ensemble.MustPeriod(d(2023, 5, 23), d(2023, 6, 15)), ensemble.MustPeriod(d(2023, 5, 23), d(2023, 6, 23)), "22", "11/15", "14.63", "23/30"},
		{"trailing June 23 to July 15", ensemble.MustPeriod(d(2023, 6, 23), d(2023, 7, 15)), ensemble.MustPeriod(d(2023, 6, 23), d(2023, 7, 23)), "22", "11/15", "14.63", "11/15"},
		{"trailing February 23 to March 15", ensemble.MustPeriod(d(2023, 2, 23), d(2023, 3, 15)), ensemble.MustPeriod(d(2023, 2, 23), d(2023, 3, 23)), "22", "11/15", "14.63", "2/3"},
		{"trailing February 23 to March 15, leap year", ensemble.MustPeriod(d(2024, 2, 23), d(2024, 3, 15)), ensemble.MustPeriod(d(2024, 2, 23), d(2024, 3, 23)), "22", "11/15", "14.63", "7/10"},
		// A stub inside February (Kill Bill's same-month day count: 8 in
		// 2023 and 2024). Counted from the January 23 anchor it is 7 days
		// (30 - 23): the difference between the two 30-day bases.
		{"February stub", ensemble.MustPeriod(d(2023, 2, 15), d(2023, 2, 23)), ensemble.MustPeriod(d(2023, 1, 23), d(2023, 2, 23)), "8", "4/15", "5.32", "7/30"},
		{"February stub, leap year", ensemble.MustPeriod(d(2024, 2, 15), d(2024, 2, 23)), ensemble.MustPeriod(d(2024, 1, 23), d(2024, 2, 23)), "8", "4/15", "5.32", "7/30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			days, err := tt.part.Measure(ensemble.ProrateThirtyDayCalendarMonth, time.UTC)
			require.NoError(t, err)
			require.True(t, days.Equal(ensemble.MustRatio(tt.days)), "days: got %s want %s", days, tt.days)
			got, err := ensemble.Prorate(tt.part, tt.whole, ensemble.ProrateOptions{Basis: ensemble.ProrateThirtyDayCalendarMonth})
			require.NoError(t, err)
			require.True(t, got.Equal(ensemble.MustRatio(tt.want)), "got %s want %s", got, tt.want)
			amount := price.MulRatio(got, ensemble.RoundHalfAwayFromZero)
			require.True(t, amount.Equal(ensemble.MustMoney(tt.amount, "USD")), "amount: got %s want %s", amount, tt.amount)
			anchored, err := ensemble.Prorate(tt.part, tt.whole, ensemble.ProrateOptions{Basis: ensemble.ProrateThirtyDayMonth})
			require.NoError(t, err)
			require.True(t, anchored.Equal(ensemble.MustRatio(tt.anchor)), "from the anchor: got %s want %s", anchored, tt.anchor)
		})
	}
}

// TestThirtyDayCalendarMonthMeasure checks the count's edges, worked by
// hand: every date counts one day except the 31st (none) and the last day of
// February (3, or 2 in a leap year); time of day is ignored.
func TestThirtyDayCalendarMonthMeasure(t *testing.T) {
	at := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	tests := []struct {
		name       string
		start, end time.Time
		want       int64
	}{
		{"January", day(2026, 1, 1), day(2026, 2, 1), 30},
		{"February", day(2026, 2, 1), day(2026, 3, 1), 30},
		{"February in a leap year", day(2024, 2, 1), day(2024, 3, 1), 30},
		{"within January, up to the 31st", day(2026, 1, 15), day(2026, 1, 31), 16},
		{"the 31st alone", day(2026, 1, 31), day(2026, 2, 1), 0},
		{"December 31st into the new year", day(2026, 12, 31), day(2027, 1, 1), 0},
		{"February 28th alone", day(2026, 2, 28), day(2026, 3, 1), 3},
		{"February 28th in a leap year", day(2024, 2, 28), day(2024, 2, 29), 1},
		{"February 29th alone", day(2024, 2, 29), day(2024, 3, 1), 2},
		{"across a year end", day(2026, 12, 15), day(2027, 1, 15), 30},
		{"a quarter", day(2026, 1, 1), day(2026, 4, 1), 90},
		{"a year", day(2026, 3, 10), day(2027, 3, 10), 360},
		{"a cycle anchored on the 31st, into February", day(2026, 1, 31), day(2026, 2, 28), 27},
		{"a cycle anchored on the 31st, out of February", day(2026, 2, 28), day(2026, 3, 31), 33},
		{"time of day is ignored", at(2026, 1, 15, 23), at(2026, 1, 20, 1), 5},
		{"within one day", at(2026, 1, 15, 1), at(2026, 1, 15, 23), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ensemble.MustPeriod(tt.start, tt.end).Measure(ensemble.ProrateThirtyDayCalendarMonth, nil)
			require.NoError(t, err)
			require.True(t, got.Equal(ensemble.RatioFromInt(tt.want)), "got %s want %d", got, tt.want)
		})
	}
	// A whole that counts no day (the 31st) is measured in exact time rather
	// than failing: all of it is all of it.
	f, err := ensemble.Prorate(ensemble.MustPeriod(day(2026, 1, 31), day(2026, 2, 1)), ensemble.MustPeriod(day(2026, 1, 31), day(2026, 2, 1)),
		ensemble.ProrateOptions{Basis: ensemble.ProrateThirtyDayCalendarMonth})
	require.NoError(t, err)
	require.True(t, f.Equal(ensemble.RatioFromInt(1)))
}

// TestThirtyDayCalendarMonthZone checks that dates are read in the zone
// passed: 23:30 on January 30th in UTC is already the 31st in Berlin.
func TestThirtyDayCalendarMonthZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	p := ensemble.MustPeriod(time.Date(2026, 1, 30, 23, 30, 0, 0, time.UTC), day(2026, 2, 5))
	utc, err := p.Measure(ensemble.ProrateThirtyDayCalendarMonth, time.UTC)
	require.NoError(t, err)
	require.True(t, utc.Equal(ensemble.RatioFromInt(5)), "UTC: Jan 30 (1) + Feb 1..4 (4): got %s", utc)
	local, err := p.Measure(ensemble.ProrateThirtyDayCalendarMonth, berlin)
	require.NoError(t, err)
	require.True(t, local.Equal(ensemble.RatioFromInt(4)), "Berlin: Jan 31 (0) + Feb 1..4 (4): got %s", local)
}

// TestInclusiveEnd checks how an inclusive last date is passed: through
// PeriodThrough (or as the midnight after it), never as its own midnight,
// which counts a day short; the one such mistake a period shows, an empty
// period, is rejected under the inclusive basis.
func TestInclusiveEnd(t *testing.T) {
	inclusive := ensemble.ProrateOptions{Basis: ensemble.ProrateDaysEndInclusive}
	jan := ensemble.MustPeriod(day(2026, 1, 1), day(2026, 2, 1))

	t.Run("January 1 through January 31", func(t *testing.T) {
		p, err := ensemble.PeriodThrough(day(2026, 1, 1), day(2026, 1, 31), nil)
		require.NoError(t, err)
		require.True(t, p.Equal(jan), "got %s", p)
		for _, basis := range []ensemble.ProrationBasis{ensemble.ProrateDaysEndInclusive, ensemble.ProrateDaysEndExclusive} {
			m, err := p.Measure(basis, nil)
			require.NoError(t, err)
			require.True(t, m.Equal(ensemble.RatioFromInt(31)), "%s: got %s", basis, m)
		}
	})
	t.Run("the last date's own midnight counts a day short", func(t *testing.T) {
		m, err := ensemble.MustPeriod(day(2026, 1, 1), day(2026, 1, 31)).Measure(ensemble.ProrateDaysEndInclusive, nil)
		require.NoError(t, err)
		require.True(t, m.Equal(ensemble.RatioFromInt(30)), "got %s", m)
	})
	t.Run("one day", func(t *testing.T) {
		p, err := ensemble.PeriodThrough(day(2026, 1, 15), day(2026, 1, 15), nil)
		require.NoError(t, err)
		require.True(t, p.Equal(ensemble.MustPeriod(day(2026, 1, 15), day(2026, 1, 16))), "got %s", p)
		f, err := ensemble.Prorate(p, jan, inclusive)
		require.NoError(t, err)
		require.True(t, f.Equal(ensemble.MustRatio("1/31")), "got %s", f)
	})
	t.Run("cancelled during January 15th counts the 15th", func(t *testing.T) {
		f, err := ensemble.Prorate(ensemble.MustPeriod(day(2026, 1, 1), time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)), jan, inclusive)
		require.NoError(t, err)
		require.True(t, f.Equal(ensemble.MustRatio("15/31")), "got %s", f)
	})
	t.Run("an empty part is ambiguous", func(t *testing.T) {
		empty := ensemble.MustPeriod(day(2026, 1, 15), day(2026, 1, 15))
		_, err := ensemble.Prorate(empty, jan, inclusive)
		require.ErrorIs(t, err, ensemble.ErrAmbiguousEnd)
		_, err = empty.Measure(ensemble.ProrateDaysEndInclusive, nil)
		require.ErrorIs(t, err, ensemble.ErrAmbiguousEnd)
		require.Contains(t, err.Error(), "PeriodThrough")
		// Bases that exclude the end measure it as zero, as before.
		for _, basis := range []ensemble.ProrationBasis{ensemble.ProrateExactTime, ensemble.ProrateDaysEndExclusive, ensemble.ProrateThirtyDayMonth, ensemble.ProrateThirtyDayCalendarMonth} {
			f, err := ensemble.Prorate(empty, jan, ensemble.ProrateOptions{Basis: basis})
			require.NoError(t, err, "%s", basis)
			require.True(t, f.IsZero(), "%s: got %s", basis, f)
		}
	})
	t.Run("an empty whole is ambiguous and empty", func(t *testing.T) {
		empty := ensemble.MustPeriod(day(2026, 1, 15), day(2026, 1, 15))
		_, err := ensemble.Prorate(empty, empty, inclusive)
		require.ErrorIs(t, err, ensemble.ErrAmbiguousEnd)
		require.ErrorIs(t, err, ensemble.ErrEmptyPeriod)
	})
}

func TestPeriodThroughErrors(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	tests := []struct {
		name        string
		first, last time.Time
		loc         *time.Location
		field       string // the *DayError's field; "" for other errors
		is          error
	}{
		{"a time of day on the last day", day(2026, 1, 1), time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC), nil, "last", nil},
		{"a time of day on the first day", time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC), day(2026, 1, 31), nil, "first", nil},
		{"UTC midnight is not a Berlin midnight", day(2026, 1, 1), day(2026, 1, 31), berlin, "first", nil},
		{"last before first", day(2026, 1, 31), day(2026, 1, 1), nil, "", ensemble.ErrPeriodOrder},
		{"zero instant", time.Time{}, day(2026, 1, 1), nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ensemble.PeriodThrough(tt.first, tt.last, tt.loc)
			require.Error(t, err)
			require.True(t, p.Equal(ensemble.Period{}), "no partial result")
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			var de *ensemble.DayError
			if tt.field == "" {
				require.False(t, errors.As(err, &de), "%v", err)
				return
			}
			require.ErrorAs(t, err, &de)
			require.Equal(t, tt.field, de.Field)
			require.Contains(t, err.Error(), tt.field+" day")
		})
	}
}

// TestPeriodThroughSkippedMidnight: in America/Santiago clocks jumped from
// 00:00 to 01:00 on 11 September 2022, and time.Date answers 23:00 on the
// 10th for that midnight. Either that answer or 01:00 names the 11th.
func TestPeriodThroughSkippedMidnight(t *testing.T) {
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	first := time.Date(2022, 9, 11, 1, 0, 0, 0, santiago) // the day's first instant
	for _, given := range []time.Time{first, time.Date(2022, 9, 11, 0, 0, 0, 0, santiago)} {
		p, err := ensemble.PeriodThrough(given, given, santiago)
		require.NoError(t, err)
		require.True(t, p.Start.Equal(first), "start %s", p.Start)
		require.True(t, p.End.Equal(time.Date(2022, 9, 12, 0, 0, 0, 0, santiago)), "end %s", p.End)
		require.Equal(t, 23*time.Hour, p.Duration())
		m, err := p.Measure(ensemble.ProrateDaysEndInclusive, santiago)
		require.NoError(t, err)
		require.True(t, m.Equal(ensemble.RatioFromInt(1)), "got %s", m)
	}
}

// weight30 is a day's weight under 30-day calendar months, stated day by
// day: the 31st counts nothing, the last day of February counts what
// February lacks of 30 days, plus one; every other day counts one.
func weight30(d time.Time) int64 {
	last := time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	switch {
	case d.Day() == 31:
		return 0
	case d.Month() == time.February && d.Day() == last:
		return int64(30 - last + 1)
	}
	return 1
}

// killBillDays is Kill Bill's fixed-days count as its code states it:
// actual days between the dates; if the two dates lie in different months
// of the year, less the start month's days beyond 30.
func killBillDays(start, end time.Time) int64 {
	days := int64(end.Sub(start) / (24 * time.Hour))
	if start.Month() == end.Month() {
		return days
	}
	last := time.Date(start.Year(), start.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return days - int64(last-30)
}

// TestThirtyDayCalendarMonthModel checks ProrateThirtyDayCalendarMonth in
// any zone against a day-by-day model, against Kill Bill's formula on every
// span Kill Bill prorates (one that leaves at most one month, shorter than a
// year), and checks that a monthly cycle anchored on the 1st to the 28th
// measures 30, a quarterly one 90.
func TestThirtyDayCalendarMonthModel(t *testing.T) {
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Pacific/Kiritimati"}
	rapid.Check(t, func(t *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Skip(err)
		}
		start := genInstant(t, "start")
		end := start.Add(time.Duration(rapid.Int64Range(0, 800*24*3600).Draw(t, "seconds")) * time.Second)
		got, err := ensemble.MustPeriod(start, end).Measure(ensemble.ProrateThirtyDayCalendarMonth, loc)
		if err != nil {
			t.Fatal(err)
		}
		sy, sm, sd := start.In(loc).Date()
		ey, em, ed := end.In(loc).Date()
		from, to := day(sy, sm, sd), day(ey, em, ed)
		var want int64
		for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
			want += weight30(d)
		}
		if !got.Equal(ensemble.RatioFromInt(want)) {
			t.Fatalf("[%s, %s) in %s: got %s, day by day %d", start, end, loc, got, want)
		}
		monthsLeft := (ey-sy)*12 + int(em-sm)
		if monthsLeft <= 1 && to.Before(from.AddDate(1, 0, 0)) {
			if kb := killBillDays(from, to); !got.Equal(ensemble.RatioFromInt(kb)) {
				t.Fatalf("[%s, %s): got %s, Kill Bill counts %d", from, to, got, kb)
			}
		}

		anchor := time.Date(sy, sm, rapid.IntRange(1, 28).Draw(t, "anchor_day"), 0, 0, 0, 0, loc)
		for _, c := range []struct {
			cadence ensemble.Cadence
			want    int64
		}{{ensemble.Every(1, ensemble.Monthly), 30}, {ensemble.Every(1, ensemble.Quarterly), 90}} {
			cycle, _, err := c.cadence.PeriodAt(anchor, start, loc)
			if err != nil {
				t.Fatal(err)
			}
			m, err := cycle.Measure(ensemble.ProrateThirtyDayCalendarMonth, loc)
			if err != nil || !m.Equal(ensemble.RatioFromInt(c.want)) {
				t.Fatalf("%s cycle %s in %s measures %s (%v), want %d", c.cadence, cycle, loc, m, err, c.want)
			}
		}
	})
}

// TestPeriodThroughDays checks, in any zone, that PeriodThrough of two days
// counts last - first + 1 days under both day bases and starts at the first
// day's first instant, and that any other instant is refused with a
// *DayError rather than read as a day.
func TestPeriodThroughDays(t *testing.T) {
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "America/Havana", "Asia/Beirut"}
	rapid.Check(t, func(t *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Skip(err)
		}
		y, m, d := genInstant(t, "first").Date()
		n := rapid.IntRange(0, 400).Draw(t, "days")
		first := time.Date(y, m, d, 0, 0, 0, 0, loc)
		last := time.Date(y, m, d+n, 0, 0, 0, 0, loc)
		p, err := ensemble.PeriodThrough(first, last, loc)
		if err != nil {
			t.Fatalf("days %s through %s in %s: %v", first, last, loc, err)
		}
		if py, pm, pd := p.Start.In(loc).Date(); py != y || pm != m || pd != d {
			t.Fatalf("starts on %s, want %d-%02d-%02d", p.Start, y, m, d)
		}
		if sy, sm, sd := p.Start.Add(-time.Nanosecond).In(loc).Date(); sy == y && sm == m && sd == d {
			t.Fatalf("start %s is not the first instant of its day", p.Start)
		}
		for _, basis := range []ensemble.ProrationBasis{ensemble.ProrateDaysEndInclusive, ensemble.ProrateDaysEndExclusive} {
			got, err := p.Measure(basis, loc)
			if err != nil || !got.Equal(ensemble.RatioFromInt(int64(n+1))) {
				t.Fatalf("%s: %s measures %s (%v), want %d", basis, p, got, err, n+1)
			}
		}
		// An instant inside the last day is refused, never read as a day.
		odd := p.End.Add(-time.Duration(rapid.Int64Range(1, int64(time.Hour)).Draw(t, "before_end")))
		_, err = ensemble.PeriodThrough(first, odd, loc)
		var de *ensemble.DayError
		if !errors.As(err, &de) || de.Field != "last" {
			t.Fatalf("last day %s: got %v, want a *DayError", odd, err)
		}
	})
}

// TestCadenceSkippedMidnight: America/Santiago skipped midnight on
// 7 September 2025 (00:00 -> 01:00). A cycle anchored at midnight on the 7th
// bills at that day's first instant, 01:00, not at 23:00 on the 6th (the
// instant time.Date answers), so the cycle keeps its date.
func TestCadenceSkippedMidnight(t *testing.T) {
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	anchor := time.Date(2025, 6, 7, 0, 0, 0, 0, santiago)
	got, err := ensemble.Every(1, ensemble.Quarterly).Boundary(anchor, 1, santiago)
	require.NoError(t, err)
	require.Equal(t, "2025-09-07T01:00:00-03:00", got.Format(time.RFC3339))
	cycle := ensemble.MustPeriod(anchor, got)
	m, err := cycle.Measure(ensemble.ProrateThirtyDayCalendarMonth, santiago)
	require.NoError(t, err)
	require.True(t, m.Equal(ensemble.RatioFromInt(90)), "got %s", m)
}

// TestProrateNeverPanics feeds Prorate, Measure and PeriodThrough any
// instants (far apart, reversed, zero, in any zone), any basis byte and any
// anchor: each returns a value or an error, a fraction it returns lies in
// [0, 1], and an unknown basis is a *ParseError.
func TestProrateNeverPanics(t *testing.T) {
	zones := []string{"UTC", "Europe/Berlin", "America/Santiago", "Asia/Kathmandu", "Pacific/Apia"}
	instant := func(t *rapid.T, label string) time.Time {
		return rapid.OneOf(
			rapid.Just(time.Time{}),
			rapid.Custom(func(t *rapid.T) time.Time { return genInstant(t, label) }),
			rapid.Custom(func(t *rapid.T) time.Time {
				return time.Unix(rapid.Int64Range(-1<<40, 1<<40).Draw(t, label+"_far"), 0)
			}),
		).Draw(t, label)
	}
	rapid.Check(t, func(t *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Skip(err)
		}
		basis := ensemble.ProrationBasis(rapid.Uint8().Draw(t, "basis"))
		part := ensemble.Period{Start: instant(t, "ps"), End: instant(t, "pe")}
		whole := ensemble.Period{Start: instant(t, "ws"), End: instant(t, "we")}
		opts := ensemble.ProrateOptions{Basis: basis, Location: loc, Anchor: instant(t, "anchor")}
		f, err := ensemble.Prorate(part, whole, opts)
		if err == nil {
			if f.Sign() < 0 || f.Cmp(ensemble.MustRatio("1")) > 0 {
				t.Fatalf("%s: fraction %s outside [0, 1]", basis, f)
			}
		}
		if err != nil && !basis.Valid() {
			var pe *ensemble.ParseError
			if !errors.As(err, &pe) && part.Validate() == nil && whole.Validate() == nil {
				t.Fatalf("unknown basis %d: %v is not a *ParseError", basis, err)
			}
		}
		_, _ = whole.Measure(basis, loc)
		_, _ = ensemble.PeriodThrough(part.Start, part.End, loc)
	})
}
