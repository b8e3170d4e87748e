package invoice_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// problemPaths lists the paths of the problems in err, a
// *ensemble.ValidationError.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	return paths
}

// A stored credit note whose lines are positive (sign-flipped, tampered),
// or a "proration credit" with a positive total, would add back what it
// claims to credit: a full note after it credited twice the invoice. Both
// are refused, naming the line and the note, by NewCreditNote and
// Remaining alike.
func TestCreditNoteRefusesPriorCreditsOfTheWrongSign(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerLine)
	at := date(2026, 4, 10)
	first, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "1", Reason: invoice.ReasonRefund, At: at,
		Lines: []invoice.CreditLine{{Line: inv.Lines[1].ID, Quantity: dec("1")}}})
	require.NoError(t, err)
	flipped := first
	flipped.Lines = []invoice.Line{first.Lines[0]}
	fl := &flipped.Lines[0]
	fl.Net, fl.Tax, fl.Total, fl.Amount, fl.Quantity = fl.Net.Neg(), fl.Tax.Neg(), fl.Total.Neg(), fl.Amount.Neg(), fl.Quantity.Neg()

	src := inv.Lines[1]
	positive := invoice.Line{ID: "later/proration", Kind: invoice.KindProrationCredit, Credits: src.ID, Currency: src.Currency,
		Amount: src.Amount, Net: src.Net, Tax: src.Tax, Total: src.Total}

	cases := []struct {
		name     string
		prior    []invoice.CreditNote
		prorated []invoice.Line
		path     string
		line     invoice.LineID
		says     string
	}{
		{"a sign-flipped credit note", []invoice.CreditNote{flipped}, nil, "prior[0].lines[0]", fl.ID,
			`credit note "` + string(first.ID) + `" credits line "` + string(src.ID) + `" with a positive net EUR 30.00`},
		{"a positive proration credit", nil, []invoice.Line{positive}, "prorated[0]", positive.ID,
			`proration credit of line "` + string(src.ID) + `" has a positive net EUR 90.00`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cn, err := invoice.NewCreditNote(inv, c.prior, invoice.CreditRequest{ID: "2", Reason: invoice.ReasonRefund, At: at, Full: true, Prorated: c.prorated})
			require.ErrorIs(t, err, invoice.ErrInvalid)
			require.Empty(t, cn.Lines)
			require.Equal(t, []string{c.path}, problemPaths(t, err))
			var le *invoice.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, c.line, le.Line)
			require.ErrorContains(t, err, c.says)

			rem, err := invoice.Remaining(inv, c.prior, c.prorated...)
			require.ErrorIs(t, err, invoice.ErrInvalid)
			require.Nil(t, rem)
			require.Equal(t, []string{c.path}, problemPaths(t, err))
		})
	}
}

