package settlement_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// Rules that read the line are evaluated per line; rules that read only
// partner and route facts are memoized. Both must give the same entries.
func TestPropertyMemoizedRulesMatchPerLine(t *testing.T) {
	memoPlan := `{id: p, version: 1, root: {id: root, children: [
		{id: platform, party: platform, share: "20%", fallback: platform},
		{id: ref, party: referrer, condition: has-referrer, share: "5%"},
		{id: channel, share: remaining, children: [
			{id: distributor, party: distributor, share: {rule: distributor-share}},
			{id: reseller, party: reseller, share: {rule: reseller-share}},
			{id: seller, party: seller, share: remaining}]}]}}`
	perLine := `
- id: distributor-share-pl
  version: 1
  kind: share
  env_version: 1
  expression: 'line.id != "" && partner.tier == "gold" ? percent(6) : percent(4)'
- id: reseller-share-pl
  version: 1
  kind: share
  env_version: 1
  expression: 'line.id != "" && partner.tier == "platinum" ? percent(12) : percent(10)'
- id: has-referrer-pl
  version: 1
  kind: condition
  env_version: 1
  expression: 'line.id != "" && route.referrer != ""'
`
	net := loadNetwork(t)
	a := planSettler(t, memoPlan, net)
	plPlan := memoPlan
	for _, r := range []string{"distributor-share", "reseller-share", "has-referrer"} {
		plPlan = replaceAll(plPlan, r, r+"-pl")
	}
	b := planSettler(t, plPlan, net, perLine)
	rapid.Check(t, func(t *rapid.T) {
		lines := genLines(t, rapid.IntRange(1, 20).Draw(t, "n"))
		ra, err := a.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		rb, err := b.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		require.Equal(t, len(ra.Entries), len(rb.Entries))
		for i := range ra.Entries {
			require.Equal(t, ra.Entries[i].ID, rb.Entries[i].ID)
			requireMoney(t, rb.Entries[i].Amount, ra.Entries[i].Amount, ra.Entries[i].ID)
		}
	})
}

