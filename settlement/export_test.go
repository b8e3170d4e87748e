package settlement

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ensemble-commerce/ensemble/partner"
)

// BinaryVersion is the version of the binary form MarshalBinary writes
// states in.
const BinaryVersion = binaryVersion

// PrintFacts returns the fingerprint of sale l's facts, as
// LedgerLine.Facts holds it.
func PrintFacts(l *Line) string { return printFacts(l, false, true).String() }

// PrintFundedFacts is PrintFacts under a plan funding discounts.
func PrintFundedFacts(l *Line) string { return printFacts(l, true, true).String() }

// Fresh returns a copy of s that decides every level per line, sharing
// nothing between lines: tests compare it with s.
func Fresh(s *Settler) *Settler {
	c := *s
	c.fresh = true
	c.pool = &sync.Pool{} // runs know their settler
	return &c
}

// NewReference builds a settler that shares no cache, memo or
// precomputed snapshot with any other, nor between the rules and levels of
// one call: every level is decided and every rule evaluated afresh, and
// partners are read from cfg.Network with Network.At at every use. Tests
// settle each line with a new one and compare with the real settler.
func NewReference(cfg Config) (*Settler, error) { return build(cfg, true, true) }

// MemoLevelOf says how a rule version reading paths (as rules.Rule.Reads
// reports them) is reused: "line" (evaluated per line), "partner" (per
// partner snapshot, or once when it reads no partner) or "context" (by the
// context facts it reads), and whether the partner's snapshot keys it.
func MemoLevelOf(paths []string) (string, bool) {
	rd := readsOf(paths)
	return [...]string{memoNone: "line", memoContext: "context", memoPartner: "partner"}[rd.level()], rd.partner
}

// ContextKeyOf returns the key the results of a rule reading paths are
// memoized by, and a level whose rules read paths is decided by, for the
// given context facts: a comparable value.
func ContextKeyOf(paths []string, of OfferFacts, rf RouteFacts, cf CustomerFacts) any {
	var k ctxKey
	readsOf(paths).ctx.keyInto(&k, maphash.MakeSeed(), &of, &rf, &cf)
	return k
}

// SnapshotAt returns the settler's snapshot of partner id at t, from its
// precomputed timelines, and notYet when id is no partner yet at t.
func SnapshotAt(s *Settler, id partner.ID, t time.Time) (sn *partner.Snapshot, notYet bool, err error) {
	d := s.newDecider()
	d.start(context.Background(), &State{}, 0)
	sn, err = d.snapshot(id, t)
	if errors.Is(err, errNotTrading) {
		return nil, true, nil
	}
	return sn, false, err
}

// ChainsAt returns the settler's snapshots of a route's chain at each of
// dates (nil for a partner not yet), from the route one call keeps for the
// chain's seller, span by span.
func ChainsAt(s *Settler, chain []partner.ID, dates []time.Time) ([][]*partner.Snapshot, error) {
	d := s.newDecider()
	d.start(context.Background(), &State{}, 0)
	out := make([][]*partner.Snapshot, len(dates))
	for i, t := range dates {
		if err := d.chainSnapshots(&Line{Date: t, Route: partner.Route{Kind: partner.RoutePartner, Chain: chain}}); err != nil {
			return nil, err
		}
		out[i] = d.chainSn
	}
	return out, nil
}

// CollectionIndexDiff compares the collection indexes of st with a pass
// over its lines, which is what a collection read before them: the lines
// of each invoice on collection, and the first line in id order each
// collection or write-off applied to. It returns "" when they agree.
func CollectionIndexDiff(st State) string {
	scanned, applied := map[string][]LineID{}, map[string]LineID{}
	for id, lg := range st.lines.all() {
		if lg.coll == nil {
			continue
		}
		if inv := lg.coll.invoice; inv != "" {
			scanned[inv] = append(scanned[inv], id)
		}
		for _, c := range lg.coll.ids {
			if was, ok := applied[c]; !ok || id < was {
				applied[c] = id
			}
		}
	}
	indexed := map[string][]LineID{}
	for inv, l := range st.invoices.all() {
		for ; l != nil; l = l.prev {
			indexed[inv] = append(indexed[inv], l.line)
		}
	}
	for _, m := range []map[string][]LineID{scanned, indexed} {
		for _, ids := range m {
			slices.Sort(ids)
		}
	}
	var diff []string
	if !maps.EqualFunc(scanned, indexed, slices.Equal) {
		diff = append(diff, fmt.Sprintf("invoices: indexed %v, the lines hold %v", indexed, scanned))
	}
	if got := maps.Collect(st.applied.all()); !maps.Equal(got, applied) {
		diff = append(diff, fmt.Sprintf("applied: indexed %v, the lines hold %v", got, applied))
	}
	return strings.Join(diff, "; ")
}

// PrintFactsWithoutKind is the print of sale l as states kept it before a
// sale's kind was printed.
func PrintFactsWithoutKind(l *Line) string { return printFacts(l, false, false).String() }
