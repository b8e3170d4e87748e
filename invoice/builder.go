package invoice

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/shopspring/decimal"
)

// Builder builds invoices from subscriptions against one catalog. It
// compiles every charge of the catalog once; it is immutable and safe for
// concurrent use.
type Builder struct {
	cat    *catalog.Catalog
	opts   Options
	offers map[catalog.Pin]*offerInfo
	taxes  map[string]*TaxRule // region + "\x00" + code
	// taxK holds each rule's multiplier: its rate, or rate/(1+rate) when
	// inclusive.
	taxK map[TaxRuleID]ensemble.Ratio
	// taxD holds the multiplier as a decimal when it terminates, for the
	// fixed-point fast path.
	taxD map[TaxRuleID]taxDec
	// taxC holds the compiled components of each rule that has some.
	taxC map[TaxRuleID][]compiledComp
	// taxR holds each rule's rate as a line's TaxTrace gives it: its
	// Rate, or the effective rate of its components.
	taxR map[TaxRuleID]ensemble.Ratio
}

type taxDec struct {
	d  decimal.Decimal
	ok bool
}

// offerInfo is an offer version compiled for billing.
type offerInfo struct {
	pin      catalog.Pin
	name     string
	kind     catalog.OfferKind
	currency ensemble.Currency
	taxCode  string
	charges  []*chargeInfo // sorted by ID
	refs     ensemble.Ref
	// books are the offer compiled in each of its further currencies
	// (catalog.Offer.Currencies), each with no books of its own; nil for
	// an offer priced in one currency.
	books map[ensemble.Currency]*offerInfo
	// components are a bundle's components as an early-termination fee
	// lists them (none of them shares it: see EarlyTermination), with a
	// zero cost, sorted by supplier, then offer.
	components []catalog.SupplierCost
}

// offerIn returns the offer version pinned compiled for billing in cur,
// or nil when the catalog lacks the pin or the offer is not priced in cur.
func (b *Builder) offerIn(p catalog.Pin, cur ensemble.Currency) *offerInfo {
	oi := b.offers[p]
	if oi == nil || oi.currency == cur {
		return oi
	}
	return oi.books[cur]
}

// chargeInfo is a charge compiled for billing, with its trace references.
type chargeInfo struct {
	offer     *offerInfo
	id        catalog.ChargeID
	name      string
	typ       catalog.ChargeType
	cadence   ensemble.Cadence
	timing    catalog.Timing
	meter     string
	model     catalog.Model
	rater     *catalog.Rater
	chargeRef ensemble.Ref
	priceRef  ensemble.Ref
	desc      string
	key       string // offer ID + "\x00" + charge ID: the stream key
	flatWhole bool   // a volume price whose tier flat amount is never prorated (catalog.FlatWhole)
	// spend says what a usage period the item was in service for only
	// part of owes of the price's spend bounds (catalog.SpendProration).
	spend catalog.SpendProration
	// attributeTo is the record attribute the charge's usage is
	// attributed to (catalog.Charge.AttributeTo), empty for none.
	attributeTo string
	// suppliers are the components of a bundle whose cost applies to the
	// charge (catalog.RefComponent references, sorted): their suppliers
	// are owed on what the charge bills.
	suppliers []ensemble.Ref
}

