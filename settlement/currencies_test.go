package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// fxPlan pays a reseller a bonus on its volume in euros, whatever currency
// it sells in: 10% up to EUR 1,000, 20% above.
const fxPlan = `
id: fx
version: 1
currencies: [EUR, USD, GBP]
root:
  id: root
  children:
    - id: bonus
      party: reseller
      share:
        cumulative:
          of: reseller
          tiers:
            - {up_to: {amount: "1000.00", currency: EUR}, rate: "10%"}
            - {rate: "20%"}
    - {id: platform, party: platform, share: remaining}
`

// fxRates hold the dollar at 0.90 euro from March 1 and 0.80 from March
// 16, the pound at 1.1667.
var fxRates = ensemble.ExchangeRates{
	{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"), Since: date("2026-03-01"), Rate: ensemble.MustRatio("0.90")},
	{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"), Since: date("2026-03-16"), Rate: ensemble.MustRatio("0.80")},
	{From: ensemble.MustCurrency("GBP"), To: ensemble.MustCurrency("EUR"), Since: date("2026-03-01"), Rate: ensemble.MustRatio("1.1667")},
}

func fxSettler(t *testing.T, plan string, rates ensemble.ExchangeRates) *settlement.Settler {
	t.Helper()
	plans, err := settlement.ParsePlans([]byte(plan))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Network: loadNetwork(t), Rates: rates})
	require.NoError(t, err)
	return s
}

func resold(id, amount, cur, day string) settlement.Line {
	return settlement.Line{ID: settlement.LineID(id), Date: date(day), Amount: ensemble.MustMoney(amount, cur), Offer: catalog.Pin{Offer: "app", Version: 1},
		Route: partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{"reseller-nl", "distri-eu"}}}
}

// TestCumulativeVolumeAcrossCurrencies: euro, dollar and pound lines add
// to one euro volume, each converted at the rate in force at its date, and
// each reads the tiers from the volume so converted. Worked by hand:
//
//	L1 Mar 2  EUR 500.00                    volume 0 -> 500       10%                 EUR 50.00
//	L2 Mar 10 USD 300.00 at 0.90 = EUR 270  volume 500 -> 770     10%                 USD 30.00
//	L3 Mar 20 USD 400.00 at 0.80 = EUR 320  volume 770 -> 1,090   10% of 230 + 20% of 90
//	                                        = EUR 41 = 12.8125%   of USD 400.00       USD 51.25
//	L4 Mar 25 GBP 100.00 at 1.1667 = EUR 116.67 (rounded)  volume 1,090 -> 1,206.67  20%  GBP 20.00
//
// The dollar changed rate on March 16, in the middle of the month: L3
// converts at the new rate. The shares say the conversion, and the ledger
// of each converted line records it.
func TestCumulativeVolumeAcrossCurrencies(t *testing.T) {
	s := fxSettler(t, fxPlan, fxRates)
	lines := []settlement.Line{
		resold("L4", "100.00", "GBP", "2026-03-25"),
		resold("L3", "400.00", "USD", "2026-03-20"),
		resold("L2", "300.00", "USD", "2026-03-10"),
		resold("L1", "500.00", "EUR", "2026-03-02"),
	}
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	type paid struct {
		id     settlement.EntryID
		amount ensemble.Money
		share  string
	}
	want := []paid{
		{"L1:root/bonus", eur("50.00"), "10% (marginal over 1 tier(s), volume before EUR 0.00)"},
		{"L1:root/platform", eur("450.00"), "remaining"},
		{"L2:root/bonus", ensemble.MustMoney("30.00", "USD"), "10% (marginal over 1 tier(s), volume before EUR 500.00; USD 300.00 at 0.9 = EUR 270.00, rate since 2026-03-01)"},
		{"L2:root/platform", ensemble.MustMoney("270.00", "USD"), "remaining"},
		{"L3:root/bonus", ensemble.MustMoney("51.25", "USD"),
			"10% of EUR 230.00 + 20% of EUR 90.00 = 12.8125% of EUR 320.00 (tiers 1-2, volume before EUR 770.00; USD 400.00 at 0.8 = EUR 320.00, rate since 2026-03-16)"},
		{"L3:root/platform", ensemble.MustMoney("348.75", "USD"), "remaining"},
		{"L4:root/bonus", ensemble.MustMoney("20.00", "GBP"), "20% (marginal over 1 tier(s), volume before EUR 1090.00; GBP 100.00 at 1.1667 = EUR 116.67, rate since 2026-03-01)"},
		{"L4:root/platform", ensemble.MustMoney("80.00", "GBP"), "remaining"},
	}
	require.Len(t, res.Entries, len(want))
	for i, w := range want {
		e := res.Entries[i]
		require.Equal(t, w.id, e.ID)
		requireMoney(t, e.Amount, w.amount, e.ID)
		require.Equal(t, w.share, e.Share, e.ID)
	}
	requireMoney(t, res.State.Volume("reseller-nl", ensemble.MustCurrency("EUR"), settlement.WindowCalendarYear, date("2026-12-31")), eur("1206.67"))
	for _, c := range []string{"USD", "GBP"} {
		require.True(t, res.State.Volume("reseller-nl", ensemble.MustCurrency(c), settlement.WindowCalendarYear, date("2026-12-31")).IsZero(), c)
	}
	// The ledger records each conversion, and a state that says another
	// amount than the rate gives is refused.
	l3, ok := res.State.Line("L3")
	require.True(t, ok)
	require.Len(t, l3.Volumes, 1)
	v := l3.Volumes[0]
	require.Equal(t, partner.ID("reseller-nl"), v.Partner)
	requireMoney(t, v.Amount, eur("320.00"))
	require.True(t, v.Rate.Rate.Equal(ensemble.MustRatio("0.8")))
	require.True(t, v.Rate.Since.Equal(date("2026-03-16")))
	l1, _ := res.State.Line("L1")
	require.Len(t, l1.Volumes, 1, "what the line added")
	require.True(t, l1.Volumes[0].Rate.Rate.IsZero(), "a line in the volume's currency converts nothing")
	requireMoney(t, l1.Volumes[0].Amount, eur("500.00"))
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back))
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))

	// Settled one line at a time, in any order of calls that keeps dates
	// in order, the same.
	st := settlement.State{}
	var one []settlement.Entry
	for i := len(lines) - 1; i >= 0; i-- {
		r, err := s.Settle(ctx, st, lines[i:i+1])
		require.NoError(t, err)
		one, st = append(one, r.Entries...), r.State
	}
	requireEntries(t, one, res.Entries)
}

