package invoice

import (
	"math/big"
	"strconv"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// quo returns a / b exactly; b must not be zero.
func quo(a, b ensemble.Ratio) ensemble.Ratio {
	return ensemble.RatioFromRat(new(big.Rat).Quo(a.Rat(), b.Rat()))
}

func quote(s string) string { return strconv.Quote(s) }

// MaxCycles bounds how many cycles of one charge a single Build computes
// (a run from the beginning of a long, daily subscription), so that hostile
// input cannot make a build arbitrarily slow. Bill long histories in several
// runs.
const MaxCycles = 100000

// cycles calls f for every cycle of cad from anchor that overlaps
// [start, end), in order, stopping when f returns false; a cycle all of
// whose time the zone skipped (a daily one on Pacific/Apia's 2011-12-30)
// is left out, as ensemble.Cadence.Periods leaves it. It steps with
// Boundary from the index PeriodAt finds, as ensemble.Cadence.Periods does,
// without its iterator's allocations.
func cycles(cad ensemble.Cadence, anchor, start, end time.Time, loc *time.Location, f func(ensemble.Period) bool) error {
	p, n, err := cad.PeriodAt(anchor, start, loc)
	if err != nil {
		return err
	}
	for count := 0; p.Start.Before(end); count++ {
		if count == MaxCycles {
			return bad(ErrInvalid, "a run spans more than %d cycles of cadence %s", MaxCycles, cad)
		}
		if !f(ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}) {
			return nil
		}
		p.Start = p.End
		for { // the next cycle that holds time: a zone can skip a daily one
			n++
			next, err := cad.Boundary(anchor, n+1, loc)
			if err != nil {
				return err
			}
			if p.End = next; next.After(p.Start) {
				break
			}
		}
	}
	return nil
}

// terminating returns r as an exact decimal when it has a finite decimal
// form of at most 18 places.
func terminating(r ensemble.Ratio) (decimal.Decimal, bool) {
	d := r.Decimal(18, ensemble.RoundDown)
	if ensemble.RatioFromDecimal(d).Equal(r) {
		// Drop trailing zeros so the fixed-point fast path applies.
		if n, err := ensemble.ParseDecimal(d.String()); err == nil {
			return n, true
		}
	}
	return decimal.Decimal{}, false
}
