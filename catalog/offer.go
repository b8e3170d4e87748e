package catalog

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// OfferID identifies an offer across its versions. It is compared byte-wise;
// the empty ID is invalid, as are IDs holding '/', '@' or white space (Refs
// join IDs with those characters).
type OfferID string

// ChargeID identifies a charge inside an offer version; the same rules as
// OfferID apply.
type ChargeID string

// Pin names one version of an offer. An order line stores the Pin it was
// quoted on, so that its price never changes: Catalog.Offer finds a pinned
// version after newer versions are published and after it is retired.
type Pin struct {
	Offer   OfferID `json:"offer"`
	Version int     `json:"version"`
}

// String writes the pin as "offer@version".
func (p Pin) String() string { return string(p.Offer) + "@" + strconv.Itoa(p.Version) }

// The kinds of ensemble.Ref this package hands out for traces. Every Ref
// carries the offer version as its Version.
const (
	// RefOffer points at an offer version: ID is the OfferID.
	RefOffer ensemble.RefKind = "offer"
	// RefCharge points at a charge of an offer version: ID is
	// "offer/charge".
	RefCharge ensemble.RefKind = "charge"
	// RefPrice points at the price a charge had in an offer version (the
	// price a Rating was computed with): ID is "offer/charge".
	RefPrice ensemble.RefKind = "price"
	// RefComponent points at a bundle component: ID is
	// "bundle/component-offer/supplier".
	RefComponent ensemble.RefKind = "bundle_component"
)

// Ref returns the trace reference of the pinned offer version.
func (p Pin) Ref() ensemble.Ref {
	return ensemble.Ref{Kind: RefOffer, ID: string(p.Offer), Version: strconv.Itoa(p.Version)}
}

// ChargeRef returns the trace reference of charge c in the pinned offer
// version.
func (p Pin) ChargeRef(c ChargeID) ensemble.Ref {
	return ensemble.Ref{Kind: RefCharge, ID: string(p.Offer) + "/" + string(c), Version: strconv.Itoa(p.Version)}
}

// PriceRef returns the trace reference of the price of charge c in the
// pinned offer version.
func (p Pin) PriceRef(c ChargeID) ensemble.Ref {
	return ensemble.Ref{Kind: RefPrice, ID: string(p.Offer) + "/" + string(c), Version: strconv.Itoa(p.Version)}
}

// ComponentRef returns the trace reference of the bundle component that
// supplier supplies as offer component in the pinned bundle version.
func (p Pin) ComponentRef(component OfferID, supplier string) ensemble.Ref {
	return ensemble.Ref{
		Kind:    RefComponent,
		ID:      string(p.Offer) + "/" + string(component) + "/" + supplier,
		Version: strconv.Itoa(p.Version),
	}
}

// Document is a whole catalog as it is written, read and stored: every
// version of every offer. New validates and compiles it into a Catalog;
// Catalog.Document returns it sorted by offer ID, then version.
type Document struct {
	// Units declares the units beyond ISO 4217 (credits, tokens, gems) that
	// offers are priced in. An offer names one by its bare code ("GEMS") or
	// with its digits ("GEMS:0"), which must match the declaration; a unit
	// not declared here is refused, so a mistyped code never loads. A host
	// with its own ensemble.Units registry checks a catalog's currencies
	// against it with Units.Check.
	Units  []ensemble.Unit `json:"units,omitempty"`
	Offers []Offer         `json:"offers"`
}

