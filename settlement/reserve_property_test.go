package settlement_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// reserveSettler settles the ledger plans with rolling reserves on the
// parties their lines pay, releases from a day to two months after the
// line, ratios that round and one that holds everything.
func reserveSettler(t testing.TB) *settlement.Settler {
	t.Helper()
	plans, err := settlement.ParsePlans([]byte(ledgerPlans))
	require.NoError(t, err)
	for i := range plans {
		plans[i].Reserves = []settlement.PartyReserve{
			{Party: "reseller-nl", Ratio: ensemble.MustRatio("10%"), Days: 30},
			{Party: "sub-utrecht", Ratio: ensemble.MustRatio("1/3"), Days: 10},
			{Party: "distri-eu", Ratio: ensemble.MustRatio("100%"), Days: 60},
			{Party: "dev-1", Ratio: ensemble.MustRatio("1/7"), Days: 1},
		}
	}
	s, err := settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)})
	require.NoError(t, err)
	return s
}

// TestPropertyRollingReservesDrawFirst settles random lines through plans
// with rolling reserves, then credits and disputes (won, lost, partly
// lost, borne by a party or in proportion) dated before and after the
// releases. After every reversal:
//   - each part's draw is exactly what the model says: min(what the
//     reversal takes back from the part, what its reserve still holds)
//     when the reversal comes before the release, else nothing (and the
//     reserve is then spent); its scheduled release is reduced by as
//     much, dated at the release, and no draw exceeds its clawback;
//   - what the State records of each reserve is the model's, and at most
//     what the part has unreversed.
//
// At the end, with open disputes won and every line credited in full,
// every party nets to zero on earnings and clawbacks, every party's
// reserves and holds are all released, and nothing withheld is ever
// negative on any day.
func TestPropertyRollingReservesDrawFirst(t *testing.T) {
	s := reserveSettler(t)
	rapid.Check(t, func(t *rapid.T) {
		lines := make([]settlement.Line, rapid.IntRange(1, 4).Draw(t, "lines"))
		for i := range lines {
			lines[i] = genLedgerLine(t, fmt.Sprintf("L%d", i))
		}
		res, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		st, all := res.State, res.Entries
		// The model: what each part's reserve still holds, and until when.
		left, until := map[settlement.EntryID]int64{}, map[settlement.EntryID]time.Time{}
		for _, e := range all {
			if strings.HasSuffix(string(e.ID), "#rolling") {
				left[e.Reverses] = minorOf(e.Amount)
			}
			if strings.HasSuffix(string(e.ID), "#rolling.release") {
				until[e.Reverses] = e.Date
			}
		}
		check := func(entries []settlement.Entry, at time.Time) {
			taken := map[settlement.EntryID]int64{}
			draws := map[settlement.EntryID]settlement.Entry{}
			lessened := map[settlement.EntryID]settlement.Entry{}
			for _, e := range entries {
				switch {
				case e.Kind == settlement.KindClawback:
					taken[e.Reverses] = -minorOf(e.Amount)
				case strings.HasSuffix(string(e.ID), "#rolling.draw"):
					draws[settlement.EntryID(strings.TrimSuffix(string(e.Reverses), "#rolling"))] = e
				case strings.HasSuffix(string(e.ID), "#rolling.draw.release"):
					lessened[settlement.EntryID(strings.TrimSuffix(string(e.Reverses), "#rolling"))] = e
				}
			}
			for part, x := range taken {
				h, has := left[part]
				var want int64
				switch {
				case !has:
				case at.Before(until[part]):
					want = min(x, h)
					left[part] = h - want
				default:
					left[part] = 0
				}
				d, drawn := draws[part]
				if want == 0 {
					require.False(t, drawn, "%s drawn at %s", part, at)
					continue
				}
				require.True(t, drawn, "part %s gives %d with %d held until %s: no draw", part, x, h, until[part])
				require.Equal(t, want, minorOf(d.Amount), "draw of %s", part)
				require.Equal(t, at, d.Date)
				require.LessOrEqual(t, minorOf(d.Amount), x, "the draw exceeds the clawback")
				r := lessened[part]
				require.Equal(t, -want, minorOf(r.Amount), "the release of %s is lessened by the draw", part)
				require.Equal(t, until[part], r.Date)
				delete(draws, part)
			}
			require.Empty(t, draws, "draws without clawbacks")
			for _, id := range slices.Sorted(maps.Keys(left)) {
				ll, ok := st.Line(settlement.LineID(strings.SplitN(string(id), ":", 2)[0]))
				require.True(t, ok)
				i := slices.IndexFunc(ll.Parts, func(p settlement.LedgerPart) bool { return p.Entry == id })
				require.Equal(t, left[id], minorOf(ll.Parts[i].Reserve), "the state's reserve of %s", id)
				require.Equal(t, until[id], ll.Parts[i].ReserveUntil)
				require.LessOrEqual(t, left[id], minorOf(ll.Parts[i].Unreversed))
			}
		}
		last := map[settlement.LineID]time.Time{}
		for _, l := range lines {
			last[l.ID] = l.Date
		}
		for op := range rapid.IntRange(1, 8).Draw(t, "ops") {
			label := fmt.Sprintf("op%d", op)
			l := rapid.SampledFrom(lines).Draw(t, label+".line")
			ll, _ := st.Line(l.ID)
			rest := minorOf(ll.Basis) - minorOf(ll.Credited)
			// Each line's events in date order (a dispute is resolved after
			// it opens), some before its releases and some after.
			at := last[l.ID].AddDate(0, 0, rapid.IntRange(0, 25).Draw(t, label+".days"))
			last[l.ID] = at
			var r settlement.Result
			switch {
			case ll.Disputed:
				o := settlement.DisputeOutcome{Won: rapid.Bool().Draw(t, label+".won")}
				if !o.Won {
					o.Lost = ensemble.MoneyFromMinor(rapid.Int64Range(min(1, rest), rest).Draw(t, label+".lost"), ll.Basis.Currency())
				}
				r, err = s.ResolveDisputeWith(st, l.ID, o, at)
			case rapid.IntRange(0, 2).Draw(t, label+".dispute") == 0:
				r, err = s.Dispute(st, l.ID, at)
			default:
				b := drawLedgerBearer(t, ll, label)
				if b.Party == "nobody" {
					b = settlement.Bearer{}
				}
				if !b.IsZero() {
					b.Shortfall = settlement.ShortfallProportional
				}
				c := settlement.Line{ID: settlement.LineID("C" + label), Date: at, Credits: l.ID, Bearer: b,
					Amount:  ensemble.MoneyFromMinor(-rapid.Int64Range(0, rest).Draw(t, label+".amount"), ll.Basis.Currency()),
					Dispute: settlement.DisputeSeparate}
				r, err = s.Settle(ctx, st, []settlement.Line{c})
			}
			if err != nil {
				require.ErrorIs(t, err, settlement.ErrBearerNotOnLine, "only a bearer may be refused")
				continue
			}
			st, all = r.State, append(all, r.Entries...)
			check(r.Entries, at)
		}
		// Won where still disputed, then every line credited in full.
		for _, l := range lines {
			at := last[l.ID].AddDate(0, 0, 1)
			if ll, _ := st.Line(l.ID); ll.Disputed {
				r, err := s.ResolveDispute(st, l.ID, true, at)
				require.NoError(t, err)
				st, all = r.State, append(all, r.Entries...)
			}
			ll, _ := st.Line(l.ID)
			if rest := minorOf(ll.Basis) - minorOf(ll.Credited); rest > 0 {
				r, err := s.Settle(ctx, st, []settlement.Line{{ID: "C-" + l.ID, Date: at, Credits: l.ID, Amount: ensemble.MoneyFromMinor(-rest, ll.Basis.Currency()),
					Dispute: settlement.DisputeSeparate}})
				require.NoError(t, err)
				st, all = r.State, append(all, r.Entries...)
				check(r.Entries, at)
			}
		}
		for p, m := range byParty(all, settlement.KindEarning, settlement.KindSupplierCost, settlement.KindClawback) {
			require.Truef(t, m.IsZero(), "%s nets %s on earnings and clawbacks", p, m)
		}
		// Withheld, day by day: never negative, nothing at the end.
		withheld := map[partner.ID]int64{}
		byDay := slices.SortedFunc(slices.Values(all), func(a, b settlement.Entry) int { return a.Date.Compare(b.Date) })
		for i, e := range byDay {
			switch e.Kind {
			case settlement.KindReserve, settlement.KindHold:
				withheld[e.Party] += minorOf(e.Amount)
			case settlement.KindRelease:
				withheld[e.Party] -= minorOf(e.Amount)
			}
			if i+1 == len(byDay) || !byDay[i+1].Date.Equal(e.Date) {
				for p, w := range withheld {
					require.GreaterOrEqual(t, w, int64(0), "%s withholds %d at the end of %s", p, w, e.Date)
				}
			}
		}
		for p, w := range withheld {
			require.Zero(t, w, "%s still withholds %d", p, w)
		}
	})
}

