package settlement

import (
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// EntryID identifies a payout entry. It is derived from the line id and
// the plan node path, "line:node/path" ("L1:root/channel/reseller"), with
// the party appended for nodes that pay several parties and a "#kind"
// suffix for entries other than earnings ("L1:root/channel/reseller#reserve"),
// so that the same line settled twice gives the same ids.
//
// Ids are unique by construction, across calls:
//
//	earning, supplier cost  <line>:<node path>[/<party>]  supplier costs under supplier_costs/<component>
//	reserve, its release    <earning id>#reserve, <earning id>#release
//	rolling reserve         <earning id>#rolling, <earning id>#rolling.release
//	its draw by a reversal  <credit line>:<part path>#rolling.draw, ...#rolling.draw.release (or <line>#dispute.<n>:...)
//	hold, release (dispute) <part id>#hold.<n>, <part id>#release.<n>
//	  of a reserve's release <part id>#hold.<n>.rolling, #hold.<n>.reserve, #hold.<n>.reserve.<k> (the part's k-th
//	                        reserve of a payment on collection, from the second on); #release.<n>... alike
//	clawback                <credit line>:<part path>#clawback, or <line>#dispute.<n>:<part path>#clawback
//	dispute fee             <line>#dispute.<n>:fee (the dispute's only id without a '#' suffix)
//	awaiting collection     <part id>#uncollected, <part id>#collected.<collection>
//	                        <part id>#collected.<credit line>#netted (a credit netted on the line's invoice)
//	                        <credit line or reversal>:<part path>#uncollected (a credit's, write-off's or lost dispute's)
//	payment's reserve       <part id>#collected.<collection>#reserve, ...#release (a leaf's reserve, on collection)
//	                        <credit line or reversal>:<part path>#uncollected#reserve, ...#release (of what it made payable)
//	write-off clawback      <line>#writeoff.<id>:<part path>#clawback
//	retroactive true-up     <line>:<node path>#trueup.<tier> (paid), <line>:<node path>#trueup.<tier>.funding
//	                        (its funding, by the remaining sibling or the platform); <tier> the tier crossed into
//	adjustment, payout      adjustment:<id>, payout:<id>
//
// The first ':' ends the line part (a line id, <line>#dispute.<n> or
// <line>#writeoff.<id>, which no line id spells), and after it '#' starts the suffix: line ids
// hold neither (ensemble.CheckID), and "adjustment" and "payout" are not
// line ids; node ids hold neither, and no root is named supplier_costs; route
// partners and supplier-cost components hold no '#', and a route names a
// partner once in its chain and once among its co-sellers; no collection
// id ends in "#reserve" or "#release" (a host's holds no '#', and the
// settler's end in "#netted", "#funded" or "#dispute.<n>"). The settler
// also refuses any id it would emit twice in a call (a host-built line
// listing one component's cost twice, say) with a *DuplicateEntryError.
// Ids are keys, not data: readers follow Line, Reverses and Trace, never
// parse an id.
type EntryID string

// supplierCosts is the root of the node paths of supplier costs: no
// plan's root has this id.
const supplierCosts NodeID = "supplier_costs"

// Reserved line ids: entry ids "adjustment:<id>" and "payout:<id>" are
// Adjust's and PayOut's.
const (
	lineAdjustment LineID = "adjustment"
	linePayout     LineID = "payout"
)

// reservedLine reports whether id is a line id entry ids of other kinds
// begin with.
func reservedLine(id LineID) bool { return id == lineAdjustment || id == linePayout }

// duplicateEntry returns a *DuplicateEntryError for the first id es holds
// twice, or nil. It runs once per settled line, so a line's few entries
// are compared pairwise by a fingerprint (the length and last two bytes:
// ids of one line share their beginning), and by text only when those
// agree: about 10 ns for 5 entries. Longer runs use a map, so the cost
// stays linear.
func duplicateEntry(es []Entry) error {
	var fps [24]uint64
	if len(es) > len(fps) {
		seen := make(map[EntryID]struct{}, len(es))
		for i := range es {
			if _, dup := seen[es[i].ID]; dup {
				return &DuplicateEntryError{ID: es[i].ID, First: -1, Second: -1}
			}
			seen[es[i].ID] = struct{}{}
		}
		return nil
	}
	fp := fps[:len(es)]
	for i := range es {
		id := es[i].ID
		x := uint64(len(id))
		if n := len(id); n >= 2 {
			x = x<<16 | uint64(id[n-2])<<8 | uint64(id[n-1])
		}
		fp[i] = x
		for j := range i {
			if fp[j] == x && es[j].ID == id {
				return &DuplicateEntryError{ID: id, First: -1, Second: -1}
			}
		}
	}
	return nil
}

// EntryKind says what an entry records. Amounts are signed from the
// party's side: positive is owed to the party.
type EntryKind uint8

const (
	// KindUnspecified is the zero value; no entry carries it.
	KindUnspecified EntryKind = iota
	// KindEarning is a party's share of a line (positive).
	KindEarning
	// KindSupplierCost is a supplier's wholesale cost of a bundle
	// component (positive), paid before the margin is split.
	KindSupplierCost
	// KindClawback reverses part of an earning or supplier cost
	// (negative): a credit note or a lost dispute.
	KindClawback
	// KindReserve holds back part of an earning until its release
	// (positive: the amount withheld from what is payable).
	KindReserve
	// KindRelease returns a reserve or a dispute hold to what is payable
	// (positive).
	KindRelease
	// KindHold withholds a disputed line's unreversed amount (positive).
	KindHold
	// KindAdjustment is a manual correction with a reason and approver
	// (signed).
	KindAdjustment
	// KindPayout records money paid to the party (positive: the amount
	// paid, which leaves the party's balance).
	KindPayout
	// KindFee charges a party a fee no line's split pays, such as a
	// dispute fee (negative: DisputeFee). Like an adjustment it moves
	// value between the party and the platform, which paid the fee:
	// statements fold it into Adjusted, and metrics count it as they count
	// adjustments.
	KindFee
	// KindUncollected holds back what awaits the customer's payment on a
	// line payable on collection (PayableOnCollection): positive when the
	// line is settled (the part's whole amount), negative when a credit or
	// write-off takes the amount off what the customer owes. Statements
	// fold it into Uncollected.
	KindUncollected
	// KindCollected makes payable what the customer paid (positive):
	// Settler.Collect. Statements fold it into Collected.
	KindCollected
	// KindTrueUp re-rates a window's earlier lines when a line takes a
	// retroactive cumulative share across a tier boundary (Retroactive):
	// positive to the share's party, the difference between the new
	// tier's rate and the rate the earlier lines were paid at on what the
	// rate applied to, and the same amount negative to the party funding
	// it (the share's remaining sibling, or the platform). Entries of the
	// crossing line, they move value between its parties and add none:
	// statements fold them into Earned, and metrics count them as earnings
	// that add nothing to the gross value.
	KindTrueUp
)

var kindNames = [...]string{"unspecified", "earning", "supplier_cost", "clawback", "reserve", "release", "hold", "adjustment", "payout", "fee",
	"uncollected", "collected", "true_up"}

// String returns the kind's lowercase name.
func (k EntryKind) String() string { return ensemble.EnumName(uint8(k), kindNames[:], "entry_kind") }

// MarshalText writes the kind's name.
func (k EntryKind) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(k), kindNames[:], "settlement", "entry kind")
}

