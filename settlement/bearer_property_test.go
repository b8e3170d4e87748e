package settlement_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// TestPropertyBearersConserveAndNeverOverReverse settles a random line
// (every role of the testdata plans, up to two supplier costs), then a
// random sequence of credits and partly lost disputes, each borne by a
// random bearer (proportional; a party, node or ancestor node, role or
// component of one of the line's parts; a party not on the line) with
// either shortfall option, of random amounts (now and then more than the
// line or the bearer has left). After every step:
//
//   - it succeeds exactly when the model says: more than the line has left
//     is ErrOverCredit, a bearer with no part on the line
//     ErrBearerNotOnLine, a bearer with less unreversed than the credit
//     ErrBearerShortfall unless its shortfall is proportional;
//   - the clawbacks add up to exactly the credit, each takes at most what
//     the part it reverses has unreversed, the bearer's parts give
//     min(credit, what they have) and the others the rest (nothing when the
//     bearer can bear it all);
//   - the line is conserved: its parts' unreversed amounts add up to the
//     basis less what was credited, and each part's unreversed amount is
//     its entry less its clawbacks.
//
// At the end a proportional credit of the rest nets every entry to zero.
func TestPropertyBearersConserveAndNeverOverReverse(t *testing.T) {
	s := newSettler(t)
	rapid.Check(t, func(t *rapid.T) {
		l := genLine(t, "L")
		amount := minorOf(l.Amount)
		for i := range rapid.IntRange(0, 2).Draw(t, "costs") {
			l.SupplierCosts = append(l.SupplierCosts, catalog.SupplierCost{Supplier: fmt.Sprintf("supplier-%d", i), Offer: "backup",
				Component: ensemble.Ref{Kind: catalog.RefComponent, ID: fmt.Sprintf("c%d", i), Version: "1"},
				Cost:      ensemble.MoneyFromMinor(rapid.Int64Range(0, amount/3).Draw(t, fmt.Sprintf("cost%d", i)), l.Currency())})
		}
		res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l})
		require.NoError(t, err)
		st := res.State
		// What each part (by entry id) has unreversed, from the entries.
		unreversed := map[settlement.EntryID]int64{}
		for _, e := range res.Entries {
			if e.Kind == settlement.KindEarning || e.Kind == settlement.KindSupplierCost {
				unreversed[e.ID] = minorOf(e.Amount)
			}
		}
		all := res.Entries
		for i := range rapid.IntRange(1, 8).Draw(t, "steps") {
			label := fmt.Sprintf("step%d", i)
			ll, _ := st.Line("L")
			left := minorOf(ll.Basis) - minorOf(ll.Credited)
			b := drawLedgerBearer(t, ll, label)
			x := rapid.OneOf(rapid.Int64Range(0, left), rapid.Just(left), rapid.Int64Range(0, left+2)).Draw(t, label+".amount")
			// The model: which parts bear it, and what they have.
			var has int64
			named := b.IsZero() // the proportional default is never short
			bears := map[settlement.EntryID]bool{}
			for _, p := range ll.Parts {
				if b.IsZero() || modelBears(b, p) {
					bears[p.Entry], named = true, true
					has += minorOf(p.Unreversed)
				}
			}
			var entries []settlement.Entry
			if rapid.Bool().Draw(t, label+".dispute") {
				d, err := s.Dispute(st, "L", date("2027-01-01"))
				require.NoError(t, err)
				all = append(all, d.Entries...)
				o := settlement.DisputeOutcome{Lost: ensemble.MoneyFromMinor(x, l.Currency()), Bearer: b}
				if x == 0 && left > 0 {
					o.Won, o.Bearer = true, settlement.Bearer{} // a dispute that lost nothing was won
				}
				r, err := s.ResolveDisputeWith(d.State, "L", o, date("2027-01-02"))
				if !requireBearerOutcome(t, err, o.Won, x, left, named, has, b) { // the dispute is then won
					r, err = s.ResolveDispute(d.State, "L", true, date("2027-01-02"))
					require.NoError(t, err)
					all, st = append(all, r.Entries...), r.State
					continue
				}
				entries, st = r.Entries, r.State
			} else {
				c := settlement.Line{ID: settlement.LineID("C" + label), Date: date("2027-01-01"), Credits: "L", Amount: ensemble.MoneyFromMinor(-x, l.Currency()), Bearer: b,
					Dispute: settlement.DisputeSeparate} // beside the lost disputes, not their credit notes
				r, err := s.Settle(ctx, st, []settlement.Line{c})
				if !requireBearerOutcome(t, err, false, x, left, named, has, b) {
					continue
				}
				entries, st = r.Entries, r.State
			}
			all = append(all, entries...)
			var total, byBearers int64
			for _, e := range entries {
				if e.Kind != settlement.KindClawback {
					continue
				}
				u := -minorOf(e.Amount)
				require.Positive(t, u, "clawback %s", e.ID)
				require.LessOrEqual(t, u, unreversed[e.Reverses], "clawback %s takes more than %s has unreversed", e.ID, e.Reverses)
				unreversed[e.Reverses] -= u
				total += u
				if bears[e.Reverses] {
					byBearers += u
				}
			}
			require.Equal(t, x, total, "the clawbacks add up to the credit")
			require.Equal(t, min(x, has), byBearers, "the bearer gives what it can, the others only the rest")
			ll, _ = st.Line("L")
			var sum int64
			for _, p := range ll.Parts {
				require.Equal(t, unreversed[p.Entry], minorOf(p.Unreversed), "part %s", p.Entry)
				sum += minorOf(p.Unreversed)
			}
			require.Equal(t, minorOf(ll.Basis)-minorOf(ll.Credited), sum, "the line is conserved")
		}
		ll, _ := st.Line("L")
		if left := minorOf(ll.Basis) - minorOf(ll.Credited); left > 0 {
			r, err := s.Settle(ctx, st, []settlement.Line{{ID: "Cfinal", Date: date("2027-02-01"), Credits: "L", Amount: ensemble.MoneyFromMinor(-left, l.Currency()), Dispute: settlement.DisputeSeparate}})
			require.NoError(t, err)
			all = append(all, r.Entries...)
		}
		for p, m := range byParty(all, settlement.KindEarning, settlement.KindSupplierCost, settlement.KindClawback) {
			require.Truef(t, m.IsZero(), "%s nets %s", p, m)
		}
	})
}

