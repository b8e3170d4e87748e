package invoice_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// drawOfferSub draws a subscription of offerCatalog from June 1, 2026: item
// "ws", one to three workspace segments of drawn quantities, each maybe
// with the backup add-on, maybe a line and a partner discount; maybe item
// "bi" (analytics), a cancellation and a subscription percentage "base";
// and the discount under test d, percent or fixed, of the subscription or
// of ws (onItem), for a drawn duration, limited to an offer its owner
// holds in some segment.
func drawOfferSub(t *rapid.T) (invoice.Subscription, invoice.Discount, bool) {
	s := offerSub()
	it := invoice.Item{ID: "ws"}
	at := date(2026, 6, 1)
	n := rapid.IntRange(1, 3).Draw(t, "segments")
	for k := range n {
		qty := rapid.SampledFrom([]string{"0", "1", "7", "10"}).Draw(t, "qty")
		sg := invoice.Segment{Start: at, Pin: pin("workspace", 1), Quantity: dec(qty), Discount: drawRatio(t, "line")}
		if rapid.Bool().Draw(t, "backup") {
			sg.AddOns = []invoice.AddOn{{Pin: pin("backup", 1), Quantity: dec(rapid.SampledFrom([]string{"0", "1", "2"}).Draw(t, "backup_qty"))}}
		}
		at = drawInstant(t, at, 24*40, "change")
		if k < n-1 {
			sg.End = at
		}
		it.Segments = append(it.Segments, sg)
	}
	it.PartnerDiscount = drawRatio(t, "partner")
	s.Items = []invoice.Item{it}
	if rapid.Bool().Draw(t, "analytics") {
		s.Items = append(s.Items, item("bi", seg(drawInstant(t, date(2026, 6, 1), 24*60, "bi_start"), time.Time{}, pin("analytics", 1), "1")))
	}
	if rapid.Bool().Draw(t, "cancel") {
		s.CancelAt = drawInstant(t, date(2026, 6, 1), 24*110, "cancel_at")
	}
	if p := drawRatio(t, "base_percent"); !p.IsZero() {
		s.Discounts = append(s.Discounts, invoice.Discount{ID: "base", Percent: p, Duration: invoice.Forever})
	}
	d := drawScopedDiscount(t)
	onItem := rapid.Bool().Draw(t, "on_item")
	owner := s.Items
	if onItem {
		owner = s.Items[:1]
	}
	var held []catalog.OfferID
	for _, o := range owner {
		for _, sg := range o.Segments {
			held = append(held, sg.Pin.Offer)
			for _, a := range sg.AddOns {
				held = append(held, a.Pin.Offer)
			}
		}
	}
	slices.Sort(held)
	d.Offer = rapid.SampledFrom(slices.Compact(held)).Draw(t, "offer")
	return s, d, onItem
}

// offerRuns bills s monthly from June 1 to October 1 at instants ats,
// each run passing the lines issued before in Run.Billed, and returns
// every line billed.
func offerRuns(t *rapid.T, b *invoice.Builder, s invoice.Subscription, ats []time.Time) []invoice.Line {
	var billed []invoice.Line
	var after time.Time
	for _, at := range ats {
		invs, err := b.Build(invoice.Run{After: after, At: at, Billed: billed}, []invoice.Subscription{s})
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

// TestPropertyDiscountOfferLeavesOtherOffersAlone: a discount limited to an
// offer (Discount.Offer), percent or fixed, of the subscription or of an
// item, never changes a line of another offer (or, for an item's, of
// another item): its amount, its discounts and its net are those billed
// without the discount; the lines of its offer keep their amounts and
// their other discounts. A percentage limited to an offer gives each line
// of that offer (and owner) exactly what the unlimited percentage gives
// it, and the others what they bill without it: an add-on's "20% off"
// and the base offer's split the item's percentage between them.
func TestPropertyDiscountOfferLeavesOtherOffersAlone(t *testing.T) {
	b := offerBuilder(t)
	rapid.Check(t, func(t *rapid.T) {
		s, d, onItem := drawOfferSub(t)
		var ats []time.Time
		for m := time.June; m <= time.October; m++ {
			if m == time.October || rapid.Bool().Draw(t, "run_"+m.String()) {
				ats = append(ats, date(2026, m, 1))
			}
		}
		reached := func(l invoice.Line) bool { return l.Pin.Offer == d.Offer && (!onItem || l.Item == "ws") }
		without := offerRuns(t, b, s, ats)
		scoped := offerRuns(t, b, with(s, d, onItem), ats)
		require.Len(t, scoped, len(without))
		for i := range without {
			w, sc := without[i], scoped[i]
			require.Equal(t, w.ID, sc.ID)
			require.True(t, w.Amount.Equal(sc.Amount), "%s: %s vs %s", w.ID, w.Amount, sc.Amount)
			if reached(w) {
				require.Equal(t, scopeFigures(w, ""), scopeFigures(sc, d.ID), "%s: the discount %s changed the others", w.ID, d.ID)
				continue
			}
			require.Equal(t, scopeFigures(w, ""), scopeFigures(sc, ""), "%s: a line of %s, outside offer %s", w.ID, w.Pin.Offer, d.Offer)
			require.True(t, w.Net.Equal(sc.Net), "%s: net %s vs %s", w.ID, w.Net, sc.Net)
		}
		if d.Percent.IsZero() {
			return
		}
		unscoped := d
		unscoped.Offer = ""
		u := offerRuns(t, b, with(s, unscoped, onItem), ats)
		require.Len(t, u, len(without))
		for i := range u {
			want := without[i]
			if reached(u[i]) {
				want = u[i]
			}
			require.Equal(t, scopeFigures(want, ""), scopeFigures(scoped[i], ""), "%s", u[i].ID)
			require.True(t, want.Net.Equal(scoped[i].Net), "%s", u[i].ID)
		}
	})
}
