package rules

import (
	"errors"
	"fmt"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/decls"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
)

// Library returns the CEL library of decimal and money for environment
// version v: the types, the functions introduced at or before v, the AST
// validator that rejects doubles and dyn and checks literals, and the
// evaluation decorator that turns constant calls into constants. NewEnv
// installs it; use Library directly only to build a cel.Env of your own (cost
// estimation and struct types then are yours to configure).
//
// Every function below is pure and returns an evaluation error, never a
// panic, on bad input. Results are bounded by MaxResultDigits and
// MaxResultScale.
//
// # Cost
//
// Every call is priced by the sizes of its operands, in cost units of about
// 50 ns of evaluation (see DefaultCostBudget): the static estimate prices it
// with the largest sizes its operands can have, the runtime limit with
// their actual sizes, so that the estimate bounds what any evaluation with
// inputs within those sizes is charged. A decimal or money operand counts
// the digits it spans, integer digits and digits after the point (12.5 and
// 0.001 span 3): for the estimate a literal's own, else MaxResultDigits (or
// the field's SizeHint), and a result at most the sum of its operands'. Text
// counts its code points; s is the scale asked of div (MaxScale unless a
// literal). A price is the base below, plus the units given per digit of the
// operands a and b, plus w when an operand has more than 18 digits (its
// coefficient no longer fits an int64 and each step allocates):
//
//	call                       decimal                      money
//	+ -                        4 + 0.05(a+b), w 1           10 + 0.15(a+b), w 8
//	*                          4 + 0.05(a+b) + 0.003ab, w 1 8 + 0.15(a+b) + 0.005ab, w 6
//	div                        18 + 0.125(a+b+s)            20 + 0.15(a+b+s)
//	round                      14 + 0.125a, w 5             20 + 0.25a, w 5
//	< <= > >= == != min max    3 + 0.025(a+b), w 1          8 + 0.1(a+b), w 2
//	unary -, abs               5 + 0.04a, w 1               6 + 0.06a, w 2
//	string                     6 + 0.25a, w 1               14 + 0.35a, w 4
//	amount                                                  6 + 0.1a, w 3
//	money(decimal, code)                                    10 + 0.1a + 0.02 per code point, w 4
//	dec(string)                20 + 0.03 per code point
//	percent(string)            22 + 0.03 per code point
//	money(string, code)                                     25 + 0.03 per code point of both
//	dec(int), percent(int)     2, 3
//	percent(decimal)           4 + 0.04a
//	currency, sign             1                            1
//	months_since               12 (with a literal zone too; a computed zone 612 + 0.1 per code point)
//
// Fractions of a unit round up: two 80-digit decimals cost 13 units to add,
// 41 to divide at scale 18 and 8 to compare; 1-digit ones 5, 21 and 4. A call whose arguments are all literals
// (dec("0.25"), percent(30), money("100", "EUR")) is computed once when the
// rule is compiled and costs nothing; money with a literal amount and a
// computed code parses the amount once too, and is priced as written. cel-go charges 1 unit for reading a
// variable or a field and for most of its functions; the library prices
// those whose time grows with their operands in the same units: comparing
// strings (0.1 per code point of the shorter), lists and maps (element by
// element), membership in a list of decimals or money, looking a long string
// up in a map, size() of a string, matches (its pattern compiled) and
// contains, parsing timestamps, durations and numbers, and the fields of a
// timestamp in a time zone (a zone by name is loaded from the system's
// database at every call: 600 units; an offset such as "+01:00": 10).
//
// # Dec
//
// Introduced at version: 1
//
// Returns the decimal for a plain decimal string (no exponent, at most
// MaxLiteralDigits digits and MaxScale digits after the point) or an int.
// A string literal is parsed when the rule is compiled: a bad literal is a
// compile error at its position, and the decimal is a constant at evaluation.
//
//	dec(<string>) -> <decimal>
//	dec(<int>) -> <decimal>
//
// Examples:
//
//	dec("0.25")            // 0.25
//	dec(3)                 // 3
//	dec("1e3")             // compile error: exponents are not decimals
//
// # Percent
//
// Introduced at version: 1
//
// Returns the decimal for a percentage: the argument divided by 100, exactly.
//
//	percent(<string>) -> <decimal>
//	percent(<int>) -> <decimal>
//	percent(<decimal>) -> <decimal>
//
// Examples:
//
//	percent("12.5")        // 0.125
//	percent(30)            // 0.3
//
// # Money
//
// Introduced at version: 1
//
// Returns money from an amount (a decimal string or a decimal) and an ISO 4217
// currency code, or a declared unit written with its digits ("GEMS:0", as
// line.currency and <money>.currency() give it). Literal arguments are
// checked when the rule is compiled, and a literal amount is parsed then,
// once, even when the code is computed (money("10", line.currency)).
//
//	money(<string>, <string>) -> <money>
//	money(<decimal>, <string>) -> <money>
//
// Examples:
//
//	money("100", "EUR")                  // EUR 100.00
//	money(dec("0.5") * dec("3"), "USD")  // USD 1.50
//
// # Arithmetic and comparison
//
// Introduced at version: 1
//
// Decimals add, subtract, multiply and negate exactly; money adds to and
// subtracts from money of the same currency (another currency is an
// evaluation error), multiplies by a decimal on either side and negates. There
// is no money * money, no / operator (use div) and no mixing with int or
// double. Decimals compare with decimals, money with money of the same
// currency; == and != compare numerically (1.0 == 1.00).
//
//	<decimal> + - * <decimal> -> <decimal>
//	<money> + - <money> -> <money>
//	<money> * <decimal> -> <money>
//	<decimal> * <money> -> <money>
//	-<decimal> -> <decimal>, -<money> -> <money>
//	<decimal> < <= > >= == != <decimal> -> <bool>
//	<money> < <= > >= == != <money> -> <bool>
//
// Examples:
//
//	dec("0.1") + dec("0.2") == dec("0.3")          // true
//	money("10", "EUR") * dec("0.15")               // EUR 1.50
//	money("1", "EUR") + money("1", "USD")          // error: currency mismatch
//
// # Div
//
// Introduced at version: 1
//
// Divides with an explicit scale (0 to MaxScale digits after the point) and an
// optional rounding mode (half_away_from_zero, the default, half_even,
// half_down, up, down, ceiling, floor). The rounding is exact. Division by
// zero is an evaluation error. Money divided by money of the same currency is
// a decimal ratio.
//
//	<decimal>.div(<decimal>, <int>) -> <decimal>
//	<decimal>.div(<decimal>, <int>, <string>) -> <decimal>
//	<money>.div(<decimal>, <int>) -> <money>
//	<money>.div(<decimal>, <int>, <string>) -> <money>
//	<money>.div(<money>, <int>) -> <decimal>
//	<money>.div(<money>, <int>, <string>) -> <decimal>
//
// Examples:
//
//	dec("1").div(dec("3"), 4)                        // 0.3333
//	dec("2.5").div(dec("1"), 0, "half_even")         // 2
//	money("10", "EUR").div(dec("3"), 2)              // EUR 3.33
//	money("25", "EUR").div(money("100", "EUR"), 2)   // 0.25
//
// # Round
//
// Introduced at version: 1
//
// Rounds to an explicit scale (0 to MaxScale) in an optional rounding mode
// (default half_away_from_zero).
//
//	<decimal>.round(<int>) -> <decimal>
//	<decimal>.round(<int>, <string>) -> <decimal>
//	<money>.round(<int>) -> <money>
//	<money>.round(<int>, <string>) -> <money>
//
// Examples:
//
//	dec("2.345").round(2)                 // 2.35
//	dec("2.345").round(2, "half_even")    // 2.34
//	money("3.685", "EUR").round(2)        // EUR 3.69
//
// # String
//
// Introduced at version: 1
//
// Writes a decimal in plain notation, and money as its code and amount with
// at least the currency's minor digits.
//
//	string(<decimal>) -> <string>
//	string(<money>) -> <string>
//
// Examples:
//
//	string(dec("1.50"))            // "1.5"
//	string(money("12.3", "EUR"))   // "EUR 12.30"
//
// # Min and max
//
// Introduced at version: 1
//
// Returns the smaller or larger of two decimals, or of two amounts of the same
// currency.
//
//	min(<decimal>, <decimal>) -> <decimal>
//	max(<decimal>, <decimal>) -> <decimal>
//	min(<money>, <money>) -> <money>
//	max(<money>, <money>) -> <money>
//
// Examples:
//
//	min(dec("0.3"), dec("0.25"))                    // 0.25
//	max(money("5", "EUR"), money("7", "EUR"))       // EUR 7.00
//
// # Amount, currency and sign
//
// Introduced at version: 1
//
// Returns the decimal amount or the currency key of money (the ISO code, or
// a declared unit's "CODE:DIGITS", which money() reads back), and the sign
// (-1, 0 or 1) of a decimal or money.
//
//	<money>.amount() -> <decimal>
//	<money>.currency() -> <string>
//	<decimal>.sign() -> <int>
//	<money>.sign() -> <int>
//
// Examples:
//
//	money("12.30", "EUR").amount()     // 12.3
//	money("12.30", "EUR").currency()   // "EUR"
//	dec("-2").sign()                   // -1
//
// # Abs
//
// Introduced at version: 2
//
// Returns the absolute value of a decimal or money. Rules written for
// environment version 1 do not see it.
//
//	<decimal>.abs() -> <decimal>
//	<money>.abs() -> <money>
//
// Examples:
//
//	dec("-2.5").abs()              // 2.5
//	money("-3", "EUR").abs()       // EUR 3.00
//
// # Months since
//
// Introduced at version: 3
//
// Returns the whole calendar months from one instant to another: the
// largest n for which from, n months on, is at or before at; negative when
// at is before from (-1 for the month before). Months step as monthly
// billing cycles do (ensemble.Cadence): the day of the month and the
// wall-clock time are kept, and a day the month lacks is its last (one
// month from January 31 is February 28, or 29), in UTC or in the time zone
// given: an IANA name ("Europe/Paris", "UTC") or an offset ("+01:00").
// Name the zone the contract's calendar is kept in: a contract that
// starts at midnight in Paris on March 31 starts its second month at
// midnight in Paris on April 30, which is 22:00 UTC on April 29, before a
// month in UTC is over. "Local" and "" are refused (the result would depend
// on the machine), and so is a zone the system's database does not hold
// (ErrTimeZone; a literal one when the rule is compiled). A zone written as
// a literal is loaded once, when the rule is compiled, and costs as little
// as UTC; a computed one is loaded at every call and costs as much as
// cel-go's timestamp fields in a named zone (see Cost).
//
//	months_since(<timestamp>, <timestamp>) -> <int>
//	months_since(<timestamp>, <timestamp>, <string>) -> <int>
//
// Examples:
//
//	months_since(timestamp("2026-01-31T00:00:00Z"), timestamp("2026-02-28T00:00:00Z"))   // 1
//	months_since(timestamp("2026-01-15T00:00:00Z"), timestamp("2027-01-14T23:59:59Z"))   // 11
//	months_since(timestamp("2026-03-01T00:00:00Z"), timestamp("2026-02-20T00:00:00Z"))   // -1
//	months_since(timestamp("2026-03-30T22:00:00Z"), timestamp("2026-04-29T22:00:00Z"), "Europe/Paris")  // 1
//	months_since(line.contract_start, line.service_start, "Europe/Paris") < 12   // the contract's first year
func Library(v Version) cel.EnvOption {
	return cel.Lib(library{version: v})
}