// NewBuilder compiles the catalog's charges and checks opts: a tax table
// with empty, duplicate or invalid rules, two rules for the same region and
// code, a negative rate, wrong components (ErrTaxComponents), or an unknown rounding mode or basis is an
// *ensemble.ValidationError listing every problem.
func NewBuilder(cat *catalog.Catalog, opts Options) (*Builder, error) {
	var ps ensemble.Problems
	if cat == nil {
		ps.Add("catalog", ErrRequired)
		return nil, ps.Err("invoice options")
	}
	if !opts.Mode.Valid() {
		ps.Add("mode", bad(ErrInvalid, "%d", opts.Mode))
	}
	if !opts.Basis.Valid() {
		ps.Add("basis", bad(ErrInvalid, "%d", opts.Basis))
	}
	if opts.Rating > catalog.RoundNone {
		ps.Add("rating", bad(ErrInvalid, "%d", opts.Rating))
	}
	if opts.TaxRounding > TaxPerInvoice {
		ps.Add("tax_rounding", bad(ErrInvalid, "%d", opts.TaxRounding))
	}
	if opts.UsageSplit > SplitNone {
		ps.Add("usage_split", bad(ErrInvalid, "%d", opts.UsageSplit))
	}
	b := &Builder{cat: cat, offers: map[catalog.Pin]*offerInfo{}, taxes: map[string]*TaxRule{}}
	ids := map[TaxRuleID]bool{}
	rules := make([]TaxRule, len(opts.Taxes.Rules))
	copy(rules, opts.Taxes.Rules)
	for i := range rules {
		rules[i].Components = slices.Clone(rules[i].Components)
	}
	for i := range rules {
		r := &rules[i]
		at := ensemble.Path("taxes", "rules", i)
		switch {
		case r.ID == "":
			ps.Add(at+".id", ErrRequired)
		case ids[r.ID]:
			ps.Add(at+".id", bad(ErrDuplicate, "%q", r.ID))
		}
		ids[r.ID] = true
		if r.Rate.Sign() < 0 {
			ps.Add(at+".rate", bad(ErrNegative, "%s", r.Rate))
		}
		validateComponents(&ps, at, r)
		key := r.Region + "\x00" + r.TaxCode
		if _, dup := b.taxes[key]; dup {
			ps.Add(at, bad(ErrDuplicate, "region %q tax code %q", r.Region, r.TaxCode))
		}
		b.taxes[key] = r
	}
	if seller := opts.Taxes.Seller; seller != "" {
		if country, _, _ := strings.Cut(seller, "-"); country == "" || strings.ContainsFunc(seller, unicode.IsSpace) {
			ps.Add("taxes.seller", bad(ErrInvalid, "%q: give the country or region the seller is established in, such as \"PL\" or \"CA-ON\"", seller))
		}
	}
	opts.Taxes.Rules = rules
	b.opts = opts
	b.taxK = map[TaxRuleID]ensemble.Ratio{}
	b.taxD = map[TaxRuleID]taxDec{}
	b.taxC = map[TaxRuleID][]compiledComp{}
	b.taxR = map[TaxRuleID]ensemble.Ratio{}
	for i := range rules {
		r := &rules[i]
		b.taxR[r.ID] = r.Rate
		if len(r.Components) > 0 {
			cs, eff := compileComponents(r)
			b.taxC[r.ID], b.taxR[r.ID] = cs, eff
			continue
		}
		k := r.Rate
		if r.Inclusive && r.Rate.Sign() > 0 {
			k = quo(r.Rate, ratioOne.Add(r.Rate))
		}
		b.taxK[r.ID] = k
		if d, ok := terminating(k); ok {
			b.taxD[r.ID] = taxDec{d: d, ok: true}
		}
	}
	for _, id := range cat.IDs() {
		for _, pin := range cat.Versions(id) {
			o, err := cat.Offer(pin)
			if err != nil {
				ps.Add(ensemble.Path("catalog", pin.String()), err)
				continue
			}
			curs, err := cat.Currencies(pin)
			if err != nil {
				ps.Add(ensemble.Path("catalog", pin.String()), err)
				continue
			}
			var oi *offerInfo
			for k, cur := range curs {
				book, ok := newOfferInfo(cat, pin, &o, cur, &ps)
				if !ok {
					break
				}
				if k == 0 {
					oi = book
					continue
				}
				if oi.books == nil {
					oi.books = make(map[ensemble.Currency]*offerInfo, len(curs)-1)
				}
				oi.books[cur] = book
			}
			if oi == nil {
				continue
			}
			b.offers[pin] = oi
		}
	}
	if err := ps.Err("invoice options"); err != nil {
		return nil, err
	}
	return b, nil
}

