package settlement_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

func TestPlanValidation(t *testing.T) {
	tests := []struct {
		name  string
		plan  string
		paths []string // every problem's path, in order
		is    error
	}{
		{"over-allocating ratios", `{id: p, version: 1, root: {id: root, children: [
			{id: a, party: platform, share: "60%"}, {id: b, party: platform, share: "50%"}]}}`,
			[]string{"plans[0].root.children"}, nil},
		{"ratios short of the whole without remaining", `{id: p, version: 1, root: {id: root, children: [
			{id: a, party: platform, share: "60%"}, {id: b, party: platform, share: "30%"}]}}`,
			[]string{"plans[0].root.children"}, nil},
		{"varying shares without remaining", `{id: p, version: 1, root: {id: root, children: [
			{id: a, party: seller, share: "60%"}, {id: b, party: platform, share: "40%"}]}}`,
			[]string{"plans[0].root.children"}, nil},
		{"unknown role and missing party", `{id: p, version: 1, root: {id: root, children: [
			{id: a, party: wizard, share: "60%", fallback: platform}, {id: b, share: remaining}]}}`,
			[]string{"plans[0].root.children[0].party", "plans[0].root.children[1].party"}, nil},
		{"unknown rule", `{id: p, version: 1, root: {id: root, children: [
			{id: a, party: seller, share: {rule: nope}}, {id: b, party: platform, share: remaining}]}}`,
			[]string{"plans[0].root.children[0].share.rule"}, rules.ErrUnknownRule},
		{"rule of the wrong kind", `{id: p, version: 1, root: {id: root, children: [
			{id: a, party: seller, condition: reseller-share, share: "10%"}, {id: b, party: platform, share: remaining}]}}`,
			[]string{"plans[0].root.children[0].condition"}, rules.ErrWrongKind},
		{"two remaining children and a duplicate id", `{id: p, version: 1, root: {id: root, children: [
			{id: a, party: seller, share: remaining}, {id: a, party: platform, share: remaining}]}}`,
			[]string{"plans[0].root.children[1].id", "plans[0].root.children[1].share"}, nil},
		{"bad tiers", `{id: p, version: 1, root: {id: root, children: [
			{id: a, party: platform, share: {cumulative: {tiers: [{rate: "15%"}, {up_to: {amount: "5", currency: EUR}, rate: "130%"}]}}},
			{id: b, party: seller, share: remaining}]}}`,
			[]string{"plans[0].root.children[0].share.cumulative.tiers[0].up_to", "plans[0].root.children[0].share.cumulative.tiers[1].rate", "plans[0].root.children[0].share.cumulative.tiers[1].up_to"}, nil},
		{"root with a share, empty version", `{id: p, version: 0, root: {id: root, party: platform, share: "1"}}`,
			[]string{"plans[0].version", "plans[0].root.share"}, nil},
		{"supplier is not a node", `{id: p, version: 1, root: {id: root, party: supplier}}`,
			[]string{"plans[0].root.party"}, nil},
	}
	rs := loadRules(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plans, err := settlement.ParsePlans([]byte(tc.plan))
			require.NoError(t, err)
			_, err = settlement.New(settlement.Config{Plans: plans, Rules: rs})
			require.Error(t, err)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Path)
			}
			require.Equal(t, tc.paths, got, "%v", err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
		})
	}
}

// TestUnknownRoleSuggestsTheNearest: a misspelled party names the role
// it is nearest to; a word near none names nothing.
func TestUnknownRoleSuggestsTheNearest(t *testing.T) {
	for party, want := range map[string]string{
		"resseller": `unknown role "resseller" (did you mean "reseller"?)`,
		"refferer":  `unknown role "refferer" (did you mean "referrer"?)`,
		"wizard":    `unknown role "wizard"`,
	} {
		plans, err := settlement.ParsePlans([]byte(`{id: p, version: 1, root: {id: root, children: [
			{id: a, party: ` + party + `, share: "60%", fallback: platform}, {id: b, party: platform, share: remaining}]}}`))
		require.NoError(t, err)
		_, err = settlement.New(settlement.Config{Plans: plans})
		require.ErrorContains(t, err, want)
		if party == "wizard" {
			require.NotContains(t, err.Error(), "did you mean")
		}
	}
}

