package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ensemble-commerce/ensemble"
)

// DecodeCommand reads one Command from JSON strictly: unknown fields,
// trailing data and documents over ensemble.MaxDocumentBytes are errors, so
// a misspelt field is never silently ignored. Decimals are JSON strings (or
// numbers, read from their text).
func DecodeCommand(data []byte) (Command, error) {
	var c Command
	if err := decodeStrict(data, "command", &c); err != nil {
		return Command{}, err
	}
	return c, nil
}

// DecodeOrder reads one Order from JSON strictly, as DecodeCommand does. It
// checks the encoding only; Fold of the order's events is what proves a
// state.
func DecodeOrder(data []byte) (Order, error) {
	var o Order
	if err := decodeStrict(data, "order", &o); err != nil {
		return Order{}, err
	}
	return o, nil
}

// DecodeEvents reads a JSON array of events strictly, as DecodeCommand does.
func DecodeEvents(data []byte) ([]Event, error) {
	var evs []Event
	if err := decodeStrict(data, "events", &evs); err != nil {
		return nil, err
	}
	return evs, nil
}

// ErrDecode is matched by every decoding error.
var ErrDecode = errors.New("order: cannot decode")

func decodeStrict(data []byte, what string, v any) error {
	if len(data) > ensemble.MaxDocumentBytes {
		return fmt.Errorf("%w %s: %d bytes exceed %d", ErrDecode, what, len(data), ensemble.MaxDocumentBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w %s: %w", ErrDecode, what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w %s: trailing data after the document", ErrDecode, what)
	}
	return nil
}
