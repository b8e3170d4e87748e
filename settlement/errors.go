package settlement

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Dataless conditions. The typed errors below wrap them, so callers match
// with errors.Is and read the details with errors.As.
var (
	// ErrInvalidLine reports a line that cannot be settled as given: an
	// empty id, a zero date, a date or service period before year 1 or
	// after 9999 (its State and entries could not be written as JSON; so is
	// a sale whose plan's reserves would release after 9999), a negative
	// amount or a negative tax on a line that credits nothing, an amount
	// that is not a whole number of minor units (ensemble.ErrNotMinorUnits)
	// or one beyond the int64 range of minor units settlement keeps
	// (ensemble.ErrMinorUnitsRange: EUR 92233720368547758.08), a contract
	// start before year 1 or after 9999, a sale without the contract start
	// or service a rule evaluated for it names (with ErrRule: see
	// LineFacts), ...
	ErrInvalidLine = errors.New("settlement: invalid line")
	// ErrOrderMismatch reports invoice lines given to FromInvoice (or
	// FromInvoiceWith) with an order they do not bill: a line whose
	// Customer is not the order's customer, or whose trace names another
	// order (order.RefOrder) than the order's ID. Converted, they would be
	// settled under the other order's route and customer, paying its
	// seller, chain and referrer. It comes wrapped with ErrInvalidLine in a
	// *LineError naming the line.
	ErrOrderMismatch = errors.New("settlement: invoice line of another order")
	// ErrAlreadySettled reports a line id the state already holds, or a
	// line id given twice in one call. Settling is not silently repeated.
	// A line sent again as it was settled (a sale of the same facts: date,
	// currency, basis, route, offer, customer, charge, quantity, tax,
	// supplier costs, prepaid terms, service, invoice, contract start; a credit of the
	// same line and amount) matches ErrAlreadySettled alone, so a retrying
	// host may drop it; one that differs, or reuses a credit's id for a
	// sale (or a sale's for a credit), matches ErrLineConflict too. (A sale
	// settled on a state written before version 3 of the binary form, or
	// as JSON without LedgerLine.Facts, is compared by its date, currency,
	// basis, seller, route kind, offer and service alone.)
	ErrAlreadySettled = errors.New("settlement: line already settled")
	// ErrLineConflict reports a line whose id the state holds for another
	// line: a sale of other facts (another date, amount, route, customer...:
	// see ErrAlreadySettled), a credit of another line or amount, or a line
	// of the other kind. It is not a retry but a
	// changed line, which a credit note (and a new line) must carry. It
	// always comes with ErrAlreadySettled.
	ErrLineConflict = errors.New("settlement: line settled with other figures")
	// ErrNoPlan reports a line no plan matches at its date.
	ErrNoPlan = errors.New("settlement: no plan for line")
	// ErrAmbiguousPlan reports a line two equally specific plans match.
	ErrAmbiguousPlan = errors.New("settlement: ambiguous plans for line")
	// ErrOverAllocation reports a level whose evaluated fixed amounts,
	// ratios and floors exceed what the level holds (a *LineError naming
	// the level's node, no rule, its message listing what each child takes
	// and the rule that decided it), and a plan level whose ratios add up
	// to more than the whole.
	ErrOverAllocation = errors.New("settlement: shares exceed the amount")
	// ErrUnallocated reports a plan level that could leave part of its
	// amount to no one: no child takes the remaining amount while its
	// ratios add up to less than the whole or some share can vary (a
	// condition, a rule, a cap, a party that may not be paid).
	ErrUnallocated = errors.New("settlement: a plan level can leave money unallocated")
	// ErrRemainingChild reports a plan level with two children taking the
	// remaining amount, or a remaining child with a condition, cap or floor.
	ErrRemainingChild = errors.New("settlement: invalid remaining child")
	// ErrOverCredit reports a credit for more than the credited line has
	// left unreversed.
	ErrOverCredit = errors.New("settlement: credit exceeds the unreversed amount")
	// ErrUndocumentedDispute reports a credit of a line whose lost
	// disputes reversed what no credit documents yet, that does not say
	// whether it documents them (Line.Dispute): settled as a credit, the
	// credit note of a dispute lost in part would claw the lost part back
	// a second time. The error names the credited line, its last lost
	// dispute and what is undocumented.
	ErrUndocumentedDispute = errors.New("settlement: credit of a line with an undocumented lost dispute")
	// ErrOverDocumented reports a credit documenting a lost dispute
	// (DisputeDocuments) for more than the credited line's lost disputes
	// reversed and no credit documented yet.
	ErrOverDocumented = errors.New("settlement: credit documents more than its line's lost disputes reversed")
	// ErrDocumentedTotal reports a credit documenting a lost dispute
	// (DisputeDocuments) of a line payable on collection whose total (net
	// plus tax) differs from what the lost dispute took off what the
	// customer owes by more than MaxNoteRounding: the error names both.
	ErrDocumentedTotal = errors.New("settlement: documenting credit note's total differs from what the lost dispute took off what is owed")
	// ErrBeforeWindow reports a line dated before the state's window: the
	// state was pruned (State.Prune) before that date, so it no longer
	// knows whether the line was settled, nor what older lines it would
	// credit. Refused rather than settled a second time.
	ErrBeforeWindow = errors.New("settlement: line dated before the state's window")
	// ErrUnknownLine reports a credit, dispute or adjustment naming a line
	// the state does not hold.
	ErrUnknownLine = errors.New("settlement: unknown line")
	// ErrUnknownSupplier reports a sale whose supplier costs name a
	// supplier the settler was not given (Config.Suppliers).
	ErrUnknownSupplier = errors.New("settlement: unknown supplier")
	// ErrDisputed reports a credit, payment or write-off of a line whose
	// dispute is open: of a whole dispute (Settler.Dispute), any; of an
	// amount (Settler.DisputeAmount), one reaching into the amount
	// disputed, reported by a *DisputedAmountError, which matches it.
	ErrDisputed = errors.New("settlement: line is disputed")
	// ErrNotDisputed reports resolving a dispute that is not open.
	ErrNotDisputed = errors.New("settlement: line is not disputed")
	// ErrDiscountFunding reports a line whose funded discounts its
	// funding node cannot bear: they exceed the node's share of the line
	// before them, or the node takes no part of the line (see
	// PlanDocument.DiscountFunding).
	ErrDiscountFunding = errors.New("settlement: a discount its funding node cannot bear")
	// ErrSupplierCosts reports supplier costs above the line's basis, or in
	// another currency.
	ErrSupplierCosts = errors.New("settlement: supplier costs exceed the line")
	// ErrRule reports a rule that failed to evaluate for a line, or whose
	// result no line can be paid by: a negative share, level weight or
	// amount (an amount before it is rounded: EUR -0.004 too).
	ErrRule = errors.New("settlement: rule failed")
	// ErrCurrency reports a fixed amount, cap or floor in a currency other
	// than the line's, or a line in a currency its plan's cumulative tiers
	// cannot read: no exchange rate to theirs (with an
	// *ensemble.RateError).
	ErrCurrency = errors.New("settlement: currency mismatch")
	// ErrInvalidAdjustment reports an adjustment without id, party, reason,
	// approver or amount, or without a date settlement records (before
	// year 1 or after 9999: its entry could not be written as JSON).
	ErrInvalidAdjustment = errors.New("settlement: invalid adjustment")
	// ErrInvalidPayout reports a payout without a usable id, or dated
	// before the end of the statement it pays.
	ErrInvalidPayout = errors.New("settlement: invalid payout")
	// ErrNothingPayable reports a payout of a statement with nothing
	// payable: a host paying every statement skips it.
	ErrNothingPayable = errors.New("settlement: nothing payable")
	// ErrStatementMismatch reports a statement that does not hold together
	// (Statement.Check), or statements merged, consolidated or carried
	// that do not match.
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

// DisputedAmountError reports a payment (Settler.Collect) or a credit of
// a line an open dispute of an amount holds (Settler.DisputeAmount) that
// reaches into the amount disputed: while it is open, a payment is
// accepted up to what the customer owes beyond the disputed amount's share
// of the line's total (the undisputed amount unpaid), a credit up to what
// the line has unreversed beyond the disputed amount (the undisputed
// amount uncredited). It matches ErrDisputed. A collection's
// *CollectionError, or the credit line's *LineError, wraps it.
type DisputedAmountError struct {
	// Line is the disputed line.
	Line LineID
	// Payment: the payment's figures, of the line's total (amount plus
	// tax, what the customer owes); else the credit's, of its basis.
	Payment bool
	// Disputed is what the open dispute disputes: of a payment, the share
	// of the line's total the disputed amount stands for (total ×
	// disputed / basis, half up, what a lost dispute takes off what the
	// customer owes); of a credit, the amount disputed.
	Disputed ensemble.Money
	// Undisputed is what is left undisputed: unpaid (what the customer
	// owes less Disputed, never below zero), or uncredited (what the line
	// has unreversed less each part's share of Disputed, or what the
	// dispute holds of the part when that is more: after a credit while
	// the dispute is open, a unit of rounding).
	Undisputed ensemble.Money
	// Asked is what the payment pays the line (of a payment of an
	// invoice, the payment: its lines take at most their undisputed
	// amounts unpaid in all), or what the credit takes back.
	Asked ensemble.Money
}

// Error names the line, what is disputed and what is left undisputed.
func (e *DisputedAmountError) Error() string {
	what, left := "a credit of", "uncredited"
	if e.Payment {
		what, left = "a payment of", "unpaid"
	}
	return fmt.Sprintf("settlement: line is disputed: %s %s reaches into the %s disputed on line %q, which has %s undisputed %s",
		what, e.Asked, e.Disputed, string(e.Line), e.Undisputed, left)
}

// Is reports whether target is ErrDisputed.
func (e *DisputedAmountError) Is(target error) bool { return target == ErrDisputed }

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

// lineErr names line id, plan, node and rule on err, unless err names the
// line already (a rule's error, from the call that knew the rule): a
// second LineError around it would hide the rule from errors.As.
func lineErr(id LineID, plan, node, rule string, err error) error {
	if le := (*LineError)(nil); errors.As(err, &le) && le.Line == id {
		return err // named already by the call that knew the rule, which errors.As then finds first
	}
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

// ErrAttributedParty reports a line settled by a plan node paying party
// "attributed" when the line's usage is attributed to no one
// (Line.Attributed empty), or to a value that names no partner of the
// network, or one who cannot trade at the line's date (not a partner yet,
// suspended, offboarded). A *LineError naming the line, plan and node
// wraps it: whose usage it is decides who is paid, so it is never paid to
// anyone else.
var ErrAttributedParty = errors.New("settlement: attributed usage names no partner to pay")

// ErrUnknownParty reports a plan naming partner:<id> for a partner the
// network does not have.
var ErrUnknownParty = errors.New("settlement: unknown party")

// ErrPlatformParty reports a settler whose platform party id
// (Config.Platform, DefaultPlatform when empty) is not its network's
// platform: the network holds partners of type platform and none has that
// id, or the partner with that id is of another type. New refuses it
// rather than pay the platform's shares under an id the host does not
// know as its own (or to a partner's balance).
var ErrPlatformParty = errors.New("settlement: platform party is not the network's platform")

// ErrNoNetwork reports a plan paying a party found by partner type
// (distributor, reseller, type:<name>) to a settler built without a
// network (Config.Network), which knows no partner's type.
var ErrNoNetwork = errors.New("settlement: no partner network")

// ErrUnknownPlanVersion reports a credit of a line settled under a plan
// version the Settler does not hold (a Settler built from newer plans
// only, say). The state records the line's basis kind, but a Settler that
// cannot confirm it against the version refuses rather than guess. A
// *PlanVersionError wraps it.
var ErrUnknownPlanVersion = errors.New("settlement: plan version not held by the settler")

// ErrBasisMismatch reports a credit of a line whose state records another
// basis kind (net or gross) than the Settler's plan version of the same id
// and version splits: the plan was changed without a new version, or the
// state was edited. A *PlanVersionError wraps it.
var ErrBasisMismatch = errors.New("settlement: basis kind differs from the plan version's")

// ErrNoBasisKind is the condition of the *StateError for a persisted line
// without a basis kind (a state written before lines recorded one):
// crediting it would have to guess net or gross, so it is refused. Add
// "basis_kind" ("net" or "gross", the basis of the line's plan version,
// which the line names) to each line to read such a state.
var ErrNoBasisKind = errors.New("settlement: line without basis kind")

// ErrDuplicateEntry reports an entry id given twice (to Statements or
// ComputeMetrics), or one the settler would emit twice. A
// *DuplicateEntryError matches it.
var ErrDuplicateEntry = errors.New("settlement: duplicate entry id")

// ErrLateEntries is matched by the errors Statements returns for entries
// made after the statements of their period were folded (a
// *LateEntriesError) and for late entries given wrongly
// (StatementOptions.Late).
var ErrLateEntries = errors.New("settlement: entries made after their period was folded")

// LateEntriesError reports entries of a party and currency dated before a
// statement's period that the previous statements did not fold, and that
// were not given as late (StatementOptions.Late): made after those
// statements were folded (a payment received before the period and
// reported after it, a line or adjustment dated back), they would be in
// no statement. Count of them are among the entries given: the host finds
// them among the entries it stored since its previous fold.
//
// With Missing, the entries dated before the period are as many as the
// previous statements folded but not the same ones (their ids' digest
// differs from Statement.FoldedDigest): at least one they folded is
// missing from the entries given, and at least one given was made after
// them, in its place; Count and Missing are then both one, the least
// there are.
type LateEntriesError struct {
	Party    partner.ID
	Currency ensemble.Currency
	Period   ensemble.Period // the period being folded
	Count    int             // entries dated before it that no statement folded
	Folded   int             // what the previous statements folded (Statement.Folded)
	Missing  int             // entries they folded that are not given (zero unless counted as one, see above)
}

func (e *LateEntriesError) Error() string {
	if e.Missing > 0 {
		return fmt.Sprintf("settlement: the %d entries of %q in %s dated before %s are as many as the previous statements folded, but not the same ones: at least one they folded is missing and at least one was made after they were folded: give every entry they folded, and those made since in StatementOptions.Late",
			e.Folded, e.Party, e.Currency.Code(), e.Period.Start.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("settlement: %d %s of %q in %s dated before %s %s made after the previous statements were folded (they folded %d): give %s in StatementOptions.Late to fold %s into this period, or fold the earlier periods again",
		e.Count, plural(e.Count, "entry", "entries"), e.Party, e.Currency.Code(), e.Period.Start.UTC().Format(time.RFC3339),
		plural(e.Count, "was", "were"), e.Folded, plural(e.Count, "it", "them"), plural(e.Count, "it", "them"))
}

// Unwrap returns ErrLateEntries.
func (e *LateEntriesError) Unwrap() error { return ErrLateEntries }

// PlanVersionError reports a credit the Settler cannot settle exactly
// with the plan versions it holds. A *LineError naming the credit line
// wraps it.
type PlanVersionError struct {
	// Line is the credited line, Plan the plan version it was settled
	// under and Basis the basis kind the state records for it.
	Line  LineID
	Plan  ensemble.Ref
	Basis Basis
	Err   error // ErrUnknownPlanVersion or ErrBasisMismatch
}

// Error names the credited line, its plan version and basis kind.
func (e *PlanVersionError) Error() string {
	v := e.Plan.ID + "@" + e.Plan.Version
	if errors.Is(e.Err, ErrBasisMismatch) {
		return fmt.Sprintf("settlement: line %q was settled on the %s basis under plan %s, whose version the settler holds splits the other basis",
			string(e.Line), e.Basis, v)
	}
	return fmt.Sprintf("settlement: line %q was settled under plan %s (%s basis), a version the settler does not hold", string(e.Line), v, e.Basis)
}

// Unwrap returns the condition.
func (e *PlanVersionError) Unwrap() error { return e.Err }

// DuplicateEntryError reports an entry id that appears twice. It matches
// ErrDuplicateEntry with errors.Is.
type DuplicateEntryError struct {
	ID EntryID
	// First and Second index the two entries in the slice given
	// (Statements, ComputeMetrics); both are -1 when the settler refuses
	// an id it would emit twice.
	First, Second int
}

// Error names the id and, when given, where it appears.
func (e *DuplicateEntryError) Error() string {
	if e.First < 0 {
		return fmt.Sprintf("settlement: entry id %q would be emitted twice", string(e.ID))
	}
	return fmt.Sprintf("settlement: entry id %q given twice (entries[%d] and entries[%d])", string(e.ID), e.First, e.Second)
}

// Is reports whether target is ErrDuplicateEntry.
func (e *DuplicateEntryError) Is(target error) bool { return target == ErrDuplicateEntry }

// ChainError reports consolidation inputs that do not chain: a previous
// consolidated statement (Consolidation.Previous) of another reporting
// currency, one that does not end where the period starts, given twice
// for a party, or whose closing in a currency is not the opening of the
// party's statement in that currency; or payouts (Consolidation.Payouts)
// that do not add up to what the statement paid out. It matches
// ErrStatementMismatch with errors.Is.
type ChainError struct {
	Party    partner.ID
	Period   ensemble.Period   // the period being consolidated
	Currency ensemble.Currency // the statement's currency, when the problem is one statement's
	Problem  string
}

// Error names the party, period, currency and what does not chain.
func (e *ChainError) Error() string {
	cur := ""
	if !e.Currency.IsZero() {
		cur = " in " + e.Currency.Code()
	}
	return fmt.Sprintf("settlement: statement of %q%s for %s does not chain: %s", e.Party, cur, e.Period, e.Problem)
}

// Unwrap returns ErrStatementMismatch.
func (e *ChainError) Unwrap() error { return ErrStatementMismatch }

// ErrLineAttribute reports a line attribute (Line.Attributes) Settle
// refuses: too many, an empty or overlong key or value, invalid UTF-8 or
// a control character. An *AttributeError matches it; the line's error
// wraps ErrInvalidLine too.
var ErrLineAttribute = errors.New("settlement: invalid line attribute")

// AttributeError names a line attribute Settle refuses and why. It is a
// problem of the line's *ensemble.ValidationError at attributes["<key>"],
// inside a *LineError naming the line. It matches ErrLineAttribute. (A
// line holding more than MaxLineAttributes is refused at attributes with
// ErrLineAttribute alone.)
type AttributeError struct {
	Key     string
	Problem string
}

// Error names the key and the problem.
func (e *AttributeError) Error() string {
	return fmt.Sprintf("attribute %q: %s", e.Key, e.Problem)
}

// Is reports whether target is ErrLineAttribute.
func (e *AttributeError) Is(target error) bool { return target == ErrLineAttribute }

// RetroactiveCurrencyError reports a plan that lists currencies other
// than its cumulative tiers' while a node of it pays retroactive tiers
// (RateMode Retroactive): a true-up re-rates what the window's earlier
// lines were paid, added up in the tiers' currency, and lines in another
// currency are not converted into it (marginal and cliff tiers count them
// converted at Config.Rates; a retroactive share does not yet), so every
// line in Currencies would be refused when settled. New refuses the plan
// instead; it matches ErrCurrency with errors.Is, under the path of the
// plan's currencies in a *ensemble.ValidationError. The way out: list the
// tiers' currency only, and give lines in others a plan of their own (its
// tiers in their currency).
type RetroactiveCurrencyError struct {
	Plan PlanVersion // the plan version
	Node string      // the path of its first retroactive node, "root/reseller"
	// Tiers is the currency of the plan's cumulative tiers; Currencies
	// the plan's listed currencies other than it, in the order listed.
	Tiers      ensemble.Currency
	Currencies []ensemble.Currency
}

// Error names the plan, the node, the tiers' currency, the other
// currencies and the way out.
func (e *RetroactiveCurrencyError) Error() string {
	others := make([]string, len(e.Currencies))
	for i, c := range e.Currencies {
		others[i] = c.Key()
	}
	list := strings.Join(others, ", ")
	if n := len(others); n > 1 {
		list = strings.Join(others[:n-1], ", ") + " and " + others[n-1]
	}
	return fmt.Sprintf("%v: plan %s node %q pays retroactive tiers in %s, but the plan settles %s lines: a true-up re-rates what the window's "+
		"earlier lines were paid in the tiers' currency, and lines in others are not converted into it; list currencies: [%s] and give %s "+
		"lines a plan of their own", ErrCurrency, e.Plan, e.Node, e.Tiers.Key(), list, e.Tiers.Key(), list)
}

// Is reports ErrCurrency.
func (e *RetroactiveCurrencyError) Is(target error) bool { return target == ErrCurrency }
