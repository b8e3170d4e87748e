package settlement

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// State is the explicit memory of settlement between calls: for every
// settled line, what each party earned and still has unreversed (the
// clawback ledger), whether a dispute holds it; and the cumulative volumes
// rates read. It is a value: every call takes one and returns a new one,
// leaving the one given unchanged; the host persists it (it round-trips
// through JSON). The zero State is empty and ready to use.
//
// Each call copies the state's maps (not their contents), which costs time
// in proportion to the lines held: settle in batches, and shard large
// ledgers (per seller, say) rather than growing one state forever.
type State struct {
	lines   map[LineID]*ledger
	vols    map[volKey]*volState
	credits map[LineID]LineID // credit line -> the line it credited
}

type ledger struct {
	line     LineID
	ctx      *lineCtx // shared with the lines of the same plan, offer, route and currency
	date     time.Time
	basis    int64
	credited int64
	trace    []ensemble.Ref
	payees   *[]payee  // who each part pays; shared with lines that paid alike, read-only
	amounts  []int64   // each part's amount; then (2n long) each part's unreversed amount, once reversed or read from JSON
	disputes *disputes // nil: never disputed
}

// lineCtx is what a ledger line shares with every line of the same plan
// version, offer, route kind, seller and currency: one pointer per line
// instead of a copy.
type lineCtx struct {
	plan   *ensemble.Ref // the plan version's
	offer  catalog.Pin
	seller partner.ID
	cur    ensemble.Currency
	route  RouteKind
}

// disputes is a disputed line's record: how many disputes were opened on
// it, and what the open one holds.
type disputes struct {
	count int32
	open  bool
	held  []int64 // per part, while a dispute is open
}

// disputed reports whether a dispute holds the line.
func (l *ledger) disputed() bool { return l.disputes != nil && l.disputes.open }

// disputeCount returns how many disputes were opened on the line.
func (l *ledger) disputeCount() int32 {
	if l.disputes == nil {
		return 0
	}
	return l.disputes.count
}

// A line's parts are its earnings and supplier costs. What a part pays
// (party and plan node) is kept apart from its amounts: the payees are
// shared by every line whose walk paid the same parties through the same
// nodes, and the amounts are plain integers, so a ledger line holds few
// pointers (the ledger is most of a state's memory). Entry ids are derived
// (entryID), not stored.

// payee is whom one part of a line pays, and through which plan node.
type payee struct {
	party partner.ID
	meta  *partMeta // shared by every part a plan leaf makes
}

// parts returns the number of the line's parts.
func (l *ledger) parts() int {
	if l.payees == nil {
		return 0
	}
	return len(*l.payees)
}

// payee returns whom part i pays.
func (l *ledger) payee(i int) *payee { return &(*l.payees)[i] }

// units returns part i's amount.
func (l *ledger) units(i int) int64 { return l.amounts[i] }

// unreversed returns what part i still carries: its amount until a
// reversal gives the parts their own unreversed amounts.
func (l *ledger) unreversed(i int) int64 {
	if n := l.parts(); len(l.amounts) > n {
		return l.amounts[n+i]
	}
	return l.amounts[i]
}

// withUnreversed returns a copy of the line's amounts that holds each
// part's unreversed amount apart, for a reversal to change.
func (l *ledger) withUnreversed() []int64 {
	n := l.parts()
	out := make([]int64, 2*n)
	for i := range n {
		out[i], out[n+i] = l.units(i), l.unreversed(i)
	}
	return out
}

// partMeta is what a ledger part shares with the other parts of its plan
// node: the entry kind, the role and the node path, and whether entry ids
// name the party (leaves that pay several parties).
type partMeta struct {
	role  string
	node  string
	kind  EntryKind
	multi bool
}

// entryID returns the id of the entry part i of the line recorded:
// "line:node/path", with "/party" for leaves that pay several parties.
func (l *ledger) entryID(i int) EntryID {
	return EntryID(partID(string(l.line), l.payee(i)))
}

