package order_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/order"
)

// Order, order line and customer ids follow the library's one id grammar:
// ':' and '#', which settlement joins payout entry ids on (an order's ids
// become part of its invoice lines' ids, and those of their entries), are
// refused when the order is created, naming the field and the character.
func TestIDsRefuseEntrySeparators(t *testing.T) {
	cases := []struct {
		name, path, sep string
		edit            func(c *order.Command)
	}{
		{"order id", "order", ":", func(c *order.Command) { c.Order = "ord:1" }},
		{"line id", "lines[0].id", "#", func(c *order.Command) { c.Draft.Lines[0].ID = "l#1" }},
		{"customer id", "customer.id", "#", func(c *order.Command) { c.Draft.Customer.ID = "acme#nl" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: nlDraft(), Actor: "seller-joe"}
			tc.edit(&cmd)
			_, evs, err := order.Order{}.Decide(ctx, env(t), cmd, day("2026-03-01"))
			require.Nil(t, evs)
			require.ErrorIs(t, err, order.ErrInvalidID)
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
