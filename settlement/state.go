package settlement

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// State is the explicit memory of settlement between calls: for every
// settled line, what each party earned and still has unreversed (the
// clawback ledger), whether a dispute holds it; the cumulative volumes
// rates read; and which line paid each node paid once per customer
// (Once, OncePaid). It is a value: every call takes one and returns a new one,
// leaving the one given unchanged; the host persists it (it round-trips
// through JSON). The zero State is empty and ready to use.
//
// A call copies only what it changes. What a state keeps per line (its
// ledgers, credit records and the volumes each line added to), its
// cumulative volumes (one per partner and window), its prepaid
// commitments and its once-per-customer records are shared with the states it came from, in layers never written again (stateMap), so
// settling one line per call from the state the previous call returned
// costs a few microseconds whether it holds a thousand lines or a hundred
// thousand, and a thousand partners' volumes or none
// (BenchmarkSettleOneLineOnState; it cost 0.06 ms and 25 ms when each
// call copied every line, and a realistic plan's call 30 µs more when it
// copied 850 sellers' volumes). A rolling window's volume holds a point
// per line; a call appends its lines' points in place after the state's
// (rollingpoints.go: 13 µs a call at 40,000 to 140,000 points, where
// copying them cost 1.3 to 5.5 ms), and copies them, once, only to insert
// a late line's point, to take a credit back from one or undo a rejected
// line's, when their arrays are full, or when another call from the same
// state appended first (or failed after appending).
type State struct {
	lines   stateMap[LineID, *ledger]
	vols    *stateMap[volKey, *volState]      // nil: none
	credits *stateMap[LineID, creditRec]      // credit line -> what it credited; nil: none
	prepaid *stateMap[string, PrepaidEarning] // prepaid commitment -> how its lines were settled; nil: none
	once    *stateMap[onceKey, LineID]        // node paid once per customer -> the line that paid it (Once); nil: none
	// The lines payable on collection by invoice, and the collections and
	// write-offs applied by id: what a collection reads instead of every
	// line the state holds (collect.go). Derived from the ledgers: kept by
	// the calls that settle and collect lines, and built by whatever makes
	// a state of lines (indexCollection).
	invoices *stateMap[string, *invoiceLine] // invoice -> its last line indexed; nil: none
	applied  *stateMap[string, LineID]       // collection or write-off id -> the first line, in id order, it applied to; nil: none
	// volumesOf says whose cumulative volumes a state split by partner or
	// line holds (shard.go): a sale reading another partner's volume is
	// refused. nil: every partner's (a whole state, or one decoded that
	// holds a volume of every partner whose lines add to one net of
	// credits: see stateReader.netVolumes).
	volumesOf func(partner.ID) bool
	// window is where Prune cut the state (UTC): a line dated before it is
	// refused (ErrBeforeWindow). Zero: never pruned.
	window time.Time
	// The shared flags say that the map they name is that of the state
	// this one was cloned from: a call copies each on its first write to
	// it (ownVols, ownCredits...), so that a call writing none copies
	// none.
	sharedVols, sharedCredits, sharedPrepaid, sharedInvoices, sharedApplied, sharedOnce bool
}

// onceKey names a node paid once per customer (OncePerCustomer) and the
// customer it was paid for.
type onceKey struct {
	plan     string
	node     string // the node's path
	customer string
}

// compareOnce orders once records by plan, node and customer.
func compareOnce(a, b onceKey) int {
	return cmp.Or(cmp.Compare(a.plan, b.plan), cmp.Compare(a.node, b.node), cmp.Compare(a.customer, b.customer))
}

// OncePaid returns the sale line that paid node (its path, as entry ids
// name it: "root/bounty") of plan once for customer (see Once), and
// whether one did.
func (s State) OncePaid(plan PlanID, node, customer string) (LineID, bool) {
	return s.once.lookup(onceKey{plan: string(plan), node: node, customer: customer})
}

type ledger struct {
	line     LineID
	ctx      *lineCtx // shared with the lines of the same plan, offer, route and currency
	date     time.Time
	basis    int64
	credited int64
	facts    factPrint // of the sale's facts the ledger does not keep whole (facts.go)
	trace    []ensemble.Ref
	payees   *[]payee       // who each part pays; shared with lines that paid alike, read-only
	amounts  []int64        // each part's amount; then (2n long) each part's unreversed amount, once reversed or read from JSON
	disputes *disputes      // nil: never disputed
	coll     *collection    // nil: payable on settlement (collect.go)
	rolling  *[]rollingHold // what rolling reserves hold of its parts; nil: none (a pointer: most lines have none)
	// onPay is what the leaves' reserves hold of what each payment (or
	// reversal borne by others) made payable on a line on collection, in
	// the order they were held (LedgerPart.CollectReserves); nil: none.
	// Read-only, shared by the ledger's copies.
	onPay   *[]rollingHold
	sources *[]costSource // its parts owed in another currency than its own; nil: none (costsource.go)
	// funded is what each part funded of the line's discounts
	// (LedgerPart.Funded), which a credit re-splits by (creditSplit);
	// nil: none, or not known (read-only, shared by the ledger's copies).
	funded *[]int64
	// vols is what the line added to each cumulative volume its plan's
	// rates read (LedgerLine.Volumes): a decoded state is checked against
	// it, and credits take back from those net of credits. Read-only,
	// shared by the ledger's copies.
	vols []lineVolume
}

// lineCtx is what a ledger line shares with every line of the same plan
// version, offer, route kind, seller, currency and service period: one
// pointer per line instead of a copy.
type lineCtx struct {
	plan    *ensemble.Ref // the plan version's
	offer   catalog.Pin
	seller  partner.ID
	cur     ensemble.Currency
	route   partner.RouteKind
	basis   Basis           // the plan version's: what a credit of the line reverses
	service ensemble.Period // the line's: its disputes' holds, releases and clawbacks carry it
}

// creditRec is what the state remembers of a settled credit line: the
// line it credited, what it took back (in the credited line's basis) and
// who bore it. A line's credits and lost disputes add up to its credited
// amount, which decoding checks: a credit deleted from a persisted state
// would otherwise re-open its id and let it settle twice.
type creditRec struct {
	of         LineID
	units      int64
	documented int64   // of the line's lost disputes, what it documented (Line.Dispute DisputeDocuments); it took back only what awaited a payment its note left no longer owed (units)
	bearer     *Bearer // nil: proportional
}

// disputes is a disputed line's record: how many disputes were opened on
// it, what the open one holds, and what lost ones took back.
type disputes struct {
	count int32
	open  bool
	// amount is what the open dispute disputes of the line's basis when
	// it disputes part of what the line had unreversed when it opened
	// (Settler.DisputeAmount); 0: all of it, whatever the line has
	// unreversed (Settler.Dispute's).
	amount int64
	held   []int64 // per part, while a dispute is open
	// byReserves is, per part, what reserves held of it when the open
	// dispute opened, which the dispute does not hold again; nil: nothing.
	byReserves []int64
	// atRelease is what the open dispute holds of byReserves from the
	// reserves' release dates on, by part and reserve (its holds dated
	// at the releases); nil: nothing, or a dispute opened before they
	// were recorded (a State of binary version 6 or earlier), which
	// holds nothing of the releases.
	atRelease []reserveHold
	lost      int64 // what lost disputes took back, in all
	// documented is what credits documenting the lost disputes
	// (DisputeDocuments) recorded of lost: lost - documented is what no
	// credit documents yet, which an unstated credit may not take again.
	// Zero in a state written before credits documented disputes (binary
	// version 10 or earlier, JSON without "documented"): all it lost is
	// then undocumented, never guessed documented.
	documented int64
	// undocOwed is, of what the lost disputes took off what the customer
	// owes on a line payable on collection (the share of the total each
	// lost basis stands for), what no documenting credit note has set yet:
	// the note's own total replaces its share (documentDispute). Zero in
	// a state written before it was recorded (binary version 12 or
	// earlier, JSON without "undocumented_owed"): a note then changes
	// nothing of what is owed, as before.
	undocOwed int64
	lastLost  int32 // the number of the last dispute lost; 0: none, or not recorded (a state written before)
}

// carried returns the record of d a resolved line keeps: its count and
// what its lost disputes took back and credits documented.
func (d *disputes) carried() disputes {
	if d == nil {
		return disputes{}
	}
	return disputes{count: d.count, lost: d.lost, documented: d.documented, undocOwed: d.undocOwed, lastLost: d.lastLost}
}

// undocumented returns what the line's lost disputes took back that no
// credit documents yet.
func (l *ledger) undocumented() int64 {
	if l.disputes == nil {
		return 0
	}
	return l.disputes.lost - l.disputes.documented
}

// heldByReserves returns what reserves held of part i when the line's
// open dispute opened.
func (d *disputes) heldByReserves(i int) int64 {
	if d == nil || !d.open || d.byReserves == nil {
		return 0
	}
	return d.byReserves[i]
}

// disputesLost returns what the line's lost disputes took back.
func (l *ledger) disputesLost() int64 {
	if l.disputes == nil {
		return 0
	}
	return l.disputes.lost
}

// disputed reports whether a dispute holds the line.
func (l *ledger) disputed() bool { return l.disputes != nil && l.disputes.open }

// wholeDispute reports whether the line's open dispute disputes all the
// line has unreversed (Settler.Dispute's, or one of an amount that is all
// of it), whose holds and the parts' awaiting amounts make up what each
// part has unreversed.
func (l *ledger) wholeDispute() bool {
	return l.disputed() && l.disputes.amount == 0
}

// disputedUnits returns what the line's open dispute disputes now: all
// the line has unreversed for a whole dispute, else its amount, never more
// than the line has unreversed (a credit pending on the line and left
// unfunded may reverse some of it while the dispute is open).
func (l *ledger) disputedUnits() int64 {
	left := l.basis - l.credited
	if l.wholeDispute() {
		return left
	}
	return min(l.disputes.amount, left)
}

// disputedMoney returns what the line's open dispute of part of it
// disputes (LedgerLine.DisputedAmount); zero when none is open or it
// disputes all the line has unreversed.
func disputedMoney(l *ledger) ensemble.Money {
	if !l.disputed() || l.disputes.amount == 0 {
		return ensemble.Money{}
	}
	return ensemble.MoneyFromMinor(l.disputes.amount, l.ctx.cur)
}

// disputeShares returns each part's share of amount, a dispute of line
// l (at most what it has unreversed): in proportion to what each part
// has unreversed, by largest remainder keyed by the parts' entry ids, as
// a lost dispute's clawbacks of amount split it (allocateReversal), so a
// dispute lost in full claws back exactly the shares its holds were of.
// A dispute of all the line has unreversed shares it as the parts have it.
func disputeShares(l *ledger, amount int64) ([]int64, error) {
	n := l.parts()
	shares := make([]ensemble.Share, n)
	unreversed := make([]int64, n)
	for i := range n {
		shares[i].Key = string(l.entryID(i))
		unreversed[i] = l.unreversed(i)
	}
	out := make([]int64, n)
	if err := allocateReversal(out, amount, unreversed, shares, nil, true); err != nil {
		return nil, err
	}
	return out, nil
}

// disputedOwed returns, of a line with a balance (lg.coll) its open
// dispute of an amount holds, the share of the line's total the disputed
// amount stands for (total × disputed / basis, half up: what losing it
// takes off what the customer owes) and what the customer owes beyond it,
// the undisputed amount unpaid, which a payment may take while the dispute
// is open (never below zero).
func (l *ledger) disputedOwed() (disputed, undisputed int64) {
	disputed = totalShare(l.disputedUnits(), l.basis, l.coll.total)
	return disputed, max(0, l.coll.owed()-disputed)
}

// disputeCount returns how many disputes were opened on the line.
func (l *ledger) disputeCount() int32 {
	if l.disputes == nil {
		return 0
	}
	return l.disputes.count
}

// A line's parts are its earnings and supplier costs. What a part pays
// (party and plan node) is kept apart from its amounts: the payees are
// shared by every line whose walk paid the same parties through the same
// nodes, and the amounts are plain integers, so a ledger line holds few
// pointers (the ledger is most of a state's memory). Entry ids are derived
// (entryID), not stored.

// payee is whom one part of a line pays, and through which plan node.
type payee struct {
	party partner.ID
	meta  *partMeta // shared by every part a plan leaf makes
}

// parts returns the number of the line's parts.
func (l *ledger) parts() int {
	if l.payees == nil {
		return 0
	}
	return len(*l.payees)
}

// payee returns whom part i pays.
func (l *ledger) payee(i int) *payee { return &(*l.payees)[i] }

// units returns part i's amount.
func (l *ledger) units(i int) int64 { return l.amounts[i] }

// unreversed returns what part i still carries: its amount until a
// reversal gives the parts their own unreversed amounts.
func (l *ledger) unreversed(i int) int64 {
	if n := l.parts(); len(l.amounts) > n {
		return l.amounts[n+i]
	}
	return l.amounts[i]
}

