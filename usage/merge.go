package usage

import (
	"fmt"
	"slices"
	"strings"
)

// MergeReports combines the reports of aggregators that each read a
// disjoint share of one stream, into the report one aggregator would have
// made of the whole stream. Route records to shards by record id (a hash of
// the id, say), so that every copy of an id reaches the same shard and
// deduplication and conflicts stay exact; aggregates of the same line, meter
// and period from several shards are folded with Aggregate.Merge, and
// rejections, conflicts and stats are concatenated, added and sorted as
// Report does. The shards must share one Config.
//
// A Merge error (aggregates of one key but different aggregations, when
// shards ran different configs) is returned with no report.
func MergeReports(reports ...*Report) (*Report, error) {
	out := &Report{Aggregates: []Aggregate{}, Adjustments: []Aggregate{}, Rejections: []Rejection{}, Conflicts: []Conflict{}}
	var err error
	for _, r := range reports {
		if r == nil {
			continue
		}
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
			out.Conflicts = append(out.Conflicts, Conflict{ID: c.ID, Records: recs})
		}
		out.Stats.Read += r.Stats.Read
		out.Stats.Accepted += r.Stats.Accepted
		out.Stats.Duplicates += r.Stats.Duplicates
		out.Stats.Rejected += r.Stats.Rejected
		out.Stats.Conflicts += r.Stats.Conflicts
	}
	if out.Aggregates, err = foldAggregates(out.Aggregates); err != nil {
		return nil, err
	}
	if out.Adjustments, err = foldAggregates(out.Adjustments); err != nil {
		return nil, err
	}
	slices.SortFunc(out.Rejections, compareRejections)
	slices.SortFunc(out.Conflicts, func(x, y Conflict) int { return strings.Compare(string(x.ID), string(y.ID)) })
	return out, nil
}

// foldAggregates sorts aggregates by line, meter and period start and
// merges those of the same key.
func foldAggregates(gs []Aggregate) ([]Aggregate, error) {
	slices.SortStableFunc(gs, compareAggregates)
	out := gs[:0]
	for _, g := range gs {
		g.Uniques, g.RecordIDs = slices.Clone(g.Uniques), slices.Clone(g.RecordIDs)
		if n := len(out); n > 0 && compareAggregates(out[n-1], g) == 0 {
			m, err := out[n-1].Merge(g)
			if err != nil {
				return nil, fmt.Errorf("usage: merge reports: %w", err)
			}
			out[n-1] = m
			continue
		}
		out = append(out, g)
	}
	return out, nil
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
