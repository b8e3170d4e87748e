package invoice_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// The telco trial (F5): a Polish seller (PLN, VAT 23%) marks a customer
// for reverse charge. Reverse charge is for cross-border B2B supplies (EU
// VAT Directive art. 196), so with the seller declared established in PL
// (TaxTable.Seller), a reverse-charge customer in PL is refused rather than
// billed 0% VAT; a German one is reverse charged as before, and a Polish
// one without reverse charge pays 23%.
const telcoRCCatalog = `
offers:
  - id: link
    version: 1
    name: Business link
    kind: product
    currency: PLN
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - id: site
        name: Site
        type: recurring
        cadence: {unit: monthly}
        timing: in_advance
        price: {model: per_unit, amount: "100.00"}
`

var rcJan = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var rcRules = []invoice.TaxRule{
	{ID: "vat-pl", Region: "PL", Rate: ensemble.MustRatio("23%")},
	{ID: "vat-de", Region: "DE", Rate: ensemble.MustRatio("19%")},
	{ID: "vat-fr", Region: "FR", Rate: ensemble.MustRatio("20%")},
}

func rcSub(id, region string, rc bool) invoice.Subscription {
	return invoice.Subscription{ID: invoice.SubscriptionID(id),
		Customer: invoice.Customer{ID: invoice.CustomerID(id), Region: region, ReverseCharge: rc},
		Currency: ensemble.MustCurrency("PLN"), Anchor: rcJan,
		Items: []invoice.Item{{ID: "sites", Segments: []invoice.Segment{
			{Start: rcJan, Pin: catalog.Pin{Offer: "link", Version: 1}, Quantity: decimal.NewFromInt(10)}}}}}
}

func TestReverseChargeRefusedForCustomerInSellersCountry(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(telcoRCCatalog))
	require.NoError(t, err)
	table := invoice.TaxTable{Seller: "PL", Rules: rcRules}
	b, err := invoice.NewBuilder(cat, invoice.Options{Taxes: table})
	require.NoError(t, err)
	sub := rcSub
	run := invoice.Run{At: rcJan}

	t.Run("PL customer with reverse charge is refused", func(t *testing.T) {
		for _, region := range []string{"PL", "PL-14", "pl"} {
			s := sub("warsaw-sp", region, true)
			invs, err := b.Build(run, []invoice.Subscription{s})
			require.Error(t, err, region)
			require.Nil(t, invs)
			require.ErrorIs(t, err, invoice.ErrReverseChargeDomestic)
			require.ErrorIs(t, err, invoice.ErrInvalid)
			var ve *ensemble.ValidationError
			require.True(t, errors.As(err, &ve))
			require.Len(t, ve.Problems, 1)
			require.Equal(t, "subscriptions[0].customer", ve.Problems[0].Path)
			require.Contains(t, err.Error(), `"warsaw-sp"`)
			require.Contains(t, err.Error(), `"PL"`)
			require.ErrorIs(t, b.Validate(run, []invoice.Subscription{s}), invoice.ErrReverseChargeDomestic)
		}
	})
	t.Run("DE customer with reverse charge pays no VAT", func(t *testing.T) {
		invs, err := b.Build(run, []invoice.Subscription{sub("berlin-gmbh", "DE", true)})
		require.NoError(t, err)
		require.Len(t, invs, 1)
		inv := invs[0]
		require.True(t, inv.ReverseCharge)
		require.True(t, inv.Subtotal.Equal(ensemble.MustMoney("1000.00", "PLN")))
		require.True(t, inv.Tax.IsZero())
		require.Equal(t, invoice.TaxReverseCharge, inv.Lines[0].TaxRule.Treatment)
	})
	t.Run("PL customer without reverse charge pays 23%", func(t *testing.T) {
		invs, err := b.Build(run, []invoice.Subscription{sub("warsaw-sp", "PL", false)})
		require.NoError(t, err)
		require.Len(t, invs, 1)
		inv := invs[0]
		require.False(t, inv.ReverseCharge)
		require.True(t, inv.Tax.Equal(ensemble.MustMoney("230.00", "PLN")))
		require.True(t, inv.Total.Equal(ensemble.MustMoney("1230.00", "PLN")))
	})
	t.Run("without a seller nothing changes", func(t *testing.T) {
		nb, err := invoice.NewBuilder(cat, invoice.Options{Taxes: invoice.TaxTable{Rules: table.Rules}})
		require.NoError(t, err)
		invs, err := nb.Build(run, []invoice.Subscription{sub("warsaw-sp", "PL", true)})
		require.NoError(t, err)
		require.True(t, invs[0].ReverseCharge)
		require.True(t, invs[0].Tax.IsZero())
	})
	t.Run("a malformed seller is refused", func(t *testing.T) {
		for _, seller := range []string{"-ON", " PL", "P L"} {
			_, err := invoice.NewBuilder(cat, invoice.Options{Taxes: invoice.TaxTable{Seller: seller, Rules: table.Rules}})
			require.ErrorIs(t, err, invoice.ErrInvalid, seller)
		}
	})
}

