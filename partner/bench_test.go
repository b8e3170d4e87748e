package partner_test

import (
	"fmt"
	"testing"

	"github.com/ensemble-commerce/ensemble/partner"
)

// bigSpec builds a network of n partners: 100 distributors, each with
// resellers, each reseller with sub-resellers, every partner with two terms.
func bigSpec(n int) partner.NetworkSpec {
	spec := partner.NetworkSpec{
		Regions:     map[string][]partner.Territory{"dach": {"DE", "AT", "CH"}},
		ParentTypes: map[partner.Type][]partner.Type{partner.TypeSubReseller: {partner.TypeReseller}},
		Partners:    make([]partner.Partner, 0, n),
	}
	for i := 0; i < n; i++ {
		p := partner.Partner{ID: partner.ID(fmt.Sprintf("p%07d", i)), Name: "Partner", Type: partner.TypeDistributor}
		var parent partner.ID
		switch {
		case i < 100:
		case i < 10_000:
			p.Type, parent = partner.TypeReseller, partner.ID(fmt.Sprintf("p%07d", i%100))
		default:
			p.Type, parent = partner.TypeSubReseller, partner.ID(fmt.Sprintf("p%07d", 100+i%9_900))
		}
		p.Terms = []partner.Terms{
			{From: epoch, Tier: "silver", Parent: parent, Territories: []partner.Territory{"dach"}},
			{From: epoch.AddDate(1, 0, 0), Tier: "gold", Parent: parent, Territories: []partner.Territory{"dach", "NL"}},
		}
		spec.Partners = append(spec.Partners, p)
	}
	return spec
}

func BenchmarkNewNetwork100k(b *testing.B) {
	spec := bigSpec(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := partner.NewNetwork(spec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(spec.Partners))*float64(b.N)/b.Elapsed().Seconds(), "partners/s")
}

func BenchmarkChain(b *testing.B) {
	net, err := partner.NewNetwork(bigSpec(100_000))
	if err != nil {
		b.Fatal(err)
	}
	at := epoch.AddDate(1, 6, 0)
	buf := make([]partner.ID, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		buf, err = net.AppendChain(buf[:0], "p0050000", at)
		if err != nil || len(buf) != 3 {
			b.Fatal(err, buf)
		}
	}
}

func BenchmarkCanSell(b *testing.B) {
	g := loadGovernance(b)
	sale := partner.Sale{Partner: "sub-utrecht", Offer: partner.Offer{ID: "cloud-backup", Category: "backup"},
		Customer: partner.Customer{ID: "c1", Country: "NL", Segment: "smb"}, At: date(2026, 3, 1)}
	b.ReportAllocs()
	for b.Loop() {
		d, err := g.CanSell(ctx, sale)
		if err != nil || !d.Allowed {
			b.Fatal(err, d)
		}
	}
}

// BenchmarkNewNetworkGrowth validates networks of 10^4, 10^5 and 10^6
// partners (bigSpec): the time per partner stays near flat.
func BenchmarkNewNetworkGrowth(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		spec := bigSpec(n)
		b.Run(fmt.Sprintf("partners=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := partner.NewNetwork(spec); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/partner")
		})
	}
}