// fundedSum returns what the line's parts funded of its discounts.
func (l *ledger) fundedSum() int64 {
	if l.funded == nil {
		return 0
	}
	var sum int64
	for _, f := range *l.funded {
		sum += f
	}
	return sum
}

// withUnreversed returns a copy of the line's amounts that holds each
// part's unreversed amount apart, for a reversal to change.
func (l *ledger) withUnreversed() []int64 {
	n := l.parts()
	out := make([]int64, 2*n)
	for i := range n {
		out[i], out[n+i] = l.units(i), l.unreversed(i)
	}
	return out
}

// partMeta is what a ledger part shares with the other parts of its plan
// node: the entry kind, the role and the node path, and whether entry ids
// name the party (leaves that pay several parties).
type partMeta struct {
	role  string
	node  string
	kind  EntryKind
	multi bool
	// window is the part's clawback window (Node.Clawback,
	// LedgerPart.Clawback); nil: none. Read-only.
	window *Clawback
}

// entryID returns the id of the entry part i of the line recorded:
// "line:node/path", with "/party" for leaves that pay several parties.
func (l *ledger) entryID(i int) EntryID {
	return EntryID(partID(string(l.line), l.payee(i)))
}

// partID returns the id of the entry for pe of the line (or credit)
// prefix.
func partID(prefix string, pe *payee) string {
	if pe.meta.multi {
		return prefix + ":" + pe.meta.node + "/" + string(pe.party)
	}
	return prefix + ":" + pe.meta.node
}

type volKey struct {
	partner partner.ID
	cur     string
	window  Window
	year    int // the calendar period's year (Window.period); 0 for the rolling window
	month   int // the first month of a quarter's or month's period; 0 for a year
}

// compareVolKeys orders volume keys by partner, currency, window and
// period (year, then month).
func compareVolKeys(a, b volKey) int {
	if c := strings.Compare(string(a.partner), string(b.partner)); c != 0 {
		return c
	}
	if c := strings.Compare(a.cur, b.cur); c != 0 {
		return c
	}
	if a.window != b.window {
		return int(a.window) - int(b.window)
	}
	if a.year != b.year {
		return a.year - b.year
	}
	return a.month - b.month
}

type volState struct {
	units  int64
	points []volPoint // a rolling window's, in the order lines added them
	byDate pointIndex // points by date, with running sums: what a line reads costs O(log points)
	call   *callMark  // the call that copied it, which alone may change it (run.own); nil: none
	// A call's copy of a rolling volume borrows the points and index of
	// the state's and appends to them in place (rollingpoints.go).
	tail     *tailClaim // how far the volumes sharing the arrays reach; nil: none may append in place
	borrowed bool       // the arrays are the state's the call copied v from
	// retro is what the retroactive cumulative shares reading the volume
	// paid in its window (a calendar period), one per plan and node, in
	// plan then node order. A call replaces the slice the first time it
	// changes it (retroMine), and may then change it in place.
	retro     []retroPaid
	retroMine bool // retro is a slice of the call's own: no state, no undo log shares it
}

// retroPaid is what a retroactive cumulative share (Retroactive) paid on
// the lines of one window: the tier they are all paid at (0-based), the
// sum of what its rate applied to on them, in the volume's currency,
// which the next crossing's true-up re-rates, and the rate they were paid
// on it (rated; a record read from a state of binary version 18 or
// before, or JSON without it, has none: its tier's rate in the plan
// version settling the line is read instead).
type retroPaid struct {
	plan, node string // the plan's id and the node's path
	tier       int
	base       int64
	rate       ensemble.Ratio
	rated      bool
}

// retroAt returns the index of the record of plan's node in v's, or -1.
func (v *volState) retroAt(plan, node string) int {
	if v == nil {
		return -1
	}
	for i := range v.retro {
		if v.retro[i].plan == plan && v.retro[i].node == node {
			return i
		}
	}
	return -1
}

// setRetro records r in v, replacing the record of its plan's node: in
// place when the call made v's slice, else in a new slice, since v's may
// be shared with the state the call copied it from or its undo log.
func (v *volState) setRetro(r retroPaid) {
	if v.retroMine {
		if i := v.retroAt(r.plan, r.node); i >= 0 {
			v.retro[i] = r
			return
		}
	}
	v.retroMine = true
	out := make([]retroPaid, 0, len(v.retro)+1)
	done := false
	for _, x := range v.retro {
		switch c := cmp.Or(strings.Compare(x.plan, r.plan), strings.Compare(x.node, r.node)); {
		case c == 0:
			x, done = r, true
		case c > 0 && !done:
			out, done = append(out, r), true
		}
		out = append(out, x)
	}
	if !done {
		out = append(out, r)
	}
	v.retro = out
}

// callMark identifies a call (run.mark): the volumes it copied carry it.
type callMark struct{ _ byte }

type volPoint struct {
	date  time.Time
	units int64  // what the line added, less what its credits took back
	line  LineID // the line, when its credits take back from the volume
}

// Len returns the number of settled lines the state holds.
func (s State) Len() int { return s.lines.len() }

// Has reports whether line id has been settled, as a sale or a credit.
func (s State) Has(id LineID) bool {
	ok := s.lines.get(id) != nil
	credit := s.credits.has(id)
	return ok || credit
}

// clone returns the state a call starts from and writes: its lines on
// top of s's (stateMap.clone: O(a few)), with room for extra more lines;
// s's cumulative volumes, credit records and prepaid commitments, shared
// until the call first writes one of them (ownVols, ownCredits,
// ownPrepaid: then on top of s's, likewise). What
// the maps point to is never changed within what s holds (a call writes a
// rolling volume's arrays only past s's points: rollingpoints.go), so this
// copies the state.
func (s State) clone(extra int) State {
	c := s
	c.lines = s.lines.clone(extra)
	c.sharedVols, c.sharedCredits = s.vols != nil, s.credits != nil
	c.sharedPrepaid, c.sharedInvoices, c.sharedApplied = s.prepaid != nil, s.invoices != nil, s.applied != nil
	c.sharedOnce = s.once != nil
	return c
}

// ownVols returns the state's cumulative volumes for writing.
func (s *State) ownVols() *stateMap[volKey, *volState] { return ownShared(&s.vols, &s.sharedVols) }

// ownPrepaid returns the state's prepaid commitments for writing.
func (s *State) ownPrepaid() *stateMap[string, PrepaidEarning] {
	return ownShared(&s.prepaid, &s.sharedPrepaid)
}

// ownOnce returns the state's once-per-customer records for writing.
func (s *State) ownOnce() *stateMap[onceKey, LineID] { return ownShared(&s.once, &s.sharedOnce) }

// ownCredits returns the state's credit records for writing.
func (s *State) ownCredits() *stateMap[LineID, creditRec] {
	return ownShared(&s.credits, &s.sharedCredits)
}

// ownInvoices and ownApplied return the state's collection indexes for
// writing.
func (s *State) ownInvoices() *stateMap[string, *invoiceLine] {
	return ownShared(&s.invoices, &s.sharedInvoices)
}

func (s *State) ownApplied() *stateMap[string, LineID] {
	return ownShared(&s.applied, &s.sharedApplied)
}

// ownShared returns *m for writing: a clone of it on top of the map it
// shared with the state it came from (*shared: then no longer), or a new
// map when nil.
func ownShared[K comparable, V any](m **stateMap[K, V], shared *bool) *stateMap[K, V] {
	if *shared {
		*m, *shared = (*m).cloned(), false
	}
	return own(m)
}

// seal readies the state a call is about to return, so that the calls
// starting from it copy little (stateMap.seal). What the call shares with
// the state it came from is that state's, sealed already.
func (s *State) seal() {
	s.lines.seal()
	sealOwn(s.vols, s.sharedVols)
	sealOwn(s.credits, s.sharedCredits)
	sealOwn(s.prepaid, s.sharedPrepaid)
	sealOwn(s.once, s.sharedOnce)
	sealOwn(s.invoices, s.sharedInvoices)
	sealOwn(s.applied, s.sharedApplied)
}

// sealOwn seals m unless it is shared with the state the call came from.
func sealOwn[K comparable, V any](m *stateMap[K, V], shared bool) {
	if !shared {
		m.seal()
	}
}

// LedgerLine is the JSON form of one settled line in a State.
type LedgerLine struct {
	Line LineID       `json:"line"`
	Plan ensemble.Ref `json:"plan"`
	// BasisKind is the amount of the line the plan version split (net or
	// gross of tax): a credit of the line reverses the same amount of the
	// credit line. Always written; a state without it is refused.
	BasisKind Basis          `json:"basis_kind"`
	Date      time.Time      `json:"date"`
	Basis     ensemble.Money `json:"basis"`
	Credited  ensemble.Money `json:"credited"`
	Disputed  bool           `json:"disputed,omitempty"`
	Disputes  int            `json:"disputes,omitempty"`
	// DisputedAmount is, while a dispute of part of what the line had
	// unreversed is open (Settler.DisputeAmount), what it disputes of the
	// line's basis: positive, less than what the line had unreversed when
	// it opened. Omitted when no dispute is open or it disputes all the
	// line has unreversed (Settler.Dispute's, or DisputeAmount's of all of
	// it), as in a state written before disputes of an amount (binary
	// version 14 or earlier).
	DisputedAmount ensemble.Money    `json:"disputed_amount,omitzero"`
	Offer          catalog.Pin       `json:"offer"`
	Route          partner.RouteKind `json:"route"`
	Seller         partner.ID        `json:"seller,omitempty"`
	Trace          []ensemble.Ref    `json:"trace,omitempty"`
	Parts          []LedgerPart      `json:"parts"`
	// Lost is what the line's lost disputes took back, in all: with the
	// amounts of the credits of the line (CreditState.Amount), the line's
	// Credited amount. Omitted when zero.
	Lost ensemble.Money `json:"lost,omitzero"`
	// Documented is what credits documenting the line's lost disputes
	// (Line.Dispute DisputeDocuments) recorded of Lost, the amounts of
	// those credits (CreditState.Documented); at most Lost. Lost less
	// Documented is what no credit documents yet: a credit of the line
	// that does not say whether it documents it is refused
	// (ErrUndocumentedDispute). Omitted when zero; a state written before
	// credits documented disputes has none, so all its lines lost is
	// undocumented.
	Documented ensemble.Money `json:"documented,omitzero"`
	// UndocumentedOwed is, on a line payable on collection, what the
	// line's lost disputes took off what the customer owes (tax included:
	// the share of the total each lost basis stands for) that no
	// documenting credit note has replaced yet with its own total; at
	// most the collection's Credited. Omitted when zero; a state written
	// before it was recorded has none, and its notes then leave what is
	// owed as the disputes set it.
	UndocumentedOwed ensemble.Money `json:"undocumented_owed,omitzero"`
	// LostDispute is the number of the line's last lost dispute (its
	// clawbacks' Line is "<line>#dispute.<n>"), which ErrUndocumentedDispute
	// names; 0 when none was lost, or in a state written before it was
	// recorded.
	LostDispute int `json:"lost_dispute,omitempty"`
	// Service is the line's service period (Line.Service), which the
	// holds, releases and clawbacks of its disputes carry; omitted when
	// the line had none.
	Service ensemble.Period `json:"service,omitzero"`
	// Facts is a fingerprint (16 hexadecimal digits) of what the sale said
	// besides the fields above and its amount: its route's parties, its
	// customer, charge, quantity, tax, supplier costs, prepaid terms and
	// invoice. A sale sent again under its id is compared with it: with
	// other facts it is ErrLineConflict, not ErrAlreadySettled alone.
	// Omitted in a state written before fingerprints were kept, whose
	// lines are compared by the fields above alone.
	Facts string `json:"facts,omitempty"`
	// Volumes are the cumulative volumes the line added to, each with
	// what it added, the rate its basis converted at when in another
	// currency than its own, and whether its credits take back from it:
	// a state read back is checked against them (see LineVolume).
	Volumes []LineVolume `json:"volumes,omitempty"`
	// Collection is what the customer owes and paid on a line payable on
	// collection (PayableOnCollection); nil on one payable on settlement.
	Collection *LedgerCollection `json:"collection,omitempty"`
	// Receivable is what the customer owes and paid on a line payable on
	// settlement as a line of its invoice (Line.Invoice), which a settler
	// with a plan payable on collection keeps: payments, write-offs and
	// credits of the invoice are spread over it with the invoice's lines
	// on collection (see Settler.Collect). Its parts were paid on
	// settlement: nothing awaits, and a write-off claws nothing back, so
	// it has no WriteOffClawback, and it lends no pending credit (LentTo):
	// its credits netted on another invoice are set off there when the
	// customer had not paid it in full. Nil on a line on collection, one
	// with no invoice, and one settled by a settler none of whose plans
	// pays on collection (or before this record was kept).
	Receivable *LedgerCollection `json:"receivable,omitempty"`
	// FundedDiscounts is what the nodes of a plan funding discounts
	// (PlanDocument.DiscountFunding) funded of the line's: what the root
	// split beyond the basis, which the parts' Funded amounts add up to.
	// Omitted when zero: no node funded any, or the state does not know
	// what each part funded (see LedgerPart.Funded), and credits of the
	// line reverse each part in proportion to what it has unreversed.
	FundedDiscounts ensemble.Money `json:"funded_discounts,omitzero"`
}

