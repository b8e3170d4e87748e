package ensemble

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxDocumentBytes bounds the size of a YAML or JSON document the library
// reads, so that hostile input cannot exhaust memory.
const MaxDocumentBytes = 16 << 20

// maxYAMLNodes bounds the node count of a YAML document (alias expansion
// included).
const maxYAMLNodes = 1 << 20

// MaxYAMLAliasBytes bounds what aliases may add to a YAML document: the JSON
// that YAMLToJSON writes for the expansion of aliases (*name) is at most
// the document's own size plus MaxYAMLAliasBytes. A "billion laughs"
// document, whose aliases nest to expand exponentially, is refused with
// ErrYAMLAliasExpansion once that many bytes are written, so the work
// spent on any document is linear in its size plus this bound.
const MaxYAMLAliasBytes = 1 << 20

// ErrYAMLAliasExpansion is matched (with errors.Is, beside ErrDecode) by the
// *DecodeError of a YAML document whose aliases expand beyond
// MaxYAMLAliasBytes plus the document's size.
var ErrYAMLAliasExpansion = errors.New("ensemble: yaml: aliases expand too far")

// YAMLToJSON converts one YAML document to JSON so that every document type
// of the library is decoded by encoding/json alone, with one set of field
// tags. Numbers keep their exact text (0.1 stays 0.1 and never passes through
// a float); the YAML number spellings JSON lacks (1_000, 0x1F, .inf, .nan)
// are rejected, as are mapping keys that are not strings (a plain 1, true,
// null, 1.5 or 2026-01-01 reads as a number, boolean, null or timestamp, not
// a string: quote it), merge keys (<<), a key given twice, a second
// document (or anything after the first), control characters YAML does not
// allow, documents over MaxDocumentBytes and alias bombs
// (ErrYAMLAliasExpansion, see MaxYAMLAliasBytes).
//
// Every error is a *DecodeError (matching ErrDecode) whose Line counts lines
// as YAML does (a line ends at \n, \r\n, \r, U+0085, U+2028 or U+2029) and
// whose Column counts bytes from the start of that line. Both are always
// set, except that the YAML parser's own syntax errors name a line only:
// their Column is 0, and their Line is the line of the problem or of the
// construct (mapping, flow sequence, quoted scalar) the parser was reading
// when it failed. The time and memory spent are linear in the document's
// size, whatever its aliases; only placing the alias of an anchor that is
// never set parses the document again, 1+log2(k) times for k spellings of
// "*name" in it.
func YAMLToJSON(doc []byte) ([]byte, error) {
	if len(doc) > MaxDocumentBytes {
		return nil, yamlAt(doc, MaxDocumentBytes, fmt.Sprintf("document of %d bytes exceeds %d", len(doc), MaxDocumentBytes), nil)
	}
	if msg := checkEncoding(doc); msg != "" {
		return nil, yamlAt(doc, 0, msg, nil)
	}
	if i := invalidUTF8(doc); i >= 0 {
		return nil, yamlAt(doc, i, "invalid UTF-8", nil)
	}
	if i, r := yamlControl(doc); i >= 0 {
		return nil, yamlAt(doc, i, fmt.Sprintf("control character %U: YAML allows tab, line breaks and printable characters only", r), nil)
	}
	root, extra, err := parseYAML(doc)
	if err != nil {
		return nil, yamlParseErr(doc, err)
	}
	if extra != nil {
		return nil, yamlNodeErr(doc, extra, "more than one document")
	}
	if root.Kind == 0 {
		return nil, yamlAt(doc, 0, "empty document (comments only)", nil)
	}
	w := yamlWriter{doc: doc, nodes: maxYAMLNodes, aliasLimit: len(doc) + MaxYAMLAliasBytes}
	if err := w.node(root, 0); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// parseYAML parses the first document of doc and reports the start of a
// second one (nil if there is none). root.Kind is 0 when doc holds no
// document (only comments).
func parseYAML(doc []byte) (root, extra *yaml.Node, err error) {
	root = new(yaml.Node)
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(root); err != nil && err != io.EOF {
		return nil, nil, err
	}
	next := new(yaml.Node)
	switch err := dec.Decode(next); err {
	case io.EOF:
		return root, nil, nil
	case nil:
		return root, next, nil
	default:
		return nil, nil, err
	}
}

// yamlWriter writes a YAML node tree as JSON, counting nodes and the bytes
// written for alias expansions as it goes, so that a document is refused
// after work bounded by its limits rather than after expanding in full.
type yamlWriter struct {
	doc   []byte // the document, to place errors
	buf   bytes.Buffer
	nodes int // nodes left in the budget
	// alias is the outermost alias being expanded (nil outside one), and
	// aliasStart the length of buf when its expansion began.
	alias      *yaml.Node
	aliasStart int
	aliasBytes int // bytes written by finished outermost expansions
	aliasLimit int
}

// aliasErr reports the outermost alias whose expansion crossed the limit.
func (w *yamlWriter) aliasErr() error {
	e := yamlNodeErr(w.doc, w.alias, "aliases expand to more than %d bytes of JSON (the document's %d plus %d)",
		w.aliasLimit, w.aliasLimit-MaxYAMLAliasBytes, MaxYAMLAliasBytes)
	e.Err = ErrYAMLAliasExpansion
	return e
}

// yamlNodeErr reports a problem with node n, at the byte where n starts.
func yamlNodeErr(doc []byte, n *yaml.Node, format string, args ...any) *DecodeError {
	return yamlAt(doc, yamlOffset(doc, n.Line, n.Column), fmt.Sprintf(format, args...), nil)
}

// yamlAt returns a *DecodeError at byte offset in doc (clamped to the
// document), its line counted as YAML counts lines and its column in
// bytes.
func yamlAt(doc []byte, offset int, msg string, err error) *DecodeError {
	offset = min(max(offset, 0), len(doc))
	line, start := 1, 0
	for i := 0; i < offset; {
		n := yamlBreak(doc, i)
		if n == 0 {
			i++
			continue
		}
		if i+n > offset {
			break // offset is inside the break (\r\n, NEL, LS, PS) that ends its line
		}
		i += n
		line, start = line+1, i
	}
	return &DecodeError{Subject: "yaml", Line: line, Column: offset - start + 1, Offset: int64(offset), Msg: msg, Err: err}
}

// yamlBreak returns the length of the line break YAML reads at doc[i:]
// (\r\n, \n, \r, U+0085, U+2028, U+2029), or 0 when there is none.
func yamlBreak(doc []byte, i int) int {
	switch doc[i] {
	case '\n':
		return 1
	case '\r':
		if i+1 < len(doc) && doc[i+1] == '\n' {
			return 2
		}
		return 1
	case 0xC2: // U+0085
		if i+1 < len(doc) && doc[i+1] == 0x85 {
			return 2
		}
	case 0xE2: // U+2028, U+2029
		if i+2 < len(doc) && doc[i+1] == 0x80 && (doc[i+2] == 0xA8 || doc[i+2] == 0xA9) {
			return 3
		}
	}
	return 0
}

// yamlOffset returns the byte offset of the character the YAML parser
// places at line and column, both 1-based and the column counted in
// characters, as go.yaml.in/yaml/v3 counts them. A place beyond its line
// or the document is clamped to the line's or the document's end.
func yamlOffset(doc []byte, line, column int) int {
	i := 0
	for l := 1; l < line && i < len(doc); {
		if n := yamlBreak(doc, i); n > 0 {
			i += n
			l++
			continue
		}
		i++
	}
	for c := 1; c < column && i < len(doc) && yamlBreak(doc, i) == 0; c++ {
		_, n := utf8.DecodeRune(doc[i:])
		i += n
	}
	return i
}

// yamlControl returns the offset of the first character YAML does not
// allow in a document, and the character, or -1: the C0 controls other
// than tab, line feed and carriage return, DEL, the C1 controls other than
// U+0085, and U+FFFE and U+FFFF. doc is valid UTF-8. go.yaml.in/yaml/v3
// refuses them too, but without saying where.
func yamlControl(doc []byte) (int, rune) {
	for i := 0; i < len(doc); i++ {
		switch b := doc[i]; {
		case b < 0x20 && b != '\t' && b != '\n' && b != '\r', b == 0x7F:
			return i, rune(b)
		case b == 0xC2 && i+1 < len(doc) && doc[i+1] <= 0x9F && doc[i+1] != 0x85: // U+0080 to U+009F
			return i, rune(doc[i+1])
		case b == 0xEF && i+2 < len(doc) && doc[i+1] == 0xBF && doc[i+2] >= 0xBE: // U+FFFE, U+FFFF
			return i, 0xFFF0 | rune(doc[i+2]&0x0F)
		}
	}
	return -1, 0
}

// yamlParserProblems are the problems go.yaml.in/yaml/v3 reports from its
// parser rather than its scanner. Its error text ("yaml: line N: ...")
// numbers their lines from 0 and the scanner's from 1, and leaves out the
// line altogether when it would be 0 (so a problem on the first line of a
// document has none).
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// yamlParseErr types the YAML parser's error, placing it on the line it
// names ("yaml: line 3: mapping values are not allowed in this context"),
// or, for an alias of an unknown anchor, at the alias.
func yamlParseErr(doc []byte, err error) *DecodeError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if v, err := strconv.Atoi(n); err == nil && v > 0 {
				line, msg = v, after
			}
		}
	}
	if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok && line == 0 {
		if name, ok = strings.CutSuffix(name, "' referenced"); ok {
			if at := unknownAlias(doc, name, err.Error()); at >= 0 {
				return yamlAt(doc, at, msg, err)
			}
		}
	}
	switch {
	case line == 0:
		line = 1
	case yamlParserProblems[msg]:
		line++
	}
	return &DecodeError{Subject: "yaml", Line: line, Offset: -1, Msg: msg, Err: err}
}

