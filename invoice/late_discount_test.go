package invoice_test

import (
	"fmt"
	"pgregory.net/rapid"
	"slices"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// kindsOf returns each line of inv as "kind charge month net credits".
func kindsOf(inv invoice.Invoice) []string {
	var out []string
	for _, l := range inv.Lines {
		out = append(out, l.Kind.String()+" "+string(l.Charge)+" "+l.Period.Start.Format("01")+" "+l.Net.AmountString()+" "+string(l.Credits))
	}
	return out
}

// "15% off usage" from the subscription's start (June 1), recorded on July
// 10, after the run of July 1 billed June's 4,000 events (400.00) without
// it: the run of August 1 credits the customer 15% of what June's usage
// billed (a credit_note line of -60.00 crediting June's usage line,
// traced to the discount), besides July's usage 15% off (85.00). The run
// of September 1, given what August's billed, credits nothing more. Before,
// June's usage stood undiscounted: the customer paid 60.00 the contract
// no longer owes.
func TestLateUsageDiscountCreditsBilledUsage(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	jun, jul := chargesMonthly(t, b, s, "4000")
	var june invoice.Line
	for _, l := range jul.Lines {
		if l.Kind == invoice.KindUsage {
			june = l
		}
	}
	require.Equal(t, "400.00", june.Net.AmountString())
	s.Discounts = []invoice.Discount{{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 7, 10)}}
	billed := append(jun.Lines, jul.Lines...)
	aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")}, Billed: billed}, s)
	require.Equal(t, []string{
		"credit_note events 06 -60.00 " + string(june.ID),
		"usage events 07 85.00 ",
		"recurring platform 08 200.00 ",
	}, kindsOf(aug))
	var credit invoice.Line
	for _, l := range aug.Lines {
		if l.Kind == invoice.KindCreditNote {
			credit = l
		}
	}
	require.Contains(t, credit.Refs, ensemble.Ref{Kind: invoice.RefDiscount, ID: "usage-15"})
	require.Contains(t, credit.Refs, ensemble.Ref{Kind: invoice.RefLine, ID: string(june.ID)})
	aug, err := invoice.Issue(aug, date(2026, 8, 1))
	require.NoError(t, err)

	sep := build1(t, b, invoice.Run{After: date(2026, 8, 1), At: date(2026, 9, 1), Usage: []usage.Aggregate{eventsIn(time.August, "1000")},
		Billed: append(billed, aug.Lines...)}, s)
	require.Equal(t, []string{"usage events 08 85.00 ", "recurring platform 09 200.00 "}, kindsOf(sep))
}

// A fixed amount off usage recorded late (10.00 off the events of every
// month, recorded on July 10 after June's usage was billed) cannot be
// credited exactly (a cycle's lines take it in the order they are due):
// the run is refused with a *LateDiscountError naming the discount and
// June's usage line and period, where it left June's usage undiscounted
// without a word. So is a percentage discount on a subscription with a
// minimum commitment, whose true-up is not recomputed.
func TestLateUsageDiscountRefusedWhenNotExact(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	jun, jul := chargesMonthly(t, b, s, "4000")
	billed := append(jun.Lines, jul.Lines...)
	run := invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")}, Billed: billed}
	juneUsage := ensemble.MustPeriod(date(2026, 6, 1), date(2026, 7, 1))

	for name, c := range map[string]struct {
		d          invoice.Discount
		commitment *invoice.Commitment
	}{
		"fixed":      {d: invoice.Discount{ID: "usage-10off", Amount: dec("10.00"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 7, 10)}},
		"commitment": {d: invoice.Discount{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 7, 10)}, commitment: &invoice.Commitment{Minimum: dec("100.00")}},
	} {
		t.Run(name, func(t *testing.T) {
			s := s
			s.Discounts = []invoice.Discount{c.d}
			s.Commitment = c.commitment
			_, err := b.Build(run, []invoice.Subscription{s})
			require.ErrorIs(t, err, invoice.ErrLateDiscount)
			var le *invoice.LateDiscountError
			require.ErrorAs(t, err, &le)
			require.Equal(t, c.d.ID, le.Discount)
			require.Equal(t, invoice.ItemID("box"), le.Item)
			require.True(t, le.Period.Equal(juneUsage), "period %s", le.Period)
			require.Contains(t, string(le.Line), "20260601")
		})
	}
}

