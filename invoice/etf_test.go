package invoice_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
)

// Early-termination fees of the yearly item (EUR 1,200, own anchor
// 2026-03-17, one-year term) ended on 2026-11-20, days end exclusive: 248
// of the term's 365 days gone, 117 left. Every case also credits the unused
// year billed in advance: -(1,200 - round(1,200 × 248/365)) = -384.66.
//   - fixed 300.00: 300.00;
//   - declining from 500.00: round(500 × 117/365) = round(160.274) = 160.27;
//   - 50% of the remaining value: what the item would still have billed to
//     2027-03-17 is round(1,200) - round(1,200 × 248/365) = 384.66, and
//     round(50% × 384.66) = 192.33.
func TestEarlyTerminationFee(t *testing.T) {
	b := termsBuilder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	stop := inParis(2026, 11, 20)
	run := invoice.Run{After: inParis(2026, 11, 10), At: inParis(2026, 11, 25)}
	cases := []struct {
		name string
		fee  invoice.EarlyTermination
		want string
	}{
		{"fixed", invoice.EarlyTermination{Rule: invoice.TerminationFixed, Amount: dec("300")}, "early_termination  300.00"},
		{"declining", invoice.EarlyTermination{Rule: invoice.TerminationDeclining, Amount: dec("500")}, "early_termination  160.27"},
		{"half the remaining value", invoice.EarlyTermination{Rule: invoice.TerminationRemaining, Percent: ensemble.MustRatio("50%")}, "early_termination  192.33"},
		{"all the remaining value", invoice.EarlyTermination{Rule: invoice.TerminationRemaining}, "early_termination  384.66"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := issueSub(seg(inParis(2026, 3, 17), stop, pin("commit", 1), "1"))
			fee := tc.fee
			s.Items[1].Term.EarlyTermination = &fee
			inv := build1(t, b, run, s)
			require.Equal(t, []string{"proration_credit year -384.66", tc.want}, amounts(inv))
			l := inv.Lines[1]
			require.Equal(t, invoice.ItemID("yearly"), l.Item)
			require.True(t, l.Date.Equal(stop))
			require.True(t, l.Cycle.Equal(ensemble.Period{Start: inParis(2026, 3, 17).UTC(), End: inParis(2027, 3, 17).UTC()}), "the term")
			require.True(t, l.Period.Equal(ensemble.Period{Start: stop.UTC(), End: inParis(2027, 3, 17).UTC()}), "the rest of the term")
			require.Equal(t, pin("commit", 1), l.Pin)
			require.Contains(t, l.Refs, ensemble.Ref{Kind: invoice.RefTerm, ID: "s1/yearly"})
			require.Contains(t, invoice.Explain(l), "early termination inside the term")
			roundTrip(t, inv)
		})
	}
}

// The remaining value counts every recurring cycle left in the term, after
// the item's percentage discounts: 2 Basic seats (EUR 20 a month on the
// subscription's anchor, 10% partner discount) on a 12-month term from
// 2026-03-01, ended 2026-11-20 (days end exclusive). November's rest is
// 20 - round(20 × 19/30) = 7.33 less its discount round(2) - round(20 ×
// 19/30 × 10%) = 2.00 - 1.27 = 0.73, so 6.60; December to February are
// 3 × (20.00 - 2.00) = 54.00: the fee is 60.60.
func TestEarlyTerminationRemainingMonthly(t *testing.T) {
	b := termsBuilder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	seats := item("seats", seg(inParis(2026, 3, 1), inParis(2026, 11, 20), pin("basic", 1), "2"))
	seats.PartnerDiscount = ensemble.MustRatio("10%")
	seats.Term = invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{Rule: invoice.TerminationRemaining}}
	s := sub("s1", inParis(2026, 3, 1), seats)
	s.TimeZone = "Europe/Paris"
	inv := build1(t, b, invoice.Run{After: inParis(2026, 11, 10), At: inParis(2026, 11, 25)}, s)
	require.Equal(t, []string{"early_termination  60.60", "proration_credit seats -7.33"}, amounts(inv))
	fee := inv.Lines[0]
	require.True(t, money("60.60").Equal(fee.Full), fee.Full.String())
	require.True(t, fee.Discount.IsZero(), "the fee takes no discount")
	require.True(t, fee.Period.End.Equal(inParis(2027, 3, 1)))
}

