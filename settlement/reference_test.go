package settlement_test

// The reference settler: a plain, slow settler written for clarity from the
// settlement model (DESIGN.md, "Settlement model") and this package's
// documentation, kept beside the tests so that TestPropertyReferenceSettler
// can compare the real Settler with something that does not share its
// algorithm. It uses package settlement's public types only: it picks plans
// from the PlanDocuments, reads partners with Network.At, evaluates rules
// with rules.RuleSet.At and Rule.Eval at every use, divides with
// ensemble.AllocateUnits (largest remainder, or the plan's method, ties by
// node id), and keeps its ledger in plain maps. It has no cache, memo,
// interning or buffer, and it looks at what a rule reads only to refuse a
// sale that does not give a line fact the rule reads (its contract start,
// its service period).
//
// It covers what the property draws: plan choice (offers, route kinds, currencies,
// effective span, the highest version of each plan, the most specific plan);
// net and gross bases; supplier costs paid first; every role (platform,
// seller, chain[N], top, chain[*] with level weights, partner types,
// referrer, marketplace, co_sellers (the seller and its co-sellers by their
// weights, equal without any), partner:<id>); ratio, fixed, rule
// (share or amount) and cumulative shares (marginal and cliff, calendar year
// and rolling twelve months, the volume of any single-party role, the
// fallback of a rate whose role names nobody who can be paid, volumes in
// the tiers' currency into which lines in others convert at the host's
// rates, and volumes net of credits, which credits and lost disputes take
// back from); the remaining child; conditions; caps and floors; fallbacks to the platform or
// the remaining sibling; reserves; credits (proportional reversal of what
// each part still has unreversed, or a bearer's: a party, node, role or
// component bears it alone, short bearers refused or made up in proportion
// by the others); disputes (holds, releases, the clawback of a lost or
// partly lost one, by a bearer too, and a dispute fee); plans payable on
// collection (payments and write-offs by invoice or lines, the fraction of
// the basis they stand for made payable or clawed back, reversals coming off
// what awaits payment first: reference_collect_test.go); and the ledger and
// volumes a State keeps, written as the State's JSON.
//
// It leaves out: prepaid commitments (Line.Prepaid); the validation of lines
// (it trusts the lines it is given, and the property draws valid ones); the
// refusal of an entry id emitted twice (ids are unique by construction for
// valid lines); int64 overflow checks; Adjust and PayOut (functions of their
// arguments alone). It reports a tie between plans (ErrAmbiguousPlan), which
// the property cannot draw: New refuses plans that could tie.
// Its errors are *settlement.LineErrors naming the line, plan, node and rule
// with the right condition (errors.Is), but their messages are not the
// settler's.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// refSettler settles lines as the model says, keeping its state inside.
type refSettler struct {
	plans    []settlement.PlanDocument
	rules    *rules.RuleSet
	network  *partner.Network
	platform partner.ID
	rates    ensemble.ExchangeRates
	state    refState
}

func newRefSettler(cfg settlement.Config) *refSettler {
	s := &refSettler{plans: cfg.Plans, rules: cfg.Rules, network: cfg.Network, platform: cfg.Platform, rates: cfg.Rates, state: refState{
		lines: map[settlement.LineID]refLedger{}, credits: map[settlement.LineID]refCredit{}, volumes: map[refVolumeKey]refVolume{}}}
	if s.platform == "" {
		s.platform = settlement.DefaultPlatform
	}
	return s
}

// refState is the reference's memory between calls.
type refState struct {
	lines   map[settlement.LineID]refLedger
	credits map[settlement.LineID]refCredit // credit line -> what it credited
	volumes map[refVolumeKey]refVolume
	// once is, per node paid once per customer (settlement.Once) and
	// customer, the sale line that paid it.
	once map[refOnceKey]settlement.LineID
}

// refOnceKey is a node paid once per customer, by plan id and node path,
// and the customer.
type refOnceKey struct {
	plan     string
	node     string
	customer string
}

// refCredit is a settled credit: the line it credited, what it took back
// and who bore it.
type refCredit struct {
	of         settlement.LineID
	amount     int64
	documented int64 // what it documented of the line's lost disputes (its amount: what it took back of what awaited a payment its note left no longer owed)
	bearer     settlement.Bearer
}

// refLedger is a settled line: what each of its parts (earnings and
// supplier costs) was paid and still has unreversed.
type refLedger struct {
	line      settlement.LineID
	plan      ensemble.Ref
	basisKind settlement.Basis
	date      time.Time
	cur       ensemble.Currency
	basis     int64
	credited  int64
	disputes  int  // disputes ever opened
	disputed  bool // one is open
	// disputedAmt is what the open dispute disputes when it is part of
	// what the line had unreversed (DisputeAmount); 0: all of it.
	disputedAmt int64
	// keep is, while a credit of a line an open dispute of an amount
	// holds is reversed, each part's share of the amount, which the
	// credit takes nothing of; nil otherwise.
	keep []int64
	lost int64 // what lost disputes took back
	// documented is what credits documenting the lost disputes
	// (DisputeDocuments) recorded of lost, which took back nothing more;
	// lastLost the number of the last dispute lost.
	documented int64
	// undocOwed is, of what the lost disputes took off what the customer
	// owes (a line on collection), what no documenting note's own total
	// has replaced yet.
	undocOwed int64
	lastLost  int
	offer     catalog.Pin
	route     partner.RouteKind
	seller    partner.ID
	facts     string          // settlement.PrintFacts of the sale
	service   ensemble.Period // the line's, which its disputes' entries carry
	trace     []ensemble.Ref
	parts     []refPart
	volumes   []settlement.LineVolume // the volumes it added to in another currency, at their rates
	coll      *refCollection          // on collection only (reference_collect_test.go)
}

// refHold is what a reserve holds until a date.
type refHold struct {
	units int64
	until time.Time
}

type refPart struct {
	path       string // the entry id after "<line>:": the node path, and "/<party>" for leaves paying several parties
	node       string
	party      partner.ID
	role       string
	kind       settlement.EntryKind
	amount     int64
	unreversed int64
	held       int64 // while a dispute is open
	byReserves int64 // what reserves held of it when the open dispute opened, which the dispute does not hold
	// What the open dispute holds of byReserves from the reserves'
	// releases on: the rolling reserve's (atRolling, on until), then the
	// leaf's (atLeaf, on leafUntil), together byReserves.
	atRolling, atLeaf int64
	awaiting          int64 // what awaits the customer's payment, on collection
	// The reserve of the part's leaf (Node.Reserve), and its release date
	// (zero: none). Reversals never draw on it.
	leaf      int64
	leafUntil time.Time
	// onPay is the part's leaf's reserve on a plan payable on collection,
	// which holds its ratio of each payment's release (nil: none); paid,
	// what it held of each, in order (shared by the part's copies: append
	// to a clone).
	onPay *settlement.Reserve
	paid  []refHold
	// What the open dispute holds of the reserves of paid from their
	// releases on, in order.
	atPaid []refHold
	// A rolling reserve held from the part's party: what it still holds,
	// and its release date (zero: none).
	reserve int64
	until   time.Time
	// src is what a supplier cost owes in another currency than the
	// line's; zero units: none.
	src refSource
	// funded is what the part bore of the discounts its node or one above
	// it funds (LedgerPart.Funded).
	funded int64
	// window is the clawback window of the nearest node at or above the
	// part's leaf that has one (Node.Clawback); nil for none and for the
	// platform's fallback parts.
	window *settlement.Clawback
}

// refSource is a supplier cost owed in another currency than its line's,
// and the rate it was converted at.
type refSource struct {
	units int64
	cur   ensemble.Currency
	rate  ensemble.Ratio
}

// owed is what part p owes in its own currency for y of its amount: the
// source × y / amount, half up.
func (p *refPart) owed(y int64) int64 {
	r := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(p.src.units), big.NewInt(y)), big.NewInt(p.amount))
	r.Add(r, big.NewRat(1, 2))
	return new(big.Int).Quo(r.Num(), r.Denom()).Int64()
}

// pays returns the amount of an entry of x units of the line's currency
// cur on part p that moves one of the part's levels from from to to, in
// the currency p's party is paid in, and its conversion: for a supplier
// cost owed in another currency, |owed(from) − owed(to)| with x's sign.
func (p *refPart) pays(x, from, to int64, cur ensemble.Currency) (ensemble.Money, *settlement.Conversion) {
	line := ensemble.MoneyFromMinor(x, cur)
	if p.src.units == 0 {
		return line, nil
	}
	u := p.owed(from) - p.owed(to)
	if (u < 0) != (x < 0) {
		u = -u
	}
	m := ensemble.MoneyFromMinor(u, p.src.cur)
	return m, &settlement.Conversion{From: m, Rate: p.src.rate, To: line}
}

type refVolumeKey struct {
	partner partner.ID
	cur     string
	window  settlement.Window
	year    int // calendar windows only
	month   int // quarters (1, 4, 7, 10) and months (1 to 12) only
}

// refPeriod is the calendar period of window w that a line dated at adds
// to and reads: the year, and the first month of the quarter or month.
func refPeriod(w settlement.Window, at time.Time) (year, month int) {
	at = at.UTC()
	switch w {
	case settlement.WindowCalendarYear:
		return at.Year(), 0
	case settlement.WindowCalendarQuarter:
		return at.Year(), []int{1, 1, 1, 4, 4, 4, 7, 7, 7, 10, 10, 10}[at.Month()-1]
	case settlement.WindowCalendarMonth:
		return at.Year(), int(at.Month())
	}
	return 0, 0
}

type refVolume struct {
	cur    ensemble.Currency
	units  int64
	points []refPoint // rolling windows only: one per line
	retro  []refRetro // what retroactive shares paid on the window, by plan then node
}

// refRetro is what a retroactive share paid on a window's lines: every one
// at tier (0-based), on base, the sum of what its rate applied to.
type refRetro struct {
	plan, node string
	tier       int
	base       int64
	rate       *ensemble.Ratio // the rate they were paid on base; nil: read the tier's
}

type refPoint struct {
	date  time.Time
	units int64
	line  settlement.LineID // the line, when its credits take back from the volume
}

// clone copies the state deeply, so that a failed call leaves it as it was.
func (st refState) clone() refState {
	out := refState{lines: map[settlement.LineID]refLedger{}, credits: maps.Clone(st.credits), volumes: map[refVolumeKey]refVolume{}, once: maps.Clone(st.once)}
	for id, lg := range st.lines {
		lg.parts = slices.Clone(lg.parts)
		if lg.coll != nil {
			c := *lg.coll
			c.ids = slices.Clone(c.ids)
			lg.coll = &c
		}
		out.lines[id] = lg
	}
	for k, v := range st.volumes {
		v.points, v.retro = slices.Clone(v.points), slices.Clone(v.retro)
		out.volumes[k] = v
	}
	return out
}

// volumeBefore is a partner's volume as a line dated at reads it: its
// calendar year's, or the sum of the points of the twelve months up to at.
func (st refState) volumeBefore(p partner.ID, cur ensemble.Currency, w settlement.Window, at time.Time) int64 {
	if w != settlement.WindowRolling12Months {
		y, m := refPeriod(w, at)
		return st.volumes[refVolumeKey{partner: p, cur: cur.Key(), window: w, year: y, month: m}].units
	}
	// The twelve months up to at, and the points dated after at (settled
	// before a late line) whose own twelve months hold at.
	var sum int64
	for _, pt := range st.volumes[refVolumeKey{partner: p, cur: cur.Key(), window: w}].points {
		if pt.date.After(at.AddDate(-1, 0, 0)) && pt.date.AddDate(-1, 0, 0).Before(at) {
			sum += pt.units
		}
	}
	return sum
}

// refErr is the error the settler names a line, plan, node and rule with.
func refErr(line settlement.LineID, plan, node, rule string, err error) error {
	return &settlement.LineError{Line: line, Plan: plan, Node: node, Rule: rule, Err: err}
}

// minorOf returns m in minor units; the lines given are valid, so whole.
func minorOf(m ensemble.Money) int64 {
	u, _ := m.MinorUnits()
	return u
}

