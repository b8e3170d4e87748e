package invoice_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/stretchr/testify/require"
)

// A monthly plan upgraded at noon on March 16 (March has 31 days): the
// unused half of Basic (EUR 10) is credited and Pro (EUR 30) charged from
// the change. Each basis measures the elapsed part of the cycle differently:
// exact time 15.5/31 = 1/2; days end-exclusive 15/31; days end-inclusive
// 16/31 (the change day counts in the earlier part); thirty-day months
// 15.5/30. Credit = -(10.00 - round(10 × f)), charge = 30.00 - round(30 × f).
func TestUpgradeMidMonthEachBasis(t *testing.T) {
	change := time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC)
	s := sub("s1", date(2026, 3, 1), item("i1",
		seg(date(2026, 3, 1), change, pin("basic", 1), "1"),
		seg(change, time.Time{}, pin("pro", 1), "1")))
	cases := []struct {
		name           string
		basis          ensemble.ProrationBasis
		from           string
		credit, charge string
	}{
		{"exact time", ensemble.ProrateExactTime, "0.5", "-5.00", "15.00"},
		{"days end exclusive", ensemble.ProrateDaysEndExclusive, "15/31", "-5.16", "15.48"},
		{"days end inclusive", ensemble.ProrateDaysEndInclusive, "16/31", "-4.84", "14.52"},
		{"thirty-day month", ensemble.ProrateThirtyDayMonth, "31/60", "-4.83", "14.50"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := builder(t, invoice.Options{Basis: tc.basis})
			inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 3, 31)}, s)
			require.Equal(t, []string{"proration_credit seats " + tc.credit, "recurring seats " + tc.charge}, amounts(inv))
			credit, charge := inv.Lines[0], inv.Lines[1]
			require.Equal(t, tc.from, credit.Proration.From.String())
			require.Equal(t, tc.from, charge.Proration.From.String())
			require.Equal(t, tc.basis, charge.Proration.Basis)
			require.Equal(t, "s1/i1/20260301T000000Z/basic/seats/recurring/20260301T000000Z", string(credit.Credits))
			require.True(t, change.Equal(credit.Date))
			// The run's basis overrides the builder's.
			other := ensemble.ProrateExactTime
			if tc.basis == other {
				other = ensemble.ProrateThirtyDayMonth
			}
			b2 := builder(t, invoice.Options{Basis: other})
			inv2 := build1(t, b2, invoice.Run{After: date(2026, 3, 1), At: date(2026, 3, 31), Basis: &tc.basis}, s)
			require.Equal(t, amounts(inv), amounts(inv2))
		})
	}
}

// Pro with 2 seats from March 1 (EUR 60 billed in advance), 3 seats from
// March 11, then a downgrade to Basic (3 seats, EUR 30) on March 21; exact
// time, 31 days. The second change credits what the first one charged
// (EUR 90 × 11/31 of the cycle), not the original EUR 60 price.
func TestQuantityChangeThenDowngrade(t *testing.T) {
	s := sub("s1", date(2026, 3, 1), item("i1",
		seg(date(2026, 3, 1), date(2026, 3, 11), pin("pro", 1), "2"),
		seg(date(2026, 3, 11), date(2026, 3, 21), pin("pro", 1), "3"),
		seg(date(2026, 3, 21), time.Time{}, pin("basic", 1), "3")))
	b := builder(t, invoice.Options{})
	inv := build1(t, b, invoice.Run{At: date(2026, 3, 31)}, s)
	require.Equal(t, []string{
		"recurring seats 10.65",         // basic ×3 from Mar 21: 30 - round(30 × 20/31) = 30 - 19.35
		"proration_credit seats -40.65", // pro ×2 unused from Mar 11: -(60 - round(60 × 10/31)) = -(60 - 19.35)
		"proration_credit seats -31.94", // pro ×3 unused from Mar 21: -(90 - round(90 × 20/31)) = -(90 - 58.06)
		"recurring seats 60.00",         // pro ×2 for March
		"recurring seats 60.97",         // pro ×3 from Mar 11: 90 - round(90 × 10/31) = 90 - 29.03
	}, amounts(inv))
	require.Equal(t, inv.Lines[4].ID, inv.Lines[2].Credits, "the second credit credits the line the first change charged")
	require.Equal(t, inv.Lines[3].ID, inv.Lines[1].Credits)
	// 19.35 for pro ×2 over 10 days, 29.03 for pro ×3 over 10 days, 10.65
	// for basic ×3 over 11 days.
	require.True(t, money("59.03").Equal(inv.Subtotal), inv.Subtotal.String())
}

