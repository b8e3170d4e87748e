package settlement

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Consolidation says how Consolidate reports a party's statements of
// several currencies in one.
type Consolidation struct {
	// Currency is the reporting currency.
	Currency ensemble.Currency `json:"currency"`
	// Rates is the host's table; each statement in another currency
	// converts at its pair's rate in force at At (never an inverted rate,
	// never through a third currency).
	Rates ensemble.ExchangeRates `json:"rates,omitempty"`
	// At is the instant whose rates apply, such as the end of the period
	// or the payout date; required.
	At time.Time `json:"at"`
	// Mode rounds each converted figure once, to the reporting currency's
	// minor unit.
	Mode ensemble.RoundingMode `json:"mode"`
	// Net nets a party's balances across currencies: a negative balance
	// in one currency reduces what is payable from the others, and the
	// party is paid the converted sum of its closing balances when it is
	// positive and reaches Minimum. Without Net each statement stays
	// payable as it was folded (by its own currency's minimum) and a
	// negative balance carries forward in its own currency.
	Net bool `json:"net,omitempty"`
	// Minimum is the minimum payout of a netted balance, in Currency;
	// zero pays any positive balance. Without Net it would do nothing,
	// and is refused (ErrInvalidPayout).
	Minimum ensemble.Money `json:"minimum,omitzero"`
}

// Consolidated is one party's statements of one period, reported in one
// currency. Every figure is the sum of its parts' converted figures:
//
//	Closing        = Opening + Earned + Reversed + Adjusted - Reserved + Released - Uncollected + Collected - PaidOut + Rounding
//	Payable        = with Net, Closing when it is positive and reaches the minimum, else zero;
//	                 without Net, the sum of the parts' converted Payable
//	CarriedForward = Closing - Payable
type Consolidated struct {
	Party    partner.ID        `json:"party"`
	Currency ensemble.Currency `json:"currency"`
	Period   ensemble.Period   `json:"period"`
	Opening  ensemble.Money    `json:"opening"`
	Earned   ensemble.Money    `json:"earned"`
	Reversed ensemble.Money    `json:"reversed"`
	Adjusted ensemble.Money    `json:"adjusted"`
	Reserved ensemble.Money    `json:"reserved"`
	Released ensemble.Money    `json:"released"`
	// Uncollected, Collected and Awaiting are the statements' (see
	// Statement): what awaits the customers' payment.
	Uncollected ensemble.Money `json:"uncollected,omitzero"`
	Collected   ensemble.Money `json:"collected,omitzero"`
	Awaiting    ensemble.Money `json:"awaiting,omitzero"`
	PaidOut     ensemble.Money `json:"paid_out"`
	// Rounding is what converting each figure on its own left between the
	// converted flows and the converted closing balances.
	Rounding       ensemble.Money `json:"rounding"`
	Closing        ensemble.Money `json:"closing"`
	Payable        ensemble.Money `json:"payable"`
	CarriedForward ensemble.Money `json:"carried_forward"`
	Withheld       ensemble.Money `json:"withheld"`
	// At, Mode, Net and Minimum are the consolidation's: the instant
	// whose rates applied, how each figure was rounded, whether balances
	// were netted across currencies and against which minimum payout.
	At      time.Time             `json:"at"`
	Mode    ensemble.RoundingMode `json:"mode"`
	Net     bool                  `json:"net,omitempty"`
	Minimum ensemble.Money        `json:"minimum,omitzero"`
	// Parts are the party's statements, one per currency, sorted by
	// currency code, each with the rate it converted at.
	Parts []ConsolidatedPart `json:"parts"`
}

// ConsolidatedPart is one statement and its conversion to the reporting
// currency: each figure of Statement times Rate.Rate, rounded once (the
// Closing too, so that a payout of the balance converts to exactly
// Converted.Closing). Rounding is Converted.Closing less the closing the
// converted flows add up to. A statement already in the reporting
// currency converts at one, with a zero Rate.
type ConsolidatedPart struct {
	Statement Statement             `json:"statement"`
	Rate      ensemble.ExchangeRate `json:"rate,omitzero"`
	Converted Statement             `json:"converted"`
	Rounding  ensemble.Money        `json:"rounding"`
}

