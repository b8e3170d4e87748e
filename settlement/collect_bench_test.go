package settlement_test

import (
	"fmt"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// BenchmarkCollect applies payments of half a line to a state of 1,000
// and 100,000 lines payable on collection, three to an invoice: one line
// named, and (by_invoice) a payment of an invoice, each a new collection
// of another invoice. A collection finds its invoice's lines, and whether
// its id was applied, in the state's indexes, so its cost does not grow
// with the lines held (a pass over every line cost 14 ms a payment at
// 100,000 lines).
func BenchmarkCollect(b *testing.B) {
	s := planSettler(b, collectPlan, loadNetwork(b))
	for _, n := range []int{1_000, 100_000} {
		lines := make([]settlement.Line, n)
		for i := range lines {
			lines[i] = collectLine(fmt.Sprintf("L%06d", i))
			lines[i].Invoice = fmt.Sprintf("INV-%d", i/3)
		}
		res, err := s.Settle(ctx, settlement.State{}, lines)
		if err != nil {
			b.Fatal(err)
		}
		for _, byInvoice := range []bool{false, true} {
			name := fmt.Sprintf("lines_%d", n)
			if byInvoice {
				name += "_by_invoice"
			}
			b.Run(name, func(b *testing.B) {
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					c := settlement.Collection{ID: fmt.Sprintf("PAY-%d", i), Date: date("2026-03-20"), Amount: ensemble.MustMoney("59.50", "EUR")}
					if byInvoice {
						c.Invoice = fmt.Sprintf("INV-%d", i%(n/3))
					} else {
						c.Lines = []settlement.LineID{lines[i%n].ID}
					}
					if _, err := s.Collect(res.State, c); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
