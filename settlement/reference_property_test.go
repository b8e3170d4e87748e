package settlement_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPropertyReferenceSettler compares the real Settler with the reference
// settler (reference_test.go), which shares no code with it, over random
// histories: random plans (rules over every fact field and keys from what
// they read; every role, fixed amounts, caps and floors; the static plans of
// the ledger tests), extended with gross bases, allocation methods, floors,
// reserves, co-sellers, rolling windows and the volume of other roles,
// roots that are leaves, failing rules and a rate table with two versions,
// a second plan version, an offer-specific plan, plans for some currencies
// and another platform id;
// random sale lines of every route kind, currency, time zone, amount (small
// ones too), tax, supplier costs and co-sellers; credits of random lines,
// partial, full or too large, in the batch of their line or later, borne by
// random bearers (a party, node, role or component of the line, or one not
// on it, with either shortfall option); disputes opened, won, lost and
// partly lost (borne by random bearers), with dispute fees. The real settler settles each batch in a random
// order, or split into calls at random, from one settler whose caches other
// calls warm, or now and then with SettleWhatYouCan (which must settle a
// batch the reference settles alike, and reject first the line the
// reference refuses, with its error); and now and then continues from the
// reference's state read back from JSON, then from the binary form, or
// split by line and by partner and merged.
//
// After every step the entries are compared as JSON, byte for byte (every
// field: ids, kinds, parties, roles, amounts, dates, plan, node, share
// text, rule references, service period, offer, route, seller, reverses,
// note and trace), and so is the state's JSON (ledger parts, unreversed
// amounts, holds, volumes, credits), with what State.Len, Has and Volume
// say. At the end a full credit of every line still open is settled by
// both. Errors are compared by the *settlement.LineError's line, plan, node
// and rule and by their condition (errors.Is), not by their text, which the
// reference does not copy.
//
// It runs rapid's default 100 checks of about 30 steps each; run more
// locally with -rapid.checks=10000 (or RAPID_CHECKS=10000).
func TestPropertyReferenceSettler(t *testing.T) {
	fields := allFactFields(t)
	net := loadNetwork(t)
	wide := loadRules(t, wideRules, refRules)
	testdataPlans := loadPlans(t)
	rapid.Check(t, func(t *rapid.T) {
		w := drawRefWorld(t, fields, net, wide, testdataPlans)
		s, err := settlement.New(w.cfg)
		require.NoError(t, err)
		m := &refMachine{world: w, real: s, ref: newRefSettler(w.cfg), now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
		t.Repeat(map[string]func(*rapid.T){
			"settle":      m.settle,
			"settle more": m.settle, // sales are most of a history
			"credit":      m.credit,
			"dispute":     m.dispute,
			"resolve":     m.resolve,
			"reload":      m.reload,
			"collect":     m.collect,
			"write off":   m.writeOff,
			"":            m.check,
		})
		// The same further credit, of everything still open, settled by
		// both from the same history.
		var credits []settlement.Line
		for _, id := range slices.Sorted(maps.Keys(m.ref.state.lines)) {
			if lg := m.ref.state.lines[id]; !lg.disputed && lg.basis > lg.credited {
				credits = append(credits, m.creditOf(t, lg, lg.basis-lg.credited, "final"))
			}
		}
		m.run(t, credits)
		m.check(t)
	})
}

// refWorld is what one check settles with: the settler's configuration and
// sale lines that fit its plans.
type refWorld struct {
	cfg  settlement.Config
	line func(t *rapid.T, id string) settlement.Line
}

// refRules add to wideRules a condition that fails on large lines (a
// partner attribute no partner has) and an amount rule that is negative on
// them, errors the settler must report as the reference does; and a share
// rule reading a rate table whose second version starts in 2026 (entries
// name the table version their rule read).
const refRules = `
- id: ref_rates
  version: 1
  kind: table
  env_version: 1
  expression: '{"gold": percent(12), "silver": percent(9)}'
- id: ref_rates
  version: 2
  kind: table
  env_version: 1
  effective_from: 2026-01-01T00:00:00Z
  expression: '{"gold": percent(14), "silver": percent(7), "platinum": percent(3)}'
- id: ref-table-share
  version: 1
  kind: share
  env_version: 1
  expression: 'partner.tier in ref_rates ? ref_rates[partner.tier] : percent(5)'
- id: ref-missing-key
  version: 1
  kind: condition
  env_version: 1
  expression: 'line.amount < money("500", line.currency) || partner.attributes["segment"] == "a"'
- id: ref-negative
  version: 1
  kind: amount
  env_version: 1
  expression: 'line.amount < money("500", line.currency) ? money("0.10", line.currency) : money("-1", line.currency)'
`

// drawRefWorld draws plans, rules and a network from the package's
// generators: rules reading every fact field (keys_property_test.go), plans
// over every role with fixed amounts, caps and floors (shared_test.go), or
// the static plans of the ledger tests and testdata; and the platform's id
// (with "acme", a chain naming "platform" names an unknown partner).
func drawRefWorld(t *rapid.T, fields []factField, net *partner.Network, wide *rules.RuleSet, testdataPlans []settlement.PlanDocument) refWorld {
	platform := partner.ID(rapid.SampledFrom([]string{"", "platform", "acme"}).Draw(t, "platform"))
	rates := drawRates(t)
	switch rapid.SampledFrom([]string{"keys", "keys", "wide", "wide", "wide", "static"}).Draw(t, "world") {
	case "keys":
		docs, conds, shares, amounts := drawRules(t, fields)
		env, err := settlement.Env(rules.TrustBounded(rapid.Bool().Draw(t, "trusted")), rules.CostBudget(1_000_000), rules.CostLimit(1_000_000))
		require.NoError(t, err)
		rs, err := env.NewRuleSet(docs...)
		require.NoError(t, err)
		var kn *partner.Network
		if rapid.IntRange(0, 4).Draw(t, "network") != 0 {
			kn = drawNetwork(t)
		}
		cfg := settlement.Config{Rules: rs, Network: kn, Platform: platform, Rates: rates}
		cfg.Plans = drawRefPlans(t, cfg, func() settlement.Node { return genKeyNode(t, conds, shares, amounts, "n", 0) }, false)
		cumulative := slices.ContainsFunc(cfg.Plans, func(p settlement.PlanDocument) bool { return len(cumulativeNodes(&p.Root, "")) > 0 })
		// Lines in other currencies than the tiers' convert at the rates.
		eurOnly := len(amounts) > 0 || rapid.Bool().Draw(t, "eur")
		return refWorld{cfg: cfg, line: func(t *rapid.T, id string) settlement.Line {
			// Lines without a seller too: a cumulative rate reading nobody's
			// volume follows its node's fallback.
			return extendRefLine(t, drawKeyLine(t, id, eurOnly, cumulative && rapid.IntRange(0, 3).Draw(t, id+".needs_seller") != 0))
		}}
	case "wide":
		cfg := settlement.Config{Rules: wide, Platform: platform, Rates: rates}
		if rapid.IntRange(0, 3).Draw(t, "network") != 0 {
			cfg.Network = net
		}
		pool := rapid.SampledFrom([]nodePool{sharedPool, widePool}).Draw(t, "pool")
		cfg.Plans = drawRefPlans(t, cfg, func() settlement.Node { return genRuleNode(t, pool, "n", 0, true) }, true)
		return refWorld{cfg: cfg, line: func(t *rapid.T, id string) settlement.Line { return extendRefLine(t, genWideLine(t, id)) }}
	}
	cfg := settlement.Config{Rules: wide, Network: net, Platform: platform, Rates: rates}
	line := genLedgerLine
	switch rapid.SampledFrom([]string{"ledger", "history", "testdata"}).Draw(t, "plans") {
	case "ledger":
		cfg.Plans = mustParsePlans(t, ledgerPlans)
	case "history":
		cfg.Plans, cfg.Rates = mustParsePlans(t, historyPlans), historyRates
	default:
		cfg.Plans, line = testdataPlans, genLine
	}
	if rapid.IntRange(0, 2).Draw(t, "on_collection") == 0 {
		cfg.Plans = onCollection(cfg.Plans)
	}
	return refWorld{cfg: cfg, line: func(t *rapid.T, id string) settlement.Line {
		l := line(t, id)
		if rapid.IntRange(0, 4).Draw(t, id+".abroad") == 0 { // the history plans' dollars and pounds
			l = inCurrency(l, rapid.SampledFrom([]string{"USD", "GBP"}).Draw(t, id+".currency"))
		}
		l = oddParent(t, id, l)
		if rapid.IntRange(0, 3).Draw(t, id+".service") == 0 {
			l.Service = ensemble.Period{Start: l.Date, End: l.Date.AddDate(0, 1, 0)}
		}
		l.Date = inZone(t, l.Date, id)
		return l
	}}
}

func mustParsePlans(t *rapid.T, yaml string) []settlement.PlanDocument {
	plans, err := settlement.ParsePlans([]byte(yaml))
	require.NoError(t, err)
	return plans
}

// specialPlan pays partner-sold lines of offer secure-backup: more specific
// than any random plan, so those lines pick it.
var specialPlan = settlement.PlanDocument{ID: "special", Version: 1, Offers: []catalog.OfferID{"secure-backup"},
	Routes: []partner.RouteKind{partner.RoutePartner}, Root: settlement.Node{ID: "root", Children: []settlement.Node{
		{ID: "platform", Party: "platform", Share: settlement.Share{Ratio: ensemble.MustRatio("30%"), HasRatio: true}, Fallback: settlement.FallbackPlatform},
		{ID: "seller", Party: "seller", Share: settlement.Share{Remaining: true}, Fallback: settlement.FallbackPlatform,
			Reserve: &settlement.Reserve{Ratio: ensemble.MustRatio("10%"), Days: 30}},
	}}}

var eurCur, usdCur, gbpCur = ensemble.MustCurrency("EUR"), ensemble.MustCurrency("USD"), ensemble.MustCurrency("GBP")

// drawRates draws the host's exchange rates: none; dollars, pounds and
// euros converting both ways, the dollar changing rate in the middle of a
// month and a rate of 1/3 that rounds; or rates that only start in 2026,
// so earlier lines find none.
func drawRates(t *rapid.T) ensemble.ExchangeRates {
	rate := func(from, to ensemble.Currency, since string, r string) ensemble.ExchangeRate {
		er := ensemble.ExchangeRate{From: from, To: to, Rate: ensemble.MustRatio(r)}
		if since != "" {
			er.Since = date(since)
		}
		return er
	}
	switch rapid.IntRange(0, 3).Draw(t, "rates") {
	case 0:
		return nil
	case 1:
		return ensemble.ExchangeRates{rate(usdCur, eurCur, "2026-01-01", "0.9"), rate(gbpCur, eurCur, "2026-01-01", "1.1667")}
	}
	return ensemble.ExchangeRates{
		rate(usdCur, eurCur, "", "0.9"), rate(usdCur, eurCur, "2026-03-16", "0.8"),
		rate(gbpCur, eurCur, "", "1.1667"), rate(gbpCur, usdCur, "", "4/3"),
		rate(eurCur, usdCur, "", "1.1"), rate(eurCur, usdCur, "2025-09-10", "1/3"),
	}
}

// dollarPlan pays lines in US dollars: more specific than a random plan
// for any currency, so those lines pick it.
var dollarPlan = settlement.PlanDocument{ID: "dollar", Version: 1, Currencies: []ensemble.Currency{usdCur},
	Root: settlement.Node{ID: "root", Children: []settlement.Node{
		{ID: "platform", Party: "platform", Share: settlement.Share{Ratio: ensemble.MustRatio("20%"), HasRatio: true}},
		{ID: "seller", Party: "seller", Share: settlement.Share{Remaining: true}, Fallback: settlement.FallbackPlatform},
	}}}

// drawRefPlans draws a random plan from root (or now and then a root that
// is a leaf), extended (with refRules when withRefRules), and maybe a
// second version of it from a later date, the special plan, and fewer
// route kinds for the first version; it draws again until New accepts the
// plans.
func drawRefPlans(t *rapid.T, cfg settlement.Config, root func() settlement.Node, withRefRules bool) []settlement.PlanDocument {
	for {
		doc := settlement.PlanDocument{ID: "rand", Version: 1, Root: root()}
		if rapid.IntRange(0, 9).Draw(t, "v1.leaf") == 0 { // the root takes the whole basis
			doc.Root = settlement.Node{ID: "root", Party: rapid.SampledFrom(slices.Concat(wideRoles, []string{"co_sellers"})).Draw(t, "v1.leaf.party")}
		}
		extendRefPlan(t, &doc, "v1", withRefRules)
		if rapid.IntRange(0, 9).Draw(t, "v1.routes") == 0 {
			doc.Routes = []partner.RouteKind{partner.RoutePartner, partner.RouteCoSell, partner.RouteDirect}
		}
		if rapid.IntRange(0, 5).Draw(t, "v1.currencies") == 0 {
			doc.Currencies = rapid.SampledFrom([][]ensemble.Currency{{eurCur}, {eurCur, usdCur}, {usdCur}}).Draw(t, "v1.currencies.list")
		}
		cfg.Plans = []settlement.PlanDocument{doc}
		if rapid.IntRange(0, 3).Draw(t, "v2") == 0 {
			v2 := settlement.PlanDocument{ID: "rand", Version: 2, Root: root(),
				EffectiveFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rapid.IntRange(100, 600).Draw(t, "v2.from"))}
			extendRefPlan(t, &v2, "v2", withRefRules)
			cfg.Plans = append(cfg.Plans, v2)
		}
		if rapid.IntRange(0, 3).Draw(t, "special") == 0 {
			cfg.Plans = append(cfg.Plans, specialPlan)
		}
		if rapid.IntRange(0, 4).Draw(t, "dollar") == 0 {
			cfg.Plans = append(cfg.Plans, dollarPlan)
		}
		if _, err := settlement.New(cfg); err == nil {
			return cfg.Plans
		}
	}
}

