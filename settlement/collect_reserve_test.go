package settlement_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// resellerCollectPlan pays the reseller 20% as the customer pays, 10% of
// it held for 90 days after each payment, and the platform the rest.
const resellerCollectPlan = `
id: reseller-collect
version: 1
payable: on_collection
root:
  id: root
  children:
    - {id: reseller, party: reseller, share: "20%", reserve: {ratio: "10%", days: 90}}
    - {id: platform, party: platform, share: remaining}
`

// resellerCollect settles a line of EUR 1,000.00 (no tax) on invoice
// INV-R under resellerCollectPlan.
func resellerCollect(t *testing.T) (*settlement.Settler, []settlement.Entry, settlement.State) {
	t.Helper()
	s := planSettler(t, resellerCollectPlan, loadNetwork(t))
	l := chainLine("L1", "1000.00", "2026-03-01")
	l.Invoice = "INV-R"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	return s, res.Entries, res.State
}

// entriesOf returns the entries of party p, by id.
func partyEntries(entries []settlement.Entry, p partner.ID) map[settlement.EntryID]settlement.Entry {
	out := map[settlement.EntryID]settlement.Entry{}
	for _, e := range entries {
		if e.Party == p {
			out[e.ID] = e
		}
	}
	return out
}

// requireEntry checks that entries hold id, of kind, amount and date.
func requireEntry(t *testing.T, entries map[settlement.EntryID]settlement.Entry, id settlement.EntryID, kind settlement.EntryKind, amount string, day string) {
	t.Helper()
	e, ok := entries[id]
	require.True(t, ok, "no entry %s", id)
	require.Equal(t, kind, e.Kind, id)
	require.True(t, e.Amount.Equal(eur(amount)), "%s: %s, want %s", id, e.Amount, amount)
	require.True(t, e.Date.Equal(date(day)), "%s: dated %s, want %s", id, e.Date, day)
}

// reservedStatement is the reseller's statement of the period from..to.
func resellerStatement(t *testing.T, entries []settlement.Entry, from, to string) settlement.Statement {
	t.Helper()
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date(from), date(to))})
	require.NoError(t, err)
	for _, st := range sts {
		require.NoError(t, st.Check())
		if st.Party == "reseller-nl" {
			return st
		}
	}
	t.Fatal("no statement of reseller-nl")
	return settlement.Statement{}
}

func requireCollectEUR(t *testing.T, got ensemble.Money, want, what string) {
	t.Helper()
	require.True(t, got.Equal(eur(want)), "%s: %s, want %s", what, got, want)
}

