package settlement_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// partlyLostBundle settles a EUR 2,000.00 bundle line L1 (gpuco 300.00,
// storeco 200.00, platform 600.00, reseller 900.00), disputes it and
// loses 400.00 of it in proportion: 60.00, 40.00, 120.00, 180.00 clawed
// back.
func partlyLostBundle(t *testing.T) (*settlement.Settler, []settlement.Entry, settlement.State) {
	t.Helper()
	s := planSettler(t, bundlePlan, loadNetwork(t))
	l := bundleLine("L1")
	l.Amount = eur("2000.00")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
	require.NoError(t, err)
	d, err := s.Dispute(res.State, "L1", date("2026-03-10"))
	require.NoError(t, err)
	r, err := s.ResolveDisputeWith(d.State, "L1", settlement.DisputeOutcome{Lost: eur("400.00")}, date("2026-03-25"))
	require.NoError(t, err)
	requireParties(t, r.Entries, map[partner.ID]string{"gpuco": "-60.00", "storeco": "-40.00", "platform": "-120.00", "reseller-nl": "-180.00"})
	all := append(append(append([]settlement.Entry{}, res.Entries...), d.Entries...), r.Entries...)
	return s, all, r.State
}

// A new-user trial: a dispute of 400.00 of a 2,000.00 line lost in part,
// then the customer's credit note for the same 400.00 (the refund's
// accounting document, which FromInvoice turns into a credit line of the
// disputed line) settled as well, clawed the partners back 800.00 for a
// 400.00 refund, without an error. The credit note now says it documents
// the lost dispute (Line.Dispute): the partners give back 400.00 once, and
// a credit note that does not say is refused, naming the line and dispute.
func TestDisputeLostInPartAndItsCreditNoteClawBackOnce(t *testing.T) {
	s, all, st := partlyLostBundle(t)
	requireMoney(t, sumEntries(all, settlement.KindClawback), eur("-400.00"))

	// The credit note, as FromInvoice builds it, says nothing: refused.
	note := credit("CN1", "L1", "-400.00", "2026-03-26")
	_, err := s.Settle(ctx, st, []settlement.Line{note})
	require.ErrorIs(t, err, settlement.ErrUndocumentedDispute)
	var le *settlement.LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, settlement.LineID("CN1"), le.Line)
	require.ErrorContains(t, err, `credits "L1"`)
	require.ErrorContains(t, err, "L1#dispute.1")
	require.ErrorContains(t, err, "400.00")

	// Saying it documents the dispute, it reverses nothing more: 400.00 in
	// all, not 800.00.
	note.Dispute = settlement.DisputeDocuments
	res, err := s.Settle(ctx, st, []settlement.Line{note})
	require.NoError(t, err)
	require.Empty(t, res.Entries)
	all = append(all, res.Entries...)
	requireMoney(t, sumEntries(all, settlement.KindClawback), eur("-400.00"))
	ll, ok := res.State.Line("L1")
	require.True(t, ok)
	requireMoney(t, ll.Credited, eur("400.00"))
	requireMoney(t, ll.Lost, eur("400.00"))
	requireMoney(t, ll.Documented, eur("400.00"))
	require.Equal(t, 1, ll.LostDispute)

	// Sent again, it is settled already (not a conflict); the state reads
	// back byte for byte, in JSON and binary.
	_, err = s.Settle(ctx, res.State, []settlement.Line{note})
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	require.NotErrorIs(t, err, settlement.ErrLineConflict)
	requireBothRoundTrips(t, res.State)

	// Documenting more than the dispute lost is refused.
	over := credit("CN2", "L1", "-0.01", "2026-03-27")
	over.Dispute = settlement.DisputeDocuments
	_, err = s.Settle(ctx, res.State, []settlement.Line{over})
	require.ErrorIs(t, err, settlement.ErrOverDocumented)

	// A goodwill credit after it, the dispute documented, reverses as any
	// credit.
	gw := credit("GW1", "L1", "-100.00", "2026-04-02")
	g, err := s.Settle(ctx, res.State, []settlement.Line{gw})
	require.NoError(t, err)
	requireParties(t, g.Entries, map[partner.ID]string{"gpuco": "-15.00", "storeco": "-10.00", "platform": "-30.00", "reseller-nl": "-45.00"})
}

