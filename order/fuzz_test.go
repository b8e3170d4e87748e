package order_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ensemble-commerce/ensemble/order"
)

// FuzzDecode decodes commands, orders and event lists from arbitrary JSON
// with DecodeCommand, DecodeOrder and DecodeEvents.
// Whatever decodes must re-encode to the same value, and must be safe to
// use: a decoded command is decided against an active order and a draft,
// a decoded order takes a command, decoded events are folded — none may
// panic, and a refused command leaves the order unchanged.
func FuzzDecode(f *testing.F) {
	e := env(f)
	active, events := activeOrder(f)
	draft, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "fz", Draft: nlDraft()}, day("2026-03-01"))
	if err != nil {
		f.Fatal(err)
	}
	for _, ev := range events {
		b, _ := json.Marshal(ev)
		f.Add(b)
	}
	b, _ := json.Marshal(events)
	f.Add(b)
	b, _ = json.Marshal(active)
	f.Add(b)
	for _, c := range []order.Command{
		{Kind: order.CmdCreate, Order: "o", Draft: nlDraft()},
		{Kind: order.CmdQuote, ExpiresAt: day("2026-04-01")},
		{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("3")}},
		{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately}},
	} {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"change","change":{"kind":"quantity","line":"l2","quantity":"1e400"}}`))
	f.Add([]byte(`{"kind":"revise","draft":{"customer":{"id":"c","country":"NL"},"lines":[{"id":"x","pin":{"offer":"backup"},"quantity":"-0"}]}}`))
	at := day("2026-06-01")
	f.Fuzz(func(t *testing.T, data []byte) {
		if cmd, err := order.DecodeCommand(data); err == nil {
			roundTripFuzz(t, cmd)
			for _, o := range []order.Order{active, draft} {
				next, evs, err := o.Decide(ctx, e, cmd, at)
				if err != nil {
					if len(evs) != 0 || cmp.Diff(o, next, cmpOpts...) != "" {
						t.Fatalf("refused command changed the order: %v", err)
					}
					continue
				}
				all := append(append([]order.Event(nil), events...), evs...)
				if o.Status != order.StatusActive {
					continue
				}
				folded, err := order.Fold(all)
				if err != nil {
					t.Fatalf("events of an accepted command do not fold: %v", err)
				}
				if d := cmp.Diff(next, folded, cmpOpts...); d != "" {
					t.Fatalf("fold differs:\n%s", d)
				}
			}
		}
		if o, err := order.DecodeOrder(data); err == nil {
			roundTripFuzz(t, o)
			_, _, _ = o.Decide(ctx, e, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately}}, at)
			_ = o.SegmentsIn(active.Segments[0].Period(at))
			_ = o.CycleTimes()
			_, _ = o.TermEnd()
		}
		if evs, err := order.DecodeEvents(data); err == nil {
			_, _ = order.Fold(evs)
			_ = order.Measure(evs)
		}
	})
}

func roundTripFuzz[T any](t *testing.T, v T) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		return // a decoded value may hold what cannot be written (an unknown enum number cannot arrive from text)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("re-decoding %s: %v", b, err)
	}
	if d := cmp.Diff(v, back, cmpOpts...); d != "" {
		t.Fatalf("round trip differs:\n%s", d)
	}
}
