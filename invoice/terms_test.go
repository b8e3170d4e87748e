package invoice_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/usage"
)

// termOffers adds to the test catalog a yearly commitment of EUR 1,200 (and
// a larger one of EUR 2,400 to upgrade to), billed in advance, and a
// monthly usage charge to bill on an item's own cycles.
const termOffers = `
  - id: commit
    version: 1
    name: Annual commitment
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: year, name: Annual fee, type: recurring, cadence: {unit: yearly}, timing: in_advance, price: {model: flat, amount: "1200.00"}}
  - id: commit-plus
    version: 1
    name: Annual commitment plus
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: year, name: Annual fee, type: recurring, cadence: {unit: yearly}, timing: in_advance, price: {model: flat, amount: "2400.00"}}
  - id: metered
    version: 1
    name: Metered
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: gb, name: Transfer, type: usage, meter: gb, cadence: {unit: monthly}, price: {model: per_unit, amount: "0.10", minimum_spend: "5"}}
  - id: metered-min
    version: 1
    name: Metered with a minimum
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: gb, name: Transfer, type: usage, meter: gb, cadence: {unit: monthly}, price: {model: per_unit, amount: "0.10", minimum_spend: "50"}}
  - id: metered-volume
    version: 1
    name: Metered by volume
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - id: gb
        name: Transfer
        type: usage
        meter: gb
        price:
          model: volume
          tiers:
            - {up_to: 1000, unit_amount: "0.10"}
            - {unit_amount: "0.05"}
`

func termsCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(catalogYAML + termOffers))
	require.NoError(t, err)
	return cat
}

func termsBuilder(t testing.TB, opts invoice.Options) *invoice.Builder {
	t.Helper()
	b, err := invoice.NewBuilder(termsCatalog(t), opts)
	require.NoError(t, err)
	return b
}

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

func inParis(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, paris) }

// issueSub is the issue's case: a subscription anchored on the 1st (Paris),
// two Basic seats from March 1 2026 (EUR 20 a month, in advance, and a EUR
// 50 set-up fee), and a EUR 1,200 yearly commitment activated on March 17
// on its own anchor, with a one-year term.
func issueSub(yearly ...invoice.Segment) invoice.Subscription {
	act := inParis(2026, 3, 17)
	if len(yearly) == 0 {
		yearly = []invoice.Segment{seg(act, time.Time{}, pin("commit", 1), "1")}
	}
	commit := item("yearly", yearly...)
	commit.Anchor = act
	commit.Term = invoice.Term{Length: ensemble.Every(1, ensemble.Yearly)}
	s := sub("s1", inParis(2026, 3, 1), item("seats", seg(inParis(2026, 3, 1), time.Time{}, pin("basic", 1), "2")), commit)
	s.TimeZone = "Europe/Paris"
	return s
}

