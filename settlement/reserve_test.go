package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// reservePlans hold a 10% rolling reserve from reseller-nl for 90 days.
// A EUR 1000.00 line sold by sub-utrecht under reseller-nl pays the
// platform 200.00, reseller-nl 300.00 (of which 30.00 held until 90 days
// after the line) and the seller 500.00.
const reservePlans = `
- id: resale
  version: 1
  routes: [partner]
  reserves: [{party: reseller-nl, ratio: "10%", days: 90}]
  root:
    id: root
    children:
      - {id: platform, party: platform, share: "20%"}
      - {id: reseller, party: reseller, share: "30%"}
      - {id: seller, party: seller, share: remaining}
`

// got is an entry's id, kind, amount and date, for hand-worked tables.
type got struct {
	id, kind, amount, date string
}

func entriesOf(es []settlement.Entry, party string) []got {
	var out []got
	for _, e := range es {
		if string(e.Party) == party {
			out = append(out, got{string(e.ID), e.Kind.String(), e.Amount.AmountString(), e.Date.Format(time.DateOnly)})
		}
	}
	return out
}

// statementOf folds entries into party's statement over [from, to).
func statementOf(t *testing.T, es []settlement.Entry, party, from, to string) settlement.Statement {
	t.Helper()
	sts, err := settlement.Statements(es, settlement.StatementOptions{Period: ensemble.MustPeriod(date(from), date(to))})
	require.NoError(t, err)
	for _, st := range sts {
		if string(st.Party) == party {
			return st
		}
	}
	t.Fatalf("no statement of %s", party)
	return settlement.Statement{}
}

func requireEUR(t testing.TB, want string, m ensemble.Money, what string) {
	t.Helper()
	require.Truef(t, eur(want).Equal(m), "%s: want EUR %s, got %s", what, want, m)
}