type library struct{ version Version }

// LibraryName implements cel.Library.
func (library) LibraryName() string { return "ensemble.rules" }

// CompileOptions implements cel.SingletonLibrary's compile half.
func (l library) CompileOptions() []cel.EnvOption {
	var opts []cel.EnvOption
	for _, f := range functionTable {
		var fopts []cel.FunctionOpt
		for _, o := range f.overloads {
			if o.since > l.version {
				continue
			}
			var oopts []cel.OverloadOpt
			if o.bind != nil {
				oopts = append(oopts, o.bind)
			}
			if len(o.examples) > 0 {
				oopts = append(oopts, cel.OverloadExamples(o.examples...))
			}
			if o.member {
				fopts = append(fopts, cel.MemberOverload(o.id, o.args, o.result, oopts...))
			} else {
				fopts = append(fopts, cel.Overload(o.id, o.args, o.result, oopts...))
			}
		}
		if len(fopts) > 0 {
			// Every binding checks its arguments' types itself, so cel-go's
			// per-call runtime signature guard would only repeat the work.
			fopts = append(fopts, decls.DisableTypeGuards(true))
			opts = append(opts, cel.Function(f.name, fopts...))
		}
	}
	opts = append(opts, cel.ASTValidators(literalValidator{}))
	return opts
}

