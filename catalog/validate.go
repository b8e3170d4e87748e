package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// maxDecimalDigits and maxDecimalExponent bound every decimal a catalog
// holds or rating takes, so hostile input cannot make arithmetic slow.
const (
	maxDecimalDigits   = 40
	maxDecimalExponent = 40
)

// decimalInRange reports whether d has at most 40 digits and an exponent
// within ±40.
func decimalInRange(d decimal.Decimal) bool {
	e := d.Exponent()
	return e >= -maxDecimalExponent && e <= maxDecimalExponent && d.NumDigits() <= maxDecimalDigits
}

// terminating returns r as an exact decimal when its denominator has no
// prime factors but 2 and 5 and it needs at most 40 digits after the point.
func terminating(r ensemble.Ratio) (decimal.Decimal, bool) {
	den := r.Denom()
	two, five := big.NewInt(2), big.NewInt(5)
	var m, rem big.Int
	count := func(p *big.Int) int32 {
		var n int32
		for den.Cmp(p) >= 0 {
			m.QuoRem(den, p, &rem)
			if rem.Sign() != 0 {
				break
			}
			den.Set(&m)
			n++
		}
		return n
	}
	scale := max(count(two), count(five))
	if den.Cmp(big.NewInt(1)) != 0 || scale > maxDecimalDigits || r.Num().BitLen() > 140 {
		return decimal.Decimal{}, false
	}
	return r.Decimal(scale, ensemble.RoundHalfEven), true
}

// reporter records problems of one offer version (and charge).
type reporter struct {
	p         *ensemble.Problems
	priceOnly bool
	offer     OfferID
	version   int
	component string
	charge    ChargeID
}

func (r *reporter) add(path string, cond error, value string) {
	r.p.Add(path, &OfferError{Offer: r.offer, Version: r.version, Component: r.component, Charge: r.charge, Value: value, Err: cond, priceOnly: r.priceOnly})
}

// id checks an ID field against the library's id grammar (the root
// package doc's Ids section): catalog ids hold no separator at all, as
// pins, paths and payout entry ids are joined on them.
func (r *reporter) id(path, id string) {
	if id == "" {
		r.add(path, ErrRequired, "")
	} else if err := ensemble.CheckID(id, ensemble.RefSeparators); err != nil {
		r.add(path, fmt.Errorf("%w: %w", ErrInvalidID, err), "")
	}
}

// amount checks a decimal that must be in range and not negative; it
// reports whether the value is usable.
func (r *reporter) amount(path string, d decimal.Decimal) bool {
	switch {
	case !decimalInRange(d):
		r.add(path, ErrOutOfRange, d.String())
	case d.Sign() < 0:
		r.add(path, ErrNegative, d.String())
	default:
		return true
	}
	return false
}

// notAllowed reports a field set where it does not apply.
func (r *reporter) notAllowed(path string, set bool, value string) {
	if set {
		r.add(path, ErrFieldNotAllowed, value)
	}
}

// rate checks a percentage rate: non-negative and terminating.
func (r *reporter) rate(path string, q ensemble.Ratio) {
	if q.Sign() < 0 {
		r.add(path, ErrNegative, q.String())
	} else if _, ok := terminating(q); !ok {
		r.add(path, ErrNotTerminating, q.String())
	}
}

// bounds checks that lo <= hi when hi is set (non-zero). Values out of
// range were reported already and are not compared (a comparison across
// exponents far apart would be slow).
func (r *reporter) bounds(path string, lo, hi decimal.Decimal) {
	if decimalInRange(lo) && decimalInRange(hi) && hi.Sign() > 0 && lo.Cmp(hi) > 0 {
		r.add(path, ErrSpendBounds, lo.String()+" > "+hi.String())
	}
}

