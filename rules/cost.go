package rules

import (
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// The cost model. A cost unit stands for about 50 ns of evaluation on the
// 2-core machine the model was calibrated on (see BenchmarkCostModel and
// the README), so that a budget bounds the time of an evaluation. cel-go
// charges 1 unit for reading a variable or a field and for most calls, 10
// for building a list and 30 for a map, and multiplies the cost of a
// comprehension's body by the size of the list or map it ranges over. The
// library prices its own functions, and the standard functions whose time
// grows with what they read (comparisons of strings, lists and maps, time
// zones, regular expressions, parsing), by the sizes of their operands:
//
//   - a decimal or money operand by the digits it spans (see digits): its
//     actual digits when a rule runs; for the static estimate the digits
//     of a literal, else MaxResultDigits (or a SizeHint on the field);
//   - a string operand by its length in code points: for the estimate its
//     literal's length, else its SizeHint, else the default size;
//   - the scale of div by its value, MaxScale when it is not a literal.
//
// Every price grows with the sizes it reads, so the estimate, made with
// the largest sizes, bounds what any evaluation whose inputs are within
// those sizes is charged.

// price is what one call of an overload costs in cost units, from the
// sizes of its operands: base, plus wide when a decimal operand has more
// than wideDigits digits (its coefficient no longer fits an int64, and
// arithmetic on it allocates), plus perA thousandths of a unit per digit
// (or code point) of the first sized operand, perB per digit of the second,
// perScale per digit of the scale asked for, and perAB per product of the
// first two (multiplying and dividing coefficients is quadratic in their
// length).
type price struct {
	base, wide, perA, perB, perScale, perAB uint64
}

// wideDigits is the most digits an int64 coefficient always holds.
const wideDigits = 18

// sizes are the operand sizes a price reads. A size of math.MaxUint64 is
// unknown, and prices saturate.
type sizes struct {
	a, b, scale uint64
}

// of returns the price of a call with operands of sizes x.
func (p price) of(x sizes) uint64 {
	thousandths := cost.SafeAdd(
		cost.SafeMultiply(p.perA, x.a),
		cost.SafeMultiply(p.perB, x.b),
		cost.SafeMultiply(p.perScale, x.scale),
		cost.SafeMultiply(p.perAB, cost.SafeMultiply(x.a, x.b)))
	c := cost.SafeAdd(p.base, ceilThousandths(thousandths))
	if x.a > wideDigits || x.b > wideDigits {
		c = cost.SafeAdd(c, p.wide)
	}
	return c
}

func ceilThousandths(v uint64) uint64 {
	if v == ^uint64(0) {
		return v
	}
	return v/1000 + min(v%1000, 1)
}

// operand says how a price reads one parameter of an overload.
type operand uint8

const (
	opIgnored operand = iota // not priced (a rounding mode)
	opDigits                 // a decimal or money: the digits it spans
	opText                   // a string: its length in code points
	opNumber                 // an int read as a number: its digits
	opScale                  // the scale of div or round
)

// operands returns how the prices of o read its parameters, the receiver
// of a member function first.
func (o *overload) operands(function string) []operand {
	ops := make([]operand, len(o.args))
	for i, t := range o.args {
		switch {
		case t == tDec || t == tMoney:
			ops[i] = opDigits
		case t == tStr && (function == "div" || function == "round"):
			ops[i] = opIgnored
		case t == tStr:
			ops[i] = opText
		case t == tInt && (function == "div" || function == "round"):
			ops[i] = opScale
		case t == tInt:
			ops[i] = opNumber
		}
	}
	return ops
}

// gather fills sizes from the operands' sizes, in order: the first two
// sized operands are a and b, a scale is scale. A scale is clamped to
// [0, MaxScale]: div and round refuse any other before doing any work.
func gather(ops []operand, size func(i int, op operand) uint64) sizes {
	var x sizes
	n := 0
	for i, op := range ops {
		switch op {
		case opIgnored:
		case opScale:
			x.scale = min(size(i, op), MaxScale)
		default:
			s := size(i, op)
			if n == 0 {
				x.a = s
			} else {
				x.b = s
			}
			n++
		}
	}
	return x
}

// Results: the largest digits (decimal and money) or code points (string) a
// call's result can have, from its operands' largest sizes; nil for results
// of a fixed size.
func resultFixed(n uint64) func(sizes) uint64 { return func(sizes) uint64 { return n } }

func resultA(x sizes) uint64 { return x.a }

func resultMax(x sizes) uint64 { return max(x.a, x.b) }

// resultSum bounds a sum, difference or product: its digits before the
// point are at most those of both operands together, and so are those after
// it. A result beyond MaxResultDigits is an error, not a value.
func resultSum(x sizes) uint64 { return min(cost.SafeAdd(x.a, x.b), MaxResultDigits) }

// resultQuotient bounds a quotient rounded to scale digits: its integer
// digits are at most the dividend's plus the divisor's digits after the
// point.
func resultQuotient(x sizes) uint64 {
	return min(cost.SafeAdd(x.a, x.b, x.scale), MaxResultDigits)
}

func resultPercent(x sizes) uint64 { return min(cost.SafeAdd(x.a, 2), MaxResultDigits) }

// resultDecimalText bounds string(decimal): a sign, "0." and the digits.
func resultDecimalText(x sizes) uint64 { return cost.SafeAdd(x.a, 3) }

// resultMoneyText bounds string(money): a unit code of up to 10 letters, a
// space, a sign, a point, the digits and up to MaxScale zeros that pad the
// amount to the unit's minor digits.
func resultMoneyText(x sizes) uint64 { return cost.SafeAdd(x.a, 32) }

// maxCurrencyKey is the length of the longest currency key: a declared
// unit's code of up to 10 letters, a colon and its minor digits.
const maxCurrencyKey = 13

// estimator sizes variables and prices calls for the static cost estimate
// and the runtime tracker. It is immutable.
type estimator struct {
	hints map[string]uint64
	def   uint64
}

// EstimateSize implements cost.Estimator: a SizeHint, else the digits a
// decimal or money value may span, else the default size for a list, map,
// string or bytes.
func (e estimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	decimal := isDecimal(n.Type())
	if p := n.Path(); len(p) > 0 {
		if h, ok := e.hints[strings.Join(p, ".")]; ok {
			s := cost.RangedSizeEstimate(0, h)
			if decimal {
				s.Min = 1
			}
			return &s
		}
	}
	if n.Expr() != nil && n.Expr().Kind() == ast.LiteralKind {
		return nil
	}
	if decimal {
		s := cost.RangedSizeEstimate(1, MaxResultDigits)
		return &s
	}
	switch n.Type().Kind() {
	case types.ListKind, types.MapKind, types.StringKind, types.BytesKind:
		if n.ComputedSize() != nil {
			return nil
		}
		s := cost.RangedSizeEstimate(0, e.def)
		return &s
	}
	return nil
}

func isDecimal(t *types.Type) bool {
	return t != nil && (t.IsExactType(DecimalType) || t.IsExactType(MoneyType))
}

// size returns the static size of an operand: its computed size, else the
// estimator's, else unknown.
func (e estimator) size(n cost.AstNode) cost.SizeEstimate {
	if n == nil {
		return cost.UnknownSizeEstimate()
	}
	if s := n.ComputedSize(); s != nil {
		return *s
	}
	if s := e.EstimateSize(n); s != nil {
		return *s
	}
	return cost.UnknownSizeEstimate()
}

// EstimateCallCost implements cost.Estimator.
func (e estimator) EstimateCallCost(_, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	pc, ok := pricedCalls[overloadID]
	if !ok {
		return nil
	}
	nodes := args
	if target != nil {
		nodes = append([]cost.AstNode{*target}, args...)
	}
	switch pc.kind {
	case callLibrary:
		return e.estimateLibraryCall(pc, nodes)
	case callPriced:
		if len(nodes) < len(pc.ops) {
			return nil
		}
		x := gather(pc.ops, func(i int, _ operand) uint64 { return e.size(nodes[i]).Max })
		return cost.NewCallEstimate(cost.RangedCostEstimate(pc.price.base, pc.price.of(x)), nil)
	}
	if len(nodes) != 2 {
		return nil
	}
	var c uint64
	switch pc.kind {
	case callCompare:
		if !pricedEquality(nodes[0].Type()) {
			return nil
		}
		a, b := e.size(nodes[0]), e.size(nodes[1])
		var ok bool
		if c, ok = equalCost(nodes[0].Type(), &a, &b); !ok {
			return cost.NewCallEstimate(cost.UnknownCostEstimate(), nil)
		}
	case callInList:
		if !pricedEquality(nodes[0].Type()) || nodes[0].Type().Kind() == types.StringKind {
			return nil
		}
		x, l := e.size(nodes[0]), e.size(nodes[1])
		per, ok := equalCost(nodes[0].Type(), &x, l.Elem)
		if !ok {
			return cost.NewCallEstimate(cost.UnknownCostEstimate(), nil)
		}
		c = cost.SafeAdd(1, cost.SafeMultiply(l.Max, per))
	case callMapKey:
		key := nodes[pc.key]
		if key.Type().Kind() != types.StringKind {
			return nil
		}
		c = pc.price.of(sizes{a: e.size(key).Max})
	case callZone:
		tz, known := literalText(nodes[1])
		c = zonePrice(tz, known, e.size(nodes[1]).Max)
	}
	return cost.NewCallEstimate(cost.RangedCostEstimate(1, c), nil)
}

func (e estimator) estimateLibraryCall(o *pricedCall, nodes []cost.AstNode) *cost.CallEstimate {
	if len(nodes) != len(o.ops) {
		return nil
	}
	if _, literal := literalText(nodes[len(nodes)-1]); literal && o.id == monthsSinceZoneID {
		o = pricedCalls[monthsSinceLoadedID] // its zone is loaded when the program is planned (foldZone)
	}
	x := gather(o.ops, func(i int, op operand) uint64 {
		n := nodes[i]
		switch op {
		case opScale:
			if v, ok := cost.UintValue(n); ok {
				return v
			}
			if n.Expr() != nil && n.Expr().Kind() == ast.LiteralKind {
				return 0 // a negative literal: refused before any work
			}
			return MaxScale
		case opNumber:
			if n.Expr() != nil && n.Expr().Kind() == ast.LiteralKind {
				if v, ok := n.Expr().AsLiteral().(types.Int); ok {
					return intDigits(int64(v))
				}
			}
			return maxIntDigits
		}
		return max(e.size(n).Max, 1)
	})
	c := cost.RangedCostEstimate(o.price.base, o.price.of(x))
	if allLiterals(nodes) {
		// Computed when the rule is compiled (see foldConstants): free
		// at every evaluation.
		c = cost.FixedCostEstimate(0)
	}
	if o.result == nil {
		return cost.NewCallEstimate(c, nil)
	}
	hi := o.result(x)
	if w, ok := literalResult(o.id, nodes); ok {
		hi = w
	}
	rs := cost.RangedSizeEstimate(1, hi)
	return cost.NewCallEstimate(c, &rs)
}

// allLiterals reports whether every operand of a call is a literal.
func allLiterals(nodes []cost.AstNode) bool {
	for _, n := range nodes {
		if n.Expr() == nil || n.Expr().Kind() != ast.LiteralKind {
			return false
		}
	}
	return true
}

// literalResult returns the exact digits of a constructor's result whose
// amount is a literal: dec("0.25"), percent(30), money("100", "EUR").
func literalResult(id string, nodes []cost.AstNode) (uint64, bool) {
	if nodes[0].Expr() == nil || nodes[0].Expr().Kind() != ast.LiteralKind {
		return 0, false
	}
	var v ref.Val
	switch lit := nodes[0].Expr().AsLiteral(); id {
	case "dec_string", "money_string_string":
		v = decFromString(lit)
	case "dec_int":
		v = decFromInt(lit)
	case "percent_string":
		v = percentOf(decFromString)(lit)
	case "percent_int":
		v = percentOf(decFromInt)(lit)
	default:
		return 0, false
	}
	return valueDigits(v)
}

// CallCost implements cost.ActualCostEstimator.
func (e estimator) CallCost(_, overloadID string, args []ref.Val, _ ref.Val) *uint64 {
	pc, ok := pricedCalls[overloadID]
	if !ok {
		return nil
	}
	switch pc.kind {
	case callLibrary, callPriced:
		if len(args) < len(pc.ops) {
			return nil
		}
		return units(pc.price.of(gather(pc.ops, func(i int, op operand) uint64 { return actualSize(args[i], op) })))
	}
	if len(args) != 2 {
		return nil
	}
	switch pc.kind {
	case callCompare:
		if c, ok := equalCharge(args[0], args[1]); ok {
			return units(c)
		}
	case callInList:
		l, ok := args[1].(traits.Lister)
		if !ok || !pricedValue(args[0]) {
			return nil
		}
		total := uint64(1)
		for it := l.Iterator(); it.HasNext() == types.True; {
			c, _ := equalCharge(args[0], it.Next())
			total = cost.SafeAdd(total, c)
		}
		return units(total)
	case callMapKey:
		if s, ok := args[pc.key].(types.String); ok {
			return units(pc.price.of(sizes{a: uint64(utf8.RuneCountInString(string(s)))}))
		}
	case callZone:
		s, _ := args[1].(types.String)
		return units(zonePrice(string(s), true, uint64(utf8.RuneCountInString(string(s)))))
	}
	return nil
}

// actualSize returns the size of an operand value as its price reads it.
func actualSize(v ref.Val, op operand) uint64 {
	switch op {
	case opDigits:
		if d, ok := valueDigits(v); ok {
			return d
		}
	case opText:
		if s, ok := v.(types.String); ok {
			return uint64(utf8.RuneCountInString(string(s)))
		}
	case opNumber:
		if i, ok := v.(types.Int); ok {
			return intDigits(int64(i))
		}
	case opScale:
		if i, ok := v.(types.Int); ok && i > 0 {
			return uint64(i)
		}
		return 0
	}
	return 1
}

// maxIntDigits is the most digits an int has.
const maxIntDigits = 19

// intDigits returns the decimal digits of i.
func intDigits(i int64) uint64 {
	n := uint64(1)
	for i >= 10 || i <= -10 {
		i /= 10
		n++
	}
	return n
}

// smallUnits holds the prices most calls cost, so that the tracker, which
// wants a pointer, is given one without an allocation. It is never written
// after init.
var smallUnits = func() (t [1024]uint64) {
	for i := range t {
		t[i] = uint64(i)
	}
	return t
}()

func units(n uint64) *uint64 {
	if n < uint64(len(smallUnits)) {
		return &smallUnits[n]
	}
	p := new(uint64)
	*p = n
	return p
}

// Prices of the library's overloads (calibrated in bench_test.go; see
// BenchmarkCostModel).
var (
	pConst1      = price{base: 1}
	pDecText     = price{base: 20, perA: 30}
	pDecInt      = price{base: 2}
	pPercentText = price{base: 22, perA: 30}
	pPercentInt  = price{base: 3}
	pPercent     = price{base: 4, perA: 40}
	pMoneyText   = price{base: 25, perA: 30, perB: 30}
	pMoneyOf     = price{base: 10, wide: 4, perA: 100, perB: 20}
	pAdd         = price{base: 4, wide: 1, perA: 50, perB: 50}
	pAddMoney    = price{base: 10, wide: 8, perA: 150, perB: 150}
	pMul         = price{base: 4, wide: 1, perA: 50, perB: 50, perAB: 3}
	pMulMoney    = price{base: 8, wide: 6, perA: 150, perB: 150, perAB: 5}
	pNeg         = price{base: 5, wide: 1, perA: 40}
	pNegMoney    = price{base: 6, wide: 2, perA: 60}
	pCmp         = price{base: 3, wide: 1, perA: 25, perB: 25}
	pCmpMoney    = price{base: 8, wide: 2, perA: 100, perB: 100}
	pDiv         = price{base: 18, perA: 125, perB: 125, perScale: 125}
	pDivMoney    = price{base: 20, perA: 150, perB: 150, perScale: 150}
	pRound       = price{base: 14, wide: 5, perA: 125}
	pRoundMoney  = price{base: 20, wide: 5, perA: 250}
	pString      = price{base: 6, wide: 1, perA: 250}
	pStringMoney = price{base: 14, wide: 4, perA: 350}
	pAmount      = price{base: 6, wide: 3, perA: 100}
	// months_since steps the calendar a few times; in a zone loaded at
	// every call (one the rule computes), it costs a zone's load too.
	pMonths     = price{base: 12}
	pMonthsZone = price{base: 612, perA: 100}
)

// Prices of standard functions whose time cel-go's model does not follow.
var (
	// A time zone by name is loaded from the system's database on every
	// call; an offset such as "+01:00" is parsed.
	pZone   = price{base: 600, perA: 100}
	pOffset = price{base: 10, perA: 100}
	// Parsing text, whose error message quotes it.
	pParseTimestamp = price{base: 12, perA: 100}
	pParseDuration  = price{base: 4, perA: 100}
	pParseScalar    = price{base: 2, perA: 100}
	pFormatTime     = price{base: 10}
	pFormatScalar   = price{base: 2}
	pTimeField      = price{base: 2}
	// size() counts code points.
	pStringSize = price{base: 1, perA: 50}
	// A regular expression is compiled, then matched in time that grows
	// with the text times the pattern.
	pRegex = price{base: 60, perB: 500, perAB: 100}
	// Finding text in text: cel-go's price (a hundredth of a unit per
	// code point of one times the other), plus the tracker's counting of
	// both.
	pContains = price{base: 1, perA: 50, perB: 50, perAB: 10}
	// Hashing a string key to look it up in a map.
	pStringKey = price{base: 1, perA: 30}
)

// zonePrice prices a time zone operand of length code points: a name, or
// an offset (known to hold a colon); an operand that is not a literal may be
// a name.
func zonePrice(tz string, known bool, length uint64) uint64 {
	if known && strings.Contains(tz, ":") {
		return pOffset.of(sizes{a: length})
	}
	return pZone.of(sizes{a: length})
}

func literalText(n cost.AstNode) (string, bool) {
	if n == nil || n.Expr() == nil || n.Expr().Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := n.Expr().AsLiteral().(types.String)
	return string(s), ok
}

// pricedEquality reports whether comparing values of type t is priced
// here: decimals and money, strings (cel-go's tracker counts the code
// points of both strings to charge for the shorter), lists and maps, whose
// equality compares every element, and the host's structs, compared field
// by field, which are refused (their cost has no bound). cel-go prices the
// rest.
func pricedEquality(t *types.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case types.ListKind, types.MapKind, types.StructKind, types.StringKind:
		return true
	}
	return isDecimal(t)
}