// ProgramOptions implements cel.Library.
func (library) ProgramOptions() []cel.ProgramOption {
	return []cel.ProgramOption{cel.CustomDecorator(foldConstants)}
}

// overload is one signature of a library function.
type overload struct {
	id       string
	since    Version
	member   bool
	args     []*types.Type
	result   *types.Type
	price    price
	size     func(sizes) uint64 // the largest size of a decimal, money or string result
	bind     cel.OverloadOpt    // nil for operators, which dispatch through traits
	examples []string
}

type function struct {
	name      string
	overloads []overload
}

var (
	tDec   = DecimalType
	tMoney = MoneyType
	tInt   = types.IntType
	tStr   = types.StringType
	tBool  = types.BoolType
	tTime  = types.TimestampType
)

func args(ts ...*types.Type) []*types.Type { return ts }

// functionTable lists every function and operator overload of the library,
// with the environment version that introduced it and its cost. It is read
// only.
var functionTable = []function{
	{name: "dec", overloads: []overload{
		{id: "dec_string", since: 1, args: args(tStr), result: tDec, price: pDecText, size: resultFixed(MaxLiteralDigits), bind: cel.UnaryBinding(decFromString)},
		{id: "dec_int", since: 1, args: args(tInt), result: tDec, price: pDecInt, size: resultFixed(maxIntDigits), bind: cel.UnaryBinding(decFromInt)},
	}},
	{name: "percent", overloads: []overload{
		{id: "percent_string", since: 1, args: args(tStr), result: tDec, price: pPercentText, size: resultFixed(MaxLiteralDigits), bind: cel.UnaryBinding(percentOf(decFromString))},
		{id: "percent_int", since: 1, args: args(tInt), result: tDec, price: pPercentInt, size: resultFixed(maxIntDigits), bind: cel.UnaryBinding(percentOf(decFromInt))},
		{id: "percent_decimal", since: 1, args: args(tDec), result: tDec, price: pPercent, size: resultPercent, bind: cel.UnaryBinding(percentOf(func(v ref.Val) ref.Val { return v }))},
	}},
	{name: "money", overloads: []overload{
		{id: "money_string_string", since: 1, args: args(tStr, tStr), result: tMoney, price: pMoneyText, size: resultFixed(MaxLiteralDigits), bind: cel.BinaryBinding(moneyOf)},
		{id: "money_decimal_string", since: 1, args: args(tDec, tStr), result: tMoney, price: pMoneyOf, size: resultA, bind: cel.BinaryBinding(moneyOf)},
	}},
	{name: operators.Add, overloads: []overload{
		{id: "add_decimal_decimal", since: 1, args: args(tDec, tDec), result: tDec, price: pAdd, size: resultSum},
		{id: "add_money_money", since: 1, args: args(tMoney, tMoney), result: tMoney, price: pAddMoney, size: resultSum},
	}},
	{name: operators.Subtract, overloads: []overload{
		{id: "subtract_decimal_decimal", since: 1, args: args(tDec, tDec), result: tDec, price: pAdd, size: resultSum},
		{id: "subtract_money_money", since: 1, args: args(tMoney, tMoney), result: tMoney, price: pAddMoney, size: resultSum},
	}},
	{name: operators.Multiply, overloads: []overload{
		{id: "multiply_decimal_decimal", since: 1, args: args(tDec, tDec), result: tDec, price: pMul, size: resultSum},
		{id: "multiply_money_decimal", since: 1, args: args(tMoney, tDec), result: tMoney, price: pMulMoney, size: resultSum},
		{id: "multiply_decimal_money", since: 1, args: args(tDec, tMoney), result: tMoney, price: pMulMoney, size: resultSum},
	}},
	{name: operators.Negate, overloads: []overload{
		{id: "negate_decimal", since: 1, args: args(tDec), result: tDec, price: pNeg, size: resultA},
		{id: "negate_money", since: 1, args: args(tMoney), result: tMoney, price: pNegMoney, size: resultA},
	}},
	{name: operators.Less, overloads: []overload{
		{id: "less_decimal_decimal", since: 1, args: args(tDec, tDec), result: tBool, price: pCmp},
		{id: "less_money_money", since: 1, args: args(tMoney, tMoney), result: tBool, price: pCmpMoney},
	}},
	{name: operators.LessEquals, overloads: []overload{
		{id: "less_equals_decimal_decimal", since: 1, args: args(tDec, tDec), result: tBool, price: pCmp},
		{id: "less_equals_money_money", since: 1, args: args(tMoney, tMoney), result: tBool, price: pCmpMoney},
	}},
	{name: operators.Greater, overloads: []overload{
		{id: "greater_decimal_decimal", since: 1, args: args(tDec, tDec), result: tBool, price: pCmp},
		{id: "greater_money_money", since: 1, args: args(tMoney, tMoney), result: tBool, price: pCmpMoney},
	}},
	{name: operators.GreaterEquals, overloads: []overload{
		{id: "greater_equals_decimal_decimal", since: 1, args: args(tDec, tDec), result: tBool, price: pCmp},
		{id: "greater_equals_money_money", since: 1, args: args(tMoney, tMoney), result: tBool, price: pCmpMoney},
	}},
	{name: "div", overloads: []overload{
		{id: "decimal_div_decimal_int", since: 1, member: true, args: args(tDec, tDec, tInt), result: tDec, price: pDiv, size: resultQuotient, bind: cel.FunctionBinding(divFn)},
		{id: "decimal_div_decimal_int_string", since: 1, member: true, args: args(tDec, tDec, tInt, tStr), result: tDec, price: pDiv, size: resultQuotient, bind: cel.FunctionBinding(divFn)},
		{id: "money_div_decimal_int", since: 1, member: true, args: args(tMoney, tDec, tInt), result: tMoney, price: pDivMoney, size: resultQuotient, bind: cel.FunctionBinding(divFn)},
		{id: "money_div_decimal_int_string", since: 1, member: true, args: args(tMoney, tDec, tInt, tStr), result: tMoney, price: pDivMoney, size: resultQuotient, bind: cel.FunctionBinding(divFn)},
		{id: "money_div_money_int", since: 1, member: true, args: args(tMoney, tMoney, tInt), result: tDec, price: pDivMoney, size: resultQuotient, bind: cel.FunctionBinding(divFn)},
		{id: "money_div_money_int_string", since: 1, member: true, args: args(tMoney, tMoney, tInt, tStr), result: tDec, price: pDivMoney, size: resultQuotient, bind: cel.FunctionBinding(divFn)},
	}},
	{name: "round", overloads: []overload{
		{id: "decimal_round_int", since: 1, member: true, args: args(tDec, tInt), result: tDec, price: pRound, size: resultA, bind: cel.BinaryBinding(round2)},
		{id: "decimal_round_int_string", since: 1, member: true, args: args(tDec, tInt, tStr), result: tDec, price: pRound, size: resultA, bind: cel.FunctionBinding(roundFn)},
		{id: "money_round_int", since: 1, member: true, args: args(tMoney, tInt), result: tMoney, price: pRoundMoney, size: resultA, bind: cel.BinaryBinding(round2)},
		{id: "money_round_int_string", since: 1, member: true, args: args(tMoney, tInt, tStr), result: tMoney, price: pRoundMoney, size: resultA, bind: cel.FunctionBinding(roundFn)},
	}},
	{name: "string", overloads: []overload{
		{id: "string_decimal", since: 1, args: args(tDec), result: tStr, price: pString, size: resultDecimalText, bind: cel.UnaryBinding(toString)},
		{id: "string_money", since: 1, args: args(tMoney), result: tStr, price: pStringMoney, size: resultMoneyText, bind: cel.UnaryBinding(toString)},
	}},
	{name: "min", overloads: []overload{
		{id: "min_decimal_decimal", since: 1, args: args(tDec, tDec), result: tDec, price: pCmp, size: resultMax, bind: cel.BinaryBinding(pick(-1))},
		{id: "min_money_money", since: 1, args: args(tMoney, tMoney), result: tMoney, price: pCmpMoney, size: resultMax, bind: cel.BinaryBinding(pick(-1))},
	}},
	{name: "max", overloads: []overload{
		{id: "max_decimal_decimal", since: 1, args: args(tDec, tDec), result: tDec, price: pCmp, size: resultMax, bind: cel.BinaryBinding(pick(1))},
		{id: "max_money_money", since: 1, args: args(tMoney, tMoney), result: tMoney, price: pCmpMoney, size: resultMax, bind: cel.BinaryBinding(pick(1))},
	}},
	{name: "amount", overloads: []overload{
		{id: "money_amount", since: 1, member: true, args: args(tMoney), result: tDec, price: pAmount, size: resultA, bind: cel.UnaryBinding(amountFn)},
	}},
	{name: "currency", overloads: []overload{
		{id: "money_currency", since: 1, member: true, args: args(tMoney), result: tStr, price: pConst1, size: resultFixed(maxCurrencyKey), bind: cel.UnaryBinding(currencyFn)},
	}},
	{name: "sign", overloads: []overload{
		{id: "decimal_sign", since: 1, member: true, args: args(tDec), result: tInt, price: pConst1, bind: cel.UnaryBinding(signFn)},
		{id: "money_sign", since: 1, member: true, args: args(tMoney), result: tInt, price: pConst1, bind: cel.UnaryBinding(signFn)},
	}},
	{name: "abs", overloads: []overload{
		{id: "decimal_abs", since: 2, member: true, args: args(tDec), result: tDec, price: pNeg, size: resultA, bind: cel.UnaryBinding(absFn)},
		{id: "money_abs", since: 2, member: true, args: args(tMoney), result: tMoney, price: pNegMoney, size: resultA, bind: cel.UnaryBinding(absFn)},
	}},
	{name: "months_since", overloads: []overload{
		{id: monthsSinceID, since: 3, args: args(tTime, tTime), result: tInt, price: pMonths, bind: cel.BinaryBinding(monthsSince)},
		{id: monthsSinceZoneID, since: 3, args: args(tTime, tTime, tStr), result: tInt, price: pMonthsZone, bind: cel.FunctionBinding(monthsSinceIn)},
	}},
}

