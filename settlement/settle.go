package settlement

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// Result is what a settlement call returns: the new entries, in canonical
// order (line date, line id, then plan order: depth first, children in
// declaration order), and the new state.
type Result struct {
	Entries []Entry `json:"entries"`
	State   State   `json:"state"`
	// Rejections lists the lines SettleWhatYouCan did not settle (see
	// there); the other calls never set it.
	Rejections []Rejection `json:"rejections,omitempty"`
}

// Settle settles lines into payout entries and returns them with the new
// state; st is left unchanged. Lines are applied in canonical order (date,
// then id): every sale line first, then every credit line, so the result
// never depends on the order they are given in. (With volume
// net_of_credits it depends on how a stream is cut into calls: a sale reads
// a volume net of the credits of earlier calls, not of its own call's.)
//
// A sale line is split by the plan picked for its offer, route kind and
// date: supplier costs are paid first, then the root's amount is split
// level by level (fixed amounts, then ratios of the node's amount and the
// remaining child's share of what they leave, divided together with
// ensemble.AllocateUnits by largest remainder keyed by node id; the
// remaining child gives up what the fixed amounts take). A credit line (Line.Credits set) reverses the
// credited line's earnings and supplier costs in proportion to each
// part's unreversed amount (largest remainder over what is unreversed,
// never a fresh split of the credited amount), as clawback entries with
// ids "credit:node/path#clawback"; a full credit nets every party to zero.
// Credits reduce cumulative volumes only where the plan's cumulative
// shares say volume: net_of_credits (Cumulative.Volume): then the credit
// takes back from each volume the credited line added to the share of it
// the credit reverses, and lines settled after it read the reduced volume.
// Within one call every sale is settled before every credit, so a credit
// reduces the volume its call's sales read only from the next call on.
// Reserves already scheduled are released as planned and statements net
// the difference.
//
// A line in another currency than its plan's cumulative tiers adds to and
// reads the volumes in the tiers' currency, converted at Config.Rates in
// force at its date; with no rate it is refused (ErrCurrency).
//
// Errors: an invalid line (ErrInvalidLine), a line id already in st or
// given twice (ErrAlreadySettled: settling is never silently repeated), a
// line dated before st was pruned (ErrBeforeWindow, see State.Prune), no
// plan (ErrNoPlan), evaluated shares that overflow their level
// (ErrOverAllocation), a failing rule (ErrRule), an over-credit
// (ErrOverCredit) — each a *LineError naming the line, plan, node and
// rule. A credit reverses the basis kind (net or gross) the state records
// for the credited line, and only with the line's plan version at hand: a
// version the settler does not hold (ErrUnknownPlanVersion), or one that
// splits the other basis (ErrBasisMismatch), is a *PlanVersionError
// naming the credited line and version. On error nothing is returned.
// Settling stops with ctx's error when ctx is done; a nil ctx is never
// done.
//
// The entries are an array of their own, which no later call writes: a
// small call's is a window of a chunk of up to 32 KiB the settler fills
// call after call (as entry ids share chunks; see Entry), so a call of a
// few lines makes no allocation of its own for them. Appending to
// Result.Entries copies them; a host keeping a few entries of many calls
// long after dropping the rest keeps Entry.Clone's copies.
func (s *Settler) Settle(ctx context.Context, st State, lines []Line) (Result, error) {
	entries, nst, _, err := s.appendSettle(ctx, nil, st, lines, false, true)
	if err != nil {
		return Result{}, err
	}
	return Result{Entries: entries, State: nst}, nil
}

