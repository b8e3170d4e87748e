package settlement

import (
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"time"

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

// lineVolume is a cumulative volume a line added to, which the line's
// ledger keeps (ledger.vols; LedgerLine.Volumes in JSON): what it added,
// the rate when the line's basis was converted into the volume's
// currency, and whether its credits take back from it.
type lineVolume struct {
	key   volKey
	units int64                  // what the line added, in the volume's currency
	rate  *ensemble.ExchangeRate // the conversion from the line's currency, or nil; read-only, shared by the lines converted at it
	net   bool                   // credits and lost disputes of the line take back from it (VolumeNetOfCredits)
}

// LineVolume is the JSON form of a cumulative volume a settled line added
// to, which the State keeps on the line's ledger: which volume (the
// partner, window and calendar period, in Amount's currency), what the
// line added to it, the rate, and whether credits take back from it. A
// state read back is checked against them: a calendar period's volume
// holds at least what its lines still add to it. (A state written before
// they were kept for a volume of sales in the line's own currency, binary
// version 13 or earlier, has them only for lines converted or net of
// credits; its other volumes are not checked.)
type LineVolume struct {
	Partner partner.ID `json:"partner"`
	Window  Window     `json:"window"`
	Year    int        `json:"year,omitempty"`
	// Month is the first month of the calendar_quarter's or
	// calendar_month's period of the line's date; absent for other
	// windows.
	Month int `json:"month,omitempty"`
	// Amount is what the line added, in the volume's currency: its basis,
	// or with a Rate its basis times Rate.Rate, rounded half away from
	// zero to that currency's minor unit (Rate.Convert).
	Amount ensemble.Money `json:"amount"`
	// Rate converted the line's basis: from the line's currency to the
	// volume's, the rate the host's table held in force at the line's
	// date. Zero when the volume is in the line's currency.
	Rate ensemble.ExchangeRate `json:"rate,omitzero"`
	// NetOfCredits says that the line's credits and lost disputes take
	// back from the volume the share of Amount they reverse of the line's
	// basis (Cumulative.Volume).
	NetOfCredits bool `json:"net_of_credits,omitempty"`
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
	out := LineVolume{Partner: v.key.partner, Window: v.key.window, Year: v.key.year, Month: v.key.month, Amount: ensemble.MoneyFromMinor(v.units, cur), NetOfCredits: v.net}
	if v.rate != nil {
		out.Rate = *v.rate
	}
	return out
}

// lineVolume reads volume j of ledger line ll, whose basis is basis minor
// units (basisOK false: unreadable), checking it as the settler writes it:
// a partner, a window and the calendar period of the line's date (none
// for a rolling window), held once; an amount in whole minor units and not
// negative; with a rate, the amount in a currency other than the line's, a
// rate from the line's currency to the amount's that the host's table
// could hold (ExchangeRate.Check), and the amount the line's basis
// converts to at it, to the cent; without one, the line's basis itself.
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
	case v.Window == WindowRolling12Months && v.Year != 0:
		fail(".year", nil, "a rolling window has no year")
	case !v.Window.validMonth(v.Month):
		fail(".month", nil, "month %d is not the first month of a %s", v.Month, v.Window)
	case v.Window.calendar():
		if y, m := v.Window.period(ll.Date); v.Year != y || v.Month != m {
			fail(".year", nil, "%s %s: the line added to the volume of its date's %s, %s", v.Window.noun(), periodName(v.Year, v.Month), v.Window.noun(), periodName(y, m))
		}
	}
	line, cur := ll.Basis.Currency(), v.Amount.Currency()
	units, err := v.Amount.MinorUnits()
	converted := v.Rate != (ensemble.ExchangeRate{})
	switch {
	case cur.IsZero():
		fail(".amount", nil, "amount %s has no currency", v.Amount)
	case converted && cur == line:
		fail(".amount", ErrCurrency, "amount %s is in the line's currency: a volume the line added to at a rate is in another", v.Amount)
	case err != nil:
		fail(".amount", err, "amount %s is not a whole number of minor units", v.Amount)
	case units < 0:
		fail(".amount", nil, "negative amount %s", v.Amount)
	}
	rate := v.Rate
	switch err := rate.Check(); {
	case !converted && cur != line && !cur.IsZero():
		fail(".amount", ErrCurrency, "amount %s is not in the line's currency %s, and no rate converts it", v.Amount, line.Key())
	case !converted:
		if ok && basisOK && units != basis {
			fail(".amount", nil, "%s is not the line's basis %s", v.Amount, ll.Basis)
		}
	case err != nil:
		fail(".rate", err, "the rate cannot convert")
	case rate.From != line || rate.To != cur:
		fail(".rate", ErrCurrency, "a rate from %s to %s converts a %s line's basis to %s", rate.From.Key(), rate.To.Key(), line.Key(), cur.Key())
	case ok && basisOK:
		if want, err := rate.Convert(ensemble.MoneyFromMinor(basis, line), ensemble.RoundHalfAwayFromZero); err != nil || !want.Equal(v.Amount) {
			fail(".amount", nil, "%s is not the basis %s at %s (%s)", v.Amount, ll.Basis, rate.Rate, want)
		}
	}
	k := volKey{partner: v.Partner, cur: cur.Key(), window: v.Window, year: v.Year, month: v.Month}
	for i := range ll.Volumes[:j] {
		w := &ll.Volumes[i]
		if w.Partner == v.Partner && w.Window == v.Window && w.Year == v.Year && w.Month == v.Month && w.Amount.Currency() == cur {
			fail("", nil, "the volume of %q in %s (%s) is also volumes[%d]", v.Partner, cur.Key(), v.Window, i)
			break
		}
	}
	if !ok {
		return lineVolume{}, false
	}
	out := lineVolume{key: k, units: units, net: v.NetOfCredits}
	if converted {
		out.rate = &rate
	}
	return out, true
}

