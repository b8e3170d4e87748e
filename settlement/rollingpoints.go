package settlement

import (
	"sync/atomic"
	"time"
)

// A rolling window's points, shared between a state and the calls that
// settle from it. A seller's rolling volume holds a point per line it
// sold, and a host settling one line per call from the State the previous
// call returned would copy all of them every call (1.3 ms a call at 40,000
// points, 5.5 ms at 100,000) if a call copied the volume it adds to. Instead, a call's copy
// of the volume borrows the state's arrays (its points and their index,
// pointIndex) and appends its points in place after them, in the room
// the arrays have beyond the state's points: a state never reads past its
// own points, so what a call writes there is invisible to it.
//
// Two calls from one state must not both write there: the first takes the
// slot after the state's points with a compare-and-swap on the arrays'
// tailClaim, and the other copies the arrays first (unshare). So does a
// call whose point does not come last by date (it is inserted into the
// index), that changes a point (a credit's take-back, a rejected line's
// undo), or whose arrays are full (they are copied with a quarter more
// room): everything but an append in date order happens on arrays of the
// call's own, copied once per call and volume.
//
// A slot once taken stays taken: after a call that fails, or whose line
// that appended is rejected (SettleWhatYouCan), the next call from the
// same state copies the points, as after any other call from it.

// tailClaim belongs to one set of arrays (points, index order, running
// sums): n is the number of points of the longest volume written into
// them. A volume as long as n may append in place by moving n on by one;
// a shorter one shares only a prefix of what is written and must copy.
type tailClaim struct{ n atomic.Int64 }

// borrow makes v, a call's copy of volume was, share was's points and
// index (O(1), not a copy): v may append to them in date order
// (addPoint); anything else copies them first.
func (v *volState) borrow(was *volState) {
	v.units, v.points, v.byDate, v.tail, v.borrowed, v.retro = was.units, was.points, was.byDate, was.tail, true, was.retro
}

// indexPoints indexes the points of v, a rolling volume just built (read
// from JSON or pruned), in arrays of its own with room to append to: the
// first call settling from the state that holds it appends in place.
func (v *volState) indexPoints() {
	v.byDate.build(v.points)
	v.unshare()
}

// addPoint appends point p, of a line v's call settles, to the rolling
// volume v.
func (v *volState) addPoint(p volPoint) {
	switch {
	case v.borrowed && !v.claimNext(p.date):
		v.unshare()
	case v.tail == nil: // a volume new in the call: its arrays are its own
		v.tail = new(tailClaim)
	}
	v.points = append(v.points, p)
	v.byDate.added(v.points)
	if !v.borrowed {
		v.tail.n.Store(int64(len(v.points)))
	}
}

// adjustPoint adds delta to the units of point i of v (a credit taking
// back from it, or a rejected line's undo giving back).
func (v *volState) adjustPoint(i int, delta int64) {
	if v.borrowed {
		v.unshare()
	}
	v.points[i].units += delta
	v.byDate.changed(v.points, i, delta)
}

// dropLastPoint drops the last point of v (a rejected line's).
func (v *volState) dropLastPoint() {
	if v.borrowed {
		v.unshare()
	}
	v.byDate.dropLast(v.points)
	v.points = v.points[:len(v.points)-1]
	v.tail.n.Store(int64(len(v.points)))
}

// claimNext reports whether a point dated at may be appended in place to
// v's borrowed arrays, and takes the slot after v's points if so: the
// point comes last by date, the arrays have room for it, and no other
// volume sharing them has taken the slot.
func (v *volState) claimNext(at time.Time) bool {
	n, x := len(v.points), &v.byDate
	switch {
	case v.tail == nil, n == cap(v.points), n == cap(x.ord), len(x.pre) != n+1, n+1 == cap(x.pre):
		return false
	case n > 0 && at.Before(v.points[x.ord[n-1]].date):
		return false
	}
	return v.tail.n.CompareAndSwap(int64(n), int64(n+1))
}

// unshare gives v arrays of its own: copies of its points and index, with
// room to append a quarter more points in place (and sixteen).
func (v *volState) unshare() {
	n := len(v.points)
	room := n + n/4 + 16
	v.points = append(make([]volPoint, 0, room), v.points...)
	v.byDate = pointIndex{
		ord: append(make([]int, 0, room), v.byDate.ord...),
		pre: append(make([]int64, 0, room+1), v.byDate.pre...),
	}
	v.tail, v.borrowed = new(tailClaim), false
	v.tail.n.Store(int64(n))
}
