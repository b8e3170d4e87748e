package usage_test

import (
	"encoding/binary"
	"iter"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
)

// ledgerBench is a ledger of n ids billed over one line and meter, twelve
// monthly periods, written in its binary form by hand (as AppendBinary
// documents it) so that the benchmark does not aggregate n records first.
// Record i has a 12-byte id, evt-<10000000+i>, and quantity i mod 1000
// hundredths at its period's start plus i seconds.
type ledgerBench struct {
	n   int
	bin []byte
	cfg usage.Config
}

var (
	ledgerBenchOnce = map[int]*sync.Once{}
	ledgerBenches   = map[int]*ledgerBench{}
	ledgerBenchMu   sync.Mutex
)

const benchLine, benchMeter = "sub-100000/line-1", "gpu_hours"

var benchJan = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func benchRecord(i, n int) usage.Record {
	p := i * 12 / n
	return usage.Record{
		ID: usage.RecordID("evt-" + strconv.Itoa(10_000_000+i)), Line: benchLine, Meter: benchMeter,
		Quantity: decimal.New(int64(i%1000), -2), At: benchJan.AddDate(0, p, 0).Add(time.Duration(i%2_000_000) * time.Second),
	}
}

func newLedgerBench(n int) *ledgerBench {
	ledgerBenchMu.Lock()
	once := ledgerBenchOnce[n]
	if once == nil {
		once = &sync.Once{}
		ledgerBenchOnce[n] = once
	}
	ledgerBenchMu.Unlock()
	once.Do(func() {
		s := &ledgerBench{n: n}
		s.cfg = usage.Config{
			Meters: []usage.Meter{{ID: benchMeter, Unit: "hour", Aggregation: usage.Sum}},
			Lines: []usage.Line{{Ref: benchLine, Active: []ensemble.Period{ensemble.MustPeriod(benchJan, benchJan.AddDate(2, 0, 0))},
				Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: benchJan}},
		}
		b := append([]byte("ENSL"), 1, 0)
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendUvarint(b, uint64(len(benchLine)))
		b = append(b, benchLine...)
		b = binary.AppendUvarint(b, uint64(len(benchMeter)))
		b = append(b, benchMeter...)
		b = binary.AppendUvarint(b, 12)
		for p := range 12 {
			lo, hi := (p*n+11)/12, ((p+1)*n+11)/12 // the i with i*12/n == p
			start := benchJan.AddDate(0, p, 0)
			b = binary.AppendVarint(b, start.UnixNano())
			b = binary.AppendUvarint(b, uint64(start.AddDate(0, 1, 0).Sub(start)))
			b = binary.AppendUvarint(b, uint64(hi-lo))
			var prev string
			for i := lo; i < hi; i++ {
				r := benchRecord(i, n)
				id := string(r.ID)
				shared := 0
				for shared < len(prev) && prev[shared] == id[shared] {
					shared++
				}
				b = binary.AppendUvarint(b, uint64(shared))
				b = binary.AppendUvarint(b, uint64(len(id)-shared))
				b = append(b, id[shared:]...)
				b = binary.BigEndian.AppendUint64(b, uint64(r.ContentDigest()))
				prev = id
			}
		}
		s.bin = b
		ledgerBenchMu.Lock()
		ledgerBenches[n] = s
		ledgerBenchMu.Unlock()
	})
	ledgerBenchMu.Lock()
	defer ledgerBenchMu.Unlock()
	return ledgerBenches[n]
}

func (s *ledgerBench) decode(b *testing.B) usage.Ledger {
	var l usage.Ledger
	if err := l.UnmarshalBinary(s.bin); err != nil {
		b.Fatal(err)
	}
	if l.Len() != s.n {
		b.Fatalf("ledger of %d ids, want %d", l.Len(), s.n)
	}
	return l
}

