package order

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble/partner"
)

func partnerID(s string) partner.ID { return partner.ID(s) }

// clone returns a copy of o whose top-level collections are its own, so
// that applying events to the copy never reaches o. Nested slices (add-ons,
// exceptions) are shared until apply replaces them: apply never changes
// them in place (copy on write).
func (o Order) clone() Order {
	c := o
	c.Route.Chain = slices.Clone(o.Route.Chain)
	c.Route.CoSellers = slices.Clone(o.Route.CoSellers)
	c.Lines = slices.Clone(o.Lines)
	c.Tasks = slices.Clone(o.Tasks)
	c.Segments = slices.Clone(o.Segments)
	c.Removed = slices.Clone(o.Removed)
	c.Suspensions = slices.Clone(o.Suspensions)
	if o.Cancellation != nil {
		cc := *o.Cancellation
		c.Cancellation = &cc
	}
	return c
}

func cloneLines(ls []Line) []Line {
	if ls == nil {
		return nil
	}
	c := make([]Line, len(ls))
	for i, l := range ls {
		l.AddOns = cloneAddOns(l.AddOns)
		l.Discount = cloneDiscount(l.Discount)
		c[i] = l
	}
	return c
}

func (o *Order) taskIndex(id TaskID) int {
	i, ok := slices.BinarySearchFunc(o.Tasks, id, func(t Task, id TaskID) int { return strings.Compare(string(t.ID), string(id)) })
	if !ok {
		return -1
	}
	return i
}

// pendingTasks counts the tasks not done.
func (o *Order) pendingTasks() int {
	n := 0
	for _, t := range o.Tasks {
		if t.Status != TaskDone {
			n++
		}
	}
	return n
}

// apply changes o by one event. It is the only code that changes an order,
// shared by Decide and Fold, so replaying the events rebuilds the state
// exactly. It copies what it takes from the event.
func (o *Order) apply(ev *Event) {
	switch ev.Kind {
	case EventCreated:
		*o = Order{ID: ev.Order, CreatedAt: ev.At}
		o.setDraft(ev.Draft)
	case EventRevised:
		created := o.CreatedAt
		id, n := o.ID, o.Events
		*o = Order{ID: id, CreatedAt: created, Events: n}
		o.setDraft(ev.Draft)
	case EventQuoted:
		o.Lines = cloneLines(ev.Lines)
		o.Currency = ev.Currency
		o.Route.Chain = slices.Clone(ev.Chain)
		o.QuotedAt, o.ExpiresAt = ev.At, ev.ExpiresAt
	case EventAccepted:
		o.Route.Chain = slices.Clone(ev.Chain)
		o.AcceptedAt = ev.At
	case EventActivationStarted:
		o.Tasks = make([]Task, len(ev.Tasks))
		for i, t := range ev.Tasks {
			t.Exceptions = slices.Clone(t.Exceptions)
			o.Tasks[i] = t
		}
	case EventTaskCompleted, EventTaskFailed, EventTaskRetried:
		if i := o.taskIndex(ev.Task); i >= 0 {
			t := &o.Tasks[i]
			t.UpdatedAt = ev.At
			t.Exceptions = slices.Clone(t.Exceptions) // copy on write
			switch ev.Kind {
			case EventTaskCompleted:
				t.Status = TaskDone
				for j := range t.Exceptions {
					if t.Exceptions[j].Open() {
						t.Exceptions[j].ResolvedAt = ev.At
					}
				}
			case EventTaskFailed:
				t.Status = TaskFailed
				t.Exceptions = append(t.Exceptions, Exception{Attempt: t.Attempts, At: ev.At, Reason: ev.Reason, Actor: ev.Actor})
			case EventTaskRetried:
				t.Status = TaskPending
				t.Attempts++
			}
		}
	case EventActivated:
		o.ActivatedAt = ev.At
		if o.Billing.Anchor.IsZero() {
			o.Billing.Anchor = ev.At
		}
		o.Segments = make([]Segment, 0, len(o.Lines))
		for i := range o.Lines {
			l := &o.Lines[i]
			l.Terms = l.Terms.activated(ev.At)
			o.Segments = append(o.Segments, Segment{ID: segmentID(l.ID, ev.Seq), Line: l.ID, Start: ev.At, Cause: EventActivated,
				Pin: l.Pin, Quantity: l.Quantity, AddOns: cloneAddOns(l.AddOns), Discount: l.Discount.Ratio, DiscountCharges: slices.Clone(l.Discount.Charges), Terms: l.Terms, Recorded: ev.At})
		}
	case EventSuspended:
		o.Suspensions = append(o.Suspensions, Suspension{From: ev.At, Reason: ev.Reason})
	case EventResumed:
		o.endSuspension(ev.At)
	case EventChanged:
		o.applyChange(ev.Change, ev.Seq, ev.At)
	case EventCancellationScheduled:
		c := *ev.Cancellation
		o.Cancellation = &c
		o.stopSegments(c.EffectiveAt, ev.At)
	case EventCancellationRevoked:
		if c := o.Cancellation; c != nil {
			for i := range o.Segments {
				last := i+1 == len(o.Segments) || o.Segments[i+1].Line != o.Segments[i].Line
				if last && o.Segments[i].End.Equal(c.EffectiveAt) {
					o.Segments[i].End, o.Segments[i].EndRecorded = time.Time{}, time.Time{}
				}
			}
		}
		o.Cancellation = nil
	case EventCancelled, EventTerminated:
		c := *ev.Cancellation
		o.Cancellation = &c
		o.EndedAt = ev.At
		if o.ActivatedAt.IsZero() {
			break
		}
		o.stopSegments(c.EffectiveAt, ev.At)
		o.endSuspension(c.EffectiveAt)
	}
	o.Status = ev.To
	o.Events++
	o.UpdatedAt = ev.At
}

