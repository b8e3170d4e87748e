package settlement

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// clawback settles a credit line: it reverses the credited line's
// earnings and supplier costs in proportion to each part's unreversed
// amount, or those of the bearer the line names (see reverse).
func (r *run) clawback(l *Line) error {
	lg := r.st.lines.get(l.Credits)
	if lg == nil {
		if w := r.st.window; !w.IsZero() {
			return lineErr(l.ID, "", "", "", fmt.Errorf("%w: credits %q, which the state does not hold (pruned before %s, it holds no older line)",
				ErrUnknownLine, l.Credits, w.Format(time.DateOnly)))
		}
		return lineErr(l.ID, "", "", "", fmt.Errorf("%w: credits %q", ErrUnknownLine, l.Credits))
	}
	if lg.wholeDispute() {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: credits %q", ErrDisputed, l.Credits))
	}
	if l.Currency() != lg.ctx.cur {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: credit in %s of a %s line", ErrCurrency, l.Currency(), lg.ctx.cur))
	}
	if l.Date.Before(lg.date) {
		// A credit note follows what it credits: dated before the line, its
		// clawbacks would land in a period before the sale.
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: the credit is dated %s, before the line it credits, %q, dated %s",
			ErrInvalidLine, instantText(l.Date), lg.line, instantText(lg.date)))
	}
	if s := l.Route.Seller; s != "" && s != lg.ctx.seller {
		// A credit reverses the credited line's split, whoever its route
		// names; one naming another seller is a line sent with the wrong
		// route (a host sharding by seller would settle it elsewhere).
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: the credit's route names seller %q, the credited line %q was sold by %q",
			ErrInvalidLine, s, lg.line, lg.ctx.seller))
	}
	if err := r.s.checkBasis(lg); err != nil {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
	}
	credit, err := basisUnits(l, lg.ctx.basis == BasisGross)
	if err != nil {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
	}
	credit = -credit
	var keep []int64 // of a line a dispute of an amount holds, each part's share of it, which the credit leaves
	if lg.disputed() {
		if k, err := creditDisputed(l, lg, credit); err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		} else {
			keep = k
		}
	}
	if undoc := lg.undocumented(); l.Dispute == DisputeDocuments || undoc > 0 && l.Dispute == DisputeUnstated {
		return r.documentDispute(l, lg, credit, undoc)
	}
	asSold := credit       // the credit line's: a credit re-split as the sale was takes it whole (creditSplit)
	var nettedIDs []LineID // the lines of another invoice the credit is netted on,
	var nettedOwed []int64 // what they owe,
	var netted int64       // and what of the credit comes off that
	var clawed int64       // of the credit, what write-offs clawed back already
	funded := r.paidInFull(lg)
	if lg.coll != nil {
		// The credit note takes its amount plus tax off what the customer
		// owes: its tax must be the credited line's rate, within a unit.
		total, err := basisUnits(l, true)
		if err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		}
		if err := lg.checkCreditTax(credit, -total-credit); err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		}
		// On another invoice than the line's, it is netted there: taken
		// off what that invoice's lines owe, up to all of it (netted.go);
		// the rest comes off this line's balance.
		var all int64
		nettedIDs, nettedOwed, all = r.nettedOn(l, lg)
		netted = min(-total, all)
		in := *lg
		in.coll = lg.coll.clone()
		// What the write-offs clawed back of the basis for what the credit
		// now takes is part of what it reverses (written off, then
		// credited, the parties keep what was collected for them). What
		// it takes beyond what the customer owes here takes back what was
		// written off first (the customer did not owe it, so it was not
		// given up), whatever it was held for: the write-off of a line is
		// its lent credits' first (see writeOff), but the cash it leaves
		// beyond the line's value funds them (settleLent), and a write-off
		// kept for them would count that cash again as a refund due. What
		// it nets on another invoice is lent, and what is left written
		// off is its first, beyond what the line lent already.
		// Write-offs are taken back from the last unit down: the first
		// units lent held clawed nothing back.
		// (A credit netted on the line that nothing funded, written off,
		// is one the customer got: it is lent's like any write-off, but
		// never taken back.)
		wo, lent := in.coll.writtenOff, r.lentPending(lg)
		take := func(from, units int64) {
			from, to := max(0, from), max(0, from-units)
			share := min(in.coll.clawed, credit, basisShare(lg.basis, from, in.coll.total, true)-basisShare(lg.basis, to, in.coll.total, true))
			in.coll.clawed -= share
			credit -= share
			clawed += share
		}
		back := min(max(0, wo-in.coll.unfunded), max(0, -total-netted-in.coll.owed()))
		if back > 0 {
			take(wo-lent, back)
			in.coll.writtenOff -= back
		}
		if re := min(max(0, wo-back-lent), netted); re > 0 {
			take(wo-back-lent, re)
		}
		// What the balance cannot hold moves first (spillPending), so
		// that the reversal sees what stays pending on the line.
		if err := r.spillPending(l, &in, in.coll.creditOver(-total-netted)); err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		}
		lg = &in
	} else if l.Invoice != "" {
		// A line payable on settlement has no balance here, but a credit
		// of it on an invoice whose lines are on collection is netted on
		// them all the same.
		total, err := basisUnits(l, true)
		if err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		}
		var all int64
		nettedIDs, nettedOwed, all = r.nettedOn(l, lg)
		netted = min(-total, all)
	}
	r.line = l
	trace := append(slices.Clone(l.Trace), l.Ref(), ensemble.Ref{Kind: RefLine, ID: string(lg.line)})
	note := "credit of " + string(lg.line) + " by " + string(l.ID)
	if clawed > 0 {
		note += " (" + ensemble.MoneyFromMinor(clawed, lg.ctx.cur).String() + " of it clawed back by write-offs before)"
	}
	if credit == asSold {
		resplit, err := r.creditSplit(l, lg, credit)
		if err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		}
		r.resplit = resplit
	}
	r.keep = keep
	nl, err := r.reverse(lg, credit, string(l.ID), l.Date, note, trace, &l.Bearer, false)
	r.resplit, r.keep = nil, nil
	if err != nil {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
	}
	r.st.lines.put(lg.line, nl)
	rec := creditRec{of: lg.line, units: nl.credited - lg.credited + clawed} // what it took back (see reverse), and from write-offs
	if !l.Bearer.IsZero() {
		b := l.Bearer
		rec.bearer = &b
	}
	r.st.ownCredits().put(l.ID, rec)
	if netted > 0 {
		var src pendingCredit
		var lender *ledger
		if nl.coll != nil && !nl.coll.onSettlement { // a receivable's credit is set off there
			src, lender = pendingCredit{credit: l.ID, from: lg.line}, nl
		}
		if err := r.takeNetted(l, l.Invoice, nettedIDs, nettedOwed, netted, lg.ctx.cur, funded, src, lender); err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		}
	}
	if err := r.spillCash(l, nl); err != nil {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
	}
	// A credit may close the credited line (or find it closed): its
	// credits netted on other invoices while it was owed on, this one
	// among them, are then funded or written off there.
	var invs []string
	if lg.coll != nil {
		invs = append(invs, lg.coll.invoice)
	}
	if netted > 0 {
		invs = append(invs, l.Invoice)
	}
	if err := r.settleInvoices(r.st.lines.get(lg.line), l.Date.UTC(), invs...); err != nil {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
	}
	return nil
}

