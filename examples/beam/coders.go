package main

import (
	"encoding/json"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// Every type that travels between the pipeline's stages has an explicit
// coder. Without one, Beam's default struct coder encodes the exported
// fields it can see, and ensemble.Money has none: every amount arrives as
// zero, and the job still exits 0 (TestDefaultCoderZeroesMoney). The coders
// use the types' JSON forms, which round-trip exactly (decimals as strings).
// They decode with encoding/json, not the strict ensemble.DecodeJSON the
// pipeline reads its input files with: between stages a coder reads only
// what its own encoder wrote, and the strict checks cost a line 24 times
// as much (BenchmarkCoders). A State still checks its invariants.
//
// Beam finds coder functions by their symbol names, and every instance of
// a generic function has the same one: each type has its own pair of plain
// functions.
func init() {
	beam.RegisterCoder(reflect.TypeFor[settlement.Line](), encodeLine, decodeLine)
	beam.RegisterCoder(reflect.TypeFor[settlement.Entry](), encodeEntry, decodeEntry)
	beam.RegisterCoder(reflect.TypeFor[settlement.Statement](), encodeStatement, decodeStatement)
	beam.RegisterCoder(reflect.TypeFor[settlement.State](), encodeState, decodeState)
	beam.RegisterCoder(reflect.TypeFor[ShardState](), encodeShardState, decodeShardState)
}

func encodeLine(v settlement.Line) ([]byte, error) { return json.Marshal(v) }

func decodeLine(b []byte) (v settlement.Line, err error) {
	return v, json.Unmarshal(b, &v)
}

func encodeEntry(v settlement.Entry) ([]byte, error) { return json.Marshal(v) }

func decodeEntry(b []byte) (v settlement.Entry, err error) {
	return v, json.Unmarshal(b, &v)
}

func encodeStatement(v settlement.Statement) ([]byte, error) { return json.Marshal(v) }

func decodeStatement(b []byte) (v settlement.Statement, err error) {
	return v, json.Unmarshal(b, &v)
}

func encodeState(v settlement.State) ([]byte, error) { return json.Marshal(v) }

func decodeState(b []byte) (v settlement.State, err error) {
	return v, json.Unmarshal(b, &v)
}

func encodeShardState(v ShardState) ([]byte, error) { return json.Marshal(v) }

func decodeShardState(b []byte) (v ShardState, err error) {
	return v, json.Unmarshal(b, &v)
}
