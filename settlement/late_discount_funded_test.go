package settlement_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
	"github.com/ensemble-commerce/ensemble/usage"
)

// lateT is what lateDiscountRuns needs of a test: a *testing.T or a
// *rapid.T.
type lateT interface {
	require.TestingT
	Helper()
}

// storeFunded is the store's plan (the platform 30%, the developer the
// rest) where the developer funds its "usage-15" promotion: the platform
// keeps 30% of the list price.
const storeFunded = `{id: store, version: 1, routes: [marketplace],
  discount_funding: [{discount: usage-15, node: developer}],
  root: {id: root, children: [{id: commission, party: platform, share: "30%"}, {id: developer, party: seller, share: remaining}]}}`

// lateDiscountRuns bills events usage of June (june events) and July
// (july events) in two monthly runs, the subscription's discount d
// recorded on d.Recorded, known to the runs at or after it, and settles
// every invoice under plan; it returns the entries of the runs, those of
// the late discount's credit lines, and those of one run billing both
// months knowing the discount, settled by s.
func lateDiscountRuns(t lateT, s *settlement.Settler, d invoice.Discount, june, july int64) (runs, credit, one []settlement.Entry) {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: app, version: 1, name: App, currency: EUR, effective_from: 2026-01-01T00:00:00Z,
     charges: [{id: events, name: Events, type: usage, meter: events, cadence: {unit: monthly}, price: {model: per_unit, amount: "0.10"}}]}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	known := func(at time.Time) invoice.Subscription {
		s := invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "c1", TaxExempt: true}, Currency: ensemble.MustCurrency("EUR"), Anchor: day(6, 1),
			Items: []invoice.Item{{ID: "app", Segments: []invoice.Segment{{Start: day(6, 1), Pin: catalog.Pin{Offer: "app", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
		if !d.Recorded.After(at) {
			s.Discounts = []invoice.Discount{d}
		}
		return s
	}
	events := func(m time.Month, n int64) usage.Aggregate {
		return usage.Aggregate{Line: "s1/app", Meter: "events", Aggregation: usage.Sum, Period: ensemble.MustPeriod(day(m, 1), day(m+1, 1)),
			Value: decimal.NewFromInt(n), Records: 1, Digest: usage.DigestOf(usage.RecordID("e" + m.String()))}
	}
	o := order.Order{ID: "s1", Customer: order.Customer{ID: "c1", Country: "NL"},
		Route: partner.Route{Kind: partner.RouteMarketplace, Chain: []partner.ID{"dev-1"}}}

	var issued []invoice.Line
	var st settlement.State
	after := day(6, 1)
	for _, r := range []struct {
		at    time.Time
		usage []usage.Aggregate
	}{{day(7, 1), []usage.Aggregate{events(time.June, june)}}, {day(8, 1), []usage.Aggregate{events(time.July, july)}}} {
		invs, err := b.Build(invoice.Run{After: after, At: r.at, Usage: r.usage, Billed: issued}, []invoice.Subscription{known(r.at)})
		require.NoError(t, err)
		after = r.at
		for _, inv := range invs {
			issued = append(issued, inv.Lines...)
			lines, err := settlement.FromInvoice(inv.Lines, o)
			require.NoError(t, err)
			res, err := s.Settle(ctx, st, lines)
			require.NoError(t, err, "run at %s", r.at.Format(time.DateOnly))
			st, runs = res.State, append(runs, res.Entries...)
			for i, l := range inv.Lines {
				if l.Kind == invoice.KindCreditNote {
					for _, e := range res.Entries {
						if e.Line == lines[i].ID {
							credit = append(credit, e)
						}
					}
				}
			}
		}
	}
	invs, err := b.Build(invoice.Run{At: day(8, 1), Usage: []usage.Aggregate{events(time.June, june), events(time.July, july)}}, []invoice.Subscription{known(day(8, 1))})
	require.NoError(t, err)
	lines, err := settlement.FromInvoice(invs[0].Lines, o)
	require.NoError(t, err)
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	return runs, credit, res.Entries
}

// A discount the developer funds ("usage-15", 15% off usage from June 1)
// recorded on July 10, after June's 4,000 events billed 400.00: the run
// of August 1 credits June's usage line 60.00, which comes off the
// developer's part alone (-60.00), the platform keeping its 30% of the
// list price (120.00 of June, 30.00 of July), as one run knowing the
// discount pays: the platform 150.00, the developer 275.00 (340.00 +
// 85.00 less 150.00). The credit listed no discount, and was reversed
// from both in proportion: the platform -18.00 (132.00 in all), the
// developer -42.00 (293.00).
func TestLateFundedDiscountCreditComesOffTheFunder(t *testing.T) {
	d := invoice.Discount{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Recorded: time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC)}
	runs, credit, one := lateDiscountRuns(t, planSettler(t, "["+storeFunded+"]", loadNetwork(t)), d, 4000, 1000)
	byCredit := byParty(credit, settlement.KindClawback)
	requireMoney(t, byCredit["dev-1"], eur("-60.00"), "the funder bears the late discount")
	requireMoney(t, byCredit["platform"], eur("0.00"), "the platform keeps its margin on the list price")
	got, want := byParty(runs, settlement.KindEarning, settlement.KindClawback), byParty(one, settlement.KindEarning, settlement.KindClawback)
	requireMoney(t, want["platform"], eur("150.00"), "one run")
	requireMoney(t, want["dev-1"], eur("275.00"), "one run")
	require.Len(t, got, len(want))
	for p, m := range want {
		requireMoney(t, got[p], m, "party %s", p)
	}
}

// Property: a percentage discount recorded after the usage it covers was
// billed, credited by the next run, settles so that every party is paid
// what one run knowing the discount pays: exactly when a node funds the
// discount (its credit comes off the funder alone, the others keep their
// margin on the list price), and within a minor unit each when none does
// (the credit is reversed from every party in proportion to what it was
// paid, where one run splits the discounted line: rounded apart), the
// parties' total exactly.
func TestPropertyLateDiscountSettlesAsOneRun(t *testing.T) {
	net := loadNetwork(t)
	settlers := map[bool]*settlement.Settler{true: planSettler(t, "["+storeFunded+"]", net), false: planSettler(t, "["+storeGross+"]", net)}
	rapid.Check(t, func(t *rapid.T) {
		funded := rapid.Bool().Draw(t, "funded")
		bp := rapid.IntRange(1, 6000).Draw(t, "basis_points")
		d := invoice.Discount{ID: "usage-15", Percent: ensemble.MustRatio(fmt.Sprintf("%d.%02d%%", bp/100, bp%100)),
			Recorded: time.Date(2026, 7, rapid.IntRange(2, 31).Draw(t, "recorded"), 0, 0, 0, 0, time.UTC)}
		june, july := rapid.Int64Range(1, 200000).Draw(t, "june"), rapid.Int64Range(1, 200000).Draw(t, "july")
		runs, _, one := lateDiscountRuns(t, settlers[funded], d, june, july)
		got, want := byParty(runs, settlement.KindEarning, settlement.KindClawback), byParty(one, settlement.KindEarning, settlement.KindClawback)
		require.Len(t, got, len(want))
		for p, m := range want {
			off, err := got[p].Sub(m)
			require.NoError(t, err)
			if funded {
				requireMoney(t, got[p], m, "party %s", p)
			} else {
				c, err := off.Abs().Cmp(ensemble.MustMoney("0.01", "EUR"))
				require.NoError(t, err)
				require.LessOrEqual(t, c, 0, "party %s: got %s, want %s", p, got[p], m)
			}
		}
		requireMoney(t, sumEntries(runs, settlement.KindEarning, settlement.KindClawback), sumEntries(one, settlement.KindEarning, settlement.KindClawback), "the parties share what was billed")
	})
}
