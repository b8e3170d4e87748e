package ensemble

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

// AllocationMethod says which parts receive the minor units left over when
// an amount is split by weights and the exact shares are not whole units.
// Every method first gives each part its exact share rounded down in
// magnitude; they differ only in who gets the leftover units, one each.
type AllocationMethod uint8

const (
	// LargestRemainder (the default) gives each leftover unit to the part
	// whose exact share lost the most to rounding down; ties go to the
	// byte-wise smaller Share.Key. Every part is within one minor unit of its
	// exact share, and the result does not depend on the order of the shares.
	LargestRemainder AllocationMethod = iota
	// FirstInOrder gives leftover units one each, in the order the shares
	// are given, to the shares whose exact share is not whole. A share whose
	// exact share is already whole (a zero weight among them) gets nothing
	// more, so every part is still strictly within one minor unit of its
	// exact share. It is Ensemble's own rule: no other ledger we know of
	// skips whole shares; to reproduce one, choose NumscriptOrder.
	FirstInOrder
	// NumscriptOrder reproduces Formance Numscript, the Formance ledger and
	// go-money: leftover units go one each to the shares in declaration
	// order, shares whose exact share is already whole included, so a part
	// can be a whole unit above its exact share. 10 units split 2:1:1 (exact
	// 5, 2.5, 2.5) are 6, 2, 2 here and 5, 3, 2 under FirstInOrder and
	// LargestRemainder.
	//
	// One fault of those systems is refused: a zero weight still gets zero.
	// They hand a leftover unit to a 0% destination (3 units split 0/50/50
	// are 1/1/1 there, 0/2/1 here); Ensemble's invariant wins because a party
	// a split gives nothing must never be paid by its rounding. A migration
	// sees the difference only on splits with a zero weight before a
	// fractional one. Applied at every level of a settlement plan, it matches
	// those ledgers' nested splits, which floor and hand out leftovers level
	// by level.
	NumscriptOrder
)

var allocationNames = [...]string{
	LargestRemainder: "largest_remainder",
	FirstInOrder:     "first_in_order",
	NumscriptOrder:   "numscript_order",
}

// String returns the method's lowercase name.
func (a AllocationMethod) String() string {
	return EnumName(a, allocationNames[:], "allocation_method")
}

// Valid reports whether a is one of the declared methods.
func (a AllocationMethod) Valid() bool { return int(a) < len(allocationNames) }

// ParseAllocationMethod reads a method's name; "" is the default.
func ParseAllocationMethod(s string) (AllocationMethod, error) {
	for i, name := range allocationNames {
		if name == s {
			return AllocationMethod(i), nil
		}
	}
	if s == "" {
		return LargestRemainder, nil
	}
	return 0, parseError("allocation method", s, "unknown method")
}

// MarshalText writes the method's name.
func (a AllocationMethod) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, parseError("allocation method", a.String(), "unknown method")
	}
	return []byte(a.String()), nil
}

