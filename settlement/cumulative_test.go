package settlement_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

const appStorePlan = `
id: appstore
version: 1
routes: [marketplace]
root:
  id: root
  children:
    - id: commission
      party: platform
      fallback: platform
      share:
        cumulative:
          of: seller
          window: WINDOW
          mode: MODE
          tiers:
            - {up_to: {amount: "1000.00", currency: EUR}, rate: "15%"}
            - {rate: "30%"}
    - {id: developer, party: seller, share: remaining}
`

func appLine(id, amount, day string) settlement.Line {
	return settlement.Line{ID: settlement.LineID(id), Date: date(day), Amount: eur(amount),
		Offer: catalog.Pin{Offer: "app", Version: 1}, Route: partner.Route{Kind: partner.RouteMarketplace, Chain: []partner.ID{"dev-1"}}}
}

func TestCumulativeRates(t *testing.T) {
	lines := []settlement.Line{
		appLine("L1", "900.00", "2026-01-10"),
		appLine("L2", "200.00", "2026-02-10"), // crosses EUR 1,000 mid-line
		appLine("L3", "100.00", "2026-03-10"),
		appLine("L4", "100.00", "2027-01-05"), // a new calendar year starts over
	}
	tests := []struct {
		mode, window string
		want         []string // platform per line
	}{
		// marginal: L2 = 100 × 15% + 100 × 30% = 45
		{"marginal", "calendar_year", []string{"135.00", "45.00", "30.00", "15.00"}},
		// cliff: L2 reaches 1,100, so all of it at 30%
		{"cliff", "calendar_year", []string{"135.00", "60.00", "30.00", "15.00"}},
		// rolling 12 months: on 2027-01-05 the 2026 lines still count
		{"marginal", "rolling_12_months", []string{"135.00", "45.00", "30.00", "30.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.mode+" "+tc.window, func(t *testing.T) {
			plan := strings.NewReplacer("WINDOW", tc.window, "MODE", tc.mode).Replace(appStorePlan)
			s := planSettler(t, plan, loadNetwork(t))
			// Given in reverse: canonical order applies them by date.
			rev := slices.Clone(lines)
			slices.Reverse(rev)
			res, err := s.Settle(ctx, settlement.State{}, rev)
			require.NoError(t, err)
			for i, l := range lines {
				var got ensemble.Money
				for _, e := range res.Entries {
					if e.Line == l.ID && e.Party == "platform" {
						got = e.Amount
					}
				}
				requireMoney(t, got, eur(tc.want[i]), l.ID)
			}
			// Split across calls with the state carried: same result.
			var all []settlement.Entry
			st := settlement.State{}
			for _, l := range lines {
				r, err := s.Settle(ctx, st, []settlement.Line{l})
				require.NoError(t, err)
				all = append(all, r.Entries...)
				// The state is a JSON value.
				b, err := json.Marshal(r.State)
				require.NoError(t, err)
				st = settlement.State{}
				require.NoError(t, json.Unmarshal(b, &st))
			}
			requireEntries(t, all, res.Entries)
			vol := st.Volume("dev-1", ensemble.MustCurrency("EUR"), settlement.WindowCalendarYear, date("2026-12-31"))
			if tc.window == "calendar_year" {
				requireMoney(t, vol, eur("1200.00"))
			}
		})
	}
}

