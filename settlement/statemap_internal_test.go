package settlement

import (
	"cmp"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/partner"
)

// TestPropertyStateMapIsAMap runs random puts, deletes and clones on a
// stateMap and on a plain map beside them: every get, len, sorted list and
// walk agrees; a clone changed afterwards leaves its original as it was
// (states are values: a call's state never changes the one it came from);
// a clone merges nothing (it copies a few entries or stacks one layer, so
// many calls from one state each cost little); and once sealed, as a call
// returns it, the layers below a state stay few (about log2 of the lines
// held), so a lookup stays cheap.
func TestPropertyStateMapIsAMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var ids []LineID
		for i := range rapid.IntRange(1, 40).Draw(t, "ids") {
			ids = append(ids, LineID(fmt.Sprintf("L%02d", i)))
		}
		ls := newStateMap[LineID, *ledger](rapid.IntRange(0, 4).Draw(t, "room"))
		ref := map[LineID]*ledger{}
		var frozen []stateMap[LineID, *ledger] // clones, with what they held when cloned
		var frozenRef []map[LineID]*ledger
		check := func(ls *stateMap[LineID, *ledger], ref map[LineID]*ledger) {
			if ls.len() != len(ref) {
				t.Fatalf("len %d, want %d", ls.len(), len(ref))
			}
			for _, id := range ids {
				if got := ls.get(id); got != ref[id] {
					t.Fatalf("get(%s) = %p, want %p", id, got, ref[id])
				}
				if _, held := ref[id]; ls.has(id) != held {
					t.Fatalf("has(%s) = %t", id, !held)
				}
			}
			walked := map[LineID]*ledger{}
			for id, lg := range ls.all() {
				if _, twice := walked[id]; twice {
					t.Fatalf("all yields %s twice", id)
				}
				walked[id] = lg
			}
			if !maps.Equal(walked, ref) {
				t.Fatalf("all yields %v, want %v", walked, ref)
			}
			checkShadows(t, ls)
			sorted := ls.sorted(cmp.Compare)
			for i := 1; i < len(sorted); i++ {
				if sorted[i-1] >= sorted[i] {
					t.Fatalf("sorted %v", sorted)
				}
			}
			if len(sorted) != len(ref) {
				t.Fatalf("sorted %v, want %d ids", sorted, len(ref))
			}
		}
		for range rapid.IntRange(0, 100).Draw(t, "ops") {
			id := rapid.SampledFrom(ids).Draw(t, "id")
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0, 1, 4:
				lg := &ledger{line: id}
				want, held := ref[id]
				if got, ok := ls.put(id, lg); got != want || ok != held {
					t.Fatalf("put(%s) replaced %p, want %p", id, got, want)
				}
				ref[id] = lg
			case 2:
				ls.del(id)
				delete(ref, id)
			case 3: // a call returns ls (sealed) and the next starts from it
				ls.seal()
				check(&ls, ref)
				depth := 0
				for l := ls.below; l != nil; l = l.below {
					depth++
				}
				if depth > bits.Len(uint(len(ids)))+2 {
					t.Fatalf("%d layers below %d lines", depth, len(ref))
				}
				frozen = append(frozen, ls)
				frozenRef = append(frozenRef, maps.Clone(ref))
				c := ls.clone(rapid.IntRange(0, 12).Draw(t, "extra"))
				if c.below != ls.below && (c.below == nil || c.below.below != ls.below) {
					t.Fatalf("clone merged layers")
				}
				ls = c
			}
			check(&ls, ref)
		}
		for i := range frozen {
			check(&frozen[i], frozenRef[i])
		}
	})
}