// Settle settles lines in canonical order (sale lines by date and id, then
// credit lines by date and id) and returns their entries; on error the state
// is left as it was.
func (s *refSettler) Settle(lines []settlement.Line) ([]settlement.Entry, error) {
	st := s.state.clone()
	var out []settlement.Entry
	for _, l := range canonicalLines(lines) {
		l.Date = l.Date.UTC()
		// A route names its seller as Seller and as its chain's first
		// partner: given one way only, the other follows.
		if l.Route.Seller == "" && len(l.Route.Chain) > 0 {
			l.Route.Seller = l.Route.Chain[0]
		}
		if l.Route.Seller != "" && len(l.Route.Chain) == 0 {
			l.Route.Chain = []partner.ID{l.Route.Seller}
		}
		if _, sold := st.lines[l.ID]; sold || st.credits[l.ID].of != "" {
			return nil, refErr(l.ID, "", "", "", settlement.ErrAlreadySettled)
		}
		var entries []settlement.Entry
		var err error
		if l.Credits == "" {
			entries, err = s.settleSale(&st, l)
		} else {
			entries, err = s.settleCredit(&st, l)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	s.state = st
	return out, nil
}

// canonicalLines sorts lines as they are settled: sale lines by date and
// id, then credit lines by date and id.
func canonicalLines(lines []settlement.Line) []settlement.Line {
	lines = slices.Clone(lines)
	slices.SortFunc(lines, func(a, b settlement.Line) int {
		if ac, bc := a.Credits != "", b.Credits != ""; ac != bc {
			if ac {
				return 1
			}
			return -1
		}
		return cmp.Or(a.Date.Compare(b.Date), strings.Compare(string(a.ID), string(b.ID)))
	})
	return lines
}

// pick returns the plan of a sale line: of the plans in force at its date
// whose offers, route kinds and currencies match it (any when they list
// none), the highest version of each plan id, and of those the most
// specific (listing offers counts 4, listing routes 2, listing currencies
// 1).
func (s *refSettler) pick(l settlement.Line) (settlement.PlanDocument, error) {
	latest := map[string]settlement.PlanDocument{}
	for _, p := range s.plans {
		inForce := !l.Date.Before(p.EffectiveFrom) && (p.EffectiveUntil.IsZero() || l.Date.Before(p.EffectiveUntil))
		if inForce && (len(p.Offers) == 0 || slices.Contains(p.Offers, l.Offer.Offer)) &&
			(len(p.Routes) == 0 || slices.Contains(p.Routes, l.Route.Kind)) &&
			(len(p.Currencies) == 0 || slices.Contains(p.Currencies, l.Amount.Currency())) && p.Version > latest[p.ID].Version {
			latest[p.ID] = p
		}
	}
	var best settlement.PlanDocument
	bestScore, tie := -1, false
	for _, id := range slices.Sorted(maps.Keys(latest)) {
		p := latest[id]
		score := 0
		if len(p.Offers) > 0 {
			score += 4
		}
		if len(p.Routes) > 0 {
			score += 2
		}
		if len(p.Currencies) > 0 {
			score++
		}
		switch {
		case score > bestScore:
			best, bestScore, tie = p, score, false
		case score == bestScore:
			tie = true
		}
	}
	switch {
	case bestScore < 0:
		return best, refErr(l.ID, "", "", "", settlement.ErrNoPlan)
	case tie:
		return best, refErr(l.ID, best.ID, "", "", settlement.ErrAmbiguousPlan)
	}
	return best, nil
}

// snapshot returns what partner id was at t: nil (and no error) when it is
// not a partner yet. The platform is always active; without a network every
// partner is active and of no type.
func (s *refSettler) snapshot(id partner.ID, t time.Time) (*partner.Snapshot, error) {
	if id == s.platform {
		return &partner.Snapshot{ID: id, Type: partner.TypePlatform, Status: partner.StatusActive}, nil
	}
	if s.network == nil {
		return &partner.Snapshot{ID: id, Status: partner.StatusActive}, nil
	}
	sn, err := s.network.At(id, t)
	if errors.Is(err, partner.ErrNotYetPartner) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &sn, nil
}

// refLine is the settling of one sale line.
type refLine struct {
	s       *refSettler
	st      *refState
	line    settlement.Line
	plan    settlement.PlanDocument
	cur     ensemble.Currency
	basis   int64                   // what the plan splits: net, or net plus tax
	rest    int64                   // the basis after supplier costs: what the root splits
	chain   []*partner.Snapshot     // each chain level at the line's date (nil: not a partner yet)
	volumes map[string]int64        // by cumulative node path: the volume before the line
	volKeys map[string]refVolumeKey // by cumulative node path: the volume read, when someone's
	retros  []refRetroUpdate        // the records the line's retroactive shares leave
	nobody  map[string]string       // by cumulative node path: why its volume is nobody's
	once    []string                // the paths of the nodes paid once per customer the line paid
	entries []settlement.Entry      // made so far
	parts   []refPart               // the ledger parts made so far

	// The line's volumes are in the plan's tiers' currency (volCur), into
	// which its basis converts (volBasis) at rate when it is in another.
	volCur   ensemble.Currency
	volBasis int64
	rate     *ensemble.ExchangeRate

	// funds are what each node funds of the line's discounts
	// (PlanDocument.DiscountFunding), which rest includes.
	funds map[settlement.NodeID]*refFund
}

// refFund is what one node funds of a line's discounts.
type refFund struct {
	units int64
	back  int64 // what a true-up bills back of them (Line.Recouped): the node's part gets it on top
	ids   []string
	taken bool // the node's part bore them
	// from and to are the parts the node's part made (placed: it made
	// some), which bore them.
	from, to int
	placed   bool
}

// spreadFunded records what each part funded of the line's discounts: a
// funding node's spread over the parts its part made, in proportion to
// their amounts (largest remainder by entry id); nothing when a funding
// node made no part, or one's parts are another's too (nested funders).
func (ln *refLine) spreadFunded() error {
	var fs []*refFund
	for _, f := range ln.funds {
		if !f.placed || f.from == f.to || f.back != 0 {
			return nil // a true-up's credits reverse in proportion
		}
		for _, g := range fs {
			if f.from < g.to && g.from < f.to {
				return nil
			}
		}
		fs = append(fs, f)
	}
	for _, f := range fs {
		shares := make([]ensemble.Share, f.to-f.from)
		for k := range shares {
			p := ln.parts[f.from+k]
			shares[k] = ensemble.Share{Key: string(ln.line.ID) + ":" + p.path, Weight: ensemble.RatioFromInt(p.amount)}
		}
		got := make([]int64, len(shares))
		if err := ensemble.AllocateUnits(got, f.units, shares, ensemble.AllocateOptions{}); err != nil {
			return err
		}
		for k, u := range got {
			ln.parts[f.from+k].funded = u
		}
	}
	return nil
}

// refCreditSplit returns what credit c (of credit, > 0) takes from each
// part of lg re-split as the sale was, or nil to reverse in proportion:
// each part gives back (amount + funded) × (credit − taken + given) /
// (basis + funded) less funded × given_n / funded_n, given_n being what c
// gives back of the discounts of the part's funding node n (see
// Line.Discounts), plus its share of the funded discounts c takes (a
// discount recorded late), spread over their funder's parts in proportion
// to what each was paid. A credit taking funded discounts that cannot be
// so re-split is ErrDiscountFunding.
func (s *refSettler) refCreditSplit(lg refLedger, c settlement.Line, credit int64) ([]int64, error) {
	if credit <= 0 || credit >= lg.basis-lg.credited || !c.Bearer.IsZero() {
		return nil, nil
	}
	if len(c.Discounts) == 0 && c.Kind != "proration_credit" {
		return nil, nil
	}
	plan := s.plans[slices.IndexFunc(s.plans, func(p settlement.PlanDocument) bool { return p.Ref() == lg.plan })]
	if len(plan.DiscountFunding) == 0 {
		return nil, nil
	}
	takes := false
	for _, d := range c.Discounts {
		if _, ok := refFunder(plan, d.ID); ok && d.Amount.IsPositive() {
			takes = true
		}
	}
	var fundedAll, sum int64
	for _, p := range lg.parts {
		fundedAll += p.funded
		sum += p.amount
	}
	cannot := func() ([]int64, error) {
		if takes {
			return nil, settlement.ErrDiscountFunding
		}
		return nil, nil
	}
	if fundedAll == 0 && !takes {
		return nil, nil
	}
	if sum != lg.basis {
		return cannot()
	}
	funders := map[string]bool{} // their paths
	for _, f := range plan.DiscountFunding {
		funders[refNodePath(&plan.Root, string(plan.Root.ID), f.Node)] = true
	}
	fundedBy, given := map[string]int64{}, map[string]int64{}
	of := make([]string, len(lg.parts))
	for i, p := range lg.parts {
		if p.funded == 0 {
			continue
		}
		for f := range funders {
			if p.node == f || strings.HasPrefix(p.node, f+"/") {
				if of[i] != "" {
					return cannot()
				}
				of[i] = f
			}
		}
		if of[i] == "" {
			return cannot()
		}
		fundedBy[of[i]] += p.funded
	}
	takenOf := make([]*big.Rat, len(lg.parts))
	var taken int64
	for _, d := range c.Discounts {
		node, ok := refFunder(plan, d.ID)
		if !ok || d.Amount.IsZero() {
			continue
		}
		f := refNodePath(&plan.Root, string(plan.Root.ID), node)
		u := minorOf(d.Amount)
		if u > 0 {
			if u > credit-taken {
				return cannot()
			}
			var paid int64
			for _, p := range lg.parts {
				if p.node == f || strings.HasPrefix(p.node, f+"/") {
					paid += p.amount
				}
			}
			if paid <= 0 {
				return cannot()
			}
			for i, p := range lg.parts {
				if (p.node == f || strings.HasPrefix(p.node, f+"/")) && p.amount != 0 {
					x := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(u), big.NewInt(p.amount)), big.NewInt(paid))
					if takenOf[i] != nil {
						x.Add(x, takenOf[i])
					}
					takenOf[i] = x
				}
			}
			taken += u
			continue
		}
		if given[f]-u > fundedBy[f] {
			return cannot()
		}
		given[f] -= u
	}
	var all int64
	for _, g := range given {
		all += g
	}
	list := new(big.Rat).SetFrac(big.NewInt(credit-taken+all), big.NewInt(lg.basis+fundedAll))
	shares := make([]ensemble.Share, len(lg.parts))
	for i, p := range lg.parts {
		x := new(big.Rat).Mul(list, big.NewRat(p.amount+p.funded, 1))
		if of[i] != "" && given[of[i]] != 0 {
			x.Sub(x, new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(p.funded), big.NewInt(given[of[i]])), big.NewInt(fundedBy[of[i]])))
		}
		if takenOf[i] != nil {
			x.Add(x, takenOf[i])
		}
		if x.Sign() < 0 {
			return cannot()
		}
		shares[i] = ensemble.Share{Key: string(lg.line) + ":" + p.path, Weight: ensemble.RatioFromRat(x)}
	}
	out := make([]int64, len(lg.parts))
	if err := ensemble.AllocateUnits(out, credit, shares, ensemble.AllocateOptions{}); err != nil {
		return cannot()
	}
	for i, p := range lg.parts {
		if out[i] > p.unreversed {
			return cannot()
		}
	}
	return out, nil
}

// refPrint is the fingerprint of sale l settled by plan: its discounts are
// facts of the sale under a plan funding some.
func refPrint(plan settlement.PlanDocument, l *settlement.Line) string {
	if len(plan.DiscountFunding) > 0 {
		return settlement.PrintFundedFacts(l)
	}
	return settlement.PrintFacts(l)
}

// refNodePath returns the path of the node id below n (at path), or "".
func refNodePath(n *settlement.Node, path string, id settlement.NodeID) string {
	for i := range n.Children {
		c := &n.Children[i]
		if c.ID == id {
			return path + "/" + string(id)
		}
		if p := refNodePath(c, path+"/"+string(c.ID), id); p != "" {
			return p
		}
	}
	return ""
}

// refFunder returns the node of plan that funds discount id, or false.
func refFunder(plan settlement.PlanDocument, id string) (settlement.NodeID, bool) {
	for _, f := range plan.DiscountFunding {
		if f.Discount == id {
			return f.Node, true
		}
	}
	for _, f := range plan.DiscountFunding {
		if f.Discount == "" {
			return f.Node, true
		}
	}
	return "", false
}

func (ln *refLine) fail(node, rule string, err error) error {
	return refErr(ln.line.ID, ln.plan.ID, node, rule, err)
}

// settleSale splits a sale line through its plan.
func (s *refSettler) settleSale(st *refState, l settlement.Line) ([]settlement.Entry, error) {
	// Every partner the route names (its seller and chain, co-sellers,
	// referrer and marketplace) must be one the network knows, whatever
	// the plan pays.
	if s.network != nil {
		named := append([]partner.ID{l.Route.Seller, l.Route.Referrer, l.Route.Marketplace}, l.Route.Chain...)
		for _, cs := range l.Route.CoSellers {
			named = append(named, cs.Partner)
		}
		for _, id := range named {
			if _, ok := s.network.Partner(id); id != "" && id != s.platform && !ok {
				return nil, refErr(l.ID, "", "", "", fmt.Errorf("%w: %w", settlement.ErrInvalidLine, partner.ErrUnknownPartner))
			}
		}
	}
	plan, err := s.pick(l)
	if err != nil {
		return nil, err
	}
	// Every release of the plan's reserves must be a date JSON writes.
	days := 0
	for _, r := range plan.Reserves {
		days = max(days, r.Days)
	}
	var reserveDays func(n *settlement.Node)
	reserveDays = func(n *settlement.Node) {
		if n.Reserve != nil && len(n.Children) == 0 {
			days = max(days, n.Reserve.Days)
		}
		for i := range n.Children {
			reserveDays(&n.Children[i])
		}
	}
	reserveDays(&plan.Root)
	if days > 0 && l.Date.UTC().AddDate(0, 0, days).Year() > 9999 {
		return nil, refErr(l.ID, plan.ID, "", "", settlement.ErrInvalidLine)
	}
	// A plan with a node paid once per customer needs the customer: the
	// first such node (depth first) is named.
	if node := refFirstOnce(&plan.Root, string(plan.Root.ID)); node != "" && l.Customer.ID == "" {
		return nil, refErr(l.ID, plan.ID, node, "", settlement.ErrInvalidLine)
	}
	ln := &refLine{s: s, st: st, line: l, plan: plan, cur: l.Amount.Currency(), basis: minorOf(l.Amount), volumes: map[string]int64{},
		nobody: map[string]string{}}
	if plan.Basis == settlement.BasisGross {
		ln.basis += minorOf(l.Tax)
	}
	// Supplier costs are paid first; the root splits what is left.
	ln.rest = ln.basis
	for _, c := range l.SupplierCosts {
		u := minorOf(c.Cost)
		if u == 0 {
			continue
		}
		if ln.rest -= u; ln.rest < 0 {
			return nil, ln.fail("", "", settlement.ErrSupplierCosts)
		}
		path := "supplier_costs/" + c.Component.ID
		if c.Component.ID == "" {
			path = "supplier_costs/" + string(c.Offer) + "/" + c.Supplier
		}
		ln.earn(path, path, partner.ID(c.Supplier), "supplier", settlement.KindSupplierCost, u, "wholesale cost", nil, "")
		if !c.Source.IsZero() {
			// Owed in its own currency: the source, or the share of it
			// the cut cost is.
			p := &ln.parts[len(ln.parts)-1]
			p.src = refSource{units: minorOf(c.Source), cur: c.Source.Currency(), rate: c.Rate}
			if !c.Capped.IsZero() {
				p.src.units = (&refPart{amount: u + minorOf(c.Capped), src: p.src}).owed(u)
			}
			e := &ln.entries[len(ln.entries)-1]
			e.Amount, e.Conversion = p.pays(u, 0, u, ln.cur)
		}
	}
	// The discounts a node funds are added back to what the root splits.
	ln.funds = map[settlement.NodeID]*refFund{}
	for _, d := range l.Discounts {
		node, ok := refFunder(plan, d.ID)
		if !ok || d.Amount.IsZero() {
			continue
		}
		f := ln.funds[node]
		if f == nil {
			f = &refFund{}
			ln.funds[node] = f
		}
		f.units += minorOf(d.Amount)
		f.ids = append(f.ids, d.ID)
		ln.rest += minorOf(d.Amount)
	}
	// What a true-up bills back of them goes to the funding node: the
	// root splits the rest.
	for _, d := range l.Recouped {
		node, ok := refFunder(plan, d.ID)
		if !ok || d.Amount.IsZero() {
			continue
		}
		f := ln.funds[node]
		if f == nil {
			f = &refFund{}
			ln.funds[node] = f
		}
		f.back += minorOf(d.Amount)
		f.ids = append(f.ids, d.ID)
		if ln.rest -= minorOf(d.Amount); ln.rest < 0 {
			return nil, ln.fail("", "", settlement.ErrDiscountFunding)
		}
	}
	if err := s.chainTypesForm(l.Route.Chain); err != nil {
		return nil, refErr(l.ID, plan.ID, "", "", err)
	}
	for _, id := range l.Route.Chain {
		sn, err := s.snapshot(id, l.Date)
		if err != nil {
			return nil, ln.fail("", "", err)
		}
		ln.chain = append(ln.chain, sn)
	}
	// Cumulative shares read their partner's volume before the line.
	// Volumes are in the currency of the plan's tier bounds; a line in
	// another converts its basis at the rate in force at its date.
	cums := cumulativeNodes(&plan.Root, string(plan.Root.ID))
	ln.volCur, ln.volBasis = ln.cur, ln.basis
	if cur, node := planVolumeCurrency(cums); !cur.IsZero() && cur != ln.cur {
		rate, err := s.rates.At(ln.cur, cur, l.Date)
		if err != nil {
			return nil, ln.fail(node, "", fmt.Errorf("%w: %w", settlement.ErrCurrency, err))
		}
		converted, err := rate.Convert(ensemble.MoneyFromMinor(ln.basis, ln.cur), ensemble.RoundHalfAwayFromZero)
		if err != nil {
			return nil, ln.fail(node, "", err)
		}
		ln.volCur, ln.volBasis, ln.rate = cur, minorOf(converted), &rate
	}
	// A rate whose role names nobody who can be paid reads no volume: its
	// share follows its node's fallback (decide).
	owners := make([]partner.ID, len(cums))
	for i, c := range cums {
		of := cmp.Or(c.node.Share.Cumulative.Of, "seller")
		id, _, why, err := ln.resolve(of)
		if err != nil {
			return nil, ln.fail(c.path, "", err)
		}
		owners[i] = id
		if id == "" {
			ln.nobody[c.path] = why
			continue
		}
		ln.volumes[c.path] = st.volumeBefore(id, ln.volCur, c.node.Share.Cumulative.Window, l.Date)
		k := refVolumeKey{partner: id, cur: ln.volCur.Key(), window: c.node.Share.Cumulative.Window}
		k.year, k.month = refPeriod(k.window, l.Date)
		if ln.volKeys == nil {
			ln.volKeys = map[string]refVolumeKey{}
		}
		ln.volKeys[c.path] = k
	}
	if err := ln.split(&plan.Root, string(plan.Root.ID), ln.rest, nil, ""); err != nil {
		return nil, err
	}
	// A funding node no level reached (a node above it took nothing)
	// bore nothing: the line fails.
	for _, d := range slices.Concat(l.Discounts, l.Recouped) { // in the order the line lists them
		if node, ok := refFunder(plan, d.ID); ok && ln.funds[node] != nil && !ln.funds[node].taken {
			return nil, ln.fail(refNodePath(&plan.Root, string(plan.Root.ID), node), "", settlement.ErrDiscountFunding)
		}
	}
	if err := ln.spreadFunded(); err != nil {
		return nil, err
	}
	// The line's basis adds to each volume read, once per line; with
	// volume net_of_credits (which the plan's shares agree on) its credits
	// take back from it later, from its own point in a rolling window.
	net := len(cums) > 0 && cums[0].node.Share.Cumulative.Volume == settlement.VolumeNetOfCredits
	grown := map[refVolumeKey]bool{}
	var lineVolumes []settlement.LineVolume
	for i, c := range cums {
		k := refVolumeKey{partner: owners[i], cur: ln.volCur.Key(), window: c.node.Share.Cumulative.Window}
		k.year, k.month = refPeriod(k.window, l.Date)
		if owners[i] == "" || grown[k] {
			continue
		}
		grown[k] = true
		v := st.volumes[k]
		v.cur, v.units = ln.volCur, v.units+ln.volBasis
		if k.window == settlement.WindowRolling12Months {
			p := refPoint{date: l.Date, units: ln.volBasis}
			if net {
				p.line = l.ID
			}
			v.points = append(v.points, p)
		}
		st.volumes[k] = v
		// The ledger records what the line added (a state read back is
		// checked against it), the conversion, and what its credits take
		// back from.
		lv := settlement.LineVolume{Partner: k.partner, Window: k.window, Year: k.year, Month: k.month, Amount: ensemble.MoneyFromMinor(ln.volBasis, ln.volCur), NetOfCredits: net}
		if ln.rate != nil {
			lv.Rate = *ln.rate
		}
		lineVolumes = append(lineVolumes, lv)
	}
	// The records of its retroactive shares: the tier the window's lines
	// are paid at now, and what the rates applied to.
	for _, u := range ln.retros {
		v := st.volumes[u.key]
		i := slices.IndexFunc(v.retro, func(x refRetro) bool { return x.plan == u.rec.plan && x.node == u.rec.node })
		if i >= 0 {
			v.retro[i] = u.rec
		} else {
			v.retro = append(v.retro, u.rec)
			slices.SortFunc(v.retro, func(a, b refRetro) int {
				return cmp.Or(strings.Compare(a.plan, b.plan), strings.Compare(a.node, b.node))
			})
		}
		st.volumes[u.key] = v
	}
	lg := refLedger{line: l.ID, plan: plan.Ref(), basisKind: plan.Basis, date: l.Date, cur: ln.cur, basis: ln.basis,
		offer: l.Offer, route: l.Route.Kind, seller: l.Route.Seller, facts: refPrint(plan, &l), service: l.Service, trace: append(slices.Clone(l.Trace), l.Ref()), parts: ln.parts,
		volumes: lineVolumes}
	if plan.Payable == settlement.PayableOnCollection {
		ln.entries = append(ln.entries, lg.awaitCollection(l)...)
	} else if l.Invoice != "" && slices.ContainsFunc(s.plans, func(p settlement.PlanDocument) bool { return p.Payable == settlement.PayableOnCollection }) {
		// A line paid on settlement keeps what the customer owes on it as
		// a line of its invoice, when a plan pays on collection.
		lg.coll = &refCollection{onSettlement: true, invoice: l.Invoice, total: minorOf(l.Amount) + minorOf(l.Tax)}
	}
	st.lines[l.ID] = lg
	// The nodes paid once per customer the line paid are paid for its
	// customer.
	for _, node := range ln.once {
		if st.once == nil {
			st.once = map[refOnceKey]settlement.LineID{}
		}
		st.once[refOnceKey{plan: plan.ID, node: node, customer: l.Customer.ID}] = l.ID
	}
	return ln.entries, nil
}

