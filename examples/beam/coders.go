package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// Every type that travels between the pipeline's stages has an explicit
// coder. Without one, Beam's default struct coder encodes the exported
// fields it can see, and ensemble.Money has none: every amount arrives as
// zero, and the job still exits 0 (TestDefaultCoderZeroesMoney). States
// and entries use the library's compact binary form (State.MarshalBinary,
// settlement.EncodeEntries: about 100 and 60 bytes against 1,400 and 500 of
// JSON; a State's decode checks every invariant); lines and statements their
// JSON, which round-trips exactly (decimals as strings), decoded with
// encoding/json rather than the strict DecodeLine the pipeline reads its
// input files with: between stages a coder reads only what its own encoder
// wrote (BenchmarkCoders, BenchmarkDecodeLine).
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

func encodeEntry(v settlement.Entry) ([]byte, error) {
	return settlement.EncodeEntries([]settlement.Entry{v})
}

func decodeEntry(b []byte) (settlement.Entry, error) {
	es, err := settlement.DecodeEntries(b)
	if err != nil {
		return settlement.Entry{}, err
	}
	if len(es) != 1 {
		return settlement.Entry{}, fmt.Errorf("beam: entry coder read %d entries, want 1", len(es))
	}
	return es[0], nil
}

func encodeStatement(v settlement.Statement) ([]byte, error) { return json.Marshal(v) }

func decodeStatement(b []byte) (v settlement.Statement, err error) {
	return v, json.Unmarshal(b, &v)
}

func encodeState(v settlement.State) ([]byte, error) { return v.MarshalBinary() }

func decodeState(b []byte) (v settlement.State, err error) {
	return v, v.UnmarshalBinary(b)
}

// A ShardState is its key, length first, then its State's binary form.
func encodeShardState(v ShardState) ([]byte, error) {
	st, err := v.State.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := binary.AppendUvarint(nil, uint64(len(v.Shard)))
	return append(append(b, v.Shard...), st...), nil
}

func decodeShardState(b []byte) (ShardState, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return ShardState{}, fmt.Errorf("beam: shard state coder: bad key length")
	}
	v := ShardState{Shard: string(b[k : k+int(n)])}
	return v, v.State.UnmarshalBinary(b[k+int(n):])
}
