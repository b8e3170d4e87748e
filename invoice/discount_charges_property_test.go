package invoice_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

var trialboxCharges = []catalog.ChargeID{"events", "onboarding", "platform"}

// drawChargesSub draws a trialbox subscription from June 1, 2026 (one to
// three segments of drawn quantities, maybe a line discount and a partner
// discount, each maybe scoped, maybe an "other" item and a cancellation) with drawn percentage discounts, and
// the discount under test d: percent or fixed, of the subscription or the
// trialbox item, for a drawn duration, limited to drawn charges.
func drawChargesSub(t *rapid.T) (invoice.Subscription, invoice.Discount, bool) {
	s := chargesSub()
	it := invoice.Item{ID: "box"}
	at := date(2026, 6, 1)
	n := rapid.IntRange(1, 3).Draw(t, "segments")
	for k := range n {
		sg := invoice.Segment{Start: at, Pin: pin("trialbox", 1), Quantity: drawQty(t, "qty"), Discount: drawRatio(t, "line")}
		if !sg.Discount.IsZero() && rapid.Bool().Draw(t, "line_scoped") {
			sg.DiscountCharges = []catalog.ChargeID{rapid.SampledFrom(trialboxCharges).Draw(t, "line_charge")}
		}
		at = drawInstant(t, at, 24*40, "change")
		if k < n-1 {
			sg.End = at
		}
		it.Segments = append(it.Segments, sg)
	}
	if it.PartnerDiscount = drawRatio(t, "partner"); !it.PartnerDiscount.IsZero() && rapid.Bool().Draw(t, "partner_scoped") {
		it.PartnerDiscountCharges = []catalog.ChargeID{rapid.SampledFrom(trialboxCharges).Draw(t, "partner_charge")}
	}
	s.Items = []invoice.Item{it}
	if rapid.Bool().Draw(t, "other") {
		s.Items = append(s.Items, item("desk", seg(date(2026, 6, 10), time.Time{}, pin("other", 1), "3")))
	}
	if rapid.Bool().Draw(t, "cancel") {
		s.CancelAt = drawInstant(t, date(2026, 6, 1), 24*110, "cancel_at")
	}
	if p := drawRatio(t, "other_percent"); !p.IsZero() {
		s.Discounts = append(s.Discounts, invoice.Discount{ID: "base", Percent: p, Duration: invoice.Forever})
	}
	d := drawScopedDiscount(t)
	d.Charges = rapid.SliceOfNDistinct(rapid.SampledFrom(trialboxCharges), 1, 3, rapid.ID).Draw(t, "charges")
	onItem := rapid.Bool().Draw(t, "on_item")
	return s, d, onItem
}

// with returns s with discount d added (to the trialbox item's when
// onItem).
func with(s invoice.Subscription, d invoice.Discount, onItem bool) invoice.Subscription {
	s.Items = slices.Clone(s.Items)
	if onItem {
		s.Items[0].Discounts = append(slices.Clone(s.Items[0].Discounts), d)
	} else {
		s.Discounts = append(slices.Clone(s.Discounts), d)
	}
	return s
}

// chargesRuns bills s monthly from June 1 to October 1 at the drawn run
// instants (each run passing the lines issued before in Run.Billed), with
// events each month in service, and returns every line billed.
func chargesRuns(t *rapid.T, b *invoice.Builder, s invoice.Subscription, ats []time.Time, events []string) []invoice.Line {
	var billed []invoice.Line
	var after time.Time
	for _, at := range ats {
		var aggs []usage.Aggregate
		for m := time.June; m <= time.September; m++ {
			end := date(2026, m+1, 1)
			if end.After(at) || !after.IsZero() && !end.After(after) || !s.CancelAt.IsZero() && !s.CancelAt.After(date(2026, m, 1)) {
				continue
			}
			aggs = append(aggs, eventsIn(m, events[m-time.June]))
		}
		invs, err := b.Build(invoice.Run{After: after, At: at, Usage: aggs, Billed: billed}, []invoice.Subscription{s})
		require.NoError(t, err)
		for _, inv := range invs {
			inv, err := invoice.Issue(inv, at)
			require.NoError(t, err)
			billed = append(billed, inv.Lines...)
		}
		after = at
	}
	return billed
}

