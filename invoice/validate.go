package invoice

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
)

// Validate reports every problem of run and subs at once as an
// *ensemble.ValidationError (subject "invoice run"), with paths such as
// subscriptions[2].items[0].segments[1].quantity: IDs empty, malformed or
// duplicated; segments out of order or overlapping; pins the catalog lacks
// or in another currency; negative quantities; add-ons that do not attach;
// discounts with neither or both of percent and amount, or out of range,
// or whose duration cannot be billed (ErrDiscountDuration);
// discounts limited to charges the offers they reach lack
// (*DiscountScopeError wrapping ErrDiscountCharge);
// unknown time zones; usage for unknown lines; a line given twice in
// Run.Billed (ErrDuplicate at run.billed[k].id); a reverse-charge customer
// in the country the tax table's Seller is established in
// (ErrReverseChargeDomestic). Build calls it first.
func (b *Builder) Validate(run Run, subs []Subscription) error {
	var ps ensemble.Problems
	b.validate(&ps, run, subs)
	return ps.Err("invoice run")
}

func (b *Builder) validate(ps *ensemble.Problems, run Run, subs []Subscription) *lineRefs {
	if run.At.IsZero() {
		ps.Add("run.at", ErrRequired)
	} else if !run.After.IsZero() && !run.After.Before(run.At) {
		ps.Add("run.after", bad(ErrOrder, "%s is not before %s", run.After.Format(time.RFC3339Nano), run.At.Format(time.RFC3339Nano)))
	}
	if run.Basis != nil && !run.Basis.Valid() {
		ps.Add("run.basis", bad(ErrInvalid, "%d", *run.Basis))
	}
	// A pair may have several rates, each from its Since on (the run takes
	// the one in force at At); one Since twice is ambiguous.
	type since struct {
		from, to ensemble.Currency
		at       time.Time
	}
	pairs := make(map[since]bool, len(run.Rates))
	for k, r := range run.Rates {
		key := since{r.From, r.To, r.Since.UTC()}
		if err := r.Check(); err != nil {
			ps.Add(ensemble.Path("run", "rates", k), err)
		} else if pairs[key] {
			ps.Add(ensemble.Path("run", "rates", k), &ensemble.RateError{From: r.From, To: r.To, At: r.Since, Value: "given twice", Err: ensemble.ErrRate})
		}
		pairs[key] = true
	}
	refs := lineRefs{subs: subs, byID: make(map[SubscriptionID]int, len(subs))}
	for i := range subs {
		s := &subs[i]
		at := func() string { return ensemble.Path("subscriptions", i) }
		if err := validID(string(s.ID)); err != nil {
			ps.Add(at()+".id", err)
		} else if _, dup := refs.byID[s.ID]; dup {
			ps.Add(at()+".id", bad(ErrDuplicate, "%q", s.ID))
		} else {
			refs.byID[s.ID] = i
		}
		checkSubDecimals(ps, at, s)
		if s.Customer.ID == "" {
			ps.Add(at()+".customer.id", ErrRequired)
		}
		b.checkReverseCharge(ps, at, &s.Customer)
		if s.Currency.IsZero() {
			ps.Add(at()+".currency", ErrRequired)
		}
		if s.Anchor.IsZero() {
			ps.Add(at()+".anchor", ErrRequired)
		}
		if s.CancelAt.IsZero() && !s.CancelRecorded.IsZero() {
			ps.Add(at()+".cancel_recorded", bad(ErrInvalid, "%s without a cancel_at", s.CancelRecorded.Format(time.RFC3339Nano)))
		}
		if _, err := loadZone(s.TimeZone); err != nil {
			ps.Add(at()+".time_zone", err)
		}
		if s.Cadence != (ensemble.Cadence{}) {
			if err := s.Cadence.Validate(); err != nil {
				ps.Add(at()+".cadence", err)
			}
		}
		var discountIDs map[DiscountID]bool
		if len(s.Discounts) > 0 {
			discountIDs = map[DiscountID]bool{}
		}
		b.validateDiscounts(ps, func() string { return at() + ".discounts" }, s, s.Discounts, discountIDs)
		b.validateDiscountCharges(ps, func() string { return at() + ".discounts" }, s, nil, s.Discounts, run.Billed)
		if len(s.Items) == 0 && len(s.Removed) == 0 {
			ps.Add(at()+".items", ErrRequired)
		}
		validateRemoved(ps, at, s)
		items := map[ItemID]bool{}
		for j := range s.Items {
			it := &s.Items[j]
			ia := func() string { return ensemble.Path(at(), "items", j) }
			if err := validID(string(it.ID)); err != nil {
				ps.Add(ia()+".id", err)
			} else if items[it.ID] {
				ps.Add(ia()+".id", bad(ErrDuplicate, "%q", it.ID))
			}
			items[it.ID] = true
			if !refs.add(s, it, [2]int{i, j}) {
				ps.Add(ia()+".usage_line", bad(ErrDuplicate, "%q", usageRef(s, it)))
			}
			if !it.PartnerDiscount.IsZero() && (it.PartnerDiscount.Sign() < 0 || it.PartnerDiscount.Cmp(ratioOne) > 0) {
				ps.Add(ia()+".partner_discount", bad(ErrInvalid, "%s", it.PartnerDiscount))
			}
			var itemIDs map[DiscountID]bool
			if len(it.Discounts) > 0 {
				itemIDs = map[DiscountID]bool{}
				for k := range discountIDs {
					itemIDs[k] = true
				}
			}
			b.validateDiscounts(ps, func() string { return ia() + ".discounts" }, s, it.Discounts, itemIDs)
			b.validateDiscountCharges(ps, func() string { return ia() + ".discounts" }, s, it, it.Discounts, run.Billed)
			b.validateSegmentCharges(ps, ia, s, it)
			b.validateSegments(ps, ia, s, it)
			b.validateTerms(ps, ia, s, it)
			b.validateThresholds(ps, ia, s, it)
		}
		validateTerm(ps, at, s, "", s.Term)
		if s.Commitment != nil && s.Commitment.Minimum.Sign() < 0 {
			ps.Add(at()+".commitment.minimum", bad(ErrNegative, "%s", s.Commitment.Minimum))
		}
		if s.Commitment != nil {
			checkAmountCurrency(ps, at()+".commitment.currency", "minimum", s.Commitment.Currency, s.Currency)
		}
		b.validateScope(ps, at, s)
		b.validatePrepaid(ps, at, s, run)
		credits := map[CreditID]bool{}
		if len(s.Credits) == 0 {
			credits = nil
		}
		for k, c := range s.Credits {
			ca := func() string { return ensemble.Path(at(), "credits", k) }
			if c.ID == "" {
				ps.Add(ca()+".id", ErrRequired)
			} else if credits[c.ID] {
				ps.Add(ca()+".id", bad(ErrDuplicate, "%q", c.ID))
			}
			credits[c.ID] = true
			if c.Balance.Sign() < 0 {
				ps.Add(ca()+".balance", bad(ErrNegative, "%s", c.Balance))
			} else if inRange(c.Balance) && !ensemble.MoneyFromDecimal(c.Balance, s.Currency).IsRounded() {
				ps.Add(ca()+".balance", bad(ErrInvalid, "%s is not whole minor units", c.Balance))
			}
		}
	}
	type aggKey struct {
		line  usage.LineRef
		meter usage.MeterID
		start int64
	}
	seenAgg := make(map[aggKey]bool, len(run.Usage))
	for k, g := range run.Usage {
		key := aggKey{g.Line, g.Meter, g.Period.Start.UnixNano()}
		if seenAgg[key] {
			ps.Add(ensemble.Path("run", "usage", k), bad(ErrDuplicate, "usage of line %q meter %q for %s given twice", g.Line, g.Meter, g.Period))
		}
		seenAgg[key] = true
		checkDecimal(ps, func() string { return ensemble.Path("run", "usage", k, "value") }, g.Value)
		if _, ok := refs.find(g.Line); !ok {
			ps.Add(ensemble.Path("run", "usage", k, "line"), bad(ErrUnknown, "usage line %q", g.Line))
		}
		if g.Late {
			ps.Add(ensemble.Path("run", "usage", k, "late"), bad(ErrInvalid, "late aggregate belongs in run.late"))
		}
	}
	for k, p := range run.Progressive {
		pa := func(f ...any) string { return ensemble.Path(append([]any{"run", "progressive", k}, f...)...) }
		u, bl := p.Usage, p.Billed
		key := aggKey{u.Line, u.Meter, u.Period.Start.UnixNano()}
		if seenAgg[key] {
			ps.Add(pa(), bad(ErrDuplicate, "usage of line %q meter %q for %s given twice", u.Line, u.Meter, u.Period))
		}
		seenAgg[key] = true
		checkDecimal(ps, func() string { return pa("usage", "value") }, u.Value)
		checkDecimal(ps, func() string { return pa("billed", "value") }, bl.Value)
		if u.Late || bl.Late {
			ps.Add(pa(), bad(ErrInvalid, "late aggregate belongs in run.late"))
		}
		at, ok := refs.find(u.Line)
		if !ok {
			ps.Add(pa("usage", "line"), bad(ErrUnknown, "usage line %q", u.Line))
		} else if it := &subs[at[0]].Items[at[1]]; !slices.ContainsFunc(it.Thresholds, func(th UsageThreshold) bool { return th.Meter == u.Meter }) {
			ps.Add(pa("usage", "meter"), bad(ErrInvalid, "item %q bills meter %q with no threshold", it.ID, u.Meter))
		}
		if bl.Records != 0 || !bl.Value.IsZero() {
			switch {
			case bl.Line != u.Line || bl.Meter != u.Meter || !bl.Period.Equal(u.Period):
				ps.Add(pa("billed"), bad(ErrInvalid, "billed usage of line %q meter %q for %s, not the usage's", bl.Line, bl.Meter, bl.Period))
			case inRange(bl.Value) && inRange(u.Value) && bl.Value.GreaterThan(u.Value):
				ps.Add(pa("billed", "value"), bad(ErrOrder, "billed %s is more than the usage %s", bl.Value, u.Value))
			}
		}
	}
	// Each billed line once: a line given twice would be counted twice
	// (its credit notes twice, a proration or late discount's credit split
	// over it twice), and a repeat that differs cannot be told from the
	// line.
	if len(run.Billed) > 1 {
		firstBilled := make(map[LineID]int, len(run.Billed))
		for k := range run.Billed {
			id := run.Billed[k].ID
			if first, dup := firstBilled[id]; dup {
				ps.Add(ensemble.Path("run", "billed", k, "id"), because(ErrDuplicate, "line %q is billed[%d] too: give each line once", id, first))
				continue
			}
			firstBilled[id] = k
		}
	}
	seenLate := map[aggKey]map[usage.Digest]bool{}
	for k, l := range run.Late {
		key := aggKey{l.Billed.Line, l.Billed.Meter, l.Billed.Period.Start.UnixNano()}
		if seenLate[key][l.Late.Digest] {
			ps.Add(ensemble.Path("run", "late", k), bad(ErrDuplicate, "late usage of line %q meter %q for %s given twice", l.Billed.Line, l.Billed.Meter, l.Billed.Period))
		} else if seenLate[key] == nil {
			seenLate[key] = map[usage.Digest]bool{}
		}
		seenLate[key][l.Late.Digest] = true
		checkDecimal(ps, func() string { return ensemble.Path("run", "late", k, "billed", "value") }, l.Billed.Value)
		checkDecimal(ps, func() string { return ensemble.Path("run", "late", k, "late", "value") }, l.Late.Value)
		if _, ok := refs.find(l.Billed.Line); !ok {
			ps.Add(ensemble.Path("run", "late", k, "billed", "line"), bad(ErrUnknown, "usage line %q", l.Billed.Line))
		}
		if _, err := l.Billed.Merge(l.Late); err != nil {
			ps.Add(ensemble.Path("run", "late", k, "late"), err)
		}
	}
	return &refs
}

