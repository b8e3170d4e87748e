package settlement

import (
	"errors"
	"slices"
	"time"

	"github.com/ensemble-commerce/ensemble/partner"
)

// Partners over time: what each partner of the network was (terms, status,
// certifications) in each interval between the instants any of that
// changes, worked out once when the settler is built, so settling looks a
// partner up without calling the network; and routes, a seller's chain with
// its partners' snapshots over time, so a line finds every level of its
// chain with one lookup. A snapshot stands for every fact of the partner
// in its interval (decision keys compare them by address).

// timeline caches a partner's snapshots per interval between the instants
// its terms, lifecycle or certifications change.
type timeline struct {
	bounds []time.Time
	snaps  []*partner.Snapshot // nil: not a partner (yet) in that interval
}

var errNotTrading = errors.New("not a partner yet")

// snapshot returns what partner id was at t, from the settler's
// precomputed timelines.
func (d *decider) snapshot(id partner.ID, t time.Time) (*partner.Snapshot, error) {
	if id == d.s.platform {
		return &d.s.platSn, nil
	}
	if d.s.net == nil {
		sn := d.snaps[id]
		if sn == nil || d.s.reference {
			sn = &partner.Snapshot{ID: id, Status: partner.StatusActive}
			if d.snaps == nil {
				d.snaps = map[partner.ID]*partner.Snapshot{}
			}
			d.snaps[id] = sn
		}
		return sn, nil
	}
	if d.s.reference {
		// What the network says, read afresh at every use.
		sn, err := d.s.net.At(id, t)
		if errors.Is(err, partner.ErrNotYetPartner) {
			return nil, errNotTrading
		}
		if err != nil {
			return nil, err
		}
		return &sn, nil
	}
	tl := d.s.timelines[id]
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
	// links are the links of the chain the network's types cannot form
	// (chainLinks), worked out when it is made; nil: none.
	links []badLink
}

// chainSnapshots sets d.chainSn to what each partner of the line's chain
// was at its date (nil: not a partner yet). It is read-only.
func (d *decider) chainSnapshots(l *Line) error {
	d.chainSn, d.chainTL = nil, nil
	ch := l.Route.Chain
	if len(ch) == 0 {
		return nil
	}
	c := d.heldChain(ch)
	if c == nil {
		c = d.chainTimelines(ch)
	}
	if c != nil && c.links != nil {
		return chainLinkError(l, c.links)
	}
	if c == nil { // without a network, or naming the platform or an unknown partner
		if bad := d.s.chainLinks(ch); bad != nil {
			return chainLinkError(l, bad)
		}
		d.chainBuf = d.chainBuf[:0]
		for _, id := range ch {
			sn, err := d.snapshot(id, l.Date)
			if err != nil && !errors.Is(err, errNotTrading) {
				return err
			}
			d.chainBuf = append(d.chainBuf, sn)
		}
		d.chainSn = d.chainBuf
		return nil
	}
	d.chainSn, d.chainTL = c.spans[spanAt(c.bounds, l.Date)], c
	return nil
}

// knownRoute reports whether the seller and chain of sale l are a route
// the decider holds the timelines of (made by this call or an earlier
// one): every partner of such a chain is one of the network's, so
// Settler.sellerParties, which checks them one by one, has nothing to
// refuse. A shortcut only: false sends the line to that check.
func (d *decider) knownRoute(l *Line) bool {
	ch := l.Route.Chain
	return len(ch) > 0 && ch[0] == l.Route.Seller && d.heldChain(ch) != nil
}

// heldChain returns the timelines of chain ch (not empty) that this call
// or an earlier one made, or nil.
func (d *decider) heldChain(ch []partner.ID) *chainTimelines {
	c := d.chains[ch[0]]
	if c == nil {
		c = d.routes[ch[0]]
	}
	if c == nil || !slices.Equal(c.ids, ch) {
		return nil
	}
	return c
}

// chainTimelines looks the timelines of chain ch up and keeps them for the
// chain's seller; nil when a level has none.
func (d *decider) chainTimelines(ch []partner.ID) *chainTimelines {
	if d.s.net == nil || d.s.reference {
		return nil
	}
	tls := make([]*timeline, len(ch))
	var bounds []time.Time
	for i, id := range ch {
		if id == d.s.platform {
			return nil
		}
		if tls[i] = d.s.timelines[id]; tls[i] == nil {
			return nil
		}
		bounds = append(bounds, tls[i].bounds...)
	}
	slices.SortFunc(bounds, time.Time.Compare)
	bounds = slices.CompactFunc(bounds, time.Time.Equal)
	c := &chainTimelines{ids: slices.Clone(ch), bounds: bounds, spans: make([][]*partner.Snapshot, len(bounds)+1), links: d.s.chainLinks(ch)}
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
	if d.chains == nil {
		d.chains = map[partner.ID]*chainTimelines{}
	}
	if d.chains[ch[0]] == nil {
		d.newRoutes = append(d.newRoutes, ch[0])
	}
	d.chains[ch[0]] = c
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
