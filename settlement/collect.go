package settlement

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// Payable says when a plan's entries become payable.
//
// It is a plan option (PlanDocument.Payable), not a Config one: whether a
// partner is paid on billing or on the customer's payment is a term of the
// deal the plan writes down (a cloud marketplace's plan disburses only
// after the buyer pays; a referral program's may pay on billing), and one
// host settles both kinds side by side. The State records it per line, so
// a later plan version changing it never changes how a settled line is
// paid.
type Payable uint8

const (
	// PayableOnSettlement (the default) makes a line's earnings and
	// supplier costs payable when the line is settled.
	PayableOnSettlement Payable = iota
	// PayableOnCollection holds every part of a line back (a
	// KindUncollected entry of its whole amount) until the customer pays
	// it: Settler.Collect makes the collected fraction payable
	// (KindCollected), Settler.WriteOff claws back what will never be
	// paid as a credit would.
	//
	// A leaf's reserve (Node.Reserve) on such a plan holds back its ratio
	// of what each payment makes payable, when it does: with each
	// KindCollected entry of a leaf with a reserve (rounded down, as on
	// settlement), a KindReserve entry "<collected id>#reserve" dated at
	// the collection and its release "<collected id>#release" (KindRelease)
	// dated the reserve's Days after the collection, not after the line.
	// What becomes payable to the leaf without a payment is reserved
	// alike: a credit, write-off or lost dispute borne by other parts
	// that leaves the customer owing less makes what the leaf awaited
	// payable (a negative KindUncollected entry), and its reserve is
	// "<uncollected id>#reserve" and "#release", dated at the reversal and
	// the reserve's Days after it. So every amount the leaf receives as
	// payable holds the reserve's ratio. The State records each reserve
	// and its release date (LedgerPart.CollectReserves), which a dispute
	// of the line does not hold again (see Settler.Dispute).
	// Credits, write-offs and lost disputes take back from what awaits the
	// customer's payment first, then from what was made payable, and never
	// draw on the reserve, which is released on its date as on a plan
	// payable on settlement (the party's balance is short by it until
	// then). Rolling reserves (PlanDocument.Reserves) are refused on it
	// (ErrReserveOnCollection).
	PayableOnCollection
)

var payableNames = [...]string{"on_settlement", "on_collection"}

// String returns the option's lowercase name.
func (p Payable) String() string { return ensemble.EnumName(uint8(p), payableNames[:], "payable") }

// MarshalText writes the option's name.
func (p Payable) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(p), payableNames[:], "settlement", "payable")
}

// UnmarshalText reads an option's name; "" is PayableOnSettlement.
func (p *Payable) UnmarshalText(t []byte) error {
	v, err := ensemble.ParseEnum[uint8](t, payableNames[:], "settlement", "payable")
	*p = Payable(v)
	return err
}

// Errors of collections and write-offs. Each is wrapped in a
// *CollectionError naming the collection and, where one is at fault, the
// line.
var (
	// ErrInvalidCollection reports a collection or write-off that does
	// not say what was paid: no id or date (or one before year 1 or after
	// 9999, which its entries could not be written with, or before the
	// date of a line it applies to: the *CollectionError names the line,
	// and the problem at "date" both dates), an amount that is not
	// positive whole minor units of its lines' currency, neither or both
	// of an invoice and lines, a line given twice, an invoice of no line
	// the state keeps a balance of, a bearer on a collection. It wraps an
	// *ensemble.ValidationError naming every field at fault.
	ErrInvalidCollection = errors.New("settlement: invalid collection")
	// ErrUnknownInvoice reports a collection or write-off of an invoice no
	// line in the state is on (as Line.Invoice, under a plan payable on
	// collection, or a receivable: see LedgerLine.Receivable); it comes
	// with ErrInvalidCollection.
	ErrUnknownInvoice = errors.New("settlement: unknown invoice")
	// ErrOverCollection reports a collection or write-off of more than
	// the customer still owes on its lines: the line's amount plus tax,
	// less what credit notes (with their tax) and lost disputes took off
	// it and what was collected or written off before.
	ErrOverCollection = errors.New("settlement: more collected or written off than is owed")
	// ErrCollectionApplied reports a collection or write-off whose id the
	// state already holds on a line: a collection sent again is refused,
	// never applied twice (and never silently ignored, which would hide a
	// different collection reusing an id).
	ErrCollectionApplied = errors.New("settlement: collection already applied")
	// ErrNotOnCollection reports a line whose plan pays on settlement and
	// that keeps no balance (no invoice, or settled by a settler none of
	// whose plans pays on collection: see LedgerLine.Receivable): nothing
	// on it awaits the customer's payment, and nothing says what it owes.
	ErrNotOnCollection = errors.New("settlement: line not payable on collection")
	// ErrReserveOnCollection reports a plan payable on collection with
	// rolling reserves (PlanDocument.Reserves): a rolling reserve holds,
	// at the line's date, a share of all the party earns, and credits draw
	// on it, while on collection nothing is payable until the customer
	// pays. A leaf's reserve (Node.Reserve) is what such a plan keeps: it
	// holds a share of each collection (see PayableOnCollection). New
	// reports it as a problem of the plan's *ValidationError.
	ErrReserveOnCollection = errors.New("settlement: a plan payable on collection keeps no rolling reserve")
)

// CollectionError is the error of a collection or write-off: its id, the
// line at fault (empty when the collection as a whole is), and why.
type CollectionError struct {
	Collection string
	Line       LineID
	Err        error
}

// Error names the collection and the line, then the problem.
func (e *CollectionError) Error() string {
	s := fmt.Sprintf("settlement: collection %q", e.Collection)
	if e.Line != "" {
		s += fmt.Sprintf(" line %q", string(e.Line))
	}
	return s + ": " + trimPrefix(e.Err.Error())
}

// Unwrap returns the condition.
func (e *CollectionError) Unwrap() error { return e.Err }

// Collection is a payment the customer made (Settler.Collect) or an amount
// the host gave up collecting (Settler.WriteOff), against the lines of one
// invoice or the lines named.
type Collection struct {
	// ID names the collection: a valid id without ':' or '#'
	// (ensemble.CheckID), unique among every collection and write-off the
	// state holds, whatever their lines: an id the state holds on any line
	// is ErrCollectionApplied, naming the first line it applied to. Entry
	// ids carry it.
	ID string `json:"id"`
	// Date is when the money was received (or written off); the entries
	// are dated at it, in UTC. It is not before the date of any line it
	// applies to (else ErrInvalidCollection naming the line).
	Date time.Time `json:"date"`
	// Amount is what was paid or written off: positive whole minor units
	// of the lines' currency, of their amount plus tax (what the customer
	// owes). Spread over several lines, it goes to each in proportion to
	// what the customer still owes on it (largest remainder, ties by line
	// id), never more than that.
	Amount ensemble.Money `json:"amount"`
	// Invoice names the invoice whose lines (Line.Invoice) the amount is
	// for; or Lines names them. Exactly one is given. The invoice's lines
	// are those on collection and, where a plan of the settler pays on
	// collection, those paid on settlement (LedgerLine.Receivable): a
	// payment of an invoice mixing both goes to every line in proportion
	// to what it owes, so pass the customer's payment of the invoice as
	// it came. On a line paid on settlement its part is recorded and
	// releases nothing (its parties were paid on settlement); a write-off's
	// part there claws nothing back (the loss is the host's).
	Invoice string   `json:"invoice,omitempty"`
	Lines   []LineID `json:"lines,omitempty"`
	// Bearer bears a write-off, as a credit line's Bearer; zero takes it
	// from every part in proportion to what it awaits (see WriteOff). A
	// collection has none.
	Bearer Bearer `json:"bearer,omitzero"`
}

// invoiceLine is a line of an invoice that keeps what its customer owes
// (on collection, or a receivable), and the line of the invoice indexed
// before it: a list that a state shares with the states
// it came from, which indexing a line prepends to (State.invoices).
type invoiceLine struct {
	line LineID
	prev *invoiceLine
}

// indexCollection indexes line id, whose ledger is lg, if it keeps what
// its customer owes (payable on collection, or a receivable): by its
// invoice, and by the collections and write-offs applied to it. Whatever
// makes a state of lines (decoding, Prune, SplitByLine, MergeStates)
// calls it for each line it puts; a call
// settling a sale indexes it once settled, and a collection records its
// id itself.
func (s *State) indexCollection(id LineID, lg *ledger) {
	if lg.coll == nil {
		return
	}
	if inv := lg.coll.invoice; inv != "" {
		s.ownInvoices().put(inv, &invoiceLine{line: id, prev: s.invoices.get(inv)})
	}
	for _, c := range lg.coll.ids {
		s.markApplied(c, id)
	}
}