// A reseller paid 20% of a EUR 1,000.00 line on collection, 10% of it
// reserved for 90 days: the customer pays 600.00 on March 10 and 400.00 on
// April 2. Each payment makes the reseller's share payable less its
// reserve, held 90 days after the payment: 108.00 payable on March 10
// with 12.00 reserved until June 8, 72.00 on April 2 with 8.00 until
// July 1. A credit note of 500.00 on April 20 claws back 100.00 from what
// was made payable (nothing awaits payment any more), the reserves left to
// their releases, as a credit of a reserved line paid on settlement.
// (New refused the plan: ErrReserveOnCollection.)
func TestCollectReserveHoldsEachPayment(t *testing.T) {
	s, entries, st := resellerCollect(t)
	for _, e := range entries {
		require.NotEqual(t, settlement.KindReserve, e.Kind, "a line on collection holds no reserve when settled: %s", e.ID)
	}
	mine := partyEntries(entries, "reseller-nl")
	requireEntry(t, mine, "L1:root/reseller", settlement.KindEarning, "200.00", "2026-03-01")
	requireEntry(t, mine, "L1:root/reseller#uncollected", settlement.KindUncollected, "200.00", "2026-03-01")

	paid, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	mine = partyEntries(paid.Entries, "reseller-nl")
	require.Len(t, mine, 3)
	requireEntry(t, mine, "L1:root/reseller#collected.PAY-1", settlement.KindCollected, "120.00", "2026-03-10")
	requireEntry(t, mine, "L1:root/reseller#collected.PAY-1#reserve", settlement.KindReserve, "12.00", "2026-03-10")
	requireEntry(t, mine, "L1:root/reseller#collected.PAY-1#release", settlement.KindRelease, "12.00", "2026-06-08")
	require.Equal(t, settlement.EntryID("L1:root/reseller"), mine["L1:root/reseller#collected.PAY-1#reserve"].Reverses)
	require.Equal(t, "reserve 10% until 2026-06-08, of collection PAY-1", mine["L1:root/reseller#collected.PAY-1#reserve"].Note)
	// The platform keeps no reserve.
	for _, e := range paid.Entries {
		if e.Party != "reseller-nl" {
			require.Equal(t, settlement.KindCollected, e.Kind, e.ID)
		}
	}
	entries = append(entries, paid.Entries...)
	march := resellerStatement(t, entries, "2026-03-01", "2026-04-01")
	requireCollectEUR(t, march.Collected, "120.00", "collected in March")
	requireCollectEUR(t, march.Reserved, "12.00", "reserved in March")
	requireCollectEUR(t, march.Payable, "108.00", "payable in March")
	requireCollectEUR(t, march.Awaiting, "80.00", "awaiting in March")

	paid, err = s.Collect(paid.State, settlement.Collection{ID: "PAY-2", Date: date("2026-04-02"), Amount: eur("400.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	mine = partyEntries(paid.Entries, "reseller-nl")
	require.Len(t, mine, 3)
	requireEntry(t, mine, "L1:root/reseller#collected.PAY-2", settlement.KindCollected, "80.00", "2026-04-02")
	requireEntry(t, mine, "L1:root/reseller#collected.PAY-2#reserve", settlement.KindReserve, "8.00", "2026-04-02")
	requireEntry(t, mine, "L1:root/reseller#collected.PAY-2#release", settlement.KindRelease, "8.00", "2026-07-01")
	entries = append(entries, paid.Entries...)
	april := resellerStatement(t, entries, "2026-04-01", "2026-05-01")
	requireCollectEUR(t, april.Payable, "72.00", "payable in April")
	requireCollectEUR(t, april.Reserved, "8.00", "reserved in April")

	credit := settlement.Line{ID: "CN1", Credits: "L1", Date: date("2026-04-20"), Amount: eur("-500.00"), Tax: eur("0")}
	cr, err := s.Settle(ctx, paid.State, []settlement.Line{credit})
	require.NoError(t, err)
	mine = partyEntries(cr.Entries, "reseller-nl")
	requireEntry(t, mine, "CN1:root/reseller#clawback", settlement.KindClawback, "-100.00", "2026-04-20")
	for id, e := range mine {
		require.Contains(t, []settlement.EntryKind{settlement.KindClawback}, e.Kind, "the credit takes back what was made payable, nothing else: %s", id)
	}
	entries = append(entries, cr.Entries...)
	spring := resellerStatement(t, entries, "2026-03-01", "2026-05-01")
	requireCollectEUR(t, spring.Earned, "200.00", "earned")
	requireCollectEUR(t, spring.Reversed, "-100.00", "reversed")
	requireCollectEUR(t, spring.Reserved, "20.00", "reserved by May 1")
	requireCollectEUR(t, spring.Payable, "80.00", "payable by May 1")
	all := resellerStatement(t, entries, "2026-03-01", "2026-07-02")
	requireCollectEUR(t, all.Released, "20.00", "released by July 1")
	requireCollectEUR(t, all.Payable, "100.00", "payable once the reserves are released: half of 200.00")
	// No money created or destroyed: what is reserved is released.
	requireCollectEUR(t, sumEntries(entries, settlement.KindReserve), "20.00", "reserved")
	requireCollectEUR(t, sumEntries(entries, settlement.KindRelease), "20.00", "released")
}

// A credit after a partial payment takes back from what awaits the
// customer's payment first, then from what was made payable; a write-off
// takes back only what awaits. Neither touches the reserve, which is
// released on its date.
func TestCollectReserveCreditTakesUncollectedFirst(t *testing.T) {
	s, entries, st := resellerCollect(t)
	paid, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	entries = append(entries, paid.Entries...)

	// A credit of 500.00: the reseller gives back 100.00, 80.00 of what
	// awaits payment (the customer now owes nothing) and 20.00 of what
	// was paid.
	credit := settlement.Line{ID: "CN1", Credits: "L1", Date: date("2026-03-20"), Amount: eur("-500.00"), Tax: eur("0")}
	cr, err := s.Settle(ctx, paid.State, []settlement.Line{credit})
	require.NoError(t, err)
	mine := partyEntries(cr.Entries, "reseller-nl")
	requireEntry(t, mine, "CN1:root/reseller#clawback", settlement.KindClawback, "-100.00", "2026-03-20")
	requireEntry(t, mine, "CN1:root/reseller#uncollected", settlement.KindUncollected, "-80.00", "2026-03-20")
	for _, e := range mine {
		require.NotEqual(t, settlement.KindRelease, e.Kind, "a credit does not draw on the reserve: %s", e.ID)
	}
	st1 := resellerStatement(t, append(cloneEntries(entries), cr.Entries...), "2026-03-01", "2026-04-01")
	requireCollectEUR(t, st1.Awaiting, "0.00", "awaiting")
	requireCollectEUR(t, st1.Reserved, "12.00", "reserved")
	requireCollectEUR(t, st1.Payable, "88.00", "payable: 120.00 collected less 12.00 reserved, less 20.00")

	// A write-off of the other 400.00 instead claws back the 80.00 that
	// awaits: the 108.00 payable and the 12.00 reserve stay.
	wo, err := s.WriteOff(paid.State, settlement.Collection{ID: "WO-1", Date: date("2026-03-20"), Amount: eur("400.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	mine = partyEntries(wo.Entries, "reseller-nl")
	for _, e := range mine {
		require.NotContains(t, []settlement.EntryKind{settlement.KindReserve, settlement.KindRelease}, e.Kind, e.ID)
	}
	st2 := resellerStatement(t, append(cloneEntries(entries), wo.Entries...), "2026-03-01", "2026-04-01")
	requireCollectEUR(t, st2.Reversed, "-80.00", "reversed by the write-off")
	requireCollectEUR(t, st2.Payable, "108.00", "payable")
	requireCollectEUR(t, st2.Reserved, "12.00", "reserved")
	requireCollectEUR(t, st2.Awaiting, "0.00", "awaiting")
}

// A payment whose reserve would be released after year 9999 is refused,
// naming the line, the state unchanged.
func TestCollectReserveReleaseAfterYear9999(t *testing.T) {
	s := planSettler(t, resellerCollectPlan, loadNetwork(t))
	l := chainLine("L1", "1000.00", "2026-03-01")
	l.Invoice = "INV-R"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	_, err = s.Collect(res.State, settlement.Collection{ID: "PAY-1", Date: time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC), Amount: eur("600.00"), Invoice: "INV-R"})
	require.ErrorIs(t, err, settlement.ErrInvalidCollection)
	var ce *settlement.CollectionError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, settlement.LineID("L1"), ce.Line)
}

func cloneEntries(e []settlement.Entry) []settlement.Entry {
	return append([]settlement.Entry(nil), e...)
}

// Explain shows a payment's reserve under the earning it holds back, and
// ExplainStatement lists it under reserved; a dispute of the line after
// the first payment holds what the payment made payable less what its
// reserve holds (108.00 of 120.00: the state records the reserve,
// LedgerPart.CollectReserves), and the 12.00 from the reserve's release
// on June 8 (before, it held all 120.00, the reserve's 12.00 twice); a
// won dispute releases it all: the reseller ends with its 200.00.
func TestCollectReserveExplainedAndDisputed(t *testing.T) {
	s, entries, st := resellerCollect(t)
	paid, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	entries = append(entries, paid.Entries...)
	tree, err := settlement.Explain("L1", entries)
	require.NoError(t, err)
	require.Contains(t, tree, "12.00")
	march := resellerStatement(t, entries, "2026-03-01", "2026-04-01")
	text, err := settlement.ExplainStatement(march, entries)
	require.NoError(t, err)
	require.Contains(t, text, "reserve 10% until 2026-06-08, of collection PAY-1")

	d, err := s.Dispute(paid.State, "L1", date("2026-03-15"))
	require.NoError(t, err)
	held := partyEntries(d.Entries, "reseller-nl")
	requireEntry(t, held, "L1:root/reseller#hold.1", settlement.KindHold, "108.00", "2026-03-15")
	requireEntry(t, held, "L1:root/reseller#hold.1.reserve", settlement.KindHold, "12.00", "2026-06-08")
	ll, _ := d.State.Line("L1")
	require.Len(t, ll.Parts[0].CollectReserves, 1)
	requireCollectEUR(t, ll.Parts[0].HeldByReserves, "12.00", "held by the reserve")
	entries = append(entries, d.Entries...)
	won, err := s.ResolveDispute(d.State, "L1", true, date("2026-03-25"))
	require.NoError(t, err)
	entries = append(entries, won.Entries...)
	paid, err = s.Collect(won.State, settlement.Collection{ID: "PAY-2", Date: date("2026-04-02"), Amount: eur("400.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	entries = append(entries, paid.Entries...)
	all := resellerStatement(t, entries, "2026-03-01", "2026-07-02")
	requireCollectEUR(t, all.Payable, "200.00", "payable once everything is released")
}

// A settler holding a plan on collection with a reserve, but not the
// version a line was settled under, cannot know what its leaves reserve:
// a payment of the line is refused (ErrUnknownPlanVersion), the state
// unchanged.
func TestCollectReserveUnknownPlanVersion(t *testing.T) {
	_, _, st := resellerCollect(t)
	v2 := planSettler(t, strings.Replace(resellerCollectPlan, "version: 1", "version: 2", 1), loadNetwork(t))
	_, err := v2.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-R"})
	require.ErrorIs(t, err, settlement.ErrUnknownPlanVersion)
	var ce *settlement.CollectionError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, settlement.LineID("L1"), ce.Line)
}
