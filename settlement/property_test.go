package settlement_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

var ratios = []string{"0", "1/7", "3/7", "1/3", "1/4", "10%", "25%", "50%", "2/3", "1"}
var roles = []string{"platform", "seller", "chain[1]", "chain[2]", "top", "referrer", "chain[*]", "reseller", "distributor"}

// genNode draws a random plan node: a leaf or a level of 1-4 children.
func genNode(t *rapid.T, id string, depth int, root bool) settlement.Node {
	n := settlement.Node{ID: settlement.NodeID(id)}
	if !root {
		if rapid.IntRange(0, 4).Draw(t, id+".remaining") == 0 {
			n.Share = settlement.Share{Remaining: true}
		} else {
			n.Share = settlement.Share{Ratio: ensemble.MustRatio(rapid.SampledFrom(ratios).Draw(t, id+".ratio")), HasRatio: true}
		}
	}
	if depth >= 3 || (!root && rapid.Bool().Draw(t, id+".leaf")) {
		n.Party = rapid.SampledFrom(roles).Draw(t, id+".party")
		if rapid.Bool().Draw(t, id+".fallback") {
			n.Fallback = settlement.FallbackPlatform
		}
		return n
	}
	k := rapid.IntRange(1, 4).Draw(t, id+".children")
	for i := range k {
		n.Children = append(n.Children, genNode(t, fmt.Sprintf("%s%d", id, i), depth+1, false))
	}
	return n
}

var chains = [][]partner.ID{
	{"sub-utrecht", "reseller-nl", "distri-eu"},
	{"reseller-nl", "distri-eu"},
	{"reseller-de", "distri-eu"}, // suspended from 2026-04-01
	{"distri-eu"},
	{"dev-1"},
}

func genLine(t *rapid.T, id string) settlement.Line {
	day := rapid.IntRange(0, 364).Draw(t, id+".day")
	l := settlement.Line{
		ID:     settlement.LineID(id),
		Date:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day),
		Amount: ensemble.MoneyFromMinor(rapid.Int64Range(0, 10_000_000).Draw(t, id+".amount"), ensemble.MustCurrency("EUR")),
		Offer:  catalog.Pin{Offer: "cloud-backup", Version: 1},
		Route:  partner.Route{Kind: partner.RoutePartner, Chain: rapid.SampledFrom(chains).Draw(t, id+".chain")},
	}
	if rapid.Bool().Draw(t, id+".referred") {
		l.Route.Referrer = "referral-ams"
	}
	if rapid.IntRange(0, 3).Draw(t, id+".bundle") == 0 {
		l.Offer = catalog.Pin{Offer: "secure-backup", Version: 1} // the bundle plan holds reserves back
	}
	return l
}

func genLines(t *rapid.T, n int) []settlement.Line {
	lines := make([]settlement.Line, n)
	for i := range lines {
		lines[i] = genLine(t, fmt.Sprintf("L%03d", i))
	}
	return lines
}

// randomSettler draws plans until one validates; it reports how many were
// rejected so the generator is known to reach both outcomes.
func randomSettler(t *rapid.T, net *partner.Network) (*settlement.Settler, settlement.PlanDocument) {
	for {
		doc := settlement.PlanDocument{ID: "rand", Version: 1, Root: genNode(t, "n", 0, true)}
		s, err := settlement.New(settlement.Config{Plans: []settlement.PlanDocument{doc}, Network: net})
		if err == nil {
			return s, doc
		}
	}
}

// TestPropertyRandomPlans checks, for random plans and lines: a plan is
// either rejected or never over-allocates; every line's entries add up to
// its amount; every node's amount is what its leaves got and within one
// minor unit of its exact share of its parent; a node with a zero ratio
// gets nothing.
func TestPropertyRandomPlans(t *testing.T) {
	net := loadNetwork(t)
	rapid.Check(t, func(t *rapid.T) {
		s, doc := randomSettler(t, net)
		lines := genLines(t, rapid.IntRange(1, 5).Draw(t, "lines"))
		res, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		for _, l := range lines {
			var mine []settlement.Entry
			for _, e := range res.Entries {
				if e.Line == l.ID {
					mine = append(mine, e)
					require.False(t, e.Amount.IsNegative(), "entry %s is negative", e.ID)
				}
			}
			total := sumEntries(mine, settlement.KindEarning)
			requireMoney(t, total, l.Amount, "line conserves")
			// Node amounts from the entries' paths.
			got := map[string]int64{}
			for _, e := range mine {
				u, err := e.Amount.MinorUnits()
				require.NoError(t, err)
				segs := strings.Split(e.Node, "/")
				for i := range segs {
					got[strings.Join(segs[:i+1], "/")] += u
				}
			}
			checkNode(t, &doc.Root, "", got)
		}
	})
}