func replaceAll(s, old, new string) string {
	out := ""
	for {
		i := indexOf(s, old)
		if i < 0 {
			return out + s
		}
		out += s[:i] + new
		s = s[i+len(old):]
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestSettleLeavesStateUnchanged(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
	require.NoError(t, err)
	before, err := json.Marshal(res.State)
	require.NoError(t, err)
	// A successful credit and a failing batch leave res.State as it was.
	_, err = s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-10.00", "2026-03-02")})
	require.NoError(t, err)
	_, err = s.Settle(ctx, res.State, []settlement.Line{chainLine("L2", "5.00", "2026-03-01"), credit("C2", "L1", "-100.01", "2026-03-02")})
	require.ErrorIs(t, err, settlement.ErrOverCredit)
	_, err = s.Dispute(res.State, "L1", date("2026-03-03"))
	require.NoError(t, err)
	after, err := json.Marshal(res.State)
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(after))
	// A failed call returns nothing.
	got, err := s.Settle(ctx, res.State, []settlement.Line{chainLine("L1", "5.00", "2026-03-01")})
	require.Error(t, err)
	require.Nil(t, got.Entries)
	require.Zero(t, got.State.Len())
}

func TestSettleConcurrentAndCancelled(t *testing.T) {
	s := newSettler(t)
	var wg sync.WaitGroup
	results := make([][]settlement.Entry, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01"), chainLine("L2", "3.33", "2026-03-02")})
			if err == nil {
				results[i] = res.Entries
			}
		}()
	}
	wg.Wait()
	for i := 1; i < len(results); i++ {
		requireEntries(t, results[i], results[0])
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := s.Settle(cctx, settlement.State{}, []settlement.Line{chainLine("L1", "1.00", "2026-03-01")})
	require.ErrorIs(t, err, context.Canceled)
}

// A nil context settles as a context never done, as rules evaluate with
// one (a new user's trial: Settle(nil, ...) panicked), through every way
// in: Settle, AppendSettle and SettleWhatYouCan.
func TestSettleNilContext(t *testing.T) {
	s := newSettler(t)
	lines := []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")}
	want, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	//lint:ignore SA1012 a nil context is what the test gives
	got, err := s.Settle(nil, settlement.State{}, lines)
	require.NoError(t, err)
	requireEntries(t, got.Entries, want.Entries)
	//lint:ignore SA1012 a nil context is what the test gives
	appended, _, err := s.AppendSettle(nil, nil, settlement.State{}, lines)
	require.NoError(t, err)
	requireEntries(t, appended, want.Entries)
	//lint:ignore SA1012 a nil context is what the test gives
	lenient, err := s.SettleWhatYouCan(nil, settlement.State{}, lines)
	require.NoError(t, err)
	requireEntries(t, lenient.Entries, want.Entries)
}

func TestGrossBasisAndPlanPick(t *testing.T) {
	plans := `
- {id: any, version: 1, root: {id: root, party: platform}}
- {id: any, version: 2, effective_from: 2026-06-01T00:00:00Z, root: {id: root, party: "partner:dev-1"}}
- id: cloud
  version: 1
  offers: [cloud-backup]
  basis: gross
  root:
    id: root
    children:
      - {id: platform, party: platform, share: "1/3"}
      - {id: seller, party: seller, share: remaining, fallback: platform}
`
	ps, err := settlement.ParsePlans([]byte(plans))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: ps, Network: loadNetwork(t)})
	require.NoError(t, err)
	l := chainLine("L1", "100.00", "2026-03-01")
	l.Tax = eur("21.00")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	got := byParty(res.Entries)
	requireMoney(t, got["platform"], eur("40.33")) // 121 / 3 = 40.333
	requireMoney(t, got["sub-utrecht"], eur("80.67"))
	require.Equal(t, "cloud", res.Entries[0].Plan.ID)

	other := chainLine("L2", "10.00", "2026-03-01")
	other.Offer = catalog.Pin{Offer: "other", Version: 1}
	later := chainLine("L3", "10.00", "2026-07-01")
	later.Offer = other.Offer
	res, err = s.Settle(ctx, settlement.State{}, []settlement.Line{other, later})
	require.NoError(t, err)
	require.Equal(t, "1", res.Entries[0].Plan.Version)
	require.Equal(t, partner.ID("dev-1"), res.Entries[1].Party, "version 2 is in force from June")
	// Two equally specific plans are refused when loaded (overlap_test.go).
}

func TestExplainFollowsEntries(t *testing.T) {
	s := newSettler(t)
	l := chainLine("L5", "100.00", "2026-03-01")
	l.Offer = catalog.Pin{Offer: "secure-backup", Version: 1}
	l.SupplierCosts = []catalog.SupplierCost{{Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "secure-backup/backup/supplier-backup", Version: "1"},
		Offer: "backup", Supplier: "supplier-backup", Cost: eur("40.00")}}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	cr, err := s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L5", "-50.00", "2026-03-05")})
	require.NoError(t, err)
	tree, err := settlement.Explain("L5", append(res.Entries, cr.Entries...))
	require.NoError(t, err)
	want := `line L5  EUR 100.00  plan bundle@1
  trace: invoice_line:INV-1/L5
├─ supplier_costs  EUR 40.00
│  └─ secure-backup  EUR 40.00
│     └─ backup  EUR 40.00
│        └─ supplier-backup  EUR 40.00 -> supplier-backup (supplier), supplier_cost, share wholesale cost
│               clawback EUR -20.00 on 2026-03-05, credit of L5 by C1
└─ root  EUR 60.00
   ├─ platform  EUR 42.00 -> platform, share 70%
   │      clawback EUR -21.00 on 2026-03-05, credit of L5 by C1
   └─ seller  EUR 18.00 -> sub-utrecht (seller), share remaining
          reserve EUR 1.80 on 2026-03-01, reserve 10% until 2026-05-30
          release EUR 1.80 on 2026-05-30, reserve released
          clawback EUR -9.00 on 2026-03-05, credit of L5 by C1
`
	require.Equal(t, want, tree)
	_, err = settlement.Explain("nope", res.Entries)
	require.ErrorIs(t, err, settlement.ErrUnknownLine)

	var seller settlement.Entry
	for _, e := range res.Entries {
		if e.Party == "sub-utrecht" && e.Kind == settlement.KindEarning {
			seller = e
		}
	}
	require.Equal(t, `entry L5:root/seller: earning EUR 18.00 to sub-utrecht
  <- node root/seller of plan bundle@1 (role seller), share remaining
  <- line L5
  <- invoice_line:INV-1/L5
`, settlement.ExplainEntry(seller))
}

