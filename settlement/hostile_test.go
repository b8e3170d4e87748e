package settlement_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// hostilePlans are mixedCollectPlans (lines on collection, lines paid on
// settlement on the same invoices) and, for offer "res", a plan with a
// leaf's reserve and a rolling reserve (whose disputes hold at the
// reserves' releases).
const hostilePlans = mixedCollectPlans + `
- id: held
  version: 1
  offers: [res]
  routes: [partner]
  reserves: [{party: sub-utrecht, ratio: "10%", days: 90}]
  root:
    id: root
    children:
      - {id: platform, party: platform, share: "20%"}
      - {id: reseller, party: reseller, share: "30%", reserve: {ratio: "50%", days: 30}}
      - {id: seller, party: seller, share: remaining}
`

// settlementSentinels are the errors a settler's operation may refuse
// with: every refusal matches one.
var settlementSentinels = []error{
	settlement.ErrInvalidLine, settlement.ErrAlreadySettled, settlement.ErrLineConflict, settlement.ErrNoPlan,
	settlement.ErrOverCredit, settlement.ErrBeforeWindow, settlement.ErrUnknownLine, settlement.ErrDisputed,
	settlement.ErrNotDisputed, settlement.ErrSupplierCosts, settlement.ErrCurrency, settlement.ErrInvalidCollection,
	settlement.ErrUnknownInvoice, settlement.ErrOverCollection, settlement.ErrCollectionApplied, settlement.ErrNotOnCollection,
	settlement.ErrInvalidDispute, settlement.ErrBearerShortfall, settlement.ErrBearerNotOnLine, settlement.ErrDuplicateEntry,
	settlement.ErrCorruptState, settlement.ErrUnknownPlanVersion, settlement.ErrBasisMismatch, settlement.ErrNoBasisKind,
	settlement.ErrRule, settlement.ErrAmbiguousPlan, settlement.ErrUnknownParty, settlement.ErrUnknownSupplier,
	settlement.ErrReserveOnCollection,
}

// hostileOp draws one operation on st (a sale, a credit, a payment, a
// write-off, a dispute or its end, a prune) and applies it.
func hostileOp(t *rapid.T, s *settlement.Settler, st settlement.State, label string, at time.Time) (settlement.Result, error) {
	r, _, err := hostileOpWith(t, s, st, label, at)
	return r, err
}

// hostileMove is what an operation says it moves: a payment's or
// write-off's amount, a credit's or a lost dispute's share of a line.
type hostileMove struct {
	collected, writtenOff int64
	line                  settlement.LineID
	credited              int64
}

// hostileOpWith is hostileOp, saying what the operation moves.
func hostileOpWith(t *rapid.T, s *settlement.Settler, st settlement.State, label string, at time.Time) (settlement.Result, hostileMove, error) {
	var mv hostileMove
	wrap := func(r settlement.Result, err error) (settlement.Result, hostileMove, error) { return r, mv, err }
	ids := []settlement.LineID{"L1", "L2", "L3", "L4", "L5", "Sh5", "Sh6", "Sx0", "Sx1", "C1", "C2"}
	id := rapid.SampledFrom(ids).Draw(t, label+".line")
	ll, held := st.Line(id)
	inv := rapid.SampledFrom([]string{"INV-1", "INV-2", "INV-3"}).Draw(t, label+".invoice")
	amount := rapid.Int64Range(1, 40_000).Draw(t, label+".amount")
	switch kind := rapid.IntRange(0, 7).Draw(t, label+".kind"); {
	case kind <= 1 || !held: // a sale or a credit
		if !held || kind == 0 {
			l := hostileLine(t, label+".sale", settlement.LineID("S"+label), inv, at)
			return wrap(s.Settle(ctx, st, []settlement.Line{l}))
		}
		left := minorOf(ll.Basis) - minorOf(ll.Credited)
		x := rapid.Int64Range(0, max(0, left)+1).Draw(t, label+".credit")
		var tax int64 // the line's rate on x, half up
		if c := balanceOf(ll); c != nil && minorOf(ll.Basis) > 0 {
			tax = basisShare(minorOf(c.Total)-minorOf(ll.Basis), x, minorOf(ll.Basis))
		}
		c := settlement.Line{ID: settlement.LineID(rapid.SampledFrom([]string{"C1", "C2", "C3", "C" + label}).Draw(t, label+".credit.id")), Credits: id, Date: at,
			Amount: eurMinor(-x), Tax: eurMinor(-tax)}
		if rapid.Bool().Draw(t, label+".netted") {
			c.Invoice = inv
		}
		mv.line, mv.credited = id, x
		return wrap(s.Settle(ctx, st, []settlement.Line{c}))
	case kind <= 3: // a payment, or a write-off
		c := settlement.Collection{ID: rapid.SampledFrom([]string{"P1", "P2", "P3", "P" + label}).Draw(t, label+".collection.id"), Date: at, Amount: eurMinor(amount)}
		if rapid.Bool().Draw(t, label+".by_invoice") {
			c.Invoice = inv
		} else {
			c.Lines = []settlement.LineID{id}
		}
		if kind == 2 {
			mv.collected = amount
			return wrap(s.Collect(st, c))
		}
		mv.writtenOff = amount
		return wrap(s.WriteOff(st, c))
	case kind == 4:
		return wrap(s.Dispute(st, id, at))
	case kind == 5:
		o := settlement.DisputeOutcome{Won: rapid.Bool().Draw(t, label+".won")}
		if !o.Won {
			o.Lost = eurMinor(rapid.Int64Range(0, max(0, minorOf(ll.Basis)-minorOf(ll.Credited))).Draw(t, label+".lost"))
		}
		mv.line, mv.credited = id, minorOf(o.Lost)
		return wrap(s.ResolveDisputeWith(st, id, o, at))
	default:
		return settlement.Result{State: st.Prune(at.AddDate(0, 0, -rapid.IntRange(0, 60).Draw(t, label+".prune")))}, mv, nil
	}
}

