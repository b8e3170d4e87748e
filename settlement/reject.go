package settlement

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
)

// Settling what can be settled: SettleWhatYouCan settles a batch line by
// line as Settle does, and a line that fails is taken back whole and
// returned as a Rejection, as usage.Collect returns the records it does
// not aggregate beside its report. The run keeps an undo log of what the
// current line changed (undoLog), which it replays backwards when the
// line fails.

// Rejection is a line SettleWhatYouCan did not settle, and why. It is an
// error: Error is Err's text (which names the line), and errors.Is and
// errors.As see through it to Err, the error Settle would have returned
// for the line (a *LineError wrapping ErrAlreadySettled, ErrNoPlan,
// ErrOverAllocation, ErrUnknownLine, ErrOverCredit, ...; a
// *PlanVersionError, a *BearerError; ErrVolumeNotHeld).
type Rejection struct {
	// Line is the rejected line's id.
	Line LineID
	// Err is why: what Settle would have returned had the line been the
	// batch's only one to fail.
	Err error
}

// Error returns the text of the rejection's error.
func (r Rejection) Error() string {
	if r.Err == nil {
		return "settlement: line " + string(r.Line) + " rejected"
	}
	return r.Err.Error()
}

// Unwrap returns the rejection's error.
func (r Rejection) Unwrap() error { return r.Err }

// MarshalJSON writes the rejection as {"line": id, "error": text}.
func (r Rejection) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Line  LineID `json:"line"`
		Error string `json:"error"`
	}{r.Line, r.Error()})
}

// SettleWhatYouCan is Settle settling every line it can: a line that
// fails (invalid, already settled or given twice, no plan, shares that
// overflow, a failing rule, a missing rate, a volume that would overflow,
// a credit of an unknown line, an over-credit, a bearer that cannot bear
// it, a credit of a line whose volume net of credits the state does not
// hold...) is listed in Result.Rejections (invalid lines first, then the
// others, each group in canonical order), with the error Settle would
// have returned for it, and the other lines settle as
// Settle would settle them without it. A rejected line leaves nothing
// behind: no entry, no ledger line, no credit, no volume it added to or
// took back from, no prepaid commitment; lines after it read the state as
// if it had never been given. So the result equals Settle's over the
// lines not rejected, byte for byte.
//
// A cancelled context, and a state that turns out to be corrupt
// (ErrCorruptState), are still the call's error: nothing is returned then.
func (s *Settler) SettleWhatYouCan(ctx context.Context, st State, lines []Line) (Result, error) {
	entries, nst, rejected, err := s.appendSettle(ctx, nil, st, lines, true, true)
	if err != nil {
		return Result{}, err
	}
	return Result{Entries: entries, State: nst, Rejections: slices.Clone(rejected)}, nil
}

// undoLog is what the current line changed in the run's state: the
// ledger line it added or replaced, the credit it recorded, the volumes it
// added to or took back from, the prepaid commitment it recorded.
type undoLog struct {
	line    LineID  // the sale line added, or the credited line replaced; "": none
	ledger  *ledger // what the state held for line before (nil: nothing)
	credit  LineID  // the credit line recorded; "": none
	vols    []volUndo
	prepaid string    // a commitment the line recorded first; "": none
	once    []onceKey // the nodes paid once per customer the line recorded
	// others are the lines other than its own that a credit changed
	// (netted.go), as they were, and applied the collections it recorded
	// on them, with what the state held of each before.
	others  []lineUndo
	applied []appliedUndo
}

// appliedUndo is what State.applied held of collection c before the
// current line recorded it: the line was, if it existed.
type appliedUndo struct {
	c       string
	was     LineID
	existed bool
}

// lineUndo is a ledger line as it was before the current line changed it.
type lineUndo struct {
	id     LineID
	ledger *ledger
}

// volUndo is a volume as it was before the current line changed it.
type volUndo struct {
	key     volKey
	existed bool        // false: the line made it, and taking it back removes it
	units   int64       // its amount
	points  int         // its number of points
	point   int         // the point the line took back from, or -1
	ptUnits int64       // that point's amount
	retro   []retroPaid // its retroactive shares' records (read-only)
}