// No fee when the item ends on or after its term's end, or only pauses; a
// renewed term owes the fee again, and a cancellation of the subscription
// inside the term is an end like any other.
func TestEarlyTerminationOnlyInsideTheTerm(t *testing.T) {
	b := termsBuilder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	fixed := &invoice.EarlyTermination{Amount: dec("300")}
	fees := func(s invoice.Subscription, after, at time.Time) []string {
		invs, err := b.Build(invoice.Run{After: after, At: at}, []invoice.Subscription{s})
		require.NoError(t, err)
		var out []string
		for _, inv := range invs {
			for _, l := range inv.Lines {
				if l.Kind == invoice.KindEarlyTermination {
					out = append(out, l.Date.In(paris).Format(time.DateOnly)+" "+l.Amount.AmountString())
				}
			}
		}
		return out
	}
	act := inParis(2026, 3, 17)
	withEnd := func(end time.Time, renew bool) invoice.Subscription {
		s := issueSub(seg(act, end, pin("commit", 1), "1"))
		s.Items[1].Term.AutoRenew = renew
		s.Items[1].Term.EarlyTermination = fixed
		return s
	}
	require.Empty(t, fees(withEnd(inParis(2027, 3, 17), false), act, inParis(2027, 6, 1)), "on the term's end")
	require.Empty(t, fees(withEnd(inParis(2027, 5, 1), false), act, inParis(2027, 6, 1)), "after a term that does not renew")
	require.Equal(t, []string{"2027-05-01 300.00"}, fees(withEnd(inParis(2027, 5, 1), true), act, inParis(2027, 6, 1)), "inside the renewed term")
	require.Empty(t, fees(withEnd(inParis(2027, 3, 17), true), act, inParis(2027, 6, 1)), "on the renewal")

	paused := issueSub(seg(act, inParis(2026, 6, 1), pin("commit", 1), "1"), seg(inParis(2026, 7, 1), time.Time{}, pin("commit", 1), "1"))
	paused.Items[1].Term.EarlyTermination = fixed
	require.Empty(t, fees(paused, act, inParis(2026, 12, 1)), "a pause is no end")

	cancelled := issueSub()
	cancelled.Items[1].Term.EarlyTermination = fixed
	cancelled.CancelAt = inParis(2026, 8, 1)
	require.Equal(t, []string{"2026-08-01 300.00"}, fees(cancelled, act, inParis(2026, 12, 1)))
	// Billed once, in the run its end falls in.
	require.Empty(t, fees(cancelled, inParis(2026, 8, 1), inParis(2026, 12, 1)))
}

