package invoice_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/usage"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

var (
	propCatalog = func() *catalog.Catalog {
		c, err := catalog.LoadYAML([]byte(catalogYAML))
		if err != nil {
			panic(err)
		}
		return c
	}()
	zones = []string{"", "Europe/Paris", "America/New_York"}
	bases = []ensemble.ProrationBasis{ensemble.ProrateExactTime, ensemble.ProrateDaysEndExclusive, ensemble.ProrateDaysEndInclusive, ensemble.ProrateThirtyDayMonth, ensemble.ProrateThirtyDayCalendarMonth}
)

func propBuilder(t *rapid.T) *invoice.Builder { return propBuilderOf(t, propCatalog) }

// propBuilderOf draws a builder of cat.
func propBuilderOf(t *rapid.T, cat *catalog.Catalog) *invoice.Builder {
	opts := invoice.Options{
		Basis:       rapid.SampledFrom(bases).Draw(t, "basis"),
		Mode:        rapid.SampledFrom([]ensemble.RoundingMode{ensemble.RoundHalfAwayFromZero, ensemble.RoundHalfEven, ensemble.RoundDown}).Draw(t, "mode"),
		TaxRounding: rapid.SampledFrom([]invoice.TaxRounding{invoice.TaxPerLine, invoice.TaxPerInvoice}).Draw(t, "tax_rounding"),
	}
	if rapid.Bool().Draw(t, "taxed") {
		opts.Taxes = invoice.TaxTable{Rules: append(slices.Clone(taxes.Rules), invoice.TaxRule{ID: "other", Rate: ensemble.MustRatio("7.7%")})}
	}
	b, err := invoice.NewBuilder(cat, opts)
	require.NoError(t, err)
	return b
}

func drawInstant(t *rapid.T, from time.Time, maxHours int, label string) time.Time {
	return from.Add(time.Duration(rapid.IntRange(1, maxHours).Draw(t, label)) * time.Hour)
}

func drawQty(t *rapid.T, label string) decimal.Decimal {
	return decimal.New(rapid.Int64Range(0, 4000).Draw(t, label), -int32(rapid.IntRange(0, 2).Draw(t, label+"_scale")))
}

func drawRatio(t *rapid.T, label string) ensemble.Ratio {
	return rapid.SampledFrom([]ensemble.Ratio{{}, ensemble.MustRatio("5%"), ensemble.MustRatio("12.5%"), ensemble.MustRatio("1/3"), ensemble.MustRatio("100%")}).Draw(t, label)
}

// holdsOffer reports whether an item of s holds offer o in some segment,
// as its base offer or an add-on.
func holdsOffer(s invoice.Subscription, o catalog.OfferID) bool {
	for _, it := range s.Items {
		for _, sg := range it.Segments {
			if sg.Pin.Offer == o || slices.ContainsFunc(sg.AddOns, func(a invoice.AddOn) bool { return a.Pin.Offer == o }) {
				return true
			}
		}
	}
	return false
}