// TestCurrencyAPlanCannotHandle: a line in a currency the plan's tiers
// cannot read is refused at settle time, naming the line, the plan, the
// node and the currencies, never settled at a volume of zero; a plan that
// lists a currency without a rate to its tiers' currency is refused by New.
func TestCurrencyAPlanCannotHandle(t *testing.T) {
	anyCurrency := `
id: fx
version: 1
root:
  id: root
  children:
    - id: bonus
      party: reseller
      share: {cumulative: {of: reseller, tiers: [{up_to: {amount: "1000.00", currency: EUR}, rate: "10%"}, {rate: "20%"}]}}
    - {id: platform, party: platform, share: remaining}
`
	for _, tc := range []struct {
		name  string
		rates ensemble.ExchangeRates
		line  settlement.Line
	}{
		{"no rate for the currency", fxRates, resold("C1", "100.00", "CHF", "2026-03-10")},
		{"no table", nil, resold("U1", "100.00", "USD", "2026-03-10")},
		{"before the first rate", fxRates, resold("U0", "100.00", "USD", "2026-02-27")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fxSettler(t, anyCurrency, tc.rates)
			_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{tc.line})
			require.ErrorIs(t, err, settlement.ErrCurrency)
			require.ErrorIs(t, err, ensemble.ErrNoRate)
			var le *settlement.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, []string{string(tc.line.ID), "fx", "root/bonus"}, []string{string(le.Line), le.Plan, le.Node})
			var re *ensemble.RateError
			require.ErrorAs(t, err, &re)
			require.Equal(t, []ensemble.Currency{tc.line.Amount.Currency(), ensemble.MustCurrency("EUR")}, []ensemble.Currency{re.From, re.To})
		})
	}

	// Listing a currency the plan cannot convert is refused when the plan
	// is loaded, at the currency, naming it.
	for _, tc := range []struct {
		name, plan string
		rates      ensemble.ExchangeRates
		want       string
	}{
		{"no rate", `{id: fx, version: 1, currencies: [EUR, CHF], root: {id: root, children: [{id: bonus, party: reseller, share: {cumulative: {tiers: [{up_to: {amount: "10", currency: EUR}, rate: "1%"}, {rate: "2%"}]}}}, {id: p, party: platform, share: remaining}]}}`,
			fxRates, `plans[0].currencies[1]: settlement: currency mismatch: the plan settles CHF lines but its cumulative tiers are in EUR (plans[0].root.children[0].share.cumulative.tiers[0].up_to), and the exchange rates hold none from CHF to EUR: ensemble: no exchange rate from CHF to EUR`},
		{"rates start after the plan ends", `{id: fx, version: 1, currencies: [USD], effective_until: 2026-03-01T00:00:00Z, root: {id: root, children: [{id: bonus, party: reseller, share: {cumulative: {tiers: [{up_to: {amount: "10", currency: EUR}, rate: "1%"}, {rate: "2%"}]}}}, {id: p, party: platform, share: remaining}]}}`,
			fxRates, `plans[0].currencies[0]: settlement: currency mismatch: the plan settles USD lines but its cumulative tiers are in EUR (plans[0].root.children[0].share.cumulative.tiers[0].up_to), and the exchange rates hold none from USD to EUR before 2026-03-01, when the plan ends: ensemble: no exchange rate from USD to EUR`},
		{"tiers in two currencies", `{id: fx, version: 1, root: {id: root, children: [{id: a, party: reseller, share: {cumulative: {tiers: [{up_to: {amount: "10", currency: EUR}, rate: "1%"}, {rate: "2%"}]}}}, {id: b, party: seller, share: {cumulative: {tiers: [{up_to: {amount: "10", currency: USD}, rate: "1%"}, {rate: "2%"}]}}}, {id: p, party: platform, share: remaining}]}}`,
			fxRates, `plans[0].root.children[1].share.cumulative.tiers[0].up_to: settlement: currency mismatch: USD 10.00: the plan's cumulative tiers are in EUR (plans[0].root.children[0].share.cumulative.tiers[0].up_to); a plan's tiers are in one currency, the volumes its rates read`},
		{"a bad rate", `{id: fx, version: 1, root: {id: root, party: platform}}`,
			ensemble.ExchangeRates{{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("EUR"), Rate: ensemble.MustRatio("0")}},
			`rates[0]: ensemble: invalid exchange rate from USD to EUR: 0 is not above zero`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plans, err := settlement.ParsePlans([]byte(tc.plan))
			require.NoError(t, err)
			_, err = settlement.New(settlement.Config{Plans: plans, Network: loadNetwork(t), Rates: tc.rates})
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1, "%v", err)
			require.Equal(t, tc.want, ve.Problems[0].Error())
			if strings.Contains(tc.want, "currency mismatch") {
				require.ErrorIs(t, err, settlement.ErrCurrency)
			}
		})
	}
	// A plan listing a currency with a rate while it is in force loads;
	// one for its tiers' currency alone needs none.
	plans, err := settlement.ParsePlans([]byte(`{id: fx, version: 1, currencies: [USD, EUR], effective_until: 2026-03-02T00:00:00Z, root: {id: root, children: [{id: bonus, party: reseller, share: {cumulative: {tiers: [{up_to: {amount: "10", currency: EUR}, rate: "1%"}, {rate: "2%"}]}}}, {id: p, party: platform, share: remaining}]}}`))
	require.NoError(t, err)
	_, err = settlement.New(settlement.Config{Plans: plans, Rates: fxRates, Network: loadNetwork(t)})
	require.NoError(t, err)
}

