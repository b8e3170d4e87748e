package usage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// ErrInvalidLedger is matched by every error decoding a Ledger, from JSON
// (which also matches ensemble.ErrDecode for a document that is not
// strictly the ledger's shape, or is an *ensemble.ValidationError listing
// every broken invariant) or from its binary form (a *LedgerFormatError).
var ErrInvalidLedger = errors.New("usage: invalid ledger")

// LedgerFormatError reports binary data UnmarshalBinary cannot read as a
// ledger: where (the byte offset, or -1 for the ledger as a whole) and
// why. It matches ErrInvalidLedger.
type LedgerFormatError struct {
	Offset int
	Msg    string
}

// Error reports the offset and the reason, such as
// `usage: invalid ledger: binary at byte 12: ids out of order`.
func (e *LedgerFormatError) Error() string {
	if e.Offset < 0 {
		return "usage: invalid ledger: binary: " + e.Msg
	}
	return "usage: invalid ledger: binary at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Unwrap returns ErrInvalidLedger.
func (e *LedgerFormatError) Unwrap() error { return ErrInvalidLedger }

// ledgerVersion is the version of both encodings (and of ContentDigest).
const ledgerVersion = 1

// ledgerJSON is the JSON form of a Ledger.
type ledgerJSON struct {
	Version      int              `json:"version"`
	PrunedBefore time.Time        `json:"pruned_before,omitzero"`
	Lines        []ledgerLineJSON `json:"lines"`
}

type ledgerLineJSON struct {
	Line    LineRef            `json:"line"`
	Meter   MeterID            `json:"meter"`
	Periods []ledgerPeriodJSON `json:"periods"`
}

type ledgerPeriodJSON struct {
	Start   time.Time          `json:"start"`
	End     time.Time          `json:"end"`
	Records []ledgerRecordJSON `json:"records"`
}

type ledgerRecordJSON struct {
	ID     RecordID      `json:"id"`
	Digest ContentDigest `json:"digest"`
	// Quantity is the quantity billed, held for records collected under
	// ResendCorrects; empty otherwise.
	Quantity string `json:"quantity,omitempty"`
	// Superseded lists, in ascending order, the digests of the versions
	// of the record that corrections under ResendCorrects superseded:
	// re-sent, they are duplicates. Empty otherwise.
	Superseded []ContentDigest `json:"superseded,omitempty"`
}

// MarshalJSON writes the ledger as
//
//	{"version": 1, "pruned_before": "2026-01-01T00:00:00Z",
//	 "lines": [{"line": "ord-1/l1", "meter": "gpu_hours", "periods": [
//	   {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z",
//	    "records": [{"id": "e1", "digest": "5be2c35a0c7d3e21"}]}]}]}
//
// A record collected under ResendCorrects also carries its billed
// quantity, in canonical text ("quantity": "2.5"), and a corrected one
// the digests of the versions its corrections superseded, ascending
// ("superseded": ["0d1f...", ...]).
//
// with lines sorted by line and meter, periods by start and end (in UTC),
// records by id, byte-wise; pruned_before is left out when the ledger was
// never pruned. The same ledger always gives the same bytes. A line
// reference that is not valid UTF-8 cannot be written as JSON: it is an
// error wrapping ErrInvalidLedger (MarshalBinary writes any bytes).
func (l Ledger) MarshalJSON() ([]byte, error) {
	out := ledgerJSON{Version: ledgerVersion, PrunedBefore: l.PrunedBefore(), Lines: []ledgerLineJSON{}}
	d := l.data()
	if d != nil && d.n > 0 {
		for _, g := range d.sortedGroups() {
			b := d.buckets[g.bucket]
			if !utf8.ValidString(string(b.line)) {
				return nil, fmt.Errorf("%w: line %q is not valid UTF-8: write the ledger with MarshalBinary", ErrInvalidLedger, b.line)
			}
			if n := len(out.Lines); n == 0 || out.Lines[n-1].Line != b.line || out.Lines[n-1].Meter != b.meter {
				out.Lines = append(out.Lines, ledgerLineJSON{Line: b.line, Meter: b.meter})
			}
			ln := &out.Lines[len(out.Lines)-1]
			per := b.period()
			p := ledgerPeriodJSON{Start: per.Start, End: per.End}
			for _, off := range d.sortedOffsets(g) {
				id, digest, _ := d.recAt(off)
				rec := ledgerRecordJSON{ID: RecordID(id), Digest: ContentDigest(digest)}
				if q, ok := d.qty[string(id)]; ok {
					rec.Quantity = q.String()
				}
				for _, o := range d.old[string(id)] {
					rec.Superseded = append(rec.Superseded, ContentDigest(o))
				}
				p.Records = append(p.Records, rec)
			}
			ln.Periods = append(ln.Periods, p)
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a ledger MarshalJSON wrote. Decoding is strict
// (ensemble.DecodeJSON: unknown fields, duplicate or case-variant keys,
// empty input and invalid UTF-8 are errors) and checks every invariant,
// reporting each in an *ensemble.ValidationError: version 1; non-empty
// lines, and meters ensemble.CheckID accepts; lines sorted by line and
// meter, each once; periods non-empty, within the years 1678-2262, sorted
// by start and end, each once, holding records, and ending after
// pruned_before; record ids ensemble.CheckID accepts, sorted, and each in
// one period of the whole ledger only; superseded digests ascending, each
// once, none the record's own, on a record holding its quantity. Every
// error matches ErrInvalidLedger.
func (l *Ledger) UnmarshalJSON(b []byte) error {
	var in ledgerJSON
	if err := ensemble.DecodeJSON("usage ledger", b, &in); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidLedger, err)
	}
	var p ensemble.Problems
	if in.Version != ledgerVersion {
		p.Addf("version", "usage: ledger version %d, want %d", in.Version, ledgerVersion)
	}
	horizon := int64(noHorizon)
	if !in.PrunedBefore.IsZero() {
		if ns, ok := toNanos(in.PrunedBefore); ok {
			horizon = ns
		} else {
			p.Addf("pruned_before", "usage: %s is not an instant of int64 Unix nanoseconds (years 1677-2262)", in.PrunedBefore.Format(time.RFC3339Nano))
		}
	}
	n := 0
	for _, ln := range in.Lines {
		for _, per := range ln.Periods {
			n += len(per.Records)
		}
	}
	d := newLedgerData(horizon)
	d.table = make([]uint64, tableSize(n))
	var bld ledgerBuilder
	bld.init(d)
	for i, ln := range in.Lines {
		path := ensemble.Path("lines", i)
		if ln.Line == "" {
			p.Add(path+".line", fmt.Errorf("%w: line", ErrEmptyID))
		}
		if err := ensemble.CheckID(string(ln.Meter), ""); err != nil {
			p.Add(path+".meter", err)
		}
		if i > 0 && compareBuckets(bucket{line: in.Lines[i-1].Line, meter: in.Lines[i-1].Meter}, bucket{line: ln.Line, meter: ln.Meter}) >= 0 {
			p.Addf(path, "usage: line %q meter %q is not after line %q meter %q", ln.Line, ln.Meter, in.Lines[i-1].Line, in.Lines[i-1].Meter)
		}
		if len(ln.Periods) == 0 {
			p.Addf(path+".periods", "usage: no period")
		}
		for j, per := range ln.Periods {
			pp := ensemble.Path(path, "periods", j)
			k := bucket{line: ln.Line, meter: ln.Meter}
			start, ok1 := toNanos(per.Start)
			end, ok2 := toNanos(per.End)
			switch {
			case !ok1 || !ok2:
				p.Addf(pp, "usage: period %s is not in instants of int64 Unix nanoseconds (years 1677-2262)", ensemble.Period{Start: per.Start, End: per.End})
				continue
			case end <= start:
				p.Addf(pp, "usage: period %s is empty", ensemble.Period{Start: per.Start, End: per.End})
			}
			k.start, k.end = start, end
			if k.end <= horizon {
				p.Addf(pp+".end", "usage: period ends at or before pruned_before")
			}
			if j > 0 {
				prev := ln.Periods[j-1]
				if c := per.Start.Compare(prev.Start); c < 0 || c == 0 && per.End.Compare(prev.End) <= 0 {
					p.Addf(pp, "usage: period %s is not after %s", ensemble.Period{Start: per.Start, End: per.End}, ensemble.Period{Start: prev.Start, End: prev.End})
				}
			}
			if len(per.Records) == 0 {
				p.Addf(pp+".records", "usage: no record")
			}
			for r, rec := range per.Records {
				rp := ensemble.Path(pp, "records", r)
				if err := ensemble.CheckID(string(rec.ID), ""); err != nil {
					p.Add(rp+".id", err)
					continue
				}
				if r > 0 && rec.ID <= per.Records[r-1].ID {
					p.Addf(rp+".id", "usage: id %q is not after %q", rec.ID, per.Records[r-1].ID)
				}
				h := maphash.String(d.seed, string(rec.ID))
				if _, dup := probe(d, rec.ID, h); dup {
					p.Addf(rp+".id", "usage: id %q is held twice", rec.ID)
					continue
				}
				if rec.Quantity != "" {
					q, err := readQuantity(rec.Quantity)
					if err != nil {
						p.Add(rp+".quantity", err)
						continue
					}
					if d.qty == nil {
						d.qty = map[string]decimal.Decimal{}
					}
					d.qty[string(rec.ID)] = q
				}
				if len(rec.Superseded) > 0 {
					old, err := readSuperseded(rec.Superseded, uint64(rec.Digest), rec.Quantity != "")
					if err != nil {
						p.Add(rp+".superseded", err)
						continue
					}
					if d.old == nil {
						d.old = map[string][]uint64{}
					}
					d.old[string(rec.ID)] = old
				}
				off := uint32(len(d.arena))
				bld.add(k, []byte(rec.ID), uint64(rec.Digest))
				if bld.full {
					return fmt.Errorf("%w: %w", ErrInvalidLedger, ErrLedgerFull)
				}
				d.place(h, off)
			}
		}
	}
	if err := p.Err("usage ledger"); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidLedger, err)
	}
	l.d = d.finish()
	return nil
}

