package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// Errors of sharding. Each failure names the line or plan concerned.
var (
	// ErrWrongShard: a shard was given a line whose volume partner is not
	// the shard's key, so the line would read (and grow) a volume the
	// shard does not own: settling it would pay differently from settling
	// in one process, silently. The shard refuses instead.
	ErrWrongShard = errors.New("beam: line keyed to a shard that does not own its volume")
	// ErrNoShardKey: a line names no seller, so no shard owns its volume
	// (and, for a credit, its credited line's ledger).
	ErrNoShardKey = errors.New("beam: line without a seller to key it by")
	// ErrUnshardablePlan: a plan's cumulative rate reads the volume of
	// another role than the seller, which a shard keyed by seller does not
	// own.
	ErrUnshardablePlan = errors.New("beam: plan reads a volume the seller key does not own")
)

// ShardError is a line given to a shard that does not own it.
type ShardError struct {
	Line  settlement.LineID
	Shard string // the key the line was grouped under
	Owner string // the key that owns the line's volume and ledger
}

// Error names the line, the shard and the owner.
func (e *ShardError) Error() string {
	return fmt.Sprintf("beam: line %q is in shard %q but its volume and ledger belong to shard %q", e.Line, e.Shard, e.Owner)
}

// Unwrap returns ErrWrongShard.
func (e *ShardError) Unwrap() error { return ErrWrongShard }

// ShardKey is the key a line is settled under: its seller, the partner
// whose calendar-year volume the plan's take rate reads. A credit-note
// line carries the route of the sale it credits (settlement.FromInvoice
// copies the order's), so it is keyed to the shard whose State holds the
// credited line's ledger; a credit that named another seller would not
// find the line it credits there, and settling refuses it.
func ShardKey(l settlement.Line) (string, error) {
	seller := l.Route.Seller
	if seller == "" && len(l.Route.Chain) > 0 {
		seller = l.Route.Chain[0]
	}
	if seller == "" {
		return "", fmt.Errorf("%w: line %q", ErrNoShardKey, l.ID)
	}
	return string(seller), nil
}

// CheckShardable refuses plans whose cumulative rates read the volume of
// another role than the seller: sharding by seller would then split that
// partner's volume across shards, and each would read a part of it.
func CheckShardable(plans []settlement.PlanDocument) error {
	var walk func(plan settlement.PlanDocument, n settlement.Node, path string) error
	walk = func(plan settlement.PlanDocument, n settlement.Node, path string) error {
		path += "/" + string(n.ID)
		if c := n.Share.Cumulative; c != nil && c.Of != "" && c.Of != "seller" {
			return fmt.Errorf("%w: plan %q v%d node %s reads the volume of %q", ErrUnshardablePlan, plan.ID, plan.Version, path, c.Of)
		}
		for _, ch := range n.Children {
			if err := walk(plan, ch, path); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range plans {
		if err := walk(p, p.Root, ""); err != nil {
			return err
		}
	}
	return nil
}

// Shard is what settling one key's lines returns, beside the results
// SettleShard hands over batch by batch.
type Shard struct {
	Key string
	// State is the shard's State after its last batch.
	State settlement.State
	// Batches is how many settlement calls the shard took: more than one
	// for a hot key.
	Batches int
}

// SettleShard settles the lines of one key, starting from the shard's
// previous State, in calls of at most batch lines (all of them when batch
// is 0), each call starting from the State the one before returned: a hot
// key's lines are settled in ordered batches. The batches follow the order
// settlement.Settler.Settle applies one call's lines in: every sale by
// (date, id), then every credit by (date, id). Cut anywhere in that order,
// they give the entries and State of one call; cut in plain (date, id)
// order they would not, since with volume: net_of_credits a credit
// settled in an earlier call lowers the volume later sales read, while in
// one call no sale reads it.
//
// Each batch's result (its entries, its rejections and the State after it)
// is handed to each as the batch settles, so a caller can write the
// entries and let them go: a shard holds its lines, its State and one
// batch's entries, never all its entries at once. The lines are ordered by
// their positions; lines itself is neither copied nor changed. An error
// from each stops the shard and is returned.
//
// Every line must belong to the key (ShardKey), else a *ShardError and
// nothing settles. The shard's State holds the key's volumes only
// (State.Seed), so the library too refuses a sale of another seller
// (settlement.ErrVolumeNotHeld). Lines are settled with SettleWhatYouCan:
// a line that fails (given twice, an over-credit, a credit of an unknown
// line...) is in its batch's Rejections, leaving nothing behind, and the
// rest settles as it would without it.
func SettleShard(ctx context.Context, s *settlement.Settler, key string, prev settlement.State, lines []settlement.Line, batch int,
	each func(settlement.Result) error) (Shard, error) {
	for _, l := range lines {
		owner, err := ShardKey(l)
		if err != nil {
			return Shard{}, err
		}
		if owner != key {
			return Shard{}, &ShardError{Line: l.ID, Shard: key, Owner: owner}
		}
	}
	st := prev.Seed(partner.ID(key))
	if prev.Len() > 0 {
		var err error
		st, err = settlement.MergeStates(st, prev.SplitByLine(func(settlement.LineID) bool { return true }))
		if err != nil {
			return Shard{}, fmt.Errorf("shard %q: %w", key, err)
		}
	}
	order := make([]int32, len(lines))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &lines[i], &lines[j]
		return cmp.Or(cmpBool(a.Credits != "", b.Credits != ""), a.Date.Compare(b.Date), strings.Compare(string(a.ID), string(b.ID)))
	})
	if batch <= 0 {
		batch = max(len(lines), 1)
	}
	out := Shard{Key: key, State: st}
	part := make([]settlement.Line, 0, min(batch, len(lines)))
	for positions := range slices.Chunk(order, batch) {
		part = part[:0]
		for _, i := range positions {
			part = append(part, lines[i])
		}
		res, err := s.SettleWhatYouCan(ctx, out.State, part)
		if err != nil {
			return Shard{}, fmt.Errorf("shard %q batch %d: %w", key, out.Batches+1, err)
		}
		out.State = res.State
		out.Batches++
		if err := each(res); err != nil {
			return Shard{}, err
		}
	}
	return out, nil
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
