package invoice

import (
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
)

// SubscriptionID identifies a subscription (a contract, or an order once
// active). It is compared byte-wise; the empty ID is invalid, as are IDs
// holding '/' or white space (line IDs join IDs with '/').
type SubscriptionID string

// ItemID identifies a line (item) of a subscription; the rules of
// SubscriptionID apply.
type ItemID string

// CustomerID identifies the customer billed. The empty ID is invalid.
type CustomerID string

// DiscountID identifies a discount; the rules of SubscriptionID apply.
type DiscountID string

// CreditID identifies a prepaid credit (a wallet grant). The empty ID is
// invalid.
type CreditID string

// PrepaidID identifies a prepaid commitment of a subscription; the rules
// of SubscriptionID apply.
type PrepaidID string

// InvoiceID identifies an invoice: "<subscription>/<run instant>" (see
// Build), so that building the same run twice gives the same ID.
type InvoiceID string

// LineID identifies an invoice or credit-note line. Build derives it from
// the subscription, item, cycle, offer, charge, kind and instant
// ("sub/item/cycle/offer/charge/kind[/instant]"), so the same line has the
// same ID in every run that computes it and a proration credit can name the
// line it credits. Lines of the subscription as a whole, which have no
// item, are "sub/prepaid/commitment/prepayment" and
// "sub/prepaid/commitment/prepaid_breakage" (a prepaid commitment),
// "sub/early_termination/term start/end" (the subscription's term; its
// share of one item, "sub/early_termination/term start/end/item" or
// ".../item/add_on/offer", when the fee is split over several) and
// "sub/commitment/cycle start" (a minimum commitment's true-up): shorter
// than an item's, so they never meet one, and no segment of an ID is ever
// empty.
type LineID string

// CreditNoteID identifies a credit note: "<invoice>/cn/<request id>".
type CreditNoteID string

// TaxRuleID identifies a rule of a TaxTable. The empty ID is invalid.
type TaxRuleID string

// Reference kinds this package hands out in traces (ensemble.Ref).
const (
	// RefSubscription points at a subscription: ID is the SubscriptionID.
	RefSubscription ensemble.RefKind = "subscription"
	// RefItem points at a subscription item: ID is "subscription/item".
	RefItem ensemble.RefKind = "subscription_item"
	// RefLine points at an invoice line: ID is the LineID.
	RefLine ensemble.RefKind = "invoice_line"
	// RefInvoice points at an invoice: ID is the InvoiceID.
	RefInvoice ensemble.RefKind = "invoice"
	// RefDiscount points at a discount: ID is the DiscountID ("partner"
	// for an item's partner discount).
	RefDiscount ensemble.RefKind = "discount"
	// RefTaxRule points at a tax rule: ID is the TaxRuleID.
	RefTaxRule ensemble.RefKind = "tax_rule"
	// RefCommitment points at a subscription's minimum commitment: ID is
	// the SubscriptionID.
	RefCommitment ensemble.RefKind = "commitment"
	// RefPrepaid points at a prepaid commitment: ID is
	// "subscription/prepaid id".
	RefPrepaid ensemble.RefKind = "prepaid_commitment"
	// RefTerm points at a contract term (an early-termination fee): ID is
	// "subscription/item" for an item's term, the SubscriptionID for the
	// subscription's.
	RefTerm ensemble.RefKind = "term"
	// RefIncident points at the incident or claim a credit note
	// compensates (CreditRequest.Incident): ID is the host's incident ID.
	RefIncident ensemble.RefKind = "incident"
)

// Customer is who an invoice bills, with what the tax table needs.
type Customer struct {
	// ID names the customer; required.
	ID CustomerID `json:"id"`
	// Region is the tax region or country (such as "FR" or "US-CA") the
	// tax table is looked up with.
	Region string `json:"region,omitempty"`
	// TaxExempt charges the customer no tax.
	TaxExempt bool `json:"tax_exempt,omitempty"`
	// ReverseCharge charges no tax and marks the invoice as reverse charge
	// (the customer self-assesses, as EU B2B customers of a supplier
	// established in another member state do). Reverse charge is for
	// cross-border supplies only: declare TaxTable.Seller to have a
	// customer in the seller's own country refused
	// (ErrReverseChargeDomestic); without it this is not checked.
	ReverseCharge bool `json:"reverse_charge,omitempty"`
}

