package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPruneKeptLineOfADroppedRollingVolumeReadsBack: a disputed (so kept)
// line of a rolling volume of sales, pruned a year after the volume's last
// point, so that Prune drops the volume: the pruned state settles the
// partner's next sale in memory and read back alike (read back, the line
// still said it added to the dropped volume, and the sale was refused with
// ErrVolumeNotHeld).
func TestPruneKeptLineOfADroppedRollingVolumeReadsBack(t *testing.T) {
	s := planSettler(t, strings.NewReplacer("WINDOW", "rolling_12_months", "VOLUME", "sales").Replace(netPlan), loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "EUR", "2026-01-10")})
	require.NoError(t, err)
	d, err := s.Dispute(res.State, "L1", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	pr := d.State.Prune(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	require.True(t, pr.Has("L1"))
	l2 := resold("L2", "100.00", "EUR", "2027-03-15")
	_, err = s.Settle(ctx, pr, []settlement.Line{l2})
	require.NoError(t, err, "in memory")
	b, err := json.Marshal(pr)
	require.NoError(t, err)
	var back settlement.State
	err = json.Unmarshal(b, &back)
	require.NoError(t, err)
	_, err = s.Settle(ctx, back, []settlement.Line{l2})
	require.NoError(t, err, "read back")
}

// rollingAndYearPlan pays a reseller on its rolling twelve months and its
// calendar year of sales.
const rollingAndYearPlan = `
id: resale
version: 1
root:
  id: root
  children:
    - id: bonus
      party: reseller
      share:
        cumulative:
          of: reseller
          window: rolling_12_months
          volume: sales
          tiers:
            - {up_to: {amount: "1000.00", currency: EUR}, rate: "5%"}
            - {rate: "10%"}
    - id: mdf
      party: reseller
      share:
        cumulative:
          of: reseller
          window: calendar_year
          volume: sales
          tiers:
            - {up_to: {amount: "1000.00", currency: EUR}, rate: "1%"}
            - {rate: "2%"}
    - {id: platform, party: platform, share: remaining}
`

// TestPruneKeptLineOfADroppedRollingVolumeMerges: the same beside a
// calendar year's volume of the partner, which Prune keeps: the pruned state
// merges and reads back (it was ErrCorruptState: the line said it added to
// a rolling volume the state no longer held, beside one it held).
func TestPruneKeptLineOfADroppedRollingVolumeMerges(t *testing.T) {
	s := planSettler(t, rollingAndYearPlan, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "EUR", "2026-01-10")})
	require.NoError(t, err)
	d, err := s.Dispute(res.State, "L1", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	pr := d.State.Prune(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	_, err = settlement.MergeStates(pr)
	require.NoError(t, err, "MergeStates of the pruned state")
	b, err := json.Marshal(pr)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back), "read back")
}