// pricedValue reports whether membership of v in a list is priced here:
// decimals, money, lists and maps.
func pricedValue(v ref.Val) bool {
	switch v.(type) {
	case decVal, moneyVal, traits.Lister, traits.Mapper:
		return true
	}
	return false
}

func maxOf(s *cost.SizeEstimate) uint64 {
	if s == nil {
		return ^uint64(0)
	}
	return s.Max
}

func elemOf(s *cost.SizeEstimate) *cost.SizeEstimate {
	if s == nil {
		return nil
	}
	return s.Elem
}

// equalCost returns the largest cost of comparing two values of type t of
// sizes a and b: decimals and money by their digits, strings by their
// length, lists and maps element by element. It returns false for values
// of types it cannot price (the host's structs, compared field by field).
func equalCost(t *types.Type, a, b *cost.SizeEstimate) (uint64, bool) {
	if isDecimal(t) {
		p := pCmp
		if t.IsExactType(MoneyType) {
			p = pCmpMoney
		}
		return p.of(sizes{a: maxOf(a), b: maxOf(b)}), true
	}
	switch t.Kind() {
	case types.ListKind:
		per, ok := equalCost(t.Parameters()[0], elemOf(a), elemOf(b))
		return cost.SafeAdd(1, cost.SafeMultiply(min(maxOf(a), maxOf(b)), per)), ok
	case types.MapKind:
		var key uint64 = 1
		if t.Parameters()[0].Kind() == types.StringKind {
			var ka *cost.SizeEstimate
			if a != nil {
				ka = a.Key
			}
			key = pStringKey.of(sizes{a: maxOf(ka)})
		}
		per, ok := equalCost(t.Parameters()[1], elemOf(a), elemOf(b))
		return cost.SafeAdd(1, cost.SafeMultiply(min(maxOf(a), maxOf(b)), cost.SafeAdd(key, per))), ok
	case types.StringKind, types.BytesKind:
		return textEqual(min(maxOf(a), maxOf(b))), true
	case types.BoolKind, types.IntKind, types.UintKind, types.DoubleKind, types.NullTypeKind,
		types.TimestampKind, types.DurationKind, types.TypeKind:
		return 1, true
	}
	return 0, false
}

