package invoice_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

func monthUsage(line string, month time.Month, value string) usage.Aggregate {
	return usage.Aggregate{Line: usage.LineRef(line), Meter: "api_calls", Aggregation: usage.Sum,
		Period: ensemble.MustPeriod(date(2026, month, 1), date(2026, month+1, 1)), Value: dec(value),
		Records: 1, Digest: usage.DigestOf(usage.RecordID(line + month.String()))}
}

// TestPrepaidCommitmentDrawnOverThreeInvoices: EUR 1,200 bought for 2026,
// drawn by API usage (graduated: 100 free, 900 × 0.05, then 0.02). January
// and February use 25,000 calls each (45 + 24,000 × 0.02 = EUR 525.00 each),
// March 20,000 (45 + 19,000 × 0.02 = EUR 425.00): the commitment covers
// January and February in full and EUR 150.00 of March; EUR 275.00 is
// overage, billed with 20% VAT (55.00). The purchase (EUR 1,200 + 240 VAT)
// is billed on 1 January; its VAT is spread over the draws: 105.00, 105.00
// and 30.00.
func TestPrepaidCommitmentDrawnOverThreeInvoices(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "2026", Amount: dec("1200"), Start: date(2026, 1, 1), End: date(2027, 1, 1), Meters: []usage.MeterID{"api_calls"}}}

	type want struct {
		lines                 []string // kind charge amount covered net tax
		drawn, remaining, due string
	}
	line := func(l invoice.Line) string {
		cov := "-"
		if l.Prepaid != nil {
			cov = l.Prepaid.Covered.AmountString() + "/" + l.Prepaid.CoveredTax.AmountString()
		}
		return l.Kind.String() + " " + l.Amount.AmountString() + " covered " + cov + " net " + l.Net.AmountString() + " tax " + l.Tax.AmountString()
	}
	steps := []struct {
		after, at time.Time
		usage     []usage.Aggregate
		want      want
	}{
		{date(2025, 12, 31), date(2026, 1, 1), nil, want{
			lines: []string{"prepayment 1200.00 covered - net 1200.00 tax 240.00"}, drawn: "0.00", remaining: "1200.00", due: "1440.00"}},
		{date(2026, 1, 1), date(2026, 2, 1), []usage.Aggregate{monthUsage("s1/api", time.January, "25000")}, want{
			lines: []string{"usage 525.00 covered 525.00/105.00 net 0.00 tax 0.00"}, drawn: "525.00", remaining: "675.00", due: "0.00"}},
		{date(2026, 2, 1), date(2026, 3, 1), []usage.Aggregate{monthUsage("s1/api", time.February, "25000")}, want{
			lines: []string{"usage 525.00 covered 525.00/105.00 net 0.00 tax 0.00"}, drawn: "525.00", remaining: "150.00", due: "0.00"}},
		{date(2026, 3, 1), date(2026, 4, 1), []usage.Aggregate{monthUsage("s1/api", time.March, "20000")}, want{
			lines: []string{"usage 425.00 covered 150.00/30.00 net 275.00 tax 55.00"}, drawn: "150.00", remaining: "0.00", due: "330.00"}},
	}
	for _, st := range steps {
		inv := build1(t, b, invoice.Run{After: st.after, At: st.at, Usage: st.usage}, s)
		var got []string
		for _, l := range inv.Lines {
			got = append(got, line(l))
		}
		require.Equal(t, st.want.lines, got, "run at %s", st.at)
		require.Equal(t, st.want.due, inv.AmountDue.AmountString())
		require.Len(t, inv.Prepaid, 1)
		use := inv.Prepaid[0]
		require.Equal(t, st.want.drawn, use.Drawn.AmountString())
		require.Equal(t, st.want.remaining, use.Remaining.AmountString())
		// The host carries what was drawn into the next run.
		s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = use.Total, use.Through
	}
}