// The issue's case: the yearly item bills EUR 1,200.00 in full for its own
// year, 2026-03-17 to 2027-03-17 (Paris), not 1,200 prorated to the
// subscription's anchor; the monthly seats bill as before. On the
// subscription's anchor the same item would have billed
// 1,200 - round(1,200 × 16/365) = 1,200 - 52.60 = 1,147.40 for
// 2026-03-17..2027-03-01.
func TestItemOwnAnchorBillsItsOwnYear(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	s := issueSub()
	inv := build1(t, b, invoice.Run{At: inParis(2026, 3, 17)}, s)
	require.Equal(t, []string{
		"recurring seats 20.00", // March, 2 × 10.00
		"one_time setup 50.00",
		"recurring year 1200.00", // the whole year from activation
	}, amounts(inv))
	year := inv.Lines[2]
	require.Equal(t, invoice.ItemID("yearly"), year.Item)
	require.Nil(t, year.Proration, "a whole cycle")
	want := ensemble.Period{Start: inParis(2026, 3, 17).UTC(), End: inParis(2027, 3, 17).UTC()}
	require.True(t, year.Cycle.Equal(want), "%s", year.Cycle)
	require.True(t, year.Period.Equal(want), "%s", year.Period)
	require.True(t, year.Date.Equal(inParis(2026, 3, 17)))

	// Month after month only the seats bill, until the item's own renewal
	// on 2027-03-17 bills the next year in full.
	var renewals []string
	for at := inParis(2026, 3, 17); at.Before(inParis(2027, 4, 1)); {
		next := time.Date(at.Year(), at.Month()+1, 1, 0, 0, 0, 0, paris)
		if at.Equal(inParis(2027, 3, 1)) {
			next = inParis(2027, 3, 17)
		} else if at.Equal(inParis(2027, 3, 17)) {
			next = inParis(2027, 4, 1)
		}
		inv := build1(t, b, invoice.Run{After: at, At: next}, s)
		for _, l := range inv.Lines {
			if l.Item == "yearly" {
				renewals = append(renewals, l.Period.Start.In(paris).Format(time.DateOnly)+" "+l.Amount.AmountString())
			} else {
				require.Equal(t, "recurring seats 20.00", l.Kind.String()+" "+string(l.Charge)+" "+l.Amount.AmountString())
			}
		}
		at = next
	}
	require.Equal(t, []string{"2027-03-17 1200.00"}, renewals)

	// The default is unchanged: without its own anchor the item follows the
	// subscription's and is prorated to it.
	s.Items[1].Anchor = time.Time{}
	inv = build1(t, b, invoice.Run{At: inParis(2026, 3, 17)}, s)
	require.Equal(t, []string{"recurring seats 20.00", "one_time setup 50.00", "recurring year 1147.40"}, amounts(inv))
	require.Equal(t, "16/365", inv.Lines[2].Proration.From.String())
}

// An upgrade of the yearly item on 2026-09-17 is prorated on its own year
// (days, end exclusive: 184 of 365 days elapsed):
// credit -(1,200 - round(1,200 × 184/365)) = -(1,200 - 604.93) = -595.07,
// charge 2,400 - round(2,400 × 184/365) = 2,400 - 1,209.86 = 1,190.14.
// The seats are untouched.
func TestItemOwnAnchorUpgradeProratedOnItsOwnYear(t *testing.T) {
	b := termsBuilder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	up := inParis(2026, 9, 17)
	s := issueSub(seg(inParis(2026, 3, 17), up, pin("commit", 1), "1"), seg(up, time.Time{}, pin("commit-plus", 1), "1"))
	inv := build1(t, b, invoice.Run{After: inParis(2026, 9, 10), At: inParis(2026, 9, 20)}, s)
	require.Equal(t, []string{"recurring year 1190.14", "proration_credit year -595.07"}, amounts(inv))
	charge, credit := inv.Lines[0], inv.Lines[1]
	year := ensemble.Period{Start: inParis(2026, 3, 17).UTC(), End: inParis(2027, 3, 17).UTC()}
	for _, l := range inv.Lines {
		require.True(t, l.Cycle.Equal(year), "%s", l.Cycle)
		require.Equal(t, "184/365", l.Proration.From.String())
	}
	require.Equal(t, invoice.LineID("s1/yearly/20260316T230000Z/commit/year/recurring/20260316T230000Z"), credit.Credits)
	require.Equal(t, pin("commit-plus", 1), charge.Pin)
	require.True(t, money("595.07").Equal(inv.Subtotal), inv.Subtotal.String())
}

