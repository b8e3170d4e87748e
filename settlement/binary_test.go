package settlement_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// binaryHistory settles a random history of historyPlans (sales in three
// currencies, credits, a dispute) and returns its entries and state.
func binaryHistory(t *rapid.T, s *settlement.Settler) ([]settlement.Entry, settlement.State) {
	var lines []settlement.Line
	for i := range rapid.IntRange(0, 8).Draw(t, "sales") {
		l := drawHistorySale(t, fmt.Sprintf("A%d", i))
		if rapid.IntRange(0, 4).Draw(t, fmt.Sprintf("A%d.service", i)) == 0 {
			l.Service = ensemble.Period{Start: l.Date, End: l.Date.AddDate(0, 1, 0)}
		}
		lines = append(lines, l)
	}
	lines = append(lines, drawCredits(t, settlement.State{}, nil, lines, "C")...)
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(t, err)
	entries, st := res.Entries, res.State
	if len(lines) > 0 && rapid.Bool().Draw(t, "dispute") {
		d, err := s.Dispute(st, lines[0].ID, date("2027-09-01"))
		if err == nil {
			entries, st = append(entries, d.Entries...), d.State
		}
	}
	return entries, st
}

// TestPropertyBinaryRoundTrips: a state read back from its binary form
// writes the same JSON, byte for byte, and entries come back equal in
// every field (amounts by Equal, instants with their zone); both forms
// are smaller than JSON.
func TestPropertyBinaryRoundTrips(t *testing.T) {
	s := historySettler(t)
	rapid.Check(t, func(t *rapid.T) {
		entries, st := binaryHistory(t, s)
		b, err := st.MarshalBinary()
		require.NoError(t, err)
		var back settlement.State
		require.NoError(t, back.UnmarshalBinary(b))
		js := mustJSON(t, st)
		require.Equal(t, string(js), string(mustJSON(t, back)))
		if st.Len() > 0 {
			require.Less(t, len(b), len(js))
		}
		// An adjustment and a payout in another zone and currency, with a
		// conversion and an amount beyond int64.
		zone := time.FixedZone("CET", 3600)
		huge, err := ensemble.NewMoney("123456789012345678901234.5", "EUR")
		require.NoError(t, err)
		entries = append(entries, settlement.Entry{ID: "adjustment:a1", Kind: settlement.KindAdjustment, Party: "reseller-nl", Amount: huge,
			Date: date("2027-01-02").In(zone), Note: "fix", Approver: "ops"},
			settlement.Entry{ID: "payout:p1", Kind: settlement.KindPayout, Party: "reseller-nl", Amount: mustUSD("10.00"), Date: date("2027-01-03"),
				Conversion: &settlement.Conversion{From: eur("9.00"), Rate: ensemble.MustRatio("10/9"), Mode: ensemble.RoundHalfEven, To: mustUSD("10.00")}})
		eb, err := settlement.EncodeEntries(entries)
		require.NoError(t, err)
		got, err := settlement.DecodeEntries(eb)
		require.NoError(t, err)
		if d := gocmp.Diff(entries, got, cmpOpts...); d != "" {
			t.Fatalf("entries differ (-written +read):\n%s", d)
		}
		for i := range got {
			require.Equal(t, entries[i].Date.String(), got[i].Date.String(), "the zone too")
		}
		require.Less(t, len(eb), len(mustJSON(t, entries)))
	})
}