// Subscription is what Build bills: a contract between a customer and
// the seller, in one currency, whose items hold catalog pins over dated
// segments. Billing teams fill it from their own records; the order package
// is not needed.
type Subscription struct {
	// ID names the subscription; required.
	ID SubscriptionID `json:"id"`
	// Customer is who is billed.
	Customer Customer `json:"customer"`
	// Currency is the currency the subscription is billed in: every offer
	// the items pin must be priced in it, its catalog.Offer.Currency or one
	// of its further Currencies (a price book), whose prices it bills
	// (catalog.Catalog.RaterIn). An offer not priced in it is ErrCurrency,
	// wrapping the catalog's *catalog.CurrencyError for an offer priced in
	// several.
	Currency ensemble.Currency `json:"currency"`
	// Anchor is the billing anchor: cycles of every charge are stepped
	// from it (ensemble.Cadence, clamping month ends). Required.
	Anchor time.Time `json:"anchor"`
	// TimeZone is the IANA zone (such as "Europe/Paris") the calendar is
	// stepped and days are counted in; empty means UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Cadence is the subscription's billing cycle: it periods usage
	// charges that have no cadence of their own, minimum commitments and
	// discount durations. The zero Cadence means monthly.
	Cadence ensemble.Cadence `json:"cadence,omitzero"`
	// CancelAt ends every item at this instant (zero: not cancelled).
	// In-advance lines billed beyond it are credited; in-arrears lines bill
	// the last partial cycle.
	CancelAt time.Time `json:"cancel_at,omitzero"`
	// CancelRecorded is when the cancellation was recorded (zero: not
	// known). A cancellation recorded after a run's After but effective at
	// or before it is back-dated, as a segment can be (see
	// Segment.Recorded). FromOrder leaves it zero: an order's segments end
	// at its stop and record when (Segment.EndRecorded).
	CancelRecorded time.Time `json:"cancel_recorded,omitzero"`
	// Items are the subscription's lines.
	Items []Item `json:"items"`
	// Removed are items removed back to their start, which keep no
	// segment to say so (see Removal). A subscription needs an item or a
	// removal.
	Removed []Removal `json:"removed,omitempty"`
	// Discounts apply to every line of the subscription, or to the lines of
	// one offer when Discount.Offer is set (invoice and offer discounts;
	// the offer must be one an item holds in some segment).
	Discounts []Discount `json:"discounts,omitempty"`
	// Commitment is a minimum spend per cycle (nil: none).
	Commitment *Commitment `json:"commitment,omitempty"`
	// Credits are prepaid credits applied to the invoice total.
	Credits []PrepaidCredit `json:"credits,omitempty"`
	// Prepaid are prepaid commitments: sums bought up front for a term and
	// drawn down by the charges they name (see PrepaidCommitment).
	Prepaid []PrepaidCommitment `json:"prepaid,omitempty"`
	// Refs are trace references every line of the subscription carries,
	// such as the order it bills (FromOrder sets it: order.RefOrder).
	Refs []ensemble.Ref `json:"refs,omitempty"`
	// Term is the subscription's own contract term (an order's Term, which
	// FromOrder carries), binding the subscription as a whole; the zero
	// Term is none. It runs from the subscription's activation, the
	// earliest start of its items' first segments, stepped in TimeZone like
	// an item's Term. The subscription ends at CancelAt, or, without it,
	// when every item has ended (at the last end); ending strictly inside a
	// term (or a renewed term) owes Term.EarlyTermination once, due at the
	// end. TerminationRemaining counts what every item still in service at
	// the end would have billed to the term's end, each on its own cycles.
	// The fee is billed as one KindEarlyTermination line per part of that
	// remaining value (an item's offer, and each of its add-ons apart),
	// its share of the fee in proportion to the part's remaining value
	// (largest remainder keyed by the part, so the lines sum to the fee),
	// attributed to its item and offer (Line.Item, Line.Pin): settlement
	// splits each share by the plan of the service it was worked out from,
	// and a one-time service sold on the same order (a deployment) never
	// takes any. A fixed or declining fee is allocated the same way. A
	// TerminationPeriods fee is not allocated: each part's line is that
	// part's own periods of charges, rounded once (capped and less, its
	// own remaining value), so the lines add up to the fee. A fee
	// with one part is one line with no item and the ID
	// "sub/early_termination/term start/end"; with several, each line's ID
	// adds "/item" (or "/item/add_on/offer"). When no item has a remaining
	// value (a fixed fee over one-time services alone), the fee is one line
	// with no item attributed to the first item (by ID) in service just
	// before the end that bills a recurring charge, else to the first. An
	// item's own Term is separate: where both apply, both fees are owed.
	// Items ending earlier (a line removed) owe only their own. A time
	// every item had stopped, after which one restarted, is a pause of the
	// subscription, or an end undone, as for an item (see
	// EarlyTermination).
	Term Term `json:"term,omitzero"`
}

// Removal records an item a change recorded later removed back to its
// start (an order line removed at the start of its only segment, or a
// cancellation back-dated to before the line started: order.Removal, which
// FromOrder carries): every segment it had is gone, so nothing else says
// that it was ever in service, or when it stopped. A removal recorded
// after a run's After, of an item whose service started at or before it,
// is a back-dated change (see Segment.Recorded): the run catches up from
// Run.Billed and reverses what earlier runs billed of the item. The item
// may be in Items too, with segments a later change opened.
type Removal struct {
	// Item is the item removed; required.
	Item ItemID `json:"item"`
	// Start is where the item's first segment started before the removal:
	// the service the removal takes away begins there. Required.
	Start time.Time `json:"start"`
	// Recorded is when the removal was recorded. Required.
	Recorded time.Time `json:"recorded"`
}

// Item is one line of a subscription: a product (or bundle) whose pin,
// quantity and add-ons change over time, recorded as dated segments.
type Item struct {
	// ID names the item within its subscription; required.
	ID ItemID `json:"id"`
	// Segments are the item's states, in time order and not overlapping:
	// each change (upgrade, downgrade, quantity change, add-on added or
	// removed) starts a new segment. A gap between segments is a pause
	// (Segment.Recorded of the segment after it says whether it was known
	// as one when it began: see EarlyTermination).
	// The first segment's start is the item's activation.
	Segments []Segment `json:"segments"`
	// TaxCode is the product tax code the tax table is looked up with;
	// empty means the offer's "tax_code" attribute, if any.
	TaxCode string `json:"tax_code,omitempty"`
	// PartnerDiscount is the discount the selling partner granted on this
	// line (such as "10%"), applied as a percentage discount with ID
	// "partner" for ever.
	PartnerDiscount ensemble.Ratio `json:"partner_discount,omitzero"`
	// PartnerDiscountCharges limits PartnerDiscount to the lines of these
	// charges of the item's offers (Line.Charge), as Discount.Charges
	// limits a discount; empty is every charge. Each entry must be a
	// charge of an offer the item holds in some segment, else a
	// *DiscountScopeError wrapping ErrDiscountCharge at
	// ...items[j].partner_discount_charges[m]; entries without a
	// PartnerDiscount are ErrInvalid.
	PartnerDiscountCharges []catalog.ChargeID `json:"partner_discount_charges,omitempty"`
	// PartnerDiscountRecorded is when PartnerDiscount was recorded (zero:
	// known from the start). Recorded after Run.After (a partner discount
	// granted late, for ever as it is), the run credits what it would have
	// taken off the usage earlier runs billed without it, as it does a
	// Discount recorded late (see Discount.Recorded): recurring and
	// one-time lines are billed anew with it already.
	PartnerDiscountRecorded time.Time `json:"partner_discount_recorded,omitzero"`
	// Discounts apply to this item's lines only: every one, or those of
	// one of its offers (base or add-on) when Discount.Offer is set.
	Discounts []Discount `json:"discounts,omitempty"`
	// UsageLine is the line reference its usage records carry (usage.LineRef);
	// empty means "subscription/item".
	UsageLine usage.LineRef `json:"usage_line,omitempty"`
	// Refs are trace references every line of the item carries, such as
	// the order line it bills (FromOrder sets it).
	Refs []ensemble.Ref `json:"refs,omitempty"`
	// Anchor gives the item its own billing anchor; zero means the
	// subscription's Anchor. The item's recurring and usage charges are then
	// billed on cycles of their cadence stepped from this instant, read in
	// the subscription's TimeZone (clamping month ends, as
	// Subscription.Anchor is), and prorated only by the item's own changes:
	// its segments and its end. Set it to the first segment's start to bill
	// the item on the anniversaries of its activation (Kill Bill's
	// subscription billing alignment): a yearly charge activated on March
	// 17 inside a subscription anchored on the 1st bills one whole year from
	// March 17, not the 349/365 of a year up to the next anchor. The item's
	// usage aggregates have its own cycles as periods (Builder.UsageLines
	// gives usage.Line the same anchor). Discount durations, the minimum commitment and the
	// run's commitment cycles keep the subscription's cycles; a thirty-day
	// basis (ensemble.ProrateThirtyDayMonth) counts months from the item's
	// anchor. An anchor so far from the item's segments that its cycles
	// cannot be stepped is a *TermError.
	Anchor time.Time `json:"anchor,omitzero"`
	// Thresholds bill the item's usage progressively, per meter: see
	// UsageThreshold and Run.Progressive.
	Thresholds []UsageThreshold `json:"thresholds,omitempty"`
	// Term is the item's own contract term, from its activation (the first
	// segment's start); the zero Term is none. It does not change how the
	// item's charges are billed (cycles come from their cadences and
	// Anchor); an item that ends inside it owes Term.EarlyTermination.
	Term Term `json:"term,omitzero"`
}

