package settlement

import (
	"iter"
	"maps"
	"slices"
)

// lineMap is what a state keeps per line id (its ledgers, its credit
// records, the volumes its lines added to): a value that a call copies in
// O(what it changes), not O(everything the state holds), so that settling
// one line per call costs the same against a state of a hundred thousand
// lines as against an empty one.
//
// A state's own entries (top) are the ones its call wrote; those of the
// states it came from are below, in layers that are never written again
// and that every later state shares. Looking an id up reads top, then
// each layer from the newest down: the first that holds the id has its
// value. The call that makes a state seals it before returning it: top,
// unless it holds only a few entries, becomes a layer, which merges into
// the layer below while it is at least half that one's size (a binary
// counter: an entry is copied about log2(entries held) times in all, and
// a lookup reads at most that many layers). A call starting from a state
// (clone) then copies at most a few entries, however the state was made
// and however many calls start from it.
//
// A few entries on top are held in place (few) rather than in a map, and
// a state cloned from them copies them: a call settling one line, from an
// empty state or from the one the previous call returned, allocates no
// map (a map was a third of the bytes of such a call from an empty state)
// and stacks a layer only once every few calls. An entry more than few
// holds moves them all into a map.
type lineMap[V any] struct {
	below *lineLayer[V]
	ids   [fewLines]LineID // "": a free slot (no line id is empty)
	few   [fewLines]V      // few[i] is the value of ids[i]
	m     map[LineID]V
	n     int // ids held, top and below
}

// lineLayer is a layer below a state's own entries: never written after
// it is made.
type lineLayer[V any] struct {
	m     map[LineID]V
	below *lineLayer[V]
}

// fewLines is how many entries top holds in place.
const fewLines = 8

// newLineMap returns a lineMap with room for n entries of its own.
func newLineMap[V any](n int) lineMap[V] {
	if n > fewLines {
		return lineMap[V]{m: make(map[LineID]V, n)}
	}
	return lineMap[V]{}
}

// get returns the value of id, or the zero value.
func (lm *lineMap[V]) get(id LineID) V {
	v, _ := lm.lookup(id)
	return v
}

// has reports whether lm holds id.
func (lm *lineMap[V]) has(id LineID) bool {
	_, ok := lm.lookup(id)
	return ok
}

