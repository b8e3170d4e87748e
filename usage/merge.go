package usage

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

// MergeReports combines the reports of aggregators that each read a
// disjoint share of one stream, into the report one aggregator would have
// made of the whole stream. Route records to shards by record id (a hash of
// the id, say), so that every copy of an id reaches the same shard and
// deduplication and conflicts stay exact; aggregates of the same line, meter
// and period from several shards are folded as Aggregate.Merge would fold
// them one after the other, and rejections, conflicts and stats are
// concatenated, added and sorted as Report does. The shards must share one
// Config. The unique values and record ids of one key are gathered and
// sorted once, so merging costs O(n log n) in what the reports hold,
// however many shards share a key.
//
// The reports' ledgers are merged with MergeLedgers: shards given the same
// Config.Ledger hold it alike, and what each billed is added.
//
// Reports of successive runs that carried the ledger from one to the next
// merge as well: their records are disjoint, since no run aggregates a
// record an earlier one did, so merging them gives the aggregates one run
// over all their records would have made (a period's aggregate, billed
// and late, adds up across runs).
//
// A WeightedAverage aggregate's level before its first reading is carried
// again from the merged aggregate of the line and meter before it, since
// the shard that aggregated a period may not have held the reading before
// it; its inactive stretches are those of the aggregate seen through the
// later instant (Aggregate.Through), so that a run inside the period and
// the run after it merge, in either order, to one run's aggregate.
//
// A report that merged an aggregate of Config.Open already holds the
// earlier run's records of that period: merging it with another report
// holding an aggregate of that period (the earlier run's, or a shard's
// that was given Open too or read records of it) would count them twice
// or could not tell, so MergeReports refuses it with an error matching
// ErrOpenAggregate. Shards run without Config.Open; the host then merges
// the kept aggregates (Aggregate.Merge) into the merged report.
//
// A Merge error (aggregates of one key but different aggregations, when
// shards ran different configs), or a *LedgerConflictError (ledgers that
// billed one id as different records, when records were not routed by id),
// is returned with no report.
func MergeReports(reports ...*Report) (*Report, error) {
	out := &Report{Aggregates: []Aggregate{}, Adjustments: []Aggregate{}, Rejections: []Rejection{}, Conflicts: []Conflict{}}
	var err error
	ledgers := make([]Ledger, 0, len(reports))
	opened := map[openKey]int{}
	for i, r := range reports {
		if r == nil {
			continue
		}
		for _, g := range r.Open {
			opened[openKey{g.Line, g.Meter, g.Period.Start.UnixNano(), g.Period.End.UnixNano()}] = i
		}
	}
	for i, r := range reports {
		if r == nil {
			continue
		}
		for _, g := range r.Aggregates {
			k := openKey{g.Line, g.Meter, g.Period.Start.UnixNano(), g.Period.End.UnixNano()}
			if j, ok := opened[k]; ok && j != i {
				return nil, fmt.Errorf("%w: %s: report %d merged the aggregate of Config.Open and report %d holds one of the same period, which would count the open aggregate twice: merge shards run without Config.Open (then merge the kept aggregates, Aggregate.Merge), and never a run's report with the one of the run that left the period open", ErrOpenAggregate, g.Ref(), j, i)
			}
		}
		out.Open = append(out.Open, r.Open...)
		out.Aggregates = append(out.Aggregates, r.Aggregates...)
		out.Adjustments = append(out.Adjustments, r.Adjustments...)
		for _, x := range r.Rejections {
			x.Record = cloneRecord(x.Record)
			out.Rejections = append(out.Rejections, x)
		}
		for _, c := range r.Conflicts {
			recs := make([]Record, len(c.Records))
			for i, x := range c.Records {
				recs[i] = cloneRecord(x)
			}
			out.Conflicts = append(out.Conflicts, Conflict{ID: c.ID, Records: recs, Billed: cloneEntry(c.Billed)})
		}
		ledgers = append(ledgers, r.Ledger)
		out.Stats.Read += r.Stats.Read
		out.Stats.Accepted += r.Stats.Accepted
		out.Stats.Duplicates += r.Stats.Duplicates
		out.Stats.Resent += r.Stats.Resent
		out.Stats.Rejected += r.Stats.Rejected
		out.Stats.Conflicts += r.Stats.Conflicts
	}
	if out.Aggregates, err = foldAggregates(out.Aggregates); err != nil {
		return nil, err
	}
	if out.Adjustments, err = foldAggregates(out.Adjustments); err != nil {
		return nil, err
	}
	if err = recarry(out.Aggregates, out.Adjustments); err != nil {
		return nil, err
	}
	slices.SortFunc(out.Rejections, compareRejections)
	slices.SortFunc(out.Conflicts, func(x, y Conflict) int { return strings.Compare(string(x.ID), string(y.ID)) })
	if out.Ledger, err = MergeLedgers(ledgers...); err != nil {
		return nil, fmt.Errorf("usage: merge reports: %w", err)
	}
	return out, nil
}

