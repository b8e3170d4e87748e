package settlement

import (
	"errors"
	"fmt"
)

// Dataless conditions. The typed errors below wrap them, so callers match
// with errors.Is and read the details with errors.As.
var (
	// ErrInvalidLine reports a line that cannot be settled as given: an
	// empty id, a zero date, a negative amount or a negative tax on a line
	// that credits nothing, an amount that is not a whole number of minor
	// units, ...
	ErrInvalidLine = errors.New("settlement: invalid line")
	// ErrAlreadySettled reports a line id the state already holds, or a
	// line id given twice in one call. Settling is not silently repeated.
	ErrAlreadySettled = errors.New("settlement: line already settled")
	// ErrNoPlan reports a line no plan matches at its date.
	ErrNoPlan = errors.New("settlement: no plan for line")
	// ErrAmbiguousPlan reports a line two equally specific plans match.
	ErrAmbiguousPlan = errors.New("settlement: ambiguous plans for line")
	// ErrOverAllocation reports a level whose evaluated fixed amounts,
	// ratios and floors exceed what the level holds.
	ErrOverAllocation = errors.New("settlement: shares exceed the amount")
	// ErrOverCredit reports a credit for more than the credited line has
	// left unreversed.
	ErrOverCredit = errors.New("settlement: credit exceeds the unreversed amount")
	// ErrUnknownLine reports a credit, dispute or adjustment naming a line
	// the state does not hold.
	ErrUnknownLine = errors.New("settlement: unknown line")
	// ErrDisputed reports a credit of a line whose dispute is open.
	ErrDisputed = errors.New("settlement: line is disputed")
	// ErrNotDisputed reports resolving a dispute that is not open.
	ErrNotDisputed = errors.New("settlement: line is not disputed")
	// ErrSupplierCosts reports supplier costs above the line's basis, or in
	// another currency.
	ErrSupplierCosts = errors.New("settlement: supplier costs exceed the line")
	// ErrRule reports a rule that failed to evaluate for a line.
	ErrRule = errors.New("settlement: rule failed")
	// ErrCurrency reports a fixed amount, cap, floor or tier in a currency
	// other than the line's.
	ErrCurrency = errors.New("settlement: currency mismatch")
	// ErrInvalidAdjustment reports an adjustment without id, party, reason,
	// approver or amount.
	ErrInvalidAdjustment = errors.New("settlement: invalid adjustment")
	// ErrStatementMismatch reports merging statements of different
	// partners, currencies or periods.
	ErrStatementMismatch = errors.New("settlement: statements do not match")
	// ErrCorruptState is matched by every error State.UnmarshalJSON
	// returns: a persisted state that does not decode strictly, or whose
	// ledger breaks an invariant settling keeps (each a *StateError).
	ErrCorruptState = errors.New("settlement: corrupt state")
)

// StateError reports one invariant a persisted State breaks, naming the
// ledger line and part it is about. It matches ErrCorruptState with
// errors.Is, and Err (such as ErrCurrency, ensemble.ErrNotMinorUnits or an
// *ensemble.IDError) where one applies.
type StateError struct {
	// Line is the settled line, or the credit line of a problem with
	// Credits; empty for a cumulative volume.
	Line LineID
	// Part is the entry id of the part at fault, as the state spells it;
	// empty when the problem is the line's own.
	Part EntryID
	Msg  string // what is wrong, with the values at fault
	Err  error  // the condition, if any
}

// Error names the line and part, then the problem.
func (e *StateError) Error() string {
	s := "settlement: corrupt state: "
	if e.Line != "" {
		s += fmt.Sprintf("line %q ", string(e.Line))
	}
	if e.Part != "" {
		s += fmt.Sprintf("part %q ", string(e.Part))
	}
	if e.Line != "" || e.Part != "" {
		s = s[:len(s)-1] + ": "
	}
	return s + e.Msg
}

// Is reports whether target is ErrCorruptState.
func (e *StateError) Is(target error) bool { return target == ErrCorruptState }

// Unwrap returns the condition, or nil.
func (e *StateError) Unwrap() error { return e.Err }

// LineError names the line, plan node and rule a settlement error is
// about. Node and Rule are empty when the error is not about one.
type LineError struct {
	Line LineID
	Plan string
	Node string // node path, such as "root/channel/reseller"
	Rule string // rule id@version, when a rule decided
	Err  error
}

// Error names the line, plan, node and rule, then the problem.
func (e *LineError) Error() string {
	s := fmt.Sprintf("settlement: line %q", string(e.Line))
	if e.Plan != "" {
		s += fmt.Sprintf(" plan %q", e.Plan)
	}
	if e.Node != "" {
		s += fmt.Sprintf(" node %q", e.Node)
	}
	if e.Rule != "" {
		s += fmt.Sprintf(" rule %q", e.Rule)
	}
	return s + ": " + trimPrefix(e.Err.Error())
}

// Unwrap returns the condition, such as ErrOverAllocation.
func (e *LineError) Unwrap() error { return e.Err }

func lineErr(id LineID, plan, node, rule string, err error) error {
	return &LineError{Line: id, Plan: plan, Node: node, Rule: rule, Err: err}
}

// trimPrefix drops a leading "settlement: " so wrapped messages read once.
func trimPrefix(s string) string {
	const p = "settlement: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// ErrShadowedPlan reports a plan version no line can ever be settled with:
// wherever it applies, higher versions of the same plan apply too (a
// mistyped effective_from, say). A *PlanConflictError wraps it.
var ErrShadowedPlan = errors.New("settlement: plan version hidden by higher versions")

// ErrUnknownParty reports a plan naming partner:<id> for a partner the
// network does not have.
var ErrUnknownParty = errors.New("settlement: unknown party")
