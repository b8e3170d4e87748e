package settlement_test

import (
	"fmt"
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
// back, dispute, pay out) through the real API beside a plain model.
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
}

type modelLine struct {
	unreversed int64
	disputed   bool
}

type modelReserve struct {
	units int64
	at    time.Time
}

const devPlan = `{id: dev, version: 1, root: {id: root, party: seller, reserve: {ratio: "10%", days: 30}}}`

var minimum = eur("10.00")

func (m *ledgerMachine) earn(t *rapid.T) {
	units := rapid.Int64Range(0, 100_000).Draw(t, "units")
	m.n++
	id := settlement.LineID(fmt.Sprintf("L%03d", m.n))
	l := settlement.Line{ID: id, Date: m.now, Amount: ensemble.MoneyFromMinor(units, ensemble.MustCurrency("EUR")),
		Offer: catalog.Pin{Offer: "app", Version: 1}, Route: settlement.Route{Kind: settlement.RoutePartner, Chain: []partner.ID{"dev-1"}}}
	res, err := m.s.Settle(ctx, m.st, []settlement.Line{l})
	require.NoError(t, err)
	m.apply(res)
	m.lines[id] = &modelLine{unreversed: units}
	m.order = append(m.order, id)
	if r := units / 10; r > 0 {
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

func (m *ledgerMachine) clawBack(t *rapid.T) {
	id, ml := m.pick(t, func(l *modelLine) bool { return !l.disputed && l.unreversed > 0 })
	x := rapid.Int64Range(1, ml.unreversed+1).Draw(t, "credit")
	m.n++
	c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%03d", m.n)), Date: m.now,
		Amount: ensemble.MoneyFromMinor(-x, ensemble.MustCurrency("EUR")), Credits: id}
	res, err := m.s.Settle(ctx, m.st, []settlement.Line{c})
	if x > ml.unreversed {
		require.ErrorIs(t, err, settlement.ErrOverCredit)
		return
	}
	require.NoError(t, err)
	m.apply(res)
	ml.unreversed -= x
}

func (m *ledgerMachine) dispute(t *rapid.T) {
	id, ml := m.pick(t, func(l *modelLine) bool { return !l.disputed })
	res, err := m.s.Dispute(m.st, id, m.now)
	require.NoError(t, err)
	m.apply(res)
	ml.disputed = true
}

func (m *ledgerMachine) resolve(t *rapid.T) {
	id, ml := m.pick(t, func(l *modelLine) bool { return l.disputed })
	won := rapid.Bool().Draw(t, "won")
	res, err := m.s.ResolveDispute(m.st, id, won, m.now)
	require.NoError(t, err)
	m.apply(res)
	ml.disputed = false
	if !won {
		ml.unreversed = 0
	}
}

func (m *ledgerMachine) wait(t *rapid.T) {
	m.now = m.now.AddDate(0, 0, rapid.IntRange(1, 20).Draw(t, "days"))
}

func (m *ledgerMachine) payOut(t *rapid.T) {
	st := m.statement(t)
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

// statement folds every entry up to now (inclusive).
func (m *ledgerMachine) statement(t *rapid.T) settlement.Statement {
	st, err := settlement.Statements(m.entries, settlement.StatementOptions{
		Period: ensemble.MustPeriod(date("2000-01-01"), m.now.Add(time.Nanosecond)), Minimums: []ensemble.Money{minimum}})
	require.NoError(t, err)
	for _, s := range st {
		if s.Party == "dev-1" {
			return s
		}
	}
	return settlement.Statement{Party: "dev-1"}
}

func (m *ledgerMachine) check(t *rapid.T) {
	var unreversed, held, reserved int64
	for id, ml := range m.lines {
		unreversed += ml.unreversed
		if ml.disputed {
			held += ml.unreversed
		}
		ll, ok := m.st.Line(id)
		require.True(t, ok)
		var got int64
		for _, p := range ll.Parts {
			u, _ := p.Unreversed.MinorUnits()
			got += u
		}
		require.Equal(t, ml.unreversed, got, "line %s unreversed", id)
		require.Equal(t, ml.disputed, ll.Disputed)
	}
	for _, r := range m.reserves {
		if r.at.After(m.now) {
			reserved += r.units
		}
	}
	want := unreversed - held - reserved - m.paid
	st := m.statement(t)
	got, _ := st.Closing.MinorUnits()
	require.Equal(t, want, got, "closing balance")
	payable, _ := st.Payable.MinorUnits()
	min, _ := minimum.MinorUnits()
	if want >= min {
		require.Equal(t, want, payable)
	} else {
		require.Zero(t, payable)
	}
}

func TestLedgerStateMachine(t *testing.T) {
	net := loadNetwork(t)
	s := planSettler(t, devPlan, net)
	rapid.Check(t, func(t *rapid.T) {
		m := &ledgerMachine{s: s, now: date("2026-01-01"), lines: map[settlement.LineID]*modelLine{}}
		t.Repeat(map[string]func(*rapid.T){
			"earn":     m.earn,
			"clawBack": m.clawBack,
			"dispute":  m.dispute,
			"resolve":  m.resolve,
			"wait":     m.wait,
			"payOut":   m.payOut,
			"":         m.check,
		})
	})
}