// LedgerPart is what one entry of a line still carries: its amount, what
// is left unreversed, and what a dispute holds.
type LedgerPart struct {
	Entry  EntryID        `json:"entry"`
	Party  partner.ID     `json:"party"`
	Role   string         `json:"role,omitempty"`
	Node   string         `json:"node,omitempty"`
	Kind   EntryKind      `json:"kind"`
	Amount ensemble.Money `json:"amount"`
	// Unreversed is what the part still carries: its amount less what
	// credits, lost disputes and write-offs took back. Below zero for a
	// part whose bearer gave back a credit beyond it (Bearer.Shortfall
	// ShortfallBearerOwes): what it owes on the line, which a credit of all
	// the line has left gives back; or for a part of the bearer of a
	// clawback window that gave back, after the window, the share of parts
	// that keep theirs (Clawback).
	Unreversed ensemble.Money `json:"unreversed"`
	Held       ensemble.Money `json:"held,omitzero"`
	// HeldByReserves is, while a dispute is open, what reserves held of
	// the part when it opened (a leaf's reserve and the party's rolling
	// reserve, until their release dates; on a line payable on
	// collection, the leaf's reserves of its payments, CollectReserves),
	// which the dispute does not hold again: Held + HeldByReserves is Unreversed less Awaiting (see
	// Settler.Dispute). Omitted when zero.
	HeldByReserves ensemble.Money `json:"held_by_reserves,omitzero"`
	// HeldAtRelease is, while a dispute is open, what it holds of
	// HeldByReserves from each reserve's release date on, which a hold
	// dated at the release withholds again until the dispute is resolved
	// (see Settler.Dispute): together HeldByReserves, the rolling
	// reserve's first. Omitted when empty, as for a dispute opened by a
	// version that did not hold the releases (a State of binary version 6
	// or earlier), whose releases are paid as scheduled.
	HeldAtRelease []ReleaseHold `json:"held_at_release,omitempty"`
	// Awaiting is what of the unreversed amount awaits the customer's
	// payment, on a line payable on collection.
	Awaiting ensemble.Money `json:"awaiting,omitzero"`
	// Reserve is what the party's rolling reserve (PlanDocument.Reserves)
	// still holds of the part: what it held back less what reversals drew
	// on it; zero once drawn or, for reversals on or after ReserveUntil,
	// released. At most Unreversed.
	Reserve ensemble.Money `json:"reserve,omitzero"`
	// ReserveUntil is when the rolling reserve is released; zero when the
	// part has none.
	ReserveUntil time.Time `json:"reserve_until,omitzero"`
	// Source is, for a supplier cost owed in another currency than the
	// line's (catalog.SupplierCost.Source), what the part owes in that
	// currency in all, which its entries pay; Rate is the rate it was
	// converted at (one unit of Source's currency in the line's). Both
	// zero for a part in the line's currency. The part's other amounts
	// are in the line's currency; a change of x of them is, in Source's
	// currency, Source × (level/Amount) less Source × ((level − x)/Amount),
	// each rounded half up (see Conversion).
	Source ensemble.Money `json:"source,omitzero"`
	Rate   ensemble.Ratio `json:"rate,omitzero"`
	// Funded is what the part bore of the line's discounts that its node,
	// or a node above it, funds (PlanDocument.DiscountFunding): the part
	// was paid that much less than its share of the line as if not
	// discounted, so a credit re-splits the list price it credits by
	// Amount + Funded and gives the discounts it credits back to the
	// parts that funded them (see Line.Discounts). Zero or more, on
	// earnings only, adding up to the line's FundedDiscounts. A
	// funding node's discounts are spread over the parts it made in
	// proportion to their amounts (largest remainder by entry id). Omitted
	// when zero, and on every part of a line settled before it was kept
	// (a State of binary version 9 or earlier) or whose split kept no
	// record (a funding node whose discounts took its whole part, or one
	// below another funding node): its credits reverse each part in
	// proportion to what it has unreversed.
	Funded ensemble.Money `json:"funded,omitzero"`
	// CollectReserves is, on a line payable on collection, what the
	// part's leaf's reserve (Node.Reserve) held of each amount a payment,
	// or a reversal borne by other parts, made payable (its KindReserve
	// entries), and when each is released, in the order they were held:
	// what a dispute of the line does not hold again (see Settler.Dispute).
	// Never drawn on (a credit takes back from what was made payable, not
	// from the reserve), so it keeps those released too. Omitted when
	// empty, as in a State written before it was kept (binary version 13
	// or earlier): a dispute of such a line holds all that was made
	// payable, the reserves' share included.
	CollectReserves []ReleaseHold `json:"collect_reserves,omitempty"`
	// Clawback is the clawback window of the part's plan node
	// (Node.Clawback), which reversals of the line decide by whether or
	// not the settler holds the plan version: a reversal in proportion
	// dated more than WithinDays after the line leaves the part what it
	// has, and BorneBy (the platform by default) gives back its share.
	// Omitted when the part has none, and on every part of a line
	// settled before windows were kept (a State of binary version 15 or
	// earlier). A part BorneBy bears may have a negative Unreversed: what
	// it gave back beyond its part for the kept parts.
	Clawback *Clawback `json:"clawback,omitempty"`
}

// ReleaseHold is what an open dispute holds of a ledger part from the
// date a reserve releases it on (LedgerPart.HeldAtRelease), or what a
// leaf's reserve holds of a payment on collection until its release
// (LedgerPart.CollectReserves, never Rolling).
type ReleaseHold struct {
	// Amount is what the hold withholds: positive, in the line's
	// currency.
	Amount ensemble.Money `json:"amount"`
	// Date is the reserve's release date, the hold's.
	Date time.Time `json:"date"`
	// Rolling says the reserve is the party's rolling reserve
	// (PartyReserve; Date is then the part's ReserveUntil); else it is
	// the part's leaf's reserve (Node.Reserve).
	Rolling bool `json:"rolling,omitempty"`
}

// VolumeState is the JSON form of one cumulative volume: a partner's
// basis in a currency and window (Year for calendar windows, with Month
// for a quarter or month; Points, one per line, for rolling windows).
type VolumeState struct {
	Partner  partner.ID        `json:"partner"`
	Currency ensemble.Currency `json:"currency"`
	Window   Window            `json:"window"`
	Year     int               `json:"year,omitempty"`
	// Month is the first month (1 to 12) of a calendar_quarter's period
	// (1, 4, 7 or 10) or a calendar_month's; absent for other windows.
	Month  int            `json:"month,omitempty"`
	Amount ensemble.Money `json:"amount"`
	Points []VolumePoint  `json:"points,omitempty"`
	// Retroactive is what each retroactive cumulative share reading the
	// volume (RateMode Retroactive) paid on the window's lines, one per
	// plan and node, in plan then node order (binary version 17; absent
	// before).
	Retroactive []RetroactivePaid `json:"retroactive,omitempty"`
}

// RetroactivePaid is what a retroactive cumulative share paid on the lines
// of a calendar window: every one of them at Tier (1-based: the window's
// true-ups re-rated the lines settled before each crossing to it), on
// Base, the sum of what the node's rate applied to on them, in the
// volume's currency, at Rate. The next line that takes the volume into a
// higher tier pays the true-up (new rate − Rate) × Base, which no later
// line pays again.
//
// Rate is the rate the lines were paid, whatever version of the plan
// settled them: Tier's rate while one version settles the window; after a
// version change with other rates, the rate each line was paid weighted
// by what it applied to (v1 paid 20% on EUR 800000.00, v2 25% on EUR
// 200000.00: 21%), so a v2 crossing pays v2's rate less what was paid, not
// less v2's rate of the tier. It is absent (nil) from records written
// before binary version 19: their true-up reads Tier's rate in the plan
// version settling the crossing line, as it did.
type RetroactivePaid struct {
	Plan string          `json:"plan"`
	Node string          `json:"node"`
	Tier int             `json:"tier"`
	Base ensemble.Money  `json:"base"`
	Rate *ensemble.Ratio `json:"rate,omitempty"`
}

// VolumePoint is one line's contribution to a rolling volume.
type VolumePoint struct {
	Date   time.Time      `json:"date"`
	Amount ensemble.Money `json:"amount"`
	// Line is the line the point is of, when its credits take back from
	// the volume (Cumulative.Volume net_of_credits): Amount is then what
	// it added less what they took back.
	Line LineID `json:"line,omitempty"`
}

type stateJSON struct {
	Lines   []LedgerLine   `json:"lines"`
	Volumes []VolumeState  `json:"volumes"`
	Credits []CreditState  `json:"credits,omitempty"`
	Prepaid []PrepaidState `json:"prepaid,omitempty"`
	Once    []OnceState    `json:"once,omitempty"`
	// PrunedBefore is State.PrunedBefore.
	PrunedBefore time.Time `json:"pruned_before,omitzero"`
}

// PrepaidState is the JSON form of how the lines of a prepaid commitment
// were settled, kept so that a later line never settles it the other way
// (see PrepaidEarning).
type PrepaidState struct {
	Commitment string         `json:"commitment"`
	Earning    PrepaidEarning `json:"earning"`
}

// OnceState is the JSON form of a node paid once per customer (Once):
// the plan, the node's path, the customer and the sale line that paid it,
// kept so that no later line of the customer pays it again.
type OnceState struct {
	Plan     PlanID `json:"plan"`
	Node     string `json:"node"`
	Customer string `json:"customer"`
	Line     LineID `json:"line"`
}

// stateIn is what UnmarshalJSON reads: stateJSON, telling a line without
// a basis kind from one on the net basis.
type stateIn struct {
	Lines        []ledgerLineIn  `json:"lines"`
	Volumes      []VolumeState   `json:"volumes"`
	Credits      []creditStateIn `json:"credits,omitempty"`
	Prepaid      []PrepaidState  `json:"prepaid,omitempty"`
	Once         []OnceState     `json:"once,omitempty"`
	PrunedBefore time.Time       `json:"pruned_before,omitzero"`
}

// creditStateIn tells a credit without an amount (a state written before
// credits recorded theirs) from a credit of zero.
type creditStateIn struct {
	CreditState
	Amount *ensemble.Money `json:"amount"` // shadows CreditState's
}

type ledgerLineIn struct {
	LedgerLine
	BasisKind *Basis `json:"basis_kind"` // shadows LedgerLine's
}

// CreditState is the JSON form of a settled credit line: its id, the line
// it credited, what it took back and who bore it, kept so that a credit is
// never settled twice. The amounts of a line's credits and what its lost
// disputes took back (LedgerLine.Lost) add up to the line's Credited
// amount: a state missing a credit, or holding one more, is refused.
type CreditState struct {
	Line    LineID `json:"line"`
	Credits LineID `json:"credits"`
	// Amount is what the credit took back from the credited line, in its
	// currency and of its basis (zero or more). Always written.
	Amount ensemble.Money `json:"amount"`
	// Bearer is who bore the credit (Line.Bearer); omitted when
	// proportional.
	Bearer Bearer `json:"bearer,omitzero"`
	// Documented is, of a credit documenting the credited line's lost
	// disputes (Line.Dispute DisputeDocuments), what it documented: its
	// amount, which the disputes took back. Its Amount is then zero, or,
	// when its note left the customer owing nothing on a line payable on
	// collection, what it took back of what still awaited that payment.
	// Omitted when zero.
	Documented ensemble.Money `json:"documented,omitzero"`
}

// Line returns the ledger of a settled line.
func (s State) Line(id LineID) (LedgerLine, bool) {
	l := s.lines.get(id)
	if l == nil {
		return LedgerLine{}, false
	}
	return l.export(), true
}

