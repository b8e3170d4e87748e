package settlement_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// distributorPlan pays the distributor a margin of 8% of its channel
// sales, 10% (cliff) once its window's sales pass CAD 50,000.
const distributorPlan = `
id: channel
version: 1
root:
  id: root
  children:
    - id: margin
      party: distributor
      share:
        cumulative:
          of: distributor
          window: WINDOW
          mode: cliff
          volume: VOLUME
          tiers:
            - {up_to: {amount: "50000.00", currency: CAD}, rate: "8%"}
            - {rate: "10%"}
    - {id: vendor, party: platform, share: remaining}
`

func cad(s string) ensemble.Money { return ensemble.MustMoney(s, "CAD") }

func channelSale(id, amount, day string) settlement.Line {
	return settlement.Line{ID: settlement.LineID(id), Date: date(day), Amount: cad(amount), Offer: catalog.Pin{Offer: "app", Version: 1},
		Route: partner.Route{Kind: partner.RoutePartner, Chain: []partner.ID{"reseller-nl", "distri-eu"}}}
}

func channelCredit(id, of, amount, day string) settlement.Line {
	l := credit(id, of, amount, day)
	l.Amount = cad(amount)
	return l
}

func marginOf(t *testing.T, entries []settlement.Entry, line settlement.LineID) ensemble.Money {
	t.Helper()
	for _, e := range entries {
		if e.Line == line && e.Node == "root/margin" && e.Party == "distri-eu" {
			return e.Amount
		}
	}
	t.Fatalf("no margin on %s", line)
	return ensemble.Money{}
}

// TestDistributorQuarterlyCliff: a distributor at 8%, 10% (cliff) on its
// quarter's sales above CAD 50,000. By hand:
//
//	L1 Jan 10  CAD 30,000  Q1 volume 0 -> 30,000       8%   CAD 2,400.00
//	L2 Feb 10  CAD 25,000  Q1 volume 30,000 -> 55,000  10%  CAD 2,500.00 (crosses: the whole line)
//	L3 Apr 10  CAD 10,000  Q2 volume 0 -> 10,000       8%   CAD   800.00 (a new quarter)
//
// With calendar_year (before this window existed, the closest setting)
// April kept reading January's and February's 55,000 and paid 10%,
// CAD 1,000.00. A monthly window restarts every month: L2 reads nothing
// of January and pays 8%.
func TestDistributorQuarterlyCliff(t *testing.T) {
	lines := []settlement.Line{
		channelSale("L1", "30000.00", "2026-01-10"),
		channelSale("L2", "25000.00", "2026-02-10"),
		channelSale("L3", "10000.00", "2026-04-10"),
	}
	tests := []struct {
		window settlement.Window
		want   [3]string
		vols   map[string]string // the state's volume before a date
	}{
		{settlement.WindowCalendarQuarter, [3]string{"2400.00", "2500.00", "800.00"},
			map[string]string{"2026-03-31": "55000.00", "2026-06-30": "10000.00", "2026-07-01": "0.00"}},
		{settlement.WindowCalendarYear, [3]string{"2400.00", "2500.00", "1000.00"},
			map[string]string{"2026-03-31": "65000.00", "2026-06-30": "65000.00"}},
		{settlement.WindowCalendarMonth, [3]string{"2400.00", "2000.00", "800.00"},
			map[string]string{"2026-01-31": "30000.00", "2026-02-01": "25000.00", "2026-03-01": "0.00", "2026-04-30": "10000.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.window.String(), func(t *testing.T) {
			s := planSettler(t, strings.NewReplacer("WINDOW", tc.window.String(), "VOLUME", "sales").Replace(distributorPlan), loadNetwork(t))
			// In reverse: canonical order applies them by date.
			rev := slices.Clone(lines)
			slices.Reverse(rev)
			res, err := s.Settle(ctx, settlement.State{}, rev)
			require.NoError(t, err)
			for i, l := range lines {
				requireMoney(t, marginOf(t, res.Entries, l.ID), cad(tc.want[i]), l.ID)
			}
			st := requireStateRoundTrips(t, res.State, nil)
			for day, want := range tc.vols {
				requireMoney(t, st.Volume("distri-eu", ensemble.MustCurrency("CAD"), tc.window, date(day)), cad(want), day)
			}
			// One call per line, the state carried through its binary
			// form: the same entries.
			var all []settlement.Entry
			st = settlement.State{}
			for _, l := range lines {
				r, err := s.Settle(ctx, st, []settlement.Line{l})
				require.NoError(t, err)
				all = append(all, r.Entries...)
				b, err := r.State.MarshalBinary()
				require.NoError(t, err)
				st = settlement.State{}
				require.NoError(t, st.UnmarshalBinary(b))
			}
			requireEntries(t, all, res.Entries)
		})
	}
}

