package invoice_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
)

var termsPropCatalog = func() *catalog.Catalog {
	c, err := catalog.LoadYAML([]byte(catalogYAML + termOffers + relayOffers))
	if err != nil {
		panic(err)
	}
	return c
}()

// termsPropBuilder draws a builder that taxes per line: per-invoice tax
// rounding depends, by design, on which lines share an invoice.
func termsPropBuilder(t *rapid.T) *invoice.Builder {
	opts := invoice.Options{
		Basis: rapid.SampledFrom(bases).Draw(t, "basis"),
		Mode:  rapid.SampledFrom([]ensemble.RoundingMode{ensemble.RoundHalfAwayFromZero, ensemble.RoundHalfEven, ensemble.RoundDown}).Draw(t, "mode"),
	}
	if rapid.Bool().Draw(t, "taxed") {
		opts.Taxes = invoice.TaxTable{Rules: []invoice.TaxRule{{ID: "vat", Rate: ensemble.MustRatio("20%")}}}
	}
	b, err := invoice.NewBuilder(termsPropCatalog, opts)
	require.NoError(t, err)
	return b
}

// drawTermsSub draws a subscription of a monthly item on the subscription's
// anchor and a yearly item and a metered item, each maybe on its own anchor
// (its activation, or any instant within a year of it), and a relay item
// (monthly usage beside a quarterly fee in arrears) on the subscription's
// anchor, with upgrades and
// downgrades, line discounts, maybe an item's end, a cancellation and a
// minimum commitment. It returns the usage of every item's own cycle that
// ends by until.
func drawTermsSub(t *rapid.T, until time.Time) (invoice.Subscription, []usage.Aggregate) {
	zone := rapid.SampledFrom(zones).Draw(t, "zone")
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	anchor := time.Date(2028, 1, rapid.IntRange(1, 31).Draw(t, "anchor_day"), rapid.IntRange(0, 23).Draw(t, "anchor_hour"), 0, 0, 0, loc)
	s := invoice.Subscription{ID: "s", Customer: invoice.Customer{ID: "c"}, Currency: eur, Anchor: anchor, TimeZone: zone}
	var aggs []usage.Aggregate
	for _, kind := range []struct {
		id   invoice.ItemID
		pins []catalog.Pin
	}{
		{"m", []catalog.Pin{pin("basic", 1), pin("pro", 1), pin("support", 1)}},
		{"y", []catalog.Pin{pin("commit", 1), pin("commit-plus", 1)}},
		{"u", []catalog.Pin{pin("metered", 1)}},
		{"k", []catalog.Pin{pin("relay", 1)}},
	} {
		if kind.id != "m" && !rapid.Bool().Draw(t, string(kind.id)+"_present") {
			continue
		}
		it := invoice.Item{ID: kind.id}
		at := drawInstant(t, anchor.Add(-24*time.Hour), 24*60, "start")
		if kind.id != "m" && kind.id != "k" && rapid.Bool().Draw(t, "own_anchor") {
			it.Anchor = at
			if rapid.Bool().Draw(t, "anchor_elsewhere") {
				it.Anchor = at.Add(time.Duration(rapid.IntRange(-24*365, 24*365).Draw(t, "anchor_shift")) * time.Hour)
			}
			it.Term = invoice.Term{Length: ensemble.Every(1, ensemble.Yearly), AutoRenew: rapid.Bool().Draw(t, "renew")}
			switch rapid.IntRange(0, 4).Draw(t, "early_termination") {
			case 1:
				it.Term.EarlyTermination = &invoice.EarlyTermination{Amount: dec("300")}
			case 2:
				it.Term.EarlyTermination = &invoice.EarlyTermination{Rule: invoice.TerminationDeclining, Amount: dec("500")}
			case 3:
				it.Term.EarlyTermination = &invoice.EarlyTermination{Rule: invoice.TerminationRemaining, Percent: drawRatio(t, "etf_percent")}
			case 4:
				it.Term.EarlyTermination = &invoice.EarlyTermination{Rule: invoice.TerminationPeriods,
					Periods: ensemble.Every(rapid.IntRange(1, 6).Draw(t, "etf_months"), ensemble.Monthly), CapAtRemaining: rapid.Bool().Draw(t, "etf_capped")}
			}
		}
		n := rapid.IntRange(1, 4).Draw(t, "segments")
		for k := range n {
			sg := invoice.Segment{Start: at, Pin: rapid.SampledFrom(kind.pins).Draw(t, "pin"), Quantity: drawQty(t, "qty"), Discount: drawRatio(t, "line_discount")}
			at = drawInstant(t, at, 24*200, "end")
			if k+1 < n || rapid.Bool().Draw(t, "ends") {
				sg.End = at
			}
			it.Segments = append(it.Segments, sg)
		}
		s.Items = append(s.Items, it)
	}
	if rapid.Bool().Draw(t, "commit") {
		s.Commitment = &invoice.Commitment{Minimum: dec(fmt.Sprint(rapid.IntRange(0, 300).Draw(t, "minimum")))}
		if rapid.Bool().Draw(t, "scoped") {
			s.Commitment.Scope = drawScope(t, s)
		}
	}
	if rapid.Bool().Draw(t, "cancel") {
		s.CancelAt = drawInstant(t, anchor, 24*700, "cancel_at")
	}
	// Usage of the metered and relay items, for each of their own months
	// that ends by until while they are in service.
	for _, it := range s.Items {
		meter := map[invoice.ItemID]usage.MeterID{"u": "gb", "k": "calls"}[it.ID]
		if meter == "" {
			continue
		}
		a := it.Anchor
		if a.IsZero() {
			a = s.Anchor
		}
		start, end := it.Segments[0].Start, it.Segments[len(it.Segments)-1].End
		if !s.CancelAt.IsZero() && (end.IsZero() || s.CancelAt.Before(end)) {
			end = s.CancelAt
		}
		if !start.Before(until) || (!end.IsZero() && !start.Before(end)) {
			continue // never in service before until
		}
		seq, err := ensemble.Every(1, ensemble.Monthly).Periods(a, ensemble.Period{Start: start, End: until}, loc)
		require.NoError(t, err)
		for p := range seq {
			if p.End.After(until) || (!end.IsZero() && !p.Start.Before(end)) {
				break
			}
			aggs = append(aggs, usage.Aggregate{Line: usage.LineRef("s/" + string(it.ID)), Meter: meter, Aggregation: usage.Sum,
				Period: ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}, Value: drawQty(t, string(meter)), Records: 1,
				Digest: usage.DigestOf(usage.RecordID(string(it.ID) + p.Start.String()))})
		}
	}
	if rapid.Bool().Draw(t, "intro") {
		// A percentage discount lasting calendar time, from the
		// subscription's start or its own.
		d := invoice.Discount{ID: "intro", Percent: drawRatio(t, "intro_percent"), Duration: invoice.Repeating, Length: drawLength(t)}
		if d.Percent.IsZero() {
			d.Percent = ensemble.MustRatio("30%")
		}
		if rapid.Bool().Draw(t, "intro_own_start") {
			d.Start = drawInstant(t, anchor, 24*400, "intro_start")
		}
		s.Discounts = append(s.Discounts, d)
	}
	if rapid.Bool().Draw(t, "fixed") {
		// A fixed amount off each cycle (for ever, for some cycles or for
		// calendar time): any split of the runs takes it at most once per
		// cycle, as one run does, even from a cycle's re-charge after a
		// change billed on a later invoice.
		d := invoice.Discount{ID: "fixed", Amount: decimal.New(rapid.Int64Range(1, 20000).Draw(t, "fixed_amount"), -2)}
		if holdsOffer(s, "relay") && rapid.Bool().Draw(t, "fixed_relay") {
			d.Offer = "relay" // the relay item's usage and quarterly fee alone
		}
		switch rapid.IntRange(0, 2).Draw(t, "fixed_duration") {
		case 1:
			d.Duration, d.Cycles = invoice.Repeating, rapid.IntRange(1, 4).Draw(t, "fixed_cycles")
		case 2:
			d.Duration, d.Length = invoice.Repeating, drawLength(t)
			if rapid.Bool().Draw(t, "fixed_own_start") {
				d.Start = drawInstant(t, anchor, 24*400, "fixed_start")
			}
		}
		s.Discounts = append(s.Discounts, d)
	}
	return s, aggs
}