// TestStateDecodeRefusesCorruptLineVolumes: what a line's ledger says of
// the volumes it added to in another currency is checked on decode, down
// to the conversion's cent.
func TestStateDecodeRefusesCorruptLineVolumes(t *testing.T) {
	s := fxSettler(t, fxPlan, fxRates)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "500.00", "EUR", "2026-03-02"), resold("L3", "400.00", "USD", "2026-03-20")})
	require.NoError(t, err)
	valid, err := json.Marshal(res.State)
	require.NoError(t, err)
	volume := func(d stateDoc) map[string]any { return d.line("L3")["volumes"].([]any)[0].(map[string]any) }
	rate := func(d stateDoc) map[string]any { return volume(d)["rate"].(map[string]any) }
	tests := []struct {
		name    string
		corrupt func(d stateDoc)
		path    string
		want    string
	}{
		{"no partner", func(d stateDoc) { volume(d)["partner"] = "" }, ".partner", "invalid partner id"},
		{"another year", func(d stateDoc) { volume(d)["year"] = 2025 }, ".year", "the volume of its date's year, 2026"},
		{"a year on a rolling window", func(d stateDoc) { volume(d)["window"] = "rolling_12_months" }, ".year", "a rolling window has no year"},
		{"the line's own currency", func(d stateDoc) { volume(d)["amount"] = moneyJSON("400.00", "USD") }, ".amount", "in the line's currency"},
		{"not whole minor units", func(d stateDoc) { volume(d)["amount"] = moneyJSON("320.001", "EUR") }, ".amount", "not a whole number of minor units"},
		{"negative", func(d stateDoc) { volume(d)["amount"] = moneyJSON("-320.00", "EUR") }, ".amount", "negative amount"},
		{"a cent off the conversion", func(d stateDoc) { volume(d)["amount"] = shift(volume(d)["amount"], 1) }, ".amount",
			"EUR 320.01 is not the basis USD 400.00 at 0.8 (EUR 320.00)"},
		{"a rate of zero", func(d stateDoc) { rate(d)["rate"] = "0" }, ".rate", "the rate cannot convert"},
		{"a rate from another currency", func(d stateDoc) { rate(d)["from"] = "GBP" }, ".rate", "a rate from GBP to EUR converts a USD line's basis to EUR"},
		{"held twice", func(d stateDoc) {
			l := d.line("L3")
			l["volumes"] = append(l["volumes"].([]any), l["volumes"].([]any)[0])
		}, "volumes[1]", "is also volumes[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(valid, &d))
			tt.corrupt(d)
			p := decodeProblem(t, d, tt.path, tt.want, "L3")
			require.True(t, strings.HasPrefix(p.Path, "lines[1].volumes["), p.Path)
		})
	}
}

