package catalog_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/stretchr/testify/require"
)

func TestLoadRoundTrip(t *testing.T) {
	c := mustStore(t)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	back, err := catalog.Load(b)
	require.NoError(t, err)
	requireEqual(t, back.Document(), c.Document())
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))
	require.Equal(t, string(b), string(b2), "byte-identical")

	var viaUnmarshal catalog.Catalog
	require.NoError(t, json.Unmarshal(b, &viaUnmarshal))
	requireEqual(t, viaUnmarshal.Document(), c.Document())

	require.Equal(t, []catalog.OfferID{"backup", "extra-ip", "storage", "suite"}, c.IDs())
	require.Equal(t, []catalog.Pin{{Offer: "storage", Version: 1}, {Offer: "storage", Version: 2}}, c.Versions("storage"))
	doc := c.Document()
	require.Equal(t, catalog.ChargeID("base"), doc.Offers[2].Charges[0].ID, "charges sorted by id")
}

func TestDocumentIsACopy(t *testing.T) {
	c := mustStore(t)
	doc := c.Document()
	doc.Offers[2].Charges[0].Price.Amount = dec("1000")
	doc.Offers[2].Attributes["region"] = "us"
	again := c.Document()
	require.True(t, again.Offers[2].Charges[0].Price.Amount.Equal(dec("9")))
	require.Equal(t, "eu", again.Offers[2].Attributes["region"])
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		yaml bool
	}{
		{"not json", `{`, false},
		{"unknown field", `{"offers":[],"extra":1}`, false},
		{"unknown field in tier", `{"offers":[{"id":"a","charges":[{"price":{"tiers":[{"up_too":"1"}]}}]}]}`, false},
		{"trailing data", `{"offers":[]} {}`, false},
		{"bad enum", `{"offers":[{"id":"a","kind":"gadget"}]}`, false},
		{"bad decimal", `{"offers":[{"id":"a","min_quantity":"lots"}]}`, false},
		{"yaml syntax", "offers: [", true},
		{"yaml float spelling", "offers:\n  - id: a\n    min_quantity: .inf\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c *catalog.Catalog
			var err error
			if tc.yaml {
				c, err = catalog.LoadYAML([]byte(tc.doc))
			} else {
				c, err = catalog.Load([]byte(tc.doc))
			}
			require.Error(t, err)
			require.Nil(t, c)
		})
	}
}

func TestVersions(t *testing.T) {
	c := mustStore(t)
	tests := []struct {
		name    string
		at      time.Time
		version int
		err     error
	}{
		{"first day of v1", day("2026-01-01"), 1, nil},
		{"last instant of v1", day("2026-07-01").Add(-time.Nanosecond), 1, nil},
		{"v2 starts where v1 ends", day("2026-07-01"), 2, nil},
		{"v2 is open", day("2030-01-01"), 2, nil},
		{"before any version", day("2025-12-31"), 0, catalog.ErrNotInForce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pin, err := c.PinAt("storage", tc.at)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				var le *catalog.LookupError
				require.ErrorAs(t, err, &le)
				require.Equal(t, catalog.OfferID("storage"), le.Offer)
				return
			}
			require.NoError(t, err)
			require.Equal(t, catalog.Pin{Offer: "storage", Version: tc.version}, pin)
			o, err := c.OfferAt("storage", tc.at)
			require.NoError(t, err)
			require.Equal(t, tc.version, o.Version)
			require.True(t, o.InForce(tc.at))
		})
	}
	_, err := c.PinAt("nothing", day("2026-03-01"))
	require.ErrorIs(t, err, catalog.ErrNotFound)
	_, err = c.Offer(catalog.Pin{Offer: "storage", Version: 9})
	require.ErrorIs(t, err, catalog.ErrNotFound)
	_, err = c.Rater(catalog.Pin{Offer: "storage", Version: 1}, "nope")
	require.ErrorIs(t, err, catalog.ErrNotFound)
	require.Contains(t, err.Error(), `charge "nope"`)
	_, err = c.Charge(catalog.Pin{Offer: "storage", Version: 1}, "nope")
	require.ErrorIs(t, err, catalog.ErrNotFound)
	_, err = c.Charge(catalog.Pin{Offer: "storage", Version: 1}, "")
	require.ErrorIs(t, err, catalog.ErrNotFound)
	require.EqualError(t, err, `catalog: offer "storage"@1: not found: the charge id is empty`, "the offer is found; the charge is what is missing")
	ch, err := c.Charge(catalog.Pin{Offer: "storage", Version: 2}, "gb-month")
	require.NoError(t, err)
	require.Equal(t, catalog.Usage, ch.Type)
	require.Equal(t, "storage_gb", ch.Meter)
	require.Equal(t, catalog.Volume, ch.Price.Model)
	ch.Price.Tiers[0].UnitAmount = dec("99")
	again, err := c.Charge(catalog.Pin{Offer: "storage", Version: 2}, "gb-month")
	require.NoError(t, err)
	require.True(t, again.Price.Tiers[0].UnitAmount.Equal(dec("0.09")), "Charge returns a copy")

	// Effective instants are stored in UTC.
	paris := time.FixedZone("CET", 3600)
	local, err := catalog.New(catalog.Document{Offers: []catalog.Offer{{ID: "z", Version: 1, Currency: "EUR",
		EffectiveFrom: time.Date(2026, 1, 1, 1, 0, 0, 0, paris)}}})
	require.NoError(t, err)
	o, err := local.Offer(catalog.Pin{Offer: "z", Version: 1})
	require.NoError(t, err)
	require.Equal(t, time.UTC, o.EffectiveFrom.Location())
	require.True(t, o.EffectiveFrom.Equal(day("2026-01-01")))
}

