package invoice

import (
	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/order"
)

// LineKind says what produced an invoice or credit-note line. The zero
// value, KindUnspecified, is never emitted.
type LineKind uint8

const (
	// KindUnspecified is the zero value; no line carries it.
	KindUnspecified LineKind = iota
	// KindOneTime is a one-time fee, billed once at activation: the base
	// offer's when the item starts, an add-on's when it is first attached
	// (an upgrade does not bill the new plan's one-time fees, nor a quantity
	// increase the fee of the units it adds: see order.ChangeQuantity).
	KindOneTime
	// KindRecurring is a recurring charge for the part of a billing cycle
	// it covers: in advance from the cycle start (or from activation or a
	// change), in arrears for each state the item held during the cycle,
	// due when that stretch of service ends (see Run).
	KindRecurring
	// KindProrationCredit credits the unused part of a recurring line billed
	// in advance, after a change or a cancellation. Its amounts are
	// negative and Credits names the line it credits.
	KindProrationCredit
	// KindUsage rates the usage aggregate of one meter and period.
	KindUsage
	// KindUsageAdjustment bills late usage for a period already billed:
	// rate(cumulative) - rate(billed). It may be negative. It also bills,
	// under catalog.SpendService, the share of the spend bounds a stretch
	// of service after a restart in a usage period owes (its ID ends with
	// the restart's instant, UsageTrace.SpendShareBilled is set): rate(usage billed, share with it) - rate(usage billed, share
	// before it).
	KindUsageAdjustment
	// KindCommitmentTrueUp bills the shortfall of a cycle's net charges
	// below the subscription's minimum commitment. A run whose usage
	// adjustments change the spend of a cycle an earlier run billed the
	// true-up of bills the difference as a true-up adjustment of the same
	// kind, dated at the run, with ID "<the cycle's true-up>/<run
	// instant>": negative (crediting the cycle's true-up, Credits) when the
	// cycle owes less, positive when a correction makes it owe more.
	KindCommitmentTrueUp
	// KindCreditNote is a credit-note line: the reversal of (part of) an
	// issued invoice line, named by Credits. Its amounts are negative. An
	// invoice holds one when a run catching up a back-dated change carries
	// the credit notes of a line it reverses to the line it bills anew
	// (see Run.Billed); Remaining counts it. So does one whose run
	// credits the usage earlier runs billed without a discount recorded
	// late (see Discount.Recorded), crediting a line of an earlier
	// invoice (CreditedInvoice empty; Remaining counts it given among a
	// credit note's Prorated lines).
	KindCreditNote
	// KindPrepayment bills the purchase of a prepaid commitment, in full,
	// when its term starts.
	KindPrepayment
	// KindPrepaidBreakage records what was left of a prepaid commitment
	// when it expired: covered in full by the commitment, so it bills
	// nothing, but settlement can recognise it (see PrepaidCommitment).
	KindPrepaidBreakage
	// KindEarlyTermination is the fee an item owes when it ends inside its
	// contract term (Term.EarlyTermination), due when it ends; or, with
	// Credits naming that fee's line and the amount negated, its reversal,
	// due when a restart recorded after the end made it a pause (see
	// EarlyTermination).
	KindEarlyTermination
	// KindProgressiveUsage bills usage of a period still open, ahead of its
	// end, once it crosses the item's threshold (Item.Thresholds):
	// rate(usage so far) - rate(billed so far), without the minimum spend,
	// which the period's final usage line owes.
	KindProgressiveUsage
	// KindReversal reverses a line an earlier run billed that a change
	// recorded after that run (a back-dated change: Segment.Recorded)
	// alters or removes: Credits names it, and its amounts are what is left
	// of it, negated: the line's net, tax and total, less what its proration
	// credits and credit notes gave back already. The line as it is owed now,
	// if it still is, follows as a new line (Line.Reissues). See
	// Run.Billed.
	KindReversal
)

var lineKindNames = []string{
	KindUnspecified: "unspecified", KindOneTime: "one_time", KindRecurring: "recurring",
	KindProrationCredit: "proration_credit", KindUsage: "usage", KindUsageAdjustment: "usage_adjustment",
	KindCommitmentTrueUp: "commitment_true_up", KindCreditNote: "credit_note",
	KindPrepayment: "prepayment", KindPrepaidBreakage: "prepaid_breakage",
	KindEarlyTermination: "early_termination",
	KindProgressiveUsage: "progressive_usage",
	KindReversal:         "reversal",
}