// TestCumulativeStateGivenAgain settles from one state with volumes
// several times, through a settler whose pooled calls reuse their memory:
// each call reads the volumes the state holds and adds to copies of them,
// so every call from the state gives the same entries and volumes, and the
// state is as it was, also through calls that reject a line between two
// they settle.
func TestCumulativeStateGivenAgain(t *testing.T) {
	for _, window := range []string{"calendar_year", "rolling_12_months"} {
		t.Run(window, func(t *testing.T) {
			plan := strings.NewReplacer("WINDOW", window, "MODE", "marginal").Replace(appStorePlan)
			s := planSettler(t, plan, loadNetwork(t))
			first, err := s.Settle(ctx, settlement.State{}, []settlement.Line{appLine("L1", "600.00", "2026-01-10"), appLine("L2", "300.00", "2026-01-11")})
			require.NoError(t, err)
			held, err := json.Marshal(first.State)
			require.NoError(t, err)
			next := []settlement.Line{appLine("L3", "50.00", "2026-02-10"), appLine("L4", "100.00", "2026-02-11")}
			bad := appLine("L3b", "10.00", "2026-02-10")
			bad.Amount = ensemble.MustMoney("10.00", "USD") // no rate to the tiers' EUR: rejected between L3 and L4
			var want []settlement.Entry
			for i := range 4 {
				var res settlement.Result
				if i%2 == 0 {
					res, err = s.Settle(ctx, first.State, next)
				} else {
					res, err = s.SettleWhatYouCan(ctx, first.State, append(slices.Clone(next), bad))
					require.Len(t, res.Rejections, 1)
				}
				require.NoError(t, err)
				if i == 0 {
					want = res.Entries
				}
				requireEntries(t, res.Entries, want)
				// L4 crosses EUR 1,000: 50 at 15% and 50 at 30%.
				requireMoney(t, platformOf(res.Entries, "L4"), eur("22.50"))
				requireMoney(t, res.State.Volume("dev-1", ensemble.MustCurrency("EUR"), settlement.WindowCalendarYear, date("2026-12-31")), eur(map[bool]string{true: "1050.00", false: "0"}[window == "calendar_year"]))
				now, err := json.Marshal(first.State)
				require.NoError(t, err)
				require.JSONEq(t, string(held), string(now), "call %d changed the state it was given", i)
			}
		})
	}
}

// platformOf returns what line id paid the platform among entries.
func platformOf(entries []settlement.Entry, id settlement.LineID) ensemble.Money {
	var got ensemble.Money
	for _, e := range entries {
		if e.Line == id && e.Party == "platform" {
			got = e.Amount
		}
	}
	return got
}

// requireEntries compares entries with cmp.Diff, which honours the Equal
// methods of Money, Ratio and time.Time.
func requireEntries(t require.TestingT, got, want []settlement.Entry) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		require.Fail(t, "entries differ (-want +got)", "%s", d)
	}
}

func TestVolumeFactsReachRules(t *testing.T) {
	plan := `
id: loyal
version: 1
routes: [marketplace]
root:
  id: root
  children:
    - id: commission
      party: platform
      fallback: platform
      share: {cumulative: {tiers: [{rate: "30%"}]}}
    - {id: loyalty, party: seller, condition: loyal-seller, share: "5%"}
    - {id: rest, party: seller, share: remaining}
`
	rule := "id: loyal-seller\nversion: 1\nkind: condition\nenv_version: 1\nexpression: 'volume.amount >= money(\"1000\", line.currency)'\n"
	s := planSettler(t, plan, loadNetwork(t), rule)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{appLine("L1", "1000.00", "2026-01-10"), appLine("L2", "100.00", "2026-01-11")})
	require.NoError(t, err)
	var loyalty []settlement.EntryID
	for _, e := range res.Entries {
		if e.Node == "root/loyalty" {
			loyalty = append(loyalty, e.ID)
			require.Equal(t, "loyal-seller", e.Rules[0].ID)
		}
	}
	require.Equal(t, []settlement.EntryID{"L2:root/loyalty"}, loyalty, "only after EUR 1,000 of volume")
}

const resalePlan = `
id: resale
version: 1
root:
  id: root
  children:
    - id: bonus
      party: reseller
      fallback: FALLBACK
      share:
        cumulative:
          of: reseller
          tiers:
            - {up_to: {amount: "1000.00", currency: EUR}, rate: "10%"}
            - {rate: "20%"}
    - {id: platform, party: platform, share: remaining}
`

