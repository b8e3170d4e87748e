package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
)

// wholeYAML sells sites (declared whole, with bounds), an add-on counted
// in whole units, and storage in GB (no declaration: any quantity).
const wholeYAML = `
offers:
  - id: sites
    version: 1
    currency: PLN
    effective_from: 2026-01-01T00:00:00Z
    min_quantity: 1
    max_quantity: 100
    quantity: whole
    charges:
      - {id: site, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "699.00"}}
  - id: extra-ip
    version: 1
    kind: add_on
    currency: PLN
    effective_from: 2026-01-01T00:00:00Z
    quantity: whole
    attaches_to: [sites]
    charges:
      - {id: ip, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "5"}}
  - id: storage
    version: 1
    currency: PLN
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: gb, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "0.10"}}
`

// TestWholeQuantityOfferRefusesFractions: an offer declaring `quantity:
// whole` refuses 12.5 units (an *OfferError wrapping
// ErrFractionalQuantity, naming the offer and the quantity), on its own
// lines and as an add-on; whole quantities, also written "12.00", pass;
// an offer that declares nothing keeps accepting fractions (the default).
func TestWholeQuantityOfferRefusesFractions(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(wholeYAML))
	require.NoError(t, err)
	sites, addOn, storage := catalog.Pin{Offer: "sites", Version: 1}, catalog.Pin{Offer: "extra-ip", Version: 1}, catalog.Pin{Offer: "storage", Version: 1}

	off, err := cat.Offer(sites)
	require.NoError(t, err)
	require.Equal(t, catalog.QuantityWhole, off.Quantity)
	require.Equal(t, "whole", off.Quantity.String())

	for _, q := range []string{"1", "12", "12.00", "100"} {
		require.NoError(t, cat.CheckQuantity(sites, decimal.RequireFromString(q)), q)
	}
	for _, q := range []string{"12.5", "1.5", "1.001", "99.9"} {
		err := cat.CheckQuantity(sites, decimal.RequireFromString(q))
		require.ErrorIs(t, err, catalog.ErrFractionalQuantity, q)
		var oe *catalog.OfferError
		require.True(t, errors.As(err, &oe), q)
		require.Equal(t, catalog.OfferID("sites"), oe.Offer)
		require.Equal(t, q, oe.Value)
		require.ErrorContains(t, err, `offer "sites"@1`)
	}
	// Bounds are still checked, and first.
	require.ErrorIs(t, cat.CheckQuantity(sites, decimal.RequireFromString("100.5")), catalog.ErrQuantity)

	require.NoError(t, cat.CheckAttach(addOn, sites, decimal.RequireFromString("2")))
	require.ErrorIs(t, cat.CheckAttach(addOn, sites, decimal.RequireFromString("1.5")), catalog.ErrFractionalQuantity)

	require.NoError(t, cat.CheckQuantity(storage, decimal.RequireFromString("12.5")), "no declaration: any quantity")

	// The declaration survives the document round trip, in JSON too.
	again, err := catalog.New(cat.Document())
	require.NoError(t, err)
	require.ErrorIs(t, again.CheckQuantity(sites, decimal.RequireFromString("12.5")), catalog.ErrFractionalQuantity)
	b, err := cat.MarshalJSON()
	require.NoError(t, err)
	require.Contains(t, string(b), `"quantity":"whole"`)
	require.Equal(t, 2, strings.Count(string(b), `"quantity":"whole"`), "an offer without the declaration writes none")
	_, err = catalog.Load(b)
	require.NoError(t, err)
}

// TestQuantityKindBadValue: a quantity kind other than "whole" or "any" is
// a decode error naming the value and its path (an *ensemble.EnumError);
// an undeclared value built in Go is ErrOutOfRange at offers[i].quantity.
func TestQuantityKindBadValue(t *testing.T) {
	for _, bad := range []string{"integer", "Whole", "units", "1", "true"} {
		_, err := catalog.LoadYAML([]byte(strings.Replace(wholeYAML, "quantity: whole\n    charges", "quantity: "+bad+"\n    charges", 1)))
		require.ErrorIs(t, err, ensemble.ErrDecode, bad)
		require.ErrorContains(t, err, "offers[0].quantity", bad)
		if bad == "1" || bad == "true" {
			continue // a number or a boolean: a type error at the path
		}
		var ee *ensemble.EnumError
		require.True(t, errors.As(err, &ee), "%s: %v", bad, err)
		require.Equal(t, bad, ee.Text)
	}
	cat, err := catalog.LoadYAML([]byte(strings.Replace(wholeYAML, "quantity: whole\n    charges", "quantity: any\n    charges", 1)))
	require.NoError(t, err, `"any" is the default, written out`)
	require.NoError(t, cat.CheckQuantity(catalog.Pin{Offer: "sites", Version: 1}, decimal.RequireFromString("12.5")))

	doc := cat.Document()
	doc.Offers[2].Quantity = catalog.QuantityKind(7)
	_, err = catalog.New(doc)
	require.ErrorIs(t, err, catalog.ErrOutOfRange)
	require.ErrorContains(t, err, "offers[2].quantity")
}

// TestPropertyWholeQuantityAcceptsExactlyIntegers: within its bounds, a
// whole-unit offer accepts a quantity if and only if it is an integer,
// however many (zero) decimals it is written with.
func TestPropertyWholeQuantityAcceptsExactlyIntegers(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(wholeYAML))
	require.NoError(t, err)
	sites := catalog.Pin{Offer: "sites", Version: 1}
	rapid.Check(t, func(t *rapid.T) {
		places := rapid.IntRange(0, 3).Draw(t, "places")
		scale := decimal.New(1, int32(places)).IntPart()
		whole := rapid.Int64Range(1, 99).Draw(t, "whole")
		frac := rapid.Int64Range(0, scale-1).Draw(t, "frac")
		q := decimal.New(whole*scale+frac, -int32(places)) // 1 to 99.999, written with places decimals
		err := cat.CheckQuantity(sites, q)
		if q.IsInteger() {
			if err != nil {
				t.Fatalf("%s refused: %v", q, err)
			}
		} else if !errors.Is(err, catalog.ErrFractionalQuantity) {
			t.Fatalf("%s: got %v, want ErrFractionalQuantity", q, err)
		}
	})
}
