package rules

import (
	"fmt"
	"reflect"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
)

// Bounds on the decimals a rule can write or compute, so that a hostile rule
// cannot make arithmetic arbitrarily slow or large.
const (
	// MaxScale is the largest number of digits after the point that a
	// decimal literal may have and that div and round may be asked for.
	MaxScale = 18
	// MaxLiteralDigits is the largest number of digits a decimal or money
	// literal may have (ensemble.MaxAmountDigits).
	MaxLiteralDigits = ensemble.MaxAmountDigits
	// MaxResultDigits is the largest number of significant digits an
	// arithmetic result may have; a larger result is an evaluation error.
	MaxResultDigits = 80
	// MaxResultScale is the largest number of digits after the point an
	// arithmetic result may have; a finer result is an evaluation error.
	// Round or div the operands to keep products within it.
	MaxResultScale = 40
)

// DecimalType is the CEL type of exact decimals, written decimal in rules.
// Its values are shopspring decimals; they never pass through a binary float.
var DecimalType = types.NewOpaqueType("decimal").WithTraits(
	traits.AdderType | traits.SubtractorType | traits.MultiplierType |
		traits.NegatorType | traits.ComparerType)

// MoneyType is the CEL type of money, written money in rules. Its values are
// ensemble.Money: an exact amount in an ISO 4217 currency.
var MoneyType = types.NewOpaqueType("money").WithTraits(
	traits.AdderType | traits.SubtractorType | traits.MultiplierType |
		traits.NegatorType | traits.ComparerType)

var (
	decimalGoType = reflect.TypeFor[decimal.Decimal]()
	moneyGoType   = reflect.TypeFor[ensemble.Money]()
)

// decVal is a decimal inside CEL. It holds a pointer so that it fits an
// interface without an allocation: a decimal field of a host struct is read
// in place, and a computed decimal costs one allocation.
type decVal struct{ p *decimal.Decimal }

// moneyVal is an ensemble.Money inside CEL, held by pointer like decVal.
type moneyVal struct{ p *ensemble.Money }

func mkDec(d decimal.Decimal) decVal { return decVal{p: &d} }

func mkMoney(m ensemble.Money) moneyVal { return moneyVal{p: &m} }

func (v decVal) d() decimal.Decimal { return *v.p }

func (v moneyVal) m() ensemble.Money { return *v.p }

func newDec(d decimal.Decimal) ref.Val {
	if err := checkBounds(d); err != nil {
		return err
	}
	return mkDec(d)
}

func newMoney(m ensemble.Money) ref.Val {
	if !moneyInBounds(m) {
		if err := checkBounds(m.Amount()); err != nil {
			return err
		}
	}
	return mkMoney(m)
}

// moneyInBounds reports, without the allocations of Money.Amount, that m
// is within the bounds checkBounds checks, for the amounts rules mostly
// compute: nonzero, with at most MaxResultScale digits after the point
// (RoundTo returns m itself then, as it documents, so the comparison is of
// representations, not of amounts) and an integer part that is a whole
// int64 number of minor units (under 10^19), so that it spans at most
// 19 + MaxResultScale digits. False says nothing: checkBounds decides.
func moneyInBounds(m ensemble.Money) bool {
	if m.Sign() == 0 || m.RoundTo(MaxResultScale, ensemble.RoundDown) != m {
		return false
	}
	_, err := m.RoundTo(0, ensemble.RoundDown).MinorUnits()
	return err == nil
}

// compared holds the results of Compare as values, so that comparing
// allocates nothing (an Int below zero does when it becomes a ref.Val).
var compared = [3]ref.Val{types.IntNegOne, types.IntZero, types.IntOne}

// cmpVal returns c (-1, 0 or +1) as a value.
func cmpVal(c int) ref.Val { return compared[c+1] }

// checkBounds returns an error value when d is outside the bounds every
// result must keep, and nil otherwise. A result's digits are counted as
// digits counts them, so that no result spans more than MaxResultDigits
// digits (the static cost estimate relies on it).
func checkBounds(d decimal.Decimal) ref.Val {
	if d.Exponent() < -MaxResultScale {
		return types.WrapErr(&RangeError{Value: d, Reason: fmt.Sprintf("more than %d digits after the point", MaxResultScale)})
	}
	if digits(d) > MaxResultDigits {
		return types.WrapErr(&RangeError{Value: d, Reason: fmt.Sprintf("more than %d digits", MaxResultDigits)})
	}
	return nil
}

