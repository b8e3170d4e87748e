package settlement_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// dirtyEntry returns an entry with every field set, as a buffer a host
// reuses holds them; it fails when a field is left zero (an Entry field
// added since), so that the tests using it cover every field.
func dirtyEntry(t *testing.T) settlement.Entry {
	t.Helper()
	at := time.Date(2020, 2, 2, 0, 0, 0, 0, time.UTC)
	ref := ensemble.Ref{Kind: "dirty", ID: "dirty", Version: "9"}
	usd := ensemble.MustCurrency("USD")
	e := settlement.Entry{ID: "dirty", Line: "dirty", Kind: settlement.KindHold, Party: "dirty", Role: "dirty",
		Amount: ensemble.MoneyFromMinor(999, usd), Date: at, Plan: ref, Node: "dirty", Share: "dirty", Rules: []ensemble.Ref{ref},
		Service: ensemble.Period{Start: at, End: at.AddDate(0, 1, 0)}, Offer: catalog.Pin{Offer: "dirty", Version: 9},
		Route: partner.RouteReferral, Seller: "dirty", Reverses: "dirty", Note: "dirty", Approver: "dirty",
		Conversion: &settlement.Conversion{From: ensemble.MoneyFromMinor(1, usd)}, Trace: []ensemble.Ref{ref}}
	v := reflect.ValueOf(e)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("dirtyEntry leaves Entry.%s zero: set it, so that the tests reusing buffers cover it", v.Type().Field(i).Name)
		}
	}
	return e
}

// TestAppendSettleReusesABufferWhole settles the realistic plan's lines
// (cumulative take rate, an amount rule, reserves, referrals) with Settle
// and with AppendSettle into buffers a host reuses: one full of entries
// with every field set, whose slots AppendSettle writes over, and one
// holding earlier entries, which it keeps and appends after. The entries
// and states are the same; on error, AppendSettle returns the buffer as
// given.
func TestAppendSettleReusesABufferWhole(t *testing.T) {
	s := planSettler(t, benchPlanRealistic, benchNetwork(t), benchRules, benchRealisticRules)
	lines := benchLines(60)
	want, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	dirty := dirtyEntry(t)
	buf := make([]settlement.Entry, 2*len(want.Entries))
	for i := range buf {
		buf[i] = dirty
	}

	got, st, err := s.AppendSettle(ctx, buf[:0], settlement.State{}, lines)
	require.NoError(t, err)
	requireSameEntriesT(t, got, want.Entries)
	require.Equal(t, string(mustJSON(t, want.State)), string(mustJSON(t, st)))
	require.Same(t, &buf[0], &got[0], "the buffer is written over, not replaced")

	kept := []settlement.Entry{dirty, dirty}
	got, _, err = s.AppendSettle(ctx, kept, settlement.State{}, lines)
	require.NoError(t, err)
	requireSameEntriesT(t, got[:2], kept)
	requireSameEntriesT(t, got[2:], want.Entries)

	again := buf[:3]
	got, st, err = s.AppendSettle(ctx, again, want.State, lines[:1])
	require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	require.Len(t, got, 3)
	require.Same(t, &again[0], &got[0])
	require.Zero(t, st.Len())
}

// TestSettleReturnsEntriesOfTheirOwn settles one line per Settle call, as
// a host settling each invoice line as it is issued does (whose entries
// are windows of a chunk the settler fills call after call), and a call
// failing in between: each call's entries stay what they were when it
// returned, whatever later calls, or a host appending to or writing over
// an earlier call's entries, do.
func TestSettleReturnsEntriesOfTheirOwn(t *testing.T) {
	s := planSettler(t, benchPlanRealistic, benchNetwork(t), benchRules, benchRealisticRules)
	lines := benchLines(40) // about 330 entries: several chunks
	var results [][]settlement.Entry
	var copies [][]settlement.Entry
	for i := range lines {
		res, err := s.Settle(ctx, settlement.State{}, lines[i:i+1])
		require.NoError(t, err)
		require.Equal(t, len(res.Entries), cap(res.Entries), "appending to a call's entries copies them")
		results = append(results, res.Entries)
		c := make([]settlement.Entry, len(res.Entries))
		for j := range res.Entries {
			c[j] = res.Entries[j].Clone()
		}
		copies = append(copies, c)
		// The host appends to and writes over the entries of the call
		// before; a failing call (the line again, in the state that holds
		// it) writes entries it does not return.
		if i > 0 {
			prev := results[i-1]
			_ = append(prev, dirtyEntry(t), dirtyEntry(t))
			prev[0].Note = "written by the host"
			copies[i-1][0].Note = "written by the host"
		}
		_, err = s.Settle(ctx, res.State, lines[i:i+1])
		require.ErrorIs(t, err, settlement.ErrAlreadySettled)
	}
	for i := range results {
		requireSameEntriesT(t, results[i], copies[i])
	}
}
