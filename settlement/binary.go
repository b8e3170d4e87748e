package settlement

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// The compact binary encoding of a State and of entries, for hosts that
// move and keep many of them (a shard's state between batches, a
// pipeline's entries between stages). A blob starts with two bytes, a
// kind ('s' for a state, 'e' for entries) and the format version (18 for
// a state: version 1, whose ledger parts had no source, version 2, whose
// lines had no fingerprint of their facts, version 3, whose collections
// had no pending credits, version 4, which had no unfunded credits,
// version 5, whose open disputes did not record what reserves held,
// version 6, whose open disputes did not hold the reserves' releases
// (LedgerPart.HeldAtRelease), version 7, whose collections had no
// set-off, version 8, whose lines had no receivable, and version 9, whose
// parts had not what they funded of the line's discounts (LedgerPart.Funded:
// its credits reverse each part in proportion to what it has unreversed,
// as they did), and version 10, whose lines had not what credits
// documented of their lost disputes (LedgerLine.Documented: all they lost
// reads as undocumented) nor their last lost dispute, and version 11,
// which had no calendar_quarter or calendar_month windows (version 12
// writes a volume's Month after its Year for those windows only), and
// version 12, whose lines had not what their lost disputes took off what
// the customer owes that no credit note documents yet
// (LedgerLine.UndocumentedOwed: their documenting notes then leave what is
// owed as the disputes set it), and version 13, which wrote every volume
// a line added to whole (version 14 tags each: one of the line's seller
// in the line's currency, adding its basis to its date's period, is the
// tag and its window) and whose parts had not what the leaves' reserves
// hold of each payment on collection (LedgerPart.CollectReserves: a
// dispute of such a line holds all that was made payable, as it did), and
// version 14, whose open disputes had not what they dispute
// (LedgerLine.DisputedAmount: each disputes all its line has unreversed,
// as it did), and version 15, whose parts had no clawback window
// (LedgerPart.Clawback: reversed in proportion whatever their date, as
// they were), and version 16, whose volumes had not what retroactive
// shares paid on their window (VolumeState.Retroactive: written after a
// volume's points; a state of version 16 or before had no retroactive
// share), and version 17, which had no record of nodes paid once per
// customer (State.OncePaid: none), and version 18, whose retroactive
// records had not the rate their lines were paid (RetroactivePaid.Rate:
// written after Base, "" for none; nil: a true-up reads the tier's rate
// in the plan version settling the crossing line), are still read;
// 1 for entries);
// then integers as varints (amounts in minor units of the line's
// currency for a state), instants as seconds and nanoseconds, and every
// text once per blob: a string is written the first time with its bytes
// and then by its number (so plan ids, node paths, parties, roles,
// currencies and the node part of entry ids cost a byte or two).
//
// Decoding refuses anything that is not such a blob, whole: a truncated
// or garbled blob, trailing bytes, a version this package does not
// write, or a value the JSON form could not hold (an enum byte outside
// its table, such as a basis, entry, part or route kind; an instant
// outside the years 0 to 9999; a string that is not UTF-8), is an
// *ensemble.DecodeError (Subject "state" or "entries", Offset the byte at
// fault) matching ErrCorruptState or ErrCorruptEntries; a state that
// decodes runs every check State.UnmarshalJSON runs.

// ErrCorruptEntries is matched by every error DecodeEntries returns.
var ErrCorruptEntries = errors.New("settlement: corrupt entries")

const (
	binaryVersion  = 19 // of states: a blob of another version than 1 to 19 is refused
	entriesVersion = 1  // of entries, whose form version 2 did not change (read as 1 or 2; 3 and 4 are refused)
	kindState      = 's'
	kindEntries    = 'e'
)

// binWriter writes a blob.
type binWriter struct {
	b    []byte
	strs map[string]uint64 // the number of each string written, from 1
	err  error
}

func (w *binWriter) uvarint(x uint64) { w.b = binary.AppendUvarint(w.b, x) }
func (w *binWriter) varint(x int64)   { w.b = binary.AppendVarint(w.b, x) }
func (w *binWriter) byte(x uint8)     { w.b = append(w.b, x) }

func (w *binWriter) bool(x bool) {
	if x {
		w.byte(1)
	} else {
		w.byte(0)
	}
}

// str writes s: its number when written before, else 0, its length and
// its bytes.
func (w *binWriter) str(s string) {
	if n, ok := w.strs[s]; ok {
		w.uvarint(n)
		return
	}
	if w.strs == nil {
		w.strs = map[string]uint64{}
	}
	w.strs[s] = uint64(len(w.strs) + 1)
	w.uvarint(0)
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// id writes an entry id as its line part and the rest, split at the first
// ':', each a string the blob's other ids share.
func (w *binWriter) id(s string) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		w.byte(0)
		w.str(s)
		return
	}
	w.byte(1)
	w.str(s[:i])
	w.str(s[i+1:])
}

