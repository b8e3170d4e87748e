package usage_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/fnv"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/usage"
)

// genDistinct draws records with distinct ids (r0, r1, ...), over the
// fixture's lines, meters and instants: some aggregate, some are
// rejected.
func genDistinct(t *rapid.T, maxLen int) []usage.Record {
	recs := rapid.SliceOfN(genRecord(), 0, maxLen).Draw(t, "records")
	for i := range recs {
		recs[i].ID = usage.RecordID("r" + strconv.Itoa(i))
	}
	return recs
}

// TestPropertyRunsMatchOneRun: the same records split into any number of
// runs, each given the ledger of the one before, with any duplicates
// (respelled) in any run, bill what one run over the de-duplicated stream
// bills: the runs' reports merge into its aggregates and adjustments, and
// the last ledger equals its ledger.
func TestPropertyRunsMatchOneRun(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		recs := genDistinct(t, 40)
		runs := rapid.IntRange(1, 5).Draw(t, "runs")
		batches := make([][]usage.Record, runs)
		for i, r := range recs {
			k := rapid.IntRange(0, runs-1).Draw(t, "run_"+strconv.Itoa(i))
			batches[k] = append(batches[k], r)
		}
		copies := 0
		if len(recs) > 0 {
			for _, i := range rapid.SliceOfN(rapid.IntRange(0, len(recs)-1), 0, 30).Draw(t, "duplicated") {
				k := rapid.IntRange(0, runs-1).Draw(t, "copy_run")
				batches[k] = append(batches[k], respell(recs[i]))
				copies++
			}
		}
		var ledger usage.Ledger
		var reps []*usage.Report
		for k, b := range batches {
			b = rapid.Permutation(b).Draw(t, "batch_"+strconv.Itoa(k))
			rep := run(t, cfg, ledger, b...)
			require.Empty(t, rep.Conflicts, "a respelled copy is never a conflict")
			reps = append(reps, rep)
			ledger = rep.Ledger
		}
		merged, err := usage.MergeReports(reps...)
		require.NoError(t, err)
		whole := collect(t, cfg, recs...)
		require.Equal(t, mustJSON(t, whole.Aggregates), mustJSON(t, merged.Aggregates))
		require.Equal(t, mustJSON(t, whole.Adjustments), mustJSON(t, merged.Adjustments))
		require.Equal(t, whole.Stats.Accepted, merged.Stats.Accepted)
		require.Equal(t, int64(len(recs)+copies), merged.Stats.Read)
		require.True(t, whole.Ledger.Equal(ledger), "ledger of the runs %d, of one run %d", ledger.Len(), whole.Ledger.Len())
		require.True(t, whole.Ledger.Equal(merged.Ledger))
		requireSameBinary(t, whole.Ledger, ledger)
	})
}

func requireSameBinary(t tb, want, got usage.Ledger) {
	t.Helper()
	w, err := want.MarshalBinary()
	require.NoError(t, err)
	g, err := got.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, w, g)
}

