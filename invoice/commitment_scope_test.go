package invoice_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// scopeCatalog is a UK IT-services firm's (a new user's trial): a
// managed-desktop plan at GBP 40.00 a seat, engineering hours at 95.00
// billed in arrears, and a support add-on with a charge of the same ID as
// another offer's.
const scopeCatalog = `
offers:
  - {id: desktop, version: 1, name: Managed desktop, currency: GBP, effective_from: 2020-01-01T00:00:00Z,
     charges: [{id: seats, name: Desktop seats, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "40.00"}}]}
  - {id: engineering, version: 1, name: Engineering, currency: GBP, effective_from: 2020-01-01T00:00:00Z, attributes: {tax_code: services},
     charges: [{id: hours, name: Engineering hours, type: usage, meter: hours, price: {model: per_unit, amount: "95.00"}}]}
  - {id: projects, version: 1, name: Projects, currency: GBP, effective_from: 2020-01-01T00:00:00Z,
     charges: [{id: hours, name: Project hours, type: usage, meter: hours, price: {model: per_unit, amount: "120.00"}},
               {id: retainer, name: Retainer, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: flat, amount: "100.00"}}]}
`

var gbp = ensemble.MustCurrency("GBP")

func scopeBuilder(t testing.TB) *invoice.Builder {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(scopeCatalog))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	require.NoError(t, err)
	return b
}

// trialSub is the trial's contract: 25 managed desktops and engineering
// hours from March 1, 2026, a monthly minimum spend of GBP 500.00 on
// engineering (nil scope: the whole subscription).
func trialSub(scope *invoice.CommitmentScope) invoice.Subscription {
	s := invoice.Subscription{ID: "acme", Customer: invoice.Customer{ID: "acme-ltd"}, Currency: gbp, Anchor: date(2026, 3, 1),
		Items: []invoice.Item{
			item("desktop", seg(date(2026, 3, 1), time.Time{}, pin("desktop", 1), "25")),
			item("engineering", seg(date(2026, 3, 1), time.Time{}, pin("engineering", 1), "1")),
		}}
	s.Commitment = &invoice.Commitment{Minimum: dec("500.00")}
	if scope != nil {
		s.Commitment.Scope = *scope
	}
	return s
}

// hoursIn is the engineering hours of the month starting at from.
func hoursIn(from time.Time, hours string) usage.Aggregate {
	return usage.Aggregate{Line: "acme/engineering", Meter: "hours", Aggregation: usage.Sum,
		Period: ensemble.Period{Start: from, End: from.AddDate(0, 1, 0)}, Value: dec(hours), Records: 1,
		Digest: usage.DigestOf(usage.RecordID(from.String()))}
}

func gbpAmounts(inv invoice.Invoice) []string {
	var out []string
	for _, l := range inv.Lines {
		out = append(out, l.Kind.String()+" "+string(l.Pin.Offer)+" "+string(l.Charge)+" "+l.Amount.AmountString())
	}
	return out
}

// trueUp returns the invoice's true-up line, or nil.
func trueUp(inv invoice.Invoice) *invoice.Line {
	for i := range inv.Lines {
		if inv.Lines[i].Kind == invoice.KindCommitmentTrueUp {
			return &inv.Lines[i]
		}
	}
	return nil
}

