package settlement

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ensemble-commerce/ensemble/partner"
)

// A State that shards. A State holds four kinds of records, each keyed by
// one thing:
//
//   - ledger lines, keyed by line id, each with the volumes the line added
//     to (LedgerLine.Volumes), its parts,
//     unreversed amounts and dispute;
//   - credit records (which credit line credited which line), keyed by
//     the credited line: they travel with its ledger line;
//   - cumulative volumes, keyed by partner (VolumeState.Partner), with
//     their points (which may name the line they are of,
//     VolumePoint.Line, when its credits take back from them);
//   - prepaid commitments (how their lines were settled), keyed by
//     commitment: a few bytes each, they travel with every part;
//   - nodes paid once per customer (Once), keyed by plan, node and
//     customer, with the line that paid each: they travel with every part
//     too.
//
// SplitByLine keeps ledger lines and credit records, SplitByPartner keeps
// volumes; both keep every prepaid commitment and once record. A plan
// with a node paid once per customer needs its lines sharded by customer
// (every line of a customer settled by the same shard): two shards that
// pay the same customer's node on different lines do not merge
// (ErrStateOverlap names the customer and the node). So the parts of a state
// split by line, plus its parts split by partner, merge back into the
// state (MergeStates), byte for byte. A point of a volume naming a line
// names it across parts: the point stays with its volume, the line's
// ledger with the line.

var (
	// ErrStateOverlap reports parts of a state that MergeStates cannot
	// merge: two parts hold the same ledger line, credit or volume, a
	// credit and a line share an id, or two parts disagree on how a
	// prepaid commitment's lines are settled, or two parts paid a node
	// once per customer (Once) for the same customer on different lines
	// (shard such lines by customer). Merging never adds up two copies of
	// a record.
	ErrStateOverlap = errors.New("settlement: state parts overlap")
	// ErrVolumeNotHeld reports a line settled against a part of a state
	// that does not hold a cumulative volume the line reads or takes back
	// from: a sale whose plan reads the volume of a partner the part was
	// not split for (SplitByPartner, SplitByLine), or, in a state read
	// back from JSON or the binary form, of a partner whose ledger lines
	// add to a volume of which it holds none (a part split by line, or a
	// state that lost the volume), or a credit of a line
	// whose plan's volume is net of credits (Cumulative.Volume) against a
	// state holding none of the partner's volumes. The line was keyed to
	// the wrong shard: it is refused, never settled at a volume of zero.
	ErrVolumeNotHeld = errors.New("settlement: volume not held by the state")
)

// SplitByLine returns the part of st that holds the ledger lines keep
// keeps, with the volumes each line remembers (LedgerLine.Volumes), the
// credit records of the credits of those lines (a credit is kept with the
// line it credited, held or not), and every prepaid commitment; no
// cumulative volume. st is left unchanged; the part shares the ledgers,
// which are never changed in place.
//
// A part decodes (UnmarshalJSON) and settles credits of its lines: a
// credit needs only the credited line's ledger, so hosts key credits by
// the line they credit. A line payable on collection keeps its collection
// record in its ledger, so the part also takes payments and write-offs of
// its lines (Settler.Collect): key those of an invoice by the invoice, so
// that its lines stay together (its lines paid on settlement too, whose
// receivables share its payments: LedgerLine.Receivable), and a credit netted on another invoice
// (Line.Invoice) by the customer, so that it finds that invoice's lines
// (else it comes off the credited line, as a credit note would); a
// payment of a line whose credits are pending on another invoice's lines
// (LedgerCollection.LentTo) funds them only in a part holding those lines
// too, so key payments by customer where credits are netted (in a part
// without them, they stay lent, for a later payment of the merged state
// to find). A line whose plan's volume is net of credits is
// the exception: its credit takes back from the partner's volume too, so
// settle it against this part merged with the partner's
// (SplitByPartner); against this part alone it is ErrVolumeNotHeld.
// The part holds no partner's volumes: a sale whose plan reads one is
// refused (ErrVolumeNotHeld) until the part is merged with the partner's.
// Read back from JSON or the binary form, it still refuses a sale reading
// the volume of a partner that its lines add to (they record it:
// LedgerLine.Volumes), since it holds none of that partner's; other
// partners' volumes it reads as a whole state does, from zero.
//
// A part knows only the lines it holds: a line another part holds, sent
// to this one (a retried batch keyed to the wrong shard), is settled
// again here, not refused as ErrAlreadySettled. Key a re-sent line as its
// first send was keyed; merging the parts' states (MergeStates:
// ErrStateOverlap) and their entries' statements (Statements:
// ErrDuplicateEntry) refuse the duplicate, but only then.
func (st State) SplitByLine(keep func(LineID) bool) State {
	out := State{prepaid: st.prepaid, sharedPrepaid: st.prepaid != nil, once: st.once, sharedOnce: st.once != nil, volumesOf: noPartner, window: st.window}
	for id, l := range st.lines.all() {
		if !keep(id) {
			continue
		}
		out.putLine(id, l)
	}
	for c, credited := range st.credits.all() {
		if keep(credited.of) {
			out.ownCredits().put(c, credited)
		}
	}
	return out
}

