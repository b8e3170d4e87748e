package settlement_test

import (
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// ledgerMachine drives one partner's ledger (earn, reserve, release, claw
// back with a bearer, dispute, lose a dispute in part, pay a dispute fee,
// pay out, and on lines payable on collection collect and write off; a
// rolling reserve of dev-1 that reversals draw on first) and its
// cumulative volume net of credits through the real API beside a plain
// model. Lines may carry a supplier cost (component c0,
// paid to supplier-backup before the seller's share), so a credit or a
// lost dispute has two parts to take from: in proportion, or borne by the
// seller or by the supplier, with either shortfall option.
type ledgerMachine struct {
	s       *settlement.Settler
	st      settlement.State
	entries []settlement.Entry
	now     time.Time
	n       int

	// model
	lines    map[settlement.LineID]*modelLine
	order    []settlement.LineID
	reserves []modelReserve
	paid     int64
	fees     int64 // dispute fees charged to dev-1
}

// modelLine is what the model knows of a line: what its two parts (the
// seller's earning and the supplier's cost) have unreversed, whether each
// exists (a zero part is not recorded), and whether a dispute holds it.
type modelLine struct {
	dev, sup       int64
	hasDev, hasSup bool
	disputed       bool
	role           string // the role of dev-1's part: seller, or co_sellers on a co-sold line
	year           int    // of a line sold by dev-1: the calendar year whose volume it adds to (0: co-sold, none)
	// A line payable on collection (devCollectPlan): its total (its
	// basis: no tax), what was paid and written off. It awaits what it
	// has left less what was paid, never below zero.
	onColl                       bool
	total, collected, writtenOff int64
	credited                     int64 // what credits took off what the customer owes (at most the total)
	// dev-1's rolling reserve of the line: what it still holds, and its
	// release (the line's date + 45 days).
	roll  int64
	until time.Time
	// The leaf's reserve of dev-1's part (10%, the line's date + 30
	// days), which reversals do not draw on; and what reserves held of
	// the part when the open dispute opened, which the dispute does not
	// hold again.
	leaf      int64
	leafUntil time.Time
	byRes     int64
	// What the open dispute holds of byRes from each reserve's release
	// on (the rolling reserve's first): withheld again once released.
	atRelease []modelReserve
}

// awaiting is what the line holds back until its customer pays.
func (ml *modelLine) awaiting() int64 {
	if !ml.onColl {
		return 0
	}
	return max(0, ml.left()-ml.collected)
}

// owed is what a payment or write-off may still take: within the total,
// and no more than awaits (the line's total is its basis, so a payment's
// share of the basis is the payment).
func (ml *modelLine) owed() int64 {
	return min(ml.total-ml.collected-ml.writtenOff, ml.awaiting())
}

// draw is what a reversal that leaves dev-1's part with dev does to the
// part's rolling reserve: before the release, it draws what the reversal
// takes from the part, up to what it holds; on or after it, the reserve
// is released and holds nothing.
func (ml *modelLine) draw(now time.Time, dev int64) {
	if x := ml.dev - dev; x > 0 && ml.roll > 0 {
		if now.Before(ml.until) {
			ml.roll -= min(x, ml.roll)
		} else {
			ml.roll = 0
		}
	}
}

func (ml *modelLine) left() int64 { return ml.dev + ml.sup }

type modelReserve struct {
	units int64
	at    time.Time
}

// devPlan pays the developer everything, holding 10% back for 30 days and
// 20% of the rest for 45 days as dev-1's rolling reserve; the platform's
// commission reads the developer's volume net of credits, and takes
// nothing below EUR 1,000,000, which no history reaches.
const devPlan = `{id: dev, version: 1, reserves: [{party: dev-1, ratio: "20%", days: 45}], root: {id: root, children: [
  {id: commission, party: platform, share: {cumulative: {volume: net_of_credits, tiers: [{up_to: {amount: "1000000.00", currency: EUR}, rate: "0%"}, {rate: "1%"}]}}},
  {id: dev, party: seller, share: remaining, reserve: {ratio: "10%", days: 30}}]}}`

// devCoSellPlan pays co-sold lines to the seller and its co-sellers by
// their weights, with the same reserves.
const devCoSellPlan = `{id: dev-co, version: 1, routes: [co_sell], reserves: [{party: dev-1, ratio: "20%", days: 45}],
  root: {id: root, party: co_sellers, reserve: {ratio: "10%", days: 30}}}`

// devCollectPlan pays the developer the line of offer app-collect only as
// the customer pays it.
const devCollectPlan = `{id: dev-collect, version: 1, offers: [app-collect], payable: on_collection, root: {id: root, party: seller}}`

var minimum = eur("10.00")

func (m *ledgerMachine) earn(t *rapid.T) {
	units := rapid.Int64Range(0, 100_000).Draw(t, "units")
	cost := int64(0)
	if rapid.Bool().Draw(t, "bundle") {
		cost = rapid.Int64Range(0, units).Draw(t, "cost")
	}
	m.n++
	id := settlement.LineID(fmt.Sprintf("L%03d", m.n))
	l := settlement.Line{ID: id, Date: m.now, Amount: ensemble.MoneyFromMinor(units, ensemble.MustCurrency("EUR")),
		Offer: catalog.Pin{Offer: "app", Version: 1}, Route: partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{"dev-1"}}}
	// Or co-sold, dev-1's co-sell weight the whole (as the seller or as
	// a co-seller), the other party's zero: dev-1 still earns the line,
	// in a part whose role is co_sellers.
	role := "seller"
	onColl := rapid.IntRange(0, 2).Draw(t, "on collection") == 0
	if onColl {
		l.Offer.Offer = "app-collect"
	}
	switch rapid.IntRange(0, 2).Draw(t, "co-sold") {
	case 0:
	case 1:
		if onColl {
			break
		}
		l.Route = partner.Route{Kind: partner.RouteCoSell, Seller: "dev-1", SellerWeight: ensemble.RatioFromInt(1),
			CoSellers: []partner.CoSeller{{Partner: "sub-utrecht"}}}
		role = "co_sellers"
	case 2:
		if onColl {
			break
		}
		l.Route = partner.Route{Kind: partner.RouteCoSell, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"},
			CoSellers: []partner.CoSeller{{Partner: "dev-1", Weight: ensemble.RatioFromInt(1)}}}
		role = "co_sellers"
	}
	if cost > 0 {
		l.SupplierCosts = []catalog.SupplierCost{{Supplier: "supplier-backup", Offer: "backup",
			Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "c0", Version: "1"}, Cost: ensemble.MoneyFromMinor(cost, ensemble.MustCurrency("EUR"))}}
	}
	res, err := m.s.Settle(ctx, m.st, []settlement.Line{l})
	require.NoError(t, err)
	m.apply(res)
	dev := units - cost
	m.lines[id] = &modelLine{dev: dev, sup: cost, hasDev: dev > 0, hasSup: cost > 0, role: role, onColl: onColl, total: units}
	if !onColl { // devPlan and devCoSellPlan hold dev-1's reserves; devCollectPlan none
		m.lines[id].roll, m.lines[id].until = (dev-dev/10)/5, m.now.AddDate(0, 0, 45)
		m.lines[id].leaf, m.lines[id].leafUntil = dev/10, m.now.AddDate(0, 0, 30)
	}
	if role == "seller" && !onColl { // through devPlan, whose commission reads dev-1's volume
		m.lines[id].year = m.now.Year()
	}
	m.order = append(m.order, id)
	if r := dev / 10; r > 0 && !onColl {
		m.reserves = append(m.reserves, modelReserve{units: r, at: m.now.AddDate(0, 0, 30)})
	}
}

