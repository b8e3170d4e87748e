package catalog

import "github.com/shopspring/decimal"

// RateExact rates q as Rate does, but on the exact decimal path only, never
// the fixed-point one, so that tests can compare the two.
func RateExact(r *Rater, q decimal.Decimal, opts RateOptions) (Rating, error) {
	if err := opts.check(); err != nil {
		return Rating{}, err
	}
	if err := checkQuantity(q); err != nil {
		return Rating{}, r.wrap(err)
	}
	rt := Rating{Price: r.ref, Quantity: q}
	r.slowLines(&rt, q)
	r.waiveAtZero(&rt, q)
	r.finish(&rt, opts)
	return r.checked(rt)
}
