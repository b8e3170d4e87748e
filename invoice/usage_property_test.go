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

// TestPropertyDeliveriesBillAsOneRun: usage records delivered in any
// split over monthly runs (each record in the run after its period or any
// later one, some delivered again in later runs), each run collected with
// the lines of Builder.UsageLines, the periods already billed closed and
// the ledger of the run before, billing the report's aggregates and the
// late adjustments LateUsageFrom pairs with what the earlier runs billed
// (Builder.BilledUsage), bill per period, and in all, exactly what one run
// over every record bills. Graduated, volume and minimum-spend prices,
// every aggregation but count_unique, partner discounts, both rating
// roundings, an item that may end mid-period and may change offer
// mid-period (billed per piece) are drawn, and corrections (negative
// records taking back part of one, delivered with it or later) and a
// monthly minimum commitment, of the whole subscription or of one item,
// whose true-ups the late usage recomputes (each run given what the
// earlier ones issued, Run.Billed); the customer is
// tax exempt, since tax rounded per line is not additive over deltas.
func TestPropertyDeliveriesBillAsOneRun(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b, err := invoice.NewBuilder(propCatalog, invoice.Options{
			Mode:   rapid.SampledFrom([]ensemble.RoundingMode{ensemble.RoundHalfAwayFromZero, ensemble.RoundHalfEven, ensemble.RoundDown}).Draw(t, "mode"),
			Rating: rapid.SampledFrom([]catalog.RoundingPolicy{catalog.RoundPerLine, catalog.RoundPerTier}).Draw(t, "rating"),
		})
		require.NoError(t, err)
		start := date(2026, 2, 1)
		runs := []time.Time{date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)}
		api := invoice.Item{ID: "api", PartnerDiscount: drawRatio(t, "partner"),
			Segments: []invoice.Segment{{Start: start, Pin: rapid.SampledFrom([]catalog.Pin{pin("api", 1), pin("bulk", 1)}).Draw(t, "api_pin"), Quantity: dec("1")}}}
		apiEnd := runs[len(runs)-1]
		if rapid.Bool().Draw(t, "api_ends") {
			apiEnd = start.Add(time.Duration(rapid.IntRange(24*10, 24*100).Draw(t, "api_end_hours")) * time.Hour)
			api.Segments[0].End = apiEnd
		}
		if rapid.Bool().Draw(t, "api_changes") {
			// An upgrade or downgrade (or a quantity change, which cuts
			// nothing) mid-period: the period is billed per piece.
			at := start.Add(time.Duration(rapid.IntRange(24*3, 24*110).Draw(t, "api_change_hours")) * time.Hour)
			if at.Before(apiEnd) {
				before := api.Segments[0]
				after := before
				before.End, after.Start = at, at
				after.Pin = rapid.SampledFrom([]catalog.Pin{pin("api", 1), pin("bulk", 1)}).Draw(t, "api_pin_after")
				after.Quantity = dec("2")
				api.Segments = []invoice.Segment{before, after}
			}
		}
		ev := invoice.Item{ID: "ev", Segments: []invoice.Segment{{Start: start, Pin: pin("events", 1), Quantity: dec("1")}}}
		s := invoice.Subscription{ID: "s", Customer: invoice.Customer{ID: "c", TaxExempt: true}, Currency: eur, Anchor: start, Items: []invoice.Item{api, ev}}
		if rapid.Bool().Draw(t, "commitment") {
			// A monthly minimum, of the whole subscription or of one item:
			// late usage (and corrections) lands in cycles whose true-up
			// an earlier run billed.
			s.Commitment = &invoice.Commitment{Minimum: decimal.New(rapid.Int64Range(1, 40000).Draw(t, "minimum_cents"), -2)}
			if it := rapid.SampledFrom([]invoice.ItemID{"", "api", "ev"}).Draw(t, "scope"); it != "" {
				s.Commitment.Scope = invoice.CommitmentScope{Items: []invoice.ItemID{it}}
			}
		}
		subs := []invoice.Subscription{s}
		meters := []usage.Meter{
			{ID: "api_calls", Aggregation: usage.Sum, AllowNegative: true},
			{ID: "events", Aggregation: rapid.SampledFrom([]usage.Aggregation{usage.Sum, usage.Max, usage.Count, usage.Latest}).Draw(t, "events_aggregation")},
		}

		// Records, each delivered in a run after its instant, some again
		// later.
		n := rapid.IntRange(0, 30).Draw(t, "records")
		var all []usage.Record
		deliveries := make([][]usage.Record, len(runs))
		for i := range n {
			r := usage.Record{ID: usage.RecordID("r" + strconv.Itoa(i)), Line: "s/ev", Meter: "events",
				Quantity: decimal.New(rapid.Int64Range(0, 2000).Draw(t, "qty"), -int32(rapid.IntRange(0, 1).Draw(t, "qty_scale")))}
			end := runs[len(runs)-2] // no usage in May: a run bills it idle
			if rapid.Bool().Draw(t, "api") {
				r.Line, r.Meter = "s/api", "api_calls"
				if apiEnd.Before(end) {
					end = apiEnd
				}
			}
			r.At = start.Add(time.Duration(rapid.Int64Range(0, int64(end.Sub(start)/time.Minute)-1).Draw(t, "at_minutes")) * time.Minute)
			first := slices.IndexFunc(runs, r.At.Before)
			k := rapid.IntRange(first, len(runs)-1).Draw(t, "delivered")
			deliveries[k] = append(deliveries[k], r)
			all = append(all, r)
			if rapid.IntRange(0, 4).Draw(t, "again") == 0 {
				j := rapid.IntRange(k, len(runs)-1).Draw(t, "delivered_again")
				deliveries[j] = append(deliveries[j], r)
			}
			if r.Meter == "api_calls" && r.Quantity.IsPositive() && rapid.IntRange(0, 3).Draw(t, "corrected") == 0 {
				// A correction taking back part of the record, delivered
				// with it or later: the period's usage never goes below
				// zero.
				c := r
				c.ID += "-correction"
				c.Quantity = r.Quantity.Mul(decimal.New(-int64(rapid.IntRange(1, 10).Draw(t, "corrected_tenths")), -1))
				j := rapid.IntRange(k, len(runs)-1).Draw(t, "corrected_in")
				deliveries[j] = append(deliveries[j], c)
				all = append(all, c)
			}
		}

		// The runs, as a host makes them.
		var ledger usage.Ledger
		var billed []usage.Aggregate
		var after time.Time
		var got []invoice.Invoice
		var issued []invoice.Line // what the runs issued: Run.Billed
		for k, at := range runs {
			lines, err := b.UsageLines(at, subs...)
			require.NoError(t, err)
			rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines, ClosedBefore: after, Ledger: ledger},
				slices.Values(rapid.Permutation(deliveries[k]).Draw(t, "order")))
			require.NoError(t, err)
			require.NoError(t, rep.Err())
			late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
			require.NoError(t, err)
			run := invoice.Run{After: after, At: at, Usage: rep.Aggregates, Late: late, Billed: issued}
			invs, err := b.Build(run, subs)
			require.NoError(t, err)
			got = append(got, invs...)
			for _, inv := range invs {
				issued = append(issued, inv.Lines...)
			}
			done, err := b.BilledUsage(run, subs, meters)
			require.NoError(t, err)
			billed = append(billed, done...)
			ledger, after = rep.Ledger, at
		}

		// One run over every record.
		lines, err := b.UsageLines(after, subs...)
		require.NoError(t, err)
		rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines}, slices.Values(all))
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		want, err := b.Build(invoice.Run{At: after, Usage: rep.Aggregates}, subs)
		require.NoError(t, err)

		require.Equal(t, netByPeriod(t, want), netByPeriod(t, got))
		require.Equal(t, total(t, want), total(t, got))
	})
}

// netByPeriod sums the net of the lines per item, charge and period.
func netByPeriod(t *rapid.T, invs []invoice.Invoice) map[string]string {
	sums := map[string]ensemble.Money{}
	for _, inv := range invs {
		for _, l := range inv.Lines {
			k := string(l.Item) + " " + string(l.Charge) + " " + l.Cycle.String()
			var err error
			sums[k], err = sums[k].Add(l.Net)
			require.NoError(t, err)
		}
	}
	out := map[string]string{}
	for k, m := range sums {
		if !m.IsZero() {
			out[k] = m.AmountString()
		}
	}
	return out
}

func total(t *rapid.T, invs []invoice.Invoice) string {
	var sum ensemble.Money
	for _, inv := range invs {
		var err error
		sum, err = sum.Add(inv.Total)
		require.NoError(t, err)
	}
	return sum.AmountString()
}