// refFirstOnce returns the path of the first node paid once per customer
// under n (at path), depth first; "" for none.
func refFirstOnce(n *settlement.Node, path string) string {
	if n.Once == settlement.OncePerCustomer {
		return path
	}
	for i := range n.Children {
		if p := refFirstOnce(&n.Children[i], path+"/"+string(n.Children[i].ID)); p != "" {
			return p
		}
	}
	return ""
}

type pathNode struct {
	node *settlement.Node
	path string
}

// planVolumeCurrency returns the currency of the first tier bound of the
// plan's cumulative nodes (parents first), which New requires of them all,
// and the node it is on; zero when none has a bound.
func planVolumeCurrency(cums []pathNode) (ensemble.Currency, string) {
	for _, c := range cums {
		for _, t := range c.node.Share.Cumulative.Tiers {
			if !t.UpTo.Currency().IsZero() {
				return t.UpTo.Currency(), c.path
			}
		}
	}
	return ensemble.Currency{}, ""
}

// cumulativeNodes lists the nodes with cumulative shares, parents first.
func cumulativeNodes(n *settlement.Node, path string) []pathNode {
	var out []pathNode
	if n.Share.Cumulative != nil {
		out = append(out, pathNode{n, path})
	}
	for i := range n.Children {
		out = append(out, cumulativeNodes(&n.Children[i], path+"/"+string(n.Children[i].ID))...)
	}
	return out
}

// refKid is what a level decided for one child, before amounts are split.
type refKid struct {
	active   bool // takes part in the split
	party    partner.ID
	platform bool // a leaf whose party cannot be paid, paid to the platform
	note     string
	text     string // the share, as entries say it
	weight   ensemble.Ratio
	fixed    int64
	cond     *rules.Rule // the versions that decided
	rule     *rules.Rule
}

// decide works out each child of n: who it pays, whether its condition
// holds, its ratio or fixed amount. Fixed amounts may not exceed amount.
func (ln *refLine) decide(n *settlement.Node, path string, amount int64) ([]refKid, error) {
	kids := make([]refKid, len(n.Children))
	var fixed int64
	var takes []string // the shares the remaining child takes from children that fall back to it
	for i := range n.Children {
		c := &n.Children[i]
		cpath := path + "/" + string(c.ID)
		k := refKid{active: true, text: shareText(c.Share)}
		// The partner the child's rules see: its party, else the seller.
		var sn *partner.Snapshot
		var unpaid error // an attributed party that cannot be paid: an error once the child is active
		if len(c.Children) == 0 {
			var ok bool
			var why string
			var err error
			if paysSeveral(c.Party) {
				ok, why, err = ln.anyParty(c.Party)
			} else {
				k.party, sn, why, err = ln.resolve(c.Party)
				ok = k.party != ""
			}
			if err != nil && c.Party == "attributed" {
				unpaid, err, ok = err, nil, true
			}
			if err != nil {
				return nil, ln.fail(cpath, "", err)
			}
			if !ok && (c.Fallback == settlement.FallbackPlatform || c.Share.Remaining) {
				k.platform, k.note = true, "fallback to platform: "+why
			} else if !ok {
				k.active = false       // its share stays with the remaining sibling
				if c.Condition == "" { // a condition not evaluated says nothing of a share
					takes = append(takes, "includes the share of "+string(c.ID)+", which cannot be paid: "+why)
				}
			}
		}
		// A cumulative rate reading nobody's volume follows the fallback,
		// as a party that cannot be paid does, at the rate of a volume of
		// zero.
		if why, ok := ln.nobody[cpath]; ok && k.active {
			if len(c.Children) == 0 && c.Fallback == settlement.FallbackPlatform {
				if !k.platform {
					// The platform's own node pays it as itself, its
					// reserves held.
					own := c.Party == "platform" || c.Party == "partner:"+string(ln.s.platform)
					k.platform, k.note = !own, "fallback to platform: "+why
				}
			} else {
				k.active = false
				if c.Condition == "" {
					takes = append(takes, "includes the share of "+string(c.ID)+", which has no volume to read: "+why)
				}
			}
		}
		if sn == nil && len(ln.chain) > 0 {
			sn = ln.chain[0]
		}
		if c.Condition != "" && k.active {
			rule, res, err := ln.eval(c.Condition, sn, 0)
			if err != nil {
				return nil, ln.fail(cpath, ruleName(rule, c.Condition), fmt.Errorf("%w: %w", settlement.ErrRule, err))
			}
			k.cond, k.active = rule, res.Bool
		}
		// A node paid once per customer that an earlier line paid for the
		// line's customer is as if its condition did not hold.
		if _, paid := ln.st.once[refOnceKey{plan: ln.plan.ID, node: cpath, customer: ln.line.Customer.ID}]; paid && c.Once == settlement.OncePerCustomer && k.active {
			k.active = false
		}
		if !k.active {
			kids[i] = k
			continue
		}
		if unpaid != nil {
			return nil, ln.fail(cpath, "", unpaid)
		}
		switch sh := c.Share; {
		case sh.HasRatio:
			k.weight = sh.Ratio
		case !sh.Amount.IsZero():
			u, err := ln.units(sh.Amount)
			if err != nil {
				return nil, ln.fail(cpath, "", err)
			}
			k.fixed = u
		case sh.Rule != "":
			rule, res, err := ln.eval(sh.Rule, sn, 0)
			name := ruleName(rule, sh.Rule)
			if err != nil {
				return nil, ln.fail(cpath, name, fmt.Errorf("%w: %w", settlement.ErrRule, err))
			}
			k.rule = rule
			if res.Kind == rules.Amount {
				if res.Money.IsNegative() { // however small: not rounded to zero first
					return nil, ln.fail(cpath, name, fmt.Errorf("%w: negative amount %s", settlement.ErrRule, res.Money))
				}
				m := res.Money.Round(ensemble.RoundHalfAwayFromZero)
				u, err := ln.units(m)
				if err != nil {
					return nil, ln.fail(cpath, name, err)
				}
				k.fixed, k.text = u, m.String()+" (rule "+name+")"
				if !m.Equal(res.Money) {
					k.text = m.String() + " (rule " + name + ", " + res.Money.AmountString() + " rounded)"
				}
			} else {
				if res.Decimal.Sign() < 0 {
					return nil, ln.fail(cpath, name, fmt.Errorf("%w: negative share %s", settlement.ErrRule, res.Decimal))
				}
				k.weight = ensemble.RatioFromDecimal(res.Decimal)
				k.text = k.weight.Percent() + " (rule " + name + ")"
			}
		case sh.Cumulative != nil && sh.Cumulative.Mode == settlement.Retroactive:
			tier, rec, err := ln.retroTier(sh.Cumulative, cpath)
			if err != nil {
				return nil, ln.fail(cpath, "", err)
			}
			k.weight = sh.Cumulative.Tiers[tier].Rate
			k.text = fmt.Sprintf("%s (retroactive, tier %d", pct(k.weight), tier+1)
			if rec.tier > 0 && rec.tier == tier {
				k.text += ", reached earlier in the window"
			}
			k.text += ", volume before " + ensemble.MoneyFromMinor(ln.volumes[cpath], ln.volCur).String() + ")"
		case sh.Cumulative != nil:
			w, text, err := ln.cumulativeRate(sh.Cumulative, ln.volumes[cpath])
			if err != nil {
				return nil, ln.fail(cpath, "", err)
			}
			k.weight, k.text = w, text
		}
		if k.fixed > amount-fixed {
			return nil, ln.fail(cpath, ruleName(k.rule, ""), fmt.Errorf("%w: fixed amounts exceed the node", settlement.ErrOverAllocation))
		}
		fixed += k.fixed
		kids[i] = k
	}
	if rem := slices.IndexFunc(n.Children, func(c settlement.Node) bool { return c.Share.Remaining }); rem >= 0 && len(takes) > 0 {
		kids[rem].note = noteAnd(kids[rem].note, strings.Join(takes, "; "))
	}
	return kids, nil
}