// Offer is one version of something sold. Versions of one offer share its
// ID and have effective periods that do not overlap; the version in force at
// an instant is the one whose [EffectiveFrom, EffectiveUntil) holds it.
//
// Amounts inside an offer (prices, fees, spend bounds, wholesale costs) are
// decimals in the offer's Currency; they may carry more digits than its
// minor unit (a unit price of 0.00013 per GB is legal).
//
// An offer may be priced in further currencies (a price book per currency,
// as Stripe's currency_options on a price): Currencies lists them, and each
// charge gives its price in each of them (Charge.Prices), each amount
// written in that currency as it is billed, never converted. A fixed
// wholesale cost in the bundle's currency gives its amount in each too
// (WholesaleCost.FixedIn). An order or subscription in one of the offer's
// currencies bills that currency's prices; one in a currency the offer
// does not price is a *CurrencyError.
type Offer struct {
	// ID names the offer across its versions.
	ID OfferID `json:"id"`
	// Version numbers this version, from 1.
	Version int `json:"version"`
	// Name is the human-readable name.
	Name string `json:"name,omitempty"`
	// Kind says whether this is a product, a bundle or an add-on.
	Kind OfferKind `json:"kind"`
	// Currency is the currency every amount of the offer is in: an ISO 4217
	// code of a legal-tender currency, or a unit the document declares in
	// Units. New stores its key ("EUR", "GEMS:0"). Required (ErrRequired);
	// one neither ISO 4217 nor declared is ErrUnknownCurrency.
	Currency string `json:"currency"`
	// Currencies are the further currencies the offer is priced in, beyond
	// Currency (empty: Currency only, as before price books): ISO 4217
	// codes or units the document declares, none twice nor Currency
	// itself. Every charge gives its price in each (Charge.Prices), and
	// every fixed wholesale cost in the bundle's currency its amount in
	// each (WholesaleCost.FixedIn); one missing is ErrMissingPrice naming
	// the charge (or component) and the currency. New stores their keys,
	// sorted.
	Currencies []string `json:"currencies,omitempty"`
	// EffectiveFrom is the first instant this version can be sold.
	EffectiveFrom time.Time `json:"effective_from"`
	// EffectiveUntil ends the effective period (exclusive); zero means open.
	// Retiring a version sets it; pinned orders still resolve the version.
	EffectiveUntil time.Time `json:"effective_until,omitzero"`
	// Category groups offers for reporting and rules, such as "storage".
	Category string `json:"category,omitempty"`
	// Attributes are free-form key/value facts that rules may read.
	Attributes map[string]string `json:"attributes,omitempty"`
	// MinQuantity is the least quantity an order line may hold (0: none).
	// For an add-on it is the least quantity per base offer.
	MinQuantity decimal.Decimal `json:"min_quantity,omitzero"`
	// MaxQuantity is the greatest quantity an order line may hold (0: no
	// maximum). For an add-on it is the greatest quantity per base offer.
	MaxQuantity decimal.Decimal `json:"max_quantity,omitzero"`
	// Quantity says which quantities a line may hold: QuantityAny (the
	// default, "any" or absent) any decimal within the bounds, QuantityWhole
	// ("whole") integers only, for things that only come whole (sites,
	// seats, devices, licences). It bounds the order line's quantity (and
	// an add-on's per base offer), never a usage charge's metered quantity.
	Quantity QuantityKind `json:"quantity,omitempty"`
	// Charges are what the offer bills. A bundle may have its own charges;
	// its components are priced by the bundle, not by their own offers.
	Charges []Charge `json:"charges,omitempty"`
	// Components are the parts of a bundle (Kind Bundle only).
	Components []Component `json:"components,omitempty"`
	// AttachesTo lists the offers an add-on may be attached to (Kind AddOn
	// only).
	AttachesTo []OfferID `json:"attaches_to,omitempty"`
}

// Pin returns the offer's ID and version.
func (o *Offer) Pin() Pin { return Pin{Offer: o.ID, Version: o.Version} }

// InForce reports whether at lies in the version's effective period.
func (o *Offer) InForce(at time.Time) bool {
	return !at.Before(o.EffectiveFrom) && (o.EffectiveUntil.IsZero() || at.Before(o.EffectiveUntil))
}

