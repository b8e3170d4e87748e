package main

import (
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

// yamlDoc places the values of a YAML or JSON document by the paths that
// validation errors give ("root.children[2].party"), so that problems
// found in the decoded plans and network are shown in the file's own
// coordinates, as rules shows its own.
type yamlDoc struct {
	lines []string
	root  *yaml.Node   // nil when the file does not parse
	items []*yaml.Node // each element of a top-level list, or the document itself
}

func parseYAML(data []byte) yamlDoc {
	d := yamlDoc{lines: ensemble.YAMLLines(data)}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return d
	}
	d.root = doc.Content[0]
	if d.root.Kind == yaml.SequenceNode {
		d.items = d.root.Content
	} else {
		d.items = []*yaml.Node{d.root}
	}
	return d
}

// place returns the line and column (from 1) of the value at path under
// the i-th item, or under the document's root when i < 0. A scalar is
// placed where its value is written, a list or map at its key; a path
// that goes deeper than the document is placed at the deepest value found.
// It returns 0, 0 when it cannot tell.
func (d yamlDoc) place(i int, path string) (line, column int) {
	return d.clamp(d.placeNode(i, path))
}

// clamp keeps a place inside the document: the YAML parser places the
// empty value of a document such as "---" on the line after its last.
func (d yamlDoc) clamp(line, column int) (int, int) {
	if line > len(d.lines) {
		last := len(d.lines)
		return last, len(d.lines[last-1]) + 1
	}
	return line, column
}

// placeNode is place, before clamp.
func (d yamlDoc) placeNode(i int, path string) (line, column int) {
	var n *yaml.Node
	switch {
	case i >= 0 && i < len(d.items):
		n = d.items[i]
	case i < 0 && path != "":
		n = d.root
	}
	if n == nil {
		return 0, 0
	}
	line, column = n.Line, n.Column
	for path != "" {
		path = strings.TrimPrefix(path, ".")
		n = deref(n)
		var next, at *yaml.Node
		if strings.HasPrefix(path, "[") {
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return line, column
			}
			k, err := strconv.Atoi(path[1:end])
			if err != nil || n.Kind != yaml.SequenceNode || k < 0 || k >= len(n.Content) {
				return line, column
			}
			path = path[end+1:]
			next, at = n.Content[k], n.Content[k]
		} else {
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			key := path[:end]
			path = path[end:]
			if n.Kind != yaml.MappingNode {
				return line, column
			}
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == key {
					next, at = n.Content[j+1], n.Content[j]
				}
			}
			if next == nil {
				return line, column
			}
			if deref(next).Kind == yaml.ScalarNode {
				at = next
			}
		}
		n = next
		line, column = at.Line, at.Column
	}
	return line, column
}

// findKey returns where the first mapping key named key is, depth first
// under the i-th item (the root when i < 0), or 0, 0.
func (d yamlDoc) findKey(i int, key string) (line, column int) {
	n := d.root
	if i >= 0 && i < len(d.items) {
		n = d.items[i]
	}
	if n == nil {
		return 0, 0
	}
	var find func(n *yaml.Node) *yaml.Node
	find = func(n *yaml.Node) *yaml.Node {
		if n.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == key {
					return n.Content[j]
				}
			}
		}
		for _, c := range n.Content {
			if k := find(c); k != nil {
				return k
			}
		}
		return nil
	}
	if k := find(n); k != nil {
		return d.clamp(k.Line, k.Column)
	}
	return 0, 0
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// scalar returns the value of the scalar field key of the i-th item, or "".
func (d yamlDoc) scalar(i int, key string) string {
	if i < 0 || i >= len(d.items) {
		return ""
	}
	n := deref(d.items[i])
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if v := deref(n.Content[j+1]); n.Content[j].Value == key && v.Kind == yaml.ScalarNode {
			return v.Value
		}
	}
	return ""
}

// snippet shows the file's line with a caret under column, as the rules'
// diagnostics do; "" when line is unknown.
func (d yamlDoc) snippet(line, column int) string {
	if line < 1 || line > len(d.lines) {
		return ""
	}
	text := strings.TrimRight(d.lines[line-1], "\r")
	column = min(max(column, 1), len(text)+1)
	return " | " + text + "\n | " + strings.Repeat(".", column-1) + "^"
}

// unknownField finds the field name in encoding/json's "unknown field"
// message, which says no path.
var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// diagnostic places p in the file: where the error itself says, else at
// the field an unknown-field error names, else at path under the i-th item
// (the document's root when i < 0).
func (d yamlDoc) diagnostic(severity, source string, p problem, i int, path string) rules.Diagnostic {
	line, column := p.line, p.col
	if m := unknownField.FindStringSubmatch(p.msg); line == 0 && m != nil {
		line, column = d.findKey(i, m[1])
	}
	if line == 0 {
		line, column = d.place(i, path)
	}
	return rules.Diagnostic{Severity: severity, Source: source, Line: line, Column: column, Field: path,
		Message: p.msg, Hint: p.hint, Snippet: d.snippet(line, column), Err: p.err}
}
