package settlement

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

// A level's decision is what its children come to before any amount is
// split: who each child pays (or that it falls back to the platform, or is
// skipped), which conditions and rules decided, the weights and fixed
// amounts, and the allocation of the weights. This file works a decision
// out from the line, the partners and the rules; the decider (decider.go)
// keeps and shares decisions, and the split (split.go) divides amounts by
// them.

// decision is a level's choices for a line, read-only once made.
type decision struct {
	kids   []child
	fixed  int64 // sum of the children's fixed amounts
	shares []ensemble.Share
	alloc  *ensemble.Allocator // compiled from shares; nil: allocate with AllocateUnits
}

// child is what a level decided for one of its children.
type child struct {
	fixed    int64
	weight   ensemble.Ratio
	id       partner.ID
	note     string
	text     string
	rule     *ruleRef // the share rule version that decided, if any
	cond     *ruleRef // the condition's version, if any
	active   bool
	platform bool // paid to the platform as a fallback
	unstable bool // weight computed for this line only
	paidOnce bool // paid once per customer on an earlier line (Once): inactive
}

// decideLevel makes level n's decision for the current line, whose node
// holds amount, into d: who each child pays, its condition, weight or
// fixed amount, and the level's allocation weights.
func (dc *decider) decideLevel(d *decision, n *cnode, amount int64) (*decision, error) {
	l, planID := dc.line, dc.plan.id
	if cap(d.kids) < len(n.children) {
		d.kids = make([]child, len(n.children))
	}
	kids := d.kids[:len(n.children)]
	d.kids, d.fixed, d.shares, d.alloc = kids, 0, nil, nil
	var fixed int64
	var tbuf [160]byte
	takes := tbuf[:0] // what the remaining child notes it takes: the shares of children that fall back to it
	for i, c := range n.children {
		k := &kids[i]
		*k = child{active: true, text: c.shareText}
		sn := (*partner.Snapshot)(nil)
		var unpaid error // an attributed party that cannot be paid: an error once the node is active
		if c.leaf && !c.role.multi() {
			id, s, why, err := dc.resolveOne(c.role)
			if err != nil && c.role.kind == roleAttributed {
				unpaid, err = err, nil
			}
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, "", err)
			}
			k.id = id
			if id == "" && unpaid == nil {
				if c.fallback == FallbackPlatform || c.kind == shareRemaining {
					k.platform, k.note = true, "fallback to platform: "+why
				} else {
					k.active = false // no entry: the remaining sibling takes the share
					takes = takesShare(takes, c, "cannot be paid: ", why)
				}
			}
			sn = s
		} else if c.leaf {
			ok, why, err := dc.anyParty(c)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, "", err)
			}
			if !ok {
				if c.fallback == FallbackPlatform || c.kind == shareRemaining {
					k.platform, k.note = true, "fallback to platform: "+why
				} else {
					k.active = false
					takes = takesShare(takes, c, "cannot be paid: ", why)
				}
			}
		}
		if c.kind == shareCumulative && k.active {
			// A rate that reads the volume of nobody (no reseller on the
			// route) follows the node's fallback, as a party that cannot
			// be paid does: to the platform at the rate of a volume of
			// zero, or to the remaining sibling.
			if v := dc.volumeOf(c); v.owner == "" {
				if c.leaf && c.fallback == FallbackPlatform {
					if !k.platform {
						// A leaf whose own party is the platform pays it
						// as itself, its reserves held as ever: the
						// ledger keeps no mark of a fallback paying the
						// same party (see reservedAt).
						k.platform, k.note = !alwaysPaid(c.role, dc.s.platform), "fallback to platform: "+v.why
					}
				} else {
					k.active = false
					takes = takesShare(takes, c, "has no volume to read: ", v.why)
				}
			}
		}
		if sn == nil {
			sn = dc.sellerSnap()
		}
		if c.cond != "" && k.active {
			res, rule, ref, err := dc.evalRule(c.cond, c.condR, sn)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, ruleName(rule, c.cond), fmt.Errorf("%w: %w", ErrRule, err))
			}
			k.cond = ref
			if !res.res.Bool {
				k.active = false
			}
		}
		if c.once && k.active && dc.st.once.has(onceKey{plan: planID, node: c.path, customer: l.Customer.ID}) {
			// Paid for the customer on an earlier line (Once): exactly as
			// a condition that does not hold.
			k.active, k.paidOnce = false, true
		}
		if !k.active {
			continue
		}
		if unpaid != nil {
			return nil, lineErr(l.ID, planID, c.path, "", unpaid)
		}
		switch c.kind {
		case shareRatio:
			k.weight = c.ratio
		case shareAmount:
			u, err := minorUnits(c.amount, dc.cur)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, "", err)
			}
			k.fixed = u
		case shareRule:
			ev, rule, ref, err := dc.evalRule(c.shareRule, c.shareR, sn)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, ruleName(rule, c.shareRule), fmt.Errorf("%w: %w", ErrRule, err))
			}
			k.rule = ref
			if ev.res.Kind == rules.Amount {
				rn := ref.name
				if ev.res.Money.IsNegative() {
					// Before rounding: -0.004 is as wrong as -5.00, and
					// would round to a silent zero.
					return nil, lineErr(l.ID, planID, c.path, rn, fmt.Errorf("%w: negative amount %s", ErrRule, ev.res.Money))
				}
				m := ev.res.Money.Round(ensemble.RoundHalfAwayFromZero)
				u, err := minorUnits(m, dc.cur)
				if err != nil {
					return nil, lineErr(l.ID, planID, c.path, rn, err)
				}
				k.fixed = u
				var buf [96]byte // m.String(), as m is whole minor units of the line's currency
				text := append(append(appendMoney(buf[:0], u, dc.cur), " (rule "...), rn...)
				if !m.Equal(ev.res.Money) { // the rule's own digits, for finance to redo the cent
					text = append(append(append(text, ", "...), ev.res.Money.AmountString()...), " rounded"...)
				}
				k.text = dc.keepText(append(text, ')'))
			} else {
				if ev.res.Decimal.Sign() < 0 {
					return nil, lineErr(l.ID, planID, c.path, ruleName(rule, c.shareRule), fmt.Errorf("%w: negative share %s", ErrRule, ev.res.Decimal))
				}
				k.weight, k.text = ev.ratio, ev.text
				k.unstable = !ev.stable
			}
		case shareCumulative:
			w, text, stable, err := dc.cumulative(c)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, "", err)
			}
			k.weight, k.text = w, text
			k.unstable = !stable
		}
		if k.fixed > amount-fixed {
			has := ""
			if !strings.Contains(n.path, "/") {
				has = " (at the root: the line's basis less its supplier costs)"
			}
			return nil, lineErr(l.ID, planID, c.path, ruleText(k.rule.ref()), fmt.Errorf("%w: fixed amounts and amount rules' results come to %s with this child's %s, more than the %s node %q has%s",
				ErrOverAllocation, ensemble.MoneyFromMinor(fixed+k.fixed, dc.cur), ensemble.MoneyFromMinor(k.fixed, dc.cur), ensemble.MoneyFromMinor(amount, dc.cur), n.path, has))
		}
		fixed += k.fixed
	}
	if len(takes) > 0 && n.remaining >= 0 {
		r := &kids[n.remaining]
		var nbuf [256]byte
		r.note = dc.keepNote(appendNote(append(nbuf[:0], r.note...), takes))
	}
	shares, alloc, err := dc.shares(n, kids)
	if err != nil {
		return nil, err
	}
	d.fixed, d.shares, d.alloc = fixed, shares, alloc
	return d, nil
}

