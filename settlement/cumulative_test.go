package settlement_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

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

// requireEntries compares entries with cmp.Diff, which honours the Equal
// methods of Money, Ratio and time.Time.
func requireEntries(t *testing.T, got, want []settlement.Entry) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		t.Fatalf("entries differ (-want +got):\n%s", d)
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
			{"D1:root/platform", "platform", "500.00", ""},
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