// creditDisputed returns, for credit l of credit units of lg's basis, a
// line an open dispute of an amount holds (Settler.DisputeAmount), each
// part's share of the amount disputed, which the credit reverses nothing
// of (see reverse); or why it is refused: a credit documenting lost
// disputes (Line.Dispute DisputeDocuments, or one not saying while
// disputes lost are undocumented) waits for the open dispute's end, as
// does one of a line a bearer owed beyond (ShortfallBearerOwes), whose
// shares move with what the others have; a credit of more than the line
// has unreversed beyond the amount disputed reaches into it (a
// *DisputedAmountError): beyond each part's share of it as the parts have
// it now, and at least what the dispute holds of the part (after a credit
// while it is open, the shares may differ from the holds by a unit of
// rounding, which is then left undisputed no more).
func creditDisputed(l *Line, lg *ledger, credit int64) ([]int64, error) {
	undoc := lg.undocumented()
	switch {
	case l.Dispute == DisputeDocuments || undoc > 0 && l.Dispute == DisputeUnstated:
		return nil, fmt.Errorf("%w: credits %q, whose lost disputes it documents (or would be asked to) while a dispute is open", ErrDisputed, l.Credits)
	case lg.owing():
		return nil, fmt.Errorf("%w: credits %q, a part of which its bearer owed beyond (shortfall bearer_owes), while a dispute is open", ErrDisputed, l.Credits)
	}
	disputed := lg.disputedUnits()
	keep, err := disputeShares(lg, disputed)
	if err != nil {
		return nil, err
	}
	// Each part keeps its share of the amount as the parts have it now,
	// and at least what the dispute holds of it (its share when the
	// dispute opened, less what awaited payment: a credit before may have
	// moved the shares by a unit of rounding).
	undisputed := lg.basis - lg.credited
	for i := range keep {
		keep[i] = max(keep[i], lg.disputes.held[i]+lg.disputes.heldByReserves(i))
		undisputed -= keep[i]
	}
	if credit > undisputed {
		cur := lg.ctx.cur
		return nil, &DisputedAmountError{Line: lg.line, Disputed: ensemble.MoneyFromMinor(disputed, cur),
			Undisputed: ensemble.MoneyFromMinor(max(0, undisputed), cur), Asked: ensemble.MoneyFromMinor(credit, cur)}
	}
	return keep, nil
}

// MaxNoteRounding is, in minor units, by how much a documenting credit
// note's total (net plus tax, Line.Dispute DisputeDocuments) may differ
// from the share of the line's total its lost disputes took off what the
// customer owes for the net it documents, on a line payable on
// collection. The share is the line's total × net / basis, rounded half
// up once; a note computes its tax per component on the net, each rounded
// on its own; and the line's tax was itself rounded per component. For n
// tax components the two differ by at most n minor units; MaxNoteRounding
// allows two components (GST and QST, a state and a county tax) plus one.
// A Line carries one tax, so settlement cannot count its components: a
// note of more components drifting further is ErrDocumentedTotal, naming
// both amounts.
const MaxNoteRounding = 3

// documentDispute settles credit l of lg (credit units of its basis)
// against what lg's lost disputes took back that no credit documents yet
// (undoc): a credit documenting them (DisputeDocuments) records that it
// did, reversing nothing (the lost dispute took it back, and off what the
// customer owes) but, when its total leaves the customer owing nothing on
// a line payable on collection, what still awaited a payment that will
// never come (as reverse does for a credit closing the line); a credit
// that does not say is ErrUndocumentedDispute,
// naming the line and its last lost dispute; one documenting more than
// undoc is ErrOverDocumented.
func (r *run) documentDispute(l *Line, lg *ledger, credit, undoc int64) error {
	cur := lg.ctx.cur
	lost := "lost disputes"
	if n := lastLost(lg); n > 0 {
		lost = "lost dispute " + strconv.Itoa(int(n)) + " (" + string(lg.line) + "#dispute." + strconv.Itoa(int(n)) + ")"
	}
	switch {
	case l.Dispute == DisputeUnstated:
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: credits %q, whose %s took back %s that no credit documents yet: "+
			"say whether the credit is the dispute's credit note (Line.Dispute %q: it reverses nothing more) or a credit besides it (%q)",
			ErrUndocumentedDispute, lg.line, lost, ensemble.MoneyFromMinor(undoc, cur), DisputeDocuments, DisputeSeparate))
	case credit > undoc:
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: documents %s of %q, whose lost disputes took back %s that no credit documents yet",
			ErrOverDocumented, ensemble.MoneyFromMinor(credit, cur), lg.line, ensemble.MoneyFromMinor(undoc, cur)))
	}
	nl := *lg
	d := lg.disputes.carried()
	if d.undocOwed > 0 && lg.coll != nil && !lg.coll.onSettlement {
		// The note is the customer's document of what it won back: its
		// own total (net plus tax, tax per component) replaces the share
		// of the line's total the lost disputes took off what is owed for
		// the net it documents, within MaxNoteRounding. The parties'
		// entries were split on the net, which agrees: they do not change.
		total, err := basisUnits(l, true)
		if err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		}
		share := d.undocOwed
		if credit < undoc {
			share = basisShare(d.undocOwed, credit, undoc, false)
		}
		delta := -total - share
		if delta > MaxNoteRounding || delta < -MaxNoteRounding {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: the note's total %s (net %s) against %s its lost disputes took off what the customer owes on %q for that net; "+
				"they may differ by at most %s (MaxNoteRounding)", ErrDocumentedTotal, ensemble.MoneyFromMinor(-total, cur), ensemble.MoneyFromMinor(credit, cur),
				ensemble.MoneyFromMinor(share, cur), lg.line, ensemble.MoneyFromMinor(MaxNoteRounding, cur)))
		}
		d.undocOwed -= share
		// A line the customer has paid in full (owes nothing) is closed:
		// what it paid stands, and the note changes nothing of it.
		if owed := lg.coll.owed(); owed > 0 && delta != 0 {
			delta = min(delta, owed)
			c := lg.coll.clone()
			c.credited += delta
			nl.coll = c
		}
	}
	d.documented += credit
	nl.disputes = &d
	var took int64 // what the note took back of what awaited a payment no longer owed
	if nl.coll != lg.coll && nl.coll.settled() {
		// The note's total (a few units more than the share, by its
		// rounding) leaves the customer owing nothing: what still awaited
		// its payment will never be paid, and goes back as it does with a
		// credit note that closes the line (reverse), in proportion to
		// what the parts have unreversed; what the share of a set-off
		// stands for is released. So nothing awaits on a line owing
		// nothing (awaitingTotal).
		r.line = l
		trace := append(slices.Clone(l.Trace), l.Ref(), ensemble.Ref{Kind: RefLine, ID: string(lg.line)})
		note := "credit of " + string(lg.line) + " by " + string(l.ID) + " documenting its lost disputes"
		out, err := r.reverse(&nl, 0, string(l.ID), l.Date, note, trace, &Bearer{}, false)
		if err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		}
		took = out.credited - nl.credited
		if out.coll.awaitingSum() != awaitingTotal(out, out.coll) {
			if err := r.releaseAwaiting(out, out, make([]int64, out.parts()), string(l.ID), l.Date, note, trace); err != nil {
				return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
			}
		}
		nl = *out
	}
	r.st.lines.put(lg.line, &nl)
	r.st.ownCredits().put(l.ID, creditRec{of: lg.line, units: took, documented: credit})
	if nl.coll != lg.coll && nl.coll.settled() {
		// A line the note closed settles the credits it lent.
		if err := r.settleInvoices(r.st.lines.get(lg.line), l.Date.UTC(), nl.coll.invoice); err != nil {
			return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
		}
	}
	return nil
}

