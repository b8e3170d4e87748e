package ensemble

import (
	"fmt"
	"iter"
	"time"
)

// CadenceUnit is the calendar unit a billing cycle steps by. In
// documents it is written "daily", "weekly", "monthly", "quarterly" or
// "yearly" (a charge's cadence: {unit: monthly}).
type CadenceUnit uint8

const (
	// CadenceUnspecified is the zero value; a Cadence must name its unit.
	CadenceUnspecified CadenceUnit = iota
	// Daily steps by calendar days (a daylight-saving day is one day; a
	// date the zone skipped has no cycle).
	Daily
	// Weekly steps by seven calendar days.
	Weekly
	// Monthly steps by calendar months, clamping to the month's last day.
	Monthly
	// Quarterly steps by three calendar months.
	Quarterly
	// Yearly steps by twelve calendar months (Feb 29 -> Feb 28).
	Yearly
)

var cadenceNames = [...]string{
	CadenceUnspecified: "unspecified", Daily: "daily", Weekly: "weekly",
	Monthly: "monthly", Quarterly: "quarterly", Yearly: "yearly",
}

// String returns the unit's lowercase name.
func (u CadenceUnit) String() string {
	if int(u) < len(cadenceNames) {
		return cadenceNames[u]
	}
	return "cadence_unit(" + itoa(int64(u)) + ")"
}

// ParseCadenceUnit reads a unit's name.
func ParseCadenceUnit(s string) (CadenceUnit, error) {
	for i, name := range cadenceNames {
		if name == s && i != 0 {
			return CadenceUnit(i), nil
		}
	}
	return 0, parseError("cadence unit", s, "want daily, weekly, monthly, quarterly or yearly")
}

// MarshalText writes the unit's name.
func (u CadenceUnit) MarshalText() ([]byte, error) {
	if int(u) >= len(cadenceNames) {
		return nil, parseError("cadence unit", u.String(), "unknown unit")
	}
	return []byte(u.String()), nil
}

