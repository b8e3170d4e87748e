package invoice_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// offerCatalog is a workspace at 10.00 a seat a month in advance, a backup
// add-on to it at 5.00 a unit a month (its charge "vault"), and an
// analytics offer at a flat 100.00 a month.
const offerCatalog = `
offers:
  - id: workspace
    version: 1
    name: Workspace
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "10.00"}}
  - id: backup
    version: 1
    name: Backup
    kind: add_on
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    attaches_to: [workspace]
    charges:
      - {id: vault, name: Backup vault, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "5.00"}}
  - id: analytics
    version: 1
    name: Analytics
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: dashboards, name: Dashboards, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "100.00"}}
`

func offerBuilder(t testing.TB) *invoice.Builder {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(offerCatalog))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	return b
}

// backupSeg is a workspace of 10 seats from..to with one backup unit a
// seat: 100.00 of seats and 50.00 of vault a month.
func backupSeg(from, to time.Time) invoice.Segment {
	sg := seg(from, to, pin("workspace", 1), "10")
	sg.AddOns = []invoice.AddOn{{Pin: pin("backup", 1), Quantity: dec("1")}}
	return sg
}

// offerSub is item "ws" (10 workspace seats with backup) from June 1,
// 2026, tax exempt, with the subscription's discounts ds.
func offerSub(ds ...invoice.Discount) invoice.Subscription {
	s := sub("acme", date(2026, 6, 1), item("ws", backupSeg(date(2026, 6, 1), time.Time{})))
	s.Customer.TaxExempt = true
	s.Discounts = ds
	return s
}

// linesTaken lists each line's charge, amount and what it took of each
// discount: "vault 50.00 backup-20 10.00" (a line without any: "seats
// 100.00").
func linesTaken(inv invoice.Invoice) []string {
	var out []string
	for _, l := range inv.Lines {
		v := string(l.Charge) + " " + l.Amount.AmountString()
		for _, d := range l.Discounts {
			v += " " + string(d.ID) + " " + d.Amount.AmountString()
		}
		out = append(out, v)
	}
	return out
}

// offerProblems returns, for each problem of err (an
// *ensemble.ValidationError), its path and error text.
func offerProblems(t *testing.T, err error) map[string]string {
	t.Helper()
	var ve *ensemble.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	got := map[string]string{}
	for _, fe := range ve.Problems {
		got[fe.Path] = fe.Err.Error()
	}
	return got
}

// A subscription discount whose Offer none of its items holds discounted
// nothing, silently: "bakup" for "backup" billed June 150.00 in full (the
// customer was to pay 140.00, and partners were paid on 150.00). It is
// refused, naming the subscription, the discount and the offer, at the
// discount's offer, with the offer meant when one differs only by case
// ("Workspace") or is a typo away ("bakup"), and none when nothing is close.
func TestDiscountOfferUnknownSubscriptionOfferIsRefused(t *testing.T) {
	b := offerBuilder(t)
	s := offerSub(
		invoice.Discount{ID: "backup-20", Percent: ensemble.MustRatio("20%"), Offer: "bakup"},
		invoice.Discount{ID: "ws-15", Amount: dec("15.00"), Offer: "Workspace"},
		invoice.Discount{ID: "far", Percent: ensemble.MustRatio("5%"), Offer: "crm"},
	)
	_, err := b.Build(invoice.Run{At: date(2026, 6, 1)}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrDiscountOffer)
	require.ErrorIs(t, err, invoice.ErrUnknown)
	var de *invoice.DiscountScopeError
	require.True(t, errors.As(err, &de), "%v", err)
	require.Equal(t, invoice.SubscriptionID("acme"), de.Subscription)
	require.Equal(t, invoice.ItemID(""), de.Item)
	require.Equal(t, invoice.DiscountID("backup-20"), de.Discount)
	require.Equal(t, catalog.OfferID("bakup"), de.Offer)
	require.Equal(t, []catalog.OfferID{"backup", "workspace"}, de.Held)
	require.Empty(t, de.Charge)
	got := offerProblems(t, err)
	require.Len(t, got, 3, "%v", got)
	require.Equal(t, `invoice: subscription "acme": discount "backup-20": invoice: unknown: discount names an offer it does not reach: "bakup" (offers the subscription holds: "backup", "workspace"; did you mean "backup"?)`,
		got["subscriptions[0].discounts[0].offer"])
	require.Contains(t, got["subscriptions[0].discounts[1].offer"], `discount "ws-15"`)
	require.Contains(t, got["subscriptions[0].discounts[1].offer"], `did you mean "workspace"?`)
	require.Contains(t, got["subscriptions[0].discounts[2].offer"], `: "crm" (offers the subscription holds: "backup", "workspace")`)
	require.NotContains(t, got["subscriptions[0].discounts[2].offer"], "did you mean")
	require.Error(t, b.Validate(invoice.Run{At: date(2026, 6, 1)}, []invoice.Subscription{s}))

	// Spelt right, June bills 100.00 of seats and 50.00 of vault less 20%.
	inv := build1(t, b, invoice.Run{At: date(2026, 6, 1)}, offerSub(invoice.Discount{ID: "backup-20", Percent: ensemble.MustRatio("20%"), Offer: "backup"}))
	require.Equal(t, []string{"vault 50.00 backup-20 10.00", "seats 100.00"}, linesTaken(inv))
	require.Equal(t, "140.00", inv.Total.AmountString())
}

