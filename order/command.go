package order

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Command asks an order to change: Kind says what, and the fields that
// kind uses carry the data (the others must be empty).
type Command struct {
	Kind CommandKind `json:"kind"`
	// Actor is who acts (a user, a supplier system); recorded on events.
	Actor string `json:"actor,omitempty"`
	// Reason is why, for the audit trail (required to fail a task).
	Reason string `json:"reason,omitempty"`
	// Order is the new order's ID (CmdCreate).
	Order ID `json:"order,omitempty"`
	// Draft is the content (CmdCreate, CmdRevise).
	Draft *Draft `json:"draft,omitempty"`
	// ExpiresAt is when the quote lapses (CmdQuote); after the quote's
	// instant.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Task names the activation task (CmdCompleteTask, CmdFailTask,
	// CmdRetryTask).
	Task TaskID `json:"task,omitempty"`
	// MaxAttempts bounds each task's attempts (CmdBeginActivation); 0
	// means DefaultMaxAttempts.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Change is the change (CmdChange).
	Change *Change `json:"change,omitempty"`
	// Cancel says when a cancellation takes effect (CmdCancel of an active
	// or suspended order; nil means at period end). CmdTerminate may give
	// an EffectiveAt.
	Cancel *CancelRequest `json:"cancel,omitempty"`
}

// DefaultMaxAttempts is how many attempts an activation task gets when
// CmdBeginActivation names none.
const DefaultMaxAttempts = 3

// MaxAttemptsLimit bounds Command.MaxAttempts.
const MaxAttemptsLimit = 100

// Change is a change to one line of an active order, effective at an
// instant at or after the start of the line's current segment (it may be
// back-dated that far, or future-dated).
type Change struct {
	Kind ChangeKind `json:"kind"`
	Line LineID     `json:"line"`
	// EffectiveAt is when the change takes effect; zero means the command's
	// instant.
	EffectiveAt time.Time `json:"effective_at,omitzero"`
	// Quantity is the new line quantity (ChangeQuantity), the added line's
	// quantity (ChangeAddLine) or the add-on's quantity (ChangeAddAddOn; 0
	// means 1).
	Quantity decimal.Decimal `json:"quantity,omitzero"`
	// Pin is the new offer version (ChangeOffer), the added line's offer
	// (ChangeAddLine) or the add-on (ChangeAddAddOn); Version 0 means the
	// version in force at EffectiveAt.
	Pin catalog.Pin `json:"pin,omitzero"`
	// AddOn names the add-on offer to detach (ChangeRemoveAddOn).
	AddOn catalog.OfferID `json:"add_on,omitempty"`
	// AddOns are the added line's add-ons (ChangeAddLine).
	AddOns []AddOn `json:"add_ons,omitempty"`
	// Discount, with ChangeOffer, replaces the line's discount (nil keeps
	// it, which must then be allowed on the new offer); with ChangeAddLine
	// it is the added line's discount.
	Discount *Discount `json:"discount,omitempty"`
	// Terms are the added line's own anchor and term (ChangeAddLine only);
	// an own anchor left zero is the change's EffectiveAt.
	Terms LineTerms `json:"terms,omitzero"`
}

// CancelRequest says when a cancellation takes effect.
type CancelRequest struct {
	Mode CancelMode `json:"mode"`
	// EffectiveAt is the instant the lines stop under Immediately (and for
	// CmdTerminate); zero means the command's instant. It may be back-dated
	// as far as the activation (segments after it are dropped), never
	// future-dated.
	EffectiveAt time.Time `json:"effective_at,omitzero"`
}

