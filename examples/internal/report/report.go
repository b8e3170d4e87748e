// Package report prints the examples' output: titled sections of lines,
// remembering the first write error so a program checks once at the end.
// It is shared by the example programs and is not part of the library.
package report

import (
	"fmt"
	"io"
	"strings"
)

// Printer writes lines to W and keeps the first write error in Err.
type Printer struct {
	W   io.Writer
	Err error
}

// Line writes one formatted line.
func (p *Printer) Line(format string, args ...any) {
	if p.Err == nil {
		_, p.Err = fmt.Fprintf(p.W, format+"\n", args...)
	}
}

// Block writes a multi-line text indented by two spaces.
func (p *Printer) Block(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		p.Line("  %s", l)
	}
}

// Title starts a section: a blank line, the title and a rule under it.
func (p *Printer) Title(s string) {
	p.Line("\n%s\n%s", s, strings.Repeat("-", len([]rune(s))))
}
