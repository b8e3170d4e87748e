package main

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/telco.golden")

// TestTelcoOutput keeps the example from rotting: its output must
// match the golden file byte for byte.
func TestTelcoOutput(t *testing.T) {
	var buf bytes.Buffer
	if err := run(&buf); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/telco.golden"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("telco output differs from %s (run go test ./examples/telco -update to accept):\n%s", golden, buf.String())
	}
}
