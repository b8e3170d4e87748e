package usage

import (
	"errors"
	"strconv"
)

// MeterID names a meter, such as "gpu_hours" or "api_calls". An empty
// MeterID is invalid; ids are compared byte-wise when sorting.
type MeterID string

// Aggregation says how a meter folds the quantities of the records of one
// order line and billing period into one value.
type Aggregation uint8

const (
	// AggregationUnspecified is the zero value; a Meter must name its
	// aggregation.
	AggregationUnspecified Aggregation = iota
	// Sum adds the quantities exactly.
	Sum
	// Max keeps the greatest quantity. Its Aggregate.Source is the record
	// that holds it; among equal maxima, the byte-wise greatest record id.
	Max
	// Count counts the records; their quantities are ignored.
	Count
	// CountUnique counts the distinct values of the attribute named by
	// Meter.UniqueAttribute, exactly (no sketch); quantities are ignored.
	CountUnique
	// Latest keeps the quantity of the record with the latest instant;
	// records with the same instant are ordered by record id, so the
	// byte-wise greatest id wins.
	Latest
	// WeightedAverage is the time-weighted average level over the
	// period: each record is an absolute reading ("the level is now X",
	// such as the TB protected or the seats held), the level holds from
	// the reading's instant until the next reading, and the aggregate is
	// ∫ level dt / period length, so that a reading of 100 every day of
	// January is 100 (TB-months, seat-months) and 100 for 10 days then
	// 200 for 21 is (100×10 + 200×21)/31. See Aggregate.Levels for the
	// level before a period's first reading, the arithmetic and its
	// rounding (WeightedScale). Readings, not deltas: a host meters a
	// stock by reading it, a reading re-sent or lost does not shift every
	// later level, and a late reading changes only the stretch up to the
	// next one. Quantities may be negative only with AllowNegative; a
	// weighted meter cannot attribute its usage (Meter.AttributeTo), since
	// averages of parts do not add up to the whole's.
	WeightedAverage
)

var aggregationNames = [...]string{
	AggregationUnspecified: "unspecified",
	Sum:                    "sum",
	Max:                    "max",
	Count:                  "count",
	CountUnique:            "count_unique",
	Latest:                 "latest",
	WeightedAverage:        "weighted_average",
}

// String returns the aggregation's lowercase name, such as "count_unique".
func (g Aggregation) String() string {
	if int(g) < len(aggregationNames) {
		return aggregationNames[g]
	}
	return "aggregation(" + strconv.Itoa(int(g)) + ")"
}

// ParseAggregation reads an aggregation's name as String writes it. The
// empty string and "unspecified" are AggregationUnspecified.
func ParseAggregation(s string) (Aggregation, error) {
	if s == "" {
		return AggregationUnspecified, nil
	}
	for i, name := range aggregationNames {
		if name == s {
			return Aggregation(i), nil
		}
	}
	return 0, &ParseError{Kind: "aggregation", Input: clip(s), Want: "sum, max, count, count_unique, latest or weighted_average"}
}

// MarshalText writes the aggregation's name; an unknown value is an error.
func (g Aggregation) MarshalText() ([]byte, error) {
	if int(g) >= len(aggregationNames) {
		return nil, &ParseError{Kind: "aggregation", Input: g.String(), Want: "a declared aggregation"}
	}
	return []byte(aggregationNames[g]), nil
}

// UnmarshalText reads an aggregation's name, as ParseAggregation.
func (g *Aggregation) UnmarshalText(b []byte) error {
	v, err := ParseAggregation(string(b))
	if err != nil {
		return err
	}
	*g = v
	return nil
}