// time writes t: 0 for the zero instant, 1 for UTC, 2 and the zone's
// name and offset for any other; then seconds and nanoseconds.
func (w *binWriter) time(t time.Time) {
	switch name, off := t.Zone(); {
	case t.IsZero():
		w.byte(0)
		return
	case t.Location() == time.UTC:
		w.byte(1)
	default:
		w.byte(2)
		w.str(name)
		w.varint(int64(off))
	}
	w.varint(t.Unix())
	w.uvarint(uint64(t.Nanosecond()))
}

func (w *binWriter) period(p ensemble.Period) { w.time(p.Start); w.time(p.End) }

func (w *binWriter) ref(r ensemble.Ref) { w.str(string(r.Kind)); w.str(r.ID); w.str(r.Version) }

func (w *binWriter) refs(rs []ensemble.Ref) {
	w.uvarint(uint64(len(rs)))
	for _, r := range rs {
		w.ref(r)
	}
}

// money writes m exactly: its currency, exponent and coefficient.
func (w *binWriter) money(m ensemble.Money) {
	w.str(m.Currency().Key())
	d := m.Amount()
	w.varint(int64(d.Exponent()))
	c := d.Coefficient()
	if c.IsInt64() {
		w.byte(0)
		w.varint(c.Int64())
		return
	}
	w.byte(1)
	w.bool(c.Sign() < 0)
	abs := new(big.Int).Abs(c).Bytes()
	w.uvarint(uint64(len(abs)))
	w.b = append(w.b, abs...)
}

// units writes m, in cur (or zero), as minor units of cur.
func (w *binWriter) units(m ensemble.Money, cur ensemble.Currency) {
	if c := m.Currency(); !c.IsZero() && c != cur && w.err == nil {
		w.err = fmt.Errorf("%w: %s is not in %s", ErrCurrency, m, cur.Key())
	}
	u, err := m.MinorUnits()
	if err != nil && w.err == nil {
		w.err = err
	}
	w.varint(u)
}

func (w *binWriter) rate(r ensemble.ExchangeRate) {
	if r == (ensemble.ExchangeRate{}) {
		w.byte(0)
		return
	}
	w.byte(1)
	w.str(r.From.Key())
	w.str(r.To.Key())
	w.time(r.Since)
	w.ratio(r.Rate)
}

func (w *binWriter) ratio(r ensemble.Ratio) {
	b, err := r.MarshalText()
	if err != nil && w.err == nil {
		w.err = err
	}
	w.str(string(b))
}

// MarshalBinary writes the state in the compact binary form (see
// UnmarshalBinary): what MarshalJSON writes, in its order, with amounts
// in minor units of each line's or volume's currency. A ledger line of
// five parts takes about 100 bytes, against 1.3 KB of JSON
// (BenchmarkStateEncoding).
func (s State) MarshalBinary() ([]byte, error) {
	doc, err := s.exportJSON()
	if err != nil {
		return nil, err
	}
	w := &binWriter{b: []byte{kindState, binaryVersion}}
	w.uvarint(uint64(len(doc.Lines)))
	for i := range doc.Lines {
		w.ledgerLine(&doc.Lines[i])
	}
	w.uvarint(uint64(len(doc.Volumes)))
	for i := range doc.Volumes {
		v := &doc.Volumes[i]
		w.str(string(v.Partner))
		w.str(v.Currency.Key())
		w.byte(uint8(v.Window))
		w.varint(int64(v.Year))
		if v.Window.hasMonth() {
			w.varint(int64(v.Month)) // version 12
		}
		w.units(v.Amount, v.Currency)
		w.uvarint(uint64(len(v.Points)))
		for _, p := range v.Points {
			w.time(p.Date)
			w.units(p.Amount, v.Currency)
			w.str(string(p.Line))
		}
		w.uvarint(uint64(len(v.Retroactive))) // version 17
		for _, x := range v.Retroactive {
			w.str(x.Plan)
			w.str(x.Node)
			w.varint(int64(x.Tier))
			w.units(x.Base, v.Currency)
			if x.Rate == nil { // version 19
				w.str("")
			} else {
				w.ratio(*x.Rate)
			}
		}
	}
	w.uvarint(uint64(len(doc.Credits)))
	for _, c := range doc.Credits {
		w.str(string(c.Line))
		w.str(string(c.Credits))
		w.str(c.Amount.Currency().Key())
		w.units(c.Amount, c.Amount.Currency())
		w.bearer(c.Bearer)
		w.units(c.Documented, c.Amount.Currency()) // version 11
	}
	w.uvarint(uint64(len(doc.Prepaid)))
	for _, p := range doc.Prepaid {
		w.str(p.Commitment)
		w.byte(uint8(p.Earning))
	}
	w.uvarint(uint64(len(doc.Once))) // version 18
	for _, o := range doc.Once {
		w.str(string(o.Plan))
		w.str(o.Node)
		w.str(o.Customer)
		w.str(string(o.Line))
	}
	w.time(doc.PrunedBefore)
	if w.err != nil {
		return nil, fmt.Errorf("settlement: state: %w", w.err)
	}
	return w.b, nil
}

