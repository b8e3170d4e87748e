package invoice_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// The promo trial (F1): Kunde takes 40 seats at EUR 30.00 from March 10,
// 30 from April 20 (cycles on the 1st, days end-exclusive, VAT 19%), with
// 25% off for two months and EUR 50.00 off a month for three months
// ("acme-50"), both from March 10, billed by runs on March 10, April 1,
// May 1 and June 1 (each given what the earlier ones issued).
const promoCatalog = `
offers:
  - id: nimbus-cloud
    version: 1
    name: Nimbus Cloud
    kind: product
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: seats
        name: Seats
        type: recurring
        cadence: {unit: monthly}
        timing: in_advance
        price: {model: per_unit, amount: "30.00"}
`

func promoDay(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

func promoSub(ds ...invoice.Discount) invoice.Subscription {
	p := catalog.Pin{Offer: "nimbus-cloud", Version: 1}
	return invoice.Subscription{ID: "kunde-sub", Customer: invoice.Customer{ID: "kunde", Region: "DE"}, Currency: ensemble.MustCurrency("EUR"),
		Anchor: promoDay(3, 1), Discounts: ds,
		Items: []invoice.Item{{ID: "seats", Segments: []invoice.Segment{
			{Start: promoDay(3, 10), End: promoDay(4, 20), Pin: p, Quantity: decimal.NewFromInt(40)},
			{Start: promoDay(4, 20), Pin: p, Quantity: decimal.NewFromInt(30)},
		}}}}
}

var (
	promoLaunch = invoice.Discount{ID: "launch", Percent: ensemble.MustRatio("25%"), Duration: invoice.Repeating,
		Length: ensemble.Every(2, ensemble.Monthly), Start: promoDay(3, 10)}
	promoAcme = invoice.Discount{ID: "acme-50", Amount: dec("50.00"), Duration: invoice.Repeating,
		Length: ensemble.Every(3, ensemble.Monthly), Start: promoDay(3, 10)}
)

// promoRuns bills s in runs ending at each of ats (each given the lines
// the earlier ones issued) and returns the invoices by run.
func promoRuns(t *testing.T, s invoice.Subscription, ats ...time.Time) []invoice.Invoice {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(promoCatalog))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive,
		Taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "de-vat", Region: "DE", Rate: ensemble.MustRatio("19%")}}}})
	require.NoError(t, err)
	var billed []invoice.Line
	var out []invoice.Invoice
	after := time.Time{}
	for _, at := range ats {
		invs, err := b.Build(invoice.Run{After: after, At: at, Billed: billed}, []invoice.Subscription{s})
		require.NoError(t, err)
		require.Len(t, invs, 1)
		inv, err := invoice.Issue(invs[0], at)
		require.NoError(t, err)
		billed = append(billed, inv.Lines...)
		out = append(out, inv)
		after = at
	}
	return out
}

// took is what discount id took of the positive lines of invs whose
// service starts in the cycle from start.
func took(invs []invoice.Invoice, id invoice.DiscountID, start time.Time) decimal.Decimal {
	sum := decimal.Zero
	for _, inv := range invs {
		for _, l := range inv.Lines {
			if !l.Cycle.Start.Equal(start) || !l.Amount.IsPositive() {
				continue
			}
			for _, d := range l.Discounts {
				if d.ID == id {
					sum = sum.Add(d.Amount.Amount())
				}
			}
		}
	}
	return sum
}

// The April 20 downgrade re-charges 30 seats for April 20 to May 1 on
// May's invoice: 330.00, 25% off (82.50), and nothing of acme-50, whose
// 50.00 for April April's line took on April's invoice: 247.50 + 47.03
// VAT, and May's invoice 702.18 + 133.42. It took acme-50 again: 197.50,
// May 652.18 + 123.92, the customer under-billed 50.00 + 9.50.
func TestFixedDiscountTakenOncePerCycleAcrossInvoices(t *testing.T) {
	invs := promoRuns(t, promoSub(promoLaunch, promoAcme), promoDay(3, 10), promoDay(4, 1), promoDay(5, 1), promoDay(6, 1))
	may := invs[2]
	require.Equal(t, "702.18", may.Subtotal.AmountString())
	require.Equal(t, "133.42", may.Tax.AmountString())
	var recharge *invoice.Line
	for i := range may.Lines {
		if l := &may.Lines[i]; l.Kind == invoice.KindRecurring && l.Period.Start.Equal(promoDay(4, 20)) {
			recharge = l
		}
	}
	require.NotNil(t, recharge, "the April 20 re-charge on May's invoice")
	require.Equal(t, "247.50", recharge.Net.AmountString())
	require.Equal(t, "47.03", recharge.Tax.AmountString())
	for _, c := range []struct {
		start time.Time
		want  string
	}{{promoDay(3, 1), "35.48"}, {promoDay(4, 1), "50.00"}, {promoDay(5, 1), "50.00"}, {promoDay(6, 1), "15.00"}} {
		require.True(t, took(invs, "acme-50", c.start).Equal(dec(c.want)), "the cycle from %s took %s of acme-50, want %s",
			c.start.Format(time.DateOnly), took(invs, "acme-50", c.start), c.want)
	}
}

