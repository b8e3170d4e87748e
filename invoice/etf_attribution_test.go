package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// A one-time deployment service sold on the same order as a monthly
// subscription under the order's 12-month term, with a fee of 50% of the
// remaining value. The fee is worked out from the seats alone (the service
// has no recurring charge), so it is attributed to the seats' offer, whatever
// the items' ids: an item "a-deploy" sorting before "seats" took the fee
// (Line.Pin deployment@1), and settlement then split it by the service's plan
// (a reseller keeping 90% of the service took 90% of the fee).
//
// 2 Basic seats at EUR 10.00 a month from 2026-03-01, cancelled 2026-07-01
// (days end exclusive): 8 months left, 8 × 20.00 = 160.00, half of it 80.00.
func TestOrderTermFeeIsAttributedToAnItemWithARecurringCharge(t *testing.T) {
	b := deploymentBuilder(t)
	for _, deployID := range []string{"a-deploy", "z-deploy"} {
		t.Run(deployID, func(t *testing.T) {
			start, stop := inParis(2026, 3, 1), inParis(2026, 7, 1)
			s := sub("s1", start,
				item(deployID, seg(start, stop, pin("deployment", 1), "1")),
				item("seats", seg(start, stop, pin("basic", 1), "2")))
			s.TimeZone = "Europe/Paris"
			s.CancelAt = stop
			s.Term = invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{
				Rule: invoice.TerminationRemaining, Percent: ensemble.MustRatio("50%")}}
			inv := build1(t, b, invoice.Run{After: inParis(2026, 6, 15), At: inParis(2026, 7, 15)}, s)
			var fee *invoice.Line
			for i := range inv.Lines {
				if inv.Lines[i].Kind == invoice.KindEarlyTermination {
					fee = &inv.Lines[i]
				}
			}
			require.NotNil(t, fee)
			require.Equal(t, "80.00", fee.Amount.AmountString())
			require.Equal(t, catalog.Pin{Offer: "basic", Version: 1}, fee.Pin, "the fee is the seats' remaining value, not the service's")
			require.True(t, fee.Date.Equal(stop.In(time.UTC)))
			// The seats alone have a remaining value: one line, with the
			// fee's own ID and no item, as before fees were split by item.
			require.Equal(t, invoice.LineID("s1/early_termination/20260228T230000Z/20260630T220000Z"), fee.ID)
			require.Empty(t, fee.Item)
		})
	}
}

// deploymentBuilder bills the term offers (termOffers) and a one-time
// deployment service of EUR 500.00, prorating by days, end exclusive.
func deploymentBuilder(t *testing.T) *invoice.Builder {
	cat, err := catalog.LoadYAML([]byte(catalogYAML + termOffers + `
  - id: deployment
    version: 1
    name: Deployment service
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: deploy, name: Deployment, type: one_time, price: {model: flat, amount: "500.00"}}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	return b
}