func (m *ledgerMachine) pick(t *rapid.T, want func(*modelLine) bool) (settlement.LineID, *modelLine) {
	var ids []settlement.LineID
	for _, id := range m.order {
		if want(m.lines[id]) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Skip("no such line")
	}
	id := rapid.SampledFrom(ids).Draw(t, "line")
	return id, m.lines[id]
}

// drawBearer draws who bears a credit of line ml: in proportion, the
// seller (by party or by its part's role, seller or co_sellers), or the
// supplier (by component, party or role), with either shortfall option.
func (m *ledgerMachine) drawBearer(t *rapid.T, ml *modelLine) settlement.Bearer {
	b := rapid.SampledFrom([]settlement.Bearer{{}, {}, {Party: "dev-1"}, {Role: ml.role}, {Component: "c0"},
		{Party: "supplier-backup"}, {Role: "supplier"}}).Draw(t, "bearer")
	if !b.IsZero() && rapid.Bool().Draw(t, "shortfall") {
		b.Shortfall = settlement.ShortfallProportional
	}
	return b
}

// proportional splits x over weights d (the seller's part) and s (the
// supplier's) by largest remainder: the odd unit to the larger remainder,
// ties to the seller's part ("root" sorts before "supplier_costs").
func proportional(x, d, s int64) (fd, fs int64) {
	if x == 0 {
		return 0, 0
	}
	// The exact quotas x·d/(d+s) and x·s/(d+s), and their floors.
	qd := new(big.Rat).Mul(new(big.Rat).SetInt64(x), big.NewRat(d, d+s))
	qs := new(big.Rat).Mul(new(big.Rat).SetInt64(x), big.NewRat(s, d+s))
	fd = new(big.Int).Quo(qd.Num(), qd.Denom()).Int64()
	fs = new(big.Int).Quo(qs.Num(), qs.Denom()).Int64()
	if fd+fs < x { // one unit left: to the larger remainder
		rd := new(big.Rat).Sub(qd, new(big.Rat).SetInt64(fd))
		rs := new(big.Rat).Sub(qs, new(big.Rat).SetInt64(fs))
		if rd.Cmp(rs) >= 0 {
			fd++
		} else {
			fs++
		}
	}
	return fd, fs
}

