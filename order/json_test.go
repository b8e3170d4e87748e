package order_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
)

func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var back T
	require.NoError(t, json.Unmarshal(b, &back), "%s", b)
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))
	return back
}

func TestJSONRoundTrip(t *testing.T) {
	e := env(t)
	o, evs := activeOrder(t)
	a := &partner.Approval{Status: partner.ApprovalApproved, Events: 2, DecidedBy: "vp", DecidedAt: day("2026-03-01"),
		Request: partner.Request{ID: "r1", Kind: partner.RequestPriceException, Partner: "reseller-nl", Offer: partner.Offer{ID: "storage"},
			ListPrice: ensemble.MustMoney("100", "EUR"), Price: ensemble.MustMoney("60.00", "EUR"), Discount: dec("0.4"),
			RequestedBy: "joe", RequestedAt: day("2026-03-01")}}
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("7.50")}}, day("2026-04-01"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeOffer, Line: "l1", Pin: catalog.Pin{Offer: "storage"},
		Discount: &order.Discount{Ratio: ensemble.MustRatio("1/3"), Approval: a}}}, day("2026-04-02"))
	require.Error(t, func() error {
		_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeOffer, Line: "l2", Pin: catalog.Pin{Offer: "storage"},
			Discount: &order.Discount{Ratio: ensemble.MustRatio("1/2"), Approval: a}}}, day("2026-04-02"))
		return err
	}(), "the approval covers 40% only")
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdCancel, Reason: "moving"}, day("2026-04-03"))

	t.Run("order", func(t *testing.T) {
		back := roundTrip(t, o)
		requireSame(t, back, o)
		l, _ := back.Line("l1")
		require.Equal(t, order.BasisApproval, l.Discount.Basis)
		require.Equal(t, "r1", l.Discount.Approval.Request.ID)
		require.Equal(t, "rule:channel-discount@1", l.Discount.AllowanceRule.String())
	})
	t.Run("events", func(t *testing.T) {
		back := roundTrip(t, evs)
		requireSame(t, back, evs)
		folded, err := order.Fold(back)
		require.NoError(t, err)
		requireSame(t, folded, o)
	})
	t.Run("commands", func(t *testing.T) {
		cmds := []order.Command{
			{Kind: order.CmdCreate, Order: "o1", Draft: nlDraft(), Actor: "joe"},
			{Kind: order.CmdQuote, ExpiresAt: day("2026-04-01")},
			{Kind: order.CmdBeginActivation, MaxAttempts: 5},
			{Kind: order.CmdFailTask, Task: "l1/backup/supplier-backup", Reason: "timeout"},
			{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddAddOn, Line: "l1", Pin: catalog.Pin{Offer: "extra-ip", Version: 1}, Quantity: dec("2"), EffectiveAt: day("2026-05-01")}},
			{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately, EffectiveAt: day("2026-05-02")}},
		}
		back := roundTrip(t, cmds)
		requireSame(t, back, cmds)
	})
	t.Run("decimals are strings and enums are names", func(t *testing.T) {
		b, err := json.Marshal(o.Segments[0])
		require.NoError(t, err)
		require.Contains(t, string(b), `"quantity":"10"`)
		require.Contains(t, string(b), `"cause":"activated"`)
		b, err = json.Marshal(o)
		require.NoError(t, err)
		require.Contains(t, string(b), `"status":"active"`)
		require.Contains(t, string(b), `"tax_status":"reverse_charge"`)
		require.Contains(t, string(b), `"kind":"partner"`)
		require.Contains(t, string(b), `"ratio":"1/3"`)
	})
	t.Run("unknown enum names are errors", func(t *testing.T) {
		var c order.Command
		require.Error(t, json.Unmarshal([]byte(`{"kind":"explode"}`), &c))
		var s order.Status
		require.Error(t, json.Unmarshal([]byte(`"Active"`), &s))
	})
}

type textEnum interface {
	String() string
	MarshalText() ([]byte, error)
}

func checkEnum[T interface {
	~uint8
	textEnum
}, P interface {
	*T
	UnmarshalText([]byte) error
}](t *testing.T, n int) {
	t.Helper()
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		v := T(i)
		b, err := v.MarshalText()
		require.NoError(t, err)
		require.Equal(t, v.String(), string(b))
		require.Regexp(t, `^[a-z_]+$`, string(b))
		require.False(t, seen[string(b)], "duplicate name %s", b)
		seen[string(b)] = true
		var back T
		require.NoError(t, P(&back).UnmarshalText(b))
		require.Equal(t, v, back)
	}
	bad := T(n)
	_, err := bad.MarshalText()
	require.Error(t, err)
	require.Contains(t, bad.String(), "(")
	var zero T
	require.NoError(t, P(&zero).UnmarshalText(nil))
	require.Equal(t, T(0), zero)
	require.Error(t, P(&zero).UnmarshalText([]byte("no_such_name")))
}

func TestEnums(t *testing.T) {
	t.Run("status", func(t *testing.T) { checkEnum[order.Status](t, 10) })
	t.Run("tax status", func(t *testing.T) { checkEnum[order.TaxStatus](t, 3) })
	t.Run("task status", func(t *testing.T) { checkEnum[order.TaskStatus](t, 3) })
	t.Run("discount basis", func(t *testing.T) { checkEnum[order.DiscountBasis](t, 4) })
	t.Run("cancel mode", func(t *testing.T) { checkEnum[order.CancelMode](t, 2) })
	t.Run("change kind", func(t *testing.T) { checkEnum[order.ChangeKind](t, 7) })
	t.Run("command kind", func(t *testing.T) { checkEnum[order.CommandKind](t, 17) })
	t.Run("event kind", func(t *testing.T) { checkEnum[order.EventKind](t, 18) })
	require.True(t, order.StatusCancelled.Final())
	require.False(t, order.StatusSuspended.Final())
}

func TestDecodeStrict(t *testing.T) {
	o, evs := activeOrder(t)
	ob, _ := json.Marshal(o)
	eb, _ := json.Marshal(evs)
	tests := []struct {
		name string
		do   func() error
		ok   bool
	}{
		{"a command", func() error { _, err := order.DecodeCommand([]byte(`{"kind":"suspend","actor":"ops"}`)); return err }, true},
		{"an order", func() error { _, err := order.DecodeOrder(ob); return err }, true},
		{"events", func() error { _, err := order.DecodeEvents(eb); return err }, true},
		{"a misspelt field", func() error {
			_, err := order.DecodeCommand([]byte(`{"kind":"quote","expires":"2026-01-01T00:00:00Z"}`))
			return err
		}, false},
		{"trailing data", func() error { _, err := order.DecodeCommand([]byte(`{"kind":"suspend"} {}`)); return err }, false},
		{"a float quantity read from its text", func() error {
			c, err := order.DecodeCommand([]byte(`{"kind":"change","change":{"kind":"quantity","line":"l2","quantity":0.1}}`))
			if err == nil && c.Change.Quantity.String() != "0.1" {
				t.Errorf("quantity %s", c.Change.Quantity)
			}
			return err
		}, true},
		{"an unknown status", func() error { _, err := order.DecodeOrder([]byte(`{"status":"gone"}`)); return err }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, order.ErrDecode)
		})
	}
	back, err := order.DecodeOrder(ob)
	require.NoError(t, err)
	requireSame(t, back, o)
}
