package usage

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"iter"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// Ledger is what the usage package remembers between runs: every record id
// a report aggregated, with the digest of its content (ContentDigest), the
// line and meter it metered and the billing period it fell in. Pass the
// ledger of the previous run in Config.Ledger and the aggregator bills no
// record twice: a record it holds is a duplicate when re-sent with the same
// content (counted in Stats.Duplicates and Stats.Resent, billed zero more),
// and a Conflict when re-sent with different content (listed in
// Report.Conflicts with the entry it was billed as, never aggregated),
// however many runs later. Report.Ledger is the ledger after the run: the
// one given plus every record the report aggregated, late ones included.
// The host persists it (MarshalBinary, or MarshalJSON) and passes it to the
// next run.
//
// A Ledger is an immutable value: every method that changes it returns a
// new one and leaves the receiver as it was, so it is safe for concurrent
// use, and the zero Ledger is empty and ready to use. Deriving a new ledger
// (a run's report, Prune, Merge) copies the old one's memory, in time
// linear in its size; a ledger read back from its encoding builds its look-up
// index once, on first use.
//
// Records the report rejected or put in conflict are not remembered: they
// were not billed, so once fixed they may be sent again. A conflict with
// the ledger itself (a billed id re-sent with another content) is not
// fixed by sending again: the id stays billed as the ledger holds it, so
// send the difference under a new id, or collect under ResendCorrects
// (Config.Resend), under which a new quantity is a correction. Every aggregate a
// report returns counts as billed: an aggregate of a period the host does
// not invoice yet (records that arrived before their period ended) is
// merged (Aggregate.Merge, or MergeReports) with the next run's aggregate of
// the same period, which holds other records.
//
// Memory: about 21 bytes per id besides the id's own bytes (the id's
// length and its 8-byte digest beside it, and a look-up table of 8-byte
// slots at most 70% full, 11.4 bytes per id), plus a few dozen bytes per
// line, meter and period. The binary encoding writes ids sorted, each
// sharing its prefix with the one before, in about 11 bytes per id for
// sequential ids (evt-10000001, evt-10000002, ...). A ledger of records
// collected under ResendCorrects also holds each one's quantity: a map
// entry per id in memory (about a hundred bytes), and the id and the
// quantity's text again in the binary form's quantity table; a corrected
// record also holds the 8-byte digests of the versions its corrections
// superseded (re-sent, they are duplicates).
//
// # Pruning
//
// A ledger grows with every id billed; Prune drops the ids of the periods
// that ended at or before a cutoff and remembers the cutoff (PrunedBefore).
// An aggregator given a pruned ledger rejects every record of a period that
// ended at or before the cutoff with ErrPrunedPeriod, since it can no longer
// tell whether the record was billed: a record re-sent after its period
// was pruned is refused, never billed as new. Choose the cutoff as the end
// of the late-usage window: if usage may arrive up to 60 days after its
// period ends, prune at the run's instant minus 60 days (no earlier than
// the ClosedBefore of the periods that were invoiced), and records older
// than that are refused instead of billed late.
//
// # Sharding
//
// A ledger shards like the records: route records to shards by id, give
// each shard the ledger's ids it owns (Filter) or the whole ledger, and
// merge the shards' ledgers with MergeLedgers (MergeReports does so for
// reports). Identical entries merge into one; one id with two different
// entries is an error listing each (*LedgerConflictError), since it means
// the id was billed twice.
type Ledger struct {
	d *ledgerData // nil: empty, never pruned
}

