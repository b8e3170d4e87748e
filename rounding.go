package ensemble

import (
	"math"
	"math/big"
	"strconv"

	"github.com/shopspring/decimal"
)

// RoundingMode says which way a value that lies between two representable
// values goes. The zero value, RoundHalfAwayFromZero, is the library's
// default everywhere a mode is an option.
type RoundingMode uint8

const (
	// RoundHalfAwayFromZero rounds to the nearest value; ties go away from
	// zero (2.5 -> 3, -2.5 -> -3). Kill Bill's HALF_UP, shopspring's Round.
	RoundHalfAwayFromZero RoundingMode = iota
	// RoundHalfEven rounds to the nearest value; ties go to the even
	// neighbour (2.5 -> 2, 3.5 -> 4). Banker's rounding.
	RoundHalfEven
	// RoundHalfDown rounds to the nearest value; ties go toward zero
	// (2.5 -> 2, -2.5 -> -2).
	RoundHalfDown
	// RoundUp rounds away from zero (2.1 -> 3, -2.1 -> -3).
	RoundUp
	// RoundDown rounds toward zero, truncating (2.9 -> 2, -2.9 -> -2).
	RoundDown
	// RoundCeiling rounds toward positive infinity (2.1 -> 3, -2.9 -> -2).
	RoundCeiling
	// RoundFloor rounds toward negative infinity (2.9 -> 2, -2.1 -> -3).
	RoundFloor
)

var roundingNames = [...]string{
	RoundHalfAwayFromZero: "half_away_from_zero",
	RoundHalfEven:         "half_even",
	RoundHalfDown:         "half_down",
	RoundUp:               "up",
	RoundDown:             "down",
	RoundCeiling:          "ceiling",
	RoundFloor:            "floor",
}

// String returns the mode's lowercase name, such as "half_even".
func (m RoundingMode) String() string {
	if int(m) < len(roundingNames) {
		return roundingNames[m]
	}
	return "rounding_mode(" + itoa(int64(m)) + ")"
}

// Valid reports whether m is one of the declared modes.
func (m RoundingMode) Valid() bool { return int(m) < len(roundingNames) }

// ParseRoundingMode reads a mode from its name as String writes it. The empty
// string is the default mode.
func ParseRoundingMode(s string) (RoundingMode, error) {
	if s == "" {
		return RoundHalfAwayFromZero, nil
	}
	for i, name := range roundingNames {
		if name == s {
			return RoundingMode(i), nil
		}
	}
	return 0, parseError("rounding mode", s, "unknown mode")
}

// MarshalText writes the mode's name.
func (m RoundingMode) MarshalText() ([]byte, error) {
	if !m.Valid() {
		return nil, parseError("rounding mode", m.String(), "unknown mode")
	}
	return []byte(m.String()), nil
}

// UnmarshalText reads a mode's name.
func (m *RoundingMode) UnmarshalText(b []byte) error {
	v, err := ParseRoundingMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Round rounds d to scale digits after the decimal point (a negative scale
// rounds to tens, hundreds, ...) in mode m. A value that already has scale
// digits or fewer is returned unchanged. Round is exact: it works on the
// decimal's integer coefficient, never through binary floating point.
//
// Every scale is accepted, math.MinInt32 and math.MaxInt32 included, and
// none is slow: a value smaller than half the unit of scale rounds to zero
// or to one unit (as the mode says) without computing that unit's digits.
// The result's exponent is -scale, except that scale math.MinInt32, whose
// negation is no int32, gives ten units at exponent math.MaxInt32, and that
// a zero found that way is the plain 0.
func Round(d decimal.Decimal, scale int32, m RoundingMode) decimal.Decimal {
	exp := int64(d.Exponent())
	if -exp <= int64(scale) {
		return d
	}
	drop := -exp - int64(scale) // digits to drop, > 0
	if drop <= 18 && d.NumDigits() <= 18 && scale != math.MinInt32 {
		p := pow10i64[drop]
		v := d.CoefficientInt64()
		q, r := v/p, v%p
		return decimal.New(q+roundIncrement(m, q, r, p), -scale)
	}
	c := d.Coefficient()
	if drop > int64(d.NumDigits()) {
		// |c| < 10^digits <= 10^(drop-1): the dropped part is below half
		// a unit and nothing is kept.
		return atScale(big.NewInt(increment(m, c.Sign(), -1, false)), scale)
	}
	p := pow10Big(drop) // drop <= the coefficient's digits: bounded by the input
	q, r := new(big.Int).QuoRem(c, p, new(big.Int))
	if r.Sign() == 0 {
		return atScale(q, scale)
	}
	// Compare 2|r| with p to find which side of the half the dropped part lies.
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	half := twice.Cmp(p) // -1 below half, 0 exactly half, +1 above
	if inc := increment(m, r.Sign(), half, q.Bit(0) == 1); inc != 0 {
		q.Add(q, big.NewInt(inc))
	}
	return atScale(q, scale)
}

// atScale returns q units of 10^-scale. The one scale whose negation is no
// int32, math.MinInt32, is written as 10q at exponent math.MaxInt32. Zero
// is the plain 0, so that no extreme exponent reaches later arithmetic
// (shopspring aligns exponents by multiplying out the difference).
func atScale(q *big.Int, scale int32) decimal.Decimal {
	if q.Sign() == 0 {
		return decimal.Zero
	}
	if scale == math.MinInt32 {
		return decimal.NewFromBigInt(q.Mul(q, big.NewInt(10)), math.MaxInt32)
	}
	return decimal.NewFromBigInt(q, -scale)
}

// roundIncrement returns the -1, 0 or +1 to add to the truncated quotient q
// when r (with the sign of the value) was dropped and p is the unit dropped to.
func roundIncrement(m RoundingMode, q, r, p int64) int64 {
	if r == 0 {
		return 0
	}
	sign := 1
	a := r
	if r < 0 {
		sign, a = -1, -r
	}
	half := 0
	switch {
	case a < p-a:
		half = -1
	case a > p-a:
		half = 1
	}
	return increment(m, sign, half, q&1 != 0)
}

// increment decides the rounding step from the sign of the dropped part, its
// position against one half (-1, 0, +1) and the parity of the kept quotient.
func increment(m RoundingMode, sign, half int, odd bool) int64 {
	away := int64(sign) // one step away from zero
	switch m {
	case RoundUp:
		return away
	case RoundDown:
		return 0
	case RoundCeiling:
		if sign > 0 {
			return 1
		}
		return 0
	case RoundFloor:
		if sign < 0 {
			return -1
		}
		return 0
	}
	switch {
	case half > 0:
		return away
	case half < 0:
		return 0
	}
	switch m {
	case RoundHalfEven:
		if odd {
			return away
		}
		return 0
	case RoundHalfDown:
		return 0
	default: // RoundHalfAwayFromZero and unknown modes take the default
		return away
	}
}

var pow10i64 = [...]int64{
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
	1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