// takesShare adds to note, the remaining child's, that it takes the share
// of child c, which falls back to it (what and why: its party cannot be
// paid, its cumulative rate has no volume to read): its entries, or those
// of the leaves below it, say so (Entry.Note), so that a share the
// contract gave another reads as such, not as the remaining child's own.
// A child with a condition is not named: its condition is not evaluated
// when it falls back, so whether the contract gave it a share on this
// line is not known.
func takesShare(note []byte, c *cnode, what, why string) []byte {
	if c.cond != "" {
		return note
	}
	note = append(append(appendNote(note, "includes the share of "), c.id...), ", which "...)
	return append(append(note, what...), why...)
}

// appendNote appends note b to note a, the two joined with "; ".
func appendNote[T string | []byte](a []byte, b T) []byte {
	switch {
	case len(b) == 0:
		return a
	case len(a) > 0:
		a = append(a, "; "...)
	}
	return append(a, b...)
}

// levelWeights returns the allocation weights of level n whose children
// came to kids (the remaining child takes 1 - Σ ratios), checking that the
// ratios do not exceed the whole; nil when no ratio applies.
func (dc *decider) levelWeights(n *cnode, kids []child) ([]ensemble.Share, error) {
	var wsum ensemble.Ratio
	for i, c := range n.children {
		k := &kids[i]
		if !k.active || c.kind == shareRemaining || k.weight.IsZero() {
			continue
		}
		wsum = wsum.Add(k.weight)
		if wsum.Cmp(one) > 0 {
			return nil, lineErr(dc.line.ID, dc.plan.id, c.path, ruleText(k.rule.ref()), fmt.Errorf("%w: ratios at node %q add up to %s",
				ErrOverAllocation, n.path, wsum.Percent()))
		}
	}
	if wsum.IsZero() && n.remaining < 0 {
		return nil, nil
	}
	shares := make([]ensemble.Share, len(n.children))
	for i, c := range n.children {
		w := kids[i].weight
		if !kids[i].active {
			w = ensemble.Ratio{}
		}
		if i == n.remaining {
			w = one.Sub(wsum)
		}
		shares[i] = ensemble.Share{Key: c.id, Weight: w}
	}
	return shares, nil
}

