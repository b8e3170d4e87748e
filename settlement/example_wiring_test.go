package settlement_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
	"github.com/ensemble-commerce/ensemble/usage"
)

// The documents a host keeps, usually as versioned files (embed them with
// //go:embed, or read them from a store).
const (
	wiringCatalog = `
offers:
  - id: backup
    version: 1
    name: Cloud Backup
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_arrears, price: {model: per_unit, amount: "20.00"}}
      - id: storage
        name: Storage (GB, monthly peak)
        type: usage
        meter: storage_gb
        price: {model: graduated, tiers: [{up_to: 100, unit_amount: "0"}, {unit_amount: "0.10"}]}
`
	wiringNetwork = `
partners:
  - {id: distri-eu, name: EuroDistri, type: distributor, terms: [{from: 2025-01-01T00:00:00Z, tier: gold, territories: [NL]}]}
  - {id: reseller-nl, name: Lowlands IT, type: reseller, terms: [{from: 2025-01-01T00:00:00Z, parent: distri-eu, territories: [NL]}]}
`
	wiringRules = `
- id: distributor-share
  version: 1
  kind: share
  env_version: 1
  expression: 'partner.tier == "gold" ? percent(6) : percent(4)'
`
	wiringPlans = `
id: channel
version: 1
routes: [partner]
root:
  id: root
  children:
    - {id: platform, party: platform, share: "20%", fallback: platform}
    - id: channel
      share: remaining
      children:
        - {id: distributor, party: distributor, share: {rule: distributor-share}}
        - {id: seller, party: seller, share: remaining}
`
)

// must ends the example on an error; a host returns it instead.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A host wires Ensemble from its documents in a few calls, then bills and
// settles a month: an order sold by a reseller under a distributor, its
// storage usage collected on the order's lines, March's invoice built and
// every line split through the plan. Seats: 5 × 20.00 = 100.00; storage:
// the peak of 250 GB, the first 100 free, 150 × 0.10 = 15.00. The platform
// takes 20%; of the rest, the gold distributor 6% and the reseller what
// remains.
func Example_wiring() {
	// At start-up: the catalog, the partner network and the rules that
	// govern it (no partner programs here), the settlement rules and plans.
	cat := must(catalog.LoadYAML([]byte(wiringCatalog)))
	net := must(partner.LoadNetwork([]byte(wiringNetwork)))
	penv := must(partner.Env())
	gov := must(partner.NewGovernance(net, nil, penv, must(penv.NewRuleSet())))
	senv := must(settlement.Env())
	ruleSet := must(senv.LoadRuleSet(rules.File{Name: "settlement-rules.yaml", Data: []byte(wiringRules)}))
	plans := must(settlement.ParsePlans([]byte(wiringPlans)))
	settler := must(settlement.New(settlement.Config{Plans: plans, Rules: ruleSet, Network: net}))
	builder := must(invoice.NewBuilder(cat, invoice.Options{}))
	meters := []usage.Meter{{ID: "storage_gb", Unit: "GB", Aggregation: usage.Max}}

	// The order, taken from draft to active on March 1.
	ctx := context.Background()
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	var o order.Order
	for _, cmd := range []order.Command{
		{Kind: order.CmdCreate, Order: "ord-1", Draft: &order.Draft{
			Customer: order.Customer{ID: "acme", Country: "NL"},
			Route:    partner.Route{Seller: "reseller-nl"},
			Lines:    []order.Line{{ID: "backup", Pin: catalog.Pin{Offer: "backup"}, Quantity: decimal.NewFromInt(5)}},
			Billing:  order.Billing{Anchor: day(3, 1)},
		}},
		{Kind: order.CmdQuote, ExpiresAt: day(3, 1)},
		{Kind: order.CmdAccept},
		{Kind: order.CmdBeginActivation},
		{Kind: order.CmdCompleteTask, Task: "backup"},
	} {
		var err error
		if o, _, err = o.Decide(ctx, order.Context{Catalog: cat, Governance: gov}, cmd, day(2, 26)); err != nil {
			panic(err)
		}
	}
	subs := []invoice.Subscription{must(invoice.FromOrder(o))}

	// April 1: March's usage records, collected on the order's lines, the
	// invoice of the run, and its lines settled.
	records := []usage.Record{
		{ID: "u1", Line: "ord-1/backup", Meter: "storage_gb", At: day(3, 9), Quantity: decimal.NewFromInt(250)},
		{ID: "u2", Line: "ord-1/backup", Meter: "storage_gb", At: day(3, 23), Quantity: decimal.NewFromInt(180)},
	}
	lines := must(builder.UsageLines(day(4, 1), subs...))
	rep := must(usage.Collect(usage.Config{Meters: meters, Lines: lines}, slices.Values(records)))
	invs := must(builder.Build(invoice.Run{After: day(3, 1), At: day(4, 1), Usage: rep.Aggregates}, subs))
	res := must(settler.Settle(ctx, settlement.State{}, must(settlement.FromInvoice(invs[0].Lines, o))))
	charge := map[settlement.LineID]catalog.ChargeID{}
	for _, l := range invs[0].Lines {
		fmt.Printf("%-8s %s\n", l.Charge, l.Net)
		charge[settlement.LineID(l.ID)] = l.Charge
	}
	for _, e := range res.Entries {
		fmt.Printf("  %-7s %-12s %s\n", charge[e.Line], e.Party, e.Amount)
	}
	// Output:
	// seats    EUR 100.00
	// storage  EUR 15.00
	//   seats   platform     EUR 20.00
	//   seats   distri-eu    EUR 4.80
	//   seats   reseller-nl  EUR 75.20
	//   storage platform     EUR 3.00
	//   storage distri-eu    EUR 0.72
	//   storage reseller-nl  EUR 11.28
}
