package usage_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// tokenConfig is the aiapi trial's output-token meter (attributed to the
// integration that generated the tokens) on one line billed monthly from
// February 1, under ResendCorrects.
func tokenConfig() usage.Config {
	return usage.Config{
		Meters: []usage.Meter{
			{ID: "output", Unit: "token", Aggregation: usage.Sum, AttributeTo: "integration"},
			{ID: "peak", Unit: "GB", Aggregation: usage.Max},
		},
		Lines: []usage.Line{{
			Ref: "o-beta/tokens", Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: utc("2026-02-01T00:00:00Z"),
			Active: []ensemble.Period{period("2026-02-01T00:00:00Z", "2026-07-01T00:00:00Z")},
		}},
		Resend: usage.ResendCorrects,
	}
}

// TestResendCorrectsBillsTheDifference is the aiapi trial's finding A4:
// eu-b-out-2, 333,333,333 output tokens on March 9, billed by the April 1
// run (200.00 at 0.0000006), is re-sent under its id at 300,000,000 after
// March was invoiced. Under ResendCorrects the May 1 run bills the
// difference, -33,333,333 tokens (-20.00), as a late adjustment of March,
// once; a third version (310,000,000) is billed against the second
// (+10,000,000). On main the re-send is a Conflict and nothing is billed.
func TestResendCorrectsBillsTheDifference(t *testing.T) {
	cfg := tokenConfig()
	cfg.ClosedBefore = utc("2026-03-01T00:00:00Z")
	v1 := rec("eu-b-out-2", "o-beta/tokens", "output", "333333333", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	apr1 := run(t, cfg, usage.Ledger{}, v1)
	march := find(t, apr1, "o-beta/tokens", "output", "2026-03-01T00:00:00Z")
	require.Equal(t, "333333333", march.Value.String())
	q, ok := apr1.Ledger.BilledQuantity("eu-b-out-2")
	require.True(t, ok)
	require.Equal(t, "333333333", q.String())
	rate := func(v decimal.Decimal) decimal.Decimal { return v.Mul(dec("0.0000006")).Round(2) }
	require.Equal(t, "200", rate(march.Value).String())

	// The ledger goes through its binary form, as a host persists it.
	ledger := roundTrip(t, apr1.Ledger)

	cfg.ClosedBefore = utc("2026-04-01T00:00:00Z")
	v2 := rec("eu-b-out-2", "o-beta/tokens", "output", "300000000.0", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	may1 := run(t, cfg, ledger, v2, v2, v1) // the new version twice, the billed one re-sent
	require.Empty(t, may1.Conflicts)
	require.Empty(t, may1.Rejections)
	require.Empty(t, may1.Aggregates)
	require.Len(t, may1.Adjustments, 1)
	adj := may1.Adjustments[0]
	require.True(t, adj.Late)
	require.Equal(t, "-33333333", adj.Value.String())
	require.Equal(t, []usage.Part{{Value: "tp-vector", Quantity: dec("-33333333"), Records: 1}}, adj.Parts)
	cum, err := march.Merge(adj)
	require.NoError(t, err)
	require.Equal(t, "300000000", cum.Value.String())
	// The invoice bills rate(cumulative) - billed: 180.00 - 200.00.
	require.Equal(t, "-20", rate(cum.Value).Sub(rate(march.Value)).String())
	q, _ = may1.Ledger.BilledQuantity("eu-b-out-2")
	require.Equal(t, "300000000", q.String())
	e, _ := may1.Ledger.Lookup("eu-b-out-2")
	require.Equal(t, v2.ContentDigest(), e.Digest)
	require.Equal(t, 1, may1.Ledger.Len())

	// Re-sent again: billed zero more; a third version is billed against
	// the second.
	cfg.ClosedBefore = utc("2026-05-01T00:00:00Z")
	jun1 := run(t, cfg, roundTrip(t, may1.Ledger), v2)
	require.Empty(t, jun1.Adjustments)
	require.Empty(t, jun1.Conflicts)
	v3 := rec("eu-b-out-2", "o-beta/tokens", "output", "310000000", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	jun1 = run(t, cfg, may1.Ledger, v3, v1) // the first version, superseded, is a duplicate
	require.Empty(t, jun1.Conflicts)
	require.Len(t, jun1.Adjustments, 1)
	require.Equal(t, int64(1), jun1.Stats.Superseded)
	jun1 = run(t, cfg, may1.Ledger, v3)
	require.Len(t, jun1.Adjustments, 1)
	require.Equal(t, "10000000", jun1.Adjustments[0].Value.String())

	// Under the default policy the re-send stays a conflict, billed nothing.
	cfg.Resend = usage.ResendConflict
	def := run(t, cfg, ledger, v2)
	require.Len(t, def.Conflicts, 1)
	require.ErrorIs(t, def.Conflicts[0], usage.ErrConflict)
	require.NotErrorIs(t, def.Conflicts[0], usage.ErrUncorrectable)
	require.Empty(t, def.Adjustments)
}

// TestResendCorrectsRefusesAMove: a re-send that would move the usage to
// another period, attribution or line, or changes a Max meter's record, or
// one billed without its quantity, stays a Conflict naming why
// (ErrUncorrectable), billing nothing.
func TestResendCorrectsRefusesAMove(t *testing.T) {
	cfg := tokenConfig()
	cfg.ClosedBefore = utc("2026-03-01T00:00:00Z")
	billed := run(t, cfg, usage.Ledger{},
		rec("t1", "o-beta/tokens", "output", "100", "2026-03-09T12:00:00Z", "integration", "tp-vector"),
		rec("p1", "o-beta/tokens", "peak", "7", "2026-03-09T12:00:00Z"),
	)
	cfg.ClosedBefore = utc("2026-04-01T00:00:00Z")
	for name, tc := range map[string]struct {
		r    usage.Record
		want string
	}{
		"period":      {rec("t1", "o-beta/tokens", "output", "90", "2026-04-02T12:00:00Z", "integration", "tp-vector"), "it moves the record to billing period"},
		"attribution": {rec("t1", "o-beta/tokens", "output", "90", "2026-03-09T12:00:00Z", "integration", "tp-orbit"), "it changes more than the quantity"},
		"instant":     {rec("t1", "o-beta/tokens", "output", "90", "2026-03-10T12:00:00Z", "integration", "tp-vector"), "it changes more than the quantity"},
		"meter":       {rec("t1", "o-beta/tokens", "peak", "90", "2026-03-09T12:00:00Z"), "it moves the record to meter"},
		"max":         {rec("p1", "o-beta/tokens", "peak", "9", "2026-03-09T12:00:00Z"), "is a max meter, not a sum"},
		"rejected":    {rec("t1", "o-beta/tokens", "output", "90", "2026-03-09T12:00:00Z"), "it is rejected (missing_attribute)"},
	} {
		t.Run(name, func(t *testing.T) {
			rep := run(t, cfg, billed.Ledger, tc.r)
			require.Len(t, rep.Conflicts, 1)
			c := rep.Conflicts[0]
			require.ErrorIs(t, c, usage.ErrUncorrectable)
			require.Contains(t, c.Uncorrectable, tc.want)
			require.NotNil(t, c.Billed)
			require.Empty(t, rep.Adjustments)
			require.Empty(t, rep.Aggregates)
		})
	}
	// Billed under the default policy: the ledger holds no quantity.
	cfg.Resend = usage.ResendConflict
	cfg.ClosedBefore = utc("2026-03-01T00:00:00Z")
	old := run(t, cfg, usage.Ledger{}, rec("t1", "o-beta/tokens", "output", "100", "2026-03-09T12:00:00Z", "integration", "tp-vector"))
	_, ok := old.Ledger.BilledQuantity("t1")
	require.False(t, ok)
	cfg.Resend = usage.ResendCorrects
	cfg.ClosedBefore = utc("2026-04-01T00:00:00Z")
	rep := run(t, cfg, old.Ledger, rec("t1", "o-beta/tokens", "output", "90", "2026-03-09T12:00:00Z", "integration", "tp-vector"))
	require.Len(t, rep.Conflicts, 1)
	require.Contains(t, rep.Conflicts[0].Uncorrectable, "holds no quantity")
}

// TestLedgerQuantityEncodings: a ledger holding quantities goes through
// both encodings unchanged; one without writes the bytes it always did
// (flags 0), and an old ledger decodes.
func TestLedgerQuantityEncodings(t *testing.T) {
	cfg := tokenConfig()
	rep := run(t, cfg, usage.Ledger{},
		rec("t1", "o-beta/tokens", "output", "100.50", "2026-03-09T12:00:00Z", "integration", "tp-vector"),
		rec("t2", "o-beta/tokens", "output", "7", "2026-03-10T12:00:00Z", "integration", "tp-orbit"),
	)
	b, err := rep.Ledger.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(2), b[5]) // flags: a quantity table follows
	var back usage.Ledger
	require.NoError(t, back.UnmarshalBinary(b))
	require.True(t, back.Equal(rep.Ledger))
	q, _ := back.BilledQuantity("t1")
	require.Equal(t, "100.5", q.String())
	j, err := rep.Ledger.MarshalJSON()
	require.NoError(t, err)
	require.Contains(t, string(j), `"quantity":"100.5"`)
	var jback usage.Ledger
	require.NoError(t, jback.UnmarshalJSON(j))
	require.True(t, jback.Equal(rep.Ledger))

	cfg.Resend = usage.ResendConflict
	plain := run(t, cfg, usage.Ledger{}, rec("t1", "o-beta/tokens", "output", "100.50", "2026-03-09T12:00:00Z", "integration", "tp-vector"))
	pb, err := plain.Ledger.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(0), pb[5])
	require.False(t, plain.Ledger.Equal(back.Filter(func(e usage.LedgerEntry) bool { return e.ID == "t1" })))

	// A quantity of an id the ledger does not hold, or not canonical, is refused.
	bad := slices.Clone(b)
	i := slices.Index(bad, '5') // "100.5" -> "100.0" is not canonical
	for k := len(bad) - 1; k >= 0; k-- {
		if bad[k] == '5' {
			i = k
			break
		}
	}
	bad[i] = '0'
	var l usage.Ledger
	err = l.UnmarshalBinary(bad)
	require.ErrorIs(t, err, usage.ErrInvalidLedger)
}

func roundTrip(t tb, l usage.Ledger) usage.Ledger {
	t.Helper()
	b, err := l.MarshalBinary()
	require.NoError(t, err)
	var out usage.Ledger
	require.NoError(t, out.UnmarshalBinary(b))
	return out
}

// TestPropertyCorrectionsBillTheLastVersions: records re-sent in versions
// of other quantities over several runs (each run closing the periods
// before it, the ledger persisted in its binary form between runs, copies
// repeated within a run, and any version sent in an earlier run
// redelivered in any later one, in any order), under ResendCorrects,
// bill in total — every run's aggregates and adjustments — what one run
// over the versions sent last bills, per period and per attribution
// value (review3 F9: a redelivered superseded version is a duplicate).
func TestPropertyCorrectionsBillTheLastVersions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := tokenConfig()
		months := []string{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z"}
		ids := rapid.IntRange(1, 6).Draw(t, "ids")
		type base struct {
			at, who string
		}
		bases := make([]base, ids)
		for i := range bases {
			bases[i] = base{
				at:  months[rapid.IntRange(0, 3).Draw(t, "month")][:8] + rapid.SampledFrom([]string{"05", "17", "28"}).Draw(t, "day") + "T10:00:00Z",
				who: rapid.SampledFrom([]string{"tp-orbit", "tp-vector"}).Draw(t, "who"),
			}
		}
		qty := rapid.SampledFrom([]string{"0", "1", "2.5", "2.50", "10", "333333333", "300000000", "0.000001"})
		runs := rapid.IntRange(1, 4).Draw(t, "runs")
		last := map[int]string{}
		sent := map[int][]string{}            // versions of each id, in the order first sent
		total := map[string]decimal.Decimal{} // period start / who -> quantity billed
		ledger := usage.Ledger{}
		for k := range runs {
			cfg.ClosedBefore = utc(months[k])
			var batch []usage.Record
			for i, b := range bases {
				mk := func(q string) usage.Record {
					return rec("r"+string(rune('a'+i)), "o-beta/tokens", "output", q, b.at, "integration", b.who)
				}
				// Redeliveries of versions sent in earlier runs (the one
				// billed or ones a correction superseded), in any spelling.
				for _, q := range sent[i] {
					if rapid.IntRange(0, 2).Draw(t, "redeliver") == 0 {
						batch = append(batch, mk(q))
					}
				}
				if !rapid.Bool().Draw(t, "send") {
					continue
				}
				q := qty.Draw(t, "qty")
				if slices.ContainsFunc(sent[i], func(o string) bool { return dec(o).Equal(dec(q)) }) {
					continue // an old version: a redelivery, drawn above
				}
				for range rapid.IntRange(1, 2).Draw(t, "copies") {
					batch = append(batch, mk(q))
				}
				last[i] = q
				sent[i] = append(sent[i], q)
			}
			rapidShuffle(t, batch)
			rep := run(t, cfg, ledger, batch...)
			if len(rep.Conflicts) > 0 || len(rep.Rejections) > 0 {
				t.Fatalf("run %d: conflicts %v rejections %v", k, rep.Conflicts, rep.Rejections)
			}
			for _, g := range slices.Concat(rep.Aggregates, rep.Adjustments) {
				for _, p := range g.Parts {
					key := g.Period.Start.String() + "/" + p.Value
					total[key] = total[key].Add(p.Quantity)
				}
			}
			ledger = roundTrip(t, rep.Ledger)
		}
		var finals []usage.Record
		for i, q := range last {
			finals = append(finals, rec("r"+string(rune('a'+i)), "o-beta/tokens", "output", q, bases[i].at, "integration", bases[i].who))
		}
		cfg.ClosedBefore = utc(months[0])
		one := run(t, cfg, usage.Ledger{}, finals...)
		want := map[string]decimal.Decimal{}
		for _, g := range slices.Concat(one.Aggregates, one.Adjustments) {
			for _, p := range g.Parts {
				key := g.Period.Start.String() + "/" + p.Value
				want[key] = want[key].Add(p.Quantity)
			}
		}
		for k, v := range total {
			if !v.Equal(want[k]) {
				t.Fatalf("%s: billed %s over %d runs, one run of the last versions bills %s", k, v, runs, want[k])
			}
		}
		for k, v := range want {
			if !v.Equal(total[k]) {
				t.Fatalf("%s: one run bills %s, the runs billed %s", k, v, total[k])
			}
		}
	})
}

