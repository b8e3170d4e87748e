package invoice_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// drawLength draws a discount's Length: months, weeks or days.
func drawLength(t *rapid.T) ensemble.Cadence {
	switch rapid.IntRange(0, 2).Draw(t, "length_unit") {
	case 0:
		return ensemble.Every(rapid.IntRange(0, 4).Draw(t, "months"), ensemble.Monthly)
	case 1:
		return ensemble.Every(rapid.IntRange(1, 8).Draw(t, "weeks"), ensemble.Weekly)
	default:
		return ensemble.Every(rapid.IntRange(1, 75).Draw(t, "days"), ensemble.Daily)
	}
}

// drawLengthSub draws a subscription of one item (in advance or in arrears,
// with quantity changes and maybe an end or a cancellation) whose item
// discount lasts a Length from its start (the item's, or a drawn instant),
// and returns it with the span [from, to) the discount covers.
func drawLengthSub(t *rapid.T) (invoice.Subscription, time.Time, time.Time) {
	zone := rapid.SampledFrom(zones).Draw(t, "zone")
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	anchor := time.Date(2028, time.Month(rapid.IntRange(1, 12).Draw(t, "month")), rapid.IntRange(1, 31).Draw(t, "anchor_day"), rapid.IntRange(0, 23).Draw(t, "anchor_hour"), 0, 0, 0, loc)
	s := sub("s", anchor)
	s.TimeZone = zone
	s.Customer.TaxExempt = true
	p := pin(rapid.SampledFrom([]string{"basic", "pro", "support"}).Draw(t, "offer"), 1)
	it := invoice.Item{ID: "i"}
	at := drawInstant(t, anchor.Add(-24*time.Hour), 24*40, "start")
	for k := range rapid.IntRange(1, 3).Draw(t, "segments") {
		sg := invoice.Segment{Start: at, Pin: p, Quantity: drawQty(t, "qty")}
		at = drawInstant(t, at, 24*50, "end")
		if k > 0 || rapid.Bool().Draw(t, "closed") {
			sg.End = at
		}
		it.Segments = append(it.Segments, sg)
	}
	for k := 0; k < len(it.Segments)-1; k++ {
		if it.Segments[k].End.IsZero() {
			it.Segments[k].End = it.Segments[k+1].Start
		}
	}
	d := invoice.Discount{ID: "intro", Percent: rapid.SampledFrom([]ensemble.Ratio{ensemble.MustRatio("5%"), ensemble.MustRatio("1/3"), ensemble.MustRatio("30%"), ensemble.MustRatio("100%")}).Draw(t, "percent"),
		Duration: invoice.Repeating, Length: drawLength(t)}
	from := it.Segments[0].Start
	if rapid.Bool().Draw(t, "own_start") {
		d.Start = drawInstant(t, from.Add(-24*20*time.Hour), 24*60, "discount_start")
		from = d.Start
	}
	to, err := d.Length.Boundary(from, 1, loc)
	require.NoError(t, err)
	it.Discounts = []invoice.Discount{d}
	s.Items = []invoice.Item{it}
	if rapid.Bool().Draw(t, "cancel") {
		s.CancelAt = drawInstant(t, anchor, 24*150, "cancel_at")
	}
	return s, from, to
}

// segmentsDiscounted is s with its item's discount written as what it
// means: the item's segments cut where the discount starts and ends, with
// the discount as their line discount (Segment.Discount) inside.
func segmentsDiscounted(s invoice.Subscription, from, to time.Time) invoice.Subscription {
	it := s.Items[0]
	p := it.Discounts[0].Percent
	var segs []invoice.Segment
	for _, sg := range it.Segments {
		cuts := []time.Time{sg.Start}
		for _, x := range []time.Time{from, to} {
			if x.After(sg.Start) && (sg.End.IsZero() || x.Before(sg.End)) {
				cuts = append(cuts, x)
			}
		}
		slices.SortFunc(cuts, time.Time.Compare)
		for k, c := range cuts {
			piece := sg
			piece.Start = c
			if k+1 < len(cuts) {
				piece.End = cuts[k+1]
			}
			if !c.Before(from) && c.Before(to) {
				piece.Discount = p
			}
			segs = append(segs, piece)
		}
	}
	it.Segments, it.Discounts = segs, nil
	s.Items = []invoice.Item{it}
	return s
}

// netOf sums what the invoices' lines bill after discounts, and what
// discount id took of them.
func netOf(t *rapid.T, invs []invoice.Invoice, id invoice.DiscountID) (net, took ensemble.Money) {
	net, took = money("0"), money("0")
	var err error
	for _, inv := range invs {
		for _, l := range inv.Lines {
			n, err2 := l.Amount.Sub(l.Discount)
			require.NoError(t, err2)
			net, err = net.Add(n)
			require.NoError(t, err)
			for _, d := range l.Discounts {
				if d.ID == id {
					took, err = took.Add(d.Amount)
					require.NoError(t, err)
				}
			}
		}
	}
	return net, took
}