// Consolidate reports statements (of any parties, currencies and periods)
// in c.Currency: one Consolidated per party and period, sorted by party
// then period, recording the rate each statement converted at, so that
// finance can redo every cent. Statements of one party, period and
// currency must be merged first (Merge).
//
// Errors: no rate in force for a statement's currency (a *ensemble.RateError
// wrapping ensemble.ErrNoRate, naming the pair and instant) or an unusable
// one (ensemble.ErrRate), a zero At or Currency, a Minimum in another
// currency (ErrCurrency) or without Net (ErrInvalidPayout), a statement holding amounts in another currency
// than its own or given twice for its party, period and currency
// (ErrStatementMismatch), an amount that is not whole minor units.
func Consolidate(statements []Statement, c Consolidation) ([]Consolidated, error) {
	fail := func(err error) ([]Consolidated, error) { return nil, fmt.Errorf("settlement: consolidate: %w", err) }
	switch {
	case c.Currency.IsZero():
		return fail(fmt.Errorf("%w: no reporting currency", ErrCurrency))
	case c.At.IsZero():
		return fail(fmt.Errorf("%w: no instant for the rates (Consolidation.At)", ensemble.ErrRate))
	case !c.Minimum.IsZero() && c.Minimum.Currency() != c.Currency:
		return fail(fmt.Errorf("%w: minimum %s is not in %s", ErrCurrency, c.Minimum, c.Currency))
	case !c.Minimum.IsZero() && !c.Net:
		return fail(fmt.Errorf("%w: minimum %s is the minimum payout of a netted balance, and Net is off: set Net, or give each currency's minimum to Statements (StatementOptions.Minimums)", ErrInvalidPayout, c.Minimum))
	}
	if err := c.Rates.Check(); err != nil {
		return fail(err)
	}
	for _, s := range statements {
		if err := s.Check(); err != nil {
			return fail(err)
		}
	}
	var t tally
	min := t.units(c.Minimum, func() string { return "minimum" })
	if t.err != nil {
		return fail(t.err)
	}
	type key struct {
		party      partner.ID
		start, end time.Time
	}
	groups := map[key][]Statement{}
	var keys []key
	for _, s := range statements {
		k := key{s.Party, s.Period.Start.UTC(), s.Period.End.UTC()}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.party, b.party), a.start.Compare(b.start), a.end.Compare(b.end))
	})
	out := make([]Consolidated, 0, len(keys))
	for _, k := range keys {
		cs, err := consolidate(groups[k], c, min, &t)
		if err != nil {
			return fail(err)
		}
		out = append(out, cs)
	}
	return out, nil
}

// consolidate reports one party's statements of one period.
func consolidate(group []Statement, c Consolidation, min sum, t *tally) (Consolidated, error) {
	slices.SortFunc(group, func(a, b Statement) int { return cmp.Compare(a.Currency.Code(), b.Currency.Code()) })
	var opening, earned, reversed, adjusted, reserved, released, paid, rounding, closing, payable, withheld, uncollected, collected, awaiting sum
	out := Consolidated{Party: group[0].Party, Currency: c.Currency, Period: group[0].Period, At: c.At, Mode: c.Mode, Net: c.Net, Minimum: c.Minimum}
	for i, s := range group {
		if i > 0 && s.Currency == group[i-1].Currency {
			return Consolidated{}, fmt.Errorf("%w: two statements of %q in %s for %s: merge them first", ErrStatementMismatch, s.Party, s.Currency, s.Period)
		}
		part, err := convertStatement(s, c)
		if err != nil {
			return Consolidated{}, err
		}
		cv := &part.Converted
		where := func() string { return fmt.Sprintf("statement of %q in %s", s.Party, s.Currency) }
		for _, f := range []struct {
			dst *sum
			m   ensemble.Money
		}{{&opening, cv.Opening}, {&earned, cv.Earned}, {&reversed, cv.Reversed}, {&adjusted, cv.Adjusted},
			{&reserved, cv.Reserved}, {&released, cv.Released}, {&paid, cv.PaidOut}, {&rounding, part.Rounding},
			{&closing, cv.Closing}, {&payable, cv.Payable}, {&withheld, cv.Withheld},
			{&uncollected, cv.Uncollected}, {&collected, cv.Collected}, {&awaiting, cv.Awaiting}} {
			f.dst.plus(t.units(f.m, where))
		}
		if t.err != nil {
			return Consolidated{}, t.err
		}
		out.Parts = append(out.Parts, part)
	}
	if c.Net {
		payable = sum{}
		if closing.sign() > 0 && closing.cmp(min) >= 0 {
			payable = closing
		}
	}
	carried := closing
	carried.minus(payable)
	m := func(s sum) ensemble.Money { return s.money(c.Currency) }
	out.Opening, out.Earned, out.Reversed, out.Adjusted = m(opening), m(earned), m(reversed), m(adjusted)
	out.Reserved, out.Released, out.PaidOut, out.Rounding = m(reserved), m(released), m(paid), m(rounding)
	out.Closing, out.Payable, out.CarriedForward, out.Withheld = m(closing), m(payable), m(carried), m(withheld)
	out.Uncollected, out.Collected, out.Awaiting = m(uncollected), m(collected), m(awaiting)
	return out, nil
}