// lineRefs finds the item a usage line reference names: a custom
// Item.UsageLine, or "subscription/item" (found without building the
// string, since IDs hold no '/').
type lineRefs struct {
	subs   []Subscription
	byID   map[SubscriptionID]int
	custom map[usage.LineRef][2]int
}

// add records the item's custom reference and reports false if it is
// taken. Default references are unique when subscription and item IDs are.
func (r *lineRefs) add(s *Subscription, it *Item, at [2]int) bool {
	if it.UsageLine == "" {
		return true
	}
	if _, dup := r.find(it.UsageLine); dup {
		return false
	}
	if r.custom == nil {
		r.custom = map[usage.LineRef][2]int{}
	}
	r.custom[it.UsageLine] = at
	return true
}

func (r *lineRefs) find(ref usage.LineRef) ([2]int, bool) {
	if at, ok := r.custom[ref]; ok {
		return at, true
	}
	sub, item, ok := strings.Cut(string(ref), "/")
	if !ok {
		return [2]int{}, false
	}
	i, ok := r.byID[SubscriptionID(sub)]
	if !ok {
		return [2]int{}, false
	}
	for j := range r.subs[i].Items {
		if it := &r.subs[i].Items[j]; string(it.ID) == item && it.UsageLine == "" {
			return [2]int{i, j}, true
		}
	}
	return [2]int{}, false
}