// digits returns how many decimal digits d spans, the size the cost of
// every decimal and money operation is charged by: its integer digits,
// counting the zeros a positive exponent stands for (1e3 spans 4), or its
// digits after the point when there are more of those (0.001 spans 3,
// 12.5 spans 3). It is at least 1. Adding or comparing two decimals aligns
// them at the smaller exponent, so the work grows with this count, not
// with the digits of the coefficient alone.
func digits(d decimal.Decimal) uint64 {
	n, e := int64(d.NumDigits()), int64(d.Exponent())
	if e >= 0 {
		return uint64(n + e)
	}
	return uint64(max(n, -e))
}

// valueDigits returns the digits of a decimal or money value, and false for
// any other value.
func valueDigits(v ref.Val) (uint64, bool) {
	switch x := v.(type) {
	case decVal:
		return digits(x.d()), true
	case moneyVal:
		return digits(x.m().Amount()), true
	}
	return 0, false
}

// RangeError reports a decimal result outside the bounds MaxResultDigits and
// MaxResultScale. It reaches callers inside an *EvalError.
type RangeError struct {
	Value  decimal.Decimal
	Reason string
}

// Error renders the problem, naming the rule where there is one.
func (e *RangeError) Error() string {
	s := e.Value.String()
	if len(s) > 24 {
		s = s[:24] + "..."
	}
	return "decimal result " + s + " out of range: " + e.Reason
}

// ConvertToNative implements ref.Val.
func (v decVal) ConvertToNative(t reflect.Type) (any, error) {
	switch t {
	case decimalGoType:
		return v.d(), nil
	case reflect.PointerTo(decimalGoType):
		d := v.d()
		return &d, nil
	case reflect.TypeFor[string]():
		return v.d().String(), nil
	}
	if t.Kind() == reflect.Interface && reflect.TypeFor[decimal.Decimal]().Implements(t) {
		return v.d(), nil
	}
	return nil, fmt.Errorf("rules: cannot convert decimal to %v", t)
}

// ConvertToType implements ref.Val.
func (v decVal) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case DecimalType:
		return v
	case types.StringType:
		return types.String(v.d().String())
	case types.TypeType:
		return DecimalType
	}
	return types.NewErr("type conversion error from decimal to '%s'", t)
}

// Equal implements ref.Val: decimals are equal when numerically equal.
func (v decVal) Equal(o ref.Val) ref.Val {
	ov, ok := o.(decVal)
	return types.Bool(ok && v.d().Equal(ov.d()))
}

// Type implements ref.Val.
func (v decVal) Type() ref.Type { return DecimalType }

// Value implements ref.Val.
func (v decVal) Value() any { return v.d() }

