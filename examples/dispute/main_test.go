package main

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/dispute.golden")

// TestDisputeOutput keeps the example from rotting: its output must match the
// golden file byte for byte.
func TestDisputeOutput(t *testing.T) {
	var buf bytes.Buffer
	if err := run(&buf); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/dispute.golden"
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
		t.Errorf("dispute output differs from %s (run go test ./examples/dispute -update to accept):\n%s", golden, buf.String())
	}
}

// TestDisputeDeterministic runs the example twice: the same documents give
// the same output, byte for byte.
func TestDisputeDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := run(&a); err != nil {
		t.Fatal(err)
	}
	if err := run(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two runs of the example printed different output")
	}
}
