package usage_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
)

func ExampleCollect() {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{
		Meters: []usage.Meter{
			{ID: "gpu_hours", Unit: "hour", Aggregation: usage.Sum},
			{ID: "seats", Unit: "user", Aggregation: usage.CountUnique, UniqueAttribute: "user"},
		},
		Lines: []usage.Line{{
			Ref:     "ord-1/line-1",
			Active:  []ensemble.Period{ensemble.MustPeriod(jan, jan.AddDate(1, 0, 0))},
			Cadence: ensemble.Every(1, ensemble.Monthly),
			Anchor:  jan,
		}},
	}
	at := func(day int) time.Time { return jan.AddDate(0, 0, day) }
	records := []usage.Record{
		{ID: "e1", Line: "ord-1/line-1", Meter: "gpu_hours", Quantity: decimal.RequireFromString("1.5"), At: at(3)},
		{ID: "e2", Line: "ord-1/line-1", Meter: "gpu_hours", Quantity: decimal.RequireFromString("2.25"), At: at(9)},
		{ID: "e2", Line: "ord-1/line-1", Meter: "gpu_hours", Quantity: decimal.RequireFromString("2.250"), At: at(9)}, // a retry
		{ID: "e3", Line: "ord-1/line-1", Meter: "gpu_hours", Quantity: decimal.RequireFromString("4"), At: at(40)},
		{ID: "e4", Line: "ord-1/line-1", Meter: "seats", At: at(5), Attributes: map[string]string{"user": "ann"}},
		{ID: "e5", Line: "ord-1/line-1", Meter: "seats", At: at(6), Attributes: map[string]string{"user": "ann"}},
		{ID: "e6", Line: "ord-1/line-1", Meter: "seats", At: at(7), Attributes: map[string]string{"user": "bob"}},
		{ID: "e7", Line: "ord-1/line-1", Meter: "tpu_hours", Quantity: decimal.NewFromInt(1), At: at(8)},
	}
	rep, err := usage.Collect(cfg, slices.Values(records))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range rep.Aggregates {
		fmt.Printf("%s %s %s: %s %s from %d records\n", g.Line, g.Meter, g.Period.Start.Format("2006-01-02"), g.Value, g.Unit, g.Records)
	}
	for _, r := range rep.Rejections {
		fmt.Println(r.Error())
	}
	fmt.Printf("%+v\n", rep.Stats)
	// Output:
	// ord-1/line-1 gpu_hours 2026-01-01: 3.75 hour from 2 records
	// ord-1/line-1 gpu_hours 2026-02-01: 4 hour from 1 records
	// ord-1/line-1 seats 2026-01-01: 2 user from 3 records
	// usage: record "e7": unknown meter: meter "tpu_hours" is not declared
	// {Read:8 Accepted:6 Duplicates:1 Resent:0 Superseded:0 Rejected:1 Conflicts:0}
}

