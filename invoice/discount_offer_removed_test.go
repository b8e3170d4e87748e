package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// TestDiscountOfferOfARemovedItemBillsItsReversal: a subscription's 10%
// discount on analytics, whose only item is removed back to its start
// after June was billed (EUR 100.00 less 10.00). The removal's run
// reverses June's line, discount and all (-90.00): the offer the discount
// names is no item's any more, but June's billed line holds it (Run.Billed),
// and a Removal records no pin. Checking Discount.Offer against the items
// alone refused the whole run (ErrDiscountOffer), so nothing of it billed.
// A discount limited to the removed offer's charges is accepted alike; an
// offer neither held nor billed is still refused.
func TestDiscountOfferOfARemovedItemBillsItsReversal(t *testing.T) {
	b := offerBuilder(t)
	d := invoice.Discount{ID: "an-10", Percent: ensemble.MustRatio("10%"), Offer: "analytics", Charges: []catalog.ChargeID{"dashboards"}}
	s := offerSub(d)
	s.Items = append(s.Items, item("an", seg(date(2026, 6, 1), time.Time{}, pin("analytics", 1), "1")))
	june, err := b.Build(invoice.Run{At: date(2026, 6, 1)}, []invoice.Subscription{s})
	require.NoError(t, err)
	require.Len(t, june, 1)
	require.Contains(t, linesTaken(june[0]), "dashboards 100.00 an-10 10.00")

	removed := offerSub(d)
	removed.Removed = []invoice.Removal{{Item: "an", Start: date(2026, 6, 1), Recorded: date(2026, 6, 10)}}
	july, err := b.Build(invoice.Run{After: date(2026, 6, 1), At: date(2026, 7, 1), Billed: june[0].Lines}, []invoice.Subscription{removed})
	require.NoError(t, err)
	require.Len(t, july, 1)
	var reversal ensemble.Money
	for _, l := range july[0].Lines {
		if l.Item == "an" {
			reversal = l.Net
		}
	}
	require.True(t, reversal.Equal(ensemble.MustMoney("-90.00", "EUR")), "the removal reverses June's 90.00: %v", linesTaken(july[0]))

	typo := offerSub(invoice.Discount{ID: "an-10", Percent: ensemble.MustRatio("10%"), Offer: "analytic"})
	typo.Removed = removed.Removed
	_, err = b.Build(invoice.Run{After: date(2026, 6, 1), At: date(2026, 7, 1), Billed: june[0].Lines}, []invoice.Subscription{typo})
	require.ErrorIs(t, err, invoice.ErrDiscountOffer)
}