// TestPrepaidBreakageAndRollover: EUR 300 bought for the first quarter,
// EUR 100 drawn; the EUR 200 left expires on 1 April as breakage (covered,
// billing nothing), or with a rollover stays drawable until 1 July.
func TestPrepaidBreakageAndRollover(t *testing.T) {
	b := builder(t, invoice.Options{})
	base := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	c := invoice.PrepaidCommitment{ID: "q1", Amount: dec("300"), Start: date(2026, 1, 1), End: date(2026, 4, 1), Drawn: dec("100"), DrawnThrough: date(2026, 3, 1)}

	s := base
	s.Prepaid = []invoice.PrepaidCommitment{c}
	inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{monthUsage("s1/api", time.March, "100")}}, s)
	var kinds []string
	for _, l := range inv.Lines {
		kinds = append(kinds, l.Kind.String()+" "+l.Amount.AmountString()+" net "+l.Net.AmountString())
	}
	// 100 calls are in the free tier: the usage line is zero and draws
	// nothing; breakage records the EUR 200 left.
	require.Equal(t, []string{"usage 0.00 net 0.00", "prepaid_breakage 200.00 net 0.00"}, kinds) // lines sort by id
	require.Equal(t, "200.00", inv.Prepaid[0].Expired.AmountString())
	require.Equal(t, "0.00", inv.Prepaid[0].Remaining.AmountString())

	c.Expiry, c.RolloverEnd, c.DrawnThrough = invoice.Rollover, date(2026, 7, 1), date(2026, 4, 1)
	s.Prepaid = []invoice.PrepaidCommitment{c}
	inv = build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1), Usage: []usage.Aggregate{monthUsage("s1/api", time.April, "2000")}}, s)
	require.Len(t, inv.Lines, 1)
	// April: 45 + 1,000 × 0.02 = EUR 65.00, covered by what rolled over.
	require.Equal(t, "65.00", inv.Lines[0].Prepaid.Covered.AmountString())
	require.Equal(t, "135.00", inv.Prepaid[0].Remaining.AmountString())
}

func TestPrepaidValidation(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{
		{ID: "a", Amount: dec("0"), Start: date(2026, 1, 1), End: date(2026, 1, 1)},
		{ID: "a", Amount: dec("10.001"), Start: date(2026, 1, 1), End: date(2027, 1, 1), Expiry: invoice.Rollover, Drawn: dec("11"),
			Meters: []usage.MeterID{"nope"}},
	}
	_, err := b.Build(invoice.Run{At: date(2026, 2, 1)}, []invoice.Subscription{s})
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.Equal(t, []string{
		"subscriptions[0].prepaid[0].amount", "subscriptions[0].prepaid[0].end",
		"subscriptions[0].prepaid[1].id", "subscriptions[0].prepaid[1].amount", "subscriptions[0].prepaid[1].rollover_end",
		"subscriptions[0].prepaid[1].drawn", "subscriptions[0].prepaid[1].meters[0]",
	}, paths)
}

