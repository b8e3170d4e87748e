package order_test

import (
	"encoding/json"
	"errors"
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

// An order's term and a line's own term carry their early-termination
// fees: recorded as drafted, kept on the line's segments, rebuilt by Fold
// and round-tripped through JSON with the rule by name.
func TestTermFeesRecorded(t *testing.T) {
	e := env(t)
	d := nlDraft()
	d.Term.EarlyTermination = &order.EarlyTermination{Rule: order.TerminationDeclining, Amount: dec("600.00")}
	lineFee := &order.EarlyTermination{Rule: order.TerminationRemaining, Percent: ensemble.MustRatio("50%")}
	d.Lines[0].Terms = order.LineTerms{Term: order.Term{Length: ensemble.Every(1, ensemble.Yearly), EarlyTermination: lineFee}} // l2
	var evs []order.Event
	o := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: d}, day("2026-03-01"))
	lineFee.Percent = ensemble.MustRatio("10%") // the order keeps its own copy
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-03-31")}, day("2026-03-01"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdAccept}, day("2026-03-03"))
	o = step(t, e, o, &evs, order.Command{Kind: order.CmdBeginActivation}, day("2026-03-03"))
	for _, task := range o.Tasks {
		o = step(t, e, o, &evs, order.Command{Kind: order.CmdCompleteTask, Task: task.ID}, day("2026-03-05"))
	}
	require.Equal(t, order.TerminationDeclining, o.Term.EarlyTermination.Rule)
	require.True(t, o.Term.EarlyTermination.Amount.Equal(dec("600")))
	for _, s := range o.LineSegments("l2") {
		require.NotNil(t, s.Terms.Term.EarlyTermination, s.ID)
		require.True(t, s.Terms.Term.EarlyTermination.Percent.Equal(ensemble.MustRatio("50%")), s.ID)
	}
	folded, err := order.Fold(evs)
	require.NoError(t, err)
	requireSame(t, folded, o)
	b, err := json.Marshal(o)
	require.NoError(t, err)
	require.Contains(t, string(b), `"term":{"length":{"unit":"monthly","count":12},"auto_renew":true,"early_termination":{"rule":"declining","amount":"600"}}`)
	require.Contains(t, string(b), `"early_termination":{"rule":"remaining","percent":"0.5"}`)
	back, err := order.DecodeOrder(b)
	require.NoError(t, err)
	requireSame(t, back, o)
}