// Charge is one thing an offer bills for: once, every cycle, or per use.
type Charge struct {
	// ID names the charge inside its offer.
	ID ChargeID `json:"id"`
	// Name is the human-readable name, such as "Storage (GB-month)".
	Name string `json:"name,omitempty"`
	// Type says whether the charge is one-time, recurring or usage.
	Type ChargeType `json:"type"`
	// Cadence is the billing cycle of a recurring charge, and optionally the
	// rating period of a usage charge (zero: the invoice's period).
	Cadence ensemble.Cadence `json:"cadence,omitzero"`
	// Timing says whether a recurring charge bills in advance or in
	// arrears. Usage charges bill in arrears.
	Timing Timing `json:"timing,omitempty"`
	// Meter names the usage meter (a key of the usage package) that feeds a
	// usage charge.
	Meter string `json:"meter,omitempty"`
	// AttributeTo names the usage record attribute that says whose usage a
	// record is (such as "contractor": the partner who did the hours), on
	// a usage charge only; empty: the usage is nobody's in particular. The
	// meter must keep its quantity per value of that attribute
	// (usage.Meter.AttributeTo, the same name). The charge is rated on the
	// period's whole quantity, as the customer's contract prices it (tiers,
	// free units, minimum and maximum spend apply to the charge as a
	// whole), and the amount is then allocated over the attribute's values
	// in proportion to their quantities: the invoice bills one line per
	// value (invoice.Line.Attribution), which settlement can pay to the
	// partner the value names (a plan node's party "attributed"). It
	// follows the id grammar of the root package doc.
	AttributeTo string `json:"attribute_to,omitempty"`
	// Price is how the charge turns a quantity into an amount, in the
	// offer's Currency.
	Price Price `json:"price"`
	// Prices are the charge's price in each of the offer's further
	// Currencies, keyed by currency: every amount (unit and package
	// amounts, tiers and their flat amounts, fixed fees, transaction and
	// spend bounds) written in that currency, in its own minor units (a
	// JPY price in yen, a BHD one with three decimals), billed as written.
	// A price's tiers, free units and package size may differ from
	// Price's; its model may be left out and is Price's (a different one
	// is ErrFieldNotAllowed). The amounts billed as written (a flat
	// price's amount, tiers' flat amounts, fixed fees, transaction and
	// spend bounds) must be whole minor units of the currency
	// (ensemble.ErrNotMinorUnits); unit and package amounts may carry more
	// digits. A key the offer does not list is
	// ErrFieldNotAllowed; a currency it lists with no price here is
	// ErrMissingPrice. A spend or transaction bound, fixed fee or free
	// units that Price sets is not inherited (amounts are per currency):
	// each price here states its own (non-zero), or is ErrMissingBound. New stores the keys as currency keys ("JPY",
	// "GEMS:0") and fills in the model.
	//
	//	price:  {model: per_unit, amount: "100.00"}
	//	prices: {JPY: {amount: "16000"}, BHD: {amount: "38.500"}}
	Prices map[string]Price `json:"prices,omitempty"`
}

