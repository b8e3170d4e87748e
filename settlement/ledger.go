package settlement

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// clawback settles a credit line: it reverses the credited line's
// earnings and supplier costs in proportion to each part's unreversed
// amount. Largest remainder over the unreversed amounts never takes more
// than a part has left (each part is at most ceil(x·u/U) <= u when x <= U)
// and a full credit takes exactly what is left, so every party nets to
// zero. A fresh allocation of the credited amount would not: largest
// remainder is not monotone in the total.
func (r *run) clawback(l *Line) error {
	lg := r.st.lines[l.Credits]
	if lg == nil {
		return lineErr(l.ID, "", "", "", fmt.Errorf("%w: credits %q", ErrUnknownLine, l.Credits))
	}
	if lg.disputed() {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: credits %q", ErrDisputed, l.Credits))
	}
	if l.Currency() != lg.ctx.cur {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: credit in %s of a %s line", ErrCurrency, l.Currency(), lg.ctx.cur))
	}
	if err := r.s.checkBasis(lg); err != nil {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
	}
	credit, err := basisUnits(l, lg.ctx.basis == BasisGross)
	if err != nil {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
	}
	credit = -credit
	r.line = l
	trace := append(slices.Clone(l.Trace), l.Ref(), ensemble.Ref{Kind: RefLine, ID: string(lg.line)})
	nl, err := r.reverse(lg, credit, string(l.ID), l.Date, "credit of "+string(lg.line)+" by "+string(l.ID), trace)
	if err != nil {
		return lineErr(l.ID, lg.ctx.plan.ID, "", "", err)
	}
	r.st.lines[lg.line] = nl
	if r.st.credits == nil {
		r.st.credits = map[LineID]LineID{}
	}
	r.st.credits[l.ID] = lg.line
	return nil
}

// checkBasis confirms the basis kind the state records for lg against the
// settler's plan version: a version it does not hold, or one splitting the
// other basis, is a *PlanVersionError, never a guess.
func (s *Settler) checkBasis(lg *ledger) error {
	c := lg.ctx
	for _, cp := range s.plans {
		if cp.ref != *c.plan {
			continue
		}
		if cp.doc.Basis != c.basis {
			return &PlanVersionError{Line: lg.line, Plan: *c.plan, Basis: c.basis, Err: ErrBasisMismatch}
		}
		return nil
	}
	return &PlanVersionError{Line: lg.line, Plan: *c.plan, Basis: c.basis, Err: ErrUnknownPlanVersion}
}

// reverse takes credit (> 0) back from the line's parts in proportion to
// their unreversed amounts and returns the new ledger. Entries get ids
// "<by>:<original entry path>#clawback".
func (r *run) reverse(lg *ledger, credit int64, by string, at time.Time, note string, trace []ensemble.Ref) (*ledger, error) {
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
	nl := *lg
	nl.credited += credit
	if credit == 0 {
		return &nl, nil
	}
	n := lg.parts()
	nl.amounts = lg.withUnreversed()
	unreversed := nl.amounts[n:]
	shares := make([]ensemble.Share, n)
	for i := range n {
		shares[i] = ensemble.Share{Key: string(lg.entryID(i)), Weight: ensemble.RatioFromInt(unreversed[i])}
	}
	parts := make([]int64, n)
	if err := ensemble.AllocateUnits(parts, credit, shares, ensemble.AllocateOptions{}); err != nil {
		return nil, err
	}
	for i := range n {
		if parts[i] == 0 {
			continue
		}
		pe := lg.payee(i)
		unreversed[i] -= parts[i]
		r.entries = append(r.entries, Entry{ID: EntryID(partID(by, pe) + "#clawback"), Line: LineID(by), Kind: KindClawback,
			Party: pe.party, Role: pe.meta.role, Amount: ensemble.MoneyFromMinor(-parts[i], lg.ctx.cur), Date: at, Plan: *lg.ctx.plan,
			Node: pe.meta.node, Service: service, Offer: lg.ctx.offer, Route: lg.ctx.route, Seller: lg.ctx.seller, Reverses: EntryID(shares[i].Key), Note: note, Trace: trace})
	}
	return &nl, nil
}