// libraryOverload is an overload as the cost model sees it.
type libraryOverload struct {
	ops    []operand
	price  price
	result func(sizes) uint64
}

// overloadCosts maps each overload id of the library to its price (the
// constant folder also reads it to tell the library's calls). It is built
// once from functionTable and only read afterwards.
var overloadCosts = func() map[string]*libraryOverload {
	m := make(map[string]*libraryOverload)
	for _, f := range functionTable {
		for i := range f.overloads {
			o := &f.overloads[i]
			m[o.id] = &libraryOverload{ops: o.operands(f.name), price: o.price, result: o.size}
		}
	}
	return m
}()

// parseDecimalLiteral reads a decimal as rules write it: ensemble's plain
// notation, at most MaxScale digits after the point.
func parseDecimalLiteral(s string) (decimal.Decimal, error) {
	d, err := ensemble.ParseDecimal(s)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if d.Exponent() < -MaxScale {
		return decimal.Decimal{}, fmt.Errorf("decimal %q has more than %d digits after the point", s, MaxScale)
	}
	return d, nil
}

func decFromString(v ref.Val) ref.Val {
	s, ok := v.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	d, err := parseDecimalLiteral(string(s))
	if err != nil {
		return types.WrapErr(err)
	}
	return mkDec(d)
}

