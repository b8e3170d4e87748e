package settlement

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// RefPlan is the ensemble.RefKind of a reference to a plan version.
const RefPlan ensemble.RefKind = "plan"

// Basis says which amount of a line a plan splits.
type Basis uint8

const (
	// BasisNet (the default) splits the line's amount net of tax.
	BasisNet Basis = iota
	// BasisGross splits the amount plus tax.
	BasisGross
)

var basisNames = [...]string{"net", "gross"}

// String returns the basis's lowercase name.
func (b Basis) String() string { return ensemble.EnumName(uint8(b), basisNames[:], "basis") }

// MarshalText writes the basis's name.
func (b Basis) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(b), basisNames[:], "settlement", "basis")
}

// UnmarshalText reads a basis's name; "" is BasisNet.
func (b *Basis) UnmarshalText(t []byte) error {
	v, err := ensemble.ParseEnum[uint8](t, basisNames[:], "settlement", "basis")
	*b = Basis(v)
	return err
}

// Fallback says where the share of a node goes when its party cannot be
// paid: the role resolves to nobody (no referrer on this route) or to a
// partner that cannot trade at the line's date (suspended, offboarded, not
// yet a partner). A cumulative share whose volume's role (Cumulative.Of)
// resolves so follows it too: a direct sale through a plan with a
// cumulative reseller share has no reseller volume to read.
type Fallback uint8

const (
	// FallbackRemaining (the default) leaves the share to the level's
	// remaining sibling; a level holding such a node must have one. The
	// sibling's entries, or those of every leaf below it, note whose share
	// they include and why ("includes the share of reseller, which cannot
	// be paid: the route's chain has no reseller"; an inner node's leaves
	// prefix it with the node's id: "channel includes the share of ..."),
	// so no entry reads as the sibling's own share alone when it holds
	// another's. A node with a condition is not named: its condition is
	// not evaluated when its party cannot be paid, so whether it had a
	// share on the line is not known.
	FallbackRemaining Fallback = iota
	// FallbackPlatform pays the share to the platform, with a note; a
	// cumulative share then takes the rate of a volume of zero.
	//
	// On a leaf paying several parties (co_sellers, chain[*]) a party
	// that cannot trade is a part of the node's share: with
	// FallbackPlatform the platform takes that party's weight's share (one
	// entry of the leaf's own id, noted "fallback to platform: partner X
	// cannot trade (suspended)"), and the others keep their own weights';
	// with FallbackRemaining the parties that can be paid share the node
	// by their weights, and the level's remaining sibling takes it only
	// when none can be paid. A chain[*] leaf with a level_weight rule
	// evaluates it for a level that cannot trade, to know its weight;
	// for a level that is not a partner yet it has no snapshot to read, so
	// that level is left out and the others share its part, as with
	// FallbackRemaining.
	FallbackPlatform
)

var fallbackNames = [...]string{"remaining", "platform"}

// String returns the fallback's lowercase name.
func (f Fallback) String() string { return ensemble.EnumName(uint8(f), fallbackNames[:], "fallback") }

// MarshalText writes the fallback's name.
func (f Fallback) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(f), fallbackNames[:], "settlement", "fallback")
}

// UnmarshalText reads a fallback's name; "" is FallbackRemaining.
func (f *Fallback) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[uint8](b, fallbackNames[:], "settlement", "fallback")
	*f = Fallback(v)
	return err
}

// Once says how often a node pays; in plan documents, `once: customer`.
//
// OncePerCustomer pays the node at most once per plan id, node path and
// customer (Line.Customer.ID) across the State: the first sale line on
// which the node takes a part (its condition, and those of the nodes above
// it, hold, and its part is not zero: paid to its party, or to the
// platform as its fallback) pays it, and the State records that line
// (State.OncePaid). Lines of one call are taken in canonical order (date,
// then id). A level with such a child is decided per line, as one whose
// rules read the line is. On every later line of the same customer the node
// is exactly as a node whose condition does not hold: it takes nothing,
// its share stays with its level's remaining sibling, and no entry names
// it. This is what makes "a bounty of EUR 100.00 once per new customer" a
// term of the plan rather than a host attribute on the line: an invoice
// re-issued under new line ids (a corrected invoice) with the attribute
// that the condition reads set again pays no second bounty.
//
// The record is made when the line is settled and is never taken back: a
// credit of the line that paid it (a refund, in full or in part, a lost
// dispute, a write-off) claws the node's entries back like any other's,
// and the customer does not earn it again on a later line. A host that
// re-bills a customer's first order after crediting it in full (a
// corrected invoice) and wants the bounty on the new invoice pays it with
// Adjust. Records are kept by Prune (they are small: one per customer and
// node) and by Shards (every part holds every record); Merge refuses two
// parts that recorded the same customer and node on different lines
// (ErrStateOverlap, naming both): shard lines by customer where a plan
// has such a node.
//
// A sale line settled by a plan with such a node must name its customer:
// a line without Customer.ID is ErrInvalidLine at customer.id. The node's
// level must have a remaining child, as for a condition.
type Once uint8

const (
	// OnceUnlimited (the default, "") pays the node on every line.
	OnceUnlimited Once = iota
	// OncePerCustomer ("customer") pays the node once per customer.
	OncePerCustomer
)

var onceNames = [...]string{"", "customer"}

// String returns the option's name ("" for OnceUnlimited).
func (o Once) String() string { return ensemble.EnumName(uint8(o), onceNames[:], "once") }

// MarshalText writes the option's name.
func (o Once) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(o), onceNames[:], "settlement", "once")
}

// UnmarshalText reads an option's name; "" is OnceUnlimited.
func (o *Once) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[uint8](b, onceNames[:], "settlement", "once")
	*o = Once(v)
	return err
}

// Window is the span of time a cumulative volume adds up over; in plan
// documents, "calendar_year", "rolling_12_months", "calendar_quarter" or
// "calendar_month". Any other name is refused when the plan is read
// (UnmarshalText: an *ensemble.EnumError matching ensemble.ErrUnknownEnum,
// naming the text) or compiled (New: a Window value outside the table is
// an *ensemble.ValidationError whose problem names the node's
// share.cumulative.window).
//
// A line reads the volume of the lines settled before it (in this call or
// earlier ones) that share its window, whatever their dates: a line
// settled late, after lines dated later than it, reads them too, as they
// read a volume without it. So a seller's marginal tiers are used once
// whatever order its lines' calls come in: lines within one window pay
// the schedule of their total volume, though which line pays which tier
// follows the order they were settled in (within a call, date order).
type Window uint8

const (
	// WindowCalendarYear (the default) adds up each calendar year (UTC)
	// from January 1: a line reads what its year's lines settled before
	// it added.
	WindowCalendarYear Window = iota
	// WindowRolling12Months adds up the twelve months before each line: a
	// line dated t reads the lines dated after t minus twelve months (a
	// line exactly twelve months earlier has left the window) up to t,
	// and, settled late, those dated less than twelve months after t.
	WindowRolling12Months
	// WindowCalendarQuarter adds up each calendar quarter (UTC) from
	// January 1, April 1, July 1 and October 1: one figure per partner
	// and quarter, as a calendar year is one per partner and year. A line
	// reads what its quarter's lines settled before it added, and the
	// next quarter starts again from zero (a cliff rate reached in March
	// is not paid in April until April's quarter reaches it).
	WindowCalendarQuarter
	// WindowCalendarMonth adds up each calendar month (UTC) from its
	// first day: one figure per partner and month.
	WindowCalendarMonth
)

var windowNames = [...]string{"calendar_year", "rolling_12_months", "calendar_quarter", "calendar_month"}

// windowMonths is how many months each calendar window spans; 0 for the
// rolling window, which is not a calendar period.
var windowMonths = [...]int{12, 0, 3, 1}

// calendar says whether w adds up calendar periods (one figure per partner
// and period, no points) rather than rolling.
func (w Window) calendar() bool { return w != WindowRolling12Months }

// period returns the key of the calendar period of w that instant t (UTC)
// falls in: its year, and for a quarter or month the number of its first
// month (1 to 12; 0 for a year). Zero for the rolling window.
func (w Window) period(t time.Time) (year, month int) {
	if !w.calendar() || int(w) >= len(windowMonths) {
		return 0, 0
	}
	t = t.UTC()
	if n := windowMonths[w]; n < 12 {
		return t.Year(), (int(t.Month())-1)/n*n + 1
	}
	return t.Year(), 0
}

// noun names a calendar window's period: "year", "quarter" or "month".
func (w Window) noun() string {
	switch w {
	case WindowCalendarQuarter:
		return "quarter"
	case WindowCalendarMonth:
		return "month"
	}
	return "year"
}

// hasMonth says whether w's periods are keyed by a month as well as a
// year (a quarter or a month).
func (w Window) hasMonth() bool {
	return int(w) < len(windowMonths) && windowMonths[w] > 0 && windowMonths[w] < 12
}

// validMonth says whether month is the first month of a period of w (0 for
// a year or the rolling window, which have none).
func (w Window) validMonth(month int) bool {
	if int(w) >= len(windowMonths) || windowMonths[w] == 12 || windowMonths[w] == 0 {
		return month == 0
	}
	return month >= 1 && month <= 12 && (month-1)%windowMonths[w] == 0
}

// String returns the window's lowercase name.
func (w Window) String() string { return ensemble.EnumName(uint8(w), windowNames[:], "window") }

// MarshalText writes the window's name.
func (w Window) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(w), windowNames[:], "settlement", "window")
}

// UnmarshalText reads a window's name; "" is WindowCalendarYear.
func (w *Window) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[uint8](b, windowNames[:], "settlement", "window")
	*w = Window(v)
	return err
}

// RateMode says how a cumulative rate treats the line that crosses a tier
// boundary; in plan documents, "marginal" (the default when the mode is
// left out), "cliff" or "retroactive" (share: {cumulative: {mode: cliff,
// ...}}).
type RateMode uint8

