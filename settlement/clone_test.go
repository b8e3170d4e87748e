package settlement_test

import (
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestEntryCloneSharesNothing settles lines whose entries share Rules,
// Trace and id chunks, clones each entry, and checks the clone equals it,
// holds its own slices and ids, and that writing into a clone changes no
// entry.
func TestEntryCloneSharesNothing(t *testing.T) {
	net := benchNetwork(t)
	s := planSettler(t, benchPlanRealistic, net, benchRules, benchRealisticRules)
	res, err := s.Settle(ctx, settlement.State{}, benchLines(30))
	require.NoError(t, err)
	before := make([]settlement.Entry, len(res.Entries))
	for i, e := range res.Entries {
		before[i] = e.Clone()
	}
	shared := 0
	for i := range res.Entries {
		e, c := res.Entries[i], before[i]
		require.Empty(t, cmp.Diff(e, c, cmpOpts...))
		if i > 0 && len(e.Trace) > 0 && &e.Trace[0] == &res.Entries[i-1].Trace[0] {
			shared++ // the entries share their line's trace
		}
		if len(e.Trace) > 0 {
			require.NotSame(t, &e.Trace[0], &c.Trace[0])
		}
		if len(e.Rules) > 0 {
			require.NotSame(t, &e.Rules[0], &c.Rules[0])
		}
		require.NotSame(t, unsafe.StringData(string(e.ID)), unsafe.StringData(string(c.ID)), "entry %s", e.ID)
		if e.Reverses != "" {
			require.NotSame(t, unsafe.StringData(string(e.Reverses)), unsafe.StringData(string(c.Reverses)))
		}
	}
	require.Positive(t, shared, "the entries checked share memory")
	paid := settlement.Entry{ID: "payout:p1", Conversion: &settlement.Conversion{From: eur("10.00")}}
	require.NotSame(t, paid.Conversion, paid.Clone().Conversion)
	for i := range before {
		for j := range before[i].Trace {
			before[i].Trace[j] = ensemble.Ref{Kind: "scribbled"}
		}
		for j := range before[i].Rules {
			before[i].Rules[j] = ensemble.Ref{Kind: "scribbled"}
		}
	}
	for _, e := range res.Entries {
		for _, r := range append(append([]ensemble.Ref{}, e.Trace...), e.Rules...) {
			require.NotEqual(t, ensemble.RefKind("scribbled"), r.Kind, "entry %s", e.ID)
		}
	}
}