func rapidShuffle(t *rapid.T, rs []usage.Record) {
	for i := len(rs) - 1; i > 0; i-- {
		j := rapid.IntRange(0, i).Draw(t, "swap")
		rs[i], rs[j] = rs[j], rs[i]
	}
}

// TestUnattributedRecordsArePartOfNobody is the aiapi trial's finding A6:
// with Meter.AllowUnattributed, gamma's March input tokens, 1,100,000,000
// direct (no integration), 600,000,000 through tp-orbit and 300,000,000
// through tp-vector, aggregate to 2,000,000,000 with the direct ones in
// the part of the empty value; without it the direct record is rejected
// (ErrMissingAttribute), and the option without AttributeTo is a config
// error.
func TestUnattributedRecordsArePartOfNobody(t *testing.T) {
	cfg := tokenConfig()
	cfg.Meters[0].AllowUnattributed = true
	records := []usage.Record{
		rec("g-direct", "o-beta/tokens", "output", "1000000000", "2026-03-05T10:00:00Z"),
		rec("g-direct-2", "o-beta/tokens", "output", "100000000", "2026-03-06T10:00:00Z", "integration", ""),
		rec("g-orbit", "o-beta/tokens", "output", "600000000", "2026-03-07T10:00:00Z", "integration", "tp-orbit"),
		rec("g-vector", "o-beta/tokens", "output", "300000000", "2026-03-08T10:00:00Z", "integration", "tp-vector"),
	}
	rep := run(t, cfg, usage.Ledger{}, records...)
	require.Empty(t, rep.Rejections)
	g := find(t, rep, "o-beta/tokens", "output", "2026-03-01T00:00:00Z")
	require.Equal(t, "2000000000", g.Value.String())
	require.Equal(t, []usage.Part{
		{Value: "", Quantity: dec("1100000000"), Records: 2},
		{Value: "tp-orbit", Quantity: dec("600000000"), Records: 1},
		{Value: "tp-vector", Quantity: dec("300000000"), Records: 1},
	}, g.Parts)

	cfg.Meters[0].AllowUnattributed = false
	rep = run(t, cfg, usage.Ledger{}, records...)
	require.Len(t, rep.Rejections, 2)
	require.ErrorIs(t, rep.Rejections[0], usage.ErrMissingAttribute)

	cfg.Meters[1].AllowUnattributed = true
	require.ErrorIs(t, cfg.Validate(), usage.ErrBadAggregation)
}