// ledgerData is the immutable body of a non-empty Ledger (or one with a
// horizon). Its ids sit in one arena, each as a length byte (len-1), the
// id's bytes and its 8-byte digest (big-endian); spans say which bucket
// (line, meter and period) each stretch of the arena belongs to. The
// look-up table maps an id's hash to its arena offset; it is built once,
// on first use, and read-only afterwards.
type ledgerData struct {
	horizon int64 // periods ending at or before it were pruned; noHorizon: none
	arena   []byte
	n       int
	spans   []span // sorted by offset
	buckets []bucket

	seed    maphash.Seed
	once    sync.Once
	table   []uint64 // hash>>32 << 32 | offset+1; 0 is empty
	touched uint64   // sink of the table reads fill makes ahead

	// A report's ledger is built from pend on first use; until then only
	// n, horizon and seed are set.
	built sync.Once
	pend  *pending

	// qty holds, by id, the quantity a record was billed with, for the
	// records collected under ResendCorrects (canonical spelling); nil
	// when none is held. Written before the ledger is shared, read-only
	// afterwards.
	qty map[string]decimal.Decimal
	// old holds, by id, the digests of the versions of a record that a
	// correction under ResendCorrects superseded (sorted, each once, never
	// the digest the entry holds); nil when none. A re-send of one is a
	// duplicate, billed nothing. Written before the ledger is shared,
	// read-only afterwards.
	old map[string][]uint64
}

// superseded reports whether digest is one of the versions of record id
// a correction superseded.
func (d *ledgerData) superseded(id string, digest uint64) bool {
	if d == nil || d.old == nil {
		return false
	}
	_, found := slices.BinarySearch(d.old[id], digest)
	return found
}

// materialize builds a report's ledger, once; every other method reads d
// after it.
func (d *ledgerData) materialize() {
	d.built.Do(func() {
		if p := d.pend; p != nil {
			p.build(d)
			d.pend = nil // the aggregator's memory is no longer held
		}
	})
}

const noHorizon = math.MinInt64

// maxArena bounds a ledger's arena, so that an offset fits a table slot's
// low 32 bits.
const maxArena = math.MaxUint32 - 1

// span is a stretch of the arena, from off to the next span's off (or the
// arena's end), whose entries all belong to one bucket.
type span struct {
	off    uint32
	bucket int32
}

// bucket is the line, meter and billing period (Unix nanoseconds) of a
// group of entries.
type bucket struct {
	line       LineRef
	meter      MeterID
	start, end int64
}

func compareBuckets(a, b bucket) int {
	if c := strings.Compare(string(a.line), string(b.line)); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.meter), string(b.meter)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.start, b.start); c != 0 {
		return c
	}
	return cmp.Compare(a.end, b.end)
}

// LedgerEntry is one record id a Ledger holds: what it was billed as.
type LedgerEntry struct {
	// ID is the record id.
	ID RecordID `json:"id"`
	// Line and Meter are the record's line and meter.
	Line  LineRef `json:"line"`
	Meter MeterID `json:"meter"`
	// Period is the billing period the record was aggregated in, in UTC.
	Period ensemble.Period `json:"period"`
	// Digest is the record's ContentDigest.
	Digest ContentDigest `json:"digest"`
}

// Equal reports whether e and o are the same entry (periods compared as
// instants).
func (e LedgerEntry) Equal(o LedgerEntry) bool {
	return e.ID == o.ID && e.Line == o.Line && e.Meter == o.Meter && e.Period.Equal(o.Period) && e.Digest == o.Digest
}

// data returns l's body, built first when it is a report's snapshot.
func (l Ledger) data() *ledgerData {
	if l.d != nil {
		l.d.materialize()
	}
	return l.d
}

// Len returns the number of record ids the ledger holds.
func (l Ledger) Len() int {
	if l.d == nil {
		return 0
	}
	return l.d.n
}

// IsZero reports whether l holds no id and was never pruned: the ledger
// of a host's first run.
func (l Ledger) IsZero() bool { return l.d == nil || l.d.n == 0 && l.d.horizon == noHorizon }

// PrunedBefore returns the latest cutoff the ledger was pruned at (see
// Prune), or the zero time if it never was. Records of periods that end at
// or before it are rejected with ErrPrunedPeriod.
func (l Ledger) PrunedBefore() time.Time {
	if l.d == nil || l.d.horizon == noHorizon {
		return time.Time{}
	}
	return time.Unix(0, l.d.horizon).UTC()
}

func (l Ledger) horizon() int64 {
	if l.d == nil {
		return noHorizon
	}
	return l.d.horizon
}

