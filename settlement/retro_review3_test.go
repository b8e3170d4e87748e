package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestRetroactiveVolumeOfNobodyKeepsNoRecord: a retroactive share paid to
// the platform reads the volume of the route's referrer, and a line with
// no referrer reads the volume of nobody (zero). The line keeps no record
// of what the rate applied to: before, it recorded one in a volume with no
// partner and no currency, and the State it returned failed to write
// ("parse currency ”"), as the reference property found.
func TestRetroactiveVolumeOfNobodyKeepsNoRecord(t *testing.T) {
	plan := strings.Replace(retroPlan, "party: seller\n      share:\n        cumulative:\n          of: seller",
		"party: platform\n      fallback: platform\n      share:\n        cumulative:\n          of: referrer", 1)
	require.Contains(t, plan, "of: referrer")
	s := planSettler(t, strings.NewReplacer("WINDOW", "calendar_year", "TIERS", retroTiers).Replace(plan), loadNetwork(t))
	l := chainLine("L1", "400000.00", "2026-02-01")
	l.Route.Referrer = ""
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	require.NotContains(t, string(b), "retroactive")
	var st settlement.State
	require.NoError(t, json.Unmarshal(b, &st))
	bin, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, st.UnmarshalBinary(bin))
}

// retroVersions is the reseller program in two versions: v1 pays 20% up
// to EUR 1,000,000.00 and 30% beyond until April 1, v2 25% and 35% from
// then on.
func retroVersions(t testing.TB) *settlement.Settler {
	t.Helper()
	node := func(low, high string) string {
		return `{id: root, children: [{id: reseller, party: seller, share: {cumulative: {of: seller, window: calendar_year, mode: retroactive, tiers: [{up_to: {amount: "1000000.00", currency: EUR}, rate: "` + low + `"}, {rate: "` + high + `"}]}}}, {id: platform, party: platform, share: remaining}]}`
	}
	return planSettler(t, `
- {id: program, version: 1, routes: [partner], currencies: [EUR], effective_until: 2026-04-01T00:00:00Z, root: `+node("20%", "30%")+`}
- {id: program, version: 2, routes: [partner], currencies: [EUR], effective_from: 2026-04-01T00:00:00Z, root: `+node("25%", "35%")+`}`, loadNetwork(t))
}

// TestRetroactiveTrueUpAfterPlanVersionChange: L1 and L2 of 400,000.00
// (Feb, Mar) are paid v1's 20% (80,000.00 each); L3 of 300,000.00 on
// April 2 (v2) crosses: it pays v2's 35% of itself (105,000.00) and a
// true-up of 35% − 20% = 15% of the 800,000.00 paid 20% (120,000.00), so
// the reseller holds v2's 35% of the year (385,000.00). Before, the record
// kept the tier and the true-up read v2's tier-1 rate (25%) as the rate
// paid: 80,000.00, 345,000.00 in all. A line of v2 below the crossing
// pays 25% and the record keeps the weighted rate.
func TestRetroactiveTrueUpAfterPlanVersionChange(t *testing.T) {
	s := retroVersions(t)
	lines := []settlement.Line{chainLine("L1", "400000.00", "2026-02-01"), chainLine("L2", "400000.00", "2026-03-01"), chainLine("L3", "300000.00", "2026-04-02")}
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	require.Equal(t, []string{"L3:root/reseller sub-utrecht earning 105000.00", "L3:root/platform platform earning 195000.00",
		"L3:root/reseller#trueup.2 sub-utrecht true_up 120000.00", "L3:root/reseller#trueup.2.funding platform true_up -120000.00"}, retroEntries(res.Entries, "L3"))
	got := byParty(res.Entries, settlement.KindEarning, settlement.KindTrueUp)
	requireMoney(t, got["sub-utrecht"], eur("385000.00"))
	requireMoney(t, sumEntries(res.Entries), eur("1100000.00"))

	// Two lines of 400,000.00 and 100,000.00 at v1's 20% and v2's 25%:
	// the record keeps 21% on 500,000.00, and a v2 crossing pays 14% of it.
	res, err = s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("M1", "400000.00", "2026-03-01"), chainLine("M2", "100000.00", "2026-04-02")})
	require.NoError(t, err)
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	require.Contains(t, string(b), `"tier":1,"base":{"amount":"500000.00","currency":"EUR"},"rate":"0.21"`)
	var back settlement.State
	bin, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, back.UnmarshalBinary(bin))
	require.JSONEq(t, string(b), string(mustJSON(t, back)))
	res, err = s.Settle(ctx, back, []settlement.Line{chainLine("M3", "600000.00", "2026-05-01")})
	require.NoError(t, err)
	require.Equal(t, []string{"M3:root/reseller sub-utrecht earning 210000.00", "M3:root/platform platform earning 390000.00",
		"M3:root/reseller#trueup.2 sub-utrecht true_up 70000.00", "M3:root/reseller#trueup.2.funding platform true_up -70000.00"}, retroEntries(res.Entries, "M3"))
}