// TestPinnedVersionSurvives shows that an order's pinned version keeps its
// price after a newer version is published and after it is retired.
func TestPinnedVersionSurvives(t *testing.T) {
	c := mustStore(t)
	quoted, err := c.PinAt("storage", day("2026-03-01"))
	require.NoError(t, err)
	rate := func(c *catalog.Catalog, pin catalog.Pin) ensemble.Money {
		r, err := c.Rater(pin, "gb-month")
		require.NoError(t, err)
		got, err := r.Amount(dec("1500"), catalog.RateOptions{})
		require.NoError(t, err)
		return got
	}
	before := rate(c, quoted)
	requireMoney(t, before, money("122.00", "EUR"))

	retired, err := c.Retire(catalog.Pin{Offer: "storage", Version: 2}, day("2027-01-01"))
	require.NoError(t, err)
	v3 := catalog.Offer{ID: "storage", Version: 3, Currency: "EUR", EffectiveFrom: day("2027-01-01"),
		Charges: []catalog.Charge{{ID: "gb-month", Type: catalog.Usage, Meter: "storage_gb",
			Price: catalog.Price{Model: catalog.PerUnit, Amount: dec("1")}}}}
	newer, err := retired.With(v3)
	require.NoError(t, err)

	pin, err := newer.PinAt("storage", day("2027-02-01"))
	require.NoError(t, err)
	require.Equal(t, 3, pin.Version)
	requireMoney(t, rate(newer, quoted), before, "the pinned price never changes")
	o, err := newer.Offer(quoted)
	require.NoError(t, err)
	require.Equal(t, 1, o.Version)

	// Retiring the pinned version itself stops new sales but not the pin.
	gone, err := newer.Retire(quoted, day("2026-02-01"))
	require.NoError(t, err)
	_, err = gone.PinAt("storage", day("2026-03-01"))
	require.ErrorIs(t, err, catalog.ErrNotInForce)
	requireMoney(t, rate(gone, quoted), before)
	requireMoney(t, rate(c, quoted), before, "the original catalog is unchanged")
	_, err = c.PinAt("storage", day("2027-02-01"))
	require.NoError(t, err)

	_, err = c.Retire(catalog.Pin{Offer: "storage", Version: 1}, day("2025-01-01"))
	require.ErrorIs(t, err, catalog.ErrPeriod, "retiring before the version starts")
	_, err = c.Retire(catalog.Pin{Offer: "ghost", Version: 1}, day("2027-01-01"))
	require.ErrorIs(t, err, catalog.ErrNotFound)
	_, err = c.With(v3, v3)
	require.ErrorIs(t, err, catalog.ErrDuplicate)
}

