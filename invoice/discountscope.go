package invoice

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// ErrDiscountCharge reports a discount limited to a charge (Discount.Charges,
// Segment.DiscountCharges) that none of the offers it reaches has, which
// would take nothing. A *DiscountScopeError wraps it; it matches ErrUnknown
// too.
var ErrDiscountCharge = fmt.Errorf("%w: discount names a charge its offers lack", ErrUnknown)

// ErrDiscountOffer reports a discount limited to an offer (Discount.Offer)
// that it does not reach: for a subscription's discount, an offer none of
// the subscription's items holds in any segment, as its base offer or as
// an add-on; for an item's, one the item never holds. Such a discount
// would take nothing (a misspelt offer billed the customer in full,
// without a word). A *DiscountScopeError wraps it; it matches ErrUnknown
// too.
var ErrDiscountOffer = fmt.Errorf("%w: discount names an offer it does not reach", ErrUnknown)

// DiscountScopeError reports what a discount is limited to that it does
// not reach: a charge the offers it reaches lack (ErrDiscountCharge), or
// an offer its subscription or item never holds (ErrDiscountOffer). It
// names the subscription, the item (for an item's or a segment's
// discount), the discount and the charge or offer. It arrives inside the
// *ensemble.ValidationError of Build and Validate, at
// ...discounts[k].charges[m], ...segments[n].discount_charges[m] or
// ...discounts[k].offer, and wraps its condition.
type DiscountScopeError struct {
	// Subscription names the subscription.
	Subscription SubscriptionID
	// Item names the item whose discount (or segment's discount) it is;
	// empty for a subscription's discount.
	Item ItemID
	// Discount names the discount ("line" for a segment's).
	Discount DiscountID
	// Charge is the charge named, cut to 64 bytes (ErrDiscountCharge);
	// empty for an offer.
	Charge string
	// Offer is the offer named (ErrDiscountOffer); empty for a charge.
	Offer catalog.OfferID
	// Held lists, for an offer, the offers the discount reaches (those
	// its subscription's items, or its item, hold in some segment, base
	// offers and add-ons), sorted; Error suggests the nearest of them
	// (differing only by case, or within a typo: ensemble.Nearest).
	Held []catalog.OfferID
	// Detail says what the offers it reaches have instead; it may be
	// empty.
	Detail string
	// Err is the condition.
	Err error
}

// Error writes `invoice: subscription "s"[, item "i"]: discount "d":
// <condition>: "<charge or offer>" (<detail>)`; for an offer, the detail
// lists the offers held and the one probably meant ("did you mean").
func (e *DiscountScopeError) Error() string {
	v := e.Charge
	if e.Offer != "" {
		v = string(e.Offer)
	}
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	msg := fmt.Sprintf("invoice: subscription %q", e.Subscription)
	if e.Item != "" {
		msg += fmt.Sprintf(", item %q", e.Item)
	}
	msg += fmt.Sprintf(": discount %q: %v: %q", e.Discount, e.Err, v)
	detail := e.Detail
	if e.Offer != "" {
		held := make([]string, len(e.Held))
		quoted := make([]string, len(e.Held))
		for i, o := range e.Held {
			held[i], quoted[i] = string(o), quote(string(o))
		}
		whose := "the subscription"
		if e.Item != "" {
			whose = "the item"
		}
		detail = "offers " + whose + " holds: none"
		if len(held) > 0 {
			detail = "offers " + whose + " holds: " + strings.Join(quoted, ", ")
		}
		if near := ensemble.Nearest(string(e.Offer), held); len(near) > 0 {
			detail += fmt.Sprintf("; did you mean %q?", near[0])
		}
	}
	if detail != "" {
		msg += " (" + detail + ")"
	}
	return msg
}

// Unwrap returns the condition.
func (e *DiscountScopeError) Unwrap() error { return e.Err }

// heldCharges returns the charges of the offers (base offers and add-ons)
// the items hold in some segment, of offer o when o is set, and the IDs
// of those charges in the order first met (for an error's detail).
func (b *Builder) heldCharges(items []Item, o catalog.OfferID) (map[catalog.ChargeID]bool, []string) {
	held := map[catalog.ChargeID]bool{}
	var names []string
	for j := range items {
		for _, sg := range items[j].Segments {
			for _, p := range append([]catalog.Pin{sg.Pin}, addOnPins(sg.AddOns)...) {
				oi := b.offers[p]
				if oi == nil || (o != "" && p.Offer != o) {
					continue // an unknown pin is reported with its segment
				}
				for _, c := range oi.charges {
					if !held[c.id] {
						names = append(names, string(c.id))
					}
					held[c.id] = true
				}
			}
		}
	}
	return held, names
}

// validateCharges checks the charges a discount is limited to: none empty
// or repeated, and each one of held (see Discount.Charges).
func validateCharges(ps *ensemble.Problems, at func() string, s *Subscription, it ItemID, id DiscountID, cs []catalog.ChargeID,
	held map[catalog.ChargeID]bool, names []string, reach string) {
	seen := make(map[catalog.ChargeID]bool, len(cs))
	for m, c := range cs {
		switch {
		case c == "":
			ps.Add(ensemble.Path(at(), m), ErrRequired)
		case seen[c]:
			ps.Add(ensemble.Path(at(), m), bad(ErrDuplicate, "%q", c))
		case !held[c]:
			detail := "charges of " + reach + ": none"
			if len(names) > 0 {
				detail = "charges of " + reach + ": " + strings.Join(names, ", ")
			}
			ps.Add(ensemble.Path(at(), m), &DiscountScopeError{Subscription: s.ID, Item: it, Discount: id, Charge: string(c), Detail: detail, Err: ErrDiscountCharge})
		}
		seen[c] = true
	}
}

