package ensemble

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/shopspring/decimal"
)

// MaxAmountDigits is the one bound on the size of a number that crosses
// the library boundary as text: at most this many digits as written,
// leading and padding zeros included. An amount is counted as MarshalText,
// MarshalJSON and String write it, with at least its currency's minor
// digits ("EUR 12.30" has 4); a Ratio is counted per number, the numerator
// and the denominator of "n/d" each, or the decimal it writes.
//
// Reading and writing agree on it. Readers (ParseDecimal, NewMoney,
// ParseMoney, ParseRatio, and the UnmarshalText and UnmarshalJSON methods)
// refuse text with more digits, and text whose value would be written with
// more (a 40-digit whole amount of euros is written with 42); writers
// (MarshalText, MarshalJSON) refuse to write a value beyond the bound. Both
// errors match ErrTooManyDigits. So whatever is written reads back as an
// equal value, and whatever is read writes back.
//
// Arithmetic is exact and not bounded: Money.Mul carries the digits of both
// factors, so a product can exceed the bound while it is being computed.
// Round it to the minor unit, as every documented rounding point does,
// before it is written. A billing library should never write what it cannot
// read back (the failure would surface years later, when a stored invoice is
// reloaded), and no booked amount needs 40 digits; refusing at the write
// names the value where it arises. The bound also keeps hostile input from
// making arithmetic arbitrarily slow.
const MaxAmountDigits = 40

// ErrTooManyDigits reports a number beyond MaxAmountDigits: text with more
// digits, or a value that would be written with more. Readers return it in
// a *ParseError; writers wrap it with the currency and the digit count.
var ErrTooManyDigits = errors.New("ensemble: more digits than MaxAmountDigits")

// ErrNoCurrency reports a nonzero amount without a currency where one is
// required: such an amount cannot be written as money text or JSON that
// reads back.
var ErrNoCurrency = errors.New("ensemble: nonzero amount without a currency")

// Money is an amount of one currency: an exact decimal (never a float) and
// a Currency (ISO 4217, or a unit the host declared). Money is an
// immutable value, passed and stored by value and safe for concurrent use,
// like time.Time.
//
// The amount may carry more precision than the currency's minor unit while it
// is being computed (a unit price of EUR 0.00013 per GB is legal); callers
// round it to the minor unit at documented points with Round.
//
// The zero Money is zero with no currency. It adds to, subtracts from and
// compares with Money of any currency. Arithmetic across two different
// currencies returns a *CurrencyMismatchError, never a panic.
//
// Amounts whose digits fit in an int64 are held and computed without
// allocating; larger ones fall back to arbitrary precision transparently.
// Compare Money with Equal or Cmp, not ==: EUR 1.0 and EUR 1.00 are equal
// amounts held in unequal structs.
type Money struct {
	coef     int64    // the amount is coef × 10^exp when big is nil
	big      *big.Int // the amount is big × 10^exp when set; never mutated
	exp      int32
	currency Currency
}

// NewMoney returns the Money for a decimal amount written as text, such as
// "12.30" or "-0.00013", in the currency code names as ParseCurrency reads
// it ("EUR", or a declared unit with its digits, "GEMS:0"). The amount
// is plain decimal notation (no exponent, no thousands separators, at most
// MaxAmountDigits digits); anything else is a *ParseError.
func NewMoney(amount, code string) (Money, error) {
	cur, err := ParseCurrency(code)
	if err != nil {
		return Money{}, err
	}
	return amountIn(amount, cur)
}

// amountIn reads amount as plain decimal text in cur.
func amountIn(amount string, cur Currency) (Money, error) {
	d, err := ParseDecimal(amount)
	if err != nil {
		return Money{}, err
	}
	m := fromDecimal(d, cur)
	if !m.writable() {
		pe := parseError("decimal", amount, "more than "+itoa(MaxAmountDigits)+" digits as written in "+cur.keyOrNone()+
			" ("+itoa(int64(cur.Digits()))+" minor digits)")
		pe.Err = ErrTooManyDigits
		return Money{}, pe
	}
	return m, nil
}