// toNanos returns t as Unix nanoseconds, and whether they hold it exactly.
func toNanos(t time.Time) (int64, bool) {
	ns := t.UnixNano()
	return ns, time.Unix(0, ns).Equal(t)
}

// finish marks d's table, filled while decoding, as built, and returns
// nil for a ledger with nothing to hold.
func (d *ledgerData) finish() *ledgerData {
	d.once.Do(func() {})
	d.built.Do(func() {})
	if d.n == 0 && d.horizon == noHorizon {
		return nil
	}
	return d
}

var ledgerMagic = []byte("ENSL")

// MarshalBinary writes the ledger in its compact binary form (see
// AppendBinary).
func (l Ledger) MarshalBinary() ([]byte, error) { return l.AppendBinary(nil) }

// AppendBinary appends the ledger's binary form to b: the bytes "ENSL",
// the version (1), a flags byte (1 when pruned_before follows as a zigzag
// varint of Unix nanoseconds, else 0), then the number of (line, meter)
// groups and for each its line and meter (each a uvarint length and the
// bytes), the number of periods and for each its start (zigzag varint
// Unix nanoseconds), its length in nanoseconds and its number of records
// (uvarints), and for each record the length of the prefix it shares with
// the id before it in the period, the length and bytes of the rest, and
// the 8-byte digest, big-endian. Groups, periods and ids are in the order
// MarshalJSON writes them, so a ledger has exactly one binary form. A
// ledger holding billed quantities (see Ledger.BilledQuantity) sets flag
// bit 2 (value 2) and ends with its quantity table: the number of ids, and
// for each, sorted byte-wise, the id and the quantity's canonical text
// (each a uvarint length and the bytes). A ledger without quantities is
// written as before the table existed, and such ledgers decode unchanged.
// A ledger holding superseded versions (corrections under ResendCorrects)
// sets flag bit 4 (value 4) and ends, after the quantity table, with the
// number of corrected ids and for each, sorted byte-wise, the id, the
// number of its superseded digests (a uvarint) and the digests (8 bytes
// each, big-endian, ascending).
func (l Ledger) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, ledgerMagic...)
	b = append(b, ledgerVersion)
	h := l.horizon()
	d := l.data()
	var flags byte
	if h != noHorizon {
		flags |= 1
	}
	if d != nil && len(d.qty) > 0 {
		flags |= 2
	}
	if d != nil && len(d.old) > 0 {
		flags |= 4
	}
	b = append(b, flags)
	if h != noHorizon {
		b = binary.AppendVarint(b, h)
	}
	if d == nil || d.n == 0 {
		return binary.AppendUvarint(b, 0), nil
	}
	gs := d.sortedGroups()
	groups := 0
	for i, g := range gs {
		if i == 0 || !sameSeries(d.buckets[gs[i-1].bucket], d.buckets[g.bucket]) {
			groups++
		}
	}
	b = binary.AppendUvarint(b, uint64(groups))
	for i := 0; i < len(gs); {
		first := d.buckets[gs[i].bucket]
		j := i + 1
		for j < len(gs) && sameSeries(first, d.buckets[gs[j].bucket]) {
			j++
		}
		b = appendString(b, string(first.line))
		b = appendString(b, string(first.meter))
		b = binary.AppendUvarint(b, uint64(j-i))
		for _, g := range gs[i:j] {
			k := d.buckets[g.bucket]
			offs := d.sortedOffsets(g)
			b = binary.AppendVarint(b, k.start)
			b = binary.AppendUvarint(b, uint64(k.end-k.start))
			b = binary.AppendUvarint(b, uint64(len(offs)))
			var prev []byte
			for _, off := range offs {
				id, digest, _ := d.recAt(off)
				shared := commonPrefix(prev, id)
				b = binary.AppendUvarint(b, uint64(shared))
				b = binary.AppendUvarint(b, uint64(len(id)-shared))
				b = append(b, id[shared:]...)
				b = binary.BigEndian.AppendUint64(b, digest)
				prev = id
			}
		}
		i = j
	}
	if len(d.qty) > 0 {
		ids := slices.Sorted(maps.Keys(d.qty))
		b = binary.AppendUvarint(b, uint64(len(ids)))
		for _, id := range ids {
			b = appendString(b, id)
			b = appendString(b, d.qty[id].String())
		}
	}
	if len(d.old) > 0 {
		ids := slices.Sorted(maps.Keys(d.old))
		b = binary.AppendUvarint(b, uint64(len(ids)))
		for _, id := range ids {
			b = appendString(b, id)
			b = binary.AppendUvarint(b, uint64(len(d.old[id])))
			for _, o := range d.old[id] {
				b = binary.BigEndian.AppendUint64(b, o)
			}
		}
	}
	return b, nil
}