// The same proration credit given twice in CreditRequest.Prorated (from
// two overlapping queries of later lines), or the same prior note twice,
// was subtracted twice: a full note credited too little without a word.
// Each is refused as a duplicate, naming it.
func TestCreditNoteRefusesAPriorNoteOrLaterLineGivenTwice(t *testing.T) {
	s := sub("s1", date(2026, 3, 1), item("i1",
		seg(date(2026, 3, 1), date(2026, 3, 25), pin("basic", 1), "3"),
		seg(date(2026, 3, 25), time.Time{}, pin("pro", 1), "3")))
	b := builder(t, invoice.Options{Basis: 1})
	march, err := invoice.Issue(build1(t, b, invoice.Run{At: date(2026, 3, 1)}, s), date(2026, 3, 1))
	require.NoError(t, err)
	// The upgrade on March 25 credits 7/31 of Basic: twice is less than
	// the line, so nothing else would tell.
	later := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 3, 25)}, s)
	var pc invoice.Line
	for _, l := range later.Lines {
		if l.Kind == invoice.KindProrationCredit {
			pc = l
		}
	}
	require.NotEmpty(t, pc.ID, "the upgrade credits the unused Basic seats")
	at := date(2026, 3, 25)
	quarter, err := invoice.NewCreditNote(march, nil, invoice.CreditRequest{ID: "q", Reason: invoice.ReasonGoodwill, At: at,
		Lines: []invoice.CreditLine{{Line: pc.Credits, Percent: ensemble.MustRatio("25%")}}})
	require.NoError(t, err)

	cases := []struct {
		name     string
		prior    []invoice.CreditNote
		prorated []invoice.Line
		path     string
		says     string
	}{
		{"a later line", nil, append(slices.Clone(later.Lines), pc), ensemble.Path("prorated", len(later.Lines), "id"),
			`line "` + string(pc.ID) + `" is prorated[`},
		{"a prior note", []invoice.CreditNote{quarter, quarter}, nil, "prior[1].id",
			`credit note "` + string(quarter.ID) + `" is prior[0] too`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cn, err := invoice.NewCreditNote(march, c.prior, invoice.CreditRequest{ID: "all", Reason: invoice.ReasonRefund, At: at, Full: true, Prorated: c.prorated})
			require.ErrorIs(t, err, invoice.ErrDuplicate)
			require.Empty(t, cn.Lines)
			require.Equal(t, []string{c.path}, problemPaths(t, err))
			require.ErrorContains(t, err, c.says)

			rem, err := invoice.Remaining(march, c.prior, c.prorated...)
			require.ErrorIs(t, err, invoice.ErrDuplicate)
			require.Nil(t, rem)
		})
	}
}

// A credit note borne by a misspelt supplier ("gpucoo" for the credited
// line's supplier "gpuco") was accepted and reached the customer, and only
// settlement refused it. The invoice knows the line's suppliers: a party
// within a typo of one but none of them is refused with a did-you-mean, as
// a misspelt component is; a party far from every supplier may be one of
// the route's and is left to settlement.
func TestCreditNoteRefusesABearerMisspeltFromTheLinesSupplier(t *testing.T) {
	inv := issuedInvoice(t, invoice.TaxPerLine)
	pro := inv.Lines[1].ID
	inv.Lines[1].SupplierCosts = []catalog.SupplierCost{{Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "suite/gpu/gpuco"},
		Offer: "gpu", Supplier: "gpuco", Cost: ensemble.MustMoney("10.00", "EUR")}}
	credit := func(b invoice.Bearer) (invoice.CreditNote, error) {
		return invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "sla", Reason: invoice.ReasonSLA, Incident: "INC-1", At: date(2026, 4, 12),
			Bearer: b, Lines: []invoice.CreditLine{{Line: pro, Percent: ensemble.MustRatio("10%")}}})
	}
	refused := []struct {
		name   string
		bearer invoice.Bearer
		path   string
		says   string
	}{
		{"a misspelt supplier", invoice.Bearer{Party: "gpucoo"}, "lines[0].bearer.party",
			`party "gpucoo" is not a supplier of line "` + string(pro) + `" (its suppliers: "gpuco"); did you mean "gpuco"?`},
		{"a misspelt component", invoice.Bearer{Component: "suite/gpu/gpucoo"}, "lines[0].bearer.component",
			`has no supplier cost of component "suite/gpu/gpucoo" to bear the credit (its components: "suite/gpu/gpuco"); did you mean "suite/gpu/gpuco"?`},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			cn, err := credit(c.bearer)
			require.ErrorIs(t, err, invoice.ErrBearerNotOnLine)
			require.ErrorIs(t, err, invoice.ErrInvalid)
			require.Empty(t, cn.Lines)
			require.Equal(t, []string{c.path}, problemPaths(t, err))
			var be *invoice.BearerError
			require.ErrorAs(t, err, &be)
			require.Equal(t, pro, be.Line)
			require.Equal(t, c.bearer, be.Bearer)
			require.ErrorContains(t, err, c.says)
		})
	}
	for _, party := range []string{"gpuco", "reseller-de"} {
		t.Run("accepts "+party, func(t *testing.T) {
			cn, err := credit(invoice.Bearer{Party: party})
			require.NoError(t, err)
			require.Equal(t, invoice.Bearer{Party: party}, cn.Lines[0].Bearer)
		})
	}
}
