package invoice_test

import (
	"encoding"
	"encoding/json"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

type enum interface {
	encoding.TextMarshaler
	String() string
}

func TestEnumsText(t *testing.T) {
	cases := []struct {
		name   string
		values []enum
		names  []string
		bad    enum
		parse  func([]byte) (enum, error)
	}{
		{"line kind", []enum{invoice.KindUnspecified, invoice.KindOneTime, invoice.KindRecurring, invoice.KindProrationCredit, invoice.KindUsage, invoice.KindUsageAdjustment, invoice.KindCommitmentTrueUp, invoice.KindCreditNote},
			[]string{"unspecified", "one_time", "recurring", "proration_credit", "usage", "usage_adjustment", "commitment_true_up", "credit_note"}, invoice.LineKind(99),
			func(b []byte) (enum, error) { var v invoice.LineKind; err := v.UnmarshalText(b); return v, err }},
		{"discount duration", []enum{invoice.Forever, invoice.Once, invoice.Repeating}, []string{"forever", "once", "repeating"}, invoice.DiscountDuration(9),
			func(b []byte) (enum, error) { var v invoice.DiscountDuration; err := v.UnmarshalText(b); return v, err }},
		{"tax treatment", []enum{invoice.TaxStandard, invoice.TaxExempt, invoice.TaxReverseCharge, invoice.TaxNone}, []string{"standard", "exempt", "reverse_charge", "none"}, invoice.TaxTreatment(9),
			func(b []byte) (enum, error) { var v invoice.TaxTreatment; err := v.UnmarshalText(b); return v, err }},
		{"tax rounding", []enum{invoice.TaxPerLine, invoice.TaxPerInvoice}, []string{"per_line", "per_invoice"}, invoice.TaxRounding(9),
			func(b []byte) (enum, error) { var v invoice.TaxRounding; err := v.UnmarshalText(b); return v, err }},
		{"reason", []enum{invoice.ReasonUnspecified, invoice.ReasonDispute, invoice.ReasonRefund, invoice.ReasonGoodwill, invoice.ReasonCorrection},
			[]string{"unspecified", "dispute", "refund", "goodwill", "correction"}, invoice.Reason(9),
			func(b []byte) (enum, error) { var v invoice.Reason; err := v.UnmarshalText(b); return v, err }},
		{"status", []enum{invoice.Draft, invoice.Issued}, []string{"draft", "issued"}, invoice.Status(9),
			func(b []byte) (enum, error) { var v invoice.Status; err := v.UnmarshalText(b); return v, err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i, v := range tc.values {
				require.Equal(t, tc.names[i], v.String())
				text, err := v.MarshalText()
				require.NoError(t, err)
				require.Equal(t, tc.names[i], string(text))
				back, err := tc.parse(text)
				require.NoError(t, err)
				require.Equal(t, v, back)
			}
			zero, err := tc.parse(nil)
			require.NoError(t, err)
			require.Equal(t, tc.values[0], zero)
			_, err = tc.bad.MarshalText()
			require.Error(t, err)
			require.Contains(t, tc.bad.String(), "(9")
			_, err = tc.parse([]byte("Nope"))
			require.ErrorContains(t, err, `"Nope"`)
		})
	}
}

func fullSubscription() invoice.Subscription {
	s := exampleSubscription()
	s.TimeZone = "Europe/Paris"
	s.Cadence = ensemble.Every(1, ensemble.Monthly)
	s.CancelAt = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	s.Customer.ReverseCharge = true
	s.Discounts = []invoice.Discount{{ID: "d", Amount: dec("5.00"), Duration: invoice.Repeating, Cycles: 3, Start: date(2026, 4, 1), Offer: "pro"}}
	s.Commitment = &invoice.Commitment{Minimum: dec("100"),
		Scope: invoice.CommitmentScope{Offers: []catalog.OfferID{"pro"}, Items: []invoice.ItemID{"plan"}, Charges: []catalog.ChargeID{"seats"}}}
	s.Credits = []invoice.PrepaidCredit{{ID: "w", Balance: dec("12.50"), ExpiresAt: date(2027, 1, 1), Priority: 2}}
	s.Items[0].TaxCode = "saas"
	s.Items[0].UsageLine = "custom"
	s.Items[0].Discounts = []invoice.Discount{{ID: "p", Percent: ensemble.MustRatio("1/3"), Duration: invoice.Once}}
	s.Items[0].Segments[0].Discount = ensemble.MustRatio("5%")
	s.Items[0].Segments[1].AddOns = []invoice.AddOn{{Pin: pin("storage", 1), Quantity: dec("2.5")}}
	return s
}

func TestJSONRoundTrips(t *testing.T) {
	basis := ensemble.ProrateThirtyDayMonth
	agg := marchUsage("s1/api", "2500.50", "a", "b")
	late := agg
	late.Late = true
	in := invoice.Input{
		Run:           invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Basis: &basis, Usage: []usage.Aggregate{agg}, Late: []invoice.LateUsage{{Billed: agg, Late: late}}},
		Subscriptions: []invoice.Subscription{fullSubscription()},
	}
	t.Run("input", func(t *testing.T) { roundTrip(t, in) })
	t.Run("options", func(t *testing.T) {
		roundTrip(t, invoice.Options{Basis: basis, Mode: ensemble.RoundHalfEven, TaxRounding: invoice.TaxPerInvoice, Taxes: taxes})
	})
	t.Run("invoice and credit note", func(t *testing.T) {
		inv := issuedInvoice(t, invoice.TaxPerInvoice)
		roundTrip(t, inv)
		cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "1", Reason: invoice.ReasonDispute, At: date(2026, 4, 2), Full: true, Memo: "sorry"})
		require.NoError(t, err)
		roundTrip(t, cn)
		roundTrip(t, invoice.CreditRequest{ID: "1", Reason: invoice.ReasonDispute, At: date(2026, 4, 2), Lines: []invoice.CreditLine{{Line: "x", Amount: dec("1.50")}}})
	})
	t.Run("decimals are strings", func(t *testing.T) {
		b, err := json.Marshal(fullSubscription())
		require.NoError(t, err)
		require.Contains(t, string(b), `"balance":"12.5"`)
		require.Contains(t, string(b), `"percent":"1/3"`)
		require.Contains(t, string(b), `"duration":"repeating"`)
	})
}

