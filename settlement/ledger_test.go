package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

func credit(id, of, amount, day string) settlement.Line {
	return settlement.Line{ID: settlement.LineID(id), Date: date(day), Amount: eur(amount), Credits: settlement.LineID(of),
		Trace: []ensemble.Ref{{Kind: "credit_note_line", ID: "CN-" + id}}}
}

func TestClawbackPartialThenFull(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.NoError(t, err)
	earned := byParty(res.Entries, settlement.KindEarning)

	// A 30% credit: each party gives back 30% of what it has unreversed.
	r1, err := s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-300.00", "2026-03-10")})
	require.NoError(t, err)
	back := byParty(r1.Entries, settlement.KindClawback)
	for p, w := range map[partner.ID]string{"platform": "-60.00", "referral-ams": "-15.00", "distri-eu": "-13.50", "reseller-nl": "-22.50", "sub-utrecht": "-189.00"} {
		requireMoney(t, back[p], eur(w), p)
	}
	for _, e := range r1.Entries {
		require.Equal(t, settlement.KindClawback, e.Kind)
		require.NotEmpty(t, e.Reverses)
		require.Equal(t, settlement.LineID("C1"), e.Line)
	}

	// The same credit note line is never settled twice, in one call or
	// across calls (the state remembers it, through JSON too).
	_, err = s.Settle(ctx, r1.State, []settlement.Line{credit("C1", "L1", "-300.00", "2026-03-10")})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	_, err = s.Settle(ctx, res.State, []settlement.Line{credit("C7", "L1", "-1.00", "2026-03-10"), credit("C7", "L1", "-2.00", "2026-03-11")})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	b, err := json.Marshal(r1.State)
	require.NoError(t, err)
	var restored settlement.State
	require.NoError(t, json.Unmarshal(b, &restored))
	require.True(t, restored.Has("C1"))
	_, err = s.Settle(ctx, restored, []settlement.Line{credit("C1", "L1", "-300.00", "2026-03-10")})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)

	// Crediting more than is left is an error naming the line.
	_, err = s.Settle(ctx, r1.State, []settlement.Line{credit("C2", "L1", "-700.01", "2026-03-11")})
	require.ErrorIs(t, err, settlement.ErrOverCredit)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("C2"), le.Line)

	// The rest nets every party to exactly zero.
	r2, err := s.Settle(ctx, r1.State, []settlement.Line{credit("C2", "L1", "-700.00", "2026-03-11")})
	require.NoError(t, err)
	all := append(append(append([]settlement.Entry{}, res.Entries...), r1.Entries...), r2.Entries...)
	for p, m := range byParty(all, settlement.KindEarning, settlement.KindClawback) {
		require.Truef(t, m.IsZero(), "%s nets %s", p, m)
	}
	require.Len(t, byParty(all), len(earned))
	ll, ok := r2.State.Line("L1")
	require.True(t, ok)
	requireMoney(t, ll.Credited, eur("1000.00"))

	// Settling a line twice is detected, and so is a credit of nothing.
	_, err = s.Settle(ctx, r2.State, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	_, err = s.Settle(ctx, r2.State, []settlement.Line{credit("C3", "L1", "-0.01", "2026-03-12")})
	require.ErrorIs(t, err, settlement.ErrOverCredit)
	_, err = s.Settle(ctx, r2.State, []settlement.Line{credit("C4", "nope", "-1.00", "2026-03-12")})
	require.ErrorIs(t, err, settlement.ErrUnknownLine)
}

