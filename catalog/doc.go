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
// quantity zero.
//
// Three modes come from other billing systems; each is off by default:
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
//
// # Rounding
//
// Rating keeps full precision and rounds the line total once to the
// currency's minor unit in a named ensemble.RoundingMode (RoundPerLine, the
// default). RoundPerTier rounds each tier's subtotal first; RoundNone
// returns the exact amount for callers that prorate before rounding.
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