// TestBinaryDecodeRefusesBadBlobs: every strict prefix of a blob, another
// kind or version, trailing bytes and a blob whose state breaks an
// invariant are refused with typed errors, and leave the state as it was.
func TestBinaryDecodeRefusesBadBlobs(t *testing.T) {
	_, st := netState(t, "rolling_12_months")
	b, err := st.MarshalBinary()
	require.NoError(t, err)
	res, err := newSettler(t).Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "10.00", "2026-03-01")})
	require.NoError(t, err)
	eb, err := settlement.EncodeEntries(res.Entries)
	require.NoError(t, err)
	for n := range len(b) {
		var got settlement.State
		err := got.UnmarshalBinary(b[:n])
		require.ErrorIs(t, err, settlement.ErrCorruptState, "prefix %d", n)
		var de *ensemble.DecodeError
		require.ErrorAs(t, err, &de, "prefix %d", n)
		require.Equal(t, "state", de.Subject)
		require.Zero(t, got.Len())
	}
	for n := range len(eb) {
		_, err := settlement.DecodeEntries(eb[:n])
		require.ErrorIs(t, err, settlement.ErrCorruptEntries, "prefix %d", n)
	}
	tests := []struct {
		name string
		blob []byte
		want string
	}{
		{"entries as a state", eb, "not a blob of state"},
		{"a later version", append([]byte{b[0], settlement.BinaryVersion + 1}, b[2:]...), fmt.Sprintf("format version %d", settlement.BinaryVersion+1)},
		{"trailing bytes", append(append([]byte{}, b...), 0), "1 bytes after the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got settlement.State
			err := got.UnmarshalBinary(tt.blob)
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err = settlement.DecodeEntries(b)
	require.ErrorContains(t, err, "not a blob of entries")

	// A blob that reads but whose ledger does not add up: the decode checks
	// run. L1's basis is 1000 minor units (zigzag varint 0xd0 0x0f) and its
	// credited 0 follows: credit it 1001.
	one, err := res.State.MarshalBinary()
	require.NoError(t, err)
	i := bytes.Index(one, []byte{0xd0, 0x0f, 0x00})
	require.Positive(t, i)
	bad := append(append(append([]byte{}, one[:i+2]...), 0xd2, 0x0f), one[i+3:]...)
	var got settlement.State
	err = got.UnmarshalBinary(bad)
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	var se *settlement.StateError
	require.ErrorAs(t, err, &se)
	require.ErrorIs(t, err, settlement.ErrOverCredit)
	require.Equal(t, settlement.LineID("L1"), se.Line)
}

// FuzzStateBinary reads arbitrary bytes as a binary state: it never
// panics; what it refuses matches ErrCorruptState; what it reads writes
// the same blob again and reads back to the same JSON.
func FuzzStateBinary(f *testing.F) {
	s := historySettler(f)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "USD", "2026-03-02"), chainLine("L2", "10.00", "2026-03-03")})
	require.NoError(f, err)
	b, err := res.State.MarshalBinary()
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte{'s', 1, 0, 0, 0, 0})
	f.Add([]byte{})
	// L1's date moved to year 10000, which JSON cannot write.
	f.Add(bytes.Replace(b, binary.AppendVarint(nil, date("2026-03-02").Unix()), binary.AppendVarint(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()), 1))
	// L1's basis kind byte (after its plan ref, whose version is "1")
	// set to values no basis has.
	ll, _ := res.State.Line("L1")
	at := bytes.Index(b, []byte(ll.Plan.ID)) + len(ll.Plan.ID) + 3
	for _, v := range []byte{2, 7, 255} {
		m := bytes.Clone(b)
		m[at] = v
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		var st settlement.State
		if err := st.UnmarshalBinary(blob); err != nil {
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			return
		}
		again, err := st.MarshalBinary()
		require.NoError(t, err)
		var back settlement.State
		require.NoError(t, back.UnmarshalBinary(again))
		require.Equal(t, string(mustJSON(t, st)), string(mustJSON(t, back)))
	})
}

// FuzzEntriesBinary reads arbitrary bytes as binary entries: it never
// panics; what it refuses matches ErrCorruptEntries; what it reads writes
// as JSON (the binary form holds nothing JSON cannot), and encodes and
// decodes to equal entries.
func FuzzEntriesBinary(f *testing.F) {
	s := historySettler(f)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "USD", "2026-03-02"), chainLine("L2", "10.00", "2026-03-03")})
	require.NoError(f, err)
	b, err := settlement.EncodeEntries(res.Entries)
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte{'e', 1, 0})
	late := res.Entries[0]
	late.Date = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // an instant JSON cannot write
	b, err = settlement.EncodeEntries([]settlement.Entry{late})
	require.NoError(f, err)
	f.Add(b)
	// The first entry's kind byte (after its id's node path) set to values
	// no entry kind has.
	b, err = settlement.EncodeEntries(res.Entries[:1])
	require.NoError(f, err)
	at := bytes.Index(b, []byte(res.Entries[0].Node)) + len(res.Entries[0].Node)
	for _, v := range []byte{20, 200, 255} {
		m := bytes.Clone(b)
		m[at] = v
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		es, err := settlement.DecodeEntries(blob)
		if err != nil {
			require.ErrorIs(t, err, settlement.ErrCorruptEntries)
			return
		}
		_, err = json.Marshal(es)
		require.NoError(t, err, "entries that decode write as JSON")
		again, err := settlement.EncodeEntries(es)
		if err != nil {
			return // a ratio read that does not write again
		}
		back, err := settlement.DecodeEntries(again)
		require.NoError(t, err)
		if d := gocmp.Diff(es, back, cmpOpts...); d != "" {
			t.Fatalf("entries differ:\n%s", d)
		}
	})
}

