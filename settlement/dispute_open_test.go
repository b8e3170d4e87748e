package settlement_test

// Payments and credits of a line while a dispute of part of it is open
// (Settler.DisputeAmount), with hand figures: a EUR 1,000.00 line payable
// on collection, reseller 20%, seller 30% (10% of each payment held for 90
// days), platform 50%; 400.00 of it disputed.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// disputeOpenPlan pays the reseller 20%, the seller 30% (10% of what each
// payment makes payable reserved for 90 days) and the platform the rest,
// as the customer pays.
func disputeOpenPlan(payable string) string {
	return `
id: dispute-open
version: 1
payable: ` + payable + `
root:
  id: root
  children:
    - {id: reseller, party: reseller, share: "20%"}
    - {id: seller, party: seller, share: "30%", reserve: {ratio: "10%", days: 90}}
    - {id: platform, party: platform, share: remaining}
`
}

// disputedOpen settles the EUR 1,000.00 line L1 (no tax, invoice INV-D)
// on March 1, 2026 under disputeOpenPlan and opens a dispute of 400.00 of
// it on March 5.
func disputedOpen(t *testing.T, payable string) (*settlement.Settler, []settlement.Entry, settlement.State) {
	t.Helper()
	s := planSettler(t, disputeOpenPlan(payable), loadNetwork(t))
	l := chainLine("L1", "1000.00", "2026-03-01")
	l.Invoice = "INV-D"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	requireParties(t, res.Entries, map[partner.ID]string{"reseller-nl": "200.00", "sub-utrecht": "300.00", "platform": "500.00"})
	d, err := s.DisputeAmount(res.State, "L1", eur("400.00"), date("2026-03-05"))
	require.NoError(t, err)
	return s, append(res.Entries, d.Entries...), d.State
}

// requireDisputedAmount requires err to be a *DisputedAmountError of L1
// with the figures given, matching ErrDisputed.
func requireDisputedAmount(t *testing.T, err error, payment bool, disputed, undisputed, asked string) {
	t.Helper()
	require.ErrorIs(t, err, settlement.ErrDisputed)
	var de *settlement.DisputedAmountError
	require.True(t, errors.As(err, &de), "%v", err)
	require.Equal(t, settlement.LineID("L1"), de.Line)
	require.Equal(t, payment, de.Payment)
	requireMoney(t, de.Disputed, eur(disputed), "disputed")
	requireMoney(t, de.Undisputed, eur(undisputed), "undisputed")
	requireMoney(t, de.Asked, eur(asked), "asked")
}