// Add implements traits.Adder.
func (v decVal) Add(o ref.Val) ref.Val {
	ov, ok := o.(decVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	return newDec(v.d().Add(ov.d()))
}

// Subtract implements traits.Subtractor.
func (v decVal) Subtract(o ref.Val) ref.Val {
	ov, ok := o.(decVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	return newDec(v.d().Sub(ov.d()))
}

// Multiply implements traits.Multiplier: decimal * decimal and
// decimal * money.
func (v decVal) Multiply(o ref.Val) ref.Val {
	switch ov := o.(type) {
	case decVal:
		return newDec(v.d().Mul(ov.d()))
	case moneyVal:
		return newMoney(ov.m().Mul(v.d()))
	}
	return types.MaybeNoSuchOverloadErr(o)
}

// Negate implements traits.Negater.
func (v decVal) Negate() ref.Val { return mkDec(v.d().Neg()) }

// Compare implements traits.Comparer.
func (v decVal) Compare(o ref.Val) ref.Val {
	ov, ok := o.(decVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	return cmpVal(v.d().Cmp(ov.d()))
}

// ConvertToNative implements ref.Val.
func (v moneyVal) ConvertToNative(t reflect.Type) (any, error) {
	switch t {
	case moneyGoType:
		return v.m(), nil
	case reflect.PointerTo(moneyGoType):
		m := v.m()
		return &m, nil
	case reflect.TypeFor[string]():
		return v.m().String(), nil
	}
	if t.Kind() == reflect.Interface && moneyGoType.Implements(t) {
		return v.m(), nil
	}
	return nil, fmt.Errorf("rules: cannot convert money to %v", t)
}

// ConvertToType implements ref.Val.
func (v moneyVal) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case MoneyType:
		return v
	case types.StringType:
		return types.String(v.m().String())
	case types.TypeType:
		return MoneyType
	}
	return types.NewErr("type conversion error from money to '%s'", t)
}

// Equal implements ref.Val: money is equal when the currencies match and the
// amounts are numerically equal.
func (v moneyVal) Equal(o ref.Val) ref.Val {
	ov, ok := o.(moneyVal)
	return types.Bool(ok && v.m().Equal(ov.m()))
}

// Type implements ref.Val.
func (v moneyVal) Type() ref.Type { return MoneyType }

// Value implements ref.Val.
func (v moneyVal) Value() any { return v.m() }

// Add implements traits.Adder; different currencies are an error.
func (v moneyVal) Add(o ref.Val) ref.Val {
	ov, ok := o.(moneyVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	s, err := v.m().Add(ov.m())
	if err != nil {
		return types.WrapErr(err)
	}
	return newMoney(s)
}

// Subtract implements traits.Subtractor; different currencies are an error.
func (v moneyVal) Subtract(o ref.Val) ref.Val {
	ov, ok := o.(moneyVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	s, err := v.m().Sub(ov.m())
	if err != nil {
		return types.WrapErr(err)
	}
	return newMoney(s)
}

// Multiply implements traits.Multiplier: money * decimal only.
func (v moneyVal) Multiply(o ref.Val) ref.Val {
	ov, ok := o.(decVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	return newMoney(v.m().Mul(ov.d()))
}

// Negate implements traits.Negater.
func (v moneyVal) Negate() ref.Val { return mkMoney(v.m().Neg()) }

// Compare implements traits.Comparer; different currencies are an error.
func (v moneyVal) Compare(o ref.Val) ref.Val {
	ov, ok := o.(moneyVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	c, err := v.m().Cmp(ov.m())
	if err != nil {
		return types.WrapErr(err)
	}
	return cmpVal(c)
}

// divRound returns x / y rounded to scale digits after the point in mode,
// exactly: the rounding decision compares the exact remainder, never a
// truncated quotient. y must not be zero.
func divRound(x, y decimal.Decimal, scale int32, mode ensemble.RoundingMode) decimal.Decimal {
	if mode == ensemble.RoundHalfAwayFromZero {
		return x.DivRound(y, scale) // exact, and allocates less
	}
	q, r := x.QuoRem(y, scale)
	if r.IsZero() {
		return q
	}
	// x = y*q + r with |r| < |y| * 10^-scale. The dropped fraction of a unit
	// is r / (y * 10^-scale); compare twice its magnitude with one.
	unit := decimal.New(1, -scale)
	half := 0
	if mode == ensemble.RoundHalfEven || mode == ensemble.RoundHalfDown {
		half = r.Abs().Mul(decimal.New(2, 0)).Cmp(y.Abs().Mul(unit))
	}
	neg := x.Sign()*y.Sign() < 0
	odd := mode == ensemble.RoundHalfEven && half == 0 && q.Shift(scale).BigInt().Bit(0) == 1
	if !awayFromZero(mode, half, neg, odd) {
		return q
	}
	if neg {
		return q.Sub(unit)
	}
	return q.Add(unit)
}

// awayFromZero decides whether a value whose dropped part compares half to
// one half of a unit (-1 below, 0 equal, +1 above) moves away from zero.
func awayFromZero(mode ensemble.RoundingMode, half int, neg, odd bool) bool {
	switch mode {
	case ensemble.RoundHalfEven:
		return half > 0 || (half == 0 && odd)
	case ensemble.RoundHalfDown:
		return half > 0
	case ensemble.RoundUp:
		return true
	case ensemble.RoundDown:
		return false
	case ensemble.RoundCeiling:
		return !neg
	case ensemble.RoundFloor:
		return neg
	default:
		return half >= 0
	}
}
