package settlement_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// gpuPlan pays the seller 20% of what a dollar line leaves after its
// supplier costs.
const gpuPlan = `
id: gpu
version: 1
currencies: [USD]
PAYABLE
root:
  id: root
  children:
    - {id: seller, party: seller, share: "20%"}
    - {id: platform, party: platform, share: remaining}
`

func usd(s string) ensemble.Money { return ensemble.MustMoney(s, "USD") }

// gpuLine invoices one month of a USD 1,000.00 bundle whose GPU supplier
// is owed EUR 160.00 a month, converted at the run's 1.08 dollars a euro:
// USD 172.80 of the line.
func gpuLine(t *testing.T) settlement.Line {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: gpu, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: gpu-suite
    version: 1
    kind: bundle
    currency: USD
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: monthly, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "1000.00"}}
    components:
      - {offer: gpu, supplier: gpuco, cost: {fixed: "160.00", currency: EUR}}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	eurUSD := catalog.Rate{From: ensemble.MustCurrency("EUR"), To: ensemble.MustCurrency("USD"), Rate: ensemble.MustRatio("1.08")}
	s := invoice.Subscription{ID: "sub-1", Customer: invoice.Customer{ID: "acme", Region: "NL"}, Currency: ensemble.MustCurrency("USD"), Anchor: at,
		Items: []invoice.Item{{ID: "l1", Segments: []invoice.Segment{{Start: at, Pin: catalog.Pin{Offer: "gpu-suite", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}
	invs, err := b.Build(invoice.Run{At: at, Rates: catalog.Rates{eurUSD}}, []invoice.Subscription{s})
	require.NoError(t, err)
	require.Len(t, invs, 1)
	o := order.Order{ID: "ord-1", Customer: order.Customer{ID: "acme", Country: "NL"},
		Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}}
	lines, err := settlement.FromInvoice(invs[0].Lines, o)
	require.NoError(t, err)
	require.Len(t, lines, 1)
	l := lines[0]
	require.Len(t, l.SupplierCosts, 1)
	c := l.SupplierCosts[0]
	require.True(t, c.Cost.Equal(usd("172.80")) && c.Source.Equal(eur("160.00")), "cost %s from %s", c.Cost, c.Source)
	return l
}

func gpuSettler(t *testing.T, payable string) *settlement.Settler {
	t.Helper()
	return planSettler(t, strings.Replace(gpuPlan, "PAYABLE", payable, 1), loadNetwork(t))
}

// paid returns what each party was paid in entries, by currency: "gpuco
// EUR" -> 160.00.
func paid(entries []settlement.Entry) map[string]string {
	sums := map[string]ensemble.Money{}
	for _, e := range entries {
		if e.Kind == settlement.KindReserve || e.Kind == settlement.KindRelease {
			continue
		}
		k := string(e.Party) + " " + e.Amount.Currency().Code()
		s, ok := sums[k]
		if !ok {
			sums[k] = e.Amount
			continue
		}
		var err error
		if sums[k], err = s.Add(e.Amount); err != nil {
			panic(err)
		}
	}
	out := map[string]string{}
	for k, v := range sums {
		out[k] = v.AmountString()
	}
	return out
}

// lineSum adds up entries' LineAmount.
func lineSum(t *testing.T, entries []settlement.Entry) ensemble.Money {
	t.Helper()
	total := usd("0")
	for _, e := range entries {
		var err error
		total, err = total.Add(e.LineAmount())
		require.NoError(t, err)
	}
	return total
}

// TestSupplierCostInItsOwnCurrency: a bundle's fixed cost of EUR 160.00 on
// a dollar line is paid to the supplier in euros, EUR 160.00, whatever the
// rate when it is paid out; the line pays USD 172.80 for it (at 1.08), and
// the seller's 20% and the platform share the USD 827.20 left: 165.44 and
// 661.76. Before, the supplier was paid USD 172.80, which a payout in
// euros at 1.0892 turned into EUR 158.65.
//
// A credit of a third (USD 333.33) takes USD 57.60, 55.15 and 220.58 off
// the three parts (largest remainder: 57.5994, 55.1461, 220.5845, the two
// cents left to the two largest remainders), and the supplier's USD 57.60
// is EUR 160.00 less cost(172.80 − 57.60 = 115.20) = 160.00 × 115.20 /
// 172.80 = 106.67 (106.666…, half up): EUR 53.33. Crediting the rest takes
// the EUR 106.67 left, so the supplier nets to zero in euros, as every
// party does in its currency.
func TestSupplierCostInItsOwnCurrency(t *testing.T) {
	l := gpuLine(t)
	s := gpuSettler(t, "")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"gpuco EUR": "160.00", "sub-utrecht USD": "165.44", "platform USD": "661.76"}, paid(res.Entries))
	require.True(t, lineSum(t, res.Entries).Equal(usd("1000.00")))
	cost := res.Entries[0]
	require.Equal(t, settlement.KindSupplierCost, cost.Kind)
	require.True(t, cmp.Equal(cost.Conversion, &settlement.Conversion{From: eur("160.00"), Rate: ensemble.MustRatio("1.08"), To: usd("172.80")}), "%+v", cost.Conversion)

	// The supplier's statement is in euros and pays EUR 160.00.
	sts, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: ensemble.Period{Start: date("2026-03-01"), End: date("2026-04-01")}})
	require.NoError(t, err)
	var gpuco *settlement.Statement
	for i := range sts {
		if sts[i].Party == "gpuco" {
			gpuco = &sts[i]
		}
	}
	require.NotNil(t, gpuco)
	require.True(t, gpuco.Payable.Equal(eur("160.00")), "payable %s", gpuco.Payable)

	// The ledger keeps the part in dollars, with its source.
	ll, ok := res.State.Line(l.ID)
	require.True(t, ok)
	require.True(t, ll.Parts[0].Amount.Equal(usd("172.80")) && ll.Parts[0].Source.Equal(eur("160.00")) && ll.Parts[0].Rate.Equal(ensemble.MustRatio("1.08")))

	// Metrics count the cost in the line's currency, and the supplier's
	// net in the currency it is paid in.
	ms, err := settlement.ComputeMetrics(res.Entries, ensemble.Period{Start: date("2026-03-01"), End: date("2026-04-01")}, "")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	require.Equal(t, "EUR", ms[0].Currency.Code())
	require.True(t, ms[0].GrossValue.IsZero() && len(ms[0].ByParty) == 1 && ms[0].ByParty[0].Amount.Equal(eur("160.00")))
	require.True(t, ms[1].GrossValue.Equal(usd("1000.00")) && ms[1].SupplierCosts.Equal(usd("172.80")) && ms[1].PlatformRevenue.Equal(usd("661.76")))

	// Explain shows the line in dollars and what the supplier is paid.
	text, err := settlement.Explain(l.ID, res.Entries)
	require.NoError(t, err)
	require.Contains(t, text, "USD 1000.00")
	require.Contains(t, text, "paid as EUR 160.00 (at 1.08)")

	credit := func(id, amount string) settlement.Line {
		return settlement.Line{ID: settlement.LineID(id), Credits: l.ID, Date: date("2026-03-20"), Amount: usd(amount).Neg(), Offer: l.Offer, Route: l.Route}
	}
	first, err := s.Settle(ctx, res.State, []settlement.Line{credit("C1", "333.33")})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"gpuco EUR": "-53.33", "sub-utrecht USD": "-55.15", "platform USD": "-220.58"}, paid(first.Entries))
	require.True(t, first.Entries[0].LineAmount().Equal(usd("-57.60")), "%s", first.Entries[0].LineAmount())
	rest, err := s.Settle(ctx, first.State, []settlement.Line{credit("C2", "666.67")})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"gpuco EUR": "-106.67", "sub-utrecht USD": "-110.29", "platform USD": "-441.18"}, paid(rest.Entries))
	all := append(append(append([]settlement.Entry{}, res.Entries...), first.Entries...), rest.Entries...)
	require.Equal(t, map[string]string{"gpuco EUR": "0.00", "sub-utrecht USD": "0.00", "platform USD": "0.00"}, paid(all))
	require.True(t, lineSum(t, all).IsZero())
}

