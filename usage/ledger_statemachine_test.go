package usage_test

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/usage"
)

// billed is what the model remembers of a record: the record and its
// billing period on line L1 (calendar months in UTC).
type billed struct {
	rec        usage.Record
	start, end time.Time
}

// ledgerMachine runs batches of records through the aggregator, carrying
// the ledger between runs, and prunes, encodes, splits and merges it,
// against a plain map of the records billed. Records go to line L1 of the
// fixture (monthly from Jan 1 UTC, active Jan 1 - Apr 1) on its gpu, calls
// and peak meters, or to an unknown meter.
type ledgerMachine struct {
	cfg     usage.Config
	ledger  usage.Ledger
	model   map[usage.RecordID]billed
	horizon time.Time // the latest cutoff pruned at
	next    int       // the next new id
}

func (m *ledgerMachine) init() {
	m.cfg = testConfig()
	m.model = map[usage.RecordID]billed{}
}

// month returns the calendar month (UTC) holding at.
func month(at time.Time) (time.Time, time.Time) {
	start := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

func (m *ledgerMachine) newRecord(t *rapid.T) usage.Record {
	m.next++
	return usage.Record{
		ID:       usage.RecordID("n" + strconv.Itoa(m.next)),
		Line:     "L1",
		Meter:    usage.MeterID(rapid.SampledFrom([]string{"gpu", "gpu", "calls", "peak", "tpu"}).Draw(t, "meter")),
		Quantity: decimal.New(rapid.Int64Range(0, 500).Draw(t, "qty"), -rapid.Int32Range(0, 2).Draw(t, "scale")),
		At:       utc("2026-01-01T00:00:00Z").Add(time.Duration(rapid.Int64Range(0, 90*24-1).Draw(t, "hour")) * time.Hour),
	}
}

// Run sends a batch of new records and records the ledger billed, each
// id once: re-sent identical (respelled), or with another quantity.
func (m *ledgerMachine) Run(t *rapid.T) {
	var batch []usage.Record
	wantResent, wantConflicts, wantAccepted, wantRejected := int64(0), []usage.RecordID{}, 0, 0
	added := map[usage.RecordID]billed{}
	for range rapid.IntRange(0, 6).Draw(t, "new") {
		r := m.newRecord(t)
		batch = append(batch, r)
		start, end := month(r.At)
		switch {
		case r.Meter == "tpu", !m.horizon.IsZero() && !end.After(m.horizon):
			wantRejected++
		default:
			wantAccepted++
			added[r.ID] = billed{rec: r, start: start, end: end}
		}
	}
	if len(m.model) > 0 {
		ids := slices.Sorted(maps.Keys(m.model))
		for _, id := range rapid.SliceOfNDistinct(rapid.SampledFrom(ids), 0, 4, rapid.ID).Draw(t, "resent") {
			r := m.model[id].rec
			if rapid.Bool().Draw(t, "changed") {
				r.Quantity = r.Quantity.Add(decimal.NewFromInt(1))
				wantConflicts = append(wantConflicts, id)
			} else {
				r = respell(r)
				wantResent++
			}
			batch = append(batch, r)
		}
	}
	batch = rapid.Permutation(batch).Draw(t, "batch")
	rep := run(t, m.cfg, m.ledger, batch...)
	require.Equal(t, wantResent, rep.Stats.Resent)
	require.Equal(t, int64(wantAccepted), rep.Stats.Accepted)
	require.Len(t, rep.Rejections, wantRejected)
	slices.Sort(wantConflicts)
	var got []usage.RecordID
	for _, c := range rep.Conflicts {
		got = append(got, c.ID)
		require.NotNil(t, c.Billed)
		require.Equal(t, m.model[c.ID].rec.ContentDigest(), c.Billed.Digest)
	}
	require.Equal(t, wantConflicts, append([]usage.RecordID{}, got...))
	maps.Copy(m.model, added)
	m.ledger = rep.Ledger
}

// Prune prunes at a month boundary or inside a month.
func (m *ledgerMachine) Prune(t *rapid.T) {
	cut := utc("2025-12-15T00:00:00Z").Add(time.Duration(rapid.IntRange(0, 9).Draw(t, "half_months")) * 15 * 24 * time.Hour)
	if rapid.Bool().Draw(t, "boundary") {
		cut, _ = month(cut)
	}
	m.ledger = m.ledger.Prune(cut)
	if cut.After(m.horizon) {
		m.horizon = cut
	}
	maps.DeleteFunc(m.model, func(_ usage.RecordID, b billed) bool { return !b.end.After(m.horizon) })
}

// Encode writes the ledger and reads it back, as a host persisting it.
func (m *ledgerMachine) Encode(t *rapid.T) {
	var back usage.Ledger
	if rapid.Bool().Draw(t, "binary") {
		b, err := m.ledger.MarshalBinary()
		require.NoError(t, err)
		require.NoError(t, back.UnmarshalBinary(b))
	} else {
		b, err := json.Marshal(m.ledger)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &back))
	}
	m.ledger = back
}

