package order_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
)

// randomCommand draws any command with plausible data, valid or not for the
// order's status.
func randomCommand(t *rapid.T, clock time.Time) order.Command {
	kind := order.CommandKind(rapid.IntRange(2, 16).Draw(t, "kind"))
	hours := func(name string, lo, hi int) time.Time {
		return clock.Add(time.Duration(rapid.IntRange(lo, hi).Draw(t, name)) * time.Hour)
	}
	switch kind {
	case order.CmdRevise:
		return order.Command{Kind: kind, Draft: nlDraft()}
	case order.CmdQuote:
		return order.Command{Kind: kind, ExpiresAt: hours("expiry", 1, 200)}
	case order.CmdCompleteTask, order.CmdRetryTask, order.CmdFailTask:
		c := order.Command{Kind: kind, Task: rapid.SampledFrom([]order.TaskID{"l1/backup/supplier-backup", "l1/storage/supplier-secure", "l2"}).Draw(t, "task")}
		if kind == order.CmdFailTask {
			c.Reason = "down"
		}
		return c
	case order.CmdChange:
		ch := &order.Change{Line: rapid.SampledFrom([]order.LineID{"l1", "l2"}).Draw(t, "line"), EffectiveAt: hours("effective", -48, 240)}
		switch rapid.IntRange(0, 5).Draw(t, "change") {
		case 4:
			ch.Kind, ch.Line = order.ChangeAddLine, rapid.SampledFrom([]order.LineID{"l3", "l4", "l0"}).Draw(t, "new line")
			ch.Pin, ch.Quantity = catalog.Pin{Offer: rapid.SampledFrom([]catalog.OfferID{"storage", "backup"}).Draw(t, "new offer")}, dec("2")
		case 5:
			ch.Kind = order.ChangeRemoveLine
		case 0:
			ch.Kind, ch.Quantity = order.ChangeQuantity, decimal.NewFromInt(int64(rapid.IntRange(1, 50).Draw(t, "qty")))
		case 1:
			ch.Kind, ch.Pin = order.ChangeAddAddOn, catalog.Pin{Offer: "extra-ip"}
			ch.Quantity = decimal.NewFromInt(int64(rapid.IntRange(1, 5).Draw(t, "ip")))
		case 2:
			ch.Kind, ch.AddOn = order.ChangeRemoveAddOn, "extra-ip"
		default:
			ch.Kind, ch.Pin = order.ChangeOffer, catalog.Pin{Offer: rapid.SampledFrom([]catalog.OfferID{"storage", "suite", "backup"}).Draw(t, "offer")}
		}
		return order.Command{Kind: kind, Change: ch}
	case order.CmdCancel:
		if rapid.Bool().Draw(t, "immediately") {
			return order.Command{Kind: kind, Cancel: &order.CancelRequest{Mode: order.Immediately, EffectiveAt: hours("stop", -24, 24)}}
		}
	}
	return order.Command{Kind: kind}
}

