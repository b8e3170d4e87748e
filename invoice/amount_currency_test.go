package invoice_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

var usd = ensemble.MustCurrency("USD")

// TestAmountCurrencyIsChecked: a prepaid commitment, a minimum and a fixed
// discount copied as "USD 50,000.00" onto a subscription billed in EUR are
// refused, each at its currency, wrapping ErrCurrency and
// ensemble.ErrCurrencyMismatch, and nothing is billed. On main the amounts
// were bare decimals: the commitment billed EUR 50,000.00 without a word.
func TestAmountCurrencyIsChecked(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "c", Amount: dec("50000"), Currency: usd, Start: date(2026, 1, 1), End: date(2027, 1, 1),
		Meters: []usage.MeterID{"api_calls"}}}
	s.Commitment = &invoice.Commitment{Minimum: dec("100"), Currency: usd}
	s.Discounts = []invoice.Discount{{ID: "d", Amount: dec("10"), Currency: usd}}
	invs, err := b.Build(invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}, []invoice.Subscription{s})
	require.Nil(t, invs)
	require.ErrorIs(t, err, invoice.ErrCurrency)
	require.ErrorIs(t, err, ensemble.ErrCurrencyMismatch)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
		require.ErrorIs(t, p.Err, invoice.ErrCurrency)
		var me *ensemble.CurrencyMismatchError
		require.True(t, errors.As(p.Err, &me))
		require.Equal(t, usd, me.A)
		require.Equal(t, eur, me.B)
	}
	slices.Sort(paths)
	require.Equal(t, []string{"subscriptions[0].commitment.currency", "subscriptions[0].discounts[0].currency",
		"subscriptions[0].prepaid[0].currency"}, paths)

	// Said in the subscription's currency, or not said, they bill the same.
	s.Prepaid[0].Currency, s.Commitment.Currency, s.Discounts[0].Currency = eur, eur, eur
	said := build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}, s)
	s.Prepaid[0].Currency, s.Commitment.Currency, s.Discounts[0].Currency = ensemble.Currency{}, ensemble.Currency{}, ensemble.Currency{}
	bare := build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}, s)
	require.Equal(t, amounts(bare), amounts(said))
	require.Equal(t, "50000.00", said.Lines[0].Amount.AmountString())
}

// TestAmountCurrencyJSON: the currency is optional in a document (those
// written without it stay valid), and round-trips when given.
func TestAmountCurrencyJSON(t *testing.T) {
	var c invoice.PrepaidCommitment
	require.NoError(t, json.Unmarshal([]byte(`{"id":"c","amount":"50000","start":"2026-01-01T00:00:00Z","end":"2027-01-01T00:00:00Z"}`), &c))
	require.True(t, c.Currency.IsZero())
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.NotContains(t, string(b), "currency")
	require.NoError(t, json.Unmarshal([]byte(`{"id":"c","amount":"50000","currency":"EUR","start":"2026-01-01T00:00:00Z","end":"2027-01-01T00:00:00Z"}`), &c))
	require.Equal(t, eur, c.Currency)
	roundTrip(t, c)
	var m invoice.Commitment
	require.NoError(t, json.Unmarshal([]byte(`{"minimum":"100","currency":"USD"}`), &m))
	require.Equal(t, usd, m.Currency)
	roundTrip(t, m)
	var d invoice.Discount
	require.NoError(t, json.Unmarshal([]byte(`{"id":"d","amount":"10","currency":"USD"}`), &d))
	require.Equal(t, usd, d.Currency)
	roundTrip(t, d)
}

// TestPropertyAmountCurrencyChecked: whatever currency a commitment's
// amount is said in, the run bills it only when that is the
// subscription's (or none is said), and otherwise refuses it, typed.
func TestPropertyAmountCurrencyChecked(t *testing.T) {
	b := builder(t, invoice.Options{})
	rapid.Check(t, func(t *rapid.T) {
		code := rapid.SampledFrom([]string{"", "EUR", "USD", "GBP", "JPY"}).Draw(t, "currency")
		s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
		c := invoice.PrepaidCommitment{ID: "c", Amount: dec("1200"), Start: date(2026, 1, 1), End: date(2027, 1, 1), Meters: []usage.MeterID{"api_calls"}}
		if code != "" {
			c.Currency = ensemble.MustCurrency(code)
		}
		s.Prepaid = []invoice.PrepaidCommitment{c}
		invs, err := b.Build(invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}, []invoice.Subscription{s})
		if code == "" || code == "EUR" {
			require.NoError(t, err)
			require.Equal(t, "1200.00", invs[0].Lines[0].Amount.AmountString())
			return
		}
		require.Nil(t, invs)
		require.ErrorIs(t, err, invoice.ErrCurrency)
		require.ErrorIs(t, err, ensemble.ErrCurrencyMismatch)
	})
}