// validatePrice checks p, reporting every problem under path.
func validatePrice(r *reporter, path string, p *Price) {
	at := func(field string) string { return path + "." + field }
	m := p.Model
	switch {
	case m == ModelUnspecified:
		r.add(at("model"), ErrRequired, "")
	case int(m) >= len(modelNames):
		r.add(at("model"), ErrOutOfRange, m.String())
	}
	uses := func(models ...Model) bool { return slices.Contains(models, m) }
	r.amount(at("amount"), p.Amount)
	r.notAllowed(at("amount"), !p.Amount.IsZero() && !uses(Flat, PerUnit, Package), p.Amount.String())
	if r.amount(at("package_size"), p.PackageSize) && m == Package && p.PackageSize.Sign() <= 0 {
		r.add(at("package_size"), ErrPackageSize, p.PackageSize.String())
	}
	r.notAllowed(at("package_size"), !p.PackageSize.IsZero() && m != Package, p.PackageSize.String())
	if int(p.PackageRounding) >= len(packageRoundingNames) {
		r.add(at("package_rounding"), ErrOutOfRange, p.PackageRounding.String())
	}
	r.notAllowed(at("package_rounding"), p.PackageRounding != RoundUpPackages && m != Package, p.PackageRounding.String())

	r.rate(at("rate"), p.Rate)
	r.notAllowed(at("rate"), !p.Rate.IsZero() && m != Percentage, p.Rate.String())
	for _, f := range []struct {
		name string
		d    decimal.Decimal
	}{{"fixed_fee", p.FixedFee}, {"transaction_minimum", p.TransactionMinimum}, {"transaction_maximum", p.TransactionMaximum}} {
		r.amount(at(f.name), f.d)
		r.notAllowed(at(f.name), !f.d.IsZero() && m != Percentage, f.d.String())
	}
	r.bounds(at("transaction_minimum"), p.TransactionMinimum, p.TransactionMaximum)

	r.amount(at("free_units"), p.FreeUnits)
	r.notAllowed(at("free_units"), !p.FreeUnits.IsZero() && uses(Flat, Percentage), p.FreeUnits.String())
	for _, f := range []struct {
		name string
		d    decimal.Decimal
	}{{"minimum_spend", p.MinimumSpend}, {"maximum_spend", p.MaximumSpend}} {
		r.amount(at(f.name), f.d)
		r.notAllowed(at(f.name), !f.d.IsZero() && m == Percentage, f.d.String())
	}
	r.bounds(at("minimum_spend"), p.MinimumSpend, p.MaximumSpend)
	if int(p.SpendAdjustment) >= len(spendAdjustmentNames) {
		r.add(at("spend_adjustment"), ErrOutOfRange, p.SpendAdjustment.String())
	}
	r.notAllowed(at("spend_adjustment"), p.SpendAdjustment != SpendTotal && m == Percentage, p.SpendAdjustment.String())
	if int(p.SpendProration) >= len(spendProrationNames) {
		r.add(at("spend_proration"), ErrOutOfRange, p.SpendProration.String())
	}
	r.notAllowed(at("spend_proration"), p.SpendProration != SpendWhole && p.MinimumSpend.IsZero() && p.MaximumSpend.IsZero(), p.SpendProration.String())
	if int(p.FlatProration) >= len(flatProrationNames) {
		r.add(at("flat_proration"), ErrOutOfRange, p.FlatProration.String())
	}
	r.notAllowed(at("flat_proration"), p.FlatProration != FlatProrated && m != Volume, p.FlatProration.String())
	if int(p.FlatAtZero) >= len(flatAtZeroNames) {
		r.add(at("flat_at_zero"), ErrOutOfRange, p.FlatAtZero.String())
	}
	r.notAllowed(at("flat_at_zero"), p.FlatAtZero != FlatAtZeroBilled && m != Volume && m != Graduated && m != GraduatedPercentage, p.FlatAtZero.String())

	if !m.tiered() {
		r.notAllowed(at("tiers"), len(p.Tiers) > 0, strconv.Itoa(len(p.Tiers))+" tiers")
		return
	}
	if len(p.Tiers) == 0 {
		r.add(at("tiers"), ErrRequired, "")
		return
	}
	prev := decimal.Zero
	last := len(p.Tiers) - 1
	for i, t := range p.Tiers {
		tp := path + ".tiers[" + strconv.Itoa(i) + "]."
		switch {
		case t.UpTo == nil && i != last:
			r.add(tp+"up_to", ErrOpenTier, "tier "+strconv.Itoa(i)+" of "+strconv.Itoa(last+1))
		case t.UpTo != nil && i == last:
			r.add(tp+"up_to", ErrOpenTier, t.UpTo.String())
		case t.UpTo != nil:
			if r.amount(tp+"up_to", *t.UpTo) {
				if t.UpTo.Cmp(prev) <= 0 {
					r.add(tp+"up_to", ErrTierOrder, t.UpTo.String()+" after "+prev.String())
				}
				prev = *t.UpTo
			}
		}
		r.amount(tp+"unit_amount", t.UnitAmount)
		r.amount(tp+"flat_amount", t.FlatAmount)
		r.amount(tp+"block_size", t.BlockSize)
		r.notAllowed(tp+"block_size", !t.BlockSize.IsZero() && m == GraduatedPercentage, t.BlockSize.String())
		if m == GraduatedPercentage {
			r.rate(tp+"rate", t.Rate)
			r.notAllowed(tp+"unit_amount", !t.UnitAmount.IsZero(), t.UnitAmount.String())
		} else {
			r.notAllowed(tp+"rate", !t.Rate.IsZero(), t.Rate.String())
		}
	}
}

