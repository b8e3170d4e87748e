package settlement

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

// Result is what a settlement call returns: the new entries, in canonical
// order (line date, line id, then plan order: depth first, children in
// declaration order), and the new state.
type Result struct {
	Entries []Entry `json:"entries"`
	State   State   `json:"state"`
}

// Settle settles lines into payout entries and returns them with the new
// state; st is left unchanged. Lines are applied in canonical order (date,
// then id): every sale line first, then every credit line, so the result
// never depends on the order they are given in.
//
// A sale line is split by the plan picked for its offer, route kind and
// date: supplier costs are paid first, then the root's amount is split
// level by level (fixed amounts, then ratios of the node's amount with
// ensemble.AllocateUnits by largest remainder keyed by node id, then the
// remaining child). A credit line (Line.Credits set) reverses the
// credited line's earnings and supplier costs in proportion to each
// part's unreversed amount (largest remainder over what is unreversed,
// never a fresh split of the credited amount), as clawback entries with
// ids "credit:node/path#clawback"; a full credit nets every party to zero.
// Credits do not reduce cumulative volumes; reserves already scheduled
// are released as planned and statements net the difference.
//
// Errors: an invalid line (ErrInvalidLine), a line id already in st or
// given twice (ErrAlreadySettled: settling is never silently repeated), no
// plan (ErrNoPlan), evaluated shares that overflow their level
// (ErrOverAllocation), a failing rule (ErrRule), an over-credit
// (ErrOverCredit) — each a *LineError naming the line, plan, node and
// rule. A credit reverses the basis kind (net or gross) the state records
// for the credited line, and only with the line's plan version at hand: a
// version the settler does not hold (ErrUnknownPlanVersion), or one that
// splits the other basis (ErrBasisMismatch), is a *PlanVersionError
// naming the credited line and version. On error nothing is returned.
func (s *Settler) Settle(ctx context.Context, st State, lines []Line) (Result, error) {
	entries, nst, err := s.AppendSettle(ctx, nil, st, lines)
	if err != nil {
		return Result{}, err
	}
	return Result{Entries: entries, State: nst}, nil
}

// AppendSettle is Settle appending the new entries to dst, so that a host
// settling batch after batch (and writing each batch out) reuses one
// buffer. On error it returns dst unchanged, the zero State and the error.
// The entry ids of a call share memory in chunks of 16 KiB: a host that
// keeps a few ids long after dropping the entries copies them
// (strings.Clone) so the chunks can be freed.
func (s *Settler) AppendSettle(ctx context.Context, dst []Entry, st State, lines []Line) ([]Entry, State, error) {
	r := s.newRun(ctx, st, len(lines))
	r.entries = slices.Grow(dst, len(lines)*s.perLine)
	fail := func(err error) ([]Entry, State, error) { return dst, State{}, err }
	order := canonical(lines)
	for _, i := range order {
		l := &lines[i]
		if err := l.validate(); err != nil {
			return fail(lineErr(l.ID, "", "", "", err))
		}
	}
	// Every settled line and credit is recorded in the state as it is
	// settled, so an id already in the state or earlier in the batch is
	// caught when its turn comes.
	for n, i := range order {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return fail(err)
			}
		}
		// Stored instants are UTC: a line dated in another zone is read
		// through a copy, never changed in the caller's slice.
		l := &lines[i]
		if l.Date.Location() != time.UTC {
			r.lc = *l
			r.lc.Date = r.lc.Date.UTC()
			l = &r.lc
		}
		var err error
		mark := len(r.entries)
		if err := r.prepaidEarning(l); err != nil {
			return fail(err)
		}
		if l.Credits == "" {
			// Insert first and compare lengths: one map operation instead
			// of a lookup and an insert. The maps are the call's own, and
			// dropped on error.
			lg, held := r.newLedger(), len(r.st.lines)
			r.st.lines[l.ID] = lg
			if len(r.st.lines) == held || r.st.credits[l.ID] != "" {
				return fail(lineErr(l.ID, "", "", "", ErrAlreadySettled))
			}
			err = r.settleLine(l, lg)
		} else {
			if r.st.lines[l.ID] != nil || r.st.credits[l.ID] != "" {
				return fail(lineErr(l.ID, "", "", "", ErrAlreadySettled))
			}
			err = r.clawback(l)
		}
		if err != nil {
			return fail(err)
		}
		// Ids are unique by construction (see EntryID); a line that
		// would still repeat one is refused, never emitted.
		if err := duplicateEntry(r.entries[mark:]); err != nil {
			return fail(lineErr(l.ID, "", "", "", err))
		}
	}
	if len(r.newCtx) > 0 && !s.fresh {
		s.ctxKeys.offer(r.newCtx, r.ctxKeys)
	}
	if len(r.offers) > 0 {
		s.decisions.offer(r.offers, r.decisions)
	}
	if len(r.newRoutes) > 0 && !s.fresh {
		for _, id := range r.newRoutes {
			r.chains[id].frozen = true
		}
		s.routes.offer(r.newRoutes, r.chains)
	}
	return r.entries, r.st, nil
}

// canonical returns the indexes of lines in canonical order: sale lines
// by (date, id), then credit lines by (date, id).
func canonical(lines []Line) []int {
	order := make([]int, len(lines))
	for i := range order {
		order[i] = i
	}
	less := func(a, b int) int {
		la, lb := &lines[a], &lines[b]
		if ca, cb := la.Credits != "", lb.Credits != ""; ca != cb {
			if ca {
				return 1
			}
			return -1
		}
		if c := la.Date.Compare(lb.Date); c != 0 {
			return c
		}
		return cmp.Compare(la.ID, lb.ID)
	}
	if !slices.IsSortedFunc(order, less) {
		slices.SortStableFunc(order, less)
	}
	return order
}

// idChunkSize is the size of the chunks entry ids are written into.
const idChunkSize = 16 << 10

// maxInterned bounds the distinct share values one call interns.
const maxInterned = 1 << 16

// internKey identifies a share result of a rule: a decimal whose
// coefficient fits an int64 (Equal confirms it).
type internKey struct {
	rule *rules.Rule
	coef int64
	exp  int32
}

// memoKey memoizes a rule version that reads offer, route or customer
// facts: by the fields it reads, and the partner's snapshot when it reads
// the partner (nil when not).
type memoKey struct {
	rule *rules.Rule
	snap *partner.Snapshot
	ctx  ctxKey
}

