package settlement

import (
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// A credit of a line payable on collection takes its amount plus tax off
// what the customer owes. Which balance it takes it off is the invoice the
// credit line is on (Line.Invoice):
//
//   - the credited line's own invoice, or none: a credit note against that
//     invoice, which the customer then owes less on: the credited line's
//     balance is reduced. What that leaves the line holding beyond its new
//     value (the customer paid more of it than it is now worth, or a
//     credit netted on it from another invoice) goes to the invoice's
//     other lines that owe, as spillPending and spillCash say; what they do not owe is a
//     refund due, the host's to pay;
//   - another invoice that holds lines awaiting collection: a credit
//     netted on that invoice, as a proration credit on the next month's
//     invoice is (invoice.KindProrationCredit). The customer pays that
//     invoice's total net of the credit, so the credit is taken off what
//     the invoice's lines owe, in proportion to what each owes, as a
//     credit note of them would be; the credited line's balance is left
//     as it was invoiced (paid or owed in full). Whether the credit pays
//     those lines is whether the customer paid for it: a credit of a line
//     on collection the customer had paid in full when the credit is
//     settled (nothing owed, nothing written off) is funded by that money
//     and is a payment of the invoice's lines
//     (collection "<credit>#netted", as Collect applies one), so a
//     write-off of the invoice's rest takes back only what it writes off.
//     A credit of a line still owed on is no payment yet: what it takes
//     off each line is recorded pending on it (LedgerCollection.Pending,
//     the credited line listing the invoice in LentTo), and becomes a
//     payment of the line (collection "<credit>#funded") when the customer
//     pays the credited line in full (Collect). Until then the invoice's
//     lines become payable as the customer pays what the invoice still
//     asks (all of them once it owes nothing on them), never from the
//     credit alone, so writing both invoices off pays nobody; a line the
//     credit leaves owing nothing has what awaits released at once
//     (collection "<credit>#netted"). What the credit holds beyond what
//     the invoice's lines owe is taken off the credited line's balance.
//
// The lines of the invoice must be in the state or in the credit's call
// (a call settles its sales before its credits): lines of an invoice
// settled in a later call than the credits netted on it do not receive
// them, and neither do lines another shard holds: then the credit comes
// off the credited line's balance, as a credit note would. Settle an
// invoice's lines together, as FromInvoiceWith returns them, and shard by
// customer.
//
// The lines of an invoice are its lines on collection and its
// receivables (lines paid on settlement, whose balance a settler with a
// plan on collection keeps: see Settler.Collect): netting, spilling and
// payments spread over them all, a receivable's part releasing nothing.
//
// A credit of a line payable on settlement is netted the same way on an
// invoice whose lines are on collection: when it is a receivable the
// customer paid in full, as a payment (the money for it funds the
// credit); otherwise as no payment (nothing says the customer paid the
// line) and nothing pending (a receivable lends no pending credit: what
// the customer pays of lines paid on settlement need not be reported):
// each line records what it took as its set-off (LedgerCollection.SetOff),
// released once the line owes nothing, taken back by a write-off of the
// rest. A set-off is the customer's credit, not value taken off the line:
// a credit note of the line takes back its own amount, never what the
// set-off covers as if it awaited a payment that will not come, and what
// it leaves the line holding beyond its value moves the set-off first
// (spillPending).
//
// A pending credit is settled by the collection, write-off, credit or
// lost dispute that closes its credited line, on a disputed line too
// (another line's cash funds it, which the dispute does not contest).
// State.Prune keeps the lines that hold or lent pending credits.
//
// A pending credit's share of its line stays held back until its credited
// line is closed (settleLent): funded then by what the customer paid for
// that line beyond its value (all of it when paid in full; a write-off of
// the credited line comes off its lent credits first, until a credit note
// beyond what the customer owes takes it back: the cash it leaves then
// funds them, never a refund due as well), written off on the line for
// the rest. So a write-off of the later invoice keeps the
// pending share for the credited line's payment, and a credited invoice
// written off takes its credits' share back from the lines they went to.
//
// Limits: credits netted both ways between invoices (a line of each
// credited on the other, both owed on) close together, and with part of
// one written off some of the cash may go round to lines worth nothing.
// A credit note that takes back a write-off of a line whose lent credits
// that write-off left unfunded (settled already, the line closed) does
// not fund them afresh: the cash it frees then pays no one. Spill, like netting, skips disputed lines:
// what a credit leaves a line holding beyond its value, when the
// invoice's only other lines owing are disputed, stays on that line (a
// refund due, or a credit still pending there), and those lines keep
// owing it after their dispute. A lost dispute spills only the credits
// pending on its line: its cash goes back to the customer (a chargeback),
// a funded netted credit's too.

// nettedSuffix ends the id of the collection recorded on a line that a
// credit netted on its invoice left owing nothing, whose awaiting amounts
// it released.
const nettedSuffix = "#netted"

// fundedSuffix ends the id of the collection recorded on a line when the
// customer paid in full the credited line of a credit netted on it while
// pending (settleLent).
const fundedSuffix = "#funded"

// unfundedSuffix ends the id of the write-off recorded on a line when the
// credited line of a credit netted on it while pending was closed without
// being paid in full (settleLent).
const unfundedSuffix = "#unfunded"

// nettedOn returns the lines of the invoice credit l is on, when that is
// not lg's own (lg on collection), that owe the customer's payment in lg's currency and no
// dispute holds, with what each owes, and what they owe in all.
func (r *run) nettedOn(l *Line, lg *ledger) (ids []LineID, owed []int64, all int64) {
	inv := l.Invoice
	if inv == "" || lg.coll != nil && inv == lg.coll.invoice {
		return nil, nil, 0
	}
	return r.owingOn(inv, lg)
}

// owingOn returns the lines of invoice inv other than lg that owe the
// customer's payment in lg's currency and no dispute holds, sorted, with
// what each owes, and what they owe in all.
func (r *run) owingOn(inv string, lg *ledger) (ids []LineID, owed []int64, all int64) {
	for il := r.st.invoices.get(inv); il != nil; il = il.prev {
		y := r.st.lines.get(il.line)
		if il.line == lg.line || y == nil || y.coll == nil || y.disputed() || y.ctx.cur != lg.ctx.cur || y.coll.owed() == 0 {
			continue
		}
		ids = append(ids, il.line)
	}
	if len(ids) == 0 {
		return nil, nil, 0
	}
	slices.Sort(ids)
	owed = make([]int64, len(ids))
	for i, id := range ids {
		owed[i] = r.st.lines.get(id).coll.owed()
		all += min(owed[i], 1<<62-all)
	}
	return ids, owed, all
}

// paidInFull reports whether the customer paid all line l was worth to
// it: l is on collection (or a receivable), its customer owes nothing on
// it, nothing was written off, and every credit pending on it (netted
// from another invoice) comes from a line paid in full too (a credit of a
// line not paid yet pays nothing yet; lines whose credits are pending on
// each other, and that owe nothing else, are paid in full together). A
// credit of such a line netted on another invoice is funded by what the
// customer paid for it, so it pays that invoice's lines as a payment
// would. (A line payable on settlement that keeps no receivable keeps no
// record of what the customer paid: a credit of it is no payment.)
func (r *run) paidInFull(l *ledger) bool {
	return r.closedWith(l, nil, true)
}

// closed reports whether nothing more will come on line l: its customer
// owes nothing on it, and every credit pending on it comes from a closed
// line (whose credits settleLent settles now).
func (r *run) closed(l *ledger) bool {
	return r.closedWith(l, nil, false)
}

// closedWith is closed, or with paid paidInFull, taking the lines of path,
// whose pending credits lead to l, to be (a cycle settles itself).
func (r *run) closedWith(l *ledger, path []LineID, paid bool) bool {
	if l == nil || l.coll == nil || l.coll.owed() != 0 || paid && l.coll.writtenOff != 0 {
		return false
	}
	if slices.Contains(path, l.line) {
		return true
	}
	path = append(path, l.line)
	for _, p := range l.coll.pending {
		if !r.closedWith(r.st.lines.get(p.from), path, paid) {
			return false
		}
	}
	return true
}

// takeNetted takes amount of credit l, netted on invoice inv, off what the
// lines ids of that invoice owe (owed), in proportion (largest remainder,
// ties by line id): when funded (the credited line was paid in full), as
// a payment of them (collection "<credit>#netted", as Collect applies
// one); otherwise as a credit note of them, no payment, after which a
// line whose customer owes nothing has all that awaits released
// (KindCollected entries of the same collection). Unfunded, what each
// line takes is recorded pending on it as credit src.credit of line
// src.from, which settleLent settles when src.from closes, and inv among
// the invoices lender (this call's own ledger of src.from, or nil when it
// holds inv already) lent to; with src.from empty (a credit of a line
// payable on settlement, whose payment the state does not follow), it is
// the line's set-off: no payment, and nothing pending.
func (r *run) takeNetted(l *Line, inv string, ids []LineID, owed []int64, amount int64, cur ensemble.Currency, funded bool, src pendingCredit, lender *ledger) error {
	c := Collection{ID: string(l.ID) + nettedSuffix, Date: l.Date, Amount: ensemble.MoneyFromMinor(amount, cur), Invoice: inv}
	if funded {
		for _, id := range ids {
			r.undoOther(id)
		}
		_, err := r.payLines(ids, owed, amount, &c, l.Date.UTC(), false)
		return err
	}
	taken, err := byOwed(ids, owed, amount)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if taken[i] == 0 {
			continue
		}
		r.undoOther(id)
		lg := r.st.lines.get(id)
		in := *lg
		in.coll = lg.coll.clone()
		in.coll.creditTotal(taken[i])
		if src.from != "" {
			in.coll.addPending(src.credit, src.from, taken[i])
			if lender != nil && !slices.Contains(lender.coll.lentTo, inv) {
				lender.coll.lentTo = append(lender.coll.lentTo, inv)
			}
		} else {
			in.coll.setOff += taken[i]
		}
		nl := &in
		if in.coll.settled() && in.coll.awaitingSum() > 0 {
			if nl, err = r.collectLine(&in, 0, &c, l.Date.UTC()); err != nil {
				return err
			}
			r.markApplied(c.ID, id)
		}
		r.st.lines.put(id, nl)
	}
	return nil
}

