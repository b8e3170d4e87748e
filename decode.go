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
			// past the value: find the value that ends there.
			at, path := valueBefore(data, te.Offset)
			if path == "" {
				path = te.Field
			}
			return decodeError(subject, data, at, path, fmt.Sprintf("%s where %s belongs", te.Value, te.Type), err)
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