// termCharges are the charges of the offers drawTermsSub pins.
var termCharges = map[catalog.OfferID][]catalog.ChargeID{
	"basic": {"seats", "setup"}, "pro": {"seats"}, "support": {"hours"},
	"commit": {"year"}, "commit-plus": {"year"}, "metered": {"gb"}, "relay": {"calls", "platform"},
}

// drawScope draws a minimum commitment's scope naming what the
// subscription holds: an item, an offer one of its segments pins, a charge
// of it, or both.
func drawScope(t *rapid.T, s invoice.Subscription) invoice.CommitmentScope {
	it := rapid.SampledFrom(s.Items).Draw(t, "scope_item")
	p := rapid.SampledFrom(it.Segments).Draw(t, "scope_segment").Pin
	ch := rapid.SampledFrom(termCharges[p.Offer]).Draw(t, "scope_charge")
	switch rapid.IntRange(0, 3).Draw(t, "scope_kind") {
	case 0:
		return invoice.CommitmentScope{Items: []invoice.ItemID{it.ID}}
	case 1:
		return invoice.CommitmentScope{Offers: []catalog.OfferID{p.Offer}}
	case 2:
		return invoice.CommitmentScope{Charges: []catalog.ChargeID{ch}}
	}
	return invoice.CommitmentScope{Offers: []catalog.OfferID{p.Offer}, Charges: []catalog.ChargeID{ch}}
}