// Dispute opens a dispute on a settled line at instant at (stored in UTC): every part's
// unreversed amount is held (KindHold entries) until ResolveDispute. A
// line already disputed, or unknown, is an error; st is left unchanged.
func (s *Settler) Dispute(st State, line LineID, at time.Time) (Result, error) {
	lg := st.lines[line]
	if lg == nil {
		return Result{}, lineErr(line, "", "", "", ErrUnknownLine)
	}
	if lg.disputed() {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", ErrDisputed)
	}
	if lg.disputeCount() == math.MaxInt32 {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", fmt.Errorf("%w: too many disputes", ErrDisputed))
	}
	at = at.UTC()
	r := s.newRun(context.Background(), st, 0)
	defer r.release()
	nl := *lg
	nl.disputes = &disputes{count: lg.disputeCount() + 1, open: true, held: make([]int64, lg.parts())}
	seq := strconv.Itoa(int(nl.disputes.count))
	for i := range nl.disputes.held {
		u := lg.unreversed(i)
		nl.disputes.held[i] = u
		if u == 0 {
			continue
		}
		r.entries = append(r.entries, holdEntry(&nl, i, "#hold."+seq, KindHold, u, at, "dispute "+seq+" opened"))
	}
	if err := duplicateEntry(r.entries); err != nil {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", err)
	}
	r.st.lines[line] = &nl
	return Result{Entries: r.entries, State: r.st}, nil
}

// ResolveDispute closes a line's open dispute at instant at. Won: the
// holds are released (KindRelease). Lost: the holds are released and
// every unreversed amount is clawed back (KindClawback), so every party
// nets to zero on the line, as after a full credit note. Those clawbacks
// are keyed by the dispute: Line "<line>#dispute.<n>" and ids
// "<line>#dispute.<n>:node/path#clawback", n counting the line's disputes.
func (s *Settler) ResolveDispute(st State, line LineID, won bool, at time.Time) (Result, error) {
	lg := st.lines[line]
	if lg == nil {
		return Result{}, lineErr(line, "", "", "", ErrUnknownLine)
	}
	if !lg.disputed() {
		return Result{}, lineErr(line, lg.ctx.plan.ID, "", "", ErrNotDisputed)
	}
	at = at.UTC()
	r := s.newRun(context.Background(), st, 0)
	defer r.release()
	nl := *lg
	nl.disputes = &disputes{count: lg.disputeCount()}
	seq := strconv.Itoa(int(nl.disputes.count))
	outcome := "won"
	if !won {
		outcome = "lost"
	}
	for i, h := range lg.disputes.held {
		if h != 0 {
			r.entries = append(r.entries, holdEntry(&nl, i, "#release."+seq, KindRelease, h, at, "dispute "+seq+" "+outcome))
		}
	}
	if !won {
		left := nl.basis - nl.credited
		trace := append(slices.Clone(nl.trace), ensemble.Ref{Kind: RefLine, ID: string(line)})
		out, err := r.reverse(&nl, left, string(line)+"#dispute."+seq, at, "dispute "+seq+" lost", trace)
		if err != nil {
			return Result{}, lineErr(line, nl.ctx.plan.ID, "", "", err)
		}
		nl = *out
	}
	if err := duplicateEntry(r.entries); err != nil {
		return Result{}, lineErr(line, nl.ctx.plan.ID, "", "", err)
	}
	r.st.lines[line] = &nl
	return Result{Entries: r.entries, State: r.st}, nil
}

// holdEntry returns the hold or release (kind) of units of part i, with
// id "<the part's entry id><suffix>".
func holdEntry(lg *ledger, i int, suffix string, kind EntryKind, units int64, at time.Time, note string) Entry {
	id, pe := lg.entryID(i), lg.payee(i)
	return Entry{ID: id + EntryID(suffix), Line: lg.line, Kind: kind, Party: pe.party, Role: pe.meta.role, Amount: ensemble.MoneyFromMinor(units, lg.ctx.cur),
		Date: at, Plan: *lg.ctx.plan, Node: pe.meta.node, Service: lg.ctx.service, Offer: lg.ctx.offer, Route: lg.ctx.route, Seller: lg.ctx.seller, Reverses: id,
		Note: note, Trace: append(slices.Clone(lg.trace), ensemble.Ref{Kind: RefLine, ID: string(lg.line)})}
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
// non-zero, whole minor units.
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
