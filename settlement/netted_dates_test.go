package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestNettedCreditPaysALaterLineNoEarlierThanTheLine: a proration credit
// dated at its change (April 16) of March's L1 (invoice INV-7), netted on
// May's invoice INV-8, whose line L2 is dated May 1 (the trial's April
// desktop credit netted on May's invoice). Whatever makes L2 payable from
// the credit, the credit itself (L1 paid before it was settled: collection
// "C1#netted"), L1's payment funding it (received April 28, after the
// change, before L2 was billed: "C1#funded") or L1's write-off leaving it
// unfunded ("C1#unfunded"), lands on L2 no earlier than L2's own date, as a
// payment of L2 dated before it is refused (ErrInvalidCollection). Before,
// those entries were dated at the credit or the payment: L2's parties were
// paid in April's statement for a line of May (its earning in May), their
// April statement awaiting a negative amount (trial: C2 awaiting -55.27).
func TestNettedCreditPaysALaterLineNoEarlierThanTheLine(t *testing.T) {
	s := planSettler(t, collectPlan, loadNetwork(t))
	l2 := chainLine("L2", "100.00", "2026-05-01")
	l2.Tax, l2.Invoice = eur("19.00"), "INV-8"
	c1 := credit("C1", "L1", "-40.00", "2026-04-16")
	c1.Tax, c1.Invoice = eur("-7.60"), "INV-8"
	may1 := date("2026-05-01")

	checkL2 := func(t *testing.T, entries []settlement.Entry, kinds ...settlement.EntryKind) {
		t.Helper()
		seen := 0
		for _, e := range entries {
			if e.Line == "L2" || isL2Entry(e) {
				require.False(t, e.Date.Before(may1), "entry %s (%s) dated %s, before L2 (%s)", e.ID, e.Kind, e.Date, may1)
				for _, k := range kinds {
					if e.Kind == k {
						seen++
					}
				}
			}
		}
		require.Positive(t, seen, "the credit moved L2's parties")
		sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), may1)})
		require.NoError(t, err)
		for _, st := range sts {
			require.False(t, st.Awaiting.IsNegative(), "%s awaits %s by May 1", st.Party, st.Awaiting)
		}
	}

	t.Run("netted: L1 paid before the credit", func(t *testing.T) {
		_, entries, st := settledCollect(t)
		paid, err := s.Collect(st, settlement.Collection{ID: "P1", Date: date("2026-03-20"), Amount: eur("119.00"), Invoice: "INV-7"})
		require.NoError(t, err)
		res, err := s.Settle(ctx, paid.State, []settlement.Line{l2, c1})
		require.NoError(t, err)
		checkL2(t, append(append(entries, paid.Entries...), res.Entries...), settlement.KindCollected)
	})

	t.Run("funded: L1 paid after the credit, before L2's date", func(t *testing.T) {
		_, entries, st := settledCollect(t)
		res, err := s.Settle(ctx, st, []settlement.Line{l2, c1})
		require.NoError(t, err)
		paid, err := s.Collect(res.State, settlement.Collection{ID: "P1", Date: date("2026-04-28"), Amount: eur("119.00"), Invoice: "INV-7"})
		require.NoError(t, err)
		checkL2(t, append(append(entries, res.Entries...), paid.Entries...), settlement.KindCollected)
	})

	t.Run("unfunded: L1 written off after the credit, before L2's date", func(t *testing.T) {
		_, entries, st := settledCollect(t)
		res, err := s.Settle(ctx, st, []settlement.Line{l2, c1})
		require.NoError(t, err)
		lost, err := s.WriteOff(res.State, settlement.Collection{ID: "W1", Date: date("2026-04-28"), Amount: eur("119.00"), Invoice: "INV-7"})
		require.NoError(t, err)
		checkL2(t, append(append(entries, res.Entries...), lost.Entries...), settlement.KindClawback)
	})
}

// isL2Entry reports whether e acts on line L2 (its trace ends with it).
func isL2Entry(e settlement.Entry) bool {
	for i := len(e.Trace) - 1; i >= 0; i-- {
		if e.Trace[i].Kind == settlement.RefLine {
			return e.Trace[i].ID == "L2"
		}
	}
	return false
}
