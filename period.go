package ensemble

import (
	"errors"
	"fmt"
	"math/big"
	"time"
)

// ErrPeriodOrder reports a period whose end is before its start.
var ErrPeriodOrder = errors.New("ensemble: period ends before it starts")

// ErrAmbiguousEnd reports a period that ProrateDaysEndInclusive cannot count
// without guessing what its end means: an empty one, which is what a
// one-day range becomes when its last date is passed as its own midnight.
var ErrAmbiguousEnd = errors.New("ensemble: ambiguous inclusive end")

// DayError reports an instant passed where a calendar day was expected
// (PeriodThrough) that is not the start of its day in the time zone: with a
// time of day it is unclear whether the day or the instant is meant.
type DayError struct {
	Field string    // which day: "first" or "last"
	At    time.Time // the instant passed
	Zone  string    // the time zone's name
}

// Error names the day, the instant passed and the time zone.
func (e *DayError) Error() string {
	return fmt.Sprintf("ensemble: %s day %s is not the start of a day in %s: pass the day's midnight",
		e.Field, e.At.Format(time.RFC3339Nano), e.Zone)
}

// Period is the half-open interval of time [Start, End): it contains Start
// and not End, so consecutive periods share a boundary without overlapping.
// Period is a value; compare with Equal. A period whose End equals its Start
// is empty.
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// NewPeriod returns [start, end). An end before start wraps ErrPeriodOrder;
// a zero start or end is an error too.
func NewPeriod(start, end time.Time) (Period, error) {
	p := Period{Start: start, End: end}
	if err := p.Validate(); err != nil {
		return Period{}, err
	}
	return p, nil
}

// PeriodThrough returns the period of the calendar days first through last,
// both included, in loc (nil means UTC): [first, the midnight after last).
// It is how a host holding inclusive dates (Lago's, Flexprice's "January 1
// to January 31") passes them: PeriodThrough(jan1, jan31, loc) is
// [Jan 1, Feb 1), 31 days under ProrateDaysEndInclusive and
// ProrateDaysEndExclusive alike. first and last are days, each given as
// time.Date(y, m, d, 0, 0, 0, 0, loc) or the instant its day starts in loc
// (they differ only where a clock change skips midnight); any other
// instant is a *DayError, a last day before the first wraps
// ErrPeriodOrder, and a zero instant is an error.
func PeriodThrough(first, last time.Time, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	if first.IsZero() || last.IsZero() {
		return Period{}, fmt.Errorf("ensemble: days %s through %s: zero instant", first.Format(time.RFC3339), last.Format(time.RFC3339))
	}
	start, ok := dayStart(first, loc)
	if !ok {
		return Period{}, &DayError{Field: "first", At: first, Zone: loc.String()}
	}
	lastStart, ok := dayStart(last, loc)
	if !ok {
		return Period{}, &DayError{Field: "last", At: last, Zone: loc.String()}
	}
	if lastStart.Before(start) {
		return Period{}, fmt.Errorf("%w: days %s through %s", ErrPeriodOrder, start.Format(time.DateOnly), lastStart.Format(time.DateOnly))
	}
	y, m, d := localDate(lastStart, loc)
	return Period{Start: start, End: startOfDay(y, m, d+1, loc)}, nil
}

// dayStart reads t as a day in loc: the day t starts, or the day whose
// skipped midnight time.Date answered with t (an instant late in the day
// before). It returns that day's first instant and whether t names a day.
func dayStart(t time.Time, loc *time.Location) (time.Time, bool) {
	y, m, d := localDate(t, loc)
	if s := startOfDay(y, m, d, loc); s.Equal(t) {
		return s, true
	}
	if time.Date(y, m, d+1, 0, 0, 0, 0, loc).Equal(t) {
		return startOfDay(y, m, d+1, loc), true
	}
	return time.Time{}, false
}

// startOfDay returns the first instant of the day y-m-d (normalized as
// time.Date does) in loc. Where a clock change skips midnight, time.Date may
// answer with an instant of the day before (23:00 in America/Santiago on
// 2022-09-11); the day then starts at the clock change.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	return onDate(y, m, d, 0, 0, 0, 0, loc)
}

