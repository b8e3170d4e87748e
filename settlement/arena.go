package settlement

import (
	"slices"
	"strings"

	"github.com/ensemble-commerce/ensemble"
)

// The memory a call's outputs share. Entries and ledgers are many and
// alike, so the decider hands them memory in chunks rather than one
// allocation each: entry ids are substrings of 16 KiB chunks of text, the
// Rules and Trace of entries are capped windows of chunks of references
// (entries of one leaf carrying the same rules share one window), ledger
// lines come from chunks of ledgers, their amounts from chunks of integers
// and their payees from chunks of payees, and lines that paid the same
// parties through the same nodes share one list of payees. Nothing handed
// out is written again, so a later call (which takes its buffers from the
// settler's pool) may go on filling a chunk an earlier call's outputs
// point into.

// idChunkSize is the size of the chunks entry ids are written into.
const idChunkSize = 16 << 10

// chunk returns the size of a new chunk whose default size is def, for a
// call whose lines need perLine each: the default for large calls; for
// small ones what the call needs, at least a sixteenth of the default, so
// a call of one line takes a few KB rather than 100 and a run reused for
// many such calls allocates a chunk about every sixteen.
func (d *decider) chunk(def, perLine int) int {
	return min(def, max(d.lines*perLine, def/16))
}

// writeIDs writes the entry ids of the plan's leaves for line l,
// "line:path" each, one after the other into the call's id chunk; the ids
// (entryID) are substrings of it. A leaf with a reserve writes its
// reserve's ids, "line:path#reserve" and "line:path#release", the first
// of which begins with the earning's.
func (d *decider) writeIDs(l *Line, plan *cplan) {
	need := len(plan.paths)*(len(l.ID)+1) + plan.pathsLen
	var buf [512]byte
	b := buf[:0]
	if need > len(buf) {
		b = make([]byte, 0, need)
	}
	d.idOff = d.idOff[:0]
	for _, p := range plan.paths {
		d.idOff = append(d.idOff, len(b))
		b = append(append(append(b, l.ID...), ':'), p...)
	}
	d.idOff = append(d.idOff, len(b))
	d.idLine = len(l.ID) + 1
	d.ids = d.keepChunked(b, need)
}

// keepText returns b as a string kept in the call's chunk of text, where
// entry ids are written: the texts of entries that vary per line (a
// reserve's note, a computed share) cost no allocation of their own.
func (d *decider) keepText(b []byte) string { return d.keepChunked(b, 64) }

// keepChunked keeps b in the call's chunk of text, taking a fresh chunk
// sized for perLine bytes a line when b does not fit: strings taken from
// the old one stay valid, since a Builder never rewrites what it holds.
func (d *decider) keepChunked(b []byte, perLine int) string {
	if d.idChunk.Cap()-d.idChunk.Len() < len(b) {
		d.idChunk = strings.Builder{}
		d.idChunk.Grow(max(d.chunk(idChunkSize, perLine), len(b)))
	}
	start := d.idChunk.Len()
	d.idChunk.Write(b)
	return d.idChunk.String()[start:]
}

// keepNote returns note b as keepText does, kept once: lines whose
// entries note alike (every line of a route without a referrer, whose
// share a sibling takes) share one string.
func (d *decider) keepNote(b []byte) string {
	if s, ok := d.notes[string(b)]; ok {
		return s
	}
	s := d.keepText(b)
	if d.notes == nil {
		d.notes = map[string]string{}
	}
	d.notes[s] = s
	return s
}

// entryID returns the id of leaf n's entry for the current line,
// "line:node/path": the beginning of its reserve's id when it keeps one.
func (d *decider) entryID(n *cnode) string {
	i := n.leafIdx
	if n.reserve != nil {
		return d.ids[d.idOff[i] : d.idOff[i]+d.idLine+len(n.path)]
	}
	return d.ids[d.idOff[i]:d.idOff[i+1]]
}

// reserveIDs returns the ids of the reserve and its release held back
// from earning of at leaf n: of's, with "#reserve" and "#release".
func (d *decider) reserveIDs(n *cnode, of EntryID) (EntryID, EntryID) {
	if n.reserve != nil && !n.role.multi() {
		i := n.leafIdx
		return EntryID(d.ids[d.idOff[i]:d.idOff[i+1]]), EntryID(d.ids[d.idOff[i+1]:d.idOff[i+2]])
	}
	return of + "#reserve", of + "#release"
}

// keptRules returns refs, the rule refs of leaf n's entries (the
// conditions and rules of the leaf and its ancestors), as a kept slice,
// reusing the one its previous entry in the call carried when they are
// equal, as they are for every line where the same rule versions decide.
func (d *decider) keptRules(n *cnode, refs []ensemble.Ref) []ensemble.Ref {
	if len(refs) == 0 {
		return nil
	}
	if d.ruleRefs == nil {
		d.ruleRefs = make([][]ensemble.Ref, d.s.nodes)
	}
	if last := d.ruleRefs[n.idx]; slices.Equal(last, refs) {
		return last
	}
	kept := d.keepRefs(refs)
	d.ruleRefs[n.idx] = kept
	return kept
}

// keepRefs copies refs (and more) into the call's reference arena and
// returns the copy, capped so that appending to it never reaches another
// entry's references. Chunks are shared by many entries, so a line's
// traces and rules cost about no allocation.
func (d *decider) keepRefs(refs []ensemble.Ref, more ...ensemble.Ref) []ensemble.Ref {
	n := len(refs) + len(more)
	if cap(d.arena)-len(d.arena) < n {
		d.arena = make([]ensemble.Ref, 0, max(d.chunk(256, 4), n))
	}
	start := len(d.arena)
	d.arena = append(d.arena, refs...)
	d.arena = append(d.arena, more...)
	return d.arena[start:len(d.arena):len(d.arena)]
}

