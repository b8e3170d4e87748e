package settlement_test

// The reference settler's collections (see reference_test.go): a line of a
// plan payable on collection holds each part back until the customer pays;
// a payment makes the same fraction of the basis payable, allocated over
// what each part awaits; a write-off reverses that fraction from what each
// part awaits (or as a credit does, when it has a bearer); any reversal
// comes off what awaits payment first. Written from the documentation of
// Collect, WriteOff and Payable, with rationals and a search where the
// settler has closed forms.

import (
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// refCollection is what a line on collection records; each part's
// awaiting amount is on the part.
type refCollection struct {
	onSettlement bool // a line paid on settlement: its balance as a line of its invoice, nothing awaiting
	invoice      string
	total        int64 // amount + tax
	collected    int64
	writtenOff   int64
	unfunded     int64 // of writtenOff, netted credits nothing funded
	credited     int64 // of the total, what credit notes and lost disputes took off (at most the total)
	clawed       int64 // of the basis, what write-offs clawed back
	ids          []string
	pending      []refPending // of credited, credits netted here before their credited line was paid in full
	lentTo       []string     // the invoices this line's credits were so netted on
	setOff       int64        // of credited, credits of lines paid on settlement netted here: no payment, nothing pending
}

// refPending is what credit credit of line from took off a line's
// balance, netted before the customer paid from in full.
type refPending struct {
	credit, from settlement.LineID
	units        int64
}

// addPending records units of credit of line from pending on c (c's
// pending slice is c's own).
func (c *refCollection) addPending(credit, from settlement.LineID, units int64) {
	for i := range c.pending {
		if c.pending[i].credit == credit && c.pending[i].from == from {
			c.pending[i].units += units
			return
		}
	}
	c.pending = append(c.pending, refPending{credit, from, units})
}

// owed is what the customer still owes, never below zero.
func (c *refCollection) owed() int64 {
	return max(0, c.total-c.collected-c.writtenOff-c.credited)
}

// done reports whether nothing is left to come on the line: nothing owed,
// no credit pending (whose share stays held back until it is funded).
func (c *refCollection) done() bool { return c.owed() == 0 && len(c.pending) == 0 }

// pendingSum is what the credits pending on the line took off.
func (c *refCollection) pendingSum() int64 {
	var s int64
	for _, p := range c.pending {
		s += p.units
	}
	return s
}

// paidInFull reports whether the customer paid all line id was worth:
// nothing owed, nothing written off, and every credit pending on it from
// a line paid in full (a line met again on the way is taken to be: lines
// owing nothing but each other's pending credits pay each other).
func (st *refState) paidInFull(id settlement.LineID) bool { return st.closed(id, true) }

// closed reports whether line id owes nothing and every credit pending on
// it comes from a closed line (a line met again on the way is taken to
// be); with paid, nothing written off on any of them either.
func (st *refState) closed(id settlement.LineID, paid bool, path ...settlement.LineID) bool {
	lg, ok := st.lines[id]
	switch {
	case !ok || lg.coll == nil || lg.coll.owed() != 0 || paid && lg.coll.writtenOff != 0:
		return false
	case slices.Contains(path, id):
		return true
	}
	for _, p := range lg.coll.pending {
		if !st.closed(p.from, paid, append(slices.Clone(path), id)...) {
			return false
		}
	}
	return true
}

// json returns the State's JSON form of c (nil for none).
func (c *refCollection) json(cur ensemble.Currency) *settlement.LedgerCollection {
	if c == nil {
		return nil
	}
	m := func(u int64) ensemble.Money { return ensemble.MoneyFromMinor(u, cur) }
	out := &settlement.LedgerCollection{Invoice: c.invoice, Total: m(c.total), Collected: m(c.collected), WrittenOff: m(c.writtenOff),
		IDs: slices.Clone(c.ids)}
	if c.credited != 0 {
		out.Credited = m(c.credited)
	}
	if c.clawed != 0 {
		out.WriteOffClawback = m(c.clawed)
	}
	for _, p := range c.pending {
		out.Pending = append(out.Pending, settlement.PendingCredit{Credit: p.credit, Line: p.from, Amount: m(p.units)})
	}
	out.LentTo = slices.Clone(c.lentTo)
	if c.unfunded != 0 {
		out.Unfunded = m(c.unfunded)
	}
	if c.setOff != 0 {
		out.SetOff = m(c.setOff)
	}
	return out
}

// refShare is the share of the basis that s of the line's total stands
// for: basis × s / total, to the nearest unit, a half up for payments and
// down for write-offs (writeOff).
func (lg *refLedger) refShare(s int64, writeOff bool) int64 {
	if lg.coll.total == 0 {
		return 0
	}
	x := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(lg.basis), big.NewInt(s)), big.NewInt(lg.coll.total))
	if writeOff { // ceil(x - 1/2)
		x.Sub(x, big.NewRat(1, 2))
		q, r := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
		if r.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
		return q.Int64()
	}
	x.Add(x, big.NewRat(1, 2)) // floor(x + 1/2)
	return new(big.Int).Quo(x.Num(), x.Denom()).Int64()
}

func (lg *refLedger) awaitingSum() int64 {
	var a int64
	for _, p := range lg.parts {
		a += p.awaiting
	}
	return a
}

