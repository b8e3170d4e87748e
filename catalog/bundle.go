package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// CostOptions configures SupplierCosts. The zero value rounds fixed costs
// and conversions half away from zero, splits ratio costs by largest
// remainder, bills a whole cycle and has no exchange rates.
type CostOptions struct {
	// Mode rounds each fixed cost (fixed × component quantity × line
	// quantity × Fraction) to the minor unit of its currency, and each
	// conversion to the bundle's currency.
	Mode ensemble.RoundingMode `json:"mode"`
	// Method picks which ratio costs receive the minor units left over when
	// the retail amount is split by the components' ratios.
	Method ensemble.AllocationMethod `json:"method"`
	// Fraction is the share of its billing cycle a prorated recurring line
	// covers (invoice.Proration.Fraction), from 0 to 1; nil is a whole
	// cycle. A fixed cost, owed per bundle unit per cycle, is multiplied by
	// it before its one rounding; ratio costs follow retail, which is
	// prorated already.
	Fraction *ensemble.Ratio `json:"fraction,omitempty"`
	// Rates are the exchange rates a fixed cost in another currency than
	// the bundle's is converted at. A cost that applies and has no rate
	// for its pair is a *RateError wrapping ErrNoRate: never a default.
	Rates Rates `json:"rates,omitempty"`
	// At is the instant the rates are taken at: of a pair's rates, the one
	// in force then (ensemble.ExchangeRates.At: the latest Since not after
	// At), so a rate from June on never converts a March cost (a
	// *RateError wrapping ErrNoRate when none is in force yet). Zero takes
	// the one rate given for the pair, whatever its Since
	// (ensemble.ExchangeRates.Find). An invoice run sets its own instant.
	At time.Time `json:"at,omitzero"`
}

// rate returns the rate from → to the options convert at: in force at At,
// or with a zero At the one given for the pair.
func (opts *CostOptions) rate(from, to ensemble.Currency) (ensemble.Ratio, error) {
	if opts.At.IsZero() {
		return opts.Rates.Find(from, to)
	}
	r, err := opts.Rates.At(from, to, opts.At)
	return r.Rate, err
}

// Rate is an exchange rate the host gives (the root package's, see
// ensemble.ExchangeRate): one unit of From (a supplier cost's currency) is
// worth Rate units of To (the bundle's), exactly.
type Rate = ensemble.ExchangeRate

// Rates are the exchange rates a host gives for one computation (an invoice
// run, say): SupplierCosts takes each pair's rate in force at
// CostOptions.At, or with a zero At the one rate given for the pair. A pair
// is used as given: the rate from USD to EUR is never derived from a rate
// from EUR to USD.
type Rates = ensemble.ExchangeRates

// SupplierCost is what one supplier is owed for one component of a bundle
// line, with what it was computed from, so that finance can redo the cent.
type SupplierCost struct {
	// Component is the trace reference of the bundle component.
	Component ensemble.Ref `json:"component"`
	// Offer is the component offer.
	Offer OfferID `json:"offer"`
	// Supplier is the supplier's partner ID.
	Supplier string `json:"supplier"`
	// Cost is the wholesale cost, in whole minor units of the bundle's
	// currency; zero for a cost that does not apply (Costs.NotApplied).
	Cost ensemble.Money `json:"cost"`
	// Ratio is the component's ratio of the retail amount; zero for a
	// fixed cost.
	Ratio ensemble.Ratio `json:"ratio,omitzero"`
	// Fixed is the component's fixed cost per bundle unit (its fixed
	// amount × component quantity), or per line when Per is CostPerLine,
	// in the cost's own currency; zero for a ratio cost.
	Fixed ensemble.Money `json:"fixed,omitzero"`
	// Per is what Fixed is owed for: each bundle unit (the default) or
	// each line.
	Per CostPer `json:"per,omitzero"`
	// AppliesTo is the component's scope: why the cost applies to the
	// line's charge, or why not.
	AppliesTo AppliesTo `json:"applies_to,omitzero"`
	// Source is, for a fixed cost in another currency than the bundle's,
	// the cost in that currency: Fixed × quantity (per unit) × fraction, rounded once
	// to that currency's minor unit. Zero otherwise. Package settlement
	// pays the supplier Source, in its currency, and takes Cost off the
	// line.
	Source ensemble.Money `json:"source,omitzero"`
	// Rate is the host's exchange rate Source was converted at (one unit of
	// Source's currency in the bundle's currency): Cost = round(Source ×
	// Rate), rounded once. Zero when there was no conversion.
	Rate ensemble.Ratio `json:"rate,omitzero"`
	// Capped is the part of a fixed cost a line could not carry, in the
	// bundle's currency: Cost + Capped is the cost before the cap. Zero
	// unless the cost was capped. SupplierCosts never caps (its Margin may
	// be negative); package invoice caps a line's costs at its net when
	// the component's Shortfall is ShortfallSupplier, so that after a
	// large discount the costs never exceed what the line charged (see
	// invoice.Line.SupplierCosts), and otherwise refuses the line.
	Capped ensemble.Money `json:"capped,omitzero"`
	// Shortfall is the component's WholesaleCost.Shortfall: who bears
	// what the line cannot carry of a fixed cost.
	Shortfall CostShortfall `json:"shortfall,omitzero"`
}