// checkCreditTax confirms that a credit of credit (of the basis) with tax
// tax, of line lg payable on collection on the net basis, bills tax in
// proportion to the line's own, within a unit: |tax × basis - credit ×
// lineTax| <= basis. A credit note's tax off that rate would move what the
// customer owes, and what its last payment releases, by more than a
// rounding. A line paid on settlement (a receivable) releases nothing:
// its credits' tax is not checked.
func (lg *ledger) checkCreditTax(credit, tax int64) error {
	if lg.ctx.basis == BasisGross || lg.basis == 0 || lg.coll.onSettlement {
		return nil // the credit's basis is its total, or nothing awaits release
	}
	lineTax := lg.coll.total - lg.basis
	d := new(big.Int).Sub(new(big.Int).Mul(big.NewInt(tax), big.NewInt(lg.basis)), new(big.Int).Mul(big.NewInt(credit), big.NewInt(lineTax)))
	if d.CmpAbs(big.NewInt(lg.basis)) <= 0 {
		return nil
	}
	cur := lg.ctx.cur
	want := basisShare(lineTax, credit, lg.basis, false)
	return fmt.Errorf("%w: tax %s on a credit of %s is not in proportion to the credited line's %s on %s (about %s): "+
		"on a line payable on collection it changes what the customer owes", ErrInvalidLine, ensemble.MoneyFromMinor(-tax, cur),
		ensemble.MoneyFromMinor(-credit, cur), ensemble.MoneyFromMinor(lineTax, cur), ensemble.MoneyFromMinor(lg.basis, cur),
		ensemble.MoneyFromMinor(-want, cur))
}

// checkBasis confirms the basis kind the state records for lg against the
// settler's plan version: a version it does not hold, or one splitting the
// other basis, is a *PlanVersionError, never a guess.
func (s *Settler) checkBasis(lg *ledger) error {
	c := lg.ctx
	if cp := s.planOf(lg); cp != nil {
		if cp.doc.Basis != c.basis {
			return &PlanVersionError{Line: lg.line, Plan: *c.plan, Basis: c.basis, Err: ErrBasisMismatch}
		}
		return nil
	}
	return &PlanVersionError{Line: lg.line, Plan: *c.plan, Basis: c.basis, Err: ErrUnknownPlanVersion}
}

// reverse takes credit (> 0) back from the line's parts and returns the new
// ledger, whose credited amount grew by what it took back: credit, and on a
// line payable on collection whose customer owes nothing after it, what
// would still await payment too. It takes it from every part in proportion
// to its unreversed amount, or, with a bearer named, from the bearer's
// parts alone in proportion to theirs (and, when they have too little and b
// says so, the rest from the other parts in proportion to theirs). Entries
// get ids "<by>:<original entry path>#clawback"; with a bearer, their share
// says whether the part bore the credit or made up the bearer's shortfall,
// and the note who bore it. With awaited (a write-off with no bearer), the
// parts' weights are what each awaits of the customer's payment instead of
// what it has unreversed: what is written off is what will never be paid,
// so each part loses what it awaited and keeps what was collected for it,
// to the cent (the two weights' largest remainders could differ by a cent).
func (r *run) reverse(lg *ledger, credit int64, by string, at time.Time, note string, trace []ensemble.Ref, b *Bearer, awaited bool) (*ledger, error) {
	// A credit's clawbacks carry the credit line's service period (the
	// credited one), a lost dispute's the disputed line's.
	service := lg.ctx.service
	if r.line != nil && LineID(by) == r.line.ID {
		service = r.line.Service
	}
	left := lg.basis - lg.credited
	if credit > left {
		return nil, fmt.Errorf("%w: %s credited, %s left unreversed on line %q", ErrOverCredit,
			ensemble.MoneyFromMinor(credit, lg.ctx.cur), ensemble.MoneyFromMinor(left, lg.ctx.cur), lg.line)
	}
	if c := lg.coll; c != nil && !c.onSettlement && c.owed() == 0 && r.keep == nil {
		// (Of a line an open dispute of an amount holds, what awaits is
		// the dispute's end's: catchUp or the lost dispute's reversal.)
		// The customer owes nothing any more (lg.coll counts this
		// reversal): what would still await a payment that will never
		// come goes back with it, so nothing awaits forever and nothing is
		// paid that was not collected. (A credit note whose tax rounds
		// otherwise than the line's leaves such a unit.) Credits pending on
		// it are payments to come; its set-off, credits of lines paid on
		// settlement netted on it, the customer's credit that the line's
		// value left standing, not value taken off it (a write-off gives
		// it up: writeOff takes its share back).
		paid := c.collected + c.pendingSum()
		if !awaited {
			paid += c.setOff
		}
		rest := left - credit - basisShare(lg.basis, paid, c.total, false)
		if awaited { // a write-off takes back only what awaits
			rest = min(rest, c.awaitingSum()-credit)
		}
		if rest > 0 {
			credit += rest
			note += ", and " + ensemble.MoneyFromMinor(rest, lg.ctx.cur).String() + " awaiting a payment no longer owed"
		}
	}
	n := lg.parts()
	// bears[i] says whether part i bears the credit; nil: every part does.
	var bears []bool
	take, rest := credit, int64(0)
	owes := false            // the bearer gives back the whole credit, beyond what it has (ShortfallBearerOwes)
	var borne, makeUp string // the shares of the bearer's clawbacks and of the others'
	var has int64            // what the bearer has unreversed
	// whole: the credit takes all the line has left after a bearer owed
	// beyond its part (or makes one owe), so every part gives back exactly
	// what it has.
	whole := credit == left && lg.owing()
	if !b.IsZero() {
		bears = make([]bool, n)
		named := false
		positive := false
		for i := range n {
			if b.bears(lg.payee(i)) {
				bears[i], named = true, true
				positive = positive || lg.unreversed(i) > 0
			}
		}
		// A bearer of several parts (a node, a role, a component) bears
		// with those that have something: one below zero (its party owed
		// beyond it on an earlier credit) neither takes back a share of
		// what the others give nor counts against what the bearer has.
		for i := range n {
			if bears[i] && positive && lg.unreversed(i) < 0 {
				bears[i] = false
			}
			if bears[i] {
				has += lg.unreversed(i)
				if r.keep != nil {
					has -= r.keep[i] // what the part has beyond its share of the open dispute
				}
			}
		}
		fail := func(err error, onLine []string, why string) (*ledger, error) {
			cur := lg.ctx.cur
			return nil, &BearerError{Line: lg.line, Bearer: *b, Credit: ensemble.MoneyFromMinor(credit, cur), Unreversed: ensemble.MoneyFromMinor(has, cur),
				Shortfall: ensemble.MoneyFromMinor(max(credit-has, 0), cur), OnLine: onLine, Err: err, Why: why}
		}
		switch {
		case !named:
			var on []string
			for i := range n {
				if x := b.bearable(lg.payee(i)); x != "" && !slices.Contains(on, x) {
					on = append(on, x)
				}
			}
			slices.Sort(on)
			return fail(ErrBearerNotOnLine, on, "")
		case credit > has && b.Shortfall == ShortfallError:
			return fail(ErrBearerShortfall, nil, "")
		case credit > has && b.Shortfall == ShortfallBearerOwes:
			if why := lg.cannotOwe(bears); why != "" {
				return fail(ErrBearerOwes, nil, why)
			}
			if has < 0 && credit > math.MaxInt64+has {
				return fail(ErrBearerOwes, nil, "what it would owe is beyond the int64 range of minor units")
			}
			owes = true
		}
		who := b.String()
		borne = "borne by " + who
		cur := lg.ctx.cur
		switch {
		case credit == left && (owes || whole):
			whole, owes = true, false
			note += ", " + borne
			makeUp = "the line credited in full"
		case credit <= has:
			note += ", " + borne
		case owes:
			note += ", " + borne + " beyond its part of the line: " + ensemble.MoneyFromMinor(credit-has, cur).String() +
				" more than its " + ensemble.MoneyFromMinor(has, cur).String() + " unreversed"
			borne += ", beyond its part of the line"
		default:
			take = max(has, 0)
			rest = credit - take
			makeUp = "in proportion, for the shortfall of " + who
			note += ", " + borne + " up to its " + ensemble.MoneyFromMinor(take, cur).String() +
				" unreversed, the other " + ensemble.MoneyFromMinor(rest, cur).String() + " in proportion"
		}
	}
	nl := *lg
	nl.credited += credit
	if err := r.takeBackVolumes(lg, nl.credited); err != nil {
		return nil, err
	}
	if credit == 0 {
		return &nl, nil
	}
	nl.amounts = lg.withUnreversed()
	unreversed := nl.amounts[n:]
	shares := make([]ensemble.Share, n)
	for i := range n {
		shares[i].Key = string(lg.entryID(i))
	}
	weights := unreversed
	if awaited && bears == nil {
		weights = lg.coll.awaiting // writeOff keeps the write-off within their sum
	}
	if r.keep != nil {
		// A credit of a line an open dispute of an amount holds reverses
		// what each part has beyond its share of it, in proportion: by
		// largest remainder, no part more than that (the credit is at
		// most their sum, creditDisputed).
		weights = make([]int64, n)
		for i := range n {
			weights[i] = unreversed[i] - r.keep[i]
		}
	}
	parts := make([]int64, n)
	switch rs := r.resplit; {
	case whole:
		// A credit of all the line has left, after a bearer owed beyond
		// its part: every part gives back exactly what it has unreversed
		// (the owing parts get back what they owe), whoever bears it, so
		// that every party ends at zero on a line credited in full, in
		// whatever order its credits came.
		copy(parts, unreversed)
		note += ", which takes all the line has left: every part gives back what it has unreversed"
	case owes:
		// The bearer's parts give back all they have and the excess on
		// top, in proportion to their amounts.
		if err := owedBeyond(parts, credit-has, lg.amounts[:n], unreversed, shares, bears); err != nil {
			return nil, err
		}
	case rs != nil && bears == nil && !awaited && rest == 0 && splitFits(rs, take, weights):
		// A credit of a line whose discounts nodes funded, re-split as
		// the sale was (creditSplit).
		copy(parts, rs)
		note += ", re-split on the list price it credits, the discounts it gives back to the parts that funded them"
	default:
		if err := allocateReversal(parts, take, weights, shares, bears, true); err != nil {
			return nil, err
		}
		if err := allocateReversal(parts, rest, weights, shares, bears, false); err != nil {
			return nil, err
		}
	}
	// A reversal in proportion after a part's clawback window leaves the
	// part what it has, and its window's bearer gives back its share
	// (Clawback); one naming a bearer takes it from the bearer alone.
	var keptShare []string
	if bears == nil {
		more, err := "", error(nil)
		if keptShare, more, err = lg.keepWindows(parts, unreversed, r.keep, at, shares); err != nil {
			return nil, err
		}
		note += more
	}
	for i := range n {
		if parts[i] == 0 {
			continue
		}
		pe := lg.payee(i)
		unreversed[i] -= parts[i]
		share := makeUp
		if bears == nil || bears[i] {
			share = borne
		}
		if keptShare != nil && keptShare[i] != "" {
			share = keptShare[i]
		}
		amount, conv := lg.span(i, unreversed[i], unreversed[i]+parts[i], true)
		r.entries = append(r.entries, Entry{ID: EntryID(partID(by, pe) + "#clawback"), Line: LineID(by), Kind: KindClawback,
			Party: pe.party, Role: pe.meta.role, Amount: amount, Date: at, Plan: *lg.ctx.plan,
			Node: pe.meta.node, Share: share, Service: service, Offer: lg.ctx.offer, Route: lg.ctx.route, Seller: lg.ctx.seller,
			Reverses: EntryID(shares[i].Key), Note: note, Conversion: conv, Trace: trace})
	}
	if err := r.releaseAwaiting(lg, &nl, parts, by, at, note, trace); err != nil {
		return nil, err
	}
	// What the parties' rolling reserves hold of the parts meets the
	// clawbacks first.
	r.drawRolling(lg, &nl, parts, by, at, note, service, trace)
	return &nl, nil
}

