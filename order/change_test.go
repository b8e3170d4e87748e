package order_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
)

func TestActivationTasks(t *testing.T) {
	e := env(t)
	var evs []order.Event
	o := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "a", Draft: nlDraft()}, day("2026-03-01"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-03-31")}, day("2026-03-01"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdAccept}, day("2026-03-02"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdBeginActivation, MaxAttempts: 2}, day("2026-03-02"))
	const backup = order.TaskID("l1/backup/supplier-backup")

	o = step(t, e, o, &evs, order.Command{Kind: order.CmdFailTask, Task: backup, Reason: "api timeout", Actor: "supplier-backup"}, day("2026-03-03"))
	require.Equal(t, order.TaskFailed, o.Tasks[0].Status)
	open := o.OpenExceptions()
	require.Len(t, open, 1)
	require.Equal(t, "api timeout", open[0].Exception.Reason)
	require.Equal(t, 1, open[0].Exception.Attempt)
	require.Equal(t, "supplier-backup", open[0].Supplier)

	_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdFailTask, Task: backup, Reason: "again"}, day("2026-03-03"))
	require.ErrorIs(t, err, order.ErrInvalidTransition, "a failed task must be retried before it fails again")

	o = step(t, e, o, &evs, order.Command{Kind: order.CmdRetryTask, Task: backup}, day("2026-03-04"))
	require.Equal(t, order.TaskPending, o.Tasks[0].Status)
	require.Equal(t, 2, o.Tasks[0].Attempts)
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdFailTask, Task: backup, Reason: "quota"}, day("2026-03-05"))
	_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdRetryTask, Task: backup}, day("2026-03-05"))
	require.ErrorIs(t, err, order.ErrRetriesExhausted)
	_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdCompleteTask, Task: "nope"}, day("2026-03-05"))
	require.ErrorIs(t, err, order.ErrUnknown)
	require.Equal(t, 2, o.CycleTimes().OpenExceptions)

	// Fixed by hand: completing the failed task resolves its exceptions.
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: backup, Actor: "ops"}, day("2026-03-06"))
	require.Empty(t, o.OpenExceptions())
	require.Equal(t, order.StatusActivating, o.Status)
	_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdCompleteTask, Task: backup}, day("2026-03-06"))
	require.ErrorIs(t, err, order.ErrInvalidTransition)
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: "l1/storage/supplier-secure"}, day("2026-03-06"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: "l2"}, day("2026-03-07"))
	require.Equal(t, order.StatusActive, o.Status)
	require.Equal(t, order.EventActivated, evs[len(evs)-1].Kind)

	c := o.CycleTimes()
	require.Equal(t, 5*24*time.Hour, c.OrderToActivation)
	require.Equal(t, 2, c.Exceptions)
	require.Equal(t, 0, c.OpenExceptions)
	require.Equal(t, 4, c.Attempts)
	require.Equal(t, c, order.Measure(evs))
	folded, err := order.Fold(evs)
	require.NoError(t, err)
	requireSame(t, folded, o)
}

