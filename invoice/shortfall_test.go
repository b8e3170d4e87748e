package invoice_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// TestFixedCostsBeyondTheNetNeedAShortfall: a bundle line whose net
// cannot carry the fixed costs its suppliers are owed (90% off two EUR
// 40.00 seats: net 8.00, 30% ratio cost 2.40, fixed 20.00 and 10.00 on the
// 5.60 left; or a free month) used to cut the fixed costs to what the net
// left without a word, paying the GPU supplier 3.73 of the 20.00 its
// contract says. Unless the component's cost says its supplier bears the
// shortfall (shortfall: supplier), the run is refused with an error
// naming the line, the component and the amounts.
func TestFixedCostsBeyondTheNetNeedAShortfall(t *testing.T) {
	undeclared := strings.ReplaceAll(dealYAML, ", shortfall: supplier", "")
	require.NotEqual(t, dealYAML, undeclared)
	cases := []struct {
		name, doc string
		percent   string
		leaves    string // what the net leaves for fixed costs; "" when billed
		costs     int    // supplier costs on the line when billed
	}{
		{"90% off, undeclared", undeclared, "90%", "5.60", 0},
		{"free month, undeclared", undeclared, "100%", "0.00", 0},
		{"90% off, supplier bears it", dealYAML, "90%", "", 3},
		{"free month, supplier bears it", dealYAML, "100%", "", 0},
		{"10% off, undeclared: the net carries the costs", undeclared, "10%", "", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cat, err := catalog.LoadYAML([]byte(tc.doc))
			require.NoError(t, err)
			b, err := invoice.NewBuilder(cat, invoice.Options{})
			require.NoError(t, err)
			s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("deal", 1), "2")))
			s.Discounts = []invoice.Discount{{ID: "promo", Percent: ensemble.MustRatio(tc.percent)}}
			invs, err := b.Build(invoice.Run{At: date(2026, 3, 1)}, []invoice.Subscription{s})
			if tc.leaves == "" {
				require.NoError(t, err)
				require.Len(t, invs, 1)
				require.Len(t, invs[0].Lines[0].SupplierCosts, tc.costs)
				return
			}
			require.ErrorIs(t, err, invoice.ErrCostShortfall)
			require.Empty(t, invs, "no partial output")
			var se *invoice.CostShortfallError
			require.True(t, errors.As(err, &se), "%v", err)
			require.Equal(t, "gpu/gpuco", se.Component)
			require.Equal(t, "s1/i1/20260301T000000Z/deal/seats/recurring/20260301T000000Z", string(se.Line))
			for _, c := range []struct {
				got  ensemble.Money
				want string
			}{{se.Owed, "20.00"}, {se.Fixed, "30.00"}, {se.Leaves, tc.leaves}} {
				require.Equal(t, "EUR", c.got.Currency().Code())
				require.Equal(t, c.want, c.got.AmountString())
			}
			require.Contains(t, err.Error(), `component "gpu/gpuco" (owed EUR 20.00) does not say who bears the shortfall`)
		})
	}
}

// TestShortfallOnlyOnFixedCosts: a ratio cost is a share of the net and
// never exceeds it, so a shortfall on it is refused when the catalog
// loads, and so is an unknown shortfall.
func TestShortfallOnlyOnFixedCosts(t *testing.T) {
	for _, tc := range []struct{ from, to, path string }{
		{`cost: {ratio: "30%"}`, `cost: {ratio: "30%", shortfall: supplier}`, "components[0].cost.shortfall"},
		{`cost: {fixed: "10.00", shortfall: supplier}`, `cost: {fixed: "10.00", shortfall: platform}`, ""},
	} {
		doc := strings.Replace(dealYAML, tc.from, tc.to, 1)
		require.NotEqual(t, dealYAML, doc)
		_, err := catalog.LoadYAML([]byte(doc))
		require.Error(t, err, tc.to)
		require.Contains(t, err.Error(), tc.path)
		if tc.path != "" {
			require.ErrorIs(t, err, catalog.ErrFieldNotAllowed)
		}
	}
}