// splitFits reports whether parts, a credit's re-split, take x in all,
// none more than it has unreversed.
func splitFits(parts []int64, x int64, unreversed []int64) bool {
	var sum int64
	for i, p := range parts {
		if p < 0 || p > unreversed[i] {
			return false
		}
		sum += p
	}
	return sum == x
}

// allocateReversal adds to parts x (>= 0) split over the parts whose bears
// flag is in (every part when bears is nil) in proportion to their
// unreversed amounts, by largest remainder keyed by the shares' keys (the
// parts' entry ids). Largest remainder never takes more than a part has
// left (each part is at most ceil(x·u/U) <= u when x <= U) and x = U takes
// exactly what is left, so a full credit nets every party to zero; a fresh
// allocation of the credited amount would not (largest remainder is not
// monotone in the total).
//
// A part whose bearer owed beyond it (ShortfallBearerOwes) has a negative
// unreversed amount: when the parts split over have some, their share of
// x, T = x × owed / U half up (owed what they have below zero in all, U
// what all the parts split over have unreversed), is split over them by
// largest remainder in proportion to what each owes and given back to
// them, and the other parts give back x + T in proportion to what they
// have. T is at most owed and x + T at most what the others have, so no
// part passes zero either way, and x = U takes from each part exactly what
// it has unreversed, giving each owing part back what it owes.
func allocateReversal(parts []int64, x int64, unreversed []int64, shares []ensemble.Share, bears []bool, in bool) error {
	if x == 0 {
		return nil
	}
	var owed, left int64
	for i, u := range unreversed {
		if bears != nil && bears[i] != in {
			continue
		}
		left += u
		if u < 0 {
			owed -= u
		}
	}
	if owed != 0 {
		back := basisShare(owed, x, left, false)
		neg := make([]bool, len(parts))
		for i, u := range unreversed {
			neg[i] = u < 0 && (bears == nil || bears[i] == in)
		}
		w := make([]int64, len(parts))
		for i, u := range unreversed {
			if neg[i] {
				w[i] = -u
			}
		}
		got := make([]int64, len(parts))
		if err := allocateOver(got, back, w, shares, neg); err != nil {
			return err
		}
		for i, g := range got {
			parts[i] -= g
		}
		pos := make([]bool, len(parts))
		for i, u := range unreversed {
			pos[i] = u >= 0 && (bears == nil || bears[i] == in)
		}
		clear(got)
		if err := allocateOver(got, x+back, unreversed, shares, pos); err != nil {
			return err
		}
		for i, g := range got {
			parts[i] += g
		}
		return nil
	}
	for i := range shares {
		w := unreversed[i]
		if bears != nil && bears[i] != in {
			w = 0
		}
		shares[i].Weight = ensemble.RatioFromInt(w)
	}
	if bears == nil {
		return ensemble.AllocateUnits(parts, x, shares, ensemble.AllocateOptions{})
	}
	got := make([]int64, len(parts))
	if err := ensemble.AllocateUnits(got, x, shares, ensemble.AllocateOptions{}); err != nil {
		return err
	}
	for i, g := range got {
		parts[i] += g
	}
	return nil
}

// allocateOver sets out to x split over the parts flagged in, in
// proportion to weights w, by largest remainder keyed by the shares' keys.
func allocateOver(out []int64, x int64, w []int64, shares []ensemble.Share, in []bool) error {
	if x == 0 {
		return nil
	}
	for i := range shares {
		var wi int64
		if in[i] {
			wi = w[i]
		}
		shares[i].Weight = ensemble.RatioFromInt(wi)
	}
	return ensemble.AllocateUnits(out, x, shares, ensemble.AllocateOptions{})
}

// owedBeyond sets parts, for a credit its bearer owes beyond what it has
// (ShortfallBearerOwes), to what each of the bearer's parts gives back:
// all it has unreversed, and its share of the excess (what the credit
// takes beyond that) in proportion to its amount (equally, by largest
// remainder keyed by entry id, when the bearer's parts all have none).
func owedBeyond(parts []int64, excess int64, amounts, unreversed []int64, shares []ensemble.Share, bears []bool) error {
	w := make([]int64, len(parts))
	var sum int64
	for i := range parts {
		if bears[i] {
			w[i] = amounts[i]
			sum += amounts[i]
		}
	}
	if sum == 0 {
		for i := range parts {
			if bears[i] {
				w[i] = 1
			}
		}
	}
	if err := allocateOver(parts, excess, w, shares, bears); err != nil {
		return err
	}
	for i := range parts {
		if bears[i] {
			parts[i] += unreversed[i]
		}
	}
	return nil
}

