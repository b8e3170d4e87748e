package settlement

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Statement folds one partner's entries in one currency over one period.
// All amounts are in Currency, from the partner's side:
//
//	Closing        = Opening + Earned + Reversed + Adjusted - Reserved + Released - Uncollected + Collected - PaidOut
//	Payable        = Closing when it reaches the currency's minimum payout, else zero
//	CarriedForward = Closing - Payable (negative balances carry and net later)
//
// Earned is what the party earned, Collected what of it the customers
// paid on lines payable on collection (PayableOnCollection), and Payable
// what can be paid: earnings awaiting the customer's payment
// (Uncollected, net of what credits took off it) are not in Closing.
// Opening is the previous statement's Closing (StatementOptions.Previous).
// Statements merge: the statements of two disjoint sets of entries, merged,
// equal the statement of their union (see Merge).
type Statement struct {
	Party    partner.ID        `json:"party"`
	Currency ensemble.Currency `json:"currency"`
	Period   ensemble.Period   `json:"period"`
	Opening  ensemble.Money    `json:"opening"`
	// Earned sums earnings, supplier costs and the true-ups of
	// retroactive tiers (KindTrueUp: what the party was paid, or funded,
	// of the re-rating of a window's earlier lines).
	Earned ensemble.Money `json:"earned"`
	// Reversed sums clawbacks (zero or negative): those of credit notes
	// and lost disputes, and of write-offs (Settler.WriteOff), which claw
	// back what awaited a payment that will not come.
	Reversed ensemble.Money `json:"reversed"`
	// Adjusted sums manual adjustments and fees (KindFee, such as a
	// dispute fee).
	Adjusted ensemble.Money `json:"adjusted"`
	// Reserved sums reserves and dispute holds withheld.
	Reserved ensemble.Money `json:"reserved"`
	// Released sums reserves and holds returned.
	Released ensemble.Money `json:"released"`
	// Uncollected sums what lines payable on collection hold back until
	// their customers pay (KindUncollected: positive when settled,
	// negative where a credit or write-off took it off what is owed).
	Uncollected ensemble.Money `json:"uncollected,omitzero"`
	// Collected sums what the customers' payments made payable
	// (KindCollected).
	Collected      ensemble.Money `json:"collected,omitzero"`
	PaidOut        ensemble.Money `json:"paid_out"`
	Closing        ensemble.Money `json:"closing"`
	Payable        ensemble.Money `json:"payable"`
	CarriedForward ensemble.Money `json:"carried_forward"`
	// Withheld is what reserves and dispute holds keep back at the end of
	// the period: the previous statement's Withheld + Reserved - Released.
	Withheld ensemble.Money `json:"withheld"`
	// Awaiting is what awaits the customers' payment at the end of the
	// period: the previous statement's Awaiting + Uncollected - Collected.
	Awaiting ensemble.Money `json:"awaiting,omitzero"`
	// Entries counts the entries folded, Late included.
	Entries int `json:"entries"`
	// Late are the ids of the entries dated before the period that were
	// folded into it (StatementOptions.Late): made after the statements of
	// their own period were folded, such as a payment received on February
	// 27 and reported on March 3. Sorted.
	Late []EntryID `json:"late,omitempty"`
	// Folded counts the entries of the party and currency folded into this
	// statement and every statement before it (Previous), with those dated
	// before the first one: what the next period's Statements checks the
	// entries dated before it against, so none made after this statement
	// was folded goes unnoticed (see StatementOptions.Late).
	Folded int `json:"folded,omitempty"`
	// FoldedDigest is a digest of the ids of the entries Folded counts,
	// as 16 lower-case hexadecimal digits: the sum, modulo 2^64, of a
	// 64-bit hash of each id, so that the digests of shards' statements
	// add up to the merged one's (Merge). The next period's Statements
	// checks the ids of the entries dated before it against it, so that
	// an entry missing from them does not hide a late one in its place,
	// which Folded alone would let pass. Empty when Folded is zero, and on
	// a statement folded before digests were kept (the next fold then
	// checks Folded alone, and digests from then on).
	FoldedDigest string `json:"folded_digest,omitempty"`
}