// run is the scratch and memo state of one call; it never outlives it.
type run struct {
	s         *Settler
	ctx       context.Context
	st        State
	owned     map[volKey]bool
	entries   []Entry
	facts     *rules.Facts
	lf        LineFacts
	of        OfferFacts
	rf        RouteFacts
	cf        CustomerFacts
	vf        VolumeFacts
	ps        partner.Snapshot
	snaps     map[partner.ID]*partner.Snapshot // without a network
	lc        Line
	memo      map[memoKey]*evalResult
	pmemo     []map[*partner.Snapshot]*evalResult // by rule version index (crule.index); key nil for rules reading no partner
	interned  map[internKey]*evalResult
	lcache    map[levelKey]*levelShares
	levels    []*decision        // per depth: the decision of levels decided per line
	decisions map[dkey]*decision // decided in this call
	shared    map[dkey]*decision // decided in earlier calls (read-only)
	offers    []dkey             // this call's decisions that later calls may share
	// The context facts decision keys name, interned by hash: in this
	// call, in earlier calls (read-only), those this call made (for later
	// calls), by value those whose hash another took; and the current
	// level's, being looked up.
	ctxKeys   map[uint64]*ctxKey
	sharedCtx map[uint64]*ctxKey
	newCtx    []uint64
	ctxClash  map[ctxKey]*ctxKey
	ctxBuf    ctxKey
	chains    map[partner.ID]*chainTimelines // by seller: made in this call
	routes    map[partner.ID]*chainTimelines // by seller: made in earlier calls (read-only)
	newRoutes []partner.ID                   // sellers whose chains this call made
	chainTL   *chainTimelines                // the current line's, if cached
	ctxs      map[lineCtx]*lineCtx
	epoch     int32
	parts2    [][]int64 // per depth: the children's amounts
	marks     [][]uint8 // per depth: capped or floored children
	accrued   map[volKey]LineID
	refs      []ensemble.Ref
	wbuf      []ensemble.Share
	ubuf      []int64
	pbuf      []partner.ID
	chainSn   []*partner.Snapshot // the current line's chain (read-only)
	chainBuf  []*partner.Snapshot // backs chainSn for chains without timelines
	arena     []ensemble.Ref
	ledgers   []ledger
	ruleRefs  [][]ensemble.Ref // by node index: the rule refs its last entry carried
	amounts   []int64          // the chunk ledgers keep their parts' amounts in
	lparts    []part           // the current line's parts
	payees    [8]*[]payee      // recent payee lists of lines without chain timelines
	nextPayee int
	costMeta  map[string]*partMeta // supplier cost nodes, by path
	vfSet     bool                 // line and volume facts are filled for this line
	ctxSet    bool                 // offer, route and customer facts are filled for this line
	rest      int64
	seller    partner.ID
	ids       string          // the current line's entry ids, back to back
	idChunk   strings.Builder // backs ids: one allocation per idChunkSize bytes
	idOff     []int

	// per line
	line   *Line
	plan   *cplan
	cur    ensemble.Currency
	lg     *ledger
	trace  []ensemble.Ref
	volume map[*cnode]int64
}

type child struct {
	fixed    int64
	weight   ensemble.Ratio
	id       partner.ID
	note     string
	text     string
	rule     *ruleRef // the share rule version that decided, if any
	cond     *ruleRef // the condition's version, if any
	active   bool
	platform bool // paid to the platform as a fallback
	unstable bool // weight computed for this line only
}

func (s *Settler) newRun(ctx context.Context, st State, lines int) *run {
	r := &run{s: s, ctx: ctx, st: st.clone(lines), owned: map[volKey]bool{}, snaps: map[partner.ID]*partner.Snapshot{},
		memo: map[memoKey]*evalResult{}, interned: map[internKey]*evalResult{}, lcache: map[levelKey]*levelShares{}, volume: map[*cnode]int64{}, accrued: map[volKey]LineID{}}
	if !s.fresh {
		r.shared, r.routes, r.sharedCtx = s.decisions.table(), s.routes.table(), s.ctxKeys.table()
	}
	if r.st.lines == nil {
		r.st.lines = map[LineID]*ledger{}
	}
	if r.st.vols == nil {
		r.st.vols = map[volKey]*volState{}
	}
	if r.st.credits == nil {
		r.st.credits = map[LineID]LineID{}
	}
	if r.st.prepaid == nil {
		r.st.prepaid = map[string]PrepaidEarning{}
	}
	if s.env != nil {
		r.facts = s.env.NewFacts()
		// Set cannot fail: New checked the environment declares these
		// variables with these types (checkEnv).
		_ = r.facts.Set(VarLine, &r.lf)
		_ = r.facts.Set(VarOffer, &r.of)
		_ = r.facts.Set(VarRoute, &r.rf)
		_ = r.facts.Set(VarCustomer, &r.cf)
		_ = r.facts.Set(VarVolume, &r.vf)
		_ = r.facts.Set(VarPartner, &r.ps)
	}
	return r
}

// timeline caches a partner's snapshots per interval between the instants
// its terms, lifecycle or certifications change.
type timeline struct {
	bounds []time.Time
	snaps  []*partner.Snapshot // nil: not a partner (yet) in that interval
}

var errNotTrading = errors.New("not a partner yet")

// snapshot returns what partner id was at t, from the settler's
// precomputed timelines.
func (r *run) snapshot(id partner.ID, t time.Time) (*partner.Snapshot, error) {
	if id == r.s.platform {
		return &r.s.platSn, nil
	}
	if r.s.net == nil {
		sn := r.snaps[id]
		if sn == nil || r.s.reference {
			sn = &partner.Snapshot{ID: id, Status: partner.StatusActive}
			r.snaps[id] = sn
		}
		return sn, nil
	}
	if r.s.reference {
		// What the network says, read afresh at every use.
		sn, err := r.s.net.At(id, t)
		if errors.Is(err, partner.ErrNotYetPartner) {
			return nil, errNotTrading
		}
		if err != nil {
			return nil, err
		}
		return &sn, nil
	}
	tl := r.s.timelines[id]
	if tl == nil {
		return nil, &partner.PartnerError{ID: id, Err: partner.ErrUnknownPartner}
	}
	if sn := tl.at(t); sn != nil {
		return sn, nil
	}
	return nil, errNotTrading
}

// at returns the snapshot in force at t, nil when not a partner (yet).
func (tl *timeline) at(t time.Time) *partner.Snapshot {
	return tl.snaps[spanAt(tl.bounds, t)]
}

// spanAt returns the index of the span of ascending bounds that holds t:
// the number of bounds at or before t.
func spanAt(bounds []time.Time, t time.Time) int {
	// The first bound after t, by binary search.
	i, j := 0, len(bounds)
	for i < j {
		h := int(uint(i+j) >> 1)
		if bounds[h].After(t) {
			j = h
		} else {
			i = h + 1
		}
	}
	return i
}

// chainTimelines is a route chain seen in a call, with what its partners
// were over time: lines of one seller mostly share their chain, so one map
// lookup by seller finds every level's snapshot. Between two of bounds no
// partner of the chain changes, so each such span has one list of
// snapshots, which lines read without copying.
type chainTimelines struct {
	ids       []partner.ID
	bounds    []time.Time           // the instants any partner of the chain changes at, ascending
	spans     [][]*partner.Snapshot // per span before, between and after bounds: the chain's snapshots (read-only)
	ctx       *lineCtx              // the ledger context of the seller's last line
	payees    [4]*[]payee           // the payee lists of the seller's recent lines
	nextPayee int
	decisions [4]routeDecision // the level decisions of the seller's recent lines
	nextDec   int
	// frozen: kept by the settler for later calls, which read it and
	// never change it (ctx and payees stay as the call that made it left
	// them).
	frozen bool
}

