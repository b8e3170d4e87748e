package invoice_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/usage"
)

// pbYAML prices one offer per seat at EUR 100.00, JPY 16,000 and BHD
// 38.500, its API calls on tiers of each currency's own; support, an
// offer in JPY only, sells beside it in yen.
const pbYAML = `
offers:
  - id: saas
    version: 1
    currency: EUR
    currencies: [JPY, BHD]
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: seat
        type: recurring
        cadence: {unit: monthly}
        timing: in_advance
        price: {model: per_unit, amount: "100.00"}
        prices:
          JPY: {amount: "16000"}
          BHD: {amount: "38.500"}
      - id: api
        type: usage
        meter: api_calls
        price: {model: graduated, tiers: [{up_to: "1000", unit_amount: "0.05"}, {unit_amount: "0.04"}]}
        prices:
          JPY: {tiers: [{up_to: "500", unit_amount: "0"}, {up_to: "5000", unit_amount: "8"}, {unit_amount: "6", flat_amount: "1000"}]}
          BHD: {tiers: [{up_to: "1000", unit_amount: "0.019"}, {unit_amount: "0.015"}]}
  - id: support
    version: 1
    currency: JPY
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: hours, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "5000"}}
`

func pbCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.LoadYAML([]byte(pbYAML))
	require.NoError(t, err)
	return c
}

// pbOrder takes a direct order for 3 seats of saas (and lines) in currency
// through its quote; a quote that fails returns its error.
func pbOrder(t *testing.T, cat *catalog.Catalog, currency string, lines ...order.Line) (order.Order, error) {
	t.Helper()
	env := order.Context{Catalog: cat}
	at := date(2026, 2, 20)
	if len(lines) == 0 {
		lines = []order.Line{{ID: "l1", Pin: catalog.Pin{Offer: "saas"}, Quantity: dec("3")}}
	}
	o, _, err := order.Order{}.Decide(context.Background(), env, order.Command{Kind: order.CmdCreate, Order: "ord-jp", Draft: &order.Draft{
		Customer: order.Customer{ID: "tanaka", Country: "JP"},
		Lines:    lines,
		Billing:  order.Billing{Anchor: date(2026, 3, 1), TimeZone: "UTC"},
		Currency: currency,
	}}, at)
	require.NoError(t, err)
	o, _, err = o.Decide(context.Background(), env, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}, at)
	return o, err
}

// activate takes a quoted order to active on March 1.
func activate(t *testing.T, cat *catalog.Catalog, o order.Order) order.Order {
	t.Helper()
	env := order.Context{Catalog: cat}
	for _, step := range []struct {
		at  time.Time
		cmd order.Command
	}{
		{date(2026, 2, 20), order.Command{Kind: order.CmdAccept}},
		{date(2026, 2, 20), order.Command{Kind: order.CmdBeginActivation}},
	} {
		next, _, err := o.Decide(context.Background(), env, step.cmd, step.at)
		require.NoError(t, err, "%s", step.cmd.Kind)
		o = next
	}
	for _, task := range o.Tasks {
		next, _, err := o.Decide(context.Background(), env, order.Command{Kind: order.CmdCompleteTask, Task: task.ID}, date(2026, 3, 1))
		require.NoError(t, err)
		o = next
	}
	return o
}