// StatementOptions configures Statements.
type StatementOptions struct {
	// Period is the half-open span entries are folded over, by Entry.Date.
	Period ensemble.Period `json:"period"`
	// Minimums are the minimum payouts per currency (such as USD 10.00):
	// a closing balance below its currency's minimum is not payable and
	// rolls forward. Currencies without one pay any positive balance.
	Minimums []ensemble.Money `json:"minimums,omitempty"`
	// Previous are the statements of the previous period, whose Closing
	// opens this one: each must hold together (Statement.Check) and end
	// where Period starts, else ErrStatementMismatch (a statement of this
	// period given as its own previous would count it twice).
	Previous []Statement `json:"previous,omitempty"`
	// Late are entries dated before Period that the previous statements did
	// not fold, because they were made after them: a payment received on
	// February 27 and reported on March 3 (Collection.Date is when the
	// money was received), a line or adjustment dated back. They are folded
	// into this period, as a ledger posts what arrives after a close into
	// the open period, and listed in Statement.Late. They may be in the
	// entries given too (an id in both is one entry). Given Previous, an
	// entry dated before Period that neither Previous nor Late accounts for
	// is a *LateEntriesError (ErrLateEntries), by their count and by the
	// digest of their ids (Statement.FoldedDigest): the host keeps, with
	// each fold, which entries it had stored, and passes those stored
	// since that are dated before the period here.
	Late []Entry `json:"late,omitempty"`
}

type stKey struct {
	party partner.ID
	cur   ensemble.Currency
}

type acc struct {
	opening, earned, reversed, adjusted, reserved, released, paid, withheld sum
	uncollected, collected, awaiting                                        sum
	n                                                                       int
	late                                                                    []EntryID
	// before counts the entries dated before the period that earlier
	// statements folded or the books began after (Statement.Folded), and
	// the late ones; unchecked marks a previous statement that does not
	// say (see countBefore).
	before    int
	unchecked bool
	// beforeDigest digests the ids of the entries before counts, and
	// digest those folded in the period, late ones left out
	// (Statement.FoldedDigest); noDigest marks a previous statement that
	// folded entries without recording their digest.
	beforeDigest, digest foldDigest
	noDigest             bool
}

// foldDigest digests a set of entry ids, whatever their order: the sum,
// modulo 2^64, of a 64-bit hash of each id (factHash, stable across
// processes and machines). The digests of disjoint sets add up to their
// union's, and a set holding another id in place of one of its own
// differs (but by a collision of their hashes: about one chance in 2^64
// for ids not chosen to collide).
type foldDigest uint64

// add adds id to the set.
func (d *foldDigest) add(id EntryID) {
	var h factHash
	h.str(string(id))
	*d += foldDigest(h.sum())
}

// digestTexts writes digests as Statement.FoldedDigest holds them, each
// a substring of one buffer, so that a call folding a thousand statements
// allocates their digests once, not a thousand times.
type digestTexts struct{ b strings.Builder }

// newDigestTexts returns a writer of n digests.
func newDigestTexts(n int) *digestTexts {
	t := &digestTexts{}
	t.b.Grow(16 * n)
	return t
}

// text returns d as 16 lower-case hexadecimal digits.
func (t *digestTexts) text(d foldDigest) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[d&15]
		d >>= 4
	}
	start := t.b.Len()
	t.b.Write(b[:])
	return t.b.String()[start:] // written bytes never change, whatever the builder writes next
}

// parseFoldDigest reads a digest as Statement.FoldedDigest holds it: 16
// lower-case hexadecimal digits, or "" (none).
func parseFoldDigest(s string) (foldDigest, error) {
	if s == "" {
		return 0, nil
	}
	d, err := strconv.ParseUint(s, 16, 64)
	if err != nil || len(s) != 16 || strings.ToLower(s) != s {
		return 0, fmt.Errorf("folded digest %q: want 16 lower-case hexadecimal digits, or nothing", s)
	}
	return foldDigest(d), nil
}