// chainSnapshots sets r.chainSn to what each partner of the line's chain
// was at its date (nil: not a partner yet). It is read-only.
func (r *run) chainSnapshots(l *Line) error {
	r.chainSn, r.chainTL = nil, nil
	ch := l.Route.Chain
	if len(ch) == 0 {
		return nil
	}
	c := r.chains[ch[0]]
	if c == nil {
		c = r.routes[ch[0]]
	}
	if c == nil || !slices.Equal(c.ids, ch) {
		c = r.chainTimelines(ch)
	}
	if c == nil { // without a network, or naming the platform or an unknown partner
		r.chainBuf = r.chainBuf[:0]
		for _, id := range ch {
			sn, err := r.snapshot(id, l.Date)
			if err != nil && !errors.Is(err, errNotTrading) {
				return err
			}
			r.chainBuf = append(r.chainBuf, sn)
		}
		r.chainSn = r.chainBuf
		return nil
	}
	r.chainSn, r.chainTL = c.spans[spanAt(c.bounds, l.Date)], c
	return nil
}

// lineCtx returns the shared context of the current line's ledger: the
// one its seller's last line used when equal, else the call's.
func (r *run) lineCtx(plan *cplan, l *Line) *lineCtx {
	want := lineCtx{plan: &plan.ref, offer: l.Offer, seller: l.Route.Seller(), cur: r.cur, route: l.Route.Kind, basis: plan.doc.Basis, service: l.Service}
	ch := r.chainTL
	if ch != nil && ch.ctx != nil && *ch.ctx == want {
		return ch.ctx
	}
	c := r.ctxs[want]
	if c == nil {
		if r.ctxs == nil {
			r.ctxs = map[lineCtx]*lineCtx{}
		}
		c = new(lineCtx) // only here: &want would move want to the heap
		*c = want
		r.ctxs[want] = c
	}
	if ch != nil && !ch.frozen {
		ch.ctx = c
	}
	return c
}

// chainTimelines looks the timelines of chain ch up and keeps them for the
// chain's seller; nil when a level has none.
func (r *run) chainTimelines(ch []partner.ID) *chainTimelines {
	if r.s.net == nil || r.s.reference {
		return nil
	}
	tls := make([]*timeline, len(ch))
	var bounds []time.Time
	for i, id := range ch {
		if id == r.s.platform {
			return nil
		}
		if tls[i] = r.s.timelines[id]; tls[i] == nil {
			return nil
		}
		bounds = append(bounds, tls[i].bounds...)
	}
	slices.SortFunc(bounds, time.Time.Compare)
	bounds = slices.CompactFunc(bounds, time.Time.Equal)
	c := &chainTimelines{ids: slices.Clone(ch), bounds: bounds, spans: make([][]*partner.Snapshot, len(bounds)+1)}
	for i := range c.spans {
		sns := make([]*partner.Snapshot, len(ch))
		for j, tl := range tls {
			if i == 0 {
				sns[j] = tl.snaps[0] // before every bound
			} else {
				sns[j] = tl.at(bounds[i-1])
			}
		}
		c.spans[i] = sns
	}
	if r.chains == nil {
		r.chains = map[partner.ID]*chainTimelines{}
	}
	if r.chains[ch[0]] == nil {
		r.newRoutes = append(r.newRoutes, ch[0])
	}
	r.chains[ch[0]] = c
	return c
}

// buildTimelines computes every partner's snapshot for each interval
// between the instants its terms, lifecycle or certifications change, so
// that settling looks snapshots up without calling the network.
func buildTimelines(net *partner.Network) (map[partner.ID]*timeline, error) {
	spec := net.Spec()
	out := make(map[partner.ID]*timeline, len(spec.Partners))
	for _, p := range spec.Partners {
		tl := &timeline{}
		for _, tm := range p.Terms {
			tl.bounds = append(tl.bounds, tm.From)
		}
		for _, e := range p.Lifecycle {
			tl.bounds = append(tl.bounds, e.At)
		}
		for _, c := range p.Certifications {
			if !c.Expires.IsZero() {
				tl.bounds = append(tl.bounds, c.Expires)
			}
		}
		slices.SortFunc(tl.bounds, time.Time.Compare)
		tl.bounds = slices.CompactFunc(tl.bounds, time.Time.Equal)
		tl.snaps = make([]*partner.Snapshot, len(tl.bounds)+1)
		for i := range tl.snaps {
			if i == 0 {
				continue // before the first instant anything is known
			}
			sn, err := net.At(p.ID, tl.bounds[i-1])
			if errors.Is(err, partner.ErrNotYetPartner) {
				continue
			}
			if err != nil {
				return nil, err
			}
			tl.snaps[i] = &sn
		}
		out[p.ID] = tl
	}
	return out, nil
}

// settleLine splits sale line l into entries and records them in lg, the
// line's ledger (already in the state).
func (r *run) settleLine(l *Line, lg *ledger) error {
	plan, err := r.s.pick(l)
	if err != nil {
		return err
	}
	r.line, r.plan, r.cur, r.seller = l, plan, l.Currency(), l.Route.Seller()
	r.epoch = r.s.epochAt(l.Date)
	basis, err := basisUnits(l, plan.gross)
	if err != nil {
		return lineErr(l.ID, plan.id, "", "", err)
	}
	r.trace = r.keepRefs(l.Trace, l.Ref())
	*lg = ledger{line: l.ID, date: l.Date, basis: basis, trace: r.trace}
	r.lparts = r.lparts[:0]
	r.lg = lg
	// Entry ids of the plan's leaves: "line:path" each, written one after
	// the other into the call's id chunk; the ids are substrings of it.
	need := len(plan.paths)*(len(l.ID)+1) + plan.pathsLen
	if r.idChunk.Cap()-r.idChunk.Len() < need {
		// A fresh chunk: strings taken from the old one stay valid, since
		// a Builder never rewrites what it holds.
		r.idChunk = strings.Builder{}
		r.idChunk.Grow(max(idChunkSize, need))
	}
	start := r.idChunk.Len()
	r.idOff = r.idOff[:0]
	for _, p := range plan.paths {
		r.idOff = append(r.idOff, r.idChunk.Len()-start)
		r.idChunk.WriteString(string(l.ID))
		r.idChunk.WriteByte(':')
		r.idChunk.WriteString(p)
	}
	r.idOff = append(r.idOff, r.idChunk.Len()-start)
	r.ids = r.idChunk.String()[start:]
	// Supplier costs first.
	rest := basis
	for i := range l.SupplierCosts {
		c := &l.SupplierCosts[i]
		u, err := c.Cost.MinorUnits()
		if err != nil {
			return lineErr(l.ID, plan.id, "", "", err)
		}
		if u == 0 {
			continue
		}
		rest -= u
		if rest < 0 {
			return lineErr(l.ID, plan.id, "", "", fmt.Errorf("%w: component %s", ErrSupplierCosts, c.Component))
		}
		path := string(supplierCosts) + "/" + c.Component.ID
		if c.Component.ID == "" {
			path = string(supplierCosts) + "/" + string(c.Offer) + "/" + c.Supplier
		}
		r.emit(EntryID(string(l.ID)+":"+path), r.supplierMeta(path), partner.ID(c.Supplier), u, "wholesale cost", nil, "")
	}
	// What each partner of the chain was at the line's date (nil: not a
	// partner yet), looked up once per line.
	if err := r.chainSnapshots(l); err != nil {
		return lineErr(l.ID, plan.id, "", "", err)
	}
	lg.ctx = r.lineCtx(plan, l)
	// Facts of the line: filled when a rule first needs them, which lines
	// whose levels are all shared never do.
	r.vfSet, r.ctxSet = false, false
	r.rest = rest
	// Cumulative volumes before the line.
	clear(r.volume)
	for _, n := range plan.cums {
		id, _, why, err := r.resolveOne(n.cumOf)
		if err != nil {
			return lineErr(l.ID, plan.id, n.path, "", err)
		}
		if id == "" {
			return lineErr(l.ID, plan.id, n.path, "", fmt.Errorf("%w: the cumulative rate reads the volume of %s", ErrInvalidLine, why))
		}
		r.volume[n] = r.st.volumeBefore(id, r.cur.Key(), n.cum.Window, l.Date)
	}
	r.refs = r.refs[:0]
	if err := r.walk(plan.root, rest, 0); err != nil {
		return err
	}
	lg.payees, lg.amounts = r.internPayees(), r.keepAmounts()
	// Accrue volumes once per partner and window.
	for _, n := range plan.cums {
		id, _, _, _ := r.resolveOne(n.cumOf)
		if err := r.accrue(id, n.cum.Window, basis); err != nil {
			return lineErr(l.ID, plan.id, n.path, "", err)
		}
	}
	return nil
}