// UsageThreshold bills one meter of an item progressively (threshold
// billing): when the usage of a period still open, rated so far without
// the minimum spend, exceeds what was billed progressively for the period
// by Amount or more, the run bills the difference ahead of the period's end
// (a KindProgressiveUsage line), so a customer cannot run up usage far
// beyond what was invoiced. The period's final usage line bills the rest
// and owes the minimum spend, once: rate(final) - rate(billed so far). The
// progressive lines and the final one add up to billing the period at its
// end, amounts and percentage discounts alike. A volume price cannot be
// billed progressively (crossing a tier reprices every unit, so a later
// bill could be a credit); a threshold on one is an error.
type UsageThreshold struct {
	// Meter is the meter billed progressively; one of the item's usage
	// charges bills it.
	Meter usage.MeterID `json:"meter"`
	// Amount is the least a progressive bill bills, in the subscription's
	// currency, whole minor units and positive.
	Amount decimal.Decimal `json:"amount"`
}

// ProgressiveUsage is the usage of one item, meter and period billed
// progressively (Item.Thresholds): what was billed so far and what is used
// now. The host keeps Billed: after a run bills a KindProgressiveUsage line
// it is that line's aggregate (Usage); when no line was billed it stays as
// it was.
type ProgressiveUsage struct {
	// Billed is the aggregate billed progressively so far for the period;
	// the zero Aggregate (no records, zero value) when nothing was.
	Billed usage.Aggregate `json:"billed,omitzero"`
	// Usage is the period's aggregate so far while the period is open at
	// the run's instant (billed if it crosses the threshold), or its final
	// aggregate once the item's service in the period has ended (billed as
	// the period's usage line, less what was billed progressively). A
	// period the item stops in is due at the stop (see Run): usage after a
	// restart later in it is late usage (Run.Late), and given here it is
	// an ErrUsageNotDue problem.
	Usage usage.Aggregate `json:"usage"`
}

// Term is a contract term: how long the customer committed to an item,
// from its activation (the start of its first segment), stepped in the
// subscription's time zone like billing cycles (ensemble.Cadence, clamping
// month ends). It is the order's term (order.Term), so a term agreed on an
// order is billed as agreed: FromOrder carries it, with its fee. The zero
// Term is no commitment. A term that does not renew leaves the item running
// uncommitted after its end. A Term with a renewal or a fee but no Length,
// or an invalid Length or fee, is a *TermError.
type Term = order.Term

// EarlyTermination is the fee an item with a term owes when it ends inside
// the term (order.EarlyTermination): its last segment ends, or the
// subscription's CancelAt cuts it, strictly after the term (or the renewed
// term) began and before it ends. Ending on the term's end, after a term
// that does not renew, or a pause (a gap between segments) owes nothing.
// The fee is one KindEarlyTermination line due at the end instant, for the
// rest of the term, on top of the proration credit of what was billed in
// advance; it takes no discount, counts toward no minimum commitment, and
// is taxed with the item's tax code. Contracts state the fee three ways
// (Rule, see TerminationRule): a fixed amount, an amount that declines
// over the term, or a share of the remaining contract value. Amount is in
// the subscription's currency, whole minor units and positive.
//
// A stop the item restarts from is a pause when a restart was known when
// the stop took effect (a later segment's Recorded at or before the stop
// and its EndRecorded). A restart recorded only after that undoes an end,
// which a run may have billed meanwhile: the fee is billed at the stop and
// reversed at the restart by a KindEarlyTermination line of the negated
// amount whose Credits names the fee's line (its ID is the fee's followed
// by "/restart/" and the restart's instant), so that however the runs fall
// the fee nets to nothing,
// as a billing system credits a cancellation fee when a cancelled
// subscription is reactivated. The same holds for a subscription's fee
// (Subscription.Term) when every item stopped and one restarted. A
// restart whose Recorded is zero was known from the start, as any segment
// that does not say is: its stop is a pause. So a host that learns a
// restart after the stop says when (Recorded), or the fee a run billed at
// the stop stays billed.
//
// A bundle's suppliers share none of the fee: their costs apply to the
// bundle's charges, the service they deliver, and the fee is no charge of
// it (it compensates the seller for the contract's early end). The fee's
// line carries no supplier cost; its CostsNotApplied lists the bundle's
// components, and Explain says for each that it has no share, so
// settlement splits the fee by the plan alone.
type EarlyTermination = order.EarlyTermination