// An anchor on January 31 bills on Feb 28, Mar 31 and Apr 30; a
// cancellation on March 15 credits the unused part of the Feb 28 cycle.
func TestAnchorOn31stThroughFebruary(t *testing.T) {
	anchor := date(2026, 1, 31)
	s := sub("s1", anchor, item("i1", seg(anchor, time.Time{}, pin("basic", 1), "1")))
	b := builder(t, invoice.Options{})
	inv := build1(t, b, invoice.Run{At: date(2026, 4, 30)}, s)
	var starts []string
	for _, l := range inv.Lines {
		if l.Kind == invoice.KindRecurring {
			starts = append(starts, l.Period.Start.Format("01-02")+".."+l.Period.End.Format("01-02")+" "+l.Amount.AmountString())
		}
	}
	require.Equal(t, []string{"01-31..02-28 10.00", "02-28..03-31 10.00", "03-31..04-30 10.00", "04-30..05-31 10.00"}, starts)

	cases := []struct {
		name   string
		basis  ensemble.ProrationBasis
		credit string
	}{
		// [Feb 28, Mar 31) has 31 days; 15 of them are used by Mar 15.
		{"days end exclusive", ensemble.ProrateDaysEndExclusive, "-5.16"},
		// Counted from the anchor, Feb 28 -> Mar 31 is one 30-day month
		// and Feb 28 -> Mar 15 is 15 of its days.
		{"thirty-day month", ensemble.ProrateThirtyDayMonth, "-5.00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s
			c.CancelAt = date(2026, 3, 15)
			b := builder(t, invoice.Options{Basis: tc.basis})
			inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 30)}, c)
			require.Equal(t, []string{"proration_credit seats " + tc.credit}, amounts(inv))
		})
	}
}

// Activation on February 15 with a monthly cycle anchored on February 1:
// the first partial cycle is 14/29 used in 2028 (a leap year) and 14/28 in
// 2026; an anchor on January 31, 2028 bills on February 29.
func TestLeapYear(t *testing.T) {
	cases := []struct {
		name string
		year int
		want string
	}{
		{"leap year", 2028, "5.17"}, // 10 - round(10 × 14/29) = 10 - 4.83
		{"common year", 2026, "5.00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := sub("s1", date(tc.year, 2, 1), item("i1", seg(date(tc.year, 2, 15), time.Time{}, pin("basic", 1), "1")))
			b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
			inv := build1(t, b, invoice.Run{At: date(tc.year, 2, 28)}, s)
			require.Equal(t, []string{"recurring seats " + tc.want, "one_time setup 50.00"}, amounts(inv))
		})
	}
	s := sub("s1", date(2028, 1, 31), item("i1", seg(date(2028, 1, 31), time.Time{}, pin("basic", 1), "1")))
	inv := build1(t, builder(t, invoice.Options{}), invoice.Run{After: date(2028, 2, 1), At: date(2028, 3, 1)}, s)
	require.Len(t, inv.Lines, 1)
	require.True(t, date(2028, 2, 29).Equal(inv.Lines[0].Period.Start))
	require.True(t, date(2028, 3, 31).Equal(inv.Lines[0].Period.End))
}

func marchUsage(line, value string, ids ...usage.RecordID) usage.Aggregate {
	return usage.Aggregate{Line: usage.LineRef(line), Meter: "api_calls", Aggregation: usage.Sum,
		Period: ensemble.MustPeriod(date(2026, 3, 1), date(2026, 4, 1)), Value: dec(value),
		Records: int64(len(ids)), Digest: usage.DigestOf(ids...)}
}

// Usage in arrears through graduated tiers: 2,500 calls are 100 free,
// 900 × 0.05 and 1,500 × 0.02 = EUR 75.00. Support (in arrears, 2 × EUR 20)
// bills the month that ended, or up to a cancellation.
func TestInArrearsUsageGraduated(t *testing.T) {
	s := sub("s1", date(2026, 2, 1),
		item("api", seg(date(2026, 2, 1), time.Time{}, pin("api", 1), "1")),
		item("help", seg(date(2026, 2, 1), time.Time{}, pin("support", 1), "2")))
	b := builder(t, invoice.Options{})
	run := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{marchUsage("s1/api", "2500", "r1", "r2", "r3")}}
	inv := build1(t, b, run, s)
	require.Equal(t, []string{"usage calls 75.00", "recurring hours 40.00"}, amounts(inv))
	u := inv.Lines[0]
	require.Len(t, u.Tiers, 3)
	require.True(t, dec("45").Equal(u.Tiers[1].Subtotal.Amount()))
	require.True(t, dec("30").Equal(u.Tiers[2].Subtotal.Amount()))
	require.Equal(t, int64(3), u.Usage.Records)
	require.Equal(t, usage.DigestOf("r3", "r1", "r2"), u.Usage.Digest)
	require.Contains(t, u.Refs, run.Usage[0].Ref())

	t.Run("usage for a period that is not a cycle", func(t *testing.T) {
		off := run.Usage[0]
		off.Period = ensemble.MustPeriod(date(2026, 3, 2), date(2026, 4, 2))
		_, err := b.Build(invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 5), Usage: []usage.Aggregate{off}}, []invoice.Subscription{s})
		require.ErrorIs(t, err, invoice.ErrInvalid)
		require.ErrorContains(t, err, "not a monthly cycle")
	})
	t.Run("cancelled mid-month", func(t *testing.T) {
		c := s
		c.CancelAt = date(2026, 3, 16)
		inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: run.Usage}, c)
		// Support: round(40 × 15/31) = 19.35, due at the cancellation;
		// usage is due then too.
		require.Equal(t, []string{"usage calls 75.00", "recurring hours 19.35"}, amounts(inv))
		for _, l := range inv.Lines {
			require.True(t, date(2026, 3, 16).Equal(l.Date))
		}
	})
}

