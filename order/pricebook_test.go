package order_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
)

// pbCatalog prices saas and saas-pro in EUR and JPY (price books), an
// add-on in JPY only, and plain in EUR only.
func pbCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.LoadYAML([]byte(`
offers:
  - id: saas
    version: 1
    currency: EUR
    currencies: [JPY]
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seat, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "100.00"}, prices: {JPY: {amount: "16000"}}}
  - id: saas-pro
    version: 1
    currency: EUR
    currencies: [JPY]
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seat, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "150.00"}, prices: {JPY: {amount: "24000"}}}
  - id: jp-support
    version: 1
    kind: add_on
    currency: JPY
    attaches_to: [saas, saas-pro]
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: hours, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "5000"}}
  - id: plain
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: seat, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "90.00"}}
`))
	require.NoError(t, err)
	return c
}

// TestPriceBookOrderCurrency: a draft naming JPY bills in yen an offer
// priced in EUR and JPY, with an add-on priced in JPY only (refused before
// price books: the add-on was "in JPY, line in EUR"); the currency folds
// back from the events. While active, a change to an offer priced in EUR
// only is refused (ErrCurrency, "plain@1 is in EUR, the order in JPY");
// one to another offer priced in JPY passes. The same draft in EUR
// refuses the JPY-only add-on, naming it.
func TestPriceBookOrderCurrency(t *testing.T) {
	e := order.Context{Catalog: pbCatalog(t)}
	at := day("2026-02-20")
	draft := func(currency string) *order.Draft {
		return &order.Draft{
			Customer: order.Customer{ID: "tanaka", Country: "JP"},
			Lines: []order.Line{{ID: "l1", Pin: catalog.Pin{Offer: "saas"}, Quantity: dec("3"),
				AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "jp-support"}, Quantity: dec("2")}}}},
			Billing:  order.Billing{Anchor: day("2026-03-01"), TimeZone: "UTC"},
			Currency: currency,
		}
	}
	var o order.Order
	var events []order.Event
	for _, step := range []struct {
		at  time.Time
		cmd order.Command
	}{
		{at, order.Command{Kind: order.CmdCreate, Order: "ord-jp", Draft: draft("JPY")}},
		{at, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}},
		{at, order.Command{Kind: order.CmdAccept}},
		{at, order.Command{Kind: order.CmdBeginActivation}},
		{day("2026-03-01"), order.Command{Kind: order.CmdCompleteTask, Task: "l1"}},
	} {
		next, evs, err := o.Decide(ctx, e, step.cmd, step.at)
		require.NoError(t, err, "%s", step.cmd.Kind)
		o, events = next, append(events, evs...)
	}
	require.Equal(t, order.StatusActive, o.Status)
	require.Equal(t, "JPY", o.Currency)
	folded, err := order.Fold(events)
	require.NoError(t, err)
	require.Equal(t, "JPY", folded.Currency)

	_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeOffer, Line: "l1",
		Pin: catalog.Pin{Offer: "plain"}, EffectiveAt: day("2026-03-16")}}, day("2026-03-10"))
	require.ErrorIs(t, err, order.ErrCurrency)
	require.ErrorContains(t, err, "plain@1 is in EUR, the order in JPY")
	changed, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeOffer, Line: "l1",
		Pin: catalog.Pin{Offer: "saas-pro"}, EffectiveAt: day("2026-03-16")}}, day("2026-03-10"))
	require.NoError(t, err)
	require.Equal(t, "JPY", changed.Currency)

	q, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-eu", Draft: draft("EUR")}, at)
	require.NoError(t, err)
	_, _, err = q.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}, at)
	require.ErrorIs(t, err, order.ErrCurrency)
	require.ErrorContains(t, err, "add-on jp-support@1 in JPY, line in EUR")
	var ce *catalog.CurrencyError
	require.False(t, errors.As(err, &ce), "an offer priced in one currency is refused as before")
}

// TestCurrencyErrorSaysWhatWasWrong: a trial's order in NOK of one line
// priced in SEK, EUR and USD was refused with "order: lines in different
// currencies: ... but the order is in NOK, set by the draft: SEK": one line
// cannot be in different currencies, and the trailing ": SEK" read as if
// the draft had set SEK. The refusal names the offer's currencies and the
// order's, and nothing after who set it; the change of offer and the
// add-on alike end with the order's currency.
func TestCurrencyErrorSaysWhatWasWrong(t *testing.T) {
	e := order.Context{Catalog: pbCatalog(t)}
	at := day("2026-02-20")
	q, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-no", Draft: &order.Draft{
		Customer: order.Customer{ID: "equinor", Country: "NO"},
		Lines:    []order.Line{{ID: "l1", Pin: catalog.Pin{Offer: "saas"}, Quantity: dec("3")}},
		Billing:  order.Billing{Anchor: day("2026-03-01")},
		Currency: "NOK",
	}}, at)
	require.NoError(t, err)
	_, _, err = q.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}, at)
	require.ErrorIs(t, err, order.ErrCurrency)
	require.NotContains(t, err.Error(), "different currencies")
	require.ErrorContains(t, err, `order: not priced in the order's currency: catalog: offer "saas"@1 is not priced in NOK: its currencies are EUR, JPY, but the order is in NOK, set by the draft`)
	require.NotContains(t, err.Error(), "set by the draft: ")

	q, _, err = order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-mix", Draft: &order.Draft{
		Customer: order.Customer{ID: "equinor", Country: "NO"},
		Lines: []order.Line{{ID: "l1", Pin: catalog.Pin{Offer: "plain"}, Quantity: dec("3")},
			{ID: "l2", Pin: catalog.Pin{Offer: "jp-support"}, Quantity: dec("1")}},
		Billing: order.Billing{Anchor: day("2026-03-01")},
	}}, at)
	require.NoError(t, err)
	_, _, err = q.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}, at)
	require.ErrorIs(t, err, order.ErrCurrency)
	require.NotContains(t, err.Error(), "(lines[0], plain@1; the first by ID: an order's lines are sorted by ID): JPY")
}