// MustPeriod is NewPeriod for tests and examples: it panics on bad input.
func MustPeriod(start, end time.Time) Period {
	p, err := NewPeriod(start, end)
	if err != nil {
		panic(err)
	}
	return p
}

// Validate reports a zero start or end, or an end before the start.
func (p Period) Validate() error {
	switch {
	case p.Start.IsZero() || p.End.IsZero():
		return fmt.Errorf("ensemble: period %s: zero instant", p)
	case p.End.Before(p.Start):
		return fmt.Errorf("%w: %s", ErrPeriodOrder, p)
	}
	return nil
}

// IsEmpty reports whether the period contains no instant.
func (p Period) IsEmpty() bool { return !p.End.After(p.Start) }

// Contains reports whether Start <= t < End.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// Duration returns End - Start (saturating as time.Time.Sub does).
func (p Period) Duration() time.Duration { return p.End.Sub(p.Start) }

// Equal reports whether p and o start and end at the same instants.
func (p Period) Equal(o Period) bool { return p.Start.Equal(o.Start) && p.End.Equal(o.End) }

// Overlap returns the intersection of p and o and whether it is non-empty.
func (p Period) Overlap(o Period) (Period, bool) {
	s, e := p.Start, p.End
	if o.Start.After(s) {
		s = o.Start
	}
	if o.End.Before(e) {
		e = o.End
	}
	if !e.After(s) {
		return Period{}, false
	}
	return Period{Start: s, End: e}, true
}

// String writes the period as "[start, end)" in RFC 3339.
func (p Period) String() string {
	return "[" + p.Start.Format(time.RFC3339Nano) + ", " + p.End.Format(time.RFC3339Nano) + ")"
}

// ProrationBasis says how the length of a part of a period is measured when
// a charge is prorated. The billing engines users come from each use one of
// these; the zero value is ProrateExactTime.
//
// Periods are half-open under every basis: a host that means "January 1
// through January 31" passes [Jan 1 00:00, Feb 1 00:00), or builds it with
// PeriodThrough from the two dates.
type ProrationBasis uint8

const (
	// ProrateExactTime measures elapsed time exactly, to the nanosecond
	// (OpenMeter; Stripe uses the same ratio at second precision). Parts of
	// a period always add up to the whole.
	ProrateExactTime ProrationBasis = iota
	// ProrateDaysEndExclusive counts calendar days in the given time zone,
	// from the start's date up to but not including the end's date (Kill
	// Bill's default). A daylight-saving day counts as one day. Parts split
	// at any instant add up to the whole.
	ProrateDaysEndExclusive
	// ProrateDaysEndInclusive counts calendar days counting both ends: the
	// start's date through the date of the last instant in the period
	// (Lago, Flexprice). A day is counted when the period holds any instant
	// of it, so a day that holds a split is counted in both parts, and parts
	// split inside a day add up to more than the whole; parts split at
	// midnight add up exactly.
	//
	// An End at midnight holds nothing of its own day: [Jan 1, Feb 1) is
	// January 1 through January 31, 31 days, the same count as
	// ProrateDaysEndExclusive; the two bases differ only where an end falls
	// inside a day. A host holding an inclusive last date passes the
	// midnight after it, or calls PeriodThrough; passing the last date's
	// own midnight counts one day short. The one form of that mistake a
	// period shows, an empty period ("January 15 through January 15" as
	// [Jan 15, Jan 15)), is rejected under this basis with ErrAmbiguousEnd:
	// an inclusive range always holds its first day.
	ProrateDaysEndInclusive
	// ProrateThirtyDayMonth counts every month as 30 days, the months
	// stepped from the billing anchor (ProrateOptions.Anchor; Measure steps
	// from the period's start), clamping month ends as Cadence does. Within
	// a month step, days count from that step with time of day as a
	// fraction of its day, up to 30: a 31st day of a step counts nothing
	// and the last day of a shorter step (into February) counts the days it
	// lacks. A whole monthly cycle measures exactly 30 whatever its anchor,
	// the 29th to 31st included, and parts of a whole add up to it. This is
	// Ensemble's own count, not a reproduction of a billing engine: Kill
	// Bill's 30-day month is ProrateThirtyDayCalendarMonth.
	//
	// The two differ when a step runs across a calendar month that is not
	// 30 days long: in a cycle anchored on the 23rd, the stub from
	// February 15 to the February 23 bill date measures 7 days here (30
	// less the 23 from January 23) and 8 under the calendar count.
	ProrateThirtyDayMonth
	// ProrateThirtyDayCalendarMonth counts calendar dates in the given time
	// zone, end excluded, as if every calendar month had 30 days: a span
	// within one calendar month counts its actual days, and a span that
	// leaves a month counts that month as 30 days long, so the 31st counts
	// nothing and the last day of February counts 3 days (2 in a leap
	// year). Time of day is ignored, as Kill Bill ignores it (it prorates
	// local dates). This reproduces Kill Bill with
	// org.killbill.invoice.proration.fixed.days=30: its
	// InvoiceDateUtils.daysBetweenWithFixedDaysInMonth and the figures its
	// tests publish (February 15 to 23 is 8 days, February 23 to March 15
	// is 22 in 2023 and 2024, May 23 to June 15 is 22). Zuora documents
	// its "Strict 30/360" option by the same two rules, though no Zuora
	// figures were checked. The months are calendar months, so
	// ProrateOptions.Anchor plays no part.
	//
	// The whole is measured the same way, so every monthly cycle anchored
	// on the 1st to the 28th measures 30 (as Kill Bill divides by) and
	// parts split at any instant add up to the whole. Kill Bill differs in
	// two places Ensemble does not follow, because there its parts do not
	// add up: it divides by 30 whatever the cycle, quarterly and yearly
	// ones included (a cycle anchored on the 31st, [Jan 31, Feb 28),
	// measures 27 here), and in a span that leaves more than one month it
	// counts only the first month as 30 days, or none when the span starts
	// and ends in the same month of different years (here every month
	// left counts 30, so a quarter measures 90).
	ProrateThirtyDayCalendarMonth
)

