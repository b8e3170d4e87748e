package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// BenchmarkCoders encodes and decodes, through the coders the pipeline
// registers, a line, one of its entries, and a State of 1,000 lines,
// reporting the encoded bytes (per line for the State) beside the time: at
// every stage boundary an element pays this, and it is most of what the
// pipeline spends beyond settling.
func BenchmarkCoders(b *testing.B) {
	settler, err := newSettler(plansYAML, networkYAML())
	if err != nil {
		b.Fatal(err)
	}
	lines := generateMonth(1_000)
	res, err := settler.Settle(context.Background(), settlement.State{}, lines)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("line", func(b *testing.B) { benchCoder(b, lines[0], 1) })
	b.Run("entry", func(b *testing.B) { benchCoder(b, res.Entries[0], 1) })
	b.Run("state_1000_lines", func(b *testing.B) { benchCoder(b, res.State, res.State.Len()) })
}

// BenchmarkDecodeLine decodes one generated line as the input files hold
// it: with DecodeLine (the pipeline's reader), with the strict
// ensemble.DecodeJSON it stands in for, and with plain json.Unmarshal.
func BenchmarkDecodeLine(b *testing.B) {
	text, err := json.Marshal(generateMonth(1)[0])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("DecodeLine", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeLine(text); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ensemble.DecodeJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var l settlement.Line
			if err := ensemble.DecodeJSON("settlement line", text, &l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var l settlement.Line
			if err := json.Unmarshal(text, &l); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchCoder[T any](b *testing.B, v T, perLine int) {
	enc := beam.NewElementEncoder(reflect.TypeFor[T]())
	dec := beam.NewElementDecoder(reflect.TypeFor[T]())
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := enc.Encode(v, &buf); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(buf.Len())/float64(perLine), "bytes/line")
		if _, err := dec.Decode(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
