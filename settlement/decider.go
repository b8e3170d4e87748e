package settlement

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

// The decider answers what the split of a line asks (split.go): each
// level's decision, the parties a multi-party leaf pays, the entry ids of
// a leaf. Everything else it holds is a cache or a buffer, and none of it
// changes a result: a decision is a pure function of a few facts of the
// line, and the decider keys what it keeps by exactly those facts.
//
// A level's decision depends on the partners the route resolves to
// (snapshots, which also fix the partners' terms at the date), the rule
// versions in force, the route kind, the currency and exactly the offer,
// route and customer fields the level's rules read (rules.Rule.Reads, see
// reads.go). Lines that agree on those facts share one decision, so a call
// evaluates a level once per distinct route instead of once per line;
// amounts are split per line from the decision. What it keeps:
//
//   - level decisions, made in the call (decisions) or in earlier calls of
//     the settler (shared), and the last few each route used (routeDecision);
//   - rule results, by the facts each rule version reads (memo.go);
//   - allocation weights, compiled once per distinct set (shares);
//   - partners' snapshots over time, per route (timeline.go);
//   - the memory the call's entries and ledgers share (arena.go).
//
// The reference settler (Settler.reference) keeps none of it: it decides
// every level and evaluates every rule afresh, and reads partners from the
// network at every use. A decider serves one call at a time; the settler
// keeps idle ones in a pool.

// decider is what one call decides with: the line being split, the facts
// its rules read, and the caches and buffers above.
type decider struct {
	s     *Settler
	ctx   context.Context
	st    *State // the call's state, read for cumulative volumes
	lines int    // the number of lines of the call, which sizes chunks

	// The line being decided (begin).
	line    *Line
	plan    *cplan
	cur     ensemble.Currency
	rest    int64 // the root's amount: the basis after supplier costs
	epoch   int32
	chainSn []*partner.Snapshot // the line's chain at its date (read-only; nil: not a partner yet)
	chainTL *chainTimelines     // the line's route, if it has timelines
	volume  []volumeRead        // what the plan's cumulative rates read (volumeOf), in the order of plan.cums
	// The line's volumes (convertVolume): their currency, the line's
	// basis in it, and the rate it was converted at (nil: not converted)
	// with the text cumulative shares say it in.
	volCur   ensemble.Currency
	volBasis int64
	fx       *ensemble.ExchangeRate
	fxNote   string
	fx0      *ensemble.ExchangeRate // the last rate a line converted at, kept for the next: with its text and its since's
	fxText   string
	fxSince  string
	// The seller's volume over the calendar year before the line, which
	// volume facts hold, when a rate of the plan read it (sellerVolSet).
	sellerVol    int64
	sellerVolSet bool

	// The facts rules read, filled when a rule first needs them (memo.go).
	facts    *rules.Facts
	lf       LineFacts
	of       OfferFacts
	rf       RouteFacts
	cf       CustomerFacts
	vf       VolumeFacts
	ps       partner.Snapshot
	vfSet    bool // line and volume facts are filled for this line
	ctxSet   bool // offer, route and customer facts are filled for this line
	factsSet bool // some fact was filled in this call

	// Rule results (memo.go).
	lineResult evalResult // the result of a rule evaluated for the line only
	memo       map[memoKey]*evalResult
	pmemo      []map[*partner.Snapshot]*evalResult // by rule version index (crule.index); key nil for rules reading no partner
	interned   map[internKey]*evalResult
	notes      map[string]string // entry notes made for the call's lines, kept once (keepNote)

	// Level decisions and their weights.
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

	// Partners (timeline.go).
	snaps     map[partner.ID]*partner.Snapshot // without a network
	chains    map[partner.ID]*chainTimelines   // by seller: made in this call
	routes    map[partner.ID]*chainTimelines   // by seller: made in earlier calls (read-only)
	newRoutes []partner.ID                     // sellers whose chains this call made
	chainBuf  []*partner.Snapshot              // backs chainSn for chains without timelines

	// The parties of a multi-party leaf (parties).
	pbuf []partner.ID
	wbuf []ensemble.Share
	obuf []leftOut

	// The memory outputs share (arena.go).
	ids        string          // the current line's entry ids, back to back
	idChunk    strings.Builder // backs ids: one allocation per idChunkSize bytes
	idOff      []int
	idLine     int // the length of the current line's id and ':', which begin each id
	arena      []ensemble.Ref
	ruleRefs   [][]ensemble.Ref // by node index: the rule refs its last entry carried
	ledgers    []ledger
	amounts    []int64              // the chunk ledgers keep their parts' amounts in
	lineVols   []lineVolume         // the chunk ledgers keep what their lines added to volumes in
	payeeChunk []payee              // the chunk payee lists are kept in
	lists      [][]payee            // the chunk of the lists ledgers point to
	payees     [8]*[]payee          // recent payee lists of lines without chain timelines
	nextPayee  int                  // where the next payee list goes in payees
	costMeta   map[string]*partMeta // supplier cost nodes, by path
	ctxs       map[lineCtx]*lineCtx

	// The release dates and notes of reserve leaves, for the lines of a
	// day (reserveRelease).
	reserveDays [4]reserveDay
	nextReserve int
}