// Cancelling the yearly item on 2026-11-20 credits its unused part
// (248 of 365 days used): -(1,200 - round(1,200 × 248/365)) =
// -(1,200 - 815.34) = -384.66. Cancelling the whole subscription then also
// credits the seats' unused November (19 of 30 days used):
// -(20 - round(20 × 19/30)) = -(20 - 12.67) = -7.33.
func TestItemOwnAnchorCancellationCreditsUnusedPart(t *testing.T) {
	b := termsBuilder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	stop := inParis(2026, 11, 20)
	run := invoice.Run{After: inParis(2026, 11, 10), At: inParis(2026, 11, 25)}
	cases := []struct {
		name string
		sub  func() invoice.Subscription
		want []string
	}{
		{"the item ends", func() invoice.Subscription {
			return issueSub(seg(inParis(2026, 3, 17), stop, pin("commit", 1), "1"))
		}, []string{"proration_credit year -384.66"}},
		{"the subscription is cancelled", func() invoice.Subscription {
			s := issueSub()
			s.CancelAt = stop
			return s
		}, []string{"proration_credit seats -7.33", "proration_credit year -384.66"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := build1(t, b, run, tc.sub())
			require.Equal(t, tc.want, amounts(inv))
			credit := inv.Lines[len(inv.Lines)-1]
			require.Equal(t, "248/365", credit.Proration.From.String())
			require.True(t, credit.Period.Equal(ensemble.Period{Start: stop.UTC(), End: inParis(2027, 3, 17).UTC()}), "%s", credit.Period)
			require.Equal(t, invoice.LineID("s1/yearly/20260316T230000Z/commit/year/recurring/20260316T230000Z"), credit.Credits)
		})
	}
}

// Usage of an item with its own anchor is periodised from that anchor: an
// aggregate for the item's own month bills, one for the subscription's
// month is refused naming the item's anchor, and a month without usage
// bills the minimum spend (EUR 5) at the end of the item's month.
func TestItemOwnAnchorUsageCycles(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	act := date(2026, 3, 17)
	it := item("m", seg(act, time.Time{}, pin("metered", 1), "1"))
	it.Anchor = act
	s := sub("s1", date(2026, 3, 1), it)
	agg := marchUsage("s1/m", "120")
	agg.Meter = "gb"
	agg.Period = ensemble.Period{Start: act, End: date(2026, 4, 17)}
	inv := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 20), Usage: []usage.Aggregate{agg}}, s)
	require.Equal(t, []string{"usage gb 12.00", "usage gb 5.00"}, amounts(inv))
	require.True(t, inv.Lines[1].Period.Equal(ensemble.Period{Start: date(2026, 4, 17), End: date(2026, 5, 17)}))

	agg.Period = ensemble.Period{Start: date(2026, 3, 1), End: date(2026, 4, 1)}
	_, err := b.Build(invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 20), Usage: []usage.Aggregate{agg}}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrInvalid)
	require.ErrorContains(t, err, "item's anchor 20260317T000000Z")
}

