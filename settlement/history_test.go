package settlement_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// historyPlans pay every multi-party role (co-sellers, chain[*]), reserves
// on two leaves, rolling reserves of three parties, fallbacks, supplier
// costs and the gross basis (payable on collection, as marketplaces pay),
// without
// cumulative shares (whose volumes bound a line's amount) for euros, so
// euro lines may be near int64's range of minor units; dollar and pound
// lines take a bonus on the seller's volume in euros, net of credits.
const historyPlans = `
- id: wide
  version: 1
  routes: [partner, referral, co_sell]
  reserves: [{party: reseller-nl, ratio: "1/3", days: 20}, {party: dev-1, ratio: "10%", days: 5}]
  root:
    id: root
    children:
      - {id: platform, party: platform, share: "10%", fallback: platform}
      - {id: dev, party: "partner:dev-1", share: "5%", fallback: platform}
      - {id: ref, party: referrer, share: "5%", fallback: platform}
      - {id: co, party: co_sellers, share: "20%", fallback: platform, reserve: {ratio: "10%", days: 30}}
      - {id: levels, party: "chain[*]", share: "10%", fallback: platform}
      - {id: rest, party: seller, share: remaining, fallback: platform, reserve: {ratio: "5%", days: 10}}
- id: store
  version: 1
  routes: [marketplace]
  basis: gross
  payable: on_collection
  root: {id: root, children: [{id: commission, party: platform, share: "30%"}, {id: developer, party: seller, share: remaining}]}
- id: direct
  version: 1
  routes: [direct]
  root: {id: root, party: platform}
- id: abroad
  version: 1
  routes: [partner, referral, co_sell, marketplace, direct]
  currencies: [USD, GBP]
  reserves: [{party: sub-utrecht, ratio: "10%", days: 15}]
  root:
    id: root
    children:
      - id: bonus
        party: seller
        fallback: platform
        share: {cumulative: {volume: net_of_credits, tiers: [{up_to: {amount: "2000.00", currency: EUR}, rate: "5%"}, {rate: "1/7"}]}}
      - {id: platform, party: platform, share: "10%"}
      - {id: rest, party: seller, share: remaining, fallback: platform}
`

