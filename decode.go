package ensemble

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrDecode is matched by every *DecodeError: a document that is not
// strictly one well-formed JSON value of the expected shape.
var ErrDecode = errors.New("ensemble: cannot decode")

// DecodeError reports where and why a document could not be decoded
// strictly. It matches ErrDecode with errors.Is, and Err (a sentinel of the
// calling package, a *ParseError of a value, or encoding/json's own error)
// with errors.Is and errors.As.
type DecodeError struct {
	Subject string // what was decoded: "catalog", "plans", "state"
	Line    int    // 1-based line of the offending byte; 0 when unknown
	Column  int    // 1-based column (in bytes) on that line; 0 when only the line is known
	Offset  int64  // byte offset from the start of the document; -1 when unknown
	Path    string // the offending key or value, such as offers[3].charges[1].id; "" at the top
	Msg     string // what is wrong
	Err     error  // the underlying error, if any

	// input is the value a type's UnmarshalJSON was given, when the error
	// is its own decoder's (Money's), so that DecodeJSON can tell where in
	// the document the value is (see typeErrorPlace).
	input []byte
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString(e.Subject)
	if e.Subject == "" {
		b.WriteString("ensemble")
	}
	b.WriteString(": decode")
	switch {
	case e.Line > 0 && e.Column > 0:
		fmt.Fprintf(&b, " %d:%d", e.Line, e.Column)
	case e.Line > 0:
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Path != "" {
		b.WriteString(" at ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports whether target is ErrDecode.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// decodeError builds a *DecodeError at offset in data, with its line and
// column.
func decodeError(subject string, data []byte, offset int64, path, msg string, err error) *DecodeError {
	e := &DecodeError{Subject: subject, Offset: offset, Path: path, Msg: msg, Err: err}
	if offset >= 0 && offset <= int64(len(data)) {
		before := data[:offset]
		e.Line = bytes.Count(before, []byte{'\n'}) + 1
		e.Column = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	}
	return e
}

// CheckJSON reports, as a *DecodeError, anything that makes data other than
// exactly one well-formed JSON value whose meaning cannot be smuggled:
//   - empty input, a byte-order mark (UTF-8, UTF-16 or UTF-32), invalid UTF-8;
//   - a syntax error, trailing data or a second top-level value;
//   - an object with a key twice, or two keys encoding/json would match to
//     one struct field ("amount" beside "Amount", or "expreſſion" with a long
//     s): encoding/json would let the later one win, so a reviewed value
//     could be replaced by a smuggled one;
//   - nesting deeper than 10,000 objects and lists.
//
// It reads the document once, in time linear in its size. DecodeJSON runs it
// before decoding; types whose UnmarshalJSON reads an object run it on their
// own bytes.
func CheckJSON(subject string, data []byte) error {
	if msg := checkEncoding(data); msg != "" {
		return decodeError(subject, data, 0, "", msg, nil)
	}
	if i := invalidUTF8(data); i >= 0 {
		return decodeError(subject, data, int64(i), "", "invalid UTF-8", nil)
	}
	// The common case, a valid document without folded duplicate keys,
	// is read twice without a token allocated; anything else is walked
	// token by token (scanKeys), which finds and words the error.
	if json.Valid(data) && hasNoFoldedDuplicate(data) {
		return nil
	}
	return scanKeys(subject, data)
}

// checkEncoding refuses empty input and byte-order marks.
func checkEncoding(data []byte) string {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return "empty document"
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return "a UTF-8 byte-order mark: JSON text starts with its value"
	case bytes.HasPrefix(data, []byte{0x00, 0x00, 0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0x00, 0x00}):
		return "a UTF-32 byte-order mark: documents are UTF-8"
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return "a UTF-16 byte-order mark: documents are UTF-8"
	}
	return ""
}

// invalidUTF8 returns the offset of the first byte that is not valid UTF-8,
// or -1.
func invalidUTF8(data []byte) int {
	if utf8.Valid(data) {
		return -1
	}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// foldKey maps every spelling encoding/json matches to one struct field to
// one key: each rune becomes the smallest rune of its Unicode case-folding
// orbit, so "Amount", "AMOUNT" and "amount" fold alike, and so do the
// long s "ſ" and "s", the Kelvin sign and "k" (encoding/json folds those
// too).
func foldKey(key string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, key)
}

// maxDepth bounds how deeply a document may nest, as encoding/json does, so
// a document of open brackets is refused before it costs memory.
const maxDepth = 10000

// frame is one open object or array while scanning.
type frame struct {
	object bool
	index  int                 // next element of an array
	key    string              // current key of an object
	keys   map[string]struct{} // the object's keys, case-folded
}

// scanKeys walks the token stream once, refusing repeated and case-variant
// keys, nesting deeper than maxDepth, syntax errors and anything after the
// first value.
func scanKeys(subject string, data []byte) error {
	w := newWalker(data)
	for {
		start, tok, key, err := w.next()
		if err == io.EOF {
			return decodeError(subject, data, int64(len(data)), "", "unexpected end of the document", nil)
		}
		if err != nil {
			return syntaxError(subject, data, start, err)
		}
		switch {
		case key:
			top := &w.stack[len(w.stack)-1]
			folded := foldKey(top.key)
			if _, dup := top.keys[folded]; dup {
				return decodeError(subject, data, start, pathOf(w.stack), "key "+strconv.Quote(top.key)+" appears twice in one object (keys are matched case-insensitively)", nil)
			}
			if top.keys == nil {
				top.keys = map[string]struct{}{}
			}
			top.keys[folded] = struct{}{}
		case tok == json.Delim('{'), tok == json.Delim('['):
			if len(w.stack) > maxDepth {
				return decodeError(subject, data, start, pathOf(w.stack[:maxDepth]), "nested more than "+strconv.Itoa(maxDepth)+" deep", nil)
			}
		case len(w.stack) == 0: // the document's one value ended
			end := w.dec.InputOffset()
			if rest := bytes.TrimLeft(data[end:], " \t\r\n"); len(rest) > 0 {
				return decodeError(subject, data, int64(len(data)-len(rest)), "", "data after the document (a second value or trailing garbage)", nil)
			}
			return nil
		}
	}
}

// walker reads a document token by token and keeps the path to the token
// it last read.
type walker struct {
	data      []byte
	dec       *json.Decoder
	stack     []frame
	expectKey bool
	ended     bool // the last token ended a value: move past it before the next
}

func newWalker(data []byte) *walker {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return &walker{data: data, dec: dec}
}

// next reads a token and returns where it starts, whether it is an object's
// key (then the top frame's key is set), and io.EOF at the end. After a
// scalar or a closing bracket, the stack still points at the value it
// ended; after an opening bracket, the new object or list is on the stack.
func (w *walker) next() (start int64, tok json.Token, key bool, err error) {
	if w.ended && len(w.stack) > 0 {
		top := &w.stack[len(w.stack)-1]
		w.expectKey = top.object
		if !top.object {
			top.index++
		}
	}
	w.ended = false
	start = tokenStart(w.data, w.dec.InputOffset())
	if tok, err = w.dec.Token(); err != nil {
		return start, nil, false, err
	}
	switch {
	case w.expectKey && tok != json.Delim('}'):
		w.stack[len(w.stack)-1].key, _ = tok.(string) // Token gives only strings where keys go
		w.expectKey = false
		return start, tok, true, nil
	case tok == json.Delim('{'), tok == json.Delim('['):
		w.stack = append(w.stack, frame{object: tok == json.Delim('{')})
		w.expectKey = tok == json.Delim('{')
		return start, tok, false, nil
	case tok == json.Delim('}'), tok == json.Delim(']'):
		w.stack = w.stack[:len(w.stack)-1]
		w.expectKey = false
	}
	w.ended = true
	return start, tok, false, nil
}

// tokenStart skips the white space and separators after offset, where the
// next token starts.
func tokenStart(data []byte, offset int64) int64 {
	for offset < int64(len(data)) {
		switch data[offset] {
		case ' ', '\t', '\r', '\n', ',', ':':
			offset++
			continue
		}
		break
	}
	return offset
}

// pathOf renders the scanner's position: offers[3].charges[1].id.
func pathOf(stack []frame) string {
	parts := make([]any, 0, len(stack))
	for _, f := range stack {
		if f.object {
			if f.key != "" {
				parts = append(parts, f.key)
			}
		} else {
			parts = append(parts, f.index)
		}
	}
	return Path(parts...)
}

// syntaxError turns encoding/json's error into a *DecodeError at its
// offset.
func syntaxError(subject string, data []byte, at int64, err error) *DecodeError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		at = se.Offset
	}
	return decodeError(subject, data, at, "", strings.TrimPrefix(err.Error(), "json: "), err)
}

// CheckDocument is CheckJSON for a document a host or partner wrote (a
// catalog, a network, rules, plans, an order command): one over
// MaxDocumentBytes is refused before it is read, and one that is only null
// is refused as empty.
func CheckDocument(subject string, data []byte) error {
	if len(data) > MaxDocumentBytes {
		return decodeError(subject, data, -1, "", fmt.Sprintf("document of %d bytes exceeds %d", len(data), MaxDocumentBytes), nil)
	}
	if t := bytes.TrimSpace(data); string(t) == "null" {
		return decodeError(subject, data, int64(len(data)-len(bytes.TrimLeft(data, " \t\r\n"))), "", "a null document holds nothing", nil)
	}
	return CheckJSON(subject, data)
}

// DecodeDocument is DecodeJSON after CheckDocument's checks.
func DecodeDocument(subject string, data []byte, v any) error {
	if err := CheckDocument(subject, data); err != nil {
		return err
	}
	return DecodeJSON(subject, data, v)
}

// DecodeJSON decodes data into v strictly: CheckJSON's checks, every
// decimal.Decimal of v written as ParseDecimal reads it (never null, an
// exponent or a bare point, which shopspring/decimal would read silently), then encoding/json with unknown fields refused. It has no size bound, for values
// the library wrote (a settlement State of millions of lines); documents go
// through DecodeDocument. Hosts that read JSON with json.Unmarshal get
// encoding/json's own *json.SyntaxError for malformed text before any of the
// library's values sees it; DecodeJSON types that too. Every failure is a
// *DecodeError naming subject, the line and column, and the path where it
// is known; a value's own error (a *ParseError of an amount, say) is its Err.
// A value of the wrong JSON type is placed where it is written even inside a
// value that decodes itself (a plan's node and share, a Money: a fixed share
// written `amount: "2500.00"` is reported at root.children[0].share.amount,
// where encoding/json's offset, counted from the share's own bytes, named
// the plan's id); where two values spelled alike could be it, the error has
// no place (Line 0, Path "") rather than a wrong one.
func DecodeJSON(subject string, data []byte, v any) error {
	if err := CheckJSON(subject, data); err != nil {
		return err
	}
	if err := checkDecimals(subject, data, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			// encoding/json's Field drops list indexes and its Offset is
			// past the value, counted from the bytes of the decoder that
			// failed: find the value it names (see typeErrorPlace).
			_, own := err.(*json.UnmarshalTypeError)
			var input []byte // the bytes of the value whose decoder failed, when it says
			for e := err; e != nil; e = errors.Unwrap(e) {
				if d, ok := e.(*DecodeError); ok && d.input != nil {
					input = d.input
				}
			}
			at, path, ok := typeErrorPlace(data, te, !own, input)
			switch {
			case !ok && own:
				// As before: the value that ends at the offset.
				if at, path = valueBefore(data, te.Offset); path == "" {
					path = te.Field
				}
			case !ok:
				// A wrapped error's offset is not the document's: no
				// place rather than a wrong one.
				at, path = -1, ""
			}
			want := te.Type.String()
			if te.Type == reflect.TypeOf(moneyJSON{}) {
				// Not the name of a type a host can see.
				want = `money, an object such as {"amount": "12.30", "currency": "EUR"}`
			}
			return decodeError(subject, data, at, path, fmt.Sprintf("%s where %s belongs", te.Value, want), err)
		case errors.As(err, &se):
			return syntaxError(subject, data, se.Offset, err)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			return decodeError(subject, data, keyOffset(data, name), "", "unknown field "+strconv.Quote(name), err)
		}
		// A value's own UnmarshalJSON or UnmarshalText refused it;
		// encoding/json does not say where. The first string in the
		// document spelled as the value the error quotes is taken as the
		// place.
		at := valueOffset(data, err)
		return decodeError(subject, data, at, pathAt(data, at), err.Error(), err)
	}
	return nil
}