func TestChangesProduceSegments(t *testing.T) {
	e := env(t)
	o, evs := activeOrder(t) // activated 2026-03-05
	change := func(c order.Change, at time.Time) {
		t.Helper()
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &c}, at)
	}
	change(order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("8"), EffectiveAt: day("2026-03-20")}, day("2026-03-18"))
	change(order.Change{Kind: order.ChangeAddAddOn, Line: "l1", Pin: catalog.Pin{Offer: "extra-ip"}, Quantity: dec("4")}, day("2026-04-01"))
	change(order.Change{Kind: order.ChangeRemoveAddOn, Line: "l1", AddOn: "extra-ip"}, day("2026-05-01"))
	// Same instant twice: the second replaces the first segment, no empty one.
	change(order.Change{Kind: order.ChangeQuantity, Line: "l1", Quantity: dec("12")}, day("2026-05-01"))

	type seg struct {
		id         order.SegmentID
		start, end string
		qty        string
		addOns     int
		change     order.ChangeKind
	}
	want := []seg{
		{"l1/8", "2026-03-05", "2026-04-01", "10", 1, order.ChangeUnspecified}, // event 8 activated the order
		{"l1/10", "2026-04-01", "2026-05-01", "10", 1, order.ChangeAddAddOn},
		{"l1/12", "2026-05-01", "", "12", 0, order.ChangeQuantity}, // event 12 replaced the segment event 11 opened
		{"l2/8", "2026-03-05", "2026-03-20", "5", 0, order.ChangeUnspecified},
		{"l2/9", "2026-03-20", "", "8", 0, order.ChangeQuantity},
	}
	require.Len(t, o.Segments, len(want))
	for i, w := range want {
		s := o.Segments[i]
		require.Equal(t, w.id, s.ID)
		require.Equal(t, day(w.start), s.Start, w.id)
		if w.end == "" {
			require.True(t, s.Open(), w.id)
		} else {
			require.Equal(t, day(w.end), s.End, w.id)
		}
		require.True(t, s.Quantity.Equal(dec(w.qty)), "%s: %s", w.id, s.Quantity)
		require.Len(t, s.AddOns, w.addOns, w.id)
		require.Equal(t, w.change, s.Change, w.id)
	}
	require.True(t, o.Segments[1].AddOns[0].Quantity.Equal(dec("4")))

	t.Run("a change cannot take effect before the line's current segment", func(t *testing.T) {
		_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{
			Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("9"), EffectiveAt: day("2026-03-19")}}, day("2026-05-02"))
		require.ErrorIs(t, err, order.ErrOutOfOrder)
	})
	t.Run("an upgrade needs the version in force when it takes effect", func(t *testing.T) {
		_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{
			Kind: order.ChangeOffer, Line: "l1", Pin: catalog.Pin{Offer: "storage", Version: 2}}}, day("2026-06-01"))
		require.ErrorIs(t, err, order.ErrNotInForce)
		next, more, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{
			Kind: order.ChangeOffer, Line: "l1", Pin: catalog.Pin{Offer: "storage"}}}, day("2026-07-15"))
		require.NoError(t, err)
		require.Equal(t, catalog.Pin{Offer: "storage", Version: 2}, more[0].Change.Pin, "the event records the resolved pin")
		l, _ := next.Line("l1")
		require.Equal(t, catalog.Pin{Offer: "storage", Version: 2}, l.Pin)
		segs := next.LineSegments("l1")
		require.Equal(t, order.ChangeOffer, segs[len(segs)-1].Change)
	})
	t.Run("changes are checked against the catalog", func(t *testing.T) {
		for name, c := range map[string]struct {
			ch   order.Change
			want error
		}{
			"quantity above max":              {order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("501")}, order.ErrQuantity},
			"zero quantity":                   {order.Change{Kind: order.ChangeQuantity, Line: "l2"}, order.ErrQuantity},
			"unknown line":                    {order.Change{Kind: order.ChangeQuantity, Line: "l9", Quantity: dec("1")}, order.ErrUnknown},
			"add-on not attachable":           {order.Change{Kind: order.ChangeAddAddOn, Line: "l2", Pin: catalog.Pin{Offer: "extra-ip"}}, order.ErrNotAttachable},
			"remove a missing add-on":         {order.Change{Kind: order.ChangeRemoveAddOn, Line: "l2", AddOn: "extra-ip"}, order.ErrUnknown},
			"offer to an add-on":              {order.Change{Kind: order.ChangeOffer, Line: "l2", Pin: catalog.Pin{Offer: "extra-ip"}}, order.ErrNotAttachable},
			"offer the seller may not sell":   {order.Change{Kind: order.ChangeOffer, Line: "l2", Pin: catalog.Pin{Offer: "firewall"}}, order.ErrCannotSell},
			"offer in another currency":       {order.Change{Kind: order.ChangeOffer, Line: "l2", Pin: catalog.Pin{Offer: "dollar"}}, order.ErrCurrency},
			"a field the change does not use": {order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("2"), AddOn: "x"}, order.ErrNotAllowed},
			"no kind":                         {order.Change{Line: "l2"}, order.ErrInvalid},
		} {
			t.Run(name, func(t *testing.T) {
				ch := c.ch
				got, evs, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &ch}, day("2026-05-10"))
				require.ErrorIs(t, err, c.want)
				require.Nil(t, evs)
				requireSame(t, got, o)
			})
		}
	})
	t.Run("segments clip to an invoice period", func(t *testing.T) {
		april := ensemble.MustPeriod(day("2026-04-01"), day("2026-05-01"))
		in := o.SegmentsIn(april)
		require.Len(t, in, 2)
		require.Equal(t, order.SegmentID("l1/10"), in[0].ID)
		require.Equal(t, order.SegmentID("l2/9"), in[1].ID)
		require.Equal(t, day("2026-05-01"), in[1].End, "the open segment is clipped to the period")
		march := o.SegmentsIn(ensemble.MustPeriod(day("2026-03-01"), day("2026-04-01")))
		require.Len(t, march, 3)
		require.Equal(t, day("2026-03-05"), march[0].Start)
	})
	t.Run("the segment in force at an instant and the line's period", func(t *testing.T) {
		s, ok := o.SegmentAt("l1", day("2026-04-15"))
		require.True(t, ok)
		require.Equal(t, order.SegmentID("l1/10"), s.ID)
		s, ok = o.SegmentAt("l1", day("2026-05-01"))
		require.True(t, ok)
		require.Equal(t, order.SegmentID("l1/12"), s.ID, "a boundary belongs to the later segment")
		_, ok = o.SegmentAt("l1", day("2026-03-04"))
		require.False(t, ok, "before activation")
		p, ok := o.LinePeriod("l2", day("2026-06-01"))
		require.True(t, ok)
		require.True(t, p.Equal(ensemble.MustPeriod(day("2026-03-05"), day("2026-06-01"))), "%s", p)
		_, ok = o.LinePeriod("l9", day("2026-06-01"))
		require.False(t, ok)
	})
	folded, err := order.Fold(evs)
	require.NoError(t, err)
	requireSame(t, folded, o)
}