// TestPropertyPrepaidConserves: whatever the usage and however the months
// are split into runs, every line's covered part plus what it bills is its
// amount, the commitment never covers more than was bought, what is drawn
// plus what expires is exactly the commitment once its term is over, the
// covered VAT adds up to the purchase's, and each line is covered the same
// whether billed month by month or in one run.
func TestPropertyPrepaidConserves(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	rapid.Check(t, func(t *rapid.T) {
		amount := rapid.IntRange(1, 2000).Draw(t, "amount")
		months := rapid.IntRange(1, 6).Draw(t, "months")
		s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
		s.Prepaid = []invoice.PrepaidCommitment{{ID: "c", Amount: decimal.NewFromInt(int64(amount)), Start: date(2026, 1, 1), End: date(2026, time.Month(months)+1, 1)}}
		var aggs []usage.Aggregate
		for m := 1; m <= months; m++ {
			aggs = append(aggs, monthUsage("s1/api", time.Month(m), strconv.Itoa(rapid.IntRange(0, 40000).Draw(t, "calls"))))
		}
		// Runs cut at random month boundaries, the host carrying Drawn.
		cuts := []int{0}
		for m := 1; m < months; m++ {
			if rapid.Bool().Draw(t, "cut") {
				cuts = append(cuts, m)
			}
		}
		cuts = append(cuts, months)
		covered := map[invoice.LineID]string{}
		drawn, expired, coveredTax := money("0"), money("0"), money("0")
		var purchaseTax ensemble.Money
		split := s
		split.Prepaid = slices.Clone(s.Prepaid)
		for k := 1; k < len(cuts); k++ {
			run := invoice.Run{After: date(2026, time.Month(cuts[k-1])+1, 1), At: date(2026, time.Month(cuts[k])+1, 1), Usage: aggs[cuts[k-1]:cuts[k]]}
			if k == 1 {
				run.After = date(2025, 12, 31)
			}
			inv := build1(t, b, run, split)
			for _, l := range inv.Lines {
				if l.Kind == invoice.KindPrepayment {
					purchaseTax = l.Tax
					continue
				}
				gross, _ := l.Amount.Sub(l.Discount)
				billed := l.Net
				if l.Prepaid != nil {
					billed, _ = billed.Add(l.Prepaid.Covered)
					covered[l.ID] = l.Prepaid.Covered.AmountString()
					coveredTax, _ = coveredTax.Add(l.Prepaid.CoveredTax)
				}
				require.True(t, billed.Equal(gross), "line %s: covered + net %s != %s", l.ID, billed, gross)
			}
			for _, u := range inv.Prepaid {
				drawn, _ = drawn.Add(u.Drawn)
				expired, _ = expired.Add(u.Expired)
				split.Prepaid[0].Drawn, split.Prepaid[0].DrawnThrough = u.Total, u.Through
			}
		}
		total, _ := drawn.Add(expired)
		require.True(t, total.Equal(money(strconv.Itoa(amount))), "drawn %s + expired %s != %d", drawn, expired, amount)
		require.True(t, coveredTax.Equal(purchaseTax), "covered tax %s != purchase tax %s", coveredTax, purchaseTax)

		// One run over the whole term covers each line the same.
		one := build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, time.Month(months)+1, 1), Usage: aggs}, s)
		for _, l := range one.Lines {
			if l.Prepaid != nil && l.Kind != invoice.KindPrepaidBreakage {
				require.Equal(t, covered[l.ID], l.Prepaid.Covered.AmountString(), "line %s", l.ID)
			}
		}
	})
}

func TestPrepaidExplained(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "2026", Amount: dec("1200"), Start: date(2026, 1, 1), End: date(2027, 1, 1), Drawn: dec("1050"), DrawnThrough: date(2026, 3, 1)}}
	inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{monthUsage("s1/api", time.March, "20000")}}, s)
	require.Contains(t, invoice.Explain(inv.Lines[0]), "  prepaid commitment 2026 covers EUR 150.00, with EUR 30.00 of its purchase tax (EUR 0.00 left); the rest is billed\n")
	require.Contains(t, invoice.Explain(inv.Lines[0]), "net EUR 275.00 + tax EUR 55.00 = total EUR 330.00")
	roundTrip(t, inv)
}

// TestPrepaidPurchaseAttributedToTheOfferThatDraws: the purchase takes the
// offer whose charges draw on the commitment (so settlement picks that
// offer's plan), not the subscription's first item; Offer overrides.
func TestPrepaidPurchaseAttributedToTheOfferThatDraws(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 1, 1),
		item("a-seats", seg(date(2026, 1, 1), time.Time{}, pin("basic", 1), "1")),
		item("b-api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "c", Amount: dec("100"), Start: date(2026, 1, 1), End: date(2027, 1, 1), Meters: []usage.MeterID{"api_calls"}}}
	inv := build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}, s)
	var purchase invoice.Line
	for _, l := range inv.Lines {
		if l.Kind == invoice.KindPrepayment {
			purchase = l
		}
	}
	require.Equal(t, pin("api", 1), purchase.Pin)

	s.Prepaid[0].Offer = pin("pro", 1)
	inv = build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}, s)
	require.Contains(t, amounts(inv), "prepayment  100.00")
	for _, l := range inv.Lines {
		if l.Kind == invoice.KindPrepayment {
			require.Equal(t, pin("pro", 1), l.Pin)
		}
	}
}

