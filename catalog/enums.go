package catalog

import (
	"fmt"
	"strconv"
)

// enumName returns names[v], or kind(v) for a value outside the table.
func enumName[T ~uint8](v T, names []string, kind string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return kind + "(" + strconv.Itoa(int(v)) + ")"
}

// enumMarshal writes the name of a declared value and rejects any other.
func enumMarshal[T ~uint8](v T, names []string, kind string) ([]byte, error) {
	if int(v) >= len(names) {
		return nil, fmt.Errorf("catalog: unknown %s %d", kind, v)
	}
	return []byte(names[v]), nil
}

// enumParse reads a name from names; "" reads as the zero value.
func enumParse[T ~uint8](b []byte, names []string, kind string) (T, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for i, n := range names {
		if n == string(b) {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("catalog: unknown %s %q", kind, cut(string(b)))
}

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
func (k OfferKind) String() string { return enumName(k, offerKindNames, "offer_kind") }

// MarshalText writes the kind's name; an undeclared kind is an error.
func (k OfferKind) MarshalText() ([]byte, error) { return enumMarshal(k, offerKindNames, "offer kind") }

// UnmarshalText reads a kind's name; "" is Product.
func (k *OfferKind) UnmarshalText(b []byte) error {
	v, err := enumParse[OfferKind](b, offerKindNames, "offer kind")
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
func (t ChargeType) String() string { return enumName(t, chargeTypeNames, "charge_type") }

// MarshalText writes the type's name; an undeclared type is an error.
func (t ChargeType) MarshalText() ([]byte, error) {
	return enumMarshal(t, chargeTypeNames, "charge type")
}

// UnmarshalText reads a type's name; "" is ChargeUnspecified.
func (t *ChargeType) UnmarshalText(b []byte) error {
	v, err := enumParse[ChargeType](b, chargeTypeNames, "charge type")
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
func (t Timing) String() string { return enumName(t, timingNames, "timing") }

// MarshalText writes the timing's name; an undeclared timing is an error.
func (t Timing) MarshalText() ([]byte, error) { return enumMarshal(t, timingNames, "timing") }

// UnmarshalText reads a timing's name; "" is TimingUnspecified.
func (t *Timing) UnmarshalText(b []byte) error {
	v, err := enumParse[Timing](b, timingNames, "timing")
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
	// amount, plus the flat amount of every tier the quantity reaches.
	Graduated
	// Volume bills the whole quantity at the unit amount of the tier the
	// quantity reaches, plus that tier's flat amount.
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
func (m Model) String() string { return enumName(m, modelNames, "model") }

// MarshalText writes the model's name; an undeclared model is an error.
func (m Model) MarshalText() ([]byte, error) { return enumMarshal(m, modelNames, "price model") }

// UnmarshalText reads a model's name; "" is ModelUnspecified.
func (m *Model) UnmarshalText(b []byte) error {
	v, err := enumParse[Model](b, modelNames, "price model")
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
	return enumName(r, packageRoundingNames, "package_rounding")
}

// MarshalText writes "up" or "down"; an undeclared value is an error.
func (r PackageRounding) MarshalText() ([]byte, error) {
	return enumMarshal(r, packageRoundingNames, "package rounding")
}

// UnmarshalText reads "up" or "down"; "" is RoundUpPackages.
func (r *PackageRounding) UnmarshalText(b []byte) error {
	v, err := enumParse[PackageRounding](b, packageRoundingNames, "package rounding")
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
func (p RoundingPolicy) String() string { return enumName(p, roundingPolicyNames, "rounding_policy") }

// MarshalText writes the policy's name; an undeclared policy is an error.
func (p RoundingPolicy) MarshalText() ([]byte, error) {
	return enumMarshal(p, roundingPolicyNames, "rounding policy")
}

// UnmarshalText reads a policy's name; "" is RoundPerLine.
func (p *RoundingPolicy) UnmarshalText(b []byte) error {
	v, err := enumParse[RoundingPolicy](b, roundingPolicyNames, "rounding policy")
	if err == nil {
		*p = v
	}
	return err
}
