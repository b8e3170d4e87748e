package order_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble/order"
)

// modelAllows is the lifecycle written out independently of the package:
// which commands each status accepts.
var modelAllows = map[order.Status][]order.CommandKind{
	order.StatusNone:       {order.CmdCreate},
	order.StatusDraft:      {order.CmdRevise, order.CmdQuote, order.CmdCancel},
	order.StatusQuoted:     {order.CmdRevise, order.CmdExpireQuote, order.CmdAccept, order.CmdCancel},
	order.StatusExpired:    {order.CmdRevise, order.CmdCancel},
	order.StatusAccepted:   {order.CmdBeginActivation, order.CmdCancel},
	order.StatusActivating: {order.CmdCompleteTask, order.CmdFailTask, order.CmdRetryTask, order.CmdCancel, order.CmdTerminate},
	order.StatusActive:     {order.CmdSuspend, order.CmdChange, order.CmdCancel, order.CmdCompleteCancellation, order.CmdTerminate, order.CmdRevokeCancellation},
	order.StatusSuspended:  {order.CmdResume, order.CmdCancel, order.CmdCompleteCancellation, order.CmdTerminate, order.CmdRevokeCancellation},
}

type modelTask struct {
	status   order.TaskStatus
	attempts int
}

type modelSeg struct {
	start time.Time
	qty   decimal.Decimal
}

// lifecycle is the real order beside a model of what it should be.
type lifecycle struct {
	o      order.Order
	events []order.Event
	clock  time.Time
	e      order.Context

	status    order.Status
	expiresAt time.Time
	tasks     map[order.TaskID]*modelTask
	segs      []modelSeg // of line l2 (backup seats)
	stop      time.Time  // scheduled or effected stop
}

const maxAttempts = 2

// setStop records when the order stops; model segments from then on never
// take effect.
func (m *lifecycle) setStop(at time.Time) {
	if !m.stop.IsZero() && !at.Before(m.stop) {
		return
	}
	m.stop = at
	m.segs = slices.DeleteFunc(m.segs, func(s modelSeg) bool { return !s.start.Before(at) })
}

func (m *lifecycle) tick(t *rapid.T) {
	m.clock = m.clock.Add(time.Duration(rapid.IntRange(0, 72).Draw(t, "hours")) * time.Hour)
}

func (m *lifecycle) do(t *rapid.T, cmd order.Command) error {
	next, evs, err := m.o.Decide(ctx, m.e, cmd, m.clock)
	if err != nil {
		if len(evs) != 0 {
			t.Fatalf("%s failed with events: %v", cmd.Kind, err)
		}
		if d := diff(next, m.o); d != "" {
			t.Fatalf("%s failed but changed the order: %s", cmd.Kind, d)
		}
		var te *order.TransitionError
		if !errors.As(err, &te) || te.Command != cmd.Kind {
			t.Fatalf("%s: not a *TransitionError: %v", cmd.Kind, err)
		}
		return err
	}
	if len(evs) == 0 {
		t.Fatalf("%s succeeded without events", cmd.Kind)
	}
	m.o, m.events = next, append(m.events, evs...)
	return nil
}

func (m *lifecycle) mustDo(t *rapid.T, cmd order.Command) {
	if err := m.do(t, cmd); err != nil {
		t.Fatalf("%s in %s: %v", cmd.Kind, m.status, err)
	}
}

func (m *lifecycle) skipUnless(t *rapid.T, ss ...order.Status) {
	if !slices.Contains(ss, m.status) {
		t.Skip("not in", ss)
	}
}

func diff(a, b any) string {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == string(jb) {
		return ""
	}
	return fmt.Sprintf("\n%s\n%s", ja, jb)
}