// writable reports whether the text AmountString writes for m has at most
// MaxAmountDigits digits. It counts them without writing them, so that an
// amount with an extreme exponent (1e2147483647) costs no more than any
// other.
func (m Money) writable() bool {
	minPlaces := int64(m.currency.Digits())
	if m.Sign() == 0 {
		return 1+minPlaces <= MaxAmountDigits // "0" or "0.00"
	}
	var c *big.Int
	var nd int64
	if m.big == nil {
		nd = int64(decimal.New(m.coef, 0).NumDigits())
	} else {
		c = new(big.Int).Abs(m.big)
		nd = int64(len(c.Text(10)))
	}
	exp := int64(m.exp)
	// The text has max(nd+exp, 1) digits before the point and
	// max(minPlaces, -exp less the trailing zeros it drops) after it.
	intDigits := max(nd+exp, 1)
	room := MaxAmountDigits - intDigits // digits left for the fraction
	if room < minPlaces {
		return false
	}
	frac := max(-exp, 0)
	if frac <= room {
		return true
	}
	// The fraction fits only if the text drops at least frac-room
	// trailing zeros of the coefficient (it drops none within minPlaces).
	need := frac - room
	if need >= nd {
		return false // a nonzero coefficient has fewer trailing zeros
	}
	if c == nil {
		return m.coef%pow10i64[need] == 0 // need < nd <= 19
	}
	_, r := new(big.Int).QuoRem(c, pow10Big(need), new(big.Int))
	return r.Sign() == 0
}

// checkWritable returns an error wrapping ErrTooManyDigits when m is beyond
// MaxAmountDigits, and one wrapping ErrNoCurrency for a nonzero amount
// without a currency.
func (m Money) checkWritable() error {
	if m.currency.IsZero() && !m.IsZero() {
		return fmt.Errorf("ensemble: write money: %w", ErrNoCurrency)
	}
	if !m.writable() {
		return fmt.Errorf("ensemble: write money %s: %w: a %d-digit coefficient at exponent %d; round it first",
			m.currency.keyOrNone(), ErrTooManyDigits, m.Amount().NumDigits(), m.exp)
	}
	return nil
}

// MustMoney is NewMoney for tests and examples: it panics on bad input.
func MustMoney(amount, code string) Money {
	m, err := NewMoney(amount, code)
	if err != nil {
		panic(err)
	}
	return m
}

// MoneyFromDecimal returns the Money for amount in currency cur.
func MoneyFromDecimal(amount decimal.Decimal, cur Currency) Money {
	return fromDecimal(amount, cur)
}

// fromDecimal holds d in the int64 form when its digits fit.
func fromDecimal(d decimal.Decimal, cur Currency) Money {
	if d.NumDigits() <= 18 {
		return Money{coef: d.CoefficientInt64(), exp: d.Exponent(), currency: cur}
	}
	return Money{big: d.Coefficient(), exp: d.Exponent(), currency: cur}
}

// dec returns the amount as a decimal.
func (m Money) dec() decimal.Decimal {
	if m.big != nil {
		return decimal.NewFromBigInt(m.big, m.exp)
	}
	return decimal.New(m.coef, m.exp)
}

// MoneyFromMinor returns the Money for a whole number of the currency's minor
// units: MoneyFromMinor(1230, EUR) is EUR 12.30, MoneyFromMinor(5, JPY) is
// JPY 5.
func MoneyFromMinor(units int64, cur Currency) Money {
	return Money{coef: units, exp: -cur.Digits(), currency: cur}
}

// ParseMoney reads the text form MarshalText writes: a currency as
// ParseCurrency reads it, one space and a plain decimal amount, such as
// "EUR 12.30" or "GEMS:0 70" (Units.ParseMoney also reads a declared unit's
// bare code, as String shows it). The empty string and "0" are the zero
// Money.
func ParseMoney(s string) (Money, error) {
	if s == "" || s == "0" {
		return Money{}, nil
	}
	code, amount, ok := strings.Cut(s, " ")
	if !ok {
		return Money{}, parseError("money", s, `want "CODE AMOUNT", such as "EUR 12.30"`)
	}
	m, err := NewMoney(amount, code)
	if err != nil {
		msg := err.Error()
		var pe *ParseError
		if errors.As(err, &pe) {
			msg = pe.Kind + ": " + pe.Msg
		}
		out := parseError("money", s, msg)
		if pe != nil {
			out.Err = pe.Err
		}
		return Money{}, out
	}
	return m, nil
}

// ParseDecimal reads a plain decimal number such as "12.30", "-0.5" or "7":
// an optional sign, digits, and optionally a point followed by digits. It
// rejects exponents, spaces, separators and more than MaxAmountDigits digits
// with a *ParseError, so every amount that enters the library has one
// spelling.
func ParseDecimal(s string) (decimal.Decimal, error) {
	if msg := checkDecimalText(s); msg != "" {
		return decimal.Decimal{}, textError("decimal", s, "", msg)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, parseError("decimal", s, err.Error())
	}
	return d, nil
}