const (
	// Marginal (the default, Google Play style) splits the crossing line:
	// the part up to the boundary at the lower tier's rate, the rest at the
	// next.
	Marginal RateMode = iota
	// Cliff (Apple style) applies the rate of the tier the cumulative
	// volume reaches with the line to the whole line, and to every later
	// line of the window. It is not retroactive: the window's lines
	// settled before the crossing keep the rate they were paid at
	// (Retroactive re-rates them).
	Cliff
	// Retroactive (an "all units" volume tier, as distributor and
	// reseller programs pay it: "once this year's sales pass EUR
	// 1,000,000, 30% on all of this year's sales") pays the whole line at
	// the rate of the tier the window's volume reaches with it, as Cliff
	// does, and re-rates the window's lines settled before: the line that
	// takes the volume across a tier boundary carries, besides its
	// earning, a true-up (KindTrueUp) of (new rate − rate paid) × what the
	// node's rate applied to on the window's earlier lines, exact, rounded
	// half away from zero once, paid to the node's party and funded by the
	// node's remaining sibling when that is a leaf paying one party (the
	// part the share is taken from), else by the platform: two entries of
	// opposite amounts, so the true-up moves money within the tree and
	// creates none. The State keeps, with the volume (VolumeState.Retroactive),
	// the tier the window's lines are paid at, what the rate applied to
	// and the rate they were paid on it, so no true-up is paid twice and a
	// new plan version inside the window re-rates from the rate actually
	// paid, not its own tier's. What the rate applied to is the lines' as
	// settled: credits and lost disputes do not reduce it, with volume
	// net_of_credits too (which takes back the volume only), so a true-up
	// re-rates gross sales, refunded revenue included. A share reading the
	// volume of nobody keeps no record and pays no true-up.
	//
	// A tier reached is kept for the window: a line pays the higher of the
	// tier its volume reaches and the tier already paid, and a credit
	// (even with volume net_of_credits taking the volume back below the
	// boundary) claws back the credited line's own entries, at the rate
	// they were paid at, never the true-up. A retroactive share is a leaf
	// paying one party, over a calendar window (not rolling_12_months),
	// and its lines are in the tiers' currency: unlike Marginal and Cliff,
	// it does not count lines in other currencies converted at
	// Config.Rates (what the window's earlier lines were paid is added up
	// in the tiers' currency). New refuses a plan with a retroactive share
	// that lists a currency other than its tiers'
	// (*RetroactiveCurrencyError, ErrCurrency); a line of a plan listing
	// no currencies, in another currency than the tiers', is refused when
	// it is settled (ErrCurrency).
	Retroactive
)

var modeNames = [...]string{"marginal", "cliff", "retroactive"}

// String returns the mode's lowercase name.
func (m RateMode) String() string { return ensemble.EnumName(uint8(m), modeNames[:], "rate mode") }

// MarshalText writes the mode's name.
func (m RateMode) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(m), modeNames[:], "settlement", "rate mode")
}

// UnmarshalText reads a mode's name, "marginal", "cliff" or
// "retroactive"; "" is Marginal.
func (m *RateMode) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[uint8](b, modeNames[:], "settlement", "rate mode")
	*m = RateMode(v)
	return err
}

// VolumeMode says whether credits take back from a cumulative volume what
// the credited sale added to it.
type VolumeMode uint8

const (
	// VolumeOfSales (the default) counts every sale's basis: credits and
	// lost disputes take nothing back, so a partner keeps the volume of
	// revenue that was refunded.
	VolumeOfSales VolumeMode = iota
	// VolumeNetOfCredits takes back, from the volumes a sale added to, the
	// share of its basis a credit or a lost dispute reverses (half away
	// from zero, so that a full credit takes back exactly what the sale
	// added): every line settled after the credit reads the reduced
	// volume.
	VolumeNetOfCredits
)

var volumeModeNames = [...]string{"sales", "net_of_credits"}

// String returns the mode's lowercase name.
func (m VolumeMode) String() string {
	return ensemble.EnumName(uint8(m), volumeModeNames[:], "volume mode")
}

// MarshalText writes the mode's name.
func (m VolumeMode) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(m), volumeModeNames[:], "settlement", "volume mode")
}

// UnmarshalText reads a mode's name; "" is VolumeOfSales.
func (m *VolumeMode) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[uint8](b, volumeModeNames[:], "settlement", "volume mode")
	*m = VolumeMode(v)
	return err
}

// Tier is one band of a cumulative rate: Rate applies to volume above the
// previous tier's UpTo and up to this UpTo (inclusive). The last tier has
// no UpTo.
type Tier struct {
	UpTo ensemble.Money `json:"up_to,omitzero"`
	Rate ensemble.Ratio `json:"rate"`
}

