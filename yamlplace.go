package ensemble

import (
	"errors"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DecodeYAML decodes a YAML document into v as DecodeDocument decodes JSON
// (YAMLToJSON, then DecodeDocument's strict checks), with every
// *DecodeError placed in the YAML document itself: its Line and Column are
// those of the YAML node at the error's path, not of the JSON the document
// was converted to.
func DecodeYAML(subject string, doc []byte, v any) error {
	js, err := YAMLToJSON(doc)
	if err != nil {
		return err
	}
	return PlaceYAML(doc, js, "", DecodeDocument(subject, js, v))
}

// PlaceYAML moves the *DecodeError in err (if any, found with errors.As and
// changed in place) from js, the JSON YAMLToJSON made of doc, or a part of
// it at path prefix ("[2]" for the third item of a list), to doc: its Path
// is completed with the prefix, and Line and Column (in bytes) become
// those of the YAML node at that path, or of the nearest enclosing node
// that can be found. Offset becomes the node's offset in doc. It returns
// err.
func PlaceYAML(doc, js []byte, prefix string, err error) error {
	var de *DecodeError
	if !errors.As(err, &de) {
		return err
	}
	path := de.Path
	if path == "" && de.Offset >= 0 {
		path = pathAt(js, de.Offset)
	}
	path = joinPath(prefix, path)
	de.Path = path
	var root yaml.Node
	if yaml.Unmarshal(doc, &root) != nil || len(root.Content) == 0 {
		return err
	}
	name, unknown := unknownField(de)
	if unknown {
		// An unknown field is placed at its key, under the path that
		// holds it (a nested decoder names it only in its message).
		path = strings.TrimSuffix(strings.TrimSuffix(path, name), ".")
	}
	n := yamlNodeAt(root.Content[0], path)
	if n == nil {
		return err
	}
	if unknown {
		if k, sub := yamlKeyUnder(n, name, path); k != nil {
			n, de.Path = k, sub
		}
	}
	off := yamlOffset(doc, n.Line, n.Column)
	d := yamlAt(doc, off, "", nil)
	de.Line, de.Column, de.Offset = d.Line, d.Column, int64(off)
	return err
}

// unknownField returns the field encoding/json refused as unknown, as the
// error's message or cause names it.
func unknownField(de *DecodeError) (string, bool) {
	msg := de.Msg
	if de.Err != nil {
		msg += " " + de.Err.Error()
	}
	_, rest, ok := strings.Cut(msg, `unknown field "`)
	if !ok {
		return "", false
	}
	name, _, ok := strings.Cut(rest, `"`)
	return name, ok
}

// yamlKeyUnder finds, breadth first, the first mapping key spelled name
// under n, and its path from n.
func yamlKeyUnder(n *yaml.Node, name, path string) (*yaml.Node, string) {
	type item struct {
		n    *yaml.Node
		path string
	}
	queue := []item{{n, path}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		switch it.n.Kind {
		case yaml.MappingNode:
			for k := 0; k+1 < len(it.n.Content); k += 2 {
				p := joinPath(it.path, it.n.Content[k].Value)
				if it.n.Content[k].Value == name {
					return it.n.Content[k], p
				}
				queue = append(queue, item{it.n.Content[k+1], p})
			}
		case yaml.SequenceNode:
			for k, c := range it.n.Content {
				queue = append(queue, item{c, it.path + "[" + strconv.Itoa(k) + "]"})
			}
		}
	}
	return nil, ""
}

// joinPath joins a path prefix and a path as Path spells them.
func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "", path[0] == '[':
		return prefix + path
	}
	return prefix + "." + path
}

// yamlNodeAt walks a path ("offers[3].charges[1].id") from n and returns
// the deepest node it reaches (a key's value, or the key itself when its
// value is a scalar it cannot descend into).
func yamlNodeAt(n *yaml.Node, path string) *yaml.Node {
	at := n
	for _, seg := range splitPath(path) {
		for at.Kind == yaml.AliasNode && at.Alias != nil {
			at = at.Alias
		}
		next := (*yaml.Node)(nil)
		if i, err := strconv.Atoi(seg); err == nil && at.Kind == yaml.SequenceNode {
			if i >= 0 && i < len(at.Content) {
				next = at.Content[i]
			}
		} else if at.Kind == yaml.MappingNode {
			for k := 0; k+1 < len(at.Content); k += 2 {
				if at.Content[k].Value == seg {
					next = at.Content[k+1]
					break
				}
			}
		}
		if next == nil {
			return at
		}
		at = next
	}
	return at
}

// splitPath splits "a.b[3].c" into "a", "b", "3", "c".
func splitPath(path string) []string {
	var out []string
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			switch {
			case i < 0:
				out = append(out, part)
				part = ""
			case i > 0:
				out = append(out, part[:i])
				part = part[i:]
			default:
				j := strings.IndexByte(part, ']')
				if j < 0 {
					return out
				}
				out = append(out, part[1:j])
				part = part[j+1:]
			}
		}
	}
	return out
}

// YAMLLines splits a document into its lines as YAML counts them (a line
// ends at \n, \r\n, \r, U+0085, U+2028 or U+2029), without the breaks: line
// n of a *DecodeError (or of go.yaml.in/yaml/v3's nodes) is YAMLLines(doc)[n-1].
func YAMLLines(doc []byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(doc); {
		if n := yamlBreak(doc, i); n > 0 {
			out = append(out, string(doc[start:i]))
			i += n
			start = i
			continue
		}
		i++
	}
	return append(out, string(doc[start:]))
}