// TestBinaryVersion18StillReads: a version-18 state (testdata/state-v18,
// L1 and L2 of 400,000.00 paid 20%, written before a retroactive record
// kept the rate it paid) reads as the JSON written with it, its record
// without a rate; the crossing line L3 reads the tier's rate (20%) as the
// rate paid, as before (true-up 80,000.00), and the state written again
// is version 19, its record with the rate (30%).
func TestBinaryVersion18StillReads(t *testing.T) {
	st := versionedState(t, 18)
	js := string(mustJSON(t, st))
	require.Contains(t, js, `"retroactive":[{"plan":"program","node":"root/reseller","tier":1,"base":{"amount":"800000.00","currency":"EUR"}}]`)
	res, err := retroSettler(t, "calendar_year", retroTiers).Settle(ctx, st, []settlement.Line{chainLine("L3", "300000.00", "2026-04-01")})
	require.NoError(t, err)
	require.Equal(t, []string{"L3:root/reseller sub-utrecht earning 90000.00", "L3:root/platform platform earning 210000.00",
		"L3:root/reseller#trueup.2 sub-utrecht true_up 80000.00", "L3:root/reseller#trueup.2.funding platform true_up -80000.00"}, retroEntries(res.Entries, "L3"))
	b, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(19), b[1])
	var back settlement.State
	require.NoError(t, back.UnmarshalBinary(b))
	require.Contains(t, string(mustJSON(t, back)), `"tier":2,"base":{"amount":"1100000.00","currency":"EUR"},"rate":"0.3"}]`)
}

// TestRetroactiveTrueUpReratesGrossSales documents what the true-up
// re-rates (README, RateMode): what the rate applied to as the lines were
// settled, which credits do not reduce, with volume net_of_credits too.
// L1 and L2 of 400,000.00, L1 credited 200,000.00 (the reseller gives
// back 40,000.00), L3 of 500,000.00 crosses (net volume 1,100,000.00):
// the true-up is 10% of 800,000.00, 80,000.00, not the 60,000.00 of all
// units on net sales.
func TestRetroactiveTrueUpReratesGrossSales(t *testing.T) {
	for _, window := range []string{"calendar_year", "calendar_year\n          volume: net_of_credits"} {
		s := planSettler(t, strings.NewReplacer("WINDOW", window, "TIERS", retroTiers).Replace(retroPlan), loadNetwork(t))
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "400000.00", "2026-02-01"), chainLine("L2", "400000.00", "2026-03-01")})
		require.NoError(t, err)
		cr := chainLine("C1", "-200000.00", "2026-03-15")
		cr.Credits = "L1"
		res, err = s.Settle(ctx, res.State, []settlement.Line{cr})
		require.NoError(t, err)
		requireMoney(t, byParty(res.Entries, settlement.KindClawback)["sub-utrecht"], eur("-40000.00"))
		res, err = s.Settle(ctx, res.State, []settlement.Line{chainLine("L3", "500000.00", "2026-04-01")})
		require.NoError(t, err, window)
		require.Equal(t, []string{"L3:root/reseller sub-utrecht earning 150000.00", "L3:root/platform platform earning 350000.00",
			"L3:root/reseller#trueup.2 sub-utrecht true_up 80000.00", "L3:root/reseller#trueup.2.funding platform true_up -80000.00"}, retroEntries(res.Entries, "L3"), window)
		require.Contains(t, string(mustJSON(t, res.State)), `"base":{"amount":"1300000.00","currency":"EUR"},"rate":"0.3"`)
	}
}