// TestCumulativeShareOfAnAbsentRole: a direct sale has no reseller, so a
// cumulative reseller share reads nobody's volume and follows its fallback
// like any share whose party is absent (it used to fail every such line).
// With fallback platform the platform takes the share at the rate of a
// volume of zero (10% of EUR 500.00 = EUR 50.00) and the remaining EUR
// 450.00; with the default fallback the remaining sibling takes it all. No
// volume accrues to nobody; the reseller's own sale reads and grows its
// volume as before (10% of EUR 800.00).
func TestCumulativeShareOfAnAbsentRole(t *testing.T) {
	direct := settlement.Line{ID: "D1", Date: date("2026-03-01"), Amount: eur("500.00"), Offer: catalog.Pin{Offer: "app", Version: 1},
		Route: partner.Route{Kind: partner.RouteDirect}}
	resold := settlement.Line{ID: "P1", Date: date("2026-03-02"), Amount: eur("800.00"), Offer: catalog.Pin{Offer: "app", Version: 1},
		Route: partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{"reseller-nl", "distri-eu"}}}
	type paid struct {
		id     settlement.EntryID
		party  partner.ID
		amount string
		note   string
	}
	tests := []struct {
		fallback string
		want     []paid
	}{
		{"platform", []paid{
			{"D1:root/bonus", "platform", "50.00", "fallback to platform: the route's chain has no reseller"},
			{"D1:root/platform", "platform", "450.00", ""},
			{"P1:root/bonus", "reseller-nl", "80.00", ""},
			{"P1:root/platform", "platform", "720.00", ""},
		}},
		{"remaining", []paid{
			{"D1:root/platform", "platform", "500.00", "includes the share of bonus, which cannot be paid: the route's chain has no reseller"},
			{"P1:root/bonus", "reseller-nl", "80.00", ""},
			{"P1:root/platform", "platform", "720.00", ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.fallback, func(t *testing.T) {
			s := planSettler(t, strings.ReplaceAll(resalePlan, "FALLBACK", tc.fallback), loadNetwork(t))
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold, direct})
			require.NoError(t, err)
			require.Len(t, res.Entries, len(tc.want))
			for i, w := range tc.want {
				e := res.Entries[i]
				require.Equal(t, w.id, e.ID)
				require.Equal(t, w.party, e.Party, e.ID)
				requireMoney(t, e.Amount, eur(w.amount), e.ID)
				require.Equal(t, w.note, e.Note, e.ID)
			}
			b, err := json.Marshal(res.State)
			require.NoError(t, err)
			var st struct{ Volumes []settlement.VolumeState }
			require.NoError(t, json.Unmarshal(b, &st))
			require.Len(t, st.Volumes, 1, "only the reseller's volume: %s", b)
			require.Equal(t, partner.ID("reseller-nl"), st.Volumes[0].Partner)
			requireMoney(t, st.Volumes[0].Amount, eur("800.00"))
		})
	}
}

// TestTierBreakdown: a line that crosses a tier boundary says what each
// tier took of it, instead of a bare effective rate. The developer's
// volume is EUR 999,800.00 when a EUR 500.00 line comes: EUR 200.00 at 15%
// up to EUR 1,000,000.00 and EUR 300.00 at 30% above, EUR 120.00 in all,
// 24% of the line. A line within one tier keeps its tier's text.
func TestTierBreakdown(t *testing.T) {
	plan := strings.NewReplacer("WINDOW", "calendar_year", "MODE", "marginal", `"1000.00"`, `"1000000.00"`).Replace(appStorePlan)
	s := planSettler(t, plan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{appLine("L1", "999800.00", "2026-01-10"), appLine("L2", "500.00", "2026-02-10")})
	require.NoError(t, err)
	got := map[settlement.EntryID]settlement.Entry{}
	for _, e := range res.Entries {
		got[e.ID] = e
	}
	require.Equal(t, "15% (marginal over 1 tier(s), volume before EUR 0.00)", got["L1:root/commission"].Share)
	requireMoney(t, got["L1:root/commission"].Amount, eur("149970.00"))
	c := got["L2:root/commission"]
	require.Equal(t, "15% of EUR 200.00 + 30% of EUR 300.00 = 24% of EUR 500.00 (tiers 1-2, volume before EUR 999800.00)", c.Share)
	requireMoney(t, c.Amount, eur("120.00"))
	requireMoney(t, got["L2:root/developer"].Amount, eur("380.00"))
	out, err := settlement.Explain("L2", res.Entries)
	require.NoError(t, err)
	require.Contains(t, out, "15% of EUR 200.00 + 30% of EUR 300.00 = 24% of EUR 500.00")
}

const netPlan = `
id: resale
version: 1
root:
  id: root
  children:
    - id: bonus
      party: reseller
      share:
        cumulative:
          of: reseller
          window: WINDOW
          volume: VOLUME
          tiers:
            - {up_to: {amount: "1000.00", currency: EUR}, rate: "5%"}
            - {rate: "10%"}
    - {id: platform, party: platform, share: remaining}
`

