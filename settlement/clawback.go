package settlement

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// ErrClawbackBearer reports a reversal after a clawback window whose
// bearer (Clawback.BorneBy, the platform by default) cannot bear what the
// kept parts keep: it has no part on the line that is not kept itself, or
// it would have to give back beyond its part where the line does not allow
// it (a line payable on collection, a receivable of its invoice, a
// supplier cost owed in another currency). A *BearerError wraps it, with
// ErrBearerNotOnLine too when the bearer has no part; naming a Bearer on
// the credit (or the dispute outcome, or the write-off) settles it
// instead, as the host decides.
var ErrClawbackBearer = errors.New("settlement: the bearer of a clawback window cannot bear what the kept parts keep")

// bearerOf reports whether c's bearer bears part pe.
func (c *Clawback) bearerOf(pe *payee) bool {
	b := c.bearer()
	return b.bears(pe)
}

// keepWindows applies the parts' clawback windows (Clawback) to parts, a
// reversal in proportion dated at that takes parts[i] from part i of lg,
// which has unreversed[i] left before it: each part with a window the
// reversal is after, and something left, gives back nothing, and what it
// would have given back is taken from its window's bearer's other parts
// on top of theirs, in proportion to what they have left after their own
// (largest remainder keyed by the shares' keys, the parts' entry ids).
// keep, nil but for a credit while a dispute of an amount is open, is each
// part's share of the dispute, which the part keeps: what a bearer's part
// has left is beyond it too, and a bearer that cannot bear the kept parts'
// shares within that is refused (cannotOwe: the dispute holds its share).
// It returns, per part, the share text of its clawback (nil when no part
// was kept) and what to add to the entries' note.
func (lg *ledger) keepWindows(parts, unreversed, keep []int64, at time.Time, shares []ensemble.Share) ([]string, string, error) {
	n := lg.parts()
	var kept []bool
	for i := range n {
		// A part its own window's bearer bears (the platform's leaf under
		// a window on the root) bears, never keeps.
		if w := lg.payee(i).meta.window; w != nil && unreversed[i] > 0 && keptAfter(w.WithinDays, lg.date, at) && !w.bearerOf(lg.payee(i)) {
			if kept == nil {
				kept = make([]bool, n)
			}
			kept[i] = true
		}
	}
	if kept == nil {
		return nil, "", nil
	}
	cur := lg.ctx.cur
	var shareOf []string
	var note strings.Builder
	done := make([]bool, n)
	for k := range n {
		if !kept[k] || done[k] {
			continue
		}
		b := lg.payee(k).meta.window.bearer()
		var x int64      // what the kept parts of b's group would give back
		var who []string // their paths
		for i := k; i < n; i++ {
			if !kept[i] || done[i] || lg.payee(i).meta.window.bearer() != b {
				continue
			}
			done[i] = true
			if parts[i] != 0 {
				x += parts[i]
				who = append(who, strings.TrimPrefix(string(lg.entryID(i)), string(lg.line)+":"))
				parts[i] = 0
			}
		}
		bears := make([]bool, n)
		named := false
		for i := range n {
			if !kept[i] && b.bears(lg.payee(i)) {
				bears[i], named = true, true
			}
		}
		fail := func(err error, has int64, onLine []string, why string) ([]string, string, error) {
			return nil, "", &BearerError{Line: lg.line, Bearer: b, Credit: ensemble.MoneyFromMinor(x, cur), Unreversed: ensemble.MoneyFromMinor(has, cur),
				Shortfall: ensemble.MoneyFromMinor(max(x-has, 0), cur), OnLine: onLine, Err: err, Why: why}
		}
		if x == 0 {
			continue
		}
		if !named {
			var on []string
			for i := range n {
				if v := b.bearable(lg.payee(i)); v != "" && !kept[i] && !slices.Contains(on, v) {
					on = append(on, v)
				}
			}
			slices.Sort(on)
			return fail(errors.Join(ErrClawbackBearer, ErrBearerNotOnLine), 0, on, "")
		}
		// Weights: what the bearer's parts have left after their own
		// share (and their share of an open dispute of an amount, which
		// they keep); their amounts when none has anything left; equal
		// when none has any.
		w := make([]int64, n)
		var has, sum int64
		for i := range n {
			if bears[i] {
				w[i] = unreversed[i] - parts[i]
				if keep != nil {
					w[i] -= keep[i]
				}
				w[i] = max(0, w[i])
				has += w[i]
			}
		}
		sum = has
		if sum == 0 {
			for i := range n {
				if bears[i] {
					w[i] = lg.units(i)
					sum += w[i]
				}
			}
		}
		if sum == 0 {
			for i := range n {
				if bears[i] {
					w[i] = 1
				}
			}
		}
		if x > has {
			if why := lg.cannotOwe(bears); why != "" {
				return fail(ErrClawbackBearer, has, nil, why)
			}
		}
		got := make([]int64, n)
		if err := allocateOver(got, x, w, shares, bears); err != nil {
			return nil, "", err
		}
		text := "bears what " + strings.Join(who, ", ") + " keeps past its clawback window"
		if len(who) > 1 {
			text = "bears what " + strings.Join(who, ", ") + " keep past their clawback windows"
		}
		for i, g := range got {
			if g == 0 {
				continue
			}
			parts[i] += g
			if shareOf == nil {
				shareOf = make([]string, n)
			}
			shareOf[i] = text
		}
		note.WriteString(", " + strings.Join(who, ", ") + " past the clawback window: " + ensemble.MoneyFromMinor(x, cur).String() +
			" kept, borne by " + b.String())
		if x > has {
			note.WriteString(" beyond its part of the line: " + ensemble.MoneyFromMinor(x-has, cur).String() + " more than its " +
				ensemble.MoneyFromMinor(has, cur).String() + " left")
		}
	}
	return shareOf, note.String(), nil
}
