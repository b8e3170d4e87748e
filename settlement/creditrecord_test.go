package settlement_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestStateDecodeRefusesADeletedCreditThatWouldSettleTwice is issue 18's
// hole: a persisted state whose credits entry was deleted read back
// without error, and the credit line it named then settled a second time
// (the ledger remembered the credited amount, but which credit lines made
// it only the credits did). Each credit now records its amount, and a line
// whose credits and lost disputes do not add up to its credited amount is
// refused, naming the line.
func TestStateDecodeRefusesADeletedCreditThatWouldSettleTwice(t *testing.T) {
	valid := ledgerState(t)
	var d stateDoc
	require.NoError(t, json.Unmarshal(valid, &d))
	d["credits"] = []any{}
	decodeProblem(t, d, "lines[0].credited", "credits, lost disputes and write-offs add up to", "L1")

	// Deleted with the key itself: the same.
	require.NoError(t, json.Unmarshal(valid, &d))
	delete(d, "credits")
	decodeProblem(t, d, "lines[0].credited", "credits, lost disputes and write-offs add up to", "L1")

	// The state as written reads, and C1 cannot be settled again on it.
	var st settlement.State
	require.NoError(t, json.Unmarshal(valid, &st))
	s := ledgerSettler(t)
	_, err := s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-250.00", "2026-03-10")})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
}

// TestStateDecodeRefusesCreditRecordsThatDoNotAddUp: a credit's recorded
// amount and bearer, and a line's lost disputes, are checked like the
// rest of the ledger.
func TestStateDecodeRefusesCreditRecordsThatDoNotAddUp(t *testing.T) {
	valid := ledgerState(t)
	c0 := func(d stateDoc) map[string]any { return d["credits"].([]any)[0].(map[string]any) }
	tests := []struct {
		name    string
		corrupt func(d stateDoc)
		path    string
		want    string
		line    settlement.LineID
	}{
		{"a credit's amount changed", func(d stateDoc) { c0(d)["amount"] = shift(c0(d)["amount"], 1) }, "lines[0].credited", "credits, lost disputes and write-offs add up to", "L1"},
		{"a credit without amount", func(d stateDoc) { delete(c0(d), "amount") }, "credits[0].amount", "no amount", "C1"},
		{"a negative credit", func(d stateDoc) { c0(d)["amount"] = moneyJSON("-1.00", "EUR") }, "credits[0].amount", "negative", "C1"},
		{"a credit in another currency", func(d stateDoc) { c0(d)["amount"] = moneyJSON("250.00", "USD") }, "credits[0].amount", "not in the line's currency", "C1"},
		{"a credit of a line the state does not hold", func(d stateDoc) { c0(d)["credits"] = "L9" }, "credits[0].credits", "no settled line", "C1"},
		{"a credit with two bearers", func(d stateDoc) { c0(d)["bearer"] = map[string]any{"party": "reseller-nl", "role": "seller"} }, "credits[0].bearer", "names one of", "C1"},
		{"a line's lost disputes changed", func(d stateDoc) { d.line("L1")["lost"] = moneyJSON("1.00", "EUR") }, "lines[0].lost", "no dispute was ever opened", "L1"},
		{"a negative lost", func(d stateDoc) {
			d.line("L2")["lost"] = moneyJSON("-1.00", "EUR")
		}, "lines[1].lost", "negative", "L2"},
		{"a credit added", func(d stateDoc) {
			d["credits"] = append(d["credits"].([]any), map[string]any{"line": "C2", "credits": "L1", "amount": moneyJSON("1.00", "EUR")})
		}, "lines[0].credited", "credits, lost disputes and write-offs add up to", "L1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(valid, &d))
			tt.corrupt(d)
			decodeProblem(t, d, tt.path, tt.want, tt.line)
		})
	}
}

