package invoice_test

import (
	"fmt"
	"slices"
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

// engineeringCatalog prices on-site engineering hours (price is the YAML
// of the charge's price), attributed to the contractor who did them.
func engineeringCatalog(t testing.TB, price string) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - id: engineering
    version: 1
    name: On-site engineering
    currency: GBP
    effective_from: 2026-01-01T00:00:00Z
    charges:
      - {id: hours, name: Hours, type: usage, meter: hours, attribute_to: contractor, price: ` + price + `}
`))
	require.NoError(t, err)
	return cat
}

var (
	hoursMeters = []usage.Meter{{ID: "hours", Unit: "hour", Aggregation: usage.Sum, AttributeTo: "contractor"}}
	perHour     = `{model: per_unit, amount: "95.00"}`
)

func engDay(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

func engSubs() []invoice.Subscription {
	return []invoice.Subscription{{ID: "acme-eng", Customer: invoice.Customer{ID: "acme", TaxExempt: true}, Currency: ensemble.MustCurrency("GBP"), Anchor: engDay(3, 1),
		Items: []invoice.Item{{ID: "eng", Segments: []invoice.Segment{{Start: engDay(3, 1), Pin: catalog.Pin{Offer: "engineering", Version: 1}, Quantity: decimal.NewFromInt(1)}}}}}}
}

func hours(id, who, qty string, at time.Time) usage.Record {
	r := usage.Record{ID: usage.RecordID(id), Line: "acme-eng/eng", Meter: "hours", Quantity: decimal.RequireFromString(qty), At: at}
	if who != "" {
		r.Attributes = map[string]string{"contractor": who}
	}
	return r
}

// billRuns bills each delivery of records in a run at the instant paired
// with it, as a host closing monthly does (late records billed against
// what was billed), and returns every line.
func billRuns(b *invoice.Builder, runs []time.Time, deliveries [][]usage.Record) ([]invoice.Line, error) {
	var ledger usage.Ledger
	var billed []usage.Aggregate
	var out []invoice.Line
	subs := engSubs()
	after := engDay(3, 1)
	for i, at := range runs {
		lines, err := b.UsageLines(at, subs...)
		if err != nil {
			return nil, err
		}
		rep, err := usage.Collect(usage.Config{Meters: hoursMeters, Lines: lines, ClosedBefore: after, Ledger: ledger}, slices.Values(deliveries[i]))
		if err != nil {
			return nil, err
		}
		if len(rep.Rejections) > 0 {
			return nil, rep.Rejections[0]
		}
		late, err := invoice.LateUsageFrom(rep.Adjustments, billed)
		if err != nil {
			return nil, err
		}
		run := invoice.Run{After: after, At: at, Usage: rep.Aggregates, Late: late}
		invs, err := b.Build(run, subs)
		if err != nil {
			return nil, err
		}
		for _, inv := range invs {
			out = append(out, inv.Lines...)
		}
		done, err := b.BilledUsage(run, subs, hoursMeters)
		if err != nil {
			return nil, err
		}
		billed, ledger, after = append(billed, done...), rep.Ledger, at
	}
	return out, nil
}

func engBuilder(t testing.TB, price string) *invoice.Builder {
	b, err := invoice.NewBuilder(engineeringCatalog(t, price), invoice.Options{})
	require.NoError(t, err)
	return b
}

// lineText is "id quantity amount attribution" for comparing lines.
func lineText(l invoice.Line) string {
	s := fmt.Sprintf("%s %s %s", l.ID, l.Quantity, l.Amount)
	if a := l.Attribution; a != nil {
		s += fmt.Sprintf(" %s=%s of %s %s", a.Attribute, a.Value, a.Quantity, a.Amount)
	}
	return s
}

func linesText(ls []invoice.Line) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = lineText(l)
	}
	return out
}

// The trial's April: C1 6 hours, C2 4 at GBP 95.00, billed monthly in
// arrears from the contractors' field app: the charge is 950.00, billed as
// one line per contractor, C1's 570.00 and C2's 380.00, each saying whose
// hours they are.
func TestAttributedUsageBillsOneLinePerValue(t *testing.T) {
	b := engBuilder(t, perHour)
	lines, err := billRuns(b, []time.Time{engDay(4, 1), engDay(5, 1)}, [][]usage.Record{
		{hours("m1", "C1", "3", engDay(3, 10)), hours("m2", "C2", "2", engDay(3, 11))},
		{hours("a1", "C1", "4", engDay(4, 7)), hours("a2", "C2", "4", engDay(4, 8)), hours("a3", "C1", "2", engDay(4, 21))},
	})
	require.NoError(t, err)
	require.Equal(t, []string{
		"acme-eng/eng/20260301T000000Z/engineering/hours/usage/C1 3 GBP 285.00 contractor=C1 of 5 GBP 475.00",
		"acme-eng/eng/20260301T000000Z/engineering/hours/usage/C2 2 GBP 190.00 contractor=C2 of 5 GBP 475.00",
		"acme-eng/eng/20260401T000000Z/engineering/hours/usage/C1 6 GBP 570.00 contractor=C1 of 10 GBP 950.00",
		"acme-eng/eng/20260401T000000Z/engineering/hours/usage/C2 4 GBP 380.00 contractor=C2 of 10 GBP 950.00",
	}, linesText(lines))
	april := lines[2]
	require.Equal(t, "On-site engineering: Hours (contractor C1)", april.Description)
	require.True(t, april.Net.Equal(ensemble.MustMoney("570.00", "GBP")))
	require.Contains(t, invoice.Explain(april), "attributed to contractor C1: 6 of the charge's 10, so GBP 570.00 of its GBP 950.00")
	// Its tiers are the whole charge's: Explain rates the whole charge,
	// and finds no minimum or maximum spend where there is none (it said
	// "maximum spend: 570.00, adjusted by -380.00").
	ex := invoice.Explain(april)
	require.Contains(t, ex, "usage rating of the whole charge: GBP 950.00")
	require.Contains(t, ex, "3 records of the whole charge")
	require.NotContains(t, ex, "spend")
}

// TestAttributedExplainSaysTheChargesMinimum: a minimum spend lifting the
// whole charge is explained on each attributed line as the charge's (the
// new user's trial read "maximum spend: 360.00, adjusted by -20.00" on a
// line of a charge lifted by 220.00).
func TestAttributedExplainSaysTheChargesMinimum(t *testing.T) {
	lines, err := billRuns(engBuilder(t, `{model: per_unit, amount: "95.00", minimum_spend: "500.00"}`), []time.Time{engDay(4, 1)},
		[][]usage.Record{{hours("a1", "C1", "2", engDay(3, 7)), hours("a2", "C2", "1", engDay(3, 8))}})
	require.NoError(t, err)
	for _, l := range lines {
		ex := invoice.Explain(l)
		require.Contains(t, ex, "minimum spend: 500.00, adjusted by 215.00", l.ID)
		require.NotContains(t, ex, "maximum spend", l.ID)
	}
}

// Tiers and a minimum spend apply to the charge as the customer's contract
// prices it, on the period's whole quantity, never per contractor: 5 hours
// at 100.00 then 80.00 come to 900.00 for 10 hours (per contractor it
// would be 980.00), and a 500.00 minimum is shared 300.00 / 200.00.
func TestAttributedUsageIsRatedOnTheWholeCharge(t *testing.T) {
	for _, tc := range []struct {
		name, price string
		records     []usage.Record
		want        []string
	}{
		{"graduated", `{model: graduated, tiers: [{up_to: 5, unit_amount: "100.00"}, {unit_amount: "80.00"}]}`,
			[]usage.Record{hours("a1", "C1", "6", engDay(3, 7)), hours("a2", "C2", "4", engDay(3, 8))},
			[]string{"C1 6 GBP 540.00", "C2 4 GBP 360.00"}},
		{"minimum spend", `{model: per_unit, amount: "95.00", minimum_spend: "500.00"}`,
			[]usage.Record{hours("a1", "C1", "3", engDay(3, 7)), hours("a2", "C2", "2", engDay(3, 8))},
			[]string{"C1 3 GBP 300.00", "C2 2 GBP 200.00"}},
		{"thirds, largest remainder", `{model: flat, amount: "100.00"}`,
			[]usage.Record{hours("a1", "C1", "1", engDay(3, 7)), hours("a2", "C2", "1", engDay(3, 8)), hours("a3", "C3", "1", engDay(3, 8))},
			[]string{"C1 1 GBP 33.34", "C2 1 GBP 33.33", "C3 1 GBP 33.33"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := billRuns(engBuilder(t, tc.price), []time.Time{engDay(4, 1)}, [][]usage.Record{tc.records})
			require.NoError(t, err)
			var got []string
			for _, l := range lines {
				got = append(got, fmt.Sprintf("%s %s %s", l.Attribution.Value, l.Quantity, l.Amount))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// A month with no hours owes the minimum spend on one line that names no
// contractor (nobody's hours earned it); late hours of that month then
// move the minimum to whoever did them.
func TestAttributedIdlePeriodAndLateUsage(t *testing.T) {
	b := engBuilder(t, `{model: per_unit, amount: "95.00", minimum_spend: "500.00"}`)
	lines, err := billRuns(b, []time.Time{engDay(4, 1), engDay(5, 1)}, [][]usage.Record{
		nil,
		{hours("m1", "C1", "2", engDay(3, 10)), hours("m2", "C2", "6", engDay(3, 11))},
	})
	require.NoError(t, err)
	got := linesText(lines)
	require.Equal(t, "acme-eng/eng/20260301T000000Z/engineering/hours/usage 0 GBP 500.00", got[0])
	require.Nil(t, lines[0].Attribution)
	var march []string
	for _, l := range lines[1:] {
		if l.Kind == invoice.KindUsageAdjustment {
			who := ""
			if l.Attribution != nil {
				who = l.Attribution.Value
			}
			march = append(march, fmt.Sprintf("%s %s credits %q", who, l.Amount, l.Credits))
		}
	}
	// 8 hours come to 760.00: C1 190.00, C2 570.00; the 500.00 billed
	// to nobody is given back on the unattributed line.
	require.Equal(t, []string{
		` GBP -500.00 credits "acme-eng/eng/20260301T000000Z/engineering/hours/usage"`,
		`C1 GBP 190.00 credits ""`,
		`C2 GBP 570.00 credits ""`,
	}, march)
}

// The attributed lines of a period add up to the charge's amount exactly,
// and however the records are split over monthly runs (late ones billed
// against what was billed), each contractor is billed in all what one run
// over every record bills them, under tiers and a minimum spend.
func TestPropertyAttributedLinesAddUpWhateverTheRuns(t *testing.T) {
	price := `{model: graduated, minimum_spend: "300.00", tiers: [{up_to: 5, unit_amount: "100.00"}, {up_to: 9.5, unit_amount: "77.77"}, {unit_amount: "33.33"}]}`
	b := engBuilder(t, price)
	runs := []time.Time{engDay(4, 1), engDay(5, 1), engDay(6, 1)}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 12).Draw(t, "records")
		deliveries := make([][]usage.Record, len(runs))
		var all []usage.Record
		for i := range n {
			month := time.Month(rapid.IntRange(3, 5).Draw(t, "month"))
			r := hours(fmt.Sprintf("r%d", i), rapid.SampledFrom([]string{"C1", "C2", "C3"}).Draw(t, "contractor"),
				rapid.SampledFrom([]string{"0.5", "1", "2.25", "3", "7"}).Draw(t, "hours"), engDay(month, rapid.IntRange(1, 28).Draw(t, "day")))
			first := int(month) - 3 // the run that closes its month
			d := rapid.IntRange(first, len(runs)-1).Draw(t, "delivered")
			deliveries[d] = append(deliveries[d], r)
			all = append(all, r)
		}
		split, err := billRuns(b, runs, deliveries)
		if err != nil {
			t.Fatal(err)
		}
		once, err := billRuns(b, runs[2:], [][]usage.Record{all})
		if err != nil {
			t.Fatal(err)
		}
		totals := func(ls []invoice.Line) map[string]ensemble.Money {
			m := map[string]ensemble.Money{}
			for _, l := range ls {
				k := l.Cycle.Start.Format("Jan") + " "
				if l.Attribution != nil {
					k += l.Attribution.Value
				}
				m[k] = ensemble.MustMoney(m[k].Amount().Add(l.Amount.Amount()).String(), "GBP")
			}
			return m
		}
		// Every period of one run: its lines add up to the charge's amount.
		byPeriod := map[string]ensemble.Money{}
		for _, l := range once {
			if l.Attribution != nil {
				k := l.Cycle.Start.Format("Jan")
				byPeriod[k] = ensemble.MustMoney(byPeriod[k].Amount().Add(l.Amount.Amount()).String(), "GBP")
			}
		}
		for _, l := range once {
			if a := l.Attribution; a != nil && !byPeriod[l.Cycle.Start.Format("Jan")].Equal(a.Amount) {
				t.Fatalf("%s: attributed lines add up to %s, the charge is %s", l.Cycle.Start.Format("Jan"), byPeriod[l.Cycle.Start.Format("Jan")], a.Amount)
			}
		}
		got, want := totals(split), totals(once)
		for k, w := range want {
			if !got[k].Equal(w) {
				t.Fatalf("%s: the runs bill %s, one run %s\nruns: %v\none: %v", k, got[k], w, linesText(split), linesText(once))
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok && !g.IsZero() {
				t.Fatalf("%s: the runs bill %s, one run nothing", k, g)
			}
		}
	})
}

// A dispute of 2 of C2's 4 April hours credits C2's line alone: the note's
// line says whose hours it credits.
func TestCreditNoteOfAnAttributedLine(t *testing.T) {
	b := engBuilder(t, perHour)
	subs := engSubs()
	lines, err := b.UsageLines(engDay(5, 1), subs...)
	require.NoError(t, err)
	rep, err := usage.Collect(usage.Config{Meters: hoursMeters, Lines: lines}, slices.Values([]usage.Record{
		hours("a1", "C1", "6", engDay(4, 7)), hours("a2", "C2", "4", engDay(4, 8))}))
	require.NoError(t, err)
	invs, err := b.Build(invoice.Run{After: engDay(4, 1), At: engDay(5, 1), Usage: rep.Aggregates}, subs)
	require.NoError(t, err)
	inv, err := invoice.Issue(invs[0], engDay(5, 1))
	require.NoError(t, err)
	c2 := inv.Lines[1]
	require.Equal(t, "C2", c2.Attribution.Value)
	note, err := invoice.NewCreditNote(inv, nil, invoice.CreditRequest{ID: "dispute-1", Reason: invoice.ReasonDispute, At: engDay(5, 10),
		Lines: []invoice.CreditLine{{Line: c2.ID, Quantity: decimal.NewFromInt(2)}}})
	require.NoError(t, err)
	require.Len(t, note.Lines, 1)
	require.True(t, note.Lines[0].Net.Equal(ensemble.MustMoney("-190.00", "GBP")), "net %s", note.Lines[0].Net)
	require.Equal(t, c2.ID, note.Lines[0].Credits)
	require.Equal(t, "C2", note.Lines[0].Attribution.Value)
}

// The meter and the charge must agree on the attribute: usage attributed
// to nothing, or to another attribute, for a charge that attributes it,
// and attributed usage for a charge that attributes nothing, are refused
// (ErrAttribution) rather than billed to no one.
func TestAttributionMismatchIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, price string
		meter       usage.Meter
		want        string
	}{
		{"meter not attributed", perHour, usage.Meter{ID: "hours", Aggregation: usage.Sum}, `attributes its usage to contractor (catalog.Charge.AttributeTo), but the aggregate is attributed to nothing`},
		{"another attribute", perHour, usage.Meter{ID: "hours", Aggregation: usage.Sum, AttributeTo: "engineer"}, `but the aggregate is attributed to "engineer"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := engBuilder(t, tc.price)
			subs := engSubs()
			lines, err := b.UsageLines(engDay(4, 1), subs...)
			require.NoError(t, err)
			r := hours("a1", "C1", "6", engDay(3, 7))
			r.Attributes["engineer"] = "C1"
			rep, err := usage.Collect(usage.Config{Meters: []usage.Meter{tc.meter}, Lines: lines}, slices.Values([]usage.Record{r}))
			require.NoError(t, err)
			_, err = b.Build(invoice.Run{After: engDay(3, 1), At: engDay(4, 1), Usage: rep.Aggregates}, subs)
			require.ErrorIs(t, err, invoice.ErrAttribution)
			require.ErrorContains(t, err, tc.want)
		})
	}
	cat, err := catalog.LoadYAML([]byte(`
offers:
  - {id: engineering, version: 1, currency: GBP, effective_from: 2026-01-01T00:00:00Z, charges: [{id: hours, type: usage, meter: hours, price: {model: per_unit, amount: "95.00"}}]}
`))
	require.NoError(t, err)
	b, err := invoice.NewBuilder(cat, invoice.Options{})
	require.NoError(t, err)
	lines, err := billRuns(b, []time.Time{engDay(4, 1)}, [][]usage.Record{{hours("a1", "C1", "6", engDay(3, 7))}})
	require.Nil(t, lines)
	require.ErrorIs(t, err, invoice.ErrAttribution)
	require.ErrorContains(t, err, "charge hours attributes nothing")
}
