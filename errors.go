package ensemble

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors that carry no data. Each package wraps them with the value it
// rejected; callers match them with errors.Is.
var (
	// ErrCurrencyMismatch is matched by every CurrencyMismatchError.
	ErrCurrencyMismatch = errors.New("ensemble: currency mismatch")
	// ErrNotMinorUnits reports an amount with more precision than its
	// currency's minor unit where a whole number of minor units is required.
	ErrNotMinorUnits = errors.New("ensemble: amount is not a whole number of minor units")
	// ErrMinorUnitsRange reports a whole number of minor units beyond the
	// int64 range (EUR 92233720368547758.08 and more), where minor units
	// are counted in an int64: the amount is exact, but too large to keep.
	ErrMinorUnitsRange = errors.New("ensemble: amount is beyond the int64 range of minor units")
	// ErrZeroWeights reports an allocation whose weights are all zero: the
	// amount would have nowhere to go.
	ErrZeroWeights = errors.New("ensemble: all allocation weights are zero")
	// ErrNegativeWeight reports an allocation weight below zero.
	ErrNegativeWeight = errors.New("ensemble: negative allocation weight")
	// ErrEmptyPeriod reports a proration whose whole period measures zero
	// under the chosen basis.
	ErrEmptyPeriod = errors.New("ensemble: period measures zero")
)

// CurrencyMismatchError reports arithmetic or comparison across currencies.
// It matches ErrCurrencyMismatch with errors.Is.
type CurrencyMismatchError struct {
	Op   string // the operation, such as "add" or "cmp"
	A, B Currency
}

func (e *CurrencyMismatchError) Error() string {
	return fmt.Sprintf("ensemble: %s: currency mismatch %s and %s", e.Op, e.A.keyOrNone(), e.B.keyOrNone())
}

// Is reports whether target is ErrCurrencyMismatch.
func (e *CurrencyMismatchError) Is(target error) bool { return target == ErrCurrencyMismatch }

// ParseError reports text that could not be read as a value of the named
// kind (money, currency, ratio, rounding mode, ...).
type ParseError struct {
	Kind  string // what was being parsed, such as "money" or "ratio"
	Input string // the rejected text, cut to 64 bytes
	Msg   string // why it was rejected
	Err   error  // the condition, where one applies (ErrUndeclaredUnit)
}

// Unwrap returns the condition, or nil.
func (e *ParseError) Unwrap() error { return e.Err }

func (e *ParseError) Error() string {
	return fmt.Sprintf("ensemble: parse %s %s: %s", e.Kind, strconv.Quote(e.Input), e.Msg)
}

func parseError(kind, input, msg string) *ParseError {
	if len(input) > 64 {
		input = input[:64] + "..."
	}
	return &ParseError{Kind: kind, Input: input, Msg: msg}
}

// FieldError is one validation problem: the path of the offending field
// (such as `offers[3].charges[1].tiers[2].up_to`) and what is wrong with it.
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

// Unwrap returns the underlying problem, so errors.Is and errors.As see it.
func (e *FieldError) Unwrap() error { return e.Err }

// ValidationError collects every problem found in one input. Validation in
// every package reports all problems at once through this type; callers
// range over Problems or match a single one with errors.Is and errors.As,
// which look into each problem.
type ValidationError struct {
	Subject  string // what was validated, such as "catalog" or "plan \"std\""
	Problems []*FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Subject)
	if e.Subject == "" {
		b.WriteString("ensemble")
	}
	fmt.Fprintf(&b, ": %d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteByte('s')
	}
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns every problem, so errors.Is and errors.As look into each.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// Problems gathers validation problems. Its zero value is ready to use.
// Packages build one per validation and return Err at the end, so that every
// problem is reported, not just the first.
type Problems struct {
	list []*FieldError
}

// Add records err at path. A nil err is ignored.
func (p *Problems) Add(path string, err error) {
	if err != nil {
		p.list = append(p.list, &FieldError{Path: path, Err: err})
	}
}

// Addf records a problem at path described by a format string.
func (p *Problems) Addf(path, format string, args ...any) {
	p.list = append(p.list, &FieldError{Path: path, Err: fmt.Errorf(format, args...)})
}

// Len reports how many problems were recorded.
func (p *Problems) Len() int { return len(p.list) }

// Err returns a *ValidationError about subject holding every recorded
// problem, or nil if there were none.
func (p *Problems) Err(subject string) error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Subject: subject, Problems: p.list}
}

// Path joins a field path: Path("offers", 3, "charges", 1) is
// "offers[3].charges[1]". Strings become dotted names, ints become indexes.
func Path(parts ...any) string {
	var b strings.Builder
	for _, part := range parts {
		switch v := part.(type) {
		case int:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(v))
			b.WriteByte(']')
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}
