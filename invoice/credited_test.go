package invoice_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
)

// creditedSub is 16 Basic seats (EUR 160.00 a month in advance, 20% VAT:
// 192.00 a month) from February 1 on a subscription anchored on the 1st.
func creditedSub() invoice.Subscription {
	return sub("s1", date(2026, 2, 1), item("seats", seg(date(2026, 2, 1), time.Time{}, pin("basic", 1), "16")))
}

// marchInvoice is the issued invoice of March 1: the month's 160.00 line.
func marchInvoice(t *testing.T, b *invoice.Builder) invoice.Invoice {
	t.Helper()
	inv := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, creditedSub())
	require.Equal(t, []string{"recurring seats 160.00"}, amounts(inv))
	inv, err := invoice.Issue(inv, date(2026, 3, 1))
	require.NoError(t, err)
	return inv
}

// A credit note raised before a cancellation lowers its proration credit:
// the credit is the unused part of what the credit notes left of the line,
// so what both give back never exceeds what the line billed. March's line
// bills 160.00 + 32.00 VAT = 192.00; cancelled on March 20 (days end
// exclusive), 12 of 31 days are unused: 160 - round(160 × 19/31) = 61.94,
// VAT 12.39, 74.33 in all.
//   - no credit note: -61.94 / -12.39 / -74.33;
//   - a 100% SLA credit (192.00): nothing is left, the credit is 0.00;
//   - a 10% SLA credit (19.20: 16.00 + 3.20) leaves 172.80 (144.00 + 28.80):
//     round(74.33 × 172.80/192) = round(66.897) = 66.90, net round(144 ×
//     66.90/172.80) = 55.75, VAT 11.15; 6.19 of the unused 61.94 is not
//     credited again;
//   - 4 of the 16 seats credited (48.00: 40.00 + 8.00) leave 144.00 (net
//     120.00, VAT 24.00): round(74.33 × 144/192) = round(55.7475) = 55.75, net
//     round(120 × 55.75/144) = round(46.458) = 46.46, VAT 9.29;
//   - 100.00 credited by amount (net round(160 × 100/192) = 83.33, VAT
//     16.67) leaves 92.00 (76.67 + 15.33): round(74.33 × 92/192) =
//     round(35.616) = 35.62, net round(76.67 × 35.62/92) = round(29.685) =
//     29.68, VAT 5.94.
//
// In every case Remaining accepts the credit notes and the proration
// credit together, and leaves exactly what they did not credit.
func TestProrationCreditAfterCreditNotes(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: taxes})
	cases := []struct {
		name           string
		credit         *invoice.CreditLine // nil: no credit note
		net, tax, left string              // the proration credit, and what remains of the line after all
		again          string              // the "credited" discount: what is not credited again
	}{
		{"no credit note", nil, "-61.94", "-12.39", "117.67", ""},
		{"100% SLA", &invoice.CreditLine{Percent: ensemble.MustRatio("100%")}, "0.00", "0.00", "0.00", "-61.94"},
		{"10% SLA", &invoice.CreditLine{Percent: ensemble.MustRatio("10%")}, "-55.75", "-11.15", "105.90", "-6.19"},
		{"4 of 16 seats", &invoice.CreditLine{Quantity: dec("4")}, "-46.46", "-9.29", "88.25", "-15.48"},
		{"100.00 by amount", &invoice.CreditLine{Amount: dec("100")}, "-29.68", "-5.94", "56.38", "-32.26"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mar := marchInvoice(t, b)
			billed := slices.Clone(mar.Lines)
			var notes []invoice.CreditNote
			if tc.credit != nil {
				cl := *tc.credit
				cl.Line = mar.Lines[0].ID
				cn, err := invoice.NewCreditNote(mar, nil, invoice.CreditRequest{ID: "sla", Reason: invoice.ReasonSLA, Incident: "INC-1",
					At: date(2026, 3, 10), Lines: []invoice.CreditLine{cl}})
				require.NoError(t, err)
				notes = append(notes, cn)
				billed = append(billed, cn.Lines...)
			}
			s := creditedSub()
			s.CancelAt = date(2026, 3, 20)
			apr := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Billed: billed}, s)
			require.Len(t, apr.Lines, 1)
			pc := apr.Lines[0]
			require.Equal(t, invoice.KindProrationCredit, pc.Kind)
			require.Equal(t, mar.Lines[0].ID, pc.Credits)
			require.Equal(t, [2]string{tc.net, tc.tax}, [2]string{pc.Net.AmountString(), pc.Tax.AmountString()})
			require.True(t, money("-61.94").Equal(pc.Amount), "the unused part is still the line's amount: %s", pc.Amount)
			var again string
			for _, d := range pc.Discounts {
				if d.ID == "credited" {
					again = d.Amount.AmountString()
				}
			}
			require.Equal(t, tc.again, again)
			if tc.credit != nil {
				require.True(t, money("192.00").Equal(pc.Proration.Billed), "%s", pc.Proration.Billed)
				require.Contains(t, invoice.Explain(pc), "already credited by credit notes, not credited again")
			}
			rem, err := invoice.Remaining(mar, notes, apr.Lines...)
			require.NoError(t, err)
			require.Len(t, rem, 1)
			require.Equal(t, tc.left, rem[0].Total.AmountString())
			require.False(t, rem[0].Net.IsNegative() || rem[0].Tax.IsNegative(), "%+v", rem[0])
			roundTrip(t, apr)
		})
	}
}