// markApplied records that collection or write-off c applied to line id.
func (s *State) markApplied(c string, id LineID) {
	if was, ok := s.applied.lookup(c); !ok || id < was {
		s.ownApplied().put(c, id)
	}
}

// putLine puts line id, whose ledger is lg, into a state being made of
// lines, and indexes it.
func (s *State) putLine(id LineID, lg *ledger) {
	s.lines.put(id, lg)
	s.indexCollection(id, lg)
}

// collection is what a line settled on collection records of what its
// customer owes and paid; or, onSettlement, what a line paid on
// settlement records of it as a line of its invoice (keepReceivable):
// the same balance, nothing of which awaits.
type collection struct {
	onSettlement bool // a receivable: its parts were paid on settlement
	invoice      string
	total        int64    // the line's amount plus tax: what the customer owes
	collected    int64    // of total, received
	writtenOff   int64    // of total, given up
	unfunded     int64    // of writtenOff, credits netted on the line that nothing funded (netted.go)
	credited     int64    // of total, taken off by credit notes and lost disputes (at most total)
	clawed       int64    // of the basis, what the write-offs clawed back
	awaiting     []int64  // per part, what is not payable yet
	ids          []string // the collections and write-offs applied, in order
	// pending are the credits netted on this line, of lines the customer
	// had not paid in full then (part of credited), whose share of the line
	// stays held back until their credited line closes (settleLent).
	pending []pendingCredit
	// lentTo are the invoices this line's credits were netted on while the
	// customer had not paid it in full: their lines hold them pending.
	lentTo []string
	// setOff is what credits netted on this line took off it (part of
	// credited) as no payment and nothing pending: credits of lines paid
	// on settlement, whose payment the state does not follow. Like a
	// pending credit, it is the customer's credit, not value a credit
	// note took off the line (netted.go).
	setOff int64
}

// pendingCredit is what credit credit, of line from, took off what a line
// owes, netted on its invoice before the customer paid from in full.
type pendingCredit struct {
	credit, from LineID
	units        int64
}

// owed is what the customer still owes: the total less what was paid,
// written off, and taken off by credits and lost disputes; never below
// zero (a credit after a payment leaves the customer owed a refund, which
// is the host's to pay).
func (c *collection) owed() int64 {
	return max(0, c.total-c.collected-c.writtenOff-c.credited)
}

// settled reports whether nothing is left to come on the line: its
// customer owes nothing and no credit is pending on it (netted.go), so
// nothing may await.
func (c *collection) settled() bool { return c.owed() == 0 && len(c.pending) == 0 }

// awaitingSum is what the line's parts await in all.
func (c *collection) awaitingSum() int64 {
	var a int64
	for _, u := range c.awaiting {
		a += u
	}
	return a
}

// creditTotal adds to what credits took off the customer's balance t
// units of the total (at most the total in all).
func (c *collection) creditTotal(t int64) {
	c.credited = min(c.total, c.credited+min(t, c.total))
}

// awaitingAt returns what part i of l awaits the customer's payment.
func (l *ledger) awaitingAt(i int) int64 {
	if l.coll == nil {
		return 0
	}
	return l.coll.awaiting[i]
}

// awaitsPayment reports whether l's customer still owes something on it,
// or part of it still awaits payment (State.Prune keeps such a line, which
// a payment or write-off may still name). A receivable awaits nothing: it
// is kept for the lines on collection of its invoice (owedReceivable).
func (l *ledger) awaitsPayment() bool {
	return l.coll != nil && (!l.coll.onSettlement && (l.coll.owed() > 0 || slices.ContainsFunc(l.coll.awaiting, func(a int64) bool { return a != 0 })) ||
		len(l.coll.lentTo) > 0 || len(l.coll.pending) > 0) // credits pending, to be paid on it or by it
}

// owedReceivable reports whether l is a receivable its customer still
// owes something on: State.Prune keeps it, since a later payment of its
// invoice is spread over it and the invoice's lines on collection (those
// billed after the cut included).
func (l *ledger) owedReceivable() bool {
	return l.coll != nil && l.coll.onSettlement && l.coll.invoice != "" && l.coll.owed() > 0
}

// clone returns a copy of c that shares no slice with it.
func (c *collection) clone() *collection {
	out := *c
	out.awaiting, out.ids = slices.Clone(c.awaiting), slices.Clone(c.ids)
	out.pending, out.lentTo = slices.Clone(c.pending), slices.Clone(c.lentTo)
	return &out
}

// basisShare returns the share of a line's basis that s of its total
// stands for, basis × s / total, rounded to the nearest unit (zero when the
// total is): a half up for payments, down for write-offs (writeOff). The
// opposite halves make a payment and a write-off that cover the whole total
// between them take exactly the basis, in either order (both half up, a
// line of 1.00 + 1.00 tax paid 0.01, a share of 0.005 so 0.01, then written
// off 1.99, a share of 0.995 so 1.00, would take 1.01).
func basisShare(basis, s, total int64, writeOff bool) int64 {
	if total == 0 {
		return 0
	}
	t := big.NewInt(total)
	n := new(big.Int).Mul(big.NewInt(basis), big.NewInt(s))
	n.Lsh(n, 1).Add(n, t)
	if writeOff {
		n.Sub(n, big.NewInt(1))
	}
	return n.Quo(n, t.Lsh(t, 1)).Int64() // floor((2·b·s + t [- 1]) / 2t), all non-negative
}

// totalShare returns the share of a line's total that x of its basis
// stands for, total × x / basis, rounded half up (the whole total when the
// basis is zero).
func totalShare(x, basis, total int64) int64 {
	if basis == 0 {
		return total
	}
	return basisShare(total, x, basis, false)
}

// creditOver takes a credit note of k (of the total) off what the
// customer owes on c and returns what of it the line's balance cannot
// hold, which spillPending moves to the invoice's other lines: what the credits
// would take beyond the total, and at least what the credits pending on
// the line and its set-off take beyond what the customer did not pay
// otherwise (a pending credit or a set-off is no payment: with the line's
// value now lower, it is what comes off elsewhere first, the customer's
// cash after it).
func (c *collection) creditOver(k int64) int64 {
	over := max(c.credited+k-c.total, min(c.pendingSum()+c.setOff, c.credited+k+c.collected+c.writtenOff-c.total), 0)
	c.credited += k - over
	return over
}

// awaitingTotal is what line l on collection, whose record is c, must
// hold back in all: nothing once the customer owes nothing and no credit
// is pending on it; else what it has unreversed (its basis less what
// credits, lost disputes and write-offs took back) less the share of its
// basis the customer paid, never below zero (a credit after a payment
// takes from what was paid). A credit pending on the line is no payment
// yet: its share stays held back until it is funded (netted.go). A line an
// open dispute holds awaits what it has unreversed less what the dispute
// holds; one a dispute of part of it holds (Settler.DisputeAmount) awaits
// what its parts await: what they awaited when the dispute opened, less
// what payments and credits of its undisputed part took off it since.
func awaitingTotal(l *ledger, c *collection) int64 {
	if c.onSettlement {
		return 0 // a receivable: its parts were paid on settlement
	}
	if l.disputed() && !l.wholeDispute() {
		// What it awaited when the dispute opened, less what payments of
		// the undisputed part released since (as on a line not disputed)
		// and what credits of it took off what awaits; what credits
		// netted on it and funded meanwhile paid awaits the dispute's end
		// (catchUp).
		return c.awaitingSum()
	}
	if l.disputed() {
		// A dispute holds what was payable when it opened: what is paid
		// meanwhile awaits its end (catchUp).
		var u int64
		for i := range l.parts() {
			u += l.unreversed(i) - l.disputes.held[i] - l.disputes.heldByReserves(i) // what was payable, reserved or not
		}
		return max(0, u)
	}
	return owedAwaiting(l, c)
}

