package ensemble

import (
	"errors"
	"strings"
	"time"
)

// Exchange-rate conditions, matched with errors.Is through a *RateError.
var (
	// ErrNoRate reports a conversion with no rate for its currency pair in
	// force at the instant asked (a *RateError names the pair and instant).
	ErrNoRate = errors.New("ensemble: no exchange rate")
	// ErrRate reports an exchange rate that cannot be used: not above zero,
	// between a currency and itself, a currency missing, or given twice for
	// one pair and instant.
	ErrRate = errors.New("ensemble: invalid exchange rate")
)

// ExchangeRate is a rate the host gives: one unit of From is worth Rate
// units of To, exactly (a decimal such as "0.9234" or a fraction, never a
// float), from the instant Since on, until the pair's next rate. A zero
// Since is in force from the beginning of time.
type ExchangeRate struct {
	From  Currency  `json:"from"`
	To    Currency  `json:"to"`
	Since time.Time `json:"since,omitzero"`
	Rate  Ratio     `json:"rate"`
}

// Check reports whether r can convert: both currencies set and different,
// and a rate above zero. A problem is a *RateError wrapping ErrRate.
func (r ExchangeRate) Check() error {
	bad := func(why string) error {
		return &RateError{From: r.From, To: r.To, At: r.Since, Value: why, Err: ErrRate}
	}
	switch {
	case r.From.IsZero() || r.To.IsZero():
		return bad("a currency is missing")
	case r.From == r.To:
		return bad("a currency converts to itself at 1")
	case r.Rate.Sign() <= 0:
		return bad(r.Rate.String() + " is not above zero")
	}
	return nil
}

// Convert returns m in To: m × Rate, rounded once to To's minor unit in
// mode. m must be in From (a *CurrencyMismatchError otherwise).
func (r ExchangeRate) Convert(m Money, mode RoundingMode) (Money, error) {
	if m.Currency() != r.From {
		return Money{}, &CurrencyMismatchError{Op: "convert", A: m.Currency(), B: r.From}
	}
	return MoneyFromDecimal(m.Amount(), r.To).MulRatio(r.Rate, mode), nil
}

// ExchangeRates is a host's table of exchange rates: for each ordered
// currency pair, the rates in force from their Since instants on. A pair is
// used as given: the rate from USD to EUR is never derived from a rate from
// EUR to USD, nor through a third currency, so every conversion can be
// redone from the one rate it records.
type ExchangeRates []ExchangeRate

// At returns the rate from → to in force at t: of the pair's rates, the one
// with the latest Since not after t. No such rate is a *RateError wrapping
// ErrNoRate, whose Value says when the pair's first rate starts or that
// the table holds the pair the other way round (never inverted); the pair
// given twice with one Since, or a rate Check refuses, a *RateError
// wrapping ErrRate.
func (rs ExchangeRates) At(from, to Currency, t time.Time) (ExchangeRate, error) {
	found, twice := -1, false
	for i := range rs {
		r := &rs[i]
		if r.From != from || r.To != to || r.Since.After(t) {
			continue
		}
		switch {
		case found < 0 || r.Since.After(rs[found].Since):
			found, twice = i, false
		case r.Since.Equal(rs[found].Since):
			twice = true
		}
	}
	if found < 0 {
		return ExchangeRate{}, &RateError{From: from, To: to, At: t, Value: rs.noRateHint(from, to), Err: ErrNoRate}
	}
	if twice {
		return ExchangeRate{}, &RateError{From: from, To: to, At: rs[found].Since, Value: "given twice", Err: ErrRate}
	}
	if err := rs[found].Check(); err != nil {
		return ExchangeRate{}, err
	}
	return rs[found], nil
}

// Find returns the rate from → to of a table that holds one rate per pair
// (the rates of one computation, such as an invoice run), whatever its
// Since. No rate for the pair is a *RateError wrapping ErrNoRate; the pair
// given twice, or a rate Check refuses, a *RateError wrapping ErrRate.
func (rs ExchangeRates) Find(from, to Currency) (Ratio, error) {
	found := -1
	for i := range rs {
		if rs[i].From != from || rs[i].To != to {
			continue
		}
		if found >= 0 {
			return Ratio{}, &RateError{From: from, To: to, Value: "given twice", Err: ErrRate}
		}
		found = i
	}
	if found < 0 {
		return Ratio{}, &RateError{From: from, To: to, Value: rs.noRateHint(from, to), Err: ErrNoRate}
	}
	if err := rs[found].Check(); err != nil {
		return Ratio{}, err
	}
	return rs[found].Rate, nil
}

// noRateHint says what the table holds when it has no rate from → to
// where asked: the pair's first rate when it comes later (At), or the
// pair the other way round, which is never inverted; "" when neither.
func (rs ExchangeRates) noRateHint(from, to Currency) string {
	first := -1
	reversed := false
	for i := range rs {
		switch r := &rs[i]; {
		case r.From == from && r.To == to:
			if first < 0 || r.Since.Before(rs[first].Since) {
				first = i
			}
		case r.From == to && r.To == from:
			reversed = true
		}
	}
	switch {
	case first >= 0:
		return "the pair's first rate is in force from " + rs[first].Since.UTC().Format(time.RFC3339)
	case reversed:
		return "the rates hold " + to.keyOrNone() + " to " + from.keyOrNone() + ", never inverted: give " + from.keyOrNone() + " to " + to.keyOrNone()
	}
	return ""
}

// Check reports every rate Check refuses and every pair given twice with
// one Since, as one *ValidationError whose problems name rates[i] and wrap
// *RateError; nil when every rate can be used.
func (rs ExchangeRates) Check() error {
	type key struct {
		from, to Currency
		since    time.Time
	}
	seen := make(map[key]int, len(rs))
	var p Problems
	for i, r := range rs {
		path := Path("rates", i)
		if err := r.Check(); err != nil {
			p.Add(path, err)
			continue
		}
		k := key{r.From, r.To, r.Since.UTC()}
		if j, dup := seen[k]; dup {
			p.Add(path, &RateError{From: r.From, To: r.To, At: r.Since, Value: "given twice (rates[" + itoa(int64(j)) + "])", Err: ErrRate})
			continue
		}
		seen[k] = i
	}
	return p.Err("exchange rates")
}

// RateError reports an exchange rate that is missing (ErrNoRate) or unusable
// (ErrRate), naming the currency pair (one unit of From is worth the rate in
// To) and the instant asked for, or the rate's Since.
type RateError struct {
	From, To Currency
	At       time.Time // zero when no instant applies
	Value    string    // what is wrong with the rate given; for ErrNoRate, what the table holds instead (the pair reversed, a later first rate), if anything
	Err      error
}

// Error writes `ensemble: no exchange rate from USD to EUR at
// 2026-03-01T00:00:00Z` or `ensemble: invalid exchange rate from USD to
// EUR: <value>`.
func (e *RateError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	b.WriteString(" from " + e.From.keyOrNone() + " to " + e.To.keyOrNone())
	if !e.At.IsZero() {
		b.WriteString(" at " + e.At.UTC().Format(time.RFC3339))
	}
	if e.Value != "" {
		b.WriteString(": " + e.Value)
	}
	return b.String()
}

// Unwrap returns the condition.
func (e *RateError) Unwrap() error { return e.Err }
