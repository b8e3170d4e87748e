package settlement_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// retroPlan is a reseller program: the reseller (the route's seller) is
// paid 20% of the year's sales up to EUR 1,000,000.00 and, once they pass
// it, 30% on all of them, retroactively; the platform keeps the rest.
const retroPlan = `
id: program
version: 1
routes: [partner]
currencies: [EUR]
root:
  id: root
  children:
    - id: reseller
      party: seller
      share:
        cumulative:
          of: seller
          window: WINDOW
          mode: retroactive
          tiers: TIERS
    - {id: platform, party: platform, share: remaining}
`

const retroTiers = `
            - {up_to: {amount: "1000000.00", currency: EUR}, rate: "20%"}
            - {rate: "30%"}`

func retroSettler(t testing.TB, window, tiers string) *settlement.Settler {
	t.Helper()
	return planSettler(t, strings.NewReplacer("WINDOW", window, "TIERS", tiers).Replace(retroPlan), loadNetwork(t))
}

// retroEntries returns the entries of line id, as "party kind amount".
func retroEntries(es []settlement.Entry, id settlement.LineID) []string {
	var out []string
	for _, e := range es {
		if e.Line == id {
			out = append(out, string(e.ID)+" "+string(e.Party)+" "+e.Kind.String()+" "+e.Amount.AmountString())
		}
	}
	return out
}

// TestRetroactiveTierTrueUp: lines of 400,000.00, 400,000.00 and
// 300,000.00. The first two pay the reseller 20% (80,000.00 each); the
// third takes the year's sales to 1,100,000.00, past the 1,000,000.00
// boundary, so it pays 30% of itself (90,000.00) and a true-up of 10% of
// the 800,000.00 the earlier lines were paid 20% on (80,000.00), which the
// platform (the remaining sibling) funds: 330,000.00 in all, 30% of the
// year. Before, a cliff paid the third line 90,000.00 and never re-rated
// the first two (250,000.00), the README sending hosts to Adjust.
func TestRetroactiveTierTrueUp(t *testing.T) {
	s := retroSettler(t, "calendar_year", retroTiers)
	lines := []settlement.Line{chainLine("L1", "400000.00", "2026-02-01"), chainLine("L2", "400000.00", "2026-03-01"), chainLine("L3", "300000.00", "2026-04-01")}
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	require.Equal(t, []string{"L1:root/reseller sub-utrecht earning 80000.00", "L1:root/platform platform earning 320000.00"}, retroEntries(res.Entries, "L1"))
	require.Equal(t, []string{"L3:root/reseller sub-utrecht earning 90000.00", "L3:root/platform platform earning 210000.00",
		"L3:root/reseller#trueup.2 sub-utrecht true_up 80000.00", "L3:root/reseller#trueup.2.funding platform true_up -80000.00"}, retroEntries(res.Entries, "L3"))
	var up settlement.Entry
	for _, e := range res.Entries {
		if e.ID == "L3:root/reseller#trueup.2" {
			up = e
		}
	}
	require.Equal(t, "30% - 20% = 10% of EUR 800000.00 (true-up)", up.Share)
	require.Contains(t, up.Note, "true-up for crossing tier 2 on line L3")
	got := byParty(res.Entries, settlement.KindEarning, settlement.KindTrueUp)
	requireMoney(t, got["sub-utrecht"], eur("330000.00"))
	requireMoney(t, got["platform"], eur("770000.00"))
	requireMoney(t, sumEntries(res.Entries), eur("1100000.00")) // money conserved

	// The state keeps the tier and what it applied to, through JSON and
	// binary, so the next line pays 30% and no true-up again.
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	require.Contains(t, string(b), `"retroactive":[{"plan":"program","node":"root/reseller","tier":2,"base":{"amount":"1100000.00","currency":"EUR"},"rate":"0.3"}]`)
	var st settlement.State
	require.NoError(t, json.Unmarshal(b, &st))
	bin, err := res.State.MarshalBinary()
	require.NoError(t, err)
	var st2 settlement.State
	require.NoError(t, st2.UnmarshalBinary(bin))
	require.Equal(t, byte(settlement.BinaryVersion), bin[1])
	require.JSONEq(t, string(b), string(mustJSON(t, st2)))
	for _, from := range []settlement.State{res.State, st, st2} {
		next, err := s.Settle(ctx, from, []settlement.Line{chainLine("L4", "100000.00", "2026-05-01")})
		require.NoError(t, err)
		require.Equal(t, []string{"L4:root/reseller sub-utrecht earning 30000.00", "L4:root/platform platform earning 70000.00"}, retroEntries(next.Entries, "L4"))
		// Re-sent, the crossing line is a retry: nothing is paid twice.
		_, err = s.Settle(ctx, next.State, []settlement.Line{lines[2]})
		require.ErrorIs(t, err, settlement.ErrAlreadySettled)
		require.NotErrorIs(t, err, settlement.ErrLineConflict)
	}
}