func basisUnits(l *Line, gross bool) (int64, error) {
	u, err := l.Amount.MinorUnits()
	if err != nil {
		return 0, fmt.Errorf("%w: amount: %w", ErrInvalidLine, err)
	}
	if gross && !l.Tax.IsZero() {
		t, err := l.Tax.MinorUnits()
		if err != nil {
			return 0, fmt.Errorf("%w: tax: %w", ErrInvalidLine, err)
		}
		if (t > 0 && u > math.MaxInt64-t) || (t < 0 && u < math.MinInt64-t) {
			return 0, fmt.Errorf("%w: amount plus tax overflows", ErrInvalidLine)
		}
		u += t
	}
	return u, nil
}

func (r *run) accrue(id partner.ID, w Window, units int64) error {
	k := volKey{partner: id, cur: r.cur.Key(), window: w}
	if w == WindowCalendarYear {
		k.year = r.line.Date.UTC().Year()
	}
	if r.accrued[k] == r.line.ID {
		return nil // two nodes read one volume: it grows once per line
	}
	v := r.st.vols[k]
	if !r.owned[k] {
		nv := &volState{}
		if v != nil {
			nv.units, nv.points = v.units, slices.Clone(v.points)
		}
		v = nv
		r.st.vols[k] = v
		r.owned[k] = true
	}
	if v.units > math.MaxInt64-units {
		return fmt.Errorf("%w: cumulative volume overflows", ErrInvalidLine)
	}
	v.units += units
	if w == WindowRolling12Months {
		v.points = append(v.points, volPoint{date: r.line.Date, units: units})
	}
	r.accrued[k] = r.line.ID
	return nil
}

// resolveOne resolves a single-party role at the line's date. It returns
// "" and a reason when the role names nobody or a partner who cannot
// trade.
func (r *run) resolveOne(ro role) (partner.ID, *partner.Snapshot, string, error) {
	l := r.line
	var id partner.ID
	var sn *partner.Snapshot
	switch ro.kind {
	case rolePlatform:
		return r.s.platform, &r.s.platSn, "", nil
	case roleChain:
		if ro.level >= len(l.Route.Chain) {
			if ro.level == 0 {
				return "", nil, "the route has no seller", nil
			}
			return "", nil, fmt.Sprintf("the route's chain has no level %d", ro.level), nil
		}
		id, sn = l.Route.Chain[ro.level], r.chainSn[ro.level]
	case roleTop:
		if len(l.Route.Chain) == 0 {
			return "", nil, "the route has no chain", nil
		}
		id, sn = l.Route.Chain[len(l.Route.Chain)-1], r.chainSn[len(l.Route.Chain)-1]
	case roleType:
		for i, c := range r.chainSn {
			if c != nil && c.Type == ro.typ {
				id, sn = l.Route.Chain[i], c
				break
			}
		}
		if id == "" {
			return "", nil, "the route's chain has no " + string(ro.typ), nil
		}
	case roleReferrer:
		if l.Route.Referrer == "" {
			return "", nil, "the route has no referrer", nil
		}
		id = l.Route.Referrer
	case roleMarketplace:
		if l.Route.Marketplace == "" {
			return "", nil, "the route has no marketplace", nil
		}
		id = l.Route.Marketplace
	case rolePartner:
		id = ro.id
	default:
		return "", nil, "", fmt.Errorf("role has no single party")
	}
	if sn == nil {
		var err error
		sn, err = r.snapshot(id, l.Date)
		if errors.Is(err, errNotTrading) {
			return "", nil, "partner " + string(id) + " is not a partner yet", nil
		}
		if err != nil {
			return "", nil, "", err
		}
	}
	if !sn.CanTrade() {
		return "", nil, "partner " + string(id) + " cannot trade (" + sn.Status.String() + ")", nil
	}
	return id, sn, "", nil
}

// evalResult is a rule's result with the ratio and text settlement
// derives from it, computed once per memoized context.
type evalResult struct {
	res    rules.Result
	ratio  ensemble.Ratio
	text   string
	stable bool // memoized: the ratio's identity is stable within the call
}