// Part entry ids, as the binary form spells them.
const (
	entryIsBase  = 0 // "line:node"
	entryIsNamed = 1 // "line:node/party"
	entryIsText  = 2 // anything else, written out
)

func (w *binWriter) ledgerLine(ll *LedgerLine) {
	cur := ll.Basis.Currency()
	w.str(string(ll.Line))
	w.ref(ll.Plan)
	w.byte(uint8(ll.BasisKind))
	w.time(ll.Date)
	w.str(cur.Key())
	w.units(ll.Basis, cur)
	w.units(ll.Credited, cur)
	d := uint64(ll.Disputes) << 1
	if ll.Disputes < 0 {
		d = 0
	}
	if ll.Disputed {
		d |= 1
	}
	w.uvarint(d)
	w.str(string(ll.Offer.Offer))
	w.varint(int64(ll.Offer.Version))
	w.byte(uint8(ll.Route))
	w.str(string(ll.Seller))
	w.refs(ll.Trace)
	w.period(ll.Service)
	w.units(ll.Lost, cur)
	facts, _ := parseFactPrint(ll.Facts) // checked when read back
	w.b = binary.LittleEndian.AppendUint64(w.b, uint64(facts))
	w.uvarint(uint64(len(ll.Parts)))
	for _, p := range ll.Parts {
		base := string(ll.Line) + ":" + p.Node
		switch string(p.Entry) {
		case base:
			w.byte(entryIsBase)
		case base + "/" + string(p.Party):
			w.byte(entryIsNamed)
		default:
			w.byte(entryIsText)
			w.str(string(p.Entry))
		}
		w.str(string(p.Party))
		w.str(p.Role)
		w.str(p.Node)
		w.byte(uint8(p.Kind))
		w.units(p.Amount, cur)
		w.units(p.Unreversed, cur)
		w.units(p.Held, cur)
		if ll.Disputed { // version 6: what reserves held when the dispute opened
			w.units(p.HeldByReserves, cur)
			// Version 7: what it holds from their releases on.
			w.uvarint(uint64(len(p.HeldAtRelease)))
			for _, h := range p.HeldAtRelease {
				w.units(h.Amount, cur)
				w.time(h.Date)
				w.bool(h.Rolling)
			}
		}
		w.units(p.Awaiting, cur)
		w.units(p.Reserve, cur)
		w.time(p.ReserveUntil)
		w.bool(!p.Source.IsZero())
		if !p.Source.IsZero() {
			w.money(p.Source)
			w.ratio(p.Rate)
		}
		w.units(p.Funded, cur) // version 10
	}
	w.uvarint(uint64(len(ll.Volumes)))
	for _, v := range ll.Volumes {
		// Version 14: a tag first. A volume of the line's seller, in the
		// line's currency, adding the line's basis to its date's period
		// (every line of a plan with a volume of sales writes one) is the
		// tag and the window: the rest reads from the line.
		if plainVolume(ll, &v) {
			tag := volumePlain
			if v.NetOfCredits {
				tag |= volumeNet
			}
			w.byte(tag)
			w.byte(uint8(v.Window))
			continue
		}
		w.byte(volumeWhole)
		w.str(string(v.Partner))
		w.byte(uint8(v.Window))
		w.varint(int64(v.Year))
		if v.Window.hasMonth() {
			w.varint(int64(v.Month)) // version 12
		}
		vc := v.Amount.Currency()
		w.str(vc.Key())
		w.units(v.Amount, vc)
		w.rate(v.Rate)
		w.bool(v.NetOfCredits)
	}
	w.collection(ll.Collection, cur)
	w.collection(ll.Receivable, cur) // version 9
	w.units(ll.FundedDiscounts, cur) // version 10
	w.units(ll.Documented, cur)      // version 11
	w.uvarint(uint64(max(ll.LostDispute, 0)))
	w.units(ll.UndocumentedOwed, cur) // version 13
	// Version 14: per part, what the leaf's reserve holds of each payment
	// on collection.
	for _, p := range ll.Parts {
		w.uvarint(uint64(len(p.CollectReserves)))
		for _, h := range p.CollectReserves {
			w.units(h.Amount, cur)
			w.time(h.Date)
		}
	}
	if ll.Disputed {
		w.units(ll.DisputedAmount, cur) // version 15
	}
	// Version 16: per part, its clawback window's days (0: none), then
	// its bearer.
	for _, p := range ll.Parts {
		if p.Clawback == nil {
			w.uvarint(0)
			continue
		}
		w.uvarint(uint64(max(p.Clawback.WithinDays, 0)))
		b := p.Clawback.BorneBy
		w.str(string(b.Party))
		w.str(b.Node)
		w.str(b.Role)
		w.str(b.Component)
	}
}

