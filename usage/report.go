package usage

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// Reference kinds of usage outputs, for ensemble.Ref.
const (
	// KindAggregate is the kind of an Aggregate's Ref.
	KindAggregate ensemble.RefKind = "usage_aggregate"
	// KindAdjustment is the kind of the Ref of an Aggregate of late
	// records (one listed in Report.Adjustments).
	KindAdjustment ensemble.RefKind = "usage_adjustment"
)

// Report is what an Aggregator made of the records it was given. Every
// collection is sorted by a stable key, so the same records give the same
// Report (and the same JSON, byte for byte) whatever their order, their
// batching and their duplicates.
type Report struct {
	// Aggregates holds one aggregate per line, meter and open billing
	// period that accepted records, sorted by line, meter and period start;
	// and, for a WeightedAverage meter, one of no records (Records 0, its
	// Levels the carried level alone) per open period with no reading that
	// a level is carried into (see Config.Through): the level holds
	// through it.
	Aggregates []Aggregate `json:"aggregates"`
	// Adjustments holds, in the same order, the aggregates of late records:
	// records for periods that were closed (Config.ClosedBefore,
	// Line.ClosedBefore). Each is marked Late and covers only the late
	// records; the invoice merges it with what it billed (Aggregate.Merge)
	// and bills rate(cumulative) - billed, tracing to the period. For a
	// WeightedAverage meter it also holds one of no records per closed
	// period with no reading of the run whose carried level a late
	// reading changed (a reading of the run later than every level
	// Config.Billed carries into it): merged with what the period billed,
	// it re-averages the period with the new carried level.
	Adjustments []Aggregate `json:"adjustments"`
	// Rejections lists every rejected record with its reason, sorted by
	// record id, then reason, then content.
	Rejections []Rejection `json:"rejections"`
	// Conflicts lists every record id seen with different contents, sorted
	// by id. None of a conflicting id's records is aggregated.
	Conflicts []Conflict `json:"conflicts"`
	// Stats counts what happened to the records read.
	Stats Stats `json:"stats"`
	// Ledger is Config.Ledger plus every record this report aggregated
	// (Aggregates and Adjustments): what to pass as Config.Ledger to the
	// next run, so that no record is billed twice. It holds every id ever
	// billed (until pruned), not this run's alone, so it is left out of the
	// report's JSON: persist it on its own (Ledger.MarshalBinary). A report
	// read back from JSON has the zero Ledger.
	Ledger Ledger `json:"-"`
	// Open lists the aggregates of Config.Open this report merged into
	// Aggregates (or reported as they were), as given: MergeReports reads
	// it to refuse counting one twice. Do not merge them again.
	Open []Aggregate `json:"open,omitempty"`
}

// Stats counts records. Read = Accepted + Duplicates + the records of
// Rejections and Conflicts (a record is counted once even when it is both
// rejected and in conflict).
type Stats struct {
	// Read is how many records were read, duplicates included.
	Read int64 `json:"read"`
	// Accepted is how many distinct records were aggregated, late ones
	// included.
	Accepted int64 `json:"accepted"`
	// Duplicates is how many records repeated the id and content of one
	// already read, in this run or an earlier one, and were dropped.
	Duplicates int64 `json:"duplicates"`
	// Resent is how many of the Duplicates repeat a record an earlier run
	// billed (held in Config.Ledger): billed zero more.
	Resent int64 `json:"resent,omitempty"`
	// Superseded is how many of the Resent repeat a version of a record
	// that a correction under ResendCorrects superseded in an earlier
	// run (the ledger holds its digest): a redelivered old version,
	// billed nothing, never a correction back.
	Superseded int64 `json:"superseded,omitempty"`
	// Rejected is len(Rejections).
	Rejected int64 `json:"rejected"`
	// Conflicts is len(Conflicts).
	Conflicts int64 `json:"conflicts"`
}

// Err returns the rejections and conflicts of the report as one error
// (errors.Join, which errors.Is and errors.As look into), or nil when every
// record was aggregated or dropped as a duplicate.
func (r *Report) Err() error {
	errs := make([]error, 0, len(r.Rejections)+len(r.Conflicts))
	for _, x := range r.Rejections {
		errs = append(errs, x)
	}
	for _, c := range r.Conflicts {
		errs = append(errs, c)
	}
	return errors.Join(errs...)
}