// TestRetroactiveTierEdges: a year's sales exactly at the boundary stay
// in its tier (up_to is inclusive), and the next cent crosses; one line
// crossing two boundaries pays one true-up from the tier paid to the tier
// reached; a new year starts again at tier 1 with nothing to re-rate.
func TestRetroactiveTierEdges(t *testing.T) {
	t.Run("exactly at the boundary", func(t *testing.T) {
		s := retroSettler(t, "calendar_year", retroTiers)
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "600000.00", "2026-02-01"), chainLine("L2", "400000.00", "2026-03-01"),
			chainLine("L3", "0.10", "2026-04-01")})
		require.NoError(t, err)
		require.Equal(t, []string{"L2:root/reseller sub-utrecht earning 80000.00", "L2:root/platform platform earning 320000.00"}, retroEntries(res.Entries, "L2"))
		require.Equal(t, []string{"L3:root/reseller sub-utrecht earning 0.03", "L3:root/platform platform earning 0.07",
			"L3:root/reseller#trueup.2 sub-utrecht true_up 100000.00", "L3:root/reseller#trueup.2.funding platform true_up -100000.00"}, retroEntries(res.Entries, "L3"))
	})
	t.Run("two boundaries in one line", func(t *testing.T) {
		s := retroSettler(t, "calendar_year", `
            - {up_to: {amount: "1000.00", currency: EUR}, rate: "10%"}
            - {up_to: {amount: "2000.00", currency: EUR}, rate: "15%"}
            - {rate: "25%"}`)
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "333.33", "2026-02-01"), chainLine("L2", "2000.00", "2026-03-01")})
		require.NoError(t, err)
		// 25% of 2,000.00, and (25% − 10%) × 333.33 = 49.9995, rounded once.
		require.Equal(t, []string{"L2:root/reseller sub-utrecht earning 500.00", "L2:root/platform platform earning 1500.00",
			"L2:root/reseller#trueup.3 sub-utrecht true_up 50.00", "L2:root/reseller#trueup.3.funding platform true_up -50.00"}, retroEntries(res.Entries, "L2"))
		got := byParty(res.Entries, settlement.KindEarning, settlement.KindTrueUp)
		requireMoney(t, got["sub-utrecht"], eur("583.33")) // 33.33 + 500.00 + 50.00 (25% of 2,333.33 is 583.3325)
	})
	t.Run("a new window starts fresh", func(t *testing.T) {
		s := retroSettler(t, "calendar_quarter", retroTiers)
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "900000.00", "2026-02-01"), chainLine("L2", "200000.00", "2026-03-01"),
			chainLine("L3", "900000.00", "2026-04-01"), chainLine("L4", "200000.00", "2026-05-01")})
		require.NoError(t, err)
		require.Len(t, retroEntries(res.Entries, "L2"), 4) // Q1's crossing: a true-up of 90,000.00
		require.Equal(t, []string{"L3:root/reseller sub-utrecht earning 180000.00", "L3:root/platform platform earning 720000.00"}, retroEntries(res.Entries, "L3"))
		require.Equal(t, []string{"L4:root/reseller sub-utrecht earning 60000.00", "L4:root/platform platform earning 140000.00",
			"L4:root/reseller#trueup.2 sub-utrecht true_up 90000.00", "L4:root/reseller#trueup.2.funding platform true_up -90000.00"}, retroEntries(res.Entries, "L4"))
	})
	t.Run("lines in a call and across calls agree", func(t *testing.T) {
		s := retroSettler(t, "calendar_year", retroTiers)
		var st settlement.State
		var all []settlement.Entry
		for _, l := range []settlement.Line{chainLine("L1", "400000.00", "2026-02-01"), chainLine("L2", "400000.00", "2026-03-01"), chainLine("L3", "300000.00", "2026-04-01")} {
			res, err := s.Settle(ctx, st, []settlement.Line{l})
			require.NoError(t, err)
			st, all = res.State, append(all, res.Entries...)
		}
		requireMoney(t, byParty(all, settlement.KindEarning, settlement.KindTrueUp)["sub-utrecht"], eur("330000.00"))
	})
}