// Split splits the ledger into two overlapping shards and merges them.
func (m *ledgerMachine) Split(t *rapid.T) {
	mod := rapid.IntRange(2, 4).Draw(t, "mod")
	a := m.ledger.Filter(func(e usage.LedgerEntry) bool { return len(e.ID)%mod != 0 })
	b := m.ledger.Filter(func(e usage.LedgerEntry) bool { return len(e.ID)%mod != 1 })
	merged, err := usage.MergeLedgers(b, a)
	require.NoError(t, err)
	m.ledger = merged
}

// Shard runs new records on a shard that owns none of the ledger's ids
// (but knows its cutoff) and merges the shard's ledger back.
func (m *ledgerMachine) Shard(t *rapid.T) {
	empty := m.ledger.Filter(func(usage.LedgerEntry) bool { return false })
	var batch []usage.Record
	for range rapid.IntRange(1, 4).Draw(t, "records") {
		r := m.newRecord(t)
		batch = append(batch, r)
		if start, end := month(r.At); r.Meter != "tpu" && (m.horizon.IsZero() || end.After(m.horizon)) {
			m.model[r.ID] = billed{rec: r, start: start, end: end}
		}
	}
	shard := run(t, m.cfg, empty, batch...)
	merged, err := m.ledger.Merge(shard.Ledger)
	require.NoError(t, err)
	m.ledger = merged
}

// Check compares the ledger with the model: size, cutoff, every entry, and
// the order All lists them in.
func (m *ledgerMachine) Check(t *rapid.T) {
	require.Equal(t, len(m.model), m.ledger.Len())
	require.True(t, m.ledger.PrunedBefore().Equal(m.horizon), "%s != %s", m.ledger.PrunedBefore(), m.horizon)
	for id, b := range m.model {
		e, ok := m.ledger.Lookup(id)
		require.True(t, ok, "%s lost", id)
		require.Equal(t, b.rec.ContentDigest(), e.Digest)
		require.Equal(t, b.rec.Meter, e.Meter)
		require.True(t, e.Period.Start.Equal(b.start) && e.Period.End.Equal(b.end), "%s: %s", id, e.Period)
	}
	all := slices.Collect(m.ledger.All())
	require.Len(t, all, len(m.model))
	require.True(t, slices.IsSortedFunc(all, func(a, b usage.LedgerEntry) int {
		return cmp.Or(strings.Compare(string(a.Line), string(b.Line)), strings.Compare(string(a.Meter), string(b.Meter)),
			a.Period.Start.Compare(b.Period.Start), strings.Compare(string(a.ID), string(b.ID)))
	}))
}

func TestLedgerStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &ledgerMachine{}
		m.init()
		t.Repeat(rapid.StateMachineActions(m))
	})
}
