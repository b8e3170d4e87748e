package settlement_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestCollectReserveHoldsWhatAWriteOffMakesPayable: the customer pays
// 600.00 of the reseller's EUR 1,000.00 line on March 10 (120.00 payable
// to the reseller, 12.00 of it reserved until June 8), and the host writes
// off the other 400.00 on March 20, borne by the platform: the reseller's
// 80.00 that awaited the payment becomes payable without a payment
// (a negative uncollected entry). It used to be paid whole, the reserve
// holding nothing of it; the reserve now holds its 10%, 8.00 from March 20
// until June 18 ("<uncollected id>#reserve", "#release", its note naming
// the write-off), as it holds 10%
// of every amount the leaf receives as payable on collection.
func TestCollectReserveHoldsWhatAWriteOffMakesPayable(t *testing.T) {
	s, entries, st := resellerCollect(t)
	paid, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	entries = append(entries, paid.Entries...)
	wo, err := s.WriteOff(paid.State, settlement.Collection{ID: "WO-1", Date: date("2026-03-20"), Amount: eur("400.00"), Invoice: "INV-R",
		Bearer: settlement.Bearer{Role: "platform"}})
	require.NoError(t, err)
	mine := partyEntries(wo.Entries, "reseller-nl")
	requireEntry(t, mine, "L1#writeoff.WO-1:root/reseller#uncollected", settlement.KindUncollected, "-80.00", "2026-03-20")
	requireEntry(t, mine, "L1#writeoff.WO-1:root/reseller#uncollected#reserve", settlement.KindReserve, "8.00", "2026-03-20")
	requireEntry(t, mine, "L1#writeoff.WO-1:root/reseller#uncollected#release", settlement.KindRelease, "8.00", "2026-06-18")
	require.Equal(t, "reserve 10% until 2026-06-18, of write-off WO-1 of EUR 400.00, borne by role platform", mine["L1#writeoff.WO-1:root/reseller#uncollected#reserve"].Note)
	entries = append(entries, wo.Entries...)
	march := resellerStatement(t, entries, "2026-03-01", "2026-04-01")
	requireCollectEUR(t, march.Reserved, "20.00", "reserved in March: 10% of the 200.00 made payable")
	requireCollectEUR(t, march.Payable, "180.00", "payable in March")
	all := resellerStatement(t, entries, "2026-03-01", "2026-07-01")
	requireCollectEUR(t, all.Payable, "200.00", "payable once the reserves are released")
}

// TestCollectReserveHoldsWhatACreditNotBorneMakesPayable: a credit note of
// 400.00 borne by the platform, after the customer paid 600.00 of 1,000.00,
// leaves the customer owing nothing: the reseller's 80.00 that awaited
// payment becomes payable (its parties did not bear the credit), and the
// reserve holds 8.00 of it until 90 days after the credit.
func TestCollectReserveHoldsWhatACreditNotBorneMakesPayable(t *testing.T) {
	s, _, st := resellerCollect(t)
	paid, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	credit := settlement.Line{ID: "CN1", Credits: "L1", Date: date("2026-03-20"), Amount: eur("-400.00"), Tax: eur("0"), Bearer: settlement.Bearer{Role: "platform"}}
	cr, err := s.Settle(ctx, paid.State, []settlement.Line{credit})
	require.NoError(t, err)
	mine := partyEntries(cr.Entries, "reseller-nl")
	requireEntry(t, mine, "CN1:root/reseller#uncollected", settlement.KindUncollected, "-80.00", "2026-03-20")
	requireEntry(t, mine, "CN1:root/reseller#uncollected#reserve", settlement.KindReserve, "8.00", "2026-03-20")
	requireEntry(t, mine, "CN1:root/reseller#uncollected#release", settlement.KindRelease, "8.00", "2026-06-18")
}