// Statements folds entries into one statement per party and currency over
// opts.Period, sorted by party then currency. Parties with a previous
// statement but no entries get one too, so balances carry. Entries dated
// after the period are left for a later one (a reserve's release); those
// dated before it were folded by earlier statements, or, when made after
// them, are folded into this one through opts.Late (with no Previous, the
// first statements, they are before the books and left out).
//
// Given Previous, the entries dated before the period are checked against
// what the previous statements folded (Statement.Folded, and the digest of
// the ids, Statement.FoldedDigest): one made after them and not given in
// opts.Late (a payment received in February and reported after February's
// statements) is a *LateEntriesError wrapping ErrLateEntries, one for
// each party and currency concerned (joined, errors.Join), never left
// out of every statement, even where an entry they folded is missing from
// those given and the counts agree (LateEntriesError.Missing). The check
// needs the entries dated before the period; a host that gives only the
// period's own entries gives the late ones in opts.Late, unchecked. It
// costs a hash of each entry's id.
//
// Amounts must be whole minor units, of any size: sums beyond the int64
// range of minor units are exact (math/big), never wrapped. Every entry id
// must be unique, inside the period or not: an entry given twice is a
// *DuplicateEntryError (ErrDuplicateEntry) naming both positions, never
// counted twice. Errors: an invalid period, a minimum or an amount that is
// not whole minor units (ensemble.ErrNotMinorUnits, naming the entry or
// field), two minimums of one currency (ErrStatementMismatch), a previous
// statement whose balance is in another currency than its own
// (ErrStatementMismatch), an unknown entry kind, a late entry dated in or
// after the period or given twice, entries made after the previous
// statements and not given as late, fewer entries dated before the period
// than the previous statements folded, or as many but not the same ones
// (ErrLateEntries).
func Statements(entries []Entry, opts StatementOptions) ([]Statement, error) {
	if err := opts.Period.Validate(); err != nil {
		if opts.Period.Start.IsZero() && opts.Period.End.IsZero() {
			return nil, fmt.Errorf("settlement: statements: StatementOptions.Period is required (the span entries are folded over): %w", err)
		}
		return nil, fmt.Errorf("settlement: statements: StatementOptions.Period: %w", err)
	}
	if err := duplicateEntryAt(entries); err != nil {
		return nil, fmt.Errorf("settlement: statements: %w", err)
	}
	if err := duplicateEntryAt(opts.Late); err != nil {
		return nil, fmt.Errorf("settlement: statements: late: %w", err)
	}
	var t tally
	mins := readMinimums(&t, opts.Minimums)
	if t.err != nil {
		return nil, fmt.Errorf("settlement: statements: %w", t.err)
	}
	accs := map[stKey]*acc{}
	get := func(k stKey) *acc {
		a := accs[k]
		if a == nil {
			a = &acc{}
			accs[k] = a
		}
		return a
	}
	for i, p := range opts.Previous {
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("settlement: statements: previous[%d]: %w", i, err)
		}
		if !p.Period.End.Equal(opts.Period.Start) {
			return nil, fmt.Errorf("settlement: statements: previous[%d]: %w: statement of %q for %s does not end where %s starts",
				i, ErrStatementMismatch, p.Party, p.Period, opts.Period)
		}
		a := get(stKey{p.Party, p.Currency})
		a.before += p.Folded
		d, _ := parseFoldDigest(p.FoldedDigest) // checked by p.Check
		a.beforeDigest += d
		a.noDigest = a.noDigest || p.Folded != 0 && p.FoldedDigest == ""
		// A statement folded before statements counted what they folded
		// (Folded zero: every statement folded since counts at least the
		// entries that made its party's first) cannot be checked against.
		a.unchecked = a.unchecked || p.Folded == 0
		a.opening.plus(t.units(p.Closing, func() string { return fmt.Sprintf("previous[%d].closing", i) }))
		a.withheld.plus(t.units(p.Withheld, func() string { return fmt.Sprintf("previous[%d].withheld", i) }))
		a.awaiting.plus(t.units(p.Awaiting, func() string { return fmt.Sprintf("previous[%d].awaiting", i) }))
	}
	if t.err != nil {
		return nil, fmt.Errorf("settlement: statements: %w", t.err)
	}
	if err := countBefore(entries, opts, accs, get); err != nil {
		return nil, fmt.Errorf("settlement: statements: %w", err)
	}
	fold := func(e *Entry, late bool) error {
		what := "entry"
		if late {
			what = "late entry"
		}
		u := t.units(e.Amount, func() string { return fmt.Sprintf("%s %q", what, e.ID) })
		if t.err != nil {
			return t.err
		}
		a := get(stKey{e.Party, e.Amount.Currency()})
		a.n++
		if late {
			a.late = append(a.late, e.ID) // digested with what is before the period
		} else {
			a.digest.add(e.ID)
		}
		switch e.Kind {
		case KindEarning, KindSupplierCost, KindTrueUp:
			a.earned.plus(u)
		case KindClawback:
			a.reversed.plus(u)
		case KindAdjustment, KindFee:
			a.adjusted.plus(u)
		case KindReserve, KindHold:
			a.reserved.plus(u)
		case KindRelease:
			a.released.plus(u)
		case KindPayout:
			a.paid.plus(u)
		case KindUncollected:
			a.uncollected.plus(u)
		case KindCollected:
			a.collected.plus(u)
		default:
			return fmt.Errorf("%s %q: unknown kind %s", what, e.ID, e.Kind)
		}
		return nil
	}
	for i := range entries {
		if e := &entries[i]; opts.Period.Contains(e.Date) {
			if err := fold(e, false); err != nil {
				return nil, fmt.Errorf("settlement: statements: %w", err)
			}
		}
	}
	for i := range opts.Late {
		if err := fold(&opts.Late[i], true); err != nil {
			return nil, fmt.Errorf("settlement: statements: %w", err)
		}
	}
	out := make([]Statement, 0, len(accs))
	texts := newDigestTexts(len(accs))
	for k, a := range accs {
		out = append(out, a.statement(k, opts.Period, mins, texts))
	}
	sortStatements(out)
	return out, nil
}

