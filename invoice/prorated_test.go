package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
)

// A full credit note after a later invoice prorated part of a line back
// credits only what the proration left, never the same money twice.
func TestFullCreditAfterProrationCredit(t *testing.T) {
	s := sub("s1", date(2026, 3, 1), item("i1",
		seg(date(2026, 3, 1), date(2026, 3, 16), pin("basic", 1), "3"),
		seg(date(2026, 3, 16), time.Time{}, pin("pro", 1), "3")))
	b := builder(t, invoice.Options{Basis: 1})
	march, err := invoice.Issue(build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s), date(2026, 3, 1))
	require.NoError(t, err)
	later := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 3, 20)}, s)
	var prorated invoice.Line
	for _, l := range later.Lines {
		if l.Kind == invoice.KindProrationCredit {
			prorated = l
		}
	}
	require.NotEmpty(t, prorated.ID, "the upgrade credits the unused Basic seats")

	rem, err := invoice.Remaining(march, nil, later.Lines...)
	require.NoError(t, err)
	seats, ok := march.Line(prorated.Credits)
	require.True(t, ok, "the proration credit names a line of March's invoice")
	var left invoice.Remainder
	for _, r := range rem {
		if r.Line == prorated.Credits {
			left = r
		}
	}
	wantLeft, err := seats.Total.Add(prorated.Total)
	require.NoError(t, err)
	require.True(t, left.Total.Equal(wantLeft), "remaining %s, want %s", left.Total, wantLeft)

	cn, err := invoice.NewCreditNote(march, nil, invoice.CreditRequest{ID: "all", Reason: invoice.ReasonRefund, At: date(2026, 3, 20),
		Full: true, Prorated: later.Lines})
	require.NoError(t, err)
	credited, err := march.Total.Add(prorated.Total)
	require.NoError(t, err)
	require.True(t, cn.Total.Neg().Equal(credited), "credited %s, want %s", cn.Total.Neg(), credited)

	// Without the later lines the note would credit the whole invoice again.
	again, err := invoice.NewCreditNote(march, nil, invoice.CreditRequest{ID: "all", Reason: invoice.ReasonRefund, At: date(2026, 3, 20), Full: true})
	require.NoError(t, err)
	require.True(t, again.Total.Neg().Equal(march.Total))
}