// TestQuarterLateLineAndCreditReadTheirQuarter: a line settled late reads
// its quarter's earlier volume, and a credit (volume net_of_credits)
// takes back from the quarter of the line it credits, whatever its own
// date. By hand:
//
//	L1 Jan 10  CAD 30,000                Q1 30,000        8%   2,400.00
//	L2 Feb 10  CAD 25,000                Q1 55,000        10%  2,500.00
//	L3 Apr 10  CAD 45,000                Q2 45,000        8%   3,600.00
//	C2 Apr 20  credits all of L2         Q1 30,000 (Q2 stays 45,000)
//	L4 Apr 25  CAD 10,000                Q2 55,000        10%  1,000.00
//	L5 Mar 20  CAD 15,000 (late)         Q1 45,000        8%   1,200.00
//
// Had the credit taken back from its own quarter, Q2 would hold 20,000
// and L4 pay 8%; had L5 read its settling call's quarter, it would pay
// 10%.
func TestQuarterLateLineAndCreditReadTheirQuarter(t *testing.T) {
	s := planSettler(t, strings.NewReplacer("WINDOW", "calendar_quarter", "VOLUME", "net_of_credits").Replace(distributorPlan), loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{
		channelSale("L1", "30000.00", "2026-01-10"), channelSale("L2", "25000.00", "2026-02-10"), channelSale("L3", "45000.00", "2026-04-10")})
	require.NoError(t, err)
	requireMoney(t, marginOf(t, res.Entries, "L2"), cad("2500.00"))
	requireMoney(t, marginOf(t, res.Entries, "L3"), cad("3600.00"))
	res, err = s.Settle(ctx, res.State, []settlement.Line{channelCredit("C2", "L2", "-25000.00", "2026-04-20")})
	require.NoError(t, err)
	st := requireStateRoundTrips(t, res.State, nil)
	requireMoney(t, st.Volume("distri-eu", ensemble.MustCurrency("CAD"), settlement.WindowCalendarQuarter, date("2026-03-31")), cad("30000.00"), "Q1 after the credit")
	requireMoney(t, st.Volume("distri-eu", ensemble.MustCurrency("CAD"), settlement.WindowCalendarQuarter, date("2026-06-30")), cad("45000.00"), "Q2 after the credit")
	l2, ok := st.Line("L2")
	require.True(t, ok)
	require.Len(t, l2.Volumes, 1)
	require.Equal(t, settlement.LineVolume{Partner: "distri-eu", Window: settlement.WindowCalendarQuarter, Year: 2026, Month: 1}, settlement.LineVolume{
		Partner: l2.Volumes[0].Partner, Window: l2.Volumes[0].Window, Year: l2.Volumes[0].Year, Month: l2.Volumes[0].Month})
	// Pruned of January's and February's lines, the state keeps each
	// quarter whole, which later lines read: the same margins.
	pruned := requireStateRoundTrips(t, st.Prune(date("2026-03-01")), nil)
	require.False(t, pruned.Has("L1"))
	requireMoney(t, pruned.Volume("distri-eu", ensemble.MustCurrency("CAD"), settlement.WindowCalendarQuarter, date("2026-03-31")), cad("30000.00"), "Q1 pruned")
	later := []settlement.Line{channelSale("L4", "10000.00", "2026-04-25"), channelSale("L5", "15000.00", "2026-03-20")}
	fromPruned, err := s.Settle(ctx, pruned, later)
	require.NoError(t, err)
	res, err = s.Settle(ctx, st, later)
	require.NoError(t, err)
	requireMoney(t, marginOf(t, res.Entries, "L4"), cad("1000.00"))
	requireMoney(t, marginOf(t, res.Entries, "L5"), cad("1200.00"))
	requireEntries(t, fromPruned.Entries, res.Entries)

	// The quarters are one figure each in the state's JSON, keyed by the
	// first month of the quarter.
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	require.Contains(t, string(b), `"window":"calendar_quarter","year":2026,"month":1,"amount":{"amount":"45000.00","currency":"CAD"}`)
	require.Contains(t, string(b), `"window":"calendar_quarter","year":2026,"month":4,"amount":{"amount":"55000.00","currency":"CAD"}`)
}

