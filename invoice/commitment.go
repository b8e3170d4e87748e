package invoice

import (
	"cmp"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/shopspring/decimal"
)

// CommitmentScope limits a minimum commitment (Commitment.Scope) to part of
// its subscription, in the identifiers its lines carry: the offers, items
// and charges whose lines count toward the minimum. Each list given
// narrows the lines counted; a line counts when it matches every list
// given (its offer is one of Offers, its item one of Items, its charge one
// of Charges). The zero scope counts every line, as a commitment without a
// scope does. So a monthly minimum spend on engineering is Offers:
// ["engineering"]. (Lago's minimum commitment is the whole plan's and its
// spending minimum one charge's; Stripe scopes a billing credit to a list
// of prices, applicability_config.scope.prices; a scope here lists
// offers, items or charges, the identifiers an invoice line carries.)
//
// The scope chooses the lines counted, nothing else: a scoped commitment
// runs, as an unscoped one does, from the subscription's activation to its
// end (its cycles, proration, the usage runs are given, restarts after the
// end and back-dated changes are the same), so a cycle the scope bills
// nothing in (engineering stopped, the desktops going on) owes the whole
// minimum. A contract whose minimum ends with the scope drops the
// commitment from the subscription before the next run (true-ups already
// billed are not recomputed).
//
// A true-up of a scoped commitment is attributed to what it tops up: the
// offer (Line.Pin) of the first item, by ID, holding the scope in the
// cycle (an item's offer or an add-on's; when none does, the first to hold
// it at all), and, when that offer has one charge in the scope, that
// charge (Line.Charge), so that a settlement plan paying the scope's lines
// (by offer, or by a rule on offer.charge) pays the true-up too; the line
// says the scope it tops up (Line.CommitmentScope) and its description
// names it. A scope over several offers is attributed to the first item's:
// name one offer to be sure of the plan.
//
// Each entry must name something the subscription holds: an offer one of
// its items (of Items, when given) pins or adds on in some segment, one of
// its items, a charge of such an offer (of Offers, when given). One that
// does not is a *ScopeError wrapping ErrScopeUnmatched at
// subscriptions[i].commitment.scope.<field>[k], from Validate and Build,
// rather than a minimum no line can meet; an empty or repeated entry is
// ErrRequired or ErrDuplicate.
type CommitmentScope struct {
	// Offers limits the lines counted to those of these offers (an
	// item's or an add-on's: Line.Pin.Offer).
	Offers []catalog.OfferID `json:"offers,omitempty"`
	// Items limits them to the lines of these items (Line.Item).
	Items []ItemID `json:"items,omitempty"`
	// Charges limits them to the lines of these charges (Line.Charge).
	Charges []catalog.ChargeID `json:"charges,omitempty"`
}

// IsZero reports whether the scope is the whole subscription.
func (sc CommitmentScope) IsZero() bool {
	return len(sc.Offers) == 0 && len(sc.Items) == 0 && len(sc.Charges) == 0
}

// String names the scope as its lists give it, such as "offers
// engineering; charges hours", or "subscription" for the zero scope.
func (sc CommitmentScope) String() string {
	var parts []string
	add := func(field string, n int, at func(int) string) {
		if n == 0 {
			return
		}
		names := make([]string, n)
		for k := range n {
			names[k] = at(k)
		}
		parts = append(parts, field+" "+strings.Join(names, ", "))
	}
	add("offers", len(sc.Offers), func(k int) string { return string(sc.Offers[k]) })
	add("items", len(sc.Items), func(k int) string { return string(sc.Items[k]) })
	add("charges", len(sc.Charges), func(k int) string { return string(sc.Charges[k]) })
	if len(parts) == 0 {
		return "subscription"
	}
	return strings.Join(parts, "; ")
}

// clone returns a copy of the scope that shares nothing with it, or nil
// for the zero scope.
func (sc CommitmentScope) clone() *CommitmentScope {
	if sc.IsZero() {
		return nil
	}
	return &CommitmentScope{Offers: slices.Clone(sc.Offers), Items: slices.Clone(sc.Items), Charges: slices.Clone(sc.Charges)}
}

