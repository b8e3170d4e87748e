package catalog

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// CostOptions configures SupplierCosts. The zero value rounds fixed costs
// half away from zero and splits ratio costs by largest remainder.
type CostOptions struct {
	// Mode rounds each fixed cost (fixed × component quantity × line
	// quantity) to the minor unit.
	Mode ensemble.RoundingMode `json:"mode"`
	// Method picks which ratio costs receive the minor units left over when
	// the retail amount is split by the components' ratios.
	Method ensemble.AllocationMethod `json:"method"`
}

// SupplierCost is what one supplier is owed for one component of a bundle
// line.
type SupplierCost struct {
	// Component is the trace reference of the bundle component.
	Component ensemble.Ref `json:"component"`
	// Offer is the component offer.
	Offer OfferID `json:"offer"`
	// Supplier is the supplier's partner ID.
	Supplier string `json:"supplier"`
	// Cost is the wholesale cost, in whole minor units of the bundle's
	// currency.
	Cost ensemble.Money `json:"cost"`
}

// Costs splits one bundle line's retail amount into what each supplier is
// owed and what is left: Retail = Σ Costs[i].Cost + Margin, exactly.
type Costs struct {
	// Bundle is the bundle version the line sold.
	Bundle Pin `json:"bundle"`
	// Quantity is the line's quantity of bundles.
	Quantity decimal.Decimal `json:"quantity"`
	// Retail is the line's retail amount.
	Retail ensemble.Money `json:"retail"`
	// Costs holds one entry per component, sorted by supplier, then offer.
	Costs []SupplierCost `json:"costs"`
	// Margin is Retail minus every cost; negative when fixed costs exceed
	// the retail amount.
	Margin ensemble.Money `json:"margin"`
}

// SupplierCosts computes the wholesale cost of every component of the
// pinned bundle for a line selling quantity bundles for retail (net of
// tax, in whole minor units of the bundle's currency):
//
//   - a fixed cost is fixed × component quantity × quantity, rounded to the
//     minor unit in opts.Mode;
//   - ratio costs come from one ensemble.Allocate of retail over the
//     components' ratios and the rest (1 − Σ ratios), so each is within one
//     minor unit of retail × ratio and, with the rest, they add up to retail
//     exactly; leftover units go by opts.Method, ties to the smaller
//     "offer/supplier" key;
//   - Margin is retail minus every cost.
//
// Errors: a pin that is not a bundle (*OfferError wrapping
// ErrFieldNotAllowed) or is missing (*LookupError); retail in another
// currency (ErrCurrency), negative (ErrNegative) or with digits below the
// minor unit (ensemble.ErrNotMinorUnits); a negative or out-of-range
// quantity. A failed call returns the zero Costs.
func (c *Catalog) SupplierCosts(p Pin, retail ensemble.Money, quantity decimal.Decimal, opts CostOptions) (Costs, error) {
	e, err := c.entry(p)
	if err != nil {
		return Costs{}, err
	}
	o := &e.offer
	fail := func(cond error, value string) (Costs, error) {
		return Costs{}, &OfferError{Offer: o.ID, Version: o.Version, Value: value, Err: cond}
	}
	switch {
	case o.Kind != Bundle:
		return fail(ErrFieldNotAllowed, "supplier costs of a "+o.Kind.String())
	case retail.Currency() != e.cur && !(retail.IsZero() && retail.Currency().IsZero()):
		return fail(ErrCurrency, retail.String())
	case retail.IsNegative():
		return fail(ErrNegative, retail.String())
	case !retail.IsRounded():
		return Costs{}, fmt.Errorf("catalog: offer %q@%d: retail %s: %w", o.ID, o.Version, retail, ensemble.ErrNotMinorUnits)
	case !opts.Mode.Valid() || !opts.Method.Valid():
		return Costs{}, fmt.Errorf("catalog: supplier costs: unknown rounding mode %s or method %s", opts.Mode, opts.Method)
	}
	if err := checkQuantity(quantity); err != nil {
		return Costs{}, err
	}
	retail = ensemble.MoneyFromDecimal(retail.Amount(), e.cur)
	bc := e.costs
	out := Costs{Bundle: p, Quantity: quantity, Retail: retail, Costs: make([]SupplierCost, len(o.Components))}
	for i, comp := range o.Components {
		out.Costs[i] = SupplierCost{Component: bc.refs[i], Offer: comp.Offer, Supplier: comp.Supplier,
			Cost: ensemble.MoneyFromDecimal(bc.fixed[i], e.cur).Mul(quantity).Round(opts.Mode)}
	}
	if len(bc.shares) > 0 {
		parts, err := ensemble.Allocate(retail, bc.shares, ensemble.AllocateOptions{Method: opts.Method})
		if err != nil {
			return Costs{}, fmt.Errorf("catalog: offer %q@%d: %w", o.ID, o.Version, err)
		}
		for j, i := range bc.at {
			out.Costs[i].Cost = parts[j]
		}
	}
	margin := retail
	for _, sc := range out.Costs {
		margin, _ = margin.Sub(sc.Cost) // one currency throughout
	}
	out.Margin = margin
	slices.SortStableFunc(out.Costs, func(a, b SupplierCost) int {
		return cmp.Or(cmp.Compare(a.Supplier, b.Supplier), cmp.Compare(a.Offer, b.Offer))
	})
	return out, nil
}

// bundleCosts is what SupplierCosts needs of a bundle, computed once: each
// component's trace reference and fixed cost per bundle unit, and the
// shares (ratio components, then the margin) that split the retail amount.
type bundleCosts struct {
	refs   []ensemble.Ref
	fixed  []decimal.Decimal // fixed × component quantity
	shares []ensemble.Share
	at     []int // the component of each ratio share
}

func compileCosts(o *Offer) *bundleCosts {
	bc := &bundleCosts{refs: make([]ensemble.Ref, len(o.Components)), fixed: make([]decimal.Decimal, len(o.Components))}
	rest := ensemble.RatioFromInt(1)
	pin := o.Pin()
	for i, comp := range o.Components {
		bc.refs[i] = pin.ComponentRef(comp.Offer, comp.Supplier)
		cq := comp.Quantity
		if cq.IsZero() {
			cq = decimal.NewFromInt(1)
		}
		bc.fixed[i] = comp.Cost.Fixed.Mul(cq)
		if !comp.Cost.Ratio.IsZero() {
			bc.shares = append(bc.shares, ensemble.Share{Key: string(comp.Offer) + "/" + comp.Supplier, Weight: comp.Cost.Ratio})
			bc.at = append(bc.at, i)
			rest = rest.Sub(comp.Cost.Ratio)
		}
	}
	if len(bc.shares) > 0 {
		bc.shares = append(bc.shares, ensemble.Share{Key: "\xff", Weight: rest}) // the margin: sorts after every key
	}
	return bc
}
