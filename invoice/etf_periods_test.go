package invoice_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
)

// periodsOffers are the offers the periods-fee tests bill: Team seats at
// EUR 50.00 a month, a quarterly plan of EUR 300.00, a quarterly plan of
// two charges of EUR 100.00 each, a weekly plan, and a one-time deployment
// (with termOffers' yearly commitment of EUR 1,200.00).
const periodsOffers = `
  - id: team
    version: 1
    name: Team
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: seats, name: Seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "50.00"}}
  - id: quarterly
    version: 1
    name: Quarterly plan
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: plan, name: Plan, type: recurring, cadence: {unit: quarterly}, timing: in_advance, price: {model: flat, amount: "300.00"}}
  - id: twin-quarterly
    version: 1
    name: Two quarterly charges
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: a, name: Plan A, type: recurring, cadence: {unit: quarterly}, timing: in_advance, price: {model: flat, amount: "100.00"}}
      - {id: b, name: Plan B, type: recurring, cadence: {unit: quarterly}, timing: in_advance, price: {model: flat, amount: "100.00"}}
  - id: weekly
    version: 1
    name: Weekly plan
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: plan, name: Plan, type: recurring, cadence: {unit: weekly}, timing: in_advance, price: {model: flat, amount: "70.00"}}
  - id: deployment
    version: 1
    name: Deployment service
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: deploy, name: Deployment, type: one_time, price: {model: flat, amount: "500.00"}}
`

func periodsCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(catalogYAML + termOffers + periodsOffers))
	require.NoError(t, err)
	return cat
}

func periodsBuilder(t testing.TB) *invoice.Builder {
	t.Helper()
	b, err := invoice.NewBuilder(periodsCatalog(t), invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	return b
}

func threeMonthsFee(capped bool) *invoice.EarlyTermination {
	return &invoice.EarlyTermination{Rule: invoice.TerminationPeriods, Periods: ensemble.Every(3, ensemble.Monthly), CapAtRemaining: capped}
}

// feeLines returns an invoice's early-termination lines.
func feeLines(inv invoice.Invoice) []invoice.Line {
	var out []invoice.Line
	for _, l := range inv.Lines {
		if l.Kind == invoice.KindEarlyTermination {
			out = append(out, l)
		}
	}
	return out
}

// A 24-month order term whose fee is "three months of the monthly fee":
// 10 Team seats at EUR 50.00 a month from January 1 2026, raised to 15
// seats on June 1 (month 6), terminated on September 15 (month 9). The fee
// is read from the seats in force at the end: 3 × 15 × 50.00 = 2,250.00.
// The same clause written at signing as a fixed amount (3 × 10 × 50.00 =
// 1,500.00) still bills 1,500.00 after the seats were raised: the stale
// figure TerminationPeriods replaces.
func TestTerminationPeriodsFollowsTheSeatsInForce(t *testing.T) {
	cat := periodsCatalog(t)
	b := periodsBuilder(t)
	env := order.Context{Catalog: cat}
	run := func(fee *order.EarlyTermination) []invoice.Line {
		t.Helper()
		jan1 := date(2026, 1, 1)
		var o order.Order
		for _, step := range []struct {
			at  time.Time
			cmd order.Command
		}{
			{date(2025, 12, 20), order.Command{Kind: order.CmdCreate, Order: "ord-1", Draft: &order.Draft{
				Customer: order.Customer{ID: "acme", Country: "FR"},
				Lines:    []order.Line{{ID: "l1", Pin: catalog.Pin{Offer: "team"}, Quantity: dec("10")}},
				Billing:  order.Billing{Anchor: jan1},
				Term:     order.Term{Length: ensemble.Every(24, ensemble.Monthly), EarlyTermination: fee},
			}}},
			{date(2025, 12, 20), order.Command{Kind: order.CmdQuote, ExpiresAt: date(2025, 12, 31)}},
			{date(2025, 12, 21), order.Command{Kind: order.CmdAccept}},
			{date(2025, 12, 21), order.Command{Kind: order.CmdBeginActivation}},
			{jan1, order.Command{Kind: order.CmdCompleteTask, Task: "l1"}},
			{date(2026, 6, 1), order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeQuantity, Line: "l1", Quantity: dec("15")}}},
			{date(2026, 9, 15), order.Command{Kind: order.CmdCancel, Cancel: &order.CancelRequest{Mode: order.Immediately}}},
		} {
			next, _, err := o.Decide(context.Background(), env, step.cmd, step.at)
			require.NoError(t, err, "%s", step.cmd.Kind)
			o = next
		}
		s, err := invoice.FromOrder(o)
		require.NoError(t, err)
		return feeLines(build1(t, b, invoice.Run{At: date(2026, 9, 16)}, s))
	}

	got := run(&order.EarlyTermination{Rule: order.TerminationPeriods, Periods: ensemble.Every(3, ensemble.Monthly)})
	require.Len(t, got, 1)
	require.Equal(t, invoice.LineID("ord-1/early_termination/20260101T000000Z/20260915T000000Z"), got[0].ID)
	require.Equal(t, "2250.00", got[0].Amount.AmountString())
	require.Equal(t, "2250.00", got[0].Full.AmountString())
	require.Equal(t, "Early termination fee: 3 months of charges", got[0].Description)
	require.Equal(t, catalog.Pin{Offer: "team", Version: 1}, got[0].Pin)

	// Capped at the remaining value, the fee is the same: 15⅟₂ months of
	// 750.00 remain.
	got = run(&order.EarlyTermination{Rule: order.TerminationPeriods, Periods: ensemble.Every(3, ensemble.Monthly), CapAtRemaining: true})
	require.Len(t, got, 1)
	require.Equal(t, "2250.00", got[0].Amount.AmountString())
	require.Equal(t, "Early termination fee: 3 months of charges, no more than the remaining value", got[0].Description)

	// The fixed amount written at signing does not follow the seats.
	got = run(&order.EarlyTermination{Rule: order.TerminationFixed, Amount: dec("1500.00")})
	require.Len(t, got, 1)
	require.Equal(t, "1500.00", got[0].Amount.AmountString())
}

