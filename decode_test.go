package ensemble_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
)

type decodeDoc struct {
	Name  string         `json:"name"`
	Price ensemble.Money `json:"price"`
	Tags  []decodeTag    `json:"tags,omitempty"`
}

type decodeTag struct {
	ID    string `json:"id"`
	Count int    `json:"count"`
}

// TestStrictJSON names each class of malformed input the strict decoder
// refuses, with where it says the problem is.
func TestStrictJSON(t *testing.T) {
	tests := []struct {
		name       string
		doc        string
		line, col  int
		path, want string // want: a fragment of the message
	}{
		{"empty", "", 1, 1, "", "empty document"},
		{"blank", " \n\t ", 1, 1, "", "empty document"},
		{"utf8 bom", "\xEF\xBB\xBF{}", 1, 1, "", "UTF-8 byte-order mark"},
		{"utf16 le bom", "\xFF\xFE{\x00}\x00", 1, 1, "", "UTF-16 byte-order mark"},
		{"utf16 be bom", "\xFE\xFF\x00{\x00}", 1, 1, "", "UTF-16 byte-order mark"},
		{"utf32 le bom", "\xFF\xFE\x00\x00{\x00\x00\x00", 1, 1, "", "UTF-32 byte-order mark"},
		{"invalid utf8", "{\"name\": \"caf\xE9\"}", 1, 14, "", "invalid UTF-8"},
		{"trailing garbage", `{"name":"a"} x`, 1, 14, "", "data after the document"},
		{"second value", "{\"name\":\"a\"}\n{\"name\":\"b\"}", 2, 1, "", "data after the document"},
		{"duplicate key", `{"name":"a","name":"b"}`, 1, 13, "name", `key "name" appears twice`},
		{"case-variant key", "{\n  \"price\": {\"amount\": \"1.00\", \"currency\": \"EUR\"},\n  \"Price\": {\"amount\": \"900.00\", \"currency\": \"EUR\"}\n}", 3, 3, "Price", `key "Price" appears twice`},
		{"long s folds to s", `{"tags":[],"tagſ":[]}`, 1, 12, "tagſ", `appears twice`},
		{"nested duplicate", `{"tags":[{"id":"a"},{"id":"b","ID":"c"}]}`, 1, 31, "tags[1].ID", `key "ID" appears twice`},
		{"syntax error", "{\n\"name\": \"a\",,\n}", 2, 13, "", "invalid character"},
		{"unterminated", `{"name":"a"`, 1, 12, "", "unexpected end"},
		{"unknown field", "{\n  \"nmae\": \"a\"\n}", 2, 3, "", `unknown field "nmae"`},
		{"wrong type", `{"tags":[{"id":"a","count":"3"}]}`, 1, 28, "tags[0].count", "string where int belongs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v decodeDoc
			err := ensemble.DecodeJSON("doc", []byte(tt.doc), &v)
			require.ErrorIs(t, err, ensemble.ErrDecode)
			var de *ensemble.DecodeError
			require.ErrorAs(t, err, &de)
			require.Contains(t, de.Msg, tt.want)
			require.Equal(t, tt.line, de.Line, "line")
			require.Equal(t, tt.col, de.Column, "column")
			require.Equal(t, tt.path, de.Path)
			require.True(t, strings.HasPrefix(err.Error(), "doc: decode"), err.Error())
		})
	}
}

func TestStrictJSONValueErrors(t *testing.T) {
	var v decodeDoc
	err := ensemble.DecodeJSON("doc", []byte(`{"price":{"amount":"1.00","currency":"XAU"}}`), &v)
	require.ErrorIs(t, err, ensemble.ErrDecode)
	require.ErrorIs(t, err, ensemble.ErrUndeclaredUnit, "the value's own error is kept")

	big := make([]byte, ensemble.MaxDocumentBytes+1)
	err = ensemble.DecodeDocument("doc", big, &v)
	require.ErrorContains(t, err, "exceeds")
}