// spillPending moves over (collection.creditOver), what credit l (or the
// lost dispute of line l) takes off line lg's balance beyond what it can
// hold, to the other lines of its invoice that owe, in proportion to what
// each owes, so that the customer pays the invoice its total net of the
// credit and the lines it pays are not left owing what lg holds in
// excess: credits netted on lg from another invoice, which no longer have
// a balance to come off here, come off theirs, as those credits did (no
// payment; still pending, then lg's set-off, set off there; collection
// "<l>#netted"); what no line owes is credited back to lg. It runs before the credit or dispute reverses lg's
// parts, so that the reversal sees what stays pending on lg. A credit's
// cash beyond the line's value follows after (spillCash); a lost
// dispute's goes back to the customer.
func (r *run) spillPending(l *Line, lg *ledger, over int64) error {
	c := lg.coll
	if c == nil || c.invoice == "" {
		return nil
	}
	// The credits pending on lg go first, each still pending on the lines
	// it goes to (of the same credited line, which lent to this invoice).
	for over > 0 {
		ids, owed, all := r.owingOn(c.invoice, lg)
		amount := min(over, all)
		if amount == 0 {
			break
		}
		var src pendingCredit // its credited line lent to this invoice already
		switch {
		case len(c.pending) > 0:
			src = c.pending[0]
			amount = min(amount, src.units)
			if c.pending[0].units -= amount; c.pending[0].units == 0 {
				c.pending = c.pending[1:]
			}
		case c.setOff > 0: // then its set-off, set off there
			amount = min(amount, c.setOff)
			c.setOff -= amount
		}
		if err := r.takeNetted(l, c.invoice, ids, owed, amount, lg.ctx.cur, false, src, nil); err != nil {
			return err
		}
		over -= amount
	}
	// What no other line owes stays with lg: a credit beyond what the
	// customer owes (a refund due, with the cash it paid beyond the
	// line's value).
	c.creditTotal(over)
	return nil
}

