package settlement_test

import (
	"encoding/json"
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
// collection whose reseller's leaf reserves 100%, 10% or a third of what
// becomes payable for a year, and the same line under the plan without the reserve, then
// applies to both a random history: payments, write-offs and credits, each
// borne by nobody, the platform or the reseller, and disputes won or lost.
// Reserving 100%, until the reserves are released the reseller is never
// paid a cent of the line (its payable balance is never positive: all that becomes payable,
// whether a payment, a write-off or a credit made it so, is reserved);
// a dispute opened withholds, with the reserves, what was made payable,
// or what the reserves hold when that is more, never both (it held both);
// once the reserves are released the reseller has what it has without the
// reserve, and the reserves released all they held.
func TestPropertyCollectReserveHoldsAllThatBecomesPayable(t *testing.T) {
	net := loadNetwork(t)
	withs := map[string]*settlement.Settler{}
	for _, ratio := range []string{"100%", "10%", "1/3"} {
		withs[ratio] = planSettler(t, strings.Replace(resellerCollectPlan, `ratio: "10%", days: 90`, `ratio: "`+ratio+`", days: 365`, 1), net)
	}
	without := planSettler(t, strings.Replace(resellerCollectPlan, `, reserve: {ratio: "10%", days: 90}`, "", 1), net)
	rapid.Check(t, func(t *rapid.T) {
		ratio := rapid.SampledFrom([]string{"100%", "10%", "1/3"}).Draw(t, "ratio")
		with := withs[ratio]
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
				if disputed {
					// Held once: the dispute withholds, with the reserves,
					// what was made payable, or what the reserves hold when
					// that is more; never both.
					var earned, awaiting, reserves, withheld int64
					for _, e := range runs[0].entries {
						if e.Party != "reseller-nl" || e.Date.After(at) {
							continue
						}
						switch a := minorOf(e.Amount); e.Kind {
						case settlement.KindEarning, settlement.KindClawback:
							earned += a
						case settlement.KindUncollected:
							awaiting += a
						case settlement.KindCollected:
							awaiting -= a
						case settlement.KindReserve:
							reserves += a
							withheld += a
						case settlement.KindHold:
							withheld += a
						case settlement.KindRelease:
							withheld -= a
							if strings.HasSuffix(string(e.ID), "#release") {
								reserves -= a
							}
						}
					}
					require.Equal(t, max(earned-awaiting, reserves), withheld, "withheld with %d made payable and %d reserved", earned-awaiting, reserves)
				}
			}
			if ratio == "100%" {
				require.LessOrEqual(t, payable(runs[0].entries, at), int64(0), "the reseller is paid before its reserves' release, after %s", label)
			}
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

// TestCollectReserveLostDisputeHoldsTheReserveOnce: the customer pays
// 600.00 of the reseller's EUR 1,000.00 line on March 10 (120.00 payable,
// 12.00 of it reserved until June 8), disputes the line on March 15 and
// wins it back on March 25. The dispute used to hold all 120.00, the
// reserve's 12.00 again (132.00 withheld of 120.00 made payable: the
// reseller stood at -12.00 while it was open); it now holds the 108.00
// the reserve does not, and the 12.00 from the reserve's release on (as on
// a line paid on settlement). Lost, the reseller stands at -12.00 from
// March 25 until the reserve's release makes it zero on June 8, as a lost
// dispute of a reserved line paid on settlement leaves it; and ends where
// it ends without the reserve.
func TestCollectReserveLostDisputeHoldsTheReserveOnce(t *testing.T) {
	net := loadNetwork(t)
	balance := func(es []settlement.Entry, through string) string {
		var u int64
		for _, e := range es {
			if e.Party != "reseller-nl" || e.Date.After(date(through)) {
				continue
			}
			switch a := minorOf(e.Amount); e.Kind {
			case settlement.KindEarning, settlement.KindClawback, settlement.KindRelease, settlement.KindCollected:
				u += a
			case settlement.KindReserve, settlement.KindHold, settlement.KindUncollected:
				u -= a
			}
		}
		return ensemble.MoneyFromMinor(u, eurCur).AmountString()
	}
	history := func(s *settlement.Settler) []settlement.Entry {
		l := chainLine("L1", "1000.00", "2026-03-01")
		l.Invoice = "INV-R"
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		entries := res.Entries
		paid, err := s.Collect(res.State, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-R"})
		require.NoError(t, err)
		entries = append(entries, paid.Entries...)
		d, err := s.Dispute(paid.State, "L1", date("2026-03-15"))
		require.NoError(t, err)
		entries = append(entries, d.Entries...)
		lost, err := s.ResolveDispute(d.State, "L1", false, date("2026-03-25"))
		require.NoError(t, err)
		return append(entries, lost.Entries...)
	}
	with := history(planSettler(t, resellerCollectPlan, net))
	without := history(planSettler(t, strings.Replace(resellerCollectPlan, `, reserve: {ratio: "10%", days: 90}`, "", 1), net))
	mine := partyEntries(with, "reseller-nl")
	requireEntry(t, mine, "L1:root/reseller#hold.1", settlement.KindHold, "108.00", "2026-03-15")
	requireEntry(t, mine, "L1:root/reseller#hold.1.reserve", settlement.KindHold, "12.00", "2026-06-08")
	requireEntry(t, mine, "L1:root/reseller#release.1.reserve", settlement.KindRelease, "12.00", "2026-06-08")
	require.Equal(t, "0.00", balance(with, "2026-03-20"), "while the dispute is open: nothing withheld twice")
	require.Equal(t, "0.00", balance(without, "2026-03-20"))
	require.Equal(t, "-12.00", balance(with, "2026-03-26"), "lost: short by the reserve until its release")
	require.Equal(t, "0.00", balance(with, "2026-06-08"))
	require.Equal(t, balance(without, "2027-01-01"), balance(with, "2027-01-01"), "ends where it ends without the reserve")
}

// TestCollectReservesRoundTripAndAreChecked: the reserves of a payment on
// collection (LedgerPart.CollectReserves) are written and read back by the
// JSON and binary forms, and a state that puts one on a line payable on
// settlement, or a negative one, is refused.
func TestCollectReservesRoundTripAndAreChecked(t *testing.T) {
	s, _, st := resellerCollect(t)
	paid, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	ll, _ := paid.State.Line("L1")
	require.Len(t, ll.Parts[0].CollectReserves, 1)
	requireCollectEUR(t, ll.Parts[0].CollectReserves[0].Amount, "12.00", "reserved")
	require.True(t, ll.Parts[0].CollectReserves[0].Date.Equal(date("2026-06-08")))
	j := mustJSON(t, paid.State)
	var back settlement.State
	require.NoError(t, json.Unmarshal(j, &back))
	require.Equal(t, string(j), string(mustJSON(t, back)))
	b, err := paid.State.MarshalBinary()
	require.NoError(t, err)
	back = settlement.State{}
	require.NoError(t, back.UnmarshalBinary(b))
	require.Equal(t, string(j), string(mustJSON(t, back)))

	for name, edit := range map[string]func(string) string{
		"negative": func(s string) string {
			return strings.Replace(s, `"collect_reserves":[{"amount":{"amount":"12.00"`, `"collect_reserves":[{"amount":{"amount":"-12.00"`, 1)
		},
		"on settlement": func(s string) string {
			return strings.Replace(strings.Replace(s, `"collection":{`, `"receivable":{`, 1), `"awaiting":{"amount":"80.00","currency":"EUR"},`, "", 1)
		},
	} {
		bad := edit(string(j))
		require.NotEqual(t, string(j), bad, name)
		var st settlement.State
		err := json.Unmarshal([]byte(bad), &st)
		require.ErrorIs(t, err, settlement.ErrCorruptState, name)
		require.ErrorContains(t, err, "collect_reserves", name)
	}
}

// TestCollectReserveOfAReversalUnknownPlanVersion: after a payment of
// 600.00, a write-off of the rest borne by the platform would make the
// reseller's awaited share payable, and so reserve it; a settler not holding the line's plan version cannot know
// the reserve, and refuses it (ErrUnknownPlanVersion), as it refuses a
// payment. One borne by every part in proportion makes nothing payable,
// and is applied.
func TestCollectReserveOfAReversalUnknownPlanVersion(t *testing.T) {
	s, _, st := resellerCollect(t)
	paid, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-R"})
	require.NoError(t, err)
	st = paid.State
	v2 := planSettler(t, strings.Replace(resellerCollectPlan, "version: 1", "version: 2", 1), loadNetwork(t))
	wo := settlement.Collection{ID: "WO-1", Date: date("2026-03-20"), Amount: eur("400.00"), Invoice: "INV-R", Bearer: settlement.Bearer{Role: "platform"}}
	_, err = v2.WriteOff(st, wo)
	require.ErrorIs(t, err, settlement.ErrUnknownPlanVersion)
	wo.Bearer = settlement.Bearer{}
	_, err = v2.WriteOff(st, wo)
	require.NoError(t, err)
}