// TestPrepaidDrawnMustBeCarried: a run after the commitment's start whose
// Drawn was not carried from the last invoice is refused, rather than
// covering the same sum twice.
func TestPrepaidDrawnMustBeCarried(t *testing.T) {
	b := builder(t, invoice.Options{})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "c", Amount: dec("100"), Start: date(2026, 1, 1), End: date(2027, 1, 1)}}
	_, err := b.Build(invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, []invoice.Subscription{s})
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "subscriptions[0].prepaid[0].drawn_through", ve.Problems[0].Path)
	require.ErrorContains(t, err, "the commitment's draws were carried to nowhere (never carried)")
	s.Prepaid[0].DrawnThrough = date(2026, 2, 1)
	_, err = b.Build(invoice.Run{After: date(2026, 2, 1), At: date(2026, 3, 1)}, []invoice.Subscription{s})
	require.NoError(t, err)
}

// TestPrepaidRefundIsMarked: a credit note of the purchase says which
// commitment it refunds, so settlement can tell it from other credits, and
// needs what was drawn of it to split it.
func TestPrepaidRefundIsMarked(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "2026", Amount: dec("1200"), Start: date(2026, 1, 1), End: date(2027, 1, 1)}}
	inv := build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}, s)
	issued, err := invoice.Issue(inv, date(2026, 1, 1))
	require.NoError(t, err)
	req := invoice.CreditRequest{ID: "1", Reason: invoice.ReasonRefund, At: date(2026, 1, 5), Full: true}
	_, err = invoice.NewCreditNote(issued, nil, req)
	require.ErrorIs(t, err, invoice.ErrRequired)
	require.ErrorContains(t, err, `refunding the purchase of prepaid commitment "2026" needs what had been drawn of it`)

	req.Prepaid = []invoice.PrepaidDrawn{{Commitment: "2026", Drawn: dec("0")}}
	cn, err := invoice.NewCreditNote(issued, nil, req)
	require.NoError(t, err)
	require.Len(t, cn.Lines, 1)
	require.NotNil(t, cn.Lines[0].Prepaid)
	require.Equal(t, invoice.PrepaidID("2026"), cn.Lines[0].Prepaid.Commitment)
	require.Equal(t, "-1440.00", cn.Lines[0].Total.AmountString())
	require.Contains(t, invoice.Explain(cn.Lines[0]),
		"  refunds prepaid commitment 2026, 0 of it drawn or expired: EUR 1200.00 never drawn (net EUR 1200.00, tax EUR 240.00), EUR 0.00 already drawn or expired\n")
	roundTrip(t, cn)

	for _, bad := range [][]invoice.PrepaidDrawn{
		{{Commitment: "2026", Drawn: dec("1200.01")}}, // more than was bought
		{{Commitment: "2026", Drawn: dec("-1")}},
		{{Commitment: "2026", Drawn: dec("0.001")}},
		{{Commitment: "2026"}, {Commitment: "2026"}},
	} {
		req.Prepaid = bad
		_, err = invoice.NewCreditNote(issued, nil, req)
		require.Error(t, err, "%v", bad)
	}
}

