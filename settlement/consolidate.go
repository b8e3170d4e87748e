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
	// Previous are the consolidated statements of the previous period (in
	// Currency, ending where the period starts), whose closings open this
	// one: each part's Opening is then its previous Converted.Closing, the
	// balance carried at the rate it was reported at, not the balance
	// converted again at this period's rate (see Consolidated.Revaluation).
	// A party without one opens at this period's rate; one of a party
	// with no statement here is not read. Inconsistent ones are a
	// *ChainError.
	Previous []Consolidated `json:"previous,omitempty"`
	// Payouts are the payout entries the statements folded (entries of
	// other kinds are ignored, so the host may pass every entry). A payout
	// in a statement's currency converted to Currency (Payout.Exchange,
	// PayOutConsolidated) counts in PaidOut at what it paid,
	// Conversion.To, not at this period's rate; payouts without such a
	// conversion count at this period's rate. When given, a statement's
	// payouts (dated in its period, or folded late: Statement.Late) must
	// add up to its PaidOut, else a *ChainError. Nil: every PaidOut
	// converts at this period's rate.
	Payouts []Entry `json:"payouts,omitempty"`
}

// Consolidated is one party's statements of one period, reported in one
// currency. Every figure is the sum of its parts' converted figures:
//
//	Closing        = Opening + Earned + Reversed + Adjusted - Reserved + Released - Uncollected + Collected - PaidOut + Revaluation + Rounding
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
	// Revaluation is the foreign-exchange gain (positive) or loss of the
	// period: the opening balance carried at the previous period's rates
	// (Consolidation.Previous) revalued at this period's, less the
	// difference between the payouts converted at this period's rates and
	// what they actually paid (Consolidation.Payouts). Zero without
	// Previous and Payouts, or when the rates did not change.
	Revaluation ensemble.Money `json:"revaluation,omitzero"`
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
// currency. Each figure converts once, rounded once, at the rate it says:
//
//   - Earned, Reversed, Adjusted, Reserved, Released, Uncollected,
//     Collected, Awaiting, Withheld, Closing, Payable and CarriedForward:
//     at Rate, the rate in force at Consolidation.At (the Closing too, so
//     that a payout of the balance converts to exactly Converted.Closing);
//   - Opening: at Carried's rate, the previous part's closing as it was
//     reported (Consolidation.Previous), else at Rate;
//   - PaidOut: each payout in Paid at what it paid (its Conversion.To),
//     the rest, if any, at Rate.
//
// Revaluation is what Opening and PaidOut would have converted to at Rate
// less what they convert to as above: (Opening at Rate - Converted.Opening)
// - (PaidOut at Rate - Converted.PaidOut). Rounding is what converting the
// figures at Rate on their own leaves between them and Converted.Closing.
// So Converted.Closing = Converted.Opening + the converted flows -
// Converted.PaidOut + Revaluation + Rounding, to the cent. A statement
// already in the reporting currency converts at one, with a zero Rate,
// and no Carried, Paid, Revaluation or Rounding.
type ConsolidatedPart struct {
	Statement Statement             `json:"statement"`
	Rate      ensemble.ExchangeRate `json:"rate,omitzero"`
	// Carried is how Opening converted: From the previous statement's
	// Closing (this one's Opening), at the previous part's Rate and Mode,
	// To its Converted.Closing. Nil: Opening converted at Rate.
	Carried *Conversion `json:"carried,omitempty"`
	// Paid are the payouts of the statement that converted to the
	// reporting currency, each with its recorded conversion, by entry id.
	Paid        []ConsolidatedPayout `json:"paid,omitempty"`
	Converted   Statement            `json:"converted"`
	Revaluation ensemble.Money       `json:"revaluation,omitzero"`
	Rounding    ensemble.Money       `json:"rounding"`
}

// ConsolidatedPayout is one payout entry of a statement and its recorded
// conversion to the reporting currency: what the party was actually paid.
type ConsolidatedPayout struct {
	Entry      EntryID    `json:"entry"`
	Conversion Conversion `json:"conversion"`
}