func TestCancellation(t *testing.T) {
	e := env(t)
	base, baseEvents := activeOrder(t) // activated 2026-03-05 00:00 UTC, billing in Europe/Amsterdam, 12-month auto-renewing term

	t.Run("at period end is scheduled, then completed", func(t *testing.T) {
		evs := append([]order.Event(nil), baseEvents...)
		o := step(t, e, base, &evs, order.Command{Kind: order.CmdCancel, Reason: "budget"}, day("2026-04-10"))
		require.Equal(t, order.StatusActive, o.Status)
		// The period anchored on Mar 5 00:00 UTC (01:00 in Amsterdam) ends on May 5 at 01:00 local, 23:00 UTC on May 4.
		want := time.Date(2026, 5, 4, 23, 0, 0, 0, time.UTC)
		require.Equal(t, want, o.Cancellation.EffectiveAt)
		require.True(t, o.Cancellation.WithinTerm)
		stop, ok := o.StopsAt()
		require.True(t, ok)
		require.Equal(t, want, stop)
		for _, s := range o.Segments {
			require.Equal(t, want, s.End, s.ID)
		}
		_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdCompleteCancellation}, day("2026-05-01"))
		require.ErrorIs(t, err, order.ErrCancellation, "not yet")
		_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdCancel}, day("2026-04-11"))
		require.ErrorIs(t, err, order.ErrCancellation, "already scheduled")
		_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{
			Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("9"), EffectiveAt: want}}, day("2026-04-12"))
		require.ErrorIs(t, err, order.ErrCancellation)
		// A change before the end splits the scheduled-to-end segment.
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{
			Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("9")}}, day("2026-04-20"))
		segs := o.LineSegments("l2")
		require.Equal(t, want, segs[len(segs)-1].End)
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdCompleteCancellation}, day("2026-05-05"))
		require.Equal(t, order.StatusCancelled, o.Status)
		require.Equal(t, day("2026-05-05"), o.EndedAt)
		folded, err := order.Fold(evs)
		require.NoError(t, err)
		requireSame(t, folded, o)
	})
	t.Run("a scheduled cancellation is revoked before it takes effect", func(t *testing.T) {
		evs := append([]order.Event(nil), baseEvents...)
		o := step(t, e, base, &evs, order.Command{Kind: order.CmdCancel}, day("2026-04-10"))
		stop := o.Cancellation.EffectiveAt
		_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdRevokeCancellation}, stop)
		require.ErrorIs(t, err, order.ErrCancellation, "too late")
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdRevokeCancellation, Actor: "acme"}, day("2026-04-20"))
		require.Nil(t, o.Cancellation)
		for _, s := range o.Segments {
			require.True(t, s.Open(), s.ID)
		}
		_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdRevokeCancellation}, day("2026-04-21"))
		require.ErrorIs(t, err, order.ErrCancellation, "nothing scheduled")
		folded, err := order.Fold(evs)
		require.NoError(t, err)
		requireSame(t, folded, o)
	})
	t.Run("immediately, back-dated", func(t *testing.T) {
		evs := append([]order.Event(nil), baseEvents...)
		o := step(t, e, base, &evs, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately, EffectiveAt: day("2026-03-20")}}, day("2026-03-25"))
		require.Equal(t, order.StatusCancelled, o.Status)
		require.Equal(t, day("2026-03-20"), o.Segments[0].End)
		require.Equal(t, day("2026-03-25"), o.Cancellation.RequestedAt)
		_, _, err := base.Decide(ctx, e, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately, EffectiveAt: day("2026-03-01")}}, day("2026-03-25"))
		require.ErrorIs(t, err, order.ErrOutOfOrder, "before activation")
		_, _, err = base.Decide(ctx, e, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately, EffectiveAt: day("2026-03-26")}}, day("2026-03-25"))
		require.ErrorIs(t, err, order.ErrInvalid, "an immediate stop is never future-dated")
	})
	t.Run("terminated by the platform while suspended", func(t *testing.T) {
		evs := append([]order.Event(nil), baseEvents...)
		o := step(t, e, base, &evs, order.Command{Kind: order.CmdSuspend, Reason: "unpaid"}, day("2026-04-01"))
		require.Equal(t, order.StatusSuspended, o.Status)
		_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("2")}}, day("2026-04-02"))
		require.ErrorIs(t, err, order.ErrInvalidTransition)
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdResume}, day("2026-04-03"))
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdSuspend}, day("2026-04-04"))
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdTerminate, Reason: "fraud"}, day("2026-04-05"))
		require.Equal(t, order.StatusTerminated, o.Status)
		require.True(t, o.Cancellation.ByPlatform)
		require.Equal(t, []order.Suspension{
			{From: day("2026-04-01"), Until: day("2026-04-03"), Reason: "unpaid"},
			{From: day("2026-04-04"), Until: day("2026-04-05")},
		}, o.Suspensions)
		_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdResume}, day("2026-04-06"))
		require.ErrorIs(t, err, order.ErrInvalidTransition, "final")
		folded, err := order.Fold(evs)
		require.NoError(t, err)
		requireSame(t, folded, o)
	})
	t.Run("abandoned before activation", func(t *testing.T) {
		var evs []order.Event
		o := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "x", Draft: nlDraft()}, day("2026-03-01"))
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdCancel}, day("2026-03-02"))
		require.Equal(t, order.StatusCancelled, o.Status)
		require.Empty(t, o.Segments)
		_, ok := o.StopsAt()
		require.False(t, ok)
	})
	t.Run("after the term no early termination", func(t *testing.T) {
		d := nlDraft()
		d.Term = order.Term{Length: ensemble.Every(1, ensemble.Monthly)}
		var evs []order.Event
		o := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "x", Draft: d}, day("2026-03-01"))
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-04-01")}, day("2026-03-01"))
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdAccept}, day("2026-03-01"))
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdBeginActivation}, day("2026-03-01"))
		for _, task := range o.Tasks {
			o = step(t, e, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: task.ID}, day("2026-03-01"))
		}
		early := step(t, e, o, &evs, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately}}, day("2026-03-15"))
		require.True(t, early.Cancellation.WithinTerm)
		late, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately}}, day("2026-04-15"))
		require.NoError(t, err)
		require.False(t, late.Cancellation.WithinTerm)
	})
}

