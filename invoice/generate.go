package invoice

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
)

// IDs of the discounts an item and its segments carry.
const (
	partnerDiscount DiscountID = "partner"
	lineDiscount    DiscountID = "line"
)

var (
	ratioZero = ensemble.Ratio{}
	ratioOne  = ensemble.RatioFromInt(1)
)

// gen builds the lines of one subscription.
type gen struct {
	b     *Builder
	run   *Run
	s     *Subscription
	popts ensemble.ProrateOptions
	loc   *time.Location
	cur   ensemble.Currency
	mode  ensemble.RoundingMode
	cad   ensemble.Cadence
	// anchor is the anchor of the item being built: its own (Item.Anchor)
	// or the subscription's.
	anchor time.Time
	from   time.Time // cycles overlapping [from, At] are computed
	// commitFrom is the start of the commitment cycle holding After (zero
	// without one, or After): its usage may be given (see context).
	commitFrom time.Time
	limit      time.Time // At + 1ns
	ps         *ensemble.Problems
	idx        int // the subscription's index, for problem paths
	lines      []Line
	wins       map[*Discount]window
	// all keeps lines due outside the run (a commitment needs every line
	// of its cycles, a fixed discount those of the cycle After falls in:
	// see fixedDiscounts); otherwise they are not computed.
	all     bool
	itemRef ensemble.Ref
	arena   *arena
	cache   map[rateKey]catalog.Rating
	invID   string // the run instant as it appears in invoice IDs
	billed  map[LineID]*Line
	// credited holds the credit-note lines of Run.Billed by the line they
	// credit (see creditedBefore).
	credited map[LineID][]*Line
	// reissued holds the lines of Run.Billed that an earlier run billed
	// anew and that stand (not reversed since) by the ID they stand for
	// (Line.Reissues): a proration credit of that line credits them.
	reissued map[LineID]*Line
	// billedSub are the lines of Run.Billed of the subscription.
	billedSub []*Line
	// repairing says the subscription has a back-dated change (see
	// checkBackdated): its lines are recomputed over its history and reconciled
	// with billedSub, from repairFrom, the earliest instant such a change
	// takes effect at.
	repairing  bool
	repairFrom time.Time
	// reissuedFor holds, by ID, the lines such a run bills anew in place
	// of billed lines it reverses, and those lines (see catchUpDiscount);
	// carried, by ID, such a line as billed and the credits carried to it
	// (see carryCredits).
	reissuedFor map[LineID][]*Line
	carried     map[LineID]carriedCredits
	// lateRoots holds, by ID, the credits of a discount recorded late on
	// usage billed before it (lateDiscountCredits) and the usage line
	// each credits (see lateCreditTax).
	lateRoots map[LineID]*Line
	// billedUsage, when set, collects the usage the run bills: each
	// usage period due in it, as given or idle (BilledUsage).
	billedUsage *[]usage.Aggregate
	// arith keeps the first currency mismatch of add, sub and cmp; Build
	// reports it for the subscription.
	arith ensemble.Arith
	// spanned says stop and open hold the subscription's end (span), once
	// drawEnd needed it.
	spanned bool
	stop    time.Time
	open    bool
	// cuts are the instants the item being built changes a usage charge
	// at (usageCuts), in order: its usage periods are cut there.
	cuts []time.Time
	// earlier are the usage periods an earlier run billed (due by After)
	// that the run computes without their usage, as idle (see idlePiece):
	// what their lines took of a fixed discount is read from Run.Billed
	// (see billedTaken).
	earlier []earlierUsage
	// reported holds the periods of earlier a *UsageError was recorded
	// for (see billedTaken), so each is reported once.
	reported map[*earlierUsage]bool
}

// earlierUsage is a usage period of item (at its index at) billed by an
// earlier run, at due, that a run computes idle: its meter, period pd,
// the item's service in it svc, the offer pricing it, its usage line ref,
// and the ID of the idle line computed, if one was kept (a minimum spend:
// empty when idle usage bills nothing).
type earlierUsage struct {
	item    *Item
	at      int
	pin     catalog.Pin
	charge  catalog.ChargeID
	line    usage.LineRef
	meter   usage.MeterID
	pd, svc ensemble.Period
	due     time.Time
	idle    LineID
}

// arena hands out slices carved from larger blocks, so that a build of many
// invoices allocates per block rather than per line. Carved slices have
// their capacity capped, so appending to one never touches its neighbour.
type arena struct {
	lines  []Line
	refs   []ensemble.Ref
	pieces []piece
}

// pieceSlice returns an empty slice with room for n pieces. Pieces only
// live while an item is built: resetPieces makes their room reusable for
// the next item.
func (a *arena) pieceSlice(n int) []piece {
	if a == nil {
		return make([]piece, 0, n)
	}
	if cap(a.pieces)-len(a.pieces) < n {
		a.pieces = make([]piece, 0, max(n, arenaBlock))
	}
	k := len(a.pieces)
	a.pieces = a.pieces[:k+n]
	return a.pieces[k : k : k+n]
}

// resetPieces makes the pieces handed out so far reusable.
func (a *arena) resetPieces() {
	if a != nil {
		a.pieces = a.pieces[:0]
	}
}

const arenaBlock = 512

// open returns an empty slice over the rest of the current block of
// lines, for a subscription's lines to be generated into.
func (a *arena) open() []Line {
	if len(a.lines) < 8 {
		a.lines = make([]Line, arenaBlock)
	}
	return a.lines[:0:len(a.lines)]
}

// release zeroes lines generated into the open block that are not kept,
// so that the room past the kept lines is always zero.
func (a *arena) release(lines []Line) {
	clear(lines)
}

// keep hands out lines generated into the open block (or, if they
// outgrew it, into their own array) and moves the block past them.
func (a *arena) keep(lines []Line) []Line {
	n := len(lines)
	if n > 0 && len(a.lines) >= n && &a.lines[0] == &lines[0] {
		a.lines = a.lines[n:]
	}
	return lines[:n:n]
}

func (a *arena) refSlice(n int) []ensemble.Ref {
	if a == nil {
		return make([]ensemble.Ref, 0, n)
	}
	if len(a.refs) < n {
		a.refs = make([]ensemble.Ref, n*arenaBlock)
	}
	out := a.refs[:0:n]
	a.refs = a.refs[n:]
	return out
}

// window is the span of line starts a discount applies to; a zero to is
// open. An exact window (a discount with a Length) is the span of service
// the discount covers: a line takes it for the part of its service inside
// (see covered).
type window struct {
	from, to time.Time
	exact    bool
}

func (w window) contains(t time.Time) bool {
	return !t.Before(w.from) && (w.to.IsZero() || t.Before(w.to))
}

// pct is a percentage discount applied to a line, over the part of the
// line's service its window covers when the window is exact.
type pct struct {
	id DiscountID
	p  ensemble.Ratio
	w  window
}

// piece is one state of one charge stream over [start, end) (end zero:
// open).
type piece struct {
	start, end time.Time
	pin        catalog.Pin
	qty        decimal.Decimal
	ch         *chargeInfo
	addOn      bool
	disc       ensemble.Ratio // the segment's line discount
}

// stream is the history of one charge (offer ID and charge ID) on an item.
type stream struct {
	key    string
	pieces []piece
}

// billed is a recurring line billed in advance that a later change may
// credit.
type billed struct {
	id    LineID
	p     piece
	full  ensemble.Money
	tiers []catalog.Line
	pcts  []pct
	cycle ensemble.Period
}

func (g *gen) add(a, b ensemble.Money) ensemble.Money { return g.arith.Add(a, b) }

func (g *gen) sub(a, b ensemble.Money) ensemble.Money { return g.arith.Sub(a, b) }

func (g *gen) cmp(a, b ensemble.Money) int { return g.arith.Cmp(a, b) }

// mismatch returns the currency mismatch arith kept, wrapping ErrCurrency,
// or nil.
func (g *gen) mismatch() error {
	if err := g.arith.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrCurrency, err)
	}
	return nil
}

// frac returns the elapsed fraction of cycle c at instant x.
func (g *gen) frac(c ensemble.Period, x time.Time) (ensemble.Ratio, bool) {
	if !x.After(c.Start) {
		return ratioZero, true
	}
	if !x.Before(c.End) {
		return ratioOne, true
	}
	r, err := ensemble.Prorate(ensemble.Period{Start: c.Start, End: x}, c, g.popts)
	if err != nil {
		g.ps.Add(g.subPath(), err)
		return ratioZero, false
	}
	return r, true
}

// proration describes the proration of full over [from, to).
func (g *gen) proration(full ensemble.Money, from, to ensemble.Ratio) *Proration {
	return &Proration{Basis: g.popts.Basis, From: from, To: to, Fraction: to.Sub(from),
		AtTo: full.MulRatio(to, g.mode), AtFrom: full.MulRatio(from, g.mode)}
}

// whole splits a recurring rating into the part that is prorated and the
// part billed whole: for a catalog.FlatWhole volume price (Lago's prorated
// volume charge), the tier's flat amount is billed whole and only the rest
// (the units, and any spend adjustment) is prorated; for every other price
// all of full is prorated and whole is zero.
func (g *gen) whole(ch *chargeInfo, full ensemble.Money, tiers []catalog.Line) (part, whole ensemble.Money) {
	if !ch.flatWhole || len(tiers) != 1 || tiers[0].FlatAmount.IsZero() {
		return full, ensemble.Money{}
	}
	return g.sub(full, tiers[0].FlatAmount), tiers[0].FlatAmount
}

// prorate returns round(part × to) - round(part × from) + round(whole).
func (g *gen) prorate(part, whole ensemble.Money, from, to ensemble.Ratio, toOne bool) ensemble.Money {
	amt := g.cumOne(part, from, to, toOne)
	if !whole.IsZero() {
		amt = g.add(amt, whole.Round(g.mode))
	}
	return amt
}

// prorationWhole is proration of the prorated part, recording the part
// billed whole.
func (g *gen) prorationWhole(part, whole ensemble.Money, from, to ensemble.Ratio) *Proration {
	p := g.proration(part, from, to)
	p.Whole = whole
	return p
}

// cum returns round(m × to) - round(m × from).
func (g *gen) cum(m ensemble.Money, from, to ensemble.Ratio) ensemble.Money {
	return g.cumOne(m, from, to, false)
}

// cumOne is cum, told whether to is 1 (which spares comparing rationals).
func (g *gen) cumOne(m ensemble.Money, from, to ensemble.Ratio, toOne bool) ensemble.Money {
	var hi ensemble.Money
	if toOne || to.Cmp(ratioOne) == 0 {
		hi = m.Round(g.mode)
	} else {
		hi = m.MulRatio(to, g.mode)
	}
	if from.IsZero() {
		return hi
	}
	return g.sub(hi, m.MulRatio(from, g.mode))
}

// streams turns an item's segments, clipped at the cancellation, into
// charge streams sorted by key; adjacent pieces of one state merge.
func (g *gen) streams(it *Item) []stream {
	segs := g.segments(it)
	if len(segs) == 0 {
		return nil
	}
	out := make([]stream, 0, len(g.b.offerIn(segs[0].Pin, g.cur).charges)+len(segs[0].AddOns))
	for _, sg := range segs {
		addPin := func(pin catalog.Pin, qty decimal.Decimal, addOn bool) {
			for _, ch := range g.b.offerIn(pin, g.cur).charges {
				segDisc := segmentDiscount(&sg, ch.id)
				k := -1
				for i := range out {
					if out[i].key == ch.key {
						k = i
						break
					}
				}
				if k < 0 {
					k = len(out)
					out = append(out, stream{key: ch.key, pieces: g.arena.pieceSlice(len(segs))})
				}
				st := &out[k]
				if n := len(st.pieces); n > 0 {
					last := &st.pieces[n-1]
					if last.end.Equal(sg.Start) && last.pin == pin && last.qty.Equal(qty) && last.disc.Equal(segDisc) {
						last.end = sg.End
						continue
					}
				}
				st.pieces = append(st.pieces, piece{start: sg.Start, end: sg.End, pin: pin, qty: qty, ch: ch, addOn: addOn, disc: segDisc})
			}
		}
		addPin(sg.Pin, sg.Quantity, false)
		for _, a := range sg.AddOns {
			addPin(a.Pin, a.Quantity.Mul(sg.Quantity), true)
		}
	}
	slices.SortFunc(out, func(a, b stream) int { return strings.Compare(a.key, b.key) })
	return out
}