// extendRefPlan draws what the plan generators leave out: the gross basis,
// an allocation method, floors (up to the generators' caps of EUR 3),
// reserves, co-sellers, a cumulative rate, its window, partner, volume
// mode and tiers' currency, and
// with refRules their conditions and share rules in place of others.
func extendRefPlan(t *rapid.T, doc *settlement.PlanDocument, label string, refRules bool) {
	if rapid.IntRange(0, 2).Draw(t, label+".gross") == 0 {
		doc.Basis = settlement.BasisGross
	}
	doc.Method = rapid.SampledFrom([]ensemble.AllocationMethod{ensemble.LargestRemainder, ensemble.LargestRemainder,
		ensemble.FirstInOrder, ensemble.NumscriptOrder}).Draw(t, label+".method")
	// Volumes net of credits or not, for all the plan's cumulative shares.
	volume := rapid.SampledFrom([]settlement.VolumeMode{settlement.VolumeOfSales, settlement.VolumeNetOfCredits}).Draw(t, label+".volume")
	// Payable on collection now and then (such a plan keeps no rolling
	// reserve; its leaves' reserves hold a share of each payment).
	if rapid.Bool().Draw(t, label+".on_collection") {
		doc.Payable = settlement.PayableOnCollection
	}
	// A cumulative rate at the root (whose level has a remaining child),
	// crossing its bound within a few lines or a few hundred.
	if len(doc.Root.Children) > 0 && len(cumulativeNodes(&doc.Root, "")) == 0 && rapid.IntRange(0, 1).Draw(t, label+".cumulative") == 0 {
		l := label + ".vol"
		doc.Root.Children = append(doc.Root.Children, settlement.Node{ID: "vol",
			Party:    rapid.SampledFrom([]string{"seller", "reseller", "platform", "top", "referrer"}).Draw(t, l+".party"),
			Fallback: rapid.SampledFrom([]settlement.Fallback{settlement.FallbackRemaining, settlement.FallbackPlatform}).Draw(t, l+".fallback"),
			Share: settlement.Share{Cumulative: &settlement.Cumulative{
				Mode: rapid.SampledFrom([]settlement.RateMode{settlement.Marginal, settlement.Cliff, settlement.Retroactive}).Draw(t, l+".mode"),
				Tiers: []settlement.Tier{{UpTo: eur(rapid.SampledFrom([]string{"40", "2000"}).Draw(t, l+".up_to")), Rate: ensemble.MustRatio("3%")},
					{UpTo: eur("5000"), Rate: ensemble.MustRatio("1/7")}, {Rate: ensemble.MustRatio("10%")}}}}})
	}
	// A window's bearer names a node of the plan (New refuses one that
	// names none): the root, or the first child of the window's parent.
	rootID := string(doc.Root.ID)
	var visit func(n *settlement.Node, nodePath string)
	visit = func(n *settlement.Node, nodePath string) {
		for i := range n.Children {
			c := &n.Children[i]
			l := label + "." + string(c.ID)
			if c.Share.Remaining {
				c.Condition = "" // New refuses a remaining child with one
			} else if rapid.IntRange(0, 9).Draw(t, l+".floor") == 0 {
				c.Floor = ensemble.MoneyFromMinor(rapid.Int64Range(1, 300).Draw(t, l+".floor.cents"), ensemble.MustCurrency("EUR"))
			}
			if refRules && !c.Share.Remaining && rapid.IntRange(0, 7).Draw(t, l+".ref_condition") == 0 {
				c.Condition = "ref-missing-key"
			}
			// Paid once per customer now and then (a level without a
			// remaining child is refused: the plan is drawn again).
			if !c.Share.Remaining && rapid.IntRange(0, 5).Draw(t, l+".once") == 0 {
				c.Once = settlement.OncePerCustomer
			}
			if refRules && c.Share.Rule != "" && rapid.IntRange(0, 2).Draw(t, l+".ref_share") == 0 {
				c.Share.Rule = rapid.SampledFrom([]string{"ref-table-share", "ref-negative"}).Draw(t, l+".ref_share.rule")
			}
			// A clawback window now and then, of the node's leaves, short
			// enough that credits, disputes and write-offs come before
			// and after it, borne by the platform or another.
			if rapid.IntRange(0, 3).Draw(t, l+".clawback") == 0 {
				c.Clawback = &settlement.Clawback{WithinDays: rapid.IntRange(1, 60).Draw(t, l+".clawback.days"),
					BorneBy: rapid.SampledFrom([]settlement.Bearer{{}, {}, {Node: rootID}, {Node: rootID}, {Role: "platform"}, {Role: "seller"}, {Party: "distri-eu"},
						{Node: nodePath + "/" + string(n.Children[0].ID)}, {Role: "supplier"}}).Draw(t, l+".clawback.borne_by")}
			}
			visit(c, nodePath+"/"+string(c.ID))
		}
		if len(n.Children) > 0 {
			return
		}
		l := label + "." + string(n.ID)
		if rapid.IntRange(0, 5).Draw(t, l+".reserve") == 0 { // on collection, held of each payment
			n.Reserve = &settlement.Reserve{Ratio: ensemble.MustRatio(rapid.SampledFrom([]string{"10%", "1/3", "0", "100%"}).Draw(t, l+".reserve.ratio")),
				Days: rapid.IntRange(0, 90).Draw(t, l+".reserve.days")}
		}
		if rapid.IntRange(0, 9).Draw(t, l+".co_sellers") == 0 {
			n.Party, n.LevelWeight = "co_sellers", ""
		}
		if c := n.Share.Cumulative; c != nil {
			c.Window = rapid.SampledFrom([]settlement.Window{settlement.WindowCalendarYear, settlement.WindowRolling12Months,
				settlement.WindowCalendarQuarter, settlement.WindowCalendarMonth}).Draw(t, l+".window")
			c.Of = rapid.SampledFrom([]string{"", "seller", "top", "chain[1]", "partner:distri-eu"}).Draw(t, l+".of")
			c.Volume = volume
			// Tiers in dollars now and then: euro lines convert.
			if rapid.IntRange(0, 3).Draw(t, l+".tiers_usd") == 0 {
				for i := range c.Tiers {
					if !c.Tiers[i].UpTo.IsZero() {
						c.Tiers[i].UpTo = ensemble.MoneyFromMinor(minorOf(c.Tiers[i].UpTo), usdCur)
					}
				}
			}
		}
	}
	visit(&doc.Root, rootID)
	// A retroactive share is a leaf paying one party over a calendar
	// window, with no cap or floor, in a plan paid on settlement (New
	// refuses the others): what the draws above made otherwise is undone.
	for i := range doc.Root.Children {
		c := &doc.Root.Children[i]
		if cu := c.Share.Cumulative; c.ID == "vol" && cu != nil && cu.Mode == settlement.Retroactive {
			c.Floor, c.Cap = ensemble.Money{}, ensemble.Money{}
			if c.Party == "co_sellers" {
				c.Party = "seller"
			}
			if cu.Window == settlement.WindowRolling12Months {
				cu.Window = settlement.WindowCalendarYear
			}
			if doc.Payable == settlement.PayableOnCollection {
				cu.Mode = settlement.Cliff
			}
		}
	}
	drawPartyReserves(t, doc, label)
	drawDiscountFunding(t, doc, label)
}

