package settlement_test

import (
	"fmt"
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

// Rules of every memo level: per partner, per context (route, offer,
// customer, partner) and per line, and one with two versions in force in
// turn.
const sharedRules = `
- id: gold-first
  version: 1
  kind: condition
  env_version: 1
  expression: 'partner.tier != "bronze"'
- id: dutch
  version: 1
  kind: condition
  env_version: 1
  expression: 'customer.country == "NL"'
- id: backup-offer
  version: 1
  kind: share
  env_version: 1
  expression: 'offer.id == "cloud-backup" ? percent(15) : percent(5)'
- id: deep-route
  version: 1
  kind: share
  env_version: 1
  expression: 'route.depth > 1 && partner.tier == "gold" ? percent(20) : percent(8)'
- id: seasonal
  version: 1
  kind: share
  env_version: 1
  effective_until: 2026-06-01T00:00:00Z
  expression: 'percent(7)'
- id: seasonal
  version: 2
  kind: share
  env_version: 1
  effective_from: 2026-06-01T00:00:00Z
  expression: 'percent(11)'
`

// nodePool is what genRuleNode draws conditions, share rules and parties
// from, and whether it draws caps and floors.
type nodePool struct {
	conds, shareRules, roles []string
	capsFloors               bool
}

var sharedPool = nodePool{
	conds:      []string{"", "", "has-referrer", "big-line", "gold-first", "dutch"},
	shareRules: []string{"distributor-share", "reseller-share", "backup-offer", "deep-route", "seasonal", "referral-fee"},
	roles:      roles, capsFloors: true,
}

// genRuleNode draws a plan node whose shares and conditions may be rules
// of any memo level, fixed amounts, caps and floors.
func genRuleNode(t *rapid.T, pool nodePool, id string, depth int, root bool) settlement.Node {
	n := settlement.Node{ID: settlement.NodeID(id)}
	if !root {
		switch rapid.IntRange(0, 5).Draw(t, id+".share") {
		case 0:
			n.Share = settlement.Share{Remaining: true}
		case 1, 2:
			n.Share = settlement.Share{Rule: rapid.SampledFrom(pool.shareRules).Draw(t, id+".rule")}
		case 3:
			n.Share = settlement.Share{Amount: eur(rapid.SampledFrom([]string{"0.50", "2", "40"}).Draw(t, id+".amount"))}
		default:
			n.Share = settlement.Share{Ratio: ensemble.MustRatio(rapid.SampledFrom(ratios).Draw(t, id+".ratio")), HasRatio: true}
		}
		n.Condition = rapid.SampledFrom(pool.conds).Draw(t, id+".cond")
		if pool.capsFloors && rapid.IntRange(0, 5).Draw(t, id+".capped") == 0 {
			n.Cap = eur("3")
		}
		if pool.capsFloors && rapid.IntRange(0, 7).Draw(t, id+".floored") == 0 {
			n.Floor = eur("0.25")
		}
	}
	if depth >= 3 || (!root && rapid.Bool().Draw(t, id+".leaf")) {
		n.Party = rapid.SampledFrom(pool.roles).Draw(t, id+".party")
		if rapid.Bool().Draw(t, id+".fallback") {
			n.Fallback = settlement.FallbackPlatform
		}
		return n
	}
	k := rapid.IntRange(1, 4).Draw(t, id+".children")
	for i := range k {
		n.Children = append(n.Children, genRuleNode(t, pool, fmt.Sprintf("%s%d", id, i), depth+1, false))
	}
	// Levels whose shares vary need a remaining child: make the first
	// one remaining when none is.
	has := false
	for _, c := range n.Children {
		has = has || c.Share.Remaining
	}
	if !has {
		n.Children[0].Share = settlement.Share{Remaining: true}
		n.Children[0].Cap, n.Children[0].Floor = ensemble.Money{}, ensemble.Money{}
	}
	return n
}

// TestPropertySharedDecisions: lines that share a level's decision (within
// a call, or with an earlier call) settle exactly as when every line
// decides every level afresh, whatever the plan's rules read, including
// when a call fails.
func TestPropertySharedDecisions(t *testing.T) {
	net := loadNetwork(t)
	rs := loadRules(t, sharedRules)
	rapid.Check(t, func(t *rapid.T) {
		var s *settlement.Settler
		for s == nil {
			doc := settlement.PlanDocument{ID: "rand", Version: 1, Root: genRuleNode(t, sharedPool, "n", 0, true)}
			s, _ = settlement.New(settlement.Config{Plans: []settlement.PlanDocument{doc}, Rules: rs, Network: net})
		}
		fresh := settlement.Fresh(s)
		// Few distinct routes, so that many lines share decisions.
		n := rapid.IntRange(1, 30).Draw(t, "lines")
		lines := make([]settlement.Line, n)
		for i := range lines {
			id := fmt.Sprintf("L%03d", i)
			l := genLine(t, id)
			l.Amount = ensemble.MoneyFromMinor(rapid.Int64Range(0, 300_000).Draw(t, id+".cents"), ensemble.MustCurrency("EUR"))
			l.Customer.Country = partner.Territory(rapid.SampledFrom([]string{"NL", "DE"}).Draw(t, id+".country"))
			if rapid.IntRange(0, 5).Draw(t, id+".direct") == 0 {
				l.Route = partner.Route{Kind: partner.RouteDirect}
			}
			if rapid.IntRange(0, 9).Draw(t, id+".late") == 0 {
				l.Offer = catalog.Pin{Offer: "cloud-backup", Version: 1}
				l.Date = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) // the seasonal rule's second version starts
			}
			lines[i] = l
		}
		// A first call leaves its decisions to the settler's cache, which
		// the second call reads.
		k := rapid.IntRange(0, n).Draw(t, "first")
		_, _ = s.Settle(ctx, settlement.State{}, lines[:k])
		got, gotErr := s.Settle(ctx, settlement.State{}, lines)
		want, wantErr := fresh.Settle(ctx, settlement.State{}, lines)
		if wantErr != nil {
			require.EqualError(t, gotErr, wantErr.Error())
			return
		}
		require.NoError(t, gotErr)
		if d := cmp.Diff(want.Entries, got.Entries, cmpOpts...); d != "" {
			t.Fatalf("shared decisions differ from fresh ones:\n%s", d)
		}
	})
}