// Costs splits one bundle line's retail amount into what each supplier is
// owed and what is left: Retail = Σ Costs[i].Cost + Margin, exactly.
type Costs struct {
	// Bundle is the bundle version the line sold.
	Bundle Pin `json:"bundle"`
	// Charge is the bundle's charge the line bills.
	Charge ChargeID `json:"charge"`
	// Quantity is the line's quantity of bundles.
	Quantity decimal.Decimal `json:"quantity"`
	// Retail is the line's retail amount.
	Retail ensemble.Money `json:"retail"`
	// Costs holds one entry per component whose cost applies to Charge,
	// sorted by supplier, then offer.
	Costs []SupplierCost `json:"costs"`
	// NotApplied holds the components whose cost does not apply to Charge
	// (their AppliesTo says why), with a zero Cost, in the same order.
	NotApplied []SupplierCost `json:"not_applied,omitempty"`
	// Margin is Retail minus every cost; negative when fixed costs exceed
	// the retail amount.
	Margin ensemble.Money `json:"margin"`
}

// SupplierCosts computes the wholesale cost of every component of the
// pinned bundle whose cost applies to charge (WholesaleCost.AppliesTo), for
// a line billing quantity bundles of that charge for retail (net of tax, in
// whole minor units of one of the bundle's currencies: its Currency, or a
// further one whose price book, FixedIn amounts included, then applies):
//
//   - a fixed cost is fixed × component quantity × quantity × opts.Fraction
//     (without × quantity when it is owed per line, CostPerLine), rounded once to the minor unit of its currency in opts.Mode; in
//     another currency than the line's (its own Currency), that amount
//     (Source) is converted at opts.Rates and rounded once more, to the
//     minor unit of the line's currency:
//     Cost = round(Source × Rate);
//   - ratio costs come from one ensemble.Allocate of retail over the
//     ratios of the components that apply and the rest (1 − Σ those
//     ratios), so each is within one minor unit of retail × ratio and, with
//     the rest, they add up to retail exactly; leftover units go by
//     opts.Method, ties to the smaller "offer/supplier" key;
//   - a component whose cost does not apply is listed in NotApplied and
//     costs nothing;
//   - Margin is retail minus every cost.
//
// Errors: a pin that is not a bundle (*OfferError wrapping
// ErrFieldNotAllowed), is missing or lacks charge (*LookupError); retail in
// a currency the bundle is not priced in (a *CurrencyError wrapping
// ErrCurrency), negative (ErrNegative) or with digits below the minor unit (ensemble.ErrNotMinorUnits); a negative or
// out-of-range quantity; a Fraction outside [0, 1] (ErrOutOfRange); a
// fixed cost in another currency whose rate is missing or unusable
// (*RateError). A failed call returns the zero Costs.
func (c *Catalog) SupplierCosts(p Pin, charge ChargeID, retail ensemble.Money, quantity decimal.Decimal, opts CostOptions) (Costs, error) {
	e, err := c.entry(p)
	if err != nil {
		return Costs{}, err
	}
	o := &e.offer
	fail := func(cond error, value string) (Costs, error) {
		return Costs{}, &OfferError{Offer: o.ID, Version: o.Version, Charge: charge, Value: value, Err: cond}
	}
	if o.Kind != Bundle {
		return fail(ErrFieldNotAllowed, "supplier costs of a "+o.Kind.String())
	}
	bk := &e.book
	if !retail.Currency().IsZero() {
		var ok bool
		if bk, ok = e.in(retail.Currency()); !ok {
			return Costs{}, e.currencyError(retail.Currency().Key())
		}
	}
	bc := bk.costs
	cc, ok := bc.charges[charge]
	switch {
	case !ok:
		return Costs{}, &LookupError{Offer: o.ID, Version: o.Version, Charge: charge, Err: ErrNotFound}
	case retail.IsNegative():
		return fail(ErrNegative, retail.String())
	case !retail.IsRounded():
		return Costs{}, fmt.Errorf("catalog: offer %q@%d: retail %s: %w", o.ID, o.Version, retail, ensemble.ErrNotMinorUnits)
	case !opts.Mode.Valid() || !opts.Method.Valid():
		return Costs{}, fmt.Errorf("catalog: supplier costs: unknown rounding mode %s or method %s", opts.Mode, opts.Method)
	case opts.Fraction != nil && (opts.Fraction.Sign() < 0 || opts.Fraction.Cmp(ensemble.RatioFromInt(1)) > 0):
		return fail(ErrOutOfRange, "fraction "+opts.Fraction.String())
	}
	if err := checkQuantity(quantity); err != nil {
		return Costs{}, err
	}
	retail = ensemble.MoneyFromDecimal(retail.Amount(), bk.cur)
	zero := ensemble.MoneyFromMinor(0, bk.cur)
	out := Costs{Bundle: p, Charge: charge, Quantity: quantity, Retail: retail, Costs: make([]SupplierCost, 0, len(o.Components))}
	pos := make([]int, len(o.Components)) // each applying component's index in out.Costs
	for i, comp := range o.Components {
		sc := SupplierCost{Component: bc.refs[i], Offer: comp.Offer, Supplier: comp.Supplier, Cost: zero,
			Ratio: comp.Cost.Ratio, Per: comp.Cost.Per, AppliesTo: comp.Cost.AppliesTo, Shortfall: comp.Cost.Shortfall}
		if !comp.Cost.Fixed.IsZero() {
			sc.Fixed = ensemble.MoneyFromDecimal(bc.fixed[i], bc.cur[i])
		}
		if !cc.applies[i] {
			out.NotApplied = append(out.NotApplied, sc)
			continue
		}
		if !comp.Cost.Fixed.IsZero() {
			owed := sc.Fixed
			if comp.Cost.Per == CostPerUnit {
				owed = owed.Mul(quantity)
			}
			if opts.Fraction != nil {
				owed = owed.MulRatio(*opts.Fraction, opts.Mode)
			} else {
				owed = owed.Round(opts.Mode)
			}
			if bc.cur[i] == bk.cur {
				sc.Cost = owed
			} else {
				rate, err := opts.rate(bc.cur[i], bk.cur)
				if err != nil {
					if re := (*ensemble.RateError)(nil); errors.As(err, &re) {
						value := re.Value
						if errors.Is(err, ErrNoRate) && slices.ContainsFunc(opts.Rates, func(r Rate) bool { return r.From == re.To && r.To == re.From }) {
							value = "the rates hold " + re.To.Code() + " to " + re.From.Code() + ", never inverted: give " + re.From.Code() + " to " + re.To.Code()
						}
						err = &RateError{Offer: o.ID, Version: o.Version, Component: string(comp.Offer) + "/" + comp.Supplier,
							From: re.From, To: re.To, At: opts.At, Value: value, Err: re.Err}
					}
					return Costs{}, err
				}
				sc.Source, sc.Rate = owed, rate
				sc.Cost = ensemble.MoneyFromDecimal(owed.Amount(), bk.cur).MulRatio(rate, opts.Mode)
			}
		}
		pos[i] = len(out.Costs)
		out.Costs = append(out.Costs, sc)
	}
	if len(cc.shares) > 0 {
		parts, err := ensemble.Allocate(retail, cc.shares, ensemble.AllocateOptions{Method: opts.Method})
		if err != nil {
			return Costs{}, fmt.Errorf("catalog: offer %q@%d: %w", o.ID, o.Version, err)
		}
		for j, i := range cc.at {
			out.Costs[pos[i]].Cost = parts[j]
		}
	}
	var x ensemble.Arith
	margin := retail
	for _, sc := range out.Costs {
		margin = x.Sub(margin, sc.Cost) // one currency throughout: converted above
	}
	if err := x.Err(); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrCurrency, err), retail.String())
	}
	out.Margin = margin
	bySupplier := func(a, b SupplierCost) int {
		return cmp.Or(cmp.Compare(a.Supplier, b.Supplier), cmp.Compare(a.Offer, b.Offer))
	}
	slices.SortStableFunc(out.Costs, bySupplier)
	slices.SortStableFunc(out.NotApplied, bySupplier)
	return out, nil
}

