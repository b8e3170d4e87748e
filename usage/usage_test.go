package usage_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestAggregations(t *testing.T) {
	jan, feb := "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"
	cases := []struct {
		name    string
		records []usage.Record
		meter   string
		start   string
		value   string
		count   int64
		source  string
	}{
		{
			name: "sum adds exactly across scales",
			records: []usage.Record{
				rec("a", "L1", "gpu", "1.5", "2026-01-02T00:00:00Z"),
				rec("b", "L1", "gpu", "0.25", "2026-01-03T00:00:00Z"),
				rec("c", "L1", "gpu", "3", "2026-01-31T23:59:59Z"),
				rec("d", "L1", "gpu", "100", "2026-02-01T00:00:00Z"), // next period
			},
			meter: "gpu", start: jan, value: "4.75", count: 3,
		},
		{
			name: "sum beyond int64 stays exact",
			records: []usage.Record{
				rec("a", "L1", "gpu", "9223372036854775807", "2026-01-02T00:00:00Z"),
				rec("b", "L1", "gpu", "9223372036854775807", "2026-01-03T00:00:00Z"),
				rec("c", "L1", "gpu", "0.000000000000000001", "2026-01-04T00:00:00Z"),
			},
			meter: "gpu", start: jan, value: "18446744073709551614.000000000000000001", count: 3,
		},
		{
			name: "sum of a quantity with more than 18 digits",
			records: []usage.Record{
				rec("a", "L1", "gpu", "123456789012345678901234.5", "2026-01-02T00:00:00Z"),
				rec("b", "L1", "gpu", "0.5", "2026-01-03T00:00:00Z"),
			},
			meter: "gpu", start: jan, value: "123456789012345678901235", count: 2,
		},
		{
			name: "max keeps the greatest and names its record",
			records: []usage.Record{
				rec("a", "L1", "peak", "10", "2026-01-02T00:00:00Z"),
				rec("b", "L1", "peak", "12.5", "2026-01-03T00:00:00Z"),
				rec("c", "L1", "peak", "7", "2026-01-04T00:00:00Z"),
			},
			meter: "peak", start: jan, value: "12.5", count: 3, source: "b",
		},
		{
			name: "max tie goes to the greatest record id",
			records: []usage.Record{
				rec("b", "L1", "peak", "12.50", "2026-01-03T00:00:00Z"),
				rec("c", "L1", "peak", "12.5", "2026-01-01T00:00:00Z"),
				rec("a", "L1", "peak", "12.5", "2026-01-09T00:00:00Z"),
			},
			meter: "peak", start: jan, value: "12.5", count: 3, source: "c",
		},
		{
			name: "count ignores quantities",
			records: []usage.Record{
				rec("a", "L1", "calls", "5", "2026-02-02T00:00:00Z"),
				rec("b", "L1", "calls", "0", "2026-02-03T00:00:00Z"),
				rec("c", "L1", "calls", "1", "2026-02-04T00:00:00Z"),
			},
			meter: "calls", start: feb, value: "3", count: 3,
		},
		{
			name: "count unique counts distinct attribute values",
			records: []usage.Record{
				rec("a", "L1", "users", "1", "2026-01-02T00:00:00Z", "user", "ann"),
				rec("b", "L1", "users", "1", "2026-01-03T00:00:00Z", "user", "bob", "region", "eu"),
				rec("c", "L1", "users", "1", "2026-01-04T00:00:00Z", "user", "ann", "region", "us"),
				rec("d", "L1", "users", "1", "2026-01-05T00:00:00Z", "user", ""),
			},
			meter: "users", start: jan, value: "3", count: 4,
		},
		{
			name: "latest keeps the latest instant, negative allowed",
			records: []usage.Record{
				rec("a", "L1", "level", "4", "2026-01-20T00:00:00Z"),
				rec("b", "L1", "level", "-2", "2026-01-25T00:00:00Z"),
				rec("c", "L1", "level", "9", "2026-01-05T00:00:00Z"),
			},
			meter: "level", start: jan, value: "-2", count: 3, source: "b",
		},
		{
			name: "latest tie on instant goes to the greatest record id",
			records: []usage.Record{
				rec("z", "L1", "level", "1", "2026-01-25T00:00:00Z"),
				rec("y", "L1", "level", "2", "2026-01-25T00:00:00Z"),
				rec("x", "L1", "level", "3", "2026-01-24T00:00:00Z"),
			},
			meter: "level", start: jan, value: "1", count: 3, source: "z",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := collect(t, testConfig(), tc.records...)
			require.Empty(t, rep.Rejections)
			require.Empty(t, rep.Conflicts)
			g := find(t, rep, "L1", tc.meter, tc.start)
			require.True(t, g.Value.Equal(dec(tc.value)), "value %s, want %s", g.Value, tc.value)
			require.Equal(t, tc.count, g.Records)
			require.Equal(t, usage.RecordID(tc.source), g.Source)
			// Reversed input gives the same report.
			rev := slices.Clone(tc.records)
			slices.Reverse(rev)
			requireSameReport(t, collect(t, testConfig(), rev...), rep)
		})
	}
}

