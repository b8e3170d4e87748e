package order_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
)

// bigOrder is an active order of n backup lines, each changed `changes`
// times (one quantity change a day), with its events.
func bigOrder(b *testing.B, n, changes int) (order.Order, []order.Event, time.Time) {
	b.Helper()
	e := env(b)
	d := nlDraft()
	d.Lines = nil
	for i := range n {
		d.Lines = append(d.Lines, order.Line{ID: order.LineID(fmt.Sprintf("l%03d", i)), Pin: catalog.Pin{Offer: "backup"}, Quantity: decimal.NewFromInt(int64(1 + i%100))})
	}
	var evs []order.Event
	at := day("2026-03-01")
	o := step(b, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "big", Draft: d}, at)
	o = step(b, e, o, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 1, 0)}, at)
	o = step(b, e, o, &evs, order.Command{Kind: order.CmdAccept}, at)
	o = step(b, e, o, &evs, order.Command{Kind: order.CmdBeginActivation}, at)
	for _, task := range o.Tasks {
		o = step(b, e, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: task.ID}, at)
	}
	for c := range changes {
		at = at.AddDate(0, 0, 1)
		for i := range n {
			o = step(b, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity,
				Line: order.LineID(fmt.Sprintf("l%03d", i)), Quantity: decimal.NewFromInt(int64(2 + (i+c)%100))}}, at)
		}
	}
	return o, evs, at
}

// BenchmarkDecideChange applies one quantity change to an active order of
// 20 lines with 5 segments each (validation against the catalog, a deep
// copy of the order, one event).
func BenchmarkDecideChange(b *testing.B) {
	e := env(b)
	o, _, at := bigOrder(b, 20, 4)
	cmd := order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity, Line: "l007", Quantity: dec("42")}}
	at = at.Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := o.Decide(ctx, e, cmd, at); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
}

// BenchmarkQuote quotes the two-line reseller order: catalog checks plus the
// partner governance's CEL rules (CanSell and DiscountAllowance per line).
func BenchmarkQuote(b *testing.B) {
	e := env(b)
	d := nlDraft()
	d.Lines[1].Discount.Ratio = ensemble.MustRatio("15%")
	draft, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "q", Draft: d}, day("2026-03-01"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-04-01")}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := draft.Decide(ctx, e, cmd, day("2026-03-01")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFold replays the 125 events of a 20-line order with 5 changes
// per line.
func BenchmarkFold(b *testing.B) {
	_, evs, _ := bigOrder(b, 20, 5)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := order.Fold(evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSegmentsIn clips the 1,100 segments of a 100-line order with 10
// changes per line to one month.
func BenchmarkSegmentsIn(b *testing.B) {
	o, _, _ := bigOrder(b, 100, 10)
	span := ensemble.MustPeriod(day("2026-03-05"), day("2026-04-05"))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if len(o.SegmentsIn(span)) == 0 {
			b.Fatal("no segments")
		}
	}
	b.ReportMetric(float64(len(o.Segments)), "segments")
}

// BenchmarkOrderJSON encodes and decodes a 20-line order with 5 segments
// per line.
func BenchmarkOrderJSON(b *testing.B) {
	o, _, _ := bigOrder(b, 20, 4)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		data, err := json.Marshal(o)
		if err != nil {
			b.Fatal(err)
		}
		var back order.Order
		if err := json.Unmarshal(data, &back); err != nil {
			b.Fatal(err)
		}
	}
}
