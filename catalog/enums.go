package catalog

import (
	"github.com/ensemble-commerce/ensemble"
)

// cut shortens text quoted in an error message.
func cut(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// OfferKind says what an offer is. The zero value is Product.
type OfferKind uint8

const (
	// Product (the default) is an offer sold on its own, with its own charges.
	Product OfferKind = iota
	// Bundle is an offer made of components: other offers supplied by named
	// supplier partners, each with a wholesale cost.
	Bundle
	// AddOn is an offer that may only be attached to the offers it names, in
	// a quantity between its minimum and maximum per base offer.
	AddOn
)

var offerKindNames = []string{Product: "product", Bundle: "bundle", AddOn: "add_on"}

// String returns the kind's lowercase name: "product", "bundle" or "add_on".
func (k OfferKind) String() string { return ensemble.EnumName(k, offerKindNames, "offer_kind") }

// MarshalText writes the kind's name; an undeclared kind is an error.
func (k OfferKind) MarshalText() ([]byte, error) {
	return ensemble.EnumText(k, offerKindNames, "catalog", "offer kind")
}

// UnmarshalText reads a kind's name; "" is Product.
func (k *OfferKind) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[OfferKind](b, offerKindNames, "catalog", "offer kind")
	if err == nil {
		*k = v
	}
	return err
}

// ChargeType says when a charge is billed. The zero value is
// ChargeUnspecified, which validation rejects: every charge names its type.
type ChargeType uint8

const (
	// ChargeUnspecified is the zero value and is invalid in a catalog.
	ChargeUnspecified ChargeType = iota
	// OneTime is billed once, when the order line activates.
	OneTime
	// Recurring is billed every cycle of its Cadence, in advance or in
	// arrears; its quantity is the order line's quantity (seats, licences).
	Recurring
	// Usage is billed in arrears from the quantity a named meter recorded
	// in the billing period.
	Usage
)

var chargeTypeNames = []string{ChargeUnspecified: "unspecified", OneTime: "one_time", Recurring: "recurring", Usage: "usage"}

// String returns the type's lowercase name, such as "one_time".
func (t ChargeType) String() string { return ensemble.EnumName(t, chargeTypeNames, "charge_type") }

// MarshalText writes the type's name; an undeclared type is an error.
func (t ChargeType) MarshalText() ([]byte, error) {
	return ensemble.EnumText(t, chargeTypeNames, "catalog", "charge type")
}

// UnmarshalText reads a type's name; "" is ChargeUnspecified.
func (t *ChargeType) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[ChargeType](b, chargeTypeNames, "catalog", "charge type")
	if err == nil {
		*t = v
	}
	return err
}

// Timing says whether a recurring charge is billed at the start of the cycle
// it pays for or at its end. The zero value is TimingUnspecified: a
// recurring charge must name its timing; usage charges are always in
// arrears and may leave it unspecified.
type Timing uint8

const (
	// TimingUnspecified is the zero value.
	TimingUnspecified Timing = iota
	// InAdvance bills a cycle when it starts.
	InAdvance
	// InArrears bills a cycle when it ends.
	InArrears
)

var timingNames = []string{TimingUnspecified: "unspecified", InAdvance: "in_advance", InArrears: "in_arrears"}

// String returns the timing's lowercase name, such as "in_advance".
func (t Timing) String() string { return ensemble.EnumName(t, timingNames, "timing") }

// MarshalText writes the timing's name; an undeclared timing is an error.
func (t Timing) MarshalText() ([]byte, error) {
	return ensemble.EnumText(t, timingNames, "catalog", "timing")
}

// UnmarshalText reads a timing's name; "" is TimingUnspecified.
func (t *Timing) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[Timing](b, timingNames, "catalog", "timing")
	if err == nil {
		*t = v
	}
	return err
}

// Model is a price model: how a quantity (or a transaction amount) becomes
// an amount. The zero value is ModelUnspecified, which validation rejects.
type Model uint8