// Price is a price model with its parameters. Which fields apply depends on
// Model; validation rejects a field set for a model that does not use it.
// All amounts are in the currency of the price (the offer's Currency for
// Charge.Price, the key's for an entry of Charge.Prices), per unit of
// quantity unless said otherwise.
type Price struct {
	// Model is the price model.
	Model Model `json:"model"`
	// Amount is the flat amount (Flat), the unit amount (PerUnit) or the
	// amount per package (Package).
	Amount decimal.Decimal `json:"amount,omitzero"`
	// Tiers are the tiers of Graduated, Volume and GraduatedPercentage
	// prices, in increasing order; only the last one is open.
	Tiers []Tier `json:"tiers,omitempty"`
	// PackageSize is the number of units in one package (Package; > 0).
	PackageSize decimal.Decimal `json:"package_size,omitzero"`
	// PackageRounding says whether a partial package is billed (Package).
	PackageRounding PackageRounding `json:"package_rounding,omitempty"`
	// Rate is the share of the transaction amount billed (Percentage), such
	// as "2.9%". It must be a terminating decimal.
	Rate ensemble.Ratio `json:"rate,omitzero"`
	// FixedFee is added to every transaction (Percentage).
	FixedFee decimal.Decimal `json:"fixed_fee,omitzero"`
	// TransactionMinimum is the least a transaction is billed (Percentage;
	// 0: none).
	TransactionMinimum decimal.Decimal `json:"transaction_minimum,omitzero"`
	// TransactionMaximum is the most a transaction is billed (Percentage;
	// 0: no maximum).
	TransactionMaximum decimal.Decimal `json:"transaction_maximum,omitzero"`
	// FreeUnits are subtracted from the quantity before it is priced
	// (PerUnit, Graduated, Volume, Package, GraduatedPercentage), so a
	// volume price picks its tier from the billable quantity.
	FreeUnits decimal.Decimal `json:"free_units,omitzero"`
	// MinimumSpend is the least the charge bills per period (0: none). It
	// lifts the amount of a final rating, never of an interim one.
	MinimumSpend decimal.Decimal `json:"minimum_spend,omitzero"`
	// MaximumSpend is the most the charge bills per period (0: no maximum).
	MaximumSpend decimal.Decimal `json:"maximum_spend,omitzero"`
	// SpendAdjustment says whether the minimum or maximum spend is also
	// spread over the breakdown's lines (SpendPerTier, as OpenMeter cuts a
	// maximum spend from the tier lines, highest tier first) or only
	// reported as Rating.Adjustment (SpendTotal, the default). Not
	// Percentage.
	SpendAdjustment SpendAdjustment `json:"spend_adjustment,omitempty"`
	// SpendProration says what a usage period the item was in service for
	// only part of (a first or last period) owes of the minimum and maximum
	// spend: the whole (SpendWhole, the default) or the part the item was
	// in service (SpendService, as Lago prorates a charge's minimum). Usage
	// charges with a minimum or maximum spend only.
	SpendProration SpendProration `json:"spend_proration,omitempty"`
	// FlatProration says whether a prorated rating of a Volume price
	// prorates the tier's flat amount with its units (FlatProrated, the
	// default) or bills it whole (FlatWhole, as Lago does). See
	// Rater.RateProrated. Volume only.
	FlatProration FlatProration `json:"flat_proration,omitempty"`
	// FlatAtZero says whether a quantity of zero bills the first tier's
	// flat amount (FlatAtZeroBilled, the default, as OpenMeter) or nothing
	// (FlatAtZeroWaived, as Lago: the flat amount from the first unit). A
	// minimum spend applies either way. Tiered models only (Graduated,
	// GraduatedPercentage, Volume).
	FlatAtZero FlatAtZero `json:"flat_at_zero,omitempty"`
}

// Tier is one tier of a tiered price. A tier covers quantities in
// (previous UpTo, UpTo]: UpTo is inclusive, and the first tier starts above
// zero (quantity zero is in the first tier). A nil UpTo makes the tier open;
// only the last tier is open, and the last tier must be.
type Tier struct {
	// UpTo is the inclusive upper bound of the tier; nil for the open tier.
	UpTo *decimal.Decimal `json:"up_to,omitempty"`
	// UnitAmount is the amount per unit in the tier (Graduated, Volume).
	UnitAmount decimal.Decimal `json:"unit_amount,omitzero"`
	// Rate is the share of the amount in the tier (GraduatedPercentage),
	// such as "1.5%"; a terminating decimal.
	Rate ensemble.Ratio `json:"rate,omitzero"`
	// FlatAmount is billed once when the quantity reaches the tier. The
	// first tier is reached at quantity zero, so its flat amount is billed
	// even when nothing is used (as OpenMeter bills it), unless the price
	// waives it at zero (Price.FlatAtZero, as Lago bills it).
	FlatAmount decimal.Decimal `json:"flat_amount,omitzero"`
	// BlockSize, when above zero, bills the tier in blocks of BlockSize
	// units, a started block billed whole, and UnitAmount is then the
	// amount per block (Kill Bill's tiered blocks). A graduated price bills
	// ceil(slice / BlockSize) blocks of each tier's slice (Kill Bill's
	// ALL_TIERS), a volume price ceil(quantity / BlockSize) blocks of the
	// tier the quantity reaches (TOP_TIER). Zero (the default) bills units.
	// Graduated and Volume only.
	BlockSize decimal.Decimal `json:"block_size,omitzero"`
}