// TerminationRule says how an early-termination fee is computed
// (order.TerminationRule). The zero value, TerminationFixed, bills a fixed
// amount.
type TerminationRule = order.TerminationRule

const (
	// TerminationFixed bills EarlyTermination.Amount, whenever in the term
	// the item ends.
	TerminationFixed = order.TerminationFixed
	// TerminationDeclining bills EarlyTermination.Amount in proportion to
	// the part of the term left when the item ends (a "reducing" fee):
	// round(Amount × (1 - elapsed)), rounded once in the builder's mode,
	// the elapsed fraction measured under the run's proration basis from
	// the term's start. The fee owed is the declining amount itself, as a
	// contract states it: 0.45 with 29 of 30 days left is round(0.435) =
	// 0.44 (half away from zero), not 0.45 - round(0.015) = 0.43.
	TerminationDeclining = order.TerminationDeclining
	// TerminationRemaining bills EarlyTermination.Percent (zero: 100%) of
	// what the item's recurring charges would still have billed, after
	// their percentage discounts, in the state the item ended in, from its
	// end to the end of the term (the remaining contract value; usage is
	// not counted). That value is taken as those lines would bill it, each
	// rounded to the minor unit, and the percentage of it is rounded once:
	// 50% of a remaining 585.21 is 292.61 (Explain shows the base).
	TerminationRemaining = order.TerminationRemaining
	// TerminationPeriods bills EarlyTermination.Periods of the recurring
	// charges in force when the item ends: "three months of the monthly
	// fee" is Periods ensemble.Every(3, ensemble.Monthly). It is counted
	// from the state the item ended in (its quantity, its pinned offer
	// version and so that version's price, its add-ons), after the
	// percentage discounts in force at the end (the segment's, the
	// partner's, and the item's and subscription's percentage discounts
	// whose window holds the end), as TerminationRemaining counts each
	// cycle; usage is not counted. So a fee written as periods follows the
	// contract: 10 seats at EUR 50.00 raised to 15 owe 3 × 15 × 50.00 =
	// 2,250.00 for three months, where a fixed Amount written at signing
	// still said 1,500.00.
	//
	// "A month of charges" of a charge billed on another cadence is its
	// cycle's amount in proportion to the calendar span, exactly: a
	// quarterly EUR 300.00 owes 300.00 × 3/3 for three months, 100.00 for
	// one; a yearly EUR 1,200.00 owes 1,200.00 × 3/12 = 300.00 for three
	// months. That is what such a clause means (three months' worth of the
	// fee, whatever the invoicing rhythm), not three of the charge's own
	// cycles (three years of a yearly fee). The proportion is of calendar
	// units, never of days: months against months (a quarter is three, a
	// year twelve) or days against days (a week is seven); a fee in
	// months over a charge billed daily or weekly, or the other way round,
	// has no exact proportion and is a problem (*TermError) rather than a
	// guess. A charge's flat amount that a partial cycle bills whole
	// (catalog.FlatWhole) counts in proportion like the rest.
	//
	// Each offer's part (the item's offer, each add-on apart) sums its
	// charges exactly and is rounded once, in the builder's mode; the fee
	// is the sum of the parts, and an order term's fee bills each part as
	// its own line (see Subscription.Term), so the lines add up to the fee
	// with nothing to allocate. With EarlyTermination.CapAtRemaining the
	// fee is the lesser of that and the remaining value (what
	// TerminationRemaining at 100% bills, from the same state), compared as
	// totals: whichever is less is billed, part by part (near the term's
	// end, 1½ months left of 15 seats at EUR 50.00 owe 1,125.00 rather than
	// three months' 2,250.00). The description says which was billed.
	TerminationPeriods = order.TerminationPeriods
)

// MaxTerminationPeriods bounds EarlyTermination.Periods.Count
// (order.MaxTerminationPeriods).
const MaxTerminationPeriods = order.MaxTerminationPeriods

// String returns the kind's lowercase name, such as "proration_credit".
func (k LineKind) String() string { return ensemble.EnumName(k, lineKindNames, "line_kind") }

