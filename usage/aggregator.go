package usage

import (
	"encoding/binary"
	"hash/maphash"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// Aggregator folds a stream of usage records into one aggregate per order
// line, meter and billing period, incrementally: Add may be called any
// number of times, and Report may be called between calls. Feeding records
// in several batches gives the same Report as feeding them in one, whatever
// their order.
//
// Memory grows with the number of distinct (line, meter, period) keys, the
// distinct attribute sets and unique values, and the dedup set: for every
// distinct record id, its bytes plus a fixed 32-byte entry (the record's
// content in compact form) and 11 to 21 bytes of hash table, whatever the
// number of duplicates (about 70 bytes per distinct record for 12-byte ids).
// Records themselves are not retained; only rejected and conflicting
// records are copied into the report (with, for each content of a
// conflicting id, a key that matches a later copy of it in constant time).
// Each record costs amortized constant time, whatever the number of
// contents or duplicates of its id, and a line's billing periods are found
// in logarithmic time whatever the order they are met in.
//
// When a conflict withdraws a record already aggregated, a count, a sum or
// a digest gives it back in constant time. Only when the record held its
// aggregate's max or latest value, the last quantity of its sum's
// exponent, or when the aggregate counts unique values, is the aggregate
// rebuilt from its own records, once at the next Report however many it
// lost; the first such rebuild indexes the accepted records by aggregate
// (4 bytes each), so that no Report reads every record again. A
// WeightedAverage aggregate is computed at each Report from its slot's
// accepted readings (their instants and quantities are in the dedup
// entries already), through the same index, in O(k log k) for k
// readings; the periods a level is carried into without a reading cost
// one aggregate each, so a line's active span (or Config.Through) bounds
// them. One Aggregator holds up to 4 GiB of
// record ids; beyond that, new ids are rejected with ErrInvalidRecord.
//
// Make one with New. The zero Aggregator knows no meter and no line: it
// rejects every record. An Aggregator is not safe for concurrent use. To
// spread a stream over several cores or machines, route each record to a
// shard by its id (so that every copy of an id meets the same dedup set),
// give every shard the same Config, and combine their reports with
// MergeReports.
type Aggregator struct {
	meters    []Meter
	meterIdx  map[MeterID]int32
	meterRank []int32 // meter index -> position in byte-wise id order
	lines     []lineState
	lineIdx   map[LineRef]int32
	lineRank  []int32
	recordIDs bool

	// The dedup set: an open-addressing table (linear probing) of
	// uint32(hash)<<32 | entry+1, over entries whose ids are stored back
	// to back in the arena. The low hash bits pick the position and the
	// whole low half is the tag, so growing needs no rehash.
	seed   maphash.Seed
	table  []uint64
	mask   uint64
	arena  [][]byte          // chunks of ids, never reallocated
	chunks [][]entry         // chunks of entryChunk entries, never reallocated
	n      int32             // entries in use
	bigs   []decimal.Decimal // quantities whose digits do not fit an int64

	slots       [][]slot // chunks of slotChunk slots, never reallocated
	nslots      int32
	periods     []periodInfo
	periodSlots []int32           // slot of period p and meter m at p*len(meters)+m, -1 for none
	hot         []lineHot         // per line
	sums        []decimal.Decimal // slot values beyond int64

	attrIdx  map[string]int32 // canonical attribute set -> index+1
	attrSets []string
	// attrValue holds, for a set of one attribute, the index of its value
	// in values (-1 for other sets).
	attrValue []int32
	valueIdx  map[string]int32 // distinct values of unique attributes
	values    []string
	pairs     u64set // slot<<32 | value: count_unique members

	// The ledger of earlier runs (Config.Ledger), nil for none: a record
	// it holds is a duplicate or a conflict. horizon is its cutoff (periods
	// ending at or before it are refused), and ledgerBytes what the ledger
	// after this run will hold, to refuse records beyond its capacity.
	prev        *ledgerData
	horizon     int64
	ledgerBytes int64
	// correct is Config.Resend == ResendCorrects; deltas holds, per entry
	// accepted as the correction of a billed record (its quantity the
	// difference, new − billed), the record's new version, canonical.
	correct bool
	deltas  map[int32]Record
	// Digest words of lines, meters and attribute sets, interned with
	// them (FNV-1a 64 of their bytes).
	lineHash, meterHash, attrHash []uint64
	// What a report's ledger is built from (see snapshot), each written
	// once: per entry, in chunks beside the entries, its slot+1 and its
	// content digest once accepted (0 otherwise); per slot, its bucket; and
	// the entries a conflict withdrew after they were accepted.
	acc         [][]uint32
	digests     [][]uint64
	slotBuckets []bucket
	withdrawn   []int32

	rejections []Rejection
	conflicts  []Conflict
	// contents holds the content key (contentKey) of every content of
	// every conflicting id, so that a record of such an id is matched in
	// constant time, not against each content seen before.
	contents map[string]struct{}

	read, duplicates, accepted, resent, superseded int64
	touched                                        uint64 // sink of the batched table reads

	// Slots that lost a record to a conflict in a way only their own
	// records can repair, rebuilt by the next Report (recompute), and the
	// count_unique pairs (slot<<32 | value) of the records they lost.
	dirty  []int32
	unpair []uint64
	// members lists, per slot, its accepted entries in increasing order,
	// for the entries below indexed. It is built when a slot is first
	// rebuilt, and extended by later rebuilds, so that a rebuild reads the
	// slot's own records, not every record read.
	members [][]int32
	indexed int32

	// carry holds, per line and WeightedAverage meter, the last level of
	// each aggregate of Config.Billed, with its period's end.
	carry map[carryKey][]carried
	// open holds, per line and WeightedAverage meter, the periods of
	// Config.Billed aggregates an earlier run reported open (seen through
	// an instant before their end), and reopened those withCarried reports
	// again for them.
	open map[carryKey][]openBilled
	// kept is Config.Open: the aggregates Report merges into its own.
	kept []Aggregate
	// openErr is a failed merge of a Config.Open aggregate in the last
	// Report (Config validation rules it out); Collect returns it.
	openErr  error
	reopened map[reopenKey]bool

	keys []string // scratch for canonical attribute sets
	buf  []byte
	ckey []byte // scratch for content keys
}

// Entries and ids live in fixed-size chunks, so that growing the dedup set
// never copies it.
const (
	entryShift = 12
	entryChunk = 1 << entryShift
	arenaChunk = 1 << 16
	maxChunks  = 1 << 16 // ids fill at most 4 GiB of arena
)

// MaxIDBytes bounds the length of a record id, as ensemble.CheckID bounds
// every id. A longer id is rejected with ErrInvalidRecord (without
// deduplication, as an empty id is), and so is one ensemble.CheckID refuses
// for white space, control characters or invalid UTF-8.
const MaxIDBytes = ensemble.MaxIDBytes

// Entry states, and a flag for a quantity held in Aggregator.bigs. An
// entry in state stBilled is an id the ledger of earlier runs holds, met
// again with its billed content so far; q holds its ledger offset.
const (
	stAccepted uint8 = iota + 1
	stRejected
	stConflict
	stBilled
	stBigQty uint8 = 0x80
)

// entry is one distinct record id and the content first seen for it, in
// 32 bytes.
type entry struct {
	q     int64 // quantity coefficient, or index into bigs with stBigQty
	ns    int64 // instant, Unix nanoseconds
	ref   int32 // accepted: slot; rejected: rejection; conflict: conflict
	attrs int32 // canonical attribute set index+1, 0 for none
	off   uint32
	n     uint16
	qe    int8 // quantity exponent
	state uint8
}

// slot is the running aggregate of one (line, meter, period). It holds no
// pointer, so the garbage collector need not scan the slots.
type slot struct {
	line, meter, period int32
	best                int32 // entry holding the max or latest value, -1 for none
	records             int64
	bestNS              int64
	uniques             int64
	vc                  int64 // value coefficient when vb == 0
	ve                  int32
	vb                  int32 // index+1 into Aggregator.sums for a value beyond int64
	// A sum's exponent is the least of its quantities' exponents and 0:
	// minE is that, and minN how many records have a quantity of exponent
	// minE, so that withdrawing one shows whether the exponent would rise.
	minE   int32
	dirty  bool
	digest sum128
	minN   int64
}

const (
	slotShift = 10
	slotChunk = 1 << slotShift
)

func (a *Aggregator) slot(si int32) *slot {
	return &a.slots[si>>slotShift][si&(slotChunk-1)]
}

func (a *Aggregator) value(s *slot) num {
	if s.vb > 0 {
		return num{big: true, d: a.sums[s.vb-1]}
	}
	return num{c: s.vc, e: s.ve}
}

func (a *Aggregator) setValue(s *slot, n num) {
	if !n.big {
		s.vc, s.ve, s.vb = n.c, n.e, 0
		return
	}
	if s.vb == 0 {
		a.sums = append(a.sums, n.d)
		s.vb = int32(len(a.sums))
		return
	}
	a.sums[s.vb-1] = n.d
}

// New compiles cfg into an empty Aggregator. An invalid config is an
// *ensemble.ValidationError listing every problem (see Config.Validate).
func New(cfg Config) (*Aggregator, error) {
	meters, lines, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	a := &Aggregator{
		meters:    meters,
		meterIdx:  make(map[MeterID]int32, len(meters)),
		lines:     lines,
		lineIdx:   make(map[LineRef]int32, len(lines)),
		recordIDs: cfg.RecordIDs,
		hot:       make([]lineHot, len(lines)),
	}
	a.init()
	a.correct = cfg.Resend == ResendCorrects
	billed := cfg.Billed
	if len(cfg.Open) > 0 {
		billed = append(slices.Clip(cfg.Billed), cfg.Open...)
		a.kept = slices.Clone(cfg.Open)
	}
	a.carry = carryOf(billed, meters)
	a.open = openOf(billed, meters)
	a.horizon = cfg.Ledger.horizon()
	if d := cfg.Ledger.d; d != nil && d.n > 0 {
		// One hash of each id finds it in both tables.
		d.index()
		a.prev, a.seed = d, d.seed
		a.ledgerBytes = int64(len(d.arena))
	}
	a.lineHash, a.meterHash = make([]uint64, len(lines)), make([]uint64, len(meters))
	for i := range lines {
		a.lineHash[i] = fnv64(lines[i].ref)
	}
	for i := range meters {
		a.meterHash[i] = fnv64(meters[i].ID)
	}
	if n := min(max(cfg.ExpectedRecords, 0), MaxExpectedRecords); n > len(a.table)*3/4 {
		size := len(a.table)
		for size*3/4 < n {
			size *= 2
		}
		a.table, a.mask = make([]uint64, size), uint64(size-1)
	}
	for i, m := range meters {
		a.meterIdx[m.ID] = int32(i)
	}
	for i, l := range lines {
		a.lineIdx[l.ref] = int32(i)
	}
	a.meterRank = ranks(len(meters), func(i, j int) int { return strings.Compare(string(meters[i].ID), string(meters[j].ID)) })
	a.lineRank = ranks(len(lines), func(i, j int) int { return strings.Compare(string(lines[i].ref), string(lines[j].ref)) })
	return a, nil
}

// init readies the dedup set and intern tables. The zero Aggregator (one
// not made by New) is readied on first use: it knows no line, so it rejects
// every record.
func (a *Aggregator) init() {
	a.seed = maphash.MakeSeed()
	a.horizon = noHorizon
	a.table, a.mask = make([]uint64, 1024), 1023
	a.attrIdx, a.valueIdx = map[string]int32{}, map[string]int32{}
}

// ranks returns, for each of n items, its position in the order cmp defines.
func ranks(n int, cmp func(i, j int) int) []int32 {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, cmp)
	r := make([]int32, n)
	for pos, i := range idx {
		r[i] = int32(pos)
	}
	return r
}