// A EUR 100 monthly minimum: March's Basic (EUR 10, billed in advance on
// March 1) and usage (EUR 75) fall short by EUR 15, billed at the cycle end.
func TestCommitmentTrueUp(t *testing.T) {
	s := sub("s1", date(2026, 2, 1),
		item("plan", seg(date(2026, 2, 1), time.Time{}, pin("basic", 1), "1")),
		item("api", seg(date(2026, 2, 1), time.Time{}, pin("api", 1), "1")))
	s.Commitment = &invoice.Commitment{Minimum: dec("100")}
	b := builder(t, invoice.Options{})
	inv := build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{marchUsage("s1/api", "2500")}}, s)
	require.Equal(t, []string{"usage calls 75.00", "commitment_true_up  15.00", "recurring seats 10.00"}, amounts(inv)) // lines sort by ID
	require.True(t, money("100.00").Equal(inv.Total))
	why := invoice.Explain(inv.Lines[1])
	require.Contains(t, why, "EUR 100.00 owed for [2026-03-01, 2026-04-01), the lines starting in it net EUR 85.00")
	require.Contains(t, why, "attributed to offer api@1") // the first item by ID
	// Enough usage meets the commitment: no true-up.
	inv = build1(t, b, invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: []usage.Aggregate{marchUsage("s1/api", "9000")}}, s)
	require.Equal(t, []string{"usage calls 205.00", "recurring seats 10.00"}, amounts(inv))
}

var taxes = invoice.TaxTable{Rules: []invoice.TaxRule{
	{ID: "vat-fr", Region: "FR", Rate: ensemble.MustRatio("20%")},
	{ID: "vat-de", Region: "DE", Rate: ensemble.MustRatio("19%"), Inclusive: true},
	{ID: "vat-xx", Region: "XX", Rate: ensemble.MustRatio("19%")},
}}

func TestTaxes(t *testing.T) {
	pro := func(region string, mod func(*invoice.Customer)) invoice.Subscription {
		s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("pro", 1), "1")))
		s.Customer.Region = region
		if mod != nil {
			mod(&s.Customer)
		}
		return s
	}
	cases := []struct {
		name                  string
		s                     invoice.Subscription
		net, tax, total       string
		treatment             invoice.TaxTreatment
		rule                  invoice.TaxRuleID
		reverse, wantIncluded bool
	}{
		{"20% exclusive", pro("FR", nil), "30.00", "6.00", "36.00", invoice.TaxStandard, "vat-fr", false, false},
		// 30.00 × 0.19 / 1.19 = 4.7899 -> 4.79 of the 30.00 is tax.
		{"19% inclusive", pro("DE", nil), "25.21", "4.79", "30.00", invoice.TaxStandard, "vat-de", false, true},
		{"reverse charge", pro("FR", func(c *invoice.Customer) { c.ReverseCharge = true }), "30.00", "0.00", "30.00", invoice.TaxReverseCharge, "vat-fr", true, false},
		{"exempt", pro("FR", func(c *invoice.Customer) { c.TaxExempt = true }), "30.00", "0.00", "30.00", invoice.TaxExempt, "vat-fr", false, false},
	}
	b := builder(t, invoice.Options{Taxes: taxes})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := build1(t, b, invoice.Run{At: date(2026, 3, 1)}, tc.s)
			require.Len(t, inv.Lines, 1)
			l := inv.Lines[0]
			require.Equal(t, tc.net, l.Net.AmountString())
			require.Equal(t, tc.tax, l.Tax.AmountString())
			require.Equal(t, tc.total, l.Total.AmountString())
			require.Equal(t, tc.treatment, l.TaxRule.Treatment)
			require.Equal(t, tc.rule, l.TaxRule.ID)
			require.Equal(t, tc.wantIncluded, l.TaxRule.Inclusive)
			require.Equal(t, tc.reverse, inv.ReverseCharge)
			require.Len(t, inv.Taxes, 1)
			require.True(t, inv.Taxes[0].Tax.Equal(inv.Tax))
			require.True(t, inv.Taxes[0].Base.Equal(inv.Subtotal))
		})
	}
	t.Run("region falls back to its country", func(t *testing.T) {
		table := invoice.TaxTable{Rules: []invoice.TaxRule{
			{ID: "us", Region: "US", Rate: ensemble.MustRatio("5%")},
			{ID: "us-ca", Region: "US-CA", TaxCode: "saas", Rate: ensemble.MustRatio("7.25%")},
		}}
		bb := builder(t, invoice.Options{Taxes: table})
		for region, want := range map[string]invoice.TaxRuleID{"US-NY": "us", "US": "us", "US-CA": "us"} {
			inv := build1(t, bb, invoice.Run{At: date(2026, 3, 1)}, pro(region, nil))
			require.Equal(t, want, inv.Lines[0].TaxRule.ID, region)
		}
		s := pro("US-CA", nil)
		s.Items[0].TaxCode = "saas"
		inv := build1(t, bb, invoice.Run{At: date(2026, 3, 1)}, s)
		require.Equal(t, invoice.TaxRuleID("us-ca"), inv.Lines[0].TaxRule.ID)
		require.Equal(t, "2.18", inv.Tax.AmountString()) // 30.00 × 7.25% = 2.175
	})
	t.Run("no rule", func(t *testing.T) {
		_, err := b.Build(invoice.Run{At: date(2026, 3, 1)}, []invoice.Subscription{pro("US", nil)})
		require.ErrorIs(t, err, invoice.ErrNoTaxRule)
	})
}