// drawSub draws a valid subscription with changes, add-ons, discounts and
// maybe a cancellation, starting in January 2028 (a leap year).
func drawSub(t *rapid.T, id string) invoice.Subscription {
	anchor := time.Date(2028, 1, rapid.IntRange(1, 31).Draw(t, id+"_day"), rapid.IntRange(0, 23).Draw(t, id+"_hour"), 0, 0, 0, time.UTC)
	s := invoice.Subscription{
		ID:       invoice.SubscriptionID(id),
		Customer: invoice.Customer{ID: "c-" + invoice.CustomerID(id), Region: rapid.SampledFrom([]string{"FR", "DE", "XX", "US"}).Draw(t, id+"_region")},
		Currency: eur, Anchor: anchor, TimeZone: rapid.SampledFrom(zones).Draw(t, id+"_zone"),
	}
	s.Customer.ReverseCharge = rapid.IntRange(0, 5).Draw(t, id+"_reverse") == 0
	s.Customer.TaxExempt = rapid.IntRange(0, 5).Draw(t, id+"_exempt") == 0
	bases := []catalog.Pin{pin("basic", 1), pin("basic", 2), pin("pro", 1), pin("support", 1), pin("support", 2), pin("api", 1), pin("suite", 1)}
	nItems := rapid.IntRange(1, 3).Draw(t, id+"_items")
	for i := range nItems {
		it := invoice.Item{ID: invoice.ItemID(fmt.Sprintf("i%d", i)), PartnerDiscount: drawRatio(t, id+"_partner")}
		at := drawInstant(t, anchor.Add(-24*time.Hour), 24*40, id+"_start")
		for k := range rapid.IntRange(1, 4).Draw(t, id+"_segments") {
			sg := invoice.Segment{Start: at, Pin: rapid.SampledFrom(bases).Draw(t, id+"_pin"), Quantity: drawQty(t, id+"_qty"), Discount: drawRatio(t, id+"_line_discount")}
			if (sg.Pin.Offer == "basic" || sg.Pin.Offer == "pro") && rapid.Bool().Draw(t, id+"_addon") {
				sg.AddOns = []invoice.AddOn{{Pin: pin("storage", 1), Quantity: drawQty(t, id+"_addon_qty")}}
			}
			at = drawInstant(t, at, 24*45, id+"_end")
			if k > 0 || rapid.Bool().Draw(t, id+"_closed") {
				sg.End = at
			}
			it.Segments = append(it.Segments, sg)
		}
		// Only the last segment may be open.
		for k := 0; k < len(it.Segments)-1; k++ {
			if it.Segments[k].End.IsZero() {
				it.Segments[k].End = it.Segments[k+1].Start
			}
		}
		if rapid.Bool().Draw(t, id+"_item_discount") {
			it.Discounts = []invoice.Discount{{ID: "item", Percent: ensemble.MustRatio("15%"), Duration: invoice.Repeating, Cycles: 2}}
			if rapid.Bool().Draw(t, id+"_item_discount_months") {
				it.Discounts[0].Cycles, it.Discounts[0].Length = 0, ensemble.Every(2, ensemble.Monthly)
			}
		}
		s.Items = append(s.Items, it)
	}
	if rapid.Bool().Draw(t, id+"_fixed") {
		d := invoice.Discount{ID: "fixed", Amount: decimal.New(rapid.Int64Range(1, 5000).Draw(t, id+"_fixed_amount"), -2)}
		switch rapid.IntRange(0, 2).Draw(t, id+"_fixed_duration") {
		case 1:
			d.Duration, d.Cycles = invoice.Repeating, rapid.IntRange(1, 3).Draw(t, id+"_fixed_cycles")
		case 2:
			d.Duration, d.Length = invoice.Repeating, ensemble.Every(rapid.IntRange(1, 3).Draw(t, id+"_fixed_months"), ensemble.Monthly)
		}
		s.Discounts = append(s.Discounts, d)
	}
	if rapid.Bool().Draw(t, id+"_item_fixed") {
		s.Items[0].Discounts = append(s.Items[0].Discounts, invoice.Discount{ID: "item-fixed", Amount: decimal.New(rapid.Int64Range(1, 2000).Draw(t, id+"_item_fixed_amount"), -2)})
	}
	if rapid.Bool().Draw(t, id+"_pct") {
		// Limited to pro, or, when no item holds it (an offer the
		// subscription never holds is refused: ErrDiscountOffer), to the
		// first item's first offer.
		offer := catalog.OfferID("pro")
		if !holdsOffer(s, offer) {
			offer = s.Items[0].Segments[0].Pin.Offer
		}
		s.Discounts = append(s.Discounts, invoice.Discount{ID: "pct", Percent: ensemble.MustRatio("10%"), Offer: offer, Duration: invoice.Once})
	}
	if rapid.Bool().Draw(t, id+"_commit") {
		s.Commitment = &invoice.Commitment{Minimum: decimal.NewFromInt(rapid.Int64Range(0, 300).Draw(t, id+"_minimum"))}
		if rapid.Bool().Draw(t, id+"_scoped") {
			it := rapid.SampledFrom(s.Items).Draw(t, id+"_scope_item")
			if rapid.Bool().Draw(t, id+"_scope_by_item") {
				s.Commitment.Scope.Items = []invoice.ItemID{it.ID}
			} else {
				s.Commitment.Scope.Offers = []catalog.OfferID{rapid.SampledFrom(it.Segments).Draw(t, id+"_scope_segment").Pin.Offer}
			}
		}
	}
	if rapid.Bool().Draw(t, id+"_cancel") {
		s.CancelAt = drawInstant(t, anchor, 24*150, id+"_cancel_at")
	}
	if rapid.Bool().Draw(t, id+"_credits") {
		s.Credits = []invoice.PrepaidCredit{{ID: "w", Balance: decimal.New(rapid.Int64Range(0, 20000).Draw(t, id+"_balance"), -2)}}
	}
	return s
}