// A bad fee is a *TermError naming the item and the field.
func TestEarlyTerminationValidation(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	cases := []struct {
		name  string
		term  invoice.Term
		field string
	}{
		{"a fee without a term", invoice.Term{EarlyTermination: &invoice.EarlyTermination{Amount: dec("1")}}, "term.length"},
		{"a fixed fee of nothing", invoice.Term{Length: ensemble.Every(1, ensemble.Yearly), EarlyTermination: &invoice.EarlyTermination{}}, "term.early_termination.amount"},
		{"a fee in fractions of a cent", invoice.Term{Length: ensemble.Every(1, ensemble.Yearly), EarlyTermination: &invoice.EarlyTermination{Amount: dec("1.001")}}, "term.early_termination.amount"},
		{"a declining fee with a percent", invoice.Term{Length: ensemble.Every(1, ensemble.Yearly), EarlyTermination: &invoice.EarlyTermination{Rule: invoice.TerminationDeclining, Amount: dec("1"), Percent: ensemble.MustRatio("5%")}}, "term.early_termination.percent"},
		{"a remaining-value fee with an amount", invoice.Term{Length: ensemble.Every(1, ensemble.Yearly), EarlyTermination: &invoice.EarlyTermination{Rule: invoice.TerminationRemaining, Amount: dec("1")}}, "term.early_termination.amount"},
		{"over 100% of the remaining value", invoice.Term{Length: ensemble.Every(1, ensemble.Yearly), EarlyTermination: &invoice.EarlyTermination{Rule: invoice.TerminationRemaining, Percent: ensemble.MustRatio("2")}}, "term.early_termination.percent"},
		{"an unknown rule", invoice.Term{Length: ensemble.Every(1, ensemble.Yearly), EarlyTermination: &invoice.EarlyTermination{Rule: 9, Amount: dec("1")}}, "term.early_termination.rule"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := issueSub()
			s.Items[1].Term = tc.term
			_, err := b.Build(invoice.Run{At: inParis(2026, 4, 1)}, []invoice.Subscription{s})
			var te *invoice.TermError
			require.ErrorAs(t, err, &te)
			require.Equal(t, invoice.ItemID("yearly"), te.Item)
			require.Equal(t, tc.field, te.Field)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "subscriptions[0].items[1]."+tc.field, ve.Problems[0].Path)
		})
	}
}

// The fee survives encoding/json with its rule by name.
func TestEarlyTerminationJSON(t *testing.T) {
	s := issueSub()
	s.Items[1].Term.EarlyTermination = &invoice.EarlyTermination{Rule: invoice.TerminationRemaining, Percent: ensemble.MustRatio("50%")}
	roundTrip(t, s)
	data, err := json.Marshal(invoice.Input{Run: invoice.Run{At: inParis(2026, 4, 1)}, Subscriptions: []invoice.Subscription{s}})
	require.NoError(t, err)
	require.Contains(t, string(data), `"early_termination":{"rule":"remaining","percent":"0.5"}`)
	back, err := invoice.DecodeInput(data)
	require.NoError(t, err)
	require.Equal(t, invoice.TerminationRemaining, back.Subscriptions[0].Items[1].Term.EarlyTermination.Rule)
}

// termOrder takes a direct order to active on 2026-03-01 (Paris, anchored
// there): two Basic seats (EUR 10.00 a seat a month, in advance) and a EUR
// 1,200 yearly commitment on its own anchor with its own one-year term and a
// fixed EUR 250.00 fee, under a 12-month order term with fee, and cancels
// it immediately on 2026-07-01, four months in.
func termOrder(t *testing.T, fee *order.EarlyTermination) order.Order {
	t.Helper()
	env := order.Context{Catalog: termsCatalog(t)}
	at := inParis(2026, 2, 20)
	var o order.Order
	for _, step := range []struct {
		at  time.Time
		cmd order.Command
	}{
		{at, order.Command{Kind: order.CmdCreate, Order: "ord-5", Draft: &order.Draft{
			Customer: order.Customer{ID: "acme", Country: "FR"},
			Lines: []order.Line{
				{ID: "seats", Pin: catalog.Pin{Offer: "basic"}, Quantity: dec("2")},
				{ID: "yearly", Pin: catalog.Pin{Offer: "commit"}, Quantity: dec("1"), Terms: order.LineTerms{OwnAnchor: true,
					Term: order.Term{Length: ensemble.Every(1, ensemble.Yearly), EarlyTermination: &order.EarlyTermination{Amount: dec("250.00")}}}},
			},
			Term:    order.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: fee},
			Billing: order.Billing{Anchor: inParis(2026, 3, 1), TimeZone: "Europe/Paris"},
		}}},
		{at, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}},
		{at, order.Command{Kind: order.CmdAccept}},
		{at, order.Command{Kind: order.CmdBeginActivation}},
		{inParis(2026, 3, 1), order.Command{Kind: order.CmdCompleteTask, Task: "seats"}},
		{inParis(2026, 3, 1), order.Command{Kind: order.CmdCompleteTask, Task: "yearly"}},
		{inParis(2026, 7, 1), order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately}}},
	} {
		next, _, err := o.Decide(context.Background(), env, step.cmd, step.at)
		require.NoError(t, err, "%s", step.cmd.Kind)
		o = next
	}
	require.True(t, o.Cancellation.WithinTerm)
	return o
}

