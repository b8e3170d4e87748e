// Package host loads the documents every example keeps under data/, the
// way a host application would at start-up: the catalog, the partner
// network, the partner programs' rules, the settlement rules and the split
// plans. It is shared by the example programs and is not part of the
// library: a host cannot import it, and needs no such package. The same
// wiring through the public API alone, from documents in strings to a month
// billed and settled, is the example Example_wiring of package settlement
// (go doc -all github.com/ensemble-commerce/ensemble/settlement, or
// settlement/example_wiring_test.go); Load adds only reading the files from
// an fs.FS, naming the file in an error, and running the test cases the
// rule authors wrote beside their rules (rules.RuleSet.RunTests).
package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// The file names Load reads from its directory.
const (
	CatalogFile         = "catalog.yaml"
	NetworkFile         = "network.yaml"
	PartnerRulesFile    = "partner-rules.yaml" // optional
	SettlementRulesFile = "settlement-rules.yaml"
	PlansFile           = "plans.yaml"
)

// Ecosystem is what a host loads once and keeps.
type Ecosystem struct {
	Catalog         *catalog.Catalog
	Network         *partner.Network
	PartnerRules    *rules.RuleSet
	Governance      *partner.Governance
	SettlementRules *rules.RuleSet
	Plans           []settlement.PlanDocument
	Settler         *settlement.Settler
}

// Options says what the documents alone do not.
type Options struct {
	// Programs are the partner programs whose rules partner-rules.yaml
	// holds (none: no program rules).
	Programs []partner.Program
	// Platform is the platform's party id in the split plans ("platform"
	// when empty).
	Platform partner.ID
}

// Load reads the documents from dir in fsys and builds everything from
// them, running the test cases the rule authors wrote beside their rules;
// the first problem found is returned, naming the file.
func Load(fsys fs.FS, dir string, opts Options) (*Ecosystem, error) {
	read := func(name string) ([]byte, error) {
		b, err := fs.ReadFile(fsys, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	wrap := func(name string, err error) error { return fmt.Errorf("%s: %w", name, err) }
	var eco Ecosystem

	doc, err := read(CatalogFile)
	if err == nil {
		eco.Catalog, err = catalog.LoadYAML(doc)
	}
	if err != nil {
		return nil, wrap(CatalogFile, err)
	}
	if doc, err = read(NetworkFile); err == nil {
		eco.Network, err = partner.LoadNetwork(doc)
	}
	if err != nil {
		return nil, wrap(NetworkFile, err)
	}

	penv, err := partner.Env()
	if err != nil {
		return nil, err
	}
	switch doc, err = read(PartnerRulesFile); {
	case errors.Is(err, fs.ErrNotExist):
		eco.PartnerRules, err = penv.NewRuleSet()
	case err == nil:
		eco.PartnerRules, err = penv.LoadRuleSet(rules.File{Name: PartnerRulesFile, Data: doc})
	}
	if err != nil {
		return nil, wrap(PartnerRulesFile, err)
	}
	if err = eco.PartnerRules.RunTests(context.Background()); err != nil {
		return nil, wrap(PartnerRulesFile, err)
	}
	if eco.Governance, err = partner.NewGovernance(eco.Network, opts.Programs, penv, eco.PartnerRules); err != nil {
		return nil, wrap(PartnerRulesFile, err)
	}

	// The settler uses the rules as compiled here: rules without
	// comprehensions run without the runtime cost tracker (their length
	// bounds their cost), the others under the default limit.
	senv, err := settlement.Env(rules.TrustBounded(true))
	if err != nil {
		return nil, err
	}
	if doc, err = read(SettlementRulesFile); err == nil {
		eco.SettlementRules, err = senv.LoadRuleSet(rules.File{Name: SettlementRulesFile, Data: doc})
	}
	if err == nil {
		err = eco.SettlementRules.RunTests(context.Background())
	}
	if err != nil {
		return nil, wrap(SettlementRulesFile, err)
	}
	if doc, err = read(PlansFile); err == nil {
		eco.Plans, err = settlement.ParsePlans(doc)
	}
	if err != nil {
		return nil, wrap(PlansFile, err)
	}
	platform := opts.Platform
	if platform == "" {
		platform = "platform"
	}
	eco.Settler, err = settlement.New(settlement.Config{Plans: eco.Plans, Rules: eco.SettlementRules, Network: eco.Network, Platform: platform})
	if err != nil {
		return nil, wrap(PlansFile, err)
	}
	return &eco, nil
}
