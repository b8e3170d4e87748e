package settlement_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// lateTrial is a new user's trial: a EUR 1,000.00 line (190.00 tax) of
// February 1st payable on collection, 20% to the platform and the rest to
// reseller-de; February is folded on March 1st; on March 3rd the bank
// reports the customer's payment, received on February 27th, so its
// entries are dated in February. It returns the sale, February's
// statements and the payment.
func lateTrial(t *testing.T) (sale settlement.Result, feb []settlement.Statement, paid settlement.Result) {
	t.Helper()
	plans, err := settlement.ParsePlans([]byte(`
id: p
version: 1
payable: on_collection
root: {id: root, children: [{id: vendor, party: platform, share: "20%"}, {id: reseller, party: seller, share: remaining}]}`))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans})
	require.NoError(t, err)
	line := settlement.Line{ID: "L1", Date: date("2026-02-01"), Amount: eur("1000.00"), Tax: eur("190.00"),
		Offer: catalog.Pin{Offer: "shield-suite", Version: 1}, Route: partner.Route{Kind: partner.RoutePartner, Seller: "reseller-de"}, Invoice: "INV-FEB"}
	sale, err = s.Settle(ctx, settlement.State{}, []settlement.Line{line})
	require.NoError(t, err)
	feb, err = settlement.Statements(sale.Entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-02-01"), date("2026-03-01"))})
	require.NoError(t, err)
	paid, err = s.Collect(sale.State, settlement.Collection{ID: "PAY-1", Date: date("2026-02-27"), Amount: eur("1190.00"), Invoice: "INV-FEB"})
	require.NoError(t, err)
	return sale, feb, paid
}

// A payment received in February and reported after February was folded
// made entries dated in February that March's statements left out: the
// reseller stayed at 800.00 awaiting, never payable, without an error.
// March's statements now refuse entries dated before March that
// February's did not fold, naming the party and how many, and fold them
// into March when given as late: the reseller collects its 800.00, the
// platform its 200.00, and the statement lists and explains them.
func TestStatementsFoldLateEntries(t *testing.T) {
	sale, feb, paid := lateTrial(t)
	all := append(append([]settlement.Entry(nil), sale.Entries...), paid.Entries...)
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))

	_, err := settlement.Statements(all, settlement.StatementOptions{Period: march, Previous: feb})
	require.ErrorIs(t, err, settlement.ErrLateEntries)
	var le *settlement.LateEntriesError
	require.ErrorAs(t, err, &le)
	require.Equal(t, partner.ID("platform"), le.Party)
	require.Equal(t, 1, le.Count)
	require.ErrorContains(t, err, `1 entry of "platform" in EUR dated before 2026-03-01T00:00:00Z was made after the previous statements were folded`)

	sts, err := settlement.Statements(all, settlement.StatementOptions{Period: march, Previous: feb, Late: paid.Entries})
	require.NoError(t, err)
	got := map[partner.ID]settlement.Statement{}
	for _, st := range sts {
		got[st.Party] = st
	}
	reseller := got["reseller-de"]
	require.Equal(t, "800.00", reseller.Collected.AmountString())
	require.Equal(t, "800.00", reseller.Payable.AmountString())
	require.Equal(t, "0.00", reseller.Awaiting.AmountString())
	require.Equal(t, "200.00", got["platform"].Payable.AmountString())
	require.Len(t, reseller.Late, 1)
	require.Equal(t, 1, reseller.Entries)
	require.Equal(t, 3, reseller.Folded) // the earning and what it held back, then the collection
	text, err := settlement.ExplainStatement(reseller, all)
	require.NoError(t, err)
	require.Contains(t, text, "2026-02-27        800.00  late, made after its period was folded: line L1, collected")

	// The same late entries given again to April, which March folded
	// already, are refused (they would be paid twice), whether April is
	// given every entry or only its own.
	april0 := ensemble.MustPeriod(date("2026-04-01"), date("2026-05-01"))
	for _, given := range [][]settlement.Entry{all, nil} {
		_, err = settlement.Statements(given, settlement.StatementOptions{Period: april0, Previous: sts, Late: paid.Entries})
		require.ErrorIs(t, err, settlement.ErrLateEntries)
		require.ErrorContains(t, err, "was folded by the previous statement of")
	}

	// April, from March's statements, checks what March folded: nothing
	// more is late.
	april := ensemble.MustPeriod(date("2026-04-01"), date("2026-05-01"))
	next, err := settlement.Statements(all, settlement.StatementOptions{Period: april, Previous: sts})
	require.NoError(t, err)
	for _, st := range next {
		require.Zero(t, st.Entries)
		require.Empty(t, st.Late)
	}
}

