package order

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// The kinds of ensemble.Ref this package hands out for traces.
const (
	// RefOrderLine points at an order line: ID is "order/line" (LineRef).
	RefOrderLine ensemble.RefKind = "order_line"
	// RefSegment points at one segment of an order line: ID is
	// "order/line/k" (the order's ID and the SegmentID).
	RefSegment ensemble.RefKind = "order_segment"
	// RefOrder points at an order as a whole: ID is the order's ID.
	RefOrder ensemble.RefKind = "order"
)

// ID identifies an order. The empty ID is invalid, as are IDs holding '/',
// '@' or white space (references join IDs with those characters). IDs are
// compared byte-wise.
type ID string

// LineID identifies a line inside an order, with the rules of ID. Line IDs
// never change: a change to a line keeps its ID and opens a new Segment.
type LineID string

// CustomerID identifies the customer an order is for, with the rules of ID.
type CustomerID string

// TaskID identifies an activation task: "line" for a product line,
// "line/component-offer/supplier" for a bundle component.
type TaskID string

// SegmentID identifies a segment: "line/k", k the sequence number of the
// event that opened it (activation or a change). An ID never names two
// contents: a segment's End (with EndRecorded) is the only field that
// changes after it is opened (a later change or a stop sets it, a revoked
// cancellation clears it); a change at the very instant a segment starts
// replaces that segment with a new ID, so invoicing can credit what it
// billed under the old one.
type SegmentID string

// Customer is who an order is for and how they are taxed.
type Customer struct {
	// ID identifies the customer.
	ID CustomerID `json:"id"`
	// Country is the billing country, an ISO 3166-1 alpha-2 code ("DE").
	Country string `json:"country"`
	// Region is the billing region inside the country, as an ISO 3166-2
	// subdivision code of Country ("US-CA", "CA-ON", "CA-QC"); empty when
	// none applies. Invoicing looks the customer's tax rule up by it
	// (invoice.TaxRule.Region), so a draft whose region is not a code of
	// its country ("ON" for Ontario) is refused with ErrInvalid at
	// customer.region, saying the code to write.
	Region string `json:"region,omitempty"`
	// Segment is the customer segment partner rules read ("smb").
	Segment string `json:"segment,omitempty"`
	// TaxStatus says how the customer is taxed; the zero value is Taxable.
	TaxStatus TaxStatus `json:"tax_status"`
	// TaxID is the customer's tax number (VAT id); required under
	// ReverseCharge.
	TaxID string `json:"tax_id,omitempty"`
}

// sellingPartner is the partner whose governance decides the sale on route
// r: the seller, or the marketplace when there is no seller.
func sellingPartner(r partner.Route) partner.ID {
	if r.Seller != "" {
		return r.Seller
	}
	return r.Marketplace
}

// derivedKind is the kind a draft's route r implies (partner.Route.PartiesKind
// of its parties but its chain): a draft's route names its seller, whose
// chain quoting looks up, so a chain alone makes no seller.
func derivedKind(r partner.Route) partner.RouteKind {
	r.Chain = nil
	return r.PartiesKind()
}

// AddOn is an add-on attached to a line, in a quantity per base unit
// bounded by the add-on offer's minimum and maximum.
type AddOn struct {
	// Pin is the add-on offer version; a draft may leave Version 0 for
	// "the version in force when quoted" (or when the change takes effect).
	Pin catalog.Pin `json:"pin"`
	// Quantity is the add-on quantity (0 in a draft means 1); an integer
	// if the add-on counts whole units (catalog.QuantityWhole).
	Quantity decimal.Decimal `json:"quantity"`
}

