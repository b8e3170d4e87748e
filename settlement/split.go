package settlement

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// The split of one sale line, as DESIGN.md's settlement model tells it.
// The plan's root receives the line's basis (net of tax, or gross); the
// line's supplier costs are paid out of it first. Then, level by level
// down the plan's tree, the node's amount is divided among its children:
// fixed amounts are taken first, ratios of the node's amount are divided
// by largest remainder (ties broken by node id, never by position), and
// the remaining child takes the rest; a cap or a floor moves the excess or
// the shortfall to and from the remaining child. Where the plan says a
// node funds some of the line's discounts, the root receives them too, so
// every share is of the line as if not discounted, and they come off that
// node's part alone (fundDiscounts). A leaf pays its party
// (or several parties, divided by weight), and part of an earning may be
// held back as a reserve until its release date.
//
// Who each child pays, whether its condition holds and what its share is
// make the level's decision, which the split asks the decider for
// (decider.go). This file never sees how decisions are worked out, kept
// or shared: it divides amounts and writes entries. run.settleSale
// (settle.go) runs it for a line: it picks the plan, pays the supplier
// costs, readies the decider for the line, walks the plan from its root
// and records what the line paid in its ledger.

// split is the split of one sale line: what it reads, and what it has
// paid so far.
type split struct {
	dec      *decider
	out      *[]Entry   // the call's entries, which the split appends to
	platform partner.ID // the platform's party id
	line     *Line
	plan     *cplan
	cur      ensemble.Currency
	seller   partner.ID
	trace    []ensemble.Ref // the line's trace, which its entries share
	// refs are the conditions and rules that decided the path from the
	// root to the node being split, which a leaf's entries carry.
	refs []ensemble.Ref
	// paid are the earnings and supplier costs the line has paid so far,
	// in order: its ledger parts.
	paid []part
	// rolled are what rolling reserves hold of those parts.
	rolled []rollingHold
	// sources are those parts owed in another currency than the line's.
	sources []costSource
	// above notes what the inner nodes on the path from the root to the
	// node being split took (takesShare), which a leaf's entries carry.
	above string
	// once are the nodes paid once per customer (Once) that the line
	// paid, which the state records when it is settled.
	once []*cnode
	// funds are the discounts of the line each funding node bears
	// (PlanDocument.DiscountFunding), which the root's amount includes.
	funds []fund
	// retros are the records the line's retroactive shares leave in the
	// volumes they read (trueUps).
	retros []retroUpdate
}

// fund is what one node funds of a line's discounts.
type fund struct {
	node  *cnode
	units int64
	ids   string // the discounts' ids, ", " between them
	// back is what a true-up bills back of the discounts the node funds
	// (Line.Recouped), which the node's part gets on top; the root's
	// amount leaves it out.
	back  int64
	taken bool // the node's part bore them (walk)
	// from and to are the line's parts (split.paid) the node's part made,
	// which bore them (keepFunded); placed says the walk made them.
	from, to int
	placed   bool
}

// part is one payment a line made: whom it paid, and how much.
type part struct {
	payee
	units int64
}

// start readies the split for sale line l by plan, whose entries carry
// trace.
func (sp *split) start(l *Line, plan *cplan, trace []ensemble.Ref) {
	sp.line, sp.plan, sp.cur, sp.seller, sp.trace = l, plan, l.Currency(), l.Route.Seller, trace
	sp.refs, sp.paid, sp.rolled, sp.sources, sp.above = sp.refs[:0], sp.paid[:0], sp.rolled[:0], sp.sources[:0], ""
	sp.funds, sp.retros = sp.funds[:0], sp.retros[:0]
	sp.once = sp.once[:0]
}

// err is a *LineError of the line at the node at path, naming rule.
func (sp *split) err(path, rule string, err error) error {
	return lineErr(sp.line.ID, sp.plan.id, path, rule, err)
}