// A host that gives each fold only the entries dated in its period cannot
// be checked (nothing dated before the period is given); it gives the late
// entries in Late, and they fold the same.
func TestStatementsLateEntriesWithThePeriodOnly(t *testing.T) {
	_, feb, paid := lateTrial(t)
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	sts, err := settlement.Statements(nil, settlement.StatementOptions{Period: march, Previous: feb, Late: paid.Entries})
	require.NoError(t, err)
	for _, st := range sts {
		if st.Party == "reseller-de" {
			require.Equal(t, "800.00", st.Payable.AmountString())
		}
	}
}

// Late entries are dated before the period, each given once; fewer entries
// dated before the period than the previous statements folded (some left
// out of what is given) is an error too, and so is a second minimum payout
// for one currency (the larger held back every payout between the two).
func TestStatementsRefuseMisgivenLateEntries(t *testing.T) {
	sale, feb, paid := lateTrial(t)
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	inMarch := paid.Entries[0]
	inMarch.Date = date("2026-03-02")
	_, err := settlement.Statements(sale.Entries, settlement.StatementOptions{Period: march, Previous: feb, Late: []settlement.Entry{inMarch}})
	require.ErrorIs(t, err, settlement.ErrLateEntries)
	require.ErrorContains(t, err, "not before the period")

	_, err = settlement.Statements(sale.Entries, settlement.StatementOptions{Period: march, Previous: feb, Late: []settlement.Entry{paid.Entries[0], paid.Entries[0]}})
	require.ErrorIs(t, err, settlement.ErrDuplicateEntry)

	_, err = settlement.Statements(sale.Entries[1:], settlement.StatementOptions{Period: march, Previous: feb})
	require.ErrorIs(t, err, settlement.ErrLateEntries)
	require.ErrorContains(t, err, "give every entry, or none dated before the period")
	// A sale entry February folded, given as late, is not late.
	_, err = settlement.Statements(sale.Entries, settlement.StatementOptions{Period: march, Previous: feb, Late: sale.Entries[:1]})
	require.ErrorIs(t, err, settlement.ErrLateEntries)
	require.ErrorContains(t, err, "as late only those made since the previous fold")

	_, err = settlement.Statements(sale.Entries, settlement.StatementOptions{Period: march, Minimums: []ensemble.Money{eur("25.00"), eur("1000.00")}})
	require.ErrorIs(t, err, settlement.ErrStatementMismatch)
	require.ErrorContains(t, err, "minimums[1]: a second minimum payout in EUR (1000.00)")
}

