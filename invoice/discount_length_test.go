package invoice_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// threeMonths is 30% off for the first three months, counted in calendar
// time from the discount's start.
func threeMonths(id invoice.DiscountID) invoice.Discount {
	return invoice.Discount{ID: id, Percent: ensemble.MustRatio("30%"), Duration: invoice.Repeating, Length: ensemble.Every(3, ensemble.Monthly)}
}

// monthly builds the subscription run by run, one run per month from June
// 2026 to October, and returns each invoice's net.
func monthly(t *testing.T, s invoice.Subscription) []string {
	t.Helper()
	b := builder(t, invoice.Options{})
	var got []string
	after := time.Time{}
	for _, at := range []time.Time{date(2026, 6, 30), date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)} {
		inv := build1(t, b, invoice.Run{After: after, At: at}, s)
		got = append(got, inv.Subtotal.AmountString())
		after = at
	}
	return got
}

// The trial's contract: 30% off the first three months of a 600.00 monthly
// plan (20 seats of pro) that starts on June 15, on cycles anchored on the
// 1st. Counted in cycles, the 16-day stub spends the first: September is
// billed 600.00. Counted in months, the discount covers June 15 to
// September 15: September's first 14 days take 84.00 off (516.00), and the
// discount comes to 96.00 + 180.00 + 180.00 + 84.00 = 540.00, three months
// of 180.00.
func TestDiscountLengthBillsTheMonthsItSays(t *testing.T) {
	plan := func(d invoice.Discount) invoice.Subscription {
		it := item("i1", seg(date(2026, 6, 15), time.Time{}, pin("pro", 1), "20"))
		it.Discounts = []invoice.Discount{d}
		return sub("s1", date(2026, 6, 1), it)
	}
	cycles := threeMonths("intro")
	cycles.Length, cycles.Cycles = ensemble.Cadence{}, 3
	for _, tc := range []struct {
		name string
		d    invoice.Discount
		want []string // June (the stub), July, August, September, October
	}{
		{"three cycles", cycles, []string{"224.00", "420.00", "420.00", "600.00", "600.00"}},
		{"three months", threeMonths("intro"), []string{"224.00", "420.00", "420.00", "516.00", "600.00"}},
		{"10.00 off for three months, prorated", invoice.Discount{ID: "intro", Amount: dec("10"), Duration: invoice.Repeating, Length: ensemble.Every(3, ensemble.Monthly)},
			[]string{"314.67", "590.00", "590.00", "595.33", "600.00"}}, // 320 - 5.33 (16/30), 600 - 4.67 (14/30)
		{"14 days free", invoice.Discount{ID: "trial", Percent: ensemble.MustRatio("100%"), Duration: invoice.Repeating, Length: ensemble.Every(14, ensemble.Daily)},
			[]string{"40.00", "600.00", "600.00", "600.00", "600.00"}}, // June 29-30 of the stub
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, monthly(t, plan(tc.d)))
		})
	}
}

// A discount with its own start inside a cycle billed in advance takes the
// part of the cycle from its start: 30% off three months from June 15 on a
// subscription running since June 1 takes 96.00 of June's 600.00 and
// 84.00 of September's.
func TestDiscountLengthFromItsOwnStart(t *testing.T) {
	d := threeMonths("intro")
	d.Start = date(2026, 6, 15)
	s := sub("s1", date(2026, 6, 1), item("i1", seg(date(2026, 6, 1), time.Time{}, pin("pro", 1), "20")))
	s.Discounts = []invoice.Discount{d}
	require.Equal(t, []string{"504.00", "420.00", "420.00", "516.00", "600.00"}, monthly(t, s))
}

