package settlement

import (
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
type EntryID string

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
)

var kindNames = [...]string{"unspecified", "earning", "supplier_cost", "clawback", "reserve", "release", "hold", "adjustment", "payout"}

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

// Conversion records a payout currency conversion: the amount in the
// statement's currency, the host-given rate (payout currency units per
// unit of From) and To = From × Rate, rounded once to To's minor unit in
// Mode.
type Conversion struct {
	From ensemble.Money        `json:"from"`
	Rate ensemble.Ratio        `json:"rate"`
	Mode ensemble.RoundingMode `json:"mode"`
	To   ensemble.Money        `json:"to"`
}

// Entry is one append-only payout entry: who is owed what, of which kind,
// decided by which plan node and rules, for which line. Entries of one
// call share their Rules and Trace slices: treat them as read-only.
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
	// the credit line's, which is the credited period. Holds and releases
	// of a dispute, and adjustments, have none.
	Service ensemble.Period `json:"service,omitzero"`
	// Offer, Route and Seller copy the line's, for metrics.
	Offer  catalog.Pin `json:"offer,omitzero"`
	Route  RouteKind   `json:"route,omitempty"`
	Seller partner.ID  `json:"seller,omitempty"`
	// Reverses is the entry a clawback, release or hold acts on.
	Reverses EntryID `json:"reverses,omitempty"`
	// Note says why, in words: a fallback, a dispute, an adjustment's
	// reason.
	Note     string `json:"note,omitempty"`
	Approver string `json:"approver,omitempty"`
	// Conversion is set on payouts made in another currency.
	Conversion *Conversion `json:"conversion,omitempty"`
	// Trace is the line's trace (invoice line, order line, usage...) and
	// the line itself.
	Trace []ensemble.Ref `json:"trace,omitempty"`
}