const (
	// ModelUnspecified is the zero value and is invalid in a catalog.
	ModelUnspecified Model = iota
	// Flat bills Price.Amount once, whatever the quantity (zero included).
	Flat
	// PerUnit bills Price.Amount for every unit: quantity × amount.
	PerUnit
	// Graduated bills each tier's slice of the quantity at that tier's unit
	// amount, plus the flat amount of every tier the quantity reaches. A
	// tier with a Tier.BlockSize bills its slice in started blocks.
	Graduated
	// Volume bills the whole quantity at the unit amount of the tier the
	// quantity reaches, plus that tier's flat amount. A tier with a
	// Tier.BlockSize bills the quantity in started blocks.
	Volume
	// Package bills Price.Amount for every started (or, rounding down,
	// every complete) package of Price.PackageSize units.
	Package
	// Percentage bills Price.Rate of one transaction's amount plus
	// Price.FixedFee, bounded per transaction by Price.TransactionMinimum
	// and Price.TransactionMaximum.
	Percentage
	// GraduatedPercentage bills each tier's slice of a (cumulative)
	// transaction amount at that tier's rate, plus the flat amount of every
	// tier the amount reaches.
	GraduatedPercentage
)

var modelNames = []string{
	ModelUnspecified: "unspecified", Flat: "flat", PerUnit: "per_unit", Graduated: "graduated",
	Volume: "volume", Package: "package", Percentage: "percentage", GraduatedPercentage: "graduated_percentage",
}

// String returns the model's lowercase name, such as "graduated".
func (m Model) String() string { return ensemble.EnumName(m, modelNames, "model") }

// MarshalText writes the model's name; an undeclared model is an error.
func (m Model) MarshalText() ([]byte, error) {
	return ensemble.EnumText(m, modelNames, "catalog", "price model")
}

// UnmarshalText reads a model's name; "" is ModelUnspecified.
func (m *Model) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[Model](b, modelNames, "catalog", "price model")
	if err == nil {
		*m = v
	}
	return err
}

// tiered reports whether the model prices through Price.Tiers.
func (m Model) tiered() bool { return m == Graduated || m == Volume || m == GraduatedPercentage }

// PackageRounding says how a package price counts a partial package. The
// zero value is RoundUpPackages.
type PackageRounding uint8

const (
	// RoundUpPackages (the default) bills every started package:
	// ceil(quantity / size).
	RoundUpPackages PackageRounding = iota
	// RoundDownPackages bills complete packages only: floor(quantity / size).
	RoundDownPackages
)

var packageRoundingNames = []string{RoundUpPackages: "up", RoundDownPackages: "down"}

// String returns "up" or "down".
func (r PackageRounding) String() string {
	return ensemble.EnumName(r, packageRoundingNames, "package_rounding")
}

// MarshalText writes "up" or "down"; an undeclared value is an error.
func (r PackageRounding) MarshalText() ([]byte, error) {
	return ensemble.EnumText(r, packageRoundingNames, "catalog", "package rounding")
}

// UnmarshalText reads "up" or "down"; "" is RoundUpPackages.
func (r *PackageRounding) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[PackageRounding](b, packageRoundingNames, "catalog", "package rounding")
	if err == nil {
		*r = v
	}
	return err
}

// RoundingPolicy says where rating rounds to the currency's minor unit. The
// zero value is RoundPerLine.
type RoundingPolicy uint8

const (
	// RoundPerLine (the default) keeps full precision through every tier
	// and rounds the line total once, after the minimum and maximum spend.
	RoundPerLine RoundingPolicy = iota
	// RoundPerTier rounds each tier's subtotal (as OpenMeter does) and sums
	// the rounded subtotals; the spend bounds apply to that sum and the
	// total is rounded once more, which changes it only when a bound has
	// finer digits than the currency.
	RoundPerTier
	// RoundNone returns the exact, unrounded amount, for callers that
	// prorate or sum ratings before rounding once themselves.
	RoundNone
)

var roundingPolicyNames = []string{RoundPerLine: "per_line", RoundPerTier: "per_tier", RoundNone: "none"}

// String returns "per_line", "per_tier" or "none".
func (p RoundingPolicy) String() string {
	return ensemble.EnumName(p, roundingPolicyNames, "rounding_policy")
}

// MarshalText writes the policy's name; an undeclared policy is an error.
func (p RoundingPolicy) MarshalText() ([]byte, error) {
	return ensemble.EnumText(p, roundingPolicyNames, "catalog", "rounding policy")
}