// UnmarshalText reads a kind's name; "" is KindUnspecified.
func (k *EntryKind) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[uint8](b, kindNames[:], "settlement", "entry kind")
	*k = EntryKind(v)
	return err
}

// Conversion records an entry's amount (From) in another currency (To):
//
//   - on a payout made in another currency than its statement's, From is
//     the amount in the statement's currency, Rate the host-given rate
//     (payout currency units per unit of From) and To = From × Rate,
//     rounded once to To's minor unit in Mode;
//   - on the entries of a supplier cost owed in another currency than its
//     line's (catalog.SupplierCost.Source: a bundle's fixed cost in euros
//     on a dollar line), From is the entry's amount in the cost's currency,
//     which the supplier is paid, and To what it moves of the line, in the
//     line's currency; Rate is the rate the cost was converted at. The
//     supplier cost itself has To = the cost and From its source. Its
//     clawbacks, holds and releases and what awaits or is collected of it
//     take To off the part in the line's currency, and From is the same
//     share of the source, rounded half up on what the part had and has
//     left, so a line's entries add up to the source exactly in its
//     currency and to the cost in the line's (one partial entry's To may
//     differ from From × Rate by up to a minor unit of From's currency,
//     at Rate). Entry.LineAmount returns To.
type Conversion struct {
	From ensemble.Money        `json:"from"`
	Rate ensemble.Ratio        `json:"rate"`
	Mode ensemble.RoundingMode `json:"mode"`
	To   ensemble.Money        `json:"to"`
}

