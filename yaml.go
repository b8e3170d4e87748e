package ensemble

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

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
// are rejected, as are mapping keys that are not strings, a second document
// (or anything after the first), documents over MaxDocumentBytes and alias
// bombs (ErrYAMLAliasExpansion, see MaxYAMLAliasBytes). Errors are
// *DecodeError values naming the YAML line and column. The time and memory
// spent are linear in the document's size, whatever its aliases.
func YAMLToJSON(doc []byte) ([]byte, error) {
	if len(doc) > MaxDocumentBytes {
		return nil, decodeError("yaml", doc, -1, "", fmt.Sprintf("document of %d bytes exceeds %d", len(doc), MaxDocumentBytes), nil)
	}
	if msg := checkEncoding(doc); msg != "" {
		return nil, decodeError("yaml", doc, 0, "", msg, nil)
	}
	if i := invalidUTF8(doc); i >= 0 {
		return nil, decodeError("yaml", doc, int64(i), "", "invalid UTF-8", nil)
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&root); err != nil && err != io.EOF {
		return nil, yamlParseErr(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, yamlParseErr(err)
		}
		return nil, yamlErr(&extra, "more than one document")
	}
	if root.Kind == 0 {
		return nil, &DecodeError{Subject: "yaml", Msg: "empty document (comments only)"}
	}
	w := yamlWriter{nodes: maxYAMLNodes, aliasLimit: len(doc) + MaxYAMLAliasBytes}
	if err := w.node(&root, 0); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// yamlWriter writes a YAML node tree as JSON, counting nodes and the bytes
// written for alias expansions as it goes, so that a document is refused
// after work bounded by its limits rather than after expanding in full.
type yamlWriter struct {
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
	a := w.alias
	return &DecodeError{Subject: "yaml", Line: a.Line, Column: a.Column, Offset: -1, Err: ErrYAMLAliasExpansion,
		Msg: fmt.Sprintf("aliases expand to more than %d bytes of JSON (the document's %d plus %d)",
			w.aliasLimit, w.aliasLimit-MaxYAMLAliasBytes, MaxYAMLAliasBytes)}
}

func yamlErr(n *yaml.Node, format string, args ...any) error {
	return &DecodeError{Subject: "yaml", Line: n.Line, Column: n.Column, Offset: -1, Msg: fmt.Sprintf(format, args...)}
}

// yamlParseErr types the YAML parser's error, keeping the line it names
// ("yaml: line 3: mapping values are not allowed in this context").
func yamlParseErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &DecodeError{Subject: "yaml", Offset: -1, Msg: msg, Err: err}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			if line, err := strconv.Atoi(n); err == nil {
				e.Line, e.Column, e.Msg = line, 1, strings.TrimSpace(after)
			}
		}
	}
	return e
}

// node writes n as JSON. Every node written inside an alias's expansion
// first checks the expansion's byte budget; a node writes at least one
// byte, so the checks bound nodes and bytes alike.
func (w *yamlWriter) node(n *yaml.Node, depth int) error {
	w.nodes--
	if w.nodes < 0 {
		return yamlErr(n, "document has more than %d nodes", maxYAMLNodes)
	}
	if depth > 200 {
		return yamlErr(n, "nesting deeper than 200")
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
			if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!int") {
				return yamlErr(k, "mapping key must be a string")
			}
			if k.Value == "<<" {
				return yamlErr(k, "merge keys are not supported")
			}
			if seen[k.Value] {
				return yamlErr(k, "duplicate key %q", k.Value)
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
				return yamlErr(n, "bad boolean %q", n.Value)
			}
			buf.WriteString(strconv.FormatBool(b))
		case "!!int", "!!float":
			if !json.Valid([]byte(n.Value)) || n.Value[0] == '+' {
				return yamlErr(n, "number %q is not plain decimal notation; quote it or write it as digits", n.Value)
			}
			buf.WriteString(n.Value)
		case "!!str", "!!timestamp", "":
			writeJSONString(buf, n.Value)
		default:
			return yamlErr(n, "unsupported tag %s", n.Tag)
		}
		return nil
	}
	return yamlErr(n, "unsupported node")
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	buf.Write(b)
}
