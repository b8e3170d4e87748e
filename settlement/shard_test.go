package settlement_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// netState settles two lines of the reseller on netPlan (net of credits,
// in window) and a credit of the first: a state whose ledger lines and
// volumes name each other.
func netState(t *testing.T, window string) (*settlement.Settler, settlement.State) {
	t.Helper()
	s := planSettler(t, strings.NewReplacer("WINDOW", window, "VOLUME", "net_of_credits").Replace(netPlan), loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "EUR", "2026-03-02"), resold("L2", "100.00", "EUR", "2026-03-03")})
	require.NoError(t, err)
	res, err = s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-400.00", "2026-03-10")})
	require.NoError(t, err)
	return s, res.State
}

// decoded returns st read back from its JSON, which must decode and
// write the same JSON.
func decoded(t testing.TB, st settlement.State) settlement.State {
	t.Helper()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back), "%s", b)
	require.JSONEq(t, string(b), string(mustJSON(t, back)))
	return back
}

// binaryDecoded returns st read back from its binary form.
func binaryDecoded(t testing.TB, st settlement.State) settlement.State {
	t.Helper()
	b, err := st.MarshalBinary()
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, back.UnmarshalBinary(b))
	return back
}

// TestSplitThenMergeIsTheState: the parts of a state split by line and by
// partner each decode, hold what their key keeps, and merge back into
// the state byte for byte, in any order.
func TestSplitThenMergeIsTheState(t *testing.T) {
	for _, window := range []string{"calendar_year", "rolling_12_months", "calendar_quarter", "calendar_month"} {
		t.Run(window, func(t *testing.T) {
			_, st := netState(t, window)
			l1 := func(id settlement.LineID) bool { return id == "L1" }
			a := decoded(t, st.SplitByLine(l1))
			b := decoded(t, st.SplitByLine(func(id settlement.LineID) bool { return !l1(id) }))
			v := decoded(t, st.SplitByPartner(func(partner.ID) bool { return true }))
			none := decoded(t, st.SplitByPartner(func(partner.ID) bool { return false }))
			require.True(t, a.Has("L1") && a.Has("C1") && !a.Has("L2"), "L1's part holds L1 and its credit")
			require.True(t, b.Has("L2") && !b.Has("L1") && !b.Has("C1"))
			require.Zero(t, v.Len())
			require.True(t, v.Volume("reseller-nl", eur("0").Currency(), volumeWindow(window), date("2026-03-31")).Equal(eur("900.00")))
			require.Equal(t, `{"lines":[],"volumes":[]}`, string(mustJSON(t, none)))
			for _, parts := range [][]settlement.State{{a, b, v}, {v, b, a}, {b, none, v, a}} {
				merged, err := settlement.MergeStates(parts...)
				require.NoError(t, err)
				require.Equal(t, string(mustJSON(t, st)), string(mustJSON(t, merged)))
			}
			seeded := st.Seed("reseller-nl")
			require.Equal(t, string(mustJSON(t, v)), string(mustJSON(t, seeded)))
		})
	}
}

func volumeWindow(name string) settlement.Window {
	var w settlement.Window
	if err := w.UnmarshalText([]byte(name)); err != nil {
		panic(err)
	}
	return w
}