func TestParsePlansRejectsUnknownFields(t *testing.T) {
	_, err := settlement.ParsePlans([]byte(`{id: p, version: 1, root: {id: root, party: platform, sahre: "1"}}`))
	require.Error(t, err)
	_, err = settlement.ParsePlans([]byte(`[{id: p, version: 1, root: {id: root, party: platform}}, {id: q, bogus: 1}]`))
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "plans[1]", ve.Problems[0].Path)
}

func TestPlanJSONRoundTrip(t *testing.T) {
	plans := loadPlans(t)
	b, err := json.Marshal(plans)
	require.NoError(t, err)
	back, err := settlement.ParsePlans(b)
	require.NoError(t, err)
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))
}

func TestRuntimeOverAllocation(t *testing.T) {
	// A fixed amount larger than the line is rejected naming the line,
	// node and rule.
	plan := `{id: p, version: 1, root: {id: root, children: [
		{id: fee, party: platform, share: {rule: flat-fee}},
		{id: rest, party: seller, share: remaining}]}}`
	s := planSettler(t, plan, loadNetwork(t), "id: flat-fee\nversion: 1\nkind: amount\nenv_version: 1\nexpression: 'money(\"20\", line.currency)'\n")
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "10.00", "2026-03-01")})
	require.ErrorIs(t, err, settlement.ErrOverAllocation)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("L1"), le.Line)
	require.Equal(t, "root/fee", le.Node)
	require.Equal(t, "flat-fee@1", le.Rule)
	require.Contains(t, err.Error(), `line "L1"`)

	// A share rule above 100% too (on the lines it reads: a constant one
	// is refused when the settler is built, TestConstantShareRulesRefusedByNew).
	plan2 := `{id: p, version: 1, root: {id: root, children: [
		{id: fee, party: platform, share: {rule: greedy}},
		{id: rest, party: seller, share: remaining}]}}`
	s2 := planSettler(t, plan2, loadNetwork(t), "id: greedy\nversion: 1\nkind: share\nenv_version: 1\nexpression: 'line.quantity >= dec(\"0\") ? percent(120) : percent(0)'\n")
	_, err = s2.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "10.00", "2026-03-01")})
	require.ErrorIs(t, err, settlement.ErrOverAllocation)
	require.ErrorAs(t, err, &le)
	require.Equal(t, "greedy@1", le.Rule)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L2", "20.00", "2026-03-01")})
	require.NoError(t, err)
	requireMoney(t, byParty(res.Entries)["platform"], eur("20.00"))
}

// A share rule that reads no fact decides every line alike: one no line
// could be paid by (a share above the whole or below zero, a negative
// amount) is refused by New, naming the node and the rule's version (a
// new user's trial loaded percent(150) and saw every line fail when
// settled).
func TestConstantShareRulesRefusedByNew(t *testing.T) {
	plan := `{id: p, version: 1, root: {id: root, children: [
		{id: fee, party: platform, share: {rule: fee}},
		{id: rest, party: seller, share: remaining}]}}`
	for _, tc := range []struct{ kind, expr, want string }{
		{"share", "percent(150)", `rule "fee" v1 is the constant share 1.5, more than the whole`},
		{"share", "percent(-10)", `rule "fee" v1 is the constant share -0.1: a share is never negative`},
		{"amount", `money("-5.00", "EUR")`, `rule "fee" v1 is the constant amount EUR -5.00: an amount is never negative`},
	} {
		plans, err := settlement.ParsePlans([]byte(plan))
		require.NoError(t, err)
		_, err = settlement.New(settlement.Config{Plans: plans, Network: loadNetwork(t),
			Rules: loadRules(t, "id: fee\nversion: 1\nkind: "+tc.kind+"\nenv_version: 1\nexpression: '"+tc.expr+"'\n")})
		require.ErrorContains(t, err, "plans[0].root.children[0].share.rule: "+tc.want, tc.expr)
	}
	// Constant and within the whole: accepted.
	planSettler(t, plan, loadNetwork(t), "id: fee\nversion: 1\nkind: share\nenv_version: 1\nexpression: 'percent(15)'\n")
}

