// Package catalog is the shared model partners sell from and billing rates
// against: offers and their versions, charges (one-time, recurring, usage),
// price models, bundles of supplier components, add-ons, and rating a
// quantity to an amount.
//
// A newcomer starts by loading a catalog and rating a charge:
//
//	cat, err := catalog.LoadYAML(doc) // or catalog.Load(jsonDoc), catalog.New(document)
//	pin, err := cat.PinAt("storage", at) // the version in force; an order stores the pin
//	rater, err := cat.Rater(pin, "gb-month")
//	rating, err := rater.Rate(decimal.RequireFromString("1250"), catalog.RateOptions{})
//	// rating.Amount is the line total rounded once to the minor unit;
//	// rating.Lines is the breakdown by tier.
//
// # Price models
//
// Flat, PerUnit, Graduated, Volume, Package, Percentage and
// GraduatedPercentage (see Model), with free units and a minimum and
// maximum spend per period. Tiers follow one convention: UpTo is inclusive,
// a tier covers (previous UpTo, UpTo], the last tier is open; graduated
// prices bill each tier's slice, volume prices bill every unit at the tier
// the quantity reaches; a tier's flat amount is billed once the quantity
// reaches the tier, so the first tier's flat amount is billed even at
// quantity zero (as OpenMeter bills it; Lago bills nothing at zero: see
// below).
//
// Five modes come from other billing systems; each is off by default:
//
//   - Tiered blocks (Kill Bill): a tier with a Tier.BlockSize bills started
//     blocks of that many units at UnitAmount per block, a started block
//     billed whole; graduated prices block each tier's slice (Kill Bill's
//     ALL_TIERS), volume prices the whole quantity at the tier reached
//     (TOP_TIER).
//   - Spend spread over the tier lines (OpenMeter): with
//     Price.SpendAdjustment SpendPerTier, a maximum spend is cut from the
//     breakdown's lines highest tier first (Line.Adjustment), and a minimum
//     uplift is put on the last line; the lines' adjustments add up to
//     Rating.Adjustment.
//   - Prorated volume prices (Lago): Rater.RateProrated picks the tier from
//     the full period's quantity and bills the prorated units, the flat
//     amount prorated (FlatProrated, the default) or whole (FlatWhole, as
//     Lago does); the invoice package prorates recurring lines the same way.
//   - Nothing billed at zero (Lago): with Price.FlatAtZero FlatAtZeroWaived,
//     a tiered price bills no flat amount at a quantity of zero, the first
//     tier's from the first unit ("no usage, no fee"); a minimum spend
//     still applies, and an idle usage period then bills no line.
//   - Spend prorated by service (Lago): with Price.SpendProration
//     SpendService, a usage period the item was in service for only part
//     of owes the minimum and maximum spend times that part of the cycle
//     (the invoice package works the share out, RateOptions.SpendShare),
//     not the whole.
//
// # Rounding
//
// Rating keeps full precision and rounds the line total once to the
// currency's minor unit in a named ensemble.RoundingMode (RoundPerLine, the
// default). RoundPerTier rounds each tier's subtotal first; RoundNone
// returns the exact amount for callers that prorate before rounding.
//
// # Bundle costs
//
// A bundle's components are supplied by partners at a wholesale cost
// (WholesaleCost): a ratio of the bundle line's retail amount (net of tax),
// or a fixed amount per component unit. Catalog.SupplierCosts computes, for
// one line of one of the bundle's charges, what each supplier is owed; the
// invoice package records it on the line and settlement pays it before the
// margin is split.
//
// Which of the bundle's charges a cost applies to is written on the cost
// (applies_to: "recurring", "all", or a list of charge ids). The default,
// decided for what a finance team expects, is "recurring":
//
//   - a ratio cost is a share of the bundle's recurring and usage lines, the
//     service the supplier delivers. A one-time fee (onboarding, setup)
//     carries no supplier cost unless the bundle says so, with "all" or by
//     naming the fee: a 55% compute cost on a bundle with a EUR 500
//     onboarding fee and a monthly charge pays 55% of each month, and none
//     of the fee;
//   - a fixed cost is owed per bundle unit per cycle, so it applies to the
//     recurring lines (prorated with them, then rounded once). With "all"
//     or by name it also applies to one-time lines, once per unit. It never
//     applies to a usage line, which bills no bundle units: "all" leaves
//     usage charges out, and naming one is a validation error. On a bundle
//     with several recurring charges, a fixed cost must name the charges
//     it applies to (ErrAmbiguousCost): owed on each recurring charge, it
//     would pay the supplier once per charge. A fixed cost owed once per
//     line whatever the line's quantity (a supplier's flat monthly fee on
//     a bundle billed per seat; a setup cost on a setup fee billed for 10
//     seats) says so with per: line (CostPerLine); per: unit is the
//     default. A ratio cost has no per.
//
// A supplier is owed on the bundle's charges only: an early-termination
// fee (package invoice), which compensates the seller for a contract's
// early end and is no charge of the bundle, is shared with no supplier,
// whatever applies_to says; the fee's invoice line lists the components
// as not sharing it.
//
// A charge named in applies_to that the bundle lacks is a validation error
// (ErrUnknownCharge) naming the bundle, the component and the charge. The
// ratios of the components that apply to any one charge add up to at most 1.
// Each SupplierCost records the ratio or fixed amount and the scope it was
// computed with, and Costs.NotApplied lists the components that did not
// apply, so an invoice line can say which costs applied and why.
//
// A ratio cost is a share of the retail amount SupplierCosts is given,
// which the invoice package passes as what the line actually charged: its
// net after every discount. A ratio cost therefore never exceeds it;
// fixed costs may (after a large discount, or on a free line), and
// SupplierCosts reports that as a negative Margin. Who bears that
// shortfall is the contract's to say, on the cost (WholesaleCost.Shortfall):
// with shortfall: supplier the invoice package cuts the fixed costs to what
// the net leaves after the ratio costs and records the cut
// (SupplierCost.Capped); without it, billing such a line is an error
// (invoice.ErrCostShortfall), so that no supplier is paid less than its
// contract says without a word:
//
//	cost: {fixed: "10.00", shortfall: supplier}   # the supplier shares deep discounts and free months
//
// A fixed cost may be owed in another currency than the bundle's
// (WholesaleCost.Currency). It is converted at the exchange rate the host
// gives for the pair (CostOptions.Rates, exact: a decimal or a fraction,
// never a float); a missing rate is a *RateError naming the pair, never a
// default, and a rate is never inverted. Rounding: the fixed cost is
// computed in its own currency and rounded once to that currency's minor
// unit (Source), then converted and rounded once to the bundle's
// (Cost = round(Source × Rate)), both in CostOptions.Mode; Source, Rate and
// Cost are kept, so finance can redo the cent with one multiplication.
// Package settlement takes Cost off the line and pays the supplier Source,
// in its own currency, as its contract says.
//
// # Price books
//
// An offer is priced in its Currency and, optionally, in further
// currencies (Offer.Currencies), as Stripe prices a price in several
// currencies (currency_options): each charge gives its price in each
// (Charge.Prices), every amount written in that currency and billed as
// written, in its own minor units, never converted; tiers may differ per
// currency, the model may not. A fixed wholesale cost in the bundle's
// currency gives its amount in each further currency (WholesaleCost.FixedIn).
// A charge or fixed cost missing one of the offer's currencies is
// ErrMissingPrice, naming the charge (or component) and the currency; a
// price that leaves out a spend or transaction bound, fixed fee or free
// units the charge's Price sets is ErrMissingBound (none is inherited, as
// amounts are per currency: each currency states its own):
//
//	currency: EUR
//	currencies: [JPY, BHD]
//	charges:
//	  - id: seat
//	    price:  {model: per_unit, amount: "100.00"}
//	    prices: {JPY: {amount: "16000"}, BHD: {amount: "38.500"}}
//
// RaterIn rates a charge in one of the offer's currencies (Rater, in its
// Currency), PricedIn checks one, Currencies lists them, and SupplierCosts
// computes a line's costs in its retail amount's currency. A currency the
// offer does not price is a *CurrencyError (wrapping ErrCurrency) naming
// the offer and the currencies it has. An offer with no further currencies
// is priced in one, as before price books.
//
// # Versions
//
// An offer has versions with non-overlapping effective periods. PinAt finds
// the version in force at an instant; Offer and Rater resolve a Pin whatever
// its period, so retiring a version (Retire) or publishing a newer one
// (With) never changes the price of an order that pinned it.
//
// # Traces
//
// Ratings carry a RefPrice reference; Pin builds RefOffer, RefCharge,
// RefPrice and RefComponent references (ensemble.Ref) for invoice lines and
// payout entries.
package catalog
