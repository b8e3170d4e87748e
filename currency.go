package ensemble

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/text/currency"
)

// Currency is the unit an amount of Money counts in: an ISO 4217 currency
// that is legal tender today, with its minor unit taken from CLDR through
// golang.org/x/text/currency (never a hand-written table), or a unit the host
// declares (credits, tokens, points, gems) with a code and its minor digits.
// The zero Currency is "no currency": it belongs to the zero Money only.
// Currencies are small comparable values: compare them with ==. A declared
// unit equals another with the same code and digits, whatever registry made
// it.
type Currency struct {
	v uint64 // kind (2 bits) | digits << 2 (5 bits) | payload << 8
}

const (
	kindNone     = 0
	kindISO      = 1
	kindDeclared = 2
	// MaxUnitDigits is the most minor digits a declared unit may have.
	MaxUnitDigits = 18
	// MaxUnitCodeLen is the longest code a declared unit may have.
	MaxUnitCodeLen = 10
)

func (c Currency) kind() uint64    { return c.v & 3 }
func (c Currency) payload() uint64 { return c.v >> 8 }

func makeCurrency(kind uint64, digits int, payload uint64) Currency {
	return Currency{v: kind | uint64(digits)<<2 | payload<<8}
}

// isoUnit is one ISO 4217 currency that is legal tender in some region
// today.
type isoUnit struct {
	code   string
	digits int
}

// isoTable lists the legal-tender ISO 4217 currencies, sorted by code, with
// an index by code. It is built once from CLDR data and never changes.
var isoTable = sync.OnceValues(func() ([]isoUnit, map[string]int) {
	seen := map[string]bool{}
	var units []isoUnit
	for it := currency.Query(); it.Next(); {
		u := it.Unit()
		code := u.String()
		if seen[code] || code == "XXX" {
			continue
		}
		seen[code] = true
		scale, _ := currency.Standard.Rounding(u)
		units = append(units, isoUnit{code: code, digits: scale})
	}
	slices.SortFunc(units, func(a, b isoUnit) int { return strings.Compare(a.code, b.code) })
	index := make(map[string]int, len(units))
	for i, u := range units {
		index[u.code] = i + 1 // 0 is no currency
	}
	return units, index
})

// ParseCurrency returns the currency a code names, case-insensitively:
//   - an ISO 4217 code of a currency that is legal tender today, such as
//     "EUR" (2 digits), "JPY" (0) or "KWD" (3);
//   - a declared unit written with its minor digits, "CODE:DIGITS", such as
//     "GEMS:0" or "CREDITS:4": the form MarshalText writes, so that stored
//     amounts read back the same without the registry that declared them.
//
// Codes that are not legal tender or have no minor unit (XAU, XDR, XTS,
// XUA, the fund codes), withdrawn currencies (DEM, FRF), XXX and other
// three-letter codes are a *ParseError matching ErrUndeclaredUnit: declare
// such a unit in a Units registry and resolve its bare code with
// Units.Currency, and where no registry is given (a settlement plan's
// currencies and amounts, an exchange rate, a stored amount) write it
// with its digits, "CLF:4", which the error says. Malformed text is a
// *ParseError.
func ParseCurrency(code string) (Currency, error) {
	if name, digits, ok := strings.Cut(code, ":"); ok {
		return parseDeclared(code, name, digits)
	}
	if len(code) != 3 {
		return Currency{}, parseError("currency", code, `want a three-letter ISO 4217 code, or a declared unit as "CODE:DIGITS"`)
	}
	i, ok := isoIndex(strings.ToUpper(code))
	if !ok {
		pe := parseError("currency", code, `not an ISO 4217 currency that is legal tender today; declare it as a unit, and where no registry is given (plans, rates, stored amounts) write it with its minor digits, "`+
			strings.ToUpper(code)+`:DIGITS"`)
		pe.Err = ErrUndeclaredUnit
		return Currency{}, pe
	}
	units, _ := isoTable()
	return makeCurrency(kindISO, units[i-1].digits, uint64(i)), nil
}

// parseDeclared reads the "CODE:DIGITS" form of a declared unit.
func parseDeclared(text, name, digits string) (Currency, error) {
	d, err := strconv.Atoi(digits)
	if err != nil || d < 0 || d > MaxUnitDigits || digits != strconv.Itoa(d) {
		return Currency{}, parseError("currency", text, "want the unit's minor digits, 0 to 18, after the colon")
	}
	return declare(name, d)
}

