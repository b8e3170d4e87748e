package settlement_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
	"github.com/ensemble-commerce/ensemble/usage"
)

// TestPrepaidRolloverShareSettles: EUR 1,200 for 2026, 10% of what is
// unused rolling over to mid-2027. January draws 250.00; on 1 January 2027
// 95.00 of the 950.00 left rolls and 855.00 expires, on a breakage line of
// its own; the 95.00 expires on 1 July 2027. On prepayment partners earn
// on the 1,200.00 purchase and nothing on either breakage; on consumption
// on 250.00 + 855.00 + 95.00. Both settle 1,200.00 over the term, and each
// party the same.
func TestPrepaidRolloverShareSettles(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(prepaidAPIYAML))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{Taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "vat", Rate: ensemble.MustRatio("20%")}}}})
	require.NoError(t, err)
	at := func(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC) }
	s := newSettler(t)
	totals := map[settlement.PrepaidEarning]map[partner.ID]ensemble.Money{}
	for _, mode := range []settlement.PrepaidEarning{settlement.EarnOnPrepayment, settlement.EarnOnConsumption} {
		sub := invoice.Subscription{ID: "s1", Customer: invoice.Customer{ID: "cust-1", Region: "NL"}, Currency: eur("0").Currency(), Anchor: at(2026, 1),
			Items: []invoice.Item{{ID: "api", Segments: []invoice.Segment{{Start: at(2026, 1), Pin: catalog.Pin{Offer: "api", Version: 1}, Quantity: decimal.NewFromInt(1)}}}},
			Prepaid: []invoice.PrepaidCommitment{{ID: "2026", Amount: decimal.NewFromInt(1200), Start: at(2026, 1), End: at(2027, 1), Meters: []usage.MeterID{"calls"},
				Expiry: invoice.Rollover, RolloverEnd: at(2027, 7), RolloverShare: ensemble.MustRatio("10%")}}}
		state := settlement.State{}
		var entries []settlement.Entry
		var settled, breakage []string
		run := func(after, runAt time.Time, aggs ...usage.Aggregate) {
			invs, err := b.Build(invoice.Run{After: after, At: runAt, Usage: aggs}, []invoice.Subscription{sub})
			require.NoError(t, err)
			require.Len(t, invs, 1)
			inv, err := invoice.Issue(invs[0], runAt)
			require.NoError(t, err)
			for _, u := range inv.Prepaid {
				sub.Prepaid[0].Drawn, sub.Prepaid[0].DrawnThrough = u.Total, u.Through
			}
			for _, l := range inv.Lines {
				if l.Kind == invoice.KindPrepaidBreakage {
					breakage = append(breakage, l.Date.Format("2006-01-02")+" "+l.Amount.AmountString())
				}
			}
			sl, err := settlement.FromInvoiceWith(inv.Lines, prepaidOrder, settlement.InvoiceOptions{Prepaid: mode})
			require.NoError(t, err)
			for _, l := range sl {
				settled = append(settled, l.Amount.AmountString())
			}
			res, err := s.Settle(context.Background(), state, sl)
			require.NoError(t, err)
			state = res.State
			entries = append(entries, res.Entries...)
		}
		run(at(2025, 12), at(2026, 1))
		run(at(2026, 1), at(2026, 2), usage.Aggregate{Line: "s1/api", Meter: "calls", Aggregation: usage.Sum,
			Period: ensemble.MustPeriod(at(2026, 1), at(2026, 2)), Value: decimal.NewFromInt(25000), Records: 1, Digest: usage.DigestOf("jan")})
		run(at(2026, 2), at(2027, 1))
		run(at(2027, 1), at(2027, 8))
		require.Equal(t, []string{"2027-01-01 855.00", "2027-07-01 95.00"}, breakage, mode.String())
		want := map[settlement.PrepaidEarning][]string{
			settlement.EarnOnPrepayment:  {"1200.00", "0.00", "0.00", "0.00"},
			settlement.EarnOnConsumption: {"0.00", "250.00", "855.00", "95.00"},
		}[mode]
		require.Equal(t, want, settled, mode.String())
		var basis ensemble.Money
		for _, e := range entries {
			basis, err = basis.Add(e.Amount)
			require.NoError(t, err)
		}
		require.Equal(t, "1200.00", basis.AmountString(), mode.String())
		totals[mode] = byParty(entries)
	}
	on, cons := totals[settlement.EarnOnPrepayment], totals[settlement.EarnOnConsumption]
	require.Equal(t, len(on), len(cons))
	for p, m := range on {
		requireMoney(t, cons[p], m, "party %s", p)
	}
}
