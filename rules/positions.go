package rules

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ensemble-commerce/ensemble"
)

// pos is a place in a rule file: line and column, both from 1. The zero pos
// is unknown.
type pos struct{ line, column int }

// exprPos is where an expression's text starts in its file, so that compile
// errors can name the file's line and column.
type exprPos struct {
	pos
	text   string // the expression as read, to tell a stale map from a good one
	block  bool   // a literal block scalar: expression line n is file line line+n-1
	indent int    // the block's indentation (column of its first character)
	whole  bool   // a folded or multi-line quoted scalar: only its start is placed
}

// sourceMap places one document's fields in the file it was read from. It
// is built by LoadRuleSet and Check, which read files; a Document built in
// Go has none, and its errors give places within the expression only.
type sourceMap struct {
	source string
	lines  []string // the whole file, shared by every document of it
	doc    pos
	keys   map[string]pos // where each field's key is, by path ("tests[1].want")
	values map[string]pos // where each field's value starts, by path
	exprs  map[string]exprPos
}

// at returns the place of the value at path, or of the nearest enclosing
// field that has one, or of the document.
func (m *sourceMap) at(path string) pos {
	if m == nil {
		return pos{}
	}
	for path != "" {
		if p, ok := m.values[path]; ok {
			return p
		}
		if p, ok := m.keys[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return m.doc
}

// key returns the place of the key at path (for a field that should not be
// there), falling back as at does.
func (m *sourceMap) key(path string) pos {
	if m != nil {
		if p, ok := m.keys[path]; ok {
			return p
		}
	}
	return m.at(path)
}

// expr returns where the expression field starts, when the map is for the
// text the document now holds.
func (m *sourceMap) expr(field, text string) (exprPos, bool) {
	if m == nil {
		return exprPos{}, false
	}
	p, ok := m.exprs[field]
	return p, ok && p.text == text
}

// snippet renders the file's line at p with a caret under column p.column,
// in cel-go's style.
func (m *sourceMap) snippet(p pos) string {
	if m == nil || p.line < 1 || p.line > len(m.lines) {
		return ""
	}
	text := strings.TrimRight(m.lines[p.line-1], "\r")
	col := min(max(p.column, 1), len(text)+1)
	return " | " + text + "\n | " + strings.Repeat(".", col-1) + "^"
}

// place returns the file line and column of an expression's line and
// column (both from 1); inside a folded or multi-line quoted scalar, where
// lines were joined, the start of the text.
func (p exprPos) place(line, column int) pos {
	if p.whole {
		return p.pos
	}
	if p.block {
		return pos{p.line + line - 1, p.indent + column - 1}
	}
	if line != 1 {
		return pos{}
	}
	return pos{p.line, p.column + column - 1}
}

// depthMapped bounds how deep under a document fields are placed: deep
// enough for tests[i].facts.<variable>, not into the facts' values.
const depthMapped = 4

// sourceMaps places the fields of each document of a rule file, in the
// order ParseDocuments returns them. It returns nil when the text cannot be
// read; places are a help, never a requirement.
func sourceMaps(source string, data []byte) []*sourceMap {
	lines := ensemble.YAMLLines(data)
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		return jsonMaps(source, data, lines)
	}
	return yamlMaps(source, data, lines)
}

func newMap(source string, lines []string, doc pos) *sourceMap {
	return &sourceMap{source: source, lines: lines, doc: doc, keys: map[string]pos{}, values: map[string]pos{}, exprs: map[string]exprPos{}}
}

func yamlMaps(source string, data []byte, lines []string) []*sourceMap {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil || root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	top := root.Content[0]
	docs := []*yaml.Node{top}
	if top.Kind == yaml.SequenceNode {
		docs = top.Content
	}
	out := make([]*sourceMap, len(docs))
	for i, d := range docs {
		m := newMap(source, lines, pos{d.Line, d.Column})
		m.yamlFields(d, "", 0)
		if d.Kind == yaml.MappingNode {
			for k := 0; k+1 < len(d.Content); k += 2 {
				key, val := d.Content[k], d.Content[k+1]
				if (key.Value == "expression" || key.Value == "reason_expression") && val.Kind == yaml.ScalarNode {
					if p, ok := scalarPos(val, lines); ok {
						m.exprs[key.Value] = p
					}
				}
			}
		}
		out[i] = m
	}
	return out
}

func (m *sourceMap) yamlFields(n *yaml.Node, path string, depth int) {
	if depth >= depthMapped {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for k := 0; k+1 < len(n.Content); k += 2 {
			key, val := n.Content[k], n.Content[k+1]
			p := ensemble.Path(path, key.Value)
			if path == "" {
				p = key.Value
			}
			m.keys[p] = pos{key.Line, key.Column}
			m.values[p] = pos{val.Line, val.Column}
			m.yamlFields(val, p, depth+1)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			m.values[p] = pos{item.Line, item.Column}
			m.yamlFields(item, p, depth+1)
		}
	}
}

func scalarPos(n *yaml.Node, lines []string) (exprPos, bool) {
	switch n.Style {
	case yaml.LiteralStyle:
		// The indicator sits on n.Line; the text starts on the next line, at
		// the indentation of the first line that is not blank.
		for l := n.Line; l < len(lines); l++ {
			text := strings.TrimRight(lines[l], "\r")
			if strings.TrimSpace(text) == "" {
				continue
			}
			indent := len(text) - len(strings.TrimLeft(text, " "))
			return exprPos{pos: pos{n.Line + 1, 1}, text: n.Value, block: true, indent: indent + 1}, true
		}
		return exprPos{}, false
	case yaml.FoldedStyle:
		// Folding joins lines: errors are placed at the text's start.
		for l := n.Line; l < len(lines); l++ {
			text := strings.TrimRight(lines[l], "\r")
			if strings.TrimSpace(text) != "" {
				return exprPos{pos: pos{l + 1, len(text) - len(strings.TrimLeft(text, " ")) + 1}, text: n.Value, whole: true}, true
			}
		}
		return exprPos{}, false
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return exprPos{pos: pos{n.Line, n.Column + 1}, text: n.Value, whole: strings.Contains(n.Value, "\n")}, true
	case 0: // plain
		return exprPos{pos: pos{n.Line, n.Column}, text: n.Value, whole: strings.Contains(n.Value, "\n")}, true
	}
	return exprPos{}, false
}

// jsonMaps places the fields of a JSON rule file: one object, or a list of
// objects. Expression strings with escapes place columns after the first
// escape approximately.
func jsonMaps(source string, data []byte, lines []string) []*sourceMap {
	w := jsonWalker{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	w.dec.UseNumber()
	start := w.start()
	tok, err := w.dec.Token()
	if err != nil {
		return nil
	}
	var out []*sourceMap
	switch tok {
	case json.Delim('{'):
		m := newMap(source, lines, w.pos(start))
		if w.object(m, "", 0) != nil {
			return nil
		}
		out = append(out, m)
	case json.Delim('['):
		for w.dec.More() {
			at := w.start()
			tok, err := w.dec.Token()
			if err != nil {
				return nil
			}
			m := newMap(source, lines, w.pos(at))
			if tok != json.Delim('{') || w.object(m, "", 0) != nil {
				return nil
			}
			out = append(out, m)
		}
	default:
		return nil
	}
	return out
}

type jsonWalker struct {
	dec  *json.Decoder
	data []byte
}

// start is the offset of the next token: past white space, commas and
// colons after the decoder's offset.
func (w *jsonWalker) start() int64 {
	o := w.dec.InputOffset()
	for o < int64(len(w.data)) && strings.IndexByte(" \t\r\n,:", w.data[o]) >= 0 {
		o++
	}
	return o
}

func (w *jsonWalker) pos(offset int64) pos {
	before := w.data[:offset]
	return pos{bytes.Count(before, []byte{'\n'}) + 1, int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1}
}

// object walks the members of an object whose '{' was read, recording the
// place of each key and value.
func (w *jsonWalker) object(m *sourceMap, path string, depth int) error {
	for w.dec.More() {
		keyAt := w.start()
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		p := key
		if path != "" {
			p = path + "." + key
		}
		valAt := w.start()
		m.keys[p], m.values[p] = w.pos(keyAt), w.pos(valAt)
		if depth == 0 && (key == "expression" || key == "reason_expression") && valAt < int64(len(w.data)) && w.data[valAt] == '"' {
			vp := w.pos(valAt)
			vp.column++
			var text string
			if err := w.dec.Decode(&text); err != nil {
				return err
			}
			if !strings.Contains(text, "\n") {
				m.exprs[key] = exprPos{pos: vp, text: text}
			}
			continue
		}
		if err := w.value(m, p, depth+1); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // '}'
	return err
}

func (w *jsonWalker) value(m *sourceMap, path string, depth int) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		if depth >= depthMapped {
			return w.skip(1)
		}
		return w.object(m, path, depth)
	case json.Delim('['):
		if depth >= depthMapped {
			return w.skip(1)
		}
		for i := 0; w.dec.More(); i++ {
			p := path + "[" + strconv.Itoa(i) + "]"
			m.values[p] = w.pos(w.start())
			if err := w.value(m, p, depth+1); err != nil {
				return err
			}
		}
		_, err := w.dec.Token() // ']'
		return err
	}
	return nil
}

// skip reads tokens until open levels of nesting are closed.
func (w *jsonWalker) skip(open int) error {
	for open > 0 {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			open++
		case json.Delim('}'), json.Delim(']'):
			open--
		}
	}
	return nil
}