func usageRef(s *Subscription, it *Item) usage.LineRef {
	if it.UsageLine != "" {
		return it.UsageLine
	}
	return usage.LineRef(string(s.ID) + "/" + string(it.ID))
}

func (b *Builder) validateSegments(ps *ensemble.Problems, ia func() string, s *Subscription, it *Item) {
	if len(it.Segments) == 0 {
		ps.Add(ia()+".segments", ErrRequired)
	}
	var prevEnd time.Time
	for k := range it.Segments {
		sg := &it.Segments[k]
		sa := func() string { return ensemble.Path(ia(), "segments", k) }
		switch {
		case sg.Start.IsZero():
			ps.Add(sa()+".start", ErrRequired)
		case k > 0 && prevEnd.IsZero():
			ps.Add(ensemble.Path(ia(), "segments", k-1, "end"), bad(ErrOrder, "only the last segment may be open"))
		case k > 0 && sg.Start.Before(prevEnd):
			ps.Add(sa()+".start", bad(ErrOrder, "%s overlaps the previous segment", sg.Start.Format(time.RFC3339Nano)))
		}
		if !sg.End.IsZero() && !sg.End.After(sg.Start) {
			ps.Add(sa()+".end", bad(ErrOrder, "%s is not after the start", sg.End.Format(time.RFC3339Nano)))
		}
		if sg.End.IsZero() && !sg.EndRecorded.IsZero() {
			ps.Add(sa()+".end_recorded", bad(ErrInvalid, "%s: an open segment's end was never recorded", sg.EndRecorded.Format(time.RFC3339Nano)))
		}
		prevEnd = sg.End
		if !sg.Discount.IsZero() && (sg.Discount.Sign() < 0 || sg.Discount.Cmp(ratioOne) > 0) {
			ps.Add(sa()+".discount", bad(ErrInvalid, "%s", sg.Discount))
		}
		checkQty := func(path func() string, q decimal.Decimal) bool {
			if !inRange(q) {
				return false // reported by checkSubDecimals
			}
			if q.Sign() < 0 {
				ps.Add(path()+".quantity", bad(ErrNegative, "%s", q))
				return false
			}
			return true
		}
		_, ok := b.offers[sg.Pin]
		if !ok {
			ps.Add(sa()+".pin", bad(ErrUnknown, "offer %s", sg.Pin))
		} else if err := b.pricedIn(sg.Pin, s.Currency); err != nil {
			ps.Add(sa()+".pin", err)
		}
		if checkQty(sa, sg.Quantity) && ok {
			if err := b.cat.CheckQuantity(sg.Pin, sg.Quantity); err != nil {
				ps.Add(sa()+".quantity", err)
			}
		}
		addOns := map[string]bool{}
		for m, a := range sg.AddOns {
			aa := func() string { return ensemble.Path(sa(), "add_ons", m) }
			_, aok := b.offers[a.Pin]
			switch {
			case !aok:
				ps.Add(aa()+".pin", bad(ErrUnknown, "offer %s", a.Pin))
			case b.pricedIn(a.Pin, s.Currency) != nil:
				ps.Add(aa()+".pin", b.pricedIn(a.Pin, s.Currency))
			case addOns[string(a.Pin.Offer)] || (ok && a.Pin.Offer == sg.Pin.Offer):
				ps.Add(aa()+".pin", bad(ErrDuplicate, "offer %q", a.Pin.Offer))
			}
			addOns[string(a.Pin.Offer)] = true
			if checkQty(aa, a.Quantity) && aok && ok {
				if err := b.cat.CheckAttach(a.Pin, sg.Pin, a.Quantity); err != nil {
					ps.Add(aa(), err)
				}
			}
		}
	}
}