// segments returns the item's segments clipped at the cancellation.
func (g *gen) segments(it *Item) []Segment {
	if g.s.CancelAt.IsZero() {
		return it.Segments
	}
	out := make([]Segment, 0, len(it.Segments))
	for _, sg := range it.Segments {
		if !sg.Start.Before(g.s.CancelAt) {
			break
		}
		if sg.End.IsZero() || sg.End.After(g.s.CancelAt) {
			sg.End = g.s.CancelAt
		}
		out = append(out, sg)
	}
	return out
}

// windowOf returns the line starts discount d (of item it, or the
// subscription's: nil) applies to, or the service it covers (exact).
func (g *gen) windowOf(d *Discount, it *Item) (window, bool) {
	if w, ok := g.wins[d]; ok {
		return w, true
	}
	if d.Duration == Repeating && d.Length != (ensemble.Cadence{}) {
		return g.exactWindow(d, it)
	}
	start := d.Start
	if start.IsZero() {
		start = g.s.Anchor
	}
	c, n, err := g.cad.PeriodAt(g.s.Anchor, start, g.loc)
	if err != nil {
		g.ps.Add(g.subPath()+".discounts", err)
		return window{}, false
	}
	w := window{from: c.Start}
	switch d.Duration {
	case Once:
		w.to = c.End
	case Repeating:
		if w.to, err = g.cad.Boundary(g.s.Anchor, n+d.Cycles, g.loc); err != nil {
			g.ps.Add(g.subPath()+".discounts", err)
			return window{}, false
		}
	}
	if g.wins == nil {
		g.wins = map[*Discount]window{}
	}
	g.wins[d] = w
	return w, true
}

// segmentDiscount returns segment sg's line discount as it applies to the
// lines of charge ch: Discount, or zero when DiscountCharges leaves ch out.
func segmentDiscount(sg *Segment, ch catalog.ChargeID) ensemble.Ratio {
	if len(sg.DiscountCharges) > 0 && !slices.Contains(sg.DiscountCharges, ch) {
		return ratioZero
	}
	return sg.Discount
}

// scoped reports whether discount d reaches the lines of charge ch: it
// names no charges (Discount.Charges), or names ch.
func (d *Discount) scoped(ch catalog.ChargeID) bool {
	return len(d.Charges) == 0 || slices.Contains(d.Charges, ch)
}

// pcts returns the percentage discounts that apply to a line of charge ch
// of offer o on item it whose service starts at t, sorted by ID; seg is
// the segment's line discount as it applies to ch (segmentDiscount).
func (g *gen) pcts(it *Item, o catalog.OfferID, ch catalog.ChargeID, t time.Time, seg ensemble.Ratio) []pct {
	var out []pct
	if !seg.IsZero() {
		out = append(out, pct{id: lineDiscount, p: seg})
	}
	if !it.PartnerDiscount.IsZero() && (len(it.PartnerDiscountCharges) == 0 || slices.Contains(it.PartnerDiscountCharges, ch)) {
		out = append(out, pct{id: partnerDiscount, p: it.PartnerDiscount})
	}
	scan := func(ds []Discount, owner *Item) {
		for i := range ds {
			d := &ds[i]
			// Offer limits an item's discount as it does a subscription's
			// (and as fixedApplies does a fixed amount).
			if d.Percent.IsZero() || (d.Offer != "" && d.Offer != o) || !d.scoped(ch) {
				continue
			}
			if w, ok := g.windowOf(d, owner); ok && (w.exact || w.contains(t)) {
				// An exact window is clipped to the line's service by
				// discount, which leaves it out where they do not meet.
				out = append(out, pct{id: d.ID, p: d.Percent, w: w})
			}
		}
	}
	scan(it.Discounts, it)
	scan(g.s.Discounts, nil)
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b pct) int { return strings.Compare(string(a.id), string(b.id)) })
	}
	return out
}

// discount sets the percentage discounts of a line billing [from, to) of
// cycle c: each is round(base × p × to) - round(base × p × from) +
// round(whole × p), capped in total at the line's amount (whole is the
// part of a line billed whole rather than prorated; usually zero). A
// discount with an exact window takes [from, to) clipped to it, and the
// same share of whole; one that does not meet the line is left out.
func (g *gen) discount(l *Line, base, whole ensemble.Money, ps []pct, c ensemble.Period, from, to ensemble.Ratio, neg bool) {
	total := ensemble.MoneyFromMinor(0, g.cur)
	for _, p := range ps {
		lo, hi, ok := g.covered(p, c, from, to)
		if !ok {
			continue
		}
		amt := g.cum(base, lo.Mul(p.p), hi.Mul(p.p))
		if !whole.IsZero() {
			amt = g.add(amt, whole.MulRatio(p.p.Mul(wholeShare(p, from, to, lo, hi)), g.mode))
		}
		if neg {
			amt = amt.Neg()
		}
		ad := AppliedDiscount{ID: p.id, Percent: p.p, Amount: amt}
		if lo.Cmp(from) != 0 || hi.Cmp(to) != 0 {
			ad.Service = partOf(l.Period, p.w)
		}
		l.Discounts = append(l.Discounts, ad)
		total = g.add(total, amt)
	}
	g.capDiscount(l, total)
}

// deltaDiscount sets the discounts of a usage adjustment of service svc:
// round(cumulative × p) - round(billed × p), each taken over the share of
// svc an exact window covers (see usageDiscount).
func (g *gen) deltaDiscount(l *Line, cumulative, billed ensemble.Money, ps []pct, svc ensemble.Period) {
	total := ensemble.MoneyFromMinor(0, g.cur)
	for _, p := range ps {
		lo, hi, ok := g.covered(p, svc, ratioZero, ratioOne)
		if !ok {
			continue
		}
		amt := g.sub(g.cum(cumulative, lo.Mul(p.p), hi.Mul(p.p)), g.cum(billed, lo.Mul(p.p), hi.Mul(p.p)))
		ad := AppliedDiscount{ID: p.id, Percent: p.p, Amount: amt}
		if lo.Sign() != 0 || hi.Cmp(ratioOne) != 0 {
			ad.Service = partOf(svc, p.w)
		}
		l.Discounts = append(l.Discounts, ad)
		total = g.add(total, amt)
	}
	g.capDiscount(l, total)
}

func (g *gen) capDiscount(l *Line, total ensemble.Money) {
	// Rounding each discount on its own may take a minor unit more than the
	// line holds: give it back, from the last discount towards the first.
	if g.cmp(total.Abs(), l.Amount.Abs()) > 0 {
		over := g.sub(total, l.Amount)
		for k := len(l.Discounts) - 1; k >= 0 && !over.IsZero(); k-- {
			d := &l.Discounts[k]
			take := over
			if g.cmp(over.Abs(), d.Amount.Abs()) > 0 || over.Sign() != d.Amount.Sign() {
				take = d.Amount
			}
			d.Amount = g.sub(d.Amount, take)
			over = g.sub(over, take)
		}
		total = l.Amount
	}
	l.Discount = total
}

func (g *gen) lineID(it *Item, cycle time.Time, ch *chargeInfo, kind LineKind, at time.Time) LineID {
	buf := make([]byte, 0, 128)
	buf = append(buf, g.s.ID...)
	buf = append(buf, '/')
	buf = append(buf, it.ID...)
	buf = append(buf, '/')
	buf = appendTime(buf, cycle)
	buf = append(buf, '/')
	buf = append(buf, ch.offer.pin.Offer...)
	buf = append(buf, '/')
	buf = append(buf, ch.id...)
	buf = append(buf, '/')
	buf = append(buf, lineKindNames[kind]...)
	if !at.IsZero() {
		buf = append(buf, '/')
		buf = appendTime(buf, at)
	}
	return LineID(buf)
}

// next returns a zero line appended to g.lines. The arena keeps the room
// past its lines zeroed, so a line is taken by reslicing rather than by
// appending (and so zeroing) a new one; when the room runs out, the lines
// move to a larger array and the room they leave is zeroed.
func (g *gen) next() *Line {
	if n := len(g.lines); n < cap(g.lines) {
		g.lines = g.lines[:n+1]
	} else {
		old := g.lines
		g.lines = append(g.lines, Line{})
		g.arena.release(old)
	}
	return &g.lines[len(g.lines)-1]
}

// newLine appends a line of charge ch on item it to g.lines and returns
// it, to be filled in place; the pointer is valid until the next append.
func (g *gen) newLine(it *Item, kind LineKind, ch *chargeInfo, pin catalog.Pin, qty decimal.Decimal) *Line {
	l := g.next()
	l.Kind = kind
	l.Subscription = g.s.ID
	l.Item = it.ID
	l.Customer = g.s.Customer.ID
	l.Pin = pin
	l.Charge = ch.id
	l.Model = ch.model
	l.Quantity = qty
	l.Currency = g.cur
	l.Description = ch.desc
	l.Refs = append(g.arena.refSlice(6), g.itemRef, ch.offer.refs, ch.chargeRef, ch.priceRef)
	return l
}

// rateKey identifies a whole-cycle rating in the build's cache: a charge
// and a quantity whose coefficient fits an int64.
type rateKey struct {
	ch   *chargeInfo
	coef int64
	exp  int32
}

// rate rates q under the options of a whole cycle (exact, unrounded).
// Ratings are cached for the build: recurring charges rate the same few
// quantities again and again. Cached ratings share their tier breakdown,
// which nothing modifies.
func (g *gen) rate(ch *chargeInfo, q decimal.Decimal, at int) (catalog.Rating, bool) {
	var key rateKey
	cacheable := g.cache != nil && q.NumDigits() <= 18
	if cacheable {
		key = rateKey{ch: ch, coef: q.CoefficientInt64(), exp: q.Exponent()}
		if r, ok := g.cache[key]; ok {
			return r, true
		}
	}
	r, err := ch.rater.Rate(q, catalog.RateOptions{Rounding: catalog.RoundNone, Mode: g.mode})
	if err != nil {
		g.ps.Add(g.itemPath(at), err)
		return catalog.Rating{}, false
	}
	if cacheable && len(g.cache) < maxCached {
		g.cache[key] = r
	}
	return r, true
}

// maxCached bounds the rating cache of one build.
const maxCached = 4096