// owing reports whether a part of lg has a negative unreversed amount:
// its bearer owed a credit beyond it (ShortfallBearerOwes).
func (lg *ledger) owing() bool {
	for i := range lg.parts() {
		if lg.unreversed(i) < 0 {
			return true
		}
	}
	return false
}

// cannotOwe says why the parts bears flags cannot give back beyond what
// they have unreversed on lg (ShortfallBearerOwes), "" when they can: not
// on a line with a balance on collection, whose parts' awaiting amounts
// stay within [0, unreversed], nor on a supplier cost owed in another
// currency, whose conversion is kept within the part's amount, nor on a
// line an open dispute of an amount holds, whose parts keep their shares
// of it.
func (lg *ledger) cannotOwe(bears []bool) string {
	switch {
	case lg.disputed():
		return "an open dispute of part of the line holds each part's share of the amount disputed, which a credit while it is open leaves to the part"
	case lg.coll != nil && lg.coll.onSettlement:
		return "the line is a receivable of its invoice (a settler with a plan payable on collection spreads the invoice's payments over its lines), whose balance is kept within what its parts have unreversed"
	case lg.coll != nil:
		return "the line has a balance on collection, whose parts await the customer's payment within what they have unreversed"
	}
	for i, ok := range bears {
		if ok && lg.source(i) != nil {
			return fmt.Sprintf("its part %q is a supplier cost owed in %s, converted within the part's amount", string(lg.entryID(i)), lg.source(i).cur)
		}
	}
	return ""
}

// Dispute opens a dispute on a settled line at instant at (stored in UTC): every part's
// unreversed amount is held (KindHold entries) until ResolveDispute, less
// what is withheld from it already, so that no money is withheld twice: on
// a line payable on collection, what still awaits the customer's payment
// (a line not paid at all holds nothing more); and what reserves still
// hold of the part at instant at, its leaf's (Node.Reserve) and its
// party's rolling reserve (PartyReserve), each until its release date. A
// part whose reserves hold all it has unreversed gets no hold; the hold's
// note names what the reserves hold ("dispute 1 opened, beside EUR 150.00
// reserves hold"), and the State records it (LedgerPart.HeldByReserves).
//
// A disputed line pays nothing until the dispute is resolved, so what the
// reserves hold the dispute holds from their releases on: each reserve
// still holding some of the part gets a hold dated at its release date
// ("<part id>#hold.<n>.rolling" for the party's rolling reserve, first,
// "...#hold.<n>.reserve" for the leaf's, together what the reserves
// hold of the part up to what it has unreversed), which the State records
// (LedgerPart.HeldAtRelease) and the resolution releases. A reseller paid
// 300.00 of which a leaf reserve holds 150.00 for 30 days gets a hold of
// 150.00, not 300.00, and one of 150.00 at the reserve's release: its
// statement withholds the 300.00 it earned, not 450.00, before the
// release and after it (the release was payable while the line was
// disputed).
//
// On a line payable on collection, the leaf's reserves are those of what
// each payment (or reversal borne by others) made payable, which the
// State records (LedgerPart.CollectReserves; see PayableOnCollection):
// the dispute holds what was made payable less what they still hold, and
// each from its release on, in the order they were held
// ("...#hold.<n>.reserve", then "...#hold.<n>.reserve.2" and on, released
// as "...#release.<n>.reserve.2"). A line of a State written before they
// were recorded (binary version 13 or earlier) has none: its dispute
// holds all that was made payable, their reserves' share included, which
// is withheld twice until the dispute is resolved or the reserve
// released, never paid early.
//
// Errors, each a *LineError naming the line, with st unchanged: an
// unknown line (ErrUnknownLine), a line already disputed (ErrDisputed),
// an instant at before year 1 or after 9999, which the State and entries
// could not be written with (ErrInvalidDispute, naming "at"), and a line
// whose plan version the settler does not hold, whose leaves' reserves it
// cannot know (a *PlanVersionError, ErrUnknownPlanVersion).
func (s *Settler) Dispute(st State, line LineID, at time.Time) (Result, error) {
	return s.dispute(st, line, nil, at)
}

// DisputeAmount opens a dispute of amount, part of what a settled line has
// unreversed (of its basis: net of tax, or gross under a gross plan, as a
// credit of the line reverses), at instant at, as a customer disputes 40%
// of a usage line or a card dispute carries an amount less than the
// charge. Each part's hold is its share of amount, in proportion to what
// it has unreversed and exact by largest remainder keyed by the parts'
// entry ids (as a credit of amount splits it), less what is withheld of
// that share already: what awaits the customer's payment of it (a line
// payable on collection), then what reserves still hold of the part, up
// to the share, which the dispute holds from their releases on (see
// Dispute). The rest of each part stays payable: a EUR 1,000.00 line paid
// 20% / 30% / 50% to the platform, a reseller and a vendor, 400.00 of it
// disputed, holds 80.00 / 120.00 / 200.00 and leaves 120.00 / 180.00 /
// 300.00 earned. A part its bearer owed beyond (ShortfallBearerOwes,
// below zero) gets its share back, as from a lost dispute of amount: it
// holds nothing, and the others' shares add up to amount and that
// (TestDisputeAmountOfALineItsBearerOwedBeyond). The holds sum to the
// shares above zero less what is withheld of them already; the State records amount (LedgerLine.DisputedAmount)
// and the holds' notes say it ("dispute 1 of EUR 400.00 of EUR 1,000.00
// unreversed opened").
//
// A dispute of all the line has unreversed is Dispute's, entry for entry.
// Resolving it (ResolveDispute, ResolveDisputeWith): won, the holds are
// released; lost, ResolveDispute claws back amount, each part its share,
// and the line keeps the rest; ResolveDisputeWith may lose up to amount
// (more, up to what the line has unreversed, is ErrInvalidDispute naming
// both).
//
// While it is open the customer pays, and may be credited, what it does
// not dispute. A payment (Settler.Collect, of a line payable on collection
// or a receivable) takes up to the undisputed amount unpaid: what the
// customer owes on the line less the share of its total the amount
// stands for (total × amount / basis, half up, what losing it takes off
// what is owed); it is made payable to the parties as any payment, by
// their shares, less their leaves' reserves (a payment of the line's
// invoice goes to it in proportion to that amount). A credit of the line
// takes up to the undisputed amount uncredited, what the line has
// unreversed less the amount, and is reversed as any credit from what
// each part has beyond its share of the amount (a bearer's parts count
// that much; its shares, holds and what awaits payment of them stay, and
// a party's rolling reserve meets the clawback only beyond what the
// dispute holds of it from its release on). A
// payment or credit reaching into the amount is a *DisputedAmountError
// (ErrDisputed) naming the line, the amount disputed and what is left
// undisputed. A EUR 1,000.00 line payable on collection, 400.00 of it
// disputed, takes the customer's 600.00 and a credit note of 100.00; lost,
// the 400.00 is clawed back and each party nets its share of the 500.00
// the customer paid in the end, a refund of 100.00 being due to it
// (TestDisputeAmountOpenTakesPaymentAndCredit). A whole dispute (Dispute)
// is that rule with everything disputed: nothing is left undisputed, and
// a payment or a credit of the line is ErrDisputed. A write-off of the
// line waits for the end of any dispute (ErrDisputed; one of its invoice
// skips it), as do a credit documenting lost disputes (Line.Dispute) and
// a credit of a line whose bearer owed beyond its part (ShortfallBearerOwes).
//
// Errors, each a *LineError naming the line, with st unchanged: those of
// Dispute, and an amount that is zero, negative, not whole minor units,
// in another currency than the line's, or more than the line has
// unreversed (ErrInvalidDispute wrapping an *ensemble.ValidationError
// naming "amount" and the amount unreversed).
func (s *Settler) DisputeAmount(st State, line LineID, amount ensemble.Money, at time.Time) (Result, error) {
	return s.dispute(st, line, &amount, at)
}