// The issue's order-level case: an order with a 12-month term, cancelled
// after 4 months (2026-03-01 to 2026-07-01, Paris: 122 of the term's 365
// days gone, 243 left, days end exclusive), bills the order's fee once,
// through FromOrder alone, besides the yearly line's own EUR 250.00 fee and
// the credit of its unused year, -(1,200 - round(1,200 × 122/365)) =
// -(1,200 - 401.10) = -798.90:
//   - fixed 300.00: 300.00;
//   - declining from 600.00: round(600) - round(600 × 122/365) = 600 -
//     200.55 = 399.45;
//   - 50% of the remaining value: the seats would still have billed July to
//     February, 8 × 20.00 = 160.00, and the yearly line 798.90 of its year:
//     round(50% × 958.90) = 479.45.
func TestFromOrderBillsTheOrderTermFee(t *testing.T) {
	b := termsBuilder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	cases := []struct {
		name string
		fee  *order.EarlyTermination
		want string
		// seats, yearly: the fee's shares, in proportion to each line's
		// remaining value (160.00 and 798.90), by largest remainder.
		seats, yearly string
	}{
		{"fixed", &order.EarlyTermination{Rule: order.TerminationFixed, Amount: dec("300.00")}, "300.00", "50.06", "249.94"},
		{"declining", &order.EarlyTermination{Rule: order.TerminationDeclining, Amount: dec("600.00")}, "399.45", "66.65", "332.80"},
		{"half the remaining value", &order.EarlyTermination{Rule: order.TerminationRemaining, Percent: ensemble.MustRatio("50%")}, "479.45", "80.00", "399.45"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := termOrder(t, tc.fee)
			s, err := invoice.FromOrder(o)
			require.NoError(t, err)
			require.NotNil(t, s.Term.EarlyTermination, "the order's term is the subscription's")
			require.Equal(t, invoice.TerminationRule(tc.fee.Rule), s.Term.EarlyTermination.Rule)
			require.Equal(t, &invoice.EarlyTermination{Amount: dec("250.00")}, s.Items[1].Term.EarlyTermination, "the line's own fee is its item's")
			roundTrip(t, s)

			inv := build1(t, b, invoice.Run{After: inParis(2026, 6, 15), At: inParis(2026, 7, 15)}, s)
			// The order's fee, one line per line in service at the end (its
			// share of the remaining value), sorted first
			// ("ord-5/early_termination/.../item").
			require.Equal(t, []string{
				"early_termination  " + tc.seats,
				"early_termination  " + tc.yearly,
				"proration_credit year -798.90",
				"early_termination  250.00", // the yearly line's own
			}, amounts(inv))
			total, err := inv.Lines[0].Amount.Add(inv.Lines[1].Amount)
			require.NoError(t, err)
			require.Equal(t, tc.want, total.AmountString(), "the shares sum to the fee")
			for k, want := range []struct {
				item invoice.ItemID
				pin  catalog.Pin
			}{{"seats", catalog.Pin{Offer: "basic", Version: 1}}, {"yearly", catalog.Pin{Offer: "commit", Version: 1}}} {
				fee := inv.Lines[k]
				require.Equal(t, want.item, fee.Item, "the share of the line's remaining value is its item's")
				require.Equal(t, want.pin, fee.Pin)
				require.True(t, strings.HasPrefix(string(fee.ID), "ord-5/early_termination/") && strings.HasSuffix(string(fee.ID), "/"+string(want.item)), "%s", fee.ID)
				require.True(t, fee.Date.Equal(inParis(2026, 7, 1)))
				require.True(t, fee.Cycle.Equal(ensemble.Period{Start: inParis(2026, 3, 1).UTC(), End: inParis(2027, 3, 1).UTC()}), "the order's term")
				require.Contains(t, fee.Refs, ensemble.Ref{Kind: invoice.RefTerm, ID: "ord-5"})
				require.True(t, slices.ContainsFunc(fee.Refs, func(r ensemble.Ref) bool {
					return r.Kind == order.RefOrderLine && strings.HasSuffix(r.ID, string(want.item))
				}), "the share traces to its order line: %v", fee.Refs)
				require.True(t, slices.ContainsFunc(fee.Refs, func(r ensemble.Ref) bool { return r.Kind == order.RefSegment }), "and its segment: %v", fee.Refs)
				require.Contains(t, invoice.Explain(fee), "early termination inside the term [2026-02-28T23:00:00Z, 2027-02-28T23:00:00Z)") // March 1, Paris
			}

			// One run over the whole history bills it once too.
			all := build1(t, b, invoice.Run{At: inParis(2026, 7, 15)}, s)
			var got []string
			for _, l := range all.Lines {
				if l.Kind == invoice.KindEarlyTermination && strings.HasPrefix(string(l.ID), "ord-5/early_termination/") {
					got = append(got, l.Amount.AmountString())
				}
			}
			require.Equal(t, []string{tc.seats, tc.yearly}, got)
		})
	}

	// Cancelled at the end of the order's term (and of the line's): no fee.
	o := termOrder(t, &order.EarlyTermination{Amount: dec("300.00")})
	s, err := invoice.FromOrder(o)
	require.NoError(t, err)
	s.CancelAt = inParis(2027, 3, 1)
	invs, err := b.Build(invoice.Run{After: inParis(2027, 2, 15), At: inParis(2027, 3, 15)}, []invoice.Subscription{s})
	require.NoError(t, err)
	for _, inv := range invs {
		for _, l := range inv.Lines {
			require.NotEqual(t, invoice.KindEarlyTermination, l.Kind, l.ID)
		}
	}
}