// collection writes a line's collection record or receivable, or that it
// has none.
func (w *binWriter) collection(c *LedgerCollection, cur ensemble.Currency) {
	w.bool(c != nil)
	if c != nil {
		w.str(c.Invoice)
		w.units(c.Total, cur)
		w.units(c.Collected, cur)
		w.units(c.WrittenOff, cur)
		w.units(c.Credited, cur)
		w.units(c.WriteOffClawback, cur)
		w.uvarint(uint64(len(c.IDs)))
		for _, id := range c.IDs {
			w.str(id)
		}
		w.uvarint(uint64(len(c.Pending)))
		for _, p := range c.Pending {
			w.str(string(p.Credit))
			w.str(string(p.Line))
			w.units(p.Amount, cur)
		}
		w.uvarint(uint64(len(c.LentTo)))
		for _, inv := range c.LentTo {
			w.str(inv)
		}
		w.units(c.Unfunded, cur)
		w.units(c.SetOff, cur) // version 8
	}
}

// binReader reads a blob, remembering the first problem: every read after
// it returns zero values.
type binReader struct {
	b       []byte
	off     int
	version byte
	subject string
	strs    []string
	curs    map[string]ensemble.Currency
	err     error
}

// fail records the first problem, at the current offset.
func (r *binReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &ensemble.DecodeError{Subject: r.subject, Offset: int64(r.off), Msg: fmt.Sprintf(format, args...)}
	}
}

func (r *binReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("truncated or overlong integer")
		return 0
	}
	r.off += n
	return x
}

func (r *binReader) uint64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.off < 8 {
		r.fail("truncated: 8 bytes wanted")
		return 0
	}
	x := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return x
}

func (r *binReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("truncated or overlong integer")
		return 0
	}
	r.off += n
	return x
}

// int reads a varint that fits an int.
func (r *binReader) int() int {
	x := r.varint()
	if int64(int(x)) != x {
		r.fail("integer %d out of range", x)
		return 0
	}
	return int(x)
}

func (r *binReader) byte() uint8 {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("truncated")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

// enum reads a byte of an enum written by its number: a value outside the
// enum's table (valid says which are in it) is refused, as the JSON decode
// refuses a name outside it, rather than read into a value MarshalText
// refuses and JSON could not write. what names the field.
func enum[T ~uint8](r *binReader, what string, valid func(T) bool) T {
	b := r.byte()
	if r.err == nil && !valid(T(b)) {
		r.off--
		r.fail("%s byte %d: no %s has it", what, b, what)
		return 0
	}
	return T(b)
}

// In the tables of the enums the binary forms write by number.
func validBasis(b Basis) bool    { return int(b) < len(basisNames) }
func validKind(k EntryKind) bool { return int(k) < len(kindNames) }
func validWindow(w Window) bool  { return int(w) < len(windowNames) }

// window reads a window's byte: before version 12, only calendar_year and
// rolling_12_months were written.
func (r *binReader) window() Window {
	w := enum(r, "window", validWindow)
	if r.err == nil && r.version < 12 && w.hasMonth() {
		r.off--
		r.fail("window byte %d: version %d has no %s", w, r.version, w)
		return 0
	}
	return w
}
func validEarning(p PrepaidEarning) bool         { return int(p) < len(prepaidEarningNames) }
func validShortfall(s Shortfall) bool            { return int(s) < len(shortfallNames) }
func validRoute(k partner.RouteKind) bool        { return k.Valid() }
func validRounding(m ensemble.RoundingMode) bool { return m.Valid() }

func (r *binReader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("not a boolean")
	return false
}

// count reads a number of items, each at least one byte, so that a
// garbled count cannot ask for more than the blob holds.
func (r *binReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)-r.off) {
		r.fail("count %d exceeds the %d bytes left", n, len(r.b)-r.off)
		return 0
	}
	return int(n)
}

func (r *binReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > 0 {
		if n > uint64(len(r.strs)) {
			r.fail("string %d: only %d written before", n, len(r.strs))
			return ""
		}
		return r.strs[n-1]
	}
	l := r.uvarint()
	if l > uint64(len(r.b)-r.off) {
		r.fail("string of %d bytes exceeds the %d bytes left", l, len(r.b)-r.off)
		return ""
	}
	s := string(r.b[r.off : r.off+int(l)])
	if !utf8.ValidString(s) {
		r.fail("string of %d bytes is not valid UTF-8, which JSON neither reads nor writes", l)
		return ""
	}
	r.off += int(l)
	r.strs = append(r.strs, s)
	return s
}

func (r *binReader) id() string {
	switch r.byte() {
	case 0:
		return r.str()
	case 1:
		return r.str() + ":" + r.str()
	}
	r.fail("not an id")
	return ""
}

func (r *binReader) currency() ensemble.Currency {
	k := r.str()
	if k == "" || r.err != nil {
		return ensemble.Currency{}
	}
	if c, ok := r.curs[k]; ok {
		return c
	}
	c, err := ensemble.ParseCurrency(k)
	if err != nil {
		r.fail("currency %q: %v", k, err)
		return ensemble.Currency{}
	}
	if r.curs == nil {
		r.curs = map[string]ensemble.Currency{}
	}
	r.curs[k] = c
	return c
}