// The customer disputes 400.00 and pays the undisputed 600.00: the
// payment is recorded and made payable by shares, 120.00 / 180.00 (18.00
// of it reserved until June 8) / 300.00; a cent more reaches into the
// disputed amount and is refused, naming it and what is left undisputed.
// A credit note of 100.00 of the undisputed part is reversed 20.00 /
// 30.00 / 50.00; one of more than the 500.00 then left undisputed is
// refused. The dispute is lost: 80.00 / 120.00 / 200.00 are clawed back,
// and each party nets its share of the 500.00 the customer finally paid
// (600.00 less the 100.00 refund due): 100.00 / 150.00 / 250.00.
// Before, the payment and the credit were both ErrDisputed.
func TestDisputeAmountOpenTakesPaymentAndCredit(t *testing.T) {
	s, entries, st := disputedOpen(t, "on_collection")
	pay := func(st settlement.State, id, amount, day string) (settlement.Result, error) {
		return s.Collect(st, settlement.Collection{ID: id, Date: date(day), Amount: eur(amount), Lines: []settlement.LineID{"L1"}})
	}
	_, err := pay(st, "PAY-0", "600.01", "2026-03-10")
	requireDisputedAmount(t, err, true, "400.00", "600.00", "600.01")
	_, err = s.Collect(st, settlement.Collection{ID: "PAY-0", Date: date("2026-03-10"), Amount: eur("600.01"), Invoice: "INV-D"})
	requireDisputedAmount(t, err, true, "400.00", "600.00", "600.01")

	p, err := pay(st, "PAY-1", "600.00", "2026-03-10")
	require.NoError(t, err)
	requireKind(t, p.Entries, settlement.KindCollected, map[partner.ID]string{"reseller-nl": "120.00", "sub-utrecht": "180.00", "platform": "300.00"})
	requireKind(t, p.Entries, settlement.KindReserve, map[partner.ID]string{"sub-utrecht": "18.00"})
	for _, e := range p.Entries {
		if e.Kind == settlement.KindRelease {
			require.Equal(t, date("2026-06-08"), e.Date, e.ID)
		}
	}
	disputeRoundTrip(t, p.State)
	entries = append(entries, p.Entries...)
	_, err = pay(p.State, "PAY-2", "0.01", "2026-03-11")
	requireDisputedAmount(t, err, true, "400.00", "0.00", "0.01")
	require.EqualError(t, err, `settlement: collection "PAY-2" line "L1": line is disputed: a payment of EUR 0.01 reaches into the EUR 400.00 disputed on line "L1", which has EUR 0.00 undisputed unpaid`)

	_, err = s.Settle(ctx, p.State, []settlement.Line{credit("C0", "L1", "-600.01", "2026-03-15")})
	requireDisputedAmount(t, err, false, "400.00", "600.00", "600.01")
	c, err := s.Settle(ctx, p.State, []settlement.Line{credit("C1", "L1", "-100.00", "2026-03-15")})
	require.NoError(t, err)
	requireKind(t, c.Entries, settlement.KindClawback, map[partner.ID]string{"reseller-nl": "-20.00", "sub-utrecht": "-30.00", "platform": "-50.00"})
	disputeRoundTrip(t, c.State)
	entries = append(entries, c.Entries...)
	_, err = s.Settle(ctx, c.State, []settlement.Line{credit("C2", "L1", "-500.01", "2026-03-16")})
	requireDisputedAmount(t, err, false, "400.00", "500.00", "500.01")
	ll, _ := c.State.Line("L1")
	require.True(t, ll.Disputed)
	requireMoney(t, ll.DisputedAmount, eur("400.00"))

	r, err := s.ResolveDispute(c.State, "L1", false, date("2026-03-20"))
	require.NoError(t, err)
	requireKind(t, r.Entries, settlement.KindClawback, map[partner.ID]string{"reseller-nl": "-80.00", "sub-utrecht": "-120.00", "platform": "-200.00"})
	disputeRoundTrip(t, r.State)
	entries = append(entries, r.Entries...)
	ll, _ = r.State.Line("L1")
	owed, err := ll.Collection.Owed()
	require.NoError(t, err)
	requireMoney(t, owed, eur("0.00"), "owed")
	refund, err := ll.Collection.RefundDue()
	require.NoError(t, err)
	requireMoney(t, refund, eur("100.00"), "refund due")

	// Every party nets its share of the 500.00 the customer finally paid,
	// the seller's reserve released on June 8.
	sts := closingsThrough(t, entries, "2026-07-01")
	sum := eur("0.00")
	for p, w := range map[partner.ID]string{"reseller-nl": "100.00", "sub-utrecht": "150.00", "platform": "250.00"} {
		requireMoney(t, sts[p], eur(w), p)
		sum = mustAdd(t, sum, sts[p])
	}
	requireMoney(t, sum, eur("500.00"), "what the customer finally paid")
}