func TestRefs(t *testing.T) {
	pin := catalog.Pin{Offer: "storage", Version: 2}
	require.Equal(t, "storage@2", pin.String())
	require.Equal(t, "offer:storage@2", pin.Ref().String())
	require.Equal(t, "charge:storage/gb@2", pin.ChargeRef("gb").String())
	require.Equal(t, "price:storage/gb@2", pin.PriceRef("gb").String())
	require.Equal(t, "bundle_component:suite/storage/cloudco@2", catalog.Pin{Offer: "suite", Version: 2}.ComponentRef("storage", "cloudco").String())

	c := mustStore(t)
	r, err := c.Rater(catalog.Pin{Offer: "storage", Version: 1}, "gb-month")
	require.NoError(t, err)
	got, err := r.Rate(dec("3"), catalog.RateOptions{})
	require.NoError(t, err)
	require.Equal(t, catalog.Pin{Offer: "storage", Version: 1}.PriceRef("gb-month"), got.Price)
	require.Equal(t, got.Price, r.Ref())
	_, err = r.Rate(dec("-3"), catalog.RateOptions{})
	require.ErrorContains(t, err, "price:storage/gb-month@1")
}

func TestCheckQuantityAndAttach(t *testing.T) {
	c := mustStore(t)
	ip := catalog.Pin{Offer: "extra-ip", Version: 1}
	storage := catalog.Pin{Offer: "storage", Version: 2}
	tests := []struct {
		name  string
		addOn catalog.Pin
		base  catalog.Pin
		qty   string
		want  error
	}{
		{"within bounds", ip, storage, "3", nil},
		{"minimum", ip, storage, "1", nil},
		{"maximum", ip, storage, "5", nil},
		{"below minimum", ip, storage, "0", catalog.ErrQuantity},
		{"above maximum", ip, storage, "5.5", catalog.ErrQuantity},
		{"negative", ip, storage, "-1", catalog.ErrNegativeQuantity},
		{"absurd exponent", ip, storage, "1e-2000", catalog.ErrOutOfRange},
		{"base not listed", ip, catalog.Pin{Offer: "backup", Version: 1}, "1", catalog.ErrNotAttachable},
		{"not an add-on", catalog.Pin{Offer: "backup", Version: 1}, storage, "1", catalog.ErrNotAttachable},
		{"missing base", ip, catalog.Pin{Offer: "storage", Version: 7}, "1", catalog.ErrNotFound},
		{"missing add-on", catalog.Pin{Offer: "extra-ip", Version: 2}, storage, "1", catalog.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := c.CheckAttach(tc.addOn, tc.base, dec(tc.qty))
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
	require.NoError(t, c.CheckQuantity(catalog.Pin{Offer: "suite", Version: 1}, dec("1000")), "no maximum")
	err := c.CheckQuantity(catalog.Pin{Offer: "suite", Version: 1}, dec("0.5"))
	require.ErrorIs(t, err, catalog.ErrQuantity)
	var oe *catalog.OfferError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, catalog.OfferID("suite"), oe.Offer)
	require.Equal(t, `catalog: offer "suite"@1: quantity outside the offer's bounds: "0.5 not in [1, ∞)"`, err.Error())
}

func TestSupplierCosts(t *testing.T) {
	c := mustStore(t)
	suite := catalog.Pin{Offer: "suite", Version: 1}
	got, err := c.SupplierCosts(suite, "licence", money("100.00", "EUR"), dec("2"), catalog.CostOptions{})
	require.NoError(t, err)
	require.Len(t, got.Costs, 2)
	require.Equal(t, "cloudco", got.Costs[0].Supplier, "sorted by supplier")
	requireMoney(t, got.Costs[0].Cost, money("40.00", "EUR"))
	require.Equal(t, suite.ComponentRef("storage", "cloudco"), got.Costs[0].Component)
	requireMoney(t, got.Costs[1].Cost, money("12.00", "EUR"), "3.00 × 2 per bundle × 2 bundles")
	requireMoney(t, got.Margin, money("48.00", "EUR"))

	b, err := json.Marshal(got)
	require.NoError(t, err)
	var back catalog.Costs
	require.NoError(t, json.Unmarshal(b, &back))
	requireEqual(t, back, got)

	errs := []struct {
		name   string
		pin    catalog.Pin
		charge catalog.ChargeID
		retail ensemble.Money
		qty    string
		opts   catalog.CostOptions
		want   error
	}{
		{"not a bundle", catalog.Pin{Offer: "backup", Version: 1}, "licence", money("1", "EUR"), "1", catalog.CostOptions{}, catalog.ErrFieldNotAllowed},
		{"other currency", suite, "licence", money("1", "USD"), "1", catalog.CostOptions{}, catalog.ErrCurrency},
		{"negative retail", suite, "licence", money("-1", "EUR"), "1", catalog.CostOptions{}, catalog.ErrNegative},
		{"sub-cent retail", suite, "licence", money("1.005", "EUR"), "1", catalog.CostOptions{}, ensemble.ErrNotMinorUnits},
		{"negative quantity", suite, "licence", money("1", "EUR"), "-1", catalog.CostOptions{}, catalog.ErrNegativeQuantity},
		{"missing bundle", catalog.Pin{Offer: "suite", Version: 5}, "licence", money("1", "EUR"), "1", catalog.CostOptions{}, catalog.ErrNotFound},
		{"charge the bundle lacks", suite, "setup", money("1", "EUR"), "1", catalog.CostOptions{}, catalog.ErrNotFound},
		{"fraction above one", suite, "licence", money("1", "EUR"), "1", catalog.CostOptions{Fraction: ptr(ensemble.MustRatio("32/31"))}, catalog.ErrOutOfRange},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.SupplierCosts(tc.pin, tc.charge, tc.retail, dec(tc.qty), tc.opts)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, got.Costs)
		})
	}
}