// duplicateEntryAt returns a *DuplicateEntryError naming the first entry
// whose id an earlier one has, and where both are, or nil.
func duplicateEntryAt(entries []Entry) error {
	seen := make(map[EntryID]int, len(entries))
	for i := range entries {
		if j, dup := seen[entries[i].ID]; dup {
			return &DuplicateEntryError{ID: entries[i].ID, First: j, Second: i}
		}
		seen[entries[i].ID] = i
	}
	return nil
}

// readMinimums reads the minimum payouts, one per currency, through t: a
// currency given two is an error (which one the contract means is the
// host's to say, and the larger would hold back every payout between
// them).
func readMinimums(t *tally, ms []ensemble.Money) map[ensemble.Currency]sum {
	out := map[ensemble.Currency]sum{}
	for i, m := range ms {
		u := t.units(m, func() string { return fmt.Sprintf("minimums[%d]", i) })
		if _, ok := out[m.Currency()]; ok && t.err == nil {
			t.err = fmt.Errorf("%w: minimums[%d]: a second minimum payout in %s (%s)", ErrStatementMismatch, i, m.Currency().Code(), m.AmountString())
		}
		out[m.Currency()] = u
	}
	return out
}

// countBefore counts, per party and currency, the entries dated before
// opts.Period and the late ones, and digests their ids (acc.before,
// acc.beforeDigest); given Previous, it checks them against what the
// previous statements folded (Statement.Folded, FoldedDigest): an entry
// dated before the period that no previous statement folded and that is
// not late was made after they were folded, and would be in no
// statement, even beside an entry they folded that is missing (the same
// count, another digest). Late entries must be dated before the period.
func countBefore(entries []Entry, opts StatementOptions, accs map[stKey]*acc, get func(stKey) *acc) error {
	late := make(map[EntryID]bool, len(opts.Late))
	lateOf := map[stKey]*beforeSet{}
	for i := range opts.Late {
		e := &opts.Late[i]
		if !e.Date.Before(opts.Period.Start) {
			return fmt.Errorf("%w: late entry %q is dated %s, not before the period %s", ErrLateEntries, e.ID, e.Date.UTC().Format(time.RFC3339), opts.Period)
		}
		for _, p := range opts.Previous {
			if _, folded := slices.BinarySearch(p.Late, e.ID); folded {
				return fmt.Errorf("%w: late entry %q was folded by the previous statement of %q already: a late entry is one made since the previous fold", ErrLateEntries, e.ID, p.Party)
			}
		}
		late[e.ID] = true
		addBefore(lateOf, stKey{e.Party, e.Amount.Currency()}, e.ID)
	}
	given := map[stKey]*beforeSet{} // entries dated before the period, late ones left out
	for i := range entries {
		e := &entries[i]
		if len(late) == 0 || !late[e.ID] {
			if e.Date.Before(opts.Period.Start) {
				addBefore(given, stKey{e.Party, e.Amount.Currency()}, e.ID)
			}
			continue
		}
		if !e.Date.Before(opts.Period.Start) {
			return fmt.Errorf("%w: late entry %q is given among the entries dated %s, in or after the period", ErrLateEntries, e.ID, e.Date.UTC().Format(time.RFC3339))
		}
	}
	keys := slices.SortedFunc(maps.Keys(given), func(a, b stKey) int {
		return cmp.Or(cmp.Compare(a.party, b.party), cmp.Compare(a.cur.Code(), b.cur.Code()))
	})
	var lates []error // every party's, so the host learns of them at once
	for _, k := range keys {
		g := given[k]
		n := g.n
		if len(opts.Previous) == 0 {
			a := get(k) // the first statements: what is dated before them is before the books
			a.before, a.beforeDigest = n, g.digest
			continue
		}
		a := accs[k]
		folded, checked := 0, true
		if a != nil {
			folded, checked = a.before, !a.unchecked
		}
		switch {
		case !checked:
			a.before, a.beforeDigest, a.noDigest = n, g.digest, false // a statement from before Folded was kept: counted from now on
		case n > folded:
			lates = append(lates, &LateEntriesError{Party: k.party, Currency: k.cur, Period: opts.Period, Count: n - folded, Folded: folded})
		case n < folded:
			return fmt.Errorf("%w: %d entries of %q in %s dated before %s are given besides the late ones, but the previous statements folded %d: give every entry, or none dated before the period, and as late only those made since the previous fold",
				ErrLateEntries, n, k.party, k.cur.Code(), opts.Period.Start.UTC().Format(time.RFC3339), folded)
		case !a.noDigest && g.digest != a.beforeDigest:
			lates = append(lates, &LateEntriesError{Party: k.party, Currency: k.cur, Period: opts.Period, Count: 1, Folded: folded, Missing: 1})
		default:
			a.beforeDigest, a.noDigest = g.digest, false // digested from now on, if the previous statements were not
		}
	}
	if len(lates) > 0 {
		return errors.Join(lates...)
	}
	for k, l := range lateOf {
		a := get(k)
		a.before += l.n
		a.beforeDigest += l.digest
	}
	return nil
}