// drawDiscountFunding now and then names nodes of a plan splitting the
// net that fund the discounts lines list (extendRefLine): one of them, the
// rest, or both.
func drawDiscountFunding(t *rapid.T, doc *settlement.PlanDocument, label string) {
	if doc.Basis == settlement.BasisGross || len(doc.Root.Children) == 0 || rapid.IntRange(0, 2).Draw(t, label+".funding") != 0 {
		return
	}
	var ids []settlement.NodeID
	var visit func(n *settlement.Node)
	visit = func(n *settlement.Node) {
		for i := range n.Children {
			ids = append(ids, n.Children[i].ID)
			visit(&n.Children[i])
		}
	}
	visit(&doc.Root)
	for _, d := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"launch", "partner", ""}), 1, 3, rapid.ID[string]).Draw(t, label+".funding.discounts") {
		doc.DiscountFunding = append(doc.DiscountFunding, settlement.DiscountFunding{Discount: d,
			Node: rapid.SampledFrom(ids).Draw(t, label+".funding."+d)})
	}
}

// drawPartyReserves draws the plan's rolling reserves: none, or some of
// the partners lines pay, each with a ratio (none, all, one that rounds)
// and a release from one day to a few months after the line, so credits
// come before and after it.
func drawPartyReserves(t *rapid.T, doc *settlement.PlanDocument, label string) {
	if doc.Payable == settlement.PayableOnCollection || rapid.IntRange(0, 2).Draw(t, label+".party_reserves") != 0 {
		return // a plan on collection keeps no rolling reserve
	}
	ids := make([]partner.ID, len(keyPartners))
	for i, kp := range keyPartners {
		ids[i] = kp.id
	}
	parties := rapid.SliceOfNDistinct(rapid.SampledFrom(ids), 1, 3, rapid.ID[partner.ID]).Draw(t, label+".party_reserves.parties")
	for i, p := range parties {
		l := fmt.Sprintf("%s.party_reserves[%d]", label, i)
		doc.Reserves = append(doc.Reserves, settlement.PartyReserve{Party: p,
			Ratio: ensemble.MustRatio(rapid.SampledFrom([]string{"10%", "1/3", "0", "100%", "1/7"}).Draw(t, l+".ratio")),
			Days:  rapid.IntRange(1, 45).Draw(t, l+".days")})
	}
}