// take is what the model says a reversal of x borne by b does to ml: the
// condition it fails with, or the new unreversed amounts. In proportion,
// x splits by largest remainder over the two parts' unreversed amounts,
// see proportional.
func take(ml modelLine, x int64, b settlement.Bearer) (dev, sup int64, err error) {
	dev, sup = ml.dev, ml.sup
	if x > ml.left() {
		return 0, 0, settlement.ErrOverCredit
	}
	if b.IsZero() {
		fd, fs := proportional(x, ml.dev, ml.sup)
		return dev - fd, sup - fs, nil
	}
	onDev := b.Party == "dev-1" || b.Role == ml.role
	mine, other := &dev, &sup
	present := ml.hasDev
	if !onDev {
		mine, other, present = &sup, &dev, ml.hasSup
	}
	switch {
	case !present:
		return 0, 0, settlement.ErrBearerNotOnLine
	case x <= *mine:
		*mine -= x
	case b.Shortfall == settlement.ShortfallError:
		return 0, 0, settlement.ErrBearerShortfall
	default:
		*other -= x - *mine
		*mine = 0
	}
	return dev, sup, nil
}

func (m *ledgerMachine) clawBack(t *rapid.T) {
	id, ml := m.pick(t, func(l *modelLine) bool { return !l.disputed && l.left() > 0 })
	x := rapid.Int64Range(1, ml.left()+1).Draw(t, "credit")
	b := m.drawBearer(t, ml)
	m.n++
	c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%03d", m.n)), Date: m.now,
		Amount: ensemble.MoneyFromMinor(-x, ensemble.MustCurrency("EUR")), Credits: id, Bearer: b, Dispute: settlement.DisputeSeparate}
	res, err := m.s.Settle(ctx, m.st, []settlement.Line{c})
	// On collection, a credit of more than the customer owes takes back
	// what was written off first, which the write-offs clawed back already
	// (the basis is the total: their share is what they wrote off).
	var back int64
	if ml.onColl {
		back = min(ml.writtenOff, max(0, x-max(0, ml.total-ml.collected-ml.writtenOff-ml.credited)))
	}
	dev, sup, want := take(*ml, x-back, b)
	if want != nil {
		require.ErrorIs(t, err, want)
		return
	}
	require.NoError(t, err)
	m.apply(res)
	ml.draw(m.now, dev)
	ml.dev, ml.sup = dev, sup
	ml.writtenOff -= back
	ml.credited = min(ml.total, ml.credited+x)
}

// document settles the credit note of what a line's lost disputes took
// back (DisputeDocuments): of all no credit documents yet, part of it, or
// a cent more (ErrOverDocumented). It moves nothing, so the model does
// not change.
func (m *ledgerMachine) document(t *rapid.T) {
	var ids []settlement.LineID
	for _, id := range m.order {
		ll, _ := m.st.Line(id)
		if !m.lines[id].disputed && minorOf(ll.Lost) > minorOf(ll.Documented) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Skip("no lost dispute to document")
	}
	id := rapid.SampledFrom(ids).Draw(t, "line")
	ll, _ := m.st.Line(id)
	undoc := minorOf(ll.Lost) - minorOf(ll.Documented)
	x := rapid.OneOf(rapid.Just(undoc), rapid.Int64Range(0, undoc+1)).Draw(t, "documented")
	m.n++
	c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%03d", m.n)), Date: m.now,
		Amount: ensemble.MoneyFromMinor(-x, ensemble.MustCurrency("EUR")), Credits: id, Dispute: settlement.DisputeDocuments}
	res, err := m.s.Settle(ctx, m.st, []settlement.Line{c})
	if x > undoc {
		require.ErrorIs(t, err, settlement.ErrOverDocumented)
		return
	}
	require.NoError(t, err)
	require.Empty(t, res.Entries)
	m.apply(res)
	after, _ := m.st.Line(id)
	requireMoney(t, after.Credited, ll.Credited)
}