func (o *Order) setDraft(d *Draft) {
	if d == nil {
		return
	}
	n := normalise(d)
	o.Customer, o.Route, o.Lines, o.Term, o.Billing, o.Currency = n.Customer, n.Route, n.Lines, n.Term, n.Billing, n.Currency
}

func (o *Order) endSuspension(at time.Time) {
	if n := len(o.Suspensions); n > 0 && o.Suspensions[n-1].Until.IsZero() {
		o.Suspensions[n-1].Until = at
	}
}

func segmentID(l LineID, n int) SegmentID { return SegmentID(string(l) + "/" + strconv.Itoa(n)) }

// stopSegments stops every line at t, recorded at instant at: segments
// that start at or after t (future-dated changes that never took effect,
// or that a back-dated stop undoes) are dropped, and the one holding t
// ends there, so no segment is ever empty. A segment that ends at t, or
// whose followers are dropped, records at as EndRecorded: what follows its
// end was recorded then.
func (o *Order) stopSegments(t, at time.Time) {
	kept := o.Segments[:0]
	for i, s := range o.Segments {
		if !s.Start.Before(t) {
			if i == 0 || o.Segments[i-1].Line != s.Line {
				o.removed(s.Line, s.Start, at) // its first segment, and so all
			}
			continue
		}
		dropsNext := i+1 < len(o.Segments) && o.Segments[i+1].Line == s.Line && !o.Segments[i+1].Start.Before(t)
		if s.End.IsZero() || s.End.After(t) {
			s.End, s.EndRecorded = t, at
		} else if dropsNext {
			s.EndRecorded = at // it ends at t as it did, but what followed is gone
		}
		kept = append(kept, s)
	}
	if len(kept) == 0 {
		kept = nil
	}
	o.Segments = kept
}