// Cumulative is a share whose rate depends on a partner's cumulative
// volume in a window: the plans' basis of its lines (their net, or gross,
// amount, supplier costs included: a bundle line of EUR 120.00 with EUR
// 80.00 of supplier costs adds EUR 120.00, though its rate applies to the
// EUR 40.00 the plan splits).
type Cumulative struct {
	// Of is the role whose volume counts (default "seller"). On a line
	// where it names nobody who can be paid (no reseller on a direct
	// sale, a suspended partner), no volume is read or grown and the share
	// follows its node's fallback (Node.Fallback). A leaf whose own party
	// is the platform, falling back to the platform, pays it as itself:
	// its reserve is held as on any line (the State could not tell such a
	// part from one its reserve held, which a dispute must know).
	//
	// The volume is the partner's, not the node's: every line of the plan
	// naming the partner in that role adds its basis, whether or not the
	// node's condition (or an ancestor's) pays the node on that line. A
	// condition decides who is paid on a line, not what the partner sold;
	// so a referrer whose node pays only its first customer's lines still
	// climbs its tiers on the others. A rate for what a node paid on alone
	// (a yearly cap on a referral fee) is not a cumulative share: give the
	// lines it must not count another role, or keep the count in a rule
	// table.
	Of     string   `json:"of,omitempty"`
	Window Window   `json:"window"`
	Mode   RateMode `json:"mode"`
	Tiers  []Tier   `json:"tiers"`
	// Volume says whether credits and lost disputes take back from the
	// volume what the credited sale added (net_of_credits) or not (sales,
	// the default). A plan's cumulative shares agree on it.
	Volume VolumeMode `json:"volume,omitempty"`
}

// Share is how much of its parent's amount a node takes. Exactly one of
// its forms is set. In YAML a share is written "remaining", a ratio
// ("30%", "1/3", "0.25"), or an object:
//
//	share: {amount: {amount: "5.00", currency: EUR}}   # a fixed amount
//	share: {rule: reseller-share}                       # a share rule (ratio) or amount rule (fixed)
//	share: {cumulative: {window: calendar_year, mode: marginal, tiers: [...]}}
//
// An amount rule's money is paid in whole minor units of the line's
// currency: a result with more digits (line.amount * dec("0.03335") on EUR
// 100.00 is EUR 3.335) is rounded half away from zero, and the entry's
// share says from what ("EUR 3.34 (rule referral-fee@1, 3.335 rounded)").
// Round in the rule (.round(2), .floor(2)) to choose another rounding. A
// negative result is refused before it is rounded, however small (EUR
// -0.004 as EUR -5.00, never paid as a rounded zero): ErrRule, in a
// *LineError naming the line, node and rule.
type Share struct {
	Remaining bool           `json:"remaining,omitempty"`
	Ratio     ensemble.Ratio `json:"ratio,omitzero"`
	// HasRatio marks Ratio as set (a zero ratio is a valid share: the
	// node gets nothing). JSON sets it when it reads a ratio.
	HasRatio   bool           `json:"-"`
	Amount     ensemble.Money `json:"amount,omitzero"`
	Rule       string         `json:"rule,omitempty"`
	Cumulative *Cumulative    `json:"cumulative,omitempty"`
}

// IsZero reports whether no form of share is set.
func (s Share) IsZero() bool {
	return !s.Remaining && !s.HasRatio && s.Amount.IsZero() && s.Rule == "" && s.Cumulative == nil
}

type shareObject struct {
	Remaining  bool            `json:"remaining,omitempty"`
	Ratio      *ensemble.Ratio `json:"ratio,omitempty"`
	Amount     ensemble.Money  `json:"amount,omitzero"`
	Rule       string          `json:"rule,omitempty"`
	Cumulative *Cumulative     `json:"cumulative,omitempty"`
}

// MarshalJSON writes "remaining", a ratio string, or an object.
func (s Share) MarshalJSON() ([]byte, error) {
	switch {
	case s.Remaining && !s.HasRatio && s.Amount.IsZero() && s.Rule == "" && s.Cumulative == nil:
		return []byte(`"remaining"`), nil
	case s.HasRatio && !s.Remaining && s.Amount.IsZero() && s.Rule == "" && s.Cumulative == nil:
		return json.Marshal(s.Ratio.String())
	}
	o := shareObject{Remaining: s.Remaining, Amount: s.Amount, Rule: s.Rule, Cumulative: s.Cumulative}
	if s.HasRatio {
		r := s.Ratio
		o.Ratio = &r
	}
	return json.Marshal(o)
}

// UnmarshalJSON reads the forms MarshalJSON writes; a JSON number is a
// ratio, read from its text.
func (s *Share) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if str == "remaining" {
			*s = Share{Remaining: true}
			return nil
		}
		r, err := ensemble.ParseRatio(str)
		if err != nil {
			return err
		}
		*s = Share{Ratio: r, HasRatio: true}
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		var r ensemble.Ratio
		if err := r.UnmarshalJSON(b); err != nil {
			return err
		}
		*s = Share{Ratio: r, HasRatio: true}
		return nil
	}
	var o shareObject
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&o); err != nil {
		return err
	}
	*s = Share{Remaining: o.Remaining, Amount: o.Amount, Rule: o.Rule, Cumulative: o.Cumulative}
	if o.Ratio != nil {
		s.Ratio, s.HasRatio = *o.Ratio, true
	}
	return nil
}

// Reserve holds back Ratio of a node's earnings until Days days after the
// line's date. The reserve and its release are entries of their own.
type Reserve struct {
	Ratio ensemble.Ratio `json:"ratio"`
	Days  int            `json:"days"`
}