// Component is one part of a bundle: another offer, supplied by a supplier
// partner at a wholesale cost, so that the margin of a B2B2X sale is known.
type Component struct {
	// Offer is the component offer (a product or bundle of the catalog).
	Offer OfferID `json:"offer"`
	// Supplier is the partner ID (package partner) who supplies it.
	Supplier string `json:"supplier"`
	// Quantity is how many of the component one bundle unit holds (0
	// means 1).
	Quantity decimal.Decimal `json:"quantity,omitzero"`
	// Cost is what the supplier is owed for it.
	Cost WholesaleCost `json:"cost"`
}

// WholesaleCost is what a supplier is owed for a bundle component: a fixed
// amount per component unit, or a ratio of the bundle line's retail amount,
// on the bundle's charges AppliesTo names. At most one of Fixed and Ratio is
// set; neither means the component costs nothing.
//
// By default (AppliesTo zero, CostRecurring) a ratio cost is a share of the
// bundle's recurring and usage lines and a fixed cost is owed on its
// recurring lines; a one-time fee carries no supplier cost unless AppliesTo
// says so (CostAll, or the fee's charge named). On a bundle with several
// recurring charges a fixed cost names the charges it applies to
// (ErrAmbiguousCost): owed on each, it would pay the supplier once per
// charge. See the package
// documentation, "Bundle costs".
type WholesaleCost struct {
	// Fixed is an amount per component unit, in Currency (the bundle's
	// currency when Currency is empty): owed per bundle unit a line bills,
	// or once per line (Per).
	Fixed decimal.Decimal `json:"fixed,omitzero"`
	// FixedIn is a fixed cost in the bundle's currency (Currency empty)
	// in each of the bundle's further currencies (Offer.Currencies),
	// keyed by currency: a line billed in one of them owes the supplier
	// that amount, in that currency, never a conversion of Fixed. Required
	// for each further currency (ErrMissingPrice); not allowed on a ratio
	// cost, on a cost with its own Currency (owed in that currency and
	// converted at the run's rate to the line's, whatever the line's
	// currency) or on a bundle priced in one currency.
	FixedIn map[string]decimal.Decimal `json:"fixed_in,omitempty"`
	// Per says what a fixed cost is owed for: each bundle unit a line
	// bills (CostPerUnit, the default: a per-seat license on a line of 10
	// seats is owed 10 times), or each line, whatever its quantity
	// (CostPerLine: a supplier's flat monthly fee, owed once a month on a
	// bundle of 10 seats). Not allowed on a ratio cost.
	Per CostPer `json:"per,omitzero"`
	// Ratio is a share of the retail amount, such as "40%" or "1/3".
	Ratio ensemble.Ratio `json:"ratio,omitzero"`
	// Currency is the currency of Fixed when the supplier is owed it in
	// another currency than the bundle's (an ISO 4217 code or a unit the
	// document declares); empty means the bundle's. Such a cost is
	// converted at the exchange rate the host gives (CostOptions.Rates),
	// never at a default. Not allowed on a ratio cost.
	Currency string `json:"currency,omitempty"`
	// AppliesTo says which of the bundle's charges the cost applies to:
	// "recurring" (the default), "all", or a list of charge ids.
	AppliesTo AppliesTo `json:"applies_to,omitzero"`
	// Shortfall says who bears a fixed cost a line's net cannot carry
	// after a large discount or on a free line: by default no one, and
	// billing such a line is an error (ShortfallError); "supplier" cuts
	// the cost to what the line leaves (ShortfallSupplier). Not allowed on
	// a ratio cost, which is a share of the net and always fits in it.
	Shortfall CostShortfall `json:"shortfall,omitzero"`
}