// textEqual prices comparing strings as cel-go does: 0.1 unit a code point
// of the shorter, at least 1.
func textEqual(n uint64) uint64 {
	return max(1, cost.SafeMultiplyByFactor(n, cost.StringTraversalCostFactor))
}

// equalCharge returns what comparing a and b is charged, as equalCost
// prices it, and false when a is not a value priced here.
func equalCharge(a, b ref.Val) (uint64, bool) {
	switch x := a.(type) {
	case types.String:
		y, _ := b.(types.String)
		return textEqual(minRunes(string(x), string(y))), true
	case decVal, moneyVal:
		da, _ := valueDigits(a)
		db, ok := valueDigits(b)
		if !ok {
			return 1, true
		}
		p := pCmp
		if _, money := a.(moneyVal); money {
			p = pCmpMoney
		}
		return p.of(sizes{a: da, b: db}), true
	case traits.Lister:
		y, ok := b.(traits.Lister)
		if !ok {
			return 1, true
		}
		n := min(listSize(x), listSize(y))
		total := uint64(1)
		for i := int64(0); i < n; i++ {
			idx := types.Int(i)
			total = cost.SafeAdd(total, elementCharge(x.Get(idx), y.Get(idx)))
		}
		return total, true
	case traits.Mapper:
		y, ok := b.(traits.Mapper)
		if !ok {
			return 1, true
		}
		n := min(mapSize(x), mapSize(y))
		total := uint64(1)
		it := x.Iterator()
		for i := int64(0); i < n && it.HasNext() == types.True; i++ {
			k := it.Next()
			key := uint64(1)
			if s, ok := k.(types.String); ok {
				key = pStringKey.of(sizes{a: uint64(utf8.RuneCountInString(string(s)))})
			}
			total = cost.SafeAdd(total, key)
			if yv, found := y.Find(k); found {
				total = cost.SafeAdd(total, elementCharge(x.Get(k), yv))
			}
		}
		return total, true
	}
	return 0, false
}