var one = ensemble.RatioFromInt(1)

// resolveOne resolves a single-party role at the line's date. It returns
// "" and a reason when the role names nobody or a partner who cannot
// trade.
func (dc *decider) resolveOne(ro role) (partner.ID, *partner.Snapshot, string, error) {
	l := dc.line
	var id partner.ID
	var sn *partner.Snapshot
	switch ro.kind {
	case rolePlatform:
		return dc.s.platform, &dc.s.platSn, "", nil
	case roleChain:
		if ro.level >= len(l.Route.Chain) {
			if ro.level == 0 {
				return "", nil, "the route has no seller", nil
			}
			return "", nil, fmt.Sprintf("the route's chain has no level %d", ro.level), nil
		}
		id, sn = l.Route.Chain[ro.level], dc.chainSn[ro.level]
	case roleTop:
		if len(l.Route.Chain) == 0 {
			return "", nil, "the route has no chain", nil
		}
		id, sn = l.Route.Chain[len(l.Route.Chain)-1], dc.chainSn[len(l.Route.Chain)-1]
	case roleType:
		for i, c := range dc.chainSn {
			if c != nil && c.Type == ro.typ {
				id, sn = l.Route.Chain[i], c
				break
			}
		}
		if id == "" {
			return "", nil, "the route's chain has no " + string(ro.typ), nil
		}
	case roleReferrer:
		if l.Route.Referrer == "" {
			return "", nil, "the route has no referrer", nil
		}
		id = l.Route.Referrer
	case roleMarketplace:
		if l.Route.Marketplace == "" {
			return "", nil, "the route has no marketplace", nil
		}
		id = l.Route.Marketplace
	case rolePartner:
		id = ro.id
	case roleAttributed:
		return dc.attributed()
	default:
		return "", nil, "", fmt.Errorf("role has no single party")
	}
	if sn == nil {
		var err error
		sn, err = dc.snapshot(id, l.Date)
		if errors.Is(err, errNotTrading) {
			return "", nil, "partner " + string(id) + " is not a partner yet", nil
		}
		if err != nil {
			return "", nil, "", err
		}
	}
	if !sn.CanTrade() {
		return "", nil, "partner " + string(id) + " cannot trade (" + sn.Status.String() + ")", nil
	}
	return id, sn, "", nil
}

// attributed resolves party "attributed": the partner the line's usage is
// attributed to, who must be one who can trade at the line's date; any
// other answer is an error wrapping ErrAttributedParty, never a fallback.
func (dc *decider) attributed() (partner.ID, *partner.Snapshot, string, error) {
	l := dc.line
	if l.Attributed == "" {
		return "", nil, "", fmt.Errorf("%w: the line's usage is attributed to no one (Line.Attributed)", ErrAttributedParty)
	}
	id := partner.ID(l.Attributed)
	sn, err := dc.snapshot(id, l.Date)
	switch {
	case errors.Is(err, errNotTrading):
		return "", nil, "", fmt.Errorf("%w: %q is not a partner yet at %s", ErrAttributedParty, id, l.Date.UTC().Format(time.RFC3339))
	case err != nil:
		return "", nil, "", fmt.Errorf("%w: %q%s: %w", ErrAttributedParty, id, dc.s.didYouMean(id), err)
	case !sn.CanTrade():
		return "", nil, "", fmt.Errorf("%w: %q cannot trade at %s (%s)", ErrAttributedParty, id, l.Date.UTC().Format(time.RFC3339), sn.Status)
	}
	return id, sn, "", nil
}

