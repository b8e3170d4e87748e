package settlement

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// PlanVersion names one version of a plan.
type PlanVersion struct {
	ID      string
	Version int
}

// String returns "id@version", as a plan reference in an entry reads.
func (v PlanVersion) String() string { return v.ID + "@" + strconv.Itoa(v.Version) }

// PlanConflictError reports plan versions that cannot be loaded together.
// Err is ErrAmbiguousPlan when two plans would be equally specific for
// some lines, so settling those lines would fail (Plans holds the two,
// ordered by id), or ErrShadowedPlan when a version can never be picked
// because higher versions of its plan apply wherever it does (Plans holds
// the hidden version first, then, ascending, every version that takes its
// place).
type PlanConflictError struct {
	Plans []PlanVersion
	// Offers, Routes and Currencies say which lines two plans tie for:
	// every offer of Offers with every route kind of Routes in every
	// currency of Currencies. Offers is nil when the plans tie for every
	// offer, Currencies when they tie in every currency; in them, an empty
	// OfferID stands for every offer that no plan lists and a zero
	// Currency for every currency that no plan lists. All are nil for
	// ErrShadowedPlan.
	Offers     []catalog.OfferID
	Routes     []partner.RouteKind
	Currencies []ensemble.Currency
	// From and Until bound the line dates, [From, Until), where the two
	// plans tie, or where the hidden version is in force. A zero From or
	// Until is unbounded.
	From, Until time.Time
	Err         error
}

// Error names the plans and versions, the offers, routes and dates, and
// the way out.
func (e *PlanConflictError) Error() string {
	if errors.Is(e.Err, ErrShadowedPlan) && len(e.Plans) > 1 {
		h := e.Plans[0]
		var vs []string
		for _, v := range e.Plans[1:] {
			vs = append(vs, strconv.Itoa(v.Version))
		}
		which := "version " + vs[0] + " applies"
		if len(vs) > 1 {
			which = "versions " + joinAnd(vs) + " apply"
		}
		return fmt.Sprintf("settlement: plan %q version %d (in force %s) is never picked: higher %s to every line it matches; check the versions' effective_from and effective_until",
			h.ID, h.Version, spanText(e.From, e.Until), which)
	}
	if len(e.Plans) == 2 && e.Currencies != nil {
		a, b := e.Plans[0], e.Plans[1]
		return fmt.Sprintf("settlement: plans %q version %d and %q version %d are equally specific for lines of %s on %s in %s %s, which could not be settled; narrow one plan's offers, routes, currencies or effective span",
			a.ID, a.Version, b.ID, b.Version, offersText(e.Offers), routesText(e.Routes), currenciesText(e.Currencies), spanText(e.From, e.Until))
	}
	if len(e.Plans) == 2 {
		a, b := e.Plans[0], e.Plans[1]
		return fmt.Sprintf("settlement: plans %q version %d and %q version %d are equally specific for lines of %s on %s %s, which could not be settled; narrow one plan's offers, routes or effective span",
			a.ID, a.Version, b.ID, b.Version, offersText(e.Offers), routesText(e.Routes), spanText(e.From, e.Until))
	}
	return "settlement: plan conflict: " + trimPrefix(fmt.Sprint(e.Err))
}

// Unwrap returns ErrAmbiguousPlan or ErrShadowedPlan.
func (e *PlanConflictError) Unwrap() error { return e.Err }

// oplan is one plan version as pick sees it.
type oplan struct {
	index       int // in the documents checked, for the problem's path
	doc         *PlanDocument
	score       int // pick's specificity
	from, until int // indices into the instants; -1 and len(instants) when unbounded
	// Found by the sweep:
	inForce bool            // it matches some line
	picked  bool            // it is its plan's highest version for some line
	hiders  map[*oplan]bool // the versions picked instead of it
}

// conflictKey is two plans that tie over [from, until) (instant indices).
type conflictKey struct {
	a, b        *oplan
	from, until int
}

// checkPlanVersions reports into p, under "plans[i]", every conflict between
// the versions of docs: for each pair of plans that pick could find
// equally specific for some line, the offers, routes and dates where they
// tie (ErrAmbiguousPlan), and each version that higher versions of its
// plan hide from every line (ErrShadowedPlan).
//
// It simulates pick exactly rather than guessing. Lines differ, for pick,
// only by their offer, route kind, currency and date. Offers fall into
// cells: each offer some plan lists, and every other offer, which only
// plans for any offer match; currencies likewise; route kinds are few and
// are taken one by one. Within a cell
// the plans in force change only at the effective_from and effective_until
// instants of its plans, so the check sweeps the spans between those
// instants and, in each, does what pick does: keeps the highest version of
// each plan in force, then the most specific. A duplicate id and version
// (which New reports) is checked once, as pick would see it.
func checkPlanVersions(p *ensemble.Problems, docs []PlanDocument) {
	seen := map[PlanVersion]bool{}
	var plans []*oplan
	var instants []time.Time
	for i := range docs {
		d := &docs[i]
		v := PlanVersion{ID: d.ID, Version: d.Version}
		if seen[v] {
			continue
		}
		seen[v] = true
		op := &oplan{index: i, doc: d, score: specificity(d)}
		plans = append(plans, op)
		for _, t := range []time.Time{d.EffectiveFrom, d.EffectiveUntil} {
			if !t.IsZero() {
				instants = append(instants, t)
			}
		}
	}
	if len(plans) < 2 {
		return
	}
	sort.Slice(instants, func(i, j int) bool { return instants[i].Before(instants[j]) })
	instants = slices.CompactFunc(instants, time.Time.Equal)
	at := func(t time.Time, unbounded int) int {
		if t.IsZero() {
			return unbounded
		}
		return sort.Search(len(instants), func(k int) bool { return !instants[k].Before(t) })
	}
	// Each plan's versions together, highest first: the first version of
	// a plan in force is the one pick keeps.
	sort.Slice(plans, func(i, j int) bool {
		a, b := plans[i].doc, plans[j].doc
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Version > b.Version
	})
	byOffer := map[catalog.OfferID][]*oplan{}
	var anyOffer []*oplan
	for _, op := range plans {
		op.from, op.until = at(op.doc.EffectiveFrom, -1), at(op.doc.EffectiveUntil, len(instants))
		if len(op.doc.Offers) == 0 {
			anyOffer = append(anyOffer, op)
		}
		for i, o := range op.doc.Offers {
			if o != "" && !slices.Contains(op.doc.Offers[:i], o) { // no valid line has the empty offer
				byOffer[o] = append(byOffer[o], op)
			}
		}
	}
	offers := make([]catalog.OfferID, 0, len(byOffer)+1)
	for o := range byOffer {
		offers = append(offers, o)
	}
	slices.Sort(offers)
	offers = append(offers, "") // every offer no plan lists
	// Currencies some plan lists, sorted by code, then every other.
	var currencies []ensemble.Currency
	for _, op := range plans {
		for _, c := range op.doc.Currencies {
			if !c.IsZero() && !slices.Contains(currencies, c) { // no valid line has the zero currency
				currencies = append(currencies, c)
			}
		}
	}
	slices.SortFunc(currencies, func(a, b ensemble.Currency) int { return strings.Compare(a.Key(), b.Key()) })
	currencies = append(currencies, ensemble.Currency{})
	rank := make(map[*oplan]int, len(plans))
	for i, op := range plans {
		rank[op] = i
	}
	ties := map[conflictKey]map[tieCell]uint32{} // the route kinds two plans tie on, by offer and currency
	var forOffer, cell []*oplan
	for _, o := range offers {
		// The plans pick looks at for the offer, in plan order.
		forOffer = append(append(forOffer[:0], byOffer[o]...), anyOffer...)
		slices.SortFunc(forOffer, func(a, b *oplan) int { return rank[a] - rank[b] })
		for _, c := range currencies {
			for k := partner.RouteDirect; k.Valid(); k++ {
				cell = cell[:0]
				for _, op := range forOffer {
					if routeMatches(op.doc, k) && (len(op.doc.Currencies) == 0 || !c.IsZero() && slices.Contains(op.doc.Currencies, c)) {
						cell = append(cell, op)
					}
				}
				sweep(cell, len(instants), func(key conflictKey) {
					m := ties[key]
					if m == nil {
						m = map[tieCell]uint32{}
						ties[key] = m
					}
					m[tieCell{o, c}] |= 1 << k
				})
			}
		}
	}
	type found struct {
		index int
		err   *PlanConflictError
	}
	var all []found
	span := func(from, until int) (time.Time, time.Time) {
		var f, u time.Time
		if from >= 0 {
			f = instants[from]
		}
		if until < len(instants) {
			u = instants[until]
		}
		return f, u
	}
	for _, op := range plans {
		if !op.inForce || op.picked {
			continue
		}
		e := &PlanConflictError{Plans: []PlanVersion{{op.doc.ID, op.doc.Version}}, Err: ErrShadowedPlan}
		var hs []PlanVersion
		for h := range op.hiders {
			hs = append(hs, PlanVersion{h.doc.ID, h.doc.Version})
		}
		slices.SortFunc(hs, func(a, b PlanVersion) int { return cmp.Compare(a.Version, b.Version) })
		e.Plans = append(e.Plans, hs...)
		e.From, e.Until = op.doc.EffectiveFrom, op.doc.EffectiveUntil
		all = append(all, found{op.index, e})
	}
	keys := make([]conflictKey, 0, len(ties))
	for key := range ties {
		keys = append(keys, key)
	}
	version := func(a, b *oplan) int {
		if c := strings.Compare(a.doc.ID, b.doc.ID); c != 0 {
			return c
		}
		return cmp.Compare(a.doc.Version, b.doc.Version)
	}
	slices.SortFunc(keys, func(a, b conflictKey) int {
		if c := version(a.a, b.a); c != 0 {
			return c
		}
		if c := version(a.b, b.b); c != 0 {
			return c
		}
		if c := cmp.Compare(a.from, b.from); c != 0 {
			return c
		}
		return cmp.Compare(a.until, b.until)
	})
	for _, key := range keys {
		// One problem per set of route kinds and offers: they tie on each
		// route kind for each offer, in each of its currencies.
		type group struct {
			routes     uint32
			offers     []catalog.OfferID
			currencies []ensemble.Currency
		}
		var groups []*group
		for _, c := range currencies {
			byRoutes := map[uint32][]catalog.OfferID{}
			var masks []uint32
			for _, o := range offers {
				m, ok := ties[key][tieCell{o, c}]
				if !ok {
					continue
				}
				if byRoutes[m] == nil {
					masks = append(masks, m)
				}
				byRoutes[m] = append(byRoutes[m], o)
			}
			for _, m := range masks {
				i := slices.IndexFunc(groups, func(g *group) bool { return g.routes == m && slices.Equal(g.offers, byRoutes[m]) })
				if i < 0 {
					i = len(groups)
					groups = append(groups, &group{routes: m, offers: byRoutes[m]})
				}
				groups[i].currencies = append(groups[i].currencies, c)
			}
		}
		for _, g := range groups {
			m := g.routes
			e := &PlanConflictError{Plans: []PlanVersion{{key.a.doc.ID, key.a.doc.Version}, {key.b.doc.ID, key.b.doc.Version}},
				Offers: g.offers, Currencies: g.currencies, Err: ErrAmbiguousPlan}
			if len(e.Offers) == len(offers) {
				e.Offers = nil // every offer
			}
			if len(e.Currencies) == len(currencies) {
				e.Currencies = nil // every currency
			}
			for k := partner.RouteDirect; k.Valid(); k++ {
				if m&(1<<k) != 0 {
					e.Routes = append(e.Routes, k)
				}
			}
			e.From, e.Until = span(key.from, key.until)
			all = append(all, found{max(key.a.index, key.b.index), e})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].index < all[j].index })
	for _, f := range all {
		p.Add(ensemble.Path("plans", f.index), f.err)
	}
}