// Event records one transition: what happened to which order, when, by
// whom, from which status to which, and the data the transition needs to be
// replayed (Fold) without the catalog or the network.
type Event struct {
	Order ID `json:"order"`
	// Seq numbers the order's events from 1.
	Seq    int       `json:"seq"`
	Kind   EventKind `json:"kind"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor,omitempty"`
	Reason string    `json:"reason,omitempty"`
	From   Status    `json:"from"`
	To     Status    `json:"to"`

	// Draft is the content of EventCreated and EventRevised.
	Draft *Draft `json:"draft,omitempty"`
	// Lines are the checked, pinned lines of EventQuoted, sorted by ID.
	Lines []Line `json:"lines,omitempty"`
	// Currency is the order's currency (EventQuoted).
	Currency string `json:"currency,omitempty"`
	// Chain is the seller's chain (EventQuoted, EventAccepted).
	Chain []partner.ID `json:"chain,omitempty"`
	// ExpiresAt is the quote's expiry (EventQuoted).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Tasks are the activation tasks (EventActivationStarted).
	Tasks []Task `json:"tasks,omitempty"`
	// Task names the task of the task events.
	Task TaskID `json:"task,omitempty"`
	// Change is the resolved change (EventChanged): pins given, quantity
	// set, EffectiveAt set.
	Change *Change `json:"change,omitempty"`
	// Cancellation is the cancellation or termination
	// (EventCancellationScheduled, EventCancelled, EventTerminated).
	Cancellation *Cancellation `json:"cancellation,omitempty"`
}

// Conditions that order errors wrap; match them with errors.Is.
var (
	// ErrRequired reports a field that must be set and is not.
	ErrRequired = errors.New("order: required")
	// ErrInvalidID reports an ID that is empty or that ensemble.CheckID
	// refuses: white space, or one of ensemble.RefSeparators ('/', '@', ':'
	// or '#'). It wraps the *ensemble.IDError.
	ErrInvalidID = errors.New("order: invalid id")
	// ErrDuplicate reports an ID given twice.
	ErrDuplicate = errors.New("order: duplicate")
	// ErrInvalid reports a value outside its allowed set or range.
	ErrInvalid = errors.New("order: invalid value")
	// ErrNotAllowed reports a field set where the command or kind does not
	// use it.
	ErrNotAllowed = errors.New("order: field not allowed here")
	// ErrInvalidTransition reports a command the order's status does not
	// allow.
	ErrInvalidTransition = errors.New("order: invalid transition")
	// ErrOutOfOrder reports a command or event dated before the order's
	// last event, or a change effective before the line's current segment.
	ErrOutOfOrder = errors.New("order: out of order")
	// ErrQuoteExpired reports accepting a quote at or after its expiry.
	ErrQuoteExpired = errors.New("order: quote expired")
	// ErrNotExpired reports expiring a quote before its expiry.
	ErrNotExpired = errors.New("order: quote not expired yet")
	// ErrCannotSell reports a seller or co-seller the governance does not
	// allow to sell an offer to the customer (partner.Governance.CanSell),
	// or a route partner that cannot trade.
	ErrCannotSell = errors.New("order: seller may not sell")
	// ErrNotInForce reports an offer version that is not in force at the
	// quote (or at a change's effective instant).
	ErrNotInForce = errors.New("order: offer version not in force")
	// ErrQuantity reports a quantity outside the offer's (or add-on's)
	// minimum and maximum, or not above zero.
	ErrQuantity = errors.New("order: quantity out of bounds")
	// ErrFractionalQuantity reports a fractional quantity (12.5) on a line
	// or add-on whose offer counts whole units (catalog.QuantityWhole),
	// refused at the quote and by every change setting one; it wraps
	// ErrInvalid and arrives in a *LineError naming the line and the
	// quantity.
	ErrFractionalQuantity = fmt.Errorf("%w: fractional quantity of whole units", ErrInvalid)
	// ErrNotAttachable reports an add-on the base offer does not accept, or
	// an add-on offer sold as a line of its own.
	ErrNotAttachable = errors.New("order: add-on not attachable")
	// ErrDiscountNotApproved reports a discount above the seller's
	// allowance without an approved price exception covering it.
	ErrDiscountNotApproved = errors.New("order: discount above the allowance without approval")
	// ErrCurrency reports a line or add-on not priced in the order's
	// currency (the draft's, or else the first line's offer's): its error
	// names the offer, its currencies and the order's.
	ErrCurrency = errors.New("order: not priced in the order's currency")
	// ErrUnknown reports an offer, partner, line, add-on or task that
	// cannot be found.
	ErrUnknown = errors.New("order: unknown")
	// ErrDiscountCharge reports a line's discount limited to a charge
	// (Discount.Charges) its offer and add-ons lack. It matches ErrUnknown
	// too.
	ErrDiscountCharge = fmt.Errorf("%w: discount charge the line's offers lack", ErrUnknown)
	// ErrMissingContext reports a check that needs the catalog or the
	// governance in Context and found none.
	ErrMissingContext = errors.New("order: context lacks the catalog or governance")
	// ErrRetriesExhausted reports a retry of a task that used all its
	// attempts.
	ErrRetriesExhausted = errors.New("order: task retries exhausted")
	// ErrCancellation reports a cancellation that conflicts with one
	// already scheduled, or a change after the order stops.
	ErrCancellation = errors.New("order: conflicts with the cancellation")
)

