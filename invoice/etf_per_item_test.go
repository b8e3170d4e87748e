package invoice_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// A subscription's fixed EUR 100.00 fee over an item whose seats carry an
// add-on of another offer is allocated over the two offers by their
// remaining value, one line each, attributed to its offer: 2 Basic seats
// (EUR 10.00) with 3 TB of Extra storage per seat (EUR 2.00 a TB), March 1
// to July 1 (UTC) under a 12-month term, leave 8 × 20.00 = 160.00 and
// 8 × 12.00 = 96.00, so 100 × 160/256 = 62.50 and 37.50. A subscription none of whose items has a
// remaining value (a one-time deployment alone) bills its fixed fee as one
// line with the fee's own ID and no item, attributed to the first item.
func TestOrderTermFixedFeeIsAllocatedByRemainingValue(t *testing.T) {
	b := deploymentBuilder(t)
	start, stop := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	term := invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{
		Rule: invoice.TerminationFixed, Amount: dec("100.00")}}
	feeID := "s1/early_termination/20260301T000000Z/20260701T000000Z"
	fees := func(inv invoice.Invoice) []invoice.Line {
		var out []invoice.Line
		for _, l := range inv.Lines {
			if l.Kind == invoice.KindEarlyTermination {
				out = append(out, l)
			}
		}
		return out
	}

	sg := seg(start, stop, pin("basic", 1), "2")
	sg.AddOns = []invoice.AddOn{{Pin: pin("storage", 1), Quantity: dec("3")}}
	s := sub("s1", start, item("seats", sg))
	s.CancelAt, s.Term = stop, term
	got := fees(build1(t, b, invoice.Run{After: time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC), At: time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)}, s))
	require.Len(t, got, 2)
	for k, want := range []struct {
		id, amount, full string
		pin              catalog.Pin
	}{{feeID + "/seats", "62.50", "62.50", pin("basic", 1)}, {feeID + "/seats/add_on/storage", "37.50", "37.50", pin("storage", 1)}} {
		require.Equal(t, invoice.LineID(want.id), got[k].ID)
		require.Equal(t, want.amount, got[k].Amount.AmountString())
		require.Equal(t, want.full, got[k].Full.AmountString())
		require.Equal(t, want.pin, got[k].Pin)
		require.Equal(t, invoice.ItemID("seats"), got[k].Item)
		require.True(t, strings.HasPrefix(got[k].Description, "Early termination fee"))
	}

	s = sub("s1", start, item("deploy", seg(start, stop, pin("deployment", 1), "1")))
	s.CancelAt, s.Term = stop, term
	got = fees(build1(t, b, invoice.Run{After: time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC), At: time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)}, s))
	require.Len(t, got, 1)
	require.Equal(t, invoice.LineID(feeID), got[0].ID)
	require.Equal(t, "100.00", got[0].Amount.AmountString())
	require.Equal(t, pin("deployment", 1), got[0].Pin)
	require.Empty(t, got[0].Item)
}

// A subscription's fee split over its items is reversed line by line by a
// restart recorded after the stop: both items (Basic and Pro seats, EUR
// 10.00 and 30.00 a month) stop on February 6, which the run of February 10
// bills as the end (the fixed EUR 300.00 fee, 75.00 and 225.00 by their
// remaining value), and restart on the 20th, recorded on the 25th: the run
// of March 1 reverses each line (-75.00 crediting the first, -225.00 the
// second), and the runs bill what one run over the history bills.
func TestOrderTermFeePerItemReversedByALateRestart(t *testing.T) {
	b := builder(t, invoice.Options{})
	stopped := func(p catalog.Pin) invoice.Segment {
		return recordedAt(seg(date(2026, 2, 1), date(2026, 2, 6), p, "1"), date(2026, 2, 1), date(2026, 2, 6))
	}
	restarted := func(p catalog.Pin) invoice.Segment {
		return recordedAt(seg(date(2026, 2, 20), time.Time{}, p, "1"), date(2026, 2, 25), time.Time{})
	}
	term := invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{Amount: dec("300")}}
	before := sub("s1", date(2026, 2, 1), item("a", stopped(pin("basic", 1))), item("b", stopped(pin("pro", 1))))
	before.Term = term
	after := sub("s1", date(2026, 2, 1), item("a", stopped(pin("basic", 1)), restarted(pin("basic", 1))),
		item("b", stopped(pin("pro", 1)), restarted(pin("pro", 1))))
	after.Term = term

	var issued []invoice.Line
	var fees []string
	var last time.Time
	for k, at := range []time.Time{date(2026, 2, 10), date(2026, 3, 1)} {
		s := []invoice.Subscription{before, after}[k]
		invs, err := b.Build(invoice.Run{After: last, At: at, Billed: issued}, []invoice.Subscription{s})
		require.NoError(t, err)
		for _, inv := range invs {
			require.NoError(t, inv.Check())
			for _, l := range inv.Lines {
				if l.Kind == invoice.KindEarlyTermination {
					fees = append(fees, string(l.Item)+" "+l.Amount.AmountString()+" "+strings.TrimPrefix(string(l.Credits), "s1/early_termination/"))
				}
			}
			issued = append(issued, inv.Lines...)
		}
		last = at
	}
	feeAt := "20260201T000000Z/20260206T000000Z/"
	require.Equal(t, []string{
		"a 75.00 ", "b 225.00 ",
		"a -75.00 " + feeAt + "a", "b -225.00 " + feeAt + "b",
	}, fees)
	one := build1(t, b, invoice.Run{At: last}, after)
	require.True(t, one.Subtotal.Equal(sumNet(t, issued)), "one run bills %s, the runs %s", one.Subtotal, sumNet(t, issued))
}