// Segment is one state of an item over [Start, End).
type Segment struct {
	// Start is the instant the state begins.
	Start time.Time `json:"start"`
	// End is the instant it ends (exclusive); zero means open (until the
	// subscription's CancelAt, if any). Only the last segment may be open.
	End time.Time `json:"end,omitzero"`
	// Pin is the catalog offer version in force.
	Pin catalog.Pin `json:"pin"`
	// Quantity is the number of units (seats, licences) recurring and
	// one-time charges bill; zero or more.
	Quantity decimal.Decimal `json:"quantity"`
	// AddOns are the add-ons attached during the segment.
	AddOns []AddOn `json:"add_ons,omitempty"`
	// Refs are trace references every line billing the segment carries
	// (the segment in force when the line's service starts), such as the
	// order segment (FromOrder sets it).
	Refs []ensemble.Ref `json:"refs,omitempty"`
	// Discount is the line's discount during the segment (such as "15%",
	// the discount an order line carries), applied as a percentage
	// discount with ID "line" to every charge of the segment (or to the
	// charges DiscountCharges names). A change of discount is a change
	// like any other: prorated.
	Discount ensemble.Ratio `json:"discount,omitzero"`
	// DiscountCharges limits Discount to the lines of these charges (of
	// the segment's offer or add-ons: Line.Charge), such as ["usage"] for
	// an order line's "15% off usage" (order.Discount.Charges, which
	// FromOrder carries); empty is every charge. Each entry must be a
	// charge of an offer the item holds in some segment, else a
	// *DiscountScopeError wrapping ErrDiscountCharge at
	// ...segments[n].discount_charges[m]; entries without a Discount are
	// ErrInvalid.
	DiscountCharges []catalog.ChargeID `json:"discount_charges,omitempty"`
	// Recorded is when the change that opened the segment was recorded
	// (the order event's instant; FromOrder sets it), and EndRecorded
	// when what follows End was last decided (the change or stop that set
	// End, or a later stop that dropped the segments after it); zero when
	// not known, which bills as before they existed. A segment recorded
	// after a run's After but starting at or before it, or whose
	// EndRecorded is after After but End at or before it, is a back-dated
	// change: the run at After billed that time without it. Build then needs Run.Billed, the lines earlier runs
	// issued, to catch up what the change owes (see Run.Billed); without
	// them the run is a *BackdatedError wrapping ErrBackdated.
	Recorded    time.Time `json:"recorded,omitzero"`
	EndRecorded time.Time `json:"end_recorded,omitzero"`
}

// AddOn is an add-on offer attached to an item, billed like the base offer
// for Quantity × the segment's quantity units (as the catalog and the order
// package count add-ons: per base unit).
type AddOn struct {
	// Pin is the add-on offer version.
	Pin catalog.Pin `json:"pin"`
	// Quantity is its number of units per base unit; zero or more.
	Quantity decimal.Decimal `json:"quantity"`
}