func TestAggregateTrace(t *testing.T) {
	cfg := testConfig()
	cfg.RecordIDs = true
	rep := collect(t, cfg,
		rec("r2", "L1", "users", "1", "2026-01-02T00:00:00Z", "user", "bob"),
		rec("r1", "L1", "users", "1", "2026-01-03T00:00:00Z", "user", "ann"),
		rec("r3", "L1", "level", "5", "2026-01-04T10:00:00Z"),
	)
	g := find(t, rep, "L1", "users", "2026-01-01T00:00:00Z")
	require.Equal(t, []usage.RecordID{"r1", "r2"}, g.RecordIDs)
	require.Equal(t, []string{"ann", "bob"}, g.Uniques)
	require.Equal(t, usage.DigestOf("r2", "r1"), g.Digest)
	require.Equal(t, usage.DigestOf("r1").Add(usage.DigestOf("r2")), g.Digest)
	lv := find(t, rep, "L1", "level", "2026-01-01T00:00:00Z")
	require.Equal(t, "GB", lv.Unit)
	require.Equal(t, usage.RecordID("r3"), lv.Source)
	require.True(t, lv.SourceAt.Equal(utc("2026-01-04T10:00:00Z")))
	ref := lv.Ref()
	require.Equal(t, usage.KindAggregate, ref.Kind)
	require.Equal(t, "L1|level|2026-01-01T00:00:00Z", ref.ID)
	require.Equal(t, usage.DigestOf("r3").String(), ref.Version)
}

// digestModel recomputes a one-id digest from Digest's definition with
// hash/fnv: FNV-1a 128, then three fmix64 rounds across the halves.
func digestModel(id string) string {
	h := fnv.New128a()
	h.Write([]byte(id))
	b := h.Sum(nil)
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	fmix := func(k uint64) uint64 {
		k ^= k >> 33
		k *= 0xff51afd7ed558ccd
		k ^= k >> 33
		k *= 0xc4ceb9fe1a85ec53
		k ^= k >> 33
		return k
	}
	lo = fmix(lo ^ hi)
	hi = fmix(hi ^ lo)
	lo = fmix(lo ^ hi)
	return fmt.Sprintf("%016x%016x", hi, lo)
}

func TestDigest(t *testing.T) {
	// Recomputed from the definition with the standard library's FNV.
	for _, id := range []string{"", "a", "r12", "ord-1001/office|calls|x"} {
		require.Equal(t, digestModel(id), usage.DigestOf(usage.RecordID(id)).String(), id)
	}
	// Sums of plain FNV hashes collided on short sequential ids; mixed,
	// they do not.
	require.NotEqual(t, usage.DigestOf("r12", "r26"), usage.DigestOf("r17", "r23"))
	require.Equal(t, usage.Digest{}, usage.DigestOf())
	// Order-independent, additive, with a carry across the halves.
	require.Equal(t, usage.DigestOf("a", "b", "c"), usage.DigestOf("c", "a").Add(usage.DigestOf("b")))
	var hi usage.Digest
	hi[8] = 0xff
	for i := 9; i < 16; i++ {
		hi[i] = 0xff
	}
	one := usage.Digest{15: 1}
	require.Equal(t, "00000000000000010000000000000000", hi.Add(one).String())
	var d usage.Digest
	require.NoError(t, d.UnmarshalText([]byte(usage.DigestOf("x").String())))
	require.Equal(t, usage.DigestOf("x"), d)
	var pe *usage.ParseError
	require.ErrorAs(t, d.UnmarshalText([]byte("xyz")), &pe)
	require.ErrorAs(t, d.UnmarshalText([]byte("zz000000000000000000000000000000")), &pe)
}