// Near the term's end, "the lesser of the remaining months' charges and
// three months" bills the remaining value: 15 Team seats (EUR 750.00 a
// month) under a 24-month term from January 1 2026, ending November 16
// 2027: November 16 to December 1 is 15 of November's 30 days, 375.00,
// and December 750.00, so 1,125.00 remain, less than three months'
// 2,250.00. Uncapped, the fee is still 2,250.00. The item's own term bills
// the same fee as the subscription's.
func TestTerminationPeriodsCappedAtTheRemainingValueNearTheEnd(t *testing.T) {
	b := periodsBuilder(t)
	start, stop := date(2026, 1, 1), date(2027, 11, 16)
	term := func(et *invoice.EarlyTermination) invoice.Term {
		return invoice.Term{Length: ensemble.Every(24, ensemble.Monthly), EarlyTermination: et}
	}
	for _, c := range []struct {
		name       string
		capped     bool
		want, desc string
	}{
		{"capped", true, "1125.00", "Early termination fee: the remaining value, less than 3 months of charges"},
		{"uncapped", false, "2250.00", "Early termination fee: 3 months of charges"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := sub("s1", start, item("seats", seg(start, date(2026, 6, 1), pin("team", 1), "10"), seg(date(2026, 6, 1), stop, pin("team", 1), "15")))
			s.CancelAt, s.Term = stop, term(threeMonthsFee(c.capped))
			got := feeLines(build1(t, b, invoice.Run{At: stop.AddDate(0, 0, 1)}, s))
			require.Len(t, got, 1)
			require.Equal(t, c.want, got[0].Amount.AmountString())
			require.Equal(t, c.want, got[0].Full.AmountString())
			require.Equal(t, c.desc, got[0].Description)

			// The item's own term.
			s.Term = invoice.Term{}
			s.Items[0].Term = term(threeMonthsFee(c.capped))
			got = feeLines(build1(t, b, invoice.Run{At: stop.AddDate(0, 0, 1)}, s))
			require.Len(t, got, 1)
			require.Equal(t, invoice.LineID("s1/seats/20260101T000000Z/early_termination/20271116T000000Z"), got[0].ID)
			require.Equal(t, c.want, got[0].Amount.AmountString())
			require.Equal(t, c.desc, got[0].Description)
		})
	}
}

