// Command beam settles a month of invoice lines on Apache Beam: the lines
// are keyed by the partner whose volume the plan's take rate reads (the
// seller), each shard is settled on a worker with one Settler per worker,
// the shards' statements are merged with settlement.Merge, and the
// entries, statements and the shards' new States are written as JSON lines
// (entries and States by the worker that settled them, a file a shard).
//
//	cd examples/beam && go run .
//
// runs it in-process on Beam's prism runner over a generated month of
// 10,000 lines. The same pipeline runs on Flink, Spark or Dataflow with
// Beam's own flags (--runner, --endpoint, --project, ...; see README.md).
//
// Flags:
//
//	-lines PATTERN   the month's lines, one JSON settlement.Line a line
//	                 (default: generate -n lines into -out/lines.jsonl)
//	-n N             how many lines to generate (10000)
//	-states PATTERN  the shards' States of the previous month (states/*.jsonl
//	                 of a previous run); none by default
//	-out DIR         where to write entries/ and states/ (a file a shard),
//	                 statements.jsonl and rejections.jsonl (default: a
//	                 directory under the system's temporary one, printed)
//	-batch N         the most lines a shard settles in one call; a hot key
//	                 with more is settled in ordered batches (2000)
//	-window N        the credit window in months (12): the shards' States
//	                 leave out lines dated before it (0: keep every line)
//	-inprocess       settle the same lines in this process instead, in one
//	                 call with one State, writing the same files (the
//	                 baseline the pipeline is measured and compared against)
//	-memprofile FILE write a heap profile near the run's peak to FILE
//	--runner NAME    Beam's runner: prism (default), flink, spark, dataflow
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

var (
	linesFlag  = flag.String("lines", "", "the month's lines, one JSON settlement.Line a line (default: generate -n lines)")
	nFlag      = flag.Int("n", 10_000, "how many lines to generate when -lines is not given")
	statesFlag = flag.String("states", "", "the shards' States of the previous month (states/*.jsonl of a previous run)")
	outFlag    = flag.String("out", "", "the output directory (default: a new temporary directory)")
	batchFlag  = flag.Int("batch", 2000, "the most lines a shard settles in one call (0: all)")
	windowFlag = flag.Int("window", 12, "the credit window in months: the shards' States leave out older lines (0: keep all)")
	monthFlag  = flag.String("month", "2026-01", "the month to generate and settle, and the statements' period")
	inProcess  = flag.Bool("inprocess", false, "settle in this process, in one call, instead of on Beam")
	memProfile = flag.String("memprofile", "", "write a heap profile near the run's peak to this file")
)

func main() {
	flag.Parse()
	beam.Init()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if *memProfile != "" {
		if err := profilePeakHeap(ctx, *memProfile); err != nil {
			fmt.Fprintln(os.Stderr, "beam:", err)
			os.Exit(1)
		}
	}
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "beam:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	if err := setMonth(*monthFlag); err != nil {
		return err
	}
	out, lines := *outFlag, *linesFlag
	switch {
	case out == "":
		dir, err := os.MkdirTemp("", "ensemble-beam-")
		if err != nil {
			return err
		}
		out = dir
	case !strings.Contains(out, "://"):
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
	case lines == "":
		return fmt.Errorf("-out %s is not a local directory: give the month's lines with -lines", out)
	}
	if lines == "" {
		lines = filepath.Join(out, "lines.jsonl")
		if err := generateFile(lines, *nFlag); err != nil {
			return err
		}
		fmt.Fprintf(w, "generated %d lines of %s in %s\n", *nFlag, monthStart.Format("January 2006"), lines)
	}
	cfg := Config{
		Lines: lines, States: *statesFlag, Out: out, Batch: *batchFlag,
		Plans: plansYAML, Network: networkYAML(),
		Period: ensemble.MustPeriod(monthStart, monthEnd),
	}
	if *windowFlag > 0 {
		cfg.PruneBefore = monthEnd.AddDate(0, -*windowFlag, 0)
	}
	if *inProcess {
		if strings.Contains(out, "://") || strings.Contains(lines, "://") {
			return fmt.Errorf("-inprocess reads and writes local files only")
		}
		if err := settleInProcess(ctx, cfg, w); err != nil {
			return err
		}
		fmt.Fprintf(w, "settled in process: wrote %s, %s, state.json and, if a line was rejected, %s in %s\n", inProcessEntriesFile, StatementsFile, RejectionsFile, out)
		return nil
	}
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, cfg); err != nil {
		return err
	}
	if err := beamx.Run(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s/ and %s/ (a file a shard), %s and, if a line was rejected, %s in %s\n", EntriesDir, StatesDir, StatementsFile, RejectionsFile, out)
	return nil
}