// An offer the subscription held earlier or holds later, as a base offer
// or an add-on, in any segment of any item, is one it reaches: the backup
// dropped on July 1 (its June line took 20%), analytics bought on August 1
// (no line of it before; 10.00 off from August). Validated at a run of
// June 1, before analytics starts, and of September 1, after the backup
// is gone.
func TestDiscountOfferHeldInAnySegment(t *testing.T) {
	b := offerBuilder(t)
	s := offerSub(
		invoice.Discount{ID: "backup-20", Percent: ensemble.MustRatio("20%"), Offer: "backup"},
		invoice.Discount{ID: "bi-10", Amount: dec("10.00"), Offer: "analytics"},
	)
	s.Items[0].Segments = []invoice.Segment{backupSeg(date(2026, 6, 1), date(2026, 7, 1)), seg(date(2026, 7, 1), time.Time{}, pin("workspace", 1), "10")}
	s.Items = append(s.Items, item("bi", seg(date(2026, 8, 1), time.Time{}, pin("analytics", 1), "1")))
	jun := build1(t, b, invoice.Run{At: date(2026, 6, 1)}, s)
	require.Equal(t, []string{"vault 50.00 backup-20 10.00", "seats 100.00"}, linesTaken(jun))
	sep := build1(t, b, invoice.Run{After: date(2026, 8, 1), At: date(2026, 9, 1)}, s)
	require.Equal(t, []string{"dashboards 100.00 bi-10 10.00", "seats 100.00"}, linesTaken(sep))
}

// "20% off the backup add-on" on the item: the percentage comes off the
// add-on's line alone (vault 50.00 less 10.00, June 140.00), as a fixed
// amount scoped so already did (30.00 off the vault alone, 120.00).
// Before, the percentage ignored an item's Offer and took 20.00 off the
// seats too (June 120.00). Limited to the base offer, it takes 20.00 off
// the seats alone (130.00).
func TestDiscountOfferItemPercentAndFixedAgree(t *testing.T) {
	b := offerBuilder(t)
	s := offerSub()
	s.Items[0].Discounts = []invoice.Discount{{ID: "backup-20", Percent: ensemble.MustRatio("20%"), Offer: "backup"}}
	inv := build1(t, b, invoice.Run{At: date(2026, 6, 1)}, s)
	require.Equal(t, []string{"vault 50.00 backup-20 10.00", "seats 100.00"}, linesTaken(inv))
	require.Equal(t, "140.00", inv.Total.AmountString())

	s.Items[0].Discounts = []invoice.Discount{{ID: "backup-30", Amount: dec("30.00"), Offer: "backup"}}
	inv = build1(t, b, invoice.Run{At: date(2026, 6, 1)}, s)
	require.Equal(t, []string{"vault 50.00 backup-30 30.00", "seats 100.00"}, linesTaken(inv))
	require.Equal(t, "120.00", inv.Total.AmountString())

	s.Items[0].Discounts = []invoice.Discount{{ID: "ws-20", Percent: ensemble.MustRatio("20%"), Offer: "workspace"}}
	inv = build1(t, b, invoice.Run{At: date(2026, 6, 1)}, s)
	require.Equal(t, []string{"vault 50.00", "seats 100.00 ws-20 20.00"}, linesTaken(inv))
	require.Equal(t, "130.00", inv.Total.AmountString())

	// Without Offer, every line of the item, as before.
	s.Items[0].Discounts = []invoice.Discount{{ID: "all-20", Percent: ensemble.MustRatio("20%")}}
	inv = build1(t, b, invoice.Run{At: date(2026, 6, 1)}, s)
	require.Equal(t, []string{"vault 50.00 all-20 10.00", "seats 100.00 all-20 20.00"}, linesTaken(inv))
}

// An item's discount limited to an offer the item never holds (analytics,
// which another item holds) took 20% off every line of the item before
// (June 120.00 for ws), and a fixed one nothing; both are refused, naming
// the item. Charges of an item's discount with Offer are checked against
// that offer's: the vault's discount cannot name the seats.
func TestDiscountOfferItemNeverHeldIsRefused(t *testing.T) {
	b := offerBuilder(t)
	s := offerSub()
	s.Items = append(s.Items, item("bi", seg(date(2026, 6, 1), time.Time{}, pin("analytics", 1), "1")))
	s.Items[0].Discounts = []invoice.Discount{
		{ID: "bi-20", Percent: ensemble.MustRatio("20%"), Offer: "analytics"},
		{ID: "bi-30", Amount: dec("30.00"), Offer: "analytics"},
		{ID: "vault-seats", Percent: ensemble.MustRatio("20%"), Offer: "backup", Charges: []catalog.ChargeID{"seats"}},
		{ID: "case", Percent: ensemble.MustRatio("5%"), Offer: "BACKUP"},
	}
	_, err := b.Build(invoice.Run{At: date(2026, 6, 1)}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrDiscountOffer)
	require.ErrorIs(t, err, invoice.ErrDiscountCharge)
	var de *invoice.DiscountScopeError
	require.True(t, errors.As(err, &de), "%v", err)
	require.Equal(t, invoice.ItemID("ws"), de.Item)
	require.Equal(t, catalog.OfferID("analytics"), de.Offer)
	require.Equal(t, []catalog.OfferID{"backup", "workspace"}, de.Held)
	got := offerProblems(t, err)
	require.Len(t, got, 4, "%v", got)
	require.Equal(t, `invoice: subscription "acme", item "ws": discount "bi-20": invoice: unknown: discount names an offer it does not reach: "analytics" (offers the item holds: "backup", "workspace")`,
		got["subscriptions[0].items[0].discounts[0].offer"])
	require.Contains(t, got["subscriptions[0].items[0].discounts[1].offer"], `discount "bi-30"`)
	require.Contains(t, got["subscriptions[0].items[0].discounts[2].charges[0]"], `discount "vault-seats": invoice: unknown: discount names a charge its offers lack: "seats" (charges of offer "backup" of the item: vault)`)
	require.Contains(t, got["subscriptions[0].items[0].discounts[3].offer"], `did you mean "backup"?`)
}
