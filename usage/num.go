package usage

import (
	"math"
	"math/bits"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// num is an exact decimal held as c × 10^e while the coefficient fits in an
// int64 (no allocation), and as a decimal.Decimal beyond that.
type num struct {
	c   int64
	e   int32
	big bool
	d   decimal.Decimal // the value when big
}

var pow10 = [19]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// numOf holds d, in the int64 form when its digits fit.
func numOf(d decimal.Decimal) num {
	if d.NumDigits() <= 18 {
		return num{c: d.CoefficientInt64(), e: d.Exponent()}
	}
	return num{big: true, d: d}
}

// decimal returns n as a decimal.Decimal.
func (n num) decimal() decimal.Decimal {
	if n.big {
		return n.d
	}
	return decimal.New(n.c, n.e)
}

func (n num) sign() int {
	if n.big {
		return n.d.Sign()
	}
	switch {
	case n.c < 0:
		return -1
	case n.c > 0:
		return 1
	}
	return 0
}

// readable reports whether n's plain text has at most
// ensemble.MaxAmountDigits digits, so that every accepted quantity
// round-trips through JSON. It never renders a number with an extreme
// exponent (1e2147483647 would be two billion digits).
func (n num) readable() bool {
	const maxDigits = ensemble.MaxAmountDigits
	if !n.big {
		c, e := n.c, int64(n.e)
		if c == 0 {
			return true // "0"
		}
		for e < 0 && c%10 == 0 { // the text drops trailing fractional zeros
			c /= 10
			e++
		}
		nd := int64(digits(c))
		if e >= 0 {
			return nd+e <= maxDigits
		}
		return max(nd+e, 1)+(-e) <= maxDigits
	}
	nd, e := int64(n.d.NumDigits()), int64(n.d.Exponent())
	if e > maxDigits || nd+e > maxDigits || -e > nd+maxDigits {
		return false
	}
	digits := 0
	for _, ch := range n.d.String() {
		if ch >= '0' && ch <= '9' {
			digits++
		}
	}
	return digits <= maxDigits
}

// scale returns c × 10^k and whether it fits in an int64 (k >= 0).
func scale(c int64, k int32) (int64, bool) {
	if k == 0 || c == 0 {
		return c, true
	}
	if k > 18 {
		return 0, false
	}
	p := pow10[k]
	hi, lo := bits.Mul64(uint64(abs64(c)), uint64(p))
	if hi != 0 || lo > math.MaxInt64 || c == math.MinInt64 {
		return 0, false
	}
	if c < 0 {
		return -int64(lo), true
	}
	return int64(lo), true
}

// digits returns the number of decimal digits of c (1 for 0).
func digits(c int64) int {
	u := uint64(c)
	if c < 0 {
		u = -u // also right for math.MinInt64
	}
	n := 1
	for u >= 10 {
		u /= 10
		n++
	}
	return n
}

func abs64(c int64) int64 {
	if c < 0 {
		return -c
	}
	return c
}

// align returns a and b with a common exponent, or ok false when that
// overflows an int64.
func align(a, b num) (ac, bc int64, e int32, ok bool) {
	switch {
	case a.e == b.e:
		return a.c, b.c, a.e, true
	case a.e > b.e:
		ac, ok = scale(a.c, a.e-b.e)
		return ac, b.c, b.e, ok
	default:
		bc, ok = scale(b.c, b.e-a.e)
		return a.c, bc, a.e, ok
	}
}

// exp returns n's exponent.
func (n num) exp() int32 {
	if n.big {
		return n.d.Exponent()
	}
	return n.e
}

// neg returns -n, with n's exponent.
func (n num) neg() num {
	if n.big || n.c == math.MinInt64 {
		return num{big: true, d: n.decimal().Neg()}
	}
	return num{c: -n.c, e: n.e}
}

// add returns a + b, exactly.
func add(a, b num) num {
	if !a.big && !b.big {
		if ac, bc, e, ok := align(a, b); ok {
			s := ac + bc // wraps on overflow, detected below
			// Signed overflow: both operands share a sign the sum lacks.
			if (ac >= 0) == (bc >= 0) && (s >= 0) != (ac >= 0) {
				return num{big: true, d: a.decimal().Add(b.decimal())}
			}
			return num{c: s, e: e}
		}
	}
	return num{big: true, d: a.decimal().Add(b.decimal())}
}

// cmpNum compares a and b numerically: -1, 0 or +1.
func cmpNum(a, b num) int {
	if !a.big && !b.big {
		if ac, bc, _, ok := align(a, b); ok {
			switch {
			case ac < bc:
				return -1
			case ac > bc:
				return 1
			}
			return 0
		}
	}
	return a.decimal().Cmp(b.decimal())
}