// drawUsage draws usage aggregates for the subscription's items, by month
// of its cadence.
func drawUsage(t *rapid.T, s invoice.Subscription, runAt time.Time) []usage.Aggregate {
	var out []usage.Aggregate
	for _, it := range s.Items {
		for _, sg := range it.Segments {
			if sg.Pin.Offer != "api" {
				continue
			}
			loc, _ := time.LoadLocation(s.TimeZone)
			p, _, err := ensemble.Every(1, ensemble.Monthly).PeriodAt(s.Anchor, sg.Start, loc)
			require.NoError(t, err)
			if !p.End.After(runAt) && (s.CancelAt.IsZero() || sg.Start.Before(s.CancelAt)) {
				out = append(out, usage.Aggregate{Line: usage.LineRef(string(s.ID) + "/" + string(it.ID)), Meter: "api_calls",
					Aggregation: usage.Sum, Period: ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}, Value: drawQty(t, "usage"), Records: 1,
					Digest: usage.DigestOf(usage.RecordID(string(it.ID) + p.Start.String()))})
			}
			break
		}
	}
	return out
}

// Every invoice reconciles: Subtotal + Tax == Total, each line's parts
// relate exactly, the tax breakdown adds up, and it round-trips through
// JSON.
func TestPropertyInvoicesReconcile(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := propBuilder(t)
		s := drawSub(t, "s")
		at := drawInstant(t, s.Anchor, 24*120, "run_at")
		run := invoice.Run{At: at, Usage: drawUsage(t, s, at)}
		invs, err := b.Build(run, []invoice.Subscription{s})
		if err != nil {
			require.ErrorIs(t, err, invoice.ErrNoTaxRule) // region US has no rule
			return
		}
		for _, inv := range invs {
			require.NoError(t, inv.Check())
			st, err := inv.Subtotal.Add(inv.Tax)
			require.NoError(t, err)
			require.True(t, st.Equal(inv.Total))
			for _, l := range inv.Lines {
				require.True(t, l.Amount.IsRounded() && l.Tax.IsRounded() && l.Net.IsRounded())
				if l.Kind != invoice.KindProrationCredit && l.Kind != invoice.KindUsageAdjustment {
					require.GreaterOrEqual(t, l.Amount.Sign(), 0, l.ID)
				}
				// What package settlement accepts: a negative net names the
				// line it credits, a credit is never positive, and supplier
				// costs are never negative.
				if l.Net.IsNegative() {
					require.NotEmpty(t, l.Credits, l.ID)
				}
				if l.Credits != "" {
					require.False(t, l.Net.IsPositive() || l.Tax.IsPositive(), l.ID)
				}
				for _, c := range l.SupplierCosts {
					require.False(t, c.Cost.IsNegative(), l.ID)
				}
				if l.Kind == invoice.KindCommitmentTrueUp {
					require.NotEmpty(t, l.Pin.Offer, l.ID)
				}
			}
			roundTrip(t, inv)
		}
	})
}

