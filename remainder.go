package ensemble

import (
	"fmt"
	"math/big"

	"github.com/shopspring/decimal"
)

// RemainderMode says which units AllocateWithRemainder leaves unallocated.
type RemainderMode uint8

const (
	// FloorParts (the default) gives each part its exact share rounded down
	// in magnitude and returns the units left over, fewer than the shares
	// whose exact share is not whole: EUR 1.00 split three ways is 0.33
	// each with a remainder of 0.01. It is the floor step every allocation
	// method starts from, before it hands out the leftover units.
	FloorParts RemainderMode = iota
	// WholeBlocks allocates only the largest multiple of the weights'
	// smallest whole-number proportion that fits in the total, so every part
	// is exactly its share of what is allocated, and returns the rest
	// (brick/money's allocateWithRemainder and splitWithRemainder): 1.00 split
	// 1:2 allocates 0.99 as 0.33 and 0.66 and returns 0.01; split 1:1:1:1:1:1:1
	// it allocates 0.98, 0.14 each, and returns 0.02.
	WholeBlocks
)

var remainderNames = [...]string{FloorParts: "floor_parts", WholeBlocks: "whole_blocks"}

// String returns the mode's lowercase name.
func (m RemainderMode) String() string { return EnumName(m, remainderNames[:], "remainder_mode") }

// ParseRemainderMode reads a mode's name; "" is FloorParts.
func ParseRemainderMode(s string) (RemainderMode, error) {
	for i, name := range remainderNames {
		if name == s {
			return RemainderMode(i), nil
		}
	}
	if s == "" {
		return FloorParts, nil
	}
	return 0, parseError("remainder mode", s, "unknown mode")
}

// MarshalText writes the mode's name.
func (m RemainderMode) MarshalText() ([]byte, error) {
	if int(m) >= len(remainderNames) {
		return nil, parseError("remainder mode", m.String(), "unknown mode")
	}
	return []byte(m.String()), nil
}

// UnmarshalText reads a mode's name.
func (m *RemainderMode) UnmarshalText(b []byte) error {
	v, err := ParseRemainderMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// RemainderOptions configures AllocateWithRemainder. The zero value uses
// FloorParts.
type RemainderOptions struct {
	Mode RemainderMode `json:"mode"`
}

// AllocateWithRemainder splits total by the shares' weights like Allocate,
// but instead of handing the units that do not divide evenly to some parts it
// returns them as remainder, for the caller to book where it wants (a
// rounding account, the platform, the next period). Every part and the
// remainder are whole minor units with the sign of total, and
// Σ parts + remainder == total exactly. A zero weight gets zero.
//
// Errors are Allocate's: digits below the minor unit (ErrNotMinorUnits), a
// negative weight or repeated key (*ShareError), no shares or all weights zero
// (ErrZeroWeights), an undeclared mode (*ParseError). On error nothing is
// returned.
func AllocateWithRemainder(total Money, shares []Share, opts RemainderOptions) (parts []Money, remainder Money, err error) {
	if int(opts.Mode) >= len(remainderNames) {
		return nil, Money{}, parseError("remainder mode", itoa(int64(opts.Mode)), "unknown mode")
	}
	if err := checkKeys(shares); err != nil {
		return nil, Money{}, err
	}
	u, ok := total.minorUnits()
	if !ok {
		return nil, Money{}, fmt.Errorf("ensemble: allocate %s: %w", total, ErrNotMinorUnits)
	}
	units := u.big
	if units == nil {
		units = big.NewInt(u.small)
	}
	weights, sum, err := bigWeights(shares)
	if err != nil {
		return nil, Money{}, err
	}
	abs := new(big.Int).Abs(units)
	if opts.Mode == WholeBlocks {
		// Reduce the weights to their smallest whole proportion; a block is
		// their sum, and only whole blocks are allocated.
		g := new(big.Int)
		for _, w := range weights {
			g.GCD(nil, nil, g, w)
		}
		for _, w := range weights {
			w.Quo(w, g)
		}
		sum.Quo(sum, g)
		abs.Sub(abs, new(big.Int).Rem(abs, sum))
	}
	ps, _, _ := floorParts(abs, weights, sum)
	neg := units.Sign() < 0
	negate(ps, neg)
	cur := total.currency
	parts = make([]Money, len(ps))
	left := new(big.Int).Set(units)
	for i, p := range ps {
		parts[i] = MoneyFromDecimal(decimal.NewFromBigInt(p, -cur.Digits()), cur)
		left.Sub(left, p)
	}
	return parts, MoneyFromDecimal(decimal.NewFromBigInt(left, -cur.Digits()), cur), nil
}
