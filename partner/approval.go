package partner

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
)

// RequestKind is what an approval request asks for.
type RequestKind uint8

const (
	// RequestUnspecified is the zero value and is never valid.
	RequestUnspecified RequestKind = iota
	// RequestPriceException asks to sell below the allowed price.
	RequestPriceException
	// RequestOfferPublication asks to publish an offer to a partner's
	// customers.
	RequestOfferPublication
)

var requestKindNames = [...]string{"unspecified", "price_exception", "offer_publication"}

// String returns the kind's lowercase name.
func (k RequestKind) String() string {
	if int(k) < len(requestKindNames) {
		return requestKindNames[k]
	}
	return fmt.Sprintf("request_kind(%d)", uint8(k))
}

// MarshalText writes the kind's name.
func (k RequestKind) MarshalText() ([]byte, error) {
	if int(k) >= len(requestKindNames) {
		return nil, &ensemble.EnumError{Package: "partner", Kind: "request kind", Text: strconv.Itoa(int(k)), Number: true}
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind's name.
func (k *RequestKind) UnmarshalText(b []byte) error {
	for i, name := range requestKindNames {
		if name == string(b) {
			*k = RequestKind(i)
			return nil
		}
	}
	return &ensemble.EnumError{Package: "partner", Kind: "request kind", Text: string(b)}
}

// ApprovalStatus is where an approval request stands.
type ApprovalStatus uint8

const (
	// ApprovalNone is the zero value: nothing submitted.
	ApprovalNone ApprovalStatus = iota
	// ApprovalRequested: waiting for a decision.
	ApprovalRequested
	// ApprovalApproved: granted, by an approver or because no approval was
	// needed.
	ApprovalApproved
	// ApprovalRejected: refused by an approver.
	ApprovalRejected
	// ApprovalExpired: nobody decided before the request expired.
	ApprovalExpired
)

var approvalNames = [...]string{"none", "requested", "approved", "rejected", "expired"}

// String returns the status's lowercase name.
func (s ApprovalStatus) String() string {
	if int(s) < len(approvalNames) {
		return approvalNames[s]
	}
	return fmt.Sprintf("approval_status(%d)", uint8(s))
}

// MarshalText writes the status's name.
func (s ApprovalStatus) MarshalText() ([]byte, error) {
	if int(s) >= len(approvalNames) {
		return nil, &ensemble.EnumError{Package: "partner", Kind: "approval status", Text: strconv.Itoa(int(s)), Number: true}
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a status's name.
func (s *ApprovalStatus) UnmarshalText(b []byte) error {
	for i, name := range approvalNames {
		if name == string(b) {
			*s = ApprovalStatus(i)
			return nil
		}
	}
	return &ensemble.EnumError{Package: "partner", Kind: "approval status", Text: string(b)}
}

// Request asks for a price exception or an offer publication. Rules read it
// as the variable `request`.
type Request struct {
	ID        string         `json:"id"`
	Kind      RequestKind    `json:"kind"`
	Partner   ID             `json:"partner"`
	Offer     Offer          `json:"offer"`
	Customer  Customer       `json:"customer"`
	ListPrice ensemble.Money `json:"list_price,omitzero"`
	Price     ensemble.Money `json:"price,omitzero"`
	// Discount is the discount asked for as a ratio of the list price
	// (0.25 for 25%). PriceDiscount computes it from the prices.
	Discount    decimal.Decimal `json:"discount"`
	Reason      string          `json:"reason,omitempty"`
	RequestedBy string          `json:"requested_by"`
	RequestedAt time.Time       `json:"requested_at"`
	ExpiresAt   time.Time       `json:"expires_at,omitzero"` // zero: never
}

// Validate reports every missing or inconsistent field at once.
func (r Request) Validate() error {
	var p ensemble.Problems
	if r.ID == "" {
		p.Addf("id", "empty id")
	}
	if r.Kind == RequestUnspecified || int(r.Kind) >= len(requestKindNames) {
		p.Addf("kind", "unknown kind %s", r.Kind)
	}
	if r.Partner == "" {
		p.Addf("partner", "empty partner")
	}
	if r.RequestedBy == "" {
		p.Addf("requested_by", "empty requester")
	}
	if r.RequestedAt.IsZero() {
		p.Addf("requested_at", "zero instant")
	}
	if !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(r.RequestedAt) {
		p.Addf("expires_at", "expires at %s, not after it was requested", r.ExpiresAt.Format(time.RFC3339))
	}
	if r.Discount.Sign() < 0 || r.Discount.GreaterThan(decimal.NewFromInt(1)) {
		p.Addf("discount", "%s is outside [0, 1]", r.Discount)
	}
	if r.Kind == RequestPriceException {
		if c, err := r.Price.Cmp(r.ListPrice); err != nil {
			p.Add("price", err)
		} else if c > 0 || r.Price.IsNegative() {
			p.Addf("price", "%s is not between zero and the list price %s", r.Price, r.ListPrice)
		}
	}
	return p.Err(fmt.Sprintf("partner: request %q", r.ID))
}

// PriceDiscount returns 1 - price/list as a decimal rounded half away from
// zero to 6 places: the discount a price exception asks for. A zero or
// negative list price, or another currency, is an error.
func PriceDiscount(list, price ensemble.Money) (decimal.Decimal, error) {
	off, err := list.Sub(price)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if !list.IsPositive() {
		return decimal.Decimal{}, fmt.Errorf("partner: list price %s is not positive", list)
	}
	return ensemble.RatioFromDecimal(off.Amount()).Mul(ratioInverse(list.Amount())).Decimal(6, ensemble.RoundHalfAwayFromZero), nil
}

func ratioInverse(d decimal.Decimal) ensemble.Ratio {
	r := ensemble.RatioFromDecimal(d).Rat()
	return ensemble.RatioFromRat(r.Inv(r))
}

// AuditEvent records one governance decision: who did what to which
// request, when, the rule (id and version) that decided, and why.
type AuditEvent struct {
	Request string         `json:"request"`
	Partner ID             `json:"partner"`
	Action  string         `json:"action"` // submit, approve, reject, expire
	From    ApprovalStatus `json:"from"`
	To      ApprovalStatus `json:"to"`
	At      time.Time      `json:"at"`
	Actor   string         `json:"actor"`
	Rule    ensemble.Ref   `json:"rule,omitzero"`
	Reason  string         `json:"reason,omitempty"`
}

// Approval is an approval request's state: a value changed only by the
// Governance methods (and Expire), and rebuilt exactly by FoldApproval.
type Approval struct {
	Request   Request        `json:"request"`
	Status    ApprovalStatus `json:"status"`
	DecidedBy string         `json:"decided_by,omitempty"`
	DecidedAt time.Time      `json:"decided_at,omitzero"`
	Reason    string         `json:"reason,omitempty"`
	Events    int            `json:"events"`
}

// Errors of approvals.
var (
	// ErrNotRequested reports a decision on a request that is not waiting
	// for one.
	ErrNotRequested = errors.New("partner: request is not waiting for a decision")
	// ErrRequestExpired reports a decision after the request expired.
	ErrRequestExpired = errors.New("partner: request has expired")
	// ErrNotAuthorized reports an actor the approver policy does not allow.
	ErrNotAuthorized = errors.New("partner: actor may not decide this request")
)

// ApprovalError names the request and actor an approval error is about.
type ApprovalError struct {
	Request string
	Actor   string
	Rule    ensemble.Ref // the approver policy, when it refused
	Reason  string
	Err     error
}

func (e *ApprovalError) Error() string {
	msg := fmt.Sprintf("partner: request %q", e.Request)
	if e.Actor != "" {
		msg += fmt.Sprintf(" by %q", e.Actor)
	}
	msg += ": " + e.Err.Error()
	if e.Rule.ID != "" {
		msg += " (rule " + e.Rule.String() + ")"
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap returns the condition, such as ErrNotAuthorized.
func (e *ApprovalError) Unwrap() error { return e.Err }

// apply moves the approval along one audit event.
func (a Approval) apply(ev AuditEvent) Approval {
	a.Status = ev.To
	a.Events++
	if ev.To == ApprovalApproved || ev.To == ApprovalRejected || ev.To == ApprovalExpired {
		a.DecidedBy, a.DecidedAt, a.Reason = ev.Actor, ev.At, ev.Reason
	}
	return a
}

// Submit files a request: the partner's program's approval_needed rule
// decides whether it needs approval. If not, it is approved at once; either
// way the audit event names the rule that decided. An invalid request, an
// unknown partner or a rule that fails are errors.
func (g *Governance) Submit(ctx context.Context, req Request) (Approval, []AuditEvent, error) {
	if err := req.Validate(); err != nil {
		return Approval{}, nil, err
	}
	snap, err := g.net.At(req.Partner, req.RequestedAt)
	if err != nil {
		return Approval{}, nil, err
	}
	ev := AuditEvent{Request: req.ID, Partner: req.Partner, Action: "submit", From: ApprovalNone, To: ApprovalRequested,
		At: req.RequestedAt, Actor: req.RequestedBy, Reason: "approval needed"}
	prog := g.programs[snap.Program]
	if prog.ApprovalNeeded != "" {
		rule, err := g.rules.At(prog.ApprovalNeeded, req.RequestedAt)
		if err != nil {
			return Approval{}, nil, err
		}
		facts, err := g.facts(&snap, &req.Offer, &req.Customer, &req, nil)
		if err != nil {
			return Approval{}, nil, err
		}
		needed, err := rule.Condition(ctx, facts)
		if err != nil {
			return Approval{}, nil, err
		}
		ev.Rule = rule.Ref()
		if !needed {
			ev.To, ev.Reason = ApprovalApproved, "approval not needed"
		}
	}
	return Approval{Request: req}.apply(ev), []AuditEvent{ev}, nil
}

// Decide approves or rejects a waiting request on behalf of actor at
// instant at. The actor is never the one who requested it (four eyes: an
// *ApprovalError wrapping ErrNotAuthorized). The program's approver policy
// must allow the actor; its
// refusal is an *ApprovalError wrapping ErrNotAuthorized that names the rule
// and its reason. A request not waiting for a decision, or one past its
// expiry (call Expire), is an *ApprovalError too. On error nothing changes.
func (g *Governance) Decide(ctx context.Context, a Approval, approve bool, actor Actor, reason string, at time.Time) (Approval, []AuditEvent, error) {
	req := a.Request
	fail := func(err error) (Approval, []AuditEvent, error) {
		return a, nil, &ApprovalError{Request: req.ID, Actor: actor.ID, Err: err}
	}
	switch {
	case a.Status != ApprovalRequested:
		return fail(ErrNotRequested)
	case !req.ExpiresAt.IsZero() && !at.Before(req.ExpiresAt):
		return fail(ErrRequestExpired)
	case at.Before(req.RequestedAt):
		return fail(ErrOutOfOrder)
	case actor.ID == req.RequestedBy:
		// Four eyes: whoever asked for an exception does not grant it,
		// whatever the approver policy allows them.
		return fail(fmt.Errorf("%w: %q requested it, and a request is decided by someone else", ErrNotAuthorized, actor.ID))
	}
	snap, err := g.net.At(req.Partner, at)
	if err != nil {
		return a, nil, err
	}
	prog := g.programs[snap.Program]
	if prog.Approver == "" {
		return fail(fmt.Errorf("%w: program %q names no approver policy", ErrNotAuthorized, prog.ID))
	}
	facts, err := g.facts(&snap, &req.Offer, &req.Customer, &req, &actor)
	if err != nil {
		return a, nil, err
	}
	d, err := g.policy(ctx, prog.Approver, at, facts)
	if err != nil {
		return a, nil, err
	}
	if !d.Allowed {
		return a, nil, &ApprovalError{Request: req.ID, Actor: actor.ID, Rule: d.Rule, Reason: d.Reason, Err: ErrNotAuthorized}
	}
	ev := AuditEvent{Request: req.ID, Partner: req.Partner, Action: "approve", From: a.Status, To: ApprovalApproved,
		At: at, Actor: actor.ID, Rule: d.Rule, Reason: reason}
	if !approve {
		ev.Action, ev.To = "reject", ApprovalRejected
	}
	return a.apply(ev), []AuditEvent{ev}, nil
}

// Expire closes a waiting request whose expiry has passed at instant at.
// A request that is not waiting, or not yet expired, is an *ApprovalError.
func (a Approval) Expire(at time.Time) (Approval, []AuditEvent, error) {
	switch {
	case a.Status != ApprovalRequested:
		return a, nil, &ApprovalError{Request: a.Request.ID, Err: ErrNotRequested}
	case a.Request.ExpiresAt.IsZero() || at.Before(a.Request.ExpiresAt):
		return a, nil, &ApprovalError{Request: a.Request.ID, Err: fmt.Errorf("not expired at %s", at.Format(time.RFC3339))}
	}
	ev := AuditEvent{Request: a.Request.ID, Partner: a.Request.Partner, Action: "expire", From: a.Status, To: ApprovalExpired,
		At: at, Actor: "system", Reason: "no decision before " + a.Request.ExpiresAt.Format(time.RFC3339)}
	return a.apply(ev), []AuditEvent{ev}, nil
}

// FoldApproval rebuilds an approval from its request and audit events,
// checking that each event follows from the state before it.
func FoldApproval(req Request, events []AuditEvent) (Approval, error) {
	a := Approval{Request: req}
	for i, ev := range events {
		if ev.Request != req.ID || ev.From != a.Status || !approvalStep(ev.From, ev.To, ev.Action) {
			return Approval{}, fmt.Errorf("partner: request %q: events[%d] (%s %s -> %s) does not follow from %s", req.ID, i, ev.Action, ev.From, ev.To, a.Status)
		}
		a = a.apply(ev)
	}
	return a, nil
}

func approvalStep(from, to ApprovalStatus, action string) bool {
	switch action {
	case "submit":
		return from == ApprovalNone && (to == ApprovalRequested || to == ApprovalApproved)
	case "approve":
		return from == ApprovalRequested && to == ApprovalApproved
	case "reject":
		return from == ApprovalRequested && to == ApprovalRejected
	case "expire":
		return from == ApprovalRequested && to == ApprovalExpired
	}
	return false
}