// Consolidate reports statements (of any parties, currencies and periods)
// in c.Currency: one Consolidated per party and period, sorted by party
// then period, recording the rate each figure converted at, so that
// finance can redo every cent. Statements of one party, period and
// currency must be merged first (Merge).
//
// The period's flows, and the closing balance, convert at the rates in
// force at c.At. With c.Previous, a party's opening balance is its
// previous consolidated closing (carried at the rates it was reported
// at), and with c.Payouts, what it was paid out is what its payouts
// actually paid; the difference to this period's rates is Revaluation, so
// that a party's consolidated statements chain (each Opening is the
// previous Closing) and tie to its payouts.
//
// A rate's labels are checked (the pair from each statement's currency to
// c.Currency), not its number: a JPY→AED rate
// typed as the quote of the other way (40.80 for 0.0245) converts 1,665
// times too much. Take the rates from the table the host's treasury
// keeps, never typed by hand.
//
// Errors: no rate in force for a statement's currency (a *ensemble.RateError
// wrapping ensemble.ErrNoRate, naming the pair and instant) or an unusable
// one (ensemble.ErrRate), a zero At or Currency, a Minimum in another
// currency (ErrCurrency) or without Net (ErrInvalidPayout), a statement holding amounts in another currency
// than its own or given twice for its party, period and currency
// (ErrStatementMismatch), previous statements or payouts that do not chain
// with the statements (a *ChainError, ErrStatementMismatch), an amount
// that is not whole minor units.
func Consolidate(statements []Statement, c Consolidation) ([]Consolidated, error) {
	previous, err := previousByParty(c)
	if err != nil {
		return nil, fmt.Errorf("settlement: consolidate: %w", err)
	}
	payouts := payoutsByStatement(c.Payouts)
	return consolidateAll(statements, c, func(group []Statement) (map[ensemble.Currency]chain, error) {
		return chainInputs(group, c, previous[group[0].Party], payouts)
	})
}

// chain is how a part's Opening and PaidOut convert when not at the
// period's rate: the previous closing carried, the payouts as paid.
type chain struct {
	carried *Conversion
	paid    []ConsolidatedPayout
}

// consolidateAll consolidates statements, each party and period's group
// with the chain inputs chains gives it.
func consolidateAll(statements []Statement, c Consolidation, chains func([]Statement) (map[ensemble.Currency]chain, error)) ([]Consolidated, error) {
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
		in, err := chains(groups[k])
		if err != nil {
			return fail(err)
		}
		cs, err := consolidate(groups[k], c, min, &t, in)
		if err != nil {
			return fail(err)
		}
		out = append(out, cs)
	}
	return out, nil
}

