package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

func foldFor(t *testing.T, es []settlement.Entry, from, to string, prev []settlement.Statement, late []settlement.Entry) []settlement.Statement {
	t.Helper()
	sts, err := settlement.Statements(es, settlement.StatementOptions{Period: ensemble.MustPeriod(date(from), date(to)), Previous: prev, Late: late})
	require.NoError(t, err)
	return sts
}

// From a review: a statement stored before Folded existed (legacy: Folded zero) whose
// party had no entry in its period (Entries zero) is read as "folded
// nothing": every older entry is reported late, and a host following the
// error's advice (give them in Late) folds them a second time.
func TestStatementsLegacyStatementWithoutEntriesIsNotChecked(t *testing.T) {
	jan := entryOf("E1", settlement.KindEarning, "reseller", eur("100.00"), "2026-01-10")
	all := []settlement.Entry{jan}
	janSt := foldFor(t, all, "2026-01-01", "2026-02-01", nil, nil)
	febSt := foldFor(t, all, "2026-02-01", "2026-03-01", janSt, nil)
	// As written by the previous release: no Folded.
	for i := range febSt {
		febSt[i].Folded = 0
	}
	require.Equal(t, 0, febSt[0].Entries)
	_, err := settlement.Statements(all, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01")), Previous: febSt})
	require.NoError(t, err, "January's entry was folded in January; nothing is late")
}

// The same late entry given to two shards (a host passing its Late list
// to every shard) is folded by each; Merge sees both ids and adds them.
func TestStatementsMergeRefusesALateEntryFoldedByTwoShards(t *testing.T) {
	e1 := entryOf("E1", settlement.KindEarning, "reseller", eur("100.00"), "2026-01-10")
	janSt := foldFor(t, []settlement.Entry{e1}, "2026-01-01", "2026-02-01", nil, nil)
	late := entryOf("E2", settlement.KindEarning, "reseller", eur("50.00"), "2026-01-20")
	a := foldFor(t, []settlement.Entry{entryOf("A1", settlement.KindEarning, "reseller", eur("1.00"), "2026-02-03")}, "2026-02-01", "2026-03-01", janSt, []settlement.Entry{late})
	b := foldFor(t, []settlement.Entry{entryOf("B1", settlement.KindEarning, "reseller", eur("2.00"), "2026-02-04")}, "2026-02-01", "2026-03-01", nil, []settlement.Entry{late})
	_, err := settlement.Merge(nil, a, b)
	require.ErrorIs(t, err, settlement.ErrDuplicateEntry, "late entry E2 folded by both shards")
}

// An id given in Late and also in entries (allowed: "an id in both is one
// entry") but dated inside the period there is folded twice.
func TestStatementsLateEntryAlsoInThePeriodFoldsOnce(t *testing.T) {
	e1 := entryOf("E1", settlement.KindEarning, "reseller", eur("100.00"), "2026-01-10")
	janSt := foldFor(t, []settlement.Entry{e1}, "2026-01-01", "2026-02-01", nil, nil)
	late := entryOf("E2", settlement.KindEarning, "reseller", eur("50.00"), "2026-01-20")
	redated := late
	redated.Date = date("2026-02-02")
	_, err := settlement.Statements([]settlement.Entry{e1, redated}, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-02-01"), date("2026-03-01")), Previous: janSt, Late: []settlement.Entry{late}})
	require.ErrorIs(t, err, settlement.ErrLateEntries, "E2 would be folded twice")
}