// partID returns the id of the entry for pe of the line (or credit)
// prefix.
func partID(prefix string, pe *payee) string {
	if pe.meta.multi {
		return prefix + ":" + pe.meta.node + "/" + string(pe.party)
	}
	return prefix + ":" + pe.meta.node
}

type volKey struct {
	partner partner.ID
	cur     string
	window  Window
	year    int
}

type volState struct {
	units  int64
	points []volPoint
}

type volPoint struct {
	date  time.Time
	units int64
}

// Len returns the number of settled lines the state holds.
func (s State) Len() int { return len(s.lines) }

// Has reports whether line id has been settled, as a sale or a credit.
func (s State) Has(id LineID) bool {
	_, ok := s.lines[id]
	_, credit := s.credits[id]
	return ok || credit
}

// clone copies the state's maps (not the ledgers, which are never
// changed in place), with room for extra more lines. Every call pays this
// copy, O(lines held): hosts with very large states settle in large
// batches or keep one state per shard.
func (s State) clone(extra int) State {
	lines := make(map[LineID]*ledger, len(s.lines)+extra)
	maps.Copy(lines, s.lines)
	return State{lines: lines, vols: maps.Clone(s.vols), credits: maps.Clone(s.credits)}
}

// LedgerLine is the JSON form of one settled line in a State.
type LedgerLine struct {
	Line     LineID         `json:"line"`
	Plan     ensemble.Ref   `json:"plan"`
	Date     time.Time      `json:"date"`
	Basis    ensemble.Money `json:"basis"`
	Credited ensemble.Money `json:"credited"`
	Disputed bool           `json:"disputed,omitempty"`
	Disputes int            `json:"disputes,omitempty"`
	Offer    catalog.Pin    `json:"offer"`
	Route    RouteKind      `json:"route"`
	Seller   partner.ID     `json:"seller,omitempty"`
	Trace    []ensemble.Ref `json:"trace,omitempty"`
	Parts    []LedgerPart   `json:"parts"`
}

// LedgerPart is what one entry of a line still carries: its amount, what
// is left unreversed, and what a dispute holds.
type LedgerPart struct {
	Entry      EntryID        `json:"entry"`
	Party      partner.ID     `json:"party"`
	Role       string         `json:"role,omitempty"`
	Node       string         `json:"node,omitempty"`
	Kind       EntryKind      `json:"kind"`
	Amount     ensemble.Money `json:"amount"`
	Unreversed ensemble.Money `json:"unreversed"`
	Held       ensemble.Money `json:"held,omitzero"`
}

// VolumeState is the JSON form of one cumulative volume: a partner's
// basis in a currency and window (Year for calendar years; Points, one per
// line, for rolling windows).
type VolumeState struct {
	Partner  partner.ID        `json:"partner"`
	Currency ensemble.Currency `json:"currency"`
	Window   Window            `json:"window"`
	Year     int               `json:"year,omitempty"`
	Amount   ensemble.Money    `json:"amount"`
	Points   []VolumePoint     `json:"points,omitempty"`
}

// VolumePoint is one line's contribution to a rolling volume.
type VolumePoint struct {
	Date   time.Time      `json:"date"`
	Amount ensemble.Money `json:"amount"`
}

type stateJSON struct {
	Lines   []LedgerLine  `json:"lines"`
	Volumes []VolumeState `json:"volumes"`
	Credits []CreditState `json:"credits,omitempty"`
}

// CreditState is the JSON form of a settled credit line: its id and the
// line it credited, kept so that a credit is never settled twice.
type CreditState struct {
	Line    LineID `json:"line"`
	Credits LineID `json:"credits"`
}

// Line returns the ledger of a settled line.
func (s State) Line(id LineID) (LedgerLine, bool) {
	l, ok := s.lines[id]
	if !ok {
		return LedgerLine{}, false
	}
	return l.export(), true
}

func (l *ledger) export() LedgerLine {
	c := l.ctx
	out := LedgerLine{Line: l.line, Plan: *c.plan, Date: l.date, Basis: ensemble.MoneyFromMinor(l.basis, c.cur),
		Credited: ensemble.MoneyFromMinor(l.credited, c.cur), Disputed: l.disputed(), Disputes: int(l.disputeCount()),
		Offer: c.offer, Route: c.route, Seller: c.seller, Trace: slices.Clone(l.trace), Parts: make([]LedgerPart, l.parts())}
	for i := range out.Parts {
		pe := l.payee(i)
		out.Parts[i] = LedgerPart{Entry: l.entryID(i), Party: pe.party, Role: pe.meta.role, Node: pe.meta.node, Kind: pe.meta.kind,
			Amount: ensemble.MoneyFromMinor(l.units(i), c.cur), Unreversed: ensemble.MoneyFromMinor(l.unreversed(i), c.cur)}
		if l.disputed() && l.disputes.held[i] != 0 {
			out.Parts[i].Held = ensemble.MoneyFromMinor(l.disputes.held[i], c.cur)
		}
	}
	return out
}

// Volume returns a partner's cumulative volume in cur and window as a
// cumulative rate would read it before a line dated at.
func (s State) Volume(p partner.ID, cur ensemble.Currency, w Window, at time.Time) ensemble.Money {
	return ensemble.MoneyFromMinor(s.volumeBefore(p, cur.Key(), w, at), cur)
}

func (s State) volumeBefore(p partner.ID, cur string, w Window, at time.Time) int64 {
	k := volKey{partner: p, cur: cur, window: w}
	if w == WindowCalendarYear {
		k.year = at.UTC().Year()
		if v := s.vols[k]; v != nil {
			return v.units
		}
		return 0
	}
	v := s.vols[k]
	if v == nil {
		return 0
	}
	from := at.AddDate(-1, 0, 0)
	var sum int64
	for _, pt := range v.points {
		if pt.date.After(from) && !pt.date.After(at) {
			sum += pt.units
		}
	}
	return sum
}