// elementCharge is equalCharge for the elements of lists and maps, where
// other values cost 1.
func elementCharge(a, b ref.Val) uint64 {
	if c, ok := equalCharge(a, b); ok {
		return c
	}
	return 1
}

// minRunes returns the code points of the shorter of a and b. It counts
// the shorter by bytes, and the other only when it could have fewer code
// points, so that comparing a short string with a long one does not cost
// the long one's length.
func minRunes(a, b string) uint64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	n := utf8.RuneCountInString(a)
	if n > len(b)/utf8.UTFMax {
		n = min(n, utf8.RuneCountInString(b))
	}
	return uint64(n)
}

func listSize(l traits.Lister) int64 {
	n, _ := l.Size().(types.Int)
	return int64(n)
}

func mapSize(m traits.Mapper) int64 {
	n, _ := m.Size().(types.Int)
	return int64(n)
}

// callKind says how a priced call is priced.
type callKind uint8

const (
	callLibrary callKind = iota // the library's functions, by their operands
	callPriced                  // a standard function, by its operands
	callCompare                 // ==, != and the ordering of strings
	callInList                  // membership in a list
	callMapKey                  // a map looked up by a string key
	callZone                    // a timestamp's field in a time zone
)

// pricedCall is how one overload is priced.
type pricedCall struct {
	id     string
	kind   callKind
	price  price
	ops    []operand
	result func(sizes) uint64 // the library's: the largest size of a result
	key    int                // callMapKey: the operand that is the key
}

