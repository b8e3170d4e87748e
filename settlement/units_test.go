package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestAmountsBeyondTheRangeSettlementKeeps: an amount of whole minor
// units beyond the int64 range settlement counts them in is refused as
// such (ensemble.ErrMinorUnitsRange, naming the range), not as "not a
// whole number of minor units", which it is (a hostile test: EUR
// 92233720368547758.08, and a rule returning a 35-digit amount, were
// called fractional).
func TestAmountsBeyondTheRangeSettlementKeeps(t *testing.T) {
	const beyond = "92233720368547758.08"
	requireRange := func(t *testing.T, err error) {
		t.Helper()
		require.ErrorIs(t, err, ensemble.ErrMinorUnitsRange)
		require.NotErrorIs(t, err, ensemble.ErrNotMinorUnits)
		require.NotContains(t, err.Error(), "not a whole number")
		require.ErrorContains(t, err, "beyond the int64 range of minor units")
	}
	s := newSettler(t)

	t.Run("a line's amount and tax", func(t *testing.T) {
		l := chainLine("L1", beyond, "2026-03-01")
		_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.ErrorIs(t, err, settlement.ErrInvalidLine)
		requireRange(t, err)
		requireProblemAt(t, err, "amount", "settlement keeps amounts within ±EUR 92233720368547758.07")
		l = chainLine("L1", "100.00", "2026-03-01")
		l.Tax = eur(beyond)
		_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.ErrorIs(t, err, settlement.ErrInvalidLine)
		requireRange(t, err)
		requireProblemAt(t, err, "tax", "beyond the int64 range")
		// Fractions are still called so.
		_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1.005", "2026-03-01")})
		require.ErrorIs(t, err, ensemble.ErrNotMinorUnits)
		require.NotErrorIs(t, err, ensemble.ErrMinorUnitsRange)
	})

	t.Run("a rule's amount", func(t *testing.T) {
		huge := `- {id: huge-fee, version: 1, kind: amount, env_version: 1, expression: 'money("99999999999999999999999999999999999", line.currency)'}`
		rs := planSettler(t, `{id: p, version: 1, routes: [partner], root: {id: root, children: [
  {id: fee, party: referrer, share: {rule: huge-fee}}, {id: rest, party: seller, share: remaining}]}}`, loadNetwork(t), huge)
		_, err := rs.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
		requireRange(t, err)
		var le *settlement.LineError
		require.ErrorAs(t, err, &le)
		require.Equal(t, "huge-fee@1", le.Rule)
		require.Equal(t, "root/fee", le.Node)
	})

	t.Run("a collection, a lost dispute", func(t *testing.T) {
		cs, _, st := settledCollect(t)
		_, err := cs.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-03-10"), Amount: eur(beyond), Invoice: "INV-7"})
		require.ErrorIs(t, err, settlement.ErrInvalidCollection)
		requireRange(t, err)
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
		require.NoError(t, err)
		d, err := s.Dispute(res.State, "L1", date("2026-03-02"))
		require.NoError(t, err)
		_, err = s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: eur(beyond)}, date("2026-03-03"))
		require.ErrorIs(t, err, settlement.ErrInvalidDispute)
		requireRange(t, err)
	})

	t.Run("a state's amount", func(t *testing.T) {
		var d stateDoc
		require.NoError(t, json.Unmarshal(ledgerState(t), &d))
		d.line("L1")["basis"] = moneyJSON(beyond, "EUR")
		fe := decodeProblem(t, d, "lines[0].basis", "beyond the int64 range of minor units settlement keeps", "L1")
		require.ErrorIs(t, fe, ensemble.ErrMinorUnitsRange)
	})
}

// TestNegativeRuleAmountRefusedBeforeRounding: an amount rule's negative
// result is refused however small, before it is rounded to minor units (a
// hostile test: EUR -0.004 rounded to 0.00 and paid nothing without a
// word, while EUR -5.00 was refused). Positive fractions still round.
func TestNegativeRuleAmountRefusedBeforeRounding(t *testing.T) {
	for _, tc := range []struct {
		amount string
		want   int64 // what the referrer is paid, in cents; -1: refused
	}{
		{"-0.004", -1},
		{"-0.000000000000000001", -1},
		{"-5.00", -1},
		{"0.004", 0},
		{"0.005", 1},
	} {
		t.Run(tc.amount, func(t *testing.T) {
			fee := `- {id: tiny-fee, version: 1, kind: amount, env_version: 1, expression: 'money("` + tc.amount + `", line.currency)'}`
			s := planSettler(t, `{id: p, version: 1, routes: [partner], root: {id: root, children: [
  {id: fee, party: referrer, share: {rule: tiny-fee}}, {id: rest, party: seller, share: remaining}]}}`, loadNetwork(t), fee)
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
			if tc.want >= 0 {
				require.NoError(t, err)
				require.Equal(t, tc.want, minorOf(byParty(res.Entries, settlement.KindEarning)["referral-ams"]))
				return
			}
			require.ErrorIs(t, err, settlement.ErrRule)
			require.ErrorContains(t, err, "negative amount EUR "+tc.amount)
			var le *settlement.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, "tiny-fee@1", le.Rule)
			require.Equal(t, "root/fee", le.Node)
		})
	}
}
