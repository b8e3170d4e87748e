package catalog_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/shopspring/decimal"
)

// checkLoaded holds for every catalog a document loads into: it writes back
// to JSON that loads into the same catalog and the same bytes, and every
// charge rates without panicking, Amount agreeing with Rate.
func checkLoaded(t *testing.T, c *catalog.Catalog) {
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	back, err := catalog.Load(b)
	if err != nil {
		t.Fatalf("reload: %v\n%s", err, b)
	}
	b2, err := json.Marshal(back)
	if err != nil {
		t.Fatalf("marshal again: %v", err)
	}
	if string(b) != string(b2) {
		t.Fatalf("round trip changed the document:\n%s\n%s", b, b2)
	}
	for _, id := range c.IDs() {
		for _, pin := range c.Versions(id) {
			o, err := c.Offer(pin)
			if err != nil {
				t.Fatal(err)
			}
			if o.Kind == catalog.Bundle {
				checkBundleCosts(t, c, o)
			}
			curs, err := c.Currencies(pin)
			if err != nil || len(curs) != 1+len(o.Currencies) {
				t.Fatalf("currencies of %s: %v %v", pin, curs, err)
			}
			for _, ch := range o.Charges {
				for _, cur := range curs {
					checkRater(t, c, pin, ch.ID, cur)
				}
			}
		}
	}
}

// checkRater rates charge ch of the pinned offer in currency cur (one of
// its price books): the Rater bills in cur, and Amount agrees with Rate.
func checkRater(t *testing.T, c *catalog.Catalog, pin catalog.Pin, ch catalog.ChargeID, cur ensemble.Currency) {
	r, err := c.RaterIn(pin, ch, cur)
	if err != nil || r.Currency() != cur {
		t.Fatalf("rater of %s %s in %s: %v", pin, ch, cur, err)
	}
	for _, q := range []decimal.Decimal{decimal.Zero, decimal.New(15, -1), decimal.New(123456789, -2)} {
		for _, opts := range []catalog.RateOptions{{}, {Rounding: catalog.RoundPerTier}, {Rounding: catalog.RoundNone, Interim: true}} {
			rt, err := r.Rate(q, opts)
			if errors.Is(err, catalog.ErrOutOfRange) {
				continue
			}
			if err != nil {
				t.Fatalf("rate %s at %s: %v", pin, q, err)
			}
			a, err := r.Amount(q, opts)
			if err != nil || !a.Equal(rt.Amount) {
				t.Fatalf("Amount %s (%v) != Rate %s for %s at %s", a, err, rt.Amount, pin, q)
			}
		}
	}
}

// checkBundleCosts: on every charge of bundle o, SupplierCosts either fails
// with a typed error (a missing rate, a quantity out of range) or splits the
// retail amount into costs and a margin that add back to it, listing every
// component once.
func checkBundleCosts(t *testing.T, c *catalog.Catalog, o catalog.Offer) {
	curs, err := c.Currencies(o.Pin())
	if err != nil {
		t.Fatal(err)
	}
	for _, cur := range curs {
		checkBundleCostsIn(t, c, o, cur)
	}
}

