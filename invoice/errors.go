package invoice

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
)

// Conditions that invoice errors wrap; match them with errors.Is. Problems
// of an input arrive as *ensemble.FieldError values inside one
// *ensemble.ValidationError, each with the path of the offending field.
var (
	// ErrRequired reports a field that must be set and is not.
	ErrRequired = errors.New("invoice: required")
	// ErrInvalidID reports an ID holding '/' or white space.
	ErrInvalidID = errors.New("invoice: invalid id")
	// ErrDuplicate reports an ID declared twice.
	ErrDuplicate = errors.New("invoice: duplicate")
	// ErrNegative reports a quantity, amount or rate below zero.
	ErrNegative = errors.New("invoice: negative")
	// ErrOrder reports segments out of time order, overlapping, or ending
	// before they start, and a run whose At is not after After.
	ErrOrder = errors.New("invoice: out of order")
	// ErrCurrency reports an offer or amount in another currency than the
	// subscription's.
	ErrCurrency = errors.New("invoice: currency differs from the subscription's")
	// ErrUnknown reports a pin, charge, time zone, usage line or meter that
	// cannot be resolved.
	ErrUnknown = errors.New("invoice: unknown")
	// ErrInvalid reports a value outside its allowed range or form.
	ErrInvalid = errors.New("invoice: invalid value")
	// ErrAttribution reports usage whose attribution does not fit its
	// charge (catalog.Charge.AttributeTo): an aggregate of records not
	// attributed to the attribute the charge names (usage.Meter.AttributeTo
	// differs, or is empty), an attributed aggregate for a charge that
	// attributes nothing, a value whose quantity is negative, or an
	// attributed charge billed progressively. A *UsageError wraps it.
	ErrAttribution = errors.New("invoice: usage attribution")
	// ErrBearerNotOnLine reports a credit whose bearer names a bundle
	// component the credited line owes no supplier cost of, or a party
	// that is not one of the line's suppliers but within a typo of one,
	// so that no one could bear it. A *BearerError wraps it; it matches
	// ErrInvalid too.
	ErrBearerNotOnLine = fmt.Errorf("%w: bearer not on the credited line", ErrInvalid)
	// ErrDiscountDuration reports a discount whose duration cannot be
	// billed: a Repeating discount with no cycles and no length, both, a
	// cycle count or length outside its range (zero or negative cycles, a
	// length of no calendar unit or a negative or too large count), or
	// cycles or a length on a discount that is not Repeating. It matches
	// ErrInvalid too.
	ErrDiscountDuration = fmt.Errorf("%w: discount duration", ErrInvalid)
	// ErrReverseChargeDomestic reports a reverse-charge customer whose
	// region is in the country where the seller is established
	// (TaxTable.Seller): reverse charge applies to cross-border supplies
	// only (EU VAT Directive art. 196), so billing it no tax would
	// under-bill the seller's VAT. Reported at the subscription's
	// customer, naming the customer and the country; it matches
	// ErrInvalid too. Never reported when the table declares no Seller.
	ErrReverseChargeDomestic = fmt.Errorf("%w: reverse charge for a customer in the seller's country", ErrInvalid)
	// ErrNoTaxRule reports a line the non-empty tax table has no rule for.
	ErrNoTaxRule = errors.New("invoice: no tax rule")
	// ErrNotIssued reports a credit note against a draft invoice.
	ErrNotIssued = errors.New("invoice: invoice not issued")
	// ErrOverCredit reports a credit beyond what remains creditable on a
	// line.
	ErrOverCredit = errors.New("invoice: credit exceeds what remains creditable")
	// ErrNotCreditable reports a credit of a line with no positive total.
	ErrNotCreditable = errors.New("invoice: line not creditable")
)

// LineError reports a problem with one line while building or crediting.
type LineError struct {
	// Line is the line concerned.
	Line LineID
	// Value is the offending value; it may be empty.
	Value string
	// Err is the condition, such as ErrOverCredit.
	Err error
}

