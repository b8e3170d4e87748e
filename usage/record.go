package usage

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// RecordID is a usage record's idempotency key, given by whoever emits the
// record. Two records with the same id are the same event: identical
// content is a duplicate, different content a Conflict.
type RecordID string

// LineRef refers to the order line (subscription line) a record meters. It
// is the order package's line id as a plain string, so that usage does not
// import order; the host passes the same reference in Line.Ref together
// with the line's active segments and billing cycle.
type LineRef string

// Record is one usage event: how much of a meter an order line used at an
// instant.
//
// The content of a record is everything but its ID: Line and Meter compared
// byte-wise, Quantity compared numerically (1.5 and 1.50 are the same
// quantity), At compared as an instant (time.Time.Equal: the same instant in
// two time zones is the same), and Attributes compared as a map (nil and
// empty are the same). Two records with the same ID and the same content are
// duplicates.
type Record struct {
	ID       RecordID        `json:"id"`
	Line     LineRef         `json:"line"`
	Meter    MeterID         `json:"meter"`
	Quantity decimal.Decimal `json:"quantity"`
	At       time.Time       `json:"at"`
	// Attributes are dimensions of the event (region, model, user). A
	// CountUnique meter counts the distinct values of one of them; a meter
	// that attributes its usage (Meter.AttributeTo) keeps its quantity per
	// value of one of them (the contractor who did the hours).
	Attributes map[string]string `json:"attributes,omitempty"`
}

// UnmarshalJSON reads a record. The quantity is a JSON string or number in
// plain decimal notation, read from its text (never through a float) with
// ensemble.ParseDecimal: exponents and more than ensemble.MaxAmountDigits
// digits are rejected. A missing or null quantity is zero. Decoding is
// strict: unknown fields, and a key given twice or in two cases (attribute
// keys included), are errors, so a re-sent record cannot smuggle a second
// quantity past the one reviewed.
func (r *Record) UnmarshalJSON(b []byte) error {
	if err := ensemble.CheckJSON("usage record", b); err != nil {
		return err
	}
	var w struct {
		ID         RecordID          `json:"id"`
		Line       LineRef           `json:"line"`
		Meter      MeterID           `json:"meter"`
		Quantity   json.RawMessage   `json:"quantity"`
		At         time.Time         `json:"at"`
		Attributes map[string]string `json:"attributes"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("usage: record: %w", err)
	}
	var q decimal.Decimal
	if raw := bytes.TrimSpace(w.Quantity); len(raw) > 0 && string(raw) != "null" {
		text := string(raw)
		if raw[0] == '"' {
			if err := json.Unmarshal(raw, &text); err != nil {
				return fmt.Errorf("usage: record %q: quantity: %w", w.ID, err)
			}
		}
		d, err := ensemble.ParseDecimal(text)
		if err != nil {
			return fmt.Errorf("usage: record %q: quantity: %w", w.ID, err)
		}
		q = d
	}
	if len(w.Attributes) == 0 {
		w.Attributes = nil
	}
	*r = Record{ID: w.ID, Line: w.Line, Meter: w.Meter, Quantity: q, At: w.At, Attributes: w.Attributes}
	return nil
}

// SameContent reports whether r and o have the same content as the Record
// doc defines it. IDs are not compared.
func (r Record) SameContent(o Record) bool {
	return r.Line == o.Line && r.Meter == o.Meter && r.Quantity.Equal(o.Quantity) &&
		r.At.Equal(o.At) && maps.Equal(r.Attributes, o.Attributes)
}

// canonical returns a copy of r that owns its attribute map and spells its
// content one way: the instant in UTC, the quantity without trailing zeros,
// no empty attribute map. Reports hold canonical copies, so that which of
// two equal-content copies arrived first never shows in the output.
func canonical(r Record) Record {
	r.At = r.At.UTC()
	r.Quantity = canonicalDecimal(r.Quantity)
	return cloneRecord(r)
}

// cloneRecord returns r with its own copy of the attributes (nil when
// empty).
func cloneRecord(r Record) Record {
	if len(r.Attributes) == 0 {
		r.Attributes = nil
	} else {
		r.Attributes = maps.Clone(r.Attributes)
	}
	return r
}

// canonicalDecimal spells d with no trailing fractional zeros and no
// positive exponent, as its plain text would be read back.
func canonicalDecimal(d decimal.Decimal) decimal.Decimal {
	n := numOf(d)
	if !n.readable() {
		return d // never printed: rejected before it is stored
	}
	if !n.big {
		c, e := n.c, n.e
		if c == 0 {
			return decimal.Decimal{}
		}
		for e < 0 && c%10 == 0 {
			c /= 10
			e++
		}
		if e > 0 {
			if sc, ok := scale(c, e); ok {
				c, e = sc, 0
			} else {
				return slowCanonical(d)
			}
		}
		return decimal.New(c, e)
	}
	return slowCanonical(d)
}

func slowCanonical(d decimal.Decimal) decimal.Decimal {
	if c, err := ensemble.ParseDecimal(d.String()); err == nil {
		return c
	}
	return d
}

// compareContent orders records by id, then instant, line, meter, quantity
// and attributes, so that reports list records in one stable order.
func compareContent(a, b Record) int {
	if c := strings.Compare(string(a.ID), string(b.ID)); c != 0 {
		return c
	}
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Line), string(b.Line)); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Meter), string(b.Meter)); c != 0 {
		return c
	}
	if c := a.Quantity.Cmp(b.Quantity); c != 0 {
		return c
	}
	return compareAttributes(a.Attributes, b.Attributes)
}

func compareAttributes(a, b map[string]string) int {
	ka, kb := slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b))
	for i := 0; i < len(ka) && i < len(kb); i++ {
		if c := strings.Compare(ka[i], kb[i]); c != 0 {
			return c
		}
		if c := strings.Compare(a[ka[i]], b[kb[i]]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ka), len(kb))
}