// beforeSet counts entries dated before a period and digests their ids.
type beforeSet struct {
	n      int
	digest foldDigest
}

// addBefore adds entry id to m's set of key k.
func addBefore(m map[stKey]*beforeSet, k stKey, id EntryID) {
	b := m[k]
	if b == nil {
		b = &beforeSet{}
		m[k] = b
	}
	b.n++
	b.digest.add(id)
}

// statement returns the statement a holds of party and currency k over
// period p, with the minimum payouts mins, its FoldedDigest written by
// texts.
func (a *acc) statement(k stKey, p ensemble.Period, mins map[ensemble.Currency]sum, texts *digestTexts) Statement {
	m := func(u sum) ensemble.Money { return u.money(k.cur) }
	closing := a.opening
	for _, in := range []sum{a.earned, a.reversed, a.adjusted, a.released} {
		closing.plus(in)
	}
	closing.minus(a.reserved)
	closing.minus(a.paid)
	closing.minus(a.uncollected)
	closing.plus(a.collected)
	var payable sum
	if closing.sign() > 0 {
		payable = closing
		if min, ok := mins[k.cur]; ok && closing.cmp(min) < 0 {
			payable = sum{}
		}
	}
	carried := closing
	carried.minus(payable)
	withheld := a.withheld
	withheld.plus(a.reserved)
	withheld.minus(a.released)
	awaiting := a.awaiting
	awaiting.plus(a.uncollected)
	awaiting.minus(a.collected)
	slices.Sort(a.late)
	folded, digest := a.before+a.n-len(a.late), ""
	if folded != 0 && !a.noDigest {
		digest = texts.text(a.beforeDigest + a.digest)
	}
	return Statement{Party: k.party, Currency: k.cur, Period: p, Opening: m(a.opening), Earned: m(a.earned),
		Reversed: m(a.reversed), Adjusted: m(a.adjusted), Reserved: m(a.reserved), Released: m(a.released),
		PaidOut: m(a.paid), Closing: m(closing), Payable: m(payable), CarriedForward: m(carried),
		Withheld: m(withheld), Uncollected: m(a.uncollected), Collected: m(a.collected), Awaiting: m(awaiting), Entries: a.n,
		Late: a.late, Folded: folded, FoldedDigest: digest}
}

func sortStatements(out []Statement) {
	slices.SortFunc(out, func(a, b Statement) int {
		if c := cmp.Compare(a.Party, b.Party); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Currency.Code(), b.Currency.Code()); c != 0 {
			return c
		}
		if c := a.Period.Start.Compare(b.Period.Start); c != 0 {
			return c
		}
		return a.Period.End.Compare(b.Period.End)
	})
}