// An amount rule's sub-cent result is rounded half away from zero, and
// the entry's share says from what (a trial found 3.335 paid as 3.34
// with no trace of it).
func TestAmountRuleRoundingIsExplained(t *testing.T) {
	plan := `{id: p, version: 1, root: {id: root, children: [
		{id: fee, party: platform, share: {rule: thin-fee}},
		{id: rest, party: seller, share: remaining}]}}`
	s := planSettler(t, plan, loadNetwork(t), "id: thin-fee\nversion: 1\nkind: amount\nenv_version: 1\nexpression: 'line.amount * dec(\"0.03335\")'\n")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01"), chainLine("L2", "200.00", "2026-03-01")})
	require.NoError(t, err)
	shares := map[settlement.LineID]string{}
	for _, e := range res.Entries {
		if e.Party == "platform" {
			shares[e.Line] = e.Amount.String() + " | " + e.Share
		}
	}
	require.Equal(t, "EUR 3.34 | EUR 3.34 (rule thin-fee@1, 3.335 rounded)", shares["L1"])
	require.Equal(t, "EUR 6.67 | EUR 6.67 (rule thin-fee@1)", shares["L2"], "6.6700: nothing rounded")
}

func TestRolesAndFallbacks(t *testing.T) {
	net := loadNetwork(t)
	tests := []struct {
		name string
		plan string
		line func() settlement.Line
		want map[partner.ID]string
	}{
		{"chain[*] by level weight", `{id: p, version: 1, root: {id: root, children: [
			{id: platform, party: platform, share: "50%"},
			{id: chain, party: "chain[*]", level_weight: level-weight, share: remaining}]}}`,
			func() settlement.Line { return chainLine("L1", "100.00", "2026-03-01") },
			// 50 split 3:1:1 = 30, 10, 10
			map[partner.ID]string{"platform": "50.00", "sub-utrecht": "30.00", "reseller-nl": "10.00", "distri-eu": "10.00"}},
		{"chain levels by index and top", `{id: p, version: 1, root: {id: root, children: [
			{id: top, party: top, share: "10%"},
			{id: l1, party: "chain[1]", share: "10%"},
			{id: deep, party: "chain[7]", share: "10%"},
			{id: platform, party: platform, share: remaining}]}}`,
			func() settlement.Line { return chainLine("L1", "100.00", "2026-03-01") },
			map[partner.ID]string{"distri-eu": "10.00", "reseller-nl": "10.00", "platform": "80.00"}},
		{"co-sellers by weight, a suspended one skipped", `{id: p, version: 1, root: {id: root, children: [
			{id: platform, party: platform, share: "40%"},
			{id: co, party: co_sellers, share: remaining}]}}`,
			func() settlement.Line {
				l := chainLine("L1", "100.00", "2026-05-01")
				l.Route = partner.Route{Kind: partner.RouteCoSell, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl"}, SellerWeight: ensemble.MustRatio("1/8"), CoSellers: []partner.CoSeller{
					{Partner: "distri-eu", Weight: ensemble.MustRatio("2/8")}, {Partner: "reseller-de", Weight: ensemble.MustRatio("5/8")}}}
				return l
			},
			// reseller-de is suspended: the others share 60 by 1:2.
			map[partner.ID]string{"platform": "40.00", "reseller-nl": "20.00", "distri-eu": "40.00"}},
		{"co-sellers without weights share equally with the seller", `{id: p, version: 1, root: {id: root, children: [
			{id: platform, party: platform, share: "40%"},
			{id: co, party: co_sellers, share: remaining}]}}`,
			func() settlement.Line {
				l := chainLine("L1", "100.00", "2026-03-01")
				l.Route = partner.Route{Kind: partner.RouteCoSell, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl"}, CoSellers: []partner.CoSeller{{Partner: "distri-eu"}, {Partner: "sub-utrecht"}}}
				return l
			},
			map[partner.ID]string{"platform": "40.00", "reseller-nl": "20.00", "distri-eu": "20.00", "sub-utrecht": "20.00"}},
		{"a co-sell node on a route without co-sellers falls back", `{id: p, version: 1, root: {id: root, children: [
			{id: platform, party: platform, share: "40%"},
			{id: co, party: co_sellers, share: "30%", fallback: platform},
			{id: seller, party: seller, share: remaining}]}}`,
			func() settlement.Line { return chainLine("L1", "100.00", "2026-03-01") },
			map[partner.ID]string{"platform": "70.00", "sub-utrecht": "30.00"}},
		{"a root leaf paying co-sellers", `{id: p, version: 1, root: {id: co, party: co_sellers}}`,
			func() settlement.Line {
				l := chainLine("L1", "100.00", "2026-05-01")
				l.Route = partner.Route{Kind: partner.RouteCoSell, Seller: "reseller-nl", Chain: []partner.ID{"reseller-nl"}, SellerWeight: ensemble.MustRatio("1/4"),
					CoSellers: []partner.CoSeller{{Partner: "distri-eu", Weight: ensemble.MustRatio("3/4")}}}
				return l
			},
			map[partner.ID]string{"reseller-nl": "25.00", "distri-eu": "75.00"}},
		{"a root leaf paying the chain, all levels alike", `{id: p, version: 1, root: {id: all, party: "chain[*]"}}`,
			func() settlement.Line { return chainLine("L1", "90.00", "2026-03-01") },
			map[partner.ID]string{"sub-utrecht": "30.00", "reseller-nl": "30.00", "distri-eu": "30.00"}},
		{"fallback to platform", `{id: p, version: 1, root: {id: root, children: [
			{id: ref, party: referrer, share: "10%", fallback: platform},
			{id: seller, party: seller, share: "90%", fallback: platform}]}}`,
			func() settlement.Line {
				l := chainLine("L1", "100.00", "2026-03-01")
				l.Route.Referrer = ""
				return l
			},
			map[partner.ID]string{"platform": "10.00", "sub-utrecht": "90.00"}},
		{"zero share gets zero, never a leftover cent", `{id: p, version: 1, root: {id: root, children: [
			{id: a, party: platform, share: "0"},
			{id: b, party: seller, share: "1/2", fallback: platform},
			{id: c, party: "chain[1]", share: "1/2", fallback: platform}]}}`,
			func() settlement.Line { return chainLine("L1", "0.03", "2026-03-01") },
			// 3 cents split 0/50/50: largest remainder ties go to the
			// smaller node id (b), the 0% node gets nothing.
			map[partner.ID]string{"sub-utrecht": "0.02", "reseller-nl": "0.01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := planSettler(t, tc.plan, net)
			l := tc.line()
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
			require.NoError(t, err)
			got := byParty(res.Entries, settlement.KindEarning)
			require.Len(t, got, len(tc.want), "%v", got)
			for p, w := range tc.want {
				requireMoney(t, got[p], eur(w), p)
			}
		})
	}
}