// Node is one node of a plan's tree. A leaf pays its party; an inner node
// splits its amount among its children: fixed amounts first, then ratios
// of the node's amount, and the remaining child takes the rest. The
// ratios and the remaining child's share (one less their sum) are
// divided together by largest remainder, so a ratio may round up with a
// unit the remaining child would otherwise keep.
type Node struct {
	ID NodeID `json:"id"`
	// Party is the role a leaf pays: platform, seller, top, chain[N] (N
	// levels above the seller), chain[*] (every level of the chain, by
	// level_weight), a partner type (distributor, reseller, sub_reseller,
	// ... or type:<name>: the nearest partner of that type walking up the
	// chain from the seller, the seller included: a seller of type
	// reseller is paid a reseller node too, beside the seller's own),
	// referrer, marketplace, co_sellers (the seller and its
	// co-sellers, by the route's co-sell weights, equally when it gives
	// none: see partner.Route; a route without co-sellers has no one to
	// pay, and the node's fallback applies), partner:<id>, or attributed:
	// the partner the line's usage is attributed to (Line.Attributed: the
	// contractor a usage record names, see catalog.Charge.AttributeTo). A
	// line that names none, or a value that names no partner of the network
	// who can trade at the line's date, fails with a *LineError wrapping
	// ErrAttributedParty, never paid to anyone else: give such a node the
	// condition `line.attributed != ""` where lines may not be attributed.
	Party string `json:"party,omitempty"`
	// Share is what the node takes of its parent; the root has none.
	Share Share `json:"share,omitzero"`
	// Condition names a condition rule; when it is false the node takes
	// nothing and its share goes to the remaining sibling, whose entries
	// say nothing of it (the condition is a term of the contract, and
	// its version is on the entries it decides when true).
	Condition string `json:"condition,omitempty"`
	// LevelWeight names a share rule giving each chain level's relative
	// weight (route.level is the level) for a chain[*] party; equal
	// weights without one.
	LevelWeight string `json:"level_weight,omitempty"`
	// Cap and Floor bound the node's amount; the difference comes from or
	// goes to the remaining sibling. Zero means none. The node's share text
	// says "capped at EUR 50.00" (or "floor EUR 5.00"), and the sibling's
	// entries, or those of the leaves below it, say how much moved and
	// why: "includes EUR 12.00 above the cap of reseller", "less EUR 2.00
	// to meet the floor of referral".
	Cap   ensemble.Money `json:"cap,omitzero"`
	Floor ensemble.Money `json:"floor,omitzero"`
	// Fallback says where the share goes when the party cannot be paid.
	Fallback Fallback `json:"fallback,omitempty"`
	// Once limits how often the node pays: "customer" (OncePerCustomer)
	// pays it at most once per customer, as a referral bounty paid on a
	// customer's first order is. See Once.
	Once Once `json:"once,omitempty"`
	// Reserve holds back part of a leaf's earnings.
	Reserve *Reserve `json:"reserve,omitempty"`
	// Clawback, when set, is the node's clawback window: the earnings of
	// the leaves at or below it (a node below with its own window uses
	// that one) are clawed back only by reversals dated within
	// WithinDays of the line's date; later, they keep them, and what
	// they would have given back is borne by Clawback.BorneBy (the
	// platform by default). See Clawback.
	Clawback *Clawback `json:"clawback,omitempty"`
	Children []Node    `json:"children,omitempty"`
}