// SplitByPartner returns the part of st that holds the cumulative volumes
// of the partners keep keeps (every currency, window and year, with their
// points), and every prepaid commitment; no ledger line and no credit
// record. It is what a shard settling the sales of those partners reads
// (see Seed): a sale whose plan reads the volume of a partner keep does
// not keep is refused with ErrVolumeNotHeld, so lines keyed to the wrong
// shard fail rather than read a volume of zero. (The part remembers keep
// while it is a value in memory, through Settle and MergeStates; a part
// read back from JSON or the binary form holds every partner's volumes
// it was given, and no longer refuses, but for partners whose ledger lines
// it holds add to a volume of which it holds none (see SplitByLine): split
// it again where it is settled.) st is left unchanged; the part shares nothing it could
// change.
func (st State) SplitByPartner(keep func(partner.ID) bool) State {
	out := State{prepaid: st.prepaid, sharedPrepaid: st.prepaid != nil, once: st.once, sharedOnce: st.once != nil, volumesOf: keep, window: st.window}
	if was := st.volumesOf; was != nil {
		out.volumesOf = func(p partner.ID) bool { return was(p) && keep(p) }
	}
	for k, v := range st.vols.all() {
		if keep(k.partner) {
			out.ownVols().put(k, v) // a call copies a volume before changing it (run.own)
		}
	}
	return out
}

// Seed returns the part of st a shard settling the sales of partners
// reads: their cumulative volumes and every prepaid commitment
// (SplitByPartner keeping partners). Key sales by the partner whose volume
// their plan's cumulative shares read (the seller, for "of: seller"); a
// sale of another partner is refused (ErrVolumeNotHeld).
func (st State) Seed(partners ...partner.ID) State {
	set := make(map[partner.ID]bool, len(partners))
	for _, p := range partners {
		set[p] = true
	}
	return st.SplitByPartner(func(p partner.ID) bool { return set[p] })
}

// noPartner is the partners whose volumes a part split by line holds.
func noPartner(partner.ID) bool { return false }

// volumeNotHeld is the error of a sale reading the volume of partner p,
// which a state split by partner or line does not hold.
func volumeNotHeld(p partner.ID) error {
	return fmt.Errorf("%w: the line reads the volume of %q, which this part of the state does not hold: "+
		"key sales by the partner whose volume their plan reads (State.SplitByPartner)", ErrVolumeNotHeld, p)
}

// holdsVolumeOf reports whether the state holds a volume of partner p.
func (st State) holdsVolumeOf(p partner.ID) bool {
	for k := range st.vols.all() {
		if k.partner == p {
			return true
		}
	}
	return false
}