func TestRejections(t *testing.T) {
	big := rec("big", "L1", "gpu", "1", "2026-01-02T00:00:00Z")
	big.Quantity = decimal.New(1, 45) // 46 digits: could not be read back from JSON
	cases := []struct {
		name   string
		record usage.Record
		reason usage.Reason
		err    error
		detail string
	}{
		{"empty id", rec("", "L1", "gpu", "1", "2026-01-02T00:00:00Z"), usage.ReasonInvalidRecord, usage.ErrInvalidRecord, "empty id"},
		{"zero instant", usage.Record{ID: "z", Line: "L1", Meter: "gpu"}, usage.ReasonInvalidRecord, usage.ErrInvalidRecord,
			"instant 0001-01-01T00:00:00Z is outside the years 1678-2262"},
		{"too many digits", big, usage.ReasonInvalidRecord, usage.ErrInvalidRecord,
			"quantity has more than 40 digits (coefficient of 1 digits, exponent 45); the record shows it as 0"},
		{"extreme exponent", usage.Record{ID: "xx", Line: "L1", Meter: "gpu", Quantity: decimal.New(7, math.MinInt32), At: utc("2026-01-02T00:00:00Z")},
			usage.ReasonInvalidRecord, usage.ErrInvalidRecord,
			"quantity has more than 40 digits (coefficient of 1 digits, exponent -2147483648); the record shows it as 0"},
		{"zero with an extreme exponent is zero", usage.Record{ID: "z0", Line: "L1", Meter: "tpu", Quantity: decimal.New(0, math.MaxInt32), At: utc("2026-01-02T00:00:00Z")},
			usage.ReasonUnknownMeter, usage.ErrUnknownMeter, `meter "tpu" is not declared`},
		{"id too long", rec(strings.Repeat("x", usage.MaxIDBytes+1), "L1", "gpu", "1", "2026-01-02T00:00:00Z"), usage.ReasonInvalidRecord, usage.ErrInvalidRecord,
			"id longer than 256 bytes"},
		{"unknown line", rec("u", "L9", "gpu", "1", "2026-01-02T00:00:00Z"), usage.ReasonUnknownLine, usage.ErrUnknownLine,
			`line "L9" is not in the config`},
		{"unknown meter", rec("m", "L1", "tpu", "1", "2026-01-02T00:00:00Z"), usage.ReasonUnknownMeter, usage.ErrUnknownMeter,
			`meter "tpu" is not declared`},
		{"negative quantity", rec("n", "L1", "gpu", "-0.5", "2026-01-02T00:00:00Z"), usage.ReasonNegativeQuantity, usage.ErrNegativeQuantity,
			`meter "gpu" forbids negative quantity -0.5`},
		{"missing attribute", rec("x", "L1", "users", "1", "2026-01-02T00:00:00Z", "login", "ann"), usage.ReasonMissingAttribute, usage.ErrMissingAttribute,
			`meter "users" counts attribute "user", which the record lacks`},
		{"before activation", rec("b", "L1", "gpu", "1", "2025-12-31T23:59:59Z"), usage.ReasonOutsideActive, usage.ErrOutsideActive,
			`line "L1" was not active at 2025-12-31T23:59:59Z`},
		{"at the end of the active segment", rec("e", "L1", "gpu", "1", "2026-04-01T00:00:00Z"), usage.ReasonOutsideActive, usage.ErrOutsideActive,
			`line "L1" was not active at 2026-04-01T00:00:00Z`},
		{"while suspended", rec("s", "L2", "gpu", "1", "2026-02-15T00:00:00Z"), usage.ReasonOutsideActive, usage.ErrOutsideActive,
			`line "L2" was not active at 2026-02-15T00:00:00Z`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			good := rec("good", "L1", "gpu", "2", "2026-01-05T00:00:00Z")
			rep := collect(t, testConfig(), tc.record, good)
			require.Len(t, rep.Rejections, 1)
			rej := rep.Rejections[0]
			require.Equal(t, tc.reason, rej.Reason)
			require.Equal(t, tc.detail, rej.Detail)
			require.Equal(t, tc.record.ID, rej.Record.ID)
			_, err := json.Marshal(rep) // bounded whatever the quantity
			require.NoError(t, err)
			require.ErrorIs(t, rej, tc.err)
			require.Contains(t, rej.Error(), `usage: record "`+string(tc.record.ID)+`": `)
			var asRej usage.Rejection
			require.ErrorAs(t, rep.Err(), &asRej)
			require.ErrorIs(t, rep.Err(), tc.err)
			// The rest of the batch aggregates.
			require.Len(t, rep.Aggregates, 1)
			require.True(t, rep.Aggregates[0].Value.Equal(dec("2")))
			require.Equal(t, usage.Stats{Read: 2, Accepted: 1, Rejected: 1}, rep.Stats)
		})
	}
}

func TestRejectionError(t *testing.T) {
	r := usage.Rejection{Record: usage.Record{ID: "r-17"}, Reason: usage.ReasonUnknownMeter, Detail: `meter "gpu" is not declared`}
	require.Equal(t, `usage: record "r-17": unknown meter: meter "gpu" is not declared`, r.Error())
	require.ErrorIs(t, r, usage.ErrUnknownMeter)
	require.NotErrorIs(t, r, usage.ErrUnknownLine)
	c := usage.Conflict{ID: "r-18", Records: make([]usage.Record, 2)}
	require.Equal(t, `usage: record "r-18": conflicting records: 2 different contents for one id`, c.Error())
	require.ErrorIs(t, c, usage.ErrConflict)
	require.NoError(t, (&usage.Report{}).Err())
}