// TestPrepaidRefundSplit: a refund of a commitment's purchase takes what
// is left unused first, then what was drawn. EUR 1,200 bought with 20% VAT
// (240.00; DE's 19% included in a EUR 1,190 price: 190.00 of tax in it):
//   - nothing drawn, all refunded: 1,200 unused (tax 240.00);
//   - 400 drawn, all refunded (1,440.00): 800 unused, tax round(240 × 800 /
//     1,200) = 160.00; 400 used;
//   - 400 drawn, 600.00 refunded (net 500, tax 100): all 500 unused;
//   - 1,050 drawn, 600.00 refunded: 150 unused, tax round(100 × 150/500) =
//     30.00; 350 used;
//   - 400 drawn, 600.00 refunded (500 unused), then 700 drawn (the host
//     lowered the commitment to 700) and the rest refunded (840.00): 1,200 -
//     500 - 700 = nothing left unused, all 700 used;
//   - tax included: 476 drawn of 1,190, all refunded: 714 unused carrying
//     round(190 × 714/1,190) = 114.00 of tax (net 600.00); 476 used.
func TestPrepaidRefundSplit(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	purchase := func(region, amount string) invoice.Invoice {
		s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
		s.Customer.Region = region
		s.Prepaid = []invoice.PrepaidCommitment{{ID: "2026", Amount: dec(amount), Start: date(2026, 1, 1), End: date(2027, 1, 1)}}
		issued, err := invoice.Issue(build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}, s), date(2026, 1, 1))
		require.NoError(t, err)
		return issued
	}
	type refund struct {
		drawn, total string // total "": all that remains
	}
	cases := []struct {
		name, region, amount string
		refunds              []refund
		want                 []string // per refund: unused (net + tax) / used
	}{
		{"nothing drawn", "FR", "1200", []refund{{"0", ""}}, []string{"-1200.00 (-1200.00 + -240.00) / 0.00"}},
		{"all refunded, a third drawn", "FR", "1200", []refund{{"400", ""}}, []string{"-800.00 (-800.00 + -160.00) / -400.00"}},
		{"part refunded, within what is unused", "FR", "1200", []refund{{"400", "600"}}, []string{"-500.00 (-500.00 + -100.00) / 0.00"}},
		{"part refunded, beyond what is unused", "FR", "1200", []refund{{"1050", "600"}}, []string{"-150.00 (-150.00 + -30.00) / -350.00"}},
		{"two refunds", "FR", "1200", []refund{{"400", "600"}, {"700", ""}}, []string{"-500.00 (-500.00 + -100.00) / 0.00", "0.00 (0.00 + 0.00) / -700.00"}},
		{"tax included", "DE", "1190", []refund{{"476", ""}}, []string{"-714.00 (-600.00 + -114.00) / -476.00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := purchase(tc.region, tc.amount)
			var prior []invoice.CreditNote
			for k, rf := range tc.refunds {
				req := invoice.CreditRequest{ID: strconv.Itoa(k + 1), Reason: invoice.ReasonRefund, At: date(2026, 3, 5),
					Prepaid: []invoice.PrepaidDrawn{{Commitment: "2026", Drawn: dec(rf.drawn)}}}
				if rf.total == "" {
					req.Full = true
				} else {
					req.Lines = []invoice.CreditLine{{Line: inv.Lines[0].ID, Amount: dec(rf.total)}}
				}
				cn, err := invoice.NewCreditNote(inv, prior, req)
				require.NoError(t, err)
				l := cn.Lines[0]
				r := l.Prepaid.Refund
				require.NotNil(t, r)
				got := r.Unused.AmountString() + " (" + r.UnusedNet.AmountString() + " + " + r.UnusedTax.AmountString() + ") / " + r.Used.AmountString()
				require.Equal(t, tc.want[k], got)
				require.True(t, r.Drawn.Equal(dec(rf.drawn)))
				// The parts add up to the credit line.
				sum, err := r.Unused.Add(r.Used)
				require.NoError(t, err)
				require.True(t, sum.Equal(l.Amount), "unused + used = %s, the line's amount", l.Amount)
				require.True(t, l.Prepaid.Covered.IsZero(), "a refund covers nothing")
				require.Contains(t, invoice.Explain(l), "  refunds prepaid commitment 2026, "+rf.drawn+" of it drawn or expired: ")
				prior = append(prior, cn)
			}
		})
	}
}