// counts reports whether line l counts toward a commitment of this scope.
func (sc *CommitmentScope) counts(l *Line) bool {
	return (len(sc.Offers) == 0 || slices.Contains(sc.Offers, l.Pin.Offer)) &&
		(len(sc.Items) == 0 || slices.Contains(sc.Items, l.Item)) &&
		(len(sc.Charges) == 0 || slices.Contains(sc.Charges, l.Charge))
}

// holds reports whether item it holding offer p holds the scope: p and it
// are in its lists, and p's offer has a charge in it (oi nil: the catalog
// lacks p, reported elsewhere).
func (sc *CommitmentScope) holds(it *Item, p catalog.Pin, oi *offerInfo) bool {
	if (len(sc.Offers) > 0 && !slices.Contains(sc.Offers, p.Offer)) || (len(sc.Items) > 0 && !slices.Contains(sc.Items, it.ID)) {
		return false
	}
	return len(sc.Charges) == 0 || (oi != nil && slices.ContainsFunc(oi.charges, func(c *chargeInfo) bool { return slices.Contains(sc.Charges, c.id) }))
}

// charge returns the one charge of offer oi in the scope, or "" when it has
// none or several.
func (sc *CommitmentScope) charge(oi *offerInfo) catalog.ChargeID {
	if oi == nil {
		return ""
	}
	var one catalog.ChargeID
	for _, c := range oi.charges {
		if len(sc.Charges) > 0 && !slices.Contains(sc.Charges, c.id) {
			continue
		}
		if one != "" {
			return ""
		}
		one = c.id
	}
	return one
}

// ErrScopeUnmatched reports a minimum commitment's scope entry naming
// nothing the subscription holds (see CommitmentScope): an offer no item
// pins or adds on, an item it lacks, a charge of none of its offers. A
// *ScopeError wraps it; it matches ErrUnknown too.
var ErrScopeUnmatched = fmt.Errorf("%w: commitment scope names nothing the subscription holds", ErrUnknown)

// ScopeError reports an entry of a minimum commitment's scope that cannot
// be billed, naming the subscription, the field and the entry. It arrives
// inside the *ensemble.ValidationError of Build and Validate, at
// subscriptions[i].commitment.scope.<field>[k], and wraps its condition
// (ErrScopeUnmatched).
type ScopeError struct {
	// Subscription names the subscription.
	Subscription SubscriptionID
	// Field is the offending field: "offers[k]", "items[k]" or
	// "charges[k]" of commitment.scope.
	Field string
	// Value is the entry, cut to 64 bytes.
	Value string
	// Detail says what the subscription holds instead; it may be empty.
	Detail string
	// Err is the condition.
	Err error
}

