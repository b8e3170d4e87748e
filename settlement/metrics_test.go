package settlement_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// Issue 19: a plan leaf paying a partner of type supplier counted its
// earnings as partner earnings and its clawbacks as supplier costs (both
// carry the role "supplier"), and adjustments were left out, so metrics
// disagreed with statements. A clawback now counts where the entry it
// reverses counts, and an adjustment moves value from the platform to the
// party.
func TestMetricsBucketsFollowWhatIsReversed(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	with := func(e settlement.Entry, role, node string) settlement.Entry {
		e.Role, e.Node = role, node
		return e
	}
	entries := []settlement.Entry{
		with(entryOf("L:supplier_costs/gpu", settlement.KindSupplierCost, "gpuco", eur("40.00"), "2026-03-02"), "supplier", "supplier_costs/gpu"),
		with(entryOf("L:root/platform", settlement.KindEarning, "platform", eur("30.00"), "2026-03-02"), "platform", "root/platform"),
		with(entryOf("L:root/maker", settlement.KindEarning, "makerco", eur("30.00"), "2026-03-02"), "supplier", "root/maker"), // party: type:supplier
		// A 10% credit of the line reverses each part in proportion.
		with(entryOf("C:L:supplier_costs/gpu#clawback", settlement.KindClawback, "gpuco", eur("-4.00"), "2026-03-03"), "supplier", "supplier_costs/gpu"),
		with(entryOf("C:L:root/platform#clawback", settlement.KindClawback, "platform", eur("-3.00"), "2026-03-03"), "platform", "root/platform"),
		with(entryOf("C:L:root/maker#clawback", settlement.KindClawback, "makerco", eur("-3.00"), "2026-03-03"), "supplier", "root/maker"),
		with(entryOf("adjustment:goodwill", settlement.KindAdjustment, "makerco", eur("5.00"), "2026-03-04"), "", ""),
		with(entryOf("makerco#reserve", settlement.KindReserve, "makerco", eur("2.00"), "2026-03-04"), "", ""),
	}
	ms, err := settlement.ComputeMetrics(entries, march, "")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	m := ms[0]
	requireMoney(t, m.GrossValue, eur("90.00"))      // 100.00 - 10.00
	requireMoney(t, m.SupplierCosts, eur("36.00"))   // 40.00 - 4.00
	requireMoney(t, m.PartnerEarnings, eur("32.00")) // 30.00 - 3.00 + 5.00
	requireMoney(t, m.PlatformRevenue, eur("22.00")) // 30.00 - 3.00 - 5.00
	requireMetricsMatchStatements(t, entries, march, "platform")
}

// requireMetricsMatchStatements checks that the metrics' per-party net is
// the statements' Earned + Reversed + Adjusted, and that the buckets add
// up to the gross value.
func requireMetricsMatchStatements(t require.TestingT, entries []settlement.Entry, p ensemble.Period, platform partner.ID) {
	ms, err := settlement.ComputeMetrics(entries, p, platform)
	require.NoError(t, err)
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: p})
	require.NoError(t, err)
	want := map[string]ensemble.Money{}
	for _, s := range sts {
		net, err := ensemble.Sum(s.Earned, s.Reversed, s.Adjusted)
		require.NoError(t, err)
		want[string(s.Party)+" "+s.Currency.Code()] = net
	}
	got := map[string]ensemble.Money{}
	for _, m := range ms {
		for _, a := range m.ByParty {
			got[a.Key+" "+m.Currency.Code()] = a.Amount
		}
		parts, err := ensemble.Sum(m.PlatformRevenue, m.SupplierCosts, m.PartnerEarnings)
		require.NoError(t, err)
		requireMoney(t, parts, m.GrossValue, "platform + suppliers + partners = gross in %s", m.Currency)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			require.True(t, w.IsZero(), "%s: statements net %s, metrics none", k, w)
			continue
		}
		requireMoney(t, g, w, "%s", k)
	}
	for k := range got {
		_, ok := want[k]
		require.True(t, ok, "%s in metrics, not in statements", k)
	}
}