// Discount takes a percentage or a fixed amount off the lines it applies
// to. Exactly one of Percent and Amount is set.
type Discount struct {
	// ID names the discount; required.
	ID DiscountID `json:"id"`
	// Percent is the share taken off each line, in (0, 100%].
	Percent ensemble.Ratio `json:"percent,omitzero"`
	// Amount is a fixed amount (in the subscription's currency, whole minor
	// units) taken off the applicable lines (those with a positive amount
	// whose service starts in the discount's cycles) at most once per cycle
	// of the subscription's cadence over every invoice, never more than
	// they hold: a cycle's lines take it in the order they are due, the
	// lines due at one instant (on one invoice) split it in proportion to
	// their amounts, and a later line of the cycle takes only what the
	// earlier ones left. So a quantity change re-charging a cycle on a later
	// invoice takes nothing of an amount the cycle's first line took, and
	// any split of the runs bills what one run bills. What earlier runs
	// took of a cycle is read from what they billed (Run.Billed: the
	// applied discounts of its lines, not reversed); a line Run.Billed
	// lacks is computed again from the segments, except a usage line,
	// which cannot be without its usage: a run billing a line of a cycle
	// (a quarter's line in arrears, late usage) that holds a usage period
	// an earlier run billed needs the period's usage line in Run.Billed,
	// or is refused with a *UsageError wrapping ErrBilledIncomplete naming
	// the period (a period whose idle usage bills nothing is taken for
	// idle when Run.Billed holds lines of the subscription but none of
	// it, since an idle period's line is left out). 50.00 off a month
	// takes 30.00 off April's 30.00 of usage billed May 1, and 20.00 off
	// the quarter's 300.00 fee in arrears billed July 1, as one run does.
	// Proration credits do not give it back. A run catching up a back-dated change
	// (see Run.Billed) does not take it once more for the lines it bills
	// for periods earlier invoices billed: a line billed anew takes what
	// the line it reverses took (the reversal gives that back), and it and
	// a line billed late what the lines of their cycle that stand left of
	// it.
	//
	// A discount with a Length takes, for each cycle of the subscription's
	// cadence, Amount prorated by the share of the cycle its calendar time
	// covers (on the run's proration basis, rounded once per cycle) off the
	// lines whose service overlaps it, taken the same way: 10.00 off for
	// three months from June 15, on cycles from the 1st, takes 5.33 in June,
	// 10.00 in July and August and 4.67 in September. EUR 50.00 off a month
	// for three months from March 10 on 40 seats at 30.00, cut to 30 on
	// April 20, takes April's 50.00 off April's 1,200.00 line and nothing
	// off the 330.00 re-charge of April 20 to May 1 on May's invoice.
	Amount decimal.Decimal `json:"amount,omitzero"`
	// Currency is, when set, the currency Amount is said in, checked
	// against the subscription's (a problem at discounts[k].currency
	// wrapping ErrCurrency and an *ensemble.CurrencyMismatchError); zero
	// leaves it unchecked. It converts nothing.
	Currency ensemble.Currency `json:"currency,omitzero"`
	// Duration says for how long the discount applies: every cycle of the
	// subscription's cadence, one, or (Repeating) a number of cycles or a
	// Length of calendar time.
	Duration DiscountDuration `json:"duration,omitempty"`
	// Cycles is the number of cycles of a Repeating discount counted in
	// billing cycles (1 to ensemble.MaxCadenceCount); zero otherwise.
	Cycles int `json:"cycles,omitempty"`
	// Length is how long a Repeating discount counted in calendar time
	// lasts, such as ensemble.Every(3, ensemble.Monthly) for "the first
	// three months" (days, weeks, quarters and years likewise; Count 0 is
	// 1), stepped from Start in the subscription's time zone with month
	// ends clamped (from January 31, one month ends on February 28). The
	// discount covers exactly [Start, Start + Length): a line whose service
	// straddles either end takes it for the part inside, prorated on the
	// run's proration basis as partial cycles are (a one-time fee, at an
	// instant, takes it whole when that instant is inside; a usage line, by
	// the share of its service period inside, whenever in it the usage was
	// recorded). Thirty percent off the first three months of a 600.00
	// monthly plan from June 15, on cycles from the 1st, bills
	// June 15-30 224.00, July and August 420.00 and September 516.00 (84.00
	// off the first 14 days); counted in cycles (Cycles 3) the stub spends
	// one and September bills 600.00. Exactly one of Cycles and Length is
	// set on a Repeating discount, neither on another: otherwise the
	// discount is refused with ErrDiscountDuration.
	Length ensemble.Cadence `json:"length,omitzero"`
	// Start is when the discount begins. Zero is the subscription's anchor
	// for a discount counted in cycles, and, for one with a Length, the
	// start of its item (its first segment) or of the subscription (the
	// earliest start of its items, Line.SubscriptionStart). A discount
	// counted in cycles applies to a line whose service period starts in
	// the discount's cycles (from the cycle Start falls in), whole.
	Start time.Time `json:"start,omitzero"`
	// Offer limits the discount to the lines of one offer (Line.Pin): a
	// base offer or an add-on, percent and fixed alike. On a subscription's
	// discount it is an offer discount: the lines of that offer on every
	// item. On an item's discount it limits the discount to the item's
	// lines of that offer: "20% off the backup add-on" is the item's
	// discount with Offer "backup", which takes 20% off the add-on's lines
	// and nothing off the item's base offer (Offer naming the base offer
	// takes it off the base offer's lines alone, not the add-ons'). Empty
	// is every line the discount reaches. The offer must be one the
	// discount reaches: for a subscription's discount, one some item holds
	// in some segment, base offer or add-on, whenever (an add-on dropped
	// in June or an offer bought in August is fine in any run); for an
	// item's, one the item holds in some segment; or one the run's
	// Run.Billed holds lines of for the subscription (the item), as after
	// an item is removed back to its start (a Removal records no pin) and
	// the run bills its reversal. Another (a misspelt
	// offer, which would silently discount nothing, or another item's) is
	// refused by Validate and Build with a *DiscountScopeError wrapping
	// ErrDiscountOffer at ...discounts[k].offer, naming the subscription,
	// item, discount and offer, listing the offers held and suggesting the
	// one probably meant (differing only by case, or within a typo).
	Offer catalog.OfferID `json:"offer,omitempty"`
	// Charges limits the discount to the lines of these charges of its
	// offers (Line.Charge, as CommitmentScope.Charges limits a minimum
	// commitment): "15% off usage" on an offer with a one-time onboarding
	// fee, a recurring platform fee and a usage charge is Charges
	// ["usage"]. Empty is every charge. A percentage discount takes its
	// share off those lines only; a fixed amount is taken off those lines
	// only, by the rules above (at most once per cycle, in the order due,
	// in proportion at one instant), so the lines it does not name bill as
	// if it did not exist. Durations, Length, Start, Recorded, Run.Billed,
	// credit notes and true-ups (Line.Recouped) read the lines it took, as
	// for an unscoped discount. Each entry must be a charge of an offer the
	// discount reaches: of Offer when set; else, for a subscription
	// discount, of an offer (or add-on) one of the subscription's items
	// holds in some segment, for an item's discount, of an offer the item
	// holds. One that
	// is not is a *DiscountScopeError wrapping ErrDiscountCharge at
	// ...discounts[k].charges[m], from Validate and Build, rather than a
	// discount that silently takes nothing; an empty or repeated entry is
	// ErrRequired or ErrDuplicate.
	Charges []catalog.ChargeID `json:"charges,omitempty"`
	// Recorded is when the discount was recorded (zero: not known). One
	// recorded after a run's After whose first cycle starts at or before
	// it is back-dated, as a segment can be (see Segment.Recorded): the
	// run bills anew the recurring and one-time lines it changes (see
	// Run.Billed), and credits the usage earlier runs billed without it,
	// which it does not rate again. "10% off usage from January 1"
	// recorded on February 10, after the run of February 1 billed
	// January's usage, makes the next run credit 10% of what it billed:
	// round(S × p) over the share of the usage line's service the
	// discount covers, where S is what the period's usage line and its
	// adjustments in Run.Billed billed before discounts, less what they
	// took of the discount, times the share of what they billed after
	// their discounts that the host's credit notes and reversals of them
	// in Run.Billed left (the discount applies to what the customer still
	// pays for: after a 100.00 note of a 400.00 line, 15% of 300.00,
	// 45.00; after a full note, nothing), less what earlier credits of it
	// gave back, capped at what they hold after their discounts and every
	// credit of them; split over those lines in proportion to what each
	// has left (largest remainder by line ID), a KindCreditNote line
	// crediting each (Credits), so that none gives back more than its
	// line billed. Its ID is
	// "<credited line>/discount/<discount>/<run instant>", it is dated at
	// the run, traced to the line and the discount (Refs), and taxed so
	// that the line and its credit carry the tax of the line discounted
	// (rounded per line); a later run given it in Run.Billed credits
	// nothing more, Remaining counts it among a credit note's Prorated
	// lines, and settlement claws it back from the usage line's entries
	// as it claws back any credit of that line. This is what Kill Bill
	// does, repairing an invoice already issued with an adjustment item,
	// where Lago applies a coupon to the invoices after it only. A fixed
	// discount so recorded that reaches usage billed without it, a
	// percentage one on a subscription with a minimum commitment (whose
	// true-up is not recomputed) or on usage a prepaid commitment covered,
	// and adjustments whose usage line Run.Billed lacks are refused with a
	// *LateDiscountError (ErrLateDiscount) naming the usage line and its
	// period, rather than left: credit them with a credit note, or record
	// the discount from the next period.
	Recorded time.Time `json:"recorded,omitzero"`
}