// Entry is one append-only payout entry: who is owed what, of which kind,
// decided by which plan node and rules, for which line.
//
// Entries share memory, so that settling costs about no allocation per
// entry: the entries of a line share one Trace slice, entries of one leaf
// whose rules agree share one Rules slice, and ids (ID, Reverses) are
// substrings of chunks of up to 16 KiB that hold the ids of many lines, of
// one call and of later calls of the same Settler; the entries Settle
// returns for a call of a few lines are themselves a window of a chunk of
// up to 32 KiB holding the entries of later calls too. None of it is ever
// written again: treat an entry's slices as read-only. A host that changes
// an entry's slices, or keeps a few entries (or ids) long after dropping
// the rest, keeps Clone's copy, which shares nothing, so the chunks can be
// freed. (Copying every entry when it is returned was measured: 8.7
// allocations and 560 bytes more per line, twice the bytes.)
//
// Compare entries with go-cmp (cmp.Equal compares amounts, instants and
// periods with their Equal methods and needs no option) or by their JSON,
// never with reflect.DeepEqual, which tells equal amounts apart by how
// they are written.
type Entry struct {
	ID     EntryID        `json:"id"`
	Line   LineID         `json:"line,omitempty"`
	Kind   EntryKind      `json:"kind"`
	Party  partner.ID     `json:"party"`
	Role   string         `json:"role,omitempty"`
	Amount ensemble.Money `json:"amount"`
	// Date is when the entry takes effect: the line's date for earnings,
	// the release date for releases. Statements fold entries by it.
	Date time.Time `json:"date"`
	// Plan is the plan version and Node the node path that decided.
	Plan ensemble.Ref `json:"plan,omitzero"`
	Node string       `json:"node,omitempty"`
	// Share is the share the node applied, as text ("20%", "rule x",
	// "remaining").
	Share string `json:"share,omitempty"`
	// Rules are the rule versions that decided the amount: the node's and
	// its ancestors' conditions and shares.
	Rules []ensemble.Ref `json:"rules,omitempty"`
	// Service is the line's service period (Line.Service): for a clawback,
	// the credit line's, which is the credited period; for the holds,
	// releases and clawbacks of a dispute, the disputed line's.
	// Adjustments and payouts have none.
	Service ensemble.Period `json:"service,omitzero"`
	// Offer, Route and Seller copy the line's, for metrics.
	Offer  catalog.Pin       `json:"offer,omitzero"`
	Route  partner.RouteKind `json:"route,omitempty"`
	Seller partner.ID        `json:"seller,omitempty"`
	// Reverses is the entry a clawback, release or hold acts on.
	Reverses EntryID `json:"reverses,omitempty"`
	// Note says why, in words: a fallback, a dispute, an adjustment's
	// reason.
	Note     string `json:"note,omitempty"`
	Approver string `json:"approver,omitempty"`
	// Conversion is set on payouts made in another currency, and on the
	// entries of a supplier cost owed in another currency than its line's
	// (see Conversion and LineAmount).
	Conversion *Conversion `json:"conversion,omitempty"`
	// Trace is the line's trace (invoice line, order line, usage...) and
	// the line itself. Its last RefLine reference is always the settled
	// line the entry belongs to or acts on: the line itself for an
	// earning, supplier cost, reserve, hold or release; the credited line
	// for a clawback (after the credit line's own reference). Readers
	// such as Explain follow it, and Reverses, never the spelling of ids.
	Trace []ensemble.Ref `json:"trace,omitempty"`
}

// LineAmount returns what the entry moves of its line in the line's
// currency: To for an entry of a supplier cost owed in another currency
// (see Conversion), else Amount. A line's earnings and supplier costs add
// up to its basis in LineAmount, whatever currency each party is paid in.
func (e *Entry) LineAmount() ensemble.Money {
	if e.Conversion != nil && e.Kind != KindPayout {
		return e.Conversion.To
	}
	return e.Amount
}

// Clone returns a copy of e that shares no memory with e or with other
// entries: its own Rules, Trace and Conversion, and ids copied out of the
// chunks they share (see Entry).
func (e Entry) Clone() Entry {
	e.ID = EntryID(strings.Clone(string(e.ID)))
	e.Reverses = EntryID(strings.Clone(string(e.Reverses)))
	e.Rules = slices.Clone(e.Rules)
	e.Trace = slices.Clone(e.Trace)
	if e.Conversion != nil {
		c := *e.Conversion
		e.Conversion = &c
	}
	return e
}