func TestSupplierCostsThirds(t *testing.T) {
	base := catalog.Offer{ID: "p", Version: 1, Currency: "EUR", EffectiveFrom: day("2026-01-01")}
	bundle := catalog.Offer{ID: "b", Version: 1, Kind: catalog.Bundle, Currency: "EUR", EffectiveFrom: day("2026-01-01"),
		Charges: []catalog.Charge{{ID: "plan", Type: catalog.Recurring, Cadence: ensemble.Every(1, ensemble.Monthly), Timing: catalog.InAdvance,
			Price: catalog.Price{Model: catalog.Flat, Amount: dec("10")}}},
		Components: []catalog.Component{
			{Offer: "p", Supplier: "zeta", Cost: catalog.WholesaleCost{Ratio: ensemble.MustRatio("1/3")}},
			{Offer: "p", Supplier: "alpha", Cost: catalog.WholesaleCost{Ratio: ensemble.MustRatio("1/3")}},
		}}
	c, err := catalog.New(catalog.Document{Offers: []catalog.Offer{bundle, base}})
	require.NoError(t, err)
	tests := []struct {
		name, retail, alpha, zeta, margin string
		opts                              catalog.CostOptions
	}{
		{"ties go to the smaller key", "10.00", "3.34", "3.33", "3.33", catalog.CostOptions{}},
		{"exact thirds", "9.00", "3.00", "3.00", "3.00", catalog.CostOptions{}},
		{"zero", "0", "0", "0", "0", catalog.CostOptions{}},
		{"one cent", "0.01", "0.01", "0", "0", catalog.CostOptions{}},
		{"first in order", "10.00", "3.34", "3.33", "3.33", catalog.CostOptions{Method: ensemble.FirstInOrder}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.SupplierCosts(catalog.Pin{Offer: "b", Version: 1}, "plan", money(tc.retail, "EUR"), dec("1"), tc.opts)
			require.NoError(t, err)
			requireMoney(t, got.Costs[0].Cost, money(tc.alpha, "EUR"), "alpha")
			requireMoney(t, got.Costs[1].Cost, money(tc.zeta, "EUR"), "zeta")
			requireMoney(t, got.Margin, money(tc.margin, "EUR"), "margin")
		})
	}
}

