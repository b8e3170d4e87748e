package invoice

import (
	"math/big"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/usage"
)

// spendShare returns the part of its cycle's minimum and maximum spend
// usage period pd of meter m owes (catalog.RateOptions.SpendShare), under
// the spend proration of the charge that bills pd (catalog.SpendProration);
// the zero Ratio is the whole.
//
// Under catalog.SpendWhole (the default), a period billed whole owes the
// whole, however little of it the item was in service (a partial first or
// last period). A piece of a cycle cut where the item's usage charges
// change owes its service over the cycle from the service start of the
// first piece that charges the meter to the cycle's end, so the pieces owe
// one minimum between them, each at its own charge, as Lago prorates a
// terminated subscription's charge minimum; an item in service from part
// way into the cycle owes the whole minimum over the rest, as a partial
// first period does.
//
// Under catalog.SpendService, a period or a piece owes its service over
// the whole cycle, as Lago prorates the charge minimum of a partial
// period: an item in service from January 15 owes 17/31 of January's
// minimum, and pieces of January owe their own service each, 17/31
// between them.
//
// Service is measured under the run's proration basis (in exact time when
// the basis counts nothing of it: a piece shorter than a day under a days
// basis), up to where the item stops in pd when that stop was known by
// pd's end (shareService), so a stop learnt after a run may have billed pd
// leaves the share pd was billed at, and late usage re-rates it alike.
func (g *gen) spendShare(cad ensemble.Cadence, segs []Segment, m usage.MeterID, pd ensemble.Period) (ensemble.Ratio, error) {
	c, _, err := cad.PeriodAt(g.anchor, pd.Start, g.loc)
	if err != nil {
		return ratioZero, err
	}
	c = ensemble.Period{Start: c.Start.UTC(), End: c.End.UTC()}
	if ch, end, _, _ := g.pieceCharge(segs, m, pd); ch != nil && ch.spend == catalog.SpendService {
		share, err := g.shareOf(g.shareService(segs, pd, end), c, c)
		if err != nil || share.Cmp(ratioOne) == 0 {
			return ratioZero, err
		}
		return share, nil
	}
	pieces := usagePieces(c, g.cuts)
	if len(pieces) < 2 {
		return ratioZero, nil
	}
	var first, own ensemble.Period
	charged := 0
	for _, p := range pieces {
		if ch, end, _, _ := g.pieceCharge(segs, m, p); ch != nil {
			sv := g.shareService(segs, p, end)
			if charged == 0 {
				first = sv
			}
			if p.Equal(pd) {
				own = sv
			}
			charged++
		}
	}
	if own.Start.IsZero() || charged < 2 {
		return ratioZero, nil
	}
	return g.shareOf(own, ensemble.Period{Start: first.Start, End: c.End}, c)
}

// shareOf returns part over span, each measured as a part of cycle c under
// the run's proration basis, or in exact time when the basis counts
// nothing of part.
func (g *gen) shareOf(part, span, c ensemble.Period) (ensemble.Ratio, error) {
	for _, opts := range []ensemble.ProrateOptions{g.popts, {Basis: ensemble.ProrateExactTime}} {
		p, err := ensemble.Prorate(part, c, opts)
		if err != nil {
			return ratioZero, err
		}
		w, err := ensemble.Prorate(span, c, opts)
		if err != nil {
			return ratioZero, err
		}
		if p.Sign() > 0 {
			return ensemble.RatioFromRat(new(big.Rat).Quo(p.Rat(), w.Rat())), nil
		}
	}
	return ratioZero, nil // unreachable: a service is never empty
}

// shareService is the service in usage period pd a spend share counts:
// the usage line's (usageService) up to end, where the item's service in
// pd stops, when that stop was known by pd's end (recorded then or
// before, or with no record: stopRecorded); else up to pd's end, as the
// run at pd's end billed it without the stop. The usage of pd is due at
// the stop, or at pd's end without it, so every run that can bill pd sees
// a stop recorded by pd's end: the share a run bills pd at, and re-rates
// late usage of it at, is the same whenever the run is.
func (g *gen) shareService(segs []Segment, pd ensemble.Period, end time.Time) ensemble.Period {
	if end.Before(pd.End) && g.stopRecorded(segs, end).After(pd.End) {
		end = pd.End
	}
	return usageService(segs, pd, end)
}

// stopRecorded returns when the stop of the item's service at end was
// recorded: the cancellation's record when the subscription is cancelled
// at end (Subscription.CancelRecorded), else the record of the end of the
// segment ending there (Segment.EndRecorded); zero when not known.
func (g *gen) stopRecorded(segs []Segment, end time.Time) time.Time {
	if g.s.CancelAt.Equal(end) && !g.s.CancelRecorded.IsZero() {
		return g.s.CancelRecorded
	}
	for _, sg := range segs {
		if sg.End.Equal(end) {
			return sg.EndRecorded
		}
	}
	return time.Time{}
}