// Commitment is a minimum spend per cycle of the subscription's cadence.
// When the net (after percentage discounts, before fixed discounts and tax)
// of the lines whose service starts in a cycle falls short, a true-up line
// bills the difference at the cycle's end (or the cancellation). A usage
// line's service starts at its period's start, or at the item's activation
// inside the period: the usage of an item on its own anchor activated on
// January 10, in its period from December 15, counts toward January (a
// later run of January needs its aggregate; see Run.Usage). Usage
// adjustments count as their usage line does: late usage and corrections
// (Run.Late), and a stretch's share of the spend bounds after a restart.
// Late usage of a cycle whose true-up an earlier run billed recomputes it:
// the run bills the difference, dated at the run (see Run.Late), so a
// 500.00 minimum billed 475.00 of usage and a 25.00 true-up, then 95.00
// of late usage, credits the 25.00 (570.00 in all, not 595.00), and a
// correction down to 380.00 bills 95.00 more true-up (500.00). A cycle
// the subscription covers only in part owes the prorated minimum, rounded
// as recurring lines are.
//
// With a prepaid commitment (PrepaidCommitment), spend is consumption: a
// line counts in full whether the prepaid commitment covers it or it is
// billed as overage, and the purchase (and any breakage) does not count,
// so the same consumption never counts twice. A month whose usage comes to
// 225.00, covered by a EUR 1,200 prepayment bought that month, falls 275.00
// short of a 500.00 minimum. The true-up is billed, never drawn from the
// prepaid commitment.
//
// Scope limits the commitment to part of the subscription (see
// CommitmentScope): only the lines it names count, and the true-up is
// attributed to them, so settlement pays it as it pays them. A monthly
// minimum of 500.00 on engineering hours at 95.00, beside a managed-desktop
// plan of 1,000.00, tops up a month of 5 hours by 25.00 and one of 3 hours
// by 215.00, where an unscoped minimum counts the desktop's 1,000.00 and
// is always met. The zero Scope is the whole subscription.
type Commitment struct {
	// Minimum is the least net a cycle bills, in the subscription's
	// currency.
	Minimum decimal.Decimal `json:"minimum"`
	// Currency is, when set, the currency Minimum is said in, checked
	// against the subscription's (a problem at commitment.currency
	// wrapping ErrCurrency and an *ensemble.CurrencyMismatchError); zero
	// leaves it unchecked. It converts nothing.
	Currency ensemble.Currency `json:"currency,omitzero"`
	// Scope says which lines count toward the minimum (zero: every line
	// of the subscription).
	Scope CommitmentScope `json:"scope,omitzero"`
}

// PrepaidCredit is a balance the customer paid for in advance, applied to
// invoice totals.
type PrepaidCredit struct {
	// ID names the credit; required.
	ID CreditID `json:"id"`
	// Balance is what is left of the credit, in the subscription's
	// currency (whole minor units).
	Balance decimal.Decimal `json:"balance"`
	// ExpiresAt is when the credit lapses (zero: never); a credit expired
	// at the invoice date is not applied.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Priority orders credits: lower first; then earlier expiry (never
	// last), then ID.
	Priority int `json:"priority,omitempty"`
}

// TaxRule is one row of a TaxTable.
type TaxRule struct {
	// ID names the rule; required and unique.
	ID TaxRuleID `json:"id"`
	// Region is the customer region the rule applies to; empty matches any.
	Region string `json:"region,omitempty"`
	// TaxCode is the product tax code it applies to; empty matches any.
	TaxCode string `json:"tax_code,omitempty"`
	// Rate is the tax rate, such as "20%"; zero or more. A rule with
	// Components leaves it zero.
	Rate ensemble.Ratio `json:"rate"`
	// Components, when set, are the taxes the rule stacks (Canada's GST
	// and Quebec's QST, a US state, county and city sales tax, India's CGST
	// and SGST), in order: each is computed and rounded on its own under
	// Options.TaxRounding, and the line's Tax is their sum (Line.Taxes
	// lists them). A compound component is computed on the amount plus
	// the components before it. The rule's effective rate (TaxTrace.Rate)
	// is the tax on an amount of 1. Setting both Rate and Components, a
	// component without a name or a name given twice, or a compound first
	// component is an error wrapping ErrTaxComponents; a negative rate,
	// ErrNegative.
	Components []TaxComponent `json:"components,omitempty"`
	// Inclusive says catalog prices already include the tax: the tax is
	// amount × rate / (1 + rate) and the net is the rest. With
	// Components, each component is its exact share of the amount
	// (effective rate_i / (1 + R), R the rule's effective rate), rounded on
	// its own; the tax is their sum and the net the rest, so net + tax is
	// the tax-inclusive amount to the cent.
	Inclusive bool `json:"inclusive,omitempty"`
}