// TestRetroactiveTierCreditKeepsTheTier: a credit of an earlier line after
// the true-up claws back that line's own earning at the rate it was paid
// (20%), not the true-up, and the tier reached is kept: with volume
// net_of_credits taking the year back below the boundary, a later line
// still pays 30% and no true-up is paid again.
func TestRetroactiveTierCreditKeepsTheTier(t *testing.T) {
	s := planSettler(t, strings.NewReplacer("WINDOW", "calendar_year\n          volume: net_of_credits", "TIERS", retroTiers).Replace(retroPlan), loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "400000.00", "2026-02-01"), chainLine("L2", "400000.00", "2026-03-01"),
		chainLine("L3", "300000.00", "2026-04-01")})
	require.NoError(t, err)
	cr := chainLine("C1", "-400000.00", "2026-05-01")
	cr.Credits = "L1"
	res, err = s.Settle(ctx, res.State, []settlement.Line{cr})
	require.NoError(t, err)
	requireMoney(t, byParty(res.Entries, settlement.KindClawback)["sub-utrecht"], eur("-80000.00"))
	res, err = s.Settle(ctx, res.State, []settlement.Line{chainLine("L4", "100000.00", "2026-06-01")})
	require.NoError(t, err)
	require.Equal(t, []string{"L4:root/reseller sub-utrecht earning 30000.00", "L4:root/platform platform earning 70000.00"}, retroEntries(res.Entries, "L4"))
}

// TestRetroactiveTierRefusals: a retroactive share is a leaf paying one
// party over a calendar window, without cap or floor.
func TestRetroactiveTierRefusals(t *testing.T) {
	plans, err := settlement.ParsePlans([]byte(strings.NewReplacer("WINDOW", "rolling_12_months", "TIERS", retroTiers).Replace(retroPlan)))
	require.NoError(t, err)
	_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)})
	require.ErrorContains(t, err, "a retroactive share adds up a calendar window")
	var m settlement.RateMode
	require.NoError(t, m.UnmarshalText([]byte("retroactive")))
	require.Equal(t, settlement.Retroactive, m)
}

// TestBinaryVersion16StillReads: a version-16 state (testdata/state-v16,
// written by the library before retroactive tiers: a cliff's calendar
// year of 1,100.00 for dev-1) reads as the JSON written with it, with no
// retroactive record; a retroactive plan reading its volume pays the tier
// it reaches (30%) and re-rates nothing it has no record of, and the state
// written again is version 19 and keeps the record, with the rate paid.
func TestBinaryVersion16StillReads(t *testing.T) {
	st := versionedState(t, 16)
	s := planSettler(t, strings.NewReplacer("WINDOW", "calendar_year", "MODE", "retroactive").Replace(appStorePlan), loadNetwork(t))
	res, err := s.Settle(ctx, st, []settlement.Line{appLine("L3", "100.00", "2026-03-10")})
	require.NoError(t, err)
	require.Equal(t, []string{"L3:root/commission platform earning 30.00", "L3:root/developer dev-1 earning 70.00"}, retroEntries(res.Entries, "L3"))
	b, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(settlement.BinaryVersion), b[1])
	var again settlement.State
	require.NoError(t, again.UnmarshalBinary(b))
	require.Contains(t, string(mustJSON(t, again)), `"retroactive":[{"plan":"appstore","node":"root/commission","tier":2,"base":{"amount":"100.00","currency":"EUR"},"rate":"0.3"}]`)
}