// A discount lasting a Length discounts exactly the service in [start,
// start + Length): every run bills, after discounts, what the same
// subscription bills with its segments cut at the discount's start and end
// and the discount as their line discount inside (a change of discount,
// prorated like any change), on every proration basis; and any split of the
// runs takes in all what one run takes.
func TestPropertyDiscountLengthCoversExactlyItsSpan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := termsPropBuilder(t)
		s, from, to := drawLengthSub(t)
		horizon := s.Anchor.AddDate(0, 10, 0)
		one, err := b.Build(invoice.Run{At: horizon}, []invoice.Subscription{s})
		require.NoError(t, err)
		net, took := netOf(t, one, "intro")

		model, err := b.Build(invoice.Run{At: horizon}, []invoice.Subscription{segmentsDiscounted(s, from, to)})
		require.NoError(t, err)
		wantNet, wantTook := netOf(t, model, "line")
		require.True(t, net.Equal(wantNet), "net %s, the segments' %s (discount over [%s, %s))", net, wantNet, from, to)
		require.True(t, took.Equal(wantTook), "discount %s, the segments' %s", took, wantTook)

		var cuts []time.Time
		for range rapid.IntRange(1, 6).Draw(t, "runs") {
			cuts = append(cuts, drawInstant(t, s.Anchor.Add(-48*time.Hour), 24*300, "run_at"))
		}
		slices.SortFunc(cuts, time.Time.Compare)
		cuts = slices.CompactFunc(cuts, time.Time.Equal)
		var all []invoice.Invoice
		after := time.Time{}
		for _, at := range append(cuts, horizon) {
			invs, err := b.Build(invoice.Run{After: after, At: at}, []invoice.Subscription{s})
			require.NoError(t, err)
			all = append(all, invs...)
			after = at
		}
		splitNet, splitTook := netOf(t, all, "intro")
		require.True(t, splitTook.Equal(took), "split runs took %s, one run %s", splitTook, took)
		require.True(t, splitNet.Equal(net), "split runs bill %s, one run %s", splitNet, net)
	})
}

// A fixed discount lasting a Length (or counted in cycles) takes, over any
// split of the runs, what one run takes, line by line, even when changes
// re-charge a cycle after its first line was billed (each run given what
// the earlier ones issued, as a host keeps it), and never more than its
// amount for each cycle it reaches.
func TestPropertyFixedDiscountLengthSplitsLikeOneRun(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := termsPropBuilder(t)
		s, from, to := drawLengthSub(t)
		it := &s.Items[0]
		d := &it.Discounts[0]
		d.Percent, d.Amount = ensemble.Ratio{}, dec(rapid.SampledFrom([]string{"0.01", "10.00", "33.33", "1000.00"}).Draw(t, "amount"))
		cycles := rapid.Bool().Draw(t, "counted_in_cycles")
		if cycles {
			d.Length, d.Cycles = ensemble.Cadence{}, rapid.IntRange(1, 4).Draw(t, "cycles")
		}
		horizon := s.Anchor.AddDate(0, 10, 0)
		one, err := b.Build(invoice.Run{At: horizon}, []invoice.Subscription{s})
		require.NoError(t, err)
		_, took := netOf(t, one, "intro")
		loc, err := time.LoadLocation(s.TimeZone)
		require.NoError(t, err)
		reached := d.Cycles
		if !cycles {
			periods, err := ensemble.Every(1, ensemble.Monthly).Periods(s.Anchor, ensemble.Period{Start: from, End: to}, loc)
			require.NoError(t, err)
			reached = 0
			for range periods {
				reached++
			}
		}
		most := ensemble.MoneyFromDecimal(d.Amount.Mul(dec(fmt.Sprint(reached))), eur)
		c, err := took.Cmp(most)
		require.NoError(t, err)
		require.LessOrEqual(t, c, 0, "took %s, more than %s for %d cycles", took, most, reached)

		var cuts []time.Time
		for range rapid.IntRange(1, 6).Draw(t, "runs") {
			cuts = append(cuts, drawInstant(t, s.Anchor.Add(-48*time.Hour), 24*300, "run_at"))
		}
		slices.SortFunc(cuts, time.Time.Compare)
		cuts = slices.CompactFunc(cuts, time.Time.Equal)
		var all []invoice.Invoice
		var billed []invoice.Line
		after := time.Time{}
		for _, at := range append(cuts, horizon) {
			invs, err := b.Build(invoice.Run{After: after, At: at, Billed: billed}, []invoice.Subscription{s})
			require.NoError(t, err)
			all = append(all, invs...)
			for _, inv := range invs {
				billed = append(billed, inv.Lines...)
			}
			after = at
		}
		_, splitTook := netOf(t, all, "intro")
		require.True(t, splitTook.Equal(took), "split runs took %s, one run %s", splitTook, took)
		lines := func(invs []invoice.Invoice) map[invoice.LineID]string {
			out := map[invoice.LineID]string{}
			for _, inv := range invs {
				for _, l := range inv.Lines {
					out[l.ID] = lineKey(l)
				}
			}
			return out
		}
		require.Equal(t, lines(one), lines(all))
	})
}