// validateCharge checks one charge of an offer.
func validateCharge(r *reporter, path string, c *Charge) {
	at := func(field string) string { return path + "." + field }
	r.id(at("id"), string(c.ID))
	cadenceSet := c.Cadence != (ensemble.Cadence{})
	checkCadence := func() {
		if err := c.Cadence.Validate(); err != nil {
			cond := ErrOutOfRange
			if c.Cadence.Unit == ensemble.CadenceUnspecified {
				cond = ErrRequired
			}
			r.add(at("cadence"), cond, c.Cadence.String())
		}
	}
	if int(c.Timing) >= len(timingNames) {
		r.add(at("timing"), ErrOutOfRange, c.Timing.String())
	}
	switch c.Type {
	case ChargeUnspecified:
		r.add(at("type"), ErrRequired, "")
	case OneTime:
		r.notAllowed(at("cadence"), cadenceSet, c.Cadence.String())
		r.notAllowed(at("timing"), c.Timing != TimingUnspecified, c.Timing.String())
		r.notAllowed(at("meter"), c.Meter != "", c.Meter)
		r.notAllowed(at("attribute_to"), c.AttributeTo != "", c.AttributeTo)
	case Recurring:
		checkCadence()
		if c.Timing == TimingUnspecified {
			r.add(at("timing"), ErrRequired, "")
		}
		r.notAllowed(at("meter"), c.Meter != "", c.Meter)
		r.notAllowed(at("attribute_to"), c.AttributeTo != "", c.AttributeTo)
	case Usage:
		if cadenceSet {
			checkCadence()
		}
		if c.AttributeTo != "" {
			r.id(at("attribute_to"), c.AttributeTo)
		}
		r.notAllowed(at("timing"), c.Timing == InAdvance, c.Timing.String())
		if c.Meter == "" {
			r.add(at("meter"), ErrRequired, "")
		}
	default:
		r.add(at("type"), ErrOutOfRange, c.Type.String())
	}
	validatePrice(r, at("price"), &c.Price)
	// Only a usage period has a service to prorate its spend bounds by.
	r.notAllowed(at("price.spend_proration"), c.Price.SpendProration != SpendWhole && c.Type != Usage, c.Price.SpendProration.String())
}