// supplierCosts pays the line's supplier costs out of basis, before the
// plan splits what is left, and returns what is left.
func (sp *split) supplierCosts(basis int64) (int64, error) {
	l := sp.line
	rest := basis
	for i := range l.SupplierCosts {
		c := &l.SupplierCosts[i]
		u, err := c.Cost.MinorUnits()
		if err != nil {
			return 0, sp.err("", "", err)
		}
		if u == 0 {
			continue
		}
		rest -= u
		if rest < 0 {
			return 0, sp.err("", "", fmt.Errorf("%w: component %s", ErrSupplierCosts, c.Component))
		}
		path := string(supplierCosts) + "/" + c.Component.ID
		if c.Component.ID == "" {
			path = string(supplierCosts) + "/" + string(c.Offer) + "/" + c.Supplier
		}
		sp.emit(EntryID(string(l.ID)+":"+path), sp.dec.costNode(path), partner.ID(c.Supplier), u, "wholesale cost", nil, "")
		src, other, err := sourceOf(c, u)
		if err != nil {
			return 0, sp.err("", "", err)
		}
		if other {
			// Owed in its own currency (costsource.go).
			s := costSource{part: len(sp.paid) - 1, units: src, cur: c.Source.Currency(), rate: c.Rate}
			sp.sources = append(sp.sources, s)
			e := &(*sp.out)[len(*sp.out)-1]
			m := ensemble.MoneyFromMinor(src, s.cur)
			e.Amount, e.Conversion = m, &Conversion{From: m, Rate: s.rate, To: ensemble.MoneyFromMinor(u, sp.cur)}
		}
	}
	return rest, nil
}

// fundDiscounts works out which nodes fund which of the line's discounts
// (sp.funds) and returns the root's amount: rest, what the supplier costs
// leave, plus the discounts funded, so that every share is of the line as
// if those had not been taken.
func (sp *split) fundDiscounts(rest int64) (int64, error) {
	if !sp.plan.fundsDiscounts() {
		return rest, nil
	}
	for _, d := range sp.line.Discounts {
		n := sp.plan.funderOf(d.ID)
		if n == nil || d.Amount.IsZero() {
			continue
		}
		u, err := keptUnits(d.Amount) // validate checked it
		if err != nil {
			return 0, err
		}
		f := sp.fundOf(n, d.ID)
		f.units += u
		if rest > math.MaxInt64-u {
			return 0, fmt.Errorf("%w: the line and its funded discounts exceed %s", ErrInvalidLine, ensemble.MoneyFromMinor(math.MaxInt64, sp.cur))
		}
		rest += u
	}
	// What a true-up bills back of the discounts the nodes fund goes to
	// them: the root splits the rest.
	for _, d := range sp.line.Recouped {
		n := sp.plan.funderOf(d.ID)
		if n == nil || d.Amount.IsZero() {
			continue
		}
		u, err := keptUnits(d.Amount) // validate checked it
		if err != nil {
			return 0, err
		}
		sp.fundOf(n, d.ID).back += u
		if rest < u {
			return 0, fmt.Errorf("%w: node %q funds discount %s, of which the line bills back %s, more than the %s its supplier costs leave",
				ErrDiscountFunding, n.id, d.ID, d.Amount, ensemble.MoneyFromMinor(rest, sp.cur))
		}
		rest -= u
	}
	return rest, nil
}

// fundOf returns what node n funds of the line, added to sp.funds when it
// funds nothing yet, with discount id named among its discounts.
func (sp *split) fundOf(n *cnode, id string) *fund {
	i := slices.IndexFunc(sp.funds, func(f fund) bool { return f.node == n })
	if i < 0 {
		sp.funds = append(sp.funds, fund{node: n})
		i = len(sp.funds) - 1
	}
	f := &sp.funds[i]
	if f.ids != "" {
		f.ids += ", "
	}
	f.ids += id
	return f
}

// checkFunded fails the line when a node that funds some of its
// discounts was never reached: a node above it took no part of the line
// (its condition does not hold, or its part was zero), so nothing bore
// them.
func (sp *split) checkFunded() error {
	for i := range sp.funds {
		if f := &sp.funds[i]; !f.taken {
			return sp.err(f.node.path, "", sp.fundingError(f.node, f, 0, nil))
		}
	}
	return nil
}

// funded returns what node n funds of the line's discounts, or nil.
func (sp *split) funded(n *cnode) *fund {
	for i := range sp.funds {
		if sp.funds[i].node == n {
			return &sp.funds[i]
		}
	}
	return nil
}