// checkNode checks each level: children add up to the node, each static
// ratio child is within one unit of its exact share (or less when its
// party could not be paid), a zero ratio child gets zero.
func checkNode(t *rapid.T, n *settlement.Node, parent string, got map[string]int64) {
	path := string(n.ID)
	if parent != "" {
		path = parent + "/" + string(n.ID)
	}
	if len(n.Children) == 0 {
		return
	}
	amount := got[path]
	var sum int64
	for i := range n.Children {
		c := &n.Children[i]
		cp := path + "/" + string(c.ID)
		sum += got[cp]
		if c.Share.HasRatio {
			exact := new(big.Rat).Mul(big.NewRat(amount, 1), c.Share.Ratio.Rat())
			lo := new(big.Int).Quo(exact.Num(), exact.Denom()).Int64()
			if c.Share.Ratio.IsZero() {
				require.Zero(t, got[cp], "zero share at %s gets zero", cp)
			}
			require.LessOrEqual(t, got[cp], lo+1, "node %s over its exact share", cp)
		}
		checkNode(t, c, path, got)
	}
	// Money leaves a level only to the platform, as a fallback, and then
	// it is booked under the child's own path; so children add up.
	require.Equal(t, amount, sum, "level %s conserves", path)
}

// TestPropertyOrderIndependent: any permutation of the input settles to
// the same entries and state.
func TestPropertyOrderIndependent(t *testing.T) {
	s := newSettler(t)
	rapid.Check(t, func(t *rapid.T) {
		lines := genLines(t, rapid.IntRange(1, 12).Draw(t, "n"))
		perm := rapid.Permutation(lines).Draw(t, "perm")
		a, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		b, err := s.Settle(ctx, settlement.State{}, perm)
		require.NoError(t, err)
		if d := cmp.Diff(a.Entries, b.Entries, cmpOpts...); d != "" {
			t.Fatalf("entries depend on order:\n%s", d)
		}
		ja, err := json.Marshal(a.State)
		require.NoError(t, err)
		jb, err := json.Marshal(b.State)
		require.NoError(t, err)
		require.JSONEq(t, string(ja), string(jb))
	})
}

// TestPropertyCredits: any sequence of partial credits summing to the line
// nets every party to exactly zero; no single clawback exceeds what its
// entry had unreversed or flips its sign; one more cent is an over-credit.
func TestPropertyCredits(t *testing.T) {
	s := newSettler(t)
	rapid.Check(t, func(t *rapid.T) {
		l := genLine(t, "L")
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		unreversed := map[settlement.EntryID]int64{}
		for _, e := range res.Entries {
			if e.Kind == settlement.KindEarning {
				unreversed[e.ID], _ = e.Amount.MinorUnits()
			}
		}
		left, _ := l.Amount.MinorUnits()
		st := res.State
		all := slices.Clone(res.Entries)
		for i := 0; left > 0; i++ {
			x := left
			if i < 6 && rapid.Bool().Draw(t, fmt.Sprintf("partial%d", i)) {
				x = rapid.Int64Range(1, left).Draw(t, fmt.Sprintf("credit%d", i))
			}
			c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%d", i)), Date: l.Date.Add(time.Hour),
				Amount: ensemble.MoneyFromMinor(-x, l.Currency()), Credits: l.ID}
			r, err := s.Settle(ctx, st, []settlement.Line{c})
			require.NoError(t, err)
			var got int64
			for _, e := range r.Entries {
				u, _ := e.Amount.MinorUnits()
				require.LessOrEqual(t, u, int64(0), "a clawback never pays")
				require.LessOrEqual(t, -u, unreversed[e.Reverses], "clawback %s exceeds what is unreversed", e.ID)
				unreversed[e.Reverses] += u
				got -= u
			}
			require.Equal(t, x, got, "the credit is reversed exactly")
			left -= x
			st = r.State
			all = append(all, r.Entries...)
		}
		for p, m := range byParty(all, settlement.KindEarning, settlement.KindClawback) {
			require.Truef(t, m.IsZero(), "%s nets %s", p, m)
		}
		_, err = s.Settle(ctx, st, []settlement.Line{{ID: "Cx", Date: l.Date, Amount: ensemble.MoneyFromMinor(-1, l.Currency()), Credits: l.ID}})
		require.ErrorIs(t, err, settlement.ErrOverCredit)
	})
}