// checkShadows fails t unless every part of lm (top, each layer) records
// as its shadows exactly the ids it holds that a part below it holds too:
// all hides an entry only by them.
func checkShadows[V any](t *rapid.T, lm *stateMap[LineID, V]) {
	want := func(ids []LineID, below *stateLayer[LineID, V]) keySet[LineID] {
		s := keySet[LineID]{}
		for _, id := range ids {
			for l := below; l != nil; l = l.below {
				if _, ok := l.m[id]; ok {
					s[id] = struct{}{}
					break
				}
			}
		}
		return s
	}
	var top []LineID
	for i, id := range lm.ids {
		if id != "" {
			top = append(top, id)
		} else if lm.fewShadow&(1<<i) != 0 {
			t.Fatalf("free slot %d marked as a shadow", i)
		}
	}
	for id := range lm.m {
		top = append(top, id)
	}
	if got, w := lm.topShadow(), want(top, lm.below); !maps.Equal(got, w) {
		t.Fatalf("top shadows %v, want %v", got, w)
	}
	for l := lm.below; l != nil; l = l.below {
		if got, w := l.shadow, want(slices.Collect(maps.Keys(l.m)), l.below); !maps.Equal(got, w) {
			t.Fatalf("layer shadows %v, want %v", got, w)
		}
	}
}

// TestPropertyStateMapHoldsZeroValues checks that a stateMap of values
// whose zero value is a value (a credit record, a list of volumes) tells
// a key held with the zero value from one not held, through clones; its
// keys are volume keys (a struct, whose zero value marks a free slot):
// every lookup, walk and sorted list agrees with a plain map's.
func TestPropertyStateMapHoldsZeroValues(t *testing.T) {
	key := func(i int) volKey {
		return volKey{partner: partner.ID(fmt.Sprintf("p%d", i/3)), cur: "EUR", window: WindowCalendarYear, year: 2024 + i%3}
	}
	rapid.Check(t, func(t *rapid.T) {
		lm := newStateMap[volKey, int](rapid.IntRange(0, 12).Draw(t, "room"))
		ref := map[volKey]int{}
		for range rapid.IntRange(0, 60).Draw(t, "ops") {
			k := key(rapid.IntRange(0, 20).Draw(t, "key"))
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				v := rapid.IntRange(0, 1).Draw(t, "v")
				want, held := ref[k]
				if got, ok := lm.put(k, v); got != want || ok != held {
					t.Fatalf("put(%v) replaced %d, %t; want %d, %t", k, got, ok, want, held)
				}
				ref[k] = v
			case 2:
				lm.del(k)
				delete(ref, k)
			case 3:
				lm.seal()
				lm = lm.clone(rapid.IntRange(0, 10).Draw(t, "extra"))
			}
			for i := range 21 {
				v, ok := lm.lookup(key(i))
				want, held := ref[key(i)]
				if v != want || ok != held {
					t.Fatalf("lookup(%v) = %d, %t; want %d, %t", key(i), v, ok, want, held)
				}
			}
			if lm.len() != len(ref) {
				t.Fatalf("len %d, want %d", lm.len(), len(ref))
			}
			if walked := maps.Collect(lm.all()); !maps.Equal(walked, ref) {
				t.Fatalf("all yields %v, want %v", walked, ref)
			}
			if got, want := lm.sorted(compareVolKeys), slices.SortedFunc(maps.Keys(ref), compareVolKeys); !slices.Equal(got, want) {
				t.Fatalf("sorted %v, want %v", got, want)
			}
		}
	})
}

// BenchmarkStateMapAll walks every entry of a map built as states settled
// one line per call make it (sealed and cloned each call; with rewrites,
// every tenth call also rewrites an older line, as a credit does): a walk
// reads each part once, hiding what newer parts shadow, whatever the
// layers.
func BenchmarkStateMapAll(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		for _, rewrites := range []bool{false, true} {
			b.Run(fmt.Sprintf("lines_%d/rewrites_%t", n, rewrites), func(b *testing.B) {
				lm := newStateMap[LineID, int](0)
				for i := range n {
					lm.put(LineID(fmt.Sprintf("L%07d", i)), i)
					if rewrites && i%10 == 9 {
						lm.put(LineID(fmt.Sprintf("L%07d", i/2)), -i)
					}
					lm.seal()
					lm = lm.clone(1)
				}
				layers := 0
				for l := lm.below; l != nil; l = l.below {
					layers++
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					held := 0
					for range lm.all() {
						held++
					}
					if held != n {
						b.Fatalf("walked %d of %d", held, n)
					}
				}
				b.ReportMetric(float64(layers), "layers")
			})
		}
	}
}