// BenchmarkLedger measures a ledger of 10^6 and 10^7 ids of 12 bytes:
// reading it from its binary form (and the bytes per id it holds in
// memory and in that form), writing it, looking ids up (held and not),
// and a run of 100,000 records against it, new or re-sent (the run
// includes building the run's ledger, the ledger given plus the new ids).
// The 10^7 ledger takes about a gigabyte and a minute; CI runs no
// benchmark.
func BenchmarkLedger(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run("ids="+strconv.Itoa(n), func(b *testing.B) {
			s := newLedgerBench(n)
			b.Run("decode", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(s.bin)))
				cpu0 := cpuTime()
				for b.Loop() {
					s.decode(b)
				}
				reportPerCPU(b, cpu0, n, "ids/cpu-s")
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				l := s.decode(b)
				runtime.GC()
				runtime.ReadMemStats(&after)
				runtime.KeepAlive(l)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "mem-bytes/id")
				b.ReportMetric(float64(len(s.bin))/float64(n), "binary-bytes/id")
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "ids/s")
			})
			l := s.decode(b)
			b.Run("encode", func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]byte, 0, len(s.bin))
				cpu0 := cpuTime()
				defer reportPerCPU(b, cpu0, n, "ids/cpu-s")
				for b.Loop() {
					var err error
					if buf, err = l.AppendBinary(buf[:0]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "ids/s")
			})
			rng := rand.New(rand.NewPCG(1, 2))
			held := make([]usage.RecordID, 1<<16)
			absent := make([]usage.RecordID, 1<<16)
			for i := range held {
				held[i] = usage.RecordID("evt-" + strconv.Itoa(10_000_000+rng.IntN(n)))
				absent[i] = usage.RecordID("evt-" + strconv.Itoa(10_000_000+n+rng.IntN(n)))
			}
			for _, c := range []struct {
				name string
				ids  []usage.RecordID
				want bool
			}{{"lookup-held", held, true}, {"lookup-absent", absent, false}} {
				b.Run(c.name, func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					cpu0 := cpuTime()
					defer reportPerCPU(b, cpu0, 1, "lookups/cpu-s")
					for b.Loop() {
						if _, ok := l.Lookup(c.ids[i&(len(c.ids)-1)]); ok != c.want {
							b.Fatal("wrong look-up")
						}
						i++
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
				})
			}
			const batch = 100_000
			for _, c := range []struct {
				name    string
				records iter.Seq[usage.Record]
				resent  int64
			}{
				{"run-new", newRecords(n, batch), 0},
				{"run-resent", resentRecords(n, batch), batch},
			} {
				b.Run(c.name, func(b *testing.B) {
					cfg := s.cfg
					cfg.Ledger = l
					recs := slices.Collect(c.records)
					b.ReportAllocs()
					cpu0 := cpuTime()
					defer reportPerCPU(b, cpu0, batch, "records/cpu-s")
					for b.Loop() {
						rep, err := usage.Collect(cfg, slices.Values(recs))
						if err != nil {
							b.Fatal(err)
						}
						if rep.Stats.Read != batch || rep.Stats.Resent != c.resent {
							b.Fatalf("unexpected stats %+v", rep.Stats)
						}
						// Build the run's ledger, as a host persisting it would.
						if _, ok := rep.Ledger.Lookup("evt-10000000"); !ok {
							b.Fatal("ledger lost an id")
						}
					}
					b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
				})
			}
		})
	}
}

// reportPerCPU reports items per second of CPU the process used since
// cpu0 (every thread, the collector's included), for items per op: the
// figure that moves least when other processes share the machine.
func reportPerCPU(b *testing.B, cpu0 time.Duration, items int, unit string) {
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(items)*float64(b.N)/cpu.Seconds(), unit)
	}
}

// resentRecords yields batch records of the ledger of n ids, spread over
// it, each as it was billed.
func resentRecords(n, batch int) iter.Seq[usage.Record] {
	return func(yield func(usage.Record) bool) {
		for k := range batch {
			if !yield(benchRecord(k*(n/batch), n)) {
				return
			}
		}
	}
}

// newRecords yields batch records whose ids the ledger of n ids does not
// hold.
func newRecords(n, batch int) iter.Seq[usage.Record] {
	return func(yield func(usage.Record) bool) {
		for k := range batch {
			r := benchRecord(k*(n/batch), n)
			r.ID = usage.RecordID("evt-" + strconv.Itoa(10_000_000+n+k))
			if !yield(r) {
				return
			}
		}
	}
}