// A usage period that starts before a commitment's cycle can hold service
// that starts inside it: a metered item on its own anchor (the 15th),
// activated on January 10 inside a subscription anchored on the 1st, uses
// January 10 to 15 of its period from December 15. Its usage line's service
// starts on January 10, so it counts toward January's minimum (see
// Commitment), and a later run of January's cycle needs its aggregate for the
// true-up. That run refused it as not due (the aggregates it took were those
// of periods starting in the cycle), and without it counted the period as
// idle (the EUR 5.00 minimum spend, not its 12.00), so a true-up billed in
// two runs differed from one run's.
//
// January owes 31 × 22/31 = 22.00 from the activation; 120 GB (12.00) to
// January 15 and 80 GB (8.00) from then count, 2.00 short.
func TestCommitmentUsagePeriodStartingBeforeItsCycle(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	act := date(2028, 1, 10)
	it := item("u", seg(act, time.Time{}, pin("metered", 1), "1"))
	it.Anchor = date(2027, 12, 15)
	s := sub("s1", date(2028, 1, 1), it)
	s.Commitment = &invoice.Commitment{Minimum: dec("31")}
	gb := func(from, to time.Time, v string) usage.Aggregate {
		return usage.Aggregate{Line: "s1/u", Meter: "gb", Aggregation: usage.Sum, Period: ensemble.MustPeriod(from, to),
			Value: dec(v), Records: 1, Digest: usage.DigestOf(usage.RecordID(from.String()))}
	}
	dec15, jan15 := gb(date(2027, 12, 15), date(2028, 1, 15), "120"), gb(date(2028, 1, 15), date(2028, 2, 15), "80")
	trueUp := invoice.LineID("s1/commitment/20280101T000000Z")

	whole := build1(t, b, invoice.Run{At: date(2028, 2, 15), Usage: []usage.Aggregate{dec15, jan15}}, s)
	require.Equal(t, []string{"commitment_true_up  2.00", "usage gb 12.00", "usage gb 8.00"}, amounts(whole))
	require.Equal(t, trueUp, whole.Lines[0].ID)
	require.True(t, whole.Lines[1].Period.Equal(ensemble.MustPeriod(act, date(2028, 1, 15))), "%s", whole.Lines[1].Period)

	// Split on January 20: the first run bills December 15's period and
	// takes January 15's for the true-up; the second bills January 15's
	// and takes December 15's, whose service starts in January's cycle.
	first := build1(t, b, invoice.Run{At: date(2028, 1, 20), Usage: []usage.Aggregate{dec15, jan15}}, s)
	require.Equal(t, []string{"usage gb 12.00"}, amounts(first))
	second := build1(t, b, invoice.Run{After: date(2028, 1, 20), At: date(2028, 2, 15), Usage: []usage.Aggregate{dec15, jan15}}, s)
	require.Equal(t, []string{"commitment_true_up  2.00", "usage gb 8.00"}, amounts(second))
	require.Equal(t, trueUp, second.Lines[0].ID)

	// A period whose service started before the cycle stays refused: with
	// the item activated on December 20, December 15's period counts
	// toward December, which an earlier run billed.
	s.Items[0].Segments[0].Start = date(2027, 12, 20)
	_, err := b.Build(invoice.Run{After: date(2028, 1, 20), At: date(2028, 2, 15), Usage: []usage.Aggregate{dec15, jan15}}, []invoice.Subscription{s})
	require.ErrorIs(t, err, invoice.ErrUsageNotDue)
	var ue *invoice.UsageError
	require.ErrorAs(t, err, &ue)
	require.True(t, ue.Period.Start.Equal(date(2027, 12, 15)), "%s", ue.Period)
}

// A bad anchor or term is a *TermError naming the subscription, the item
// and the field, reported with every other problem at the item's path.
func TestItemTermValidation(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	cases := []struct {
		name  string
		edit  func(*invoice.Item)
		field string
		want  error
	}{
		{"a renewal without a length", func(it *invoice.Item) { it.Term = invoice.Term{AutoRenew: true} }, "term.length", invoice.ErrRequired},
		{"a length of no unit", func(it *invoice.Item) { it.Term = invoice.Term{Length: ensemble.Cadence{Count: 12}} }, "term.length", invoice.ErrInvalid},
		{"a length out of range", func(it *invoice.Item) { it.Term = invoice.Term{Length: ensemble.Every(5000, ensemble.Monthly)} }, "term.length", invoice.ErrInvalid},
		{"an anchor too far to step cycles from", func(it *invoice.Item) { it.Anchor = time.Date(2_000_000, 1, 1, 0, 0, 0, 0, time.UTC) }, "anchor", invoice.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := issueSub()
			tc.edit(&s.Items[1])
			s.Items[0].Segments[0].Quantity = dec("-1") // another problem, reported too
			invs, err := b.Build(invoice.Run{At: inParis(2026, 4, 1)}, []invoice.Subscription{s})
			require.Nil(t, invs)
			require.ErrorIs(t, err, tc.want)
			var te *invoice.TermError
			require.ErrorAs(t, err, &te)
			require.Equal(t, invoice.SubscriptionID("s1"), te.Subscription)
			require.Equal(t, invoice.ItemID("yearly"), te.Item)
			require.Equal(t, tc.field, te.Field)
			require.Contains(t, te.Error(), `subscription "s1" item "yearly": `+tc.field)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
			}
			require.ElementsMatch(t, []string{"subscriptions[0].items[0].segments[0].quantity", "subscriptions[0].items[1]." + tc.field}, paths)
			require.True(t, errors.Is(b.Validate(invoice.Run{At: inParis(2026, 4, 1)}, []invoice.Subscription{s}), tc.want))
		})
	}
}