// export returns the JSON form of the line.
func (l *ledger) export() LedgerLine {
	c := l.ctx
	out := LedgerLine{Line: l.line, Plan: *c.plan, BasisKind: c.basis, Date: l.date, Service: c.service, Basis: ensemble.MoneyFromMinor(l.basis, c.cur),
		Credited: ensemble.MoneyFromMinor(l.credited, c.cur), Disputed: l.disputed(), Disputes: int(l.disputeCount()), Lost: lostMoney(l),
		Documented: documentedMoney(l), UndocumentedOwed: undocOwedMoney(l), LostDispute: int(lastLost(l)),
		DisputedAmount: disputedMoney(l), Offer: c.offer, Route: c.route, Seller: c.seller, Facts: l.facts.String(), Trace: slices.Clone(l.trace), Parts: make([]LedgerPart, l.parts())}
	for i := range out.Parts {
		pe := l.payee(i)
		out.Parts[i] = LedgerPart{Entry: l.entryID(i), Party: pe.party, Role: pe.meta.role, Node: pe.meta.node, Kind: pe.meta.kind,
			Amount: ensemble.MoneyFromMinor(l.units(i), c.cur), Unreversed: ensemble.MoneyFromMinor(l.unreversed(i), c.cur)}
		if l.disputed() && l.disputes.held[i] != 0 {
			out.Parts[i].Held = ensemble.MoneyFromMinor(l.disputes.held[i], c.cur)
		}
		if x := l.disputes.heldByReserves(i); x != 0 {
			out.Parts[i].HeldByReserves = ensemble.MoneyFromMinor(x, c.cur)
		}
		if a := l.awaitingAt(i); a != 0 {
			out.Parts[i].Awaiting = ensemble.MoneyFromMinor(a, c.cur)
		}
		if s := l.source(i); s != nil {
			out.Parts[i].Source, out.Parts[i].Rate = ensemble.MoneyFromMinor(s.units, s.cur), s.rate
		}
		if l.funded != nil && (*l.funded)[i] != 0 {
			out.Parts[i].Funded = ensemble.MoneyFromMinor((*l.funded)[i], c.cur)
		}
		if w := pe.meta.window; w != nil {
			cw := *w
			out.Parts[i].Clawback = &cw
		}
	}
	if f := l.fundedSum(); f != 0 {
		out.FundedDiscounts = ensemble.MoneyFromMinor(f, c.cur)
	}
	for _, h := range l.collectReserves() {
		p := &out.Parts[h.part]
		p.CollectReserves = append(p.CollectReserves, ReleaseHold{Amount: ensemble.MoneyFromMinor(h.units, c.cur), Date: h.until})
	}
	if l.disputed() {
		for _, h := range l.disputes.atRelease {
			p := &out.Parts[h.part]
			p.HeldAtRelease = append(p.HeldAtRelease, ReleaseHold{Amount: ensemble.MoneyFromMinor(h.units, c.cur), Date: h.until, Rolling: h.rolling})
		}
	}
	switch {
	case l.coll == nil:
	case l.coll.onSettlement:
		out.Receivable = l.coll.export(c.cur)
	default:
		out.Collection = l.coll.export(c.cur)
	}
	for _, h := range l.holds() {
		p := &out.Parts[h.part]
		p.ReserveUntil = h.until
		if h.units != 0 {
			p.Reserve = ensemble.MoneyFromMinor(h.units, c.cur)
		}
	}
	for _, v := range l.vols {
		out.Volumes = append(out.Volumes, v.export())
	}
	return out
}

// Volume returns a partner's cumulative volume in cur and window as a
// cumulative rate would read it before a line dated at.
func (s State) Volume(p partner.ID, cur ensemble.Currency, w Window, at time.Time) ensemble.Money {
	return ensemble.MoneyFromMinor(s.volumeBefore(p, cur.Key(), w, at), cur)
}

func (s State) volumeBefore(p partner.ID, cur string, w Window, at time.Time) int64 {
	k := volKey{partner: p, cur: cur, window: w}
	k.year, k.month = w.period(at)
	units, _ := s.volumeAt(k, at)
	return units
}

// volumeAt returns volume k as a rate reads it before a line dated at (a
// calendar period's, k being at's period, whole; a rolling window's
// points in the twelve months up to at, and those dated after at that
// read a volume without it: see WindowRolling12Months), and the volume
// held (nil: none).
func (s State) volumeAt(k volKey, at time.Time) (int64, *volState) {
	v := s.vols.get(k)
	if v == nil {
		return 0, nil
	}
	if k.window.calendar() {
		return v.units, v
	}
	return v.byDate.sum(v.points, at.AddDate(-1, 0, 0), at) + v.byDate.later(v.points, at), v
}

// MarshalJSON writes the state with lines sorted by id and volumes by
// partner, currency, window and year.
func (s State) MarshalJSON() ([]byte, error) {
	out, err := s.exportJSON()
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// exportJSON returns the JSON form of the state, in MarshalJSON's order.
func (s State) exportJSON() (stateJSON, error) {
	out := stateJSON{Lines: make([]LedgerLine, 0, s.lines.len()), Volumes: make([]VolumeState, 0, s.vols.len()), PrunedBefore: s.window}
	for _, id := range s.lines.sorted(cmp.Compare) {
		out.Lines = append(out.Lines, s.lines.get(id).export())
	}
	for _, k := range s.vols.sorted(compareVolKeys) {
		v := s.vols.get(k)
		cur, err := ensemble.ParseCurrency(k.cur)
		if err != nil {
			return stateJSON{}, err
		}
		vs := VolumeState{Partner: k.partner, Currency: cur, Window: k.window, Year: k.year, Month: k.month,
			Amount: ensemble.MoneyFromMinor(v.units, cur)}
		for _, pt := range v.points {
			vs.Points = append(vs.Points, VolumePoint{Date: pt.date, Amount: ensemble.MoneyFromMinor(pt.units, cur), Line: pt.line})
		}
		for _, x := range v.retro {
			rp := RetroactivePaid{Plan: x.plan, Node: x.node, Tier: x.tier + 1, Base: ensemble.MoneyFromMinor(x.base, cur)}
			if x.rated {
				rate := x.rate
				rp.Rate = &rate
			}
			vs.Retroactive = append(vs.Retroactive, rp)
		}
		out.Volumes = append(out.Volumes, vs)
	}
	for _, c := range s.prepaid.sorted(cmp.Compare) {
		out.Prepaid = append(out.Prepaid, PrepaidState{Commitment: c, Earning: s.prepaid.get(c)})
	}
	for _, k := range s.once.sorted(compareOnce) {
		out.Once = append(out.Once, OnceState{Plan: PlanID(k.plan), Node: k.node, Customer: k.customer, Line: s.once.get(k)})
	}
	for _, id := range s.credits.sorted(cmp.Compare) {
		c := s.credits.get(id)
		cs := CreditState{Line: id, Credits: c.of}
		if lg := s.lines.get(c.of); lg != nil {
			cs.Amount = ensemble.MoneyFromMinor(c.units, lg.ctx.cur)
			if c.documented != 0 {
				cs.Documented = ensemble.MoneyFromMinor(c.documented, lg.ctx.cur)
			}
		}
		if c.bearer != nil {
			cs.Bearer = *c.bearer
		}
		out.Credits = append(out.Credits, cs)
	}
	return out, nil
}

// UnmarshalJSON reads a state MarshalJSON wrote. Every error matches
// ErrCorruptState. Text that does not decode strictly (ensemble.CheckJSON,
// then unknown fields and values that do not read) is an
// *ensemble.DecodeError. A state that decodes
// but breaks an invariant of the ledger is refused with an
// *ensemble.ValidationError listing every broken invariant, each a
// *StateError naming the line and part (with the field's path, such as
// lines[3].parts[1].unreversed):
//
//   - a line has a valid id (ensemble.CheckID, without ':' or '#'), held
//     once, a date, a plan version, an offer and a route kind; its seller,
//     if any, is a valid partner id, and its service period, if any, a
//     valid period; its facts, if any, are 16 lower-case hexadecimal
//     digits, not all zero;
//   - a line has a basis kind (basis_kind, "net" or "gross": what a credit
//     of it reverses). A state written before lines recorded one is
//     refused (ErrNoBasisKind) rather than read as net: a credit of a
//     gross line would then reverse the net alone and leave the tax's
//     share with the parties. Add each line's basis kind, the basis of
//     the plan version the line names, to read it;
//   - every amount of a line is in its basis's currency (a zero without
//     currency fits) and whole minor units of it; the basis is not
//     negative and credited is within [0, basis]; but a supplier cost's
//     source (source, rate: owed in another currency) is a positive whole
//     amount of another currency, with a positive rate under which it is
//     the part's amount within a minor unit of each currency;
//   - a part is an earning or a supplier cost, with a party, a node and a
//     role the settler writes (supplier costs: "supplier", under node
//     supplier_costs/; earnings: platform, seller, top, chain[N],
//     chain[*], a partner type, referrer, marketplace, co_sellers or
//     partner:ID, which pays ID); roles that read the route's chain are
//     only on lines with a seller;
//   - a part's entry id is "line:node", with "/party" for chain[*] (and
//     for co_sellers, which may also name a partner type), holds no '#'
//     (the suffix of the ids of its holds, releases and reserves), and no
//     two parts of a line share one; an earning's node is not under
//     supplier_costs, the root of supplier costs' nodes, and no line or
//     credit is named "adjustment" or "payout" (see EntryID);
//   - a part's amount is not negative and its unreversed amount is within
//     [0, amount], or below zero (by at most amount less the basis) for a
//     part a credit of the line whose bearer owed beyond its part
//     (Bearer.Shortfall ShortfallBearerOwes, CreditState.Bearer) bears,
//     or that the bearer of another part's clawback window
//     (LedgerPart.Clawback) bears, on a line with no collection and a
//     part with no source; a part's clawback window is 1 to
//     MaxClawbackDays days with a valid bearer, on an earning; an open
//     dispute holds nothing of such a part; the amounts add up to the basis, and the unreversed
//     amounts to the basis less what was credited (what credits and lost
//     disputes took back);
//   - a line's volumes (the cumulative volumes it added to in another
//     currency, or net of credits) name a valid partner id and a window,
//     the calendar period of the line's date (a year; a quarter's or
//     month's year and first month; none for a rolling window), each
//     volume once; each amount is whole minor units and not negative:
//     with a rate (one ensemble.ExchangeRate.Check accepts, from the
//     line's currency to the amount's, another), the line's basis
//     converted at it, to the cent; without one, net of credits, the
//     line's basis itself;
//   - a part's rolling reserve (reserve, reserve_until) is an earning's,
//     released after the line's date, and holds whole minor units of the
//     line's currency within [0, unreversed] (reversals draw on it first);
//     a reserve without its release date is refused;
//   - a part's reserves of payments on collection (collect_reserves) are
//     an earning's, of a line payable on collection (else
//     ErrNotOnCollection), positive whole minor units of the line's
//     currency, released on or after the line's date, none rolling;
//   - an open dispute is counted (disputes >= 1, at most math.MaxInt32) and
//     holds (held) with what reserves held when it opened
//     (held_by_reserves, not negative, on a line payable on collection
//     only of a part with collect_reserves: else ErrReserveOnCollection)
//     exactly each part's unreversed amount less what it awaits of the
//     customer's payment; what it holds of the reserves from their
//     releases on (held_at_release), if recorded, is one positive hold per
//     reserve (on a line payable on collection, one per reserve of a
//     payment, each at the release date of one of them), the rolling reserve's
//     first and at its reserve_until of all it holds, each released on
//     or after the line's date, together held_by_reserves; a line no
//     dispute holds holds nothing;
//   - a part awaits (awaiting) within [0, unreversed], and only on a line
//     payable on collection (ErrNotOnCollection), whose collection record
//     is in the line's currency, whole minor units and not negative, with
//     a total of at least the basis (the basis itself on a gross line),
//     collected plus written off within the total (ErrOverCollection),
//     what credits took off within the total and what write-offs clawed
//     back within the basis, valid collection ids each applied once
//     (ErrCollectionApplied) and one at least when something was
//     collected or written off, pending credits of valid ids, each once, and
//     positive amounts within what credits took off and, with what was
//     collected and written off, the total, each a credit the state holds
//     of the line it names as its lender, on collection, when the state
//     holds that line; a receivable's credited beyond its pending credits
//     and set-off needs a credit of the line or a dispute; and parts awaiting in all nothing once the
//     customer owes nothing, else what the unreversed basis exceeds the
//     share of the basis collected by (basis × collected / total, half
//     up), or nothing;
//   - a credit has valid ids, is held once, is not a settled line's id
//     and credits a line the state holds, other than itself and other
//     than a credit; its amount (what it took back) is whole minor units
//     of that line's currency, not negative, and its bearer, if any, a
//     valid Bearer. A state written before credits recorded their amounts
//     is refused: add each one;
//   - a line's lost (what its lost disputes took back) is not negative,
//     and only on a line a dispute was opened on; and the amounts of the
//     line's credits, its lost and what its write-offs clawed back add up
//     to its credited amount, so a
//     credit deleted from the state (which would re-open its id and let
//     it settle twice) or added to it is refused, naming the line;
//   - a volume has a partner and a currency its amounts are in, whole
//     minor units and not negative, is held once, and for rolling windows
//     adds up its dated points (calendar periods have none); a
//     calendar_quarter's month is 1, 4, 7 or 10, a calendar_month's 1 to
//     12, and other windows have none (else ErrCorruptState at .month);
//   - a volume a line adds to net of credits is held: in a rolling window
//     with one point of the line, dated at it, holding what the line added
//     less the share its credits took back (what it has credited times
//     what it added over its basis, half away from zero); a calendar
//     period holds at least what such lines still add to it; and a point
//     names a line (valid, once) only when the line adds to that volume
//     net of credits.
//
// A host that calls json.Unmarshal gets encoding/json's *json.SyntaxError
// for text that is not JSON at all, before this method sees it.
func (s *State) UnmarshalJSON(b []byte) error {
	if err := ensemble.CheckJSON("state", b); err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptState, err)
	}
	// Not ensemble.DecodeJSON: its walk for decimal spellings (a state
	// holds none) would add two thirds to the allocations of a read.
	var in stateIn
	if err := strictDecode(b, &in); err != nil {
		de := &ensemble.DecodeError{Subject: "state", Offset: -1, Msg: strings.TrimPrefix(err.Error(), "json: "), Err: err}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			de.Path = te.Field
		}
		return fmt.Errorf("%w: %w", ErrCorruptState, de)
	}
	st, err := readState(in)
	if err != nil {
		return err
	}
	*s = st
	return nil
}