// TestScopedCommitmentEngineeringMinimum is the trial's case: a monthly
// minimum spend of GBP 500.00 on engineering, on the invoice of a
// managed-desktop plan (25 × 40.00). March's 5 hours (475.00) are topped up
// by 25.00, May's 3 (285.00) by 215.00, April's 6 (570.00) meet it. An
// unscoped minimum counts the desktops' 1,000.00 and never bills a
// true-up: the trial's workaround was a second subscription, and a second
// invoice a month.
func TestScopedCommitmentEngineeringMinimum(t *testing.T) {
	b := scopeBuilder(t)
	s := trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
	hours := map[time.Month]string{time.March: "5", time.April: "6", time.May: "3"}
	want := map[time.Month]string{time.March: "25.00", time.May: "215.00"}
	after := date(2026, 3, 1)
	first := build1(t, b, invoice.Run{At: after}, s)
	require.Equal(t, []string{"recurring desktop seats 1000.00"}, gbpAmounts(first))
	for _, m := range []time.Month{time.March, time.April, time.May} {
		from, at := date(2026, m, 1), date(2026, m+1, 1)
		inv := build1(t, b, invoice.Run{After: after, At: at, Usage: []usage.Aggregate{hoursIn(from, hours[m])}}, s)
		after = at
		l := trueUp(inv)
		if want[m] == "" {
			require.Nil(t, l, "%s: %d hours meet the minimum", m, 6)
			continue
		}
		require.NotNil(t, l, m.String())
		require.Equal(t, want[m], l.Amount.AmountString(), m.String())
		require.True(t, l.Date.Equal(at))
		require.Equal(t, invoice.LineID("acme/commitment/"+from.Format("20060102T150405Z")), l.ID)
		// It says what it tops up, and carries what settlement pays it by:
		// the engineering offer and its charge.
		require.Equal(t, catalog.Pin{Offer: "engineering", Version: 1}, l.Pin)
		require.Equal(t, catalog.ChargeID("hours"), l.Charge)
		require.Equal(t, &invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}}, l.CommitmentScope)
		require.Equal(t, "Minimum commitment true-up (offers engineering)", l.Description)
		require.Contains(t, l.Refs, ensemble.Ref{Kind: invoice.RefCommitment, ID: "acme"})
		why := invoice.Explain(*l)
		require.Contains(t, why, "GBP 500.00 owed for ["+from.Format("2006-01-02"))
		require.Contains(t, why, "the lines of offers engineering starting in it net GBP "+map[time.Month]string{time.March: "475.00", time.May: "285.00"}[m])
		require.Contains(t, why, "attributed to offer engineering@1, charge hours")
		// The one invoice bills the desktops and the engineering.
		require.Contains(t, gbpAmounts(inv), "recurring desktop seats 1000.00")
		roundTrip(t, *l)
		c := l.Clone()
		c.CommitmentScope.Offers[0] = "x"
		require.Equal(t, catalog.OfferID("engineering"), l.CommitmentScope.Offers[0], "Clone shares nothing")
	}
	// The same scope named by item, or by charge, tops up the same.
	for _, sc := range []invoice.CommitmentScope{
		{Items: []invoice.ItemID{"engineering"}},
		{Charges: []catalog.ChargeID{"hours"}},
		{Offers: []catalog.OfferID{"engineering"}, Items: []invoice.ItemID{"engineering"}, Charges: []catalog.ChargeID{"hours"}},
	} {
		inv := build1(t, b, invoice.Run{After: date(2026, 5, 1), At: date(2026, 6, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 5, 1), "3")}}, trialSub(&sc))
		l := trueUp(inv)
		require.NotNil(t, l, sc.String())
		require.Equal(t, "215.00", l.Amount.AmountString(), sc.String())
		require.Equal(t, "engineering hours", string(l.Pin.Offer)+" "+string(l.Charge), sc.String())
	}
	// Unscoped (today's behaviour, unchanged): the desktops meet it.
	inv := build1(t, b, invoice.Run{After: date(2026, 5, 1), At: date(2026, 6, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 5, 1), "3")}}, trialSub(nil))
	require.Nil(t, trueUp(inv))
	s = trialSub(nil)
	s.Commitment.Minimum = dec("1500")
	inv = build1(t, b, invoice.Run{After: date(2026, 5, 1), At: date(2026, 6, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 5, 1), "3")}}, s)
	l := trueUp(inv)
	require.Equal(t, "215.00", l.Amount.AmountString(), "1,500.00 less 1,000.00 and 285.00")
	require.Nil(t, l.CommitmentScope)
	require.Empty(t, l.Charge, "an unscoped true-up bills no charge")
	require.Equal(t, "desktop", string(l.Pin.Offer), "the first item by ID")
	require.Equal(t, "Minimum commitment true-up", l.Description)
}