// TestPriceBookOrderInJPYBills16000ASeat: an order in JPY for 3 seats of
// an offer priced EUR 100.00 / JPY 16,000 / BHD 38.500 bills JPY 48,000
// (16,000 a seat, in yen, no conversion) and its API calls on the JPY
// tiers; beside it a line of an offer priced in JPY only. The same order
// with no currency is in EUR, as before price books.
func TestPriceBookOrderInJPYBills16000ASeat(t *testing.T) {
	cat := pbCatalog(t)
	o, err := pbOrder(t, cat, "JPY",
		order.Line{ID: "l1", Pin: catalog.Pin{Offer: "saas"}, Quantity: dec("3")},
		order.Line{ID: "l2", Pin: catalog.Pin{Offer: "support"}, Quantity: dec("2")})
	require.NoError(t, err)
	require.Equal(t, "JPY", o.Currency)
	o = activate(t, cat, o)
	s, err := invoice.FromOrder(o)
	require.NoError(t, err)
	require.Equal(t, "JPY", s.Currency.Code())

	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	inv := build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s)
	require.Equal(t, []string{"recurring seat 48000", "recurring hours 10000"}, amounts(inv))
	require.True(t, inv.Lines[0].Amount.Equal(ensemble.MustMoney("48000", "JPY")), "%s", inv.Lines[0].Amount)
	require.True(t, inv.Total.Equal(ensemble.MustMoney("58000", "JPY")))

	// March's 6,000 calls: 500 free, 4,500 × 8 and 1,000 × 6 + 1,000 flat.
	calls := usage.Aggregate{Line: usage.LineRef(o.LineRef("l1")), Meter: "api_calls", Aggregation: usage.Sum,
		Period: ensemble.MustPeriod(date(2026, 3, 1), date(2026, 4, 1)), Value: dec("6000"), Records: 1, Digest: usage.DigestOf("r1")}
	inv = build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{calls}}, s)
	require.Contains(t, amounts(inv), "usage api 43000")

	// No currency on the draft: the first line's offer's, EUR.
	o, err = pbOrder(t, cat, "")
	require.NoError(t, err)
	require.Equal(t, "EUR", o.Currency)
	o = activate(t, cat, o)
	s, err = invoice.FromOrder(o)
	require.NoError(t, err)
	require.Equal(t, []string{"recurring seat 300.00"}, amounts(build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s)))

	// In BHD, three decimals.
	o, err = pbOrder(t, cat, "BHD")
	require.NoError(t, err)
	s, err = invoice.FromOrder(activate(t, cat, o))
	require.NoError(t, err)
	require.Equal(t, []string{"recurring seat 115.500"}, amounts(build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s)))
}

// TestPriceBookOrderInUSDRefused: an order in USD, which the offer does not
// price, is refused at the quote with order.ErrCurrency wrapping the
// catalog's *CurrencyError naming the offer and its currencies; a line of
// a JPY-only offer in an EUR order is refused as before; a subscription in
// USD is refused at the invoice run the same way.
func TestPriceBookOrderInUSDRefused(t *testing.T) {
	cat := pbCatalog(t)
	_, err := pbOrder(t, cat, "USD")
	require.ErrorIs(t, err, order.ErrCurrency)
	var ce *catalog.CurrencyError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, catalog.OfferID("saas"), ce.Offer)
	require.Equal(t, []string{"EUR", "BHD", "JPY"}, ce.Currencies)
	require.ErrorContains(t, err, `offer "saas"@1 is not priced in USD: its currencies are EUR, BHD, JPY, but the order is in USD, set by the draft`)

	_, err = pbOrder(t, cat, "EUR",
		order.Line{ID: "l1", Pin: catalog.Pin{Offer: "saas"}, Quantity: dec("3")},
		order.Line{ID: "l2", Pin: catalog.Pin{Offer: "support"}, Quantity: dec("2")})
	require.ErrorIs(t, err, order.ErrCurrency)
	require.ErrorContains(t, err, "support@1 is in JPY, but the order is in EUR")

	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	s := sub("s-usd", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("saas", 1), "3")))
	s.Currency = ensemble.MustCurrency("USD")
	_, err = b.Build(invoice.Run{At: date(2026, 3, 1)}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrCurrency)
	require.ErrorAs(t, err, &ce)
	require.ErrorContains(t, err, "its currencies are EUR, BHD, JPY")
}

