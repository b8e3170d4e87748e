package invoice_test

import (
	"math/big"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
)

// prorationYAML prices storage (meter gb) with minimum spends owed whole
// (the default) or for the service (spend_proration: service):
//
//	security, security-s: EUR 0.01 per GB, minimum EUR 5.00
//	basic, plus:          EUR 0.10 and 0.05 per GB, minimum 20 and 50
//	basic-s, plus-s:      the same, prorated by service
//	lo-s, hi-s:           EUR 0.10 and 0.05 per GB, both minimum 20, by service
const prorationYAML = `
offers:
  - {id: security, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z, charges: [
      {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.01", minimum_spend: "5"}}]}
  - {id: security-s, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z, charges: [
      {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.01", minimum_spend: "5", spend_proration: service}}]}
  - {id: basic, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z, charges: [
      {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.10", minimum_spend: "20"}}]}
  - {id: plus, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z, charges: [
      {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.05", minimum_spend: "50"}}]}
  - {id: basic-s, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z, charges: [
      {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.10", minimum_spend: "20", spend_proration: service}}]}
  - {id: plus-s, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z, charges: [
      {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.05", minimum_spend: "50", spend_proration: service}}]}
  - {id: lo-s, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z, charges: [
      {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.10", minimum_spend: "20", spend_proration: service}}]}
  - {id: hi-s, version: 1, currency: EUR, effective_from: 2020-01-01T00:00:00Z, charges: [
      {id: gb, type: usage, meter: gb, price: {model: per_unit, amount: "0.05", minimum_spend: "20", spend_proration: service}}]}
`

func prorationBuilder(t tb, opts invoice.Options) *invoice.Builder {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(prorationYAML))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, opts)
	require.NoError(t, err)
	return b
}

// januarySub is a tax-exempt subscription anchored on January 1, 2026
// whose one item, "storage", holds segs.
func januarySub(segs ...invoice.Segment) invoice.Subscription {
	s := sub("s1", date(2026, 1, 1), item("storage", segs...))
	s.Customer.TaxExempt = true
	return s
}

// TestSpendProrationPartialFirstPeriod: a subscription starting on January
// 15 with a monthly EUR 5.00 minimum on its storage usage, 10 GB at EUR
// 0.01 (0.10) used. By default it owes the whole minimum for January
// 15-31, 5.00; with spend_proration: service, 5.00 × 17/31 = 2.74, as a
// contract (and Lago) prorates the minimum of a partial period. The trace
// and the explanation give the share.
func TestSpendProrationPartialFirstPeriod(t *testing.T) {
	jan15, feb1 := date(2026, 1, 15), date(2026, 2, 1)
	for _, tc := range []struct {
		offer, want, share string
		basis              ensemble.ProrationBasis
	}{
		{"security", "5.00", "", ensemble.ProrateExactTime},
		{"security-s", "2.74", "17/31", ensemble.ProrateExactTime},
		{"security-s", "2.74", "17/31", ensemble.ProrateDaysEndExclusive},
		{"security-s", "2.67", "8/15", ensemble.ProrateThirtyDayMonth}, // 16 of 30 days
	} {
		t.Run(tc.offer+"/"+tc.basis.String(), func(t *testing.T) {
			s := januarySub(seg(jan15, time.Time{}, pin(tc.offer, 1), "1"))
			b := prorationBuilder(t, invoice.Options{Basis: tc.basis})
			rep := collect(t, b, s, feb1, time.Time{}, usage.Ledger{}, gbRecord("r1", date(2026, 1, 20), "10"))
			inv := build1(t, b, invoice.Run{At: feb1, Usage: rep.Aggregates}, s)
			require.Equal(t, []string{"usage " + tc.offer + " " + period(jan15, feb1) + " " + tc.want}, usageLines(inv))
			l := inv.Lines[0]
			if tc.share == "" {
				require.True(t, l.Usage.SpendShare.IsZero(), "%s", l.Usage.SpendShare)
				require.NotContains(t, invoice.Explain(l), "of it)")
				return
			}
			require.True(t, l.Usage.SpendShare.Equal(ensemble.MustRatio(tc.share)), "%s", l.Usage.SpendShare)
			require.Equal(t, catalog.SpendService, l.Usage.SpendProration)
			ex := invoice.Explain(l)
			require.Contains(t, ex, "in service for part of its billing cycle (spend proration: service): owes "+tc.share+" of the charge's minimum and maximum spend\n")
			require.Contains(t, ex, "    minimum spend ("+tc.share+" of it): "+tc.want+", adjusted by ")
			roundTrip(t, l)
		})
	}
}