// TestPropertyLedgerMerge splits a ledger into parts that may overlap
// (every entry in at least one) and merges them back in any order and
// grouping: the same ledger, whether the parts were pruned or not.
func TestPropertyLedgerMerge(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		whole := collect(t, cfg, genDistinct(t, 50)...).Ledger
		if rapid.Bool().Draw(t, "pruned") {
			whole = whole.Prune(genBase.AddDate(0, 0, rapid.IntRange(0, 150).Draw(t, "cut_days")))
		}
		k := rapid.IntRange(1, 4).Draw(t, "parts")
		owners := map[usage.RecordID][]bool{}
		for e := range whole.All() {
			own := make([]bool, k)
			own[rapid.IntRange(0, k-1).Draw(t, "owner")] = true
			for i := range own {
				if rapid.IntRange(0, 3).Draw(t, "also") == 0 {
					own[i] = true
				}
			}
			owners[e.ID] = own
		}
		parts := make([]usage.Ledger, k)
		for i := range parts {
			parts[i] = whole.Filter(func(e usage.LedgerEntry) bool { return owners[e.ID][i] })
		}
		merged, err := usage.MergeLedgers(rapid.Permutation(parts).Draw(t, "order")...)
		require.NoError(t, err)
		require.True(t, merged.Equal(whole))
		requireSameBinary(t, whole, merged)

		// Commutative and associative, three ways.
		a, b, c := parts[0], parts[len(parts)-1], parts[len(parts)/2]
		ab, err := a.Merge(b)
		require.NoError(t, err)
		ba, err := b.Merge(a)
		require.NoError(t, err)
		require.True(t, ab.Equal(ba))
		abc1, err := ab.Merge(c)
		require.NoError(t, err)
		bc, err := b.Merge(c)
		require.NoError(t, err)
		abc2, err := a.Merge(bc)
		require.NoError(t, err)
		require.True(t, abc1.Equal(abc2))

		// A part pruned later prunes the merge: merge and prune commute.
		cut := genBase.AddDate(0, 0, rapid.IntRange(0, 150).Draw(t, "later_cut_days"))
		parts[0] = parts[0].Prune(cut)
		got, err := usage.MergeLedgers(parts...)
		require.NoError(t, err)
		require.True(t, got.Equal(whole.Prune(cut)))
	})
}

// TestPropertyLedgerMergeConflicts bills the same ids in two shards, some
// with other contents: the merge fails exactly when an id was billed as
// two different records, listing those ids, whatever the order.
func TestPropertyLedgerMergeConflicts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := testConfig()
		recs := genDistinct(t, 30)
		other := slices.Clone(recs)
		var want []usage.RecordID
		for i := range other {
			if rapid.IntRange(0, 4).Draw(t, "change") == 0 {
				other[i].Quantity = other[i].Quantity.Add(decimal.New(1, -1))
			}
		}
		a := collect(t, cfg, recs...).Ledger
		b := collect(t, cfg, other...).Ledger
		for e := range a.All() {
			if o, ok := b.Lookup(e.ID); ok && !o.Equal(e) {
				want = append(want, e.ID)
			}
		}
		slices.Sort(want)
		for _, order := range [][]usage.Ledger{{a, b}, {b, a}, {a, b, a}} {
			_, err := usage.MergeLedgers(order...)
			if len(want) == 0 {
				require.NoError(t, err)
				continue
			}
			var ce *usage.LedgerConflictError
			require.ErrorAs(t, err, &ce)
			var got []usage.RecordID
			for _, c := range ce.Conflicts {
				got = append(got, c.ID)
				require.Len(t, c.Entries, 2)
			}
			require.Equal(t, want, got)
		}
	})
}

// TestPropertyLedgerEncodingRoundTrip: both encodings read back into the
// same ledger, and write the same bytes again, for ledgers made by runs,
// merges, pruning and filtering (whose memory is laid out differently).
func TestPropertyLedgerEncodingRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := genConfig(t)
		recs := genDistinct(t, 40)
		cut := rapid.IntRange(0, len(recs)).Draw(t, "cut")
		first := collect(t, cfg, recs[:cut]...)
		l := run(t, cfg, first.Ledger, recs[cut:]...).Ledger
		switch rapid.IntRange(0, 3).Draw(t, "derive") {
		case 1:
			l = l.Prune(genBase.AddDate(0, 0, rapid.IntRange(0, 150).Draw(t, "cut_days")))
		case 2:
			l = l.Filter(func(e usage.LedgerEntry) bool { return len(e.ID)%2 == 0 })
		case 3:
			var err error
			l, err = usage.MergeLedgers(first.Ledger, l)
			require.NoError(t, err)
		}
		js, err := json.Marshal(l)
		require.NoError(t, err)
		var back usage.Ledger
		require.NoError(t, json.Unmarshal(js, &back))
		require.True(t, back.Equal(l))
		js2, err := json.Marshal(back)
		require.NoError(t, err)
		require.Equal(t, string(js), string(js2))

		bin, err := l.MarshalBinary()
		require.NoError(t, err)
		var fromBin usage.Ledger
		require.NoError(t, fromBin.UnmarshalBinary(bin))
		require.True(t, fromBin.Equal(l))
		bin2, err := fromBin.AppendBinary([]byte("prefix"))
		require.NoError(t, err)
		require.Equal(t, bin, bin2[len("prefix"):])
		require.Equal(t, l.Len(), fromBin.Len())
		require.True(t, slices.EqualFunc(slices.Collect(l.All()), slices.Collect(fromBin.All()), usage.LedgerEntry.Equal))
	})
}