func decFromInt(v ref.Val) ref.Val {
	i, ok := v.(types.Int)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	return mkDec(decimal.NewFromInt(int64(i)))
}

func percentOf(conv func(ref.Val) ref.Val) func(ref.Val) ref.Val {
	return func(v ref.Val) ref.Val {
		r := conv(v)
		d, ok := r.(decVal)
		if !ok {
			return r
		}
		return newDec(d.d().Shift(-2))
	}
}

func moneyOf(amount, code ref.Val) ref.Val {
	c, ok := code.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(code)
	}
	cur, err := ensemble.ParseCurrency(string(c))
	if err != nil {
		return types.WrapErr(err)
	}
	var d decimal.Decimal
	switch a := amount.(type) {
	case types.String:
		d, err = parseDecimalLiteral(string(a))
		if err != nil {
			return types.WrapErr(err)
		}
	case decVal:
		d = a.d()
	default:
		return types.MaybeNoSuchOverloadErr(amount)
	}
	// The money holds d as it is: d's bounds are its own.
	if err := checkBounds(d); err != nil {
		return err
	}
	return mkMoney(ensemble.MoneyFromDecimal(d, cur))
}

// ErrDivisionByZero is returned, inside an *EvalError, by div with a zero
// divisor.
var ErrDivisionByZero = errors.New("rules: division by zero")