// benchHistory settles the 10,000 lines of BenchmarkSettle through the
// realistic plan (5 parties a line over 1,000 partners) with a credit of
// every tenth line, half of its amount: the entries and the state a host
// keeps for a batch.
func benchHistory(b *testing.B) ([]settlement.Entry, settlement.State) {
	s := planSettler(b, benchPlanRealistic, benchNetwork(b), benchRules, benchRealisticRules)
	lines := benchLines(10_000)
	for i := 0; i < 10_000; i += 10 {
		l := lines[i]
		lines = append(lines, settlement.Line{ID: "C" + l.ID, Credits: l.ID, Date: l.Date.AddDate(0, 1, 0), Amount: ensemble.MoneyFromMinor(-minorOf(l.Amount)/2, l.Amount.Currency())})
	}
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(b, err)
	return res.Entries, res.State
}

// BenchmarkStateEncoding writes and reads the state of benchHistory (10,000
// ledger lines, 1,000 credits) as JSON and in the binary form, reporting
// the bytes per ledger line of each.
func BenchmarkStateEncoding(b *testing.B) {
	_, st := benchHistory(b)
	js, err := json.Marshal(st)
	require.NoError(b, err)
	bin, err := st.MarshalBinary()
	require.NoError(b, err)
	perLine := func(b *testing.B, n int) { b.ReportMetric(float64(n)/float64(st.Len()), "bytes/line") }
	b.Run("json/marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(st); err != nil {
				b.Fatal(err)
			}
		}
		perLine(b, len(js))
	})
	b.Run("json/unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var back settlement.State
			if err := json.Unmarshal(js, &back); err != nil {
				b.Fatal(err)
			}
		}
		perLine(b, len(js))
	})
	b.Run("binary/marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
		perLine(b, len(bin))
	})
	b.Run("binary/unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var back settlement.State
			if err := back.UnmarshalBinary(bin); err != nil {
				b.Fatal(err)
			}
		}
		perLine(b, len(bin))
	})
}

// BenchmarkEntryEncoding writes and reads the entries of benchHistory as
// JSON and in the binary form, reporting the bytes per entry of each.
func BenchmarkEntryEncoding(b *testing.B) {
	entries, _ := benchHistory(b)
	js, err := json.Marshal(entries)
	require.NoError(b, err)
	bin, err := settlement.EncodeEntries(entries)
	require.NoError(b, err)
	perEntry := func(b *testing.B, n int) { b.ReportMetric(float64(n)/float64(len(entries)), "bytes/entry") }
	b.Run("json/marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(entries); err != nil {
				b.Fatal(err)
			}
		}
		perEntry(b, len(js))
	})
	b.Run("json/unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var back []settlement.Entry
			if err := json.Unmarshal(js, &back); err != nil {
				b.Fatal(err)
			}
		}
		perEntry(b, len(js))
	})
	b.Run("binary/encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := settlement.EncodeEntries(entries); err != nil {
				b.Fatal(err)
			}
		}
		perEntry(b, len(bin))
	})
	b.Run("binary/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := settlement.DecodeEntries(bin); err != nil {
				b.Fatal(err)
			}
		}
		perEntry(b, len(bin))
	})
}

