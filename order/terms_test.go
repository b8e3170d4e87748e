package order_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/order"
)

// A line with terms of its own: the anchor is recorded at the line's
// activation (the order's, or the instant an added line takes effect), every
// segment of the line carries the terms, they survive the line's removal,
// and Fold rebuilds them.
func TestLineTermsRecordedAtActivation(t *testing.T) {
	e := env(t)
	yearly := order.Term{Length: ensemble.Every(1, ensemble.Yearly)}
	d := nlDraft()
	d.Lines[0].Terms = order.LineTerms{OwnAnchor: true, Term: yearly} // l2, backup
	var evs []order.Event
	o := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: d}, day("2026-03-01"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-03-31")}, day("2026-03-01"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdAccept}, day("2026-03-03"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdBeginActivation}, day("2026-03-03"))
	for _, task := range o.Tasks {
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: task.ID}, day("2026-03-05"))
	}
	l2, ok := o.Line("l2")
	require.True(t, ok)
	require.Equal(t, order.LineTerms{OwnAnchor: true, Anchor: day("2026-03-05"), Term: yearly}, l2.Terms, "the activation is the anchor")
	l1, _ := o.Line("l1")
	require.True(t, l1.Terms.IsZero(), "a line without terms follows the order's")

	// A line added on March 17 anchors there; an explicit anchor is kept.
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "l3",
		Pin: catalog.Pin{Offer: "storage"}, Quantity: dec("1"), Terms: order.LineTerms{OwnAnchor: true, Term: yearly}}}, day("2026-03-17"))
	explicit := time.Date(2026, 4, 1, 0, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "l4",
		Pin: catalog.Pin{Offer: "storage"}, Quantity: dec("1"), Terms: order.LineTerms{OwnAnchor: true, Anchor: explicit}}}, day("2026-03-18"))
	l3, _ := o.Line("l3")
	require.Equal(t, day("2026-03-17"), l3.Terms.Anchor)
	l4, _ := o.Line("l4")
	require.Equal(t, explicit.UTC(), l4.Terms.Anchor, "stored in UTC")

	// A change keeps the terms on the new segment; a removal keeps them on
	// the history.
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity, Line: "l2", Quantity: dec("7")}}, day("2026-04-10"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeRemoveLine, Line: "l2"}}, day("2026-05-10"))
	segs := o.LineSegments("l2")
	require.Len(t, segs, 2)
	for _, s := range segs {
		require.Equal(t, l2.Terms, s.Terms, s.ID)
	}
	for _, s := range o.LineSegments("l1") {
		require.True(t, s.Terms.IsZero(), s.ID)
	}

	folded, err := order.Fold(evs)
	require.NoError(t, err)
	requireSame(t, folded, o)
	b, err := json.Marshal(o)
	require.NoError(t, err)
	var back order.Order
	require.NoError(t, json.Unmarshal(b, &back))
	requireSame(t, back, o)
}

// Bad line terms are refused naming the line and field, in drafts and in
// added lines; other changes cannot carry terms.
func TestLineTermsValidation(t *testing.T) {
	e := env(t)
	for name, c := range map[string]struct {
		terms order.LineTerms
		path  string
		want  error
	}{
		"an anchor without own_anchor": {order.LineTerms{Anchor: day("2026-03-01")}, "lines[0].terms.anchor", order.ErrInvalid},
		"a renewal without a length":   {order.LineTerms{Term: order.Term{AutoRenew: true}}, "lines[0].terms.term.length", order.ErrRequired},
		"a length of no unit":          {order.LineTerms{Term: order.Term{Length: ensemble.Cadence{Count: 3}}}, "lines[0].terms.term.length", order.ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			d := nlDraft()
			d.Lines[0].Terms = c.terms
			_, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: d}, day("2026-03-01"))
			require.ErrorIs(t, err, c.want)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, c.path, ve.Problems[0].Path)
			var le *order.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, order.LineID("l2"), le.Line, "the draft's lines[0]")

			o, _ := activeOrder(t)
			_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "l9",
				Pin: catalog.Pin{Offer: "storage"}, Quantity: dec("1"), Terms: c.terms}}, day("2026-03-10"))
			require.ErrorIs(t, err, c.want)
		})
	}
	o, _ := activeOrder(t)
	_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity, Line: "l2",
		Quantity: dec("2"), Terms: order.LineTerms{OwnAnchor: true}}}, day("2026-03-10"))
	require.ErrorIs(t, err, order.ErrNotAllowed)
}