// TestRetroactiveTierStatementsMetricsExplain: statements fold the
// true-ups into what each party earned (the reseller 330,000.00, the
// platform 770,000.00, payable alike), metrics count them as value moved
// between the line's parties (gross 1,100,000.00, the platform's revenue
// 770,000.00), and Explain shows them under their nodes with why.
func TestRetroactiveTierStatementsMetricsExplain(t *testing.T) {
	s := retroSettler(t, "calendar_year", retroTiers)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "400000.00", "2026-02-01"), chainLine("L2", "400000.00", "2026-03-01"),
		chainLine("L3", "300000.00", "2026-04-01")})
	require.NoError(t, err)
	year := ensemble.MustPeriod(date("2026-01-01"), date("2027-01-01"))
	sts, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: year})
	require.NoError(t, err)
	want := map[partner.ID]string{"sub-utrecht": "330000.00", "platform": "770000.00"}
	require.Len(t, sts, 2)
	for _, st := range sts {
		require.NoError(t, st.Check())
		requireMoney(t, st.Earned, eur(want[st.Party]), string(st.Party))
		requireMoney(t, st.Payable, eur(want[st.Party]), string(st.Party))
		x, err := settlement.ExplainStatement(st, res.Entries)
		require.NoError(t, err)
		require.Contains(t, x, "for crossing tier 2 on line L3")
	}
	ms, err := settlement.ComputeMetrics(res.Entries, year, "platform")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	requireMoney(t, ms[0].GrossValue, eur("1100000.00"))
	requireMoney(t, ms[0].PlatformRevenue, eur("770000.00"))
	requireMoney(t, ms[0].PartnerEarnings, eur("330000.00"))
	require.Len(t, ms[0].BySeller, 1) // the seller's margin: what the platform kept of its sales
	requireMoney(t, ms[0].BySeller[0].Gross, eur("1100000.00"))
	requireMoney(t, ms[0].BySeller[0].Platform, eur("770000.00"))
	x, err := settlement.Explain("L3", res.Entries)
	require.NoError(t, err)
	require.Contains(t, x, "line L3  EUR 300000.00")
	require.Contains(t, x, "true-up for crossing tier 2 on line L3: the window's earlier lines were paid 20% (tier 1) on EUR 800000.00; 30% (tier 2) applies to all of them")
	require.Contains(t, x, "funds the true-up of reseller for crossing tier 2 on line L3")
	t.Log(x)
}

// TestPropertyRetroactiveTiersPayTheFinalRateOnTheWholeWindow: whatever
// the tiers, the lines and how they are cut into calls, once a year's
// lines are settled with no credit, the reseller's earnings and true-ups
// add up to the rate of the tier the year's volume reached times the
// year's volume (whole euros at whole percents: exact); every line's
// entries add up to its basis (a true-up moves money, it creates none);
// each boundary crossed is paid once, and a reseller's true-up is never
// negative.
func TestPropertyRetroactiveTiersPayTheFinalRateOnTheWholeWindow(t *testing.T) {
	rs, net := loadRules(t), loadNetwork(t)
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(t, "tiers")
		var tiers strings.Builder
		bound, rate := int64(0), 0
		rates := make([]int, n)
		bounds := make([]int64, n)
		for i := range n {
			rate += rapid.IntRange(0, 10).Draw(t, "rate step")
			rates[i] = rate
			if i == n-1 {
				fmt.Fprintf(&tiers, "\n            - {rate: \"%d%%\"}", rate)
				continue
			}
			bound += rapid.Int64Range(1, 3000).Draw(t, "bound step")
			bounds[i] = bound * 100
			fmt.Fprintf(&tiers, "\n            - {up_to: {amount: \"%d.00\", currency: EUR}, rate: \"%d%%\"}", bound, rate)
		}
		plans, err := settlement.ParsePlans([]byte(strings.NewReplacer("WINDOW", "calendar_year", "TIERS", tiers.String()).Replace(retroPlan)))
		require.NoError(t, err)
		s, err := settlement.New(settlement.Config{Plans: plans, Rules: rs, Network: net})
		require.NoError(t, err)
		var lines []settlement.Line
		var total int64
		for i := range rapid.IntRange(1, 12).Draw(t, "lines") {
			eurs := rapid.Int64Range(0, 4000).Draw(t, "euros")
			total += eurs * 100
			lines = append(lines, chainLine(fmt.Sprintf("L%02d", i), fmt.Sprintf("%d.00", eurs), fmt.Sprintf("2026-%02d-01", 1+i%12)))
		}
		var st settlement.State
		var all []settlement.Entry
		for rest := lines; len(rest) > 0; {
			k := rapid.IntRange(1, len(rest)).Draw(t, "call")
			res, err := s.Settle(ctx, st, rest[:k])
			require.NoError(t, err)
			st, all, rest = res.State, append(all, slices.Clone(res.Entries)...), rest[k:]
		}
		final := 0
		for final < n-1 && total > bounds[final] {
			final++
		}
		var got int64
		ups := map[settlement.EntryID]bool{}
		for _, e := range all {
			if e.Party == "sub-utrecht" {
				got += minorOf(e.Amount)
			}
			if e.Kind == settlement.KindTrueUp && e.Party == "sub-utrecht" {
				require.True(t, e.Amount.IsPositive(), "%s", e.ID)
				id := string(e.ID[strings.Index(string(e.ID), "#"):])
				require.False(t, ups[settlement.EntryID(id)], "tier paid twice: %s", e.ID)
				ups[settlement.EntryID(id)] = true
			}
		}
		require.Equal(t, int64(rates[final])*total/100, got, "reseller paid %d, the final rate %d%% of %d", got, rates[final], total)
		for _, l := range lines {
			var sum int64
			for _, e := range all {
				if e.Line == l.ID {
					sum += minorOf(e.Amount)
				}
			}
			require.Equal(t, minorOf(l.Amount), sum, "line %s", l.ID)
		}
	})
}