// noteAnd joins two notes of an entry with "; ".
func noteAnd(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// split divides amount at node n (path path): fixed amounts first, then
// ratios of the node's amount, the remaining child taking the rest; caps and
// floors move amounts to and from the remaining child. Each child then pays
// its party or splits further; refs are the rules that decided on the way
// down to n, above what the nodes on the way took of other nodes' shares
// (the leaves' entries note it).
func (ln *refLine) split(n *settlement.Node, path string, amount int64, refs []ensemble.Ref, above string) error {
	if len(n.Children) == 0 { // a plan whose root is a leaf
		return ln.pay(n, path, amount, nil, refs, above)
	}
	kids, err := ln.decide(n, path, amount)
	if err != nil {
		return err
	}
	rem := slices.IndexFunc(n.Children, func(c settlement.Node) bool { return c.Share.Remaining })
	var sum ensemble.Ratio
	for i, c := range n.Children {
		if k := kids[i]; k.active && i != rem && !k.weight.IsZero() {
			if sum = sum.Add(k.weight); sum.Cmp(ensemble.RatioFromInt(1)) > 0 {
				return ln.fail(path+"/"+string(c.ID), ruleName(k.rule, ""), fmt.Errorf("%w: ratios add up to %s", settlement.ErrOverAllocation, sum.Percent()))
			}
		}
	}
	parts := make([]int64, len(n.Children))
	if amount != 0 && (!sum.IsZero() || rem >= 0) {
		shares := make([]ensemble.Share, len(n.Children))
		for i, c := range n.Children {
			shares[i] = ensemble.Share{Key: string(c.ID), Weight: kids[i].weight}
			if i == rem {
				shares[i].Weight = ensemble.RatioFromInt(1).Sub(sum)
			}
		}
		if err := ensemble.AllocateUnits(parts, amount, shares, ensemble.AllocateOptions{Method: ln.plan.Method}); err != nil {
			return ln.fail(path, "", err)
		}
	}
	for i := range kids {
		parts[i] += kids[i].fixed
		if rem >= 0 {
			parts[rem] -= kids[i].fixed
		}
	}
	for i, c := range n.Children {
		if !kids[i].active || i == rem {
			continue
		}
		if !c.Cap.IsZero() {
			cu, err := ln.units(c.Cap)
			if err != nil {
				return ln.fail(path+"/"+string(c.ID), "", err)
			}
			if parts[i] > cu {
				parts[rem] += parts[i] - cu
				kids[rem].note = noteAnd(kids[rem].note, "includes "+ensemble.MoneyFromMinor(parts[i]-cu, ln.cur).String()+" above the cap of "+string(c.ID))
				parts[i] = cu
				kids[i].text += ", capped at " + c.Cap.String()
			}
		}
		if !c.Floor.IsZero() {
			fu, err := ln.units(c.Floor)
			if err != nil {
				return ln.fail(path+"/"+string(c.ID), "", err)
			}
			if parts[i] < fu {
				parts[rem] -= fu - parts[i]
				kids[rem].note = noteAnd(kids[rem].note, "less "+ensemble.MoneyFromMinor(fu-parts[i], ln.cur).String()+" to meet the floor of "+string(c.ID))
				parts[i] = fu
				kids[i].text += ", floor " + c.Floor.String()
			}
		}
	}
	if rem >= 0 && parts[rem] < 0 {
		// The level is named, no one child or rule: none overflows it alone.
		return ln.fail(path, "", fmt.Errorf("%w: the level's fixed amounts and floors exceed it", settlement.ErrOverAllocation))
	}
	// A node funding discounts bears them alone.
	for i, c := range n.Children {
		f := ln.funds[c.ID]
		if f == nil {
			continue
		}
		if !kids[i].active || parts[i] < f.units {
			return ln.fail(path+"/"+string(c.ID), "", settlement.ErrDiscountFunding)
		}
		parts[i] += f.back - f.units
		f.taken = true
		if f.back != 0 {
			kids[i].note = noteAnd(kids[i].note, "includes "+ensemble.MoneyFromMinor(f.back, ln.cur).String()+" of discount "+strings.Join(f.ids, ", ")+", which it funds and the true-up bills back")
		} else {
			kids[i].note = noteAnd(kids[i].note, "less "+ensemble.MoneyFromMinor(f.units, ln.cur).String()+" of discount "+strings.Join(f.ids, ", ")+", which it funds")
		}
	}
	for i := range n.Children {
		c, k := &n.Children[i], kids[i]
		if !k.active || parts[i] == 0 {
			continue
		}
		down := slices.Clone(refs)
		for _, r := range []*rules.Rule{k.cond, k.rule} {
			if r != nil {
				down = append(append(down, r.Ref()), r.Tables()...)
			}
		}
		cpath := path + "/" + string(c.ID)
		if c.Once == settlement.OncePerCustomer {
			ln.once = append(ln.once, cpath)
		}
		f := ln.funds[c.ID]
		from := len(ln.parts)
		if len(c.Children) > 0 {
			below := above
			if k.note != "" {
				below = noteAnd(string(c.ID)+" "+k.note, above)
			}
			err = ln.split(c, cpath, parts[i], down, below)
		} else {
			err = ln.pay(c, cpath, parts[i], &k, down, above)
		}
		if err != nil {
			return err
		}
		if f != nil {
			f.from, f.to, f.placed = from, len(ln.parts), true
		}
	}
	return ln.trueUps(n, path, amount, kids, refs)
}

// refRetroUpdate is a record a line's retroactive share leaves in the
// volume it read.
type refRetroUpdate struct {
	key refVolumeKey
	rec refRetro
}

// retroTier returns the tier retroactive share c (at cpath) pays the line
// at, the higher of the tier the volume reaches with the line and the tier
// the window's record says its lines are paid at, and that record (tier 1,
// nothing paid, when there is none). A line in another currency than the
// tiers' is refused.
func (ln *refLine) retroTier(c *settlement.Cumulative, cpath string) (int, refRetro, error) {
	if ln.rate != nil || ln.volCur != ln.cur {
		return 0, refRetro{}, fmt.Errorf("%w: a %s line through retroactive tiers in %s", settlement.ErrCurrency, ln.cur, ln.volCur)
	}
	reach := ln.volumes[cpath] + ln.volBasis
	tier := 0
	for tier < len(c.Tiers)-1 && reach > minorOf(c.Tiers[tier].UpTo) {
		tier++
	}
	rec := refRetro{plan: string(ln.plan.ID), node: cpath}
	for _, x := range ln.st.volumes[ln.volKeys[cpath]].retro {
		if x.plan == rec.plan && x.node == cpath {
			rec = x
		}
	}
	return min(max(tier, rec.tier), len(c.Tiers)-1), rec, nil
}

// trueUps pays the true-ups of level n's retroactive children whose tier
// the line raised: (rate now − rate paid) × what the rate applied to on the
// window's earlier lines, rounded half away from zero once, to the child's
// party, and its negative to the remaining sibling when it is a leaf paying
// one party, else to the platform; each adds amount, the level's, to what
// its rate applied to.
func (ln *refLine) trueUps(n *settlement.Node, path string, amount int64, kids []refKid, refs []ensemble.Ref) error {
	rem := slices.IndexFunc(n.Children, func(c settlement.Node) bool { return c.Share.Remaining })
	for i := range n.Children {
		c, k := &n.Children[i], kids[i]
		cu := c.Share.Cumulative
		cpath := path + "/" + string(c.ID)
		if _, read := ln.volKeys[cpath]; cu == nil || cu.Mode != settlement.Retroactive || !k.active || k.platform || !read {
			continue // the volume of nobody keeps no record
		}
		tier, rec, err := ln.retroTier(cu, cpath)
		if err != nil {
			return ln.fail(cpath, "", err)
		}
		paid := min(rec.tier, len(cu.Tiers)-1)
		// The rate the window's lines were paid, as recorded (a record
		// without one, from an older state, reads the tier's).
		from, to := cu.Tiers[paid].Rate, cu.Tiers[tier].Rate
		if rec.rate != nil {
			from = *rec.rate
		}
		up := tier > paid && rec.base != 0 && to.Cmp(from) > 0
		rate := to
		if !up && rec.base != 0 {
			// What was paid, weighted by what each rate applied to.
			rate = from.Mul(ensemble.RatioFromInt(rec.base)).Add(to.Mul(ensemble.RatioFromInt(amount))).Mul(ensemble.RatioFromRat(new(big.Rat).SetFrac64(1, rec.base+amount)))
		}
		ln.retros = append(ln.retros, refRetroUpdate{key: ln.volKeys[cpath], rec: refRetro{plan: rec.plan, node: rec.node, tier: tier, base: rec.base + amount, rate: &rate}})
		if !up {
			continue
		}
		d := to.Sub(from)
		units := d.Mul(ensemble.RatioFromInt(rec.base)).Decimal(0, ensemble.RoundHalfAwayFromZero).IntPart()
		if units == 0 {
			continue
		}
		down := slices.Clone(refs)
		if k.cond != nil {
			down = append(append(down, k.cond.Ref()), k.cond.Tables()...)
		}
		share := fmt.Sprintf("%s - %s = %s of %s (true-up)", pct(to), pct(from), pct(d), ensemble.MoneyFromMinor(rec.base, ln.cur))
		id := settlement.EntryID(string(ln.line.ID) + ":" + cpath + "#trueup." + strconv.Itoa(tier+1))
		ln.entries = append(ln.entries, ln.entry(id, settlement.KindTrueUp, k.party, roleName(c.Party), cpath, units, ln.line.Date, share, down,
			fmt.Sprintf("true-up for crossing tier %d on line %s: the window's earlier lines were paid %s (tier %d) on %s; %s (tier %d) applies to all of them",
				tier+1, ln.line.ID, pct(from), paid+1, ensemble.MoneyFromMinor(rec.base, ln.cur), pct(to), tier+1), ""))
		payer, role, node := ln.s.platform, "platform", cpath
		if rem >= 0 && rem != i && kids[rem].active && len(n.Children[rem].Children) == 0 && !paysSeveral(n.Children[rem].Party) {
			node, role, payer = path+"/"+string(n.Children[rem].ID), roleName(n.Children[rem].Party), kids[rem].party
			if kids[rem].platform || payer == "" {
				payer, role = ln.s.platform, "platform"
			}
		}
		ln.entries = append(ln.entries, ln.entry(id+".funding", settlement.KindTrueUp, payer, role, node, -units, ln.line.Date, share, down,
			fmt.Sprintf("funds the true-up of %s for crossing tier %d on line %s", c.ID, tier+1, ln.line.ID), ""))
	}
	return nil
}

// pay makes the entries of leaf n for amount, as k decided (nil for a root
// leaf, which takes the whole basis), noting above too.
func (ln *refLine) pay(n *settlement.Node, path string, amount int64, k *refKid, refs []ensemble.Ref, above string) error {
	if amount == 0 {
		return nil
	}
	if k == nil {
		k = &refKid{active: true, text: "100%"}
		if !paysSeveral(n.Party) {
			id, _, why, err := ln.resolve(n.Party)
			if err != nil {
				return ln.fail(path, "", err)
			}
			if k.party = id; id == "" {
				k.platform, k.note = true, "fallback to platform: "+why
			}
		}
	}
	role := roleName(n.Party)
	note := noteAnd(k.note, above)
	switch {
	case k.platform:
		ln.earn(path, path, ln.s.platform, "platform", settlement.KindEarning, amount, k.text, refs, note)
	case !paysSeveral(n.Party):
		ln.earn(path, path, k.party, role, settlement.KindEarning, amount, k.text, refs, note)
		ln.parts[len(ln.parts)-1].window = refWindow(&ln.plan.Root, path)
		held := ln.reserve(n, path, path, k.party, role, amount)
		ln.rolling(path, path, k.party, role, amount-held)
	default:
		parties, shares, left, err := ln.payees(n, path)
		if err != nil {
			return err
		}
		// With the platform as fallback, those who cannot trade keep their
		// weights, and the platform takes their shares.
		toPlatform := n.Fallback == settlement.FallbackPlatform && len(left) > 0
		var why []string
		var leftWeight ensemble.Ratio
		if toPlatform {
			for _, o := range left {
				shares = append(shares, o.share)
				leftWeight = leftWeight.Add(o.share.Weight)
				if o.sn == nil {
					why = append(why, "partner "+string(o.id)+" is not a partner yet")
				} else {
					why = append(why, "partner "+string(o.id)+" cannot trade ("+o.sn.Status.String()+")")
				}
			}
		}
		parts := make([]int64, len(shares))
		err = ensemble.AllocateUnits(parts, amount, shares, ensemble.AllocateOptions{Method: ln.plan.Method})
		if errors.Is(err, ensemble.ErrZeroWeights) {
			ln.earn(path, path, ln.s.platform, "platform", settlement.KindEarning, amount, k.text, refs, noteAnd("fallback to platform: every weight is zero", note))
			return nil
		}
		if err != nil {
			return ln.fail(path, "", err)
		}
		// A co-sell split names each party's weight, what the parties that
		// could be paid weigh together when that is not the whole, and an
		// equal split for want of weights.
		var payable ensemble.Ratio
		for _, sh := range shares {
			payable = payable.Add(sh.Weight)
		}
		for i, p := range parties {
			if parts[i] == 0 {
				continue
			}
			text := k.text
			switch n.Party {
			case "chain[*]":
				text += ", level " + shares[i].Key
			case "co_sellers":
				text += ", co-sell weight " + pct(shares[i].Weight)
				if !payable.Equal(ensemble.RatioFromInt(1)) {
					text += " of " + pct(payable) + " payable"
				}
				if _, equal := coSellSplit(ln.line.Route); equal {
					text += ", equal: no weights on the route"
				}
			}
			ln.earn(path+"/"+string(p), path, p, role, settlement.KindEarning, parts[i], text, refs, note)
			ln.parts[len(ln.parts)-1].window = refWindow(&ln.plan.Root, path)
			held := ln.reserve(n, path+"/"+string(p), path, p, role, parts[i])
			ln.rolling(path+"/"+string(p), path, p, role, parts[i]-held)
		}
		var toPlat int64
		for _, u := range parts[len(parties):] {
			toPlat += u
		}
		if toPlat != 0 {
			text := k.text + ", the levels that cannot be paid"
			if n.Party == "co_sellers" {
				text = k.text + ", co-sell weight " + pct(leftWeight)
				if _, equal := coSellSplit(ln.line.Route); equal {
					text += ", equal: no weights on the route"
				}
			}
			ln.earn(path, path, ln.s.platform, "platform", settlement.KindEarning, toPlat, text, refs,
				noteAnd("fallback to platform: "+strings.Join(why, ", "), note))
		}
	}
	return nil
}

// refLeft is a party of a co_sellers or chain[*] leaf that cannot trade
// at the line's date: its weight, and its snapshot (nil: not a partner
// yet).
type refLeft struct {
	id    partner.ID
	share ensemble.Share
	sn    *partner.Snapshot
}

// coSellSplit returns the parties of a route's co-sell split, the seller
// first and then its co-sellers, with their weights: the route's, or
// equal shares when it gives none (equal is then true). A route without
// co-sellers has no split.
func coSellSplit(r partner.Route) (parties []partner.CoSeller, equal bool) {
	if len(r.CoSellers) == 0 {
		return nil, false
	}
	parties = append([]partner.CoSeller{{Partner: r.Seller, Weight: r.SellerWeight}}, r.CoSellers...)
	equal = !slices.ContainsFunc(parties, func(c partner.CoSeller) bool { return !c.Weight.IsZero() })
	if equal {
		for i := range parties {
			parties[i].Weight, _ = ensemble.NewRatio(1, int64(len(parties)))
		}
	}
	return parties, equal
}

// payees returns the parties a co_sellers or chain[*] leaf pays, with their
// weights: the seller and each co-seller that can trade, by their weights
// in the co-sell split (keyed by partner); each chain level that can
// trade, equally or by the leaf's level_weight rule (keys "000", "001",
// ... by level). Those the network knows who cannot trade are returned
// apart (chain levels only for a leaf whose fallback is the platform).
func (ln *refLine) payees(n *settlement.Node, path string) ([]partner.ID, []ensemble.Share, []refLeft, error) {
	var ids []partner.ID
	var shares []ensemble.Share
	var left []refLeft
	if n.Party == "co_sellers" {
		parties, _ := coSellSplit(ln.line.Route)
		for _, cs := range parties {
			sn, err := ln.s.snapshot(cs.Partner, ln.line.Date)
			switch {
			case err == nil && sn != nil && sn.CanTrade():
				ids = append(ids, cs.Partner)
				shares = append(shares, ensemble.Share{Key: string(cs.Partner), Weight: cs.Weight})
			case err == nil:
				left = append(left, refLeft{cs.Partner, ensemble.Share{Key: string(cs.Partner), Weight: cs.Weight}, sn})
			default:
				return nil, nil, nil, err
			}
		}
		return ids, shares, left, nil
	}
	for level, sn := range ln.chain {
		if (sn == nil || !sn.CanTrade()) && n.Fallback != settlement.FallbackPlatform {
			continue
		}
		if sn == nil {
			if n.LevelWeight == "" {
				left = append(left, refLeft{ln.line.Route.Chain[level], ensemble.Share{Key: fmt.Sprintf("%03d", level), Weight: ensemble.RatioFromInt(1)}, nil})
			}
			continue
		}
		w := ensemble.RatioFromInt(1)
		if n.LevelWeight != "" {
			rule, res, err := ln.eval(n.LevelWeight, sn, level)
			name := ruleName(rule, n.LevelWeight)
			if err != nil {
				return nil, nil, nil, ln.fail(path, name, fmt.Errorf("%w: %w", settlement.ErrRule, err))
			}
			if res.Decimal.Sign() < 0 {
				return nil, nil, nil, ln.fail(path, name, fmt.Errorf("%w: negative level weight", settlement.ErrRule))
			}
			w = ensemble.RatioFromDecimal(res.Decimal)
		}
		share := ensemble.Share{Key: fmt.Sprintf("%03d", level), Weight: w}
		if !sn.CanTrade() {
			left = append(left, refLeft{ln.line.Route.Chain[level], share, sn})
			continue
		}
		ids = append(ids, ln.line.Route.Chain[level])
		shares = append(shares, share)
	}
	return ids, shares, left, nil
}

// anyParty reports whether a co_sellers or chain[*] leaf has anyone to pay,
// or why not.
func (ln *refLine) anyParty(party string) (bool, string, error) {
	if party == "co_sellers" {
		parties, _ := coSellSplit(ln.line.Route)
		if len(parties) == 0 {
			return false, "the route has no co-sellers", nil
		}
		for _, cs := range parties {
			sn, err := ln.s.snapshot(cs.Partner, ln.line.Date)
			if err != nil {
				return false, "", err
			}
			if sn != nil && sn.CanTrade() && !cs.Weight.IsZero() {
				return true, "", nil
			}
		}
		return false, "neither the seller nor a co-seller can be paid", nil
	}
	for _, sn := range ln.chain {
		if sn != nil && sn.CanTrade() {
			return true, "", nil
		}
	}
	return false, "no chain level can be paid", nil
}

// resolve returns the partner a single-party role names on the line, with
// its snapshot; "" and the reason when it names nobody or a partner that
// cannot trade at the line's date.
func (ln *refLine) resolve(party string) (partner.ID, *partner.Snapshot, string, error) {
	route := ln.line.Route
	var id partner.ID
	switch {
	case party == "platform":
		id = ln.s.platform
	case party == "seller" || strings.HasPrefix(party, "chain["):
		level, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(party, "chain["), "]")) // "seller" is level 0
		switch {
		case level < len(route.Chain):
			id = route.Chain[level]
		case level == 0:
			return "", nil, "the route has no seller", nil
		default:
			return "", nil, fmt.Sprintf("the route's chain has no level %d", level), nil
		}
	case party == "top":
		if len(route.Chain) == 0 {
			return "", nil, "the route has no chain", nil
		}
		id = route.Chain[len(route.Chain)-1]
	case party == "referrer":
		if id = route.Referrer; id == "" {
			return "", nil, "the route has no referrer", nil
		}
	case party == "marketplace":
		if id = route.Marketplace; id == "" {
			return "", nil, "the route has no marketplace", nil
		}
	case strings.HasPrefix(party, "partner:"):
		id = partner.ID(strings.TrimPrefix(party, "partner:"))
	case party == "attributed":
		return ln.attributed()
	default: // a partner type: the nearest partner of that type up from the seller
		typ := partner.Type(strings.TrimPrefix(party, "type:"))
		i := slices.IndexFunc(ln.chain, func(sn *partner.Snapshot) bool { return sn != nil && sn.Type == typ })
		if i < 0 {
			return "", nil, "the route's chain has no " + string(typ), nil
		}
		id = route.Chain[i]
	}
	sn, err := ln.s.snapshot(id, ln.line.Date)
	switch {
	case err != nil:
		return "", nil, "", err
	case sn == nil:
		return "", nil, "partner " + string(id) + " is not a partner yet", nil
	case !sn.CanTrade():
		return "", nil, "partner " + string(id) + " cannot trade (" + sn.Status.String() + ")", nil
	}
	return id, sn, "", nil
}

// attributed resolves party "attributed": the partner the line's usage
// names, who can trade at the line's date, or an error.
func (ln *refLine) attributed() (partner.ID, *partner.Snapshot, string, error) {
	l := ln.line
	if l.Attributed == "" {
		return "", nil, "", fmt.Errorf("%w: the line's usage is attributed to no one (Line.Attributed)", settlement.ErrAttributedParty)
	}
	id := partner.ID(l.Attributed)
	sn, err := ln.s.snapshot(id, l.Date)
	switch {
	case err != nil:
		return "", nil, "", fmt.Errorf("%w: %q: %w", settlement.ErrAttributedParty, id, err)
	case sn == nil:
		return "", nil, "", fmt.Errorf("%w: %q is not a partner yet at %s", settlement.ErrAttributedParty, id, l.Date.UTC().Format(time.RFC3339))
	case !sn.CanTrade():
		return "", nil, "", fmt.Errorf("%w: %q cannot trade at %s (%s)", settlement.ErrAttributedParty, id, l.Date.UTC().Format(time.RFC3339), sn.Status)
	}
	return id, sn, "", nil
}

// eval evaluates the version of rule id in force at the line's date, with
// the partner facts of sn (none when nil) and the chain level a level
// weight is for. It returns the version, nil when none is in force.
func (ln *refLine) eval(id string, sn *partner.Snapshot, level int) (*rules.Rule, rules.Result, error) {
	rule, err := ln.s.rules.At(id, ln.line.Date)
	if err != nil {
		return nil, rules.Result{}, err
	}
	l := ln.line
	if err := refGives(rule, &l); err != nil {
		return rule, rules.Result{}, err
	}
	gross, err := l.Amount.Add(l.Tax)
	if err != nil {
		return rule, rules.Result{}, err
	}
	if sn == nil {
		sn = &partner.Snapshot{}
	}
	seller := l.Route.Seller
	periodQuantity := l.Quantity
	if !l.PeriodQuantity.IsZero() {
		periodQuantity = l.PeriodQuantity
	}
	var sellerTier partner.Tier
	if seller != "" && len(ln.chain) > 0 && ln.chain[0] != nil {
		sellerTier = ln.chain[0].Tier
	}
	facts := ln.s.rules.Env().NewFacts()
	for name, v := range map[string]any{
		settlement.VarLine: &settlement.LineFacts{ID: string(l.ID), Date: l.Date, Amount: ensemble.MoneyFromMinor(ln.rest, ln.cur), Net: l.Amount,
			Tax: l.Tax, Gross: gross, Quantity: l.Quantity, PeriodQuantity: periodQuantity, Currency: ln.cur.Key(), CustomerID: l.Customer.ID, Kind: l.Kind,
			ContractStart: l.ContractStart, ServiceStart: l.Service.Start, ServiceEnd: l.Service.End, Attributed: l.Attributed,
			Attributes: l.Attributes},
		settlement.VarOffer: &settlement.OfferFacts{ID: string(l.Offer.Offer), Version: l.Offer.Version, Charge: string(l.Charge)},
		settlement.VarRoute: &settlement.RouteFacts{Kind: l.Route.Kind.String(), Seller: string(seller), SellerTier: string(sellerTier), Depth: len(l.Route.Chain), Level: level,
			Referrer: string(l.Route.Referrer), Marketplace: string(l.Route.Marketplace)},
		settlement.VarCustomer: &settlement.CustomerFacts{Country: string(l.Customer.Country)},
		settlement.VarPartner:  sn,
		settlement.VarVolume: &settlement.VolumeFacts{Partner: string(seller),
			Amount: ensemble.MoneyFromMinor(ln.st.volumeBefore(seller, ln.volCur, settlement.WindowCalendarYear, l.Date), ln.volCur)},
	} {
		if err := facts.Set(name, v); err != nil {
			return rule, rules.Result{}, err
		}
	}
	res, err := rule.Eval(context.Background(), facts)
	return rule, res, err
}