// UnmarshalText reads a unit's name.
func (u *CadenceUnit) UnmarshalText(b []byte) error {
	if string(b) == "unspecified" || len(b) == 0 {
		*u = CadenceUnspecified
		return nil
	}
	v, err := ParseCadenceUnit(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// MaxCadenceCount bounds Cadence.Count so that stepping can never overflow.
const MaxCadenceCount = 1000

// Cadence is a billing cycle: every Count units (Count 0 means 1). Cycles
// are stepped from an anchor instant in a given time zone; the n-th boundary
// is computed from the anchor directly, never by repeated stepping, so a
// cycle anchored on Jan 31 bills on Feb 28 (29 in leap years), Mar 31,
// Apr 30, ...
type Cadence struct {
	Unit  CadenceUnit `json:"unit"`
	Count int         `json:"count,omitempty"`
}

// Every returns the cadence of every n units.
func Every(n int, unit CadenceUnit) Cadence { return Cadence{Unit: unit, Count: n} }

// Validate reports an unspecified or unknown unit, or a count outside
// [0, MaxCadenceCount].
func (c Cadence) Validate() error {
	if c.Unit == CadenceUnspecified || int(c.Unit) >= len(cadenceNames) {
		return fmt.Errorf("ensemble: cadence: unit %s is not a calendar unit", c.Unit)
	}
	if c.Count < 0 || c.Count > MaxCadenceCount {
		return fmt.Errorf("ensemble: cadence: count %d is outside [1, %d]", c.Count, MaxCadenceCount)
	}
	return nil
}

// String writes "monthly" for one unit and "every 3 months" for more.
func (c Cadence) String() string {
	n := max(c.Count, 1)
	if n == 1 {
		return c.Unit.String()
	}
	var unit string
	switch c.Unit {
	case Daily:
		unit = "days"
	case Weekly:
		unit = "weeks"
	case Monthly:
		unit = "months"
	case Quarterly:
		unit = "quarters"
	case Yearly:
		unit = "years"
	default:
		unit = c.Unit.String()
	}
	return fmt.Sprintf("every %d %s", n, unit)
}

// step returns the calendar distance of one cycle as (months, days).
func (c Cadence) step() (months, days int) {
	n := max(c.Count, 1)
	switch c.Unit {
	case Daily:
		return 0, n
	case Weekly:
		return 0, 7 * n
	case Monthly:
		return n, 0
	case Quarterly:
		return 3 * n, 0
	case Yearly:
		return 12 * n, 0
	}
	return 0, 0
}

// Boundary returns the n-th cycle boundary from anchor (n may be negative;
// Boundary(anchor, 0, loc) is anchor). The anchor's wall-clock time of day
// in loc (nil means UTC) is kept; month-based cadences clamp the anchor's day
// to the last day of shorter months. The result is in loc.
//
// Where a clock change breaks that wall time, one rule applies in every
// zone: a boundary in a gap (the clock jumps over it) is the first instant
// after the gap, the clock change itself (02:30 on a New York
// spring-forward day bills at 03:00 EDT; a boundary on a date the zone
// skipped, at the start of the next date); a boundary in an overlap (the
// clock shows it twice) is its first occurrence (01:30 EDT on a New York
// fall-back day, 01:30 BST in London). Moving forward keeps a boundary on or
// after the time it names, never inside the cycle before it, and the first
// occurrence is when the wall clock first reads that time; together they
// make boundaries never decrease, so cycles never overlap. Two consecutive
// boundaries are equal only where the zone skipped a whole cycle (a daily
// cycle on a skipped date); Periods and PeriodAt never return such an empty
// cycle.
func (c Cadence) Boundary(anchor time.Time, n int, loc *time.Location) (time.Time, error) {
	if err := c.Validate(); err != nil {
		return time.Time{}, err
	}
	if loc == nil {
		loc = time.UTC
	}
	if n > maxSteps || n < -maxSteps {
		return time.Time{}, fmt.Errorf("ensemble: cadence %s: boundary %d is out of range", c, n)
	}
	return c.boundary(anchor.In(loc), n, loc), nil
}

// maxSteps bounds how many cycles from the anchor a boundary may lie.
const maxSteps = 1 << 20

func (c Cadence) boundary(a time.Time, n int, loc *time.Location) time.Time {
	if n == 0 {
		return a // the anchor itself, even as the second reading of an overlap
	}
	y, m, d := a.Date()
	hh, mm, ss := a.Clock()
	ns := a.Nanosecond()
	months, days := c.step()
	if months == 0 {
		return onDate(y, m, d+n*days, hh, mm, ss, ns, loc)
	}
	target := int(m) + n*months
	last := time.Date(y, time.Month(target)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return onDate(y, time.Month(target), min(d, last), hh, mm, ss, ns, loc)
}

// onDate is time.Date with one rule for the wall times a clock change makes
// ambiguous, where time.Date leaves the choice open (New York and London
// resolve them in opposite directions):
//   - a wall time the clock skips (a spring-forward gap, or a whole date a
//     zone skipped, as Samoa did on 2011-12-30) is the first instant after the
//     gap, the clock change itself: 02:30 on a New York spring-forward day is
//     03:00 EDT;
//   - a wall time the clock repeats (a fall-back overlap) is its first
//     occurrence: 01:30 on a New York fall-back day is 01:30 EDT.
//
// Either way a boundary never moves to another date before it, and cycles
// keep their order.
func onDate(y int, m time.Month, d, hh, mm, ss, ns int, loc *time.Location) time.Time {
	want := time.Date(y, m, d, hh, mm, ss, ns, time.UTC) // the wall time, normalized
	t := time.Date(y, m, d, hh, mm, ss, ns, loc)
	_, offBefore := want.Add(-36 * time.Hour).In(loc).Zone() // the offset in force a day and a half earlier
	if sameWall(t, want) {
		// An overlap has an earlier instant with the same wall time, under
		// the offset in force before it.
		if c := want.Add(-time.Duration(offBefore) * time.Second); c.Before(t) && sameWall(c.In(loc), want) {
			return c.In(loc)
		}
		return t
	}
	// A gap: under the offset before it, the wall time lands past the clock
	// change, in the zone period that the change starts.
	c := want.Add(-time.Duration(offBefore) * time.Second).In(loc)
	if start, _ := c.ZoneBounds(); !start.IsZero() && !start.After(c) {
		return start.In(loc)
	}
	return t
}

// sameWall reports whether t, read in its own location, shows the wall time
// want holds as UTC.
func sameWall(t, want time.Time) bool {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	return time.Date(y, m, d, hh, mm, ss, t.Nanosecond(), time.UTC).Equal(want)
}

// localDate returns the calendar date t falls on in loc: the day d whose
// first instant is at or before t and the next day's first instant after it.
// It is t's wall date except where the clock goes back across midnight
// (America/Goose_Bay, 1987-2010: 00:01 back to 23:01): the instants
// repeated from the day before belong to the day already begun, so dates
// never go backwards as time goes forward and no day count is negative.
func localDate(t time.Time, loc *time.Location) (int, time.Month, int) {
	lt := t.In(loc)
	y, m, d := lt.Date()
	start, _ := lt.ZoneBounds()
	if start.IsZero() || lt.Sub(start) > 48*time.Hour {
		return y, m, d // no clock change in the last two days
	}
	py, pm, pd := start.Add(-1).In(loc).Date()
	if py > y || py == y && (pm > m || pm == m && pd > d) {
		return py, pm, pd
	}
	return y, m, d
}

// PeriodAt returns the cycle [Boundary(n), Boundary(n+1)) that contains t,
// and its index n (negative before the anchor).
func (c Cadence) PeriodAt(anchor, t time.Time, loc *time.Location) (Period, int, error) {
	if err := c.Validate(); err != nil {
		return Period{}, 0, err
	}
	if loc == nil {
		loc = time.UTC
	}
	a := anchor.In(loc)
	n := c.estimate(a, t.In(loc))
	if n > maxSteps || n < -maxSteps {
		return Period{}, 0, fmt.Errorf("ensemble: cadence %s: %s is more than %d cycles from the anchor", c, t.Format(time.RFC3339), maxSteps)
	}
	for c.boundary(a, n, loc).After(t) {
		n--
	}
	for !c.boundary(a, n+1, loc).After(t) {
		n++
	}
	return Period{Start: c.boundary(a, n, loc), End: c.boundary(a, n+1, loc)}, n, nil
}

// estimate guesses the index of the cycle holding t, within one or two.
func (c Cadence) estimate(a, t time.Time) int {
	months, days := c.step()
	if months == 0 {
		return int(floorDiv(civilDay(t, time.UTC)-civilDay(a, time.UTC), int64(days)))
	}
	ay, am, _ := a.Date()
	ty, tm, _ := t.Date()
	return int(floorDiv(int64(ty-ay)*12+int64(tm-am), int64(months)))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Periods returns an iterator over every cycle that overlaps span, in
// order and unclipped: the first one contains span.Start. Consecutive periods
// share their boundary, so none is skipped or repeated. An invalid cadence or
// a span too far from the anchor is an error.
func (c Cadence) Periods(anchor time.Time, span Period, loc *time.Location) (iter.Seq[Period], error) {
	if err := span.Validate(); err != nil {
		return nil, err
	}
	first, n, err := c.PeriodAt(anchor, span.Start, loc)
	if err != nil {
		return nil, err
	}
	if _, _, err := c.PeriodAt(anchor, span.End, loc); err != nil {
		return nil, err
	}
	if loc == nil {
		loc = time.UTC
	}
	a := anchor.In(loc)
	return func(yield func(Period) bool) {
		if span.IsEmpty() {
			return
		}
		p, k := first, n
		for p.Start.Before(span.End) {
			// A cycle whose date a zone skipped (Samoa, 2011-12-30) starts
			// and ends at the same clock change: it holds no time, and is
			// not yielded.
			if !p.IsEmpty() && !yield(p) {
				return
			}
			k++
			p = Period{Start: p.End, End: c.boundary(a, k+1, loc)}
		}
	}, nil
}