func (r *binReader) time() time.Time {
	var loc *time.Location
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
	case 2:
		name, off := r.str(), r.int()
		if off <= -86400 || off >= 86400 {
			r.fail("zone offset %d out of range", off)
		}
		loc = time.FixedZone(name, off)
	default:
		r.fail("not an instant")
		return time.Time{}
	}
	sec, nsec := r.varint(), r.uvarint()
	if nsec >= 1e9 {
		r.fail("nanoseconds %d out of range", nsec)
	}
	if r.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	if loc != nil {
		t = t.In(loc)
	}
	// Only instants JSON can write, as the zone has them: the years 0 to
	// 9999 (time.Time.MarshalJSON).
	if y := t.Year(); y < 0 || y > 9999 {
		r.fail("instant in year %d: JSON writes the years 0 to 9999", y)
		return time.Time{}
	}
	return t
}

func (r *binReader) period() ensemble.Period { return ensemble.Period{Start: r.time(), End: r.time()} }

func (r *binReader) ref() ensemble.Ref {
	return ensemble.Ref{Kind: ensemble.RefKind(r.str()), ID: r.str(), Version: r.str()}
}

func (r *binReader) refs() []ensemble.Ref {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]ensemble.Ref, n)
	for i := range out {
		out[i] = r.ref()
	}
	return out
}

func (r *binReader) money() ensemble.Money {
	cur := r.currency()
	exp := r.varint()
	if exp < -ensemble.MaxAmountDigits || exp > ensemble.MaxAmountDigits {
		r.fail("exponent %d out of range", exp)
		return ensemble.Money{}
	}
	var m ensemble.Money
	switch r.byte() {
	case 0:
		m = ensemble.MoneyFromDecimal(decimal.New(r.varint(), int32(exp)), cur)
		if exp <= 0 {
			return m // at most 19 digits
		}
	case 1:
		neg := r.bool()
		n := r.count()
		if n > 20 { // 40 digits take 17 bytes
			r.fail("amount of %d bytes", n)
		}
		if r.err != nil {
			return ensemble.Money{}
		}
		c := new(big.Int).SetBytes(r.b[r.off : r.off+n])
		r.off += n
		if neg {
			c.Neg(c)
		}
		m = ensemble.MoneyFromDecimal(decimal.NewFromBigInt(c, int32(exp)), cur)
	default:
		r.fail("not an amount")
		return ensemble.Money{}
	}
	// Only amounts JSON can write: at most ensemble.MaxAmountDigits digits.
	if _, err := m.MarshalText(); err != nil {
		r.fail("amount: %v", err)
		return ensemble.Money{}
	}
	return m
}

// units reads minor units of cur; zero reads as the zero Money when zero
// is omitted (held amounts).
func (r *binReader) units(cur ensemble.Currency, omitZero bool) ensemble.Money {
	u := r.varint()
	if u == 0 && omitZero {
		return ensemble.Money{}
	}
	return ensemble.MoneyFromMinor(u, cur)
}

func (r *binReader) rate() ensemble.ExchangeRate {
	switch r.byte() {
	case 0:
		return ensemble.ExchangeRate{}
	case 1:
		return ensemble.ExchangeRate{From: r.currency(), To: r.currency(), Since: r.time(), Rate: r.ratio()}
	}
	r.fail("not a rate")
	return ensemble.ExchangeRate{}
}

// optRatio reads a ratio written by ratio, or "" for none (nil).
func (r *binReader) optRatio() *ensemble.Ratio {
	s := r.str()
	if s == "" || r.err != nil {
		return nil
	}
	var q ensemble.Ratio
	if err := q.UnmarshalText([]byte(s)); err != nil {
		r.fail("ratio %q: %v", s, err)
		return nil
	}
	return &q
}

func (r *binReader) ratio() ensemble.Ratio {
	s := r.str()
	var q ensemble.Ratio
	if r.err == nil {
		if err := q.UnmarshalText([]byte(s)); err != nil {
			r.fail("ratio %q: %v", s, err)
		}
	}
	return q
}

// header reads a blob's kind and version byte: the version this package
// writes, or version 1.
func (r *binReader) header(kind byte) {
	if len(r.b) < 2 {
		r.fail("truncated: no header")
		return
	}
	if r.b[0] != kind {
		r.fail("kind byte %#x: not a blob of %s", r.b[0], r.subject)
		return
	}
	if last := map[byte]byte{kindState: binaryVersion, kindEntries: 2}[kind]; r.b[1] < 1 || r.b[1] > last {
		r.off = 1
		r.fail("format version %d: this package reads versions 1 to %d", r.b[1], last)
		return
	}
	r.version, r.off = r.b[1], 2
}

// end refuses bytes after the blob's last value.
func (r *binReader) end() {
	if r.err == nil && r.off != len(r.b) {
		r.fail("%d bytes after the end", len(r.b)-r.off)
	}
}

