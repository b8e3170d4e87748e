package host_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ensemble-commerce/ensemble/examples/internal/host"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// examples are the example programs whose data/ a host loads, with the
// platform's party id each settles for.
var examples = []struct {
	name     string
	platform partner.ID
}{
	{"quickstart", ""}, {"marketplace", ""}, {"multitier", ""}, {"telco", "orbit"}, {"workforce", ""}, {"dispute", ""},
}

// settlerConfig loads what settlement.New is built from, as host.Load
// does: the network, the settlement rules compiled with settlement.Env, the
// plans.
func settlerConfig(tb testing.TB, name string, platform partner.ID) settlement.Config {
	read := func(file string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", name, "data", file))
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	net, err := partner.LoadNetwork(read(host.NetworkFile))
	if err != nil {
		tb.Fatal(err)
	}
	env, err := settlement.Env(rules.TrustBounded(true))
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := env.LoadRuleSet(rules.File{Name: host.SettlementRulesFile, Data: read(host.SettlementRulesFile)})
	if err != nil {
		tb.Fatal(err)
	}
	plans, err := settlement.ParsePlans(read(host.PlansFile))
	if err != nil {
		tb.Fatal(err)
	}
	return settlement.Config{Plans: plans, Rules: rs, Network: net, Platform: platform}
}

// BenchmarkNew builds each example's settler from the documents a host
// loaded once: what a host pays again when partner terms change. The rules
// are used as compiled; New checks the plans, reads what each rule reads
// and precomputes the partners' snapshots.
func BenchmarkNew(b *testing.B) {
	for _, ex := range examples {
		b.Run(ex.name, func(b *testing.B) {
			cfg := settlerConfig(b, ex.name, ex.platform)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := settlement.New(cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
