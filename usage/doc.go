// Package usage turns a stream of metered usage records into exact
// aggregates per order line, meter and billing period, for the invoice
// package to rate.
//
// A host declares its meters (sum, max, count, count of unique values of an
// attribute, latest value, time-weighted average level) and, for every order line, when it was active and
// how its billing periods fall (an ensemble.Cadence from an anchor in a time
// zone, or an explicit list of periods). The order package owns lines; usage
// knows them only by a plain LineRef, so it does not import order. The first
// call a newcomer needs:
//
//	rep, err := usage.Collect(usage.Config{
//		Meters: []usage.Meter{{ID: "gpu_hours", Unit: "hour", Aggregation: usage.Sum}},
//		Lines: []usage.Line{{
//			Ref:     "ord-1/line-1",
//			Active:  []ensemble.Period{activeSince},
//			Cadence: ensemble.Every(1, ensemble.Monthly),
//			Anchor:  anchor,
//		}},
//	}, slices.Values(records))
//	// err is only ever a problem of the Config; bad records are in
//	// rep.Rejections and rep.Conflicts while the rest aggregates into
//	// rep.Aggregates (open periods) and rep.Adjustments (closed periods).
//
// # Deduplication and conflicts
//
// A record's ID is its idempotency key. The same id with the same content
// (see Record) is a duplicate: dropped and counted; when the copies spell
// the quantity differently (1 and 1.0), the one with more digits after the
// point is kept, whichever came first. The same id with
// different content is a Conflict, listed with every content seen; none of
// them is aggregated, whichever arrived first, so the result never depends
// on the order of the stream.
//
// # Rejections
//
// A record for an unknown line or meter, a negative quantity on a meter that
// forbids it, an instant outside the line's active segments or billing
// periods, a count_unique record without its attribute, or a record that
// cannot be read (no id, an instant beyond int64 nanoseconds, more than 40
// digits) is rejected: listed in Report.Rejections as a Rejection, a typed
// error naming the record and the offending value, and matching
// ErrUnknownLine, ErrUnknownMeter, ... with errors.Is. The rest of the batch
// aggregates. Decode reads records from JSON as a stream.
//
// # Late records
//
// Periods that end at or before Config.ClosedBefore (or Line.ClosedBefore)
// are closed: they were invoiced already. So is a period in which the
// line's activity first stops (a gap between its active segments, or their
// end) at or before it: the invoice bills the period at that stop, and
// records after a restart later in the period are late. Records for them aggregate into
// Report.Adjustments, marked Late, so the next invoice can merge each with
// what it billed (Aggregate.Merge) and bill rate(cumulative) - billed, with
// a trace (Aggregate.Ref) to the period and its records.
//
// # Stocks: time-weighted averages
//
// A WeightedAverage meter bills a level held over time (TB protected,
// seats, nodes) as its average over the period, ∫ level dt / period
// length: each record is an absolute reading, holding until the next;
// the arithmetic is exact (integer nanoseconds, decimals) and rounded
// once to WeightedScale digits. Before a period's first reading the level
// is the latest reading before the period, of this run or of the
// aggregates earlier runs billed (Config.Billed); with none, zero. A
// period with no reading holds the carried level throughout: it is
// reported as an aggregate of no records (up to Config.Through), and a
// late reading that changes the level carried into closed periods adjusts
// them too (adjustments of no records). The aggregate lists its steps
// (Aggregate.Levels), so that Merge re-averages a period exactly with its
// late readings. An aggregate records the instant its run saw the line
// through (Aggregate.Through): a run inside a period sees the line stop at
// the run, and merging it with a later run's aggregate of the period takes
// the later run's view, so that runs split anywhere merge to one run's
// month. Give the later run the open aggregates in Config.Open: it
// reports their periods even with no reading of them, already merged with
// the kept aggregates, so that Report.Aggregates is what to bill (an open
// aggregate it cannot merge is an error matching ErrOpenAggregate). This
// holds for every aggregation: a run inside a period leaves it open, and
// the next run given Config.Open returns the period over both runs. A piece of a cycle cut by a price change (Line.Cycles)
// averages its level over the cycle (Aggregate.Cycle), so the pieces add
// up to the cycle's average. A meter with LevelHours bills ∫ level dt in
// hours instead (GPU-hours of reserved GPUs), from the same readings.
//
// # Across runs: billed once, ever
//
// A host collects each run's records (those delivered since the last run)
// with Config.Ledger, the Report.Ledger of the run before: the record ids
// billed so far, each with its content digest (Record.ContentDigest), line,
// meter and billing period. A record the ledger holds is billed zero more:
// re-sent with the same content it is a duplicate (Stats.Resent), with
// another content a Conflict naming what was billed (Conflict.Billed).
// Feeding the same records to any number of runs, each given the ledger of
// the one before, with any duplicates in any run, bills what one run over
// the distinct records bills. The ledger is persisted between runs
// (Ledger.MarshalBinary), pruned of periods past the late-usage window
// (Ledger.Prune: their records are then refused with ErrPrunedPeriod), and
// merged across shards (MergeLedgers).
//
// A record re-sent with another content is a Conflict by default
// (ResendConflict): it may be a sender's bug. Under ResendCorrects
// (Config.Resend) the ledger keeps each record's quantity, and a re-send
// that changes only a Sum record's quantity is its correction: the run
// bills the difference, new − billed, into the record's period (late when
// the period is closed), once, and the ledger holds the new version and
// the digest of the one it superseded: a superseded version re-sent in any
// later run (a redelivery) is a duplicate (Stats.Superseded), never a
// correction back. The version billed last wins.
//
//	rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines,
//		ClosedBefore: lastInvoiced, Ledger: billed}, records)
//	stored, err := rep.Ledger.Prune(runAt.AddDate(0, -2, 0)).MarshalBinary()
//
// # Determinism and memory
//
// The Report is the same, byte for byte once encoded, whatever the order
// of the records, their batching over several Add calls and their
// duplicates. Aggregates are exact decimals: quantities whose digits fit an
// int64 are summed and compared without allocating, larger ones in
// arbitrary precision. Memory grows with the distinct keys and periods and
// with the dedup set (one compact entry per distinct record id), not with
// duplicates.
package usage
