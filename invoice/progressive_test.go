package invoice_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// gbUsage is an aggregate of meter gb on line s1/m for March 2026.
func gbUsage(value string, records int64) usage.Aggregate {
	return usage.Aggregate{Line: "s1/m", Meter: "gb", Aggregation: usage.Sum, Period: ensemble.MustPeriod(date(2026, 3, 1), date(2026, 4, 1)),
		Value: dec(value), Records: records, Digest: usage.DigestOf(usage.RecordID(fmt.Sprint("r", records)))}
}

// progressiveSub bills transfer at EUR 0.10 a GB with a minimum spend of
// EUR 50 a month, progressively past EUR 20, with a 10% partner discount.
func progressiveSub(offer string) invoice.Subscription {
	it := item("m", seg(date(2026, 3, 1), time.Time{}, pin(offer, 1), "1"))
	it.PartnerDiscount = ensemble.MustRatio("10%")
	it.Thresholds = []invoice.UsageThreshold{{Meter: "gb", Amount: dec("20")}}
	s := sub("s1", date(2026, 3, 1), it)
	s.Customer.TaxExempt = true
	return s
}

// Progressive billing through March, the host keeping what was billed:
//   - Mar 10, 150 GB: 15.00 so far, under the 20.00 threshold: nothing;
//   - Mar 12, 250 GB: 25.00 (discount 2.50);
//   - Mar 20, 380 GB: 38.00 - 25.00 = 13.00, under: nothing;
//   - Mar 25, 460 GB: 46.00 - 25.00 = 21.00 (discount round(4.60) -
//     round(2.50) = 2.10);
//   - Apr 1, the month ends at 470 GB: 47.00 is below the 50.00 minimum,
//     owed now and once: 50.00 - 46.00 = 4.00 (discount 5.00 - 4.60 = 0.40).
//
// In all 25 + 21 + 4 = 50.00 and 2.50 + 2.10 + 0.40 = 5.00: what one bill at
// the month's end charges. A minimum commitment of 80 counts the whole
// month's usage at its end: 80 - (45.00) = 35.00, as without progressive
// billing.
func TestProgressiveBilling(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	s := progressiveSub("metered-min")
	s.Commitment = &invoice.Commitment{Minimum: dec("80")}
	var billed usage.Aggregate
	steps := []struct {
		after, at time.Time
		usage     usage.Aggregate
		want      []string
	}{
		{date(2026, 3, 1), date(2026, 3, 10), gbUsage("150", 1), nil},
		{date(2026, 3, 10), date(2026, 3, 12), gbUsage("250", 2), []string{"progressive_usage gb 25.00 -2.50"}},
		{date(2026, 3, 12), date(2026, 3, 20), gbUsage("380", 3), nil},
		{date(2026, 3, 20), date(2026, 3, 25), gbUsage("460", 4), []string{"progressive_usage gb 21.00 -2.10"}},
		{date(2026, 3, 25), date(2026, 4, 1), gbUsage("470", 5), []string{"commitment_true_up  35.00 -0.00", "usage gb 4.00 -0.40"}},
	}
	for _, st := range steps {
		invs, err := b.Build(invoice.Run{After: st.after, At: st.at, Progressive: []invoice.ProgressiveUsage{{Billed: billed, Usage: st.usage}}}, []invoice.Subscription{s})
		require.NoError(t, err, st.at)
		var got []string
		for _, inv := range invs {
			require.NoError(t, inv.Check())
			for _, l := range inv.Lines {
				got = append(got, l.Kind.String()+" "+string(l.Charge)+" "+l.Amount.AmountString()+" -"+l.Discount.AmountString())
				if l.Kind == invoice.KindProgressiveUsage {
					billed = st.usage // the host records what was billed
					require.True(t, l.Period.Equal(ensemble.Period{Start: date(2026, 3, 1), End: st.at}), "%s", l.Period)
					require.True(t, l.Date.Equal(st.at))
				}
				if l.Kind == invoice.KindUsage {
					require.Equal(t, invoice.LineID("s1/m/20260301T000000Z/metered-min/gb/usage"), l.ID, "the period's usage line")
					require.True(t, money("41.40").Equal(l.Usage.BilledNet), l.Usage.BilledNet.String())
					require.Equal(t, "460", l.Usage.Billed.String())
				}
			}
		}
		require.Equal(t, st.want, got, st.at)
	}
	roundTrip(t, invoice.Run{After: date(2026, 3, 20), At: date(2026, 3, 25), Progressive: []invoice.ProgressiveUsage{{Billed: gbUsage("250", 2), Usage: gbUsage("460", 4)}}})
	// Billed at the month's end in one go: the same 50.00, 5.00 and 35.00.
	inv := build1(t, b, invoice.Run{After: date(2026, 3, 25), At: date(2026, 4, 1), Usage: []usage.Aggregate{gbUsage("470", 5)}}, s)
	require.Equal(t, []string{"commitment_true_up  35.00", "usage gb 50.00"}, amounts(inv))
	require.True(t, money("5.00").Equal(inv.Lines[1].Discount))
}