// readState builds a State from its decoded form, checking every
// invariant UnmarshalJSON lists; every error matches ErrCorruptState.
// once reads a record of a node paid once per customer: every field
// given, no record twice, and a line the state holds a sale of the plan.
func (r *stateReader) once(path string, o OnceState) {
	k := onceKey{plan: string(o.Plan), node: o.Node, customer: o.Customer}
	switch {
	case o.Plan == "":
		r.fail(path+".plan", o.Line, "", nil, "no plan")
	case o.Node == "":
		r.fail(path+".node", o.Line, "", nil, "no node")
	case o.Customer == "":
		r.fail(path+".customer", o.Line, "", nil, "no customer")
	case o.Line == "":
		r.fail(path+".line", "", "", nil, "node %q of plan %q paid once for customer %q names no line", o.Node, o.Plan, o.Customer)
	case r.out.once.has(k):
		r.fail(path, o.Line, "", nil, "node %q of plan %q paid once for customer %q given twice", o.Node, o.Plan, o.Customer)
	case r.out.credits.has(o.Line):
		r.fail(path+".line", o.Line, "", nil, "node %q of plan %q paid once for customer %q by a credit line", o.Node, o.Plan, o.Customer)
	default:
		if lg := r.out.lines.get(o.Line); lg != nil && lg.ctx != nil && lg.ctx.plan != nil && lg.ctx.plan.ID != string(o.Plan) {
			r.fail(path+".plan", o.Line, "", nil, "node %q paid once for customer %q by a line of plan %q, not %q", o.Node, o.Customer, lg.ctx.plan.ID, o.Plan)
			return
		}
		r.out.ownOnce().put(k, o.Line)
	}
}

func readState(in stateIn) (State, error) {
	r := stateReader{
		out:   State{lines: newStateMap[LineID, *ledger](len(in.Lines))},
		plans: map[ensemble.Ref]*ensemble.Ref{},
		ctxs:  map[lineCtx]*lineCtx{},
	}
	for i := range in.Lines {
		ll := &in.Lines[i].LedgerLine
		path := ensemble.Path("lines", i)
		if k := in.Lines[i].BasisKind; k == nil {
			r.fail(path+".basis_kind", ll.Line, "", ErrNoBasisKind, "no basis kind: a credit would have to guess net or gross; "+
				"add the basis of plan %s@%s", ll.Plan.ID, ll.Plan.Version)
		} else {
			ll.BasisKind = *k
		}
		r.line(path, ll)
	}
	for i := range in.Credits {
		r.credit(ensemble.Path("credits", i), &in.Credits[i])
	}
	for i, p := range in.Prepaid {
		path := ensemble.Path("prepaid", i)
		switch dup := r.out.prepaid.has(p.Commitment); {
		case p.Commitment == "":
			r.fail(path+".commitment", "", "", nil, "no commitment")
		case p.Earning != EarnOnPrepayment && p.Earning != EarnOnConsumption:
			r.fail(path+".earning", "", "", nil, "commitment %q has no earning mode", p.Commitment)
		case dup:
			r.fail(path+".commitment", "", "", nil, "commitment %q given twice", p.Commitment)
		default:
			r.out.ownPrepaid().put(p.Commitment, p.Earning)
		}
	}
	for i, o := range in.Once {
		r.once(ensemble.Path("once", i), o)
	}
	for i, c := range in.Credits {
		if credit := r.out.credits.has(c.Credits); credit && c.Credits != c.Line {
			r.fail(ensemble.Path("credits", i, "credits"), c.Line, "", nil, "credits %q, which is itself a credit", c.Credits)
		}
	}
	r.creditsAddUp(&in)
	r.owingParts(&in)
	r.pendingLenders(&in)
	r.receivableCredits(&in)
	r.out.window = in.PrunedBefore.UTC()
	for i := range in.Volumes {
		r.volume(ensemble.Path("volumes", i), &in.Volumes[i])
	}
	r.netVolumes(in)
	if err := r.p.Err("state"); err != nil {
		return State{}, err
	}
	return r.out, nil
}

// stateReader builds a State from its JSON form, recording every broken
// invariant.
type stateReader struct {
	out     State
	p       ensemble.Problems
	plans   map[ensemble.Ref]*ensemble.Ref
	ctxs    map[lineCtx]*lineCtx
	entries map[EntryID]int // the entry ids of the current line's parts, for long lines
	// amounts sums, per credited line, what its credits took back;
	// badLines are the lines whose basis or credited amount did not read.
	amounts    map[LineID]int64
	documented map[LineID]int64 // per line, what its credits documented of its lost disputes
	badLines   map[LineID]bool
	owing      []owingPart // the parts with a negative unreversed amount
}

// owingPart is a part of a line read with a negative unreversed amount,
// and its path in the input.
type owingPart struct {
	line LineID
	part int
	path string
}

// owingParts checks that each part with a negative unreversed amount is
// borne by a credit of its line whose bearer owes beyond its part
// (ShortfallBearerOwes): no other reversal takes a part below zero.
func (r *stateReader) owingParts(in *stateIn) {
	for _, o := range r.owing {
		lg := r.out.lines.get(o.line)
		if lg == nil {
			continue
		}
		ok := false
		for i := range in.Credits {
			c := &in.Credits[i]
			if c.Credits == o.line && c.Bearer.Shortfall == ShortfallBearerOwes && !c.Bearer.IsZero() && c.Bearer.bears(lg.payee(o.part)) {
				ok = true
				break
			}
		}
		// Or it bears what a part of the line keeps past its clawback
		// window (Clawback), which a reversal after the window may take
		// beyond its part.
		for i := range lg.parts() {
			if w := lg.payee(i).meta.window; !ok && i != o.part && w != nil {
				b := w.bearer()
				ok = b.bears(lg.payee(o.part))
			}
		}
		if !ok {
			r.fail(o.path, o.line, lg.entryID(o.part), nil, "unreversed %s is outside [0, amount %s], and no credit of the line whose bearer owes beyond its part "+
				"(shortfall bearer_owes) nor any clawback window of its parts bears it", ensemble.MoneyFromMinor(lg.unreversed(o.part), lg.ctx.cur), ensemble.MoneyFromMinor(lg.units(o.part), lg.ctx.cur))
		}
	}
}

// fail records a *StateError about line and part at path.
func (r *stateReader) fail(path string, line LineID, part EntryID, err error, format string, args ...any) {
	r.p.Add(path, &StateError{Line: line, Part: part, Msg: fmt.Sprintf(format, args...), Err: err})
}

// units returns m in minor units of cur, recording a problem (and ok
// false) when m is in another currency or not whole minor units. A zero
// without currency fits any line.
func (r *stateReader) units(path string, line LineID, part EntryID, field string, m ensemble.Money, cur ensemble.Currency) (int64, bool) {
	if c := m.Currency(); !c.IsZero() && !cur.IsZero() && c != cur {
		r.fail(path, line, part, ErrCurrency, "%s %s is not in the line's currency %s", field, m, cur)
		return 0, false
	}
	u, err := m.MinorUnits()
	if err != nil {
		r.fail(path, line, part, err, "%s %s is %s", field, m, unitsProblem(err))
		return 0, false
	}
	return u, true
}

// unitsProblem says what err of Money.MinorUnits finds.
func unitsProblem(err error) string {
	if errors.Is(err, ensemble.ErrMinorUnitsRange) {
		return "beyond the int64 range of minor units settlement keeps"
	}
	return "not a whole number of minor units"
}

