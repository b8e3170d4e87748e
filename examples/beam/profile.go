package main

import (
	"context"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// profilePeakHeap writes a heap profile to path each time the live heap
// (as of the last garbage collection, as the profile's in-use figures are)
// passes its previous peak by a tenth, until ctx ends, so that path holds
// the profile nearest the run's peak: what held the memory (go tool pprof
// -sample_index=inuse_space). Prism runs in this process, so the profile
// shows the runner's buffers beside the workers'.
func profilePeakHeap(ctx context.Context, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	write := func() {
		if err := f.Truncate(0); err != nil {
			return
		}
		if _, err := f.Seek(0, 0); err != nil {
			return
		}
		_ = pprof.WriteHeapProfile(f)
	}
	go func() {
		defer f.Close()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > peak+peak/10 {
				peak = live
				write()
			}
		}
	}()
	return nil
}
