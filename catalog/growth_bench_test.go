package catalog_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble/catalog"
)

// growthDoc returns a catalog of n offer versions: n distinct offers, or
// n versions of one offer in consecutive effective periods; every tenth
// offer is a bundle of the one before it.
func growthDoc(n int, versions bool) catalog.Document {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	doc := catalog.Document{Offers: make([]catalog.Offer, n)}
	for i := range doc.Offers {
		o := catalog.Offer{ID: catalog.OfferID("o-" + strconv.Itoa(i)), Version: 1, Currency: "EUR", EffectiveFrom: start}
		if versions {
			o.ID, o.Version = "o", i+1
			o.EffectiveFrom, o.EffectiveUntil = start.Add(time.Duration(i)*time.Hour), start.Add(time.Duration(i+1)*time.Hour)
		} else if i%10 == 9 {
			o.Kind, o.Components = catalog.Bundle, []catalog.Component{{Offer: doc.Offers[i-1].ID, Supplier: "s1"}}
		}
		doc.Offers[i] = o
	}
	return doc
}

// BenchmarkNewCatalog validates and loads catalogs of 10^4, 10^5 and 10^6
// offers (distinct ids) and of as many versions of one offer: the time per
// offer stays flat (no version is compared with every earlier one).
func BenchmarkNewCatalog(b *testing.B) {
	for _, versions := range []bool{false, true} {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			doc := growthDoc(n, versions)
			name := "offers="
			if versions {
				name = "versions="
			}
			b.Run(name+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := catalog.New(doc); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/offer")
			})
		}
	}
}
