package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// sellerLines returns the lines of one seller.
func sellerLines(lines []settlement.Line, seller string) []settlement.Line {
	var out []settlement.Line
	for _, l := range lines {
		if string(l.Route.Seller) == seller {
			out = append(out, l)
		}
	}
	return out
}

// collect returns a SettleShard callback appending each batch's entries
// to entries.
func collect(entries *[]settlement.Entry) func(settlement.Result) error {
	return func(res settlement.Result) error {
		*entries = append(*entries, res.Entries...)
		return nil
	}
}

// TestHotKeyInBatches: the hot seller's lines settled in ordered batches of
// 50, the State carried from each to the next, give the entries and the
// State of one call, and its rate crosses the tier inside the month.
func TestHotKeyInBatches(t *testing.T) {
	settler, err := newSettler(plansYAML, networkYAML())
	require.NoError(t, err)
	hot := sellerLines(generateMonth(4_000), "s000")
	require.Greater(t, len(hot), 150)

	var oneEntries, batchedEntries []settlement.Entry
	one, err := SettleShard(context.Background(), settler, "s000", settlement.State{}, hot, 0, collect(&oneEntries))
	require.NoError(t, err)
	batched, err := SettleShard(context.Background(), settler, "s000", settlement.State{}, hot, 50, collect(&batchedEntries))
	require.NoError(t, err)
	require.Equal(t, 1, one.Batches)
	require.Equal(t, (len(hot)+49)/50, batched.Batches)
	requireSameLines(t, "entries", marshalSorted(t, batchedEntries), marshalSorted(t, oneEntries))
	gotState, err := json.Marshal(batched.State)
	require.NoError(t, err)
	wantState, err := json.Marshal(one.State)
	require.NoError(t, err)
	require.JSONEq(t, string(wantState), string(gotState))
	crossed := false
	for _, e := range batchedEntries {
		crossed = crossed || (e.Party == "platform" && strings.Contains(e.Share, "30%"))
	}
	require.True(t, crossed, "the hot seller's volume crosses EUR 20,000 in the month")
}

// TestWrongShardIsRefused: a shard given a line of another seller refuses
// it with a *ShardError naming the line, the shard and its owner.
func TestWrongShardIsRefused(t *testing.T) {
	settler, err := newSettler(plansYAML, networkYAML())
	require.NoError(t, err)
	lines := generateMonth(200)
	mixed := append(sellerLines(lines, "s000"), sellerLines(lines, "s001")...)
	var none []settlement.Entry
	_, err = SettleShard(context.Background(), settler, "s000", settlement.State{}, mixed, 0, collect(&none))
	var se *ShardError
	require.ErrorAs(t, err, &se)
	require.ErrorIs(t, err, ErrWrongShard)
	require.Equal(t, "s000", se.Shard)
	require.Equal(t, "s001", se.Owner)

	noSeller := lines[0]
	noSeller.Route.Seller, noSeller.Route.Chain = "", nil
	_, err = SettleShard(context.Background(), settler, "", settlement.State{}, []settlement.Line{noSeller}, 0, collect(&none))
	require.ErrorIs(t, err, ErrNoShardKey)
	require.Empty(t, none, "a refused shard settles nothing")
}

// TestSplitSellerPaysDifferently shows what the shard check prevents: one
// seller's lines settled in two shards, each with its own State, read half
// the volume each and pay the platform less than settling them together.
func TestSplitSellerPaysDifferently(t *testing.T) {
	settler, err := newSettler(plansYAML, networkYAML())
	require.NoError(t, err)
	var hot []settlement.Line
	for _, l := range sellerLines(generateMonth(4_000), "s000") {
		if l.Credits == "" {
			hot = append(hot, l)
		}
	}
	ctx := context.Background()
	whole, err := settler.Settle(ctx, settlement.State{}, hot)
	require.NoError(t, err)
	a, err := settler.Settle(ctx, settlement.State{}, hot[:len(hot)/2])
	require.NoError(t, err)
	b, err := settler.Settle(ctx, settlement.State{}, hot[len(hot)/2:])
	require.NoError(t, err)
	platform := func(es ...[]settlement.Entry) int64 {
		var sum int64
		for _, part := range es {
			for _, e := range part {
				if e.Party == "platform" {
					m, err := e.Amount.MinorUnits()
					require.NoError(t, err)
					sum += m
				}
			}
		}
		return sum
	}
	require.Less(t, platform(a.Entries, b.Entries), platform(whole.Entries))
}

// TestSeededStateRefusesOtherSellers: a shard's State holds its key's
// volumes only (State.Seed), so the library itself refuses a sale of
// another seller, without the example's check.
func TestSeededStateRefusesOtherSellers(t *testing.T) {
	settler, err := newSettler(plansYAML, networkYAML())
	require.NoError(t, err)
	other := sellerLines(generateMonth(200), "s001")[0]
	_, err = settler.Settle(context.Background(), settlement.State{}.Seed("s000"), []settlement.Line{other})
	require.ErrorIs(t, err, settlement.ErrVolumeNotHeld)
}