func sameSeries(a, b bucket) bool { return a.line == b.line && a.meter == b.meter }

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// UnmarshalBinary reads a ledger AppendBinary wrote. It accepts only the
// one form AppendBinary writes (minimal varints, groups, periods and ids
// sorted, each id sharing exactly its common prefix with the one before,
// no trailing bytes) and checks the invariants UnmarshalJSON does (line
// references may be any non-empty bytes). Every error is a
// *LedgerFormatError matching ErrInvalidLedger.
func (l *Ledger) UnmarshalBinary(data []byte) error {
	r := binReader{data: data}
	if !bytes.HasPrefix(data, ledgerMagic) {
		return r.fail(0, "not a ledger (no ENSL header)")
	}
	r.pos = len(ledgerMagic)
	if v, ok := r.byte(); !ok || v != ledgerVersion {
		return r.fail(len(ledgerMagic), "unknown version "+strconv.Itoa(int(v)))
	}
	horizon := int64(noHorizon)
	flags, ok := r.byte()
	switch {
	case !ok:
		return r.err
	case flags > 7:
		return r.fail(r.pos-1, "unknown flags "+strconv.Itoa(int(flags)))
	case flags&1 == 1:
		at := r.pos
		h, ok := r.varint()
		if !ok {
			return r.err
		}
		if h == noHorizon {
			return r.fail(at, "pruned_before at the least instant: write flags 0")
		}
		horizon = h
	}
	d := newLedgerData(horizon)
	// Ids share their prefixes in the binary form; in memory each is
	// whole, with its length byte: about twice as many bytes.
	d.arena = make([]byte, 0, min(2*len(data), maxArena))
	var bld ledgerBuilder
	bld.init(d)
	groups, ok := r.uvarint()
	if !ok {
		return r.err
	}
	var last bucket
	for gi := uint64(0); gi < groups; gi++ {
		at := r.pos
		line, ok1 := r.str()
		meter, ok2 := r.str()
		if !ok1 || !ok2 {
			return r.err
		}
		switch {
		case line == "":
			return r.fail(at, "empty line")
		case ensemble.CheckID(meter, "") != nil:
			return r.fail(at, ensemble.CheckID(meter, "").Error())
		case gi > 0 && compareBuckets(last, bucket{line: LineRef(line), meter: MeterID(meter)}) >= 0:
			return r.fail(at, "line and meter out of order")
		}
		last = bucket{line: LineRef(line), meter: MeterID(meter)}
		periods, ok := r.uvarint()
		if !ok {
			return r.err
		}
		if periods == 0 {
			return r.fail(r.pos-1, "no period")
		}
		var prevStart, prevEnd int64
		for pi := uint64(0); pi < periods; pi++ {
			at := r.pos
			start, ok1 := r.varint()
			length, ok2 := r.uvarint()
			count, ok3 := r.uvarint()
			if !ok1 || !ok2 || !ok3 {
				return r.err
			}
			end := start + int64(length)
			switch {
			case length == 0 || length > 1<<63-1 || end < start:
				return r.fail(at, "empty period, or one ending after the greatest int64 instant")
			case end <= horizon:
				return r.fail(at, "period ends at or before pruned_before")
			case pi > 0 && (start < prevStart || start == prevStart && end <= prevEnd):
				return r.fail(at, "periods out of order")
			case count == 0:
				return r.fail(at, "period without records")
			}
			prevStart, prevEnd = start, end
			k := bucket{line: last.line, meter: last.meter, start: start, end: end}
			var prev, cur []byte
			for ri := uint64(0); ri < count; ri++ {
				at := r.pos
				shared, ok1 := r.uvarint()
				rest, ok2 := r.uvarint()
				if !ok1 || !ok2 {
					return r.err
				}
				if shared > uint64(len(prev)) || rest == 0 || rest > MaxIDBytes || shared+rest > MaxIDBytes {
					return r.fail(at, "bad id lengths")
				}
				if rest > uint64(len(r.data)-r.pos) {
					return r.fail(len(r.data), "unexpected end of data")
				}
				cur = append(cur[:0], prev[:shared]...)
				cur = append(cur, r.data[r.pos:r.pos+int(rest)]...)
				id := cur
				r.pos += int(rest)
				switch {
				case !validID(id):
					return r.fail(at, ensemble.CheckID(string(id), "").Error())
				case prev != nil && bytes.Compare(id, prev) <= 0:
					return r.fail(at, "ids out of order")
				case commonPrefix(prev, id) != int(shared):
					return r.fail(at, "shared prefix is not the common one")
				}
				if len(r.data)-r.pos < 8 {
					return r.fail(len(r.data), "unexpected end of data")
				}
				digest := binary.BigEndian.Uint64(r.data[r.pos:])
				r.pos += 8
				bld.add(k, id, digest)
				if bld.full {
					return r.fail(at, ErrLedgerFull.Error())
				}
				prev, cur = cur, prev
			}
		}
	}
	if flags&2 != 0 {
		if err := r.quantities(d); err != nil {
			return err
		}
	}
	if flags&4 != 0 {
		if err := r.superseded(d); err != nil {
			return err
		}
	}
	if r.pos != len(r.data) {
		return r.fail(r.pos, "trailing data")
	}
	// Ids are sorted within a period; one id in two periods is found
	// while indexing.
	d.table = make([]uint64, tableSize(d.n))
	if dup := d.fill(true); dup != nil {
		return &LedgerFormatError{Offset: -1, Msg: "id " + strconv.Quote(string(dup)) + " is held twice"}
	}
	for id := range d.qty {
		if _, ok := probe(d, id, maphash.String(d.seed, id)); !ok {
			return &LedgerFormatError{Offset: -1, Msg: "quantity of id " + strconv.Quote(id) + ", which the ledger does not hold"}
		}
	}
	for id, old := range d.old {
		off, ok := probe(d, id, maphash.String(d.seed, id))
		if !ok {
			return &LedgerFormatError{Offset: -1, Msg: "superseded versions of id " + strconv.Quote(id) + ", which the ledger does not hold"}
		}
		if _, has := d.qty[id]; !has {
			return &LedgerFormatError{Offset: -1, Msg: "superseded versions of id " + strconv.Quote(id) + ", which holds no quantity"}
		}
		if _, digest, _ := d.recAt(off); slices.Contains(old, digest) {
			return &LedgerFormatError{Offset: -1, Msg: "id " + strconv.Quote(id) + " superseded by its own digest"}
		}
	}
	l.d = d.finish()
	return nil
}

