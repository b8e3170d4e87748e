package usage

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestPropertySetMatchesMap adds and removes keys of a small range, so
// that they collide and their probe sequences wrap around the table, and
// checks the set against a map after every step: removing a key leaves
// every other key findable and no tombstone.
func TestPropertySetMatchesMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s u64set
		want := map[uint64]bool{}
		key := rapid.Custom(func(t *rapid.T) uint64 {
			return uint64(rapid.IntRange(0, 3).Draw(t, "slot"))<<32 | uint64(rapid.IntRange(0, 40).Draw(t, "value"))
		})
		t.Repeat(map[string]func(*rapid.T){
			"add": func(t *rapid.T) {
				k := key.Draw(t, "key")
				require.Equal(t, !want[k], s.add(k))
				want[k] = true
			},
			"remove": func(t *rapid.T) {
				k := key.Draw(t, "key")
				require.Equal(t, want[k], s.remove(k))
				delete(want, k)
			},
			"": func(t *rapid.T) {
				require.Equal(t, len(want), s.n)
				held := 0
				for _, k := range s.keys {
					if k != 0 {
						held++
						require.True(t, want[k-1], "stray key %x", k-1)
					}
				}
				require.Equal(t, len(want), held)
				for k := range want {
					require.False(t, s.add(k), "key %x lost", k)
				}
			},
		})
	})
}
