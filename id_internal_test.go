package ensemble

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestPropertyPlainIDAgreesWithCheckID checks the ASCII fast path of
// CheckID against its general check: every id the fast path accepts the
// general check accepts, and CheckID answers as the general check does,
// for ids of printable ASCII, separators, white space, control characters
// and other runes; CheckLineID likewise, around its own length limit.
func TestPropertyPlainIDAgreesWithCheckID(t *testing.T) {
	chars := rapid.OneOf(rapid.Int32Range(' ', '~'), rapid.SampledFrom([]rune("/@:#\t\n\x00\x7f\u0085\u00a0é€ ")), rapid.Rune())
	rapid.Check(t, func(t *rapid.T) {
		line := rapid.Bool().Draw(t, "line id")
		limit := MaxIDBytes
		if line {
			limit = MaxLineIDBytes
		}
		id := string(rapid.SliceOfN(chars, 0, 12).Draw(t, "id"))
		if rapid.Bool().Draw(t, "long") {
			id += strings.Repeat("a", max(0, limit-len(id)+rapid.IntRange(-1, 1).Draw(t, "around the limit")))
		}
		seps := rapid.SampledFrom([]string{"", EntrySeparators, RefSeparators, "/", "é"}).Draw(t, "separators")
		if line {
			seps = EntrySeparators
		}
		want := checkID(id, seps, limit)
		if plainID(id, seps, limit) {
			require.NoError(t, want, "the fast path accepted %q", id)
		}
		got := CheckID(id, seps)
		if line {
			got = CheckLineID(id)
		}
		if want == nil {
			require.NoError(t, got)
		} else {
			require.EqualError(t, got, want.Error())
		}
	})
}
