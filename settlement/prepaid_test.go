package settlement_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// prepaidLines are the invoice lines of a EUR 1,200 commitment with 20%
// VAT: the purchase, January and February covered in full, March covered
// EUR 150.00 with EUR 275.00 overage (the invoice package's own example).
func prepaidLines() []invoice.Line {
	ref := []ensemble.Ref{{Kind: invoice.RefPrepaid, ID: "s1/2026"}}
	at := func(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC) }
	pin := catalog.Pin{Offer: "cloud-backup", Version: 1}
	draw := func(covered, tax string) *invoice.PrepaidDraw {
		return &invoice.PrepaidDraw{Commitment: "2026", Covered: eur(covered), CoveredNet: eur(covered), CoveredTax: eur(tax), Remaining: eur("0")}
	}
	return []invoice.Line{
		{ID: "s1//prepaid/2026/prepayment", Kind: invoice.KindPrepayment, Date: at(1), Pin: pin, Currency: eur("0").Currency(), Net: eur("1200.00"), Tax: eur("240.00"), Refs: ref},
		{ID: "s1/api/jan", Kind: invoice.KindUsage, Date: at(2), Pin: pin, Charge: "seat", Currency: eur("0").Currency(), Net: eur("0.00"), Tax: eur("0.00"), Prepaid: draw("525.00", "105.00"), Refs: ref},
		{ID: "s1/api/feb", Kind: invoice.KindUsage, Date: at(3), Pin: pin, Charge: "seat", Currency: eur("0").Currency(), Net: eur("0.00"), Tax: eur("0.00"), Prepaid: draw("525.00", "105.00"), Refs: ref},
		{ID: "s1/api/mar", Kind: invoice.KindUsage, Date: at(4), Pin: pin, Charge: "seat", Currency: eur("0").Currency(), Net: eur("275.00"), Tax: eur("55.00"), Prepaid: draw("150.00", "30.00"), Refs: ref},
	}
}

var prepaidOrder = order.Order{ID: "o1", Customer: order.Customer{ID: "cust-1", Country: "NL"},
	Route: order.Route{Kind: order.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}}