// keepFunded returns what each of the line's parts funded of its
// discounts (LedgerPart.Funded), or nil when no node funded any. A funding
// node's discounts are spread over the parts its part of the line made (a
// leaf's one part, or those of the parties it pays or of the nodes below
// it) in proportion to what each was paid, by largest remainder keyed by
// entry id: what each would have been paid beyond it had the discounts
// not been taken, exactly so for a leaf paying one party and for shares
// of a node's amount, up to a minor unit. Nil too, so that a credit
// reverses the parts in proportion to what they were paid, as before,
// when what each funded is not the part's alone: a node whose discounts
// took its whole part (it made no part to bear them), or a funding node
// below another (their parts bore both).
func (sp *split) keepFunded() (*[]int64, error) {
	if len(sp.funds) == 0 {
		return nil, nil
	}
	for i := range sp.funds {
		f := &sp.funds[i]
		if !f.placed || f.from == f.to || f.back != 0 {
			return nil, nil // a true-up's credits reverse in proportion
		}
		for _, g := range sp.funds[:i] {
			if f.from < g.to && g.from < f.to {
				return nil, nil
			}
		}
	}
	out := make([]int64, len(sp.paid))
	for i := range sp.funds {
		f := &sp.funds[i]
		paid := sp.paid[f.from:f.to]
		shares := make([]ensemble.Share, len(paid))
		for k := range paid {
			shares[k] = ensemble.Share{Key: partID(string(sp.line.ID), &paid[k].payee), Weight: ensemble.RatioFromInt(paid[k].units)}
		}
		if err := ensemble.AllocateUnits(out[f.from:f.to], f.units, shares, ensemble.AllocateOptions{}); err != nil {
			return nil, sp.err(f.node.path, "", err)
		}
	}
	return &out, nil
}

// keepSources returns the line's parts owed in another currency than
// its own, or nil.
func (sp *split) keepSources() *[]costSource {
	if len(sp.sources) == 0 {
		return nil
	}
	s := slices.Clone(sp.sources)
	return &s
}

// note returns the note of a leaf's entry: its own, a then b (either may
// be empty), then what the inner nodes above took (above), joined with
// "; ".
func (sp *split) note(a, b string) string {
	switch {
	case b == "" && sp.above == "":
		return a
	case a == "" && sp.above == "":
		return b
	case a == "" && b == "":
		return sp.above
	}
	var buf [256]byte
	return sp.dec.keepNote(appendNote(appendNote(appendNote(buf[:0], a), b), sp.above))
}

// overAllocated is the error of level n, holding amount, whose children
// other than its remaining child rem took parts (after caps and floors),
// more than amount: it lists what each took and the rule that decided it
// ("bounty EUR 100.00, commission EUR 24.00 (rule commission-rate@1)"),
// and what that leaves the remaining child. The error names the level, not
// the remaining child nor any one rule: no one child overflows it alone.
func (sp *split) overAllocated(n *cnode, kids []child, parts []int64, rem int, amount int64) error {
	var took []string
	var sum int64
	for i, c := range n.children {
		if i == rem || parts[i] == 0 {
			continue
		}
		sum += parts[i]
		t := string(c.id) + " " + ensemble.MoneyFromMinor(parts[i], sp.cur).String()
		if kids[i].rule != nil {
			t += " (rule " + ruleText(kids[i].rule.ref()) + ")"
		}
		took = append(took, t)
	}
	return fmt.Errorf("%w: the children of node %q take %s (%s), %s more than its %s, which would leave its remaining child %q %s: "+
		"fixed amounts, ratios and floors at one level cannot exceed what the level has",
		ErrOverAllocation, n.path, ensemble.MoneyFromMinor(sum, sp.cur), strings.Join(took, ", "), ensemble.MoneyFromMinor(sum-amount, sp.cur),
		ensemble.MoneyFromMinor(amount, sp.cur), string(n.children[rem].id), ensemble.MoneyFromMinor(parts[rem], sp.cur))
}

