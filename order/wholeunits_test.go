package order_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
)

// sitesYAML sells sites (counted whole, with a per-site install fee), an
// add-on counted whole, and storage in GB (no declaration: fractions).
const sitesYAML = `
offers:
  - id: sites
    version: 1
    currency: PLN
    effective_from: 2026-01-01T00:00:00Z
    min_quantity: 1
    quantity: whole
    charges:
      - {id: install, type: one_time, price: {model: per_unit, amount: "900.00"}}
      - {id: site, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "699.00"}}
  - id: extra-ip
    version: 1
    kind: add_on
    currency: PLN
    effective_from: 2026-01-01T00:00:00Z
    quantity: whole
    attaches_to: [sites, storage]
    charges:
      - {id: ip, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "5"}}
  - id: storage
    version: 1
    currency: PLN
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: gb, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "0.10"}}
`

func sitesEnv(t *testing.T) order.Context {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(sitesYAML))
	require.NoError(t, err)
	return order.Context{Catalog: cat}
}

func sitesDraft(lines ...order.Line) *order.Draft {
	return &order.Draft{
		Customer: order.Customer{ID: "gmbh-berlin", Country: "PL"},
		Route:    partner.Route{},
		Lines:    lines,
		Billing:  order.Billing{TimeZone: "Europe/Warsaw"},
	}
}

// requireFractional checks err is a refusal for a fractional quantity:
// ErrFractionalQuantity (an ErrInvalid) in a *LineError naming the line
// and the quantity, at path.
func requireFractional(t *testing.T, err error, line order.LineID, qty, path string) {
	t.Helper()
	require.ErrorIs(t, err, order.ErrFractionalQuantity)
	require.ErrorIs(t, err, order.ErrInvalid)
	require.ErrorIs(t, err, catalog.ErrFractionalQuantity)
	var le *order.LineError
	require.True(t, errors.As(err, &le), "%v", err)
	require.Equal(t, line, le.Line)
	require.Contains(t, le.Value, qty)
	var ve *ensemble.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.Equal(t, path, ve.Problems[0].Path)
	require.ErrorContains(t, err, qty)
}

// TestWholeUnitOfferRefusesFractionalQuantities: the telco trial's 12.5
// sites (F6). An offer declaring `quantity: whole` refuses a fractional
// quantity at the quote and on every change that sets one (quantity,
// added line, added add-on, a move onto the offer), naming the line and
// the quantity; the order is unchanged. Whole quantities pass, and an
// offer that declares nothing still takes fractions.
func TestWholeUnitOfferRefusesFractionalQuantities(t *testing.T) {
	e := sitesEnv(t)
	d0 := day("2026-01-01")

	// The quote.
	o, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-1",
		Draft: sitesDraft(order.Line{ID: "l1", Pin: catalog.Pin{Offer: "sites"}, Quantity: dec("12.5")})}, d0)
	require.NoError(t, err, "a draft is checked against the catalog at the quote")
	_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-01-31")}, d0)
	requireFractional(t, err, "l1", "12.5", "lines[0].quantity")

	// An add-on counted whole, on the quote.
	o, _, err = order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-1",
		Draft: sitesDraft(order.Line{ID: "l1", Pin: catalog.Pin{Offer: "sites"}, Quantity: dec("12"),
			AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "extra-ip"}, Quantity: dec("1.5")}}})}, d0)
	require.NoError(t, err)
	_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-01-31")}, d0)
	requireFractional(t, err, "l1", "1.5", "lines[0].add_ons[0].quantity")

	// 12 sites and 12.5 GB quote, activate.
	var evs []order.Event
	o = step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: sitesDraft(
		order.Line{ID: "l1", Pin: catalog.Pin{Offer: "sites"}, Quantity: dec("12")},
		order.Line{ID: "l2", Pin: catalog.Pin{Offer: "storage"}, Quantity: dec("12.5")},
	)}, d0)
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-01-31")}, d0)
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdAccept}, d0)
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdBeginActivation}, d0)
	for _, task := range o.Tasks {
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: task.ID}, d0)
	}
	require.Equal(t, order.StatusActive, o.Status)

	at := day("2026-04-16")
	for name, c := range map[string]struct {
		ch        order.Change
		line, qty string
		path      string
	}{
		"quantity 12 to 12.5": {order.Change{Kind: order.ChangeQuantity, Line: "l1", Quantity: dec("12.5"), EffectiveAt: at},
			"l1", "12.5", "change.quantity"},
		"an added line of 2.5 sites": {order.Change{Kind: order.ChangeAddLine, Line: "l3", Pin: catalog.Pin{Offer: "sites"}, Quantity: dec("2.5"), EffectiveAt: at},
			"l3", "2.5", "change.quantity"},
		"an add-on of 0.5 IPs": {order.Change{Kind: order.ChangeAddAddOn, Line: "l1", Pin: catalog.Pin{Offer: "extra-ip"}, Quantity: dec("0.5"), EffectiveAt: at},
			"l1", "0.5", "change.pin"},
		"12.5 GB moved onto sites": {order.Change{Kind: order.ChangeOffer, Line: "l2", Pin: catalog.Pin{Offer: "sites"}, EffectiveAt: at},
			"l2", "12.5", "change.quantity"},
	} {
		t.Run(name, func(t *testing.T) {
			ch := c.ch
			next, got, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &ch}, at)
			requireFractional(t, err, order.LineID(c.line), c.qty, c.path)
			require.Empty(t, got)
			requireSame(t, next, o, "a refused change leaves the order")
		})
	}

	// Whole quantities of sites, and fractions of storage, pass.
	for _, ch := range []order.Change{
		{Kind: order.ChangeQuantity, Line: "l1", Quantity: dec("15"), EffectiveAt: at},
		{Kind: order.ChangeQuantity, Line: "l1", Quantity: dec("15.00"), EffectiveAt: at},
		{Kind: order.ChangeAddAddOn, Line: "l1", Pin: catalog.Pin{Offer: "extra-ip"}, Quantity: dec("2"), EffectiveAt: at},
		{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("20.25"), EffectiveAt: at},
		{Kind: order.ChangeAddAddOn, Line: "l2", Pin: catalog.Pin{Offer: "extra-ip"}, Quantity: dec("3"), EffectiveAt: at},
		{Kind: order.ChangeAddLine, Line: "l3", Pin: catalog.Pin{Offer: "sites"}, Quantity: dec("3"), EffectiveAt: at},
	} {
		_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &ch}, at)
		require.NoError(t, err, "%+v", ch)
	}
}