// validateDocument checks every offer of doc and the references between
// them, reporting every problem at once.
func validateDocument(doc *Document) (*ensemble.Units, error) {
	var probs ensemble.Problems
	units, err := ensemble.NewUnits(doc.Units...)
	if ve := (*ensemble.ValidationError)(nil); errors.As(err, &ve) {
		for _, p := range ve.Problems {
			probs.Add(p.Path, p.Err) // already units[i].code or .digits
		}
	}
	ids := make(map[OfferID][]int, len(doc.Offers))    // offer ID -> indexes of its versions
	kinds := make(map[OfferID]uint64, len(doc.Offers)) // offer ID -> bit k set when a version has kind k
	for i := range doc.Offers {
		o := &doc.Offers[i]
		ids[o.ID] = append(ids[o.ID], i)
		if o.Kind < 64 {
			kinds[o.ID] |= 1 << o.Kind
		}
	}
	kindOf := func(id OfferID, k OfferKind) bool { return kinds[id]&(1<<k) != 0 }
	// Each check below looks a version up in constant time, so that a
	// catalog of many versions of one offer validates in O(n log n).
	firstPin := make(map[Pin]int, len(doc.Offers)) // pin -> index of its first version
	overlapsWith := overlapping(doc, ids)
	for i := range doc.Offers {
		o := &doc.Offers[i]
		op := ensemble.Path("offers", i)
		at := func(field string) string { return op + "." + field }
		r := reporter{p: &probs, offer: o.ID, version: o.Version}
		r.id(at("id"), string(o.ID))
		if o.Version < 1 {
			r.add(at("version"), ErrOutOfRange, strconv.Itoa(o.Version))
		}
		if j, ok := firstPin[o.Pin()]; ok && j < i {
			r.add(at("version"), ErrDuplicate, o.Pin().String())
		} else if !ok {
			firstPin[o.Pin()] = i
		}
		if int(o.Kind) >= len(offerKindNames) {
			r.add(at("kind"), ErrOutOfRange, o.Kind.String())
		}
		primary := ""
		if o.Currency == "" {
			r.add(at("currency"), ErrRequired, "")
		} else if cur, err := units.Currency(o.Currency); err != nil {
			r.add(at("currency"), ErrUnknownCurrency, o.Currency)
		} else {
			primary = cur.Key()
		}
		books := validateCurrencies(r, at("currencies"), o.Currencies, primary, units)
		if o.EffectiveFrom.IsZero() {
			r.add(at("effective_from"), ErrRequired, "")
		} else if !o.EffectiveUntil.IsZero() && !o.EffectiveUntil.After(o.EffectiveFrom) {
			r.add(at("effective_until"), ErrPeriod, o.EffectiveUntil.UTC().String())
		}
		for _, j := range overlapsWith[i] {
			r.add(at("effective_from"), ErrOverlap, "versions "+strconv.Itoa(doc.Offers[j].Version)+" and "+strconv.Itoa(o.Version))
		}
		for _, k := range slices.Sorted(maps.Keys(o.Attributes)) {
			if k == "" {
				r.add(at("attributes"), ErrRequired, "empty key")
			}
		}
		r.amount(at("min_quantity"), o.MinQuantity)
		r.amount(at("max_quantity"), o.MaxQuantity)
		r.bounds(at("min_quantity"), o.MinQuantity, o.MaxQuantity)
		if int(o.Quantity) >= len(quantityKindNames) {
			r.add(at("quantity"), ErrOutOfRange, o.Quantity.String())
		}

		seen := make(map[ChargeID]bool, len(o.Charges))
		for j := range o.Charges {
			c := &o.Charges[j]
			cp := ensemble.Path("offers", i, "charges", j)
			cr := r
			cr.charge = c.ID
			validateCharge(&cr, cp, c)
			validatePrices(&cr, cp, c, books, units)
			if seen[c.ID] && c.ID != "" {
				cr.add(cp+".id", ErrDuplicate, string(c.ID))
			}
			seen[c.ID] = true
		}

		// Bundles.
		if o.Kind == Bundle && len(o.Components) == 0 {
			r.add(at("components"), ErrRequired, "")
		}
		if o.Kind != Bundle && len(o.Components) > 0 {
			// A supplier's cost is a bundle component's.
			r.add(at("components"), fmt.Errorf("%w: only a bundle has components, and with them supplier costs: "+
				"sell the supplied part as a bundle of it, or put its cost on the bundle that includes it", ErrFieldNotAllowed),
				fmt.Sprintf("%d on an offer of kind %s", len(o.Components), o.Kind))
		}
		chargeType := make(map[ChargeID]ChargeType, len(o.Charges))
		for _, c := range o.Charges {
			if _, dup := chargeType[c.ID]; !dup {
				chargeType[c.ID] = c.Type
			}
		}
		type pair struct {
			offer    OfferID
			supplier string
		}
		pairs := make(map[pair]bool, len(o.Components))
		for j := range o.Components {
			c := &o.Components[j]
			cp := ensemble.Path("offers", i, "components", j)
			r.id(cp+".offer", string(c.Offer))
			if c.Offer != "" && len(ids[c.Offer]) == 0 {
				r.add(cp+".offer", ErrMissingOffer, string(c.Offer))
			} else if kindOf(c.Offer, AddOn) {
				r.add(cp+".offer", ErrNotAttachable, string(c.Offer))
			}
			r.id(cp+".supplier", c.Supplier)
			if pairs[pair{c.Offer, c.Supplier}] {
				r.add(cp, ErrDuplicate, string(c.Offer)+" from "+c.Supplier)
			}
			pairs[pair{c.Offer, c.Supplier}] = true
			r.amount(cp+".quantity", c.Quantity)
			r.amount(cp+".cost.fixed", c.Cost.Fixed)
			if c.Cost.Ratio.Sign() < 0 {
				r.add(cp+".cost.ratio", ErrNegative, c.Cost.Ratio.String())
			}
			if !c.Cost.Fixed.IsZero() && !c.Cost.Ratio.IsZero() {
				r.add(cp+".cost", ErrFieldNotAllowed, "both fixed and ratio")
			}
			validateCostScope(r, cp+".cost", c, chargeType, units)
			validateFixedIn(r, cp+".cost", c, books, units)
		}
		validateRatioSums(r, at("components"), o)

		// Add-ons.
		if o.Kind == AddOn && len(o.AttachesTo) == 0 {
			r.add(at("attaches_to"), ErrRequired, "")
		}
		r.notAllowed(at("attaches_to"), o.Kind != AddOn && len(o.AttachesTo) > 0, strconv.Itoa(len(o.AttachesTo))+" offers")
		targets := make(map[OfferID]bool, len(o.AttachesTo))
		for j, t := range o.AttachesTo {
			tp := ensemble.Path("offers", i, "attaches_to", j)
			r.id(tp, string(t))
			switch {
			case t == "":
			case len(ids[t]) == 0:
				r.add(tp, ErrMissingOffer, string(t))
			case kindOf(t, AddOn):
				r.add(tp, ErrNotAttachable, string(t))
			case targets[t]:
				r.add(tp, ErrDuplicate, string(t))
			}
			targets[t] = true
		}
	}
	findCycles(doc, ids, &probs)
	return units, probs.Err("catalog")
}