// walk splits amount (>= 0) at node n, depth levels below the root.
func (sp *split) walk(n *cnode, amount int64, depth int) error {
	if n.leaf {
		return sp.pay(n, amount, nil)
	}
	d, err := sp.dec.decide(n, amount, depth)
	if err != nil {
		return err
	}
	kids := d.kids
	// The children's amounts, and which of them a cap or floor moved.
	var pbuf [8]int64
	var mbuf [8]uint8
	parts, marks := pbuf[:0], mbuf[:0]
	if len(kids) > len(pbuf) {
		parts, marks = make([]int64, len(kids)), make([]uint8, len(kids))
	}
	parts, marks = parts[:len(kids)], marks[:len(kids)]
	// Ratios of the node's amount, by largest remainder keyed by node id.
	if amount != 0 && d.shares != nil {
		if d.alloc != nil {
			err = d.alloc.Units(parts, amount)
		} else {
			err = ensemble.AllocateUnits(parts, amount, d.shares, ensemble.AllocateOptions{Method: sp.plan.method})
		}
		if err != nil {
			return sp.err(n.path, "", err)
		}
	}
	// Fixed amounts on top: the remaining child gives up what they take.
	for i := range kids {
		parts[i] += kids[i].fixed
	}
	rem := n.remaining
	if rem >= 0 {
		parts[rem] -= d.fixed
	}
	// Caps and floors move amounts to and from the remaining child, whose
	// entries say how much and why (moved).
	var movedBuf [128]byte
	moved := movedBuf[:0]
	for i, c := range n.children {
		if !kids[i].active || i == rem {
			continue
		}
		if !c.cap.IsZero() {
			cu, err := minorUnits(c.cap, sp.cur)
			if err != nil {
				return sp.err(c.path, "", err)
			}
			if parts[i] > cu {
				parts[rem] += parts[i] - cu
				moved = appendMoved(moved, "includes ", parts[i]-cu, sp.cur, " above the cap of ", c.id)
				parts[i] = cu
				marks[i] |= markCapped
			}
		}
		if !c.floor.IsZero() {
			fu, err := minorUnits(c.floor, sp.cur)
			if err != nil {
				return sp.err(c.path, "", err)
			}
			if parts[i] < fu {
				parts[rem] -= fu - parts[i]
				moved = appendMoved(moved, "less ", fu-parts[i], sp.cur, " to meet the floor of ", c.id)
				parts[i] = fu
				marks[i] |= markFloored
			}
		}
	}
	if rem >= 0 && parts[rem] < 0 {
		return sp.err(n.path, "", sp.overAllocated(n, kids, parts, rem, amount))
	}
	// The discounts a child funds come off its part alone: the root's
	// amount counted them (fundDiscounts).
	var fundBuf [8]string
	fundNotes := fundBuf[:0]
	if len(sp.funds) > 0 {
		fundNotes = fundBuf[:len(kids)]
		if len(kids) > len(fundBuf) {
			fundNotes = make([]string, len(kids))
		}
		for i, c := range n.children {
			f := sp.funded(c)
			if f == nil {
				continue
			}
			if !kids[i].active || parts[i] < f.units {
				return sp.err(c.path, "", sp.fundingError(c, f, parts[i], &kids[i]))
			}
			parts[i] += f.back - f.units
			f.taken = true
			if f.back != 0 {
				fundNotes[i] = "includes " + ensemble.MoneyFromMinor(f.back, sp.cur).String() + " of discount " + f.ids + ", which it funds and the true-up bills back"
			} else {
				fundNotes[i] = "less " + ensemble.MoneyFromMinor(f.units, sp.cur).String() + " of discount " + f.ids + ", which it funds"
			}
		}
	}
	// Pay each leaf, split each inner node below, with the rules that
	// decided the child on the path.
	for i, c := range n.children {
		if !kids[i].active || parts[i] == 0 {
			continue
		}
		if c.once {
			sp.once = append(sp.once, c)
		}
		mark := len(sp.refs)
		if ref := kids[i].cond; ref != nil {
			sp.refs = append(append(sp.refs, ref.Ref), ref.tables...)
		}
		if ref := kids[i].rule; ref != nil {
			sp.refs = append(append(sp.refs, ref.Ref), ref.tables...)
		}
		note := kids[i].note
		if i == rem && len(moved) > 0 { // amounts vary by line: kept as text, not interned
			var buf [256]byte
			note = sp.dec.keepText(appendNote(append(buf[:0], note...), moved))
		}
		funds := len(fundNotes) > 0 && fundNotes[i] != ""
		if funds {
			note = sp.dec.keepText(appendNote([]byte(note), []byte(fundNotes[i])))
		}
		var f *fund
		if funds {
			if f = sp.funded(c); f != nil {
				f.from = len(sp.paid)
			}
		}
		var err error
		if c.leaf {
			k := &kids[i]
			if marks[i] != 0 || i == rem && len(moved) > 0 || funds {
				kc := *k
				kc.note = note
				if marks[i]&markCapped != 0 {
					kc.text += ", capped at " + c.cap.String()
				}
				if marks[i]&markFloored != 0 {
					kc.text += ", floor " + c.floor.String()
				}
				k = &kc
			}
			err = sp.pay(c, parts[i], k)
		} else {
			above := sp.above
			if note != "" {
				var buf [256]byte
				sp.above = sp.dec.keepNote(appendNote(append(append(append(buf[:0], c.id...), ' '), note...), above))
			}
			err = sp.walk(c, parts[i], depth+1)
			sp.above = above
		}
		if f != nil {
			f.to, f.placed = len(sp.paid), true
		}
		sp.refs = sp.refs[:mark]
		if err != nil {
			return err
		}
	}
	if n.retro {
		return sp.trueUps(n, amount, kids)
	}
	return nil
}