// owedAwaiting is what line l on collection, whose record is c, holds
// back when no dispute holds it: nothing once the customer owes nothing
// and no credit is pending on it, else what it has unreversed less the
// share of its basis the customer paid, never below zero. A line an open
// dispute of an amount holds awaits at least as much (what was paid while
// it held the line by credits netted on it and funded awaits its end).
func owedAwaiting(l *ledger, c *collection) int64 {
	if c.settled() {
		return 0
	}
	return max(0, l.basis-l.credited-basisShare(l.basis, c.collected, c.total, false))
}

// keepReceivable records what the customer owes on sale line l, paid on
// settlement into lg, as a line of its invoice (l.Invoice, not empty): its
// amount plus tax, a balance that the invoice's payments, write-offs and
// credits come off as they come off its lines on collection, in
// proportion, while nothing of it awaits (its parties were paid on
// settlement). A settler keeps it only when a plan of its pays on
// collection.
func keepReceivable(l *Line, lg *ledger) error {
	total, err := basisUnits(l, true)
	if err != nil {
		return err
	}
	lg.coll = &collection{onSettlement: true, invoice: l.Invoice, total: total, awaiting: make([]int64, lg.parts())}
	return nil
}

// awaitCollection holds back every part of sale line l, just split into
// lg, until its customer pays: a KindUncollected entry of each part's
// amount, id "<part id>#uncollected".
func (r *run) awaitCollection(l *Line, lg *ledger) error {
	total, err := basisUnits(l, true)
	if err != nil {
		return err
	}
	n := lg.parts()
	c := &collection{invoice: l.Invoice, total: total, awaiting: make([]int64, n)}
	for i := range n {
		u := lg.units(i)
		c.awaiting[i] = u
		if u != 0 {
			r.entries = append(r.entries, collectEntry(lg, i, lg.entryID(i)+"#uncollected", lg.line, KindUncollected, 0, u, false, l.Date,
				"payable when the customer pays", lg.trace))
		}
	}
	lg.coll = c
	return nil
}

// collectEntry returns an entry of kind KindUncollected or KindCollected
// of part i of lg, acting on the part's entry, that moves what the part
// awaits between lo and hi (the amount hi − lo, negated with neg; see
// ledger.span).
func collectEntry(lg *ledger, i int, id EntryID, line LineID, kind EntryKind, lo, hi int64, neg bool, at time.Time, note string, trace []ensemble.Ref) Entry {
	pe, c := lg.payee(i), lg.ctx
	amount, conv := lg.span(i, lo, hi, neg)
	return Entry{ID: id, Line: line, Kind: kind, Party: pe.party, Role: pe.meta.role, Amount: amount,
		Date: at, Plan: *c.plan, Node: pe.meta.node, Service: c.service, Offer: c.offer, Route: c.route, Seller: c.seller,
		Reverses: lg.entryID(i), Note: note, Conversion: conv, Trace: trace}
}

// releaseAwaiting updates nl, which reverse just took parts (per part)
// from, so that it holds back no more than the customer still owes: each
// part's reversal comes out of what it awaits first, and what the credit
// takes off the customer's balance beyond that releases the others'
// awaiting amounts in proportion to them. Each change is a negative
// KindUncollected entry "<by>:<part path>#uncollected".
func (r *run) releaseAwaiting(lg, nl *ledger, parts []int64, by string, at time.Time, note string, trace []ensemble.Ref) error {
	if lg.coll == nil {
		return nil
	}
	c := lg.coll.clone()
	n := lg.parts()
	drop := c.awaitingSum() - awaitingTotal(nl, c)
	d := make([]int64, n)
	rest := make([]int64, n)
	var own int64
	for i := range n {
		d[i] = min(parts[i], c.awaiting[i])
		rest[i] = c.awaiting[i] - d[i]
		own += d[i]
	}
	if x := drop - own; x > 0 {
		shares := make([]ensemble.Share, n)
		for i := range n {
			shares[i] = ensemble.Share{Key: string(lg.entryID(i)), Weight: ensemble.RatioFromInt(rest[i])}
		}
		more := make([]int64, n)
		if err := ensemble.AllocateUnits(more, x, shares, ensemble.AllocateOptions{}); err != nil {
			return err
		}
		for i := range n {
			d[i] += more[i]
		}
	}
	var cp *cplan
	for i := range n {
		if d[i] == 0 {
			continue
		}
		c.awaiting[i] -= d[i]
		id := EntryID(partID(by, lg.payee(i)) + "#uncollected")
		r.entries = append(r.entries, collectEntry(lg, i, id, LineID(by), KindUncollected, c.awaiting[i], c.awaiting[i]+d[i], true, at,
			note+awaitingNote(parts[i]), trace))
		// Beyond what the part's own reversal took of what it awaited, the
		// release makes it payable without a payment (a credit or
		// write-off borne by others): the leaf's reserve holds its ratio
		// of that as of a payment's.
		if paid := d[i] - parts[i]; paid > 0 {
			if cp == nil {
				var err error
				if cp, err = r.s.collectPlan(lg); err != nil {
					return err
				} else if cp == nil {
					continue
				}
			}
			if err := r.collectReserve(cp, lg, nl, i, id, LineID(by), paid, note, at, trace); err != nil {
				return err
			}
		}
	}
	nl.coll = c
	return nil
}

// awaitingNote ends the note of an uncollected entry a credit or
// write-off makes: off what awaits the customer's payment for a part it
// reversed (reversed units of it); for another part, what awaits is cut
// to what the customer still owes (a credit borne by a supplier: the
// others did not bear it, and are not told they did).
func awaitingNote(reversed int64) string {
	if reversed == 0 {
		return ", not borne by this party: what it awaits of the customer's payment is cut to what the customer still owes"
	}
	return ", off what awaits the customer's payment"
}

