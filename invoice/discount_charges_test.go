package invoice_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// chargesCatalog is a marketplace's trial offer: a one-time onboarding fee
// of 500.00, a monthly platform fee of 200.00 in advance and usage at 0.10
// an event, monthly in arrears; and a support add-on at 50.00 a month.
const chargesCatalog = `
offers:
  - id: trialbox
    version: 1
    name: Trialbox
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: onboarding, name: Onboarding, type: one_time, price: {model: flat, amount: "500.00"}}
      - {id: platform, name: Platform, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "200.00"}}
      - {id: events, name: Events, type: usage, meter: events, cadence: {unit: monthly}, price: {model: per_unit, amount: "0.10"}}
  - id: other
    version: 1
    name: Other
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "10.00"}}
`

func chargesBuilder(t testing.TB) *invoice.Builder {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(chargesCatalog))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	return b
}

// chargesSub is one trialbox from June 1, 2026, tax exempt, with ds.
func chargesSub(ds ...invoice.Discount) invoice.Subscription {
	s := sub("mkt", date(2026, 6, 1), item("box", seg(date(2026, 6, 1), time.Time{}, pin("trialbox", 1), "1")))
	s.Customer.TaxExempt = true
	s.Discounts = ds
	return s
}

// eventsIn is the events of the month from m.
func eventsIn(m time.Month, events string) usage.Aggregate {
	return usage.Aggregate{Line: "mkt/box", Meter: "events", Aggregation: usage.Sum,
		Period: ensemble.MustPeriod(date(2026, m, 1), date(2026, m+1, 1)), Value: dec(events), Records: 1,
		Digest: usage.DigestOf(usage.RecordID("e" + m.String()))}
}

// discountsBy returns, for each line of invs, its charge, the month its
// service starts and what it took of each discount: "events 06 usage-15
// -60.00" (sorted as the lines are).
func discountsBy(invs ...invoice.Invoice) []string {
	var out []string
	for _, inv := range invs {
		for _, l := range inv.Lines {
			for _, d := range l.Discounts {
				out = append(out, string(l.Charge)+" "+l.Period.Start.Format("01")+" "+string(d.ID)+" "+d.Amount.AmountString())
			}
		}
	}
	return out
}

// monthly bills s on June 1 and July 1 (June's usage), issuing each
// invoice and passing the lines issued to the next run.
func chargesMonthly(t *testing.T, b *invoice.Builder, s invoice.Subscription, june string) (jun, jul invoice.Invoice) {
	t.Helper()
	jun = build1(t, b, invoice.Run{At: date(2026, 6, 1)}, s)
	jun, err := invoice.Issue(jun, date(2026, 6, 1))
	require.NoError(t, err)
	jul = build1(t, b, invoice.Run{After: date(2026, 6, 1), At: date(2026, 7, 1), Usage: []usage.Aggregate{eventsIn(time.June, june)}, Billed: jun.Lines}, s)
	jul, err = invoice.Issue(jul, date(2026, 7, 1))
	require.NoError(t, err)
	return jun, jul
}

// "15% off usage" takes 15% of June's 4,000 events (400.00): 60.00, and
// nothing off the 500.00 onboarding or the 200.00 platform fees. Unscoped,
// it took 75.00 and 30.00 off them too (and 30.00 off July's fee): the
// trial had to split the onboarding into its own offer and order line.
func TestDiscountChargesPercentTakesOnlyTheNamedCharge(t *testing.T) {
	b := chargesBuilder(t)
	jun, jul := chargesMonthly(t, b, chargesSub(invoice.Discount{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}}), "4000")
	require.Equal(t, []string{"one_time onboarding 500.00", "recurring platform 200.00"}, amounts(jun))
	require.Equal(t, "700.00", jun.Total.AmountString())
	require.Equal(t, []string{"events 06 usage-15 60.00"}, discountsBy(jun, jul))
	require.Equal(t, "540.00", jul.Total.AmountString(), "June's 400.00 of events less 60.00, July's 200.00 platform fee")

	jun, jul = chargesMonthly(t, b, chargesSub(invoice.Discount{ID: "all-15", Percent: ensemble.MustRatio("15%")}), "4000")
	require.Equal(t, []string{"onboarding 06 all-15 75.00", "platform 06 all-15 30.00", "events 06 all-15 60.00", "platform 07 all-15 30.00"}, discountsBy(jun, jul))
}