// TestPropertyReferenceRetroactive runs the reference machine
// (reference_property_test.go) over reseller programs with a retroactive
// share: tiers a few lines cross, a calendar window, volumes of sales or
// net of credits, a condition that fails on large lines, and the true-up
// funded by a remaining leaf (the platform or the top of the chain) or by
// the platform when the remaining sibling splits further. Entries, errors
// and states agree byte for byte with the reference's, through credits,
// disputes, collections and reloads. The plan lists EUR, any currency
// (a SEK line, which the tiers in EUR do not count converted, is refused
// by both when settled) or EUR and SEK, which New refuses
// (*RetroactiveCurrencyError). A third of the programs have a second
// version from April 1 with tiers of its own.
func TestPropertyReferenceRetroactive(t *testing.T) {
	net := loadNetwork(t)
	wide := loadRules(t, wideRules, refRules)
	rapid.Check(t, func(t *rapid.T) {
		drawTiers := func() string {
			var tiers strings.Builder
			bound := int64(0)
			n := rapid.IntRange(2, 4).Draw(t, "tiers")
			for i := range n {
				rate := rapid.SampledFrom([]string{"0%", "5%", "1/7", "20%", "30%"}).Draw(t, "rate")
				if i == n-1 {
					fmt.Fprintf(&tiers, "\n            - {rate: %q}", rate)
					continue
				}
				bound += rapid.Int64Range(1, 900).Draw(t, "bound step")
				fmt.Fprintf(&tiers, "\n            - {up_to: {amount: \"%d.%02d\", currency: EUR}, rate: %q}", bound, rapid.IntRange(0, 99).Draw(t, "cents"), rate)
			}
			return tiers.String()
		}
		tiers := drawTiers()
		// A second version from April 1, with tiers of its own (other
		// rates, other bounds): its true-ups re-rate from the rate the
		// window's lines were paid, whichever version paid it.
		var tiers2 string
		if rapid.IntRange(0, 2).Draw(t, "versions") == 0 {
			tiers2 = drawTiers()
		}
		window := rapid.SampledFrom([]string{"calendar_year", "calendar_quarter", "calendar_month"}).Draw(t, "window")
		if rapid.Bool().Draw(t, "net") {
			window += "\n          volume: net_of_credits"
		}
		cond := ""
		if rapid.IntRange(0, 3).Draw(t, "condition") == 0 {
			cond = "\n      condition: ref-missing-key"
		}
		funder := rapid.SampledFrom([]string{
			"    - {id: platform, party: platform, share: remaining}",
			"    - {id: referral, party: referrer, share: \"5%\"}\n    - {id: top, party: top, share: remaining}",
			"    - id: rest\n      share: remaining\n      children:\n        - {id: platform, party: platform, share: \"50%\"}\n        - {id: top, party: top, share: remaining}",
		}).Draw(t, "funder")
		// The plan's currencies: EUR, its tiers', only; any (a SEK line
		// is refused when settled, by both); or EUR and SEK, which New
		// refuses up front (a retroactive share converts no line).
		currencies := rapid.SampledFrom([]string{"[EUR]", "[]", "[EUR, SEK]"}).Draw(t, "currencies")
		version := func(v int, when, tiers string) string {
			return `
id: program
version: ` + fmt.Sprint(v) + when + `
routes: [partner]
currencies: ` + currencies + `
root:
  id: root
  children:
    - id: reseller
      party: seller` + cond + `
      fallback: ` + rapid.SampledFrom([]string{"remaining", "platform"}).Draw(t, "fallback") + `
      share:
        cumulative:
          of: seller
          window: ` + window + `
          mode: retroactive
          tiers: ` + tiers + "\n" + funder + "\n"
		}
		plans, err := settlement.ParsePlans([]byte(version(1, "", tiers)))
		if tiers2 != "" {
			plans, err = settlement.ParsePlans([]byte(version(1, "\neffective_until: 2026-04-01T00:00:00Z", tiers)))
			require.NoError(t, err)
			v2, err2 := settlement.ParsePlans([]byte(version(2, "\neffective_from: 2026-04-01T00:00:00Z", tiers2)))
			require.NoError(t, err2)
			plans = append(plans, v2...)
		}
		require.NoError(t, err)
		sekEUR := ensemble.ExchangeRates{{From: ensemble.MustCurrency("SEK"), To: ensemble.MustCurrency("EUR"), Rate: ensemble.MustRatio("1/11")}}
		cfg := settlement.Config{Plans: plans, Rules: wide, Network: net, Rates: sekEUR}
		s, err := settlement.New(cfg)
		if currencies == "[EUR, SEK]" {
			var re *settlement.RetroactiveCurrencyError
			require.ErrorAs(t, err, &re)
			require.Equal(t, "root/reseller", re.Node)
			require.Equal(t, []ensemble.Currency{ensemble.MustCurrency("SEK")}, re.Currencies)
			return
		}
		require.NoError(t, err)
		sellers := []string{"sub-utrecht", "reseller-nl"}
		w := refWorld{cfg: cfg, line: func(t *rapid.T, id string) settlement.Line {
			l := chainLine(id, fmt.Sprintf("%d.%02d", rapid.Int64Range(0, 700).Draw(t, id+".euros"), rapid.IntRange(0, 99).Draw(t, id+".cents")),
				fmt.Sprintf("2026-%02d-%02d", rapid.IntRange(1, 6).Draw(t, id+".month"), rapid.IntRange(1, 28).Draw(t, id+".day")))
			if currencies == "[]" && rapid.IntRange(0, 5).Draw(t, id+".sek") == 0 {
				l.Amount, l.Tax = ensemble.MoneyFromMinor(minorOf(l.Amount), ensemble.MustCurrency("SEK")), ensemble.MustMoney("0", "SEK")
			}
			if rapid.SampledFrom(sellers).Draw(t, id+".seller") == "reseller-nl" {
				l.Route = partner.Route{Kind: partner.RoutePartner, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl", "distri-eu"}}
			}
			return l
		}}
		m := &refMachine{world: w, real: s, ref: newRefSettler(cfg), now: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}
		t.Repeat(map[string]func(*rapid.T){
			"settle":      m.settle,
			"settle more": m.settle,
			"credit":      m.credit,
			"dispute":     m.dispute,
			"resolve":     m.resolve,
			"reload":      m.reload,
			"":            m.check,
		})
	})
}

// TestRetroactiveTierShardsAndRejections: a state split by partner carries
// the record with the partner's volume, so the part settles the crossing
// with its true-up as the whole state does; a line SettleWhatYouCan
// rejects leaves no record, so the crossing line after it still re-rates
// the year from tier 1.
func TestRetroactiveTierShardsAndRejections(t *testing.T) {
	s := retroSettler(t, "calendar_year", retroTiers)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "400000.00", "2026-02-01"), chainLine("L2", "400000.00", "2026-03-01")})
	require.NoError(t, err)
	part := res.State.SplitByPartner(func(p partner.ID) bool { return p == "sub-utrecht" })
	crossing := chainLine("L3", "300000.00", "2026-04-01")
	whole, err := s.Settle(ctx, res.State, []settlement.Line{crossing})
	require.NoError(t, err)
	split, err := s.Settle(ctx, part, []settlement.Line{crossing})
	require.NoError(t, err)
	require.Equal(t, retroEntries(whole.Entries, "L3"), retroEntries(split.Entries, "L3"))
	require.Len(t, retroEntries(split.Entries, "L3"), 4)

	// A crossing line rejected (its chain names an unknown partner) pays
	// and records nothing: the next line crosses and re-rates the year.
	bad := chainLine("L3", "300000.00", "2026-04-01")
	bad.Route.Chain = []partner.ID{"sub-utrecht", "reseller-nl", "nobody-known"}
	rej, err := s.SettleWhatYouCan(ctx, res.State, []settlement.Line{bad, chainLine("L4", "300000.00", "2026-05-01")})
	require.NoError(t, err)
	require.Len(t, rej.Rejections, 1)
	require.Equal(t, []string{"L4:root/reseller sub-utrecht earning 90000.00", "L4:root/platform platform earning 210000.00",
		"L4:root/reseller#trueup.2 sub-utrecht true_up 80000.00", "L4:root/reseller#trueup.2.funding platform true_up -80000.00"}, retroEntries(rej.Entries, "L4"))
}