// Collect applies a payment of the customer: on each line it pays (of
// c.Invoice, or c.Lines), the same fraction of the line becomes payable
// to every party. The line's share of the basis paid in all (basis ×
// collected / total, of the line as settled, whatever credits took off
// it since; half away from zero) is allocated over what the parts have
// unreversed (their amounts less what credits, lost disputes and
// write-offs took back: a credit borne by one party leaves the others'
// shares of later payments as they were) by largest remainder (ties by
// entry id), so the parts' payable
// amounts add up to it exactly and none exceeds its exact share rounded up
// (nor what it has unreversed); each part is released what it lacks of
// its allocation; where largest remainder is not monotone in what was paid,
// or credits left a part awaiting less than it lacks, the others' releases
// make up the difference in proportion, so the line's releases still add
// up to the share paid. Never more is released than awaits, and a payment
// after which the customer owes nothing on the line releases all that
// awaits. Each release is a KindCollected entry "<part id>#collected.<c.ID>"
// dated c.Date.
//
// What the customer owes on a line is counted in money of the invoice:
// its amount plus tax, less what was paid and written off, and less what
// credit notes (their amount plus tax) and lost disputes (the share of the
// total their basis stands for) took off it. A credit note that leaves
// nothing owed takes back with it what would still await payment (a unit,
// where its tax was rounded otherwise than the line's), beyond what was
// paid, is pending, or was set off (LedgerCollection.SetOff). A credit of a line
// of another invoice given on this one (Line.Invoice: a proration credit
// on the next invoice) is netted here: it comes off what this invoice's
// lines owe, in proportion, and not off the credited line's balance, so
// the customer pays each invoice its total. It is a payment of them when
// the customer had paid the credited line in full (the money for it funds
// the credit), else no payment: the lines become payable as the rest is
// paid (at once for a line it leaves owing nothing).
//
// A disputed line takes no payment: a collection of an invoice goes to
// its lines no dispute holds (the customer pays what it does not dispute);
// a line a dispute of an amount holds takes a payment of its undisputed
// amount unpaid, in proportion to it (see Settler.DisputeAmount).
//
// An invoice may mix lines on collection with lines paid on settlement:
// a settler with a plan payable on collection keeps, for each line paid
// on settlement with Line.Invoice, what the customer owes on it
// (LedgerLine.Receivable: its amount plus tax, less what was paid,
// written off and credited), so that a payment of the invoice, a write-off
// of it and a credit netted on it go to all its lines in proportion to
// what each owes, as the customer pays the invoice as a whole: the lines
// on collection get their share, the receivables theirs, which releases
// and claws back nothing (their parties were paid on settlement). On an
// invoice of EUR 484.00 paid on settlement and 605.00 on collection, a
// payment of 544.50 pays the line on collection 302.50, not 544.50. A
// payment naming lines may name receivables too. A credit of a
// receivable is taken off its balance, or netted on another invoice as a
// credit of a line on collection is: a payment of that invoice's lines
// when the customer had paid the receivable in full, else set off on them
// (LedgerCollection.SetOff: no payment, and nothing pending). Lines paid on
// settlement keep no receivable when no plan of the settler pays on
// collection, or when they have no invoice, or were settled before this
// record was kept (a state of binary version 8 or older): their invoices
// then count their lines on collection alone, as before.
//
// A credit netted while its credited line was owed on is pending on the
// lines it went to, its share held back, until the credited line is
// closed (it owes nothing): then what the customer paid for it beyond its
// value funds the credit (all of it when paid in full; a write-off of the
// credited line comes off its lent credits first): a payment of those
// lines (KindCollected entries "<part id>#collected.<credit>#funded"; on
// a disputed line, released when the dispute is resolved); the rest is
// written off there ("<line>#writeoff.<credit>#unfunded"). These entries,
// and those of a credit netted as a payment, are dated at the collection
// (or the credit), or at the line's own date when that is later: a credit
// dated at a change before the later invoice's lines never makes them
// payable before they were sold.
//
// Limits: credits netted both ways between two invoices, with part of
// one written off, may leave some cash to lines worth nothing; a credit
// note taking back the write-off that left a line's lent credits unfunded
// does not fund them afresh. Netting
// and spilling skip disputed lines and do not
// come back to them, and a lost dispute's cash (a funded netted credit on
// the line included) goes back to the customer: the invoice then asks
// that much more than its total net of its credits (see the README's
// collections section).
//
// Errors, each a *CollectionError with st unchanged: an invalid collection
// (ErrInvalidCollection; among them one dated before a line it pays,
// named by the error, of an invoice's lines as of those named: the money
// was not received for a line not yet billed, and its entries would land
// before the sale), an id already applied (ErrCollectionApplied), an
// unknown line (ErrUnknownLine), one that pays on settlement and keeps no
// receivable (ErrNotOnCollection), a line named that is disputed, or an
// invoice whose lines all are (ErrDisputed; a payment beyond what a
// dispute of an amount leaves undisputed, of a line named or of an
// invoice whose lines owe no more in all, is a *DisputedAmountError naming
// the first such line), a currency other than the
// lines' (ErrCurrency), more than the customer owes on them
// (ErrOverCollection); a payment of a line whose plan version the settler
// does not hold, when a plan of it payable on collection keeps a leaf
// reserve (a *PlanVersionError, ErrUnknownPlanVersion: it cannot know what
// the leaves reserve), and one whose reserve would be released after year
// 9999 (ErrInvalidCollection).
//
// Reserves: on a plan whose leaf keeps a reserve (Node.Reserve), each
// KindCollected entry of the leaf's parts comes with the reserve of what
// it made payable, "<collected id>#reserve" at its date and its release
// "<collected id>#release" the reserve's days later; so does what a
// credit, write-off or lost dispute borne by others makes payable (see
// PayableOnCollection). A credit or write-off that would make a leaf's
// share payable on a line whose plan version the settler does not hold
// is refused as a payment is (ErrUnknownPlanVersion).
func (s *Settler) Collect(st State, c Collection) (Result, error) {
	return s.collect(st, c, false)
}

// WriteOff gives up collecting c.Amount on the lines of c.Invoice (or
// c.Lines), spread as Collect spreads a payment. On each line, the share
// of its basis the amount written off stands for (of the running sum of
// write-offs, basis × written off / total rounded half down where payments
// round half up, so that the two add up to the basis; never more than
// awaits, and all that awaits when the customer then owes nothing) is
// clawed back (KindClawback, Line "<line>#writeoff.<c.ID>", ids
// "<line>#writeoff.<c.ID>:<part path>#clawback"), and as much is no longer
// held back (KindUncollected entries of the negative amount,
// "...#uncollected"):
//
//   - with no c.Bearer, from every part in proportion to what it awaits
//     (largest remainder, ties by entry id): each party loses what it
//     awaited and keeps, to the cent, what was collected for it;
//   - with c.Bearer, from the bearer's parts as a credit would be (in
//     proportion to what they have unreversed, paid or not, see Bearer),
//     and the others' awaited money becomes payable by as much as the
//     bearer bore beyond what it awaited: negative KindUncollected
//     entries, not KindCollected ones, since the customer did not pay it
//     (their statements show it payable, not collected); a leaf's reserve
//     holds its ratio of it as of a payment (PayableOnCollection).
//
// A line paid on settlement (a receivable of the invoice, see Collect)
// takes its share of the write-off as it takes its share of a payment: it
// is recorded (LedgerLine.Receivable.WrittenOff), and nothing is clawed
// back from its parties, whom the plan paid on settlement (the host bears
// the loss); a bearer bears nothing there.
//
// A credit of the line settled later takes back what was written off
// before what was paid (the customer did not owe it, so it was not given
// up): what the write-off clawed back for it is part of what the credit
// reverses, so the parties keep what was collected for them. That holds
// for what a write-off gave up for the credits the line lent too (netted
// on another invoice while it was owed on, pending there: a write-off is
// theirs first): the cash the credit then leaves beyond the line's value
// funds them when the line closes, and is no refund due as well. Limit: the
// cash such a credit leaves beyond the line's value goes to the invoice's
// lines that still owe (see spillCash), never back to a line written off,
// which is not reinstated: the cash is then a refund due, where settling
// the credit before the write-off would have paid the other line.
//
// Errors are Collect's (a write-off dated before a line it writes off
// among them), and a bearer that cannot bear it (*BearerError).
func (s *Settler) WriteOff(st State, c Collection) (Result, error) {
	return s.collect(st, c, true)
}

// collect is Collect and WriteOff.
func (s *Settler) collect(st State, c Collection, writeOff bool) (Result, error) {
	fail := func(line LineID, err error) (Result, error) {
		return Result{}, &CollectionError{Collection: c.ID, Line: line, Err: err}
	}
	ids, err := c.check(writeOff)
	if err != nil {
		return fail("", err)
	}
	// The invoice's lines, and the first line in id order the collection
	// was applied to, as the state indexes them.
	byInvoice := c.Invoice != ""
	if byInvoice {
		for l := st.invoices.get(c.Invoice); l != nil; l = l.prev {
			ids = append(ids, l.line)
		}
	}
	applied := st.applied.get(c.ID)
	if byInvoice {
		if len(ids) == 0 {
			// The lines of an invoice are those settled with its id as
			// Line.Invoice under a plan payable on collection, and its
			// receivables.
			why := " (its lines are those settled with Line.Invoice " + strconv.Quote(c.Invoice) +
				", which InvoiceOptions.Invoice sets, by a plan payable on collection, or by any plan of a settler with one)"
			if !st.window.IsZero() {
				why = " (the state was pruned: it keeps only lines still awaiting payment)"
			}
			return fail("", fmt.Errorf("%w: %w: no line of invoice %q awaits collection%s", ErrInvalidCollection, ErrUnknownInvoice, c.Invoice, why))
		}
		slices.Sort(ids)
	}
	if applied != "" {
		return fail(applied, ErrCollectionApplied)
	}
	if byInvoice {
		// A disputed line takes no payment: one of the invoice goes to its
		// other lines (the customer pays what it does not dispute); a line
		// a dispute of an amount holds takes, as they do, a payment of
		// what it does not dispute, and no write-off.
		var disputed LineID
		ids = slices.DeleteFunc(ids, func(id LineID) bool {
			lg := st.lines.get(id)
			if lg == nil || !lg.disputed() || !writeOff && !lg.wholeDispute() {
				return false
			}
			if disputed == "" {
				disputed = id
			}
			return true
		})
		if len(ids) == 0 {
			return fail(disputed, ErrDisputed)
		}
	}
	amount, err := c.Amount.MinorUnits()
	if err != nil {
		return fail("", fmt.Errorf("%w: amount: %w", ErrInvalidCollection, err))
	}
	owed := make([]int64, len(ids))
	var all, allOwed int64
	var short LineID // the first line a dispute of an amount holds that owes more than it may be paid
	for i, id := range ids {
		lg := st.lines.get(id)
		switch {
		case lg == nil:
			return fail(id, ErrUnknownLine)
		case lg.coll == nil:
			return fail(id, ErrNotOnCollection)
		case lg.disputed() && (writeOff || lg.wholeDispute()):
			return fail(id, ErrDisputed)
		case lg.ctx.cur != c.Amount.Currency():
			return fail(id, fmt.Errorf("%w: %s on a %s line", ErrCurrency, c.Amount, lg.ctx.cur))
		case c.Date.Before(lg.date):
			return fail(id, c.beforeLine(lg, writeOff))
		}
		owed[i] = lg.coll.owed()
		allOwed += min(owed[i], math.MaxInt64-allOwed)
		if lg.disputed() {
			// A dispute of an amount: the line takes a payment of what
			// the customer does not dispute, what it owes beyond the
			// disputed amount's share of its total.
			if _, u := lg.disputedOwed(); u < owed[i] {
				owed[i] = u
				if short == "" {
					short = id
				}
			}
		}
		all += min(owed[i], math.MaxInt64-all) // more than an int64 is more than any amount
	}
	if amount > all && short != "" && amount <= allOwed {
		lg := st.lines.get(short)
		d, u := lg.disputedOwed()
		cur := lg.ctx.cur
		return fail(short, &DisputedAmountError{Line: short, Payment: true, Disputed: ensemble.MoneyFromMinor(d, cur),
			Undisputed: ensemble.MoneyFromMinor(u, cur), Asked: c.Amount})
	}
	if amount > all {
		verb := "paid"
		if writeOff {
			verb = "written off"
		}
		return fail("", fmt.Errorf("%w: %s %s, %s owed", ErrOverCollection, c.Amount, verb, ensemble.MoneyFromMinor(all, c.Amount.Currency())))
	}
	r := s.newRun(context.Background(), st, 0)
	defer r.release()
	if id, err := r.payLines(ids, owed, amount, &c, c.Date.UTC(), writeOff); err != nil {
		return fail(id, err)
	}
	// A line the customer now owes nothing on settles its credits netted
	// on other invoices while it was owed on: funded if it was paid in
	// full, written off there if not.
	for _, id := range ids {
		if err := r.settleLent(r.st.lines.get(id), c.Date.UTC()); err != nil {
			return fail(id, err)
		}
	}
	if err := duplicateEntry(r.entries); err != nil {
		return fail("", err)
	}
	r.st.seal()
	return Result{Entries: r.entries, State: r.st}, nil
}