// TestSettleConcurrentCalls settles from many goroutines on one settler,
// whose decision cache they all read and fill (run with -race), and checks
// each result against a settler that shares nothing.
func TestSettleConcurrentCalls(t *testing.T) {
	net := benchNetwork(t)
	s := planSettler(t, replaceCond(benchPlanCEL, "b-referred"), net, benchRules)
	lines := benchLines(2_000)
	want, err := settlement.Fresh(s).Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	const workers = 6
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			// Each worker settles the lines in its own batches: other
			// workers' decisions are published while it runs.
			size := 300 + 200*w
			var got []settlement.Entry
			for i := 0; i < len(lines); i += size {
				res, err := s.Settle(ctx, settlement.State{}, lines[i:min(i+size, len(lines))])
				if err != nil {
					errs <- err
					return
				}
				got = append(got, res.Entries...)
			}
			if d := cmp.Diff(want.Entries, got, cmpOpts...); d != "" {
				errs <- fmt.Errorf("worker %d differs:\n%s", w, d)
				return
			}
			errs <- nil
		}()
	}
	for range workers {
		require.NoError(t, <-errs)
	}
}

// wideRules add rules reading every context fact, a rule whose versions
// are memoized differently, and an amount rule.
const wideRules = sharedRules + `
- id: first-year
  version: 1
  kind: share
  env_version: 3
  expression: 'months_since(line.contract_start, line.service_start, "Europe/Paris") < 12 ? percent(5) : percent(1)'
- id: mkt-rule
  version: 1
  kind: share
  env_version: 1
  expression: 'route.marketplace == "distri-eu" ? percent(9) : percent(3)'
- id: seller-rule
  version: 1
  kind: share
  env_version: 1
  expression: 'route.seller == "reseller-nl" ? percent(9) : percent(3)'
- id: kind-rule
  version: 1
  kind: condition
  env_version: 1
  expression: 'route.kind == "partner"'
- id: charge-rule
  version: 1
  kind: share
  env_version: 1
  expression: 'offer.charge == "seat" ? percent(9) : percent(2)'
- id: ver-rule
  version: 1
  kind: share
  env_version: 1
  expression: 'offer.version == 2 ? percent(9) : percent(2)'
- id: status-rule
  version: 1
  kind: condition
  env_version: 1
  expression: 'partner.tier == "gold" || partner.tier == "silver"'
- id: mixed
  version: 1
  kind: share
  env_version: 1
  effective_until: 2026-03-01T00:00:00Z
  expression: 'partner.tier == "gold" ? percent(9) : percent(2)'
- id: mixed
  version: 2
  kind: share
  env_version: 1
  effective_from: 2026-03-01T00:00:00Z
  expression: 'customer.country == "NL" ? percent(13) : percent(1)'
- id: ctxpartner
  version: 1
  kind: share
  env_version: 1
  expression: 'route.kind == "partner" && partner.tier == "gold" ? percent(9) : percent(2)'
- id: amt-rule
  version: 1
  kind: amount
  env_version: 1
  expression: 'partner.tier == "gold" ? money("3", "EUR") : money("1", "EUR")'
`

