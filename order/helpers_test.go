package order_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

// storeYAML is the catalog the tests sell from: storage in two versions
// (v1 until July 2026), backup seats with bounds, a security product, a
// bundle of storage and backup from two suppliers, an add-on for storage and
// the bundle, and a product priced in USD.
const storeYAML = `
offers:
  - id: storage
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    effective_until: 2026-07-01T00:00:00Z
    category: storage
    charges:
      - {id: base, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "9.00"}}
  - id: storage
    version: 2
    currency: EUR
    effective_from: 2026-07-01T00:00:00Z
    category: storage
    charges:
      - {id: base, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "11.00"}}
  - id: backup
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    category: backup
    min_quantity: 1
    max_quantity: 500
    charges:
      - {id: seats, type: recurring, cadence: {unit: monthly}, timing: in_arrears, price: {model: per_unit, amount: "3.50"}}
  - id: firewall
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    category: security
    charges:
      - {id: fw, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "40"}}
  - id: suite
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    category: backup
    min_quantity: 1
    charges:
      - {id: licence, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "25.00"}}
    components:
      - {offer: storage, supplier: supplier-secure, cost: {ratio: "40%"}}
      - {offer: backup, supplier: supplier-backup, quantity: 2, cost: {fixed: "3.00"}}
  - id: extra-ip
    version: 1
    kind: add_on
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    min_quantity: 1
    max_quantity: 5
    attaches_to: [storage, suite]
    charges:
      - {id: ip, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "2"}}
  - id: dollar
    version: 1
    currency: USD
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: d, type: one_time, price: {model: flat, amount: "1"}}
`

var ctx = context.Background()

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func mustCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.LoadYAML([]byte(storeYAML))
	require.NoError(t, err)
	return c
}

var channel = partner.Program{
	ID: "channel", Name: "Channel program",
	SellPolicy: "channel-sell", DiscountAllowance: "channel-discount",
	ApprovalNeeded: "channel-approval-needed", Approver: "channel-approver",
}

func mustGovernance(t testing.TB) *partner.Governance {
	t.Helper()
	b, err := os.ReadFile("testdata/network.yaml")
	require.NoError(t, err)
	net, err := partner.LoadNetwork(b)
	require.NoError(t, err)
	env, err := partner.Env()
	require.NoError(t, err)
	rb, err := os.ReadFile("testdata/rules.yaml")
	require.NoError(t, err)
	rs, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: rb})
	require.NoError(t, err)
	g, err := partner.NewGovernance(net, []partner.Program{channel}, env, rs)
	require.NoError(t, err)
	return g
}

var (
	fixtureCat *catalog.Catalog
	fixtureGov *partner.Governance
)

// env returns the catalog and governance the tests share (both immutable).
func env(t testing.TB) order.Context {
	t.Helper()
	if fixtureCat == nil {
		fixtureCat, fixtureGov = mustCatalog(t), mustGovernance(t)
	}
	return order.Context{Catalog: fixtureCat, Governance: fixtureGov}
}

// nlDraft is a reseller-nl order for an SMB customer in the Netherlands: 10
// suites with 2 extra IPs and 5 backup seats.
func nlDraft() *order.Draft {
	return &order.Draft{
		Customer: order.Customer{ID: "acme", Country: "NL", Segment: "smb", TaxStatus: order.ReverseCharge, TaxID: "NL123456789B01"},
		Route:    partner.Route{Seller: "reseller-nl"},
		Lines: []order.Line{
			{ID: "l2", Pin: catalog.Pin{Offer: "backup"}, Quantity: dec("5")},
			{ID: "l1", Pin: catalog.Pin{Offer: "suite"}, Quantity: dec("10"), AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "extra-ip"}, Quantity: dec("2")}}},
		},
		Term:    order.Term{Length: ensembleEvery(12), AutoRenew: true},
		Billing: order.Billing{TimeZone: "Europe/Amsterdam"},
	}
}

// step applies one command and requires it to succeed.
func step(t testing.TB, e order.Context, o order.Order, events *[]order.Event, cmd order.Command, at time.Time) order.Order {
	t.Helper()
	next, evs, err := o.Decide(ctx, e, cmd, at)
	require.NoError(t, err)
	*events = append(*events, evs...)
	return next
}

// activeOrder takes nlDraft to active: created and quoted on March 1 2026,
// accepted March 3, activated (all three tasks done) March 5.
func activeOrder(t testing.TB) (order.Order, []order.Event) {
	t.Helper()
	return activeOrderOf(t, "ord-1", nlDraft())
}

// activeOrderOf takes draft to active as activeOrder takes nlDraft.
func activeOrderOf(t testing.TB, id order.ID, draft *order.Draft) (order.Order, []order.Event) {
	t.Helper()
	e := env(t)
	var evs []order.Event
	o := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: id, Draft: draft, Actor: "seller-joe"}, day("2026-03-01"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-03-31")}, day("2026-03-01"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdAccept, Actor: "acme-buyer"}, day("2026-03-03"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdBeginActivation}, day("2026-03-03"))
	for _, task := range o.Tasks {
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: task.ID, Actor: "supplier"}, day("2026-03-05"))
	}
	require.Equal(t, order.StatusActive, o.Status)
	return o, evs
}

// cmpOpts compares orders: decimals, Money, Ratios and instants by their
// Equal methods, nil and empty slices alike.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

// requireSame fails with a diff when got and want differ.
func requireSame(t testing.TB, got, want any, msg ...any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		t.Fatalf("%v mismatch (-want +got):\n%s", msg, d)
	}
}

func ensembleEvery(months int) ensemble.Cadence { return ensemble.Every(months, ensemble.Monthly) }
