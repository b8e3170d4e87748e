package ensemble_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

// laughs returns a "billion laughs" document: an anchored scalar of width
// bytes, then levels anchors each listing the previous one fan times, so
// that the last expands to fan^levels copies of the scalar.
func laughs(width, fan, levels int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 \"" + strings.Repeat("x", width) + "\"\n")
	for i := 1; i <= levels; i++ {
		prev := "*l" + strconv.Itoa(i-1)
		refs := strings.TrimSuffix(strings.Repeat(prev+", ", fan), ", ")
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, refs)
	}
	return b.String()
}

// aliasedScalar returns a document whose one scalar, of width bytes, is
// aliased refs times, padded with a comment so that the document is size
// bytes long (when size is large enough), and the bytes of JSON its
// aliases expand to.
func aliasedScalar(width, refs, size int) (string, int) {
	doc := "a: &s \"" + strings.Repeat("x", width) + "\"\nb: [" + strings.TrimSuffix(strings.Repeat("*s,", refs), ",") + "]\n"
	if pad := size - len(doc) - 2; pad >= 0 {
		doc += "#" + strings.Repeat("p", pad) + "\n"
	}
	return doc, refs * (width + 2)
}

func TestYAMLAliasExpansion(t *testing.T) {
	// The aliases of the boundary documents expand to exactly the limit
	// (the document's size plus MaxYAMLAliasBytes), or one byte beyond.
	const width, refs = 1100, 1024
	expands := refs * (width + 2)
	atLimit, _ := aliasedScalar(width, refs, expands-ensemble.MaxYAMLAliasBytes)
	overLimit, _ := aliasedScalar(width, refs, expands-ensemble.MaxYAMLAliasBytes-1)
	require.Len(t, atLimit, expands-ensemble.MaxYAMLAliasBytes)
	tests := []struct {
		name, doc string
		refused   bool
	}{
		{"small aliases expand", "a: &x {b: [1, 2]}\nc: *x\nd: [*x, *x]\n", false},
		{"aliases at the limit", atLimit, false},
		{"aliases one byte over the limit", overLimit, true},
		{"billion laughs", laughs(3, 10, 9), true},
		{"wide scalar bomb of 513 MiB", laughs(512, 2, 20), true},
		{"deep bomb of tiny nodes", laughs(0, 2, 40), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ensemble.YAMLToJSON([]byte(tt.doc))
			if !tt.refused {
				require.NoError(t, err)
				require.True(t, json.Valid(got))
				return
			}
			require.Nil(t, got)
			require.ErrorIs(t, err, ensemble.ErrDecode)
			require.ErrorIs(t, err, ensemble.ErrYAMLAliasExpansion)
			var de *ensemble.DecodeError
			require.ErrorAs(t, err, &de)
			require.Positive(t, de.Line, "the error names the alias's line")
		})
	}
}

// TestYAMLAliasesMatchInlined checks, on random documents of anchors and
// aliases, that converting a document gives the JSON of the same document
// with every alias replaced by the text of its anchor (the plain
// reference: no alias left to expand).
func TestYAMLAliasesMatchInlined(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "anchors")
		var aliased, inlined strings.Builder
		texts := make([]string, 0, n)
		for i := range n {
			k := rapid.IntRange(1, 4).Draw(t, fmt.Sprintf("items%d", i))
			var a, p []string
			for j := range k {
				if i > 0 && rapid.Bool().Draw(t, fmt.Sprintf("alias%d_%d", i, j)) {
					r := rapid.IntRange(0, i-1).Draw(t, fmt.Sprintf("ref%d_%d", i, j))
					a = append(a, "*v"+strconv.Itoa(r))
					p = append(p, texts[r])
					continue
				}
				s := rapid.SampledFrom([]string{"1", "2.50", "x", `"a b"`, "null", "true", "{}", "[]", "{k: v}"}).Draw(t, fmt.Sprintf("scalar%d_%d", i, j))
				a, p = append(a, s), append(p, s)
			}
			texts = append(texts, "["+strings.Join(p, ", ")+"]")
			fmt.Fprintf(&aliased, "v%d: &v%d [%s]\n", i, i, strings.Join(a, ", "))
			fmt.Fprintf(&inlined, "v%d: %s\n", i, texts[i])
		}
		got, err := ensemble.YAMLToJSON([]byte(aliased.String()))
		require.NoError(t, err, aliased.String())
		want, err := ensemble.YAMLToJSON([]byte(inlined.String()))
		require.NoError(t, err, inlined.String())
		require.Equal(t, string(want), string(got))
	})
}