// Merge adds statements of the same party, currency and period computed
// from disjoint sets of entries (shards) and recomputes Closing, Payable and
// CarriedForward with minimums; the others pass through. Give a previous
// statement's balance to one shard only (or to the merged result's next
// period): openings add up like every other field. The result is sorted
// by party, currency and period. Sums beyond the int64 range of minor
// units are exact (math/big). Merge cannot see entries, so shards that
// share an entry count it twice: keep shards disjoint (Statements refuses
// an id given twice within one shard), and give each late entry
// (StatementOptions.Late) to one shard: an id two parts list as late is a
// *DuplicateEntryError. A shard folded without Previous takes what is
// dated before the period as before the books: give such shards only
// entries dated in the period (and their late ones in Late), so that the
// merged statements' Folded counts what was folded; their FoldedDigest
// adds up the same way (a part that folded entries without one, written
// before digests were kept, leaves the merged statement without one).
// Errors: an amount in another
// currency than its statement's (ErrStatementMismatch), an amount or a
// minimum that is not whole minor units (ensemble.ErrNotMinorUnits).
func Merge(minimums []ensemble.Money, parts ...[]Statement) ([]Statement, error) {
	type key struct {
		party      partner.ID
		cur        ensemble.Currency
		start, end time.Time
	}
	var t tally
	mins := readMinimums(&t, minimums)
	if t.err != nil {
		return nil, fmt.Errorf("settlement: merge: %w", t.err)
	}
	accs := map[key]*acc{}
	periods := map[key]ensemble.Period{}
	lateSeen := map[EntryID]struct{}{}
	for _, list := range parts {
		for _, s := range list {
			if err := s.Check(); err != nil {
				return nil, fmt.Errorf("settlement: merge: %w", err)
			}
			k := key{s.Party, s.Currency, s.Period.Start.UTC(), s.Period.End.UTC()}
			a := accs[k]
			if a == nil {
				a = &acc{}
				accs[k] = a
				periods[k] = s.Period
			}
			var reserved, released, uncollected, collected sum
			for _, f := range []struct {
				dst  *sum
				m    ensemble.Money
				name string
			}{{&a.opening, s.Opening, "opening"}, {&a.earned, s.Earned, "earned"}, {&a.reversed, s.Reversed, "reversed"},
				{&a.adjusted, s.Adjusted, "adjusted"}, {&reserved, s.Reserved, "reserved"}, {&released, s.Released, "released"},
				{&a.paid, s.PaidOut, "paid_out"}, {&a.withheld, s.Withheld, "withheld"},
				{&uncollected, s.Uncollected, "uncollected"}, {&collected, s.Collected, "collected"}, {&a.awaiting, s.Awaiting, "awaiting"}} {
				if !f.m.IsZero() && f.m.Currency() != s.Currency {
					return nil, fmt.Errorf("%w: statement of %q holds %s amounts in %s", ErrStatementMismatch, s.Party, f.m.Currency(), s.Currency)
				}
				f.dst.plus(t.units(f.m, func() string { return fmt.Sprintf("statement of %q: %s", s.Party, f.name) }))
			}
			if t.err != nil {
				return nil, fmt.Errorf("settlement: merge: %w", t.err)
			}
			a.reserved.plus(reserved)
			a.released.plus(released)
			// Withheld already holds this statement's reserves and
			// releases; keep only what it opened with.
			a.withheld.plus(released)
			a.withheld.minus(reserved)
			// So does Awaiting of what was held back and collected.
			a.uncollected.plus(uncollected)
			a.collected.plus(collected)
			a.awaiting.plus(collected)
			a.awaiting.minus(uncollected)
			a.n += s.Entries
			for _, id := range s.Late {
				if _, twice := lateSeen[id]; twice {
					return nil, fmt.Errorf("settlement: merge: %w: late entry %q folded by two statements of %q: give each late entry to one shard", ErrDuplicateEntry, id, s.Party)
				}
				lateSeen[id] = struct{}{}
			}
			a.late = append(a.late, s.Late...)
			a.before += s.Folded - s.Entries + len(s.Late) // so that the merged Folded is the sum
			d, _ := parseFoldDigest(s.FoldedDigest)        // checked by s.Check
			a.beforeDigest += d                            // and its digest
			a.noDigest = a.noDigest || s.FoldedDigest == "" && (s.Folded != 0 || s.Entries != 0)
		}
	}
	out := make([]Statement, 0, len(accs))
	texts := newDigestTexts(len(accs))
	for k, a := range accs {
		out = append(out, a.statement(stKey{k.party, k.cur}, periods[k], mins, texts))
	}
	sortStatements(out)
	return out, nil
}

// Payout says how a statement's payable balance is paid.
type Payout struct {
	// ID names the payout; the entry id is "payout:<id>".
	ID   string    `json:"id"`
	Date time.Time `json:"date"`
	// Currency is the currency paid in; the zero Currency pays in the
	// statement's currency (or, with Exchange, in Exchange.To). A rate,
	// Exchange or Rate, is required when they differ, and Mode rounds the
	// converted amount once.
	Currency ensemble.Currency `json:"currency,omitzero"`
	// Rate is the rate as a bare ratio: payout units per statement unit.
	// Nothing says which way it was quoted, so a rate given the other way
	// round (a USD→KWD rate for a KWD statement paid in USD) pays its
	// inverse without a word; prefer Exchange, whose pair and direction
	// are checked.
	Rate ensemble.Ratio `json:"rate,omitzero"`
	// Exchange is the rate as a labelled pair, as rates are given
	// everywhere else: From the statement's currency, To the currency paid
	// in, in force at Date (Since not after it). A pair the other way round
	// (from the currency paid in to the statement's: USD→KWD for a KWD
	// statement paid in USD), a pair of other currencies or a rate
	// ExchangeRate.Check refuses is a *ensemble.RateError wrapping
	// ensemble.ErrRate; one not yet in force at Date wraps
	// ensemble.ErrNoRate. Set Exchange or Rate, not both (ErrInvalidPayout).
	// The labels are checked, not the number: a JPY→USD rate typed as the
	// quote of the other way (149.27 for 0.0067) pays 22,000 times too
	// much, so take it from the same table the host converts with, never
	// typed by hand. PayOutConsolidated ignores it, as it does Currency
	// and Rate.
	Exchange *ensemble.ExchangeRate `json:"exchange,omitempty"`
	Mode     ensemble.RoundingMode  `json:"mode,omitempty"`
}