func (b *Builder) validateDiscounts(ps *ensemble.Problems, at func() string, s *Subscription, ds []Discount, ids map[DiscountID]bool) {
	one := ratioOne
	for k := range ds {
		d := &ds[k]
		da := func() string { return ensemble.Path(at(), k) }
		if err := validID(string(d.ID)); err != nil {
			ps.Add(da()+".id", err)
		} else if ids[d.ID] || d.ID == partnerDiscount || d.ID == lineDiscount || d.ID == creditedDiscount {
			ps.Add(da()+".id", bad(ErrDuplicate, "%q", d.ID))
		}
		ids[d.ID] = true
		hasP, hasA := !d.Percent.IsZero(), !d.Amount.IsZero()
		switch {
		case hasP == hasA:
			ps.Add(da(), bad(ErrInvalid, "discount %q needs exactly one of percent and amount", d.ID))
		case hasP && (d.Percent.Sign() < 0 || d.Percent.Cmp(one) > 0):
			ps.Add(da()+".percent", bad(ErrInvalid, "%s is outside (0, 100%%]", d.Percent))
		case hasA && d.Amount.Sign() < 0:
			ps.Add(da()+".amount", bad(ErrNegative, "%s", d.Amount))
		case hasA && inRange(d.Amount) && !ensemble.MoneyFromDecimal(d.Amount, s.Currency).IsRounded():
			ps.Add(da()+".amount", bad(ErrInvalid, "%s is not whole minor units", d.Amount))
		}
		checkAmountCurrency(ps, da()+".currency", "discount", d.Currency, s.Currency)
		validateDuration(ps, da, d)
	}
}