func checkDecimalText(s string) string {
	if s == "" {
		return "empty"
	}
	i := 0
	if s[0] == '-' || s[0] == '+' {
		i++
	}
	digits, point := 0, false
	start := i
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !point && i > start && i+1 < len(s):
			point = true
		default:
			return "want plain decimal notation such as 12.30"
		}
	}
	if digits == 0 {
		return "no digits"
	}
	if digits > MaxAmountDigits {
		return tooManyDigits
	}
	return ""
}

var tooManyDigits = "more than " + itoa(MaxAmountDigits) + " digits"

// textError returns the *ParseError for text that checkDecimalText
// refused with msg (after what, such as "denominator: "): one that matches
// ErrTooManyDigits when that was why.
func textError(kind, input, what, msg string) *ParseError {
	pe := parseError(kind, input, what+msg)
	if msg == tooManyDigits {
		pe.Err = ErrTooManyDigits
	}
	return pe
}

// Amount returns the decimal amount, with whatever precision it carries.
func (m Money) Amount() decimal.Decimal { return m.dec() }

// Currency returns the currency; the zero Currency for the zero Money.
func (m Money) Currency() Currency { return m.currency }

// IsZero reports whether the amount is zero, whatever the currency.
func (m Money) IsZero() bool { return m.Sign() == 0 }

// Sign returns -1, 0 or +1 as the amount is negative, zero or positive.
func (m Money) Sign() int {
	switch {
	case m.big != nil:
		return m.big.Sign()
	case m.coef < 0:
		return -1
	case m.coef > 0:
		return 1
	}
	return 0
}

// IsNegative reports whether the amount is below zero.
func (m Money) IsNegative() bool { return m.Sign() < 0 }

// IsPositive reports whether the amount is above zero.
func (m Money) IsPositive() bool { return m.Sign() > 0 }

// common returns the currency of a result combining m and o, or a
// *CurrencyMismatchError. A zero amount without a currency fits any currency.
func (m Money) common(o Money, op string) (Currency, error) {
	switch {
	case m.currency == o.currency:
		return m.currency, nil
	case m.currency.IsZero() && m.IsZero():
		return o.currency, nil
	case o.currency.IsZero() && o.IsZero():
		return m.currency, nil
	}
	return Currency{}, &CurrencyMismatchError{Op: op, A: m.currency, B: o.currency}
}

// aligned returns the int64 coefficients of m and o at their common (the
// smaller) exponent, or ok false when either is big or scaling overflows.
func aligned(m, o Money) (x, y int64, exp int32, ok bool) {
	if m.big != nil || o.big != nil {
		return 0, 0, 0, false
	}
	x, y, exp = m.coef, o.coef, m.exp
	switch {
	case m.exp > o.exp:
		x, ok = scaleUp(x, int64(m.exp)-int64(o.exp))
		exp = o.exp
	case m.exp < o.exp:
		y, ok = scaleUp(y, int64(o.exp)-int64(m.exp))
	default:
		ok = true
	}
	return x, y, exp, ok
}

// scaleUp returns v × 10^k, or ok false on overflow.
func scaleUp(v int64, k int64) (int64, bool) {
	if v == 0 {
		return 0, true
	}
	if k > 18 {
		return 0, false
	}
	p := pow10i64[k]
	r := v * p
	if r/p != v {
		return 0, false
	}
	return r, true
}

// Add returns m + o, exactly. Different currencies are a
// *CurrencyMismatchError.
func (m Money) Add(o Money) (Money, error) {
	cur, err := m.common(o, "add")
	if err != nil {
		return Money{}, err
	}
	if x, y, exp, ok := aligned(m, o); ok {
		if s := x + y; (s > x) == (y > 0) {
			return Money{coef: s, exp: exp, currency: cur}, nil
		}
	}
	return fromDecimal(m.dec().Add(o.dec()), cur), nil
}

// Sub returns m - o, exactly. Different currencies are a
// *CurrencyMismatchError.
func (m Money) Sub(o Money) (Money, error) {
	cur, err := m.common(o, "sub")
	if err != nil {
		return Money{}, err
	}
	if x, y, exp, ok := aligned(m, o); ok {
		if s := x - y; (s < x) == (y > 0) {
			return Money{coef: s, exp: exp, currency: cur}, nil
		}
	}
	return fromDecimal(m.dec().Sub(o.dec()), cur), nil
}

// Neg returns -m.
func (m Money) Neg() Money {
	if m.big == nil && m.coef != math.MinInt64 {
		return Money{coef: -m.coef, exp: m.exp, currency: m.currency}
	}
	return fromDecimal(m.dec().Neg(), m.currency)
}

