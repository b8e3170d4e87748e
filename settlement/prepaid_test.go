package settlement_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
	"github.com/ensemble-commerce/ensemble/usage"
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
		{ID: "s1/prepaid/2026/prepayment", Kind: invoice.KindPrepayment, Date: at(1), Pin: pin, Currency: eur("0").Currency(), Net: eur("1200.00"), Tax: eur("240.00"), Refs: ref},
		{ID: "s1/api/jan", Kind: invoice.KindUsage, Date: at(2), Pin: pin, Charge: "seat", Currency: eur("0").Currency(), Net: eur("0.00"), Tax: eur("0.00"), Prepaid: draw("525.00", "105.00"), Refs: ref},
		{ID: "s1/api/feb", Kind: invoice.KindUsage, Date: at(3), Pin: pin, Charge: "seat", Currency: eur("0").Currency(), Net: eur("0.00"), Tax: eur("0.00"), Prepaid: draw("525.00", "105.00"), Refs: ref},
		{ID: "s1/api/mar", Kind: invoice.KindUsage, Date: at(4), Pin: pin, Charge: "seat", Currency: eur("0").Currency(), Net: eur("275.00"), Tax: eur("55.00"), Prepaid: draw("150.00", "30.00"), Refs: ref},
	}
}

var prepaidOrder = order.Order{ID: "o1", Customer: order.Customer{ID: "cust-1", Country: "NL"},
	Route: partner.Route{Kind: partner.RoutePartner, Seller: "sub-utrecht", Chain: []partner.ID{"sub-utrecht", "reseller-nl", "distri-eu"}}}

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
	first, err := settlement.FromInvoiceWith(lines[:1], prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnPrepayment, Invoice: "s1/2026-01-01"})
	require.NoError(t, err)
	require.Equal(t, "s1/2026-01-01", first[0].Invoice, "the invoice a collection of it pays")
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
	breakage := invoice.Line{ID: "s1/prepaid/2026/prepaid_breakage", Kind: invoice.KindPrepaidBreakage, Date: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
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

// TestPrepaidRefund: a refund of the purchase reverses the partners'
// earnings on its unused part when they earned on the prepayment, and
// settles nothing when they earn on consumption (the purchase settled
// nothing); its used part settles nothing either way. A full refund with
// nothing drawn nets every party to zero on prepayment; a refund line that
// does not say what was unused is refused on prepayment rather than guessed.
func TestPrepaidRefund(t *testing.T) {
	s := newSettler(t)
	lines := prepaidLines()
	zero := eur("0.00")
	refund := invoice.Line{ID: "s1/cn/1/prepayment", Kind: invoice.KindCreditNote, Date: lines[0].Date.AddDate(0, 0, 10), Pin: lines[0].Pin,
		Currency: zero.Currency(), Net: eur("-1200.00"), Tax: eur("-240.00"), Credits: lines[0].ID, Refs: lines[0].Refs,
		Prepaid: &invoice.PrepaidDraw{Commitment: "2026", Covered: zero, CoveredNet: zero, CoveredTax: zero, Remaining: zero,
			Refund: &invoice.PrepaidRefund{Unused: eur("-1200.00"), UnusedNet: eur("-1200.00"), UnusedTax: eur("-240.00"), Used: zero}}}
	for _, mode := range []settlement.PrepaidEarning{settlement.EarnOnPrepayment, settlement.EarnOnConsumption} {
		sl, err := settlement.FromInvoiceWith([]invoice.Line{lines[0], refund}, prepaidOrder, settlement.InvoiceOptions{Prepaid: mode})
		require.NoError(t, err)
		res, err := s.Settle(context.Background(), settlement.State{}, sl)
		require.NoError(t, err, mode.String())
		for p, m := range byParty(res.Entries) {
			require.Equal(t, "0.00", m.AmountString(), "%s: %s keeps %s", mode, p, m)
		}
	}
	unsplit := refund
	unsplit.Prepaid = &invoice.PrepaidDraw{Commitment: "2026", Covered: zero, CoveredNet: zero, CoveredTax: zero, Remaining: zero}
	_, err := settlement.FromInvoiceWith([]invoice.Line{unsplit}, prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnPrepayment})
	require.ErrorIs(t, err, settlement.ErrPrepaidEarning)
	require.ErrorContains(t, err, "must say what of it was unused")
	sl, err := settlement.FromInvoiceWith([]invoice.Line{unsplit}, prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnConsumption})
	require.NoError(t, err)
	requireMoney(t, sl[0].Amount, zero)
}