// A fixed 50.00 a month off usage is taken off the usage lines alone: June's
// 400.00 of events take 50.00 on July 1, the onboarding and platform fees
// billed June 1 nothing; with 200 events (20.00) June's usage takes 20.00
// and the 30.00 left is not taken off the fees. Unscoped, June 1's fees
// took it (35.71 off 500.00 and 14.29 off 200.00, in proportion at one
// instant). One run from June 1 to July 1 bills what the two runs bill.
func TestDiscountChargesFixedTakenOnlyFromTheNamedLines(t *testing.T) {
	b := chargesBuilder(t)
	scoped := invoice.Discount{ID: "usage-50", Amount: dec("50.00"), Duration: invoice.Forever, Charges: []catalog.ChargeID{"events"}}
	jun, jul := chargesMonthly(t, b, chargesSub(scoped), "4000")
	require.Empty(t, discountsBy(jun))
	require.Equal(t, []string{"events 06 usage-50 50.00"}, discountsBy(jul))
	require.Equal(t, "550.00", jul.Total.AmountString())
	one := build1(t, b, invoice.Run{At: date(2026, 7, 1), Usage: []usage.Aggregate{eventsIn(time.June, "4000")}}, chargesSub(scoped))
	require.Equal(t, []string{"events 06 usage-50 50.00"}, discountsBy(one))

	jun, jul = chargesMonthly(t, b, chargesSub(scoped), "200")
	require.Equal(t, []string{"events 06 usage-50 20.00"}, discountsBy(jun, jul))

	unscoped := scoped
	unscoped.ID, unscoped.Charges = "all-50", nil
	jun, jul = chargesMonthly(t, b, chargesSub(unscoped), "4000")
	require.Equal(t, []string{"onboarding 06 all-50 35.71", "platform 06 all-50 14.29", "platform 07 all-50 50.00"}, discountsBy(jun, jul))
}

// A segment's line discount (an order line's) limited to the events takes
// 15% off them alone, as a subscription discount scoped so does, with ID
// "line"; its credit note gives back what the usage line took: crediting
// the whole June usage line credits 340.00.
func TestDiscountChargesSegmentDiscount(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	s.Items[0].Segments[0].Discount = ensemble.MustRatio("15%")
	s.Items[0].Segments[0].DiscountCharges = []catalog.ChargeID{"events"}
	jun, jul := chargesMonthly(t, b, s, "4000")
	require.Equal(t, []string{"events 06 line 60.00"}, discountsBy(jun, jul))
	roundTrip(t, s)

	var usageLine invoice.LineID
	for _, l := range jul.Lines {
		if l.Charge == "events" {
			usageLine = l.ID
		}
	}
	cn, err := invoice.NewCreditNote(jul, nil, invoice.CreditRequest{ID: "cn-1", Reason: invoice.ReasonGoodwill, At: date(2026, 7, 2), Lines: []invoice.CreditLine{{Line: usageLine}}})
	require.NoError(t, err)
	require.Equal(t, "-340.00", cn.Total.AmountString())
}