// stretch is a stretch of an item's service inside a usage period after
// the first, the one its usage is due at the end of (usageCharge): segments
// following one another without a gap, one of them pricing the period's
// meter. Under catalog.SpendService it owes its own share of the period's
// minimum and maximum spend, billed when it ends (spendTopUp).
type stretch struct {
	// svc is the service the share counts: from the restart to where the
	// stretch stops in the period when that stop was recorded by the
	// period's end (or by the restart's record, when later: no run billed
	// the stretch before it), else to the period's end (as shareService
	// counts the first stretch's), never over service counted before it.
	svc ensemble.Period
	// due is when its share is billed: its stop, or when that stop was
	// recorded if later, or the period's end when the stop counts not (a
	// run at the end billed the stretch without it). Every run that can
	// bill the share sees the stretch as it is billed.
	due time.Time
	// restart is where the stretch starts, which names its line; known is
	// when that restart was recorded (its first segment's
	// Segment.Recorded; zero when not known).
	restart, known time.Time
}

// laterStretches returns the stretches of the item's service in usage
// period pd after the first, which ends at first (where pd's usage is
// due), that have a segment pricing meter m, in order; nil when pd's charge
// does not prorate its spend bounds by service, or its rating has none.
// Segments over pd that price m by another charge than the one billing pd
// (under SplitNone) count as service of that charge, whose rating bills
// the period's usage.
func (g *gen) laterStretches(ch *chargeInfo, segs []Segment, m usage.MeterID, pd ensemble.Period, first time.Time) []stretch {
	if ch.spend != catalog.SpendService || !first.Before(pd.End) {
		return nil
	}
	if p := ch.rater.Price(); p.MinimumSpend.IsZero() && p.MaximumSpend.IsZero() {
		return nil
	}
	var out []stretch
	var start, end, known time.Time // the stretch so far; start zero before one
	priced := false
	counted := first // the service counted so far ends there
	flush := func() {
		if !priced {
			return
		}
		due, to := end, end
		if end.Before(pd.End) {
			if rec := g.stopRecorded(segs, end); rec.After(maxTime(pd.End, known)) {
				due, to = pd.End, pd.End
			} else if rec.After(due) {
				due = rec
			}
		}
		from := maxTime(start, counted)
		if from.Before(to) {
			out = append(out, stretch{svc: ensemble.Period{Start: from.UTC(), End: to.UTC()}, due: due.UTC(), restart: start.UTC(), known: known})
			counted = to
		}
	}
	for _, sg := range segs {
		if !sg.Start.Before(pd.End) {
			break
		}
		if !sg.Start.After(first) {
			continue
		}
		if !start.IsZero() && sg.Start.After(end) {
			flush()
			start, priced = time.Time{}, false
		}
		if start.IsZero() {
			start, known = sg.Start, sg.Recorded
		}
		end = pd.End
		if !sg.End.IsZero() && sg.End.Before(end) {
			end = sg.End
		}
		priced = priced || g.segmentCharge(sg, m) != nil
	}
	if !start.IsZero() {
		flush()
	}
	return out
}

// spendSharePlus returns, under catalog.SpendService, the share of its
// cycle's minimum and maximum spend usage period pd owes once the later
// stretches in with (laterStretches) are billed too: base, the share of the
// stretch pd's usage line bills (spendShare; zero for the whole), plus each
// stretch's service over the cycle, at most the whole, which is the zero
// Ratio.
func (g *gen) spendSharePlus(cad ensemble.Cadence, pd ensemble.Period, base ensemble.Ratio, with []stretch) (ensemble.Ratio, error) {
	if len(with) == 0 {
		return base, nil
	}
	c, _, err := cad.PeriodAt(g.anchor, pd.Start, g.loc)
	if err != nil {
		return ratioZero, err
	}
	c = ensemble.Period{Start: c.Start.UTC(), End: c.End.UTC()}
	sum := ratioOne.Rat()
	if !base.IsZero() {
		sum = base.Rat()
	}
	for _, st := range with {
		share, err := g.shareOf(st.svc, c, c)
		if err != nil {
			return ratioZero, err
		}
		sum.Add(sum, share.Rat())
	}
	if sum.Cmp(ratioOne.Rat()) >= 0 {
		return ratioZero, nil
	}
	return ensemble.RatioFromRat(sum), nil
}

// spendShareAt is the share usage period pd owes as billed by instant t:
// base (spendShare) and the share of every later stretch due by t, which
// the runs up to t billed (a stretch a back-dated change reveals, due
// before the run catching it up, is billed by that run: spendTopUpsOf).
func (g *gen) spendShareAt(cad ensemble.Cadence, pd ensemble.Period, base ensemble.Ratio, later []stretch, t time.Time) (ensemble.Ratio, error) {
	k := 0
	for k < len(later) && !later[k].due.After(t) {
		k++
	}
	return g.spendSharePlus(cad, pd, base, later[:k])
}