// spillCash pays what the customer paid for line nl beyond its value to
// the other lines of its invoice that owe, as a payment of them (collection
// "<credit>#netted"), taken off what nl collected. What they do not owe
// stays with nl (a refund due, the host's to pay). A write-off of the line
// is no payment, so what it gave up never spills.
func (r *run) spillCash(l *Line, nl *ledger) error {
	c := nl.coll
	if c == nil || c.invoice == "" {
		return nil
	}
	extra := c.collected - (c.total - c.credited)
	if extra <= 0 {
		return nil
	}
	ids, owed, all := r.owingOn(c.invoice, nl)
	amount := min(extra, all)
	if amount == 0 {
		return nil
	}
	c.collected -= amount // nl and its record are this call's
	col := Collection{ID: string(l.ID) + nettedSuffix, Date: l.Date, Amount: ensemble.MoneyFromMinor(amount, nl.ctx.cur), Invoice: c.invoice}
	for _, id := range ids {
		r.undoOther(id)
	}
	_, err := r.payLines(ids, owed, amount, &col, l.Date.UTC(), false)
	return err
}

// addPending records units of credit credit of line from pending, with
// what it holds already of them.
func (c *collection) addPending(credit, from LineID, units int64) {
	for i := range c.pending {
		if c.pending[i].credit == credit && c.pending[i].from == from {
			c.pending[i].units += units
			return
		}
	}
	c.pending = append(c.pending, pendingCredit{credit: credit, from: from, units: units})
}