func TestAddAndRemoveLines(t *testing.T) {
	e := env(t)
	o, evs := activeOrder(t) // lines l1 (suite), l2 (backup); activated 2026-03-05, 8 events
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "l0",
		Pin: catalog.Pin{Offer: "storage"}, Quantity: dec("3"), AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "extra-ip"}}},
		Discount: &order.Discount{Ratio: ensemble.MustRatio("5%")}}}, day("2026-03-10"))
	l, ok := o.Line("l0")
	require.True(t, ok)
	require.Equal(t, catalog.Pin{Offer: "storage", Version: 1}, l.Pin, "pinned when added")
	require.True(t, l.AddOns[0].Quantity.Equal(dec("1")), "add-on quantity defaults to 1")
	require.Equal(t, order.BasisAllowance, l.Discount.Basis)
	require.Equal(t, []order.LineID{"l0", "l1", "l2"}, []order.LineID{o.Lines[0].ID, o.Lines[1].ID, o.Lines[2].ID})
	require.Equal(t, order.SegmentID("l0/9"), o.Segments[0].ID, "segments stay sorted by line")
	require.Equal(t, order.ChangeAddLine, o.Segments[0].Change)
	require.Equal(t, day("2026-03-10"), o.Segments[0].Start)

	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeRemoveLine, Line: "l2",
		EffectiveAt: day("2026-03-20")}}, day("2026-03-15"))
	_, ok = o.Line("l2")
	require.False(t, ok)
	segs := o.LineSegments("l2")
	require.Len(t, segs, 1)
	require.Equal(t, day("2026-03-20"), segs[0].End, "history kept, ended at the removal")

	for name, c := range map[string]struct {
		ch   order.Change
		want error
	}{
		"a line id in use":                {order.Change{Kind: order.ChangeAddLine, Line: "l1", Pin: catalog.Pin{Offer: "backup"}, Quantity: dec("1")}, order.ErrDuplicate},
		"a removed line's id":             {order.Change{Kind: order.ChangeAddLine, Line: "l2", Pin: catalog.Pin{Offer: "backup"}, Quantity: dec("1")}, order.ErrDuplicate},
		"an add-on as a line":             {order.Change{Kind: order.ChangeAddLine, Line: "l5", Pin: catalog.Pin{Offer: "extra-ip"}, Quantity: dec("1")}, order.ErrNotAttachable},
		"a quantity out of bounds":        {order.Change{Kind: order.ChangeAddLine, Line: "l5", Pin: catalog.Pin{Offer: "backup"}, Quantity: dec("501")}, order.ErrQuantity},
		"no quantity":                     {order.Change{Kind: order.ChangeAddLine, Line: "l5", Pin: catalog.Pin{Offer: "backup"}}, order.ErrQuantity},
		"before activation":               {order.Change{Kind: order.ChangeAddLine, Line: "l5", Pin: catalog.Pin{Offer: "backup"}, Quantity: dec("1"), EffectiveAt: day("2026-03-01")}, order.ErrOutOfOrder},
		"an offer the seller cannot sell": {order.Change{Kind: order.ChangeAddLine, Line: "l5", Pin: catalog.Pin{Offer: "firewall"}, Quantity: dec("1")}, order.ErrCannotSell},
		"remove a removed line":           {order.Change{Kind: order.ChangeRemoveLine, Line: "l2"}, order.ErrUnknown},
		"add-ons on another change":       {order.Change{Kind: order.ChangeQuantity, Line: "l1", Quantity: dec("2"), AddOns: []order.AddOn{{Pin: catalog.Pin{Offer: "extra-ip"}}}}, order.ErrNotAllowed},
	} {
		t.Run(name, func(t *testing.T) {
			ch := c.ch
			got, evs, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &ch}, day("2026-03-25"))
			require.ErrorIs(t, err, c.want)
			require.Nil(t, evs)
			requireSame(t, got, o)
		})
	}
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeRemoveLine, Line: "l0"}}, day("2026-03-25"))
	_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeRemoveLine, Line: "l1"}}, day("2026-03-26"))
	require.ErrorIs(t, err, order.ErrInvalid, "the last line")

	folded, err := order.Fold(evs)
	require.NoError(t, err)
	requireSame(t, folded, o)
	// A cancellation stops only the lines still running.
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately}}, day("2026-04-01"))
	for _, s := range o.Segments {
		if s.Line == "l1" {
			require.Equal(t, day("2026-04-01"), s.End)
		} else {
			require.True(t, s.End.Before(day("2026-04-01")), s.ID)
		}
	}
}

