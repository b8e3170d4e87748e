package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/ensemble-commerce/ensemble"
)

// The calendar functions (see Library: months_since): whole calendar
// months between two instants, stepped as billing cycles are, in UTC or
// in a time zone the rule names. A zone written as a literal is loaded
// once, when the rule's program is planned (monthsInZone), never per
// evaluation: loading a zone by name reads the system's database (tens of
// microseconds), while stepping the calendar takes tens of nanoseconds.

// Overload ids of months_since.
const (
	monthsSinceID     = "months_since_timestamp_timestamp"
	monthsSinceZoneID = "months_since_timestamp_timestamp_string"
	// monthsSinceLoadedID is months_since with a literal zone, loaded when
	// the program was planned: priced as months_since in UTC.
	monthsSinceLoadedID = "months_since_timestamp_timestamp_loaded_zone"
)

var monthly = ensemble.Every(1, ensemble.Monthly)

// monthsSince returns months_since(from, at) in UTC.
func monthsSince(from, at ref.Val) ref.Val {
	return monthsIn(from, at, time.UTC)
}

// monthsSinceIn returns months_since(from, at, zone).
func monthsSinceIn(vs ...ref.Val) ref.Val {
	if len(vs) != 3 {
		return types.NoSuchOverloadErr()
	}
	name, ok := vs[2].(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(vs[2])
	}
	loc, err := loadZone(string(name))
	if err != nil {
		return types.WrapErr(err)
	}
	return monthsIn(vs[0], vs[1], loc)
}

// monthsIn returns the whole months from from to at, stepped in loc: the
// index of the monthly cycle anchored at from that holds at (negative
// before from).
func monthsIn(from, at ref.Val, loc *time.Location) ref.Val {
	f, ok := from.(types.Timestamp)
	if !ok {
		return types.MaybeNoSuchOverloadErr(from)
	}
	a, ok := at.(types.Timestamp)
	if !ok {
		return types.MaybeNoSuchOverloadErr(at)
	}
	_, n, err := monthly.PeriodAt(f.Time, a.Time, loc)
	if err != nil {
		return types.WrapErr(err) // timestamps lie within years 1 to 9999: never more than 2^20 months apart
	}
	return types.Int(n)
}

// ErrTimeZone is returned, inside an *EvalError (or a *CompileError for a
// literal), by a calendar function given a time zone it cannot use: not an
// IANA name the system's database holds, nor an offset written ±HH:MM; or
// "Local" or "", which would step the calendar in the zone of the machine
// running the rule.
var ErrTimeZone = errors.New("rules: unknown time zone")

// loadZone reads a time zone as calendar functions take it: an IANA name
// ("Europe/Paris", "UTC") or a fixed offset ("+01:00", "-08:00").
func loadZone(name string) (*time.Location, error) {
	if strings.Contains(name, ":") {
		return offsetZone(name)
	}
	if name == "" || name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, fmt.Errorf("%w %q: name an IANA zone (such as \"Europe/Paris\" or \"UTC\") or an offset (\"+01:00\")", ErrTimeZone, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w %q: the system's time zone database does not hold it", ErrTimeZone, name)
	}
	return loc, nil
}

// offsetZone reads an offset written ±HH:MM, within ±23:59.
func offsetZone(s string) (*time.Location, error) {
	bad := func() (*time.Location, error) {
		return nil, fmt.Errorf("%w %q: write an offset as ±HH:MM, from -23:59 to +23:59", ErrTimeZone, s)
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return bad()
	}
	hh, err1 := strconv.Atoi(s[1:3])
	mm, err2 := strconv.Atoi(s[4:6])
	if err1 != nil || err2 != nil || hh > 23 || mm > 59 || s[1] == '+' || s[1] == '-' || s[4] == '+' || s[4] == '-' {
		return bad()
	}
	off := hh*3600 + mm*60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone(s, off), nil
}

// foldZone returns months_since(<from>, <at>, <literal zone>) with its zone
// loaded, or nil for any other call (a call whose arguments are all
// constants is folded whole; a zone that does not load is left to fail at
// evaluation, though the validator refuses such a literal first).
func foldZone(call interpreter.InterpretableCall) interpreter.InterpretableV2 {
	args := call.Args()
	if call.OverloadID() != monthsSinceZoneID || len(args) != 3 {
		return nil
	}
	lit, ok := args[2].(interpreter.InterpretableConst)
	if !ok {
		return nil
	}
	_, fromConst := args[0].(interpreter.InterpretableConst)
	_, atConst := args[1].(interpreter.InterpretableConst)
	if fromConst && atConst {
		return nil // folded whole
	}
	name, ok := lit.Value().(types.String)
	if !ok {
		return nil
	}
	loc, err := loadZone(string(name))
	if err != nil {
		return nil
	}
	return &monthsInZone{call: call, loc: loc}
}

// monthsInZone is months_since(<from>, <at>, <literal zone>) with the zone
// loaded once: it evaluates the two instants and steps the calendar in the
// zone, with the result and errors of the call it replaces. The cost
// tracker is charged for monthsSinceLoadedID, as the estimate priced it.
type monthsInZone struct {
	call interpreter.InterpretableCall // the call replaced: id, function and arguments
	loc  *time.Location
}

// ID implements interpreter.Interpretable.
func (m *monthsInZone) ID() int64 { return m.call.ID() }

// Function implements interpreter.InterpretableCall.
func (m *monthsInZone) Function() string { return m.call.Function() }

// OverloadID implements interpreter.InterpretableCall: the loaded zone's,
// which the cost model prices as months_since in UTC.
func (m *monthsInZone) OverloadID() string { return monthsSinceLoadedID }

// Args implements interpreter.InterpretableCall.
func (m *monthsInZone) Args() []interpreter.InterpretableV2 { return m.call.Args() }

// Eval implements interpreter.Interpretable.
func (m *monthsInZone) Eval(a interpreter.Activation) ref.Val {
	return interpreter.EvalActivation(a, m.Exec)
}

// Exec implements interpreter.InterpretableV2, as cel-go's calls do:
// an error argument is returned as it is, an unknown one merged.
func (m *monthsInZone) Exec(f *interpreter.ExecutionFrame) ref.Val {
	args := m.call.Args()
	var vals [3]ref.Val
	var unk *types.Unknown
	for i := range 2 {
		v := args[i].Exec(f)
		switch x := v.(type) {
		case *types.Err:
			return x
		case *types.Unknown:
			if unk == nil {
				unk = x
			} else {
				unk = types.MergeUnknowns(unk, x)
			}
		}
		vals[i] = v
	}
	vals[2] = args[2].Exec(f)
	var res ref.Val = unk
	if unk == nil {
		res = types.LabelErrNode(m.ID(), monthsIn(vals[0], vals[1], m.loc))
	}
	if costs := f.CostTracker(); costs != nil {
		costs.EvalVarArgs(f, m.ID(), m, vals[:], res)
	}
	return res
}