// TestMinimumCommitmentCountsConsumption: with a EUR 500.00 monthly minimum
// spend, what counts is the usage consumed, whether a prepaid commitment
// covers it or it is billed as overage; the purchase and the breakage do
// not (the consumption they pay for counts once). January's 10,000 calls
// rate 45 + 9,000 × 0.02 = EUR 225.00, 25,000 calls EUR 525.00:
//   - 1,200 prepaid for the year, 10,000 calls: 225.00 covered, 275.00 short
//     (not 0, were the 1,200 purchase counted; not 500, were covered usage
//     left out);
//   - 300 prepaid for January, 10,000 calls: 225.00 covered, 75.00 expires,
//     still 275.00 short (the breakage is no spend);
//   - 300 prepaid for January, 25,000 calls: 300.00 covered and 225.00
//     overage, 525.00 spent: no true-up;
//   - nothing prepaid, 10,000 calls: 275.00 short, as with the prepayment.
//
// The true-up is billed (with 20% VAT), never drawn from the commitment.
func TestMinimumCommitmentCountsConsumption(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	cases := []struct {
		name    string
		prepaid []invoice.PrepaidCommitment
		calls   string
		want    []string // kind, amount, covered
		due     string
	}{
		{"prepaid for the year", []invoice.PrepaidCommitment{{ID: "c", Amount: dec("1200"), Start: date(2026, 1, 1), End: date(2027, 1, 1)}}, "10000",
			[]string{"commitment_true_up 275.00 -", "prepayment 1200.00 -", "usage 225.00 225.00"}, "1770.00"},
		{"prepaid for January, left over", []invoice.PrepaidCommitment{{ID: "c", Amount: dec("300"), Start: date(2026, 1, 1), End: date(2026, 2, 1)}}, "10000",
			[]string{"commitment_true_up 275.00 -", "prepaid_breakage 75.00 75.00", "prepayment 300.00 -", "usage 225.00 225.00"}, "690.00"},
		{"prepaid for January, overage", []invoice.PrepaidCommitment{{ID: "c", Amount: dec("300"), Start: date(2026, 1, 1), End: date(2026, 2, 1)}}, "25000",
			[]string{"prepayment 300.00 -", "usage 525.00 300.00"}, "630.00"},
		{"nothing prepaid", nil, "10000",
			[]string{"commitment_true_up 275.00 -", "usage 225.00 -"}, "600.00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
			s.Commitment = &invoice.Commitment{Minimum: dec("500")}
			s.Prepaid = tc.prepaid
			inv := build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, 2, 1), Usage: []usage.Aggregate{monthUsage("s1/api", time.January, tc.calls)}}, s)
			var got []string
			for _, l := range inv.Lines {
				cov := "-"
				if l.Prepaid != nil {
					cov = l.Prepaid.Covered.AmountString()
				}
				got = append(got, l.Kind.String()+" "+l.Amount.AmountString()+" "+cov)
				if l.Kind == invoice.KindCommitmentTrueUp {
					require.Nil(t, l.Prepaid, "a true-up is billed, never drawn")
					require.Equal(t, "275.00", l.Net.AmountString())
					require.Contains(t, invoice.Explain(l), "the lines starting in it net EUR 225.00")
				}
			}
			slices.Sort(got)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.due, inv.AmountDue.AmountString())
		})
	}
}