// retroUpdate is the record of a retroactive share the line leaves in the
// volume it reads (settleSale writes it once the line is split).
type retroUpdate struct {
	key volKey
	rec retroPaid
}

// trueUps pays the true-ups of level n's retroactive children (Retroactive)
// whose tier the line raised, and records what their rate applied to:
// amount, the level's, which the ratios divide. A true-up is (rate now −
// rate paid) × what the rate applied to on the window's earlier lines,
// exact, rounded half away from zero once: to the child's party, and the
// same amount off the remaining sibling when it is a leaf paying one party
// (the part a share of the level is taken from), else off the platform.
// A child that takes no part of the line (its condition does not hold,
// its party cannot be paid), is paid to the platform as a fallback or
// reads the volume of nobody (a platform leaf whose volume's owner is not
// on the route) pays no true-up and adds nothing to what its rate applied
// to; one whose rate is zero does.
func (sp *split) trueUps(n *cnode, amount int64, kids []child) error {
	for i, c := range n.children {
		k := &kids[i]
		if c.kind != shareCumulative || c.cum.Mode != Retroactive || !k.active || k.platform {
			continue
		}
		if sp.dec.volumeOf(c).owner == "" {
			// The volume of nobody (zero for every line) keeps no record
			// and re-rates nothing: the share pays the tier the line
			// reaches alone.
			continue
		}
		tier, rec, _, err := sp.dec.retroTier(c)
		if err != nil {
			return sp.err(c.path, "", err)
		}
		next := retroPaid{plan: rec.plan, node: rec.node, tier: tier, base: rec.base}
		if next.base > math.MaxInt64-amount {
			return sp.err(c.path, "", fmt.Errorf("%w: what the retroactive rate applied to overflows", ErrInvalidLine))
		}
		next.base += amount
		paid := min(rec.tier, len(c.cum.Tiers)-1)
		// The rate the window's earlier lines were paid (recorded: the
		// plan version settling this line may pay its tiers other rates),
		// and the rate the line is paid.
		from, to := c.cum.Tiers[paid].Rate, c.cum.Tiers[tier].Rate
		if rec.rated {
			from = rec.rate
		}
		next.rate, next.rated = to, true
		up := tier > paid && rec.base != 0 && to.Cmp(from) > 0
		if !up && rec.base != 0 && !from.Equal(to) {
			// Not re-rated (no crossing, or a version whose rate is no
			// higher than the rate paid): what was paid, weighted.
			next.rate = retroMix(from, rec.base, to, amount)
		}
		sp.retros = append(sp.retros, retroUpdate{key: sp.dec.volumeOf(c).key, rec: next})
		if !up {
			continue
		}
		d := to.Sub(from)
		x := new(big.Rat).Mul(d.Rat(), new(big.Rat).SetInt64(rec.base))
		dec := ensemble.RatioFromRat(x).Decimal(0, ensemble.RoundHalfAwayFromZero)
		if !dec.BigInt().IsInt64() {
			return sp.err(c.path, "", fmt.Errorf("%w: the true-up of %s overflows", ErrInvalidLine, c.path))
		}
		units := dec.IntPart()
		if units == 0 {
			continue
		}
		var buf [160]byte
		t := appendPercent(append(appendPercent(append(appendPercent(buf[:0], to), " - "...), from), " = "...), d)
		t = appendMoney(append(t, " of "...), rec.base, sp.cur)
		share := sp.dec.keepText(append(t, " (true-up)"...))
		note := fmt.Sprintf("true-up for crossing tier %d on line %s: the window's earlier lines were paid %s (tier %d) on %s; %s (tier %d) applies to all of them",
			tier+1, sp.line.ID, sharePercent(from), paid+1, ensemble.MoneyFromMinor(rec.base, sp.cur), sharePercent(to), tier+1)
		base := sp.dec.entryID(c) + "#trueup." + strconv.Itoa(tier+1)
		// The rules of the share's earnings: its condition's, and those
		// that decided the path to it.
		mark := len(sp.refs)
		if ref := k.cond; ref != nil {
			sp.refs = append(append(sp.refs, ref.Ref), ref.tables...)
		}
		refs := sp.dec.keptRules(c, sp.refs)
		sp.refs = sp.refs[:mark]
		sp.entry(EntryID(base), KindTrueUp, k.id, c.meta.role, c.path, units, sp.line.Date, share, refs, note, "")
		// Its funding: the remaining sibling's one party, else the platform.
		payer, role, node := sp.platform, "platform", c.path
		if r := n.remaining; r >= 0 && r != i && kids[r].active && n.children[r].leaf && !n.children[r].role.multi() {
			rc := n.children[r]
			node, role, payer = rc.path, rc.meta.role, kids[r].id
			if kids[r].platform || payer == "" {
				payer, role = sp.platform, "platform"
			}
		}
		sp.entry(EntryID(base+".funding"), KindTrueUp, payer, role, node, -units, sp.line.Date, share, refs,
			fmt.Sprintf("funds the true-up of %s for crossing tier %d on line %s", c.id, tier+1, sp.line.ID), "")
	}
	return nil
}

