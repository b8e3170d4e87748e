package settlement_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestNegativeTaxOnSale: a sale line (one that credits nothing) with a
// negative tax is refused at Settle, whatever the plan's basis, with a
// *LineError naming the line and an *ensemble.ValidationError naming the
// tax field; nothing is settled. Credit lines keep their negative tax.
func TestNegativeTaxOnSale(t *testing.T) {
	grossPlan := `
- id: cloud
  version: 1
  offers: [cloud-backup]
  basis: gross
  root:
    id: root
    children:
      - {id: platform, party: platform, share: "1/3"}
      - {id: seller, party: seller, share: remaining, fallback: platform}
`
	tests := []struct {
		name, plan, amount, tax string
		refused                 bool
	}{
		{"net basis, negative tax", "", "100.00", "-21.00", true},
		{"gross basis, negative tax", grossPlan, "100.00", "-21.00", true},
		{"gross basis, tax cancelling the amount", grossPlan, "100.00", "-100.00", true},
		{"zero amount, negative tax", "", "0.00", "-0.01", true},
		{"zero tax", "", "100.00", "0.00", false},
		{"positive tax", grossPlan, "100.00", "21.00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSettler(t)
			if tt.plan != "" {
				s = planSettler(t, tt.plan, loadNetwork(t))
			}
			l := chainLine("sale-1", tt.amount, "2026-03-01")
			l.Tax = eur(tt.tax)
			res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l, chainLine("other", "10.00", "2026-03-01")})
			if !tt.refused {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, settlement.ErrInvalidLine)
			require.Empty(t, res.Entries)
			var le *settlement.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, settlement.LineID("sale-1"), le.Line)
			require.Empty(t, le.Node, "no plan node is blamed")
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1, "%v", err)
			require.Equal(t, "tax", ve.Problems[0].Path)
			require.Contains(t, err.Error(), `"sale-1"`)
		})
	}

	t.Run("credit line with negative tax settles", func(t *testing.T) {
		s := newSettler(t)
		sale := chainLine("sale-1", "100.00", "2026-03-01")
		sale.Tax = eur("21.00")
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{sale})
		require.NoError(t, err)
		credit := chainLine("credit-1", "-100.00", "2026-03-02")
		credit.Tax, credit.Credits = eur("-21.00"), "sale-1"
		_, err = s.Settle(ctx, res.State, []settlement.Line{credit})
		require.NoError(t, err)
	})
}