func TestLineValidation(t *testing.T) {
	s := newSettler(t)
	bad := chainLine("", "-1.005", "2026-03-01")
	bad.Route.Kind = partner.RouteUnspecified
	_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{bad})
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.GreaterOrEqual(t, len(ve.Problems), 4, "%v", err)

	dup := []settlement.Line{chainLine("L1", "1.00", "2026-03-01"), chainLine("L1", "2.00", "2026-03-02")}
	_, err = s.Settle(ctx, settlement.State{}, dup)
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)

	none := chainLine("L9", "1.00", "2026-03-01")
	none.Route.Kind = partner.RouteMarketplace
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{none})
	require.ErrorIs(t, err, settlement.ErrNoPlan)
	// It says what the line was matched on and why each plan did not match.
	require.EqualError(t, err, `settlement: line "L9": no plan for line: offer cloud-backup, route marketplace, EUR at 2026-03-01: `+
		`plan "channel" v1 is for routes partner, referral; plan "direct" v1 is for routes direct`)
	none.Route.Kind, none.Amount = partner.RoutePartner, ensemble.MustMoney("1.00", "CHF")
	_, err = planSettler(t, "{id: eu, version: 1, currencies: [EUR, USD], root: {id: root, party: platform}}", loadNetwork(t)).
		Settle(ctx, settlement.State{}, []settlement.Line{none})
	require.ErrorIs(t, err, settlement.ErrNoPlan)
	require.ErrorContains(t, err, `offer cloud-backup, route partner, CHF at 2026-03-01: plan "eu" v1 settles lines in EUR, USD only`)

	unknown := chainLine("L8", "1.00", "2026-03-01")
	unknown.Route.Seller, unknown.Route.Chain = "ghost", []partner.ID{"ghost"}
	_, err = s.Settle(ctx, settlement.State{}, []settlement.Line{unknown})
	require.True(t, errors.Is(err, partner.ErrUnknownPartner), "%v", err)
	require.True(t, strings.Contains(err.Error(), "L8"))
}