// newDecider returns a decider for the calls of s; start readies it for
// one.
func (s *Settler) newDecider() *decider {
	d := &decider{s: s}
	if s.env != nil {
		d.facts = s.env.NewFacts()
		// Set cannot fail: New checked the environment declares these
		// variables with these types (checkEnv).
		_ = d.facts.Set(VarLine, &d.lf)
		_ = d.facts.Set(VarOffer, &d.of)
		_ = d.facts.Set(VarRoute, &d.rf)
		_ = d.facts.Set(VarCustomer, &d.cf)
		_ = d.facts.Set(VarVolume, &d.vf)
		_ = d.facts.Set(VarPartner, &d.ps)
	}
	return d
}

// start readies the decider for a call with ctx of lines lines, whose
// state is st: it takes the caches the settler's earlier calls published.
func (d *decider) start(ctx context.Context, st *State, lines int) {
	d.ctx, d.st, d.lines = ctx, st, lines
	if !d.s.fresh {
		d.shared, d.routes, d.sharedCtx = d.s.decisions.table(), d.s.routes.table(), d.s.ctxKeys.table()
	}
}

// maxReused bounds the maps an idle decider keeps for its next call:
// larger ones (of a large call) are dropped, not cleared, so that idle
// deciders hold little and a small call does not clear a large map.
const maxReused = 256

// reuse returns m emptied for the next call, or nil when it grew large.
func reuse[K comparable, V any](m map[K]V) map[K]V {
	if len(m) > maxReused {
		return nil
	}
	clear(m)
	return m
}

// keep returns m for the next call, or nil when it grew large.
func keep[K comparable, V any](m map[K]V) map[K]V {
	if len(m) > maxReused {
		return nil
	}
	return m
}

// reset forgets the call: its line, its facts and the caches of the call,
// keeping the buffers and the chunks of memory outputs share (arena.go),
// whose used parts are never written again, for the next call. Rule
// results, interned shares and level weights are kept while small: each
// is a pure function of its key (rule versions, partner snapshots and
// context facts, which the settler fixes), so a later call may reuse them
// as a later line of the same call would.
func (d *decider) reset() {
	d.ctx, d.st = nil, nil
	d.line, d.plan, d.chainSn, d.chainTL = nil, nil, nil, nil
	d.volume = d.volume[:0]
	if d.factsSet {
		d.lf, d.of, d.rf, d.cf, d.vf, d.ps = LineFacts{}, OfferFacts{}, RouteFacts{}, CustomerFacts{}, VolumeFacts{}, partner.Snapshot{}
		d.factsSet = false
	}
	d.memo, d.interned, d.notes = keep(d.memo), keep(d.interned), reuse(d.notes) // notes pin text chunks: not kept past the call
	for i, m := range d.pmemo {
		d.pmemo[i] = keep(m)
	}
	d.lcache, d.decisions, d.shared, d.offers = keep(d.lcache), reuse(d.decisions), nil, d.offers[:0]
	d.ctxKeys, d.sharedCtx, d.newCtx, d.ctxClash = reuse(d.ctxKeys), nil, d.newCtx[:0], reuse(d.ctxClash)
	d.snaps, d.chains, d.routes, d.newRoutes = keep(d.snaps), reuse(d.chains), nil, d.newRoutes[:0]
	d.costMeta, d.ctxs = reuse(d.costMeta), reuse(d.ctxs)
}