// TestReplayStateMachine walks orders through random commands and checks,
// after every step, that folding any prefix of the events rebuilds the state
// at that point, that events survive JSON, that tampered histories are
// refused, and that segments cover exactly the time each line was active.
func TestReplayStateMachine(t *testing.T) {
	e := env(t)
	active, activeEvents := activeOrder(t)
	rapid.Check(t, func(t *rapid.T) {
		var (
			o      order.Order
			events []order.Event
			states = []order.Order{{}}
			clock  = day("2026-03-01")
		)
		if rapid.Bool().Draw(t, "start active") {
			o, clock = active, active.ActivatedAt
			for i := range activeEvents {
				events = append(events, activeEvents[i])
				s, err := order.Fold(events)
				if err != nil {
					t.Fatal(err)
				}
				states = append(states, s)
			}
		} else {
			next, evs, err := o.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "rp", Draft: nlDraft()}, clock)
			if err != nil {
				t.Fatal(err)
			}
			o, events, states = next, evs, append(states, next)
		}
		t.Repeat(map[string]func(*rapid.T){
			"command": func(t *rapid.T) {
				clock = clock.Add(time.Duration(rapid.IntRange(0, 96).Draw(t, "hours")) * time.Hour)
				next, evs, err := o.Decide(ctx, e, randomCommand(t, clock), clock)
				if err != nil {
					return
				}
				// Intermediate states of multi-event commands are folds too.
				for i := range evs {
					events = append(events, evs[i])
					if i+1 < len(evs) {
						s, err := order.Fold(events)
						if err != nil {
							t.Fatal(err)
						}
						states = append(states, s)
					}
				}
				o = next
				states = append(states, next)
			},
			"": func(t *rapid.T) {
				if len(states) != len(events)+1 {
					t.Fatalf("%d states for %d events", len(states), len(events))
				}
				k := rapid.IntRange(0, len(events)).Draw(t, "prefix")
				folded, err := order.Fold(events[:k])
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(folded, states[k]); d != "" {
					t.Fatalf("fold(events[:%d]) differs:%s", k, d)
				}
				b, err := json.Marshal(events)
				if err != nil {
					t.Fatal(err)
				}
				var back []order.Event
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				again, err := order.Fold(back)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(again, o); d != "" {
					t.Fatalf("fold(json(events)) differs:%s", d)
				}
				checkTampered(t, events)
				checkCoverage(t, o, clock)
				checkSegmentIDs(t, states)
			},
		})
	})
}

// checkSegmentIDs requires a segment ID to name one content in every state
// it appears in: only its End, and when End was recorded, may differ.
func checkSegmentIDs(t *rapid.T, states []order.Order) {
	content := map[order.SegmentID]string{}
	for _, st := range states {
		for _, sg := range st.Segments {
			if sg.End.IsZero() != sg.EndRecorded.IsZero() || sg.Recorded.IsZero() {
				t.Fatalf("segment %s: end %s recorded at %s, recorded at %s", sg.ID, sg.End, sg.EndRecorded, sg.Recorded)
			}
			sg.End, sg.EndRecorded = time.Time{}, time.Time{}
			b, err := json.Marshal(sg)
			if err != nil {
				t.Fatal(err)
			}
			if prev, ok := content[sg.ID]; ok && prev != string(b) {
				t.Fatalf("segment %s changed content:\n%s\n%s", sg.ID, prev, b)
			}
			content[sg.ID] = string(b)
		}
	}
}

// checkTampered drops, swaps or rewrites one event and requires Fold to
// refuse the history.
func checkTampered(t *rapid.T, events []order.Event) {
	if len(events) < 2 {
		return
	}
	bad := append([]order.Event(nil), events...)
	i := rapid.IntRange(0, len(bad)-2).Draw(t, "tamper at")
	switch how := rapid.IntRange(0, 3).Draw(t, "tamper"); how {
	case 0:
		bad = append(bad[:i], bad[i+1:]...)
	case 1:
		bad[i], bad[i+1] = bad[i+1], bad[i]
	case 2:
		bad[i+1].From = order.Status((int(bad[i+1].From) + 1) % 10)
	default:
		bad[i+1].At = bad[i].At.Add(-time.Nanosecond)
	}
	if _, err := order.Fold(bad); err == nil {
		t.Fatalf("a tampered history folded")
	}
}