// scopeFigures is what a line bills: its ID, amount, each discount and its
// net, for comparing two builds line by line.
func scopeFigures(l invoice.Line, skip invoice.DiscountID) []string {
	out := []string{string(l.ID), l.Amount.String()}
	for _, d := range l.Discounts {
		if d.ID != skip {
			out = append(out, string(d.ID)+" "+d.Amount.String())
		}
	}
	return out
}

// TestPropertyDiscountChargesLeaveOtherLinesAlone: a discount limited to
// charges never changes a line of another charge (its amount, its
// discounts, its net), whatever its kind, duration and owner and however
// the runs fall; the lines of its charges keep their amounts. And a
// discount limited to every charge the subscription holds bills exactly
// what the unscoped discount bills, percent and fixed alike.
func TestPropertyDiscountChargesLeaveOtherLinesAlone(t *testing.T) {
	b := chargesBuilder(t)
	rapid.Check(t, func(t *rapid.T) {
		s, d, onItem := drawChargesSub(t)
		var ats []time.Time
		for m := time.June; m <= time.October; m++ {
			if m == time.October || rapid.Bool().Draw(t, "run_"+m.String()) {
				ats = append(ats, date(2026, m, 1))
			}
		}
		events := make([]string, 4)
		for k := range events {
			events[k] = rapid.SampledFrom([]string{"0", "1", "200", "4000"}).Draw(t, "events")
		}
		without := chargesRuns(t, b, s, ats, events)
		scoped := chargesRuns(t, b, with(s, d, onItem), ats, events)
		require.Len(t, scoped, len(without))
		for i := range without {
			w, sc := without[i], scoped[i]
			require.Equal(t, w.ID, sc.ID)
			require.True(t, w.Amount.Equal(sc.Amount), "%s: %s vs %s", w.ID, w.Amount, sc.Amount)
			if slices.Contains(d.Charges, w.Charge) {
				require.Equal(t, scopeFigures(w, ""), scopeFigures(sc, d.ID), "%s: the discount %s changed the others", w.ID, d.ID)
				continue
			}
			require.Equal(t, scopeFigures(w, ""), scopeFigures(sc, ""), "%s: a line of %s, outside %v", w.ID, w.Charge, d.Charges)
			require.True(t, w.Net.Equal(sc.Net), "%s: net %s vs %s", w.ID, w.Net, sc.Net)
		}

		all := d
		all.Charges = slices.Clone(trialboxCharges)
		if len(s.Items) > 1 && !onItem {
			all.Charges = append(all.Charges, "seats")
		}
		unscoped := d
		unscoped.Charges = nil
		a := chargesRuns(t, b, with(s, all, onItem), ats, events)
		u := chargesRuns(t, b, with(s, unscoped, onItem), ats, events)
		require.Len(t, a, len(u))
		for i := range u {
			require.Equal(t, scopeFigures(u[i], ""), scopeFigures(a[i], ""))
			require.True(t, u[i].Net.Equal(a[i].Net), "%s", u[i].ID)
		}
	})
}

// drawScopedDiscount draws the discount the scope properties test, "scoped":
// a percentage or a fixed amount, forever, once from a drawn start, for a
// number of cycles or for some weeks.
func drawScopedDiscount(t *rapid.T) invoice.Discount {
	d := invoice.Discount{ID: "scoped", Duration: invoice.Forever}
	if rapid.Bool().Draw(t, "fixed") {
		d.Amount = dec(rapid.SampledFrom([]string{"0.01", "15.00", "50.00", "1000.00"}).Draw(t, "amount"))
	} else {
		d.Percent = rapid.SampledFrom([]ensemble.Ratio{ensemble.MustRatio("15%"), ensemble.MustRatio("1/3"), ensemble.MustRatio("100%")}).Draw(t, "percent")
	}
	switch rapid.IntRange(0, 3).Draw(t, "duration") {
	case 1:
		d.Duration = invoice.Once
		d.Start = drawInstant(t, date(2026, 5, 20), 24*60, "start")
	case 2:
		d.Duration, d.Cycles = invoice.Repeating, rapid.IntRange(1, 3).Draw(t, "cycles")
	case 3:
		d.Duration, d.Length = invoice.Repeating, ensemble.Every(rapid.IntRange(1, 6).Draw(t, "weeks"), ensemble.Weekly)
		d.Start = drawInstant(t, date(2026, 5, 20), 24*60, "start")
	}
	return d
}