// retroMix returns the rate paid on a + b units: rate ra on a, rb on b.
func retroMix(ra ensemble.Ratio, a int64, rb ensemble.Ratio, b int64) ensemble.Ratio {
	x := new(big.Rat).Mul(ra.Rat(), new(big.Rat).SetInt64(a))
	x.Add(x, new(big.Rat).Mul(rb.Rat(), new(big.Rat).SetInt64(b)))
	if a+b == 0 {
		return rb
	}
	return ensemble.RatioFromRat(x.Quo(x, new(big.Rat).SetInt64(a+b)))
}

const (
	markCapped uint8 = 1 << iota
	markFloored
)

// appendMoved appends to b, the note of a level's remaining child, that
// it received (verb "includes ") or gave ("less ") units because sibling
// id's cap or floor (why) moved them.
func appendMoved(b []byte, verb string, units int64, cur ensemble.Currency, why, id string) []byte {
	if len(b) > 0 {
		b = append(b, "; "...)
	}
	b = appendMoney(append(b, verb...), units, cur)
	return append(append(b, why...), id...)
}

// pay emits the entries of leaf n, which receives amount: k is what its
// level decided for it, nil when n is the root.
func (sp *split) pay(n *cnode, amount int64, k *child) error {
	if amount == 0 {
		return nil
	}
	if k == nil && n.role.multi() { // the root is a leaf paying several parties
		k = &child{active: true, text: "100%"}
	}
	if k == nil { // the root is a leaf
		id, _, why, err := sp.dec.resolveOne(n.role)
		if err != nil {
			return sp.err(n.path, "", err)
		}
		k = &child{active: true, id: id, text: "100%"}
		if id == "" {
			k.platform, k.note = true, "fallback to platform: "+why
		}
	}
	base := sp.dec.entryID(n)
	refs := sp.dec.keptRules(n, sp.refs)
	note := sp.note(k.note, "")
	if k.platform {
		sp.emit(EntryID(base), n.platMeta, sp.platform, amount, k.text, refs, note)
		return nil
	}
	if !n.role.multi() {
		sp.emit(EntryID(base), n.meta, k.id, amount, k.text, refs, note)
		held := sp.reserve(n, EntryID(base), k.id, amount)
		sp.rolling(n, EntryID(base), k.id, amount-held)
		return nil
	}
	// Several parties: divided by weight among those who can be paid; with
	// the platform as fallback, among them all, the platform taking the
	// shares of those who cannot.
	ids, weights, out, err := sp.dec.parties(n)
	if err != nil {
		return sp.err(n.path, "", err)
	}
	toPlatform := n.fallback == FallbackPlatform && len(out) > 0
	if toPlatform {
		for _, o := range out {
			weights = append(weights, o.share)
		}
	}
	var pbuf [8]int64
	parts := pbuf[:0]
	if len(weights) > len(pbuf) {
		parts = make([]int64, len(weights))
	}
	parts = parts[:len(weights)]
	err = ensemble.AllocateUnits(parts, amount, weights, ensemble.AllocateOptions{Method: sp.plan.method})
	if errors.Is(err, ensemble.ErrZeroWeights) {
		sp.emit(EntryID(base), n.platMeta, sp.platform, amount, k.text, refs,
			sp.note("fallback to platform: every weight is zero", k.note))
		return nil
	}
	if err != nil {
		return sp.err(n.path, "", err)
	}
	// A co-sell split says the weight each party was paid by, and the
	// weight of those who could be paid when it is not the whole (a party
	// of some weight was left out: the weights on the route sum to one,
	// as validate checked, so only then).
	var payable *ensemble.Ratio
	equal := false
	if n.role.kind == roleCoSellers {
		if len(ids) < 1+len(sp.line.Route.CoSellers) && !toPlatform {
			var sum ensemble.Ratio
			for _, w := range weights {
				sum = sum.Add(w.Weight)
			}
			if sum.Cmp(one) != 0 {
				payable = &sum
			}
		}
		equal = equalCoSell(&sp.line.Route)
	}
	for i, id := range ids {
		if parts[i] == 0 {
			continue
		}
		eid := EntryID(base + "/" + string(id))
		text := k.text
		switch n.role.kind {
		case roleChainAll:
			text = fmt.Sprintf("%s, level %s", k.text, weights[i].Key)
		case roleCoSellers:
			var buf [96]byte
			text = sp.dec.keepText(appendCoSellText(buf[:0], k.text, weights[i].Weight, payable, equal))
		}
		sp.emit(eid, n.meta, id, parts[i], text, refs, note)
		held := sp.reserve(n, eid, id, parts[i])
		sp.rolling(n, eid, id, parts[i]-held)
	}
	if toPlatform {
		sp.payLeftOut(n, base, k, refs, out, weights[len(ids):], parts[len(ids):], equal)
	}
	return nil
}