// Won instead, the line stays owed 300.00 (the disputed 400.00 less the
// 100.00 the customer paid beyond the 500.00 left undisputed): the
// parties have 100.00 / 150.00 / 250.00 beyond what awaits, and the
// customer's payment of the 300.00 makes the rest payable: 180.00 /
// 270.00 / 450.00, the 900.00 the line is worth after the credit.
func TestDisputeAmountOpenWonThenPaid(t *testing.T) {
	s, entries, st := disputedOpen(t, "on_collection")
	p, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("600.00"), Invoice: "INV-D"})
	require.NoError(t, err)
	c, err := s.Settle(ctx, p.State, []settlement.Line{credit("C1", "L1", "-100.00", "2026-03-15")})
	require.NoError(t, err)
	r, err := s.ResolveDispute(c.State, "L1", true, date("2026-03-20"))
	require.NoError(t, err)
	require.Empty(t, r.Entries)
	ll, _ := r.State.Line("L1")
	owed, err := ll.Collection.Owed()
	require.NoError(t, err)
	requireMoney(t, owed, eur("300.00"), "owed")
	f, err := s.Collect(r.State, settlement.Collection{ID: "PAY-2", Date: date("2026-03-25"), Amount: eur("300.00"), Invoice: "INV-D"})
	require.NoError(t, err)
	requireKind(t, f.Entries, settlement.KindCollected, map[partner.ID]string{"reseller-nl": "60.00", "sub-utrecht": "90.00", "platform": "150.00"})
	entries = append(append(append(append(entries, p.Entries...), c.Entries...), r.Entries...), f.Entries...)
	sts := closingsThrough(t, entries, "2026-07-01")
	for p, w := range map[partner.ID]string{"reseller-nl": "180.00", "sub-utrecht": "270.00", "platform": "450.00"} {
		requireMoney(t, sts[p], eur(w), p)
	}
}

// On a line payable on settlement the dispute holds 80.00 / 120.00 (the
// seller's leaf reserve holds 30.00 of it until May 30, which the dispute
// holds from then on) / 200.00; a credit of 100.00 of the undisputed part
// reverses 20.00 / 30.00 / 50.00 of what each has beyond its share, the
// holds untouched; one of more than the 500.00 left is refused. Lost,
// the shares are clawed back and each party nets its share of 500.00.
func TestDisputeAmountOpenCreditOnSettlement(t *testing.T) {
	s, entries, st := disputedOpen(t, "on_settlement")
	requireKind(t, entries, settlement.KindHold, map[partner.ID]string{"reseller-nl": "80.00", "sub-utrecht": "120.00", "platform": "200.00"})
	c, err := s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-100.00", "2026-03-15")})
	require.NoError(t, err)
	requireKind(t, c.Entries, settlement.KindClawback, map[partner.ID]string{"reseller-nl": "-20.00", "sub-utrecht": "-30.00", "platform": "-50.00"})
	disputeRoundTrip(t, c.State)
	_, err = s.Settle(ctx, c.State, []settlement.Line{credit("C2", "L1", "-500.01", "2026-03-16")})
	requireDisputedAmount(t, err, false, "400.00", "500.00", "500.01")
	r, err := s.ResolveDispute(c.State, "L1", false, date("2026-03-20"))
	require.NoError(t, err)
	requireKind(t, r.Entries, settlement.KindClawback, map[partner.ID]string{"reseller-nl": "-80.00", "sub-utrecht": "-120.00", "platform": "-200.00"})
	entries = append(append(entries, c.Entries...), r.Entries...)
	sts := closingsThrough(t, entries, "2026-07-01")
	for p, w := range map[partner.ID]string{"reseller-nl": "100.00", "sub-utrecht": "150.00", "platform": "250.00"} {
		requireMoney(t, sts[p], eur(w), p)
	}
}

// A whole-line dispute (Dispute) is the same rule with everything
// disputed: nothing is left undisputed, so a payment and a credit are
// both refused, as before (plain ErrDisputed).
func TestDisputeWholeStillRefusesPaymentAndCredit(t *testing.T) {
	s := planSettler(t, disputeOpenPlan("on_collection"), loadNetwork(t))
	l := chainLine("L1", "1000.00", "2026-03-01")
	l.Invoice = "INV-D"
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	d, err := s.Dispute(res.State, "L1", date("2026-03-05"))
	require.NoError(t, err)
	_, err = s.Collect(d.State, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("1.00"), Lines: []settlement.LineID{"L1"}})
	require.ErrorIs(t, err, settlement.ErrDisputed)
	_, err = s.Settle(ctx, d.State, []settlement.Line{credit("C1", "L1", "-1.00", "2026-03-15")})
	require.ErrorIs(t, err, settlement.ErrDisputed)
}

