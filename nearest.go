package ensemble

import (
	"slices"
	"strings"
)

// Nearest returns the candidates closest to name, for "did you mean"
// messages: those at the least edit distance, if it is within a third of
// name's length (at least 1, at most 2), compared without case; sorted, and
// none when no candidate is that close or name is itself a candidate. An
// edit inserts, deletes or substitutes a byte or swaps two adjacent ones
// (teir for tier).
func Nearest(name string, candidates []string) []string {
	limit := min(2, max(1, len(name)/3))
	best := limit + 1
	var out []string
	for _, c := range candidates {
		if c == name {
			return nil
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		switch {
		case d > limit || d > best:
		case d < best:
			best, out = d, []string{c}
		default:
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes. Names are short; a name over 256 bytes is compared by its
// first 256.
func editDistance(a, b string) int {
	a, b = a[:min(len(a), 256)], b[:min(len(b), 256)]
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