// requireBearerOutcome requires err to be what the model expects of a
// credit (or lost dispute, unless won) of x when the line has left and the
// bearer b (named: on the line) has has, and reports whether it succeeded.
func requireBearerOutcome(t *rapid.T, err error, won bool, x, left int64, named bool, has int64, b settlement.Bearer) bool {
	switch {
	case won:
		require.NoError(t, err)
	case x > left:
		require.ErrorIs(t, err, settlement.ErrOverCredit)
	case !named:
		require.ErrorIs(t, err, settlement.ErrBearerNotOnLine)
	case x > has && b.Shortfall == settlement.ShortfallError:
		require.ErrorIs(t, err, settlement.ErrBearerShortfall)
		var be *settlement.BearerError
		require.True(t, errors.As(err, &be))
		require.Equal(t, x-has, minorOf(be.Shortfall))
	default:
		require.NoError(t, err)
	}
	return err == nil
}

// drawLedgerBearer draws a bearer of a credit of ll as drawBearer does,
// from the state's view of the line.
func drawLedgerBearer(t *rapid.T, ll settlement.LedgerLine, label string) settlement.Bearer {
	if rapid.Bool().Draw(t, label+".proportional") {
		return settlement.Bearer{}
	}
	if len(ll.Parts) == 0 { // a line of zero
		return settlement.Bearer{Party: "nobody"}
	}
	p := rapid.SampledFrom(ll.Parts).Draw(t, label+".part")
	var b settlement.Bearer
	switch rapid.IntRange(0, 4).Draw(t, label+".bearer") {
	case 0:
		b.Party = p.Party
	case 1:
		segs := strings.Split(p.Node, "/")
		b.Node = strings.Join(segs[:rapid.IntRange(1, len(segs)).Draw(t, label+".depth")], "/")
	case 2:
		b.Role = p.Role
	case 3:
		if c, ok := strings.CutPrefix(p.Node, "supplier_costs/"); ok {
			b.Component = c
		} else {
			b.Role = "supplier"
		}
	default:
		b.Party = "nobody"
	}
	if rapid.Bool().Draw(t, label+".shortfall") {
		b.Shortfall = settlement.ShortfallProportional
	}
	return b
}

// modelBears is the documented rule of who a bearer names, on the state's
// view of a part.
func modelBears(b settlement.Bearer, p settlement.LedgerPart) bool {
	switch {
	case b.Party != "":
		return p.Party == b.Party
	case b.Node != "":
		return p.Node == b.Node || strings.HasPrefix(p.Node, b.Node+"/")
	case b.Role == "supplier":
		return p.Kind == settlement.KindSupplierCost
	case b.Role != "":
		return p.Kind == settlement.KindEarning && p.Role == b.Role
	}
	return p.Node == "supplier_costs/"+b.Component && p.Kind == settlement.KindSupplierCost
}
