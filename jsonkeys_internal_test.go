package ensemble

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"
)

// drawJSON draws a JSON value whose objects often repeat a key in another
// spelling: another case, escaped, the long s or the Kelvin sign.
func drawJSON(t *rapid.T, depth int, label string) string {
	keys := []string{`"id"`, `"ID"`, `"Id"`, `"\u0069d"`, `"amount"`, `"AMOUNT"`, `"kind"`, `"\u212aind"`, `"s"`, `"\u017f"`, `"ſ"`, `"a:b"`, `"a\"b"`, `"x y"`}
	switch k := rapid.IntRange(0, 5).Draw(t, label); {
	case depth > 3 || k < 2:
		return rapid.SampledFrom([]string{`1`, `"v"`, `"{\"id\":1}"`, `null`, `true`, `"a\":"`, `-0.5e3`}).Draw(t, label+".scalar")
	case k < 4:
		var b strings.Builder
		b.WriteString("{")
		for i := range rapid.IntRange(0, 5).Draw(t, label+".keys") {
			if i > 0 {
				b.WriteString(rapid.SampledFrom([]string{",", " ,\n"}).Draw(t, label+".comma"))
			}
			b.WriteString(rapid.SampledFrom(keys).Draw(t, label+".key"))
			b.WriteString(rapid.SampledFrom([]string{":", " : "}).Draw(t, label+".colon"))
			b.WriteString(drawJSON(t, depth+1, label+"."+strings.Repeat("v", 1)))
		}
		b.WriteString("}")
		return b.String()
	default:
		var parts []string
		for range rapid.IntRange(0, 3).Draw(t, label+".items") {
			parts = append(parts, drawJSON(t, depth+1, label+".item"))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
}

// TestPropertyFastKeyCheckAgreesWithTheWalk: on valid JSON with small
// objects, CheckJSON's allocation-free pass never accepts what the
// token-by-token walk (scanKeys) refuses, and with plain ASCII keys finds
// no folded duplicate exactly when the walk accepts the document.
func TestPropertyFastKeyCheckAgreesWithTheWalk(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc := drawJSON(t, 0, "doc")
		if !json.Valid([]byte(doc)) {
			t.Fatalf("drew invalid JSON %s", doc)
		}
		fast := hasNoFoldedDuplicate([]byte(doc))
		slow := scanKeys("doc", []byte(doc)) == nil
		plainKeys := !strings.ContainsAny(doc, "\\ſ") // the drawn keys that are not plain ASCII
		if fast && !slow || plainKeys && fast != slow {
			t.Fatalf("%s: fast pass %v, walk %v", doc, fast, slow)
		}
	})
}

// FuzzFastKeyCheck: on any valid JSON, the fast pass never accepts a
// document the walk refuses.
func FuzzFastKeyCheck(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"a":{"a":1},"b":[{"a":1,"a":2}]}`, `{"\u212a":1,"k":2}`, `{"s":1,"ſ":2}`,
		`{"a\"":1,"a\\"":2}`, `[{"x":"y:"},{"x":1}]`, `{"k":"\"","K":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || !hasNoFoldedDuplicate(data) {
			return
		}
		if err := scanKeys("doc", data); err != nil {
			t.Fatalf("%q: the fast pass accepts what the walk refuses: %v", data, err)
		}
	})
}

// TestHoldsDecimal: the types whose documents checkDecimals walks are the
// ones where the walk can meet a decimal.Decimal.
func TestHoldsDecimal(t *testing.T) {
	type node struct {
		Children []node                        `json:"children"`
		Price    map[string][]*decimal.Decimal `json:"price"`
	}
	type embedded struct{ node }
	type plain struct {
		Name  string `json:"name"`
		Money Money  `json:"money"` // reads its own JSON
		Self  *plain `json:"self"`
		Any   any    `json:"any"`
	}
	type hidden struct {
		Skipped decimal.Decimal `json:"-"`
		private decimal.Decimal
	}
	for _, tc := range []struct {
		v    any
		want bool
	}{
		{decimal.Decimal{}, true}, {&[]decimal.Decimal{}, true}, {node{}, true}, {&embedded{}, true},
		{plain{}, false}, {hidden{private: decimal.Zero}, false}, {Money{}, false}, {map[string]string{}, false},
	} {
		if got := holdsDecimal(reflect.TypeOf(tc.v)); got != tc.want {
			t.Errorf("holdsDecimal(%T) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
