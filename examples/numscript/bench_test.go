package numscript_test

import (
	"fmt"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	formance "github.com/formancehq/numscript"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// BenchmarkOneLine settles one line per call, as a host settling each
// invoice line as it is issued does, the same 10,000 lines (amounts of 1.00
// to 100.99 EUR) in turn on each side, after one untimed pass over them:
//
//   - ensemble_settle: Settler.Settle from a fresh State each call (as
//     settlement's BenchmarkSettleOneLine/static does), entries returned in
//     an array of their own;
//   - ensemble_append_settle: Settler.AppendSettle into one buffer the host
//     reuses, from a fresh State each call;
//   - numscript: the parsed script run by Numscript's interpreter with the
//     line's amount as its variable, against an in-memory store;
//   - numscript_vm: the compiled script on Numscript's VM, reused from call
//     to call, the variable encoded each call.
//
// Each reports the CPU time of the process per call (cpu-ns/op, GC
// included: steadier than wall time on a shared machine) and the
// runtime's estimate of the collector's part of it (gc-ns/op); the
// Numscript ones also report their CPU time per call over each Ensemble
// one's measured in the same run (x_ensemble_settle, x_ensemble_append;
// with -count n, the last of the n runs of each Ensemble benchmark).
func BenchmarkOneLine(b *testing.B) {
	s := newSettlers(b)
	const n = 10_000
	lines := make([]settlement.Line, n)
	vars := make([]formance.VariablesMap, n)
	for i := range n {
		cents := int64(100 + i)
		lines[i] = s.ensemble.Line(fmt.Sprintf("L%07d", i), cents)
		vars[i] = s.interp.Vars(cents)
	}
	cpuPerCall := map[string]float64{}
	var buf []settlement.Entry
	for _, bc := range []struct {
		name      string
		numscript bool // the ratios to Ensemble's figures are reported
		settle    func(i int) error
	}{
		{"ensemble_settle", false, func(i int) error {
			_, err := s.ensemble.Settler.Settle(ctx, settlement.State{}, lines[i:i+1])
			return err
		}},
		{"ensemble_append_settle", false, func(i int) error {
			var err error
			buf, _, err = s.ensemble.Settler.AppendSettle(ctx, buf[:0], settlement.State{}, lines[i:i+1])
			return err
		}},
		{"numscript", true, func(i int) error {
			if _, err := s.interp.Program.Run(ctx, vars[i], s.interp.Store); err != nil {
				return err
			}
			return nil
		}},
		{"numscript_vm", true, func(i int) error {
			v, err := s.vm.Encoder.Encode(vars[i])
			if err != nil {
				return err
			}
			_, err = formance.ExecVm(ctx, s.vm.VM, &v, s.vm.Store)
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := range n {
				if err := bc.settle(i); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			cpu0, gc0 := cpuTime(), gcCPU()
			i := 0
			for b.Loop() {
				if err := bc.settle(i); err != nil {
					b.Fatal(err)
				}
				i = (i + 1) % n
			}
			cpu := float64((cpuTime() - cpu0).Nanoseconds()) / float64(b.N)
			b.ReportMetric(cpu, "cpu-ns/op")
			b.ReportMetric((gcCPU()-gc0)*1e9/float64(b.N), "gc-ns/op")
			cpuPerCall[bc.name] = cpu
			if !bc.numscript {
				return
			}
			for against, unit := range map[string]string{"ensemble_settle": "x_ensemble_settle", "ensemble_append_settle": "x_ensemble_append"} {
				if base := cpuPerCall[against]; base > 0 {
					b.ReportMetric(cpu/base, unit)
				}
			}
		})
	}
}

// gcCPU returns the runtime's estimate of the CPU time spent in garbage
// collection (marking and assists; write barriers count as the program's).
func gcCPU() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64()
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