// UnmarshalText reads a policy's name; "" is RoundPerLine.
func (p *RoundingPolicy) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[RoundingPolicy](b, roundingPolicyNames, "catalog", "rounding policy")
	if err == nil {
		*p = v
	}
	return err
}

// SpendAdjustment says where a rating's Line breakdown shows what the
// minimum or maximum spend changed. The zero value is SpendTotal.
type SpendAdjustment uint8

const (
	// SpendTotal (the default) reports the change as one amount,
	// Rating.Adjustment; every Line.Adjustment is zero.
	SpendTotal SpendAdjustment = iota
	// SpendPerTier also spreads the change over the breakdown, as
	// OpenMeter does with a maximum spend: the discount is cut from the
	// lines highest tier first, each line losing at most its subtotal, so
	// the lines below the cap keep their full amount. A minimum-spend
	// uplift is carried by the last line (the highest tier reached), which
	// OpenMeter bills as a line of its own. The Line.Adjustment values add
	// up to exactly Rating.Adjustment.
	SpendPerTier
)

var spendAdjustmentNames = []string{SpendTotal: "total", SpendPerTier: "per_tier"}

// String returns "total" or "per_tier".
func (s SpendAdjustment) String() string {
	return ensemble.EnumName(s, spendAdjustmentNames, "spend_adjustment")
}

// MarshalText writes "total" or "per_tier"; an undeclared value is an error.
func (s SpendAdjustment) MarshalText() ([]byte, error) {
	return ensemble.EnumText(s, spendAdjustmentNames, "catalog", "spend adjustment")
}

// UnmarshalText reads "total" or "per_tier"; "" is SpendTotal.
func (s *SpendAdjustment) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[SpendAdjustment](b, spendAdjustmentNames, "catalog", "spend adjustment")
	if err == nil {
		*s = v
	}
	return err
}

// SpendProration says what part of its minimum and maximum spend a usage
// charge owes for a usage period the item was in service for only part of
// (Price.SpendProration). The zero value is SpendWhole.
type SpendProration uint8

const (
	// SpendWhole (the default) owes the whole minimum and maximum spend for
	// a period the item was in service for part of (a first or last
	// period): a subscription starting on January 15 with a monthly EUR 5.00
	// minimum owes 5.00 for January 15-31. Pieces of a period cut where the
	// usage charge changes share it in proportion to their service.
	SpendWhole SpendProration = iota
	// SpendService owes the minimum and maximum spend times the item's
	// service in the billing cycle over the whole cycle, under the run's
	// proration basis, rounded once to the minor unit, as Lago prorates a
	// charge's minimum for a partial period: 5.00 × 17/31 = 2.74 for
	// January 15-31. A piece of a cycle cut where the usage charge changes
	// owes its own service over the whole cycle; a last period owes its
	// service up to where the item stops, when that stop was recorded by
	// the period's end (see the invoice package).
	SpendService
)

var spendProrationNames = []string{SpendWhole: "whole", SpendService: "service"}

// String returns "whole" or "service".
func (s SpendProration) String() string {
	return ensemble.EnumName(s, spendProrationNames, "spend_proration")
}

// MarshalText writes "whole" or "service"; an undeclared value is an
// error.
func (s SpendProration) MarshalText() ([]byte, error) {
	return ensemble.EnumText(s, spendProrationNames, "catalog", "spend proration")
}

// UnmarshalText reads "whole" or "service"; "" is SpendWhole.
func (s *SpendProration) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[SpendProration](b, spendProrationNames, "catalog", "spend proration")
	if err == nil {
		*s = v
	}
	return err
}

// FlatProration says whether a prorated volume price prorates its tier's
// flat amount along with its units (Rater.RateProrated, and recurring lines
// of the invoice package that cover part of a cycle). The zero value is
// FlatProrated.
type FlatProration uint8

const (
	// FlatProrated (the default) prorates the flat amount with the units:
	// a line covering a third of a cycle bills a third of both.
	FlatProrated FlatProration = iota
	// FlatWhole bills the tier's flat amount whole however little of the
	// period is billed, as Lago bills a prorated volume charge: only the
	// units are prorated.
	FlatWhole
)