// What is left of a prepaid commitment expires when the subscription ends
// inside its term, not at the term's end: EUR 300 bought for 2026, EUR 100
// drawn by March 1, the subscription cancelled on March 20 (or its last
// item ending then). March's 2,000 calls (45 + 1,000 × 0.02 = 65.00, served
// until March 20) draw 65.00; the 135.00 left expires on March 20 as
// breakage, in the run that bills the cancellation: with a rollover too,
// since there is nothing left to roll over into. Without the end, nothing
// expires until 2027.
func TestPrepaidExpiresAtTheSubscriptionsEnd(t *testing.T) {
	b := builder(t, invoice.Options{})
	base := invoice.PrepaidCommitment{ID: "2026", Amount: dec("300"), Start: date(2026, 1, 1), End: date(2027, 1, 1),
		Meters: []usage.MeterID{"api_calls"}, Drawn: dec("100"), DrawnThrough: date(2026, 3, 1)}
	rollover := base
	rollover.Expiry, rollover.RolloverEnd = invoice.Rollover, date(2027, 7, 1)
	cancelled := func(c invoice.PrepaidCommitment) invoice.Subscription {
		s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
		s.CancelAt = date(2026, 3, 20)
		s.Prepaid = []invoice.PrepaidCommitment{c}
		return s
	}
	ended := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), date(2026, 3, 20), pin("api", 1), "1")))
	ended.Prepaid = []invoice.PrepaidCommitment{base}
	cases := []struct {
		name string
		s    invoice.Subscription
	}{
		{"cancelled", cancelled(base)},
		{"cancelled, with a rollover", cancelled(rollover)},
		{"its last item ended", ended},
	}
	run := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{marchUsage("s1/api", "2000")}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := build1(t, b, run, tc.s)
			require.Equal(t, []string{"usage calls 65.00", "prepaid_breakage  135.00"}, amounts(inv))
			use := inv.Lines[0]
			require.Equal(t, "65.00", use.Prepaid.Covered.AmountString())
			require.True(t, use.Period.Equal(ensemble.MustPeriod(date(2026, 3, 1), date(2026, 3, 20))), "%s", use.Period)
			brk := inv.Lines[1]
			require.True(t, brk.Date.Equal(date(2026, 3, 20)), "expires at the end: %s", brk.Date)
			require.True(t, brk.Period.Equal(ensemble.MustPeriod(date(2026, 1, 1), date(2026, 3, 20))), "%s", brk.Period)
			require.True(t, brk.Net.IsZero(), "breakage bills nothing")
			require.Contains(t, brk.Description, "at the subscription's end")
			require.Len(t, inv.Prepaid, 1)
			p := inv.Prepaid[0]
			require.Equal(t, [4]string{"65.00", "135.00", "0.00", "300"},
				[4]string{p.Drawn.AmountString(), p.Expired.AmountString(), p.Remaining.AmountString(), p.Total.String()})
		})
	}

	open := cancelled(base)
	open.CancelAt = time.Time{}
	inv := build1(t, b, run, open)
	require.Equal(t, []string{"usage calls 65.00"}, amounts(inv), "nothing expires while the subscription goes on")
	require.Equal(t, "135.00", inv.Prepaid[0].Remaining.AmountString())
}

// The documented way to refund what is left at a cancellation instead of
// letting it expire: before the run that bills the end, a credit note of
// the purchase for Remaining/Amount of it (200/300 of 300.00 + 60.00 VAT:
// 240.00, net 200.00, all unused), then Amount lowered by the unused part.
// The run then bills March's 65.00 as overage and nothing expires.
func TestPrepaidRefundBeforeTheEnd(t *testing.T) {
	b := builder(t, invoice.Options{Taxes: taxes})
	s := sub("s1", date(2026, 1, 1), item("api", seg(date(2026, 1, 1), time.Time{}, pin("api", 1), "1")))
	s.CancelAt = date(2026, 3, 20)
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "2026", Amount: dec("300"), Start: date(2026, 1, 1), End: date(2027, 1, 1), Meters: []usage.MeterID{"api_calls"}}}
	jan := build1(t, b, invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}, s)
	jan, err := invoice.Issue(jan, date(2026, 1, 1))
	require.NoError(t, err)
	s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = dec("100"), date(2026, 3, 1) // what January and February drew
	cn, err := invoice.NewCreditNote(jan, nil, invoice.CreditRequest{ID: "refund", Reason: invoice.ReasonRefund, At: date(2026, 3, 15),
		Lines:   []invoice.CreditLine{{Line: jan.Lines[0].ID, Percent: ensemble.MustRatio("200/300")}},
		Prepaid: []invoice.PrepaidDrawn{{Commitment: "2026", Drawn: dec("100")}}})
	require.NoError(t, err)
	rf := cn.Lines[0].Prepaid.Refund
	require.Equal(t, [3]string{"-240.00", "-200.00", "0.00"}, [3]string{cn.Total.AmountString(), rf.Unused.AmountString(), rf.Used.AmountString()})
	s.Prepaid[0].Amount = s.Prepaid[0].Amount.Add(rf.Unused.Amount())
	inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{marchUsage("s1/api", "2000")}}, s)
	require.Equal(t, []string{"usage calls 65.00"}, amounts(inv))
	require.Nil(t, inv.Lines[0].Prepaid, "nothing left to cover it: overage")
	require.Equal(t, "65.00", inv.Lines[0].Net.AmountString())
	require.Equal(t, "0.00", inv.Prepaid[0].Expired.AmountString())
}

