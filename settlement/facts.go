package settlement

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// The facts of a sale line: what it says besides its id, date, amount and
// trace, which decide whom it pays and how. A State keeps the line's
// date, basis, currency, seller, route kind, offer and service period,
// and a fingerprint of the rest (factPrint), so that a sale sent again
// under its id is told apart from a retry: with the same facts it is
// ErrAlreadySettled alone, which a host may drop; with others (a route
// corrected to another reseller, another customer) it is ErrLineConflict
// too, and naming what differs.

// factPrint is the fingerprint of a sale's facts that its ledger does not
// keep whole: the high 32 bits hash its route's parties (chain, referrer,
// marketplace, co-sellers and weights, the seller's weight), the low 32
// bits the rest (customer, charge, quantity, tax, supplier costs, prepaid
// terms, invoice, contract start, discounts under a plan funding some,
// what a true-up bills back, the attributed party, the host's attributes,
// the line's kind).
// Zero is no print: a state written
// before prints were kept (binary version 2, JSON without "facts"), whose
// lines are compared by what the ledger keeps alone.
type factPrint uint64

// printFacts returns the fingerprint of sale l's facts, never zero. Its
// discounts are facts of the sale only under a plan that funds some
// (funded, PlanDocument.DiscountFunding): elsewhere they change no payout,
// so a line settled before they were carried, sent again with them, is the
// same sale.
//
// With kind, the print holds the line's kind (Line.Kind, which rules read
// as line.kind) when it has one: every sale is printed so; a state's
// sales settled before were printed without it, and a re-send is
// compared with both (resent).
func printFacts(l *Line, funded, kind bool) factPrint {
	r := &l.Route
	var route factHash
	route.str(string(r.Marketplace))
	route.str(string(r.Referrer))
	route.ratio(r.SellerWeight)
	if len(r.Chain) == 0 && r.Seller != "" { // the seller alone is its chain (sellerFirst)
		route.word(1)
		route.str(string(r.Seller))
	} else {
		route.word(uint64(len(r.Chain)))
		for _, id := range r.Chain {
			route.str(string(id))
		}
	}
	// Co-sellers in partner order: the split keys them by partner, so a
	// route listing them in another order pays alike.
	co := r.CoSellers
	if !slices.IsSortedFunc(co, byCoSeller) {
		co = slices.SortedFunc(slices.Values(co), byCoSeller)
	}
	route.word(uint64(len(co)))
	for _, c := range co {
		route.str(string(c.Partner))
		route.ratio(c.Weight)
	}

	var rest factHash
	rest.str(l.Customer.ID)
	rest.str(string(l.Customer.Country))
	rest.str(string(l.Charge))
	rest.decimal(l.Quantity)
	rest.decimal(l.PeriodQuantity)
	rest.money(l.Tax)
	rest.word(uint64(len(l.SupplierCosts)))
	for i := range l.SupplierCosts {
		c := &l.SupplierCosts[i]
		rest.ref(c.Component)
		rest.str(string(c.Offer))
		rest.str(c.Supplier)
		rest.money(c.Cost)
		rest.ratio(c.Ratio)
		rest.money(c.Fixed)
		rest.word(uint64(c.Per))
		rest.word(uint64(c.AppliesTo.Scope))
		rest.word(uint64(len(c.AppliesTo.Charges)))
		for _, ch := range c.AppliesTo.Charges {
			rest.str(string(ch))
		}
		rest.money(c.Source)
		rest.ratio(c.Rate)
		rest.money(c.Capped)
		rest.word(uint64(c.Shortfall))
	}
	rest.str(l.Prepaid.Commitment)
	rest.word(uint64(l.Prepaid.Earning))
	rest.str(l.Invoice)
	// The contract's start, only when the sale gives one: a sale without
	// one prints as it did before the fact existed, as states kept it.
	if !l.ContractStart.IsZero() {
		rest.word(contractMark)
		rest.word(uint64(l.ContractStart.Unix()))
		rest.word(uint64(l.ContractStart.Nanosecond()))
	}
	if kind && l.Kind != "" {
		rest.word(kindMark)
		rest.str(l.Kind)
	}
	// Its discounts, under a plan that funds some: marked even when it has
	// none, so that no print without them can match it.
	if funded {
		rest.word(discountMark)
		rest.word(uint64(len(l.Discounts)))
		for _, d := range l.Discounts {
			rest.str(d.ID)
			rest.money(d.Amount)
		}
		// What it bills back of them, only when it does: a line billing
		// back none prints as it did before the fact existed.
		if len(l.Recouped) > 0 {
			rest.word(recoupedMark)
			rest.word(uint64(len(l.Recouped)))
			for _, d := range l.Recouped {
				rest.str(d.ID)
				rest.money(d.Amount)
			}
		}
	}

	// Whose usage the line bills, only when it says: an unattributed sale
	// prints as it did before the fact existed.
	if l.Attributed != "" {
		rest.word(attributedMark)
		rest.str(l.Attributed)
	}

	// The host's attributes, only when it gives some: a sale without
	// prints as it did before the fact existed. In no order (a map has
	// none): each key and value hashed apart, the hashes added up.
	if len(l.Attributes) > 0 {
		rest.word(attributesMark)
		rest.word(uint64(len(l.Attributes)))
		var sum uint64
		for k, v := range l.Attributes {
			var kv factHash
			kv.str(k)
			kv.str(v)
			sum += kv.sum()
		}
		rest.word(sum)
	}

	p := factPrint(route.sum()>>32<<32 | rest.sum()>>32)
	if p == 0 {
		p = 1
	}
	return p
}