// TestPrepaidEarning: on prepayment, partners earn on the EUR 1,200
// purchase in January and on the EUR 275 overage in April; on consumption,
// on 525, 525 and 150 + 275 as drawn. Over the term every party earns the
// same either way, and nothing is earned twice.
func TestPrepaidEarning(t *testing.T) {
	lines := prepaidLines()
	_, err := settlement.FromInvoice(lines, prepaidOrder)
	require.ErrorIs(t, err, settlement.ErrPrepaidEarning, "the mode is the host's choice, never a default")

	amounts := map[settlement.PrepaidEarning][]string{
		settlement.EarnOnPrepayment:  {"1200.00/240.00", "0.00/0.00", "0.00/0.00", "275.00/55.00"},
		settlement.EarnOnConsumption: {"0.00/0.00", "525.00/105.00", "525.00/105.00", "425.00/85.00"},
	}
	s := newSettler(t)
	totals := map[settlement.PrepaidEarning]map[partner.ID]ensemble.Money{}
	for mode, want := range amounts {
		sl, err := settlement.FromInvoiceWith(lines, prepaidOrder, settlement.InvoiceOptions{Prepaid: mode})
		require.NoError(t, err)
		var got []string
		for _, l := range sl {
			got = append(got, l.Amount.AmountString()+"/"+l.Tax.AmountString())
		}
		require.Equal(t, want, got, mode.String())
		res, err := s.Settle(context.Background(), settlement.State{}, sl)
		require.NoError(t, err)
		totals[mode] = byParty(res.Entries)
	}
	on, cons := totals[settlement.EarnOnPrepayment], totals[settlement.EarnOnConsumption]
	require.Equal(t, len(on), len(cons))
	for p, m := range on {
		requireMoney(t, cons[p], m, "party %s", p)
	}

	// Switching modes between calls would pay twice: the State keeps the
	// commitment's mode and refuses a line settled the other way.
	first, err := settlement.FromInvoiceWith(lines[:1], prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnPrepayment})
	require.NoError(t, err)
	res, err := s.Settle(context.Background(), settlement.State{}, first)
	require.NoError(t, err)
	var back settlement.State
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &back))
	require.Contains(t, string(b), `"prepaid":[{"commitment":"s1/2026","earning":"on_prepayment"}]`)
	later, err := settlement.FromInvoiceWith(lines[1:], prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnConsumption})
	require.NoError(t, err)
	_, err = s.Settle(context.Background(), back, later)
	require.ErrorIs(t, err, settlement.ErrPrepaidEarning)
	require.ErrorContains(t, err, `commitment "s1/2026" was settled on_prepayment, this line asks on_consumption`)

	// Breakage: EUR 200 left at the end settles on consumption only.
	breakage := invoice.Line{ID: "s1//prepaid/2026/prepaid_breakage", Kind: invoice.KindPrepaidBreakage, Date: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		Pin: catalog.Pin{Offer: "cloud-backup", Version: 1}, Currency: eur("0").Currency(), Net: eur("0.00"), Tax: eur("0.00"), Refs: []ensemble.Ref{{Kind: invoice.RefPrepaid, ID: "s1/2026"}},
		Prepaid: &invoice.PrepaidDraw{Commitment: "2026", Covered: eur("200.00"), CoveredNet: eur("200.00"), CoveredTax: eur("40.00"), Remaining: eur("0.00")}}
	for mode, want := range map[settlement.PrepaidEarning]string{settlement.EarnOnPrepayment: "0.00", settlement.EarnOnConsumption: "200.00"} {
		sl, err := settlement.FromInvoiceWith([]invoice.Line{breakage}, prepaidOrder, settlement.InvoiceOptions{Prepaid: mode})
		require.NoError(t, err)
		require.Equal(t, want, sl[0].Amount.AmountString())
	}

	// A covered bundle line owes its suppliers on consumption.
	bundle := lines[1]
	bundle.SupplierCosts = []catalog.SupplierCost{{Supplier: "s1", Offer: "backup", Cost: eur("100.00")}}
	_, err = settlement.FromInvoiceWith([]invoice.Line{bundle}, prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnPrepayment})
	require.ErrorIs(t, err, settlement.ErrPrepaidEarning)
	_, err = settlement.FromInvoiceWith([]invoice.Line{bundle}, prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnConsumption})
	require.NoError(t, err)
}

// TestPrepaidRefund: refunding the purchase reverses the partners'
// earnings on it when they earned on the prepayment, and settles nothing
// when they earn on consumption (the purchase settled nothing).
func TestPrepaidRefund(t *testing.T) {
	s := newSettler(t)
	lines := prepaidLines()
	zero := eur("0.00")
	refund := invoice.Line{ID: "s1/cn/1/prepayment", Kind: invoice.KindCreditNote, Date: lines[0].Date.AddDate(0, 0, 10), Pin: lines[0].Pin,
		Currency: zero.Currency(), Net: eur("-1200.00"), Tax: eur("-240.00"), Credits: lines[0].ID, Refs: lines[0].Refs,
		Prepaid: &invoice.PrepaidDraw{Commitment: "2026", Covered: zero, CoveredNet: zero, CoveredTax: zero, Remaining: zero}}
	for mode, want := range map[settlement.PrepaidEarning]string{settlement.EarnOnPrepayment: "0.00", settlement.EarnOnConsumption: "0.00"} {
		sl, err := settlement.FromInvoiceWith([]invoice.Line{lines[0], refund}, prepaidOrder, settlement.InvoiceOptions{Prepaid: mode})
		require.NoError(t, err)
		res, err := s.Settle(context.Background(), settlement.State{}, sl)
		require.NoError(t, err, mode.String())
		for p, m := range byParty(res.Entries) {
			require.Equal(t, want, m.AmountString(), "%s: %s keeps %s", mode, p, m)
		}
	}
}