// TestRefundsReduceVolume: with volume net_of_credits a refund takes the
// reseller back below its bonus threshold, so its next line pays the lower
// rate; a lost dispute takes back the rest of the line. By hand:
//
//	L1 Mar 2   EUR 1,200.00  5% of 1,000 + 10% of 200 = EUR 70.00   volume 1,200
//	C1 Mar 10  credits EUR 400.00 of L1                            net: 800    sales: 1,200
//	L2 Mar 15  EUR 100.00    net: 5% = EUR 5.00  (volume 800)      sales: 10% = EUR 10.00
//	L1's dispute lost on Mar 18: the remaining EUR 800.00 of L1    net: 100    sales: 1,300
//	L3 Mar 20  EUR 950.00    net: 5% of 900 + 10% of 50 = EUR 50.00             sales: 10% = EUR 95.00
func TestRefundsReduceVolume(t *testing.T) {
	tests := []struct {
		volume, window string
		l2, l3         string
		after          [3]string // the volume after C1, the dispute and L3
	}{
		{"net_of_credits", "calendar_year", "5.00", "50.00", [3]string{"800.00", "100.00", "1050.00"}},
		{"net_of_credits", "rolling_12_months", "5.00", "50.00", [3]string{"800.00", "100.00", "1050.00"}},
		{"net_of_credits", "calendar_quarter", "5.00", "50.00", [3]string{"800.00", "100.00", "1050.00"}},
		{"net_of_credits", "calendar_month", "5.00", "50.00", [3]string{"800.00", "100.00", "1050.00"}},
		{"sales", "calendar_year", "10.00", "95.00", [3]string{"1200.00", "1300.00", "2250.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.volume+" "+tc.window, func(t *testing.T) {
			s := planSettler(t, strings.NewReplacer("WINDOW", tc.window, "VOLUME", tc.volume).Replace(netPlan), loadNetwork(t))
			bonus := func(res settlement.Result, line settlement.LineID) ensemble.Money {
				for _, e := range res.Entries {
					if e.Line == line && e.Node == "root/bonus" && e.Kind == settlement.KindEarning {
						return e.Amount
					}
				}
				t.Fatalf("no bonus on %s", line)
				return ensemble.Money{}
			}
			volume := func(st settlement.State) ensemble.Money {
				// The state read back from JSON says the same.
				st = requireStateRoundTrips(t, st, nil)
				return st.Volume("reseller-nl", ensemble.MustCurrency("EUR"), volumeWindow(tc.window), date("2026-03-31"))
			}
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "EUR", "2026-03-02")})
			require.NoError(t, err)
			requireMoney(t, bonus(res, "L1"), eur("70.00"))
			res, err = s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-400.00", "2026-03-10")})
			require.NoError(t, err)
			requireMoney(t, volume(res.State), eur(tc.after[0]), "after the credit")
			res, err = s.Settle(ctx, res.State, []settlement.Line{resold("L2", "100.00", "EUR", "2026-03-15")})
			require.NoError(t, err)
			requireMoney(t, bonus(res, "L2"), eur(tc.l2))
			res, err = s.Dispute(res.State, "L1", date("2026-03-16"))
			require.NoError(t, err)
			res, err = s.ResolveDispute(res.State, "L1", false, date("2026-03-18"))
			require.NoError(t, err)
			requireMoney(t, volume(res.State), eur(tc.after[1]), "after the lost dispute")
			res, err = s.Settle(ctx, res.State, []settlement.Line{resold("L3", "950.00", "EUR", "2026-03-20")})
			require.NoError(t, err)
			requireMoney(t, bonus(res, "L3"), eur(tc.l3))
			requireMoney(t, volume(res.State), eur(tc.after[2]), "after L3")
			l1, _ := res.State.Line("L1")
			if tc.volume == "net_of_credits" {
				require.Len(t, l1.Volumes, 1)
				require.True(t, l1.Volumes[0].NetOfCredits)
				requireMoney(t, l1.Volumes[0].Amount, eur("1200.00"), "what L1 added, which its credits take back from")
			} else {
				require.Len(t, l1.Volumes, 1)
				require.False(t, l1.Volumes[0].NetOfCredits)
				requireMoney(t, l1.Volumes[0].Amount, eur("1200.00"), "what L1 added, which a state read back is checked against")
			}
		})
	}
}