// historyRates convert the abroad plan's dollars and pounds into the euros
// of its tiers; the dollar's rate changes in the middle of a month.
var historyRates = ensemble.ExchangeRates{
	{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"), Rate: ensemble.MustRatio("0.9")},
	{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"), Since: date("2026-06-16"), Rate: ensemble.MustRatio("1/3")},
	{From: ensemble.MustCurrency("GBP"), To: ensemble.MustCurrency("EUR"), Rate: ensemble.MustRatio("1.1667")},
}

// historyMachine drives random histories through the public API: sales,
// credits, disputes won and lost, adjustments and payouts, with the State
// read back from JSON between steps at random.
type historyMachine struct {
	s       *settlement.Settler
	st      settlement.State
	entries []settlement.Entry
	lines   []settlement.LineID
	now     time.Time
	n       int
}

var everything = ensemble.MustPeriod(date("2020-01-01"), date("2100-01-01"))

// keep records a step's result, reading its state back from JSON at
// random.
func (m *historyMachine) keep(t *rapid.T, res settlement.Result) {
	m.entries = append(m.entries, res.Entries...)
	m.st = res.State
	if rapid.Bool().Draw(t, "round trip") {
		b, err := json.Marshal(m.st)
		require.NoError(t, err)
		var back settlement.State
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		m.st = back
	}
}

func (m *historyMachine) settle(t *rapid.T) {
	lines := make([]settlement.Line, rapid.IntRange(1, 3).Draw(t, "lines"))
	for i := range lines {
		m.n++
		l := genLedgerLine(t, fmt.Sprintf("L%d", m.n))
		if rapid.Bool().Draw(t, "huge") { // near int64's range: statements of a few overflow it
			eurC := l.Amount.Currency()
			amount := rapid.Int64Range(math.MaxInt64/8, math.MaxInt64/4).Draw(t, "huge amount")
			l.Amount, l.Tax = ensemble.MoneyFromMinor(amount, eurC), ensemble.MoneyFromMinor(rapid.Int64Range(0, amount/4).Draw(t, "huge tax"), eurC)
		}
		if minorOf(l.Amount) <= 5_000_000 && rapid.IntRange(0, 3).Draw(t, "abroad") == 0 { // not huge: a volume bounds it
			l = inCurrency(l, rapid.SampledFrom([]string{"USD", "GBP"}).Draw(t, "currency"))
		}
		lines[i] = l
		m.lines = append(m.lines, l.ID)
	}
	// Now and then a route names a partner twice, which would write two
	// entries with one id: the call is refused and leaves nothing.
	if l := &lines[0]; rapid.IntRange(0, 9).Draw(t, "repeat a partner") == 0 && len(l.Route.Chain)+len(l.Route.CoSellers) > 0 {
		bad := *l
		if len(l.Route.CoSellers) > 0 {
			bad.Route.CoSellers = append(slices.Clone(l.Route.CoSellers), l.Route.CoSellers[0])
		} else {
			bad.Route.Chain = append(slices.Clone(l.Route.Chain), l.Route.Chain[0])
		}
		res, err := m.s.Settle(ctx, m.st, append([]settlement.Line{bad}, lines[1:]...))
		require.ErrorIs(t, err, settlement.ErrInvalidLine)
		require.Empty(t, res.Entries)
	}
	res, err := m.s.Settle(ctx, m.st, lines)
	require.NoError(t, err)
	m.keep(t, res)
}

// pick draws a settled line whose ledger want accepts.
func (m *historyMachine) pick(t *rapid.T, want func(settlement.LedgerLine) bool) settlement.LedgerLine {
	var ok []settlement.LedgerLine
	for _, id := range m.lines {
		if ll, _ := m.st.Line(id); want(ll) {
			ok = append(ok, ll)
		}
	}
	if len(ok) == 0 {
		t.Skip("no such line")
	}
	return rapid.SampledFrom(ok).Draw(t, "line")
}

func (m *historyMachine) credit(t *rapid.T) {
	var left int64
	ll := m.pick(t, func(ll settlement.LedgerLine) bool {
		l, err := ll.Basis.Sub(ll.Credited)
		require.NoError(t, err)
		return !ll.Disputed && l.IsPositive()
	})
	l, err := ll.Basis.Sub(ll.Credited)
	require.NoError(t, err)
	left, err = l.MinorUnits()
	require.NoError(t, err)
	x := rapid.OneOf(rapid.Just(left), rapid.Int64Range(1, left)).Draw(t, "credit")
	m.n++
	c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%d", m.n)), Date: m.now, Credits: ll.Line,
		Amount: ensemble.MoneyFromMinor(-x, ll.Basis.Currency()), Bearer: drawLedgerBearer(t, ll, "credit"), Dispute: settlement.DisputeSeparate}
	if undoc := minorOf(ll.Lost) - minorOf(ll.Documented); undoc > 0 && rapid.Bool().Draw(t, "documents") {
		// The credit note of a lost dispute: it takes nothing back.
		x = rapid.OneOf(rapid.Just(undoc), rapid.Int64Range(1, undoc)).Draw(t, "documented")
		c.Amount, c.Bearer, c.Dispute = ensemble.MoneyFromMinor(-x, ll.Basis.Currency()), settlement.Bearer{}, settlement.DisputeDocuments
		res, err := m.s.Settle(ctx, m.st, []settlement.Line{c})
		require.NoError(t, err)
		require.Empty(t, res.Entries)
		m.keep(t, res)
		return
	}
	res, err := m.s.Settle(ctx, m.st, []settlement.Line{c})
	if !bearerRefused(t, err) {
		m.keep(t, res)
	}
}

// bearerRefused requires err to be nil or a bearer's refusal (short, or
// not on the line), and reports which.
func bearerRefused(t *rapid.T, err error) bool {
	if err == nil {
		return false
	}
	require.True(t, errors.Is(err, settlement.ErrBearerShortfall) || errors.Is(err, settlement.ErrBearerNotOnLine), "%v", err)
	return true
}

func (m *historyMachine) dispute(t *rapid.T) {
	ll := m.pick(t, func(ll settlement.LedgerLine) bool { return !ll.Disputed })
	res, err := m.s.Dispute(m.st, ll.Line, m.now)
	require.NoError(t, err)
	m.keep(t, res)
}

// resolve closes a dispute: won, lost, or partly lost with a bearer (now
// and then with a dispute fee charged to a partner), or through
// ResolveDispute.
func (m *historyMachine) resolve(t *rapid.T) {
	ll := m.pick(t, func(ll settlement.LedgerLine) bool { return ll.Disputed })
	if rapid.Bool().Draw(t, "plain") {
		res, err := m.s.ResolveDispute(m.st, ll.Line, rapid.Bool().Draw(t, "won"), m.now)
		require.NoError(t, err)
		m.keep(t, res)
		return
	}
	l, err := ll.Basis.Sub(ll.Credited)
	require.NoError(t, err)
	left, err := l.MinorUnits()
	require.NoError(t, err)
	o := settlement.DisputeOutcome{Won: left == 0 || rapid.Bool().Draw(t, "won")}
	if !o.Won {
		o.Lost = ensemble.MoneyFromMinor(rapid.Int64Range(1, left).Draw(t, "lost"), ll.Basis.Currency())
		o.Bearer = drawLedgerBearer(t, ll, "resolve")
	}
	if rapid.Bool().Draw(t, "fee") {
		o.Fee = settlement.DisputeFee{Party: rapid.SampledFrom(coSellers).Draw(t, "fee.party"),
			Amount: ensemble.MoneyFromMinor(rapid.Int64Range(1, 2_500).Draw(t, "fee.amount"), ll.Basis.Currency())}
	}
	res, err := m.s.ResolveDisputeWith(m.st, ll.Line, o, m.now)
	if !bearerRefused(t, err) {
		m.keep(t, res)
	}
}

func (m *historyMachine) adjust(t *rapid.T) {
	m.n++
	units := rapid.OneOf(rapid.Int64Range(-100_000, 100_000), rapid.SampledFrom([]int64{math.MaxInt64, math.MinInt64})).
		Filter(func(u int64) bool { return u != 0 }).Draw(t, "adjustment")
	e, err := settlement.Adjust(settlement.Adjustment{ID: fmt.Sprint(m.n), Party: rapid.SampledFrom(coSellers).Draw(t, "party"),
		Amount: ensemble.MoneyFromMinor(units, ensemble.MustCurrency("EUR")), Date: m.now, Reason: "correction", Approver: "finance"})
	require.NoError(t, err)
	m.entries = append(m.entries, e)
}

func (m *historyMachine) payOut(t *rapid.T) {
	sts, err := settlement.Statements(m.entries, settlement.StatementOptions{Period: everything})
	require.NoError(t, err)
	var payable []settlement.Statement
	for _, s := range sts {
		if s.Payable.IsPositive() {
			payable = append(payable, s)
		}
	}
	if len(payable) == 0 {
		t.Skip("nothing payable")
	}
	m.n++
	e, err := settlement.PayOut(rapid.SampledFrom(payable).Draw(t, "statement"), settlement.Payout{ID: fmt.Sprint(m.n), Date: m.now})
	require.NoError(t, err)
	m.entries = append(m.entries, e)
}

// collect applies a payment or a write-off (borne now and then by a
// bearer) to the lines of a marketplace, payable on collection: of what
// they owe, or part of it.
func (m *historyMachine) collect(t *rapid.T) {
	ll := m.pick(t, func(ll settlement.LedgerLine) bool {
		c := ll.Collection
		return c != nil && !ll.Disputed && minorOf(c.Total) > minorOf(c.Collected)+minorOf(c.WrittenOff)
	})
	c := ll.Collection
	room := minorOf(c.Total) - minorOf(c.Collected) - minorOf(c.WrittenOff)
	m.n++
	col := settlement.Collection{ID: fmt.Sprintf("P%d", m.n), Date: m.now, Lines: []settlement.LineID{ll.Line},
		Amount: ensemble.MoneyFromMinor(rapid.OneOf(rapid.Just(room), rapid.Int64Range(1, room)).Draw(t, "paid"), ll.Basis.Currency())}
	var res settlement.Result
	var err error
	if rapid.Bool().Draw(t, "write off") {
		col.Bearer = drawLedgerBearer(t, ll, "write off")
		res, err = m.s.WriteOff(m.st, col)
	} else {
		res, err = m.s.Collect(m.st, col)
	}
	// Credits may have taken part of what is owed: more is refused.
	if errors.Is(err, settlement.ErrOverCollection) || bearerRefused(t, err) {
		return
	}
	require.NoError(t, err)
	m.keep(t, res)
}

func (m *historyMachine) wait(t *rapid.T) {
	m.now = m.now.AddDate(0, 0, rapid.IntRange(1, 40).Draw(t, "days"))
}

// check: no entry id repeats, and Statements and ComputeMetrics over every
// entry equal what the entries add up to per party (earnings, supplier
// costs, clawbacks and adjustments), in math/big.
func (m *historyMachine) check(t *rapid.T) {
	requireUniqueIDs(t, m.entries)
	m.checkAbroad(t)
	entries := slices.DeleteFunc(slices.Clone(m.entries), func(e settlement.Entry) bool { return e.Amount.Currency() != ensemble.MustCurrency("EUR") })
	type fold struct{ earned, reversed, adjusted, reserved, released, paid, uncollected, collected, net big.Int }
	want := map[partner.ID]*fold{}
	adjusted := new(big.Int) // moves value between parties; no sale is worth more
	for _, e := range entries {
		f := want[e.Party]
		if f == nil {
			f = &fold{}
			want[e.Party] = f
		}
		u := new(big.Int).Set(e.Amount.Amount().Shift(2).BigInt())
		require.True(t, e.Amount.Amount().Shift(2).IsInteger())
		switch e.Kind {
		case settlement.KindEarning, settlement.KindSupplierCost:
			f.earned.Add(&f.earned, u)
			f.net.Add(&f.net, u)
		case settlement.KindClawback:
			f.reversed.Add(&f.reversed, u)
			f.net.Add(&f.net, u)
		case settlement.KindAdjustment, settlement.KindFee:
			f.adjusted.Add(&f.adjusted, u)
			f.net.Add(&f.net, u)
			adjusted.Add(adjusted, u)
		case settlement.KindReserve, settlement.KindHold:
			f.reserved.Add(&f.reserved, u)
		case settlement.KindRelease:
			f.released.Add(&f.released, u)
		case settlement.KindPayout:
			f.paid.Add(&f.paid, u)
		case settlement.KindUncollected:
			f.uncollected.Add(&f.uncollected, u)
		case settlement.KindCollected:
			f.collected.Add(&f.collected, u)
		default:
			t.Fatalf("entry %s of kind %s", e.ID, e.Kind)
		}
	}
	eurC := ensemble.MustCurrency("EUR")
	money := func(b *big.Int) ensemble.Money { return minor(b) }
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: everything})
	require.NoError(t, err)
	require.Len(t, sts, len(want))
	for _, s := range sts {
		f := want[s.Party]
		require.NotNil(t, f, "a statement of %s, who has no entry", s.Party)
		require.Equal(t, eurC, s.Currency)
		closing := new(big.Int).Add(&f.earned, &f.reversed)
		closing.Add(closing, &f.adjusted).Sub(closing, &f.reserved).Add(closing, &f.released).Sub(closing, &f.paid)
		closing.Sub(closing, &f.uncollected).Add(closing, &f.collected)
		for _, c := range []struct {
			name      string
			got, want ensemble.Money
		}{{"earned", s.Earned, money(&f.earned)}, {"reversed", s.Reversed, money(&f.reversed)}, {"adjusted", s.Adjusted, money(&f.adjusted)},
			{"reserved", s.Reserved, money(&f.reserved)}, {"released", s.Released, money(&f.released)}, {"paid", s.PaidOut, money(&f.paid)},
			{"uncollected", s.Uncollected, money(&f.uncollected)}, {"collected", s.Collected, money(&f.collected)},
			{"closing", s.Closing, money(closing)}} {
			require.Truef(t, c.got.Equal(c.want), "%s %s: got %s, want %s", s.Party, c.name, c.got, c.want)
		}
	}
	ms, err := settlement.ComputeMetrics(entries, everything, "")
	require.NoError(t, err)
	if len(ms) == 0 {
		return
	}
	require.Len(t, ms, 1)
	total := new(big.Int)
	for _, a := range ms[0].ByParty {
		f := want[partner.ID(a.Key)]
		require.NotNil(t, f)
		require.Truef(t, a.Amount.Equal(money(&f.net)), "%s net: got %s, want %s", a.Key, a.Amount, money(&f.net))
		total.Add(total, &f.net)
	}
	require.True(t, ms[0].GrossValue.Equal(money(total.Sub(total, adjusted))))
}