// consolidate reports one party's statements of one period.
func consolidate(group []Statement, c Consolidation, min sum, t *tally, in map[ensemble.Currency]chain) (Consolidated, error) {
	slices.SortFunc(group, func(a, b Statement) int { return cmp.Compare(a.Currency.Code(), b.Currency.Code()) })
	var opening, earned, reversed, adjusted, reserved, released, paid, reval, rounding, closing, payable, withheld, uncollected, collected, awaiting sum
	out := Consolidated{Party: group[0].Party, Currency: c.Currency, Period: group[0].Period, At: c.At, Mode: c.Mode, Net: c.Net, Minimum: c.Minimum}
	for i, s := range group {
		if i > 0 && s.Currency == group[i-1].Currency {
			return Consolidated{}, fmt.Errorf("%w: two statements of %q in %s for %s: merge them first", ErrStatementMismatch, s.Party, s.Currency, s.Period)
		}
		part, err := convertStatement(s, c, in[s.Currency])
		if err != nil {
			return Consolidated{}, err
		}
		cv := &part.Converted
		where := func() string { return fmt.Sprintf("statement of %q in %s", s.Party, s.Currency) }
		for _, f := range []struct {
			dst *sum
			m   ensemble.Money
		}{{&opening, cv.Opening}, {&earned, cv.Earned}, {&reversed, cv.Reversed}, {&adjusted, cv.Adjusted},
			{&reserved, cv.Reserved}, {&released, cv.Released}, {&paid, cv.PaidOut}, {&reval, part.Revaluation}, {&rounding, part.Rounding},
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
	out.Revaluation = m(reval)
	out.Closing, out.Payable, out.CarriedForward, out.Withheld = m(closing), m(payable), m(carried), m(withheld)
	out.Uncollected, out.Collected, out.Awaiting = m(uncollected), m(collected), m(awaiting)
	return out, nil
}

// convertStatement converts s to c.Currency: every figure at the rate in
// force at c.At, but Opening and PaidOut as ch carried and paid them, the
// difference being the part's Revaluation.
func convertStatement(s Statement, c Consolidation, ch chain) (ConsolidatedPart, error) {
	part := ConsolidatedPart{Statement: s, Converted: s}
	if s.Currency == c.Currency {
		part.Rounding = ensemble.MoneyFromMinor(0, c.Currency)
		part.Revaluation = part.Rounding
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
	return revalue(part, rate, c.Mode, ch)
}

// revalue replaces part's Opening and PaidOut, converted at rate, by what
// ch carried and paid, and records the difference as its Revaluation.
func revalue(part ConsolidatedPart, rate ensemble.ExchangeRate, mode ensemble.RoundingMode, ch chain) (ConsolidatedPart, error) {
	cv := &part.Converted
	openingAtRate, paidAtRate := cv.Opening, cv.PaidOut
	if ch.carried != nil {
		part.Carried = ch.carried
		cv.Opening = ch.carried.To
	}
	if len(ch.paid) > 0 {
		part.Paid = ch.paid
		rest, paid := part.Statement.PaidOut, ensemble.MoneyFromMinor(0, cv.Currency)
		var err error
		for _, p := range ch.paid {
			if rest, err = rest.Sub(p.Conversion.From); err != nil {
				return ConsolidatedPart{}, err
			}
			if paid, err = paid.Add(p.Conversion.To); err != nil {
				return ConsolidatedPart{}, err
			}
		}
		restAtRate, err := rate.Convert(rest, mode)
		if err != nil {
			return ConsolidatedPart{}, err
		}
		if cv.PaidOut, err = paid.Add(restAtRate); err != nil {
			return ConsolidatedPart{}, err
		}
	}
	// (opening at rate - as carried) - (paid out at rate - as paid)
	reval, err := ensemble.Sum(openingAtRate, cv.Opening.Neg(), paidAtRate.Neg(), cv.PaidOut)
	if err != nil {
		return ConsolidatedPart{}, err
	}
	part.Revaluation = reval
	return part, nil
}

// previousByParty indexes c.Previous by party, refusing one in another
// currency, given twice for a party, or that its parts do not prove.
func previousByParty(c Consolidation) (map[partner.ID]*Consolidated, error) {
	out := make(map[partner.ID]*Consolidated, len(c.Previous))
	for i := range c.Previous {
		p := &c.Previous[i]
		bad := func(why string, args ...any) error {
			return &ChainError{Party: p.Party, Period: p.Period, Problem: "previous consolidated statement: " + fmt.Sprintf(why, args...)}
		}
		switch {
		case p.Currency != c.Currency:
			return nil, bad("it is in %s, not %s", p.Currency, c.Currency)
		case out[p.Party] != nil:
			return nil, bad("given twice (for %s and %s)", out[p.Party].Period, p.Period)
		}
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("previous consolidated statement of %q for %s: %w", p.Party, p.Period, err)
		}
		out[p.Party] = p
	}
	return out, nil
}

// payoutsByStatement indexes the payout entries by party and currency;
// nil when the host gave none (Consolidation.Payouts nil).
func payoutsByStatement(entries []Entry) map[stKey][]Entry {
	if entries == nil {
		return nil
	}
	out := map[stKey][]Entry{}
	for _, e := range entries {
		if e.Kind == KindPayout {
			k := stKey{e.Party, e.Amount.Currency()}
			out[k] = append(out[k], e)
		}
	}
	return out
}

// chainInputs checks that a party's statements of one period chain with
// its previous consolidated statement (nil: none) and payouts (nil: not
// given), and returns how each statement's Opening and PaidOut convert.
func chainInputs(group []Statement, c Consolidation, prev *Consolidated, payouts map[stKey][]Entry) (map[ensemble.Currency]chain, error) {
	out := map[ensemble.Currency]chain{}
	period := group[0].Period
	bad := func(cur ensemble.Currency, why string, args ...any) error {
		return &ChainError{Party: group[0].Party, Period: period, Currency: cur, Problem: fmt.Sprintf(why, args...)}
	}
	if prev != nil {
		if !prev.Period.End.Equal(period.Start) {
			return nil, bad(ensemble.Currency{}, "the previous consolidated statement is of %s, which does not end where %s starts", prev.Period, period)
		}
		parts := map[ensemble.Currency]*ConsolidatedPart{}
		for i := range prev.Parts {
			parts[prev.Parts[i].Statement.Currency] = &prev.Parts[i]
		}
		for _, s := range group {
			pp := parts[s.Currency]
			delete(parts, s.Currency)
			if pp == nil {
				if !s.Opening.IsZero() {
					return nil, bad(s.Currency, "it opens at %s, and the previous consolidated statement has no statement in %s", s.Opening, s.Currency)
				}
				continue
			}
			if !pp.Statement.Closing.Equal(s.Opening) {
				return nil, bad(s.Currency, "it opens at %s, and the previous consolidated statement closed at %s", s.Opening, pp.Statement.Closing)
			}
			if s.Currency != c.Currency {
				out[s.Currency] = chain{carried: &Conversion{From: pp.Statement.Closing, Rate: pp.Rate.Rate, Mode: prev.Mode, To: pp.Converted.Closing}}
			}
		}
		for cur, pp := range parts {
			if !pp.Statement.Closing.IsZero() {
				return nil, bad(cur, "the previous consolidated statement closed at %s, and no statement in %s carries it", pp.Statement.Closing, cur)
			}
		}
	}
	if payouts == nil {
		return out, nil
	}
	for _, s := range group {
		ch := out[s.Currency]
		total := ensemble.MoneyFromMinor(0, s.Currency)
		for _, e := range payouts[stKey{s.Party, s.Currency}] {
			if !period.Contains(e.Date) {
				if _, late := slices.BinarySearch(s.Late, e.ID); !late {
					continue
				}
			}
			var err error
			if total, err = total.Add(e.Amount); err != nil {
				return nil, err
			}
			if e.Conversion == nil || s.Currency == c.Currency || e.Conversion.To.Currency() != c.Currency {
				continue
			}
			if err := checkConversion(*e.Conversion, e.Amount); err != nil {
				return nil, bad(s.Currency, "payout %q: %v", e.ID, err)
			}
			ch.paid = append(ch.paid, ConsolidatedPayout{Entry: e.ID, Conversion: *e.Conversion})
		}
		if !total.Equal(s.PaidOut) {
			return nil, bad(s.Currency, "its payouts given add up to %s, and it paid out %s", total, s.PaidOut)
		}
		slices.SortFunc(ch.paid, func(a, b ConsolidatedPayout) int { return cmp.Compare(a.Entry, b.Entry) })
		out[s.Currency] = ch
	}
	return out, nil
}

// checkConversion reports whether cv converts from (its From) to its To
// at its Rate and Mode.
func checkConversion(cv Conversion, from ensemble.Money) error {
	if !cv.From.Equal(from) || cv.From.Currency() != from.Currency() {
		return fmt.Errorf("its conversion is from %s, not %s", cv.From, from)
	}
	to, err := ensemble.ExchangeRate{From: cv.From.Currency(), To: cv.To.Currency(), Rate: cv.Rate}.Convert(cv.From, cv.Mode)
	if err != nil {
		return err
	}
	if !to.Equal(cv.To) || to.Currency() != cv.To.Currency() {
		return fmt.Errorf("%s at %s is %s, not %s", cv.From, cv.Rate, to, cv.To)
	}
	return nil
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
// apply. The payout converts at the rates in force at c.At, whatever its
// date: to pay at the rates of the payout's date, as a contract paying "at
// the payout date's rate" says, consolidate At that date. A rate not yet
// in force at p.Date (its Since after it: a payout dated before the rate
// it would pay at) is refused, as PayOut refuses such an Exchange.
// Errors: a bad id or no date (ErrInvalidPayout), a consolidated
// statement its parts do not prove (Consolidated.Check), nothing payable
// (ErrNothingPayable), the rate of a part it pays not yet in force at p.Date (a
// *ensemble.RateError wrapping ensemble.ErrNoRate, naming the pair, the
// payout's date and the rate's Since).
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
			if x := part.Rate; x.Since.After(p.Date) {
				return nil, fmt.Errorf("settlement: payout %q: %w", p.ID, &ensemble.RateError{From: x.From, To: x.To, At: p.Date,
					Value: "in force only from " + x.Since.UTC().Format(time.RFC3339), Err: ensemble.ErrNoRate})
			}
			e.Conversion = &Conversion{From: amount, Rate: part.Rate.Rate, Mode: c.Mode, To: to}
		}
		out = append(out, e)
	}
	return out, nil
}