// A change that sells more (a quantity increase, an add-on) is checked as
// a quote is: a seller suspended since cannot make it (a trial added 490
// seats and an add-on to a suspended reseller's order); selling less
// needs no seller.
func TestChangesSellingMoreNeedASellerWhoCanSell(t *testing.T) {
	e := env(t)
	draft := nlDraft()
	draft.Route.Seller, draft.Customer.Country = "reseller-de", "DE"
	o, _ := activeOrderOf(t, "ord-de", draft)
	may := day("2026-05-01") // reseller-de is suspended from April 1
	change := func(ch order.Change) error {
		ch.EffectiveAt = may
		_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &ch}, may)
		return err
	}
	err := change(order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("500")})
	require.ErrorIs(t, err, order.ErrCannotSell)
	require.ErrorContains(t, err, "change.quantity")
	err = change(order.Change{Kind: order.ChangeAddAddOn, Line: "l1", Pin: catalog.Pin{Offer: "extra-ip"}, Quantity: dec("4")})
	require.ErrorIs(t, err, order.ErrCannotSell)
	require.NoError(t, change(order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("2")}), "fewer seats need no seller")
}

// A change dated back takes an approval decided by the time the change is
// made, not by its effective instant (a review: a line added on April 1
// with effect from March 10, its 25% approved on April 1, was refused); one
// decided after the command still covers nothing.
func TestBackdatedChangeTakesAnApprovalDecidedSince(t *testing.T) {
	e := env(t)
	o, _ := activeOrder(t)
	recorded := day("2026-04-01")
	approval := func(decided time.Time) *partner.Approval {
		return &partner.Approval{Status: partner.ApprovalApproved, Events: 2, DecidedBy: "vp", DecidedAt: decided,
			Request: partner.Request{ID: "r9", Kind: partner.RequestPriceException, Partner: "reseller-nl",
				Offer: partner.Offer{ID: "suite"}, Discount: dec("0.30"), RequestedBy: "seller", RequestedAt: recorded.Add(-time.Hour)}}
	}
	change := func(a *partner.Approval) error {
		ch := order.Change{Kind: order.ChangeAddLine, Line: "l3", Pin: catalog.Pin{Offer: "suite"}, Quantity: dec("2"),
			EffectiveAt: day("2026-03-10"), Discount: &order.Discount{Ratio: ensemble.MustRatio("25%"), Approval: a}}
		_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &ch}, recorded)
		return err
	}
	require.NoError(t, change(approval(recorded)))
	err := change(approval(recorded.Add(time.Hour)))
	require.ErrorIs(t, err, order.ErrDiscountNotApproved)
	require.ErrorContains(t, err, "after the command")
}