// For any set of entries, the metrics' per-party net equals the
// statements' and the buckets add up to the gross value.
func TestPropertyMetricsAgreeWithStatements(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	kinds := []settlement.EntryKind{settlement.KindEarning, settlement.KindSupplierCost, settlement.KindClawback,
		settlement.KindAdjustment, settlement.KindReserve, settlement.KindRelease, settlement.KindHold, settlement.KindPayout, settlement.KindFee}
	rapid.Check(t, func(t *rapid.T) {
		var entries []settlement.Entry
		for i := range rapid.IntRange(0, 25).Draw(t, "n") {
			kind := rapid.SampledFrom(kinds).Draw(t, "kind")
			party := partner.ID(rapid.SampledFrom([]string{"platform", "acme", "gpuco"}).Draw(t, "party"))
			cur := rapid.SampledFrom([]string{"EUR", "USD"}).Draw(t, "cur")
			e := entryOf(fmt.Sprint("e", i), kind, party, ensemble.MoneyFromMinor(rapid.Int64Range(-50_000, 50_000).Draw(t, "units"), ensemble.MustCurrency(cur)),
				rapid.SampledFrom([]string{"2026-02-28", "2026-03-01", "2026-03-15"}).Draw(t, "day"))
			e.Node = rapid.SampledFrom([]string{"root/a", "supplier_costs/gpu"}).Draw(t, "node")
			e.Role = rapid.SampledFrom([]string{"supplier", "seller", "platform"}).Draw(t, "role")
			entries = append(entries, e)
		}
		requireMetricsMatchStatements(t, entries, march, "platform")
	})
}

// A line sold without a seller is grouped by its route kind, so referral
// and marketplace sales are not reported as direct.
func TestMetricsGroupSellerlessLinesByRoute(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	direct := entryOf("d", settlement.KindEarning, "platform", eur("10.00"), "2026-03-02")
	direct.Seller, direct.Route = "", partner.RouteDirect
	referral := entryOf("r", settlement.KindEarning, "platform", eur("20.00"), "2026-03-02")
	referral.Seller, referral.Route = "", partner.RouteReferral
	ms, err := settlement.ComputeMetrics([]settlement.Entry{direct, referral}, march, "")
	require.NoError(t, err)
	require.Len(t, ms[0].BySeller, 2)
	require.Equal(t, "direct", ms[0].BySeller[0].Key)
	require.Equal(t, "referral", ms[0].BySeller[1].Key)
	requireMoney(t, ms[0].BySeller[1].Gross, eur("20.00"))
}

// A plan share paid to a partner of type supplier is written with its
// type (role "type:supplier"), never as a supplier cost's "supplier", and
// metrics count it and its clawbacks as partner earnings, beside the
// line's real supplier cost.
func TestTypeSupplierShareIsNotASupplierCost(t *testing.T) {
	net, err := partner.LoadNetwork([]byte(`
parent_types:
  reseller: [supplier]
partners:
  - {id: maker, name: Maker, type: supplier, terms: [{from: 2025-01-01T00:00:00Z}]}
  - {id: shop, name: Shop, type: reseller, terms: [{from: 2025-01-01T00:00:00Z, parent: maker}]}
`))
	require.NoError(t, err)
	s := planSettler(t, `{id: p, version: 1, root: {id: root, children: [
  {id: maker, party: "type:supplier", share: "10%"},
  {id: rest, party: platform, share: remaining}]}}`, net)
	l := chainLine("L1", "100.00", "2026-03-01")
	l.Route = partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{"shop", "maker"}}
	l.SupplierCosts = []catalog.SupplierCost{{Supplier: "gpuco", Offer: "gpu",
		Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "suite/c0/gpuco", Version: "1"}, Cost: eur("40.00")}}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	back, err := s.Settle(ctx, res.State, []settlement.Line{{ID: "C1", Date: date("2026-03-05"), Amount: eur("-50.00"), Credits: "L1"}})
	require.NoError(t, err)
	entries := append(res.Entries, back.Entries...)
	for _, e := range entries {
		if e.Party == "maker" {
			require.Equal(t, "type:supplier", e.Role, e.ID)
		}
	}
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	ms, err := settlement.ComputeMetrics(entries, march, "")
	require.NoError(t, err)
	requireMoney(t, ms[0].SupplierCosts, eur("20.00"))  // 40.00 - 20.00
	requireMoney(t, ms[0].PartnerEarnings, eur("3.00")) // 10% of 60.00 = 6.00, less half
	requireMetricsMatchStatements(t, entries, march, "platform")
}

// TestMetricsRefuseAZeroPeriod: a zero period counts nothing, so it is
// refused, as Statements refuses it (a new user's trial got no metrics
// and no error).
func TestMetricsRefuseAZeroPeriod(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
	require.NoError(t, err)
	_, err = settlement.ComputeMetrics(res.Entries, ensemble.Period{}, "")
	require.ErrorContains(t, err, "settlement: metrics: period")
	m, err := settlement.ComputeMetrics(res.Entries, ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01")), "")
	require.NoError(t, err)
	require.Len(t, m, 1)
}