// TaxTable is the host's tax table. A line takes the most specific rule:
// the customer's region and the line's tax code, then the region for any
// code; then the same for the region's country (the part of an ISO 3166-2
// region such as "US-CA" before the dash); then any region with the code,
// then the catch-all.
// An empty table charges no tax; a non-empty one with no rule for a line is
// an error (ErrNoTaxRule).
//
// Reverse charge (Customer.ReverseCharge) applies only to cross-border
// supplies: under EU VAT Directive art. 196 the customer accounts for the
// VAT when the supplier is not established in the customer's member state.
// The library checks that only when told where the seller is established
// (Seller): a reverse-charge customer whose region is in the seller's
// country is then refused (ErrReverseChargeDomestic) instead of being
// billed no tax. Without Seller a reverse-charge customer is never
// checked, wherever it is: a domestic business customer marked for reverse
// charge by mistake is silently billed no tax.
type TaxTable struct {
	// Seller is where the seller is established, in the region codes of
	// the rules: a country ("PL") or a region of it ("CA-ON"), whose
	// country is the part before the dash. Optional; when set, Build and
	// Validate refuse a reverse-charge customer whose region (or the
	// region's country) is in the seller's country, compared without
	// regard to case (ErrReverseChargeDomestic, at the subscription's
	// customer). A customer with no region is not checked.
	Seller string `json:"seller,omitempty"`
	// Rules are the table's rows; at most one per region and tax code
	// (a rule stacks several taxes with Components).
	Rules []TaxRule `json:"rules"`
}

// LateUsage is late usage for a period already billed: the aggregate that
// was billed and the adjustment of the late records (usage.Report.Adjustments).
// LateUsageFrom pairs a report's adjustments with what earlier runs billed.
type LateUsage struct {
	// Billed is the aggregate the period was billed with.
	Billed usage.Aggregate `json:"billed"`
	// Late is the aggregate of the records that arrived since (marked
	// Late), for the same line, meter and period.
	Late usage.Aggregate `json:"late"`
}

