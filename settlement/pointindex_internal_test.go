package settlement

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestPropertyPointIndexSumsTheWindow adds points in any date order (late
// lines included), takes units back from random points, drops the last
// (a rejected line's), clones and rebuilds, and checks every window sum against a pass over the points,
// as volumeAt summed before the index: the points dated in (from, to];
// and that each line's point is found at its date, and only there.
// A clone's changes leave the original as it was.
func TestPropertyPointIndexSumsTheWindow(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rapid.Check(t, func(t *rapid.T) {
		day := func(label string) time.Time {
			return start.AddDate(0, 0, rapid.IntRange(0, 800).Draw(t, label))
		}
		var v volState
		var frozen []volState // clones, each with its points as they were
		var frozenPoints [][]volPoint
		check := func(v *volState) {
			for range 5 {
				from, to := day("from"), day("to")
				var want int64
				for _, p := range v.points {
					if p.date.After(from) && !p.date.After(to) {
						want += p.units
					}
				}
				if got := v.byDate.sum(v.points, from, to); got != want {
					t.Fatalf("sum(%s, %s] = %d, want %d", from.Format(time.DateOnly), to.Format(time.DateOnly), got, want)
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
		for range rapid.IntRange(0, 60).Draw(t, "ops") {
			switch op := rapid.IntRange(0, 4).Draw(t, "op"); {
			case op <= 1 || len(v.points) == 0:
				line := LineID(fmt.Sprintf("L%d", len(v.points)))
				v.points = append(v.points, volPoint{date: day("date"), units: rapid.Int64Range(0, 1000).Draw(t, "units"), line: line})
				v.byDate.added(v.points)
			case op == 2:
				i := rapid.IntRange(0, len(v.points)-1).Draw(t, "point")
				d := rapid.Int64Range(0, v.points[i].units).Draw(t, "back")
				v.points[i].units -= d
				v.byDate.changed(v.points, i, -d)
			case op == 3: // a rejected line's point, dropped
				v.byDate.dropLast(v.points)
				v.points = v.points[:len(v.points)-1]
			default:
				frozen = append(frozen, v)
				frozenPoints = append(frozenPoints, append([]volPoint(nil), v.points...))
				v = volState{points: append([]volPoint(nil), v.points...), byDate: v.byDate.clone()}
				if rapid.Bool().Draw(t, "rebuild") {
					v.byDate.build(v.points)
				}
			}
			check(&v)
		}
		for i := range frozen {
			frozen[i].points = frozenPoints[i]
			check(&frozen[i])
		}
	})
}