// TestPropertyCollectReserveHoldsAllThatBecomesPayable settles a line on
// collection whose reseller's leaf reserves 100% of what becomes payable
// for a year, and the same line under the plan without the reserve, then
// applies to both a random history: payments, write-offs and credits, each
// borne by nobody, the platform or the reseller, and disputes won or lost.
// Until the reserves are released the reseller is never paid a cent of the
// line (its payable balance is never positive: all that becomes payable,
// whether a payment, a write-off or a credit made it so, is reserved);
// once they are, it has what it has without the reserve, and the reserves
// released all they held.
func TestPropertyCollectReserveHoldsAllThatBecomesPayable(t *testing.T) {
	net := loadNetwork(t)
	with := planSettler(t, strings.Replace(resellerCollectPlan, `ratio: "10%", days: 90`, `ratio: "100%", days: 365`, 1), net)
	without := planSettler(t, strings.Replace(resellerCollectPlan, `, reserve: {ratio: "10%", days: 90}`, "", 1), net)
	rapid.Check(t, func(t *rapid.T) {
		l := chainLine("L1", ensemble.MoneyFromMinor(rapid.Int64Range(1, 200_000).Draw(t, "amount"), eurCur).AmountString(), "2026-03-01")
		l.Tax, l.Invoice = ensemble.MoneyFromMinor(rapid.Int64Range(0, 40_000).Draw(t, "tax"), eurCur), "INV-R"
		type run struct {
			s       *settlement.Settler
			st      settlement.State
			entries []settlement.Entry
		}
		runs := []*run{{s: with}, {s: without}}
		step := func(f func(r *run) (settlement.Result, error)) bool {
			var errs [2]error
			for i, r := range runs {
				res, err := f(r)
				errs[i] = err
				if err == nil {
					r.st, r.entries = res.State, append(r.entries, res.Entries...)
				}
			}
			require.Equal(t, errs[0] == nil, errs[1] == nil, "with the reserve: %v; without: %v", errs[0], errs[1])
			return errs[0] == nil
		}
		require.True(t, step(func(r *run) (settlement.Result, error) { return r.s.Settle(ctx, r.st, []settlement.Line{l}) }))
		payable := func(es []settlement.Entry, through time.Time) int64 {
			var u int64
			for _, e := range es {
				if e.Party != "reseller-nl" || e.Date.After(through) {
					continue
				}
				switch a := minorOf(e.Amount); e.Kind {
				case settlement.KindEarning, settlement.KindClawback, settlement.KindRelease, settlement.KindCollected:
					u += a
				case settlement.KindReserve, settlement.KindHold, settlement.KindUncollected:
					u -= a
				}
			}
			return u
		}
		bearer := func(label string) settlement.Bearer {
			return rapid.SampledFrom([]settlement.Bearer{{}, {Role: "platform"}, {Party: "reseller-nl"}}).Draw(t, label)
		}
		at := l.Date
		disputed := false
		for i := range rapid.IntRange(1, 8).Draw(t, "steps") {
			label := fmt.Sprintf("step%d", i)
			at = at.AddDate(0, 0, rapid.IntRange(0, 5).Draw(t, label+".days"))
			ll, _ := runs[0].st.Line("L1")
			owed, err := ll.Collection.Owed()
			require.NoError(t, err)
			switch op := rapid.IntRange(0, 3).Draw(t, label+".op"); {
			case disputed:
				o := settlement.DisputeOutcome{Won: rapid.Bool().Draw(t, label+".won")}
				if !o.Won {
					left := minorOf(ll.Basis) - minorOf(ll.Credited)
					o.Lost = ensemble.MoneyFromMinor(rapid.Int64Range(min(1, left), left).Draw(t, label+".lost"), eurCur)
				}
				disputed = !step(func(r *run) (settlement.Result, error) { return r.s.ResolveDisputeWith(r.st, "L1", o, at) })
			case op <= 1 && owed.IsPositive():
				c := settlement.Collection{ID: fmt.Sprintf("C%d", i), Date: at, Invoice: "INV-R",
					Amount: ensemble.MoneyFromMinor(rapid.Int64Range(1, minorOf(owed)).Draw(t, label+".amount"), eurCur)}
				if op == 0 {
					step(func(r *run) (settlement.Result, error) { return r.s.Collect(r.st, c) })
				} else {
					c.Bearer = bearer(label + ".bearer")
					step(func(r *run) (settlement.Result, error) { return r.s.WriteOff(r.st, c) })
				}
			case op == 2:
				left := minorOf(ll.Basis) - minorOf(ll.Credited)
				if left <= 0 {
					continue
				}
				cr := settlement.Line{ID: settlement.LineID(fmt.Sprintf("CN%d", i)), Credits: "L1", Date: at, Tax: eur("0"), Bearer: bearer(label + ".bearer"),
					Amount: ensemble.MoneyFromMinor(-rapid.Int64Range(1, left).Draw(t, label+".credit"), eurCur)}
				step(func(r *run) (settlement.Result, error) { return r.s.Settle(ctx, r.st, []settlement.Line{cr}) })
			default:
				disputed = step(func(r *run) (settlement.Result, error) { return r.s.Dispute(r.st, "L1", at) })
			}
			require.LessOrEqual(t, payable(runs[0].entries, at), int64(0), "the reseller is paid before its reserves' release, after %s", label)
		}
		end := at.AddDate(2, 0, 0)
		require.Equal(t, payable(runs[1].entries, end), payable(runs[0].entries, end), "the reseller's balance once the reserves are released")
		var reserved, released int64
		for _, e := range runs[0].entries {
			switch {
			case e.Kind == settlement.KindReserve:
				reserved += minorOf(e.Amount)
			case e.Kind == settlement.KindRelease && strings.HasSuffix(string(e.ID), "#release"): // a reserve's, not a dispute's
				released += minorOf(e.Amount)
			}
		}
		require.Equal(t, reserved, released, "the reserves release what they hold")
	})
}
