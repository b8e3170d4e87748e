package catalog

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// Conditions that catalog errors wrap; match them with errors.Is. Validation
// problems arrive as *OfferError values inside an *ensemble.ValidationError.
var (
	// ErrRequired reports a field that must be set and is not.
	ErrRequired = errors.New("catalog: required")
	// ErrInvalidID reports an ID the library's id grammar refuses (see
	// ensemble.CheckID): empty, white space, or a separator of
	// ensemble.RefSeparators. It wraps the *ensemble.IDError.
	ErrInvalidID = errors.New("catalog: invalid id")
	// ErrDuplicate reports an ID (or offer version) declared twice.
	ErrDuplicate = errors.New("catalog: duplicate")
	// ErrUnknownCurrency reports a currency that is neither an ISO 4217
	// legal-tender code nor a unit the document declares in Units. An
	// offer (or price) with no currency at all is ErrRequired instead.
	ErrUnknownCurrency = errors.New("catalog: unknown currency")
	// ErrNegative reports an amount, quantity or ratio below zero.
	ErrNegative = errors.New("catalog: negative")
	// ErrOutOfRange reports a decimal with more than 40 digits or an
	// exponent beyond ±40, or another value outside its allowed range.
	ErrOutOfRange = errors.New("catalog: out of range")
	// ErrTierOrder reports tier bounds that are not strictly increasing.
	ErrTierOrder = errors.New("catalog: tiers not strictly increasing")
	// ErrOpenTier reports an open tier (no up_to) that is not the last
	// one, or a last tier that is not open.
	ErrOpenTier = errors.New("catalog: only the last tier is open")
	// ErrPackageSize reports a package price whose size is not above zero.
	ErrPackageSize = errors.New("catalog: package size must be above zero")
	// ErrSpendBounds reports a minimum above its maximum (spend, per
	// transaction or quantity).
	ErrSpendBounds = errors.New("catalog: minimum above maximum")
	// ErrNotTerminating reports a rate that has no finite decimal form
	// (1/3), which a price cannot bill exactly.
	ErrNotTerminating = errors.New("catalog: rate is not a terminating decimal")
	// ErrFieldNotAllowed reports a field set where its model or kind does
	// not use it.
	ErrFieldNotAllowed = errors.New("catalog: field not allowed here")
	// ErrOverlap reports two versions of an offer whose effective periods
	// overlap.
	ErrOverlap = errors.New("catalog: version periods overlap")
	// ErrPeriod reports an effective period that ends before it starts.
	ErrPeriod = errors.New("catalog: effective period ends before it starts")
	// ErrCycle reports a bundle that contains itself, directly or not.
	ErrCycle = errors.New("catalog: bundle cycle")
	// ErrMissingOffer reports a reference to an offer the catalog lacks.
	ErrMissingOffer = errors.New("catalog: missing offer")
	// ErrNotAttachable reports an add-on attached to an offer it does not
	// name, or naming an add-on as its base.
	ErrNotAttachable = errors.New("catalog: add-on not attachable")
	// ErrRatioSum reports bundle components whose retail ratios, on one
	// of the bundle's charges, add up to more than 1.
	ErrRatioSum = errors.New("catalog: component ratios exceed the retail amount")
	// ErrUnknownCharge reports a component cost whose applies_to names a
	// charge the bundle does not have.
	ErrUnknownCharge = errors.New("catalog: applies_to names a charge the bundle lacks")
	// ErrAmbiguousCost reports a fixed component cost on a bundle with
	// several recurring charges that does not name the charges it applies
	// to: owed per bundle unit per cycle, it would be owed once on each
	// recurring charge, paying the supplier several times over.
	ErrAmbiguousCost = errors.New("catalog: a fixed cost on several recurring charges must name those it applies to")

	// ErrNotFound reports a lookup of an offer, version or charge the
	// catalog does not hold.
	ErrNotFound = errors.New("catalog: not found")
	// ErrNotInForce reports that no version of an offer is in force at the
	// instant asked for.
	ErrNotInForce = errors.New("catalog: no version in force")
	// ErrNegativeQuantity reports a negative quantity or transaction amount
	// passed to rating.
	ErrNegativeQuantity = errors.New("catalog: negative quantity")
	// ErrQuantity reports a quantity outside an offer's minimum and
	// maximum.
	ErrQuantity = errors.New("catalog: quantity outside the offer's bounds")
	// ErrFractionalQuantity reports a quantity with a fraction (12.5) for
	// an offer that counts whole units (Offer.Quantity QuantityWhole).
	ErrFractionalQuantity = errors.New("catalog: quantity must be a whole number")
	// ErrCurrency reports an amount in a currency other than the offer's,
	// or a currency the offer is not priced in (a *CurrencyError names the
	// offer and its currencies).
	ErrCurrency = errors.New("catalog: currency differs from the offer's")
	// ErrMissingPrice reports a charge (or a bundle component's fixed
	// cost) with no price in one of the currencies its offer lists
	// (Offer.Currencies); the problem names the charge or component and
	// the currency.
	ErrMissingPrice = errors.New("catalog: no price in a currency the offer lists")
	// ErrMissingBound reports a charge's price in one of the offer's
	// further currencies (Charge.Prices) that leaves out a spend or
	// transaction bound, a fixed fee or free units the charge's Price
	// sets: amounts are per currency, so none is inherited, and left out
	// it would bill that currency's customers uncapped, with no minimum,
	// fee or free allowance. The problem names the offer and the charge,
	// its path the currency and the field, its value the currency.
	ErrMissingBound = errors.New("catalog: a price book entry leaves out what the charge's price sets")
	// ErrModel reports a rating the price's model does not offer, such as
	// RateProrated on a price that is not Volume.
	ErrModel = errors.New("catalog: not offered by the price model")
	// ErrNoRate reports a supplier cost in another currency than the
	// bundle's with no exchange rate given for the pair (a *RateError names
	// it); it is ensemble.ErrNoRate.
	ErrNoRate = ensemble.ErrNoRate
	// ErrRate reports an exchange rate that cannot be used: not above zero,
	// between a currency and itself, or given twice for one pair; it is
	// ensemble.ErrRate.
	ErrRate = ensemble.ErrRate
)