// UnmarshalBinary reads a state MarshalBinary wrote. A blob that does not
// read (truncated, garbled, trailing bytes, another kind or version) is
// an *ensemble.DecodeError matching ErrCorruptState; a state that reads
// is checked as UnmarshalJSON checks one (every error matches
// ErrCorruptState, each broken invariant a *StateError). On error the
// state is left unchanged.
func (s *State) UnmarshalBinary(b []byte) error {
	r := &binReader{b: b, subject: "state"}
	r.header(kindState)
	var in stateIn
	if n := r.count(); n > 0 {
		in.Lines = make([]ledgerLineIn, n)
		for i := range in.Lines {
			r.ledgerLine(&in.Lines[i])
		}
	}
	if n := r.count(); r.err == nil {
		in.Volumes = make([]VolumeState, n)
		for i := range in.Volumes {
			v := &in.Volumes[i]
			v.Partner = partner.ID(r.str())
			v.Currency = r.currency()
			v.Window = r.window()
			v.Year = r.int()
			if v.Window.hasMonth() {
				v.Month = r.int()
			}
			v.Amount = r.units(v.Currency, false)
			if n := r.count(); n > 0 {
				v.Points = make([]VolumePoint, n)
				for j := range v.Points {
					v.Points[j] = VolumePoint{Date: r.time(), Amount: r.units(v.Currency, false), Line: LineID(r.str())}
				}
			}
			if r.version >= 17 {
				if n := r.count(); n > 0 {
					v.Retroactive = make([]RetroactivePaid, n)
					for j := range v.Retroactive {
						v.Retroactive[j] = RetroactivePaid{Plan: r.str(), Node: r.str(), Tier: r.int(), Base: r.units(v.Currency, false)}
						if r.version >= 19 {
							if rate := r.optRatio(); rate != nil {
								v.Retroactive[j].Rate = rate
							}
						}
					}
				}
			}
		}
	}
	if n := r.count(); n > 0 {
		in.Credits = make([]creditStateIn, n)
		for i := range in.Credits {
			c := &in.Credits[i]
			c.Line, c.Credits = LineID(r.str()), LineID(r.str())
			cur := r.currency()
			c.CreditState.Amount = r.units(cur, false)
			c.Amount = &c.CreditState.Amount
			c.Bearer = r.bearer()
			if r.version >= 11 {
				c.Documented = r.units(cur, true)
			}
		}
	}
	if n := r.count(); n > 0 {
		in.Prepaid = make([]PrepaidState, n)
		for i := range in.Prepaid {
			in.Prepaid[i] = PrepaidState{Commitment: r.str()}
			in.Prepaid[i].Earning = enum(r, "prepaid earning", validEarning)
		}
	}
	if r.version >= 18 {
		if n := r.count(); n > 0 {
			in.Once = make([]OnceState, n)
			for i := range in.Once {
				in.Once[i] = OnceState{Plan: PlanID(r.str()), Node: r.str(), Customer: r.str(), Line: LineID(r.str())}
			}
		}
	}
	in.PrunedBefore = r.time()
	r.end()
	if r.err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptState, r.err)
	}
	st, err := readState(in)
	if err != nil {
		return err
	}
	*s = st
	return nil
}

// The tags of a ledger line's volume (version 14): written whole, or plain
// (see plainVolume), net of credits or not.
const (
	volumeWhole uint8 = 0
	volumePlain uint8 = 2
	volumeNet   uint8 = 1
)

// plainVolume reports whether v, a volume ledger line ll added to, is what
// a line adds in its own currency to its seller's volume: the seller's, of
// the period of the line's date, the line's basis, at no rate. Its binary
// form is its tag and window.
func plainVolume(ll *LedgerLine, v *LineVolume) bool {
	if !validWindow(v.Window) || v.Rate != (ensemble.ExchangeRate{}) || v.Partner != ll.Seller ||
		v.Amount.Currency() != ll.Basis.Currency() || !v.Amount.Equal(ll.Basis) {
		return false
	}
	y, m := 0, 0
	if v.Window.calendar() {
		y, m = v.Window.period(ll.Date)
	}
	return v.Year == y && v.Month == m
}