// Discount is a line's discount off the list price, and why it is allowed.
type Discount struct {
	// Ratio is the discount as a share of the list price (0.15 for 15%),
	// in [0, 1]. Zero means no discount.
	Ratio ensemble.Ratio `json:"ratio,omitzero"`
	// Approval is the approved price exception covering a discount above
	// the seller's allowance, as partner.Governance returned it. The quote
	// (and every change) checks that it is approved with its decision
	// (decided by, when, and its audit events), decided by the time the
	// command is made (a change dated back may take one decided since), for this
	// seller and offer, for this customer when the request names one, and
	// for at least Ratio. An approval is trusted as given: the host takes
	// it from its own store of the governance's results (or rebuilds it
	// with partner.FoldApproval from the audit events), never from the
	// party it favours, such as a reseller portal's request.
	Approval *partner.Approval `json:"approval,omitempty"`
	// Charges limits the discount to the lines of these charges of the
	// line's offer and add-ons (catalog charge IDs), such as ["usage"] for
	// "15% off usage" on an offer with an onboarding fee, a platform fee
	// and a usage charge; empty is every charge. The segments carry it
	// (Segment.DiscountCharges) and invoicing takes the discount off those
	// lines only (invoice.Segment.DiscountCharges). The quote (and a change
	// that sets or keeps the discount) refuses a charge the line's offer
	// and add-ons lack with a *LineError wrapping ErrDiscountCharge, an
	// empty or repeated entry with ErrInvalid or ErrDuplicate, and charges
	// without a Ratio with ErrInvalid.
	Charges []catalog.ChargeID `json:"charges,omitempty"`
	// Basis is why the discount is allowed; the quote sets it.
	Basis DiscountBasis `json:"basis,omitempty"`
	// Allowance is the seller's allowance the quote found (a ratio of the
	// list price) and AllowanceRule the rule that gave it.
	Allowance     decimal.Decimal `json:"allowance,omitzero"`
	AllowanceRule ensemble.Ref    `json:"allowance_rule,omitzero"`
}

// Line is one thing an order sells: an offer version in a quantity, with
// its add-ons and discount.
type Line struct {
	ID LineID `json:"id"`
	// Pin is the offer version. A draft may leave Version 0, meaning the
	// version in force when quoted; the quote pins it, and the pinned
	// price holds until the quote expires and for the life of the order.
	Pin catalog.Pin `json:"pin"`
	// Quantity is the number of units (seats, licences, bundles); it must
	// lie within the offer's minimum and maximum, and be an integer if the
	// offer counts whole units (catalog.QuantityWhole: else
	// ErrFractionalQuantity). Other offers accept fractions.
	Quantity decimal.Decimal `json:"quantity"`
	// AddOns are sorted by offer ID; one per add-on offer.
	AddOns []AddOn `json:"add_ons,omitempty"`
	// Discount is the line's discount; the zero Discount is none.
	Discount Discount `json:"discount,omitzero"`
	// Terms gives the line its own billing anchor and contract term; the
	// zero LineTerms follows the order's Billing and Term.
	Terms LineTerms `json:"terms,omitzero"`
}

// LineTerms gives one line its own billing anchor and contract term, apart
// from the order's: a yearly commitment activated inside a monthly order,
// billed on its own anniversaries and committed for its own year. The zero
// value follows the order's Billing.Anchor and has no term of its own.
// Every segment of the line carries its LineTerms (they never change after
// the line starts), so invoicing reads them even after the line is removed.
type LineTerms struct {
	// OwnAnchor bills the line on cycles stepped from Anchor rather than
	// from the order's Billing.Anchor (in the order's time zone).
	OwnAnchor bool `json:"own_anchor,omitempty"`
	// Anchor is the line's own anchor under OwnAnchor; zero means the
	// line's activation (the order's activation, or the instant a line
	// added while active takes effect), which activation records here. An
	// Anchor without OwnAnchor is invalid.
	Anchor time.Time `json:"anchor,omitzero"`
	// Term is the line's own contract term from its activation, such as
	// one year; the zero Term is none (the order's Term still binds the
	// order). A term that renews needs a Length.
	Term Term `json:"term,omitzero"`
}

// IsZero reports whether t follows the order's anchor and has no term.
func (t LineTerms) IsZero() bool {
	return !t.OwnAnchor && t.Anchor.IsZero() && t.Term == (Term{})
}

// Term is the contract term: how long the customer is committed from
// activation. The zero Term is no commitment (evergreen, cancellable at any
// period end).
//
// The order's Term runs from the order's activation and binds the order as
// a whole; a line's own term (LineTerms.Term) runs from the line's
// activation and binds that line. Either may carry an early-termination
// fee, which package invoice bills when what the term binds ends strictly
// inside it (invoice.FromOrder carries both, the order's to the
// subscription, a line's to its item): the order's fee once, when the
// order stops (a cancellation or termination); a line's when the line is
// removed or the order stops. Where both apply, both are owed.
type Term struct {
	// Length is the commitment, such as ensemble.Every(12,
	// ensemble.Monthly); zero means none.
	Length ensemble.Cadence `json:"length,omitzero"`
	// AutoRenew renews the term for another Length at its end.
	AutoRenew bool `json:"auto_renew,omitempty"`
	// EarlyTermination is the fee owed when what the term binds ends
	// inside it (nil: none). A fee needs a Length; a bad fee is a
	// *TermError.
	EarlyTermination *EarlyTermination `json:"early_termination,omitempty"`
}

