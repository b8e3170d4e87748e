package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
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
	// Out is the directory the outputs are written to: entries/ and
	// states/ (a file a shard), statements.jsonl and rejections.jsonl.
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

// The outputs, in Config.Out.
const (
	// EntriesDir holds a file a shard, ShardFile(out, EntriesDir, key):
	// the shard's entries, one JSON settlement.Entry a line, written by the
	// worker that settled them as each batch settles. The entries never
	// cross a stage, so neither the runner nor a shuffle holds them.
	EntriesDir = "entries"
	// StatesDir holds a file a shard, ShardFile(out, StatesDir, key): the
	// shard's new State, one JSON ShardState. The next month reads them
	// with the pattern StatesDir + "/*.jsonl".
	StatesDir      = "states"
	StatementsFile = "statements.jsonl"
	// RejectionsFile lists the lines that did not settle, each with its
	// shard and error: {"shard": ..., "line": ..., "error": ...}.
	RejectionsFile = "rejections.jsonl"
	// partialSuffix marks a shard's file until the job commits it: a
	// worker writes ShardFile(...) + partialSuffix, and the job renames
	// every shard's files once every shard has settled (commitFn), so a
	// failed job leaves no entries.jsonl or state a next month could read
	// as whole (a retried shard rewrites its own file).
	partialSuffix = ".partial"
)

// ShardFile is the file of a shard's entries or State (dir EntriesDir or
// StatesDir) under out: the key path-escaped, so that any key is one file
// name.
func ShardFile(out, dir, key string) string {
	return outPath(out, dir+"/"+url.PathEscape(key)+".jsonl")
}

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
	register.DoFn7x1[context.Context, string, func(*settlement.Line) bool, func(*settlement.State) bool,
		func([]settlement.Statement), func(string), func(string), error](&settleShardFn{})
	register.DoFn3x1[context.Context, int, func(*string) bool, error](&commitFn{})
	register.Combiner3[[]settlement.Statement, []settlement.Statement, []settlement.Statement](&mergeStatementsFn{})
	register.Function2x0[[]settlement.Statement, func(settlement.Statement)](flattenStatements)
	register.Function1x2[settlement.Statement, string, error](formatStatement)
	register.Emitter1[settlement.Line]()
	register.Emitter1[ShardState]()
	register.Emitter1[settlement.Statement]()
	register.Emitter1[[]settlement.Statement]()
	register.Emitter1[string]()
	register.Iter1[settlement.Line]()
	register.Iter1[settlement.State]()
}

// Build adds the settlement pipeline to s: read the lines, key them by
// seller (ShardKey), settle each shard (SettleShards: it writes its
// entries and new State), merge the shards' statements and write them.
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
	statements, rejections, written := SettleShards(s, keyed, ReadStates(s, cfg.States), cfg)
	Write(s, cfg.Out, statements, rejections, written)
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
// (settleShardFn), which writes the shard's entries and new State to
// partial files under cfg.Out as it settles. It returns the merged
// statements (settlement.Merge in a CombineFn), the rejected lines (JSON
// lines) and the partial files written, which Write commits.
func SettleShards(s beam.Scope, keyed, states beam.PCollection, cfg Config) (statements, rejections, written beam.PCollection) {
	s = s.Scope("SettleShards")
	grouped := beam.CoGroupByKey(s, keyed, states)
	perShard, rejections, written := beam.ParDo3(s, &settleShardFn{
		Plans: cfg.Plans, Network: cfg.Network, Batch: cfg.Batch, Out: cfg.Out,
		Start: cfg.Period.Start, End: cfg.Period.End, PruneBefore: cfg.PruneBefore,
	}, grouped)
	merged := beam.Combine(s, &mergeStatementsFn{}, perShard)
	return beam.ParDo(s, flattenStatements, merged), rejections, written
}