// TestPropertyPriceBookBillsAsOneCurrencyOffer: for random offers priced in
// several currencies (a per-seat recurring charge, a graduated usage
// charge with tiers of each currency's own), billing a subscription in
// currency C gives the same invoice, byte for byte, as billing the same
// subscription against a catalog where the offer has one currency, C, and
// C's prices.
func TestPropertyPriceBookBillsAsOneCurrencyOffer(t *testing.T) {
	codes := []string{"EUR", "JPY", "BHD", "USD"}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, len(codes)).Draw(t, "currencies")
		type book struct {
			seat  string
			tiers []string
		}
		books := make([]book, n)
		for k := range books {
			digits := int(ensemble.MustCurrency(codes[k]).Digits())
			amount := func(label string) string {
				v := rapid.Int64Range(0, 5_000_000).Draw(t, label)
				extra := rapid.IntRange(0, 2).Draw(t, label+"-extra") // sub-minor digits are legal in unit prices
				return decimalText(v, digits+extra)
			}
			books[k].seat = amount(codes[k] + "-seat")
			nt := rapid.IntRange(1, 3).Draw(t, codes[k]+"-tiers")
			up := int64(0)
			for j := range nt {
				tier := `{unit_amount: "` + amount(fmt.Sprintf("%s-unit%d", codes[k], j)) + `"`
				if rapid.Bool().Draw(t, fmt.Sprintf("%s-flat%d", codes[k], j)) {
					tier += `, flat_amount: "` + decimalText(rapid.Int64Range(0, 100_000).Draw(t, fmt.Sprintf("%s-flatv%d", codes[k], j)), digits) + `"`
				}
				if j < nt-1 {
					up += rapid.Int64Range(1, 5000).Draw(t, fmt.Sprintf("%s-up%d", codes[k], j))
					tier += fmt.Sprintf(`, up_to: "%d"`, up)
				}
				books[k].tiers = append(books[k].tiers, tier+"}")
			}
		}
		price := func(k int, seat bool) string {
			if seat {
				return `{model: per_unit, amount: "` + books[k].seat + `"}`
			}
			return `{model: graduated, tiers: [` + strings.Join(books[k].tiers, ", ") + `]}`
		}
		offer := func(primary int, others []int) string {
			var b strings.Builder
			fmt.Fprintf(&b, "offers:\n  - id: saas\n    version: 1\n    currency: %s\n", codes[primary])
			if len(others) > 0 {
				var cs []string
				for _, k := range others {
					cs = append(cs, codes[k])
				}
				fmt.Fprintf(&b, "    currencies: [%s]\n", strings.Join(cs, ", "))
			}
			b.WriteString("    effective_from: 2026-01-01T00:00:00Z\n    charges:\n")
			for _, ch := range []struct {
				head string
				seat bool
			}{{"{id: seat, type: recurring, cadence: {unit: monthly}, timing: in_advance", true}, {"{id: api, type: usage, meter: api_calls", false}} {
				fmt.Fprintf(&b, "      - %s, price: %s", ch.head, price(primary, ch.seat))
				if len(others) > 0 {
					var ps []string
					for _, k := range others {
						ps = append(ps, codes[k]+": "+price(k, ch.seat))
					}
					fmt.Fprintf(&b, ", prices: {%s}", strings.Join(ps, ", "))
				}
				b.WriteString("}\n")
			}
			return b.String()
		}
		others := make([]int, 0, n-1)
		for k := 1; k < n; k++ {
			others = append(others, k)
		}
		many, err := catalog.LoadYAML([]byte(offer(0, others)))
		require.NoError(t, err, "%s", offer(0, others))
		c := rapid.IntRange(0, n-1).Draw(t, "billed in")
		one, err := catalog.LoadYAML([]byte(offer(c, nil)))
		require.NoError(t, err)

		qty := rapid.IntRange(1, 50).Draw(t, "seats")
		calls := rapid.Int64Range(0, 20_000).Draw(t, "calls")
		start := date(2026, 3, 1).AddDate(0, 0, rapid.IntRange(0, 20).Draw(t, "start day"))
		s := sub("s1", date(2026, 3, 1), item("i1", seg(start, time.Time{}, pin("saas", 1), fmt.Sprint(qty))))
		s.Currency = ensemble.MustCurrency(codes[c])
		run := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{{Line: "s1/i1", Meter: "api_calls", Aggregation: usage.Sum,
			Period: ensemble.MustPeriod(date(2026, 3, 1), date(2026, 4, 1)), Value: decimal.NewFromInt(calls), Records: 1, Digest: usage.DigestOf("r1")}}}
		var got [2][]byte
		for i, cat := range []*catalog.Catalog{many, one} {
			b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
			require.NoError(t, err)
			invs, err := b.Build(run, []invoice.Subscription{s})
			require.NoError(t, err)
			got[i], err = json.Marshal(invs)
			require.NoError(t, err)
		}
		require.Equal(t, string(got[1]), string(got[0]), "billed in %s", codes[c])
	})
}

// decimalText writes v / 10^digits.
func decimalText(v int64, digits int) string {
	return decimal.NewFromInt(v).Shift(int32(-digits)).StringFixed(int32(digits))
}