// Lookup returns the entry of record id, if the ledger holds it.
func (l Ledger) Lookup(id RecordID) (LedgerEntry, bool) {
	if l.Len() == 0 {
		return LedgerEntry{}, false
	}
	off, ok := l.d.lookup(string(id), maphash.String(l.d.seed, string(id)))
	if !ok {
		return LedgerEntry{}, false
	}
	return l.d.entryAt(off), true
}

// BilledQuantity returns the quantity record id was billed with, when the
// ledger holds it: it does for the records collected under ResendCorrects
// (Config.Resend), in their canonical spelling (no trailing zeros), and
// after a correction the quantity of the version billed last. A record
// collected under the default policy has a digest only.
func (l Ledger) BilledQuantity(id RecordID) (decimal.Decimal, bool) {
	d := l.data()
	if d == nil || d.qty == nil {
		return decimal.Decimal{}, false
	}
	q, ok := d.qty[string(id)]
	return q, ok
}

// All returns the ledger's entries sorted by line, meter, period (start,
// then end) and id: the order MarshalJSON writes them in.
func (l Ledger) All() iter.Seq[LedgerEntry] {
	return func(yield func(LedgerEntry) bool) {
		if l.Len() == 0 {
			return
		}
		d := l.d
		for _, g := range d.sortedGroups() {
			b := d.buckets[g.bucket]
			for _, off := range d.sortedOffsets(g) {
				id, digest, _ := d.recAt(off)
				if !yield(LedgerEntry{ID: RecordID(id), Line: b.line, Meter: b.meter, Period: b.period(), Digest: ContentDigest(digest)}) {
					return
				}
			}
		}
	}
}

func (b bucket) period() ensemble.Period {
	return ensemble.Period{Start: time.Unix(0, b.start).UTC(), End: time.Unix(0, b.end).UTC()}
}

// Prune returns the ledger without the ids of billing periods that ended at
// or before cutoff, remembering the cutoff: an aggregator given the pruned
// ledger rejects records of those periods with ErrPrunedPeriod, so a record
// re-sent after its period was pruned is refused, not billed again. A
// ledger pruned at one cutoff and then at another remembers the later one.
// The zero cutoff prunes nothing. See the Ledger doc for choosing it.
func (l Ledger) Prune(cutoff time.Time) Ledger {
	if cutoff.IsZero() {
		return l
	}
	h := max(nanos(cutoff), l.horizon())
	if l.d != nil && h == l.d.horizon {
		return l
	}
	d := l.rebuild(h, nil)
	return Ledger{d}
}

// Filter returns the ledger with only the entries keep reports true for,
// and the same PrunedBefore: the share of a shard that owns some of the
// ids (keep reports whether the shard owns e.ID).
func (l Ledger) Filter(keep func(e LedgerEntry) bool) Ledger {
	if l.Len() == 0 {
		return l
	}
	return Ledger{l.rebuild(l.d.horizon, keep)}
}

// rebuild returns a canonical copy of l's data (one span per bucket,
// buckets sorted) holding the entries of buckets that end after horizon
// and that keep (if not nil) accepts.
func (l Ledger) rebuild(horizon int64, keep func(LedgerEntry) bool) *ledgerData {
	out := newLedgerData(horizon)
	if l.Len() == 0 {
		return out
	}
	d := l.d
	var bld ledgerBuilder
	bld.init(out)
	for _, g := range d.sortedGroups() {
		b := d.buckets[g.bucket]
		if b.end <= horizon {
			continue
		}
		for _, s := range g.spans {
			for off := s[0]; off < s[1]; {
				id, digest, next := d.recAt(off)
				if keep == nil || keep(LedgerEntry{ID: RecordID(id), Line: b.line, Meter: b.meter, Period: b.period(), Digest: ContentDigest(digest)}) {
					bld.add(b, id, digest)
					if q, ok := d.qty[string(id)]; ok {
						if out.qty == nil {
							out.qty = map[string]decimal.Decimal{}
						}
						out.qty[string(id)] = q
					}
					if o, ok := d.old[string(id)]; ok {
						if out.old == nil {
							out.old = map[string][]uint64{}
						}
						out.old[string(id)] = o
					}
				}
				off = next
			}
		}
	}
	return out
}

