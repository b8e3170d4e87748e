package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestMain runs the tests' pipelines on prism, in-process.
func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

func init() {
	register.Function1x2[settlement.Line, string, settlement.Line](keyByCustomer)
}

// keyByCustomer is a wrong key: a customer buys from many sellers, so a
// shard keyed by customer would read part of each seller's volume.
func keyByCustomer(l settlement.Line) (string, settlement.Line) { return l.Customer.ID, l }

// testLines is how many lines the pipeline tests settle (10^4, as CI runs).
const testLines = 10_000

// month writes a generated month of n lines under dir and returns them and
// the pipeline's config, with batches small enough that the hot seller
// (s000) is settled in several.
func month(t *testing.T, n int) ([]settlement.Line, Config) {
	t.Helper()
	dir := t.TempDir()
	lines := generateMonth(n)
	path := filepath.Join(dir, "lines.jsonl")
	require.NoError(t, generateFile(path, n))
	return lines, Config{
		Lines: path, Out: filepath.Join(dir, "out"), Batch: 100,
		Plans: plansYAML, Network: networkYAML(), Period: ensemble.MustPeriod(monthStart, monthEnd),
	}
}

// runPipeline builds the pipeline for cfg and runs it on prism.
func runPipeline(t *testing.T, cfg Config) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	require.NoError(t, Build(s, cfg))
	require.NoError(t, ptest.Run(p))
}

// readJSONLines returns a JSON lines file's lines, sorted.
func readJSONLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	require.NoError(t, sc.Err())
	slices.Sort(out)
	return out
}

// readShardFiles returns the lines of every shard's file in out's dir
// (EntriesDir or StatesDir), sorted, and requires that the job committed
// every file it wrote (no partial file is left).
func readShardFiles(t *testing.T, out, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(out, dir, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "%s: no shard's file", dir)
	var lines []string
	for _, path := range paths {
		require.True(t, strings.HasSuffix(path, ".jsonl"), "%s: left uncommitted", path)
		lines = append(lines, readJSONLines(t, path)...)
	}
	slices.Sort(lines)
	return lines
}

// marshalSorted returns each value's JSON, sorted.
func marshalSorted[T any](t *testing.T, vs []T) []string {
	t.Helper()
	out := make([]string, len(vs))
	for i, v := range vs {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		out[i] = string(b)
	}
	slices.Sort(out)
	return out
}

// requireSameLines fails with the first differing line.
func requireSameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	require.Equal(t, len(want), len(got), "%s: count", what)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s differ at %d:\n got %s\nwant %s", what, i, got[i], want[i])
		}
	}
}

// badLines are lines settlement refuses, for the month's sellers: a credit
// of a line never settled, a credit of more than a sale earned, and a
// sale whose id another sale has.
func badLines(lines []settlement.Line) []settlement.Line {
	var sale settlement.Line
	for _, l := range lines {
		if l.Credits == "" && l.Route.Seller != "s000" {
			sale = l
			break
		}
	}
	unknown := settlement.Line{ID: "BAD-unknown", Credits: "L-none", Date: sale.Date.Add(time.Hour),
		Amount: ensemble.MustMoney("-1.00", "EUR"), Offer: sale.Offer, Customer: sale.Customer, Route: sale.Route}
	over := unknown
	over.ID, over.Credits, over.Amount = "BAD-over", sale.ID, ensemble.MustMoney("-1000000.00", "EUR")
	twice := sale
	twice.Date = sale.Date.Add(time.Minute)
	return []settlement.Line{unknown, over, twice}
}