func TestEnumsText(t *testing.T) {
	type textual interface {
		MarshalText() ([]byte, error)
		String() string
	}
	tests := []struct {
		name  string
		value textual
		text  string
		read  func([]byte) (textual, error)
	}{
		{"offer kind", catalog.AddOn, "add_on", func(b []byte) (textual, error) { var v catalog.OfferKind; err := v.UnmarshalText(b); return v, err }},
		{"charge type", catalog.OneTime, "one_time", func(b []byte) (textual, error) { var v catalog.ChargeType; err := v.UnmarshalText(b); return v, err }},
		{"timing", catalog.InArrears, "in_arrears", func(b []byte) (textual, error) { var v catalog.Timing; err := v.UnmarshalText(b); return v, err }},
		{"model", catalog.GraduatedPercentage, "graduated_percentage", func(b []byte) (textual, error) { var v catalog.Model; err := v.UnmarshalText(b); return v, err }},
		{"package rounding", catalog.RoundDownPackages, "down", func(b []byte) (textual, error) {
			var v catalog.PackageRounding
			err := v.UnmarshalText(b)
			return v, err
		}},
		{"rounding policy", catalog.RoundPerTier, "per_tier", func(b []byte) (textual, error) {
			var v catalog.RoundingPolicy
			err := v.UnmarshalText(b)
			return v, err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.value.MarshalText()
			require.NoError(t, err)
			require.Equal(t, tc.text, string(b))
			require.Equal(t, tc.text, tc.value.String())
			back, err := tc.read(b)
			require.NoError(t, err)
			require.Equal(t, tc.value, back)
			_, err = tc.read([]byte("Nonsense"))
			require.Error(t, err)
		})
	}
	_, err := catalog.Model(200).MarshalText()
	require.Error(t, err)
	require.Equal(t, "model(200)", catalog.Model(200).String())
	var zero catalog.OfferKind
	require.NoError(t, zero.UnmarshalText(nil))
	require.Equal(t, catalog.Product, zero, "the empty name is the default")
}

// TestValidationReportsEverything loads one document with a problem of
// every kind and checks that each is reported, at its path, at once.
func TestValidationReportsEverything(t *testing.T) {
	doc := `
offers:
  - id: a
    version: 1
    currency: ZZZ
    effective_from: 2026-01-01T00:00:00Z
    effective_until: 2026-06-01T00:00:00Z
    charges:
      - id: c1
        type: usage
        meter: m
        price:
          model: graduated
          tiers:
            - {up_to: 100, unit_amount: "-1"}
            - {up_to: 50, unit_amount: "1"}
            - {unit_amount: "1"}
      - id: c2
        type: usage
        meter: m
        price:
          model: volume
          tiers:
            - {unit_amount: "1"}
            - {up_to: 10, unit_amount: "1"}
      - id: c1
        type: recurring
        price: {model: package, amount: "1", package_size: "0"}
      - id: c4
        type: usage
        price: {model: per_unit, amount: "1", minimum_spend: "10", maximum_spend: "5"}
  - id: a
    version: 2
    currency: EUR
    effective_from: 2026-06-01T00:00:00Z
  - id: a
    version: 3
    currency: EUR
    effective_from: 2026-05-01T00:00:00Z
    effective_until: 2026-07-01T00:00:00Z
  - id: x
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    components: [{offer: y, supplier: s1}]
  - id: y
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    components: [{offer: x, supplier: s1}]
  - id: addon
    version: 1
    kind: add_on
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    attaches_to: [missing]
  - id: ""
    version: 0
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
`
	c, err := catalog.LoadYAML([]byte(doc))
	require.Nil(t, c)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	want := []struct {
		path string
		cond error
	}{
		{"offers[0].currency", catalog.ErrUnknownCurrency},
		{"offers[0].charges[0].price.tiers[0].unit_amount", catalog.ErrNegative},
		{"offers[0].charges[0].price.tiers[1].up_to", catalog.ErrTierOrder},
		{"offers[0].charges[1].price.tiers[0].up_to", catalog.ErrOpenTier},
		{"offers[0].charges[1].price.tiers[1].up_to", catalog.ErrOpenTier},
		{"offers[0].charges[2].cadence", catalog.ErrRequired},
		{"offers[0].charges[2].timing", catalog.ErrRequired},
		{"offers[0].charges[2].price.package_size", catalog.ErrPackageSize},
		{"offers[0].charges[2].id", catalog.ErrDuplicate},
		{"offers[0].charges[3].meter", catalog.ErrRequired},
		{"offers[0].charges[3].price.minimum_spend", catalog.ErrSpendBounds},
		{"offers[2].effective_from", catalog.ErrOverlap}, // with version 1
		{"offers[2].effective_from", catalog.ErrOverlap}, // with version 2
		{"offers[4].components[0].offer", catalog.ErrCycle},
		{"offers[5].attaches_to[0]", catalog.ErrMissingOffer},
		{"offers[6].id", catalog.ErrRequired},
		{"offers[6].version", catalog.ErrOutOfRange},
	}
	for _, w := range want {
		found := false
		for _, p := range ve.Problems {
			if p.Path == w.path && errors.Is(p.Err, w.cond) {
				found = true
			}
		}
		require.True(t, found, "missing %s at %s in %v", w.cond, w.path, err)
	}
	require.Len(t, ve.Problems, len(want), "%v", err)
	require.ErrorIs(t, err, catalog.ErrCycle, "errors.Is looks into every problem")
	var oe *catalog.OfferError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, catalog.OfferID("a"), oe.Offer)
	require.Contains(t, err.Error(), `offers[0].currency: catalog: offer "a"@1: unknown currency: "ZZZ"`)
	require.Contains(t, err.Error(), `offers[0].charges[0].price.tiers[1].up_to: catalog: offer "a"@1 charge "c1": tiers not strictly increasing: "50 after 100"`)
	require.Contains(t, err.Error(), `bundle cycle: "x -> y -> x"`)
	require.Contains(t, err.Error(), `offers[6].id: catalog: offer ""@0: required`)
}