// TestPropertyStatementsMerge: settling two shards separately and merging
// their statements equals the statements of settling everything at once,
// with dispute fees and adjustments in either shard.
func TestPropertyStatementsMerge(t *testing.T) {
	s := newSettler(t)
	period := ensemble.MustPeriod(date("2026-01-01"), date("2027-01-01"))
	mins := []ensemble.Money{eur("10.00")}
	rapid.Check(t, func(t *rapid.T) {
		lines := genLines(t, rapid.IntRange(0, 10).Draw(t, "n"))
		cut := rapid.IntRange(0, len(lines)).Draw(t, "cut")
		whole, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		a, err := s.Settle(ctx, settlement.State{}, lines[:cut])
		require.NoError(t, err)
		b, err := s.Settle(ctx, settlement.State{}, lines[cut:])
		require.NoError(t, err)
		// Dispute fees and adjustments, in either shard.
		for i := range rapid.IntRange(0, 3).Draw(t, "others") {
			kind := rapid.SampledFrom([]settlement.EntryKind{settlement.KindFee, settlement.KindAdjustment}).Draw(t, "kind")
			e := entryOf(fmt.Sprint("other", i), kind, partner.ID(rapid.SampledFrom([]string{"platform", "sub-utrecht"}).Draw(t, "party")),
				ensemble.MoneyFromMinor(-rapid.Int64Range(1, 5_000).Draw(t, "units"), ensemble.MustCurrency("EUR")), "2026-06-01")
			whole.Entries = append(whole.Entries, e)
			if rapid.Bool().Draw(t, "shard a") {
				a.Entries = append(a.Entries, e)
			} else {
				b.Entries = append(b.Entries, e)
			}
		}
		opts := settlement.StatementOptions{Period: period, Minimums: mins}
		sw, err := settlement.Statements(whole.Entries, opts)
		require.NoError(t, err)
		sa, err := settlement.Statements(a.Entries, opts)
		require.NoError(t, err)
		sb, err := settlement.Statements(b.Entries, opts)
		require.NoError(t, err)
		merged, err := settlement.Merge(mins, sa, sb)
		require.NoError(t, err)
		if d := cmp.Diff(sw, merged, cmpOpts...); d != "" {
			t.Fatalf("merge differs (-whole +merged):\n%s", d)
		}
	})
}

// TestPropertyJSONRoundTrips: lines, entries, states and statements come
// back from JSON equal.
func TestPropertyJSONRoundTrips(t *testing.T) {
	s := newSettler(t)
	rapid.Check(t, func(t *rapid.T) {
		lines := genLines(t, rapid.IntRange(1, 4).Draw(t, "n"))
		res, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		roundTrip(t, lines)
		roundTrip(t, res.Entries)
		st, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-01-01"), date("2027-01-01"))})
		require.NoError(t, err)
		roundTrip(t, st)
		ms, err := settlement.ComputeMetrics(res.Entries, ensemble.MustPeriod(date("2026-01-01"), date("2027-01-01")), "")
		require.NoError(t, err)
		roundTrip(t, ms)
		adj, err := settlement.Adjust(settlement.Adjustment{ID: "A", Party: "dev-1", Amount: eur("-1.25"), Date: lines[0].Date, Reason: "goodwill", Approver: "cfo", Line: lines[0].ID})
		require.NoError(t, err)
		roundTrip(t, adj)
		roundTrip(t, settlement.Payout{ID: "P", Date: lines[0].Date, Currency: ensemble.MustCurrency("USD"), Rate: ensemble.MustRatio("1.1"), Mode: ensemble.RoundHalfEven})
		b, err := json.Marshal(res.State)
		require.NoError(t, err)
		var back settlement.State
		require.NoError(t, json.Unmarshal(b, &back))
		b2, err := json.Marshal(back)
		require.NoError(t, err)
		require.JSONEq(t, string(b), string(b2))
	})
}

func roundTrip[T any](t *rapid.T, v T) {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var back T
	require.NoError(t, json.Unmarshal(b, &back))
	if d := cmp.Diff(v, back, cmpOpts...); d != "" {
		t.Fatalf("JSON round trip of %T differs:\n%s", v, d)
	}
}
