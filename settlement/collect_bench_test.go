package settlement_test

import (
	"fmt"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// BenchmarkCollect applies a payment of half of one line to a state of
// 1,000 lines payable on collection: a call copies the state's maps and
// reads every line once (the id must not have been applied), so its cost
// grows with the lines held; shard large states.
func BenchmarkCollect(b *testing.B) {
	s := planSettler(b, collectPlan, loadNetwork(b))
	lines := make([]settlement.Line, 1000)
	for i := range lines {
		lines[i] = collectLine(fmt.Sprintf("L%04d", i))
	}
	res, err := s.Settle(ctx, settlement.State{}, lines)
	if err != nil {
		b.Fatal(err)
	}
	c := settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: ensemble.MustMoney("59.50", "EUR"), Lines: []settlement.LineID{"L0500"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Collect(res.State, c); err != nil {
			b.Fatal(err)
		}
	}
}
