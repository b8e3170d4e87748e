package ensemble

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/shopspring/decimal"
)

// Ratio is an exact rational number: a share, a rate or a proration
// fraction. 1/3 stays 1/3; it is never rounded to 16 digits. Ratio is an
// immutable value, safe for concurrent use. The zero Ratio is 0.
//
// Ratios are read from "1/3", "12.5%", "0.125" or "2"; String writes a
// terminating ratio as a decimal ("0.125") and any other as "n/d".
type Ratio struct {
	r *big.Rat // nil is zero; never mutated once the Ratio is made
}

var ratioOne = big.NewRat(1, 1)

// NewRatio returns num/den in lowest terms. A zero denominator is a
// *ParseError.
func NewRatio(num, den int64) (Ratio, error) {
	if den == 0 {
		return Ratio{}, parseError("ratio", itoa(num)+"/0", "zero denominator")
	}
	return Ratio{big.NewRat(num, den)}, nil
}

// RatioFromInt returns the whole number n as a Ratio.
func RatioFromInt(n int64) Ratio { return Ratio{new(big.Rat).SetInt64(n)} }

// RatioFromDecimal returns d as an exact Ratio.
func RatioFromDecimal(d decimal.Decimal) Ratio { return Ratio{d.Rat()} }

// RatioFromRat returns a copy of r as a Ratio.
func RatioFromRat(r *big.Rat) Ratio { return Ratio{new(big.Rat).Set(r)} }

// ParseRatio reads a ratio written as a fraction of integers ("1/3",
// "-2/7"), a percentage ("12.5%") or a plain decimal ("0.125", "2"). One
// optional sign leads the whole text; a doubled sign ("--1/2") or one
// anywhere else ("1/-2", "1/+-2", "+-0.5") is refused, so every ratio has one
// spelling of its sign. Each number has at most MaxAmountDigits digits, and
// so has every number of the text String writes back (a percentage with 40
// digits could need 42 as a fraction); beyond that the error matches
// ErrTooManyDigits. Anything else, and a zero denominator, is a *ParseError
// that says what was wrong.
func ParseRatio(s string) (Ratio, error) {
	body, neg := s, false
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg, body = body[0] == '-', body[1:]
	}
	var r *big.Rat
	if n, d, ok := strings.Cut(body, "/"); ok {
		if msg := unsignedText(n, true); msg != "" {
			return Ratio{}, textError("ratio", s, "numerator: ", msg)
		}
		if msg := unsignedText(d, true); msg != "" {
			if d != "" && (d[0] == '+' || d[0] == '-') {
				msg = "sign in the denominator: one sign may lead the ratio, as in -1/2"
			}
			return Ratio{}, textError("ratio", s, "denominator: ", msg)
		}
		num, _ := new(big.Int).SetString(n, 10)
		den, _ := new(big.Int).SetString(d, 10)
		if den.Sign() == 0 {
			return Ratio{}, parseError("ratio", s, "zero denominator")
		}
		if neg {
			num.Neg(num)
		}
		r = new(big.Rat).SetFrac(num, den)
	} else {
		text, percent := strings.CutSuffix(body, "%")
		if msg := unsignedText(text, false); msg != "" {
			return Ratio{}, textError("ratio", s, "", msg)
		}
		d, err := decimal.NewFromString(text)
		if err != nil {
			return Ratio{}, parseError("ratio", s, err.Error())
		}
		r = d.Rat()
		if percent {
			r.Quo(r, big.NewRat(100, 1))
		}
		if neg {
			r.Neg(r)
		}
	}
	if !(Ratio{r}).writable() {
		pe := parseError("ratio", s, "its value is written with more than "+itoa(MaxAmountDigits)+" digits in a number")
		pe.Err = ErrTooManyDigits
		return Ratio{}, pe
	}
	return Ratio{r}, nil
}

// unsignedText checks one number of a ratio, whose sign (if any) was taken
// off the front of the whole text: digits, and a point unless whole.
func unsignedText(s string, whole bool) string {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return "doubled or misplaced sign: one sign may lead the ratio"
	}
	if msg := checkDecimalText(s); msg != "" {
		return msg
	}
	if whole && strings.IndexByte(s, '.') >= 0 {
		return "want a whole number"
	}
	return ""
}