// UnmarshalText reads a method's name.
func (a *AllocationMethod) UnmarshalText(b []byte) error {
	v, err := ParseAllocationMethod(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Share is one part of an allocation: a stable key (a party or node ID),
// distinct within the allocation, that breaks ties, and a non-negative
// weight. Weights are relative: 1, 1, 2 splits
// a quarter, a quarter and a half.
type Share struct {
	Key    string `json:"key"`
	Weight Ratio  `json:"weight"`
}

// AllocateOptions configures Allocate. The zero value uses LargestRemainder.
type AllocateOptions struct {
	Method AllocationMethod `json:"method"`
}

// check reports a method outside the declared ones.
func (o AllocateOptions) check() error {
	if !o.Method.Valid() {
		return parseError("allocation method", itoa(int64(o.Method)), "unknown method")
	}
	return nil
}

// ShareError reports a share that cannot be allocated: a negative weight
// (it matches ErrNegativeWeight with errors.Is) or a key an earlier share of
// the same allocation already has (ErrDuplicateKey).
type ShareError struct {
	Index int    // the offending share's index
	Key   string // its key
	Err   error  // the condition
}

// WeightError is ShareError's former name, kept so that code matching it
// with errors.As still compiles.
type WeightError = ShareError

func (e *ShareError) Error() string {
	return fmt.Sprintf("ensemble: allocate: share %d (key %q): %v", e.Index, e.Key, e.Err)
}

// Unwrap returns the condition, such as ErrNegativeWeight.
func (e *ShareError) Unwrap() error { return e.Err }

// Allocate splits total by the shares' weights into parts of whole minor
// units whose sum is exactly total. Part i is total × weight_i / Σ weights,
// rounded down in magnitude, plus at most one leftover unit chosen by
// opts.Method. A zero weight always gets zero. Allocating -total gives
// exactly the negated parts of allocating total.
//
// Errors: total with digits below its currency's minor unit wraps
// ErrNotMinorUnits; a negative weight or a repeated key is a *ShareError; no
// shares, or all weights zero, is ErrZeroWeights; an undeclared method is a
// *ParseError. On error no parts are returned.
//
// Amounts that fit in an int64 count of minor units are allocated with
// 128-bit integer arithmetic; larger ones fall back to math/big, so the
// allocation never overflows. The cost is O(n log n) in the number of
// shares.
func Allocate(total Money, shares []Share, opts AllocateOptions) ([]Money, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := checkKeys(shares); err != nil {
		return nil, err
	}
	return allocate(total, shares, opts)
}

// allocate is Allocate without the checks of options and keys.
func allocate(total Money, shares []Share, opts AllocateOptions) ([]Money, error) {
	u, ok := total.minorUnits()
	if !ok {
		return nil, fmt.Errorf("ensemble: allocate %s: %w", total, ErrNotMinorUnits)
	}
	cur := total.currency
	if u.big == nil {
		var buf [16]int64
		dst := scratch(buf[:], len(shares))
		if err := allocateUnits(dst, u.small, shares, opts); err != nil {
			return nil, err
		}
		parts := make([]Money, len(shares))
		for i, v := range dst {
			parts[i] = MoneyFromMinor(v, cur)
		}
		return parts, nil
	}
	big, err := allocateBig(u.big, shares, opts)
	if err != nil {
		return nil, err
	}
	parts := make([]Money, len(shares))
	for i, v := range big {
		parts[i] = MoneyFromDecimal(decimal.NewFromBigInt(v, -cur.Digits()), cur)
	}
	return parts, nil
}

// AllocateUnits is Allocate for an amount already counted in minor units. It
// writes the parts into dst, which must have one element per share, and
// allocates nothing for up to 16 shares whose weights' common denominator
// fits in an int64. dst is left unchanged on error.
func AllocateUnits(dst []int64, total int64, shares []Share, opts AllocateOptions) error {
	if len(dst) != len(shares) {
		return fmt.Errorf("ensemble: allocate: %d destinations for %d shares", len(dst), len(shares))
	}
	if err := opts.check(); err != nil {
		return err
	}
	if err := checkKeys(shares); err != nil {
		return err
	}
	return allocateUnits(dst, total, shares, opts)
}

func allocateUnits(dst []int64, total int64, shares []Share, opts AllocateOptions) error {
	var wbuf [16]uint64
	weights, sum, err := integerWeights(scratch(wbuf[:], len(shares))[:0], shares)
	if errors.Is(err, errWeightsTooLarge) {
		parts, err := allocateBig(big.NewInt(total), shares, opts)
		if err != nil {
			return err
		}
		for i, p := range parts {
			dst[i] = p.Int64() // |part| <= |total|, so it fits
		}
		return nil
	}
	if err != nil {
		return err
	}
	var rbuf [16]uint64
	rems := scratch(rbuf[:], len(shares))
	left, neg := divide(dst, rems, total, weights, sum)
	if left > 0 {
		var ibuf [16]int
		order := candidates(scratch(ibuf[:], len(shares))[:0], opts.Method, rems, weights)
		if opts.Method == LargestRemainder {
			byRemainder(order, rems, shareKeys(shares))
		}
		for _, i := range order[:left] {
			dst[i]++
		}
	}
	applySign(dst, neg)
	return nil
}

// divide writes ⌊|total| × w_i / sum⌋ into dst and the remainders into
// rems, and returns how many units are left over (fewer than the shares
// with a remainder) and whether total is negative.
func divide(dst []int64, rems []uint64, total int64, weights []uint64, sum uint64) (left int, neg bool) {
	neg = total < 0
	abs := uint64(total)
	if neg {
		abs = -abs // two's complement: also right for math.MinInt64
	}
	var given uint64
	for i, w := range weights {
		hi, lo := bits.Mul64(abs, w)
		q, r := bits.Div64(hi, lo, sum) // hi < sum because w <= sum
		dst[i] = int64(q)
		rems[i] = r
		given += q
	}
	return int(abs - given), neg
}

// applySign negates the parts of a negative total.
func applySign(dst []int64, neg bool) {
	if neg {
		for i := range dst {
			dst[i] = int64(-uint64(dst[i]))
		}
	}
}

// candidates appends to order the indexes of the shares that may take a
// leftover unit, in declaration order; the first `left` of them, once
// ordered by the method, take one each. Under NumscriptOrder they are the
// shares with a nonzero weight; under the other methods the shares whose
// exact share is not whole (a nonzero remainder), which always outnumber
// the leftover units.
func candidates(order []int, method AllocationMethod, rems, weights []uint64) []int {
	of := rems
	if method == NumscriptOrder {
		of = weights
	}
	for i, v := range of {
		if v != 0 {
			order = append(order, i)
		}
	}
	return order
}

// byRemainder orders the candidates for LargestRemainder: the largest
// remainder first, ties to the smaller key. A dozen candidates or fewer, the
// common case, are ordered by insertion sort, which allocates nothing and
// beats a general sort there; more by slices.SortFunc, so the cost stays
// O(n log n).
func byRemainder[K keyOrder](order []int, rems []uint64, keys K) {
	before := func(a, b int) bool { return rems[a] > rems[b] || (rems[a] == rems[b] && keys.less(a, b)) }
	if len(order) <= 12 {
		for i := 1; i < len(order); i++ {
			for j := i; j > 0 && before(order[j], order[j-1]); j-- {
				order[j], order[j-1] = order[j-1], order[j]
			}
		}
		return
	}
	slices.SortFunc(order, func(a, b int) int {
		if before(a, b) {
			return -1
		}
		return 1 // keys are distinct, so a and b never tie
	})
}

// keyOrder compares shares by key: shareKeys by the keys themselves,
// keyRanks by their precomputed places in key order.
type keyOrder interface{ less(a, b int) bool }

type shareKeys []Share

func (s shareKeys) less(a, b int) bool { return s[a].Key < s[b].Key }

type keyRanks []int32

func (r keyRanks) less(a, b int) bool { return r[a] < r[b] }

// ErrDuplicateKey reports two shares of one allocation with the same key:
// the key is what breaks ties, so it must name one share.
var ErrDuplicateKey = errors.New("ensemble: duplicate allocation key")

// checkKeys reports the first share whose key an earlier share has. Small
// allocations compare pairs; larger ones sort a copy of the keys, so the
// cost is O(n log n).
func checkKeys(shares []Share) error {
	const pairwise = 16
	if len(shares) <= pairwise {
		for j := 1; j < len(shares); j++ {
			for i := range j {
				if shares[i].Key == shares[j].Key {
					return &ShareError{Index: j, Key: shares[j].Key, Err: ErrDuplicateKey}
				}
			}
		}
		return nil
	}
	order := make([]int, len(shares))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := strings.Compare(shares[a].Key, shares[b].Key); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for k := 1; k < len(order); k++ {
		if i, j := order[k-1], order[k]; shares[i].Key == shares[j].Key {
			return &ShareError{Index: j, Key: shares[j].Key, Err: ErrDuplicateKey}
		}
	}
	return nil
}

// Allocator is an allocation compiled once for many amounts: the weights
// scaled to integers and the tie-break order of the keys are worked out when
// it is made, so each Units call is integer arithmetic alone — what a split
// plan applied to millions of lines wants. Its results are exactly those of
// AllocateUnits with the same shares and options. An Allocator is immutable
// and safe for concurrent use.
type Allocator struct {
	shares  []Share
	weights []uint64
	sum     uint64
	rank    []int32 // rank[i] is share i's place in key order
	method  AllocationMethod
	big     bool // weights beyond int64: every call takes the math/big path
}

// NewAllocator compiles shares. It reports the errors Allocate would: no
// shares or all weights zero (ErrZeroWeights), a negative weight or a
// repeated key (*ShareError), an undeclared method (*ParseError).
func NewAllocator(shares []Share, opts AllocateOptions) (*Allocator, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := checkKeys(shares); err != nil {
		return nil, err
	}
	a := &Allocator{shares: slices.Clone(shares), method: opts.Method}
	w, sum, err := integerWeights(make([]uint64, 0, len(shares)), shares)
	switch {
	case errors.Is(err, errWeightsTooLarge):
		if _, err := allocateBig(new(big.Int), shares, opts); err != nil {
			return nil, err
		}
		a.big = true
	case err != nil:
		return nil, err
	}
	a.weights, a.sum = w, sum
	order := make([]int, len(shares))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(shares[x].Key, shares[y].Key) })
	a.rank = make([]int32, len(shares))
	for k, i := range order {
		a.rank[i] = int32(k)
	}
	return a, nil
}

