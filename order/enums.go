package order

import (
	"github.com/ensemble-commerce/ensemble"
)

// cut shortens text quoted in an error message.
func cut(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Status is where an order stands in its lifecycle. The zero value,
// StatusNone, is the state before the order is created.
type Status uint8

const (
	// StatusNone is the zero value: no order yet; only CmdCreate applies.
	StatusNone Status = iota
	// StatusDraft: being put together; revisable.
	StatusDraft
	// StatusQuoted: priced and checked; the pinned versions hold until the
	// quote expires.
	StatusQuoted
	// StatusExpired: the quote lapsed unaccepted; a revision reopens it as
	// a draft.
	StatusExpired
	// StatusAccepted: the customer accepted the quote; this is the order.
	StatusAccepted
	// StatusActivating: suppliers are provisioning, one task per bundle
	// component (or per product line).
	StatusActivating
	// StatusActive: every activation task is done; the lines bill.
	StatusActive
	// StatusSuspended: paused by the platform; resumable.
	StatusSuspended
	// StatusCancelled: ended by the customer (or abandoned before
	// activation). Final.
	StatusCancelled
	// StatusTerminated: ended by the platform. Final.
	StatusTerminated
)

var statusNames = []string{"none", "draft", "quoted", "expired", "accepted", "activating", "active", "suspended", "cancelled", "terminated"}

// String returns the status's lowercase name.
func (s Status) String() string { return ensemble.EnumName(s, statusNames, "status") }

// MarshalText writes the status's name; an undeclared status is an error.
func (s Status) MarshalText() ([]byte, error) {
	return ensemble.EnumText(s, statusNames, "order", "status")
}

// UnmarshalText reads a status's name; "" is StatusNone.
func (s *Status) UnmarshalText(b []byte) (err error) {
	*s, err = ensemble.ParseEnum[Status](b, statusNames, "order", "status")
	return err
}

// Final reports whether no command changes an order in this status.
func (s Status) Final() bool { return s == StatusCancelled || s == StatusTerminated }

// TaxStatus is how the customer is taxed. The zero value is Taxable.
type TaxStatus uint8

const (
	// Taxable (the default): tax is charged.
	Taxable TaxStatus = iota
	// TaxExempt: the customer is exempt (a certificate, a charity ...).
	TaxExempt
	// ReverseCharge: the customer accounts for the tax (EU B2B across
	// borders); a tax id is required. The order does not know where the
	// seller is established: invoice.TaxTable.Seller makes billing refuse
	// a reverse-charge customer in the seller's own country.
	ReverseCharge
)

var taxStatusNames = []string{"taxable", "exempt", "reverse_charge"}

// String returns the status's lowercase name.
func (t TaxStatus) String() string { return ensemble.EnumName(t, taxStatusNames, "tax status") }

// MarshalText writes the status's name; an undeclared status is an error.
func (t TaxStatus) MarshalText() ([]byte, error) {
	return ensemble.EnumText(t, taxStatusNames, "order", "tax status")
}

// UnmarshalText reads a status's name; "" is Taxable.
func (t *TaxStatus) UnmarshalText(b []byte) (err error) {
	*t, err = ensemble.ParseEnum[TaxStatus](b, taxStatusNames, "order", "tax status")
	return err
}

// TaskStatus is where an activation task stands. The zero value is
// TaskPending.
type TaskStatus uint8

const (
	// TaskPending (the default): waiting for the supplier.
	TaskPending TaskStatus = iota
	// TaskDone: provisioned.
	TaskDone
	// TaskFailed: the last attempt failed; an exception is open until the
	// task is done.
	TaskFailed
)

var taskStatusNames = []string{"pending", "done", "failed"}

// String returns the status's lowercase name.
func (s TaskStatus) String() string { return ensemble.EnumName(s, taskStatusNames, "task status") }

// MarshalText writes the status's name; an undeclared status is an error.
func (s TaskStatus) MarshalText() ([]byte, error) {
	return ensemble.EnumText(s, taskStatusNames, "order", "task status")
}

// UnmarshalText reads a status's name; "" is TaskPending.
func (s *TaskStatus) UnmarshalText(b []byte) (err error) {
	*s, err = ensemble.ParseEnum[TaskStatus](b, taskStatusNames, "order", "task status")
	return err
}

// DiscountBasis says why a line's discount is allowed. The zero value,
// BasisNone, is the basis of a line without a discount; the quote sets the
// others.
type DiscountBasis uint8

const (
	// BasisNone: no discount, or not checked yet (a draft).
	BasisNone DiscountBasis = iota
	// BasisAllowance: within the seller's allowance
	// (partner.Governance.DiscountAllowance) at the quote.
	BasisAllowance
	// BasisApproval: above the allowance, covered by an approved price
	// exception (partner.Approval).
	BasisApproval
	// BasisPlatform: a discount the platform gives on a route without a
	// selling partner (direct or referral), which no program governs.
	BasisPlatform
)

var discountBasisNames = []string{"none", "allowance", "approval", "platform"}

// String returns the basis's lowercase name.
func (b DiscountBasis) String() string {
	return ensemble.EnumName(b, discountBasisNames, "discount basis")
}

// MarshalText writes the basis's name; an undeclared basis is an error.
func (b DiscountBasis) MarshalText() ([]byte, error) {
	return ensemble.EnumText(b, discountBasisNames, "order", "discount basis")
}

// UnmarshalText reads a basis's name; "" is BasisNone.
func (b *DiscountBasis) UnmarshalText(t []byte) (err error) {
	*b, err = ensemble.ParseEnum[DiscountBasis](t, discountBasisNames, "order", "discount basis")
	return err
}

// CancelMode says when a cancellation takes effect. The zero value is
// AtPeriodEnd.
type CancelMode uint8

const (
	// AtPeriodEnd (the default): at the end of the billing period (of
	// Billing.Cadence from the anchor) holding the request's instant.
	AtPeriodEnd CancelMode = iota
	// Immediately: at the request's effective instant (its instant unless
	// given).
	Immediately
)

var cancelModeNames = []string{"at_period_end", "immediately"}

// String returns the mode's lowercase name.
func (m CancelMode) String() string { return ensemble.EnumName(m, cancelModeNames, "cancel mode") }

// MarshalText writes the mode's name; an undeclared mode is an error.
func (m CancelMode) MarshalText() ([]byte, error) {
	return ensemble.EnumText(m, cancelModeNames, "order", "cancel mode")
}

// UnmarshalText reads a mode's name; "" is AtPeriodEnd.
func (m *CancelMode) UnmarshalText(b []byte) (err error) {
	*m, err = ensemble.ParseEnum[CancelMode](b, cancelModeNames, "order", "cancel mode")
	return err
}

// ChangeKind is what a change to an active order does to one line.
type ChangeKind uint8

const (
	// ChangeUnspecified is the zero value and is never valid.
	ChangeUnspecified ChangeKind = iota
	// ChangeQuantity sets the line's quantity. It bills no one-time fee for
	// the units it adds: a line's one-time fees are billed once, when it
	// starts, for its quantity then (invoice.KindOneTime). A fee owed per
	// unit added (the installation of sites added later) is billed by
	// adding the units as a line of their own (ChangeAddLine), whose
	// one-time fees are billed when it starts. The quantity is checked as
	// a quote checks it: within the offer's bounds, and an integer if the
	// offer counts whole units (ErrFractionalQuantity).
	ChangeQuantity
	// ChangeOffer moves the line to another offer or version (an upgrade or
	// a downgrade).
	ChangeOffer
	// ChangeAddAddOn attaches an add-on, or sets the quantity of one the
	// line holds.
	ChangeAddAddOn
	// ChangeRemoveAddOn detaches an add-on.
	ChangeRemoveAddOn
	// ChangeAddLine adds a line (Change.Line is its new ID). The line is
	// checked as a quote checks one; no activation task is opened for it:
	// the host provisions lines added while active.
	ChangeAddLine
	// ChangeRemoveLine removes a line: its last segment ends at the
	// change's instant. The last line cannot be removed (cancel instead).
	ChangeRemoveLine
)

var changeKindNames = []string{"unspecified", "quantity", "offer", "add_add_on", "remove_add_on", "add_line", "remove_line"}

// String returns the kind's lowercase name.
func (k ChangeKind) String() string { return ensemble.EnumName(k, changeKindNames, "change kind") }

// MarshalText writes the kind's name; an undeclared kind is an error.
func (k ChangeKind) MarshalText() ([]byte, error) {
	return ensemble.EnumText(k, changeKindNames, "order", "change kind")
}

// UnmarshalText reads a kind's name; "" is ChangeUnspecified.
func (k *ChangeKind) UnmarshalText(b []byte) (err error) {
	*k, err = ensemble.ParseEnum[ChangeKind](b, changeKindNames, "order", "change kind")
	return err
}

// CommandKind is what a Command asks for. The zero value is never valid.
type CommandKind uint8

const (
	// CmdUnspecified is the zero value and is never valid.
	CmdUnspecified CommandKind = iota
	// CmdCreate: none -> draft, from Command.Draft.
	CmdCreate
	// CmdRevise: draft, quoted or expired -> draft, replacing the content
	// with Command.Draft (a quote is void once revised).
	CmdRevise
	// CmdQuote: draft -> quoted until Command.ExpiresAt, after checking
	// every line against the catalog and the seller's governance and
	// pinning the versions in force. Its problems' paths index the order's
	// Lines, sorted by ID (not the draft's order), and name each line.
	CmdQuote
	// CmdExpireQuote: quoted -> expired, at or after the expiry.
	CmdExpireQuote
	// CmdAccept: quoted -> accepted, before the expiry; the route's chain
	// is captured.
	CmdAccept
	// CmdBeginActivation: accepted -> activating, opening one task per
	// bundle component (one per product line).
	CmdBeginActivation
	// CmdCompleteTask: a pending or failed task is done; the last one
	// activates the order (activating -> active).
	CmdCompleteTask
	// CmdFailTask: a pending task failed; an exception opens.
	CmdFailTask
	// CmdRetryTask: a failed task is pending again, while attempts remain.
	CmdRetryTask
	// CmdSuspend: active -> suspended.
	CmdSuspend
	// CmdResume: suspended -> active.
	CmdResume
	// CmdChange: a change to one line of an active order, effective at an
	// instant (Command.Change).
	CmdChange
	// CmdCancel: before activation, abandons the order (-> cancelled);
	// once active or suspended, cancels it immediately (-> cancelled) or
	// schedules the cancellation at the period end (Command.Cancel).
	CmdCancel
	// CmdCompleteCancellation: active or suspended with a scheduled
	// cancellation -> cancelled, at or after its effective instant.
	CmdCompleteCancellation
	// CmdTerminate: activating, active or suspended -> terminated by the
	// platform, effective at once.
	CmdTerminate
	// CmdRevokeCancellation withdraws a cancellation scheduled at period
	// end, before it takes effect: the lines' last segments reopen. (A
	// change dated after the scheduled end was dropped when it was
	// scheduled and does not come back.)
	CmdRevokeCancellation
)

var commandKindNames = []string{"unspecified", "create", "revise", "quote", "expire_quote", "accept", "begin_activation",
	"complete_task", "fail_task", "retry_task", "suspend", "resume", "change", "cancel", "complete_cancellation", "terminate",
	"revoke_cancellation"}

// String returns the kind's lowercase name.
func (k CommandKind) String() string { return ensemble.EnumName(k, commandKindNames, "command") }

// MarshalText writes the kind's name; an undeclared kind is an error.
func (k CommandKind) MarshalText() ([]byte, error) {
	return ensemble.EnumText(k, commandKindNames, "order", "command")
}

// UnmarshalText reads a kind's name; "" is CmdUnspecified.
func (k *CommandKind) UnmarshalText(b []byte) (err error) {
	*k, err = ensemble.ParseEnum[CommandKind](b, commandKindNames, "order", "command")
	return err
}

// EventKind is what an Event records. The zero value is never valid.
type EventKind uint8

const (
	// EventUnspecified is the zero value and is never valid.
	EventUnspecified EventKind = iota
	// EventCreated carries the draft.
	EventCreated
	// EventRevised carries the new draft.
	EventRevised
	// EventQuoted carries the checked lines, currency, chain and expiry.
	EventQuoted
	// EventQuoteExpired: the quote lapsed.
	EventQuoteExpired
	// EventAccepted carries the chain captured at acceptance.
	EventAccepted
	// EventActivationStarted carries the activation tasks.
	EventActivationStarted
	// EventTaskCompleted names the task done.
	EventTaskCompleted
	// EventTaskFailed names the task and the reason.
	EventTaskFailed
	// EventTaskRetried names the task retried.
	EventTaskRetried
	// EventActivated: every task is done; segments open.
	EventActivated
	// EventSuspended: the order is paused.
	EventSuspended
	// EventResumed: the order runs again.
	EventResumed
	// EventChanged carries the change, resolved (pins in force).
	EventChanged
	// EventCancellationScheduled carries a cancellation at period end.
	EventCancellationScheduled
	// EventCancelled carries the cancellation.
	EventCancelled
	// EventTerminated carries the termination.
	EventTerminated
	// EventCancellationRevoked: a scheduled cancellation was withdrawn.
	EventCancellationRevoked
)

var eventKindNames = []string{"unspecified", "created", "revised", "quoted", "quote_expired", "accepted", "activation_started",
	"task_completed", "task_failed", "task_retried", "activated", "suspended", "resumed", "changed",
	"cancellation_scheduled", "cancelled", "terminated", "cancellation_revoked"}

// String returns the kind's lowercase name.
func (k EventKind) String() string { return ensemble.EnumName(k, eventKindNames, "event") }

// MarshalText writes the kind's name; an undeclared kind is an error.
func (k EventKind) MarshalText() ([]byte, error) {
	return ensemble.EnumText(k, eventKindNames, "order", "event")
}

// UnmarshalText reads a kind's name; "" is EventUnspecified.
func (k *EventKind) UnmarshalText(b []byte) (err error) {
	*k, err = ensemble.ParseEnum[EventKind](b, eventKindNames, "order", "event")
	return err
}

// TerminationRule says how an early-termination fee is computed (as
// package invoice's rule of the same name). The zero value,
// TerminationFixed, is a fixed amount.
type TerminationRule uint8

const (
	// TerminationFixed owes EarlyTermination.Amount whenever in the term
	// the end falls.
	TerminationFixed TerminationRule = iota
	// TerminationDeclining owes EarlyTermination.Amount in proportion to
	// the part of the term left at the end.
	TerminationDeclining
	// TerminationRemaining owes EarlyTermination.Percent (zero: 100%) of
	// what the recurring charges would still have billed to the term's
	// end.
	TerminationRemaining
	// TerminationPeriods owes EarlyTermination.Periods of the recurring
	// charges in force at the end ("three months of the monthly fee"),
	// with EarlyTermination.CapAtRemaining at most the remaining value
	// ("the lesser of the remaining charges and three months").
	TerminationPeriods
)

var terminationRuleNames = []string{TerminationFixed: "fixed", TerminationDeclining: "declining", TerminationRemaining: "remaining", TerminationPeriods: "periods"}

// String returns the rule's lowercase name.
func (r TerminationRule) String() string {
	return ensemble.EnumName(r, terminationRuleNames, "termination_rule")
}

// MarshalText writes the rule's name; an undeclared rule is an error.
func (r TerminationRule) MarshalText() ([]byte, error) {
	return ensemble.EnumText(r, terminationRuleNames, "order", "termination rule")
}

// UnmarshalText reads a rule's name; "" is TerminationFixed.
func (r *TerminationRule) UnmarshalText(b []byte) (err error) {
	*r, err = ensemble.ParseEnum[TerminationRule](b, terminationRuleNames, "order", "termination rule")
	return err
}
