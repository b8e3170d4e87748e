package settlement_test

import (
	"testing"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestSettleOneLinePerCallAllocatesNothingOfItsOwn: a host settling each
// line as it is issued (AppendSettle into a reused buffer, one line per
// call) makes no allocation of its own per call, only a share of the
// chunks entry ids, ledgers and notes are kept in (the README's per-call
// figures say 0 allocs/op). A check the settler runs on every line that
// formats or copies what it does not report (a route's parties looked up
// with Network.Partner, which copies the partner; an error subject written
// before knowing there is an error) shows up here as an allocation a call,
// where the benchmark alone would only show it slower.
func TestSettleOneLinePerCallAllocatesNothingOfItsOwn(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops runs at random")
	}
	if testing.Short() {
		t.Skip("settles 4,000 lines")
	}
	s := planSettler(t, benchPlanStatic, benchNetwork(t), benchRules)
	lines := benchLines(4_000) // a third with a referrer, chains of three
	var buf []settlement.Entry
	i := 0
	settle := func() {
		var err error
		if buf, _, err = s.AppendSettle(ctx, buf[:0], settlement.State{}, lines[i:i+1]); err != nil {
			t.Fatal(err)
		}
		i++
	}
	for range 2_000 { // warm: the settler's caches, the pool, the chunks
		settle()
	}
	if n := testing.AllocsPerRun(1_999, settle); n >= 1 {
		t.Fatalf("%.0f allocations a call, want less than one (chunks shared by many calls)", n)
	}
}