// BenchmarkYAMLToJSON converts documents of n list items: the time per
// item stays flat from 10^4 to 10^6 items.
func BenchmarkYAMLToJSON(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		var doc strings.Builder
		for i := range n {
			doc.WriteString("- " + strconv.Itoa(100000+i) + "\n")
		}
		data := []byte(doc.String())
		b.Run("items="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ensemble.YAMLToJSON(data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
		})
	}
}

// BenchmarkYAMLAliasBomb converts documents of a few hundred bytes whose
// aliases nominally expand to 10^4, 10^5 and 10^6 copies of a 62-byte
// scalar (0.6 MB, 6.4 MB and 64 MB of JSON): the first converts, the
// others are refused once MaxYAMLAliasBytes are written, in the same time.
func BenchmarkYAMLAliasBomb(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		// fan^levels = n with fan 10.
		levels := len(strconv.Itoa(n)) - 1
		data := []byte(laughs(60, 10, levels))
		b.Run("copies="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, err := ensemble.YAMLToJSON(data)
				if refused := err != nil; refused != (n*62 > ensemble.MaxYAMLAliasBytes) {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestYAMLErrorPositions names each class of YAML the converter refuses,
// with the line and column (in bytes) its *DecodeError gives. Column 0 is
// the YAML parser's own syntax errors, which name a line only.
func TestYAMLErrorPositions(t *testing.T) {
	tooBig := "a: 1\n" + strings.Repeat("x", ensemble.MaxDocumentBytes)
	tests := []struct {
		class, name, doc string
		line, col        int
		want             string // a fragment of the message
	}{
		{"size", "over MaxDocumentBytes, at the first byte beyond", tooBig, 2, ensemble.MaxDocumentBytes - 4, "exceeds"},
		{"size", "over MaxDocumentBytes, inside a CRLF", strings.Repeat("x", ensemble.MaxDocumentBytes-1) + "\r\nx", 1, ensemble.MaxDocumentBytes + 1, "exceeds"},

		{"encoding", "empty", "", 1, 1, "empty document"},
		{"encoding", "blank", " \n\t\n", 1, 1, "empty document"},
		{"encoding", "comments only", "# nothing\n# here\n", 1, 1, "comments only"},
		{"encoding", "utf8 bom", "\xEF\xBB\xBFa: 1", 1, 1, "UTF-8 byte-order mark"},
		{"encoding", "utf16 bom", "\xFF\xFEa\x00:\x00 \x001\x00", 1, 1, "UTF-16 byte-order mark"},
		{"encoding", "invalid utf8", "a: 1\nb: caf\xE9\n", 2, 7, "invalid UTF-8"},
		{"encoding", "nul", "a: 1\nb: x\x00y\n", 2, 5, "control character U+0000"},
		{"encoding", "c0 control", "a: 1\nb: x\x01y\n", 2, 5, "control character U+0001"},
		{"encoding", "del", "a: x\x7F\n", 1, 5, "control character U+007F"},
		{"encoding", "c1 control", "a: é\xC2\x80\n", 1, 6, "control character U+0080"},
		{"encoding", "noncharacter", "a: \xEF\xBF\xBF\n", 1, 4, "control character U+FFFF"},

		{"keys", "duplicate", "a: 1\nb:\n  c: 1\n  c: 2\n", 4, 3, `duplicate key "c"`},
		{"keys", "duplicate in flow", "{a: 1, a: 2}", 1, 8, `duplicate key "a"`},
		{"keys", "plain int", "a: 1\n1: x\n", 2, 1, `mapping key "1" is not a string (it reads as !!int)`},
		{"keys", "explicit int", "a: 1\n? 1\n: x\n", 2, 3, "reads as !!int"},
		{"keys", "octal-looking int", "010: x\n", 1, 1, "reads as !!int"},
		{"keys", "bool", "true: x\n", 1, 1, "reads as !!bool"},
		{"keys", "null", "~: x\n", 1, 1, "reads as !!null"},
		{"keys", "empty", "? \n: x\n", 1, 2, "reads as !!null"},
		{"keys", "float", "a:\n  1.5: x\n", 2, 3, "reads as !!float"},
		{"keys", "timestamp", "2026-01-01: x\n", 1, 1, "reads as !!timestamp"},
		{"keys", "custom tag", "!foo k: v\n", 1, 1, "reads as !foo"},
		{"keys", "sequence", "? [1]\n: 2\n", 1, 3, "mapping key is a sequence"},
		{"keys", "mapping", "{a: 1}: 2\n", 1, 1, "mapping key is a mapping"},
		{"keys", "alias", "a: &k b\n*k : 1\n", 2, 1, "is an alias"},
		{"keys", "non-ascii line", "é: 1\nü: 2\nü: 3\n", 3, 1, `duplicate key "ü"`},

		{"merge", "merge key", "a: &x {b: 1}\nc:\n  <<: *x\n", 3, 3, "merge keys"},

		{"values", "hex", "a: 1\nb: 0x1F\n", 2, 4, "not plain decimal notation"},
		{"values", "column in bytes", "é: [1, 0x1F]\n", 1, 9, `number "0x1F"`},
		{"values", "lines ended by CR", "a: 1\rb: .inf\r", 2, 4, `number ".inf"`},
		{"values", "lines ended by NEL", "a: 1\xC2\x85b: 1_000\n", 2, 4, `number "1_000"`},
		{"values", "unsupported tag", "a: !!binary eA==\n", 1, 4, "unsupported tag !!binary"},
		{"values", "nesting", strings.Repeat("[", 250) + strings.Repeat("]", 250), 1, 201, "nesting deeper than 200"},

		{"aliases", "unknown anchor", "a: 1\nb: *nope\n", 2, 4, "unknown anchor 'nope'"},
		{"aliases", "unknown anchor among look-alikes", "# *nope\na: '*nope'\nb: |\n  *nope\nc: x *nope\nd: \"*nope\"\ne: [1, *nope]\nf: *nope\n", 7, 8, "unknown anchor 'nope'"},
		{"aliases", "anchor used before it is set", "a: *x\nb: &x 1\nc: *x\n", 1, 4, "unknown anchor 'x'"},
		{"aliases", "longer name first", "a: *nopes\nb: *nope\n", 1, 4, "unknown anchor 'nopes'"},
		{"aliases", "expansion", "a: &s '" + strings.Repeat("x", 1<<20) + "'\nb: [*s, *s, *s]\n", 2, 13, "aliases expand"},

		{"documents", "second document", "a: 1\n---\nb: 2\n", 2, 1, "more than one document"},
		{"documents", "content after the end marker", "a: 1\n...\nb: 2\n", 3, 0, "did not find expected <document start>"},
		{"documents", "second flow document", `{"id":"x"} {"id":"y"}`, 1, 0, "did not find expected <document start>"},

		{"syntax", "scanner, first line", "a: b: c\n", 1, 0, "mapping values are not allowed"},
		{"syntax", "scanner, later line", "a: 1\nb: c: d\n", 2, 0, "mapping values are not allowed"},
		{"syntax", "scanner, tab indent", "a: 1\n\tb: 2\n", 2, 0, "tab character"},
		{"syntax", "scanner, unknown escape", "a: 1\nb: \"\\q\"\n", 2, 0, "unknown escape"},
		{"syntax", "scanner, unterminated quote", "a: 'x\n", 2, 0, "unexpected end of stream"},
		{"syntax", "scanner, reserved indicator", "a: 1\nb: @x\n", 2, 0, "cannot start any token"},
		{"syntax", "parser, first line", "]\n", 1, 0, "did not find expected node content"},
		{"syntax", "parser, sequence after mapping", "a: 1\n- b\n", 2, 0, "did not find expected key"},
		{"syntax", "parser, bad indent", "a:\n  b: 1\n c: 2\n", 3, 0, "did not find expected key"},
		{"syntax", "parser, complex keys", "? a\n? b\n: c\n: d\n", 4, 0, "did not find expected key"},
		{"syntax", "parser, duplicate directive", "%YAML 1.1\n%YAML 1.1\n---\na: 1\n", 2, 0, "duplicate %YAML directive"},
	}
	for _, tt := range tests {
		t.Run(tt.class+"/"+tt.name, func(t *testing.T) {
			got, err := ensemble.YAMLToJSON([]byte(tt.doc))
			require.Nil(t, got)
			require.ErrorIs(t, err, ensemble.ErrDecode)
			var de *ensemble.DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, "yaml", de.Subject)
			require.Contains(t, de.Msg, tt.want)
			require.Equal(t, tt.line, de.Line, "line: %v", err)
			require.Equal(t, tt.col, de.Column, "column: %v", err)
			if de.Column > 0 {
				// The offset is the byte the line and column name.
				lineStart := int(de.Offset) - (de.Column - 1)
				require.GreaterOrEqual(t, lineStart, 0)
				require.LessOrEqual(t, int(de.Offset), len(tt.doc))
			} else {
				require.Equal(t, int64(-1), de.Offset)
				require.Contains(t, err.Error(), "yaml: decode line "+strconv.Itoa(tt.line)+": ")
			}
		})
	}
}

// TestYAMLKeysAreStrings: a mapping key is a string when YAML reads it as
// one (quoted, tagged !!str, or plain text that is no number, boolean,
// null or timestamp); anything else is refused (see TestYAMLErrorPositions).
func TestYAMLKeysAreStrings(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"plain", "a: 1\n", `{"a":1}`},
		{"quoted number", "'1': x\n\"2\": y\n", `{"1":"x","2":"y"}`},
		{"tagged number", "!!str 1: x\n", `{"1":"x"}`},
		{"quoted bool and null", "'true': x\n'~': y\n'null': z\n", `{"true":"x","~":"y","null":"z"}`},
		{"quoted date", "'2026-01-01': x\n", `{"2026-01-01":"x"}`},
		{"quoted merge", "'<<': x\n", `{"\u003c\u003c":"x"}`},
		{"plain text that looks numeric", "1a: x\nv1: y\n", `{"1a":"x","v1":"y"}`},
		{"explicit key", "? a\n: 1\n", `{"a":1}`},
		{"json keys", `{"a": {"b": 1}}`, `{"a":{"b":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ensemble.YAMLToJSON([]byte(tt.doc))
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}

// TestYAMLUnknownAnchorPlaced checks, on random documents of look-alike
// text and aliases of an anchor never set, that the error names the line
// and column of the first alias, whatever text before it spells the alias
// (comments, quoted, plain and block scalars, aliases of longer names).
func TestYAMLUnknownAnchorPlaced(t *testing.T) {
	lookAlikes := []string{"# *ghost", "'*ghost'", "\"a *ghost b\"", "x *ghost", "*ghosts", "[1, *ghosted]", "|\n  *ghost", "&ghost-x 3"}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(t, "lines")
		var doc strings.Builder
		doc.WriteString("start: [&ghosts 1, &ghosted 2]\n")
		line, wantLine, wantCol := 2, 0, 0
		for i := range n {
			key := "k" + strconv.Itoa(i) + ": "
			if rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("alias%d", i)) == 0 {
				value := rapid.SampledFrom([]string{"*ghost", "[1, *ghost]", "{a: *ghost}"}).Draw(t, fmt.Sprintf("form%d", i))
				if wantLine == 0 {
					wantLine, wantCol = line, len(key)+strings.Index(value, "*")+1
				}
				doc.WriteString(key + value + "\n")
				line++
				continue
			}
			value := rapid.SampledFrom(lookAlikes).Draw(t, fmt.Sprintf("text%d", i))
			if strings.HasPrefix(value, "#") {
				key = ""
			}
			doc.WriteString(key + value + "\n")
			line += 1 + strings.Count(value, "\n")
		}
		_, err := ensemble.YAMLToJSON([]byte(doc.String()))
		if wantLine == 0 {
			require.NoError(t, err, doc.String())
			return
		}
		var de *ensemble.DecodeError
		require.ErrorAs(t, err, &de, doc.String())
		require.Contains(t, de.Msg, "unknown anchor 'ghost'")
		require.Equal(t, wantLine, de.Line, doc.String())
		require.Equal(t, wantCol, de.Column, doc.String())
	})
}