// A scope over an offer with several charges attributes the true-up to the
// offer alone, unless Charges picks one; a scope naming one charge of two
// offers counts both offers' lines and attributes the true-up to the first
// item holding it, with the charge.
func TestScopedCommitmentAttribution(t *testing.T) {
	b := scopeBuilder(t)
	s := trialSub(nil)
	s.Items = append(s.Items, item("projects", seg(date(2026, 3, 1), time.Time{}, pin("projects", 1), "1")))
	run := invoice.Run{After: date(2026, 5, 1), At: date(2026, 6, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 5, 1), "3"),
		{Line: "acme/projects", Meter: "hours", Aggregation: usage.Sum, Period: ensemble.Period{Start: date(2026, 5, 1), End: date(2026, 6, 1)},
			Value: dec("1"), Records: 1, Digest: usage.DigestOf("p")}}}
	for _, c := range []struct {
		scope       invoice.CommitmentScope
		amount, pin string
	}{
		// 500 - 100 retainer (billed May 1) - 120 hours.
		{invoice.CommitmentScope{Offers: []catalog.OfferID{"projects"}}, "280.00", "projects "},
		// 500 - 120.
		{invoice.CommitmentScope{Offers: []catalog.OfferID{"projects"}, Charges: []catalog.ChargeID{"hours"}}, "380.00", "projects hours"},
		// 500 - 285 - 120: engineering is the first item by ID holding hours.
		{invoice.CommitmentScope{Charges: []catalog.ChargeID{"hours"}}, "95.00", "engineering hours"},
	} {
		s.Commitment.Scope = c.scope
		l := trueUp(build1(t, b, run, s))
		require.NotNil(t, l, c.scope.String())
		require.Equal(t, c.amount, l.Amount.AmountString(), c.scope.String())
		require.Equal(t, c.pin, string(l.Pin.Offer)+" "+string(l.Charge), c.scope.String())
	}
}

// A scope naming nothing the subscription holds is refused, naming the
// field, rather than bill a minimum no line can meet (or meet one no line
// counts toward).
func TestScopedCommitmentNamingNothing(t *testing.T) {
	b := scopeBuilder(t)
	for _, c := range []struct {
		scope invoice.CommitmentScope
		path  string
		cond  error
	}{
		{invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering", "enginering"}}, "subscriptions[0].commitment.scope.offers[1]", invoice.ErrScopeUnmatched},
		{invoice.CommitmentScope{Items: []invoice.ItemID{"eng"}}, "subscriptions[0].commitment.scope.items[0]", invoice.ErrScopeUnmatched},
		{invoice.CommitmentScope{Charges: []catalog.ChargeID{"retainer"}}, "subscriptions[0].commitment.scope.charges[0]", invoice.ErrScopeUnmatched},
		// The desktop item holds no engineering offer, the engineering
		// offer no seats.
		{invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}, Items: []invoice.ItemID{"desktop"}}, "subscriptions[0].commitment.scope.offers[0]", invoice.ErrScopeUnmatched},
		{invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}, Charges: []catalog.ChargeID{"seats"}}, "subscriptions[0].commitment.scope.charges[0]", invoice.ErrScopeUnmatched},
		{invoice.CommitmentScope{Offers: []catalog.OfferID{""}}, "subscriptions[0].commitment.scope.offers[0]", invoice.ErrRequired},
		{invoice.CommitmentScope{Items: []invoice.ItemID{"engineering", "engineering"}}, "subscriptions[0].commitment.scope.items[1]", invoice.ErrDuplicate},
	} {
		s := trialSub(&c.scope)
		for _, err := range []error{b.Validate(invoice.Run{At: date(2026, 4, 1)}, []invoice.Subscription{s}),
			func() error {
				_, err := b.Build(invoice.Run{At: date(2026, 4, 1)}, []invoice.Subscription{s})
				return err
			}()} {
			require.ErrorIs(t, err, c.cond, c.scope.String())
			var fe *ensemble.FieldError
			require.True(t, errors.As(err, &fe))
			require.Equal(t, c.path, fe.Path)
			if c.cond == invoice.ErrScopeUnmatched {
				require.ErrorIs(t, err, invoice.ErrUnknown)
				var se *invoice.ScopeError
				require.True(t, errors.As(err, &se))
				require.Equal(t, invoice.SubscriptionID("acme"), se.Subscription)
				require.Contains(t, err.Error(), "commitment.scope."+se.Field)
			}
		}
	}
	// A scope read from JSON is checked the same way when the run is
	// built (decoding does not validate).
	in, err := invoice.DecodeInput([]byte(`{"run": {"at": "2026-04-01T00:00:00Z"}, "subscriptions": [{"id": "acme", "customer": {"id": "c"}, "currency": "GBP",
		"anchor": "2026-03-01T00:00:00Z", "commitment": {"minimum": "500.00", "scope": {"offers": ["enginering"]}},
		"items": [{"id": "engineering", "segments": [{"start": "2026-03-01T00:00:00Z", "pin": {"offer": "engineering", "version": 1}, "quantity": "1"}]}]}]}`))
	require.NoError(t, err)
	_, err = b.Build(in.Run, in.Subscriptions)
	var se *invoice.ScopeError
	require.True(t, errors.As(err, &se))
	require.Equal(t, "offers[0]", se.Field)
	require.Equal(t, "enginering", se.Value)
	require.Contains(t, se.Error(), "its items hold offers engineering")
}

