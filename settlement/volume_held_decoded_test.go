package settlement_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// bonusOf is what line's entries pay the reseller's cumulative bonus node.
func bonusOf(t interface {
	Helper()
	Fatalf(format string, args ...any)
}, res settlement.Result, line settlement.LineID) ensemble.Money {
	t.Helper()
	for _, e := range res.Entries {
		if e.Line == line && e.Node == "root/bonus" {
			return e.Amount
		}
	}
	t.Fatalf("no bonus entry of %s", line)
	return ensemble.Money{}
}

// TestDecodedStateRefusesSalesOfAVolumeItsLinesAddToButItLacks: a state
// read back from JSON whose ledger lines add to a partner's volume net of
// credits, but which holds no volume of that partner (a part split by line,
// or a state whose volume was lost or edited away), refuses a sale reading
// that partner's volume with ErrVolumeNotHeld, as the part does in memory,
// rather than settling it at a volume of zero. A trial's MDF accrual, 2%
// of a partner's year up to EUR 1,000,000.00 (a EUR 20,000.00 cap), paid
// EUR 200.00 beyond the cap on the next EUR 10,000.00 line of a partner at
// 1,115,500.00 whose volume had been removed from the persisted State. By
// hand, with the plan's 5% up to 1,000.00 and 10% beyond:
//
//	L1 Mar 2   EUR 1,200.00  5% of 1,000 + 10% of 200 = EUR 70.00   volume 1,200
//	L2 Mar 15  EUR 100.00    10% (volume 1,200)       = EUR 10.00
//	           on the state with the volume removed:     ErrVolumeNotHeld
//	           (before: 5%, EUR 5.00, read at a volume of zero)
func TestDecodedStateRefusesSalesOfAVolumeItsLinesAddToButItLacks(t *testing.T) {
	s := planSettler(t, strings.NewReplacer("WINDOW", "calendar_year", "VOLUME", "net_of_credits").Replace(netPlan), loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "EUR", "2026-03-02")})
	require.NoError(t, err)
	requireMoney(t, bonusOf(t, res, "L1"), eur("70.00"))
	whole, err := json.Marshal(res.State)
	require.NoError(t, err)
	l2 := resold("L2", "100.00", "EUR", "2026-03-15")

	// The whole state read back pays L2 at the volume it holds.
	var st settlement.State
	require.NoError(t, json.Unmarshal(whole, &st))
	got, err := s.Settle(ctx, st, []settlement.Line{l2})
	require.NoError(t, err)
	requireMoney(t, bonusOf(t, got, "L2"), eur("10.00"))

	// The volume edited away: decoded (it reads as a part split by line),
	// but no sale of the partner is settled at a volume of zero.
	var d stateDoc
	require.NoError(t, json.Unmarshal(whole, &d))
	delete(d, "volumes")
	edited, err := json.Marshal(d)
	require.NoError(t, err)
	var lost settlement.State
	require.NoError(t, json.Unmarshal(edited, &lost))
	_, err = s.Settle(ctx, lost, []settlement.Line{l2})
	require.ErrorIs(t, err, settlement.ErrVolumeNotHeld)
	require.ErrorContains(t, err, `"reseller-nl"`)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("L2"), le.Line)

	// The binary form reads the same.
	b, err := lost.MarshalBinary()
	require.NoError(t, err)
	var bin settlement.State
	require.NoError(t, bin.UnmarshalBinary(b))
	_, err = s.Settle(ctx, bin, []settlement.Line{l2})
	require.ErrorIs(t, err, settlement.ErrVolumeNotHeld)

	// A part split by line, persisted and read back, refuses it too, and
	// merged with the partner's volumes (Seed) settles it as the whole.
	var part settlement.State
	require.NoError(t, json.Unmarshal(must(json.Marshal(res.State.SplitByLine(func(settlement.LineID) bool { return true }))), &part))
	_, err = s.Settle(ctx, part, []settlement.Line{l2})
	require.ErrorIs(t, err, settlement.ErrVolumeNotHeld)
	merged, err := settlement.MergeStates(part, res.State.Seed("reseller-nl"))
	require.NoError(t, err)
	got, err = s.Settle(ctx, merged, []settlement.Line{l2})
	require.NoError(t, err)
	requireMoney(t, bonusOf(t, got, "L2"), eur("10.00"))

	// A partner none of whose lines the state holds starts from zero, as
	// before: a new partner's first sale.
	other := resold("L3", "100.00", "EUR", "2026-03-15")
	other.Route.Chain = []partner.ID{"reseller-de", "distri-eu"}
	got, err = s.Settle(ctx, lost, []settlement.Line{other})
	require.NoError(t, err)
	requireMoney(t, bonusOf(t, got, "L3"), eur("5.00"))
}