// extendRefLine draws what the line generators leave out: small amounts,
// tax, supplier costs, co-sellers, a service period, a trace and the special
// plan's offer.
func extendRefLine(t *rapid.T, l settlement.Line) settlement.Line {
	if rapid.IntRange(0, 9).Draw(t, string(l.ID)+".gbp") == 0 { // a currency no plan lists
		l.Amount, l.Tax = ensemble.MoneyFromMinor(minorOf(l.Amount), gbpCur), ensemble.Money{}
	}
	id, cur := string(l.ID), l.Amount.Currency()
	if rapid.IntRange(0, 4).Draw(t, id+".small") == 0 { // floors and rounding bite
		l.Amount = ensemble.MoneyFromMinor(rapid.Int64Range(0, 500).Draw(t, id+".small.amount"), cur)
		l.Tax = ensemble.Money{}
	}
	amount := minorOf(l.Amount)
	if l.Tax.IsZero() && rapid.IntRange(0, 2).Draw(t, id+".tax") == 0 {
		l.Tax = ensemble.MoneyFromMinor(rapid.Int64Range(0, amount/4).Draw(t, id+".tax.amount"), cur)
	}
	if rapid.IntRange(0, 4).Draw(t, id+".costs") == 0 {
		for i := range rapid.IntRange(1, 2).Draw(t, id+".costs.n") {
			supplier := rapid.SampledFrom([]string{"supplier-backup", "supplier-secure"}).Draw(t, fmt.Sprintf("%s.supplier%d", id, i))
			c := catalog.SupplierCost{Supplier: supplier, Offer: "backup",
				Component: ensemble.Ref{Kind: "bundle_component", ID: fmt.Sprintf("c%d", i), Version: "1"},
				Cost:      ensemble.MoneyFromMinor(rapid.Int64Range(0, amount/3).Draw(t, fmt.Sprintf("%s.cost%d", id, i)), cur)}
			if rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("%s.cost%d.fx", id, i)) == 0 && cur != usdCur {
				// Owed in dollars, converted at a rate under 2, so the
				// nearest dollar amount makes the cost within a unit.
				c.Rate = rapid.SampledFrom([]ensemble.Ratio{ensemble.MustRatio("0.9"), ensemble.MustRatio("1.08"), ensemble.MustRatio("1.1667")}).
					Draw(t, fmt.Sprintf("%s.cost%d.rate", id, i))
				src := new(big.Rat).Quo(big.NewRat(minorOf(c.Cost), 1), c.Rate.Rat())
				src.Add(src, big.NewRat(1, 2))
				if u := new(big.Int).Quo(src.Num(), src.Denom()).Int64(); u > 0 {
					c.Source = ensemble.MoneyFromMinor(u, usdCur)
				} else {
					c.Rate = ensemble.Ratio{}
				}
			}
			l.SupplierCosts = append(l.SupplierCosts, c)
		}
	}
	// The seller given as the chain's first partner, as Seller too, or
	// (without parents) as Seller alone.
	if len(l.Route.Chain) > 0 {
		switch rapid.IntRange(0, 2).Draw(t, id+".seller") {
		case 0:
			l.Route.Seller = ""
		case 1:
			l.Route.Seller = l.Route.Chain[0]
		default:
			if l.Route.Seller = l.Route.Chain[0]; len(l.Route.Chain) == 1 {
				l.Route.Chain = nil
			}
		}
	}
	// Co-sellers beside a seller, with the seller's weight.
	if (l.Route.Seller != "" || len(l.Route.Chain) > 0) && rapid.IntRange(0, 3).Draw(t, id+".co_sell") == 0 {
		drawCoSell(t, id, &l.Route, 3)
		if rapid.Bool().Draw(t, id+".co_sell.kind") {
			l.Route.Kind = partner.RouteCoSell
		}
	}
	l = oddParent(t, id, l)
	// Usage attributed to a partner (or to someone the network lacks).
	if rapid.IntRange(0, 2).Draw(t, id+".attributed") > 0 {
		l.Attributed = rapid.SampledFrom([]string{"reseller-de", "sub-utrecht", "distri-eu", "reseller-nl", "nobody"}).Draw(t, id+".attributed.value")
	}
	if rapid.IntRange(0, 3).Draw(t, id+".service") == 0 {
		l.Service = ensemble.Period{Start: l.Date, End: l.Date.AddDate(0, 1, 0)}
	}
	if rapid.IntRange(0, 3).Draw(t, id+".trace") == 0 {
		l.Trace = []ensemble.Ref{{Kind: "invoice_line", ID: "inv-" + id + "/1", Version: "1"}}
	}
	if rapid.IntRange(0, 4).Draw(t, id+".special") == 0 {
		l.Offer.Offer = "secure-backup"
	}
	// Discounts the invoice took: up to the line's amount, so a node
	// funding them can bear them or not.
	if rapid.IntRange(0, 2).Draw(t, id+".discounts") == 0 {
		for _, d := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"launch", "partner", "line"}), 1, 3, rapid.ID[string]).Draw(t, id+".discounts.ids") {
			l.Discounts = append(l.Discounts, settlement.Discount{ID: d,
				Amount: ensemble.MoneyFromMinor(rapid.Int64Range(0, max(amount/2, 1)).Draw(t, id+".discounts."+d), cur)})
		}
	} else if rapid.IntRange(0, 3).Draw(t, id+".recouped") == 0 {
		// A true-up billing back discounts (none listed): at most its
		// amount in all, so the supplier costs may leave less.
		left := amount
		for _, d := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"launch", "partner", "line"}), 1, 3, rapid.ID[string]).Draw(t, id+".recouped.ids") {
			u := rapid.Int64Range(0, max(left, 0)).Draw(t, id+".recouped."+d)
			left -= u
			l.Recouped = append(l.Recouped, settlement.Discount{ID: d, Amount: ensemble.MoneyFromMinor(u, cur)})
		}
	}
	// A few customers, so that nodes paid once per customer pay on a
	// customer's first line only; now and then none (refused by a plan
	// with such a node).
	l.Customer.ID = rapid.SampledFrom([]string{"cust-1", "cust-2", "cust-3", "cust-1", "cust-2", ""}).Draw(t, id+".customer")
	l.Date = inZone(t, l.Date, id)
	return l
}

