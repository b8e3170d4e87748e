package settlement_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// historySettler settles historyPlans: every multi-party role, reserves,
// the gross basis, and dollar and pound lines taking a bonus on the
// seller's volume in euros, net of credits.
func historySettler(t testing.TB) *settlement.Settler {
	plans, err := settlement.ParsePlans([]byte(historyPlans))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans, Network: loadNetwork(t), Rates: historyRates})
	require.NoError(t, err)
	return s
}

// drawHistorySale draws sale line id of historyPlans, in dollars or
// pounds now and then (whose bonus reads the seller's volume).
func drawHistorySale(t *rapid.T, id string) settlement.Line {
	l := genLedgerLine(t, id)
	if rapid.IntRange(0, 2).Draw(t, id+".abroad") == 0 {
		l = inCurrency(l, rapid.SampledFrom([]string{"USD", "GBP"}).Draw(t, id+".currency"))
	}
	return l
}

// sellerOf returns the partner whose volume a line's cumulative shares
// read on historyPlans: its seller, the first partner of its chain.
func sellerOf(l settlement.Line) partner.ID {
	if l.Route.Seller != "" {
		return l.Route.Seller
	}
	if len(l.Route.Chain) > 0 {
		return l.Route.Chain[0]
	}
	return ""
}

// drawCredits draws credits of random lines of st (by what they have
// left unreversed) and of sales (settled in the same call, by their net
// amount), never more than a line has left: ids prefix1, prefix2...
func drawCredits(t *rapid.T, st settlement.State, ids []settlement.LineID, sales []settlement.Line, prefix string) []settlement.Line {
	var out []settlement.Line
	left := map[settlement.LineID]int64{}
	cur := map[settlement.LineID]ensemble.Currency{}
	dated := map[settlement.LineID]time.Time{} // a credit follows what it credits
	for _, id := range ids {
		if ll, ok := st.Line(id); ok {
			left[id], cur[id], dated[id] = minorOf(ll.Basis)-minorOf(ll.Credited), ll.Basis.Currency(), ll.Date
		}
	}
	for _, l := range sales {
		ids = append(ids, l.ID)
		left[l.ID], cur[l.ID], dated[l.ID] = minorOf(l.Amount), l.Amount.Currency(), l.Date
	}
	if len(ids) == 0 {
		return nil
	}
	for i := range rapid.IntRange(0, 6).Draw(t, prefix+".credits") {
		id := rapid.SampledFrom(ids).Draw(t, fmt.Sprintf("%s%d.of", prefix, i))
		x := rapid.Int64Range(0, left[id]).Draw(t, fmt.Sprintf("%s%d.amount", prefix, i))
		left[id] -= x
		at := date("2027-07-01").AddDate(0, 0, rapid.IntRange(0, 30).Draw(t, fmt.Sprintf("%s%d.day", prefix, i)))
		if at.Before(dated[id]) {
			at = dated[id]
		}
		out = append(out, settlement.Line{ID: settlement.LineID(fmt.Sprintf("%s%d", prefix, i)), Credits: id, Date: at, Amount: ensemble.MoneyFromMinor(-x, cur[id])})
	}
	return out
}