// payLeftOut pays the platform, in one entry of the leaf's own id (as
// when every weight is zero; the parties' ids add "/<party>"), the
// shares (parts) of multi-party leaf n's parties that cannot be paid
// (out, whose weights are weights), n's fallback being the platform.
func (sp *split) payLeftOut(n *cnode, base string, k *child, refs []ensemble.Ref, out []leftOut, weights []ensemble.Share, parts []int64, equal bool) {
	var units int64
	var w ensemble.Ratio
	var why []byte
	for i, o := range out {
		units += parts[i]
		w = w.Add(weights[i].Weight)
		if i > 0 {
			why = append(why, ", "...)
		}
		why = append(why, o.why()...)
	}
	if units == 0 {
		return
	}
	text := k.text
	switch n.role.kind {
	case roleCoSellers:
		var buf [96]byte
		text = sp.dec.keepText(appendCoSellText(buf[:0], k.text, w, nil, equal))
	case roleChainAll:
		text = k.text + ", the levels that cannot be paid"
	}
	sp.emit(EntryID(base), n.platMeta, sp.platform, units, text, refs,
		sp.note("fallback to platform: "+string(why), k.note))
}

// reserve holds back part of earning of (amount, paid to id at leaf n)
// until the release date, if n keeps a reserve: a reserve entry at the
// line's date and its release at the release date. It returns what it
// held.
func (sp *split) reserve(n *cnode, of EntryID, id partner.ID, amount int64) int64 {
	if n.reserve == nil || n.reserve.Ratio.IsZero() || sp.plan.onCollection { // held of each payment instead (collectReserve)
		return 0
	}
	u := reserveUnits(n, amount)
	if u == 0 {
		return 0
	}
	date := sp.line.Date
	release, note := sp.dec.reserveRelease(n, date) // n's days later; "reserve 10% until 2026-04-01"
	held, released := sp.dec.reserveIDs(n, of)
	sp.entry(held, KindReserve, id, n.meta.role, n.path, u, date, "", nil, note, of)
	sp.entry(released, KindRelease, id, n.meta.role, n.path, u, release, "", nil, "reserve released", of)
	return u
}

// reserveUnits returns the reserve of leaf n on amount: amount times the
// reserve ratio, rounded down (never more than was earned).
func reserveUnits(n *cnode, amount int64) int64 {
	if n.reserveFits && amount >= 0 {
		hi, lo := bits.Mul64(uint64(amount), n.reserveNum)
		if hi < n.reserveDen {
			q, _ := bits.Div64(hi, lo, n.reserveDen)
			return int64(q)
		}
	}
	q := new(big.Int).Mul(big.NewInt(amount), n.reserve.Ratio.Num())
	return q.Quo(q, n.reserve.Ratio.Denom()).Int64()
}