// Aggregate is the folded usage of one order line, meter and billing
// period: what an invoice line rates, and what it traces to.
type Aggregate struct {
	Line        LineRef         `json:"line"`
	Meter       MeterID         `json:"meter"`
	Unit        string          `json:"unit,omitempty"`
	Aggregation Aggregation     `json:"aggregation"`
	Period      ensemble.Period `json:"period"` // in UTC
	// Late marks an adjustment: the aggregate of late records alone, for a
	// period already closed.
	Late bool `json:"late,omitempty"`
	// Value is the aggregated quantity, exact: the sum, the max, the
	// count, the count of unique values or the latest quantity; or the
	// time-weighted average level, rounded once (see Levels).
	Value decimal.Decimal `json:"value"`
	// Records is how many distinct records were folded in.
	Records int64 `json:"records"`
	// Digest identifies the set of their record ids, whatever their order
	// (see Digest).
	Digest Digest `json:"digest"`
	// Source is the record holding the value of a Max or Latest aggregate,
	// and SourceAt its instant (UTC).
	Source   RecordID  `json:"source,omitempty"`
	SourceAt time.Time `json:"source_at,omitzero"`
	// Uniques lists, sorted, the distinct values a CountUnique aggregate
	// counted, so that merging two aggregates stays exact.
	Uniques []string `json:"uniques,omitempty"`
	// Levels lists, for a WeightedAverage aggregate, the steps of the
	// level over the period, sorted by instant then record id (of readings
	// at one instant, the greatest id holds): its readings and, first, the
	// level carried from before the period (Level.Carried), so that
	// merging two aggregates of one period (what was billed and late
	// readings) recomputes the average exactly. Value is
	// Σ level × nanoseconds it held within the period / the period's
	// nanoseconds, rounded once to WeightedScale digits, half away from
	// zero; before the first level the level is zero. The period is
	// Period: a period cut into pieces (Line.Periods) averages each piece
	// over its cycle (see Cycle). An adjustment (Late) averages its late readings
	// alone, which means nothing by itself: merged with what the period
	// billed, it is the period's average.
	Levels []Level `json:"levels,omitempty"`
	// Cycle is, for a WeightedAverage aggregate of a piece of a billing
	// cycle (Line.Cycles: the cycle cut where the line's price changes, an
	// upgrade or a downgrade), that cycle: Value is then the level's
	// integral over the piece divided by the cycle's length (the level
	// times the fraction of the cycle in the piece), so that the pieces'
	// values add up to the cycle's average, each rated at its own price.
	// It is the zero Period otherwise (the period is its own base).
	Cycle ensemble.Period `json:"cycle,omitzero"`
	// LevelHours is, for a WeightedAverage aggregate, the meter's
	// Meter.LevelHours: Value is then the level's integral over the period
	// in hours (level-hours: instance-hours, GPU-hours), not its average;
	// Cycle does not divide it. Merge refuses aggregates that differ in it,
	// but for one of no level (an idle period), which takes the other's.
	LevelHours bool `json:"level_hours,omitempty"`
	// Inactive lists, for a WeightedAverage aggregate, the stretches of
	// the period in which the line was not active (before it started,
	// paused, after it stopped), sorted: the level counts zero in them,
	// so a period the line was active for part of averages its levels
	// over the whole period, which prorates it. Merge takes the union of
	// the two aggregates' stretches.
	Inactive []ensemble.Period `json:"inactive,omitempty"`
	// Through is, for a WeightedAverage aggregate, the instant its run saw
	// the line's activity through (UTC): Config.Through, or with none the
	// end of the line's last active segment. A run inside the period sees
	// the line's segment end at the run (invoice.Builder.UsageLines ends a
	// running one there), so the rest of the period is Inactive in its
	// view only because the run had not got there yet: Merge takes the
	// Inactive stretches of the aggregate seen through the later instant,
	// and the later Through, so that the runs of one period merge, in any
	// order, to what one run after them reports. Of aggregates seen
	// through one instant (shards of one run), or when either has none (an
	// aggregate stored before Through was), Merge takes the union of their
	// stretches, as it always did. It is the zero time for other
	// aggregations.
	Through time.Time `json:"through,omitzero"`
	// RecordIDs lists the record ids, sorted, when Config.RecordIDs asks.
	RecordIDs []RecordID `json:"record_ids,omitempty"`
	// AttributeTo is the meter's Meter.AttributeTo: the record attribute
	// the usage is attributed to; empty when it is not.
	AttributeTo string `json:"attribute_to,omitempty"`
	// Parts is, for a meter that attributes its usage, the quantity of
	// each value of the attribute, sorted by value: their quantities add
	// up to Value and their records to Records. The records of nobody
	// (Meter.AllowUnattributed) are the part of the empty value, first.
	Parts []Part `json:"parts,omitempty"`
}