// oddParent now and then makes a referral partner the seller's parent in
// l's chain, a link no network whose types form a hierarchy holds
// (refused where the network says so: its parent_types, or the parents
// its terms give; settled by a network without a hierarchy).
func oddParent(t *rapid.T, id string, l settlement.Line) settlement.Line {
	if len(l.Route.Chain) > 1 && rapid.IntRange(0, 9).Draw(t, id+".odd_parent") == 0 {
		odd := l.Route
		odd.Chain = slices.Clone(odd.Chain)
		odd.Chain[1] = "referral-ams"
		if odd.Validate() == nil {
			l.Route = odd
		}
	}
	return l
}

// inZone returns instant at in a time zone drawn at random: the settler
// reads instants in UTC.
func inZone(t *rapid.T, at time.Time, label string) time.Time {
	return at.In(rapid.SampledFrom([]*time.Location{time.UTC, time.FixedZone("CET", 3600), time.FixedZone("PST", -8*3600)}).Draw(t, label+".zone"))
}

// refMachine drives one history through the real settler and the
// reference.
type refMachine struct {
	world refWorld
	real  *settlement.Settler
	ref   *refSettler
	st    settlement.State  // the real settler's
	drawn []settlement.Line // every sale line drawn, settled or not
	n     int               // lines drawn
	now   time.Time         // when disputes open and close
	// The ids of the collections and write-offs applied.
	collections []string
}

// settle settles a batch of new sale lines, now and then one drawn before
// (settled again: ErrAlreadySettled), and credits of earlier lines or of the
// batch's own.
func (m *refMachine) settle(t *rapid.T) {
	if rapid.IntRange(0, 2).Draw(t, "warm") == 0 {
		m.warm(t)
	}
	var batch []settlement.Line
	for range rapid.IntRange(1, 4).Draw(t, "sales") {
		m.n++
		l := m.world.line(t, fmt.Sprintf("L%03d", m.n))
		l.Invoice = rapid.SampledFrom([]string{"", "INV-A", "INV-B"}).Draw(t, "invoice") // what collections pay
		batch = append(batch, l)
		m.drawn = append(m.drawn, l)
	}
	if before := m.drawn[:len(m.drawn)-len(batch)]; len(before) > 0 && rapid.IntRange(0, 9).Draw(t, "again") == 0 {
		batch = append(batch, rapid.SampledFrom(before).Draw(t, "again.line"))
	}
	sales := len(batch)
	for i := range rapid.IntRange(0, 2).Draw(t, "credits") {
		label := fmt.Sprintf("credit%d", i)
		if rapid.Bool().Draw(t, label+".own") { // of a line of this batch
			l := rapid.SampledFrom(batch[:sales]).Draw(t, label+".line")
			m.n++
			batch = append(batch, settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%03d", m.n)), Credits: l.ID,
				Date:   l.Date.AddDate(0, 0, rapid.IntRange(0, 30).Draw(t, label+".days")),
				Amount: ensemble.MoneyFromMinor(-rapid.Int64Range(0, minorOf(l.Amount)).Draw(t, label+".amount"), l.Amount.Currency()),
				Tax:    ensemble.MoneyFromMinor(-rapid.Int64Range(0, minorOf(l.Tax)).Draw(t, label+".tax"), l.Amount.Currency())})
		} else if c, ok := m.drawCredit(t, label); ok {
			batch = append(batch, c)
		}
	}
	m.run(t, batch)
}

// credit settles a batch of one to three credits of settled lines.
func (m *refMachine) credit(t *rapid.T) {
	var batch []settlement.Line
	for i := range rapid.IntRange(1, 3).Draw(t, "credits") {
		if c, ok := m.drawCredit(t, fmt.Sprintf("credit%d", i)); ok {
			batch = append(batch, c)
		}
	}
	if len(batch) == 0 {
		t.Skip("no line to credit")
	}
	m.run(t, batch)
}

// drawCredit draws a credit of a line the reference holds: of all it has
// left, of part of it, or (rarely) of a cent more than it has left.
func (m *refMachine) drawCredit(t *rapid.T, label string) (settlement.Line, bool) {
	ids := slices.Sorted(maps.Keys(m.ref.state.lines))
	if len(ids) == 0 {
		return settlement.Line{}, false
	}
	lg := m.ref.state.lines[rapid.SampledFrom(ids).Draw(t, label+".line")]
	if c, ok := m.drawDisputeCredit(t, lg, label); ok {
		return c, true
	}
	left := lg.basis - lg.credited
	if lg.disputed && lg.disputedAmt != 0 && rapid.IntRange(0, 3).Draw(t, label+".undisputed") > 0 {
		// While a dispute of an amount is open, mostly of what it left
		// undisputed (a cent more reaches into the amount disputed).
		left = max(0, left-min(lg.disputedAmt, left))
	}
	var x int64
	switch k := rapid.IntRange(0, 19).Draw(t, label+".size"); {
	case k == 0:
		x = left + 1
	case k < 8:
		x = left
	default:
		x = rapid.Int64Range(0, left).Draw(t, label+".amount")
	}
	c := m.creditOf(t, lg, x, label)
	c.Bearer = drawBearer(t, lg, label, true)
	drawCreditDiscounts(t, lg, &c, label)
	// A credit besides the line's lost disputes says so, now and then
	// without need; one that does not say is refused while they lost what
	// no credit documents.
	if rapid.IntRange(0, 3).Draw(t, label+".separate") > 0 || lg.lost == lg.documented {
		if rapid.IntRange(0, 3).Draw(t, label+".separate.said") == 0 || lg.lost != lg.documented {
			c.Dispute = settlement.DisputeSeparate
		}
	}
	return c, true
}