// Three lines of EUR 0.13 at 19% exclusive: per line each rounds 0.0247 to
// 0.02 (0.06 in all); per invoice 0.39 × 19% = 0.0741 rounds to 0.07, and
// the lines take 0.02, 0.03, 0.02 by cumulative rounding.
func TestTaxRoundingPerLineOrInvoice(t *testing.T) {
	var items []invoice.Item
	var aggs []usage.Aggregate
	for _, id := range []string{"a", "b", "c"} {
		items = append(items, item(id, seg(date(2026, 2, 1), time.Time{}, pin("api", 1), "1")))
		aggs = append(aggs, marchUsage("s1/"+id, "102.6"))
	}
	s := sub("s1", date(2026, 2, 1), items...)
	s.Customer.Region = "XX"
	run := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1), Usage: aggs}
	cases := []struct {
		name     string
		rounding invoice.TaxRounding
		lines    []string
		tax      string
	}{
		{"per line", invoice.TaxPerLine, []string{"0.02", "0.02", "0.02"}, "0.06"},
		{"per invoice", invoice.TaxPerInvoice, []string{"0.02", "0.03", "0.02"}, "0.07"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := build1(t, builder(t, invoice.Options{Taxes: taxes, TaxRounding: tc.rounding}), run, s)
			var got []string
			for _, l := range inv.Lines {
				require.Equal(t, "0.13", l.Net.AmountString())
				got = append(got, l.Tax.AmountString())
			}
			require.Equal(t, tc.lines, got)
			require.Equal(t, tc.tax, inv.Tax.AmountString())
			require.Equal(t, "0.39", inv.Subtotal.AmountString())
		})
	}
}

// Partner discount (10%), an item discount for one cycle (20%) and a fixed
// EUR 5 invoice discount.
func TestDiscounts(t *testing.T) {
	it := item("i1", seg(date(2026, 3, 1), time.Time{}, pin("pro", 1), "2"))
	it.PartnerDiscount = ensemble.MustRatio("10%")
	it.Discounts = []invoice.Discount{{ID: "welcome", Percent: ensemble.MustRatio("20%"), Duration: invoice.Once}}
	s := sub("s1", date(2026, 3, 1), it)
	s.Discounts = []invoice.Discount{{ID: "promo", Amount: dec("5"), Duration: invoice.Repeating, Cycles: 2}}
	b := builder(t, invoice.Options{})
	cases := []struct {
		name      string
		at        time.Time
		discounts []string
		net       string
	}{
		{"first cycle", date(2026, 3, 1), []string{"partner 6.00", "promo 5.00", "welcome 12.00"}, "37.00"},
		{"second cycle", date(2026, 4, 1), []string{"partner 6.00", "promo 5.00"}, "49.00"},
		{"third cycle", date(2026, 5, 1), []string{"partner 6.00"}, "54.00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := build1(t, b, invoice.Run{After: tc.at.Add(-time.Hour), At: tc.at}, s)
			require.Len(t, inv.Lines, 1)
			var got []string
			for _, d := range inv.Lines[0].Discounts {
				got = append(got, string(d.ID)+" "+d.Amount.AmountString())
			}
			require.Equal(t, tc.discounts, got)
			require.Equal(t, tc.net, inv.Lines[0].Net.AmountString())
		})
	}
	t.Run("credit carries the billed discounts", func(t *testing.T) {
		c := s
		c.CancelAt = time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC) // half of March, exact time
		inv := build1(t, b, invoice.Run{After: date(2026, 3, 2), At: date(2026, 4, 1)}, c)
		require.Len(t, inv.Lines, 1)
		l := inv.Lines[0]
		require.Equal(t, "-30.00", l.Amount.AmountString())
		require.Equal(t, "-9.00", l.Discount.AmountString()) // half of 6.00 + 12.00
		require.Equal(t, "-21.00", l.Net.AmountString())
	})
}