// collect applies a payment of a line payable on collection: of what it
// owes, part of it, or a cent more (refused); refused too while a dispute
// holds the line.
func (m *ledgerMachine) collect(t *rapid.T) {
	id, ml := m.pick(t, func(l *modelLine) bool { return l.onColl })
	x := rapid.Int64Range(1, ml.owed()+1).Draw(t, "paid")
	m.n++
	res, err := m.s.Collect(m.st, settlement.Collection{ID: fmt.Sprintf("P%03d", m.n), Date: m.now, Amount: ensemble.MoneyFromMinor(x, ensemble.MustCurrency("EUR")),
		Lines: []settlement.LineID{id}})
	switch {
	case ml.disputed:
		require.ErrorIs(t, err, settlement.ErrDisputed)
	case x > ml.owed():
		require.ErrorIs(t, err, settlement.ErrOverCollection)
	default:
		require.NoError(t, err)
		m.apply(res)
		ml.collected += x
	}
}

// writeOff writes off what a line payable on collection owes, or part of
// it (or a cent more, refused), borne as a credit is.
func (m *ledgerMachine) writeOff(t *rapid.T) {
	id, ml := m.pick(t, func(l *modelLine) bool { return l.onColl })
	x := rapid.Int64Range(1, ml.owed()+1).Draw(t, "written off")
	b := m.drawBearer(t, ml)
	m.n++
	res, err := m.s.WriteOff(m.st, settlement.Collection{ID: fmt.Sprintf("W%03d", m.n), Date: m.now, Amount: ensemble.MoneyFromMinor(x, ensemble.MustCurrency("EUR")),
		Lines: []settlement.LineID{id}, Bearer: b})
	switch {
	case ml.disputed:
		require.ErrorIs(t, err, settlement.ErrDisputed)
		return
	case x > ml.owed():
		require.ErrorIs(t, err, settlement.ErrOverCollection)
		return
	}
	dev, sup, want := take(*ml, x, b)
	if b.IsZero() && want == nil { // in proportion to what each part awaits
		ad, as := m.awaits(t, id)
		fd, fs := proportional(x, ad, as)
		dev, sup = ml.dev-fd, ml.sup-fs
	}
	if want != nil {
		require.ErrorIs(t, err, want)
		return
	}
	require.NoError(t, err)
	m.apply(res)
	ml.dev, ml.sup, ml.writtenOff = dev, sup, ml.writtenOff+x
}

// awaits returns what the seller's and the supplier's parts of line id
// await in the state.
func (m *ledgerMachine) awaits(t *rapid.T, id settlement.LineID) (d, s int64) {
	ll, ok := m.st.Line(id)
	require.True(t, ok)
	for _, p := range ll.Parts {
		if p.Kind == settlement.KindSupplierCost {
			s += minorOf(p.Awaiting)
		} else {
			d += minorOf(p.Awaiting)
		}
	}
	return d, s
}

func (m *ledgerMachine) dispute(t *rapid.T) {
	id, ml := m.pick(t, func(l *modelLine) bool { return !l.disputed })
	res, err := m.s.Dispute(m.st, id, m.now)
	require.NoError(t, err)
	m.apply(res)
	ml.disputed = true
	// What reserves still hold of dev-1's part is withheld already.
	var reserved int64
	if ml.leafUntil.After(m.now) {
		reserved += ml.leaf
	}
	if ml.until.After(m.now) {
		reserved += ml.roll
	}
	ml.byRes = min(ml.dev, reserved)
	ml.atRelease = nil
	left := ml.byRes
	if ml.until.After(m.now) && ml.roll > 0 {
		ml.atRelease = append(ml.atRelease, modelReserve{units: ml.roll, at: ml.until})
		left -= ml.roll
	}
	if left > 0 {
		ml.atRelease = append(ml.atRelease, modelReserve{units: left, at: ml.leafUntil})
	}
}