func TestValidationFields(t *testing.T) {
	ok := catalog.Price{Model: catalog.PerUnit, Amount: dec("1")}
	tests := []struct {
		name  string
		price catalog.Price
		path  string
		want  error
	}{
		{"no model", catalog.Price{}, "price.model", catalog.ErrRequired},
		{"tiers on per unit", catalog.Price{Model: catalog.PerUnit, Tiers: tiers3(catalog.Graduated).Tiers}, "price.tiers", catalog.ErrFieldNotAllowed},
		{"no tiers", catalog.Price{Model: catalog.Volume}, "price.tiers", catalog.ErrRequired},
		{"amount on graduated", catalog.Price{Model: catalog.Graduated, Amount: dec("1"), Tiers: tiers3(catalog.Graduated).Tiers}, "price.amount", catalog.ErrFieldNotAllowed},
		{"rate on per unit", catalog.Price{Model: catalog.PerUnit, Rate: ensemble.MustRatio("1%")}, "price.rate", catalog.ErrFieldNotAllowed},
		{"repeating rate", catalog.Price{Model: catalog.Percentage, Rate: ensemble.MustRatio("1/3")}, "price.rate", catalog.ErrNotTerminating},
		{"negative rate", catalog.Price{Model: catalog.Percentage, Rate: ensemble.MustRatio("-1%")}, "price.rate", catalog.ErrNegative},
		{"transaction bounds", catalog.Price{Model: catalog.Percentage, TransactionMinimum: dec("2"), TransactionMaximum: dec("1")}, "price.transaction_minimum", catalog.ErrSpendBounds},
		{"spend on percentage", catalog.Price{Model: catalog.Percentage, MinimumSpend: dec("1")}, "price.minimum_spend", catalog.ErrFieldNotAllowed},
		{"free units on flat", catalog.Price{Model: catalog.Flat, FreeUnits: dec("1")}, "price.free_units", catalog.ErrFieldNotAllowed},
		{"package size on per unit", catalog.Price{Model: catalog.PerUnit, PackageSize: dec("1")}, "price.package_size", catalog.ErrFieldNotAllowed},
		{"negative package size", catalog.Price{Model: catalog.Package, PackageSize: dec("-1")}, "price.package_size", catalog.ErrNegative},
		{"huge exponent", catalog.Price{Model: catalog.PerUnit, Amount: dec("1e50")}, "price.amount", catalog.ErrOutOfRange},
		{"tier rate on graduated", catalog.Price{Model: catalog.Graduated, Tiers: []catalog.Tier{{Rate: ensemble.MustRatio("1%")}}}, "price.tiers[0].rate", catalog.ErrFieldNotAllowed},
		{"unit on graduated percentage", catalog.Price{Model: catalog.GraduatedPercentage, Tiers: []catalog.Tier{{UnitAmount: dec("1")}}}, "price.tiers[0].unit_amount", catalog.ErrFieldNotAllowed},
		{"zero first bound", catalog.Price{Model: catalog.Graduated, Tiers: []catalog.Tier{{UpTo: up("0")}, {}}}, "price.tiers[0].up_to", catalog.ErrTierOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := catalog.NewRater(tc.price, ensemble.MustCurrency("EUR"))
			require.Nil(t, r)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			found := false
			for _, p := range ve.Problems {
				found = found || (p.Path == tc.path && errors.Is(p.Err, tc.want))
			}
			require.True(t, found, "want %s at %s, got %v", tc.want, tc.path, err)
		})
	}
	_, err := catalog.NewRater(ok, ensemble.Currency{})
	require.ErrorIs(t, err, catalog.ErrRequired, "no currency is a missing one, not an unknown one")
	require.NotErrorIs(t, err, catalog.ErrUnknownCurrency)
}