// A segment's line discount (as an order line carries) changing mid-cycle
// is prorated like any change: the unused part is credited with the
// discount it was billed with and the rest charged with the new one.
func TestSegmentDiscountChange(t *testing.T) {
	half := time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC)
	first := seg(date(2026, 3, 1), half, pin("pro", 1), "2")
	first.Discount = ensemble.MustRatio("10%")
	second := seg(half, time.Time{}, pin("pro", 1), "2")
	second.Discount = ensemble.MustRatio("20%")
	inv := build1(t, builder(t, invoice.Options{}), invoice.Run{At: date(2026, 3, 31)}, sub("s1", date(2026, 3, 1), item("i1", first, second)))
	var got []string
	for _, l := range inv.Lines {
		got = append(got, l.Kind.String()+" "+l.Amount.AmountString()+" "+l.Discount.AmountString()+" "+l.Net.AmountString())
	}
	require.Equal(t, []string{
		"proration_credit -30.00 -3.00 -27.00",
		"recurring 60.00 6.00 54.00",
		"recurring 30.00 6.00 24.00",
	}, got)
	require.Equal(t, invoice.DiscountID("line"), inv.Lines[2].Discounts[0].ID)
}

// Prepaid credits apply to the total by priority, then expiry; expired
// ones are skipped.
func TestPrepaidCredits(t *testing.T) {
	s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("pro", 1), "2")))
	s.Credits = []invoice.PrepaidCredit{
		{ID: "late", Balance: dec("100"), Priority: 2},
		{ID: "soon", Balance: dec("25"), Priority: 1, ExpiresAt: date(2026, 6, 1)},
		{ID: "never", Balance: dec("10"), Priority: 1},
		{ID: "gone", Balance: dec("500"), ExpiresAt: date(2026, 3, 1)},
	}
	inv := build1(t, builder(t, invoice.Options{}), invoice.Run{At: date(2026, 3, 1)}, s)
	var got []string
	for _, c := range inv.Credits {
		got = append(got, string(c.Credit)+" "+c.Amount.AmountString())
	}
	require.Equal(t, []string{"soon 25.00", "never 10.00", "late 25.00"}, got)
	require.True(t, inv.AmountDue.IsZero())
}

// A bundle line lists what each supplier is owed.
func TestBundleSupplierCosts(t *testing.T) {
	s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("suite", 1), "1")))
	inv := build1(t, builder(t, invoice.Options{}), invoice.Run{At: date(2026, 3, 1)}, s)
	require.Len(t, inv.Lines, 1)
	var got []string
	for _, c := range inv.Lines[0].SupplierCosts {
		got = append(got, c.Supplier+" "+c.Cost.AmountString())
	}
	require.Equal(t, []string{"acme 40.00", "zeta 5.00"}, got)
}

// Add-ons are billed with their own quantity and prorated when attached.
func TestAddOnAttachedMidCycle(t *testing.T) {
	s := sub("s1", date(2026, 4, 1), item("i1",
		seg(date(2026, 4, 1), date(2026, 4, 16), pin("pro", 1), "1"),
		invoice.Segment{Start: date(2026, 4, 16), Pin: pin("pro", 1), Quantity: dec("1"),
			AddOns: []invoice.AddOn{{Pin: pin("storage", 1), Quantity: dec("3")}}}))
	inv := build1(t, builder(t, invoice.Options{}), invoice.Run{After: date(2026, 4, 1), At: date(2026, 5, 1)}, s)
	// 3 × 2.00 from April 16 of a 30-day April: 6 - round(6 × 15/30) = 3.00;
	// Pro is not credited: its state did not change.
	require.Equal(t, []string{"recurring tb 3.00", "recurring seats 30.00", "recurring tb 6.00"}, amounts(inv))
}

