package ensemble

import (
	"bytes"
	"encoding/json"
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
// included), defusing "billion laughs" documents.
const maxYAMLNodes = 1 << 20

// YAMLToJSON converts one YAML document to JSON so that every document type
// of the library is decoded by encoding/json alone, with one set of field
// tags. Numbers keep their exact text (0.1 stays 0.1 and never passes through
// a float); the YAML number spellings JSON lacks (1_000, 0x1F, .inf, .nan)
// are rejected, as are mapping keys that are not strings, a second document
// (or anything after the first), documents over MaxDocumentBytes and alias
// bombs. Errors name the YAML line and column.
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
	var buf bytes.Buffer
	budget := maxYAMLNodes
	if root.Kind == 0 {
		return nil, &DecodeError{Subject: "yaml", Msg: "empty document (comments only)"}
	}
	if err := writeYAMLNode(&buf, &root, &budget, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
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

func writeYAMLNode(buf *bytes.Buffer, n *yaml.Node, budget *int, depth int) error {
	*budget--
	if *budget < 0 {
		return yamlErr(n, "document has more than %d nodes", maxYAMLNodes)
	}
	if depth > 200 {
		return yamlErr(n, "nesting deeper than 200")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			buf.WriteString("null")
			return nil
		}
		return writeYAMLNode(buf, n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		return writeYAMLNode(buf, n.Alias, budget, depth+1)
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
			if err := writeYAMLNode(buf, v, budget, depth+1); err != nil {
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
			if err := writeYAMLNode(buf, c, budget, depth+1); err != nil {
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