// Term.At gives the term holding an instant, renewing or not.
func TestTermAt(t *testing.T) {
	act := inParis(2026, 3, 17)
	term := invoice.Term{Length: ensemble.Every(1, ensemble.Yearly)}
	p, ok := term.At(act, inParis(2026, 11, 20), paris)
	require.True(t, ok)
	require.True(t, p.Equal(ensemble.Period{Start: act.UTC(), End: inParis(2027, 3, 17).UTC()}))
	_, ok = term.At(act, inParis(2027, 3, 17), paris)
	require.False(t, ok, "a term that does not renew is over")
	term.AutoRenew = true
	p, ok = term.At(act, inParis(2027, 3, 17), paris)
	require.True(t, ok)
	require.True(t, p.Start.Equal(inParis(2027, 3, 17)))
	_, ok = term.At(act, act.Add(-time.Second), paris)
	require.False(t, ok, "before activation")
	_, ok = invoice.Term{}.At(act, act, paris)
	require.False(t, ok, "no term")
}

// An item's anchor and term survive encoding/json and DecodeInput.
func TestItemTermsRoundTrip(t *testing.T) {
	s := issueSub()
	roundTrip(t, s)
	in := invoice.Input{Run: invoice.Run{At: inParis(2026, 4, 1)}, Subscriptions: []invoice.Subscription{s}}
	data, err := json.Marshal(in)
	require.NoError(t, err)
	require.Contains(t, string(data), `"anchor":"2026-03-17T00:00:00+01:00","term":{"length":{"unit":"yearly","count":1}}`)
	back, err := invoice.DecodeInput(data)
	require.NoError(t, err)
	require.True(t, back.Subscriptions[0].Items[1].Anchor.Equal(s.Items[1].Anchor))
	require.Equal(t, s.Items[1].Term, back.Subscriptions[0].Items[1].Term)
}

// An order line with its own terms becomes an item with its own anchor and
// term: a yearly commitment added on 2026-03-17 to an order anchored on the
// 1st bills EUR 1,200.00 for its own year, and removing it on 2026-11-20
// credits its unused part on that year (-384.66, days end exclusive), the
// line's terms read from its segments after its removal.
func TestFromOrderCarriesLineTerms(t *testing.T) {
	env := order.Context{Catalog: termsCatalog(t)}
	at := inParis(2026, 2, 20)
	var o order.Order
	for _, step := range []struct {
		at  time.Time
		cmd order.Command
	}{
		{at, order.Command{Kind: order.CmdCreate, Order: "ord-7", Draft: &order.Draft{
			Customer: order.Customer{ID: "acme", Country: "FR"},
			Lines:    []order.Line{{ID: "seats", Pin: catalog.Pin{Offer: "basic"}, Quantity: dec("2")}},
			Billing:  order.Billing{Anchor: inParis(2026, 3, 1), TimeZone: "Europe/Paris"},
		}}},
		{at, order.Command{Kind: order.CmdQuote, ExpiresAt: at.AddDate(0, 0, 7)}},
		{at, order.Command{Kind: order.CmdAccept}},
		{at, order.Command{Kind: order.CmdBeginActivation}},
		{inParis(2026, 3, 1), order.Command{Kind: order.CmdCompleteTask, Task: "seats"}},
		{inParis(2026, 3, 17), order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeAddLine, Line: "yearly",
			Pin: catalog.Pin{Offer: "commit"}, Quantity: dec("1"),
			Terms: order.LineTerms{OwnAnchor: true, Term: order.Term{Length: ensemble.Every(1, ensemble.Yearly)}}}}},
	} {
		next, _, err := o.Decide(context.Background(), env, step.cmd, step.at)
		require.NoError(t, err, "%s", step.cmd.Kind)
		o = next
	}
	s, err := invoice.FromOrder(o)
	require.NoError(t, err)
	require.Len(t, s.Items, 2)
	require.True(t, s.Items[0].Anchor.IsZero(), "seats follow the order's anchor")
	yearly := s.Items[1]
	require.Equal(t, invoice.ItemID("yearly"), yearly.ID)
	require.True(t, yearly.Anchor.Equal(inParis(2026, 3, 17)))
	require.Equal(t, invoice.Term{Length: ensemble.Every(1, ensemble.Yearly)}, yearly.Term)

	b := termsBuilder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	inv := build1(t, b, invoice.Run{After: inParis(2026, 3, 10), At: inParis(2026, 3, 17)}, s)
	require.Equal(t, []string{"recurring year 1200.00"}, amounts(inv))

	o, _, err = o.Decide(context.Background(), env, order.Command{Kind: order.CmdChange, Change: &order.Change{Kind: order.ChangeRemoveLine, Line: "yearly"}}, inParis(2026, 11, 20))
	require.NoError(t, err)
	s, err = invoice.FromOrder(o)
	require.NoError(t, err)
	require.True(t, s.Items[1].Anchor.Equal(inParis(2026, 3, 17)), "kept after the line is removed")
	inv = build1(t, b, invoice.Run{After: inParis(2026, 11, 10), At: inParis(2026, 11, 25)}, s)
	require.Equal(t, []string{"proration_credit year -384.66"}, amounts(inv))
}