// validID reports whether ensemble.CheckID accepts id (with no
// separators), without converting it to a string when it is printable
// ASCII, as ids nearly always are.
func validID(id []byte) bool {
	if len(id) == 0 || len(id) > MaxIDBytes {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c >= 0x7f {
			return ensemble.CheckID(string(id), "") == nil
		}
	}
	return true
}

// binReader reads the binary form, remembering the first error.
type binReader struct {
	data []byte
	pos  int
	err  error
}

func (r *binReader) fail(at int, msg string) error {
	if r.err == nil {
		r.err = &LedgerFormatError{Offset: at, Msg: msg}
	}
	return r.err
}

func (r *binReader) byte() (byte, bool) {
	if r.pos >= len(r.data) {
		r.fail(r.pos, "unexpected end of data")
		return 0, false
	}
	r.pos++
	return r.data[r.pos-1], true
}

func (r *binReader) uvarint() (uint64, bool) {
	v, n := binary.Uvarint(r.data[r.pos:])
	switch {
	case n == 0:
		r.fail(r.pos, "unexpected end of data")
		return 0, false
	case n < 0 || n != uvarintLen(v):
		r.fail(r.pos, "malformed varint")
		return 0, false
	}
	r.pos += n
	return v, true
}

func (r *binReader) varint() (int64, bool) {
	v, n := binary.Varint(r.data[r.pos:])
	switch {
	case n == 0:
		r.fail(r.pos, "unexpected end of data")
		return 0, false
	case n < 0 || n != uvarintLen(uint64(v)<<1^uint64(v>>63)):
		r.fail(r.pos, "malformed varint")
		return 0, false
	}
	r.pos += n
	return v, true
}