// evalRule evaluates rule id in force at the line's date with partner
// facts sn, reusing the result within the call for rule versions that read
// no line or volume fact, keyed by exactly what they read (reads.go).
func (r *run) evalRule(id string, cr *crule, sn *partner.Snapshot) (*evalResult, *rules.Rule, *ruleRef, error) {
	if cr == nil {
		return nil, nil, nil, fmt.Errorf("%w %q", rules.ErrUnknownRule, id)
	}
	vi, err := cr.at(r.line.Date)
	if err != nil {
		return nil, nil, nil, err
	}
	rule, rd, ref := cr.versions[vi], cr.reads[vi], &cr.refs[vi]
	level := rd.level()
	if r.s.reference {
		level = memoNone
	}
	memo := level != memoNone
	r.contextFacts()
	// The partner keys a result only when the rule reads it.
	ksn := sn
	if !rd.partner {
		ksn = nil
	}
	var key memoKey
	var pmemo map[*partner.Snapshot]*evalResult
	switch level {
	case memoPartner:
		if r.pmemo == nil {
			r.pmemo = make([]map[*partner.Snapshot]*evalResult, r.s.ruleVersions)
		}
		if pmemo = r.pmemo[cr.index+vi]; pmemo == nil {
			pmemo = map[*partner.Snapshot]*evalResult{}
			r.pmemo[cr.index+vi] = pmemo
		}
		if res, ok := pmemo[ksn]; ok {
			return res, rule, ref, nil
		}
	case memoContext:
		key = memoKey{rule: rule, snap: ksn, ctx: rd.ctx.key(&r.of, &r.rf, &r.cf)}
		if res, ok := r.memo[key]; ok {
			return res, rule, ref, nil
		}
	}
	if sn != nil {
		r.ps = *sn
	} else {
		r.ps = partner.Snapshot{}
	}
	if !r.vfSet {
		l := r.line
		gross, err := l.Amount.Add(l.Tax) // one currency: validate checked it
		if err != nil {
			return nil, rule, ref, err
		}
		r.vfSet = true
		r.lf = LineFacts{ID: string(l.ID), Date: l.Date, Amount: ensemble.MoneyFromMinor(r.rest, r.cur), Net: l.Amount,
			Tax: l.Tax, Gross: gross, Quantity: l.Quantity, Currency: r.cur.Key(), CustomerID: l.Customer.ID}
		r.vf = VolumeFacts{Partner: string(r.line.Route.Seller()),
			Amount: ensemble.MoneyFromMinor(r.st.volumeBefore(r.line.Route.Seller(), r.cur.Key(), WindowCalendarYear, r.line.Date), r.cur)}
	}
	res, err := rule.Eval(r.ctx, r.facts)
	if err != nil {
		return nil, rule, ref, err
	}
	out := &evalResult{res: res, stable: memo}
	switch {
	case res.Kind != rules.Share || res.Decimal.Sign() < 0:
	case r.s.reference: // nothing interned
		out.ratio = ensemble.RatioFromDecimal(res.Decimal)
		out.text = out.ratio.Percent() + " (rule " + ruleName(rule, id) + ")"
	default:
		// Equal shares of one rule share one Ratio, so levels that differ
		// only in which partner decided hit the same level cache entry.
		ik := internKey{rule: rule, coef: res.Decimal.CoefficientInt64(), exp: res.Decimal.Exponent()}
		interned, ok := r.interned[ik]
		if !ok || !res.Decimal.Equal(interned.res.Decimal) {
			interned = &evalResult{res: res, ratio: ensemble.RatioFromDecimal(res.Decimal)}
			interned.text = interned.ratio.Percent() + " (rule " + ruleName(rule, id) + ")"
			if len(r.interned) < maxInterned {
				r.interned[ik] = interned
				ok = true
			}
		}
		out.ratio, out.text = interned.ratio, interned.text
		out.stable = out.stable || ok
	}
	switch level {
	case memoPartner:
		pmemo[ksn] = out
	case memoContext:
		r.memo[key] = out
	}
	return out, rule, ref, nil
}

func ruleName(rule *rules.Rule, id string) string {
	if rule == nil {
		return id
	}
	return fmt.Sprintf("%s@%d", rule.ID(), rule.Version())
}

// sellerSnap is the partner facts of nodes that pay no single partner.
func (r *run) sellerSnap() *partner.Snapshot {
	if len(r.chainSn) > 0 {
		return r.chainSn[0]
	}
	return nil
}

// levelKey identifies a level's weights within one call: Ratio values
// compare by identity, which is stable for static, memoized and zero
// weights.
type levelKey struct {
	n    *cnode
	w    [8]ensemble.Ratio
	mask uint8
}

type levelShares struct {
	shares []ensemble.Share
	alloc  *ensemble.Allocator // compiled once for the call; nil for no ratio
}

// levelShares returns the allocation weights of a level (the remaining
// child takes 1 - Σ ratios), checking that the ratios do not exceed the
// whole; nil when no ratio applies. Weights seen before in the call are
// reused, so static and memoized levels do no rational arithmetic per
// line.
func (r *run) levelShares(n *cnode, kids []child) ([]ensemble.Share, *ensemble.Allocator, error) {
	cacheable := len(kids) <= len(levelKey{}.w)
	var key levelKey
	if cacheable {
		key.n = n
		for i := range kids {
			if kids[i].unstable {
				cacheable = false
				break
			}
			key.w[i] = kids[i].weight
			if kids[i].active {
				key.mask |= 1 << i
			}
		}
		if cacheable {
			if v, ok := r.lcache[key]; ok {
				return v.shares, v.alloc, nil
			}
		}
	}
	var wsum ensemble.Ratio
	for i, c := range n.children {
		k := &kids[i]
		if !k.active || c.kind == shareRemaining || k.weight.IsZero() {
			continue
		}
		wsum = wsum.Add(k.weight)
		if wsum.Cmp(one) > 0 {
			return nil, nil, lineErr(r.line.ID, r.plan.id, c.path, ruleText(k.rule.ref()), fmt.Errorf("%w: ratios at node %q add up to %s",
				ErrOverAllocation, n.path, wsum.Percent()))
		}
	}
	var shares []ensemble.Share
	if !wsum.IsZero() || n.remaining >= 0 {
		shares = make([]ensemble.Share, len(n.children))
		for i, c := range n.children {
			w := kids[i].weight
			if !kids[i].active {
				w = ensemble.Ratio{}
			}
			if i == n.remaining {
				w = one.Sub(wsum)
			}
			shares[i] = ensemble.Share{Key: c.id, Weight: w}
		}
	}
	if cacheable {
		ls := &levelShares{shares: shares}
		if shares != nil {
			// A level seen again in the call splits with a compiled
			// allocator; one that fails to compile is left to AllocateUnits,
			// which reports the same error with the line.
			ls.alloc, _ = ensemble.NewAllocator(shares, ensemble.AllocateOptions{Method: r.plan.method})
		}
		r.lcache[key] = ls
	}
	return shares, nil, nil
}

var one = ensemble.RatioFromInt(1)