// validateCurrencies checks an offer's further currencies (at path): each
// one units knows, none twice and none the offer's own (primary, its key;
// empty when it did not resolve). It returns the keys that resolved, a
// set.
func validateCurrencies(r reporter, path string, codes []string, primary string, units *ensemble.Units) map[string]bool {
	books := make(map[string]bool, len(codes))
	for j, code := range codes {
		cp := ensemble.Path(path, j)
		cur, err := units.Currency(code)
		switch {
		case code == "":
			r.add(cp, ErrRequired, "")
		case err != nil:
			r.add(cp, ErrUnknownCurrency, code)
		case cur.Key() == primary:
			r.add(cp, ErrDuplicate, code+" is the offer's currency")
		case books[cur.Key()]:
			r.add(cp, ErrDuplicate, code)
		default:
			books[cur.Key()] = true
		}
	}
	return books
}

// bookKeys resolves the keys of a map keyed by currency (a charge's
// Prices, a cost's FixedIn) at path: each must name one of the offer's
// further currencies (books), once. It returns, by currency key, the
// map's key for it.
func bookKeys[V any](r *reporter, path string, m map[string]V, books map[string]bool, units *ensemble.Units) map[string]string {
	found := make(map[string]string, len(m))
	for _, code := range slices.Sorted(maps.Keys(m)) {
		kp := path + "." + code
		cur, err := units.Currency(code)
		switch {
		case err != nil:
			r.add(kp, ErrUnknownCurrency, code)
		case !books[cur.Key()]:
			r.add(kp, fmt.Errorf("%w: %s is not among the offer's further currencies (currencies)", ErrFieldNotAllowed, cur.Key()), code)
		case found[cur.Key()] != "":
			r.add(kp, ErrDuplicate, found[cur.Key()]+" and "+code)
		default:
			found[cur.Key()] = code
		}
	}
	return found
}