// valueOffset returns the offset of the first JSON string whose text is the
// value err quotes (a *ParseError's input, an *EnumError's name, a time's
// text), or -1.
func valueOffset(data []byte, err error) int64 {
	var text string
	var pe *ParseError
	var ee *EnumError
	var te *time.ParseError
	var ue *UnitError
	switch {
	case errors.As(err, &pe):
		text = pe.Input
	case errors.As(err, &ee) && !ee.Number:
		text = ee.Text
	case errors.As(err, &te):
		text = te.Value
	case errors.As(err, &ue):
		text = ue.Code
	}
	if text == "" || strings.HasSuffix(text, "...") {
		return -1
	}
	quoted, _ := json.Marshal(text)
	quoted = bytes.ReplaceAll(quoted, []byte(`\u003c`), []byte("<")) // json.Marshal escapes HTML
	if i := bytes.Index(data, quoted); i >= 0 {
		return int64(i)
	}
	return -1
}

// pathAt returns the path of the value that starts at offset, or "".
func pathAt(data []byte, offset int64) string {
	if offset < 0 {
		return ""
	}
	w := newWalker(data)
	for {
		start, tok, key, err := w.next()
		if err != nil {
			return ""
		}
		if key || start < offset {
			continue
		}
		if tok == json.Delim('{') || tok == json.Delim('[') {
			return pathOf(w.stack[:len(w.stack)-1])
		}
		return pathOf(w.stack)
	}
}

