package ensemble_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ensemble-commerce/ensemble"
)

// FuzzParseMoney checks that reading money text never panics and that what
// it accepts writes back to text that reads as the same amount.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"EUR 12.30", "JPY 5", "KWD -0.005", "0", "", "EUR 1e5", "USD .5", "XXX 1", "EUR 00012.3000", "eur 1", "GEMS:0 5", "credits:4 -0.00001", "XAU 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ensemble.ParseMoney(s)
		if err != nil {
			return
		}
		text, err := m.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ensemble.ParseMoney(string(text))
		if err != nil {
			t.Fatalf("%q -> %s does not parse back: %v", s, text, err)
		}
		if !back.Equal(m) {
			t.Fatalf("%q -> %s -> %s", s, m, back)
		}
		js, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var fromJSON ensemble.Money
		if err := json.Unmarshal(js, &fromJSON); err != nil || !fromJSON.Equal(m) {
			t.Fatalf("json %s: %v", js, err)
		}
	})
}

// FuzzParseRatio checks that reading ratio text never panics and round-trips
// what it accepts.
func FuzzParseRatio(f *testing.F) {
	for _, s := range []string{"1/3", "12.5%", "0.125", "-2/7", "1/0", "", "%", "99999999999999999999/7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ensemble.ParseRatio(s)
		if err != nil {
			return
		}
		back, err := ensemble.ParseRatio(r.String())
		if err != nil || !back.Equal(r) {
			t.Fatalf("%q -> %s -> %s (%v)", s, r, back, err)
		}
	})
}

// FuzzYAMLToJSON checks that converting any YAML never panics, always
// yields valid JSON when it succeeds, and otherwise fails with a
// *DecodeError that names a line (and a column within the document, where
// it names one).
func FuzzYAMLToJSON(f *testing.F) {
	for _, s := range []string{"a: 1\nb: [x, 2.5]\n", "a: &x [1]\nb: *x\n", "- {a: null}\n", "a: 0x1F", "", "a: |\n  text\n", "? [1]\n: 2",
		"a: 1\n1: x\n", "a: *nope\n", "a: 1\n- b\n", "a: b: c", "x: \x01", "{a: 1} {b: 2}", "a: 1\r? 1\r: 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		js, err := ensemble.YAMLToJSON([]byte(s))
		if err != nil {
			var de *ensemble.DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ensemble.ErrDecode) {
				t.Fatalf("%q: untyped error %T: %v", s, err, err)
			}
			if de.Line < 1 || de.Column < 0 || (de.Column > 0 && (de.Offset < int64(de.Column-1) || de.Offset > int64(len(s)))) {
				t.Fatalf("%q: misplaced error %+v", s, de)
			}
			return
		}
		if !json.Valid(js) {
			t.Fatalf("%q gave invalid JSON %s", s, js)
		}
	})
}