// Collect aggregates records under cfg in one call: New, Add, Report.
func Collect(cfg Config, records iter.Seq[Record]) (*Report, error) {
	a, err := New(cfg)
	if err != nil {
		return nil, err
	}
	a.Add(records)
	rep := a.Report()
	if a.openErr != nil {
		return nil, a.openErr
	}
	return rep, nil
}

// Add folds every record of the stream into the aggregator. Bad records do
// not stop it: they are rejected and listed in the Report, and the rest
// aggregates. Add reads each record once and keeps no reference to it
// (rejected and conflicting records are copied).
func (a *Aggregator) Add(records iter.Seq[Record]) {
	// Records are taken in small batches whose dedup table slots are read
	// first, so that the cache misses of a batch overlap instead of
	// queueing one behind the other.
	if a.table == nil {
		a.init()
	}
	var buf [batchSize]Record
	n := 0
	for r := range records {
		buf[n] = r
		if n++; n == batchSize {
			a.addBatch(&buf, n)
			n = 0
		}
	}
	a.addBatch(&buf, n)
	clear(buf[:])
}

const batchSize = 32

func (a *Aggregator) addBatch(buf *[batchSize]Record, n int) {
	var hs [batchSize]uint64
	var lis [batchSize]int32
	var fs [batchSize]sum128
	var touched uint64
	for i := range n {
		h := maphash.String(a.seed, string(buf[i].ID))
		hs[i] = h
		touched += a.table[h&a.mask]
		if a.prev != nil {
			touched += a.prev.slotOf(h)
		}
		// The digest hashes of the batch are independent chains of
		// multiplications, which the processor overlaps in this loop.
		fs[i] = idHash(buf[i].ID)
	}
	for i := range n {
		li := a.lineOf(buf[i].Line)
		lis[i] = li
		if li >= 0 {
			touched += uint64(a.hot[li].start)
		}
	}
	a.touched += touched
	for i := range n {
		a.add(&buf[i], hs[i], lis[i], fs[i])
	}
}