// digestByDefinition computes a record's content digest as
// Record.ContentDigest documents it, with the standard library's FNV and
// math/big, independently of the package's code.
func digestByDefinition(r usage.Record) usage.ContentDigest {
	fnv64 := func(b []byte) uint64 {
		h := fnv.New64a()
		h.Write(b)
		return h.Sum64()
	}
	fmix := func(k uint64) uint64 {
		k ^= k >> 33
		k *= 0xff51afd7ed558ccd
		k ^= k >> 33
		k *= 0xc4ceb9fe1a85ec53
		k ^= k >> 33
		return k
	}
	var q1, q2 uint64
	if c, e := r.Quantity.Coefficient(), r.Quantity.Exponent(); c.Sign() != 0 {
		ten, rem := big.NewInt(10), new(big.Int)
		for {
			q, m := new(big.Int).QuoRem(c, ten, rem)
			if m.Sign() != 0 {
				break
			}
			c, e = q, e+1
		}
		if c.IsInt64() {
			q1, q2 = uint64(c.Int64()), uint64(uint32(e))
		} else {
			q1, q2 = fnv64([]byte(c.String())), 1<<63|uint64(uint32(e))
		}
	}
	var attrs []byte
	for _, k := range slices.Sorted(maps.Keys(r.Attributes)) {
		attrs = binary.AppendUvarint(attrs, uint64(len(k)))
		attrs = append(attrs, k...)
		attrs = binary.AppendUvarint(attrs, uint64(len(r.Attributes[k])))
		attrs = append(attrs, r.Attributes[k]...)
	}
	const phi = 0x9e3779b97f4a7c15
	h := uint64(phi)
	for _, w := range []uint64{fnv64([]byte(r.Line)), fnv64([]byte(r.Meter)), q1, q2, uint64(r.At.Unix()), uint64(r.At.Nanosecond()), fnv64(attrs)} {
		h = fmix(h + w*phi)
	}
	return usage.ContentDigest(h)
}

// TestPropertyContentDigest: the digest is what its doc says, equal for
// records of the same content, different when one field changes, and the
// one the ledger keeps for each record a run aggregated.
func TestPropertyContentDigest(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRecord().Draw(t, "record")
		require.Equal(t, digestByDefinition(r), r.ContentDigest())
		require.Equal(t, r.ContentDigest(), respell(r).ContentDigest())
		o := r
		switch rapid.IntRange(0, 4).Draw(t, "change") {
		case 0:
			o.Quantity = o.Quantity.Add(decimal.New(1, -rapid.Int32Range(0, 8).Draw(t, "scale")))
		case 1:
			o.At = o.At.Add(time.Duration(rapid.Int64Range(1, 1e12).Draw(t, "ns")))
		case 2:
			o.Line += "x"
		case 3:
			o.Meter += "x"
		case 4:
			o.Attributes = maps.Clone(o.Attributes)
			if o.Attributes == nil {
				o.Attributes = map[string]string{}
			}
			o.Attributes["user"] += "x"
		}
		require.False(t, o.SameContent(r))
		require.NotEqual(t, r.ContentDigest(), o.ContentDigest())

		cfg := genConfig(t)
		recs := genDistinct(t, 30)
		l := collect(t, cfg, recs...).Ledger
		for _, r := range recs {
			if e, ok := l.Lookup(r.ID); ok {
				require.Equal(t, r.ContentDigest(), e.Digest, "%s", r.ID)
				require.Equal(t, r.Line, e.Line)
				require.Equal(t, r.Meter, e.Meter)
				require.True(t, e.Period.Contains(r.At))
			}
		}
	})
}