// Credit-note lines in Run.Billed need the line they credit there too: the
// proration credit could not know what they left of it.
func TestProrationCreditNeedsTheCreditedLine(t *testing.T) {
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive, Taxes: taxes})
	mar := marchInvoice(t, b)
	cn, err := invoice.NewCreditNote(mar, nil, invoice.CreditRequest{ID: "r", Reason: invoice.ReasonRefund, At: date(2026, 3, 10), Full: true})
	require.NoError(t, err)
	s := creditedSub()
	s.CancelAt = date(2026, 3, 20)
	_, err = b.Build(invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Billed: cn.Lines}, []invoice.Subscription{s})
	var le *invoice.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, mar.Lines[0].ID, le.Line)
	require.ErrorIs(t, err, invoice.ErrInvalid)
}

// Property: whatever credit notes are raised against a line billed in
// advance, and whenever a cancellation or a change of quantity credits its
// unused part (before, between or after them), what they give back never
// exceeds what the line billed: net, tax and total, to the minor unit.
// Credit notes raised before the change are given to the run in Run.Billed
// with the line; those raised after it are told of the proration credit
// (CreditRequest.Prorated). Remaining agrees, and a request for more than
// remains is refused with ErrOverCredit or ErrNotCreditable, never issued.
func TestPropertyCreditedNeverExceedsBilled(t *testing.T) {
	var builders []*invoice.Builder
	for _, basis := range []ensemble.ProrationBasis{ensemble.ProrateDaysEndExclusive, ensemble.ProrateExactTime, ensemble.ProrateDaysEndInclusive} {
		for _, mode := range []ensemble.RoundingMode{ensemble.RoundHalfAwayFromZero, ensemble.RoundHalfEven} {
			builders = append(builders, builder(t, invoice.Options{Basis: basis, Mode: mode, Taxes: taxes}))
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		region := rapid.SampledFrom([]string{"FR", "DE", "XX"}).Draw(t, "region")
		b := rapid.SampledFrom(builders).Draw(t, "basis and mode")
		qty := rapid.IntRange(1, 20).Draw(t, "seats")
		seats := item("seats", seg(date(2026, 2, 1), time.Time{}, pin("basic", 1), strconv.Itoa(qty)))
		if rapid.Bool().Draw(t, "partner discount") {
			seats.PartnerDiscount = ensemble.MustRatio(rapid.SampledFrom([]string{"10%", "15%", "33%"}).Draw(t, "discount"))
		}
		s := sub("s1", date(2026, 2, 1), seats)
		s.Customer.Region = region
		mar := build1(t, b, invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, s)
		mar, err := invoice.Issue(mar, date(2026, 3, 1))
		require.NoError(t, err)
		line := mar.Lines[0]

		// The change: a cancellation, or a new quantity, on a day of March.
		at := date(2026, 3, rapid.IntRange(2, 31).Draw(t, "change day"))
		if rapid.Bool().Draw(t, "cancel") {
			s.CancelAt = at
		} else {
			next := rapid.IntRange(0, 25).Draw(t, "new seats")
			s.Items[0].Segments = []invoice.Segment{seg(date(2026, 2, 1), at, pin("basic", 1), strconv.Itoa(qty)), seg(at, time.Time{}, pin("basic", 1), strconv.Itoa(next))}
		}
		n := rapid.IntRange(0, 4).Draw(t, "credit notes")
		changeAt := rapid.IntRange(0, n).Draw(t, "change after notes")
		var notes []invoice.CreditNote
		var apr []invoice.Line
		raise := func(k int, prorated []invoice.Line) {
			cl := invoice.CreditLine{Line: line.ID}
			req := invoice.CreditRequest{ID: "cn" + strconv.Itoa(k), Reason: invoice.ReasonGoodwill, At: date(2026, 3, 1).AddDate(0, 0, k), Prorated: prorated}
			switch rapid.IntRange(0, 3).Draw(t, "credit kind") {
			case 0:
				cl.Percent = ensemble.MustRatio(strconv.Itoa(rapid.IntRange(1, 100).Draw(t, "percent")) + "%")
			case 1:
				cl.Quantity = decimal.NewFromInt(int64(rapid.IntRange(1, qty).Draw(t, "quantity")))
			case 2:
				cl.Amount = decimal.New(int64(rapid.IntRange(1, 30000).Draw(t, "cents")), -2)
			case 3:
				req.Full = true
			}
			if !req.Full {
				req.Lines = []invoice.CreditLine{cl}
			}
			cn, err := invoice.NewCreditNote(mar, notes, req)
			if err != nil {
				if !errors.Is(err, invoice.ErrOverCredit) && !errors.Is(err, invoice.ErrNotCreditable) {
					t.Fatalf("credit note %d: %v", k, err)
				}
				return
			}
			notes = append(notes, cn)
		}
		for k := 0; k <= n; k++ {
			if k == changeAt {
				billed := slices.Clone(mar.Lines)
				for _, cn := range notes {
					billed = append(billed, cn.Lines...)
				}
				inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Billed: billed}, s)
				apr = inv.Lines
			}
			if k < n {
				raise(k, apr)
			}
		}

		net, tax, total := money("0"), money("0"), money("0")
		add := func(l invoice.Line) {
			var e1, e2, e3 error
			net, e1 = net.Add(l.Net.Neg())
			tax, e2 = tax.Add(l.Tax.Neg())
			total, e3 = total.Add(l.Total.Neg())
			require.NoError(t, errors.Join(e1, e2, e3))
			require.False(t, l.Net.IsPositive() || l.Tax.IsPositive() || l.Total.IsPositive(), "a credit of %s credits: %s", l.Kind, l.Total)
		}
		for _, cn := range notes {
			for _, l := range cn.Lines {
				add(l)
			}
		}
		for _, l := range apr {
			if l.Kind == invoice.KindProrationCredit && l.Credits == line.ID {
				add(l)
			}
		}
		for _, c := range [][2]ensemble.Money{{net, line.Net}, {tax, line.Tax}, {total, line.Total}} {
			cmp, err := c[0].Cmp(c[1])
			require.NoError(t, err)
			require.LessOrEqual(t, cmp, 0, "credited %s of %s (net %s, tax %s, total %s credited)", c[0], c[1], net, tax, total)
		}
		rem, err := invoice.Remaining(mar, notes, apr...)
		require.NoError(t, err)
		require.Len(t, rem, 1)
		left, err := line.Total.Sub(total)
		require.NoError(t, err)
		require.True(t, left.Equal(rem[0].Total), "remaining %s, want %s", rem[0].Total, left)
	})
}
