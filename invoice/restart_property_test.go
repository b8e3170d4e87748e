package invoice_test

import (
	"errors"
	"fmt"
	"math/big"
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

// pausing is a subscription whose items stop, restart and change quantity
// over February to May, each change recorded when it takes effect or, for
// a pause, scheduled when the stop is (the restart then known before the
// stop takes effect).
type pausing struct {
	s       invoice.Subscription // every segment, with its Recorded and EndRecorded
	records []usage.Record       // API calls while the api item is in service
}

// visibleAt is the subscription as the host knows it at instant t: the
// segments recorded by then, each open while its end is not recorded yet.
func (p *pausing) visibleAt(t time.Time) invoice.Subscription {
	out := p.s
	out.Items = nil
	for _, it := range p.s.Items {
		var segs []invoice.Segment
		for _, sg := range it.Segments {
			if sg.Recorded.After(t) {
				continue
			}
			if sg.EndRecorded.After(t) {
				sg.End, sg.EndRecorded = time.Time{}, time.Time{}
			}
			segs = append(segs, sg)
		}
		if len(segs) > 0 {
			it.Segments = segs
			out.Items = append(out.Items, it)
		}
	}
	return out
}

// pausingYAML adds to the test catalog Events at EUR 0.02 an event with
// its EUR 20 minimum spend prorated by service (spend_proration: service).
const pausingYAML = `
  - id: events-s
    version: 1
    name: Events by service
    currency: EUR
    effective_from: 2020-01-01T00:00:00Z
    charges:
      - {id: events, name: Events, type: usage, meter: events, price: {model: per_unit, amount: "0.02", minimum_spend: "20", spend_proration: service}}
`

// drawPausing draws the subscription: Support in arrears (help), Basic in
// advance on a three-month term with a fee of EUR 100 (seats), Events with
// its EUR 20 minimum spend owed whole and no usage (ev), API calls (api),
// Events by service (evs: the minimum prorated by service, with usage);
// maybe a subscription term with a fee of EUR 300.
func drawPausing(t *rapid.T) *pausing {
	anchor := date(2026, 2, rapid.SampledFrom([]int{1, 15}).Draw(t, "anchor day"))
	end := date(2026, 6, 1)
	s := sub("s1", anchor)
	quarter := ensemble.Every(3, ensemble.Monthly)
	if rapid.Bool().Draw(t, "subscription term") {
		s.Term = invoice.Term{Length: quarter, EarlyTermination: &invoice.EarlyTermination{Amount: dec("300")}}
	}
	p := &pausing{}
	for _, kind := range []struct{ id, offer string }{{"api", "api"}, {"ev", "events"}, {"help", "support"}, {"seats", "basic"}, {"evs", "events-s"}} {
		day := func(from time.Time, lo, hi int, label string) time.Time {
			return from.Add(time.Duration(rapid.IntRange(lo*24, hi*24).Draw(t, kind.id+" "+label)) * time.Hour)
		}
		qty := func(label string) string {
			return strconv.Itoa(rapid.IntRange(1, 3).Draw(t, kind.id+" "+label))
		}
		act := day(anchor, 0, 20, "activation")
		cur := invoice.Segment{Start: act, Pin: pin(kind.offer, 1), Quantity: dec(qty("quantity")), Recorded: act}
		var segs []invoice.Segment
		at := act
		for k := range rapid.IntRange(0, 6).Draw(t, kind.id+" changes") {
			at = day(at, 1, 25, fmt.Sprint("change ", k))
			if !at.Before(end) {
				break
			}
			switch rapid.IntRange(0, 2).Draw(t, fmt.Sprint(kind.id, " change ", k, " kind")) {
			case 0: // a quantity change
				cur.End, cur.EndRecorded = at, at
				segs = append(segs, cur)
				cur = invoice.Segment{Start: at, Pin: cur.Pin, Quantity: dec(qty("new quantity")), Recorded: at}
			default: // a stop, restarted later or not
				cur.End, cur.EndRecorded = at, at
				restart := day(at, 1, 20, fmt.Sprint("restart ", k))
				next := invoice.Segment{Start: restart, Pin: cur.Pin, Quantity: dec(qty("restart quantity")), Recorded: restart}
				switch rapid.IntRange(0, 3).Draw(t, fmt.Sprint(kind.id, " scheduled ", k)) {
				case 0:
					// A pause scheduled ahead: stop and restart recorded together.
					rec := day(cur.Start, 0, int(at.Sub(cur.Start)/(24*time.Hour)), fmt.Sprint("scheduled at ", k))
					cur.EndRecorded, next.Recorded = rec, rec
				case 1:
					if kind.id == "evs" && s.Term.Length == (ensemble.Cadence{}) {
						// A restart recorded after it took effect (back-dated;
						// not with a subscription term: a run before the record
						// may bill the term's fee where every other item had
						// stopped, and reverse it at their restart, a pair one
						// run does not bill).
						next.Recorded = day(restart, 1, 10, fmt.Sprint("restart recorded ", k))
					}
				}
				segs = append(segs, cur)
				if !restart.Before(end) || rapid.IntRange(0, 3).Draw(t, fmt.Sprint(kind.id, " for good ", k)) == 0 {
					cur = invoice.Segment{}
				} else {
					cur, at = next, restart
				}
			}
			if cur.Start.IsZero() {
				break
			}
		}
		if !cur.Start.IsZero() {
			segs = append(segs, cur)
		}
		// What follows a change recorded late is recorded after it.
		for k := 1; k < len(segs); k++ {
			segs[k].Recorded = maxTime(segs[k].Recorded, segs[k-1].Recorded)
			if segs[k-1].End.Equal(segs[k].Start) {
				segs[k-1].EndRecorded = segs[k].Recorded
			}
		}
		for k := range segs {
			if !segs[k].End.IsZero() {
				segs[k].EndRecorded = maxTime(segs[k].EndRecorded, segs[k].Recorded)
			}
		}
		it := item(kind.id, segs...)
		if kind.id == "seats" {
			it.Term = invoice.Term{Length: quarter, EarlyTermination: &invoice.EarlyTermination{Amount: dec("100")}}
		}
		s.Items = append(s.Items, it)
	}
	p.s = s
	// Records in the periods that end by June 1 (usage of a period still
	// open then is billed by a later run).
	until := anchor.AddDate(0, monthsFrom(anchor, end), 0)
	if until.After(end) {
		until = until.AddDate(0, -1, 0)
	}
	for i := range rapid.IntRange(0, 12).Draw(t, "records") {
		at := anchor.Add(time.Duration(rapid.IntRange(0, int(until.Sub(anchor)/time.Hour)-1).Draw(t, "record at")) * time.Hour)
		k := rapid.SampledFrom([]int{0, 4}).Draw(t, "record item")
		meter := []usage.MeterID{0: "api_calls", 4: "events"}[k]
		for _, sg := range s.Items[k].Segments {
			if !at.Before(sg.Start) && (sg.End.IsZero() || at.Before(sg.End)) {
				p.records = append(p.records, usage.Record{ID: usage.RecordID("r" + strconv.Itoa(i)), Line: usage.LineRef("s1/" + s.Items[k].ID), Meter: meter,
					At: at, Quantity: dec(strconv.Itoa(rapid.IntRange(1, 600).Draw(t, "calls")))})
			}
		}
	}
	return p
}

// arrearsOwed is what the contract says Support in arrears bills, by
// instant end, for the service the item had: per cycle, each piece's
// prorated part, round(20 × q × to) - round(20 × q × from) on exact time,
// for the pieces of every stretch of service (segments following one
// another) that ended by then, at a stop or at its cycle's end.
func arrearsOwed(t *rapid.T, s invoice.Subscription, segs []invoice.Segment, end time.Time) ensemble.Money {
	sum := money("0")
	for n := 0; ; n++ {
		c := ensemble.Period{Start: s.Anchor.AddDate(0, n, 0), End: s.Anchor.AddDate(0, n+1, 0)}
		if !c.Start.Before(end) {
			return sum
		}
		frac := func(x time.Time) ensemble.Ratio {
			r, err := ensemble.Prorate(ensemble.Period{Start: c.Start, End: x}, c, ensemble.ProrateOptions{Basis: ensemble.ProrateExactTime})
			require.NoError(t, err)
			return r
		}
		type piece struct {
			from, to time.Time
			full     ensemble.Money
		}
		var stretch []piece
		flush := func() {
			if len(stretch) == 0 || stretch[len(stretch)-1].to.After(end) {
				stretch = nil
				return // not due by the end
			}
			for _, p := range stretch {
				hi := p.full.MulRatio(frac(p.to), ensemble.RoundHalfAwayFromZero)
				lo := p.full.MulRatio(frac(p.from), ensemble.RoundHalfAwayFromZero)
				var err error
				if sum, err = sum.Add(hi); err == nil {
					sum, err = sum.Sub(lo)
				}
				require.NoError(t, err)
			}
			stretch = nil
		}
		for _, sg := range segs {
			from, to := maxTime(sg.Start, c.Start), c.End
			if !sg.End.IsZero() && sg.End.Before(to) {
				to = sg.End
			}
			if !from.Before(to) {
				continue
			}
			if len(stretch) > 0 && stretch[len(stretch)-1].to.Before(from) {
				flush()
			}
			stretch = append(stretch, piece{from, to, ensemble.MoneyFromDecimal(dec("20").Mul(sg.Quantity), eur)})
		}
		flush()
	}
}

func monthsFrom(anchor, t time.Time) int {
	return (t.Year()-anchor.Year())*12 + int(t.Month()-anchor.Month())
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Property: items that stop, restart (a restart learnt when it happens,
// scheduled with its stop, or, for Events by service, recorded after it
// took effect) and change quantity, billed by runs at any
// instants, each run knowing what was recorded by then and given the usage
// delivered since (collected with UsageLines, the periods billed closed,
// late usage paired with what earlier runs billed), bill each piece of
// service exactly once: no line ID twice, and per item, charge and cycle
// what one run over the whole history and every record bills (runs are
// given the lines earlier runs issued, Run.Billed). Support in arrears
// bills exactly the contract's prorated pieces, Events owes its whole
// minimum spend once per period it was in service in, Events by service
// its events or, when more, 20 × its service over the period (every
// stretch of service its share of the minimum, once), and the
// early-termination fee nets to EUR 100 only when the item's last stop
// falls inside its term: a stop restarted from is reversed, a scheduled
// pause owes nothing. A third of the cases have a monthly minimum
// commitment (whole, or Events'), whose true-ups the late usage, the
// stretches' shares of the minimum spend and the back-dated restarts
// change after an earlier run billed them: each run of a commitment cycle
// is given the cycle's usage as earlier runs billed it (Run.Usage). A
// subscription every item of which stopped, and whose end a run billed,
// restarting is refused (ErrRestartAfterEnd): the case is skipped.
func TestPropertyPausesBillEachPieceOnce(t *testing.T) {
	cat, err := catalog.LoadYAML([]byte(catalogYAML + pausingYAML))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	meters := []usage.Meter{{ID: "api_calls", Unit: "call", Aggregation: usage.Sum}, {ID: "events", Unit: "event", Aggregation: usage.Sum}}
	rapid.Check(t, func(t *rapid.T) {
		p := drawPausing(t)
		if rapid.IntRange(0, 2).Draw(t, "commitment") == 0 {
			// A monthly minimum, whole or Events' (late usage lands in
			// cycles whose true-up an earlier run billed).
			p.s.Commitment = &invoice.Commitment{Minimum: dec(strconv.Itoa(rapid.IntRange(1, 400).Draw(t, "minimum")))}
			if ev := &p.s.Items[1]; rapid.Bool().Draw(t, "scoped") {
				// Events from the anchor: every run knows the item scoped.
				ev.Segments[0].Start, ev.Segments[0].Recorded = p.s.Anchor, p.s.Anchor
				p.s.Commitment.Scope = invoice.CommitmentScope{Items: []invoice.ItemID{ev.ID}}
			}
		}
		last := date(2026, 6, 1)
		var ats []time.Time
		for range rapid.IntRange(1, 8).Draw(t, "runs") {
			ats = append(ats, p.s.Anchor.Add(time.Duration(rapid.IntRange(1, int(last.Sub(p.s.Anchor)/time.Hour)-1).Draw(t, "run at"))*time.Hour))
		}
		ats = append(ats, last)
		slices.SortFunc(ats, time.Time.Compare)
		ats = slices.Compact(ats)
		// Each record is delivered to a run after it, and after its
		// segment was recorded.
		deliveries := make([][]usage.Record, len(ats))
		for _, r := range p.records {
			known := r.At
			for _, it := range p.s.Items {
				for _, sg := range it.Segments {
					if r.Line == usage.LineRef("s1/"+it.ID) && !r.At.Before(sg.Start) && (sg.End.IsZero() || r.At.Before(sg.End)) {
						known = maxTime(known, sg.Recorded)
					}
				}
			}
			first := slices.IndexFunc(ats, known.Before)
			if first < 0 {
				continue // known after the last run: not billed by the runs
			}
			k := rapid.IntRange(first, len(ats)-1).Draw(t, "delivered")
			deliveries[k] = append(deliveries[k], r)
		}

		var ledger usage.Ledger
		var billed, pending []usage.Aggregate
		var after time.Time
		var got []invoice.Invoice
		ids := map[invoice.LineID]bool{}
		for k, at := range ats {
			s := p.visibleAt(at)
			if len(s.Items) == 0 {
				continue
			}
			subs := []invoice.Subscription{s}
			lines, err := b.UsageLines(at, subs...)
			require.NoError(t, err)
			rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines, ClosedBefore: after, Ledger: ledger}, slices.Values(deliveries[k]))
			require.NoError(t, err)
			require.NoError(t, rep.Err())
			late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
			require.NoError(t, err)
			// The usage of a period the item is still in service in is not
			// due yet: the host keeps it for the run it falls due in.
			aggs := mergeUsage(t, append(pending, rep.Aggregates...))
			fresh := len(aggs)
			if p.s.Commitment != nil && !after.IsZero() {
				// Every run of a commitment cycle is given the cycle's
				// usage earlier runs billed (as they billed it: their late
				// adjustments count as lines), for its true-up.
				cs := p.s.Anchor
				for !cs.AddDate(0, 1, 0).After(after) {
					cs = cs.AddDate(0, 1, 0)
				}
				for _, g := range billed {
					if g.Late || g.Period.Start.Before(cs) {
						continue
					}
					if k := slices.IndexFunc(aggs[fresh:], func(o usage.Aggregate) bool {
						return o.Line == g.Line && o.Meter == g.Meter && o.Period.Equal(g.Period)
					}); k >= 0 {
						if g.Records >= aggs[fresh+k].Records {
							aggs[fresh+k] = g // billed again (a catch-up): the last
						}
						continue
					}
					aggs = append(aggs, g)
				}
			}
			given := func(g usage.Aggregate) bool {
				return slices.ContainsFunc(aggs[:fresh], func(f usage.Aggregate) bool {
					return f.Line == g.Line && f.Meter == g.Meter && f.Period.Equal(g.Period)
				})
			}
			// Every line earlier runs issued: a stretch of service after a
			// restart in a usage period billed earlier owes its share of
			// the minimum spend rated with the usage billed.
			var issued []invoice.Line
			for _, inv := range got {
				issued = append(issued, inv.Lines...)
			}
			run := invoice.Run{After: after, At: at, Usage: aggs, Late: late, Billed: issued}
			invs, err := b.Build(run, subs)
			if later := notDueYet(err, at); len(later) > 0 {
				pending, run.Usage = nil, nil
				for _, g := range aggs {
					if later[usageKey(g.Line, g.Period)] {
						pending = append(pending, g)
					} else {
						run.Usage = append(run.Usage, g)
					}
				}
				invs, err = b.Build(run, subs)
			} else {
				pending = nil
			}
			if errors.Is(err, invoice.ErrRestartAfterEnd) {
				t.Skip("every item stopped, a run billed the commitment's end, and an item restarts: refused")
			}
			require.NoError(t, err, "run at %s", at)
			for _, inv := range invs {
				require.NoError(t, inv.Check())
				for _, l := range inv.Lines {
					require.False(t, ids[l.ID], "line %s billed twice (run at %s)", l.ID, at)
					ids[l.ID] = true
				}
			}
			got = append(got, invs...)
			done, err := b.BilledUsage(run, subs, meters)
			require.NoError(t, err)
			billed = append(billed, done...)
			ledger, after = rep.Ledger, at
			if p.s.Commitment != nil {
				// With a minimum commitment, usage given before it is due
				// counts toward its cycle without being billed: it stays
				// for the run it is due in.
				for _, g := range run.Usage {
					if given(g) && !slices.ContainsFunc(done, func(d usage.Aggregate) bool {
						return d.Line == g.Line && d.Meter == g.Meter && d.Period.Equal(g.Period)
					}) {
						pending = append(pending, g)
					}
				}
			}
		}

		lines, err := b.UsageLines(last, p.s)
		require.NoError(t, err)
		rep, err := usage.Collect(usage.Config{Meters: meters, Lines: lines}, slices.Values(p.records))
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		want, err := b.Build(invoice.Run{At: last, Usage: rep.Aggregates}, []invoice.Subscription{p.s})
		require.NoError(t, err)
		require.Equal(t, netByPeriod(t, want), netByPeriod(t, got))
		require.Equal(t, total(t, want), total(t, got))

		// What the contract says, computed apart.
		of := func(item invoice.ItemID, kind invoice.LineKind) ensemble.Money {
			sum := money("0")
			for _, inv := range got {
				for _, l := range inv.Lines {
					if l.Item == item && l.Kind == kind {
						sum, err = sum.Add(l.Net)
						require.NoError(t, err)
					}
				}
			}
			return sum
		}
		help := p.s.Items[2]
		owed := arrearsOwed(t, p.s, help.Segments, last)
		require.True(t, owed.Equal(of("help", invoice.KindRecurring)), "Support owes %s, billed %s", owed, of("help", invoice.KindRecurring))
		seats := p.s.Items[3].Segments
		fee := money("0")
		if end := seats[len(seats)-1].End; !end.IsZero() && end.Before(seats[0].Start.AddDate(0, 3, 0)) && end.After(seats[0].Start) {
			fee = money("100")
		}
		require.True(t, fee.Equal(of("seats", invoice.KindEarlyTermination)), "the item's fee nets %s, owed %s", of("seats", invoice.KindEarlyTermination), fee)
		for n := 0; !p.s.Anchor.AddDate(0, n+1, 0).After(last); n++ {
			c := ensemble.Period{Start: p.s.Anchor.AddDate(0, n, 0), End: p.s.Anchor.AddDate(0, n+1, 0)}
			// Owed whole, Events bills its minimum once for a period
			// it was in service in, however it stopped and restarted.
			ev := money("0")
			if served(p.s.Items[1].Segments, c) > 0 {
				ev = money("20")
			}
			require.Equal(t, ev.AmountString(), periodNet(t, got, "ev", c), "Events, %s", c)
			// By service, Events by service bills its events, or 20 ×
			// its service over the period when more: every stretch of
			// service owes its share of the minimum, once.
			require.Equal(t, spendOwed(t, p, c).AmountString(), periodNet(t, got, "evs", c), "Events by service, %s", c)
		}
	})
}

// served returns how long segs are in service inside period c.
func served(segs []invoice.Segment, c ensemble.Period) time.Duration {
	var d time.Duration
	for _, sg := range segs {
		from, to := maxTime(sg.Start, c.Start), c.End
		if !sg.End.IsZero() && sg.End.Before(to) {
			to = sg.End
		}
		if from.Before(to) {
			d += to.Sub(from)
		}
	}
	return d
}

// spendOwed is what the contract says Events by service (evs) owes for
// period c, computed apart: EUR 0.02 an event recorded in c, at least 20 ×
// the item's service in c over c's length, rounded once.
func spendOwed(t *rapid.T, p *pausing, c ensemble.Period) ensemble.Money {
	events := decimal.Zero
	for _, r := range p.records {
		if r.Line == "s1/evs" && !r.At.Before(c.Start) && r.At.Before(c.End) {
			events = events.Add(r.Quantity)
		}
	}
	served := served(p.s.Items[4].Segments, c)
	if served == 0 {
		return money("0")
	}
	owed := new(big.Rat).Mul(events.Rat(), big.NewRat(2, 100))
	minimum := new(big.Rat).Mul(big.NewRat(20, 1), big.NewRat(int64(served/time.Second), int64(c.End.Sub(c.Start)/time.Second)))
	if owed.Cmp(minimum) < 0 {
		owed = minimum
	}
	return money("1").MulRatio(ensemble.RatioFromRat(owed), ensemble.RoundHalfAwayFromZero)
}

// periodNet adds up the net of item's lines of usage period c.
func periodNet(t *rapid.T, invs []invoice.Invoice, item invoice.ItemID, c ensemble.Period) string {
	sum := money("0")
	for _, inv := range invs {
		for _, l := range inv.Lines {
			if l.Item == item && l.Usage != nil && l.Cycle.Equal(c) {
				var err error
				sum, err = sum.Add(l.Net)
				require.NoError(t, err)
			}
		}
	}
	return sum.AmountString()
}

// mergeUsage merges the aggregates of one line and period (each line has
// one meter).
func mergeUsage(t *rapid.T, aggs []usage.Aggregate) []usage.Aggregate {
	var out []usage.Aggregate
	for _, g := range aggs {
		k := slices.IndexFunc(out, func(o usage.Aggregate) bool { return o.Line == g.Line && o.Period.Equal(g.Period) })
		if k < 0 {
			out = append(out, g)
			continue
		}
		m, err := out[k].Merge(g)
		require.NoError(t, err)
		out[k] = m
	}
	return out
}

// usageKey names a usage period of a line.
func usageKey(l usage.LineRef, pd ensemble.Period) string {
	return string(l) + " " + pd.Start.UTC().String()
}

// notDueYet returns the usage periods (usageKey) err says are due after
// at, when those are all it reports.
func notDueYet(err error, at time.Time) map[string]bool {
	var ve *ensemble.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	out := map[string]bool{}
	for _, p := range ve.Problems {
		var ue *invoice.UsageError
		if !errors.As(p, &ue) || !errors.Is(ue, invoice.ErrUsageNotDue) || !ue.Due.After(at) {
			return nil
		}
		out[usageKey(ue.Line, ue.Period)] = true
	}
	return out
}

// The property's drawn histories hold what it claims to test: a pause
// learnt late and one scheduled, in one cycle, and a restart recorded
// after it took effect.
func TestPausingHistoryExample(t *testing.T) {
	seen := map[string]bool{}
	rapid.Check(t, func(t *rapid.T) {
		p := drawPausing(t)
		for _, it := range p.s.Items {
			for k := 0; k+1 < len(it.Segments); k++ {
				if a, b := it.Segments[k], it.Segments[k+1]; a.End.Before(b.Start) {
					seen[fmt.Sprint(b.Recorded.After(a.End))] = true
					seen["back-dated "+fmt.Sprint(b.Recorded.After(b.Start))] = true
				}
			}
		}
	})
	require.True(t, seen["true"] && seen["false"] && seen["back-dated true"], "restarts learnt late, scheduled and back-dated: %v", seen)
}