// resolve closes a dispute: won, lost, or partly lost with a bearer, now
// and then with a fee charged to dev-1.
func (m *ledgerMachine) resolve(t *rapid.T) {
	id, ml := m.pick(t, func(l *modelLine) bool { return l.disputed })
	var o settlement.DisputeOutcome
	switch rapid.IntRange(0, 2).Draw(t, "outcome") {
	case 0:
		o.Won = true
	case 1:
		o.Lost = ensemble.MoneyFromMinor(ml.left(), ensemble.MustCurrency("EUR"))
	default:
		if ml.left() == 0 {
			t.Skip("nothing to lose in part")
		}
		o.Lost = ensemble.MoneyFromMinor(rapid.Int64Range(1, ml.left()).Draw(t, "lost"), ensemble.MustCurrency("EUR"))
		o.Bearer = m.drawBearer(t, ml)
	}
	fee := int64(0)
	if rapid.Bool().Draw(t, "fee") {
		fee = rapid.Int64Range(1, 2_500).Draw(t, "fee.amount")
		o.Fee = settlement.DisputeFee{Party: "dev-1", Amount: ensemble.MoneyFromMinor(fee, ensemble.MustCurrency("EUR"))}
	}
	res, err := m.s.ResolveDisputeWith(m.st, id, o, m.now)
	dev, sup := ml.dev, ml.sup
	if !o.Won {
		var want error
		dev, sup, want = take(*ml, minorOf(o.Lost), o.Bearer)
		if want != nil {
			require.ErrorIs(t, err, want)
			return
		}
	}
	require.NoError(t, err)
	m.apply(res)
	ml.draw(m.now, dev)
	ml.disputed, ml.dev, ml.sup, ml.atRelease = false, dev, sup, nil
	if ml.onColl && !o.Won { // what the customer won back comes off what it owes
		ml.credited = min(ml.total, ml.credited+minorOf(o.Lost))
	}
	m.fees += fee
}

func (m *ledgerMachine) wait(t *rapid.T) {
	m.now = m.now.AddDate(0, 0, rapid.IntRange(1, 20).Draw(t, "days"))
}

func (m *ledgerMachine) payOut(t *rapid.T) {
	st := m.statement(t, "dev-1")
	if !st.Payable.IsPositive() {
		t.Skip("nothing payable")
	}
	m.n++
	e, err := settlement.PayOut(st, settlement.Payout{ID: fmt.Sprint(m.n), Date: m.now})
	require.NoError(t, err)
	m.entries = append(m.entries, e)
	u, _ := e.Amount.MinorUnits()
	m.paid += u
}

func (m *ledgerMachine) apply(res settlement.Result) {
	m.st = res.State
	m.entries = append(m.entries, res.Entries...)
}

// statement folds every entry of party up to now (inclusive).
func (m *ledgerMachine) statement(t *rapid.T, party partner.ID) settlement.Statement {
	st, err := settlement.Statements(m.entries, settlement.StatementOptions{
		Period: ensemble.MustPeriod(date("2000-01-01"), m.now.Add(time.Nanosecond)), Minimums: []ensemble.Money{minimum}})
	require.NoError(t, err)
	for _, s := range st {
		if s.Party == party {
			return s
		}
	}
	return settlement.Statement{Party: party}
}