// payLines applies amount (at most what the lines ids owe in all, owed)
// of payment or write-off c to them, in proportion to what each owes
// (largest remainder, ties by line id), and returns the line that failed.
func (r *run) payLines(ids []LineID, owed []int64, amount int64, c *Collection, at time.Time, writeOff bool) (LineID, error) {
	paid, err := byOwed(ids, owed, amount)
	if err != nil {
		return "", err
	}
	for i, id := range ids {
		if paid[i] == 0 {
			continue
		}
		lg := r.st.lines.get(id)
		var nl *ledger
		var err error
		if writeOff {
			nl, err = r.writeOff(lg, paid[i], c, at)
		} else {
			nl, err = r.collectLine(lg, paid[i], c, at)
		}
		if err != nil {
			return id, err
		}
		r.st.lines.put(id, nl)
		r.markApplied(c.ID, id)
	}
	return "", nil
}

// byOwed splits amount (at most what the lines ids owe in all, owed) over
// them in proportion to what each owes: largest remainder, ties by line id.
func byOwed(ids []LineID, owed []int64, amount int64) ([]int64, error) {
	shares := make([]ensemble.Share, len(ids))
	for i, id := range ids {
		shares[i] = ensemble.Share{Key: string(id), Weight: ensemble.RatioFromInt(owed[i])}
	}
	out := make([]int64, len(ids))
	err := ensemble.AllocateUnits(out, amount, shares, ensemble.AllocateOptions{})
	return out, err
}

// collectLine applies paid (of the line's total) of collection c to lg:
// the share of the basis the customer has now paid in all, allocated over
// what the parts have unreversed by largest remainder (ties by entry id;
// in proportion to their amounts unless a bearer took a credit from some
// of them), is what each
// part should have payable; each part is released what it lacks of that,
// within what it awaits. When a part already has more (largest remainder
// is not monotone in the total), the others' releases are cut back in
// proportion to them; when credits left parts awaiting less than they
// lack, the rest comes from what the others await, in proportion. Never
// more is released than awaits; and a payment after which the customer
// owes nothing releases all that awaits, so that no unit is held back
// forever where credit notes' tax rounded otherwise than the line's.
func (r *run) collectLine(lg *ledger, paid int64, c *Collection, at time.Time) (*ledger, error) {
	nl := *lg
	cl := lg.coll.clone()
	before := basisShare(lg.basis, cl.collected, cl.total, false)
	cl.collected += paid
	after := basisShare(lg.basis, cl.collected, cl.total, false)
	cl.ids = append(cl.ids, c.ID)
	nl.coll = cl
	return r.releasePaid(lg, &nl, after, min(after-before, cl.awaitingSum()), c, at)
}

// catchUp releases what line lg, on collection, holds back beyond what it
// must (awaitingTotal): credits netted on it funded while a dispute held
// it, which took no release then (a dispute holds what is payable), are
// released when the dispute is resolved (collection c, the dispute's).
func (r *run) catchUp(lg *ledger, c *Collection, at time.Time) (*ledger, error) {
	if lg.coll == nil {
		return lg, nil
	}
	x := lg.coll.awaitingSum() - awaitingTotal(lg, lg.coll)
	if x <= 0 {
		return lg, nil
	}
	nl := *lg
	nl.coll = lg.coll.clone()
	return r.releasePaid(lg, &nl, basisShare(lg.basis, nl.coll.collected, nl.coll.total, false), x, c, at)
}

// releasePaid releases x of what lg's parts await into nl (lg with its
// collection record, nl.coll, updated): all that awaits once nothing is
// left to come, else toward each part's share of after, the share of the
// basis paid in all (see collectLine).
//
// The releases are dated at, or at lg's date when that is later: a credit
// netted on lg's invoice is dated at the change it bills (a proration
// credit), which may come before lg, and the payment that funds a credit
// pending on lg may too; neither makes lg payable before it was sold, as
// Collect refuses a payment dated before a line it pays.
func (r *run) releasePaid(lg, nl *ledger, after, x int64, c *Collection, at time.Time) (*ledger, error) {
	at = later(at, lg.date.UTC())
	cl := nl.coll
	n := lg.parts()
	keys := make([]string, n)
	amounts, awaiting := make([]int64, n), make([]int64, n)
	for i := range n {
		keys[i], amounts[i], awaiting[i] = string(lg.entryID(i)), lg.unreversed(i), cl.awaiting[i]
	}
	a := cl.awaitingSum()
	release := make([]int64, n)
	var got int64
	if cl.settled() {
		x, got = a, a
		copy(release, awaiting)
	} else if x > 0 {
		target := make([]int64, n)
		if err := allocateBy(target, after, keys, amounts); err != nil {
			return nil, err
		}
		for i := range n {
			payable := lg.unreversed(i) - awaiting[i]
			release[i] = min(awaiting[i], max(0, target[i]-payable))
			got += release[i]
		}
	}
	if x == 0 {
		return nl, nil
	}
	cp, err := r.s.collectPlan(lg)
	if err != nil {
		return nil, err
	}
	switch {
	case got > x:
		cut := make([]int64, n)
		if err := allocateBy(cut, got-x, keys, release); err != nil {
			return nil, err
		}
		for i := range n {
			release[i] -= cut[i]
		}
	case got < x:
		left := make([]int64, n)
		for i := range n {
			left[i] = awaiting[i] - release[i]
		}
		more := make([]int64, n)
		if err := allocateBy(more, x-got, keys, left); err != nil {
			return nil, err
		}
		for i := range n {
			release[i] += more[i]
		}
	}
	cur := lg.ctx.cur
	note := collectionName(c) + ": " + ensemble.MoneyFromMinor(cl.collected, cur).String() + " of " + ensemble.MoneyFromMinor(cl.total, cur).String() + " paid"
	if cl.credited > 0 { // else the note reads as if the credited part were still owed
		note += ", " + ensemble.MoneyFromMinor(cl.credited, cur).String() + " credited"
	}
	trace := append(slices.Clone(lg.trace), ensemble.Ref{Kind: RefLine, ID: string(lg.line)})
	for i := range n {
		if release[i] == 0 {
			continue
		}
		cl.awaiting[i] -= release[i]
		id := lg.entryID(i) + EntryID("#collected."+c.ID)
		r.entries = append(r.entries, collectEntry(lg, i, id, lg.line, KindCollected, cl.awaiting[i], cl.awaiting[i]+release[i], false, at, note, trace))
		if cp != nil {
			if err := r.collectReserve(cp, lg, nl, i, id, lg.line, release[i], collectionName(c), at, trace); err != nil {
				return nil, err
			}
		}
	}
	return nl, nil
}

