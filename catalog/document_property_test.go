package catalog_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// genPrice draws a valid price of any model.
func genPrice(t *rapid.T) catalog.Price {
	small := func(label string) decimal.Decimal {
		return decimal.New(rapid.Int64Range(0, 100000).Draw(t, label), -rapid.Int32Range(0, 4).Draw(t, label+"_scale"))
	}
	var p catalog.Price
	switch m := catalog.Model(rapid.IntRange(1, 7).Draw(t, "model")); m {
	case catalog.Flat, catalog.PerUnit:
		p = catalog.Price{Model: m, Amount: small("amount")}
	case catalog.Graduated, catalog.Volume:
		p = catalog.Price{Model: m, Tiers: genTiers(t, false)}
		if rapid.Bool().Draw(t, "has_blocks") {
			p.Tiers = genBlocks(t, p.Tiers)
		}
		if m == catalog.Volume && rapid.Bool().Draw(t, "flat_whole") {
			p.FlatProration = catalog.FlatWhole
		}
		p.FlatAtZero = catalog.FlatAtZero(rapid.IntRange(0, 1).Draw(t, "flat_at_zero"))
	case catalog.GraduatedPercentage:
		p = catalog.Price{Model: m, Tiers: genTiers(t, true), FlatAtZero: catalog.FlatAtZero(rapid.IntRange(0, 1).Draw(t, "flat_at_zero"))}
	case catalog.Package:
		p = catalog.Price{Model: m, Amount: small("amount"), PackageSize: small("size").Add(decimal.New(1, 0)),
			PackageRounding: catalog.PackageRounding(rapid.IntRange(0, 1).Draw(t, "rounding"))}
	case catalog.Percentage:
		p = catalog.Price{Model: m, Rate: ensemble.RatioFromDecimal(decimal.New(rapid.Int64Range(0, 10000).Draw(t, "bp"), -4)),
			FixedFee: small("fee"), TransactionMinimum: small("txmin")}
		if rapid.Bool().Draw(t, "has_txmax") {
			p.TransactionMaximum = p.TransactionMinimum.Add(small("txspan")).Add(decimal.New(1, 0))
		}
	}
	if m := p.Model; m != catalog.Flat && m != catalog.Percentage && rapid.Bool().Draw(t, "has_free") {
		p.FreeUnits = small("free")
	}
	if p.Model != catalog.Percentage && rapid.Bool().Draw(t, "has_spend") {
		p.MinimumSpend = small("min_spend")
		if rapid.Bool().Draw(t, "has_max_spend") {
			p.MaximumSpend = p.MinimumSpend.Add(small("spend_span")).Add(decimal.New(1, 0))
		}
		if rapid.Bool().Draw(t, "spend_per_tier") {
			p.SpendAdjustment = catalog.SpendPerTier
		}
	}
	return p
}

func genCharge(t *rapid.T, i int) catalog.Charge {
	c := catalog.Charge{ID: catalog.ChargeID(fmt.Sprintf("c%d", i)), Price: genPrice(t)}
	switch c.Type = catalog.ChargeType(rapid.IntRange(1, 3).Draw(t, "type")); c.Type {
	case catalog.Recurring:
		c.Cadence = ensemble.Every(rapid.IntRange(1, 12).Draw(t, "every"), ensemble.CadenceUnit(rapid.IntRange(1, 5).Draw(t, "unit")))
		c.Timing = catalog.Timing(rapid.IntRange(1, 2).Draw(t, "timing"))
	case catalog.Usage:
		c.Meter = "meter_" + rapid.StringMatching(`[a-z]{1,6}`).Draw(t, "meter")
		if rapid.Bool().Draw(t, "arrears") {
			c.Timing = catalog.InArrears
		}
		if p := &c.Price; (!p.MinimumSpend.IsZero() || !p.MaximumSpend.IsZero()) && rapid.Bool().Draw(t, "spend_service") {
			p.SpendProration = catalog.SpendService
		}
	}
	return c
}