// netVolumes checks the volumes lines add to against the volumes the state
// holds: each is held; a calendar period holds at least what its lines
// still add to it (what a line added, less, net of credits, what its
// credits took back: creditedShare of what it has credited); net of
// credits, a rolling window holds the line's point, dated at the line,
// with what the line added less what its credits took back, and a point
// naming a line is of a line that adds to that volume net of credits. So no credit can take
// a volume below zero, nor from a point that is not its line's. A state
// holding none of a partner's volumes while lines add to one (a part split
// by line, read back) refuses sales reading that partner's volume
// (State.volumesOf), as the part did in memory.
func (r *stateReader) netVolumes(in stateIn) {
	at := make(map[volKey]int, len(in.Volumes)) // the index of each volume read
	for i, v := range in.Volumes {
		k := volKey{partner: v.Partner, cur: v.Currency.Key(), window: v.Window, year: v.Year, month: v.Month}
		if _, dup := at[k]; !dup {
			at[k] = i
		}
	}
	held := map[partner.ID]bool{} // the partners some volume of which the state holds
	for k := range r.out.vols.all() {
		held[k.partner] = true
	}
	lacks := map[partner.ID]bool{} // the partners lines add to a volume of, none of which the state holds
	defer func() {
		// A state read back holds every partner's volumes (volumesOf nil)
		// but those: a sale reading one is refused, as the part split by
		// line it is (or a state whose volume was lost) refuses it in
		// memory, rather than settled at a volume of zero.
		if len(lacks) > 0 {
			r.out.volumesOf = func(p partner.ID) bool { return !lacks[p] }
		}
	}()
	still := map[volKey]int64{} // what lines still add to a calendar period (net of credits where they say so)
	netOf := map[volKey]bool{}  // the volumes some line adds to net of credits
	claimed := map[volKey]map[LineID]bool{}
	pointOf := map[volKey]map[LineID]int{} // the point naming each line, per rolling volume
	done := map[LineID]bool{}              // a line held twice is checked once
	for i := range in.Lines {
		id := in.Lines[i].Line
		l := r.out.lines.get(id)
		if l == nil || done[id] {
			continue
		}
		done[id] = true
		for j, v := range l.vols {
			how := ""
			if v.net {
				how = " net of credits"
			}
			path := ensemble.Path("lines", i, "volumes", j)
			fail := func(format string, args ...any) {
				r.fail(path, id, "", nil, "the volume of %q in %s (%s): "+format, append([]any{v.key.partner, v.key.cur, v.key.window}, args...)...)
			}
			vs := r.out.vols.get(v.key)
			if vs == nil {
				// A part of a state split by line (SplitByLine) holds no
				// volume of the partner: its shard settles no credit of
				// the line, nor a sale reading the partner's volume
				// (ErrVolumeNotHeld), which it would read as zero.
				if held[v.key.partner] {
					fail("the line adds to it%s, but the state holds no such volume", how)
				} else {
					lacks[v.key.partner] = true
				}
				continue
			}
			left := v.units // a volume of sales keeps what the line added
			if v.net {
				left -= creditedShare(v.units, l.credited, l.basis)
				netOf[v.key] = true
			}
			cur, _ := ensemble.ParseCurrency(v.key.cur) // a currency read from the state
			if v.key.window.calendar() {
				if still[v.key] <= math.MaxInt64-left {
					still[v.key] += left
				}
				continue
			}
			if !v.net {
				continue // a rolling window's points name only lines net of credits
			}
			if claimed[v.key] == nil {
				claimed[v.key] = map[LineID]bool{}
			}
			claimed[v.key][id] = true
			if pointOf[v.key] == nil {
				pointOf[v.key] = make(map[LineID]int, len(vs.points))
				for j, p := range vs.points {
					if p.line != "" {
						pointOf[v.key][p.line] = j // one per line: stateReader.volume refuses two
					}
				}
			}
			p, ok := pointOf[v.key][id]
			switch {
			case !ok:
				fail("no point of the line, which its credits would take back from")
			case !vs.points[p].date.Equal(l.date):
				fail("the line's point is dated %s, not at the line", vs.points[p].date.Format(time.RFC3339))
			case vs.points[p].units != left:
				fail("the line's point holds %s, not the %s it added less what its credits took back",
					ensemble.MoneyFromMinor(vs.points[p].units, cur), ensemble.MoneyFromMinor(left, cur))
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(at), func(a, b volKey) int { return at[a] - at[b] })
	for _, k := range keys {
		vs, path := r.out.vols.get(k), ensemble.Path("volumes", at[k])
		if vs == nil {
			continue
		}
		cur, _ := ensemble.ParseCurrency(k.cur)
		if n := still[k]; vs.units < n {
			how := ""
			if netOf[k] {
				how = " net of credits"
			}
			r.fail(path+".amount", "", "", nil, "volume of %q in %s (%s %s): %s is less than the %s lines still add to it%s",
				k.partner, k.cur, k.window, periodName(k.year, k.month), ensemble.MoneyFromMinor(vs.units, cur), ensemble.MoneyFromMinor(n, cur), how)
		}
		for j, p := range vs.points {
			// A point of a line the state does not hold is of a ledger
			// part held apart (SplitByPartner): a credit of the line is
			// settled where both are held, and finds exactly one point.
			if p.line != "" && !claimed[k][p.line] && r.out.lines.get(p.line) != nil {
				r.fail(ensemble.Path(path, "points", j)+".line", p.line, "", nil, "volume of %q in %s (%s): a point of line %q, which adds to it net of credits on no ledger line",
					k.partner, k.cur, k.window, p.line)
			}
		}
	}
}

// takeBackVolumes takes back, from the volumes line lg added to net of
// credits, what its credits and lost disputes reverse now that credited of
// its basis is reversed: the same share of what it added, rounded half
// away from zero (creditedShare), less what was taken back before. A
// rolling window takes it from the line's own point, which leaves the
// window with the sale. Every line settled after reads the reduced volume.
func (r *run) takeBackVolumes(lg *ledger, credited int64) error {
	for _, v := range lg.vols {
		if !v.net {
			continue
		}
		d := creditedShare(v.units, credited, lg.basis) - creditedShare(v.units, lg.credited, lg.basis)
		if d == 0 {
			continue
		}
		corrupt := func(why string) error {
			return fmt.Errorf("%w: line %q: the volume of %q in %s (%s) %s", ErrCorruptState, lg.line, v.key.partner, v.key.cur, v.key.window, why)
		}
		held := r.st.vols.get(v.key)
		if held == nil {
			if !r.st.holdsVolumeOf(v.key.partner) {
				return fmt.Errorf("%w: line %q adds to the volume of %q in %s (%s) net of credits, which the state does not hold: "+
					"settle its credits with the partner's volumes (State.SplitByPartner)", ErrVolumeNotHeld, lg.line, v.key.partner, v.key.cur, v.key.window)
			}
			return corrupt("is not held")
		}
		i := -1
		if v.key.window == WindowRolling12Months {
			// The line's one point, dated at the line (as decoding a state
			// checks): two points of it at that date are refused, never a
			// guess (decoding a state, and so MergeStates, refuses a line's
			// second point at any date).
			var twice bool
			if i, twice = held.byDate.of(held.points, lg.line, lg.date); twice {
				return corrupt("has two points of the line")
			}
			if i < 0 || held.points[i].units < d {
				return corrupt("has no point of the line to take back from")
			}
		}
		vs := r.own(v.key)
		if vs.units < d {
			return corrupt("holds less than the line added")
		}
		r.undoVolume(v.key, true, i)
		vs.units -= d
		if i >= 0 {
			vs.adjustPoint(i, -d)
		}
	}
	return nil
}

// creditedShare is the share of added (what a line added to a volume) that
// credited of its basis reverses: added × credited / basis, rounded half
// away from zero, so that it never decreases as credits grow and a full
// credit takes back exactly what was added. All three are not negative.
func creditedShare(added, credited, basis int64) int64 {
	if basis == 0 || credited == 0 {
		return 0
	}
	if credited == basis {
		return added
	}
	n := new(big.Int).Mul(big.NewInt(added), big.NewInt(credited))
	n.Lsh(n, 1).Add(n, big.NewInt(basis)) // (2·added·credited + basis) / (2·basis)
	return n.Quo(n, new(big.Int).Lsh(big.NewInt(basis), 1)).Int64()
}

// periodName writes a calendar period's key for messages: "2026", or
// "2026-04" for a quarter's or month's period starting in April.
func periodName(year, month int) string {
	if month == 0 {
		return fmt.Sprint(year)
	}
	return fmt.Sprintf("%d-%02d", year, month)
}