// writable reports whether every number of the text String writes for r
// has at most MaxAmountDigits digits, without writing it.
func (r Ratio) writable() bool {
	num, den := r.rat().Num(), r.rat().Denom()
	if num.BitLen() <= 66 && den.BitLen() <= 132 {
		// num < 2^66 has at most 20 digits: as a decimal of at most 18
		// places at most 38, and as n/d both numbers fit.
		return true
	}
	if digits, ok := r.terminatingDigits(); ok && digits <= maxRatioDecimals {
		c := new(big.Int).Abs(num)
		c.Mul(c, pow10Big(int64(digits)))
		c.Quo(c, den)
		return fitsDigits(c) && digits+1 <= MaxAmountDigits
	}
	return fitsDigits(num) && fitsDigits(den)
}

var maxWritable = pow10Big(MaxAmountDigits) // the first number with one digit too many

// fitsDigits reports whether |x| has at most MaxAmountDigits digits.
func fitsDigits(x *big.Int) bool {
	switch bl := x.BitLen(); {
	case bl <= 132: // 2^132 < 10^40
		return true
	case bl > 133: // 2^133 > 10^40
		return false
	}
	return new(big.Int).Abs(x).Cmp(maxWritable) < 0
}

// MustRatio is ParseRatio for tests, examples and package initialisation:
// it panics on bad input.
func MustRatio(s string) Ratio {
	r, err := ParseRatio(s)
	if err != nil {
		panic(err)
	}
	return r
}

func (r Ratio) rat() *big.Rat {
	if r.r == nil {
		return new(big.Rat)
	}
	return r.r
}

// Rat returns a copy of the ratio as a *big.Rat.
func (r Ratio) Rat() *big.Rat { return new(big.Rat).Set(r.rat()) }

// Num returns a copy of the numerator in lowest terms (negative for a
// negative ratio).
func (r Ratio) Num() *big.Int { return new(big.Int).Set(r.rat().Num()) }

// Denom returns a copy of the denominator in lowest terms, always positive.
func (r Ratio) Denom() *big.Int { return new(big.Int).Set(r.rat().Denom()) }

// Sign returns -1, 0 or +1.
func (r Ratio) Sign() int {
	if r.r == nil {
		return 0
	}
	return r.r.Sign()
}

// IsZero reports whether r is 0.
func (r Ratio) IsZero() bool { return r.Sign() == 0 }

// Cmp compares r and o: -1, 0 or +1.
func (r Ratio) Cmp(o Ratio) int { return r.rat().Cmp(o.rat()) }

// Equal reports whether r and o are the same number.
func (r Ratio) Equal(o Ratio) bool { return r.Cmp(o) == 0 }

// Add returns r + o, exactly.
func (r Ratio) Add(o Ratio) Ratio { return Ratio{new(big.Rat).Add(r.rat(), o.rat())} }

// Sub returns r - o, exactly.
func (r Ratio) Sub(o Ratio) Ratio { return Ratio{new(big.Rat).Sub(r.rat(), o.rat())} }

// Mul returns r × o, exactly.
func (r Ratio) Mul(o Ratio) Ratio { return Ratio{new(big.Rat).Mul(r.rat(), o.rat())} }

// Neg returns -r.
func (r Ratio) Neg() Ratio { return Ratio{new(big.Rat).Neg(r.rat())} }

// Complement returns 1 - r: the remaining share after r.
func (r Ratio) Complement() Ratio { return Ratio{new(big.Rat).Sub(ratioOne, r.rat())} }

// Decimal returns r rounded to scale digits after the point in mode:
// MustRatio("1/3").Decimal(4, RoundHalfEven) is 0.3333. Any scale is
// accepted, as Round accepts it: a negative one far beyond r's digits gives
// zero or one unit at once, and a ratio that terminates is never written
// with more places than it needs. A ratio that does not terminate (1/3) has
// scale digits after the point, so its cost grows with scale.
func (r Ratio) Decimal(scale int32, mode RoundingMode) decimal.Decimal {
	if scale > 2*MaxAmountDigits {
		if digits, ok := r.terminatingDigits(); ok && digits < scale {
			scale = digits
		}
	}
	return roundQuo(r.rat().Num(), r.rat().Denom(), scale, mode)
}

// mulDecimal returns d × r rounded to scale in mode.
func (r Ratio) mulDecimal(d decimal.Decimal, scale int32, mode RoundingMode) decimal.Decimal {
	num := new(big.Int).Mul(d.Coefficient(), r.rat().Num())
	den := new(big.Int).Set(r.rat().Denom())
	if e := d.Exponent(); e < 0 {
		den.Mul(den, pow10Big(int64(-e)))
	} else if e > 0 {
		num.Mul(num, pow10Big(int64(e)))
	}
	return roundQuo(num, den, scale, mode)
}