// Meter says what is measured and how records are folded. Meters are
// declared in a Config and referred to by ID from records.
type Meter struct {
	// ID is the meter's unique, non-empty name.
	ID MeterID `json:"id"`
	// Unit is what one unit of quantity measures ("GB", "hour", "call").
	// It is copied onto every Aggregate and otherwise not interpreted.
	Unit string `json:"unit,omitempty"`
	// Aggregation is how quantities fold; it must be specified.
	Aggregation Aggregation `json:"aggregation"`
	// UniqueAttribute names the record attribute whose distinct values a
	// CountUnique meter counts. It is required for CountUnique and must be
	// empty for every other aggregation. A record without the attribute is
	// rejected with ErrMissingAttribute.
	UniqueAttribute string `json:"unique_attribute,omitempty"`
	// AttributeTo names the record attribute that says whose usage a
	// record is (such as "contractor"), for a usage charge that attributes
	// its usage (catalog.Charge.AttributeTo, the same name): every
	// Aggregate of the meter then keeps its quantity per value of the
	// attribute (Aggregate.Parts). Only a Sum or Count meter can be
	// attributed, since only their quantities add up over the values. A
	// record without the attribute, or with an empty value, is rejected
	// with ErrMissingAttribute (the usage would be nobody's, and whoever
	// did it unpaid): fix it and send it again, and it is billed then, once.
	// A value outside the id grammar of the root package doc (it names a
	// partner, and goes into invoice line ids) is rejected with
	// ErrInvalidRecord.
	// Empty: not attributed.
	AttributeTo string `json:"attribute_to,omitempty"`
	// AllowUnattributed, with AttributeTo, accepts a record without the
	// attribute (or with an empty value) as usage attributed to nobody —
	// direct usage, through no partner's integration — instead of
	// rejecting it: its quantity goes to the aggregate's Part of the empty
	// value, "", which the invoice bills on a line of its own with no
	// Attribution (the charge's plain line ID and description), so that
	// settlement sees the line attributed to no one (settlement
	// Line.Attributed empty) and a node paying `attributed` guarded by
	// `line.attributed != ""` pays nobody on it. No value need be invented
	// for such usage ("direct"), printed on the customer's invoice and
	// guarded against in plans. False, the default, rejects such a record
	// with ErrMissingAttribute. It needs AttributeTo.
	AllowUnattributed bool `json:"allow_unattributed,omitempty"`
	// AllowNegative lets records carry negative quantities (corrections,
	// returns). When false, the default, a negative quantity is rejected
	// with ErrNegativeQuantity.
	AllowNegative bool `json:"allow_negative,omitempty"`
	// LevelHours, on a WeightedAverage meter, makes the period's value the
	// level's integral over the period in hours — ∫ level dt / 1 h, the
	// level times the hours it was held (inactive stretches counting
	// zero), rounded once to WeightedScale digits — instead of its average
	// over the period: instance-hours, GPU-hours, priced per hour of a
	// level (2 GPUs reserved all February are 1,344 GPU-hours, 2 × 672,
	// where the average is 2 GPU-months whatever the month's length). A
	// piece of a cycle (Line.Cycles) counts its own hours, so the pieces
	// add up to the cycle's. It needs WeightedAverage.
	LevelHours bool `json:"level_hours,omitempty"`
}

// Errors about a Config, reported inside an *ensemble.ValidationError at the
// path of the offending field.
var (
	// ErrEmptyID reports an empty meter id or line reference.
	ErrEmptyID = errors.New("usage: empty id")
	// ErrDuplicateID reports a meter id or line reference declared twice.
	ErrDuplicateID = errors.New("usage: duplicate id")
	// ErrBadAggregation reports an unspecified or unknown aggregation, or a
	// unique attribute that does not fit the aggregation.
	ErrBadAggregation = errors.New("usage: bad aggregation")
	// ErrBadResendPolicy reports a Config.Resend that is not a
	// ResendPolicy this package defines.
	ErrBadResendPolicy = errors.New("usage: unknown resend policy")
)

// ParseError reports text that could not be read as a value of the named
// kind (aggregation, reason, digest).
type ParseError struct {
	Kind  string // what was being parsed, such as "aggregation"
	Input string // the rejected text, cut to 64 bytes
	Want  string // what was expected
}

// Error reports the kind, the rejected text and what was expected.
func (e *ParseError) Error() string {
	return "usage: parse " + e.Kind + " " + strconv.Quote(e.Input) + ": want " + e.Want
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