// pricedCalls holds every overload the estimator prices, the library's and
// the standard ones cel-go's model undercharges; cel-go prices the others.
// It is built once and only read afterwards.
var pricedCalls = func() map[string]*pricedCall {
	m := map[string]*pricedCall{}
	for id, o := range overloadCosts {
		m[id] = &pricedCall{id: id, kind: callLibrary, price: o.price, ops: o.ops, result: o.result}
	}
	text := []operand{opText}
	for _, p := range []struct {
		price price
		ops   []operand
		ids   []string
	}{
		{pTimeField, nil, []string{overloads.TimestampToYear, overloads.TimestampToMonth, overloads.TimestampToDayOfYear,
			overloads.TimestampToDayOfMonthZeroBased, overloads.TimestampToDayOfMonthOneBased, overloads.TimestampToDayOfWeek,
			overloads.TimestampToHours, overloads.TimestampToMinutes, overloads.TimestampToSeconds, overloads.TimestampToMilliseconds}},
		{pParseTimestamp, text, []string{overloads.StringToTimestamp}},
		{pParseDuration, text, []string{overloads.StringToDuration}},
		{pParseScalar, text, []string{overloads.StringToInt, overloads.StringToUint, overloads.StringToBool}},
		{pFormatTime, nil, []string{overloads.TimestampToString}},
		{pFormatScalar, nil, []string{overloads.DurationToString, overloads.IntToString, overloads.UintToString, overloads.BoolToString}},
		{pStringSize, text, []string{overloads.SizeString, overloads.SizeStringInst}},
		{pRegex, []operand{opText, opText}, []string{overloads.Matches, overloads.MatchesString}},
		{pContains, []operand{opText, opText}, []string{overloads.ContainsString}},
	} {
		for _, id := range p.ids {
			m[id] = &pricedCall{id: id, kind: callPriced, price: p.price, ops: p.ops}
		}
	}
	for _, id := range []string{overloads.Equals, overloads.NotEquals, overloads.LessString, overloads.LessEqualsString,
		overloads.GreaterString, overloads.GreaterEqualsString} {
		m[id] = &pricedCall{id: id, kind: callCompare}
	}
	// months_since with a literal zone, loaded when the rule's program is
	// planned (monthsInZone): priced as in UTC.
	m[monthsSinceLoadedID] = &pricedCall{id: monthsSinceLoadedID, kind: callLibrary, price: pMonths, ops: []operand{opIgnored, opIgnored, opIgnored}}
	m[overloads.InList] = &pricedCall{id: overloads.InList, kind: callInList}
	m[overloads.IndexMap] = &pricedCall{id: overloads.IndexMap, kind: callMapKey, price: pStringKey, key: 1}
	m[overloads.InMap] = &pricedCall{id: overloads.InMap, kind: callMapKey, price: pStringKey, key: 0}
	for _, id := range []string{overloads.TimestampToYearWithTz, overloads.TimestampToMonthWithTz,
		overloads.TimestampToDayOfYearWithTz, overloads.TimestampToDayOfMonthZeroBasedWithTz,
		overloads.TimestampToDayOfMonthOneBasedWithTz, overloads.TimestampToDayOfWeekWithTz,
		overloads.TimestampToHoursWithTz, overloads.TimestampToMinutesWithTz, overloads.TimestampToSecondsWithTz,
		overloads.TimestampToMillisecondsWithTz} {
		m[id] = &pricedCall{id: id, kind: callZone}
	}
	return m
}()
