package order_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
)

// A draft with its USD line first ("l2", dollar) and its EUR line second
// ("l1", suite) was refused at lines[1].pin for "the order in EUR",
// without saying why the order was in EUR, nor that lines[1] indexes the
// order's lines (sorted by ID: l1, l2), not the draft's (a new user's
// trial blamed the wrong line). The refusal names the line refused and the
// line that set the order's currency, each with its path in the order.
func TestQuoteInTwoCurrenciesNamesTheLineThatSetTheCurrency(t *testing.T) {
	e := env(t)
	at := day("2026-03-01")
	d := nlDraft()
	d.Lines[0].Pin, d.Lines[0].Quantity = catalog.Pin{Offer: "dollar"}, dec("1")
	o, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "q", Draft: d}, at)
	require.NoError(t, err)
	require.Equal(t, order.LineID("l2"), o.Lines[1].ID, "the order's lines are sorted by ID")
	_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 1, 0)}, at)
	require.ErrorIs(t, err, order.ErrCurrency)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 1)
	require.Equal(t, "lines[1].pin", ve.Problems[0].Path)
	var le *order.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, order.LineID("l2"), le.Line)
	require.ErrorContains(t, err, `dollar@1 is in USD, but the order is in EUR, set by line "l1" (lines[0], suite@1; the first by ID: an order's lines are sorted by ID)`)
}
