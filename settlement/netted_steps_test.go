package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// rvLine is a line of amount, no tax, on invoice inv, under collectPlan
// (platform 25%, referrer 15%, seller 60%).
func rvLine(id, amount, inv string) settlement.Line {
	l := chainLine(id, amount, "2026-03-01")
	l.Invoice = inv
	return l
}

// rv runs a history of settlements, collections, write-offs and disputes
// under collectPlan, keeping its entries, and requires the state to read
// back from JSON and binary after every step.
type rv struct {
	t       *testing.T
	s       *settlement.Settler
	st      settlement.State
	entries []settlement.Entry
}

func newRV(t *testing.T) *rv {
	return &rv{t: t, s: planSettler(t, collectPlan, loadNetwork(t))}
}

func (r *rv) step(res settlement.Result, err error) {
	r.t.Helper()
	require.NoError(r.t, err)
	r.entries, r.st = append(r.entries, res.Entries...), res.State
	js, err := json.Marshal(r.st)
	require.NoError(r.t, err)
	var back settlement.State
	require.NoError(r.t, json.Unmarshal(js, &back), "JSON round trip")
	b, err := r.st.MarshalBinary()
	require.NoError(r.t, err)
	require.NoError(r.t, back.UnmarshalBinary(b), "binary round trip")
}

func (r *rv) settle(lines ...settlement.Line) { r.t.Helper(); r.step(r.s.Settle(ctx, r.st, lines)) }

func (r *rv) pay(id, amount string, inv string, lines ...settlement.LineID) {
	r.t.Helper()
	r.step(r.s.Collect(r.st, settlement.Collection{ID: id, Date: date("2026-04-10"), Amount: eur(amount), Invoice: inv, Lines: lines}))
}

func (r *rv) writeOff(id, amount string, inv string, lines ...settlement.LineID) {
	r.t.Helper()
	r.step(r.s.WriteOff(r.st, settlement.Collection{ID: id, Date: date("2026-04-20"), Amount: eur(amount), Invoice: inv, Lines: lines}))
}