var flatProrationNames = []string{FlatProrated: "prorated", FlatWhole: "whole"}

// String returns "prorated" or "whole".
func (f FlatProration) String() string {
	return ensemble.EnumName(f, flatProrationNames, "flat_proration")
}

// MarshalText writes "prorated" or "whole"; an undeclared value is an error.
func (f FlatProration) MarshalText() ([]byte, error) {
	return ensemble.EnumText(f, flatProrationNames, "catalog", "flat proration")
}

// UnmarshalText reads "prorated" or "whole"; "" is FlatProrated.
func (f *FlatProration) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[FlatProration](b, flatProrationNames, "catalog", "flat proration")
	if err == nil {
		*f = v
	}
	return err
}

// FlatAtZero says whether a tiered price bills its first tier's flat
// amount at a quantity of zero (Price.FlatAtZero). The zero value is
// FlatAtZeroBilled.
type FlatAtZero uint8

const (
	// FlatAtZeroBilled (the default) bills the first tier's flat amount at
	// zero: quantity zero is in the first tier, which it reaches, as
	// OpenMeter bills it. An idle usage period bills it.
	FlatAtZeroBilled FlatAtZero = iota
	// FlatAtZeroWaived bills nothing at a quantity of zero: the first
	// tier's flat amount is billed from the first unit, as Lago bills a
	// graduated or volume charge ("no usage, no fee"). A minimum spend
	// still applies.
	FlatAtZeroWaived
)

var flatAtZeroNames = []string{FlatAtZeroBilled: "billed", FlatAtZeroWaived: "waived"}

// String returns "billed" or "waived".
func (f FlatAtZero) String() string {
	return ensemble.EnumName(f, flatAtZeroNames, "flat_at_zero")
}

// MarshalText writes "billed" or "waived"; an undeclared value is an
// error.
func (f FlatAtZero) MarshalText() ([]byte, error) {
	return ensemble.EnumText(f, flatAtZeroNames, "catalog", "flat at zero")
}

// UnmarshalText reads "billed" or "waived"; "" is FlatAtZeroBilled.
func (f *FlatAtZero) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[FlatAtZero](b, flatAtZeroNames, "catalog", "flat at zero")
	if err == nil {
		*f = v
	}
	return err
}

// CostPer says what a component's fixed cost is owed for (WholesaleCost.Per).
type CostPer uint8

const (
	// CostPerUnit (the default) owes the fixed cost per bundle unit the
	// line bills: fixed × component quantity × the line's quantity.
	CostPerUnit CostPer = iota
	// CostPerLine owes it once per line of the charges it applies to,
	// whatever the line's quantity: fixed × component quantity (prorated
	// with the line, as a per-unit cost is). A supplier's flat monthly fee
	// on a bundle billed per seat, or a one-time setup cost on a setup fee
	// billed for several seats.
	CostPerLine
)

var costPerNames = []string{CostPerUnit: "unit", CostPerLine: "line"}

// String returns "unit" or "line".
func (p CostPer) String() string { return ensemble.EnumName(p, costPerNames, "cost_per") }

// MarshalText writes the name; an undeclared value is an error.
func (p CostPer) MarshalText() ([]byte, error) {
	return ensemble.EnumText(p, costPerNames, "catalog", "cost per")
}

// UnmarshalText reads a name; "" is CostPerUnit.
func (p *CostPer) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[CostPer](b, costPerNames, "catalog", "cost per")
	if err == nil {
		*p = v
	}
	return err
}

// CostShortfall says who bears a fixed cost a bundle line cannot carry
// (WholesaleCost.Shortfall): after a large discount, or on a free trial, a
// line may charge less than the fixed costs its suppliers are owed for it.
// The zero value, ShortfallError, makes such a line an invoice error (no
// contract is assumed); a bundle whose supplier agreed to share its
// discounts says ShortfallSupplier.
type CostShortfall uint8