// hostileLine draws a sale of offer cloud-backup (payable on collection),
// svc (paid on settlement) or res (with reserves).
func hostileLine(t *rapid.T, label string, id settlement.LineID, inv string, at time.Time) settlement.Line {
	l := chainLine(string(id), "0", "2026-03-01")
	l.Date = at
	a := rapid.Int64Range(0, 100_000).Draw(t, label+".amount")
	l.Amount, l.Tax = eurMinor(a), eurMinor(rapid.Int64Range(0, a/4).Draw(t, label+".tax"))
	l.Invoice = inv
	l.Service = ensemble.MustPeriod(at, at.AddDate(0, 1, 0))
	switch rapid.IntRange(0, 2).Draw(t, label+".offer") {
	case 1:
		l.Offer = catalog.Pin{Offer: "svc", Version: 1}
	case 2:
		l.Offer, l.Invoice = catalog.Pin{Offer: "res", Version: 1}, ""
	}
	if l.Offer.Offer != "res" && rapid.IntRange(0, 3).Draw(t, label+".cost") == 0 {
		l.SupplierCosts = []catalog.SupplierCost{{Supplier: "supplier-backup", Offer: "backup",
			Component: ensemble.Ref{Kind: "bundle_component", ID: "c1", Version: "1"}, Cost: eurMinor(a / 3)}}
	}
	return l
}

// requireTypedRefusal requires err to match one of settlementSentinels.
func requireTypedRefusal(t *rapid.T, err error, what string) {
	for _, s := range settlementSentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("%s: untyped error %v", what, err)
}

// hostilePoint is one place in a state's JSON a hand may edit.
type hostilePoint struct {
	path string
	get  func() any
	set  func(any)
}

// hostilePoints lists every value of doc (objects and arrays included).
func hostilePoints(path string, v any, set func(any), out *[]hostilePoint) {
	cur := v
	*out = append(*out, hostilePoint{path: path, get: func() any { return cur }, set: set})
	switch x := v.(type) {
	case map[string]any:
		if _, money := x["currency"]; money && len(x) == 2 {
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			hostilePoints(path+"."+k, x[k], func(n any) { x[k] = n }, out)
		}
	case []any:
		for i := range x {
			hostilePoints(fmt.Sprintf("%s[%d]", path, i), x[i], func(n any) { x[i] = n }, out)
		}
	}
}

// optionalFields are fields a state omits when zero or empty, by a key
// the object holding them has.
var optionalFields = map[string][]string{
	"entry": {"held", "held_by_reserves", "awaiting", "reserve", "held_at_release", "source"},
	"total": {"credited", "write_off_clawback", "unfunded", "set_off", "pending", "lent_to", "ids", "invoice"},
	"parts": {"lost", "collection", "receivable", "disputed", "disputes", "service"},
}