// PayOut returns the payout entry for a statement's payable balance: kind
// payout, the amount in the statement's currency (so the next statement's
// balance nets it), and the conversion when paid in another currency,
// rounded once. Date it at or after the end of the statement's period: a
// payout dated inside it is folded into that period when it is folded
// again, which then no longer shows what was paid. Errors: an id holding
// one of "/:#", no date, or both Rate and Exchange (ErrInvalidPayout, with
// an *ensemble.IDError for the id), a statement that does not hold together
// (Statement.Check, ErrStatementMismatch), nothing payable
// (ErrNothingPayable), another currency without a positive rate
// (ErrCurrency), an Exchange whose pair is not the statement's currency to
// the one paid in, reversed or not, or that cannot be used (a
// *ensemble.RateError: ensemble.ErrRate; ensemble.ErrNoRate when not yet in
// force at the payout's date).
//
// PayOut knows only the statement it is given, not what was paid from it
// before: pay each statement once (keep which statements were paid, by
// party, currency and period, and derive the payout's id from them, so a
// retry reuses it and Statements refuses the duplicate entry). Two payouts
// of one statement under two ids both pay: the next statement opens with
// the second as a negative balance.
func PayOut(st Statement, p Payout) (Entry, error) {
	if err := checkPayout(p); err != nil {
		return Entry{}, err
	}
	if err := st.Check(); err != nil {
		return Entry{}, fmt.Errorf("settlement: payout %q: %w", p.ID, err)
	}
	if !st.Payable.IsPositive() {
		return Entry{}, fmt.Errorf("settlement: payout %q: %w to %q", p.ID, ErrNothingPayable, st.Party)
	}
	cur, rate := p.Currency, p.Rate
	if x := p.Exchange; x != nil {
		if !rate.IsZero() {
			return Entry{}, fmt.Errorf("%w: payout %q sets both rate and exchange: set one", ErrInvalidPayout, p.ID)
		}
		if cur.IsZero() {
			cur = x.To
			if x.To == st.Currency {
				cur = x.From // paid in From, at a reversed rate: refused as one
			}
		}
		if err := payoutRate(*x, st.Currency, cur, p.Date); err != nil {
			return Entry{}, fmt.Errorf("settlement: payout %q: %w", p.ID, err)
		}
		rate = x.Rate
	}
	e := Entry{ID: EntryID("payout:" + p.ID), Kind: KindPayout, Party: st.Party, Amount: st.Payable, Date: p.Date,
		Note: "payout of statement " + st.Period.String()}
	if !cur.IsZero() && cur != st.Currency {
		if rate.Sign() <= 0 {
			return Entry{}, fmt.Errorf("%w: payout %q in %s needs a positive rate", ErrCurrency, p.ID, cur)
		}
		to := ensemble.MoneyFromDecimal(st.Payable.Amount(), cur).MulRatio(rate, p.Mode)
		e.Conversion = &Conversion{From: st.Payable, Rate: rate, Mode: p.Mode, To: to}
	}
	return e, nil
}

// payoutRate checks a payout's labelled rate against the conversion it
// makes, from the statement's currency into the one paid in, at the
// payout's date: a reversed pair, another pair, a rate not above zero or
// not yet in force is a *ensemble.RateError.
func payoutRate(x ensemble.ExchangeRate, from, to ensemble.Currency, at time.Time) error {
	switch {
	case x.From == to && x.To == from && from != to:
		return &ensemble.RateError{From: x.From, To: x.To, Value: fmt.Sprintf(
			"reversed: the payout converts the statement's %s into %s; give the rate from %s to %s", from.Key(), to.Key(), from.Key(), to.Key()), Err: ensemble.ErrRate}
	case x.From != from || x.To != to:
		return &ensemble.RateError{From: x.From, To: x.To, Value: fmt.Sprintf(
			"the payout converts the statement's %s into %s", from.Key(), to.Key()), Err: ensemble.ErrRate}
	}
	if err := x.Check(); err != nil {
		return err
	}
	if x.Since.After(at) {
		return &ensemble.RateError{From: x.From, To: x.To, At: at, Value: "in force only from " + x.Since.UTC().Format(time.RFC3339), Err: ensemble.ErrNoRate}
	}
	return nil
}

