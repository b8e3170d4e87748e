package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestUnknownPartyRefusedAtLoad: a plan paying partner:<id> for a partner
// the network lacks would pay its share to the fallback on every line;
// with a network, New refuses it naming the node.
func TestUnknownPartyRefusedAtLoad(t *testing.T) {
	plans, err := settlement.ParsePlans([]byte(`
id: fixed
version: 1
root:
  id: root
  children:
    - {id: partner-fee, party: "partner:distri-ue", share: "5%", fallback: platform}
    - {id: seller, party: seller, share: remaining}
`))
	require.NoError(t, err)
	_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)})
	require.ErrorIs(t, err, settlement.ErrUnknownParty)
	require.ErrorContains(t, err, `plans[0].root.children[0].party`)
	require.ErrorContains(t, err, `"partner:distri-ue" names no partner of the network`)

	// Without a network there is nothing to check against.
	_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t)})
	require.NoError(t, err)
}