func TestStrictJSONAccepts(t *testing.T) {
	doc := `{"name":"a","price":{"amount":"12.30","currency":"EUR"},"tags":[{"id":"x","count":2},{"id":"y","count":3}]}`
	var v decodeDoc
	require.NoError(t, ensemble.DecodeJSON("doc", []byte(doc), &v))
	require.Equal(t, "EUR 12.30", v.Price.String())
	require.Len(t, v.Tags, 2)
	// Same key names in sibling objects are fine.
	require.NoError(t, ensemble.CheckJSON("doc", []byte(`[{"id":1},{"id":2},{"a":{"id":3}}]`)))
}

// FuzzDecodeJSON: the strict decoder never panics, every refusal is a
// *DecodeError, and what it accepts encodes and decodes back to the same
// value.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","price":{"amount":"12.30","currency":"EUR"},"tags":[{"id":"x","count":2}]}`,
		`{"name":"a","Name":"b"}`, `{"price":{"amount":"1","amount":"2","currency":"EUR"}}`,
		"\xEF\xBB\xBF{}", `{} {}`, `[`, `{"tags":[{"id":"x","count":1e3}]}`, `null`,
		`{"price":{"amount":"70","currency":"GEMS:0"}}`, `{"tags":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v decodeDoc
		err := ensemble.DecodeJSON("doc", data, &v)
		if err != nil {
			var de *ensemble.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back decodeDoc
		if err := ensemble.DecodeJSON("doc", js, &back); err != nil {
			t.Fatalf("%s does not decode back: %v", js, err)
		}
		if d := cmp.Diff(v, back, cmpopts.EquateEmpty()); d != "" { // "tags":[] writes back as no tags
			t.Fatalf("round trip: %s", d)
		}
	})
}

func TestMoneyJSONRefusesSmuggledKeys(t *testing.T) {
	for _, doc := range []string{
		`{"amount":"1.00","currency":"EUR","amount":"900.00"}`,
		`{"amount":"1.00","Amount":"900.00","currency":"EUR"}`,
		`{"amount":"1.00","currency":"EUR","CURRENCY":"USD"}`,
		`{"amount":"1.00","currency":"EUR","bogus":"x"}`,
	} {
		var m ensemble.Money
		err := json.Unmarshal([]byte(doc), &m)
		require.ErrorIs(t, err, ensemble.ErrDecode, doc)
	}
}

func TestStrictJSONUnicodeFolding(t *testing.T) {
	// encoding/json matches "\u212aind" (Kelvin sign) and "kind" to one
	// field, and "expreſſion" (long s) and "expression".
	for _, doc := range []string{"{\"kind\":1,\"\u212aind\":2}", `{"expression":"a","expreſſion":"b"}`} {
		require.ErrorIs(t, ensemble.CheckJSON("doc", []byte(doc)), ensemble.ErrDecode, doc)
	}
}

func TestStrictJSONBounds(t *testing.T) {
	deep := strings.Repeat("[", 10001)
	err := ensemble.CheckJSON("doc", []byte(deep))
	require.ErrorContains(t, err, "nested more than 10000 deep")
	require.NoError(t, ensemble.CheckJSON("doc", []byte(strings.Repeat("[", 100)+strings.Repeat("]", 100))))

	var v decodeDoc
	require.ErrorContains(t, ensemble.DecodeDocument("doc", []byte(" null "), &v), "null document")
	require.ErrorIs(t, ensemble.CheckDocument("doc", []byte("null")), ensemble.ErrDecode)
}

// TestStrictJSONValueErrorsArePlaced: a value that refuses its own text is
// reported at its line, column and path.
func TestStrictJSONValueErrorsArePlaced(t *testing.T) {
	var v decodeDoc
	doc := "{\n  \"tags\": [{\"id\": \"a\"}],\n  \"price\": {\"amount\": \"1.00\", \"currency\": \"EURO\"}\n}"
	err := ensemble.DecodeJSON("doc", []byte(doc), &v)
	var de *ensemble.DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, 3, de.Line)
	require.Equal(t, 43, de.Column)
	require.Equal(t, "price.currency", de.Path)
}