// begin readies the decider for sale line l, split by plan, whose basis
// is basis minor units and whose root receives rest: it looks the chain's
// partners up at the line's date and the cumulative volumes the plan's
// rates read (in the plan's volume currency, converting the line's basis),
// and writes the line's entry ids.
func (d *decider) begin(l *Line, plan *cplan, basis, rest int64) error {
	d.line, d.plan, d.cur, d.rest = l, plan, l.Currency(), rest
	d.epoch = d.s.epochAt(l.Date)
	d.writeIDs(l, plan)
	if err := d.chainSnapshots(l); err != nil {
		return lineErr(l.ID, plan.id, "", "", err)
	}
	// Facts of the line: filled when a rule first needs them, which lines
	// whose levels are all shared never do.
	d.vfSet, d.ctxSet = false, false
	if err := d.convertVolume(l, plan, basis); err != nil {
		return err
	}
	d.volume = d.volume[:0]
	d.sellerVolSet = false
	for _, n := range plan.cums {
		id, sn, why, err := d.resolveOne(n.cumOf)
		if err != nil {
			return lineErr(l.ID, plan.id, n.path, "", err)
		}
		if sn != nil && sn.ID == id {
			// The partner's id as the snapshot holds it, one string for
			// every line of the partner: volume keys hash and compare it
			// without reading each line's copy.
			id = sn.ID
		}
		v := volumeRead{node: n, owner: id, why: why}
		if id != "" && d.st.volumesOf != nil && !d.st.volumesOf(id) {
			return lineErr(l.ID, plan.id, n.path, "", volumeNotHeld(id))
		}
		if id != "" { // nobody's volume is zero, and the share follows its fallback (decideLevel)
			v.key = volKey{partner: id, cur: d.volCur.Key(), window: n.cum.Window}
			v.key.year, v.key.month = n.cum.Window.period(l.Date)
			v.before, v.held = d.st.volumeAt(v.key, l.Date)
			if n.cum.Window == WindowCalendarYear && id == l.Route.Seller {
				d.sellerVol, d.sellerVolSet = v.before, true
			}
		}
		d.volume = append(d.volume, v)
	}
	return nil
}

// volumeRead is what a cumulative share reads for the current line: the
// partner whose volume it reads, or "" and why when its role names nobody
// who can be paid (the share then follows its node's fallback), and the
// volume before the line.
type volumeRead struct {
	node   *cnode
	owner  partner.ID
	why    string
	key    volKey    // the volume read, which the line adds to (owner set)
	held   *volState // the volume as the call's state held it when read; nil: none
	before int64
}

// volumeOf returns what cumulative share c reads for the current line.
func (d *decider) volumeOf(c *cnode) volumeRead {
	for i := range d.volume {
		if d.volume[i].node == c {
			return d.volume[i]
		}
	}
	return volumeRead{} // c has no cumulative share: nobody's volume
}