// meterOf returns the index of meter id, or -1. A few meters are scanned;
// many are looked up.
func (a *Aggregator) meterOf(id MeterID) int32 {
	if len(a.meters) <= 8 {
		for i := range a.meters {
			if a.meters[i].ID == id {
				return int32(i)
			}
		}
		return -1
	}
	if mi, ok := a.meterIdx[id]; ok {
		return mi
	}
	return -1
}

// lineOf returns the index of line ref, or -1.
func (a *Aggregator) lineOf(ref LineRef) int32 {
	if li, ok := a.lineIdx[ref]; ok {
		return li
	}
	return -1
}

// AddRecord folds one record, as Add.
func (a *Aggregator) AddRecord(r Record) {
	if a.table == nil {
		a.init()
	}
	a.add(&r, maphash.String(a.seed, string(r.ID)), a.lineOf(r.Line), idHash(r.ID))
}

// add folds r, whose id hashes to h (maphash) and fh (FNV-1a, for the
// digest), and whose line has index li (-1 for an unknown line).
func (a *Aggregator) add(r *Record, h uint64, li int32, fh sum128) {
	a.read++
	switch {
	case !numOf(r.Quantity).readable():
		// Rejected before deduplication: comparing or printing such a
		// number could take unbounded time and memory.
		q := r.Quantity
		r.Quantity = decimal.Decimal{}
		a.reject(r, ReasonInvalidRecord, "quantity has more than "+strconv.Itoa(ensemble.MaxAmountDigits)+
			" digits (coefficient of "+strconv.Itoa(q.NumDigits())+" digits, exponent "+strconv.Itoa(int(q.Exponent()))+"); the record shows it as 0")
		return
	case r.ID == "":
		a.reject(r, ReasonInvalidRecord, "empty id")
		return
	case len(r.ID) > MaxIDBytes:
		a.reject(r, ReasonInvalidRecord, "id longer than "+strconv.Itoa(MaxIDBytes)+" bytes")
		return
	case ensemble.CheckID(string(r.ID), "") != nil:
		a.reject(r, ReasonInvalidRecord, ensemble.CheckID(string(r.ID), "").Error())
		return
	}
	id := string(r.ID)
	pos, ei := a.find(h, id)
	if ei >= 0 {
		a.again(ei, r)
		return
	}
	var off uint32
	billed := false
	if a.prev != nil {
		off, billed = a.prev.lookup(id, h)
	}
	if ei = a.insert(h, pos, id); ei < 0 {
		a.reject(r, ReasonInvalidRecord, "the dedup set is full (4 GiB of record ids): shard the records by line")
		return
	}
	e := a.entry(ei)
	if billed {
		e.state, e.q = stBilled, int64(off)
		a.billedAgain(ei, r)
		return
	}
	f, reason, detail := a.classify(r, li)
	if reason == ReasonUnspecified && a.ledgerBytes+int64(1+len(id)+8) > maxArena {
		reason, detail = ReasonInvalidRecord, "the ledger is full (4 GiB of record ids): shard the records and the ledger by record id"
	}
	if reason != ReasonUnspecified {
		e.state, e.ref = stRejected, int32(len(a.rejections))
		a.reject(r, reason, detail)
		return
	}
	a.ledgerBytes += int64(1 + len(id) + 8)
	a.accept(ei, r, f, fh)
}