// Error writes `invoice: line "x": <condition>: <value>`.
func (e *LineError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("invoice: line %q: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("invoice: line %q: %v: %s", e.Line, e.Err, e.Value)
}

// Unwrap returns the condition.
func (e *LineError) Unwrap() error { return e.Err }

// BearerError reports the bearer of a credit-note line that cannot bear
// the credit of the line it credits (ErrBearerNotOnLine): a bundle
// component the line owes no supplier cost of (Bearer.Component), or a
// party that is none of the line's suppliers (catalog.SupplierCost.Supplier)
// but within a typo of one (Bearer.Party; "intelcoo" for "intelco"). A
// party far from every supplier is not reported: it may be the seller, a
// referrer or another party of the order's route, which the invoice does not
// know, and package settlement refuses it if it bears no part of the line
// (settlement.BearerError). NewCreditNote reports it inside its
// *ensemble.ValidationError at the bearer's field
// (lines[k].bearer.component, lines[k].bearer.party).
type BearerError struct {
	// Line is the credited invoice line.
	Line LineID
	// Bearer is the bearer refused.
	Bearer Bearer
	// OnLine lists what the line could be borne by in the form the bearer
	// is: its supplier costs' component IDs for a component, its suppliers'
	// partner IDs for a party; sorted, without repeats.
	OnLine []string
	// Err is the condition: ErrBearerNotOnLine.
	Err error
}

// Error names the line and the bearer, what the line could be borne by,
// and the nearest of those to what the bearer names.
func (e *BearerError) Error() string {
	on := "none"
	if len(e.OnLine) > 0 {
		q := make([]string, len(e.OnLine))
		for i, s := range e.OnLine {
			q[i] = strconv.Quote(s)
		}
		on = strings.Join(q, ", ")
	}
	var msg, name string
	if e.Bearer.Component != "" {
		name = e.Bearer.Component
		msg = fmt.Sprintf("invoice: line %q has no supplier cost of component %q to bear the credit (its components: %s)", e.Line, name, on)
	} else {
		name = e.Bearer.Party
		msg = fmt.Sprintf("invoice: party %q is not a supplier of line %q (its suppliers: %s)", name, e.Line, on)
	}
	if near := ensemble.Nearest(name, e.OnLine); len(near) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", near[0])
	}
	return msg
}

// Unwrap returns the condition.
func (e *BearerError) Unwrap() error { return e.Err }

// ErrCostShortfall reports a bundle line whose net cannot carry the fixed
// supplier costs owed for it (after a large discount, or on a free line)
// while a component's cost does not say who bears the difference
// (catalog.WholesaleCost.Shortfall): billing it would pay the supplier
// less than its contract says, or pay out more than the line brought in.
var ErrCostShortfall = errors.New("invoice: fixed supplier costs exceed what the line charged")

// CostShortfallError reports a bundle line whose fixed supplier costs its
// net cannot carry, naming the component whose cost does not say who bears
// the shortfall (ErrCostShortfall). It arrives inside the
// *ensemble.ValidationError of Build, at the line's invoice. Declare the
// component cost's shortfall: supplier (catalog.ShortfallSupplier) to cut
// the fixed costs to what the line leaves (the supplier shares the
// discount); a platform that funds the discount declares the same and pays
// the supplier the cut (catalog.SupplierCost.Capped) itself, as a
// settlement adjustment.
type CostShortfallError struct {
	// Line is the bundle line.
	Line LineID
	// Component is the component whose cost declares no shortfall, as
	// "offer/supplier".
	Component string
	// Owed is the component's fixed cost on the line, before any cut.
	Owed ensemble.Money
	// Fixed is what the line's fixed costs come to, Owed included, and
	// Leaves what the line's net leaves for them after its ratio costs
	// (less than Fixed, zero on a free line).
	Fixed, Leaves ensemble.Money
	// Err is ErrCostShortfall.
	Err error
}

// Error names the line, the amounts and the component.
func (e *CostShortfallError) Error() string {
	return fmt.Sprintf("invoice: line %q: fixed supplier costs of %s, its net leaves %s for them: component %q (owed %s) does not say who bears the shortfall (shortfall: supplier cuts its cost to what the line leaves)",
		e.Line, e.Fixed, e.Leaves, e.Component, e.Owed)
}

// Unwrap returns the condition.
func (e *CostShortfallError) Unwrap() error { return e.Err }

// TermError reports an item's own billing anchor or contract term, or the
// subscription's contract term, that cannot be billed, naming the
// subscription, the item (empty for the subscription's term) and the field.
// It arrives inside the *ensemble.ValidationError of Build and Validate, at
// the item's (or subscription's) path, and wraps its condition (ErrInvalid,
// ErrRequired).
type TermError struct {
	// Subscription and Item name the item; Item is empty for the
	// subscription's Term.
	Subscription SubscriptionID
	Item         ItemID
	// Field is the offending field: "anchor", "term.length",
	// "term.auto_renew", or one of the fee's
	// ("term.early_termination.amount", ".percent", ".periods", ...).
	Field string
	// Value is the offending value, cut to 64 bytes; it may be empty.
	Value string
	// Err is the condition.
	Err error
}