// AppendSettle is Settle appending the new entries to dst, so that a host
// settling batch after batch (and writing each batch out) reuses one
// buffer. On error it returns dst unchanged, the zero State and the error.
//
// It is also the way to settle one line per call, as a host settling each
// invoice line as it is issued does: AppendSettle(ctx, buf[:0], st, one)
// from the State the previous call returned costs a few microseconds
// (less than Settle's, whose entries are an array of their own) and
// the same whether st holds a thousand lines or a hundred thousand (a
// call copies only what it changes; see State). Write the entries out, or
// copy them into a slice of your own, before the next call overwrites buf:
// an Entry value copied out stays valid, since what entries share is never
// written again (see Entry; Entry.Clone copies one so that it shares
// nothing).
func (s *Settler) AppendSettle(ctx context.Context, dst []Entry, st State, lines []Line) ([]Entry, State, error) {
	entries, nst, _, err := s.appendSettle(ctx, dst, st, lines, false, false)
	return entries, nst, err
}

// appendSettle is AppendSettle, and with lenient SettleWhatYouCan: a line
// that fails is rolled back and returned as a Rejection. With own (Settle,
// SettleWhatYouCan), dst is nil and the entries are an array of their own:
// a window of the run's chunk of entries when they fit (entryWindow).
func (s *Settler) appendSettle(ctx context.Context, dst []Entry, st State, lines []Line, lenient, own bool) ([]Entry, State, []Rejection, error) {
	if ctx == nil { // as rules read it: never cancelled
		ctx = context.Background()
	}
	r := s.newRun(ctx, st, len(lines))
	defer r.release()
	if lenient {
		r.undo = &undoLog{}
	}
	if own {
		dst = r.entryWindow(len(lines) * s.perLine)
	}
	r.entries = slices.Grow(dst, len(lines)*s.perLine)
	fail := func(err error) ([]Entry, State, []Rejection, error) { return dst, State{}, nil, err }
	r.order = canonical(r.order[:0], lines)
	valid := 0
	for _, i := range r.order {
		l := &lines[i]
		err := l.validate()
		if err == nil {
			err = s.chainGiven(l)
		}
		if err == nil {
			err = s.routeParties(l)
		}
		if err == nil {
			err = s.knownSuppliers(l)
		}
		if err == nil && l.Date.Before(st.window) && !st.knows(l) {
			err = fmt.Errorf("%w: dated %s, the state was pruned before %s", ErrBeforeWindow,
				l.Date.UTC().Format(time.RFC3339), st.window.Format(time.RFC3339))
		}
		if err != nil {
			if err = lineErr(l.ID, "", "", "", err); !r.reject(l.ID, len(r.entries), err) {
				return fail(err)
			}
			continue
		}
		r.order[valid] = i
		valid++
	}
	r.order = r.order[:valid]
	// Every settled line and credit is recorded in the state as it is
	// settled, so an id already in the state or earlier in the batch is
	// caught when its turn comes.
	for n, i := range r.order {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return fail(err)
			}
		}
		// Stored instants are UTC, and a route names its seller both as
		// Seller and as its chain's first partner: a line dated in another
		// zone, or whose route gives the seller one way only, is read
		// through a copy, never changed in the caller's slice.
		l := &lines[i]
		if l.Date.Location() != time.UTC || !sellerFirst(&l.Route) {
			r.lc, r.lcSet = *l, true
			r.lc.Date = r.lc.Date.UTC()
			withSellerFirst(&r.lc.Route)
			l = &r.lc
		}
		var err error
		mark := len(r.entries)
		r.undoStart()
		if err := r.prepaidEarning(l); err != nil {
			if r.reject(l.ID, mark, err) {
				continue
			}
			return fail(err)
		}
		var sale *ledger // the line's ledger, if a sale
		if l.Credits == "" {
			// Insert first: one map operation instead of a lookup and an
			// insert. The maps are the call's own, and dropped on error.
			lg := r.dec.newLedger()
			sale = lg
			r.undoLine(l.ID, "")
			if was, dup := r.st.lines.put(l.ID, lg); dup || r.st.credits.has(l.ID) {
				err = lineErr(l.ID, "", "", "", resent(l, was))
			} else {
				err = r.settleSale(l, lg)
			}
		} else {
			if sale, rec := r.st.lines.get(l.ID), r.st.credits.get(l.ID); sale != nil || rec.of != "" {
				err = lineErr(l.ID, "", "", "", r.st.resentCredit(l, sale, rec))
			} else {
				r.undoLine(l.Credits, l.ID)
				err = r.clawback(l)
			}
		}
		if err == nil {
			// Ids are unique by construction (see EntryID); a line that
			// would still repeat one is refused, never emitted.
			if err = duplicateEntry(r.entries[mark:]); err != nil {
				err = lineErr(l.ID, "", "", "", err)
			}
		}
		if err != nil {
			if r.reject(l.ID, mark, err) {
				continue
			}
			return fail(err)
		}
		if sale != nil {
			r.st.indexCollection(l.ID, sale)
		}
	}
	r.dec.publish()
	r.st.seal()
	if own {
		return r.keepWindow(r.entries), r.st, r.rejected, nil
	}
	return r.entries, r.st, r.rejected, nil
}