// accept folds entry ei, of record r checked and located as f (f.q the
// quantity to aggregate), into its slot, recording its content digest.
func (a *Aggregator) accept(ei int32, r *Record, f fields, fh sum128) {
	e := a.entry(ei)
	e.state, e.ns = stAccepted, f.ns
	e.attrs = a.internAttrs(r.Attributes, a.meters[f.meter].UniqueAttribute)
	if f.q.big || f.q.e < math.MinInt8 || f.q.e > math.MaxInt8 {
		e.state |= stBigQty
		e.q = int64(len(a.bigs))
		a.bigs = append(a.bigs, f.q.decimal())
	} else {
		e.q, e.qe = f.q.c, int8(f.q.e)
	}
	sp := &a.periodSlots[int(f.period)*len(a.meters)+int(f.meter)]
	si := *sp
	if si < 0 {
		si = a.nslots
		if si&(slotChunk-1) == 0 {
			a.slots = append(a.slots, make([]slot, slotChunk))
		}
		a.nslots++
		*a.slot(si) = slot{line: f.line, meter: f.meter, period: f.period, best: -1}
		*sp = si
		p := &a.periods[f.period]
		a.slotBuckets = append(a.slotBuckets, bucket{line: a.lines[f.line].ref, meter: a.meters[f.meter].ID, start: p.start, end: p.end})
	}
	e.ref = si
	a.acc[ei>>entryShift][ei&(entryChunk-1)] = uint32(si) + 1
	attrs := fnv64("")
	if e.attrs > 0 {
		attrs = a.attrHash[e.attrs-1]
	}
	q1, q2 := quantityWords(f.q)
	a.digests[ei>>entryShift][ei&(entryChunk-1)] = uint64(contentDigest(a.lineHash[f.line], a.meterHash[f.meter], q1, q2, r.At.Unix(), r.At.Nanosecond(), attrs))
	a.accepted++
	vi := int32(-1)
	if a.meters[f.meter].Aggregation == CountUnique {
		if len(r.Attributes) == 1 {
			// The one attribute is the counted one: its set knows the value.
			vi = a.attrValue[e.attrs-1]
		} else {
			vi = a.internValue(f.value)
		}
	}
	a.addTo(si, ei, f.q, vi, fh)
}

func (a *Aggregator) reject(r *Record, reason Reason, detail string) {
	a.rejections = append(a.rejections, Rejection{Record: canonical(*r), Reason: reason, Detail: detail})
}

// find looks id up in the dedup table: the entry index, or -1 and the free
// table position where it would go.
func (a *Aggregator) find(h uint64, id string) (uint64, int32) {
	tag := h & 0xffffffff
	for i := h & a.mask; ; i = (i + 1) & a.mask {
		v := a.table[i]
		if v == 0 {
			return i, -1
		}
		if v>>32 == tag {
			ei := int32(uint32(v)) - 1
			if string(a.idOf(ei)) == id {
				return i, ei
			}
		}
	}
}

// insert adds a new entry for id at table position pos, growing the table
// to keep it at most three quarters full. It returns -1 when the arena is
// full.
func (a *Aggregator) insert(h uint64, pos uint64, id string) int32 {
	if a.n == math.MaxInt32 {
		return -1
	}
	// An id goes whole into the last arena chunk, or into a new one.
	last := len(a.arena) - 1
	if last < 0 || cap(a.arena[last])-len(a.arena[last]) < len(id) {
		if last+1 >= maxChunks {
			return -1
		}
		a.arena = append(a.arena, make([]byte, 0, arenaChunk))
		last++
	}
	off := uint32(last)<<16 | uint32(len(a.arena[last]))
	a.arena[last] = append(a.arena[last], id...)
	ei := a.n
	if ei&(entryChunk-1) == 0 {
		a.chunks = append(a.chunks, make([]entry, entryChunk))
		a.acc = append(a.acc, make([]uint32, entryChunk))
		a.digests = append(a.digests, make([]uint64, entryChunk))
	}
	a.n++
	*a.entry(ei) = entry{off: off, n: uint16(len(id))}
	a.table[pos] = h<<32 | uint64(ei+1)
	if uint64(a.n)*4 > uint64(len(a.table))*3 {
		a.grow()
	}
	return ei
}

func (a *Aggregator) entry(ei int32) *entry {
	return &a.chunks[ei>>entryShift][ei&(entryChunk-1)]
}

func (a *Aggregator) grow() {
	table := make([]uint64, 2*len(a.table))
	mask := uint64(len(table) - 1)
	for _, v := range a.table {
		if v == 0 {
			continue
		}
		i := v >> 32 & mask
		for table[i] != 0 {
			i = (i + 1) & mask
		}
		table[i] = v
	}
	a.table, a.mask = table, mask
}

func (a *Aggregator) idOf(ei int32) []byte {
	e := a.entry(ei)
	off := int(e.off & 0xffff)
	return a.arena[e.off>>16][off : off+int(e.n)]
}

func (a *Aggregator) numOf(e *entry) num {
	if e.state&stBigQty != 0 {
		return num{big: true, d: a.bigs[e.q]}
	}
	return num{c: e.q, e: int32(e.qe)}
}

// fields is a record checked and located: line, meter and period
// indexes, quantity, instant and the unique attribute's value.
type fields struct {
	line, meter int32
	period      int32 // index into Aggregator.periods
	q           num
	ns          int64
	value       string
}