func TestLifecycleStateMachine(t *testing.T) {
	e := env(t)
	active, activeEvents := activeOrder(t)
	rapid.Check(t, func(t *rapid.T) {
		m := &lifecycle{clock: day("2026-03-01"), e: e}
		if rapid.Bool().Draw(t, "start active") {
			// Half the runs start from an active order, so the changes and
			// cancellations get as many steps as the road there.
			m.o, m.events, m.clock = active, slices.Clone(activeEvents), active.ActivatedAt
			m.status = order.StatusActive
			m.tasks = map[order.TaskID]*modelTask{}
			for _, task := range active.Tasks {
				m.tasks[task.ID] = &modelTask{status: order.TaskDone, attempts: 1}
			}
			m.segs = []modelSeg{{start: active.ActivatedAt, qty: dec("5")}}
		}
		t.Repeat(map[string]func(*rapid.T){
			"create": func(t *rapid.T) {
				m.skipUnless(t, order.StatusNone)
				m.mustDo(t, order.Command{Kind: order.CmdCreate, Order: "sm", Draft: nlDraft()})
				m.status = order.StatusDraft
			},
			"revise": func(t *rapid.T) {
				m.skipUnless(t, order.StatusDraft, order.StatusQuoted, order.StatusExpired)
				m.tick(t)
				m.mustDo(t, order.Command{Kind: order.CmdRevise, Draft: nlDraft()})
				m.status, m.expiresAt = order.StatusDraft, time.Time{}
			},
			"quote": func(t *rapid.T) {
				m.skipUnless(t, order.StatusDraft)
				m.tick(t)
				m.expiresAt = m.clock.Add(time.Duration(rapid.IntRange(1, 240).Draw(t, "valid hours")) * time.Hour)
				m.mustDo(t, order.Command{Kind: order.CmdQuote, ExpiresAt: m.expiresAt})
				m.status = order.StatusQuoted
			},
			"expire or accept": func(t *rapid.T) {
				m.skipUnless(t, order.StatusQuoted)
				m.tick(t)
				expired := !m.clock.Before(m.expiresAt)
				if rapid.Bool().Draw(t, "expire") {
					err := m.do(t, order.Command{Kind: order.CmdExpireQuote})
					if expired != (err == nil) || (!expired && !errors.Is(err, order.ErrNotExpired)) {
						t.Fatalf("expire at %s of a quote expiring %s: %v", m.clock, m.expiresAt, err)
					}
					if expired {
						m.status = order.StatusExpired
					}
					return
				}
				err := m.do(t, order.Command{Kind: order.CmdAccept})
				if expired {
					if !errors.Is(err, order.ErrQuoteExpired) {
						t.Fatalf("accepted an expired quote: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				m.status = order.StatusAccepted
			},
			"begin activation": func(t *rapid.T) {
				m.skipUnless(t, order.StatusAccepted)
				m.tick(t)
				m.mustDo(t, order.Command{Kind: order.CmdBeginActivation, MaxAttempts: maxAttempts})
				m.status = order.StatusActivating
				m.tasks = map[order.TaskID]*modelTask{}
				for _, id := range []order.TaskID{"l1/backup/supplier-backup", "l1/storage/supplier-secure", "l2"} {
					m.tasks[id] = &modelTask{attempts: 1}
				}
			},
			"task": func(t *rapid.T) {
				m.skipUnless(t, order.StatusActivating)
				m.tick(t)
				id := rapid.SampledFrom([]order.TaskID{"l1/backup/supplier-backup", "l1/storage/supplier-secure", "l2"}).Draw(t, "task")
				kind := rapid.SampledFrom([]order.CommandKind{order.CmdCompleteTask, order.CmdCompleteTask, order.CmdCompleteTask,
					order.CmdFailTask, order.CmdRetryTask}).Draw(t, "task command")
				cmd := order.Command{Kind: kind, Task: id}
				if kind == order.CmdFailTask {
					cmd.Reason = "supplier error"
				}
				err := m.do(t, cmd)
				mt := m.tasks[id]
				var ok bool
				switch kind {
				case order.CmdCompleteTask:
					ok = mt.status != order.TaskDone
				case order.CmdFailTask:
					ok = mt.status == order.TaskPending
				case order.CmdRetryTask:
					ok = mt.status == order.TaskFailed && mt.attempts < maxAttempts
					if mt.status == order.TaskFailed && !ok && !errors.Is(err, order.ErrRetriesExhausted) {
						t.Fatalf("retry beyond %d attempts: %v", maxAttempts, err)
					}
				}
				if ok != (err == nil) {
					t.Fatalf("%s of %s task %s: %v", kind, mt.status, id, err)
				}
				if !ok {
					return
				}
				switch kind {
				case order.CmdCompleteTask:
					mt.status = order.TaskDone
				case order.CmdFailTask:
					mt.status = order.TaskFailed
				case order.CmdRetryTask:
					mt.status, mt.attempts = order.TaskPending, mt.attempts+1
				}
				for _, x := range m.tasks {
					if x.status != order.TaskDone {
						return
					}
				}
				m.status = order.StatusActive
				m.segs = []modelSeg{{start: m.clock, qty: dec("5")}}
			},
			"change quantity": func(t *rapid.T) {
				m.skipUnless(t, order.StatusActive)
				m.tick(t)
				qty := decimal.NewFromInt(int64(rapid.IntRange(1, 600).Draw(t, "qty")))
				eff := m.clock.Add(time.Duration(rapid.IntRange(-100, 100).Draw(t, "effective offset hours")) * time.Hour)
				err := m.do(t, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: qty, EffectiveAt: eff}})
				if len(m.segs) == 0 {
					t.Skip("no segment left")
				}
				last := m.segs[len(m.segs)-1]
				switch {
				case eff.Before(last.start):
					if !errors.Is(err, order.ErrOutOfOrder) {
						t.Fatalf("change before the segment start: %v", err)
					}
				case !m.stop.IsZero() && !eff.Before(m.stop):
					if !errors.Is(err, order.ErrCancellation) {
						t.Fatalf("change after the stop: %v", err)
					}
				case qty.GreaterThan(dec("500")):
					if !errors.Is(err, order.ErrQuantity) {
						t.Fatalf("quantity %s above max: %v", qty, err)
					}
				default:
					if err != nil {
						t.Fatal(err)
					}
					if eff.Equal(last.start) {
						m.segs[len(m.segs)-1].qty = qty
					} else {
						m.segs = append(m.segs, modelSeg{start: eff, qty: qty})
					}
				}
			},
			"suspend or resume": func(t *rapid.T) {
				m.skipUnless(t, order.StatusActive, order.StatusSuspended)
				m.tick(t)
				if m.status == order.StatusActive {
					m.mustDo(t, order.Command{Kind: order.CmdSuspend})
					m.status = order.StatusSuspended
				} else {
					m.mustDo(t, order.Command{Kind: order.CmdResume})
					m.status = order.StatusActive
				}
			},
			"cancel": func(t *rapid.T) {
				m.skipUnless(t, order.StatusActive, order.StatusSuspended)
				m.tick(t)
				immediate := rapid.Bool().Draw(t, "immediately")
				if immediate {
					m.mustDo(t, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately}})
					m.status = order.StatusCancelled
					m.setStop(m.clock)
					return
				}
				err := m.do(t, order.Command{Kind: order.CmdCancel})
				if !m.stop.IsZero() {
					if !errors.Is(err, order.ErrCancellation) {
						t.Fatalf("second cancellation at period end: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				m.setStop(m.o.Cancellation.EffectiveAt)
				if !m.stop.After(m.clock) {
					t.Fatalf("period end %s not after %s", m.stop, m.clock)
				}
			},
			"complete cancellation": func(t *rapid.T) {
				m.skipUnless(t, order.StatusActive, order.StatusSuspended)
				m.clock = m.clock.Add(time.Duration(rapid.IntRange(0, 40*24).Draw(t, "hours")) * time.Hour)
				err := m.do(t, order.Command{Kind: order.CmdCompleteCancellation})
				if m.stop.IsZero() || m.clock.Before(m.stop) {
					if !errors.Is(err, order.ErrCancellation) {
						t.Fatalf("completed a cancellation not due: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				m.status = order.StatusCancelled
			},
			"revoke cancellation": func(t *rapid.T) {
				m.skipUnless(t, order.StatusActive, order.StatusSuspended)
				m.tick(t)
				err := m.do(t, order.Command{Kind: order.CmdRevokeCancellation})
				if m.stop.IsZero() || !m.clock.Before(m.stop) {
					if !errors.Is(err, order.ErrCancellation) {
						t.Fatalf("revoked a cancellation not pending: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				m.stop = time.Time{}
			},
			"terminate": func(t *rapid.T) {
				m.skipUnless(t, order.StatusActivating, order.StatusActive, order.StatusSuspended)
				m.tick(t)
				m.mustDo(t, order.Command{Kind: order.CmdTerminate, Reason: "breach"})
				if m.status != order.StatusActivating {
					m.setStop(m.clock)
				}
				m.status = order.StatusTerminated
			},
			"any command": func(t *rapid.T) {
				kind := order.CommandKind(rapid.IntRange(1, 16).Draw(t, "kind"))
				if slices.Contains(modelAllows[m.status], kind) {
					t.Skip("allowed; covered by the actions above")
				}
				cmd := order.Command{Kind: kind, Order: "x", Draft: nlDraft(), ExpiresAt: m.clock.AddDate(0, 1, 0), Task: "l2",
					Change: &order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("1")}, Reason: "r"}
				switch kind {
				case order.CmdCreate:
					cmd = order.Command{Kind: kind, Order: "x", Draft: nlDraft()}
				case order.CmdRevise:
					cmd = order.Command{Kind: kind, Draft: nlDraft()}
				case order.CmdQuote:
					cmd = order.Command{Kind: kind, ExpiresAt: m.clock.AddDate(0, 1, 0)}
				case order.CmdCompleteTask, order.CmdRetryTask:
					cmd = order.Command{Kind: kind, Task: "l2"}
				case order.CmdFailTask:
					cmd = order.Command{Kind: kind, Task: "l2", Reason: "r"}
				case order.CmdChange:
					cmd = order.Command{Kind: kind, Change: cmd.Change}
				default:
					cmd = order.Command{Kind: kind}
				}
				if err := m.do(t, cmd); !errors.Is(err, order.ErrInvalidTransition) {
					t.Fatalf("%s in %s: want ErrInvalidTransition, got %v", kind, m.status, err)
				}
			},
			"back in time": func(t *rapid.T) {
				m.skipUnless(t, order.StatusDraft, order.StatusActive)
				if m.o.UpdatedAt.IsZero() {
					t.Skip()
				}
				m.clock = m.o.UpdatedAt
				past := m.o.UpdatedAt.Add(-time.Second)
				_, _, err := m.o.Decide(ctx, m.e, order.Command{Kind: order.CmdCancel}, past)
				if !errors.Is(err, order.ErrOutOfOrder) {
					t.Fatalf("want ErrOutOfOrder, got %v", err)
				}
			},
			"": func(t *rapid.T) {
				if m.o.Status != m.status {
					t.Fatalf("status %s, model %s", m.o.Status, m.status)
				}
				folded, err := order.Fold(m.events)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(folded, m.o); d != "" {
					t.Fatalf("fold(events) != state:%s", d)
				}
				if c, want := order.Measure(m.events), m.o.CycleTimes(); c != want {
					t.Fatalf("Measure %+v != CycleTimes %+v", c, want)
				}
				for id, mt := range m.tasks {
					i := slices.IndexFunc(m.o.Tasks, func(x order.Task) bool { return x.ID == id })
					if i < 0 || m.o.Tasks[i].Status != mt.status || m.o.Tasks[i].Attempts != mt.attempts {
						t.Fatalf("task %s: got %+v, model %+v", id, m.o.Tasks, mt)
					}
				}
				checkSegments(t, m.o)
				if m.segs == nil {
					return
				}
				want := m.segs
				got := m.o.LineSegments("l2")
				if len(got) != len(want) {
					t.Fatalf("l2 has %d segments, model %d", len(got), len(m.segs))
				}
				for i, s := range got {
					if !s.Start.Equal(want[i].start) || !s.Quantity.Equal(want[i].qty) {
						t.Fatalf("segment %d: got %s qty %s, model %s qty %s", i, s.Start, s.Quantity, want[i].start, want[i].qty)
					}
				}
				if len(got) == 0 {
					return
				}
				if last := got[len(got)-1]; !last.End.Equal(m.stop) {
					t.Fatalf("last segment ends %s, model stop %s", last.End, m.stop)
				}
			},
		})
	})
}

// checkSegments checks the segment invariants every order keeps: sorted by
// line then start, IDs unique and prefixed by their line, the first
// starting at activation (or when the line was added), each line's segments
// contiguous and non-empty.
func checkSegments(t *rapid.T, o order.Order) {
	seen := map[order.SegmentID]bool{}
	for i, s := range o.Segments {
		if seen[s.ID] {
			t.Fatalf("segment id %s repeated", s.ID)
		}
		seen[s.ID] = true
		if !strings.HasPrefix(string(s.ID), string(s.Line)+"/") {
			t.Fatalf("segment %s of line %s", s.ID, s.Line)
		}
		if !s.Start.Before(s.Period(s.Start.Add(time.Second)).End) {
			t.Fatalf("segment %s is empty or reversed: [%s, %s)", s.ID, s.Start, s.End)
		}
		if i == 0 || o.Segments[i-1].Line != s.Line {
			if s.Start.Before(o.ActivatedAt) || (s.Change != order.ChangeAddLine && !s.Start.Equal(o.ActivatedAt)) {
				t.Fatalf("first segment of %s is %s from %s", s.Line, s.ID, s.Start)
			}
			if i > 0 && o.Segments[i-1].Line > s.Line {
				t.Fatalf("segments not sorted by line")
			}
			continue
		}
		prev := o.Segments[i-1]
		if !prev.End.Equal(s.Start) {
			t.Fatalf("segments %s and %s are not contiguous: %s vs %s", prev.ID, s.ID, prev.End, s.Start)
		}
	}
	if stop, ok := o.StopsAt(); ok {
		for i, s := range o.Segments {
			if (i+1 == len(o.Segments) || o.Segments[i+1].Line != s.Line) && (s.End.IsZero() || s.End.After(stop)) {
				t.Fatalf("last segment %s ends at %s, after the order stops at %s", s.ID, s.End, stop)
			}
		}
	}
}