// Equal reports whether l and o hold the same entries and were pruned at
// the same cutoff, however their memory is laid out.
func (l Ledger) Equal(o Ledger) bool {
	if l.Len() != o.Len() || l.horizon() != o.horizon() {
		return false
	}
	if l.Len() == 0 {
		return true
	}
	d, od := l.d, o.d
	d.materialize()
	od.materialize()
	if !maps.EqualFunc(d.qty, od.qty, decimal.Decimal.Equal) || !maps.EqualFunc(d.old, od.old, slices.Equal) {
		return false
	}
	for si, s := range d.spans {
		b := d.buckets[s.bucket]
		for off, end := s.off, d.spanEnd(si); off < end; {
			id, digest, next := d.recAt(off)
			od.index()
			oo, ok := probe(od, id, maphash.Bytes(od.seed, id))
			if !ok {
				return false
			}
			_, odigest, _ := od.recAt(oo)
			if odigest != digest || od.buckets[od.bucketAt(oo)] != b {
				return false
			}
			off = next
		}
	}
	return true
}

// LedgerConflict is one record id that ledgers being merged hold as two or
// more different entries (another content, line, meter or period).
type LedgerConflict struct {
	ID RecordID `json:"id"`
	// Entries lists each distinct entry once, sorted by line, meter,
	// period and digest.
	Entries []LedgerEntry `json:"entries"`
}

// LedgerConflictError reports ledgers that cannot merge: record ids billed
// as different records, which routing records to shards by id prevents. It
// matches ErrConflict.
type LedgerConflictError struct {
	// Conflicts lists every conflicting id once, sorted by id.
	Conflicts []LedgerConflict
}

// Error names the first conflicting id and how many there are.
func (e *LedgerConflictError) Error() string {
	msg := "usage: merge ledgers: " + strconv.Itoa(len(e.Conflicts)) + " record id"
	if len(e.Conflicts) != 1 {
		msg += "s"
	}
	msg += " billed as different records"
	if len(e.Conflicts) > 0 {
		c := e.Conflicts[0]
		msg += ", first " + strconv.Quote(string(c.ID)) + " with digests"
		for _, x := range c.Entries {
			msg += " " + x.Digest.String() + " (" + string(x.Line) + "|" + string(x.Meter) + "|" + x.Period.Start.Format(time.RFC3339Nano) + ")"
		}
	}
	return msg
}

// Unwrap returns ErrConflict.
func (e *LedgerConflictError) Unwrap() error { return ErrConflict }

// Merge returns MergeLedgers(l, o).
func (l Ledger) Merge(o Ledger) (Ledger, error) { return MergeLedgers(l, o) }