// Error writes `invoice: subscription "s" item "i": <field>: <condition>:
// <value>` (without the item for the subscription's term).
func (e *TermError) Error() string {
	v := e.Value
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	msg := fmt.Sprintf("invoice: subscription %q item %q: %s: %v", e.Subscription, e.Item, e.Field, e.Err)
	if e.Item == "" {
		msg = fmt.Sprintf("invoice: subscription %q: %s: %v", e.Subscription, e.Field, e.Err)
	}
	if v != "" {
		msg += ": " + v
	}
	return msg
}

// Unwrap returns the condition.
func (e *TermError) Unwrap() error { return e.Err }

// valueError wraps a condition with the offending value.
type valueError struct {
	err   error
	value string
}

func (e *valueError) Error() string {
	if e.value == "" {
		return e.err.Error()
	}
	v := e.value
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return e.err.Error() + ": " + v
}

func (e *valueError) Unwrap() error { return e.err }

func bad(err error, format string, args ...any) error {
	return &valueError{err: err, value: fmt.Sprintf(format, args...)}
}

// because wraps err with an explanation, never shortened (bad shortens the
// value it quotes).
func because(err error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{err}, args...)...)
}

// Conditions of usage that cannot be billed as given; a *UsageError names
// its line, meter and period.
var (
	// ErrUsageNotDue reports an aggregate in Run.Usage (or an ended
	// period in Run.Progressive) that the run does not bill: its due
	// instant (the end of its period, or of the item's service in it) is
	// not in (Run.After, Run.At].
	ErrUsageNotDue = errors.New("invoice: usage not due in the run")
	// ErrNothingBilled reports a late usage adjustment with no billed
	// aggregate of its line, meter and period to pair with.
	ErrNothingBilled = errors.New("invoice: late usage with nothing billed to pair with")
	// ErrSpansChange reports, under SplitAtChange, the usage of a whole
	// period over which the item's usage charge changes: each piece of
	// it, cut at the change, is billed on its own and needs its own
	// aggregate (Builder.UsageLines lists the pieces as usage periods).
	ErrSpansChange = errors.New("invoice: usage period spans a change of its usage charge")
	// ErrAveragePiece reports the usage of a usage.WeightedAverage meter
	// over a piece of a period (cut where the item's usage charge
	// changes) averaged over the piece rather than over its cycle
	// (usage.Aggregate.Cycle is not the cycle): rated as a quantity of the
	// whole cycle (TB-months, seat-months) it would bill the piece as if
	// it lasted the cycle. Collect the usage on the lines of
	// Builder.UsageLines, whose usage.Line.Cycles average each piece over
	// its cycle (the level times the fraction of the cycle in the piece),
	// or bill the cycle whole at its latest charge (Options.UsageSplit
	// SplitNone).
	ErrAveragePiece = errors.New("invoice: time-weighted average usage over a piece of a period")
)

// UsageError reports the usage of one line, meter and period that cannot
// be billed as given. It wraps its condition (ErrUsageNotDue,
// ErrNothingBilled, ErrSpansChange, ErrAveragePiece, ErrDuplicate, ErrInvalid, or
// ErrBilledIncomplete: a stretch of service after a restart in a period
// billed by an earlier run owes its share of the spend bounds, rated with
// the usage billed, or a line of the run takes a fixed discount
// (Discount.Amount) of a cycle holding the period, which an earlier run
// billed, and Run.Billed lacks the period's usage line, whose
// due instant Due is; or the usage adjusted belongs to a minimum
// commitment's cycle whose true-up fell due at Due and Run.Billed lacks
// what it was billed against, see Run.Late; or a negative late adjustment
// of a period drawn on a prepaid commitment, and Run.Billed lacks the
// period's lines, which say what it drew: see PrepaidCommitment), or the
// catalog's error when the charge cannot rate the period's usage (such as
// catalog.ErrNegativeQuantity: corrections that bring the period below
// zero; Detail says so); Build reports it inside its
// *ensemble.ValidationError at the item's path (at
// subscriptions[i].commitment for a true-up, subscriptions[i].prepaid for a
// prepaid give-back), LateUsageFrom on its own.
type UsageError struct {
	// Line, Meter and Period name the aggregate (the period in UTC).
	Line   usage.LineRef
	Meter  usage.MeterID
	Period ensemble.Period
	// Due is, for ErrUsageNotDue, the instant the usage is billed at: the
	// end of its period, or of the item's service in it; for
	// ErrBilledIncomplete, when the period's usage line fell due.
	Due time.Time
	// Detail says what happened and what to do; it may be empty.
	Detail string
	// Err is the condition.
	Err error
}