// Abs returns |m|.
func (m Money) Abs() Money {
	if m.Sign() < 0 {
		return m.Neg()
	}
	return m
}

// Mul returns m × f, exactly: the result carries the digits of both factors
// (EUR 0.10 × 0.125 is EUR 0.01250). Round it where the amount is booked.
func (m Money) Mul(f decimal.Decimal) Money {
	if m.big == nil && f.NumDigits() <= 18 {
		x, y := m.coef, f.CoefficientInt64()
		exp := int64(m.exp) + int64(f.Exponent())
		if p := x * y; (x == 0 || (p/x == y && !(x == -1 && y == math.MinInt64))) && exp >= math.MinInt32 && exp <= math.MaxInt32 {
			return Money{coef: p, exp: int32(exp), currency: m.currency}
		}
	}
	return fromDecimal(m.dec().Mul(f), m.currency)
}

// MulRatio returns m × r rounded to the currency's minor unit in mode:
// EUR 10.00 × 1/3 is EUR 3.33. For shares that must add back to the whole,
// use Allocate instead.
func (m Money) MulRatio(r Ratio, mode RoundingMode) Money {
	return fromDecimal(r.mulDecimal(m.dec(), m.currency.Digits(), mode), m.currency)
}

// Cmp compares m and o: -1 if m < o, 0 if equal, +1 if m > o. Different
// currencies are a *CurrencyMismatchError.
func (m Money) Cmp(o Money) (int, error) {
	if _, err := m.common(o, "cmp"); err != nil {
		return 0, err
	}
	return m.cmp(o), nil
}

