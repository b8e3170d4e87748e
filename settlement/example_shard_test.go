package settlement_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// Split a state by line, settle a credit against the credited line's part
// alone, and merge the parts back.
func ExampleMergeStates() {
	s, ctx := exampleSettler(), context.Background()
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{exampleLine("L1", "1000.00"), exampleLine("L2", "400.00")})
	if err != nil {
		panic(err)
	}
	l1 := func(id settlement.LineID) bool { return id == "L1" }
	part := res.State.SplitByLine(l1)
	rest := res.State.SplitByLine(func(id settlement.LineID) bool { return !l1(id) })
	credit := settlement.Line{ID: "C1", Credits: "L1", Date: exampleLine("C1", "0").Date.AddDate(0, 0, 9), Amount: ensemble.MustMoney("-100.00", "EUR")}
	done, err := s.Settle(ctx, part, []settlement.Line{credit})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(done.Entries), "clawbacks from", part.Len(), "ledger line")
	merged, err := settlement.MergeStates(done.State, rest)
	if err != nil {
		panic(err)
	}
	ll, _ := merged.Line("L1")
	fmt.Println(merged.Len(), "lines; L1 credited", ll.Credited)
	_, err = settlement.MergeStates(done.State, res.State)
	fmt.Println(errors.Is(err, settlement.ErrStateOverlap))
	// Output:
	// 5 clawbacks from 1 ledger line
	// 2 lines; L1 credited EUR 100.00
	// true
}

// Settle what can be settled: a line already settled and a credit of an
// unknown line are rejected, the rest settles.
func ExampleSettler_SettleWhatYouCan() {
	s, ctx := exampleSettler(), context.Background()
	first, err := s.Settle(ctx, settlement.State{}, []settlement.Line{exampleLine("L1", "1000.00")})
	if err != nil {
		panic(err)
	}
	unknown := settlement.Line{ID: "C9", Credits: "L9", Date: exampleLine("C9", "0").Date, Amount: ensemble.MustMoney("-1.00", "EUR")}
	res, err := s.SettleWhatYouCan(ctx, first.State, []settlement.Line{exampleLine("L1", "5.00"), exampleLine("L2", "400.00"), unknown})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.State.Len(), "lines settled,", len(res.Entries), "new entries")
	for _, r := range res.Rejections {
		fmt.Println(r.Line, errors.Is(r, settlement.ErrAlreadySettled), errors.Is(r, settlement.ErrUnknownLine))
	}
	// Output:
	// 2 lines settled, 5 new entries
	// L1 true false
	// C9 false true
}