// MergeLedgers returns the ledger holding the entries of every ledger given,
// pruned at the latest of their cutoffs: the ledger one run would have
// made of the records of all the runs (or shards) they come from. The same
// id held as the same entry by several ledgers (shards that were each given
// the whole previous ledger) is kept once. An id held as different entries
// is an error listing every such id (*LedgerConflictError, matching
// ErrConflict), and no ledger is returned. The result does not depend on
// the order of the ledgers; it costs time linear in their sizes.
func MergeLedgers(ls ...Ledger) (Ledger, error) {
	horizon := int64(noHorizon)
	base := -1
	for i, l := range ls {
		horizon = max(horizon, l.horizon())
		if l.Len() > 0 && (base < 0 || l.Len() > ls[base].Len()) {
			base = i
		}
	}
	if base < 0 {
		if horizon == noHorizon {
			return Ledger{}, nil
		}
		return Ledger{newLedgerData(horizon)}, nil
	}
	// The largest ledger is copied whole (pruned first if another ledger
	// was pruned later); the others' entries are looked up in it and in
	// those added so far, and appended when new.
	bd := ls[base].d
	if bd.horizon != horizon {
		bd = ls[base].rebuild(horizon, nil)
	}
	extra, extraBytes := 0, 0
	for i, l := range ls {
		if i != base && l.Len() > 0 {
			extra += l.Len()
			extraBytes += len(l.data().arena)
		}
	}
	out := bd.appendable(extra, extraBytes)
	var bld ledgerBuilder
	bld.init(out)
	bld.index = true
	conflicts := map[RecordID][]LedgerEntry{}
	note := func(id []byte, a, b LedgerEntry) {
		list := conflicts[RecordID(id)]
		if len(list) == 0 {
			list = append(list, a)
		}
		if !slices.ContainsFunc(list, b.Equal) {
			list = append(list, b)
		}
		conflicts[RecordID(id)] = list
	}
	for i, l := range ls {
		if i == base || l.Len() == 0 {
			continue
		}
		d := l.d
		for _, g := range d.sortedGroups() {
			b := d.buckets[g.bucket]
			if b.end <= horizon {
				continue
			}
			for _, s := range g.spans {
				for off := s[0]; off < s[1]; {
					id, digest, next := d.recAt(off)
					off = next
					found, ok := probe(out, id, maphash.Bytes(out.seed, id))
					if q, has := d.qty[string(id)]; has {
						if _, held := out.qty[string(id)]; !held {
							if out.qty == nil {
								out.qty = map[string]decimal.Decimal{}
							}
							out.qty[string(id)] = q
						}
					}
					if o, has := d.old[string(id)]; has {
						// Superseded versions add up: one shard may
						// know of a version another does not.
						if out.old == nil {
							out.old = map[string][]uint64{}
						}
						out.old[string(id)] = unionDigests(out.old[string(id)], o)
					}
					if !ok {
						bld.add(b, id, digest)
						continue
					}
					_, fdigest, _ := out.recAt(found)
					if fb := out.buckets[out.bucketAt(found)]; fdigest != digest || fb != b {
						note(id, out.entryAt(found), LedgerEntry{ID: RecordID(id), Line: b.line, Meter: b.meter, Period: b.period(), Digest: ContentDigest(digest)})
					}
				}
			}
		}
		if bld.full {
			return Ledger{}, ErrLedgerFull
		}
	}
	if len(conflicts) > 0 {
		err := &LedgerConflictError{Conflicts: make([]LedgerConflict, 0, len(conflicts))}
		for id, list := range conflicts {
			slices.SortFunc(list, compareEntries)
			err.Conflicts = append(err.Conflicts, LedgerConflict{ID: id, Entries: list})
		}
		slices.SortFunc(err.Conflicts, func(a, b LedgerConflict) int { return strings.Compare(string(a.ID), string(b.ID)) })
		return Ledger{}, err
	}
	return Ledger{out}, nil
}

func compareEntries(a, b LedgerEntry) int {
	if c := compareBuckets(bucket{a.Line, a.Meter, nanos(a.Period.Start), nanos(a.Period.End)},
		bucket{b.Line, b.Meter, nanos(b.Period.Start), nanos(b.Period.End)}); c != 0 {
		return c
	}
	return cmp.Compare(a.Digest, b.Digest)
}

// ErrLedgerFull reports a ledger whose ids would exceed 4 GiB: shard it by
// record id.
var ErrLedgerFull = errors.New("usage: ledger full (4 GiB of record ids): shard it by record id")

func newLedgerData(horizon int64) *ledgerData {
	return &ledgerData{horizon: horizon, seed: maphash.MakeSeed()}
}

// clone returns a copy of d's entries with no look-up table yet, with room
// for extra more bytes of entries.
func (d *ledgerData) clone(extra int) *ledgerData {
	d.materialize()
	out := newLedgerData(d.horizon)
	out.arena = make([]byte, len(d.arena), len(d.arena)+extra)
	copy(out.arena, d.arena)
	out.n = d.n
	out.spans = slices.Clone(d.spans)
	out.buckets = slices.Clone(d.buckets)
	out.qty = maps.Clone(d.qty)
	out.old = maps.Clone(d.old)
	return out
}

// recAt returns the id and digest of the entry at off, and the offset of
// the next one.
func (d *ledgerData) recAt(off uint32) (id []byte, digest uint64, next uint32) {
	n := uint32(d.arena[off]) + 1
	id = d.arena[off+1 : off+1+n]
	digest = binary.BigEndian.Uint64(d.arena[off+1+n:])
	return id, digest, off + 1 + n + 8
}