func (r *binReader) ledgerLine(li *ledgerLineIn) {
	ll := &li.LedgerLine
	ll.Line = LineID(r.str())
	ll.Plan = r.ref()
	ll.BasisKind = enum(r, "basis kind", validBasis)
	li.BasisKind = &ll.BasisKind
	ll.Date = r.time()
	cur := r.currency()
	ll.Basis, ll.Credited = r.units(cur, false), r.units(cur, false)
	d := r.uvarint()
	if d>>1 > math.MaxInt32 {
		r.fail("%d disputes out of range", d>>1)
	}
	ll.Disputes, ll.Disputed = int(d>>1&math.MaxInt32), d&1 == 1
	ll.Offer = catalog.Pin{Offer: catalog.OfferID(r.str()), Version: r.int()}
	ll.Route = enum(r, "route kind", validRoute)
	ll.Seller = partner.ID(r.str())
	ll.Trace = r.refs()
	ll.Service = r.period()
	ll.Lost = r.units(cur, true)
	if r.version >= 3 {
		ll.Facts = factPrint(r.uint64()).String()
	}
	if n := r.count(); n > 0 {
		ll.Parts = make([]LedgerPart, n)
		for j := range ll.Parts {
			p := &ll.Parts[j]
			form := r.byte()
			if form == entryIsText {
				p.Entry = EntryID(r.str())
			} else if form > entryIsText {
				r.fail("not an entry id form")
			}
			p.Party, p.Role, p.Node = partner.ID(r.str()), r.str(), r.str()
			p.Kind = enum(r, "part kind", validKind)
			switch form {
			case entryIsBase:
				p.Entry = EntryID(string(ll.Line) + ":" + p.Node)
			case entryIsNamed:
				p.Entry = EntryID(string(ll.Line) + ":" + p.Node + "/" + string(p.Party))
			}
			p.Amount, p.Unreversed, p.Held = r.units(cur, false), r.units(cur, false), r.units(cur, true)
			if r.version >= 6 && ll.Disputed {
				p.HeldByReserves = r.units(cur, true)
			}
			if r.version >= 7 && ll.Disputed {
				if n := r.count(); n > 0 {
					p.HeldAtRelease = make([]ReleaseHold, n)
					for k := range p.HeldAtRelease {
						p.HeldAtRelease[k] = ReleaseHold{Amount: r.units(cur, false), Date: r.time(), Rolling: r.bool()}
					}
				}
			}
			p.Awaiting = r.units(cur, true)
			p.Reserve, p.ReserveUntil = r.units(cur, true), r.time()
			if r.version >= 2 && r.bool() {
				p.Source, p.Rate = r.money(), r.ratio()
			}
			if r.version >= 10 {
				p.Funded = r.units(cur, true)
			}

		}
	} else {
		ll.Parts = []LedgerPart{}
	}
	if n := r.count(); n > 0 {
		ll.Volumes = make([]LineVolume, n)
		for j := range ll.Volumes {
			v := &ll.Volumes[j]
			if r.version >= 14 {
				tag := r.byte()
				if r.err == nil && tag&^volumeNet == volumePlain {
					v.Partner, v.Window, v.Amount, v.NetOfCredits = ll.Seller, r.window(), ll.Basis, tag&volumeNet != 0
					if validWindow(v.Window) && v.Window.calendar() {
						v.Year, v.Month = v.Window.period(ll.Date)
					}
					continue
				}
				if r.err == nil && tag != volumeWhole {
					r.off--
					r.fail("volume tag %d", tag)
					break
				}
			}
			v.Partner = partner.ID(r.str())
			v.Window = r.window()
			v.Year = r.int()
			if v.Window.hasMonth() {
				v.Month = r.int()
			}
			vc := r.currency()
			v.Amount, v.Rate, v.NetOfCredits = r.units(vc, false), r.rate(), r.bool()
		}
	}
	ll.Collection = r.collection(cur)
	if r.version >= 9 {
		ll.Receivable = r.collection(cur)
	}
	if r.version >= 10 {
		ll.FundedDiscounts = r.units(cur, true)
	}
	if r.version >= 11 {
		ll.Documented = r.units(cur, true)
		n := r.uvarint()
		if n > math.MaxInt32 {
			r.fail("last lost dispute %d out of range", n)
		}
		ll.LostDispute = int(n & math.MaxInt32)
	}
	if r.version >= 13 {
		ll.UndocumentedOwed = r.units(cur, true)
	}
	if r.version >= 14 {
		for j := range ll.Parts {
			if n := r.count(); n > 0 {
				p := &ll.Parts[j]
				p.CollectReserves = make([]ReleaseHold, n)
				for k := range p.CollectReserves {
					p.CollectReserves[k] = ReleaseHold{Amount: r.units(cur, false), Date: r.time()}
				}
			}
		}
	}
	if r.version >= 15 && ll.Disputed {
		ll.DisputedAmount = r.units(cur, true)
	}
	if r.version >= 16 {
		for j := range ll.Parts {
			d := r.uvarint()
			if d == 0 {
				continue
			}
			if d > math.MaxInt32 {
				r.fail("clawback window of %d days out of range", d)
			}
			ll.Parts[j].Clawback = &Clawback{WithinDays: int(d & math.MaxInt32),
				BorneBy: Bearer{Party: partner.ID(r.str()), Node: r.str(), Role: r.str(), Component: r.str()}}
		}
	}
}

