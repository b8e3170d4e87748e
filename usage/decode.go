package usage

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// Decode reads usage records as JSON from r, one at a time, so that a large
// export never sits in memory whole: either one JSON array of records, or a
// stream of record objects (JSON Lines, or objects one after the other). It
// yields each record with a nil error. On the first record that cannot be
// decoded it yields a *DecodeError naming the record's position, and stops;
// a host that wants to skip bad lines splits them itself and uses
// json.Unmarshal per line.
//
// Pass the records on with a filter, such as:
//
//	a.Add(func(yield func(usage.Record) bool) {
//		for r, err := range usage.Decode(body) {
//			if err != nil { decodeErr = err; return }
//			if !yield(r) { return }
//		}
//	})
func Decode(r io.Reader) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		br := bufio.NewReader(r)
		array := false
		for {
			c, err := br.ReadByte()
			if err == io.EOF {
				return // an empty stream holds no record
			}
			if err != nil {
				yield(Record{}, &DecodeError{Index: 0, Err: err})
				return
			}
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				continue
			}
			array = c == '['
			_ = br.UnreadByte()
			break
		}
		dec := json.NewDecoder(br)
		if array {
			if _, err := dec.Token(); err != nil { // the opening bracket
				yield(Record{}, &DecodeError{Index: 0, Err: err})
				return
			}
		}
		for i := 0; ; i++ {
			if array && !dec.More() {
				if _, err := dec.Token(); err != nil { // the closing bracket
					yield(Record{}, &DecodeError{Index: i, Err: err})
					return
				}
				if _, err := dec.Token(); err != io.EOF {
					yield(Record{}, &DecodeError{Index: i, Err: errors.New("data after the array")})
				}
				return
			}
			var rec Record
			err := dec.Decode(&rec)
			if err == io.EOF && !array {
				return
			}
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				yield(Record{}, &DecodeError{Index: i, Err: err})
				return
			}
			if !yield(rec, nil) {
				return
			}
		}
	}
}

// DecodeError reports a record Decode could not read: its position in the
// stream (from 0) and why.
type DecodeError struct {
	Index int
	Err   error
}

// Error reports the record's position and the cause, such as
// `usage: decode record 3: ...`.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("usage: decode record %d: %v", e.Index, e.Err)
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }
