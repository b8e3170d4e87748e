package usage_test

import (
	"iter"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
)

const idLen = 12

// benchStream is the benchmark workload: n records over `lines` order lines
// and three meters (sum, max and count_unique), one in every 20 a
// duplicate of a record read earlier.
type benchStream struct {
	cfg   usage.Config
	ids   string // every id, idLen bytes each, in one string
	lines []usage.LineRef
	qty   []decimal.Decimal
	users []map[string]string
	n     int
	base  time.Time
}

func newBenchStream(n, lines int) *benchStream {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := &benchStream{n: n, base: base}
	s.cfg.ExpectedRecords = 1_000_000
	s.cfg.Meters = []usage.Meter{
		{ID: "gpu_hours", Unit: "hour", Aggregation: usage.Sum},
		{ID: "storage_gb", Unit: "GB", Aggregation: usage.Max},
		{ID: "active_users", Unit: "user", Aggregation: usage.CountUnique, UniqueAttribute: "user"},
	}
	active := []ensemble.Period{ensemble.MustPeriod(base.AddDate(0, -6, 0), base.AddDate(1, 0, 0))}
	for i := range lines {
		ref := usage.LineRef("sub-" + strconv.Itoa(100000+i) + "/line-1")
		s.lines = append(s.lines, ref)
		s.cfg.Lines = append(s.cfg.Lines, usage.Line{
			Ref: ref, Active: active, Cadence: ensemble.Every(1, ensemble.Monthly),
			Anchor: base.AddDate(0, -3, i%28),
		})
	}
	var ids strings.Builder
	ids.Grow(n * idLen)
	for i := range n {
		ids.WriteString("evt-" + strconv.Itoa(10000000+i)) // idLen bytes up to 90,000,000 records
	}
	s.ids = ids.String()
	for i := range 64 {
		s.qty = append(s.qty, decimal.New(int64(i*37+5), -2))
	}
	for i := range 500 {
		s.users = append(s.users, map[string]string{"user": "u-" + strconv.Itoa(i)})
	}
	return s
}

func (s *benchStream) record(i int) usage.Record {
	r := usage.Record{
		ID:       usage.RecordID(s.ids[i*idLen : (i+1)*idLen]),
		Line:     s.lines[i%len(s.lines)],
		Quantity: s.qty[i%len(s.qty)],
		At:       s.base.Add(time.Duration(i) * 2500 * time.Millisecond),
	}
	switch (i / len(s.lines)) % 3 {
	case 0:
		r.Meter = "gpu_hours"
	case 1:
		r.Meter = "storage_gb"
	default:
		r.Meter = "active_users"
		r.Attributes = s.users[(i*7)%len(s.users)]
	}
	return r
}

// all yields n records; every 20th repeats the record read 1000 earlier.
func (s *benchStream) all() iter.Seq[usage.Record] {
	return func(yield func(usage.Record) bool) {
		for i := range s.n {
			j := i
			if i%20 == 19 && i >= 1000 {
				j = i - 1000
			}
			if !yield(s.record(j)) {
				return
			}
		}
	}
}