// sweep walks the spans of one cell (the plans matching one offer and
// route kind, each plan's versions together, highest first) between the
// instants its plans start or end, n instants in all, does what pick does
// in each, and calls tie once for each maximal span where two plans tie.
func sweep(cell []*oplan, n int, tie func(conflictKey)) {
	starts := []int{-1}
	for _, op := range cell {
		starts = append(starts, op.from, op.until)
	}
	slices.Sort(starts)
	starts = slices.Compact(starts)
	open := map[[2]*oplan]int{} // pairs tying since the span starting at the instant
	var cands, best []*oplan
	for _, s := range starts {
		if s >= n {
			break
		}
		cands = cands[:0]
		for _, op := range cell {
			if op.from > s || s >= op.until {
				continue
			}
			op.inForce = true
			if k := len(cands) - 1; k >= 0 && cands[k].doc.ID == op.doc.ID {
				if op.hiders == nil {
					op.hiders = map[*oplan]bool{}
				}
				op.hiders[cands[k]] = true
				continue
			}
			op.picked = true
			cands = append(cands, op)
		}
		best = best[:0]
		for _, op := range cands {
			if len(best) > 0 && op.score > best[0].score {
				best = best[:0]
			}
			if len(best) == 0 || op.score == best[0].score {
				best = append(best, op)
			}
		}
		now := map[[2]*oplan]bool{}
		if len(best) > 1 {
			for i := range best {
				for j := i + 1; j < len(best); j++ {
					now[[2]*oplan{best[i], best[j]}] = true
				}
			}
		}
		for pair, from := range open {
			if !now[pair] {
				tie(conflictKey{a: pair[0], b: pair[1], from: from, until: s})
				delete(open, pair)
			}
		}
		for pair := range now {
			if _, ok := open[pair]; !ok {
				open[pair] = s
			}
		}
	}
	for pair, from := range open {
		tie(conflictKey{a: pair[0], b: pair[1], from: from, until: n})
	}
}