// An item that stops on a cycle boundary of a minimum commitment credits its
// unused rest there: a line whose service starts at the boundary, which
// counts toward the cycle that starts there (the lines starting in a cycle
// count, see Commitment). A yearly EUR 1,200 commitment on its own anchor
// (December 1, Paris) ends on January 1, 00:00 Paris, inside a monthly
// subscription anchored then with a EUR 100 minimum; a monthly item bills
// the 50.00 set-up and 2 seats (20.00) from January 1. One run to February 1
// counts the −1,098.36 credit (335 of 366 days) toward January: 70.00 −
// 1,098.36 falls 1,128.36 short of 100. Split at January 1, 00:00 Paris (the
// first run bills the credit, dated then), the second run, whose cycles
// start at its After, left the ended item out and with it the credit, so it
// billed no true-up: the customer was billed 1,128.36 less. The same in UTC.
func TestCommitmentCycleAfterAnItemEndsOnItsBoundary(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	for _, zone := range []string{"Europe/Paris", "UTC"} {
		t.Run(zone, func(t *testing.T) {
			loc, err := time.LoadLocation(zone)
			require.NoError(t, err)
			jan1, feb1 := time.Date(2028, 1, 1, 0, 0, 0, 0, loc), time.Date(2028, 2, 1, 0, 0, 0, 0, loc)
			y := item("y", seg(time.Date(2027, 12, 1, 0, 0, 0, 0, loc), jan1, pin("commit", 1), "1"))
			y.Anchor = y.Segments[0].Start
			s := sub("s1", jan1, item("m", seg(jan1, time.Time{}, pin("basic", 1), "2")), y)
			s.TimeZone = zone
			s.Commitment = &invoice.Commitment{Minimum: dec("100")}
			trueUp := invoice.LineID("s1/commitment/" + jan1.UTC().Format("20060102T150405Z"))

			whole := build1(t, b, invoice.Run{At: feb1}, s)
			var found bool
			for _, l := range whole.Lines {
				if l.ID == trueUp {
					found = true
					require.True(t, l.Amount.Equal(money("1128.36")), "%s", l.Amount)
				}
			}
			require.True(t, found, "one run bills the true-up: %v", amounts(whole))

			first := build1(t, b, invoice.Run{At: jan1}, s)
			second := build1(t, b, invoice.Run{After: jan1, At: feb1}, s)
			total, err := first.Total.Add(second.Total)
			require.NoError(t, err)
			require.True(t, total.Equal(whole.Total), "split %s + %s != %s: %v", first.Total, second.Total, whole.Total, amounts(second))
			require.Equal(t, []string{"commitment_true_up  1128.36", "recurring seats 20.00"}, amounts(second))
			require.Equal(t, trueUp, second.Lines[0].ID)
		})
	}
}