// TestPipelineMatchesOneProcess: the pipeline on prism writes byte for
// byte the entries and statements of settling the same month in one
// process, in one call with one State, and rejects the same lines; the
// shards' States merge into that call's State, byte for byte. The amounts
// cross the coders between every stage, so a coder that lost them fails
// here too.
func TestPipelineMatchesOneProcess(t *testing.T) {
	lines, cfg := month(t, testLines)
	lines = append(lines, badLines(lines)...)
	f, err := os.Create(cfg.Lines)
	require.NoError(t, err)
	require.NoError(t, writeLines(f, lines))
	require.NoError(t, f.Close())
	runPipeline(t, cfg)

	settler, err := newSettler(cfg.Plans, cfg.Network)
	require.NoError(t, err)
	whole, err := settler.SettleWhatYouCan(context.Background(), settlement.State{}, lines)
	require.NoError(t, err)
	statements, err := settlement.Statements(whole.Entries, settlement.StatementOptions{Period: cfg.Period, Minimums: minimums})
	require.NoError(t, err)

	requireSameLines(t, "entries", readShardFiles(t, cfg.Out, EntriesDir), marshalSorted(t, whole.Entries))
	requireSameLines(t, "statements", readJSONLines(t, filepath.Join(cfg.Out, StatementsFile)), marshalSorted(t, statements))

	var rejectedIDs []string
	for _, text := range readJSONLines(t, filepath.Join(cfg.Out, RejectionsFile)) {
		var r rejected
		require.NoError(t, json.Unmarshal([]byte(text), &r))
		require.NotEmpty(t, r.Error)
		rejectedIDs = append(rejectedIDs, string(r.Line))
	}
	var wantRejected []string
	for _, r := range whole.Rejections {
		wantRejected = append(wantRejected, string(r.Line))
	}
	slices.Sort(rejectedIDs)
	slices.Sort(wantRejected)
	require.Equal(t, wantRejected, rejectedIDs)
	require.Subset(t, rejectedIDs, []string{"BAD-unknown", "BAD-over"})

	var parts []settlement.State
	for _, text := range readShardFiles(t, cfg.Out, StatesDir) {
		var st ShardState
		require.NoError(t, ensemble.DecodeJSON("shard state", []byte(text), &st))
		parts = append(parts, st.State)
	}
	merged, err := settlement.MergeStates(parts...)
	require.NoError(t, err)
	requireSameJSON(t, whole.State, merged)
}

// TestPipelineCarriesStates: a second month settled from the first
// month's States (credits of January's lines in February, and sales that
// read the year's volume so far) equals settling both months in one
// process.
func TestPipelineCarriesStates(t *testing.T) {
	jan, cfg := month(t, 2_000)
	runPipeline(t, cfg)

	// February: every January line gets a credit of one cent, and every
	// January sale of s000 is sold again.
	var feb []settlement.Line
	for _, l := range jan {
		if l.Credits == "" {
			feb = append(feb, settlement.Line{ID: "CR-" + l.ID, Credits: l.ID, Date: l.Date.AddDate(0, 1, 0),
				Amount: ensemble.MustMoney("-0.01", "EUR"), Offer: l.Offer, Customer: l.Customer, Route: l.Route})
		}
		if l.Route.Seller == "s000" && l.Credits == "" {
			again := l
			again.ID, again.Date = "RE-"+l.ID, l.Date.AddDate(0, 1, 0)
			feb = append(feb, again)
		}
	}
	dir := t.TempDir()
	febCfg := cfg
	febCfg.Lines, febCfg.States, febCfg.Out = filepath.Join(dir, "feb.jsonl"), filepath.Join(cfg.Out, StatesDir, "*.jsonl"), filepath.Join(dir, "out")
	febCfg.Period = ensemble.MustPeriod(monthEnd, monthEnd.AddDate(0, 1, 0))
	f, err := os.Create(febCfg.Lines)
	require.NoError(t, err)
	require.NoError(t, writeLines(f, feb))
	require.NoError(t, f.Close())
	runPipeline(t, febCfg)

	settler, err := newSettler(cfg.Plans, cfg.Network)
	require.NoError(t, err)
	first, err := settler.Settle(context.Background(), settlement.State{}, jan)
	require.NoError(t, err)
	second, err := settler.Settle(context.Background(), first.State, feb)
	require.NoError(t, err)
	statements, err := settlement.Statements(second.Entries, settlement.StatementOptions{Period: febCfg.Period, Minimums: minimums})
	require.NoError(t, err)
	requireSameLines(t, "entries", readShardFiles(t, febCfg.Out, EntriesDir), marshalSorted(t, second.Entries))
	requireSameLines(t, "statements", readJSONLines(t, filepath.Join(febCfg.Out, StatementsFile)), marshalSorted(t, statements))

	// -inprocess reads the same States (merged) and writes the same
	// entries and statements; with a credit window, its State is the
	// shards' merged, pruned alike.
	inCfg := febCfg
	inCfg.Out, inCfg.PruneBefore = filepath.Join(dir, "in"), monthStart.AddDate(0, 0, 10)
	require.NoError(t, os.MkdirAll(inCfg.Out, 0o755))
	require.NoError(t, settleInProcess(context.Background(), inCfg, io.Discard))
	requireSameLines(t, "in-process entries", readJSONLines(t, filepath.Join(inCfg.Out, inProcessEntriesFile)), marshalSorted(t, second.Entries))
	requireSameLines(t, "in-process statements", readJSONLines(t, filepath.Join(inCfg.Out, StatementsFile)), marshalSorted(t, statements))
	requireSameLines(t, "in-process state", readJSONLines(t, filepath.Join(inCfg.Out, "state.json")),
		marshalSorted(t, []settlement.State{second.State.Prune(inCfg.PruneBefore)}))
}