var basisNames = [...]string{
	ProrateExactTime:        "exact_time",
	ProrateDaysEndExclusive: "days_end_exclusive",
	ProrateDaysEndInclusive: "days_end_inclusive",
	ProrateThirtyDayMonth:   "thirty_day_month",

	ProrateThirtyDayCalendarMonth: "thirty_day_calendar_month",
}

// Valid reports whether b is one of the declared bases.
func (b ProrationBasis) Valid() bool { return int(b) < len(basisNames) }

// String returns the basis's lowercase name.
func (b ProrationBasis) String() string {
	if int(b) < len(basisNames) {
		return basisNames[b]
	}
	return "proration_basis(" + itoa(int64(b)) + ")"
}

// ParseProrationBasis reads a basis's name; "" is the default.
func ParseProrationBasis(s string) (ProrationBasis, error) {
	if s == "" {
		return ProrateExactTime, nil
	}
	for i, name := range basisNames {
		if name == s {
			return ProrationBasis(i), nil
		}
	}
	return 0, parseError("proration basis", s, "unknown basis")
}

// MarshalText writes the basis's name.
func (b ProrationBasis) MarshalText() ([]byte, error) {
	if int(b) >= len(basisNames) {
		return nil, parseError("proration basis", b.String(), "unknown basis")
	}
	return []byte(b.String()), nil
}