// closingsThrough returns each party's closing balance on the entries
// from March 1, 2026 to day.
func closingsThrough(t *testing.T, entries []settlement.Entry, day string) map[partner.ID]ensemble.Money {
	t.Helper()
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date(day))})
	require.NoError(t, err)
	out := map[partner.ID]ensemble.Money{}
	for _, st := range sts {
		require.NoError(t, st.Check())
		out[st.Party] = st.Closing
	}
	return out
}

func mustAdd(t *testing.T, a, b ensemble.Money) ensemble.Money {
	t.Helper()
	s, err := a.Add(b)
	require.NoError(t, err)
	return s
}

// Property: on a line payable on collection (no tax) a dispute of an
// amount is opened, the customer pays part of what it does not dispute
// (before or after a credit of part of the undisputed amount), a cent
// beyond is refused as reaching into the amount, and the dispute is won
// or lost: the payments make payable exactly what was paid, the state
// reads back, and in the end the parties' balances (every reserve
// released) add up to what the customer paid less the refund due to it.
func TestPropertyDisputeAmountOpenAddsUp(t *testing.T) {
	net := loadNetwork(t)
	s := planSettler(t, disputeOpenPlan("on_collection"), net)
	rapid.Check(t, func(t *rapid.T) {
		basis := rapid.Int64Range(2, 500_000).Draw(t, "basis")
		l := chainLine("L1", cents(basis).AmountString(), "2026-03-01")
		l.Invoice = "INV-D"
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		entries := res.Entries
		st := res.State
		if pre := rapid.Int64Range(0, basis-1).Draw(t, "paid.before"); pre > 0 {
			p, err := s.Collect(st, settlement.Collection{ID: "PAY-0", Date: date("2026-03-02"), Amount: cents(pre), Invoice: "INV-D"})
			require.NoError(t, err)
			entries, st = append(entries, p.Entries...), p.State
		}
		disputed := rapid.Int64Range(1, basis-1).Draw(t, "disputed")
		d, err := s.DisputeAmount(st, "L1", cents(disputed), date("2026-03-05"))
		require.NoError(t, err)
		entries, st = append(entries, d.Entries...), d.State
		pay := func(day string, id string) {
			ll, _ := st.Line("L1")
			owed, err := ll.Collection.Owed()
			require.NoError(t, err)
			undisputed := max(0, minorOf(owed)-disputed)
			_, err = s.Collect(st, settlement.Collection{ID: id + "-over", Date: date(day), Amount: cents(undisputed + 1), Lines: []settlement.LineID{"L1"}})
			if undisputed+1 > minorOf(owed) { // beyond what is owed at all
				require.ErrorIs(t, err, settlement.ErrOverCollection)
			} else {
				var de *settlement.DisputedAmountError
				require.ErrorAs(t, err, &de)
				requireMoney(t, de.Undisputed, cents(undisputed), "undisputed")
			}
			if undisputed == 0 {
				return
			}
			x := rapid.Int64Range(1, undisputed).Draw(t, id)
			p, err := s.Collect(st, settlement.Collection{ID: id, Date: date(day), Amount: cents(x), Invoice: "INV-D"})
			require.NoError(t, err)
			requireMoney(t, sumEntries(p.Entries, settlement.KindCollected), cents(x), "made payable")
			disputeRoundTrip(t, p.State)
			entries, st = append(entries, p.Entries...), p.State
		}
		credit := func(day string, id string) {
			ll, _ := st.Line("L1")
			left := minorOf(ll.Basis) - minorOf(ll.Credited) - disputed
			_, err := s.Settle(ctx, st, []settlement.Line{creditOf(id+"-over", left+1, day)})
			require.ErrorIs(t, err, settlement.ErrDisputed)
			if left == 0 {
				return
			}
			c, err := s.Settle(ctx, st, []settlement.Line{creditOf(id, rapid.Int64Range(1, left).Draw(t, id), day)})
			require.NoError(t, err)
			disputeRoundTrip(t, c.State)
			entries, st = append(entries, c.Entries...), c.State
		}
		if rapid.Bool().Draw(t, "credit.first") {
			credit("2026-03-08", "C1")
			pay("2026-03-10", "PAY-1")
		} else {
			pay("2026-03-10", "PAY-1")
			credit("2026-03-12", "C1")
		}
		r, err := s.ResolveDispute(st, "L1", rapid.Bool().Draw(t, "won"), date("2026-03-20"))
		require.NoError(t, err)
		disputeRoundTrip(t, r.State)
		entries = append(entries, r.Entries...)
		ll, _ := r.State.Line("L1")
		refund, err := ll.Collection.RefundDue()
		require.NoError(t, err)
		var sum int64
		for _, m := range closingsThroughRapid(t, entries, "2026-12-31") {
			sum += minorOf(m)
		}
		require.Equal(t, minorOf(ll.Collection.Collected)-minorOf(refund), sum, "the parties' balances against what the customer paid less its refund")
	})
}