// valueBefore returns where the last value starting before offset starts,
// and its path (with list indexes), or offset and "".
func valueBefore(data []byte, offset int64) (int64, string) {
	at, path := offset, ""
	w := newWalker(data)
	for {
		start, tok, key, err := w.next()
		if err != nil || start >= offset {
			return at, path
		}
		if key {
			continue
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			continue
		case json.Delim('{'), json.Delim('['):
			at, path = start, pathOf(w.stack[:len(w.stack)-1])
		default:
			at, path = start, pathOf(w.stack)
		}
	}
}

// placedValue is one value of a document: where it starts and ends, its
// JSON kind, its path, the object keys on the way to it (list indexes left
// out, as encoding/json's UnmarshalTypeError.Field names it) and the value
// it is in (-1 for the document itself).
type placedValue struct {
	start, end int64
	kind       string
	path       string
	keys       []string
	parent     int
}

// placedValues lists every value of a well-formed document in order.
func placedValues(data []byte) []placedValue {
	w := newWalker(data)
	var vs []placedValue
	var open []int
	for {
		start, tok, key, err := w.next()
		if err != nil {
			return vs
		}
		if key {
			continue
		}
		parent := -1
		if len(open) > 0 {
			parent = open[len(open)-1]
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			vs[parent].end = w.dec.InputOffset()
			open = open[:len(open)-1]
		case json.Delim('{'), json.Delim('['):
			outer := w.stack[:len(w.stack)-1]
			kind := "object"
			if tok == json.Delim('[') {
				kind = "array"
			}
			vs = append(vs, placedValue{start: start, kind: kind, path: pathOf(outer), keys: keysOf(outer), parent: parent})
			open = append(open, len(vs)-1)
		default:
			kind := "null"
			switch tok.(type) {
			case string:
				kind = "string"
			case json.Number:
				kind = "number"
			case bool:
				kind = "bool"
			}
			vs = append(vs, placedValue{start: start, end: w.dec.InputOffset(), kind: kind, path: pathOf(w.stack), keys: keysOf(w.stack), parent: parent})
		}
	}
}