// Progressive billing refused: a threshold on a volume price or a meter the
// item does not bill, progressive usage of a meter with no threshold, more
// billed than used, and a period given both as usage and progressively.
func TestProgressiveBillingValidation(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	cases := []struct {
		name string
		edit func(*invoice.Subscription, *invoice.Run)
		path string
		want error
	}{
		{"a volume price", func(s *invoice.Subscription, _ *invoice.Run) { s.Items[0].Segments[0].Pin = pin("metered-volume", 1) },
			"subscriptions[0].items[0].thresholds[0].meter", invoice.ErrInvalid},
		{"a meter the item does not bill", func(s *invoice.Subscription, _ *invoice.Run) { s.Items[0].Thresholds[0].Meter = "cpu" },
			"subscriptions[0].items[0].thresholds[0].meter", invoice.ErrUnknown},
		{"a threshold of nothing", func(s *invoice.Subscription, _ *invoice.Run) { s.Items[0].Thresholds[0].Amount = dec("0") },
			"subscriptions[0].items[0].thresholds[0].amount", invoice.ErrInvalid},
		{"no threshold", func(s *invoice.Subscription, _ *invoice.Run) { s.Items[0].Thresholds = nil },
			"run.progressive[0].usage.meter", invoice.ErrInvalid},
		{"more billed than used", func(_ *invoice.Subscription, r *invoice.Run) { r.Progressive[0].Billed = gbUsage("300", 9) },
			"run.progressive[0].billed.value", invoice.ErrOrder},
		{"given twice", func(_ *invoice.Subscription, r *invoice.Run) { r.Usage = []usage.Aggregate{gbUsage("250", 2)} },
			"run.progressive[0]", invoice.ErrDuplicate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := progressiveSub("metered-min")
			run := invoice.Run{At: date(2026, 3, 12), Progressive: []invoice.ProgressiveUsage{{Usage: gbUsage("250", 2)}}}
			tc.edit(&s, &run)
			_, err := b.Build(run, []invoice.Subscription{s})
			require.ErrorIs(t, err, tc.want)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
			}
			require.Contains(t, paths, tc.path)
		})
	}
}