func TestSmallTypesJSON(t *testing.T) {
	tests := []struct {
		name string
		in   any
		out  any
		text string
	}{
		{"pin", catalog.Pin{Offer: "storage", Version: 2}, &catalog.Pin{}, `{"offer":"storage","version":2}`},
		{"rate options", catalog.RateOptions{Rounding: catalog.RoundPerTier, Mode: ensemble.RoundHalfEven, Interim: true}, &catalog.RateOptions{},
			`{"rounding":"per_tier","mode":"half_even","interim":true}`},
		{"default rate options", catalog.RateOptions{}, &catalog.RateOptions{}, `{"rounding":"per_line","mode":"half_away_from_zero"}`},
		{"cost options", catalog.CostOptions{Mode: ensemble.RoundDown, Method: ensemble.FirstInOrder}, &catalog.CostOptions{}, `{"mode":"down","method":"first_in_order"}`},
		{"tier", catalog.Tier{UpTo: up("10"), UnitAmount: dec("0.5")}, &catalog.Tier{}, `{"up_to":"10","unit_amount":"0.5"}`},
		{"percentage price", catalog.Price{Model: catalog.Percentage, Rate: ensemble.MustRatio("2.9%"), FixedFee: dec("0.30")}, &catalog.Price{},
			`{"model":"percentage","rate":"0.029","fixed_fee":"0.3"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.in)
			require.NoError(t, err)
			require.JSONEq(t, tc.text, string(b))
			require.NoError(t, json.Unmarshal(b, tc.out))
			requireEqual(t, deref(tc.out), tc.in)
		})
	}
}

func deref(p any) any {
	switch v := p.(type) {
	case *catalog.Pin:
		return *v
	case *catalog.RateOptions:
		return *v
	case *catalog.CostOptions:
		return *v
	case *catalog.Tier:
		return *v
	case *catalog.Price:
		return *v
	}
	panic("unknown type")
}

// TestConcurrentRating rates one catalog from many goroutines; run with
// -race, it shows Catalog and Rater are safe for concurrent use.
func TestConcurrentRating(t *testing.T) {
	c := mustStore(t)
	r, err := c.Rater(catalog.Pin{Offer: "storage", Version: 1}, "gb-month")
	require.NoError(t, err)
	want, err := r.Rate(dec("1500"), catalog.RateOptions{})
	require.NoError(t, err)
	results := make(chan ensemble.Money, 8)
	for range 8 {
		go func() {
			var last ensemble.Money
			for range 200 {
				rr, err := c.Rater(catalog.Pin{Offer: "storage", Version: 1}, "gb-month")
				if err != nil {
					results <- ensemble.Money{}
					return
				}
				got, err := rr.Rate(dec("1500"), catalog.RateOptions{})
				if err != nil {
					results <- ensemble.Money{}
					return
				}
				last = got.Amount
			}
			results <- last
		}()
	}
	for range 8 {
		requireMoney(t, <-results, want.Amount)
	}
}

// Components on an offer that is not a bundle are refused saying where a
// supplier's cost goes (a trial modelling a vendor's add-on read only
// 'field not allowed here: "1 components"').
func TestComponentsOnlyOnBundles(t *testing.T) {
	_, err := catalog.LoadYAML([]byte(`
offers:
  - {id: sec, version: 1, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: plain
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges: [{id: m, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "40"}}]
    components: [{offer: sec, supplier: vendor, cost: {ratio: "50%"}}]
`))
	require.ErrorIs(t, err, catalog.ErrFieldNotAllowed)
	require.ErrorContains(t, err, `offers[1].components: catalog: offer "plain"@1: field not allowed here: only a bundle has components, and with them supplier costs`)
	require.ErrorContains(t, err, `"1 on an offer of kind product"`)
}
