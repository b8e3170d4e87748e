package settlement

import (
	"slices"
	"sort"
	"time"
)

// pointIndex orders the points of a rolling window's volume by date and
// keeps their running sums, so that what a line reads of the volume (the
// sum of the points in the twelve months up to its date) costs two binary
// searches, not a pass over every point the volume ever held: with one
// pass per line, a seller's lines cost time in proportion to the seller's
// lines before them (26-30 us a line at 10,000 lines of one seller, 190
// us at 40,000, against 3-4 us now and for a calendar year).
//
// Points are kept in the order lines added them (the state's JSON lists
// them so); the index is beside them. A volume's index is written only by
// the call that owns the volume (run.own), like its points (after the
// points of the state it borrowed them from: rollingpoints.go), and is
// never built lazily by a reader, so states sharing a volume can be read
// at once. Lines mostly come in date order, which only appends to the index;
// a late line's point is inserted, a credit taking back from a point
// adjusts the sums after it, and a rejected line's changes are undone the
// same way (dropLast, changed).
type pointIndex struct {
	ord []int   // the points' indexes by date; points of one date in the order they were added
	pre []int64 // pre[i] is the sum of the units of the points ord[:i]: len(ord)+1 sums once built
}

// build indexes points afresh.
func (x *pointIndex) build(points []volPoint) {
	x.ord = make([]int, len(points))
	for i := range x.ord {
		x.ord[i] = i
	}
	slices.SortStableFunc(x.ord, func(a, b int) int { return points[a].date.Compare(points[b].date) })
	x.pre = make([]int64, len(points)+1)
	for i, p := range x.ord {
		x.pre[i+1] = x.pre[i] + points[p].units
	}
}

// after returns the position in the index of the first point dated after
// t.
func (x *pointIndex) after(points []volPoint, t time.Time) int {
	return sort.Search(len(x.ord), func(i int) bool { return points[x.ord[i]].date.After(t) })
}

// sum returns the sum of the units of the points dated in (from, to].
func (x *pointIndex) sum(points []volPoint, from, to time.Time) int64 {
	if len(x.pre) == 0 || !to.After(from) {
		return 0
	}
	return x.pre[x.after(points, to)] - x.pre[x.after(points, from)]
}

// later returns the sum of the units of the points dated after t whose
// own twelve months hold t (p.AddDate(-1, 0, 0) before t): the lines
// settled before a late line that read a volume without it. It costs
// nothing for a line dated after every point.
//
// Near a year after t, whether a point holds t is not monotone in its
// date (a time of day on February 29 goes back to March 1, after a point
// of March 1 at midnight), so the points more than two days either side
// of t plus a year are summed by the index, and those within them one by
// one.
func (x *pointIndex) later(points []volPoint, t time.Time) int64 {
	n := len(x.ord)
	if n == 0 || !points[x.ord[n-1]].date.After(t) {
		return 0
	}
	year := t.AddDate(1, 0, 0)
	lo, hi := year.Add(-48*time.Hour), year.Add(48*time.Hour)
	from, mid := x.after(points, t), x.after(points, lo)
	if mid < from {
		mid = from
	}
	sum := x.pre[mid] - x.pre[from]
	for i := mid; i < n && !points[x.ord[i]].date.After(hi); i++ {
		if p := points[x.ord[i]]; p.date.After(t) && p.date.AddDate(-1, 0, 0).Before(t) {
			sum += p.units
		}
	}
	return sum
}

// added indexes the last of points, just appended.
func (x *pointIndex) added(points []volPoint) {
	if len(x.pre) == 0 {
		x.pre = append(x.pre, 0)
	}
	last := len(points) - 1
	at := x.after(points, points[last].date) // after the points of its date: the order they were added
	x.ord = slices.Insert(x.ord, at, last)
	x.pre = slices.Insert(x.pre, at+1, 0)
	for i := at; i < len(x.ord); i++ {
		x.pre[i+1] = x.pre[i] + points[x.ord[i]].units
	}
}

// changed adds delta to the running sums from point p on, whose units
// changed by delta.
func (x *pointIndex) changed(points []volPoint, p int, delta int64) {
	for i := x.position(points, p) + 1; i < len(x.pre); i++ {
		x.pre[i] += delta
	}
}

// dropLast unindexes the last of points, which is about to be dropped (a
// rejected line's point).
func (x *pointIndex) dropLast(points []volPoint) {
	at := x.position(points, len(points)-1)
	x.ord = slices.Delete(x.ord, at, at+1)
	x.pre = slices.Delete(x.pre, at+1, at+2)
	for i := at; i < len(x.ord); i++ {
		x.pre[i+1] = x.pre[i] + points[x.ord[i]].units
	}
}

// position returns where point p is in the index: among the points of
// its date.
func (x *pointIndex) position(points []volPoint, p int) int {
	at := x.after(points, points[p].date) - 1
	for x.ord[at] != p {
		at--
	}
	return at
}

// of returns the index of the point of line dated at, or -1, and whether
// a second point of the line is dated at too: a credit finds the point it
// takes back from among the points of the line's date, not by a pass over
// every point.
func (x *pointIndex) of(points []volPoint, line LineID, at time.Time) (int, bool) {
	found := -1
	for i := sort.Search(len(x.ord), func(i int) bool { return !points[x.ord[i]].date.Before(at) }); i < len(x.ord); i++ {
		p := x.ord[i]
		if !points[p].date.Equal(at) {
			break
		}
		if points[p].line == line {
			if found >= 0 {
				return found, true
			}
			found = p
		}
	}
	return found, false
}