// validateDuration reports a discount's duration that cannot be billed
// (see ErrDiscountDuration).
func validateDuration(ps *ensemble.Problems, da func() string, d *Discount) {
	hasLength := d.Length != (ensemble.Cadence{})
	switch {
	case d.Duration > Repeating:
		ps.Add(da()+".duration", bad(ErrInvalid, "%d", d.Duration))
	case d.Duration != Repeating && d.Cycles != 0:
		ps.Add(da()+".cycles", bad(ErrDiscountDuration, "cycles %d without a repeating duration", d.Cycles))
	case d.Duration != Repeating && hasLength:
		ps.Add(da()+".length", bad(ErrDiscountDuration, "length %s without a repeating duration", d.Length))
	case d.Duration != Repeating:
	case hasLength && d.Cycles != 0:
		ps.Add(da(), bad(ErrDiscountDuration, "discount %q has both cycles (%d) and a length (%s): count it one way", d.ID, d.Cycles, d.Length))
	case hasLength:
		if err := d.Length.Validate(); err != nil {
			ps.Add(da()+".length", because(ErrDiscountDuration, "%v", err))
		}
	case d.Cycles < 1 || d.Cycles > ensemble.MaxCadenceCount:
		ps.Add(da()+".cycles", bad(ErrDiscountDuration, "%d is outside [1, %d] and no length is set", d.Cycles, ensemble.MaxCadenceCount))
	}
}