// Property: a percentage discount (scoped to usage or not, from a drawn
// month, for ever, once, a few cycles or a few months of calendar time
// from a drawn day) recorded at a drawn instant
// after some runs billed usage it covers: the monthly runs, each given the
// lines issued before and the discount once it is recorded, bill every
// usage period what one run knowing the discount from the start
// bills it, tax included (taxed or exempt), to the cent: the late credits
// make up the discount on the usage billed before it was known, once.
//
// The host also credits some months' usage lines with credit notes of its
// own (a drawn share of what is left of the line, after a drawn run, before
// or after the discount is recorded or credited), given to the later runs
// in Run.Billed: the discount then applies to what the customer still pays
// for, so each such month bills what one run bills it, less each note's
// share of what was left, within a minor unit per line and note; no line is
// ever credited more than it billed (before, a late credit ignored the
// host's notes: 60.00 credited again after a full note of 400.00).
func TestLateUsageDiscountRunsBillOneRunProperty(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(chargesCatalog))
	require.NoError(t, err)
	exempt, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	taxed, err := invoice.NewBuilder(cat, invoice.Options{Taxes: invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "vat-fr", Region: "FR", Rate: ensemble.MustRatio("19.6%")}}}})
	require.NoError(t, err)
	rapid.Check(t, func(t *rapid.T) {
		b, tax := exempt, rapid.Bool().Draw(t, "taxed")
		if tax {
			b = taxed
		}
		sub := func() invoice.Subscription {
			s := chargesSub()
			s.Customer.TaxExempt = !tax
			return s
		}
		months := rapid.IntRange(2, 4).Draw(t, "months")
		events := make([]string, months)
		for m := range events {
			events[m] = fmt.Sprint(rapid.IntRange(0, 5000).Draw(t, "events"))
		}
		d := invoice.Discount{ID: "late", Percent: ensemble.MustRatio(fmt.Sprintf("%d%%", rapid.IntRange(1, 100).Draw(t, "percent")))}
		if rapid.Bool().Draw(t, "scoped") {
			d.Charges = []catalog.ChargeID{"events"}
		}
		if from := rapid.IntRange(0, months-1).Draw(t, "from"); from > 0 {
			d.Start = date(2026, time.June+time.Month(from), 1)
		}
		switch rapid.IntRange(0, 3).Draw(t, "duration") {
		case 1:
			d.Duration = invoice.Once
		case 2:
			d.Duration, d.Cycles = invoice.Repeating, rapid.IntRange(1, 3).Draw(t, "cycles")
		case 3: // calendar time from a day inside a month: usage periods it covers in part
			d.Duration, d.Length = invoice.Repeating, ensemble.Every(rapid.IntRange(1, 3).Draw(t, "length"), ensemble.Monthly)
			d.Start = date(2026, time.June+time.Month(rapid.IntRange(0, months-1).Draw(t, "from month")), rapid.IntRange(1, 28).Draw(t, "from day"))
		}
		// Recorded inside month k (after the run of its start).
		k := rapid.IntRange(1, months).Draw(t, "recorded in")
		d.Recorded = date(2026, time.June+time.Month(k-1), 1).Add(time.Duration(rapid.IntRange(1, 27*24).Draw(t, "hour")) * time.Hour)

		agg := func(m int) usage.Aggregate { return eventsIn(time.June+time.Month(m), events[m]) }
		byCycle := func(invs []invoice.Invoice, into map[string]ensemble.Money) {
			for _, inv := range invs {
				for _, l := range inv.Lines {
					if l.Charge != "events" {
						continue
					}
					key := l.Cycle.Start.Format("01")
					sum, err := into[key].Add(l.Total)
					require.NoError(t, err)
					into[key] = sum
				}
			}
		}
		// The host's notes: on month u's usage line, raised after run
		// noteAfter[u] (u+1 bills it), of share[u]% of what is left.
		noteAfter, share := make([]int, months), make([]int64, months)
		for u := range months {
			if rapid.IntRange(0, 2).Draw(t, "note") == 0 {
				noteAfter[u] = rapid.IntRange(u+1, months).Draw(t, "note after run")
				share[u] = int64(rapid.IntRange(1, 100).Draw(t, "note share"))
			}
		}
		kept := map[string]decimal.Decimal{} // month -> what its notes left, a fraction
		notes := map[string]int{}            // month -> notes raised
		runInv := make([]invoice.Invoice, months+1)
		var runLines []invoice.Line // the runs' lines (without the notes)
		prior := make([][]invoice.CreditNote, months+1)
		got := map[string]ensemble.Money{}
		var billed []invoice.Line
		var after time.Time
		for m := 0; m <= months; m++ {
			at := date(2026, time.June+time.Month(m), 1)
			s := sub()
			if !d.Recorded.After(at) {
				s.Discounts = []invoice.Discount{d}
			}
			run := invoice.Run{After: after, At: at, Billed: slices.Clone(billed)}
			if m > 0 {
				run.Usage = []usage.Aggregate{agg(m - 1)}
			}
			invs, err := b.Build(run, []invoice.Subscription{s})
			require.NoError(t, err)
			for i := range invs {
				inv, err := invoice.Issue(invs[i], at)
				require.NoError(t, err)
				billed = append(billed, inv.Lines...)
				runLines = append(runLines, inv.Lines...)
				invs[i] = inv
			}
			require.LessOrEqual(t, len(invs), 1)
			if len(invs) == 1 {
				runInv[m] = invs[0]
			}
			byCycle(invs, got)
			after = at
			for u := range months {
				if noteAfter[u] != m || share[u] == 0 || runInv[u+1].ID == "" {
					continue
				}
				inv := runInv[u+1]
				var line invoice.Line
				for _, l := range inv.Lines {
					if l.Kind == invoice.KindUsage && l.Charge == "events" {
						line = l
					}
				}
				var later []invoice.Line
				for _, l := range runLines {
					if l.Date.After(inv.Date) {
						later = append(later, l)
					}
				}
				rem, err := invoice.Remaining(inv, prior[u+1], later...)
				require.NoError(t, err)
				var left ensemble.Money
				for _, r := range rem {
					if r.Line == line.ID {
						left = r.Total
					}
				}
				if line.ID == "" || !left.IsPositive() {
					continue
				}
				amount := left.Amount().Mul(decimal.NewFromInt(share[u])).Div(decimal.NewFromInt(100)).Truncate(2)
				if !amount.IsPositive() {
					continue
				}
				cn, err := invoice.NewCreditNote(inv, prior[u+1], invoice.CreditRequest{ID: fmt.Sprintf("host%d", m), Reason: invoice.ReasonGoodwill,
					At: at.Add(time.Hour), Lines: []invoice.CreditLine{{Line: line.ID, Amount: amount}}, Prorated: later})
				require.NoError(t, err)
				prior[u+1] = append(prior[u+1], cn)
				billed = append(billed, cn.Lines...)
				key := line.Cycle.Start.Format("01")
				for _, l := range cn.Lines {
					sum, err := got[key].Add(l.Total)
					require.NoError(t, err)
					got[key] = sum
				}
				k, ok := kept[key]
				if !ok {
					k = decimal.NewFromInt(1)
				}
				kept[key] = k.Mul(decimal.NewFromInt(1).Sub(amount.DivRound(left.Amount(), 24)))
				notes[key]++
			}
		}
		// No line is credited more than it billed.
		for u := 1; u <= months; u++ {
			if runInv[u].ID == "" {
				continue
			}
			var later []invoice.Line
			for _, l := range runLines {
				if l.Date.After(runInv[u].Date) {
					later = append(later, l)
				}
			}
			rem, err := invoice.Remaining(runInv[u], prior[u], later...)
			require.NoError(t, err)
			for _, r := range rem {
				require.False(t, r.Total.IsNegative(), "line %s of run %d: %s left", r.Line, u, r.Total)
			}
		}
		s := sub()
		known := d
		known.Recorded = time.Time{}
		s.Discounts = []invoice.Discount{known}
		var all []usage.Aggregate
		for m := range months {
			all = append(all, agg(m))
		}
		one, err := b.Build(invoice.Run{At: date(2026, time.June+time.Month(months), 1), Usage: all}, []invoice.Subscription{s})
		require.NoError(t, err)
		want := map[string]ensemble.Money{}
		byCycle(one, want)
		for m := range months {
			key := date(2026, time.June+time.Month(m), 1).Format("01")
			if k, ok := kept[key]; ok {
				// Each note gives back its share of what was left: what one
				// run bills, less the same shares, within a minor unit per
				// line and note (the usage line, the late credit, each note).
				w := want[key].Amount().Mul(k)
				off := got[key].Amount().Sub(w).Abs()
				require.True(t, off.LessThanOrEqual(decimal.New(int64(2+notes[key]), -2)),
					"usage of month %s with notes leaving %s: the runs bill %s with tax, one run %s less the notes' shares %s", key, k.StringFixed(6), got[key], want[key], w.StringFixed(4))
				continue
			}
			require.True(t, got[key].Equal(want[key]), "usage of month %s: the runs bill %s with tax, one run %s", key, got[key], want[key])
		}
	})
}