// TestBinaryCoversEveryField: the binary form writes every field of the
// JSON forms it encodes. A field added to one of these types fails here
// until MarshalBinary/UnmarshalBinary or EncodeEntries/DecodeEntries
// write and read it (and this list names it), so that no field is
// silently dropped on the way through a pipeline.
func TestBinaryCoversEveryField(t *testing.T) {
	written := map[reflect.Type][]string{
		reflect.TypeFor[settlement.LedgerLine]():       {"Line", "Plan", "BasisKind", "Date", "Basis", "Credited", "Disputed", "Disputes", "Offer", "Route", "Seller", "Trace", "Parts", "Service", "Facts", "Volumes", "Collection", "Receivable", "Lost", "FundedDiscounts", "Documented", "LostDispute", "UndocumentedOwed", "DisputedAmount"},
		reflect.TypeFor[settlement.LedgerCollection](): {"Invoice", "Total", "Collected", "WrittenOff", "Credited", "WriteOffClawback", "IDs", "Pending", "LentTo", "Unfunded", "SetOff"},
		reflect.TypeFor[settlement.LedgerPart]():       {"Entry", "Party", "Role", "Node", "Kind", "Amount", "Unreversed", "Held", "HeldByReserves", "HeldAtRelease", "Awaiting", "Reserve", "ReserveUntil", "Source", "Rate", "Funded", "CollectReserves", "Clawback"},
		reflect.TypeFor[settlement.LineVolume]():       {"Partner", "Window", "Year", "Month", "Amount", "Rate", "NetOfCredits"},
		reflect.TypeFor[settlement.VolumeState]():      {"Partner", "Currency", "Window", "Year", "Month", "Amount", "Points", "Retroactive"},
		reflect.TypeFor[settlement.VolumePoint]():      {"Date", "Amount", "Line"},
		reflect.TypeFor[settlement.RetroactivePaid]():  {"Plan", "Node", "Tier", "Base", "Rate"},
		reflect.TypeFor[settlement.CreditState]():      {"Line", "Credits", "Amount", "Bearer", "Documented"},
		reflect.TypeFor[settlement.PrepaidState]():     {"Commitment", "Earning"},
		reflect.TypeFor[settlement.PendingCredit]():    {"Credit", "Line", "Amount"},
		reflect.TypeFor[settlement.ReleaseHold]():      {"Amount", "Date", "Rolling"},
		reflect.TypeFor[settlement.Entry]():            {"ID", "Line", "Kind", "Party", "Role", "Amount", "Date", "Plan", "Node", "Share", "Rules", "Service", "Offer", "Route", "Seller", "Reverses", "Note", "Approver", "Conversion", "Trace"},
		reflect.TypeFor[settlement.Conversion]():       {"From", "Rate", "Mode", "To"},
		reflect.TypeFor[ensemble.ExchangeRate]():       {"From", "To", "Since", "Rate"},
		reflect.TypeFor[ensemble.Ref]():                {"Kind", "ID", "Version"},
		reflect.TypeFor[ensemble.Period]():             {"Start", "End"},
		reflect.TypeFor[catalog.Pin]():                 {"Offer", "Version"},
	}
	for typ, names := range written {
		var fields []string
		for i := range typ.NumField() {
			fields = append(fields, typ.Field(i).Name)
		}
		require.ElementsMatch(t, names, fields, "%s: the binary form writes %v", typ, names)
	}
}

// binaryEveryField settles a state and entries whose binary forms hold
// every enum the forms write: basis kinds, route kinds, part and entry
// kinds, volume windows, a bearer's shortfall and a conversion's rounding
// mode (a supplier cost owed in dollars).
func binaryEveryField(t *testing.T) (settlement.State, []settlement.Entry) {
	t.Helper()
	s := historySettler(t)
	l3 := chainLine("L3", "100.00", "2026-03-04")
	l3.SupplierCosts = []catalog.SupplierCost{{Supplier: "supplier-backup", Offer: "backup",
		Component: ensemble.Ref{Kind: catalog.RefComponent, ID: "c0", Version: "1"}, Cost: eur("9.00"),
		Source: mustUSD("10.00"), Rate: ensemble.MustRatio("0.9")}}
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{resold("L1", "1200.00", "USD", "2026-03-02"), chainLine("L2", "10.00", "2026-03-03"), l3})
	require.NoError(t, err)
	c, err := s.Settle(ctx, res.State, []settlement.Line{{ID: "C1", Credits: "L2", Date: date("2026-03-05"), Amount: eur("-1.00"),
		Bearer: settlement.Bearer{Party: "sub-utrecht", Shortfall: settlement.ShortfallProportional}}, credit("C3", "L3", "-50.00", "2026-03-05")})
	require.NoError(t, err)
	d, err := s.Dispute(c.State, "L1", date("2026-03-06"))
	require.NoError(t, err)
	// An entry of each kind, with and without a conversion.
	var es []settlement.Entry
	seen := map[string]bool{}
	for _, e := range append(append(res.Entries, c.Entries...), d.Entries...) {
		if k := fmt.Sprint(e.Kind, e.Conversion != nil); !seen[k] {
			seen[k] = true
			es = append(es, e)
		}
	}
	return d.State, es
}