func ExampleAggregator() {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, err := usage.New(usage.Config{
		Meters: []usage.Meter{{ID: "storage_gb", Unit: "GB", Aggregation: usage.Max}},
		Lines: []usage.Line{{
			Ref: "L1", Active: []ensemble.Period{ensemble.MustPeriod(jan, jan.AddDate(1, 0, 0))},
			Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: jan,
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	a.AddRecord(usage.Record{ID: "s1", Line: "L1", Meter: "storage_gb", Quantity: decimal.NewFromInt(40), At: jan.Add(time.Hour)})
	a.AddRecord(usage.Record{ID: "s2", Line: "L1", Meter: "storage_gb", Quantity: decimal.NewFromInt(55), At: jan.Add(2 * time.Hour)})
	fmt.Println(a.Report().Aggregates[0].Value)
	// The same id with another quantity: a conflict, never silently resolved.
	a.AddRecord(usage.Record{ID: "s2", Line: "L1", Meter: "storage_gb", Quantity: decimal.NewFromInt(56), At: jan.Add(2 * time.Hour)})
	rep := a.Report()
	fmt.Println(rep.Aggregates[0].Value, rep.Aggregates[0].Source)
	fmt.Println(rep.Conflicts[0].Error(), errors.Is(rep.Err(), usage.ErrConflict))
	// Output:
	// 55
	// 40 s1
	// usage: record "s2": conflicting records: 2 different contents for one id true
}

func ExampleAggregate_Merge() {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := usage.Line{
		Ref: "L1", Active: []ensemble.Period{ensemble.MustPeriod(jan, jan.AddDate(1, 0, 0))},
		Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: jan,
	}
	meters := []usage.Meter{{ID: "api_calls", Aggregation: usage.Sum}}
	rec := func(id string, n int64, day int) usage.Record {
		return usage.Record{ID: usage.RecordID(id), Line: "L1", Meter: "api_calls", Quantity: decimal.NewFromInt(n), At: jan.AddDate(0, 0, day)}
	}
	// January was invoiced from these records.
	billed, _ := usage.Collect(usage.Config{Meters: meters, Lines: []usage.Line{line}},
		slices.Values([]usage.Record{rec("c1", 900, 3), rec("c2", 300, 20)}))
	// In February, January is closed; a late January record arrives.
	late, _ := usage.Collect(usage.Config{Meters: meters, Lines: []usage.Line{line}, ClosedBefore: jan.AddDate(0, 1, 0)},
		slices.Values([]usage.Record{rec("c3", 250, 30), rec("c4", 10, 33)}))
	adj := late.Adjustments[0]
	cum, _ := billed.Aggregates[0].Merge(adj)
	fmt.Println(adj.Ref().Kind, adj.Ref().ID, adj.Value)
	fmt.Println("cumulative:", cum.Value, "records:", cum.Records, cum.Digest == usage.DigestOf("c1", "c2", "c3"))
	// Output:
	// usage_adjustment L1|api_calls|2026-01-01T00:00:00Z 250
	// cumulative: 1450 records: 3 true
}

func ExampleDecode() {
	body := strings.NewReader(`{"id":"e1","line":"L1","meter":"api_calls","quantity":"120","at":"2026-01-03T10:00:00Z"}
{"id":"e2","line":"L1","meter":"api_calls","quantity":80,"at":"2026-01-04T10:00:00Z"}
{"id":"e3","line":"L1","meter":"api_calls","quantity":"1e3","at":"2026-01-05T10:00:00Z"}
`)
	for r, err := range usage.Decode(body) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(r.ID, r.Quantity)
	}
	// Output:
	// e1 120
	// e2 80
	// usage: decode record 2: usage: record "e3": quantity: ensemble: parse decimal "1e3": want plain decimal notation such as 12.30
}

func ExampleMergeReports() {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{
		Meters: []usage.Meter{{ID: "storage_gb", Aggregation: usage.Max}},
		Lines: []usage.Line{{
			Ref: "L1", Active: []ensemble.Period{ensemble.MustPeriod(jan, jan.AddDate(1, 0, 0))},
			Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: jan,
		}},
	}
	rec := func(id string, gb int64, day int) usage.Record {
		return usage.Record{ID: usage.RecordID(id), Line: "L1", Meter: "storage_gb", Quantity: decimal.NewFromInt(gb), At: jan.AddDate(0, 0, day)}
	}
	// Two shards, each given the records whose ids it owns.
	a, _ := usage.Collect(cfg, slices.Values([]usage.Record{rec("s1", 40, 2), rec("s3", 75, 9)}))
	b, _ := usage.Collect(cfg, slices.Values([]usage.Record{rec("s2", 60, 5)}))
	rep, err := usage.MergeReports(a, b)
	if err != nil {
		fmt.Println(err)
		return
	}
	g := rep.Aggregates[0]
	fmt.Println(g.Value, g.Source, g.Records, g.Digest == usage.DigestOf("s1", "s2", "s3"))
	// Output:
	// 75 s3 3 true
}

// A record billed in January, delivered again a month later, is billed zero
// more; the same id with another quantity is a conflict, never aggregated.
func ExampleLedger() {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{
		Meters: []usage.Meter{{ID: "gpu_hours", Unit: "hour", Aggregation: usage.Sum}},
		Lines: []usage.Line{{
			Ref: "L1", Active: []ensemble.Period{ensemble.MustPeriod(jan, jan.AddDate(1, 0, 0))},
			Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: jan,
		}},
	}
	rec := func(id, qty string, day int) usage.Record {
		return usage.Record{ID: usage.RecordID(id), Line: "L1", Meter: "gpu_hours", Quantity: decimal.RequireFromString(qty), At: jan.AddDate(0, 0, day)}
	}
	// The run of February 1 bills January.
	feb, _ := usage.Collect(cfg, slices.Values([]usage.Record{rec("g1", "2.5", 4), rec("g2", "4", 19)}))
	fmt.Println("February:", feb.Aggregates[0].Value, "hours, ledger of", feb.Ledger.Len(), "ids")

	// The run of March 1, given February's ledger, receives g2 again, g1
	// changed, and a record of February.
	cfg.ClosedBefore, cfg.Ledger = jan.AddDate(0, 1, 0), feb.Ledger
	mar, _ := usage.Collect(cfg, slices.Values([]usage.Record{rec("g2", "4.00", 19), rec("g1", "3", 4), rec("g3", "1", 40)}))
	fmt.Printf("March: %d aggregate(s), %d adjustment(s), %+v\n", len(mar.Aggregates), len(mar.Adjustments), mar.Stats)
	c := mar.Conflicts[0]
	fmt.Println(c.Error())
	fmt.Println("billed as", c.Billed.Digest == rec("g1", "2.5", 4).ContentDigest(), "in", c.Billed.Period)
	fmt.Println("ledger of", mar.Ledger.Len(), "ids")
	// Output:
	// February: 6.5 hours, ledger of 2 ids
	// March: 1 aggregate(s), 0 adjustment(s), {Read:3 Accepted:1 Duplicates:1 Resent:1 Superseded:0 Rejected:0 Conflicts:1}
	// usage: record "g1": conflicting records: billed in an earlier run with content digest ead11ee81fba1220, re-sent with 1 other content
	// billed as true in [2026-01-01T00:00:00Z, 2026-02-01T00:00:00Z)
	// ledger of 3 ids
}

// Pruning drops the ids of periods that ended by the cutoff and remembers
// it: a record of such a period is refused, never billed as new.
func ExampleLedger_Prune() {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{
		Meters: []usage.Meter{{ID: "calls", Aggregation: usage.Count}},
		Lines: []usage.Line{{
			Ref: "L1", Active: []ensemble.Period{ensemble.MustPeriod(jan, jan.AddDate(1, 0, 0))},
			Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: jan,
		}},
	}
	janRec := usage.Record{ID: "c1", Line: "L1", Meter: "calls", At: jan.AddDate(0, 0, 9)}
	febRec := usage.Record{ID: "c2", Line: "L1", Meter: "calls", At: jan.AddDate(0, 1, 9)}
	first, _ := usage.Collect(cfg, slices.Values([]usage.Record{janRec, febRec}))

	// Usage may arrive up to a month late: on April 1, prune what ended by
	// March 1.
	cfg.Ledger = first.Ledger.Prune(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(cfg.Ledger.Len(), "ids kept, pruned before", cfg.Ledger.PrunedBefore().Format(time.DateOnly))
	cfg.Ledger = first.Ledger.Prune(jan.AddDate(0, 1, 0))
	rep, _ := usage.Collect(cfg, slices.Values([]usage.Record{janRec, febRec}))
	fmt.Println(rep.Rejections[0].Reason, errors.Is(rep.Err(), usage.ErrPrunedPeriod), "resent:", rep.Stats.Resent)
	// Output:
	// 0 ids kept, pruned before 2026-03-01
	// pruned_period true resent: 1
}

// Shards, each given the records whose ids it owns and its share of the
// ledger, merge their ledgers; an id billed as two different records
// cannot merge.
func ExampleMergeLedgers() {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := usage.Config{
		Meters: []usage.Meter{{ID: "calls", Aggregation: usage.Sum}},
		Lines: []usage.Line{{
			Ref: "L1", Active: []ensemble.Period{ensemble.MustPeriod(jan, jan.AddDate(1, 0, 0))},
			Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: jan,
		}},
	}
	rec := func(id string, n int64) usage.Record {
		return usage.Record{ID: usage.RecordID(id), Line: "L1", Meter: "calls", Quantity: decimal.NewFromInt(n), At: jan.AddDate(0, 0, 3)}
	}
	billed, _ := usage.Collect(cfg, slices.Values([]usage.Record{rec("a1", 5), rec("b1", 7)}))
	owns := func(shard byte) func(e usage.LedgerEntry) bool {
		return func(e usage.LedgerEntry) bool { return e.ID[0] == shard }
	}
	cfg.Ledger = billed.Ledger.Filter(owns('a'))
	a, _ := usage.Collect(cfg, slices.Values([]usage.Record{rec("a1", 5), rec("a2", 1)}))
	cfg.Ledger = billed.Ledger.Filter(owns('b'))
	b, _ := usage.Collect(cfg, slices.Values([]usage.Record{rec("b2", 2)}))
	merged, err := usage.MergeLedgers(a.Ledger, b.Ledger)
	fmt.Println(merged.Len(), err)

	wrong, _ := usage.Collect(usage.Config{Meters: cfg.Meters, Lines: cfg.Lines}, slices.Values([]usage.Record{rec("a2", 9)}))
	_, err = usage.MergeLedgers(merged, wrong.Ledger)
	var ce *usage.LedgerConflictError
	fmt.Println(errors.As(err, &ce), ce.Conflicts[0].ID, errors.Is(err, usage.ErrConflict))
	// Output:
	// 4 <nil>
	// true a2 true
}

// The ledger is persisted between runs in its binary form (or as JSON).
func ExampleLedger_MarshalBinary() {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rep, _ := usage.Collect(usage.Config{
		Meters: []usage.Meter{{ID: "calls", Aggregation: usage.Count}},
		Lines: []usage.Line{{
			Ref: "L1", Active: []ensemble.Period{ensemble.MustPeriod(jan, jan.AddDate(1, 0, 0))},
			Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: jan,
		}},
	}, slices.Values([]usage.Record{{ID: "evt-1", Line: "L1", Meter: "calls", At: jan.AddDate(0, 0, 2)}}))
	stored, _ := rep.Ledger.MarshalBinary()
	var back usage.Ledger
	fmt.Println(back.UnmarshalBinary(stored), back.Equal(rep.Ledger))
	js, _ := json.Marshal(back)
	fmt.Println(string(js))
	// Output:
	// <nil> true
	// {"version":1,"lines":[{"line":"L1","meter":"calls","periods":[{"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z","records":[{"id":"evt-1","digest":"0c34c92bcc5ed050"}]}]}]}
}

// Records of the same content have the same digest, however they spell it.
func ExampleRecord_ContentDigest() {
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	a := usage.Record{ID: "r1", Line: "L1", Meter: "gpu_hours", Quantity: decimal.RequireFromString("1.5"), At: at}
	b := usage.Record{ID: "r1", Line: "L1", Meter: "gpu_hours", Quantity: decimal.RequireFromString("1.50"), At: at.In(time.FixedZone("CET", 3600))}
	c := a
	c.Quantity = decimal.RequireFromString("1.6")
	fmt.Println(a.ContentDigest() == b.ContentDigest(), a.ContentDigest() == c.ContentDigest())
	// Output:
	// true false
}

// A weighted_average meter bills a stock: the TB a backup protects, read
// daily, averaged over the month. 100 TB for 10 days then 200 for 21 is
// (100×10 + 200×21)/31 TB-months, rounded once to usage.WeightedScale
// digits; a reading of 100 every day would be exactly 100.
func ExampleWeightedAverage() {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var records []usage.Record
	for d := range 31 {
		tb := int64(100)
		if d >= 10 {
			tb = 200
		}
		records = append(records, usage.Record{ID: usage.RecordID(fmt.Sprintf("read-%02d", d+1)), Line: "backup-1", Meter: "tb_protected",
			Quantity: decimal.NewFromInt(tb), At: jan.AddDate(0, 0, d)})
	}
	rep, err := usage.Collect(usage.Config{
		Meters: []usage.Meter{{ID: "tb_protected", Unit: "TB", Aggregation: usage.WeightedAverage}},
		Lines: []usage.Line{{Ref: "backup-1", Active: []ensemble.Period{ensemble.MustPeriod(jan, jan.AddDate(1, 0, 0))},
			Cadence: ensemble.Every(1, ensemble.Monthly), Anchor: jan}},
	}, slices.Values(records))
	if err != nil {
		panic(err)
	}
	g := rep.Aggregates[0]
	fmt.Println(g.Aggregation, g.Value, g.Unit, "from", g.Records, "readings,", len(g.Levels), "levels")
	// Output:
	// weighted_average 167.741935483871 TB from 31 readings, 31 levels
}