// knows reports whether st holds what settling l against it needs to
// tell a repeat from a first time, whatever l's date: l's id is held (a
// repeat is ErrAlreadySettled), or l credits a line st kept (its credits'
// records were kept with it).
func (st State) knows(l *Line) bool {
	return st.lines.get(l.ID) != nil || st.credits.get(l.ID).of != "" || l.Credits != "" && st.lines.get(l.Credits) != nil
}

// PrunedBefore returns where Prune last cut the state, in UTC (zero if it
// never was): lines dated before it are refused (ErrBeforeWindow). Split
// parts keep it, and a merged state takes the latest of its parts'.
func (st State) PrunedBefore() time.Time { return st.window }

// MergeStates returns the state holding every record of parts: parts of
// one state split by line and by partner (SplitByLine, SplitByPartner), or
// the states shards returned after settling them. The parts must be
// disjoint: a ledger line, credit or volume held by two parts, a credit
// with the id of a line of another part, or prepaid commitments settled
// two ways are an error matching ErrStateOverlap, never a sum. Prepaid
// commitments held alike by several parts are taken once.
//
// The merged state is then checked as UnmarshalJSON checks a state (every
// invariant between ledger lines, credits and volumes; an error matches
// ErrCorruptState), which costs about what decoding it does. The merged
// state holds the volumes of the partners any part holds (see
// SplitByPartner), and the latest of the parts' windows (PrunedBefore).
// The parts are left unchanged.
func MergeStates(parts ...State) (State, error) {
	var n, nc int
	for _, p := range parts {
		n, nc = n+p.lines.len(), nc+p.credits.len()
	}
	out := State{lines: newStateMap[LineID, *ledger](n)}
	// Records go in as the parts hold them; an overlap is then named by
	// overlapOf, which reads the parts in order.
	taken := make(map[LineID]struct{}, n+nc) // the lines and credits merged so far
	for _, p := range parts {
		for id, l := range p.lines.all() {
			if _, dup := taken[id]; dup {
				return State{}, overlapOf(parts)
			}
			taken[id] = struct{}{}
			out.putLine(id, l)
		}
		for c, credited := range p.credits.all() {
			if _, dup := taken[c]; dup {
				return State{}, overlapOf(parts)
			}
			taken[c] = struct{}{}
			out.ownCredits().put(c, credited)
		}
		for k, v := range p.vols.all() {
			if _, dup := out.ownVols().put(k, v); dup {
				return State{}, overlapOf(parts)
			}
		}
		if p.window.After(out.window) {
			out.window = p.window
		}
		for c, e := range p.prepaid.all() {
			if was, ok := out.prepaid.lookup(c); ok && was != e {
				return State{}, overlapOf(parts)
			}
			out.ownPrepaid().put(c, e)
		}
		for k, line := range p.once.all() {
			if was, ok := out.once.lookup(k); ok && was != line {
				return State{}, overlapOf(parts)
			}
			out.ownOnce().put(k, line)
		}
	}
	if err := out.check(); err != nil {
		return State{}, err
	}
	// The partners whose volumes the merged state holds: any part's.
	var of []func(partner.ID) bool
	if len(parts) == 0 {
		return out, nil
	}
	for _, p := range parts {
		if p.volumesOf == nil {
			return out, nil // a part holding every partner's
		}
		of = append(of, p.volumesOf)
	}
	out.volumesOf = func(p partner.ID) bool {
		for _, f := range of {
			if f(p) {
				return true
			}
		}
		return false
	}
	return out, nil
}