func TestMetrics(t *testing.T) {
	s := newSettler(t)
	direct := chainLine("L4", "50.00", "2026-03-01")
	direct.Route = partner.Route{Kind: partner.RouteDirect}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01"), direct})
	require.NoError(t, err)
	cr, err := s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L4", "-50.00", "2026-03-02")})
	require.NoError(t, err)
	year := ensemble.MustPeriod(date("2026-01-01"), date("2027-01-01"))
	ms, err := settlement.ComputeMetrics(append(res.Entries, cr.Entries...), year, "")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	m := ms[0]
	requireMoney(t, m.GrossValue, eur("1000.00"))
	requireMoney(t, m.PlatformRevenue, eur("200.00"))
	requireMoney(t, m.PartnerEarnings, eur("800.00"))
	require.True(t, m.TakeRate.Equal(ensemble.MustRatio("1/5")))
	require.Equal(t, []string{"direct", "partner"}, keys(m.ByRoute))
	requireMoney(t, m.ByRoute[0].Amount, eur("0"))
	require.Equal(t, "sub-utrecht", m.BySeller[1].Key)
	requireMoney(t, m.BySeller[1].Platform, eur("200.00"))

	// Retention: reseller-nl earns in March only.
	april := chainLine("L9", "10.00", "2026-04-10")
	april.Route.Seller, april.Route.Chain = "sub-utrecht", []partner.ID{"sub-utrecht"}
	april.Route.Referrer = ""
	r2, err := s.Settle(ctx, res.State, []settlement.Line{april})
	require.NoError(t, err)
	ret, err := settlement.PartnerRetention(append(res.Entries, r2.Entries...),
		ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01")), ensemble.MustPeriod(date("2026-04-01"), date("2026-05-01")), "")
	require.NoError(t, err)
	require.Equal(t, 4, ret.Before)
	require.Equal(t, 1, ret.Retained)
	require.Equal(t, []partner.ID{"distri-eu", "referral-ams", "reseller-nl"}, ret.Lost)
	require.True(t, ret.Rate.Equal(ensemble.MustRatio("1/4")))

	d := settlement.Density(loadNetwork(t), date("2026-05-01"))
	got := map[string]int{}
	for _, row := range d {
		got[fmt.Sprintf("%s/%s", row.Type, row.Territory)] = row.Count
	}
	require.Equal(t, 1, got["reseller/NL"], "%v", got)
	require.Equal(t, 0, got["reseller/DE"], "reseller-de is suspended in May")
	require.Equal(t, 1, got["distributor/benelux"])
}

func keys(as []settlement.Amount) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Key)
	}
	return out
}