// TestSpendProrationWholeCycle: an item in service for the whole of
// January owes the whole minimum under spend_proration: service too, with
// no share on its trace.
func TestSpendProrationWholeCycle(t *testing.T) {
	jan1, feb1 := date(2026, 1, 1), date(2026, 2, 1)
	s := januarySub(seg(jan1, time.Time{}, pin("security-s", 1), "1"))
	b := prorationBuilder(t, invoice.Options{})
	inv := build1(t, b, invoice.Run{At: feb1}, s)
	require.Equal(t, []string{"usage security-s " + period(jan1, feb1) + " 5.00"}, usageLines(inv))
	require.True(t, inv.Lines[0].Usage.SpendShare.IsZero())
}

// TestSpendProrationPiecesOfAPartialPeriod: an item starting on January 15
// on Basic (EUR 20 minimum), upgraded to Plus (EUR 50) on January 25, with
// no usage. Prorated by service, each piece owes its service over the
// whole of January: Basic 20 × 10/31 = 6.45 and Plus 50 × 7/31 = 11.29
// (17/31 of January between them). Owed whole, the pieces share the
// minimum of the 17 days the item was in service: 20 × 10/17 = 11.76 and
// 50 × 7/17 = 20.59. A cancellation on January 20, recorded before it,
// makes an item from January 1, upgraded on January 10, owe Basic 9/31
// and Plus 10/31.
func TestSpendProrationPiecesOfAPartialPeriod(t *testing.T) {
	jan1, jan10, jan15, jan20, jan25, feb1 := date(2026, 1, 1), date(2026, 1, 10), date(2026, 1, 15), date(2026, 1, 20), date(2026, 1, 25), date(2026, 2, 1)
	cancelled := januarySub(seg(jan1, jan10, pin("basic-s", 1), "1"), seg(jan10, time.Time{}, pin("plus-s", 1), "1"))
	cancelled.CancelAt, cancelled.CancelRecorded = jan20, jan10
	for _, tc := range []struct {
		name   string
		s      invoice.Subscription
		want   []string
		shares []string
	}{
		{"service", januarySub(seg(jan15, jan25, pin("basic-s", 1), "1"), seg(jan25, time.Time{}, pin("plus-s", 1), "1")),
			[]string{"usage basic-s " + period(jan15, jan25) + " 6.45", "usage plus-s " + period(jan25, feb1) + " 11.29"}, []string{"10/31", "7/31"}},
		{"whole", januarySub(seg(jan15, jan25, pin("basic", 1), "1"), seg(jan25, time.Time{}, pin("plus", 1), "1")),
			[]string{"usage basic " + period(jan15, jan25) + " 11.76", "usage plus " + period(jan25, feb1) + " 20.59"}, []string{"10/17", "7/17"}},
		{"service, cancelled", cancelled,
			[]string{"usage basic-s " + period(jan1, jan10) + " 5.81", "usage plus-s " + period(jan10, jan20) + " 16.13"}, []string{"9/31", "10/31"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := prorationBuilder(t, invoice.Options{})
			inv := build1(t, b, invoice.Run{At: feb1}, tc.s)
			require.Equal(t, tc.want, usageLines(inv))
			for i, share := range tc.shares {
				require.True(t, inv.Lines[i].Usage.SpendShare.Equal(ensemble.MustRatio(share)), "%s", inv.Lines[i].Usage.SpendShare)
			}
		})
	}
}