// TestWrongKeyIsRefused: lines keyed by customer instead of seller reach
// shards that do not own their sellers' volumes; the shard refuses them
// and the job fails, naming the line, instead of paying differently.
func TestWrongKeyIsRefused(t *testing.T) {
	_, cfg := month(t, 500)
	p, s := beam.NewPipelineWithRoot()
	keyed := beam.ParDo(s, keyByCustomer, ReadLines(s, cfg.Lines))
	statements, rejections, written := SettleShards(s, keyed, ReadStates(s, ""), cfg)
	Write(s, cfg.Out, statements, rejections, written)
	err := ptest.Run(p)
	require.Error(t, err)
	require.Contains(t, err.Error(), "but its volume and ledger belong to shard")
	committed, err := filepath.Glob(filepath.Join(cfg.Out, "*", "*.jsonl"))
	require.NoError(t, err)
	require.Empty(t, committed, "a refused job commits no shard's entries or State")
}

// TestUnshardablePlanIsRefused: a plan whose rate reads the distributor's
// volume cannot be settled in shards keyed by seller; Build refuses it.
func TestUnshardablePlanIsRefused(t *testing.T) {
	_, cfg := month(t, 10)
	cfg.Plans = strings.Replace(plansYAML, "of: seller", "of: distributor", 1)
	_, s := beam.NewPipelineWithRoot()
	err := Build(s, cfg)
	require.ErrorIs(t, err, ErrUnshardablePlan)
	require.ErrorContains(t, err, `node /line/platform reads the volume of "distributor"`)
}

// TestPipelinePrunesStates: with a credit window starting mid-month, the
// shards' States leave out the older lines (State.Prune) and merge into
// one call's State pruned the same way; a later credit of a pruned line is
// rejected, never settled as zero.
func TestPipelinePrunesStates(t *testing.T) {
	lines, cfg := month(t, 1_000)
	cfg.PruneBefore = monthStart.AddDate(0, 0, 15)
	runPipeline(t, cfg)

	settler, err := newSettler(cfg.Plans, cfg.Network)
	require.NoError(t, err)
	whole, err := settler.SettleWhatYouCan(context.Background(), settlement.State{}, lines)
	require.NoError(t, err)
	pruned := whole.State.Prune(cfg.PruneBefore)
	require.Less(t, pruned.Len(), whole.State.Len())
	var parts []settlement.State
	for _, text := range readShardFiles(t, cfg.Out, StatesDir) {
		var st ShardState
		require.NoError(t, ensemble.DecodeJSON("shard state", []byte(text), &st))
		parts = append(parts, st.State)
	}
	merged, err := settlement.MergeStates(parts...)
	require.NoError(t, err)
	requireSameJSON(t, pruned, merged)

	var old settlement.Line
	for _, l := range lines {
		if l.Credits == "" && l.Date.Before(cfg.PruneBefore) {
			old = l
			break
		}
	}
	credit := settlement.Line{ID: "CR-late", Credits: old.ID, Date: monthEnd, Amount: ensemble.MustMoney("-0.01", "EUR"),
		Offer: old.Offer, Customer: old.Customer, Route: old.Route}
	res, err := settler.SettleWhatYouCan(context.Background(), merged, []settlement.Line{credit})
	require.NoError(t, err)
	require.Len(t, res.Rejections, 1)
	require.ErrorIs(t, res.Rejections[0], settlement.ErrUnknownLine)
	require.Empty(t, res.Entries)
}