// A cancellation inside the cycle the discount ends in credits the unused
// time at what it was billed: the credit of September 10 to October 1
// gives back the discount of September 10 to 15 (30.00 of 420.00), so
// September nets 126.00, the 180.00 of nine days less 54.00 for them.
func TestDiscountLengthCreditedAtTheCancellation(t *testing.T) {
	it := item("i1", seg(date(2026, 6, 15), time.Time{}, pin("pro", 1), "20"))
	it.Discounts = []invoice.Discount{threeMonths("intro")}
	s := sub("s1", date(2026, 6, 1), it)
	s.CancelAt = date(2026, 9, 10)
	b := builder(t, invoice.Options{})
	inv := build1(t, b, invoice.Run{After: date(2026, 9, 1), At: date(2026, 9, 10)}, s)
	require.Len(t, inv.Lines, 1)
	l := inv.Lines[0]
	require.Equal(t, invoice.KindProrationCredit, l.Kind)
	require.Equal(t, "-420.00", l.Amount.AmountString())
	require.Equal(t, "-30.00", l.Discount.AmountString())
	require.Equal(t, "-390.00", inv.Subtotal.AmountString()) // with September's 516.00: 126.00
}

// In arrears and on usage, a period the discount ends in takes it for the
// share of its service inside: September's support (10 × 20.00 in arrears)
// takes 28.00 (30% of 200.00 × 14/30), its usage of 1,000 calls (45.00)
// 6.30, whenever in September they were made, and 300 calls learnt late
// (51.00 - 45.00) 0.84 more (7.14 - 6.30).
func TestDiscountLengthInArrearsAndOnUsage(t *testing.T) {
	s := sub("s1", date(2026, 6, 1),
		item("api", seg(date(2026, 6, 15), time.Time{}, pin("api", 1), "1")),
		item("help", seg(date(2026, 6, 15), time.Time{}, pin("support", 1), "10")))
	s.Customer.TaxExempt = true
	s.Discounts = []invoice.Discount{threeMonths("intro")} // from the subscription's start, June 15
	sept := func(value string, late bool, ids ...usage.RecordID) usage.Aggregate {
		return usage.Aggregate{Line: "s1/api", Meter: "api_calls", Aggregation: usage.Sum, Late: late,
			Period: ensemble.MustPeriod(date(2026, 9, 1), date(2026, 10, 1)), Value: dec(value), Records: int64(len(ids)), Digest: usage.DigestOf(ids...)}
	}
	b := builder(t, invoice.Options{})
	inv := build1(t, b, invoice.Run{After: date(2026, 9, 30), At: date(2026, 10, 1), Usage: []usage.Aggregate{sept("1000", false, "r1")}}, s)
	got := map[invoice.ItemID]string{}
	for _, l := range inv.Lines {
		got[l.Item] = l.Amount.AmountString() + " - " + l.Discount.AmountString()
	}
	require.Equal(t, map[invoice.ItemID]string{"api": "45.00 - 6.30", "help": "200.00 - 28.00"}, got)

	late := build1(t, b, invoice.Run{After: date(2026, 10, 1), At: date(2026, 10, 2),
		Late: []invoice.LateUsage{{Billed: sept("1000", false, "r1"), Late: sept("300", true, "r2")}}}, s)
	require.Len(t, late.Lines, 1)
	require.Equal(t, "6.00", late.Lines[0].Amount.AmountString())
	require.Equal(t, "0.84", late.Lines[0].Discount.AmountString())
}

// A one-time fee, billed at an instant, takes a discount counted in
// calendar time whole when that instant is inside it, and none otherwise.
func TestDiscountLengthOnAOneTimeFee(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start time.Time
		want  string
	}{
		{"from the item's start", time.Time{}, "15.00"}, // 30% of the 50.00 setup fee
		{"from a day later", date(2026, 6, 16), "0.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := item("i1", seg(date(2026, 6, 15), time.Time{}, pin("basic", 1), "1"))
			d := threeMonths("intro")
			d.Start = tc.start
			it.Discounts = []invoice.Discount{d}
			inv := build1(t, builder(t, invoice.Options{}), invoice.Run{At: date(2026, 6, 15)}, sub("s1", date(2026, 6, 1), it))
			for _, l := range inv.Lines {
				if l.Kind == invoice.KindOneTime {
					require.Equal(t, tc.want, l.Discount.AmountString())
					return
				}
			}
			t.Fatal("no one-time line")
		})
	}
}

