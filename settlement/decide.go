package settlement

import (
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// A level's decision is what its children come to before any amount is
// split: who each child pays (or that it falls back to the platform, or
// is skipped), which conditions and rules decided, the weights and fixed
// amounts, and the compiled allocation of the weights. It is a pure
// function of a few facts of the line: the partners the route resolves to
// (snapshots, which also fix the partners' terms at the date), the rule
// versions in force, the route kind, the currency and exactly the offer,
// route and customer fields the level's rules read (rules.Rule.Reads, see
// reads.go). Lines that agree on those facts share one decision, so a call
// evaluates a level once per distinct route instead of once per line;
// amounts are split per line from the decision.

// decision is a level's choices for a line, read-only once made.
type decision struct {
	kids   []child
	fixed  int64 // sum of the children's fixed amounts
	shares []ensemble.Share
	alloc  *ensemble.Allocator // nil: allocate with AllocateUnits
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
	kind  uint32 // RouteKind, widened to fill the key
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
		if c.kind == shareCumulative || c.role.kind == roleCoSellers {
			n.shared = false
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
func (r *run) decisionKey(n *cnode) (dkey, bool) {
	l := r.line
	k := dkey{n: n, epoch: int64(r.epoch), kind: uint32(l.Route.Kind), cur: r.cur}
	if n.deps&depChain != 0 {
		if len(r.chainSn) > maxKeyChain {
			return k, false
		}
		for i, sn := range r.chainSn {
			if sn == nil {
				return k, false
			}
			k.chain[i] = sn
		}
	}
	if n.deps&depReferrer != 0 && l.Route.Referrer != "" {
		sn, err := r.snapshot(l.Route.Referrer, l.Date)
		if err != nil {
			return k, false
		}
		k.ref = sn
	}
	if n.deps&depMarketplace != 0 && l.Route.Marketplace != "" {
		sn, err := r.snapshot(l.Route.Marketplace, l.Date)
		if err != nil {
			return k, false
		}
		k.mkt = sn
	}
	if n.ctxReads != 0 {
		r.contextFacts()
		h := n.ctxReads.keyInto(&r.ctxBuf, r.s.seed, &r.of, &r.rf, &r.cf)
		k.ctx = r.internCtx(&r.ctxBuf, h)
	}
	return k, true
}

// internCtx returns the one pointer to context facts c (of hash h) that
// decision keys name, shared with earlier calls where one of them made it:
// keys compare it by address, and decisions keyed by it are shared across
// calls. Contexts are looked up by hash and confirmed equal; one whose hash
// another context took first is kept by value, in this call only.
func (r *run) internCtx(c *ctxKey, h uint64) *ctxKey {
	if p := r.ctxKeys[h]; p != nil && *p == *c {
		return p
	}
	if p := r.sharedCtx[h]; p != nil && *p == *c {
		return p
	}
	if p := r.ctxClash[*c]; p != nil {
		return p
	}
	p := new(ctxKey)
	*p = *c
	if r.ctxKeys[h] == nil && r.sharedCtx[h] == nil {
		if r.ctxKeys == nil {
			r.ctxKeys = map[uint64]*ctxKey{}
		}
		r.ctxKeys[h] = p
		r.newCtx = append(r.newCtx, h)
		return p
	}
	if r.ctxClash == nil {
		r.ctxClash = map[ctxKey]*ctxKey{}
	}
	r.ctxClash[*c] = p
	return p
}

// decide returns level n's decision for the current line: shared with
// earlier lines (of this call, or of earlier calls through the settler's
// cache) where the level allows it, or made afresh.
func (r *run) decide(n *cnode, amount int64, depth int) (*decision, error) {
	if !n.shared || r.s.fresh {
		return r.decideInto(r.scratch(depth), n, amount)
	}
	key, ok := r.decisionKey(n)
	if !ok {
		return r.decideInto(r.scratch(depth), n, amount)
	}
	d := r.routeDecision(&key)
	if d == nil {
		if d = r.shared[key]; d == nil {
			d = r.decisions[key]
		}
		if d != nil {
			r.keepRouteDecision(&key, d)
		}
	}
	if d != nil {
		if d.fixed <= amount {
			return d, nil
		}
		// Fixed amounts exceed this line's amount: decide afresh, which
		// reports the child that overflows.
		return r.decideInto(r.scratch(depth), n, amount)
	}
	d = &decision{kids: make([]child, len(n.children))}
	if _, err := r.decideInto(d, n, amount); err != nil {
		return nil, err
	}
	if d.alloc == nil && d.shares != nil {
		// Compiled once for every line sharing the decision; one that
		// fails to compile is left to AllocateUnits, which reports it.
		d.alloc, _ = ensemble.NewAllocator(d.shares, ensemble.AllocateOptions{Method: r.plan.method})
	}
	if r.decisions == nil {
		r.decisions = map[dkey]*decision{}
	}
	r.decisions[key] = d
	r.keepRouteDecision(&key, d)
	// Keys naming the network's snapshots and context facts interned for
	// every call mean the same in every call.
	if r.s.net != nil {
		r.offers = append(r.offers, key)
	}
	return d, nil
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
func (r *run) routeDecision(key *dkey) *decision {
	ch := r.chainTL
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

// keepRouteDecision keeps d at hand in the current line's route, unless the
// route is frozen (shared with other calls, which read it).
func (r *run) keepRouteDecision(key *dkey, d *decision) {
	ch := r.chainTL
	if ch == nil || ch.frozen {
		return
	}
	ch.decisions[ch.nextDec] = routeDecision{key: *key, d: d}
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
// in batches, so the table is copied rarely.
type sharedCache[K comparable, V any] struct {
	tab     atomic.Pointer[map[K]V] // read-only once published
	mu      sync.Mutex
	pending map[K]V // offered, not yet published
}

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
	// Publishing copies the table: wait for an eighth of it (at most
	// 1,024) to be pending, unless the table is full.
	if len(c.pending) == 0 || len(c.pending) < min(len(tab)/8+1, 1024) && len(tab)+len(c.pending) < maxShared {
		return
	}
	next := make(map[K]V, len(tab)+len(c.pending))
	maps.Copy(next, tab)
	maps.Copy(next, c.pending)
	c.tab.Store(&next)
	c.pending = nil
}

// scratch returns the per-depth decision that levels deciding per line
// fill.
func (r *run) scratch(depth int) *decision {
	for len(r.levels) <= depth {
		r.levels = append(r.levels, &decision{})
	}
	return r.levels[depth]
}

// ruleText names a rule version for errors ("id@version"), "" for none.
// ref returns the rule's own reference, or nil.
func (r *ruleRef) ref() *ensemble.Ref {
	if r == nil {
		return nil
	}
	return &r.Ref
}

func ruleText(ref *ensemble.Ref) string {
	if ref == nil {
		return ""
	}
	return ref.ID + "@" + ref.Version
}