// TestPropertyRollingReservesIndependentOfOrder: lines with rolling
// reserves settle to the same entries and state in any order, and credits
// of different lines too.
func TestPropertyRollingReservesIndependentOfOrder(t *testing.T) {
	s := reserveSettler(t)
	rapid.Check(t, func(t *rapid.T) {
		lines := make([]settlement.Line, rapid.IntRange(1, 6).Draw(t, "lines"))
		var credits []settlement.Line
		for i := range lines {
			lines[i] = genLedgerLine(t, fmt.Sprintf("L%d", i))
			if rapid.Bool().Draw(t, fmt.Sprintf("L%d.credited", i)) {
				credits = append(credits, settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%d", i)), Credits: lines[i].ID,
					Date:   lines[i].Date.AddDate(0, 0, rapid.IntRange(0, 70).Draw(t, fmt.Sprintf("C%d.days", i))),
					Amount: ensemble.MoneyFromMinor(-rapid.Int64Range(0, minorOf(lines[i].Amount)).Draw(t, fmt.Sprintf("C%d.amount", i)), lines[i].Currency())})
			}
		}
		settle := func(sales, credits []settlement.Line) ([]settlement.Entry, []byte) {
			a, err := s.Settle(ctx, settlement.State{}, sales)
			require.NoError(t, err)
			b, err := s.Settle(ctx, a.State, credits)
			require.NoError(t, err)
			js, err := json.Marshal(b.State)
			require.NoError(t, err)
			es := append(a.Entries, b.Entries...)
			slices.SortFunc(es, func(x, y settlement.Entry) int { return strings.Compare(string(x.ID), string(y.ID)) })
			return es, js
		}
		ea, ja := settle(lines, credits)
		eb, jb := settle(rapid.Permutation(lines).Draw(t, "perm"), rapid.Permutation(credits).Draw(t, "credits.perm"))
		if d := cmp.Diff(ea, eb, cmpOpts...); d != "" {
			t.Fatalf("entries depend on order:\n%s", d)
		}
		require.JSONEq(t, string(ja), string(jb))
	})
}