// dispute opens a dispute of line of amount (nil: all it has
// unreversed) at instant at.
func (s *Settler) dispute(st State, line LineID, amount *ensemble.Money, at time.Time) (Result, error) {
	lg := st.lines.get(line)
	if lg == nil {
		return Result{}, lineErr(line, "", "", "", ErrUnknownLine)
	}
	if lg.disputed() {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", ErrDisputed)
	}
	if lg.disputeCount() == math.MaxInt32 {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: too many disputes", ErrDisputed))
	}
	left := lg.basis - lg.credited
	disputed := left
	if amount != nil {
		u, err := checkDisputed(*amount, lg.ctx.cur, left, at)
		if err != nil {
			return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", err)
		}
		disputed = u
	} else if err := checkDisputeDate(at); err != nil {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", err)
	}
	shares, err := disputeShares(lg, disputed)
	if err != nil {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", err)
	}
	at = at.UTC()
	reserved, err := s.reservedAt(lg, at)
	if err != nil {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", err)
	}
	r := s.newRun(context.Background(), st, 0)
	defer r.release()
	nl := *lg
	d := lg.disputes.carried()
	d.count, d.open, d.held = d.count+1, true, make([]int64, lg.parts())
	if disputed != left {
		d.amount = disputed // part of it: a whole dispute records none
	}
	nl.disputes = &d
	seq := strconv.Itoa(int(nl.disputes.count))
	note := "dispute " + seq + " opened"
	if disputed != left {
		note = "dispute " + seq + " of " + ensemble.MoneyFromMinor(disputed, lg.ctx.cur).String() + " of " +
			ensemble.MoneyFromMinor(left, lg.ctx.cur).String() + " unreversed opened"
	}
	for i := range nl.disputes.held {
		// The part's share of what is disputed (all it has unreversed, of
		// a whole dispute), less what awaits the customer's payment of it,
		// which is held back already; a part whose bearer owed beyond it
		// (its share zero or less) has nothing to hold.
		u := shares[i] - min(shares[i], lg.awaitingAt(i))
		// So is what reserves still hold (of a line on collection, those
		// of its payments, ledger.onPay), up to u: the dispute holds it from
		// each reserve's release on, the rolling reserve's first (it
		// never holds more than the part has unreversed).
		var byRes int64
		var atRelease []reserveHold
		for _, h := range reserved {
			if int(h.part) != i || byRes == u {
				continue
			}
			h.units = min(h.units, u-byRes)
			byRes += h.units
			atRelease = append(atRelease, h)
		}
		if byRes > 0 {
			if nl.disputes.byReserves == nil {
				nl.disputes.byReserves = make([]int64, lg.parts())
			}
			nl.disputes.byReserves[i] = byRes
			nl.disputes.atRelease = append(nl.disputes.atRelease, atRelease...)
		}
		u -= byRes
		nl.disputes.held[i] = u
		if u != 0 {
			n := note
			if byRes > 0 {
				n += ", beside " + ensemble.MoneyFromMinor(byRes, lg.ctx.cur).String() + " reserves hold"
			}
			r.entries = append(r.entries, holdEntry(&nl, i, "#hold."+seq, KindHold, u, at, n))
		}
		ks := leafCounts(atRelease)
		for k, h := range atRelease {
			r.entries = append(r.entries, holdEntry(&nl, i, h.suffix("hold", seq, ks[k]), KindHold, h.units, h.until,
				"dispute "+seq+" holds "+h.what()+" released while it is open"))
		}
	}
	if err := duplicateEntry(r.entries); err != nil {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", err)
	}
	r.st.lines.put(line, &nl)
	r.st.seal()
	return Result{Entries: r.entries, State: r.st}, nil
}

// ResolveDispute closes a line's open dispute at instant at. Won: the
// holds are released (KindRelease). Lost: the holds are released and
// every unreversed amount is clawed back (KindClawback), what reserves
// still hold of it included (see ResolveDisputeWith), so every party
// nets to zero on the line, as after a full credit note; a lost dispute
// of an amount (DisputeAmount) claws back that amount, each part its
// share (what it held, what awaits payment of it and what reserves hold of
// it), and the line keeps the rest. Those clawbacks
// are keyed by the dispute: Line "<line>#dispute.<n>" and ids
// "<line>#dispute.<n>:node/path#clawback", n counting the line's disputes.
// ResolveDisputeWith says what was lost, who bears it, and a fee.
func (s *Settler) ResolveDispute(st State, line LineID, won bool, at time.Time) (Result, error) {
	o := DisputeOutcome{Won: won}
	if lg := st.lines.get(line); !won && lg != nil {
		o.Lost = ensemble.MoneyFromMinor(lg.basis-lg.credited, lg.ctx.cur)
		if lg.disputed() {
			o.Lost = ensemble.MoneyFromMinor(lg.disputedUnits(), lg.ctx.cur) // what it disputes
		}
	}
	return s.ResolveDisputeWith(st, line, o, at)
}

// DisputeOutcome is how a dispute ended (ResolveDisputeWith): won, or what
// it lost and who bears that, and the dispute fee a party is charged.
type DisputeOutcome struct {
	// Won: the dispute is won: the holds are released and nothing is
	// clawed back. Lost and Bearer are then zero.
	Won bool `json:"won,omitempty"`
	// Lost is what a lost dispute lost, in the line's currency and of its
	// basis (net of tax, or gross under a gross plan, as a credit of the
	// line reverses): positive, at most what the dispute disputes (all the
	// line has unreversed, or DisputeAmount's amount: more, up to what the
	// line has unreversed, is ErrInvalidDispute naming both; more than
	// that is ErrOverCredit). All it disputes is a lost dispute, as
	// ResolveDispute's; less is a partly lost one. There is no default: a
	// lost dispute that does not say what it lost is refused. On a line
	// payable on collection it takes what the customer won back off what
	// the customer owes: total × Lost / basis of the line's total, tax
	// included, rounded half up (100.00 of a 167.74 line billed 192.86
	// takes 114.98 off, LedgerLine.UndocumentedOwed). The credit note
	// documenting it (DisputeDocuments) moves no money, but its own total
	// (net plus tax, its tax computed per component) then replaces that
	// share, within MaxNoteRounding: a note of 100.00 + 14.97 leaves the
	// customer owing the invoice less 114.97; further off, it is
	// ErrDocumentedTotal, naming both amounts.
	Lost ensemble.Money `json:"lost,omitzero"`
	// Bearer bears what was lost, as a credit line's Bearer: zero reverses
	// every part in proportion to what it has unreversed.
	Bearer Bearer `json:"bearer,omitzero"`
	// Fee is the dispute fee (the card network's or the processor's)
	// charged to a party, won or lost; zero: none.
	Fee DisputeFee `json:"fee,omitzero"`
}

// DisputeFee is a dispute fee charged to a party: a KindFee entry of
// -Amount to Party, with id "<line>#dispute.<n>:fee".
type DisputeFee struct {
	// Party is who pays it: the seller, a supplier, or the platform
	// itself; any valid partner id.
	Party partner.ID `json:"party"`
	// Amount is the fee: positive whole minor units of the line's
	// currency.
	Amount ensemble.Money `json:"amount"`
}

// ErrInvalidDispute reports a dispute of an amount that is not positive
// whole minor units of the line's currency, at most what it has
// unreversed (Settler.DisputeAmount), and a dispute outcome that does not
// say what happened: a lost dispute without the amount lost or losing
// more than it disputed, a won one that lost
// something or names a bearer, a fee without a party or with an amount
// that is not positive whole minor units of the line's currency; and a
// dispute opened or resolved at an instant settlement cannot record
// (field "at": before year 1, or after 9999, which the JSON of its State
// and entries could not write). It wraps an *ensemble.ValidationError
// naming every field at fault.
var ErrInvalidDispute = errors.New("settlement: invalid dispute")