// item generates every line of one item that the run's cycles hold.
func (g *gen) item(idx int, it *Item, aggs []usage.Aggregate, late []LateUsage, progs []ProgressiveUsage) {
	at := idx
	g.itemRef = ensemble.Ref{Kind: RefItem, ID: string(g.s.ID) + "/" + string(it.ID)}
	// The item's cycles step from its own anchor, if it has one; so does a
	// thirty-day basis.
	g.anchor = g.s.Anchor
	if !it.Anchor.IsZero() {
		g.anchor = it.Anchor
	}
	g.popts.Anchor = g.anchor
	segs := g.segments(it)
	g.cuts = g.b.usageCuts(segs, g.cur)
	g.arena.resetPieces()
	sts := g.streams(it)
	for k := range sts {
		st := &sts[k]
		first := st.pieces[0]
		switch first.ch.typ {
		case catalog.OneTime:
			// Once at activation: the base offer's fees when the item
			// starts, an add-on's when it is first attached. An upgrade
			// does not bill the new plan's one-time fees.
			if first.addOn || first.start.Equal(segs[0].Start) {
				g.oneTime(it, first, at)
			}
		case catalog.Recurring:
			g.recurring(it, st, at)
		case catalog.Usage:
			g.idleUsage(it, st, segs, aggs, progs, at)
			g.spendTopUps(it, st, segs, aggs, late, progs, at)
		}
	}
	g.earlyTermination(it, segs, at)
	for k := range aggs {
		g.usageLine(it, segs, &aggs[k], nil, true, at)
	}
	for k := range late {
		g.usageLine(it, segs, &late[k].Billed, &late[k].Late, false, at)
	}
	for k := range progs {
		g.progressive(it, segs, &progs[k], at)
	}
}

func (g *gen) oneTime(it *Item, p piece, at int) {
	if !g.all && !g.wanted(p.start) {
		return
	}
	r, ok := g.rate(p.ch, p.qty, at)
	if !ok {
		return
	}
	l := g.newLine(it, KindOneTime, p.ch, p.pin, p.qty)
	l.ID = g.lineID(it, p.start, p.ch, KindOneTime, time.Time{})
	l.Date = p.start
	l.Cycle = ensemble.Period{Start: p.start, End: p.start}
	l.Period = l.Cycle
	l.Full = r.Amount
	l.Tiers = r.Lines
	l.Amount = r.Amount.Round(g.mode)
	g.discount(l, l.Amount, ensemble.Money{}, g.pcts(it, p.pin.Offer, p.ch.id, p.start, p.disc), l.Cycle, ratioZero, ratioOne, false)
}

// recurring generates the lines of a recurring stream for every cycle
// overlapping [from, At].
func (g *gen) recurring(it *Item, st *stream, at int) {
	first := st.pieces[0]
	last := st.pieces[len(st.pieces)-1]
	cad := first.ch.cadence
	if cad == (ensemble.Cadence{}) {
		cad = g.cad
	}
	start := first.start
	if g.from.After(start) && !g.repairing {
		start = g.from
		if g.all && last.end.Equal(start) {
			// The stream stops at from, a commitment cycle's start: its
			// credit there serves from then on, so it counts toward that
			// cycle; compute the cycle the stop falls in, as a run from
			// before from does.
			start = last.end.Add(-1)
		}
	}
	end := g.limit
	if !last.end.IsZero() && last.end.Before(end) {
		end = last.end
	}
	if !start.Before(end) {
		return
	}
	advance := first.ch.timing != catalog.InArrears
	err := cycles(cad, g.anchor, start, end, g.loc, func(c ensemble.Period) bool {
		if advance {
			g.advance(it, st, c, at)
		} else {
			g.arrears(it, st, c, at)
		}
		return true
	})
	if err != nil {
		g.ps.Add(g.itemPath(at), err)
	}
}

// clip returns p's overlap with cycle c.
func clip(p piece, c ensemble.Period) (time.Time, time.Time, bool) {
	s, e := p.start, p.end
	if s.Before(c.Start) {
		s = c.Start
	}
	if e.IsZero() || e.After(c.End) {
		e = c.End
	}
	return s, e, s.Before(e)
}

func (g *gen) advance(it *Item, st *stream, c ensemble.Period, at int) {
	if !g.all {
		// Skip a cycle none of whose events (a bill at each piece's start,
		// a credit at each piece's end inside the cycle) is due.
		due := false
		for _, p := range st.pieces {
			s, e, ok := clip(p, c)
			if ok && (g.wanted(s) || (e.Before(c.End) && g.wanted(e))) {
				due = true
				break
			}
		}
		if !due {
			return
		}
	}
	var ob billed
	has := false
	var prevEnd time.Time
	for _, p := range st.pieces {
		s, e, ok := clip(p, c)
		if !ok {
			continue
		}
		if has {
			g.credit(it, &ob, prevEnd, at)
		}
		ob, has = g.charge(it, p, c, s, at)
		prevEnd = e
	}
	if has && prevEnd.Before(c.End) {
		g.credit(it, &ob, prevEnd, at)
	}
}

// charge bills piece p in advance for [s, cycle end).
func (g *gen) charge(it *Item, p piece, c ensemble.Period, s time.Time, at int) (billed, bool) {
	r, ok := g.rate(p.ch, p.qty, at)
	if !ok {
		return billed{}, false
	}
	from, ok := g.frac(c, s)
	if !ok {
		return billed{}, false
	}
	l := g.newLine(it, KindRecurring, p.ch, p.pin, p.qty)
	l.ID = g.lineID(it, c.Start, p.ch, KindRecurring, s)
	l.Date = s
	l.Cycle = c
	l.Period = ensemble.Period{Start: s, End: c.End}
	l.Full = r.Amount
	l.Tiers = r.Lines
	part, whole := g.whole(p.ch, r.Amount, r.Lines)
	l.Amount = g.prorate(part, whole, from, ratioOne, true)
	if !from.IsZero() {
		l.Proration = g.prorationWhole(part, whole, from, ratioOne)
	}
	ps := g.pcts(it, p.pin.Offer, p.ch.id, s, p.disc)
	g.discount(l, part, whole, ps, c, from, ratioOne, false)
	return billed{id: l.ID, p: p, full: r.Amount, tiers: r.Lines, pcts: ps, cycle: c}, true
}

// credit credits the unused part [t, cycle end) of a line billed in
// advance, at the amounts it was billed with.
func (g *gen) credit(it *Item, ob *billed, t time.Time, at int) {
	c := ob.cycle
	from, ok := g.frac(c, t)
	if !ok {
		return
	}
	full, pcts, tiers := ob.full, ob.pcts, ob.tiers
	credits := ob.id
	// A run catching up a back-dated change credits the line as it
	// recomputes it, and reconciles the credit with what was billed (see
	// reconcile); others credit what was billed.
	bl, ok := g.billed[ob.id]
	if cur, again := g.reissued[ob.id]; again && !g.repairing {
		// Billed anew by a run that caught up a back-dated change.
		bl, ok, credits = cur, true, cur.ID
	}
	if ok && !g.repairing && bl.Kind == KindRecurring && bl.Full.Currency() == g.cur && inRange(bl.Full.Amount()) {
		// Credit what was actually billed.
		full, pcts, tiers = bl.Full, nil, bl.Tiers
		for _, d := range bl.Discounts {
			if !d.Percent.IsZero() {
				pcts = append(pcts, pct{id: d.ID, p: d.Percent, w: g.windowNamed(it, d.ID)})
			}
		}
	}
	l := g.newLine(it, KindProrationCredit, ob.p.ch, ob.p.pin, ob.p.qty)
	l.ID = g.lineID(it, c.Start, ob.p.ch, KindProrationCredit, t)
	l.Description = "Unused time on " + l.Description
	l.Date = t
	l.Cycle = c
	l.Period = ensemble.Period{Start: t, End: c.End}
	l.Full = full
	l.Tiers = ob.tiers
	// The unused part of what was prorated; a flat amount billed whole is
	// not given back.
	part, whole := g.whole(ob.p.ch, full, tiers)
	l.Amount = g.cumOne(part, from, ratioOne, true).Neg()
	l.Proration = g.prorationWhole(part, whole, from, ratioOne)
	l.Credits = credits
	l.Refs = append(l.Refs, ensemble.Ref{Kind: RefLine, ID: string(credits)})
	g.discount(l, part, ensemble.Money{}, pcts, c, from, ratioOne, true)
}

// arrears bills each state a stream held during cycle c, in arrears. The
// states of one stretch of service (pieces that follow one another without
// a gap) are due together when the stretch ends: at the cycle's end, or
// where the charge stops inside it (the item stops or pauses, or changes to
// an offer without the charge). A stretch's due instant depends on nothing
// after it, so a restart later in the cycle, learnt after the stretch was
// billed, bills only its own service: each piece is billed once.
func (g *gen) arrears(it *Item, st *stream, c ensemble.Period, at int) {
	ps := st.pieces
	for i := 0; i < len(ps); {
		_, end, ok := clip(ps[i], c)
		if !ok {
			i++
			continue
		}
		j := i + 1
		for ; j < len(ps); j++ {
			s, e, ok := clip(ps[j], c)
			if !ok || !s.Equal(end) {
				break
			}
			end = e
		}
		if g.all || g.wanted(end) {
			for k := i; k < j; k++ {
				if !g.arrearsLine(it, ps[k], c, end, at) {
					return
				}
			}
		}
		i = j
	}
}

// arrearsLine bills piece p's part of cycle c in arrears, due at due (the
// end of its stretch). It reports false when rating or prorating failed
// (the problem is added).
func (g *gen) arrearsLine(it *Item, p piece, c ensemble.Period, due time.Time, at int) bool {
	s, e, _ := clip(p, c)
	r, ok := g.rate(p.ch, p.qty, at)
	if !ok {
		return false
	}
	from, ok1 := g.frac(c, s)
	to, ok2 := g.frac(c, e)
	if !ok1 || !ok2 {
		return false
	}
	l := g.newLine(it, KindRecurring, p.ch, p.pin, p.qty)
	l.ID = g.lineID(it, c.Start, p.ch, KindRecurring, s)
	l.Date = due
	l.Cycle = c
	l.Period = ensemble.Period{Start: s, End: e}
	l.Full = r.Amount
	l.Tiers = r.Lines
	toOne := !e.Before(c.End)
	part, whole := g.whole(p.ch, r.Amount, r.Lines)
	l.Amount = g.prorate(part, whole, from, to, toOne)
	if !from.IsZero() || !toOne {
		l.Proration = g.prorationWhole(part, whole, from, to)
	}
	g.discount(l, part, whole, g.pcts(it, p.pin.Offer, p.ch.id, s, p.disc), c, from, to, false)
	return true
}

// idleUsage bills, for every cycle of a usage charge whose usage the run
// was not given, the rating of zero usage when it is not zero: the first
// tier's flat amount or the minimum spend is owed even when nothing was
// used. (Periods with usage are billed from their aggregates.)
func (g *gen) idleUsage(it *Item, st *stream, segs []Segment, aggs []usage.Aggregate, progs []ProgressiveUsage, at int) {
	g.usagePeriods(st, at, func(meter usage.MeterID, pc ensemble.Period, _ ensemble.Cadence) {
		g.idlePiece(it, st, segs, aggs, progs, meter, pc, at)
	})
}

// usagePeriods calls f with the meter, each usage period and the cadence
// of stream st's usage charge, over the periods of its service the run
// bills (from its From, or where a catch-up repairs from): each piece of a
// cycle, cut where the item's usage charges change, is a usage period of
// its own (SplitAtChange).
func (g *gen) usagePeriods(st *stream, at int, f func(meter usage.MeterID, pd ensemble.Period, cad ensemble.Cadence)) {
	first, last := st.pieces[0], st.pieces[len(st.pieces)-1]
	cad := first.ch.cadence
	if cad == (ensemble.Cadence{}) {
		cad = g.cad
	}
	from := g.from
	if g.repairing && g.repairFrom.Before(from) {
		from = g.repairFrom // catching up: see usageCaughtUp and spendTopUpsOf
	}
	start, end := first.start, g.limit
	if from.After(start) {
		start = from
	}
	if !last.end.IsZero() && last.end.Before(end) {
		end = last.end
	}
	if !start.Before(end) {
		return
	}
	meter := usage.MeterID(first.ch.meter)
	err := cycles(cad, g.anchor, start, end, g.loc, func(c ensemble.Period) bool {
		for _, pd := range usagePieces(c, g.cuts) {
			f(meter, pd, cad)
		}
		return true
	})
	if err != nil {
		g.ps.Add(g.itemPath(at), err)
	}
}