func (m Money) cmp(o Money) int {
	if x, y, _, ok := aligned(m, o); ok {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return m.dec().Cmp(o.dec())
}

// Equal reports whether m and o have the same currency and numerically equal
// amounts (EUR 1.0 equals EUR 1.00). The zero Money equals any zero amount.
func (m Money) Equal(o Money) bool {
	if _, err := m.common(o, "equal"); err != nil {
		return false
	}
	return m.cmp(o) == 0
}

// Round rounds m to its currency's minor unit in mode: EUR 3.685 rounds to
// EUR 3.69 in RoundHalfAwayFromZero and to EUR 3.68 in RoundHalfEven.
func (m Money) Round(mode RoundingMode) Money {
	return m.RoundTo(m.currency.Digits(), mode)
}

// RoundTo rounds m to scale digits after the point in mode. An amount that
// already has scale digits or fewer is returned unchanged. Any scale is
// accepted, as Round accepts it.
func (m Money) RoundTo(scale int32, mode RoundingMode) Money {
	if -int64(m.exp) <= int64(scale) {
		return m
	}
	if drop := -int64(m.exp) - int64(scale); m.big == nil && drop <= 18 && scale != math.MinInt32 {
		p := pow10i64[drop]
		q, r := m.coef/p, m.coef%p
		return Money{coef: q + roundIncrement(mode, q, r, p), exp: -scale, currency: m.currency}
	}
	return fromDecimal(Round(m.dec(), scale, mode), m.currency)
}

// IsRounded reports whether m is a whole number of its currency's minor
// units.
func (m Money) IsRounded() bool {
	_, ok := m.minorUnits()
	return ok
}

// MinorUnits returns m as a whole number of minor units (EUR 12.30 is 1230).
// An amount with finer precision returns an error wrapping
// ErrNotMinorUnits; a whole number of minor units beyond the int64 range
// (EUR 92233720368547758.08) one wrapping ErrMinorUnitsRange.
func (m Money) MinorUnits() (int64, error) {
	u, ok := m.minorUnits()
	switch {
	case !ok:
		return 0, fmt.Errorf("%w: %s", ErrNotMinorUnits, m)
	case u.big != nil:
		return 0, fmt.Errorf("%w: %s", ErrMinorUnitsRange, m)
	}
	return u.small, nil
}

// units is an amount counted in minor units: small when it fits an int64,
// big otherwise.
type units struct {
	small int64
	big   *big.Int
}

// minorUnits expresses m in minor units; ok is false when m has digits
// below the minor unit.
func (m Money) minorUnits() (u units, ok bool) {
	shift := int64(m.exp) + int64(m.currency.Digits()) // exponent of the value counted in minor units
	if m.big == nil {
		switch {
		case shift <= 0 && -shift <= 18:
			p := pow10i64[-shift]
			if m.coef%p != 0 {
				return units{}, false
			}
			return units{small: m.coef / p}, true
		case shift > 0:
			if v, ok := scaleUp(m.coef, shift); ok {
				return units{small: v}, true
			}
		}
	}
	d := m.dec().Shift(m.currency.Digits())
	if !d.IsInteger() {
		return units{}, false
	}
	b := d.BigInt()
	if b.IsInt64() {
		return units{small: b.Int64()}, true
	}
	return units{big: b}, true
}

// String returns the text form "EUR 12.30": the currency's code, a space
// and the amount with at least the currency's minor digits ("GEMS 70" for a
// declared unit). The zero Money is "0".
func (m Money) String() string {
	if m.currency.IsZero() {
		if m.IsZero() {
			return "0"
		}
		return m.dec().String()
	}
	return m.currency.Code() + " " + m.AmountString()
}

// AmountString returns the amount with at least the currency's minor digits
// and no trailing zeros beyond them: "12.30", "0.00013", "5" for JPY.
func (m Money) AmountString() string {
	if m.Sign() == 0 { // whatever its exponent (0 × 10^2147483647)
		return decimal.Zero.StringFixed(m.currency.Digits())
	}
	places := m.currency.Digits()
	if e := -m.exp; e > places {
		places = e
	}
	s := m.dec().StringFixed(places)
	if places > m.currency.Digits() && strings.IndexByte(s, '.') >= 0 {
		min := len(s) - int(places-m.currency.Digits())
		for len(s) > min && s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// MarshalText writes the text form ParseMoney reads: String's, except that
// a declared unit is written with its digits ("GEMS:0 12"), so that the
// amount reads back the same without the registry that declared it.
//
// An amount beyond MaxAmountDigits is an error wrapping ErrTooManyDigits,
// and a nonzero amount without a currency one wrapping ErrNoCurrency:
// neither would read back.
func (m Money) MarshalText() ([]byte, error) {
	if err := m.checkWritable(); err != nil {
		return nil, err
	}
	if !m.currency.IsDeclared() {
		return []byte(m.String()), nil
	}
	b := m.currency.appendText(nil)
	return append(append(b, ' '), m.AmountString()...), nil
}

// UnmarshalText reads the text form, as ParseMoney.
func (m *Money) UnmarshalText(b []byte) error {
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

type moneyJSON struct {
	Amount   json.RawMessage `json:"amount"`
	Currency Currency        `json:"currency"`
}

// MarshalJSON writes {"amount":"12.30","currency":"EUR"}, the amount as a
// string so that no JSON reader turns it into a float. It refuses what
// MarshalText refuses, with the same errors.
func (m Money) MarshalJSON() ([]byte, error) {
	if err := m.checkWritable(); err != nil {
		return nil, err
	}
	amount, err := json.Marshal(m.AmountString())
	if err != nil {
		return nil, err
	}
	return json.Marshal(moneyJSON{Amount: amount, Currency: m.currency})
}

// UnmarshalJSON reads {"amount":"12.30","currency":"EUR"}. The amount may
// also be a JSON number, which is read from its text, never through a float.
// A nonzero amount without a currency is an error, and so is a key given
// twice or in two cases ("amount" beside "Amount"), a *DecodeError.
func (m *Money) UnmarshalJSON(b []byte) error {
	if err := CheckJSON("money", b); err != nil {
		return err
	}
	var v moneyJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return &DecodeError{Subject: "money", Offset: -1, Msg: err.Error(), Err: err, input: bytes.Clone(b)}
	}
	text := string(v.Amount)
	if len(text) > 0 && text[0] == '"' {
		if err := json.Unmarshal(v.Amount, &text); err != nil {
			return err
		}
	}
	d, err := ParseDecimal(text)
	if err != nil {
		return err
	}
	if v.Currency.IsZero() && !d.IsZero() {
		pe := parseError("money", string(b), "nonzero amount without a currency")
		pe.Err = ErrNoCurrency
		return pe
	}
	got := fromDecimal(d, v.Currency)
	if !got.writable() {
		pe := parseError("money", string(b), "more than "+itoa(MaxAmountDigits)+" digits as written in "+v.Currency.keyOrNone())
		pe.Err = ErrTooManyDigits
		return pe
	}
	*m = got
	return nil
}

// Sum adds ms. All must share one currency (the zero Money fits any); the
// sum of nothing is the zero Money.
func Sum(ms ...Money) (Money, error) {
	var total Money
	for _, m := range ms {
		var err error
		if total, err = total.Add(m); err != nil {
			return Money{}, err
		}
	}
	return total, nil
}
