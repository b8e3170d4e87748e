package catalog

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// Catalog is a validated, compiled set of offer versions. It is immutable
// and safe for concurrent use: changes (a new version, a retirement) return
// a new Catalog, so a version an order pinned never changes under it.
type Catalog struct {
	offers []*entry             // sorted by offer ID, then version
	byID   map[OfferID][]*entry // each sorted by version
	ids    []OfferID            // sorted
	units  []ensemble.Unit      // as declared
}

// entry is one compiled offer version: its price book in its Currency,
// and one per further currency.
type entry struct {
	offer Offer
	book
	books map[string]*book // by currency key: the further currencies
}

// book is an offer version compiled in one of its currencies.
type book struct {
	cur    ensemble.Currency
	raters map[ChargeID]*Rater
	costs  *bundleCosts // bundles only
}

// in returns the offer's book in cur, if it is priced in it.
func (e *entry) in(cur ensemble.Currency) (*book, bool) {
	if cur == e.cur {
		return &e.book, true
	}
	b, ok := e.books[cur.Key()]
	return b, ok
}

// currencyError is the *CurrencyError of code, which e does not price.
func (e *entry) currencyError(code string) error {
	return &CurrencyError{Offer: e.offer.ID, Version: e.offer.Version, Currency: code,
		Currencies: append([]string{e.offer.Currency}, e.offer.Currencies...)}
}

// New validates doc and compiles it: every offer version, charge, price,
// bundle and add-on is checked, and every problem is reported at once as an
// *ensemble.ValidationError (subject "catalog") whose problems are
// *OfferError values with paths such as offers[3].charges[1].price.tiers[2].up_to
// (indexes into doc as given). On success the Catalog holds a deep copy of
// doc, with effective instants in UTC, so later changes to doc do not reach
// it.
func New(doc Document) (*Catalog, error) {
	units, err := validateDocument(&doc)
	if err != nil {
		return nil, err
	}
	c := &Catalog{byID: make(map[OfferID][]*entry), units: slices.Clone(doc.Units)}
	for i := range doc.Offers {
		o := cloneOffer(&doc.Offers[i])
		sortOffer(&o)
		o.EffectiveFrom = o.EffectiveFrom.UTC()
		if !o.EffectiveUntil.IsZero() {
			o.EffectiveUntil = o.EffectiveUntil.UTC()
		}
		// validateDocument resolved every code below: an error here is a
		// bug in it, returned rather than dropped.
		cur, err := units.Currency(o.Currency)
		if err != nil {
			return nil, fmt.Errorf("catalog: offer %q@%d: %w", o.ID, o.Version, err)
		}
		o.Currency = cur.Key()
		for j := range o.Components {
			if code := o.Components[j].Cost.Currency; code != "" {
				cc, err := units.Currency(code)
				if err != nil {
					return nil, fmt.Errorf("catalog: offer %q@%d: %w", o.ID, o.Version, err)
				}
				o.Components[j].Cost.Currency = cc.Key()
			}
		}
		for j, code := range o.Currencies {
			bc, err := units.Currency(code)
			if err != nil {
				return nil, fmt.Errorf("catalog: offer %q@%d: %w", o.ID, o.Version, err)
			}
			o.Currencies[j] = bc.Key()
		}
		slices.Sort(o.Currencies)
		for j := range o.Charges {
			ch := &o.Charges[j]
			if ch.Prices == nil {
				continue
			}
			prices := make(map[string]Price, len(ch.Prices))
			for code, p := range ch.Prices {
				bc, err := units.Currency(code)
				if err != nil {
					return nil, fmt.Errorf("catalog: offer %q@%d: %w", o.ID, o.Version, err)
				}
				if p.Model == ModelUnspecified {
					p.Model = ch.Price.Model
				}
				prices[bc.Key()] = p
			}
			ch.Prices = prices
		}
		for j := range o.Components {
			cost := &o.Components[j].Cost
			if cost.FixedIn == nil {
				continue
			}
			fixed := make(map[string]decimal.Decimal, len(cost.FixedIn))
			for code, d := range cost.FixedIn {
				bc, err := units.Currency(code)
				if err != nil {
					return nil, fmt.Errorf("catalog: offer %q@%d: %w", o.ID, o.Version, err)
				}
				fixed[bc.Key()] = d
			}
			cost.FixedIn = fixed
		}
		e := &entry{offer: o}
		if e.book, err = compileBook(&o, cur, "", units); err != nil {
			return nil, err
		}
		for _, key := range o.Currencies {
			bc, _ := units.Currency(key) // resolved above
			b, err := compileBook(&o, bc, key, units)
			if err != nil {
				return nil, err
			}
			if e.books == nil {
				e.books = make(map[string]*book, len(o.Currencies))
			}
			e.books[key] = &b
		}
		c.offers = append(c.offers, e)
		c.byID[o.ID] = append(c.byID[o.ID], e)
	}
	byPin := func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.offer.ID, b.offer.ID), cmp.Compare(a.offer.Version, b.offer.Version))
	}
	slices.SortFunc(c.offers, byPin)
	for _, vs := range c.byID {
		slices.SortFunc(vs, byPin)
	}
	c.ids = slices.Sorted(maps.Keys(c.byID))
	return c, nil
}