// checkAbroad: the statements of dollars and pounds close at what their
// entries add up to per party, and the volumes in euros their lines add to,
// net of credits, are never negative and hold what the lines still add:
// each converted basis less the share its credits and lost disputes took
// back.
func (m *historyMachine) checkAbroad(t *rapid.T) {
	sts, err := settlement.Statements(m.entries, settlement.StatementOptions{Period: everything})
	require.NoError(t, err)
	closing := map[string]*big.Int{}
	for _, e := range m.entries {
		if cur := e.Amount.Currency().Key(); cur == "USD" || cur == "GBP" {
			k := string(e.Party) + " " + cur
			if closing[k] == nil {
				closing[k] = new(big.Int)
			}
			u := big.NewInt(minorOf(e.Amount))
			switch e.Kind {
			case settlement.KindReserve, settlement.KindHold, settlement.KindPayout:
				closing[k].Sub(closing[k], u)
			default:
				closing[k].Add(closing[k], u)
			}
		}
	}
	for _, s := range sts {
		if c := closing[string(s.Party)+" "+s.Currency.Key()]; c != nil {
			require.Truef(t, s.Closing.Equal(ensemble.MoneyFromMinor(c.Int64(), s.Currency)), "%s %s closing: got %s, want %s", s.Party, s.Currency, s.Closing, c)
			delete(closing, string(s.Party)+" "+s.Currency.Key())
		}
	}
	require.Empty(t, closing, "parties without a statement")
	left := map[partner.ID]int64{} // by seller, for 2026 and 2027 together
	for _, id := range m.lines {
		ll, ok := m.st.Line(id)
		if !ok {
			continue
		}
		for _, v := range ll.Volumes {
			require.True(t, v.NetOfCredits)
			added, basis, credited := minorOf(v.Amount), minorOf(ll.Basis), minorOf(ll.Credited)
			taken := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(added), big.NewInt(credited)), big.NewInt(max(basis, 1)))
			taken.Add(taken, big.NewRat(1, 2))
			left[v.Partner] += added - new(big.Int).Quo(taken.Num(), taken.Denom()).Int64()
		}
	}
	for p, want := range left {
		var got int64
		for _, y := range []int{2026, 2027} {
			v := m.st.Volume(p, ensemble.MustCurrency("EUR"), settlement.WindowCalendarYear, time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC))
			require.False(t, v.IsNegative())
			got += minorOf(v)
		}
		require.Equal(t, want, got, "the euro volume of %s", p)
	}
}

