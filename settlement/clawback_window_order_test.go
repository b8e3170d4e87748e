package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// smallWindowSettled settles L1 of 100.00 dated 2026-03-03 under
// windowPlan with a window of 2 days on the seller's two bonuses: tier
// 40.00, deal-reg 50.00, new-logo 1.00, MDF 5.00, the platform 4.00.
func smallWindowSettled(t *testing.T) (*settlement.Settler, settlement.State) {
	t.Helper()
	s := planSettler(t, windowPlan("on_settlement", 40, 50, 5, "1.00", "{within_days: 2}"), loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-03")})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"root/tier": "40.00", "root/dealreg": "50.00", "root/newlogo": "1.00", "root/mdf": "5.00",
		"root/platform": "4.00"}, partsOf(t, res.State, "L1"))
	return s, res.State
}

// A credit dated past the window settled first, then a credit of all the
// line has left dated inside it: the first leaves the bonuses what they
// have and the platform bears their 10.20 beyond its 4.00 (-7.00); the
// second takes from every part exactly what it has, the bonuses' 51.00
// included, and gives the platform its 7.00 back, so every party ends at
// zero on the line credited in full.
func TestClawbackWindowFullCreditInsideAfterOnePast(t *testing.T) {
	s, st := smallWindowSettled(t)
	r, err := s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-20.00", "2026-03-24")}) // day 21
	require.NoError(t, err)
	requireNodes(t, r.Entries, settlement.KindClawback, map[string]string{"root/tier": "-8.00", "root/mdf": "-1.00", "root/platform": "-11.00"})
	require.Equal(t, map[string]string{"root/tier": "32.00", "root/dealreg": "50.00", "root/newlogo": "1.00", "root/mdf": "4.00",
		"root/platform": "-7.00"}, partsOf(t, r.State, "L1"))

	r, err = s.Settle(ctx, r.State, []settlement.Line{credit("C2", "L1", "-80.00", "2026-03-05")}) // day 2
	require.NoError(t, err)
	requireNodes(t, r.Entries, settlement.KindClawback, map[string]string{"root/tier": "-32.00", "root/dealreg": "-50.00", "root/newlogo": "-1.00",
		"root/mdf": "-4.00", "root/platform": "7.00"})
	requireMoney(t, sumEntries(r.Entries, settlement.KindClawback), eur("-80.00"))
	require.Equal(t, map[string]string{"root/tier": "0.00", "root/dealreg": "0.00", "root/newlogo": "0.00", "root/mdf": "0.00",
		"root/platform": "0.00"}, partsOf(t, r.State, "L1"))
}

// findings-s10 F5: a credit of nothing takes nothing back. After a credit
// of the whole line past the window (the bonuses keep their 51.00, the
// platform bears it: -51.00), a credit of 0.00 dated inside the window
// gives the customer nothing, so it moves nothing: no entry, every part
// as it was (the reference settler used to take the bonuses' 51.00 back
// and give the platform its 51.00, a zero-sum move no credit paid for,
// and one it did not make had the zero credit come first).
func TestClawbackWindowZeroCreditAfterFullCreditPast(t *testing.T) {
	s, st := smallWindowSettled(t)
	r, err := s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-100.00", "2026-03-24")}) // day 21
	require.NoError(t, err)
	requireNodes(t, r.Entries, settlement.KindClawback, map[string]string{"root/tier": "-40.00", "root/mdf": "-5.00", "root/platform": "-55.00"})
	kept := map[string]string{"root/tier": "0.00", "root/dealreg": "50.00", "root/newlogo": "1.00", "root/mdf": "0.00", "root/platform": "-51.00"}
	require.Equal(t, kept, partsOf(t, r.State, "L1"))

	r, err = s.Settle(ctx, r.State, []settlement.Line{credit("C2", "L1", "0.00", "2026-03-05")}) // day 2
	require.NoError(t, err)
	for _, e := range r.Entries {
		require.NotEqual(t, settlement.KindClawback, e.Kind, "%+v", e)
	}
	require.Equal(t, kept, partsOf(t, r.State, "L1"))

	// The other order: the zero credit first changes nothing either.
	r, err = s.Settle(ctx, st, []settlement.Line{credit("C2", "L1", "0.00", "2026-03-05")})
	require.NoError(t, err)
	r, err = s.Settle(ctx, r.State, []settlement.Line{credit("C1", "L1", "-100.00", "2026-03-24")})
	require.NoError(t, err)
	require.Equal(t, kept, partsOf(t, r.State, "L1"))
}