// Progressive bills and the period's final bill add up to one bill at the
// period's end, whatever the usage so far at each run, the threshold, the
// price (graduated with free units, per unit with a minimum spend), the
// discount and the rounding: amounts and discounts to the minor unit, and
// the minimum spend owed once.
func TestPropertyProgressiveAddsUpToOneBill(t *testing.T) {
	cat := termsCatalog(t)
	rapid.Check(t, func(t *rapid.T) {
		mode := rapid.SampledFrom([]ensemble.RoundingMode{ensemble.RoundHalfAwayFromZero, ensemble.RoundHalfEven, ensemble.RoundDown}).Draw(t, "mode")
		b, err := invoice.NewBuilder(cat, invoice.Options{Mode: mode, Rating: rapid.SampledFrom([]catalog.RoundingPolicy{catalog.RoundPerLine, catalog.RoundPerTier, catalog.RoundNone}).Draw(t, "rating")})
		require.NoError(t, err)
		offer := rapid.SampledFrom([]string{"metered-min", "metered", "api"}).Draw(t, "offer")
		meter := usage.MeterID("gb")
		if offer == "api" {
			meter = "api_calls"
		}
		s := progressiveSub(offer)
		s.Items[0].PartnerDiscount = drawRatio(t, "discount")
		s.Items[0].Thresholds = []invoice.UsageThreshold{{Meter: meter, Amount: dec(fmt.Sprint(rapid.IntRange(1, 40).Draw(t, "threshold")))}}
		agg := func(v int64, n int64) usage.Aggregate {
			a := gbUsage("0", n)
			a.Meter, a.Value = meter, dec(fmt.Sprint(v)).Div(dec("10"))
			return a
		}
		var billed usage.Aggregate
		total, discount := money("0"), money("0")
		value := int64(0)
		after := date(2026, 3, 1)
		n := rapid.IntRange(0, 8).Draw(t, "runs")
		for i := range n {
			value += rapid.Int64Range(0, 3000).Draw(t, "more")
			at := after.Add(time.Duration(rapid.IntRange(1, 24*3).Draw(t, "hours")) * time.Hour)
			u := agg(value, int64(i+1))
			invs, err := b.Build(invoice.Run{After: after, At: at, Progressive: []invoice.ProgressiveUsage{{Billed: billed, Usage: u}}}, []invoice.Subscription{s})
			require.NoError(t, err)
			for _, inv := range invs {
				for _, l := range inv.Lines {
					require.Equal(t, invoice.KindProgressiveUsage, l.Kind)
					c, _ := l.Amount.Cmp(money(s.Items[0].Thresholds[0].Amount.String()))
					require.GreaterOrEqual(t, c, 0, "a progressive bill reaches the threshold")
					total, _ = total.Add(l.Amount)
					discount, _ = discount.Add(l.Discount)
					billed = u
				}
			}
			after = at
		}
		value += rapid.Int64Range(0, 3000).Draw(t, "last")
		final := agg(value, int64(n+1))
		inv := build1(t, b, invoice.Run{After: after, At: date(2026, 4, 1), Progressive: []invoice.ProgressiveUsage{{Billed: billed, Usage: final}}}, s)
		require.Len(t, inv.Lines, 1)
		total, _ = total.Add(inv.Lines[0].Amount)
		discount, _ = discount.Add(inv.Lines[0].Discount)
		once := build1(t, b, invoice.Run{After: after, At: date(2026, 4, 1), Usage: []usage.Aggregate{final}}, s)
		require.True(t, total.Equal(once.Lines[0].Amount), "%s vs %s", total, once.Lines[0].Amount)
		require.True(t, discount.Equal(once.Lines[0].Discount), "%s vs %s", discount, once.Lines[0].Discount)
		require.Equal(t, once.Lines[0].ID, inv.Lines[0].ID)
	})
}

// A prepaid commitment on the meter draws on progressive bills as it would
// on one bill at the period's end: EUR 40 bought for March covers the 25.00
// billed on the 12th and 15.00 of the 21.00 billed on the 25th (6.00
// overage); the final 4.00 is overage: 40.00 covered and 10.00 billed, as
// one bill of 50.00 would be. An early-termination fee never draws.
func TestProgressiveBillingDrawsPrepaid(t *testing.T) {
	b := termsBuilder(t, invoice.Options{})
	s := progressiveSub("metered-min")
	s.Items[0].PartnerDiscount = ensemble.Ratio{}
	s.Prepaid = []invoice.PrepaidCommitment{{ID: "march", Amount: dec("40"), Start: date(2026, 3, 1), End: date(2026, 4, 1), Meters: []usage.MeterID{"gb"}}}
	var billed usage.Aggregate
	var got []string
	for _, st := range []struct {
		after, at time.Time
		usage     usage.Aggregate
	}{
		{date(2026, 2, 28), date(2026, 3, 1), gbUsage("0", 0)},
		{date(2026, 3, 1), date(2026, 3, 12), gbUsage("250", 2)},
		{date(2026, 3, 12), date(2026, 3, 25), gbUsage("460", 4)},
		{date(2026, 3, 25), date(2026, 4, 1), gbUsage("470", 5)},
	} {
		invs, err := b.Build(invoice.Run{After: st.after, At: st.at, Progressive: []invoice.ProgressiveUsage{{Billed: billed, Usage: st.usage}}}, []invoice.Subscription{s})
		require.NoError(t, err)
		for _, inv := range invs {
			for _, l := range inv.Lines {
				cov := "-"
				if l.Prepaid != nil {
					cov = l.Prepaid.Covered.AmountString()
				}
				got = append(got, l.Kind.String()+" "+l.Amount.AmountString()+" covered "+cov+" net "+l.Net.AmountString())
				if l.Kind == invoice.KindProgressiveUsage {
					billed = st.usage
				}
			}
			for _, u := range inv.Prepaid {
				s.Prepaid[0].Drawn, s.Prepaid[0].DrawnThrough = u.Total, u.Through
			}
		}
	}
	require.Equal(t, []string{
		"prepayment 40.00 covered - net 40.00",
		"progressive_usage 25.00 covered 25.00 net 0.00",
		"progressive_usage 21.00 covered 15.00 net 6.00",
		"usage 4.00 covered - net 4.00",
	}, got)
}