// line reads one settled line.
func (r *stateReader) line(path string, ll *LedgerLine) {
	id := ll.Line
	fail := func(field string, err error, format string, args ...any) {
		r.fail(path+"."+field, id, "", err, format, args...)
	}
	if err := ensemble.CheckLineID(string(id)); err != nil {
		fail("line", err, "invalid line id")
	} else if reservedLine(id) {
		fail("line", nil, "line id %q is reserved for Adjust's and PayOut's entry ids", id)
	} else if r.out.lines.get(id) != nil {
		fail("line", ErrAlreadySettled, "the line is held twice")
	}
	if ll.Date.IsZero() {
		fail("date", nil, "zero date")
	}
	if sv := ll.Service; !sv.Start.IsZero() || !sv.End.IsZero() {
		if err := sv.Validate(); err != nil {
			fail("service", err, "invalid service period")
		}
	}
	if ll.Plan.Kind != RefPlan || ll.Plan.ID == "" {
		fail("plan", nil, "plan %s is not a plan version", ll.Plan)
	}
	facts, err := parseFactPrint(ll.Facts)
	if err != nil {
		fail("facts", nil, "%v", err)
	}
	if ll.Offer.Offer == "" {
		fail("offer.offer", nil, "empty offer id")
	}
	if ll.Route == partner.RouteUnspecified || !ll.Route.Valid() {
		fail("route", nil, "route kind %s: a settled line names how it was sold", ll.Route)
	}
	if ll.Seller != "" {
		if err := ensemble.CheckID(string(ll.Seller), ensemble.EntrySeparators); err != nil {
			fail("seller", err, "invalid seller id")
		}
	}
	cur := ll.Basis.Currency()
	if cur.IsZero() {
		fail("basis", nil, "basis %s has no currency", ll.Basis)
	}
	basis, basisOK := r.units(path+".basis", id, "", "basis", ll.Basis, cur)
	credited, creditedOK := r.units(path+".credited", id, "", "credited", ll.Credited, cur)
	if basisOK && basis < 0 {
		fail("basis", nil, "negative basis %s: a sale's basis is zero or more", ll.Basis)
	}
	switch {
	case !basisOK || !creditedOK:
	case credited < 0:
		fail("credited", nil, "negative credited %s", ll.Credited)
	case credited > basis:
		fail("credited", ErrOverCredit, "credited %s exceeds the basis %s", ll.Credited, ll.Basis)
	}
	if ll.Disputes < 0 || ll.Disputes > math.MaxInt32 {
		fail("disputes", nil, "%d disputes: want [0, %d]", ll.Disputes, math.MaxInt32)
	} else if ll.Disputed && ll.Disputes == 0 {
		fail("disputes", nil, "disputed, but no dispute was ever opened")
	}
	lost, lostOK := r.units(path+".lost", id, "", "lost", ll.Lost, cur)
	switch {
	case !lostOK:
	case lost < 0:
		fail("lost", nil, "negative lost %s", ll.Lost)
	case lost > 0 && ll.Disputes <= 0:
		fail("lost", nil, "lost disputes took back %s, but no dispute was ever opened", ll.Lost)
	}
	documented, documentedOK := r.units(path+".documented", id, "", "documented", ll.Documented, cur)
	switch {
	case !documentedOK:
	case documented < 0:
		fail("documented", nil, "negative documented %s", ll.Documented)
	case lostOK && documented > lost:
		fail("documented", nil, "credits documented %s of lost disputes that took back %s", ll.Documented, ll.Lost)
	}
	undocOwed, undocOwedOK := r.units(path+".undocumented_owed", id, "", "undocumented_owed", ll.UndocumentedOwed, cur)
	switch {
	case !undocOwedOK:
	case undocOwed < 0:
		fail("undocumented_owed", nil, "negative undocumented_owed %s", ll.UndocumentedOwed)
	case undocOwed > 0 && (ll.Collection == nil || lostOK && documentedOK && lost == documented):
		fail("undocumented_owed", nil, "lost disputes took %s off what the customer owes that no credit note documents, but the line has no collection or nothing undocumented", ll.UndocumentedOwed)
	case ll.Collection != nil && undocOwed > 0:
		if c, ok := r.units(path+".collection.credited", id, "", "credited", ll.Collection.Credited, cur); ok && undocOwed > c {
			fail("undocumented_owed", nil, "undocumented_owed %s exceeds the collection's credited %s", ll.UndocumentedOwed, ll.Collection.Credited)
		}
	}
	disputedAmt, disputedOK := r.units(path+".disputed_amount", id, "", "disputed amount", ll.DisputedAmount, cur)
	switch {
	case !disputedOK:
	case !ll.Disputed && disputedAmt != 0:
		fail("disputed_amount", nil, "%s disputed on a line no dispute holds", ll.DisputedAmount)
	case disputedAmt < 0:
		fail("disputed_amount", nil, "negative disputed amount %s", ll.DisputedAmount)
		disputedOK = false
	case basisOK && disputedAmt >= basis && disputedAmt != 0:
		// (A credit pending on the line and left unfunded may reverse
		// some of it while the dispute is open: less than what the line
		// had unreversed, it is at most what it has now.)
		fail("disputed_amount", nil, "disputed %s of a line whose basis is %s: a dispute of all of it records none", ll.DisputedAmount, ll.Basis)
		disputedOK = false
	}
	switch {
	case ll.LostDispute < 0 || ll.LostDispute > ll.Disputes:
		fail("lost_dispute", nil, "last lost dispute %d of %d disputes", ll.LostDispute, ll.Disputes)
	case ll.LostDispute > 0 && lostOK && lost == 0:
		fail("lost_dispute", nil, "dispute %d lost, but lost disputes took back nothing", ll.LostDispute)
	}
	if !basisOK || !creditedOK || !lostOK || !documentedOK || !undocOwedOK {
		if r.badLines == nil {
			r.badLines = map[LineID]bool{}
		}
		r.badLines[id] = true
	}

	plan := r.plans[ll.Plan]
	if plan == nil {
		plan = &ll.Plan
		r.plans[ll.Plan] = plan
	}
	c := lineCtx{plan: plan, offer: ll.Offer, seller: ll.Seller, cur: cur, route: ll.Route, basis: ll.BasisKind, service: ll.Service}
	lc := r.ctxs[c]
	if lc == nil {
		lc = &c
		r.ctxs[c] = lc
	}
	l := &ledger{line: id, ctx: lc, date: ll.Date, basis: basis, credited: credited, facts: facts, trace: ll.Trace}
	if ll.Disputes != 0 || ll.Disputed {
		l.disputes = &disputes{count: int32(min(max(ll.Disputes, 0), math.MaxInt32)), lost: lost, documented: documented, undocOwed: max(undocOwed, 0),
			lastLost: int32(min(max(ll.LostDispute, 0), math.MaxInt32))}
	}
	if ll.Disputed {
		l.disputes.open, l.disputes.held, l.disputes.amount = true, make([]int64, len(ll.Parts)), disputedAmt
	}
	// A dispute of part of what the line has unreversed holds each part's
	// share of it less what awaits payment of that share and what
	// reserves hold of it: checked once every part is read (disputeParts).
	partial := ll.Disputed && disputedAmt > 0
	nothingLeft := basisOK && creditedOK && basis == credited
	partialOK := true
	n := len(ll.Parts)
	pays := make([]payee, n)
	l.payees, l.amounts = &pays, make([]int64, 2*n)
	var sum, left int64 // of the amounts and the unreversed amounts
	sumsOK := basisOK && creditedOK
	funded, fundedOK := make([]int64, n), true
	var fundedSum int64
	awaits, collOK := make([]int64, n), true
	for j := range ll.Parts {
		lp := &ll.Parts[j]
		pp := ensemble.Path(path, "parts", j)
		multi := r.part(pp, ll, lp, ll.Parts[:j])
		pays[j] = payee{party: lp.Party, meta: &partMeta{role: lp.Role, node: lp.Node, kind: lp.Kind, multi: multi}}
		if w := lp.Clawback; w != nil {
			var p ensemble.Problems
			w.validate(&p, "clawback")
			err := p.Err("clawback window")
			switch {
			case err != nil:
				r.fail(pp+".clawback", id, lp.Entry, err, "invalid clawback window: %v", err)
			case lp.Kind != KindEarning:
				r.fail(pp+".clawback", id, lp.Entry, nil, "a %s has a clawback window, which only an earning has", lp.Kind)
			default:
				cw := *w
				pays[j].meta.window = &cw
			}
		}
		amount, aOK := r.units(pp+".amount", id, lp.Entry, "amount", lp.Amount, cur)
		unreversed, uOK := r.units(pp+".unreversed", id, lp.Entry, "unreversed", lp.Unreversed, cur)
		held, hOK := r.units(pp+".held", id, lp.Entry, "held", lp.Held, cur)
		byRes, bOK := r.units(pp+".held_by_reserves", id, lp.Entry, "held by reserves", lp.HeldByReserves, cur)
		awaiting, wOK := r.units(pp+".awaiting", id, lp.Entry, "awaiting", lp.Awaiting, cur)
		awaits[j] = awaiting
		l.amounts[j], l.amounts[n+j] = amount, unreversed
		if aOK && amount < 0 {
			r.fail(pp+".amount", id, lp.Entry, nil, "negative amount %s: a sale's parts are zero or more", lp.Amount)
			aOK = false
		}
		switch {
		case !aOK || !uOK:
		case unreversed > amount:
			r.fail(pp+".unreversed", id, lp.Entry, nil, "unreversed %s is outside [0, amount %s]", lp.Unreversed, lp.Amount)
		case unreversed < 0 && (ll.Collection != nil || !lp.Source.IsZero() || basisOK && unreversed < amount-basis):
			r.fail(pp+".unreversed", id, lp.Entry, nil, "unreversed %s is outside [0, amount %s]: only a bearer owing beyond its part "+
				"(shortfall bearer_owes, or a clawback window's bearer) goes below zero, by at most the basis, on a line payable on settlement and in the line's currency", lp.Unreversed, lp.Amount)
			uOK = false
		case unreversed < 0:
			// A credit of the line whose bearer owes beyond its part must
			// bear this part (checked once the credits are read).
			r.owing = append(r.owing, owingPart{line: id, part: j, path: pp + ".unreversed"})
		}
		switch {
		case !wOK:
			collOK = false
		case awaiting < 0 || (uOK && awaiting > max(unreversed, 0)):
			r.fail(pp+".awaiting", id, lp.Entry, nil, "awaiting %s is outside [0, unreversed %s]", lp.Awaiting, lp.Unreversed)
			collOK = false
		case awaiting != 0 && ll.Collection == nil:
			r.fail(pp+".awaiting", id, lp.Entry, ErrNotOnCollection, "%s awaits collection on a line payable on settlement", lp.Awaiting)
			collOK = false
		}
		switch {
		case !hOK || !uOK || !wOK || !bOK:
		case !ll.Disputed && held != 0:
			r.fail(pp+".held", id, lp.Entry, nil, "%s held on a line no dispute holds", lp.Held)
		case !ll.Disputed && byRes != 0:
			r.fail(pp+".held_by_reserves", id, lp.Entry, nil, "%s held by reserves on a line no dispute holds", lp.HeldByReserves)
		case byRes < 0:
			r.fail(pp+".held_by_reserves", id, lp.Entry, nil, "negative held by reserves %s", lp.HeldByReserves)
		case byRes != 0 && ll.Collection != nil && len(lp.CollectReserves) == 0:
			r.fail(pp+".held_by_reserves", id, lp.Entry, ErrReserveOnCollection, "%s held by reserves on a line payable on collection, of no reserve of a payment", lp.HeldByReserves)
		case ll.Disputed && held < 0:
			r.fail(pp+".held", id, lp.Entry, nil, "an open dispute holds a negative %s", lp.Held)
		case partial:
		case ll.Disputed && nothingLeft && held+byRes != 0:
			// A whole dispute holds each part's share of what the line has
			// left unreversed: of a line with nothing left (credited in
			// full past a clawback window, the bonuses kept and the
			// window's bearer below zero), none.
			r.fail(pp+".held", id, lp.Entry, nil, "an open dispute of a line with nothing left unreversed holds %s, and reserves %s, not nothing",
				lp.Held, lp.HeldByReserves)
		case ll.Disputed && !nothingLeft && held+byRes != max(0, unreversed-awaiting):
			r.fail(pp+".held", id, lp.Entry, nil, "an open dispute holds %s, and reserves %s, not together the unreversed %s less the awaiting %s",
				lp.Held, lp.HeldByReserves, lp.Unreversed, lp.Awaiting)
		}
		partialOK = partialOK && hOK && uOK && wOK && bOK && held >= 0 && byRes >= 0
		if l.disputed() {
			l.disputes.held[j] = held
			if byRes != 0 {
				if l.disputes.byReserves == nil {
					l.disputes.byReserves = make([]int64, n)
				}
				l.disputes.byReserves[j] = byRes
			}
		}
		r.rollingPart(pp, l, ll, lp, j, unreversed, uOK)
		r.collectReservesOf(pp, l, ll, lp, j)
		r.releaseHolds(pp, l, ll, lp, j, byRes, bOK)
		if src, ok := r.source(pp, ll, lp, j, amount, aOK); ok {
			if l.sources == nil {
				l.sources = &[]costSource{}
			}
			*l.sources = append(*l.sources, src)
		}
		if f, ok := r.units(pp+".funded", id, lp.Entry, "funded", lp.Funded, cur); !ok {
			fundedOK = false
		} else if f != 0 {
			switch {
			case f < 0:
				r.fail(pp+".funded", id, lp.Entry, nil, "negative funded %s: a part bears zero or more of the line's discounts", lp.Funded)
				fundedOK = false
			case lp.Kind != KindEarning:
				r.fail(pp+".funded", id, lp.Entry, nil, "a %s funded %s of the line's discounts, which only an earning bears", lp.Kind, lp.Funded)
				fundedOK = false
			case fundedSum > math.MaxInt64-f || aOK && amount > math.MaxInt64-f:
				r.fail(pp+".funded", id, lp.Entry, nil, "funded %s is beyond the int64 range of minor units with the line's", lp.Funded)
				fundedOK = false
			default:
				funded[j], fundedSum = f, fundedSum+f
			}
		}
		sumsOK = sumsOK && aOK && uOK
		if sumsOK && (sum > math.MaxInt64-amount || unreversed >= 0 && left > math.MaxInt64-unreversed || unreversed < 0 && left < math.MinInt64-unreversed) {
			fail("parts", nil, "the parts add up beyond the int64 range of minor units")
			sumsOK = false
		}
		sum, left = sum+amount, left+unreversed
	}
	if partial && partialOK && disputedOK {
		r.disputeParts(path, ll, l, awaits)
	}
	if sumsOK && sum != basis {
		fail("parts", nil, "the parts add up to %s, not the basis %s", ensemble.MoneyFromMinor(sum, cur), ll.Basis)
	}
	if sumsOK && credited >= 0 && credited <= basis && left != basis-credited {
		fail("parts", nil, "the parts leave %s unreversed, not the basis %s less the credited %s", ensemble.MoneyFromMinor(left, cur), ll.Basis, ll.Credited)
	}
	if fd, ok := r.units(path+".funded_discounts", id, "", "funded discounts", ll.FundedDiscounts, cur); ok && fundedOK {
		switch {
		case fd != fundedSum:
			fail("funded_discounts", nil, "the line's funded discounts are %s, but its parts funded %s", ll.FundedDiscounts, ensemble.MoneyFromMinor(fundedSum, cur))
		case basisOK && fd > math.MaxInt64-basis:
			fail("funded_discounts", nil, "funded discounts %s and the basis %s add up beyond the int64 range of minor units", ll.FundedDiscounts, ll.Basis)
		case fd != 0:
			l.funded = &funded
		}
	}
	switch {
	case ll.Collection != nil && ll.Receivable != nil:
		fail("receivable", nil, "a line both on collection and a receivable")
	case ll.Collection != nil:
		l.coll = r.collection(path+".collection", ll, ll.Collection, false, l, awaits, sumsOK && collOK)
	case ll.Receivable != nil:
		l.coll = r.collection(path+".receivable", ll, ll.Receivable, true, l, awaits, sumsOK && collOK)
	}
	var vols []lineVolume
	for j := range ll.Volumes {
		if v, ok := r.lineVolume(ensemble.Path(path, "volumes", j), ll, j, basis, basisOK); ok {
			vols = append(vols, v)
		}
	}
	if r.out.lines.get(id) == nil {
		l.vols = vols
		r.out.putLine(id, l)
	}
}

