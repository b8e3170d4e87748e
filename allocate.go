package ensemble

import (
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
type AllocationMethod uint8

const (
	// LargestRemainder (the default) gives each leftover unit to the part
	// whose exact share lost the most to rounding down; ties go to the
	// byte-wise smaller Share.Key, then to the earlier share. Every part is
	// within one minor unit of its exact share.
	LargestRemainder AllocationMethod = iota
	// FirstInOrder gives leftover units one each to the shares in the order
	// given, for compatibility with ledgers (such as Formance Numscript) that
	// distribute that way. Unlike those ledgers it skips shares whose exact
	// share is already whole (zero weights among them), so every part is
	// still strictly within one minor unit of its exact share.
	FirstInOrder
)

var allocationNames = [...]string{LargestRemainder: "largest_remainder", FirstInOrder: "first_in_order"}

// String returns the method's lowercase name.
func (a AllocationMethod) String() string {
	if int(a) < len(allocationNames) {
		return allocationNames[a]
	}
	return "allocation_method(" + itoa(int64(a)) + ")"
}

// ParseAllocationMethod reads a method's name; "" is the default.
func ParseAllocationMethod(s string) (AllocationMethod, error) {
	if s == "" {
		return LargestRemainder, nil
	}
	for i, name := range allocationNames {
		if name == s {
			return AllocationMethod(i), nil
		}
	}
	return 0, parseError("allocation method", s, "unknown method")
}

// MarshalText writes the method's name.
func (a AllocationMethod) MarshalText() ([]byte, error) {
	if int(a) >= len(allocationNames) {
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

// Share is one part of an allocation: a stable key (a party or node ID) that
// breaks ties, and a non-negative weight. Weights are relative: 1, 1, 2 splits
// a quarter, a quarter and a half.
type Share struct {
	Key    string `json:"key"`
	Weight Ratio  `json:"weight"`
}

// AllocateOptions configures Allocate. The zero value uses LargestRemainder.
type AllocateOptions struct {
	Method AllocationMethod `json:"method"`
}

// WeightError reports a share whose weight cannot be allocated by. It matches
// ErrNegativeWeight with errors.Is.
type WeightError struct {
	Index int
	Key   string
	Err   error
}

func (e *WeightError) Error() string {
	return fmt.Sprintf("ensemble: allocate: share %d (key %q): %v", e.Index, e.Key, e.Err)
}

// Unwrap returns the condition, such as ErrNegativeWeight.
func (e *WeightError) Unwrap() error { return e.Err }

// Allocate splits total by the shares' weights into parts of whole minor
// units whose sum is exactly total. Part i is total × weight_i / Σ weights,
// rounded down in magnitude, plus at most one leftover unit chosen by
// opts.Method. A zero weight always gets zero. Allocating -total gives
// exactly the negated parts of allocating total.
//
// Errors: total with digits below its currency's minor unit wraps
// ErrNotMinorUnits; a negative weight is a *WeightError; no shares, or all
// weights zero, is ErrZeroWeights. On error no parts are returned.
//
// Amounts that fit in an int64 count of minor units are allocated with
// 128-bit integer arithmetic; larger ones fall back to math/big, so the
// allocation never overflows.
func Allocate(total Money, shares []Share, opts AllocateOptions) ([]Money, error) {
	u, ok := total.minorUnits()
	if !ok {
		return nil, fmt.Errorf("ensemble: allocate %s: %w", total, ErrNotMinorUnits)
	}
	cur := total.currency
	if u.big == nil {
		var buf [16]int64
		dst := scratch(buf[:], len(shares))
		if err := AllocateUnits(dst, u.small, shares, opts); err != nil {
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
// allocates nothing when the weights' common denominator fits in an int64.
// dst is left unchanged on error.
func AllocateUnits(dst []int64, total int64, shares []Share, opts AllocateOptions) error {
	if len(dst) != len(shares) {
		return fmt.Errorf("ensemble: allocate: %d destinations for %d shares", len(dst), len(shares))
	}
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
		order := leftoverOrder(scratch(ibuf[:], len(shares))[:0], shares, opts.Method, func(i int) bool { return rems[i] != 0 },
			func(a, b int) int {
				switch {
				case rems[a] > rems[b]:
					return -1
				case rems[a] < rems[b]:
					return 1
				}
				return 0
			})
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
	rank    []int32 // rank[i] is share i's place in (key, index) order
	method  AllocationMethod
	big     bool // weights beyond int64: every call takes the math/big path
}

// NewAllocator compiles shares. It reports the errors Allocate would: no
// shares or all weights zero (ErrZeroWeights), a negative weight
// (*WeightError).
func NewAllocator(shares []Share, opts AllocateOptions) (*Allocator, error) {
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
	slices.SortStableFunc(order, func(x, y int) int { return strings.Compare(shares[x].Key, shares[y].Key) })
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
		return AllocateUnits(dst, total, a.shares, AllocateOptions{Method: a.method})
	}
	var rbuf [16]uint64
	rems := scratch(rbuf[:], len(a.shares))
	left, neg := divide(dst, rems, total, a.weights, a.sum)
	if left > 0 {
		var ibuf [16]int
		order := scratch(ibuf[:], len(a.shares))[:0]
		for i, r := range rems {
			if r != 0 {
				order = append(order, i)
			}
		}
		if a.method != FirstInOrder {
			// Largest remainder first, ties to the smaller key rank.
			for i := 1; i < len(order); i++ {
				for j := i; j > 0; j-- {
					x, y := order[j], order[j-1]
					if rems[x] < rems[y] || (rems[x] == rems[y] && a.rank[x] > a.rank[y]) {
						break
					}
					order[j], order[j-1] = y, x
				}
			}
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
			return nil, 0, &WeightError{Index: i, Key: s.Key, Err: ErrNegativeWeight}
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

// leftoverOrder lists the indexes of the shares that may take a leftover
// unit (those whose exact share is not whole: there are always more of them
// than leftover units), best first: by remainder (cmpRem, largest first), then key, then
// index for LargestRemainder; by index alone for FirstInOrder.
func leftoverOrder(order []int, shares []Share, method AllocationMethod, eligible func(int) bool, cmpRem func(a, b int) int) []int {
	for i := range shares {
		if eligible(i) {
			order = append(order, i)
		}
	}
	if method == FirstInOrder {
		return order
	}
	// Insertion sort: n is small in practice and this allocates nothing.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && leftoverLess(order[j], order[j-1], shares, cmpRem); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	return order
}

func leftoverLess(a, b int, shares []Share, cmpRem func(a, b int) int) bool {
	if c := cmpRem(a, b); c != 0 {
		return c < 0
	}
	if c := strings.Compare(shares[a].Key, shares[b].Key); c != 0 {
		return c < 0
	}
	return a < b
}

// allocateBig is the math/big twin of AllocateUnits for totals or weights
// beyond int64.
func allocateBig(total *big.Int, shares []Share, opts AllocateOptions) ([]*big.Int, error) {
	if len(shares) == 0 {
		return nil, ErrZeroWeights
	}
	lcm := big.NewInt(1)
	g := new(big.Int)
	for i, s := range shares {
		if s.Weight.Sign() < 0 {
			return nil, &WeightError{Index: i, Key: s.Key, Err: ErrNegativeWeight}
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
		return nil, ErrZeroWeights
	}
	abs := new(big.Int).Abs(total)
	parts := make([]*big.Int, len(shares))
	rems := make([]*big.Int, len(shares))
	given := new(big.Int)
	for i, w := range weights {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(abs, w), sum, new(big.Int))
		parts[i], rems[i] = q, r
		given.Add(given, q)
	}
	left := int(new(big.Int).Sub(abs, given).Int64()) // fewer than the number of shares
	order := leftoverOrder(make([]int, 0, len(shares)), shares, opts.Method,
		func(i int) bool { return rems[i].Sign() != 0 },
		func(a, b int) int { return -rems[a].Cmp(rems[b]) })
	for _, i := range order[:left] {
		parts[i].Add(parts[i], big.NewInt(1))
	}
	if total.Sign() < 0 {
		for _, p := range parts {
			p.Neg(p)
		}
	}
	return parts, nil
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
	return Allocate(m, shares, AllocateOptions{Method: FirstInOrder})
}
