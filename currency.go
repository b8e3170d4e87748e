package ensemble

import (
	"strings"

	"golang.org/x/text/currency"
)

// Currency is an ISO 4217 currency with its minor unit, taken from
// golang.org/x/text/currency (CLDR data), never from a hand-written table.
// The zero Currency is "no currency": it belongs to the zero Money only.
// Currencies are comparable with ==.
type Currency struct {
	unit   currency.Unit
	digits int8
	valid  bool
}

// ParseCurrency returns the currency for an ISO 4217 code such as "EUR".
// Codes are case-insensitive. Unknown and malformed codes, and XXX ("no
// currency"), return a *ParseError.
func ParseCurrency(code string) (Currency, error) {
	if len(code) != 3 {
		return Currency{}, parseError("currency", code, "want a three-letter ISO 4217 code")
	}
	u, err := currency.ParseISO(code)
	if err != nil || strings.EqualFold(code, "XXX") {
		return Currency{}, parseError("currency", code, "unknown ISO 4217 code")
	}
	scale, _ := currency.Standard.Rounding(u)
	return Currency{unit: u, digits: int8(scale), valid: true}, nil
}

// MustCurrency is ParseCurrency for tests, examples and package
// initialisation: it panics on an unknown code.
func MustCurrency(code string) Currency {
	c, err := ParseCurrency(code)
	if err != nil {
		panic(err)
	}
	return c
}

// Code returns the three-letter ISO code, or "" for the zero Currency.
func (c Currency) Code() string {
	if !c.valid {
		return ""
	}
	return c.unit.String()
}

// String returns the ISO code, or "" for the zero Currency.
func (c Currency) String() string { return c.Code() }

// Digits returns the number of digits of the currency's minor unit: 2 for
// EUR, 0 for JPY, 3 for KWD; 0 for the zero Currency.
func (c Currency) Digits() int32 { return int32(c.digits) }

// IsZero reports whether c is the zero Currency ("no currency").
func (c Currency) IsZero() bool { return !c.valid }

func (c Currency) orNone() string {
	if !c.valid {
		return "(none)"
	}
	return c.Code()
}

// MarshalText writes the ISO code ("" for the zero Currency).
func (c Currency) MarshalText() ([]byte, error) { return []byte(c.Code()), nil }

// UnmarshalText reads an ISO code; the empty string is the zero Currency.
func (c *Currency) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = Currency{}
		return nil
	}
	v, err := ParseCurrency(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