// entryChunk is how many entries a run's chunk holds: 80 of 408 bytes fill
// the 32 KiB size class.
const entryChunk = 80

// entryWindow returns the free part of the run's chunk of entries, empty,
// for a call of Settle expecting about n entries; nil when they do not fit
// a chunk (the call's entries then take an array of their own). A fresh
// chunk replaces one with too little room: windows taken from the old one
// stay valid, since no call writes a window another took.
func (r *run) entryWindow(n int) []Entry {
	if n > entryChunk || n == 0 {
		return nil
	}
	if cap(r.chunk)-len(r.chunk) < n {
		r.chunk = make([]Entry, 0, entryChunk)
	}
	return r.chunk[len(r.chunk):len(r.chunk)]
}

// keepWindow returns entries, the entries of a call of Settle, capped so
// that appending to them copies, and takes them out of the run's chunk
// when they are a window of it (they are not when they outgrew it).
func (r *run) keepWindow(entries []Entry) []Entry {
	entries = entries[:len(entries):len(entries)]
	if free := r.chunk[len(r.chunk):cap(r.chunk)]; len(entries) > 0 && len(free) >= len(entries) && &free[:1][0] == &entries[0] {
		r.chunk = r.chunk[:len(r.chunk)+len(entries)]
	}
	return entries
}

// resent returns the error of sale l whose id the state holds, as was
// (nil: a credit's id): ErrAlreadySettled, with ErrLineConflict when was
// is a sale of other facts than l (another date, currency, basis, seller,
// route, customer...: see facts.go), or the id is a credit's.
func resent(l *Line, was *ledger) error {
	if was == nil {
		return lineConflict("line already settled with other figures: the id is a credit's")
	}
	c := was.ctx
	if c == nil { // given twice in one call, the first failed before its split
		return ErrAlreadySettled
	}
	basis, err := basisUnits(l, c.basis == BasisGross)
	if err != nil {
		return lineConflict("line already settled with other figures")
	}
	if basis != was.basis || !l.Date.Equal(was.date) || l.Currency() != c.cur {
		return lineConflict(fmt.Sprintf("line already settled with other figures: as %s on %s, not %s on %s",
			ensemble.MoneyFromMinor(was.basis, c.cur), was.date.UTC().Format(time.DateOnly),
			ensemble.MoneyFromMinor(basis, l.Currency()), l.Date.UTC().Format(time.DateOnly)))
	}
	r := &l.Route
	switch {
	case r.Kind != c.route || r.Seller != c.seller:
		return lineConflict(fmt.Sprintf("line already settled with other facts: as a %s sale by %q, not a %s sale by %q",
			c.route, c.seller, r.Kind, r.Seller))
	case l.Offer != c.offer:
		return lineConflict(fmt.Sprintf("line already settled with other facts: as offer %s, not %s", c.offer, l.Offer))
	case !l.Service.Start.Equal(c.service.Start) || !l.Service.End.Equal(c.service.End):
		return lineConflict(fmt.Sprintf("line already settled with other facts: for service %s, not %s", c.service, l.Service))
	}
	// Under a plan funding discounts the print holds them; under another
	// it does not (which the sale's plan was, the print says). A sale is
	// printed with its kind; one a state settled before kinds were printed
	// is compared without it.
	what := was.facts.differs(printFacts(l, false, true))
	for _, p := range [...]factPrint{printFacts(l, true, true), printFacts(l, false, false), printFacts(l, true, false)} {
		if what == "" {
			break
		}
		if was.facts.differs(p) == "" {
			what = ""
		}
	}
	if what != "" {
		return lineConflict("line already settled with other facts: " + what)
	}
	return ErrAlreadySettled
}