// undoStart starts the undo log of a new line.
func (r *run) undoStart() {
	if u := r.undo; u != nil {
		*u = undoLog{vols: u.vols[:0], others: u.others[:0], applied: u.applied[:0], once: u.once[:0]}
	}
}

// undoLine records the ledger line id as the state holds it before the
// current line adds or replaces it, and credit, the credit line the line
// records ("" for a sale).
func (r *run) undoLine(id, credit LineID) {
	if u := r.undo; u != nil {
		u.line, u.ledger, u.credit = id, r.st.lines.get(id), credit
	}
}

// undoOther records ledger line id as the state holds it before the
// current line, a credit netted on its invoice or funding what it lent,
// changes it.
func (r *run) undoOther(id LineID) {
	if u := r.undo; u != nil {
		u.others = append(u.others, lineUndo{id: id, ledger: r.st.lines.get(id)})
	}
}

// markApplied records that collection c applied to line id, as
// State.markApplied, keeping what the state held of c for the undo log.
func (r *run) markApplied(c string, id LineID) {
	if u := r.undo; u != nil {
		was, existed := r.st.applied.lookup(c)
		u.applied = append(u.applied, appliedUndo{c: c, was: was, existed: existed})
	}
	r.st.markApplied(c, id)
}

// undoVolume records the volume of key k before the current line changes
// it (existed: the state holds it), and point, the point it takes back
// from (-1: none).
func (r *run) undoVolume(k volKey, existed bool, point int) {
	u := r.undo
	if u == nil {
		return
	}
	x := volUndo{key: k, existed: existed, point: point}
	if v := r.st.vols.get(k); existed && v != nil {
		x.units, x.points, x.retro = v.units, len(v.points), v.retro
		if v.call != nil && v.call == r.mark {
			v.retroMine = false // the log shares the slice: the next change copies it
		}
		if point >= 0 {
			x.ptUnits = v.points[point].units
		}
	}
	u.vols = append(u.vols, x)
}

// undoPrepaid records that the current line recorded commitment c first.
func (r *run) undoPrepaid(c string) {
	if u := r.undo; u != nil {
		u.prepaid = c
	}
}

// undoOnce records that the current line recorded k, a node paid once
// per customer.
func (r *run) undoOnce(k onceKey) {
	if u := r.undo; u != nil {
		u.once = append(u.once, k)
	}
}

// reject takes back what line id changed since its entries began at mark
// and lists it as rejected with err, when the call settles what it can
// and err is the line's (not a cancelled context, not a corrupt state);
// it reports whether it did.
func (r *run) reject(id LineID, mark int, err error) bool {
	u := r.undo
	if u == nil || errors.Is(err, ErrCorruptState) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	r.entries = r.entries[:mark]
	for i := len(u.vols) - 1; i >= 0; i-- {
		x := &u.vols[i]
		if !x.existed {
			r.st.ownVols().del(x.key)
			delete(r.owned, x.key)
			continue
		}
		v := r.own(x.key)
		for len(v.points) > x.points { // the points the line added
			v.dropLastPoint()
		}
		v.units, v.retro, v.retroMine = x.units, x.retro, false
		if x.point >= 0 { // the point the line took back from
			v.adjustPoint(x.point, x.ptUnits-v.points[x.point].units)
		}
	}
	if u.line != "" {
		if u.ledger == nil {
			r.st.lines.del(u.line)
		} else {
			r.st.lines.put(u.line, u.ledger)
		}
	}
	if u.credit != "" {
		r.st.ownCredits().del(u.credit)
	}
	for i := len(u.others) - 1; i >= 0; i-- { // last first: a line recorded twice gets its first ledger back
		r.st.lines.put(u.others[i].id, u.others[i].ledger)
	}
	for i := len(u.applied) - 1; i >= 0; i-- {
		a := u.applied[i]
		switch {
		case a.existed:
			r.st.ownApplied().put(a.c, a.was)
		case r.st.applied.has(a.c):
			r.st.ownApplied().del(a.c)
		}
	}
	if u.prepaid != "" {
		r.st.ownPrepaid().del(u.prepaid)
	}
	for _, k := range u.once {
		r.st.ownOnce().del(k)
	}
	r.undoStart()
	r.rejected = append(r.rejected, Rejection{Line: id, Err: err})
	return true
}
