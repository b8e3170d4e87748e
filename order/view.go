package order

import (
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// TermAt returns the contract term holding t: [activation + n·Length,
// activation + (n+1)·Length) in the billing time zone, clamping month ends.
// It reports false when the order has no term, is not activated, t is
// before activation, or t lies after a term that does not renew.
func (o Order) TermAt(t time.Time) (ensemble.Period, bool) {
	if o.ActivatedAt.IsZero() || o.Term.Length.Unit == ensemble.CadenceUnspecified || t.Before(o.ActivatedAt) {
		return ensemble.Period{}, false
	}
	p, n, err := o.Term.Length.PeriodAt(o.ActivatedAt, t, o.Billing.Location())
	if err != nil || (n > 0 && !o.Term.AutoRenew) {
		return ensemble.Period{}, false
	}
	return ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}, true
}

// TermEnd returns the end of the first contract term, and false when the
// order has no term or is not activated yet.
func (o Order) TermEnd() (time.Time, bool) {
	p, ok := o.TermAt(o.ActivatedAt)
	return p.End, ok
}

// StopsAt returns the instant the order's lines stop (a scheduled or
// effected cancellation or termination), and false while none is set.
func (o Order) StopsAt() (time.Time, bool) {
	if o.Cancellation == nil || o.ActivatedAt.IsZero() {
		return time.Time{}, false
	}
	return o.Cancellation.EffectiveAt, true
}

// SegmentsIn returns the segments that overlap span, clipped to it, in the
// order of Order.Segments (by line ID, then start). An open segment is
// taken to run past span.End. IDs are kept, so a clipped segment still
// names the segment it is part of. The result is a new slice.
func (o Order) SegmentsIn(span ensemble.Period) []Segment {
	n := 0
	for i := range o.Segments {
		if overlaps(&o.Segments[i], span) {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Segment, 0, n)
	for i := range o.Segments {
		s := &o.Segments[i]
		if !overlaps(s, span) {
			continue
		}
		c := *s
		if c.Start.Before(span.Start) {
			c.Start = span.Start
		}
		if c.End.IsZero() || c.End.After(span.End) {
			c.End = span.End
		}
		c.AddOns = cloneAddOns(c.AddOns)
		out = append(out, c)
	}
	return out
}

func overlaps(s *Segment, span ensemble.Period) bool {
	return s.Start.Before(span.End) && (s.End.IsZero() || s.End.After(span.Start)) && span.Start.Before(span.End)
}

// LineSegments returns the segments of one line, oldest first.
func (o Order) LineSegments(id LineID) []Segment {
	var out []Segment
	for _, s := range o.Segments {
		if s.Line == id {
			s.AddOns = cloneAddOns(s.AddOns)
			out = append(out, s)
		}
	}
	return out
}

// OpenException is an activation exception still open, with its task.
type OpenException struct {
	Task      TaskID     `json:"task"`
	Supplier  string     `json:"supplier,omitempty"`
	Exception Exception  `json:"exception"`
	Status    TaskStatus `json:"status"`
}

// OpenExceptions lists the open activation exceptions, by task ID then
// attempt.
func (o Order) OpenExceptions() []OpenException {
	var out []OpenException
	for _, t := range o.Tasks {
		for _, e := range t.Exceptions {
			if e.Open() {
				out = append(out, OpenException{Task: t.ID, Supplier: string(t.Supplier), Exception: e, Status: t.Status})
			}
		}
	}
	return out
}

// CycleTimes are the lifecycle's durations, for operations metrics. A
// duration whose end has not happened is zero with its flag false. JSON
// writes durations as integer nanoseconds.
type CycleTimes struct {
	// QuoteToOrder runs from the last quote to acceptance.
	QuoteToOrder time.Duration `json:"quote_to_order"`
	Ordered      bool          `json:"ordered"`
	// OrderToActivation runs from acceptance to activation.
	OrderToActivation time.Duration `json:"order_to_activation"`
	Activated         bool          `json:"activated"`
	// Exceptions counts every activation exception, OpenExceptions those
	// still open.
	Exceptions     int `json:"exceptions"`
	OpenExceptions int `json:"open_exceptions"`
	// Attempts counts activation attempts over every task.
	Attempts int `json:"attempts"`
}

// CycleTimes returns the order's cycle times from its state.
func (o Order) CycleTimes() CycleTimes {
	var c CycleTimes
	if !o.AcceptedAt.IsZero() {
		c.QuoteToOrder, c.Ordered = o.AcceptedAt.Sub(o.QuotedAt), true
	}
	if !o.ActivatedAt.IsZero() {
		c.OrderToActivation, c.Activated = o.ActivatedAt.Sub(o.AcceptedAt), true
	}
	for _, t := range o.Tasks {
		c.Attempts += t.Attempts
		for _, e := range t.Exceptions {
			c.Exceptions++
			if e.Open() {
				c.OpenExceptions++
			}
		}
	}
	return c
}

// Measure returns the cycle times from an order's events alone, without
// folding them: the last quote before acceptance to acceptance, acceptance
// to activation, and the exceptions opened and resolved. It agrees with
// CycleTimes of the folded order.
func Measure(events []Event) CycleTimes {
	var (
		c                           CycleTimes
		quoted, accepted, activated time.Time
		open                        = map[TaskID]int{}
	)
	for _, ev := range events {
		switch ev.Kind {
		case EventRevised:
			quoted, c.Ordered = time.Time{}, false
			clear(open)
			c.Exceptions, c.OpenExceptions, c.Attempts = 0, 0, 0
		case EventQuoted:
			quoted = ev.At
		case EventAccepted:
			accepted = ev.At
			c.QuoteToOrder, c.Ordered = ev.At.Sub(quoted), true
		case EventActivationStarted:
			c.Attempts = 0
			for _, t := range ev.Tasks {
				c.Attempts += t.Attempts
			}
		case EventTaskFailed:
			c.Exceptions++
			open[ev.Task]++
		case EventTaskRetried:
			c.Attempts++
		case EventTaskCompleted:
			delete(open, ev.Task)
		case EventActivated:
			activated = ev.At
			c.OrderToActivation, c.Activated = activated.Sub(accepted), true
		}
	}
	for _, n := range open {
		c.OpenExceptions += n
	}
	return c
}

// SegmentAt returns the segment of line id in force at t (Start <= t < End,
// an open segment holding every t from its start), and false when none is.
func (o Order) SegmentAt(id LineID, t time.Time) (Segment, bool) {
	for _, s := range o.Segments {
		if s.Line == id && !t.Before(s.Start) && (s.End.IsZero() || t.Before(s.End)) {
			s.AddOns = cloneAddOns(s.AddOns)
			return s, true
		}
	}
	return Segment{}, false
}

// LinePeriod returns the period line id was active in: from its first
// segment's start to its last segment's end, an open end replaced by until
// (a line's segments are contiguous). It reports false for a line without
// segments. The usage package takes it as the line's active period.
func (o Order) LinePeriod(id LineID, until time.Time) (ensemble.Period, bool) {
	var p ensemble.Period
	found := false
	for _, s := range o.Segments {
		if s.Line != id {
			continue
		}
		if !found {
			p.Start = s.Start
			found = true
		}
		p.End = s.Period(until).End
	}
	return p, found
}
