package settlement_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestRuleReadingATable: a referral rate read from a rules table changes
// from July with a new table version and no new rule version; settlement
// pays 10% in June and 12% in August.
func TestRuleReadingATable(t *testing.T) {
	plan := `
id: ref
version: 1
root:
  id: root
  children:
    - {id: referral, party: referrer, share: {rule: referral-rate}, fallback: platform}
    - {id: seller, party: seller, share: remaining}
`
	rates := `
- {id: referral_rates, version: 1, kind: table, env_version: 1, expression: '{"standard": percent(10)}'}
- {id: referral_rates, version: 2, kind: table, env_version: 1, effective_from: 2026-07-01T00:00:00Z, expression: '{"standard": percent(12)}'}
- {id: referral-rate, version: 1, kind: share, env_version: 1, expression: 'referral_rates["standard"]'}
`
	s := planSettler(t, plan, loadNetwork(t), rates)
	for day, want := range map[string]string{"2026-06-15": "10.00", "2026-08-15": "12.00"} {
		res, err := s.Settle(context.Background(), settlement.State{}, []settlement.Line{chainLine("L1", "100.00", day)})
		require.NoError(t, err)
		got := byParty(res.Entries)[partner.ID("referral-ams")]
		require.Equal(t, want, got.AmountString(), day)
		// The entry names the table version that decided, beside the rule.
		for _, e := range res.Entries {
			if e.Party == "referral-ams" {
				table := "1"
				if day > "2026-07" {
					table = "2"
				}
				require.Contains(t, e.Rules, ensemble.Ref{Kind: rules.RefKindTable, ID: "referral_rates", Version: table}, day)
			}
		}
	}
}