// TestBinaryDecodeRefusesWhatJSONCannotHold changes every byte of a state
// blob and of an entries blob, one at a time, to values enums do not
// declare (2, 200) and to a byte that breaks UTF-8: each either is
// refused (ErrCorruptState, ErrCorruptEntries) or reads into a value that
// writes as JSON and reads back (entries: the same; a hostile test: a state blob whose basis
// kind byte was 7, and entries whose kind byte was 200, decoded, and could
// then not be written as JSON).
func TestBinaryDecodeRefusesWhatJSONCannotHold(t *testing.T) {
	st, entries := binaryEveryField(t)
	sb, err := st.MarshalBinary()
	require.NoError(t, err)
	eb, err := settlement.EncodeEntries(entries)
	require.NoError(t, err)
	for i := 2; i < len(sb); i++ {
		for _, v := range []byte{2, 200, 0xc3} {
			if sb[i] == v {
				continue
			}
			m := bytes.Clone(sb)
			m[i] = v
			var got settlement.State
			if err := got.UnmarshalBinary(m); err != nil {
				require.ErrorIs(t, err, settlement.ErrCorruptState)
				continue
			}
			js, err := json.Marshal(got)
			require.NoError(t, err, "state byte %d set to %d decodes, and does not write as JSON", i, v)
			var back settlement.State
			require.NoError(t, json.Unmarshal(js, &back), "state byte %d set to %d", i, v)
		}
	}
	for i := 2; i < len(eb); i++ {
		for _, v := range []byte{2, 200, 0xc3} {
			if eb[i] == v {
				continue
			}
			m := bytes.Clone(eb)
			m[i] = v
			got, err := settlement.DecodeEntries(m)
			if err != nil {
				require.ErrorIs(t, err, settlement.ErrCorruptEntries)
				continue
			}
			js, err := json.Marshal(got)
			require.NoError(t, err, "entries byte %d set to %d decode, and do not write as JSON", i, v)
			var back []settlement.Entry
			require.NoError(t, json.Unmarshal(js, &back), "entries byte %d set to %d", i, v)
			if d := gocmp.Diff(got, back, cmpOpts...); d != "" {
				t.Fatalf("entries byte %d set to %d read otherwise from their JSON:\n%s", i, v, d)
			}
		}
	}
}

// TestBinaryDecodeRefusesUnknownEnumBytes: an enum byte outside its
// table is an *ensemble.DecodeError at that byte naming the field.
func TestBinaryDecodeRefusesUnknownEnumBytes(t *testing.T) {
	s := newSettler(t)
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{chainLine("L1", "1000.00", "2026-03-01")})
	require.NoError(t, err)
	b, err := res.State.MarshalBinary()
	require.NoError(t, err)
	// 's' 6, one line: "L1", the plan ref ("plan", its id, "1"), then the basis kind.
	ll, _ := res.State.Line("L1")
	at := bytes.Index(b, []byte(ll.Plan.ID)) + len(ll.Plan.ID) + 3
	require.Equal(t, byte(settlement.BasisNet), b[at])
	b[at] = 7
	var st settlement.State
	err = st.UnmarshalBinary(b)
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	var de *ensemble.DecodeError
	require.ErrorAs(t, err, &de)
	require.Equal(t, int64(at), de.Offset)
	require.ErrorContains(t, err, "basis kind byte 7")

	eb, err := settlement.EncodeEntries(res.Entries[:1])
	require.NoError(t, err)
	// 'e' 1, one entry: its line ("L1"), its id (form 1, "L1" again by
	// number, the node path), then its kind.
	at = bytes.Index(eb, []byte(res.Entries[0].Node)) + len(res.Entries[0].Node)
	require.Equal(t, byte(res.Entries[0].Kind), eb[at])
	eb[at] = 200
	_, err = settlement.DecodeEntries(eb)
	require.ErrorIs(t, err, settlement.ErrCorruptEntries)
	require.ErrorAs(t, err, &de)
	require.Equal(t, int64(at), de.Offset)
	require.ErrorContains(t, err, "entry kind byte 200")
}