// With a prepaid commitment on the engineering hours, the scoped minimum
// counts the hours consumed in full, covered or not, and not the purchase:
// March's 5 hours, all covered by a GBP 1,000 prepayment bought that
// month, are topped up by 25.00, billed and never drawn from the
// prepayment.
func TestScopedCommitmentWithPrepaidHours(t *testing.T) {
	b := scopeBuilder(t)
	s := trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "eng-2026", Amount: dec("1000"), Start: date(2026, 3, 1), End: date(2027, 3, 1), Charges: []catalog.ChargeID{"hours"}}}
	inv := build1(t, b, invoice.Run{At: date(2026, 4, 1), Usage: []usage.Aggregate{hoursIn(date(2026, 3, 1), "5")}}, s)
	l := trueUp(inv)
	require.NotNil(t, l)
	require.Equal(t, "25.00", l.Amount.AmountString())
	require.Equal(t, "25.00", l.Net.AmountString(), "billed, not drawn")
	require.Nil(t, l.Prepaid)
	for _, x := range inv.Lines {
		if x.Kind == invoice.KindUsage {
			require.Equal(t, "475.00", x.Prepaid.Covered.AmountString())
			require.True(t, x.Net.IsZero())
		}
	}
}

// A scoped commitment runs, as an unscoped one does, over the
// subscription's service, not the scope's: engineering stopped on April
// 15 while the desktops go on still owes April's whole minimum (2 hours,
// 190.00, topped up by 310.00), and the subscription cancelled on April
// 16 owes 15/30 of it (250.00 less 190.00), at the cancellation.
func TestScopedCommitmentWhenTheScopeStops(t *testing.T) {
	b := scopeBuilder(t)
	s := trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
	s.Items[1].Segments[0].End = date(2026, 4, 15)
	april := hoursIn(date(2026, 4, 1), "2")
	inv := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{april}}, s)
	require.Equal(t, "310.00", trueUp(inv).Amount.AmountString())
	require.Equal(t, "engineering hours", string(trueUp(inv).Pin.Offer)+" "+string(trueUp(inv).Charge), "attributed to the scope, stopped in the cycle")

	s = trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
	s.CancelAt = date(2026, 4, 16)
	inv = build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{april}}, s)
	l := trueUp(inv)
	require.Equal(t, "60.00", l.Amount.AmountString())
	require.True(t, l.Date.Equal(date(2026, 4, 16)))
}