func scaleArg(v ref.Val) (int32, ref.Val) {
	i, ok := v.(types.Int)
	if !ok {
		return 0, types.MaybeNoSuchOverloadErr(v)
	}
	if i < 0 || i > MaxScale {
		return 0, types.NewErr("scale %d out of range [0, %d]", int64(i), MaxScale)
	}
	return int32(i), nil
}

func modeArg(vs []ref.Val, at int) (ensemble.RoundingMode, ref.Val) {
	if len(vs) <= at {
		return ensemble.RoundHalfAwayFromZero, nil
	}
	s, ok := vs[at].(types.String)
	if !ok {
		return 0, types.MaybeNoSuchOverloadErr(vs[at])
	}
	m, err := ensemble.ParseRoundingMode(string(s))
	if err != nil {
		return 0, types.WrapErr(err)
	}
	return m, nil
}

func divFn(vs ...ref.Val) ref.Val {
	if len(vs) < 3 {
		return types.NoSuchOverloadErr()
	}
	scale, errv := scaleArg(vs[2])
	if errv != nil {
		return errv
	}
	mode, errv := modeArg(vs, 3)
	if errv != nil {
		return errv
	}
	switch x := vs[0].(type) {
	case decVal:
		y, ok := vs[1].(decVal)
		if !ok {
			return types.MaybeNoSuchOverloadErr(vs[1])
		}
		if y.d().IsZero() {
			return types.WrapErr(ErrDivisionByZero)
		}
		return newDec(divRound(x.d(), y.d(), scale, mode))
	case moneyVal:
		switch y := vs[1].(type) {
		case decVal:
			if y.d().IsZero() {
				return types.WrapErr(ErrDivisionByZero)
			}
			return newMoney(ensemble.MoneyFromDecimal(divRound(x.m().Amount(), y.d(), scale, mode), x.m().Currency()))
		case moneyVal:
			if y.m().IsZero() {
				return types.WrapErr(ErrDivisionByZero)
			}
			if !x.m().Currency().IsZero() && x.m().Currency() != y.m().Currency() {
				return types.WrapErr(&ensemble.CurrencyMismatchError{Op: "div", A: x.m().Currency(), B: y.m().Currency()})
			}
			return newDec(divRound(x.m().Amount(), y.m().Amount(), scale, mode))
		}
		return types.MaybeNoSuchOverloadErr(vs[1])
	}
	return types.MaybeNoSuchOverloadErr(vs[0])
}