// TestStateDecodeRefusesCorruptNetVolumes: what lines add to volumes net
// of credits is checked against the volumes on decode, so that no credit
// could take a volume below zero or from another line's point.
func TestStateDecodeRefusesCorruptNetVolumes(t *testing.T) {
	stateOf := func(window string) []byte {
		s := planSettler(t, strings.NewReplacer("WINDOW", window, "VOLUME", "net_of_credits").Replace(netPlan), loadNetwork(t))
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "EUR", "2026-03-02"), resold("L2", "100.00", "EUR", "2026-03-03")})
		require.NoError(t, err)
		res, err = s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-400.00", "2026-03-10")})
		require.NoError(t, err)
		b, err := json.Marshal(res.State)
		require.NoError(t, err)
		return b
	}
	rolling, calendar := stateOf("rolling_12_months"), stateOf("calendar_year")
	volume := func(d stateDoc) map[string]any { return d["volumes"].([]any)[0].(map[string]any) }
	point := func(d stateDoc, i int) map[string]any { return volume(d)["points"].([]any)[i].(map[string]any) }
	lineVolume := func(d stateDoc) map[string]any { return d.line("L1")["volumes"].([]any)[0].(map[string]any) }
	tests := []struct {
		name    string
		state   []byte
		corrupt func(d stateDoc)
		path    string
		want    string
	}{
		{"a point that is not what the line has left", rolling, func(d stateDoc) {
			point(d, 0)["amount"], volume(d)["amount"] = shift(point(d, 0)["amount"], 1), shift(volume(d)["amount"], 1)
		}, "lines[0].volumes[0]", "the line's point holds EUR 800.01, not the EUR 800.00 it added less what its credits took back"},
		{"no point of the line", rolling, func(d stateDoc) { delete(point(d, 0), "line") }, "lines[0].volumes[0]", "no point of the line"},
		// A point of a line the state does not hold is of a part split by
		// partner (State.SplitByPartner); of a held line, it is claimed.
		{"a point of a held line that adds nothing net", rolling, func(d stateDoc) { delete(d.line("L2"), "volumes") }, "volumes[0].points[1].line",
			`a point of line "L2", which adds to it net of credits on no ledger line`},
		{"a point not at the line's date", rolling, func(d stateDoc) { point(d, 0)["date"] = "2026-03-05T00:00:00Z" }, "lines[0].volumes[0]",
			"the line's point is dated 2026-03-05T00:00:00Z, not at the line"},
		{"a line with two points", rolling, func(d stateDoc) { point(d, 1)["line"] = "L1" }, "volumes[0].points[1].line", `line "L1" has two points`},
		{"a calendar year below what lines still add", calendar, func(d stateDoc) { volume(d)["amount"] = moneyJSON("899.99", "EUR") }, "volumes[0].amount",
			"EUR 899.99 is less than the EUR 900.00 lines still add to it net of credits"},
		// A state holding none of the partner's volumes is a part split by
		// line (State.SplitByLine); one holding some holds them all.
		{"no such volume", calendar, func(d stateDoc) { volume(d)["year"] = 2025 }, "lines[0].volumes[0]", "the state holds no such volume"},
		// Read as a volume of sales, the credited line adds all of it.
		{"not net and not converted", calendar, func(d stateDoc) { delete(lineVolume(d), "net_of_credits") }, "volumes[0].amount",
			"EUR 900.00 is less than the EUR 1300.00 lines still add to it"},
		{"not the line's basis", calendar, func(d stateDoc) { lineVolume(d)["amount"] = moneyJSON("1100.00", "EUR") }, "lines[0].volumes[0].amount",
			"EUR 1100.00 is not the line's basis EUR 1200.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(tt.state, &d))
			tt.corrupt(d)
			bad, err := json.Marshal(d)
			require.NoError(t, err)
			var st settlement.State
			err = json.Unmarshal(bad, &st)
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			i := slices.IndexFunc(ve.Problems, func(p *ensemble.FieldError) bool { return p.Path == tt.path && strings.Contains(p.Error(), tt.want) })
			require.GreaterOrEqual(t, i, 0, "want %q at %s: %v", tt.want, tt.path, err)
		})
	}

	// A plan's cumulative shares agree on their volume.
	_, err := settlement.New(settlement.Config{Plans: mustPlans(t, `{id: p, version: 1, root: {id: root, children: [
  {id: a, party: reseller, share: {cumulative: {volume: net_of_credits, tiers: [{rate: "1%"}]}}},
  {id: b, party: seller, share: {cumulative: {tiers: [{rate: "2%"}]}}},
  {id: c, party: platform, share: remaining}]}}`)})
	require.ErrorContains(t, err, `plans[0].root.children[1].share.cumulative.volume: volume sales: the plan's cumulative shares agree on their volume, and plans[0].root.children[0].share.cumulative.volume is net_of_credits`)
}