// undisputedOwed returns, of a line an open dispute of an amount holds,
// the share of its total the amount stands for (total × amount / basis,
// half up) and what the customer owes beyond it (never below zero).
func (lg *refLedger) undisputedOwed() (disputed, undisputed int64) {
	disputed = lg.coll.total
	if lg.basis != 0 {
		x := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(lg.coll.total), big.NewInt(min(lg.disputedAmt, lg.basis-lg.credited))), big.NewInt(lg.basis))
		x.Add(x, big.NewRat(1, 2))
		disputed = new(big.Int).Quo(x.Num(), x.Denom()).Int64()
	}
	return disputed, max(0, lg.owedNow()-disputed)
}

// owedNow is the most the customer can still pay on the line, or the
// host write off: what it still owes.
func (lg *refLedger) owedNow() int64 { return lg.coll.owed() }

// awaitCollection holds back each part of a line just settled.
func (lg *refLedger) awaitCollection(l settlement.Line) []settlement.Entry {
	lg.coll = &refCollection{invoice: l.Invoice, total: minorOf(l.Amount) + minorOf(l.Tax)}
	var out []settlement.Entry
	for i := range lg.parts {
		p := &lg.parts[i]
		p.awaiting = p.amount
		if p.amount != 0 {
			out = append(out, lg.collectEntry(*p, string(lg.line)+":"+p.path+"#uncollected", lg.line, settlement.KindUncollected, p.amount, 0, p.amount, l.Date,
				"payable when the customer pays", lg.trace))
		}
	}
	return out
}

// collectEntry is an entry of units of part p that moves what it awaits
// from from to to.
func (lg *refLedger) collectEntry(p refPart, id string, line settlement.LineID, kind settlement.EntryKind, units, from, to int64, at time.Time, note string, trace []ensemble.Ref) settlement.Entry {
	amount, conv := p.pays(units, from, to, lg.cur)
	return settlement.Entry{ID: settlement.EntryID(id), Line: line, Kind: kind, Party: p.party, Role: p.role, Amount: amount,
		Date: at, Plan: lg.plan, Node: p.node, Service: lg.service, Offer: lg.offer, Route: lg.route, Seller: lg.seller,
		Reverses: settlement.EntryID(string(lg.line) + ":" + p.path), Note: note, Conversion: conv, Trace: trace}
}

// releaseAwaiting follows a reversal that took taken (per part): the line
// now holds back max(0, basis - credits (write-offs aside) - share paid or
// written off); each part gives up what it awaited of its own reversal
// first, and the rest of the drop comes from what the others still await,
// in proportion.
func (lg *refLedger) releaseAwaiting(taken []int64, by string, at time.Time, note string, trace []ensemble.Ref) []settlement.Entry {
	c := lg.coll
	if c == nil {
		return nil
	}
	want := max(0, lg.basis-lg.credited-lg.refShare(c.collected, false))
	if c.done() {
		want = 0
	}
	if lg.disputed && lg.disputedAmt != 0 { // a dispute of part of it: what awaited when it opened still does
		want = lg.awaitingSum()
	} else if lg.disputed { // a dispute holds what was payable: what is paid meanwhile awaits its end
		want = 0
		for _, p := range lg.parts {
			want += p.unreversed - p.held - p.byReserves
		}
		want = max(0, want)
	}
	if c.onSettlement { // paid on settlement: nothing awaits
		want = 0
	}
	drop := lg.awaitingSum() - want
	gives := make([]int64, len(lg.parts))
	var own int64
	for i, p := range lg.parts {
		gives[i] = min(taken[i], p.awaiting)
		own += gives[i]
	}
	if drop > own {
		shares := make([]ensemble.Share, len(lg.parts))
		for i, p := range lg.parts {
			shares[i] = ensemble.Share{Key: string(lg.line) + ":" + p.path, Weight: ensemble.RatioFromInt(p.awaiting - gives[i])}
		}
		more := make([]int64, len(lg.parts))
		if err := ensemble.AllocateUnits(more, drop-own, shares, ensemble.AllocateOptions{}); err != nil {
			panic(err) // the rest never exceeds what they await
		}
		for i := range gives {
			gives[i] += more[i]
		}
	}
	var out []settlement.Entry
	for i := range lg.parts {
		p := &lg.parts[i]
		if gives[i] == 0 {
			continue
		}
		p.awaiting -= gives[i]
		suffix := ", off what awaits the customer's payment"
		if taken[i] == 0 {
			suffix = ", not borne by this party: what it awaits of the customer's payment is cut to what the customer still owes"
		}
		id := by + ":" + p.path + "#uncollected"
		out = append(out, lg.collectEntry(*p, id, settlement.LineID(by), settlement.KindUncollected, -gives[i], p.awaiting+gives[i], p.awaiting, at,
			note+suffix, trace))
		// What the release makes payable beyond the part's own reversal
		// (a credit or write-off others bore) is reserved as a payment is.
		out = append(out, lg.onPayReserve(p, id, settlement.LineID(by), gives[i]-taken[i], note, at, trace)...)
	}
	return out
}