// check: each line's parts hold what the model says, and the seller's and
// the supplier's closing balances are what they have unreversed, less what
// disputes hold, reserves keep, payouts paid and fees charged.
func (m *ledgerMachine) check(t *rapid.T) {
	var dev, sup, devHeld, supHeld, reserved, devAwaits, supAwaits int64
	volume := map[int]int64{} // by year: what dev-1's lines have left, which credits and lost disputes took out of its volume
	for id, ml := range m.lines {
		dev += ml.dev
		sup += ml.sup
		if ml.year != 0 {
			volume[ml.year] += ml.left()
		}
		ll, ok := m.st.Line(id)
		require.True(t, ok)
		var got, awaits [2]int64
		var roll int64
		for _, p := range ll.Parts {
			u, a := minorOf(p.Unreversed), minorOf(p.Awaiting)
			require.True(t, a >= 0 && a <= u, "%s awaits %d of %d", p.Entry, a, u)
			k := 0
			if p.Kind == settlement.KindSupplierCost {
				k = 1
			} else {
				roll += minorOf(p.Reserve)
			}
			got[k] += u
			awaits[k] += a
		}
		require.Equal(t, ml.roll, roll, "line %s: what dev-1's rolling reserve holds", id)
		if ml.until.After(m.now) {
			reserved += ml.roll
		}
		require.Equal(t, [2]int64{ml.dev, ml.sup}, got, "line %s unreversed (seller, supplier)", id)
		// What awaits payment is the model's in all; how it splits between
		// the parts is the ledger's to say (Collect's allocation).
		require.Equal(t, ml.awaiting(), awaits[0]+awaits[1], "line %s awaiting", id)
		require.Equal(t, ml.onColl, ll.Collection != nil, "line %s on collection", id)
		devAwaits += awaits[0]
		supAwaits += awaits[1]
		if ml.disputed { // a dispute holds what was payable, less what reserves hold until they release it
			devHeld += ml.dev - awaits[0] - ml.byRes
			for _, r := range ml.atRelease {
				if !r.at.After(m.now) {
					devHeld += r.units
				}
			}
			supHeld += ml.sup - awaits[1]
		}
		require.Equal(t, ml.disputed, ll.Disputed)
	}
	for year, v := range volume {
		got := m.st.Volume("dev-1", ensemble.MustCurrency("EUR"), settlement.WindowCalendarYear, time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC))
		require.True(t, got.Equal(ensemble.MoneyFromMinor(v, ensemble.MustCurrency("EUR"))), "volume of %d: got %s, want %d", year, got, v)
	}
	for _, r := range m.reserves {
		if r.at.After(m.now) {
			reserved += r.units
		}
	}
	want := dev - devHeld - devAwaits - reserved - m.paid - m.fees
	st := m.statement(t, "dev-1")
	got, _ := st.Closing.MinorUnits()
	require.Equal(t, want, got, "closing balance")
	payable, _ := st.Payable.MinorUnits()
	min, _ := minimum.MinorUnits()
	if want >= min {
		require.Equal(t, want, payable)
	} else {
		require.Zero(t, payable)
	}
	supplier, _ := m.statement(t, "supplier-backup").Closing.MinorUnits()
	require.Equal(t, sup-supHeld-supAwaits, supplier, "the supplier's closing balance")
}

// shard continues from the state read back from its binary form, or
// split by line and by partner at a random cut and merged: the model's
// balances and volumes still hold.
func (m *ledgerMachine) shard(t *rapid.T) {
	if rapid.Bool().Draw(t, "binary") {
		b, err := m.st.MarshalBinary()
		require.NoError(t, err)
		var back settlement.State
		require.NoError(t, back.UnmarshalBinary(b))
		m.st = back
		return
	}
	cut := settlement.LineID(fmt.Sprintf("L%03d", rapid.IntRange(0, m.n+1).Draw(t, "cut")))
	parts := []settlement.State{m.st.SplitByLine(func(id settlement.LineID) bool { return id < cut }),
		m.st.SplitByLine(func(id settlement.LineID) bool { return id >= cut }),
		m.st.SplitByPartner(func(p partner.ID) bool { return p == "dev-1" }),
		m.st.SplitByPartner(func(p partner.ID) bool { return p != "dev-1" })}
	merged, err := settlement.MergeStates(rapid.Permutation(parts).Draw(t, "parts")...)
	require.NoError(t, err)
	require.Equal(t, string(mustJSON(t, m.st)), string(mustJSON(t, merged)))
	m.st = merged
}

func TestLedgerStateMachine(t *testing.T) {
	net := loadNetwork(t)
	s := planSettler(t, "["+devPlan+", "+devCoSellPlan+", "+devCollectPlan+"]", net)
	rapid.Check(t, func(t *rapid.T) {
		m := &ledgerMachine{s: s, now: date("2026-01-01"), lines: map[settlement.LineID]*modelLine{}}
		t.Repeat(map[string]func(*rapid.T){
			"earn":     m.earn,
			"clawBack": m.clawBack,
			"document": m.document,
			"dispute":  m.dispute,
			"resolve":  m.resolve,
			"wait":     m.wait,
			"payOut":   m.payOut,
			"shard":    m.shard,
			"collect":  m.collect,
			"writeOff": m.writeOff,
			"":         m.check,
		})
	})
}
