package ensemble

import (
	"errors"
	"fmt"
	"math/big"
	"time"
)

// ErrPeriodOrder reports a period whose end is before its start.
var ErrPeriodOrder = errors.New("ensemble: period ends before it starts")

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
type ProrationBasis uint8

const (
	// ProrateExactTime measures elapsed time exactly, to the nanosecond
	// (OpenMeter; Stripe uses the same ratio at second precision). Parts of
	// a period always add up to the whole.
	ProrateExactTime ProrationBasis = iota
	// ProrateDaysEndExclusive counts calendar days in the given time zone,
	// from the start's date up to but not including the end's date (Kill
	// Bill). A daylight-saving day counts as one day. Parts split at any
	// instant add up to the whole.
	ProrateDaysEndExclusive
	// ProrateDaysEndInclusive counts calendar days counting both ends: the
	// start's date through the date of the last instant in the period
	// (Lago, Flexprice). A day that holds a split is counted in both parts,
	// so parts split inside a day add up to more than the whole; parts split
	// at midnight add up exactly.
	ProrateDaysEndInclusive
	// ProrateThirtyDayMonth counts every month as 30 days (Zuora's "strict
	// 30/360", Kill Bill's fixed 30-day month). Months are stepped from the
	// start of the whole period, clamping month ends as Cadence does; within
	// a month, days count from that step with time of day as a fraction of
	// its day, up to 30: a 31st day counts nothing and the last day of a
	// shorter month (February) counts the days it lacks. A whole month
	// always measures 30, whatever its anchor, and parts of a whole add up
	// to it.
	ProrateThirtyDayMonth
)

var basisNames = [...]string{
	ProrateExactTime:        "exact_time",
	ProrateDaysEndExclusive: "days_end_exclusive",
	ProrateDaysEndInclusive: "days_end_inclusive",
	ProrateThirtyDayMonth:   "thirty_day_month",
}

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
// p.Start. An empty period measures zero.
func (p Period) Measure(basis ProrationBasis, loc *time.Location) (Ratio, error) {
	if err := p.Validate(); err != nil {
		return Ratio{}, err
	}
	if loc == nil {
		loc = time.UTC
	}
	if p.IsEmpty() {
		return Ratio{}, nil
	}
	switch basis {
	case ProrateExactTime:
		secs := big.NewInt(p.End.Unix() - p.Start.Unix())
		secs.Mul(secs, big.NewInt(1e9))
		secs.Add(secs, big.NewInt(int64(p.End.Nanosecond()-p.Start.Nanosecond())))
		return Ratio{new(big.Rat).SetFrac(secs, big.NewInt(1e9))}, nil
	case ProrateDaysEndExclusive:
		return RatioFromInt(civilDay(p.End, loc) - civilDay(p.Start, loc)), nil
	case ProrateDaysEndInclusive:
		last := p.End.Add(-time.Nanosecond)
		return RatioFromInt(civilDay(last, loc) - civilDay(p.Start, loc) + 1), nil
	case ProrateThirtyDayMonth:
		return Ratio{elapsed30(p.Start, p.End, loc)}, nil
	}
	return Ratio{}, parseError("proration basis", basis.String(), "unknown basis")
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
// outside whole is ignored. A whole that measures zero wraps ErrEmptyPeriod.
//
//	[Jan 1, Jan 11) of [Jan 1, Feb 1) is 10/31 by days, 1/3 by 30-day months.
func Prorate(part, whole Period, opts ProrateOptions) (Ratio, error) {
	if err := part.Validate(); err != nil {
		return Ratio{}, err
	}
	if err := whole.Validate(); err != nil {
		return Ratio{}, err
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

// civilDay returns the number of the calendar day t falls on in loc,
// counted from 1970-01-01.
func civilDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
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
	lt := t.In(loc)
	y, m, d := lt.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, loc)
	next := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	return new(big.Rat).SetFrac64(int64(lt.Sub(midnight)), int64(next.Sub(midnight)))
}