// validatePrices checks a charge's prices in the offer's further
// currencies (books): one per currency, each a valid price of the charge's
// model (or none, which is the charge's).
func validatePrices(r *reporter, path string, c *Charge, books map[string]bool, units *ensemble.Units) {
	found := bookKeys(r, path+".prices", c.Prices, books, units)
	for _, key := range slices.Sorted(maps.Keys(books)) {
		code, ok := found[key]
		if !ok {
			r.add(path+".prices", ErrMissingPrice, key)
			continue
		}
		pp := path + ".prices." + code
		p := c.Prices[code]
		if p.Model == ModelUnspecified {
			p.Model = c.Price.Model
		} else if p.Model != c.Price.Model {
			r.add(pp+".model", fmt.Errorf("%w: a charge has one price model in every currency, here %s", ErrFieldNotAllowed, c.Price.Model), p.Model.String())
			continue
		}
		validatePrice(r, pp, &p)
		for _, f := range []struct {
			name       string
			base, book decimal.Decimal
		}{
			{"fixed_fee", c.Price.FixedFee, p.FixedFee},
			{"transaction_minimum", c.Price.TransactionMinimum, p.TransactionMinimum},
			{"transaction_maximum", c.Price.TransactionMaximum, p.TransactionMaximum},
			{"free_units", c.Price.FreeUnits, p.FreeUnits},
			{"minimum_spend", c.Price.MinimumSpend, p.MinimumSpend},
			{"maximum_spend", c.Price.MaximumSpend, p.MaximumSpend},
		} {
			if !f.base.IsZero() && f.book.IsZero() {
				r.add(pp+"."+f.name, fmt.Errorf("%w: the charge's price (in the offer's currency) sets %s %s; state this currency's own", ErrMissingBound, f.name, f.base), key)
			}
		}
		r.notAllowed(pp+".spend_proration", p.SpendProration != SpendWhole && c.Type != Usage, p.SpendProration.String())
		if cur, err := units.Currency(key); err == nil {
			checkMinorUnits(r, pp, &p, cur)
		}
	}
}

// checkMinorUnits checks that the amounts of p billed as written (a flat
// price's amount, tiers' flat amounts, the fixed fee, transaction and
// spend bounds) are whole minor units of cur, the further currency p is
// in: 1500.5 yen or 38.5005 dinars is refused (ensemble.ErrNotMinorUnits).
// Amounts per unit (unit and package amounts, which a quantity multiplies
// before the line is rounded) may carry more digits, as in the offer's
// Currency, whose prices keep the rules they had before price books.
func checkMinorUnits(r *reporter, path string, p *Price, cur ensemble.Currency) {
	check := func(field string, d decimal.Decimal) {
		if decimalInRange(d) && !d.Equal(d.Truncate(cur.Digits())) {
			r.add(path+"."+field, fmt.Errorf("%w of %s", ensemble.ErrNotMinorUnits, cur.Code()), d.String())
		}
	}
	if p.Model == Flat {
		check("amount", p.Amount)
	}
	check("fixed_fee", p.FixedFee)
	check("transaction_minimum", p.TransactionMinimum)
	check("transaction_maximum", p.TransactionMaximum)
	check("minimum_spend", p.MinimumSpend)
	check("maximum_spend", p.MaximumSpend)
	for i, t := range p.Tiers {
		check("tiers["+strconv.Itoa(i)+"].flat_amount", t.FlatAmount)
	}
}

// validateFixedIn checks a component's fixed cost in the bundle's further
// currencies (books): required in each for a fixed cost in the bundle's
// currency, allowed on no other cost.
func validateFixedIn(r reporter, path string, c *Component, books map[string]bool, units *ensemble.Units) {
	r.component = string(c.Offer) + "/" + c.Supplier
	mine := !c.Cost.Fixed.IsZero() && c.Cost.Currency == ""
	if !mine || len(books) == 0 {
		if len(c.Cost.FixedIn) > 0 {
			why := "a ratio cost has no amount"
			switch {
			case c.Cost.Currency != "":
				why = "a cost in " + c.Cost.Currency + " is owed in it whatever the line's currency"
			case len(books) == 0:
				why = "the bundle is priced in its currency only"
			}
			r.add(path+".fixed_in", ErrFieldNotAllowed, why)
		}
		return
	}
	found := bookKeys(&r, path+".fixed_in", c.Cost.FixedIn, books, units)
	for _, key := range slices.Sorted(maps.Keys(books)) {
		code, ok := found[key]
		if !ok {
			r.add(path+".fixed_in", ErrMissingPrice, key)
			continue
		}
		r.amount(path+".fixed_in."+code, c.Cost.FixedIn[code])
	}
}

