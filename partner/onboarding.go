package partner

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// Status is where a partner stands in onboarding.
type Status uint8

const (
	// StatusNone is the zero value: no lifecycle event yet.
	StatusNone Status = iota
	// StatusApplied: the partner has applied.
	StatusApplied
	// StatusVetted: the application was checked and accepted.
	StatusVetted
	// StatusActive: the partner may sell and earn.
	StatusActive
	// StatusSuspended: the partner may neither sell nor earn new shares
	// until reinstated.
	StatusSuspended
	// StatusOffboarded: the partner left the network for good.
	StatusOffboarded
)

var statusNames = [...]string{"none", "applied", "vetted", "active", "suspended", "offboarded"}

// String returns the status's lowercase name.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// MarshalText writes the status's name.
func (s Status) MarshalText() ([]byte, error) {
	if int(s) >= len(statusNames) {
		return nil, &ensemble.EnumError{Package: "partner", Kind: "status", Text: strconv.Itoa(int(s)), Number: true}
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a status's name.
func (s *Status) UnmarshalText(b []byte) error {
	for i, name := range statusNames {
		if name == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return &ensemble.EnumError{Package: "partner", Kind: "status", Text: string(b)}
}

// CanTrade reports whether a partner in this status may sell and earn new
// shares: only active partners may.
func (s Status) CanTrade() bool { return s == StatusActive }

// Action is an onboarding command.
type Action uint8

const (
	// ActionUnspecified is the zero value and is never valid.
	ActionUnspecified Action = iota
	// ActionApply: none -> applied.
	ActionApply
	// ActionVet: applied -> vetted.
	ActionVet
	// ActionActivate: vetted -> active.
	ActionActivate
	// ActionSuspend: active -> suspended.
	ActionSuspend
	// ActionReinstate: suspended -> active.
	ActionReinstate
	// ActionOffboard: applied, vetted, active or suspended -> offboarded.
	ActionOffboard
)

var actionNames = [...]string{"unspecified", "apply", "vet", "activate", "suspend", "reinstate", "offboard"}

// String returns the action's lowercase name.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// MarshalText writes the action's name.
func (a Action) MarshalText() ([]byte, error) {
	if int(a) >= len(actionNames) {
		return nil, &ensemble.EnumError{Package: "partner", Kind: "action", Text: strconv.Itoa(int(a)), Number: true}
	}
	return []byte(a.String()), nil
}

// UnmarshalText reads an action's name.
func (a *Action) UnmarshalText(b []byte) error {
	for i, name := range actionNames {
		if name == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return &ensemble.EnumError{Package: "partner", Kind: "action", Text: string(b)}
}

// transition returns the status an action leads to from s.
func transition(s Status, a Action) (Status, bool) {
	switch {
	case a == ActionApply && s == StatusNone:
		return StatusApplied, true
	case a == ActionVet && s == StatusApplied:
		return StatusVetted, true
	case a == ActionActivate && s == StatusVetted:
		return StatusActive, true
	case a == ActionSuspend && s == StatusActive:
		return StatusSuspended, true
	case a == ActionReinstate && s == StatusSuspended:
		return StatusActive, true
	case a == ActionOffboard && s != StatusNone && s != StatusOffboarded:
		return StatusOffboarded, true
	}
	return s, false
}

// Errors of the onboarding lifecycle.
var (
	// ErrInvalidTransition reports an action the current status does not
	// allow.
	ErrInvalidTransition = errors.New("partner: invalid onboarding transition")
	// ErrOutOfOrder reports an action or event dated before the last one.
	ErrOutOfOrder = errors.New("partner: lifecycle event before the previous one")
)

// TransitionError reports an action refused in a status.
type TransitionError struct {
	Partner ID
	Status  Status
	Action  Action
	At      time.Time
	Err     error // ErrInvalidTransition or ErrOutOfOrder
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("partner %q: cannot %s when %s at %s: %v", e.Partner, e.Action, e.Status, e.At.Format(time.RFC3339), e.Err)
}

// Unwrap returns ErrInvalidTransition or ErrOutOfOrder.
func (e *TransitionError) Unwrap() error { return e.Err }

// Command asks the onboarding lifecycle to take an action.
type Command struct {
	Action Action `json:"action"`
	Actor  string `json:"actor"`            // who acts, such as a user or system id
	Reason string `json:"reason,omitempty"` // why, for the audit trail
}

// Event records one onboarding transition: what happened, from which status
// to which, when, by whom and why.
type Event struct {
	Partner ID        `json:"partner"`
	Action  Action    `json:"action"`
	From    Status    `json:"from"`
	To      Status    `json:"to"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor,omitempty"`
	Reason  string    `json:"reason,omitempty"`
}

// Onboarding is a partner's onboarding state: a value changed only by Decide
// and rebuilt exactly by Fold.
type Onboarding struct {
	Partner ID        `json:"partner"`
	Status  Status    `json:"status"`
	Since   time.Time `json:"since,omitzero"` // when the status was entered
	Events  int       `json:"events"`         // how many events made this state
}

// Decide applies cmd at instant at: it returns the new state and the event
// that records the transition. An action the status does not allow, or an
// instant before the last transition, is a *TransitionError and changes
// nothing.
func (o Onboarding) Decide(cmd Command, at time.Time) (Onboarding, []Event, error) {
	if at.Before(o.Since) {
		return o, nil, &TransitionError{Partner: o.Partner, Status: o.Status, Action: cmd.Action, At: at, Err: ErrOutOfOrder}
	}
	next, ok := transition(o.Status, cmd.Action)
	if !ok {
		return o, nil, &TransitionError{Partner: o.Partner, Status: o.Status, Action: cmd.Action, At: at, Err: ErrInvalidTransition}
	}
	ev := Event{Partner: o.Partner, Action: cmd.Action, From: o.Status, To: next, At: at, Actor: cmd.Actor, Reason: cmd.Reason}
	return o.apply(ev), []Event{ev}, nil
}

func (o Onboarding) apply(ev Event) Onboarding {
	return Onboarding{Partner: o.Partner, Status: ev.To, Since: ev.At, Events: o.Events + 1}
}

// Fold rebuilds the onboarding state of partner id from its events, oldest
// first, checking each against the lifecycle: an event that names another
// partner, does not follow from the state before it, or is dated before its
// predecessor is an error naming its index.
func Fold(id ID, events []Event) (Onboarding, error) {
	o := Onboarding{Partner: id}
	for i, ev := range events {
		if ev.Partner != id {
			return Onboarding{}, fmt.Errorf("partner %q: lifecycle[%d] names partner %q", id, i, ev.Partner)
		}
		if ev.From != o.Status {
			return Onboarding{}, fmt.Errorf("partner %q: lifecycle[%d] starts from %s but the status is %s", id, i, ev.From, o.Status)
		}
		next, err := o.replay(ev)
		if err != nil {
			return Onboarding{}, fmt.Errorf("lifecycle[%d]: %w", i, err)
		}
		o = next
	}
	return o, nil
}

func (o Onboarding) replay(ev Event) (Onboarding, error) {
	next, _, err := o.Decide(Command{Action: ev.Action, Actor: ev.Actor, Reason: ev.Reason}, ev.At)
	if err != nil {
		return Onboarding{}, err
	}
	if next.Status != ev.To {
		return Onboarding{}, fmt.Errorf("partner %q: %s leads to %s, the event says %s", o.Partner, ev.Action, next.Status, ev.To)
	}
	return next, nil
}

// statusAt returns the status after the events dated at or before t.
// events must already have passed Fold.
func statusAt(events []Event, t time.Time) Status {
	s := StatusNone
	for _, ev := range events {
		if ev.At.After(t) {
			break
		}
		s = ev.To
	}
	return s
}