// Part is the usage of one value of an attributed meter's attribute in an
// Aggregate: the quantity of the records naming that value (the sum of
// their quantities, or their count) and how many they are.
type Part struct {
	Value    string          `json:"value"`
	Quantity decimal.Decimal `json:"quantity"`
	Records  int64           `json:"records"`
}

// mergeParts adds the parts of two aggregates value by value, sorted by
// value; neither input is modified.
func mergeParts(a, b []Part) []Part {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make([]Part, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].Value < b[j].Value:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Value < a[i].Value:
			out = append(out, b[j])
			j++
		default:
			out = append(out, Part{Value: a[i].Value, Quantity: canonicalDecimal(a[i].Quantity.Add(b[j].Quantity)), Records: a[i].Records + b[j].Records})
			i++
			j++
		}
	}
	return out
}

// Ref returns the trace reference of the aggregate: kind usage_aggregate
// (usage_adjustment when Late), id "line|meter|period start in RFC 3339",
// and the digest of its records as the version, so that an invoice line
// names exactly which records it billed.
func (g Aggregate) Ref() ensemble.Ref {
	kind := KindAggregate
	if g.Late {
		kind = KindAdjustment
	}
	return ensemble.Ref{
		Kind:    kind,
		ID:      string(g.Line) + "|" + string(g.Meter) + "|" + g.Period.Start.UTC().Format(time.RFC3339Nano),
		Version: g.Digest.String(),
	}
}

// ErrMergeMismatch reports a Merge of aggregates of different lines,
// meters, aggregations or periods.
var ErrMergeMismatch = errors.New("usage: merge of different aggregates")

// Merge returns the aggregate of the records of g and o together, assuming
// they hold different records (as an aggregate billed earlier and the
// adjustment of late records for the same period do): Sum and Count add,
// Max keeps the greater (the greater source id on a tie), Latest the later
// (instant, source id), CountUnique the union of the values,
// WeightedAverage the average over the union of their Levels (of two
// carried levels, the later), so that late readings change the stretch of
// the period up to the next reading, exactly; levels outside the period
// wrap ErrBadLevels. Records and
// digests add; record ids are merged when both list them. The result has
// g's Late flag. Aggregates of different keys wrap ErrMergeMismatch.
func (g Aggregate) Merge(o Aggregate) (Aggregate, error) {
	out, err := g.mergeCounts(o)
	if err != nil {
		return Aggregate{}, err
	}
	if g.Aggregation == CountUnique {
		u := append(slices.Clone(g.Uniques), o.Uniques...)
		slices.Sort(u)
		out.Uniques = slices.Compact(u)
		out.Value = decimal.NewFromInt(int64(len(out.Uniques)))
	}
	if g.RecordIDs != nil && o.RecordIDs != nil {
		ids := append(slices.Clone(g.RecordIDs), o.RecordIDs...)
		slices.Sort(ids)
		out.RecordIDs = ids
	} else {
		out.RecordIDs = nil
	}
	return out, nil
}

// mergeCounts is Merge but for the lists: it checks the keys and merges
// records, digests and the values of Sum, Count, Max and Latest, and
// leaves g's Uniques, RecordIDs and CountUnique value as they are.
func (g Aggregate) mergeCounts(o Aggregate) (Aggregate, error) {
	if g.Line != o.Line || g.Meter != o.Meter || g.Aggregation != o.Aggregation || !g.Period.Equal(o.Period) || !g.Cycle.Equal(o.Cycle) {
		return Aggregate{}, fmt.Errorf("%w: %s and %s", ErrMergeMismatch, g.Ref(), o.Ref())
	}
	out := g
	// An aggregate of no records (an idle period billed) may omit the
	// attribute; aggregates holding records must agree on it, or their
	// parts would not add up to their value.
	switch {
	case g.AttributeTo == o.AttributeTo:
	case g.AttributeTo == "" && g.Records == 0:
		out.AttributeTo = o.AttributeTo
	case o.AttributeTo == "" && o.Records == 0:
	default:
		return Aggregate{}, fmt.Errorf("%w: %s attributed to %q and %s to %q", ErrMergeMismatch, g.Ref(), g.AttributeTo, o.Ref(), o.AttributeTo)
	}
	// Level-hours and an average differ but for an aggregate of no level
	// (an idle period billed), zero either way.
	switch {
	case g.LevelHours == o.LevelHours:
	case len(g.Levels) == 0 && g.Records == 0:
		out.LevelHours = o.LevelHours
	case len(o.Levels) == 0 && o.Records == 0:
	default:
		return Aggregate{}, fmt.Errorf("%w: %s in level-hours (usage.Meter.LevelHours) and %s not, or the other way round", ErrMergeMismatch, g.Ref(), o.Ref())
	}
	out.Parts = mergeParts(g.Parts, o.Parts)
	out.Records = g.Records + o.Records
	out.Digest = g.Digest.Add(o.Digest)
	switch g.Aggregation {
	case Sum:
		out.Value = g.Value.Add(o.Value)
	case Count:
		out.Value = g.Value.Add(o.Value)
	case Max:
		if c := o.Value.Cmp(g.Value); g.Records == 0 || o.Records > 0 && (c > 0 || c == 0 && o.Source > g.Source) {
			out.Value, out.Source, out.SourceAt = o.Value, o.Source, o.SourceAt
		}
	case Latest:
		if c := o.SourceAt.Compare(g.SourceAt); g.Records == 0 || o.Records > 0 && (c > 0 || c == 0 && o.Source > g.Source) {
			out.Value, out.Source, out.SourceAt = o.Value, o.Source, o.SourceAt
		}
	case WeightedAverage:
		out.Levels = mergeLevels(g.Levels, o.Levels)
		out.Inactive, out.Through = mergeViews(g, o)
		v, err := weightedValue(g.Period, g.Cycle, out.Levels, out.Inactive, g.LevelHours)
		if err != nil {
			return Aggregate{}, fmt.Errorf("%s: %w", g.Ref(), err)
		}
		out.Value = v
	}
	return out, nil
}