// checkCoverage requires every line's segments, clipped to a span, to add up
// to exactly the part of the span the order was active in.
func checkCoverage(t *rapid.T, o order.Order, clock time.Time) {
	if o.ActivatedAt.IsZero() {
		if len(o.Segments) != 0 {
			t.Fatalf("segments before activation")
		}
		return
	}
	span := ensemble.MustPeriod(o.ActivatedAt.Add(-time.Duration(rapid.IntRange(0, 500).Draw(t, "span before"))*time.Hour),
		clock.Add(time.Duration(rapid.IntRange(1, 500).Draw(t, "span after"))*time.Hour))
	end := span.End
	if stop, ok := o.StopsAt(); ok && stop.Before(end) {
		end = stop
	}
	got := map[order.LineID]time.Duration{}
	for _, s := range o.SegmentsIn(span) {
		got[s.Line] += s.End.Sub(s.Start)
	}
	for _, l := range o.Lines {
		// A current line runs from its first segment (activation, or when
		// it was added) until the order stops.
		first := o.LineSegments(l.ID)
		if len(first) == 0 {
			if got[l.ID] != 0 {
				t.Fatalf("line %s without segments covers %s", l.ID, got[l.ID])
			}
			continue
		}
		start := first[0].Start
		if start.Before(span.Start) {
			start = span.Start
		}
		want := max(end.Sub(start), 0)
		if got[l.ID] != want {
			t.Fatalf("line %s: segments cover %s of %s, want %s", l.ID, got[l.ID], span, want)
		}
	}
	// Splitting the span anywhere splits the coverage exactly.
	cut := span.Start.Add(time.Duration(rapid.Int64Range(0, int64(span.Duration())).Draw(t, "cut")))
	var parts time.Duration
	for _, p := range []ensemble.Period{{Start: span.Start, End: cut}, {Start: cut, End: span.End}} {
		for _, s := range o.SegmentsIn(p) {
			parts += s.End.Sub(s.Start)
		}
	}
	var whole time.Duration
	for _, d := range got {
		whole += d
	}
	if parts != whole {
		t.Fatalf("split at %s covers %s, whole %s", cut, parts, whole)
	}
}

// TestOrderJSONProperty round-trips orders reached by random commands.
func TestOrderJSONProperty(t *testing.T) {
	e := env(t)
	active, _ := activeOrder(t)
	rapid.Check(t, func(t *rapid.T) {
		o, clock := active, active.ActivatedAt
		for range rapid.IntRange(0, 8).Draw(t, "steps") {
			clock = clock.Add(time.Duration(rapid.IntRange(0, 96).Draw(t, "hours")) * time.Hour)
			if next, _, err := o.Decide(ctx, e, randomCommand(t, clock), clock); err == nil {
				o = next
			}
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var back order.Order
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(o, back, cmpOpts...); d != "" {
			t.Fatalf("round trip differs (-want +got):\n%s", d)
		}
		if !back.UpdatedAt.Equal(o.UpdatedAt) || back.Events != o.Events {
			t.Fatalf("round trip lost the history marks")
		}
	})
}

// TestQuoteReportsExactlyTheInjectedProblems injects a random subset of
// problems into a good draft, in random line order, and requires the quote
// to report each of them at its path and nothing else.
func TestQuoteReportsExactlyTheInjectedProblems(t *testing.T) {
	e := env(t)
	type problem struct {
		path   string
		want   error
		inject func(d *order.Draft)
	}
	// nlDraft sorted: lines[0] is l1 (suite + extra-ip), lines[1] is l2 (backup).
	problems := []problem{
		{"lines[1].quantity", order.ErrQuantity, func(d *order.Draft) { line(d, "l2").Quantity = dec("501") }},
		{"lines[0].add_ons[0].quantity", order.ErrQuantity, func(d *order.Draft) { line(d, "l1").AddOns[0].Quantity = dec("6") }},
		{"lines[0].discount", order.ErrDiscountNotApproved, func(d *order.Draft) { line(d, "l1").Discount.Ratio = ensemble.MustRatio("21%") }},
		{"lines[2].pin", order.ErrNotInForce, func(d *order.Draft) {
			d.Lines = append(d.Lines, order.Line{ID: "l3", Pin: catalog.Pin{Offer: "storage", Version: 2}, Quantity: dec("1")})
		}},
		{"lines[3].pin", order.ErrUnknown, func(d *order.Draft) {
			d.Lines = append(d.Lines, order.Line{ID: "l4", Pin: catalog.Pin{Offer: "nothing"}, Quantity: dec("1")})
		}},
		{"route.referrer", order.ErrUnknown, func(d *order.Draft) { d.Route.Referrer = "ghost" }},
	}
	rapid.Check(t, func(t *rapid.T) {
		d := nlDraft()
		want := map[string]error{}
		for i, p := range problems {
			if rapid.Bool().Draw(t, fmt.Sprintf("inject %d", i)) {
				p.inject(d)
				want[p.path] = p.want
			}
		}
		// l4 alone shifts to lines[2].
		if _, l3 := want["lines[2].pin"]; !l3 {
			if w, ok := want["lines[3].pin"]; ok {
				delete(want, "lines[3].pin")
				want["lines[2].pin"] = w
			}
		}
		d.Lines = rapid.Permutation(d.Lines).Draw(t, "line order")
		at := day("2026-03-01")
		o, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "p", Draft: d}, at)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}, at)
		if len(want) == 0 {
			if err != nil {
				t.Fatalf("clean draft refused: %v", err)
			}
			return
		}
		var ve *ensemble.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("want a validation error, got %v", err)
		}
		got := map[string]error{}
		for _, p := range ve.Problems {
			if _, dup := got[p.Path]; dup {
				t.Fatalf("%s reported twice: %v", p.Path, err)
			}
			got[p.Path] = p.Err
		}
		if len(got) != len(want) {
			t.Fatalf("got %d problems, want %d: %v", len(got), len(want), err)
		}
		for path, cond := range want {
			if !errors.Is(got[path], cond) {
				t.Fatalf("%s: got %v, want %v", path, got[path], cond)
			}
		}
	})
}