// A cycle split at any instants into states of the same price bills, in
// all, exactly round(full) — in advance (charges and credits) and in
// arrears — and the exact fractions of the parts add up to 1.
func TestPropertySplitProrationSumsToFull(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := propBuilder(t)
		offer := rapid.SampledFrom([]string{"basic", "support"}).Draw(t, "offer")
		anchor := time.Date(2028, time.Month(rapid.IntRange(1, 12).Draw(t, "month")), rapid.IntRange(1, 31).Draw(t, "day"), 0, 0, 0, 0, time.UTC)
		s := sub("s", anchor)
		s.TimeZone = rapid.SampledFrom(zones).Draw(t, "zone")
		s.Customer.TaxExempt = true
		loc, err := time.LoadLocation(s.TimeZone)
		require.NoError(t, err)
		cycle, _, err := ensemble.Every(1, ensemble.Monthly).PeriodAt(anchor, anchor.AddDate(0, 1, 1), loc)
		require.NoError(t, err)
		qty := drawQty(t, "qty")
		n := rapid.IntRange(1, 5).Draw(t, "splits")
		cuts := []time.Time{cycle.Start}
		for range n {
			c := cycle.Start.Add(time.Duration(rapid.Int64Range(1, int64(cycle.Duration()/time.Minute)-1).Draw(t, "cut")) * time.Minute)
			cuts = append(cuts, c)
		}
		slices.SortFunc(cuts, time.Time.Compare)
		cuts = slices.CompactFunc(cuts, time.Time.Equal)
		it := invoice.Item{ID: "i"}
		// Start a cycle before, so the cycle is billed whole first.
		it.Segments = append(it.Segments, invoice.Segment{Start: anchor, End: cuts[1%len(cuts)], Pin: pin(offer, 1), Quantity: qty})
		if len(cuts) == 1 {
			it.Segments[0].End = time.Time{}
		}
		for k := 1; k < len(cuts); k++ {
			sg := invoice.Segment{Start: cuts[k], Pin: pin(offer, 1+k%2), Quantity: qty}
			if k+1 < len(cuts) {
				sg.End = cuts[k+1]
			}
			it.Segments = append(it.Segments, sg)
		}
		s.Items = []invoice.Item{it}
		invs, err := b.Build(invoice.Run{At: cycle.End}, []invoice.Subscription{s})
		require.NoError(t, err)
		sum := money("0")
		frac := ensemble.Ratio{}
		var full ensemble.Money
		for _, l := range invs[0].Lines {
			if !l.Cycle.Equal(cycle) {
				continue
			}
			sum, err = sum.Add(l.Amount)
			require.NoError(t, err)
			full = l.Full
			f := ensemble.MustRatio("1")
			if l.Proration != nil {
				f = l.Proration.Fraction
			}
			if l.Kind == invoice.KindProrationCredit {
				f = f.Neg()
			}
			frac = frac.Add(f)
		}
		require.True(t, sum.Equal(full.Round(b.Options().Mode)), "%s != round(%s)", sum, full)
		require.True(t, frac.Equal(ensemble.MustRatio("1")), frac.String())
	})
}

// Credit notes never credit more than remains, and crediting the rest of
// every line returns exactly the invoice's creditable net, tax and total.
func TestPropertyCreditNotes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := propBuilder(t)
		s := drawSub(t, "s")
		at := drawInstant(t, s.Anchor, 24*120, "run_at")
		invs, err := b.Build(invoice.Run{At: at, Usage: drawUsage(t, s, at)}, []invoice.Subscription{s})
		if err != nil || len(invs) == 0 {
			return
		}
		inv, err := invoice.Issue(invs[0], at)
		require.NoError(t, err)
		wantNet, wantTax, wantTotal := money("0"), money("0"), money("0")
		var creditable []invoice.Line
		for _, l := range inv.Lines {
			if l.Total.IsPositive() {
				creditable = append(creditable, l)
				wantNet, _ = wantNet.Add(l.Net)
				wantTax, _ = wantTax.Add(l.Tax)
				wantTotal, _ = wantTotal.Add(l.Total)
			}
		}
		if len(creditable) == 0 {
			return
		}
		var notes []invoice.CreditNote
		for i := range rapid.IntRange(0, 6).Draw(t, "partials") {
			l := rapid.SampledFrom(creditable).Draw(t, "line")
			rem, err := invoice.Remaining(inv, notes)
			require.NoError(t, err)
			var r invoice.Remainder
			for _, x := range rem {
				if x.Line == l.ID {
					r = x
				}
			}
			cl := invoice.CreditLine{Line: l.ID}
			units, _ := r.Total.MinorUnits()
			over := false
			switch rapid.IntRange(0, 2).Draw(t, "how") {
			case 0:
				amt := rapid.Int64Range(0, units+2).Draw(t, "amount")
				cl.Amount = decimal.New(amt, -2)
				over = amt > units
			case 1:
				q := rapid.Int64Range(0, r.Quantity.Mul(decimal.NewFromInt(100)).IntPart()+2).Draw(t, "quantity")
				cl.Quantity = decimal.New(q, -2)
				over = cl.Quantity.GreaterThan(r.Quantity)
			}
			cn, err := invoice.NewCreditNote(inv, notes, invoice.CreditRequest{ID: fmt.Sprint(i), Reason: invoice.ReasonRefund, At: at, Lines: []invoice.CreditLine{cl}})
			if r.Total.IsZero() {
				require.Error(t, err)
				continue
			}
			if over {
				require.ErrorIs(t, err, invoice.ErrOverCredit)
				continue
			}
			require.NoError(t, err)
			for _, cl := range cn.Lines {
				c, _ := cl.Total.Neg().Cmp(r.Total)
				require.LessOrEqual(t, c, 0)
				c, _ = cl.Tax.Neg().Cmp(r.Tax)
				require.LessOrEqual(t, c, 0)
			}
			notes = append(notes, cn)
		}
		rem, err := invoice.Remaining(inv, notes)
		require.NoError(t, err)
		for _, r := range rem {
			require.False(t, r.Total.IsNegative() || r.Tax.IsNegative() || r.Net.IsNegative(), "%+v", r)
		}
		last, err := invoice.NewCreditNote(inv, notes, invoice.CreditRequest{ID: "rest", Reason: invoice.ReasonCorrection, At: at, Full: true})
		if err == nil {
			notes = append(notes, last)
		}
		gotNet, gotTax, gotTotal := money("0"), money("0"), money("0")
		for _, cn := range notes {
			gotNet, _ = gotNet.Add(cn.Subtotal)
			gotTax, _ = gotTax.Add(cn.Tax)
			gotTotal, _ = gotTotal.Add(cn.Total)
		}
		require.True(t, gotNet.Neg().Equal(wantNet), "net %s vs %s", gotNet, wantNet)
		require.True(t, gotTax.Neg().Equal(wantTax), "tax %s vs %s", gotTax, wantTax)
		require.True(t, gotTotal.Neg().Equal(wantTotal), "total %s vs %s", gotTotal, wantTotal)
	})
}

