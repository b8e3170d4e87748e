package invoice_test

import (
	"errors"
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

// The July 1 run needs April's usage line in Run.Billed to tell what it
// took of April's 50.00: without it, the run is refused with a
// *UsageError wrapping ErrBilledIncomplete naming April's usage period
// (it billed the platform fee 50.00 off, taking April's usage for idle).
// With Run.Billed holding the subscription's lines but none of April's
// usage, whose idle usage bills nothing, April was idle: the platform fee
// takes the whole 50.00, as one run given no April usage does.
func TestFixedDiscountUsageBilledEarlierNeedsItsLine(t *testing.T) {
	b := fixedUsageBuilder(t)
	s := fixedUsageSub()
	june := []usage.Aggregate{fixedUsageCalls(6)}
	_, err := b.Build(invoice.Run{After: date(2026, 6, 1), At: date(2026, 7, 1), Usage: june}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrBilledIncomplete)
	var ue *invoice.UsageError
	require.True(t, errors.As(err, &ue), "%v", err)
	require.Equal(t, usage.MeterID("calls"), ue.Meter)
	require.True(t, ue.Period.Start.Equal(date(2026, 4, 1)), "%v", ue.Period)
	require.True(t, ue.Due.Equal(date(2026, 5, 1)), "%v", ue.Due)

	// April idle: only May's usage was billed (on June 1).
	may := build1(t, b, invoice.Run{After: date(2026, 5, 1), At: date(2026, 6, 1), Usage: []usage.Aggregate{fixedUsageCalls(5)}}, s)
	may, err = invoice.Issue(may, date(2026, 6, 1))
	require.NoError(t, err)
	july := build1(t, b, invoice.Run{After: date(2026, 6, 1), At: date(2026, 7, 1), Usage: june, Billed: may.Lines}, s)
	require.Equal(t, map[catalog.ChargeID]string{"platform": "50.00"}, fixedUsageTook([]invoice.Invoice{july}, date(2026, 4, 1)))
	one := build1(t, b, invoice.Run{At: date(2026, 7, 1), Usage: []usage.Aggregate{fixedUsageCalls(5), fixedUsageCalls(6)}}, s)
	require.Equal(t, map[catalog.ChargeID]string{"platform": "50.00"}, fixedUsageTook([]invoice.Invoice{one}, date(2026, 4, 1)))
}

// Late usage of April billed on May 20 (70 calls more, 100 in all) takes
// what April's 30 calls left of its 50.00, 20.00, as one run billing April's
// 100 calls takes 50.00 off them (it took 50.00 again: 80.00 for April).
// Without April's usage line in Run.Billed the run cannot tell, and is
// refused with a *UsageError wrapping ErrBilledIncomplete.
func TestFixedDiscountLateUsageTakesWhatTheCycleLeft(t *testing.T) {
	b := fixedUsageBuilder(t)
	s := fixedUsageSub()
	apr := fixedUsageCalls(4)
	may := build1(t, b, invoice.Run{At: date(2026, 5, 1), Usage: []usage.Aggregate{apr}}, s)
	may, err := invoice.Issue(may, date(2026, 5, 1))
	require.NoError(t, err)
	late := apr
	late.Value, late.Records, late.Late, late.Digest = dec("70"), 1, true, usage.DigestOf("rLate")
	run := invoice.Run{After: date(2026, 5, 1), At: date(2026, 5, 20), Late: []invoice.LateUsage{{Billed: apr, Late: late}}}
	_, err = b.Build(run, []invoice.Subscription{s})
	var ue *invoice.UsageError
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, invoice.ErrBilledIncomplete)
	require.True(t, ue.Period.Start.Equal(date(2026, 4, 1)), "%v", ue.Period)

	run.Billed = may.Lines
	adj := build1(t, b, run, s)
	require.Len(t, adj.Lines, 1)
	require.Equal(t, invoice.KindUsageAdjustment, adj.Lines[0].Kind)
	require.Equal(t, "70.00", adj.Lines[0].Amount.AmountString())
	require.Equal(t, "20.00", adj.Lines[0].Discount.AmountString())

	all := apr
	all.Value = dec("100")
	one := build1(t, b, invoice.Run{At: date(2026, 5, 1), Usage: []usage.Aggregate{all}}, s)
	require.Equal(t, map[catalog.ChargeID]string{"calls": "50.00"}, fixedUsageTook([]invoice.Invoice{one}, date(2026, 4, 1)))
}
