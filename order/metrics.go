package order

import (
	"math"
	"slices"
	"time"
)

// Durations summarises a set of durations: how many, their total, mean and
// nearest-rank percentiles. Integer nanoseconds throughout, so the figures
// are exact and independent of the input's order.
type Durations struct {
	Count int `json:"count"`
	// Total is the sum, saturating at the largest time.Duration (292
	// years).
	Total time.Duration `json:"total"`
	// Mean is Total / Count, truncated toward zero.
	Mean time.Duration `json:"mean"`
	// P50 and P90 are nearest-rank percentiles: the smallest value at or
	// above which the given share of the values lie.
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	Max time.Duration `json:"max"`
}

// CycleSummary summarises the cycle times of many orders for operations
// metrics.
type CycleSummary struct {
	Orders int `json:"orders"`
	// QuoteToOrder covers the orders accepted, OrderToActivation those
	// activated.
	QuoteToOrder      Durations `json:"quote_to_order"`
	OrderToActivation Durations `json:"order_to_activation"`
	// Exceptions and OpenExceptions add up every order's activation
	// exceptions; OrdersWithOpenExceptions counts the orders holding one.
	Exceptions               int `json:"exceptions"`
	OpenExceptions           int `json:"open_exceptions"`
	OrdersWithOpenExceptions int `json:"orders_with_open_exceptions"`
}

// Summarize folds the cycle times of many orders (Order.CycleTimes or
// Measure) into one summary. The result does not depend on the order of ts.
func Summarize(ts []CycleTimes) CycleSummary {
	s := CycleSummary{Orders: len(ts)}
	var q, a []time.Duration
	for _, c := range ts {
		if c.Ordered {
			q = append(q, c.QuoteToOrder)
		}
		if c.Activated {
			a = append(a, c.OrderToActivation)
		}
		s.Exceptions += c.Exceptions
		s.OpenExceptions += c.OpenExceptions
		if c.OpenExceptions > 0 {
			s.OrdersWithOpenExceptions++
		}
	}
	s.QuoteToOrder, s.OrderToActivation = summarize(q), summarize(a)
	return s
}

func summarize(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	d := Durations{Count: len(ds), Max: ds[len(ds)-1]}
	// Sum whole seconds and nanoseconds apart so that neither overflows
	// for any realistic set; the total saturates, the mean stays exact.
	var secs, nanos int64
	for _, x := range ds {
		secs += int64(x / time.Second)
		nanos += int64(x % time.Second)
	}
	secs, nanos = secs+nanos/1e9, nanos%1e9
	n := int64(len(ds))
	if secs > int64(math.MaxInt64/time.Second)-1 {
		d.Total = math.MaxInt64
	} else {
		d.Total = time.Duration(secs)*time.Second + time.Duration(nanos)
	}
	d.Mean = time.Duration(secs/n)*time.Second + time.Duration((secs%n*1e9+nanos)/n)
	rank := func(pct int) time.Duration {
		// nearest rank: ceil(pct/100 × n), 1-based
		r := (pct*len(ds) + 99) / 100
		return ds[max(r, 1)-1]
	}
	d.P50, d.P90 = rank(50), rank(90)
	return d
}