// A bad fee on the subscription's term is a *TermError with no item, at the
// subscription's path.
func TestSubscriptionTermValidation(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	s := issueSub()
	s.Term = invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{Amount: dec("1.001")}}
	_, err := b.Build(invoice.Run{At: inParis(2026, 4, 1)}, []invoice.Subscription{s})
	var te *invoice.TermError
	require.ErrorAs(t, err, &te)
	require.Empty(t, te.Item)
	require.Equal(t, "term.early_termination.amount", te.Field)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "subscriptions[0].term.early_termination.amount", ve.Problems[0].Path)
	require.ErrorContains(t, err, `invoice: subscription "s1": term.early_termination.amount: invoice: invalid value: 1.001 is not whole minor units`)

	s.Term = invoice.Term{EarlyTermination: &invoice.EarlyTermination{Amount: dec("100")}}
	_, err = b.Build(invoice.Run{At: inParis(2026, 4, 1)}, []invoice.Subscription{s})
	require.ErrorAs(t, err, &te)
	require.Equal(t, "term.length", te.Field)
	require.ErrorIs(t, err, invoice.ErrRequired)
}

// A declining fee is the declining amount itself, rounded once in the
// builder's mode: round(Amount × left), as a contract states it, not
// Amount - round(Amount × elapsed), which differs by a minor unit on a
// tie. A one-month term from April 1 ended on April 2 (days end
// exclusive) leaves 29 of 30 days:
//   - 0.45 × 29/30 = 0.435: 0.44 half away from zero and half even (the
//     old Amount - round(0.015) gave 0.43);
//   - 0.75 × 29/30 = 0.725: 0.73 half away from zero, 0.72 half even (the
//     old formula gave 0.72 and 0.73: the other way round).
func TestDecliningFeeRoundsTheFeeOwed(t *testing.T) {
	cases := []struct {
		name, amount string
		mode         ensemble.RoundingMode
		want         string
	}{
		{"0.435 half away from zero", "0.45", ensemble.RoundHalfAwayFromZero, "0.44"},
		{"0.435 half even", "0.45", ensemble.RoundHalfEven, "0.44"},
		{"0.725 half away from zero", "0.75", ensemble.RoundHalfAwayFromZero, "0.73"},
		{"0.725 half even", "0.75", ensemble.RoundHalfEven, "0.72"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Mode: tc.mode})
			it := item("seats", seg(date(2026, 4, 1), time.Time{}, pin("basic", 1), "1"))
			it.Term = invoice.Term{Length: ensemble.Every(1, ensemble.Monthly),
				EarlyTermination: &invoice.EarlyTermination{Rule: invoice.TerminationDeclining, Amount: dec(tc.amount)}}
			s := sub("s1", date(2026, 4, 1), it)
			s.CancelAt = date(2026, 4, 2)
			inv := build1(t, b, invoice.Run{After: date(2026, 3, 31), At: date(2026, 4, 3)}, s)
			var fee *invoice.Line
			for i := range inv.Lines {
				if inv.Lines[i].Kind == invoice.KindEarlyTermination {
					fee = &inv.Lines[i]
				}
			}
			require.NotNil(t, fee)
			require.True(t, money(tc.want).Equal(fee.Amount), "fee %s, want %s", fee.Amount, tc.want)
			p := fee.Proration
			require.NotNil(t, p)
			require.Equal(t, "29/30", p.Fraction.String())
			require.True(t, fee.Amount.Equal(p.AtTo), "the fee is AtTo")
			require.True(t, p.AtFrom.IsZero())
			require.Contains(t, invoice.Explain(*fee), "round("+tc.amount+" × 29/30) = "+tc.want)
		})
	}
}