func TestDuplicatesAndConflicts(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	a := rec("a", "L1", "gpu", "1.5", "2026-01-02T00:00:00Z", "k", "v")
	aSame := a
	aSame.Quantity = dec("1.50") // same number
	aSame.At = a.At.In(paris)    // same instant
	aSame.Attributes = map[string]string{"k": "v"}
	aQty := a
	aQty.Quantity = dec("1.6")
	aAt := a
	aAt.At = a.At.Add(time.Nanosecond)
	aAttr := a
	aAttr.Attributes = map[string]string{"k": "w"}
	aNoAttr := a
	aNoAttr.Attributes = nil
	aLine := a
	aLine.Line = "L2"
	aBad := a
	aBad.Meter = "tpu"
	b := rec("b", "L1", "gpu", "2", "2026-01-03T00:00:00Z")

	t.Run("same content is a duplicate", func(t *testing.T) {
		rep := collect(t, testConfig(), a, b, aSame, a)
		require.Empty(t, rep.Conflicts)
		require.Equal(t, usage.Stats{Read: 4, Accepted: 2, Duplicates: 2}, rep.Stats)
		require.True(t, rep.Aggregates[0].Value.Equal(dec("3.5")))
	})
	for _, tc := range []struct {
		name  string
		other usage.Record
	}{
		{"different quantity", aQty},
		{"different instant", aAt},
		{"different attribute value", aAttr},
		{"attributes dropped", aNoAttr},
		{"different line", aLine},
	} {
		t.Run("conflict on "+tc.name, func(t *testing.T) {
			for _, order := range [][]usage.Record{{a, b, tc.other}, {tc.other, b, a}, {tc.other, a, b, a, tc.other}} {
				rep := collect(t, testConfig(), order...)
				require.Len(t, rep.Conflicts, 1)
				c := rep.Conflicts[0]
				require.Equal(t, usage.RecordID("a"), c.ID)
				require.Len(t, c.Records, 2)
				require.True(t, c.Records[0].SameContent(a) || c.Records[1].SameContent(a))
				require.True(t, c.Records[0].SameContent(tc.other) || c.Records[1].SameContent(tc.other))
				// Neither content is aggregated: only b counts.
				require.Len(t, rep.Aggregates, 1)
				require.True(t, rep.Aggregates[0].Value.Equal(dec("2")))
				require.Equal(t, int64(1), rep.Aggregates[0].Records)
				require.Equal(t, usage.DigestOf("b"), rep.Aggregates[0].Digest)
				require.Equal(t, int64(1), rep.Stats.Accepted)
				require.ErrorIs(t, rep.Err(), usage.ErrConflict)
			}
		})
	}
	t.Run("conflict with a rejected content reports both", func(t *testing.T) {
		r1 := collect(t, testConfig(), a, aBad, b)
		r2 := collect(t, testConfig(), aBad, b, a)
		requireSameReport(t, r2, r1)
		require.Len(t, r1.Conflicts, 1)
		require.Len(t, r1.Rejections, 1)
		require.Equal(t, usage.ReasonUnknownMeter, r1.Rejections[0].Reason)
	})
	t.Run("three contents", func(t *testing.T) {
		rep := collect(t, testConfig(), a, aQty, aAt, aQty, a)
		require.Len(t, rep.Conflicts, 1)
		require.Len(t, rep.Conflicts[0].Records, 3)
		require.Equal(t, int64(2), rep.Stats.Duplicates)
		require.Empty(t, rep.Aggregates)
	})
	t.Run("max is recomputed after a conflict withdraws the max", func(t *testing.T) {
		p1 := rec("p1", "L1", "peak", "10", "2026-01-02T00:00:00Z")
		p2 := rec("p2", "L1", "peak", "50", "2026-01-03T00:00:00Z")
		p2x := p2
		p2x.Quantity = dec("51")
		ag, err := usage.New(testConfig())
		require.NoError(t, err)
		ag.AddRecord(p1)
		ag.AddRecord(p2)
		require.True(t, ag.Report().Aggregates[0].Value.Equal(dec("50")))
		ag.AddRecord(p2x)
		got := ag.Report()
		require.True(t, got.Aggregates[0].Value.Equal(dec("10")))
		require.Equal(t, usage.RecordID("p1"), got.Aggregates[0].Source)
		requireSameReport(t, got, collect(t, testConfig(), p2x, p1, p2))
	})
}

func TestPeriods(t *testing.T) {
	cfg := testConfig()
	cfg.Lines = append(cfg.Lines, usage.Line{
		Ref: "L3", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: utc("2026-01-31T00:00:00Z"),
		Active: []ensemble.Period{period("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")},
	})
	rep := collect(t, cfg,
		// Paris midnight: Mar 14 23:00 UTC is Mar 15 00:00 in Paris, a new period.
		rec("p1", "L2", "gpu", "1", "2026-03-14T22:59:59Z"),
		rec("p2", "L2", "gpu", "2", "2026-03-14T23:00:00Z"),
		// A line anchored on the 31st bills on Feb 28.
		rec("m1", "L3", "gpu", "4", "2026-02-27T12:00:00Z"),
		rec("m2", "L3", "gpu", "8", "2026-02-28T00:00:00Z"),
	)
	require.Empty(t, rep.Rejections)
	p1 := find(t, rep, "L2", "gpu", "2026-02-14T23:00:00Z")
	require.True(t, p1.Period.End.Equal(utc("2026-03-14T23:00:00Z")))
	require.True(t, p1.Value.Equal(dec("1")))
	p2 := find(t, rep, "L2", "gpu", "2026-03-14T23:00:00Z")
	require.True(t, p2.Value.Equal(dec("2")))
	// Daylight saving time starts on Mar 29: Apr 15 00:00 in Paris is 22:00 UTC.
	require.True(t, p2.Period.End.Equal(utc("2026-04-14T22:00:00Z")))
	m1 := find(t, rep, "L3", "gpu", "2026-01-31T00:00:00Z")
	require.True(t, m1.Period.End.Equal(utc("2026-02-28T00:00:00Z")))
	require.True(t, m1.Value.Equal(dec("4")))
	m2 := find(t, rep, "L3", "gpu", "2026-02-28T00:00:00Z")
	require.True(t, m2.Period.End.Equal(utc("2026-03-31T00:00:00Z")))
	require.Equal(t, time.UTC, m2.Period.Start.Location())
	// Aggregates are sorted by line, meter, period start.
	var keys []string
	for _, g := range rep.Aggregates {
		keys = append(keys, string(g.Line)+" "+g.Period.Start.Format(time.DateOnly))
	}
	require.Equal(t, []string{"L2 2026-02-14", "L2 2026-03-14", "L3 2026-01-31", "L3 2026-02-28"}, keys)
}