// prepaidAPIYAML prices API calls at EUR 0.01 each.
const prepaidAPIYAML = `
offers:
  - id: api
    version: 1
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: calls, type: usage, meter: calls, cadence: {unit: monthly}, price: {model: per_unit, amount: "0.01"}}
`

// TestPrepaidRefundEndToEnd bills, refunds and settles a EUR 1,200
// commitment (20% VAT) through the public API, in both earning modes:
// January and February draw 250.00 and 150.00 (25,000 and 15,000 calls),
// the purchase is refunded on March 5 with 400 drawn, the host lowers the
// commitment by what the refund took unused, March draws (or bills) 100.00
// and what is left expires at the year's end. The refund and the year's
// settled basis, hand-worked:
//   - all refunded (1,440.00): 800 unused, 400 used; the commitment is
//     lowered to 400, so March's 100.00 is overage: on prepayment 1,200 -
//     800 + 100 = 500.00, on consumption 250 + 150 + 100 = 500.00;
//   - 1,200.00 refunded (net 1,000): 800 unused, 200 used: the same 500.00
//     either way (the 200 of consumption refunded stays earned);
//   - 600.00 refunded (net 500): all unused; the commitment is lowered to
//     700, March's 100.00 is covered and 200 expires: on prepayment 1,200 -
//     500 = 700.00, on consumption 250 + 150 + 100 + 200 = 700.00.
//
// Every party ends with the same amount in both modes, and the host never
// writes a money rule of its own.
func TestPrepaidRefundEndToEnd(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(prepaidAPIYAML))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "vat", Rate: ensemble.MustRatio("20%")}}}})
	require.NoError(t, err)
	at := func(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC) }
	calls := func(m time.Month, n int64) usage.Aggregate {
		return usage.Aggregate{Line: "s1/api", Meter: "calls", Aggregation: usage.Sum, Period: ensemble.MustPeriod(at(2026, m), at(2026, m+1)),
			Value: decimal.NewFromInt(n), Records: 1, Digest: usage.DigestOf(usage.RecordID(m.String()))}
	}
	cases := []struct {
		name             string
		refund           string // total refunded; "" all
		unused, used     string
		march, year, exp string // March's line (covered/net), the year's basis, what expires
	}{
		{"all refunded", "", "-800.00", "-400.00", "0.00/100.00", "500.00", ""},
		{"more than is unused", "1200.00", "-800.00", "-200.00", "0.00/100.00", "500.00", ""},
		{"within what is unused", "600.00", "-500.00", "0.00", "100.00/0.00", "700.00", "200.00"},
	}
	s := newSettler(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			totals := map[settlement.PrepaidEarning]map[partner.ID]ensemble.Money{}
			for _, mode := range []settlement.PrepaidEarning{settlement.EarnOnPrepayment, settlement.EarnOnConsumption} {
				sub := invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "cust-1", Region: "NL"}, Currency: eur("0").Currency(), Anchor: at(2026, 1),
					Items:   []invoice.Item{{ID: "api", Segments: []invoice.Segment{{Start: at(2026, 1), Pin: catalog.Pin{Offer: "api", Version: 1}, Quantity: decimal.NewFromInt(1)}}}},
					Prepaid: []invoice.PrepaidCommitment{{ID: "2026", Amount: decimal.NewFromInt(1200), Start: at(2026, 1), End: at(2027, 1), Meters: []usage.MeterID{"calls"}}}}
				state := settlement.State{}
				var entries []settlement.Entry
				settle := func(lines []invoice.Line) {
					sl, err := settlement.FromInvoiceWith(lines, prepaidOrder, settlement.InvoiceOptions{Prepaid: mode})
					require.NoError(t, err)
					res, err := s.Settle(context.Background(), state, sl)
					require.NoError(t, err)
					state = res.State
					entries = append(entries, res.Entries...)
				}
				var issued []invoice.Invoice
				run := func(after, runAt time.Time, aggs ...usage.Aggregate) invoice.Invoice {
					invs, err := b.Build(invoice.Run{After: after, At: runAt, Usage: aggs}, []invoice.Subscription{sub})
					require.NoError(t, err)
					require.Len(t, invs, 1)
					inv, err := invoice.Issue(invs[0], runAt)
					require.NoError(t, err)
					for _, u := range inv.Prepaid { // the host carries what was drawn
						sub.Prepaid[0].Drawn, sub.Prepaid[0].DrawnThrough = u.Total, u.Through
					}
					settle(inv.Lines)
					issued = append(issued, inv)
					return inv
				}
				run(at(2025, 12), at(2026, 1))
				run(at(2026, 1), at(2026, 2), calls(time.January, 25000))
				run(at(2026, 2), at(2026, 3), calls(time.February, 15000))

				req := invoice.CreditRequest{ID: "refund", Reason: invoice.ReasonRefund, At: time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC),
					Prepaid: []invoice.PrepaidDrawn{{Commitment: "2026", Drawn: sub.Prepaid[0].Drawn}}}
				if tc.refund == "" {
					req.Full = true
				} else {
					req.Lines = []invoice.CreditLine{{Line: issued[0].Lines[0].ID, Amount: decimal.RequireFromString(tc.refund)}}
				}
				cn, err := invoice.NewCreditNote(issued[0], nil, req)
				require.NoError(t, err)
				rf := cn.Lines[0].Prepaid.Refund
				require.Equal(t, tc.unused+"/"+tc.used, rf.Unused.AmountString()+"/"+rf.Used.AmountString())
				settle(cn.Lines)
				// The host lowers the commitment by what the refund took
				// unused.
				sub.Prepaid[0].Amount = sub.Prepaid[0].Amount.Add(rf.Unused.Amount())

				mar := run(at(2026, 3), at(2026, 4), calls(time.March, 10000))
				covered := "0.00"
				if p := mar.Lines[0].Prepaid; p != nil {
					covered = p.Covered.AmountString()
				}
				require.Equal(t, tc.march, covered+"/"+mar.Lines[0].Net.AmountString())
				end := run(at(2026, 4), at(2027, 1))
				require.Equal(t, tc.exp, expired(end))

				var basis ensemble.Money
				for _, e := range entries {
					basis, err = basis.Add(e.Amount)
					require.NoError(t, err)
				}
				require.Equal(t, tc.year, basis.AmountString(), "%s: the year's settled basis", mode)
				totals[mode] = byParty(entries)
			}
			on, cons := totals[settlement.EarnOnPrepayment], totals[settlement.EarnOnConsumption]
			for p, m := range on {
				requireMoney(t, cons[p], m, "party %s", p)
			}
			for p, m := range cons {
				requireMoney(t, on[p], m, "party %s", p)
			}
		})
	}
}