// foldAggregates sorts aggregates by line, meter and period start
// (stably, so that those of one key stay in report order) and folds those
// of the same key into one, as Aggregate.Merge would one after the other.
func foldAggregates(gs []Aggregate) ([]Aggregate, error) {
	slices.SortStableFunc(gs, compareAggregates)
	out := gs[:0] // each key's fold is written at or before its first aggregate
	for i := 0; i < len(gs); {
		j := i + 1
		for j < len(gs) && compareAggregates(gs[i], gs[j]) == 0 {
			j++
		}
		g, err := foldKey(gs[i:j])
		if err != nil {
			return nil, fmt.Errorf("usage: merge reports: %w", err)
		}
		out = append(out, g)
		i = j
	}
	return out, nil
}

// foldKey folds aggregates of one key in one pass, with the result (and
// the error) of merging them one after the other with Aggregate.Merge:
// counts, digests and values fold in order, while the unique values and
// record ids of every aggregate are gathered and sorted once. Merging them
// pairwise would sort a list that grows with every shard: k shards of n
// values each cost O(k² n).
func foldKey(group []Aggregate) (Aggregate, error) {
	first := group[0]
	g := first
	nu, nids, ids := len(first.Uniques), len(first.RecordIDs), first.RecordIDs != nil
	for _, o := range group[1:] {
		var err error
		if g, err = g.mergeCounts(o); err != nil {
			return Aggregate{}, err
		}
		nu += len(o.Uniques)
		nids += len(o.RecordIDs)
		ids = ids && o.RecordIDs != nil
	}
	if len(group) == 1 {
		g.Uniques, g.RecordIDs, g.Parts = slices.Clone(first.Uniques), slices.Clone(first.RecordIDs), slices.Clone(first.Parts)
		g.Levels, g.Inactive = slices.Clone(first.Levels), slices.Clone(first.Inactive)
		return g, nil
	}
	// Merge keeps the first aggregate's values for other aggregations, and
	// leaves them nil only when the first has nil and none adds any.
	g.Uniques = slices.Clone(first.Uniques)
	if g.Aggregation == CountUnique && nu > 0 {
		u := make([]string, 0, nu)
		for _, o := range group {
			u = append(u, o.Uniques...)
		}
		slices.Sort(u)
		g.Uniques = slices.Compact(u)
	}
	if g.Aggregation == CountUnique {
		g.Value = decimal.NewFromInt(int64(len(g.Uniques)))
	}
	// Merge lists record ids only when both sides do, and never dedups
	// them.
	g.RecordIDs = nil
	if ids {
		g.RecordIDs = make([]RecordID, 0, nids)
		for _, o := range group {
			g.RecordIDs = append(g.RecordIDs, o.RecordIDs...)
		}
		slices.Sort(g.RecordIDs)
	}
	return g, nil
}

func compareAggregates(x, y Aggregate) int {
	if c := strings.Compare(string(x.Line), string(y.Line)); c != 0 {
		return c
	}
	if c := strings.Compare(string(x.Meter), string(y.Meter)); c != 0 {
		return c
	}
	return x.Period.Start.Compare(y.Period.Start)
}

func compareRejections(x, y Rejection) int {
	if c := strings.Compare(string(x.Record.ID), string(y.Record.ID)); c != 0 {
		return c
	}
	if x.Reason != y.Reason {
		return int(x.Reason) - int(y.Reason)
	}
	return compareContent(x.Record, y.Record)
}