// idlePiece bills usage period pc of meter as idle usage of stream st,
// unless the run was given its usage or another stream's charge prices it.
func (g *gen) idlePiece(it *Item, st *stream, segs []Segment, aggs []usage.Aggregate, progs []ProgressiveUsage, meter usage.MeterID, pc ensemble.Period, at int) {
	for k := range aggs {
		if aggs[k].Meter == meter && aggs[k].Period.Start.Equal(pc.Start) {
			return
		}
	}
	for k := range progs {
		if progs[k].Usage.Meter == meter && progs[k].Usage.Period.Start.Equal(pc.Start) {
			return
		}
	}
	ch, due, _, fallback := g.pieceCharge(segs, meter, pc)
	if ch == nil || fallback || ch.key != st.key || (!g.all && !g.due(due) && !g.usageCaughtUp(it, segs, ch, pc, due)) {
		return
	}
	idle := usage.Aggregate{Line: usageRef(g.s, it), Meter: meter, Period: pc}
	n := len(g.lines)
	g.usageLine(it, segs, &idle, nil, false, at)
	if len(g.lines) > n && g.lines[n].Amount.IsZero() {
		clear(g.lines[n:])
		g.lines = g.lines[:n]
	}
	if !g.repairing && !g.run.After.IsZero() && !due.After(g.run.After) {
		e := earlierUsage{item: it, at: at, pin: ch.offer.pin, charge: ch.id, line: idle.Line, meter: meter, pd: pc,
			svc: usageService(segs, pc, due), due: due}
		if len(g.lines) > n {
			e.idle = g.lines[n].ID
		}
		g.earlier = append(g.earlier, e)
	}
}

// pieceCharge is usageCharge for usage period pd. When no segment over pd
// prices meter m but the item's usage periods are cut (a piece after a
// change to an offer without the meter), usage recorded in it is billed at
// the charge that priced m last before pd's end, as the whole period would
// be under SplitNone; fallback then says so (an idle piece owes nothing
// for it). end is when the item's service in pd first stops (firstStop).
func (g *gen) pieceCharge(segs []Segment, m usage.MeterID, pd ensemble.Period) (ch *chargeInfo, end time.Time, disc ensemble.Ratio, fallback bool) {
	ch, end, disc = g.usageCharge(segs, m, pd)
	if ch != nil || len(g.cuts) == 0 || len(segs) == 0 {
		return ch, end, disc, false
	}
	if end = firstStop(segs, pd); end.IsZero() {
		return nil, time.Time{}, ratioZero, false
	}
	ch, disc = g.latestCharge(segs, m, pd.End)
	return ch, end, disc, ch != nil
}

// usageCuts returns the instants at which segs (in start order, clipped at
// the cancellation) change the charge that prices some meter's usage and
// keep no meter's charge that bills pieces otherwise than the whole
// (splitsAlike), in order, under SplitAtChange; nil under SplitNone. A
// change that keeps such a charge (an add-on's with a minimum spend,
// included units or tiers, while the base offer changes) cuts nothing: the
// item's meters share one set of usage periods, and the kept meter would
// get its included units once per piece, or meet its spend bounds piece
// by piece rather than over the period; its
// period is billed whole at the latest segment's charges, as under
// SplitNone. A segment's charge for
// a meter is its offer's usage charge of that meter, or else the first of
// its add-ons' (as usageCharge picks it); a segment cuts at its start when
// it prices a meter by another charge (another offer, offer version or
// charge) than the segment before it did. A segment without a charge for
// the meter, or after one without, cuts nothing: its usage is billed with
// the piece it falls in, as a whole period is under SplitNone.
func (b *Builder) usageCuts(segs []Segment, cur ensemble.Currency) []time.Time {
	if b.opts.UsageSplit != SplitAtChange || len(segs) < 2 {
		return nil
	}
	var cuts []time.Time
	prev := b.meterCharges(segs[0], cur, nil)
	var now []*chargeInfo
	for _, sg := range segs[1:] {
		now = b.meterCharges(sg, cur, now[:0])
		// Cut where a meter's charge changes and no meter keeps its
		// charge across: one usage line has one set of periods, and a
		// meter whose charge goes on (an add-on's) would get its included
		// units once per piece, or meet its spend bounds piece by piece.
		changed, kept := false, false
		for _, ch := range now {
			for _, p := range prev {
				if p.meter == ch.meter {
					changed = changed || p != ch
					kept = kept || p == ch && !splitsAlike(ch)
				}
			}
		}
		cut := changed && !kept
		if cut && (len(cuts) == 0 || sg.Start.After(cuts[len(cuts)-1])) {
			cuts = append(cuts, sg.Start.UTC())
		}
		prev, now = now, prev
	}
	return cuts
}

// splitsAlike reports whether usage charge ch bills a period cut in pieces
// as it bills it whole (to a rounding of each piece): a per-unit price
// with no free units and no minimum or maximum spend. Tiers, included
// units, flat amounts and spend bounds apply per period, so a kept charge
// of any other price stops a cut (usageCuts).
func splitsAlike(ch *chargeInfo) bool {
	if ch.model != catalog.PerUnit {
		return false
	}
	p := ch.rater.Price()
	return p.FreeUnits.IsZero() && p.MinimumSpend.IsZero() && p.MaximumSpend.IsZero()
}

// meterCharges appends to dst the usage charge pricing each meter in
// segment sg: its offer's, or else the first of its add-ons'.
func (b *Builder) meterCharges(sg Segment, cur ensemble.Currency, dst []*chargeInfo) []*chargeInfo {
	for i := -1; i < len(sg.AddOns); i++ {
		pin := sg.Pin
		if i >= 0 {
			pin = sg.AddOns[i].Pin
		}
		oi := b.offerIn(pin, cur)
		if oi == nil {
			continue
		}
		for _, ch := range oi.charges {
			if ch.typ == catalog.Usage && !slices.ContainsFunc(dst, func(c *chargeInfo) bool { return c.meter == ch.meter }) {
				dst = append(dst, ch)
			}
		}
	}
	return dst
}

// usagePieces returns the usage periods of cycle c of an item whose usage
// charges change at cuts (usageCuts): c cut at the cuts strictly inside
// it, in order, or c alone.
func usagePieces(c ensemble.Period, cuts []time.Time) []ensemble.Period {
	i, _ := slices.BinarySearchFunc(cuts, c.Start, func(t, s time.Time) int {
		if t.After(s) {
			return 1
		}
		if t.Equal(s) {
			return 0
		}
		return -1
	})
	if i < len(cuts) && cuts[i].Equal(c.Start) {
		i++
	}
	if i == len(cuts) || !cuts[i].Before(c.End) {
		return []ensemble.Period{c}
	}
	out := make([]ensemble.Period, 0, 2)
	start := c.Start
	for ; i < len(cuts) && cuts[i].Before(c.End); i++ {
		out = append(out, ensemble.Period{Start: start, End: cuts[i]})
		start = cuts[i]
	}
	return append(out, ensemble.Period{Start: start, End: c.End})
}

// usagePeriodOK reports whether pd is a usage period of the item being
// built, under charge cadence cad: a cycle from the item's anchor, or,
// where the item's usage charges change inside a cycle, a piece of it
// (usagePieces). Otherwise it returns the error to report for meter m.
func (g *gen) usagePeriodOK(cad ensemble.Cadence, agg *usage.Aggregate, pd ensemble.Period) error {
	m := agg.Meter
	c, _, err := cad.PeriodAt(g.anchor, pd.Start, g.loc)
	if err == nil {
		c = ensemble.Period{Start: c.Start.UTC(), End: c.End.UTC()}
		pieces := usagePieces(c, g.cuts)
		for _, p := range pieces {
			if p.Equal(pd) {
				if len(pieces) > 1 && agg.Aggregation == usage.WeightedAverage && !agg.Cycle.Equal(c) {
					return usageErr(*agg, ErrAveragePiece,
						fmt.Sprintf("the item's usage charge changes at %s: the piece %s is averaged over %s, not over its cycle %s; collect it on the lines of Builder.UsageLines (usage.Line.Cycles), which average each piece over its cycle, or set Options.UsageSplit to SplitNone to bill the cycle whole",
							fmtRFC(pieces[1].Start), pd, averagedOver(agg), c))
				}
				return nil
			}
		}
		if len(pieces) > 1 && c.Equal(pd) {
			return usageErr(*agg, ErrSpansChange,
				fmt.Sprintf("the item's usage charge changes at %s: bill each piece (%s) as its own usage period (Builder.UsageLines lists them for usage.Config), or set Options.UsageSplit to SplitNone",
					fmtRFC(pieces[1].Start), piecesText(pieces)))
		}
		if len(pieces) > 1 {
			return fmt.Errorf("%w: usage of meter %q: %s is not a %s cycle from the item's anchor %s, nor a piece of one cut where the item's usage charge changes (%s)", ErrInvalid, m, pd, cad, fmtTime(g.anchor), piecesText(pieces))
		}
	}
	return fmt.Errorf("%w: usage of meter %q: %s is not a %s cycle from the item's anchor %s", ErrInvalid, m, pd, cad, fmtTime(g.anchor))
}

// averagedOver is the period a weighted average's value is averaged
// over: its cycle, or its own period.
func averagedOver(agg *usage.Aggregate) ensemble.Period {
	if agg.Cycle != (ensemble.Period{}) {
		return agg.Cycle
	}
	return agg.Period
}

func piecesText(ps []ensemble.Period) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// usageCharge finds the usage charge that bills meter m in period pd and
// when the period's usage is due. The item's service in pd runs in
// stretches (segments following one another without a gap); the first
// stretch with a segment pricing m bills the period, at the charge of its
// latest such segment, due when the stretch ends: pd's end when it runs to
// it, else where the item stops or pauses. So a restart later in pd, learnt
// after that usage was billed, does not make it due again: usage recorded
// after the restart is late usage of the period (Run.Late), billed as
// rate(cumulative) - rate(billed), so the period's minimum spend, free units
// and tiers still apply once.
func (g *gen) usageCharge(segs []Segment, m usage.MeterID, pd ensemble.Period) (*chargeInfo, time.Time, ensemble.Ratio) {
	var ch *chargeInfo
	var disc ensemble.Ratio
	var end time.Time // the end in pd of the stretch so far; zero before it
	for _, sg := range segs {
		if !sg.Start.Before(pd.End) {
			break
		}
		if !sg.End.IsZero() && !sg.End.After(pd.Start) {
			continue
		}
		if ch != nil && sg.Start.After(end) {
			break // a gap: the stretch that prices m has ended
		}
		end = pd.End
		if !sg.End.IsZero() && sg.End.Before(end) {
			end = sg.End
		}
		if c := g.segmentCharge(sg, m); c != nil {
			ch, disc = c, segmentDiscount(&sg, c.id)
		}
	}
	if ch == nil {
		return nil, time.Time{}, ratioZero
	}
	return ch, end, disc
}

// latestCharge is the usage charge of meter m of the latest segment that
// starts before instant before and prices m, with that segment's discount.
func (g *gen) latestCharge(segs []Segment, m usage.MeterID, before time.Time) (*chargeInfo, ensemble.Ratio) {
	for k := len(segs) - 1; k >= 0; k-- {
		if !segs[k].Start.Before(before) {
			continue
		}
		if c := g.segmentCharge(segs[k], m); c != nil {
			return c, segmentDiscount(&segs[k], c.id)
		}
	}
	return nil, ratioZero
}

