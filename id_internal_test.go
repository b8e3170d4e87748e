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
// and other runes.
func TestPropertyPlainIDAgreesWithCheckID(t *testing.T) {
	chars := rapid.OneOf(rapid.Int32Range(' ', '~'), rapid.SampledFrom([]rune("/@:#\t\n\x00\x7f\u0085\u00a0é€ ")), rapid.Rune())
	rapid.Check(t, func(t *rapid.T) {
		id := string(rapid.SliceOfN(chars, 0, 12).Draw(t, "id"))
		if rapid.Bool().Draw(t, "long") {
			id += strings.Repeat("a", max(0, MaxIDBytes-len(id)+rapid.IntRange(-1, 1).Draw(t, "around the limit")))
		}
		seps := rapid.SampledFrom([]string{"", EntrySeparators, RefSeparators, "/", "é"}).Draw(t, "separators")
		want := checkID(id, seps)
		if plainID(id, seps) {
			require.NoError(t, want, "the fast path accepted %q", id)
		}
		got := CheckID(id, seps)
		if want == nil {
			require.NoError(t, got)
		} else {
			require.EqualError(t, got, want.Error())
		}
	})
}
