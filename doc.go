// Package ensemble is the shared vocabulary of Ensemble, a pure Go library
// for partner-commerce rules: everything between "a partner sold an offer"
// and "every party was paid the right amount, and finance can prove why".
//
// Ensemble is the rules and records layer of an ecosystem orchestrator — a
// platform that sells bundles made by suppliers through distributors,
// resellers, marketplaces and referral partners. It keeps no store, opens no
// connection and reads no clock: hosts pass in what they hold and the instant
// they act at, and persist what comes back. The same inputs always give the
// same outputs, so a payout can be recomputed years later and compared.
//
// # Data flow
//
// A host loads a catalog (package catalog), a partner network (package
// partner) and rule documents written in CEL (package rules); takes orders
// through their lifecycle (package order); feeds usage records (package
// usage); builds invoices for a period (package invoice); settles invoice
// lines into payout entries along the partner route (package settlement);
// folds entries into partner statements; and, on a credit note or dispute,
// settles the credit lines into clawback entries. Imports run one way, in
// that order, and this root package imports none of them.
//
// # This package
//
// [Money] is an exact decimal amount in an ISO 4217 [Currency]; [Ratio] is an
// exact rational share or rate; [Allocate] splits money by weights into
// minor units that add back to exactly the whole, with a stable,
// documented remainder rule; [Round] names its [RoundingMode]; [Period] is a
// half-open interval of time ([PeriodThrough] builds one from inclusive
// dates) with [Prorate] under an explicit [ProrationBasis]; [Cadence] steps billing cycles from an anchor, clamping
// month ends. [ExchangeRates] is a host's table of exchange rates by date, each
// conversion recording the one rate it used. [Ref] is the trace reference every output uses to say where it
// came from, and [ValidationError] reports every problem in an input at once.
//
// # Ids
//
// Every id of the library follows one grammar, checked by [CheckID]: 1 to
// [MaxIDBytes] bytes (line ids, which the library composes of several ids,
// [MaxLineIDBytes], checked by [CheckLineID]) of valid UTF-8 without white space or control
// characters, and without the separators the library joins ids on
// ([RefSeparators]: '@' pins a version, '/' joins a path, ':' and '#' join a
// payout entry id) where the id could be read back as another. Each id
// refuses the separators its own refs are joined on, and every id a payout
// entry id is built from refuses [EntrySeparators] (':' and '#') where it is
// written: catalog offer, charge, component and supplier ids and partner
// ids when they load; order, order line and customer ids when an order is
// drafted; invoice subscription, item, discount, prepaid commitment and
// credit note ids when invoices are built or credited; settlement line,
// plan and node ids. An id that loads in one package is so never refused by
// settlement later, and package invoice refuses to issue or credit a line
// whose composed id settlement would refuse. A refused id is an [*IDError] naming the separator,
// inside a [*FieldError] naming the field.
//
// Start with Allocate:
//
//	total := ensemble.MustMoney("100.00", "EUR")
//	parts, err := ensemble.Allocate(total, []ensemble.Share{
//		{Key: "platform", Weight: ensemble.MustRatio("1/3")},
//		{Key: "reseller", Weight: ensemble.MustRatio("2/3")},
//	}, ensemble.AllocateOptions{})
//	// parts: EUR 33.33 and EUR 66.67, summing to exactly EUR 100.00
package ensemble