// unknownAlias returns the offset of the alias (*name) at which parsing doc
// fails with the error text failure, which names an unknown anchor without
// saying where, or -1. Every "*name" in doc is a candidate: an alias, or
// text in a comment, a quoted or block scalar or inside a plain scalar,
// where replacing the '*' changes no token. Parsing doc with every
// candidate after the i-th so replaced still fails alike exactly when a
// real alias of the unknown anchor is among the first i+1, so a binary
// search finds the first one in a logarithmic number of parses.
func unknownAlias(doc []byte, name, failure string) int {
	var at []int
	pat := []byte("*" + name)
	for i := 0; ; {
		j := bytes.Index(doc[i:], pat)
		if j < 0 {
			break
		}
		end := i + j + len(pat)
		if end == len(doc) || !isAnchorByte(doc[end]) {
			at = append(at, i+j)
		}
		i += j + 1
	}
	if len(at) == 0 {
		return -1
	}
	probe := make([]byte, len(doc))
	i := sort.Search(len(at)-1, func(i int) bool {
		copy(probe, doc)
		for _, a := range at[i+1:] {
			probe[a] = 'x'
		}
		_, _, err := parseYAML(probe)
		return err != nil && err.Error() == failure
	})
	return at[i]
}

// isAnchorByte reports whether b may appear in an anchor's name.
func isAnchorByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b == '_' || b == '-'
}

