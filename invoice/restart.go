package invoice

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// A restart is an item's service starting again after a stop: a gap
// between two of its segments. Where the restart was known when the stop
// took effect, the gap was a pause all along: nothing ended, and no
// early-termination fee is owed. Where it was recorded only after the stop
// took effect, the stop was an end until then, and a run in between billed
// it as one: the fee is billed at the stop and reversed at the restart,
// whatever runs the time is split into (the cancellation undone, as a
// billing system credits a cancellation fee when a cancelled subscription
// is reactivated). When the restart was recorded is the segment's Recorded
// (zero: known from the start). The lines billed in arrears and the usage
// of the cycle the stop falls in are due at the stop either way (see
// arrears and firstStop), so a restart never bills them again.

// endUndone reports whether a restart undid an end at stop, recorded at
// stopRecorded (the stop takes effect at the later of the two), given when
// the segments after the stop were recorded: the earliest Recorded among
// them (zero if none says), and whether one of them does not say. The stop
// was an end, undone by the restart, when every one of them was recorded
// after it took effect; a pause when one was recorded by then. A segment
// whose Recorded is zero was known from the start, as it is for a
// back-dated change (Segment.Recorded): a host that learns a restart after
// the stop says when.
func endUndone(stop, stopRecorded, earliest time.Time, unknown bool) bool {
	known := stop
	if stopRecorded.After(known) {
		known = stopRecorded
	}
	return !unknown && !earliest.IsZero() && earliest.After(known)
}

// recordedAfter returns the earliest Recorded of segs (zero if none says)
// and whether one of them does not say when it was recorded.
func recordedAfter(segs []Segment) (earliest time.Time, unknown bool) {
	for _, sg := range segs {
		earliest, unknown = laterRecorded(earliest, unknown, sg)
	}
	return earliest, unknown
}

// laterRecorded folds segment sg into recordedAfter's earliest and
// unknown.
func laterRecorded(earliest time.Time, unknown bool, sg Segment) (time.Time, bool) {
	switch {
	case sg.Recorded.IsZero():
		return earliest, true
	case earliest.IsZero() || sg.Recorded.Before(earliest):
		return sg.Recorded, unknown
	}
	return earliest, unknown
}

// restartDue reports whether a line of the stop at stop or of the restart
// at restart is computed by the run.
func (g *gen) restartDue(stop, restart time.Time) bool {
	return g.all || g.wanted(stop) || g.wanted(restart)
}

// feeAndReversal appends fee, an early-termination fee billed at a stop,
// and the line reversing it at restart: the same fee negated, with the
// fee's period (the rest of the term from the stop), crediting it
// (Credits: the fee's line, or the line a run billed anew for it after a
// back-dated change, Line.Reissues). Its cycle is the restart's instant,
// as a one-time fee's is its own: a back-dated change taking effect by
// then may alter it (see touched), even after the term's end. Its ID is
// the fee's followed by "/restart/" and the restart's instant, so a fee
// billed again after a back-dated change and reversed by a later restart
// never takes an ID issued before.
func (g *gen) feeAndReversal(fee Line, restart time.Time) {
	*g.next() = fee
	credits := fee.ID
	if cur, again := g.reissued[fee.ID]; again && !g.repairing {
		credits = cur.ID
	}
	r := fee
	r.ID = LineID(string(fee.ID) + "/restart/" + fmtTime(restart))
	r.Description = "Early termination fee reversed: restarted on " + restart.In(g.loc).Format(time.DateOnly)
	r.Date = restart
	r.Cycle = ensemble.Period{Start: restart, End: restart}
	r.Amount = fee.Amount.Neg()
	r.Credits = credits
	if fee.Proration != nil {
		p := *fee.Proration
		r.Proration = &p
	}
	r.Refs = append(slices.Clone(fee.Refs), ensemble.Ref{Kind: RefLine, ID: string(credits)})
	r.CostsNotApplied = slices.Clone(fee.CostsNotApplied)
	*g.next() = r
}

// givesBack reports whether line l gives back (part of) the line its
// Credits names, in that line's family when a run catches up a back-dated
// change (see reconcile): a proration credit, or the reversal of an
// early-termination fee at a restart. Either goes with its line: credited
// by the line's reversal, billed again with it.
func givesBack(l *Line) bool {
	return l.Kind == KindProrationCredit || (l.Kind == KindEarlyTermination && l.Credits != "")
}

// subPause is a time the subscription's service stopped (every item
// stopped) and started again: from stop, recorded at stopRecorded (the
// latest EndRecorded of the segments ending then), to restart; earliest
// and unknown say when the segments after the stop were recorded (see
// recordedAfter); item and seg index the first segment of the restart, for
// problem paths.
type subPause struct {
	stop, restart, stopRecorded, earliest time.Time
	unknown                               bool
	item, seg                             int
}

