package settlement

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

// Explain renders the settlement of one line as a text tree a finance
// person can read: the line, its plan, then every plan node that paid
// something, with its amount (a node paid nothing, whose share went to
// its remaining sibling, has no entry and is not shown: the sibling's
// entries note a share that fell back to it, see FallbackRemaining), and
// at each leaf the party, role, share, rules and entry kind (a
// retroactive tier's true-ups, KindTrueUp, at the leaves they pay and
// fund, their share and note saying which tier the line crossed and what
// the window's earlier lines were paid);
// reserves, releases, holds and clawbacks of the line appear under the
// entry they act on, a clawback's note saying who bore the credit or lost
// dispute (see Bearer), and a dispute's fee after the tree. It follows the entries' references and never
// re-derives a figure: amounts of inner nodes are the sums of the entries
// below them (exact beyond the int64 range of minor units). A line that
// earned nothing itself (a credit-note or proration-credit line, a write-off
// "<line>#writeoff.<id>", a lost dispute "<line>#dispute.<n>") is rendered
// as the entries it made, headed by the value they moved: their clawbacks
// and fees, not the uncollected, reserve, release or hold entries beside
// them, which move none (on a plan payable on collection each clawback has an
// uncollected twin, which the header once added: a credit of 500.00 read
// -1000.00). entries may
// hold other lines' entries; a line without entries is an error (a line
// settled at zero has none: State.Line says it was settled), and so
// are an amount that is not whole minor units and an id two of the line's
// entries share (*DuplicateEntryError).
//
// Entry ids are opaque to it: an entry belongs to the line its typed
// references name (Entry.Trace's last RefLine reference: the line itself
// for an earning, supplier cost, reserve, hold or release, the credited
// line for a clawback; Entry.Line for an entry without one), and a
// reserve, hold, release or clawback is shown under the entry its
// Reverses names. A host that stores entries under keys of its own, and
// rewrites Reverses to match, gets the same tree.
func Explain(line LineID, entries []Entry) (string, error) {
	type tnode struct {
		name     string
		total    sum
		entries  []*Entry
		children []*tnode
		kids     map[string]*tnode
	}
	root := &tnode{kids: map[string]*tnode{}}
	var cur ensemble.Currency
	var total sum
	var plan ensemble.Ref
	var trace []ensemble.Ref
	followers := map[EntryID][]*Entry{}
	found := false
	var t tally
	seen := map[EntryID]int{}
	for i := range entries {
		e := &entries[i]
		about := actsOn(e)
		if e.Line != line && about != line {
			continue
		}
		if j, dup := seen[e.ID]; dup {
			return "", fmt.Errorf("settlement: explain: %w", &DuplicateEntryError{ID: e.ID, First: j, Second: i})
		}
		seen[e.ID] = i
		found = true
		if e.Kind != KindEarning && e.Kind != KindSupplierCost && e.Kind != KindTrueUp || about != line {
			followers[e.Reverses] = append(followers[e.Reverses], e)
			continue
		}
		v := e.LineAmount() // the line's currency, whatever the party is paid in
		u := t.units(v, func() string { return fmt.Sprintf("entry %q", e.ID) })
		if t.err != nil {
			return "", fmt.Errorf("settlement: explain: %w", t.err)
		}
		cur, plan = v.Currency(), e.Plan
		total.plus(u)
		if trace == nil {
			trace = e.Trace
		}
		n := root
		n.total.plus(u)
		for _, seg := range strings.Split(e.Node, "/") {
			c := n.kids[seg]
			if c == nil {
				c = &tnode{name: seg, kids: map[string]*tnode{}}
				n.kids[seg] = c
				n.children = append(n.children, c)
			}
			c.total.plus(u)
			n = c
		}
		n.entries = append(n.entries, e)
	}
	if !found {
		return "", fmt.Errorf("settlement: explain: %w: no entries for line %q (a line settled at zero moves nothing and has none: State.Line says whether it was settled)", ErrUnknownLine, line)
	}
	if len(root.children) == 0 {
		return explainCredit(line, entries)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "line %s  %s", line, total.money(cur))
	if plan.ID != "" {
		fmt.Fprintf(&b, "  plan %s@%s", plan.ID, plan.Version)
	}
	b.WriteByte('\n')
	if len(trace) > 0 {
		parts := make([]string, 0, len(trace))
		for _, t := range trace {
			if t.Kind != RefLine || t.ID != string(line) {
				parts = append(parts, t.String())
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, "  trace: %s\n", strings.Join(parts, ", "))
		}
	}
	// An entry's followers are listed under it, and theirs under them (a
	// rolling reserve's draws under the reserve they draw on), each once
	// however hand-built entries chain their Reverses.
	shown := map[EntryID]bool{}
	var follow func(id EntryID, indent string)
	follow = func(id EntryID, indent string) {
		for _, f := range followers[id] {
			if shown[f.ID] {
				continue
			}
			shown[f.ID] = true
			fmt.Fprintf(&b, "%s    %s %s%s on %s", indent, f.Kind, f.Amount, inLine(f), f.Date.UTC().Format("2006-01-02"))
			if f.Note != "" {
				fmt.Fprintf(&b, ", %s", f.Note)
			}
			b.WriteByte('\n')
			follow(f.ID, indent+"  ")
		}
	}
	var walk func(n *tnode, indent string)
	walk = func(n *tnode, indent string) {
		for i, c := range n.children {
			last := i == len(n.children)-1
			branch, next := "├─ ", "│  "
			if last {
				branch, next = "└─ ", "   "
			}
			fmt.Fprintf(&b, "%s%s%s  %s", indent, branch, c.name, c.total.money(cur))
			inline := len(c.entries) == 1 && len(c.children) == 0
			if !inline {
				b.WriteByte('\n')
			}
			for _, e := range c.entries {
				if !inline {
					fmt.Fprintf(&b, "%s%s  %s", indent, next, e.LineAmount())
				}
				writeEntry(&b, e)
				follow(e.ID, indent+next)
			}
			walk(c, indent+next)
		}
	}
	walk(root, "")
	// A dispute's fee acts on no entry of the line.
	for _, f := range followers[""] {
		if f.Kind != KindFee {
			continue // an adjustment about the line is not shown in its tree
		}
		fmt.Fprintf(&b, "   %s %s -> %s on %s", f.Kind, f.Amount, f.Party, f.Date.UTC().Format("2006-01-02"))
		if f.Note != "" {
			fmt.Fprintf(&b, ", %s", f.Note)
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// explainCredit renders a line that earned nothing itself — a credit-note
// or proration-credit line, a write-off, a lost dispute — as what it did:
// the entries of the credited line it clawed back (or held, released, took
// off what awaits payment), one per party, in entry order, under a header
// giving the value it moved: its clawbacks and fees (movesValue). The other
// entries move no value (an uncollected entry taking a clawback's amount off
// what awaits the customer's payment, a reserve drawn to meet it), so adding
// them would count the credit twice on a plan payable on collection.
func explainCredit(line LineID, entries []Entry) (string, error) {
	var b strings.Builder
	var total ensemble.Money
	var lines []string
	var credited string
	for i := range entries {
		e := &entries[i]
		if e.Line != line {
			continue
		}
		if total.Currency().Code() == "" {
			total = ensemble.MoneyFromMinor(0, e.LineAmount().Currency()) // zero in the line's currency until something moves value
		}
		if movesValue(e.Kind) {
			sum, err := total.Add(e.LineAmount())
			if err != nil {
				return "", fmt.Errorf("settlement: explain: entry %q: %w", e.ID, err)
			}
			total = sum
		}
		if c := actsOn(e); c != line && credited == "" {
			credited = string(c)
		}
		if e.Reverses == "" { // a dispute's fee
			lines = append(lines, fmt.Sprintf("%s %s -> %s, %s", e.Kind, e.Amount, e.Party, e.Note))
			continue
		}
		node := e.Node
		if node == "" {
			node = string(e.Reverses)
		}
		l := fmt.Sprintf("%s  %s %s%s -> %s (of entry %s)", node, e.Kind, e.Amount, inLine(e), e.Party, e.Reverses)
		if e.Share != "" { // who bore it
			l += ", " + e.Share
		}
		lines = append(lines, l)
	}
	fmt.Fprintf(&b, "line %s  %s", line, total)
	if credited != "" {
		fmt.Fprintf(&b, "  credits line %s", credited)
	}
	b.WriteByte('\n')
	for i, l := range lines {
		branch := "├─ "
		if i == len(lines)-1 {
			branch = "└─ "
		}
		b.WriteString(branch + l + "\n")
	}
	return b.String(), nil
}

// movesValue reports whether entries of kind k move value between the
// parties of a line, as ComputeMetrics counts them: earnings, supplier
// costs, clawbacks, adjustments, fees and true-ups. Reserves, releases, holds, what
// awaits or was collected of a line payable on collection, and payouts only
// say when the value is payable.
func movesValue(k EntryKind) bool {
	switch k {
	case KindEarning, KindSupplierCost, KindClawback, KindAdjustment, KindFee, KindTrueUp:
		return true
	}
	return false
}

// actsOn returns the settled line e belongs to or acts on: the last
// RefLine reference of its trace (the settler ends every entry's trace
// with it), or Line for an entry whose trace has none.
func actsOn(e *Entry) LineID {
	for i := len(e.Trace) - 1; i >= 0; i-- {
		if e.Trace[i].Kind == RefLine {
			return LineID(e.Trace[i].ID)
		}
	}
	return e.Line
}

// writeEntry writes " -> party (role), kind, share, rules, note" and a
// newline; the kind only when it is not an earning, rules only when the
// share text does not already name them.
func writeEntry(b *strings.Builder, e *Entry) {
	fmt.Fprintf(b, " -> %s", e.Party)
	if e.Role != "" && e.Role != string(e.Party) {
		fmt.Fprintf(b, " (%s)", e.Role)
	}
	if e.Kind != KindEarning {
		fmt.Fprintf(b, ", %s", e.Kind)
	}
	if e.Share != "" {
		fmt.Fprintf(b, ", share %s", e.Share)
	}
	if c := e.Conversion; c != nil && e.Kind != KindPayout {
		fmt.Fprintf(b, ", paid as %s (at %s)", c.From, c.Rate)
	}
	var rs []string
	for _, r := range e.Rules {
		name := r.ID + "@" + r.Version
		if r.Kind == rules.RefKindTable {
			name = "table " + name
		}
		if !strings.Contains(e.Share, r.ID+"@"+r.Version) {
			rs = append(rs, name)
		}
	}
	if len(rs) > 0 {
		fmt.Fprintf(b, ", rules %s", strings.Join(rs, ", "))
	}
	if e.Note != "" {
		fmt.Fprintf(b, ", %s", e.Note)
	}
	b.WriteByte('\n')
}

// inLine returns, for an entry of a supplier cost owed in another currency
// than its line's, what it moves of the line, as " (USD -57.60 of the
// line)"; else "".
func inLine(e *Entry) string {
	if e.Conversion == nil || e.Kind == KindPayout {
		return ""
	}
	return " (" + e.Conversion.To.String() + " of the line)"
}

// ExplainEntry renders the path back from one entry to where it came
// from: the entry, the plan node and rules that decided it, the entry it
// acts on, the line and the line's trace (invoice line, order line, usage
// aggregate...).
func ExplainEntry(e Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "entry %s: %s %s to %s\n", e.ID, e.Kind, e.Amount, e.Party)
	if e.Node != "" {
		fmt.Fprintf(&b, "  <- node %s of plan %s@%s", e.Node, e.Plan.ID, e.Plan.Version)
		if e.Role != "" {
			fmt.Fprintf(&b, " (role %s)", e.Role)
		}
		if e.Share != "" {
			fmt.Fprintf(&b, ", share %s", e.Share)
		}
		b.WriteByte('\n')
	}
	for _, r := range e.Rules {
		fmt.Fprintf(&b, "  <- %s %s version %s\n", r.Kind, r.ID, r.Version)
	}
	if e.Reverses != "" {
		fmt.Fprintf(&b, "  <- acts on entry %s\n", e.Reverses)
	}
	if e.Note != "" {
		fmt.Fprintf(&b, "  <- %s", e.Note)
		if e.Approver != "" {
			fmt.Fprintf(&b, " (approved by %s)", e.Approver)
		}
		b.WriteByte('\n')
	}
	if e.Line != "" {
		fmt.Fprintf(&b, "  <- line %s\n", e.Line)
	}
	for _, t := range e.Trace {
		if t.Kind == RefLine && t.ID == string(e.Line) {
			continue
		}
		fmt.Fprintf(&b, "  <- %s\n", t)
	}
	return b.String()
}

// ExplainStatement renders a statement as the entries behind each of its
// figures, in text a partner's finance person can read: for earned,
// reversed, adjusted, reserved, released, uncollected and collected (these
// two only for a party with lines payable on collection) and paid out,
// every entry of the statement's party, currency and period, and the late
// ones it folded (Statement.Late, marked late), in date then id order
// (fees under adjusted), with the line it belongs to, the plan
// node, share and rules that decided it, the entry a clawback, reserve,
// hold, release or collection acts on, and an adjustment's reason and
// approver; then the opening, closing and payable balances, the carried
// and withheld ones when they are not zero, and what awaits payment when
// it is not zero or the party has lines payable on collection (where 0.00
// says everything was paid or given up).
//
// It checks the statement holds together (Statement.Check: closing,
// payable, carried forward), re-adds the entries exactly and counts them,
// and refuses a statement they do not add up to (ErrStatementMismatch
// naming the figure), so what it prints is the proof of the statement, not
// a second opinion. It cannot see the previous period: Opening and
// Withheld are as given. entries may hold other
// parties', currencies' and periods' entries; an id given twice is a
// *DuplicateEntryError, as in Statements.
func ExplainStatement(st Statement, entries []Entry) (string, error) {
	fail := func(err error) (string, error) { return "", fmt.Errorf("settlement: explain statement: %w", err) }
	if err := st.Check(); err != nil {
		return fail(err)
	}
	if err := duplicateEntryAt(entries); err != nil {
		return fail(err)
	}
	// Uncollected and collected are shown only when the party has lines
	// payable on collection.
	figures := []struct {
		name     string
		kinds    []EntryKind
		want     ensemble.Money
		optional bool
	}{
		{"earned", []EntryKind{KindEarning, KindSupplierCost, KindTrueUp}, st.Earned, false},
		{"reversed", []EntryKind{KindClawback}, st.Reversed, false},
		{"adjusted", []EntryKind{KindAdjustment, KindFee}, st.Adjusted, false},
		{"reserved", []EntryKind{KindReserve, KindHold}, st.Reserved, false},
		{"released", []EntryKind{KindRelease}, st.Released, false},
		{"uncollected", []EntryKind{KindUncollected}, st.Uncollected, true},
		{"collected", []EntryKind{KindCollected}, st.Collected, true},
		{"paid out", []EntryKind{KindPayout}, st.PaidOut, false},
	}
	var mine []*Entry
	late := 0
	for i := range entries {
		e := &entries[i]
		if e.Party != st.Party || e.Amount.Currency() != st.Currency {
			continue
		}
		if _, isLate := slices.BinarySearch(st.Late, e.ID); isLate && e.Date.Before(st.Period.Start) {
			late++
			mine = append(mine, e)
		} else if st.Period.Contains(e.Date) {
			mine = append(mine, e)
		}
	}
	if late != len(st.Late) {
		return fail(fmt.Errorf("%w: statement of %q folded %d late entries, %d of them are given", ErrStatementMismatch, st.Party, len(st.Late), late))
	}
	slices.SortStableFunc(mine, func(a, b *Entry) int { return cmp.Or(a.Date.Compare(b.Date), cmp.Compare(a.ID, b.ID)) })
	var b strings.Builder
	fmt.Fprintf(&b, "statement of %s in %s, %s\n", st.Party, st.Currency.Code(), periodText(st.Period))
	fmt.Fprintf(&b, "  %-10s %12s\n", "opening", st.Opening.AmountString())
	var t tally
	for _, f := range figures {
		var total sum
		var lines []string
		for _, e := range mine {
			if !slices.Contains(f.kinds, e.Kind) {
				continue
			}
			total.plus(t.units(e.Amount, func() string { return fmt.Sprintf("entry %q", e.ID) }))
			lines = append(lines, statementEntry(e, e.Date.Before(st.Period.Start)))
		}
		if t.err != nil {
			return fail(t.err)
		}
		if got := total.money(st.Currency); !got.Equal(f.want) && !(got.IsZero() && f.want.IsZero()) {
			return fail(fmt.Errorf("%w: %s of %q is %s, but its entries add up to %s", ErrStatementMismatch, f.name, st.Party, f.want, got))
		}
		if f.optional && len(lines) == 0 && f.want.IsZero() {
			continue
		}
		fmt.Fprintf(&b, "  %-11s %11s", f.name, f.want.AmountString())
		if len(lines) > 0 {
			fmt.Fprintf(&b, "  (%d %s)", len(lines), plural(len(lines), "entry", "entries"))
		}
		b.WriteByte('\n')
		for _, l := range lines {
			b.WriteString("    " + l + "\n")
		}
	}
	if counted := len(mine); counted != st.Entries {
		return fail(fmt.Errorf("%w: statement of %q counts %d entries, but %d are in its period", ErrStatementMismatch, st.Party, st.Entries, counted))
	}
	fmt.Fprintf(&b, "  %-10s %12s\n", "closing", st.Closing.AmountString())
	fmt.Fprintf(&b, "  %-10s %12s\n", "payable", st.Payable.AmountString())
	if !st.CarriedForward.IsZero() {
		fmt.Fprintf(&b, "  %-10s %12s\n", "carried", st.CarriedForward.AmountString())
	}
	if !st.Withheld.IsZero() {
		fmt.Fprintf(&b, "  %-10s %12s\n", "withheld", st.Withheld.AmountString())
	}
	// What awaits the customer's payment, for a party with lines payable
	// on collection: zero too, which says everything was paid or given up.
	onCollection := slices.ContainsFunc(mine, func(e *Entry) bool { return e.Kind == KindUncollected || e.Kind == KindCollected })
	if !st.Awaiting.IsZero() || onCollection {
		fmt.Fprintf(&b, "  %-10s %12s\n", "awaiting", st.Awaiting.AmountString())
	}
	return b.String(), nil
}

// statementEntry writes one entry of a statement: date, amount, line and
// what decided it; "late" marks one dated before the statement's period
// (Statement.Late).
func statementEntry(e *Entry, late bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %12s  ", e.Date.UTC().Format("2006-01-02"), e.Amount.AmountString())
	if late {
		b.WriteString("late, made after its period was folded: ")
	}
	switch {
	case e.Kind == KindPayout:
		b.WriteString("payout " + string(e.ID))
		if c := e.Conversion; c != nil {
			fmt.Fprintf(&b, ", paid as %s at %s", c.To, c.Rate)
		}
	case e.Kind == KindFee:
		fmt.Fprintf(&b, "fee: %s, line %s", e.Note, actsOn(e))
	case e.Kind == KindAdjustment:
		fmt.Fprintf(&b, "adjustment: %s", e.Note)
		if e.Approver != "" {
			fmt.Fprintf(&b, " (approved by %s)", e.Approver)
		}
		if e.Line != "" {
			fmt.Fprintf(&b, ", line %s", e.Line)
		}
	default:
		fmt.Fprintf(&b, "line %s", e.Line)
		if about := actsOn(e); about != e.Line {
			fmt.Fprintf(&b, " (credits line %s)", about)
		}
		if e.Kind != KindEarning {
			fmt.Fprintf(&b, ", %s", strings.ReplaceAll(e.Kind.String(), "_", " "))
		}
		if e.Node != "" {
			fmt.Fprintf(&b, ", node %s", e.Node)
			if e.Plan.ID != "" {
				fmt.Fprintf(&b, " of plan %s@%s", e.Plan.ID, e.Plan.Version)
			}
		}
		if e.Share != "" {
			fmt.Fprintf(&b, ", share %s", e.Share)
		}
		var rs []string
		for _, r := range e.Rules {
			if !strings.Contains(e.Share, r.ID+"@"+r.Version) {
				rs = append(rs, r.ID+"@"+r.Version)
			}
		}
		if len(rs) > 0 {
			fmt.Fprintf(&b, ", rules %s", strings.Join(rs, ", "))
		}
		if e.Reverses != "" {
			fmt.Fprintf(&b, ", on entry %s", e.Reverses)
		}
		if e.Note != "" {
			fmt.Fprintf(&b, ", %s", e.Note)
		}
	}
	return b.String()
}

// periodText writes a period of whole days as its first and last day
// ("2026-03-01 to 2026-03-31"), any other as its half-open interval.
func periodText(p ensemble.Period) string {
	start, end := p.Start.UTC(), p.End.UTC()
	if start.Truncate(24*time.Hour).Equal(start) && end.Truncate(24*time.Hour).Equal(end) {
		return start.Format("2006-01-02") + " to " + end.AddDate(0, 0, -1).Format("2006-01-02")
	}
	return p.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
