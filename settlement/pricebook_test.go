package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPriceBookPlanSettlesEveryCurrencyOfTheOffer: an offer priced in
// several currencies (catalog price books) sells in EUR and in JPY; a plan
// listing the offer and no currencies settles both lines, each in its own
// currency, and metrics count the offer's margin once per currency
// (ByOffer under each currency's Metrics). A plan with a cap in EUR must
// list its currencies, and then leaves a JPY line of the same offer to no
// plan (ErrNoPlan, "settles lines in EUR only"): an EUR cap never applies
// to a JPY line.
func TestPriceBookPlanSettlesEveryCurrencyOfTheOffer(t *testing.T) {
	net := loadNetwork(t)
	s := planSettler(t, `
- {id: book, version: 1, offers: [cloud-backup], root: {id: root, children: [{id: platform, party: platform, share: "20%"}, {id: seller, party: seller, share: remaining}]}}
`, net)
	eurLine := chainLine("L-eur", "100.00", "2026-03-01")
	jpyLine := chainLine("L-jpy", "16000", "2026-03-01")
	jpyLine.Amount, jpyLine.Tax = ensemble.MustMoney("16000", "JPY"), ensemble.MustMoney("0", "JPY")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{eurLine, jpyLine})
	require.NoError(t, err)
	got := map[string]ensemble.Money{}
	for _, e := range res.Entries {
		if e.Kind == settlement.KindEarning {
			got[string(e.Line)+"/"+string(e.Party)] = e.Amount
		}
	}
	requireMoney(t, got["L-eur/platform"], eur("20.00"))
	requireMoney(t, got["L-eur/sub-utrecht"], eur("80.00"))
	requireMoney(t, got["L-jpy/platform"], ensemble.MustMoney("3200", "JPY"))
	requireMoney(t, got["L-jpy/sub-utrecht"], ensemble.MustMoney("12800", "JPY"))

	ms, err := settlement.ComputeMetrics(res.Entries, ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01")), "")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	for _, m := range ms {
		require.Len(t, m.ByOffer, 1, "%s", m.Currency)
		require.Equal(t, "cloud-backup", m.ByOffer[0].Key)
		want := map[string]ensemble.Money{"EUR": eur("100.00"), "JPY": ensemble.MustMoney("16000", "JPY")}[m.Currency.Code()]
		requireMoney(t, m.ByOffer[0].Gross, want, m.Currency)
	}

	// A cap in EUR without the plan's currencies is refused ...
	_, err = settlement.New(settlement.Config{Plans: mustPlans(t, `
- {id: capped, version: 1, offers: [cloud-backup], root: {id: root, children: [{id: platform, party: platform, share: "20%", cap: {amount: "10.00", currency: EUR}, fallback: platform}, {id: seller, party: seller, share: remaining}]}}
`), Rules: loadRules(t), Network: net})
	require.ErrorIs(t, err, settlement.ErrCurrency)
	require.ErrorContains(t, err, "the plan settles lines in any currency: list its currencies")
	// ... and with them, a JPY line of the offer is no line of the plan.
	capped := planSettler(t, `
- {id: capped, version: 1, offers: [cloud-backup], currencies: [EUR], root: {id: root, children: [{id: platform, party: platform, share: "20%", cap: {amount: "10.00", currency: EUR}, fallback: platform}, {id: seller, party: seller, share: remaining}]}}
`, net)
	_, err = capped.Settle(ctx, settlement.State{}, []settlement.Line{jpyLine})
	require.ErrorIs(t, err, settlement.ErrNoPlan)
	require.ErrorContains(t, err, `plan "capped" v1 settles lines in EUR only`)
	res, err = capped.Settle(ctx, settlement.State{}, []settlement.Line{eurLine})
	require.NoError(t, err)
	requireMoney(t, byParty(res.Entries, settlement.KindEarning)["platform"], eur("10.00"))
}