// emit writes an earning or supplier cost entry dated at the line and
// records it among the line's parts; meta says its kind, role and node.
func (sp *split) emit(id EntryID, meta *partMeta, party partner.ID, units int64, share string, refs []ensemble.Ref, note string) {
	sp.entry(id, meta.kind, party, meta.role, meta.node, units, sp.line.Date, share, refs, note, "")
	sp.paid = append(sp.paid, part{payee: payee{party: party, meta: meta}, units: units})
}

// entry appends an entry of the line. Its Rules and Trace are shared with
// other entries (see Entry).
func (sp *split) entry(id EntryID, kind EntryKind, party partner.ID, roleName, node string, units int64, at time.Time, share string, refs []ensemble.Ref, note string, rev EntryID) {
	l := sp.line
	out := *sp.out
	n := len(out)
	if n == cap(out) {
		out = slices.Grow(out, 1)
	}
	out = out[:n+1]
	*sp.out = out
	// Written field by field into its slot, every field (a reused buffer
	// holds an earlier entry there), rather than built and copied.
	e := &out[n]
	e.ID, e.Line, e.Kind, e.Party, e.Role = id, l.ID, kind, party, roleName
	e.Amount, e.Date, e.Plan, e.Node, e.Share, e.Rules = ensemble.MoneyFromMinor(units, sp.cur), at, sp.plan.ref, node, share, refs
	e.Service, e.Offer, e.Route, e.Seller = l.Service, l.Offer, l.Route.Kind, sp.seller
	e.Reverses, e.Note, e.Approver, e.Conversion, e.Trace = rev, note, "", nil, sp.trace
}

// minorUnits converts a plan amount to minor units of currency cur, the
// line's.
func minorUnits(m ensemble.Money, cur ensemble.Currency) (int64, error) {
	if m.IsZero() {
		return 0, nil
	}
	if m.Currency() != cur {
		return 0, fmt.Errorf("%w: %s on a %s line", ErrCurrency, m, cur)
	}
	return keptUnits(m)
}

// fundingError says why node c, decided as k, cannot fund f: it takes no
// part of the line (k nil: a node above it took none), or its part of the
// line before the discounts (part) is less.
func (sp *split) fundingError(c *cnode, f *fund, part int64, k *child) error {
	cur := sp.cur
	if f.back != 0 {
		why := "a node above it takes no part of it"
		if k != nil && !k.active {
			why = sp.whyInactive(c, k)
		}
		return fmt.Errorf("%w: node %q funds discount %s, of which the line bills back %s, and takes no part of this line (%s)",
			ErrDiscountFunding, c.id, f.ids, ensemble.MoneyFromMinor(f.back, cur), why)
	}
	if k == nil || !k.active {
		why := "a node above it takes no part of it"
		if k != nil {
			why = sp.whyInactive(c, k)
		}
		return fmt.Errorf("%w: node %q funds discount %s (%s) and takes no part of this line (%s)",
			ErrDiscountFunding, c.id, f.ids, ensemble.MoneyFromMinor(f.units, cur), why)
	}
	return fmt.Errorf("%w: node %q funds discount %s (%s) and is paid %s of the line before it",
		ErrDiscountFunding, c.id, f.ids, ensemble.MoneyFromMinor(f.units, cur), ensemble.MoneyFromMinor(part, cur))
}

// whyInactive says why child c, decided as k, takes no part of the line:
// it was paid once for the customer, its condition does not hold, its
// party cannot be paid, or its rate reads the volume of nobody
// (decideLevel).
func (sp *split) whyInactive(c *cnode, k *child) string {
	if k.paidOnce {
		by, _ := sp.dec.st.once.lookup(onceKey{plan: sp.plan.id, node: c.path, customer: sp.line.Customer.ID})
		return fmt.Sprintf("it is paid once per customer, and line %q paid it for customer %q", by, sp.line.Customer.ID)
	}
	if k.cond != nil {
		return "its condition does not hold"
	}
	if c.leaf && !c.role.multi() {
		if id, _, why, err := sp.dec.resolveOne(c.role); err == nil && id == "" {
			return "its party cannot be paid: " + why
		}
	}
	if c.kind == shareCumulative {
		if v := sp.dec.volumeOf(c); v.owner == "" {
			return "its rate has no volume to read: " + v.why
		}
	}
	return "none of its parties can be paid"
}