func TestListedPeriods(t *testing.T) {
	rep := collect(t, testConfig(),
		rec("a", "L4", "gpu", "1", "2026-01-05T00:00:00Z"),
		rec("b", "L4", "gpu", "2", "2026-01-20T00:00:00Z"),
		rec("c", "L4", "gpu", "4", "2026-02-14T23:59:59Z"),
		rec("d", "L4", "gpu", "8", "2026-02-17T00:00:00Z"),
		rec("e", "L4", "gpu", "16", "2026-02-20T00:00:00Z"),
		rec("f", "L4", "gpu", "32", "2026-04-01T00:00:00Z"),
	)
	require.True(t, find(t, rep, "L4", "gpu", "2026-01-01T00:00:00Z").Value.Equal(dec("1")))
	require.True(t, find(t, rep, "L4", "gpu", "2026-01-20T00:00:00Z").Value.Equal(dec("6")))
	g := find(t, rep, "L4", "gpu", "2026-02-20T00:00:00Z")
	require.True(t, g.Value.Equal(dec("16")))
	require.True(t, g.Period.End.Equal(utc("2026-04-01T00:00:00Z")))
	require.Len(t, rep.Rejections, 2)
	for _, r := range rep.Rejections {
		require.ErrorIs(t, r, usage.ErrNoPeriod)
	}
	require.Equal(t, `line "L4": 2026-02-17T00:00:00Z is in none of its listed periods`, rep.Rejections[0].Detail)
}

func TestLateRecords(t *testing.T) {
	cfg := testConfig()
	cfg.ClosedBefore = utc("2026-02-01T00:00:00Z")          // January closed for every line
	cfg.Lines[1].ClosedBefore = utc("2026-03-14T23:00:00Z") // L2 closed through its Feb 15 period
	cfg.RecordIDs = true
	rep := collect(t, cfg,
		rec("j1", "L1", "gpu", "5", "2026-01-20T00:00:00Z"),
		rec("j2", "L1", "gpu", "1", "2026-01-21T00:00:00Z"),
		rec("f1", "L1", "gpu", "7", "2026-02-02T00:00:00Z"),
		rec("k1", "L2", "gpu", "3", "2026-03-01T00:00:00Z"),
		rec("k2", "L2", "gpu", "4", "2026-03-20T00:00:00Z"),
	)
	require.Len(t, rep.Adjustments, 2)
	require.Len(t, rep.Aggregates, 2)
	jan := rep.Adjustments[0]
	require.Equal(t, usage.LineRef("L1"), jan.Line)
	require.True(t, jan.Late)
	require.True(t, jan.Value.Equal(dec("6")))
	require.Equal(t, []usage.RecordID{"j1", "j2"}, jan.RecordIDs)
	require.Equal(t, usage.KindAdjustment, jan.Ref().Kind)
	require.Equal(t, usage.LineRef("L2"), rep.Adjustments[1].Line)
	require.True(t, rep.Adjustments[1].Value.Equal(dec("3")))
	for _, g := range rep.Aggregates {
		require.False(t, g.Late)
	}

	// The invoice merges what it billed with the adjustment.
	billed := jan
	billed.Late, billed.Value, billed.Records = false, dec("100"), 40
	billed.RecordIDs = nil
	billed.Digest = usage.DigestOf("old")
	cum, err := billed.Merge(jan)
	require.NoError(t, err)
	require.True(t, cum.Value.Equal(dec("106")))
	require.Equal(t, int64(42), cum.Records)
	require.Equal(t, usage.DigestOf("old", "j1", "j2"), cum.Digest)
	require.False(t, cum.Late)
	_, err = billed.Merge(rep.Aggregates[0])
	require.ErrorIs(t, err, usage.ErrMergeMismatch)
}