// collection reads a line's collection record or receivable, nil when it
// has none.
func (r *binReader) collection(cur ensemble.Currency) *LedgerCollection {
	if r.bool() {
		c := &LedgerCollection{Invoice: r.str(), Total: r.units(cur, false), Collected: r.units(cur, false), WrittenOff: r.units(cur, false),
			Credited: r.units(cur, true), WriteOffClawback: r.units(cur, true)}
		if n := r.count(); n > 0 {
			c.IDs = make([]string, n)
			for j := range c.IDs {
				c.IDs[j] = r.str()
			}
		}
		if r.version >= 4 {
			if n := r.count(); n > 0 {
				c.Pending = make([]PendingCredit, n)
				for j := range c.Pending {
					c.Pending[j] = PendingCredit{Credit: LineID(r.str()), Line: LineID(r.str()), Amount: r.units(cur, false)}
				}
			}
			if n := r.count(); n > 0 {
				c.LentTo = make([]string, n)
				for j := range c.LentTo {
					c.LentTo[j] = r.str()
				}
			}
		}
		if r.version >= 5 {
			c.Unfunded = r.units(cur, true)
		}
		if r.version >= 8 {
			c.SetOff = r.units(cur, true)
		}
		return c
	}
	return nil
}

// EncodeEntries writes entries in the compact binary form (see
// DecodeEntries), in their order, every field exactly: amounts as decimal
// coefficient and exponent with their currency, instants with their zone.
// An entry takes about 60 bytes, against 500 of JSON
// (BenchmarkEntryEncoding). A Ratio that does not marshal is an error.
func EncodeEntries(entries []Entry) ([]byte, error) {
	w := &binWriter{b: []byte{kindEntries, entriesVersion}}
	w.uvarint(uint64(len(entries)))
	for i := range entries {
		e := &entries[i]
		w.str(string(e.Line))
		w.id(string(e.ID))
		w.byte(uint8(e.Kind))
		w.str(string(e.Party))
		w.str(e.Role)
		w.money(e.Amount)
		w.time(e.Date)
		w.ref(e.Plan)
		w.str(e.Node)
		w.str(e.Share)
		w.refs(e.Rules)
		w.period(e.Service)
		w.str(string(e.Offer.Offer))
		w.varint(int64(e.Offer.Version))
		w.byte(uint8(e.Route))
		w.str(string(e.Seller))
		w.id(string(e.Reverses))
		w.str(e.Note)
		w.str(e.Approver)
		if c := e.Conversion; c != nil {
			w.byte(1)
			w.money(c.From)
			w.ratio(c.Rate)
			w.byte(uint8(c.Mode))
			w.money(c.To)
		} else {
			w.byte(0)
		}
		w.refs(e.Trace)
	}
	if w.err != nil {
		return nil, fmt.Errorf("settlement: entries: %w", w.err)
	}
	return w.b, nil
}

// DecodeEntries reads entries EncodeEntries wrote. A blob that does not
// read whole (truncated, garbled, trailing bytes, another kind or
// version, or a value JSON could not hold: an entry kind, route kind or
// rounding mode byte outside its table, an instant outside the years 0 to
// 9999, a string that is not UTF-8) is an *ensemble.DecodeError matching
// ErrCorruptEntries, and no entry is returned. Entries read hold what was
// written, and write as JSON; DecodeEntries does not check them against a
// ledger (a State's decode does that).
func DecodeEntries(b []byte) ([]Entry, error) {
	r := &binReader{b: b, subject: "entries"}
	r.header(kindEntries)
	n := r.count()
	out := make([]Entry, 0, n)
	for range n {
		if r.err != nil {
			break
		}
		var e Entry
		e.Line = LineID(r.str())
		e.ID = EntryID(r.id())
		e.Kind = enum(r, "entry kind", validKind)
		e.Party = partner.ID(r.str())
		e.Role = r.str()
		e.Amount = r.money()
		e.Date = r.time()
		e.Plan = r.ref()
		e.Node = r.str()
		e.Share = r.str()
		e.Rules = r.refs()
		e.Service = r.period()
		e.Offer = catalog.Pin{Offer: catalog.OfferID(r.str()), Version: r.int()}
		e.Route = enum(r, "route kind", validRoute)
		e.Seller = partner.ID(r.str())
		e.Reverses = EntryID(r.id())
		e.Note = r.str()
		e.Approver = r.str()
		if r.bool() {
			c := &Conversion{From: r.money(), Rate: r.ratio()}
			c.Mode = enum(r, "rounding mode", validRounding)
			c.To = r.money()
			e.Conversion = c
		}
		e.Trace = r.refs()
		out = append(out, e)
	}
	r.end()
	if r.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptEntries, r.err)
	}
	return out, nil
}

// bearer writes who bore a credit: its four names and shortfall option.
func (w *binWriter) bearer(b Bearer) {
	w.str(string(b.Party))
	w.str(b.Node)
	w.str(b.Role)
	w.str(b.Component)
	w.byte(uint8(b.Shortfall))
}

func (r *binReader) bearer() Bearer {
	b := Bearer{Party: partner.ID(r.str()), Node: r.str(), Role: r.str(), Component: r.str()}
	b.Shortfall = enum(r, "shortfall", validShortfall)
	return b
}
