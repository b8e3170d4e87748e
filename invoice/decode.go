package invoice

import (
	"errors"
	"fmt"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// Input is one billing run with its subscriptions, as a host stores or
// sends it: what Builder.Build takes.
type Input struct {
	// Run is the billing run.
	Run Run `json:"run"`
	// Subscriptions are the subscriptions it bills.
	Subscriptions []Subscription `json:"subscriptions"`
}

// ErrDecode reports input that cannot be read as JSON of the expected shape.
var ErrDecode = errors.New("invoice: cannot decode")

// DecodeInput reads an Input from JSON strictly (ensemble.DecodeDocument):
// unknown fields, repeated or case-variant keys, trailing data, documents
// over ensemble.MaxDocumentBytes and decimals not in plain decimal notation
// (null, exponents) or with more than ensemble.MaxAmountDigits digits are
// errors wrapping ErrDecode and an *ensemble.DecodeError. Decoding does not
// validate; Build does.
func DecodeInput(data []byte) (Input, error) {
	var in Input
	if err := ensemble.DecodeDocument("invoice input", data, &in); err != nil {
		return Input{}, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	var ps ensemble.Problems
	checkInputDecimals(&ps, &in)
	if err := ps.Err("invoice input"); err != nil {
		return Input{}, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return in, nil
}

// inRange reports whether d is small enough to compute with: at most
// ensemble.MaxAmountDigits digits and an exponent within ±40.
func inRange(d decimal.Decimal) bool {
	e := d.Exponent()
	return e >= -40 && e <= 40 && d.NumDigits() <= ensemble.MaxAmountDigits
}

// checkDecimal records path when d is out of range.
func checkDecimal(ps *ensemble.Problems, path func() string, d decimal.Decimal) {
	if !inRange(d) {
		ps.Add(path(), bad(ErrInvalid, "%d digits, exponent %d: out of range", d.NumDigits(), d.Exponent()))
	}
}

// checkInputDecimals checks every decimal of an input is in range.
func checkInputDecimals(ps *ensemble.Problems, in *Input) {
	for i := range in.Subscriptions {
		s := &in.Subscriptions[i]
		checkSubDecimals(ps, func() string { return ensemble.Path("subscriptions", i) }, s)
	}
	for k := range in.Run.Usage {
		checkDecimal(ps, func() string { return ensemble.Path("run", "usage", k, "value") }, in.Run.Usage[k].Value)
	}
	for k := range in.Run.Progressive {
		checkDecimal(ps, func() string { return ensemble.Path("run", "progressive", k, "billed", "value") }, in.Run.Progressive[k].Billed.Value)
		checkDecimal(ps, func() string { return ensemble.Path("run", "progressive", k, "usage", "value") }, in.Run.Progressive[k].Usage.Value)
	}
	for k := range in.Run.Late {
		checkDecimal(ps, func() string { return ensemble.Path("run", "late", k, "billed", "value") }, in.Run.Late[k].Billed.Value)
		checkDecimal(ps, func() string { return ensemble.Path("run", "late", k, "late", "value") }, in.Run.Late[k].Late.Value)
	}
}

func checkSubDecimals(ps *ensemble.Problems, at func() string, s *Subscription) {
	for k := range s.Discounts {
		checkDecimal(ps, func() string { return ensemble.Path(at(), "discounts", k, "amount") }, s.Discounts[k].Amount)
	}
	if s.Commitment != nil {
		checkDecimal(ps, func() string { return at() + ".commitment.minimum" }, s.Commitment.Minimum)
	}
	for k := range s.Credits {
		checkDecimal(ps, func() string { return ensemble.Path(at(), "credits", k, "balance") }, s.Credits[k].Balance)
	}
	if et := s.Term.EarlyTermination; et != nil {
		checkDecimal(ps, func() string { return at() + ".term.early_termination.amount" }, et.Amount)
	}
	for j := range s.Items {
		it := &s.Items[j]
		for k := range it.Discounts {
			checkDecimal(ps, func() string { return ensemble.Path(at(), "items", j, "discounts", k, "amount") }, it.Discounts[k].Amount)
		}
		for k := range it.Thresholds {
			checkDecimal(ps, func() string { return ensemble.Path(at(), "items", j, "thresholds", k, "amount") }, it.Thresholds[k].Amount)
		}
		if et := it.Term.EarlyTermination; et != nil {
			checkDecimal(ps, func() string { return ensemble.Path(at(), "items", j) + ".term.early_termination.amount" }, et.Amount)
		}
		for k := range it.Segments {
			sg := &it.Segments[k]
			checkDecimal(ps, func() string { return ensemble.Path(at(), "items", j, "segments", k, "quantity") }, sg.Quantity)
			for m := range sg.AddOns {
				checkDecimal(ps, func() string { return ensemble.Path(at(), "items", j, "segments", k, "add_ons", m, "quantity") }, sg.AddOns[m].Quantity)
			}
		}
	}
}