// tieCell is the lines of one offer (or every offer no plan lists) in one
// currency (or every currency no plan lists).
type tieCell struct {
	offer    catalog.OfferID
	currency ensemble.Currency
}

// routeMatches reports whether plan d applies to route kind k, as
// cplan.matchesRoute does for pick.
func routeMatches(d *PlanDocument, k partner.RouteKind) bool {
	return len(d.Routes) == 0 || slices.Contains(d.Routes, k)
}

func spanText(from, until time.Time) string {
	switch {
	case from.IsZero() && until.IsZero():
		return "at any date"
	case from.IsZero():
		return "before " + instantText(until)
	case until.IsZero():
		return "from " + instantText(from) + " on"
	}
	return "from " + instantText(from) + " until " + instantText(until)
}

// instantText writes a date for midnight UTC, the full instant otherwise.
func instantText(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

// offersText writes offers as PlanConflictError.Offers means them, naming
// ten at most.
func offersText(offers []catalog.OfferID) string {
	if offers == nil {
		return "any offer"
	}
	other := slices.Contains(offers, "")
	var named []string
	for _, o := range offers {
		if o != "" {
			named = append(named, strconv.Quote(string(o)))
		}
	}
	if len(named) > 10 {
		named = append(named[:10], fmt.Sprintf("%d more", len(named)-10))
	}
	switch {
	case len(named) == 0:
		return "any offer no plan lists"
	case other:
		return "offers " + strings.Join(named, ", ") + " and any offer no plan lists"
	case len(named) == 1:
		return "offer " + named[0]
	}
	return "offers " + joinAnd(named)
}

// currenciesText writes currencies as PlanConflictError.Currencies means
// them.
func currenciesText(currencies []ensemble.Currency) string {
	var named []string
	other := false
	for _, c := range currencies {
		if c.IsZero() {
			other = true
		} else {
			named = append(named, c.Key())
		}
	}
	switch {
	case len(named) == 0:
		return "any currency no plan lists"
	case other:
		return strings.Join(named, ", ") + " and any currency no plan lists"
	}
	return joinAnd(named)
}

func routesText(routes []partner.RouteKind) string {
	if !partner.RouteKind(len(routes) + 1).Valid() { // distinct kinds: every kind but unspecified
		return "any route"
	}
	names := make([]string, len(routes))
	for i, k := range routes {
		names[i] = k.String()
	}
	if len(names) == 1 {
		return "route " + names[0]
	}
	return "routes " + joinAnd(names)
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