// generateFile writes a generated month of n lines to path.
func generateFile(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeLines(f, generateMonth(n)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// inProcessEntriesFile is the file -inprocess writes every entry to, where
// the pipeline writes a file a shard under EntriesDir.
const inProcessEntriesFile = "entries.jsonl"

// settleInProcess settles cfg's lines in one call with one Settler
// (SettleWhatYouCan, as the shards do) and writes the entries (to one
// file, inProcessEntriesFile), the statements, the rejections (without a
// shard) and the State as the pipeline does (state.json holding the one
// State instead of a file a shard).
func settleInProcess(ctx context.Context, cfg Config, w io.Writer) error {
	t0 := time.Now()
	f, err := os.Open(cfg.Lines)
	if err != nil {
		return err
	}
	defer f.Close()
	var lines []settlement.Line
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		l, err := DecodeLine(sc.Bytes())
		if err != nil {
			return err
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	prev, err := readStateFiles(cfg.States)
	if err != nil {
		return err
	}
	s, err := newSettler(cfg.Plans, cfg.Network)
	if err != nil {
		return err
	}
	t1 := time.Now()
	res, err := s.SettleWhatYouCan(ctx, prev, lines)
	if err != nil {
		return err
	}
	if !cfg.PruneBefore.IsZero() {
		res.State = res.State.Prune(cfg.PruneBefore)
	}
	sts, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: cfg.Period, Minimums: minimums})
	if err != nil {
		return err
	}
	t2 := time.Now()
	defer func() {
		fmt.Fprintf(w, "in process: read %d lines in %v, settled and folded them in %v, wrote in %v\n",
			len(lines), t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
	}()
	if err := writeJSONLines(filepath.Join(cfg.Out, inProcessEntriesFile), res.Entries); err != nil {
		return err
	}
	if err := writeJSONLines(filepath.Join(cfg.Out, StatementsFile), sts); err != nil {
		return err
	}
	if len(res.Rejections) > 0 { // as the pipeline: the file only when a line was rejected
		var rejections []rejected
		for _, r := range res.Rejections {
			rejections = append(rejections, rejected{Line: r.Line, Error: r.Error()})
		}
		if err := writeJSONLines(filepath.Join(cfg.Out, RejectionsFile), rejections); err != nil {
			return err
		}
	}
	return writeJSONLines(filepath.Join(cfg.Out, "state.json"), []settlement.State{res.State})
}

// readStateFiles reads the shards' States a previous run wrote (files
// matching pattern, local only) and merges them into one (the zero State
// for no pattern), or, for a previous -inprocess run, reads its
// state.json.
func readStateFiles(pattern string) (settlement.State, error) {
	if pattern == "" {
		return settlement.State{}, nil
	}
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return settlement.State{}, err
	}
	if len(paths) == 0 {
		return settlement.State{}, fmt.Errorf("-states %s: no file matches", pattern)
	}
	var parts []settlement.State
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return settlement.State{}, err
		}
		for _, text := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var st ShardState
			if filepath.Base(p) == "state.json" {
				err = ensemble.DecodeJSON("state", text, &st.State)
			} else {
				err = ensemble.DecodeJSON("shard state", text, &st)
			}
			if err != nil {
				return settlement.State{}, fmt.Errorf("%s: %w", p, err)
			}
			parts = append(parts, st.State)
		}
	}
	return settlement.MergeStates(parts...)
}

// writeJSONLines writes vs to path, one JSON value a line.
func writeJSONLines[T any](path string, vs []T) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	for _, v := range vs {
		if err := enc.Encode(v); err != nil {
			f.Close()
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
