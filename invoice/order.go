package invoice

import (
	"fmt"
	"slices"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/usage"
)

// FromOrder is the invoice's view of an order: a Subscription whose items are
// the order's lines, whose segments are the order's segments (pin, quantity,
// add-ons and discount over [start, end)), with the order's billing anchor
// and time zone and its customer's tax treatment. Every invoice line traces
// to the order (order.RefOrder, the subscription's Refs) and to an order
// line: an item's lines to its own and to the segment in force when their
// service starts (order.RefOrderLine, order.RefSegment); the lines of the
// subscription as a whole (a prepaid commitment's purchase and breakage, a
// minimum commitment's true-up, the order term's fee) to the line their
// offer is attributed to (see Line.Pin) and its segment then. A line with terms of its own
// (order.LineTerms, read from its segments) becomes an item with its own
// Anchor (under OwnAnchor; the line's activation when none was recorded)
// and Term, with the term's early-termination fee; the order's own Term,
// with its fee, becomes the subscription's Term, so an order ended inside
// its term bills the fee once (see Subscription.Term). Each item's usage
// line is
// order.Order.LineRef, the reference usage records carry. A cancellation ends
// the subscription where the order says its lines stop. Each segment
// records when the event that opened it, and the one that ended it, were
// recorded (Segment.Recorded, Segment.EndRecorded), so a run after a change
// back-dated into a billed period catches it up (see Run.Billed).
//
// A line removed back to its start (order.Removal) keeps no segment: it
// is no item, but one of the subscription's Removed, so a run reverses
// what earlier runs billed of it; an order all of whose lines were removed
// so (cancelled back to its activation) has Removed and no Items.
//
// An order that was never activated (no segments, nothing removed) or has
// no currency yet is an error: there is nothing to bill.
func FromOrder(o order.Order) (Subscription, error) {
	if len(o.Segments) == 0 && len(o.Removed) == 0 {
		return Subscription{}, fmt.Errorf("invoice: order %q has no segments: it was never activated", o.ID)
	}
	cur, err := ensemble.ParseCurrency(o.Currency)
	if err != nil {
		return Subscription{}, fmt.Errorf("invoice: order %q: %w", o.ID, err)
	}
	region := o.Customer.Country
	if o.Customer.Region != "" {
		region = o.Customer.Region
	}
	sub := Subscription{
		ID: SubscriptionID(o.ID),
		Customer: Customer{
			ID:            CustomerID(o.Customer.ID),
			Region:        region,
			TaxExempt:     o.Customer.TaxStatus == order.TaxExempt,
			ReverseCharge: o.Customer.TaxStatus == order.ReverseCharge,
		},
		Currency: cur,
		Refs:     []ensemble.Ref{o.ID.Ref()},
		Anchor:   o.Billing.Anchor,
		TimeZone: o.Billing.TimeZone,
		Cadence:  o.Billing.Cadence,
	}
	if stop, ok := o.StopsAt(); ok {
		sub.CancelAt = stop
	}
	sub.Term = o.Term
	seen := map[order.LineID]bool{}
	for _, s := range o.Segments { // sorted by line, then start
		if !seen[s.Line] {
			seen[s.Line] = true
			it := Item{ID: ItemID(s.Line), UsageLine: usage.LineRef(o.LineRef(s.Line)), Refs: []ensemble.Ref{o.Ref(s.Line)}}
			it.Term = s.Terms.Term
			if s.Terms.OwnAnchor {
				it.Anchor = s.Terms.Anchor
				if it.Anchor.IsZero() {
					it.Anchor = s.Start // the line's activation
				}
			}
			sub.Items = append(sub.Items, it)
		}
		item := &sub.Items[len(sub.Items)-1]
		seg := Segment{Start: s.Start, End: s.End, Pin: s.Pin, Quantity: s.Quantity, Discount: s.Discount, DiscountCharges: slices.Clone(s.DiscountCharges), Refs: []ensemble.Ref{o.SegmentRef(s.ID)},
			Recorded: s.Recorded, EndRecorded: s.EndRecorded}
		for _, a := range s.AddOns {
			seg.AddOns = append(seg.AddOns, AddOn{Pin: a.Pin, Quantity: a.Quantity})
		}
		item.Segments = append(item.Segments, seg)
	}
	for _, r := range o.Removed {
		sub.Removed = append(sub.Removed, Removal{Item: ItemID(r.Line), Start: r.Start, Recorded: r.Recorded})
	}
	return sub, nil
}