// TestRollingReserveHandWorked: the figures of README's rolling reserve
// example, worked by hand.
func TestRollingReserveHandWorked(t *testing.T) {
	s := planSettler(t, reservePlans, loadNetwork(t))
	sale, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.NoError(t, err)
	// 10% of the 300.00 earned, held until 2026-03-01 + 90 days.
	require.Equal(t, []got{
		{"L1:root/reseller", "earning", "300.00", "2026-03-01"},
		{"L1:root/reseller#rolling", "reserve", "30.00", "2026-03-01"},
		{"L1:root/reseller#rolling.release", "release", "30.00", "2026-05-30"},
	}, entriesOf(sale.Entries, "reseller-nl"))
	require.Empty(t, entriesOf(sale.Entries, "sub-utrecht")[1:], "the seller holds no reserve")
	ll, _ := sale.State.Line("L1")
	requireEUR(t, "30.00", ll.Parts[1].Reserve, "the state's reserve")
	require.Equal(t, date("2026-05-30"), ll.Parts[1].ReserveUntil)

	// March: 300.00 earned, 30.00 withheld, 270.00 payable; the release
	// falls in May.
	march := statementOf(t, sale.Entries, "reseller-nl", "2026-03-01", "2026-04-01")
	requireEUR(t, "270.00", march.Closing, "March closing")
	requireEUR(t, "30.00", march.Withheld, "March withheld")
	may := statementOf(t, sale.Entries, "reseller-nl", "2026-05-01", "2026-06-01")
	requireEUR(t, "30.00", may.Released, "May released")

	tests := []struct {
		name   string
		credit settlement.Line
		want   []got
		// The March statement of reseller-nl, and the whole year's.
		closing, withheld, year string
	}{
		{"a refund within the reserve draws on it alone", credit("C1", "L1", "-100.00", "2026-03-20"), []got{
			{"C1:root/reseller#clawback", "clawback", "-30.00", "2026-03-20"},
			{"C1:root/reseller#rolling.draw", "release", "30.00", "2026-03-20"},
			{"C1:root/reseller#rolling.draw.release", "release", "-30.00", "2026-05-30"},
		}, "270.00", "0.00", "270.00"},
		{"a refund beyond the reserve takes the rest from what is payable", credit("C1", "L1", "-500.00", "2026-03-20"), []got{
			{"C1:root/reseller#clawback", "clawback", "-150.00", "2026-03-20"},
			{"C1:root/reseller#rolling.draw", "release", "30.00", "2026-03-20"},
			{"C1:root/reseller#rolling.draw.release", "release", "-30.00", "2026-05-30"},
		}, "150.00", "0.00", "150.00"},
		{"a full refund nets the reseller to zero, reserve and all", credit("C1", "L1", "-1000.00", "2026-03-20"), []got{
			{"C1:root/reseller#clawback", "clawback", "-300.00", "2026-03-20"},
			{"C1:root/reseller#rolling.draw", "release", "30.00", "2026-03-20"},
			{"C1:root/reseller#rolling.draw.release", "release", "-30.00", "2026-05-30"},
		}, "0.00", "0.00", "0.00"},
		{"a refund after the release draws nothing", credit("C1", "L1", "-100.00", "2026-06-15"), []got{
			{"C1:root/reseller#clawback", "clawback", "-30.00", "2026-06-15"},
		}, "270.00", "30.00", "270.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Settle(ctx, sale.State, []settlement.Line{tt.credit})
			require.NoError(t, err)
			require.Equal(t, tt.want, entriesOf(res.Entries, "reseller-nl"))
			all := append(append([]settlement.Entry{}, sale.Entries...), res.Entries...)
			march := statementOf(t, all, "reseller-nl", "2026-03-01", "2026-04-01")
			requireEUR(t, tt.closing, march.Closing, "March closing")
			requireEUR(t, tt.withheld, march.Withheld, "March withheld")
			year := statementOf(t, all, "reseller-nl", "2026-01-01", "2027-01-01")
			requireEUR(t, tt.year, year.Closing, "the year's closing")
			requireEUR(t, "0.00", year.Withheld, "withheld at the year's end")
			// The state remembers what the reserve still holds, and reads back.
			ll, _ := res.State.Line("L1")
			requireEUR(t, "0.00", ll.Parts[1].Reserve, "the reserve left")
			b, err := json.Marshal(res.State)
			require.NoError(t, err)
			var back settlement.State
			require.NoError(t, json.Unmarshal(b, &back))
		})
	}

	t.Run("a lost dispute draws on the reserve first", func(t *testing.T) {
		// The dispute holds the 270.00 the reserve does not hold already,
		// and the 30.00 from the reserve's release on.
		held, err := s.Dispute(sale.State, "L1", date("2026-03-05"))
		require.NoError(t, err)
		require.Equal(t, []got{
			{"L1:root/reseller#hold.1", "hold", "270.00", "2026-03-05"},
			{"L1:root/reseller#hold.1.rolling", "hold", "30.00", "2026-05-30"},
		}, entriesOf(held.Entries, "reseller-nl"))
		lost, err := s.ResolveDisputeWith(held.State, "L1", settlement.DisputeOutcome{Lost: eur("200.00")}, date("2026-03-25"))
		require.NoError(t, err)
		require.Equal(t, []got{
			{"L1:root/reseller#release.1", "release", "270.00", "2026-03-25"},
			{"L1:root/reseller#release.1.rolling", "release", "30.00", "2026-05-30"},
			{"L1#dispute.1:root/reseller#clawback", "clawback", "-60.00", "2026-03-25"},
			{"L1#dispute.1:root/reseller#rolling.draw", "release", "30.00", "2026-03-25"},
			{"L1#dispute.1:root/reseller#rolling.draw.release", "release", "-30.00", "2026-05-30"},
		}, entriesOf(lost.Entries, "reseller-nl"))
		all := append(append(append([]settlement.Entry{}, sale.Entries...), held.Entries...), lost.Entries...)
		march := statementOf(t, all, "reseller-nl", "2026-03-01", "2026-04-01")
		requireEUR(t, "240.00", march.Closing, "March closing: 300.00 less the 60.00 lost")
		requireEUR(t, "0.00", march.Withheld, "March withheld")
	})

	t.Run("two refunds draw in turn", func(t *testing.T) {
		c1, err := s.Settle(ctx, sale.State, []settlement.Line{credit("C1", "L1", "-50.00", "2026-03-10")})
		require.NoError(t, err)
		c2, err := s.Settle(ctx, c1.State, []settlement.Line{credit("C2", "L1", "-100.00", "2026-03-20")})
		require.NoError(t, err)
		require.Equal(t, []got{
			{"C1:root/reseller#clawback", "clawback", "-15.00", "2026-03-10"},
			{"C1:root/reseller#rolling.draw", "release", "15.00", "2026-03-10"},
			{"C1:root/reseller#rolling.draw.release", "release", "-15.00", "2026-05-30"},
		}, entriesOf(c1.Entries, "reseller-nl"))
		require.Equal(t, []got{
			{"C2:root/reseller#clawback", "clawback", "-30.00", "2026-03-20"},
			{"C2:root/reseller#rolling.draw", "release", "15.00", "2026-03-20"},
			{"C2:root/reseller#rolling.draw.release", "release", "-15.00", "2026-05-30"},
		}, entriesOf(c2.Entries, "reseller-nl"))
	})
}

