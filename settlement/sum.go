package settlement

import (
	"fmt"
	"math"
	"math/big"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
)

// sum is an exact sum of whole minor units of one currency: an int64 while
// it fits, a big.Int beyond, so that no fold of entries (statements,
// merges, metrics, explanations) overflows. The zero sum is zero.
type sum struct {
	small int64
	big   *big.Int // the sum when set; never changed once set, so copies of a sum may share it
}

// add adds u minor units.
func (s *sum) add(u int64) {
	if s.big == nil {
		if r := s.small + u; (r > s.small) == (u > 0) {
			s.small = r
			return
		}
	}
	s.big = new(big.Int).Add(s.bigInt(), big.NewInt(u))
	s.normalize()
}

// plus adds o.
func (s *sum) plus(o sum) {
	if o.big == nil {
		s.add(o.small)
		return
	}
	s.big = new(big.Int).Add(s.bigInt(), o.big)
	s.normalize()
}

// minus subtracts o.
func (s *sum) minus(o sum) { s.plus(o.neg()) }

// neg returns -s.
func (s sum) neg() sum {
	if s.big == nil && s.small != math.MinInt64 {
		return sum{small: -s.small}
	}
	n := sum{big: new(big.Int).Neg(s.bigInt())}
	n.normalize()
	return n
}

// normalize keeps a sum that fits an int64 in small, and small zero
// otherwise.
func (s *sum) normalize() {
	switch {
	case s.big == nil:
	case s.big.IsInt64():
		s.small, s.big = s.big.Int64(), nil
	default:
		s.small = 0
	}
}

// bigInt returns s as a big.Int (a new one when s is small; never change
// the result).
func (s sum) bigInt() *big.Int {
	if s.big != nil {
		return s.big
	}
	return big.NewInt(s.small)
}

// sign returns -1, 0 or +1.
func (s sum) sign() int {
	if s.big != nil {
		return s.big.Sign()
	}
	switch {
	case s.small < 0:
		return -1
	case s.small > 0:
		return 1
	}
	return 0
}

// cmp compares s and o: -1, 0 or +1.
func (s sum) cmp(o sum) int {
	if s.big == nil && o.big == nil {
		switch {
		case s.small < o.small:
			return -1
		case s.small > o.small:
			return 1
		}
		return 0
	}
	return s.bigInt().Cmp(o.bigInt())
}

// money returns s as Money of cur.
func (s sum) money(cur ensemble.Currency) ensemble.Money {
	if s.big == nil {
		return ensemble.MoneyFromMinor(s.small, cur)
	}
	return ensemble.MoneyFromDecimal(decimal.NewFromBigInt(s.big, -cur.Digits()), cur)
}

// ratio returns num / den exactly; den must not be zero.
func ratio(num, den sum) ensemble.Ratio {
	return ensemble.RatioFromRat(new(big.Rat).SetFrac(num.bigInt(), den.bigInt()))
}

// tally reads Money into sums of minor units and keeps the first error, so
// that no fold discards a Money error: every amount a reader adds goes
// through it, and the reader returns t.err.
type tally struct{ err error }

// units returns m in whole minor units of its currency, however large.
// An amount finer than the minor unit counts as zero and records t's
// error (wrapping ensemble.ErrNotMinorUnits, prefixed with where()),
// unless an earlier one was kept.
func (t *tally) units(m ensemble.Money, where func() string) sum {
	if u, err := m.MinorUnits(); err == nil {
		return sum{small: u}
	}
	d := m.Amount().Shift(m.Currency().Digits())
	if !d.IsInteger() {
		t.fail(fmt.Errorf("%s: %w: %s", where(), ensemble.ErrNotMinorUnits, m))
		return sum{}
	}
	s := sum{big: d.BigInt()}
	s.normalize()
	return s
}

// fail keeps err if it is the first.
func (t *tally) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}