// collectPlan returns the plan version lg was settled under when it may
// keep a reserve of what its customer pays (a plan payable on collection
// with a leaf reserve), else nil; an error when the settler does not hold
// the version and so cannot know what its leaves reserve (a
// *PlanVersionError, ErrUnknownPlanVersion).
func (s *Settler) collectPlan(lg *ledger) (*cplan, error) {
	if !s.collectReserves || lg.coll == nil || lg.coll.onSettlement {
		return nil, nil
	}
	if p := s.planOf(lg); p != nil {
		if !p.leafReserves {
			return nil, nil
		}
		return p, nil
	}
	return nil, &PlanVersionError{Line: lg.line, Plan: *lg.ctx.plan, Basis: lg.ctx.basis, Err: ErrUnknownPlanVersion}
}

// collectReserve holds back the reserve of part i of lg (a line payable on
// collection under plan cp) on released, what entry id (of line line)
// just made payable, by a collection or a reversal that what names, if
// the part's leaf keeps one: its ratio of released, rounded down, a
// KindReserve entry "<id>#reserve" dated at (the collection's date; its
// note "reserve 10% until 2026-06-08, of collection PAY-1") and its
// release "<id>#release" dated the reserve's days after it. nl, lg's new
// ledger, records it (ledger.onPay), for a dispute not to hold it again.
func (r *run) collectReserve(cp *cplan, lg, nl *ledger, i int, id EntryID, line LineID, released int64, what string, at time.Time, trace []ensemble.Ref) error {
	pe := lg.payee(i)
	if pe.meta.kind != KindEarning || released <= 0 {
		return nil
	}
	n := cp.node(pe.meta.node)
	switch {
	case n == nil || !n.leaf || n.reserve == nil || n.reserve.Ratio.IsZero():
		return nil
	case pe.meta.role == "platform" && !alwaysPaid(n.role, r.s.platform):
		return nil // the platform paid as the leaf's fallback: the split reserves nothing
	}
	u := reserveUnits(n, released)
	if u <= 0 {
		return nil
	}
	until := at.AddDate(0, 0, n.reserve.Days)
	if until.Year() > 9999 {
		return fmt.Errorf("%w: date: the reserve of %s would be released on %s, after year 9999", ErrInvalidCollection, lg.entryID(i), until.Format(time.DateOnly))
	}
	x := lg.ctx
	e := Entry{Line: line, Kind: KindReserve, Party: pe.party, Role: pe.meta.role, Amount: ensemble.MoneyFromMinor(u, x.cur),
		Date: at, Plan: *x.plan, Node: pe.meta.node, Service: x.service, Offer: x.offer, Route: x.route, Seller: x.seller,
		Reverses: lg.entryID(i), Trace: trace}
	e.ID, e.Note = id+"#reserve", string(appendDate([]byte(n.reserveText), until.UTC()))+", of "+what
	r.entries = append(r.entries, e)
	e.ID, e.Kind, e.Date, e.Note = id+"#release", KindRelease, until, "reserve released"
	r.entries = append(r.entries, e)
	hs := append(slices.Clone(nl.collectReserves()), rollingHold{part: int32(i), units: u, until: until})
	nl.onPay = &hs
	return nil
}

// allocateBy splits x (>= 0, at most the weights' sum) into parts in
// proportion to weights by largest remainder, ties by keys; each part is
// at most its weight.
func allocateBy(parts []int64, x int64, keys []string, weights []int64) error {
	if x == 0 {
		return nil
	}
	shares := make([]ensemble.Share, len(keys))
	for i := range keys {
		shares[i] = ensemble.Share{Key: keys[i], Weight: ensemble.RatioFromInt(weights[i])}
	}
	return ensemble.AllocateUnits(parts, x, shares, ensemble.AllocateOptions{})
}

// writeOff applies lost (of the line's total) of write-off c to lg: the
// share of the basis it stands for, within what awaits (all of it when
// the customer then owes nothing, but the share of the credits still
// pending on it, which their funding pays), is reversed as a credit's.
//
// Its entries are dated at, or at lg's date when that is later (a credit
// netted on lg while pending, written off there when its credited line
// is closed unpaid: see releasePaid).
func (r *run) writeOff(lg *ledger, lost int64, c *Collection, at time.Time) (*ledger, error) {
	at = later(at, lg.date.UTC())
	in := *lg
	cl := lg.coll.clone()
	a := cl.awaitingSum()
	// What the line lent (its credits pending on other invoices' lines) is
	// written off first: it is what the write-off leaves unfunded there,
	// not what the line's parties are owed (see settleLent).
	lent := r.lentPending(lg)
	x := min(a, basisShare(lg.basis, max(0, cl.writtenOff+lost-lent), cl.total, true)-basisShare(lg.basis, max(0, cl.writtenOff-lent), cl.total, true))
	cl.writtenOff += lost
	if strings.HasSuffix(c.ID, unfundedSuffix) {
		cl.unfunded += lost
	}
	if cl.owed() == 0 && !lg.disputed() { // a disputed line's awaits the dispute's end (catchUp)
		x = a - min(a, basisShare(lg.basis, cl.pendingSum(), cl.total, false))
	}
	cl.ids = append(cl.ids, c.ID)
	in.coll = cl
	if cl.onSettlement {
		return &in, nil // its parties were paid on settlement: the loss is the host's
	}
	by := string(lg.line) + "#writeoff." + c.ID
	trace := append(slices.Clone(lg.trace), ensemble.Ref{Kind: RefLine, ID: string(lg.line)})
	r.line = nil
	note := "write-off " + c.ID + " of " + ensemble.MoneyFromMinor(lost, lg.ctx.cur).String()
	if strings.HasSuffix(c.ID, unfundedSuffix) {
		note = collectionName(c) + ": " + ensemble.MoneyFromMinor(lost, lg.ctx.cur).String() + " written off"
	}
	out, err := r.reverse(&in, x, by, at, note, trace, &c.Bearer, true)
	if err != nil {
		return nil, err
	}
	// What it took back, with what awaited a payment no longer owed (see
	// reverse), is the write-offs' to account for.
	out.coll.clawed += out.credited - in.credited
	return out, nil
}

// check validates c's fields and returns its lines, when it names them.
func (c *Collection) check(writeOff bool) ([]LineID, error) {
	var p ensemble.Problems
	if err := ensemble.CheckID(c.ID, ensemble.EntrySeparators); err != nil {
		p.Add("id", err)
	}
	if c.Date.IsZero() {
		p.Addf("date", "zero date")
	} else if err := checkInstant(c.Date); err != nil {
		p.Add("date", err) // its entries are dated at it
	}
	if c.Amount.Currency().IsZero() {
		p.Addf("amount", "no currency")
	} else if u, err := keptUnits(c.Amount); err != nil {
		p.Add("amount", err)
	} else if u <= 0 {
		p.Addf("amount", "a collection is a positive amount, not %s", c.Amount)
	}
	switch {
	case c.Invoice == "" && len(c.Lines) == 0:
		p.Addf("invoice", "neither an invoice nor lines")
	case c.Invoice != "" && len(c.Lines) > 0:
		p.Addf("lines", "both an invoice and lines")
	}
	for i, id := range c.Lines {
		if slices.Contains(c.Lines[:i], id) {
			p.Addf(ensemble.Path("lines", i), "line %q given twice", id)
		}
	}
	if !writeOff && !c.Bearer.IsZero() {
		p.Addf("bearer", "a collection reverses nothing, so nobody bears it")
	}
	if c.Bearer.Shortfall == ShortfallBearerOwes {
		p.Addf("bearer.shortfall", "a write-off gives up what the customer will not pay: its bearer gives back at most what it has (shortfall error or proportional), not bearer_owes")
	}
	c.Bearer.validate(&p, "bearer")
	if err := p.Err("invalid collection"); err != nil {
		return nil, invalidCollection{err.(*ensemble.ValidationError)}
	}
	ids := slices.Clone(c.Lines)
	slices.Sort(ids)
	return ids, nil
}