// applyChange changes a line and splits its last segment at the change's
// instant (replacing it when the segment starts then). The new segment's ID
// carries seq, the sequence number of the change's event, and records at,
// the event's instant.
func (o *Order) applyChange(ch *Change, seq int, at time.Time) {
	if ch.Kind == ChangeAddLine {
		o.addLine(ch, seq, at)
		return
	}
	li := slices.IndexFunc(o.Lines, func(l Line) bool { return l.ID == ch.Line })
	if li < 0 {
		return
	}
	if ch.Kind == ChangeRemoveLine {
		o.Lines = slices.Delete(o.Lines, li, li+1)
		o.stopLine(ch.Line, ch.EffectiveAt, at)
		return
	}
	l := &o.Lines[li]
	l.AddOns = cloneAddOns(l.AddOns) // copy on write
	switch ch.Kind {
	case ChangeQuantity:
		l.Quantity = ch.Quantity
	case ChangeOffer:
		l.Pin = ch.Pin
		if ch.Discount != nil {
			l.Discount = cloneDiscount(*ch.Discount)
		}
	case ChangeAddAddOn:
		a := AddOn{Pin: ch.Pin, Quantity: ch.Quantity}
		if j := slices.IndexFunc(l.AddOns, func(x AddOn) bool { return x.Pin.Offer == ch.Pin.Offer }); j >= 0 {
			l.AddOns[j] = a
		} else {
			l.AddOns = append(l.AddOns, a)
			sortAddOns(l.AddOns)
		}
	case ChangeRemoveAddOn:
		l.AddOns = slices.DeleteFunc(l.AddOns, func(x AddOn) bool { return x.Pin.Offer == ch.AddOn })
		if len(l.AddOns) == 0 {
			l.AddOns = nil
		}
	}
	// The line's segments are contiguous in o.Segments; its last one is
	// the open (or scheduled-to-end) one.
	last := -1
	for i := range o.Segments {
		if o.Segments[i].Line == ch.Line {
			last = i
		}
	}
	if last < 0 {
		return
	}
	seg := Segment{ID: segmentID(l.ID, seq), Line: l.ID, Start: ch.EffectiveAt, End: o.Segments[last].End, Cause: EventChanged, Change: ch.Kind,
		Pin: l.Pin, Quantity: l.Quantity, AddOns: cloneAddOns(l.AddOns), Discount: l.Discount.Ratio, DiscountCharges: slices.Clone(l.Discount.Charges), Terms: l.Terms,
		Recorded: at, EndRecorded: o.Segments[last].EndRecorded}
	if o.Segments[last].Start.Equal(ch.EffectiveAt) {
		if last == 0 || o.Segments[last-1].Line != ch.Line {
			// The line's first segment: it keeps what opened the line.
			seg.Cause, seg.Change = o.Segments[last].Cause, o.Segments[last].Change
		}
		o.Segments[last] = seg
		return
	}
	o.Segments[last].End, o.Segments[last].EndRecorded = ch.EffectiveAt, at
	o.Segments = slices.Insert(o.Segments, last+1, seg)
}

// Fold rebuilds an order from its events, oldest first, checking that each
// one follows from the state before it: the same order, the next sequence
// number, the status it starts from, a transition the lifecycle allows, and
// an instant not before its predecessor. An event that does not is an error
// naming its index. Fold(events) equals the state Decide returned with
// them.
func Fold(events []Event) (Order, error) {
	var o Order
	for i := range events {
		if err := o.check(&events[i]); err != nil {
			return Order{}, fmt.Errorf("order: events[%d]: %w", i, err)
		}
		o.apply(&events[i])
	}
	return o, nil
}

// check reports an event that cannot follow o.
func (o *Order) check(ev *Event) error {
	switch {
	case ev.Kind == EventUnspecified || int(ev.Kind) >= len(eventKindNames):
		return fmt.Errorf("%w: event kind %s", ErrInvalid, ev.Kind)
	case o.Status != StatusNone && ev.Order != o.ID:
		return fmt.Errorf("%w: event of order %q in the events of order %q", ErrInvalid, cut(string(ev.Order)), o.ID)
	case ev.Seq != o.Events+1:
		return fmt.Errorf("%w: sequence %d, want %d", ErrOutOfOrder, ev.Seq, o.Events+1)
	case ev.From != o.Status:
		return fmt.Errorf("%w: %s starts from %s but the order is %s", ErrInvalidTransition, ev.Kind, ev.From, o.Status)
	case ev.At.IsZero() || ev.At.Before(o.UpdatedAt):
		return fmt.Errorf("%w: %s at %s, after an event at %s", ErrOutOfOrder, ev.Kind, ev.At.Format(time.RFC3339), o.UpdatedAt.Format(time.RFC3339))
	}
	if !eventAllowed(o, ev) {
		return fmt.Errorf("%w: %s from %s to %s", ErrInvalidTransition, ev.Kind, ev.From, ev.To)
	}
	return nil
}