// ResolveDisputeWith closes a line's open dispute at instant at (stored in
// UTC) as o says. Every hold is released (KindRelease). A lost dispute
// then claws back what it lost (KindClawback; Line "<line>#dispute.<n>",
// ids "<line>#dispute.<n>:node/path#clawback"): from every part in
// proportion to what it has unreversed, or from o.Bearer's parts (see
// Bearer), and the line keeps the rest; all of it nets every party to zero
// on the line. A fee is a KindFee entry charged to its party (Line
// "<line>#dispute.<n>", id "<line>#dispute.<n>:fee"), whatever the outcome.
// The entries' notes say the outcome: "dispute 2 won", "dispute 2 lost",
// "dispute 2 partly lost".
//
// The customer's credit note for what a dispute lost documents it: settle
// its lines with Line.Dispute DisputeDocuments and they reverse nothing
// more (the State records what they documented, LedgerLine.Documented). A
// credit of the line that does not say whether it documents the loss is
// ErrUndocumentedDispute until credits document all the disputes lost; a
// credit besides them (DisputeSeparate) reverses as any credit.
//
// Reserves: the holds released are what the dispute held, which left out
// what reserves held when it opened (see Dispute), and its holds at the
// reserves' releases, each released at instant at or, when the reserve is
// released later, at the release ("<part id>#release.<n>.rolling",
// "...#release.<n>.reserve"): so a won dispute pays the reserve at its
// release or at the resolution, whichever is later, and a disputed line
// pays nothing before. A lost dispute claws
// back each part's share of what was lost from all the part has
// unreversed, what its reserves still hold included, as a credit does.
// The party's rolling reserve meets it first (PartyReserve): up to what it
// still holds is released at instant at, and its scheduled release is
// lessened by as much. A leaf's reserve (Node.Reserve) is not drawn on, by
// a dispute as by a credit: it is released at its date as scheduled, so
// until then the party's balance is short by it (a negative balance
// carries forward), and the release makes it whole. Either way the part
// nets what it would without reserves, nothing held twice or released
// twice. A reseller paid EUR 300.00, 150.00 of it in a leaf reserve until
// March 31, whose dispute opened on March 6 (a hold of 150.00) is lost in
// full on March 10: the 150.00 hold is released and 300.00 clawed back, so
// it stands at -150.00, with 150.00 withheld, until the reserve's release
// on March 31 brings it to zero.
//
// On a line payable on collection, a lost dispute takes what the customer
// won back off what it owes (what it paid goes back to it, a chargeback);
// credits netted on the line from another invoice and still pending go to
// the invoice's other lines that owe (collection "<line>#netted"), as a
// credit note's excess does; a lost dispute that closes the line settles
// the credits it lent (see Settler.Collect).
//
// Errors, each a *LineError naming the disputed line, with st unchanged:
// an unknown line (ErrUnknownLine), no open dispute (ErrNotDisputed), an
// invalid outcome (ErrInvalidDispute), more lost than the line has
// unreversed (ErrOverCredit), a bearer that cannot bear it (*BearerError);
// an instant at before year 1 or after 9999 is an invalid outcome too.
func (s *Settler) ResolveDisputeWith(st State, line LineID, o DisputeOutcome, at time.Time) (Result, error) {
	lg := st.lines.get(line)
	if lg == nil {
		return Result{}, lineErr(line, "", "", "", ErrUnknownLine)
	}
	if !lg.disputed() {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", ErrNotDisputed)
	}
	left := lg.basis - lg.credited
	lost, err := o.check(lg.ctx.cur, lg.disputedUnits(), left, at)
	if err != nil {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: %w", ErrInvalidDispute, err))
	}
	at = at.UTC()
	r := s.newRun(context.Background(), st, 0)
	defer r.release()
	nl := *lg
	d := lg.disputes.carried()
	nl.disputes = &d
	seq := strconv.Itoa(int(nl.disputes.count))
	outcome := "won"
	switch {
	case o.Won:
	case lost < lg.disputedUnits():
		outcome = "partly lost"
	default:
		outcome = "lost"
	}
	for i, h := range lg.disputes.held {
		if h != 0 {
			r.entries = append(r.entries, holdEntry(&nl, i, "#release."+seq, KindRelease, h, at, "dispute "+seq+" "+outcome))
		}
	}
	ks := leafCounts(lg.disputes.atRelease)
	for k, h := range lg.disputes.atRelease {
		// What the dispute holds from a reserve's release on, released
		// with the rest, or at the release when that is later.
		r.entries = append(r.entries, holdEntry(&nl, int(h.part), h.suffix("release", seq, ks[k]), KindRelease, h.units, later(at, h.until),
			"dispute "+seq+" "+outcome+", "+h.what()+" released"))
	}
	by := string(line) + "#dispute." + seq
	if !o.Won {
		if nl.coll != nil {
			// What the customer won back comes off what it owes: the
			// share of the total the lost basis stands for.
			nl.coll = nl.coll.clone()
			won := totalShare(lost, nl.basis, nl.coll.total)
			over := max(0, nl.coll.credited+won-nl.coll.total)
			before := nl.coll.credited
			nl.coll.creditTotal(won)
			if !nl.coll.onSettlement {
				// What a documenting credit note's own total replaces.
				nl.disputes.undocOwed += nl.coll.credited - before
			}
			// What the customer won back beyond the line's total (credits
			// netted on it from another invoice) goes to the invoice's
			// other lines that owe, as a credit's excess does, before the
			// reversal, which then sees what stays pending; what it had
			// paid goes back to it (a chargeback), so no cash spills.
			if err := r.spillPending(&Line{ID: line, Date: at}, &nl, over); err != nil {
				return Result{}, lineErr(line, nl.ctx.plan.ID, "", "", err)
			}
		}
		trace := append(slices.Clone(nl.trace), ensemble.Ref{Kind: RefLine, ID: string(line)})
		out, err := r.reverse(&nl, lost, by, at, "dispute "+seq+" "+outcome, trace, &o.Bearer, false)
		if err != nil {
			return Result{}, lineErr(line, nl.ctx.plan.ID, "", "", err)
		}
		nl.disputes.lost += out.credited - nl.credited // what it took back (see reverse)
		if out.credited > nl.credited {
			nl.disputes.lastLost = nl.disputes.count // what a credit note of it documents (Line.Dispute)
		}
		nl = *out
	}
	if nl.coll != nil { // what was paid while the dispute held the line
		out, err := r.catchUp(&nl, &Collection{ID: by, Date: at, Invoice: nl.coll.invoice}, at)
		if err != nil {
			return Result{}, lineErr(line, nl.ctx.plan.ID, "", "", err)
		}
		nl = *out
	}
	if f := o.Fee; !f.Amount.IsZero() {
		c := nl.ctx
		r.entries = append(r.entries, Entry{ID: EntryID(by + ":fee"), Line: LineID(by), Kind: KindFee, Party: f.Party, Amount: f.Amount.Neg(),
			Date: at, Plan: *c.plan, Service: c.service, Offer: c.offer, Route: c.route, Seller: c.seller, Note: "dispute " + seq + " fee, " + outcome,
			Trace: append(slices.Clone(nl.trace), ensemble.Ref{Kind: RefLine, ID: string(line)})})
	}
	r.st.lines.put(line, &nl)
	// A lost dispute may close the line (and the lines its spill paid):
	// their credits netted on other invoices are then settled.
	var invs []string
	if nl.coll != nil {
		invs = append(invs, nl.coll.invoice)
	}
	if err := r.settleInvoices(r.st.lines.get(line), at, invs...); err != nil {
		return Result{}, lineErr(line, nl.ctx.plan.ID, "", "", err)
	}
	if err := duplicateEntry(r.entries); err != nil {
		return Result{}, lineErr(line, nl.ctx.plan.ID, "", "", err)
	}
	r.st.seal()
	return Result{Entries: r.entries, State: r.st}, nil
}