func TestValidationReportsEveryProblem(t *testing.T) {
	b := builder(t, invoice.Options{})
	bad := sub("s1", date(2026, 3, 1), item("i1",
		seg(date(2026, 3, 1), date(2026, 3, 10), pin("nope", 1), "-1"),
		seg(date(2026, 3, 5), time.Time{}, pin("yen", 1), "1")))
	clash := item("i2", seg(date(2026, 3, 1), time.Time{}, pin("basic", 1), "1"))
	clash.UsageLine = "s1/i1" // the default reference of item i1
	bad.Items = append(bad.Items, item("i1"), clash)
	bad.TimeZone = "Mars/Olympus"
	bad.Discounts = []invoice.Discount{{ID: "d", Percent: ensemble.MustRatio("20%"), Amount: dec("1")}}
	dup := sub("s1", date(2026, 3, 1), item("x/y", seg(date(2026, 3, 1), time.Time{}, pin("basic", 1), "1")))
	twice := marchUsage("s1/i1", "1")
	invs, err := b.Build(invoice.Run{Usage: []usage.Aggregate{twice, twice}}, []invoice.Subscription{bad, dup})
	require.Nil(t, invs)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{
		"run.at",
		"subscriptions[0].time_zone",
		"subscriptions[0].discounts[0]",
		"subscriptions[0].items[0].segments[0].pin",
		"subscriptions[0].items[0].segments[0].quantity",
		"subscriptions[0].items[0].segments[1].start",
		"subscriptions[0].items[0].segments[1].pin",
		"subscriptions[0].items[1].id",
		"subscriptions[0].items[1].segments",
		"subscriptions[0].items[2].usage_line",
		"subscriptions[1].id",
		"subscriptions[1].items[0].id",
		"run.usage[1]",
	}, paths)
	require.ErrorIs(t, err, invoice.ErrCurrency)
	require.ErrorIs(t, err, invoice.ErrNegative)
	require.ErrorIs(t, err, invoice.ErrUnknown)
	require.ErrorIs(t, err, invoice.ErrOrder)
	require.ErrorIs(t, err, invoice.ErrDuplicate)
	require.ErrorIs(t, err, invoice.ErrInvalidID)
	require.Contains(t, err.Error(), `"x/y"`)
	require.Equal(t, err.Error(), b.Validate(invoice.Run{Usage: []usage.Aggregate{twice, twice}}, []invoice.Subscription{bad, dup}).Error())
	require.True(t, errors.Is(err, invoice.ErrRequired))
}

func TestRunsBillEachLineOnce(t *testing.T) {
	s := sub("s1", date(2026, 1, 15), item("i1",
		seg(date(2026, 1, 20), date(2026, 3, 3), pin("basic", 1), "2"),
		seg(date(2026, 3, 3), time.Time{}, pin("pro", 1), "1")),
		item("h", seg(date(2026, 1, 15), time.Time{}, pin("support", 1), "1")))
	s.CancelAt = date(2026, 5, 2)
	b := builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive})
	all := build1(t, b, invoice.Run{At: date(2026, 7, 1)}, s)
	var ids []invoice.LineID
	total := money("0")
	for at := date(2026, 1, 1); !at.After(date(2026, 7, 1)); at = at.AddDate(0, 0, 7) {
		invs, err := b.Build(invoice.Run{After: at, At: at.AddDate(0, 0, 7)}, []invoice.Subscription{s})
		require.NoError(t, err)
		for _, inv := range invs {
			for _, l := range inv.Lines {
				ids = append(ids, l.ID)
			}
			total, _ = total.Add(inv.Total)
		}
	}
	first, err := b.Build(invoice.Run{At: date(2026, 1, 1)}, []invoice.Subscription{s})
	require.NoError(t, err)
	require.Empty(t, first)
	var want []invoice.LineID
	for _, l := range all.Lines {
		want = append(want, l.ID)
	}
	require.ElementsMatch(t, want, ids)
	require.True(t, all.Total.Equal(total), "%s != %s", all.Total, total)
}

// A proration credit credits what was actually billed: with the lines of
// earlier runs passed in Run.Billed, a credit uses the billed line's full
// amount even if the segments were edited after it was billed.
func TestCreditWhatWasActuallyBilled(t *testing.T) {
	b := builder(t, invoice.Options{})
	billedAs := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("pro", 1), "2")))
	first := build1(t, b, invoice.Run{At: date(2026, 3, 1)}, billedAs)
	require.Equal(t, []string{"recurring seats 60.00"}, amounts(first))

	// The segments now say 3 seats from March 1 (edited after billing),
	// then Basic from March 21.
	edited := sub("s1", date(2026, 3, 1), item("i1",
		seg(date(2026, 3, 1), date(2026, 3, 21), pin("pro", 1), "3"),
		seg(date(2026, 3, 21), time.Time{}, pin("basic", 1), "3")))
	run := invoice.Run{After: date(2026, 3, 1), At: date(2026, 3, 31)}
	recomputed := build1(t, b, run, edited)
	require.Equal(t, []string{"recurring seats 10.65", "proration_credit seats -31.94"}, amounts(recomputed))
	run.Billed = first.Lines
	actual := build1(t, b, run, edited)
	// -(60 - round(60 × 20/31)) = -(60 - 38.71): never more than was billed.
	require.Equal(t, []string{"recurring seats 10.65", "proration_credit seats -21.29"}, amounts(actual))
	require.Equal(t, first.Lines[0].ID, actual.Lines[1].Credits)
	roundTrip(t, run)
}