// newOfferInfo compiles offer version o (pinned pin) for billing in cur,
// one of its currencies, reporting problems to ps.
func newOfferInfo(cat *catalog.Catalog, pin catalog.Pin, o *catalog.Offer, cur ensemble.Currency, ps *ensemble.Problems) (*offerInfo, bool) {
	oi := &offerInfo{pin: pin, name: o.Name, kind: o.Kind, currency: cur, taxCode: o.Attributes["tax_code"], refs: pin.Ref()}
	if oi.name == "" {
		oi.name = string(o.ID)
	}
	for _, c := range o.Charges {
		r, err := cat.RaterIn(pin, c.ID, cur)
		if err != nil {
			ps.Add(ensemble.Path("catalog", pin.String(), string(c.ID)), err)
			continue
		}
		ci := &chargeInfo{offer: oi, id: c.ID, name: c.Name, typ: c.Type, cadence: c.Cadence, timing: c.Timing,
			meter: c.Meter, model: r.Price().Model, rater: r, chargeRef: pin.ChargeRef(c.ID), priceRef: pin.PriceRef(c.ID),
			flatWhole: r.Price().Model == catalog.Volume && r.Price().FlatProration == catalog.FlatWhole,
			spend:     r.Price().SpendProration, attributeTo: c.AttributeTo}
		if ci.name == "" {
			ci.name = string(c.ID)
		}
		ci.desc = oi.name + ": " + ci.name
		ci.key = string(pin.Offer) + "\x00" + string(c.ID)
		for _, comp := range o.Components {
			fixed := !comp.Cost.Fixed.IsZero()
			if (fixed || !comp.Cost.Ratio.IsZero()) && comp.Cost.AppliesTo.Includes(c.ID, c.Type, fixed) {
				ci.suppliers = append(ci.suppliers, pin.ComponentRef(comp.Offer, comp.Supplier))
			}
		}
		slices.SortFunc(ci.suppliers, ensemble.Ref.Compare)
		oi.charges = append(oi.charges, ci)
	}
	slices.SortFunc(oi.charges, func(a, b *chargeInfo) int { return strings.Compare(string(a.id), string(b.id)) })
	for _, comp := range o.Components {
		sc := catalog.SupplierCost{Component: pin.ComponentRef(comp.Offer, comp.Supplier), Offer: comp.Offer, Supplier: comp.Supplier,
			Cost: ensemble.MoneyFromMinor(0, cur), Ratio: comp.Cost.Ratio, Per: comp.Cost.Per, AppliesTo: comp.Cost.AppliesTo}
		if !comp.Cost.Fixed.IsZero() && comp.Cost.Currency == "" {
			q := comp.Quantity
			if q.IsZero() {
				q = decimal.NewFromInt(1)
			}
			fixed := comp.Cost.Fixed
			if cur.Key() != o.Currency {
				fixed = comp.Cost.FixedIn[cur.Key()] // a further currency's
			}
			sc.Fixed = ensemble.MoneyFromDecimal(fixed.Mul(q), cur)
		}
		oi.components = append(oi.components, sc)
	}
	slices.SortStableFunc(oi.components, func(a, b catalog.SupplierCost) int {
		if c := strings.Compare(a.Supplier, b.Supplier); c != 0 {
			return c
		}
		return strings.Compare(string(a.Offer), string(b.Offer))
	})
	return oi, true
}

// Options returns the options the builder was made with.
func (b *Builder) Options() Options {
	o := b.opts
	o.Taxes.Rules = slices.Clone(o.Taxes.Rules)
	for i := range o.Taxes.Rules {
		o.Taxes.Rules[i].Components = slices.Clone(o.Taxes.Rules[i].Components)
	}
	return o
}

// taxRule finds the most specific rule for region and code: the region,
// then its country (the part of an ISO 3166-2 region such as "US-CA" before
// the dash), then any region; within each, the code before any code.
func (b *Builder) taxRule(region, code string) (*TaxRule, bool) {
	country, _, sub := strings.Cut(region, "-")
	for i, reg := range [...]string{region, country, ""} {
		if i == 1 && (!sub || reg == "") {
			continue // the region is a country: tried already
		}
		if rule, ok := b.taxes[reg+"\x00"+code]; ok {
			return rule, true
		}
		if rule, ok := b.taxes[reg+"\x00"]; ok {
			return rule, true
		}
	}
	return nil, false
}

// validID checks id with ensemble.CheckID, the validation every id type of
// the library shares: invoice ids hold no '/', which joins line ids, nor
// ensemble.EntrySeparators, as line ids become part of payout entry ids.
func validID(id string) error {
	if id == "" {
		return ErrRequired
	}
	if err := ensemble.CheckID(id, "/"+ensemble.EntrySeparators); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	return nil
}

// loadZone reads an IANA zone name, refusing paths.
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, "..") || name == "Local" {
		return nil, bad(ErrUnknown, "time zone %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad(ErrUnknown, "time zone %q", name)
	}
	return loc, nil
}

// cadenceOf returns the subscription's billing cadence (monthly if unset).
func cadenceOf(s *Subscription) ensemble.Cadence {
	if s.Cadence == (ensemble.Cadence{}) {
		return ensemble.Every(1, ensemble.Monthly)
	}
	return s.Cadence
}

// fmtTime writes an instant compactly for IDs, in UTC, to the nanosecond
// when it has a fraction.
func fmtTime(t time.Time) string { return string(appendTime(nil, t)) }

// appendTime appends fmtTime's form of t to buf.
func appendTime(buf []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(buf, "20060102T150405.000000000Z")
	}
	h, mi, s := t.Clock()
	buf = appendDigits(buf, y, 4)
	buf = appendDigits(buf, int(mo), 2)
	buf = appendDigits(buf, d, 2)
	buf = append(buf, 'T')
	buf = appendDigits(buf, h, 2)
	buf = appendDigits(buf, mi, 2)
	buf = appendDigits(buf, s, 2)
	if ns := t.Nanosecond(); ns != 0 {
		buf = append(buf, '.')
		buf = appendDigits(buf, ns, 9)
	}
	return append(buf, 'Z')
}

// appendDigits appends n (0 <= n < 10^width) in exactly width digits.
func appendDigits(buf []byte, n, width int) []byte {
	var tmp [9]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(buf, tmp[:width]...)
}