// The same subscription (acme-50 only) billed in one run from March 10 to
// June 1 bills what the monthly runs bill, line by line: 3,591.13 (the
// monthly runs billed 3,541.13, April's 50.00 taken twice).
func TestFixedDiscountOneRunBillsAsMonthlyRuns(t *testing.T) {
	s := promoSub(promoAcme)
	one := promoRuns(t, s, promoDay(6, 1))
	monthly := promoRuns(t, s, promoDay(3, 10), promoDay(4, 1), promoDay(5, 1), promoDay(6, 1))
	lines := func(invs []invoice.Invoice) map[invoice.LineID]string {
		out := map[invoice.LineID]string{}
		for _, inv := range invs {
			for _, l := range inv.Lines {
				out[l.ID] = l.Amount.String() + " less " + l.Discount.String()
			}
		}
		return out
	}
	require.Equal(t, lines(one), lines(monthly))
	total := func(invs []invoice.Invoice) decimal.Decimal {
		sum := decimal.Zero
		for _, inv := range invs {
			sum = sum.Add(inv.Subtotal.Amount())
		}
		return sum
	}
	require.True(t, total(one).Equal(dec("3591.13")), "one run billed %s", total(one))
	require.True(t, total(monthly).Equal(dec("3591.13")), "monthly runs billed %s", total(monthly))
}

// Counted in cycles (Cycles 3: March's stub, April, May) acme-50 takes
// May's 50.00 off May's line alone: none of it goes to the April 20
// re-charge on May's invoice (it took 13.41 of it, attributed to April's
// service, April's cycle taking 63.41 and May's 36.59).
func TestFixedCyclesDiscountSpreadOnlyOverItsCycle(t *testing.T) {
	acme := invoice.Discount{ID: "acme-50", Amount: dec("50.00"), Duration: invoice.Repeating, Cycles: 3}
	invs := promoRuns(t, promoSub(acme), promoDay(3, 10), promoDay(4, 1), promoDay(5, 1), promoDay(6, 1))
	for _, c := range []struct {
		start time.Time
		want  string
	}{{promoDay(3, 1), "50.00"}, {promoDay(4, 1), "50.00"}, {promoDay(5, 1), "50.00"}, {promoDay(6, 1), "0"}} {
		require.True(t, took(invs, "acme-50", c.start).Equal(dec(c.want)), "the cycle from %s took %s of acme-50, want %s",
			c.start.Format(time.DateOnly), took(invs, "acme-50", c.start), c.want)
	}
}

// A run catching up a back-dated change takes a cycle's fixed amount once
// too: 45 seats from March 20 recorded on April 5 (after April's line was
// billed), with the cut to 30 seats on April 20, bills April anew at May's
// run with the 50.00 April's line took, and the April 20 re-charge, due
// after the run's After, takes nothing more of it (it took 50.00 again).
func TestFixedDiscountTakenOncePerCycleCatchingUp(t *testing.T) {
	s := promoSub(promoAcme)
	p := s.Items[0].Segments[0].Pin
	s.Items[0].Segments = []invoice.Segment{
		{Start: promoDay(3, 10), End: promoDay(3, 20), Pin: p, Quantity: decimal.NewFromInt(40), Recorded: promoDay(3, 10), EndRecorded: promoDay(4, 5)},
		{Start: promoDay(3, 20), End: promoDay(4, 20), Pin: p, Quantity: decimal.NewFromInt(45), Recorded: promoDay(4, 5), EndRecorded: promoDay(4, 5)},
		{Start: promoDay(4, 20), Pin: p, Quantity: decimal.NewFromInt(30), Recorded: promoDay(4, 5)},
	}
	known := s
	known.Items = []invoice.Item{{ID: "seats", Segments: []invoice.Segment{{Start: promoDay(3, 10), Pin: p, Quantity: decimal.NewFromInt(40), Recorded: promoDay(3, 10)}}}}
	cat, err := catalog.LoadYAML([]byte(promoCatalog))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	var billed []invoice.Line
	var invs []invoice.Invoice
	after := time.Time{}
	for _, r := range []struct {
		at time.Time
		s  invoice.Subscription
	}{{promoDay(3, 10), known}, {promoDay(4, 1), known}, {promoDay(5, 1), s}} {
		out, err := b.Build(invoice.Run{After: after, At: r.at, Billed: billed}, []invoice.Subscription{r.s})
		require.NoError(t, err)
		require.Len(t, out, 1)
		inv, err := invoice.Issue(out[0], r.at)
		require.NoError(t, err)
		billed = append(billed, inv.Lines...)
		invs = append(invs, inv)
		after = r.at
	}
	require.True(t, took(invs[2:], "acme-50", promoDay(4, 1)).Equal(dec("50.00")), "May's run took %s of acme-50 for April, want 50.00 (April billed anew)",
		took(invs[2:], "acme-50", promoDay(4, 1)))
}