// bucketAt returns the bucket of the entry at off.
func (d *ledgerData) bucketAt(off uint32) int32 {
	i, found := slices.BinarySearchFunc(d.spans, off, func(s span, off uint32) int { return cmp.Compare(s.off, off) })
	if !found {
		i--
	}
	return d.spans[i].bucket
}

func (d *ledgerData) spanEnd(i int) uint32 {
	if i+1 < len(d.spans) {
		return d.spans[i+1].off
	}
	return uint32(len(d.arena))
}

func (d *ledgerData) entryAt(off uint32) LedgerEntry {
	id, digest, _ := d.recAt(off)
	b := d.buckets[d.bucketAt(off)]
	return LedgerEntry{ID: RecordID(id), Line: b.line, Meter: b.meter, Period: b.period(), Digest: ContentDigest(digest)}
}

// group is one bucket and the arena stretches [from, to) of its entries.
type group struct {
	bucket int32
	spans  [][2]uint32
}

// sortedGroups returns the buckets holding entries, sorted, each with its
// spans.
func (d *ledgerData) sortedGroups() []group {
	d.materialize()
	byBucket := make([]int32, len(d.buckets)) // bucket -> index+1 in gs
	var gs []group
	for i, s := range d.spans {
		if s.off == d.spanEnd(i) {
			continue
		}
		gi := byBucket[s.bucket]
		if gi == 0 {
			gs = append(gs, group{bucket: s.bucket})
			gi = int32(len(gs))
			byBucket[s.bucket] = gi
		}
		gs[gi-1].spans = append(gs[gi-1].spans, [2]uint32{s.off, d.spanEnd(i)})
	}
	slices.SortFunc(gs, func(a, b group) int { return compareBuckets(d.buckets[a.bucket], d.buckets[b.bucket]) })
	return gs
}

// sortedOffsets returns the offsets of g's entries, sorted by id.
func (d *ledgerData) sortedOffsets(g group) []uint32 {
	var offs []uint32
	for _, s := range g.spans {
		for off := s[0]; off < s[1]; {
			offs = append(offs, off)
			_, _, off = d.recAt(off)
		}
	}
	slices.SortFunc(offs, func(a, b uint32) int { return bytes.Compare(d.idAt(a), d.idAt(b)) })
	return offs
}

func (d *ledgerData) idAt(off uint32) []byte {
	n := uint32(d.arena[off]) + 1
	return d.arena[off+1 : off+1+n]
}

// The look-up table has a slot for every 0.7 entries: an id's slot is
// found from the low half of its hash by multiplication (any table size
// works), and the high half is the tag compared before the id itself.
func tableSize(n int) int { return max(8, n*10/7+1) }

func (d *ledgerData) index() {
	d.materialize()
	d.once.Do(func() {
		d.table = make([]uint64, tableSize(d.n))
		d.fill(false)
	})
}

// fill places every entry of the arena in the table, 64 at a time: the
// home slots of a batch are read first, so that their cache misses
// overlap instead of queueing. With unique, it reports the first id held
// twice instead of placing it.
func (d *ledgerData) fill(unique bool) (dup []byte) {
	var offs [64]uint32
	var hs [64]uint64
	n := 0
	size := uint64(len(d.table))
	flush := func() []byte {
		var touched uint64
		for i := range n {
			touched += d.table[(hs[i]&0xffffffff)*size>>32]
		}
		d.touched += touched
		for i := range n {
			if unique {
				if _, found := probe(d, d.idAt(offs[i]), hs[i]); found {
					return d.idAt(offs[i])
				}
			}
			d.place(hs[i], offs[i])
		}
		n = 0
		return nil
	}
	for off := uint32(0); off < uint32(len(d.arena)); {
		id, _, next := d.recAt(off)
		offs[n], hs[n] = off, maphash.Bytes(d.seed, id)
		if n++; n == len(offs) {
			if dup := flush(); dup != nil {
				return dup
			}
		}
		off = next
	}
	return flush()
}

