package invoice_test

import (
	"errors"
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