// Run is one billing run: every line due in (After, At] is billed, so
// consecutive runs bill every line exactly once; a change recorded after
// After but effective before it is caught up (see Billed). Due instants: a cycle's
// start for in-advance charges, its end (or the cancellation) for in-arrears
// and usage charges (for a piece of a usage period cut at a change of its
// charge, the piece's end: see SplitAtChange), activation for one-time
// fees, and the change for proration lines. Where the item's service stops
// inside a cycle and starts again later in it (a gap between segments: a
// pause, or a stop the item restarted from; in arrears, also a change to an
// offer without the charge and back), what it held before the gap is due
// at the gap: its in-arrears lines then, and the usage period's line (usage
// recorded after the restart is late usage of the period, see Late; under
// catalog.SpendService, each stretch of service after the restart owes its
// share of the minimum and maximum spend when it ends, rated with the
// period's usage as billed: a run billing it after the period's usage line
// needs that line, with the period's late adjustments, in Billed, unless
// it is given the period's late usage). So
// runs split anywhere bill each piece of service once, as one run does,
// however late the restart was learnt.
type Run struct {
	// After is the previous run's instant (exclusive; zero: the beginning).
	After time.Time `json:"after,omitzero"`
	// At is the instant of this run and the invoices' date; required.
	At time.Time `json:"at"`
	// Basis overrides the builder's proration basis for this run.
	Basis *ensemble.ProrationBasis `json:"basis,omitempty"`
	// Usage are the aggregates (usage.Report.Aggregates) of the periods
	// being billed; an aggregate is billed in the run its due instant, its
	// period's end (or where the item's service in it first stops), falls
	// in. An aggregate
	// due outside the run is an error (a *UsageError wrapping
	// ErrUsageNotDue), never dropped: one due earlier holds records of a
	// period an earlier run billed, which go in Late; one due later is
	// given to the run it is due in. Only with a minimum commitment may
	// the aggregates whose service (their usage line's Period: the item's
	// service in their period) starts in the commitment's cycle that holds
	// After, or later, be given to every run of the cycle, for its
	// true-up, which counts a line by the start of its service: a period
	// that starts before the cycle, of an item activated inside it, counts
	// toward the cycle. The run they are due in bills them; a run of the
	// cycle not given one counts its period as idle. Such an aggregate is
	// the usage as its usage line billed it (the host's
	// Builder.BilledUsage, not merged with the period's late usage): the
	// late adjustments of the cycle earlier runs billed count through
	// their lines in Billed, the run's own through Late.
	Usage []usage.Aggregate `json:"usage,omitempty"`
	// Late is late usage for periods already billed (LateUsageFrom pairs
	// a usage report's adjustments with what was billed); it is billed in
	// this run whatever its period. With a minimum commitment its delta
	// counts toward the cycle its usage line counts toward: a cycle whose
	// true-up this run bills counts it (and, from Billed, the cycle's
	// earlier late adjustments); a cycle whose true-up fell due by After
	// has it recomputed. The true-up billed is the sum of the cycle's
	// KindCommitmentTrueUp lines in Billed, the spend it was billed
	// against the minimum less it (when none stands, what the cycle's
	// lines in Billed count); the run bills the true-up the cycle owes
	// with the late usage less the one billed, a true-up adjustment dated
	// at the run: a credit of the excess, crediting the true-up (Line.Credits)
	// and attributed as it was, so settlement claws back what it paid of
	// it; or, after a correction, the true-up now owed. So Billed must
	// hold the cycle's lines: with none of them, or with lines short of
	// the minimum and no true-up, the run is a *UsageError wrapping
	// ErrBilledIncomplete, never a guess.
	Late []LateUsage `json:"late,omitempty"`
	// Progressive is the usage of periods billed progressively (see
	// UsageThreshold): an open period's usage so far is billed in this run
	// when it crosses its threshold; a period that has ended is billed as
	// its aggregate in Usage would be, less what was billed progressively.
	// A period is given in Usage or here, not both.
	Progressive []ProgressiveUsage `json:"progressive,omitempty"`
	// Billed are lines earlier runs issued, and the lines of the credit
	// notes raised against them, as the host stored them (optional; pass
	// both for every line a run may credit). Each line is given once: a
	// line ID given twice is ErrDuplicate at run.billed[k].id (counted
	// twice, its credits would be). A proration credit of a line
	// found here credits that line's full amount and percentage discounts
	// — what was actually billed — even if the subscription's segments
	// were edited since; without it, what was billed is recomputed from
	// the segments.
	//
	// A credit-note line found here (KindCreditNote) lowers the proration
	// credit of the line it credits: the credit is the unused part of what
	// the credit notes left of the line, in proportion (see
	// Proration.Billed), so what credit notes and proration credits give
	// back of a line never exceeds what it billed, to the minor unit. A
	// 100% SLA credit of March's 160.00 line, then a cancellation on March
	// 20, credits nothing more; a 10% one (16.00 + 3.36 tax of 193.60)
	// leaves 90% of the unused part to credit. The credit-note lines need
	// the line they credit here too (a *LineError otherwise). The other
	// order, a credit note raised after a proration credit, is
	// CreditRequest.Prorated's.
	//
	// A subscription with a back-dated change (a segment, segment end,
	// cancellation, discount or removal recorded after After but effective at or
	// before it: Segment.Recorded) needs its billed lines here: every line
	// earlier runs issued for it (with the reversals and credit notes) from
	// the billing cycle the earliest such change takes effect in (every
	// line whose Cycle ends after that instant; a host passing all of the
	// subscription's lines from that cycle's start on passes them). A line
	// missing would be taken for one no run billed, and billed again: where
	// the run can tell an earlier run issued it (see
	// BilledIncompleteError), the run is a *BilledIncompleteError
	// (ErrBilledIncomplete) naming it; a line of a state the change
	// replaced cannot be told from the segments, so nothing replaces
	// passing them all. The run
	// then catches up, so that the runs bill in total what one run over the
	// whole span bills: it recomputes the subscription's one-time,
	// recurring, proration-credit and early-termination lines due by At
	// from its segments, and bills each one no earlier run billed, even
	// when dated before After (a proration at a change effective February
	// 20, recorded March 5); a billed line the recomputation no longer
	// bills, or bills otherwise (another amount, quantity, period or
	// percentage discount), is reversed (a KindReversal line crediting
	// what is left of it: its proration credits and credit notes are
	// absorbed) and, when it is still owed, billed anew with the
	// proration credits of it, under new IDs that name the line they stand
	// for (Line.Reissues). Usage, minimum-commitment true-ups and
	// prepaid commitments' lines are not recomputed: usage is billed from
	// the aggregates given, as always, and late usage through Late (which
	// recomputes the true-ups of the cycles it changes; a back-dated
	// change does not). A percentage discount recorded late that reaches
	// usage lines Run.Billed holds, billed without it, is credited on them
	// instead: KindCreditNote lines crediting the period's usage line and
	// adjustments of what one run would have taken (see
	// Discount.Recorded); a
	// fixed one, or one under a minimum commitment, is refused with a
	// *LateDiscountError. A
	// credit note of a reversed line (a goodwill or SLA credit) stays
	// with the customer: the reversal gives back what the note left, and
	// the run carries the note to the line billed anew, a KindCreditNote
	// line of the invoice crediting it (Credits) with the note's net and
	// tax, bearer and incident, at most what that line holds; so the runs
	// and the notes bill what one run over the span, with the same notes,
	// bills. A line
	// a prepaid commitment covered cannot be reversed (a *LineError
	// wrapping ErrBackdated). With no line of the subscription here, the
	// change is a *BackdatedError wrapping ErrBackdated (a subscription no
	// run has billed yet is billed from the beginning: After zero, in a
	// run of its own if need be). Without such a
	// change, or with Recorded left zero, the run bills as before: only
	// the lines due in (After, At].
	//
	// A subscription with a fixed-amount discount (Discount.Amount) needs
	// here the usage lines earlier runs billed of a cycle the run bills a
	// line of (a quarter's line in arrears beside monthly usage, late
	// usage): what they took of the cycle's amount is read from them, and
	// a run lacking one is a *UsageError wrapping ErrBilledIncomplete.
	// Where earlier runs issued no line of the subscription at all (its
	// first months' usage idle), there is nothing to pass: bill it from
	// the beginning (After zero), as for a back-dated change.
	//
	// A subscription with a prepaid commitment needs here the lines of a
	// usage period a negative late adjustment in Late lowers (its usage
	// line and earlier adjustments): the adjustment gives back to the
	// commitment at most what they drew on it, and the rest in cash (see
	// PrepaidCommitment); a run lacking them is a *UsageError wrapping
	// ErrBilledIncomplete.
	Billed []Line `json:"billed,omitempty"`
	// Rates are the exchange rates of the run: a bundle component's fixed
	// cost in another currency than the bundle's is converted at the rate
	// for its pair in force at the run's instant At (of the pair's rates,
	// the one with the latest Since not after At; a dated table may hold
	// several), exactly and rounded once (catalog.Catalog.SupplierCosts);
	// a line needing a rate the run lacks, or whose pair's rates all start
	// after At, fails the build with a *catalog.RateError naming the pair.
	Rates catalog.Rates `json:"rates,omitempty"`
}

// Options configures a Builder. The zero value prorates by exact time, rates
// and rounds half away from zero once per line, and rounds tax per line.
type Options struct {
	// Basis is the catalog's proration basis (Run.Basis overrides it).
	Basis ensemble.ProrationBasis `json:"basis"`
	// Mode rounds amounts, discounts and tax to the minor unit.
	Mode ensemble.RoundingMode `json:"mode"`
	// Rating says where usage ratings round (catalog.RoundPerLine or
	// catalog.RoundPerTier; RoundNone is rounded once at the line).
	Rating catalog.RoundingPolicy `json:"rating"`
	// TaxRounding says whether tax rounds per line or per invoice.
	TaxRounding TaxRounding `json:"tax_rounding"`
	// Taxes is the tax table.
	Taxes TaxTable `json:"taxes"`
	// UsageSplit says how a usage period over which an item's usage
	// charge changes is billed: in pieces, each at its own charge (the
	// default), or whole at the latest charge (SplitNone). UsageLines
	// lists the pieces as the usage lines' periods, so that the usage
	// aggregator gives one aggregate per piece.
	UsageSplit UsageSplit `json:"usage_split,omitempty"`
}