// A discount's duration that cannot be billed is refused when the run is
// validated, naming the field: ErrDiscountDuration, which matches
// ErrInvalid.
func TestDiscountDurationErrors(t *testing.T) {
	months := ensemble.Every(3, ensemble.Monthly)
	for _, tc := range []struct {
		name string
		d    invoice.Discount
		path string
	}{
		{"repeating with neither cycles nor length", invoice.Discount{Duration: invoice.Repeating}, "discounts[0].cycles"},
		{"negative cycles", invoice.Discount{Duration: invoice.Repeating, Cycles: -2}, "discounts[0].cycles"},
		{"both cycles and length", invoice.Discount{Duration: invoice.Repeating, Cycles: 3, Length: months}, "discounts[0]"},
		{"a length of no unit", invoice.Discount{Duration: invoice.Repeating, Length: ensemble.Cadence{Count: 3}}, "discounts[0].length"},
		{"a negative length", invoice.Discount{Duration: invoice.Repeating, Length: ensemble.Every(-1, ensemble.Monthly)}, "discounts[0].length"},
		{"a length too long", invoice.Discount{Duration: invoice.Repeating, Length: ensemble.Every(ensemble.MaxCadenceCount+1, ensemble.Monthly)}, "discounts[0].length"},
		{"a length on a one-off discount", invoice.Discount{Duration: invoice.Once, Length: months}, "discounts[0].length"},
		{"a length forever", invoice.Discount{Length: months}, "discounts[0].length"},
		{"cycles forever", invoice.Discount{Cycles: 2}, "discounts[0].cycles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.d.ID, tc.d.Percent = "intro", ensemble.MustRatio("30%")
			it := item("i1", seg(date(2026, 6, 15), time.Time{}, pin("pro", 1), "1"))
			s := sub("s1", date(2026, 6, 1), it)
			s.Discounts = []invoice.Discount{tc.d}
			invs, err := builder(t, invoice.Options{}).Build(invoice.Run{At: date(2026, 7, 1)}, []invoice.Subscription{s})
			require.Nil(t, invs)
			require.ErrorIs(t, err, invoice.ErrDiscountDuration)
			require.ErrorIs(t, err, invoice.ErrInvalid)
			var fe *ensemble.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, "subscriptions[0]."+tc.path, fe.Path)
		})
	}
}

// A discount's Length reads and writes as a cadence.
func TestDiscountLengthJSON(t *testing.T) {
	var d invoice.Discount
	require.NoError(t, json.Unmarshal([]byte(`{"id":"intro","percent":"30%","duration":"repeating","length":{"unit":"monthly","count":3}}`), &d))
	require.Equal(t, ensemble.Every(3, ensemble.Monthly), d.Length)
	roundTrip(t, d)
}

// A discount lasting three months from June 15, recorded on August 20
// after the runs of June, July and August billed them whole, is caught up
// by the run of September given what was billed (Run.Billed): June to
// August are billed anew with it, September takes its 84.00, and the five
// invoices come to what they would have with the discount known: 224.00 +
// 420.00 + 420.00 + 516.00 + 600.00 = 2,180.00.
func TestDiscountLengthRecordedLateIsCaughtUp(t *testing.T) {
	s := sub("s1", date(2026, 6, 1), item("i1", seg(date(2026, 6, 15), time.Time{}, pin("pro", 1), "20")))
	b := builder(t, invoice.Options{})
	var billed []invoice.Line
	var got []string
	total := money("0")
	after := time.Time{}
	for _, at := range []time.Time{date(2026, 6, 30), date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)} {
		if at.Equal(date(2026, 9, 1)) {
			d := threeMonths("intro")
			d.Recorded = date(2026, 8, 20)
			s.Items[0].Discounts = []invoice.Discount{d}
		}
		inv := build1(t, b, invoice.Run{After: after, At: at, Billed: billed}, s)
		billed = append(billed, inv.Lines...)
		got = append(got, inv.Subtotal.AmountString())
		var err error
		total, err = total.Add(inv.Subtotal)
		require.NoError(t, err)
		after = at
	}
	require.Equal(t, []string{"320.00", "600.00", "600.00", "60.00", "600.00"}, got) // 60.00 = 516.00 - 96.00 - 180.00 - 180.00
	require.Equal(t, "2180.00", total.AmountString())
}

