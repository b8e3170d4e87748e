package invoice_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// An amount in another currency than the invoice's, in a list Check sums
// (the credits applied, a line's discounts), is refused with the path of the
// amount. Check used to drop the sum's currency mismatch and compare with
// the zero Money, which equals any zero: a credit of USD 100 on a EUR
// invoice with EUR 0.00 due, or a discount of USD 5 on a line discounted by
// EUR 0.00, passed Check and Issue.
func TestCheckRefusesAmountsInAnotherCurrency(t *testing.T) {
	usd := func(s string) ensemble.Money { return ensemble.MustMoney(s, "USD") }
	cases := []struct {
		name string
		edit func(inv *invoice.Invoice)
		path string
	}{
		{"credit applied", func(inv *invoice.Invoice) {
			inv.Credits = []invoice.AppliedCredit{{Credit: "gift", Amount: usd("100.00")}}
			inv.AmountDue = money("0.00")
		}, "credits[0].amount"},
		{"discount of a line", func(inv *invoice.Invoice) {
			inv.Lines[1].Discounts = []invoice.AppliedDiscount{{ID: "promo", Amount: usd("5.00")}}
		}, "lines[1].discounts[0].amount"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			draft := issuedInvoice(t, invoice.TaxPerLine)
			draft.Status = invoice.Draft
			draft.Lines = append([]invoice.Line(nil), draft.Lines...)
			require.True(t, draft.Lines[1].Discount.IsZero(), "the line edited has no discount")
			tc.edit(&draft)
			err := draft.Check()
			require.ErrorIs(t, err, invoice.ErrCurrency)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
			}
			require.Contains(t, paths, tc.path)
			_, err = invoice.Issue(draft, date(2026, 4, 3))
			require.ErrorIs(t, err, invoice.ErrCurrency)
		})
	}
}
