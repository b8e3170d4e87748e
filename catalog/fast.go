package catalog

import (
	"math"
	"math/bits"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// The fast path rates with non-negative int64 values at a decimal scale (v
// × 10^-s, 0 <= s <= 18). Every operation checks for overflow; on overflow,
// or for any value that does not fit, Amount falls back to the exact
// decimal path, so the fast path changes speed, never results.

// fx is a non-negative fixed-point decimal: v × 10^-s.
type fx struct {
	v int64
	s int32
}

const maxFastScale = 18

var pow10 = [maxFastScale + 1]int64{
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
	1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
}

// fxOf converts a non-negative decimal that fits.
func fxOf(d decimal.Decimal) (fx, bool) {
	if d.Sign() < 0 || d.NumDigits() > 18 {
		return fx{}, false
	}
	c, e := d.CoefficientInt64(), d.Exponent()
	if e <= 0 {
		if e < -maxFastScale {
			return fx{}, false
		}
		return fx{v: c, s: -e}, true
	}
	if e > maxFastScale {
		return fx{}, false
	}
	v, ok := mul(c, pow10[e])
	return fx{v: v}, ok
}

// mul returns a × b for non-negative operands, and whether it fits.
func mul(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	return int64(lo), hi == 0 && lo <= math.MaxInt64
}

// add returns a + b for non-negative operands, and whether it fits.
func add(a, b int64) (int64, bool) {
	s := a + b
	return s, s >= a
}

// at rescales x to scale s >= x.s.
func (x fx) at(s int32) (int64, bool) {
	if s == x.s {
		return x.v, true
	}
	if s < x.s || s > maxFastScale {
		return 0, false
	}
	return mul(x.v, pow10[s-x.s])
}

// sum returns x + y at the larger scale.
func (x fx) sum(y fx) (fx, bool) {
	s := max(x.s, y.s)
	a, ok1 := x.at(s)
	b, ok2 := y.at(s)
	v, ok3 := add(a, b)
	return fx{v: v, s: s}, ok1 && ok2 && ok3
}

// times returns x × y exactly.
func (x fx) times(y fx) (fx, bool) {
	s := x.s + y.s
	if s > maxFastScale {
		return fx{}, false
	}
	v, ok := mul(x.v, y.v)
	return fx{v: v, s: s}, ok
}

// cmp compares x and y, and reports whether both fit a common scale.
func (x fx) cmp(y fx) (int, bool) {
	s := max(x.s, y.s)
	a, ok1 := x.at(s)
	b, ok2 := y.at(s)
	switch {
	case a < b:
		return -1, ok1 && ok2
	case a > b:
		return 1, ok1 && ok2
	}
	return 0, ok1 && ok2
}

// fastPrice is the fixed-point copy of a Rater's parameters.
type fastPrice struct {
	ok                                                 bool
	amount, pkg, rate, fee, txMin, txMax, free, lo, hi fx
	upTo, unit, flat, before, block                    []fx // per tier; upTo of the open tier is unused; block zero bills units
}

// compileFast converts r's parameters; ok is false if any does not fit.
func compileFast(r *Rater) fastPrice {
	f := fastPrice{ok: true}
	conv := func(d decimal.Decimal) fx {
		x, ok := fxOf(d)
		f.ok = f.ok && ok
		return x
	}
	f.amount, f.pkg, f.rate, f.fee = conv(r.amount), conv(r.pkgSize), conv(r.rate), conv(r.fee)
	f.txMin, f.txMax, f.free = conv(r.txMin), conv(r.txMax), conv(r.free)
	f.lo, f.hi = conv(r.minSpend), conv(r.maxSpend)
	if n := len(r.tiers); n > 0 {
		buf := make([]fx, 5*n)
		f.upTo, f.unit, f.flat, f.before, f.block = buf[:n], buf[n:2*n], buf[2*n:3*n], buf[3*n:4*n], buf[4*n:]
		for i, t := range r.tiers {
			if !t.open {
				f.upTo[i] = conv(t.upTo)
			}
			f.unit[i], f.flat[i], f.before[i], f.block[i] = conv(t.unit), conv(t.flat), conv(t.before), conv(t.block)
		}
	}
	return f
}

// fastAmount rates q on the fixed-point path and returns the amount as
// v × 10^-scale; ok is false when the fast path cannot decide (negative or
// oversized q, or an overflow), and the caller takes the decimal path.
func (r *Rater) fastAmount(q decimal.Decimal, opts RateOptions) (v int64, scale int32, ok bool) {
	f := &r.fast
	x, ok := fxOf(q)
	if !ok {
		return 0, 0, false
	}
	if f.free.v > 0 {
		c, ok := x.cmp(f.free)
		if !ok {
			return 0, 0, false
		}
		if c <= 0 {
			x = fx{}
		} else {
			s := max(x.s, f.free.s)
			a, _ := x.at(s)
			b, _ := f.free.at(s)
			x = fx{v: a - b, s: s}
		}
	}
	var total fx
	switch r.price.Model {
	case Flat:
		total, ok = f.amount, true
	case PerUnit:
		total, ok = x.times(f.amount)
	case Package:
		s := max(x.s, f.pkg.s)
		a, ok1 := x.at(s)
		b, ok2 := f.pkg.at(s)
		if !ok1 || !ok2 {
			return 0, 0, false
		}
		n := a / b
		if a%b != 0 && r.price.PackageRounding == RoundUpPackages {
			n++
		}
		total, ok = fx{v: n}.times(f.amount)
	case Percentage:
		if total, ok = x.times(f.rate); ok {
			total, ok = total.sum(f.fee)
		}
	case Volume, Graduated, GraduatedPercentage:
		var k int
		if k, ok = f.tierOf(x); !ok {
			return 0, 0, false
		}
		in := x
		if r.price.Model != Volume {
			total = f.before[k]
			if k > 0 { // in = x - upTo[k-1]
				lower := f.upTo[k-1]
				s := max(x.s, lower.s)
				a, ok1 := x.at(s)
				b, ok2 := lower.at(s)
				if !ok1 || !ok2 {
					return 0, 0, false
				}
				in = fx{v: a - b, s: s}
			}
		}
		if in, ok = f.billed(k, in); !ok {
			return 0, 0, false
		}
		part, ok1 := in.times(f.unit[k])
		if !ok1 {
			return 0, 0, false
		}
		if part, ok1 = part.sum(f.flat[k]); !ok1 {
			return 0, 0, false
		}
		total, ok = total.sum(part)
	}
	if !ok {
		return 0, 0, false
	}
	lo, hi := f.lo, f.hi
	if r.price.Model == Percentage {
		lo, hi = f.txMin, f.txMax
	} else if opts.Interim {
		lo = fx{}
	}
	if lo.v > 0 {
		c, ok := total.cmp(lo)
		if !ok {
			return 0, 0, false
		}
		if c < 0 {
			total = lo
		}
	}
	if hi.v > 0 {
		c, ok := total.cmp(hi)
		if !ok {
			return 0, 0, false
		}
		if c > 0 {
			total = hi
		}
	}
	if opts.Rounding == RoundNone {
		return total.v, total.s, true
	}
	d := r.cur.Digits()
	if total.s <= d {
		v, ok := total.at(d)
		return v, d, ok
	}
	return roundDown(total.v, pow10[total.s-d], opts.Mode), d, true
}

// roundDown divides the non-negative v by p (a power of ten) and rounds the
// quotient in mode m.
func roundDown(v, p int64, m ensemble.RoundingMode) int64 {
	q, rem := v/p, v%p
	if rem == 0 {
		return q
	}
	switch m {
	case ensemble.RoundUp, ensemble.RoundCeiling:
		return q + 1
	case ensemble.RoundDown, ensemble.RoundFloor:
		return q
	}
	switch twice := p - rem; {
	case rem > twice: // above one half
		return q + 1
	case rem < twice: // below one half
		return q
	}
	switch m {
	case ensemble.RoundHalfEven:
		return q + q&1
	case ensemble.RoundHalfDown:
		return q
	}
	return q + 1 // half away from zero
}

// decPow10 holds 10^(k-18) for k in [0, 36]: factors that rescale a Money
// without allocating. It is written once, at package initialisation.
var decPow10 = func() (t [2*maxFastScale + 1]decimal.Decimal) {
	for k := range t {
		t[k] = decimal.New(1, int32(k-maxFastScale))
	}
	return t
}()

// fxMoney returns x as Money in cur without allocating: MoneyFromMinor at
// the currency's scale, rescaled by an exact power of ten.
func fxMoney(x fx, cur ensemble.Currency) ensemble.Money {
	m := ensemble.MoneyFromMinor(x.v, cur)
	if k := cur.Digits() - x.s; k != 0 && k >= -maxFastScale && k <= maxFastScale {
		return m.Mul(decPow10[k+maxFastScale])
	} else if k != 0 {
		return ensemble.MoneyFromDecimal(decimal.New(x.v, -x.s), cur)
	}
	return m
}

// fastLines computes the breakdown on the fixed-point path: full tiers come
// precomputed, and only the tier the quantity ends in is computed. It
// reports false, leaving the caller to take the decimal path, when a value
// does not fit.
func (r *Rater) fastLines(rt *Rating, q decimal.Decimal) bool {
	f := &r.fast
	x, ok := fxOf(q)
	if !ok {
		return false
	}
	billDec := q // the billable quantity as a decimal, when it is not x
	if f.free.v > 0 {
		c, ok := x.cmp(f.free)
		if !ok {
			return false
		}
		if c <= 0 {
			rt.Free, x, billDec = q, fx{}, decimal.Zero
		} else {
			s := max(x.s, f.free.s)
			a, _ := x.at(s)
			b, _ := f.free.at(s)
			x = fx{v: a - b, s: s}
			rt.Free, billDec = r.free, decimal.New(x.v, -x.s)
		}
	}
	one := func(qty decimal.Decimal, unit, flat ensemble.Money, tier int, sub fx, ok bool) bool {
		if ok {
			rt.Lines = []Line{{Tier: tier, Quantity: qty, UnitAmount: unit, FlatAmount: flat, Subtotal: fxMoney(sub, r.cur)}}
		}
		return ok
	}
	switch r.price.Model {
	case Flat:
		return one(billDec, r.zeroM, r.amountM, 0, f.amount, true)
	case PerUnit:
		sub, ok := x.times(f.amount)
		return one(billDec, r.amountM, r.zeroM, 0, sub, ok)
	case Package:
		s := max(x.s, f.pkg.s)
		a, ok1 := x.at(s)
		b, ok2 := f.pkg.at(s)
		if !ok1 || !ok2 {
			return false
		}
		n := a / b
		if a%b != 0 && r.price.PackageRounding == RoundUpPackages {
			n++
		}
		sub, ok := fx{v: n}.times(f.amount)
		return one(decimal.New(n, 0), r.amountM, r.zeroM, 0, sub, ok)
	case Percentage:
		sub, ok := x.times(f.rate)
		if ok {
			sub, ok = sub.sum(f.fee)
		}
		return one(billDec, r.rateM, r.feeM, 0, sub, ok)
	}
	k, ok := f.tierOf(x)
	if !ok {
		return false
	}
	t := &r.tiers[k]
	if r.price.Model == Volume {
		qty := billDec
		if f.block[k].v > 0 {
			if x, ok = f.billed(k, x); !ok {
				return false
			}
			qty = decimal.New(x.v, 0)
		}
		sub, ok := x.times(f.unit[k])
		if ok {
			sub, ok = sub.sum(f.flat[k])
		}
		return one(qty, t.unitM, t.flatM, k, sub, ok)
	}
	in, inDec, fresh := x, billDec, false
	if k > 0 {
		lower := f.upTo[k-1]
		s := max(x.s, lower.s)
		a, ok1 := x.at(s)
		b, ok2 := lower.at(s)
		if !ok1 || !ok2 {
			return false
		}
		in, fresh = fx{v: a - b, s: s}, true
	}
	if f.block[k].v > 0 {
		if in, ok = f.billed(k, in); !ok {
			return false
		}
		fresh = true
	}
	if fresh {
		inDec = decimal.New(in.v, -in.s)
	}
	sub, ok := in.times(f.unit[k])
	if ok {
		sub, ok = sub.sum(f.flat[k])
	}
	if !ok {
		return false
	}
	rt.Lines = make([]Line, k+1)
	copy(rt.Lines, r.full[:k])
	rt.Lines[k] = Line{Tier: k, Quantity: inDec, UnitAmount: t.unitM, FlatAmount: t.flatM, Subtotal: fxMoney(sub, r.cur)}
	return true
}

// billed returns what tier k bills for x of its units: x, or for a block
// tier the number of started blocks, ceil(x / block), as a whole number. It
// reports false when x and the block size have no common scale.
func (f *fastPrice) billed(k int, x fx) (fx, bool) {
	size := f.block[k]
	if size.v == 0 {
		return x, true
	}
	s := max(x.s, size.s)
	a, ok1 := x.at(s)
	b, ok2 := size.at(s)
	if !ok1 || !ok2 {
		return fx{}, false
	}
	n := a / b
	if a%b != 0 {
		n++
	}
	return fx{v: n}, true
}

// tierOf returns the index of the tier x reaches, and false when a bound
// and x have no common scale.
func (f *fastPrice) tierOf(x fx) (int, bool) {
	last := len(f.upTo) - 1
	for i := 0; i < last; i++ {
		c, ok := x.cmp(f.upTo[i])
		if !ok {
			return 0, false
		}
		if c <= 0 {
			return i, true
		}
	}
	return last, true
}