// widePool draws over every role, including fixed partners and the
// marketplace, and rules reading every context fact.
var widePool = nodePool{
	conds: []string{"", "", "has-referrer", "gold-first", "dutch", "kind-rule", "status-rule"},
	shareRules: []string{"distributor-share", "backup-offer", "deep-route", "seasonal", "mkt-rule", "seller-rule", "charge-rule", "ver-rule",
		"mixed", "ctxpartner", "amt-rule", "first-year"},
	roles: wideRoles,
}

var wideRoles = []string{"platform", "seller", "chain[1]", "chain[2]", "top", "referrer", "marketplace", "chain[*]", "reseller", "distributor", "sub_reseller", "partner:reseller-de", "partner:sub-utrecht", "partner:reseller-nl", "attributed"}

var wideChains = [][]partner.ID{
	{"sub-utrecht", "reseller-nl", "distri-eu"},
	{"reseller-nl", "distri-eu"},
	{"reseller-de", "distri-eu"},
	{"distri-eu"},
	{"dev-1"},
	{},
	{"platform"},
}

// genWideLine draws lines of every route kind, chains that are empty, name
// the platform or a partner not yet trading, two currencies, dates over
// two years, contract starts and service periods (or none).
func genWideLine(t *rapid.T, id string) settlement.Line {
	day := rapid.IntRange(0, 700).Draw(t, id+".day")
	cur := rapid.SampledFrom([]string{"EUR", "EUR", "USD"}).Draw(t, id+".cur")
	l := settlement.Line{
		ID:     settlement.LineID(id),
		Date:   time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day),
		Amount: ensemble.MoneyFromMinor(rapid.Int64Range(0, 300_000).Draw(t, id+".amount"), ensemble.MustCurrency(cur)),
		Offer:  catalog.Pin{Offer: "cloud-backup", Version: rapid.IntRange(1, 2).Draw(t, id+".ov")},
		Charge: catalog.ChargeID(rapid.SampledFrom([]string{"seat", "usage"}).Draw(t, id+".charge")),
		Route: partner.Route{Kind: rapid.SampledFrom([]partner.RouteKind{partner.RoutePartner, partner.RouteDirect, partner.RouteMarketplace, partner.RouteReferral}).Draw(t, id+".kind"),
			Chain: rapid.SampledFrom(wideChains).Draw(t, id+".chain")},
	}
	l.Route.Referrer = partner.ID(rapid.SampledFrom([]string{"", "referral-ams", "sub-utrecht", "reseller-de"}).Draw(t, id+".ref"))
	l.Route.Marketplace = partner.ID(rapid.SampledFrom([]string{"", "distri-eu", "reseller-nl", "sub-utrecht"}).Draw(t, id+".mkt"))
	l.Customer.Country = partner.Territory(rapid.SampledFrom([]string{"NL", "DE"}).Draw(t, id+".country"))
	// The contract the line bills started up to 14 months before it, a
	// month after it now and then (billed ahead of the go-live), or is not
	// known; its service is the month before the line's date (billed in
	// arrears), the month from it (in advance), an instant (a one-time
	// fee), or not known. A rule reading what the line does not give
	// fails it, in every settler.
	if rapid.IntRange(0, 7).Draw(t, id+".contract_known") != 0 {
		l.ContractStart = l.Date.AddDate(0, -rapid.IntRange(-1, 14).Draw(t, id+".contract_months"), -rapid.IntRange(0, 27).Draw(t, id+".contract_days"))
	}
	switch rapid.IntRange(0, 7).Draw(t, id+".service") {
	case 0:
	case 1, 2:
		l.Service = ensemble.Period{Start: l.Date.AddDate(0, -1, 0), End: l.Date}
	case 3:
		l.Service = ensemble.Period{Start: l.Date, End: l.Date}
	default:
		l.Service = ensemble.Period{Start: l.Date, End: l.Date.AddDate(0, 1, 0)}
	}
	return l
}