// round2 is roundFn of two arguments, bound as a binary call: cel-go
// passes a variadic call's arguments in a slice it allocates.
func round2(x, scale ref.Val) ref.Val { return roundFn(x, scale) }

func roundFn(vs ...ref.Val) ref.Val {
	if len(vs) < 2 {
		return types.NoSuchOverloadErr()
	}
	scale, errv := scaleArg(vs[1])
	if errv != nil {
		return errv
	}
	mode, errv := modeArg(vs, 2)
	if errv != nil {
		return errv
	}
	switch x := vs[0].(type) {
	case decVal:
		return mkDec(ensemble.Round(x.d(), scale, mode))
	case moneyVal:
		return mkMoney(x.m().RoundTo(scale, mode))
	}
	return types.MaybeNoSuchOverloadErr(vs[0])
}

func toString(v ref.Val) ref.Val {
	switch x := v.(type) {
	case decVal:
		return types.String(x.d().String())
	case moneyVal:
		return types.String(x.m().String())
	}
	return types.MaybeNoSuchOverloadErr(v)
}

// pick returns min (want -1) or max (want +1) of two comparable values; on a
// tie it returns the first.
func pick(want int64) func(a, b ref.Val) ref.Val {
	return func(a, b ref.Val) ref.Val {
		var c ref.Val
		switch x := a.(type) {
		case decVal:
			c = x.Compare(b)
		case moneyVal:
			c = x.Compare(b)
		default:
			return types.MaybeNoSuchOverloadErr(a)
		}
		ci, ok := c.(types.Int)
		if !ok {
			return c
		}
		if int64(ci) == -want {
			return b
		}
		return a
	}
}

func amountFn(v ref.Val) ref.Val {
	m, ok := v.(moneyVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	return mkDec(m.m().Amount())
}

func currencyFn(v ref.Val) ref.Val {
	m, ok := v.(moneyVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	return types.String(m.m().Currency().Key())
}

func signFn(v ref.Val) ref.Val {
	switch x := v.(type) {
	case decVal:
		return cmpVal(x.d().Sign())
	case moneyVal:
		return cmpVal(x.m().Sign())
	}
	return types.MaybeNoSuchOverloadErr(v)
}

func absFn(v ref.Val) ref.Val {
	switch x := v.(type) {
	case decVal:
		return mkDec(x.d().Abs())
	case moneyVal:
		return mkMoney(x.m().Abs())
	}
	return types.MaybeNoSuchOverloadErr(v)
}