// segmentCharge is the usage charge of meter m that segment sg prices it
// with: its offer's, or else the first of its add-ons'; nil if none.
func (g *gen) segmentCharge(sg Segment, m usage.MeterID) *chargeInfo {
	for i := -1; i < len(sg.AddOns); i++ {
		pin := sg.Pin
		if i >= 0 {
			pin = sg.AddOns[i].Pin
		}
		for _, ch := range g.b.offerIn(pin, g.cur).charges {
			if ch.typ == catalog.Usage && ch.meter == string(m) {
				return ch
			}
		}
	}
	return nil
}

// firstStop returns when the item's service in period pd first stops: the
// end of the first stretch of segments (following one another without a
// gap) that overlaps pd, or pd's end when that stretch runs to it; zero
// when no segment overlaps pd.
func firstStop(segs []Segment, pd ensemble.Period) time.Time {
	var end time.Time
	for _, sg := range segs {
		if !sg.Start.Before(pd.End) || (!end.IsZero() && sg.Start.After(end)) {
			break
		}
		if !sg.End.IsZero() && !sg.End.After(pd.Start) {
			continue
		}
		end = pd.End
		if !sg.End.IsZero() && sg.End.Before(end) {
			end = sg.End
		}
	}
	return end
}

// usageService is the service period of a usage line of period pd: the
// part of it the item was in service, as a recurring line's is clipped to
// its segment. It runs from the start of the first segment (segs are in
// start order) that overlaps pd, or pd's start, to end, when the line is
// due (usageCharge: where that service first stops in pd, or pd's end). An
// item activated on January 15 on a cycle anchored on the 1st uses
// [Jan 15, Feb 1) of January's usage period: its usage line's service
// starts there, so a prepaid commitment bought at activation covers it and
// settlement reports the service from then.
func usageService(segs []Segment, pd ensemble.Period, end time.Time) ensemble.Period {
	start := pd.Start
	for _, sg := range segs {
		if sg.Start.Before(pd.End) && (sg.End.IsZero() || sg.End.After(pd.Start)) {
			if sg.Start.After(start) {
				start = sg.Start
			}
			break
		}
	}
	return ensemble.Period{Start: start.UTC(), End: end.UTC()}
}

// usageLine rates an aggregate, or with late set, bills the late delta
// against billed. given marks an aggregate the host passed to be billed
// (not an idle period's): one the run does not bill is an error, never
// dropped.
func (g *gen) usageLine(it *Item, segs []Segment, agg *usage.Aggregate, late *usage.Aggregate, given bool, at int) {
	pd := ensemble.Period{Start: agg.Period.Start.UTC(), End: agg.Period.End.UTC()}
	ch, end, disc, _ := g.pieceCharge(segs, agg.Meter, pd)
	if ch == nil {
		g.ps.Add(g.itemPath(at), bad(ErrUnknown, "no usage charge for meter %q in %s", agg.Meter, pd))
		return
	}
	cad := ch.cadence
	if cad == (ensemble.Cadence{}) {
		cad = g.cad
	}
	if err := g.usagePeriodOK(cad, agg, pd); err != nil {
		g.ps.Add(g.itemPath(at), err)
		return
	}
	svc := usageService(segs, pd, end)
	date := end
	caught := late == nil && g.usageCaughtUp(it, segs, ch, pd, end)
	if caught {
		date = g.run.At // caught up: a back-dated change revealed the period's service
	}
	if given && !g.due(end) && !caught && !g.context(svc) {
		g.ps.Add(g.itemPath(at), g.notDue(agg, end))
		return
	}
	share, err := g.spendShare(cad, segs, agg.Meter, pd)
	if err == nil && late != nil {
		// Late usage re-rates the period at the share it is billed at by
		// now: its first stretch's and the later ones' due by the run.
		share, err = g.spendShareAt(cad, pd, share, g.laterStretches(ch, segs, agg.Meter, pd, end), g.run.At)
	}
	if err != nil {
		g.ps.Add(g.itemPath(at), err)
		return
	}
	ropts := catalog.RateOptions{Rounding: g.b.opts.Rating, Mode: g.mode, SpendShare: share}
	tr := &UsageTrace{Meter: agg.Meter, Period: pd, Records: agg.Records, Digest: agg.Digest, Ref: agg.Ref(), SpendShare: share, SpendProration: ch.spend}
	cut := g.uncutChange(segs, agg.Meter, pd)
	describe := func(l *Line) {
		if !cut.IsZero() {
			l.Description += " (the whole period at this charge: not cut at " + cut.UTC().Format(time.DateOnly) +
				", where another meter's charge goes on; see invoice.SplitAtChange)"
		}
	}
	usageID := g.lineID(it, pd.Start, ch, KindUsage, time.Time{})
	// rateFailed reports a period's usage the charge cannot rate, naming
	// the usage line, meter and period it is of.
	rateFailed := func(err error, qty decimal.Decimal) {
		ue := &UsageError{Line: usageRef(g.s, it), Meter: agg.Meter, Period: pd, Err: err}
		if errors.Is(err, catalog.ErrNegativeQuantity) {
			ue.Detail = "the period's usage comes to " + qty.String() + ", below zero (a negative correction larger than the usage it corrects): fix or drop the records that take it there"
		}
		g.ps.Add(g.itemPath(at), ue)
	}
	if late == nil {
		r, err := ch.rater.Rate(agg.Value, ropts)
		if err != nil {
			rateFailed(err, agg.Value)
			return
		}
		amount := r.Amount.Round(g.mode)
		shares, err := usageShares(ch, agg, amount)
		if err != nil {
			g.ps.Add(g.itemPath(at), err)
			return
		}
		for _, sh := range shares {
			l := g.newLine(it, KindUsage, ch, ch.offer.pin, sh.qty)
			l.ID = attributedID(usageID, sh.value)
			l.Date = date
			l.Full = r.Amount
			l.Tiers = r.Lines
			l.Amount = sh.amount
			l.Usage = tr
			l.Cycle, l.Period = pd, svc
			l.Refs = append(l.Refs, tr.Ref)
			if sh.value != "" {
				l.Full = sh.amount
				l.Usage = clonePtr(tr)
				l.Attribution = &Attribution{Attribute: ch.attributeTo, Value: sh.value, Quantity: agg.Value, Amount: amount}
				l.Description += " (" + ch.attributeTo + " " + sh.value + ")"
			}
			g.discount(l, l.Amount, ensemble.Money{}, g.pcts(it, ch.offer.pin.Offer, ch.id, svc.Start, disc), svc, ratioZero, ratioOne, false)
			describe(l)
		}
		if g.billedUsage != nil && g.due(date) {
			*g.billedUsage = append(*g.billedUsage, *agg)
		}
		return
	}
	cum, err := agg.Merge(*late)
	if err != nil {
		g.ps.Add(g.itemPath(at), err)
		return
	}
	d, err := ch.rater.RateDelta(agg.Value, cum.Value, ropts, ropts)
	if err != nil {
		rateFailed(err, cum.Value)
		return
	}
	cumAmt, billedAmt := d.Cumulative.Amount.Round(g.mode), d.Billed.Amount.Round(g.mode)
	deltas, err := g.lateShares(ch, agg, &cum, billedAmt, cumAmt)
	if err != nil {
		g.ps.Add(g.itemPath(at), err)
		return
	}
	lr := late.Ref()
	tr.Records, tr.Digest, tr.Ref = cum.Records, cum.Digest, cum.Ref()
	tr.Billed = agg.Value
	tr.Late = &lr
	suffix := late.Digest.String()
	if late.Records == 0 && len(late.Levels) > 0 && late.Levels[0].Carried {
		// A weighted level carried in anew (usage.Config.Billed): no record
		// of the period, so its id is the carried reading's.
		suffix = "carried-" + usage.DigestOf(late.Levels[0].Record).String()
	}
	lateID := LineID(string(g.lineID(it, pd.Start, ch, KindUsageAdjustment, time.Time{})) + "/" + suffix)
	for _, dl := range deltas {
		l := g.newLine(it, KindUsageAdjustment, ch, ch.offer.pin, cum.Value)
		l.ID = attributedID(lateID, dl.value)
		l.Description = "Late usage: " + l.Description
		l.Date = g.run.At
		l.Full = d.Amount
		l.Tiers = d.Cumulative.Lines
		l.Amount = g.sub(dl.cum, dl.billed)
		credited := attributedID(usageID, dl.value)
		if l.Amount.IsNegative() {
			l.Credits = credited
		}
		l.Usage = tr
		l.Cycle, l.Period = pd, svc
		l.Refs = append(l.Refs, tr.Ref, lr, ensemble.Ref{Kind: RefLine, ID: string(credited)})
		if dl.value != "" {
			l.Quantity, l.Full = dl.qty, l.Amount
			l.Usage = clonePtr(tr)
			l.Usage.Billed = dl.billedQty
			l.Attribution = &Attribution{Attribute: ch.attributeTo, Value: dl.value, Quantity: cum.Value, Amount: g.sub(cumAmt, billedAmt)}
			l.Description += " (" + ch.attributeTo + " " + dl.value + ")"
		}
		g.deltaDiscount(l, dl.cum, dl.billed, g.pcts(it, ch.offer.pin.Offer, ch.id, svc.Start, disc), svc)
		describe(l)
	}
}

// uncutChange returns the first instant inside usage period pd at which
// segs change the charge pricing meter m, when pd is billed whole over it
// under SplitAtChange (a kept meter stopped the cut, usageCuts), else the
// zero time: the line says so, since that usage is billed at the latest
// charge.
func (g *gen) uncutChange(segs []Segment, m usage.MeterID, pd ensemble.Period) time.Time {
	if g.b.opts.UsageSplit != SplitAtChange {
		return time.Time{}
	}
	var prev *chargeInfo
	var buf []*chargeInfo
	for _, sg := range segs {
		if !sg.Start.Before(pd.End) || (!sg.End.IsZero() && !sg.End.After(pd.Start)) {
			continue
		}
		buf = g.b.meterCharges(sg, g.cur, buf[:0])
		for _, ch := range buf {
			if ch.meter != string(m) {
				continue
			}
			if prev != nil && ch != prev && sg.Start.After(pd.Start) {
				return sg.Start
			}
			prev = ch
		}
	}
	return time.Time{}
}

// earlyTermination bills the item's early-termination fee when it ends
// (its last segment, clipped at the cancellation, ends) strictly inside a
// term: after the term, or the renewed term, began and before it ends. A
// stop the item later restarted from (a gap between its segments) is a
// pause and owes nothing, unless the restart was recorded after the stop
// took effect: the stop was an end until then, so the fee is billed at it
// and reversed at the restart (see restartUndoes).
func (g *gen) earlyTermination(it *Item, segs []Segment, at int) {
	et := it.Term.EarlyTermination
	if et == nil || len(segs) == 0 {
		return
	}
	act := it.Segments[0].Start
	fee := func(sg Segment, end time.Time) (Line, bool) {
		term, ok := it.Term.At(act, end, g.loc)
		if !ok || !end.After(term.Start) {
			return Line{}, false
		}
		f, ok := g.fee(et, term, end, g.itemPath(at), func() (ensemble.Money, bool) {
			return g.remainingValue(it, sg, end, term.End, at)
		}, func() (ensemble.Money, bool) {
			vals, ok := g.periodsParts(it, sg, end, et.Periods, g.itemPath(at)+".term.early_termination.periods", it.ID, at)
			return g.sum(vals), ok
		})
		if !ok {
			return Line{}, false
		}
		return Line{
			ID:           LineID(string(g.s.ID) + "/" + string(it.ID) + "/" + fmtTime(term.Start) + "/early_termination/" + fmtTime(end)),
			Kind:         KindEarlyTermination,
			Subscription: g.s.ID,
			Item:         it.ID,
			Customer:     g.s.Customer.ID,
			Date:         end,
			Description:  f.desc,
			Pin:          sg.Pin,
			Cycle:        term,
			Period:       ensemble.Period{Start: end, End: term.End},
			Quantity:     decimal.NewFromInt(1),
			Full:         f.full,
			Proration:    f.proration,
			Currency:     g.cur,
			Amount:       f.amount,
			Discount:     ensemble.MoneyFromMinor(0, g.cur),
			Refs: append(g.arena.refSlice(3), g.itemRef, sg.Pin.Ref(),
				ensemble.Ref{Kind: RefTerm, ID: string(g.s.ID) + "/" + string(it.ID)}),
			CostsNotApplied: g.noFeeShare(sg.Pin),
		}, true
	}
	for k := 0; k+1 < len(segs); k++ {
		stop, restart := segs[k].End, segs[k+1].Start
		if !stop.Before(restart) || !g.restartDue(stop, restart) {
			continue
		}
		sg := segs[k]
		if earliest, unknown := recordedAfter(segs[k+1:]); !endUndone(stop, sg.EndRecorded, earliest, unknown) {
			continue
		}
		if l, owed := fee(sg, stop); owed {
			g.feeAndReversal(l, restart)
		}
	}
	last := segs[len(segs)-1]
	if last.End.IsZero() || (!g.all && !g.wanted(last.End)) {
		return
	}
	if l, owed := fee(last, last.End); owed {
		*g.next() = l
	}
}