// TestPropertyHandEditedStatesAreRefusedOrBehave settles random lines,
// credits and disputes (won, lost, partly lost), writes the state and
// edits its JSON as a hand would: a credit deleted, a credit's amount,
// a line's credited or lost amount moved, a credit added. What reads back
// still knows every credit the history settled that took something back
// (none can settle twice; a credit of zero moved nothing and leaves no
// sum to check, so settling it again moves nothing either), and every
// line's credits and lost disputes add up to what it credited; anything
// else is refused with ErrCorruptState.
func TestPropertyHandEditedStatesAreRefusedOrBehave(t *testing.T) {
	s := ledgerSettler(t)
	rapid.Check(t, func(t *rapid.T) {
		lines := make([]settlement.Line, rapid.IntRange(1, 4).Draw(t, "lines"))
		ids := make([]settlement.LineID, len(lines))
		for i := range lines {
			lines[i] = genLedgerLine(t, fmt.Sprintf("L%d", i))
			ids[i] = lines[i].ID
		}
		res, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		st := res.State
		at := date("2027-06-01")
		var credits []settlement.LineID
		for op := range rapid.IntRange(1, 6).Draw(t, "ops") {
			id := rapid.SampledFrom(ids).Draw(t, fmt.Sprintf("op%d.line", op))
			ll, _ := st.Line(id)
			left := minorOf(ll.Basis) - minorOf(ll.Credited)
			switch {
			case ll.Disputed:
				o := settlement.DisputeOutcome{Won: rapid.Bool().Draw(t, fmt.Sprintf("op%d.won", op))}
				if !o.Won {
					o.Lost = ensemble.MoneyFromMinor(rapid.Int64Range(min(1, left), left).Draw(t, fmt.Sprintf("op%d.lost", op)), ll.Basis.Currency())
				}
				res, err = s.ResolveDisputeWith(st, id, o, at)
			case rapid.Bool().Draw(t, fmt.Sprintf("op%d.dispute", op)):
				res, err = s.Dispute(st, id, at)
			case minorOf(ll.Lost) > minorOf(ll.Documented) && rapid.Bool().Draw(t, fmt.Sprintf("op%d.documents", op)):
				// The lost dispute's credit note, which takes back nothing.
				x := rapid.Int64Range(0, minorOf(ll.Lost)-minorOf(ll.Documented)).Draw(t, fmt.Sprintf("op%d.documented", op))
				c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%d", op)), Date: at, Credits: id,
					Amount: ensemble.MoneyFromMinor(-x, ll.Basis.Currency()), Dispute: settlement.DisputeDocuments}
				res, err = s.Settle(ctx, st, []settlement.Line{c})
				if x != 0 {
					credits = append(credits, c.ID)
				}
			default:
				x := rapid.Int64Range(0, left).Draw(t, fmt.Sprintf("op%d.credit", op))
				c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%d", op)), Date: at, Credits: id,
					Amount: ensemble.MoneyFromMinor(-x, ll.Basis.Currency()), Dispute: settlement.DisputeSeparate}
				res, err = s.Settle(ctx, st, []settlement.Line{c})
				if x != 0 {
					credits = append(credits, c.ID)
				}
			}
			require.NoError(t, err)
			st = res.State
		}
		b, err := json.Marshal(st)
		require.NoError(t, err)
		var d stateDoc
		require.NoError(t, json.Unmarshal(b, &d))
		cs, _ := d["credits"].([]any)
		lns := d["lines"].([]any)
		delta := rapid.SampledFrom([]int64{-100, -1, 1, 100}).Draw(t, "delta")
		switch edit := rapid.IntRange(0, 5).Draw(t, "edit"); {
		case edit == 5: // a line's documented moved
			l := lns[rapid.IntRange(0, len(lns)-1).Draw(t, "line")].(map[string]any)
			if l["documented"] == nil {
				l["documented"] = moneyJSON("0.00", l["basis"].(map[string]any)["currency"].(string))
			}
			l["documented"] = shift(l["documented"], delta)
		case edit == 0 && len(cs) > 0: // a credit deleted
			k := rapid.IntRange(0, len(cs)-1).Draw(t, "credit")
			d["credits"] = slices.Delete(cs, k, k+1)
		case edit == 1 && len(cs) > 0: // a credit's amount moved
			c := cs[rapid.IntRange(0, len(cs)-1).Draw(t, "credit")].(map[string]any)
			c["amount"] = shift(c["amount"], delta)
		case edit == 2: // a line's credited moved
			l := lns[rapid.IntRange(0, len(lns)-1).Draw(t, "line")].(map[string]any)
			l["credited"] = shift(l["credited"], delta)
		case edit == 3: // a line's lost moved
			l := lns[rapid.IntRange(0, len(lns)-1).Draw(t, "line")].(map[string]any)
			if l["lost"] == nil {
				l["lost"] = moneyJSON("0.00", l["basis"].(map[string]any)["currency"].(string))
			}
			l["lost"] = shift(l["lost"], delta)
		default: // a credit added
			l := lns[rapid.IntRange(0, len(lns)-1).Draw(t, "line")].(map[string]any)
			d["credits"] = append(cs, map[string]any{"line": "C-added", "credits": l["line"], "amount": moneyJSON("0.01", l["basis"].(map[string]any)["currency"].(string))})
		}
		edited, err := json.Marshal(d)
		require.NoError(t, err)
		var back settlement.State
		if err := json.Unmarshal(edited, &back); err != nil {
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			return
		}
		for _, c := range credits {
			require.True(t, back.Has(c), "credit %s settled before the edit can settle again", c)
		}
		out, err := json.Marshal(back)
		require.NoError(t, err)
		var read struct {
			Lines   []settlement.LedgerLine  `json:"lines"`
			Credits []settlement.CreditState `json:"credits"`
		}
		require.NoError(t, json.Unmarshal(out, &read))
		sums, documented := map[settlement.LineID]int64{}, map[settlement.LineID]int64{}
		for _, c := range read.Credits {
			sums[c.Credits] += minorOf(c.Amount)
			documented[c.Credits] += minorOf(c.Documented)
		}
		for _, ll := range read.Lines {
			require.Equal(t, minorOf(ll.Credited), sums[ll.Line]+minorOf(ll.Lost), "line %s", ll.Line)
			require.Equal(t, minorOf(ll.Documented), documented[ll.Line], "line %s", ll.Line)
			require.LessOrEqual(t, minorOf(ll.Documented), minorOf(ll.Lost), "line %s", ll.Line)
		}
	})
}