func mustPlans(t *testing.T, yaml string) []settlement.PlanDocument {
	t.Helper()
	plans, err := settlement.ParsePlans([]byte(yaml))
	require.NoError(t, err)
	return plans
}

// TestVolumeFactsAreTheSellersYear checks the volume rules read is the
// seller's over the calendar year before the line, as the state holds it,
// whatever volume the plan's rate reads: the seller's over the year (which
// the settler reads once for both), over twelve months, or another
// partner's. An amount rule pays it, so a line's fee shows it exactly.
func TestVolumeFactsAreTheSellersYear(t *testing.T) {
	rule := "id: volume-fee\nversion: 1\nkind: amount\nenv_version: 1\nexpression: volume.amount\n"
	settler := func(rate string) *settlement.Settler {
		plan := `
id: volume-fee
version: 1
routes: [marketplace]
root:
  id: root
  children:
    - id: commission
      party: platform
      fallback: platform
      share: {cumulative: {` + rate + `, tiers: [{rate: "10%"}]}}
    - {id: fee, party: platform, share: {rule: volume-fee}}
    - {id: rest, party: seller, share: remaining}
`
		return planSettler(t, plan, loadNetwork(t), rule)
	}
	fees := func(res settlement.Result) map[settlement.LineID]string {
		out := map[settlement.LineID]string{}
		for _, e := range res.Entries {
			if e.Node == "root/fee" {
				out[e.Line] = e.Amount.AmountString()
			}
		}
		return out
	}
	year := settler("of: seller, window: calendar_year")
	res, err := year.Settle(ctx, settlement.State{}, []settlement.Line{
		appLine("L1", "100.00", "2025-12-20"),
		appLine("L2", "200.00", "2026-01-10"), // a new calendar year: the volume starts over
		appLine("L3", "300.00", "2026-01-11"),
	})
	require.NoError(t, err)
	require.Equal(t, map[settlement.LineID]string{"L3": "200.00"}, fees(res), "no entry for a zero fee")
	for _, s := range []*settlement.Settler{year, settler("of: seller, window: rolling_12_months"), settler(`of: "partner:distri-eu"`)} {
		next, err := s.Settle(ctx, res.State, []settlement.Line{appLine("L4", "1000.00", "2026-01-12")})
		require.NoError(t, err)
		require.Equal(t, map[settlement.LineID]string{"L4": "500.00"}, fees(next))
	}
}