// TestPropertyHistoriesKeepEntryIDsUniqueAndStatementsExact runs random
// histories — sales of every route kind (some near int64's range of minor
// units), partial and full credits borne by random bearers, disputes won,
// lost and partly lost with bearers and dispute fees, adjustments
// of int64's extremes, payouts, the State read back from JSON between
// steps — and after every step requires that no entry id repeats and that
// Statements and ComputeMetrics equal the entries' sums per party in
// math/big.
func TestPropertyHistoriesKeepEntryIDsUniqueAndStatementsExact(t *testing.T) {
	plans, err := settlement.ParsePlans([]byte(historyPlans))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Network: loadNetwork(t), Rates: historyRates})
	require.NoError(t, err)
	rapid.Check(t, func(t *rapid.T) {
		m := &historyMachine{s: s, now: date("2027-06-01")}
		t.Repeat(map[string]func(*rapid.T){
			"settle":  m.settle,
			"credit":  m.credit,
			"dispute": m.dispute,
			"resolve": m.resolve,
			"adjust":  m.adjust,
			"payOut":  m.payOut,
			"wait":    m.wait,
			"collect": m.collect,
			"":        m.check,
		})
	})
}

// inCurrency returns l with its amounts in cur, unit for unit.
func inCurrency(l settlement.Line, code string) settlement.Line {
	cur := ensemble.MustCurrency(code)
	l.Amount = ensemble.MoneyFromMinor(minorOf(l.Amount), cur)
	if !l.Tax.IsZero() {
		l.Tax = ensemble.MoneyFromMinor(minorOf(l.Tax), cur)
	}
	l.SupplierCosts = slices.Clone(l.SupplierCosts)
	for i := range l.SupplierCosts {
		l.SupplierCosts[i].Cost = ensemble.MoneyFromMinor(minorOf(l.SupplierCosts[i].Cost), cur)
	}
	return l
}