// A partial credit inside the window after one past it reverses every
// part in proportion to what it has unreversed, the platform's negative
// part included: half of the 80.00 left takes half of each part, and the
// platform gets 3.50 of its 7.00 back.
func TestClawbackWindowPartialCreditInsideAfterOnePast(t *testing.T) {
	s, st := smallWindowSettled(t)
	r, err := s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-20.00", "2026-03-24")})
	require.NoError(t, err)
	r, err = s.Settle(ctx, r.State, []settlement.Line{credit("C2", "L1", "-40.00", "2026-03-05")})
	require.NoError(t, err)
	requireNodes(t, r.Entries, settlement.KindClawback, map[string]string{"root/tier": "-16.00", "root/dealreg": "-25.00", "root/newlogo": "-0.50",
		"root/mdf": "-2.00", "root/platform": "3.50"})
	require.Equal(t, map[string]string{"root/tier": "16.00", "root/dealreg": "25.00", "root/newlogo": "0.50", "root/mdf": "2.00",
		"root/platform": "-3.50"}, partsOf(t, r.State, "L1"))
}

// The reference settler agrees with the settler on F5's history, both
// orders: a zero credit inside the window, after or before a full credit
// past it, gives no clawback (the reference gave the bonuses' 51.00 to
// the platform when it came after).
func TestReferenceSettlerZeroCreditAfterFullCreditPast(t *testing.T) {
	plans, err := settlement.ParsePlans([]byte(windowPlan("on_settlement", 40, 50, 5, "1.00", "{within_days: 2}")))
	require.NoError(t, err)
	cfg := settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)}
	for _, order := range [][]settlement.Line{
		{credit("C1", "L1", "-100.00", "2026-03-24"), credit("C2", "L1", "0.00", "2026-03-05")},
		{credit("C2", "L1", "0.00", "2026-03-05"), credit("C1", "L1", "-100.00", "2026-03-24")},
	} {
		s, err := settlement.New(cfg)
		require.NoError(t, err)
		ref := newRefSettler(cfg)
		st := settlement.State{}
		for _, batch := range [][]settlement.Line{{chainLine("L1", "100.00", "2026-03-03")}, order[:1], order[1:]} {
			want, err := ref.Settle(batch)
			require.NoError(t, err)
			res, err := s.Settle(ctx, st, batch)
			require.NoError(t, err)
			if len(want) == 0 {
				require.Empty(t, res.Entries)
			} else {
				requireSameEntriesT(t, res.Entries, want)
			}
			st = res.State
		}
		require.Equal(t, map[string]string{"root/tier": "0.00", "root/dealreg": "50.00", "root/newlogo": "1.00", "root/mdf": "0.00",
			"root/platform": "-51.00"}, partsOf(t, st, "L1"))
	}
}

// The same two credits settled in date order: the one inside the window
// first takes its 80% of every part in proportion, the bonuses' 40.80
// included; the one past it, of the 20.00 left, leaves the bonuses their
// 10.20, which the platform bears beyond its 0.80 (-10.20). Settled the
// other way round (TestClawbackWindowFullCreditInsideAfterOnePast) the
// credit inside the window, of all the line has left, takes the bonuses'
// 10.20 too: a host that wants each credit decided on its own date
// settles a line's credits in date order.
func TestClawbackWindowCreditsInDateOrder(t *testing.T) {
	s, st := smallWindowSettled(t)
	r, err := s.Settle(ctx, st, []settlement.Line{credit("C2", "L1", "-80.00", "2026-03-05")}) // day 2
	require.NoError(t, err)
	requireNodes(t, r.Entries, settlement.KindClawback, map[string]string{"root/tier": "-32.00", "root/dealreg": "-40.00", "root/newlogo": "-0.80",
		"root/mdf": "-4.00", "root/platform": "-3.20"})
	r, err = s.Settle(ctx, r.State, []settlement.Line{credit("C1", "L1", "-20.00", "2026-03-24")}) // day 21
	require.NoError(t, err)
	requireNodes(t, r.Entries, settlement.KindClawback, map[string]string{"root/tier": "-8.00", "root/mdf": "-1.00", "root/platform": "-11.00"})
	require.Equal(t, map[string]string{"root/tier": "0.00", "root/dealreg": "10.00", "root/newlogo": "0.20", "root/mdf": "0.00",
		"root/platform": "-10.20"}, partsOf(t, r.State, "L1"))
}

// A lost dispute of all the line has left, decided inside the window
// after a credit past it took the platform below zero, is a reversal of
// all the line has left like a credit: every part gives back what it has
// (the platform its 7.00 back), every party ends at zero.
func TestClawbackWindowLostDisputeInsideAfterCreditPast(t *testing.T) {
	s, st := smallWindowSettled(t)
	r, err := s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-20.00", "2026-03-24")})
	require.NoError(t, err)
	d, err := s.Dispute(r.State, "L1", date("2026-03-04"))
	require.NoError(t, err)
	lost, err := s.ResolveDispute(d.State, "L1", false, date("2026-03-05"))
	require.NoError(t, err)
	requireNodes(t, lost.Entries, settlement.KindClawback, map[string]string{"root/tier": "-32.00", "root/dealreg": "-50.00", "root/newlogo": "-1.00",
		"root/mdf": "-4.00", "root/platform": "7.00"})
	require.Equal(t, map[string]string{"root/tier": "0.00", "root/dealreg": "0.00", "root/newlogo": "0.00", "root/mdf": "0.00",
		"root/platform": "0.00"}, partsOf(t, lost.State, "L1"))
}