// Clawback is a plan node's clawback window (Node.Clawback), the contract
// term of referral and reseller programs that a bonus or commission is
// reversed only when the customer is credited (refunds, churns) within so
// many days of the sale, and kept after that ("commissions are reversed
// for refunds within 90 days of the sale"):
//
//   - {id: dealreg, party: seller, share: "3%", clawback: {within_days: 90}}
//   - {id: newlogo, party: seller, share: {amount: {amount: "500.00", currency: EUR}}, clawback: {within_days: 90, borne_by: {node: root/vendor}}}
//
// The window counts whole days, UTC, from the line's date (Line.Date) to
// the reversal's: the credit line's date, a lost dispute's resolution
// instant, a write-off's date; the calendar day of each in UTC, so a
// reversal on day WithinDays is within the window (a line dated March 3
// and a credit dated June 1 are 90 days apart: the credit claws back)
// and one on day WithinDays+1 is not.
//
// A reversal in proportion (a credit, lost dispute or write-off naming
// no Bearer) within the window reverses the node's parts as before, in
// proportion with every other part. After it, it works out every part's
// proportional share as before, leaves the node's parts untouched, and
// takes their shares from BorneBy's parts on top of their own, in
// proportion to what those have left after their own (largest remainder,
// ties by entry id): the clawbacks still add up to the reversal exactly,
// and the other parts give back what they would have. BorneBy's
// clawback entries say so in their share ("bears what root/dealreg keeps
// past its clawback window") and every entry's note names the kept
// parts and what they keep.
//
// When BorneBy has less left than it takes (a credit of all or nearly
// all the line after the window: the customer gets all it paid back, the
// partner keeps its bonus, so the platform pays it), it gives back beyond
// its part of the line, as a bearer owing beyond its part does
// (ShortfallBearerOwes): its unreversed amount goes below zero, by what
// the kept parts keep of what was credited. Where a part cannot owe (a
// line payable on collection, a receivable of its invoice, a supplier cost
// in another currency) the reversal is refused with a *BearerError
// wrapping ErrClawbackBearer, naming the bearer and the shortfall; the
// host can then name a Bearer on the credit, which wins over the window.
// So is a credit while a dispute of an amount is open whose kept parts'
// shares BorneBy cannot give back from what it has beyond its own share
// of the dispute (which the dispute holds, and the credit leaves it): a
// 5,000.00 credit of a 100,000.00 line 95,000.00 of which is disputed,
// where the platform has 4,015.00 beyond its hold and the bonuses' share
// of the credit is 175.00 on top of its own 4,015.00; 4,000.00 fits.
//
// A reversal naming a Bearer (Line.Bearer, DisputeOutcome.Bearer,
// Collection.Bearer) takes it from the bearer as before, whatever the
// windows say: the bearer wins (a host naming one decides who gives
// back, kept bonuses included). A part paid to the platform as the
// node's fallback has no window, and a part its own window's bearer
// bears is never kept (a window on the root keeps every partner's
// earnings after it, and the platform's own leaf bears them). A part that owes on the line (its
// unreversed amount below zero) is never kept. A dispute opened after the
// window holds each part's share as before: the window decides what is
// taken when it is lost. A line credited in full after the window (its
// bonuses kept, the bearer below zero) has nothing left unreversed: a
// dispute of it disputes nothing and holds nothing.
//
// The state keeps each part's window (LedgerPart.Clawback), so a Settler
// without the plan version decides the same.
type Clawback struct {
	// WithinDays is the window's length in days, 1 or more (New refuses
	// less, or more than 36500).
	WithinDays int `json:"within_days"`
	// BorneBy names who bears what the node's parts keep after the
	// window: a party, node, role or component, as a Bearer (without a
	// shortfall). The zero value is the platform (role "platform": its
	// node's part and the parts paid to it as a fallback). A node must be
	// one of the plan's (its path from the root, "root/vendor") or a
	// supplier cost's ("supplier_costs/<component>"): New refuses a plan
	// whose window's bearer names another, which could bear no part of any
	// line (a *ensemble.ValidationError wrapping ErrBearerNotOnLine, naming
	// the path).
	BorneBy Bearer `json:"borne_by,omitzero"`
}

// MaxClawbackDays is the longest clawback window a plan may give: 100
// years of days.
const MaxClawbackDays = 36500

// bearer returns who bears what c's parts keep: BorneBy, or the platform.
func (c *Clawback) bearer() Bearer {
	if c.BorneBy.IsZero() {
		return Bearer{Role: "platform"}
	}
	return c.BorneBy
}

// validate records what is wrong with c under path.
func (c *Clawback) validate(p *ensemble.Problems, path string) {
	if c.WithinDays < 1 || c.WithinDays > MaxClawbackDays {
		p.Addf(path+".within_days", "within_days %d is not between 1 and %d", c.WithinDays, MaxClawbackDays)
	}
	if c.BorneBy.Shortfall != ShortfallError {
		p.Addf(path+".borne_by.shortfall", "a clawback window's bearer has no shortfall: it bears beyond its part where the line allows it")
		return
	}
	c.BorneBy.validate(p, path+".borne_by")
}

// keptAfter reports whether a reversal at instant at of a line dated
// date is after a window of days days: more than days whole days apart,
// counting UTC calendar days.
func keptAfter(days int, date, at time.Time) bool {
	return dayNumber(at)-dayNumber(date) > int64(days)
}