// compileBook compiles validated offer o in currency cur: its Currency
// (key empty) or the further currency key, whose prices are the charges'
// Prices and the costs' FixedIn.
func compileBook(o *Offer, cur ensemble.Currency, key string, units *ensemble.Units) (book, error) {
	b := book{cur: cur, raters: make(map[ChargeID]*Rater, len(o.Charges))}
	pin := o.Pin()
	for _, ch := range o.Charges {
		p := ch.Price
		if key != "" {
			p = ch.Prices[key]
		}
		b.raters[ch.ID] = compilePrice(p, cur, pin.PriceRef(ch.ID))
	}
	if o.Kind == Bundle {
		var err error
		if b.costs, err = compileCosts(o, cur, key, units); err != nil {
			return book{}, err
		}
	}
	return b, nil
}

// sortOffer puts the collections of o in their canonical order: charges by
// ID, components by offer then supplier (the charges each cost applies to
// by ID), attachable offers by ID.
func sortOffer(o *Offer) {
	slices.SortStableFunc(o.Charges, func(a, b Charge) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(o.Components, func(a, b Component) int {
		return cmp.Or(cmp.Compare(a.Offer, b.Offer), cmp.Compare(a.Supplier, b.Supplier))
	})
	for j := range o.Components {
		slices.Sort(o.Components[j].Cost.AppliesTo.Charges)
	}
	slices.Sort(o.AttachesTo)
}

// cloneOffer deep-copies o.
func cloneOffer(o *Offer) Offer {
	c := *o
	c.Attributes = maps.Clone(o.Attributes)
	c.Components = slices.Clone(o.Components)
	for j := range c.Components {
		c.Components[j].Cost.AppliesTo.Charges = slices.Clone(c.Components[j].Cost.AppliesTo.Charges)
	}
	for j := range c.Components {
		c.Components[j].Cost.FixedIn = maps.Clone(c.Components[j].Cost.FixedIn)
	}
	c.AttachesTo = slices.Clone(o.AttachesTo)
	c.Currencies = slices.Clone(o.Currencies)
	if o.Charges != nil {
		c.Charges = make([]Charge, len(o.Charges))
		for i, ch := range o.Charges {
			c.Charges[i] = cloneCharge(ch)
		}
	}
	return c
}

// cloneCharge deep-copies ch's prices.
func cloneCharge(ch Charge) Charge {
	ch.Price = clonePrice(ch.Price)
	if ch.Prices != nil {
		prices := make(map[string]Price, len(ch.Prices))
		for k, p := range ch.Prices {
			prices[k] = clonePrice(p)
		}
		ch.Prices = prices
	}
	return ch
}

// Load reads a catalog Document from JSON strictly (ensemble.DecodeJSON:
// empty input, byte-order marks, invalid UTF-8, unknown fields, repeated or
// case-variant keys, trailing data and documents over
// ensemble.MaxDocumentBytes are *ensemble.DecodeError naming the line,
// column and path) and validates it with New. Decimals are JSON strings (or
// numbers, read from their text).
func Load(data []byte) (*Catalog, error) {
	var doc Document
	if err := ensemble.DecodeDocument("catalog", data, &doc); err != nil {
		return nil, err
	}
	return New(doc)
}

// LoadYAML reads a catalog Document from YAML (converted with
// ensemble.YAMLToJSON, so numbers keep their exact text) and validates it
// with New. Field names are the JSON ones.
func LoadYAML(data []byte) (*Catalog, error) {
	j, err := ensemble.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c, err := Load(j)
	return c, ensemble.PlaceYAML(data, j, "", err)
}

// Document returns a deep copy of the catalog's document: offers sorted by
// ID then version, each offer's charges by ID, components by offer then
// supplier, attachable offers by ID. New(c.Document()) rebuilds c.
func (c *Catalog) Document() Document {
	doc := Document{Units: slices.Clone(c.units), Offers: make([]Offer, len(c.offers))}
	for i, e := range c.offers {
		doc.Offers[i] = cloneOffer(&e.offer)
	}
	return doc
}

// MarshalJSON writes the catalog's Document.
func (c *Catalog) MarshalJSON() ([]byte, error) { return json.Marshal(c.Document()) }

// UnmarshalJSON reads a Document as Load does and replaces c with it.
func (c *Catalog) UnmarshalJSON(b []byte) error {
	n, err := Load(b)
	if err != nil {
		return err
	}
	*c = *n
	return nil
}

// IDs returns the IDs of every offer, sorted.
func (c *Catalog) IDs() []OfferID { return slices.Clone(c.ids) }

// Versions returns the pins of every version of offer id, by version.
func (c *Catalog) Versions(id OfferID) []Pin {
	vs := c.byID[id]
	pins := make([]Pin, len(vs))
	for i, e := range vs {
		pins[i] = e.offer.Pin()
	}
	return pins
}

// entry finds a pinned version.
func (c *Catalog) entry(p Pin) (*entry, error) {
	vs := c.byID[p.Offer]
	i, ok := slices.BinarySearchFunc(vs, p.Version, func(e *entry, v int) int { return cmp.Compare(e.offer.Version, v) })
	if !ok {
		return nil, &LookupError{Offer: p.Offer, Version: p.Version, Err: ErrNotFound}
	}
	return vs[i], nil
}

// Offer returns a deep copy of the pinned offer version, whatever its
// effective period: an order keeps resolving the version it was quoted on
// after newer versions appear and after the version is retired. A pin the
// catalog lacks is a *LookupError wrapping ErrNotFound.
func (c *Catalog) Offer(p Pin) (Offer, error) {
	e, err := c.entry(p)
	if err != nil {
		return Offer{}, err
	}
	return cloneOffer(&e.offer), nil
}

// OfferAt returns a deep copy of the version of offer id in force at
// instant at: the one whose [EffectiveFrom, EffectiveUntil) holds it.
// Versions never overlap, so there is at most one. An unknown id wraps
// ErrNotFound and an instant no version covers wraps ErrNotInForce, both
// in a *LookupError.
func (c *Catalog) OfferAt(id OfferID, at time.Time) (Offer, error) {
	p, err := c.PinAt(id, at)
	if err != nil {
		return Offer{}, err
	}
	return c.Offer(p)
}

// PinAt returns the pin of the version of offer id in force at instant at,
// with OfferAt's errors. An order stores it to keep its price.
func (c *Catalog) PinAt(id OfferID, at time.Time) (Pin, error) {
	vs := c.byID[id]
	if len(vs) == 0 {
		return Pin{}, &LookupError{Offer: id, At: at, Err: ErrNotFound}
	}
	for _, e := range vs {
		if e.offer.InForce(at) {
			return e.offer.Pin(), nil
		}
	}
	return Pin{}, &LookupError{Offer: id, At: at, Err: ErrNotInForce}
}

// Currency returns the currency of the pinned offer version (its
// Currency; Currencies lists the further ones it is priced in).
func (c *Catalog) Currency(p Pin) (ensemble.Currency, error) {
	e, err := c.entry(p)
	if err != nil {
		return ensemble.Currency{}, err
	}
	return e.cur, nil
}

// Currencies returns every currency the pinned offer version is priced in:
// its Currency first, then its further Currencies sorted by key.
func (c *Catalog) Currencies(p Pin) ([]ensemble.Currency, error) {
	e, err := c.entry(p)
	if err != nil {
		return nil, err
	}
	out := []ensemble.Currency{e.cur}
	for _, k := range e.offer.Currencies {
		out = append(out, e.books[k].cur)
	}
	return out, nil
}

// PricedIn returns the currency code names (an ISO 4217 code, or a unit the
// catalog declares, by its bare code or its key "GEMS:0") when the pinned
// offer version is priced in it. A currency it does not price, or a code
// that names none, is a *CurrencyError (wrapping ErrCurrency) naming the
// offer and its currencies; a pin the catalog lacks is a *LookupError.
func (c *Catalog) PricedIn(p Pin, code string) (ensemble.Currency, error) {
	e, err := c.entry(p)
	if err != nil {
		return ensemble.Currency{}, err
	}
	units, err := ensemble.NewUnits(c.units...)
	if err != nil {
		return ensemble.Currency{}, err // validated by New: not reached
	}
	cur, err := units.Currency(code)
	if err != nil {
		return ensemble.Currency{}, e.currencyError(code)
	}
	if _, ok := e.in(cur); !ok {
		return ensemble.Currency{}, e.currencyError(code)
	}
	return cur, nil
}

// RaterIn returns the compiled price of charge ch of the pinned offer
// version in currency cur: its Price in the offer's Currency, its Prices
// entry in a further one. A currency the offer does not price is a
// *CurrencyError; missing pins and charges are a *LookupError wrapping
// ErrNotFound.
func (c *Catalog) RaterIn(p Pin, ch ChargeID, cur ensemble.Currency) (*Rater, error) {
	e, err := c.entry(p)
	if err != nil {
		return nil, err
	}
	b, ok := e.in(cur)
	if !ok {
		return nil, e.currencyError(cur.Key())
	}
	r, ok := b.raters[ch]
	if !ok {
		return nil, chargeNotFound(p, ch)
	}
	return r, nil
}

// Rater returns the compiled price of charge ch in the pinned offer
// version, in the offer's Currency (RaterIn rates in a further one); its
// Ratings carry the price's Ref. Missing pins and charges are
// a *LookupError wrapping ErrNotFound.
func (c *Catalog) Rater(p Pin, ch ChargeID) (*Rater, error) {
	e, err := c.entry(p)
	if err != nil {
		return nil, err
	}
	r, ok := e.raters[ch]
	if !ok {
		return nil, chargeNotFound(p, ch)
	}
	return r, nil
}

// chargeNotFound is the *LookupError of charge ch, missing from the
// pinned offer version; an empty ch is said, not left out of the message
// as if no charge were asked.
func chargeNotFound(p Pin, ch ChargeID) error {
	if ch == "" {
		return &LookupError{Offer: p.Offer, Version: p.Version, Err: fmt.Errorf("%w: the charge id is empty", ErrNotFound)}
	}
	return &LookupError{Offer: p.Offer, Version: p.Version, Charge: ch, Err: ErrNotFound}
}

// Charge returns a copy of charge ch of the pinned offer version (its type,
// cadence, timing, meter and price). Missing pins and charges are a
// *LookupError wrapping ErrNotFound.
func (c *Catalog) Charge(p Pin, ch ChargeID) (Charge, error) {
	e, err := c.entry(p)
	if err != nil {
		return Charge{}, err
	}
	i, ok := slices.BinarySearchFunc(e.offer.Charges, ch, func(x Charge, id ChargeID) int { return cmp.Compare(x.ID, id) })
	if !ok {
		return Charge{}, chargeNotFound(p, ch)
	}
	return cloneCharge(e.offer.Charges[i]), nil
}

// With returns a new catalog holding c's offers and the given ones (new
// versions, new offers), validated together as New does. c is unchanged.
func (c *Catalog) With(offers ...Offer) (*Catalog, error) {
	doc := c.Document()
	for i := range offers {
		doc.Offers = append(doc.Offers, cloneOffer(&offers[i]))
	}
	return New(doc)
}

// Retire returns a new catalog in which the pinned version stops being in
// force at instant at: its EffectiveUntil becomes at, unless it already
// ends earlier. Offer(p) keeps resolving it, so pinned orders keep their
// price. A pin the catalog lacks wraps ErrNotFound; an at not after the
// version's EffectiveFrom is a validation error (ErrPeriod). c is
// unchanged.
func (c *Catalog) Retire(p Pin, at time.Time) (*Catalog, error) {
	if _, err := c.entry(p); err != nil {
		return nil, err
	}
	doc := c.Document()
	for i := range doc.Offers {
		o := &doc.Offers[i]
		if o.Pin() == p && (o.EffectiveUntil.IsZero() || at.Before(o.EffectiveUntil)) {
			o.EffectiveUntil = at
		}
	}
	return New(doc)
}

// CheckQuantity reports whether qty is within the pinned offer's minimum
// and maximum quantity and, for an offer counting whole units
// (QuantityWhole), an integer. A quantity outside them is an *OfferError
// wrapping ErrQuantity, a fraction of a whole-unit offer one wrapping
// ErrFractionalQuantity (Value: the quantity); a negative one wraps
// ErrNegativeQuantity, one with more than 40 digits or an exponent beyond
// ±40 ErrOutOfRange.
func (c *Catalog) CheckQuantity(p Pin, qty decimal.Decimal) error {
	e, err := c.entry(p)
	if err != nil {
		return err
	}
	return e.checkQuantity(qty)
}

func (e *entry) checkQuantity(qty decimal.Decimal) error {
	o := &e.offer
	if qty.Sign() < 0 {
		return &OfferError{Offer: o.ID, Version: o.Version, Value: qty.String(), Err: ErrNegativeQuantity}
	}
	if !decimalInRange(qty) {
		return &OfferError{Offer: o.ID, Version: o.Version, Value: qty.String(), Err: ErrOutOfRange}
	}
	if qty.Cmp(o.MinQuantity) < 0 || (o.MaxQuantity.Sign() > 0 && qty.Cmp(o.MaxQuantity) > 0) {
		bounds := "[" + o.MinQuantity.String() + ", "
		if o.MaxQuantity.Sign() > 0 {
			bounds += o.MaxQuantity.String() + "]"
		} else {
			bounds += "∞)"
		}
		return &OfferError{Offer: o.ID, Version: o.Version, Value: qty.String() + " not in " + bounds, Err: ErrQuantity}
	}
	if o.Quantity == QuantityWhole && !qty.IsInteger() {
		return &OfferError{Offer: o.ID, Version: o.Version, Value: qty.String(), Err: ErrFractionalQuantity}
	}
	return nil
}

// CheckAttach reports whether qty units of the pinned add-on may be
// attached to the pinned base offer version: the add-on must be an AddOn
// naming the base offer in AttachesTo, and qty must be within the add-on's
// minimum and maximum quantity per base (and an integer if the add-on
// counts whole units). Errors are *OfferError values wrapping
// ErrNotAttachable, ErrQuantity or ErrFractionalQuantity, or a
// *LookupError.
func (c *Catalog) CheckAttach(addOn, base Pin, qty decimal.Decimal) error {
	a, err := c.entry(addOn)
	if err != nil {
		return err
	}
	if _, err := c.entry(base); err != nil {
		return err
	}
	o := &a.offer
	if o.Kind != AddOn {
		return &OfferError{Offer: o.ID, Version: o.Version, Value: "kind " + o.Kind.String(), Err: ErrNotAttachable}
	}
	if _, ok := slices.BinarySearch(o.AttachesTo, base.Offer); !ok {
		return &OfferError{Offer: o.ID, Version: o.Version, Value: string(base.Offer), Err: ErrNotAttachable}
	}
	return a.checkQuantity(qty)
}
