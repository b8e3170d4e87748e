package settlement

import (
	"fmt"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Cumulative volumes across currencies. A plan's cumulative tiers are in
// one currency (the plan's volume currency, cplan.volCur); a line in
// another adds its basis to the volumes its rates read, and reads them,
// converted at the host's rate in force at the line's date
// (Config.Rates). The conversion is said in the line's cumulative share
// texts and kept on the line's ledger, so that finance can redo every cent
// and a State records how each of its volumes grew.

// lineVolume is a cumulative volume a line added to, which the state
// remembers per line (State.lineVols) when the line's basis was converted
// into the volume's currency (rate); the line's ledger says it in JSON.
type lineVolume struct {
	key   volKey
	units int64                  // what the line added, in the volume's currency
	rate  *ensemble.ExchangeRate // the conversion from the line's currency; read-only, shared by the lines converted at it
}

// addLineVolume records that line added to v. The slices are never
// changed once the call that made them returns: a state's copy shares
// them.
func (s *State) addLineVolume(line LineID, v lineVolume) {
	if s.lineVols == nil {
		s.lineVols = map[LineID][]lineVolume{}
	}
	vs := s.lineVols[line]
	s.lineVols[line] = append(vs[:len(vs):len(vs)], v)
}

// LineVolume is the JSON form of a cumulative volume a settled line added
// to, which the State keeps on the line's ledger when the line's basis was
// converted into the volume's currency: which volume (the partner, window
// and calendar year, in Amount's currency), what the line added to it, and
// the rate.
type LineVolume struct {
	Partner partner.ID `json:"partner"`
	Window  Window     `json:"window"`
	Year    int        `json:"year,omitempty"`
	// Amount is what the line added, in the volume's currency: its basis
	// times Rate.Rate, rounded half away from zero to that currency's
	// minor unit (Rate.Convert).
	Amount ensemble.Money `json:"amount"`
	// Rate converted the line's basis: from the line's currency to the
	// volume's, the rate the host's table held in force at the line's
	// date.
	Rate ensemble.ExchangeRate `json:"rate"`
}

// convertVolume readies the reading of the line's volumes: in the plan's
// volume currency, into which the line's basis (basis minor units) is
// converted at the rate in force at the line's date when the line is in
// another currency. No rate is a *LineError naming the line, the plan and
// the node whose tiers are in the volume currency, wrapping ErrCurrency and
// the *ensemble.RateError naming the currencies.
func (d *decider) convertVolume(l *Line, plan *cplan, basis int64) error {
	d.volCur, d.volBasis, d.fx, d.fxNote = d.cur, basis, nil, ""
	to := plan.volCur
	if to.IsZero() || to == d.cur {
		return nil
	}
	r, err := d.s.rates.At(d.cur, to, l.Date)
	if err != nil {
		return lineErr(l.ID, plan.id, plan.volNode, "", fmt.Errorf("%w: a %s line through cumulative tiers in %s: %w", ErrCurrency, d.cur.Key(), to.Key(), err))
	}
	m, err := r.Convert(ensemble.MoneyFromMinor(basis, d.cur), ensemble.RoundHalfAwayFromZero)
	if err == nil {
		d.volBasis, err = m.MinorUnits()
	}
	if err != nil {
		return lineErr(l.ID, plan.id, plan.volNode, "", fmt.Errorf("%w: the basis in %s: %w", ErrInvalidLine, to.Key(), err))
	}
	d.volCur = to
	// One rate value per rate, shared by the ledgers of the lines
	// converted at it; its text with it.
	if f := d.fx0; f == nil || f.From != r.From || f.To != r.To || !f.Since.Equal(r.Since) || f.Rate.Cmp(r.Rate) != 0 {
		d.fx0, d.fxText, d.fxSince = &r, r.Rate.String(), ""
		if !r.Since.IsZero() {
			d.fxSince = ", rate since " + string(appendDate(nil, r.Since.UTC()))
		}
	}
	d.fx = d.fx0
	// "; USD 543.48 at 0.92 = EUR 500.00, rate since 2026-03-15"
	var buf [128]byte
	t := appendMoney(append(buf[:0], "; "...), basis, d.cur)
	t = appendMoney(append(append(append(t, " at "...), d.fxText...), " = "...), d.volBasis, to)
	d.fxNote = d.keepText(append(t, d.fxSince...))
	return nil
}

// export returns the JSON form of v.
func (v *lineVolume) export() LineVolume {
	cur, _ := ensemble.ParseCurrency(v.key.cur) // a key the settler wrote
	out := LineVolume{Partner: v.key.partner, Window: v.key.window, Year: v.key.year, Amount: ensemble.MoneyFromMinor(v.units, cur)}
	if v.rate != nil {
		out.Rate = *v.rate
	}
	return out
}

// lineVolume reads volume j of ledger line ll, whose basis is basis minor
// units (basisOK false: unreadable), checking it as the settler writes it:
// a partner, a window and the calendar year of the line's date (none for
// a rolling window), held once; an amount in a currency other than the
// line's, in whole minor units and not negative; a rate from the line's
// currency to the amount's that the host's table could hold
// (ExchangeRate.Check), and the amount the line's basis converts to at it,
// to the cent.
func (r *stateReader) lineVolume(path string, ll *LedgerLine, j int, basis int64, basisOK bool) (lineVolume, bool) {
	v := &ll.Volumes[j]
	ok := true
	fail := func(field string, err error, format string, args ...any) {
		r.fail(path+field, ll.Line, "", err, format, args...)
		ok = false
	}
	if err := ensemble.CheckID(string(v.Partner), ensemble.EntrySeparators); err != nil {
		fail(".partner", err, "invalid partner id")
	}
	switch {
	case int(v.Window) >= len(windowNames):
		fail(".window", nil, "unknown window")
	case v.Window == WindowCalendarYear && v.Year != ll.Date.UTC().Year():
		fail(".year", nil, "year %d: the line added to the volume of its date's year, %d", v.Year, ll.Date.UTC().Year())
	case v.Window == WindowRolling12Months && v.Year != 0:
		fail(".year", nil, "a rolling window has no year")
	}
	line, cur := ll.Basis.Currency(), v.Amount.Currency()
	units, err := v.Amount.MinorUnits()
	switch {
	case cur.IsZero():
		fail(".amount", nil, "amount %s has no currency", v.Amount)
	case cur == line:
		fail(".amount", ErrCurrency, "amount %s is in the line's currency: only a volume in another currency is kept on the line", v.Amount)
	case err != nil:
		fail(".amount", err, "amount %s is not a whole number of minor units", v.Amount)
	case units < 0:
		fail(".amount", nil, "negative amount %s", v.Amount)
	}
	rate := v.Rate
	switch err := rate.Check(); {
	case err != nil:
		fail(".rate", err, "the rate cannot convert")
	case rate.From != line || rate.To != cur:
		fail(".rate", ErrCurrency, "a rate from %s to %s converts a %s line's basis to %s", rate.From.Key(), rate.To.Key(), line.Key(), cur.Key())
	case ok && basisOK:
		if want, err := rate.Convert(ensemble.MoneyFromMinor(basis, line), ensemble.RoundHalfAwayFromZero); err != nil || !want.Equal(v.Amount) {
			fail(".amount", nil, "%s is not the basis %s at %s (%s)", v.Amount, ll.Basis, rate.Rate, want)
		}
	}
	k := volKey{partner: v.Partner, cur: cur.Key(), window: v.Window, year: v.Year}
	for i := range ll.Volumes[:j] {
		w := &ll.Volumes[i]
		if w.Partner == v.Partner && w.Window == v.Window && w.Year == v.Year && w.Amount.Currency() == cur {
			fail("", nil, "the volume of %q in %s (%s) is also volumes[%d]", v.Partner, cur.Key(), v.Window, i)
			break
		}
	}
	if !ok {
		return lineVolume{}, false
	}
	return lineVolume{key: k, units: units, rate: &rate}, true
}