// Len returns the number of shares.
func (a *Allocator) Len() int { return len(a.shares) }

// Units writes the parts of total (in minor units) into dst, which must have
// one element per share, exactly as AllocateUnits would. It allocates nothing
// for up to 16 shares.
func (a *Allocator) Units(dst []int64, total int64) error {
	if len(dst) != len(a.shares) {
		return fmt.Errorf("ensemble: allocate: %d destinations for %d shares", len(dst), len(a.shares))
	}
	if a.big {
		return allocateUnits(dst, total, a.shares, AllocateOptions{Method: a.method})
	}
	var rbuf [16]uint64
	rems := scratch(rbuf[:], len(a.shares))
	left, neg := divide(dst, rems, total, a.weights, a.sum)
	if left > 0 {
		var ibuf [16]int
		order := candidates(scratch(ibuf[:], len(a.shares))[:0], a.method, rems, a.weights)
		if a.method == LargestRemainder {
			byRemainder(order, rems, keyRanks(a.rank))
		}
		for _, i := range order[:left] {
			dst[i]++
		}
	}
	applySign(dst, neg)
	return nil
}

// scratch returns buf[:n] when it is large enough and a new slice otherwise,
// so small allocations live on the caller's stack.
func scratch[T any](buf []T, n int) []T {
	if n <= len(buf) {
		return buf[:n]
	}
	return make([]T, n)
}