// keysOf returns the object keys of a scanner position, list indexes left
// out.
func keysOf(stack []frame) []string {
	var keys []string
	for _, f := range stack {
		if f.object && f.key != "" {
			keys = append(keys, f.key)
		}
	}
	return keys
}

// typeErrorPlace returns where the value a *json.UnmarshalTypeError is
// about starts, and its path. encoding/json counts the error's Offset from
// the start of the bytes the failing decoder was given: the document, for
// DecodeJSON's own decoder, but a value's own bytes when a type's
// UnmarshalJSON decodes them with a decoder of its own (a plan's node and
// share, Money), so taken from the document's start it named another value
// (a plan's share amount written as a string was reported at the plan's id,
// line 1). A value matches when it is of the kind the error names, it ends
// (a scalar) or opens (an object or list) at the offset counted from its own
// start or from an enclosing value's, and its keys are the error's Field:
// the whole of them for an error encoding/json returned as it is (it
// prefixes each decoder's fields), their end for one a value's
// UnmarshalJSON wrapped (inner: Money in a *DecodeError, a plan's node with
// its id), whose Field starts where that decoder did. Among several, an
// error returned as it is is placed from the document's start first, then,
// as a wrapped one, from the nearest base: the value itself, then each
// enclosing value outwards. A wrapped error whose *DecodeError kept the bytes
// its decoder was given (input: Money's does) is placed from a value spelled
// so, where a string of the same length elsewhere matched as well. Ties go
// to the first value for the document's own decoder (it stops at the first
// error); a wrapped error that two values match equally (two amounts spelled
// alike) has no place, rather than a wrong one: false, as when no value
// matches.
func typeErrorPlace(data []byte, te *json.UnmarshalTypeError, inner bool, input []byte) (int64, string, bool) {
	kind, _, _ := strings.Cut(te.Value, " ")
	var field []string
	if te.Field != "" {
		field = strings.Split(te.Field, ".")
	}
	vs := placedValues(data)
	best, bestRank, tied := -1, 0, false
	for i, v := range vs {
		if v.kind != kind || !keysMatch(v.keys, field, inner) {
			continue
		}
		at := v.end
		if kind == "object" || kind == "array" {
			at = v.start + 1
		}
		// Rank the bases: the document's start first for the document's
		// own decoder, then the value itself and each enclosing value
		// outwards, as decoders nest.
		rank := 1
		for b := i; b >= 0; b, rank = vs[b].parent, rank+1 {
			if vs[b].start+te.Offset != at || (input != nil && !bytes.Equal(data[vs[b].start:vs[b].end], input)) {
				continue
			}
			r := rank
			if !inner && vs[b].parent < 0 {
				r = 0
			}
			switch {
			case best < 0 || r < bestRank:
				best, bestRank, tied = i, r, false
			case r == bestRank && i != best:
				tied = true
			}
		}
	}
	if best < 0 || (tied && inner) {
		return -1, "", false
	}
	return vs[best].start, vs[best].path, true
}

// keysMatch reports whether a value's keys are field (all of them), or end
// with it when suffix is set; no field matches any keys.
func keysMatch(keys, field []string, suffix bool) bool {
	if len(field) == 0 {
		return true
	}
	if len(keys) < len(field) || (!suffix && len(keys) != len(field)) {
		return false
	}
	keys = keys[len(keys)-len(field):]
	for i := range field {
		if !strings.EqualFold(keys[i], field[i]) {
			return false
		}
	}
	return true
}

// keyOffset returns the offset of the first object key spelled name, or -1.
func keyOffset(data []byte, name string) int64 {
	quoted, _ := json.Marshal(name)
	for from := 0; ; {
		i := bytes.Index(data[from:], quoted)
		if i < 0 {
			return -1
		}
		at := from + i
		if rest := bytes.TrimLeft(data[at+len(quoted):], " \t\r\n"); len(rest) > 0 && rest[0] == ':' {
			return int64(at)
		}
		from = at + 1
	}
}
