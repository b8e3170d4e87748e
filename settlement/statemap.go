package settlement

import (
	"iter"
	"maps"
	"slices"
)

// stateMap is a map a state keeps by key, of which a call copies only
// what it changes, not everything the state holds: the state's ledgers,
// credit records and the volumes its lines added to, by line id, its
// cumulative volumes, by partner, currency and window, its prepaid
// commitments, by commitment, and its collection indexes, by invoice and
// collection id. So settling one
// line per call costs the same against a state of a hundred thousand
// lines, or a thousand partners' volumes, as against an empty one.
//
// A state's own entries (top) are the ones its call wrote; those of the
// states it came from are below, in layers that are never written again
// and that every later state shares. Looking a key up (an id: a line id,
// a volume's key) reads top, then each layer from the newest down: the
// first that holds the id has its value. The call that makes a state
// seals it before returning it: top, unless it holds only a few entries,
// becomes a layer, which merges into the layer below while it is at
// least half that one's size (a binary counter: an entry is copied about
// log2(entries held) times in all, and a lookup reads at most that many
// layers). A call starting from a state (clone) then copies at most a few
// entries, however the state was made and however many calls start from
// it.
//
// A few entries on top are held in place (few) rather than in a map, and
// a state cloned from them copies them: a call settling one line, from an
// empty state or from the one the previous call returned, allocates no
// map (a map was a third of the bytes of such a call from an empty state)
// and stacks a layer only once every few calls. An entry more than few
// holds moves them all into a map.
//
// Each part (top, a layer) knows which of its ids it holds over an entry
// below it (its shadows: a credit rewrites a line an older call settled,
// a line adds to a partner's volume), so that a walk over every entry
// (all) hides those below in one pass, not by looking each entry up in
// every newer part.
type stateMap[K comparable, V any] struct {
	below     *stateLayer[K, V]
	ids       [fewKeys]K // the zero key: a free slot (no key a state holds is zero: ids and commitments are never empty)
	few       [fewKeys]V // few[i] is the value of ids[i]
	fewShadow uint8      // bit i: ids[i] is held below too
	m         map[K]V
	shadow    keySet[K] // ids of m held below too; nil: none
	n         int       // ids held, top and below
}

// stateLayer is a layer below a state's own entries: never written after
// it is made.
type stateLayer[K comparable, V any] struct {
	m      map[K]V
	shadow keySet[K] // ids of m held by a layer below too; nil: none
	below  *stateLayer[K, V]
}

// keySet is a set of keys.
type keySet[K comparable] map[K]struct{}

// fewKeys is how many entries top holds in place.
const fewKeys = 8

// newStateMap returns a stateMap with room for n entries of its own.
func newStateMap[K comparable, V any](n int) stateMap[K, V] {
	if n > fewKeys {
		return stateMap[K, V]{m: make(map[K]V, n)}
	}
	return stateMap[K, V]{}
}

// get returns the value of id, or the zero value.
func (lm *stateMap[K, V]) get(id K) V {
	v, _ := lm.lookup(id)
	return v
}

// has reports whether lm holds id.
func (lm *stateMap[K, V]) has(id K) bool {
	_, ok := lm.lookup(id)
	return ok
}

// lookup returns the value of id and whether lm holds it.
func (lm *stateMap[K, V]) lookup(id K) (V, bool) {
	if lm == nil {
		var zero V
		return zero, false
	}
	if v, ok := lm.top(id); ok {
		return v, true
	}
	return lm.lookupBelow(id)
}