// validateTerms checks an item's own anchor and term: a term needs a valid
// length (a renewal alone is no term), and the cycles of every cadence the
// item bills on must be reachable from its anchor.
func (b *Builder) validateTerms(ps *ensemble.Problems, ia func() string, s *Subscription, it *Item) {
	validateTerm(ps, ia, s, it.ID, it.Term)
	termErr := func(field string, err error, format string, args ...any) {
		ps.Add(ia()+"."+field, &TermError{Subscription: s.ID, Item: it.ID, Field: field, Value: fmt.Sprintf(format, args...), Err: err})
	}
	if it.Anchor.IsZero() || len(it.Segments) == 0 || it.Segments[0].Start.IsZero() {
		return
	}
	loc, err := loadZone(s.TimeZone)
	if err != nil {
		return // reported with the subscription
	}
	// Every cadence the item's recurring and usage charges bill on.
	var seen [8]ensemble.Cadence
	cads := seen[:0]
	for _, sg := range it.Segments {
		pins := append([]catalog.Pin{sg.Pin}, addOnPins(sg.AddOns)...)
		for _, pin := range pins {
			oi, ok := b.offers[pin]
			if !ok {
				continue // reported with the segment
			}
			for _, ch := range oi.charges {
				if ch.typ == catalog.OneTime {
					continue
				}
				cad := ch.cadence
				if cad == (ensemble.Cadence{}) {
					cad = cadenceOf(s)
				}
				if !slices.Contains(cads, cad) {
					cads = append(cads, cad)
				}
			}
		}
	}
	first, last := it.Segments[0].Start, it.Segments[len(it.Segments)-1].End
	if last.IsZero() {
		last = it.Segments[len(it.Segments)-1].Start
	}
	for _, cad := range cads {
		for _, x := range [...]time.Time{first, last} {
			if _, _, err := cad.PeriodAt(it.Anchor, x, loc); err != nil {
				termErr("anchor", ErrInvalid, "%s: %v", it.Anchor.Format(time.RFC3339), err)
				return
			}
		}
	}
}

func addOnPins(as []AddOn) []catalog.Pin {
	out := make([]catalog.Pin, len(as))
	for i, a := range as {
		out[i] = a.Pin
	}
	return out
}

// validateThresholds checks an item's usage thresholds: one per meter, a
// positive amount in whole minor units, and a meter one of the item's usage
// charges bills at a price that can be billed progressively (not volume).
func (b *Builder) validateThresholds(ps *ensemble.Problems, ia func() string, s *Subscription, it *Item) {
	seen := map[usage.MeterID]bool{}
	for k, th := range it.Thresholds {
		ta := func() string { return ensemble.Path(ia(), "thresholds", k) }
		if th.Meter == "" {
			ps.Add(ta()+".meter", ErrRequired)
		} else if seen[th.Meter] {
			ps.Add(ta()+".meter", bad(ErrDuplicate, "item %q meter %q", it.ID, th.Meter))
		}
		seen[th.Meter] = true
		switch {
		case !th.Amount.IsPositive():
			ps.Add(ta()+".amount", bad(ErrInvalid, "item %q meter %q: threshold %s is not positive", it.ID, th.Meter, th.Amount))
		case inRange(th.Amount) && !ensemble.MoneyFromDecimal(th.Amount, s.Currency).IsRounded():
			ps.Add(ta()+".amount", bad(ErrInvalid, "item %q meter %q: threshold %s is not whole minor units", it.ID, th.Meter, th.Amount))
		}
		billed := false
		for _, sg := range it.Segments {
			for _, pin := range append([]catalog.Pin{sg.Pin}, addOnPins(sg.AddOns)...) {
				oi, ok := b.offers[pin]
				if !ok {
					continue
				}
				for _, ch := range oi.charges {
					if ch.typ != catalog.Usage || ch.meter != string(th.Meter) {
						continue
					}
					billed = true
					if ch.model == catalog.Volume {
						ps.Add(ta()+".meter", bad(ErrInvalid, "item %q meter %q: %s prices it by volume, which cannot be billed progressively", it.ID, th.Meter, pin))
						return
					}
				}
			}
		}
		if !billed && th.Meter != "" {
			ps.Add(ta()+".meter", bad(ErrUnknown, "item %q has no usage charge for meter %q", it.ID, th.Meter))
		}
	}
}