// sellerSnap is the partner facts of nodes that pay no single partner.
func (dc *decider) sellerSnap() *partner.Snapshot {
	if len(dc.chainSn) > 0 {
		return dc.chainSn[0]
	}
	return nil
}

// anyParty reports whether a multi-party leaf has a party that can be paid.
func (dc *decider) anyParty(c *cnode) (bool, string, error) {
	l := dc.line
	switch c.role.kind {
	case roleCoSellers:
		r := &l.Route
		if len(r.CoSellers) == 0 {
			return false, "the route has no co-sellers", nil
		}
		equal := equalCoSell(r)
		if sn := dc.sellerSnap(); sn != nil && sn.CanTrade() && (equal || !r.SellerWeight.IsZero()) {
			return true, "", nil
		}
		for _, cs := range r.CoSellers {
			sn, err := dc.snapshot(cs.Partner, l.Date)
			if err != nil && !errors.Is(err, errNotTrading) {
				return false, "", err
			}
			if sn != nil && sn.CanTrade() && (equal || !cs.Weight.IsZero()) {
				return true, "", nil
			}
		}
		return false, "neither the seller nor a co-seller can be paid", nil
	default: // chain[*]
		for _, sn := range dc.chainSn {
			if sn != nil && sn.CanTrade() {
				return true, "", nil
			}
		}
		return false, "no chain level can be paid", nil
	}
}

// parties returns the parties multi-party leaf n pays for the current
// line, with their weights: for co_sellers, the seller and its co-sellers
// that can be paid, by their weights on the route (1/n each when the route
// gives none), keyed by partner (none on a route without co-sellers); for
// chain[*], the chain's levels that can be paid, by the leaf's
// level_weight rule (each level's weight keyed "000", "001", ...),
// equally without one. Those that cannot trade at the line's date
// (suspended, offboarded) are left out, and returned apart with their
// weights and why (a leaf whose fallback is the platform pays it their
// shares). The slices are the decider's, valid until the next call.
func (dc *decider) parties(n *cnode) ([]partner.ID, []ensemble.Share, []leftOut, error) {
	l := dc.line
	ids, weights, out := dc.pbuf[:0], dc.wbuf[:0], dc.obuf[:0]
	switch n.role.kind {
	case roleCoSellers:
		r := &l.Route
		if len(r.CoSellers) == 0 {
			break
		}
		var eq ensemble.Ratio // each party's weight when the route gives none
		if equalCoSell(r) {
			eq = ensemble.RatioFromRat(big.NewRat(1, int64(1+len(r.CoSellers))))
		}
		weight := func(w ensemble.Ratio) ensemble.Ratio {
			if eq.IsZero() {
				return w
			}
			return eq
		}
		if sn := dc.sellerSnap(); sn != nil && sn.CanTrade() {
			ids = append(ids, r.Seller)
			weights = append(weights, ensemble.Share{Key: string(r.Seller), Weight: weight(r.SellerWeight)})
		} else {
			out = append(out, leftOut{r.Seller, ensemble.Share{Key: string(r.Seller), Weight: weight(r.SellerWeight)}, sn})
		}
		for i, cs := range r.CoSellers {
			sn, err := dc.snapshot(cs.Partner, l.Date)
			switch {
			case err == nil && sn.CanTrade():
				ids = append(ids, cs.Partner)
				weights = append(weights, ensemble.Share{Key: string(cs.Partner), Weight: weight(cs.Weight)})
			case err == nil || errors.Is(err, errNotTrading):
				out = append(out, leftOut{cs.Partner, ensemble.Share{Key: string(cs.Partner), Weight: weight(cs.Weight)}, sn})
			default: // not in the network (a misspelled id): never paid to the others
				return nil, nil, nil, fmt.Errorf("route.co_sellers[%d].partner: %w", i, err)
			}
		}
	default:
		dc.contextFacts()
		saved := dc.rf
		for lvl, id := range l.Route.Chain {
			sn := dc.chainSn[lvl]
			if (sn == nil || !sn.CanTrade()) && n.fallback != FallbackPlatform {
				continue
			}
			if sn == nil { // not a partner yet: a weight of one, or none to read
				if n.levelRule == "" {
					out = append(out, leftOut{id, ensemble.Share{Key: fmt.Sprintf("%03d", lvl), Weight: one}, nil})
				}
				continue
			}
			w := one
			if n.levelRule != "" {
				dc.rf.Level = lvl
				ev, rule, _, err := dc.evalRule(n.levelRule, n.levelR, sn)
				if err != nil {
					dc.rf = saved
					return nil, nil, nil, lineErr(l.ID, dc.plan.id, n.path, ruleName(rule, n.levelRule), fmt.Errorf("%w: %w", ErrRule, err))
				}
				if ev.res.Decimal.Sign() < 0 {
					dc.rf = saved
					return nil, nil, nil, lineErr(l.ID, dc.plan.id, n.path, ruleName(rule, n.levelRule), fmt.Errorf("%w: negative level weight", ErrRule))
				}
				w = ev.ratio
			}
			share := ensemble.Share{Key: fmt.Sprintf("%03d", lvl), Weight: w}
			if !sn.CanTrade() { // its weight is read to pay the platform its share
				out = append(out, leftOut{id, share, sn})
				continue
			}
			ids = append(ids, id)
			weights = append(weights, share)
		}
		dc.rf = saved
	}
	dc.pbuf, dc.wbuf, dc.obuf = ids, weights, out
	return ids, weights, out, nil
}