// TestSpendProrationPartialLastPeriod: an item in service from January 1
// on security-s (EUR 5.00 minimum, prorated by service), 10 GB used, is
// cancelled on January 25. Recorded by the end of January, when the usage
// of January can first be billed without it, the cancellation prorates
// the minimum: 5.00 × 24/31 = 3.87. Recorded on February 3, after the run
// of February 1 may have billed January whole (5.00), it leaves January's
// share whole, so that late usage (600 GB, 6.00) re-rates January at the
// share it was billed at: 6.00 - 5.00 = 1.00 more, not 6.00 - 3.87 = 2.13.
// Owed whole (security), the cancelled period owes 5.00 either way.
func TestSpendProrationPartialLastPeriod(t *testing.T) {
	jan1, jan20, jan25, feb1, feb3, feb10 := date(2026, 1, 1), date(2026, 1, 20), date(2026, 1, 25), date(2026, 2, 1), date(2026, 2, 3), date(2026, 2, 10)
	open := januarySub(seg(jan1, time.Time{}, pin("security-s", 1), "1"))
	b := prorationBuilder(t, invoice.Options{})

	t.Run("known by the period's end", func(t *testing.T) {
		for _, tc := range []struct{ offer, want string }{{"security-s", "3.87"}, {"security", "5.00"}} {
			s := januarySub(seg(jan1, time.Time{}, pin(tc.offer, 1), "1"))
			s.CancelAt, s.CancelRecorded = jan25, jan20
			rep := collect(t, b, s, jan25, time.Time{}, usage.Ledger{}, gbRecord("r1", date(2026, 1, 3), "10"))
			inv := build1(t, b, invoice.Run{At: jan25, Usage: rep.Aggregates}, s)
			require.Equal(t, []string{"usage " + tc.offer + " " + period(jan1, jan25) + " " + tc.want}, usageLines(inv))
		}
	})

	t.Run("learnt after the period's end", func(t *testing.T) {
		rep := collect(t, b, open, feb1, time.Time{}, usage.Ledger{}, gbRecord("r1", date(2026, 1, 3), "10"))
		run := invoice.Run{At: feb1, Usage: rep.Aggregates}
		first := build1(t, b, run, open)
		require.Equal(t, []string{"usage security-s " + period(jan1, feb1) + " 5.00"}, usageLines(first))
		billed, err := b.BilledUsage(run, []invoice.Subscription{open}, gbMeters)
		require.NoError(t, err)

		cancelled := open
		cancelled.CancelAt, cancelled.CancelRecorded = jan25, feb3
		// Billed from the beginning, the run bills what the run of
		// February 1 billed: the whole minimum.
		rep2 := collect(t, b, cancelled, feb10, time.Time{}, usage.Ledger{}, gbRecord("r1", date(2026, 1, 3), "10"))
		again := build1(t, b, invoice.Run{At: feb10, Usage: rep2.Aggregates}, cancelled)
		require.Equal(t, []string{"usage security-s " + period(jan1, jan25) + " 5.00"}, usageLines(again))

		rep3 := collect(t, b, cancelled, feb10, feb1, rep.Ledger, gbRecord("r2", date(2026, 1, 20), "590"))
		pairs, err := invoice.LateUsageFrom(rep3.Adjustments, billed)
		require.NoError(t, err)
		late := build1(t, b, invoice.Run{After: feb1, At: feb10, Late: pairs, Billed: first.Lines}, cancelled)
		require.Equal(t, "1.00", lateAdjustment(t, late), "5.00 billed + the delta must be January's 6.00")
	})
}

