package invoice_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// recoupedAmounts lists a line's Recouped as "id amount".
func recoupedAmounts(l *invoice.Line) []string {
	var out []string
	for _, d := range l.Recouped {
		out = append(out, string(d.ID)+" "+d.Amount.AmountString())
	}
	return out
}

// TestTrueUpRecordsTheDiscountsItBillsBack: engineering 15% off (a
// private offer) and 5% off (a loyalty discount) under a GBP 500.00
// minimum. March's 5 hours (475.00) take 71.25 and 23.75 off (380.00 net):
// the 120.00 true-up bills back all 95.00 of them, which its Recouped says
// by discount; the customer is billed 500.00 as without them, and the
// true-up takes no discount. With 4 hours (380.00 less 76.00: 304.00) the
// 196.00 true-up bills back the 76.00 the discounts took; with 6 hours
// (570.00 less 114.00: 456.00) the 44.00 true-up bills back 44.00 of the
// 114.00, 33.00 of the private offer's 85.50 and 11.00 of the loyalty
// discount's 28.50 (largest remainder). A run whose lines took no
// discount recoups nothing.
func TestTrueUpRecordsTheDiscountsItBillsBack(t *testing.T) {
	b := scopeBuilder(t)
	s := trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
	s.Items[1].Discounts = []invoice.Discount{{ID: "private-offer", Percent: ensemble.MustRatio("15%")}, {ID: "loyalty", Percent: ensemble.MustRatio("5%")}}
	for _, c := range []struct {
		hours, trueUp string
		recouped      []string
	}{
		{"5", "120.00", []string{"loyalty 23.75", "private-offer 71.25"}},
		{"4", "196.00", []string{"loyalty 19.00", "private-offer 57.00"}},
		{"6", "44.00", []string{"loyalty 11.00", "private-offer 33.00"}},
		{"8", "", nil},
	} {
		inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 3, 1), c.hours)}}, s)
		tu := trueUp(inv)
		if c.trueUp == "" {
			require.Nil(t, tu, c.hours)
			continue
		}
		require.NotNil(t, tu, c.hours)
		require.Equal(t, c.trueUp, tu.Amount.AmountString(), c.hours)
		require.Equal(t, c.recouped, recoupedAmounts(tu), c.hours)
		require.Empty(t, tu.Discounts, "the true-up is not discounted")
		require.True(t, tu.Discount.IsZero())
		roundTrip(t, *tu)
	}
	plain := trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
	inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 3, 1), "5")}}, plain)
	require.Nil(t, trueUp(inv).Recouped)
}

// TestLateUsageTrueUpCreditGivesBackRecoupedInProportion: March's 5 hours
// at 15% off (403.75 net) are topped up by 96.25, which bills back the
// 71.25 the discount took. An hour arriving late (80.75 net) credits 80.75
// of the true-up, which gives back the recouped part in proportion: 71.25 ×
// 80.75 / 96.25 = 59.78 (half to even), leaving 11.47 recouped on the
// 15.50 of true-up that stands.
func TestLateUsageTrueUpCreditGivesBackRecoupedInProportion(t *testing.T) {
	b := scopeBuilder(t)
	s := trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
	s.Items[1].Discounts = []invoice.Discount{{ID: "private-offer", Percent: ensemble.MustRatio("15%")}}
	first := build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s)
	march := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 3, 1), "5")}}, s)
	require.Equal(t, "96.25", trueUp(march).Amount.AmountString())
	require.Equal(t, []string{"private-offer 71.25"}, recoupedAmounts(trueUp(march)))
	billed := append(append([]invoice.Line(nil), first.Lines...), march.Lines...)
	april := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 4, 1), "6")},
		Late: []invoice.LateUsage{lateHours("5", "1")}, Billed: billed}, s)
	adj := trueUp(april)
	require.NotNil(t, adj)
	require.Equal(t, "-80.75", adj.Amount.AmountString())
	require.Equal(t, trueUp(march).ID, adj.Credits)
	require.Equal(t, []string{"private-offer -59.78"}, recoupedAmounts(adj))
	require.Empty(t, adj.Discounts)
}

// TestPropertyTrueUpRecoupsMinOfTrueUpAndDiscounts: whatever the hours
// and the discounts, a cycle's true-up T bills back R = min(T, ΣD) of the
// discounts D its engineering line took, each discount's part between
// zero and what it took (largest remainder), listed by id; none without a
// true-up.
func TestPropertyTrueUpRecoupsMinOfTrueUpAndDiscounts(t *testing.T) {
	b := scopeBuilder(t)
	rapid.Check(t, func(t *rapid.T) {
		s := trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
		for _, id := range rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"a", "b", "c"}), 0, 3, rapid.ID[string]).Draw(t, "discounts") {
			pct := rapid.IntRange(1, 40).Draw(t, "pct."+id)
			s.Items[1].Discounts = append(s.Items[1].Discounts, invoice.Discount{ID: invoice.DiscountID(id), Percent: ensemble.MustRatio(strconv.Itoa(pct) + "%")})
		}
		hours := rapid.IntRange(0, 9).Draw(t, "hours")
		invs, err := b.Build(invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 3, 1), strconv.Itoa(hours))}}, []invoice.Subscription{s})
		require.NoError(t, err)
		took := map[invoice.DiscountID]ensemble.Money{}
		sumD := ensemble.MoneyFromMinor(0, gbp)
		for _, l := range invs[0].Lines {
			for _, d := range l.Discounts {
				took[d.ID] = d.Amount
				sumD, err = sumD.Add(d.Amount)
				require.NoError(t, err)
			}
		}
		tu := trueUp(invs[0])
		if tu == nil {
			return
		}
		want := sumD
		if c, _ := tu.Amount.Cmp(sumD); c < 0 {
			want = tu.Amount
		}
		sum := ensemble.MoneyFromMinor(0, gbp)
		for i, d := range tu.Recouped {
			require.True(t, d.Amount.IsPositive(), "%s", d.ID)
			c, _ := d.Amount.Cmp(took[d.ID])
			require.LessOrEqual(t, c, 0, "%s: %s of %s", d.ID, d.Amount, took[d.ID])
			if i > 0 {
				require.Less(t, string(tu.Recouped[i-1].ID), string(d.ID))
			}
			sum, err = sum.Add(d.Amount)
			require.NoError(t, err)
		}
		require.True(t, sum.Equal(want), "recouped %s, want min(%s, %s)", sum, tu.Amount, sumD)
		require.Empty(t, tu.Discounts)
	})
}