// TestPropertyShardedSettlingEqualsWhole: a month settled in one call
// equals the month settled by random shards and merged. A first month is
// settled whole; the second month's sales are keyed by their seller
// (whose volumes the shard is seeded with, SplitByPartner) and its
// credits by the line they credit (whose ledger part the shard holds,
// SplitByLine; a line whose volume is net of credits is held on its
// seller's shard, as are the credits of the month's own sales). Each
// shard settles its lines against its parts; the shards' states merge
// into the whole call's state, byte for byte, their entries are the
// whole call's as a set, and their statements merge into its
// statements. Every part decodes on its own.
func TestPropertyShardedSettlingEqualsWhole(t *testing.T) {
	s := historySettler(t)
	opts := settlement.StatementOptions{Period: ensemble.MustPeriod(date("2020-01-01"), date("2100-01-01"))}
	rapid.Check(t, func(t *rapid.T) {
		var month1 []settlement.Line
		for i := range rapid.IntRange(0, 8).Draw(t, "month1") {
			month1 = append(month1, drawHistorySale(t, fmt.Sprintf("A%d", i)))
		}
		month1 = append(month1, drawCredits(t, settlement.State{}, nil, month1, "CA")...)
		first, err := s.Settle(ctx, settlement.State{}, month1)
		require.NoError(t, err)
		st := first.State
		var month2 []settlement.Line
		for i := range rapid.IntRange(0, 8).Draw(t, "month2") {
			month2 = append(month2, drawHistorySale(t, fmt.Sprintf("B%d", i)))
		}
		held := make([]settlement.LineID, 0, len(month1))
		for _, l := range month1 {
			if l.Credits == "" {
				held = append(held, l.ID)
			}
		}
		month2 = append(month2, drawCredits(t, st, held, month2, "CB")...)
		whole, err := s.Settle(ctx, st, month2)
		require.NoError(t, err)

		// Shards: each seller's (in sorted order, so draws replay), each
		// ledger line's.
		n := rapid.IntRange(1, 4).Draw(t, "shards")
		bySeller := map[partner.ID]int{}
		var sellers []partner.ID
		for _, l := range append(slices.Clone(month1), month2...) {
			if p := sellerOf(l); p != "" && !slices.Contains(sellers, p) {
				sellers = append(sellers, p)
			}
		}
		slices.Sort(sellers)
		for _, p := range sellers {
			bySeller[p] = rapid.IntRange(0, n-1).Draw(t, "shard of "+string(p))
		}
		byLine := map[settlement.LineID]int{}
		for _, id := range held {
			ll, _ := st.Line(id)
			byLine[id] = rapid.IntRange(0, n-1).Draw(t, "shard of "+string(id))
			for _, v := range ll.Volumes {
				if v.NetOfCredits { // its credits take back from the seller's volume
					byLine[id] = bySeller[v.Partner]
				}
			}
		}
		lines := make([][]settlement.Line, n)
		for _, l := range month2 {
			k := 0
			switch {
			case l.Credits != "":
				if k2, ok := byLine[l.Credits]; ok {
					k = k2
				} else {
					k = byLine[settlement.LineID("sale of "+l.Credits)]
				}
			case sellerOf(l) != "":
				k = bySeller[sellerOf(l)]
			default:
				k = rapid.IntRange(0, n-1).Draw(t, "shard of "+string(l.ID))
			}
			if l.Credits == "" {
				byLine["sale of "+l.ID] = k // its credits of this month follow it
			}
			lines[k] = append(lines[k], l)
		}
		var states []settlement.State
		var entries []settlement.Entry
		var statements [][]settlement.Statement
		for k := range n {
			ledgers := st.SplitByLine(func(id settlement.LineID) bool { return byLine[id] == k })
			vols := st.SplitByPartner(func(p partner.ID) bool { return bySeller[p] == k })
			requireDecodes(t, ledgers)
			requireDecodes(t, vols)
			shard, err := settlement.MergeStates(ledgers, vols)
			require.NoError(t, err)
			requireDecodes(t, shard)
			// The shard refuses a sale of another shard's seller.
			res, err := s.Settle(ctx, shard, lines[k])
			require.NoError(t, err, "shard %d", k)
			requireDecodes(t, res.State)
			states = append(states, res.State)
			entries = append(entries, res.Entries...)
			sts, err := settlement.Statements(res.Entries, opts)
			require.NoError(t, err)
			statements = append(statements, sts)
		}
		merged, err := settlement.MergeStates(states...)
		require.NoError(t, err)
		if g, w := string(mustJSON(t, merged)), string(mustJSON(t, whole.State)); g != w {
			t.Fatalf("merged state differs (-whole +shards):\n%s", diffJSON(g, w))
		}
		requireSameEntrySet(t, entries, whole.Entries)
		want, err := settlement.Statements(whole.Entries, opts)
		require.NoError(t, err)
		got, err := settlement.Merge(nil, statements...)
		require.NoError(t, err)
		if d := gocmp.Diff(want, got, cmpOpts...); d != "" {
			t.Fatalf("merged statements differ (-whole +shards):\n%s", d)
		}
	})
}

// TestPropertySplitThenMergeIsIdentity: a random history's state split by
// line and by partner at random, into any number of parts, merges back
// byte for byte, and each part decodes.
func TestPropertySplitThenMergeIsIdentity(t *testing.T) {
	s := historySettler(t)
	rapid.Check(t, func(t *rapid.T) {
		var lines []settlement.Line
		for i := range rapid.IntRange(0, 10).Draw(t, "sales") {
			lines = append(lines, drawHistorySale(t, fmt.Sprintf("A%d", i)))
		}
		lines = append(lines, drawCredits(t, settlement.State{}, nil, lines, "C")...)
		res, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		n := rapid.IntRange(1, 4).Draw(t, "parts")
		line := map[settlement.LineID]int{}
		seller := map[partner.ID]int{}
		for _, l := range lines {
			line[l.ID] = rapid.IntRange(0, n-1).Draw(t, "line part of "+string(l.ID))
			if p := sellerOf(l); p != "" {
				seller[p] = rapid.IntRange(0, n-1).Draw(t, "partner part of "+string(p))
			}
		}
		var parts []settlement.State
		for j := range n {
			parts = append(parts, requireDecodes(t, res.State.SplitByLine(func(id settlement.LineID) bool { return line[id] == j })),
				requireDecodes(t, res.State.SplitByPartner(func(p partner.ID) bool { return seller[p] == j })))
		}
		parts = rapid.Permutation(parts).Draw(t, "order")
		merged, err := settlement.MergeStates(parts...)
		require.NoError(t, err)
		require.Equal(t, string(mustJSON(t, res.State)), string(mustJSON(t, merged)))
	})
}