// lookup returns the value of id and whether lm holds it.
func (lm *lineMap[V]) lookup(id LineID) (V, bool) {
	if lm == nil {
		var zero V
		return zero, false
	}
	if v, ok := lm.top(id); ok {
		return v, true
	}
	for l := lm.below; l != nil; l = l.below {
		if v, ok := l.m[id]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// top returns the value of id among the state's own entries.
func (lm *lineMap[V]) top(id LineID) (V, bool) {
	if lm.m != nil {
		v, ok := lm.m[id]
		return v, ok
	}
	if id != "" {
		for i := range lm.ids {
			if lm.ids[i] == id {
				return lm.few[i], true
			}
		}
	}
	var zero V
	return zero, false
}

// len returns the number of ids held.
func (lm *lineMap[V]) len() int {
	if lm == nil {
		return 0
	}
	return lm.n
}

// put makes v the value of id and returns the value it replaces and
// whether there was one.
func (lm *lineMap[V]) put(id LineID, v V) (V, bool) {
	was, held := lm.lookup(id)
	if !held {
		lm.n++
	}
	if lm.m == nil && id != "" {
		free := -1
		for i := range lm.ids {
			switch {
			case lm.ids[i] == id:
				lm.few[i] = v
				return was, held
			case lm.ids[i] == "" && free < 0:
				free = i
			}
		}
		if free >= 0 {
			lm.ids[free], lm.few[free] = id, v
			return was, held
		}
	}
	if lm.m == nil {
		lm.m = lm.topMap(2 * fewLines)
		lm.ids, lm.few = [fewLines]LineID{}, [fewLines]V{}
	}
	lm.m[id] = v
	return was, held
}

// topMap returns the state's own entries as a new map with room for n.
func (lm *lineMap[V]) topMap(n int) map[LineID]V {
	m := make(map[LineID]V, n)
	for i, id := range lm.ids {
		if id != "" {
			m[id] = lm.few[i]
		}
	}
	return m
}

// del drops id.
func (lm *lineMap[V]) del(id LineID) {
	if lm == nil || !lm.has(id) {
		return
	}
	lm.n--
	if lm.m != nil {
		delete(lm.m, id)
	} else {
		for i := range lm.ids {
			if lm.ids[i] == id {
				var zero V
				lm.ids[i], lm.few[i] = "", zero
			}
		}
	}
	if lm.has(id) {
		// The id is held below too, which is never written: the state
		// takes every entry as its own, without it. (No call drops what
		// it did not add; this keeps del right if one ever does.)
		m := make(map[LineID]V, lm.n)
		for k, v := range lm.all() {
			if k != id {
				m[k] = v
			}
		}
		*lm = lineMap[V]{m: m, n: lm.n}
	}
}

// all yields every id held and its value, in no particular order.
func (lm *lineMap[V]) all() iter.Seq2[LineID, V] {
	return func(yield func(LineID, V) bool) {
		if lm == nil {
			return
		}
		if lm.m != nil {
			for id, v := range lm.m {
				if !yield(id, v) {
					return
				}
			}
		} else {
			for i, id := range lm.ids {
				if id != "" && !yield(id, lm.few[i]) {
					return
				}
			}
		}
		// A layer's entry is yielded unless top, or a newer layer, holds
		// its id.
		for l := lm.below; l != nil; l = l.below {
			for id, v := range l.m {
				if _, ok := lm.top(id); ok || lm.above(l, id) {
					continue
				}
				if !yield(id, v) {
					return
				}
			}
		}
	}
}

// above reports whether a layer newer than l holds id.
func (lm *lineMap[V]) above(l *lineLayer[V], id LineID) bool {
	for a := lm.below; a != l; a = a.below {
		if _, ok := a.m[id]; ok {
			return true
		}
	}
	return false
}

// sorted returns the ids held, in order.
func (lm *lineMap[V]) sorted() []LineID {
	ids := make([]LineID, 0, lm.len())
	for id := range lm.all() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// topLen returns the number of the state's own entries.
func (lm *lineMap[V]) topLen() int {
	if lm.m != nil {
		return len(lm.m)
	}
	held := 0
	for _, id := range lm.ids {
		if id != "" {
			held++
		}
	}
	return held
}

// clone returns the map of a new state that starts from lm, with room
// for extra entries of its own: lm's own entries, copied when they are
// few and leave room for extra, else as a new layer below the new state's
// own, as it is (a few entries, or a map of a state its maker did not
// seal: Prune's, a decoded one). It merges nothing, so it costs O(few)
// whatever lm holds. lm is never written after it is cloned: a call
// writes only the state it cloned.
func (lm *lineMap[V]) clone(extra int) lineMap[V] {
	held := lm.topLen()
	if lm.m == nil && held+extra <= fewLines {
		return *lm
	}
	out := newLineMap[V](extra)
	out.below, out.n = lm.below, lm.n
	switch {
	case lm.m != nil && held > 0:
		out.below = &lineLayer[V]{m: lm.m, below: lm.below}
	case lm.m == nil && held > 0:
		out.below = &lineLayer[V]{m: lm.topMap(held), below: lm.below}
	}
	return out
}

// seal readies the map of a state its call is about to return: top,
// unless it holds at most half of few, becomes a layer merged into those
// below as stack merges; else a layer a clone stacked as it was is merged
// into the one below it where it is at least half that one's size. So a
// state's layers stay about log2(entries held), and the calls that start
// from it merge nothing (clone).
func (lm *lineMap[V]) seal() {
	if lm == nil {
		return
	}
	if lm.topLen() > fewLines/2 {
		m := lm.m
		if m == nil {
			m = lm.topMap(fewLines)
		}
		*lm = lineMap[V]{below: stack(m, lm.below), n: lm.n}
		return
	}
	if b := lm.below; b != nil && b.below != nil && 2*len(b.m) >= len(b.below.m) {
		lm.below = stack(b.m, b.below)
	}
}

// cloned is clone for a map a state holds by pointer, nil while empty
// (credit records, the volumes lines added to: most states hold none, and
// a state is copied whole wherever it is passed): nil for nil.
func (lm *lineMap[V]) cloned() *lineMap[V] {
	if lm == nil {
		return nil
	}
	c := lm.clone(0)
	return &c
}

// own returns *p for writing, making it first when nil. Only a state a
// call or constructor is building is written: *p is its own (cloned).
func own[V any](p **lineMap[V]) *lineMap[V] {
	if *p == nil {
		*p = &lineMap[V]{}
	}
	return *p
}

// stack returns layer m above below, merged into the layers below while
// it is at least half the size of the layer under it. Merging makes a new
// map: the layers it merges stay as they were, for the states that share
// them.
func stack[V any](m map[LineID]V, below *lineLayer[V]) *lineLayer[V] {
	for below != nil && 2*len(m) >= len(below.m) {
		// Cloning a map copies its table without hashing again: clone
		// the larger layer and insert the other's entries, the newer
		// layer's winning.
		var merged map[LineID]V
		if len(m) >= len(below.m) {
			merged = maps.Clone(m)
			for id, v := range below.m {
				if _, ok := merged[id]; !ok {
					merged[id] = v
				}
			}
		} else {
			merged = maps.Clone(below.m)
			maps.Copy(merged, m)
		}
		m, below = merged, below.below
	}
	return &lineLayer[V]{m: m, below: below}
}