// Check reports whether c is what Consolidate makes of its parts'
// statements at their recorded rates, At, Mode, Net and Minimum, with
// their recorded carried openings and payouts (each conversion redone):
// each part is consolidated again and every figure compared, so a
// tampered part, converted figure, rate or total is refused
// (ErrStatementMismatch) before PayOutConsolidated pays it.
func (c Consolidated) Check() error {
	cons := Consolidation{Currency: c.Currency, At: c.At, Mode: c.Mode, Net: c.Net, Minimum: c.Minimum}
	if !c.Net {
		// Consolidate refuses a minimum without Net, which it ignored
		// before: one kept from then is checked as it was made.
		cons.Minimum = ensemble.Money{}
	}
	statements := make([]Statement, len(c.Parts))
	chains := map[ensemble.Currency]chain{}
	for i, p := range c.Parts {
		if p.Statement.Party != c.Party || !p.Statement.Period.Equal(c.Period) {
			return fmt.Errorf("%w: consolidated statement of %q for %s holds a part of %q for %s",
				ErrStatementMismatch, c.Party, c.Period, p.Statement.Party, p.Statement.Period)
		}
		statements[i] = p.Statement
		if p.Statement.Currency != c.Currency {
			cons.Rates = append(cons.Rates, p.Rate)
		}
		if err := checkChain(c, p); err != nil {
			return err
		}
		chains[p.Statement.Currency] = chain{carried: p.Carried, paid: p.Paid}
	}
	again, err := consolidateAll(statements, cons, func([]Statement) (map[ensemble.Currency]chain, error) { return chains, nil })
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

// checkChain reports whether p's recorded carried opening and payouts
// convert as they say, from its statement's currency (its Opening, for
// the carried one) to c's currency.
func checkChain(c Consolidated, p ConsolidatedPart) error {
	s := p.Statement
	bad := func(why string, args ...any) error {
		return &ChainError{Party: c.Party, Period: c.Period, Currency: s.Currency, Problem: fmt.Sprintf(why, args...)}
	}
	if s.Currency == c.Currency && (p.Carried != nil || len(p.Paid) > 0) {
		return bad("a part in the reporting currency records a conversion")
	}
	if p.Carried != nil {
		if p.Carried.To.Currency() != c.Currency {
			return bad("its opening is carried in %s, not %s", p.Carried.To.Currency(), c.Currency)
		}
		if err := checkConversion(*p.Carried, s.Opening); err != nil {
			return bad("opening: %v", err)
		}
	}
	for i, q := range p.Paid {
		if q.Conversion.To.Currency() != c.Currency || q.Conversion.From.Currency() != s.Currency {
			return bad("payout %q converts %s to %s", q.Entry, q.Conversion.From.Currency(), q.Conversion.To.Currency())
		}
		if err := checkConversion(q.Conversion, q.Conversion.From); err != nil {
			return bad("payout %q: %v", q.Entry, err)
		}
		if i > 0 && q.Entry <= p.Paid[i-1].Entry {
			return bad("payout %q is listed out of order or twice", q.Entry)
		}
	}
	return nil
}