// TestResendCorrectsShards: a run sharded by record id, each shard given
// only its ids of the ledger (Filter), merges to the unsharded run's
// correction; shards given the whole ledger are a *LedgerConflictError.
func TestResendCorrectsShards(t *testing.T) {
	cfg := tokenConfig()
	cfg.ClosedBefore = utc("2026-03-01T00:00:00Z")
	a1 := rec("a", "o-beta/tokens", "output", "10", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	b1 := rec("b", "o-beta/tokens", "output", "20", "2026-03-09T12:00:00Z", "integration", "tp-orbit")
	first := run(t, cfg, usage.Ledger{}, a1, b1)
	cfg.ClosedBefore = utc("2026-04-01T00:00:00Z")
	a2 := rec("a", "o-beta/tokens", "output", "4", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	own := func(id usage.RecordID) usage.Ledger {
		return first.Ledger.Filter(func(e usage.LedgerEntry) bool { return e.ID == id })
	}
	merged, err := usage.MergeReports(run(t, cfg, own("a"), a2), run(t, cfg, own("b"), b1))
	require.NoError(t, err)
	whole := run(t, cfg, first.Ledger, a2, b1)
	require.Equal(t, "-6", merged.Adjustments[0].Value.String())
	require.True(t, merged.Ledger.Equal(whole.Ledger))
	_, err = usage.MergeReports(run(t, cfg, first.Ledger, a2), run(t, cfg, first.Ledger, b1))
	var lce *usage.LedgerConflictError
	require.True(t, errors.As(err, &lce), "%v", err)
}

// TestResendPolicyJSON: the policy reads and writes by name in a config.
func TestResendPolicyJSON(t *testing.T) {
	cfg := tokenConfig()
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.Contains(t, string(b), `"resend":"correct"`)
	var back usage.Config
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, usage.ResendCorrects, back.Resend)
	require.Error(t, json.Unmarshal([]byte(`{"resend":"replace"}`), &back))
	cfg.Resend = 7
	require.Error(t, cfg.Validate())
}

// TestResendCorrectsOldVersionRedeliveredIsADuplicate is review3's F9: an
// at-least-once pipeline redelivers eu-b-out-2's first version
// (333,333,333, billed April 1) after the May 1 run billed its correction
// (300,000,000: -33,333,333). The redelivery is a duplicate of a
// superseded version whichever run it lands in: the June 1 run bills
// nothing for it alone, and with a third version bills only the third
// against the second. On main the June 1 run billed +33,333,333 back (the
// correction reverted) when v1 came alone, and a Conflict when it came
// with v3, where the same deliveries inside May's run billed v2.
func TestResendCorrectsOldVersionRedeliveredIsADuplicate(t *testing.T) {
	cfg := tokenConfig()
	cfg.ClosedBefore = utc("2026-03-01T00:00:00Z")
	v1 := rec("eu-b-out-2", "o-beta/tokens", "output", "333333333", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	v2 := rec("eu-b-out-2", "o-beta/tokens", "output", "300000000", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	v3 := rec("eu-b-out-2", "o-beta/tokens", "output", "310000000", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	apr1 := run(t, cfg, usage.Ledger{}, v1)
	cfg.ClosedBefore = utc("2026-04-01T00:00:00Z")
	may1 := run(t, cfg, roundTrip(t, apr1.Ledger), v2)
	require.Len(t, may1.Adjustments, 1)
	require.Equal(t, "-33333333", may1.Adjustments[0].Value.String())

	cfg.ClosedBefore = utc("2026-05-01T00:00:00Z")
	for _, l := range []usage.Ledger{may1.Ledger, roundTrip(t, may1.Ledger), jsonTrip(t, may1.Ledger)} {
		jun1 := run(t, cfg, l, v1)
		require.Empty(t, jun1.Adjustments, "a superseded version re-sent bills nothing")
		require.Empty(t, jun1.Aggregates)
		require.Empty(t, jun1.Conflicts)
		require.Equal(t, int64(1), jun1.Stats.Resent)
		require.Equal(t, int64(1), jun1.Stats.Superseded)
		q, _ := jun1.Ledger.BilledQuantity("eu-b-out-2")
		require.Equal(t, "300000000", q.String())

		for _, order := range [][]usage.Record{{v3, v1}, {v1, v3}, {v1, v3, v2, v1}} {
			jun1 = run(t, cfg, l, order...)
			require.Empty(t, jun1.Conflicts)
			require.Len(t, jun1.Adjustments, 1)
			require.Equal(t, "10000000", jun1.Adjustments[0].Value.String())
			q, _ = jun1.Ledger.BilledQuantity("eu-b-out-2")
			require.Equal(t, "310000000", q.String())
			// Both v1 and v2 are now superseded.
			cfg2 := cfg
			cfg2.ClosedBefore = utc("2026-06-01T00:00:00Z")
			jul1 := run(t, cfg2, roundTrip(t, jun1.Ledger), v2, v1, v3)
			require.Empty(t, jul1.Adjustments)
			require.Empty(t, jul1.Conflicts)
			require.Equal(t, int64(3), jul1.Stats.Resent)
			require.Equal(t, int64(2), jul1.Stats.Superseded)
		}
	}
}

// TestLedgerSupersededEncodings: the superseded versions a correction
// leaves go through both encodings, Filter, Prune and MergeLedgers; a
// superseded digest that is the record's own is refused.
func TestLedgerSupersededEncodings(t *testing.T) {
	cfg := tokenConfig()
	v1 := rec("t1", "o-beta/tokens", "output", "100", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	v2 := rec("t1", "o-beta/tokens", "output", "90", "2026-03-09T12:00:00Z", "integration", "tp-vector")
	first := run(t, cfg, usage.Ledger{}, v1, rec("t2", "o-beta/tokens", "output", "7", "2026-03-10T12:00:00Z", "integration", "tp-orbit"))
	second := run(t, cfg, first.Ledger, v2)
	b, err := second.Ledger.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, byte(6), b[5]) // flags: quantity and superseded tables
	j, err := json.Marshal(second.Ledger)
	require.NoError(t, err)
	require.Contains(t, string(j), `"superseded":["`+v1.ContentDigest().String()+`"]`)
	for name, l := range map[string]usage.Ledger{
		"binary": roundTrip(t, second.Ledger),
		"json":   jsonTrip(t, second.Ledger),
		"filter": second.Ledger.Filter(func(e usage.LedgerEntry) bool { return e.ID == "t1" }),
		"prune":  second.Ledger.Prune(utc("2026-02-01T00:00:00Z")),
	} {
		rep := run(t, cfg, l, v1)
		require.Empty(t, rep.Adjustments, name)
		require.Empty(t, rep.Aggregates, name)
		require.Equal(t, int64(1), rep.Stats.Superseded, name)
	}
	shardA := second.Ledger.Filter(func(e usage.LedgerEntry) bool { return e.ID == "t1" })
	shardB := first.Ledger.Filter(func(e usage.LedgerEntry) bool { return e.ID == "t2" })
	merged, err := usage.MergeLedgers(shardB, shardA)
	require.NoError(t, err)
	require.True(t, merged.Equal(second.Ledger))

	own := strings.Replace(string(j), `"superseded":["`+v1.ContentDigest().String(), `"superseded":["`+v2.ContentDigest().String(), 1)
	var l usage.Ledger
	require.ErrorIs(t, json.Unmarshal([]byte(own), &l), usage.ErrInvalidLedger)
	noQty := strings.Replace(string(j), `"quantity":"90",`, ``, 1)
	require.NotEqual(t, string(j), noQty)
	require.ErrorIs(t, json.Unmarshal([]byte(noQty), &l), usage.ErrInvalidLedger)
	bad := slices.Clone(b)
	copy(bad[len(bad)-8:], binary.BigEndian.AppendUint64(nil, uint64(v2.ContentDigest())))
	require.ErrorIs(t, l.UnmarshalBinary(bad), usage.ErrInvalidLedger)
	require.ErrorIs(t, l.UnmarshalBinary(bad[:len(bad)-3]), usage.ErrInvalidLedger)
}

func jsonTrip(t tb, l usage.Ledger) usage.Ledger {
	t.Helper()
	b, err := json.Marshal(l)
	require.NoError(t, err)
	var out usage.Ledger
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// TestUnknownResendPolicyIsTyped is review3's F7: an unknown
// Config.Resend matches ErrBadResendPolicy (on main it wrapped no
// sentinel).
func TestUnknownResendPolicyIsTyped(t *testing.T) {
	cfg := tokenConfig()
	cfg.Resend = usage.ResendPolicy(7)
	_, err := usage.New(cfg)
	require.ErrorIs(t, err, usage.ErrBadResendPolicy)
	require.ErrorContains(t, err, "resend(7)")
}
