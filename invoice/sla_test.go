package invoice_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// SLA service credits: a share of what the affected line billed, naming the
// incident. Pro ×3 billed 90.00 + 19% tax = 107.10; storage 42.00 + 7.98 =
// 49.98.
//   - 10% of Pro: round(107.10 × 10%) = 10.71, net round(90 × 10.71/107.10)
//     = 9.00, tax 1.71;
//   - 25% of storage: round(49.98 × 25%) = round(12.495) = 12.50 (half away
//     from zero), net round(42 × 12.50/49.98) = round(10.504) = 10.50, tax
//     2.00;
//   - then 90% of Pro is 96.39, exactly what remains: it credits the
//     remaining 81.00 and 15.39, and the two Pro credits add up to the line.
func TestSLACredit(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerLine)
	pro, storage := inv.Lines[1].ID, inv.Lines[2].ID
	at := date(2026, 4, 12)
	cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "sla-1", Reason: invoice.ReasonSLA, Incident: "INC-42", At: at,
		Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("10%")}, {Line: storage, Percent: ensemble.MustRatio("25%")}}})
	require.NoError(t, err)
	require.Equal(t, invoice.ReasonSLA, cn.Reason)
	require.Equal(t, "INC-42", cn.Incident)
	got := map[invoice.LineID][3]string{}
	for _, l := range cn.Lines {
		got[l.Credits] = [3]string{l.Net.AmountString(), l.Tax.AmountString(), l.Total.AmountString()}
		require.Contains(t, l.Refs, ensemble.Ref{Kind: invoice.RefIncident, ID: "INC-42"})
	}
	require.Equal(t, map[invoice.LineID][3]string{
		pro:     {"-9.00", "-1.71", "-10.71"},
		storage: {"-10.50", "-2.00", "-12.50"},
	}, got)
	roundTrip(t, cn)
	b, err := json.Marshal(cn)
	require.NoError(t, err)
	require.Contains(t, string(b), `"reason":"sla","date":"2026-04-12T00:00:00Z","incident":"INC-42"`)

	notes := []invoice.CreditNote{cn}
	_, err = invoice.NewCreditNote(inv, notes, invoice.CreditRequest{ID: "sla-2", Reason: invoice.ReasonSLA, Incident: "INC-43", At: at,
		Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("100%")}}})
	require.ErrorIs(t, err, invoice.ErrOverCredit, "100% of the line billed is more than the 96.39 left")
	rest, err := invoice.NewCreditNote(inv, notes, invoice.CreditRequest{ID: "sla-2", Reason: invoice.ReasonSLA, Incident: "INC-43", At: at,
		Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("90%")}}})
	require.NoError(t, err)
	require.Equal(t, "-81.00", rest.Subtotal.AmountString())
	require.Equal(t, "-15.39", rest.Tax.AmountString())
	rem, err := invoice.Remaining(inv, append(notes, rest))
	require.NoError(t, err)
	for _, r := range rem {
		if r.Line == pro {
			require.True(t, r.Total.IsZero(), r.Total.String())
			require.True(t, r.Tax.IsZero(), r.Tax.String())
		}
	}
}

// An SLA credit must name its incident; a percent is one way to size a
// credit, never with another, and within (0, 100%].
func TestSLACreditRefused(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerLine)
	pro := inv.Lines[1].ID
	at := date(2026, 4, 12)
	cases := []struct {
		name string
		req  invoice.CreditRequest
		path string
		want error
	}{
		{"no incident", invoice.CreditRequest{ID: "x", Reason: invoice.ReasonSLA, At: at, Full: true}, "incident", invoice.ErrRequired},
		{"an incident with white space", invoice.CreditRequest{ID: "x", Reason: invoice.ReasonSLA, Incident: "INC 1", At: at, Full: true}, "incident", invoice.ErrInvalidID},
		{"percent and amount", invoice.CreditRequest{ID: "x", Reason: invoice.ReasonSLA, Incident: "i", At: at,
			Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("10%"), Amount: dec("1")}}}, "lines[0]", invoice.ErrInvalid},
		{"over 100%", invoice.CreditRequest{ID: "x", Reason: invoice.ReasonSLA, Incident: "i", At: at,
			Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("3/2")}}}, "lines[0]", invoice.ErrInvalid},
		{"negative", invoice.CreditRequest{ID: "x", Reason: invoice.ReasonSLA, Incident: "i", At: at,
			Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("-10%")}}}, "lines[0]", invoice.ErrInvalid},
		{"rounds to nothing", invoice.CreditRequest{ID: "x", Reason: invoice.ReasonSLA, Incident: "i", At: at,
			Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("1/100000")}}}, "lines[0]", invoice.ErrNotCreditable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cn, err := invoice.NewCreditNote(inv, nil, tc.req)
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, cn.Lines)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.path, ve.Problems[0].Path)
		})
	}
}

// SLA credits by percent round cumulatively: with P the percents credited
// before, a credit of p is round(T × (P + p)) - round(T × P) of the line's
// billed total T; percents beyond 100% in all are refused; and percents
// adding up to 100% leave exactly nothing of the line, tax included.
func TestPropertySLAPercents(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerInvoice)
	rapid.Check(t, func(t *rapid.T) {
		l := rapid.SampledFrom(inv.Lines).Draw(t, "line")
		var notes []invoice.CreditNote
		used := 0
		credit := func(i, pct int) {
			cn, err := invoice.NewCreditNote(inv, notes, invoice.CreditRequest{ID: fmt.Sprint(i), Reason: invoice.ReasonSLA, Incident: "inc", At: inv.Date,
				Lines: []invoice.CreditLine{{Line: l.ID, Percent: ensemble.MustRatio(fmt.Sprintf("%d/100", pct))}}})
			if l.Total.MulRatio(ensemble.MustRatio(fmt.Sprintf("%d/100", used)), inv.Mode).Equal(l.Total) {
				require.ErrorIs(t, err, invoice.ErrNotCreditable, "nothing remains")
				return
			}
			if used+pct > 100 {
				require.ErrorIs(t, err, invoice.ErrOverCredit)
				return
			}
			want, _ := l.Total.MulRatio(ensemble.MustRatio(fmt.Sprintf("%d/100", used+pct)), inv.Mode).Sub(l.Total.MulRatio(ensemble.MustRatio(fmt.Sprintf("%d/100", used)), inv.Mode))
			if !want.IsPositive() {
				require.ErrorIs(t, err, invoice.ErrNotCreditable)
				return
			}
			require.NoError(t, err)
			require.True(t, cn.Total.Neg().Equal(want), "%s vs %s", cn.Total, want)
			require.Equal(t, []invoice.CreditPercent{{Line: l.ID, Percent: ensemble.MustRatio(fmt.Sprintf("%d/100", pct))}}, cn.Percents)
			notes = append(notes, cn)
			used += pct
		}
		for i := range rapid.IntRange(1, 6).Draw(t, "credits") {
			credit(i, rapid.IntRange(1, 60).Draw(t, "percent"))
		}
		if used < 100 {
			credit(99, 100-used)
		}
		rem, err := invoice.Remaining(inv, notes)
		require.NoError(t, err)
		for _, r := range rem {
			if r.Line == l.ID {
				require.True(t, r.Total.IsZero() && r.Tax.IsZero() && r.Net.IsZero(), "%+v", r)
			}
		}
	})
}
