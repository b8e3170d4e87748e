package invoice_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

// benchInput is n subscriptions with three charges each: Pro seats in
// advance, support in arrears and API usage, billed for one month.
func benchInput(n int) (invoice.Run, []invoice.Subscription) {
	anchor := date(2026, 1, 1)
	run := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1)}
	subs := make([]invoice.Subscription, n)
	march := ensemble.MustPeriod(date(2026, 3, 1), date(2026, 4, 1))
	for i := range subs {
		id := fmt.Sprintf("sub-%06d", i)
		subs[i] = invoice.Subscription{
			ID: invoice.SubscriptionID(id), Customer: invoice.Customer{ID: invoice.CustomerID("c-" + id), Region: "FR"},
			Currency: eur, Anchor: anchor,
			Items: []invoice.Item{
				{ID: "plan", Segments: []invoice.Segment{{Start: anchor, Pin: pin("pro", 1), Quantity: dec(fmt.Sprint(1 + i%7))}}},
				{ID: "help", Segments: []invoice.Segment{{Start: anchor, Pin: pin("support", 1), Quantity: dec("2")}}},
				{ID: "api", Segments: []invoice.Segment{{Start: anchor, Pin: pin("api", 1), Quantity: dec("1")}}},
			},
		}
		run.Usage = append(run.Usage, usage.Aggregate{Line: usage.LineRef(id + "/api"), Meter: "api_calls", Aggregation: usage.Sum,
			Period: march, Value: dec(fmt.Sprint(100 + i%5000)), Records: 10, Digest: usage.DigestOf(usage.RecordID(id))})
	}
	return run, subs
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("subscriptions=%d", n), func(b *testing.B) {
			bl := builder(b, invoice.Options{Taxes: taxes})
			run, subs := benchInput(n)
			// One untimed build first, so the figure is a billing process's
			// steady state rather than a cold heap growing to hold 100,000
			// invoices.
			if _, err := bl.Build(run, subs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			lines := 0
			for b.Loop() {
				invs, err := bl.Build(run, subs)
				if err != nil {
					b.Fatal(err)
				}
				for _, inv := range invs {
					lines += len(inv.Lines)
				}
			}
			if lines != 3*n*b.N {
				b.Fatalf("%d lines, want %d", lines, 3*n*b.N)
			}
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

func BenchmarkCreditNoteFull(b *testing.B) {
	inv := issuedInvoice(b, invoice.TaxPerLine)
	at := date(2026, 4, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "1", Reason: invoice.ReasonRefund, At: at, Full: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExplain(b *testing.B) {
	inv := issuedInvoice(b, invoice.TaxPerLine)
	b.ReportAllocs()
	for b.Loop() {
		_ = invoice.Explain(inv.Lines[0])
	}
}

func TestBenchInputBuilds(t *testing.T) {
	run, subs := benchInput(10)
	invs, err := builder(t, invoice.Options{Taxes: taxes}).Build(run, subs)
	require.NoError(t, err)
	require.Len(t, invs, 10)
	for _, inv := range invs {
		require.Len(t, inv.Lines, 3)
		require.NoError(t, inv.Check())
		require.True(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Equal(inv.Date))
	}
}