// AppliesTo says which of a bundle's charges a component's wholesale cost
// applies to. The zero value is CostRecurring. In a document it is written
// as a scope name or as a list of the bundle's charge ids:
//
//	cost: {ratio: "55%"}                            # recurring and usage charges (the default)
//	cost: {ratio: "55%", applies_to: recurring}     # the same, said explicitly
//	cost: {ratio: "55%", applies_to: all}           # every charge, one-time fees too
//	cost: {ratio: "55%", applies_to: [compute, onboarding]}
//
// A charge id the bundle lacks is a validation error naming the bundle, the
// component and the charge (ErrUnknownCharge).
type AppliesTo struct {
	// Scope is CostRecurring, CostAll or CostCharges.
	Scope CostScope
	// Charges are the charges a CostCharges scope names; empty otherwise.
	Charges []ChargeID
}

// IsZero reports whether a is the default scope, CostRecurring.
func (a AppliesTo) IsZero() bool { return a.Scope == CostRecurring && len(a.Charges) == 0 }

// String returns "recurring", "all", or the charges named between
// brackets: "[compute onboarding]".
func (a AppliesTo) String() string {
	if a.Scope != CostCharges {
		return a.Scope.String()
	}
	ids := make([]string, len(a.Charges))
	for i, id := range a.Charges {
		ids[i] = string(id)
	}
	return "[" + strings.Join(ids, " ") + "]"
}

// Includes reports whether the scope takes in a charge of type typ with id
// id, for a cost that is fixed (owed per bundle unit) or a ratio. A fixed
// cost never applies to a usage charge: a usage line bills no bundle units.
func (a AppliesTo) Includes(id ChargeID, typ ChargeType, fixed bool) bool {
	if fixed && typ == Usage {
		return false
	}
	switch a.Scope {
	case CostRecurring:
		return typ == Recurring || typ == Usage
	case CostAll:
		return true
	case CostCharges:
		return slices.Contains(a.Charges, id)
	}
	return false
}

// MarshalJSON writes the scope's name, or the list of charges a
// CostCharges scope names. An undeclared scope is an error.
func (a AppliesTo) MarshalJSON() ([]byte, error) {
	if a.Scope == CostCharges {
		ids := a.Charges
		if ids == nil {
			ids = []ChargeID{}
		}
		return json.Marshal(ids)
	}
	name, err := a.Scope.MarshalText()
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(name))
}

// UnmarshalJSON reads a scope's name ("recurring", "all") or a list of
// charge ids (CostCharges). Anything else, null included, is an
// *ensemble.EnumError.
func (a *AppliesTo) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var name string
		if err := json.Unmarshal(b, &name); err != nil {
			return err
		}
		var s CostScope
		if err := s.UnmarshalText([]byte(name)); err != nil {
			return err
		}
		*a = AppliesTo{Scope: s}
		return nil
	case len(b) > 0 && b[0] == '[':
		var ids []ChargeID
		if err := json.Unmarshal(b, &ids); err != nil {
			return err
		}
		if ids == nil {
			ids = []ChargeID{}
		}
		*a = AppliesTo{Scope: CostCharges, Charges: ids}
		return nil
	}
	return &ensemble.EnumError{Package: "catalog", Kind: "applies_to", Text: cut(string(b)),
		Hint: "want recurring, all or a list of the bundle's charge ids"}
}