// TestSettleFromOneStateConcurrently settles different lines, and credits
// of one line, from one State in several goroutines at once: a State is a
// value whose lines and credits later states share in layers (a state
// grown one line per call holds several), and no call writes what it
// shares, so each
// result holds its own line on top of the state's, and the state given is
// unchanged (run with -race in CI).
func TestSettleFromOneStateConcurrently(t *testing.T) {
	s := newSettler(t)
	var st settlement.State
	for i := range 40 { // one line per call: layers below the state's own lines
		lines := []settlement.Line{chainLine(fmt.Sprintf("L%02d", i), "10.00", "2026-03-01")}
		if i%4 == 3 { // and credits, which a call that credits nothing shares
			lines = append(lines, settlement.Line{ID: settlement.LineID(fmt.Sprintf("K%02d", i)), Date: date("2026-03-02"), Amount: eur("-1.00"), Credits: settlement.LineID(fmt.Sprintf("L%02d", i-1))})
		}
		if i%10 == 5 { // and prepaid commitments, likewise
			lines[0].Prepaid = settlement.PrepaidTerms{Commitment: fmt.Sprintf("sub/P%02d", i), Earning: settlement.EarnOnPrepayment}
		}
		res, err := s.Settle(ctx, st, lines)
		require.NoError(t, err)
		st = res.State
	}
	grown, err := json.Marshal(st)
	require.NoError(t, err)
	var decoded settlement.State // its records in one map each, as no call leaves them
	require.NoError(t, json.Unmarshal(grown, &decoded))
	for _, st := range []settlement.State{st, decoded} {
		settleFromConcurrently(t, s, st)
	}
}

// settleFromConcurrently settles eight calls from st at once, each a
// line of its own or a credit of line L07, and checks that each result
// holds its own line and no other call's, and st is unchanged.
func settleFromConcurrently(t *testing.T, s *settlement.Settler, st settlement.State) {
	t.Helper()
	before, err := json.Marshal(st)
	require.NoError(t, err)
	const n = 8
	states := make([]settlement.State, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line := chainLine(fmt.Sprintf("M%d", i), "20.00", "2026-03-02")
			if i%2 == 1 { // a credit of one line the state holds
				line = settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%d", i)), Date: date("2026-03-03"), Amount: eur("-1.00"), Credits: "L07"}
			} else if i%4 == 2 { // a sale of a prepaid commitment of its own
				line.Prepaid = settlement.PrepaidTerms{Commitment: fmt.Sprintf("sub/N%d", i), Earning: settlement.EarnOnPrepayment}
			}
			res, err := s.Settle(ctx, st, []settlement.Line{line})
			states[i], errs[i] = res.State, err
		}()
	}
	wg.Wait()
	after, err := json.Marshal(st)
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(after))
	for i := range n {
		require.NoError(t, errs[i])
		own := settlement.LineID(fmt.Sprintf("M%d", i))
		if i%2 == 1 {
			own = settlement.LineID(fmt.Sprintf("C%d", i))
			require.Equal(t, 40, states[i].Len())
		} else {
			require.Equal(t, 41, states[i].Len())
		}
		require.True(t, states[i].Has(own), "state %d lacks its own line %s", i, own)
		for j := range n {
			if j != i {
				other := settlement.LineID(fmt.Sprintf("M%d", j))
				if j%2 == 1 {
					other = settlement.LineID(fmt.Sprintf("C%d", j))
				}
				require.False(t, states[i].Has(other), "state %d holds line %s of another call", i, other)
			}
		}
		require.True(t, states[i].Has("L00"))
		require.True(t, states[i].Has("L39"))
	}
}