// refGives refuses sale l when rule reads a line fact l does not give, by
// name: its contract start or its service period, which
// settlement.LineFacts would otherwise hold as year 1.
func refGives(rule *rules.Rule, l *settlement.Line) error {
	for _, p := range rule.Reads() {
		v, f, _ := strings.Cut(p, ".")
		if v != settlement.VarLine {
			continue
		}
		switch f, _, _ = strings.Cut(f, "."); f { // a whole line ("") is read as it is
		case "contract_start":
			if l.ContractStart.IsZero() {
				return fmt.Errorf("%w: the rule reads line.contract_start, and the line gives no contract start "+
					"(Line.ContractStart; FromInvoice sets it from the invoice line's SubscriptionStart)", settlement.ErrInvalidLine)
			}
		case "service_start", "service_end":
			if l.Service.Start.IsZero() {
				return fmt.Errorf("%w: the rule reads line.service_start or line.service_end, and the line gives no service period "+
					"(Line.Service; FromInvoice sets it from the invoice line's Period)", settlement.ErrInvalidLine)
			}
		}
	}
	return nil
}

// cumulativeRate returns the rate of a cumulative share for the line, given
// the volume before it, both in the volume's currency (the tiers'): cliff
// (or a zero basis) takes the tier the volume reaches with the line;
// marginal weighs each tier's rate by the slice of the line's basis within
// it. A line converted into the volume's currency says so.
func (ln *refLine) cumulativeRate(c *settlement.Cumulative, before int64) (ensemble.Ratio, string, error) {
	upTo := make([]int64, len(c.Tiers))
	for i, t := range c.Tiers {
		upTo[i] = math.MaxInt64
		if i < len(c.Tiers)-1 {
			upTo[i] = minorOf(t.UpTo) // in the volume's currency: New checks it
		}
	}
	money := func(units int64) string { return ensemble.MoneyFromMinor(units, ln.volCur).String() }
	vol := money(before)
	if r := ln.rate; r != nil { // "; USD 543.48 at 0.92 = EUR 500.00, rate since 2026-03-15"
		vol += fmt.Sprintf("; %s at %s = %s", ensemble.MoneyFromMinor(ln.basis, ln.cur), r.Rate, money(ln.volBasis))
		if !r.Since.IsZero() {
			vol += ", rate since " + r.Since.UTC().Format(time.DateOnly)
		}
	}
	b := ln.volBasis
	if c.Mode == settlement.Cliff || b == 0 {
		reach := before + b
		i := slices.IndexFunc(upTo, func(u int64) bool { return reach <= u })
		return c.Tiers[i].Rate, fmt.Sprintf("%s (cliff, tier %d, volume before %s)", pct(c.Tiers[i].Rate), i+1, vol), nil
	}
	var weighted ensemble.Ratio
	var took []string // "15% of EUR 200.00", one per tier the line reaches
	var tiers []int
	from := before
	for i, u := range upTo {
		if to := min(before+b, u); from < to {
			weighted = weighted.Add(ensemble.RatioFromInt(to - from).Mul(c.Tiers[i].Rate))
			took = append(took, pct(c.Tiers[i].Rate)+" of "+money(to-from))
			tiers = append(tiers, i+1)
			from = to
		}
	}
	per, _ := ensemble.NewRatio(1, b)
	rate := weighted.Mul(per)
	if len(tiers) == 1 {
		return rate, fmt.Sprintf("%s (marginal over 1 tier(s), volume before %s)", pct(rate), vol), nil
	}
	// Across tiers, what each tier took of the line, then the rate that
	// makes (applied to the node's amount).
	return rate, fmt.Sprintf("%s = %s of %s (tiers %d-%d, volume before %s)", strings.Join(took, " + "), pct(rate),
		money(b), tiers[0], tiers[len(tiers)-1], vol), nil
}

// chainTypesForm refuses a chain with a link the network's partner types
// cannot form: a parent of a type the network's parent_types do not allow
// for the child's type, or, for a type they do not list, of a type no
// partner of the child's type has as a parent in any of its terms, when
// some partner of that type has a parent there (a type whose partners
// have none keeps their parents outside the network). Partners the
// network does not hold are not checked.
func (s *refSettler) chainTypesForm(chain []partner.ID) error {
	if s.network == nil {
		return nil
	}
	spec := s.network.Spec()
	typeOf := map[partner.ID]partner.Type{}
	for _, p := range spec.Partners {
		typeOf[p.ID] = p.Type
	}
	for i := 1; i < len(chain); i++ {
		ct, ok1 := typeOf[chain[i-1]]
		pt, ok2 := typeOf[chain[i]]
		if !ok1 || !ok2 {
			continue
		}
		if allowed, declared := spec.ParentTypes[ct]; declared {
			if !slices.Contains(allowed, pt) {
				return fmt.Errorf("%w: %w", settlement.ErrInvalidLine, partner.ErrParentType)
			}
			continue
		}
		observed, formed := false, false
		for _, p := range spec.Partners {
			for _, t := range p.Terms {
				if p.Type == ct && t.Parent != "" {
					observed = true
					formed = formed || typeOf[t.Parent] == pt
				}
			}
		}
		if observed && !formed {
			return fmt.Errorf("%w: %w", settlement.ErrInvalidLine, partner.ErrParentType)
		}
	}
	return nil
}

// reserve holds back the node's reserve ratio of an earning (rounded down)
// until its release date, and returns what it held.
func (ln *refLine) reserve(n *settlement.Node, entryPath, node string, party partner.ID, role string, amount int64) int64 {
	if n.Reserve == nil {
		return 0
	}
	if ln.plan.Payable == settlement.PayableOnCollection {
		// Held of each payment instead (refLedger.releasePaid).
		if n.Reserve.Ratio.Sign() != 0 {
			ln.parts[len(ln.parts)-1].onPay = n.Reserve
		}
		return 0
	}
	r := new(big.Rat).Mul(big.NewRat(amount, 1), n.Reserve.Ratio.Rat())
	held := new(big.Int).Quo(r.Num(), r.Denom()).Int64()
	if held == 0 {
		return 0
	}
	id := settlement.EntryID(string(ln.line.ID) + ":" + entryPath)
	release := ln.line.Date.AddDate(0, 0, n.Reserve.Days)
	note := fmt.Sprintf("reserve %s until %s", n.Reserve.Ratio.Percent(), release.Format(time.DateOnly))
	ln.entries = append(ln.entries,
		ln.entry(id+"#reserve", settlement.KindReserve, party, role, node, held, ln.line.Date, "", nil, note, id),
		ln.entry(id+"#release", settlement.KindRelease, party, role, node, held, release, "", nil, "reserve released", id))
	p := &ln.parts[len(ln.parts)-1]
	p.leaf, p.leafUntil = held, release
	return held
}

// rolling holds back the party's rolling reserve, if the plan keeps one
// for it, of what the earning just made (the last part) leaves after the
// node's reserve: its ratio, rounded down, until its release date.
func (ln *refLine) rolling(entryPath, node string, party partner.ID, role string, amount int64) {
	i := slices.IndexFunc(ln.plan.Reserves, func(r settlement.PartyReserve) bool { return r.Party == party })
	if i < 0 || amount <= 0 {
		return
	}
	r := ln.plan.Reserves[i]
	x := new(big.Rat).Mul(big.NewRat(amount, 1), r.Ratio.Rat())
	held := new(big.Int).Quo(x.Num(), x.Denom()).Int64()
	if held == 0 {
		return
	}
	id := settlement.EntryID(string(ln.line.ID) + ":" + entryPath)
	until := ln.line.Date.AddDate(0, 0, r.Days)
	note := fmt.Sprintf("rolling reserve %s of %s until %s", r.Ratio.Percent(), party, until.Format(time.DateOnly))
	ln.entries = append(ln.entries,
		ln.entry(id+"#rolling", settlement.KindReserve, party, role, node, held, ln.line.Date, "", nil, note, id),
		ln.entry(id+"#rolling.release", settlement.KindRelease, party, role, node, held, until, "", nil, "rolling reserve released", id))
	p := &ln.parts[len(ln.parts)-1]
	p.reserve, p.until = held, until
}

// earn makes an earning or supplier cost entry and its ledger part.
func (ln *refLine) earn(entryPath, node string, party partner.ID, role string, kind settlement.EntryKind, units int64, share string, refs []ensemble.Ref, note string) {
	id := settlement.EntryID(string(ln.line.ID) + ":" + entryPath)
	ln.entries = append(ln.entries, ln.entry(id, kind, party, role, node, units, ln.line.Date, share, refs, note, ""))
	ln.parts = append(ln.parts, refPart{path: entryPath, node: node, party: party, role: role, kind: kind, amount: units, unreversed: units})
}

func (ln *refLine) entry(id settlement.EntryID, kind settlement.EntryKind, party partner.ID, role, node string, units int64, at time.Time,
	share string, refs []ensemble.Ref, note string, reverses settlement.EntryID) settlement.Entry {
	l := ln.line
	return settlement.Entry{ID: id, Line: l.ID, Kind: kind, Party: party, Role: role, Amount: ensemble.MoneyFromMinor(units, ln.cur), Date: at,
		Plan: ln.plan.Ref(), Node: node, Share: share, Rules: refs, Service: l.Service, Offer: l.Offer, Route: l.Route.Kind,
		Seller: l.Route.Seller, Reverses: reverses, Note: note, Trace: append(slices.Clone(l.Trace), l.Ref())}
}

// units converts a plan amount to minor units of the line's currency.
func (ln *refLine) units(m ensemble.Money) (int64, error) {
	if m.IsZero() {
		return 0, nil
	}
	if m.Currency() != ln.cur {
		return 0, fmt.Errorf("%w: %s on a %s line", settlement.ErrCurrency, m, ln.cur)
	}
	return m.MinorUnits()
}

// paysSeveral reports whether a party names several partners.
func paysSeveral(party string) bool { return party == "co_sellers" || party == "chain[*]" }

// roleName is the role entries name for a party: chain[0] is the seller; a
// type:<name> is its bare name when a plan may write that name bare (the
// well-known partner types that are no role's name), else type:<name>, so
// that no role reads as another (type:supplier is not a supplier cost).
func roleName(party string) string {
	if level, ok := strings.CutPrefix(party, "chain["); ok && party != "chain[*]" {
		n, _ := strconv.Atoi(strings.TrimSuffix(level, "]"))
		if n == 0 {
			return "seller"
		}
		return fmt.Sprintf("chain[%d]", n)
	}
	if typ, ok := strings.CutPrefix(party, "type:"); ok {
		switch partner.Type(typ) {
		case partner.TypeDistributor, partner.TypeReseller, partner.TypeSubReseller, partner.TypeMSP,
			partner.TypeISV, partner.TypeTechnology, partner.TypeSystemsIntegrator:
			return typ
		}
	}
	return party
}

// pct writes a share as entries do: r.Percent() when it terminates, else
// the fraction and the percentage to two places, "1/3 (≈33.33%)".
func pct(r ensemble.Ratio) string {
	p := r.Percent()
	if strings.HasSuffix(p, "%") {
		return p
	}
	approx := r.Mul(ensemble.RatioFromInt(100)).Decimal(2, ensemble.RoundHalfAwayFromZero)
	if approx.IsZero() {
		return p + " (<0.01%)"
	}
	return fmt.Sprintf("%s (≈%s%%)", p, approx.StringFixed(2))
}

// shareText is a share as entries say it before any rule has run.
func shareText(sh settlement.Share) string {
	switch {
	case sh.Remaining:
		return "remaining"
	case sh.HasRatio:
		return pct(sh.Ratio)
	case !sh.Amount.IsZero():
		return sh.Amount.String()
	case sh.Rule != "":
		return "rule " + sh.Rule
	}
	return "cumulative"
}

// ruleName is "id@version", or id when no version is in force (or "" when
// no rule decided).
func ruleName(rule *rules.Rule, id string) string {
	if rule == nil {
		return id
	}
	return fmt.Sprintf("%s@%d", rule.ID(), rule.Version())
}