// Digest identifies a set of record ids whatever their order: the sum,
// modulo 2^128, of a 128-bit hash of each id: the FNV-1a 128 hash of the
// id's bytes (as hash/fnv's New128a writes it, big-endian: hi, lo), then
// mixed so that sums of hashes do not collide as sums of plain FNV do
// (DigestOf("r12", "r26") and DigestOf("r17", "r23") were equal): three
// rounds of lo ^= hi, lo = fmix64(lo); hi ^= lo, hi = fmix64(hi); lo ^= hi,
// lo = fmix64(lo), where fmix64 is MurmurHash3's 64-bit finalizer. The
// digest of no records is zero, and the digest of a union of disjoint sets is the sum of
// their digests (Add), so a host can recompute it from the ids it stored,
// in any language, and compare. It detects a different set of records; it
// is not a cryptographic commitment. It is written as 32 lowercase hex
// digits.
type Digest [16]byte

// DigestOf returns the digest of the given record ids.
func DigestOf(ids ...RecordID) Digest {
	var d Digest
	for _, id := range ids {
		d = d.addID(id)
	}
	return d
}

// addID adds the hash of one id.
func (d Digest) addID(id RecordID) Digest {
	return d.Add(idHash(id).digest())
}

// sum128 is a Digest as two integers, for adding without byte shuffling.
type sum128 struct{ hi, lo uint64 }

// idHash is the hash a Digest adds for one record id: FNV-1a 128, mixed
// (see Digest). Every step is a bijection of the 128 bits.
func idHash[T ~string | ~[]byte](id T) sum128 {
	h := fnv128(id)
	h.lo = fmix64(h.lo ^ h.hi)
	h.hi = fmix64(h.hi ^ h.lo)
	h.lo = fmix64(h.lo ^ h.hi)
	return h
}

// fnv128 returns the FNV-1a 128 hash of id: from the offset basis, for
// each byte, xor it in and multiply by the FNV prime 2^88 + 0x13b, modulo
// 2^128.
func fnv128[T ~string | ~[]byte](id T) sum128 {
	hi, lo := uint64(0x6c62272e07bb0142), uint64(0x62b821756295c58d)
	for i := 0; i < len(id); i++ {
		lo ^= uint64(id[i])
		// (hi·2^64 + lo) × (2^88 + 0x13b) mod 2^128
		h, l := bits.Mul64(lo, 0x13b)
		hi, lo = h+hi*0x13b+lo<<24, l
	}
	return sum128{hi, lo}
}

// add adds o modulo 2^128.
func (s *sum128) add(o sum128) {
	var carry uint64
	s.lo, carry = bits.Add64(s.lo, o.lo, 0)
	s.hi, _ = bits.Add64(s.hi, o.hi, carry)
}

// sub subtracts o modulo 2^128.
func (s *sum128) sub(o sum128) {
	var borrow uint64
	s.lo, borrow = bits.Sub64(s.lo, o.lo, 0)
	s.hi, _ = bits.Sub64(s.hi, o.hi, borrow)
}

func (s sum128) digest() Digest {
	var d Digest
	binary.BigEndian.PutUint64(d[:8], s.hi)
	binary.BigEndian.PutUint64(d[8:], s.lo)
	return d
}

