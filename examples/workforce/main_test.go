package main

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/workforce.golden")

// TestWorkforceOutput keeps the example from rotting: its output must match
// the golden file byte for byte.
func TestWorkforceOutput(t *testing.T) {
	var buf bytes.Buffer
	if err := run(&buf); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/workforce.golden"
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
		t.Errorf("workforce output differs from %s (run go test ./examples/workforce -update to accept):\n%s", golden, buf.String())
	}
}