func TestDecodeInput(t *testing.T) {
	good, err := json.Marshal(invoice.Input{Run: invoice.Run{At: date(2026, 4, 1)}, Subscriptions: []invoice.Subscription{fullSubscription()}})
	require.NoError(t, err)
	in, err := invoice.DecodeInput(good)
	require.NoError(t, err)
	require.Len(t, in.Subscriptions, 1)
	cases := []struct {
		name string
		doc  string
	}{
		{"unknown field", `{"run":{"at":"2026-04-01T00:00:00Z","oops":1}}`},
		{"trailing data", `{"run":{}} {}`},
		{"not an object", `[1]`},
		{"huge exponent", `{"subscriptions":[{"items":[{"segments":[{"quantity":"1e400"}]}]}]}`},
		{"too many digits", `{"subscriptions":[{"credits":[{"balance":"12345678901234567890123456789012345678901"}]}]}`},
		{"bad enum", `{"subscriptions":[{"discounts":[{"duration":"sometimes"}]}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := invoice.DecodeInput([]byte(tc.doc))
			require.ErrorIs(t, err, invoice.ErrDecode)
		})
	}
}

func TestCheckAndIssue(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerLine)
	require.NoError(t, inv.Check())
	draft := inv
	draft.Status = invoice.Draft
	draft.Lines = append([]invoice.Line(nil), inv.Lines...)
	draft.Lines[0].Tax = money("1.00")
	require.ErrorIs(t, draft.Check(), invoice.ErrInvalid)
	_, err := invoice.Issue(draft, date(2026, 4, 1))
	require.ErrorIs(t, err, invoice.ErrInvalid)
	draft.Lines[0] = inv.Lines[0]
	_, err = invoice.Issue(draft, time.Time{})
	require.ErrorIs(t, err, invoice.ErrRequired)
	issued, err := invoice.Issue(draft, date(2026, 4, 3))
	require.NoError(t, err)
	require.Equal(t, invoice.Issued, issued.Status)
	l, ok := issued.Line(inv.Lines[1].ID)
	require.True(t, ok)
	require.Equal(t, inv.Lines[1].ID, l.ID)
	_, ok = issued.Line("nope")
	require.False(t, ok)
}

func TestNewBuilderRejectsBadOptions(t *testing.T) {
	_, err := invoice.NewBuilder(testCatalog(t), invoice.Options{
		Mode:  ensemble.RoundingMode(42),
		Basis: ensemble.ProrationBasis(9),
		Taxes: invoice.TaxTable{Rules: []invoice.TaxRule{
			{ID: "a", Region: "FR", Rate: ensemble.MustRatio("-1%")},
			{ID: "a", Region: "FR"},
			{Region: "DE"},
		}},
	})
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{"mode", "basis", "taxes.rules[0].rate", "taxes.rules[1].id", "taxes.rules[1]", "taxes.rules[2].id"}, paths)
	_, err = invoice.NewBuilder(nil, invoice.Options{})
	require.ErrorIs(t, err, invoice.ErrRequired)
}