// The late discount's credit counts, given among the later lines
// (CreditRequest.Prorated), in what remains creditable of June's usage
// line: 340.00 of its 400.00, so a full credit note of it gives back
// 340.00, not the 60.00 twice.
func TestLateUsageDiscountCreditCountsInRemaining(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	jun, jul := chargesMonthly(t, b, s, "4000")
	s.Discounts = []invoice.Discount{{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 7, 10)}}
	aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")},
		Billed: append(jun.Lines, jul.Lines...)}, s)
	aug, err := invoice.Issue(aug, date(2026, 8, 1))
	require.NoError(t, err)
	rem, err := invoice.Remaining(jul, nil, aug.Lines...)
	require.NoError(t, err)
	var usageLeft string
	for _, r := range rem {
		for _, l := range jul.Lines {
			if l.ID == r.Line && l.Kind == invoice.KindUsage {
				usageLeft = r.Total.AmountString()
			}
		}
	}
	require.Equal(t, "340.00", usageLeft)
	// An invoice's own carried credits are not counted twice when given too.
	_, err = invoice.Remaining(aug, nil, aug.Lines...)
	require.NoError(t, err)
}

// Late usage billed before the discount was recorded counts: June's 4,000
// events billed 400.00 on July 1 and 1,000 more, late, 100.00 on August 1
// (a usage adjustment); "15% off usage" recorded on August 10 makes the
// run of September 1 credit 15% of the 500.00 June billed, 75.00, split
// over the lines it credits in proportion to what they billed: 60.00 of
// the usage line and 15.00 of the adjustment, so that no credit gives
// back more than its line billed (the whole 75.00 against the usage line
// would overdraw a small usage line beside a large adjustment); and 15.00
// of July's usage, billed on August 1 too.
func TestLateUsageDiscountCreditsLateUsageToo(t *testing.T) {
	b := chargesBuilder(t)
	s := chargesSub()
	jun, jul := chargesMonthly(t, b, s, "4000")
	late := eventsIn(time.June, "1000")
	late.Late, late.Digest = true, usage.DigestOf("eJuneLate")
	aug := build1(t, b, invoice.Run{After: date(2026, 7, 1), At: date(2026, 8, 1), Usage: []usage.Aggregate{eventsIn(time.July, "1000")},
		Late: []invoice.LateUsage{{Billed: eventsIn(time.June, "4000"), Late: late}}, Billed: append(jun.Lines, jul.Lines...)}, s)
	aug, err := invoice.Issue(aug, date(2026, 8, 1))
	require.NoError(t, err)
	var adj invoice.Line
	for _, l := range aug.Lines {
		if l.Kind == invoice.KindUsageAdjustment {
			adj = l
		}
	}
	require.Equal(t, "100.00", adj.Net.AmountString())

	s.Discounts = []invoice.Discount{{ID: "usage-15", Percent: ensemble.MustRatio("15%"), Charges: []catalog.ChargeID{"events"}, Recorded: date(2026, 8, 10)}}
	sep := build1(t, b, invoice.Run{After: date(2026, 8, 1), At: date(2026, 9, 1), Usage: []usage.Aggregate{eventsIn(time.August, "1000")},
		Billed: append(append(jun.Lines, jul.Lines...), aug.Lines...)}, s)
	var credits []string
	for _, l := range sep.Lines {
		if l.Kind == invoice.KindCreditNote {
			credits = append(credits, string(l.Credits)+" "+l.Net.AmountString())
		}
	}
	require.ElementsMatch(t, []string{
		"mkt/box/20260601T000000Z/trialbox/events/usage -60.00",
		string(adj.ID) + " -15.00",
		"mkt/box/20260701T000000Z/trialbox/events/usage -15.00", // July's 100.00, billed August 1
	}, credits)
}
