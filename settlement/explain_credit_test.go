package settlement_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// explainHeader returns the first line of Explain's text for id.
func explainHeader(t *testing.T, id settlement.LineID, entries []settlement.Entry) string {
	t.Helper()
	text, err := settlement.Explain(id, entries)
	require.NoError(t, err)
	head, _, _ := strings.Cut(text, "\n")
	return head
}

// The header of a credit's tree says what the credit took back, whatever
// else its entries moved. On a plan payable on collection every clawback
// has a twin uncollected entry taking the same amount off what awaits the
// customer's payment: the header added both, so the trial's proration
// credit of 500.00 read "GBP -1000.00" and its credit note of 190.00 read
// "GBP -380.00", and a write-off of 57.98 of the basis read -115.96. A lost
// dispute's released holds moved nothing either and were added to what it
// clawed back.
func TestExplainCreditHeaderIsWhatTheCreditTookBack(t *testing.T) {
	s, entries, st := settledCollect(t)

	t.Run("credit of a line awaiting payment", func(t *testing.T) {
		c := credit("C1", "L1", "-30.00", "2026-03-20")
		c.Tax = eur("-5.70")
		res, err := s.Settle(ctx, st, []settlement.Line{c})
		require.NoError(t, err)
		all := append(append([]settlement.Entry{}, entries...), res.Entries...)
		requireMoney(t, sumEntries(res.Entries, settlement.KindClawback), eur("-30.00"))
		requireMoney(t, sumEntries(res.Entries, settlement.KindUncollected), eur("-30.00"))
		require.Equal(t, "line C1  EUR -30.00  credits line L1", explainHeader(t, "C1", all))
	})

	t.Run("write-off", func(t *testing.T) {
		paid, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("50.00"), Invoice: "INV-7"})
		require.NoError(t, err)
		w, err := s.WriteOff(paid.State, settlement.Collection{ID: "WO-1", Date: date("2026-04-30"), Amount: eur("69.00"), Lines: []settlement.LineID{"L1"}})
		require.NoError(t, err)
		all := append(append(append([]settlement.Entry{}, entries...), paid.Entries...), w.Entries...)
		require.Equal(t, "line L1#writeoff.WO-1  EUR -57.98  credits line L1", explainHeader(t, "L1#writeoff.WO-1", all))
	})

	t.Run("lost dispute with holds", func(t *testing.T) {
		paid, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-20"), Amount: eur("119.00"), Invoice: "INV-7"})
		require.NoError(t, err)
		d, err := s.Dispute(paid.State, "L1", date("2026-03-25"))
		require.NoError(t, err)
		require.NotEmpty(t, d.Entries, "the paid line's parts are held")
		lost, err := s.ResolveDispute(d.State, "L1", false, date("2026-04-10"))
		require.NoError(t, err)
		all := append(append(append(append([]settlement.Entry{}, entries...), paid.Entries...), d.Entries...), lost.Entries...)
		requireMoney(t, sumEntries(lost.Entries, settlement.KindClawback), eur("-100.00"))
		require.Equal(t, "line L1#dispute.1  EUR -100.00  credits line L1", explainHeader(t, "L1#dispute.1", all))
	})
}