// genDocument draws a valid catalog: products with consecutive versions, a
// bundle of some of them and an add-on.
func genDocument(t *rapid.T) catalog.Document {
	var doc catalog.Document
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cur := rapid.SampledFrom([]string{"EUR", "JPY", "KWD"}).Draw(t, "currency")
	nProducts := rapid.IntRange(1, 3).Draw(t, "products")
	for p := range nProducts {
		versions := rapid.IntRange(1, 3).Draw(t, "versions")
		from := start
		for v := 1; v <= versions; v++ {
			o := catalog.Offer{
				ID: catalog.OfferID(fmt.Sprintf("p%d", p)), Version: v, Name: rapid.StringMatching(`[\p{L}\p{N} .é€-]{0,12}`).Draw(t, "name"),
				Currency: cur, EffectiveFrom: from, Category: rapid.StringMatching(`[a-z]{0,8}`).Draw(t, "category"),
			}
			if v < versions || rapid.Bool().Draw(t, "closed") {
				o.EffectiveUntil = from.AddDate(0, 0, rapid.IntRange(1, 400).Draw(t, "days"))
				from = o.EffectiveUntil
			}
			if rapid.Bool().Draw(t, "has_attributes") {
				o.Attributes = map[string]string{"k" + rapid.StringMatching(`[a-z]{1,4}`).Draw(t, "key"): rapid.StringMatching(`[\p{L}\p{N} .-]{0,12}`).Draw(t, "value")}
			}
			if rapid.Bool().Draw(t, "has_quantity_bounds") {
				o.MinQuantity = decimal.New(rapid.Int64Range(0, 10).Draw(t, "min_qty"), 0)
				o.MaxQuantity = o.MinQuantity.Add(decimal.New(rapid.Int64Range(1, 100).Draw(t, "qty_span"), 0))
				o.Quantity = rapid.SampledFrom([]catalog.QuantityKind{catalog.QuantityAny, catalog.QuantityWhole}).Draw(t, "quantity_kind")
			}
			for i := range rapid.IntRange(0, 3).Draw(t, "charges") {
				o.Charges = append(o.Charges, genCharge(t, i))
			}
			doc.Offers = append(doc.Offers, o)
		}
	}
	if rapid.Bool().Draw(t, "has_bundle") {
		b := catalog.Offer{ID: "bundle", Version: 1, Kind: catalog.Bundle, Currency: cur, EffectiveFrom: start}
		for i := range rapid.IntRange(1, 3).Draw(t, "bundle_charges") {
			b.Charges = append(b.Charges, genCharge(t, i))
		}
		left := int64(100)
		for p := range nProducts {
			comp := catalog.Component{Offer: catalog.OfferID(fmt.Sprintf("p%d", p)), Supplier: fmt.Sprintf("s%d", p)}
			fixed := rapid.Bool().Draw(t, "fixed")
			if fixed {
				comp.Cost.Fixed = decimal.New(rapid.Int64Range(0, 10000).Draw(t, "fixed_cost"), -2)
				if !comp.Cost.Fixed.IsZero() && rapid.Bool().Draw(t, "per_line") {
					comp.Cost.Per = catalog.CostPerLine
				}
				if rapid.Bool().Draw(t, "fixed_in_other_currency") {
					comp.Cost.Currency = rapid.SampledFrom([]string{"EUR", "JPY", "KWD", "USD"}).Draw(t, "cost_currency")
				}
			} else {
				pct := rapid.Int64Range(0, left).Draw(t, "percent")
				left -= pct
				comp.Cost.Ratio = ensemble.RatioFromDecimal(decimal.New(pct, -2))
			}
			switch rapid.SampledFrom([]catalog.CostScope{catalog.CostRecurring, catalog.CostAll, catalog.CostCharges}).Draw(t, "scope") {
			case catalog.CostAll:
				comp.Cost.AppliesTo = catalog.AppliesTo{Scope: catalog.CostAll}
			case catalog.CostCharges:
				var named []catalog.ChargeID
				for _, ch := range b.Charges {
					if !(fixed && ch.Type == catalog.Usage) && rapid.Bool().Draw(t, "named") {
						named = append(named, ch.ID)
					}
				}
				if len(named) > 0 {
					comp.Cost.AppliesTo = catalog.AppliesTo{Scope: catalog.CostCharges, Charges: named}
				}
			}
			// A fixed cost on several recurring charges names the one that
			// counts the bundle's units (else ErrAmbiguousCost).
			var recurring []catalog.ChargeID
			for _, ch := range b.Charges {
				if ch.Type == catalog.Recurring {
					recurring = append(recurring, ch.ID)
				}
			}
			if !comp.Cost.Fixed.IsZero() && comp.Cost.AppliesTo.Scope != catalog.CostCharges && len(recurring) > 1 {
				comp.Cost.AppliesTo = catalog.AppliesTo{Scope: catalog.CostCharges, Charges: []catalog.ChargeID{rapid.SampledFrom(recurring).Draw(t, "counts_units")}}
			}
			b.Components = append(b.Components, comp)
		}
		doc.Offers = append(doc.Offers, b)
	}
	if rapid.Bool().Draw(t, "has_add_on") {
		doc.Offers = append(doc.Offers, catalog.Offer{ID: "add-on", Version: 1, Kind: catalog.AddOn, Currency: cur,
			EffectiveFrom: start, AttachesTo: []catalog.OfferID{"p0"}, MaxQuantity: decimal.New(3, 0)})
	}
	// The catalog must not depend on the order offers are given in.
	perm := rapid.Permutation(doc.Offers).Draw(t, "order")
	return catalog.Document{Offers: perm}
}

func TestPropertyCatalogJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc := genDocument(t)
		c, err := catalog.New(doc)
		require.NoError(t, err)
		b, err := json.Marshal(c)
		require.NoError(t, err)
		back, err := catalog.Load(b)
		require.NoError(t, err)
		requireEqual(t, back.Document(), c.Document())
		b2, err := json.Marshal(back)
		require.NoError(t, err)
		require.Equal(t, string(b), string(b2), "byte-identical")
		// JSON is YAML: the YAML loader reads the same catalog.
		viaYAML, err := catalog.LoadYAML(b)
		require.NoError(t, err)
		requireEqual(t, viaYAML.Document(), c.Document())
		// Order of the input does not matter.
		reordered, err := catalog.New(catalog.Document{Offers: rapid.Permutation(doc.Offers).Draw(t, "again")})
		require.NoError(t, err)
		b3, err := json.Marshal(reordered)
		require.NoError(t, err)
		require.Equal(t, string(b), string(b3), "deterministic whatever the input order")
		// Every charge rates the same after the round trip.
		q := genDec(t, "q", 100000, 3)
		for _, id := range c.IDs() {
			for _, pin := range c.Versions(id) {
				o, err := c.Offer(pin)
				require.NoError(t, err)
				for _, ch := range o.Charges {
					r1, err := c.Rater(pin, ch.ID)
					require.NoError(t, err)
					r2, err := back.Rater(pin, ch.ID)
					require.NoError(t, err)
					a1, err := r1.Rate(q, catalog.RateOptions{})
					noRange(t, err)
					a2, err := r2.Amount(q, catalog.RateOptions{})
					noRange(t, err)
					requireMoney(t, a2, a1.Amount)
				}
			}
		}
	})
}