// leftOut is a party of a multi-party leaf that cannot be paid on the
// current line: its weight in the leaf's split, and its snapshot (nil:
// not a partner yet).
type leftOut struct {
	id    partner.ID
	share ensemble.Share
	sn    *partner.Snapshot
}

// why says why the party cannot be paid.
func (o *leftOut) why() string {
	if o.sn == nil {
		return "partner " + string(o.id) + " is not a partner yet"
	}
	return "partner " + string(o.id) + " cannot trade (" + o.sn.Status.String() + ")"
}

// equalCoSell reports whether route r gives no co-sell weights, which
// partner.Route documents as an equal split of the seller and its
// co-sellers (validate refused weights that neither are all zero nor sum
// to one).
func equalCoSell(r *partner.Route) bool {
	if !r.SellerWeight.IsZero() {
		return false
	}
	for _, c := range r.CoSellers {
		if !c.Weight.IsZero() {
			return false
		}
	}
	return true
}

// appendCoSellText appends to b the share of a party of a co_sellers leaf
// whose share is text: the weight the split gave it on the route, the
// weight of the parties that could be paid when they are not the whole
// (payable is nil then: a party that cannot trade is left out, and the
// others share its part), and whether the route gave no weights:
// "remaining, co-sell weight 70%", "remaining, co-sell weight 1/3
// (≈33.33%) of 2/3 (≈66.67%) payable, equal: no weights on the route".
func appendCoSellText(b []byte, text string, w ensemble.Ratio, payable *ensemble.Ratio, equal bool) []byte {
	b = appendPercent(append(append(b, text...), ", co-sell weight "...), w)
	if payable != nil {
		b = append(appendPercent(append(b, " of "...), *payable), " payable"...)
	}
	if equal {
		b = append(b, ", equal: no weights on the route"...)
	}
	return b
}

// sharePercent writes a share as finance reads it: r.Percent() when it
// terminates ("70%", "12.5%"), else the exact fraction and the percentage
// to two places ("1/3 (≈33.33%)"), so a blended or weighted share stays
// exact and readable.
func sharePercent(r ensemble.Ratio) string {
	p := r.Percent()
	if strings.HasSuffix(p, "%") {
		return p
	}
	approx := r.Mul(ensemble.RatioFromInt(100)).Decimal(2, ensemble.RoundHalfAwayFromZero)
	if approx.IsZero() {
		return p + " (<0.01%)"
	}
	return p + " (≈" + approx.StringFixed(2) + "%)"
}