// MarshalText writes the kind's name; an undeclared kind is an error.
func (k LineKind) MarshalText() ([]byte, error) {
	return ensemble.EnumText(k, lineKindNames, "invoice", "line kind")
}

// UnmarshalText reads a kind's name; "" is KindUnspecified.
func (k *LineKind) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[LineKind](b, lineKindNames, "invoice", "line kind")
	if err == nil {
		*k = v
	}
	return err
}

// DiscountDuration says for how long a discount applies: in billing
// cycles, or (Repeating with a Discount.Length) in calendar time. The zero
// value, Forever, is the default.
type DiscountDuration uint8

const (
	// Forever (the default) applies the discount to every cycle from its
	// start.
	Forever DiscountDuration = iota
	// Once applies the discount to the cycle its start falls in.
	Once
	// Repeating applies the discount to Discount.Cycles cycles, counted
	// from the cycle its start falls in, or for Discount.Length of calendar
	// time from its start (see Discount.Length).
	Repeating
)

var durationNames = []string{Forever: "forever", Once: "once", Repeating: "repeating"}

// String returns the duration's lowercase name.
func (d DiscountDuration) String() string {
	return ensemble.EnumName(d, durationNames, "discount_duration")
}

// MarshalText writes the duration's name; an undeclared one is an error.
func (d DiscountDuration) MarshalText() ([]byte, error) {
	return ensemble.EnumText(d, durationNames, "invoice", "discount duration")
}

// UnmarshalText reads a duration's name; "" is Forever.
func (d *DiscountDuration) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[DiscountDuration](b, durationNames, "invoice", "discount duration")
	if err == nil {
		*d = v
	}
	return err
}

// TaxTreatment says how tax applied to a line. The zero value,
// TaxStandard, is the default.
type TaxTreatment uint8

const (
	// TaxStandard (the default) charges the rule's rate.
	TaxStandard TaxTreatment = iota
	// TaxExempt charges no tax: the customer is exempt.
	TaxExempt
	// TaxReverseCharge charges no tax: the customer accounts for it
	// (EU reverse charge); the invoice says so.
	TaxReverseCharge
	// TaxNone charges no tax: the run's tax table is empty.
	TaxNone
)

var treatmentNames = []string{TaxStandard: "standard", TaxExempt: "exempt", TaxReverseCharge: "reverse_charge", TaxNone: "none"}

// String returns the treatment's lowercase name.
func (t TaxTreatment) String() string { return ensemble.EnumName(t, treatmentNames, "tax_treatment") }

// MarshalText writes the treatment's name; an undeclared one is an error.
func (t TaxTreatment) MarshalText() ([]byte, error) {
	return ensemble.EnumText(t, treatmentNames, "invoice", "tax treatment")
}

// UnmarshalText reads a treatment's name; "" is TaxStandard.
func (t *TaxTreatment) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[TaxTreatment](b, treatmentNames, "invoice", "tax treatment")
	if err == nil {
		*t = v
	}
	return err
}

// TaxRounding says where tax is rounded to the minor unit. The zero value,
// TaxPerLine, is the default.
type TaxRounding uint8

const (
	// TaxPerLine (the default) rounds each line's tax on its own; the
	// invoice's tax is their sum.
	TaxPerLine TaxRounding = iota
	// TaxPerInvoice rounds each rate's tax once on the invoice's taxable
	// base; lines receive it by cumulative rounding in line order
	// (round(rate × running base) minus the previous running tax), so the
	// lines' taxes add up to exactly the invoice's.
	TaxPerInvoice
)

var taxRoundingNames = []string{TaxPerLine: "per_line", TaxPerInvoice: "per_invoice"}

// String returns "per_line" or "per_invoice".
func (r TaxRounding) String() string { return ensemble.EnumName(r, taxRoundingNames, "tax_rounding") }

// MarshalText writes the policy's name; an undeclared one is an error.
func (r TaxRounding) MarshalText() ([]byte, error) {
	return ensemble.EnumText(r, taxRoundingNames, "invoice", "tax rounding")
}

// UnmarshalText reads a policy's name; "" is TaxPerLine.
func (r *TaxRounding) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[TaxRounding](b, taxRoundingNames, "invoice", "tax rounding")
	if err == nil {
		*r = v
	}
	return err
}