// walk splits amount (>= 0) at node n.
func (r *run) walk(n *cnode, amount int64, depth int) error {
	if n.leaf {
		return r.pay(n, amount, nil)
	}
	d, err := r.decide(n, amount, depth)
	if err != nil {
		return err
	}
	l, planID, kids := r.line, r.plan.id, d.kids
	parts, marks := r.splitScratch(depth, len(kids))
	// Ratios of the node's amount, by largest remainder keyed by node id.
	if amount != 0 && d.shares != nil {
		if d.alloc != nil {
			err = d.alloc.Units(parts, amount)
		} else {
			err = ensemble.AllocateUnits(parts, amount, d.shares, ensemble.AllocateOptions{Method: r.plan.method})
		}
		if err != nil {
			return lineErr(l.ID, planID, n.path, "", err)
		}
	} else {
		clear(parts)
	}
	for i := range kids {
		parts[i] += kids[i].fixed
	}
	rem := n.remaining
	if rem >= 0 {
		parts[rem] -= d.fixed
	}
	// Caps and floors move amounts to and from the remaining child.
	for i, c := range n.children {
		if !kids[i].active || i == rem {
			continue
		}
		if !c.cap.IsZero() {
			cu, err := r.units(c.cap)
			if err != nil {
				return lineErr(l.ID, planID, c.path, "", err)
			}
			if parts[i] > cu {
				parts[rem] += parts[i] - cu
				parts[i] = cu
				marks[i] |= markCapped
			}
		}
		if !c.floor.IsZero() {
			fu, err := r.units(c.floor)
			if err != nil {
				return lineErr(l.ID, planID, c.path, "", err)
			}
			if parts[i] < fu {
				parts[rem] -= fu - parts[i]
				parts[i] = fu
				marks[i] |= markFloored
			}
		}
	}
	if rem >= 0 && parts[rem] < 0 {
		return lineErr(l.ID, planID, n.children[rem].path, firstRule(kids), fmt.Errorf("%w: fixed amounts, ratios and floors at node %q exceed %s",
			ErrOverAllocation, n.path, ensemble.MoneyFromMinor(amount, r.cur)))
	}
	// Pay or descend. Deeper levels use their own scratch, but pay may
	// grow r.refs.
	for i, c := range n.children {
		if !kids[i].active || parts[i] == 0 {
			continue
		}
		mark := len(r.refs)
		if ref := kids[i].cond; ref != nil {
			r.refs = append(append(r.refs, ref.Ref), ref.tables...)
		}
		if ref := kids[i].rule; ref != nil {
			r.refs = append(append(r.refs, ref.Ref), ref.tables...)
		}
		var err error
		if c.leaf {
			k := &kids[i]
			if marks[i] != 0 {
				kc := *k
				if marks[i]&markCapped != 0 {
					kc.text += ", capped at " + c.cap.String()
				}
				if marks[i]&markFloored != 0 {
					kc.text += ", floor " + c.floor.String()
				}
				k = &kc
			}
			err = r.pay(c, parts[i], k)
		} else {
			err = r.walk(c, parts[i], depth+1)
		}
		r.refs = r.refs[:mark]
		if err != nil {
			return err
		}
	}
	return nil
}

const (
	markCapped uint8 = 1 << iota
	markFloored
)

// splitScratch returns the per-depth amounts and cap/floor marks of a
// level's children, zeroed marks.
func (r *run) splitScratch(depth, n int) ([]int64, []uint8) {
	for len(r.parts2) <= depth {
		r.parts2 = append(r.parts2, nil)
		r.marks = append(r.marks, nil)
	}
	if cap(r.parts2[depth]) < n {
		r.parts2[depth] = make([]int64, n)
		r.marks[depth] = make([]uint8, n)
	}
	marks := r.marks[depth][:n]
	clear(marks)
	return r.parts2[depth][:n], marks
}

// decideInto makes level n's decision for the current line into d: who
// each child pays, its condition, weight or fixed amount, and the level's
// allocation weights.
func (r *run) decideInto(d *decision, n *cnode, amount int64) (*decision, error) {
	l, planID := r.line, r.plan.id
	if cap(d.kids) < len(n.children) {
		d.kids = make([]child, len(n.children))
	}
	kids := d.kids[:len(n.children)]
	d.kids, d.fixed, d.shares, d.alloc = kids, 0, nil, nil
	var fixed int64
	for i, c := range n.children {
		k := &kids[i]
		*k = child{active: true, text: c.shareText}
		sn := (*partner.Snapshot)(nil)
		if c.leaf && !c.role.multi() {
			id, s, why, err := r.resolveOne(c.role)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, "", err)
			}
			k.id = id
			if id == "" {
				if c.fallback == FallbackPlatform || c.kind == shareRemaining {
					k.platform, k.note = true, "fallback to platform: "+why
				} else {
					k.active = false // no entry: the remaining sibling takes the share
				}
			}
			sn = s
		} else if c.leaf {
			ok, why, err := r.anyParty(c)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, "", err)
			}
			if !ok {
				if c.fallback == FallbackPlatform || c.kind == shareRemaining {
					k.platform, k.note = true, "fallback to platform: "+why
				} else {
					k.active = false
				}
			}
		}
		if sn == nil {
			sn = r.sellerSnap()
		}
		if c.cond != "" && k.active {
			res, rule, ref, err := r.evalRule(c.cond, c.condR, sn)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, ruleName(rule, c.cond), fmt.Errorf("%w: %w", ErrRule, err))
			}
			k.cond = ref
			if !res.res.Bool {
				k.active = false
			}
		}
		if !k.active {
			continue
		}
		switch c.kind {
		case shareRatio:
			k.weight = c.ratio
		case shareAmount:
			u, err := r.units(c.amount)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, "", err)
			}
			k.fixed = u
		case shareRule:
			ev, rule, ref, err := r.evalRule(c.shareRule, c.shareR, sn)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, ruleName(rule, c.shareRule), fmt.Errorf("%w: %w", ErrRule, err))
			}
			k.rule = ref
			if ev.res.Kind == rules.Amount {
				m := ev.res.Money.Round(ensemble.RoundHalfAwayFromZero)
				u, err := r.units(m)
				rn := ruleName(rule, c.shareRule)
				if err != nil {
					return nil, lineErr(l.ID, planID, c.path, rn, err)
				}
				if u < 0 {
					return nil, lineErr(l.ID, planID, c.path, rn, fmt.Errorf("%w: negative amount %s", ErrRule, ev.res.Money))
				}
				k.fixed = u
				k.text = m.String() + " (rule " + rn + ")"
			} else {
				if ev.res.Decimal.Sign() < 0 {
					return nil, lineErr(l.ID, planID, c.path, ruleName(rule, c.shareRule), fmt.Errorf("%w: negative share %s", ErrRule, ev.res.Decimal))
				}
				k.weight, k.text = ev.ratio, ev.text
				k.unstable = !ev.stable
			}
		case shareCumulative:
			w, text, err := r.cumulative(c)
			if err != nil {
				return nil, lineErr(l.ID, planID, c.path, "", err)
			}
			k.weight, k.text = w, text
			k.unstable = true
		}
		if k.fixed > amount-fixed {
			return nil, lineErr(l.ID, planID, c.path, ruleText(k.rule.ref()), fmt.Errorf("%w: fixed amounts exceed %s at node %q",
				ErrOverAllocation, ensemble.MoneyFromMinor(amount, r.cur), n.path))
		}
		fixed += k.fixed
	}
	shares, alloc, err := r.levelShares(n, kids)
	if err != nil {
		return nil, err
	}
	d.fixed, d.shares, d.alloc = fixed, shares, alloc
	return d, nil
}

func firstRule(kids []child) string {
	for _, k := range kids {
		if k.rule != nil {
			return ruleText(k.rule.ref())
		}
	}
	return ""
}

// units converts a plan amount to minor units of the line's currency.
func (r *run) units(m ensemble.Money) (int64, error) {
	if m.IsZero() {
		return 0, nil
	}
	if m.Currency() != r.cur {
		return 0, fmt.Errorf("%w: %s on a %s line", ErrCurrency, m, r.cur)
	}
	return m.MinorUnits()
}