// TestRefundOfAConvertedLine: a credit of part of a line converted into
// the volume's currency takes back the same part of what the line added,
// rounded half away from zero: USD 133.33 of USD 400.00 that added EUR
// 320.00 takes back EUR 106.66 (106.664), leaving EUR 213.34; crediting
// the rest takes back exactly the EUR 213.34 left.
func TestRefundOfAConvertedLine(t *testing.T) {
	plan := strings.Replace(fxPlan, "          of: reseller\n", "          of: reseller\n          volume: net_of_credits\n", 1)
	require.Contains(t, plan, "net_of_credits")
	s := fxSettler(t, plan, fxRates)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L3", "400.00", "USD", "2026-03-20")})
	require.NoError(t, err)
	vol := func(st settlement.State) ensemble.Money {
		return st.Volume("reseller-nl", ensemble.MustCurrency("EUR"), settlement.WindowCalendarYear, date("2026-12-31"))
	}
	requireMoney(t, vol(res.State), eur("320.00"))
	usd := func(s string) ensemble.Money { return ensemble.MustMoney(s, "USD") }
	res, err = s.Settle(ctx, res.State, []settlement.Line{{ID: "C1", Credits: "L3", Date: date("2026-03-21"), Amount: usd("-133.33")}})
	require.NoError(t, err)
	requireMoney(t, vol(res.State), eur("213.34"))
	res, err = s.Settle(ctx, res.State, []settlement.Line{{ID: "C2", Credits: "L3", Date: date("2026-03-22"), Amount: usd("-266.67")}})
	require.NoError(t, err)
	require.True(t, vol(res.State).IsZero(), "a full credit takes back all the line added: %s", vol(res.State))
	l3, _ := res.State.Line("L3")
	require.Len(t, l3.Volumes, 1)
	require.True(t, l3.Volumes[0].NetOfCredits)
	require.True(t, l3.Volumes[0].Rate.Rate.Equal(ensemble.MustRatio("0.8")))
}
