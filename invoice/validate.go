package invoice

import (
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
)

// Validate reports every problem of run and subs at once as an
// *ensemble.ValidationError (subject "invoice run"), with paths such as
// subscriptions[2].items[0].segments[1].quantity: IDs empty, malformed or
// duplicated; segments out of order or overlapping; pins the catalog lacks
// or in another currency; negative quantities; add-ons that do not attach;
// discounts with neither or both of percent and amount, or out of range;
// unknown time zones; usage for unknown lines. Build calls it first.
func (b *Builder) Validate(run Run, subs []Subscription) error {
	var ps ensemble.Problems
	b.validate(&ps, run, subs)
	return ps.Err("invoice run")
}

func (b *Builder) validate(ps *ensemble.Problems, run Run, subs []Subscription) map[usage.LineRef][2]int {
	if run.At.IsZero() {
		ps.Add("run.at", ErrRequired)
	} else if !run.After.IsZero() && !run.After.Before(run.At) {
		ps.Add("run.after", bad(ErrOrder, "%s is not before %s", run.After.Format(time.RFC3339Nano), run.At.Format(time.RFC3339Nano)))
	}
	if run.Basis != nil && *run.Basis > ensemble.ProrateThirtyDayMonth {
		ps.Add("run.basis", bad(ErrInvalid, "%d", *run.Basis))
	}
	refs := map[usage.LineRef][2]int{}
	seen := map[SubscriptionID]bool{}
	for i := range subs {
		s := &subs[i]
		at := ensemble.Path("subscriptions", i)
		if err := validID(string(s.ID)); err != nil {
			ps.Add(at+".id", err)
		} else if seen[s.ID] {
			ps.Add(at+".id", bad(ErrDuplicate, "%q", s.ID))
		}
		seen[s.ID] = true
		if s.Customer.ID == "" {
			ps.Add(at+".customer.id", ErrRequired)
		}
		if s.Currency.IsZero() {
			ps.Add(at+".currency", ErrRequired)
		}
		if s.Anchor.IsZero() {
			ps.Add(at+".anchor", ErrRequired)
		}
		if _, err := loadZone(s.TimeZone); err != nil {
			ps.Add(at+".time_zone", err)
		}
		if s.Cadence != (ensemble.Cadence{}) {
			if err := s.Cadence.Validate(); err != nil {
				ps.Add(at+".cadence", err)
			}
		}
		discountIDs := map[DiscountID]bool{}
		b.validateDiscounts(ps, at+".discounts", s, s.Discounts, discountIDs)
		if len(s.Items) == 0 {
			ps.Add(at+".items", ErrRequired)
		}
		items := map[ItemID]bool{}
		for j := range s.Items {
			it := &s.Items[j]
			ia := ensemble.Path(at, "items", j)
			if err := validID(string(it.ID)); err != nil {
				ps.Add(ia+".id", err)
			} else if items[it.ID] {
				ps.Add(ia+".id", bad(ErrDuplicate, "%q", it.ID))
			}
			items[it.ID] = true
			ref := usageRef(s, it)
			if _, dup := refs[ref]; dup {
				ps.Add(ia+".usage_line", bad(ErrDuplicate, "%q", ref))
			}
			refs[ref] = [2]int{i, j}
			if it.PartnerDiscount.Sign() < 0 || it.PartnerDiscount.Cmp(ensemble.RatioFromInt(1)) > 0 {
				ps.Add(ia+".partner_discount", bad(ErrInvalid, "%s", it.PartnerDiscount))
			}
			itemIDs := map[DiscountID]bool{}
			for k := range discountIDs {
				itemIDs[k] = true
			}
			b.validateDiscounts(ps, ia+".discounts", s, it.Discounts, itemIDs)
			b.validateSegments(ps, ia, s, it)
		}
		if s.Commitment != nil && s.Commitment.Minimum.Sign() < 0 {
			ps.Add(at+".commitment.minimum", bad(ErrNegative, "%s", s.Commitment.Minimum))
		}
		credits := map[CreditID]bool{}
		for k, c := range s.Credits {
			ca := ensemble.Path(at, "credits", k)
			if c.ID == "" {
				ps.Add(ca+".id", ErrRequired)
			} else if credits[c.ID] {
				ps.Add(ca+".id", bad(ErrDuplicate, "%q", c.ID))
			}
			credits[c.ID] = true
			if c.Balance.Sign() < 0 {
				ps.Add(ca+".balance", bad(ErrNegative, "%s", c.Balance))
			} else if !ensemble.MoneyFromDecimal(c.Balance, s.Currency).IsRounded() {
				ps.Add(ca+".balance", bad(ErrInvalid, "%s is not whole minor units", c.Balance))
			}
		}
	}
	for k, g := range run.Usage {
		if _, ok := refs[g.Line]; !ok {
			ps.Add(ensemble.Path("run", "usage", k, "line"), bad(ErrUnknown, "usage line %q", g.Line))
		}
		if g.Late {
			ps.Add(ensemble.Path("run", "usage", k, "late"), bad(ErrInvalid, "late aggregate belongs in run.late"))
		}
	}
	for k, l := range run.Late {
		if _, ok := refs[l.Billed.Line]; !ok {
			ps.Add(ensemble.Path("run", "late", k, "billed", "line"), bad(ErrUnknown, "usage line %q", l.Billed.Line))
		}
		if _, err := l.Billed.Merge(l.Late); err != nil {
			ps.Add(ensemble.Path("run", "late", k, "late"), err)
		}
	}
	return refs
}