// classify checks r, of line index li, and finds its period, or says why
// it is rejected.
func (a *Aggregator) classify(r *Record, li int32) (f fields, reason Reason, detail string) {
	if s := r.At.Unix(); s < minUnixSec || s > maxUnixSec {
		return f, ReasonInvalidRecord, "instant " + r.At.UTC().Format(time.RFC3339Nano) + " is outside the years 1678-2262"
	}
	f.ns = r.At.UnixNano()
	f.q = numOf(r.Quantity) // readable: checked before deduplication
	if li < 0 {
		return f, ReasonUnknownLine, "line " + quote(string(r.Line)) + " is not in the config"
	}
	mi := a.meterOf(r.Meter)
	if mi < 0 {
		return f, ReasonUnknownMeter, "meter " + quote(string(r.Meter)) + " is not declared"
	}
	f.line, f.meter = li, mi
	m := &a.meters[mi]
	if !m.AllowNegative && f.q.sign() < 0 {
		return f, ReasonNegativeQuantity, "meter " + quote(string(m.ID)) + " forbids negative quantity " + r.Quantity.String()
	}
	if m.Aggregation == CountUnique {
		v, ok := r.Attributes[m.UniqueAttribute]
		if !ok {
			return f, ReasonMissingAttribute, "meter " + quote(string(m.ID)) + " counts attribute " + quote(m.UniqueAttribute) + ", which the record lacks"
		}
		f.value = v
	}
	if m.AttributeTo != "" {
		v, ok := r.Attributes[m.AttributeTo]
		switch {
		case (!ok || v == "") && m.AllowUnattributed:
			// Usage of nobody: the part of the empty value.
		case !ok || v == "":
			return f, ReasonMissingAttribute, "meter " + quote(string(m.ID)) + " attributes its usage to attribute " + quote(m.AttributeTo) + ", which the record lacks"
		default:
			if err := ensemble.CheckID(v, ensemble.RefSeparators); err != nil {
				return f, ReasonInvalidRecord, "meter " + quote(string(m.ID)) + " attributes its usage to attribute " + quote(m.AttributeTo) + ", whose value names whose usage it is: " + err.Error()
			}
		}
	}
	if h := &a.hot[li]; f.ns >= h.start && f.ns < h.end {
		f.period = h.period // active: the period lies inside a segment
		return f, ReasonUnspecified, ""
	}
	l := &a.lines[li]
	if !l.activeAt(f.ns) {
		return f, ReasonOutsideActive, "line " + quote(string(r.Line)) + " was not active at " + r.At.UTC().Format(time.RFC3339Nano)
	}
	pid, err := a.periodAt(l, f.ns, r.At)
	if err != nil {
		return f, ReasonNoPeriod, "line " + quote(string(r.Line)) + ": " + err.Error()
	}
	f.period = pid
	p := &a.periods[pid]
	if p.pruned {
		return f, ReasonPrunedPeriod, "line " + quote(string(r.Line)) + ": billing period " + p.period.String() +
			" ended at or before the ledger's cutoff " + time.Unix(0, a.horizon).UTC().Format(time.RFC3339Nano) +
			" (Ledger.PrunedBefore): whether the record was billed is no longer known"
	}
	if l.covers(p.start, p.end) {
		a.hot[li] = lineHot{start: p.start, end: p.end, period: pid}
	}
	return f, ReasonUnspecified, ""
}

// addTo folds accepted entry ei, of quantity q, unique value vi and id
// hash fh, into slot si.
func (a *Aggregator) addTo(si, ei int32, q num, vi int32, fh sum128) {
	s := a.slot(si)
	s.records++
	s.digest.add(fh)
	switch a.meters[s.meter].Aggregation {
	case Sum:
		a.setValue(s, add(a.value(s), q))
		if e := q.exp(); e < s.minE {
			s.minE, s.minN = e, 1
		} else if e == s.minE {
			s.minN++
		}
	case Max:
		if s.best < 0 {
			a.setValue(s, q)
			s.best = ei
		} else if c := cmpNum(q, a.value(s)); c > 0 || c == 0 && a.idAfter(ei, s.best) {
			a.setValue(s, q)
			s.best = ei
		}
	case Latest:
		ns := a.entry(ei).ns
		if s.best < 0 || ns > s.bestNS || ns == s.bestNS && a.idAfter(ei, s.best) {
			a.setValue(s, q)
			s.best, s.bestNS = ei, ns
		}
	case CountUnique:
		if a.pairs.add(uint64(si)<<32 | uint64(uint32(vi))) {
			s.uniques++
		}
	}
}

// idAfter reports whether entry x's id sorts byte-wise after entry y's.
func (a *Aggregator) idAfter(x, y int32) bool {
	return string(a.idOf(x)) > string(a.idOf(y))
}

// again handles a record whose id was seen before: a duplicate is counted
// and dropped; different content turns the id into a Conflict.
func (a *Aggregator) again(ei int32, r *Record) {
	e := a.entry(ei)
	switch e.state &^ stBigQty {
	case stAccepted:
		if c, ok := a.deltas[ei]; ok {
			if a.againCorrected(ei, c, r) {
				return
			}
			break
		}
		if a.sameAsEntry(e, r) {
			a.duplicates++
			a.respell(ei, r)
			return
		}
		first := a.recordOf(ei)
		a.withdraw(ei)
		a.withdrawn = append(a.withdrawn, ei)
		a.accepted--
		a.conflict(e, first, r)
	case stRejected:
		first := a.rejections[e.ref].Record
		if first.SameContent(*r) {
			a.duplicates++
			return
		}
		a.conflict(e, first, r)
	case stBilled:
		a.billedAgain(ei, r)
		return
	case stConflict:
		key := a.contentKey(r)
		if _, ok := a.contents[string(key)]; ok {
			a.duplicates++
			return
		}
		c := &a.conflicts[e.ref]
		if c.Billed != nil && a.recordDigest(r) == c.Billed.Digest {
			// The content billed in an earlier run, re-sent.
			a.duplicates++
			a.resent++
			return
		}
		if c.Billed != nil && a.supersededAgain(string(c.ID), r) {
			return
		}
		a.contents[string(key)] = struct{}{}
		c.Records = append(c.Records, canonical(*r))
	}
	// A new content for the id: report it rejected too if it is bad, so
	// that the report does not depend on which content came first.
	if _, reason, detail := a.classify(r, a.lineOf(r.Line)); reason != ReasonUnspecified {
		a.reject(r, reason, detail)
	}
}

