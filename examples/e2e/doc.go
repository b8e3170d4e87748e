// Package e2e holds the end-to-end property test of Ensemble: it has no
// code of its own, only tests (e2e_test.go, bugs_test.go).
//
// For a random small ecosystem drawn with pgregory.net/rapid — a partner
// network whose reseller chain has a random depth; a catalog with two
// bundles (a recurring per-seat charge and a one-time setup fee, supplier
// components at a ratio and at a fixed wholesale cost, perhaps in USD at a
// drawn exchange rate, each applying to the charges a drawn applies_to
// names) and a usage-priced add-on (graduated or
// volume); a few orders, for customers taxed, exempt or reverse-charged,
// taken to active with random quantities, perhaps bound by a contract term
// (one, two or twelve months, perhaps renewing) with an early-termination
// fee (fixed, declining, a share of the remaining contract value, or one to
// three months of the seats in force at the end, perhaps capped at the
// remaining value), and
// random mid-period changes; for about half of them a cancellation
// (order.CmdCancel) at a random hour between Feb 1 and Mar 31, before,
// between or after the changes, taking effect at once or at the billing
// period's end (then completed with CmdCompleteCancellation); random
// usage records before the order stops, delivered for the run after their
// month, some of February's arriving a month late and some billed on
// March 1 delivered
// again with them (each delivery collected on the lines of
// invoice.Builder.UsageLines with the ledger the run before returned, so
// they are billed zero more, and the late ones paired with what was billed
// by invoice.LateUsageFrom and Builder.BilledUsage); for some orders a
// prepaid commitment the calls draw on across the runs, ending within them
// (its breakage billed) or after, the host carrying its Drawn and
// DrawnThrough, partners earning on the prepayment or on consumption (a
// drawn settlement.PrepaidEarning); and a split plan
// with a platform take, a referral fee, shares for every level of the chain
// and a remaining seller share, perhaps with a reserve — it bills three
// monthly runs (invoice.FromOrder, Builder.Build, Issue), settles every line
// (settlement.FromInvoiceWith, Settler.Settle) and checks, across the packages,
// that:
//
//   - every bundle line lists each component once, as applied or not as
//     its applies_to says for the line's charge (a one-time fee pays a
//     supplier only when the scope is all or names it; an early-termination
//     fee lists every component as not sharing), its supplier costs
//     never exceed its net, and a converted cost is round(source × rate);
//   - every sale line's payout entries add up to exactly its settlement
//     basis (the line's net), and every credit's clawbacks to exactly its
//     net: invoicing and settlement conserve money;
//   - a cancelled order bills no service after it stops: no line's
//     service period extends past the stop, but a line billed in advance
//     before it, which one proration credit gives back from the stop (or an
//     earlier change) to its end, exactly whole − round(whole × the cycle's
//     days elapsed / its days), and the fee line, due at the stop for the
//     rest of the term; the fee is what the contract says, computed by the
//     test from the term, the stop and the drawn prices (invoice's
//     EarlyTermination), and billed only for a stop strictly inside the
//     term; a prepaid commitment whose term holds the stop lets what the
//     lines left of it expire at the stop (one breakage line), which
//     partners earn on only on consumption (what late usage gives back to
//     it after it expired is a library bug, TestPrepaidGivenBackAfterItExpired,
//     and left unchecked);
//   - the proration credits of a line never give back more than it billed,
//     in net, tax and total; every clawback reverses an earning or supplier
//     cost of the same party on the line its credit names (or whose
//     dispute was lost), never more than the entry nor flipping its sign;
//     and every party's statement for the year folds exactly its entries
//     (earned, reversed, reserved, released), closing at their sum;
//   - every entry traces to an invoice line (its Trace holds an
//     invoice.RefLine reference naming a real line);
//   - the entries of all lines add up to what partners earn on, from the
//     invoices alone: their subtotals on prepayment; on consumption, the
//     subtotals less the purchases plus what the commitments covered and
//     let expire;
//   - settling the lines in any order, or each order's lines on its own,
//     gives the same entries as settling them together, and the orders' statements, merged, are the
//     statements of all entries (settlement shards across machines);
//   - disputes on random lines hold every party's payout and release it all
//     when resolved; a lost dispute nets every party to zero on its line;
//   - crediting everything that remains on every invoice
//     (invoice.NewCreditNote, told what each commitment had drawn), settled,
//     nets every party to exactly zero but for what prepaid commitments paid
//     for: a refund of the purchase gives back only what was never drawn, so
//     the parties keep, in all, exactly what was drawn (or expired), less
//     what lost disputes took back (on prepayment, a purchase's; on
//     consumption, a covered line's); and every party's statement for the
//     year closes at its net with nothing withheld.
//
// The run fails unless the draws billed each fee rule, credited a line
// from a stop, and let a commitment expire at a cancellation in both
// earning modes.
//
// bugs_test.go keeps the smallest cases the property found as plain tests;
// one that shows a library bug skips, saying which.
//
// Run it with
//
//	go test ./examples/e2e
//
// Each check draws a small ecosystem, so the default 100 checks take a few
// seconds; -rapid.checks raises the count and -rapid.seed replays a failure.
package e2e