// TestPrepaidPurchaseAttributedToTheAddOnThatDraws: a commitment drawn by
// an add-on's charge (Extra storage on a Basic item) was attributed to the
// item's offer, Basic, when Offer was left zero, so settlement paid the
// purchase by Basic's plan and the add-on's partner none of it. It takes
// the add-on's offer; drawn by the charges of two offers, or of none, it
// names them and asks for Offer rather than pick one.
func TestPrepaidPurchaseAttributedToTheAddOnThatDraws(t *testing.T) {
	b := builder(t, invoice.Options{})
	withStorage := seg(date(2026, 1, 1), time.Time{}, pin("basic", 1), "1")
	withStorage.AddOns = []invoice.AddOn{{Pin: pin("storage", 1), Quantity: dec("2")}}
	run := invoice.Run{After: date(2025, 12, 31), At: date(2026, 1, 1)}
	purchase := func(c invoice.PrepaidCommitment, items ...invoice.Item) (invoice.Line, error) {
		s := sub("s1", date(2026, 1, 1), items...)
		c.ID, c.Amount, c.Start, c.End = "c", dec("100"), date(2026, 1, 1), date(2027, 1, 1)
		s.Prepaid = []invoice.PrepaidCommitment{c}
		invs, err := b.Build(run, []invoice.Subscription{s})
		if err != nil {
			return invoice.Line{}, err
		}
		for _, l := range invs[0].Lines {
			if l.Kind == invoice.KindPrepayment {
				return l, nil
			}
		}
		t.Fatalf("no purchase line")
		return invoice.Line{}, nil
	}

	l, err := purchase(invoice.PrepaidCommitment{Charges: []catalog.ChargeID{"tb"}}, item("a", withStorage))
	require.NoError(t, err)
	require.Equal(t, pin("storage", 1), l.Pin, "the add-on's charge draws: the purchase is the add-on's")

	_, err = purchase(invoice.PrepaidCommitment{Charges: []catalog.ChargeID{"tb", "seats"}}, item("a", withStorage))
	require.ErrorIs(t, err, invoice.ErrRequired)
	require.ErrorContains(t, err, `subscriptions[0].prepaid[0].offer`)
	require.ErrorContains(t, err, `charges of offers basic@1, storage@1 draw on commitment "c": name the offer`)

	l, err = purchase(invoice.PrepaidCommitment{Charges: []catalog.ChargeID{"tb", "seats"}, Offer: pin("storage", 1)}, item("a", withStorage))
	require.NoError(t, err)
	require.Equal(t, pin("storage", 1), l.Pin, "Offer decides")

	_, err = purchase(invoice.PrepaidCommitment{Charges: []catalog.ChargeID{"tb"}}, item("a", seg(date(2026, 1, 1), time.Time{}, pin("basic", 1), "1")))
	require.ErrorIs(t, err, invoice.ErrRequired)
	require.ErrorContains(t, err, `no charge of the subscription's items or add-ons draws on commitment "c" during its term`)
}