// Collect applies a payment (or, writeOff, a write-off) to the state, as
// Settler.Collect and Settler.WriteOff do.
func (s *refSettler) Collect(c settlement.Collection, writeOff bool) ([]settlement.Entry, error) {
	fail := func(line settlement.LineID, err error) ([]settlement.Entry, error) {
		return nil, &settlement.CollectionError{Collection: c.ID, Line: line, Err: err}
	}
	amount, err := c.Amount.MinorUnits()
	switch {
	case ensemble.CheckID(c.ID, ensemble.EntrySeparators) != nil, c.Date.IsZero(), c.Amount.Currency().IsZero(), err != nil, amount <= 0,
		(c.Invoice == "") == (len(c.Lines) == 0), !writeOff && !c.Bearer.IsZero():
		return fail("", settlement.ErrInvalidCollection)
	}
	for i, id := range c.Lines {
		if slices.Contains(c.Lines[:i], id) {
			return fail("", settlement.ErrInvalidCollection)
		}
	}
	ids := slices.Sorted(slices.Values(c.Lines))
	held := slices.Sorted(maps.Keys(s.state.lines))
	if c.Invoice != "" {
		for _, id := range held {
			if lg := s.state.lines[id]; lg.coll != nil && lg.coll.invoice == c.Invoice {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return fail("", settlement.ErrInvalidCollection)
		}
	}
	for _, id := range held {
		if lg := s.state.lines[id]; lg.coll != nil && slices.Contains(lg.coll.ids, c.ID) {
			return fail(id, settlement.ErrCollectionApplied)
		}
	}
	if c.Invoice != "" { // an invoice's disputed lines take none of it (those disputed in part, of a payment, what they do not dispute)
		undisputed := slices.DeleteFunc(slices.Clone(ids), func(id settlement.LineID) bool {
			lg := s.state.lines[id]
			return lg.disputed && (writeOff || lg.disputedAmt == 0)
		})
		if len(undisputed) == 0 {
			return fail(ids[0], settlement.ErrDisputed)
		}
		ids = undisputed
	}
	owed := make([]int64, len(ids))
	var all, allOwed int64
	var short settlement.LineID
	var shortErr error
	for i, id := range ids {
		lg, ok := s.state.lines[id]
		switch {
		case !ok:
			return fail(id, settlement.ErrUnknownLine)
		case lg.coll == nil:
			return fail(id, settlement.ErrNotOnCollection)
		case lg.disputed && (writeOff || lg.disputedAmt == 0):
			return fail(id, settlement.ErrDisputed)
		case lg.cur != c.Amount.Currency():
			return fail(id, settlement.ErrCurrency)
		case c.Date.Before(lg.date): // paid (or given up) before it was billed
			return fail(id, settlement.ErrInvalidCollection)
		}
		owed[i] = lg.owedNow()
		allOwed += owed[i]
		if lg.disputed { // a dispute of an amount: what it owes beyond the share of its total disputed
			disputed, u := lg.undisputedOwed()
			if u < owed[i] {
				owed[i] = u
				if short == "" {
					short = id
					shortErr = &settlement.DisputedAmountError{Line: id, Payment: true, Disputed: ensemble.MoneyFromMinor(disputed, lg.cur),
						Undisputed: ensemble.MoneyFromMinor(u, lg.cur), Asked: c.Amount}
				}
			}
		}
		all += owed[i]
	}
	if amount > all && short != "" && amount <= allOwed {
		return fail(short, shortErr)
	}
	if amount > all {
		return fail("", settlement.ErrOverCollection)
	}
	paid := byOwed(owed, amount, ids)
	st := s.state.clone()
	at := c.Date.UTC()
	var out []settlement.Entry
	if !writeOff {
		out = st.payLines(ids, owed, amount, c.ID, at)
	}
	for i, id := range ids {
		if !writeOff || paid[i] == 0 {
			continue
		}
		back, err := st.writeOffLine(id, paid[i], c.ID, at, c.Bearer)
		if err != nil {
			return fail(id, err)
		}
		out = append(out, back...)
	}
	for _, id := range ids { // a line now owing nothing settles the credits it lent
		back, err := st.settleLent(id, at)
		if err != nil {
			return fail(id, err)
		}
		out = append(out, back...)
	}
	s.state = st
	return out, nil
}

// writeOffLine writes lost off line id as write-off c: the share of the
// basis it stands for (half down), within what awaits; all that awaits
// once nothing is owed, but the share of the credits pending on the line.
func (st *refState) writeOffLine(id settlement.LineID, lost int64, c string, at time.Time, b settlement.Bearer) ([]settlement.Entry, error) {
	lg, trace := st.applying(id, c)
	at = refLater(at, lg.date.UTC()) // a credit pending on the line, unfunded, may be dated before it
	cl := lg.coll
	var lent int64 // what the line's credits left pending elsewhere: written off first
	for _, y := range st.lines {
		if y.coll != nil {
			for _, p := range y.coll.pending {
				if p.from == id {
					lent += p.units
				}
			}
		}
	}
	x := min(lg.awaitingSum(), lg.refShare(max(0, cl.writtenOff+lost-lent), true)-lg.refShare(max(0, cl.writtenOff-lent), true))
	cl.writtenOff += lost
	if strings.HasSuffix(c, "#unfunded") {
		cl.unfunded += lost
	}
	if cl.owed() == 0 && !lg.disputed { // nothing owed any more: nothing awaits but what pending credits will pay (a dispute's end releases what it held)
		x = lg.awaitingSum() - min(lg.awaitingSum(), lg.refShare(cl.pendingSum(), false))
	}
	if cl.onSettlement { // its parties were paid on settlement: nothing to claw back
		st.lines[id] = lg
		return nil, nil
	}
	note := "write-off " + c + " of " + ensemble.MoneyFromMinor(lost, lg.cur).String()
	if credit, ok := strings.CutSuffix(c, "#unfunded"); ok {
		note = "credit " + credit + " netted on invoice " + cl.invoice + ", unfunded (its credited line was not paid in full): " +
			ensemble.MoneyFromMinor(lost, lg.cur).String() + " written off"
	}
	credited := lg.credited
	back, err := lg.reverse(x, string(id)+"#writeoff."+c, at, note, trace, lg.service, b, true, nil)
	if err != nil {
		return nil, err
	}
	lg.coll.clawed += lg.credited - credited // with what awaited a payment no longer owed
	st.takeBack(lg, credited)
	st.lines[id] = lg
	return back, nil
}

// byOwed splits amount over the lines ids in proportion to what they
// owe, owed (largest remainder, ties by line id).
func byOwed(owed []int64, amount int64, ids []settlement.LineID) []int64 {
	shares := make([]ensemble.Share, len(ids))
	for i, id := range ids {
		shares[i] = ensemble.Share{Key: string(id), Weight: ensemble.RatioFromInt(owed[i])}
	}
	paid := make([]int64, len(ids))
	if err := ensemble.AllocateUnits(paid, amount, shares, ensemble.AllocateOptions{}); err != nil {
		panic(err) // amount is at most what they owe
	}
	return paid
}

// applying returns a copy of line id for collection c to change, c
// recorded on it, and the trace its entries carry.
func (st *refState) applying(id settlement.LineID, c string) (refLedger, []ensemble.Ref) {
	lg := st.lines[id]
	lg.parts = slices.Clone(lg.parts)
	cl := *lg.coll
	cl.ids = append(slices.Clone(cl.ids), c)
	lg.coll = &cl
	return lg, append(slices.Clone(lg.trace), ensemble.Ref{Kind: settlement.RefLine, ID: string(lg.line)})
}

// creditLines takes amount of a credit netted on the lines ids' invoice
// off what they owe (owed), in proportion, recorded pending on each as
// src (none when src.from is empty); a line then owed nothing is released
// all that awaits, as collection id.
func (st *refState) creditLines(ids []settlement.LineID, owed []int64, amount int64, id string, at time.Time, src refPending) []settlement.Entry {
	taken := byOwed(owed, amount, ids)
	var out []settlement.Entry
	for i, lid := range ids {
		if taken[i] == 0 {
			continue
		}
		lg := st.lines[lid]
		cl := *lg.coll
		cl.credited = min(cl.total, cl.credited+taken[i])
		if src.from != "" {
			cl.pending = slices.Clone(cl.pending)
			cl.addPending(src.credit, src.from, taken[i])
		} else {
			cl.setOff += taken[i] // a credit of a line paid on settlement: set off, no payment
		}
		lg.coll = &cl
		st.lines[lid] = lg
		if cl.done() && lg.awaitingSum() > 0 {
			lg, trace := st.applying(lid, id)
			out = append(out, lg.collectLine(0, id, at, trace)...)
			st.lines[lid] = lg
		}
	}
	return out
}

// settleLent settles what line id's credits left pending on the lines
// of the invoices it lent to, once id owes nothing and holds no pending
// credit itself (or is paid in full): what the customer paid for id
// beyond its value net of them funds them (all of them when paid in
// full; what was written off of id is theirs first), in proportion to
// their amounts (largest remainder, by line and credit): each funded
// part moves from credited to collected, as collection "<credit>#funded";
// the rest is written off there, as write-off "<credit>#unfunded". Each
// line so settled then settles what it lent; a disputed line too.
func (st *refState) settleLent(id settlement.LineID, at time.Time) ([]settlement.Entry, error) {
	var out []settlement.Entry
	for work := []settlement.LineID{id}; len(work) > 0; work = work[1:] {
		id := work[0]
		lg := st.lines[id]
		if lg.coll == nil || len(lg.coll.lentTo) == 0 || lg.coll.owed() != 0 {
			continue
		}
		paid := st.paidInFull(id)
		if !paid && !st.closed(id, false) {
			continue
		}
		first := settlement.LineID("") // a line lending to it that it does not lend to settles first
		for _, p := range lg.coll.pending {
			if first == "" && !st.lendsTo(id, p.from, map[settlement.LineID]bool{}) {
				first = p.from
			}
		}
		if first != "" {
			work = append(work, first)
			continue
		}
		var kept []string // invoices held by another part of a split state
		var recs []ensemble.Share
		var lent int64
		for _, inv := range lg.coll.lentTo {
			if !slices.ContainsFunc(slices.Collect(maps.Values(st.lines)), func(y refLedger) bool { return y.coll != nil && y.coll.invoice == inv }) {
				kept = append(kept, inv)
			}
		}
		var ys []settlement.LineID
		for _, yid := range slices.Sorted(maps.Keys(st.lines)) {
			y := st.lines[yid]
			if y.coll == nil || !slices.Contains(lg.coll.lentTo, y.coll.invoice) {
				continue
			}
			held := false
			for _, p := range y.coll.pending {
				if p.from == id {
					recs = append(recs, ensemble.Share{Key: string(yid) + "#" + string(p.credit), Weight: ensemble.RatioFromInt(p.units)})
					lent += p.units
					held = true
				}
			}
			if held {
				ys = append(ys, yid)
			}
		}
		funds := lent
		if c := lg.coll; !paid { // credits pending on it are no payment of it yet
			funds = min(lent, max(0, c.collected-(c.total-(c.credited-c.pendingSum())-lent)))
		}
		parts := make([]int64, len(recs))
		if funds > 0 {
			if err := ensemble.AllocateUnits(parts, funds, recs, ensemble.AllocateOptions{}); err != nil {
				panic(err)
			}
		}
		k := 0
		for _, yid := range ys {
			funded := map[settlement.LineID]int64{}
			for _, p := range st.lines[yid].coll.pending {
				if p.from == id {
					funded[p.credit], k = parts[k], k+1
				}
			}
			back, err := st.settleLine(yid, id, funded, at)
			if err != nil {
				return nil, err
			}
			out = append(out, back...)
			work = append(work, yid)
		}
		lg = st.lines[id]
		cl := *lg.coll
		cl.lentTo = kept
		lg.coll = &cl
		st.lines[id] = lg
	}
	return out, nil
}

// lendsTo reports whether a credit of line from is pending on line to or
// on a line lending to it, however indirectly.
func (st *refState) lendsTo(from, to settlement.LineID, seen map[settlement.LineID]bool) bool {
	y, ok := st.lines[to]
	if !ok || y.coll == nil || seen[to] {
		return false
	}
	seen[to] = true
	for _, p := range y.coll.pending {
		if p.from == from || st.lendsTo(from, p.from, seen) {
			return true
		}
	}
	return false
}

// settleInvoices settles what line id lent, then what each line of
// invoices invs lent, in line id order.
func (st *refState) settleInvoices(id settlement.LineID, at time.Time, invs ...string) ([]settlement.Entry, error) {
	out, err := st.settleLent(id, at)
	if err != nil {
		return nil, err
	}
	for _, inv := range invs {
		for _, yid := range slices.Sorted(maps.Keys(st.lines)) {
			if y := st.lines[yid]; inv != "" && y.coll != nil && y.coll.invoice == inv {
				back, err := st.settleLent(yid, at)
				if err != nil {
					return nil, err
				}
				out = append(out, back...)
			}
		}
	}
	return out, nil
}

// settleLine settles on line yid each credit of line from it holds
// pending: funded[credit] of it is paid ("<credit>#funded"), the rest
// written off ("<credit>#unfunded"), on a disputed line too.
func (st *refState) settleLine(yid, from settlement.LineID, funded map[settlement.LineID]int64, at time.Time) (out []settlement.Entry, _ error) {
	for _, p := range slices.Clone(st.lines[yid].coll.pending) {
		if p.from != from {
			continue
		}
		f := funded[p.credit]
		if u := p.units - f; u > 0 {
			y := st.lines[yid]
			cl := *y.coll
			cl.credited -= u
			cl.pending = slices.DeleteFunc(slices.Clone(cl.pending), func(q refPending) bool { return q == p })
			if f > 0 {
				cl.pending = append(cl.pending, refPending{p.credit, from, f})
			}
			y.coll = &cl
			st.lines[yid] = y
			// A write-off without a bearer reverses what awaits, but a
			// clawback window's bearer may have no part of the line (a
			// party it does not pay): refused, as the settler refuses it.
			back, err := st.writeOffLine(yid, u, string(p.credit)+"#unfunded", at, settlement.Bearer{})
			if err != nil {
				return nil, err
			}
			out = append(out, back...)
		}
		if f == 0 {
			continue
		}
		if st.lines[yid].disputed { // paid, released when the dispute is resolved
			y, _ := st.applying(yid, string(p.credit)+"#funded")
			y.coll.credited -= f
			y.coll.collected += f
			y.coll.pending = slices.DeleteFunc(slices.Clone(y.coll.pending), func(q refPending) bool { return q.credit == p.credit && q.from == from })
			st.lines[yid] = y
			continue
		}
		y, trace := st.applying(yid, string(p.credit)+"#funded")
		y.coll.credited -= f
		y.coll.pending = slices.DeleteFunc(slices.Clone(y.coll.pending), func(q refPending) bool { return q.credit == p.credit && q.from == from })
		out = append(out, y.collectLine(f, string(p.credit)+"#funded", at, trace)...)
		st.lines[yid] = y
	}
	return out, nil
}

// payLines pays amount of collection id, at most what the lines ids owe
// (owed), to them in proportion to what they owe.
func (st *refState) payLines(ids []settlement.LineID, owed []int64, amount int64, id string, at time.Time) []settlement.Entry {
	paid := byOwed(owed, amount, ids)
	var out []settlement.Entry
	for i, lid := range ids {
		if paid[i] == 0 {
			continue
		}
		lg, trace := st.applying(lid, id)
		out = append(out, lg.collectLine(paid[i], id, at, trace)...)
		st.lines[lid] = lg
	}
	return out
}

// collect applies a payment drawn against the reference's lines (see
// drawCollection) with both settlers.
func (m *refMachine) collect(t *rapid.T) { m.applyCollection(t, false) }

// writeOff writes off an amount drawn as a payment is, borne now and then
// by a bearer.
func (m *refMachine) writeOff(t *rapid.T) { m.applyCollection(t, true) }

func (m *refMachine) applyCollection(t *rapid.T, writeOff bool) {
	m.wait(t)
	c := m.drawCollection(t, writeOff)
	want, wantErr := m.ref.Collect(c, writeOff)
	var res settlement.Result
	var err error
	if writeOff {
		res, err = m.real.WriteOff(m.st, c)
	} else {
		res, err = m.real.Collect(m.st, c)
	}
	requireSameCollectionError(t, err, wantErr)
	if err == nil {
		requireSameEntries(t, res.Entries, want)
		if writeOff && c.Bearer.IsZero() {
			requireKeepsWhatWasCollected(t, res.Entries)
		}
		m.st = res.State
		m.collections = append(m.collections, c.ID)
	}
}

// requireKeepsWhatWasCollected requires a write-off with no bearer to take
// from each party exactly what it no longer awaits: its clawbacks and its
// drop in what awaits payment (KindUncollected) are equal, so what was
// collected for it and made payable stays, to the cent of the line's
// currency. (A supplier cost owed in another currency measures the two in
// its own currency on two levels, what it has unreversed and what awaits,
// each rounded on its own: there they may differ by a unit.)
//
// After a clawback window, a kept part gives back nothing while what it
// awaited of the written-off amount no longer awaits (the customer will
// not pay it: it is the partner's to keep, and payable), and the window's
// bearer gives back its share on top of its own, beyond the drop in what
// it awaits: the bearer funds what the kept part keeps. There each party
// whose clawback bears what kept parts keep gives back at least its drop,
// every other party at most its drop, and the two add up alike.
func requireKeepsWhatWasCollected(t *rapid.T, entries []settlement.Entry) {
	taken, released := map[partner.ID]int64{}, map[partner.ID]int64{}
	bears := map[partner.ID]bool{} // the window bearers
	for _, e := range entries {
		switch e.Kind {
		case settlement.KindClawback:
			taken[e.Party] += minorOf(e.LineAmount())
			if strings.HasPrefix(e.Share, "bears what ") {
				bears[e.Party] = true
			}
		case settlement.KindUncollected:
			released[e.Party] += minorOf(e.LineAmount())
		case settlement.KindCollected:
			// A line the write-off closed funds the credits it lent with
			// what the customer paid for it beyond its value.
			require.Contains(t, string(e.ID), "#funded", "write-off entry %s of kind %s", e.ID, e.Kind)
		default:
			t.Fatalf("write-off entry %s of kind %s", e.ID, e.Kind)
		}
	}
	if len(bears) == 0 {
		require.Equal(t, taken, released, "a write-off's clawbacks per party (left) and its drop in what awaits payment (right)")
		return
	}
	var sumTaken, sumReleased int64
	for p := range maps.Keys(taken) {
		sumTaken += taken[p]
	}
	for p := range maps.Keys(released) {
		sumReleased += released[p]
	}
	require.Equal(t, sumReleased, sumTaken, "a write-off's clawbacks and its drop in what awaits payment, in all")
	for _, p := range slices.Sorted(maps.Keys(released)) {
		// (amounts are negative: a bearer's clawbacks are at most its drop)
		if bears[p] {
			require.LessOrEqual(t, taken[p], released[p], "bearer %s gives back at least its drop in what awaits", p)
		} else {
			require.GreaterOrEqual(t, taken[p], released[p], "%s gives back at most its drop in what awaits", p)
		}
	}
	for p := range maps.Keys(taken) {
		_, ok := released[p]
		require.True(t, ok || bears[p], "%s gives back %d awaiting nothing", p, taken[p])
	}
}

// drawCollection draws a payment of the lines of an invoice, or of one to
// three lines that owe something (now and then any line, or an unknown
// one), of what they owe, part of it, or a cent more; with a fresh id, or
// now and then one applied before; dated on or after the lines it pays, or
// now and then at the machine's instant, which may be before them.
func (m *refMachine) drawCollection(t *rapid.T, writeOff bool) settlement.Collection {
	var owing []settlement.LineID
	invoices := []string{"INV-C"} // no line's
	for _, id := range slices.Sorted(maps.Keys(m.ref.state.lines)) {
		if lg := m.ref.state.lines[id]; lg.coll != nil && (!lg.disputed || !writeOff && lg.disputedAmt != 0) && lg.owedNow() > 0 {
			owing = append(owing, id)
			if lg.coll.invoice != "" && !slices.Contains(invoices, lg.coll.invoice) {
				invoices = append(invoices, lg.coll.invoice)
			}
		}
	}
	if len(owing) == 0 && rapid.IntRange(0, 9).Draw(t, "collection.none") != 0 {
		t.Skip("no line owes a payment")
	}
	c := settlement.Collection{ID: fmt.Sprintf("P%03d", len(m.collections)+1), Date: m.now}
	if len(m.collections) > 0 && rapid.IntRange(0, 9).Draw(t, "collection.again") == 0 {
		c.ID = rapid.SampledFrom(m.collections).Draw(t, "collection.id")
	}
	if len(owing) == 0 || rapid.IntRange(0, 2).Draw(t, "collection.by_invoice") == 0 {
		c.Invoice = rapid.SampledFrom(invoices).Draw(t, "collection.invoice")
	} else {
		c.Lines = rapid.SliceOfNDistinct(rapid.SampledFrom(owing), 1, 3, rapid.ID[settlement.LineID]).Draw(t, "collection.lines")
		if rapid.IntRange(0, 9).Draw(t, "collection.any") == 0 {
			if id := m.pickLine(t, func(refLedger) bool { return true }); !slices.Contains(c.Lines, id) {
				c.Lines = append(c.Lines, id)
			}
		}
	}
	var owed int64
	cur := ensemble.MustCurrency("EUR")
	var last time.Time // of the lines it pays
	for _, id := range slices.Sorted(maps.Keys(m.ref.state.lines)) {
		lg := m.ref.state.lines[id]
		if lg.coll != nil && (slices.Contains(c.Lines, id) || c.Invoice != "" && lg.coll.invoice == c.Invoice) {
			last = refLater(last, lg.date)
			switch {
			case !lg.disputed:
				owed += lg.owedNow()
				cur = lg.cur
			case !writeOff && lg.disputedAmt != 0: // a payment of what is not disputed
				_, u := lg.undisputedOwed()
				owed += u
				cur = lg.cur
			}
		}
	}
	// Received once the lines were billed, or now and then at the
	// machine's instant, before some of them (refused).
	if rapid.IntRange(0, 9).Draw(t, "collection.now") != 0 {
		c.Date = inZone(t, refLater(c.Date, last).AddDate(0, 0, rapid.IntRange(0, 30).Draw(t, "collection.days")), "collection.date")
	}
	switch k := rapid.IntRange(0, 9).Draw(t, "collection.size"); {
	case k == 0:
		owed++
	case k < 5:
	default:
		owed = rapid.Int64Range(1, max(owed, 1)).Draw(t, "collection.amount")
	}
	c.Amount = ensemble.MoneyFromMinor(max(owed, 1), cur)
	if writeOff && len(c.Lines) == 1 {
		if lg, ok := m.ref.state.lines[c.Lines[0]]; ok {
			c.Bearer = drawBearer(t, lg, "collection")
		}
	}
	return c
}

// requireSameDisputedAmount requires got to report the figures of a
// payment or credit reaching into a disputed amount the reference did,
// when it did.
func requireSameDisputedAmount(t *rapid.T, got, want error) {
	var w *settlement.DisputedAmountError
	if !errors.As(want, &w) {
		return
	}
	var g *settlement.DisputedAmountError
	require.ErrorAs(t, got, &g, "%v", got)
	require.Equal(t, w.Error(), g.Error())
}

// requireSameCollectionError requires got to fail as the reference did
// (want): on the same collection and line, with the same condition.
func requireSameCollectionError(t *rapid.T, got, want error) {
	if want == nil {
		require.NoError(t, got, "the reference applies it")
		return
	}
	require.Error(t, got, "the reference refuses it: %v", want)
	var g, w *settlement.CollectionError
	require.ErrorAs(t, want, &w)
	require.ErrorAs(t, got, &g, "%v", got)
	require.Equal(t, w.Collection, g.Collection)
	require.Equal(t, w.Line, g.Line, "got %v, want %v", got, want)
	requireSameDisputedAmount(t, got, want)
	for _, c := range append(slices.Clone(refConditions), settlement.ErrInvalidCollection, settlement.ErrOverCollection,
		settlement.ErrCollectionApplied, settlement.ErrNotOnCollection) {
		require.Equal(t, errors.Is(want, c), errors.Is(got, c), "%v: got %v, want %v", c, got, want)
	}
}

// collectLine applies a payment of paid to the line: each part should
// have payable its largest-remainder allocation of the share of the basis
// paid in all, over what the parts have unreversed; it is released what it lacks of
// that, as far as it awaits; more than the payment's share is cut back in
// proportion to the releases, less is made up from what the parts still
// await, in proportion.
func (lg *refLedger) collectLine(paid int64, id string, at time.Time, trace []ensemble.Ref) []settlement.Entry {
	before := lg.refShare(lg.coll.collected, false)
	lg.coll.collected += paid
	after := lg.refShare(lg.coll.collected, false)
	return lg.releasePaid(after, min(after-before, lg.awaitingSum()), id, at, trace)
}

// catchUp releases what the line awaits beyond what it should (what was
// paid while a dispute held it), as collection id, the dispute's.
func (lg *refLedger) catchUp(id string, at time.Time, trace []ensemble.Ref) []settlement.Entry {
	want := max(0, lg.basis-lg.credited-lg.refShare(lg.coll.collected, false))
	if lg.coll.done() || lg.coll.onSettlement {
		want = 0
	}
	x := lg.awaitingSum() - want
	if x <= 0 {
		return nil
	}
	return lg.releasePaid(lg.refShare(lg.coll.collected, false), x, id, at, trace)
}

// releasePaid releases x of what the parts await toward their shares of
// after, the share of the basis paid (all of it once nothing is left),
// dated at, or at the line's date when later (a netted credit dated
// before the line it pays).
func (lg *refLedger) releasePaid(after, x int64, id string, at time.Time, trace []ensemble.Ref) []settlement.Entry {
	at = refLater(at, lg.date.UTC())
	if lg.coll.done() { // paid in full: everything awaiting is released
		x = lg.awaitingSum()
	}
	if x == 0 {
		return nil
	}
	split := func(total int64, weight func(p refPart, i int) int64) []int64 {
		shares := make([]ensemble.Share, len(lg.parts))
		for i, p := range lg.parts {
			shares[i] = ensemble.Share{Key: string(lg.line) + ":" + p.path, Weight: ensemble.RatioFromInt(weight(p, i))}
		}
		out := make([]int64, len(lg.parts))
		if total > 0 {
			if err := ensemble.AllocateUnits(out, total, shares, ensemble.AllocateOptions{}); err != nil {
				panic(err)
			}
		}
		return out
	}
	target := split(after, func(p refPart, _ int) int64 { return p.unreversed })
	release := make([]int64, len(lg.parts))
	var sum int64
	for i, p := range lg.parts {
		release[i] = min(p.awaiting, max(0, target[i]-(p.unreversed-p.awaiting)))
		if lg.coll.done() {
			release[i] = p.awaiting
		}
		sum += release[i]
	}
	if sum > x {
		cut := split(sum-x, func(_ refPart, i int) int64 { return release[i] })
		for i := range release {
			release[i] -= cut[i]
		}
	} else if sum < x {
		more := split(x-sum, func(p refPart, i int) int64 { return p.awaiting - release[i] })
		for i := range release {
			release[i] += more[i]
		}
	}
	name := "collection " + id
	if credit, ok := strings.CutSuffix(id, "#netted"); ok {
		name = "credit " + credit + " netted on invoice " + lg.coll.invoice
	}
	if credit, ok := strings.CutSuffix(id, "#funded"); ok {
		name = "credit " + credit + " netted on invoice " + lg.coll.invoice + ", funded"
	}
	if _, seq, ok := strings.Cut(id, "#dispute."); ok {
		name = "dispute " + seq + " resolved, credits netted on invoice " + lg.coll.invoice + " funded during it"
	}
	note := name + ": " + ensemble.MoneyFromMinor(lg.coll.collected, lg.cur).String() + " of " +
		ensemble.MoneyFromMinor(lg.coll.total, lg.cur).String() + " paid"
	if lg.coll.credited > 0 {
		note += ", " + ensemble.MoneyFromMinor(lg.coll.credited, lg.cur).String() + " credited"
	}
	var out []settlement.Entry
	for i := range lg.parts {
		p := &lg.parts[i]
		if release[i] == 0 {
			continue
		}
		p.awaiting -= release[i]
		cid := string(lg.line) + ":" + p.path + "#collected." + id
		out = append(out, lg.collectEntry(*p, cid, lg.line, settlement.KindCollected, release[i], p.awaiting+release[i], p.awaiting, at, note, trace))
		out = append(out, lg.onPayReserve(p, cid, lg.line, release[i], name, at, trace)...)
	}
	return out
}

// onPayReserve is what the leaf's reserve of part p holds of released,
// what entry id (of line line) made payable on collection, by a payment or
// a reversal that what names: its ratio, rounded down, from at until its
// days after it, which the part records (p.paid).
func (lg *refLedger) onPayReserve(p *refPart, id string, line settlement.LineID, released int64, what string, at time.Time, trace []ensemble.Ref) []settlement.Entry {
	if p.onPay == nil || p.kind != settlement.KindEarning || released <= 0 {
		return nil
	}
	r := new(big.Rat).Mul(big.NewRat(released, 1), p.onPay.Ratio.Rat())
	held := new(big.Int).Quo(r.Num(), r.Denom()).Int64()
	if held <= 0 {
		return nil
	}
	until := at.AddDate(0, 0, p.onPay.Days)
	e := settlement.Entry{ID: settlement.EntryID(id + "#reserve"), Line: line, Kind: settlement.KindReserve, Party: p.party, Role: p.role,
		Amount: ensemble.MoneyFromMinor(held, lg.cur), Date: at, Plan: lg.plan, Node: p.node, Service: lg.service, Offer: lg.offer,
		Route: lg.route, Seller: lg.seller, Reverses: settlement.EntryID(string(lg.line) + ":" + p.path), Trace: trace,
		Note: fmt.Sprintf("reserve %s until %s, of %s", p.onPay.Ratio.Percent(), until.Format(time.DateOnly), what)}
	out := []settlement.Entry{e}
	e.ID, e.Kind, e.Date, e.Note = settlement.EntryID(id+"#release"), settlement.KindRelease, until, "reserve released"
	p.paid = append(slices.Clone(p.paid), refHold{units: held, until: until})
	return append(out, e)
}

// onCollection returns plans with the plans that keep no rolling reserve
// made payable on collection (their leaves' reserves hold a share of each
// payment).
func onCollection(plans []settlement.PlanDocument) []settlement.PlanDocument {
	out := slices.Clone(plans)
	for i := range out {
		if len(out[i].Reserves) == 0 {
			out[i].Payable = settlement.PayableOnCollection
		}
	}
	return out
}