// noFeeShare lists, for an early-termination fee attributed to bundle pin,
// the bundle's components: none of their suppliers shares the fee (see
// EarlyTermination), and the line's trace says so (CostsNotApplied).
func (g *gen) noFeeShare(pin catalog.Pin) []catalog.SupplierCost {
	if oi := g.b.offerIn(pin, g.cur); oi != nil && len(oi.components) > 0 {
		return slices.Clone(oi.components)
	}
	return nil
}

// subscriptionTerm bills the subscription's early-termination fee
// (Subscription.Term) once, when the subscription ends strictly inside a
// term: at CancelAt, or, without it, when its last item ends. Its remaining
// value is that of every item still in service at the end, each on its own
// cycles. A time when every item had stopped, after which one restarted,
// is a pause of the subscription and owes nothing, unless the restart was
// recorded after the stop took effect: then the fee is billed at the stop
// and reversed at the restart, as an item's is (see restartUndoes).
func (g *gen) subscriptionTerm() {
	et := g.s.Term.EarlyTermination
	if et == nil {
		return
	}
	act, end, open := g.span()
	for _, p := range g.subscriptionPauses() {
		if !g.restartDue(p.stop, p.restart) {
			continue
		}
		if !endUndone(p.stop, p.stopRecorded, p.earliest, p.unknown) {
			continue
		}
		if ls, owed := g.subscriptionFee(act, p.stop); owed {
			for _, l := range ls {
				g.feeAndReversal(l, p.restart)
			}
		}
	}
	if open || end.IsZero() || (!g.all && !g.wanted(end)) {
		return
	}
	if ls, owed := g.subscriptionFee(act, end); owed {
		for _, l := range ls {
			*g.next() = l
		}
	}
}

// subscriptionFee is the lines of the subscription's early-termination fee
// for an end at instant end, the subscription having started at act; false
// when none is owed (the end is not strictly inside a term, or the fee
// comes to nothing).
//
// The fee is allocated over the parts of the remaining value (feeParts:
// each item in service at the end, its offer's recurring charges and each
// add-on's apart) in proportion to each part's remaining value, by largest
// remainder keyed by the part's key, so the lines sum to the fee exactly:
// one line per part with a positive share, attributed to its item and
// offer (Line.Item, Line.Pin), so settlement splits each by the plan of
// the service it was worked out from. A fee with one such part is one line
// with the fee's own ID ("sub/early_termination/term start/end") and no
// item, as before parts were split; with several, each line's ID adds the
// part's key ("/item", or "/item/add_on/offer" for an add-on). A fixed or
// declining fee is allocated the same way; when no part has a remaining
// value, it is one line attributed to the first item (by ID) in service
// at the end that bills a recurring charge, else to the first item.
func (g *gen) subscriptionFee(act, end time.Time) ([]Line, bool) {
	et := g.s.Term.EarlyTermination
	term, ok := g.s.Term.At(act, end, g.loc)
	if !ok || !end.After(term.Start) {
		return nil, false
	}
	var parts, periodParts []feePart
	partsOK := false
	remaining := func(it *Item, sg Segment, j int) ([]ensemble.Money, bool) {
		return g.remainingParts(it, sg, end, term.End, j)
	}
	f, ok := g.fee(et, term, end, g.subPath()+".term", func() (ensemble.Money, bool) {
		parts, partsOK = g.feeParts(end, remaining)
		return g.partsTotal(parts), partsOK
	}, func() (ensemble.Money, bool) {
		var ok bool
		periodParts, ok = g.feeParts(end, func(it *Item, sg Segment, j int) ([]ensemble.Money, bool) {
			return g.periodsParts(it, sg, end, et.Periods, g.subPath()+".term.early_termination.periods", "", j)
		})
		return g.partsTotal(periodParts), ok
	})
	if !ok {
		return nil, false
	}
	// A periods fee bills each part's own value (rounded once per part):
	// its periods of charges, or, capped, its remaining value.
	exact := et.Rule == TerminationPeriods
	if exact && !f.capped {
		parts = periodParts
	}
	if et.Rule != TerminationRemaining && !exact {
		if parts, partsOK = g.feeParts(end, remaining); !partsOK {
			return nil, false
		}
	}
	parts = slices.DeleteFunc(parts, func(p feePart) bool { return !p.value.IsPositive() })
	id := string(g.s.ID) + "/early_termination/" + fmtTime(term.Start) + "/" + fmtTime(end)
	line := func(pin catalog.Pin) Line {
		return Line{
			ID:              LineID(id),
			Kind:            KindEarlyTermination,
			Subscription:    g.s.ID,
			Customer:        g.s.Customer.ID,
			Date:            end,
			Description:     f.desc,
			Pin:             pin,
			Cycle:           term,
			Period:          ensemble.Period{Start: end, End: term.End},
			Quantity:        decimal.NewFromInt(1),
			Full:            f.full,
			Proration:       f.proration,
			Currency:        g.cur,
			Amount:          f.amount,
			Discount:        ensemble.MoneyFromMinor(0, g.cur),
			Refs:            []ensemble.Ref{pin.Ref(), {Kind: RefTerm, ID: string(g.s.ID)}},
			CostsNotApplied: g.noFeeShare(pin),
		}
	}
	if len(parts) == 1 {
		p := parts[0]
		l := line(p.pin)
		l.Refs = append(l.Refs, attribution(p.item, &p.sg)...)
		return []Line{l}, true
	}
	if len(parts) == 0 {
		// No part has a remaining value (a fixed or declining fee): the
		// first item in service at the end that bills a recurring charge,
		// else the first item, takes it whole.
		pin, attr, found := g.firstPinWhere(end.Add(-1), end, g.recurringSegment)
		if !found {
			pin, attr, found = g.firstPin(end.Add(-1), end)
		}
		if !found {
			pin, attr, _ = g.firstPin(act, end)
		}
		l := line(pin)
		l.Refs = append(l.Refs, attr...)
		return []Line{l}, true
	}
	fulls := make([]ensemble.Money, len(parts))
	for i, p := range parts {
		fulls[i] = p.value
	}
	amounts := fulls
	if !exact {
		shares := make([]ensemble.Share, len(parts))
		for i, p := range parts {
			shares[i] = ensemble.Share{Key: p.key, Weight: ensemble.RatioFromDecimal(p.value.Amount())}
		}
		var err error
		if amounts, err = ensemble.Allocate(f.amount, shares, ensemble.AllocateOptions{}); err != nil {
			g.ps.Add(g.subPath()+".term", err)
			return nil, false
		}
		if et.Rule != TerminationRemaining {
			if fulls, err = ensemble.Allocate(f.full.Round(g.mode), shares, ensemble.AllocateOptions{}); err != nil {
				g.ps.Add(g.subPath()+".term", err)
				return nil, false
			}
		}
	}
	out := make([]Line, 0, len(parts))
	for i, p := range parts {
		if amounts[i].IsZero() {
			continue
		}
		l := line(p.pin)
		l.ID = LineID(id + "/" + p.key)
		l.Item = p.item.ID
		l.Description = f.desc + ", the share of item " + string(p.item.ID)
		if p.addOn {
			l.Description += "'s add-on " + string(p.pin.Offer)
		}
		l.Full = fulls[i]
		l.Amount = amounts[i]
		if f.proration != nil {
			pr := *f.proration
			pr.AtTo = amounts[i]
			l.Proration = &pr
		}
		// The item's own references are added with every item line's
		// (itemRefs); the segment ending at the end is not in force after
		// it, so its references are added here.
		l.Refs = append(append(l.Refs, ensemble.Ref{Kind: RefItem, ID: string(g.s.ID) + "/" + string(p.item.ID)}), p.sg.Refs...)
		out = append(out, l)
	}
	return out, true
}

// feePart is a part of a subscription's remaining contract value: what
// the recurring charges of one offer of an item in service at the end
// (its own, or one add-on's) would still have billed to the term's end.
// Its key is unique in the subscription: the item's ID, or "item/add_on/
// offer" for an add-on.
type feePart struct {
	key   string
	item  *Item
	sg    Segment
	pin   catalog.Pin
	addOn bool
	value ensemble.Money
}

// feeParts returns the parts of the subscription's fee at an end at
// instant end, each item in service at the end valued by value (its
// remaining value to the term's end, or its periods of charges: one value
// for the item's offer, then one per add-on), in order of item ID; false
// when one cannot be valued (a problem is reported).
func (g *gen) feeParts(end time.Time, value func(it *Item, sg Segment, j int) ([]ensemble.Money, bool)) ([]feePart, bool) {
	var parts []feePart
	for j := range g.s.Items {
		it := &g.s.Items[j]
		segs := g.segments(it)
		k := slices.IndexFunc(segs, func(sg Segment) bool { return sg.End.Equal(end) })
		if k < 0 {
			continue // not in service at the end: nothing left to bill
		}
		g.anchor = g.s.Anchor
		if !it.Anchor.IsZero() {
			g.anchor = it.Anchor
		}
		g.popts.Anchor = g.anchor
		sg := segs[k]
		vs, ok := value(it, sg, j)
		if !ok {
			return nil, false
		}
		for i, v := range vs {
			p := feePart{key: string(it.ID), item: it, sg: sg, pin: sg.Pin, value: v}
			if i > 0 {
				a := sg.AddOns[i-1]
				p.pin, p.addOn = a.Pin, true
				p.key += "/add_on/" + string(a.Pin.Offer)
			}
			parts = append(parts, p)
		}
	}
	slices.SortStableFunc(parts, func(a, b feePart) int { return strings.Compare(string(a.item.ID), string(b.item.ID)) })
	return parts, true
}

// termFee is an early-termination fee as billed: its base (Full), the
// amount owed, how a declining fee was prorated, its description, and
// whether a periods fee capped at the remaining value billed the
// remaining value (capped).
type termFee struct {
	full, amount ensemble.Money
	proration    *Proration
	desc         string
	capped       bool
}