// Runs split anywhere bill the trial's true-ups as one run does (25.00 for
// March, 215.00 for May), given each run the usage due in it; a change to
// the desktops back-dated into a billed month, caught up from Run.Billed,
// leaves the engineering true-up as it was.
func TestScopedCommitmentSplitAndBackdated(t *testing.T) {
	b := scopeBuilder(t)
	s := trialSub(&invoice.CommitmentScope{Offers: []catalog.OfferID{"engineering"}})
	usageOf := map[time.Month]usage.Aggregate{time.March: hoursIn(date(2026, 3, 1), "5"), time.April: hoursIn(date(2026, 4, 1), "6"), time.May: hoursIn(date(2026, 5, 1), "3")}
	trueUps := func(invs []invoice.Invoice) map[invoice.LineID]string {
		out := map[invoice.LineID]string{}
		for _, inv := range invs {
			for _, l := range inv.Lines {
				if l.Kind == invoice.KindCommitmentTrueUp {
					out[l.ID] = l.Date.Format("2006-01-02") + " " + l.Amount.AmountString() + " " + string(l.Pin.Offer)
				}
			}
		}
		return out
	}
	want := map[invoice.LineID]string{"acme/commitment/20260301T000000Z": "2026-04-01 25.00 engineering", "acme/commitment/20260501T000000Z": "2026-06-01 215.00 engineering"}
	whole, err := b.Build(invoice.Run{At: date(2026, 6, 1), Usage: []usage.Aggregate{usageOf[time.March], usageOf[time.April], usageOf[time.May]}}, []invoice.Subscription{s})
	require.NoError(t, err)
	require.Equal(t, want, trueUps(whole))
	var split []invoice.Invoice
	var after time.Time
	for _, at := range []time.Time{date(2026, 3, 10), date(2026, 3, 31), date(2026, 4, 1), date(2026, 5, 20), date(2026, 6, 1)} {
		var agg []usage.Aggregate
		for _, u := range usageOf {
			if u.Period.End.After(after) && !u.Period.End.After(at) {
				agg = append(agg, u)
			}
		}
		invs, err := b.Build(invoice.Run{After: after, At: at, Usage: agg}, []invoice.Subscription{s})
		require.NoError(t, err)
		split = append(split, invs...)
		after = at
	}
	require.Equal(t, want, trueUps(split))

	// Runs to May 1, then 30 desktops from April 10, recorded on May 5.
	var billed []invoice.Line
	after = time.Time{}
	for _, at := range []time.Time{date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)} {
		var agg []usage.Aggregate
		if m := at.Month() - 1; at.Month() > 3 {
			agg = []usage.Aggregate{usageOf[m]}
		}
		inv := build1(t, b, invoice.Run{After: after, At: at, Usage: agg}, s)
		billed = append(billed, inv.Lines...)
		after = at
	}
	changed := s
	changed.Items = slices.Clone(s.Items)
	desk := changed.Items[0]
	desk.Segments = []invoice.Segment{seg(date(2026, 3, 1), date(2026, 4, 10), pin("desktop", 1), "25"), seg(date(2026, 4, 10), time.Time{}, pin("desktop", 1), "30")}
	desk.Segments[0].EndRecorded, desk.Segments[1].Recorded = date(2026, 5, 5), date(2026, 5, 5)
	changed.Items[0] = desk
	inv := build1(t, b, invoice.Run{After: date(2026, 5, 1), At: date(2026, 6, 1), Usage: []usage.Aggregate{usageOf[time.May]}, Billed: billed}, changed)
	require.Equal(t, map[invoice.LineID]string{"acme/commitment/20260501T000000Z": "2026-06-01 215.00 engineering"}, trueUps([]invoice.Invoice{inv}))
	require.Contains(t, gbpAmounts(inv), "reversal desktop seats -1000.00", "the run caught up the desktops")
}