// TestPropertySpendProrationAddsUpToTheService: an item on two offers
// with the same EUR 20 minimum, prorated by service (lo-s, hi-s), starts
// at any hour of April, changes offer (or not) up to three times, may
// pause before a change (a gap before the next segment) and may be
// cancelled (recorded at once), with no usage. The shares its pieces owe
// (each piece's last line: a stretch after a restart in a piece bills its
// own share on top) add up to exactly its service over the month (at most
// 1), and the minimums they bill to 20 × service/month within half a cent
// a piece: one minimum between them, prorated once, never one each.
func TestPropertySpendProrationAddsUpToTheService(t *testing.T) {
	apr1, may1 := date(2026, 4, 1), date(2026, 5, 1)
	month := int64(may1.Sub(apr1) / time.Hour)
	b := prorationBuilder(t, invoice.Options{})
	rapid.Check(t, func(t *rapid.T) {
		hour := func(label string, lo int64) time.Time {
			return apr1.Add(time.Duration(rapid.Int64Range(lo, month-1).Draw(t, label)) * time.Hour)
		}
		start := hour("start_hour", 0)
		var bounds []time.Time
		for i := range rapid.IntRange(0, 3).Draw(t, "changes") {
			bounds = append(bounds, hour("change_hour_"+strconv.Itoa(i), 1))
		}
		bounds = append(bounds, start)
		slices.SortFunc(bounds, time.Time.Compare)
		bounds = slices.CompactFunc(bounds, time.Time.Equal)
		bounds = bounds[slices.Index(bounds, start):]
		var segs []invoice.Segment
		for i := range bounds {
			end := time.Time{}
			if i+1 < len(bounds) {
				end = bounds[i+1]
				if rapid.Bool().Draw(t, "pause_"+strconv.Itoa(i)) {
					end = bounds[i].Add(time.Duration(rapid.Int64Range(1, int64(end.Sub(bounds[i])/time.Hour)).Draw(t, "served_hours_"+strconv.Itoa(i))) * time.Hour)
				}
			}
			o := rapid.SampledFrom([]string{"lo-s", "hi-s"}).Draw(t, "offer_"+strconv.Itoa(i))
			segs = append(segs, seg(bounds[i], end, pin(o, 1), "1"))
		}
		s := januarySub(segs...)
		s.Anchor = apr1
		stop := may1
		if rapid.Bool().Draw(t, "cancelled") {
			stop = start.Add(time.Duration(rapid.Int64Range(1, int64(may1.Sub(start)/time.Hour)).Draw(t, "service_hours")) * time.Hour)
			s.CancelAt = stop
		}
		var served time.Duration
		for _, sg := range segs {
			end := sg.End
			if end.IsZero() || end.After(stop) {
				end = stop
			}
			if sg.Start.Before(end) {
				served += end.Sub(sg.Start)
			}
		}

		invs, err := b.Build(invoice.Run{At: may1}, []invoice.Subscription{s})
		require.NoError(t, err)
		var lines []invoice.Line
		for _, inv := range invs {
			require.NoError(t, inv.Check())
			lines = append(lines, inv.Lines...)
		}
		pieceShare := map[string]*big.Rat{}
		owed := ensemble.MustMoney("0", "EUR")
		for _, l := range lines {
			require.NotNil(t, l.Usage)
			share := l.Usage.SpendShare
			if share.IsZero() {
				share = ensemble.RatioFromInt(1)
			}
			if k := l.Cycle.String(); pieceShare[k] == nil || pieceShare[k].Cmp(share.Rat()) < 0 {
				pieceShare[k] = share.Rat()
			}
			owed, err = owed.Add(l.Amount)
			require.NoError(t, err)
		}
		shares := new(big.Rat)
		for _, sh := range pieceShare {
			shares.Add(shares, sh)
		}
		service := big.NewRat(int64(served/time.Hour), month)
		require.Zero(t, shares.Cmp(service), "the pieces owe %s of the minimum, the item was in service %s of April", shares.RatString(), service.RatString())
		exact := new(big.Rat).Mul(big.NewRat(20, 1), service)
		diff := new(big.Rat).Sub(owed.Amount().Rat(), exact)
		slack := big.NewRat(int64(len(pieceShare)), 200)
		require.True(t, new(big.Rat).Abs(diff).Cmp(slack) <= 0, "the pieces bill %s, 20 × %s is %s", owed, service.RatString(), exact.FloatString(4))
	})
}