// fee computes fee et for an end at instant end strictly inside term;
// remaining is the remaining contract value (TerminationRemaining, and the
// cap of TerminationPeriods), periods the value of the periods of charges
// in force at the end (TerminationPeriods). A fee that comes to nothing is
// not owed (false); problems are reported at path.
func (g *gen) fee(et *EarlyTermination, term ensemble.Period, end time.Time, path string, remaining, periods func() (ensemble.Money, bool)) (termFee, bool) {
	f := termFee{desc: "Early termination fee"}
	switch et.Rule {
	case TerminationFixed:
		f.full = ensemble.MoneyFromDecimal(et.Amount, g.cur)
		f.amount = f.full.Round(g.mode)
	case TerminationDeclining:
		// The part of the term left, measured from the term's own start.
		opts := g.popts
		opts.Anchor = term.Start
		gone, err := ensemble.Prorate(ensemble.Period{Start: term.Start, End: end}, term, opts)
		if err != nil {
			g.ps.Add(path, err)
			return termFee{}, false
		}
		// The fee owed is the declining amount itself, as a contract
		// states it: round(Amount × left), rounded once (not Amount less
		// a rounded elapsed part, which differs by a minor unit on ties).
		left := ratioOne.Sub(gone)
		f.full = ensemble.MoneyFromDecimal(et.Amount, g.cur)
		f.amount = f.full.MulRatio(left, g.mode)
		f.proration = &Proration{Basis: g.popts.Basis, From: gone, To: ratioOne, Fraction: left,
			AtTo: f.amount, AtFrom: ensemble.MoneyFromMinor(0, g.cur)}
		f.desc += ", declining over the term"
	case TerminationRemaining:
		var ok bool
		if f.full, ok = remaining(); !ok {
			return termFee{}, false
		}
		p := et.Percent
		if p.IsZero() {
			p = ratioOne
		}
		f.amount = f.full.MulRatio(p, g.mode)
		f.desc += ": " + p.Percent() + " of the remaining value"
	case TerminationPeriods:
		var ok bool
		if f.full, ok = periods(); !ok {
			return termFee{}, false
		}
		span := periodsText(et.Periods)
		f.desc += ": " + span + " of charges"
		if et.CapAtRemaining {
			left, ok := remaining()
			if !ok {
				return termFee{}, false
			}
			if g.cmp(left, f.full) < 0 {
				f.full, f.capped = left, true
				f.desc = "Early termination fee: the remaining value, less than " + span + " of charges"
			} else {
				f.desc += ", no more than the remaining value"
			}
		}
		f.amount = f.full
	}
	return f, f.amount.IsPositive()
}

// periodsText writes a fee's periods as a contract does: "3 months",
// "1 quarter".
func periodsText(c ensemble.Cadence) string {
	unit := map[ensemble.CadenceUnit]string{ensemble.Daily: "day", ensemble.Weekly: "week",
		ensemble.Monthly: "month", ensemble.Quarterly: "quarter", ensemble.Yearly: "year"}[c.Unit]
	if c.Count != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", c.Count, unit)
}

// calendarSpan is a cadence's cycle as a whole number of months, or of
// days (daily and weekly cadences); the other is zero.
func calendarSpan(c ensemble.Cadence) (months, days int64) {
	n := int64(max(c.Count, 1))
	switch c.Unit {
	case ensemble.Daily:
		return 0, n
	case ensemble.Weekly:
		return 0, 7 * n
	case ensemble.Monthly:
		return n, 0
	case ensemble.Quarterly:
		return 3 * n, 0
	case ensemble.Yearly:
		return 12 * n, 0
	}
	return 0, 0
}

// cyclesIn is how many cycles of cadence cycle a fee's periods span,
// exactly (3 months of a yearly charge: 1/4); false when one counts months
// and the other days, which have no exact proportion.
func cyclesIn(span, cycle ensemble.Cadence) (ensemble.Ratio, bool) {
	sm, sd := calendarSpan(span)
	cm, cd := calendarSpan(cycle)
	var r ensemble.Ratio
	var err error
	switch {
	case sm > 0 && cm > 0:
		r, err = ensemble.NewRatio(sm, cm)
	case sd > 0 && cd > 0:
		r, err = ensemble.NewRatio(sd, cd)
	default:
		return ensemble.Ratio{}, false
	}
	return r, err == nil
}

// sum adds vals up (zero in the run's currency for none).
func (g *gen) sum(vals []ensemble.Money) ensemble.Money {
	total := ensemble.MoneyFromMinor(0, g.cur)
	for _, v := range vals {
		total = g.add(total, v)
	}
	return total
}

// partsTotal adds the parts' values up.
func (g *gen) partsTotal(parts []feePart) ensemble.Money {
	total := ensemble.MoneyFromMinor(0, g.cur)
	for _, p := range parts {
		total = g.add(total, p.value)
	}
	return total
}

// periodsParts is what span of the recurring charges of the item's last
// state comes to at an end at instant end (TerminationPeriods), by offer
// as remainingParts: the last state's offer first, then each add-on. Each
// charge owes its whole-cycle rating at the state's quantity times the
// cycles the span holds (cyclesIn), less the percentage discounts in force
// at the end on that charge (as a line of it starting at the end would
// take them, those naming other charges left out; their sum
// capped at the whole); a part sums its charges exactly and is rounded
// once. A span with no exact proportion to a charge's cadence is a
// *TermError of owner (the item, or empty for the subscription's term)
// reported at path.
func (g *gen) periodsParts(it *Item, last Segment, end time.Time, span ensemble.Cadence, path string, owner ItemID, at int) ([]ensemble.Money, bool) {
	one := ensemble.MoneyFromDecimal(decimal.NewFromInt(1), g.cur)
	state := func(pin catalog.Pin, qty decimal.Decimal) (ensemble.Money, bool) {
		total := ratioZero
		for _, ch := range g.b.offerIn(pin, g.cur).charges {
			if ch.typ != catalog.Recurring {
				continue
			}
			r, ok := g.rate(ch, qty, at)
			if !ok {
				return ensemble.Money{}, false
			}
			cad := ch.cadence
			if cad == (ensemble.Cadence{}) {
				cad = g.cad
			}
			k, ok := cyclesIn(span, cad)
			if !ok {
				g.ps.Add(path, &TermError{Subscription: g.s.ID, Item: owner, Field: "term.early_termination.periods", Err: ErrInvalid,
					Value: fmt.Sprintf("no exact proportion of %s to %s/%s, billed %s", periodsText(span), pin.Offer, ch.id, cad)})
				return ensemble.Money{}, false
			}
			// The charge's own discounts: a discount may name charges
			// (Discount.Charges, Segment.DiscountCharges).
			off := ratioZero
			for _, p := range g.pcts(it, pin.Offer, ch.id, end, segmentDiscount(&last, ch.id)) {
				if p.w.exact && !p.w.contains(end) {
					continue // an exact window that ended before, or starts after, the end
				}
				off = off.Add(p.p)
			}
			if off.Cmp(ratioOne) > 0 {
				off = ratioOne
			}
			total = total.Add(ensemble.RatioFromDecimal(r.Amount.Amount()).Mul(k).Mul(off.Complement()))
		}
		return one.MulRatio(total, g.mode), true
	}
	vals := make([]ensemble.Money, 0, 1+len(last.AddOns))
	v, ok := state(last.Pin, last.Quantity)
	if !ok {
		return nil, false
	}
	vals = append(vals, v)
	for _, a := range last.AddOns {
		if v, ok = state(a.Pin, a.Quantity.Mul(last.Quantity)); !ok {
			return nil, false
		}
		vals = append(vals, v)
	}
	return vals, true
}

// remainingValue is what the recurring charges of the item's last state
// would have billed over [end, termEnd), after their percentage discounts:
// for each of their cycles in that span, the line amount less its
// discounts, rounded as those lines would have been.
func (g *gen) remainingValue(it *Item, last Segment, end, termEnd time.Time, at int) (ensemble.Money, bool) {
	vals, ok := g.remainingParts(it, last, end, termEnd, at)
	if !ok {
		return ensemble.Money{}, false
	}
	total := ensemble.MoneyFromMinor(0, g.cur)
	for _, v := range vals {
		total = g.add(total, v)
	}
	return total, true
}

// remainingParts is remainingValue by offer: the value of the last
// state's offer first, then that of each of its add-ons, in order.
func (g *gen) remainingParts(it *Item, last Segment, end, termEnd time.Time, at int) ([]ensemble.Money, bool) {
	total := ensemble.MoneyFromMinor(0, g.cur)
	state := func(pin catalog.Pin, qty decimal.Decimal) bool {
		for _, ch := range g.b.offerIn(pin, g.cur).charges {
			if ch.typ != catalog.Recurring {
				continue
			}
			r, ok := g.rate(ch, qty, at)
			if !ok {
				return false
			}
			cad := ch.cadence
			if cad == (ensemble.Cadence{}) {
				cad = g.cad
			}
			ok = true
			err := cycles(cad, g.anchor, end, termEnd, g.loc, func(c ensemble.Period) bool {
				s, e := c.Start, c.End
				if end.After(s) {
					s = end
				}
				if termEnd.Before(e) {
					e = termEnd
				}
				from, ok1 := g.frac(c, s)
				to, ok2 := g.frac(c, e)
				if !ok1 || !ok2 {
					ok = false
					return false
				}
				part, whole := g.whole(ch, r.Amount, r.Lines)
				amt := g.prorate(part, whole, from, to, !e.Before(c.End))
				var l Line // the line the charge would have billed, for its discounts
				l.Amount = amt
				g.discount(&l, part, whole, g.pcts(it, pin.Offer, ch.id, s, segmentDiscount(&last, ch.id)), c, from, to, false)
				total = g.add(total, g.sub(amt, l.Discount))
				return true
			})
			if err != nil {
				g.ps.Add(g.itemPath(at), err)
				return false
			}
			if !ok {
				return false
			}
		}
		return true
	}
	vals := make([]ensemble.Money, 0, 1+len(last.AddOns))
	if !state(last.Pin, last.Quantity) {
		return nil, false
	}
	vals = append(vals, total)
	for _, a := range last.AddOns {
		total = ensemble.MoneyFromMinor(0, g.cur)
		if !state(a.Pin, a.Quantity.Mul(last.Quantity)) {
			return nil, false
		}
		vals = append(vals, total)
	}
	return vals, true
}