// hostileEdit edits doc at one drawn point as a hand might, and says how.
func hostileEdit(t *rapid.T, doc any) string {
	var points []hostilePoint
	hostilePoints("", doc, func(any) {}, &points)
	// Half the edits are of what collections, receivables, disputes and
	// reserves record, which few points of a state are.
	if rapid.Bool().Draw(t, "deep") {
		points = slices.DeleteFunc(points, func(p hostilePoint) bool {
			return !strings.Contains(p.path, "collection") && !strings.Contains(p.path, "receivable") &&
				!strings.Contains(p.path, "held") && !strings.Contains(p.path, "reserve") && !strings.Contains(p.path, "disput")
		})
		if len(points) == 0 {
			return "nothing"
		}
		points = append([]hostilePoint{{}}, points...)
	}
	p := points[rapid.IntRange(1, len(points)-1).Draw(t, "point")]
	// A string is replaced by another of the same key (a line id by a
	// line id), or of any.
	key := p.path[strings.LastIndexAny(p.path, ".]")+1:]
	strs, same := map[string]bool{}, map[string]bool{}
	var walk func(k string, v any)
	walk = func(k string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				walk(k, y)
			}
		case []any:
			for _, y := range x {
				walk(k, y)
			}
		case string:
			strs[x] = true
			if k == key {
				same[x] = true
			}
		}
	}
	walk("", doc)
	if len(same) > 1 && rapid.IntRange(0, 3).Draw(t, "same") > 0 {
		strs = same
	}
	pool := make([]string, 0, len(strs))
	for s := range strs {
		pool = append(pool, s)
	}
	sort.Strings(pool)
	switch v := p.get().(type) {
	case map[string]any:
		if _, money := v["currency"]; money && len(v) == 2 {
			d := rapid.SampledFrom([]int64{-10_000, -100, -1, 1, 100, 10_000}).Draw(t, "delta")
			p.set(shift(v, d))
			return fmt.Sprintf("%s moved by %d", p.path, d)
		}
		for key, fields := range optionalFields {
			if _, ok := v[key]; !ok {
				continue
			}
			f := rapid.SampledFrom(fields).Draw(t, "field")
			if _, has := v[f]; has {
				delete(v, f)
				return fmt.Sprintf("%s.%s deleted", p.path, f)
			}
			var n any = moneyJSON(fmt.Sprintf("%d.%02d", rapid.IntRange(0, 50).Draw(t, "units"), rapid.IntRange(0, 99).Draw(t, "cents")), "EUR")
			switch f {
			case "held_at_release":
				n = []any{map[string]any{"amount": n, "date": "2026-04-15T00:00:00Z"}}
			case "pending":
				n = []any{map[string]any{"credit": rapid.SampledFrom(pool).Draw(t, "credit"), "line": rapid.SampledFrom(pool).Draw(t, "from"), "amount": n}}
			case "lent_to", "ids":
				n = []any{rapid.SampledFrom(pool).Draw(t, "str")}
			case "invoice":
				n = rapid.SampledFrom(pool).Draw(t, "str")
			case "collection", "receivable":
				n = map[string]any{"invoice": "INV-1", "total": moneyJSON("0.00", "EUR"), "collected": moneyJSON("0.00", "EUR"), "written_off": moneyJSON("0.00", "EUR")}
			case "disputed":
				n = true
			case "disputes":
				n = 1
			case "service":
				n = map[string]any{"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}
			}
			v[f] = n
			return fmt.Sprintf("%s.%s added: %v", p.path, f, n)
		}
		return "nothing"
	case []any:
		if len(v) == 0 {
			return "nothing"
		}
		i := rapid.IntRange(0, len(v)-1).Draw(t, "index")
		switch rapid.IntRange(0, 2).Draw(t, "array") {
		case 0:
			if p.path == ".lines" {
				// A state without a line is an older state's: the line
				// settles again, as it would there.
				return "nothing"
			}
			p.set(slices.Delete(slices.Clone(v), i, i+1))
			return fmt.Sprintf("%s[%d] deleted", p.path, i)
		case 1:
			p.set(slices.Insert(slices.Clone(v), i, deepCopy(v[i])))
			return fmt.Sprintf("%s[%d] doubled", p.path, i)
		default:
			j := rapid.IntRange(0, len(v)-1).Draw(t, "swap")
			v[i], v[j] = v[j], v[i]
			return fmt.Sprintf("%s[%d] and [%d] swapped", p.path, i, j)
		}
	case bool:
		p.set(!v)
		return fmt.Sprintf("%s toggled", p.path)
	case float64:
		d := rapid.SampledFrom([]float64{-1, 1, 2}).Draw(t, "delta")
		p.set(v + d)
		return fmt.Sprintf("%s moved by %v", p.path, d)
	case string:
		if tm, err := time.Parse(time.RFC3339, v); err == nil {
			d := rapid.SampledFrom([]int{-40, -1, 1, 40}).Draw(t, "days")
			p.set(tm.AddDate(0, 0, d).Format(time.RFC3339))
			return fmt.Sprintf("%s moved by %d days", p.path, d)
		}
		n := rapid.SampledFrom(pool).Draw(t, "str")
		p.set(n)
		return fmt.Sprintf("%s %q set to %q", p.path, v, n)
	}
	return "nothing"
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// ledgerSums is, per party and the currency it is paid in, what the
// state's parts have unreversed, await and hold (disputes), and per line
// what it credited.
type ledgerSums struct {
	unreversed, awaiting  map[string]int64
	credited              map[settlement.LineID]int64
	closed                map[settlement.LineID]bool // owing nothing
	collected, writtenOff int64
}

func sumLedger(t *rapid.T, st settlement.State) ledgerSums {
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var read struct {
		Lines []settlement.LedgerLine `json:"lines"`
	}
	require.NoError(t, json.Unmarshal(b, &read))
	out := ledgerSums{unreversed: map[string]int64{}, awaiting: map[string]int64{}, credited: map[settlement.LineID]int64{}, closed: map[settlement.LineID]bool{}}
	for _, ll := range read.Lines {
		out.credited[ll.Line] = minorOf(ll.Credited) // less what write-offs clawed back
		if c := balanceOf(ll); c != nil {
			out.credited[ll.Line] -= minorOf(c.WriteOffClawback)
			owed, err := c.Owed()
			require.NoError(t, err)
			out.closed[ll.Line] = owed.IsZero()
			out.collected += minorOf(c.Collected)
			out.writtenOff += minorOf(c.WrittenOff)
		}
		for _, p := range ll.Parts {
			out.unreversed[partyIn(p)] += owedOn(p, minorOf(p.Unreversed))
			out.awaiting[partyIn(p)] += owedOn(p, minorOf(p.Awaiting))
		}
	}
	return out
}

// requireStateHolds requires st to write and read back as JSON and as
// binary (reading checks every invariant of the ledger).
func requireStateHolds(t *rapid.T, st settlement.State, what string) {
	b, err := json.Marshal(st)
	require.NoError(t, err, what)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back), "%s: the state written does not read back", what)
	bin, err := st.MarshalBinary()
	require.NoError(t, err, what)
	require.NoError(t, back.UnmarshalBinary(bin), "%s: the binary state does not read back", what)
}

