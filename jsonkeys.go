package ensemble

import "unicode/utf8"

// maxFastKeys is the most keys an object may have for hasNoFoldedDuplicate
// to compare them pairwise; a larger one is left to scanKeys.
const maxFastKeys = 64

// jsonKey is a plain object key (printable ASCII without escapes) as the
// document spells it, and the hash of its case-folded bytes, so that most
// pairs of keys compare in one step.
type jsonKey struct {
	raw  []byte
	hash uint64
}

// hasNoFoldedDuplicate reports, for data that json.Valid accepts, that no
// object holds two keys encoding/json would match to one struct field
// (see foldKey): CheckJSON's common case, read in one pass without
// allocating. false means "not sure" (a duplicate, an escaped or non-ASCII
// key, an object of more than maxFastKeys keys, nesting deeper than
// maxDepth): scanKeys then decides, and words the error, in the time it
// always took.
func hasNoFoldedDuplicate(data []byte) bool {
	var buf [32]jsonKey
	keys := buf[:0] // the keys of the open objects, innermost last
	var obuf [16]int
	objects := obuf[:0] // per open object or list: where its keys start in keys, or -1 for a list
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{', '[':
			if len(objects) == maxDepth {
				return false
			}
			start := len(keys)
			if data[i] == '[' {
				start = -1
			}
			objects = append(objects, start)
		case '}', ']':
			if start := objects[len(objects)-1]; start >= 0 {
				keys = keys[:start]
			}
			objects = objects[:len(objects)-1]
		case '"':
			end, plain := stringEnd(data, i)
			raw := data[i+1 : end]
			i = end
			if !isKey(data, end+1) {
				continue
			}
			if !plain {
				return false // escaped or non-ASCII keys fold beyond ASCII: the walk compares them
			}
			start := objects[len(objects)-1]
			if len(keys)-start >= maxFastKeys {
				return false
			}
			k := jsonKey{raw: raw, hash: foldHash(raw)}
			for _, o := range keys[start:] {
				if o.hash == k.hash && equalASCIIFold(k.raw, o.raw) {
					return false
				}
			}
			keys = append(keys, k)
		}
	}
	return true
}

// stringEnd returns the index of the quote closing the string that opens
// at data[i], in valid JSON, and whether the string is plain: printable
// ASCII without escapes.
func stringEnd(data []byte, i int) (end int, plain bool) {
	plain = true
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return j, plain
		case c == '\\':
			plain = false
			j++ // the escaped byte ("\"" among them)
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return len(data), false // not reached for valid JSON
}

// isKey reports whether the string ending before data[j] is an object's
// key: in valid JSON, one followed by ':'.
func isKey(data []byte, j int) bool {
	for ; j < len(data); j++ {
		switch data[j] {
		case ' ', '\t', '\r', '\n':
			continue
		case ':':
			return true
		}
		return false
	}
	return false
}

// foldHash is an FNV-1a hash of key with its ASCII letters in lower case:
// keys equal but for case hash alike. A document crafted so that many keys
// collide costs at most maxFastKeys comparisons a key, each as long as the
// key.
func foldHash(key []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// equalASCIIFold reports whether plain keys a and b are equal but for the
// case of ASCII letters (how foldKey compares them).
func equalASCIIFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