// TestSettleRollingFromOneStateConcurrently settles calls that read and
// change one reseller's rolling, net-of-credits volume from one State in
// several goroutines at once: sales after its points (which race to
// append in place after the state's points, rollingpoints.go) and before
// them (inserted in its index), credits taking back from a point, and a
// call whose bad lines are rejected after adding to the volume. Each
// result equals the same call settled alone from an equal state, and
// every state, the one given and each returned, is as it was when it was
// made: a call writes only after the points of the state it settles from,
// and only where no other call has (run with -race in CI). From the state
// as grown one call at a time, and from its JSON copy.
func TestSettleRollingFromOneStateConcurrently(t *testing.T) {
	s := planSettler(t, strings.NewReplacer("WINDOW", "rolling_12_months", "VOLUME", "net_of_credits").Replace(netPlan), loadNetwork(t))
	grow := func() settlement.State { // one call at a time, each appending to the volume the last returned
		var st settlement.State
		for i := range 30 {
			lines := []settlement.Line{resold(fmt.Sprintf("R%02d", i), "50.00", "EUR", fmt.Sprintf("2026-03-%02d", 1+i%28))}
			if i%5 == 4 {
				lines = append(lines, settlement.Line{ID: settlement.LineID(fmt.Sprintf("K%02d", i)), Date: date("2026-03-28"), Amount: eur("-5.00"), Credits: settlement.LineID(fmt.Sprintf("R%02d", i-1))})
			}
			res, err := s.Settle(ctx, st, lines)
			require.NoError(t, err)
			st = res.State
		}
		return st
	}
	bad := resold("X1", "20.00", "EUR", "2026-03-15")
	c := catalog.SupplierCost{Supplier: "supplier-backup", Offer: "app", Cost: eur("1.00")}
	c.Component.ID = "disk"
	bad.SupplierCosts = []catalog.SupplierCost{c, c} // rejected once split: its entry ids collide
	calls := [][]settlement.Line{
		{resold("N1", "70.00", "EUR", "2026-04-02")},
		{resold("N2", "30.00", "EUR", "2026-02-10")}, // before every point
		{{ID: "C1", Date: date("2026-04-01"), Amount: eur("-20.00"), Credits: "R10"}},
		{resold("N3", "10.00", "EUR", "2026-03-14"), bad, {ID: "C2", Date: date("2026-04-01"), Amount: eur("-50.00"), Credits: "R11"}},
		{resold("N4", "40.00", "EUR", "2026-04-03"), resold("N5", "45.00", "EUR", "2026-04-04")},
	}
	grown := mustJSON(t, grow())
	decode := func() settlement.State {
		var st settlement.State
		require.NoError(t, json.Unmarshal(grown, &st))
		return st
	}
	for _, from := range []struct{ alone, shared settlement.State }{{grow(), grow()}, {decode(), decode()}} {
		want := make([]settlement.Result, len(calls))
		wantJSON := make([]string, len(calls)) // each state as its call made it
		for i, lines := range calls {
			var err error
			want[i], err = s.SettleWhatYouCan(ctx, from.alone, lines)
			require.NoError(t, err)
			wantJSON[i] = string(mustJSON(t, want[i].State))
		}
		require.Len(t, want[3].Rejections, 1, "the bad line is rejected")
		got := make([]settlement.Result, 2*len(calls))
		errs := make([]error, len(got))
		var wg sync.WaitGroup
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = s.SettleWhatYouCan(ctx, from.shared, calls[i%len(calls)])
			}()
		}
		wg.Wait()
		for i := range got {
			require.NoError(t, errs[i])
			w := want[i%len(calls)]
			requireSameEntriesT(t, got[i].Entries, w.Entries)
			require.Equal(t, wantJSON[i%len(calls)], string(mustJSON(t, got[i].State)), "call %d", i)
			require.Len(t, got[i].Rejections, len(w.Rejections))
		}
		// Each call's state is still as it was made, continuing from it
		// with a sale after its points sees what it held.
		for i, st := range append([]settlement.State{from.alone, from.shared}, append(resultStates(got), resultStates(want)...)...) {
			wantState := string(grown)
			if i >= 2 {
				wantState = wantJSON[(i-2)%len(calls)]
			}
			require.JSONEq(t, wantState, string(mustJSON(t, st)), "state %d", i)
			next, err := s.Settle(ctx, st, []settlement.Line{resold("M1", "5.00", "EUR", "2026-04-05")})
			require.NoError(t, err)
			require.JSONEq(t, wantState, string(mustJSON(t, st)), "state %d, after a call from it", i)
			require.Equal(t, st.Len()+1, next.State.Len())
		}
	}
}

// resultStates returns the state of each result.
func resultStates(rs []settlement.Result) []settlement.State {
	out := make([]settlement.State, len(rs))
	for i, r := range rs {
		out[i] = r.State
	}
	return out
}