// expired is what an invoice let expire of its commitment ("" if nothing).
func expired(inv invoice.Invoice) string {
	for _, u := range inv.Prepaid {
		if !u.Expired.IsZero() {
			return u.Expired.AmountString()
		}
	}
	return ""
}

// prepaidBundleCatalog is a backup bundle (EUR 160.00 a month and EUR 0.50
// a GB) whose storage supplier is owed 20% of the recurring and usage
// charges (the default), and the same bundle whose supplier is owed 20% of
// the monthly charge only.
const prepaidBundleCatalog = `
offers:
  - {id: backup, version: 1, kind: product, currency: EUR, effective_from: 2026-01-01T00:00:00Z}
  - id: suite
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: line, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "160.00"}}
      - {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.50"}}
    components:
      - {offer: backup, supplier: backupco, cost: {ratio: "20%"}}
  - id: suite-line-only
    version: 1
    kind: bundle
    currency: EUR
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: line, type: recurring, cadence: {unit: monthly}, timing: in_advance, price: {model: per_unit, amount: "160.00"}}
      - {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.50"}}
    components:
      - {offer: backup, supplier: backupco, cost: {ratio: "20%", applies_to: [line]}}
`

// A commitment whose covered charges carry bundle supplier costs cannot
// earn on prepayment: its suppliers are owed on consumption. The refusal
// comes on its purchase, at the first invoice (a EUR 1,200 commitment on
// the bundle's GB bought on January 1 and billed alone that day), before
// anything is settled one way; the purchase names the component owed
// (suite/backup/backupco@1). The whole invoice is refused with the line,
// its kind and the fix, and no line is returned. On consumption it
// settles; and when the supplier's cost does not apply to what the
// commitment covers (applies_to: [line]), the purchase names nothing and
// settles on prepayment too.
func TestPrepaidPurchaseOfBundleSupplierCosts(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(prepaidBundleCatalog))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	jan1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	purchase := func(offer catalog.OfferID) []invoice.Line {
		s := invoice.Subscription{ID: "o1", Customer: invoice.Customer{ID: "cust-1"}, Currency: ensemble.MustCurrency("EUR"), Anchor: jan1,
			Items: []invoice.Item{{ID: "backup", Segments: []invoice.Segment{{Start: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC),
				Pin: catalog.Pin{Offer: offer, Version: 1}, Quantity: decimal.NewFromInt(1)}}}},
			Prepaid: []invoice.PrepaidCommitment{{ID: "2026", Amount: decimal.RequireFromString("1200"), Start: jan1,
				End: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Meters: []usage.MeterID{"gb"}}}}
		invs, err := b.Build(invoice.Run{At: jan1}, []invoice.Subscription{s})
		require.NoError(t, err)
		require.Len(t, invs, 1)
		require.Len(t, invs[0].Lines, 1, "the purchase alone")
		return invs[0].Lines
	}

	lines := purchase("suite")
	owed := ensemble.Ref{Kind: catalog.RefComponent, ID: "suite/backup/backupco", Version: "1"}
	require.Contains(t, lines[0].Refs, owed, "the purchase names the component owed on consumption")
	sl, err := settlement.FromInvoiceWith(lines, prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnPrepayment})
	require.ErrorIs(t, err, settlement.ErrPrepaidEarning)
	require.Nil(t, sl, "no line of the batch is converted")
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("o1/prepaid/2026/prepayment"), le.Line)
	require.ErrorContains(t, err, `prepayment line: commitment "o1/2026" covers charges of bundles whose suppliers are owed on consumption (suite/backup/backupco@1): settle this commitment with settlement.EarnOnConsumption`)
	sl, err = settlement.FromInvoiceWith(lines, prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnConsumption})
	require.NoError(t, err)
	require.Equal(t, "0.00", sl[0].Amount.AmountString(), "the purchase settles nothing on consumption")
	// In a batch with a covered bundle line sorted before it, the purchase
	// is still the line named: the commitment's problem, not a symptom.
	covered := prepaidLines()[1]
	covered.SupplierCosts = []catalog.SupplierCost{{Supplier: "backupco", Offer: "backup", Cost: eur("100.00")}}
	_, err = settlement.FromInvoiceWith([]invoice.Line{covered, lines[0]}, prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnPrepayment})
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("o1/prepaid/2026/prepayment"), le.Line)

	lines = purchase("suite-line-only")
	for _, r := range lines[0].Refs {
		require.NotEqual(t, catalog.RefComponent, r.Kind, "the supplier is not owed on the GB the commitment covers")
	}
	sl, err = settlement.FromInvoiceWith(lines, prepaidOrder, settlement.InvoiceOptions{Prepaid: settlement.EarnOnPrepayment})
	require.NoError(t, err)
	require.Equal(t, "1200.00", sl[0].Amount.AmountString())
}