// TestPropertySharedDecisionsWide widens TestPropertySharedDecisions: every
// role, context rules on every fact, settlers with and without a network,
// two currencies, lines settled alone (warming the settler's cache in any
// order) and together, each compared with deciding afresh, errors included.
func TestPropertySharedDecisionsWide(t *testing.T) {
	net := loadNetwork(t)
	rs := loadRules(t, wideRules)
	rapid.Check(t, func(t *rapid.T) {
		var s *settlement.Settler
		withNet := rapid.IntRange(0, 3).Draw(t, "network") != 0
		for s == nil {
			doc := settlement.PlanDocument{ID: "rand", Version: 1, Root: genRuleNode(t, widePool, "n", 0, true)}
			cfg := settlement.Config{Plans: []settlement.PlanDocument{doc}, Rules: rs}
			if withNet {
				cfg.Network = net
			}
			s, _ = settlement.New(cfg)
		}
		fresh := settlement.Fresh(s)
		n := rapid.IntRange(1, 30).Draw(t, "lines")
		lines := make([]settlement.Line, n)
		for i := range lines {
			lines[i] = genWideLine(t, fmt.Sprintf("L%03d", i))
		}
		k := rapid.IntRange(0, n).Draw(t, "first")
		_, _ = s.Settle(ctx, settlement.State{}, lines[:k])
		for i := range lines {
			if rapid.Bool().Draw(t, fmt.Sprintf("warm%d", i)) {
				_, _ = s.Settle(ctx, settlement.State{}, lines[i:i+1])
			}
		}
		for i := range lines {
			got, gotErr := s.Settle(ctx, settlement.State{}, lines[i:i+1])
			want, wantErr := fresh.Settle(ctx, settlement.State{}, lines[i:i+1])
			if wantErr != nil || gotErr != nil {
				require.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr), "line %d", i)
				continue
			}
			if d := cmp.Diff(want.Entries, got.Entries, cmpOpts...); d != "" {
				t.Fatalf("line %d differs:\n%s", i, d)
			}
		}
		got, gotErr := s.Settle(ctx, settlement.State{}, lines)
		want, wantErr := fresh.Settle(ctx, settlement.State{}, lines)
		if wantErr != nil {
			require.EqualError(t, gotErr, wantErr.Error())
			return
		}
		require.NoError(t, gotErr)
		if d := cmp.Diff(want.Entries, got.Entries, cmpOpts...); d != "" {
			t.Fatalf("shared decisions differ from fresh ones:\n%s", d)
		}
	})
}

// TestRoutesAcrossCalls settles one seller's lines in several calls while
// its reseller changes tier and its chain changes: the routes a call keeps
// for later calls must give each line the partners as of its own date and
// chain. Every call is checked against a settler that shares nothing, and
// the reseller's entries against hand-worked amounts: of EUR 100.00, 20%
// to the platform leaves 80.00, of which a gold reseller earns 12%
// (9.60) and a silver or bronze one 10% (8.00).
func TestRoutesAcrossCalls(t *testing.T) {
	from, turn := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	net, err := partner.NewNetwork(partner.NetworkSpec{Partners: []partner.Partner{
		{ID: "d1", Name: "d1", Type: partner.TypeDistributor, Terms: []partner.Terms{{From: from, Tier: "gold"}}},
		{ID: "r1", Name: "r1", Type: partner.TypeReseller, Terms: []partner.Terms{
			{From: from, Tier: "gold", Parent: "d1"}, {From: turn, Tier: "silver", Parent: "d1"}}},
		{ID: "r2", Name: "r2", Type: partner.TypeReseller, Terms: []partner.Terms{{From: from, Tier: "bronze", Parent: "d1"}}},
		{ID: "s1", Name: "s1", Type: partner.TypeSubReseller, Terms: []partner.Terms{{From: from, Tier: "gold", Parent: "r1"}}},
	}})
	require.NoError(t, err)
	s := planSettler(t, replaceCond(benchPlanCEL, "b-referred"), net, benchRules)
	eurCur := ensemble.MustCurrency("EUR")
	batch := func(name string, day time.Time, chain ...partner.ID) []settlement.Line {
		var out []settlement.Line
		for i := range 3 {
			out = append(out, settlement.Line{ID: settlement.LineID(fmt.Sprintf("%s-%d", name, i)), Date: day.Add(time.Duration(i) * time.Hour),
				Amount: ensemble.MoneyFromMinor(10_000, eurCur), Offer: catalog.Pin{Offer: "cloud", Version: 1},
				Route: partner.Route{Kind: partner.RoutePartner, Chain: chain}})
		}
		return out
	}
	for _, c := range []struct {
		lines    []settlement.Line
		reseller partner.ID
		cents    int64
	}{
		{batch("gold", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "s1", "r1", "d1"), "r1", 960},
		{batch("silver", time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), "s1", "r1", "d1"), "r1", 800},
		{batch("other", time.Date(2026, 8, 2, 0, 0, 0, 0, time.UTC), "s1", "r2", "d1"), "r2", 800},
		{batch("before", time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC), "s1", "r1", "d1"), "r1", 960},
	} {
		got, err := s.Settle(ctx, settlement.State{}, c.lines)
		require.NoError(t, err)
		want, err := settlement.Fresh(s).Settle(ctx, settlement.State{}, c.lines)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(want.Entries, got.Entries, cmpOpts...), c.lines[0].ID)
		paid := 0
		for _, e := range got.Entries {
			if e.Role == "reseller" {
				paid++
				require.Equal(t, c.reseller, e.Party, e.ID)
				require.True(t, e.Amount.Equal(ensemble.MoneyFromMinor(c.cents, eurCur)), "%s: %s", e.ID, e.Amount)
			}
		}
		require.Equal(t, len(c.lines), paid, c.lines[0].ID)
	}
}
