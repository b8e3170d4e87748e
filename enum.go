package ensemble

import (
	"fmt"
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

// EnumText returns the name of a declared value; any other value is an
// error naming the package and the kind: "catalog: unknown charge type 9".
func EnumText[T ~uint8](v T, names []string, pkg, kind string) ([]byte, error) {
	if int(v) >= len(names) {
		return nil, fmt.Errorf("%s: unknown %s %d", pkg, kind, v)
	}
	return []byte(names[v]), nil
}

// ParseEnum returns the value b names; the empty text is the zero value.
// Unknown text is an error naming the package, the kind and the text (cut
// to 64 bytes): `order: unknown route kind "diect"`.
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
	return 0, fmt.Errorf("%s: unknown %s %q", pkg, kind, s)
}