// checkPayout refuses a payout id holding a separator payout entry ids
// are joined on ("/:#"), or no date: errors wrap ErrInvalidPayout (and an
// *ensemble.IDError).
func checkPayout(p Payout) error {
	if err := ensemble.CheckID(p.ID, "/"+ensemble.EntrySeparators); err != nil {
		return fmt.Errorf("%w: id: %w", ErrInvalidPayout, err)
	}
	if p.Date.IsZero() {
		return fmt.Errorf("%w: payout %q has no date", ErrInvalidPayout, p.ID)
	}
	return nil
}

// Check reports whether st holds together as Statements folds one: a
// party, a currency and a valid period; every amount in Currency (or
// zero) and in whole minor units; Closing = Opening + Earned + Reversed +
// Adjusted - Reserved + Released - Uncollected + Collected - PaidOut; Payable all of a positive
// Closing or nothing; CarriedForward = Closing - Payable; a count of
// entries that is not negative; and a FoldedDigest of 16 lower-case
// hexadecimal digits, only beside a Folded count, or none. It cannot know the minimum payout or the
// previous period, so a Payable of zero on a positive Closing passes.
// Errors wrap ErrStatementMismatch and name the party and figure. PayOut,
// Merge, Consolidate, ExplainStatement and Statements (for Previous) call
// it on what they are given, so a tampered or hand-built statement is
// refused, never paid.
func (st Statement) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: statement of %q in %s for %s: %s", ErrStatementMismatch, st.Party, st.Currency.Code(), st.Period, fmt.Sprintf(format, args...))
	}
	switch {
	case st.Party == "":
		return bad("no party")
	case st.Currency.IsZero():
		return bad("no currency")
	case st.Entries < 0:
		return bad("%d entries", st.Entries)
	case len(st.Late) > st.Entries:
		return bad("%d late entries of %d", len(st.Late), st.Entries)
	case st.Folded != 0 && st.Folded < st.Entries:
		return bad("folded %d, fewer than its %d entries", st.Folded, st.Entries)
	case st.FoldedDigest != "" && st.Folded == 0:
		return bad("a folded digest %q of no entry folded", st.FoldedDigest)
	}
	if _, err := parseFoldDigest(st.FoldedDigest); err != nil {
		return bad("%v", err)
	}
	wrap := func(err error) error {
		return fmt.Errorf("%w: statement of %q in %s: %w", ErrStatementMismatch, st.Party, st.Currency.Code(), err)
	}
	if err := st.Period.Validate(); err != nil {
		return wrap(err)
	}
	var t tally
	fields := st.fields()
	units := make(map[string]sum, len(fields))
	for _, f := range fields {
		if !f.m.IsZero() && f.m.Currency() != st.Currency {
			return bad("%s holds %s", f.name, f.m.Currency())
		}
		units[f.name] = t.units(f.m, func() string { return f.name })
	}
	if t.err != nil {
		return wrap(t.err)
	}
	closing := units["opening"]
	for _, in := range []string{"earned", "reversed", "adjusted", "released"} {
		closing.plus(units[in])
	}
	closing.minus(units["reserved"])
	closing.minus(units["paid_out"])
	closing.minus(units["uncollected"])
	closing.plus(units["collected"])
	payable, carried := units["payable"], units["closing"]
	carried.minus(payable)
	switch {
	case closing.cmp(units["closing"]) != 0:
		return bad("closing %s is not opening + earned + reversed + adjusted - reserved + released - uncollected + collected - paid out = %s", st.Closing.AmountString(), closing.money(st.Currency).AmountString())
	case payable.sign() != 0 && (payable.cmp(units["closing"]) != 0 || payable.sign() < 0):
		return bad("payable %s is neither zero nor all of a positive closing %s", st.Payable.AmountString(), st.Closing.AmountString())
	case carried.cmp(units["carried_forward"]) != 0:
		return bad("carried forward %s is not closing - payable = %s", st.CarriedForward.AmountString(), carried.money(st.Currency).AmountString())
	}
	return nil
}

// fields lists the statement's amounts by their JSON names.
func (st *Statement) fields() []struct {
	name string
	m    ensemble.Money
} {
	return []struct {
		name string
		m    ensemble.Money
	}{{"opening", st.Opening}, {"earned", st.Earned}, {"reversed", st.Reversed}, {"adjusted", st.Adjusted},
		{"reserved", st.Reserved}, {"released", st.Released}, {"paid_out", st.PaidOut}, {"closing", st.Closing},
		{"payable", st.Payable}, {"carried_forward", st.CarriedForward}, {"withheld", st.Withheld},
		{"uncollected", st.Uncollected}, {"collected", st.Collected}, {"awaiting", st.Awaiting}}
}