func TestEnumsText(t *testing.T) {
	for _, tc := range []struct {
		v    interface{ MarshalText() ([]byte, error) }
		want string
	}{
		{partner.RouteCoSell, "co_sell"}, {settlement.KindSupplierCost, "supplier_cost"}, {settlement.BasisGross, "gross"},
		{settlement.FallbackPlatform, "platform"}, {settlement.WindowRolling12Months, "rolling_12_months"}, {settlement.Cliff, "cliff"},
	} {
		b, err := tc.v.MarshalText()
		require.NoError(t, err)
		require.Equal(t, tc.want, string(b))
	}
	var k partner.RouteKind
	require.Error(t, k.UnmarshalText([]byte("teleport")))
	require.NoError(t, k.UnmarshalText([]byte("referral")))
	require.Equal(t, partner.RouteReferral, k)
	require.Equal(t, "route_kind(99)", partner.RouteKind(99).String())
	_, err := partner.RouteKind(99).MarshalText()
	require.Error(t, err)
}

// TestTypeRolesNeedANetwork: without a network no partner has a type, so a
// plan paying the distributor or a type:<name> (or reading its volume)
// would pay someone else on every line; New refuses it, naming each node,
// and takes the same plan with a network, and a plan paying only roles the
// route names without one.
func TestTypeRolesNeedANetwork(t *testing.T) {
	plans, err := settlement.ParsePlans([]byte(`
id: typed
version: 1
root:
  id: root
  children:
    - {id: dist, party: distributor, share: "10%"}
    - {id: msp, party: "type:managed_service_provider", share: "5%"}
    - {id: bonus, party: seller, share: {cumulative: {of: reseller, tiers: [{up_to: {amount: "1000", currency: EUR}, rate: "1%"}, {rate: "2%"}]}}}
    - {id: platform, party: platform, share: remaining}
`))
	require.NoError(t, err)
	_, err = settlement.New(settlement.Config{Plans: plans})
	require.ErrorIs(t, err, settlement.ErrNoNetwork)
	for _, field := range []string{"plans[0].root.children[0].party", "plans[0].root.children[1].party", "plans[0].root.children[2].share.cumulative.of"} {
		require.ErrorContains(t, err, field)
	}
	_, err = settlement.New(settlement.Config{Plans: plans, Network: loadNetwork(t)})
	require.NoError(t, err)
	routed, err := settlement.ParsePlans([]byte(`{id: routed, version: 1, root: {id: root, children: [{id: s, party: seller, share: "10%"}, {id: r, party: referrer, share: "2%"}, {id: p, party: platform, share: remaining}]}}`))
	require.NoError(t, err)
	_, err = settlement.New(settlement.Config{Plans: routed})
	require.NoError(t, err)
}