// "A month of charges" of a charge on another cadence is its cycle's
// amount in proportion to the calendar span: three months of a yearly EUR
// 1,200.00 is 300.00, one month 100.00; three months of a quarterly EUR
// 300.00 is 300.00, one month 100.00; one quarter is three months. A fee
// in months over a weekly charge has no exact proportion: a *TermError
// naming the field, not a guess.
func TestTerminationPeriodsOfOtherCadences(t *testing.T) {
	b := periodsBuilder(t)
	start, stop := date(2026, 1, 1), date(2026, 5, 10)
	for _, c := range []struct {
		offer   string
		periods ensemble.Cadence
		want    string
	}{
		{"commit", ensemble.Every(3, ensemble.Monthly), "300.00"},
		{"commit", ensemble.Every(1, ensemble.Monthly), "100.00"},
		{"commit", ensemble.Every(1, ensemble.Quarterly), "300.00"},
		{"commit", ensemble.Every(2, ensemble.Yearly), "2400.00"},
		{"quarterly", ensemble.Every(3, ensemble.Monthly), "300.00"},
		{"quarterly", ensemble.Every(1, ensemble.Monthly), "100.00"},
		{"team", ensemble.Every(1, ensemble.Quarterly), "150.00"},
		{"weekly", ensemble.Every(4, ensemble.Weekly), "280.00"},
		{"weekly", ensemble.Every(14, ensemble.Daily), "140.00"},
	} {
		t.Run(c.offer+" "+c.periods.String(), func(t *testing.T) {
			s := sub("s1", start, item("i", seg(start, stop, pin(c.offer, 1), "1")))
			s.CancelAt = stop
			s.Term = invoice.Term{Length: ensemble.Every(24, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{Rule: invoice.TerminationPeriods, Periods: c.periods}}
			got := feeLines(build1(t, b, invoice.Run{At: stop.AddDate(0, 0, 1)}, s))
			require.Len(t, got, 1)
			require.Equal(t, c.want, got[0].Amount.AmountString())
		})
	}

	s := sub("s1", start, item("i", seg(start, stop, pin("weekly", 1), "1")))
	s.CancelAt = stop
	s.Term = invoice.Term{Length: ensemble.Every(24, ensemble.Monthly), EarlyTermination: threeMonthsFee(false)}
	_, err := b.Build(invoice.Run{At: stop.AddDate(0, 0, 1)}, []invoice.Subscription{s})
	var te *invoice.TermError
	require.ErrorAs(t, err, &te)
	require.ErrorIs(t, err, invoice.ErrInvalid)
	require.Equal(t, "term.early_termination.periods", te.Field)
	require.Equal(t, invoice.ItemID(""), te.Item, "the subscription's term")
	require.Contains(t, err.Error(), "no exact proportion of 3 months to weekly/plan, billed weekly")
}

// A periods fee is summed exactly over an offer's charges and rounded once
// per offer: one month of two quarterly charges of EUR 100.00 is
// round(66.666…) = 66.67, not 33.33 + 33.33. Each offer of an item (its
// own, each add-on) is its own line, and the lines add up to the fee: 2
// Basic seats (EUR 10.00) with 3 TB of Extra storage each (EUR 2.00 a TB)
// owe 3 × 20.00 = 60.00 and 3 × 12.00 = 36.00 for three months, and the
// quarterly item 300.00, 396.00 in all. A 10% partner discount on the
// seats, in force at the end, takes 10% off both of its offers: 54.00 and
// 32.40.
func TestTerminationPeriodsRoundsOncePerOfferAndBillsALinePerOffer(t *testing.T) {
	b := periodsBuilder(t)
	start, stop := date(2026, 1, 1), date(2026, 5, 10)
	s := sub("s1", start, item("i", seg(start, stop, pin("twin-quarterly", 1), "1")))
	s.CancelAt = stop
	s.Term = invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{
		Rule: invoice.TerminationPeriods, Periods: ensemble.Every(1, ensemble.Monthly)}}
	got := feeLines(build1(t, b, invoice.Run{At: stop.AddDate(0, 0, 1)}, s))
	require.Len(t, got, 1)
	require.Equal(t, "66.67", got[0].Amount.AmountString())

	seats := seg(start, stop, pin("basic", 1), "2")
	seats.AddOns = []invoice.AddOn{{Pin: pin("storage", 1), Quantity: dec("3")}}
	s = sub("s1", start, item("plan", seg(start, stop, pin("quarterly", 1), "1")), item("seats", seats))
	s.CancelAt = stop
	s.Term = invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: threeMonthsFee(false)}
	id := "s1/early_termination/20260101T000000Z/20260510T000000Z/"
	lines := func(s invoice.Subscription) []string {
		var out []string
		for _, l := range feeLines(build1(t, b, invoice.Run{At: stop.AddDate(0, 0, 1)}, s)) {
			require.True(t, l.Full.Equal(l.Amount), "%s", l.ID)
			out = append(out, strings.TrimPrefix(string(l.ID), id)+" "+string(l.Item)+" "+string(l.Pin.Offer)+" "+l.Amount.AmountString())
		}
		return out
	}
	require.Equal(t, []string{"plan plan quarterly 300.00", "seats seats basic 60.00", "seats/add_on/storage seats storage 36.00"}, lines(s))
	s.Items[1].PartnerDiscount = ensemble.MustRatio("10%")
	require.Equal(t, []string{"plan plan quarterly 300.00", "seats seats basic 54.00", "seats/add_on/storage seats storage 32.40"}, lines(s))
}