// appendPercent appends sharePercent(r) to b, in int64 arithmetic when r's
// terms allow, else through sharePercent.
func appendPercent(b []byte, r ensemble.Ratio) []byte {
	rat := r.Rat()
	num, den := rat.Num(), rat.Denom()
	if !num.IsInt64() || !den.IsInt64() {
		return append(b, sharePercent(r)...)
	}
	n, d := num.Int64(), den.Int64() // in lowest terms, d > 0
	// r × 100 = pn/pd in lowest terms; it terminates when pd is 2^a·5^c,
	// with max(a, c) decimals, and Percent writes it exactly so.
	g := gcd64(100, d)
	pn, pd := n*(100/g), d/g
	if n != 0 && (pn/(100/g) != n || pn == math.MinInt64) {
		return append(b, sharePercent(r)...)
	}
	twos, fives, rest := 0, 0, pd
	for rest%2 == 0 {
		rest, twos = rest/2, twos+1
	}
	for rest%5 == 0 {
		rest, fives = rest/5, fives+1
	}
	digits := max(twos, fives)
	if rest != 1 || digits > 18 {
		return append(b, sharePercent(r)...) // not terminating: "n/d (≈p%)"
	}
	scale := int64(1)
	for range digits {
		scale *= 10
	}
	q := pn * (scale / pd) // pn/pd in units of 10^-digits, exactly
	if pn != 0 && q/(scale/pd) != pn || q == math.MinInt64 {
		return append(b, sharePercent(r)...)
	}
	if q < 0 {
		b, q = append(b, '-'), -q
	}
	var buf [20]byte
	t := strconv.AppendInt(buf[:0], q, 10)
	if whole := len(t) - digits; whole > 0 {
		b = append(b, t[:whole]...)
		t = t[whole:]
	} else { // "0.0…": at least one digit before the point
		b = append(b, '0')
		if digits > 0 {
			b = append(b, '.')
		}
		for range -whole {
			b = append(b, '0')
		}
		return append(append(b, t...), '%')
	}
	if digits > 0 {
		b = append(append(b, '.'), t...)
	}
	return append(b, '%')
}