// publish offers what the call worked out to the settler's caches, for
// later calls: a call that succeeded calls it once.
func (d *decider) publish() {
	s := d.s
	if len(d.newCtx) > 0 && !s.fresh {
		s.ctxKeys.offer(d.newCtx, d.ctxKeys)
	}
	if len(d.offers) > 0 {
		s.decisions.offer(d.offers, d.decisions)
	}
	if len(d.newRoutes) > 0 && !s.fresh {
		for _, id := range d.newRoutes {
			d.chains[id].frozen = true
		}
		s.routes.offer(d.newRoutes, d.chains)
	}
}

// decide returns level n's decision for the current line, whose node
// holds amount: shared with earlier lines (of this call, or of earlier
// calls through the settler's cache) where the level allows it, or made
// afresh.
func (d *decider) decide(n *cnode, amount int64, depth int) (*decision, error) {
	if !n.shared || d.s.fresh {
		return d.decideLevel(d.scratch(depth), n, amount)
	}
	key, ok := d.decisionKey(n)
	if !ok {
		return d.decideLevel(d.scratch(depth), n, amount)
	}
	dec := d.routeDecision(&key)
	if dec == nil {
		if dec = d.shared[key]; dec == nil {
			dec = d.decisions[key]
		}
		if dec != nil {
			d.keepRouteDecision(&key, dec)
		}
	}
	if dec != nil {
		if dec.fixed <= amount {
			return dec, nil
		}
		// Fixed amounts exceed this line's amount: decide afresh, which
		// reports the child that overflows.
		return d.decideLevel(d.scratch(depth), n, amount)
	}
	dec = &decision{kids: make([]child, len(n.children))}
	if _, err := d.decideLevel(dec, n, amount); err != nil {
		return nil, err
	}
	if dec.alloc == nil && dec.shares != nil {
		// Compiled once for every line sharing the decision; one that
		// fails to compile is left to AllocateUnits, which reports it.
		dec.alloc, _ = ensemble.NewAllocator(dec.shares, ensemble.AllocateOptions{Method: d.plan.method})
	}
	if d.decisions == nil {
		d.decisions = map[dkey]*decision{}
	}
	d.decisions[key] = dec
	d.keepRouteDecision(&key, dec)
	// Keys naming the network's snapshots and context facts interned for
	// every call mean the same in every call.
	if d.s.net != nil {
		d.offers = append(d.offers, key)
	}
	return dec, nil
}

// scratch returns the per-depth decision that levels deciding per line
// fill.
func (d *decider) scratch(depth int) *decision {
	for len(d.levels) <= depth {
		d.levels = append(d.levels, &decision{})
	}
	return d.levels[depth]
}

// levelKey identifies a level's weights within one call: Ratio values
// compare by identity, which is stable for static, memoized and zero
// weights.
type levelKey struct {
	n    *cnode
	w    [8]ensemble.Ratio
	mask uint8
}

// levelShares is a level's allocation weights, with their allocator.
type levelShares struct {
	shares []ensemble.Share
	alloc  *ensemble.Allocator // compiled once for the call; nil for no ratio
}

// shares returns level n's allocation weights for kids (levelWeights),
// with an allocator compiled for them when the same weights were seen
// before in the call, so static and memoized levels do no rational
// arithmetic per line.
func (d *decider) shares(n *cnode, kids []child) ([]ensemble.Share, *ensemble.Allocator, error) {
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
			if v, ok := d.lcache[key]; ok {
				return v.shares, v.alloc, nil
			}
		}
	}
	shares, err := d.levelWeights(n, kids)
	if err != nil {
		return nil, nil, err
	}
	if cacheable {
		ls := &levelShares{shares: shares}
		if shares != nil {
			// A level seen again in the call splits with a compiled
			// allocator; one that fails to compile is left to AllocateUnits,
			// which reports the same error with the line.
			ls.alloc, _ = ensemble.NewAllocator(shares, ensemble.AllocateOptions{Method: d.plan.method})
		}
		if d.lcache == nil {
			d.lcache = map[levelKey]*levelShares{}
		}
		d.lcache[key] = ls
	}
	return shares, nil, nil
}