func line(d *order.Draft, id order.LineID) *order.Line {
	for i := range d.Lines {
		if d.Lines[i].ID == id {
			return &d.Lines[i]
		}
	}
	panic("no line " + string(id))
}

// TestSummarizeProperties: the summary does not depend on the order of its
// input, its percentiles are ordered and lie among the values, and its
// counts add up.
func TestSummarizeProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.Custom(func(t *rapid.T) order.CycleTimes {
			return order.CycleTimes{
				QuoteToOrder:      time.Duration(rapid.Int64Range(0, 1e17).Draw(t, "q")),
				Ordered:           rapid.Bool().Draw(t, "ordered"),
				OrderToActivation: time.Duration(rapid.Int64Range(0, 1e15).Draw(t, "a")),
				Activated:         rapid.Bool().Draw(t, "activated"),
				OpenExceptions:    rapid.IntRange(0, 3).Draw(t, "open"),
			}
		})
		ts := rapid.SliceOf(gen).Draw(t, "times")
		s := order.Summarize(ts)
		if again := order.Summarize(rapid.Permutation(ts).Draw(t, "perm")); again != s {
			t.Fatalf("order dependent: %+v vs %+v", s, again)
		}
		ordered := 0
		var values []time.Duration
		for _, c := range ts {
			if c.Ordered {
				ordered++
				values = append(values, c.QuoteToOrder)
			}
		}
		d := s.QuoteToOrder
		if d.Count != ordered || s.Orders != len(ts) {
			t.Fatalf("counts %d/%d, want %d/%d", d.Count, s.Orders, ordered, len(ts))
		}
		if ordered == 0 {
			return
		}
		if !(d.P50 <= d.P90 && d.P90 <= d.Max && d.Mean <= d.Max && d.Mean >= slices.Min(values)) {
			t.Fatalf("unordered figures %+v", d)
		}
		for _, p := range []time.Duration{d.P50, d.P90, d.Max} {
			found := false
			for _, v := range values {
				found = found || v == p
			}
			if !found {
				t.Fatalf("%s is not one of the values", p)
			}
		}
	})
}