// RateError reports an exchange rate that is missing (ErrNoRate) or unusable
// (ErrRate), naming the currency pair (one unit of From is worth the rate in
// To) and, from SupplierCosts, the bundle component whose cost needed it.
type RateError struct {
	Offer     OfferID // the bundle; empty outside SupplierCosts
	Version   int
	Component string // "offer/supplier" of the component; empty outside SupplierCosts
	From      ensemble.Currency
	To        ensemble.Currency
	At        time.Time // the instant the rate was asked for (CostOptions.At); zero when none
	Value     string    // what is wrong with the rate given; empty for ErrNoRate
	Err       error
}

// Error writes `catalog: offer "x"@1 component "gpu/gpuco": no exchange rate
// from USD to EUR` or `catalog: invalid exchange rate from USD to EUR:
// <value>`.
func (e *RateError) Error() string {
	var b strings.Builder
	b.WriteString("catalog: ")
	if e.Offer != "" {
		b.WriteString("offer ")
		b.WriteString(strconv.Quote(string(e.Offer)))
		b.WriteByte('@')
		b.WriteString(strconv.Itoa(e.Version))
		if e.Component != "" {
			b.WriteString(" component ")
			b.WriteString(strconv.Quote(e.Component))
		}
		b.WriteString(": ")
	}
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "ensemble: "))
	b.WriteString(" from " + e.From.Code() + " to " + e.To.Code())
	if !e.At.IsZero() && errors.Is(e.Err, ErrNoRate) {
		b.WriteString(" in force at " + e.At.UTC().Format(time.RFC3339))
	}
	if e.Value != "" {
		b.WriteString(": " + cut(e.Value))
	}
	return b.String()
}

