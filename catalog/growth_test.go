package catalog_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// problemsOf returns the *catalog.OfferError problems of err wrapping cond.
func problemsOf(t require.TestingT, err error, cond error) []*catalog.OfferError {
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var out []*catalog.OfferError
	for _, p := range ve.Problems {
		var oe *catalog.OfferError
		if errors.As(p.Err, &oe) && errors.Is(oe, cond) {
			out = append(out, oe)
		}
	}
	return out
}

// overlapsPlain is the plain reference: whether the effective periods of
// two valid versions intersect, compared pairwise.
func overlapsPlain(a, b catalog.Offer) bool {
	before := func(x, end time.Time) bool { return end.IsZero() || x.Before(end) }
	return before(a.EffectiveFrom, b.EffectiveUntil) && before(b.EffectiveFrom, a.EffectiveUntil)
}

// TestPropertyOverlapsAgainstPairs draws versions of two offers over a few
// days and checks the sweep's ErrOverlap report against every pair
// compared: each reported pair overlaps, every version that overlaps
// another is named in a reported pair, fewer pairs than versions are
// reported, and when no version overlaps two others the report is exactly
// the pairs.
func TestPropertyOverlapsAgainstPairs(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, 1+d, 0, 0, 0, 0, time.UTC) }
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(t, "versions")
		doc := catalog.Document{}
		next := map[catalog.OfferID]int{}
		for k := range n {
			id := catalog.OfferID(rapid.SampledFrom([]string{"a", "b"}).Draw(t, "id"+strconv.Itoa(k)))
			next[id]++
			from := rapid.IntRange(0, 8).Draw(t, "from"+strconv.Itoa(k))
			o := catalog.Offer{ID: id, Version: next[id], Currency: "EUR", EffectiveFrom: day(from)}
			if length := rapid.IntRange(0, 4).Draw(t, "length"+strconv.Itoa(k)); length > 0 {
				o.EffectiveUntil = day(from + length)
			}
			doc.Offers = append(doc.Offers, o)
		}
		type pair struct {
			id     catalog.OfferID
			lo, hi int // versions
		}
		want := map[pair]bool{}
		overlapping := map[string]bool{}
		degree := map[string]int{}
		for i, a := range doc.Offers {
			for _, b := range doc.Offers[:i] {
				if a.ID == b.ID && overlapsPlain(a, b) {
					want[pair{a.ID, b.Version, a.Version}] = true
					for _, v := range []catalog.Offer{a, b} {
						key := string(v.ID) + "@" + strconv.Itoa(v.Version)
						overlapping[key] = true
						degree[key]++
					}
				}
			}
		}
		_, err := catalog.New(doc)
		if len(want) == 0 {
			require.NoError(t, err)
			return
		}
		got := map[pair]bool{}
		named := map[string]bool{}
		for _, oe := range problemsOf(t, err, catalog.ErrOverlap) {
			var lo, hi int
			_, scanErr := fmt.Sscanf(oe.Value, "versions %d and %d", &lo, &hi)
			require.NoError(t, scanErr)
			p := pair{oe.Offer, min(lo, hi), max(lo, hi)}
			require.True(t, want[p], "reported pair %v does not overlap", p)
			require.False(t, got[p], "pair %v reported twice", p)
			got[p] = true
			named[string(p.id)+"@"+strconv.Itoa(p.lo)], named[string(p.id)+"@"+strconv.Itoa(p.hi)] = true, true
		}
		require.Equal(t, overlapping, named, "every overlapping version is named")
		require.Less(t, len(got), n)
		if maxDegree(degree) <= 1 {
			require.Equal(t, want, got)
		}
	})
}

func maxDegree(m map[string]int) int {
	out := 0
	for _, d := range m {
		out = max(out, d)
	}
	return out
}

// TestHostileCatalogs: catalogs whose checks used to compare every version
// with every earlier one, or render every cycle in full, validate in time
// and report size linear in the catalog.
func TestHostileCatalogs(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 20_000
	tests := []struct {
		name     string
		doc      func() catalog.Document
		cond     error
		problems int
	}{
		{"every version overlaps every other", func() catalog.Document {
			doc := catalog.Document{}
			for i := range n {
				doc.Offers = append(doc.Offers, catalog.Offer{ID: "a", Version: i + 1, Currency: "EUR", EffectiveFrom: start})
			}
			return doc
		}, catalog.ErrOverlap, n - 1},
		{"one version number repeated", func() catalog.Document {
			doc := catalog.Document{}
			for i := range n {
				doc.Offers = append(doc.Offers, catalog.Offer{ID: "a", Version: 1, Currency: "EUR",
					EffectiveFrom: start.Add(time.Duration(i) * time.Hour), EffectiveUntil: start.Add(time.Duration(i+1) * time.Hour)})
			}
			return doc
		}, catalog.ErrDuplicate, n - 1},
		{"a chain of bundles, each containing the first", func() catalog.Document {
			doc := catalog.Document{}
			for i := range n {
				o := catalog.Offer{ID: catalog.OfferID("b" + strconv.Itoa(100000+i)), Version: 1, Kind: catalog.Bundle, Currency: "EUR", EffectiveFrom: start,
					Components: []catalog.Component{{Offer: "b100000", Supplier: "s"}}}
				if i+1 < n {
					o.Components = append(o.Components, catalog.Component{Offer: catalog.OfferID("b" + strconv.Itoa(100001+i)), Supplier: "s"})
				}
				doc.Offers = append(doc.Offers, o)
			}
			return doc
		}, catalog.ErrCycle, n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalog.New(tt.doc())
			got := problemsOf(t, err, tt.cond)
			require.Len(t, got, tt.problems)
			for _, oe := range got {
				require.LessOrEqual(t, strings.Count(oe.Value, " -> "), 18, "a cycle names at most 16 offers and the way back")
			}
		})
	}
}
