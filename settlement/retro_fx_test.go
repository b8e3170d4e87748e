package settlement_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestRetroactivePlanInOtherCurrenciesRefusedAtNew (findings-s10 F1): a
// plan listing SEK, EUR and USD whose reseller pays retroactive tiers in
// SEK, with Config.Rates EUR->SEK 11 and USD->SEK 10. Before, New
// accepted it and every EUR or USD line then failed at Settle
// (ErrCurrency, "a EUR line through retroactive tiers in SEK"). Now New
// refuses the plan up front with a *RetroactiveCurrencyError naming the
// plan, the node root/reseller, the tiers' currency SEK and the listed
// currencies EUR and USD that its true-ups cannot re-rate; the same plan
// listing SEK only is accepted and pays its SEK lines as before.
func TestRetroactivePlanInOtherCurrenciesRefusedAtNew(t *testing.T) {
	sekTiers := `
            - {up_to: {amount: "5000000.00", currency: SEK}, rate: "10%"}
            - {rate: "14%"}`
	doc := strings.NewReplacer("WINDOW", "calendar_year", "TIERS", sekTiers).Replace(retroPlan)
	rates := ensemble.ExchangeRates{
		{From: ensemble.MustCurrency("EUR"), To: ensemble.MustCurrency("SEK"), Rate: ensemble.MustRatio("11"), Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{From: ensemble.MustCurrency("USD"), To: ensemble.MustCurrency("SEK"), Rate: ensemble.MustRatio("10"), Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	plans, err := settlement.ParsePlans([]byte(strings.Replace(doc, "currencies: [EUR]", "currencies: [SEK, EUR, USD]", 1)))
	require.NoError(t, err)
	_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t), Rates: rates})
	require.ErrorIs(t, err, settlement.ErrCurrency)
	var re *settlement.RetroactiveCurrencyError
	require.True(t, errors.As(err, &re), "%v", err)
	require.Equal(t, "program", re.Plan.ID)
	require.Equal(t, 1, re.Plan.Version)
	require.Equal(t, "root/reseller", re.Node)
	require.Equal(t, ensemble.MustCurrency("SEK"), re.Tiers)
	require.Equal(t, []ensemble.Currency{ensemble.MustCurrency("EUR"), ensemble.MustCurrency("USD")}, re.Currencies)
	require.ErrorContains(t, err, `plans[0].currencies: settlement: currency mismatch: plan program@1 node "root/reseller" pays retroactive tiers in SEK, `+
		`but the plan settles EUR and USD lines`)

	// Listing SEK only, the plan is accepted and settles SEK lines.
	plans, err = settlement.ParsePlans([]byte(strings.Replace(doc, "currencies: [EUR]", "currencies: [SEK]", 1)))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t), Rates: rates})
	require.NoError(t, err)
	l := chainLine("S1", "1000.00", "2026-02-01")
	l.Amount, l.Tax = ensemble.MustMoney("1000.00", "SEK"), ensemble.MustMoney("0", "SEK")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	require.Equal(t, []string{"S1:root/reseller sub-utrecht earning 100.00", "S1:root/platform platform earning 900.00"}, retroEntries(res.Entries, "S1"))

	// Listing no currencies, the plan is accepted too; its SEK lines settle
	// and a EUR line is refused when settled, naming the node.
	plans, err = settlement.ParsePlans([]byte(strings.Replace(doc, "currencies: [EUR]\n", "", 1)))
	require.NoError(t, err)
	s, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t), Rates: rates})
	require.NoError(t, err)
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("E1", "100.00", "2026-02-01")})
	require.ErrorIs(t, err, settlement.ErrCurrency)
	require.ErrorContains(t, err, `node "root/reseller"`)
	require.ErrorContains(t, err, "a EUR line through retroactive tiers in SEK")
}