// TestSupplierCostInItsOwnCurrencyDisputed: a dispute holds the EUR 160.00
// and releases it; a lost one claws it back in euros.
func TestSupplierCostInItsOwnCurrencyDisputed(t *testing.T) {
	l := gpuLine(t)
	s := gpuSettler(t, "")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	held, err := s.Dispute(res.State, l.ID, date("2026-03-10"))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"gpuco EUR": "160.00", "sub-utrecht USD": "165.44", "platform USD": "661.76"}, paid(held.Entries))
	lost, err := s.ResolveDispute(held.State, l.ID, false, date("2026-03-20"))
	require.NoError(t, err)
	var clawed []settlement.Entry
	for _, e := range lost.Entries {
		if e.Kind == settlement.KindClawback {
			clawed = append(clawed, e)
		}
	}
	require.Equal(t, map[string]string{"gpuco EUR": "-160.00", "sub-utrecht USD": "-165.44", "platform USD": "-661.76"}, paid(clawed))
}

// TestSupplierCostInItsOwnCurrencyOnCollection: on a line payable on
// collection, the customer's payment of half the invoice makes half the
// euro cost payable, EUR 80.00, and writing the rest off takes back what
// awaited payment: the supplier keeps EUR 80.00.
func TestSupplierCostInItsOwnCurrencyOnCollection(t *testing.T) {
	l := gpuLine(t)
	l.Invoice = "INV-1"
	s := gpuSettler(t, "payable: on_collection")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	half, err := s.Collect(res.State, settlement.Collection{ID: "P1", Date: date("2026-03-15"), Amount: usd("500.00"), Invoice: "INV-1"})
	require.NoError(t, err)
	var gpu []settlement.Entry
	for _, e := range half.Entries {
		if e.Party == "gpuco" {
			gpu = append(gpu, e)
		}
	}
	require.Len(t, gpu, 1)
	require.True(t, gpu[0].Amount.Equal(eur("80.00")) && gpu[0].LineAmount().Equal(usd("86.40")), "%s / %s", gpu[0].Amount, gpu[0].LineAmount())
	off, err := s.WriteOff(half.State, settlement.Collection{ID: "W1", Date: date("2026-04-15"), Amount: usd("500.00"), Invoice: "INV-1"})
	require.NoError(t, err)
	all := append(append(append([]settlement.Entry{}, res.Entries...), half.Entries...), off.Entries...)
	sts, err := settlement.Statements(all, settlement.StatementOptions{Period: ensemble.Period{Start: date("2026-03-01"), End: date("2026-05-01")}})
	require.NoError(t, err)
	payable := map[string]string{}
	for _, st := range sts {
		payable[string(st.Party)+" "+st.Currency.Code()] = st.Payable.AmountString()
	}
	require.Equal(t, map[string]string{"gpuco EUR": "80.00", "sub-utrecht USD": "82.72", "platform USD": "330.88"}, payable)
}