// Error writes `invoice: usage of line "l" meter "m" for [start, end): <condition>: <detail>`.
func (e *UsageError) Error() string {
	msg := fmt.Sprintf("invoice: usage of line %q meter %q for %s: %v", e.Line, e.Meter, e.Period, e.Err)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the condition.
func (e *UsageError) Unwrap() error { return e.Err }

// ErrBackdated reports a back-dated change a run cannot bill as given: a
// change to a subscription (a segment, a segment's end, a cancellation, a
// discount or an item's removal) recorded after the run's After but effective at or before
// it, while Run.Billed holds none of the subscription's lines. The run at
// After billed the time the change reaches back into without it; only the
// lines it issued (Run.Billed) let this run catch up what the change owes,
// or gives back, rather than lose it. A subscription no run has billed
// yet is billed from the beginning: a run with After zero.
var ErrBackdated = errors.New("invoice: change recorded after the last run but effective before it")

// BackdatedError reports a back-dated change (see ErrBackdated), naming
// the subscription, the item (empty for the subscription's CancelAt or
// one of its discounts), the field, when the change takes effect and when
// it was recorded. It arrives inside the *ensemble.ValidationError of
// Build at the field's path, and wraps its condition (ErrBackdated).
type BackdatedError struct {
	// Subscription and Item name what changed; Item is empty for a change
	// of the subscription as a whole.
	Subscription SubscriptionID
	Item         ItemID
	// Field is the changed field: "segments[1].start" (a change opening
	// the segment), "segments[0].end" (its end), "cancel_at",
	// "discounts[0].start" or "removed[0].start" (an item removed back to
	// its start: Subscription.Removed, whose item Item names).
	Field string
	// Effective is when the change takes effect; Recorded when it was
	// recorded; After the run's After, which lies between them.
	Effective, Recorded, After time.Time
	// Err is the condition.
	Err error
}

// Error writes `invoice: subscription "s" item "i": <field> <effective>
// recorded at <recorded>, after the run at <after>: <condition>: ...`.
func (e *BackdatedError) Error() string {
	who := fmt.Sprintf("subscription %q item %q", e.Subscription, e.Item)
	if e.Item == "" {
		who = fmt.Sprintf("subscription %q", e.Subscription)
	}
	return fmt.Sprintf("invoice: %s: %s %s recorded at %s, after the run at %s: %v: pass the lines earlier runs issued for it in Run.Billed, so that this run catches up what the change owes",
		who, e.Field, fmtRFC(e.Effective), fmtRFC(e.Recorded), fmtRFC(e.After), e.Err)
}

// Unwrap returns the condition.
func (e *BackdatedError) Unwrap() error { return e.Err }

// ErrBilledIncomplete reports a run catching up a back-dated change whose
// Run.Billed lacks a line an earlier run issued for the subscription: the
// run would take the line for one no run billed and bill it again. See
// BilledIncompleteError for what a run can tell was issued. A *UsageError
// wraps it too, for a usage period whose later stretch of service owes its
// spend share and whose usage line Run.Billed lacks (see Run), for a
// usage period an earlier run billed in a cycle a line of the run takes a
// fixed discount of, whose usage line Run.Billed lacks (see
// Discount.Amount), and for usage adjustments of a minimum commitment's
// cycle whose true-up fell due by Run.After when Run.Billed holds no line
// of the cycle, or lines short of the minimum and no true-up (see
// Run.Late).
var ErrBilledIncomplete = errors.New("invoice: a line earlier runs issued is missing from Run.Billed")

// BilledIncompleteError reports a line missing from Run.Billed (see
// ErrBilledIncomplete) while a run catches up a back-dated change: a line
// of the subscription's history, as the run recomputes it, that earlier
// runs surely issued (or a line billed anew for it, Line.Reissues), with
// no such line standing in Run.Billed; or the reversal of a line that
// Run.Billed holds together with a line billed anew for it. A run tells a
// line was issued when it fell due by Run.After and before the earliest
// instant a back-dated change takes effect at (Effective), or when it is
// billed in advance (or a one-time fee) at an instant by Run.After where
// the item's segment in force was recorded by Run.After, or billed in
// arrears for a cycle over by Run.After from such a segment. It arrives
// inside the *ensemble.ValidationError of Build at the subscription's
// path, one per missing line, and wraps its condition
// (ErrBilledIncomplete).
type BilledIncompleteError struct {
	// Subscription and Item name whose line is missing; Item is empty for
	// a line of the subscription as a whole.
	Subscription SubscriptionID
	Item         ItemID
	// Line is the missing line's ID: as one run over the span bills it
	// (the line itself, or one billed anew for it: Line.Reissues), or,
	// for a missing reversal, "<line>/reversal".
	Line LineID
	// Due is when the line fell due (zero for a reversal).
	Due time.Time
	// Effective is the earliest instant a back-dated change of the
	// subscription takes effect at: Run.Billed must hold every line issued
	// for the subscription whose cycle ends after it.
	Effective time.Time
	// Err is the condition.
	Err error
}

// Error writes `invoice: subscription "s" item "i": line "x" due <due>
// was issued by an earlier run but is not in Run.Billed: <condition>: ...`.
func (e *BilledIncompleteError) Error() string {
	who := fmt.Sprintf("subscription %q item %q", e.Subscription, e.Item)
	if e.Item == "" {
		who = fmt.Sprintf("subscription %q", e.Subscription)
	}
	what := fmt.Sprintf("line %q due %s was issued by an earlier run", e.Line, fmtRFC(e.Due))
	if e.Due.IsZero() {
		what = fmt.Sprintf("reversal %q was issued with the line billed anew for it", e.Line)
	}
	return fmt.Sprintf("invoice: %s: %s but is not in Run.Billed: %v: a back-dated change takes effect at %s; pass every line earlier runs issued for the subscription whose cycle ends after it, with their reversals and credit notes, or the run bills them again",
		who, what, e.Err, fmtRFC(e.Effective))
}

// Unwrap returns the condition.
func (e *BilledIncompleteError) Unwrap() error { return e.Err }

// ErrLateDiscount reports a discount recorded after a run billed usage it
// covers (a back-dated discount: see Discount.Recorded) that the run
// catching it up cannot credit exactly: a fixed amount (which the lines of
// a cycle take in the order they are due, so what each billed line would
// have taken depends on lines no run recomputes), a subscription with a
// minimum or prepaid commitment (whose true-up or drawdown the credit
// would change, and which are not recomputed), or a usage period whose
// usage line Run.Billed lacks. See LateDiscountError.
var ErrLateDiscount = errors.New("invoice: a discount recorded late cannot be credited exactly on the usage billed before it")

// LateDiscountError reports a discount recorded late that cannot be
// credited exactly on usage an earlier run billed (see ErrLateDiscount),
// naming the subscription, the item, the discount, the billed line and
// its usage period, and why. It arrives inside the
// *ensemble.ValidationError of Build at the discount's path, and wraps its
// condition (ErrLateDiscount). Credit the usage with a credit note
// (NewCreditNote), or record the discount from the next period on.
type LateDiscountError struct {
	Subscription SubscriptionID
	Item         ItemID
	Discount     DiscountID
	// Line is the billed usage line the discount reaches, and Period its
	// usage period (UTC).
	Line   LineID
	Period ensemble.Period
	// Recorded is when the discount was recorded.
	Recorded time.Time
	// Detail says why the credit cannot be exact.
	Detail string
	// Err is the condition.
	Err error
}

// Error writes `invoice: subscription "s" item "i": discount "d" recorded
// at <recorded> reaches usage line "l" of [start, end), billed before it:
// <condition>: <detail>`.
func (e *LateDiscountError) Error() string {
	return fmt.Sprintf("invoice: subscription %q item %q: discount %q recorded at %s reaches usage line %q of %s, billed before it: %v: %s",
		e.Subscription, e.Item, e.Discount, fmtRFC(e.Recorded), e.Line, e.Period, e.Err, e.Detail)
}

// Unwrap returns the condition.
func (e *LateDiscountError) Unwrap() error { return e.Err }
