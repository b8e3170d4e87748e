package usage

import (
	"errors"
	"strconv"
)

// Errors a rejected record matches with errors.Is, one per Reason.
var (
	// ErrInvalidRecord reports a record that cannot be read as usage: an
	// empty id, one longer than MaxIDBytes, or a quantity whose plain text
	// has more than ensemble.MaxAmountDigits digits (such records are
	// rejected before deduplication, every copy of them; the rejection
	// shows such a quantity as 0 and states its size in Detail), or an
	// instant outside the years 1678-2262 (the range of int64
	// nanoseconds).
	ErrInvalidRecord = errors.New("usage: invalid record")
	// ErrUnknownLine reports a record for a line the Config does not hold.
	ErrUnknownLine = errors.New("usage: unknown line")
	// ErrUnknownMeter reports a record for a meter the Config does not hold.
	ErrUnknownMeter = errors.New("usage: unknown meter")
	// ErrNegativeQuantity reports a negative quantity on a meter that does
	// not allow them.
	ErrNegativeQuantity = errors.New("usage: negative quantity")
	// ErrOutsideActive reports a record whose instant lies in none of its
	// line's active segments.
	ErrOutsideActive = errors.New("usage: outside active segments")
	// ErrMissingAttribute reports a record for a CountUnique meter without
	// the attribute the meter counts, or for a meter that attributes its
	// usage (Meter.AttributeTo) without a value for that attribute.
	ErrMissingAttribute = errors.New("usage: missing attribute")
	// ErrNoPeriod reports a record whose instant the line's billing cycle
	// cannot place in a period (too many cycles from the anchor).
	ErrNoPeriod = errors.New("usage: no billing period")
	// ErrConflict is matched by every Conflict: one record id with two or
	// more different contents, in one run or across runs (a record re-sent
	// with another content than the one Config.Ledger says was billed);
	// and by a *LedgerConflictError.
	ErrConflict = errors.New("usage: conflicting records")
	// ErrUncorrectable is matched, besides ErrConflict, by a Conflict of
	// a record re-sent under a billed id that ResendCorrects could not take
	// as a correction (Conflict.Uncorrectable says why).
	ErrUncorrectable = errors.New("usage: re-sent record is not a correction")
	// ErrPrunedPeriod reports a record of a billing period that ended at
	// or before the cutoff Config.Ledger was pruned at (see Ledger.Prune):
	// the ledger no longer knows whether it was billed, so it is refused.
	ErrPrunedPeriod = errors.New("usage: period pruned from the ledger")
	// ErrOpenAggregate reports an aggregate of Config.Open the run cannot
	// merge (of a line or meter the config does not hold, a closed or
	// pruned period, a period given twice, see Config.Open), or, from
	// MergeReports, one open aggregate merged by two of the reports.
	ErrOpenAggregate = errors.New("usage: open aggregate the run cannot merge")
)

// Reason says why a record was rejected.
type Reason uint8

const (
	// ReasonUnspecified is the zero value; no rejection carries it.
	ReasonUnspecified Reason = iota
	// ReasonInvalidRecord matches ErrInvalidRecord.
	ReasonInvalidRecord
	// ReasonUnknownLine matches ErrUnknownLine.
	ReasonUnknownLine
	// ReasonUnknownMeter matches ErrUnknownMeter.
	ReasonUnknownMeter
	// ReasonNegativeQuantity matches ErrNegativeQuantity.
	ReasonNegativeQuantity
	// ReasonOutsideActive matches ErrOutsideActive.
	ReasonOutsideActive
	// ReasonMissingAttribute matches ErrMissingAttribute.
	ReasonMissingAttribute
	// ReasonNoPeriod matches ErrNoPeriod.
	ReasonNoPeriod
	// ReasonPrunedPeriod matches ErrPrunedPeriod.
	ReasonPrunedPeriod
)

var reasonNames = [...]string{
	ReasonUnspecified:      "unspecified",
	ReasonInvalidRecord:    "invalid_record",
	ReasonUnknownLine:      "unknown_line",
	ReasonUnknownMeter:     "unknown_meter",
	ReasonNegativeQuantity: "negative_quantity",
	ReasonOutsideActive:    "outside_active",
	ReasonMissingAttribute: "missing_attribute",
	ReasonNoPeriod:         "no_period",
	ReasonPrunedPeriod:     "pruned_period",
}

var reasonErrs = [...]error{
	ReasonInvalidRecord:    ErrInvalidRecord,
	ReasonUnknownLine:      ErrUnknownLine,
	ReasonUnknownMeter:     ErrUnknownMeter,
	ReasonNegativeQuantity: ErrNegativeQuantity,
	ReasonOutsideActive:    ErrOutsideActive,
	ReasonMissingAttribute: ErrMissingAttribute,
	ReasonNoPeriod:         ErrNoPeriod,
	ReasonPrunedPeriod:     ErrPrunedPeriod,
}

