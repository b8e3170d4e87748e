package settlement

import (
	"fmt"
	"math/big"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// A supplier cost may be owed in another currency than its line's: a
// bundle's fixed cost in euros on a dollar line (catalog.SupplierCost's
// Source and Rate). The line's ledger keeps every part in the line's
// currency, as the split takes it from the basis, and the supplier is paid
// the cost in its own currency, as its contract says, whatever the rate
// when it is paid out: the part's entries carry their amount in the cost's
// currency and, in Conversion, what they move of the line in the line's
// currency.
//
// Every later change of the part takes x line units off the top of one of
// its levels (what it has unreversed, or what awaits the customer's
// payment): a credit's clawback, a dispute's hold and release, what awaits
// collection and what is collected. In the cost's currency that is
// cost(level) − cost(level − x), where cost(y) = source × y / amount,
// rounded half up, measured on the same function for every change, so the
// changes of a level add up exactly: a last credit takes back the whole
// source left, whatever credits came before, and the supplier's balance in
// its currency is cost(unreversed) − cost(awaiting) at every point.

// costSource is a ledger part owed in another currency than its line's.
type costSource struct {
	part  int
	units int64             // what the part owes in cur, in all
	cur   ensemble.Currency // the cost's currency
	rate  ensemble.Ratio    // one unit of cur in the line's currency, as the cost was converted
}

// source returns what the line owes part i in another currency, or nil
// when the part is in the line's.
func (l *ledger) source(i int) *costSource {
	if l.sources == nil {
		return nil
	}
	for k := range *l.sources {
		if s := &(*l.sources)[k]; s.part == i {
			return s
		}
	}
	return nil
}

// span returns the amount of an entry of part i that moves hi − lo line
// units (0 <= lo <= hi <= the part's amount) off the top of a level that
// stood at hi, negated with neg, and its conversion: nil for a part in
// the line's currency.
func (l *ledger) span(i int, lo, hi int64, neg bool) (ensemble.Money, *Conversion) {
	x := hi - lo
	if neg {
		x = -x
	}
	line := ensemble.MoneyFromMinor(x, l.ctx.cur)
	s := l.source(i)
	if s == nil {
		return line, nil
	}
	u := s.at(hi, l.units(i)) - s.at(lo, l.units(i))
	if neg {
		u = -u
	}
	m := ensemble.MoneyFromMinor(u, s.cur)
	return m, &Conversion{From: m, Rate: s.rate, To: line}
}

// at returns cost(y) for a part of amount line units: the source × y /
// amount, rounded half up (exact beyond the int64 range of the product).
func (s *costSource) at(y, amount int64) int64 {
	if y == amount {
		return s.units
	}
	return basisShare(s.units, y, amount, false)
}

// sourceOf returns what supplier cost c, of cost units of the line's
// currency, owes in its own currency, and whether it is owed in another
// currency than the line's (checkSource checked it): the source, or for a
// cost cut to what the line's net leaves (Capped), the same share of it,
// rounded half up.
func sourceOf(c *catalog.SupplierCost, cost int64) (int64, bool, error) {
	if c.Source.IsZero() {
		return 0, false, nil
	}
	src, err := c.Source.MinorUnits()
	if err != nil {
		return 0, false, err
	}
	if c.Capped.IsZero() {
		return src, true, nil
	}
	capped, err := c.Capped.MinorUnits()
	if err != nil {
		return 0, false, err
	}
	return basisShare(src, cost, cost+capped, false), true, nil
}

// checkSource checks the conversion of a supplier cost owed in another
// currency than the line's: a positive source in whole minor units of
// another currency, a positive rate, and a cost (with what a cap cut off
// it) within a minor unit of source × rate, so the supplier is owed what
// its contract says.
func checkSource(c *catalog.SupplierCost, cur ensemble.Currency) error {
	switch {
	case c.Source.IsZero():
		if !c.Rate.IsZero() {
			return fmt.Errorf("a rate of %s without a source", c.Rate)
		}
		return nil
	case c.Source.Currency() == cur:
		return fmt.Errorf("source %s is in the line's currency: a source is the cost in another currency", c.Source)
	case !c.Source.IsPositive() || !c.Source.IsRounded():
		return fmt.Errorf("source %s must be positive, whole minor units", c.Source)
	case c.Rate.Sign() <= 0:
		return fmt.Errorf("source %s has no positive rate to the line's %s", c.Source, cur)
	case c.Cost.IsZero() || !c.Cost.IsRounded() || !c.Capped.IsRounded() || c.Capped.IsNegative():
		return nil // reported as the cost's problem, or nothing owed
	}
	if !c.Capped.IsZero() && c.Capped.Currency() != cur {
		return fmt.Errorf("capped %s: %w", c.Capped, ErrCurrency)
	}
	// |cost + capped − source × rate| < one minor unit of the line's
	// currency, exactly.
	owed := c.Cost
	if !c.Capped.IsZero() {
		var err error
		if owed, err = c.Cost.Add(c.Capped); err != nil {
			return err
		}
	}
	if gap(c.Source, c.Rate, owed).Cmp(minorUnit(cur)) >= 0 {
		return fmt.Errorf("cost %s is not source %s × rate %s", owed, c.Source, c.Rate)
	}
	return nil
}

// source reads what part j (of amount line units) owes in another
// currency than the line's, and reports whether it does: a supplier
// cost's positive source in whole minor units of another currency, and a
// positive rate under which the source is the amount, within a minor unit
// of each currency (a cap cuts the source in proportion, within one unit
// of its own).
func (r *stateReader) source(path string, ll *LedgerLine, lp *LedgerPart, j int, amount int64, amountOK bool) (costSource, bool) {
	fail := func(field string, format string, args ...any) {
		r.fail(path+"."+field, ll.Line, lp.Entry, nil, format, args...)
	}
	cur := ll.Basis.Currency()
	switch {
	case lp.Source.IsZero():
		if !lp.Rate.IsZero() {
			fail("rate", "a rate of %s without a source", lp.Rate)
		}
		return costSource{}, false
	case lp.Kind != KindSupplierCost:
		fail("source", "a source on a part of kind %s: only a supplier cost is owed in another currency", lp.Kind)
	case lp.Source.Currency() == cur:
		fail("source", "source %s is in the line's currency", lp.Source)
	case !lp.Source.IsPositive() || !lp.Source.IsRounded():
		fail("source", "source %s: want positive, whole minor units", lp.Source)
	case lp.Rate.Sign() <= 0:
		fail("rate", "rate %s: a source needs a positive rate", lp.Rate)
	case !amountOK:
	case amount <= 0:
		fail("source", "source %s on a part of amount %s", lp.Source, lp.Amount)
	default:
		limit := new(big.Rat).Add(minorUnit(cur), new(big.Rat).Mul(minorUnit(lp.Source.Currency()), lp.Rate.Rat()))
		if gap(lp.Source, lp.Rate, lp.Amount).Cmp(limit) >= 0 {
			fail("source", "source %s at rate %s is not the amount %s", lp.Source, lp.Rate, lp.Amount)
			return costSource{}, false
		}
		units, _ := lp.Source.MinorUnits()
		return costSource{part: j, units: units, cur: lp.Source.Currency(), rate: lp.Rate}, true
	}
	return costSource{}, false
}

// gap returns |source × rate − amount|, exactly, in major units of
// amount's currency.
func gap(source ensemble.Money, rate ensemble.Ratio, amount ensemble.Money) *big.Rat {
	d := new(big.Rat).Mul(source.Amount().Rat(), rate.Rat())
	d.Sub(d, amount.Amount().Rat())
	return d.Abs(d)
}

// minorUnit returns one minor unit of cur, in major units.
func minorUnit(cur ensemble.Currency) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(cur.Digits())), nil))
}