// Unwrap returns the condition.
func (e *RateError) Unwrap() error { return e.Err }

// OfferError is one problem in an offer: which offer version (and charge,
// when inside one), the offending value as text, and the condition (such as
// ErrTierOrder) that errors.Is matches. NewRater reports problems of a
// price outside any offer with an empty Offer and a zero Version.
type OfferError struct {
	Offer     OfferID
	Version   int
	Component string   // "offer/supplier" of the bundle component concerned; empty when none
	Charge    ChargeID // the charge the problem is inside, or that a component names; empty when none
	Value     string   // the offending value, cut to 64 bytes; may be empty
	Err       error

	priceOnly bool // reported by NewRater, outside any offer
}

// Error writes `catalog: offer "x"@2 charge "c": <condition>: <value>`, with
// ` component "offer/supplier"` before the charge when the problem is a
// bundle component's.
func (e *OfferError) Error() string {
	var b strings.Builder
	b.WriteString("catalog: ")
	if !e.priceOnly {
		b.WriteString("offer ")
		b.WriteString(strconv.Quote(string(e.Offer)))
		b.WriteByte('@')
		b.WriteString(strconv.Itoa(e.Version))
	} else {
		b.WriteString("price")
	}
	if e.Component != "" {
		b.WriteString(" component ")
		b.WriteString(strconv.Quote(e.Component))
	}
	if e.Charge != "" {
		b.WriteString(" charge ")
		b.WriteString(strconv.Quote(string(e.Charge)))
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "catalog: "))
	if e.Value != "" {
		b.WriteString(": ")
		b.WriteString(strconv.Quote(cut(e.Value)))
	}
	return b.String()
}

// Unwrap returns the condition.
func (e *OfferError) Unwrap() error { return e.Err }

// LookupError reports an offer, version or charge the catalog cannot
// resolve. It wraps ErrNotFound or ErrNotInForce.
type LookupError struct {
	Offer   OfferID
	Version int       // 0 when the lookup was by instant
	Charge  ChargeID  // empty unless a charge was asked for
	At      time.Time // zero unless the lookup was by instant
	Err     error
}

// Error writes `catalog: offer "x"@2 charge "c": not found`.
func (e *LookupError) Error() string {
	var b strings.Builder
	b.WriteString("catalog: offer ")
	b.WriteString(strconv.Quote(string(e.Offer)))
	if e.Version != 0 {
		b.WriteByte('@')
		b.WriteString(strconv.Itoa(e.Version))
	}
	if !e.At.IsZero() {
		b.WriteString(" at ")
		b.WriteString(e.At.UTC().Format(time.RFC3339Nano))
	}
	if e.Charge != "" {
		b.WriteString(" charge ")
		b.WriteString(strconv.Quote(string(e.Charge)))
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "catalog: "))
	return b.String()
}

// Unwrap returns the condition.
func (e *LookupError) Unwrap() error { return e.Err }

// CurrencyError reports a currency an offer version is not priced in: an
// order line, a subscription or a supplier cost's retail amount in it. It
// wraps ErrCurrency and names the currencies the offer has, so the caller
// can pick one.
type CurrencyError struct {
	Offer      OfferID
	Version    int
	Currency   string   // the currency asked for, as given
	Currencies []string // the offer's: its Currency, then its further Currencies by key
}

// Error writes `catalog: offer "saas"@1 is not priced in USD: its
// currencies are EUR, BHD, JPY`.
func (e *CurrencyError) Error() string {
	cur := e.Currency
	if cur == "" {
		cur = `""`
	}
	return "catalog: offer " + strconv.Quote(string(e.Offer)) + "@" + strconv.Itoa(e.Version) + " is not priced in " + cut(cur) +
		": its currencies are " + strings.Join(e.Currencies, ", ")
}

// Unwrap returns ErrCurrency.
func (e *CurrencyError) Unwrap() error { return ErrCurrency }