// BenchmarkAggregate aggregates 1,000,000 records over 10,000 order lines
// and 3 meters with deduplication (5% duplicates), and reports throughput
// and the bytes the aggregator retains per record read; records/cpu-s
// divides by the CPU time the process used instead of the wall time. One
// untimed aggregation first grows the heap, so that the figure is the
// steady state of a host that aggregates continuously, not the operating
// system handing a fresh process its first hundred megabytes.
func BenchmarkAggregate(b *testing.B) {
	const n, lines = 1_000_000, 10_000
	s := newBenchStream(n, lines)
	if _, err := usage.Collect(s.cfg, s.all()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		rep, err := usage.Collect(s.cfg, s.all())
		if err != nil {
			b.Fatal(err)
		}
		if rep.Stats.Read != n || rep.Stats.Duplicates == 0 || len(rep.Aggregates) == 0 {
			b.Fatalf("unexpected stats %+v", rep.Stats)
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if cpu > 0 {
		// Throughput per second of CPU the process used: the figure that
		// does not move when other processes share the machine.
		b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
	b.ReportMetric(retainedPerRecord(b, s), "bytes/record")
}

// retainedPerRecord measures the live heap an Aggregator holds after
// reading the whole stream, divided by the records read.
func retainedPerRecord(b *testing.B, s *benchStream) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a, err := usage.New(s.cfg)
	if err != nil {
		b.Fatal(err)
	}
	a.Add(s.all())
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(a)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(s.n)
}

// growthSizes are the input sizes of the growth benchmarks: the time per
// item should stay flat across them.
var growthSizes = []int{10_000, 100_000, 1_000_000}

// conflictStream yields n records of one id, each with its own quantity
// (n contents in conflict), then each again respelled (n duplicates).
func conflictStream(n int) iter.Seq[usage.Record] {
	at := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	return func(yield func(usage.Record) bool) {
		for pass := range 2 {
			for i := range n {
				r := usage.Record{ID: "same-id", Line: "L1", Meter: "gpu", Quantity: decimal.New(int64(i), 0), At: at}
				if pass == 1 {
					r.Quantity, r.At = decimal.New(int64(i)*100, -2), at.In(time.FixedZone("x", 3600))
				}
				if !yield(r) {
					return
				}
			}
		}
	}
}

// BenchmarkConflictContents feeds one record id with n different contents,
// then every content again: each record is matched against the id's
// contents in constant time, so the time per record stays flat.
func BenchmarkConflictContents(b *testing.B) {
	cfg := usage.Config{
		Meters: []usage.Meter{{ID: "gpu", Unit: "hour", Aggregation: usage.Sum}},
		Lines: []usage.Line{{Ref: "L1", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Active: []ensemble.Period{ensemble.MustPeriod(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))}}},
	}
	for _, n := range growthSizes {
		b.Run("contents="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a, err := usage.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				a.Add(conflictStream(n))
				if st := a.Stats(); st.Conflicts != 1 || st.Duplicates != int64(n) {
					b.Fatalf("unexpected stats %+v", st)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*n), "ns/record")
		})
	}
}

// BenchmarkCountUnique aggregates n records of one count_unique meter, line
// and period, each with its own user (n unique values), and reports them.
func BenchmarkCountUnique(b *testing.B) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{
		Meters: []usage.Meter{{ID: "users", Unit: "user", Aggregation: usage.CountUnique, UniqueAttribute: "user"}},
		Lines: []usage.Line{{Ref: "L1", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: base,
			Active: []ensemble.Period{ensemble.MustPeriod(base, base.AddDate(1, 0, 0))}}},
	}
	for _, n := range growthSizes {
		recs := make([]usage.Record, n)
		for i := range recs {
			recs[i] = usage.Record{
				ID: usage.RecordID("e-" + strconv.Itoa(i)), Line: "L1", Meter: "users", Quantity: decimal.New(1, 0),
				At: base.Add(time.Duration(i) * time.Millisecond), Attributes: map[string]string{"user": "u-" + strconv.Itoa(i*7919%n)},
			}
		}
		b.Run("uniques="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rep, err := usage.Collect(cfg, slices.Values(recs))
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Aggregates) != 1 || len(rep.Aggregates[0].Uniques) != n {
					b.Fatalf("unexpected report %+v", rep.Stats)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/record")
		})
	}
}