// settleCredit reverses a credited line's parts in proportion to what each
// still has unreversed.
func (s *refSettler) settleCredit(st *refState, c settlement.Line) ([]settlement.Entry, error) {
	lg, ok := st.lines[c.Credits]
	if !ok {
		return nil, refErr(c.ID, "", "", "", fmt.Errorf("%w: credits %q", settlement.ErrUnknownLine, c.Credits))
	}
	fail := func(err error) error { return refErr(c.ID, lg.plan.ID, "", "", err) }
	switch {
	case lg.disputed && lg.disputedAmt == 0: // a whole dispute takes no credit
		return nil, fail(settlement.ErrDisputed)
	case c.Amount.Currency() != lg.cur:
		return nil, fail(settlement.ErrCurrency)
	case c.Route.Seller != "" && c.Route.Seller != lg.seller: // a credit names the credited line's seller, or none
		return nil, fail(settlement.ErrInvalidLine)
	}
	// The credit reverses the basis the line's plan version split, which
	// the settler must still hold.
	i := slices.IndexFunc(s.plans, func(p settlement.PlanDocument) bool { return p.Ref() == lg.plan })
	switch {
	case i < 0:
		return nil, fail(settlement.ErrUnknownPlanVersion)
	case s.plans[i].Basis != lg.basisKind:
		return nil, fail(settlement.ErrBasisMismatch)
	}
	credit := -minorOf(c.Amount)
	if lg.basisKind == settlement.BasisGross {
		credit -= minorOf(c.Tax)
	}
	// While a dispute of an amount is open, a credit takes what is not
	// disputed, each part's share of the amount left to it; a credit of
	// lost disputes' waits for its end, as one of a line a bearer owed
	// beyond does.
	var keep []int64
	if lg.disputed {
		owing := slices.ContainsFunc(lg.parts, func(p refPart) bool { return p.unreversed < 0 })
		disputed := min(lg.disputedAmt, lg.basis-lg.credited)
		switch {
		case c.Dispute == settlement.DisputeDocuments || lg.lost-lg.documented > 0 && c.Dispute == settlement.DisputeUnstated, owing:
			return nil, fail(settlement.ErrDisputed)
		}
		// Each part keeps its share, and at least what the dispute holds.
		keep = lg.shares(disputed)
		undisputed := lg.basis - lg.credited
		for i, p := range lg.parts {
			keep[i] = max(keep[i], p.held+p.byReserves)
			undisputed -= keep[i]
		}
		if credit > undisputed {
			return nil, fail(&settlement.DisputedAmountError{Line: lg.line, Disputed: ensemble.MoneyFromMinor(disputed, lg.cur),
				Undisputed: ensemble.MoneyFromMinor(max(0, undisputed), lg.cur), Asked: ensemble.MoneyFromMinor(credit, lg.cur)})
		}
	}
	// A lost dispute is the partners' clawback: the credit documenting it
	// reverses nothing; one that does not say, while the disputes lost
	// what no credit documents, is refused.
	if undoc := lg.lost - lg.documented; c.Dispute == settlement.DisputeDocuments || undoc > 0 && c.Dispute == settlement.DisputeUnstated {
		switch {
		case c.Dispute == settlement.DisputeUnstated:
			return nil, fail(settlement.ErrUndocumentedDispute)
		case credit > undoc:
			return nil, fail(settlement.ErrOverDocumented)
		}
		closed := false // the note closed the line: the customer owes nothing on it any more
		if lg.undocOwed > 0 && lg.coll != nil && !lg.coll.onSettlement {
			// The note's own total replaces the share of the line's total
			// the lost disputes took for its net (pro rata of what is
			// undocumented, half up), within MaxNoteRounding; a line paid
			// in full keeps what was paid.
			share := lg.undocOwed
			if credit < undoc {
				x := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(lg.undocOwed), big.NewInt(credit)), big.NewInt(undoc))
				x.Add(x, big.NewRat(1, 2))
				share = new(big.Int).Quo(x.Num(), x.Denom()).Int64()
			}
			delta := -minorOf(c.Amount) - minorOf(c.Tax) - share
			if delta > settlement.MaxNoteRounding || delta < -settlement.MaxNoteRounding {
				return nil, fail(settlement.ErrDocumentedTotal)
			}
			lg.undocOwed -= share
			if owed := lg.coll.owed(); owed > 0 && delta != 0 {
				cl := *lg.coll
				cl.credited += min(delta, owed)
				lg.coll = &cl
				closed = cl.done()
			}
		}
		lg.documented += credit
		var entries []settlement.Entry
		var took int64
		if closed {
			// The note leaves the customer owing nothing: what still
			// awaited its payment goes back, as with a credit closing the
			// line (in proportion to what the parts have unreversed), and
			// nothing awaits any more.
			before := lg.credited
			trace := append(slices.Clone(c.Trace), c.Ref(), ensemble.Ref{Kind: settlement.RefLine, ID: string(lg.line)})
			out, err := lg.reverse(0, string(c.ID), c.Date, "credit of "+string(lg.line)+" by "+string(c.ID)+" documenting its lost disputes",
				trace, c.Service, settlement.Bearer{}, false, nil)
			if err != nil {
				return nil, fail(err)
			}
			entries = out
			took = lg.credited - before
			st.takeBack(lg, before)
		}
		st.lines[lg.line] = lg
		st.credits[c.ID] = refCredit{of: lg.line, amount: took, documented: credit}
		if closed { // a line the note closed settles the credits it lent
			back, err := st.settleInvoices(lg.line, c.Date.UTC(), lg.coll.invoice)
			if err != nil {
				return nil, fail(err)
			}
			entries = append(entries, back...)
		}
		return entries, nil
	}
	var clawed int64 // of the credit, what write-offs clawed back already
	var nettedInv string
	var nettedIDs []settlement.LineID
	var nettedOwed []int64
	var netted int64
	var over int64                 // what the credit takes off the line's balance beyond its total
	var spilled []settlement.Entry // and moves to the invoice's other lines
	// A credit of a line on collection the customer paid in full netted on
	// another invoice is a payment of its lines.
	funded := st.paidInFull(lg.line)
	if lg.coll != nil { // the credit note's amount and tax come off what the customer owes
		// Its tax must be the line's rate on its basis, within a unit.
		if lg.basisKind == settlement.BasisNet && lg.basis != 0 && !lg.coll.onSettlement { // a receivable releases nothing
			lineTax, tax := lg.coll.total-lg.basis, -minorOf(c.Tax)
			exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(credit), big.NewInt(lineTax)), big.NewInt(lg.basis))
			if off := new(big.Rat).Sub(new(big.Rat).SetInt64(tax), exact); off.Abs(off).Cmp(big.NewRat(1, 1)) > 0 {
				return nil, fail(settlement.ErrInvalidLine)
			}
		}
		// On another invoice, it is paid toward what that invoice's lines
		// owe; the rest comes off the line's balance.
		take := -minorOf(c.Amount) - minorOf(c.Tax)
		nettedInv = c.Invoice
		if nettedInv == lg.coll.invoice {
			nettedInv = ""
		}
		var all int64
		for _, id := range slices.Sorted(maps.Keys(st.lines)) {
			y := st.lines[id]
			if nettedInv != "" && y.coll != nil && y.coll.invoice == nettedInv && !y.disputed && y.cur == lg.cur && y.coll.owed() > 0 {
				nettedIDs, nettedOwed = append(nettedIDs, id), append(nettedOwed, y.coll.owed())
				all += y.coll.owed()
			}
		}
		netted = min(take, all)
		// What the line's balance cannot hold moves to the invoice's other
		// lines: beyond the total, and at least the pending credits'
		// share of what goes beyond what the customer owed.
		k := -minorOf(c.Amount) - minorOf(c.Tax) - netted
		// What write-offs clawed back for what it takes is part of what it
		// reverses: beyond what the customer owes, it takes back what was
		// written off, from the last unit down, even what was held for
		// the credits the line lent (its cash beyond its value funds
		// them); what it nets elsewhere is lent, what is left written off
		// its first (beyond what the line lent already).
		var lent int64
		for _, y := range st.lines {
			if y.coll != nil {
				for _, p := range y.coll.pending {
					if p.from == lg.line {
						lent += p.units
					}
				}
			}
		}
		wo := lg.coll.writtenOff
		claw := func(from, units int64) { // the units lent clawed nothing back
			share := min(lg.coll.clawed, credit, lg.refShare(max(0, from), true)-lg.refShare(max(0, from-units), true))
			lg.coll.clawed -= share
			credit -= share
			clawed += share
		}
		back := min(max(0, wo-lg.coll.unfunded), max(0, k-lg.coll.owed())) // not the netted credits nothing funded: the customer got them
		if back > 0 {
			claw(wo-lent, back)
			lg.coll.writtenOff -= back
		}
		if re := min(max(0, wo-back-lent), netted); re > 0 {
			claw(wo-back-lent, re)
		}
		var pending int64
		for _, p := range lg.coll.pending {
			pending += p.units
		}
		cl := lg.coll
		over = max(cl.credited+k-cl.total, min(pending+cl.setOff, cl.credited+k+cl.collected+cl.writtenOff-cl.total), 0)
		lg.coll.credited += k - over
		// What the balance cannot hold (credits netted on it from another
		// invoice) moves to the invoice's other lines that owe before the
		// credit reverses the parts, which then see what stays pending.
		if lg.coll.invoice != "" {
			st.lines[lg.line] = lg
			spilled = st.spillOver(lg.line, over, string(c.ID)+"#netted", c.Date.UTC())
			lg = st.lines[lg.line]
		}
	} else if c.Invoice != "" { // a line paid on settlement: netted all the same
		nettedInv = c.Invoice
		var all int64
		for _, id := range slices.Sorted(maps.Keys(st.lines)) {
			y := st.lines[id]
			if y.coll != nil && y.coll.invoice == nettedInv && !y.disputed && y.cur == lg.cur && y.coll.owed() > 0 {
				nettedIDs, nettedOwed = append(nettedIDs, id), append(nettedOwed, y.coll.owed())
				all += y.coll.owed()
			}
		}
		netted = min(-minorOf(c.Amount)-minorOf(c.Tax), all)
	}
	trace := append(slices.Clone(c.Trace), c.Ref(), ensemble.Ref{Kind: settlement.RefLine, ID: string(lg.line)})
	before := lg.credited
	note := "credit of " + string(lg.line) + " by " + string(c.ID)
	if clawed > 0 {
		note += " (" + ensemble.MoneyFromMinor(clawed, lg.cur).String() + " of it clawed back by write-offs before)"
	}
	var split []int64
	if clawed == 0 {
		var err error
		if split, err = s.refCreditSplit(lg, c, credit); err != nil {
			return nil, fail(err)
		}
	}
	lg.keep = keep
	reversed, err := lg.reverse(credit, string(c.ID), c.Date, note, trace, c.Service, c.Bearer, false, split)
	lg.keep = nil
	if err != nil {
		return nil, fail(err)
	}
	entries := append(spilled, reversed...)
	st.takeBack(lg, before)
	st.lines[lg.line] = lg
	st.credits[c.ID] = refCredit{of: lg.line, amount: lg.credited - before + clawed, bearer: c.Bearer}
	switch {
	case netted > 0 && funded:
		entries = append(entries, st.payLines(nettedIDs, nettedOwed, netted, string(c.ID)+"#netted", c.Date.UTC())...)
	case netted > 0 && lg.coll != nil && !lg.coll.onSettlement: // pending until the customer pays the line in full
		entries = append(entries, st.creditLines(nettedIDs, nettedOwed, netted, string(c.ID)+"#netted", c.Date.UTC(), refPending{credit: c.ID, from: lg.line})...)
		lg = st.lines[lg.line]
		if !slices.Contains(lg.coll.lentTo, c.Invoice) {
			cl := *lg.coll
			cl.lentTo = append(slices.Clone(cl.lentTo), c.Invoice)
			lg.coll = &cl
			st.lines[lg.line] = lg
		}
	case netted > 0:
		entries = append(entries, st.creditLines(nettedIDs, nettedOwed, netted, string(c.ID)+"#netted", c.Date.UTC(), refPending{})...)
	}
	// What the customer paid on the line beyond what it is now worth goes
	// to the other lines of its invoice that owe, as a payment.
	if lg = st.lines[lg.line]; lg.coll != nil && lg.coll.invoice != "" {
		owing := func() (ids []settlement.LineID, owed []int64, all int64) {
			for _, id := range slices.Sorted(maps.Keys(st.lines)) {
				y := st.lines[id]
				if id != lg.line && y.coll != nil && y.coll.invoice == lg.coll.invoice && !y.disputed && y.cur == lg.cur && y.coll.owed() > 0 {
					ids, owed = append(ids, id), append(owed, y.coll.owed())
					all += y.coll.owed()
				}
			}
			return ids, owed, all
		}
		if extra := lg.coll.collected - (lg.coll.total - lg.coll.credited); extra > 0 {
			if ids, owed, all := owing(); min(extra, all) > 0 {
				cl := *lg.coll
				cl.collected -= min(extra, all)
				lg.coll = &cl
				st.lines[lg.line] = lg
				entries = append(entries, st.payLines(ids, owed, min(extra, all), string(c.ID)+"#netted", c.Date.UTC())...)
			}
		}
	}
	// A credited line owing nothing settles the credits it lent, and so
	// do the lines of its invoice and of the one it was netted on, which
	// it may have paid.
	var invs []string
	if lg.coll != nil {
		invs = append(invs, lg.coll.invoice)
	}
	if netted > 0 {
		invs = append(invs, nettedInv)
	}
	back, err := st.settleInvoices(lg.line, c.Date.UTC(), invs...)
	if err != nil {
		return nil, fail(err)
	}
	return append(entries, back...), nil
}

// spillOver moves over, what a credit or a lost dispute took off line
// id's balance beyond its total, to the other lines of its invoice that
// owe, in proportion, as a credit (collection col): the credits pending
// on the line first, each still pending on the lines it goes to.
func (st *refState) spillOver(id settlement.LineID, over int64, col string, at time.Time) []settlement.Entry {
	var out []settlement.Entry
	for over > 0 {
		lg := st.lines[id]
		var ids []settlement.LineID
		var owed []int64
		var all int64
		for _, yid := range slices.Sorted(maps.Keys(st.lines)) {
			y := st.lines[yid]
			if yid != id && y.coll != nil && y.coll.invoice == lg.coll.invoice && !y.disputed && y.cur == lg.cur && y.coll.owed() > 0 {
				ids, owed = append(ids, yid), append(owed, y.coll.owed())
				all += y.coll.owed()
			}
		}
		amount := min(over, all)
		if amount == 0 {
			break
		}
		var src refPending
		if len(lg.coll.pending) > 0 {
			src = lg.coll.pending[0]
			amount = min(amount, src.units)
			cl := *lg.coll
			cl.pending = slices.Clone(cl.pending)
			if cl.pending[0].units -= amount; cl.pending[0].units == 0 {
				cl.pending = cl.pending[1:]
			}
			lg.coll = &cl
			st.lines[id] = lg
		} else if lg.coll.setOff > 0 { // then the line's set-off
			amount = min(amount, lg.coll.setOff)
			cl := *lg.coll
			cl.setOff -= amount
			lg.coll = &cl
			st.lines[id] = lg
		}
		out = append(out, st.creditLines(ids, owed, amount, col, at, src)...)
		over -= amount
	}
	// What no other line owes stays on the line (a refund due).
	lg := st.lines[id]
	cl := *lg.coll
	cl.credited = min(cl.total, cl.credited+over)
	lg.coll = &cl
	st.lines[id] = lg
	return out
}

// reverse takes credit back from the line's parts: with no bearer, from
// every part in proportion to its unreversed amount (largest remainder,
// ties by entry id); with a bearer, from the bearer's parts alone in
// proportion to theirs, and when they hold too little and the bearer allows
// it, the rest from the other parts in proportion to theirs. With awaited
// and no bearer (a write-off), in proportion to what each part awaits
// instead. Clawbacks get ids "<by>:<part path>#clawback" and carry service
// (a credit line's, or the disputed line's for a lost dispute).
func (lg *refLedger) reverse(credit int64, by string, at time.Time, note string, trace []ensemble.Ref, service ensemble.Period, b settlement.Bearer, awaited bool, split []int64) ([]settlement.Entry, error) {
	if left := lg.basis - lg.credited; credit > left {
		return nil, fmt.Errorf("%w: %d credited, %d left", settlement.ErrOverCredit, credit, left)
	}
	// A line on collection whose customer owes nothing after this: what
	// would still await a payment that never comes is taken back too.
	if lg.coll != nil && !lg.coll.onSettlement && lg.coll.owed() == 0 && lg.keep == nil { // (an open dispute's end takes what awaits)
		pending := int64(0) // credits pending on the line are payments to come
		for _, p := range lg.coll.pending {
			pending += p.units
		}
		paid := lg.coll.collected + pending
		if !awaited { // a set-off is the customer's credit, which a write-off gives up
			paid += lg.coll.setOff
		}
		rest := lg.basis - lg.credited - credit - lg.refShare(paid, false)
		if awaited { // a write-off takes back only what awaits
			rest = min(rest, lg.awaitingSum()-credit)
		}
		if rest > 0 {
			credit += rest
			note += fmt.Sprintf(", and %s awaiting a payment no longer owed", ensemble.MoneyFromMinor(rest, lg.cur))
		}
	}
	var bearers, others []int // indexes of the parts that bear the credit, and of the rest
	for i, p := range lg.parts {
		if b.IsZero() || refBears(b, p) {
			bearers = append(bearers, i)
		} else {
			others = append(others, i)
		}
	}
	// A bearer of several parts (a node, a role, a component) bears with
	// those that have something: one below zero (its party owed beyond it
	// on an earlier credit) neither takes back a share of what the others
	// give nor counts against what the bearer has.
	if !b.IsZero() && slices.ContainsFunc(bearers, func(i int) bool { return lg.parts[i].unreversed > 0 }) {
		var kept []int
		for _, i := range bearers {
			if lg.parts[i].unreversed < 0 {
				others = append(others, i)
			} else {
				kept = append(kept, i)
			}
		}
		bearers = kept
		slices.Sort(others)
	}
	var has int64 // what the bearers have unreversed (beyond their shares of an open dispute)
	for _, i := range bearers {
		has += lg.parts[i].unreversed
		if lg.keep != nil {
			has -= lg.keep[i]
		}
	}
	take, rest := credit, int64(0)
	// A credit of all the line has left once a part is below zero (or
	// making one go there) takes from each part exactly what it has.
	whole := false
	if credit == lg.basis-lg.credited {
		for _, p := range lg.parts {
			whole = whole || p.unreversed < 0
		}
	}
	owes := false               // the bearer owes the credit beyond its part
	shareOf := map[int]string{} // the share text of each part's clawback
	if !b.IsZero() {
		money := func(u int64) ensemble.Money { return ensemble.MoneyFromMinor(u, lg.cur) }
		bearerErr := &settlement.BearerError{Line: lg.line, Bearer: b, Credit: money(credit), Unreversed: money(has), Shortfall: money(max(credit-has, 0))}
		borne := "borne by " + b.String()
		switch {
		case len(bearers) == 0:
			bearerErr.Err = settlement.ErrBearerNotOnLine
			return nil, bearerErr
		case credit > has && b.Shortfall == settlement.ShortfallError:
			bearerErr.Err = settlement.ErrBearerShortfall
			return nil, bearerErr
		case credit > has && b.Shortfall == settlement.ShortfallBearerOwes:
			bearerErr.Err = settlement.ErrBearerOwes
			if lg.disputed {
				bearerErr.Why = "an open dispute of part of the line holds each part's share of the amount disputed, which a credit while it is open leaves to the part"
				return nil, bearerErr
			}
			if lg.coll != nil && lg.coll.onSettlement {
				bearerErr.Why = "the line is a receivable of its invoice (a settler with a plan payable on collection spreads the invoice's payments over its lines), whose balance is kept within what its parts have unreversed"
				return nil, bearerErr
			}
			if lg.coll != nil {
				bearerErr.Why = "the line has a balance on collection, whose parts await the customer's payment within what they have unreversed"
				return nil, bearerErr
			}
			for _, i := range bearers {
				if p := lg.parts[i]; p.src.units != 0 {
					bearerErr.Why = fmt.Sprintf("its part %q is a supplier cost owed in %s, converted within the part's amount", string(lg.line)+":"+p.path, p.src.cur)
					return nil, bearerErr
				}
			}
			if has < 0 && credit > math.MaxInt64+has {
				bearerErr.Why = "what it would owe is beyond the int64 range of minor units"
				return nil, bearerErr
			}
			if credit == lg.basis-lg.credited {
				whole = true
				note = fmt.Sprintf("%s, %s", note, borne)
				break
			}
			owes = true
			note = fmt.Sprintf("%s, %s beyond its part of the line: %s more than its %s unreversed", note, borne, money(credit-has), money(has))
			borne += ", beyond its part of the line"
		case whole:
			note = fmt.Sprintf("%s, %s", note, borne)
		case credit > has:
			take = max(has, 0)
			rest = credit - take
			note = fmt.Sprintf("%s, %s up to its %s unreversed, the other %s in proportion", note, borne, money(take), money(rest))
		default:
			note = fmt.Sprintf("%s, %s", note, borne)
		}
		for _, i := range bearers {
			shareOf[i] = borne
		}
		for _, i := range others {
			shareOf[i] = "in proportion, for the shortfall of " + b.String()
			if whole {
				shareOf[i] = "the line credited in full"
			}
		}
	}
	lg.credited += credit
	if credit == 0 {
		// A credit of nothing (of a line credited in full already, say)
		// takes nothing back: it is no credit of all the line has left
		// that moves what a part kept past its clawback window to the
		// window's bearer, whatever its date.
		return nil, nil
	}
	lg.parts = slices.Clone(lg.parts)
	taken := make([]int64, len(lg.parts))
	if split != nil && b.IsZero() && !awaited {
		var sum int64
		for i, u := range split {
			if u > lg.parts[i].unreversed-lg.keepOf(i) {
				sum = -1
				break
			}
			sum += u
		}
		if sum == credit {
			copy(taken, split)
			take = 0 // taken
			note += ", re-split on the list price it credits, the discounts it gives back to the parts that funded them"
		}
	}
	if whole {
		for i := range lg.parts {
			taken[i] = lg.parts[i].unreversed
		}
		take, rest = 0, 0
		note += ", which takes all the line has left: every part gives back what it has unreversed"
	}
	if owes {
		// Each of the bearer's parts gives back all it has, and its share
		// of the excess by its amount (equally when none has any).
		weights := make([]int64, len(bearers))
		var sum int64
		for k, i := range bearers {
			weights[k] = lg.parts[i].amount
			sum += weights[k]
		}
		if sum == 0 {
			for k := range weights {
				weights[k] = 1
			}
		}
		got, err := lg.refAllocate(bearers, credit-has, weights)
		if err != nil {
			return nil, err
		}
		for k, i := range bearers {
			taken[i] = lg.parts[i].unreversed + got[k]
		}
		take = 0
	}
	for _, group := range []struct {
		parts  []int
		amount int64
	}{{bearers, take}, {others, rest}} {
		if group.amount == 0 {
			continue
		}
		weights := make([]int64, len(group.parts))
		var neg, pos []int // indexes into group.parts of the parts owing (below zero) and the others
		var owed, left int64
		for k, i := range group.parts {
			weights[k] = lg.parts[i].unreversed
			if awaited && b.IsZero() {
				weights[k] = lg.parts[i].awaiting
			}
			weights[k] -= lg.keepOf(i) // a credit while a dispute of an amount is open: what the part has beyond its share
			left += weights[k]
			if weights[k] < 0 {
				neg = append(neg, k)
				owed -= weights[k]
			} else {
				pos = append(pos, k)
			}
		}
		if owed == 0 {
			got, err := lg.refAllocate(group.parts, group.amount, weights)
			if err != nil {
				return nil, err
			}
			for k, i := range group.parts {
				taken[i] = got[k]
			}
			continue
		}
		// Parts owing beyond theirs get back their share of the credit,
		// amount × owed / left, half up; the others give back the
		// amount plus that, each in proportion to what it has (owes).
		back := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(group.amount), big.NewInt(owed)), big.NewInt(left))
		back.Add(back, big.NewRat(1, 2))
		gave := new(big.Int).Quo(back.Num(), back.Denom()).Int64() // floor: both positive
		for _, set := range []struct {
			ks   []int
			x    int64
			sign int64
		}{{neg, gave, -1}, {pos, group.amount + gave, 1}} {
			idx := make([]int, len(set.ks))
			w := make([]int64, len(set.ks))
			for j, k := range set.ks {
				idx[j], w[j] = group.parts[k], weights[k]*set.sign
			}
			got, err := lg.refAllocate(idx, set.x, w)
			if err != nil {
				return nil, err
			}
			for j, i := range idx {
				taken[i] = got[j] * set.sign
			}
		}
	}
	if b.IsZero() {
		// lg.parts are the clone, still unreversed as before.
		more, err := lg.keepWindows(taken, at, shareOf)
		if err != nil {
			return nil, err
		}
		note += more
	}
	var out []settlement.Entry
	for i := range lg.parts {
		p := &lg.parts[i]
		if taken[i] == 0 {
			continue
		}
		p.unreversed -= taken[i]
		amount, conv := p.pays(-taken[i], p.unreversed+taken[i], p.unreversed, lg.cur)
		out = append(out, settlement.Entry{ID: settlement.EntryID(by + ":" + p.path + "#clawback"), Line: settlement.LineID(by),
			Kind: settlement.KindClawback, Party: p.party, Role: p.role, Amount: amount, Date: at,
			Plan: lg.plan, Node: p.node, Share: shareOf[i], Service: service, Offer: lg.offer, Route: lg.route, Seller: lg.seller,
			Reverses: settlement.EntryID(string(lg.line) + ":" + p.path), Note: note, Conversion: conv, Trace: trace})
	}
	out = append(out, lg.releaseAwaiting(taken, by, at, note, trace)...)
	// A rolling reserve not yet released meets what its part gives back
	// first: released now by as much, and its scheduled release less that.
	for i := range lg.parts {
		p := &lg.parts[i]
		if taken[i] <= 0 || p.reserve == 0 {
			continue
		}
		claimed := int64(0) // what an open dispute of an amount holds of it from its release on stays
		if lg.disputed {
			claimed = p.atRolling
		}
		if !p.until.After(at) {
			p.reserve = min(p.reserve, claimed) // released already
			continue
		}
		d := min(taken[i], p.reserve-claimed)
		if d <= 0 {
			continue
		}
		p.reserve -= d
		draw := settlement.Entry{ID: settlement.EntryID(by + ":" + p.path + "#rolling.draw"), Line: settlement.LineID(by), Kind: settlement.KindRelease,
			Party: p.party, Role: p.role, Amount: ensemble.MoneyFromMinor(d, lg.cur), Date: at, Plan: lg.plan, Node: p.node, Service: service,
			Offer: lg.offer, Route: lg.route, Seller: lg.seller, Reverses: settlement.EntryID(string(lg.line) + ":" + p.path + "#rolling"),
			Note: "rolling reserve drawn to meet the clawback, " + note, Trace: trace}
		less := draw
		less.ID, less.Amount, less.Date = draw.ID+".release", ensemble.MoneyFromMinor(-d, lg.cur), p.until
		less.Note = "scheduled release of the rolling reserve less the draw, " + note
		out = append(out, draw, less)
	}
	return out, nil
}