// A charge the discount's offers lack is refused at validation, naming the
// discount and the charge, rather than a discount that takes nothing: a
// typo ("event"), a charge of another offer than Offer, a charge of an
// offer another item holds (for an item's discount); and a segment's
// charges without a discount.
func TestDiscountChargesUnknownChargeIsRefused(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub(
		invoice.Discount{ID: "typo", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events", "event"}},
		invoice.Discount{ID: "wrong-offer", Amount: dec("5.00"), Offer: "trialbox", Charges: []catalog.ChargeID{"seats"}},
		invoice.Discount{ID: "twice", Percent: ensemble.MustRatio("5%"), Charges: []catalog.ChargeID{"events", "events"}},
	)
	s.Items = append(s.Items, item("desk", seg(date(2026, 6, 1), time.Time{}, pin("other", 1), "2")))
	s.Items[0].Discounts = []invoice.Discount{{ID: "item-seats", Percent: ensemble.MustRatio("10%"), Charges: []catalog.ChargeID{"seats"}}}
	s.Items[1].Segments[0].DiscountCharges = []catalog.ChargeID{"seats"}
	_, err := b.Build(invoice.Run{At: date(2026, 6, 1)}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrDiscountCharge)
	require.ErrorIs(t, err, invoice.ErrUnknown)
	var ve *ensemble.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	got := map[string]string{}
	for _, fe := range ve.Problems {
		var de *invoice.DiscountScopeError
		if errors.As(fe.Err, &de) {
			got[fe.Path] = string(de.Item) + "/" + string(de.Discount) + "/" + de.Charge
		} else {
			got[fe.Path] = fe.Err.Error()
		}
	}
	require.Equal(t, "/typo/event", got["subscriptions[0].discounts[0].charges[1]"])
	require.Equal(t, "/wrong-offer/seats", got["subscriptions[0].discounts[1].charges[0]"])
	require.Contains(t, got["subscriptions[0].discounts[2].charges[1]"], "duplicate")
	require.Equal(t, "box/item-seats/seats", got["subscriptions[0].items[0].discounts[0].charges[0]"])
	require.Contains(t, got["subscriptions[0].items[1].segments[0].discount_charges"], "without a discount")
	require.Len(t, got, 5, "%v", got)
	require.Contains(t, err.Error(), `discount "typo"`)
	require.Contains(t, err.Error(), `"event" (charges of the subscription's offers: events, onboarding, platform, seats)`)
	require.NoError(t, b.Validate(invoice.Run{At: date(2026, 6, 1)}, []invoice.Subscription{chargesSub(
		invoice.Discount{ID: "ok", Percent: ensemble.MustRatio("15%"), Offer: "trialbox", Charges: []catalog.ChargeID{"events", "onboarding"}})}))
}

// A minimum commitment of 1,200.00 a month counts June's lines net of
// "15% off usage": 500.00 + 200.00 + 340.00 = 1,040.00, and tops it up by
// 160.00 on July 1, billing back the 60.00 the usage line took
// (Line.Recouped) and nothing of the fees, which took none.
func TestDiscountChargesTrueUpRecoupsWhatTheScopeTook(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub(invoice.Discount{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}})
	s.Commitment = &invoice.Commitment{Minimum: dec("1200.00")}
	_, jul := chargesMonthly(t, b, s, "4000")
	var up *invoice.Line
	for i := range jul.Lines {
		if jul.Lines[i].Kind == invoice.KindCommitmentTrueUp {
			up = &jul.Lines[i]
		}
	}
	require.NotNil(t, up)
	require.Equal(t, "160.00", up.Amount.AmountString())
	require.Len(t, up.Recouped, 1)
	require.Equal(t, invoice.DiscountID("usage-15"), up.Recouped[0].ID)
	require.Equal(t, "60.00", up.Recouped[0].Amount.AmountString())
}

// "15% off the platform fee" from June 1, recorded on July 10 (after the
// runs of June 1 and July 1 billed the fees in full): the August 1 run
// catches up the platform lines alone, reversing June's and July's 200.00
// and billing them again 30.00 off, and bills August's 170.00; the
// onboarding fee and the usage stand as billed. Unscoped, the onboarding
// was reissued 75.00 off too. (Usage already billed is not recomputed by a
// back-dated change, scoped or not: see Run.Billed.)
func TestDiscountChargesBackdatedCatchesUpTheScopeAlone(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	jun, jul := chargesMonthly(t, b, s, "4000")
	s.Discounts = []invoice.Discount{{ID: "platform-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"platform"}, Recorded: date(2026, 7, 10)}}
	aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")},
		Billed: append(jun.Lines, jul.Lines...)}, s)
	var got []string
	for _, l := range aug.Lines {
		got = append(got, l.Kind.String()+" "+string(l.Charge)+" "+l.Period.Start.Format("01")+" "+l.Net.AmountString())
	}
	require.Equal(t, []string{
		"recurring platform 06 170.00", "reversal platform 06 -200.00",
		"usage events 07 100.00",
		"recurring platform 07 170.00", "reversal platform 07 -200.00",
		"recurring platform 08 170.00",
	}, got)
}

// An item's partner discount limited to the platform fee takes 10% off
// it alone (20.00 a month, ID "partner"); limited to a charge the item's
// offers lack, or given without a partner discount, it is refused.
func TestDiscountChargesPartnerDiscount(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	s.Items[0].PartnerDiscount = ensemble.MustRatio("10%")
	s.Items[0].PartnerDiscountCharges = []catalog.ChargeID{"platform"}
	jun, jul := chargesMonthly(t, b, s, "4000")
	require.Equal(t, []string{"platform 06 partner 20.00", "platform 07 partner 20.00"}, discountsBy(jun, jul))

	s.Items[0].PartnerDiscountCharges = []catalog.ChargeID{"seats"}
	_, err := b.Build(invoice.Run{At: date(2026, 6, 1)}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrDiscountCharge)
	require.ErrorContains(t, err, `subscriptions[0].items[0].partner_discount_charges[0]: invoice: subscription "mkt", item "box": discount "partner"`)
	s.Items[0].PartnerDiscount = ensemble.Ratio{}
	_, err = b.Build(invoice.Run{At: date(2026, 6, 1)}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrInvalid)
	require.ErrorContains(t, err, "without a partner discount")
}