// depMask says which partners of a line's route a level's decision
// depends on (the parties its children pay, the partners its rules read),
// beyond its node, the rule versions in force, the route kind, the
// currency and the context facts its rules read, which every decision key
// holds.
type depMask uint8

const (
	depChain depMask = 1 << iota // the route's chain (snapshots)
	depReferrer
	depMarketplace
)

// maxKeyChain is the longest chain a decision key holds; lines with
// longer chains decide their levels afresh.
const maxKeyChain = 6

// dkey identifies a level's decision within a call. It holds no strings
// and no padding, so maps hash it as plain memory. The chain's length is
// the number of snapshots set: a key never holds a nil level.
type dkey struct {
	n     *cnode
	chain [maxKeyChain]*partner.Snapshot
	ref   *partner.Snapshot
	mkt   *partner.Snapshot
	ctx   *ctxKey // the context facts the level's rules read, interned; nil for none
	epoch int64
	cur   ensemble.Currency
	kind  uint32 // partner.RouteKind, widened to fill the key
}

// roleDeps returns what resolving role ro reads of the line.
func roleDeps(ro role) depMask {
	switch ro.kind {
	case roleChain, roleTop, roleType, roleChainAll:
		return depChain
	case roleReferrer:
		return depReferrer
	case roleMarketplace:
		return depMarketplace
	}
	return 0 // platform, partner:<id> (fixed by the epoch)
}

// setDecisionDeps works out, for n and every level below it, whether its
// decision can be shared between lines and what it depends on, from what
// its children pay and what their rules read. A level with a rule that
// reads the line or volume, a cumulative share or co-sellers (whose weights
// ride on the line) decides per line.
func setDecisionDeps(n *cnode) {
	if n.leaf {
		return
	}
	n.shared = true
	for _, c := range n.children {
		setDecisionDeps(c)
		if c.kind == shareCumulative || c.role.kind == roleCoSellers || c.role.kind == roleAttributed || c.once {
			n.shared = false // decided per line (a node paid once per customer reads the state)
		}
		// The partner facts a child's rules see: its party's, or the
		// seller's when it pays no single party or its party is absent and
		// it stays active (fallback to the platform, or remaining).
		sn := depChain
		if c.leaf {
			n.deps |= roleDeps(c.role)
			if !c.role.multi() {
				sn = roleDeps(c.role)
				if c.role.kind != rolePlatform && (c.fallback == FallbackPlatform || c.kind == shareRemaining) {
					sn |= depChain
				}
			}
		}
		for _, cr := range []*crule{c.condR, c.shareR} {
			if cr == nil {
				continue // an unknown rule fails the line: nothing is shared
			}
			for _, rd := range cr.reads {
				if rd.perLine {
					n.shared = false
				}
				if rd.partner {
					n.deps |= sn
				}
				n.ctxReads |= rd.ctx
			}
		}
	}
}

// epochs returns the instants at which any rule version the plans use
// comes into or goes out of force, or a partner a plan names by id
// changes: between two of them every such fact is constant.
func (s *Settler) epochs(byID map[string]*crule) []time.Time {
	var out []time.Time
	for _, cr := range byID {
		for _, sp := range cr.spans {
			for _, t := range sp {
				if !t.IsZero() {
					out = append(out, t)
				}
			}
		}
	}
	for _, cp := range s.plans {
		cp.root.visit(func(c *cnode) {
			if c.role.kind != rolePartner {
				return
			}
			if tl := s.timelines[c.role.id]; tl != nil {
				out = append(out, tl.bounds...)
			}
		})
	}
	slices.SortFunc(out, time.Time.Compare)
	return slices.CompactFunc(out, time.Time.Equal)
}

// visit calls f for n and every node below it.
func (c *cnode) visit(f func(*cnode)) {
	f(c)
	for _, ch := range c.children {
		ch.visit(f)
	}
}