// runUsage returns the usage a run over (after, at] is given: the
// aggregates due in it (at the end of their period, or of the item's
// service in it) and, with a minimum commitment, those whose service starts
// in the commitment's cycle that holds after or later, which its true-up
// counts (see Run.Usage): a period that starts before the cycle counts when
// the item's service in it starts inside the cycle. A run given usage it
// does not bill fails (ErrUsageNotDue).
func runUsage(t *rapid.T, s invoice.Subscription, aggs []usage.Aggregate, after, at time.Time) []usage.Aggregate {
	from := after
	if s.Commitment != nil && !after.IsZero() {
		loc, err := time.LoadLocation(s.TimeZone)
		require.NoError(t, err)
		c, _, err := ensemble.Every(1, ensemble.Monthly).PeriodAt(s.Anchor, after, loc)
		require.NoError(t, err)
		from = c.Start
	}
	var out []usage.Aggregate
	for _, g := range aggs {
		due, svc := g.Period.End, g.Period.Start
		for _, it := range s.Items {
			if g.Line != usage.LineRef(string(s.ID)+"/"+string(it.ID)) {
				continue
			}
			end := it.Segments[len(it.Segments)-1].End
			if !s.CancelAt.IsZero() && (end.IsZero() || s.CancelAt.Before(end)) {
				end = s.CancelAt
			}
			if !end.IsZero() && end.Before(due) {
				due = end
			}
			// The item's segments follow one another without a gap, so
			// its service in the period starts at the later of the
			// period's start and its activation.
			if act := it.Segments[0].Start; act.After(svc) {
				svc = act
			}
		}
		if (after.IsZero() || due.After(after)) && !due.After(at) || s.Commitment != nil && !svc.Before(from) {
			out = append(out, g)
		}
	}
	return out
}