// TestMergeStatesRefusesOverlaps: a record held by two parts is an
// ErrStateOverlap naming it, never a sum; parts that do not hold together
// are a corrupt state.
func TestMergeStatesRefusesOverlaps(t *testing.T) {
	_, st := netState(t, "rolling_12_months")
	all := func(settlement.LineID) bool { return true }
	byLine, byPartner := st.SplitByLine(all), st.SplitByPartner(func(partner.ID) bool { return true })
	tests := []struct {
		name  string
		parts []settlement.State
		want  string
	}{
		{"a line twice", []settlement.State{byLine, st.SplitByLine(func(id settlement.LineID) bool { return id == "L2" })}, `line "L2" is held by parts 0 and 1`},
		{"a volume twice", []settlement.State{byPartner, byPartner}, `the volume of "reseller-nl"`},
		{"a whole state twice", []settlement.State{st, st}, `line "L1" is held by parts 0 and 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The same parts name the same record every time (the
			// records are read in order, not as maps hold them).
			for range 20 {
				_, err := settlement.MergeStates(tt.parts...)
				require.ErrorIs(t, err, settlement.ErrStateOverlap)
				require.ErrorContains(t, err, tt.want)
			}
		})
	}
	// Parts holding many records in common name the first, in order,
	// every time (not whichever a map yields first).
	s20, _ := netState(t, "calendar_year")
	var twenty []settlement.Line
	for i := 20; i >= 1; i-- {
		twenty = append(twenty, resold(fmt.Sprintf("M%02d", i), "10.00", "EUR", "2026-04-01"))
	}
	res20, err := s20.Settle(ctx, settlement.State{}, twenty)
	require.NoError(t, err)
	for range 20 {
		_, err := settlement.MergeStates(byLine, res20.State, res20.State)
		require.ErrorIs(t, err, settlement.ErrStateOverlap)
		require.ErrorContains(t, err, `line "M01" is held by parts 1 and 2`)
	}
	// Two shards that each settled a line L3: the overlap is caught.
	s, _ := netState(t, "calendar_year")
	one, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L3", "10.00", "EUR", "2026-04-01")})
	require.NoError(t, err)
	_, err = settlement.MergeStates(one.State.SplitByLine(all), one.State.SplitByLine(all))
	require.ErrorIs(t, err, settlement.ErrStateOverlap)
	// A shard's new state merged with the part it started from: the
	// volume its credit took back from is held twice.
	c, err := s.Settle(ctx, st, []settlement.Line{credit("C2", "L2", "-1.00", "2026-04-02")})
	require.NoError(t, err)
	_, err = settlement.MergeStates(c.State.SplitByLine(all), byPartner, c.State.SplitByPartner(func(partner.ID) bool { return true }))
	require.ErrorIs(t, err, settlement.ErrStateOverlap)
}

// TestCreditSettlesAgainstTheCreditedLinesPart: a credit needs only the
// credited line's ledger part, unless the line's plan takes credits back
// from a volume: then without the partner's volumes it is
// ErrVolumeNotHeld, and with them it settles as against the whole state.
func TestCreditSettlesAgainstTheCreditedLinesPart(t *testing.T) {
	s, st := netState(t, "rolling_12_months")
	c2 := []settlement.Line{credit("C2", "L2", "-40.00", "2026-04-02")}
	whole, err := s.Settle(ctx, st, c2)
	require.NoError(t, err)
	l2 := st.SplitByLine(func(id settlement.LineID) bool { return id == "L2" })
	_, err = s.Settle(ctx, l2, c2)
	require.ErrorIs(t, err, settlement.ErrVolumeNotHeld)
	require.ErrorContains(t, err, `line "L2"`)
	shard, err := settlement.MergeStates(l2, st.Seed("reseller-nl"))
	require.NoError(t, err)
	part, err := s.Settle(ctx, shard, c2)
	require.NoError(t, err)
	requireSameEntriesT(t, part.Entries, whole.Entries)
	merged, err := settlement.MergeStates(part.State, st.SplitByLine(func(id settlement.LineID) bool { return id != "L2" }))
	require.NoError(t, err)
	require.Equal(t, string(mustJSON(t, whole.State)), string(mustJSON(t, merged)))

	// On a plan whose volume is not net of credits, the line's part alone
	// settles the credit.
	s = planSettler(t, strings.NewReplacer("WINDOW", "calendar_year", "VOLUME", "sales").Replace(netPlan), loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "EUR", "2026-03-02"), resold("L2", "100.00", "EUR", "2026-03-03")})
	require.NoError(t, err)
	whole, err = s.Settle(ctx, res.State, c2)
	require.NoError(t, err)
	part, err = s.Settle(ctx, res.State.SplitByLine(func(id settlement.LineID) bool { return id == "L2" }), c2)
	require.NoError(t, err)
	requireSameEntriesT(t, part.Entries, whole.Entries)
}

func requireSameEntriesT(t *testing.T, got, want []settlement.Entry) {
	t.Helper()
	require.Equal(t, string(mustJSON(t, want)), string(mustJSON(t, got)))
}

// TestPruneDropsLinesBeforeTheWindow: lines dated before the window go
// with their credits, unless a dispute holds them; volumes stay whole but
// no longer name pruned lines; a credit of a pruned line is
// ErrUnknownLine, never a credit of nothing.
func TestPruneDropsLinesBeforeTheWindow(t *testing.T) {
	s, st := netState(t, "rolling_12_months")
	res, err := s.Dispute(st, "L2", date("2026-03-20"))
	require.NoError(t, err)
	st = res.State
	pruned := decoded(t, st.Prune(date("2026-04-01")))
	require.False(t, pruned.Has("L1"))
	require.False(t, pruned.Has("C1"), "L1's credit goes with it")
	require.True(t, pruned.Has("L2"), "a dispute holds L2")
	at := date("2026-03-31")
	euro := eur("0").Currency()
	require.True(t, pruned.Volume("reseller-nl", euro, settlement.WindowRolling12Months, at).Equal(eur("900.00")), "the volume stays whole")
	require.NotContains(t, string(mustJSON(t, pruned)), `"line":"L1"`)
	_, err = s.Settle(ctx, pruned, []settlement.Line{credit("C9", "L1", "-1.00", "2026-04-02")})
	require.ErrorIs(t, err, settlement.ErrUnknownLine)
	// Nothing before the window: the state is unchanged but for its window.
	early := st.Prune(date("2026-01-01"))
	require.Equal(t, date("2026-01-01"), early.PrunedBefore())
	require.Equal(t, strings.Replace(string(mustJSON(t, early)), `,"pruned_before":"2026-01-01T00:00:00Z"`, "", 1), string(mustJSON(t, st)))
}

// TestPruneRefusesLinesBeforeTheWindow: a pruned state no longer knows the
// ids of the lines it dropped, so it refuses every line dated before its
// cut: a re-sent sale is ErrBeforeWindow, never paid twice. The cut
// survives JSON, the binary form, splitting and merging (the latest
// wins), and a second, earlier prune does not move it back.
func TestPruneRefusesLinesBeforeTheWindow(t *testing.T) {
	s, st := netState(t, "rolling_12_months")
	pruned := st.Prune(date("2026-04-01"))
	require.False(t, pruned.Has("L1"))
	for _, l := range []settlement.Line{chainLine("L1", "100.00", "2026-03-01"), chainLine("L9", "100.00", "2026-03-31")} {
		_, err := s.Settle(ctx, pruned, []settlement.Line{l})
		require.ErrorIs(t, err, settlement.ErrBeforeWindow, "%s", l.ID)
		var le *settlement.LineError
		require.ErrorAs(t, err, &le)
		require.Equal(t, l.ID, le.Line)
		require.ErrorContains(t, err, "the state was pruned before 2026-04-01T00:00:00Z")
	}
	// A line the pruned state still holds is already settled, whatever its
	// date; a credit of a pruned line says the state was pruned.
	held, err := s.Dispute(st, "L2", date("2026-03-20"))
	require.NoError(t, err)
	_, err = s.Settle(ctx, held.State.Prune(date("2026-04-01")), []settlement.Line{chainLine("L2", "100.00", "2026-03-02")})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled, "a dispute keeps L2")
	_, err = s.Settle(ctx, pruned, []settlement.Line{credit("C9", "L1", "-1.00", "2026-04-02")})
	require.ErrorIs(t, err, settlement.ErrUnknownLine)
	require.ErrorContains(t, err, "pruned before 2026-04-01")
	// The rest of a batch settles around it.
	res, err := s.SettleWhatYouCan(ctx, pruned, []settlement.Line{chainLine("L1", "100.00", "2026-03-01"), chainLine("L10", "50.00", "2026-04-01")})
	require.NoError(t, err)
	require.Len(t, res.Rejections, 1)
	require.ErrorIs(t, res.Rejections[0].Err, settlement.ErrBeforeWindow)
	require.True(t, res.State.Has("L10"))
	require.Equal(t, date("2026-04-01"), res.State.PrunedBefore())

	for name, got := range map[string]settlement.State{
		"json":           decoded(t, pruned),
		"binary":         binaryDecoded(t, pruned),
		"split by line":  pruned.SplitByLine(func(settlement.LineID) bool { return true }),
		"split by party": pruned.SplitByPartner(func(partner.ID) bool { return true }),
		"pruned earlier": pruned.Prune(date("2026-02-01")),
	} {
		require.Equal(t, date("2026-04-01"), got.PrunedBefore(), name)
	}
	merged, err := settlement.MergeStates(settlement.State{}, pruned.SplitByLine(func(settlement.LineID) bool { return true }),
		pruned.SplitByPartner(func(partner.ID) bool { return true }))
	require.NoError(t, err)
	require.Equal(t, date("2026-04-01"), merged.PrunedBefore(), "the latest of the parts' windows")
}

// TestSettleWhatYouCanRejectsAMisroutedCredit: a credit taking back from a
// volume its shard does not hold is the line's rejection, and the rest of
// the shard's batch settles.
func TestSettleWhatYouCanRejectsAMisroutedCredit(t *testing.T) {
	s, st := netState(t, "calendar_year")
	part := st.SplitByLine(func(id settlement.LineID) bool { return true })
	res, err := s.SettleWhatYouCan(ctx, part, []settlement.Line{credit("C2", "L2", "-40.00", "2026-04-02")})
	require.NoError(t, err)
	require.Len(t, res.Rejections, 1)
	require.ErrorIs(t, res.Rejections[0], settlement.ErrVolumeNotHeld)
	require.Empty(t, res.Entries)
	require.Equal(t, string(mustJSON(t, part)), string(mustJSON(t, res.State)))
}

// TestMergeStatesChecksTheWhole: parts that each decode but do not hold
// together (a partner part whose point of L1 is not what L1's ledger part
// says it added less its credits) merge into a corrupt state, refused.
func TestMergeStatesChecksTheWhole(t *testing.T) {
	_, st := netState(t, "rolling_12_months")
	var doc stateDoc
	require.NoError(t, json.Unmarshal(mustJSON(t, st.SplitByPartner(func(partner.ID) bool { return true })), &doc))
	vol := doc["volumes"].([]any)[0].(map[string]any)
	pt := vol["points"].([]any)[0].(map[string]any)
	pt["amount"], vol["amount"] = shift(pt["amount"], 1), shift(vol["amount"], 1)
	var vols settlement.State
	require.NoError(t, json.Unmarshal(mustJSON(t, doc), &vols), "the part alone decodes: L1 is not held")
	_, err := settlement.MergeStates(st.SplitByLine(func(settlement.LineID) bool { return true }), vols)
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	require.ErrorContains(t, err, "not the EUR 800.00 it added less what its credits took back")
}

// TestWrongShardKeyIsRefused: a sale settled against a part that does
// not hold the volume its plan reads (keyed by another field than the
// partner whose volume it reads) is ErrVolumeNotHeld naming the line,
// plan and node, never a volume of zero; SettleWhatYouCan rejects it.
func TestWrongShardKeyIsRefused(t *testing.T) {
	s, st := netState(t, "calendar_year")
	sale := []settlement.Line{resold("L3", "100.00", "EUR", "2026-04-01")} // reads reseller-nl's volume
	for name, part := range map[string]settlement.State{
		"another partner's volumes": st.Seed("distri-eu"),
		"a ledger part":             st.SplitByLine(func(settlement.LineID) bool { return true }),
		"merged parts without it": mustMerge(t, st.SplitByLine(func(settlement.LineID) bool { return true }),
			st.SplitByPartner(func(p partner.ID) bool { return p != "reseller-nl" })),
		"pruned": st.Seed("distri-eu").Prune(date("2026-01-01")),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Settle(ctx, part, sale)
			require.ErrorIs(t, err, settlement.ErrVolumeNotHeld)
			var le *settlement.LineError
			require.ErrorAs(t, err, &le)
			require.Equal(t, []string{"L3", "resale", "root/bonus"}, []string{string(le.Line), le.Plan, le.Node})
			res, err := s.SettleWhatYouCan(ctx, part, sale)
			require.NoError(t, err)
			require.Len(t, res.Rejections, 1)
			require.ErrorIs(t, res.Rejections[0], settlement.ErrVolumeNotHeld)
		})
	}
	// The partner's part settles it as the whole state does.
	whole, err := s.Settle(ctx, st, sale)
	require.NoError(t, err)
	part, err := s.Settle(ctx, st.Seed("reseller-nl"), sale)
	require.NoError(t, err)
	requireSameEntriesT(t, part.Entries, whole.Entries)
	// A part read back from JSON holds what it was given and no longer
	// refuses, as SplitByPartner says: split it again where it settles.
	back := decoded(t, st.Seed("distri-eu"))
	_, err = s.Settle(ctx, back, sale)
	require.NoError(t, err)
}

func mustMerge(t *testing.T, parts ...settlement.State) settlement.State {
	t.Helper()
	st, err := settlement.MergeStates(parts...)
	require.NoError(t, err)
	return st
}

// TestCreditNamingAnotherSellerIsRefused: a credit reverses the credited
// line's split as the state recorded it, so a credit whose route names
// another seller is a line sent with the wrong route: refused, never
// settled against one seller's line in one process and rejected as
// unknown on another seller's shard (a new user's Beam trial found the two
// disagreeing). A credit with no route, or the credited line's, settles.
func TestCreditNamingAnotherSellerIsRefused(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-03-01")})
	require.NoError(t, err)
	c := chainLine("C1", "-10.00", "2026-03-05")
	c.Credits = "L1"
	c.Route.Seller, c.Route.Chain = "reseller-nl", []partner.ID{"reseller-nl", "distri-eu"}
	_, err = s.Settle(ctx, res.State, []settlement.Line{c})
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	require.ErrorContains(t, err, `the credit's route names seller "reseller-nl", the credited line "L1" was sold by "sub-utrecht"`)
	for _, route := range []partner.Route{{}, chainLine("L1", "1.00", "2026-03-01").Route} {
		c.Route = route
		_, err = s.Settle(ctx, res.State, []settlement.Line{c})
		require.NoError(t, err, "%+v", route)
	}
}

// TestPruneDropsRollingPointsNoLaterLineReads: a state pruned a year and
// more after a rolling window's first points drops those no line dated
// from the cut on reads (twelve months or more before it) unless a kept
// line's credit could take back from them (the disputed L2's); a later
// line reads the volume as from the whole state, and the state's JSON
// shrinks.
func TestPruneDropsRollingPointsNoLaterLineReads(t *testing.T) {
	s, st := netState(t, "rolling_12_months") // L1 Mar 2 2026 (credited 400.00 by C1), L2 Mar 3
	res, err := s.Dispute(st, "L2", date("2026-03-20"))
	require.NoError(t, err)
	res, err = s.Settle(ctx, res.State, []settlement.Line{resold("L3", "250.00", "EUR", "2026-09-01")})
	require.NoError(t, err)
	whole := res.State
	cut := date("2027-04-01") // a line from the cut on reads points after 2026-04-01: L3's
	pruned := decoded(t, whole.Prune(cut))
	js := string(mustJSON(t, pruned))
	require.NotContains(t, js, `"2026-03-02T00:00:00Z","amount"`, "L1's point, dated a year before the cut, is dropped")
	require.Contains(t, js, `"line":"L2"`, "the disputed L2 keeps its point, which a lost dispute takes back from")
	require.Less(t, len(js), len(mustJSON(t, whole)))
	euro := eur("0").Currency()
	for _, at := range []string{"2027-04-01", "2027-05-01", "2027-08-31"} {
		require.True(t, pruned.Volume("reseller-nl", euro, settlement.WindowRolling12Months, date(at)).Equal(
			whole.Volume("reseller-nl", euro, settlement.WindowRolling12Months, date(at))), at)
	}
	later := []settlement.Line{resold("L4", "900.00", "EUR", "2027-04-02")}
	fromWhole, err := s.Settle(ctx, whole, later)
	require.NoError(t, err)
	fromPruned, err := s.Settle(ctx, pruned, later)
	require.NoError(t, err)
	requireSameEntriesT(t, fromPruned.Entries, fromWhole.Entries)
}
