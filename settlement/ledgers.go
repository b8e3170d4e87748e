package settlement

import (
	"iter"
	"slices"
)

// ledgers are a state's settled lines by id. The line or two of a call
// that settles an invoice line as it is issued, from an empty state, are
// held in place: no map to allocate, hash into and leave to the collector
// per call, which was a third of such a call's bytes. A third line moves
// them all into a map, which from then on holds every line.
type ledgers struct {
	ids [2]LineID
	few [2]*ledger // few[i] is the ledger of line ids[i]; nil: a free slot
	m   map[LineID]*ledger
}

// newLedgers returns ledgers with room for n lines.
func newLedgers(n int) ledgers {
	if n > len(ledgers{}.few) {
		return ledgers{m: make(map[LineID]*ledger, n)}
	}
	return ledgers{}
}

// get returns the ledger of line id, or nil.
func (ls *ledgers) get(id LineID) *ledger {
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
func (ls *ledgers) len() int {
	if ls.m != nil {
		return len(ls.m)
	}
	n := 0
	for _, lg := range ls.few {
		if lg != nil {
			n++
		}
	}
	return n
}

// put makes lg (not nil) the ledger of line id and returns the ledger it
// replaces, or nil.
func (ls *ledgers) put(id LineID, lg *ledger) *ledger {
	if ls.m == nil {
		free := -1
		for i, was := range ls.few {
			switch {
			case was != nil && ls.ids[i] == id:
				ls.few[i] = lg
				return was
			case was == nil && free < 0:
				free = i
			}
		}
		if free >= 0 {
			ls.ids[free], ls.few[free] = id, lg
			return nil
		}
		ls.m = make(map[LineID]*ledger, 2*len(ls.few))
		for i, was := range ls.few {
			ls.m[ls.ids[i]] = was
		}
		*ls = ledgers{m: ls.m}
	}
	was := ls.m[id]
	ls.m[id] = lg
	return was
}

// del drops line id.
func (ls *ledgers) del(id LineID) {
	if ls.m != nil {
		delete(ls.m, id)
		return
	}
	for i, lg := range ls.few {
		if lg != nil && ls.ids[i] == id {
			ls.ids[i], ls.few[i] = "", nil
		}
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
			return
		}
		for i, lg := range ls.few {
			if lg != nil && !yield(ls.ids[i], lg) {
				return
			}
		}
	}
}

// sorted returns the ids of the lines held, in order.
func (ls *ledgers) sorted() []LineID {
	ids := make([]LineID, 0, ls.len())
	for id := range ls.all() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// clone returns a copy of ls that shares no map with it (the ledgers
// themselves are never changed in place), with room for extra more lines.
func (ls *ledgers) clone(extra int) ledgers {
	if ls.m == nil && ls.len()+extra <= len(ls.few) {
		return *ls
	}
	out := newLedgers(ls.len() + extra)
	for id, lg := range ls.all() {
		out.put(id, lg)
	}
	return out
}