// Add returns d + o modulo 2^128: the digest of the union of two disjoint
// sets of ids.
func (d Digest) Add(o Digest) Digest {
	lo := binary.BigEndian.Uint64(d[8:]) + binary.BigEndian.Uint64(o[8:])
	carry := uint64(0)
	if lo < binary.BigEndian.Uint64(o[8:]) {
		carry = 1
	}
	hi := binary.BigEndian.Uint64(d[:8]) + binary.BigEndian.Uint64(o[:8]) + carry
	var out Digest
	binary.BigEndian.PutUint64(out[:8], hi)
	binary.BigEndian.PutUint64(out[8:], lo)
	return out
}

// String writes the digest as 32 lowercase hex digits.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText writes String.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads 32 hex digits.
func (d *Digest) UnmarshalText(b []byte) error {
	var out Digest
	if len(b) != 32 {
		return &ParseError{Kind: "digest", Input: clip(string(b)), Want: "32 hex digits"}
	}
	if _, err := hex.Decode(out[:], b); err != nil {
		return &ParseError{Kind: "digest", Input: clip(string(b)), Want: "32 hex digits"}
	}
	*d = out
	return nil
}

// Stats returns the counts of the records read so far, as Report would,
// without building a report.
func (a *Aggregator) Stats() Stats {
	return Stats{
		Read: a.read, Accepted: a.accepted, Duplicates: a.duplicates, Resent: a.resent, Superseded: a.superseded,
		Rejected: int64(len(a.rejections)), Conflicts: int64(len(a.conflicts)),
	}
}

// Report returns what the aggregator made of the records so far. It may be
// called again after more records are added; the report shares no memory
// with the aggregator.
func (a *Aggregator) Report() *Report {
	a.recompute()
	var ids [][]RecordID
	if a.recordIDs {
		ids = make([][]RecordID, a.nslots)
		for ei := range a.n {
			if e := a.entry(ei); e.state&^stBigQty == stAccepted {
				ids[e.ref] = append(ids[e.ref], RecordID(a.idOf(ei)))
			}
		}
	}
	var uniques [][]string
	if a.pairs.n > 0 {
		// One backing array, cut per slot by its count of unique values.
		uniques = make([][]string, a.nslots)
		all := make([]string, 0, a.pairs.n)
		for si := range a.nslots {
			if n := a.slot(si).uniques; n > 0 && len(all)+int(n) <= cap(all) {
				uniques[si] = all[len(all) : len(all) : len(all)+int(n)]
				all = all[:len(all)+int(n)]
			}
		}
		for _, k := range a.pairs.keys {
			if k != 0 {
				key := k - 1
				uniques[key>>32] = append(uniques[key>>32], a.values[uint32(key)])
			}
		}
	}
	parts := a.parts()
	order := make([]int32, 0, a.nslots)
	open := 0
	for si := range a.nslots {
		if s := a.slot(si); s.records > 0 {
			order = append(order, int32(si))
			if !a.periods[s.period].closed {
				open++
			}
		}
	}
	// Sort by line, meter and period start, through precomputed ranks.
	type sortKey struct {
		rank  uint64 // line rank << 32 | meter rank
		start int64
		slot  int32
	}
	keys := make([]sortKey, len(order))
	for i, si := range order {
		s := a.slot(si)
		keys[i] = sortKey{uint64(a.lineRank[s.line])<<32 | uint64(a.meterRank[s.meter]), a.periods[s.period].start, si}
	}
	slices.SortFunc(keys, func(x, y sortKey) int {
		switch {
		case x.rank != y.rank:
			return cmp.Compare(x.rank, y.rank)
		case x.start != y.start:
			return cmp.Compare(x.start, y.start)
		}
		return 0
	})
	for i, k := range keys {
		order[i] = k.slot
	}
	rep := &Report{
		Aggregates:  make([]Aggregate, 0, open),
		Adjustments: make([]Aggregate, 0, len(order)-open),
		Stats:       a.Stats(),
	}
	all := make([]Aggregate, 0, len(order))
	var wgs []*Aggregate
	var wslots []int32
	for _, si := range order {
		s := a.slot(si)
		m := &a.meters[s.meter]
		g := Aggregate{
			Line: a.lines[s.line].ref, Meter: m.ID, Unit: m.Unit, Aggregation: m.Aggregation,
			Period: a.periods[s.period].period, Late: a.periods[s.period].closed, Records: s.records, Digest: s.digest.digest(),
		}
		switch m.Aggregation {
		case Sum:
			g.Value = a.value(s).decimal()
		case Max, Latest:
			g.Value = a.value(s).decimal()
			g.Source = RecordID(a.idOf(s.best))
			g.SourceAt = time.Unix(0, a.entry(s.best).ns).UTC()
		case Count:
			g.Value = decimal.NewFromInt(s.records)
		case CountUnique:
			g.Value = decimal.NewFromInt(s.uniques)
			g.Uniques = uniques[si]
			slices.Sort(g.Uniques)
		}
		if ids != nil {
			g.RecordIDs = ids[si]
			slices.Sort(g.RecordIDs)
		}
		if m.AttributeTo != "" {
			g.AttributeTo, g.Parts = m.AttributeTo, parts[si]
		}
		if m.Aggregation == WeightedAverage {
			g.Cycle = a.lines[s.line].cycleOf(g.Period)
			g.LevelHours = m.LevelHours
		}
		all = append(all, g)
		if m.Aggregation == WeightedAverage {
			wslots = append(wslots, si)
		}
	}
	if len(wslots) > 0 || len(a.carry) > 0 || len(a.open) > 0 {
		all, wslots = a.withCarried(all, wslots)
	}
	for i := range all {
		if all[i].Aggregation == WeightedAverage {
			wgs = append(wgs, &all[i])
		}
	}
	var drop []bool
	if len(wgs) > 0 {
		drop = a.weighted(wgs, wslots)
	}
	w := 0
	for _, g := range all {
		if g.Aggregation == WeightedAverage {
			w++
			if drop[w-1] {
				continue // a carried period whose level nothing changes
			}
		}
		if g.Late {
			rep.Adjustments = append(rep.Adjustments, g)
		} else {
			rep.Aggregates = append(rep.Aggregates, g)
		}
	}
	if len(a.kept) > 0 {
		a.openErr = nil
		a.mergeKept(rep)
	}
	rep.Rejections = make([]Rejection, len(a.rejections))
	for i, x := range a.rejections {
		x.Record = cloneRecord(x.Record) // canonical already
		rep.Rejections[i] = x
	}
	slices.SortFunc(rep.Rejections, compareRejections)
	rep.Conflicts = make([]Conflict, len(a.conflicts))
	for i, c := range a.conflicts {
		recs := make([]Record, len(c.Records))
		for j, r := range c.Records {
			recs[j] = cloneRecord(r) // canonical already
		}
		slices.SortFunc(recs, compareContent)
		rep.Conflicts[i] = Conflict{ID: c.ID, Records: recs, Billed: cloneEntry(c.Billed), Uncorrectable: c.Uncorrectable}
	}
	slices.SortFunc(rep.Conflicts, func(x, y Conflict) int { return strings.Compare(string(x.ID), string(y.ID)) })
	rep.Ledger = a.snapshot()
	return rep
}