// drawDisputeCredit draws, mostly when lg lost a dispute in part or in full
// that no credit documents yet, the credit note documenting it: of all it
// left undocumented, of part of it, or (rarely) of a cent more, and now
// and then of a line that has nothing to document (ErrOverDocumented). It
// names no bearer: the dispute's outcome did.
func (m *refMachine) drawDisputeCredit(t *rapid.T, lg refLedger, label string) (settlement.Line, bool) {
	undoc := lg.lost - lg.documented
	if k := rapid.IntRange(0, 9).Draw(t, label+".documents"); undoc == 0 && k != 0 || undoc > 0 && k > 6 {
		return settlement.Line{}, false
	}
	var x int64
	switch k := rapid.IntRange(0, 9).Draw(t, label+".documents.size"); {
	case k == 0:
		x = undoc + 1
	case k < 6:
		x = undoc
	default:
		x = rapid.Int64Range(0, undoc).Draw(t, label+".documents.amount")
	}
	c := m.creditOf(t, lg, x, label)
	c.Dispute = settlement.DisputeDocuments
	if lg.undocOwed > 0 && lg.basisKind == settlement.BasisNet && lg.coll != nil && x > 0 && x <= undoc && rapid.IntRange(0, 2).Draw(t, label+".documents.drift") > 0 {
		// The customer's note computes its tax per component: its total
		// differs from the share the lost disputes took off what is owed
		// by a cent or so (its own total then replaces the share), now
		// and then by more than MaxNoteRounding (ErrDocumentedTotal).
		share := lg.undocOwed
		if x < undoc {
			r := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(lg.undocOwed), big.NewInt(x)), big.NewInt(undoc))
			r.Add(r, big.NewRat(1, 2))
			share = new(big.Int).Quo(r.Num(), r.Denom()).Int64()
		}
		drift := rapid.SampledFrom([]int64{-1, 1, -1, 1, 0, -settlement.MaxNoteRounding, settlement.MaxNoteRounding, settlement.MaxNoteRounding + 1}).Draw(t, label+".documents.drift.units")
		c.Tax = ensemble.MoneyFromMinor(-max(0, share-x+drift), lg.cur)
	}
	return c, true
}

// drawCreditDiscounts now and then lists the one discount credit c takes
// (a discount recorded late: all it credits, listed positive), or what it
// gives back of the line's discounts, when nodes funded some: each of the
// ids lines list, at most what the parts funded in all (beyond what one
// node funded now and then, which the credit reverses in proportion), and
// now and then none at all on a proration credit (it gives back none), so
// partial credits are re-split as the sale was, or not, and several of
// them before a full one.
func drawCreditDiscounts(t *rapid.T, lg refLedger, c *settlement.Line, label string) {
	// Now and then the credit of a discount recorded late: all it credits
	// is one discount it takes (listed positive), which a node funding it
	// bears alone.
	if c.Amount.IsNegative() && rapid.IntRange(0, 5).Draw(t, label+".late") == 0 {
		d := rapid.SampledFrom([]string{"launch", "partner", "line"}).Draw(t, label+".late.id")
		c.Discounts = []settlement.Discount{{ID: d, Amount: c.Amount.Neg()}}
		return
	}
	var funded int64
	for _, p := range lg.parts {
		funded += p.funded
	}
	if funded == 0 || rapid.IntRange(0, 3).Draw(t, label+".discounts") == 0 {
		return
	}
	if rapid.Bool().Draw(t, label+".proration") {
		c.Kind = "proration_credit"
	}
	for _, d := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"launch", "partner", "line"}), 0, 3, rapid.ID[string]).Draw(t, label+".discounts.ids") {
		c.Discounts = append(c.Discounts, settlement.Discount{ID: d,
			Amount: ensemble.MoneyFromMinor(-rapid.Int64Range(0, funded).Draw(t, label+".discounts."+d), lg.cur)})
	}
}

// drawBearer draws who bears a credit or a lost dispute of lg: half the
// time the proportional default, else the party, the node (or an ancestor
// of it), the role or the component of one of its parts, or now and then a
// party not on the line, with either shortfall option, or with owes (a
// credit line's bearer) bearer_owes too.
func drawBearer(t *rapid.T, lg refLedger, label string, owes ...bool) settlement.Bearer {
	if len(lg.parts) == 0 || rapid.Bool().Draw(t, label+".proportional") {
		return settlement.Bearer{}
	}
	p := rapid.SampledFrom(lg.parts).Draw(t, label+".bearer.part")
	var b settlement.Bearer
	switch rapid.IntRange(0, 4).Draw(t, label+".bearer") {
	case 0:
		b.Party = p.party
	case 1:
		segs := strings.Split(p.node, "/")
		b.Node = strings.Join(segs[:rapid.IntRange(1, len(segs)).Draw(t, label+".bearer.depth")], "/")
	case 2:
		b.Role = p.role
	case 3:
		if c, ok := strings.CutPrefix(p.node, "supplier_costs/"); ok {
			b.Component = c
		} else {
			b.Role = "supplier" // maybe none on the line
		}
	default:
		b.Party = "nobody"
	}
	switch last := 1 + min(len(owes), 1); rapid.IntRange(0, last).Draw(t, label+".shortfall") {
	case 1:
		b.Shortfall = settlement.ShortfallProportional
	case 2:
		b.Shortfall = settlement.ShortfallBearerOwes
	}
	return b
}

