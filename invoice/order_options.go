package invoice

import (
	"github.com/ensemble-commerce/ensemble/order"
)

// OrderOptions configures FromOrderWith. The zero value converts as
// FromOrder does.
type OrderOptions struct {
	// SkipSuspended leaves the stretches the order was suspended out of its
	// segments, as pauses: nothing bills while suspended, and in-advance
	// lines are credited for the suspension and charged again on
	// resumption. By default suspended stretches bill like any other.
	SkipSuspended bool `json:"skip_suspended,omitempty"`
}

// FromOrderWith is FromOrder with options.
func FromOrderWith(o order.Order, opts OrderOptions) (Subscription, error) {
	s, err := FromOrder(o)
	if err != nil || !opts.SkipSuspended || len(o.Suspensions) == 0 {
		return s, err
	}
	items := s.Items[:0]
	for _, it := range s.Items {
		var segs []Segment
		for _, sg := range it.Segments {
			segs = append(segs, cutSuspensions(sg, o.Suspensions)...)
		}
		if len(segs) > 0 {
			it.Segments = segs
			items = append(items, it)
		}
	}
	s.Items = items
	return s, nil
}

// cutSuspensions returns the parts of seg outside every suspension.
func cutSuspensions(seg Segment, sus []order.Suspension) []Segment {
	parts := []Segment{seg}
	for _, x := range sus {
		var next []Segment
		for _, p := range parts {
			if p.Start.Before(x.From) { // the part before the suspension
				q := p
				if q.End.IsZero() || q.End.After(x.From) {
					q.End = x.From
				}
				next = append(next, q)
			}
			if !x.Until.IsZero() && (p.End.IsZero() || p.End.After(x.Until)) { // the part after
				q := p
				if q.Start.Before(x.Until) {
					q.Start = x.Until
				}
				next = append(next, q)
			}
		}
		parts = next
	}
	return parts
}
