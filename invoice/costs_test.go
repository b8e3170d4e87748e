package invoice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/invoice"
)

// A fixed wholesale cost is owed per bundle unit per cycle: a line covering
// part of a cycle owes that part of it, and a ratio cost follows the line's
// net.
func TestBundleSupplierCostsProrated(t *testing.T) {
	// Activated on March 16 with an anchor on March 1: 16 of 31 days.
	s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 16), time.Time{}, pin("suite", 1), "2")))
	inv := build1(t, builder(t, invoice.Options{Basis: 1}), invoice.Run{At: date(2026, 3, 16)}, s)
	require.Len(t, inv.Lines, 1)
	l := inv.Lines[0]
	require.Equal(t, "51.61", l.Net.AmountString(), "100.00 - round(100.00 × 15/31)")
	var got []string
	for _, c := range l.SupplierCosts {
		got = append(got, c.Supplier+" "+c.Cost.AmountString())
	}
	// acme: 40% of 51.61; zeta: 5.00 × 2 units × 16/31.
	require.Equal(t, []string{"acme 20.64", "zeta 5.16"}, got)
}