// A segment records when the event that opened it was recorded, and the
// one that set its end, so invoicing can tell a change recorded after a
// billing run that already billed the time it reaches back into: a change
// made on April 10 with effect from March 20 opens a segment starting
// March 20 recorded April 10, and ends the one before then, recorded
// April 10 too; a back-dated cancellation records its end the same way,
// even where the end stays and only what followed it is dropped, and a
// revoked one clears it with the end.
func TestSegmentsRecordWhenChangesWereRecorded(t *testing.T) {
	e := env(t)
	o, evs := activeOrder(t) // activated 2026-03-05
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{
		Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("8"), EffectiveAt: day("2026-03-20")}}, day("2026-04-10"))
	segs := o.LineSegments("l2")
	require.Len(t, segs, 2)
	require.Equal(t, day("2026-03-05"), segs[0].Recorded, "activation")
	require.Equal(t, day("2026-03-20"), segs[0].End)
	require.Equal(t, day("2026-04-10"), segs[0].EndRecorded, "ended by the change, recorded on April 10")
	require.Equal(t, day("2026-03-20"), segs[1].Start)
	require.Equal(t, day("2026-04-10"), segs[1].Recorded, "opened by the change")
	require.True(t, segs[1].EndRecorded.IsZero(), "open")

	t.Run("a cancellation back-dated records the ends it sets", func(t *testing.T) {
		evs := append([]order.Event(nil), evs...)
		c := step(t, e, o, &evs, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{
			Mode: order.Immediately, EffectiveAt: day("2026-04-01")}}, day("2026-04-15"))
		for _, s := range c.Segments {
			if s.End.Equal(day("2026-04-01")) {
				require.Equal(t, day("2026-04-15"), s.EndRecorded, s.ID)
			}
		}
		folded, err := order.Fold(evs)
		require.NoError(t, err)
		requireSame(t, folded, c)
	})
	t.Run("a stop that drops the segments after one records its end anew", func(t *testing.T) {
		evs := append([]order.Event(nil), evs...)
		c := step(t, e, o, &evs, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{
			Mode: order.Immediately, EffectiveAt: day("2026-03-20")}}, day("2026-04-15"))
		segs := c.LineSegments("l2")
		require.Len(t, segs, 1, "the segment from March 20 is gone")
		require.Equal(t, day("2026-03-20"), segs[0].End)
		require.Equal(t, day("2026-04-15"), segs[0].EndRecorded, "what follows March 20 was decided on April 15")
	})
	t.Run("a revoked cancellation clears the end and when it was recorded", func(t *testing.T) {
		evs := append([]order.Event(nil), evs...)
		c := step(t, e, o, &evs, order.Command{Kind: order.CmdCancel}, day("2026-04-20"))
		last := c.LineSegments("l2")[1]
		require.False(t, last.End.IsZero())
		require.Equal(t, day("2026-04-20"), last.EndRecorded)
		c = step(t, e, c, &evs, order.Command{Kind: order.CmdRevokeCancellation}, day("2026-04-21"))
		last = c.LineSegments("l2")[1]
		require.True(t, last.End.IsZero() && last.EndRecorded.IsZero(), "%s recorded %s", last.End, last.EndRecorded)
	})
	folded, err := order.Fold(evs)
	require.NoError(t, err)
	requireSame(t, folded, o)
}