// lineKey is what a line bills, to compare lines across runs.
func lineKey(l invoice.Line) string {
	return fmt.Sprintf("%s %s amount=%s discount=%s net=%s tax=%s pin=%s charge=%s scope=%v", l.Date.UTC().Format(time.RFC3339), l.Kind, l.Amount, l.Discount, l.Net, l.Tax,
		l.Pin, l.Charge, l.CommitmentScope)
}

// Per-item terms split and rejoined: billing a subscription whose items
// have their own anchors and terms (early-termination fees included) in any
// split of runs gives exactly the lines (IDs, dates, amounts, discounts,
// tax, the offer, charge and scope a true-up is attributed to) and the
// totals of billing it in one run (each run given what the earlier ones
// issued), with a fixed discount beside usage and a quarterly fee in
// arrears, with a minimum commitment of the whole
// subscription or of part of it (an item, an offer, a charge), and an item
// with its own anchor bills only on its own cycles.
func TestPropertyItemTermsRunsSplitAndRejoined(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := termsPropBuilder(t)
		until := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rapid.IntRange(24*30, 24*800).Draw(t, "until_hours")) * time.Hour)
		s, aggs := drawTermsSub(t, until)
		subs := []invoice.Subscription{s}
		whole, err := b.Build(invoice.Run{At: until, Usage: aggs}, subs)
		require.NoError(t, err)
		want := map[invoice.LineID]string{}
		wantTotal := money("0")
		for _, inv := range whole {
			for _, l := range inv.Lines {
				want[l.ID] = lineKey(l)
			}
			wantTotal, _ = wantTotal.Add(inv.Total)
		}
		var cuts []time.Time
		for range rapid.IntRange(1, 8).Draw(t, "runs") {
			cuts = append(cuts, drawInstant(t, time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC), int(until.Sub(time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC))/time.Hour)-1, "cut"))
		}
		slices.SortFunc(cuts, time.Time.Compare)
		cuts = slices.CompactFunc(cuts, time.Time.Equal)
		got := map[invoice.LineID]string{}
		gotTotal := money("0")
		var after time.Time
		var billed []invoice.Line
		for _, at := range append(cuts, until) {
			if !at.After(after) {
				continue
			}
			// Each run is given what the earlier ones issued: what a
			// usage line took of a fixed discount is read from it.
			invs, err := b.Build(invoice.Run{After: after, At: at, Usage: runUsage(t, s, aggs, after, at), Billed: billed}, subs)
			require.NoError(t, err)
			for _, inv := range invs {
				billed = append(billed, inv.Lines...)
				for _, l := range inv.Lines {
					_, dup := got[l.ID]
					require.False(t, dup, "line %s billed twice", l.ID)
					got[l.ID] = lineKey(l)
				}
				gotTotal, _ = gotTotal.Add(inv.Total)
			}
			after = at
		}
		require.Equal(t, want, got)
		require.True(t, wantTotal.Equal(gotTotal), "%s != %s", gotTotal, wantTotal)

		// A true-up says the scope it tops up and is attributed to it.
		for _, inv := range whole {
			for _, l := range inv.Lines {
				if l.Kind != invoice.KindCommitmentTrueUp {
					continue
				}
				require.NotEmpty(t, l.Pin.Offer, l.ID)
				if sc := s.Commitment.Scope; sc.IsZero() {
					require.Nil(t, l.CommitmentScope, l.ID)
				} else {
					require.Equal(t, &sc, l.CommitmentScope, l.ID)
					require.True(t, len(sc.Offers) == 0 || l.Pin.Offer == sc.Offers[0], "%s: attributed to %s, not the scope's offer", l.ID, l.Pin)
					require.True(t, len(sc.Charges) == 0 || l.Charge == sc.Charges[0], "%s: attributed to charge %q, not the scope's", l.ID, l.Charge)
				}
			}
		}

		// Lines of an item on its own anchor lie on its own cycles.
		loc, _ := time.LoadLocation(s.TimeZone)
		for _, inv := range whole {
			for _, l := range inv.Lines {
				for _, it := range s.Items {
					if it.ID != l.Item || it.Anchor.IsZero() || l.Kind == invoice.KindOneTime || l.Kind == invoice.KindEarlyTermination {
						continue
					}
					cad := ensemble.Every(1, ensemble.Monthly)
					if it.ID == "y" {
						cad = ensemble.Every(1, ensemble.Yearly)
					}
					c, _, err := cad.PeriodAt(it.Anchor, l.Cycle.Start, loc)
					require.NoError(t, err)
					require.True(t, c.Start.Equal(l.Cycle.Start) && c.End.Equal(l.Cycle.End), "%s: cycle %s is not one of the item's own", l.ID, l.Cycle)
				}
			}
		}
	})
}