// TransitionError reports a command refused: which order, in which
// status, which command at which instant, and why (it wraps a condition
// such as ErrInvalidTransition, or a *ensemble.ValidationError listing
// every problem of the order).
type TransitionError struct {
	Order   ID
	Status  Status
	Command CommandKind
	At      time.Time
	Err     error
}

// Error writes `order "x": cannot <command> when <status> at <instant>:
// <reason>`; before the order is created, `order "x": cannot create at
// <instant>: <reason>` (x the order the command would create).
func (e *TransitionError) Error() string {
	switch {
	case e.Status == StatusNone && e.Command == CmdCreate:
		return fmt.Sprintf("order %q: cannot create at %s: %v", e.Order, e.At.UTC().Format(time.RFC3339), e.Err)
	case e.Status == StatusNone:
		return fmt.Sprintf("order %q: cannot %s an order not created yet (at %s): %v", e.Order, e.Command, e.At.UTC().Format(time.RFC3339), e.Err)
	}
	return fmt.Sprintf("order %q: cannot %s when %s at %s: %v", e.Order, e.Command, e.Status, e.At.UTC().Format(time.RFC3339), e.Err)
}

// Unwrap returns the reason.
func (e *TransitionError) Unwrap() error { return e.Err }

// LineError is one problem with a line (or one of its add-ons): the order
// and line, the offending value as text, and the condition errors.Is
// matches.
type LineError struct {
	Order ID
	Line  LineID
	Value string // the offending value, cut to 64 bytes; may be empty
	Err   error
}

// Error writes `order "x" line "l": <condition>: <value>`.
func (e *LineError) Error() string {
	s := fmt.Sprintf("order %q line %q: %v", e.Order, e.Line, e.Err)
	if e.Value != "" {
		s += ": " + cut(e.Value)
	}
	return s
}

// Unwrap returns the condition.
func (e *LineError) Unwrap() error { return e.Err }

// TermError is one problem with a contract term's early-termination fee:
// the line whose own term it is (empty for the order's Term), the field
// under the term ("early_termination.amount"), the offending value as text
// and the condition errors.Is matches (ErrRequired, ErrInvalid).
type TermError struct {
	Line  LineID
	Field string
	Value string // the offending value, cut to 64 bytes; may be empty
	Err   error
}

// Error writes `order term <field>: <condition>: <value>`, or `order line
// "l" term <field>: ...` for a line's own term.
func (e *TermError) Error() string {
	s := "order term " + e.Field + ": " + e.Err.Error()
	if e.Line != "" {
		s = fmt.Sprintf("order line %q term %s: %v", e.Line, e.Field, e.Err)
	}
	if e.Value != "" {
		s += ": " + cut(e.Value)
	}
	return s
}

// Unwrap returns the condition.
func (e *TermError) Unwrap() error { return e.Err }