// beforeLine is the error of collection (or write-off) c dated before
// line lg it applies to: the customer pays, and the host gives up
// collecting, what was billed, so its entries would land in a period
// before the sale. It matches ErrInvalidCollection and names the date.
func (c *Collection) beforeLine(lg *ledger, writeOff bool) error {
	what, verb := "collection", "pays"
	if writeOff {
		what, verb = "write-off", "writes off"
	}
	var p ensemble.Problems
	p.Addf("date", "the %s is dated %s, before the line it %s, %q, dated %s", what, instantText(c.Date), verb, lg.line, instantText(lg.date))
	return invalidCollection{p.Err("invalid collection").(*ensemble.ValidationError)}
}

// invalidCollection is what is wrong with a collection's fields: it
// matches ErrInvalidCollection and unwraps to the *ValidationError, whose
// subject says it is invalid (the *CollectionError around it names it).
type invalidCollection struct{ *ensemble.ValidationError }

// Is reports whether target is ErrInvalidCollection.
func (e invalidCollection) Is(target error) bool { return target == ErrInvalidCollection }

// Unwrap returns the problems.
func (e invalidCollection) Unwrap() error { return e.ValidationError }

// LedgerCollection is the JSON form of what a line payable on collection
// records: what its customer owes (Total, the line's amount plus tax),
// paid, had written off and had taken off by credit notes and lost
// disputes (Credited, at most Total), what the write-offs clawed back of
// the basis (WriteOffClawback), and the collections and write-offs
// applied. Each part's LedgerPart.Awaiting is what of it is not payable
// yet. A credit netted on the line from another invoice counts in
// Credited while Pending; funded, it moves to Collected (collection
// "<credit>#funded"); unfunded, to WrittenOff and Unfunded
// ("<credit>#unfunded"), its share of the basis clawed back
// (WriteOffClawback).
type LedgerCollection struct {
	Invoice          string         `json:"invoice,omitempty"`
	Total            ensemble.Money `json:"total"`
	Collected        ensemble.Money `json:"collected"`
	WrittenOff       ensemble.Money `json:"written_off"`
	Credited         ensemble.Money `json:"credited,omitzero"`
	WriteOffClawback ensemble.Money `json:"write_off_clawback,omitzero"`
	IDs              []string       `json:"ids,omitempty"`
	// Pending are the credits netted on this line (part of Credited) of
	// lines the customer had not paid in full when they were settled: their
	// share of the line awaits until their credited line is closed, then
	// is funded (collection "<credit>#funded") by what the customer paid
	// for it beyond its value, or clawed back ("<credit>#unfunded").
	Pending []PendingCredit `json:"pending,omitempty"`
	// LentTo are the invoices this line's credits were so netted on.
	LentTo []string `json:"lent_to,omitempty"`
	// Unfunded is the part of WrittenOff that is credits netted on this
	// line from another invoice that nothing funded ("<credit>#unfunded"):
	// the customer got them, so a later credit note of the line does not
	// take them back as it takes back what the host wrote off.
	Unfunded ensemble.Money `json:"unfunded,omitzero"`
	// SetOff is the part of Credited that credits of lines paid on
	// settlement netted on this line took off it: the customer's credit,
	// no payment and not pending (the state does not follow what the
	// customer paid of those lines). The line becomes payable as the
	// customer pays the rest (all of it once it owes nothing); a write-off
	// of the rest takes the set-off's share back with it; a credit note
	// that leaves the line worth less than what was paid and set off moves
	// the set-off first to the invoice's other lines that owe.
	SetOff ensemble.Money `json:"set_off,omitzero"`
}

// Owed is what the customer still owes on the line: its total less what
// was paid, written off and credited (credits pending on it included:
// they come off what it owes, funded or written off later), never below
// zero. An error is a record whose amounts are in different currencies.
func (c *LedgerCollection) Owed() (ensemble.Money, error) {
	rest, err := c.rest()
	if err != nil || rest.IsNegative() {
		return ensemble.MoneyFromMinor(0, c.Total.Currency()), err
	}
	return rest, nil
}

// RefundDue is what the customer paid on the line beyond what it owed in
// all (a credit after its payment, when no other line of its invoice owed
// what it left): the host's to pay back, or to carry to the customer's
// next invoice; zero when it owes something or nothing more.
func (c *LedgerCollection) RefundDue() (ensemble.Money, error) {
	rest, err := c.rest()
	if err != nil {
		return ensemble.MoneyFromMinor(0, c.Total.Currency()), err
	}
	// Beyond the total less credits and write-offs, what was collected
	// is due back, up to what was collected.
	if rest.IsNegative() {
		due := rest.Neg()
		if cmp, err := due.Cmp(c.Collected); err == nil && cmp > 0 {
			due = c.Collected
		}
		return due, nil
	}
	return ensemble.MoneyFromMinor(0, c.Total.Currency()), nil
}

// rest is Total − Collected − WrittenOff − Credited.
func (c *LedgerCollection) rest() (ensemble.Money, error) {
	return ensemble.Sum(c.Total, c.Collected.Neg(), c.WrittenOff.Neg(), c.Credited.Neg())
}

// PendingCredit is a credit netted on a line before its credited line
// was paid in full: the credit, the credited line, and what it took off
// what the line owes.
type PendingCredit struct {
	Credit LineID         `json:"credit"`
	Line   LineID         `json:"line"`
	Amount ensemble.Money `json:"amount"`
}

// export returns the JSON form of c, of a line in cur.
func (c *collection) export(cur ensemble.Currency) *LedgerCollection {
	m := func(u int64) ensemble.Money { return ensemble.MoneyFromMinor(u, cur) }
	out := &LedgerCollection{Invoice: c.invoice, Total: m(c.total), Collected: m(c.collected), WrittenOff: m(c.writtenOff),
		IDs: slices.Clone(c.ids)}
	if c.credited != 0 {
		out.Credited = m(c.credited)
	}
	if c.clawed != 0 {
		out.WriteOffClawback = m(c.clawed)
	}
	for _, p := range c.pending {
		out.Pending = append(out.Pending, PendingCredit{Credit: p.credit, Line: p.from, Amount: m(p.units)})
	}
	out.LentTo = slices.Clone(c.lentTo)
	if c.unfunded != 0 {
		out.Unfunded = m(c.unfunded)
	}
	if c.setOff != 0 {
		out.SetOff = m(c.setOff)
	}
	return out
}