func usageRef(s *Subscription, it *Item) usage.LineRef {
	if it.UsageLine != "" {
		return it.UsageLine
	}
	return usage.LineRef(string(s.ID) + "/" + string(it.ID))
}

func (b *Builder) validateSegments(ps *ensemble.Problems, ia string, s *Subscription, it *Item) {
	if len(it.Segments) == 0 {
		ps.Add(ia+".segments", ErrRequired)
	}
	var prevEnd time.Time
	for k := range it.Segments {
		sg := &it.Segments[k]
		sa := ensemble.Path(ia, "segments", k)
		switch {
		case sg.Start.IsZero():
			ps.Add(sa+".start", ErrRequired)
		case k > 0 && prevEnd.IsZero():
			ps.Add(ensemble.Path(ia, "segments", k-1, "end"), bad(ErrOrder, "only the last segment may be open"))
		case k > 0 && sg.Start.Before(prevEnd):
			ps.Add(sa+".start", bad(ErrOrder, "%s overlaps the previous segment", sg.Start.Format(time.RFC3339Nano)))
		}
		if !sg.End.IsZero() && !sg.End.After(sg.Start) {
			ps.Add(sa+".end", bad(ErrOrder, "%s is not after the start", sg.End.Format(time.RFC3339Nano)))
		}
		prevEnd = sg.End
		checkQty := func(path string, q decimal.Decimal) bool {
			if q.Sign() < 0 {
				ps.Add(path, bad(ErrNegative, "%s", q))
				return false
			}
			return true
		}
		oi, ok := b.offers[sg.Pin]
		if !ok {
			ps.Add(sa+".pin", bad(ErrUnknown, "offer %s", sg.Pin))
		} else if oi.currency != s.Currency {
			ps.Add(sa+".pin", bad(ErrCurrency, "offer %s is in %s", sg.Pin, oi.currency))
		}
		if checkQty(sa+".quantity", sg.Quantity) && ok {
			if err := b.cat.CheckQuantity(sg.Pin, sg.Quantity); err != nil {
				ps.Add(sa+".quantity", err)
			}
		}
		addOns := map[string]bool{}
		for m, a := range sg.AddOns {
			aa := ensemble.Path(sa, "add_ons", m)
			ao, aok := b.offers[a.Pin]
			switch {
			case !aok:
				ps.Add(aa+".pin", bad(ErrUnknown, "offer %s", a.Pin))
			case ao.currency != s.Currency:
				ps.Add(aa+".pin", bad(ErrCurrency, "offer %s is in %s", a.Pin, ao.currency))
			case addOns[string(a.Pin.Offer)] || (ok && a.Pin.Offer == sg.Pin.Offer):
				ps.Add(aa+".pin", bad(ErrDuplicate, "offer %q", a.Pin.Offer))
			}
			addOns[string(a.Pin.Offer)] = true
			if checkQty(aa+".quantity", a.Quantity) && aok && ok {
				if err := b.cat.CheckAttach(a.Pin, sg.Pin, a.Quantity); err != nil {
					ps.Add(aa, err)
				}
			}
		}
	}
}

func (b *Builder) validateDiscounts(ps *ensemble.Problems, at string, s *Subscription, ds []Discount, ids map[DiscountID]bool) {
	one := ensemble.RatioFromInt(1)
	for k := range ds {
		d := &ds[k]
		da := ensemble.Path(at, k)
		if err := validID(string(d.ID)); err != nil {
			ps.Add(da+".id", err)
		} else if ids[d.ID] || d.ID == partnerDiscount {
			ps.Add(da+".id", bad(ErrDuplicate, "%q", d.ID))
		}
		ids[d.ID] = true
		hasP, hasA := !d.Percent.IsZero(), !d.Amount.IsZero()
		switch {
		case hasP == hasA:
			ps.Add(da, bad(ErrInvalid, "discount %q needs exactly one of percent and amount", d.ID))
		case hasP && (d.Percent.Sign() < 0 || d.Percent.Cmp(one) > 0):
			ps.Add(da+".percent", bad(ErrInvalid, "%s is outside (0, 100%%]", d.Percent))
		case hasA && d.Amount.Sign() < 0:
			ps.Add(da+".amount", bad(ErrNegative, "%s", d.Amount))
		case hasA && !ensemble.MoneyFromDecimal(d.Amount, s.Currency).IsRounded():
			ps.Add(da+".amount", bad(ErrInvalid, "%s is not whole minor units", d.Amount))
		}
		switch {
		case d.Duration > Repeating:
			ps.Add(da+".duration", bad(ErrInvalid, "%d", d.Duration))
		case d.Duration == Repeating && (d.Cycles < 1 || d.Cycles > ensemble.MaxCadenceCount):
			ps.Add(da+".cycles", bad(ErrInvalid, "%d", d.Cycles))
		case d.Duration != Repeating && d.Cycles != 0:
			ps.Add(da+".cycles", bad(ErrInvalid, "cycles %d without a repeating duration", d.Cycles))
		}
	}
}
