package invoice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// TestLineIDsOfLongIdsSettle: a line id is composed of several ids (a
// subscription, an item, an offer, a charge; a credit note's line adds the
// invoice's, the request's and the credited line's), so it may be longer
// than any one id. Ids of UUID length and more compose line ids of a few
// hundred bytes, which settlement accepts (ensemble.CheckLineID); a line
// id settlement would refuse is refused when the invoice is issued or the
// note raised, never after the customer has it.
func TestLineIDsOfLongIdsSettle(t *testing.T) {
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	s := sub("sub-"+long("a", 60), date(2026, 2, 1), item("item-"+long("b", 40), seg(date(2026, 2, 1), time.Time{}, pin("pro", 1), "3")))
	inv := build1(t, builder(t, invoice.Options{Taxes: taxes}), invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1)}, s)
	inv, err := invoice.Issue(inv, date(2026, 4, 1))
	require.NoError(t, err)
	cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "refund-" + long("c", 36), Reason: invoice.ReasonRefund,
		At: date(2026, 4, 12), Full: true})
	require.NoError(t, err)
	for _, l := range cn.Lines {
		require.Greater(t, len(l.ID), ensemble.MaxIDBytes, "longer than one id")
		require.NoError(t, ensemble.CheckLineID(string(l.ID)))
	}

	// A credited line whose id leaves no room for the note's: refused
	// when the note is raised, at the line.
	inv.Lines[0].ID = invoice.LineID(long("d", ensemble.MaxLineIDBytes-10))
	_, err = invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "r", Reason: invoice.ReasonRefund, At: date(2026, 4, 12), Full: true})
	require.ErrorIs(t, err, ensemble.ErrInvalidID)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "lines[0].line", ve.Problems[0].Path)
	require.ErrorContains(t, err, "cannot settle")

	// An invoice holding a line id longer than settlement accepts is not
	// issued.
	inv.Status, inv.IssuedAt = invoice.Draft, time.Time{}
	inv.Lines[0].ID = invoice.LineID(long("d", ensemble.MaxLineIDBytes+1))
	_, err = invoice.Issue(inv, date(2026, 4, 1))
	require.ErrorIs(t, err, ensemble.ErrInvalidID)
	require.ErrorContains(t, err, "lines[0].id")
}