// TestPropertyDecodedStateNeverReadsALostVolumeAsZero: whatever volumes of a
// settled state's JSON are removed, the state read back is refused
// (ErrCorruptState), or settles the next sale of the partner as the whole
// state does, or refuses it (ErrVolumeNotHeld); never at another volume.
// Net of credits or a volume of sales alike.
func TestPropertyDecodedStateNeverReadsALostVolumeAsZero(t *testing.T) {
	for _, c := range [][2]string{{"calendar_year", "net_of_credits"}, {"calendar_quarter", "net_of_credits"}, {"rolling_12_months", "net_of_credits"},
		{"calendar_year", "sales"}, {"calendar_month", "sales"}, {"rolling_12_months", "sales"}} {
		window, volume := c[0], c[1]
		s := planSettler(t, strings.NewReplacer("WINDOW", window, "VOLUME", volume).Replace(netPlan), loadNetwork(t))
		t.Run(window+" "+volume, func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				n := rapid.IntRange(1, 6).Draw(rt, "lines")
				var lines []settlement.Line
				for i := range n {
					day := fmt.Sprintf("2026-%02d-%02d", rapid.IntRange(1, 5).Draw(rt, "month"), rapid.IntRange(1, 28).Draw(rt, "day"))
					cents := rapid.Int64Range(1, 90000).Draw(rt, "cents")
					lines = append(lines, resold(fmt.Sprintf("L%d", i), fmt.Sprintf("%d.%02d", cents/100, cents%100), "EUR", day))
				}
				res, err := s.Settle(ctx, settlement.State{}, lines)
				require.NoError(rt, err)
				whole, err := json.Marshal(res.State)
				require.NoError(rt, err)
				var d stateDoc
				require.NoError(rt, json.Unmarshal(whole, &d))
				vols, _ := d["volumes"].([]any)
				var keep []any
				for i := range vols {
					if rapid.Bool().Draw(rt, "keep volume") {
						keep = append(keep, vols[i])
					}
				}
				d["volumes"] = keep
				edited, err := json.Marshal(d)
				require.NoError(rt, err)
				var st settlement.State
				if err := json.Unmarshal(edited, &st); err != nil {
					require.ErrorIs(rt, err, settlement.ErrCorruptState)
					return
				}
				next := resold("Lz", "500.00", "EUR", "2026-06-30")
				want, err := s.Settle(ctx, res.State, []settlement.Line{next})
				require.NoError(rt, err)
				got, err := s.Settle(ctx, st, []settlement.Line{next})
				if err != nil {
					require.ErrorIs(rt, err, settlement.ErrVolumeNotHeld)
					return
				}
				requireMoney(rt, bonusOf(rt, got, "Lz"), bonusOf(rt, want, "Lz"))
			})
		})
	}
}

// TestDecodedStateRefusesAVolumeOfSalesBelowItsLines: under the default
// volume (sales, not net of credits) the ledger records what each line
// added, as it does net of credits, so a State whose volume was lowered,
// removed or moved to another period is refused when read back, rather
// than settling the next line at a lower volume. A trial's MDF accrual,
// 2% of a partner's year up to EUR 1,000,000.00 (a EUR 20,000.00 cap), paid
// EUR 200.00 beyond the cap on the next EUR 10,000.00 line of a partner at
// 1,115,500.00 whose persisted volume had been set to zero. By hand, with
// the plan's 5% up to 1,000.00 and 10% beyond:
//
//	L1 Mar 2   EUR 1,200.00  5% of 1,000 + 10% of 200 = EUR 70.00   volume 1,200
//	C1 Mar 10  credits EUR 400.00 of L1 (a volume of sales keeps 1,200)
//	L2 Mar 15  EUR 100.00    10% (volume 1,200)       = EUR 10.00
//	           on a state whose volume reads 1,199.99:   ErrCorruptState
//	           (before: decoded, and L2 paid the same; at 0.00, 5.00)
func TestDecodedStateRefusesAVolumeOfSalesBelowItsLines(t *testing.T) {
	for _, window := range []string{"calendar_year", "calendar_quarter", "calendar_month", "rolling_12_months"} {
		t.Run(window, func(t *testing.T) {
			s := planSettler(t, strings.NewReplacer("WINDOW", window, "VOLUME", "sales").Replace(netPlan), loadNetwork(t))
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "EUR", "2026-03-02")})
			require.NoError(t, err)
			res, err = s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-400.00", "2026-03-10")})
			require.NoError(t, err)
			l1, _ := res.State.Line("L1")
			require.Len(t, l1.Volumes, 1, "what L1 added to the volume of sales")
			require.False(t, l1.Volumes[0].NetOfCredits)
			requireMoney(t, l1.Volumes[0].Amount, eur("1200.00"))
			whole, err := json.Marshal(res.State)
			require.NoError(t, err)
			l2 := resold("L2", "100.00", "EUR", "2026-03-15")
			var st settlement.State
			require.NoError(t, json.Unmarshal(whole, &st))
			got, err := s.Settle(ctx, st, []settlement.Line{l2})
			require.NoError(t, err)
			requireMoney(t, bonusOf(t, got, "L2"), eur("10.00"))

			volume := func(d stateDoc) map[string]any { return d["volumes"].([]any)[0].(map[string]any) }
			if window != "rolling_12_months" {
				var d stateDoc
				require.NoError(t, json.Unmarshal(whole, &d))
				volume(d)["amount"] = moneyJSON("1199.99", "EUR")
				decodeProblem(t, d, "volumes[0].amount", "EUR 1199.99 is less than the EUR 1200.00 lines still add to it", "")
				require.NoError(t, json.Unmarshal(whole, &d))
				volume(d)["year"] = 2025
				decodeProblem(t, d, "lines[0].volumes[0]", "the state holds no such volume", "L1")
			}
			// Removed: read as a part split by line, which refuses L2.
			var d stateDoc
			require.NoError(t, json.Unmarshal(whole, &d))
			delete(d, "volumes")
			var lost settlement.State
			require.NoError(t, json.Unmarshal(must(json.Marshal(d)), &lost))
			_, err = s.Settle(ctx, lost, []settlement.Line{l2})
			require.ErrorIs(t, err, settlement.ErrVolumeNotHeld)
		})
	}
}