// respell keeps, of two spellings of one quantity (1 and 1.0) that the
// copies of a record carry, the one with more digits after the point,
// whichever came first, so that a max, latest or sum spells its value the
// same whatever the order of the input. The entry's slot is rebuilt at the
// next Report.
func (a *Aggregator) respell(ei int32, r *Record) {
	e := a.entry(ei)
	cur := a.numOf(e)
	curExp := cur.e
	if cur.big {
		curExp = cur.d.Exponent()
	}
	if r.Quantity.Exponent() >= curExp {
		return
	}
	q := numOf(r.Quantity)
	if q.big || q.e < math.MinInt8 || q.e > math.MaxInt8 {
		e.state |= stBigQty
		e.q = int64(len(a.bigs))
		a.bigs = append(a.bigs, q.decimal())
	} else {
		e.state &^= stBigQty
		e.q, e.qe = q.c, int8(q.e)
	}
	a.markDirty(e.ref)
}

// billedAgain handles a record whose id the ledger of earlier runs holds
// (entry ei, in state stBilled): the content billed is a duplicate, billed
// zero more; another content turns the id into a Conflict naming the
// entry billed, and none of this run's contents is aggregated.
func (a *Aggregator) billedAgain(ei int32, r *Record) {
	e := a.entry(ei)
	off := uint32(e.q)
	if _, digest, _ := a.prev.recAt(off); ContentDigest(digest) == a.recordDigest(r) {
		a.duplicates++
		a.resent++
		return
	}
	if a.supersededAgain(string(a.idOf(ei)), r) {
		return
	}
	why := ""
	if a.correct {
		if why = a.correction(ei, r, off); why == "" {
			return
		}
	}
	billed := a.prev.entryAt(off)
	e.state, e.q, e.ref = stConflict, 0, int32(len(a.conflicts))
	a.conflicts = append(a.conflicts, Conflict{ID: r.ID, Records: []Record{canonical(*r)}, Billed: &billed, Uncorrectable: why})
	if a.contents == nil {
		a.contents = map[string]struct{}{}
	}
	a.contents[string(a.contentKey(r))] = struct{}{}
	if _, reason, detail := a.classify(r, a.lineOf(r.Line)); reason != ReasonUnspecified {
		a.reject(r, reason, detail)
	}
}

// correction takes r, a new version of the record billed at offset off of
// the ledger of earlier runs (entry ei, in state stBilled), as its
// correction under ResendCorrects: the difference between its quantity and
// the one billed is accepted into its period, and the entry remembers r.
// It returns why r cannot be one, or "" when it was taken. A record the
// config rejects is not a correction: the caller reports the conflict and
// the rejection.
func (a *Aggregator) correction(ei int32, r *Record, off uint32) string {
	id := RecordID(a.idOf(ei))
	billedQty, ok := a.prev.qty[string(id)]
	if !ok {
		return "the ledger holds no quantity for it (it was billed without ResendCorrects)"
	}
	f, reason, _ := a.classify(r, a.lineOf(r.Line))
	if reason != ReasonUnspecified {
		return "it is rejected (" + reason.String() + ")"
	}
	m := &a.meters[f.meter]
	b := a.prev.buckets[a.prev.bucketAt(off)]
	p := &a.periods[f.period]
	switch {
	case b.line != a.lines[f.line].ref:
		return "it moves the record to line " + quote(string(r.Line)) + " from " + quote(string(b.line))
	case b.meter != m.ID:
		return "it moves the record to meter " + quote(string(r.Meter)) + " from " + quote(string(b.meter))
	case b.start != p.start || b.end != p.end:
		return "it moves the record to billing period " + p.period.String() + " from " + b.period().String()
	case m.Aggregation != Sum:
		return "meter " + quote(string(m.ID)) + " is a " + m.Aggregation.String() + " meter, not a sum"
	}
	_, digest, _ := a.prev.recAt(off)
	q1, q2 := quantityWords(numOf(billedQty))
	attrs := fnv64(a.canonicalAttrs(r.Attributes, ""))
	if uint64(contentDigest(a.lineHash[f.line], a.meterHash[f.meter], q1, q2, r.At.Unix(), r.At.Nanosecond(), attrs)) != digest {
		return "it changes more than the quantity (its instant or attributes)"
	}
	newVersion := canonical(*r)
	f.q = numOf(newVersion.Quantity.Sub(billedQty))
	a.accept(ei, r, f, idHash(id))
	// The entry's digest is the new version's, which the ledger will hold.
	a.digests[ei>>entryShift][ei&(entryChunk-1)] = uint64(a.recordDigest(r))
	if a.deltas == nil {
		a.deltas = map[int32]Record{}
	}
	a.deltas[ei] = newVersion
	return ""
}

