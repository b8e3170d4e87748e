package catalog_test

import (
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
		if _, err := c.SupplierCosts(pin, retail, qty, catalog.CostOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