// The parts of an item's own cycle add to the whole: a yearly item on its
// own anchor, split at any instants inside one of its years into states of
// the same price, bills in all exactly round(1,200.00) for that year (its
// charges and credits), and the fractions of the parts add up to 1, under
// every basis, in every zone, whatever the subscription's anchor.
func TestPropertyItemCyclePartsAddToWhole(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := termsPropBuilder(t)
		zone := rapid.SampledFrom(zones).Draw(t, "zone")
		loc, err := time.LoadLocation(zone)
		require.NoError(t, err)
		own := time.Date(2027, time.Month(rapid.IntRange(1, 12).Draw(t, "month")), rapid.IntRange(1, 31).Draw(t, "day"), rapid.IntRange(0, 23).Draw(t, "hour"), 0, 0, 0, loc)
		cycle, _, err := ensemble.Every(1, ensemble.Yearly).PeriodAt(own, own.AddDate(rapid.IntRange(0, 1).Draw(t, "years"), 0, 1), loc)
		require.NoError(t, err)
		cuts := []time.Time{cycle.Start}
		for range rapid.IntRange(1, 6).Draw(t, "splits") {
			cuts = append(cuts, cycle.Start.Add(time.Duration(rapid.Int64Range(1, int64(cycle.Duration()/time.Minute)-1).Draw(t, "cut"))*time.Minute))
		}
		slices.SortFunc(cuts, time.Time.Compare)
		cuts = slices.CompactFunc(cuts, time.Time.Equal)
		it := invoice.Item{ID: "y", Anchor: own}
		for k, c := range cuts {
			// Alternating line discounts keep the states apart; the price
			// stays EUR 1,200 a year.
			sg := invoice.Segment{Start: c, Pin: pin("commit", 1), Quantity: dec("1"), Discount: []ensemble.Ratio{{}, ensemble.MustRatio("5%")}[k%2]}
			if k+1 < len(cuts) {
				sg.End = cuts[k+1]
			}
			it.Segments = append(it.Segments, sg)
		}
		s := invoice.Subscription{ID: "s", Customer: invoice.Customer{ID: "c"}, Currency: eur, TimeZone: zone,
			Anchor: time.Date(2027, 1, rapid.IntRange(1, 31).Draw(t, "sub_day"), 0, 0, 0, 0, loc), Items: []invoice.Item{it}}
		invs, err := b.Build(invoice.Run{At: cycle.End}, []invoice.Subscription{s})
		require.NoError(t, err)
		sum, frac := money("0"), ensemble.Ratio{}
		for _, l := range invs[0].Lines {
			if !l.Cycle.Equal(ensemble.Period{Start: cycle.Start.UTC(), End: cycle.End.UTC()}) {
				require.True(t, l.Cycle.Start.After(cycle.Start), "%s: only the item's own cycles", l.ID)
				continue
			}
			sum, err = sum.Add(l.Amount)
			require.NoError(t, err)
			f := ensemble.MustRatio("1")
			if l.Proration != nil {
				f = l.Proration.Fraction
			}
			if l.Kind == invoice.KindProrationCredit {
				f = f.Neg()
			}
			frac = frac.Add(f)
		}
		require.True(t, sum.Equal(money("1200.00")), "%s", sum)
		require.True(t, frac.Equal(ensemble.MustRatio("1")), frac.String())
	})
}