var errWeightsTooLarge = errors.New("weights exceed int64")

// integerWeights scales the shares' weights to integers over their least
// common denominator and returns them with their sum.
func integerWeights(dst []uint64, shares []Share) ([]uint64, uint64, error) {
	if len(shares) == 0 {
		return nil, 0, ErrZeroWeights
	}
	lcm := uint64(1)
	for i, s := range shares {
		if s.Weight.r == nil {
			continue
		}
		if s.Weight.r.Sign() < 0 {
			return nil, 0, &ShareError{Index: i, Key: s.Key, Err: ErrNegativeWeight}
		}
		d := s.Weight.r.Denom()
		if !d.IsUint64() {
			return nil, 0, errWeightsTooLarge
		}
		dv := d.Uint64()
		g := gcd(lcm, dv)
		hi, lo := bits.Mul64(lcm/g, dv)
		if hi != 0 || lo > math.MaxInt64 {
			return nil, 0, errWeightsTooLarge
		}
		lcm = lo
	}
	var sum uint64
	for _, s := range shares {
		var w uint64
		if s.Weight.r != nil && s.Weight.r.Sign() != 0 {
			n := s.Weight.r.Num()
			if !n.IsUint64() {
				return nil, 0, errWeightsTooLarge
			}
			hi, lo := bits.Mul64(n.Uint64(), lcm/s.Weight.r.Denom().Uint64())
			if hi != 0 || lo > math.MaxInt64 {
				return nil, 0, errWeightsTooLarge
			}
			w = lo
		}
		var carry uint64
		sum, carry = bits.Add64(sum, w, 0)
		if carry != 0 || sum > math.MaxInt64 {
			return nil, 0, errWeightsTooLarge
		}
		dst = append(dst, w)
	}
	if sum == 0 {
		return nil, 0, ErrZeroWeights
	}
	return dst, sum, nil
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// bigWeights scales the shares' weights to integers over their least common
// denominator, with math/big, and returns them with their sum.
func bigWeights(shares []Share) ([]*big.Int, *big.Int, error) {
	if len(shares) == 0 {
		return nil, nil, ErrZeroWeights
	}
	lcm := big.NewInt(1)
	g := new(big.Int)
	for i, s := range shares {
		if s.Weight.Sign() < 0 {
			return nil, nil, &ShareError{Index: i, Key: s.Key, Err: ErrNegativeWeight}
		}
		if s.Weight.Sign() == 0 {
			continue
		}
		d := s.Weight.r.Denom()
		g.GCD(nil, nil, lcm, d)
		lcm.Mul(lcm, new(big.Int).Quo(d, g))
	}
	weights := make([]*big.Int, len(shares))
	sum := new(big.Int)
	for i, s := range shares {
		w := new(big.Int)
		if s.Weight.Sign() != 0 {
			w.Quo(lcm, s.Weight.r.Denom())
			w.Mul(w, s.Weight.r.Num())
		}
		weights[i] = w
		sum.Add(sum, w)
	}
	if sum.Sign() == 0 {
		return nil, nil, ErrZeroWeights
	}
	return weights, sum, nil
}

// floorParts writes ⌊|total| × w_i / sum⌋ for every weight and returns the
// parts, their remainders and the units left over.
func floorParts(abs *big.Int, weights []*big.Int, sum *big.Int) (parts, rems []*big.Int, left *big.Int) {
	parts = make([]*big.Int, len(weights))
	rems = make([]*big.Int, len(weights))
	left = new(big.Int).Set(abs)
	for i, w := range weights {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(abs, w), sum, new(big.Int))
		parts[i], rems[i] = q, r
		left.Sub(left, q)
	}
	return parts, rems, left
}