// TestRollingReservesAreCheckedAtLoad: a rolling reserve says whom it
// holds from, how much and for how long, or the plan is refused.
func TestRollingReservesAreCheckedAtLoad(t *testing.T) {
	for name, tc := range map[string]struct{ reserves, want string }{
		"unknown party":  {`[{party: reseller-xx, ratio: "10%", days: 90}]`, "names no partner"},
		"ratio above 1":  {`[{party: reseller-nl, ratio: "110%", days: 90}]`, "reserve ratio must be within [0, 1]"},
		"no days":        {`[{party: reseller-nl, ratio: "10%"}]`, "reserve days must be within [1, 36600]"},
		"party twice":    {`[{party: reseller-nl, ratio: "10%", days: 9}, {party: reseller-nl, ratio: "5%", days: 9}]`, "two rolling reserves"},
		"no party":       {`[{ratio: "10%", days: 90}]`, "reserves[0].party"},
		"negative ratio": {`[{party: reseller-nl, ratio: "-1%", days: 90}]`, "reserve ratio"},
		"on collection":  {`[{party: reseller-nl, ratio: "10%", days: 90}]` + "\n  payable: on_collection", "keeps no rolling reserve: a rolling reserve is held at the line's date"},
	} {
		t.Run(name, func(t *testing.T) {
			plans, err := settlement.ParsePlans([]byte(strings.Replace(reservePlans, `[{party: reseller-nl, ratio: "10%", days: 90}]`, tc.reserves, 1)))
			require.NoError(t, err)
			_, err = settlement.New(settlement.Config{Plans: plans, Rules: loadRules(t), Network: loadNetwork(t)})
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// reserveState returns the JSON of a state holding L1 of the hand-worked
// example, partly credited by C1 before the release: reseller-nl's part
// (parts[1]) holds 15.00 of its 30.00 reserve. FuzzState starts from it
// too.
func reserveState(t testing.TB) []byte {
	t.Helper()
	s := planSettler(t, reservePlans, loadNetwork(t))
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.NoError(t, err)
	res, err = s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-50.00", "2026-03-10")})
	require.NoError(t, err)
	ll, _ := res.State.Line("L1")
	requireEUR(t, "15.00", ll.Parts[1].Reserve, "the reserve left")
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	return b
}

// TestStateDecodeRefusesCorruptRollingReserves: what a state records of
// rolling reserves is checked on decode, a test per hole.
func TestStateDecodeRefusesCorruptRollingReserves(t *testing.T) {
	valid := reserveState(t)
	var st settlement.State
	require.NoError(t, json.Unmarshal(valid, &st))
	reseller := map[string]any{"party": "reseller-nl"}
	tests := []struct {
		name    string
		corrupt func(d stateDoc)
		path    string
		want    string
	}{
		{"a reserve without its release date", func(d stateDoc) { delete(d.part("L1", reseller), "reserve_until") },
			"lines[0].parts[1].reserve", "without reserve_until"},
		{"a release on the line's date", func(d stateDoc) { d.part("L1", reseller)["reserve_until"] = "2026-03-01T00:00:00Z" },
			"lines[0].parts[1].reserve_until", "not after the line's date"},
		{"a reserve beyond the unreversed amount", func(d stateDoc) { d.part("L1", reseller)["reserve"] = moneyJSON("285.01", "EUR") },
			"lines[0].parts[1].reserve", "exceeds the unreversed"},
		{"a negative reserve", func(d stateDoc) { d.part("L1", reseller)["reserve"] = moneyJSON("-1.00", "EUR") },
			"lines[0].parts[1].reserve", "negative rolling reserve"},
		{"a reserve in another currency", func(d stateDoc) { d.part("L1", reseller)["reserve"] = moneyJSON("15.00", "USD") },
			"lines[0].parts[1].reserve", "not in the line's currency"},
		{"a reserve of fractions of a cent", func(d stateDoc) { d.part("L1", reseller)["reserve"] = moneyJSON("15.001", "EUR") },
			"lines[0].parts[1].reserve", "whole number of minor units"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(valid, &d))
			tt.corrupt(d)
			decodeProblem(t, d, tt.path, tt.want, "L1")
		})
	}
	t.Run("a reserve of a supplier cost", func(t *testing.T) {
		var d stateDoc
		require.NoError(t, json.Unmarshal(ledgerState(t), &d))
		p := d.part("L1", map[string]any{"kind": "supplier_cost"})
		p["reserve_until"], p["reserve"] = "2026-05-30T00:00:00Z", moneyJSON("1.00", "EUR")
		decodeProblem(t, d, ".reserve_until", "a rolling reserve holds earnings", "L1")
	})
}

// TestExplainShowsRollingReserveDraws: a line's explain tree lists its
// rolling reserve under the earning, the draws of a refund under the
// reserve they draw on, then the scheduled release.
func TestExplainShowsRollingReserveDraws(t *testing.T) {
	s := planSettler(t, reservePlans, loadNetwork(t))
	sale, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.NoError(t, err)
	c, err := s.Settle(ctx, sale.State, []settlement.Line{credit("C1", "L1", "-500.00", "2026-03-20")})
	require.NoError(t, err)
	text, err := settlement.Explain("L1", append(sale.Entries, c.Entries...))
	require.NoError(t, err)
	require.Contains(t, text, `   ├─ reseller  EUR 300.00 -> reseller-nl (reseller), share 30%
   │      reserve EUR 30.00 on 2026-03-01, rolling reserve 10% of reseller-nl until 2026-05-30
   │        release EUR 30.00 on 2026-03-20, rolling reserve drawn to meet the clawback, credit of L1 by C1
   │        release EUR -30.00 on 2026-05-30, scheduled release of the rolling reserve less the draw, credit of L1 by C1
   │      release EUR 30.00 on 2026-05-30, rolling reserve released
   │      clawback EUR -150.00 on 2026-03-20, credit of L1 by C1
`)
}
