package ensemble_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

// selfDecoding decodes its own bytes with a decoder of its own, as a plan's
// node and share do: encoding/json's type errors inside it count their
// offset from its bytes, not the document's.
type selfDecoding struct {
	Rule string           `json:"rule"`
	Cap  ensemble.Money   `json:"cap"`
	Ns   []int            `json:"ns"`
	Sub  *selfDecodingSub `json:"sub"`
}

type selfDecodingSub struct {
	Days int `json:"days"`
}

func (s *selfDecoding) UnmarshalJSON(b []byte) error {
	type plain selfDecoding
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var p plain
	if err := d.Decode(&p); err != nil {
		return err
	}
	*s = selfDecoding(p)
	return nil
}

type nestedDoc struct {
	ID    string         `json:"id"`
	Limit ensemble.Money `json:"limit"`
	Items []struct {
		Name  string       `json:"name"`
		Share selfDecoding `json:"share"`
	} `json:"items"`
}

// TestDecodeJSONPlacesTypeErrorsInsideSelfDecodingValues: a value of the
// wrong JSON type inside a value that decodes itself (a money written as a
// string, a number where a string belongs inside a plan's share) is
// reported where it is, not at the place its offset would have in the
// document (a trial's plan put `share: {amount: "2500.00", currency: USD}`
// at "[0].id", line 1, column 7).
func TestDecodeJSONPlacesTypeErrorsInsideSelfDecodingValues(t *testing.T) {
	const head = "{\n  \"id\": \"fx\",\n  \"limit\": {\"amount\": \"1.00\", \"currency\": \"EUR\"},\n  \"items\": [\n    {\"name\": \"a\", \"share\": {\"rule\": \"r\"}},\n"
	for _, tc := range []struct {
		name, item, path string
		column           int
	}{
		{"number where a string belongs", `{"rule": 5}`, "items[1].share.rule", 37},
		{"money written as a string", `{"cap": "2500.00"}`, "items[1].share.cap", 36},
		{"currency written as a number", `{"cap": {"amount": "5", "currency": 5}}`, "items[1].share.cap.currency", 64},
		{"object where a string belongs", `{"rule": {"a": 1}}`, "items[1].share.rule", 37},
		{"string in a list of numbers", `{"ns": [1, "x"]}`, "items[1].share.ns[1]", 39},
		{"string inside a nested struct", `{"sub": {"days": "x"}}`, "items[1].share.sub.days", 45},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := head + "    {\"name\": \"b\", \"share\": " + tc.item + "}\n  ]\n}"
			var v nestedDoc
			err := ensemble.DecodeJSON("doc", []byte(doc), &v)
			var de *ensemble.DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, tc.path, de.Path, "%v", err)
			require.Equal(t, 6, de.Line, "%v", err)
			require.Equal(t, tc.column, de.Column, "%v", err)
		})
	}
	// A type error of the document's own decoder stays where it was.
	var v nestedDoc
	err := ensemble.DecodeJSON("doc", []byte("{\"id\": 5}"), &v)
	var de *ensemble.DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, "id", de.Path)
	require.Equal(t, 1, de.Line)
	require.Equal(t, 8, de.Column)
}

// TestPropertyTypeErrorsInsideSelfDecodingValuesArePlaced: whatever the
// other values (names and rules of any length, money amounts spelled like
// the bad one), a value of the wrong type inside a self-decoding share is
// reported at its own path.
func TestPropertyTypeErrorsInsideSelfDecodingValuesArePlaced(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "items")
		bad := rapid.IntRange(0, n-1).Draw(t, "bad")
		how := rapid.SampledFrom([]string{"rule", "cap", "currency", "days", "ns"}).Draw(t, "how")
		word := rapid.StringMatching(`[a-z0-9.]{0,9}`)
		var b strings.Builder
		fmt.Fprintf(&b, `{"id": %q, "items": [`, word.Draw(t, "id"))
		want, spelled := "", ""
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			name, rule, amount := word.Draw(t, "name"), word.Draw(t, "rule"), word.Draw(t, "amount")
			share := fmt.Sprintf(`{"rule": %q, "ns": [1, 2]}`, rule)
			if i == bad {
				switch how {
				case "rule":
					share, want = `{"rule": 7}`, fmt.Sprintf("items[%d].share.rule", i)
				case "cap":
					share, want = fmt.Sprintf(`{"rule": %q, "cap": %q}`, rule, amount), fmt.Sprintf("items[%d].share.cap", i)
					spelled = fmt.Sprintf("%q", amount)
				case "currency":
					share, want = `{"cap": {"amount": "1", "currency": 9}}`, fmt.Sprintf("items[%d].share.cap.currency", i)
				case "days":
					share, want = fmt.Sprintf(`{"sub": {"days": %q}}`, amount), fmt.Sprintf("items[%d].share.sub.days", i)
				case "ns":
					share, want = fmt.Sprintf(`{"ns": [1, %q]}`, amount), fmt.Sprintf("items[%d].share.ns[1]", i)
				}
			}
			fmt.Fprintf(&b, `{"name": %q, "share": %s}`, name, share)
		}
		b.WriteString("]}")
		var v nestedDoc
		err := ensemble.DecodeJSON("doc", []byte(b.String()), &v)
		var de *ensemble.DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("%s: want a *DecodeError, got %v", b.String(), err)
		}
		if de.Path == want {
			return
		}
		// Only a money whose decoder wraps the error, spelled like another
		// value, may go unplaced; never placed elsewhere.
		if de.Path != "" || de.Line != 0 || how != "cap" || strings.Count(b.String(), spelled) < 2 {
			t.Fatalf("%s: placed at %q (%v), want %q", b.String(), de.Path, err, want)
		}
	})
}