// anyParty reports whether a multi-party leaf has a party that can be paid.
func (r *run) anyParty(c *cnode) (bool, string, error) {
	l := r.line
	switch c.role.kind {
	case roleCoSellers:
		for _, cs := range l.Route.CoSellers {
			sn, err := r.snapshot(cs.Partner, l.Date)
			if err != nil && !errors.Is(err, errNotTrading) {
				return false, "", err
			}
			if sn != nil && sn.CanTrade() && !cs.Weight.IsZero() {
				return true, "", nil
			}
		}
		return false, "no co-seller can be paid", nil
	default: // chain[*]
		for _, sn := range r.chainSn {
			if sn != nil && sn.CanTrade() {
				return true, "", nil
			}
		}
		return false, "no chain level can be paid", nil
	}
}

// pay emits the entries of a leaf.
func (r *run) pay(n *cnode, amount int64, k *child) error {
	if amount == 0 {
		return nil
	}
	l := r.line
	if k == nil && n.role.multi() { // the root is a leaf paying several parties
		k = &child{active: true, text: "100%"}
	}
	if k == nil { // the root is a leaf
		id, _, why, err := r.resolveOne(n.role)
		if err != nil {
			return lineErr(l.ID, r.plan.id, n.path, "", err)
		}
		k = &child{active: true, id: id, text: "100%"}
		if id == "" {
			k.platform, k.note = true, "fallback to platform: "+why
		}
	}
	base := r.ids[r.idOff[n.leafIdx]:r.idOff[n.leafIdx+1]]
	refs := r.keptRuleRefs(n)
	if k.platform {
		r.emit(EntryID(base), n.platMeta, r.s.platform, amount, k.text, refs, k.note)
		return nil
	}
	if !n.role.multi() {
		r.emit(EntryID(base), n.meta, k.id, amount, k.text, refs, k.note)
		r.reserve(n, EntryID(base), k.id, amount)
		return nil
	}
	// Several parties: split by weights among those who can be paid.
	ids, weights := r.pbuf[:0], r.wbuf[:0]
	switch n.role.kind {
	case roleCoSellers:
		for _, cs := range l.Route.CoSellers {
			if sn, err := r.snapshot(cs.Partner, l.Date); err == nil && sn.CanTrade() {
				ids = append(ids, cs.Partner)
				weights = append(weights, ensemble.Share{Key: string(cs.Partner), Weight: cs.Weight})
			}
		}
	default:
		r.contextFacts()
		saved := r.rf
		for lvl, id := range l.Route.Chain {
			sn := r.chainSn[lvl]
			if sn == nil || !sn.CanTrade() {
				continue
			}
			w := one
			if n.levelRule != "" {
				r.rf.Level = lvl
				ev, rule, _, err := r.evalRule(n.levelRule, n.levelR, sn)
				if err != nil {
					r.rf = saved
					return lineErr(l.ID, r.plan.id, n.path, ruleName(rule, n.levelRule), fmt.Errorf("%w: %w", ErrRule, err))
				}
				if ev.res.Decimal.Sign() < 0 {
					r.rf = saved
					return lineErr(l.ID, r.plan.id, n.path, ruleName(rule, n.levelRule), fmt.Errorf("%w: negative level weight", ErrRule))
				}
				w = ev.ratio
			}
			ids = append(ids, id)
			weights = append(weights, ensemble.Share{Key: fmt.Sprintf("%03d", lvl), Weight: w})
		}
		r.rf = saved
	}
	r.pbuf, r.wbuf = ids, weights
	if cap(r.ubuf) < len(ids) {
		r.ubuf = make([]int64, len(ids))
	}
	parts := r.ubuf[:len(ids)]
	err := ensemble.AllocateUnits(parts, amount, weights, ensemble.AllocateOptions{Method: r.plan.method})
	if errors.Is(err, ensemble.ErrZeroWeights) {
		r.emit(EntryID(base), n.platMeta, r.s.platform, amount, k.text, refs,
			"fallback to platform: every weight is zero")
		return nil
	}
	if err != nil {
		return lineErr(l.ID, r.plan.id, n.path, "", err)
	}
	for i, id := range ids {
		if parts[i] == 0 {
			continue
		}
		eid := EntryID(base + "/" + string(id))
		text := k.text
		if n.role.kind == roleChainAll {
			text = fmt.Sprintf("%s, level %s", k.text, weights[i].Key)
		}
		r.emit(eid, n.meta, id, parts[i], text, refs, k.note)
		r.reserve(n, eid, id, parts[i])
	}
	return nil
}

func roleText(n *cnode) string {
	switch n.role.kind {
	case rolePlatform:
		return "platform"
	case roleChain:
		if n.role.level == 0 {
			return "seller"
		}
		return fmt.Sprintf("chain[%d]", n.role.level)
	case roleTop:
		return "top"
	case roleChainAll:
		return "chain[*]"
	case roleType:
		return string(n.role.typ)
	case roleReferrer:
		return "referrer"
	case roleMarketplace:
		return "marketplace"
	case roleCoSellers:
		return "co_sellers"
	case rolePartner:
		return "partner:" + string(n.role.id)
	}
	return ""
}

// reserve holds back part of an earning until the release date.
func (r *run) reserve(n *cnode, of EntryID, id partner.ID, amount int64) {
	if n.reserve == nil || n.reserve.Ratio.IsZero() {
		return
	}
	num, den := n.reserve.Ratio.Num(), n.reserve.Ratio.Denom()
	q := new(big.Int).Mul(big.NewInt(amount), num)
	q.Quo(q, den) // rounded down: never more than was earned
	u := q.Int64()
	if u == 0 {
		return
	}
	release := r.line.Date.AddDate(0, 0, n.reserve.Days)
	note := fmt.Sprintf("reserve %s until %s", n.reserve.Ratio.Percent(), release.UTC().Format(time.DateOnly))
	r.emitAt(EntryID(string(of)+"#reserve"), KindReserve, id, roleText(n), n.path, u, r.line.Date, "", nil, note, of)
	r.emitAt(EntryID(string(of)+"#release"), KindRelease, id, roleText(n), n.path, u, release, "", nil, "reserve released", of)
}

// emit appends an earning or supplier cost entry dated at the line and
// records it in the line's ledger; meta says its kind, role and node.
func (r *run) emit(id EntryID, meta *partMeta, party partner.ID, units int64, share string, refs []ensemble.Ref, note string) {
	r.emitAt(id, meta.kind, party, meta.role, meta.node, units, r.line.Date, share, refs, note, "")
	r.lparts = append(r.lparts, part{payee: payee{party: party, meta: meta}, units: units})
}

// refs must be kept (see keptRuleRefs): entries share them.
func (r *run) emitAt(id EntryID, kind EntryKind, party partner.ID, roleName, node string, units int64, at time.Time, share string, refs []ensemble.Ref, note string, rev EntryID) {
	r.entries = append(r.entries, Entry{ID: id, Line: r.line.ID, Kind: kind, Party: party, Role: roleName,
		Amount: ensemble.MoneyFromMinor(units, r.cur), Date: at, Plan: r.plan.ref, Node: node, Share: share, Rules: refs,
		Service: r.line.Service, Offer: r.line.Offer, Route: r.line.Route.Kind, Seller: r.seller, Reverses: rev, Note: note, Trace: r.trace})
}