// epochAt returns the index of the span between epoch instants holding t.
func (s *Settler) epochAt(t time.Time) int32 {
	if len(s.epochBounds) == 0 {
		return 0
	}
	return int32(sort.Search(len(s.epochBounds), func(i int) bool { return s.epochBounds[i].After(t) }))
}

// decisionKey returns the key of level n's decision for the current line,
// or false when the line must decide it afresh (a partner that is not a
// partner yet is named in notes by id; chains longer than a key holds).
func (d *decider) decisionKey(n *cnode) (dkey, bool) {
	l := d.line
	k := dkey{n: n, epoch: int64(d.epoch), kind: uint32(l.Route.Kind), cur: d.cur}
	if n.deps&depChain != 0 {
		if len(d.chainSn) > maxKeyChain {
			return k, false
		}
		for i, sn := range d.chainSn {
			if sn == nil {
				return k, false
			}
			k.chain[i] = sn
		}
	}
	if n.deps&depReferrer != 0 && l.Route.Referrer != "" {
		sn, err := d.snapshot(l.Route.Referrer, l.Date)
		if err != nil {
			return k, false
		}
		k.ref = sn
	}
	if n.deps&depMarketplace != 0 && l.Route.Marketplace != "" {
		sn, err := d.snapshot(l.Route.Marketplace, l.Date)
		if err != nil {
			return k, false
		}
		k.mkt = sn
	}
	if n.ctxReads != 0 {
		d.contextFacts()
		h := n.ctxReads.keyInto(&d.ctxBuf, d.s.seed, &d.of, &d.rf, &d.cf)
		k.ctx = d.internCtx(&d.ctxBuf, h)
	}
	return k, true
}

// internCtx returns the one pointer to context facts c (of hash h) that
// decision keys name, shared with earlier calls where one of them made it:
// keys compare it by address, and decisions keyed by it are shared across
// calls. Contexts are looked up by hash and confirmed equal; one whose hash
// another context took first is kept by value, in this call only.
func (d *decider) internCtx(c *ctxKey, h uint64) *ctxKey {
	if p := d.ctxKeys[h]; p != nil && *p == *c {
		return p
	}
	if p := d.sharedCtx[h]; p != nil && *p == *c {
		return p
	}
	if p := d.ctxClash[*c]; p != nil {
		return p
	}
	p := new(ctxKey)
	*p = *c
	if d.ctxKeys[h] == nil && d.sharedCtx[h] == nil {
		if d.ctxKeys == nil {
			d.ctxKeys = map[uint64]*ctxKey{}
		}
		d.ctxKeys[h] = p
		d.newCtx = append(d.newCtx, h)
		return p
	}
	if d.ctxClash == nil {
		d.ctxClash = map[ctxKey]*ctxKey{}
	}
	d.ctxClash[*c] = p
	return p
}

// routeDecision is a level decision a route keeps at hand: the lines of
// one seller mostly decide their levels alike, and comparing a few keys
// costs less than looking one up in a large table.
type routeDecision struct {
	key dkey
	d   *decision
}

// routeDecision returns the decision of key the current line's route keeps,
// or nil.
func (d *decider) routeDecision(key *dkey) *decision {
	ch := d.chainTL
	if ch == nil {
		return nil
	}
	for i := range ch.decisions {
		if rd := &ch.decisions[i]; rd.d != nil && rd.key == *key {
			return rd.d
		}
	}
	return nil
}

// keepRouteDecision keeps dec at hand in the current line's route, unless
// the route is frozen (shared with other calls, which read it).
func (d *decider) keepRouteDecision(key *dkey, dec *decision) {
	ch := d.chainTL
	if ch == nil || ch.frozen {
		return
	}
	ch.decisions[ch.nextDec] = routeDecision{key: *key, d: dec}
	ch.nextDec = (ch.nextDec + 1) % len(ch.decisions)
}

// maxShared bounds what a settler keeps between calls in each of its
// caches (level decisions of a few hundred bytes each, routes of about as
// much); what exceeds it is worked out per call.
const maxShared = 1 << 14