// TestPropertyHostileEditsAreRefusedOrBehave settles a random history
// (sales on collection, paid on settlement and with reserves, credits
// netted on other invoices, payments, write-offs, disputes won and lost,
// prunes), edits one value of its JSON (a money amount moved, a field
// added or removed, an element of a list deleted, doubled or swapped, a
// flag toggled, a date moved, a string replaced by another of the state),
// and reads it. What reads is then operated on at random; every operation
// either is refused with a typed error or leaves a state that reads back
// (every invariant of the ledger), moves each party's entries as its
// parts move (earnings and clawbacks as what the parts have unreversed,
// uncollected and collected as what they await), credits a line what its
// credit says, pays no more than a payment brought, and repeats no entry
// id; nothing panics.
func TestPropertyHostileEditsAreRefusedOrBehave(t *testing.T) {
	s := planSettler(t, hostilePlans, loadNetwork(t))
	rapid.Check(t, func(t *rapid.T) {
		var entries []settlement.Entry
		st := settlement.State{}
		at := date("2026-03-01")
		for i := range rapid.IntRange(1, 10).Draw(t, "history") {
			at = at.AddDate(0, 0, rapid.IntRange(0, 10).Draw(t, fmt.Sprintf("h%d.days", i)))
			var res settlement.Result
			var err error
			if i < 5 {
				l := hostileLine(t, fmt.Sprintf("h%d", i), settlement.LineID(fmt.Sprintf("L%d", i+1)),
					rapid.SampledFrom([]string{"INV-1", "INV-2"}).Draw(t, fmt.Sprintf("h%d.inv", i)), at)
				res, err = s.Settle(ctx, st, []settlement.Line{l})
			} else {
				res, err = hostileOp(t, s, st, fmt.Sprintf("h%d", i), at)
			}
			if err != nil {
				requireTypedRefusal(t, err, "history")
				continue
			}
			entries, st = append(entries, res.Entries...), res.State
		}
		requireStateHolds(t, st, "the history")
		got, how, ok := hostileRead(t, st)
		if !ok {
			return
		}
		t.Logf("edit read: %s", how)
		requireStateHolds(t, got, how)
		seen, known := map[settlement.EntryID]bool{}, map[settlement.LineID]bool{}
		for _, e := range entries {
			seen[e.ID] = true
			known[e.Line] = true
		}
		st = got
		for i := range rapid.IntRange(1, 8).Draw(t, "ops") {
			label := fmt.Sprintf("x%d", i)
			at = at.AddDate(0, 0, rapid.IntRange(0, 20).Draw(t, label+".days"))
			before := sumLedger(t, st)
			var res settlement.Result
			var mv hostileMove
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("after %s, op %s panics: %v", how, label, r)
					}
				}()
				res, mv, err = hostileOpWith(t, s, st, label, at)
			}()
			if err != nil {
				requireTypedRefusal(t, err, how+", "+label)
				continue
			}
			what := fmt.Sprintf("after %s, op %s", how, label)
			requireStateHolds(t, res.State, what)
			for _, e := range res.Entries {
				// A line pruned settles again under its id, as Prune says.
				resold := !st.Has(e.Line) && known[e.Line]
				require.False(t, seen[e.ID] && !resold, "%s: entry id %s repeated", what, e.ID)
				seen[e.ID] = true
			}
			after := sumLedger(t, res.State)
			moved, awaited := map[string]int64{}, map[string]int64{}
			var collected int64
			for _, e := range res.Entries {
				k := string(e.Party) + " " + e.Amount.Currency().Code()
				switch e.Kind {
				case settlement.KindEarning, settlement.KindSupplierCost, settlement.KindClawback:
					moved[k] += minorOf(e.Amount)
				case settlement.KindUncollected:
					awaited[k] += minorOf(e.Amount)
				case settlement.KindCollected:
					awaited[k] -= minorOf(e.Amount)
					collected += minorOf(e.Amount)
				}
			}
			if res.Entries != nil { // a prune makes none, and drops lines
				for k := range merge(before.unreversed, after.unreversed, moved) {
					require.Equal(t, after.unreversed[k]-before.unreversed[k], moved[k], "%s: %s's parts moved otherwise than its entries", what, k)
				}
				for k := range merge(before.awaiting, after.awaiting, awaited) {
					require.Equal(t, after.awaiting[k]-before.awaiting[k], awaited[k], "%s: %s's parts await otherwise than its entries say", what, k)
				}
			}
			if res.Entries != nil {
				if mv.collected > 0 { // the parties' share of a payment is at most the payment
					require.LessOrEqual(t, collected, mv.collected, "%s: a payment of %d makes %d payable", what, mv.collected, collected)
				}
				for id, c := range after.credited {
					want := int64(0)
					if id == mv.line {
						want = mv.credited
					}
					if got := c - before.credited[id]; id != mv.line || !after.closed[id] {
						require.Equal(t, want, got, "%s: line %s credited otherwise than the operation", what, id)
					} else { // a credit leaving the customer owing nothing takes back what no payment will pay
						require.GreaterOrEqual(t, got, want, "%s: line %s credited less than the operation", what, id)
					}
				}
			}
			st = res.State
			entries = append(entries, res.Entries...)
			for _, e := range res.Entries {
				known[e.Line] = true
			}
		}
		_, err := settlement.Statements(entries, settlement.StatementOptions{Period: ensemble.MustPeriod(date("2026-01-01"), date("2028-01-01"))})
		if err != nil {
			requireTypedRefusal(t, err, "statements")
		}
		for _, id := range []settlement.LineID{"L1", "L2", "L3"} {
			_, _ = settlement.Explain(id, entries)
		}
	})
}