// MarshalJSON writes the state with lines sorted by id and volumes by
// partner, currency, window and year.
func (s State) MarshalJSON() ([]byte, error) {
	out := stateJSON{Lines: make([]LedgerLine, 0, len(s.lines)), Volumes: make([]VolumeState, 0, len(s.vols))}
	for _, id := range slices.Sorted(maps.Keys(s.lines)) {
		out.Lines = append(out.Lines, s.lines[id].export())
	}
	keys := slices.SortedFunc(maps.Keys(s.vols), func(a, b volKey) int {
		if c := strings.Compare(string(a.partner), string(b.partner)); c != 0 {
			return c
		}
		if c := strings.Compare(a.cur, b.cur); c != 0 {
			return c
		}
		if a.window != b.window {
			return int(a.window) - int(b.window)
		}
		return a.year - b.year
	})
	for _, k := range keys {
		v := s.vols[k]
		cur, err := ensemble.ParseCurrency(k.cur)
		if err != nil {
			return nil, err
		}
		vs := VolumeState{Partner: k.partner, Currency: cur, Window: k.window, Year: k.year,
			Amount: ensemble.MoneyFromMinor(v.units, cur)}
		for _, pt := range v.points {
			vs.Points = append(vs.Points, VolumePoint{Date: pt.date, Amount: ensemble.MoneyFromMinor(pt.units, cur)})
		}
		out.Volumes = append(out.Volumes, vs)
	}
	for _, id := range slices.Sorted(maps.Keys(s.credits)) {
		out.Credits = append(out.Credits, CreditState{Line: id, Credits: s.credits[id]})
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a state MarshalJSON wrote, checking that every
// amount is whole minor units of its line's currency and that no part has
// more unreversed than it earned.
func (s *State) UnmarshalJSON(b []byte) error {
	if err := ensemble.CheckJSON("state", b); err != nil {
		return fmt.Errorf("settlement: %w", err)
	}
	var in stateJSON
	if err := strictDecode(b, &in); err != nil {
		return fmt.Errorf("settlement: state: %w", err)
	}
	var p ensemble.Problems
	out := State{lines: map[LineID]*ledger{}, vols: map[volKey]*volState{}, credits: map[LineID]LineID{}}
	for i, c := range in.Credits {
		if c.Line == "" || c.Credits == "" {
			p.Addf(ensemble.Path("credits", i), "empty line id")
		}
		out.credits[c.Line] = c.Credits
	}
	plans, ctxs := map[ensemble.Ref]*ensemble.Ref{}, map[lineCtx]*lineCtx{}
	for i, ll := range in.Lines {
		path := ensemble.Path("lines", i)
		cur := ll.Basis.Currency()
		units := func(field string, m ensemble.Money) int64 {
			if m.IsZero() {
				return 0
			}
			if m.Currency() != cur {
				p.Add(path+"."+field, ErrCurrency)
				return 0
			}
			u, err := m.MinorUnits()
			if err != nil {
				p.Add(path+"."+field, err)
			}
			return u
		}
		plan := plans[ll.Plan]
		if plan == nil {
			plan = &ll.Plan
			plans[ll.Plan] = plan
		}
		c := lineCtx{plan: plan, offer: ll.Offer, seller: ll.Seller, cur: cur, route: ll.Route}
		lc := ctxs[c]
		if lc == nil {
			lc = &c
			ctxs[c] = lc
		}
		l := &ledger{line: ll.Line, ctx: lc, date: ll.Date, basis: units("basis", ll.Basis),
			credited: units("credited", ll.Credited), trace: ll.Trace}
		if ll.Disputes != 0 || ll.Disputed {
			l.disputes = &disputes{count: int32(min(max(ll.Disputes, 0), math.MaxInt32))}
		}
		if ll.Disputes < 0 || ll.Disputes > math.MaxInt32 {
			p.Addf(path+".disputes", "disputes must be within [0, %d]", math.MaxInt32)
		}
		if ll.Line == "" {
			p.Addf(path+".line", "empty id")
		} else if out.lines[ll.Line] != nil {
			p.Addf(path+".line", "duplicate line %q", ll.Line)
		}
		if ll.Disputed {
			l.disputes.open, l.disputes.held = true, make([]int64, len(ll.Parts))
		}
		n := len(ll.Parts)
		pays := make([]payee, n)
		l.payees, l.amounts = &pays, make([]int64, 2*n)
		for j, lp := range ll.Parts {
			pp := ensemble.Path(path, "parts", j)
			pe := &pays[j]
			*pe = payee{party: lp.Party, meta: &partMeta{role: lp.Role, node: lp.Node, kind: lp.Kind}}
			amount, unreversed := units(pp[len(path)+1:]+".amount", lp.Amount), units(pp[len(path)+1:]+".unreversed", lp.Unreversed)
			l.amounts[j], l.amounts[n+j] = amount, unreversed
			held := units(pp[len(path)+1:]+".held", lp.Held)
			if unreversed < 0 || unreversed > amount || held < 0 || held > unreversed {
				p.Addf(pp, "unreversed must be within [0, amount] and held within [0, unreversed]")
			}
			if held != 0 && !ll.Disputed {
				p.Addf(pp+".held", "held on a line no dispute holds")
			}
			if l.disputed() {
				l.disputes.held[j] = held
			}
			// The entry id is derived from the line, node and party.
			if base := string(ll.Line) + ":" + lp.Node; string(lp.Entry) == base+"/"+string(lp.Party) {
				pe.meta.multi = true
			} else if string(lp.Entry) != base {
				p.Addf(pp+".entry", "entry %q is neither %q nor %q", lp.Entry, base, base+"/"+string(lp.Party))
			}
		}
		out.lines[ll.Line] = l
	}
	for i, v := range in.Volumes {
		path := ensemble.Path("volumes", i)
		u, err := v.Amount.MinorUnits()
		if err != nil {
			p.Add(path+".amount", err)
		}
		vs := &volState{units: u}
		for j, pt := range v.Points {
			pu, err := pt.Amount.MinorUnits()
			if err != nil {
				p.Add(ensemble.Path(path, "points", j, "amount"), err)
			}
			vs.points = append(vs.points, volPoint{date: pt.Date, units: pu})
		}
		out.vols[volKey{partner: v.Partner, cur: v.Currency.Key(), window: v.Window, year: v.Year}] = vs
	}
	if err := p.Err("state"); err != nil {
		return err
	}
	*s = out
	return nil
}