// A goodwill credit besides a lost chargeback, before its credit note,
// says so (DisputeSeparate) and reverses; the dispute stays undocumented
// until its credit note comes.
func TestSeparateCreditBesideALostDisputeReverses(t *testing.T) {
	s, _, st := partlyLostBundle(t)
	gw := credit("GW1", "L1", "-100.00", "2026-03-26")
	gw.Dispute = settlement.DisputeSeparate
	g, err := s.Settle(ctx, st, []settlement.Line{gw})
	require.NoError(t, err)
	requireParties(t, g.Entries, map[partner.ID]string{"gpuco": "-15.00", "storeco": "-10.00", "platform": "-30.00", "reseller-nl": "-45.00"})

	_, err = s.Settle(ctx, g.State, []settlement.Line{credit("GW2", "L1", "-50.00", "2026-03-27")})
	require.ErrorIs(t, err, settlement.ErrUndocumentedDispute)

	note := credit("CN1", "L1", "-400.00", "2026-03-28")
	note.Dispute = settlement.DisputeDocuments
	n, err := s.Settle(ctx, g.State, []settlement.Line{note})
	require.NoError(t, err)
	require.Empty(t, n.Entries)
	ll, _ := n.State.Line("L1")
	requireMoney(t, ll.Credited, eur("500.00"))
	requireBothRoundTrips(t, n.State)

	// A sale documents no dispute; a documenting credit names no bearer.
	sale := bundleLine("L2")
	sale.Dispute = settlement.DisputeSeparate
	_, err = s.Settle(ctx, n.State, []settlement.Line{sale})
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
	borne := credit("CN3", "L1", "-1.00", "2026-03-28")
	borne.Dispute, borne.Bearer = settlement.DisputeDocuments, settlement.Bearer{Party: "reseller-nl"}
	_, err = s.Settle(ctx, n.State, []settlement.Line{borne})
	require.ErrorIs(t, err, settlement.ErrInvalidLine)
}

// A dispute lost in full and its credit note: the note documents it and
// moves nothing (it was ErrOverCredit, refused by accident).
func TestDisputeLostInFullThenItsCreditNote(t *testing.T) {
	s, res := settledBundle(t)
	d, err := s.Dispute(res.State, "L1", date("2026-03-10"))
	require.NoError(t, err)
	r, err := s.ResolveDispute(d.State, "L1", false, date("2026-03-25"))
	require.NoError(t, err)
	note := credit("CN1", "L1", "-1000.00", "2026-03-26")
	_, err = s.Settle(ctx, r.State, []settlement.Line{note})
	require.ErrorIs(t, err, settlement.ErrUndocumentedDispute)
	note.Dispute = settlement.DisputeDocuments
	n, err := s.Settle(ctx, r.State, []settlement.Line{note})
	require.NoError(t, err)
	require.Empty(t, n.Entries)
	note.ID, note.Dispute = "CN2", settlement.DisputeSeparate
	_, err = s.Settle(ctx, n.State, []settlement.Line{note})
	require.ErrorIs(t, err, settlement.ErrOverCredit)
}

// A state written without what credits documented (JSON without
// "documented", as before this field) reads all its lines lost as
// undocumented, never guessed documented: a credit of such a line must say
// what it is.
func TestStateWithoutDocumentedReadsLossesUndocumented(t *testing.T) {
	s, _, st := partlyLostBundle(t)
	note := credit("CN1", "L1", "-400.00", "2026-03-26")
	note.Dispute = settlement.DisputeDocuments
	n, err := s.Settle(ctx, st, []settlement.Line{note})
	require.NoError(t, err)
	b, err := json.Marshal(n.State)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	for _, l := range doc["lines"].([]any) {
		delete(l.(map[string]any), "documented")
		delete(l.(map[string]any), "lost_dispute")
	}
	for _, c := range doc["credits"].([]any) {
		delete(c.(map[string]any), "documented")
	}
	b, err = json.Marshal(doc)
	require.NoError(t, err)
	var old settlement.State
	require.NoError(t, json.Unmarshal(b, &old))
	_, err = s.Settle(ctx, old, []settlement.Line{credit("GW1", "L1", "-10.00", "2026-03-27")})
	require.ErrorIs(t, err, settlement.ErrUndocumentedDispute)
	require.ErrorContains(t, err, "whose lost disputes took back EUR 400.00")
	_, err = s.Settle(ctx, n.State, []settlement.Line{credit("GW1", "L1", "-10.00", "2026-03-27")})
	require.NoError(t, err)
}

// A state of binary version 10, written before credits documented lost
// disputes, holding L1 of partlyLostBundle: its 400.00 lost reads as
// undocumented, so the credit note must say it documents it, and then
// reverses nothing.
func TestVersion10StateDocumentsItsLostDisputeOnce(t *testing.T) {
	s := planSettler(t, bundlePlan, loadNetwork(t))
	st := versionedState(t, 10)
	ll, ok := st.Line("L1")
	require.True(t, ok)
	requireMoney(t, ll.Lost, eur("400.00"))
	require.True(t, ll.Documented.IsZero())
	require.Zero(t, ll.LostDispute)
	note := credit("CN1", "L1", "-400.00", "2026-03-26")
	_, err := s.Settle(ctx, st, []settlement.Line{note})
	require.ErrorIs(t, err, settlement.ErrUndocumentedDispute)
	note.Dispute = settlement.DisputeDocuments
	n, err := s.Settle(ctx, st, []settlement.Line{note})
	require.NoError(t, err)
	require.Empty(t, n.Entries)
	requireBothRoundTrips(t, n.State)
}

// requireBothRoundTrips requires st to read back from its JSON and its
// binary form as the same bytes.
func requireBothRoundTrips(t *testing.T, st settlement.State) {
	t.Helper()
	j, err := json.Marshal(st)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(j, &back))
	j2, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(j), string(j2))
	bin, err := st.MarshalBinary()
	require.NoError(t, err)
	var fromBin settlement.State
	require.NoError(t, fromBin.UnmarshalBinary(bin))
	j3, err := json.Marshal(fromBin)
	require.NoError(t, err)
	require.Equal(t, string(j), string(j3))
}