// collection reads lc, the collection record of line l (read from ll),
// whose parts await awaits, or with onSettlement its receivable, checking:
//
//   - a receivable names its invoice, and has no write-off clawback and
//     no lent_to (what it lent is set off, not pending);
//   - every amount is in the line's currency, whole minor units and not
//     negative; the total is at least the basis (the basis of a gross
//     line is its total); what credits took off is at most the total, and
//     what write-offs clawed back at most the basis;
//   - what was collected and written off adds up to at most the total
//     (ErrOverCollection);
//   - something collected or written off names the collections and
//     write-offs applied (ids): none is no payment;
//   - the ids are valid (ensemble.CheckID, without ':' or '#'; or a
//     credit line's id and "#netted", for a line a credit paid, or left
//     owing nothing: a netted credit, or what a credited line of its
//     invoice held beyond its value; or "#funded", for a pending credit
//     paid) and each is applied once (ErrCollectionApplied);
//   - pending credits name valid credit and credited line ids (not the
//     line's own), each pair once, with positive whole amounts adding up,
//     with the set-off, to at most what credits took off, nor, with what
//     was collected and written off, to more than the total; lent_to
//     names each invoice once;
//   - when the parts read (sums), they await in all nothing once the
//     customer owes nothing, else what it still owes of the basis: the
//     unreversed basis (less what credits, lost disputes and write-offs
//     took back) less the share of the basis collected (basis × collected
//     / total, half up), never below zero; so the parts' payable amounts
//     (unreversed less awaiting) never add up beyond the share of what was
//     paid, but when the customer paid all it owes; a line an open
//     dispute holds awaits what it has unreversed less what the dispute
//     holds (what is paid meanwhile is released at its end), one a
//     dispute of an amount holds at least what it would not disputed
//     (a payment of its undisputed part releases what it would).
func (r *stateReader) collection(path string, ll *LedgerLine, lc *LedgerCollection, onSettlement bool, l *ledger, awaits []int64, sums bool) *collection {
	id, cur := ll.Line, l.ctx.cur
	ok := true
	units := func(field string, m ensemble.Money) int64 {
		u, uOK := r.units(path+"."+field, id, "", field, m, cur)
		if uOK && u < 0 {
			r.fail(path+"."+field, id, "", nil, "negative %s %s", field, m)
			uOK = false
		}
		ok = ok && uOK
		return u
	}
	optional := func(field string, m ensemble.Money) int64 { // omitted when zero
		if m.Currency().IsZero() && m.IsZero() {
			return 0
		}
		return units(field, m)
	}
	c := &collection{onSettlement: onSettlement, invoice: lc.Invoice, total: units("total", lc.Total), collected: units("collected", lc.Collected),
		writtenOff: units("written_off", lc.WrittenOff), credited: optional("credited", lc.Credited),
		clawed: optional("write_off_clawback", lc.WriteOffClawback), unfunded: optional("unfunded", lc.Unfunded),
		setOff: optional("set_off", lc.SetOff), awaiting: awaits}
	if !ok {
		return c
	}
	switch {
	case onSettlement && c.clawed != 0:
		r.fail(path+".write_off_clawback", id, "", ErrNotOnCollection, "a write-off clawed back %s of a line paid on settlement", lc.WriteOffClawback)
		ok = false
	case onSettlement && lc.Invoice == "":
		r.fail(path+".invoice", id, "", nil, "a receivable of no invoice")
		ok = false
	case c.unfunded > c.writtenOff:
		r.fail(path+".unfunded", id, "", nil, "unfunded credits of %s exceed what was written off, %s", lc.Unfunded, lc.WrittenOff)
		ok = false
	case c.credited > c.total:
		r.fail(path+".credited", id, "", nil, "credited %s exceeds the total %s", lc.Credited, lc.Total)
		ok = false
	case c.clawed > l.basis:
		r.fail(path+".write_off_clawback", id, "", nil, "write-offs clawed back %s of a basis of %s", lc.WriteOffClawback, ll.Basis)
		ok = false
	case c.total < l.basis:
		r.fail(path+".total", id, "", nil, "total %s is less than the basis %s", lc.Total, ll.Basis)
		ok = false
	case l.ctx.basis == BasisGross && c.total != l.basis:
		r.fail(path+".total", id, "", nil, "total %s is not the basis %s of a gross line", lc.Total, ll.Basis)
		ok = false
	case c.collected > c.total-c.writtenOff:
		r.fail(path+".collected", id, "", ErrOverCollection, "collected %s and written off %s exceed the total %s", lc.Collected, lc.WrittenOff, lc.Total)
		ok = false
	}
	for j, cid := range lc.IDs {
		if err := validCollectionID(cid); err != nil {
			r.fail(ensemble.Path(path, "ids", j), id, "", err, "invalid collection id")
		} else if slices.Contains(lc.IDs[:j], cid) {
			r.fail(ensemble.Path(path, "ids", j), id, "", ErrCollectionApplied, "collection %q applied twice", cid)
		}
	}
	if ok && len(lc.IDs) == 0 && c.collected+c.writtenOff > 0 {
		// Every payment and write-off records its id: a record of money
		// paid by none is an edit (a receivable paid so would fund its
		// credits netted on other invoices as a payment).
		r.fail(path+".ids", id, "", nil, "collected %s and written off %s, but no collection or write-off was applied", lc.Collected, lc.WrittenOff)
	}
	c.ids = slices.Clone(lc.IDs)
	var pending int64
	for j, p := range lc.Pending {
		pp := ensemble.Path(path, "pending", j)
		if err := ensemble.CheckLineID(string(p.Credit)); err != nil {
			r.fail(pp+".credit", id, "", err, "invalid credit id")
		}
		if err := ensemble.CheckLineID(string(p.Line)); err != nil || p.Line == id {
			r.fail(pp+".line", id, "", err, "invalid credited line %q", p.Line)
		}
		u, uOK := r.units(pp+".amount", id, "", "amount", p.Amount, cur)
		if uOK && u <= 0 {
			r.fail(pp+".amount", id, "", nil, "a pending credit of %s: want a positive amount", p.Amount)
			uOK = false
		}
		if slices.ContainsFunc(lc.Pending[:j], func(q PendingCredit) bool { return q.Credit == p.Credit && q.Line == p.Line }) {
			r.fail(pp, id, "", ErrCollectionApplied, "credit %q of line %q pending twice", p.Credit, p.Line)
			uOK = false
		}
		if uOK {
			pending += u
			c.pending = append(c.pending, pendingCredit{credit: p.Credit, from: p.Line, units: u})
		}
	}
	switch {
	case pending > c.credited:
		r.fail(path+".pending", id, "", nil, "pending credits of %s exceed what credits took off, %s",
			ensemble.MoneyFromMinor(pending, cur), lc.Credited)
	case c.collected+c.writtenOff+pending > c.total: // paid, they would be more than the total
		r.fail(path+".pending", id, "", ErrOverCollection, "pending credits of %s, with %s collected and %s written off, exceed the total %s",
			ensemble.MoneyFromMinor(pending, cur), lc.Collected, lc.WrittenOff, lc.Total)
	case ok && pending+c.setOff > c.credited:
		r.fail(path+".set_off", id, "", nil, "a set-off of %s, with pending credits of %s, exceeds what credits took off, %s",
			lc.SetOff, ensemble.MoneyFromMinor(pending, cur), lc.Credited)
	case ok && c.collected+c.writtenOff+pending+c.setOff > c.total:
		r.fail(path+".set_off", id, "", ErrOverCollection, "a set-off of %s, with pending credits of %s, %s collected and %s written off, exceeds the total %s",
			lc.SetOff, ensemble.MoneyFromMinor(pending, cur), lc.Collected, lc.WrittenOff, lc.Total)
	}
	for j, inv := range lc.LentTo {
		switch {
		case onSettlement:
			r.fail(ensemble.Path(path, "lent_to", j), id, "", nil, "a line paid on settlement lends no pending credit, to invoice %q", inv)
		case inv == "" || slices.Contains(lc.LentTo[:j], inv):
			r.fail(ensemble.Path(path, "lent_to", j), id, "", nil, "invoice %q empty or given twice", inv)
		}
	}
	c.lentTo = slices.Clone(lc.LentTo)
	if ok && sums {
		switch got, want := c.awaitingSum(), awaitingTotal(l, c); {
		case l.disputed() && !l.wholeDispute() && !c.onSettlement && got < owedAwaiting(l, c):
			// Paid while a dispute of an amount held it, the line releases
			// what a payment releases, never more.
			r.fail(path, id, "", nil, "the parts await %s, less than the %s the customer still owes of the basis",
				ensemble.MoneyFromMinor(got, cur), ensemble.MoneyFromMinor(owedAwaiting(l, c), cur))
		case got != want:
			r.fail(path, id, "", nil, "the parts await %s, not the %s the customer still owes of the basis",
				ensemble.MoneyFromMinor(got, cur), ensemble.MoneyFromMinor(want, cur))
		}
	}
	return c
}

// receivableCredits checks, after the lines and credits are read, that
// what credits took off a receivable beyond the credits of other lines
// netted on it (pending, set off) is of a credit of its line the state
// holds, or of a dispute of it: a receivable owing nothing is paid in
// full, so a credit of it netted on another invoice pays that invoice's
// lines as cash would. (A line on collection is held to what its parts
// await; a state written before set-offs were kept, version 7 or
// earlier, holds no receivable.)
func (r *stateReader) receivableCredits(in *stateIn) {
	var credited map[LineID]bool
	for i := range in.Lines {
		ll := &in.Lines[i].LedgerLine
		lg := r.out.lines.get(ll.Line)
		if ll.Receivable == nil || lg == nil || lg.coll == nil || lg.disputes != nil {
			continue
		}
		c := lg.coll
		if own := c.credited - c.pendingSum() - c.setOff; own <= 0 {
			continue
		}
		if credited == nil {
			credited = map[LineID]bool{}
			for _, rec := range r.out.credits.all() {
				credited[rec.of] = true
			}
		}
		if !credited[ll.Line] {
			r.fail(ensemble.Path("lines", i, "receivable", "credited"), ll.Line, "", nil,
				"credited %s, of which %s is no other line's credit netted on it, but the state holds no credit of the line and it was never disputed",
				ll.Receivable.Credited, ensemble.MoneyFromMinor(c.credited-c.pendingSum()-c.setOff, lg.ctx.cur))
		}
	}
}
