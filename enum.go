package ensemble

import (
	"errors"
	"strconv"
)

// The library's enums are small uint8 types whose text form is a table of
// lowercase names indexed by value (DESIGN.md: enums marshal as their
// lowercase names). These three functions are the String, MarshalText and
// UnmarshalText of every such enum, so each package declares only its table.

// EnumName returns names[v], or "kind(v)" for a value outside the table.
func EnumName[T ~uint8](v T, names []string, kind string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return kind + "(" + strconv.Itoa(int(v)) + ")"
}

// ErrUnknownEnum is matched by every *EnumError.
var ErrUnknownEnum = errors.New("ensemble: unknown enum value")

// EnumError reports an enum value or name outside its table, naming the
// package and the kind: `order: unknown route kind "diect"`. It matches
// ErrUnknownEnum with errors.Is.
type EnumError struct {
	Package string // "order"
	Kind    string // "route kind"
	Text    string // the name read, cut to 64 bytes, quoted in the message; or the number written
	Number  bool   // Text is an undeclared value being written, not a name read
	Hint    string // what is accepted, when the package says: "want condition, share, amount or policy"
}

func (e *EnumError) Error() string {
	msg := e.Package + ": unknown " + e.Kind + " "
	if e.Number {
		msg += e.Text
	} else {
		msg += strconv.Quote(e.Text)
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// Is reports whether target is ErrUnknownEnum.
func (e *EnumError) Is(target error) bool { return target == ErrUnknownEnum }

// EnumText returns the name of a declared value; any other value is an
// *EnumError naming the package and the kind: "catalog: unknown charge type 9".
func EnumText[T ~uint8](v T, names []string, pkg, kind string) ([]byte, error) {
	if int(v) >= len(names) {
		return nil, &EnumError{Package: pkg, Kind: kind, Text: strconv.Itoa(int(v)), Number: true}
	}
	return []byte(names[v]), nil
}

// ParseEnum returns the value b names; the empty text is the zero value.
// Unknown text is an *EnumError naming the package, the kind and the text
// (cut to 64 bytes): `order: unknown route kind "diect"`.
func ParseEnum[T ~uint8](b []byte, names []string, pkg, kind string) (T, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for i, n := range names {
		if n == string(b) {
			return T(i), nil
		}
	}
	s := string(b)
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return 0, &EnumError{Package: pkg, Kind: kind, Text: s}
}