// A bad fee is a *order.TermError naming the line (none for the order's
// term) and the field, at its path, in a draft and in an added line; a fee
// in fractions of a cent is refused when the quote learns the currency.
func TestTermFeeValidation(t *testing.T) {
	e := env(t)
	yearly := ensemble.Every(1, ensemble.Yearly)
	fee := func(r order.TerminationRule, amount, percent string) *order.EarlyTermination {
		et := &order.EarlyTermination{Rule: r, Amount: dec(amount)}
		if percent != "" {
			et.Percent = ensemble.MustRatio(percent)
		}
		return et
	}
	cases := map[string]struct {
		term  order.Term
		field string
		want  error
	}{
		"a fee without a length":               {order.Term{EarlyTermination: fee(order.TerminationFixed, "100", "")}, "length", order.ErrRequired},
		"a fixed fee of nothing":               {order.Term{Length: yearly, EarlyTermination: fee(order.TerminationFixed, "0", "")}, "early_termination.amount", order.ErrInvalid},
		"a negative declining fee":             {order.Term{Length: yearly, EarlyTermination: fee(order.TerminationDeclining, "-5", "")}, "early_termination.amount", order.ErrInvalid},
		"a fixed fee with a percent":           {order.Term{Length: yearly, EarlyTermination: fee(order.TerminationFixed, "100", "5%")}, "early_termination.percent", order.ErrInvalid},
		"a remaining-value fee with an amount": {order.Term{Length: yearly, EarlyTermination: fee(order.TerminationRemaining, "100", "")}, "early_termination.amount", order.ErrInvalid},
		"over 100% of the remaining value":     {order.Term{Length: yearly, EarlyTermination: fee(order.TerminationRemaining, "0", "150%")}, "early_termination.percent", order.ErrInvalid},
		"an unknown rule":                      {order.Term{Length: yearly, EarlyTermination: fee(7, "100", "")}, "early_termination.rule", order.ErrInvalid},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			// The order's term.
			d := nlDraft()
			d.Term = c.term
			_, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: d}, day("2026-03-01"))
			require.ErrorIs(t, err, c.want)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "term."+c.field, ve.Problems[0].Path)
			var te *order.TermError
			require.ErrorAs(t, err, &te)
			require.Equal(t, order.LineID(""), te.Line, "the order's own term")
			require.Equal(t, c.field, te.Field)

			// A line's own term: a missing length is the line's problem.
			if c.field == "length" {
				return
			}
			d = nlDraft()
			d.Lines[0].Terms = order.LineTerms{Term: c.term}
			_, _, err = order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: d}, day("2026-03-01"))
			require.ErrorIs(t, err, c.want)
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "lines[0].terms.term."+c.field, ve.Problems[0].Path)
			require.ErrorAs(t, err, &te)
			require.Equal(t, order.LineID("l2"), te.Line)
			require.Contains(t, err.Error(), `order line "l2" term `+c.field+": order: invalid value")

			o, _ := activeOrder(t)
			_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "l9",
				Pin: catalog.Pin{Offer: "storage"}, Quantity: dec("1"), Terms: order.LineTerms{Term: c.term}}}, day("2026-03-10"))
			require.ErrorAs(t, err, &te)
			require.Equal(t, order.LineID("l9"), te.Line)
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "change.terms.term."+c.field, ve.Problems[0].Path)
		})
	}

	// Fractions of a cent: the draft cannot tell (no currency yet), the
	// quote can.
	d := nlDraft()
	d.Term.EarlyTermination = fee(order.TerminationFixed, "99.999", "")
	d.Lines[1].Terms = order.LineTerms{Term: order.Term{Length: yearly, EarlyTermination: fee(order.TerminationDeclining, "0.001", "")}} // l1, first once sorted
	var evs []order.Event
	o := step(t, e, order.Order{}, &evs, order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: d}, day("2026-03-01"))
	_, _, err := o.Decide(ctx, e, order.Command{Kind: order.CmdQuote, ExpiresAt: day("2026-03-31")}, day("2026-03-01"))
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.Equal(t, []string{"lines[0].terms.term.early_termination.amount", "term.early_termination.amount"}, paths)
	require.ErrorContains(t, err, "99.999 is not whole minor units of EUR")
	o, _ = activeOrder(t)
	_, _, err = o.Decide(ctx, e, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "l9",
		Pin: catalog.Pin{Offer: "storage"}, Quantity: dec("1"), Terms: order.LineTerms{Term: order.Term{Length: yearly, EarlyTermination: fee(order.TerminationFixed, "1.005", "")}}}}, day("2026-03-10"))
	require.ErrorIs(t, err, order.ErrInvalid)
	require.ErrorContains(t, err, "1.005 is not whole minor units of EUR")
}

// A periods fee ("three months of charges", optionally capped at the
// remaining value) is checked like the others, each problem a
// *order.TermError naming the field: periods need a unit and a count in
// [1, MaxTerminationPeriods] (zero is not one), and take no amount and no
// percent; no other rule has periods or a cap. A good one survives Fold
// and JSON as {"rule":"periods","periods":{...},"cap_at_remaining":true}.
func TestTermFeePeriods(t *testing.T) {
	e := env(t)
	yearly := ensemble.Every(1, ensemble.Yearly)
	months := func(n int) ensemble.Cadence { return ensemble.Every(n, ensemble.Monthly) }
	cases := map[string]struct {
		et    order.EarlyTermination
		field string
	}{
		"no periods":                   {order.EarlyTermination{Rule: order.TerminationPeriods}, "early_termination.periods"},
		"a zero count":                 {order.EarlyTermination{Rule: order.TerminationPeriods, Periods: ensemble.Cadence{Unit: ensemble.Monthly}}, "early_termination.periods"},
		"a negative count":             {order.EarlyTermination{Rule: order.TerminationPeriods, Periods: months(-1)}, "early_termination.periods"},
		"more than the most":           {order.EarlyTermination{Rule: order.TerminationPeriods, Periods: months(order.MaxTerminationPeriods + 1)}, "early_termination.periods"},
		"an unknown unit":              {order.EarlyTermination{Rule: order.TerminationPeriods, Periods: ensemble.Cadence{Unit: 42, Count: 3}}, "early_termination.periods"},
		"periods and an amount":        {order.EarlyTermination{Rule: order.TerminationPeriods, Periods: months(3), Amount: dec("100")}, "early_termination.amount"},
		"periods and a percent":        {order.EarlyTermination{Rule: order.TerminationPeriods, Periods: months(3), Percent: ensemble.MustRatio("50%")}, "early_termination.percent"},
		"a fixed fee with periods":     {order.EarlyTermination{Rule: order.TerminationFixed, Amount: dec("100"), Periods: months(3)}, "early_termination.periods"},
		"a capped remaining-value fee": {order.EarlyTermination{Rule: order.TerminationRemaining, CapAtRemaining: true}, "early_termination.cap_at_remaining"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			et := c.et
			d := nlDraft()
			d.Term = order.Term{Length: yearly, EarlyTermination: &et}
			_, _, err := order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: d}, day("2026-03-01"))
			require.ErrorIs(t, err, order.ErrInvalid)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1)
			require.Equal(t, "term."+c.field, ve.Problems[0].Path)
			var te *order.TermError
			require.ErrorAs(t, err, &te)
			require.Equal(t, c.field, te.Field)

			d = nlDraft()
			d.Lines[0].Terms = order.LineTerms{Term: order.Term{Length: yearly, EarlyTermination: &et}}
			_, _, err = order.Order{}.Decide(ctx, e, order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: d}, day("2026-03-01"))
			require.ErrorAs(t, err, &te)
			require.Equal(t, order.LineID("l2"), te.Line)
			require.Equal(t, c.field, te.Field)
		})
	}

	d := nlDraft()
	d.Term = order.Term{Length: ensemble.Every(24, ensemble.Monthly), EarlyTermination: &order.EarlyTermination{
		Rule: order.TerminationPeriods, Periods: months(3), CapAtRemaining: true}}
	o, evs := activeOrderOf(t, "ord-1", d)
	require.Equal(t, order.TerminationPeriods, o.Term.EarlyTermination.Rule)
	require.Equal(t, months(3), o.Term.EarlyTermination.Periods)
	require.True(t, o.Term.EarlyTermination.CapAtRemaining)
	folded, err := order.Fold(evs)
	require.NoError(t, err)
	requireSame(t, folded, o)
	b, err := json.Marshal(o)
	require.NoError(t, err)
	require.Contains(t, string(b), `"early_termination":{"rule":"periods","periods":{"unit":"monthly","count":3},"cap_at_remaining":true}`)
	back, err := order.DecodeOrder(b)
	require.NoError(t, err)
	requireSame(t, back, o)
}

// TestCheckTerminationPeriodsIsTyped: the check package invoice shares
// says what is wrong with an error wrapping ErrInvalid (it returned
// untyped errors).
func TestCheckTerminationPeriodsIsTyped(t *testing.T) {
	for _, c := range []ensemble.Cadence{{}, {Unit: ensemble.Monthly, Count: 0}, {Unit: ensemble.Monthly, Count: order.MaxTerminationPeriods + 1}, {Unit: ensemble.CadenceUnit(99), Count: 3}} {
		err := order.CheckTerminationPeriods(c)
		if !errors.Is(err, order.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", c, err)
		}
	}
	if err := order.CheckTerminationPeriods(ensemble.Every(3, ensemble.Monthly)); err != nil {
		t.Errorf("three months: %v", err)
	}
}