// refAllocate splits x over the parts idx in proportion to weights, by
// largest remainder keyed by their entry ids.
func (lg *refLedger) refAllocate(idx []int, x int64, weights []int64) ([]int64, error) {
	got := make([]int64, len(idx))
	if x == 0 {
		return got, nil
	}
	shares := make([]ensemble.Share, len(idx))
	for k, i := range idx {
		shares[k] = ensemble.Share{Key: string(lg.line) + ":" + lg.parts[i].path, Weight: ensemble.RatioFromInt(weights[k])}
	}
	err := ensemble.AllocateUnits(got, x, shares, ensemble.AllocateOptions{})
	return got, err
}

// refWindow returns the clawback window of the node at path (ids joined
// by '/', from the root) or of the nearest node above it that has one.
func refWindow(root *settlement.Node, path string) *settlement.Clawback {
	ids := strings.Split(path, "/")
	n := root
	var w *settlement.Clawback
	for k, id := range ids {
		if k > 0 {
			i := slices.IndexFunc(n.Children, func(c settlement.Node) bool { return string(c.ID) == id })
			if i < 0 {
				return nil
			}
			n = &n.Children[i]
		}
		if n.Clawback != nil {
			w = n.Clawback
		}
	}
	return w
}

// refWindowBearer returns who bears what w's parts keep: its BorneBy, or
// the platform's parts.
func refWindowBearer(w *settlement.Clawback) settlement.Bearer {
	if w.BorneBy.IsZero() {
		return settlement.Bearer{Role: "platform"}
	}
	return w.BorneBy
}

// refDays returns the whole UTC calendar days from a to b.
func refDays(a, b time.Time) int {
	a, b = a.UTC(), b.UTC()
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Round(time.Hour).Hours()) / 24
}

// keepWindows leaves, of a reversal in proportion at at, the parts past
// their clawback window (with something unreversed) what they have, and
// takes their shares from their window's bearer's other parts (the
// platform's by default) on top of theirs, in proportion to what those
// have left after it (their amounts when none has; equally when none has
// any); beyond what they have only where a part may owe. It returns what
// to add to the note.
func (lg *refLedger) keepWindows(taken []int64, at time.Time, shareOf map[int]string) (string, error) {
	kept := make([]bool, len(lg.parts))
	for i, p := range lg.parts {
		kept[i] = p.window != nil && p.unreversed > 0 && refDays(lg.date, at) > p.window.WithinDays && !refBears(refWindowBearer(p.window), p)
	}
	done := make([]bool, len(lg.parts))
	var note string
	money := func(u int64) ensemble.Money { return ensemble.MoneyFromMinor(u, lg.cur) }
	for k := range lg.parts {
		if !kept[k] || done[k] {
			continue
		}
		b := refWindowBearer(lg.parts[k].window)
		var x int64
		var who []string
		for i := k; i < len(lg.parts); i++ {
			bi := lg.parts[i].window
			if !kept[i] || done[i] || !(bi.BorneBy == b || bi.BorneBy.IsZero() && b == settlement.Bearer{Role: "platform"}) {
				continue
			}
			done[i] = true
			if taken[i] != 0 {
				x += taken[i]
				who = append(who, lg.parts[i].path)
				taken[i] = 0
			}
		}
		if x == 0 {
			continue
		}
		var idx []int
		for i, p := range lg.parts {
			if !kept[i] && refBears(b, p) {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			var on []string
			for i, p := range lg.parts {
				var v string
				switch {
				case b.Party != "":
					v = string(p.party)
				case b.Node != "":
					v = p.node
				case b.Role != "" && p.kind == settlement.KindSupplierCost:
					v = "supplier"
				case b.Role != "":
					v = p.role
				case p.kind == settlement.KindSupplierCost:
					v = strings.TrimPrefix(p.node, "supplier_costs/")
				}
				if v != "" && !kept[i] && !slices.Contains(on, v) {
					on = append(on, v)
				}
			}
			slices.Sort(on)
			return "", &settlement.BearerError{Line: lg.line, Bearer: b, Credit: money(x), Unreversed: money(0), Shortfall: money(x), OnLine: on,
				Err: errors.Join(settlement.ErrClawbackBearer, settlement.ErrBearerNotOnLine)}
		}
		w := make([]int64, len(idx))
		var has int64
		for j, i := range idx {
			// (beyond its share of an open dispute of an amount too)
			w[j] = max(0, lg.parts[i].unreversed-taken[i]-lg.keepOf(i))
			has += w[j]
		}
		if has == 0 {
			var sum int64
			for j, i := range idx {
				w[j] = lg.parts[i].amount
				sum += w[j]
			}
			if sum == 0 {
				for j := range w {
					w[j] = 1
				}
			}
		}
		if x > has {
			why := ""
			switch {
			case lg.disputed:
				why = "an open dispute of part of the line holds each part's share of the amount disputed, which a credit while it is open leaves to the part"
			case lg.coll != nil && lg.coll.onSettlement:
				why = "the line is a receivable of its invoice (a settler with a plan payable on collection spreads the invoice's payments over its lines), whose balance is kept within what its parts have unreversed"
			case lg.coll != nil:
				why = "the line has a balance on collection, whose parts await the customer's payment within what they have unreversed"
			default:
				for _, i := range idx {
					if p := lg.parts[i]; p.src.units != 0 {
						why = fmt.Sprintf("its part %q is a supplier cost owed in %s, converted within the part's amount", string(lg.line)+":"+p.path, p.src.cur)
						break
					}
				}
			}
			if why != "" {
				return "", &settlement.BearerError{Line: lg.line, Bearer: b, Credit: money(x), Unreversed: money(has), Shortfall: money(x - has),
					Err: settlement.ErrClawbackBearer, Why: why}
			}
		}
		got, err := lg.refAllocate(idx, x, w)
		if err != nil {
			return "", err
		}
		text := "bears what " + strings.Join(who, ", ") + " keeps past its clawback window"
		if len(who) > 1 {
			text = "bears what " + strings.Join(who, ", ") + " keep past their clawback windows"
		}
		for j, i := range idx {
			if got[j] != 0 {
				taken[i] += got[j]
				shareOf[i] = text
			}
		}
		note += fmt.Sprintf(", %s past the clawback window: %s kept, borne by %s", strings.Join(who, ", "), money(x), b)
		if x > has {
			note += fmt.Sprintf(" beyond its part of the line: %s more than its %s left", money(x-has), money(has))
		}
	}
	return note, nil
}

// refBears reports whether bearer b (not proportional) bears part p: the
// party's parts, the parts at or under the node, the parts paid in the
// role ("supplier": the supplier costs), or the supplier cost of the
// component.
func refBears(b settlement.Bearer, p refPart) bool {
	switch {
	case b.Party != "":
		return p.party == b.Party
	case b.Node != "":
		return p.node == b.Node || strings.HasPrefix(p.node, b.Node+"/")
	case b.Role == "supplier":
		return p.kind == settlement.KindSupplierCost
	case b.Role != "":
		return p.kind == settlement.KindEarning && p.role == b.Role
	default:
		return p.kind == settlement.KindSupplierCost && p.node == "supplier_costs/"+b.Component
	}
}

// takeBack takes back, from each volume lg added to net of credits, the
// share of what it added that its credited basis now reverses (rounded half
// away from zero), less what was taken back when before of it was
// credited: from the volume's own point of the line in a rolling window.
func (st *refState) takeBack(lg refLedger, before int64) {
	share := func(added, credited int64) int64 {
		if lg.basis == 0 {
			return 0
		}
		x := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(added), big.NewInt(credited)), big.NewInt(lg.basis))
		x.Add(x, big.NewRat(1, 2))
		return new(big.Int).Quo(x.Num(), x.Denom()).Int64() // floor(x + 1/2): x is not negative
	}
	for _, v := range lg.volumes {
		if !v.NetOfCredits {
			continue
		}
		added := minorOf(v.Amount)
		d := share(added, lg.credited) - share(added, before)
		k := refVolumeKey{partner: v.Partner, cur: v.Amount.Currency().Key(), window: v.Window, year: v.Year, month: v.Month}
		vol := st.volumes[k]
		vol.units -= d
		vol.points = slices.Clone(vol.points)
		for i := range vol.points {
			if vol.points[i].line == lg.line {
				vol.points[i].units -= d
			}
		}
		st.volumes[k] = vol
	}
}

// holdEntry is a dispute's hold or release of units of part p, carrying
// the line's service period: the top units of what the part has
// unreversed, in its party's currency owed(unreversed) − owed(unreversed −
// units) (of a whole dispute, what it has unreversed and awaits no
// payment: owed(unreversed) − owed(awaiting)).
func (lg *refLedger) holdEntry(p refPart, suffix string, kind settlement.EntryKind, units int64, at time.Time, note string) settlement.Entry {
	id := settlement.EntryID(string(lg.line) + ":" + p.path)
	amount, conv := p.pays(units, p.unreversed, p.unreversed-units, lg.cur)
	return settlement.Entry{ID: id + settlement.EntryID(suffix), Line: lg.line, Kind: kind, Party: p.party, Role: p.role,
		Amount: amount, Date: at, Plan: lg.plan, Node: p.node, Service: lg.service, Offer: lg.offer, Route: lg.route,
		Seller: lg.seller, Reverses: id, Note: note, Conversion: conv, Trace: append(slices.Clone(lg.trace), ensemble.Ref{Kind: settlement.RefLine, ID: string(lg.line)})}
}

// refReserveSuffix is what the id of the k-th hold of a leaf's reserve of
// a part ends with after ".reserve": nothing for the first, ".<k>" after.
func refReserveSuffix(k int) string {
	if k == 1 {
		return ""
	}
	return "." + strconv.Itoa(k)
}

// Dispute holds every part's unreversed amount of a settled line, less
// what awaits payment and what its reserves (the leaf's and the rolling
// one) still hold at the dispute's date, which are withheld already, and
// that from their releases on.
func (s *refSettler) Dispute(line settlement.LineID, at time.Time) ([]settlement.Entry, error) {
	return s.DisputeAmount(line, nil, at)
}

// keepOf is part i's share of the open dispute a credit is reversed
// beside (refLedger.keep), 0 when none.
func (lg *refLedger) keepOf(i int) int64 {
	if lg.keep == nil {
		return 0
	}
	return lg.keep[i]
}

// shares returns each part's share of disputed: what a lost dispute of it
// would take from each part, reversed on a copy.
func (lg refLedger) shares(disputed int64) []int64 {
	share := make([]int64, len(lg.parts))
	if disputed > 0 {
		dry := lg
		dry.coll, dry.parts, dry.keep = nil, slices.Clone(lg.parts), nil
		if _, err := dry.reverse(disputed, string(lg.line)+"#share", lg.date, "", nil, lg.service, settlement.Bearer{}, false, nil); err != nil {
			panic(err) // at most what it has unreversed
		}
		for i := range share {
			share[i] = lg.parts[i].unreversed - dry.parts[i].unreversed
		}
	}
	return share
}