// heldOffers returns the offers the items hold in some segment, as base
// offers or add-ons, sorted.
func heldOffers(items []Item) []catalog.OfferID {
	var out []catalog.OfferID
	for j := range items {
		for _, sg := range items[j].Segments {
			out = append(out, sg.Pin.Offer)
			for _, a := range sg.AddOns {
				out = append(out, a.Pin.Offer)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// billedOffers returns the offers, with their charges, of the lines of
// subscription s (of item it, when set) that billed holds (Run.Billed):
// a discount may name an offer, or a charge, no item holds any more, once
// an item was removed (a Removal records no pin) or a segment was
// replaced back to its start, and the run bills its reversal.
func billedOffers(billed []Line, s *Subscription, it *Item) map[catalog.OfferID]map[catalog.ChargeID]bool {
	var out map[catalog.OfferID]map[catalog.ChargeID]bool
	for i := range billed {
		l := &billed[i]
		if l.Subscription != s.ID || l.Pin.Offer == "" || (it != nil && l.Item != it.ID) {
			continue
		}
		if out == nil {
			out = map[catalog.OfferID]map[catalog.ChargeID]bool{}
		}
		if out[l.Pin.Offer] == nil {
			out[l.Pin.Offer] = map[catalog.ChargeID]bool{}
		}
		if l.Charge != "" {
			out[l.Pin.Offer][l.Charge] = true
		}
	}
	return out
}

// validateDiscountCharges checks what the discounts ds (of item it, or the
// subscription's: nil) are limited to: the offer (Discount.Offer), one the
// subscription's items (or the item) hold in some segment or billed before
// (billed, Run.Billed), and the charges (Discount.Charges), of the offers
// the discount reaches, held or billed likewise.
func (b *Builder) validateDiscountCharges(ps *ensemble.Problems, at func() string, s *Subscription, it *Item, ds []Discount, billed []Line) {
	var offers []catalog.OfferID
	var before map[catalog.OfferID]map[catalog.ChargeID]bool
	for k := range ds {
		d := &ds[k]
		items, item, reach := s.Items, ItemID(""), "the subscription's offers"
		if it != nil {
			items, item, reach = []Item{*it}, it.ID, "the item's offers"
		}
		if offers == nil {
			offers = heldOffers(items)
		}
		// What Run.Billed holds of the subscription is read only when the
		// items do not hold what a discount names (a scan of every billed
		// line: rare, as after a removal).
		billedBefore := func() map[catalog.OfferID]map[catalog.ChargeID]bool {
			if before == nil {
				if before = billedOffers(billed, s, it); before == nil {
					before = map[catalog.OfferID]map[catalog.ChargeID]bool{}
				}
			}
			return before
		}
		if d.Offer != "" {
			if _, ok := slices.BinarySearch(offers, d.Offer); !ok && billedBefore()[d.Offer] == nil {
				ps.Add(ensemble.Path(at(), k)+".offer", &DiscountScopeError{Subscription: s.ID, Item: item, Discount: d.ID,
					Offer: d.Offer, Held: slices.Clone(offers), Err: ErrDiscountOffer})
				continue // its charges cannot be told apart from a typo
			}
			reach = "offer " + quote(string(d.Offer))
			if it != nil {
				reach += " of the item"
			}
		}
		if len(d.Charges) == 0 {
			continue
		}
		held, names := b.heldCharges(items, d.Offer)
		if slices.ContainsFunc(d.Charges, func(c catalog.ChargeID) bool { return !held[c] }) {
			for o, cs := range billedBefore() {
				if d.Offer == "" || o == d.Offer {
					for c := range cs {
						held[c] = true
					}
				}
			}
		}
		validateCharges(ps, func() string { return ensemble.Path(at(), k) + ".charges" }, s, item, d.ID, d.Charges, held, names, reach)
	}
}

// validateSegmentCharges checks the charges the item's partner discount
// and its segments' line discounts are limited to
// (Item.PartnerDiscountCharges, Segment.DiscountCharges): each a charge of
// an offer the item holds in some segment (a segment after an add-on was
// removed keeps the line's discount as the order agreed it), and only with
// a discount.
func (b *Builder) validateSegmentCharges(ps *ensemble.Problems, ia func() string, s *Subscription, it *Item) {
	var held map[catalog.ChargeID]bool
	var names []string
	if len(it.PartnerDiscountCharges) > 0 {
		at := func() string { return ia() + ".partner_discount_charges" }
		if it.PartnerDiscount.IsZero() {
			ps.Add(at(), bad(ErrInvalid, "charges %s without a partner discount", joinCharges(it.PartnerDiscountCharges)))
		} else {
			held, names = b.heldCharges([]Item{*it}, "")
			validateCharges(ps, at, s, it.ID, partnerDiscount, it.PartnerDiscountCharges, held, names, "the item's offers")
		}
	}
	for n := range it.Segments {
		sg := &it.Segments[n]
		if len(sg.DiscountCharges) == 0 {
			continue
		}
		at := func() string { return ensemble.Path(ia(), "segments", n) + ".discount_charges" }
		if sg.Discount.IsZero() {
			ps.Add(at(), bad(ErrInvalid, "charges %s without a discount", joinCharges(sg.DiscountCharges)))
			continue
		}
		if held == nil {
			held, names = b.heldCharges([]Item{*it}, "")
		}
		validateCharges(ps, at, s, it.ID, lineDiscount, sg.DiscountCharges, held, names, "the item's offers")
	}
}

func joinCharges(cs []catalog.ChargeID) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = quote(string(c))
	}
	return strings.Join(out, ", ")
}