// Error writes `invoice: subscription "s": commitment.scope.<field>:
// <condition>: "<value>" (<detail>)`.
func (e *ScopeError) Error() string {
	v := e.Value
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	msg := fmt.Sprintf("invoice: subscription %q: commitment.scope.%s: %v: %q", e.Subscription, e.Field, e.Err, v)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap returns the condition.
func (e *ScopeError) Unwrap() error { return e.Err }

// validateScope checks that every entry of the subscription's commitment
// scope names something it holds (see CommitmentScope).
func (b *Builder) validateScope(ps *ensemble.Problems, at func() string, s *Subscription) {
	if s.Commitment == nil || s.Commitment.Scope.IsZero() {
		return
	}
	sc := &s.Commitment.Scope
	path := func(field string, k int) string { return ensemble.Path(at()+".commitment.scope."+field, k) }
	unmatched := func(field string, k int, v, detail string) {
		ps.Add(path(field, k), &ScopeError{Subscription: s.ID, Field: ensemble.Path(field, k), Value: v, Detail: detail, Err: ErrScopeUnmatched})
	}
	// What the subscription holds, of the items and offers the scope
	// allows: offers pinned or added on, and their charges.
	var offers []string
	holdsOffer := map[catalog.OfferID]bool{}
	holdsCharge := map[catalog.ChargeID]bool{}
	for j := range s.Items {
		it := &s.Items[j]
		if len(sc.Items) > 0 && !slices.Contains(sc.Items, it.ID) {
			continue
		}
		for _, sg := range it.Segments {
			for _, p := range append([]catalog.Pin{sg.Pin}, addOnPins(sg.AddOns)...) {
				if !holdsOffer[p.Offer] {
					offers = append(offers, string(p.Offer))
				}
				holdsOffer[p.Offer] = true
				if oi := b.offers[p]; oi != nil && (len(sc.Offers) == 0 || slices.Contains(sc.Offers, p.Offer)) {
					for _, c := range oi.charges {
						holdsCharge[c.id] = true
					}
				}
			}
		}
	}
	entries := func(field string, n int, at func(int) string, held func(int) bool, detail string) {
		seen := make(map[string]bool, n)
		for k := range n {
			v := at(k)
			switch {
			case v == "":
				ps.Add(path(field, k), ErrRequired)
			case seen[v]:
				ps.Add(path(field, k), bad(ErrDuplicate, "%q", v))
			case !held(k):
				unmatched(field, k, v, detail)
			}
			seen[v] = true
		}
	}
	held := "its items hold offers " + strings.Join(offers, ", ")
	if len(sc.Items) > 0 {
		held = "the items of the scope hold offers " + strings.Join(offers, ", ")
	}
	entries("offers", len(sc.Offers), func(k int) string { return string(sc.Offers[k]) },
		func(k int) bool { return holdsOffer[sc.Offers[k]] }, held)
	entries("items", len(sc.Items), func(k int) string { return string(sc.Items[k]) },
		func(k int) bool {
			return slices.ContainsFunc(s.Items, func(it Item) bool { return it.ID == sc.Items[k] })
		}, "not an item of the subscription")
	entries("charges", len(sc.Charges), func(k int) string { return string(sc.Charges[k]) },
		func(k int) bool { return holdsCharge[sc.Charges[k]] }, "no offer of the scope has it")
}

// trueUpPin returns what a true-up of cycle piece [s, e) is attributed to:
// for the whole subscription, the first item (by ID) in service then (see
// firstPin); for a scope, the first item holding it then (else the first
// holding it in any segment, one a cancellation cut off too), its offer and the one charge of the offer in the
// scope, if one. ok is false when nothing is found.
func (g *gen) trueUpPin(sc *CommitmentScope, s, e time.Time) (p catalog.Pin, ch catalog.ChargeID, attr []ensemble.Ref, ok bool) {
	if sc == nil {
		p, attr, ok = g.firstPin(s, e)
		return p, "", attr, ok
	}
	for _, anyTime := range []bool{false, true} {
		var best *Item
		var found Segment
		for j := range g.s.Items {
			it := &g.s.Items[j]
			if best != nil && it.ID >= best.ID {
				continue
			}
			segs := it.Segments // at any time: those the cancellation cut off too
			if !anyTime {
				segs = g.segments(it)
			}
			for _, sg := range segs {
				if !anyTime && (!sg.Start.Before(e) || (!sg.End.IsZero() && !sg.End.After(s))) {
					continue
				}
				if hp, held := g.scopePin(sc, it, &sg); held {
					best, found, p = it, sg, hp
					break
				}
			}
		}
		if best != nil {
			return p, sc.charge(g.b.offerIn(p, g.cur)), attribution(best, &found), true
		}
	}
	return catalog.Pin{}, "", nil, false
}

// scopePin returns the pin of segment sg of item it that holds the scope:
// its own, else its first add-on's that does.
func (g *gen) scopePin(sc *CommitmentScope, it *Item, sg *Segment) (catalog.Pin, bool) {
	if sc.holds(it, sg.Pin, g.b.offerIn(sg.Pin, g.cur)) {
		return sg.Pin, true
	}
	for _, a := range sg.AddOns {
		if sc.holds(it, a.Pin, g.b.offerIn(a.Pin, g.cur)) {
			return a.Pin, true
		}
	}
	return catalog.Pin{}, false
}

// trueUpLine returns the true-up of amount for cycle c of the minimum
// commitment min, over the piece [s, e) of it the subscription is in
// service (from and to its fractions of c), dated e; act, stop and open
// are the subscription's span (see span).
func (g *gen) trueUpLine(c ensemble.Period, s, e time.Time, from, to ensemble.Ratio, min, amount ensemble.Money, scope *CommitmentScope, act, stop time.Time, open bool) Line {
	l := Line{
		ID:           trueUpID(g.s.ID, c),
		Kind:         KindCommitmentTrueUp,
		Subscription: g.s.ID,
		Customer:     g.s.Customer.ID,
		Date:         e,
		Description:  "Minimum commitment true-up",
		Cycle:        c,
		Period:       ensemble.Period{Start: s, End: e},
		Quantity:     decimal.NewFromInt(1),
		Full:         min,
		Currency:     g.cur,
		Amount:       amount,
		Discount:     ensemble.MoneyFromMinor(0, g.cur),
		Refs:         []ensemble.Ref{{Kind: RefCommitment, ID: string(g.s.ID)}},
	}
	if scope != nil {
		l.Description += " (" + scope.String() + ")"
		l.CommitmentScope = g.s.Commitment.Scope.clone()
	}
	if p, ch, attr, ok := g.trueUpPin(scope, s, e); ok {
		l.Pin, l.Charge = p, ch
		l.Refs = append(append(l.Refs, p.Ref()), attr...)
	} else if p, attr, ok := g.firstPin(act, stop.Add(1)); ok || open {
		// Every item paused through the cycle: the first item's offer.
		if !ok {
			p, attr, _ = g.firstPin(act, g.limit)
		}
		l.Pin = p
		l.Refs = append(append(l.Refs, p.Ref()), attr...)
	}
	if !from.IsZero() || !to.Equal(ratioOne) {
		l.Proration = g.proration(min, from, to)
	}
	return l
}

// trueUpID is the ID of the true-up of cycle c of subscription s; an
// adjustment of it is "<that>/<run instant>".
func trueUpID(s SubscriptionID, c ensemble.Period) LineID {
	return LineID(string(s) + "/commitment/" + fmtTime(c.Start))
}

// isTrueUpAdjustment reports whether true-up line l adjusts a cycle's
// true-up an earlier run billed (see lateTrueUps).
func isTrueUpAdjustment(l *Line) bool {
	if l.Kind != KindCommitmentTrueUp {
		return false
	}
	i := strings.LastIndex(string(l.ID), "/commitment/")
	return i >= 0 && strings.Contains(string(l.ID[i+len("/commitment/"):]), "/")
}

// fixedDiscountIDs returns the IDs of s's fixed-amount discounts (its own
// and its items'): a line earlier runs billed took them at the invoice,
// after the minimum commitment counted it.
func fixedDiscountIDs(s *Subscription) map[DiscountID]bool {
	var out map[DiscountID]bool
	add := func(ds []Discount) {
		for k := range ds {
			if !ds[k].Amount.IsZero() {
				if out == nil {
					out = map[DiscountID]bool{}
				}
				out[ds[k].ID] = true
			}
		}
	}
	add(s.Discounts)
	for j := range s.Items {
		add(s.Items[j].Discounts)
	}
	return out
}

// countedNet is what line l, as a run billed it, counted toward its
// cycle's minimum commitment: its amount less its discounts but fixed
// ones (taken after the commitment counted it), plus what was billed of
// it progressively.
func (g *gen) countedNet(l *Line, fixed map[DiscountID]bool) ensemble.Money {
	net := l.Amount
	for _, d := range l.Discounts {
		if d.Percent.IsZero() && fixed[d.ID] {
			continue
		}
		net = g.sub(net, d.Amount)
	}
	if l.Usage != nil && !l.Usage.BilledNet.IsZero() {
		net = g.add(net, l.Usage.BilledNet)
	}
	return net
}

// billedSpend returns what the lines of Run.Billed whose service starts in
// cycle c count toward its minimum commitment (of scope, nil: the whole
// subscription): only the usage adjustments when adjustOnly, the other
// lines of the cycle being recomputed by the run. A line a reversal in
// Run.Billed reverses does not count, nor do its proration credits (the
// line billed anew for it does).
func (g *gen) billedSpend(c ensemble.Period, scope *CommitmentScope, fixed map[DiscountID]bool, adjustOnly bool, took *discountSums) ensemble.Money {
	spent := ensemble.MoneyFromMinor(0, g.cur)
	var reversed map[LineID]bool
	for _, l := range g.billedSub {
		if l.Kind == KindReversal {
			if reversed == nil {
				reversed = map[LineID]bool{}
			}
			reversed[l.Credits] = true
		}
	}
	for _, l := range g.billedSub {
		if !c.Contains(l.Period.Start) || reversed[l.ID] || (l.Kind == KindProrationCredit && reversed[l.Credits]) || (scope != nil && !scope.counts(l)) {
			continue
		}
		if l.Kind == KindUsageAdjustment || (!adjustOnly && countsTowardMinimum(l.Kind)) {
			spent = g.add(spent, g.countedNet(l, fixed))
			if took != nil {
				took.add(g, l, fixed)
			}
		}
	}
	return spent
}

// discountSums are the discounts the lines a cycle counts toward its
// minimum commitment took, by discount id, in the order first met.
type discountSums []AppliedDiscount

// add adds the discounts line l took before the commitment counted it
// (fixed ones, taken at the invoice after it, left out: see countedNet).
func (ds *discountSums) add(g *gen, l *Line, fixed map[DiscountID]bool) {
	for _, d := range l.Discounts {
		if d.Amount.IsZero() || d.Percent.IsZero() && fixed[d.ID] {
			continue
		}
		if i := slices.IndexFunc(*ds, func(x AppliedDiscount) bool { return x.ID == d.ID }); i >= 0 {
			(*ds)[i].Amount = g.add((*ds)[i].Amount, d.Amount)
		} else {
			*ds = append(*ds, AppliedDiscount{ID: d.ID, Amount: d.Amount})
		}
	}
}

// recouped returns what a true-up of amount bills back of the discounts
// ds (Line.Recouped): min(amount, Σ ds) allocated over the discounts in
// proportion to what each took, by largest remainder keyed by discount
// id, listed by discount id; nil when they took nothing.
func (ds discountSums) recouped(g *gen, amount ensemble.Money) []AppliedDiscount {
	sum := ensemble.MoneyFromMinor(0, g.cur)
	var pos []AppliedDiscount
	for _, d := range ds {
		if d.Amount.IsPositive() { // given back on balance by corrections: nothing to bill back
			sum = g.add(sum, d.Amount)
			pos = append(pos, d)
		}
	}
	if !sum.IsPositive() || !amount.IsPositive() {
		return nil
	}
	total := sum
	if g.cmp(amount, total) < 0 {
		total = amount
	}
	slices.SortFunc(pos, func(a, b AppliedDiscount) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return g.allocateRecouped(total, pos)
}

// allocateRecouped allocates total over the discounts ds in proportion to
// their amounts (all of one sign), by largest remainder keyed by discount
// id, leaving out zero parts.
func (g *gen) allocateRecouped(total ensemble.Money, ds []AppliedDiscount) []AppliedDiscount {
	shares := make([]ensemble.Share, len(ds))
	for i, d := range ds {
		shares[i] = ensemble.Share{Key: string(d.ID), Weight: ensemble.RatioFromDecimal(d.Amount.Abs().Amount())}
	}
	parts, err := ensemble.Allocate(total, shares, ensemble.AllocateOptions{})
	if err != nil {
		g.ps.Add(g.subPath()+".commitment", err)
		return nil
	}
	var out []AppliedDiscount
	for i, d := range ds {
		if !parts[i].IsZero() {
			out = append(out, AppliedDiscount{ID: d.ID, Amount: parts[i]})
		}
	}
	return out
}

// lateTrueUps recomputes the true-up of every cycle of the minimum
// commitment whose true-up fell due by Run.After (an earlier run billed
// it, or found the minimum met) and whose spend the run changes: a usage
// adjustment the run bills counting toward the cycle (late usage of its
// periods, Run.Late, which a correction makes negative; a stretch's share
// of the spend bounds a back-dated restart revealed). The true-up billed
// is the sum of the cycle's true-up lines in Run.Billed; the spend it was
// billed against is the minimum less it when it is positive, else what
// the cycle's lines in Run.Billed count (usage adjustments included, lines
// reversed left out), which must then meet the minimum. The run bills,
// dated at the run, the true-up the cycle owes with the run's adjustments
// less the one billed: a credit of the excess (crediting the cycle's
// true-up, Line.Credits, and attributed as it was) or the true-up a
// correction makes owed. Run.Billed holding no line of the cycle, or lines
// short of the minimum and no true-up, fails the run with a *UsageError
// wrapping ErrBilledIncomplete rather than guess.
func (g *gen) lateTrueUps() {
	cm := g.s.Commitment
	if cm == nil || cm.Minimum.IsZero() {
		return
	}
	var scope *CommitmentScope
	if !cm.Scope.IsZero() {
		scope = &cm.Scope
	}
	act, stop, open := g.span()
	type cycleLate struct {
		c     ensemble.Period
		s, e  time.Time
		delta ensemble.Money
		lines []int
	}
	var cs []*cycleLate
	for i := range g.lines {
		l := &g.lines[i]
		if l.Kind != KindUsageAdjustment || (scope != nil && !scope.counts(l)) {
			continue
		}
		c, _, err := g.cad.PeriodAt(g.s.Anchor, l.Period.Start, g.loc)
		if err != nil {
			g.ps.Add(g.subPath()+".commitment", err)
			return
		}
		c = ensemble.Period{Start: c.Start.UTC(), End: c.End.UTC()}
		s, e := c.Start, c.End
		if act.After(s) {
			s = act
		}
		if !open && stop.Before(e) {
			e = stop
		}
		if !s.Before(e) || e.After(g.run.After) {
			continue // the run's true-up of the cycle counts it (commitment)
		}
		k := slices.IndexFunc(cs, func(x *cycleLate) bool { return x.c.Start.Equal(c.Start) })
		if k < 0 {
			cs = append(cs, &cycleLate{c: c, s: s, e: e, delta: ensemble.MoneyFromMinor(0, g.cur)})
			k = len(cs) - 1
		}
		cs[k].delta = g.add(cs[k].delta, g.sub(l.Amount, l.Discount))
		cs[k].lines = append(cs[k].lines, i)
	}
	slices.SortFunc(cs, func(a, b *cycleLate) int { return a.c.Start.Compare(b.c.Start) })
	min := ensemble.MoneyFromDecimal(cm.Minimum, g.cur)
	fixed := fixedDiscountIDs(g.s)
	zero := ensemble.MoneyFromMinor(0, g.cur)
	for _, cl := range cs {
		from, ok1 := g.frac(cl.c, cl.s)
		to, ok2 := g.frac(cl.c, cl.e)
		if !ok1 || !ok2 {
			return
		}
		owed := g.cum(min, from, to)
		id := trueUpID(g.s.ID, cl.c)
		var orig *Line
		has := false
		billedTrueUp := zero
		for _, l := range g.billedSub {
			switch {
			case l.Kind == KindCommitmentTrueUp && l.Cycle.Start.Equal(cl.c.Start):
				billedTrueUp = g.add(billedTrueUp, l.Amount)
				if l.ID == id {
					orig = l
				}
				has = true
			case cl.c.Contains(l.Period.Start) && countsTowardMinimum(l.Kind):
				has = true
			}
		}
		spent := g.billedSpend(cl.c, scope, fixed, false, nil)
		first := &g.lines[cl.lines[0]]
		fail := func(detail string) {
			it := g.s.Items[slices.IndexFunc(g.s.Items, func(it Item) bool { return it.ID == first.Item })]
			g.ps.Add(g.subPath()+".commitment", &UsageError{Line: usageRef(g.s, &it), Meter: first.Usage.Meter, Period: first.Usage.Period,
				Due: cl.e, Err: ErrBilledIncomplete, Detail: detail})
		}
		if !has {
			fail(fmt.Sprintf("its usage adjustment changes what the minimum commitment's cycle %s counts, whose true-up fell due at %s, and Run.Billed holds no line of the cycle: pass every line earlier runs issued for the cycle (its true-up %q and the lines starting in it, with their usage adjustments and reversals)",
				cl.c, fmtRFC(cl.e), id))
			continue
		}
		// What the cycle counted when its true-up was last billed: the
		// minimum less the true-up, when one stands (the true-up billed is
		// the authority, whatever changed since, such as a back-dated
		// change, whose catch-up does not recompute it); else what its
		// lines in Run.Billed count, which must meet the minimum.
		if billedTrueUp.IsPositive() {
			spent = g.sub(owed, billedTrueUp)
		} else if g.cmp(spent, owed) < 0 {
			fail(fmt.Sprintf("the lines of Run.Billed starting in the minimum commitment's cycle %s count %s toward its %s, and Run.Billed holds no true-up of it: pass every line earlier runs issued for the cycle (its true-up %q and the lines starting in it, with their usage adjustments and reversals)",
				cl.c, spent, owed, id))
			continue
		}
		now := g.add(spent, cl.delta)
		want := g.sub(owed, now)
		if want.IsNegative() {
			want = zero
		}
		diff := g.sub(want, billedTrueUp)
		if diff.IsZero() {
			continue
		}
		what := "late usage"
		if cl.delta.IsNegative() {
			what = "a usage correction"
		}
		if slices.ContainsFunc(cl.lines, func(i int) bool { return g.lines[i].Usage.Late == nil }) {
			what = "usage adjusted" // a stretch's share of the spend bounds, caught up
		}
		// A credit credits the cycle's true-up lines that stand, the
		// latest first, each at most what is left of it (its credits in
		// Run.Billed taken off), so settlement never credits a line more
		// than it paid; an increase is a sale attributed as the true-up.
		type part struct {
			of     *Line
			amount ensemble.Money
		}
		var parts []part
		if diff.IsNegative() {
			var ups []*Line
			for _, l := range g.billedSub {
				if l.Kind == KindCommitmentTrueUp && l.Cycle.Start.Equal(cl.c.Start) && l.Amount.IsPositive() {
					ups = append(ups, l)
				}
			}
			slices.SortFunc(ups, func(a, b *Line) int {
				return cmp.Or(b.Date.Compare(a.Date), strings.Compare(string(b.ID), string(a.ID)))
			})
			credit := g.sub(zero, diff)
			for _, u := range ups {
				left := u.Amount
				for _, c := range g.billedSub {
					if c.Credits == u.ID && c.Amount.IsNegative() {
						left = g.add(left, c.Amount)
					}
				}
				if !left.IsPositive() {
					continue
				}
				take := left
				if g.cmp(credit, take) < 0 {
					take = credit
				}
				parts = append(parts, part{u, g.sub(zero, take)})
				if credit = g.sub(credit, take); !credit.IsPositive() {
					break
				}
			}
		} else {
			parts = []part{{orig, diff}}
		}
		for k, pt := range parts {
			l := g.trueUpLine(cl.c, cl.s, cl.e, from, to, min, pt.amount, scope, act, stop, open)
			if of := cmp.Or(pt.of, orig); of != nil { // as the true-up it adjusts was attributed
				l.Pin, l.Charge = of.Pin, of.Charge
				l.Refs = append(slices.Clone(of.Refs), ensemble.Ref{Kind: RefLine, ID: string(of.ID)})
				if pt.amount.IsNegative() {
					l.Credits = of.ID
					l.Recouped = g.creditRecouped(of, pt.amount)
				}
			}
			l.ID = LineID(string(id) + "/" + fmtTime(g.run.At))
			if k > 0 {
				l.ID += LineID("/" + strconv.Itoa(k+1))
			}
			l.Date = g.run.At
			l.Description = fmt.Sprintf("Minimum commitment true-up adjustment (%s): the cycle's lines now net %s (%s before), %s of true-up billed, %s owed",
				what, now, spent, billedTrueUp, want)
			if scope != nil {
				l.Description += " (" + scope.String() + ")"
			}
			for _, i := range cl.lines {
				ll := &g.lines[i]
				l.Refs = append(l.Refs, ensemble.Ref{Kind: RefLine, ID: string(ll.ID)}, ll.Usage.Ref)
				if ll.Usage.Late != nil {
					l.Refs = append(l.Refs, *ll.Usage.Late)
				}
			}
			slices.SortFunc(l.Refs, ensemble.Ref.Compare)
			l.Refs = slices.Compact(l.Refs)
			*g.next() = l
		}
	}
}

// creditRecouped returns what a credit of amount (negative) of true-up of
// gives back of what of bills back of the cycle's discounts
// (Line.Recouped): their sum in proportion, amount / of.Amount (half to
// even), allocated over them as of recouped them (negative), nil when of
// recoups none.
func (g *gen) creditRecouped(of *Line, amount ensemble.Money) []AppliedDiscount {
	if len(of.Recouped) == 0 || !of.Amount.IsPositive() {
		return nil
	}
	sum := ensemble.MoneyFromMinor(0, g.cur)
	for _, d := range of.Recouped {
		sum = g.add(sum, d.Amount)
	}
	total := sum.MulRatio(ensemble.RatioFromRat(new(big.Rat).Quo(amount.Amount().Rat(), of.Amount.Amount().Rat())), ensemble.RoundHalfEven)
	if total.IsZero() {
		return nil
	}
	return g.allocateRecouped(total, of.Recouped)
}