func shuffled[T any](t *rapid.T, xs []T, label string) []T {
	out := slices.Clone(xs)
	for i := len(out) - 1; i > 0; i-- {
		j := rapid.IntRange(0, i).Draw(t, label)
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// The same subscriptions and usage in any order give the same invoices,
// byte for byte.
func TestPropertyInputOrderIndependence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := propBuilder(t)
		var subs []invoice.Subscription
		var aggs []usage.Aggregate
		at := time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC)
		for i := range rapid.IntRange(1, 4).Draw(t, "subs") {
			s := drawSub(t, fmt.Sprintf("s%d", i))
			subs = append(subs, s)
			aggs = append(aggs, drawUsage(t, s, at)...)
		}
		run := invoice.Run{After: time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC), At: at, Usage: aggs}
		want, err1 := b.Build(run, subs)
		other := shuffled(t, subs, "sub_order")
		for i := range other {
			other[i].Items = shuffled(t, other[i].Items, "item_order")
			other[i].Discounts = shuffled(t, other[i].Discounts, "discount_order")
		}
		run.Usage = shuffled(t, aggs, "usage_order")
		got, err2 := b.Build(run, other)
		require.Equal(t, err1 == nil, err2 == nil)
		if err1 != nil {
			return
		}
		w, err := json.Marshal(want)
		require.NoError(t, err)
		g, err := json.Marshal(got)
		require.NoError(t, err)
		require.Equal(t, string(w), string(g))
	})
}