// A line the discount covers in part says which part (AppliedDiscount.
// Service), and Explain shows it.
func TestDiscountLengthSaysWhatItCovered(t *testing.T) {
	it := item("i1", seg(date(2026, 6, 15), time.Time{}, pin("pro", 1), "20"))
	it.Discounts = []invoice.Discount{threeMonths("intro")}
	s := sub("s1", date(2026, 6, 1), it)
	b := builder(t, invoice.Options{})
	inv := build1(t, b, invoice.Run{After: date(2026, 8, 31), At: date(2026, 9, 1)}, s)
	require.Len(t, inv.Lines, 1)
	d := inv.Lines[0].Discounts[0]
	require.Equal(t, "84.00", d.Amount.AmountString())
	require.True(t, ensemble.MustPeriod(date(2026, 9, 1), date(2026, 9, 15)).Equal(d.Service), "%s", d.Service)
	require.Contains(t, invoice.Explain(inv.Lines[0]), "discount intro 30% of the service in [2026-09-01, 2026-09-15), where it runs: -EUR 84.00")
	roundTrip(t, inv)

	whole := build1(t, b, invoice.Run{After: date(2026, 7, 31), At: date(2026, 8, 1)}, s)
	require.True(t, whole.Lines[0].Discounts[0].Service.Start.IsZero(), "August is covered whole")
}

// A yearly fee billed in advance takes three months' discount for the
// three months it covers, not for the year: 30% of 1,200.00 × 90/365 =
// 88.77 off the year from January 1, 2027.
func TestDiscountLengthOnAYearlyFee(t *testing.T) {
	it := item("y", seg(date(2027, 1, 1), time.Time{}, pin("commit", 1), "1"))
	it.Discounts = []invoice.Discount{threeMonths("intro")}
	inv := build1(t, termsBuilder(t, invoice.Options{}), invoice.Run{At: date(2027, 1, 1)}, sub("s1", date(2027, 1, 1), it))
	require.Len(t, inv.Lines, 1)
	require.Equal(t, "1200.00", inv.Lines[0].Amount.AmountString())
	require.Equal(t, "88.77", inv.Lines[0].Discount.AmountString())
}

// A discount starting inside a cycle already billed in advance, recorded
// after that run, changes a line billed: it is back-dated to the cycle's
// start (a *BackdatedError without Run.Billed), and given what was billed
// the run bills June anew with 96.00 off (504.00) and July at 420.00.
// Found by TestPropertyBackdatedRunsBillAsOneRun, where the runs billed
// 0.06 more than one run: a discount from February 2 recorded then was
// never given to February 2 and 3 of a line billed on February 1.
func TestDiscountLengthStartingInABilledCycleIsBackdated(t *testing.T) {
	s := sub("s1", date(2026, 6, 1), item("i1", seg(date(2026, 6, 1), time.Time{}, pin("pro", 1), "20")))
	b := builder(t, invoice.Options{})
	june := build1(t, b, invoice.Run{At: date(2026, 6, 1)}, s)
	require.Equal(t, "600.00", june.Subtotal.AmountString())

	d := threeMonths("intro")
	d.Start, d.Recorded = date(2026, 6, 15), date(2026, 6, 15)
	s.Discounts = []invoice.Discount{d}
	run := invoice.Run{After: date(2026, 6, 1), At: date(2026, 7, 1)}
	_, err := b.Build(run, []invoice.Subscription{s})
	var be *invoice.BackdatedError
	require.ErrorAs(t, err, &be)
	require.Equal(t, "discounts[0].start", be.Field)
	require.True(t, date(2026, 6, 1).Equal(be.Effective), "effective %s", be.Effective)

	run.Billed = june.Lines
	july := build1(t, b, run, s)
	total, err := june.Subtotal.Add(july.Subtotal)
	require.NoError(t, err)
	require.Equal(t, "924.00", total.AmountString()) // 504.00 + 420.00
}