// UsageSplit says how a usage period over which an item's usage charge
// changes (an upgrade or a downgrade to an offer, offer version or charge
// that prices the meter differently) is billed. The zero value,
// SplitAtChange, is the default.
type UsageSplit uint8

const (
	// SplitAtChange (the default) cuts the period where an item's usage
	// charge changes and bills each piece at the charge in force over it,
	// one usage line per piece with its own usage period and service
	// period, its tiers applied to the piece alone and its spend bounds
	// shared with the period's other pieces by service time, as
	// Kill Bill (a usage interval per plan), Lago (the terminated
	// subscription's usage at the old plan) and Stripe's flexible billing
	// mode do. A period the charge does not change over (a quantity
	// change, an add-on without usage) is billed whole, and so is one over
	// a change that keeps some meter's charge with a minimum or maximum
	// spend, free units or tiers (see the package doc; the line of a meter
	// whose charge changed there says it was not cut).
	SplitAtChange UsageSplit = iota
	// SplitNone bills a usage period whole at the charge of the latest
	// segment overlapping it that prices the meter, as Ensemble did before
	// SplitAtChange: usage before an upgrade is billed at the new price.
	SplitNone
)

var usageSplitNames = []string{SplitAtChange: "at_change", SplitNone: "none"}

// String returns "at_change" or "none".
func (u UsageSplit) String() string { return ensemble.EnumName(u, usageSplitNames, "usage_split") }

// MarshalText writes the policy's name; an undeclared one is an error.
func (u UsageSplit) MarshalText() ([]byte, error) {
	return ensemble.EnumText(u, usageSplitNames, "invoice", "usage split")
}

// UnmarshalText reads a policy's name; "" is SplitAtChange.
func (u *UsageSplit) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[UsageSplit](b, usageSplitNames, "invoice", "usage split")
	if err == nil {
		*u = v
	}
	return err
}

// Reason says why a credit note was issued. The zero value is
// ReasonUnspecified, which NewCreditNote rejects.
type Reason uint8

const (
	// ReasonUnspecified is the zero value and is invalid.
	ReasonUnspecified Reason = iota
	// ReasonDispute credits a disputed charge.
	ReasonDispute
	// ReasonRefund credits a refunded charge.
	ReasonRefund
	// ReasonGoodwill credits as a gesture of goodwill.
	ReasonGoodwill
	// ReasonCorrection credits a billing mistake.
	ReasonCorrection
	// ReasonSLA is a service credit owed under a service-level agreement
	// for a breach (an outage, a missed response time): the note names the
	// incident or claim it compensates (CreditRequest.Incident), and its
	// lines usually credit a share of what the affected lines billed
	// (CreditLine.Percent).
	ReasonSLA
)

var reasonNames = []string{ReasonUnspecified: "unspecified", ReasonDispute: "dispute", ReasonRefund: "refund", ReasonGoodwill: "goodwill", ReasonCorrection: "correction", ReasonSLA: "sla"}

// String returns the reason's lowercase name.
func (r Reason) String() string { return ensemble.EnumName(r, reasonNames, "reason") }

// MarshalText writes the reason's name; an undeclared one is an error.
func (r Reason) MarshalText() ([]byte, error) {
	return ensemble.EnumText(r, reasonNames, "invoice", "reason")
}

// UnmarshalText reads a reason's name; "" is ReasonUnspecified.
func (r *Reason) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[Reason](b, reasonNames, "invoice", "reason")
	if err == nil {
		*r = v
	}
	return err
}

// Status says whether an invoice is a draft or issued. The zero value,
// Draft, is what Build returns.
type Status uint8

const (
	// Draft is an invoice as built: it may be rebuilt and is not creditable.
	Draft Status = iota
	// Issued is an invoice handed to the customer by Issue; credit notes
	// may be raised against it.
	Issued
)

var statusNames = []string{Draft: "draft", Issued: "issued"}

// String returns "draft" or "issued".
func (s Status) String() string { return ensemble.EnumName(s, statusNames, "status") }

// MarshalText writes the status's name; an undeclared one is an error.
func (s Status) MarshalText() ([]byte, error) {
	return ensemble.EnumText(s, statusNames, "invoice", "status")
}

// UnmarshalText reads a status's name; "" is Draft.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[Status](b, statusNames, "invoice", "status")
	if err == nil {
		*s = v
	}
	return err
}
