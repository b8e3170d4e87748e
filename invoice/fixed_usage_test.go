package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// Monthly usage (1.00 a call) beside a quarterly platform fee in arrears
// (300.00), on monthly cycles from April 1, with 50.00 off a month.
const fixedUsageCatalog = `
offers:
  - id: relay
    version: 1
    name: Relay
    kind: product
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: calls, name: Calls, type: usage, meter: calls, cadence: {unit: monthly}, price: {model: per_unit, amount: "1.00"}}
      - {id: platform, name: Platform, type: recurring, cadence: {unit: quarterly}, timing: in_arrears, price: {model: flat, amount: "300.00"}}
`

func fixedUsageSub() invoice.Subscription {
	s := sub("relay-sub", date(2026, 4, 1), item("relay", seg(date(2026, 4, 1), time.Time{}, pin("relay", 1), "1")))
	s.Customer.TaxExempt = true
	s.Discounts = []invoice.Discount{{ID: "off-50", Amount: dec("50.00"), Duration: invoice.Forever}}
	return s
}

func fixedUsageBuilder(t *testing.T) *invoice.Builder {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(fixedUsageCatalog))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	return b
}

// fixedUsageCalls is the usage of the month from m: April 30 calls, May
// 10, June 100.
func fixedUsageCalls(m time.Month) usage.Aggregate {
	calls := map[time.Month]string{4: "30", 5: "10", 6: "100"}[m]
	id := usage.RecordID("r" + m.String())
	return usage.Aggregate{Line: "relay-sub/relay", Meter: "calls", Aggregation: usage.Sum,
		Period: ensemble.MustPeriod(date(2026, m, 1), date(2026, m+1, 1)), Value: dec(calls), Records: 1, Digest: usage.DigestOf(id)}
}

// fixedUsageTook is what off-50 took of the lines of invs whose service
// starts in the cycle from start, by charge.
func fixedUsageTook(invs []invoice.Invoice, start time.Time) map[catalog.ChargeID]string {
	out := map[catalog.ChargeID]string{}
	for _, inv := range invs {
		for _, l := range inv.Lines {
			if !l.Cycle.Start.Equal(start) && !l.Period.Start.Equal(start) {
				continue
			}
			for _, d := range l.Discounts {
				if d.ID == "off-50" {
					out[l.Charge] = d.Amount.AmountString()
				}
			}
		}
	}
	return out
}

// Monthly runs bill April's 30 calls on May 1 (30.00 of April's 50.00
// taken off them) and the quarter's 300.00 platform fee on July 1, whose
// service starts in April: it takes the 20.00 April's usage left, as one
// run from April 1 to July 1 does (it took 50.00 again: the run could not
// bill April's usage line again without its usage and counted it idle,
// the customer under-billed 30.00 without an error). The run reads what
// April's usage line took from Run.Billed.
func TestFixedDiscountUsageBilledEarlierAndQuarterInArrears(t *testing.T) {
	b := fixedUsageBuilder(t)
	s := fixedUsageSub()
	var billed []invoice.Line
	var monthly []invoice.Invoice
	after := time.Time{}
	for _, m := range []time.Month{4, 5, 6} {
		at := date(2026, m+1, 1)
		inv := build1(t, b, invoice.Run{After: after, At: at, Usage: []usage.Aggregate{fixedUsageCalls(m)}, Billed: billed}, s)
		inv, err := invoice.Issue(inv, at)
		require.NoError(t, err)
		billed = append(billed, inv.Lines...)
		monthly = append(monthly, inv)
		after = at
	}
	want := map[catalog.ChargeID]string{"calls": "30.00", "platform": "20.00"}
	require.Equal(t, want, fixedUsageTook(monthly, date(2026, 4, 1)), "monthly runs")
	require.Equal(t, "330.00", monthly[2].Subtotal.AmountString(), "July's invoice: June's 100 calls less 50.00, the platform fee less 20.00")

	one := build1(t, b, invoice.Run{At: date(2026, 7, 1),
		Usage: []usage.Aggregate{fixedUsageCalls(4), fixedUsageCalls(5), fixedUsageCalls(6)}}, s)
	require.Equal(t, want, fixedUsageTook([]invoice.Invoice{one}, date(2026, 4, 1)), "one run")
}