func TestDisputes(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.NoError(t, err)
	for _, won := range []bool{true, false} {
		name := map[bool]string{true: "won", false: "lost"}[won]
		t.Run(name, func(t *testing.T) {
			d, err := s.Dispute(res.State, "L1", date("2026-03-05"))
			require.NoError(t, err)
			requireMoney(t, sumEntries(d.Entries, settlement.KindHold), eur("1000.00"))
			_, err = s.Dispute(d.State, "L1", date("2026-03-06"))
			require.ErrorIs(t, err, settlement.ErrDisputed)
			_, err = s.Settle(ctx, d.State, []settlement.Line{credit("C1", "L1", "-10.00", "2026-03-06")})
			require.ErrorIs(t, err, settlement.ErrDisputed)

			r, err := s.ResolveDispute(d.State, "L1", won, date("2026-04-01"))
			require.NoError(t, err)
			requireMoney(t, sumEntries(r.Entries, settlement.KindRelease), eur("1000.00"))
			all := append(append(append([]settlement.Entry{}, res.Entries...), d.Entries...), r.Entries...)
			st, err := settlement.Statements(all, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date("2026-05-01"))})
			require.NoError(t, err)
			for _, x := range st {
				if won {
					requireMoney(t, x.Closing, x.Earned, x.Party)
				} else {
					require.Truef(t, x.Closing.IsZero(), "%s closes at %s", x.Party, x.Closing)
				}
			}
			if !won {
				// A credit besides the lost dispute finds nothing left; one
				// that does not say whether it documents it is refused.
				c := credit("C1", "L1", "-0.01", "2026-04-02")
				_, err = s.Settle(ctx, r.State, []settlement.Line{c})
				require.ErrorIs(t, err, settlement.ErrUndocumentedDispute)
				c.Dispute = settlement.DisputeSeparate
				_, err = s.Settle(ctx, r.State, []settlement.Line{c})
				require.ErrorIs(t, err, settlement.ErrOverCredit)
			}
			_, err = s.ResolveDispute(r.State, "L1", won, date("2026-04-02"))
			require.ErrorIs(t, err, settlement.ErrNotDisputed)
		})
	}
}

func TestReserveReleased(t *testing.T) {
	s := newSettler(t)
	l := chainLine("L5", "100.00", "2026-03-01")
	l.Offer = catalog.Pin{Offer: "secure-backup", Version: 1}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	// seller earns 30.00 and 10% (3.00) is held for 90 days.
	march := ensemble.MustPeriod(date("2026-03-01"), date("2026-04-01"))
	june := ensemble.MustPeriod(date("2026-04-01"), date("2026-06-01")) // April and May: previous statements end where the next begin
	st, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: march})
	require.NoError(t, err)
	seller := find(t, st, "sub-utrecht")
	requireMoney(t, seller.Earned, eur("30.00"))
	requireMoney(t, seller.Reserved, eur("3.00"))
	requireMoney(t, seller.Payable, eur("27.00"))
	requireMoney(t, seller.Withheld, eur("3.00"))
	st2, err := settlement.Statements(res.Entries, settlement.StatementOptions{Period: june, Previous: st})
	require.NoError(t, err)
	seller = find(t, st2, "sub-utrecht")
	requireMoney(t, seller.Released, eur("3.00"))
	requireMoney(t, seller.Closing, eur("30.00"), "nothing was paid out in between")
	requireMoney(t, seller.Withheld, eur("0"))
	for _, e := range res.Entries {
		if e.Kind == settlement.KindRelease {
			require.Equal(t, date("2026-05-30"), e.Date)
		}
	}
}

func find(t *testing.T, st []settlement.Statement, p partner.ID) settlement.Statement {
	t.Helper()
	for _, s := range st {
		if s.Party == p {
			return s
		}
	}
	t.Fatalf("no statement for %s", p)
	return settlement.Statement{}
}