// part checks what one part says of whom it pays, given the parts before
// it, and reports whether its entry id names its party.
func (r *stateReader) part(path string, ll *LedgerLine, lp *LedgerPart, before []LedgerPart) (multi bool) {
	fail := func(field string, err error, format string, args ...any) {
		r.fail(path+field, ll.Line, lp.Entry, err, format, args...)
	}
	if lp.Kind != KindEarning && lp.Kind != KindSupplierCost {
		fail(".kind", nil, "a ledger part is an earning or a supplier cost, not %s", lp.Kind)
	}
	if lp.Party == "" {
		fail(".party", nil, "empty party")
	}
	if lp.Node == "" {
		fail(".node", nil, "empty node")
	}
	form, chain, known := partRole(lp.Role, lp.Kind)
	switch {
	case !known:
		fail(".role", nil, "unknown role %q for a part of kind %s", lp.Role, lp.Kind)
	case chain && ll.Seller == "":
		fail(".role", nil, "role %q reads the route's chain, but the line has no seller", lp.Role)
	}
	if id, isPartner := strings.CutPrefix(lp.Role, "partner:"); isPartner && known && lp.Party != partner.ID(id) {
		fail(".party", nil, "role %q pays %q", lp.Role, lp.Party)
	}
	if lp.Role == "seller" && lp.Kind == KindEarning && ll.Seller != "" && lp.Party != ll.Seller {
		fail(".party", nil, "role seller pays %q, but the line's seller is %q", lp.Party, ll.Seller)
	}
	underCosts := lp.Node == string(supplierCosts) || strings.HasPrefix(lp.Node, string(supplierCosts)+"/")
	switch {
	case lp.Kind == KindSupplierCost && !strings.HasPrefix(lp.Node, string(supplierCosts)+"/"):
		fail(".node", nil, "supplier cost node %q is not under supplier_costs/", lp.Node)
	case lp.Kind == KindEarning && underCosts:
		fail(".node", nil, "earning node %q is under supplier_costs, a root no plan has", lp.Node)
	}
	// The entry id is derived from the line, node and party.
	base := string(ll.Line) + ":" + lp.Node
	named := base + "/" + string(lp.Party)
	switch {
	case string(lp.Entry) == named && form != entryBase:
		multi = true
	case string(lp.Entry) == base && form != entryNamed:
	case form == entryNamed:
		fail(".entry", nil, "entry %q: want %q (line, node and party)", lp.Entry, named)
	case form == entryBase:
		fail(".entry", nil, "entry %q: want %q (line and node)", lp.Entry, base)
	default:
		fail(".entry", nil, "entry %q is neither %q nor %q", lp.Entry, base, named)
	}
	if strings.Contains(string(lp.Entry), "#") {
		fail(".entry", nil, "entry %q holds '#', which starts the suffix of a hold's, release's or reserve's id", lp.Entry)
	}
	if k := r.seenEntry(before, lp.Entry); k >= 0 {
		fail(".entry", nil, "entry %q is also part %d of the line", lp.Entry, k)
	}
	return multi
}

// seenEntry returns the index of the part of before with entry id e, or
// -1. The first 16 parts of a line are searched; from the 17th on, a map
// of the line's entry ids is kept (e is added as part len(before)), so a
// line of many parts costs linear time.
func (r *stateReader) seenEntry(before []LedgerPart, e EntryID) int {
	j := len(before)
	if j < 16 {
		for k := range before {
			if before[k].Entry == e {
				return k
			}
		}
		return -1
	}
	if j == 16 {
		r.entries = make(map[EntryID]int, 2*j)
		for k := range before {
			if _, dup := r.entries[before[k].Entry]; !dup {
				r.entries[before[k].Entry] = k
			}
		}
	}
	if k, dup := r.entries[e]; dup {
		return k
	}
	r.entries[e] = j
	return -1
}

// entryForm says how a role's entry ids are spelt.
type entryForm uint8

const (
	entryBase  entryForm = iota // "line:node"
	entryNamed                  // "line:node/party"
	entryEither
)

// partRole reports whether role is one the settler writes for a part of
// kind (roleText's for earnings, "supplier" for supplier costs), how its
// entry ids are spelt, and whether it reads the route's chain (so that its
// line has a seller). A partner type is written bare when a plan may write
// it bare (reseller, distributor), else type:<name> (type:supplier,
// type:platform), so no role text is another role's; states written before
// that may hold "supplier" for a type:supplier share, which reads as a
// type.
func partRole(role string, kind EntryKind) (form entryForm, chain, known bool) {
	if kind == KindSupplierCost {
		return entryBase, false, role == "supplier"
	}
	switch role {
	case "platform", "referrer", "marketplace", "supplier", "attributed":
		return entryBase, false, true // attributed: whoever the line's usage names (Line.Attributed)
	case "co_sellers":
		return entryEither, false, true
	case "chain[*]":
		return entryNamed, true, true
	}
	if id, ok := strings.CutPrefix(role, "partner:"); ok {
		return entryBase, false, ensemble.CheckID(id, ensemble.EntrySeparators) == nil
	}
	if typ, ok := strings.CutPrefix(role, "type:"); ok { // a type whose bare name is another role's
		return entryBase, true, validName(typ)
	}
	if level, ok := strings.CutPrefix(role, "chain["); ok {
		level, ok = strings.CutSuffix(level, "]")
		n, err := strconv.Atoi(level)
		return entryBase, true, ok && err == nil && n >= 1 && n < partner.MaxDepth && strconv.Itoa(n) == level
	}
	return entryBase, true, validName(role) // seller, top or a partner type
}

// credit reads one settled credit line, after the lines: it credits a
// line the state holds, by an amount in that line's currency.
func (r *stateReader) credit(path string, in *creditStateIn) {
	c := &in.CreditState
	if err := ensemble.CheckLineID(string(c.Line)); err != nil {
		r.fail(path+".line", c.Line, "", err, "invalid credit line id")
	} else if reservedLine(c.Line) {
		r.fail(path+".line", c.Line, "", nil, "line id %q is reserved for Adjust's and PayOut's entry ids", c.Line)
	} else if dup := r.out.credits.has(c.Line); dup {
		r.fail(path+".line", c.Line, "", ErrAlreadySettled, "the credit is held twice")
	} else if r.out.lines.get(c.Line) != nil {
		r.fail(path+".line", c.Line, "", ErrAlreadySettled, "a credit has the id of a settled line")
	}
	lg := r.out.lines.get(c.Credits)
	switch err := ensemble.CheckLineID(string(c.Credits)); {
	case err != nil:
		r.fail(path+".credits", c.Line, "", err, "invalid credited line id")
	case c.Credits == c.Line:
		r.fail(path+".credits", c.Line, "", nil, "a line cannot credit itself")
	case lg == nil && !r.isCredit(c.Credits):
		r.fail(path+".credits", c.Line, "", nil, "credits %q, but the state holds no settled line %q", c.Credits, c.Credits)
	}
	rec := creditRec{of: c.Credits}
	switch {
	case in.Amount == nil:
		r.fail(path+".amount", c.Line, "", nil, "no amount: a state written before credits recorded what they took back; "+
			"add each credit's amount (with the line's lost disputes, its credited amount)")
	case lg != nil:
		if u, ok := r.units(path+".amount", c.Line, "", "amount", *in.Amount, lg.ctx.cur); ok {
			if u < 0 {
				r.fail(path+".amount", c.Line, "", nil, "negative amount %s: a credit takes back zero or more", *in.Amount)
			}
			rec.units = u
		}
		if u, ok := r.units(path+".documented", c.Line, "", "documented", c.Documented, lg.ctx.cur); ok {
			if u < 0 {
				r.fail(path+".documented", c.Line, "", nil, "negative documented %s", c.Documented)
			}
			rec.documented = u
		}
	}
	if !c.Bearer.IsZero() {
		var p ensemble.Problems
		c.Bearer.validate(&p, "bearer")
		if err := p.Err("credit"); err != nil {
			r.fail(path+".bearer", c.Line, "", err, "invalid bearer: %v", err)
		}
		b := c.Bearer
		rec.bearer = &b
	}
	if r.amounts == nil {
		r.amounts = map[LineID]int64{}
	}
	r.amounts[c.Credits] += rec.units // overflow shows as a sum that differs
	if rec.documented != 0 {
		if r.documented == nil {
			r.documented = map[LineID]int64{}
		}
		r.documented[c.Credits] += rec.documented
	}
	r.out.ownCredits().put(c.Line, rec)
}

// isCredit reports whether id is a credit the input lists (a credit of a
// credit is reported on its own).
func (r *stateReader) isCredit(id LineID) bool {
	ok := r.out.credits.has(id)
	return ok
}

// creditsAddUp checks, per line, that the amounts of its credits, what its
// lost disputes took back and the share of its basis its write-offs took
// back add up to its credited amount.
func (r *stateReader) creditsAddUp(in *stateIn) {
	for i := range in.Lines {
		ll := &in.Lines[i].LedgerLine
		lg := r.out.lines.get(ll.Line)
		if lg == nil || r.badLines[ll.Line] {
			continue
		}
		var writtenOff int64 // the share of the basis write-offs took back
		if c := lg.coll; c != nil {
			writtenOff = c.clawed
		}
		if got := r.amounts[ll.Line] + lg.disputesLost() + writtenOff; got != lg.credited {
			r.fail(ensemble.Path("lines", i)+".credited", ll.Line, "", nil,
				"credited %s, but the line's credits, lost disputes and write-offs add up to %s: the state misses or adds a credit",
				ll.Credited, ensemble.MoneyFromMinor(got, lg.ctx.cur))
		}
		if got, want := r.documented[ll.Line], lg.disputes.carried().documented; got != want {
			r.fail(ensemble.Path("lines", i)+".documented", ll.Line, "", nil,
				"documented %s, but the credits documenting the line's lost disputes add up to %s: the state misses or adds a credit",
				ensemble.MoneyFromMinor(want, lg.ctx.cur), ensemble.MoneyFromMinor(got, lg.ctx.cur))
		}
	}
}

// undocOwedMoney returns what l's lost disputes took off what the customer
// owes that no documenting credit note has set yet.
func undocOwedMoney(l *ledger) ensemble.Money {
	if l.disputes != nil && l.disputes.undocOwed != 0 {
		return ensemble.MoneyFromMinor(l.disputes.undocOwed, l.ctx.cur)
	}
	return ensemble.Money{}
}

// documentedMoney returns what credits documented of l's lost disputes.
func documentedMoney(l *ledger) ensemble.Money {
	if l.disputes != nil && l.disputes.documented != 0 {
		return ensemble.MoneyFromMinor(l.disputes.documented, l.ctx.cur)
	}
	return ensemble.Money{}
}

// lastLost returns the number of l's last lost dispute (0: none, or not
// recorded).
func lastLost(l *ledger) int32 {
	if l.disputes == nil {
		return 0
	}
	return l.disputes.lastLost
}

// lostMoney returns what l's lost disputes took back.
func lostMoney(l *ledger) ensemble.Money {
	if x := l.disputesLost(); x != 0 {
		return ensemble.MoneyFromMinor(x, l.ctx.cur)
	}
	return ensemble.Money{}
}