// TestLedgerDigestPinned: digests are persisted in ledgers, so they must
// never change. These values were computed when the ledger was written.
func TestLedgerDigestPinned(t *testing.T) {
	for _, tt := range []struct {
		record usage.Record
		want   string
	}{
		{rec("x", "L1", "gpu", "1.50", "2026-01-05T10:00:00Z"), "7e34855064cec5d0"},
		{rec("x", "ord-1/l1", "users", "0", "2026-03-01T00:00:00.5Z", "user", "ann", "region", "eu"), "2eed5c5d8e10f1aa"},
		{rec("x", "L1", "gpu", "-123456789012345678901234567.891", "2026-01-05T10:00:00Z"), "b53472bc72e49796"},
	} {
		require.Equal(t, tt.want, tt.record.ContentDigest().String())
	}
}

// TestLedgerSnapshotWhileAdding builds a report's ledger in another
// goroutine while the aggregator reads on, turning ids of the report into
// conflicts and respelling the quantities of others (run it with -race):
// the ledger holds what the report aggregated, not what came after.
func TestLedgerSnapshotWhileAdding(t *testing.T) {
	cfg := testConfig()
	a, err := usage.New(cfg)
	require.NoError(t, err)
	var first []usage.Record
	for i := range 5000 {
		first = append(first, rec("e"+strconv.Itoa(i), "L1", "gpu", strconv.Itoa(i%17), "2026-01-05T00:00:00Z"))
	}
	a.Add(slices.Values(first))
	rep := a.Report()
	var wg sync.WaitGroup
	var bin []byte
	wg.Add(4)
	go func() {
		defer wg.Done()
		bin, err = rep.Ledger.MarshalBinary()
	}()
	// Other readers of the same ledger meanwhile: one of them builds it.
	go func() {
		defer wg.Done()
		for range 100 {
			if rep.Ledger.Len() != 5000 {
				panic("ledger size changed")
			}
		}
	}()
	go func() {
		defer wg.Done()
		if _, ok := rep.Ledger.Lookup("e4999"); !ok {
			panic("e4999 lost")
		}
	}()
	go func() {
		defer wg.Done()
		if _, err := usage.MergeLedgers(usage.Ledger{}, rep.Ledger); err != nil {
			panic(err)
		}
	}()
	all := slices.Clone(first)
	for i := range 6000 {
		var r usage.Record
		switch i % 3 {
		case 0:
			r = rec("e"+strconv.Itoa(i), "L1", "gpu", "99", "2026-01-05T00:00:00Z") // withdraws e<i>
		case 1:
			r = rec("e"+strconv.Itoa(i), "L1", "gpu", strconv.Itoa(i%17)+".000", "2026-01-05T00:00:00Z") // respells e<i>
		default:
			r = rec("n"+strconv.Itoa(i), "L1", "calls", "1", "2026-02-05T00:00:00Z", "user", strconv.Itoa(i))
		}
		a.AddRecord(r)
		all = append(all, r)
	}
	later := a.Report()
	wg.Wait()
	require.NoError(t, err)
	var got usage.Ledger
	require.NoError(t, got.UnmarshalBinary(bin))
	require.True(t, got.Equal(collect(t, cfg, first...).Ledger))
	require.True(t, later.Ledger.Equal(collect(t, cfg, all...).Ledger))
	require.Equal(t, int64(1667), later.Stats.Conflicts)
	require.False(t, errors.Is(later.Err(), usage.ErrPrunedPeriod))
}