// newLedger returns a ledger from the call's chunk of ledgers: one
// allocation per 163 lines instead of one per line. 163 ledgers of 200
// bytes fit the 32 KiB size class; more would be rounded up to 40 KiB.
func (d *decider) newLedger() *ledger {
	if len(d.ledgers) == cap(d.ledgers) {
		d.ledgers = make([]ledger, 0, d.chunk(163, 1))
	}
	d.ledgers = d.ledgers[:len(d.ledgers)+1]
	return &d.ledgers[len(d.ledgers)-1]
}

// keepVols returns vs, what a line added to cumulative volumes, as its
// ledger keeps them: in the call's chunk of line volumes (one allocation
// for many lines, as ledgers), capped so that appending copies; nil for
// none.
func (d *decider) keepVols(vs []lineVolume) []lineVolume {
	if len(vs) == 0 {
		return nil
	}
	if cap(d.lineVols)-len(d.lineVols) < len(vs) {
		d.lineVols = make([]lineVolume, 0, max(d.chunk(256, 1), len(vs)))
	}
	start := len(d.lineVols)
	d.lineVols = append(d.lineVols, vs...)
	return d.lineVols[start:len(d.lineVols):len(d.lineVols)]
}

// keepParts returns the payees and the amounts of a line's parts, as its
// ledger keeps them.
func (d *decider) keepParts(paid []part) (*[]payee, []int64) {
	return d.internPayees(paid), d.keepAmounts(paid)
}

// keepAmounts copies the amounts of the line's parts into the call's
// chunk of amounts, at their exact length, capped so that appending
// copies instead of reaching another ledger's amounts.
func (d *decider) keepAmounts(paid []part) []int64 {
	n := len(paid)
	if cap(d.amounts)-len(d.amounts) < n {
		d.amounts = make([]int64, 0, max(d.chunk(4096, d.s.perLine), n))
	}
	start := len(d.amounts)
	for i := range paid {
		d.amounts = append(d.amounts, paid[i].units)
	}
	return d.amounts[start : start+n : start+n]
}

// internPayees returns the payees of the line's parts: a list a recent
// line of the same seller (or, without chain timelines, of the call)
// paid, when equal, else a new one. Lines of one route pay alike, so
// most ledgers share their payees.
func (d *decider) internPayees(paid []part) *[]payee {
	if len(paid) == 0 {
		return nil
	}
	// The route's own lists first; a frozen route's are read-only, so the
	// call keeps what they miss.
	ch := d.chainTL
	if ch != nil {
		if ps := recentPayees(ch.payees[:], paid); ps != nil {
			return ps
		}
	}
	recent, next := d.payees[:], &d.nextPayee
	if ch != nil && !ch.frozen {
		recent, next = ch.payees[:], &ch.nextPayee
	} else if ps := recentPayees(recent, paid); ps != nil {
		return ps
	}
	ps := d.newPayees(paid)
	recent[*next] = ps
	*next = (*next + 1) % len(recent)
	return ps
}

// newPayees returns a new list of the payees of paid, from the call's
// chunks of payees and of lists.
func (d *decider) newPayees(paid []part) *[]payee {
	n := len(paid)
	if cap(d.payeeChunk)-len(d.payeeChunk) < n {
		d.payeeChunk = make([]payee, 0, max(d.chunk(1024, d.s.perLine), n))
	}
	start := len(d.payeeChunk)
	for i := range paid {
		d.payeeChunk = append(d.payeeChunk, paid[i].payee)
	}
	if len(d.lists) == cap(d.lists) {
		d.lists = make([][]payee, 0, d.chunk(256, 1))
	}
	d.lists = append(d.lists, d.payeeChunk[start:start+n:start+n])
	return &d.lists[len(d.lists)-1]
}

// recentPayees returns the list of recent that paid pays, or nil.
func recentPayees(recent []*[]payee, paid []part) *[]payee {
	for _, ps := range recent {
		if ps != nil && paysAlike(*ps, paid) {
			return ps
		}
	}
	return nil
}

// paysAlike reports whether paid pays ps, in order.
func paysAlike(ps []payee, paid []part) bool {
	if len(ps) != len(paid) {
		return false
	}
	for i := range ps {
		if ps[i] != paid[i].payee {
			return false
		}
	}
	return true
}

// costNode returns the call's node of the supplier costs at path.
func (d *decider) costNode(path string) *partMeta {
	m := d.costMeta[path]
	if m == nil {
		if d.costMeta == nil {
			d.costMeta = map[string]*partMeta{}
		}
		m = &partMeta{role: "supplier", node: path, kind: KindSupplierCost}
		d.costMeta[path] = m
	}
	return m
}

// lineCtx returns the shared context of the current line's ledger: the
// one its seller's last line used when equal, else the call's.
func (d *decider) lineCtx(plan *cplan, l *Line) *lineCtx {
	want := lineCtx{plan: &plan.ref, offer: l.Offer, seller: l.Route.Seller, cur: d.cur, route: l.Route.Kind, basis: plan.doc.Basis, service: l.Service}
	ch := d.chainTL
	if ch != nil && ch.ctx != nil && *ch.ctx == want {
		return ch.ctx
	}
	c := d.ctxs[want]
	if c == nil {
		if d.ctxs == nil {
			d.ctxs = map[lineCtx]*lineCtx{}
		}
		c = new(lineCtx) // only here: &want would move want to the heap
		*c = want
		d.ctxs[want] = c
	}
	if ch != nil && !ch.frozen {
		ch.ctx = c
	}
	return c
}