func cloneEntry(e *LedgerEntry) *LedgerEntry {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

// snapshot returns Config.Ledger plus every record accepted so far, to be
// built on first use (ledgerData.materialize): a report the host never
// takes the ledger of costs nothing more, and one that reports after every
// batch does not copy the ledger each time. The snapshot holds copies of
// the headers of the aggregator's append-only storage, never written below
// the lengths it copies, and reads only what an entry never changes once
// accepted, so the aggregator may read on while another goroutine builds it.
func (a *Aggregator) snapshot() Ledger {
	if a.accepted == 0 {
		if a.prev == nil && a.horizon != noHorizon {
			return Ledger{newLedgerData(a.horizon)}
		}
		return Ledger{a.prev}
	}
	d := newLedgerData(a.horizon)
	d.n = int(a.accepted) - len(a.deltas) // a correction replaces its id's entry
	if a.prev != nil {
		d.n += a.prev.n
		d.seed = a.prev.seed // the table copied from it is placed by this seed
	}
	d.qty = a.ledgerQuantities()
	d.old = a.ledgerSuperseded()
	var deltas map[int32]bool
	if len(a.deltas) > 0 {
		deltas = make(map[int32]bool, len(a.deltas))
		for ei := range a.deltas {
			deltas[ei] = true
		}
	}
	d.pend = &pending{
		deltas:    deltas,
		prev:      a.prev,
		n:         a.n,
		chunks:    slices.Clone(a.chunks),
		acc:       slices.Clone(a.acc),
		digests:   slices.Clone(a.digests),
		arena:     slices.Clone(a.arena),
		buckets:   a.slotBuckets[:len(a.slotBuckets):len(a.slotBuckets)],
		withdrawn: a.withdrawn[:len(a.withdrawn):len(a.withdrawn)],
	}
	return Ledger{d}
}

// pending is what a report's ledger is built from: the ledger of earlier
// runs and the aggregator's accepted entries as they were at the report.
// Of an entry it reads only what is written once: where its id lies (off
// and n), its slot and its digest; a duplicate may respell an entry's
// quantity later (the digest does not change with the spelling).
type pending struct {
	prev      *ledgerData
	n         int32          // entries read
	chunks    [][]entry      // entry chunk headers
	acc       [][]uint32     // per entry: slot+1 when accepted, 0 otherwise
	digests   [][]uint64     // per accepted entry: its content digest
	arena     [][]byte       // id chunk headers
	buckets   []bucket       // per slot
	withdrawn []int32        // entries accepted, then withdrawn by a conflict
	deltas    map[int32]bool // entries accepted as corrections: their id is prev's
}

// ledgerQuantities returns the quantities a report's ledger holds: those
// of the ledger of earlier runs and, under ResendCorrects, those of the
// records accepted (a correction's: its new version's), canonical.
func (a *Aggregator) ledgerQuantities() map[string]decimal.Decimal {
	var q map[string]decimal.Decimal
	if a.prev != nil {
		q = maps.Clone(a.prev.qty)
	}
	if !a.correct {
		return q
	}
	if q == nil {
		q = make(map[string]decimal.Decimal, a.accepted)
	}
	for ei := range a.n {
		e := a.entry(ei)
		if e.state&^stBigQty != stAccepted {
			continue
		}
		if c, ok := a.deltas[ei]; ok {
			q[string(c.ID)] = c.Quantity
			continue
		}
		q[string(a.idOf(ei))] = canonicalDecimal(a.numOf(e).decimal())
	}
	if len(q) == 0 {
		return nil
	}
	return q
}

// build writes into d the earlier ledger's entries and then the accepted
// entries, grouped by slot (a counting sort, no comparison). It writes only
// the fields materialize guards (arena, spans, buckets, the table): n,
// horizon and seed were set when the snapshot was taken, and may be read
// meanwhile.
func (p *pending) build(d *ledgerData) {
	out := make(map[int32]bool, len(p.withdrawn))
	for _, ei := range p.withdrawn {
		out[ei] = true
	}
	acc := func(ei int32) uint32 { return p.acc[ei>>entryShift][ei&(entryChunk-1)] }
	ent := func(ei int32) *entry { return &p.chunks[ei>>entryShift][ei&(entryChunk-1)] }
	first := make([]int32, len(p.buckets)+1) // slot s's entries go at first[s]...
	extra := 0
	for ei := range p.n {
		if v := acc(ei); v != 0 && !out[ei] && !p.deltas[ei] {
			first[v]++
			extra += 1 + int(ent(ei).n) + 8
		}
	}
	var tmp *ledgerData
	if p.prev != nil {
		tmp = p.prev.appendable(d.n-p.prev.n, extra)
	} else {
		tmp = newLedgerData(d.horizon)
		tmp.arena = make([]byte, 0, extra)
	}
	for si := range p.buckets {
		first[si+1] += first[si]
	}
	order := make([]int32, first[len(p.buckets)])
	for ei := range p.n {
		if v := acc(ei); v != 0 && !out[ei] && !p.deltas[ei] {
			order[first[v-1]] = ei
			first[v-1]++
		}
	}
	// A correction's id is held by the earlier ledger, in the same
	// bucket: its digest becomes the new version's.
	for ei := range p.deltas {
		if out[ei] {
			continue
		}
		e := ent(ei)
		off := int(e.off & 0xffff)
		id := p.arena[e.off>>16][off : off+int(e.n)]
		at, _ := probe(tmp, id, maphash.Bytes(tmp.seed, id))
		binary.BigEndian.PutUint64(tmp.arena[at+1+uint32(len(id)):], p.digests[ei>>entryShift][ei&(entryChunk-1)])
	}
	var bld ledgerBuilder
	bld.init(tmp)
	bld.index = p.prev != nil // appendable's table, copied, is kept current
	for _, ei := range order {
		e := ent(ei)
		off := int(e.off & 0xffff)
		bld.add(p.buckets[acc(ei)-1], p.arena[e.off>>16][off:off+int(e.n)], p.digests[ei>>entryShift][ei&(entryChunk-1)])
	}
	if tmp.n != d.n || bld.full {
		panic("usage: ledger snapshot miscounted") // unreachable: add refuses records beyond the ledger's capacity
	}
	d.arena, d.spans, d.buckets = tmp.arena, tmp.spans, tmp.buckets
	if p.prev != nil {
		d.table = tmp.table // placed by the same seed, the earlier ledger's
		d.once.Do(func() {})
	}
}

func quote(s string) string { return strconv.Quote(clip(s)) }

// parts returns, per slot of a meter that attributes its usage, the
// quantity of each value of its attribute over the slot's accepted
// records, sorted by value (nil when no meter attributes its usage).
func (a *Aggregator) parts() [][]Part {
	attributed := false
	for i := range a.meters {
		attributed = attributed || a.meters[i].AttributeTo != ""
	}
	if !attributed {
		return nil
	}
	type key struct {
		slot  int32
		value string
	}
	sums := map[key]*Part{}
	for ei := range a.n {
		e := a.entry(ei)
		if e.state&^stBigQty != stAccepted {
			continue
		}
		m := &a.meters[a.slot(e.ref).meter]
		if m.AttributeTo == "" {
			continue
		}
		v := "" // attributed to nobody (Meter.AllowUnattributed)
		if e.attrs > 0 {
			v = decodeAttrs(a.attrSets[e.attrs-1])[m.AttributeTo]
		}
		k := key{e.ref, v}
		p := sums[k]
		if p == nil {
			p = &Part{Value: v, Quantity: decimal.Zero}
			sums[k] = p
		}
		p.Records++
		if m.Aggregation == Count {
			p.Quantity = p.Quantity.Add(decimal.NewFromInt(1))
		} else {
			p.Quantity = p.Quantity.Add(a.numOf(e).decimal())
		}
	}
	out := make([][]Part, a.nslots)
	for k, p := range sums {
		p.Quantity = canonicalDecimal(p.Quantity)
		out[k.slot] = append(out[k.slot], *p)
	}
	for _, ps := range out {
		slices.SortFunc(ps, func(x, y Part) int { return strings.Compare(x.Value, y.Value) })
	}
	return out
}

// mergeKept merges each aggregate of Config.Open into rep's aggregate of
// the same line, meter and period, or adds it to rep.Aggregates when rep
// has none, keeping them sorted by line, meter and period start.
func (a *Aggregator) mergeKept(rep *Report) {
	at := make(map[openKey]int, len(rep.Aggregates))
	for i, g := range rep.Aggregates {
		at[openKey{g.Line, g.Meter, g.Period.Start.UnixNano(), g.Period.End.UnixNano()}] = i
	}
	added := false
	for _, k := range a.kept {
		key := openKey{k.Line, k.Meter, k.Period.Start.UnixNano(), k.Period.End.UnixNano()}
		i, ok := at[key]
		if !ok {
			rep.Aggregates = append(rep.Aggregates, cloneAggregate(k))
			added = true
			continue
		}
		m, err := k.Merge(rep.Aggregates[i])
		if err != nil {
			a.openErr = errors.Join(a.openErr, fmt.Errorf("%w: %w", ErrOpenAggregate, err))
			continue
		}
		rep.Aggregates[i] = m
	}
	for _, k := range a.kept {
		rep.Open = append(rep.Open, cloneAggregate(k))
	}
	if added {
		slices.SortStableFunc(rep.Aggregates, func(x, y Aggregate) int {
			xl, xm := a.lineRank[a.lineIdx[x.Line]], a.meterRank[a.meterIdx[x.Meter]]
			yl, ym := a.lineRank[a.lineIdx[y.Line]], a.meterRank[a.meterIdx[y.Meter]]
			return cmp.Or(cmp.Compare(xl, yl), cmp.Compare(xm, ym), x.Period.Start.Compare(y.Period.Start))
		})
	}
}

// cloneAggregate copies g's slices, so that a report shares no memory with
// the config it was given.
func cloneAggregate(g Aggregate) Aggregate {
	g.Uniques = slices.Clone(g.Uniques)
	g.Levels = slices.Clone(g.Levels)
	g.Inactive = slices.Clone(g.Inactive)
	g.RecordIDs = slices.Clone(g.RecordIDs)
	g.Parts = slices.Clone(g.Parts)
	return g
}

// ledgerSuperseded returns the superseded versions a report's ledger
// holds: those of the ledger of earlier runs and, for each correction of
// this run, the digest of the version it superseded (the one the ledger
// of earlier runs billed).
func (a *Aggregator) ledgerSuperseded() map[string][]uint64 {
	var old map[string][]uint64
	if a.prev != nil {
		old = maps.Clone(a.prev.old)
	}
	for ei := range a.deltas {
		if e := a.entry(ei); e.state&^stBigQty != stAccepted {
			continue // withdrawn by a conflict
		}
		id := string(a.idOf(ei))
		off, _ := a.prev.lookup(id, maphash.String(a.prev.seed, id))
		_, digest, _ := a.prev.recAt(off)
		if old == nil {
			old = map[string][]uint64{}
		}
		old[id] = unionDigests(old[id], []uint64{digest})
	}
	return old
}