func TestMerge(t *testing.T) {
	base := usage.Aggregate{Line: "L1", Meter: "m", Period: period("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")}
	mk := func(g usage.Aggregation, v string, n int64, src, at string, uniq ...string) usage.Aggregate {
		x := base
		x.Aggregation, x.Value, x.Records, x.Source, x.Uniques = g, dec(v), n, usage.RecordID(src), uniq
		if at != "" {
			x.SourceAt = utc(at)
		}
		x.Digest = usage.DigestOf(usage.RecordID(src + "-set"))
		return x
	}
	cases := []struct {
		name       string
		a, b       usage.Aggregate
		value, src string
	}{
		{"sum", mk(usage.Sum, "1.5", 2, "", ""), mk(usage.Sum, "2", 1, "", ""), "3.5", ""},
		{"count", mk(usage.Count, "2", 2, "", ""), mk(usage.Count, "1", 1, "", ""), "3", ""},
		{"max keeps greater", mk(usage.Max, "5", 1, "a", ""), mk(usage.Max, "7", 1, "b", ""), "7", "b"},
		{"max keeps receiver when greater", mk(usage.Max, "9", 1, "a", ""), mk(usage.Max, "7", 1, "b", ""), "9", "a"},
		{"max tie to greater id", mk(usage.Max, "7", 1, "c", ""), mk(usage.Max, "7.0", 1, "b", ""), "7", "c"},
		{"latest later wins", mk(usage.Latest, "1", 1, "a", "2026-01-05T00:00:00Z"), mk(usage.Latest, "2", 1, "b", "2026-01-06T00:00:00Z"), "2", "b"},
		{"latest earlier loses", mk(usage.Latest, "1", 1, "a", "2026-01-07T00:00:00Z"), mk(usage.Latest, "2", 1, "b", "2026-01-06T00:00:00Z"), "1", "a"},
		{"count unique unions", mk(usage.CountUnique, "2", 2, "", "", "ann", "bob"), mk(usage.CountUnique, "2", 3, "", "", "bob", "cy"), "3", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.a.Merge(tc.b)
			require.NoError(t, err)
			require.True(t, got.Value.Equal(dec(tc.value)), "value %s", got.Value)
			require.Equal(t, usage.RecordID(tc.src), got.Source)
			require.Equal(t, tc.a.Records+tc.b.Records, got.Records)
			require.Equal(t, tc.a.Digest.Add(tc.b.Digest), got.Digest)
		})
	}
}

func TestConfigValidation(t *testing.T) {
	cfg := usage.Config{
		Meters: []usage.Meter{
			{ID: "", Aggregation: usage.Sum},
			{ID: "a", Aggregation: usage.AggregationUnspecified},
			{ID: "a", Aggregation: usage.CountUnique},
			{ID: "b", Aggregation: usage.Max, UniqueAttribute: "user"},
		},
		Lines: []usage.Line{
			{Ref: "", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: utc("2026-01-01T00:00:00Z")},
			{Ref: "x", Anchor: utc("2026-01-01T00:00:00Z"), TimeZone: "Mars/Olympus"},
			{Ref: "x", Cadence: ensemble.Every(1, ensemble.Daily), Active: []ensemble.Period{{Start: utc("2026-02-01T00:00:00Z"), End: utc("2026-01-01T00:00:00Z")}}},
			{Ref: "z", Cadence: ensemble.Every(1, ensemble.Daily), Anchor: utc("2026-01-01T00:00:00Z"), TimeZone: "Mars/Olympus"},
			{Ref: "w", Cadence: ensemble.Every(1, ensemble.Daily), Anchor: utc("2026-01-01T00:00:00Z"), TimeZone: "Local"},
			{Ref: "y", Cadence: ensemble.Every(1, ensemble.Daily), Periods: []ensemble.Period{
				period("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
				period("2026-01-15T00:00:00Z", "2026-03-01T00:00:00Z"),
				period("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"),
			}},
		},
	}
	err := cfg.Validate()
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.Equal(t, []string{
		"meters[0].id", "meters[1].aggregation", "meters[2].id", "meters[2].unique_attribute", "meters[3].unique_attribute",
		"lines[0].ref", "lines[1].cadence", "lines[1].time_zone", "lines[2].ref", "lines[2].anchor", "lines[2].active[0]",
		"lines[3].time_zone", "lines[4].time_zone",
		"lines[5].periods", "lines[5].periods[2]", "lines[5].periods",
	}, paths)
	require.Contains(t, err.Error(), `line "y": periods [2026-01-01T00:00:00Z, 2026-02-01T00:00:00Z) and [2026-01-15T00:00:00Z, 2026-03-01T00:00:00Z) overlap`)
	require.ErrorIs(t, err, usage.ErrEmptyID)
	require.ErrorIs(t, err, usage.ErrDuplicateID)
	require.ErrorIs(t, err, usage.ErrBadAggregation)
	require.ErrorIs(t, err, ensemble.ErrPeriodOrder)
	a, err := usage.New(cfg)
	require.Error(t, err)
	require.Nil(t, a)
	rep, err := usage.Collect(cfg, slices.Values([]usage.Record{}))
	require.Error(t, err)
	require.Nil(t, rep)
	require.NoError(t, testConfig().Validate())
}

func TestEnumsText(t *testing.T) {
	for g := usage.AggregationUnspecified; g <= usage.Latest; g++ {
		b, err := g.MarshalText()
		require.NoError(t, err)
		var back usage.Aggregation
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, g, back)
		require.Equal(t, string(b), g.String())
	}
	require.Equal(t, "count_unique", usage.CountUnique.String())
	_, err := usage.Aggregation(99).MarshalText()
	require.Error(t, err)
	var pe *usage.ParseError
	_, err = usage.ParseAggregation("average")
	require.ErrorAs(t, err, &pe)
	require.Equal(t, `usage: parse aggregation "average": want sum, max, count, count_unique, latest or weighted_average`, err.Error())
	for r := usage.ReasonUnspecified; r <= usage.ReasonNoPeriod; r++ {
		b, err := r.MarshalText()
		require.NoError(t, err)
		var back usage.Reason
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, r, back)
		if r != usage.ReasonUnspecified {
			require.True(t, errors.Is(usage.Rejection{Reason: r}, r.Err()))
		}
	}
	require.Equal(t, "reason(99)", usage.Reason(99).String())
	_, err = usage.Reason(99).MarshalText()
	require.Error(t, err)
	var r usage.Reason
	require.Error(t, r.UnmarshalText([]byte("bogus")))
}