// subscriptionPauses returns the subscription's pauses, in time order:
// the gaps in the union of its items' segments (clipped at the
// cancellation).
func (g *gen) subscriptionPauses() []subPause {
	type ref struct{ item, seg int }
	var refs []ref
	segs := make([][]Segment, len(g.s.Items))
	for j := range g.s.Items {
		segs[j] = g.segments(&g.s.Items[j])
		for k := range segs[j] {
			refs = append(refs, ref{j, k})
		}
	}
	if len(refs) < 2 {
		return nil
	}
	seg := func(r ref) Segment { return segs[r.item][r.seg] }
	slices.SortStableFunc(refs, func(a, b ref) int { return seg(a).Start.Compare(seg(b).Start) })
	var out []subPause
	// reach is when the service so far ends, recorded at reachRecorded.
	first := seg(refs[0])
	if first.End.IsZero() {
		return nil // open from the start: it never stops
	}
	reach, reachRecorded := first.End, first.EndRecorded
	for i, r := range refs[1:] {
		sg := seg(r)
		if reach.Before(sg.Start) {
			p := subPause{stop: reach, restart: sg.Start, stopRecorded: reachRecorded, item: r.item, seg: r.seg}
			for _, o := range refs[i+1:] {
				p.earliest, p.unknown = laterRecorded(p.earliest, p.unknown, seg(o))
			}
			out = append(out, p)
		}
		switch {
		case sg.End.IsZero():
			return out // open: it never stops again
		case sg.End.After(reach):
			reach, reachRecorded = sg.End, sg.EndRecorded
		case sg.End.Equal(reach) && sg.EndRecorded.After(reachRecorded):
			reachRecorded = sg.EndRecorded
		}
	}
	return out
}

// ErrRestartAfterEnd reports a subscription with a minimum commitment or a
// prepaid commitment restarting after a run billed its end: every item had
// stopped, and the restart was recorded after that took effect, so the run
// that billed the stop billed the commitment's end (the true-up of the
// cycle up to the stop, what was left of a prepaid commitment expired as
// breakage). Billing the restart on the same subscription would bill the
// cycle's true-up again and leave the prepaid sum expired: bill the
// restart as a new subscription, or credit those lines (a credit note) and
// carry the commitment by hand. A *RestartError wraps it.
var ErrRestartAfterEnd = errors.New("invoice: restarted after its commitments were billed to the end")

// RestartError reports a restart the run cannot bill (ErrRestartAfterEnd):
// the subscription, when it stopped and restarted, and the lines billed at
// the stop as its end (empty when the run was not given the lines earlier
// runs issued, Run.Billed, to tell).
type RestartError struct {
	Subscription  SubscriptionID
	Stop, Restart time.Time
	Billed        []LineID
	Err           error
}

// Error writes `invoice: subscription "s" restarts at <restart> after every
// item stopped at <stop>, billed as its end (<lines>): <condition>`.
func (e *RestartError) Error() string {
	what := "maybe its minimum commitment's true-up and prepaid breakage"
	if len(e.Billed) > 0 {
		q := make([]string, len(e.Billed))
		for i, id := range e.Billed {
			q[i] = strconv.Quote(string(id))
		}
		what = "lines " + strings.Join(q, ", ")
	}
	return fmt.Sprintf("invoice: subscription %q restarts at %s after every item stopped at %s, which a run billed as its end (%s): %v: bill the restart as a new subscription",
		e.Subscription, fmtRFC(e.Restart), fmtRFC(e.Stop), what, e.Err)
}

// Unwrap returns the condition.
func (e *RestartError) Unwrap() error { return e.Err }

// checkRestartAfterEnd reports (ErrRestartAfterEnd), for a subscription
// with a minimum commitment or a prepaid commitment in its term at the
// time, a restart this run bills after an earlier run billed the
// subscription's stop as its end (the restart recorded after the stop took
// effect, see endUndone), unless the lines earlier runs issued (Run.Billed)
// show that it billed neither a true-up nor a breakage at the stop.
func (g *gen) checkRestartAfterEnd() {
	after := g.run.After
	min := g.s.Commitment != nil && !g.s.Commitment.Minimum.IsZero()
	if after.IsZero() || (!min && len(g.s.Prepaid) == 0) {
		return
	}
	for _, p := range g.subscriptionPauses() {
		if after.Before(p.stop) || !g.due(p.restart) || !endUndone(p.stop, p.stopRecorded, p.earliest, p.unknown) {
			continue
		}
		prepaid := slices.ContainsFunc(g.s.Prepaid, func(c PrepaidCommitment) bool {
			return c.Start.Before(p.stop) && p.stop.Before(c.termEnd())
		})
		if !min && !prepaid {
			continue
		}
		var billed []LineID
		for _, l := range g.billedSub {
			if (l.Kind == KindCommitmentTrueUp || l.Kind == KindPrepaidBreakage) && l.Date.Equal(p.stop) {
				billed = append(billed, l.ID)
			}
		}
		if len(g.billedSub) > 0 && len(billed) == 0 {
			continue // the run that billed the stop billed nothing of the end
		}
		slices.Sort(billed)
		g.ps.Add(g.itemPath(p.item)+"."+ensemble.Path("segments", p.seg)+".start", &RestartError{
			Subscription: g.s.ID, Stop: p.stop, Restart: p.restart, Billed: billed, Err: ErrRestartAfterEnd})
	}
}