// appendable returns a copy of d to append extra entries of extraBytes to, with
// a look-up table the builder keeps current: d's, copied, when it stays at
// most 80% full, or a new one 60% full otherwise, so that a ledger that
// grows run after run copies its table instead of re-hashing every id.
func (d *ledgerData) appendable(extra, extraBytes int) *ledgerData {
	d.index()
	out := d.clone(extraBytes)
	out.seed = d.seed
	if total := d.n + extra; uint64(total)*5 <= uint64(len(d.table))*4 {
		out.table = slices.Clone(d.table)
	} else {
		out.table = make([]uint64, max(8, total*5/3+1))
		out.fill(false)
	}
	out.once.Do(func() {})
	return out
}

// place puts the entry at off, of hash h, in the first free slot of its
// probe sequence.
func (d *ledgerData) place(h uint64, off uint32) {
	size := uint64(len(d.table))
	i := (h & 0xffffffff) * size >> 32
	for d.table[i] != 0 {
		if i++; i == size {
			i = 0
		}
	}
	d.table[i] = h&^0xffffffff | uint64(off+1)
}

// lookup returns the offset of id, of hash h (maphash with d.seed).
func (d *ledgerData) lookup(id string, h uint64) (uint32, bool) {
	d.index()
	return probe(d, id, h)
}

// probe looks id, of hash h, up in d's table as it is (built or being
// filled).
func probe[T ~string | ~[]byte](d *ledgerData, id T, h uint64) (uint32, bool) {
	size := uint64(len(d.table))
	tag := h &^ 0xffffffff
	for i := (h & 0xffffffff) * size >> 32; ; {
		v := d.table[i]
		if v == 0 {
			return 0, false
		}
		if v&^0xffffffff == tag {
			if off := uint32(v) - 1; string(d.idAt(off)) == string(id) {
				return off, true
			}
		}
		if i++; i == size {
			i = 0
		}
	}
}

// slotOf returns the table slot a lookup of hash h reads first, for
// callers that read it ahead to overlap cache misses.
func (d *ledgerData) slotOf(h uint64) uint64 {
	return d.table[(h&0xffffffff)*uint64(len(d.table))>>32]
}

// ledgerBuilder appends entries to a ledgerData, starting a span whenever
// the bucket changes and interning buckets.
type ledgerBuilder struct {
	d     *ledgerData
	idx   map[bucket]int32
	last  int32 // bucket of the last span, -1 for none
	full  bool  // the arena outgrew maxArena: the data is unusable
	index bool  // place each entry added in d's table
}

func (b *ledgerBuilder) init(d *ledgerData) {
	b.d, b.last = d, -1
	b.idx = make(map[bucket]int32, len(d.buckets))
	for i, k := range d.buckets {
		b.idx[k] = int32(i)
	}
}

func (b *ledgerBuilder) add(k bucket, id []byte, digest uint64) {
	d := b.d
	bi := b.last
	if bi < 0 || d.buckets[bi] != k {
		var ok bool
		if bi, ok = b.idx[k]; !ok {
			bi = int32(len(d.buckets))
			d.buckets = append(d.buckets, k)
			b.idx[k] = bi
		}
	}
	if len(d.arena)+1+len(id)+8 > maxArena {
		b.full = true
		return
	}
	if bi != b.last {
		d.spans = append(d.spans, span{off: uint32(len(d.arena)), bucket: bi})
		b.last = bi
	}
	off := uint32(len(d.arena))
	if need := 1 + len(id) + 8; cap(d.arena)-len(d.arena) < need {
		// Double: append's growth of large slices (a quarter) would copy
		// a ledger being decoded four times over.
		d.arena = slices.Grow(d.arena, max(need, min(len(d.arena), maxArena-len(d.arena))))
	}
	d.arena = append(d.arena, byte(len(id)-1))
	d.arena = append(d.arena, id...)
	d.arena = binary.BigEndian.AppendUint64(d.arena, digest)
	d.n++
	if b.index {
		d.place(maphash.Bytes(d.seed, id), off)
	}
}

// ContentDigest is a 64-bit digest of a record's content (its line, meter,
// quantity, instant and attributes; not its id), stable across processes
// and versions of this library: a Ledger keeps it to tell a re-sent record
// from a changed one. Records with the same content as Record defines it
// (1.5 and 1.50, one instant in two zones, nil and empty attributes) have
// the same digest; records whose content differs in one field never do,
// and in several fields collide with probability 2^-64. It is written as
// 16 lowercase hex digits.
type ContentDigest uint64

