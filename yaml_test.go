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