// lookupBelow returns the value of id in the layers below top and
// whether they hold it.
func (lm *stateMap[K, V]) lookupBelow(id K) (V, bool) {
	for l := lm.below; l != nil; l = l.below {
		if v, ok := l.m[id]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// top returns the value of id among the state's own entries.
func (lm *stateMap[K, V]) top(id K) (V, bool) {
	var none K // a free slot
	if lm.m != nil {
		v, ok := lm.m[id]
		return v, ok
	}
	if id != none {
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
func (lm *stateMap[K, V]) len() int {
	if lm == nil {
		return 0
	}
	return lm.n
}

// put makes v the value of id and returns the value it replaces and
// whether there was one.
func (lm *stateMap[K, V]) put(id K, v V) (V, bool) {
	var none K // a free slot
	was, mine := lm.top(id)
	held, shadows := mine, false
	if !mine {
		was, held = lm.lookupBelow(id)
		shadows = held
		if !held {
			lm.n++
		}
	}
	if lm.m == nil && id != none {
		free := -1
		for i := range lm.ids {
			switch {
			case lm.ids[i] == id:
				lm.few[i] = v
				return was, held
			case lm.ids[i] == none && free < 0:
				free = i
			}
		}
		if free >= 0 {
			lm.ids[free], lm.few[free] = id, v
			if shadows {
				lm.fewShadow |= 1 << free
			}
			return was, held
		}
	}
	if lm.m == nil {
		lm.m, lm.shadow = lm.topMap(2*fewKeys), lm.topShadow()
		lm.ids, lm.few, lm.fewShadow = [fewKeys]K{}, [fewKeys]V{}, 0
	}
	lm.m[id] = v
	if shadows {
		if lm.shadow == nil {
			lm.shadow = keySet[K]{}
		}
		lm.shadow[id] = struct{}{}
	}
	return was, held
}

// topMap returns the state's own entries as a new map with room for n.
func (lm *stateMap[K, V]) topMap(n int) map[K]V {
	var none K // a free slot
	m := make(map[K]V, n)
	for i, id := range lm.ids {
		if id != none {
			m[id] = lm.few[i]
		}
	}
	return m
}

// topShadow returns the ids of the state's own entries held below too.
func (lm *stateMap[K, V]) topShadow() keySet[K] {
	if lm.m != nil {
		return lm.shadow
	}
	if lm.fewShadow == 0 {
		return nil
	}
	s := keySet[K]{}
	for i, id := range lm.ids {
		if lm.fewShadow&(1<<i) != 0 {
			s[id] = struct{}{}
		}
	}
	return s
}

// del drops id.
func (lm *stateMap[K, V]) del(id K) {
	var none K // a free slot
	if lm == nil || !lm.has(id) {
		return
	}
	lm.n--
	if lm.m != nil {
		delete(lm.m, id)
		delete(lm.shadow, id)
	} else {
		for i := range lm.ids {
			if lm.ids[i] == id {
				var zero V
				lm.ids[i], lm.few[i] = none, zero
				lm.fewShadow &^= 1 << i
			}
		}
	}
	if lm.has(id) {
		// The id is held below too, which is never written: the state
		// takes every entry as its own, without it. (No call drops what
		// it did not add; this keeps del right if one ever does.)
		m := make(map[K]V, lm.n)
		for k, v := range lm.all() {
			if k != id {
				m[k] = v
			}
		}
		*lm = stateMap[K, V]{m: m, n: lm.n}
	}
}

// all yields every id held and its value, in no particular order: each
// part's entries, from the top down, but those whose ids a newer part
// shadows. O(entries held and shadowed), whatever the layers.
func (lm *stateMap[K, V]) all() iter.Seq2[K, V] {
	var none K // a free slot
	return func(yield func(K, V) bool) {
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
				if id != none && !yield(id, lm.few[i]) {
					return
				}
			}
		}
		var hidden hiddenKeys[K]
		hidden.add(lm.topShadow())
		for l := lm.below; l != nil; l = l.below {
			for id, v := range l.m {
				if !hidden.has(id) && !yield(id, v) {
					return
				}
			}
			hidden.add(l.shadow)
		}
	}
}

// hiddenKeys is the union of the shadow sets of the parts a walk has
// passed: a set as it came while there is only one, so a walk over a
// state whose calls rewrote nothing, or rewrote in one part, makes none.
type hiddenKeys[K comparable] struct {
	set   keySet[K]
	owned bool // set was made here, and may be written
}

// add adds s to the ids hidden.
func (h *hiddenKeys[K]) add(s keySet[K]) {
	switch {
	case len(s) == 0:
	case h.set == nil:
		h.set = s
	default:
		if !h.owned {
			h.set, h.owned = maps.Clone(h.set), true
		}
		maps.Copy(h.set, s)
	}
}

// has reports whether id is hidden.
func (h *hiddenKeys[K]) has(id K) bool {
	_, ok := h.set[id]
	return ok
}

// sorted returns the keys held, in the order of cmp.
func (lm *stateMap[K, V]) sorted(cmp func(a, b K) int) []K {
	keys := make([]K, 0, lm.len())
	for k := range lm.all() {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}

// topLen returns the number of the state's own entries.
func (lm *stateMap[K, V]) topLen() int {
	var none K // a free slot
	if lm.m != nil {
		return len(lm.m)
	}
	held := 0
	for _, id := range lm.ids {
		if id != none {
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
func (lm *stateMap[K, V]) clone(extra int) stateMap[K, V] {
	held := lm.topLen()
	if lm.m == nil && held+extra <= fewKeys {
		return *lm
	}
	out := newStateMap[K, V](extra)
	out.below, out.n = lm.below, lm.n
	switch {
	case lm.m != nil && held > 0:
		out.below = &stateLayer[K, V]{m: lm.m, shadow: lm.shadow, below: lm.below}
	case lm.m == nil && held > 0:
		out.below = &stateLayer[K, V]{m: lm.topMap(held), shadow: lm.topShadow(), below: lm.below}
	}
	return out
}

// seal readies the map of a state its call is about to return: top,
// unless it holds at most half of few, becomes a layer merged into those
// below as stack merges; else a layer a clone stacked as it was is merged
// into the one below it where it is at least half that one's size. So a
// state's layers stay about log2(entries held), and the calls that start
// from it merge nothing (clone).
func (lm *stateMap[K, V]) seal() {
	if lm == nil {
		return
	}
	if lm.topLen() > fewKeys/2 {
		m := lm.m
		if m == nil {
			m = lm.topMap(fewKeys)
		}
		*lm = stateMap[K, V]{below: stack(&stateLayer[K, V]{m: m, shadow: lm.topShadow(), below: lm.below}), n: lm.n}
		return
	}
	if b := lm.below; b != nil && b.below != nil && 2*len(b.m) >= len(b.below.m) {
		lm.below = stack(b)
	}
}

// cloned is clone for a map a state holds by pointer, nil while empty
// (credit records, the volumes lines added to: most states hold none, and
// a state is copied whole wherever it is passed): nil for nil.
func (lm *stateMap[K, V]) cloned() *stateMap[K, V] {
	if lm == nil {
		return nil
	}
	c := lm.clone(0)
	return &c
}

// own returns *p for writing, making it first when nil. Only a state a
// call or constructor is building is written: *p is its own (cloned).
func own[K comparable, V any](p **stateMap[K, V]) *stateMap[K, V] {
	if *p == nil {
		*p = &stateMap[K, V]{}
	}
	return *p
}

// stack returns layer l merged into the layers below it while it is at
// least half the size of the layer under it. Merging makes a new layer:
// those it merges stay as they were, for the states that share them.
func stack[K comparable, V any](l *stateLayer[K, V]) *stateLayer[K, V] {
	for l.below != nil && 2*len(l.m) >= len(l.below.m) {
		l = merge(l, l.below)
	}
	return l
}

// merge returns layers l and the one below it, b, as one: l's entries
// winning, shadowing what either shadowed below b.
func merge[K comparable, V any](l, b *stateLayer[K, V]) *stateLayer[K, V] {
	// Cloning a map copies its table without hashing again: clone the
	// larger layer and insert the other's entries, the newer winning.
	var m map[K]V
	if len(l.m) >= len(b.m) {
		m = maps.Clone(l.m)
		for id, v := range b.m {
			if _, ok := m[id]; !ok {
				m[id] = v
			}
		}
	} else {
		m = maps.Clone(b.m)
		maps.Copy(m, l.m)
	}
	// An id l shadows is held below b only where b did not hold it (l
	// shadowed a layer further down) or b shadows it too.
	shadow, owned := b.shadow, false
	for id := range l.shadow {
		if _, inB := b.m[id]; inB {
			continue
		}
		if !owned {
			shadow, owned = make(keySet[K], len(b.shadow)+len(l.shadow)), true
			maps.Copy(shadow, b.shadow)
		}
		shadow[id] = struct{}{}
	}
	return &stateLayer[K, V]{m: m, shadow: shadow, below: b.below}
}
