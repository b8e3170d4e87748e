package settlement

import (
	"iter"
	"maps"
	"slices"
)

// ledgers are a state's settled lines by id: a value that a call copies
// in O(its own lines), not O(every line held), so that settling one line
// per call costs the same against a state of a million lines as against
// an empty one.
//
// A state's own lines (top) are the ones its call settled or changed;
// those of the states it came from are below, in layers that are never
// written again and that every later state shares. Looking a line up
// reads top, then each layer from the newest down: the first that holds
// the line has its ledger. When a call starts (clone), the state it
// starts from gives its top up as a new layer, which merges into the layer
// below while it is at least half that one's size (a binary counter: a
// line is copied about log2(lines held) times in all, and a lookup reads
// at most that many layers).
//
// While top holds a few lines it holds them in place (few) rather than
// in a map, and a state cloned from it copies them rather than stacking
// them as a layer: a call settling one line, from an empty state or from
// the one the previous call returned, allocates no map (a map was a third
// of the bytes of such a call from an empty state) and stacks a layer
// only once every len(few) calls. A line more than few holds moves them
// all into a map.
type ledgers struct {
	below *ledgerLayer
	ids   [fewLedgers]LineID
	few   [fewLedgers]*ledger // few[i] is the ledger of line ids[i]; nil: a free slot
	m     map[LineID]*ledger
	n     int // lines held, top and below
}

// fewLedgers is how many lines top holds in place.
const fewLedgers = 8

// ledgerLayer is a layer of lines below a state's own: never written
// after it is made.
type ledgerLayer struct {
	m     map[LineID]*ledger
	below *ledgerLayer
}

// newLedgers returns ledgers with room for n lines of their own.
func newLedgers(n int) ledgers {
	if n > len(ledgers{}.few) {
		return ledgers{m: make(map[LineID]*ledger, n)}
	}
	return ledgers{}
}

// get returns the ledger of line id, or nil.
func (ls *ledgers) get(id LineID) *ledger {
	if lg := ls.top(id); lg != nil {
		return lg
	}
	for l := ls.below; l != nil; l = l.below {
		if lg := l.m[id]; lg != nil {
			return lg
		}
	}
	return nil
}

// top returns the ledger of line id among the state's own lines, or nil.
func (ls *ledgers) top(id LineID) *ledger {
	if ls.m != nil {
		return ls.m[id]
	}
	for i, lg := range ls.few {
		if lg != nil && ls.ids[i] == id {
			return lg
		}
	}
	return nil
}

// len returns the number of lines held.
func (ls *ledgers) len() int { return ls.n }

// put makes lg (not nil) the ledger of line id and returns the ledger it
// replaces, or nil.
func (ls *ledgers) put(id LineID, lg *ledger) *ledger {
	was := ls.get(id)
	if was == nil {
		ls.n++
	}
	if ls.m == nil {
		free := -1
		for i, t := range ls.few {
			switch {
			case t != nil && ls.ids[i] == id:
				ls.few[i] = lg
				return was
			case t == nil && free < 0:
				free = i
			}
		}
		if free >= 0 {
			ls.ids[free], ls.few[free] = id, lg
			return was
		}
		ls.m = ls.topMap(2 * len(ls.few))
		ls.ids, ls.few = [fewLedgers]LineID{}, [fewLedgers]*ledger{}
	}
	ls.m[id] = lg
	return was
}

// topMap returns the state's own lines as a new map with room for n.
func (ls *ledgers) topMap(n int) map[LineID]*ledger {
	m := make(map[LineID]*ledger, n)
	for i, lg := range ls.few {
		if lg != nil {
			m[ls.ids[i]] = lg
		}
	}
	return m
}

// del drops line id.
func (ls *ledgers) del(id LineID) {
	if ls.get(id) == nil {
		return
	}
	ls.n--
	if ls.m != nil {
		delete(ls.m, id)
	} else {
		for i, lg := range ls.few {
			if lg != nil && ls.ids[i] == id {
				ls.ids[i], ls.few[i] = "", nil
			}
		}
	}
	if ls.get(id) != nil {
		// The line is held below too, which is never written: the state
		// takes every line as its own, without it. (No call drops a line
		// it did not add; this keeps del right if one ever does.)
		m := make(map[LineID]*ledger, ls.n)
		for l, lg := range ls.all() {
			if l != id {
				m[l] = lg
			}
		}
		*ls = ledgers{m: m, n: ls.n}
	}
}

// all yields every line held and its ledger, in no particular order.
func (ls *ledgers) all() iter.Seq2[LineID, *ledger] {
	return func(yield func(LineID, *ledger) bool) {
		if ls.m != nil {
			for id, lg := range ls.m {
				if !yield(id, lg) {
					return
				}
			}
		} else {
			for i, lg := range ls.few {
				if lg != nil && !yield(ls.ids[i], lg) {
					return
				}
			}
		}
		// A layer's line is yielded unless a newer layer, or top, holds
		// it.
		for l := ls.below; l != nil; l = l.below {
			for id, lg := range l.m {
				if ls.top(id) != nil || ls.above(l, id) {
					continue
				}
				if !yield(id, lg) {
					return
				}
			}
		}
	}
}

// above reports whether a layer newer than l holds line id.
func (ls *ledgers) above(l *ledgerLayer, id LineID) bool {
	for a := ls.below; a != l; a = a.below {
		if a.m[id] != nil {
			return true
		}
	}
	return false
}

// sorted returns the ids of the lines held, in order.
func (ls *ledgers) sorted() []LineID {
	ids := make([]LineID, 0, ls.n)
	for id := range ls.all() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// clone returns the lines of a new state that starts from ls, with room
// for extra lines of its own: ls's own lines, copied when they are few
// and leave room for extra, else as a new layer below the new state's
// own (ls is never written after it is cloned: a call writes only the
// state it cloned).
func (ls *ledgers) clone(extra int) ledgers {
	if ls.m == nil {
		held := 0
		for _, lg := range ls.few {
			if lg != nil {
				held++
			}
		}
		if held+extra <= len(ls.few) {
			return *ls
		}
		out := newLedgers(extra)
		out.below, out.n = ls.below, ls.n
		if held > 0 {
			out.below = stack(ls.topMap(held), ls.below)
		}
		return out
	}
	out := newLedgers(extra)
	out.below, out.n = ls.below, ls.n
	if len(ls.m) > 0 {
		out.below = stack(ls.m, ls.below)
	}
	return out
}

// stack returns layer m above below, merged into the layers below while
// it is at least half the size of the layer under it. Merging makes a new
// map: the layers it merges stay as they were, for the states that share
// them.
func stack(m map[LineID]*ledger, below *ledgerLayer) *ledgerLayer {
	for below != nil && 2*len(m) >= len(below.m) {
		// Cloning a map copies its table without hashing again, about
		// three times as fast as inserting: clone the larger layer and
		// insert the other's lines, the newer layer's winning.
		var merged map[LineID]*ledger
		if len(m) >= len(below.m) {
			merged = maps.Clone(m)
			for id, lg := range below.m {
				if merged[id] == nil {
					merged[id] = lg
				}
			}
		} else {
			merged = maps.Clone(below.m)
			maps.Copy(merged, m)
		}
		m, below = merged, below.below
	}
	return &ledgerLayer{m: m, below: below}
}
