package settlement_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

const (
	// Connectivity billed monthly in arrears, a router rented in advance.
	contractCatalog = `
offers:
  - id: connect
    version: 1
    name: Business Fibre
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: link, name: Fibre link, type: recurring, cadence: {unit: monthly}, timing: in_arrears, price: {model: flat, amount: "100.00"}}
      - {id: router, name: Router rental, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "10.00"}}
`
	contractNetwork = `
partners:
  - {id: referral-ams, name: Amsterdam Referrals, type: referral, terms: [{from: 2025-01-01T00:00:00Z}]}
`
	// The referral program: 5% of the first year's service, one rule for
	// every deal. The service's start, not the line's date: the link's
	// twelfth month is billed in arrears, on the first day of the
	// thirteenth.
	contractRules = `
- id: first-year-referral
  version: 1
  kind: share
  env_version: 3
  description: 5% of the contract's first twelve months
  expression: 'months_since(line.contract_start, line.service_start) < 12 ? percent(5) : percent(0)'
`
	contractPlans = `
id: referral
version: 1
routes: [referral]
root:
  id: root
  children:
    - {id: referral, party: referrer, share: {rule: first-year-referral}}
    - {id: platform, party: platform, share: remaining}
`
)

// A referral partner earns 5% of a customer's connectivity for the first
// twelve months of the contract, one rule for every deal (before, a rule
// could not tell when a deal started, and hosts wrote
// line.date < timestamp("2027-01-15T00:00:00Z") per deal). The invoice's
// lines carry the subscription's start (activated on 2026-01-15),
// FromInvoice hands it to the settlement lines as ContractStart, and the
// rule reads it beside the service each line bills. In the first month the
// referrer earns 5% of every line; in the run of 2027-01-15, the link's
// December–January service (the contract's twelfth month, billed in
// arrears, dated in the thirteenth) still pays it EUR 5.00, and the router
// rented in advance for January–February (the thirteenth month) pays it
// nothing: the platform keeps EUR 10.00.
func ExampleFromInvoice_firstYearReferral() {
	cat := must(catalog.LoadYAML([]byte(contractCatalog)))
	net := must(partner.LoadNetwork([]byte(contractNetwork)))
	senv := must(settlement.Env())
	ruleSet := must(senv.LoadRuleSet(rules.File{Name: "settlement-rules.yaml", Data: []byte(contractRules)}))
	settler := must(settlement.New(settlement.Config{Plans: must(settlement.ParsePlans([]byte(contractPlans))), Rules: ruleSet, Network: net}))
	builder := must(invoice.NewBuilder(cat, invoice.Options{}))

	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	sub := invoice.Subscription{ID: "sub-acme", Customer: invoice.Customer{ID: "acme"}, Currency: ensemble.MustCurrency("EUR"),
		Anchor: day(2026, 1, 15), Items: []invoice.Item{{ID: "fibre", Segments: []invoice.Segment{
			{Start: day(2026, 1, 15), Pin: catalog.Pin{Offer: "connect", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
	// The sale as the order recorded it: the platform sold, referral-ams
	// referred the customer.
	sale := order.Order{Customer: order.Customer{ID: "acme", Country: "NL"},
		Route: partner.Route{Kind: partner.RouteReferral, Referrer: "referral-ams"}}

	state := settlement.State{}
	for _, run := range []invoice.Run{
		{After: day(2026, 1, 14), At: day(2026, 2, 15)},
		{After: day(2026, 12, 15), At: day(2027, 1, 15)},
	} {
		inv := must(builder.Build(run, []invoice.Subscription{sub}))[0]
		lines := must(settlement.FromInvoice(inv.Lines, sale))
		res := must(settler.Settle(context.Background(), state, lines))
		state = res.State
		fmt.Printf("run %s\n", run.At.Format(time.DateOnly))
		for _, l := range lines {
			fmt.Printf("  %-6s %s to %s (contract from %s) %s\n", l.Charge, l.Service.Start.Format(time.DateOnly),
				l.Service.End.Format(time.DateOnly), l.ContractStart.Format(time.DateOnly), l.Amount)
			for _, e := range res.Entries {
				if e.Line == l.ID {
					fmt.Printf("    %-12s %s\n", e.Party, e.Amount)
				}
			}
		}
	}
	// Output:
	// run 2026-02-15
	//   link   2026-01-15 to 2026-02-15 (contract from 2026-01-15) EUR 100.00
	//     referral-ams EUR 5.00
	//     platform     EUR 95.00
	//   router 2026-01-15 to 2026-02-15 (contract from 2026-01-15) EUR 10.00
	//     referral-ams EUR 0.50
	//     platform     EUR 9.50
	//   router 2026-02-15 to 2026-03-15 (contract from 2026-01-15) EUR 10.00
	//     referral-ams EUR 0.50
	//     platform     EUR 9.50
	// run 2027-01-15
	//   link   2026-12-15 to 2027-01-15 (contract from 2026-01-15) EUR 100.00
	//     referral-ams EUR 5.00
	//     platform     EUR 95.00
	//   router 2027-01-15 to 2027-02-15 (contract from 2026-01-15) EUR 10.00
	//     platform     EUR 10.00
}