// String returns the reason's lowercase name, such as "unknown_meter".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Err returns the sentinel error the reason matches, or nil for
// ReasonUnspecified and unknown values.
func (r Reason) Err() error {
	if int(r) < len(reasonErrs) {
		return reasonErrs[r]
	}
	return nil
}

// MarshalText writes the reason's name; an unknown value is an error.
func (r Reason) MarshalText() ([]byte, error) {
	if int(r) >= len(reasonNames) {
		return nil, &ParseError{Kind: "reason", Input: r.String(), Want: "a declared reason"}
	}
	return []byte(reasonNames[r]), nil
}

// UnmarshalText reads a reason's name; the empty string is
// ReasonUnspecified.
func (r *Reason) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = ReasonUnspecified
		return nil
	}
	for i, name := range reasonNames {
		if name == string(b) {
			*r = Reason(i)
			return nil
		}
	}
	return &ParseError{Kind: "reason", Input: clip(string(b)), Want: "a reason name such as unknown_meter"}
}

// Rejection is a record that was not aggregated, and why. It is an error:
// Error names the record and the offending value, and errors.Is matches the
// sentinel of its Reason (ErrUnknownMeter, ...). A Report lists every
// rejected record; the rest of the batch still aggregates.
type Rejection struct {
	// Record is the rejected record, in canonical form (instant in UTC,
	// quantity without trailing zeros).
	Record Record `json:"record"`
	// Reason says why.
	Reason Reason `json:"reason"`
	// Detail names the offending value, such as `meter "gpu" is not declared`.
	Detail string `json:"detail"`
}

// Error reports the record id and the detail, such as
// `usage: record "r-17": unknown meter: meter "gpu" is not declared`.
func (r Rejection) Error() string {
	msg := "usage: record " + strconv.Quote(string(r.Record.ID)) + ": "
	if e := r.Reason.Err(); e != nil {
		msg += e.Error()[len("usage: "):]
	} else {
		msg += r.Reason.String()
	}
	if r.Detail != "" {
		msg += ": " + r.Detail
	}
	return msg
}

// Unwrap returns the sentinel of the rejection's reason.
func (r Rejection) Unwrap() error { return r.Reason.Err() }

// Conflict is a record id seen with two or more different contents. None of
// them is aggregated: the conflict is reported, never silently resolved,
// whichever copy arrived first. Conflict is an error matching ErrConflict.
//
// Across runs, a record re-sent with another content than the one an
// earlier run billed (Config.Ledger) is a conflict too: Billed is the
// ledger's entry, which stays billed, and Records lists the other contents
// of this run; the billed content re-sent is a duplicate.
type Conflict struct {
	// ID is the record id in conflict.
	ID RecordID `json:"id"`
	// Records holds each distinct content seen for ID once, in canonical
	// form, sorted by instant, line, meter, quantity and attributes.
	Records []Record `json:"records"`
	// Billed is the entry of Config.Ledger for ID, when an earlier run
	// billed it; nil for a conflict within this run's records.
	Billed *LedgerEntry `json:"billed,omitempty"`
	// Uncorrectable says, under ResendCorrects (Config.Resend), why the
	// re-sent record was not taken as a correction of the one billed,
	// such as "it moves the record to another billing period"; empty
	// otherwise. When set, the conflict matches ErrUncorrectable.
	Uncorrectable string `json:"uncorrectable,omitempty"`
}

// Error names the record id and how many contents it was seen with.
func (c Conflict) Error() string {
	msg := "usage: record " + strconv.Quote(string(c.ID)) + ": conflicting records: "
	if c.Billed != nil {
		msg += "billed in an earlier run with content digest " + c.Billed.Digest.String() + ", re-sent with " +
			strconv.Itoa(len(c.Records)) + " other content"
		if len(c.Records) != 1 {
			msg += "s"
		}
		if c.Uncorrectable != "" {
			msg += ", not a correction: " + c.Uncorrectable
		}
		return msg
	}
	return msg + strconv.Itoa(len(c.Records)) + " different contents for one id"
}

// Unwrap returns ErrConflict.
func (c Conflict) Unwrap() error { return ErrConflict }

// Is reports whether target is ErrUncorrectable and the conflict says
// why the re-send is not a correction (Uncorrectable).
func (c Conflict) Is(target error) bool { return target == ErrUncorrectable && c.Uncorrectable != "" }