// EarlyTermination is the fee a contract term states for ending inside it,
// one of four ways (Rule): a fixed amount, an amount declining over the
// term, a share of the remaining contract value, or a number of periods of
// the recurring charges in force at the end ("three months of the monthly
// fee"), optionally capped at the remaining value. Package invoice bills
// it (invoice.EarlyTermination, which says how each is computed and
// rounded) as early_termination lines at the end, with no discount; a
// fee that rounds to zero (a declining fee at the term's very end) bills
// no line.
//
// A fixed Amount states the fee in money at signing, so it does not follow
// the contract: after seats are added, an upgrade or a price change it
// still bills what was written. A fee the contract states as "N months of
// charges" is TerminationPeriods, which reads the charges at the end.
type EarlyTermination struct {
	// Rule says how the fee is computed.
	Rule TerminationRule `json:"rule"`
	// Amount is the fee (TerminationFixed) or the fee at the term's start
	// (TerminationDeclining), in the order's currency: positive, in whole
	// minor units (checked once the quote knows the currency). Zero under
	// TerminationRemaining and TerminationPeriods.
	Amount decimal.Decimal `json:"amount,omitzero"`
	// Percent is the share of the remaining contract value owed under
	// TerminationRemaining, in (0, 100%]; zero means 100%. Zero under the
	// other rules.
	Percent ensemble.Ratio `json:"percent,omitzero"`
	// Periods is how much of the recurring charges a TerminationPeriods
	// fee owes, as a calendar span: ensemble.Every(3, ensemble.Monthly) is
	// "three months of charges", ensemble.Every(1, ensemble.Quarterly) the
	// same span. Its Count is required, in [1, MaxTerminationPeriods]
	// (zero does not mean one here). A charge billed on another cadence
	// counts in proportion to its own cycle (see invoice.TerminationPeriods).
	// Zero under the other rules.
	Periods ensemble.Cadence `json:"periods,omitzero"`
	// CapAtRemaining caps a TerminationPeriods fee at the remaining
	// contract value (what TerminationRemaining at 100% owes): "the lesser
	// of N months' charges and the charges for the rest of the term".
	// False under the other rules.
	CapAtRemaining bool `json:"cap_at_remaining,omitempty"`
}

// MaxTerminationPeriods bounds EarlyTermination.Periods.Count: ten years of
// months, which no early-termination clause exceeds.
const MaxTerminationPeriods = 120

// IsZero reports whether t is no term.
func (t Term) IsZero() bool { return t == Term{} }

// At returns the term holding instant x of what was activated at start, in
// loc (nil: UTC): [start + n·Length, start + (n+1)·Length). It reports false
// when there is no term, x is before start, or x lies after a term that does
// not renew.
func (t Term) At(start, x time.Time, loc *time.Location) (ensemble.Period, bool) {
	if t.Length == (ensemble.Cadence{}) || x.Before(start) {
		return ensemble.Period{}, false
	}
	p, n, err := t.Length.PeriodAt(start, x, loc)
	if err != nil || (n > 0 && !t.AutoRenew) {
		return ensemble.Period{}, false
	}
	return ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}, true
}

// Billing is how an order's billing periods fall. The zero value bills
// monthly from the activation instant in UTC. All lines share it (they are
// co-terminous, as in a Stripe subscription).
type Billing struct {
	// Anchor is the instant billing periods step from; zero means the
	// activation instant, which activation records here.
	Anchor time.Time `json:"anchor,omitzero"`
	// TimeZone is the IANA zone the calendar is read in ("Europe/Berlin");
	// empty means UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Cadence is the billing period used for cancellations at period end
	// (charges bill at their own catalog cadence from the same anchor);
	// zero means monthly.
	Cadence ensemble.Cadence `json:"cadence,omitzero"`
}