// dayNumber returns t's UTC calendar day as days since the Unix epoch.
func dayNumber(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// PlanID identifies a plan across its versions. The empty ID is invalid,
// as are IDs holding '/', ':', '#', '@' or white space.
type PlanID string

// NodeID identifies a node within a plan, with the same spelling rules as
// PlanID; entry ids are built from node ids.
type NodeID string

// PlanDocument is a split plan as finance writes it, in YAML or JSON:
//
//	id: channel
//	version: 1
//	routes: [partner]
//	root:
//	  id: root
//	  children:
//	    - {id: platform, party: platform, share: "20%", fallback: platform}
//	    - id: channel
//	      share: remaining
//	      children:
//	        - {id: distributor, party: distributor, share: {rule: distributor-share}}
//	        - {id: seller, party: seller, share: remaining}
//
// A plan applies to lines of the listed offers (any when empty), route
// kinds (any when empty) and currencies (any when empty) dated in
// [EffectiveFrom, EffectiveUntil). A line is settled by one plan: of the
// plans that apply to it, the highest version of each id, and of those the
// most specific (listing offers beats any offer, then listing routes beats
// any route, then listing currencies beats any currency). ParsePlans and
// New refuse plans that could be equally specific for a line
// (ErrAmbiguousPlan) and versions that higher versions hide entirely
// (ErrShadowedPlan).
type PlanDocument struct {
	ID             string              `json:"id"`
	Version        int                 `json:"version"`
	Description    string              `json:"description,omitempty"`
	Offers         []catalog.OfferID   `json:"offers,omitempty"`
	Routes         []partner.RouteKind `json:"routes,omitempty"`
	EffectiveFrom  time.Time           `json:"effective_from,omitzero"`
	EffectiveUntil time.Time           `json:"effective_until,omitzero"`
	Basis          Basis               `json:"basis,omitempty"`
	// Payable says when its lines' entries become payable: on settlement
	// (the default) or, on_collection, as the customer pays the invoice
	// (see Payable, Settler.Collect).
	Payable Payable `json:"payable,omitempty"`
	// Currencies are the currencies of the lines the plan settles (any
	// when empty). A plan whose cumulative tiers are in one currency
	// settles lines in the others by converting them (Config.Rates), and
	// New refuses one listing a currency it could not convert. Caps,
	// floors and fixed amounts are not converted: a plan with any lists
	// its currencies, the amounts' only (New refuses it otherwise,
	// ErrCurrency).
	Currencies []ensemble.Currency `json:"currencies,omitempty"`
	// Method picks who gets the minor units left over at every level of
	// the tree: largest_remainder (the default), first_in_order, or
	// numscript_order to reproduce Formance Numscript's and the Formance
	// ledger's nested splits (see ensemble.AllocationMethod).
	Method ensemble.AllocationMethod `json:"method,omitempty"`
	// Reserves are the rolling reserves the plan holds per party: a share
	// of each earning it pays the party, held for some days, which credits
	// and lost disputes draw on first (see PartyReserve).
	Reserves []PartyReserve `json:"reserves,omitempty"`
	// DiscountFunding says which node funds which discounts of a line
	// (Line.Discounts): a discount funded by a node is added back to what
	// the root splits, so every share is worked out as if the line had
	// not been discounted, and comes off that node's part alone. A vendor
	// that funds a launch promotion keeps its distributor's and
	// reseller's margins on the list price; a reseller that gives the
	// customer a discount from its own margin pays for it. Discounts no
	// entry names are borne by every party in proportion (the split of
	// the discounted amount), as under a plan without it. The state keeps
	// what each part funded (LedgerPart.Funded), so a credit of part of
	// the line is re-split as the sale was: each part gives back its share
	// of the list price the credit gives back, and the funded discounts the
	// credit gives back (its Line.Discounts) come back to the parts that
	// funded them. A proration credit giving back a percentage discount
	// the vendor funds and none of a fixed one the reseller funds takes
	// from the reseller its whole share of the credited list price (see
	// Line.Discounts for what falls back to a reversal in proportion).
	// What a minimum commitment's true-up bills back of a funded discount
	// (Line.Recouped) goes back to the node funding it, the root splitting
	// the rest: the customer paid it after all.
	DiscountFunding []DiscountFunding `json:"discount_funding,omitempty"`
	Root            Node              `json:"root"`
}

// DiscountFunding names the node that funds a discount (see
// PlanDocument.DiscountFunding):
//
//	discount_funding:
//	  - {discount: launch-20, node: vendor}  # the vendor funds its promotion
//	  - {discount: partner, node: reseller}  # an item's partner discount
//	  - {node: platform}                     # every other discount
//
// A node other than the root, named by its id; each discount once, and
// one entry without a discount at most. The plan's basis must be net: a
// discount is taken before tax. A line whose funded discounts exceed
// what the funding node's share of the undiscounted line comes to, or
// whose funding node takes no part of it (its condition, or that of a
// node above it, does not hold),
// fails with ErrDiscountFunding naming the node and the discounts: the
// other parties are never paid less to make up for it.
type DiscountFunding struct {
	// Discount is the discount's id (Discount.ID); empty: every discount
	// of the line that no other entry names.
	Discount string `json:"discount,omitempty"`
	// Node is the id of the node whose part bears the discount.
	Node NodeID `json:"node"`
}

// UnmarshalJSON reads a node strictly (unknown fields are errors) and names
// the node in any error its fields or children give, so a share that does
// not parse says where it is: node "root": node "platform": share: ...
func (n *Node) UnmarshalJSON(b []byte) error {
	type plain Node // the same fields, without this method
	var v plain
	if err := strictDecode(b, &v); err != nil {
		var head struct {
			ID NodeID `json:"id"`
		}
		_ = json.Unmarshal(b, &head) // the id, when it can be read
		return fmt.Errorf("node %q: %w", head.ID, err)
	}
	*n = Node(v)
	return nil
}

// Ref returns the trace reference to the plan version.
func (d *PlanDocument) Ref() ensemble.Ref {
	return ensemble.Ref{Kind: RefPlan, ID: string(d.ID), Version: strconv.Itoa(d.Version)}
}

// ParsePlans reads plan documents from YAML or JSON: one document or a
// list. Unknown fields are errors. The list's versions are checked
// together as New checks them: plans that would be equally specific for
// some line (ErrAmbiguousPlan) and versions hidden by higher versions of
// their plan (ErrShadowedPlan) are each a *PlanConflictError in the
// *ensemble.ValidationError returned, at the path plans[i]. Everything
// else is validated when a Settler is built from the plans (New), where
// the rules they name are known; New checks the versions again, of every
// plan it is given, so plans split across documents are checked together.
// A document is checked on its own, so a tie that only a more specific
// plan of another document settles is refused: keep such plans together.
func ParsePlans(data []byte) ([]PlanDocument, error) {
	js, err := ensemble.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("settlement: plans: %w", err)
	}
	if err := ensemble.CheckDocument("plans", js); err != nil {
		return nil, fmt.Errorf("settlement: %w", err)
	}
	js = bytes.TrimSpace(js)
	if len(js) > 0 && js[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(js, &raws); err != nil {
			return nil, fmt.Errorf("settlement: plans: %w", err)
		}
		var p ensemble.Problems
		docs := make([]PlanDocument, len(raws))
		for i, r := range raws {
			if err := ensemble.DecodeJSON("plan", r, &docs[i]); err != nil {
				p.Add(ensemble.Path("plans", i), ensemble.PlaceYAML(data, r, ensemble.Path(i), err))
			}
		}
		if p.Len() == 0 {
			checkPlanVersions(&p, docs)
		}
		if err := p.Err("plans"); err != nil {
			return nil, err
		}
		return docs, nil
	}
	var d PlanDocument
	if err := ensemble.DecodeJSON("settlement: plan", js, &d); err != nil {
		return nil, ensemble.PlaceYAML(data, js, "", err)
	}
	return []PlanDocument{d}, nil
}