// eventAllowed is the lifecycle as seen by events: which event may take an
// order from its status to the event's target, with the payload it needs.
func eventAllowed(o *Order, ev *Event) bool {
	s, to := o.Status, ev.To
	switch ev.Kind {
	case EventCreated:
		return s == StatusNone && to == StatusDraft && ev.Draft != nil && checkID("order id", string(ev.Order)) == nil
	case EventRevised:
		return allowed(s, CmdRevise) && to == StatusDraft && ev.Draft != nil
	case EventQuoted:
		return s == StatusDraft && to == StatusQuoted && len(ev.Lines) == len(o.Lines)
	case EventQuoteExpired:
		return s == StatusQuoted && to == StatusExpired
	case EventAccepted:
		return s == StatusQuoted && to == StatusAccepted
	case EventActivationStarted:
		return s == StatusAccepted && to == StatusActivating && len(ev.Tasks) > 0 &&
			slices.IsSortedFunc(ev.Tasks, func(a, b Task) int { return strings.Compare(string(a.ID), string(b.ID)) })
	case EventTaskCompleted, EventTaskFailed, EventTaskRetried:
		return s == StatusActivating && to == StatusActivating && o.taskIndex(ev.Task) >= 0
	case EventActivated:
		return s == StatusActivating && to == StatusActive && o.pendingTasks() == 0
	case EventSuspended:
		return s == StatusActive && to == StatusSuspended
	case EventResumed:
		return s == StatusSuspended && to == StatusActive
	case EventChanged:
		return s == StatusActive && to == StatusActive && ev.Change != nil
	case EventCancellationScheduled:
		return (s == StatusActive || s == StatusSuspended) && to == s && ev.Cancellation != nil && o.Cancellation == nil
	case EventCancellationRevoked:
		return (s == StatusActive || s == StatusSuspended) && to == s && o.Cancellation != nil
	case EventCancelled:
		return allowed(s, CmdCancel) && to == StatusCancelled && ev.Cancellation != nil
	case EventTerminated:
		return allowed(s, CmdTerminate) && to == StatusTerminated && ev.Cancellation != nil
	}
	return false
}

// addLine adds a line and opens its first segment, recorded at instant at,
// keeping lines sorted by ID and segments by line then start.
func (o *Order) addLine(ch *Change, seq int, at time.Time) {
	l := Line{ID: ch.Line, Pin: ch.Pin, Quantity: ch.Quantity, AddOns: cloneAddOns(ch.AddOns), Terms: ch.Terms.activated(ch.EffectiveAt)}
	if ch.Discount != nil {
		l.Discount = cloneDiscount(*ch.Discount)
	}
	i, _ := slices.BinarySearchFunc(o.Lines, l.ID, func(x Line, id LineID) int { return strings.Compare(string(x.ID), string(id)) })
	o.Lines = slices.Insert(o.Lines, i, l)
	var end, endRecorded time.Time
	if o.Cancellation != nil {
		end, endRecorded = o.Cancellation.EffectiveAt, at
	}
	seg := Segment{ID: segmentID(l.ID, seq), Line: l.ID, Start: ch.EffectiveAt, End: end, Cause: EventChanged, Change: ChangeAddLine,
		Pin: l.Pin, Quantity: l.Quantity, AddOns: cloneAddOns(l.AddOns), Discount: l.Discount.Ratio, DiscountCharges: slices.Clone(l.Discount.Charges), Terms: l.Terms,
		Recorded: at, EndRecorded: endRecorded}
	j := slices.IndexFunc(o.Segments, func(s Segment) bool { return s.Line > l.ID })
	if j < 0 {
		j = len(o.Segments)
	}
	o.Segments = slices.Insert(o.Segments, j, seg)
}

// activated records the line's activation at as its own anchor, when it
// has one and left it zero.
func (t LineTerms) activated(at time.Time) LineTerms {
	if t.OwnAnchor && t.Anchor.IsZero() {
		t.Anchor = at
	}
	return t
}

// stopLine ends one line's segments at t, recorded at instant at, as
// stopSegments does for all.
func (o *Order) stopLine(id LineID, t, at time.Time) {
	n := len(o.Segments)
	if i := slices.IndexFunc(o.Segments, func(s Segment) bool { return s.Line == id }); i >= 0 && !o.Segments[i].Start.Before(t) {
		o.removed(id, o.Segments[i].Start, at)
	}
	o.Segments = slices.DeleteFunc(o.Segments, func(s Segment) bool { return s.Line == id && !s.Start.Before(t) })
	dropped := len(o.Segments) < n
	for i := range o.Segments {
		s := &o.Segments[i]
		if s.Line != id {
			continue
		}
		if s.End.IsZero() || s.End.After(t) {
			s.End, s.EndRecorded = t, at
		} else if last := i+1 == len(o.Segments) || o.Segments[i+1].Line != id; last && dropped {
			s.EndRecorded = at // it ends at t as it did, but what followed is gone
		}
	}
	if len(o.Segments) == 0 {
		o.Segments = nil
	}
}

// removed records that line id, whose first segment started at start,
// loses every segment to an event recorded at instant at (see Removal),
// keeping Removed sorted by line.
func (o *Order) removed(id LineID, start, at time.Time) {
	i, _ := slices.BinarySearchFunc(o.Removed, id, func(r Removal, id LineID) int { return strings.Compare(string(r.Line), string(id)) })
	o.Removed = slices.Insert(o.Removed, i, Removal{Line: id, Start: start, Recorded: at})
}