// node writes n as JSON. Every node written inside an alias's expansion
// first checks the expansion's byte budget; a node writes at least one
// byte, so the checks bound nodes and bytes alike.
func (w *yamlWriter) node(n *yaml.Node, depth int) error {
	w.nodes--
	if w.nodes < 0 {
		return yamlNodeErr(w.doc, n, "document has more than %d nodes", maxYAMLNodes)
	}
	if depth > 200 {
		return yamlNodeErr(w.doc, n, "nesting deeper than 200")
	}
	if w.alias != nil && w.aliasBytes+w.buf.Len()-w.aliasStart > w.aliasLimit {
		return w.aliasErr()
	}
	buf := &w.buf
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			buf.WriteString("null")
			return nil
		}
		return w.node(n.Content[0], depth+1)
	case yaml.AliasNode:
		if w.alias != nil {
			return w.node(n.Alias, depth+1)
		}
		w.alias, w.aliasStart = n, buf.Len()
		if err := w.node(n.Alias, depth+1); err != nil {
			return err
		}
		// Checked again once written, so that the bound is exact.
		if w.aliasBytes += buf.Len() - w.aliasStart; w.aliasBytes > w.aliasLimit {
			return w.aliasErr()
		}
		w.alias = nil
		return nil
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if err := w.key(k); err != nil {
				return err
			}
			if seen[k.Value] {
				return yamlNodeErr(w.doc, k, "duplicate key %q", k.Value)
			}
			seen[k.Value] = true
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k.Value)
			buf.WriteByte(':')
			if err := w.node(v, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := w.node(c, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			buf.WriteString("null")
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return yamlNodeErr(w.doc, n, "bad boolean %q", n.Value)
			}
			buf.WriteString(strconv.FormatBool(b))
		case "!!int", "!!float":
			if !json.Valid([]byte(n.Value)) || n.Value[0] == '+' {
				return yamlNodeErr(w.doc, n, "number %q is not plain decimal notation; quote it or write it as digits", n.Value)
			}
			buf.WriteString(n.Value)
		case "!!str", "!!timestamp", "":
			writeJSONString(buf, n.Value)
		default:
			return yamlNodeErr(w.doc, n, "unsupported tag %s", n.Tag)
		}
		return nil
	}
	return yamlNodeErr(w.doc, n, "unsupported node")
}

// key refuses a mapping key that is not a string: only a scalar whose tag
// is !!str (quoted, or plain text that reads as no number, boolean, null or
// timestamp, or tagged !!str) is one. A plain 1, true, ~ or 2026-01-01 is
// refused rather than turned into the string JSON would need, since YAML
// reads 1, 01 and 0x1 as one number but JSON as three keys.
func (w *yamlWriter) key(k *yaml.Node) error {
	switch {
	case k.Kind == yaml.ScalarNode && k.Tag == "!!str":
		return nil
	case k.Kind == yaml.ScalarNode && k.Tag == "!!merge":
		return yamlNodeErr(w.doc, k, "merge keys (<<) are not supported")
	case k.Kind == yaml.ScalarNode:
		return yamlNodeErr(w.doc, k, "mapping key %q is not a string (it reads as %s); quote it", k.Value, k.Tag)
	case k.Kind == yaml.AliasNode:
		return yamlNodeErr(w.doc, k, "mapping key *%s is an alias; write the key as a string", k.Value)
	}
	return yamlNodeErr(w.doc, k, "mapping key is a %s; it must be a string", yamlKind(k.Kind))
}

// yamlKind names a node kind for error messages.
func yamlKind(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.DocumentNode:
		return "document"
	}
	return "node of kind " + strconv.Itoa(int(k))
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	buf.Write(b)
}