// volume reads one cumulative volume.
func (r *stateReader) volume(path string, v *VolumeState) {
	fail := func(field string, err error, format string, args ...any) {
		r.fail(path+field, "", "", err, "volume of %q in %s (%s %s): "+format, append([]any{v.Partner, v.Currency.Key(), v.Window, periodName(v.Year, v.Month)}, args...)...)
	}
	if v.Partner == "" {
		fail(".partner", nil, "empty partner")
	}
	if v.Currency.IsZero() {
		fail(".currency", nil, "no currency")
	}
	if int(v.Window) >= len(windowNames) {
		fail(".window", nil, "unknown window")
	}
	amount := func(field string, m ensemble.Money) (int64, bool) {
		if c := m.Currency(); !c.IsZero() && c != v.Currency {
			fail(field, ErrCurrency, "%s is not in %s", m, v.Currency.Key())
			return 0, false
		}
		u, err := m.MinorUnits()
		if err != nil {
			fail(field, err, "%s is %s", m, unitsProblem(err))
			return 0, false
		}
		if u < 0 {
			fail(field, nil, "negative volume %s", m)
			return 0, false
		}
		return u, true
	}
	u, ok := amount(".amount", v.Amount)
	vs := &volState{units: u}
	var sum int64
	var seen map[LineID]bool // the lines points name
	for j, pt := range v.Points {
		pp := ensemble.Path("", "points", j)
		pu, pOK := amount("."+pp+".amount", pt.Amount)
		if pt.Date.IsZero() {
			fail("."+pp+".date", nil, "zero date")
		}
		if ok = ok && pOK && sum <= math.MaxInt64-pu; ok {
			sum += pu
		}
		if pt.Line != "" {
			if err := ensemble.CheckLineID(string(pt.Line)); err != nil {
				fail("."+pp+".line", err, "invalid line id")
			} else if seen[pt.Line] {
				fail("."+pp+".line", nil, "line %q has two points", pt.Line)
			} else if seen == nil {
				seen = make(map[LineID]bool, len(v.Points))
			}
			seen[pt.Line] = true
		}
		vs.points = append(vs.points, volPoint{date: pt.Date, units: pu, line: pt.Line})
	}
	if v.Window == WindowRolling12Months {
		vs.indexPoints()
	}
	switch {
	case v.Window.calendar() && len(v.Points) > 0:
		fail(".points", nil, "a calendar %s keeps no points", v.Window.noun())
	case v.Window == WindowRolling12Months && v.Year != 0:
		fail(".year", nil, "a rolling window has no year")
	case int(v.Window) < len(windowNames) && !v.Window.validMonth(v.Month):
		fail(".month", nil, "month %d is not the first month of a %s", v.Month, v.Window)
	case v.Window == WindowRolling12Months && ok && sum != u:
		fail(".amount", nil, "%s is not the sum of its points, %s", v.Amount, ensemble.MoneyFromMinor(sum, v.Currency))
	}
	for j, x := range v.Retroactive {
		pp := "." + ensemble.Path("", "retroactive", j)
		b, bOK := amount(pp+".base", x.Base)
		switch {
		case !v.Window.calendar():
			fail(pp, nil, "a rolling window pays no retroactive tiers")
		case x.Plan == "" || x.Node == "":
			fail(pp, nil, "a retroactive record names its plan and node")
		case x.Tier < 1:
			fail(pp+".tier", nil, "tier %d: tiers count from 1", x.Tier)
		case j > 0 && cmp.Or(strings.Compare(v.Retroactive[j-1].Plan, x.Plan), strings.Compare(v.Retroactive[j-1].Node, x.Node)) >= 0:
			fail(pp, nil, "plan %q node %q: records are in plan then node order, each once", x.Plan, x.Node)
		case x.Rate != nil && x.Rate.Sign() < 0:
			fail(pp+".rate", nil, "negative rate %s", x.Rate)
		case bOK:
			rp := retroPaid{plan: x.Plan, node: x.Node, tier: x.Tier - 1, base: b}
			if x.Rate != nil {
				rp.rate, rp.rated = *x.Rate, true
			}
			vs.retro = append(vs.retro, rp)
		}
	}
	k := volKey{partner: v.Partner, cur: v.Currency.Key(), window: v.Window, year: v.Year, month: v.Month}
	if _, twice := r.out.ownVols().put(k, vs); twice {
		fail("", nil, "the volume is held twice")
	}
}

// rollingPart reads what a rolling reserve holds of part j of line l
// (its unreversed amount, if uOK): a hold of earnings, released after the
// line's date, holding zero or more and at most the unreversed amount.
func (r *stateReader) rollingPart(path string, l *ledger, ll *LedgerLine, lp *LedgerPart, j int, unreversed int64, uOK bool) {
	if lp.ReserveUntil.IsZero() {
		if !lp.Reserve.IsZero() {
			r.fail(path+".reserve", ll.Line, lp.Entry, nil, "a rolling reserve of %s without reserve_until, its release date", lp.Reserve)
		}
		return
	}
	u, ok := r.units(path+".reserve", ll.Line, lp.Entry, "reserve", lp.Reserve, l.ctx.cur)
	switch {
	case lp.Kind != KindEarning:
		r.fail(path+".reserve_until", ll.Line, lp.Entry, nil, "a rolling reserve holds earnings, not a %s", lp.Kind)
	case !lp.ReserveUntil.After(ll.Date):
		r.fail(path+".reserve_until", ll.Line, lp.Entry, nil, "rolling reserve released %s, not after the line's date %s",
			lp.ReserveUntil.Format(time.RFC3339), ll.Date.Format(time.RFC3339))
	case !ok:
	case u < 0:
		r.fail(path+".reserve", ll.Line, lp.Entry, nil, "negative rolling reserve %s", lp.Reserve)
	case uOK && u > max(unreversed, 0):
		r.fail(path+".reserve", ll.Line, lp.Entry, nil, "rolling reserve %s exceeds the unreversed %s: reversals draw on it first", lp.Reserve, lp.Unreversed)
	}
	if l.rolling == nil {
		l.rolling = new([]rollingHold)
	}
	*l.rolling = append(*l.rolling, rollingHold{part: int32(j), units: u, until: lp.ReserveUntil})
}

// collectReservesOf reads what the leaf's reserve of part j of line l, on
// collection, holds of each amount made payable (lp.CollectReserves): on
// an earning of a line on collection only, each a positive amount of the
// line's currency released on or after the line's date, never rolling.
func (r *stateReader) collectReservesOf(path string, l *ledger, ll *LedgerLine, lp *LedgerPart, j int) {
	if len(lp.CollectReserves) == 0 {
		return
	}
	if ll.Collection == nil || lp.Kind != KindEarning {
		r.fail(path+".collect_reserves", ll.Line, lp.Entry, ErrNotOnCollection, "reserves of payments on a %s of a line not payable on collection", lp.Kind)
		return
	}
	hs := slices.Clone(l.collectReserves())
	for k, h := range lp.CollectReserves {
		hp := ensemble.Path(path, "collect_reserves", k)
		u, ok := r.units(hp+".amount", ll.Line, lp.Entry, "reserve", h.Amount, l.ctx.cur)
		switch {
		case !ok:
			return
		case u <= 0:
			r.fail(hp+".amount", ll.Line, lp.Entry, nil, "a reserve of a payment of %s: a reserve is positive", h.Amount)
			return
		case h.Rolling:
			r.fail(hp+".rolling", ll.Line, lp.Entry, ErrReserveOnCollection, "a rolling reserve of a payment on collection")
			return
		case h.Date.Before(ll.Date):
			r.fail(hp+".date", ll.Line, lp.Entry, nil, "a reserve of a payment released %s, before the line's date %s", h.Date.Format(time.RFC3339), ll.Date.Format(time.RFC3339))
			return
		}
		hs = append(hs, rollingHold{part: int32(j), units: u, until: h.Date})
	}
	l.onPay = &hs
}

// releaseHolds reads what an open dispute holds of part j from its
// reserves' release dates on (lp.HeldAtRelease, see Settler.Dispute): on a
// disputed line only, one hold per reserve, the rolling reserve's first,
// each a positive amount of the line's currency released on or after the
// line's date (a leaf's reserve of 0 days, of a dispute opened before the
// line's date, is released at it); the rolling reserve's at the part's
// reserve_until, of all it
// holds; and together the part's held_by_reserves (byRes, when bOK). None
// is a dispute opened before the releases were held.
func (r *stateReader) releaseHolds(path string, l *ledger, ll *LedgerLine, lp *LedgerPart, j int, byRes int64, bOK bool) {
	if len(lp.HeldAtRelease) == 0 {
		return
	}
	if !ll.Disputed {
		r.fail(path+".held_at_release", ll.Line, lp.Entry, nil, "held at the release of reserves on a line no dispute holds")
		return
	}
	var sum int64
	var leaf, rolling bool
	for k, h := range lp.HeldAtRelease {
		hp := ensemble.Path(path, "held_at_release", k)
		u, ok := r.units(hp+".amount", ll.Line, lp.Entry, "held at release", h.Amount, l.ctx.cur)
		if !ok {
			return
		}
		var roll *rollingHold
		for x, rh := range l.holds() {
			if int(rh.part) == j {
				roll = &(*l.rolling)[x]
			}
		}
		onPay := ll.Collection != nil && len(lp.CollectReserves) > 0 // one hold per reserve of a payment
		switch {
		case u <= 0:
			r.fail(hp+".amount", ll.Line, lp.Entry, nil, "held at release %s: a hold is positive", h.Amount)
		case onPay && (h.Rolling || !slices.ContainsFunc(lp.CollectReserves, func(c ReleaseHold) bool { return c.Date.Equal(h.Date) })):
			r.fail(hp, ll.Line, lp.Entry, nil, "held at a release on %s, of no reserve of a payment the part records", h.Date.Format(time.RFC3339))
		case !onPay && (h.Rolling && (rolling || leaf) || !h.Rolling && leaf):
			r.fail(hp, ll.Line, lp.Entry, nil, "a second hold at a release, or the rolling reserve's after the leaf's: one per reserve, the rolling reserve's first")
		case h.Date.Before(ll.Date):
			r.fail(hp+".date", ll.Line, lp.Entry, nil, "held at a release %s, before the line's date %s", h.Date.Format(time.RFC3339), ll.Date.Format(time.RFC3339))
		case h.Rolling && (roll == nil || !roll.until.Equal(h.Date) || roll.units != u && (ll.DisputedAmount.IsZero() || roll.units < u)):
			// (A dispute of part of the line holds up to the part's
			// share of it: some of the rolling reserve.)
			r.fail(hp, ll.Line, lp.Entry, nil, "held at the release of the rolling reserve %s on %s, not all the part's rolling reserve (reserve, reserve_until) holds",
				h.Amount, h.Date.Format(time.RFC3339))
		default:
			sum += u
			leaf, rolling = leaf || !h.Rolling, rolling || h.Rolling
			l.disputes.atRelease = append(l.disputes.atRelease, reserveHold{part: int32(j), rolling: h.Rolling, units: u, until: h.Date})
			continue
		}
		return
	}
	if bOK && sum != byRes {
		r.fail(path+".held_at_release", ll.Line, lp.Entry, nil, "holds %s at the release of reserves, not the %s held by reserves",
			ensemble.MoneyFromMinor(sum, l.ctx.cur), lp.HeldByReserves)
	}
}

// disputeParts checks, of line l (read from ll) whose open dispute
// disputes part of what it had unreversed, that each part holds, with
// what reserves held of it when the dispute opened
// (LedgerPart.HeldByReserves), exactly its share of the amount on a line
// with no balance on collection; else at most what it has unreversed less
// what awaits payment, and all parts at most the disputed amount, and what the
// parts a bearer owed beyond owe (each its
// share of it less what awaited payment of that share, when it opened:
// credits pending on the line left unfunded may since reverse some of
// what awaited, as they do on a line disputed whole).
func (r *stateReader) disputeParts(path string, ll *LedgerLine, l *ledger, awaits []int64) {
	var sum int64
	for j := range ll.Parts {
		lp := &ll.Parts[j]
		h := l.disputes.held[j] + l.disputes.heldByReserves(j)
		if h > max(0, l.unreversed(j)-awaits[j]) {
			r.fail(ensemble.Path(path, "parts", j)+".held", l.line, lp.Entry, nil,
				"an open dispute of %s holds %s, and reserves %s, more together than the unreversed %s less the awaiting %s",
				ll.DisputedAmount, lp.Held, lp.HeldByReserves, lp.Unreversed, lp.Awaiting)
			return
		}
		sum += h
	}
	// (Parts a bearer owed beyond get back their share of it: the others'
	// shares add up to the amount and that, at most what they owe.)
	var owed int64
	for j := range ll.Parts {
		owed += max(0, -l.unreversed(j))
	}
	if sum > l.disputes.amount+owed {
		r.fail(path+".disputed_amount", l.line, "", nil, "an open dispute of %s holds %s, with what reserves hold, more than it disputes",
			ll.DisputedAmount, ensemble.MoneyFromMinor(sum, l.ctx.cur))
		return
	}
	// A line with no balance on collection awaits nothing: its parts
	// hold, with what their reserves hold, the amount in all, each its
	// share of it (none when it owes) as the parts had it unreversed when
	// the dispute opened. A credit of the undisputed part while it is open
	// (reversed from what each part has beyond its share) leaves the holds
	// as they were, so the shares are checked against what the parts have
	// now only on a line a bearer owed beyond, which takes no credit while
	// disputed: a disputed amount or a hold sum edited by hand is refused,
	// never clawed back as lost.
	if ll.Collection != nil || ll.Receivable != nil {
		return
	}
	if owed == 0 {
		if sum != l.disputes.amount {
			r.fail(path+".disputed_amount", l.line, "", nil, "an open dispute of %s holds %s, with what reserves hold, not the amount it disputes",
				ll.DisputedAmount, ensemble.MoneyFromMinor(sum, l.ctx.cur))
		}
		return
	}
	shares, err := disputeShares(l, l.disputes.amount)
	if err != nil {
		r.fail(path+".disputed_amount", l.line, "", err, "an open dispute of %s cannot be shared over the parts", ll.DisputedAmount)
		return
	}
	for j := range ll.Parts {
		if h := l.disputes.held[j] + l.disputes.heldByReserves(j); h != max(0, shares[j]) {
			lp := &ll.Parts[j]
			r.fail(ensemble.Path(path, "parts", j)+".held", l.line, lp.Entry, nil,
				"an open dispute of %s holds %s, and reserves %s, where the part's share of it is %s",
				ll.DisputedAmount, lp.Held, lp.HeldByReserves, ensemble.MoneyFromMinor(max(0, shares[j]), l.ctx.cur))
			return
		}
	}
}
