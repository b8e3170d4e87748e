package settlement_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPooledRunsLeaveResultsAlone settles from several goroutines on one
// settler, one line per call and in small batches, with credits of earlier
// results: calls reuse the settler's idle runs and the chunks of memory
// their outputs share. Each result is written out as JSON when it is
// returned and again once every call is done; both must agree with a
// settler that shares nothing, so no later call wrote into what an earlier
// one returned (run with -race: readers and writers share chunks).
func TestPooledRunsLeaveResultsAlone(t *testing.T) {
	net := benchNetwork(t)
	s := planSettler(t, benchPlanRealistic, net, benchRules, benchRealisticRules)
	lines := benchLines(600)
	const workers = 4
	type result struct {
		res     settlement.Result
		written []byte // the result as JSON when it was returned
	}
	results := make([][]result, workers)
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			size := 1 + w*3 // 1, 4, 7 and 10 lines a call
			for i := w; i < len(lines); i += workers * size {
				batch := lines[i:min(i+size, len(lines))]
				res, err := s.Settle(ctx, settlement.State{}, batch)
				if err != nil {
					errs <- err
					return
				}
				// A credit of the batch's first line, from the state just
				// returned: a call that reverses through a pooled run.
				l := batch[0]
				credit := settlement.Line{ID: "C" + l.ID, Date: l.Date.Add(1), Amount: l.Amount.Neg(), Credits: l.ID}
				cres, err := s.Settle(ctx, res.State, []settlement.Line{credit})
				if err != nil {
					errs <- err
					return
				}
				for _, r := range []settlement.Result{res, cres} {
					data, err := json.Marshal(r)
					if err != nil {
						errs <- err
						return
					}
					results[w] = append(results[w], result{res: r, written: data})
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		require.NoError(t, <-errs)
	}
	ref := settlement.Fresh(s)
	for w, rs := range results {
		for i, r := range rs {
			now, err := json.Marshal(r.res)
			require.NoError(t, err)
			require.Equal(t, string(r.written), string(now), "worker %d result %d changed after it was returned", w, i)
		}
		// The same calls on a settler that shares nothing.
		size := 1 + w*3
		k := 0
		for i := w; i < len(lines); i += workers * size {
			batch := lines[i:min(i+size, len(lines))]
			want, err := ref.Settle(ctx, settlement.State{}, batch)
			require.NoError(t, err)
			require.Empty(t, cmp.Diff(want.Entries, rs[k].res.Entries, cmpOpts...), fmt.Sprintf("worker %d batch at %d", w, i))
			k += 2
		}
	}
}