// progressive bills usage given in Run.Progressive: while the item's
// service in the period goes on past the run, the usage so far when it
// crosses the threshold; once it has ended, the period's usage line, less
// what was billed progressively.
func (g *gen) progressive(it *Item, segs []Segment, p *ProgressiveUsage, at int) {
	agg := &p.Usage
	billedAny := p.Billed.Records != 0 || !p.Billed.Value.IsZero()
	pd := ensemble.Period{Start: agg.Period.Start.UTC(), End: agg.Period.End.UTC()}
	ch, end, disc, _ := g.pieceCharge(segs, agg.Meter, pd)
	if ch == nil {
		g.ps.Add(g.itemPath(at), bad(ErrUnknown, "no usage charge for meter %q in %s", agg.Meter, pd))
		return
	}
	if ch.attributeTo != "" {
		g.ps.Add(g.itemPath(at), usageErr(*agg, ErrAttribution, "charge "+string(ch.id)+" attributes its usage to "+ch.attributeTo+": billing it progressively is not supported"))
		return
	}
	open := end.After(g.run.At)
	if !open && !billedAny {
		g.usageLine(it, segs, agg, nil, true, at) // nothing billed ahead: the period's plain usage line
		return
	}
	if !open && !g.due(end) && !g.context(usageService(segs, pd, end)) {
		// The period's final line fell due in an earlier run (at the end
		// of the item's service in it, a stop the item restarted from):
		// what was recorded since is late usage.
		g.ps.Add(g.itemPath(at), g.notDue(agg, end))
		return
	}
	cad := ch.cadence
	if cad == (ensemble.Cadence{}) {
		cad = g.cad
	}
	if err := g.usagePeriodOK(cad, agg, pd); err != nil {
		g.ps.Add(g.itemPath(at), err)
		return
	}
	// What was billed ahead is an interim rating (no minimum spend); so is
	// the usage so far, while the period is open; the final rating owes
	// the minimum spend.
	share, err := g.spendShare(cad, segs, agg.Meter, pd)
	if err != nil {
		g.ps.Add(g.itemPath(at), err)
		return
	}
	interim := catalog.RateOptions{Rounding: g.b.opts.Rating, Mode: g.mode, Interim: true, SpendShare: share}
	opts := interim
	opts.Interim = open
	var cum, bil catalog.Rating
	if billedAny {
		d, err := ch.rater.RateDelta(p.Billed.Value, agg.Value, interim, opts)
		if err != nil {
			g.ps.Add(g.itemPath(at), err)
			return
		}
		cum, bil = d.Cumulative, d.Billed
	} else {
		r, err := ch.rater.Rate(agg.Value, opts)
		if err != nil {
			g.ps.Add(g.itemPath(at), err)
			return
		}
		cum, bil = r, catalog.Rating{Amount: ensemble.MoneyFromMinor(0, g.cur)}
	}
	cumAmt, bilAmt := cum.Amount.Round(g.mode), bil.Amount.Round(g.mode)
	amt := g.sub(cumAmt, bilAmt)
	usageID := g.lineID(it, pd.Start, ch, KindUsage, time.Time{})
	if open {
		var th decimal.Decimal
		for _, t := range it.Thresholds {
			if t.Meter == agg.Meter {
				th = t.Amount
			}
		}
		if amt.Amount().LessThan(th) {
			return // not yet: the host keeps what was billed
		}
	}
	tr := &UsageTrace{Meter: agg.Meter, Period: pd, Records: agg.Records, Digest: agg.Digest, Ref: agg.Ref(), Billed: p.Billed.Value, SpendShare: share, SpendProration: ch.spend}
	svc := usageService(segs, pd, end)
	ps := g.pcts(it, ch.offer.pin.Offer, ch.id, svc.Start, disc)
	kind, id, date, period := KindUsage, usageID, end, svc
	if open {
		kind, date, period = KindProgressiveUsage, g.run.At, ensemble.Period{Start: svc.Start, End: g.run.At}
		id = LineID(string(g.lineID(it, pd.Start, ch, KindProgressiveUsage, time.Time{})) + "/" + agg.Digest.String())
	} else {
		// What the progressive lines billed, net of their discounts.
		net := bilAmt
		for _, x := range ps {
			if lo, hi, ok := g.covered(x, svc, ratioZero, ratioOne); ok {
				net = g.sub(net, g.cum(bilAmt, lo.Mul(x.p), hi.Mul(x.p)))
			}
		}
		tr.BilledNet = net
	}
	l := g.newLine(it, kind, ch, ch.offer.pin, agg.Value)
	l.ID = id
	if open {
		l.Description = "Usage so far: " + l.Description
	}
	l.Date = date
	l.Cycle, l.Period = pd, period
	l.Full = g.sub(cum.Amount, bil.Amount)
	l.Tiers = cum.Lines
	l.Amount = amt
	l.Usage = tr
	l.Refs = append(l.Refs, tr.Ref)
	g.deltaDiscount(l, cumAmt, bilAmt, ps, svc)
	if g.billedUsage != nil && !open && g.due(end) {
		*g.billedUsage = append(*g.billedUsage, *agg)
	}
}

// commitment adds a true-up line for every cycle of the subscription's
// cadence, in the run's span, whose lines' net falls short of the minimum.
func (g *gen) commitment() {
	cm := g.s.Commitment
	if cm == nil || cm.Minimum.IsZero() {
		return
	}
	// The commitment's cycles are the subscription's, whatever the items'.
	g.popts.Anchor = g.s.Anchor
	// The commitment runs from the first activation to the cancellation,
	// or to the end of the last item when every item has ended.
	act, stop, open := g.span()
	start, end := g.commitFrom, g.limit
	if act.After(start) {
		start = act
	}
	if !open && stop.Before(end) {
		end = stop
	}
	if !start.Before(end) {
		return
	}
	min := ensemble.MoneyFromDecimal(cm.Minimum, g.cur)
	// Sweep the lines in service-start order alongside the cycles, so the
	// cost is linear in cycles plus lines.
	var scope *CommitmentScope // nil: the whole subscription
	if !cm.Scope.IsZero() {
		scope = &cm.Scope
	}
	order := make([]int, 0, len(g.lines))
	for i := range g.lines {
		if countsTowardMinimum(g.lines[i].Kind) && (scope == nil || scope.counts(&g.lines[i])) {
			order = append(order, i)
		}
	}
	fixed := fixedDiscountIDs(g.s)
	slices.SortFunc(order, func(a, b int) int { return g.lines[a].Period.Start.Compare(g.lines[b].Period.Start) })
	next := 0
	err := cycles(g.cad, g.s.Anchor, start, end, g.loc, func(c ensemble.Period) bool {
		// The usage adjustments earlier runs billed of the cycle count
		// too (this run's are among the lines).
		var took discountSums
		spent := g.billedSpend(c, scope, fixed, true, &took)
		for next < len(order) && g.lines[order[next]].Period.Start.Before(c.Start) {
			next++
		}
		for next < len(order) && c.Contains(g.lines[order[next]].Period.Start) {
			l := &g.lines[order[next]]
			spent = g.add(spent, g.sub(l.Amount, l.Discount))
			took.add(g, l, nil)
			if l.Usage != nil && !l.Usage.BilledNet.IsZero() {
				spent = g.add(spent, l.Usage.BilledNet) // billed progressively before
			}
			next++
		}
		s, e := c.Start, c.End
		if act.After(s) {
			s = act
		}
		if !open && stop.Before(e) {
			e = stop
		}
		if !s.Before(e) {
			return true
		}
		from, ok1 := g.frac(c, s)
		to, ok2 := g.frac(c, e)
		if !ok1 || !ok2 {
			return false
		}
		owed := g.cum(min, from, to)
		short := g.sub(owed, spent)
		if !short.IsPositive() {
			return true
		}
		l := g.trueUpLine(c, s, e, from, to, min, short, scope, act, stop, open)
		l.Recouped = took.recouped(g, short)
		*g.next() = l
		return true
	})
	if err != nil {
		g.ps.Add(g.subPath()+".commitment", err)
	}
}

// span returns when the subscription starts (its first activation) and
// stops: at CancelAt, or, when every item has ended before, at the last
// end; open when it has not stopped.
func (g *gen) span() (act, stop time.Time, open bool) {
	for i := range g.s.Items {
		segs := g.s.Items[i].Segments
		if len(segs) == 0 {
			continue
		}
		if act.IsZero() || segs[0].Start.Before(act) {
			act = segs[0].Start
		}
		if last := segs[len(segs)-1].End; last.IsZero() {
			open = true
		} else if last.After(stop) {
			stop = last
		}
	}
	if !g.s.CancelAt.IsZero() && (open || g.s.CancelAt.Before(stop)) {
		stop, open = g.s.CancelAt, false
	}
	return act, stop, open
}

// countsTowardMinimum reports whether lines of kind k count toward the
// minimum commitment (see Commitment): what is charged for service, covered
// by a prepaid commitment or not, usage adjustments included (late usage
// and corrections, Run.Late, and a stretch's share of the spend bounds
// after a restart, spendTopUps: the period's usage lines add up to what
// its usage costs). A prepaid commitment's purchase and breakage do not
// (the consumption they pay for counts, once), nor do early-termination
// fees; progressive bills count through their period's final usage line.
func countsTowardMinimum(k LineKind) bool {
	switch k {
	case KindEarlyTermination, KindProgressiveUsage, KindPrepayment, KindPrepaidBreakage, KindCommitmentTrueUp, KindCreditNote, KindReversal:
		return false
	}
	return true
}

// firstPin returns the pin of the subscription's first item (by ID) in
// service during [s, e), and the references a line of the subscription as
// a whole attributed to it carries: the item's and those of its first
// segment in service then (from FromOrder, its order line and segment).
func (g *gen) firstPin(s, e time.Time) (catalog.Pin, []ensemble.Ref, bool) {
	return g.firstPinWhere(s, e, nil)
}

// recurringSegment reports whether segment sg bills a recurring charge: its
// offer's or one of its add-ons'.
func (g *gen) recurringSegment(sg Segment) bool {
	has := func(p catalog.Pin) bool {
		if oi := g.b.offerIn(p, g.cur); oi != nil {
			for _, ch := range oi.charges {
				if ch.typ == catalog.Recurring {
					return true
				}
			}
		}
		return false
	}
	if has(sg.Pin) {
		return true
	}
	for _, a := range sg.AddOns {
		if has(a.Pin) {
			return true
		}
	}
	return false
}

// firstPinWhere is firstPin among the segments keep accepts (every segment
// when keep is nil).
func (g *gen) firstPinWhere(s, e time.Time, keep func(Segment) bool) (catalog.Pin, []ensemble.Ref, bool) {
	var best *Item
	var found Segment
	for j := range g.s.Items {
		it := &g.s.Items[j]
		if best != nil && it.ID >= best.ID {
			continue
		}
		for _, sg := range g.segments(it) {
			if keep != nil && !keep(sg) {
				continue
			}
			if sg.Start.Before(e) && (sg.End.IsZero() || sg.End.After(s)) {
				best, found = it, sg
				break
			}
		}
	}
	if best == nil {
		return catalog.Pin{}, nil, false
	}
	return found.Pin, attribution(best, &found), true
}

// attribution is what a line of the subscription as a whole attributed to
// item it and its segment sg carries of them: the item's references and
// the segment's, in a slice of its own.
func attribution(it *Item, sg *Segment) []ensemble.Ref {
	if len(it.Refs)+len(sg.Refs) == 0 {
		return nil
	}
	out := make([]ensemble.Ref, 0, len(it.Refs)+len(sg.Refs))
	return append(append(out, it.Refs...), sg.Refs...)
}

// subPath is the problem path of the subscription.
func (g *gen) subPath() string { return ensemble.Path("subscriptions", g.idx) }

// itemPath is the problem path of item i.
func (g *gen) itemPath(i int) string { return ensemble.Path("subscriptions", g.idx, "items", i) }

// context reports whether usage due outside the run is given to count
// toward a minimum commitment: with one, the lines of the commitment's
// cycles from g.from on are computed for their true-ups, so aggregates
// whose usage line's service (svc, see usageService) starts there may be
// given to every run of the cycle (as earlier runs billed them, or as later
// ones will). Only the run they are due in bills them. It is the service's
// start that counts, not the period's, since the true-up counts a line by
// the start of its service: a period that starts before the cycle, of an
// item activated inside the cycle, counts toward the cycle.
func (g *gen) context(svc ensemble.Period) bool {
	return g.s.Commitment != nil && !svc.Start.Before(g.commitFrom)
}

// notDue is the error of usage given in a run that does not bill it.
func (g *gen) notDue(agg *usage.Aggregate, due time.Time) error {
	detail := fmt.Sprintf("due %s, after the run at %s: pass it to the run its due instant falls in", fmtRFC(due), fmtRFC(g.run.At))
	if !due.After(g.run.At) {
		detail = fmt.Sprintf("due %s, billed by the run that ended then (this run bills usage due after %s): records that arrive for a billed period are late usage, collected with usage.Config.ClosedBefore and billed through Run.Late (LateUsageFrom)", fmtRFC(due), fmtRFC(g.run.After))
	}
	return &UsageError{Line: agg.Line, Meter: agg.Meter, Period: agg.Period, Due: due, Detail: detail, Err: ErrUsageNotDue}
}

func fmtRFC(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