// Late usage billed in several deltas bills, in all, exactly what billing
// it at once does: amounts and discounts.
func TestPropertyLateUsageDeltas(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := propBuilder(t)
		it := item("api", seg(date(2026, 2, 1), time.Time{}, pin("api", 1), "1"))
		it.PartnerDiscount = drawRatio(t, "partner")
		s := sub("s1", date(2026, 2, 1), it)
		s.Customer.TaxExempt = true
		billed := marchUsage("s1/api", drawQty(t, "billed").String(), "r0")
		lateOf := func(q decimal.Decimal, id string) usage.Aggregate {
			a := marchUsage("s1/api", q.String(), usage.RecordID(id))
			a.Late = true
			return a
		}
		n := rapid.IntRange(1, 5).Draw(t, "deltas")
		all := lateOf(decimal.Zero, "none")
		all.Records, all.Digest = 0, usage.Digest{}
		cum := billed
		amount, discount := money("0"), money("0")
		for i := range n {
			l := lateOf(drawQty(t, "late"), fmt.Sprint("r", i+1))
			inv := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 4, 2), Late: []invoice.LateUsage{{Billed: cum, Late: l}}}, s)
			amount, _ = amount.Add(inv.Lines[0].Amount)
			discount, _ = discount.Add(inv.Lines[0].Discount)
			var err error
			cum, err = cum.Merge(l)
			require.NoError(t, err)
			all, err = all.Merge(l)
			require.NoError(t, err)
		}
		inv := build1(t, b, invoice.Run{After: date(2026, 4, 1), At: date(2026, 4, 2), Late: []invoice.LateUsage{{Billed: billed, Late: all}}}, s)
		require.True(t, amount.Equal(inv.Lines[0].Amount), "%s vs %s", amount, inv.Lines[0].Amount)
		require.True(t, discount.Equal(inv.Lines[0].Discount), "%s vs %s", discount, inv.Lines[0].Discount)
	})
}

// Building subscriptions together gives each the invoice it gets when built
// alone: nothing leaks from one subscription's lines to the next.
func TestPropertyTogetherEqualsApart(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := propBuilder(t)
		var subs []invoice.Subscription
		var aggs []usage.Aggregate
		at := time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rapid.IntRange(0, 24*60).Draw(t, "at_hours")) * time.Hour)
		for i := range rapid.IntRange(1, 6).Draw(t, "subs") {
			s := drawSub(t, fmt.Sprintf("s%d", i))
			subs = append(subs, s)
			aggs = append(aggs, drawUsage(t, s, at)...)
		}
		run := invoice.Run{After: at.AddDate(0, -1, 0), At: at, Usage: aggs}
		together, err := b.Build(run, subs)
		if err != nil {
			return
		}
		var apart []invoice.Invoice
		for _, s := range subs {
			var mine []usage.Aggregate
			for _, g := range aggs {
				if strings.HasPrefix(string(g.Line), string(s.ID)+"/") {
					mine = append(mine, g)
				}
			}
			r := run
			r.Usage = mine
			invs, err := b.Build(r, []invoice.Subscription{s})
			require.NoError(t, err)
			apart = append(apart, invs...)
		}
		require.Len(t, together, len(apart))
		if len(apart) == 0 {
			return
		}
		w, err := json.Marshal(apart)
		require.NoError(t, err)
		g, err := json.Marshal(together)
		require.NoError(t, err)
		require.Equal(t, string(w), string(g))
	})
}

// relayOffers adds an offer billing monthly usage beside a quarterly fee
// in arrears: a quarter's line, due at its end, serves from a cycle whose
// usage earlier runs billed.
const relayOffers = `
  - id: relay
    version: 1
    name: Relay
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: calls, name: Calls, type: usage, meter: calls, cadence: {unit: monthly}, price: {model: per_unit, amount: "0.10"}}
      - {id: platform, name: Platform, type: recurring, cadence: {unit: quarterly}, timing: in_arrears, price: {model: per_unit, amount: "45.00"}}
`

var relayPropCatalog = func() *catalog.Catalog {
	c, err := catalog.LoadYAML([]byte(catalogYAML + relayOffers))
	if err != nil {
		panic(err)
	}
	return c
}()