// overlapOf returns the ErrStateOverlap MergeStates returns for parts
// that overlap: the first record held twice, reading each part in order
// and its records in order (lines, credits, volumes, prepaid
// commitments), so that the same parts always name the same record.
func overlapOf(parts []State) error {
	overlap := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrStateOverlap}, args...)...)
	}
	from := map[LineID]int{} // the part of each line and credit
	vols := map[volKey]int{}
	prepaid := map[string]PrepaidEarning{}
	once := map[onceKey]LineID{}
	for i, p := range parts {
		for _, id := range p.lines.sorted(cmp.Compare) {
			if j, dup := from[id]; dup {
				return overlap("line %q is held by parts %d and %d", id, j, i)
			}
			from[id] = i
		}
		for _, c := range p.credits.sorted(cmp.Compare) {
			if j, dup := from[c]; dup {
				return overlap("credit %q: parts %d and %d hold a line or credit of that id", c, j, i)
			}
			from[c] = i
		}
		for _, k := range p.vols.sorted(compareVolKeys) {
			if j, dup := vols[k]; dup {
				return overlap("the volume of %q in %s (%s %s) is held by parts %d and %d", k.partner, k.cur, k.window, periodName(k.year, k.month), j, i)
			}
			vols[k] = i
		}
		for _, c := range p.prepaid.sorted(cmp.Compare) {
			e := p.prepaid.get(c)
			if was, ok := prepaid[c]; ok && was != e {
				return overlap("prepaid commitment %q settled %s in one part and %s in part %d", c, was, e, i)
			}
			prepaid[c] = e
		}
		for _, k := range p.once.sorted(compareOnce) {
			line := p.once.get(k)
			if was, ok := once[k]; ok && was != line {
				return overlap("node %q of plan %q, paid once per customer, was paid for customer %q on line %q in one part and on line %q in part %d: shard lines of such a plan by customer",
					k.node, k.plan, k.customer, was, line, i)
			}
			once[k] = line
		}
	}
	return overlap("the parts overlap") // not reached: MergeStates found an overlap
}

// check confirms every invariant UnmarshalJSON checks, on the state's
// decoded form.
func (st State) check() error {
	doc, err := st.exportJSON()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptState, err)
	}
	_, err = readState(doc.in())
	return err
}

// in returns the state's JSON form as UnmarshalJSON reads it.
func (doc stateJSON) in() stateIn {
	in := stateIn{Lines: make([]ledgerLineIn, len(doc.Lines)), Volumes: doc.Volumes, Credits: make([]creditStateIn, len(doc.Credits)), Prepaid: doc.Prepaid, Once: doc.Once,
		PrunedBefore: doc.PrunedBefore}
	for i := range doc.Lines {
		in.Lines[i].LedgerLine = doc.Lines[i]
		in.Lines[i].BasisKind = &in.Lines[i].LedgerLine.BasisKind
	}
	for i := range doc.Credits {
		in.Credits[i].CreditState = doc.Credits[i]
		in.Credits[i].Amount = &in.Credits[i].CreditState.Amount
	}
	return in
}