func TestRecordJSON(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want usage.Record
		err  bool
	}{
		{"string quantity", `{"id":"r1","line":"L1","meter":"gpu","quantity":"1.50","at":"2026-01-02T00:00:00Z","attributes":{"k":"v"}}`,
			rec("r1", "L1", "gpu", "1.5", "2026-01-02T00:00:00Z", "k", "v"), false},
		{"number quantity read from its text", `{"id":"r1","line":"L1","meter":"gpu","quantity":0.1,"at":"2026-01-02T00:00:00Z"}`,
			rec("r1", "L1", "gpu", "0.1", "2026-01-02T00:00:00Z"), false},
		{"missing quantity is zero", `{"id":"r1","line":"L1","meter":"calls","at":"2026-01-02T00:00:00Z","attributes":{}}`,
			rec("r1", "L1", "calls", "0", "2026-01-02T00:00:00Z"), false},
		{"exponent rejected", `{"id":"r1","quantity":"1e3"}`, usage.Record{}, true},
		{"number exponent rejected", `{"id":"r1","quantity":1e3}`, usage.Record{}, true},
		{"bad type", `{"id":1}`, usage.Record{}, true},
		{"bad time", `{"id":"r","at":"yesterday"}`, usage.Record{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got usage.Record
			err := json.Unmarshal([]byte(tc.in), &got)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want.ID, got.ID)
			require.True(t, got.SameContent(tc.want), "got %+v", got)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	one := `{"id":"r1","line":"L1","meter":"gpu","quantity":"1.5","at":"2026-01-02T00:00:00Z"}`
	two := `{"id":"r2","line":"L1","meter":"gpu","quantity":2,"at":"2026-01-03T00:00:00Z"}`
	cases := []struct {
		name  string
		in    string
		ids   []usage.RecordID
		index int // of the DecodeError, -1 for none
	}{
		{"empty", "", nil, -1},
		{"blank", " \n\t", nil, -1},
		{"array", "[" + one + ",\n" + two + "]\n", []usage.RecordID{"r1", "r2"}, -1},
		{"empty array", " [ ] ", nil, -1},
		{"json lines", one + "\n" + two + "\n", []usage.RecordID{"r1", "r2"}, -1},
		{"bad quantity stops", one + "\n" + `{"id":"r3","quantity":"1e9"}` + "\n" + two, []usage.RecordID{"r1"}, 1},
		{"truncated array", "[" + one + ",", []usage.RecordID{"r1"}, 1},
		{"unclosed array", "[" + one, []usage.RecordID{"r1"}, 1},
		{"garbage after array", "[" + one + "] x", []usage.RecordID{"r1"}, 1},
		{"not json", "hello", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ids []usage.RecordID
			index := -1
			for r, err := range usage.Decode(strings.NewReader(tc.in)) {
				if err != nil {
					var de *usage.DecodeError
					require.ErrorAs(t, err, &de)
					require.Contains(t, err.Error(), "usage: decode record ")
					index = de.Index
					continue
				}
				ids = append(ids, r.ID)
			}
			require.Equal(t, tc.ids, ids)
			require.Equal(t, tc.index, index)
		})
	}
	// A consumer may stop early.
	n := 0
	for range usage.Decode(strings.NewReader(one + two + one)) {
		n++
		break
	}
	require.Equal(t, 1, n)
}

