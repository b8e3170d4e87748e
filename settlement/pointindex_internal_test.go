package settlement

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestPropertyPointIndexSumsTheWindow settles calls from any earlier
// state's rolling volume, as hosts fanning out from one state or settling
// one line per call do: each call borrows its volume's points
// (rollingpoints.go), adds points in any date order (late lines
// included), takes units back from any point, and drops points it added
// (a rejected line's); a volume is also rebuilt now and then, as decoding
// or pruning a state builds one. It checks every volume ever published,
// after every call, against the points it should hold: every window sum
// against a pass over them, as volumeAt summed before the index (the
// points dated in (from, to]); each line's point found at its date and
// only there; and its points as they were when it was published (a call
// appending in place after them, or taking the slot after them from
// another call, changes nothing they hold).
func TestPropertyPointIndexSumsTheWindow(t *testing.T) {
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) // 2028-02-29 within
	rapid.Check(t, func(t *rapid.T) {
		day := func(label string) time.Time {
			return start.AddDate(0, 0, rapid.IntRange(0, 800).Draw(t, label)).Add(time.Duration(rapid.IntRange(0, 3).Draw(t, label+".hour")) * 7 * time.Hour)
		}
		check := func(v *volState, want []volPoint) {
			if !slices.Equal(v.points, want) {
				t.Fatalf("points %v, want %v", v.points, want)
			}
			for range 5 {
				from, to := day("from"), day("to")
				var sum int64
				for _, p := range want {
					if p.date.After(from) && !p.date.After(to) {
						sum += p.units
					}
				}
				if got := v.byDate.sum(v.points, from, to); got != sum {
					t.Fatalf("sum(%s, %s] = %d, want %d", from.Format(time.DateOnly), to.Format(time.DateOnly), got, sum)
				}
				var later int64 // the points after to that read a volume without it
				for _, p := range want {
					if p.date.After(to) && p.date.AddDate(-1, 0, 0).Before(to) {
						later += p.units
					}
				}
				if got := v.byDate.later(v.points, to); got != later {
					t.Fatalf("later(%s) = %d, want %d", to, got, later)
				}
			}
			for i, p := range v.points {
				if got, twice := v.byDate.of(v.points, p.line, p.date); got != i || twice {
					t.Fatalf("of(%s) = %d, %t; want %d", p.line, got, twice, i)
				}
				if got, _ := v.byDate.of(v.points, p.line, p.date.AddDate(0, 0, 1)); got >= 0 {
					t.Fatalf("of(%s) a day after its date = %d", p.line, got)
				}
			}
		}
		published := []*volState{{}} // the volume of each state, the first empty
		wants := [][]volPoint{nil}   // the points each holds
		lines := 0
		for range rapid.IntRange(1, 20).Draw(t, "calls") {
			from := rapid.IntRange(0, len(published)-1).Draw(t, "from")
			want := slices.Clone(wants[from])
			v := &volState{}
			if rapid.IntRange(0, 3).Draw(t, "rebuilt") == 0 { // read from JSON, or pruned
				v.points = slices.Clone(want)
				v.indexPoints()
			} else {
				v.borrow(published[from])
			}
			added := 0
			for range rapid.IntRange(0, 6).Draw(t, "ops") {
				switch op := rapid.IntRange(0, 4).Draw(t, "op"); {
				case op <= 2 || len(want) == 0:
					p := volPoint{date: day("date"), units: rapid.Int64Range(0, 1000).Draw(t, "units"), line: LineID(fmt.Sprintf("L%d", lines))}
					lines++
					v.addPoint(p)
					want = append(want, p)
					added++
				case op == 3:
					i := rapid.IntRange(0, len(want)-1).Draw(t, "point")
					d := rapid.Int64Range(0, want[i].units).Draw(t, "back")
					v.adjustPoint(i, -d)
					want[i].units -= d
				case added > 0: // a rejected line's point, dropped
					v.dropLastPoint()
					want = want[:len(want)-1]
					added--
				}
				check(v, want)
			}
			published, wants = append(published, v), append(wants, want)
			for i := range published {
				check(published[i], wants[i])
			}
		}
	})
}

// TestBuiltVolumeIsAppendedToInPlace: a rolling volume built from its
// points (read from JSON or pruned) has room, and the first call settling
// from it appends in place rather than copying its points (found by
// review: built with no room, every such first call copied them).
func TestBuiltVolumeIsAppendedToInPlace(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var pts []volPoint
	for i := range 1000 {
		pts = append(pts, volPoint{date: start.AddDate(0, 0, i%300), units: 1})
	}
	built := &volState{points: pts}
	built.indexPoints()
	v := &volState{}
	v.borrow(built)
	v.addPoint(volPoint{date: start.AddDate(1, 0, 0), units: 1})
	if !v.borrowed {
		t.Fatalf("the first call from a built volume copied its points: cap(points)=%d cap(ord)=%d cap(pre)=%d for %d points",
			cap(built.points), cap(built.byDate.ord), cap(built.byDate.pre), len(built.points))
	}
	if len(built.points) != 1000 || built.byDate.sum(built.points, start.AddDate(-1, 0, 0), start.AddDate(2, 0, 0)) != 1000 {
		t.Fatal("the built volume changed")
	}
}

// TestLaterAroundLeapDays: which points dated after t read a volume
// without t (their own twelve months hold t) is not monotone in their date
// near t plus a year when dates carry a time of day: 2024-02-29 23:00 goes
// back to 2023-03-01 23:00, after 2024-03-01 00:00's 2023-03-01 00:00
// (found by review). later agrees with a pass over the points for every
// hour over leap and common years.
func TestLaterAroundLeapDays(t *testing.T) {
	var pts []volPoint
	for h := 0; h < 24*12; h += 5 { // every five hours from 2024-02-25 to 2024-03-06
		pts = append(pts, volPoint{date: time.Date(2024, 2, 25, h, 0, 0, 0, time.UTC), units: int64(1 + h), line: LineID(fmt.Sprint("L", h))})
	}
	var x pointIndex
	x.build(pts)
	for _, start := range []time.Time{time.Date(2023, 2, 24, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 24, 0, 0, 0, 0, time.UTC)} {
		for h := 0; h < 24*12; h++ {
			at := start.Add(time.Duration(h)*time.Hour + 30*time.Minute)
			var want int64
			for _, p := range pts {
				if p.date.After(at) && p.date.AddDate(-1, 0, 0).Before(at) {
					want += p.units
				}
			}
			if got := x.later(pts, at); got != want {
				t.Fatalf("later(%s) = %d, want %d", at, got, want)
			}
		}
	}
}