// creditOf returns a credit line of x minor units of lg's basis, dated a
// little after it, with a service period and trace at random.
func (m *refMachine) creditOf(t *rapid.T, lg refLedger, x int64, label string) settlement.Line {
	m.n++
	c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%03d", m.n)), Credits: lg.line,
		Date: inZone(t, lg.date.AddDate(0, 0, rapid.IntRange(0, 60).Draw(t, label+".days")), label)}
	tax := rapid.Int64Range(0, x).Draw(t, label+".tax")
	if lg.coll != nil && lg.basisKind == settlement.BasisNet && lg.basis > 0 && rapid.IntRange(0, 3).Draw(t, label+".tax.in_rate") > 0 {
		// On a line paid on collection, mostly the line's rate on x,
		// rounded down or up (another tax is refused).
		exact := new(big.Rat).SetFrac64(x*(lg.coll.total-lg.basis), lg.basis)
		tax = new(big.Int).Quo(exact.Num(), exact.Denom()).Int64()
		if !exact.IsInt() && rapid.Bool().Draw(t, label+".tax.up") {
			tax++
		}
	}
	if lg.basisKind == settlement.BasisGross { // the credit's amount and tax add up to x
		c.Amount, c.Tax = ensemble.MoneyFromMinor(tax-x, lg.cur), ensemble.MoneyFromMinor(-tax, lg.cur)
	} else { // its tax is not reversed
		c.Amount, c.Tax = ensemble.MoneyFromMinor(-x, lg.cur), ensemble.MoneyFromMinor(-tax, lg.cur)
	}
	if rapid.IntRange(0, 2).Draw(t, label+".on_invoice") == 0 {
		// On an invoice: the line's own, or another, which the credit is
		// netted on.
		c.Invoice = rapid.SampledFrom([]string{"INV-A", "INV-B"}).Draw(t, label+".invoice")
	}
	if rapid.IntRange(0, 2).Draw(t, label+".service") == 0 {
		c.Service = ensemble.Period{Start: lg.date, End: lg.date.AddDate(0, 1, 0)}
	}
	if rapid.IntRange(0, 2).Draw(t, label+".trace") == 0 {
		c.Trace = []ensemble.Ref{{Kind: "credit_note_line", ID: "cn-" + string(c.ID) + "/1", Version: "1"}}
	}
	return c
}

// run settles batch with both settlers and compares: the real one gets the
// lines in a random order, or (when the reference settles them) split into
// several calls in canonical order.
func (m *refMachine) run(t *rapid.T, batch []settlement.Line) {
	want, wantErr := m.ref.Settle(batch)
	if wantErr == nil && rapid.IntRange(0, 2).Draw(t, "split") == 0 {
		lines := canonicalLines(batch)
		var got []settlement.Entry
		for len(lines) > 0 {
			n := rapid.IntRange(1, len(lines)).Draw(t, "call")
			res, err := m.real.Settle(ctx, m.st, lines[:n])
			require.NoError(t, err)
			got, m.st, lines = append(got, res.Entries...), res.State, lines[n:]
		}
		requireSameEntries(t, got, want)
		return
	}
	order := rapid.Permutation(batch).Draw(t, "order")
	if rapid.IntRange(0, 3).Draw(t, "what you can") == 0 {
		// Settling what it can: the batch the reference settles, settled
		// alike with nothing rejected; else the line the reference refuses
		// is the first rejected, with the same error.
		res, err := m.real.SettleWhatYouCan(ctx, m.st, order)
		require.NoError(t, err)
		if wantErr == nil {
			require.Empty(t, res.Rejections)
			requireSameEntries(t, res.Entries, want)
			m.st = res.State
			return
		}
		require.NotEmpty(t, res.Rejections, "the reference refuses the batch: %v", wantErr)
		requireSameError(t, res.Rejections[0].Err, wantErr)
		return
	}
	res, err := m.real.Settle(ctx, m.st, order)
	requireSameError(t, err, wantErr)
	if err == nil {
		requireSameEntries(t, res.Entries, want)
		m.st = res.State
	}
}

// dispute opens a dispute on a settled line (one already disputed, or now
// and then an unknown one, is refused): of all it has unreversed
// (Dispute), or of an amount (DisputeAmount: part of it, all of it, or
// now and then nothing or a cent more than it has, which are refused).
func (m *refMachine) dispute(t *rapid.T) {
	m.wait(t)
	id := m.pickLine(t, func(lg refLedger) bool { return true })
	if lg, known := m.ref.state.lines[id]; rapid.Bool().Draw(t, "of an amount") {
		cur := ensemble.MustCurrency("EUR")
		if known {
			cur = lg.cur
		}
		left := lg.basis - lg.credited
		var amount ensemble.Money
		switch rapid.IntRange(0, 4).Draw(t, "disputed") {
		case 0:
			amount = ensemble.MoneyFromMinor(left, cur)
		case 1:
			amount = ensemble.MoneyFromMinor(rapid.SampledFrom([]int64{0, left + 1}).Draw(t, "invalid amount"), cur)
		default:
			amount = ensemble.MoneyFromMinor(rapid.Int64Range(1, max(1, left)).Draw(t, "amount"), cur)
		}
		want, wantErr := m.ref.DisputeAmount(id, &amount, m.now)
		res, err := m.real.DisputeAmount(m.st, id, amount, m.now)
		requireSameError(t, err, wantErr)
		if err == nil {
			requireSameEntries(t, res.Entries, want)
			m.st = res.State
		}
		return
	}
	want, wantErr := m.ref.Dispute(id, m.now)
	res, err := m.real.Dispute(m.st, id, m.now)
	requireSameError(t, err, wantErr)
	if err == nil {
		requireSameEntries(t, res.Entries, want)
		m.st = res.State
	}
}

// resolve closes a dispute (one not open is refused): won, lost or partly
// lost (now and then of nothing, or of a cent more than the line has, which
// are refused), borne by a bearer drawn as a credit's, with a dispute fee
// charged to a party now and then.
func (m *refMachine) resolve(t *rapid.T) {
	m.wait(t)
	id := m.pickLine(t, func(lg refLedger) bool { return lg.disputed })
	lg, known := m.ref.state.lines[id]
	cur := ensemble.MustCurrency("EUR")
	if known {
		cur = lg.cur
	}
	var o settlement.DisputeOutcome
	switch left := lg.basis - lg.credited; rapid.IntRange(0, 3).Draw(t, "outcome") {
	case 0:
		o.Won = true
	case 1: // all it disputes
		if lg.disputedAmt != 0 {
			left = min(left, lg.disputedAmt)
		}
		o.Lost = ensemble.MoneyFromMinor(left, cur)
	default:
		o.Lost = ensemble.MoneyFromMinor(rapid.Int64Range(0, left+1).Draw(t, "lost"), cur)
	}
	if !o.Won && known {
		o.Bearer = drawBearer(t, lg, "resolve")
	}
	if rapid.IntRange(0, 2).Draw(t, "fee") == 0 {
		o.Fee = settlement.DisputeFee{Party: partner.ID(rapid.SampledFrom([]string{"platform", "sub-utrecht", "acme"}).Draw(t, "fee.party")),
			Amount: ensemble.MoneyFromMinor(rapid.Int64Range(1, 2500).Draw(t, "fee.amount"), cur)}
	}
	if o.Won && o.Fee == (settlement.DisputeFee{}) && rapid.Bool().Draw(t, "bool") { // ResolveDispute's own path
		want, wantErr := m.ref.ResolveDispute(id, o, m.now)
		res, err := m.real.ResolveDispute(m.st, id, true, m.now)
		requireSameError(t, err, wantErr)
		if err == nil {
			requireSameEntries(t, res.Entries, want)
			m.st = res.State
		}
		return
	}
	want, wantErr := m.ref.ResolveDispute(id, o, m.now)
	res, err := m.real.ResolveDisputeWith(m.st, id, o, m.now)
	requireSameError(t, err, wantErr)
	if err == nil {
		requireSameEntries(t, res.Entries, want)
		m.st = res.State
	}
}