// requireDecodes requires st to read back from JSON into the same JSON,
// and returns what it read.
func requireDecodes(t *rapid.T, st settlement.State) settlement.State {
	b := mustJSON(t, st)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back), "%s", b)
	require.Equal(t, string(b), string(mustJSON(t, back)))
	return back
}

// requireSameEntrySet requires got and want to hold the same entries, in
// any order, as JSON.
func requireSameEntrySet(t *rapid.T, got, want []settlement.Entry) {
	sorted := func(es []settlement.Entry) string {
		es = append([]settlement.Entry{}, es...)
		slices.SortFunc(es, func(a, b settlement.Entry) int { return cmp.Compare(a.ID, b.ID) })
		return string(mustJSON(t, es))
	}
	if g, w := sorted(got), sorted(want); g != w {
		t.Fatalf("entries differ (-whole +shards):\n%s", diffJSON(g, w))
	}
}

// TestPropertyPruneKeepsWhatLaterLinesRead: settling a later batch (sales
// dated from the cut on, credits of lines dated from it) against a state
// pruned at the cut gives the entries settling it against the whole state
// gives, over calendar years and rolling windows (whose points no later
// line reads Prune drops), and, pruned at the cut, the state that whole result pruned at the
// cut; a credit of a pruned line is ErrUnknownLine.
func TestPropertyPruneKeepsWhatLaterLinesRead(t *testing.T) {
	calendar := historySettler(t)
	// The same plans over a rolling twelve months: Prune drops the points
	// no later line reads.
	plans, err := settlement.ParsePlans([]byte(strings.ReplaceAll(historyPlans, "{volume: net_of_credits,", "{window: rolling_12_months, volume: net_of_credits,")))
	require.NoError(t, err)
	rolling, err := settlement.New(settlement.Config{Plans: plans, Network: loadNetwork(t), Rates: historyRates})
	require.NoError(t, err)
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.SampledFrom([]*settlement.Settler{calendar, rolling}).Draw(t, "settler")
		var first []settlement.Line
		for i := range rapid.IntRange(1, 8).Draw(t, "first") {
			first = append(first, drawHistorySale(t, fmt.Sprintf("A%d", i)))
		}
		first = append(first, drawCredits(t, settlement.State{}, nil, first, "CA")...)
		prev, err := s.Settle(ctx, settlement.State{}, first)
		require.NoError(t, err)
		cut := date("2026-01-01").AddDate(0, 0, rapid.IntRange(0, 500).Draw(t, "cut"))
		pruned := requireDecodes(t, prev.State.Prune(cut))
		var kept, gone []settlement.LineID
		for _, l := range first {
			switch {
			case l.Credits != "":
			case l.Date.Before(cut) && !awaitsPayment(prev.State, l.ID): // one awaiting its customer's payment is kept
				gone = append(gone, l.ID)
			default:
				kept = append(kept, l.ID)
			}
		}
		var later []settlement.Line
		for i := range rapid.IntRange(0, 6).Draw(t, "later") {
			l := drawHistorySale(t, fmt.Sprintf("B%d", i))
			l.Date = cut.AddDate(0, 0, rapid.IntRange(0, 400).Draw(t, fmt.Sprintf("B%d.after", i)))
			later = append(later, l)
		}
		later = append(later, drawCredits(t, prev.State, kept, later, "CB")...)
		whole, err := s.Settle(ctx, prev.State, later)
		require.NoError(t, err)
		got, err := s.Settle(ctx, pruned, later)
		require.NoError(t, err)
		requireSameEntrySet(t, got.Entries, whole.Entries)
		// Pruned again: a kept line the batch's credits left awaiting no
		// payment is pruned now.
		require.Equal(t, string(mustJSON(t, whole.State.Prune(cut))), string(mustJSON(t, got.State.Prune(cut))))
		if len(gone) > 0 {
			of := rapid.SampledFrom(gone).Draw(t, "credit of a pruned line")
			ll, _ := prev.State.Line(of)
			_, err := s.Settle(ctx, pruned, []settlement.Line{{ID: "CX", Credits: of, Date: cut, Amount: ensemble.MoneyFromMinor(-1, ll.Basis.Currency())}})
			require.ErrorIs(t, err, settlement.ErrUnknownLine)
		}
	})
}