// Declaring the seller changes nothing but refusing reverse-charge
// customers in its country: every other run bills exactly what the same
// table without a seller bills, and no invoice reverse charges a customer
// in the seller's country.
func TestPropertyReverseChargeSellerOnlyRefusesDomestic(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(telcoRCCatalog))
	require.NoError(t, err)
	plain, err := invoice.NewBuilder(cat, invoice.Options{Taxes: invoice.TaxTable{Rules: rcRules}})
	require.NoError(t, err)
	regions := []string{"PL", "PL-14", "pl", "DE", "DE-BY", "de", "FR", ""}
	builders := map[string]*invoice.Builder{}
	for _, seller := range []string{"PL", "PL-MZ", "DE", "fr"} {
		b, err := invoice.NewBuilder(cat, invoice.Options{Taxes: invoice.TaxTable{Seller: seller, Rules: rcRules}})
		require.NoError(t, err)
		builders[seller] = b
	}
	rapid.Check(t, func(t *rapid.T) {
		seller := rapid.SampledFrom([]string{"PL", "PL-MZ", "DE", "fr"}).Draw(t, "seller")
		n := rapid.IntRange(1, 4).Draw(t, "subs")
		var subs []invoice.Subscription
		domestic := false
		for i := range n {
			region := rapid.SampledFrom(regions).Draw(t, "region")
			rc := rapid.Bool().Draw(t, "reverse_charge")
			if region == "" {
				region = "FR" // the table has no catch-all rule
				if rapid.Bool().Draw(t, "no region") {
					region = ""
				}
			}
			subs = append(subs, rcSub(string(rune('a'+i)), region, rc))
			sc, _, _ := strings.Cut(seller, "-")
			cc, _, _ := strings.Cut(region, "-")
			domestic = domestic || rc && region != "" && strings.EqualFold(sc, cc)
		}
		run := invoice.Run{At: rcJan}
		got, err := builders[seller].Build(run, subs)
		want, werr := plain.Build(run, subs)
		if domestic {
			if !errors.Is(err, invoice.ErrReverseChargeDomestic) || got != nil {
				t.Fatalf("domestic reverse charge under seller %q: got %d invoices, err %v", seller, len(got), err)
			}
			return
		}
		if errors.Is(err, invoice.ErrReverseChargeDomestic) {
			t.Fatalf("refused a cross-border customer under seller %q: %v", seller, err)
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("seller changed the outcome: %v vs %v", err, werr)
		}
		if err != nil {
			return // a region with no rule: the same error either way
		}
		if len(got) != len(want) {
			t.Fatalf("%d invoices, want %d", len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if !g.Total.Equal(w.Total) || !g.Tax.Equal(w.Tax) || g.ReverseCharge != w.ReverseCharge || g.Customer != w.Customer {
				t.Fatalf("invoice %d differs with a seller: total %s tax %s rc %v, want %s %s %v", i, g.Total, g.Tax, g.ReverseCharge, w.Total, w.Tax, w.ReverseCharge)
			}
		}
	})
}