// settleLent settles what the credits of line lg, netted on other
// invoices while the customer had not paid it in full, left pending on
// their lines, once lg is closed (it owes nothing, and the credits
// pending on it come from closed lines; lines whose credits are pending
// on each other close together):
//
//   - what the customer paid for lg beyond what lg is worth net of them
//     funds them: on each line, what a credit took off it pending moves,
//     as far as that goes, from what credits took off to what was
//     collected (collection "<credit>#funded"), which makes its share of
//     the line payable as a payment would. Paid in full, that is all of
//     them; with part of lg written off, the write-off is theirs first
//     (writeOff takes it from them before lg's parties), so they are
//     funded less what was written off, in proportion (largest
//     remainder, by line and credit);
//   - the rest is written off on each line (collection
//     "<credit>#unfunded"): its parties lose what awaited it, as a
//     write-off of the line takes back what awaits.
//
// Each line so settled may settle its own in turn (a credit of April's
// line netted on May's invoice while April's line held a credit of
// March's pending). A disputed line is settled too (another line's cash
// funds its credits, which its dispute does not contest): it is paid,
// and what that releases is released when the dispute is resolved.
func (r *run) settleLent(lg *ledger, at time.Time) error {
	work := []LineID{lg.line}
	for len(work) > 0 {
		lg := r.st.lines.get(work[0])
		work = work[1:]
		if lg == nil || lg.coll == nil || len(lg.coll.lentTo) == 0 || lg.coll.owed() != 0 {
			continue
		}
		paid := r.paidInFull(lg)
		if !paid && !r.closed(lg) {
			continue // its own pending credits decide what it was paid
		}
		if x := r.lenderFirst(lg); x != "" {
			work = append(work, x) // which settles what it lent lg, then lg
			continue
		}
		// The lines holding lg's credits pending, and the credits.
		var kept []string
		var ids []LineID
		var recs []ensemble.Share
		var lent int64
		for _, inv := range lg.coll.lentTo {
			n := 0
			for il := r.st.invoices.get(inv); il != nil; il = il.prev {
				n++
				if y := r.st.lines.get(il.line); y != nil && y.coll != nil && y.coll.holdsPending(lg.line) {
					ids = append(ids, il.line)
				}
			}
			if n == 0 { // held by another part of a split state: kept for when they are merged
				kept = append(kept, inv)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			for _, p := range r.st.lines.get(id).coll.pending {
				if p.from == lg.line {
					recs = append(recs, ensemble.Share{Key: string(id) + "#" + string(p.credit), Weight: ensemble.RatioFromInt(p.units)})
					lent += p.units
				}
			}
		}
		funds := lent
		if c := lg.coll; !paid {
			// What the customer paid for lg beyond its value net of what
			// it lent; credits pending on lg (of lines closed with it in a
			// cycle) are not its payments yet.
			funds = min(lent, max(0, c.collected-(c.total-(c.credited-c.pendingSum())-lent)))
		}
		parts := make([]int64, len(recs))
		if funds > 0 {
			if err := ensemble.AllocateUnits(parts, funds, recs, ensemble.AllocateOptions{}); err != nil {
				return err
			}
		}
		k := 0
		for _, id := range ids {
			y := r.st.lines.get(id)
			funded := map[LineID]int64{}
			for _, p := range y.coll.pending {
				if p.from == lg.line {
					funded[p.credit], k = parts[k], k+1
				}
			}
			if err := r.settlePending(id, y, lg.line, funded, at); err != nil {
				return err
			}
			work = append(work, id)
		}
		if u := r.undo; u != nil && u.line != lg.line { // the current line's own is undone as such
			r.undoOther(lg.line)
		}
		nl := *lg
		nl.coll = lg.coll.clone()
		nl.coll.lentTo = kept
		r.st.lines.put(lg.line, &nl)
	}
	return nil
}

// lenderFirst returns a line whose credit is pending on lg and that
// must settle before lg (lg does not lend to it, however indirectly:
// lines lending to each other settle as they come), or "".
func (r *run) lenderFirst(lg *ledger) LineID {
	for _, p := range lg.coll.pending {
		if !r.lendsTo(lg.line, p.from, nil) {
			return p.from
		}
	}
	return ""
}

// lendsTo reports whether a credit of line from is pending on line to,
// or on a line that lends to it, however indirectly (seen: the lines
// looked at).
func (r *run) lendsTo(from, to LineID, seen []LineID) bool {
	y := r.st.lines.get(to)
	if y == nil || y.coll == nil || slices.Contains(seen, to) {
		return false
	}
	seen = append(seen, to)
	for _, p := range y.coll.pending {
		if p.from == from || r.lendsTo(from, p.from, seen) {
			return true
		}
	}
	return false
}

// settleInvoices settles what lg lent (settleLent), then what each line
// of invoices invs lent, in line id order: after a credit or a dispute,
// which may have paid lines of lg's invoice or of the one a credit was
// netted on ("<credit>#netted").
func (r *run) settleInvoices(lg *ledger, at time.Time, invs ...string) error {
	if err := r.settleLent(lg, at); err != nil {
		return err
	}
	for _, inv := range invs {
		var ids []LineID
		for il := r.st.invoices.get(inv); inv != "" && il != nil; il = il.prev {
			ids = append(ids, il.line)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if err := r.settleLent(r.st.lines.get(id), at); err != nil {
				return err
			}
		}
	}
	return nil
}

// lentPending is what the credits of line lg left pending on the lines
// of the invoices it lent to, in all.
func (r *run) lentPending(lg *ledger) int64 {
	var lent int64
	if lg.coll == nil {
		return 0
	}
	for _, inv := range lg.coll.lentTo {
		for il := r.st.invoices.get(inv); il != nil; il = il.prev {
			if y := r.st.lines.get(il.line); y != nil && y.coll != nil {
				for _, p := range y.coll.pending {
					if p.from == lg.line {
						lent += p.units
					}
				}
			}
		}
	}
	return lent
}

// pendingSum is what the credits pending on c took off in all.
func (c *collection) pendingSum() int64 {
	var s int64
	for _, p := range c.pending {
		s += p.units
	}
	return s
}

// holdsPending reports whether c holds a credit of line from pending.
func (c *collection) holdsPending(from LineID) bool {
	return slices.ContainsFunc(c.pending, func(p pendingCredit) bool { return p.from == from })
}

// settlePending settles on line id (its ledger y) each credit of line
// from that it holds pending: funded[credit] of it is a payment of the
// line (collection "<credit>#funded"), the rest is written off (collection
// "<credit>#unfunded").
func (r *run) settlePending(id LineID, y *ledger, from LineID, funded map[LineID]int64, at time.Time) (err error) {
	r.undoOther(id)
	nl := y
	for _, p := range y.coll.pending {
		if p.from != from {
			continue
		}
		f := funded[p.credit]
		if u := p.units - f; u > 0 {
			in := *nl
			in.coll = nl.coll.clone()
			in.coll.credited -= u
			in.coll.pending = slices.DeleteFunc(in.coll.pending, func(q pendingCredit) bool { return q == p })
			if f > 0 {
				in.coll.pending = append(in.coll.pending, pendingCredit{credit: p.credit, from: from, units: f})
			}
			c := Collection{ID: string(p.credit) + unfundedSuffix, Date: at, Amount: ensemble.MoneyFromMinor(u, y.ctx.cur), Invoice: y.coll.invoice}
			if nl, err = r.writeOff(&in, u, &c, at); err != nil {
				return err
			}
			r.markApplied(c.ID, id)
		}
		if f == 0 {
			continue
		}
		in := *nl
		in.coll = nl.coll.clone()
		in.coll.credited -= f
		in.coll.pending = slices.DeleteFunc(in.coll.pending, func(q pendingCredit) bool { return q.credit == p.credit && q.from == from })
		c := Collection{ID: string(p.credit) + fundedSuffix, Date: at, Amount: ensemble.MoneyFromMinor(f, y.ctx.cur), Invoice: y.coll.invoice}
		if in.disputed() {
			// A dispute holds what is payable: the line is paid, and what
			// it pays is released when the dispute is resolved (catchUp).
			in.coll.collected += f
			in.coll.ids = append(in.coll.ids, c.ID)
			nl = &in
		} else if nl, err = r.collectLine(&in, f, &c, at); err != nil {
			return err
		}
		r.markApplied(c.ID, id)
	}
	r.st.lines.put(id, nl)
	return nil
}

// pendingLenders checks, after the lines and credits are read, that each
// credit pending on a line is a credit of the line it names as its
// lender, when the state holds that line (a part of a split state may
// not): the lender is on collection (a line paid on settlement lends
// none), and the state holds the credit (it keeps a line's credits as
// long as the line) crediting it. Else the lender's payment would fund,
// as a payment of the line holding it, a credit no one paid for.
func (r *stateReader) pendingLenders(in *stateIn) {
	for i := range in.Lines {
		ll := &in.Lines[i].LedgerLine
		if ll.Collection == nil || r.out.lines.get(ll.Line) == nil {
			continue
		}
		for j, p := range ll.Collection.Pending {
			pp := ensemble.Path("lines", i, "collection", "pending", j)
			lender := r.out.lines.get(p.Line)
			if lender == nil {
				continue
			}
			rec, credit := r.out.credits.lookup(p.Credit)
			switch {
			case lender.coll == nil || lender.coll.onSettlement:
				r.fail(pp+".line", ll.Line, "", nil, "credit %q pending of line %q, which is not on collection: it lends no pending credit", p.Credit, p.Line)
			case !credit:
				r.fail(pp+".credit", ll.Line, "", nil, "credit %q pending of line %q, but the state holds no credit %q of it", p.Credit, p.Line, p.Credit)
			case rec.of != p.Line:
				r.fail(pp+".line", ll.Line, "", nil, "credit %q pending of line %q, but it credits line %q", p.Credit, p.Line, rec.of)
			}
		}
	}
}

// collectionName is how entries' notes name collection c: "collection
// P1", "credit C1 netted on invoice INV-2", or "credit C1 netted on
// invoice INV-2, funded".
func collectionName(c *Collection) string {
	if _, seq, ok := strings.Cut(c.ID, "#dispute."); ok {
		return "dispute " + seq + " resolved, credits netted on invoice " + c.Invoice + " funded during it"
	}
	if credit, ok := strings.CutSuffix(c.ID, nettedSuffix); ok {
		return "credit " + credit + " netted on invoice " + c.Invoice
	}
	if credit, ok := strings.CutSuffix(c.ID, fundedSuffix); ok {
		return "credit " + credit + " netted on invoice " + c.Invoice + ", funded"
	}
	if credit, ok := strings.CutSuffix(c.ID, unfundedSuffix); ok {
		return "credit " + credit + " netted on invoice " + c.Invoice + ", unfunded (its credited line was not paid in full)"
	}
	return "collection " + c.ID
}

// validCollectionID reports whether id is an id a collection can have in
// a state: a host's (ensemble.CheckID, without ':' or '#'), or a netted
// credit's (a line id and nettedSuffix).
func validCollectionID(id string) error {
	if credit, ok := strings.CutSuffix(id, nettedSuffix); ok && ensemble.CheckLineID(credit) == nil {
		return nil
	}
	for _, suffix := range []string{fundedSuffix, unfundedSuffix} {
		if credit, ok := strings.CutSuffix(id, suffix); ok && ensemble.CheckLineID(credit) == nil {
			return nil
		}
	}
	return ensemble.CheckID(id, ensemble.EntrySeparators)
}