// Prune returns st without the ledger lines dated before before (the
// start of the credit window: the host settles no credit of an older
// line), and without the credit records of their credits. A line an open
// dispute holds is kept until the dispute is resolved, a line payable
// on collection until its customer owes nothing on it, and a line paid on
// settlement that keeps a balance (LedgerLine.Receivable) until its
// customer owes nothing on it either, whether or not a line on collection
// of its invoice is left: a later payment, write-off or netted credit of
// the invoice is spread over every line of it that owes (a line on
// collection billed on it later included), so pruning never changes what
// a later Collect or WriteOff does. (A receivable the customer will never
// be reported to pay stays until written off: Settler.WriteOff of the
// invoice, or of the line, records the loss, the host's, and lets it go.)
// A line dropped owes nothing, is not disputed and lends or holds no
// pending credit: its share of a later payment of its invoice is nothing.
// The ids of the collections applied only to dropped lines are dropped
// with them (Collection.ID). The records of nodes paid once per customer
// (Once) are all kept, whatever the date of the line that paid each: a
// few bytes per customer, and dropping one would let a later line of the
// customer pay the node again. Cumulative volumes
// are kept, since the windows of later lines read them, but for the
// points of a rolling window no line dated from the cut on reads (dated
// twelve months or more before it) and no kept line's credit takes back
// from; its points of pruned lines no longer name them (a credit could no
// longer take back from them), and a line it keeps from a year before the cut
// (disputed, awaiting payment, owed) no longer records what it added to a
// rolling volume of sales it drops, so the state reads back. A calendar year, quarter or month is one
// figure per partner and period and is kept whole.
//
// A credit of a pruned line is then refused with ErrUnknownLine, never
// settled as zero. The state remembers where it was cut (PrunedBefore, the
// latest cut when pruned again): since it no longer knows the ids of the
// lines it dropped, a line dated before the cut, a sale re-sent or a late
// one, is refused with ErrBeforeWindow rather than settled a second time;
// but a credit of a line it kept settles (the line's credit records were
// kept with it), and a line it still holds is ErrAlreadySettled. A cut
// after year 9999 drops every line it may, and is recorded as the last
// instant of 9999, which the State's JSON can write (lines dated later
// are refused anyway: see Line).
func (st State) Prune(before time.Time) State {
	out := State{lines: newStateMap[LineID, *ledger](st.lines.len()), prepaid: st.prepaid, sharedPrepaid: st.prepaid != nil,
		once: st.once, sharedOnce: st.once != nil, volumesOf: st.volumesOf, window: st.window}
	if before = before.UTC(); before.After(out.window) {
		out.window = before
		if before.After(lastInstant) {
			out.window = lastInstant
		}
	}
	pruned := map[LineID]bool{}
	keep := func(id LineID, l *ledger) { out.putLine(id, l) }
	for id, l := range st.lines.all() {
		if l.date.Before(before) && !l.disputed() && !l.awaitsPayment() && !l.owedReceivable() {
			pruned[id] = true
			continue
		}
		keep(id, l)
	}
	for c, credited := range st.credits.all() {
		if !pruned[credited.of] {
			out.ownCredits().put(c, credited)
		}
	}
	// A line dated from the cut on reads a rolling window's points dated
	// after oldest: older points naming no line a credit could take back
	// from are dropped.
	oldest := before.AddDate(-1, 0, 0)
	for k, v := range st.vols.all() {
		if nv := prunePoints(v, pruned, oldest); nv == nil {
			out.ownVols().put(k, v)
		} else if len(nv.points) > 0 {
			out.ownVols().put(k, nv)
		}
	}
	// A line kept from oldest back (disputed, awaiting payment, owed) no
	// longer records what it added to a rolling volume of sales whose
	// points were all dropped as old: nothing reads them, and a state
	// recording it would say the volume went missing (ErrVolumeNotHeld,
	// or ErrCorruptState beside the partner's other volumes).
	dropped := func(v lineVolume) bool { return !v.net && !v.key.window.calendar() && out.vols.get(v.key) == nil }
	for id, l := range out.lines.all() {
		if l.date.After(oldest) || !slices.ContainsFunc(l.vols, dropped) {
			continue
		}
		nl := *l
		if nl.vols = slices.DeleteFunc(slices.Clone(l.vols), dropped); len(nl.vols) == 0 {
			nl.vols = nil
		}
		out.lines.put(id, &nl)
	}
	return out
}

// prunePoints returns rolling volume v without the points of the lines
// pruned names (a credit can no longer take back from them): those dated
// after oldest are kept unnamed, as later lines read them, and those dated
// from oldest back are dropped with every other unnamed point as old, as
// nothing reads them; nil when that changes nothing.
func prunePoints(v *volState, pruned map[LineID]bool, oldest time.Time) *volState {
	drops := func(p volPoint) bool { return (p.line == "" || pruned[p.line]) && !p.date.After(oldest) }
	if !slices.ContainsFunc(v.points, func(p volPoint) bool { return pruned[p.line] || drops(p) }) {
		return nil
	}
	nv := &volState{units: v.units, points: make([]volPoint, 0, len(v.points))}
	for _, p := range v.points {
		switch {
		case drops(p):
			nv.units -= p.units
			continue
		case pruned[p.line]:
			p.line = ""
		}
		nv.points = append(nv.points, p)
	}
	nv.indexPoints()
	return nv
}