// roundQuo returns num/den (den > 0) rounded to scale digits in mode.
func roundQuo(num, den *big.Int, scale int32, mode RoundingMode) decimal.Decimal {
	if scale < 0 && -3*int64(scale) >= int64(num.BitLen())-int64(den.BitLen())+2 {
		// |num/den| < 2^(bits-bits+1), so twice it is below
		// 8^-scale <= 10^-scale: less than half a unit, nothing kept.
		return atScale(big.NewInt(increment(mode, num.Sign(), -1, false)), scale)
	}
	n := new(big.Int).Set(num)
	d := new(big.Int).Set(den)
	if scale >= 0 {
		n.Mul(n, pow10Big(int64(scale)))
	} else {
		d.Mul(d, pow10Big(int64(-scale)))
	}
	q, rem := new(big.Int).QuoRem(n, d, new(big.Int))
	if rem.Sign() != 0 {
		twice := new(big.Int).Abs(rem)
		twice.Lsh(twice, 1)
		if inc := increment(mode, rem.Sign(), twice.Cmp(d), q.Bit(0) == 1); inc != 0 {
			q.Add(q, big.NewInt(inc))
		}
	}
	return atScale(q, scale)
}

func pow10Big(n int64) *big.Int {
	if n <= 18 {
		return big.NewInt(pow10i64[n])
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
}

// terminatingDigits reports how many decimal digits r needs when it
// terminates (its denominator has no prime factors but 2 and 5).
func (r Ratio) terminatingDigits() (int32, bool) {
	d := new(big.Int).Set(r.rat().Denom())
	var twos, fives int32
	five := big.NewInt(5)
	m := new(big.Int)
	for d.Bit(0) == 0 {
		d.Rsh(d, 1)
		twos++
	}
	for {
		q, rem := new(big.Int).QuoRem(d, five, m)
		if rem.Sign() != 0 {
			break
		}
		d = q
		fives++
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		return 0, false
	}
	return max(twos, fives), true
}

// maxRatioDecimals is the most decimal places String writes before it
// falls back to "n/d".
const maxRatioDecimals = 18

// String writes r as a decimal when it terminates within 18 places ("0.125",
// "2", "-0.5") and as "n/d" in lowest terms otherwise ("1/3"). ParseRatio reads it back
// exactly.
func (r Ratio) String() string {
	if digits, ok := r.terminatingDigits(); ok && digits <= maxRatioDecimals {
		return r.Decimal(digits, RoundDown).StringFixed(digits)
	}
	return r.rat().RatString()
}

// Percent writes r as a percentage when that terminates ("12.5%") and as
// "n/d" otherwise.
func (r Ratio) Percent() string {
	p := r.Mul(RatioFromInt(100))
	if digits, ok := p.terminatingDigits(); ok && digits <= maxRatioDecimals {
		return p.Decimal(digits, RoundDown).StringFixed(digits) + "%"
	}
	return r.rat().RatString()
}

// MarshalText writes String. A ratio with a number beyond MaxAmountDigits
// (the product of many ratios can grow so) is an error wrapping
// ErrTooManyDigits: it would not read back.
func (r Ratio) MarshalText() ([]byte, error) {
	if err := r.checkWritable(); err != nil {
		return nil, err
	}
	return []byte(r.String()), nil
}

func (r Ratio) checkWritable() error {
	if !r.writable() {
		return fmt.Errorf("ensemble: write ratio: %w: a numerator of %d bits over a denominator of %d bits",
			ErrTooManyDigits, r.rat().Num().BitLen(), r.rat().Denom().BitLen())
	}
	return nil
}

// UnmarshalText reads any form ParseRatio accepts.
func (r *Ratio) UnmarshalText(b []byte) error {
	v, err := ParseRatio(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalJSON writes the ratio as a JSON string, such as "1/3" or "0.125".
// It refuses what MarshalText refuses.
func (r Ratio) MarshalJSON() ([]byte, error) {
	if err := r.checkWritable(); err != nil {
		return nil, err
	}
	return json.Marshal(r.String())
}

// UnmarshalJSON reads a JSON string in any form ParseRatio accepts, or a
// JSON number, which is read from its text and never through a float.
func (r *Ratio) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	return r.UnmarshalText([]byte(s))
}