// A periods fee is checked like the others: periods with a unit and a
// count in [1, MaxTerminationPeriods], no amount, no percent; no other
// rule has periods or a cap. Each is a *TermError naming the field.
func TestTerminationPeriodsValidation(t *testing.T) {
	b := periodsBuilder(t)
	start := date(2026, 1, 1)
	cases := map[string]struct {
		et    invoice.EarlyTermination
		field string
	}{
		"no periods":          {invoice.EarlyTermination{Rule: invoice.TerminationPeriods}, "term.early_termination.periods"},
		"a zero count":        {invoice.EarlyTermination{Rule: invoice.TerminationPeriods, Periods: ensemble.Cadence{Unit: ensemble.Monthly}}, "term.early_termination.periods"},
		"too many periods":    {invoice.EarlyTermination{Rule: invoice.TerminationPeriods, Periods: ensemble.Every(invoice.MaxTerminationPeriods+1, ensemble.Monthly)}, "term.early_termination.periods"},
		"a negative count":    {invoice.EarlyTermination{Rule: invoice.TerminationPeriods, Periods: ensemble.Every(-3, ensemble.Monthly)}, "term.early_termination.periods"},
		"periods and amount":  {invoice.EarlyTermination{Rule: invoice.TerminationPeriods, Periods: ensemble.Every(3, ensemble.Monthly), Amount: dec("100")}, "term.early_termination.amount"},
		"periods and percent": {invoice.EarlyTermination{Rule: invoice.TerminationPeriods, Periods: ensemble.Every(3, ensemble.Monthly), Percent: ensemble.MustRatio("50%")}, "term.early_termination.percent"},
		"a fixed fee capped":  {invoice.EarlyTermination{Rule: invoice.TerminationFixed, Amount: dec("100"), CapAtRemaining: true}, "term.early_termination.cap_at_remaining"},
		"a remaining fee with periods": {invoice.EarlyTermination{Rule: invoice.TerminationRemaining, Periods: ensemble.Every(3, ensemble.Monthly)},
			"term.early_termination.periods"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			et := c.et
			s := sub("s1", start, item("i", seg(start, date(2026, 5, 1), pin("team", 1), "1")))
			s.Items[0].Term = invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: &et}
			_, err := b.Build(invoice.Run{At: date(2026, 5, 2)}, []invoice.Subscription{s})
			var te *invoice.TermError
			require.ErrorAs(t, err, &te)
			require.ErrorIs(t, err, invoice.ErrInvalid)
			require.Equal(t, c.field, te.Field)
			require.Equal(t, invoice.ItemID("i"), te.Item)
		})
	}
}