// Cycles are stepped in the subscription's time zone: midnight in Paris
// on the 1st, across the daylight-saving change at the end of March.
func TestTimeZoneCycles(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	anchor := time.Date(2026, 3, 1, 0, 0, 0, 0, paris)
	s := sub("s1", anchor, item("i1", seg(anchor, time.Time{}, pin("basic", 1), "1")))
	s.TimeZone = "Europe/Paris"
	// Cancelled at noon on March 16, Paris time: 15.5 of March's 31 days
	// by exact time would be skewed by the lost hour; by days it is 15/31.
	s.CancelAt = time.Date(2026, 3, 16, 12, 0, 0, 0, paris)
	inv := build1(t, builder(t, invoice.Options{Basis: ensemble.ProrateDaysEndExclusive}), invoice.Run{At: date(2026, 4, 2)}, s)
	require.Equal(t, []string{"proration_credit seats -5.16", "recurring seats 10.00", "one_time setup 50.00"}, amounts(inv))
	cycle := inv.Lines[1].Cycle
	require.True(t, time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC).Equal(cycle.Start), cycle.String())
	require.True(t, time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC).Equal(cycle.End), cycle.String())
}

// Rounding each part on its own can make a discount a minor unit larger
// than a tiny prorated amount (round(0.10 × 5%) - round(0.10 × 5% × 722/744)
// = 0.01 - 0.00 on an amount of 0.10 - 0.10 = 0.00): the discount is capped
// at the amount, so the net is never negative. Found by a property test.
func TestDiscountCappedAtAmount(t *testing.T) {
	start := time.Date(2027, 12, 31, 2, 0, 0, 0, time.UTC)
	sg := seg(start, time.Time{}, pin("basic", 1), "0.01")
	sg.Discount = ensemble.MustRatio("5%")
	s := sub("s", date(2027, 12, 1), item("i", sg))
	inv := build1(t, builder(t, invoice.Options{}), invoice.Run{At: start}, s)
	require.Equal(t, []string{"recurring seats 0.00", "one_time setup 50.00"}, amounts(inv))
	l := inv.Lines[0]
	require.Equal(t, "361/372", l.Proration.From.String()) // 722 of 744 hours
	require.True(t, l.Discount.IsZero(), l.Discount.String())
	require.True(t, l.Net.IsZero(), l.Net.String())
}

// A currency without minor units rounds to whole yen.
func TestZeroDecimalCurrency(t *testing.T) {
	s := sub("s1", date(2026, 3, 1), item("i1", seg(date(2026, 3, 1), time.Time{}, pin("yen", 1), "1")))
	s.Currency = ensemble.MustCurrency("JPY")
	s.CancelAt = date(2026, 3, 11) // 10 of 31 days: 1000 - round(1000 × 10/31) = 1000 - 323
	inv := build1(t, builder(t, invoice.Options{}), invoice.Run{At: date(2026, 4, 1)}, s)
	require.Equal(t, []string{"proration_credit plan -677", "recurring plan 1000"}, amounts(inv))
	require.Equal(t, "JPY 323", inv.Total.String())
}

// A pause (a gap between segments) credits the unused part at the pause
// and charges again from the resumption; the one-time fee is not billed
// again.
func TestPauseAndResume(t *testing.T) {
	s := sub("s1", date(2026, 3, 1), item("i1",
		seg(date(2026, 3, 1), date(2026, 3, 11), pin("basic", 1), "1"),
		seg(date(2026, 3, 21), time.Time{}, pin("basic", 1), "1")))
	inv := build1(t, builder(t, invoice.Options{}), invoice.Run{At: date(2026, 3, 31)}, s)
	require.Equal(t, []string{
		"proration_credit seats -6.77", // -(10 - round(10 × 10/31)) = -(10 - 3.23)
		"recurring seats 10.00",
		"recurring seats 3.55", // 10 - round(10 × 20/31) = 10 - 6.45
		"one_time setup 50.00",
	}, amounts(inv))
}

