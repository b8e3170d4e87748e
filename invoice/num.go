package invoice

import (
	"math/big"
	"strconv"

	"github.com/ensemble-commerce/ensemble"
)

// quo returns a / b exactly; b must not be zero.
func quo(a, b ensemble.Ratio) ensemble.Ratio {
	return ensemble.RatioFromRat(new(big.Rat).Quo(a.Rat(), b.Rat()))
}

func quote(s string) string { return strconv.Quote(s) }
