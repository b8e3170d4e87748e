package settlement_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
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
	// As written by the previous release: no Folded (nor FoldedDigest).
	for i := range febSt {
		febSt[i].Folded, febSt[i].FoldedDigest = 0, ""
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

// TestStatementsCatchAMissingEntryBesideALateOne: a history that lost an
// entry the previous statements folded and holds, in its place, one made
// after them and not reported as late has as many entries dated before
// the period as they folded, which the count alone let pass (the late
// entry was then in no statement, and the lost one's absence unseen). The
// digest of the folded ids (Statement.FoldedDigest) tells them apart: a
// *LateEntriesError naming the party, saying one is missing and one late.
func TestStatementsCatchAMissingEntryBesideALateOne(t *testing.T) {
	e1 := entryOf("E1", settlement.KindEarning, "reseller", eur("100.00"), "2026-01-10")
	e2 := entryOf("E2", settlement.KindEarning, "reseller", eur("40.00"), "2026-01-12")
	janSt := foldFor(t, []settlement.Entry{e1, e2}, "2026-01-01", "2026-02-01", nil, nil)
	require.Equal(t, 2, janSt[0].Folded)
	late := entryOf("E3", settlement.KindEarning, "reseller", eur("70.00"), "2026-01-20") // made in February

	feb := ensemble.MustPeriod(date("2026-02-01"), date("2026-03-01"))
	_, err := settlement.Statements([]settlement.Entry{e2, late}, settlement.StatementOptions{Period: feb, Previous: janSt})
	require.ErrorIs(t, err, settlement.ErrLateEntries)
	var le *settlement.LateEntriesError
	require.ErrorAs(t, err, &le)
	require.Equal(t, partner.ID("reseller"), le.Party)
	require.Equal(t, 1, le.Missing)
	require.Equal(t, 1, le.Count)
	require.Equal(t, 2, le.Folded)
	require.ErrorContains(t, err, `the 2 entries of "reseller" in EUR dated before 2026-02-01T00:00:00Z are as many as the previous statements folded, but not the same ones: at least one they folded is missing and at least one was made after they were folded`)

	// Given whole, with the late entry as late, it folds; the digest
	// carries to March.
	febSt := foldFor(t, []settlement.Entry{e1, e2, late}, "2026-02-01", "2026-03-01", janSt, []settlement.Entry{late})
	require.Equal(t, 3, febSt[0].Folded)
	require.NotEqual(t, janSt[0].FoldedDigest, febSt[0].FoldedDigest)
	foldFor(t, []settlement.Entry{e1, e2, late}, "2026-03-01", "2026-04-01", febSt, nil)
	_, err = settlement.Statements([]settlement.Entry{e1, e2, entryOf("E4", settlement.KindEarning, "reseller", eur("70.00"), "2026-01-20")},
		settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01")), Previous: febSt})
	require.ErrorIs(t, err, settlement.ErrLateEntries, "E3 missing, E4 late")
}

// TestStatementsFoldedDigest: the digest of the folded ids is the same
// however the entries are sharded (Merge adds the shards'), checked as a
// statement is (16 lower-case hexadecimal digits, beside a Folded count);
// a previous statement written before digests were kept is checked by its
// count, and the next statement has a digest again.
func TestStatementsFoldedDigest(t *testing.T) {
	var es []settlement.Entry
	for i, day := range []string{"2026-01-03", "2026-01-09", "2026-01-17", "2026-01-28"} {
		es = append(es, entryOf(fmt.Sprint("E", i), settlement.KindEarning, "reseller", eur("10.00"), day))
	}
	whole := foldFor(t, es, "2026-01-01", "2026-02-01", nil, nil)
	a := foldFor(t, []settlement.Entry{es[3], es[0]}, "2026-01-01", "2026-02-01", nil, nil)
	b := foldFor(t, es[1:3], "2026-01-01", "2026-02-01", nil, nil)
	merged, err := settlement.Merge(nil, b, a)
	require.NoError(t, err)
	require.Len(t, whole[0].FoldedDigest, 16)
	require.Equal(t, whole[0].FoldedDigest, merged[0].FoldedDigest)
	require.NotEqual(t, whole[0].FoldedDigest, a[0].FoldedDigest)

	for _, bad := range []struct {
		folded int
		digest string
	}{{4, "0123456789ABCDEF"}, {4, "0123"}, {0, "0123456789abcdef"}} {
		st := whole[0]
		st.Folded, st.FoldedDigest = bad.folded, bad.digest
		require.ErrorIs(t, st.Check(), settlement.ErrStatementMismatch, "%+v", bad)
		_, err := settlement.Merge(nil, []settlement.Statement{st})
		require.ErrorIs(t, err, settlement.ErrStatementMismatch)
	}

	// Written before digests were kept: its count is checked, and the
	// next statement digests the entries given.
	legacy := slices.Clone(whole)
	legacy[0].FoldedDigest = ""
	merged, err = settlement.Merge(nil, legacy)
	require.NoError(t, err)
	require.Empty(t, merged[0].FoldedDigest, "a part without a digest leaves the merged statement without one")
	swapped := append(slices.Clone(es[1:]), entryOf("E9", settlement.KindEarning, "reseller", eur("10.00"), "2026-01-30"))
	feb := foldFor(t, swapped, "2026-02-01", "2026-03-01", legacy, nil) // the count alone cannot tell
	require.Equal(t, 4, feb[0].Folded)
	require.Len(t, feb[0].FoldedDigest, 16)
	_, err = settlement.Statements(es, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01")), Previous: feb})
	require.ErrorIs(t, err, settlement.ErrLateEntries, "digested from February on")
}
