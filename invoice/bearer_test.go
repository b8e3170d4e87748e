package invoice_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// A credit note says who bears its credits in settlement: the request's
// Bearer on every line, unless a line names its own; the zero Bearer (in
// proportion) is not written.
func TestCreditNoteBearer(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerLine)
	pro, storage := inv.Lines[1].ID, inv.Lines[2].ID
	// As if Pro were a bundle whose gpu component gpuco supplies.
	inv.Lines[1].SupplierCosts = []catalog.SupplierCost{{Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "suite/gpu/gpuco"},
		Offer: "gpu", Supplier: "gpuco", Cost: ensemble.MustMoney("10.00", "EUR")}}
	gpu := invoice.Bearer{Component: "suite/gpu/gpuco"}
	cn, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "sla-1", Reason: invoice.ReasonSLA, Incident: "INC-42", At: date(2026, 4, 12),
		Bearer: gpu, Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("10%")},
			{Line: storage, Percent: ensemble.MustRatio("25%"), Bearer: invoice.Bearer{Party: "storeco", Shortfall: "bearer_owes"}}}})
	require.NoError(t, err)
	got := map[invoice.LineID]invoice.Bearer{}
	for _, l := range cn.Lines {
		got[l.Credits] = l.Bearer
	}
	require.Equal(t, map[invoice.LineID]invoice.Bearer{pro: gpu, storage: {Party: "storeco", Shortfall: "bearer_owes"}}, got)
	roundTrip(t, cn)
	b, err := json.Marshal(cn.Lines[0])
	require.NoError(t, err)
	require.Contains(t, string(b), `"bearer":{`)

	plain, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "r", Reason: invoice.ReasonRefund, At: date(2026, 4, 12), Full: true})
	require.NoError(t, err)
	for _, l := range plain.Lines {
		require.Equal(t, invoice.Bearer{}, l.Bearer)
		b, err := json.Marshal(l)
		require.NoError(t, err)
		require.NotContains(t, string(b), "bearer")
	}
}

// A bearer names one party, node, role or component, and a shortfall
// option only with one; every bad bearer is reported at its path.
func TestCreditNoteBearerRefused(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerLine)
	pro := inv.Lines[1].ID
	req := invoice.CreditRequest{ID: "x", Reason: invoice.ReasonRefund, At: date(2026, 4, 12),
		Bearer: invoice.Bearer{Party: "a", Role: "seller"},
		Lines: []invoice.CreditLine{{Line: pro, Bearer: invoice.Bearer{Shortfall: "proportional"}},
			{Line: inv.Lines[2].ID, Bearer: invoice.Bearer{Party: "a", Shortfall: "sometimes"}}}}
	cn, err := invoice.NewCreditNote(inv, nil, req)
	require.ErrorIs(t, err, invoice.ErrInvalid)
	require.Empty(t, cn.Lines)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.Equal(t, []string{"bearer", "lines[0].bearer.shortfall", "lines[1].bearer.shortfall"}, paths)

	// A component bearer must supply the credited line: a component
	// named by its short id, or one the line does not have, is refused
	// when the note is raised, naming the line's components, not when
	// settlement cannot find it after the customer has the note.
	for _, c := range []string{"gpu", "suite/gpu/otherco"} {
		_, err = invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "y", Reason: invoice.ReasonRefund, At: date(2026, 4, 12),
			Bearer: invoice.Bearer{Component: c}, Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("10%")}}})
		require.ErrorIs(t, err, invoice.ErrInvalid)
		require.ErrorIs(t, err, invoice.ErrBearerNotOnLine)
		require.ErrorAs(t, err, &ve)
		require.Len(t, ve.Problems, 1)
		require.Equal(t, "lines[0].bearer.component", ve.Problems[0].Path)
		require.ErrorContains(t, err, `has no supplier cost of component "`+c+`" to bear the credit (its components: none)`)
	}
}