// hostileRead edits st's JSON (hostileEdit) or, now and then, one byte of
// its binary form, and reads it: ok false when that is refused (with
// ErrCorruptState).
func hostileRead(t *rapid.T, st settlement.State) (got settlement.State, how string, ok bool) {
	if rapid.IntRange(0, 3).Draw(t, "binary") == 0 {
		b, err := st.MarshalBinary()
		require.NoError(t, err)
		i := rapid.IntRange(2, len(b)-1).Draw(t, "byte")
		v := rapid.SampledFrom([]int{0, 1, 2, 0x7f, 0xff, int(b[i]) + 1, int(b[i]) - 1}).Draw(t, "value")
		how = fmt.Sprintf("binary byte %d %d set to %d", i, b[i], byte(v))
		b[i] = byte(v)
		if err := got.UnmarshalBinary(b); err != nil {
			require.ErrorIs(t, err, settlement.ErrCorruptState, how)
			return got, how, false
		}
		return got, how, true
	}
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var doc any
	require.NoError(t, json.Unmarshal(b, &doc))
	how = hostileEdit(t, doc)
	edited, err := json.Marshal(doc)
	require.NoError(t, err)
	if err := json.Unmarshal(edited, &got); err != nil {
		require.ErrorIs(t, err, settlement.ErrCorruptState, how)
		return got, how, false
	}
	return got, how, true
}