// TestStateDecodeRefusesAWindowKeyThatIsNoPeriodStart: a quarter's volume
// keyed by a month that does not start a quarter, a month's without a
// month, a year's or rolling window's with one, and a line's volume of
// another quarter than its date's, are corrupt states.
func TestStateDecodeRefusesAWindowKeyThatIsNoPeriodStart(t *testing.T) {
	stateOf := func(window string) []byte {
		s := planSettler(t, strings.NewReplacer("WINDOW", window, "VOLUME", "net_of_credits").Replace(distributorPlan), loadNetwork(t))
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{channelSale("L1", "30000.00", "2026-05-10")})
		require.NoError(t, err)
		b, err := json.Marshal(res.State)
		require.NoError(t, err)
		return b
	}
	volume := func(d stateDoc) map[string]any { return d["volumes"].([]any)[0].(map[string]any) }
	lineVolume := func(d stateDoc) map[string]any { return d.line("L1")["volumes"].([]any)[0].(map[string]any) }
	tests := []struct {
		name, window string
		corrupt      func(d stateDoc)
		path, want   string
	}{
		{"a quarter from May", "calendar_quarter", func(d stateDoc) { volume(d)["month"] = 5 }, "volumes[0].month", "month 5 is not the first month of a calendar_quarter"},
		{"a quarter without a month", "calendar_quarter", func(d stateDoc) { delete(volume(d), "month") }, "volumes[0].month", "month 0 is not the first month of a calendar_quarter"},
		{"a month 13", "calendar_month", func(d stateDoc) { volume(d)["month"] = 13 }, "volumes[0].month", "month 13 is not the first month of a calendar_month"},
		{"a year with a month", "calendar_year", func(d stateDoc) { volume(d)["month"] = 1 }, "volumes[0].month", "month 1 is not the first month of a calendar_year"},
		{"a rolling window with a month", "rolling_12_months", func(d stateDoc) { volume(d)["month"] = 4 }, "volumes[0].month", "month 4 is not the first month of a rolling_12_months"},
		{"a line's volume of another quarter", "calendar_quarter", func(d stateDoc) { lineVolume(d)["month"] = 7 }, "lines[0].volumes[0].year",
			"quarter 2026-07: the line added to the volume of its date's quarter, 2026-04"},
		{"a line's volume of another month", "calendar_month", func(d stateDoc) { lineVolume(d)["month"] = 4 }, "lines[0].volumes[0].year",
			"month 2026-04: the line added to the volume of its date's month, 2026-05"},
		{"a line's quarter from June", "calendar_quarter", func(d stateDoc) { lineVolume(d)["month"] = 6 }, "lines[0].volumes[0].month",
			"month 6 is not the first month of a calendar_quarter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(stateOf(tt.window), &d))
			tt.corrupt(d)
			bad, err := json.Marshal(d)
			require.NoError(t, err)
			var st settlement.State
			err = json.Unmarshal(bad, &st)
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			i := slices.IndexFunc(ve.Problems, func(p *ensemble.FieldError) bool { return p.Path == tt.path && strings.Contains(p.Error(), tt.want) })
			require.GreaterOrEqual(t, i, 0, "want %q at %s: %v", tt.want, tt.path, err)
		})
	}
}

// TestBinaryStateOfAQuarterWindow: a state with quarter volumes is written
// as the current binary version and read back the same; a version 11 blob cannot
// hold such a window.
func TestBinaryStateOfAQuarterWindow(t *testing.T) {
	s := planSettler(t, strings.NewReplacer("WINDOW", "calendar_quarter", "VOLUME", "net_of_credits").Replace(distributorPlan), loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{channelSale("L1", "30000.00", "2026-05-10")})
	require.NoError(t, err)
	b, err := res.State.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, []byte{'s', settlement.BinaryVersion}, b[:2])
	var back settlement.State
	require.NoError(t, back.UnmarshalBinary(b))
	j1, err := json.Marshal(res.State)
	require.NoError(t, err)
	j2, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(j1), string(j2))
	// The distributor's volumes alone (its ledger lines, whose volumes
	// version 14 tags, are written otherwise than version 11 wrote them).
	vols, err := res.State.Seed("distri-eu").MarshalBinary()
	require.NoError(t, err)
	old := slices.Clone(vols)
	old[1] = 11
	err = back.UnmarshalBinary(old)
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	require.ErrorContains(t, err, "version 11 has no calendar_quarter")
}

// TestPlanRefusesAnUnknownWindow: a window the package does not know is a
// typed error naming it when the plan is read.
func TestPlanRefusesAnUnknownWindow(t *testing.T) {
	_, err := settlement.ParsePlans([]byte(strings.NewReplacer("WINDOW", "calendar_fortnight", "VOLUME", "sales").Replace(distributorPlan)))
	require.Error(t, err)
	require.ErrorIs(t, err, ensemble.ErrUnknownEnum)
	require.ErrorContains(t, err, "calendar_fortnight")
	_, err = settlement.New(settlement.Config{Plans: []settlement.PlanDocument{{ID: "p", Version: 1, Root: settlement.Node{ID: "root", Children: []settlement.Node{
		{ID: "a", Party: "distributor", Share: settlement.Share{Cumulative: &settlement.Cumulative{Of: "distributor", Window: settlement.Window(9),
			Tiers: []settlement.Tier{{Rate: ensemble.MustRatio("0.08")}}}}},
		{ID: "b", Party: "platform", Share: settlement.Share{Remaining: true}}}}}}})
	var ve *ensemble.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.True(t, slices.ContainsFunc(ve.Problems, func(p *ensemble.FieldError) bool {
		return p.Path == "plans[0].root.children[0].share.cumulative.window" && strings.Contains(p.Error(), "unknown window")
	}), "%v", err)
}