// Location returns the billing time zone (UTC for an empty or unknown
// name; creation rejects unknown names).
func (b Billing) Location() *time.Location {
	if b.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(b.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func (b Billing) cadence() ensemble.Cadence {
	if b.Cadence.Unit == ensemble.CadenceUnspecified {
		return ensemble.Every(1, ensemble.Monthly)
	}
	return b.Cadence
}

// Draft is what a host writes to create or revise an order.
type Draft struct {
	Customer Customer `json:"customer"`
	// Route is how the order was sold. Its Kind, when unspecified, is
	// derived from the parties: marketplace when Marketplace is set, else
	// co_sell when there are co-sellers, else partner when Seller is set,
	// else referral when Referrer is set, else direct; a kind given must
	// agree with that. Its Chain is the network's, captured when the order
	// is quoted and again when it is accepted: a chain given here is
	// replaced.
	Route   partner.Route `json:"route"`
	Lines   []Line        `json:"lines"`
	Term    Term          `json:"term,omitzero"`
	Billing Billing       `json:"billing,omitzero"`
	// Currency is the currency the customer is billed in: an ISO 4217
	// code, or a unit the catalog declares. Every line's offer, and each
	// add-on, must be priced in it (its catalog.Offer.Currency or one of
	// its further Currencies, a price book); one that is not is
	// ErrCurrency wrapping the catalog's *catalog.CurrencyError, which
	// names the offer and the currencies it has. Empty: the currency of
	// the first line's offer (by ID), as before price books.
	Currency string `json:"currency,omitempty"`
}

// Exception records one failed attempt of an activation task; it stays open
// until the task is done.
type Exception struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	Reason     string    `json:"reason,omitempty"`
	Actor      string    `json:"actor,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// Open reports whether the exception is unresolved.
func (e Exception) Open() bool { return e.ResolvedAt.IsZero() }

// Task is the activation of one bundle component by its supplier (or of a
// product line by the platform, with no supplier).
type Task struct {
	ID        TaskID          `json:"id"`
	Line      LineID          `json:"line"`
	Component catalog.OfferID `json:"component,omitempty"`
	Supplier  partner.ID      `json:"supplier,omitempty"`
	// Ref is the catalog reference of the bundle component (empty for a
	// product line).
	Ref    ensemble.Ref `json:"ref,omitzero"`
	Status TaskStatus   `json:"status"`
	// Attempts counts the attempts made so far (the first is 1).
	Attempts int `json:"attempts"`
	// MaxAttempts bounds Attempts; a retry beyond it is refused.
	MaxAttempts int         `json:"max_attempts"`
	UpdatedAt   time.Time   `json:"updated_at"`
	Exceptions  []Exception `json:"exceptions,omitempty"`
}

// Segment is a stretch [Start, End) during which a line had one offer
// version, quantity, add-ons and discount: what invoicing prorates. End is
// zero while the segment is open.
type Segment struct {
	ID    SegmentID `json:"id"`
	Line  LineID    `json:"line"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Cause is the event that opened the segment: activated or changed.
	Cause EventKind `json:"cause"`
	// Change is the kind of change that opened it (unspecified for
	// activation).
	Change   ChangeKind      `json:"change,omitempty"`
	Pin      catalog.Pin     `json:"pin"`
	Quantity decimal.Decimal `json:"quantity"`
	AddOns   []AddOn         `json:"add_ons,omitempty"`
	Discount ensemble.Ratio  `json:"discount,omitzero"`
	// DiscountCharges are the charges Discount is limited to (the line's
	// Discount.Charges); empty is every charge.
	DiscountCharges []catalog.ChargeID `json:"discount_charges,omitempty"`
	// Terms are the line's own anchor and term (Line.Terms, with the
	// anchor recorded at the line's activation); zero for a line that
	// follows the order's.
	Terms LineTerms `json:"terms,omitzero"`
	// Recorded is the instant of the event that opened the segment (the
	// activation, or the change's command), which is after Start when the
	// change was back-dated; EndRecorded is the instant of the event that
	// last decided what follows End: the one that set End (a later change,
	// a stop), or a stop that dropped the segments after it; zero while End
	// is zero. Invoicing reads them to tell a change recorded after a
	// billing run that already billed the time it took effect in
	// (invoice.Segment.Recorded).
	Recorded    time.Time `json:"recorded,omitzero"`
	EndRecorded time.Time `json:"end_recorded,omitzero"`
}

// Removal records a line whose every segment a later event dropped: a
// line removed back to its start (ChangeRemoveLine effective at the start
// of its only segment), or an immediate stop back-dated to before the line
// started (a cancellation back-dated to the activation drops every line).
// Such a line keeps no segment to say it was ever in service, nor when it
// stopped, so invoicing could not take back what a run billed of it before
// the removal was recorded; this says (invoice.Removal).
type Removal struct {
	// Line is the line removed.
	Line LineID `json:"line"`
	// Start is where the line's first segment started: the service the
	// removal takes away begins there.
	Start time.Time `json:"start"`
	// Recorded is the instant of the event that removed it.
	Recorded time.Time `json:"recorded"`
}

// Open reports whether the segment has no end yet.
func (s Segment) Open() bool { return s.End.IsZero() }

// Period returns [Start, End), with an open end replaced by until.
func (s Segment) Period(until time.Time) ensemble.Period {
	end := s.End
	if end.IsZero() {
		end = until
	}
	return ensemble.Period{Start: s.Start, End: end}
}

// Suspension is a stretch during which the order was suspended; Until is
// zero while it lasts. Segments run on through a suspension: invoicing
// decides whether a suspended stretch bills.
type Suspension struct {
	From   time.Time `json:"from"`
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// Cancellation is how an order ends or is scheduled to end.
type Cancellation struct {
	Mode CancelMode `json:"mode"`
	// RequestedAt is the instant of the command.
	RequestedAt time.Time `json:"requested_at"`
	// EffectiveAt is when the lines stop: the period end, or the instant
	// given (the command's instant by default).
	EffectiveAt time.Time `json:"effective_at"`
	// WithinTerm is true when the cancellation takes effect before the end
	// of the contract term (an early termination invoicing may charge).
	WithinTerm bool   `json:"within_term,omitempty"`
	Actor      string `json:"actor,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// ByPlatform marks a termination by the platform.
	ByPlatform bool `json:"by_platform,omitempty"`
}

// Order is one order record from quote to its end: a value changed only by
// Decide and rebuilt exactly by Fold. Collections are sorted: lines by ID,
// add-ons by offer, tasks by ID, segments by line then start.
type Order struct {
	ID       ID       `json:"id"`
	Status   Status   `json:"status"`
	Customer Customer `json:"customer"`
	// Route is how the order was sold, as the Draft gave it with its kind
	// derived and its co-sellers sorted by partner, and the seller's Chain
	// at acceptance (at the quote before it), so the record is
	// self-contained: settlement reads it as it is.
	Route partner.Route `json:"route"`
	// Lines are the current lines and their latest terms (a line removed
	// while active leaves them; its segments stay).
	Lines   []Line  `json:"lines,omitempty"`
	Term    Term    `json:"term,omitzero"`
	Billing Billing `json:"billing,omitzero"`
	// Currency is the currency the order is billed in, which every line's
	// offer is priced in: the Draft's until the quote, which sets it (to
	// the currency's key, "GEMS:0" for a declared unit; the first line's
	// offer's currency when the Draft gave none).
	Currency string `json:"currency,omitempty"`

	CreatedAt   time.Time `json:"created_at,omitzero"`
	QuotedAt    time.Time `json:"quoted_at,omitzero"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	AcceptedAt  time.Time `json:"accepted_at,omitzero"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	// EndedAt is when a cancellation or termination took the order to a
	// final status (the command's instant; see Cancellation.EffectiveAt for
	// when the lines stop).
	EndedAt time.Time `json:"ended_at,omitzero"`

	Tasks    []Task    `json:"tasks,omitempty"`
	Segments []Segment `json:"segments,omitempty"`
	// Removed are the lines removed back to their start (see Removal),
	// sorted by line.
	Removed      []Removal     `json:"removed,omitempty"`
	Suspensions  []Suspension  `json:"suspensions,omitempty"`
	Cancellation *Cancellation `json:"cancellation,omitempty"`

	// Events counts the events that made this state; UpdatedAt is the
	// instant of the last one. A command dated before it is refused.
	Events    int       `json:"events"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Line returns the line with the given ID.
func (o Order) Line(id LineID) (Line, bool) {
	for _, l := range o.Lines {
		if l.ID == id {
			return l, true
		}
	}
	return Line{}, false
}

// Ref returns the trace reference of the order with this ID (ensemble.Ref
// of kind RefOrder), which every invoice line billing it carries, the lines
// of the order as a whole (its term's fee, a minimum commitment's true-up,
// a prepaid commitment) included.
func (id ID) Ref() ensemble.Ref { return ensemble.Ref{Kind: RefOrder, ID: string(id)} }

// LineRef returns the plain reference "order/line" the usage package keys
// records by.
func (o Order) LineRef(id LineID) string { return string(o.ID) + "/" + string(id) }

// Ref returns the trace reference of a line (ensemble.Ref of kind
// RefOrderLine).
func (o Order) Ref(id LineID) ensemble.Ref {
	return ensemble.Ref{Kind: RefOrderLine, ID: o.LineRef(id)}
}

// SegmentRef returns the trace reference of a segment (ensemble.Ref of kind
// RefSegment), which an invoice line prorated over it carries.
func (o Order) SegmentRef(id SegmentID) ensemble.Ref {
	return ensemble.Ref{Kind: RefSegment, ID: string(o.ID) + "/" + string(id)}
}
