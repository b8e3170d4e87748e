package settlement

import (
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
)

// TestReserveReleaseKeptPerDay checks the release dates and notes the
// decider keeps per reserve leaf and day against working them out for
// every line (at.AddDate, the release's date in UTC): for lines of a few
// days at any time of day, in UTC and other zones, through more leaves
// than it keeps, the same instant in the same representation (so entries
// encode alike) and the same note.
func TestReserveReleaseKeptPerDay(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("UTC+14", 14*3600), time.FixedZone("UTC-9:30", -(9*3600 + 1800))}
	rapid.Check(t, func(t *rapid.T) {
		leaves := make([]*cnode, rapid.IntRange(1, 6).Draw(t, "leaves"))
		for i := range leaves {
			ratio := ensemble.RatioFromRat(big.NewRat(int64(rapid.IntRange(1, 3).Draw(t, "percent")), 100))
			leaves[i] = &cnode{reserve: &Reserve{Ratio: ratio, Days: rapid.IntRange(0, 36600).Draw(t, "days")}, reserveText: "reserve " + ratio.Percent() + " until "}
		}
		d := &decider{s: &Settler{reference: rapid.Bool().Draw(t, "reference")}}
		start := time.Date(rapid.IntRange(1970, 2100).Draw(t, "year"), time.Month(rapid.IntRange(1, 12).Draw(t, "month")), rapid.IntRange(1, 31).Draw(t, "day"), 0, 0, 0, 0, time.UTC)
		for range rapid.IntRange(1, 40).Draw(t, "lines") {
			n := leaves[rapid.IntRange(0, len(leaves)-1).Draw(t, "leaf")]
			at := start.Add(time.Duration(rapid.Int64Range(-86400*2, 86400*3).Draw(t, "second"))*time.Second +
				time.Duration(rapid.Int64Range(0, 999_999_999).Draw(t, "nanosecond")))
			if z := rapid.IntRange(0, 5).Draw(t, "zone"); z < len(zones) {
				at = at.In(zones[z])
			}
			release, note := d.reserveRelease(n, at)
			want := at.AddDate(0, 0, n.reserve.Days)
			require.True(t, release.Equal(want), "release of %s after %d days: %s, want %s", at, n.reserve.Days, release, want)
			// The same representation too (zone, no monotonic reading), so
			// that entries encode and compare alike.
			require.True(t, release == want, "release of %s: %#v, want %#v", at, release, want)
			require.Equal(t, n.reserveText+want.UTC().Format(time.DateOnly), note)
		}
	})
}