func strictDecode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after the document")
	}
	return nil
}

// roleKind is a parsed Node.Party.
type roleKind uint8

const (
	roleNone roleKind = iota
	rolePlatform
	roleChain // chain[level]; seller is level 0
	roleTop
	roleChainAll
	roleType
	roleReferrer
	roleMarketplace
	roleCoSellers
	rolePartner
	roleAttributed // the partner the line's attributed usage names (Line.Attributed)
)

type role struct {
	kind  roleKind
	level int
	typ   partner.Type
	id    partner.ID
}

func (r role) multi() bool { return r.kind == roleChainAll || r.kind == roleCoSellers }

// wellKnownType returns the partner type a bare role names.
func wellKnownType(s string) (partner.Type, bool) {
	switch t := partner.Type(s); t {
	case partner.TypeDistributor, partner.TypeReseller, partner.TypeSubReseller, partner.TypeMSP,
		partner.TypeISV, partner.TypeTechnology, partner.TypeSystemsIntegrator:
		return t, true
	}
	return "", false
}

func parseRole(s string) (role, error) {
	switch s {
	case "platform":
		return role{kind: rolePlatform}, nil
	case "seller":
		return role{kind: roleChain}, nil
	case "top":
		return role{kind: roleTop}, nil
	case "chain[*]":
		return role{kind: roleChainAll}, nil
	case "referrer":
		return role{kind: roleReferrer}, nil
	case "marketplace":
		return role{kind: roleMarketplace}, nil
	case "co_sellers":
		return role{kind: roleCoSellers}, nil
	case "attributed":
		return role{kind: roleAttributed}, nil
	case "supplier":
		return role{}, fmt.Errorf("role %q: supplier costs are paid before the plan splits the margin; no node pays them", s)
	}
	if t, ok := wellKnownType(s); ok {
		return role{kind: roleType, typ: t}, nil
	}
	if rest, ok := strings.CutPrefix(s, "type:"); ok && validName(rest) {
		return role{kind: roleType, typ: partner.Type(rest)}, nil
	}
	if rest, ok := strings.CutPrefix(s, "partner:"); ok && rest != "" {
		if err := ensemble.CheckID(rest, ensemble.EntrySeparators); err != nil {
			return role{}, fmt.Errorf("party %q: %w", s, err)
		}
		return role{kind: rolePartner, id: partner.ID(rest)}, nil
	}
	if rest, ok := strings.CutPrefix(s, "chain["); ok && strings.HasSuffix(rest, "]") {
		n, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
		if err == nil && n >= 0 && n < partner.MaxDepth {
			return role{kind: roleChain, level: n}, nil
		}
	}
	if near := ensemble.Nearest(s, roleNames); len(near) > 0 {
		return role{}, fmt.Errorf("unknown role %q (did you mean %q?)", s, near[0])
	}
	return role{}, fmt.Errorf("unknown role %q", s)
}

// roleNames are the roles a party names by a word, for "did you mean".
var roleNames = []string{"platform", "seller", "top", "chain[*]", "referrer", "marketplace", "co_sellers", "attributed",
	string(partner.TypeDistributor), string(partner.TypeReseller), string(partner.TypeSubReseller), string(partner.TypeMSP),
	string(partner.TypeISV), string(partner.TypeTechnology), string(partner.TypeSystemsIntegrator)}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkNodeID checks a plan or node id, which appears in entry ids' paths
// ("line:root/channel#reserve") and in plan refs ("plan@2"), against the
// library's id grammar (the root package doc's Ids section): it holds no
// separator at all. The error is an *ensemble.IDError.
func checkNodeID(id string) error { return ensemble.CheckID(id, ensemble.RefSeparators) }
