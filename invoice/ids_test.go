package invoice_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// Subscription and item ids follow the library's one id grammar: they start
// every invoice line id, which settles into payout entry ids, so ':' and
// '#' (the entry ids' separators) are refused when the run is built, naming
// the field and the character, rather than when its lines are settled.
func TestIDsRefuseEntrySeparators(t *testing.T) {
	cases := []struct {
		name, sub, item, path, sep string
	}{
		{"subscription", "s:1", "api", "subscriptions[0].id", ":"},
		{"item", "s1", "api#2", "subscriptions[0].items[0].id", "#"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := builder(t, invoice.Options{})
			s := sub(tc.sub, date(2026, 2, 1), item(tc.item, seg(date(2026, 2, 1), date(2026, 3, 1), pin("pro", 1), "1")))
			_, err := b.Build(invoice.Run{At: date(2026, 2, 1)}, []invoice.Subscription{s})
			require.ErrorIs(t, err, invoice.ErrInvalidID)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			found := false
			for _, p := range ve.Problems {
				var ie *ensemble.IDError
				if p.Path == tc.path && errors.As(p, &ie) {
					require.Equal(t, tc.sep, ie.Separator)
					found = true
				}
			}
			require.True(t, found, "no *ensemble.IDError at %s in %v", tc.path, err)
		})
	}
}