// TestPropertyOrderTermFeeLinesSumToTheFee: whatever the items (Basic or
// Pro seats, some with Extra storage, a one-time deployment), the fee
// (fixed, or a share of the remaining value) and the end, an order term's
// fee lines have distinct IDs, sum to the fee exactly (the fixed amount;
// the share of the items' remaining value, as their own terms' fees of
// 100% count it), each
// within a cent of its own part's share, attributed to an offer its item
// bills at the end; a line with no item is the fee whole.
func TestPropertyOrderTermFeeLinesSumToTheFee(t *testing.T) {
	b := deploymentBuilder(t)
	rapid.Check(t, func(t *rapid.T) {
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		stop := start.AddDate(0, 0, rapid.IntRange(1, 360).Draw(t, "days"))
		n := rapid.IntRange(1, 4).Draw(t, "items")
		var items []invoice.Item
		offers := map[invoice.ItemID][]catalog.Pin{}
		for i := range n {
			id := invoice.ItemID(fmt.Sprintf("i%d", i))
			o := rapid.SampledFrom([]string{"basic", "pro", "deployment"}).Draw(t, "offer")
			sg := seg(start, stop, pin(o, 1), fmt.Sprint(rapid.IntRange(1, 7).Draw(t, "qty")))
			offers[id] = []catalog.Pin{pin(o, 1)}
			if o != "deployment" && rapid.Bool().Draw(t, "storage") {
				sg.AddOns = []invoice.AddOn{{Pin: pin("storage", 1), Quantity: dec(fmt.Sprint(rapid.IntRange(1, 5).Draw(t, "tb")))}}
				offers[id] = append(offers[id], pin("storage", 1))
			}
			items = append(items, item(string(id), sg))
		}
		s := sub("s1", start, items...)
		s.CancelAt = stop
		fixed := rapid.Bool().Draw(t, "fixed")
		et := &invoice.EarlyTermination{Rule: invoice.TerminationRemaining, Percent: ensemble.MustRatio(fmt.Sprintf("%d%%", rapid.IntRange(1, 100).Draw(t, "percent")))}
		if fixed {
			et = &invoice.EarlyTermination{Rule: invoice.TerminationFixed, Amount: decimal.New(int64(rapid.IntRange(1, 100000).Draw(t, "cents")), -2)}
		}
		s.Term = invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: et}
		invs, err := b.Build(invoice.Run{At: stop.AddDate(0, 0, 1)}, []invoice.Subscription{s})
		require.NoError(t, err)
		var fees []invoice.Line
		for _, l := range invs[0].Lines {
			if l.Kind == invoice.KindEarlyTermination {
				fees = append(fees, l)
			}
		}
		sum := ensemble.MoneyFromMinor(0, eur)
		ids := map[invoice.LineID]bool{}
		for _, l := range fees {
			require.False(t, ids[l.ID], "line %s twice", l.ID)
			ids[l.ID] = true
			sum, _ = sum.Add(l.Amount)
			if l.Item == "" {
				require.Len(t, fees, 1, "a line with no item is the fee whole")
				continue
			}
			require.Contains(t, offers[l.Item], l.Pin)
			if !fixed {
				d, _ := l.Amount.Sub(l.Full.MulRatio(et.Percent, ensemble.RoundHalfAwayFromZero))
				c, _ := d.Abs().Cmp(ensemble.MustMoney("0.01", "EUR"))
				require.LessOrEqual(t, c, 0, "%s: %s for %s of %s", l.ID, l.Amount, et.Percent, l.Full)
			}
		}
		want := ensemble.MoneyFromDecimal(et.Amount, eur)
		if !fixed {
			// The remaining value, from a twin whose items each have the
			// term with a fee of 100% of their own remaining value (a
			// part whose share comes to nothing has no line to count).
			twin := s
			twin.Term = invoice.Term{}
			twin.Items = slices.Clone(s.Items)
			for i := range twin.Items {
				twin.Items[i].Term = invoice.Term{Length: s.Term.Length, EarlyTermination: &invoice.EarlyTermination{Rule: invoice.TerminationRemaining}}
			}
			invs, err := b.Build(invoice.Run{At: stop.AddDate(0, 0, 1)}, []invoice.Subscription{twin})
			require.NoError(t, err)
			remaining := ensemble.MoneyFromMinor(0, eur)
			for _, l := range invs[0].Lines {
				if l.Kind == invoice.KindEarlyTermination {
					remaining, _ = remaining.Add(l.Amount)
				}
			}
			want = remaining.MulRatio(et.Percent, ensemble.RoundHalfAwayFromZero)
		}
		if len(fees) == 0 {
			require.False(t, fixed, "a fixed fee is owed inside the term")
			require.False(t, want.IsPositive())
			return
		}
		require.True(t, want.Equal(sum), "the lines sum to %s, the fee is %s", sum, want)
	})
}
