package ensemble

import (
	"encoding/json"
	"unicode/utf8"
)

// maxFastKeys is the most keys an object may have for hasNoFoldedDuplicate
// to compare them pairwise; a larger one is left to scanKeys.
const maxFastKeys = 64

// jsonKey is an object's key as it is spelled in the document: the bytes
// between its quotes, and whether they are plain ASCII without escapes
// (then the key is those bytes, and folds as ASCII letters do).
type jsonKey struct {
	raw   []byte
	plain bool
}

// hasNoFoldedDuplicate reports, for data that json.Valid accepts, that no
// object holds two keys encoding/json would match to one struct field
// (see foldKey): CheckJSON's common case, read in one pass without
// allocating for documents whose keys are plain ASCII. false means "not
// sure" (a duplicate, an object of more than maxFastKeys keys, nesting
// deeper than maxDepth): scanKeys then decides, and words the error.
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
			k := jsonKey{raw: data[i+1 : end], plain: plain}
			i = end
			if !isKey(data, end+1) {
				continue
			}
			start := objects[len(objects)-1]
			if len(keys)-start >= maxFastKeys {
				return false
			}
			for _, o := range keys[start:] {
				if sameKey(k, o) {
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

// sameKey reports whether encoding/json would match keys a and b to one
// struct field.
func sameKey(a, b jsonKey) bool {
	if a.plain && b.plain {
		return equalASCIIFold(a.raw, b.raw)
	}
	return foldKey(unquoteKey(a)) == foldKey(unquoteKey(b))
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

// unquoteKey returns key k's text, its escapes decoded.
func unquoteKey(k jsonKey) string {
	if k.plain {
		return string(k.raw)
	}
	quoted := make([]byte, 0, len(k.raw)+2)
	quoted = append(append(append(quoted, '"'), k.raw...), '"')
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return string(k.raw) // not reached for valid JSON
	}
	return s
}
