package ensemble_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
)

var (
	sinkParts []ensemble.Money
	sinkMoney ensemble.Money
	sinkRatio ensemble.Ratio
	sinkErr   error

	sinkDecimal decimal.Decimal
	sinkBytes   []byte
)

func benchShares(n int) []ensemble.Share {
	weights := []string{"15%", "55%", "30%", "1/3", "1/7", "2/9", "5%", "10%", "12.5%", "0"}
	out := make([]ensemble.Share, n)
	for i := range out {
		out[i] = ensemble.Share{Key: string(rune('a' + i)), Weight: ensemble.MustRatio(weights[i%len(weights)])}
	}
	return out
}

func BenchmarkAllocate(b *testing.B) {
	total := ensemble.MustMoney("1234.57", "EUR")
	for _, n := range []int{3, 10} {
		sh := benchShares(n)
		b.Run(map[int]string{3: "3-way", 10: "10-way"}[n], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkParts, sinkErr = ensemble.Allocate(total, sh, ensemble.AllocateOptions{})
			}
		})
	}
}

func BenchmarkAllocateUnits(b *testing.B) {
	for _, n := range []int{3, 10} {
		sh := benchShares(n)
		dst := make([]int64, n)
		b.Run(map[int]string{3: "3-way", 10: "10-way"}[n], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkErr = ensemble.AllocateUnits(dst, 123457, sh, ensemble.AllocateOptions{})
			}
		})
	}
}

func BenchmarkAllocator(b *testing.B) {
	for _, n := range []int{3, 10} {
		a, err := ensemble.NewAllocator(benchShares(n), ensemble.AllocateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]int64, n)
		b.Run(map[int]string{3: "3-way", 10: "10-way"}[n], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkErr = a.Units(dst, 123457)
			}
		})
	}
}

func BenchmarkMoneyAdd(b *testing.B) {
	x, y := ensemble.MustMoney("1234.57", "EUR"), ensemble.MustMoney("0.43", "EUR")
	b.ReportAllocs()
	for b.Loop() {
		sinkMoney, sinkErr = x.Add(y)
	}
}

func BenchmarkMoneyMulRound(b *testing.B) {
	x := ensemble.MustMoney("1234.57", "EUR")
	f := decimal.RequireFromString("0.155")
	b.ReportAllocs()
	for b.Loop() {
		sinkMoney = x.Mul(f).Round(ensemble.RoundHalfEven)
	}
}

func BenchmarkProrate(b *testing.B) {
	whole := ensemble.MustPeriod(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	part := ensemble.MustPeriod(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), whole.End)
	for basis := ensemble.ProrateExactTime; basis.Valid(); basis++ {
		b.Run(basis.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkRatio, sinkErr = ensemble.Prorate(part, whole, ensemble.ProrateOptions{Basis: basis, Location: time.UTC})
			}
		})
	}
}

// BenchmarkAllocateWide measures the cost's growth in the number of shares
// (co-sellers, wide plan levels, credits of lines with many parts): the
// leftover units are ordered by a sort, so 100× the shares cost about 100×
// to 150× the time, never the square.
func BenchmarkAllocateWide(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		sh := make([]ensemble.Share, n)
		for i := range sh {
			sh[i] = ensemble.Share{Key: fmt.Sprintf("p%06d", (i*7919)%n), Weight: ensemble.RatioFromInt(int64(i%97 + 1))}
		}
		dst := make([]int64, n)
		for _, method := range []ensemble.AllocationMethod{ensemble.LargestRemainder, ensemble.NumscriptOrder} {
			b.Run(fmt.Sprintf("%s/%d", method, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					sinkErr = ensemble.AllocateUnits(dst, 1_000_000_000_007, sh, ensemble.AllocateOptions{Method: method})
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/share")
			})
		}
	}
}

func BenchmarkRound(b *testing.B) {
	d := decimal.RequireFromString("1234.56789")
	big := decimal.RequireFromString("123456789012345678901234567890.123456789")
	for _, c := range []struct {
		name  string
		d     decimal.Decimal
		scale int32
	}{{"small", d, 2}, {"big", big, 2}, {"unchanged", d, 6}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkDecimal = ensemble.Round(c.d, c.scale, ensemble.RoundHalfEven)
			}
		})
	}
}

func BenchmarkParseRatio(b *testing.B) {
	for _, s := range []string{"1/3", "12.5%", "0.125", "-2/7"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkRatio, sinkErr = ensemble.ParseRatio(s)
			}
		})
	}
}

func BenchmarkMoneyText(b *testing.B) {
	m := ensemble.MustMoney("1234.57", "EUR")
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes, sinkErr = m.MarshalText()
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkMoney, sinkErr = ensemble.ParseMoney("EUR 1234.57")
		}
	})
}

func BenchmarkRatioText(b *testing.B) {
	r := ensemble.MustRatio("1/3")
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes, sinkErr = r.MarshalText()
	}
}

// benchDoc is a document of the size and shape of a settlement line: ids,
// dates, a route, amounts and a trace.
const benchDoc = `{"id":"INV-2026-03/000123/1","date":"2026-03-14T09:30:00Z","amount":{"amount":"1249.99","currency":"GBP"},` +
	`"tax":{"amount":"250.00","currency":"GBP"},"offer":{"offer":"cloud-backup","version":3},"charge":"seat",` +
	`"customer":{"id":"cust-00042","country":"GB"},"route":{"kind":"partner","seller":"sub-utrecht","chain":["sub-utrecht","reseller-nl","distri-eu"],"referrer":"referral-ams"},` +
	`"trace":[{"kind":"invoice_line","id":"INV-2026-03/000123/1"},{"kind":"order_line","id":"ORD-7/1","version":"2"}]}`

// BenchmarkCheckJSON: CheckJSON on a line-sized document, the check every
// strict decode (and every Money's UnmarshalJSON, on its own bytes) runs.
func BenchmarkCheckJSON(b *testing.B) {
	data := []byte(benchDoc)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := ensemble.CheckJSON("line", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeJSON: DecodeJSON of the same document into a struct that
// holds no decimal.Decimal (only Money, which reads its own JSON).
func BenchmarkDecodeJSON(b *testing.B) {
	type ref struct {
		Kind    string `json:"kind"`
		ID      string `json:"id"`
		Version string `json:"version,omitempty"`
	}
	type line struct {
		ID       string            `json:"id"`
		Date     time.Time         `json:"date"`
		Amount   ensemble.Money    `json:"amount"`
		Tax      ensemble.Money    `json:"tax"`
		Offer    map[string]any    `json:"offer"`
		Charge   string            `json:"charge"`
		Customer map[string]string `json:"customer"`
		Route    map[string]any    `json:"route"`
		Trace    []ref             `json:"trace"`
	}
	data := []byte(benchDoc)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var l line
		if err := ensemble.DecodeJSON("line", data, &l); err != nil {
			b.Fatal(err)
		}
	}
}
