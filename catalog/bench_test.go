package catalog_test

import (
	"github.com/ensemble-commerce/ensemble"
	"testing"

	"github.com/ensemble-commerce/ensemble/catalog"
)

// fourTiers is the graduated (or volume) price the benchmarks rate: four
// tiers with sub-cent unit amounts and flat amounts.
func fourTiers(model catalog.Model) catalog.Price {
	return catalog.Price{Model: model, Tiers: []catalog.Tier{
		{UpTo: up("1000"), UnitAmount: dec("0.0125"), FlatAmount: dec("10")},
		{UpTo: up("10000"), UnitAmount: dec("0.01")},
		{UpTo: up("100000"), UnitAmount: dec("0.0075"), FlatAmount: dec("25")},
		{UnitAmount: dec("0.005")},
	}}
}

func benchRate(b *testing.B, p catalog.Price, qty string, full bool) {
	r := mustRater(b, p, "EUR")
	q := dec(qty)
	opts := catalog.RateOptions{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if full {
			if _, err := r.Rate(q, opts); err != nil {
				b.Fatal(err)
			}
		} else if _, err := r.Amount(q, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkGraduated rates 4-tier graduated prices for a quantity in the
// open last tier: Amount (the invoice hot path) and Rate (with breakdown).
func BenchmarkGraduated(b *testing.B) {
	b.Run("amount", func(b *testing.B) { benchRate(b, fourTiers(catalog.Graduated), "123456.5", false) })
	b.Run("rate", func(b *testing.B) { benchRate(b, fourTiers(catalog.Graduated), "123456.5", true) })
}

// BenchmarkVolume looks up the volume tier of a quantity in the third tier.
func BenchmarkVolume(b *testing.B) {
	b.Run("amount", func(b *testing.B) { benchRate(b, fourTiers(catalog.Volume), "54321", false) })
	b.Run("rate", func(b *testing.B) { benchRate(b, fourTiers(catalog.Volume), "54321", true) })
}

// BenchmarkPackage prices 1234 units in packages of 100.
func BenchmarkPackage(b *testing.B) {
	p := catalog.Price{Model: catalog.Package, Amount: dec("4.99"), PackageSize: dec("100")}
	b.Run("amount", func(b *testing.B) { benchRate(b, p, "1234", false) })
	b.Run("rate", func(b *testing.B) { benchRate(b, p, "1234", true) })
}

// BenchmarkLookup finds a charge's Rater by pin, as the invoice package
// does once per line.
func BenchmarkLookup(b *testing.B) {
	c := mustStore(b)
	pin := catalog.Pin{Offer: "storage", Version: 2}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Rater(pin, "gb-month"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSupplierCosts splits a bundle line between two suppliers.
func BenchmarkSupplierCosts(b *testing.B) {
	c := mustStore(b)
	pin := catalog.Pin{Offer: "suite", Version: 1}
	retail, qty := money("100.00", "EUR"), dec("2")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.SupplierCosts(pin, "licence", retail, qty, catalog.CostOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// blockTiers is fourTiers billed in blocks (Kill Bill's tiered blocks):
// blocks of 100 units, then of 1000, then of 10000, the open tier of 7.
func blockTiers(model catalog.Model) catalog.Price {
	p := fourTiers(model)
	for i, size := range []string{"100", "1000", "10000", "7"} {
		p.Tiers[i].BlockSize = dec(size)
	}
	return p
}

// BenchmarkBlocks rates 4-tier block prices: graduated for a quantity in
// the open tier (every tier in blocks), volume for one in the third tier.
func BenchmarkBlocks(b *testing.B) {
	b.Run("graduated/amount", func(b *testing.B) { benchRate(b, blockTiers(catalog.Graduated), "123456.5", false) })
	b.Run("graduated/rate", func(b *testing.B) { benchRate(b, blockTiers(catalog.Graduated), "123456.5", true) })
	b.Run("volume/amount", func(b *testing.B) { benchRate(b, blockTiers(catalog.Volume), "54321", false) })
	b.Run("volume/rate", func(b *testing.B) { benchRate(b, blockTiers(catalog.Volume), "54321", true) })
	// A quantity of 20 digits leaves the fixed-point path.
	b.Run("graduated/exact", func(b *testing.B) { benchRate(b, blockTiers(catalog.Graduated), "12345678901234567890.5", true) })
}

// BenchmarkSpendPerTier rates the 4-tier graduated price with a maximum
// spend that cuts two tier lines, spread over them and as one adjustment.
func BenchmarkSpendPerTier(b *testing.B) {
	capped := func(s catalog.SpendAdjustment) catalog.Price {
		p := fourTiers(catalog.Graduated)
		p.MaximumSpend, p.SpendAdjustment = dec("800"), s
		return p
	}
	b.Run("total", func(b *testing.B) { benchRate(b, capped(catalog.SpendTotal), "123456.5", true) })
	b.Run("per_tier", func(b *testing.B) { benchRate(b, capped(catalog.SpendPerTier), "123456.5", true) })
}

// BenchmarkRateProrated rates a prorated volume quantity (Lago's rule,
// the flat whole) and one with the flat prorated by 15/31.
func BenchmarkRateProrated(b *testing.B) {
	for _, flat := range []catalog.FlatProration{catalog.FlatWhole, catalog.FlatProrated} {
		b.Run(flat.String(), func(b *testing.B) {
			p := fourTiers(catalog.Volume)
			p.FlatProration = flat
			r := mustRater(b, p, "EUR")
			pr := catalog.Proration{Full: dec("54321"), Units: dec("26284.35"), Fraction: ensemble.MustRatio("15/31")}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.RateProrated(pr, catalog.RateOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