// A bundle's suppliers share none of an early-termination fee: the fee is
// no charge of the bundle their costs apply to. The Suite bundle (acme 40%
// of its charges, zeta 5.00 a unit) on a one-year term with a fixed 300.00
// fee, cancelled on June 1: the fee line carries no supplier cost, lists
// both components as not sharing it, and Explain says so for each.
func TestEarlyTerminationFeeIsNotSharedWithSuppliers(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	it := item("suite", seg(date(2026, 3, 1), time.Time{}, pin("suite", 1), "2"))
	it.Term = invoice.Term{Length: ensemble.Every(1, ensemble.Yearly), EarlyTermination: &invoice.EarlyTermination{Amount: dec("300")}}
	s := sub("s1", date(2026, 3, 1), it)
	s.CancelAt = date(2026, 6, 1)
	inv := build1(t, b, invoice.Run{After: date(2026, 5, 15), At: date(2026, 6, 15)}, s)
	var fee *invoice.Line
	for i := range inv.Lines {
		if inv.Lines[i].Kind == invoice.KindEarlyTermination {
			fee = &inv.Lines[i]
		}
	}
	require.NotNil(t, fee)
	require.Equal(t, "300.00", fee.Amount.AmountString())
	require.Empty(t, fee.SupplierCosts, "no supplier shares the fee")
	var not []string
	for _, c := range fee.CostsNotApplied {
		not = append(not, c.Supplier+" "+string(c.Offer)+" "+c.Cost.AmountString())
	}
	require.Equal(t, []string{"acme basic 0.00", "zeta api 0.00"}, not)
	why := invoice.Explain(*fee)
	require.Contains(t, why, "supplier acme (basic): no share of an early-termination fee")
	require.Contains(t, why, "supplier zeta (api): no share of an early-termination fee")
	roundTrip(t, inv)
}