// TestSupplierCostSourceRoundTrips: the source survives JSON and the
// binary form, and a state whose source breaks the ledger is refused.
func TestSupplierCostSourceRoundTrips(t *testing.T) {
	l := gpuLine(t)
	s := gpuSettler(t, "")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	js, err := json.Marshal(res.State)
	require.NoError(t, err)
	require.Contains(t, string(js), `"source":{"amount":"160.00","currency":"EUR"},"rate":"1.08"`)
	var back settlement.State
	require.NoError(t, json.Unmarshal(js, &back))
	bin, err := res.State.MarshalBinary()
	require.NoError(t, err)
	var fromBin settlement.State
	require.NoError(t, fromBin.UnmarshalBinary(bin))
	for _, st := range []settlement.State{back, fromBin} {
		c, err := s.Settle(ctx, st, []settlement.Line{{ID: "C1", Credits: l.ID, Date: date("2026-03-20"), Amount: usd("-333.33"), Offer: l.Offer, Route: l.Route}})
		require.NoError(t, err)
		require.Equal(t, "-53.33", c.Entries[0].Amount.AmountString())
	}

	for _, tc := range []struct{ name, from, to, want string }{
		{"a source in the line's currency", `"source":{"amount":"160.00","currency":"EUR"}`, `"source":{"amount":"172.80","currency":"USD"}`, "in the line's currency"},
		{"a source the rate does not make the amount", `"amount":"160.00","currency":"EUR"`, `"amount":"150.00","currency":"EUR"`, "is not the amount"},
		{"a rate without a source", `"source":{"amount":"160.00","currency":"EUR"},`, ``, "without a source"},
		{"no rate", `,"rate":"1.08"`, ``, "positive rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(js), tc.from, tc.to, 1)
			require.NotEqual(t, string(js), bad)
			var st settlement.State
			err := json.Unmarshal([]byte(bad), &st)
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			var se *settlement.StateError
			require.True(t, errors.As(err, &se), "%v", err)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestSupplierCostSourceChecked: a line whose supplier cost's source does
// not make its cost is refused, naming the field.
func TestSupplierCostSourceChecked(t *testing.T) {
	s := gpuSettler(t, "")
	for _, tc := range []struct {
		name string
		edit func(c *catalog.SupplierCost)
		want string
	}{
		{"a source in the line's currency", func(c *catalog.SupplierCost) { c.Source = usd("172.80") }, "in the line's currency"},
		{"no rate", func(c *catalog.SupplierCost) { c.Rate = ensemble.Ratio{} }, "no positive rate"},
		{"a cost that is not source × rate", func(c *catalog.SupplierCost) { c.Cost = usd("180.00") }, "is not source EUR 160.00 × rate 1.08"},
		{"a negative source", func(c *catalog.SupplierCost) { c.Source = eur("-160.00") }, "positive"},
		{"a rate without a source", func(c *catalog.SupplierCost) { c.Source = ensemble.Money{} }, "without a source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := gpuLine(t)
			tc.edit(&l.SupplierCosts[0])
			_, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
			require.ErrorIs(t, err, settlement.ErrInvalidLine)
			require.ErrorContains(t, err, "supplier_costs[0].source")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestBinaryVersion1StillReads: a state written by version 1 of the binary
// form, whose ledger parts had no source (two bundleLine sales under
// bundlePlan, written before sources), reads as the JSON written with it
// and settles a credit.
func TestBinaryVersion1StillReads(t *testing.T) {
	fromBin := versionedState(t, 1)
	s := planSettler(t, bundlePlan, loadNetwork(t))
	res, err := s.Settle(ctx, fromBin, []settlement.Line{bearerCredit("C1", "-100.00", "2026-03-10", settlement.Bearer{})})
	require.NoError(t, err)
	require.NotEmpty(t, res.Entries)
}