// contractMark starts the words of a contract start in a print.
const contractMark = 0xc0_47_a5_c7

// kindMark starts the words of a sale's kind (Line.Kind) in a print.
const kindMark = 0x4b_1d_0f_5a

// discountMark starts the words of a sale's discounts in a print.
const discountMark = 0xd1_5c_0a_47

// recoupedMark starts the words of what a true-up bills back of a
// cycle's discounts (Line.Recouped) in a print.
const recoupedMark = 0x4e_c0_0b_ed

// attributesMark starts the words of a line's attributes in a print.
const attributesMark = 0xa7_7b_5e_75

// attributedMark starts the words of a line's attributed value in a print.
const attributedMark = 0xa7_7b_1b_ed

func byCoSeller(a, b partner.CoSeller) int {
	return strings.Compare(string(a.Partner), string(b.Partner))
}

// differs names what differs between the facts printed as p and as q
// ("" when nothing does, or either is no print).
func (p factPrint) differs(q factPrint) string {
	if p == 0 || q == 0 || p == q {
		return ""
	}
	var what []string
	if p>>32 != q>>32 {
		what = append(what, "route (chain, referrer, marketplace or co-sellers)")
	}
	if uint32(p) != uint32(q) {
		what = append(what, "customer, charge, quantity, tax, supplier costs, prepaid terms, invoice, contract start, discounts, attributed party, attributes or kind")
	}
	return "its " + strings.Join(what, " and its ") + " differ"
}

// String writes the print as 16 hexadecimal digits, as LedgerLine.Facts
// holds it.
func (p factPrint) String() string {
	if p == 0 {
		return ""
	}
	return fmt.Sprintf("%016x", uint64(p))
}

// parseFactPrint reads a print as LedgerLine.Facts holds it: "" (no
// print) or 16 hexadecimal digits, not all zero.
func parseFactPrint(s string) (factPrint, error) {
	if s == "" {
		return 0, nil
	}
	p, err := strconv.ParseUint(s, 16, 64)
	if err != nil || len(s) != 16 || p == 0 || strings.ToLower(s) != s {
		return 0, fmt.Errorf("facts %q: want 16 lower-case hexadecimal digits, not all zero, or nothing", s)
	}
	return factPrint(p), nil
}

// factHash hashes a sequence of words and texts: a multiply-rotate step
// per 8 bytes, finished by a strong mix (sum). Stable across processes and
// machines (it is kept in persisted states) and fast (about a word a
// nanosecond); not for hostile input, which a collision would only make
// ErrAlreadySettled alone, as it was before prints were kept.
type factHash uint64

func (h *factHash) word(v uint64) {
	*h = factHash(bits.RotateLeft64((uint64(*h)^v)*0x9e3779b97f4a7c15, 31))
}

func (h *factHash) str(s string) {
	h.word(uint64(len(s)))
	for ; len(s) >= 8; s = s[8:] {
		h.word(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
	}
	if len(s) > 0 {
		var v uint64
		for i := range len(s) {
			v |= uint64(s[i]) << (8 * i)
		}
		h.word(v)
	}
}

func (h *factHash) money(m ensemble.Money) {
	if m.IsZero() {
		h.word(0)
		return
	}
	h.str(m.Currency().Key())
	if u, err := m.MinorUnits(); err == nil {
		h.word(1)
		h.word(uint64(u))
		return
	}
	h.word(2)
	h.str(m.String())
}

// decimal hashes d in lowest terms, whatever its exponent and the
// package's formatting settings (decimal.TrimTrailingZeros): zero as the
// word 0, else as its big.Rat's RatString ("3", "-5/2"), which the
// common case writes without allocating (ratText).
func (h *factHash) decimal(d decimal.Decimal) {
	if d.IsZero() {
		h.word(0)
		return
	}
	var buf [48]byte
	if b, ok := ratText(buf[:0], d); ok {
		h.str(string(b)) // a short string that does not escape: no allocation
		return
	}
	h.str(d.Rat().RatString())
}

// ratText appends to b d's value as big.Rat's RatString writes it ("a"
// or "a/b" in lowest terms) when its coefficient, and the power of ten
// its exponent stands for, fit in an int64; else it reports false.
func ratText(b []byte, d decimal.Decimal) ([]byte, bool) {
	const maxDigits = 18 // 10^18 < 2^63
	digits, exp := d.NumDigits(), int(d.Exponent())
	if digits > maxDigits || exp < -maxDigits || exp > 0 && digits+exp > maxDigits {
		return b, false
	}
	num, den := d.CoefficientInt64(), int64(1)
	for ; exp > 0; exp-- {
		num *= 10
	}
	for ; exp < 0; exp++ {
		den *= 10
	}
	g := gcd(max(num, -num), den)
	b = strconv.AppendInt(b, num/g, 10)
	if den /= g; den != 1 {
		b = append(b, '/')
		b = strconv.AppendInt(b, den, 10)
	}
	return b, true
}

// gcd returns the greatest common divisor of a and b (a >= 0, b > 0).
func gcd(a, b int64) int64 {
	for a != 0 {
		a, b = b%a, a
	}
	return b
}

func (h *factHash) ratio(r ensemble.Ratio) {
	if r.IsZero() {
		h.word(0)
		return
	}
	h.str(r.String())
}

func (h *factHash) ref(r ensemble.Ref) {
	h.str(string(r.Kind))
	h.str(r.ID)
	h.str(r.Version)
}

// sum finishes the hash (splitmix64's finalizer).
func (h factHash) sum() uint64 {
	x := uint64(h)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