// cents is n cents of EUR.
func cents(n int64) ensemble.Money { return ensemble.MoneyFromMinor(n, eur("0").Currency()) }

// creditOf is a credit note of n cents of L1.
func creditOf(id string, n int64, day string) settlement.Line {
	return credit(id, "L1", cents(-n).AmountString(), day)
}

// closingsThroughRapid is closingsThrough under rapid.
func closingsThroughRapid(t *rapid.T, entries []settlement.Entry, day string) map[partner.ID]ensemble.Money {
	sts, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-03-01"), date(day))})
	require.NoError(t, err)
	out := map[partner.ID]ensemble.Money{}
	for _, st := range sts {
		require.NoError(t, st.Check())
		out[st.Party] = st.Closing
	}
	return out
}

// A state of a line a dispute of an amount holds, paid while it was open,
// is refused when edited by hand: a part awaiting less than what the
// customer still owes of the basis (parties paid before the customer
// paid), a hold moved to a part beyond what it has, or holds not adding up
// to the amount after a credit of the undisputed part. Before, a line so
// disputed on collection was not checked at all against what it awaits.
func TestDisputeAmountOpenDecodeRefusesEdits(t *testing.T) {
	s, _, st := disputedOpen(t, "on_collection")
	p, err := s.Collect(st, settlement.Collection{ID: "PAY-1", Date: date("2026-03-10"), Amount: eur("300.00"), Lines: []settlement.LineID{"L1"}})
	require.NoError(t, err)
	js, err := json.Marshal(p.State)
	require.NoError(t, err)
	// The reseller awaits 140.00 (200.00 less the 60.00 paid): 100.00
	// would make 40.00 payable that the customer did not pay.
	from := `"awaiting":{"amount":"140.00","currency":"EUR"}`
	require.Contains(t, string(js), from)
	bad := strings.Replace(string(js), from, `"awaiting":{"amount":"100.00","currency":"EUR"}`, 1)
	var back settlement.State
	require.ErrorIs(t, json.Unmarshal([]byte(bad), &back), settlement.ErrCorruptState)

	s, _, st = disputedOpen(t, "on_settlement")
	c, err := s.Settle(ctx, st, []settlement.Line{credit("C1", "L1", "-100.00", "2026-03-15")})
	require.NoError(t, err)
	js, err = json.Marshal(c.State)
	require.NoError(t, err)
	for _, edit := range []struct{ from, to string }{
		{`"held":{"amount":"80.00","currency":"EUR"}`, `"held":{"amount":"79.00","currency":"EUR"}`},
		{`"disputed_amount":{"amount":"400.00","currency":"EUR"}`, `"disputed_amount":{"amount":"401.00","currency":"EUR"}`},
	} {
		require.Contains(t, string(js), edit.from)
		bad := strings.Replace(string(js), edit.from, edit.to, 1)
		var back settlement.State
		require.ErrorIs(t, json.Unmarshal([]byte(bad), &back), settlement.ErrCorruptState, edit.to)
	}
	disputeRoundTrip(t, c.State)
}