// A commitment earned on consumption under a plan paid on collection is
// refused, saying why, for its purchase and for the lines drawn on it: the
// customer pays the purchase, which settles nothing on consumption, and
// no payment would ever fund what the commitment covers of a line drawn on
// it (a new user's trial saw the purchase's payment refused and the
// partners' consumption await forever). Under a plan paid on settlement,
// or on prepayment, it settles.
func TestConsumptionOnCollectionRefused(t *testing.T) {
	drawn := chainLine("U1", "400.00", "2026-03-31")
	drawn.Prepaid = settlement.PrepaidTerms{Commitment: "sub-1/commit", Earning: settlement.EarnOnConsumption}
	onCollection := planSettler(t, collectPlan, loadNetwork(t))
	_, err := onCollection.Settle(ctx, settlement.State{}, []settlement.Line{drawn})
	require.ErrorIs(t, err, settlement.ErrPrepaidEarning)
	require.ErrorContains(t, err, `commitment "sub-1/commit" is earned on consumption, and the plan pays on collection`)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("U1"), le.Line)

	_, err = newSettler(t).Settle(ctx, settlement.State{}, []settlement.Line{drawn})
	require.NoError(t, err, "paid on settlement")
	drawn.Prepaid.Earning = settlement.EarnOnPrepayment
	drawn.Amount = eur("0.00") // what the commitment covered settles nothing on prepayment
	_, err = onCollection.Settle(ctx, settlement.State{}, []settlement.Line{drawn})
	require.NoError(t, err, "on prepayment, paid on collection")
}