// checkBundleCostsIn is checkBundleCosts in one of the bundle's currencies.
func checkBundleCostsIn(t *testing.T, c *catalog.Catalog, o catalog.Offer, cur ensemble.Currency) {
	retail := ensemble.MoneyFromMinor(12345, cur)
	for _, ch := range o.Charges {
		costs, err := c.SupplierCosts(o.Pin(), ch.ID, retail, decimal.New(3, 0), catalog.CostOptions{})
		var re *catalog.RateError
		if errors.As(err, &re) || errors.Is(err, catalog.ErrOutOfRange) {
			continue
		}
		if err != nil {
			t.Fatalf("supplier costs of %s charge %s: %v", o.Pin(), ch.ID, err)
		}
		if len(costs.Costs)+len(costs.NotApplied) != len(o.Components) {
			t.Fatalf("%s charge %s: %d costs and %d not applied for %d components", o.Pin(), ch.ID, len(costs.Costs), len(costs.NotApplied), len(o.Components))
		}
		total := costs.Margin
		for _, sc := range costs.Costs {
			if total, err = total.Add(sc.Cost); err != nil {
				t.Fatal(err)
			}
		}
		if !total.Equal(retail) {
			t.Fatalf("%s charge %s: costs and margin add up to %s, not %s", o.Pin(), ch.ID, total, retail)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"offers":[{"id":"s","version":1,"currency":"EUR","effective_from":"2026-01-01T00:00:00Z","charges":[` +
		`{"id":"g","type":"usage","meter":"gb","price":{"model":"graduated","minimum_spend":"3","tiers":[{"up_to":"10","unit_amount":"0.1","flat_amount":"1"},{"unit_amount":"0.05"}]}}]}]}`))
	f.Add([]byte(`{"offers":[]}`))
	f.Add([]byte(`{"offers":[{"id":"kb","version":1,"currency":"USD","effective_from":"2026-01-01T00:00:00Z","charges":[` +
		`{"id":"b","type":"usage","meter":"calls","price":{"model":"volume","flat_proration":"whole","spend_adjustment":"per_tier","maximum_spend":"150",` +
		`"tiers":[{"up_to":"1000","unit_amount":"1","block_size":"100"},{"unit_amount":"0.5","flat_amount":"2","block_size":"1000"}]}},` +
		`{"id":"g","type":"usage","meter":"gb","price":{"model":"graduated","spend_adjustment":"per_tier","maximum_spend":"170",` +
		`"tiers":[{"up_to":"5","flat_amount":"100"},{"up_to":"10","flat_amount":"50"},{"up_to":"15","unit_amount":"5"},{"unit_amount":"1","block_size":"0.25"}]}}]}]}`))
	f.Add([]byte(`{"offers":[{"id":"a","version":1,"currency":"JPY","effective_from":"2026-01-01T00:00:00Z","charges":[{"id":"c","type":"usage","meter":"m","price":{"model":"package","amount":"7","package_size":"2.5","package_rounding":"down"}}]}]}`))
	f.Add([]byte(`{"offers":[{"id":"b","version":1,"kind":"bundle","currency":"KWD","effective_from":"2026-01-01T00:00:00Z","components":[{"offer":"b","supplier":"s","cost":{"ratio":"1/3"}}]}]}`))
	f.Add([]byte(`{"offers":[{"id":"p","version":1,"currency":"EUR","effective_from":"2026-01-01T00:00:00Z"},` +
		`{"id":"b","version":1,"kind":"bundle","currency":"EUR","effective_from":"2026-01-01T00:00:00Z","charges":[` +
		`{"id":"fee","type":"one_time","price":{"model":"flat","amount":"500"}},{"id":"m","type":"recurring","cadence":{"unit":"monthly"},"timing":"in_advance","price":{"model":"flat","amount":"9.99"}}],` +
		`"components":[{"offer":"p","supplier":"s","cost":{"ratio":"55%","applies_to":"all"}},{"offer":"p","supplier":"t","cost":{"fixed":"1.5","currency":"USD","applies_to":["fee"]}},` +
		`{"offer":"p","supplier":"u","cost":{"ratio":"1/3"}}]}]}`))
	// Price books: an offer priced in further currencies, with tiers of
	// their own, and a bundle whose fixed cost is given in each.
	f.Add([]byte(`{"offers":[{"id":"s","version":1,"currency":"EUR","currencies":["JPY","BHD"],"effective_from":"2026-01-01T00:00:00Z","charges":[` +
		`{"id":"seat","type":"recurring","cadence":{"unit":"monthly"},"timing":"in_advance","price":{"model":"per_unit","amount":"100.00"},"prices":{"JPY":{"amount":"16000"},"BHD":{"model":"per_unit","amount":"38.500"}}},` +
		`{"id":"g","type":"usage","meter":"gb","price":{"model":"graduated","tiers":[{"up_to":"10","unit_amount":"0.1"},{"unit_amount":"0.05"}]},` +
		`"prices":{"JPY":{"tiers":[{"up_to":"5","flat_amount":"100"},{"unit_amount":"15"}],"minimum_spend":"500"},"BHD":{"tiers":[{"unit_amount":"0.040"}]}}}]},` +
		`{"id":"b","version":1,"kind":"bundle","currency":"EUR","currencies":["JPY"],"effective_from":"2026-01-01T00:00:00Z","charges":[` +
		`{"id":"m","type":"recurring","cadence":{"unit":"monthly"},"timing":"in_advance","price":{"model":"flat","amount":"9.99"},"prices":{"JPY":{"amount":"1600"}}}],` +
		`"components":[{"offer":"s","supplier":"v","cost":{"fixed":"1.5","fixed_in":{"JPY":"240"}}},{"offer":"s","supplier":"w","cost":{"ratio":"1/3"}}]}]}`))
	f.Add([]byte(`{"units":[{"code":"GEMS","digits":0}],"offers":[{"id":"g","version":1,"currency":"EUR","currencies":["GEMS"],"effective_from":"2026-01-01T00:00:00Z","charges":[` +
		`{"id":"p","type":"one_time","price":{"model":"percentage","rate":"2.9%","fixed_fee":"0.30"},"prices":{"GEMS:0":{"rate":"3%","fixed_fee":"25"}}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := catalog.Load(data)
		if err != nil {
			var de *ensemble.DecodeError
			var ve *ensemble.ValidationError
			if !errors.As(err, &de) && !errors.As(err, &ve) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if c != nil {
				t.Fatal("a failed load returned a catalog")
			}
			return
		}
		checkLoaded(t, c)
	})
}

func FuzzLoadYAML(f *testing.F) {
	f.Add([]byte("offers:\n- {id: s, version: 1, currency: JPY, effective_from: 2026-01-01T00:00:00Z, effective_until: 2027-01-01T00:00:00Z,\n" +
		"   charges: [{id: v, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: volume, tiers: [{up_to: 5, unit_amount: 100}, {unit_amount: 80}]}}]}\n" +
		"- {id: b, version: 1, kind: bundle, currency: JPY, effective_from: 2026-01-01T00:00:00Z, components: [{offer: s, supplier: p, cost: {ratio: 40%}}]}\n"))
	f.Add([]byte("offers:\n  - id: a\n    version: 1\n    currency: EUR\n    effective_from: 2026-01-01T00:00:00Z\n    charges:\n      - {id: c, type: one_time, price: {model: percentage, rate: 2.9%, fixed_fee: 0.30}}\n"))
	f.Add([]byte("offers:\n  - id: a\n    version: 1\n    currency: EUR\n    currencies: [JPY, BHD]\n    effective_from: 2026-01-01T00:00:00Z\n    charges:\n" +
		"      - id: c\n        type: recurring\n        cadence: {unit: monthly}\n        timing: in_advance\n        price: {model: per_unit, amount: \"100.00\"}\n" +
		"        prices: {JPY: {amount: \"16000\"}, BHD: {amount: \"38.500\"}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := catalog.LoadYAML(data)
		if err != nil {
			var de *ensemble.DecodeError
			var ve *ensemble.ValidationError
			if !errors.As(err, &de) && !errors.As(err, &ve) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		checkLoaded(t, c)
	})
}

// FuzzRateQuantity rates arbitrary quantities on the fast and exact paths
// (block tiers and a spend spread over the tier lines included) and checks
// them against each other and, for the plain graduated price, against the
// definition.
func FuzzRateQuantity(f *testing.F) {
	f.Add(int64(150050), int8(-2), uint8(0))
	f.Add(int64(1000), int8(0), uint8(1))
	f.Add(int64(9223372036854775807), int8(-3), uint8(2))
	f.Add(int64(1), int8(30), uint8(3))
	prices := []catalog.Price{
		tiers3(catalog.Graduated),
		tiers3(catalog.Volume),
		{Model: catalog.Package, Amount: dec("4.99"), PackageSize: dec("0.3"), FreeUnits: dec("1.5")},
		{Model: catalog.Percentage, Rate: ensemble.MustRatio("2.95%"), FixedFee: dec("0.3"), TransactionMinimum: dec("0.5"), TransactionMaximum: dec("1000000")},
		{Model: catalog.Graduated, MaximumSpend: dec("170"), SpendAdjustment: catalog.SpendPerTier, Tiers: []catalog.Tier{
			{UpTo: up("5"), FlatAmount: dec("100")}, {UpTo: up("10"), FlatAmount: dec("50"), BlockSize: dec("2")},
			{UpTo: up("15"), UnitAmount: dec("5"), BlockSize: dec("0.3")}, {UnitAmount: dec("1"), BlockSize: dec("7")}}},
		{Model: catalog.Volume, MinimumSpend: dec("3"), SpendAdjustment: catalog.SpendPerTier, FreeUnits: dec("0.5"), Tiers: []catalog.Tier{
			{UpTo: up("1000"), UnitAmount: dec("1"), BlockSize: dec("100")}, {UnitAmount: dec("0.5"), BlockSize: dec("1000")}}},
	}
	var raters []*catalog.Rater
	for _, p := range prices {
		r, err := catalog.NewRater(p, ensemble.MustCurrency("EUR"))
		if err != nil {
			f.Fatal(err)
		}
		raters = append(raters, r)
	}
	f.Fuzz(func(t *testing.T, coef int64, exp int8, which uint8) {
		q := decimal.New(coef, int32(exp))
		r := raters[int(which)%len(raters)]
		for _, opts := range []catalog.RateOptions{{}, {Rounding: catalog.RoundNone}, {Mode: ensemble.RoundHalfEven}} {
			rt, err := r.Rate(q, opts)
			a, aerr := r.Amount(q, opts)
			if (err == nil) != (aerr == nil) {
				t.Fatalf("Rate error %v, Amount error %v", err, aerr)
			}
			if err != nil {
				if !errors.Is(err, catalog.ErrNegativeQuantity) && !errors.Is(err, catalog.ErrOutOfRange) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			if !a.Equal(rt.Amount) {
				t.Fatalf("Amount %s != Rate %s at %s", a, rt.Amount, q)
			}
			if slow, err := catalog.RateExact(r, q, opts); err != nil || !slow.Amount.Equal(rt.Amount) || len(slow.Lines) != len(rt.Lines) {
				t.Fatalf("exact path %s (%v) != Rate %s at %s", slow.Amount, err, rt.Amount, q)
			}
			if int(which)%len(raters) == 0 && opts.Rounding == catalog.RoundNone {
				if want := oracleGraduated(prices[0].Tiers, q, false); !rt.Amount.Amount().Equal(want) {
					t.Fatalf("graduated %s at %s, want %s", rt.Amount, q, want)
				}
			}
		}
	})
}
