package settlement_test

// Hole 1 of issue 18: the State records what a later credit needs.

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// storeGross is a marketplace plan splitting the gross amount; storeNet is
// its next version, splitting the net amount from 2026-06-01.
const (
	storeGross = `{id: store, version: 1, routes: [marketplace], basis: gross,
  root: {id: root, children: [{id: commission, party: platform, share: "30%"}, {id: developer, party: seller, share: remaining}]}}`
	storeNet = `{id: store, version: 2, routes: [marketplace], effective_from: 2026-06-01T00:00:00Z,
  root: {id: root, children: [{id: commission, party: platform, share: "30%"}, {id: developer, party: seller, share: remaining}]}}`
)

// taxedAppLine is a marketplace line of EUR 100.00 net and EUR 20.00 tax.
func taxedAppLine(id string) settlement.Line {
	l := appLine(id, "100.00", "2026-03-01")
	l.Tax = eur("20.00")
	return l
}

// Hole: a full credit of a gross-basis line, settled by a Settler that no
// longer holds the line's plan version, reversed only the net and left the
// tax share with the parties, without error.
func TestCreditOfGrossLineWhosePlanVersionTheSettlerLacks(t *testing.T) {
	old := planSettler(t, "["+storeGross+"]", loadNetwork(t))
	res, err := old.Settle(ctx, settlement.State{}, []settlement.Line{taxedAppLine("L1")})
	require.NoError(t, err)
	requireMoney(t, sumEntries(res.Entries), eur("120.00"), "the gross basis is split")

	full := credit("C1", "L1", "-100.00", "2026-07-01")
	full.Tax = eur("-20.00")

	// The settler that holds the version nets every party to zero.
	back, err := old.Settle(ctx, res.State, []settlement.Line{full})
	require.NoError(t, err)
	for p, m := range byParty(append(res.Entries, back.Entries...), settlement.KindEarning, settlement.KindClawback) {
		require.Truef(t, m.IsZero(), "%s keeps %s after a full credit", p, m)
	}

	// One built from the next version only refuses, naming both lines and
	// the version, rather than reversing the net alone.
	next := planSettler(t, "["+storeNet+"]", loadNetwork(t))
	_, err = next.Settle(ctx, res.State, []settlement.Line{full})
	require.ErrorIs(t, err, settlement.ErrUnknownPlanVersion)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("C1"), le.Line)
	var pe *settlement.PlanVersionError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, settlement.LineID("L1"), pe.Line)
	require.Equal(t, ensemble.Ref{Kind: settlement.RefPlan, ID: "store", Version: "1"}, pe.Plan)
	require.Equal(t, settlement.BasisGross, pe.Basis)
	require.Contains(t, err.Error(), `line "L1" was settled under plan store@1`)
}

// Hole: the State did not record the basis kind a later credit needs.
// Now it does, and a persisted line without one is refused rather than
// guessed net.
func TestStateRecordsBasisKind(t *testing.T) {
	s := planSettler(t, "["+storeGross+", {id: direct, version: 1, routes: [direct], root: {id: root, party: platform}}]", loadNetwork(t))
	direct := chainLine("L2", "10.00", "2026-03-01")
	direct.Route = partner.Route{Kind: partner.RouteDirect}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{taxedAppLine("L1"), direct})
	require.NoError(t, err)
	ll, ok := res.State.Line("L1")
	require.True(t, ok)
	require.Equal(t, settlement.BasisGross, ll.BasisKind)
	ll, _ = res.State.Line("L2")
	require.Equal(t, settlement.BasisNet, ll.BasisKind)

	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	var d stateDoc
	require.NoError(t, json.Unmarshal(b, &d))
	require.Equal(t, "gross", d.line("L1")["basis_kind"])
	require.Equal(t, "net", d.line("L2")["basis_kind"])

	delete(d.line("L1"), "basis_kind")
	old, err := json.Marshal(d)
	require.NoError(t, err)
	var st settlement.State
	err = json.Unmarshal(old, &st)
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	require.ErrorIs(t, err, settlement.ErrNoBasisKind)
	var se *settlement.StateError
	require.ErrorAs(t, err, &se)
	require.Equal(t, settlement.LineID("L1"), se.Line)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 1)
	require.Equal(t, "lines[0].basis_kind", ve.Problems[0].Path)
}

// A state that records a basis kind the settler's plan version
// contradicts (a plan edited without a new version) is refused at the
// credit, never settled on either basis.
func TestCreditRefusesBasisKindThePlanVersionContradicts(t *testing.T) {
	s := planSettler(t, "["+storeGross+"]", loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{taxedAppLine("L1")})
	require.NoError(t, err)
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	var d stateDoc
	require.NoError(t, json.Unmarshal(b, &d))
	d.line("L1")["basis_kind"] = "net"
	b, err = json.Marshal(d)
	require.NoError(t, err)
	var st settlement.State
	require.NoError(t, json.Unmarshal(b, &st))
	_, err = s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-10.00", "2026-04-01")})
	require.ErrorIs(t, err, settlement.ErrBasisMismatch)
	var pe *settlement.PlanVersionError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, settlement.BasisNet, pe.Basis)
}