// uvarintLen returns the length of v's minimal uvarint encoding (varints
// are written zigzag-encoded).
func uvarintLen(v uint64) int { return max(1, (bits.Len64(v)+6)/7) }

func (r *binReader) str() (string, bool) {
	at := r.pos
	n, ok := r.uvarint()
	if !ok {
		return "", false
	}
	if n > uint64(len(r.data)-r.pos) {
		r.fail(at, "unexpected end of data")
		return "", false
	}
	s := string(r.data[r.pos : r.pos+int(n)])
	r.pos += int(n)
	return s, true
}

// quantities reads the quantity table of the binary form into d: the
// number of ids, then each id (sorted) and its quantity's canonical text.
func (r *binReader) quantities(d *ledgerData) error {
	n, ok := r.uvarint()
	if !ok {
		return r.err
	}
	if n == 0 {
		return r.fail(r.pos-1, "empty quantity table: write flags without bit 2")
	}
	// Each quantity takes at least 4 bytes (an id of one byte and a text
	// of one, each after its length): a count the bytes left cannot hold
	// is refused before the table is sized by it, so that a hostile blob
	// of a few bytes cannot make the decoder allocate megabytes.
	if left := uint64(len(r.data) - r.pos); n > left/4 {
		return r.fail(r.pos, "quantity count "+strconv.FormatUint(n, 10)+" is more than the "+strconv.FormatUint(left, 10)+" bytes left can hold")
	}
	d.qty = make(map[string]decimal.Decimal, n)
	prev := ""
	for i := uint64(0); i < n; i++ {
		at := r.pos
		id, ok1 := r.str()
		text, ok2 := r.str()
		if !ok1 || !ok2 {
			return r.err
		}
		if i > 0 && id <= prev {
			return r.fail(at, "quantity ids out of order")
		}
		prev = id
		q, err := readQuantity(text)
		if err != nil {
			return r.fail(at, err.Error())
		}
		d.qty[id] = q
	}
	return nil
}