// resentCredit returns the error of credit l whose id st holds, as the
// sale sale or the credit record rec: ErrAlreadySettled, with
// ErrLineConflict when the id is a sale's, or rec credits another line or
// another amount than l.
func (st *State) resentCredit(l *Line, sale *ledger, rec creditRec) error {
	switch {
	case sale != nil:
		return lineConflict("line already settled with other figures: the id is a sale's")
	case rec.of != l.Credits:
		return lineConflict(fmt.Sprintf("line already settled with other figures: a credit of %q, not %q", rec.of, l.Credits))
	}
	credited := st.lines.get(l.Credits)
	if credited == nil || credited.ctx == nil { // pruned: the credited line is gone
		return ErrAlreadySettled
	}
	// A documenting credit's amount is what it documented (what it took
	// back besides, it took of what awaited a payment its note left no
	// longer owed).
	want := rec.units
	if rec.documented != 0 {
		want = rec.documented
	}
	u, err := basisUnits(l, credited.ctx.basis == BasisGross)
	if err != nil || -u != want {
		return lineConflict(fmt.Sprintf("line already settled with other figures: a credit of %s, not %s",
			ensemble.MoneyFromMinor(want, credited.ctx.cur), ensemble.MoneyFromMinor(-u, l.Currency())))
	}
	return ErrAlreadySettled
}

// lineConflict is a line sent again with other figures: it matches
// ErrAlreadySettled and ErrLineConflict.
type lineConflict string

func (e lineConflict) Error() string { return string(e) }

// Is reports whether target is ErrAlreadySettled or ErrLineConflict.
func (e lineConflict) Is(target error) bool {
	return target == ErrAlreadySettled || target == ErrLineConflict
}