// againCorrected handles a record whose id was taken as a correction in
// this run (entry ei, of new version c): c again, or the version billed
// before, is a duplicate; another content withdraws the correction and
// turns the id into a Conflict naming the entry billed, and is reported
// false for again to finish.
func (a *Aggregator) againCorrected(ei int32, c Record, r *Record) bool {
	if c.SameContent(*r) {
		a.duplicates++
		return true
	}
	off, _ := a.prev.lookup(string(c.ID), maphash.String(a.prev.seed, string(c.ID)))
	if _, digest, _ := a.prev.recAt(off); ContentDigest(digest) == a.recordDigest(r) {
		a.duplicates++
		a.resent++
		return true
	}
	if a.supersededAgain(string(c.ID), r) {
		return true
	}
	e := a.entry(ei)
	a.withdraw(ei)
	a.withdrawn = append(a.withdrawn, ei)
	a.accepted--
	delete(a.deltas, ei)
	a.conflict(e, c, r)
	billed := a.prev.entryAt(off)
	a.conflicts[e.ref].Billed = &billed
	a.conflicts[e.ref].Uncorrectable = "two new versions in one run: which is the last is not known"
	return false
}

// recordDigest returns r.ContentDigest(), from the digest words of its
// line, meter and attributes interned where they are known.
func (a *Aggregator) recordDigest(r *Record) ContentDigest {
	var lh, mh uint64
	if li := a.lineOf(r.Line); li >= 0 {
		lh = a.lineHash[li]
	} else {
		lh = fnv64(r.Line)
	}
	if mi := a.meterOf(r.Meter); mi >= 0 {
		mh = a.meterHash[mi]
	} else {
		mh = fnv64(r.Meter)
	}
	q1, q2 := quantityWords(numOf(r.Quantity))
	return contentDigest(lh, mh, q1, q2, r.At.Unix(), r.At.Nanosecond(), fnv64(a.canonicalAttrs(r.Attributes, "")))
}

// conflict turns entry e, first seen with content first, into a Conflict
// with r's different content.
func (a *Aggregator) conflict(e *entry, first Record, r *Record) {
	e.state, e.ref = stConflict, int32(len(a.conflicts))
	a.conflicts = append(a.conflicts, Conflict{ID: r.ID, Records: []Record{first, canonical(*r)}})
	if a.contents == nil {
		a.contents = map[string]struct{}{}
	}
	a.contents[string(a.contentKey(&first))] = struct{}{}
	a.contents[string(a.contentKey(r))] = struct{}{}
}

// contentKey encodes r's id and content in the scratch buffer so that two
// records have equal keys exactly when they have the same id and
// Record.SameContent holds: the instant as Unix seconds and nanoseconds
// (any zone), the quantity as its shortest text (1.5 for 1.50), the
// attributes sorted, nil and empty alike. Every field but the last is
// length-prefixed. r's quantity is readable (checked before
// deduplication), so its text is short.
func (a *Aggregator) contentKey(r *Record) []byte {
	attrs := a.canonicalAttrs(r.Attributes, "")
	b := appendString(a.ckey[:0], string(r.ID))
	b = appendString(b, string(r.Line))
	b = appendString(b, string(r.Meter))
	b = appendString(b, r.Quantity.String())
	b = binary.AppendVarint(b, r.At.Unix())
	b = binary.AppendUvarint(b, uint64(r.At.Nanosecond()))
	b = append(b, attrs...)
	a.ckey = b
	return b
}

// withdraw takes accepted entry ei, whose id has just turned into a
// conflict, out of its slot, in constant time where the slot's value does
// not depend on the record: a count, a sum whose exponent stays (another
// record has a quantity of the least exponent), a max or latest value
// another record holds. Otherwise (the record held the max or latest
// value, or the last quantity of the sum's exponent, or the slot counts
// unique values) the slot is marked for recompute to rebuild from its own
// records.
func (a *Aggregator) withdraw(ei int32) {
	e := a.entry(ei)
	si := e.ref
	s := a.slot(si)
	m := &a.meters[s.meter]
	if m.Aggregation == CountUnique {
		a.unpair = append(a.unpair, uint64(si)<<32|uint64(uint32(a.uniqueValue(e, m))))
		a.markDirty(si)
		return
	}
	if s.dirty {
		return // rebuilt from its accepted records anyway
	}
	switch m.Aggregation {
	case Sum:
		q := a.numOf(e)
		if x := q.exp(); x == s.minE {
			if s.minN == 1 && x < 0 {
				a.markDirty(si)
				return
			}
			s.minN--
		}
		a.setValue(s, add(a.value(s), q.neg()))
	case Max, Latest:
		if s.best == ei {
			a.markDirty(si)
			return
		}
	}
	s.records--
	s.digest.sub(idHash(a.idOf(ei)))
}

func (a *Aggregator) markDirty(si int32) {
	if s := a.slot(si); !s.dirty {
		s.dirty = true
		a.dirty = append(a.dirty, si)
	}
}

// uniqueValue returns the index in values of the unique attribute's value
// of accepted count_unique entry e.
func (a *Aggregator) uniqueValue(e *entry, m *Meter) int32 {
	if vi := a.attrValue[e.attrs-1]; vi >= 0 {
		return vi // the set's one attribute is the counted one
	}
	return a.valueIdx[decodeAttrs(a.attrSets[e.attrs-1])[m.UniqueAttribute]]
}

// sameAsEntry reports whether r has the content of accepted entry e.
func (a *Aggregator) sameAsEntry(e *entry, r *Record) bool {
	s := a.slot(e.ref)
	if r.Line != a.lines[s.line].ref || r.Meter != a.meters[s.meter].ID {
		return false
	}
	if sec := r.At.Unix(); sec < minUnixSec || sec > maxUnixSec || r.At.UnixNano() != e.ns {
		return false
	}
	if cmpNum(numOf(r.Quantity), a.numOf(e)) != 0 {
		return false
	}
	if len(r.Attributes) == 0 || e.attrs == 0 {
		return len(r.Attributes) == 0 && e.attrs == 0
	}
	return string(a.canonicalAttrs(r.Attributes, a.meters[s.meter].UniqueAttribute)) == a.attrSets[e.attrs-1]
}