// validateCostScope checks the currency of component c's cost and the
// charges it applies to (at path, the component's cost): a currency only on
// a fixed cost, and one units knows; a known scope; a list of charges only
// with CostCharges, never empty, each a charge of the bundle (chargeType)
// named once, and no usage charge for a fixed cost. Problems name the
// bundle, the component and the charge.
func validateCostScope(r reporter, path string, c *Component, chargeType map[ChargeID]ChargeType, units *ensemble.Units) {
	r.component = string(c.Offer) + "/" + c.Supplier
	a := c.Cost.AppliesTo
	fixed := !c.Cost.Fixed.IsZero()
	if code := c.Cost.Currency; code != "" {
		if _, err := units.Currency(code); err != nil {
			r.add(path+".currency", ErrUnknownCurrency, code)
		}
		r.notAllowed(path+".currency", !c.Cost.Ratio.IsZero(), "a ratio cost has no currency: "+code)
	}
	if c.Cost.Per != CostPerUnit {
		if int(c.Cost.Per) >= len(costPerNames) {
			r.add(path+".per", ErrOutOfRange, c.Cost.Per.String())
		}
		r.notAllowed(path+".per", !fixed, "a ratio cost is a share of the line, not owed per unit or per line")
	}
	if c.Cost.Shortfall != ShortfallError {
		if int(c.Cost.Shortfall) >= len(costShortfallNames) {
			r.add(path+".shortfall", ErrOutOfRange, c.Cost.Shortfall.String())
		}
		r.notAllowed(path+".shortfall", !c.Cost.Ratio.IsZero(), "a ratio cost is a share of the line's net and never exceeds it")
	}
	switch {
	case int(a.Scope) >= len(costScopeNames):
		r.add(path+".applies_to", ErrOutOfRange, a.Scope.String())
	case a.Scope == CostCharges && len(a.Charges) == 0:
		r.add(path+".applies_to", ErrRequired, "no charge named")
	case a.Scope != CostCharges && len(a.Charges) > 0:
		r.add(path+".applies_to", ErrFieldNotAllowed, "charges named with scope "+a.Scope.String())
	}
	if fixed && a.Scope != CostCharges {
		var recurring []string
		for id, typ := range chargeType {
			if typ == Recurring {
				recurring = append(recurring, string(id))
			}
		}
		if len(recurring) > 1 {
			slices.Sort(recurring)
			r.add(path+".applies_to", ErrAmbiguousCost, strings.Join(recurring, ", "))
		}
	}
	seen := make(map[ChargeID]bool, len(a.Charges))
	for k, id := range a.Charges {
		kp := ensemble.Path(path+".applies_to", k)
		cr := r
		cr.charge = id
		typ, ok := chargeType[id]
		switch {
		case !ok:
			cr.add(kp, ErrUnknownCharge, string(id))
		case seen[id]:
			cr.add(kp, ErrDuplicate, string(id))
		case fixed && typ == Usage:
			cr.add(kp, ErrFieldNotAllowed, "a fixed cost is owed per bundle unit; a usage charge bills none")
		}
		seen[id] = true
	}
}

// validateRatioSums checks, for each charge of bundle o, that the ratios of
// the components whose cost applies to it add up to at most 1 (for a
// bundle without charges, the ratios of all its components).
func validateRatioSums(r reporter, path string, o *Offer) {
	one := ensemble.RatioFromInt(1)
	sum := func(include func(*Component) bool) ensemble.Ratio {
		total := ensemble.Ratio{}
		for j := range o.Components {
			c := &o.Components[j]
			if c.Cost.Ratio.Sign() > 0 && include(c) {
				total = total.Add(c.Cost.Ratio)
			}
		}
		return total
	}
	if len(o.Charges) == 0 {
		if total := sum(func(*Component) bool { return true }); total.Cmp(one) > 0 {
			r.add(path, ErrRatioSum, total.String())
		}
		return
	}
	for _, ch := range o.Charges {
		total := sum(func(c *Component) bool { return c.Cost.AppliesTo.Includes(ch.ID, ch.Type, false) })
		if total.Cmp(one) > 0 {
			cr := r
			cr.charge = ch.ID
			cr.add(path, ErrRatioSum, total.String())
		}
	}
}

// overlaps reports whether the effective periods of a and b intersect.
func overlaps(a, b *Offer) bool {
	if a.EffectiveFrom.IsZero() || b.EffectiveFrom.IsZero() {
		return false
	}
	before := func(x, end time.Time) bool { return end.IsZero() || x.Before(end) }
	return before(a.EffectiveFrom, b.EffectiveUntil) && before(b.EffectiveFrom, a.EffectiveUntil)
}