// canonical appends to order the indexes of lines in canonical order:
// sale lines by (date, id), then credit lines by (date, id).
func canonical(order []int, lines []Line) []int {
	for i := range lines {
		order = append(order, i)
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

// run is one call: the state it builds, the entries it writes, and the
// split and decider it settles sale lines with. A call takes an idle run
// from its settler's pool (newRun) and gives it back when it returns
// (release), with nothing of the call left in it but buffers: what the
// call returned never shares memory that a later call writes.
type run struct {
	s       *Settler
	ctx     context.Context
	st      State
	owned   map[volKey]*volState // the volumes the call copied, and so may change
	mark    *callMark            // the call's, which the volumes it copied carry; made by its first copy
	accrued []volKey             // the volumes the current line accrued
	vols    []lineVolume         // what the current line added to them, which its ledger keeps
	entries []Entry
	chunk   []Entry  // the chunk the entries of small calls of Settle are windows of; entries up to len taken
	order   []int    // the call's lines in canonical order
	lc      Line     // a copy of a line dated in another zone than UTC
	lcSet   bool     // lc holds a line of the call
	line    *Line    // the line being settled
	dec     *decider // what sale lines are split with
	sp      split
	// undo records what the current line changed, so that SettleWhatYouCan
	// can take it back (nil: a call that fails as a whole); rejected lists
	// the lines it took back.
	undo     *undoLog
	rejected []Rejection
	// resplit is what the credit being settled takes from each part of
	// the line it credits, re-split as the sale was (creditSplit); nil:
	// in proportion to what each has unreversed.
	resplit []int64
	// keep is, for a credit of a line an open dispute of an amount holds,
	// each part's share of the amount disputed, which the credit takes
	// nothing of (reverse); nil: none.
	keep []int64
}

// newRun returns a run of the settler's pool (or a new one) for a call
// with ctx from state st, settling lines lines. The call writes a clone of
// st (State.clone), whose cumulative volumes, credit records, line
// volumes and prepaid commitments it shares with st until it first writes
// one of them.
func (s *Settler) newRun(ctx context.Context, st State, lines int) *run {
	r, _ := s.pool.Get().(*run)
	if r == nil {
		r = &run{s: s, dec: s.newDecider()}
		r.sp.dec, r.sp.out, r.sp.platform = r.dec, &r.entries, s.platform
	}
	r.ctx, r.st = ctx, st.clone(lines)
	r.dec.start(ctx, &r.st, lines)
	return r
}

// release gives r back to the settler's pool, keeping its buffers and
// dropping everything of the call.
func (r *run) release() {
	r.ctx, r.st, r.entries, r.line, r.undo, r.rejected = nil, State{}, nil, nil, nil, nil
	if r.lcSet { // a Line is large: cleared only when used
		r.lc, r.lcSet = Line{}, false
	}
	r.owned, r.mark, r.accrued, r.order = reuse(r.owned), nil, r.accrued[:0], r.order[:0]
	r.sp.line, r.sp.plan, r.sp.trace = nil, nil, nil
	r.dec.reset()
	r.s.pool.Put(r)
}

// settleSale splits sale line l into entries (split.go) and records them
// in lg, the line's ledger (already in the state), and the line's basis in
// the cumulative volumes the plan's rates read.
func (r *run) settleSale(l *Line, lg *ledger) error {
	r.line = l
	if !r.dec.knownRoute(l) {
		if err := r.s.sellerParties(l); err != nil {
			return err
		}
	}
	plan, err := r.s.pick(l)
	if err != nil {
		return err
	}
	if err := plan.checkReleases(l); err != nil {
		return lineErr(l.ID, plan.id, "", "", err)
	}
	if plan.onCollection && l.Prepaid.Earning == EarnOnConsumption {
		// The customer pays the purchase, whose line settles nothing on
		// consumption; no payment funds what the commitment covers of a
		// line drawn on it: it would await a payment that never comes.
		return lineErr(l.ID, plan.id, "", "", fmt.Errorf("%w: commitment %q is earned on consumption, and the plan pays on collection: "+
			"the customer's payment of the purchase funds no line drawn on the commitment, whose covered part would await forever; "+
			"settle the commitment with settlement.EarnOnPrepayment, or its lines under a plan paid on settlement",
			ErrPrepaidEarning, l.Prepaid.Commitment))
	}
	if plan.once != "" && l.Customer.ID == "" {
		var p ensemble.Problems
		p.Addf("customer.id", "no customer: node %q is paid once per customer", plan.once)
		return lineErr(l.ID, plan.id, plan.once, "", fmt.Errorf("%w: %w", ErrInvalidLine, p.Err(fmt.Sprintf("line %q", string(l.ID)))))
	}
	basis, err := basisUnits(l, plan.gross)
	if err != nil {
		return lineErr(l.ID, plan.id, "", "", err)
	}
	sp := &r.sp
	sp.start(l, plan, r.dec.keepRefs(l.Trace, l.Ref()))
	*lg = ledger{line: l.ID, date: l.Date, basis: basis, facts: printFacts(l, plan.fundsDiscounts(), true), trace: sp.trace}
	rest, err := sp.supplierCosts(basis)
	if err != nil {
		return err
	}
	// The root splits what the supplier costs leave, and the discounts
	// its nodes fund.
	if rest, err = sp.fundDiscounts(rest); err != nil {
		return lineErr(l.ID, plan.id, "", "", err)
	}
	// Who the chain's partners were at the line's date, and the volumes
	// its rates read.
	if err := r.dec.begin(l, plan, basis, rest); err != nil {
		return err
	}
	lg.ctx = r.dec.lineCtx(plan, l)
	if err := sp.walk(plan.root, rest, 0); err != nil {
		return err
	}
	if err := sp.checkFunded(); err != nil {
		return err
	}
	lg.payees, lg.amounts = r.dec.keepParts(sp.paid)
	if lg.funded, err = sp.keepFunded(); err != nil {
		return err
	}
	lg.rolling = sp.keepRolling()
	lg.sources = sp.keepSources()
	if plan.onCollection {
		if err := r.awaitCollection(l, lg); err != nil {
			return lineErr(l.ID, plan.id, "", "", err)
		}
	} else if l.Invoice != "" && r.s.collects {
		if err := keepReceivable(l, lg); err != nil {
			return lineErr(l.ID, plan.id, "", "", err)
		}
	}
	// Accrue the basis once per volume the plan's rates read (two nodes
	// may read one).
	r.accrued, r.vols = r.accrued[:0], r.vols[:0]
	for i := range r.dec.volume {
		v := &r.dec.volume[i] // one per node of plan.cums
		if v.owner == "" {
			continue // the volume of nobody
		}
		n, k := v.node, v.key
		if slices.Contains(r.accrued, k) {
			continue
		}
		r.accrued = append(r.accrued, k)
		// A volume credits take back from names the line on its point.
		var by LineID
		if plan.netVolumes {
			by = l.ID
		}
		if err := r.accrue(k, v.held, r.dec.volBasis, by); err != nil {
			return lineErr(l.ID, plan.id, n.path, "", err)
		}
		r.vols = append(r.vols, lineVolume{key: k, units: r.dec.volBasis, rate: r.dec.fx, net: plan.netVolumes})
	}
	// Its retroactive shares' records, in the volumes the line added to
	// (accrue recorded them for the undo log): the tier the window's lines
	// are now paid at, and what the rates applied to.
	for _, u := range sp.retros {
		r.own(u.key).setRetro(u.rec)
	}
	// The ledger remembers what the line added (a decoded state is checked
	// against it), the rate, and what credits take back from.
	lg.vols = r.dec.keepVols(r.vols)
	// The nodes paid once per customer that the line paid are paid for
	// its customer.
	for _, n := range sp.once {
		k := onceKey{plan: plan.id, node: n.path, customer: l.Customer.ID}
		r.undoOnce(k)
		r.st.ownOnce().put(k, l.ID)
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

// accrue adds units to the cumulative volume of key k, which the call
// owns from its first accrual on: a copy of the volume the state held. A
// rolling window's point names line by, whose credits take back from it
// ("" when they do not). held is the volume the state held when the line
// read it (nil: none), which is the call's own copy from the volume's
// second line of the call on.
func (r *run) accrue(k volKey, held *volState, units int64, by LineID) error {
	if r.undo != nil {
		r.undoVolume(k, r.st.vols.get(k) != nil, -1)
	}
	v := held
	if v == nil || r.mark == nil || v.call != r.mark {
		v = r.own(k)
	}
	if v.units > math.MaxInt64-units {
		return fmt.Errorf("%w: cumulative volume overflows", ErrInvalidLine)
	}
	v.units += units
	if k.window == WindowRolling12Months {
		v.addPoint(volPoint{date: r.line.Date, units: units, line: by})
	}
	return nil
}

// own returns the volume of key k for the call to change: from the first
// change on, a copy of the volume the state held, whose rolling points it
// borrows (rollingpoints.go).
func (r *run) own(k volKey) *volState {
	v := r.owned[k]
	if v == nil {
		if r.mark == nil {
			r.mark = new(callMark)
		}
		v = &volState{call: r.mark}
		if was, _ := r.st.ownVols().put(k, v); was != nil {
			v.borrow(was)
		}
		if r.owned == nil {
			r.owned = map[volKey]*volState{}
		}
		r.owned[k] = v
	}
	return v
}