// check returns what o, resolving a dispute of disputed at instant at,
// loses in minor units of cur, given what the line has left unreversed, or
// an *ensemble.ValidationError naming every field at fault (at among them,
// when settlement cannot record it). More lost than disputed, up to left,
// is at fault; more than left is reverse's ErrOverCredit.
func (o *DisputeOutcome) check(cur ensemble.Currency, disputed, left int64, at time.Time) (int64, error) {
	var p ensemble.Problems
	if err := checkInstant(at); err != nil {
		p.Add("at", err) // its entries are dated at it
	}
	var lost int64
	money := func(path string, m ensemble.Money) (int64, bool) {
		if c := m.Currency(); !c.IsZero() && c != cur {
			p.Add(path, fmt.Errorf("%w: %s on a %s line", ErrCurrency, m, cur))
			return 0, false
		}
		u, err := keptUnits(m)
		if err != nil {
			p.Add(path, err)
			return 0, false
		}
		return u, true
	}
	if u, ok := money("lost", o.Lost); ok {
		lost = u
		switch {
		case o.Won && u != 0:
			p.Addf("lost", "a won dispute loses nothing, not %s", o.Lost)
		case u < 0:
			p.Addf("lost", "negative amount lost %s", o.Lost)
		case !o.Won && u == 0 && left > 0 && disputed == left:
			p.Addf("lost", "a lost dispute says what it lost: up to the %s the line has unreversed", ensemble.MoneyFromMinor(left, cur))
		case !o.Won && u == 0 && disputed > 0:
			p.Addf("lost", "a lost dispute says what it lost: up to the %s disputed", ensemble.MoneyFromMinor(disputed, cur))
		case u > disputed && u <= left:
			p.Addf("lost", "lost %s, more than the %s disputed (of %s unreversed)", o.Lost, ensemble.MoneyFromMinor(disputed, cur), ensemble.MoneyFromMinor(left, cur))
		}
	}
	if o.Won && !o.Bearer.IsZero() {
		p.Addf("bearer", "a won dispute reverses nothing, so nobody bears it")
	}
	if o.Bearer.Shortfall == ShortfallBearerOwes {
		p.Addf("bearer.shortfall", "a lost dispute's bearer gives back at most what it has (shortfall error or proportional), not bearer_owes: "+
			"a credit line can name it")
	}
	o.Bearer.validate(&p, "bearer")
	if f := o.Fee; f != (DisputeFee{}) {
		if err := ensemble.CheckID(string(f.Party), ensemble.EntrySeparators); err != nil {
			p.Add("fee.party", err)
		}
		if u, ok := money("fee.amount", f.Amount); ok && u <= 0 {
			p.Addf("fee.amount", "a fee is a positive amount, not %s", f.Amount)
		}
	}
	return lost, p.Err("dispute outcome")
}

// checkDisputed returns amount, a dispute of a line of currency cur with
// left unreversed opened at instant at, in minor units, or
// ErrInvalidDispute and an *ensemble.ValidationError naming "amount" (not
// positive whole minor units of cur, or more than left) and "at".
func checkDisputed(amount ensemble.Money, cur ensemble.Currency, left int64, at time.Time) (int64, error) {
	var p ensemble.Problems
	var u int64
	if c := amount.Currency(); !c.IsZero() && c != cur {
		p.Add("amount", fmt.Errorf("%w: %s on a %s line", ErrCurrency, amount, cur))
	} else if k, err := keptUnits(amount); err != nil {
		p.Add("amount", err)
	} else {
		u = k
		switch {
		case k <= 0:
			p.Addf("amount", "a dispute disputes a positive amount, up to the %s the line has unreversed, not %s", ensemble.MoneyFromMinor(left, cur), amount)
		case k > left:
			p.Addf("amount", "disputed %s, more than the %s the line has unreversed", amount, ensemble.MoneyFromMinor(left, cur))
		}
	}
	if err := checkInstant(at); err != nil {
		p.Add("at", err)
	}
	if err := p.Err("dispute"); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidDispute, err)
	}
	return u, nil
}

// checkDisputeDate refuses a dispute opened at an instant settlement
// cannot record (checkInstant): ErrInvalidDispute and an
// *ensemble.ValidationError naming "at".
func checkDisputeDate(at time.Time) error {
	var p ensemble.Problems
	if err := checkInstant(at); err != nil {
		p.Add("at", err)
	}
	if err := p.Err("dispute"); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidDispute, err)
	}
	return nil
}

// holdEntry returns the hold or release (kind) of units of part i, with
// id "<the part's entry id><suffix>".
func holdEntry(lg *ledger, i int, suffix string, kind EntryKind, units int64, at time.Time, note string) Entry {
	id, pe := lg.entryID(i), lg.payee(i)
	// A hold takes what the part has unreversed and no payment awaits,
	// off the top of what it has unreversed (which a release finds as the
	// hold left it: an open dispute refuses credits and payments, but, of
	// a dispute of an amount, a credit of what the part has beyond its
	// share, in the line's currency alike).
	u := lg.unreversed(i)
	amount, conv := lg.span(i, u-units, u, false)
	return Entry{ID: id + EntryID(suffix), Line: lg.line, Kind: kind, Party: pe.party, Role: pe.meta.role, Amount: amount,
		Date: at, Plan: *lg.ctx.plan, Node: pe.meta.node, Service: lg.ctx.service, Offer: lg.ctx.offer, Route: lg.ctx.route, Seller: lg.ctx.seller, Reverses: id,
		Note: note, Conversion: conv, Trace: append(slices.Clone(lg.trace), ensemble.Ref{Kind: RefLine, ID: string(lg.line)})}
}

// Adjustment is a manual correction of a party's balance, with the reason
// and the approver finance requires.
type Adjustment struct {
	ID       string         `json:"id"`
	Party    partner.ID     `json:"party"`
	Amount   ensemble.Money `json:"amount"`
	Date     time.Time      `json:"date"`
	Reason   string         `json:"reason"`
	Approver string         `json:"approver"`
	// Line is the line the adjustment is about, if any (for traces only:
	// it does not change what a credit can reverse).
	Line LineID `json:"line,omitempty"`
}

// Adjust returns the entry of a manual adjustment: id "adjustment:<id>",
// kind adjustment, the reason as note and the approver. Every missing
// field is reported at once (ErrInvalidAdjustment); the amount must be
// non-zero, whole minor units, and the date within the years 1 to 9999
// (the entry is written as JSON, which writes no later date).
func Adjust(a Adjustment) (Entry, error) {
	var p ensemble.Problems
	if err := ensemble.CheckID(a.ID, ensemble.EntrySeparators); err != nil {
		p.Add("id", err)
	}
	if err := ensemble.CheckID(string(a.Party), ensemble.EntrySeparators); err != nil {
		p.Add("party", err)
	}
	if a.Amount.IsZero() || !a.Amount.IsRounded() {
		p.Addf("amount", "amount must be non-zero whole minor units")
	}
	if a.Date.IsZero() {
		p.Addf("date", "zero date")
	} else if err := checkInstant(a.Date); err != nil {
		p.Add("date", err)
	}
	if a.Reason == "" {
		p.Addf("reason", "an adjustment needs a reason")
	}
	if a.Approver == "" {
		p.Addf("approver", "an adjustment needs an approver")
	}
	if err := p.Err(fmt.Sprintf("adjustment %q", a.ID)); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrInvalidAdjustment, err)
	}
	e := Entry{ID: EntryID("adjustment:" + a.ID), Line: a.Line, Kind: KindAdjustment, Party: a.Party, Amount: a.Amount,
		Date: a.Date, Note: a.Reason, Approver: a.Approver}
	if a.Line != "" {
		e.Trace = []ensemble.Ref{{Kind: RefLine, ID: string(a.Line)}}
	}
	return e, nil
}