// bundleCosts is what SupplierCosts needs of a bundle, computed once: each
// component's trace reference and fixed cost per bundle unit with its
// currency, and, per charge of the bundle, which components apply and the
// shares (their ratios, then the margin) that split the retail amount.
type bundleCosts struct {
	refs    []ensemble.Ref
	fixed   []decimal.Decimal   // fixed × component quantity
	cur     []ensemble.Currency // the currency of each fixed cost
	charges map[ChargeID]*chargeCosts
}

// chargeCosts is what applies to one charge of a bundle.
type chargeCosts struct {
	applies []bool // by component
	shares  []ensemble.Share
	at      []int // the component of each ratio share
}

// compileCosts compiles the costs of bundle o, whose currency is cur and
// whose components' cost currencies units resolves (validated: an error is
// a bug in validation, returned rather than dropped).
//
// key is empty for the bundle's Currency, or the further currency cur is,
// whose fixed costs in the bundle's currency are their FixedIn amounts.
func compileCosts(o *Offer, cur ensemble.Currency, key string, units *ensemble.Units) (*bundleCosts, error) {
	n := len(o.Components)
	bc := &bundleCosts{refs: make([]ensemble.Ref, n), fixed: make([]decimal.Decimal, n), cur: make([]ensemble.Currency, n),
		charges: make(map[ChargeID]*chargeCosts, len(o.Charges))}
	pin := o.Pin()
	for i, comp := range o.Components {
		bc.refs[i] = pin.ComponentRef(comp.Offer, comp.Supplier)
		cq := comp.Quantity
		if cq.IsZero() {
			cq = decimal.NewFromInt(1)
		}
		fixed := comp.Cost.Fixed
		if key != "" && comp.Cost.Currency == "" && !fixed.IsZero() {
			fixed = comp.Cost.FixedIn[key]
		}
		bc.fixed[i] = fixed.Mul(cq)
		bc.cur[i] = cur
		if comp.Cost.Currency != "" {
			c, err := units.Currency(comp.Cost.Currency)
			if err != nil {
				return nil, fmt.Errorf("catalog: offer %q@%d: %w", o.ID, o.Version, err)
			}
			bc.cur[i] = c
		}
	}
	for _, ch := range o.Charges {
		cc := &chargeCosts{applies: make([]bool, n)}
		rest := ensemble.RatioFromInt(1)
		for i, comp := range o.Components {
			cc.applies[i] = comp.Cost.AppliesTo.Includes(ch.ID, ch.Type, !comp.Cost.Fixed.IsZero())
			if cc.applies[i] && !comp.Cost.Ratio.IsZero() {
				cc.shares = append(cc.shares, ensemble.Share{Key: string(comp.Offer) + "/" + comp.Supplier, Weight: comp.Cost.Ratio})
				cc.at = append(cc.at, i)
				rest = rest.Sub(comp.Cost.Ratio)
			}
		}
		if len(cc.shares) > 0 {
			cc.shares = append(cc.shares, ensemble.Share{Key: "\xff", Weight: rest}) // the margin: sorts after every key
		}
		bc.charges[ch.ID] = cc
	}
	return bc, nil
}