// convertStatement converts s to c.Currency at the rate in force at c.At.
func convertStatement(s Statement, c Consolidation) (ConsolidatedPart, error) {
	part := ConsolidatedPart{Statement: s, Converted: s}
	if s.Currency == c.Currency {
		part.Rounding = ensemble.MoneyFromMinor(0, c.Currency)
		return part, nil
	}
	rate, err := c.Rates.At(s.Currency, c.Currency, c.At)
	if err != nil {
		return ConsolidatedPart{}, fmt.Errorf("statement of %q in %s: %w", s.Party, s.Currency, err)
	}
	part.Rate = rate
	cv := &part.Converted
	cv.Currency = c.Currency
	for _, f := range []*ensemble.Money{&cv.Opening, &cv.Earned, &cv.Reversed, &cv.Adjusted, &cv.Reserved, &cv.Released,
		&cv.PaidOut, &cv.Closing, &cv.Payable, &cv.CarriedForward, &cv.Withheld, &cv.Uncollected, &cv.Collected, &cv.Awaiting} {
		if f.IsZero() {
			*f = ensemble.MoneyFromMinor(0, s.Currency)
		}
		if f.Currency() != s.Currency {
			return ConsolidatedPart{}, fmt.Errorf("%w: statement of %q holds %s amounts in %s", ErrStatementMismatch, s.Party, f.Currency(), s.Currency)
		}
		if *f, err = rate.Convert(*f, c.Mode); err != nil {
			return ConsolidatedPart{}, err
		}
	}
	// Payable was all of Closing or nothing; keep it so after rounding.
	if !s.Payable.IsZero() {
		cv.Payable = cv.Closing
	}
	cv.CarriedForward, err = cv.Closing.Sub(cv.Payable)
	if err != nil {
		return ConsolidatedPart{}, err
	}
	flows, err := ensemble.Sum(cv.Opening, cv.Earned, cv.Reversed, cv.Adjusted, cv.Reserved.Neg(), cv.Released, cv.Uncollected.Neg(), cv.Collected, cv.PaidOut.Neg())
	if err != nil {
		return ConsolidatedPart{}, err
	}
	if part.Rounding, err = cv.Closing.Sub(flows); err != nil {
		return ConsolidatedPart{}, err
	}
	return part, nil
}

// PayOutConsolidated returns the payout entries that pay c.Payable: one per
// part paid, in the part's own currency so that its next statement nets
// it, each converting at the part's recorded rate to exactly its converted
// closing balance (no conversion for a part in the reporting currency).
// Without Net the parts whose statement was payable are paid their
// balance. With Net every part with a balance is settled by an entry of
// that balance, a negative one recording what was offset against the
// others, and the conversions add up to exactly c.Payable.
//
// Entry ids are "payout:<p.ID>/<currency code>"; p.ID holds none of
// "/:#". p.Currency, p.Rate and p.Mode are unused: the consolidation's
// apply. Errors: a bad id or no date (ErrInvalidPayout), a consolidated
// statement its parts do not prove (Consolidated.Check), nothing payable
// (ErrNothingPayable).
func PayOutConsolidated(c Consolidated, p Payout) ([]Entry, error) {
	if err := checkPayout(p); err != nil {
		return nil, err
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("settlement: payout %q: %w", p.ID, err)
	}
	if !c.Payable.IsPositive() {
		return nil, fmt.Errorf("settlement: payout %q: %w to %q", p.ID, ErrNothingPayable, c.Party)
	}
	var out []Entry
	for _, part := range c.Parts {
		amount, to := part.Statement.Payable, part.Converted.Payable
		if c.Net {
			amount, to = part.Statement.Closing, part.Converted.Closing
		}
		if amount.IsZero() {
			continue
		}
		e := Entry{ID: EntryID("payout:" + p.ID + "/" + part.Statement.Currency.Code()), Kind: KindPayout, Party: c.Party,
			Amount: amount, Date: p.Date, Note: "consolidated payout of statement " + c.Period.String() + " in " + c.Currency.Code()}
		if part.Statement.Currency != c.Currency {
			e.Conversion = &Conversion{From: amount, Rate: part.Rate.Rate, Mode: c.Mode, To: to}
		}
		out = append(out, e)
	}
	return out, nil
}

// Check reports whether c is what Consolidate makes of its parts'
// statements at their recorded rates, At, Mode, Net and Minimum: each part
// is consolidated again and every figure compared, so a tampered part,
// converted figure, rate or total is refused (ErrStatementMismatch)
// before PayOutConsolidated pays it.
func (c Consolidated) Check() error {
	cons := Consolidation{Currency: c.Currency, At: c.At, Mode: c.Mode, Net: c.Net, Minimum: c.Minimum}
	if !c.Net {
		// Consolidate refuses a minimum without Net, which it ignored
		// before: one kept from then is checked as it was made.
		cons.Minimum = ensemble.Money{}
	}
	statements := make([]Statement, len(c.Parts))
	for i, p := range c.Parts {
		if p.Statement.Party != c.Party || !p.Statement.Period.Equal(c.Period) {
			return fmt.Errorf("%w: consolidated statement of %q for %s holds a part of %q for %s",
				ErrStatementMismatch, c.Party, c.Period, p.Statement.Party, p.Statement.Period)
		}
		statements[i] = p.Statement
		if p.Statement.Currency != c.Currency {
			cons.Rates = append(cons.Rates, p.Rate)
		}
	}
	again, err := Consolidate(statements, cons)
	if err != nil {
		return err
	}
	if len(again) != 1 {
		return fmt.Errorf("%w: consolidated statement of %q has no parts", ErrStatementMismatch, c.Party)
	}
	want, err := json.Marshal(again[0])
	if err != nil {
		return err
	}
	got, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: consolidated statement of %q for %s is not what its parts consolidate to at their recorded rates",
			ErrStatementMismatch, c.Party, c.Period)
	}
	return nil
}