// DisputeAmount holds each part's share of amount (nil: all the line has
// unreversed), in proportion to what it has unreversed by largest
// remainder, less what awaits payment of the share and what its reserves
// still hold, up to the share, which it holds from their releases on.
func (s *refSettler) DisputeAmount(line settlement.LineID, amount *ensemble.Money, at time.Time) ([]settlement.Entry, error) {
	lg, ok := s.state.lines[line]
	switch {
	case !ok:
		return nil, refErr(line, "", "", "", settlement.ErrUnknownLine)
	case lg.disputed:
		return nil, refErr(line, lg.plan.ID, "", "", settlement.ErrDisputed)
	}
	left := lg.basis - lg.credited
	disputed := left
	if amount != nil {
		disputed = minorOf(*amount)
		if c := amount.Currency(); !c.IsZero() && c != lg.cur || !amount.IsRounded() || disputed <= 0 || disputed > left || at.Year() < 1 || at.Year() > 9999 {
			return nil, refErr(line, lg.plan.ID, "", "", settlement.ErrInvalidDispute)
		}
	}
	if !slices.ContainsFunc(s.plans, func(p settlement.PlanDocument) bool { return p.Ref() == lg.plan }) {
		return nil, refErr(line, lg.plan.ID, "", "", settlement.ErrUnknownPlanVersion) // whose leaves' reserves it cannot know
	}
	// Each part's share of what is disputed: what a lost dispute of it
	// would take from each part (in proportion to what it has unreversed,
	// by largest remainder keyed by the parts' entry ids; a part its
	// bearer owed beyond gets its share back), reversed on a copy.
	share := make([]int64, len(lg.parts))
	if disputed > 0 {
		dry := lg
		dry.coll, dry.parts = nil, slices.Clone(lg.parts)
		for i := range dry.parts {
			dry.parts[i].window = nil // a dispute holds each part's share, whatever the windows say
		}
		if _, err := dry.reverse(disputed, string(line)+"#share", at.UTC(), "", nil, lg.service, settlement.Bearer{}, false, nil); err != nil {
			return nil, refErr(line, lg.plan.ID, "", "", err)
		}
		for i := range share {
			share[i] = lg.parts[i].unreversed - dry.parts[i].unreversed
		}
	}
	lg.disputes++
	lg.disputed = true
	lg.disputedAmt = 0
	n := strconv.Itoa(lg.disputes)
	opened := "dispute " + n + " opened"
	if disputed != left {
		lg.disputedAmt = disputed
		opened = "dispute " + n + " of " + ensemble.MoneyFromMinor(disputed, lg.cur).String() + " of " + ensemble.MoneyFromMinor(left, lg.cur).String() + " unreversed opened"
	}
	lg.parts = slices.Clone(lg.parts)
	var out []settlement.Entry
	for i := range lg.parts {
		p := &lg.parts[i]
		var reserved int64
		if p.leafUntil.After(at) {
			reserved += p.leaf
		}
		if p.until.After(at) {
			reserved += p.reserve
		}
		for _, h := range p.paid { // the reserves of payments on collection
			if h.until.After(at) {
				reserved += h.units
			}
		}
		u := share[i] - min(share[i], p.awaiting) // what awaits payment of the share is held back already; a part its bearer owed beyond (its share zero or less) has nothing to hold
		p.byReserves = min(reserved, u)
		note := opened
		if p.byReserves > 0 {
			note += ", beside " + ensemble.MoneyFromMinor(p.byReserves, lg.cur).String() + " reserves hold"
		}
		if p.held = u - p.byReserves; p.held != 0 {
			out = append(out, lg.holdEntry(*p, "#hold."+n, settlement.KindHold, p.held, at.UTC(), note))
		}
		// What the reserves hold, the dispute holds from their releases
		// on: the line pays nothing while disputed.
		p.atRolling, p.atLeaf = 0, 0
		if p.until.After(at) {
			p.atRolling = min(p.reserve, p.byReserves)
		}
		if p.leafUntil.After(at) {
			p.atLeaf = p.byReserves - p.atRolling
		}
		if p.atRolling > 0 {
			out = append(out, lg.holdEntry(*p, "#hold."+n+".rolling", settlement.KindHold, p.atRolling, p.until, "dispute "+n+" holds the rolling reserve released while it is open"))
		}
		if p.atLeaf > 0 {
			out = append(out, lg.holdEntry(*p, "#hold."+n+".reserve", settlement.KindHold, p.atLeaf, p.leafUntil, "dispute "+n+" holds the reserve released while it is open"))
		}
		// Of a line on collection, each payment's reserve in turn, up to
		// byReserves: "#hold.<n>.reserve", then ".reserve.2"...
		p.atPaid = nil
		left := p.byReserves
		for _, h := range p.paid {
			if !h.until.After(at) || left == 0 {
				continue
			}
			u := min(h.units, left)
			left -= u
			p.atPaid = append(p.atPaid, refHold{units: u, until: h.until})
			out = append(out, lg.holdEntry(*p, "#hold."+n+".reserve"+refReserveSuffix(len(p.atPaid)), settlement.KindHold, u, h.until,
				"dispute "+n+" holds the reserve released while it is open"))
		}
	}
	s.state.lines[line] = lg
	return out, nil
}

// ResolveDispute releases a disputed line's holds; a lost dispute then
// claws back what it lost (all that is unreversed, for ResolveDispute)
// from every part in proportion or from its bearer's parts; a fee is
// charged to its party, won or lost.
func (s *refSettler) ResolveDispute(line settlement.LineID, o settlement.DisputeOutcome, at time.Time) ([]settlement.Entry, error) {
	lg, ok := s.state.lines[line]
	switch {
	case !ok:
		return nil, refErr(line, "", "", "", settlement.ErrUnknownLine)
	case !lg.disputed:
		return nil, refErr(line, lg.plan.ID, "", "", settlement.ErrNotDisputed)
	}
	left := lg.basis - lg.credited
	disputed := left
	if lg.disputedAmt != 0 {
		disputed = min(lg.disputedAmt, left)
	}
	lost := minorOf(o.Lost)
	inCur := func(m ensemble.Money) bool { return m.Currency().IsZero() || m.Currency() == lg.cur }
	feeParty := ensemble.CheckID(string(o.Fee.Party), ensemble.EntrySeparators) == nil
	switch {
	case !inCur(o.Lost) || !inCur(o.Fee.Amount),
		o.Won && (lost != 0 || !o.Bearer.IsZero()),
		!o.Won && (lost < 0 || lost == 0 && disputed > 0),
		lost > disputed && lost <= left,
		o.Fee != (settlement.DisputeFee{}) && (!feeParty || minorOf(o.Fee.Amount) <= 0):
		return nil, refErr(line, lg.plan.ID, "", "", settlement.ErrInvalidDispute)
	}
	at = at.UTC()
	saved := s.state.clone() // a failed resolution leaves the state as it was
	n := strconv.Itoa(lg.disputes)
	outcome := "won"
	if !o.Won {
		outcome = "lost"
		if lost < disputed {
			outcome = "partly lost"
		}
	}
	lg.disputed, lg.disputedAmt = false, 0
	lg.parts = slices.Clone(lg.parts)
	var out []settlement.Entry
	for i := range lg.parts {
		p := &lg.parts[i]
		if p.held != 0 {
			out = append(out, lg.holdEntry(*p, "#release."+n, settlement.KindRelease, p.held, at, "dispute "+n+" "+outcome))
			p.held = 0
		}
		p.byReserves = 0
	}
	// What it held from the reserves' releases on, released now, or at
	// the release when that is later.
	for i := range lg.parts {
		p := &lg.parts[i]
		if p.atRolling > 0 {
			out = append(out, lg.holdEntry(*p, "#release."+n+".rolling", settlement.KindRelease, p.atRolling, refLater(at, p.until),
				"dispute "+n+" "+outcome+", the rolling reserve released"))
		}
		if p.atLeaf > 0 {
			out = append(out, lg.holdEntry(*p, "#release."+n+".reserve", settlement.KindRelease, p.atLeaf, refLater(at, p.leafUntil),
				"dispute "+n+" "+outcome+", the reserve released"))
		}
		for k, h := range p.atPaid {
			out = append(out, lg.holdEntry(*p, "#release."+n+".reserve"+refReserveSuffix(k+1), settlement.KindRelease, h.units, refLater(at, h.until),
				"dispute "+n+" "+outcome+", the reserve released"))
		}
		p.atRolling, p.atLeaf, p.atPaid = 0, 0, nil
	}
	by := string(line) + "#dispute." + n
	trace := append(slices.Clone(lg.trace), ensemble.Ref{Kind: settlement.RefLine, ID: string(line)})
	if !o.Won {
		if lg.coll != nil { // what the customer won back comes off what it owes: total × lost / basis, half up
			won := lg.coll.total
			if lg.basis != 0 {
				x := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(lg.coll.total), big.NewInt(lost)), big.NewInt(lg.basis))
				x.Add(x, big.NewRat(1, 2))
				won = new(big.Int).Quo(x.Num(), x.Denom()).Int64()
			}
			c := *lg.coll // the state's own until the dispute resolves
			over := max(0, c.credited+won-c.total)
			before := c.credited
			c.credited = min(c.total, c.credited+won)
			if !c.onSettlement {
				lg.undocOwed += c.credited - before
			}
			lg.coll = &c
			// What it won back beyond the line's total goes to the
			// invoice's other lines that owe, before the reversal; its
			// cash went back to the customer.
			if over > 0 && lg.coll.invoice != "" {
				s.state.lines[line] = lg
				out = append(out, s.state.spillOver(line, over, string(line)+"#netted", at.UTC())...)
				lg = s.state.lines[line]
			}
		}
		before := lg.credited
		back, err := lg.reverse(lost, by, at, "dispute "+n+" "+outcome, trace, lg.service, o.Bearer, false, nil)
		if err != nil {
			s.state = saved // what the spill moved, undone
			return nil, refErr(line, lg.plan.ID, "", "", err)
		}
		out = append(out, back...)
		lg.lost += lg.credited - before
		if lg.credited > before {
			lg.lastLost = lg.disputes
		}
		s.state.takeBack(lg, before)
	}
	if lg.coll != nil { // what was paid while the dispute held it
		c := *lg.coll
		lg.coll = &c
		lg.parts = slices.Clone(lg.parts)
		out = append(out, lg.catchUp(by, at, trace)...)
	}
	if !o.Fee.Amount.IsZero() {
		out = append(out, settlement.Entry{ID: settlement.EntryID(by + ":fee"), Line: settlement.LineID(by), Kind: settlement.KindFee,
			Party: o.Fee.Party, Amount: ensemble.MoneyFromMinor(-minorOf(o.Fee.Amount), lg.cur), Date: at, Plan: lg.plan, Service: lg.service,
			Offer: lg.offer, Route: lg.route, Seller: lg.seller, Note: "dispute " + n + " fee, " + outcome, Trace: trace})
	}
	s.state.lines[line] = lg
	// A line that now owes nothing settles the credits it lent; and the
	// credits pending on it of lines owing nothing now are settled.
	var invs []string
	if lg.coll != nil {
		invs = append(invs, lg.coll.invoice)
	}
	back, err := s.state.settleInvoices(line, at.UTC(), invs...)
	if err != nil {
		s.state = saved
		return nil, refErr(line, lg.plan.ID, "", "", err)
	}
	return append(out, back...), nil
}

// refStateJSON has the shape of a State's JSON.
type refStateJSON struct {
	Lines   []settlement.LedgerLine   `json:"lines"`
	Volumes []settlement.VolumeState  `json:"volumes"`
	Credits []settlement.CreditState  `json:"credits,omitempty"`
	Prepaid []settlement.PrepaidState `json:"prepaid,omitempty"`
	Once    []settlement.OnceState    `json:"once,omitempty"`
}

// JSON writes the state as a State writes itself: lines by id, volumes by
// partner, currency, window and year, credits by id.
func (st refState) JSON() ([]byte, error) {
	out := refStateJSON{Lines: []settlement.LedgerLine{}, Volumes: []settlement.VolumeState{}}
	for _, id := range slices.Sorted(maps.Keys(st.lines)) {
		lg := st.lines[id]
		ll := settlement.LedgerLine{Line: lg.line, Plan: lg.plan, BasisKind: lg.basisKind, Date: lg.date, Service: lg.service,
			Basis: ensemble.MoneyFromMinor(lg.basis, lg.cur), Credited: ensemble.MoneyFromMinor(lg.credited, lg.cur), Disputed: lg.disputed,
			Disputes: lg.disputes, Offer: lg.offer, Route: lg.route, Seller: lg.seller, Facts: lg.facts, Trace: lg.trace, Parts: []settlement.LedgerPart{},
			Volumes: lg.volumes}
		if lg.coll != nil && lg.coll.onSettlement {
			ll.Receivable = lg.coll.json(lg.cur)
		} else {
			ll.Collection = lg.coll.json(lg.cur)
		}
		if lg.lost != 0 {
			ll.Lost = ensemble.MoneyFromMinor(lg.lost, lg.cur)
		}
		if lg.documented != 0 {
			ll.Documented = ensemble.MoneyFromMinor(lg.documented, lg.cur)
		}
		if lg.undocOwed != 0 {
			ll.UndocumentedOwed = ensemble.MoneyFromMinor(lg.undocOwed, lg.cur)
		}
		ll.LostDispute = lg.lastLost
		if lg.disputed && lg.disputedAmt != 0 {
			ll.DisputedAmount = ensemble.MoneyFromMinor(lg.disputedAmt, lg.cur)
		}
		for _, p := range lg.parts {
			lp := settlement.LedgerPart{Entry: settlement.EntryID(string(lg.line) + ":" + p.path), Party: p.party, Role: p.role, Node: p.node,
				Kind: p.kind, Amount: ensemble.MoneyFromMinor(p.amount, lg.cur), Unreversed: ensemble.MoneyFromMinor(p.unreversed, lg.cur)}
			if lg.disputed && p.held != 0 {
				lp.Held = ensemble.MoneyFromMinor(p.held, lg.cur)
			}
			if lg.disputed && p.byReserves != 0 {
				lp.HeldByReserves = ensemble.MoneyFromMinor(p.byReserves, lg.cur)
			}
			if lg.disputed && p.atRolling > 0 {
				lp.HeldAtRelease = append(lp.HeldAtRelease, settlement.ReleaseHold{Amount: ensemble.MoneyFromMinor(p.atRolling, lg.cur), Date: p.until, Rolling: true})
			}
			if lg.disputed && p.atLeaf > 0 {
				lp.HeldAtRelease = append(lp.HeldAtRelease, settlement.ReleaseHold{Amount: ensemble.MoneyFromMinor(p.atLeaf, lg.cur), Date: p.leafUntil})
			}
			for _, h := range p.atPaid {
				if lg.disputed {
					lp.HeldAtRelease = append(lp.HeldAtRelease, settlement.ReleaseHold{Amount: ensemble.MoneyFromMinor(h.units, lg.cur), Date: h.until})
				}
			}
			for _, h := range p.paid {
				lp.CollectReserves = append(lp.CollectReserves, settlement.ReleaseHold{Amount: ensemble.MoneyFromMinor(h.units, lg.cur), Date: h.until})
			}
			if p.awaiting != 0 {
				lp.Awaiting = ensemble.MoneyFromMinor(p.awaiting, lg.cur)
			}
			if p.src.units != 0 {
				lp.Source, lp.Rate = ensemble.MoneyFromMinor(p.src.units, p.src.cur), p.src.rate
			}
			if p.window != nil {
				w := *p.window
				lp.Clawback = &w
			}
			if p.funded != 0 {
				lp.Funded = ensemble.MoneyFromMinor(p.funded, lg.cur)
				ll.FundedDiscounts = ensemble.MoneyFromMinor(minorOf(ll.FundedDiscounts)+p.funded, lg.cur)
			}
			if !p.until.IsZero() {
				lp.ReserveUntil = p.until
				if p.reserve != 0 {
					lp.Reserve = ensemble.MoneyFromMinor(p.reserve, lg.cur)
				}
			}
			ll.Parts = append(ll.Parts, lp)
		}
		out.Lines = append(out.Lines, ll)
	}
	keys := slices.SortedFunc(maps.Keys(st.volumes), func(a, b refVolumeKey) int {
		return cmp.Or(strings.Compare(string(a.partner), string(b.partner)), strings.Compare(a.cur, b.cur),
			cmp.Compare(a.window, b.window), cmp.Compare(a.year, b.year), cmp.Compare(a.month, b.month))
	})
	for _, k := range keys {
		v := st.volumes[k]
		vs := settlement.VolumeState{Partner: k.partner, Currency: v.cur, Window: k.window, Year: k.year, Month: k.month, Amount: ensemble.MoneyFromMinor(v.units, v.cur)}
		for _, pt := range v.points {
			vs.Points = append(vs.Points, settlement.VolumePoint{Date: pt.date, Amount: ensemble.MoneyFromMinor(pt.units, v.cur), Line: pt.line})
		}
		for _, x := range v.retro {
			vs.Retroactive = append(vs.Retroactive, settlement.RetroactivePaid{Plan: x.plan, Node: x.node, Tier: x.tier + 1, Base: ensemble.MoneyFromMinor(x.base, v.cur), Rate: x.rate})
		}
		out.Volumes = append(out.Volumes, vs)
	}
	for _, id := range slices.Sorted(maps.Keys(st.credits)) {
		c := st.credits[id]
		cs := settlement.CreditState{Line: id, Credits: c.of, Amount: ensemble.MoneyFromMinor(c.amount, st.lines[c.of].cur), Bearer: c.bearer}
		if c.documented != 0 {
			cs.Documented = ensemble.MoneyFromMinor(c.documented, st.lines[c.of].cur)
		}
		out.Credits = append(out.Credits, cs)
	}
	onceKeys := slices.SortedFunc(maps.Keys(st.once), func(a, b refOnceKey) int {
		return cmp.Or(strings.Compare(string(a.plan), string(b.plan)), strings.Compare(a.node, b.node), strings.Compare(a.customer, b.customer))
	})
	for _, k := range onceKeys {
		out.Once = append(out.Once, settlement.OnceState{Plan: settlement.PlanID(k.plan), Node: k.node, Customer: k.customer, Line: st.once[k]})
	}
	return json.Marshal(out)
}

// refLater returns the later of a and b.
func refLater(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