// TestPropertyTerminationPeriods: whatever the items (Team, Basic or Pro
// seats, some with Extra storage, a one-time deployment), a change of
// quantity, the end inside a 24-month term, the periods (1 to 6 months, or
// a quarter) and the cap, the fee lines are positive with distinct IDs,
// each a part's own value (Full = Amount), and add up to the fee: the sum
// over the parts in force at the end of price × quantity × months (all
// monthly, so each part is exact), or, capped, the lesser of that and the
// remaining value (from a twin whose fee is 100% of it), never more.
func TestPropertyTerminationPeriods(t *testing.T) {
	b := periodsBuilder(t)
	price := map[string]int64{"team": 5000, "basic": 1000, "pro": 3000, "storage": 200, "deployment": 0}
	rapid.Check(t, func(t *rapid.T) {
		start := date(2026, 1, 1)
		stop := start.AddDate(0, 0, rapid.IntRange(1, 729).Draw(t, "days"))
		change := start.AddDate(0, 0, rapid.IntRange(1, 729).Draw(t, "change_day"))
		var months int64
		periods := ensemble.Every(1, ensemble.Quarterly)
		if rapid.Bool().Draw(t, "in_months") {
			periods = ensemble.Every(rapid.IntRange(1, 6).Draw(t, "months"), ensemble.Monthly)
			months = int64(periods.Count)
		} else {
			months = 3
		}
		capped := rapid.Bool().Draw(t, "capped")
		var items []invoice.Item
		want := int64(0) // cents
		for i := range rapid.IntRange(1, 4).Draw(t, "items") {
			o := rapid.SampledFrom([]string{"team", "basic", "pro", "deployment"}).Draw(t, "offer")
			q1 := int64(rapid.IntRange(1, 20).Draw(t, "qty"))
			q2 := int64(rapid.IntRange(1, 20).Draw(t, "qty_after"))
			var tb int64
			if (o == "basic" || o == "pro") && rapid.Bool().Draw(t, "storage") {
				tb = int64(rapid.IntRange(1, 5).Draw(t, "tb"))
			}
			mk := func(from, to time.Time, q int64) invoice.Segment {
				sg := seg(from, to, pin(o, 1), fmt.Sprint(q))
				if tb > 0 {
					sg.AddOns = []invoice.AddOn{{Pin: pin("storage", 1), Quantity: decimal.NewFromInt(tb)}}
				}
				return sg
			}
			last := q1
			segs := []invoice.Segment{mk(start, stop, q1)}
			if change.Before(stop) {
				segs = []invoice.Segment{mk(start, change, q1), mk(change, stop, q2)}
				last = q2
			}
			items = append(items, item(fmt.Sprintf("i%d", i), segs...))
			want += months * last * (price[o] + tb*price["storage"])
		}
		s := sub("s1", start, items...)
		s.CancelAt = stop
		s.Term = invoice.Term{Length: ensemble.Every(24, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{
			Rule: invoice.TerminationPeriods, Periods: periods, CapAtRemaining: capped}}
		fees := feeLines(build1(t, b, invoice.Run{At: stop.AddDate(0, 0, 1)}, s))

		// The remaining value, from a twin whose fee is 100% of it.
		twin := s
		twin.Term.EarlyTermination = &invoice.EarlyTermination{Rule: invoice.TerminationRemaining}
		remaining := ensemble.MoneyFromMinor(0, eur)
		for _, l := range feeLines(build1(t, b, invoice.Run{At: stop.AddDate(0, 0, 1)}, twin)) {
			remaining, _ = remaining.Add(l.Amount)
		}

		fee := ensemble.MoneyFromMinor(want, eur)
		if c, _ := remaining.Cmp(fee); capped && c < 0 {
			fee = remaining
		}
		sum := ensemble.MoneyFromMinor(0, eur)
		ids := map[invoice.LineID]bool{}
		for _, l := range fees {
			require.False(t, ids[l.ID], "line %s twice", l.ID)
			ids[l.ID] = true
			require.True(t, l.Amount.IsPositive(), "%s: %s", l.ID, l.Amount)
			require.True(t, l.Full.Equal(l.Amount), "%s: full %s, amount %s", l.ID, l.Full, l.Amount)
			sum, _ = sum.Add(l.Amount)
		}
		require.True(t, fee.Equal(sum), "the lines sum to %s, the fee is %s (remaining %s)", sum, fee, remaining)
		if capped {
			c, _ := sum.Cmp(remaining)
			require.LessOrEqual(t, c, 0, "a capped fee %s is more than the remaining value %s", sum, remaining)
		}
		if len(fees) > 1 {
			require.True(t, slices.IsSortedFunc(fees, func(a, b invoice.Line) int { return strings.Compare(string(a.Item), string(b.Item)) }))
		}
	})
}

// A periods fee takes a discount naming charges off those charges alone:
// one month of two quarterly charges of EUR 100.00, 50% off charge a, is
// 100.00/3 × 50% + 100.00/3 = 50.00 (the whole discount off both was
// 33.33; none, 66.67).
func TestTerminationPeriodsTakesAChargeScopedDiscountOffItsCharge(t *testing.T) {
	b := periodsBuilder(t)
	start, stop := date(2026, 1, 1), date(2026, 5, 10)
	fee := func(d invoice.Discount) string {
		s := sub("s1", start, item("i", seg(start, stop, pin("twin-quarterly", 1), "1")))
		s.Items[0].Discounts = []invoice.Discount{d}
		s.CancelAt = stop
		s.Term = invoice.Term{Length: ensemble.Every(12, ensemble.Monthly), EarlyTermination: &invoice.EarlyTermination{
			Rule: invoice.TerminationPeriods, Periods: ensemble.Every(1, ensemble.Monthly)}}
		got := feeLines(build1(t, b, invoice.Run{At: stop.AddDate(0, 0, 1)}, s))
		require.Len(t, got, 1)
		return got[0].Amount.AmountString()
	}
	half := invoice.Discount{ID: "half", Percent: ensemble.MustRatio("50%"), Duration: invoice.Forever}
	require.Equal(t, "33.33", fee(half))
	half.Charges = []catalog.ChargeID{"a"}
	require.Equal(t, "50.00", fee(half))
}
