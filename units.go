package ensemble

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Unit declares a unit of account beyond ISO 4217: marketplace credits,
// tokens, loyalty points, gems. Code is 2 to MaxUnitCodeLen letters, digits
// or underscores starting with a letter (case-insensitive, kept upper-case);
// Digits is its number of minor digits, 0 to MaxUnitDigits. A code that is
// ISO 4217 legal tender cannot be declared; one that is ISO but not legal
// tender or has no minor unit (XAU, XTS, XDR, DEM) can, and must be to be used.
type Unit struct {
	Code   string `json:"code"`
	Digits int    `json:"digits"`
}

// Units is a registry of declared units that a host builds once with
// NewUnits and passes explicitly wherever codes are read; there is no
// package-level registry. A Units is immutable and safe for concurrent use.
// The nil *Units declares nothing: it resolves ISO codes only.
//
// Money in a declared unit computes, allocates, rounds and compares exactly
// as in an ISO currency. Its text and JSON forms carry the unit's digits
// ("GEMS:0 120", {"amount":"120","currency":"GEMS:0"}), so a stored amount
// reads back the same with ParseMoney or encoding/json, without the registry
// and whatever a later registry declares.
type Units struct {
	byCode map[string]Currency
}

// ErrUndeclaredUnit reports a code that is neither declared in the registry
// nor an ISO 4217 currency that is legal tender, or a unit whose digits
// differ from its declaration.
var ErrUndeclaredUnit = errors.New("ensemble: undeclared unit")

// ErrDuplicateUnit reports a unit declared twice in one registry.
var ErrDuplicateUnit = errors.New("ensemble: unit declared twice")

// NewUnits declares units. Every malformed code, digit count out of range,
// code of a legal-tender ISO currency and code declared twice is reported at
// once in a *ValidationError, each at its path (units[2].code).
func NewUnits(units ...Unit) (*Units, error) {
	var ps Problems
	r := &Units{byCode: make(map[string]Currency, len(units))}
	for i, u := range units {
		if u.Digits < 0 || u.Digits > MaxUnitDigits {
			ps.Add(Path("units", i, "digits"), parseError("unit", u.Code, "minor digits must be 0 to 18, not "+strconv.Itoa(u.Digits)))
			continue
		}
		c, err := declare(u.Code, u.Digits)
		if err != nil {
			ps.Add(Path("units", i, "code"), err)
			continue
		}
		code := c.Code()
		if _, dup := r.byCode[code]; dup {
			ps.Add(Path("units", i, "code"), &UnitError{Code: u.Code, Err: ErrDuplicateUnit})
			continue
		}
		r.byCode[code] = c
	}
	if err := ps.Err("units"); err != nil {
		return nil, err
	}
	return r, nil
}

// MustUnits is NewUnits for tests, examples and package initialisation: it
// panics on a bad declaration.
func MustUnits(units ...Unit) *Units {
	r, err := NewUnits(units...)
	if err != nil {
		panic(err)
	}
	return r
}

// Currency resolves a code: a unit declared here by its bare code ("gems"),
// or written with its digits ("GEMS:0") when they match the declaration, or
// an ISO 4217 currency that is legal tender. Anything else, including a
// declared form whose unit this registry does not declare identically, is a
// *UnitError matching ErrUndeclaredUnit.
func (r *Units) Currency(code string) (Currency, error) {
	if r != nil {
		name, _, _ := strings.Cut(code, ":")
		if c, ok := r.byCode[strings.ToUpper(name)]; ok {
			if name == code {
				return c, nil
			}
			written, err := ParseCurrency(code)
			if err != nil {
				return Currency{}, err
			}
			if written != c {
				return Currency{}, &UnitError{Code: code, Declared: c, Err: ErrUndeclaredUnit}
			}
			return c, nil
		}
	}
	c, err := ParseCurrency(code)
	if err != nil {
		return Currency{}, &UnitError{Code: code, Err: errors.Join(ErrUndeclaredUnit, err)}
	}
	if c.IsDeclared() {
		return Currency{}, &UnitError{Code: code, Err: ErrUndeclaredUnit}
	}
	return c, nil
}

// Check reports a currency this registry would not resolve to itself: a
// declared unit that is not declared here with the same digits. ISO
// currencies and the zero Currency pass. Loaders use it on amounts decoded
// from JSON, whose declared units carry their own digits.
func (r *Units) Check(c Currency) error {
	if !c.IsDeclared() {
		return nil
	}
	var declared Currency
	if r != nil {
		d, ok := r.byCode[c.Code()]
		if ok && d == c {
			return nil
		}
		declared = d
	}
	return &UnitError{Code: c.Key(), Declared: declared, Err: ErrUndeclaredUnit}
}

// NewMoney is ensemble.NewMoney with the code resolved by r.Currency.
func (r *Units) NewMoney(amount, code string) (Money, error) {
	cur, err := r.Currency(code)
	if err != nil {
		return Money{}, err
	}
	return amountIn(amount, cur)
}

// ParseMoney reads "CODE AMOUNT" with the code resolved by r.Currency:
// "GEMS 120", "GEMS:0 120" and "EUR 12.30". The empty string and "0" are the
// zero Money.
func (r *Units) ParseMoney(s string) (Money, error) {
	if s == "" || s == "0" {
		return Money{}, nil
	}
	code, amount, ok := strings.Cut(s, " ")
	if !ok {
		return Money{}, parseError("money", s, `want "CODE AMOUNT", such as "EUR 12.30"`)
	}
	return r.NewMoney(amount, code)
}

// Declared returns the declared units, sorted by code.
func (r *Units) Declared() []Unit {
	if r == nil {
		return nil
	}
	out := make([]Unit, 0, len(r.byCode))
	for code, c := range r.byCode {
		out = append(out, Unit{Code: code, Digits: int(c.Digits())})
	}
	slices.SortFunc(out, func(a, b Unit) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// UnitError reports a code a Units registry cannot resolve (matching
// ErrUndeclaredUnit with errors.Is) or declares twice (ErrDuplicateUnit).
type UnitError struct {
	Code     string   // the code as written
	Declared Currency // the registry's declaration, when the digits differ
	Err      error
}

func (e *UnitError) Error() string {
	if errors.Is(e.Err, ErrDuplicateUnit) {
		return "ensemble: unit " + strconv.Quote(e.Code) + ": declared twice"
	}
	if !e.Declared.IsZero() {
		text, _ := e.Declared.MarshalText()
		return "ensemble: unit " + strconv.Quote(e.Code) + ": declared as " + string(text)
	}
	return "ensemble: unit " + strconv.Quote(e.Code) + ": not declared and not ISO 4217 legal tender"
}

// Unwrap returns the condition, ErrUndeclaredUnit, and the parse error
// where there is one.
func (e *UnitError) Unwrap() error { return e.Err }