// A usage charge with a minimum spend bills it for a period without any
// usage, and the minimum lifts a small usage; a price with nothing owed at
// zero bills no line.
func TestIdleUsage(t *testing.T) {
	s := sub("s1", date(2026, 2, 1),
		item("ev", seg(date(2026, 2, 1), time.Time{}, pin("events", 1), "1")),
		item("api", seg(date(2026, 2, 1), time.Time{}, pin("api", 1), "1")))
	b := builder(t, invoice.Options{})
	run := invoice.Run{After: date(2026, 3, 1), At: date(2026, 4, 1)}
	inv := build1(t, b, run, s)
	require.Equal(t, []string{"usage events 20.00"}, amounts(inv))
	l := inv.Lines[0]
	require.Equal(t, int64(0), l.Usage.Records)
	require.True(t, date(2026, 3, 1).Equal(l.Period.Start))
	require.True(t, dec("0").Equal(l.Quantity))

	used := marchUsage("s1/ev", "500", "e1")
	used.Meter = "events"
	run.Usage = []usage.Aggregate{used}
	inv = build1(t, b, run, s)
	require.Equal(t, []string{"usage events 20.00"}, amounts(inv))
	require.Equal(t, int64(1), inv.Lines[0].Usage.Records)
}

// Kill Bill's fixed 30-day proration (org.killbill.invoice.proration.fixed.days=30)
// through the builder: a monthly price of EUR 19.95 (1.995 seats at 10.00).
// Kill Bill's TestInvoiceFixedProration bills a cancellation on May 15 of
// the cycle [Apr 23, May 23) as -5.32 and one on June 15 of [May 23, Jun 23)
// as -5.32 again (8 of 30 days unused); a stub from February 15 to the
// February 23 bill date is 8 days by its day count (5.32). Amounts are
// round(19.95) - round(19.95 × elapsed fraction):
//
//	cycle from          change   calendar 30        anchor 30          days end-exclusive
//	2023-04-23 cancel   May 15   22/30 -> -5.32     22/30 -> -5.32     22/30 -> -5.32
//	2023-05-23 cancel   Jun 15   22/30 -> -5.32     23/30 -> -4.65     23/31 -> -5.15
//	2023-01-23 start    Feb 15   22/30 ->  5.32     23/30 ->  4.65     23/31 ->  5.15
func TestKillBillFixedThirtyDays(t *testing.T) {
	type want struct{ calendar, anchor, exclusive string }
	cases := []struct {
		name   string
		anchor time.Time
		start  time.Time
		cancel time.Time
		run    invoice.Run
		line   string // the line's kind and charge
		want   want
	}{
		{"cancelled on May 15, cycle from April 23", date(2023, 4, 23), date(2023, 4, 23), date(2023, 5, 15),
			invoice.Run{After: date(2023, 5, 1), At: date(2023, 5, 31)}, "proration_credit seats", want{"-5.32", "-5.32", "-5.32"}},
		{"cancelled on June 15, cycle from May 23", date(2023, 5, 23), date(2023, 5, 23), date(2023, 6, 15),
			invoice.Run{After: date(2023, 6, 1), At: date(2023, 6, 30)}, "proration_credit seats", want{"-5.32", "-4.65", "-5.15"}},
		{"started February 15, billed on the 23rd", date(2023, 1, 23), date(2023, 2, 15), time.Time{},
			invoice.Run{At: date(2023, 2, 20)}, "recurring seats", want{"5.32", "4.65", "5.15"}},
	}
	for _, tc := range cases {
		for basis, amount := range map[ensemble.ProrationBasis]string{
			ensemble.ProrateThirtyDayCalendarMonth: tc.want.calendar,
			ensemble.ProrateThirtyDayMonth:         tc.want.anchor,
			ensemble.ProrateDaysEndExclusive:       tc.want.exclusive,
		} {
			t.Run(tc.name+"/"+basis.String(), func(t *testing.T) {
				s := sub("s1", tc.anchor, item("i1", seg(tc.start, time.Time{}, pin("basic", 1), "1.995")))
				s.CancelAt = tc.cancel
				b := builder(t, invoice.Options{Basis: basis})
				inv := build1(t, b, tc.run, s)
				var got []string
				for _, a := range amounts(inv) {
					if strings.HasPrefix(a, tc.line+" ") {
						got = append(got, strings.TrimPrefix(a, tc.line+" "))
					}
				}
				require.Equal(t, []string{amount}, got, "lines %v", amounts(inv))
				// The same basis chosen per run, by name, as a host's JSON says it.
				var runBasis ensemble.ProrationBasis
				require.NoError(t, runBasis.UnmarshalText([]byte(basis.String())))
				run := tc.run
				run.Basis = &runBasis
				inv2 := build1(t, builder(t, invoice.Options{}), run, s)
				require.Equal(t, amounts(inv), amounts(inv2))
			})
		}
	}
	t.Run("options name the basis", func(t *testing.T) {
		var opts invoice.Options
		require.NoError(t, json.Unmarshal([]byte(`{"basis":"thirty_day_calendar_month"}`), &opts))
		require.Equal(t, ensemble.ProrateThirtyDayCalendarMonth, opts.Basis)
		_, err := invoice.NewBuilder(testCatalog(t), opts)
		require.NoError(t, err)
	})
}