// TestPropertyEveryEntryInOneStatement: entries dated in January to April,
// each made (stored by the host) in its month or a later one, and some
// dated ahead (a reserve's release); each month is folded at its end from
// everything stored by then, with the previous month's statements and the
// entries stored since the previous fold that are dated before the month
// as late. Every entry dated by the end of April is folded exactly once:
// each party's figures over the four statements add up to one statement of
// the four months, and April closes as it does. A host that forgets the
// late entries is told, every time one exists, even when it also lost as
// many of the entries the previous statements folded (the counts then
// agree; the digests of the ids do not).
func TestPropertyEveryEntryInOneStatement(t *testing.T) {
	months := []string{"2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"}
	parties := []partner.ID{"platform", "reseller-de", "dev-1"}
	kinds := []settlement.EntryKind{settlement.KindEarning, settlement.KindClawback, settlement.KindAdjustment,
		settlement.KindReserve, settlement.KindRelease, settlement.KindUncollected, settlement.KindCollected}
	rapid.Check(t, func(t *rapid.T) {
		type made struct {
			e    settlement.Entry
			made int // the month it was stored in
		}
		// The books begin with January's first entry: statements folded
		// with no previous ones take what is dated before them as before
		// the books.
		log := []made{{entryOf("E-open", settlement.KindEarning, "platform", eur("1.00"), "2026-01-01"), 0}}
		for i := range rapid.IntRange(0, 30).Draw(t, "entries") {
			dated := rapid.IntRange(0, 3).Draw(t, "dated")
			stored := rapid.IntRange(max(0, dated-1), 3).Draw(t, "stored") // at most a month ahead of its date
			day := months[dated][:8] + fmt.Sprintf("%02d", rapid.IntRange(1, 28).Draw(t, "day"))
			e := entryOf(fmt.Sprint("E", i), rapid.SampledFrom(kinds).Draw(t, "kind"), rapid.SampledFrom(parties).Draw(t, "party"),
				ensemble.MoneyFromMinor(rapid.Int64Range(-50_000, 50_000).Draw(t, "units"), eurCur), day)
			log = append(log, made{e, stored})
		}
		forget := rapid.Bool().Draw(t, "forget late")
		lose := forget && rapid.Bool().Draw(t, "lose as many folded")
		var prev []settlement.Statement
		sums := map[partner.ID][]ensemble.Money{}
		for m := range 4 {
			period := ensemble.MustPeriod(date(months[m]), date(months[m+1]))
			var stored, late []settlement.Entry
			for _, x := range log {
				if x.made <= m {
					stored = append(stored, x.e)
				}
				if x.made == m && x.e.Date.Before(period.Start) {
					late = append(late, x.e)
				}
			}
			opts := settlement.StatementOptions{Period: period, Previous: prev, Late: late}
			if forget {
				opts.Late = nil
			}
			if lose {
				// Per party, as many entries folded before as it has late.
				for _, l := range late {
					i := slices.IndexFunc(stored, func(e settlement.Entry) bool {
						return e.Party == l.Party && e.Date.Before(period.Start) && !slices.ContainsFunc(late, func(x settlement.Entry) bool { return x.ID == e.ID })
					})
					if i >= 0 {
						stored = slices.Delete(slices.Clone(stored), i, i+1)
					}
				}
			}
			sts, err := settlement.Statements(stored, opts)
			if forget && len(late) > 0 {
				require.True(t, errors.Is(err, settlement.ErrLateEntries), "late entries left out without an error: %v", err)
				return
			}
			require.NoError(t, err)
			for _, st := range sts {
				sums[st.Party] = addFigures(t, sums[st.Party], st)
			}
			prev = sts
		}
		var all []settlement.Entry
		for _, x := range log {
			all = append(all, x.e)
		}
		whole, err := settlement.Statements(all, settlement.StatementOptions{Period: ensemble.MustPeriod(date(months[0]), date(months[4]))})
		require.NoError(t, err)
		require.Len(t, prev, len(whole))
		for i, w := range whole {
			want := addFigures(t, nil, w)
			for k := range want {
				require.True(t, want[k].Equal(sums[w.Party][k]), "%s figure %d: %s over the months, %s at once", w.Party, k, sums[w.Party][k], want[k])
			}
			require.True(t, prev[i].Closing.Equal(w.Closing), "%s closes at %s, %s at once", w.Party, prev[i].Closing, w.Closing)
			require.True(t, prev[i].Awaiting.Equal(w.Awaiting))
			require.True(t, prev[i].Withheld.Equal(w.Withheld))
		}
	})
}

// addFigures adds st's flows (earned, reversed, adjusted, reserved,
// released, uncollected, collected, paid out, entries) to acc.
func addFigures(t *rapid.T, acc []ensemble.Money, st settlement.Statement) []ensemble.Money {
	figs := []ensemble.Money{st.Earned, st.Reversed, st.Adjusted, st.Reserved, st.Released, st.Uncollected, st.Collected, st.PaidOut,
		ensemble.MoneyFromMinor(int64(st.Entries), eurCur)}
	if acc == nil {
		acc = make([]ensemble.Money, len(figs))
		for i := range acc {
			acc[i] = ensemble.MoneyFromMinor(0, eurCur)
		}
	}
	for i, f := range figs {
		if f.IsZero() {
			continue
		}
		var err error
		acc[i], err = acc[i].Add(f)
		require.NoError(t, err)
	}
	return acc
}