const (
	// ShortfallError (the default) refuses to bill a line whose net
	// leaves a fixed cost uncovered: the invoice run fails with a
	// *invoice.CostShortfallError naming the line, the component, what it
	// is owed and what the line leaves, so that no supplier is paid less
	// than its contract says without a word. A platform that funds the
	// discount pays the supplier the difference itself (an adjustment in
	// package settlement) after declaring ShortfallSupplier.
	ShortfallError CostShortfall = iota
	// ShortfallSupplier cuts the cost to what the line leaves after its
	// ratio costs (the fixed costs sharing it in proportion to their
	// amounts) and records the cut (SupplierCost.Capped): the supplier
	// bears the discount with the seller. A free line owes it nothing.
	ShortfallSupplier
)

var costShortfallNames = []string{ShortfallError: "error", ShortfallSupplier: "supplier"}

// String returns "error" or "supplier".
func (s CostShortfall) String() string {
	return ensemble.EnumName(s, costShortfallNames, "cost_shortfall")
}

// MarshalText writes the name; an undeclared value is an error.
func (s CostShortfall) MarshalText() ([]byte, error) {
	return ensemble.EnumText(s, costShortfallNames, "catalog", "cost shortfall")
}

// UnmarshalText reads a name; "" is ShortfallError.
func (s *CostShortfall) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[CostShortfall](b, costShortfallNames, "catalog", "cost shortfall")
	if err == nil {
		*s = v
	}
	return err
}

// CostScope says which of a bundle's charges a component's wholesale cost
// applies to (see AppliesTo). The zero value is CostRecurring, the default a
// finance team expects: a one-time fee (onboarding, setup) carries no
// supplier cost unless the bundle says so.
type CostScope uint8

const (
	// CostRecurring (the default) applies the cost to the bundle's
	// recurring and usage charges, never to a one-time charge. A fixed
	// cost, owed per bundle unit, applies to the recurring charges only.
	CostRecurring CostScope = iota
	// CostAll applies the cost to every charge of the bundle, one-time
	// fees included. A fixed cost applies to the recurring and one-time
	// charges: a usage line bills no bundle units.
	CostAll
	// CostCharges applies the cost to the charges AppliesTo.Charges names,
	// and to no other.
	CostCharges
)

var costScopeNames = []string{CostRecurring: "recurring", CostAll: "all", CostCharges: "charges"}

// String returns the scope's lowercase name: "recurring", "all" or
// "charges".
func (s CostScope) String() string { return ensemble.EnumName(s, costScopeNames, "cost_scope") }

// MarshalText writes the scope's name; an undeclared scope is an error.
func (s CostScope) MarshalText() ([]byte, error) {
	return ensemble.EnumText(s, costScopeNames, "catalog", "cost scope")
}

// UnmarshalText reads a scope's name; "" is CostRecurring.
func (s *CostScope) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[CostScope](b, costScopeNames, "catalog", "cost scope")
	if err == nil {
		*s = v
	}
	return err
}

// QuantityKind says which quantities an order line of an offer may hold
// (Offer.Quantity). The zero value, QuantityAny, accepts any non-negative
// decimal within the offer's bounds, as catalogs always have: an offer
// counting things that only come whole (sites, seats, devices, licences)
// declares QuantityWhole, and a fractional quantity on its lines (12.5
// sites, from a typo or a CSV "12,5") is then refused instead of billed,
// and its suppliers paid, 12.5 times.
type QuantityKind uint8

const (
	// QuantityAny (the default) accepts fractional quantities (GB, hours).
	QuantityAny QuantityKind = iota
	// QuantityWhole accepts integers only ("12" or "12.00", not "12.5"):
	// Catalog.CheckQuantity and CheckAttach refuse a fraction with
	// ErrFractionalQuantity.
	QuantityWhole
)

var quantityKindNames = []string{QuantityAny: "any", QuantityWhole: "whole"}

// String returns "any" or "whole".
func (k QuantityKind) String() string {
	return ensemble.EnumName(k, quantityKindNames, "quantity_kind")
}

// MarshalText writes the name; an undeclared value is an error.
func (k QuantityKind) MarshalText() ([]byte, error) {
	return ensemble.EnumText(k, quantityKindNames, "catalog", "quantity kind")
}

// UnmarshalText reads a name; "" is QuantityAny. Another name is an
// *ensemble.EnumError.
func (k *QuantityKind) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[QuantityKind](b, quantityKindNames, "catalog", "quantity kind")
	if err == nil {
		*k = v
	}
	return err
}
