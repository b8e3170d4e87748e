package invoice

import (
	"math/big"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// Discounts counted in calendar time (Discount.Length) cover exactly
// [start, start + Length): a line takes a percentage discount for the part
// of its service inside, and a fixed discount is taken per cycle of the
// subscription's cadence in proportion to the part of the cycle inside.
// Both prorate on the run's proration basis, as partial cycles do.

// exactWindow returns the service discount d (of item it, or the
// subscription's: nil), counted in calendar time, covers: from its Start,
// or else from its item's start or the subscription's, for its Length.
func (g *gen) exactWindow(d *Discount, it *Item) (window, bool) {
	start := d.Start
	if start.IsZero() && it != nil && len(it.Segments) > 0 {
		start = it.Segments[0].Start
	}
	if start.IsZero() {
		start, _, _ = g.span()
	}
	if start.IsZero() {
		return window{}, false // nothing in service: no line to discount
	}
	end, err := d.Length.Boundary(start, 1, g.loc)
	if err != nil {
		g.ps.Add(g.subPath()+".discounts", because(ErrDiscountDuration, "discount %q: %v", d.ID, err))
		return window{}, false
	}
	w := window{from: start, to: end, exact: true}
	if g.wins == nil {
		g.wins = map[*Discount]window{}
	}
	g.wins[d] = w
	return w, true
}

// exactEffective returns when exact window w (of a discount of item
// owner, or the subscription's: nil) first changes what was billed: the
// start of the cycle holding its start of each recurring charge of the
// items it discounts, billed in advance at that start (or later, at the
// item's activation), or of the subscription's cycle, whichever is
// earliest. A discount recorded after a run that billed such a line is
// back-dated though it starts after that run.
func (g *gen) exactEffective(w window, owner *Item) time.Time {
	eff := w.from
	earliest := func(cad ensemble.Cadence, anchor time.Time) {
		if c, _, err := cad.PeriodAt(anchor, w.from, g.loc); err == nil && c.Start.Before(eff) {
			eff = c.Start
		}
	}
	earliest(g.cad, g.s.Anchor)
	g.chargeCadences(owner, func(ch *chargeInfo) bool {
		return ch.typ == catalog.Recurring && ch.timing != catalog.InArrears
	}, earliest)
	return eff
}

// windowNamed returns the exact window of the percentage discount named
// id that a line of item it took, or the zero window (the discount is
// counted in cycles, or is a segment's or partner's).
func (g *gen) windowNamed(it *Item, id DiscountID) window {
	find := func(ds []Discount, owner *Item) (window, bool) {
		for k := range ds {
			if d := &ds[k]; d.ID == id && !d.Percent.IsZero() {
				if w, ok := g.windowOf(d, owner); ok && w.exact {
					return w, true
				}
				return window{}, true
			}
		}
		return window{}, false
	}
	if w, ok := find(it.Discounts, it); ok {
		return w
	}
	w, _ := find(g.s.Discounts, nil)
	return w
}

// covered returns the part [lo, hi) of [from, to) (fractions of cycle c)
// that percentage discount p applies to: all of it, unless p's window is
// exact, when it is clipped to the window; ok is false when nothing is
// left.
func (g *gen) covered(p pct, c ensemble.Period, from, to ensemble.Ratio) (lo, hi ensemble.Ratio, ok bool) {
	if !p.w.exact {
		return from, to, true
	}
	return g.clipped(p.w, c, from, to)
}

// clipped returns [from, to) (fractions of cycle c) clipped to exact
// window w; ok is false when they do not meet. An instant (c empty, as a
// one-time fee's) meets w when it lies in it.
func (g *gen) clipped(w window, c ensemble.Period, from, to ensemble.Ratio) (lo, hi ensemble.Ratio, ok bool) {
	lo, hi = from, to
	if f, ok := g.frac(c, w.from); !ok {
		return lo, hi, false
	} else if f.Cmp(lo) > 0 {
		lo = f
	}
	if f, ok := g.frac(c, w.to); !ok {
		return lo, hi, false
	} else if f.Cmp(hi) < 0 {
		hi = f
	}
	return lo, hi, lo.Cmp(hi) < 0
}

// wholeShare is the share of a line's part billed whole (see gen.whole)
// that percentage discount p takes: all of it, or for an exact window the
// share [lo, hi) is of the line's [from, to).
func wholeShare(p pct, from, to, lo, hi ensemble.Ratio) ensemble.Ratio {
	span := to.Sub(from)
	if !p.w.exact || span.Sign() <= 0 {
		return ratioOne
	}
	return ensemble.RatioFromRat(new(big.Rat).Quo(hi.Sub(lo).Rat(), span.Rat()))
}

// fixedFor returns what fixed discount d, whose window is w, takes of the
// lines whose service starts in cycle c of the subscription's cadence:
// its Amount, or for an exact window its Amount prorated by the share of c
// the window covers, rounded (zero when they do not meet).
func (g *gen) fixedFor(d *Discount, w window, c ensemble.Period) ensemble.Money {
	full := ensemble.MoneyFromDecimal(d.Amount, g.cur)
	if !w.exact {
		return full
	}
	// The subscription's cycles prorate from its own anchor.
	anchor := g.popts.Anchor
	g.popts.Anchor = g.s.Anchor
	defer func() { g.popts.Anchor = anchor }()
	lo, hi, ok := g.clipped(w, c, ratioZero, ratioOne)
	if !ok {
		return ensemble.MoneyFromMinor(0, g.cur)
	}
	return g.cum(full, lo, hi)
}

// partOf returns the part of service p inside exact window w.
func partOf(p ensemble.Period, w window) ensemble.Period {
	if w.from.After(p.Start) {
		p.Start = w.from
	}
	if w.to.Before(p.End) {
		p.End = w.to
	}
	return ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}
}

// meets reports whether a line of service p is one the window applies to:
// its service starts in it, or, for an exact window, its service (or its
// instant) overlaps it.
func (w window) meets(p ensemble.Period) bool {
	if !w.exact || !p.End.After(p.Start) {
		return w.contains(p.Start)
	}
	return p.Start.Before(w.to) && p.End.After(w.from)
}