// readQuantity reads a billed quantity of a ledger: its canonical text
// (no trailing zeros, no exponent).
func readQuantity(text string) (decimal.Decimal, error) {
	q, err := decimal.NewFromString(text)
	if err != nil || !numOf(q).readable() || canonicalDecimal(q).String() != text {
		return decimal.Decimal{}, fmt.Errorf("%w: quantity %q is not a decimal in canonical form", ErrInvalidLedger, clip(text))
	}
	return q, nil
}

// superseded reads the superseded-versions table of the binary form into
// d: the number of ids, then each id (sorted), its number of digests and
// the digests (8 bytes each, big-endian, ascending).
func (r *binReader) superseded(d *ledgerData) error {
	n, ok := r.uvarint()
	if !ok {
		return r.err
	}
	if n == 0 {
		return r.fail(r.pos-1, "empty superseded table: write flags without bit 4")
	}
	d.old = make(map[string][]uint64, min(n, 1<<16))
	prev := ""
	for i := uint64(0); i < n; i++ {
		at := r.pos
		id, ok := r.str()
		if !ok {
			return r.err
		}
		if i > 0 && id <= prev {
			return r.fail(at, "superseded ids out of order")
		}
		prev = id
		k, ok := r.uvarint()
		if !ok {
			return r.err
		}
		if k == 0 || k > uint64(len(r.data)-r.pos)/8 {
			return r.fail(at, "bad number of superseded digests")
		}
		old := make([]uint64, k)
		for j := range old {
			old[j] = binary.BigEndian.Uint64(r.data[r.pos:])
			r.pos += 8
			if j > 0 && old[j] <= old[j-1] {
				return r.fail(r.pos-8, "superseded digests out of order")
			}
		}
		d.old[id] = old
	}
	return nil
}

// readSuperseded reads a JSON record's superseded digests: ascending,
// each once, none its own digest, and only on a record holding its
// quantity (one collected under ResendCorrects).
func readSuperseded(list []ContentDigest, digest uint64, hasQty bool) ([]uint64, error) {
	if !hasQty {
		return nil, fmt.Errorf("%w: superseded versions of a record without its quantity", ErrInvalidLedger)
	}
	out := make([]uint64, len(list))
	for i, o := range list {
		out[i] = uint64(o)
		switch {
		case out[i] == digest:
			return nil, fmt.Errorf("%w: superseded digest %s is the record's own", ErrInvalidLedger, o)
		case i > 0 && out[i] <= out[i-1]:
			return nil, fmt.Errorf("%w: superseded digest %s is not after %s", ErrInvalidLedger, o, list[i-1])
		}
	}
	return out, nil
}
