package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// Config says what the pipeline reads, how it settles and where it writes.
type Config struct {
	// Lines is the file pattern of the month's invoice lines, one JSON
	// settlement.Line a line.
	Lines string
	// States is the file pattern of the shards' States from the previous
	// month (the States output of a previous run), empty for none.
	States string
	// Out is the directory the outputs are written to: entries.jsonl,
	// statements.jsonl, states.jsonl and rejections.jsonl.
	Out string
	// Batch is the most lines a shard settles in one call: a key with
	// more is settled in ordered batches, its State carried between them
	// (0: all of a key's lines in one call).
	Batch int
	// Plans and Network are the documents every worker builds its Settler
	// from (YAML).
	Plans, Network string
	// Period is the statements' period.
	Period ensemble.Period
	// PruneBefore is the start of the credit window: the shards' new
	// States leave out the ledger lines dated before it (State.Prune), so a
	// shard carries no older history. Zero keeps every line.
	PruneBefore time.Time
}

// The output files, in Config.Out.
const (
	EntriesFile    = "entries.jsonl"
	StatementsFile = "statements.jsonl"
	StatesFile     = "states.jsonl"
	// RejectionsFile lists the lines that did not settle, each with its
	// shard and error: {"shard": ..., "line": ..., "error": ...}.
	RejectionsFile = "rejections.jsonl"
)

// ShardState is a shard's State under its key, as the States output and
// input hold it.
type ShardState struct {
	Shard string           `json:"shard"`
	State settlement.State `json:"state"`
}

func init() {
	register.DoFn2x1[string, func(settlement.Line), error](&decodeLineFn{})
	register.DoFn2x1[string, func(ShardState), error](&decodeStateFn{})
	register.Function1x2[settlement.Line, string, settlement.Line](keyBySeller)
	register.Function1x2[ShardState, string, settlement.State](keyByShard)
	register.DoFn8x1[context.Context, string, func(*settlement.Line) bool, func(*settlement.State) bool,
		func(settlement.Entry), func(ShardState), func([]settlement.Statement), func(string), error](&settleShardFn{})
	register.Combiner3[[]settlement.Statement, []settlement.Statement, []settlement.Statement](&mergeStatementsFn{})
	register.Function2x0[[]settlement.Statement, func(settlement.Statement)](flattenStatements)
	register.Function1x2[settlement.Entry, string, error](formatEntry)
	register.Function1x2[settlement.Statement, string, error](formatStatement)
	register.Function1x2[ShardState, string, error](formatShardState)
	register.Emitter1[settlement.Line]()
	register.Emitter1[ShardState]()
	register.Emitter1[settlement.Entry]()
	register.Emitter1[settlement.Statement]()
	register.Emitter1[[]settlement.Statement]()
	register.Emitter1[string]()
	register.Iter1[settlement.Line]()
	register.Iter1[settlement.State]()
}

// Build adds the settlement pipeline to s: read the lines, key them by
// seller (ShardKey), settle each shard (SettleShards), merge the shards'
// statements and write entries, statements and the shards' new States.
// It refuses plans a seller-keyed shard could not settle alone
// (CheckShardable).
func Build(s beam.Scope, cfg Config) error {
	docs, err := settlement.ParsePlans([]byte(cfg.Plans))
	if err != nil {
		return err
	}
	if err := CheckShardable(docs); err != nil {
		return err
	}
	lines := ReadLines(s, cfg.Lines)
	keyed := beam.ParDo(s.Scope("KeyBySeller"), keyBySeller, lines)
	entries, states, statements, rejections := SettleShards(s, keyed, ReadStates(s, cfg.States), cfg)
	Write(s, cfg.Out, entries, states, statements, rejections)
	return nil
}

// ReadLines reads settlement lines, one JSON value a line, decoded as
// strictly as ensemble.DecodeJSON (DecodeLine): a malformed line fails the
// pipeline.
func ReadLines(s beam.Scope, pattern string) beam.PCollection {
	s = s.Scope("ReadLines")
	return beam.ParDo(s, &decodeLineFn{}, textio.Read(s, pattern))
}

// ReadStates reads the shards' States of a previous run; with no pattern,
// an empty collection (every shard starts from the zero State).
func ReadStates(s beam.Scope, pattern string) beam.PCollection {
	s = s.Scope("ReadStates")
	if pattern == "" {
		return beam.ParDo(s, keyByShard, beam.CreateList(s, []ShardState{}))
	}
	return beam.ParDo(s, keyByShard, beam.ParDo(s, &decodeStateFn{}, textio.Read(s, pattern)))
}

// SettleShards groups keyed lines (KV<string, Line>) with the shards'
// previous States (KV<string, State>) and settles each key on a worker
// (settleShardFn); the shards' statements are merged into the month's
// (settlement.Merge in a CombineFn). It returns the entries, the shards'
// new States, the merged statements and the rejected lines (JSON lines).
func SettleShards(s beam.Scope, keyed, states beam.PCollection, cfg Config) (entries, newStates, statements, rejections beam.PCollection) {
	s = s.Scope("SettleShards")
	grouped := beam.CoGroupByKey(s, keyed, states)
	entries, newStates, perShard, rejections := beam.ParDo4(s, &settleShardFn{
		Plans: cfg.Plans, Network: cfg.Network, Batch: cfg.Batch,
		Start: cfg.Period.Start, End: cfg.Period.End, PruneBefore: cfg.PruneBefore,
	}, grouped)
	merged := beam.Combine(s, &mergeStatementsFn{}, perShard)
	return entries, newStates, beam.ParDo(s, flattenStatements, merged), rejections
}

// Write writes entries, States and statements as JSON lines under dir,
// and the rejections SettleShards formatted.
func Write(s beam.Scope, dir string, entries, states, statements, rejections beam.PCollection) {
	s = s.Scope("Write")
	textio.Write(s, outPath(dir, EntriesFile), beam.ParDo(s, formatEntry, entries))
	textio.Write(s, outPath(dir, StatesFile), beam.ParDo(s, formatShardState, states))
	textio.Write(s, outPath(dir, StatementsFile), beam.ParDo(s, formatStatement, statements))
	textio.Write(s, outPath(dir, RejectionsFile), rejections)
}

// outPath is name in dir, a local directory or a Beam file system's URL
// (gs://bucket/out), whose "//" filepath.Join would fold.
func outPath(dir, name string) string {
	if strings.Contains(dir, "://") {
		return strings.TrimSuffix(dir, "/") + "/" + name
	}
	return filepath.Join(dir, name)
}

// decodeLineFn decodes one JSON line into a settlement.Line.
type decodeLineFn struct{}

func (*decodeLineFn) ProcessElement(text string, emit func(settlement.Line)) error {
	l, err := DecodeLine([]byte(text))
	if err != nil {
		return err
	}
	emit(l)
	return nil
}

// decodeStateFn decodes one JSON line into a ShardState.
type decodeStateFn struct{}

func (*decodeStateFn) ProcessElement(text string, emit func(ShardState)) error {
	var st ShardState
	if err := ensemble.DecodeJSON("shard state", []byte(text), &st); err != nil {
		return err
	}
	if st.Shard == "" {
		return fmt.Errorf("beam: shard state without a shard key")
	}
	emit(st)
	return nil
}

// keyBySeller keys a line by ShardKey. A line without a seller is keyed
// by "" and refused by the shard (ErrNoShardKey), naming it.
func keyBySeller(l settlement.Line) (string, settlement.Line) {
	k, _ := ShardKey(l)
	return k, l
}

func keyByShard(st ShardState) (string, settlement.State) { return st.Shard, st.State }

// settleShardFn settles one shard's lines. Each worker builds one Settler
// in Setup, from the documents, and uses it for every shard it is given
// (a Settler is safe for concurrent use and keeps its caches).
type settleShardFn struct {
	Plans   string    `json:"plans"`
	Network string    `json:"network"`
	Batch   int       `json:"batch"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// PruneBefore: see Config.PruneBefore.
	PruneBefore time.Time `json:"prune_before"`

	settler *settlement.Settler
}

func (f *settleShardFn) Setup() error {
	var err error
	f.settler, err = newSettler(f.Plans, f.Network)
	return err
}

func (f *settleShardFn) ProcessElement(ctx context.Context, key string, lines func(*settlement.Line) bool, states func(*settlement.State) bool,
	emitEntry func(settlement.Entry), emitState func(ShardState), emitStatements func([]settlement.Statement), emitRejection func(string)) error {
	var prev settlement.State
	var st settlement.State
	for n := 0; states(&st); n++ {
		if n > 0 {
			return fmt.Errorf("beam: shard %q has more than one previous State", key)
		}
		prev = st
	}
	var ls []settlement.Line
	var l settlement.Line
	for lines(&l) {
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		// A shard with no line this month keeps its State.
		emitState(ShardState{Shard: key, State: f.prune(prev)})
		return nil
	}
	shard, err := SettleShard(ctx, f.settler, key, prev, ls, f.Batch)
	if err != nil {
		return err
	}
	period, err := ensemble.NewPeriod(f.Start, f.End)
	if err != nil {
		return err
	}
	statements, err := settlement.Statements(shard.Entries, settlement.StatementOptions{Period: period, Minimums: minimums})
	if err != nil {
		return fmt.Errorf("shard %q: %w", key, err)
	}
	for _, e := range shard.Entries {
		emitEntry(e)
	}
	emitState(ShardState{Shard: key, State: f.prune(shard.State)})
	emitStatements(statements)
	for _, r := range shard.Rejections {
		b, err := json.Marshal(rejected{Shard: key, Line: r.Line, Error: r.Error()})
		if err != nil {
			return err
		}
		emitRejection(string(b))
	}
	return nil
}

// prune drops the ledger lines before the credit window, if there is one.
func (f *settleShardFn) prune(st settlement.State) settlement.State {
	if f.PruneBefore.IsZero() {
		return st
	}
	return st.Prune(f.PruneBefore)
}

// rejected is one line of RejectionsFile.
type rejected struct {
	Shard string            `json:"shard"`
	Line  settlement.LineID `json:"line"`
	Error string            `json:"error"`
}

// mergeStatementsFn merges the shards' statements with settlement.Merge:
// statements of disjoint shards add up to the statements of the whole.
type mergeStatementsFn struct{}

func (*mergeStatementsFn) CreateAccumulator() []settlement.Statement { return nil }

func (*mergeStatementsFn) AddInput(acc, shard []settlement.Statement) ([]settlement.Statement, error) {
	return settlement.Merge(minimums, acc, shard)
}

func (*mergeStatementsFn) MergeAccumulators(a, b []settlement.Statement) ([]settlement.Statement, error) {
	return settlement.Merge(minimums, a, b)
}

func (*mergeStatementsFn) ExtractOutput(acc []settlement.Statement) []settlement.Statement {
	return acc
}

func flattenStatements(sts []settlement.Statement, emit func(settlement.Statement)) {
	for _, st := range sts {
		emit(st)
	}
}

// formatEntry, formatStatement and formatShardState write a value as one
// JSON line.
func formatEntry(v settlement.Entry) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func formatStatement(v settlement.Statement) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func formatShardState(v ShardState) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