// A line removed back to its start keeps no segment, so the order records
// the removal (Order.Removed: the line, where it started, when the removal
// was recorded) for invoicing to take back what it billed of the line; its
// ID stays taken, as a removed line's does. A cancellation back-dated to
// the activation removes every line so.
func TestRemovingALineBackToItsStartRecordsIt(t *testing.T) {
	e := env(t)
	o, evs := activeOrder(t) // lines l1 (suite), l2 (backup); activated 2026-03-05
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "l0",
		Pin: catalog.Pin{Offer: "storage"}, Quantity: dec("3"), EffectiveAt: day("2026-03-10")}}, day("2026-03-08"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeRemoveLine, Line: "l0",
		EffectiveAt: day("2026-03-10")}}, day("2026-03-12"))
	require.Empty(t, o.LineSegments("l0"))
	require.Equal(t, []order.Removal{{Line: "l0", Start: day("2026-03-10"), Recorded: day("2026-03-12")}}, o.Removed)
	_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "l0",
		Pin: catalog.Pin{Offer: "backup"}, Quantity: dec("1")}}, day("2026-03-13"))
	require.ErrorIs(t, err, order.ErrDuplicate, "the removed line's ID stays taken")

	o = step(t, e, o, &evs, order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately,
		EffectiveAt: day("2026-03-05")}}, day("2026-03-20"))
	require.Empty(t, o.Segments)
	require.Equal(t, []order.Removal{
		{Line: "l0", Start: day("2026-03-10"), Recorded: day("2026-03-12")},
		{Line: "l1", Start: day("2026-03-05"), Recorded: day("2026-03-20")},
		{Line: "l2", Start: day("2026-03-05"), Recorded: day("2026-03-20")},
	}, o.Removed)
	folded, err := order.Fold(evs)
	require.NoError(t, err)
	requireSame(t, folded, o)
}