func TestThresholdRollsForwardTwiceThenPays(t *testing.T) {
	mins := []ensemble.Money{eur("10.00"), ensemble.MustMoney("50.00", "USD")}
	earn := func(id, amount, day string) settlement.Entry {
		return settlement.Entry{ID: settlement.EntryID(id), Kind: settlement.KindEarning, Party: "dev-1", Amount: eur(amount), Date: date(day)}
	}
	entries := []settlement.Entry{earn("a", "4.00", "2026-01-10"), earn("b", "3.00", "2026-02-10"), earn("c", "5.00", "2026-03-10")}
	months := []string{"2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"}
	var prev []settlement.Statement
	wantPayable := []string{"0", "0", "12.00"}
	wantCarry := []string{"4.00", "7.00", "0"}
	for i := 0; i < 3; i++ {
		st, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date(months[i]), date(months[i+1])), Minimums: mins, Previous: prev})
		require.NoError(t, err)
		require.Len(t, st, 1)
		requireMoney(t, st[0].Payable, eur(wantPayable[i]), i)
		requireMoney(t, st[0].CarriedForward, eur(wantCarry[i]), i)
		prev = st
	}
	// Paying out in another currency records the rate and rounds once.
	p, err := settlement.PayOut(prev[0], settlement.Payout{ID: "P1", Date: date("2026-04-02"), Currency: ensemble.MustCurrency("USD"), Rate: ensemble.MustRatio("1.08333")})
	require.NoError(t, err)
	requireMoney(t, p.Amount, eur("12.00"))
	require.NotNil(t, p.Conversion)
	requireMoney(t, p.Conversion.To, ensemble.MustMoney("13.00", "USD")) // 12 × 1.08333 = 12.99996
	entries = append(entries, p)
	st, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-04-01"), date("2026-05-01")), Minimums: mins, Previous: prev})
	require.NoError(t, err)
	requireMoney(t, st[0].Closing, eur("0"))
	// A negative balance carries and nets against later earnings.
	neg := []settlement.Entry{earn("x", "-8.00", "2026-05-02"), earn("y", "20.00", "2026-06-02")}
	neg[0].Kind = settlement.KindClawback
	may, err := settlement.Statements(neg, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-05-01"), date("2026-06-01")), Minimums: mins})
	require.NoError(t, err)
	requireMoney(t, may[0].CarriedForward, eur("-8.00"))
	requireMoney(t, may[0].Payable, eur("0"))
	june, err := settlement.Statements(neg, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-06-01"), date("2026-07-01")), Minimums: mins, Previous: may})
	require.NoError(t, err)
	requireMoney(t, june[0].Payable, eur("12.00"))
}

func TestAdjust(t *testing.T) {
	e, err := settlement.Adjust(settlement.Adjustment{ID: "A1", Party: "dev-1", Amount: eur("-2.50"), Date: date("2026-03-01"), Reason: "duplicate bonus", Approver: "cfo"})
	require.NoError(t, err)
	require.Equal(t, settlement.KindAdjustment, e.Kind)
	require.Equal(t, "cfo", e.Approver)
	_, err = settlement.Adjust(settlement.Adjustment{ID: "A2", Party: "dev-1", Amount: eur("1.00"), Date: date("2026-03-01")})
	require.ErrorIs(t, err, settlement.ErrInvalidAdjustment)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 2, "reason and approver are both reported")
}

// A state's entry ids are derived from line, node and party, so a decoded
// state whose ids say otherwise is refused, as is an amount held on a line
// no dispute holds; a disputed line round-trips with its holds.
func TestStateJSONChecksEntryIDsAndHolds(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.NoError(t, err)
	held, err := s.Dispute(res.State, "L1", date("2026-03-05"))
	require.NoError(t, err)
	b, err := json.Marshal(held.State)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back))
	ll, ok := back.Line("L1")
	require.True(t, ok)
	require.True(t, ll.Disputed)
	for _, p := range ll.Parts {
		requireMoney(t, p.Held, p.Unreversed, string(p.Entry))
	}
	won, err := s.ResolveDispute(back, "L1", true, date("2026-03-09"))
	require.NoError(t, err)
	for _, e := range won.Entries {
		require.Equal(t, settlement.KindRelease, e.Kind)
		require.Equal(t, e.Reverses+"#release.1", e.ID)
	}

	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	part := doc["lines"].([]any)[0].(map[string]any)["parts"].([]any)[0].(map[string]any)
	part["entry"] = "L1:somewhere/else"
	bad, err := json.Marshal(doc)
	require.NoError(t, err)
	err = json.Unmarshal(bad, &back)
	require.ErrorContains(t, err, "lines[0].parts[0].entry")

	part["entry"] = "L1:" + part["node"].(string)
	doc["lines"].([]any)[0].(map[string]any)["disputed"] = false
	bad, err = json.Marshal(doc)
	require.NoError(t, err)
	err = json.Unmarshal(bad, &back)
	require.ErrorContains(t, err, "lines[0].parts[0].held")
}

// TestCreditDatedBeforeItsLine: a credit note dated before the line it
// credits is refused (a new user's trial: a credit dated January of a June
// line was settled, its clawbacks landing in January's statement, closed
// before the sale existed); dated the same instant, it is accepted.
func TestCreditDatedBeforeItsLine(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "100.00", "2026-06-15")})
	require.NoError(t, err)
	_, err = s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-10.00", "2026-01-01")})
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	require.ErrorContains(t, err, `the credit is dated 2026-01-01, before the line it credits, "L1", dated 2026-06-15`)
	_, err = s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-10.00", "2026-06-15")})
	require.NoError(t, err)
}