// allocateBig is the math/big twin of allocateUnits for totals or weights
// beyond int64.
func allocateBig(total *big.Int, shares []Share, opts AllocateOptions) ([]*big.Int, error) {
	weights, sum, err := bigWeights(shares)
	if err != nil {
		return nil, err
	}
	parts, rems, left := floorParts(new(big.Int).Abs(total), weights, sum)
	of := rems // candidates, as in allocateUnits
	if opts.Method == NumscriptOrder {
		of = weights
	}
	order := make([]int, 0, len(shares))
	for i, v := range of {
		if v.Sign() != 0 {
			order = append(order, i)
		}
	}
	if opts.Method == LargestRemainder {
		slices.SortFunc(order, func(a, b int) int {
			if c := rems[b].Cmp(rems[a]); c != 0 {
				return c
			}
			return strings.Compare(shares[a].Key, shares[b].Key)
		})
	}
	for _, i := range order[:left.Int64()] { // fewer than the number of shares
		parts[i].Add(parts[i], big.NewInt(1))
	}
	negate(parts, total.Sign() < 0)
	return parts, nil
}

// negate negates every part when neg is set.
func negate(parts []*big.Int, neg bool) {
	if neg {
		for _, p := range parts {
			p.Neg(p)
		}
	}
}

// Split divides m into n parts of whole minor units that differ by at most
// one unit and sum exactly to m; the first parts take the leftover units
// (the parts are interchangeable, so no key is needed). n must be positive.
func (m Money) Split(n int) ([]Money, error) {
	if n <= 0 {
		return nil, fmt.Errorf("ensemble: split %s into %d parts: %w", m, n, ErrZeroWeights)
	}
	shares := make([]Share, n)
	one := RatioFromInt(1)
	for i := range shares {
		shares[i].Weight = one
	}
	return allocate(m, shares, AllocateOptions{Method: FirstInOrder})
}