// gcd64 is the greatest common divisor of positive a and b.
func gcd64(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// cumulative returns the effective ratio of a cumulative share for the
// line and its text: marginal splits the line's basis across tiers, cliff
// applies the tier the volume reaches with the line. stable is true when
// the ratio is a tier's own (a line within one tier), whose identity every
// such line shares (levelKey). A line across tiers says what each tier
// took: "15% of EUR 200.00 + 30% of EUR 300.00 = 24% of EUR 500.00 (tiers
// 1-2, volume before EUR 999800.00)"; the effective ratio applies to the
// node's amount.
func (dc *decider) cumulative(c *cnode) (eff ensemble.Ratio, text string, stable bool, err error) {
	// The line's basis and the volume, in the volume's currency (the
	// tiers', into which the line's basis was converted).
	before, b, cur := dc.volumeOf(c).before, dc.volBasis, dc.volCur
	tiers := c.cum.Tiers
	bounds := c.tierBounds
	if bounds == nil || (len(tiers) > 1 && c.tierCur != cur) {
		if bounds, err = tierBounds(tiers, cur); err != nil {
			return ensemble.Ratio{}, "", false, err
		}
	}
	if before > math.MaxInt64-b {
		return ensemble.Ratio{}, "", false, fmt.Errorf("%w: cumulative volume overflows", ErrInvalidLine)
	}
	after := before + b
	var buf [128]byte
	if c.cum.Mode == Retroactive {
		i, rec, _, err := dc.retroTier(c)
		if err != nil {
			return ensemble.Ratio{}, "", false, err
		}
		t := append(append(append(buf[:0], c.tierText[i]...), " (retroactive, tier "...), strconv.Itoa(i+1)...)
		if rec.tier > 0 && rec.tier == i {
			t = append(t, ", reached earlier in the window"...)
		}
		t = append(append(appendMoney(append(t, ", volume before "...), before, cur), dc.fxNote...), ')')
		return tiers[i].Rate, dc.keepText(t), true, nil
	}
	if c.cum.Mode == Cliff || b == 0 {
		at := after
		if b == 0 {
			at = before
		}
		for i, ub := range bounds {
			if at <= ub {
				t := append(append(append(buf[:0], c.tierText[i]...), " (cliff, tier "...), strconv.Itoa(i+1)...)
				t = append(append(appendMoney(append(t, ", volume before "...), before, cur), dc.fxNote...), ')')
				return tiers[i].Rate, dc.keepText(t), true, nil
			}
		}
	}
	// The tiers the line's basis spans, from the volume before it.
	first := 0
	for first < len(bounds) && before >= bounds[first] {
		first++
	}
	if first < len(bounds) && after <= bounds[first] {
		// Within one tier: its rate.
		t := append(append(buf[:0], c.tierText[first]...), " (marginal over 1 tier(s), volume before "...)
		return tiers[first].Rate, dc.keepText(append(append(appendMoney(t, before, cur), dc.fxNote...), ')')), true, nil
	}
	// Across tiers: each tier's rate on the slice of the line within it,
	// which the text lists ("15% of EUR 200.00 + 30% of EUR 300.00 = 24%
	// of EUR 500.00 (tiers 1-2, volume before EUR 999800.00)"), written
	// into the call's chunk of text.
	var tb [256]byte
	t := tb[:0]
	num := new(big.Rat)
	lo, last := before, first
	for i := first; i < len(bounds) && lo < after; i++ {
		hi := min(after, bounds[i])
		slice := new(big.Rat).SetInt64(hi - lo)
		num.Add(num, slice.Mul(slice, tiers[i].Rate.Rat()))
		if i > first {
			t = append(t, " + "...)
		}
		t = appendMoney(append(append(t, c.tierText[i]...), " of "...), hi-lo, cur)
		lo, last = hi, i
	}
	eff = ensemble.RatioFromRat(num.Quo(num, new(big.Rat).SetInt64(b)))
	t = appendMoney(append(appendPercent(append(t, " = "...), eff), " of "...), b, cur)
	t = strconv.AppendInt(append(t, " (tiers "...), int64(first+1), 10)
	t = strconv.AppendInt(append(t, '-'), int64(last+1), 10)
	t = append(append(appendMoney(append(t, ", volume before "...), before, cur), dc.fxNote...), ')')
	return eff, dc.keepText(t), false, nil
}

// retroTier returns the tier retroactive share c pays the current line at:
// the higher of the tier the window's volume reaches with the line (as a
// cliff reads it) and the tier the window's lines were paid at (rec, the
// state's record of the node, or a zero record at tier 1 with nothing
// paid; at is its index in the volume's records, or -1). A line in
// another currency than the tiers' is refused: what the window's lines
// were paid cannot be added up across currencies.
func (dc *decider) retroTier(c *cnode) (tier int, rec retroPaid, at int, err error) {
	v := dc.volumeOf(c)
	if dc.fx != nil || dc.volCur != dc.cur {
		return 0, retroPaid{}, -1, fmt.Errorf("%w: a %s line through retroactive tiers in %s: the true-ups of a retroactive share re-rate its window's lines in one currency, its tiers'",
			ErrCurrency, dc.cur.Key(), dc.volCur.Key())
	}
	bounds := c.tierBounds
	if bounds == nil || (len(c.cum.Tiers) > 1 && c.tierCur != dc.volCur) {
		if bounds, err = tierBounds(c.cum.Tiers, dc.volCur); err != nil {
			return 0, retroPaid{}, -1, err
		}
	}
	reach := v.before
	if reach > math.MaxInt64-dc.volBasis {
		return 0, retroPaid{}, -1, fmt.Errorf("%w: cumulative volume overflows", ErrInvalidLine)
	}
	reach += dc.volBasis
	for tier < len(bounds)-1 && reach > bounds[tier] {
		tier++
	}
	rec, at = retroPaid{plan: dc.plan.id, node: c.path}, v.held.retroAt(dc.plan.id, c.path)
	if at >= 0 {
		rec = v.held.retro[at]
	}
	// A record of a tier the plan no longer has (a new version with fewer
	// tiers) pays its last.
	return min(max(tier, rec.tier), len(bounds)-1), rec, at, nil
}

// tierBounds returns each tier's up_to in minor units of cur (the last
// tier's: MaxInt64).
func tierBounds(tiers []Tier, cur ensemble.Currency) ([]int64, error) {
	bounds := make([]int64, len(tiers))
	for i, t := range tiers {
		if i == len(tiers)-1 {
			bounds[i] = math.MaxInt64
			continue
		}
		u, err := minorUnits(t.UpTo, cur)
		if err != nil {
			return nil, err
		}
		bounds[i] = u
	}
	return bounds, nil
}

func ruleName(rule *rules.Rule, id string) string {
	if rule == nil {
		return id
	}
	return fmt.Sprintf("%s@%d", rule.ID(), rule.Version())
}

// ref returns the rule's own reference, or nil.
func (r *ruleRef) ref() *ensemble.Ref {
	if r == nil {
		return nil
	}
	return &r.Ref
}

// ruleText names a rule version for errors ("id@version"), "" for none.
func ruleText(ref *ensemble.Ref) string {
	if ref == nil {
		return ""
	}
	return ref.ID + "@" + ref.Version
}