// validateTerm checks a contract term, an item's (item set) or the
// subscription's, under the path at gives: a term needs a valid length (a
// renewal or a fee alone is no term), and its early-termination fee a
// positive amount in whole minor units (fixed, declining), a percent in
// (0, 100%] (remaining value) or periods (order.CheckTerminationPeriods),
// and nothing a rule does not read.
func validateTerm(ps *ensemble.Problems, at func() string, s *Subscription, item ItemID, t Term) {
	termErr := func(field string, err error, format string, args ...any) {
		ps.Add(at()+"."+field, &TermError{Subscription: s.ID, Item: item, Field: field, Value: fmt.Sprintf(format, args...), Err: err})
	}
	if !t.IsZero() {
		if t.Length == (ensemble.Cadence{}) {
			termErr("term.length", ErrRequired, "a term that renews or has a fee needs a length")
		} else if err := t.Length.Validate(); err != nil {
			termErr("term.length", ErrInvalid, "%v", err)
		}
	}
	if et := t.EarlyTermination; et != nil {
		const f = "term.early_termination"
		switch et.Rule {
		case TerminationFixed, TerminationDeclining:
			switch {
			case !et.Amount.IsPositive():
				termErr(f+".amount", ErrInvalid, "a %s fee needs a positive amount, not %s", et.Rule, et.Amount)
			case inRange(et.Amount) && !ensemble.MoneyFromDecimal(et.Amount, s.Currency).IsRounded():
				termErr(f+".amount", ErrInvalid, "%s is not whole minor units", et.Amount)
			}
			if !et.Percent.IsZero() {
				termErr(f+".percent", ErrInvalid, "a %s fee takes no percent", et.Rule)
			}
		case TerminationRemaining:
			if !et.Amount.IsZero() {
				termErr(f+".amount", ErrInvalid, "a remaining-value fee takes no amount")
			}
			if et.Percent.Sign() < 0 || et.Percent.Cmp(ratioOne) > 0 {
				termErr(f+".percent", ErrInvalid, "%s is outside (0, 100%%]", et.Percent)
			}
		case TerminationPeriods:
			if !et.Amount.IsZero() {
				termErr(f+".amount", ErrInvalid, "a periods fee takes no amount, only periods")
			}
			if !et.Percent.IsZero() {
				termErr(f+".percent", ErrInvalid, "a periods fee takes no percent")
			}
			if err := order.CheckTerminationPeriods(et.Periods); err != nil {
				termErr(f+".periods", ErrInvalid, "%v", err)
			}
		default:
			termErr(f+".rule", ErrInvalid, "%s", et.Rule)
		}
		if et.Rule != TerminationPeriods {
			if et.Periods != (ensemble.Cadence{}) {
				termErr(f+".periods", ErrInvalid, "a %s fee takes no periods", et.Rule)
			}
			if et.CapAtRemaining {
				termErr(f+".cap_at_remaining", ErrInvalid, "only a periods fee is capped at the remaining value")
			}
		}
	}
}

// checkReverseCharge refuses a reverse-charge customer whose region is in
// the country the seller is established in (TaxTable.Seller), when the
// table declares it: reverse charge is for cross-border supplies only.
func (b *Builder) checkReverseCharge(ps *ensemble.Problems, at func() string, c *Customer) {
	seller := b.opts.Taxes.Seller
	if seller == "" || !c.ReverseCharge || c.Region == "" {
		return
	}
	sellerCountry, _, _ := strings.Cut(seller, "-")
	country, _, _ := strings.Cut(c.Region, "-")
	if !strings.EqualFold(country, sellerCountry) {
		return
	}
	ps.Add(at()+".customer", because(ErrReverseChargeDomestic,
		"customer %q (region %q) is in %q, the country the seller is established in (taxes.seller %q): reverse charge applies to cross-border supplies only; charge the customer's tax (clear reverse_charge) or correct its region",
		c.ID, c.Region, strings.ToUpper(country), seller))
}

// pricedIn reports whether the offer pinned (which the catalog holds) is
// priced in cur: nil if so. An offer priced in one currency says which, as
// before price books; one with further currencies wraps the catalog's
// *CurrencyError, which names them all. Both wrap ErrCurrency.
func (b *Builder) pricedIn(p catalog.Pin, cur ensemble.Currency) error {
	oi := b.offers[p]
	if b.offerIn(p, cur) != nil {
		return nil
	}
	if len(oi.books) == 0 {
		return bad(ErrCurrency, "offer %s is in %s", p, oi.currency)
	}
	_, err := b.cat.PricedIn(p, cur.Key())
	return fmt.Errorf("%w: %w", ErrCurrency, err)
}