// cumulative returns the effective ratio of a cumulative share for the
// line: marginal splits the line's basis across tiers, cliff applies the
// tier the volume reaches with the line.
func (r *run) cumulative(c *cnode) (ensemble.Ratio, string, error) {
	before := r.volume[c]
	b, err := basisUnits(r.line, r.plan.gross)
	if err != nil {
		return ensemble.Ratio{}, "", err
	}
	tiers := c.cum.Tiers
	bounds := make([]int64, len(tiers))
	for i, t := range tiers {
		if i == len(tiers)-1 {
			bounds[i] = math.MaxInt64
			continue
		}
		u, err := r.units(t.UpTo)
		if err != nil {
			return ensemble.Ratio{}, "", err
		}
		bounds[i] = u
	}
	if before > math.MaxInt64-b {
		return ensemble.Ratio{}, "", fmt.Errorf("%w: cumulative volume overflows", ErrInvalidLine)
	}
	after := before + b
	vol := ensemble.MoneyFromMinor(before, r.cur).String()
	if c.cum.Mode == Cliff || b == 0 {
		at := after
		if b == 0 {
			at = before
		}
		for i, ub := range bounds {
			if at <= ub {
				return tiers[i].Rate, fmt.Sprintf("%s (cliff, tier %d, volume before %s)", tiers[i].Rate.Percent(), i+1, vol), nil
			}
		}
	}
	num := new(big.Rat)
	lo := before
	used := 0
	for i, ub := range bounds {
		if lo >= after {
			break
		}
		if lo >= ub {
			continue
		}
		hi := min(after, ub)
		slice := new(big.Rat).SetInt64(hi - lo)
		num.Add(num, slice.Mul(slice, tiers[i].Rate.Rat()))
		lo = hi
		used++
	}
	eff := ensemble.RatioFromRat(num.Quo(num, new(big.Rat).SetInt64(b)))
	return eff, fmt.Sprintf("%s (marginal over %d tier(s), volume before %s)", eff.Percent(), used, vol), nil
}

// newLedger returns a ledger from the call's chunk of ledgers: one
// allocation per 256 lines instead of one per line.
func (r *run) newLedger() *ledger {
	if len(r.ledgers) == cap(r.ledgers) {
		r.ledgers = make([]ledger, 0, 256)
	}
	r.ledgers = r.ledgers[:len(r.ledgers)+1]
	return &r.ledgers[len(r.ledgers)-1]
}

// part is one payment the current line's walk made.
type part struct {
	payee
	units int64
}

// keepAmounts copies the amounts of the line's parts into the call's
// chunk of amounts, at their exact length, capped so that appending
// copies instead of reaching another ledger's amounts.
func (r *run) keepAmounts() []int64 {
	n := len(r.lparts)
	if cap(r.amounts)-len(r.amounts) < n {
		r.amounts = make([]int64, 0, max(4096, n))
	}
	start := len(r.amounts)
	for i := range r.lparts {
		r.amounts = append(r.amounts, r.lparts[i].units)
	}
	return r.amounts[start : start+n : start+n]
}

// internPayees returns the payees of the line's parts: a list a recent
// line of the same seller (or, without chain timelines, of the call)
// paid, when equal, else a new one. Lines of one route pay alike, so
// most ledgers share their payees.
func (r *run) internPayees() *[]payee {
	if len(r.lparts) == 0 {
		return nil
	}
	// The route's own lists first; a frozen route's are read-only, so the
	// call keeps what they miss.
	ch := r.chainTL
	if ch != nil {
		if ps := r.recentPayees(ch.payees[:]); ps != nil {
			return ps
		}
	}
	recent, next := r.payees[:], &r.nextPayee
	if ch != nil && !ch.frozen {
		recent, next = ch.payees[:], &ch.nextPayee
	} else if ps := r.recentPayees(recent); ps != nil {
		return ps
	}
	ps := make([]payee, len(r.lparts))
	for i := range r.lparts {
		ps[i] = r.lparts[i].payee
	}
	recent[*next] = &ps
	*next = (*next + 1) % len(recent)
	return &ps
}

// recentPayees returns the list of recent that the line's parts pay, or
// nil.
func (r *run) recentPayees(recent []*[]payee) *[]payee {
	for _, ps := range recent {
		if ps != nil && r.paysAlike(*ps) {
			return ps
		}
	}
	return nil
}

// paysAlike reports whether the line's parts pay ps, in order.
func (r *run) paysAlike(ps []payee) bool {
	if len(ps) != len(r.lparts) {
		return false
	}
	for i := range ps {
		if ps[i] != r.lparts[i].payee {
			return false
		}
	}
	return true
}

// supplierMeta returns the call's node of the supplier costs at path.
func (r *run) supplierMeta(path string) *partMeta {
	m := r.costMeta[path]
	if m == nil {
		if r.costMeta == nil {
			r.costMeta = map[string]*partMeta{}
		}
		m = &partMeta{role: "supplier", node: path, kind: KindSupplierCost}
		r.costMeta[path] = m
	}
	return m
}

// keptRuleRefs returns the rule refs of leaf n's entries (r.refs, the
// conditions and rules of the leaf and its ancestors) as a kept slice,
// reusing the one its previous entry in the call carried when they are
// equal, as they are for every line where the same rule versions decide.
func (r *run) keptRuleRefs(n *cnode) []ensemble.Ref {
	if len(r.refs) == 0 {
		return nil
	}
	if r.ruleRefs == nil {
		r.ruleRefs = make([][]ensemble.Ref, r.s.nodes)
	}
	if last := r.ruleRefs[n.idx]; slices.Equal(last, r.refs) {
		return last
	}
	kept := r.keepRefs(r.refs)
	r.ruleRefs[n.idx] = kept
	return kept
}

// keepRefs copies refs (and more) into the call's reference arena and
// returns the copy, capped so that appending to it never reaches another
// entry's references. Chunks are shared by many entries, so a line's
// traces and rules cost about no allocation.
func (r *run) keepRefs(refs []ensemble.Ref, more ...ensemble.Ref) []ensemble.Ref {
	n := len(refs) + len(more)
	if cap(r.arena)-len(r.arena) < n {
		r.arena = make([]ensemble.Ref, 0, max(256, n))
	}
	start := len(r.arena)
	r.arena = append(r.arena, refs...)
	r.arena = append(r.arena, more...)
	return r.arena[start:len(r.arena):len(r.arena)]
}

// contextFacts fills the offer, route and customer facts of the line, once.
func (r *run) contextFacts() {
	if r.ctxSet {
		return
	}
	r.ctxSet = true
	l := r.line
	r.of = OfferFacts{ID: string(l.Offer.Offer), Version: l.Offer.Version, Charge: string(l.Charge)}
	r.rf = RouteFacts{Kind: l.Route.Kind.String(), Seller: string(l.Route.Seller()), Depth: len(l.Route.Chain),
		Referrer: string(l.Route.Referrer), Marketplace: string(l.Route.Marketplace)}
	r.cf = CustomerFacts{Country: string(l.Customer.Country)}
}