// UnmarshalText reads a basis's name.
func (b *ProrationBasis) UnmarshalText(t []byte) error {
	v, err := ParseProrationBasis(string(t))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Measure returns the length of p under basis: seconds for
// ProrateExactTime (exact to the nanosecond), days for the other bases. Days
// are counted in loc (nil means UTC). ProrateThirtyDayMonth steps months from
// p.Start. An empty period measures zero, except under
// ProrateDaysEndInclusive, where it wraps ErrAmbiguousEnd (see that basis).
// An unknown basis is a *ParseError.
func (p Period) Measure(basis ProrationBasis, loc *time.Location) (Ratio, error) {
	if err := p.Validate(); err != nil {
		return Ratio{}, err
	}
	if !basis.Valid() {
		return Ratio{}, parseError("proration basis", basis.String(), "unknown basis")
	}
	if loc == nil {
		loc = time.UTC
	}
	if p.IsEmpty() {
		if basis == ProrateDaysEndInclusive {
			return Ratio{}, ambiguousEnd(p)
		}
		return Ratio{}, nil
	}
	switch basis {
	case ProrateExactTime:
		secs := big.NewInt(p.End.Unix() - p.Start.Unix())
		secs.Mul(secs, big.NewInt(1e9))
		secs.Add(secs, big.NewInt(int64(p.End.Nanosecond()-p.Start.Nanosecond())))
		return Ratio{new(big.Rat).SetFrac(secs, big.NewInt(1e9))}, nil
	case ProrateDaysEndExclusive:
		return RatioFromInt(civilDay(p.End, loc) - civilDay(p.Start, loc) - skippedDates(p.Start, p.End, loc)), nil
	case ProrateDaysEndInclusive:
		last := p.End.Add(-time.Nanosecond)
		return RatioFromInt(civilDay(last, loc) - civilDay(p.Start, loc) + 1 - skippedDates(p.Start, last, loc)), nil
	case ProrateThirtyDayMonth:
		return Ratio{elapsed30(p.Start, p.End, loc)}, nil
	default: // ProrateThirtyDayCalendarMonth
		return RatioFromInt(calendar30(p.End, loc) - calendar30(p.Start, loc)), nil
	}
}

func ambiguousEnd(p Period) error {
	return fmt.Errorf("%w: %s under %s holds no day: an inclusive range holds at least its first day; pass the midnight after the last day, or use PeriodThrough",
		ErrAmbiguousEnd, p, ProrateDaysEndInclusive)
}

// ProrateOptions configures Prorate. The zero value measures exact time in
// UTC.
type ProrateOptions struct {
	// Basis says how time is measured.
	Basis ProrationBasis `json:"basis"`
	// Location is the time zone days are counted in; nil means UTC.
	Location *time.Location `json:"-"`
	// Anchor is the billing anchor whose month steps ProrateThirtyDayMonth
	// counts from. A cycle anchored on the 31st runs Feb 28 -> Mar 31, which
	// is one month only when counted from its anchor. The zero Anchor means
	// whole.Start. Other bases ignore it.
	Anchor time.Time `json:"anchor,omitzero"`
}

// Prorate returns the fraction of whole that part covers, exactly:
// measure(part ∩ whole) / measure(whole) under opts.Basis. The part of part
// outside whole is ignored. A whole that holds time but measures zero under
// its basis (a daily cycle on the 31st under a 30-day basis; the few hours a
// skipped date leaves of a daily cycle, under a day basis) is measured in
// exact time instead; an empty whole wraps ErrEmptyPeriod. Calendar days a zone
// skipped (Samoa's 2011-12-30) are not counted by any day basis.
// Under ProrateDaysEndInclusive an empty part or whole wraps
// ErrAmbiguousEnd (an empty whole wraps ErrEmptyPeriod too).
//
//	[Jan 1, Jan 11) of [Jan 1, Feb 1) is 10/31 by days, 1/3 by 30-day months.
func Prorate(part, whole Period, opts ProrateOptions) (Ratio, error) {
	if err := part.Validate(); err != nil {
		return Ratio{}, err
	}
	if err := whole.Validate(); err != nil {
		return Ratio{}, err
	}
	if !opts.Basis.Valid() {
		return Ratio{}, parseError("proration basis", opts.Basis.String(), "unknown basis")
	}
	if opts.Basis == ProrateDaysEndInclusive {
		if whole.IsEmpty() {
			return Ratio{}, fmt.Errorf("%w: %w", ErrEmptyPeriod, ambiguousEnd(whole))
		}
		if part.IsEmpty() {
			return Ratio{}, ambiguousEnd(part)
		}
	}
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	var measure func(Period) (*big.Rat, error)
	if opts.Basis == ProrateThirtyDayMonth {
		anchor := opts.Anchor
		if anchor.IsZero() {
			anchor = whole.Start
		}
		// Both ends on the anchor's own month steps, so parts add up.
		measure = func(p Period) (*big.Rat, error) {
			return new(big.Rat).Sub(elapsed30(anchor, p.End, loc), elapsed30(anchor, p.Start, loc)), nil
		}
	} else {
		measure = func(p Period) (*big.Rat, error) {
			m, err := p.Measure(opts.Basis, loc)
			return m.rat(), err
		}
	}
	w, err := measure(whole)
	if err != nil {
		return Ratio{}, err
	}
	if w.Sign() == 0 && !whole.IsEmpty() {
		// A whole that holds time but no day of its basis (a daily cycle on
		// the 31st under a 30-day basis; the hours a skipped date leaves of
		// a daily cycle, [00:00, 12:00) of Samoa's 2011-12-31 for a cycle
		// at noon, under any day basis) is measured in exact time: its
		// parts are still fractions of it, and a billing run never fails
		// on it.
		measure = func(p Period) (*big.Rat, error) {
			m, err := p.Measure(ProrateExactTime, loc)
			return m.rat(), err
		}
		if w, err = measure(whole); err != nil {
			return Ratio{}, err
		}
	}
	if w.Sign() == 0 {
		return Ratio{}, fmt.Errorf("%w: %s under %s", ErrEmptyPeriod, whole, opts.Basis)
	}
	in, ok := part.Overlap(whole)
	if !ok {
		return Ratio{}, nil
	}
	m, err := measure(in)
	if err != nil {
		return Ratio{}, err
	}
	return Ratio{m.Quo(m, w)}, nil
}

// skippedDates counts the calendar dates in loc that no instant of
// [from, to] falls on although dates before and after them do: the dates a
// zone skipped by moving its clock a day or more forward (Samoa skipped
// 2011-12-30, Kiritimati 1994-12-31). It walks the clock changes between
// the two instants, a few a year.
func skippedDates(from, to time.Time, loc *time.Location) int64 {
	var n int64
	for t := from.In(loc); ; {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.After(to) || !end.After(t) {
			return n
		}
		if gap := civilDay(end, loc) - civilDay(end.Add(-time.Nanosecond), loc) - 1; gap > 0 {
			n += gap
		}
		t = end.In(loc)
	}
}

// civilDay returns the number of the calendar day t falls on in loc,
// counted from 1970-01-01.
func civilDay(t time.Time, loc *time.Location) int64 {
	y, m, d := localDate(t, loc)
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// calendar30 places the date of t in loc on a line where every calendar
// month is 30 days long: 30 per month since year 0, plus the day of the
// month less one. The 31st therefore sits where the next month's 1st does
// (it counts nothing), and the last day of February is 3 days long (2 in a
// leap year). The count between two dates is the difference of their
// places, so counts add up.
func calendar30(t time.Time, loc *time.Location) int64 {
	y, m, d := localDate(t, loc)
	return 30*(12*int64(y)+int64(m)-1) + int64(d) - 1
}

// elapsed30 places t on the 30-day-month line of origin: 30 for each whole
// month stepped from origin (month ends clamped; negative before origin),
// plus the days since the last step, with time of day as an exact fraction
// of its day, up to 30.
func elapsed30(origin, t time.Time, loc *time.Location) *big.Rat {
	o := origin.In(loc)
	monthly := Cadence{Unit: Monthly}
	lt := t.In(loc)
	k := monthly.estimate(o, lt)
	for monthly.boundary(o, k, loc).After(t) {
		k--
	}
	for !monthly.boundary(o, k+1, loc).After(t) {
		k++
	}
	step := monthly.boundary(o, k, loc)
	days := new(big.Rat).SetInt64(civilDay(lt, loc) - civilDay(step, loc))
	days.Add(days, dayFraction(lt, loc))
	days.Sub(days, dayFraction(step, loc))
	if days.Cmp(big.NewRat(30, 1)) > 0 {
		days.SetInt64(30)
	}
	return days.Add(days, big.NewRat(30*int64(k), 1))
}

// dayFraction returns how far through its (possibly 23- or 25-hour) local
// day t is, as an exact fraction.
func dayFraction(t time.Time, loc *time.Location) *big.Rat {
	y, m, d := localDate(t, loc)
	midnight := startOfDay(y, m, d, loc)
	next := startOfDay(y, m, d+1, loc)
	if !next.After(midnight) || t.Before(midnight) {
		return new(big.Rat) // never: t's day holds t
	}
	return new(big.Rat).SetFrac64(int64(t.Sub(midnight)), int64(next.Sub(midnight)))
}
