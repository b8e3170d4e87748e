package order

import (
	"errors"
	"fmt"

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
	if err := ensemble.DecodeDocument("order "+what, data, v); err != nil {
		return fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return nil
}