// declare returns the declared unit code with d minor digits, refusing
// malformed codes and codes of legal-tender ISO currencies.
func declare(code string, d int) (Currency, error) {
	if d < 0 || d > MaxUnitDigits {
		return Currency{}, parseError("unit", code, "minor digits must be 0 to 18, not "+strconv.Itoa(d))
	}
	upper := strings.ToUpper(code)
	packed, ok := packCode(upper)
	if !ok {
		return Currency{}, parseError("unit", code, "want 2 to 10 letters, digits or underscores, starting with a letter")
	}
	if _, iso := isoIndex(upper); iso {
		return Currency{}, parseError("unit", code, "is ISO 4217 legal tender: its minor unit is not the host's to declare")
	}
	return makeCurrency(kindDeclared, d, packed), nil
}

// isoIndex returns the place of an upper-case ISO code in isoTable, from 1.
func isoIndex(code string) (int, bool) {
	_, index := isoTable()
	i, ok := index[code]
	return i, ok
}

// packCode packs a code of 2 to MaxUnitCodeLen characters from A-Z, 0-9
// and '_', starting with a letter, into base 38 (0 ends the code).
func packCode(code string) (uint64, bool) {
	if len(code) < 2 || len(code) > MaxUnitCodeLen || code[0] < 'A' || code[0] > 'Z' {
		return 0, false
	}
	var v uint64
	for i := len(code) - 1; i >= 0; i-- {
		c := code[i]
		var d uint64
		switch {
		case c >= 'A' && c <= 'Z':
			d = uint64(c-'A') + 1
		case c >= '0' && c <= '9':
			d = uint64(c-'0') + 27
		case c == '_':
			d = 37
		default:
			return 0, false
		}
		v = v*38 + d
	}
	return v, true
}

// unpackCode is packCode's inverse.
func unpackCode(v uint64) string {
	var b [MaxUnitCodeLen]byte
	n := 0
	for ; v != 0; v /= 38 {
		switch d := v % 38; {
		case d <= 26:
			b[n] = byte('A' + d - 1)
		case d <= 36:
			b[n] = byte('0' + d - 27)
		default:
			b[n] = '_'
		}
		n++
	}
	return string(b[:n])
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

// Code returns the code: "EUR" for an ISO currency, the declared code such
// as "GEMS" for a declared unit, "" for the zero Currency.
func (c Currency) Code() string {
	switch c.kind() {
	case kindISO:
		units, _ := isoTable()
		return units[c.payload()-1].code
	case kindDeclared:
		return unpackCode(c.payload())
	}
	return ""
}

// String returns the code, as Code: what a person reads in amounts and
// messages ("GEMS 12.5000").
func (c Currency) String() string { return c.Code() }

// Key returns the text MarshalText writes: the ISO code ("EUR"), or a
// declared unit's code with its digits ("GEMS:0"); "" for the zero
// Currency. Keys are unique per currency and ParseCurrency reads them back,
// so they suit map keys, persisted state and documents.
func (c Currency) Key() string {
	if !c.IsDeclared() {
		return c.Code()
	}
	return string(c.appendText(nil))
}

// Digits returns the number of digits of the minor unit: 2 for EUR, 0 for
// JPY, 3 for KWD, what was declared for a declared unit; 0 for the zero
// Currency.
func (c Currency) Digits() int32 { return int32(c.v >> 2 & 31) }

// IsZero reports whether c is the zero Currency ("no currency").
func (c Currency) IsZero() bool { return c.kind() == kindNone }

// IsDeclared reports whether c is a unit the host declared rather than an
// ISO 4217 currency.
func (c Currency) IsDeclared() bool { return c.kind() == kindDeclared }

// keyOrNone names c in messages by its key, so that GEMS:0 and GEMS:2
// read apart.
func (c Currency) keyOrNone() string {
	if c.IsZero() {
		return "(none)"
	}
	return c.Key()
}

// MarshalText writes the ISO code ("EUR"), a declared unit's code with its
// digits ("GEMS:0"), or "" for the zero Currency.
func (c Currency) MarshalText() ([]byte, error) { return c.appendText(nil), nil }

func (c Currency) appendText(b []byte) []byte {
	b = append(b, c.Code()...)
	if c.IsDeclared() {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(c.Digits()), 10)
	}
	return b
}

// UnmarshalText reads what MarshalText writes, as ParseCurrency; the empty
// string is the zero Currency.
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
