package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// ExplainStatement re-adds the entries behind every figure: a statement
// they do not add up to is refused, naming the figure, and an entry given
// twice is refused as in Statements.
func TestExplainStatementRefusesWhatEntriesDoNotProve(t *testing.T) {
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	entries := []settlement.Entry{
		entryOf("a", settlement.KindEarning, "acme", eur("10.00"), "2026-03-02"),
		entryOf("b", settlement.KindReserve, "acme", eur("1.00"), "2026-03-02"),
		entryOf("c", settlement.KindEarning, "acme", mustUSD("7.00"), "2026-03-02"), // another currency
		entryOf("d", settlement.KindEarning, "acme", eur("5.00"), "2026-04-02"),     // another period
		entryOf("e", settlement.KindEarning, "other", eur("5.00"), "2026-03-02"),    // another party
	}
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: march})
	require.NoError(t, err)
	st := sts[0]
	require.Equal(t, "acme", string(st.Party))
	text, err := settlement.ExplainStatement(st, entries)
	require.NoError(t, err)
	require.Contains(t, text, "earned            10.00  (1 entry)")
	require.Contains(t, text, "reserved           1.00  (1 entry)")
	require.NotContains(t, text, "7.00")

	tampered := st // consistently: earned, closing and payable up by 0.01
	tampered.Earned, tampered.Closing, tampered.Payable = eur("10.01"), eur("9.01"), eur("9.01")
	_, err = settlement.ExplainStatement(tampered, entries)
	require.ErrorIs(t, err, settlement.ErrStatementMismatch)
	require.ErrorContains(t, err, `earned of "acme" is EUR 10.01, but its entries add up to EUR 10.00`)

	for name, tamper := range map[string]func(s *settlement.Statement){
		"closing":  func(s *settlement.Statement) { s.Closing = eur("109.00") },
		"payable":  func(s *settlement.Statement) { s.Payable = eur("100.00") },
		"carried":  func(s *settlement.Statement) { s.Payable, s.CarriedForward = eur("0.00"), eur("8.00") },
		"entries":  func(s *settlement.Statement) { s.Entries = 7 },
		"empty":    func(s *settlement.Statement) { *s = settlement.Statement{} },
		"currency": func(s *settlement.Statement) { s.Earned = mustUSD("10.00") },
	} {
		bad := st
		tamper(&bad)
		_, err := settlement.ExplainStatement(bad, entries)
		require.ErrorIs(t, err, settlement.ErrStatementMismatch, name)
	}

	_, err = settlement.ExplainStatement(st, append(entries, entries[0]))
	var de *settlement.DuplicateEntryError
	require.ErrorAs(t, err, &de)
}