// Write writes the statements and the rejections as JSON lines under dir,
// and commits the shards' files once every shard has written them: a
// shuffle of their names alone (commitFn).
func Write(s beam.Scope, dir string, statements, rejections, written beam.PCollection) {
	s = s.Scope("Write")
	textio.Write(s, outPath(dir, StatementsFile), beam.ParDo(s, formatStatement, statements))
	textio.Write(s, outPath(dir, RejectionsFile), rejections)
	beam.ParDo0(s, &commitFn{}, beam.GroupByKey(s, beam.AddFixedKey(s, written)))
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
//
// A shard's grouped lines are read once; they are settled in ordered
// batches (SettleShard), and each batch's entries are written to the
// shard's entries file and its statements merged into the shard's as it
// settles, so a worker holds one shard's lines and State and one batch's
// entries.
type settleShardFn struct {
	Plans   string    `json:"plans"`
	Network string    `json:"network"`
	Batch   int       `json:"batch"`
	Out     string    `json:"out"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// PruneBefore: see Config.PruneBefore.
	PruneBefore time.Time `json:"prune_before"`

	settler *settlement.Settler
	fs      filesystem.Interface
}

func (f *settleShardFn) Setup(ctx context.Context) error {
	var err error
	if f.settler, err = newSettler(f.Plans, f.Network); err != nil {
		return err
	}
	f.fs, err = filesystem.New(ctx, f.Out)
	return err
}

func (f *settleShardFn) Teardown() error {
	if f.fs == nil {
		return nil
	}
	return f.fs.Close()
}

func (f *settleShardFn) ProcessElement(ctx context.Context, key string, lines func(*settlement.Line) bool, states func(*settlement.State) bool,
	emitStatements func([]settlement.Statement), emitRejection func(string), emitWritten func(string)) error {
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
		return f.writeState(ctx, key, prev, emitWritten)
	}
	period, err := ensemble.NewPeriod(f.Start, f.End)
	if err != nil {
		return err
	}
	entries, err := f.create(ctx, ShardFile(f.Out, EntriesDir, key))
	if err != nil {
		return err
	}
	defer entries.Close()
	var statements []settlement.Statement
	shard, err := SettleShard(ctx, f.settler, key, prev, ls, f.Batch, func(res settlement.Result) error {
		for _, e := range res.Entries {
			if err := entries.enc.Encode(e); err != nil {
				return err
			}
		}
		for _, r := range res.Rejections {
			b, err := json.Marshal(rejected{Shard: key, Line: r.Line, Error: r.Error()})
			if err != nil {
				return err
			}
			emitRejection(string(b))
		}
		if len(res.Entries) == 0 {
			return nil
		}
		sts, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: period, Minimums: minimums})
		if err != nil {
			return fmt.Errorf("shard %q: %w", key, err)
		}
		statements, err = settlement.Merge(minimums, statements, sts)
		return err
	})
	if err != nil {
		return err
	}
	if err := entries.commit(emitWritten); err != nil {
		return err
	}
	emitStatements(statements)
	return f.writeState(ctx, key, shard.State, emitWritten)
}

// writeState writes a shard's new State, pruned, to its partial file.
func (f *settleShardFn) writeState(ctx context.Context, key string, st settlement.State, emitWritten func(string)) error {
	w, err := f.create(ctx, ShardFile(f.Out, StatesDir, key))
	if err != nil {
		return err
	}
	defer w.Close()
	if err := w.enc.Encode(ShardState{Shard: key, State: f.prune(st)}); err != nil {
		return err
	}
	return w.commit(emitWritten)
}

// shardFile is a shard's partial file, written as JSON lines.
type shardFile struct {
	path string
	wc   io.WriteCloser
	bw   *bufio.Writer
	enc  *json.Encoder
}

// create opens the partial file of final path name, truncating what a
// failed attempt left there.
func (f *settleShardFn) create(ctx context.Context, name string) (*shardFile, error) {
	path := name + partialSuffix
	wc, err := f.fs.OpenWrite(ctx, path)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(wc, 1<<16)
	return &shardFile{path: path, wc: wc, bw: bw, enc: json.NewEncoder(bw)}, nil
}

// commit flushes and closes the file and hands its path to the commit.
func (w *shardFile) commit(emitWritten func(string)) error {
	if err := w.bw.Flush(); err != nil {
		return err
	}
	wc := w.wc
	w.wc = nil
	if err := wc.Close(); err != nil {
		return err
	}
	emitWritten(w.path)
	return nil
}

// Close closes a file commit did not.
func (w *shardFile) Close() {
	if w.wc != nil {
		w.wc.Close()
	}
}

// commitFn renames every shard's partial file to its name, once: it runs
// after the shuffle of the partial files' names, which ends only when every
// shard has settled.
type commitFn struct{}

func (*commitFn) ProcessElement(ctx context.Context, _ int, paths func(*string) bool) error {
	var fs filesystem.Interface
	var path string
	for paths(&path) {
		if fs == nil {
			var err error
			if fs, err = filesystem.New(ctx, path); err != nil {
				return err
			}
			defer fs.Close()
		}
		if err := filesystem.Rename(ctx, fs, path, strings.TrimSuffix(path, partialSuffix)); err != nil {
			return err
		}
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

// formatStatement writes a statement as one JSON line.
func formatStatement(v settlement.Statement) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
