package settlement_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPlanErrorsNameTheNodes: a plan refused at load names every node the
// problem involves, not just the level.
func TestPlanErrorsNameTheNodes(t *testing.T) {
	tests := []struct {
		name, children, want string
		is                   error
	}{
		{"siblings over the whole", `
        - {id: platform, party: platform, share: "60%"}
        - {id: reseller, party: reseller, share: "50%"}
        - {id: seller, party: seller, share: remaining}`,
			"ratios add up to 110% (platform 60% + reseller 50%)", settlement.ErrOverAllocation},
		{"two remaining children", `
        - {id: platform, party: platform, share: remaining}
        - {id: seller, party: seller, share: remaining}`,
			`children "platform" and "seller" both take the remaining amount`, settlement.ErrRemainingChild},
		{"ratio dividing by zero", `
        - {id: platform, party: platform, share: "1/0"}
        - {id: seller, party: seller, share: remaining}`,
			`node "root": node "platform": ensemble: parse ratio "1/0": zero denominator`, nil},
		// A new user's trial: 20% + 70% and no remaining child said only
		// that shares can vary; it says the sum, and which share varies.
		{"ratios short of the whole, a party that may not be paid", `
        - {id: vendor, party: platform, share: "20%"}
        - {id: reseller, party: seller, share: "70%"}`,
			"ratios adding up to 90% (vendor 20% + reseller 70%) and shares that can vary, reseller (a party that may not be paid), but no child takes the remaining amount",
			settlement.ErrUnallocated},
		{"ratios short of the whole", `
        - {id: vendor, party: platform, share: "20%"}
        - {id: channel, party: platform, share: "70%"}`,
			"ratios adding up to 90% (vendor 20% + channel 70%) and no child takes the remaining amount: give one child share: remaining, or make them add up to 100%",
			settlement.ErrUnallocated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "id: p\nversion: 1\nroot:\n  id: root\n  children:" + tt.children + "\n"
			plans, err := settlement.ParsePlans([]byte(doc))
			if err == nil {
				_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)})
			}
			require.ErrorContains(t, err, tt.want)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
		})
	}
}

// TestPlanPartyIDsAreChecked: a fixed partner party passes the id check.
func TestPlanPartyIDsAreChecked(t *testing.T) {
	doc := "id: p\nversion: 1\nroot:\n  id: root\n  children:\n    - {id: a, party: \"partner:a\\0\", share: \"10%\"}\n    - {id: s, party: seller, share: remaining}\n"
	plans, err := settlement.ParsePlans([]byte(doc))
	require.NoError(t, err)
	_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)})
	require.ErrorIs(t, err, ensemble.ErrInvalidID)
}

// TestPlanNodeIDsFollowTheIDGrammar: plan and node ids follow the library's
// one id grammar (ensemble.CheckID, no separator at all: node ids make the
// paths of entry ids, plan ids are pinned with '@'), so a refused id is an
// *ensemble.IDError naming the field and the character; a fixed partner
// party refuses '#' as partner ids do.
func TestPlanNodeIDsFollowTheIDGrammar(t *testing.T) {
	tests := []struct {
		name, plan, node, party, path, sep string
	}{
		{"node id with '#'", "p", "a#b", "platform", "plans[0].root.children[0].id", "#"},
		{"node id with ':'", "p", "a:b", "platform", "plans[0].root.children[0].id", ":"},
		{"node id with '/'", "p", "a/b", "platform", "plans[0].root.children[0].id", "/"},
		{"plan id with '@'", "p@2", "a", "platform", "plans[0].id", "@"},
		{"partner party with '#'", "p", "a", "partner:acme#eu", "plans[0].root.children[0].party", "#"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "id: " + tt.plan + "\nversion: 1\nroot:\n  id: root\n  children:\n    - {id: \"" + tt.node + "\", party: \"" + tt.party + "\", share: \"10%\"}\n    - {id: s, party: seller, share: remaining}\n"
			plans, err := settlement.ParsePlans([]byte(doc))
			if err == nil {
				_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)})
			}
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
				var ie *ensemble.IDError
				if p.Path == tt.path && errors.As(p, &ie) {
					require.Equal(t, tt.sep, ie.Separator)
					return
				}
			}
			t.Fatalf("no *ensemble.IDError at %s among %v: %v", tt.path, paths, err)
		})
	}
}
