// Package invoice turns subscriptions and usage into invoices and credit
// notes whose every line says why it is that amount.
//
// The input is the package's own small types, so billing teams can fill
// them without the order package: a Subscription (customer, currency,
// billing anchor and time zone) holds Items whose dated Segments record
// the catalog pin, quantity and add-ons in force; discounts, a minimum
// commitment (of the whole subscription, or of part of it: see
// CommitmentScope) and prepaid credits ride along. A Builder compiles a catalog
// once; Build bills one Run, every line due in (Run.After, Run.At]:
//
//	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: table})
//	invs, err := b.Build(invoice.Run{After: lastRun, At: now, Usage: report.Aggregates}, subs)
//	inv, err := invoice.Issue(invs[0], now)
//	fmt.Print(invoice.Explain(inv.Lines[0])) // why is this line this amount
//	cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "1", Reason: invoice.ReasonRefund, At: now, Full: true})
//
// # Billing periods
//
// Each recurring charge is billed on the cycles of its own cadence stepped
// from the subscription's anchor in its time zone (ensemble.Cadence, which
// clamps month ends: an anchor on the 31st bills on Feb 28 or 29). An anchor
// at activation bills on anniversaries; an anchor on the 1st bills calendar
// months, the first one partial. The first
// cycle is charged from activation and the last one up to the cancellation.
// In-advance charges fall due at the start of what they pay for, in-arrears
// and usage charges at its end, one-time fees at activation (the first
// instant their offer appears on the item). The end of what an in-arrears
// or usage charge pays for is the cycle's end, or, where the item stops or
// pauses inside the cycle, the stop: a restart later in the cycle bills
// only the service after it (usage recorded after it is late usage of the
// period), so the time before a pause is billed once, whenever the restart
// was learnt.
//
// An item can have its own anchor (Item.Anchor) and contract term
// (Item.Term): its charges are then billed on cycles stepped from its own
// anchor, in the subscription's time zone, and prorated only by its own
// changes. A yearly commitment activated on March 17 inside a monthly
// subscription anchored on the 1st, anchored at its activation, bills a
// whole year from March 17 and renews on March 17; its upgrades are
// prorated on that year and its end credits that year's unused part. The
// subscription's cycles still govern its other items, discount durations
// counted in cycles and the minimum commitment. A discount can instead last
// calendar time from its start (Discount.Length: "the first three
// months"), covering exactly that span: a line straddling its end takes it
// for the part inside, prorated. A discount can be limited to named charges
// of its offers (Discount.Charges, Segment.DiscountCharges: "15% off
// usage"), taken off those lines alone, or to one offer
// (Discount.Offer: an offer discount of the subscription, or an item's
// "20% off the backup add-on"), which must be one its subscription or item
// holds in some segment (ErrDiscountOffer). Items follow the subscription's anchor by default.
// An item that ends inside its term owes the term's early-termination fee
// (Term.EarlyTermination: a fixed amount, an amount declining over the
// term, a share of the remaining contract value, or N periods of the
// recurring charges in force at the end, optionally capped at the
// remaining value: see TerminationPeriods), one KindEarlyTermination line
// at its end; a stop that a restart recorded
// after it turns into a pause has its fee reversed at the restart (see
// EarlyTermination). A subscription can have a term of
// its own (Subscription.Term, an order's Term), whose fee is owed once when
// the subscription as a whole ends inside it, billed as one line per item
// (and add-on) in service at the end, its share of the fee by its
// remaining value (a periods fee: its own periods of charges), each
// attributed to its offer and settled by its plan.
//
// # Rounding
//
// Amounts stay exact (decimals and ensemble.Ratio fractions) until each
// line is rounded once to the minor unit in Options.Mode. A recurring line
// covering the elapsed fractions [from, to) of its cycle is
// round(full × to) - round(full × from): cumulative rounding, so the parts of
// a cycle split at any instants add up to exactly the whole, and a credit of
// an unused part never exceeds what was billed. Credit notes count too, in
// either order: a proration credit after credit notes (their lines given in
// Run.Billed with the line) credits the unused part of what they left, and
// a credit note after a proration credit (CreditRequest.Prorated) credits
// at most what it left, so together they never give back more than the
// line billed. Percentage discounts round the same way; tax rounds per line
// or per invoice (TaxRounding).
//
// # Proration
//
// Every change between segments (upgrade, downgrade, quantity change,
// add-on added or removed, pause, cancellation) credits the unused part of the
// line billed in advance at the amounts it was billed with, and charges the
// new state from the change. A second change in one cycle therefore credits
// what the first change charged, never the original price. What earlier
// runs billed is recomputed from the segments, or read from the lines the
// host stored (Run.Billed). The basis
// (ensemble.ProrationBasis) is the builder's, or the run's;
// ProrateThirtyDayMonth counts 30-day months from the billing anchor and
// ProrateThirtyDayCalendarMonth counts calendar months as 30 days, as Kill
// Bill's fixed 30-day proration does. Under days-end-inclusive
// counting the day holding a change counts in the earlier part, so the parts
// still add up to the whole.
//
// A volume price whose catalog.Price.FlatProration is catalog.FlatWhole
// prorates as Lago prorates a volume charge: the seat count picks the tier,
// the units are prorated, and the tier's flat amount is billed whole on
// every piece of a cycle and never credited (Proration.Whole). The default
// prorates the flat amount with the units.
//
// # Back-dated changes
//
// A change can take effect before it is recorded (order.Change may be
// back-dated to the start of the line's current segment, an immediate
// cancellation to the activation). One recorded after a run that already
// billed the time it reaches back into would be lost by the next run,
// which bills only what falls due after the last: the run at March 1
// bills March for 10 seats, and 12 seats from February 20, recorded March
// 5, owe a proration dated February 20 and 2 more seats for March.
// Segments therefore say when they were recorded (Segment.Recorded and
// EndRecorded; FromOrder sets them from the order's events, and
// Subscription.CancelRecorded and Discount.Recorded do the same for a
// cancellation and a discount; an item removed back to its start keeps
// no segment, and a Removal says when that was recorded). A run whose subscription has a change
// recorded after Run.After but effective at or before it catches up,
// given the lines earlier runs issued (Run.Billed): it recomputes the
// subscription's one-time, recurring, proration-credit and
// early-termination lines from its history, bills those no run billed
// (dated when they fell due), and reverses each billed line the
// recomputation no longer bills as it was billed (a KindReversal line
// crediting what is left of it), billing it anew under an ID of its own
// (Line.Reissues names the line it stands for), with the credit notes of
// the line reversed carried to it. Runs so billed bill in
// total what one run over the whole span bills: the trial's 400×19/28 +
// 480×9/28 + 480×3 = 1,865.72, where they billed 1,760.00. Without
// Run.Billed such a run is a *BackdatedError (ErrBackdated) naming the
// change, never a silent loss. Usage, minimum-commitment true-ups and
// prepaid commitments are not recomputed by a back-dated change (late
// usage goes through Run.Late, which does recompute the true-ups of the
// cycles it changes); a change with Recorded left zero bills as before.
//
// # Usage
//
// Usage aggregates (package usage) are rated through the catalog's raters;
// a period without usage still bills what zero usage costs (a first tier's
// flat amount, unless the price waives it at zero, catalog.FlatAtZeroWaived
// as Lago does; a minimum spend). A usage line's service period
// (Line.Period) is the part of its usage period the item was in service,
// as a recurring line's is clipped to its segment: an item activated on
// January 15 on a cycle anchored on the 1st bills January's usage for
// [Jan 15, Feb 1).
// Usage can be billed progressively (Item.Thresholds, Run.Progressive):
// while a period is open, its usage so far is billed ahead once it exceeds
// what was billed by the threshold, without the minimum spend; the
// period's final usage line bills the rest and owes the minimum spend once,
// so the bills add up to one bill at the period's end.
// Late usage for a billed period is billed as rate(cumulative) - rate(billed)
// (catalog.Rater.RateDelta), tracing to the period and records it corrects;
// several deltas add up to billing everything at once. A delta counts
// toward the minimum commitment as its usage line does: when the cycle's
// true-up was billed by an earlier run, the run bills the true-up's
// difference (a credit of what the cycle no longer owes, or the true-up a
// correction makes owed), from the true-up lines in Run.Billed (see
// Run.Late), so March at a 500.00 minimum, billed 475.00 and a 25.00
// true-up, then 95.00 late, comes to 570.00, not 595.00. A true-up says
// what it bills back of the discounts the cycle's lines took
// (Line.Recouped: min(true-up, their sum), by discount), for settlement to
// pay back to the node funding each; a true-up credit gives back that part
// in proportion to what it credits.
//
// A usage period over which an item's segments change the charge that
// prices a meter (an upgrade or downgrade to another offer, offer version
// or charge) is billed per piece (SplitAtChange, the default): cut at each
// change, each piece is its own usage period (Line.Cycle, UsageTrace.Period)
// rated alone at the charge in force over it, so tiers and included units
// apply per piece, as Kill Bill (one usage interval per plan) and Lago (the
// old subscription's usage at the old plan) bill it; a minimum or maximum
// spend is the period's, shared between its pieces in proportion to their
// service (UsageTrace.SpendShare), as Lago prorates a terminated
// subscription's charge minimum; a stop inside a piece shortens its share
// only when recorded by the piece's end, so late usage re-rates a billed
// piece at the share it was billed at.
// 800 GB on a tiered Standard plan before an upgrade to Pro (1,000 GB
// included) and 400 GB after bill Standard's rate(800) and Pro's
// rate(400), not Pro's rate(1200). A piece is due when the item's service
// in it ends (the first at the change); late usage, idle pieces and
// progressive thresholds go per piece. A period the charge does not change
// over (a quantity change, a discount, an add-on without usage) is billed
// whole. Options.UsageSplit set to SplitNone bills a period whole at the
// charge of its latest segment instead. Under SplitAtChange an aggregate
// of a whole period over a change is an error wrapping ErrSpansChange,
// and one of a usage.WeightedAverage meter over a piece is billed at the
// piece's charge as its level times the fraction of the cycle in the
// piece (usage.Aggregate.Cycle, from the usage.Line.Cycles that
// UsageLines lists), so the pieces add up to the cycle's average; one
// averaged over the piece alone wraps ErrAveragePiece (an average level
// over half a month is not a quantity of the month);
// one usage line has one set of periods, shared by the item's meters, so a
// change that keeps some meter's charge with a minimum or maximum spend,
// free units or tiers (an add-on's, while the base offer changes) cuts
// nothing: the kept meter would get its included units once per piece,
// or meet its spend bounds piece by piece rather than over the period;
// that period is billed whole at the latest
// segment's charges, as under SplitNone, and the line of a meter whose
// charge changed there says so in its Description ("not cut at
// 2026-04-15, where another meter's charge goes on"); a kept plain
// per-unit charge bills pieces as it bills the whole, and cuts as usual.
//
// A partial first or last period owes the whole minimum and maximum spend
// for the part of it the item was in service (catalog.SpendWhole, the
// default). A usage price with catalog.Price.SpendProration
// catalog.SpendService owes them times the item's service over the whole
// cycle, under the run's proration basis, rounded once, as Lago prorates
// a partial period's charge minimum: from January 15, a monthly EUR 5.00
// minimum owes 5.00 × 17/31 = 2.74 for January; pieces of a cycle each owe
// their own service over the cycle (UsageTrace.SpendShare, and
// SpendProration says which). A last period owes its service up to where
// the item stops when that stop (a cancellation, recorded at
// Subscription.CancelRecorded, or a segment's end, at
// Segment.EndRecorded) was recorded by the period's end, or has no
// record; a stop recorded later, when a run
// may have billed the period without it, leaves the period's share as
// that run billed it (the back-dated catch-up does not recompute usage),
// so late usage re-rates it at the share it was billed at. A pause inside
// a period (the item stops and restarts in it) owes, under SpendService,
// the share of every stretch of service in it: the period's usage line,
// due at the first stop, bills the first stretch's share, and each later
// stretch's share is billed when it ends (at its stop, or the period's
// end), a KindUsageAdjustment line rating the period's usage as billed by
// then at the share with the stretch less the share without it
// (UsageTrace.SpendShare and SpendShareBilled); late usage re-rates at
// the share of the stretches billed by the run. Stopped on January 10 and
// restarted on the 20th, a monthly EUR 5.00 minimum bills 5.00 × 9/31 =
// 1.45 at the stop and 3.39 - 1.45 = 1.94 at January's end: 21/31 in all.
// A run billing a later stretch after the period's usage line rates it
// with the usage billed, from its late usage of the period (Run.Late) or
// the period's lines in Run.Billed; without them it fails with a
// *UsageError wrapping ErrBilledIncomplete. A restart recorded after a
// run passed the stretch's end is caught up by the run that learns it (a
// back-dated change, see Run.Billed), dated at that run. A stretch's stop
// counts when recorded by the period's end (or by the restart's record,
// if later), as a first stretch's does. Under SpendWhole a pause owes
// the whole minimum once, billed at the first stop.
//
// A run's usage comes from the host's usage report in three calls:
// Builder.UsageLines gives usage.Config the subscriptions' lines (their
// references, active segments and the periods Build bills: a cadence and
// anchor, or, for an item whose usage charge changes mid-period, the
// periods listed with their pieces); the report's
// Aggregates go in Run.Usage; LateUsageFrom pairs its Adjustments with
// what earlier runs billed, for Run.Late. Nothing given is dropped: an
// aggregate the run does not bill, or late usage with nothing billed to
// pair with, is a *UsageError naming its line, meter and period.
//
// # Prepaid commitments
//
// A PrepaidCommitment is a sum bought up front for a term: its purchase is
// billed in full when the term starts; the lines of the charges it names
// (usage of given meters, say) draw it down across invoices, each saying
// what it covered (Line.Prepaid) and billing only the rest; what is left at
// the end expires as breakage or rolls over; when the subscription ends
// inside the term (a cancellation), what is left expires then, not at the
// term's end. Each invoice reports what it
// drew (Invoice.Prepaid) for the host to carry into the next run. Package
// settlement makes the host choose whether partners earn on the purchase or
// on consumption (settlement.PrepaidEarning), never both. A refund of the
// purchase (NewCreditNote, told what was drawn) takes what is left unused
// first (PrepaidRefund): partners keep what they earned on what was drawn,
// in either mode, unless the consumption itself is taken back. Toward a
// minimum commitment, covered usage counts as spend and the purchase does
// not (see Commitment).
//
// # Taxes and credit notes
//
// A host-given TaxTable picks a rule per line by customer region and tax
// code; exempt and reverse-charge customers pay none. Reverse charge is for
// cross-border supplies only: a table declaring where the seller is
// established (TaxTable.Seller) refuses a reverse-charge customer in the
// seller's country (ErrReverseChargeDomestic); without it, that is not
// checked. The invoice states its subtotal, tax per rule and total,
// reconciling to the minor unit (Check).
// Credit notes (NewCreditNote) credit lines in full or in part; each line's
// credit never exceeds what remains, and its tax is the remaining tax in
// proportion, the last credit taking exactly the rest, so crediting every
// line in full returns exactly the invoice's tax.
//
// A rule may stack several taxes (TaxRule.Components: Quebec's GST 5% and
// QST 9.975%, a US state, county and city tax): each is computed and
// rounded on its own under the table's TaxRounding (GST + QST on 10.10 is
// 0.51 + 1.01 = 1.52; one 14.975% rate would round to 1.51), a compound
// one on the amount plus the earlier ones; an inclusive price splits into
// each component's exact share, rounded on its own, the net taking the
// rest. Line.Taxes lists them and TaxLine.Components totals them; credits
// give back each in proportion to what is left of it, never more than
// billed.
//
// # Bundle supplier costs
//
// A bundle line with a positive net records what each supplier is owed
// (Line.SupplierCosts, from catalog.Catalog.SupplierCosts) for the
// components whose cost applies to the line's charge: by default a ratio
// cost applies to recurring and usage lines and a fixed cost to recurring
// lines, so a one-time fee carries no supplier cost unless the bundle's
// applies_to says so (see package catalog, "Bundle costs"). The components
// left out are kept in Line.CostsNotApplied, and Explain says for each
// component whether it applied, how much and why. A ratio cost is a share
// of what the line charged, after every discount (Explain shows the base).
// A fixed cost on a
// prorated recurring line is prorated with it and rounded once; a fixed
// cost in another currency is converted at the run's Run.Rates, and a
// missing rate fails the build with a *catalog.RateError naming the pair.
// A line's costs never exceed what it charged: after a large discount (or
// on a free line), fixed costs whose supplier bears the shortfall
// (catalog.ShortfallSupplier) share what the ratio costs leave and record
// the rest as catalog.SupplierCost.Capped, so settlement can always pay
// them; a fixed cost that does not say who bears it makes the run fail with
// a *CostShortfallError (ErrCostShortfall) naming the line, the component,
// what it is owed and what the line leaves. An
// early-termination fee is no charge of the bundle: its suppliers share
// none of it, and its line lists them as not sharing (see
// EarlyTermination).
//
// # Orders
//
// FromOrder converts an order (package order) into a Subscription: its
// lines become items, its segments theirs, a line's own anchor and term
// (order.LineTerms) the item's, and the order's Term the subscription's,
// early-termination fees included, so an order cancelled inside its term
// bills its fee with no code of the host's. FromOrderWith can leave the
// stretches an order was suspended out.
//
// # Settlement
//
// Settlement reads each Line's ID, Date, Net, Tax, Currency, Pin, Charge,
// Quantity, Customer, SupplierCosts, Credits and Refs (not CostsNotApplied).
package invoice