// recordOf rebuilds the canonical record of accepted entry ei.
func (a *Aggregator) recordOf(ei int32) Record {
	e := a.entry(ei)
	s := a.slot(e.ref)
	r := Record{
		ID:       RecordID(a.idOf(ei)),
		Line:     a.lines[s.line].ref,
		Meter:    a.meters[s.meter].ID,
		Quantity: a.numOf(e).decimal(),
		At:       time.Unix(0, e.ns).UTC(),
	}
	if e.attrs > 0 {
		r.Attributes = decodeAttrs(a.attrSets[e.attrs-1])
	}
	return canonical(r)
}

// canonicalAttrs encodes m with sorted keys, each key and value preceded
// by its length, into the scratch buffer: equal maps, equal bytes. When m
// holds only the key hint, no iteration is needed.
func (a *Aggregator) canonicalAttrs(m map[string]string, hint string) []byte {
	if len(m) == 1 && hint != "" {
		if v, ok := m[hint]; ok {
			a.buf = appendString(appendString(a.buf[:0], hint), v)
			return a.buf
		}
	}
	keys := a.keys[:0]
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		slices.Sort(keys)
	}
	b := a.buf[:0]
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, m[k])
	}
	clear(keys)
	a.keys, a.buf = keys[:0], b
	return b
}

func appendString(b []byte, s string) []byte {
	n := uint64(len(s))
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	b = append(b, byte(n))
	return append(b, s...)
}

func readString(s string) (string, string, bool) {
	var n uint64
	for shift := uint(0); ; shift += 7 {
		if len(s) == 0 || shift > 63 {
			return "", "", false
		}
		c := s[0]
		s = s[1:]
		n |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	if n > uint64(len(s)) {
		return "", "", false
	}
	return s[:n], s[n:], true
}

func decodeAttrs(enc string) map[string]string {
	m := map[string]string{}
	for len(enc) > 0 {
		k, rest, ok := readString(enc)
		if !ok {
			break
		}
		v, rest, ok := readString(rest)
		if !ok {
			break
		}
		m[k] = v
		enc = rest
	}
	return m
}

// internAttrs returns the index+1 of m's canonical form, adding it when
// new. hint is a key m likely holds alone.
func (a *Aggregator) internAttrs(m map[string]string, hint string) int32 {
	if len(m) == 0 {
		return 0
	}
	b := a.canonicalAttrs(m, hint)
	if i, ok := a.attrIdx[string(b)]; ok {
		return i
	}
	s := string(b)
	a.attrSets = append(a.attrSets, s)
	vi := int32(-1)
	if len(m) == 1 {
		for _, v := range m {
			vi = a.internValue(v)
		}
	}
	a.attrValue = append(a.attrValue, vi)
	a.attrHash = append(a.attrHash, fnv64(s))
	i := int32(len(a.attrSets))
	a.attrIdx[s] = i
	return i
}

func (a *Aggregator) internValue(v string) int32 {
	if i, ok := a.valueIdx[v]; ok {
		return i
	}
	v = strings.Clone(v)
	i := int32(len(a.values))
	a.values = append(a.values, v)
	a.valueIdx[v] = i
	return i
}

// recompute rebuilds the slots withdraw marked from their own accepted
// records, so that a max, a latest value, a sum's exponent and a count of
// unique values are exact after a withdrawal. It costs the records of
// those slots, plus indexing by slot the records read since it last ran:
// not a pass over every record read.
func (a *Aggregator) recompute() {
	if len(a.dirty) == 0 {
		return
	}
	a.indexMembers()
	// Every unique value a rebuilt slot counts is held by one of its
	// accepted records or by a record it lost since the last rebuild: take
	// them all out, and count those of the accepted records again.
	for _, key := range a.unpair {
		a.pairs.remove(key)
	}
	a.unpair = a.unpair[:0]
	for _, si := range a.dirty {
		s := a.slot(si)
		m := &a.meters[s.meter]
		*s = slot{line: s.line, meter: s.meter, period: s.period, best: -1}
		kept := a.members[si][:0]
		for _, ei := range a.members[si] {
			e := a.entry(ei)
			if e.state&^stBigQty != stAccepted {
				continue // withdrawn after it was indexed
			}
			kept = append(kept, ei)
			vi := int32(-1)
			if m.Aggregation == CountUnique {
				vi = a.uniqueValue(e, m)
				a.pairs.remove(uint64(si)<<32 | uint64(uint32(vi)))
			}
		}
		a.members[si] = kept
		for _, ei := range kept {
			e := a.entry(ei)
			vi := int32(-1)
			if m.Aggregation == CountUnique {
				vi = a.uniqueValue(e, m)
			}
			a.addTo(si, ei, a.numOf(e), vi, idHash(a.idOf(ei)))
		}
	}
	a.dirty = a.dirty[:0]
}

// indexMembers adds the entries read since it last ran to members.
func (a *Aggregator) indexMembers() {
	for int32(len(a.members)) < a.nslots {
		a.members = append(a.members, nil)
	}
	for ei := a.indexed; ei < a.n; ei++ {
		if e := a.entry(ei); e.state&^stBigQty == stAccepted {
			a.members[e.ref] = append(a.members[e.ref], ei)
		}
	}
	a.indexed = a.n
}

// supersededAgain reports whether r re-sends a version of record id that
// a correction of an earlier run superseded (the ledger of earlier runs
// holds its digest): it is counted a duplicate and billed nothing.
func (a *Aggregator) supersededAgain(id string, r *Record) bool {
	if !a.prev.superseded(id, uint64(a.recordDigest(r))) {
		return false
	}
	a.duplicates++
	a.resent++
	a.superseded++
	return true
}