// sharedCache keeps what calls worked out, for later calls to reuse: level
// decisions and routes, which are pure functions of their keys and never
// change once offered. Readers take the published table without locking;
// calls offer what they made when they succeed, and offers are published
// in batches, so the table is copied rarely: once an eighth of it is
// pending, or once publishEvery calls have offered since it was last
// published, so that what is pending is published even when little more
// comes (calls that miss a pending value make it again and offer it).
type sharedCache[K comparable, V any] struct {
	tab     atomic.Pointer[map[K]V] // read-only once published
	mu      sync.Mutex
	pending map[K]V // offered, not yet published
	offers  int     // calls that offered since the table was published
}

// publishEvery is how many offering calls a pending value waits for at
// most: copying the table then costs each offering call at most the copy
// of maxShared/publishEvery entries.
const publishEvery = 64

// table returns the published values (nil before any).
func (c *sharedCache[K, V]) table() map[K]V {
	if t := c.tab.Load(); t != nil {
		return *t
	}
	return nil
}

// offer adds the values of keys (from a call that succeeded) to the cache,
// publishing a new table once enough are pending.
func (c *sharedCache[K, V]) offer(keys []K, made map[K]V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tab := c.table()
	for _, k := range keys {
		if len(tab)+len(c.pending) >= maxShared {
			break
		}
		if _, ok := tab[k]; !ok {
			if c.pending == nil {
				c.pending = map[K]V{}
			}
			c.pending[k] = made[k]
		}
	}
	c.offers++
	// Publishing copies the table: wait for an eighth of it (at most
	// 1,024) to be pending, unless the table is full or publishEvery calls
	// have offered.
	if len(c.pending) == 0 || len(c.pending) < min(len(tab)/8+1, 1024) && len(tab)+len(c.pending) < maxShared && c.offers < publishEvery {
		return
	}
	next := make(map[K]V, len(tab)+len(c.pending))
	maps.Copy(next, tab)
	maps.Copy(next, c.pending)
	c.tab.Store(&next)
	c.pending, c.offers = nil, 0
}

// reserveDay is when a reserve leaf releases what it holds from the lines
// of one day, and the note its reserve entries carry.
type reserveDay struct {
	n       *cnode
	day     int64     // the day's start, midnight UTC, in Unix seconds
	release time.Time // the release of a line dated at the day's start
	note    string    // "reserve 10% until 2026-04-01"
}

// reserveRelease returns when leaf n releases a reserve it holds from an
// earning dated at, n's days later at the same time of day
// (at.AddDate(0, 0, days)), and the note of the reserve entry, "reserve
// 10% until 2026-04-01" (the release's date in UTC). Both are worked out
// once per leaf and day for the lines dated in UTC, which the decider
// keeps for a few leaves (the reference settler keeps none); a line of the
// same day releases as much later.
func (d *decider) reserveRelease(n *cnode, at time.Time) (time.Time, string) {
	keep := at.Location() == time.UTC && !d.s.reference
	if keep {
		for i := range d.reserveDays {
			r := &d.reserveDays[i]
			if r.n != n {
				continue
			}
			if off := at.Unix() - r.day; off >= 0 && off < 24*60*60 {
				return r.release.Add(time.Duration(off)*time.Second + time.Duration(at.Nanosecond())), r.note
			}
		}
	}
	release := at.AddDate(0, 0, n.reserve.Days)
	var buf [64]byte
	note := d.keepText(appendDate(append(buf[:0], n.reserveText...), release.UTC()))
	if keep {
		day := at.Truncate(24 * time.Hour) // midnight UTC: the zero Time is one
		d.reserveDays[d.nextReserve] = reserveDay{n: n, day: day.Unix(), release: day.AddDate(0, 0, n.reserve.Days), note: note}
		d.nextReserve = (d.nextReserve + 1) % len(d.reserveDays)
	}
	return release, note
}
