package main

import (
	"bytes"
	"encoding/json"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// DecodeLine decodes one line of the month's input (a JSON
// settlement.Line) as strictly as ensemble.DecodeJSON, at about the cost of
// encoding/json for the lines hosts write.
//
// ensemble.DecodeJSON checks a document's keys in one pass (CheckJSON),
// then, for a type that can hold a decimal.Decimal (a Line can: its
// Quantity), walks it token by token to check each decimal's spelling, then
// decodes it. The walk is four fifths of its cost on a line: it reads with
// encoding/json's Decoder.Token, which allocates for every token and, at the
// end of every string or number, builds and discards a SyntaxError ("after
// top-level value"), and it looks each object's fields up by reflection. A
// line of about 300 bytes costs 5 to 7 times json.Unmarshal, 3 to 4 times
// DecodeLine (BenchmarkDecodeLine).
//
// A line spelled exactly as json.Marshal writes a settlement.Line (as
// writeLines writes them) needs none of those checks: re-encoding what
// encoding/json decoded gives the same bytes back only if no key appears
// twice or in another case, no field is unknown, every decimal is spelled
// as it is written back (never "1e1" or a JSON number) and nothing follows
// the value. DecodeLine accepts such a line after that comparison, and
// hands any other line to ensemble.DecodeJSON, which accepts it or says
// what is wrong and where (TestDecodeLineIsStrict).
func DecodeLine(text []byte) (settlement.Line, error) {
	var l settlement.Line
	if json.Unmarshal(text, &l) == nil {
		if again, err := json.Marshal(l); err == nil && bytes.Equal(again, text) {
			return l, nil
		}
	}
	l = settlement.Line{}
	err := ensemble.DecodeJSON("settlement line", text, &l)
	return l, err
}
