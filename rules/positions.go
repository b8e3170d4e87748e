package rules

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"
)

// exprPos is where an expression's text starts in its YAML document, so
// that compile errors can name the document's line and column as well.
type exprPos struct {
	line, column int  // of the expression's first character
	block        bool // a literal block scalar: expression line n is document line line+n-1
	indent       int  // the block's indentation (column of its first character)
	quoted       bool // a quoted single-line scalar: columns are approximate past escapes
}

// docPositions holds, for each document of one YAML source in order, the
// positions of its expression fields.
type docPositions map[string]exprPos

// yamlPositions finds the expression and reason_expression scalars of each
// document of a YAML source. It returns nil when the source is not YAML it
// can read; positions are a help, never a requirement.
func yamlPositions(data []byte) []docPositions {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] == '{' || trimmed[0] == '[' {
		return nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil || root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	top := root.Content[0]
	var docs []*yaml.Node
	switch top.Kind {
	case yaml.MappingNode:
		docs = []*yaml.Node{top}
	case yaml.SequenceNode:
		docs = top.Content
	default:
		return nil
	}
	lines := strings.Split(string(data), "\n")
	out := make([]docPositions, len(docs))
	for i, d := range docs {
		if d.Kind != yaml.MappingNode {
			continue
		}
		for k := 0; k+1 < len(d.Content); k += 2 {
			key, val := d.Content[k], d.Content[k+1]
			if key.Value != "expression" && key.Value != "reason_expression" {
				continue
			}
			if val.Kind != yaml.ScalarNode {
				continue
			}
			p, ok := scalarPos(val, lines)
			if !ok {
				continue
			}
			if out[i] == nil {
				out[i] = docPositions{}
			}
			out[i][key.Value] = p
		}
	}
	return out
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
			return exprPos{line: n.Line + 1, column: 1, block: true, indent: indent + 1}, true
		}
		return exprPos{}, false
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if strings.Contains(n.Value, "\n") {
			return exprPos{}, false
		}
		return exprPos{line: n.Line, column: n.Column + 1, quoted: true}, true
	case 0: // plain
		if strings.Contains(n.Value, "\n") {
			return exprPos{}, false
		}
		return exprPos{line: n.Line, column: n.Column}, true
	}
	return exprPos{}, false
}

// place returns the document line and column of an expression's line and
// column (both from 1).
func (p exprPos) place(line, column int) (int, int) {
	if p.block {
		return p.line + line - 1, p.indent + column - 1
	}
	if line != 1 {
		return 0, 0
	}
	return p.line, p.column + column - 1
}