// segmentedConfig returns one line of n one-hour active segments four
// hours apart, billed quarterly (no period lies inside one segment), and one record
// in each segment.
func segmentedConfig(n int) (usage.Config, []usage.Record) {
	base := time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
	l := usage.Line{Ref: "L1", Cadence: ensemble.Every(1, ensemble.Quarterly), Anchor: base, Active: make([]ensemble.Period, n)}
	recs := make([]usage.Record, n)
	for i := range n {
		at := time.Unix(base.Unix()+int64(i)*4*3600, 0).UTC() // beyond the 292 years of a Duration
		l.Active[i] = ensemble.MustPeriod(at, at.Add(time.Hour))
		recs[i] = usage.Record{ID: usage.RecordID("e-" + strconv.Itoa(i)), Line: "L1", Meter: "gpu", Quantity: decimal.New(1, 0), At: at.Add(time.Minute)}
	}
	return usage.Config{Meters: []usage.Meter{{ID: "gpu", Unit: "hour", Aggregation: usage.Sum}}, Lines: []usage.Line{l}}, recs
}

// BenchmarkSegmentedLine aggregates one record in each of n active
// segments of one line: each record is placed by binary searches over the
// segments and periods, so the time per record stays near flat.
func BenchmarkSegmentedLine(b *testing.B) {
	for _, n := range growthSizes {
		cfg, recs := segmentedConfig(n)
		b.Run("segments="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rep, err := usage.Collect(cfg, slices.Values(recs))
				if err != nil {
					b.Fatal(err)
				}
				if rep.Stats.Accepted != int64(n) {
					b.Fatalf("unexpected stats %+v", rep.Stats)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/record")
		})
	}
}

// shardRecords returns n records of one count_unique meter, line and
// period, cut into n/100 shards of 100 records, and a config that lists
// record ids: n unique values in all, each held by two shards. It is what
// MergeReports folds when a host spreads one busy meter over many
// machines.
func shardRecords(n int) (usage.Config, [][]usage.Record) {
	const perShard = 100
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{
		Meters: []usage.Meter{{ID: "users", Unit: "user", Aggregation: usage.CountUnique, UniqueAttribute: "user"}},
		Lines: []usage.Line{{Ref: "L1", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: base,
			Active: []ensemble.Period{ensemble.MustPeriod(base, base.AddDate(1, 0, 0))}}},
		RecordIDs: true,
	}
	shards := make([][]usage.Record, n/perShard)
	for k := range shards {
		shards[k] = make([]usage.Record, perShard)
		for j := range shards[k] {
			i := k*perShard + j
			shards[k][j] = usage.Record{
				ID: usage.RecordID("e-" + strconv.Itoa(i)), Line: "L1", Meter: "users", Quantity: decimal.New(1, 0),
				At: base.Add(time.Duration(i) * time.Millisecond), Attributes: map[string]string{"user": "u-" + strconv.Itoa(i*7919%(n/2))},
			}
		}
	}
	return cfg, shards
}

// shardReports aggregates each shard of shardRecords(n) apart.
func shardReports(tb testing.TB, n int) []*usage.Report {
	cfg, shards := shardRecords(n)
	reps := make([]*usage.Report, len(shards))
	for k, recs := range shards {
		rep, err := usage.Collect(cfg, slices.Values(recs))
		if err != nil {
			tb.Fatal(err)
		}
		reps[k] = rep
	}
	return reps
}

// BenchmarkMergeCountUnique merges the reports of n/100 shards holding
// one count_unique aggregate each (100 values and 100 record ids per
// shard, n in all, n/2 distinct): the values and ids of one key are gathered and sorted
// once, so the time per value stays near flat however many shards there
// are.
func BenchmarkMergeCountUnique(b *testing.B) {
	for _, n := range growthSizes {
		reps := shardReports(b, n)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				rep, err := usage.MergeReports(reps...)
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Aggregates) != 1 || len(rep.Aggregates[0].Uniques) != n/2 || len(rep.Aggregates[0].RecordIDs) != n {
					b.Fatalf("unexpected report %+v", rep.Stats)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/value")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/value")
		})
	}
}