// drawRelay adds to s an item "q" of the relay offer (quantity changes,
// maybe an end), and a fixed discount of the subscription if it has none,
// and returns it with the usage of each of the item's months that ends by
// until while it is in service.
func drawRelay(t *rapid.T, s invoice.Subscription, until time.Time) (invoice.Subscription, []usage.Aggregate) {
	it := invoice.Item{ID: "q"}
	at := drawInstant(t, s.Anchor.Add(-24*time.Hour), 24*100, "relay_start")
	n := rapid.IntRange(1, 3).Draw(t, "relay_segments")
	for k := range n {
		sg := invoice.Segment{Start: at, Pin: pin("relay", 1), Quantity: drawQty(t, "relay_qty")}
		at = drawInstant(t, at, 24*100, "relay_end")
		if k+1 < n || rapid.Bool().Draw(t, "relay_ends") {
			sg.End = at
		}
		it.Segments = append(it.Segments, sg)
	}
	s.Items = append(s.Items, it)
	if !slices.ContainsFunc(s.Discounts, func(d invoice.Discount) bool { return d.ID == "fixed" }) {
		s.Discounts = append(s.Discounts, invoice.Discount{ID: "fixed", Amount: decimal.New(rapid.Int64Range(1, 20000).Draw(t, "relay_fixed_amount"), -2)})
	}
	loc, err := time.LoadLocation(s.TimeZone)
	require.NoError(t, err)
	start, end := it.Segments[0].Start, it.Segments[len(it.Segments)-1].End
	if !s.CancelAt.IsZero() && (end.IsZero() || s.CancelAt.Before(end)) {
		end = s.CancelAt
	}
	var aggs []usage.Aggregate
	if !start.Before(until) || (!end.IsZero() && !start.Before(end)) {
		return s, nil // never in service before until
	}
	seq, err := ensemble.Every(1, ensemble.Monthly).Periods(s.Anchor, ensemble.Period{Start: start, End: until}, loc)
	require.NoError(t, err)
	for p := range seq {
		if p.End.After(until) || (!end.IsZero() && !p.Start.Before(end)) {
			break
		}
		aggs = append(aggs, usage.Aggregate{Line: usage.LineRef(string(s.ID) + "/q"), Meter: "calls", Aggregation: usage.Sum,
			Period: ensemble.Period{Start: p.Start.UTC(), End: p.End.UTC()}, Value: drawQty(t, "calls"), Records: 1,
			Digest: usage.DigestOf(usage.RecordID(p.Start.String()))})
	}
	return s, aggs
}

// A fixed discount (the subscription's for ever, for some cycles or for
// calendar time, and an item's) takes at most its amount per cycle over
// every invoice: any split of the runs (each given what the earlier ones
// issued, and the usage due in it) bills the lines one run bills, with the
// same discounts, though changes re-charge a cycle on a later invoice than
// its first line, and a quarter's line in arrears is billed after the
// usage of its first month (the relay item: what that usage line took is
// read from Run.Billed, as it cannot be billed again without its usage).
func TestPropertyFixedDiscountRunsSplitLikeOneRun(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := propBuilderOf(t, relayPropCatalog)
		s := drawSub(t, "s")
		horizon := s.Anchor.AddDate(0, 8, 0)
		var aggs []usage.Aggregate
		if rapid.Bool().Draw(t, "relay") {
			s, aggs = drawRelay(t, s, horizon)
		}
		lines := func(invs []invoice.Invoice) map[invoice.LineID]string {
			out := map[invoice.LineID]string{}
			for _, inv := range invs {
				for _, l := range inv.Lines {
					// Tax is left out: rounded per invoice, it depends
					// on the split.
					out[l.ID] = fmt.Sprintf("%s %s amount=%s discount=%s %v", l.Date.UTC().Format(time.RFC3339), l.Kind, l.Amount, l.Discount, l.Discounts)
				}
			}
			return out
		}
		one, err := b.Build(invoice.Run{At: horizon, Usage: aggs}, []invoice.Subscription{s})
		require.NoError(t, err)
		var cuts []time.Time
		for range rapid.IntRange(1, 8).Draw(t, "runs") {
			cuts = append(cuts, drawInstant(t, s.Anchor.Add(-48*time.Hour), 24*240, "run_at"))
		}
		slices.SortFunc(cuts, time.Time.Compare)
		cuts = slices.CompactFunc(cuts, time.Time.Equal)
		var all []invoice.Invoice
		var billed []invoice.Line
		after := time.Time{}
		for _, at := range append(cuts, horizon) {
			if len(billed) == 0 {
				// A subscription no run has billed yet is billed from
				// the beginning (Run.Billed), so a usage period an
				// earlier run found idle and issued no line of needs no
				// line in Run.Billed.
				after = time.Time{}
			}
			invs, err := b.Build(invoice.Run{After: after, At: at, Billed: billed, Usage: runUsage(t, s, aggs, after, at)}, []invoice.Subscription{s})
			require.NoError(t, err)
			all = append(all, invs...)
			for _, inv := range invs {
				billed = append(billed, inv.Lines...)
			}
			after = at
		}
		require.Equal(t, lines(one), lines(all))
	})
}