// TestFallbackNotesWhoseShareTheRemainingTakes: shares that fall back to
// the remaining sibling (a party the route lacks, a cumulative rate with
// no volume to read) are named, with why, on the entries that take them:
// the sibling's own, or, when it is an inner node, those of every leaf
// below it, prefixed with its id. A line whose every party can be paid
// notes nothing, and a node with a condition is not named.
func TestFallbackNotesWhoseShareTheRemainingTakes(t *testing.T) {
	const plan = `
id: notes
version: 1
root:
  id: root
  children:
    - id: bonus
      party: platform
      share:
        cumulative:
          of: reseller
          tiers:
            - {rate: "10%"}
    - {id: referral, party: referrer, share: "5%"}
    - id: rest
      share: remaining
      children:
        - {id: ops, party: platform, share: "50%"}
        - {id: house, party: platform, share: remaining}
`
	s := planSettler(t, plan, loadNetwork(t))
	direct := settlement.Line{ID: "D1", Date: date("2026-03-01"), Amount: eur("500.00"), Offer: catalog.Pin{Offer: "app", Version: 1},
		Route: partner.Route{Kind: partner.RouteDirect}}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{direct})
	require.NoError(t, err)
	const why = "rest includes the share of bonus, which has no volume to read: the route's chain has no reseller; " +
		"includes the share of referral, which cannot be paid: the route has no referrer"
	got := map[settlement.EntryID]string{}
	for _, e := range res.Entries {
		got[e.ID] = e.Note
	}
	require.Equal(t, map[settlement.EntryID]string{"D1:root/rest/ops": why, "D1:root/rest/house": why}, got)

	resold := settlement.Line{ID: "P1", Date: date("2026-03-02"), Amount: eur("800.00"), Offer: catalog.Pin{Offer: "app", Version: 1},
		Route: partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{"reseller-nl", "distri-eu"}, Referrer: "referral-ams"}}
	res, err = s.Settle(ctx, settlement.State{}, []settlement.Line{resold})
	require.NoError(t, err)
	for _, e := range res.Entries {
		require.Empty(t, e.Note, e.ID)
	}

	// A node with a condition is not named: its condition, not evaluated
	// without its party, might have given it nothing.
	conditioned := planSettler(t, strings.Replace(plan, `{id: referral, party: referrer, share: "5%"}`,
		`{id: referral, party: referrer, condition: has-referrer, share: "5%"}`, 1), loadNetwork(t))
	res, err = conditioned.Settle(ctx, settlement.State{}, []settlement.Line{direct})
	require.NoError(t, err)
	for _, e := range res.Entries {
		require.Equal(t, "rest includes the share of bonus, which has no volume to read: the route's chain has no reseller", e.Note, e.ID)
	}
}

// TestPropertyMarginalTiersAreUsedOnceWhateverTheCallOrder: a seller's
// lines within twelve months of each other (and one calendar year),
// settled in one call or in calls of any size in any order (so with late
// lines, dated before lines earlier calls settled), pay the platform
// exactly the marginal schedule of their total volume (15% up to EUR
// 1,000, 30% above): a line reads the volume of every line settled before
// it that shares a window with it, so no tier is used twice. Amounts are
// multiples of EUR 0.20, so no share rounds. (Found by a new user's
// trial: a late line read only the points dated before it in a rolling
// window, and was charged the lower tier again.)
func TestPropertyMarginalTiersAreUsedOnceWhateverTheCallOrder(t *testing.T) {
	settlers := map[string]*settlement.Settler{}
	windows := []string{"calendar_year", "rolling_12_months", "calendar_quarter", "calendar_month"}
	for _, w := range windows {
		settlers[w] = planSettler(t, strings.NewReplacer("WINDOW", w, "MODE", "marginal").Replace(appStorePlan), loadNetwork(t))
	}
	rapid.Check(t, func(t *rapid.T) {
		window := rapid.SampledFrom(windows).Draw(t, "window")
		s := settlers[window]
		lines := make([]settlement.Line, rapid.IntRange(1, 10).Draw(t, "lines"))
		var total int64
		totals := map[int]int64{} // per window: the year's (and the twelve months'), each quarter's, each month's
		for i := range lines {
			cents := 20 * rapid.Int64Range(1, 3_000).Draw(t, fmt.Sprintf("L%d.amount", i))
			day := date("2026-01-01").AddDate(0, 0, rapid.IntRange(0, 300).Draw(t, fmt.Sprintf("L%d.day", i)))
			lines[i] = appLine(fmt.Sprintf("L%d", i), ensemble.MoneyFromMinor(cents, eurCur).AmountString(), day.Format(time.DateOnly))
			total += cents
			switch window {
			case "calendar_quarter":
				totals[(int(day.Month())-1)/3] += cents
			case "calendar_month":
				totals[int(day.Month())] += cents
			default:
				totals[0] += cents
			}
		}
		var want int64
		for _, w := range totals {
			want += (15*min(w, 100_000) + 30*max(0, w-100_000)) / 100
		}
		order := rapid.Permutation(lines).Draw(t, "order")
		var st settlement.State
		var got int64
		for len(order) > 0 {
			n := rapid.IntRange(1, len(order)).Draw(t, "call")
			res, err := s.Settle(ctx, st, order[:n])
			require.NoError(t, err)
			for _, e := range res.Entries {
				if e.Party == "platform" {
					got += minorOf(e.Amount)
				}
			}
			st, order = res.State, order[n:]
		}
		require.Equal(t, want, got, "platform's take on EUR %s", ensemble.MoneyFromMinor(total, eurCur).AmountString())
	})
}
