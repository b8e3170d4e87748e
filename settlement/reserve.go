package settlement

import (
	"fmt"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Rolling reserves: a share of what a party earns, held back per party
// for a number of days after each line, which refunds and lost disputes
// draw on first (PartyReserve says how).

// PartyReserve is a rolling reserve a plan holds from one party: Ratio of
// every earning the plan pays it, held for Days days after the line's
// date. In YAML:
//
//	reserves:
//	  - {party: reseller-nl, ratio: "10%", days: 90}
//
// Each earning the plan pays the party (through any leaf; of what a leaf's
// own Reserve leaves, rounded down) gets a KindReserve entry
// "<earning id>#rolling" at the line's date and its release,
// "<earning id>#rolling.release", dated Days later.
//
// A credit or lost dispute dated before the release draws on the reserve
// first: of what its clawback takes back from the party's part, up to what
// the reserve still holds is released at its date to meet it
// ("<credit>:<part path>#rolling.draw", +d) and the scheduled release is
// lessened by as much ("...#rolling.draw.release", -d at the release
// date), so what is payable falls only by the rest. Clawbacks are as
// without a reserve: never more than a part has unreversed, and a full
// credit nets the party to zero, its reserve included. A reversal on or
// after the release draws nothing. The State records, per part, what the
// reserve still holds and until when (LedgerPart.Reserve, ReserveUntil).
//
// It is part of the plan, not of Config: the plan version is the contract
// a line was settled under and the State records it on every line, so
// what was held, for how long and why is read from the versioned document
// that decided it, and a change of terms is a new plan version.
type PartyReserve struct {
	// Party is the partner the reserve is held from: a partner id of the
	// network, not a role.
	Party partner.ID `json:"party"`
	// Ratio of each earning held back, in [0, 1].
	Ratio ensemble.Ratio `json:"ratio"`
	// Days after the line's date the reserve is released: 1 to 36600.
	Days int `json:"days"`
}

// cpartyReserve is a compiled PartyReserve: its ratio as integers when
// they fit, and the start of its entries' note.
type cpartyReserve struct {
	ratio    ensemble.Ratio
	num, den uint64
	fits     bool
	days     int
	text     string // "rolling reserve 10% of reseller-nl until "
}

// compileReserves checks a plan's rolling reserves and compiles them.
func compileReserves(p *ensemble.Problems, path string, rs []PartyReserve) map[partner.ID]*cpartyReserve {
	if len(rs) == 0 {
		return nil
	}
	out := make(map[partner.ID]*cpartyReserve, len(rs))
	for i, r := range rs {
		at := ensemble.Path(path, "reserves", i)
		if err := ensemble.CheckID(string(r.Party), ensemble.EntrySeparators); err != nil {
			p.Add(at+".party", err)
		} else if out[r.Party] != nil {
			p.Addf(at+".party", "party %q holds two rolling reserves: give it one", r.Party)
		}
		if r.Ratio.Sign() < 0 || r.Ratio.Cmp(ensemble.RatioFromInt(1)) > 0 {
			p.Addf(at+".ratio", "reserve ratio must be within [0, 1]")
		}
		if r.Days < 1 || r.Days > 36600 {
			p.Addf(at+".days", "reserve days must be within [1, 36600]")
		}
		c := &cpartyReserve{ratio: r.Ratio, days: r.Days, text: "rolling reserve " + r.Ratio.Percent() + " of " + string(r.Party) + " until "}
		if num, den := r.Ratio.Num(), r.Ratio.Denom(); num.IsUint64() && den.IsUint64() && r.Ratio.Sign() >= 0 {
			c.num, c.den, c.fits = num.Uint64(), den.Uint64(), true
		}
		if out[r.Party] == nil {
			out[r.Party] = c
		}
	}
	return out
}

// checkReserveParties refuses a rolling reserve naming a party the
// network does not know: a typo would otherwise hold nothing, silently.
func checkReserveParties(p *ensemble.Problems, path string, rs []PartyReserve, net *partner.Network, platform partner.ID) {
	for i, r := range rs {
		if r.Party == "" || r.Party == platform {
			continue
		}
		if _, ok := net.Partner(r.Party); !ok {
			p.Add(ensemble.Path(path, "reserves", i)+".party", fmt.Errorf("%w: party %q names no partner of the network", ErrUnknownParty, r.Party))
		}
	}
}

// units returns the reserve on amount: amount times the ratio, rounded
// down (never more than was earned).
func (c *cpartyReserve) units(amount int64) int64 {
	if c.fits && amount >= 0 {
		hi, lo := bits.Mul64(uint64(amount), c.num)
		if hi < c.den {
			q, _ := bits.Div64(hi, lo, c.den)
			return int64(q)
		}
	}
	q := new(big.Int).Mul(big.NewInt(amount), c.ratio.Num())
	return q.Quo(q, c.ratio.Denom()).Int64()
}

// rollingHold is what a rolling reserve holds of one part of a line: what
// it still holds (less what reversals drew) and its release date.
type rollingHold struct {
	part  int32
	units int64
	until time.Time
}

// rolling holds back the rolling reserve of party id, paid amount by
// earning of (the part the split just recorded), if the plan keeps one for
// the party: a reserve entry at the line's date and its release at the
// release date.
func (sp *split) rolling(n *cnode, of EntryID, id partner.ID, amount int64) {
	c := sp.plan.reserves[id]
	if c == nil || amount <= 0 {
		return
	}
	u := c.units(amount)
	if u == 0 {
		return
	}
	date := sp.line.Date
	until := date.AddDate(0, 0, c.days)
	var buf [96]byte
	note := sp.dec.keepText(appendDate(append(buf[:0], c.text...), until.UTC())) // "rolling reserve 10% of reseller-nl until 2026-06-01"
	sp.entry(of+"#rolling", KindReserve, id, n.meta.role, n.path, u, date, "", nil, note, of)
	sp.entry(of+"#rolling.release", KindRelease, id, n.meta.role, n.path, u, until, "", nil, "rolling reserve released", of)
	sp.rolled = append(sp.rolled, rollingHold{part: int32(len(sp.paid) - 1), units: u, until: until})
}

// keepRolling returns the rolling holds of the line the split paid, as
// its ledger keeps them (nil when none).
func (sp *split) keepRolling() *[]rollingHold {
	if len(sp.rolled) == 0 {
		return nil
	}
	hs := slices.Clone(sp.rolled)
	return &hs
}

// collectReserves returns what the leaves' reserves hold of the payments
// of a line on collection (ledger.onPay), in the order they were held.
func (l *ledger) collectReserves() []rollingHold {
	if l.onPay == nil {
		return nil
	}
	return *l.onPay
}

// holds returns what rolling reserves hold of the line's parts.
func (l *ledger) holds() []rollingHold {
	if l.rolling == nil {
		return nil
	}
	return *l.rolling
}

// drawRolling draws on the rolling reserves of the parts a reversal dated
// at takes back from (taken, per part), as the comment at the top of this
// file and PartyReserve say. nl is the new ledger, whose holds it updates
// (a copy: ledgers are never changed in place); by names the reversal, as
// its clawbacks' ids do.
func (r *run) drawRolling(lg, nl *ledger, taken []int64, by string, at time.Time, note string, service ensemble.Period, trace []ensemble.Ref) {
	if lg.rolling == nil {
		return
	}
	hs := slices.Clone(*lg.rolling)
	nl.rolling = &hs
	for k := range hs {
		h := &hs[k]
		i := int(h.part)
		if taken[i] <= 0 || h.units == 0 { // a part given back what it owed holds no reserve
			continue
		}
		// An open dispute of an amount (a credit of what it does not
		// dispute) holds some of the reserve from its release on: that
		// stays, for the dispute's hold and release at the reserve's date.
		claimed := lg.disputeHoldsRolling(i)
		if !h.until.After(at) { // released already: nothing left to draw on
			h.units = min(h.units, claimed)
			continue
		}
		d := min(taken[i], h.units-claimed)
		if d <= 0 {
			continue
		}
		h.units -= d
		pe := lg.payee(i)
		id := partID(by, pe)
		held := lg.entryID(i) + "#rolling"
		c := lg.ctx
		e := Entry{Line: LineID(by), Kind: KindRelease, Party: pe.party, Role: pe.meta.role, Date: at, Plan: *c.plan, Node: pe.meta.node,
			Service: service, Offer: c.offer, Route: c.route, Seller: c.seller, Reverses: held, Trace: trace}
		e.ID, e.Amount, e.Note = EntryID(id+"#rolling.draw"), ensemble.MoneyFromMinor(d, c.cur), "rolling reserve drawn to meet the clawback, "+note
		r.entries = append(r.entries, e)
		e.ID, e.Amount, e.Date = EntryID(id+"#rolling.draw.release"), ensemble.MoneyFromMinor(-d, c.cur), h.until
		e.Note = "scheduled release of the rolling reserve less the draw, " + note
		r.entries = append(r.entries, e)
	}
}

// disputeHoldsRolling returns what lg's open dispute holds of part i's
// rolling reserve from its release on (0 when none is open).
func (lg *ledger) disputeHoldsRolling(i int) int64 {
	if !lg.disputed() {
		return 0
	}
	var u int64
	for _, h := range lg.disputes.atRelease {
		if int(h.part) == i && h.rolling {
			u += h.units
		}
	}
	return u
}

// checkReleases refuses sale l when one of the plan's reserves would
// release what it holds back after the last instant settlement records
// (year 9999): the release entry could not be written as JSON. It is an
// ErrInvalidLine at the line's date.
func (cp *cplan) checkReleases(l *Line) error {
	if cp.reserveDays == 0 || !l.Date.After(cp.lastSafe) {
		return nil
	}
	release := l.Date.AddDate(0, 0, cp.reserveDays)
	if err := checkInstant(release); err == nil {
		return nil
	}
	var p ensemble.Problems
	p.Addf("date", "plan %q holds reserves for up to %d days, which would release after year 9999 (%s): a State and its entries "+
		"are written as JSON, which writes no later date", cp.id, cp.reserveDays, release.UTC().Format(time.DateOnly))
	return fmt.Errorf("%w: %w", ErrInvalidLine, p.Err(fmt.Sprintf("line %q", string(l.ID))))
}

// reserveHold is what one reserve still holds of one part of a line at
// an instant, and when it releases it: the part's leaf's reserve
// (Node.Reserve) or its party's rolling reserve (PartyReserve). An open
// dispute records those it holds from their release dates on (see
// Settler.Dispute).
type reserveHold struct {
	part    int32
	rolling bool // the party's rolling reserve; else the leaf's
	units   int64
	until   time.Time
}

// suffix returns what the ids of the hold and release of dispute seq
// holding h's release end with: "#hold.<seq>.reserve" or
// "#hold.<seq>.rolling" (kind "hold" or "release"); k counts the leaf's
// reserves of the part the dispute holds (one on a line paid on
// settlement; one per payment on collection): the k-th, from the second
// on, ends ".reserve.<k>".
func (h reserveHold) suffix(kind, seq string, k int) string {
	if h.rolling {
		return "#" + kind + "." + seq + ".rolling"
	}
	if k > 1 {
		return "#" + kind + "." + seq + ".reserve." + strconv.Itoa(k)
	}
	return "#" + kind + "." + seq + ".reserve"
}

// leafCounts returns, for each of hs in turn, how many leaf reserves of
// its part hs holds up to it (1 for the first; 0 for a rolling one).
func leafCounts(hs []reserveHold) []int {
	out := make([]int, len(hs))
	seen := map[int32]int{}
	for i, h := range hs {
		if !h.rolling {
			seen[h.part]++
			out[i] = seen[h.part]
		}
	}
	return out
}

// what names h's reserve in notes.
func (h reserveHold) what() string {
	if h.rolling {
		return "the rolling reserve"
	}
	return "the reserve"
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// reservedAt returns what reserves still hold at instant at of the parts
// of line lg, one reserveHold per reserve that holds something and
// releases it after at, in part order, the party's rolling reserve before
// the leaf's (nil when none): the reserve of the part's leaf
// (Node.Reserve), as the split held it; and the party's rolling reserve
// (PartyReserve), less what reversals drew on it. The leaf's reserve is
// worked out from the line's plan version: one the settler does not hold
// is a *PlanVersionError, since what its leaves reserve cannot be known.
func (s *Settler) reservedAt(lg *ledger, at time.Time) ([]reserveHold, error) {
	cp := s.planOf(lg)
	if cp == nil {
		return nil, &PlanVersionError{Line: lg.line, Plan: *lg.ctx.plan, Basis: lg.ctx.basis, Err: ErrUnknownPlanVersion}
	}
	var out []reserveHold
	rolling := lg.holds()
	for i := range lg.parts() {
		for _, h := range rolling {
			if int(h.part) == i && h.units > 0 && h.until.After(at) {
				out = append(out, reserveHold{part: int32(i), rolling: true, units: h.units, until: h.until})
			}
		}
		pe := lg.payee(i)
		if lg.coll != nil && !lg.coll.onSettlement {
			// On collection a leaf's reserve holds a share of each
			// payment, released its days after it (ledger.onPay; none in
			// a state written before it was kept: the dispute then holds
			// what was made payable, the reserves' share included).
			for _, h := range lg.collectReserves() {
				if int(h.part) == i && h.units > 0 && h.until.After(at) {
					out = append(out, reserveHold{part: int32(i), units: h.units, until: h.until})
				}
			}
			continue
		}
		if pe.meta.kind != KindEarning {
			continue
		}
		n := cp.node(pe.meta.node)
		switch {
		case n == nil || !n.leaf || n.reserve == nil || n.reserve.Ratio.IsZero():
			continue
		case pe.meta.role == "platform" && !alwaysPaid(n.role, s.platform):
			continue // the platform paid as the leaf's fallback: the split reserved nothing
		}
		until := lg.date.AddDate(0, 0, n.reserve.Days)
		if u := reserveUnits(n, lg.units(i)); u > 0 && until.After(at) {
			out = append(out, reserveHold{part: int32(i), units: u, until: until})
		}
	}
	return out, nil
}

// node returns the plan's node of path ("root/channel/reseller"), or nil.
func (cp *cplan) node(path string) *cnode {
	n := cp.root
	if n == nil || !strings.HasPrefix(path, n.path) {
		return nil
	}
	for n.path != path {
		var next *cnode
		for _, c := range n.children {
			if c.path == path || strings.HasPrefix(path, c.path+"/") {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// planOf returns the plan version line lg was settled under, or nil when
// the settler does not hold it.
func (s *Settler) planOf(lg *ledger) *cplan {
	for _, p := range s.plans {
		if p.ref == *lg.ctx.plan {
			return p
		}
	}
	return nil
}
