package settlement_test

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// growthConfig returns a settler configuration whose rule set holds n
// condition rules and whose one plan has n nodes, each referring to one of
// them: n rule references checked against n rules.
func growthConfig(t testing.TB, n int) settlement.Config {
	t.Helper()
	var rs, plan strings.Builder
	plan.WriteString("id: wide\nversion: 1\nroot:\n  id: root\n  children:\n")
	for i := range n {
		id := "c" + strconv.Itoa(i)
		rs.WriteString("- {id: " + id + ", version: 1, kind: condition, env_version: 1, expression: 'route.referrer != \"\"'}\n")
		plan.WriteString("    - {id: n" + strconv.Itoa(i) + ", party: platform, condition: " + id + ", share: \"0%\"}\n")
	}
	plan.WriteString("    - {id: rest, party: seller, share: remaining}\n")
	env, err := settlement.Env(rules.TrustBounded(true))
	require.NoError(t, err)
	set, err := env.LoadRuleSet(rules.File{Name: "rules.yaml", Data: []byte(rs.String())})
	require.NoError(t, err)
	plans, err := settlement.ParsePlans([]byte(plan.String()))
	require.NoError(t, err)
	return settlement.Config{Plans: plans, Rules: set, Network: loadNetwork(t)}
}

// allocatedBy returns the bytes f allocates.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestNewChecksRuleReferencesOnce: checking a plan's rule references against
// the rule set is linear in both. With four times the rules and four times
// the references, settlement.New allocates about four times the bytes, not
// sixteen (it listed the whole rule set for every reference).
func TestNewChecksRuleReferencesOnce(t *testing.T) {
	bytesFor := func(n int) uint64 {
		cfg := growthConfig(t, n)
		_, err := settlement.New(cfg) // warm: anything built once per process
		require.NoError(t, err)
		return allocatedBy(func() {
			_, err := settlement.New(cfg)
			require.NoError(t, err)
		})
	}
	small, large := bytesFor(250), bytesFor(1000)
	require.Less(t, float64(large)/float64(small), 6.0, "bytes for 250 rules and references: %d, for 1,000: %d", small, large)
}

// BenchmarkNewRuleReferences builds settlers whose one plan refers n times
// to a rule set of n rules (growthConfig): the time per reference stays
// near flat as n grows.
func BenchmarkNewRuleReferences(b *testing.B) {
	for _, n := range []int{100, 1_000, 4_000} {
		cfg := growthConfig(b, n)
		b.Run("refs="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := settlement.New(cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/ref")
		})
	}
}
