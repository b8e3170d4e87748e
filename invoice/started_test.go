package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
)

// TestLinesCarryTheSubscriptionStart: every line of a subscription says
// when the subscription started (the earliest start of its items' first
// segments), whatever item it bills: the seats activated on 2026-01-15, the
// support added a year later, the prorated change and its credit, the
// support's in-arrears line; a credit note's line carries the credited
// line's; the field round-trips through JSON. (Before, a line said nothing
// of it, and a partner rule paying on the contract's first year hard-coded
// each deal's date.)
func TestLinesCarryTheSubscriptionStart(t *testing.T) {
	b := builder(t, invoice.Options{})
	start := date(2026, 1, 15)
	s := sub("s1", date(2026, 1, 1),
		item("a-seats", seg(start, date(2027, 2, 10), pin("basic", 1), "3"), seg(date(2027, 2, 10), time.Time{}, pin("basic", 1), "5")),
		item("b-support", seg(date(2027, 1, 20), time.Time{}, pin("support", 1), "1")))
	inv := build1(t, b, invoice.Run{After: date(2027, 1, 31), At: date(2027, 3, 1)}, s)
	kinds := map[invoice.LineKind]bool{}
	for _, l := range inv.Lines {
		require.True(t, l.SubscriptionStart.Equal(start), "line %s (%s): %s", l.ID, l.Kind, l.SubscriptionStart)
		kinds[l.Kind] = true
	}
	require.True(t, kinds[invoice.KindRecurring] && kinds[invoice.KindProrationCredit], "%v", amounts(inv))
	require.Contains(t, itemsOf(inv), invoice.ItemID("b-support"))
	roundTrip(t, inv)

	issued, err := invoice.Issue(inv, date(2027, 3, 1))
	require.NoError(t, err)
	cn, err := invoice.NewCreditNote(issued, nil, invoice.CreditRequest{ID: "goodwill", Reason: invoice.ReasonGoodwill, At: date(2027, 3, 5), Full: true})
	require.NoError(t, err)
	require.NotEmpty(t, cn.Lines)
	for _, l := range cn.Lines {
		require.True(t, l.SubscriptionStart.Equal(start), "credit line %s: %s", l.ID, l.SubscriptionStart)
	}
}

func itemsOf(inv invoice.Invoice) []invoice.ItemID {
	var out []invoice.ItemID
	for _, l := range inv.Lines {
		out = append(out, l.Item)
	}
	return out
}