// String writes the digest as 16 lowercase hex digits.
func (d ContentDigest) String() string {
	s := strconv.FormatUint(uint64(d), 16)
	return strings.Repeat("0", 16-len(s)) + s
}

// MarshalText writes String.
func (d ContentDigest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads 16 lowercase hex digits; anything else is a
// *ParseError.
func (d *ContentDigest) UnmarshalText(b []byte) error {
	v, ok := parseDigest(b)
	if !ok {
		return &ParseError{Kind: "content digest", Input: clip(string(b)), Want: "16 lowercase hex digits"}
	}
	*d = ContentDigest(v)
	return nil
}

func parseDigest(b []byte) (uint64, bool) {
	if len(b) != 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// ContentDigest returns the digest of r's content. r's quantity must be
// readable (at most ensemble.MaxAmountDigits digits in plain text, as every
// record an aggregator accepts is); a longer one is digested from its text.
//
// The digest folds seven 64-bit words with h = fmix64(h + w × φ) from
// h = φ (φ = 0x9e3779b97f4a7c15, fmix64 MurmurHash3's finalizer): the
// FNV-1a 64 hashes of the line and of the meter; the quantity as its
// coefficient and exponent without trailing zeros (an int64 coefficient,
// and the exponent as a uint32), or, beyond an int64, the FNV-1a 64 hash of
// the coefficient's decimal text and the exponent with the top bit set;
// the instant's Unix seconds and nanoseconds; and the FNV-1a 64 hash of
// the attributes sorted by key, each key and value preceded by its length
// as a base-128 varint. Each step is a bijection, so records that differ
// in one word never collide.
func (r Record) ContentDigest() ContentDigest {
	var scratch []byte
	attrs := fnv64(appendAttrs(scratch, r.Attributes))
	q1, q2 := quantityWords(numOf(r.Quantity))
	return contentDigest(fnv64(r.Line), fnv64(r.Meter), q1, q2, r.At.Unix(), r.At.Nanosecond(), attrs)
}

// appendAttrs appends the canonical encoding of m: keys sorted, each key
// and value preceded by its length.
func appendAttrs(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, m[k])
	}
	return b
}

const phi = 0x9e3779b97f4a7c15

func contentDigest(line, meter, q1, q2 uint64, sec int64, nsec int, attrs uint64) ContentDigest {
	h := uint64(phi)
	for _, w := range [...]uint64{line, meter, q1, q2, uint64(sec), uint64(nsec), attrs} {
		h = fmix64(h + w*phi)
	}
	return ContentDigest(h)
}

// fmix64 is MurmurHash3's 64-bit finalizer.
func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

func fnv64[T ~string | ~[]byte](s T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// quantityWords returns the two digest words of a quantity: its value as
// a coefficient without trailing zeros and an exponent, one spelling per
// value.
func quantityWords(n num) (uint64, uint64) {
	if !n.big {
		c, e := n.c, n.e
		if c == 0 {
			return 0, 0
		}
		for c%10 == 0 {
			c /= 10
			e++
		}
		return uint64(c), uint64(uint32(e))
	}
	c, e := n.d.Coefficient(), n.d.Exponent()
	if c.Sign() == 0 {
		return 0, 0
	}
	ten, q, r := big.NewInt(10), new(big.Int), new(big.Int)
	for {
		q.QuoRem(c, ten, r)
		if r.Sign() != 0 {
			break
		}
		c, q = q, c
		e++
	}
	if c.IsInt64() {
		return uint64(c.Int64()), uint64(uint32(e))
	}
	return fnv64(c.String()), 1<<63 | uint64(uint32(e))
}

// unionDigests returns the sorted digests of a and b, each once (a new
// slice unless one of them holds them all).
func unionDigests(a, b []uint64) []uint64 {
	if len(a) == 0 {
		return b
	}
	out := slices.Concat(a, b)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == len(a) {
		return a
	}
	return out
}
