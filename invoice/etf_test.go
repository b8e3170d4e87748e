package invoice_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
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