// pickLine draws a settled line that ok accepts, or now and then any line
// or an unknown one.
func (m *refMachine) pickLine(t *rapid.T, ok func(refLedger) bool) settlement.LineID {
	var ids []settlement.LineID
	anyLine := rapid.IntRange(0, 9).Draw(t, "any line") == 0
	for _, id := range slices.Sorted(maps.Keys(m.ref.state.lines)) {
		if anyLine || ok(m.ref.state.lines[id]) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || rapid.IntRange(0, 19).Draw(t, "unknown") == 0 {
		return "L999"
	}
	return rapid.SampledFrom(ids).Draw(t, "line")
}

// wait lets time pass before a dispute opens or closes.
func (m *refMachine) wait(t *rapid.T) {
	m.now = inZone(t, m.now.AddDate(0, 0, rapid.IntRange(1, 60).Draw(t, "days")), "now")
}

// warm settles some lines drawn before with the real settler alone, from an
// empty state, so that its caches hold decisions and routes made in other
// calls.
func (m *refMachine) warm(t *rapid.T) {
	if len(m.drawn) == 0 {
		return
	}
	lines := rapid.SliceOfNDistinct(rapid.SampledFrom(m.drawn), 1, 3, func(l settlement.Line) settlement.LineID { return l.ID }).Draw(t, "lines")
	_, _ = m.real.Settle(ctx, settlement.State{}, lines)
}

// reload makes the real settler continue from the reference's state, read
// from its JSON: the reference's ledger is a State the settler accepts.
func (m *refMachine) reload(t *rapid.T) {
	b, err := m.ref.state.JSON()
	require.NoError(t, err)
	var st settlement.State
	require.NoError(t, json.Unmarshal(b, &st), "%s", b)
	switch rapid.SampledFrom([]string{"json", "binary", "parts"}).Draw(t, "reload from") {
	case "binary": // through the compact binary form
		bin, err := st.MarshalBinary()
		require.NoError(t, err)
		st = settlement.State{}
		require.NoError(t, st.UnmarshalBinary(bin))
	case "parts": // split by line and by partner at random, and merged
		cut := rapid.StringMatching(`[A-Za-z0-9]?`).Draw(t, "cut")
		byLine := func(id settlement.LineID) bool { return string(id) < cut }
		byPartner := func(p partner.ID) bool { return string(p) < cut }
		parts := []settlement.State{st.SplitByLine(byLine), st.SplitByLine(func(id settlement.LineID) bool { return !byLine(id) }),
			st.SplitByPartner(byPartner), st.SplitByPartner(func(p partner.ID) bool { return !byPartner(p) })}
		merged, err := settlement.MergeStates(rapid.Permutation(parts).Draw(t, "parts")...)
		require.NoError(t, err)
		st = merged
	}
	m.st = st
}

// check: the real settler's state writes the JSON the reference's does.
func (m *refMachine) check(t *rapid.T) {
	want, err := m.ref.state.JSON()
	require.NoError(t, err)
	if got := string(mustJSON(t, m.st)); got != string(want) {
		t.Fatalf("state differs from the reference's:\n%s", diffJSON(got, string(want)))
	}
	// Every state the settler returns reads back (the reader checks every
	// ledger invariant).
	var back settlement.State
	require.NoError(t, json.Unmarshal(want, &back), "the state does not read back")
	// The state's readers say what the reference holds.
	require.Equal(t, len(m.ref.state.lines), m.st.Len())
	for id := range m.ref.state.credits {
		require.True(t, m.st.Has(id), "credit %s", id)
	}
	at := m.now.AddDate(0, rapid.IntRange(-24, 0).Draw(t, "volume.months"), 0)
	for k, v := range m.ref.state.volumes {
		got := m.st.Volume(k.partner, v.cur, k.window, at)
		want := ensemble.MoneyFromMinor(m.ref.state.volumeBefore(k.partner, v.cur, k.window, at), v.cur)
		require.True(t, got.Equal(want), "volume of %s (%s) at %s: got %s, want %s", k.partner, k.window, at, got, want)
	}
}

// requireSameEntries compares entries as JSON, byte for byte.
func requireSameEntries(t *rapid.T, got, want []settlement.Entry) {
	g, w := string(mustJSON(t, append([]settlement.Entry{}, got...))), string(mustJSON(t, append([]settlement.Entry{}, want...)))
	if g != w {
		t.Fatalf("entries differ from the reference's (-reference +settler):\n%s", diffJSON(g, w))
	}
}

// refConditions are the conditions errors are compared by.
var refConditions = []error{settlement.ErrInvalidLine, settlement.ErrAlreadySettled, settlement.ErrNoPlan, settlement.ErrAmbiguousPlan,
	settlement.ErrOverAllocation, settlement.ErrOverCredit, settlement.ErrUnknownLine, settlement.ErrDisputed, settlement.ErrNotDisputed,
	settlement.ErrSupplierCosts, settlement.ErrRule, settlement.ErrCurrency, settlement.ErrUnknownPlanVersion, settlement.ErrBasisMismatch,
	partner.ErrUnknownPartner, partner.ErrParentType, rules.ErrNotInForce, ensemble.ErrZeroWeights, settlement.ErrBearerShortfall, settlement.ErrBearerNotOnLine,
	settlement.ErrInvalidDispute, ensemble.ErrNoRate, settlement.ErrDiscountFunding,
	settlement.ErrAttributedParty, settlement.ErrClawbackBearer, settlement.ErrBearerOwes}

// requireSameError requires got to fail as the reference did (want), on the
// same line, plan, node and rule with the same condition, or not at all.
func requireSameError(t *rapid.T, got, want error) {
	if want == nil {
		require.NoError(t, got, "the reference settles it")
		return
	}
	require.Error(t, got, "the reference refuses it: %v", want)
	var g, w *settlement.LineError
	require.ErrorAs(t, want, &w)
	require.ErrorAs(t, got, &g, "%v", got)
	require.Equal(t, []string{string(w.Line), w.Plan, w.Node, w.Rule}, []string{string(g.Line), g.Plan, g.Node, g.Rule},
		"line, plan, node, rule: got %v, want %v", got, want)
	requireSameDisputedAmount(t, got, want)
	for _, c := range refConditions {
		require.Equal(t, errors.Is(want, c), errors.Is(got, c), "%v: got %v, want %v", c, got, want)
	}
	// A bearer's error names the same line, bearer and amounts.
	var gb, wb *settlement.BearerError
	if errors.As(want, &wb) {
		require.ErrorAs(t, got, &gb)
		require.Equal(t, wb.Line, gb.Line)
		require.Equal(t, wb.Bearer, gb.Bearer)
		for _, m := range [][2]ensemble.Money{{gb.Credit, wb.Credit}, {gb.Unreversed, wb.Unreversed}, {gb.Shortfall, wb.Shortfall}} {
			require.True(t, m[0].Equal(m[1]), "%v: got %v, want %v", wb.Bearer, gb, wb)
		}
	}
}