// endsAfter reports whether a's effective period ends after b's (a zero
// end is open, after every instant).
func endsAfter(a, b *Offer) bool {
	switch {
	case b.EffectiveUntil.IsZero():
		return false
	case a.EffectiveUntil.IsZero():
		return true
	}
	return a.EffectiveUntil.After(b.EffectiveUntil)
}

// overlapping finds versions of one offer whose effective periods overlap,
// in O(n log n): it returns, for an offer index i, the indexes j < i of the
// versions it is reported to overlap, sorted. The versions of each offer are
// swept in order of start; a version that overlaps any version starting
// before it overlaps the one of them that ends last, and is paired with
// that one alone (reported at the later of the two indexes). So every
// version that overlaps another is named in at least one reported pair,
// every reported pair overlaps, and there are fewer pairs than versions:
// the report stays linear in the catalog even when every version overlaps
// every other. Versions without a start, or whose period ends before it
// starts (reported as ErrRequired or ErrPeriod), are left out.
func overlapping(doc *Document, ids map[OfferID][]int) map[int][]int {
	out := map[int][]int{}
	var order []int
	for _, vs := range ids {
		if len(vs) < 2 {
			continue
		}
		order = order[:0]
		for _, i := range vs {
			o := &doc.Offers[i]
			if !o.EffectiveFrom.IsZero() && (o.EffectiveUntil.IsZero() || o.EffectiveUntil.After(o.EffectiveFrom)) {
				order = append(order, i)
			}
		}
		slices.SortFunc(order, func(a, b int) int {
			return cmp.Or(doc.Offers[a].EffectiveFrom.Compare(doc.Offers[b].EffectiveFrom), cmp.Compare(a, b))
		})
		last := -1 // among the versions swept, the one that ends last
		for _, i := range order {
			if last >= 0 && overlaps(&doc.Offers[last], &doc.Offers[i]) {
				lo, hi := min(last, i), max(last, i)
				out[hi] = append(out[hi], lo)
			}
			if last < 0 || endsAfter(&doc.Offers[i], &doc.Offers[last]) {
				last = i
			}
		}
	}
	for _, js := range out {
		slices.Sort(js)
	}
	return out
}

// maxCycleShown bounds the offers a cycle's message names, so that the
// report of a catalog stays linear in its size however long its cycles.
const maxCycleShown = 16

// cyclePath renders a cycle, the offers of cycle then back to back:
// "a -> b -> a". A cycle of more than maxCycleShown offers shows the first
// and last half of them around "... (n more)".
func cyclePath(cycle []OfferID, back OfferID) string {
	var b strings.Builder
	write := func(ids []OfferID) {
		for _, id := range ids {
			b.WriteString(string(id))
			b.WriteString(" -> ")
		}
	}
	if n := len(cycle) - maxCycleShown; n > 0 {
		write(cycle[:maxCycleShown/2])
		b.WriteString("... (" + strconv.Itoa(n) + " more) -> ")
		cycle = cycle[len(cycle)-maxCycleShown/2:]
	}
	write(cycle)
	b.WriteString(string(back))
	return b.String()
}

// findCycles reports every bundle that contains itself through its
// components (over all versions), once per back edge of a depth-first
// search that visits offers in ID order, so the report is deterministic.
func findCycles(doc *Document, ids map[OfferID][]int, probs *ensemble.Problems) {
	const (
		white = iota
		grey
		black
	)
	color := make(map[OfferID]int, len(ids))
	var stack []OfferID
	at := make(map[OfferID]int, len(ids)) // position in stack of a grey offer
	var visit func(id OfferID)
	visit = func(id OfferID) {
		color[id] = grey
		at[id] = len(stack)
		stack = append(stack, id)
		for _, i := range ids[id] {
			o := &doc.Offers[i]
			for j, c := range o.Components {
				switch color[c.Offer] {
				case white:
					if len(ids[c.Offer]) > 0 {
						visit(c.Offer)
					}
				case grey:
					probs.Add(ensemble.Path("offers", i, "components", j, "offer"), &OfferError{
						Offer: o.ID, Version: o.Version, Value: cyclePath(stack[at[c.Offer]:], c.Offer), Err: ErrCycle,
					})
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if color[id] == white {
			visit(id)
		}
	}
}