func TestCanonicalRecords(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	cases := []struct {
		name string
		qty  decimal.Decimal
		want string // the quantity's JSON
	}{
		{"trailing zeros", decimal.New(150, -2), `"1.5"`},
		{"positive exponent", decimal.New(15, 2), `"1500"`},
		{"zero with a scale", decimal.New(0, -3), `"0"`},
		{"beyond int64", dec("123456789012345678901234.5000"), `"123456789012345678901234.5"`},
		{"huge exponent", decimal.New(1, 30), `"1000000000000000000000000000000"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := usage.Record{ID: "x", Line: "L9", Meter: "gpu", Quantity: tc.qty, At: utc("2026-01-02T00:00:00Z").In(paris)}
			rep := collect(t, testConfig(), r)
			require.Len(t, rep.Rejections, 1)
			got := rep.Rejections[0].Record
			require.Equal(t, time.UTC, got.At.Location())
			require.True(t, got.SameContent(r))
			b, err := json.Marshal(got.Quantity)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(b))
		})
	}
}

// TestHotPathAllocations checks that folding a record allocates nothing on
// average once the aggregator is warm: neither a duplicate, nor a new
// record with an int64-sized quantity (the dedup set grows in chunks).
func TestHotPathAllocations(t *testing.T) {
	a, err := usage.New(testConfig())
	require.NoError(t, err)
	at := utc("2026-01-05T00:00:00Z")
	users := []map[string]string{{"user": "ann"}, {"user": "bob"}}
	ids := make([]usage.RecordID, 20000)
	for i := range ids {
		ids[i] = usage.RecordID("evt-" + strconv.Itoa(i))
	}
	one := decimal.New(12345, -2) // beyond strconv's cache of small numbers
	i := 0
	next := func() usage.Record {
		r := usage.Record{ID: ids[i%len(ids)], Line: "L1", Meter: "gpu", Quantity: one, At: at.Add(time.Duration(i) * time.Second)}
		if i%2 == 1 {
			r.Meter, r.Attributes = "users", users[i%4/2]
		}
		i++
		return r
	}
	for range 100 { // warm: the first slots, attribute sets and values
		a.AddRecord(next())
	}
	fresh := testing.AllocsPerRun(5000, func() { a.AddRecord(next()) })
	require.Zero(t, fresh, "allocations per new record")
	i = 0
	dup := testing.AllocsPerRun(5000, func() { a.AddRecord(next()) })
	require.Zero(t, dup, "allocations per duplicate")
	rep := a.Report()
	require.Empty(t, rep.Conflicts)
	require.Positive(t, rep.Stats.Duplicates)
}

func TestMergeReportsMismatch(t *testing.T) {
	a := collect(t, testConfig(), rec("a", "L1", "gpu", "1", "2026-01-02T00:00:00Z"))
	cfg := testConfig()
	cfg.Meters = slices.Clone(cfg.Meters)
	cfg.Meters[0].Aggregation = usage.Max
	b := collect(t, cfg, rec("b", "L1", "gpu", "1", "2026-01-03T00:00:00Z"))
	rep, err := usage.MergeReports(a, b)
	require.ErrorIs(t, err, usage.ErrMergeMismatch)
	require.Nil(t, rep)
	rep, err = usage.MergeReports()
	require.NoError(t, err)
	require.Empty(t, rep.Aggregates)
}

func TestManySegments(t *testing.T) {
	// Active on the first 12 hours of each of 60 days: binary search.
	var active []ensemble.Period
	start := utc("2026-01-01T00:00:00Z")
	for d := range 60 {
		day := start.AddDate(0, 0, d)
		active = append(active, ensemble.MustPeriod(day, day.Add(12*time.Hour)))
	}
	slices.Reverse(active) // order does not matter
	cfg := testConfig()
	cfg.Lines = []usage.Line{{Ref: "L1", Active: active, Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: start}}
	var records []usage.Record
	for h := range 60 * 24 {
		at := start.Add(time.Duration(h) * time.Hour)
		records = append(records, rec("h"+strconv.Itoa(h), "L1", "calls", "1", at.Format(time.RFC3339)))
	}
	rep := collect(t, cfg, records...)
	require.Equal(t, int64(60*12), rep.Stats.Accepted)
	require.Len(t, rep.Rejections, 60*12)
	for _, r := range rep.Rejections {
		require.GreaterOrEqual(t, r.Record.At.Hour(), 12)
	}
}

func TestZeroAggregator(t *testing.T) {
	var a usage.Aggregator
	a.AddRecord(rec("a", "L1", "gpu", "1", "2026-01-02T00:00:00Z"))
	a.Add(slices.Values([]usage.Record{rec("b", "L1", "gpu", "1", "2026-01-02T00:00:00Z")}))
	rep := a.Report()
	require.Empty(t, rep.Aggregates)
	require.Len(t, rep.Rejections, 2)
	require.ErrorIs(t, rep.Err(), usage.ErrUnknownLine)
	var b usage.Aggregator
	require.Equal(t, usage.Stats{}, b.Report().Stats)
}

// TestPropertyDigestsOfShortIDsDiffer: two different sets of short
// sequential ids (what hosts often send) never share a digest; the plain
// FNV sum collided within a few hundred draws.
func TestPropertyDigestsOfShortIDsDiffer(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		draw := func(label string) []usage.RecordID {
			n := rapid.IntRange(1, 4).Draw(t, label+" n")
			seen := map[usage.RecordID]bool{}
			var ids []usage.RecordID
			for range n {
				id := usage.RecordID(fmt.Sprintf("r%d", rapid.IntRange(0, 99).Draw(t, label)))
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			return ids
		}
		a, b := draw("a"), draw("b")
		if !slices.Equal(a, b) && usage.DigestOf(a...) == usage.DigestOf(b...) {
			t.Fatalf("%v and %v share a digest", a, b)
		}
	})
}