// listedPeriods returns one line that lists n one-hour billing periods,
// and one record in each, newest first.
func listedPeriods(n int) (usage.Config, []usage.Record) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := usage.Line{Ref: "L1", Periods: make([]ensemble.Period, n),
		Active: []ensemble.Period{ensemble.MustPeriod(base, base.Add(time.Duration(n)*time.Hour))}}
	recs := make([]usage.Record, n)
	for i := range n {
		start := base.Add(time.Duration(i) * time.Hour)
		l.Periods[i] = ensemble.MustPeriod(start, start.Add(time.Hour))
		recs[n-1-i] = usage.Record{ID: usage.RecordID("e-" + strconv.Itoa(i)), Line: "L1", Meter: "gpu", Quantity: decimal.New(1, 0), At: start.Add(time.Minute)}
	}
	return usage.Config{Meters: []usage.Meter{{ID: "gpu", Unit: "hour", Aggregation: usage.Sum}}, Lines: []usage.Line{l}}, recs
}

// BenchmarkPeriodsNewestFirst aggregates one record in each of n billing
// periods of one line, newest first (config compiled and report built
// included): each new period is placed without moving the periods met
// before it, so the time per record stays near flat.
func BenchmarkPeriodsNewestFirst(b *testing.B) {
	for _, n := range growthSizes {
		cfg, recs := listedPeriods(n)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				rep, err := usage.Collect(cfg, slices.Values(recs))
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Aggregates) != n {
					b.Fatalf("unexpected stats %+v", rep.Stats)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/record")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/record")
		})
	}
}

// conflictBatches returns n records over 16 lines and a sum and a max
// meter in one period, cut in batches of batch records; each batch after
// the first ends with a new content for an id of the batch before it. The
// config sizes the dedup set for n records up front.
func conflictBatches(n, batch int) (usage.Config, [][]usage.Record) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{ExpectedRecords: n, Meters: []usage.Meter{
		{ID: "gpu", Unit: "hour", Aggregation: usage.Sum},
		{ID: "peak", Unit: "GB", Aggregation: usage.Max},
	}}
	for l := range 16 {
		cfg.Lines = append(cfg.Lines, usage.Line{Ref: usage.LineRef("L" + strconv.Itoa(l)), Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: base,
			Active: []ensemble.Period{ensemble.MustPeriod(base, base.AddDate(1, 0, 0))}})
	}
	record := func(i int) usage.Record {
		meter := usage.MeterID("gpu")
		if i/16%2 == 1 {
			meter = "peak"
		}
		return usage.Record{
			ID: usage.RecordID("e-" + strconv.Itoa(i)), Line: cfg.Lines[i%16].Ref, Meter: meter,
			Quantity: decimal.New(int64(100+i%1000), -2), At: base.Add(time.Duration(i) * time.Millisecond),
		}
	}
	var batches [][]usage.Record
	for start := 0; start < n; start += batch {
		b := make([]usage.Record, 0, batch+1)
		for i := start; i < min(start+batch, n); i++ {
			b = append(b, record(i))
		}
		if start > 0 {
			r := record(start - batch/2)
			r.Quantity = r.Quantity.Sub(decimal.New(1, -2))
			b = append(b, r)
		}
		batches = append(batches, b)
	}
	return cfg, batches
}

// BenchmarkReportsBetweenConflicts feeds n records in batches of 5,000,
// each with a record that turns an earlier id into a conflict, and asks
// for a report after every batch, as a host that reports while it reads
// does: a withdrawn record costs the slot it left, not a pass over every
// record read, so the time per record stays near flat.
func BenchmarkReportsBetweenConflicts(b *testing.B) {
	for _, n := range growthSizes {
		cfg, batches := conflictBatches(n, 5_000)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				a, err := usage.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				var rep *usage.Report
				for _, batch := range batches {
					a.Add(slices.Values(batch))
					rep = a.Report()
				}
				if rep.Stats.Conflicts != int64(len(batches)-1) {
					b.Fatalf("unexpected stats %+v", rep.Stats)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/record")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/record")
		})
	}
}