// merge returns the union of the keys of ms.
func merge(ms ...map[string]int64) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

// TestStateDecodeRefusesAPendingCreditOfAnotherLender: L1 and L4
// (100.00 each, INV-7) lend credits C1 (40.00) and C4 (10.00) to L2
// (INV-8), pending there until each lender is paid. A hand moves C1's
// pending to L4: before, the state read, and the customer's 100.00 for
// L4 funded both credits, making payable to the parties 140.00 of the
// 100.00 paid (L2's 40.00 of C1, whose line L1 was never paid, created).
// A pending credit must be a credit the state holds of the line it names
// (when it holds that line), which is on collection.
func TestStateDecodeRefusesAPendingCreditOfAnotherLender(t *testing.T) {
	r := newRV(t)
	r.settle(rvLine("L1", "100.00", "INV-7"), rvLine("L4", "100.00", "INV-7"), rvLine("L2", "100.00", "INV-8"))
	r.settle(netted("C1", "L1", "-40.00", "INV-8"), netted("C4", "L4", "-10.00", "INV-8"))
	valid := mustJSON(t, r.st)
	pending := func(d stateDoc, credit string) map[string]any {
		for _, p := range d.line("L2")["collection"].(map[string]any)["pending"].([]any) {
			if p := p.(map[string]any); p["credit"] == credit {
				return p
			}
		}
		panic("no pending credit " + credit)
	}
	for _, tc := range []struct {
		name, path, want string
		edit             func(d stateDoc)
	}{
		{"lent by another line", "pending[0].line", `it credits line "L1"`, func(d stateDoc) { pending(d, "C1")["line"] = "L4" }},
		{"another credit", "pending[0].line", `it credits line "L4"`, func(d stateDoc) { pending(d, "C1")["credit"] = "C4" }},
		{"a credit the state does not hold", "pending[0].credit", `holds no credit "C9"`, func(d stateDoc) { pending(d, "C1")["credit"] = "C9" }},
		{"lent by a line paid on settlement", "pending[0].line", "not on collection", func(d stateDoc) {
			l1 := d.line("L1")
			l1["receivable"] = l1["collection"]
			delete(l1, "collection")
			delete(l1["receivable"].(map[string]any), "lent_to")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(valid, &d))
			tc.edit(d)
			decodeProblem(t, d, tc.path, tc.want, "L2")
		})
	}

	// Unedited, the 100.00 paid for L4 funds C4 alone: 100.00 payable.
	r.pay("P4", "100.00", "", "L4")
	require.Equal(t, "100.00", r.total())
}