// TestPropertySupplierCosts: on any charge of a bundle, the costs that
// apply are those the components' scopes take in, the others cost nothing,
// ratio costs are each within a minor unit of retail × ratio, a converted
// fixed cost is round(Source × Rate), and costs and margin add up to the
// retail amount exactly; without a needed rate the call fails naming the
// pair.
func TestPropertySupplierCosts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc := genDocument(t)
		c, err := catalog.New(doc)
		require.NoError(t, err)
		if len(c.Versions("bundle")) == 0 {
			return
		}
		pin := catalog.Pin{Offer: "bundle", Version: 1}
		cur, err := c.Currency(pin)
		require.NoError(t, err)
		o, err := c.Offer(pin)
		require.NoError(t, err)
		ch := rapid.SampledFrom(o.Charges).Draw(t, "charge")
		retail := ensemble.MoneyFromMinor(rapid.Int64Range(0, 1e12).Draw(t, "retail"), cur)
		qty := decimal.New(rapid.Int64Range(0, 1000).Draw(t, "qty"), -rapid.Int32Range(0, 2).Draw(t, "qty_scale"))
		opts := catalog.CostOptions{Mode: ensemble.RoundingMode(rapid.IntRange(0, 6).Draw(t, "mode"))}
		if rapid.Bool().Draw(t, "prorated") {
			f := ensemble.MustRatio(fmt.Sprintf("%d/31", rapid.IntRange(0, 31).Draw(t, "days")))
			opts.Fraction = &f
		}
		needRate := map[string]bool{}
		for _, comp := range o.Components {
			if comp.Cost.Currency != "" && comp.Cost.Currency != cur.Code() && !comp.Cost.Fixed.IsZero() &&
				comp.Cost.AppliesTo.Includes(ch.ID, ch.Type, true) {
				needRate[comp.Cost.Currency] = true
			}
		}
		for _, code := range []string{"EUR", "JPY", "KWD", "USD"} {
			if code != cur.Code() && rapid.Bool().Draw(t, "rate_"+code) {
				rate := ensemble.RatioFromDecimal(decimal.New(rapid.Int64Range(1, 2_000_000).Draw(t, "rate_"+code+"_micros"), -6))
				opts.Rates = append(opts.Rates, catalog.Rate{From: ensemble.MustCurrency(code), To: cur, Rate: rate})
				delete(needRate, code)
			}
		}
		got, err := c.SupplierCosts(pin, ch.ID, retail, qty, opts)
		if len(needRate) > 0 {
			var re *catalog.RateError
			require.ErrorAs(t, err, &re)
			require.ErrorIs(t, err, catalog.ErrNoRate)
			require.True(t, needRate[re.From.Code()], "the missing pair %s", re.From)
			require.Equal(t, cur, re.To)
			require.Nil(t, got.Costs)
			return
		}
		require.NoError(t, err)
		require.Len(t, append(got.Costs, got.NotApplied...), len(o.Components), "every component is listed once")
		sum := got.Margin
		unit := ensemble.RatioFromDecimal(decimal.New(1, -cur.Digits()))
		component := func(sc catalog.SupplierCost) catalog.Component {
			for _, comp := range o.Components {
				if comp.Offer == sc.Offer && comp.Supplier == sc.Supplier {
					return comp
				}
			}
			t.Fatalf("no component %s/%s", sc.Offer, sc.Supplier)
			return catalog.Component{}
		}
		for _, sc := range got.NotApplied {
			comp := component(sc)
			require.False(t, comp.Cost.AppliesTo.Includes(ch.ID, ch.Type, !comp.Cost.Fixed.IsZero()), "%s/%s listed as not applied", sc.Offer, sc.Supplier)
			require.True(t, sc.Cost.IsZero())
		}
		for _, sc := range got.Costs {
			comp := component(sc)
			require.True(t, comp.Cost.AppliesTo.Includes(ch.ID, ch.Type, !comp.Cost.Fixed.IsZero()), "%s/%s listed as applied", sc.Offer, sc.Supplier)
			require.True(t, sc.Cost.IsRounded(), "costs are whole minor units")
			require.Equal(t, cur, sc.Cost.Currency(), "costs are in the bundle's currency")
			require.False(t, sc.Cost.IsNegative())
			sum, err = sum.Add(sc.Cost)
			require.NoError(t, err)
			if !comp.Cost.Ratio.IsZero() {
				exact := ensemble.RatioFromDecimal(retail.Amount()).Mul(comp.Cost.Ratio)
				diff := exact.Sub(ensemble.RatioFromDecimal(sc.Cost.Amount()))
				require.True(t, diff.Cmp(unit) < 0 && diff.Neg().Cmp(unit) < 0, "ratio cost %s within a minor unit of %s", sc.Cost, exact)
			}
			if !comp.Cost.Fixed.IsZero() {
				// Owed per unit: fixed × quantity; per line: fixed once;
				// either prorated by the fraction and rounded once.
				owed := sc.Fixed
				if comp.Cost.Per == catalog.CostPerUnit {
					owed = owed.Mul(qty)
				}
				if opts.Fraction != nil {
					owed = owed.MulRatio(*opts.Fraction, opts.Mode)
				} else {
					owed = owed.Round(opts.Mode)
				}
				if sc.Rate.IsZero() {
					requireMoney(t, sc.Cost, owed, "a fixed cost is fixed × quantity (per unit) × fraction")
				} else {
					requireMoney(t, sc.Source, owed, "a converted fixed cost's source is fixed × quantity (per unit) × fraction")
				}
				require.Equal(t, comp.Cost.Per, sc.Per)
			}
			if !sc.Rate.IsZero() {
				requireMoney(t, sc.Cost, ensemble.MoneyFromDecimal(sc.Source.Amount(), cur).MulRatio(sc.Rate, opts.Mode), "Cost = round(Source × Rate)")
				require.True(t, sc.Source.IsRounded(), "the source amount is whole minor units of its currency")
			}
		}
		requireMoney(t, sum, retail, "costs and margin add up to the retail amount")
	})
}