// TestStateDecodeRefusesAPaymentNoCollectionMade: February's service
// line (400.00 + 84.00 on INV-FEB, paid on settlement: a receivable) is
// not paid, and a hand records it paid in full (collected 484.00, no
// collection id). Before, the state read, and a proration credit of it
// (200.00 + 42.00) netted on March's invoice was a payment of the add-on
// there, making 29.79 payable to its parties (sub-utrecht 20.85, platform
// 8.94) of a payment the customer never made. A record collected or
// written off names the collections and write-offs applied; on a line on
// collection too.
func TestStateDecodeRefusesAPaymentNoCollectionMade(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	feb, err := s.Settle(ctx, settlement.State{}, []settlement.Line{mixedLine("feb-svc", "svc", "2026-02-01", "400.00", "84.00", "INV-FEB")})
	require.NoError(t, err)
	var d stateDoc
	require.NoError(t, json.Unmarshal(mustJSON(t, feb.State), &d))
	d.line("feb-svc")["receivable"].(map[string]any)["collected"] = moneyJSON("484.00", "EUR")
	decodeProblem(t, d, "lines[0].receivable.ids", "no collection or write-off was applied", "feb-svc")

	r := newRV(t)
	r.settle(rvLine("L1", "100.00", "INV-7"))
	require.NoError(t, json.Unmarshal(mustJSON(t, r.st), &d))
	d.line("L1")["collection"].(map[string]any)["written_off"] = moneyJSON("100.00", "EUR")
	decodeProblem(t, d, "lines[0].collection.ids", "no collection or write-off was applied", "L1")

	// Unedited, the credit of the unpaid line is the add-on's set-off:
	// nothing payable.
	res, err := s.Settle(ctx, feb.State, []settlement.Line{
		mixedLine("mar-svc", "svc", "2026-03-01", "600.00", "126.00", "INV-MAR"),
		mixedLine("mar-addon", "addon", "2026-03-01", "105.00", "22.05", "INV-MAR"),
		mixedCredit("mar-credit", "feb-svc", "2026-02-15", "-200.00", "-42.00", "INV-MAR"),
	})
	require.NoError(t, err)
	require.Empty(t, collectedOf(res.Entries))
}

// TestStateDecodeRefusesAReceivableCreditedByNoCredit: February's service
// line (400.00 + 84.00 on INV-FEB, paid on settlement) is paid half
// (242.00), and a hand records credit notes of 242.00 on its receivable
// (credited), which no credit of the line took. Before, the state read,
// the receivable owed nothing, so was paid in full, and a proration
// credit of the line (200.00 + 42.00) netted on March's invoice was a
// payment of the add-on there: 29.79 payable (sub-utrecht 20.85,
// platform 8.94) of cash never paid; unedited, nothing. What credits
// took off a receivable, beyond other lines' credits netted on it, needs
// a credit of the line or a dispute of it (a tax-only credit note of it
// takes 5.00 off it and nothing off the basis: it reads).
func TestStateDecodeRefusesAReceivableCreditedByNoCredit(t *testing.T) {
	s := planSettler(t, mixedPlans, loadNetwork(t))
	feb, err := s.Settle(ctx, settlement.State{}, []settlement.Line{mixedLine("feb-svc", "svc", "2026-02-01", "400.00", "84.00", "INV-FEB")})
	require.NoError(t, err)
	paid, err := s.Collect(feb.State, settlement.Collection{ID: "FEB", Date: date("2026-02-20"), Amount: eur("242.00"), Invoice: "INV-FEB"})
	require.NoError(t, err)
	var d stateDoc
	require.NoError(t, json.Unmarshal(mustJSON(t, paid.State), &d))
	d.line("feb-svc")["receivable"].(map[string]any)["credited"] = moneyJSON("242.00", "EUR")
	decodeProblem(t, d, "lines[0].receivable.credited", "the state holds no credit of the line", "feb-svc")

	taxOnly, err := s.Settle(ctx, paid.State, []settlement.Line{mixedCredit("tax", "feb-svc", "2026-02-15", "0.00", "-5.00", "")})
	require.NoError(t, err)
	ll, _ := taxOnly.State.Line("feb-svc")
	requireEUR(t, "5.00", ll.Receivable.Credited, "a tax-only credit note's")
	var back settlement.State
	require.NoError(t, json.Unmarshal(mustJSON(t, taxOnly.State), &back))

	res, err := s.Settle(ctx, paid.State, []settlement.Line{
		mixedLine("mar-svc", "svc", "2026-03-01", "600.00", "126.00", "INV-MAR"),
		mixedLine("mar-addon", "addon", "2026-03-01", "105.00", "22.05", "INV-MAR"),
		mixedCredit("mar-credit", "feb-svc", "2026-02-15", "-200.00", "-42.00", "INV-MAR"),
	})
	require.NoError(t, err)
	require.Empty(t, collectedOf(res.Entries))
}
