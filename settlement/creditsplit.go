package settlement

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ensemble-commerce/ensemble"
)

// A credit of a line whose discounts a node funded
// (PlanDocument.DiscountFunding) gives back part of the list price and
// part of each discount, not always in the same proportion: a proration
// credit gives back the prorated share of a percentage discount and none
// of a fixed one, which a cycle takes once. Reversing each part in
// proportion to what it was paid would then take from each party its
// share of the discounted line, not of the list price it credits: the
// funder of the fixed discount would give back less than its share of the
// list price less nothing, the others more. So the credit is re-split as
// the sale was: each part gives back its share of the list price the
// credit gives back (the credit's amount plus the funded discounts it
// gives back), in proportion to what it was paid plus what it funded
// (LedgerPart.Funded), less its share of the discounts it funded that the
// credit gives back, in proportion to what it funded of them. The parts'
// shares add up to the credit's amount exactly (the discounts given back
// are the funders' alone), and the shares are rounded by largest
// remainder keyed by entry id.
//
// The re-split is linear in what the credit gives back: credits of the
// same line, each re-split on the sale's parts, take from each part what
// one credit of their sum would, up to rounding, and a credit of all the
// line has left takes from each part exactly what it has left, as always,
// so every part ends at zero.

// creditSplit returns what a credit of credit (of the basis; > 0) by
// credit line l takes from each part of lg, re-split as the sale was, or
// nil when it is reversed in proportion to what each part has unreversed:
//   - the line's parts funded nothing, or the state does not know what
//     each funded (LedgerPart.Funded), or the credit names a bearer;
//   - the credit takes all the line has left (the proportional reversal
//     takes exactly what each part has left);
//   - the credit carries no discounts and is no proration credit: read as
//     giving back every funded discount in the share of the list price it
//     credits, which is the proportional reversal (a credit note of part of
//     a line: the host lists what it gives back in Line.Discounts);
//   - what it gives back of a node's discounts is not between zero and
//     what the line's parts funded of them, or a node funding discounts it
//     gives back funded none of the line's;
//   - the re-split would take from a part less than nothing or more than
//     it has unreversed (after earlier credits that gave back discounts
//     otherwise than this one), which a reversal never does.
//
// A credit taking funded discounts (listing them positive: a discount
// recorded late, see FromInvoice) gives back list price its amount less
// what it takes, and each discount it takes comes off the parts of its
// funding node alone, in proportion to what each was paid (as keepFunded
// spreads what a node funds), whether or not the state knows what the
// parts funded; where that cannot hold (the conditions above but the
// first three) it is ErrDiscountFunding rather than reversed in
// proportion, which would charge every party the discount.
func (r *run) creditSplit(l *Line, lg *ledger, credit int64) ([]int64, error) {
	if credit <= 0 || credit >= lg.basis-lg.credited || !l.Bearer.IsZero() {
		return nil, nil
	}
	if len(l.Discounts) == 0 && l.Kind != prorationCredit {
		return nil, nil
	}
	cp := r.s.planOf(lg)
	if cp == nil || !cp.fundsDiscounts() {
		return nil, nil
	}
	// A credit taking a funded discount (a discount recorded late, see
	// takenSplit) is re-split whatever the state knows of what the parts
	// funded, and one that cannot be is refused rather than reversed in
	// proportion, which would charge the discount to every party.
	takes := false
	for _, d := range l.Discounts {
		if d.Amount.IsPositive() && cp.funderOf(d.ID) != nil {
			takes = true
		}
	}
	if lg.funded == nil && !takes {
		return nil, nil
	}
	cannot := func(format string, args ...any) ([]int64, error) {
		if !takes {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: credit %q takes discounts a node funds, and cannot be re-split so that they come off the funding node's parts alone: %s",
			ErrDiscountFunding, l.ID, fmt.Sprintf(format, args...))
	}
	// What the line's parts funded, and what the credit gives back, by
	// funding node.
	type node struct {
		n             *cnode
		funded, given int64
	}
	var nodes []node
	at := func(n *cnode) *node {
		for i := range nodes {
			if nodes[i].n == n {
				return &nodes[i]
			}
		}
		nodes = append(nodes, node{n: n})
		return &nodes[len(nodes)-1]
	}
	n := lg.parts()
	funded := make([]int64, n) // none known: the line's parts funded nothing the state recorded
	if lg.funded != nil {
		funded = *lg.funded
	}
	of := make([]int, n) // the funding node of each part that funded some
	var sum int64        // of the parts' amounts
	for i := range n {
		sum += lg.units(i)
		of[i] = -1
		if funded[i] == 0 {
			continue
		}
		node := lg.payee(i).meta.node
		var fn *cnode
		for _, c := range fundingNodes(cp) {
			if under(node, c) {
				if fn != nil {
					return cannot("a part of the line is below two funding nodes") // not recorded so
				}
				fn = c
			}
		}
		if fn == nil {
			return cannot("a part funded discounts below no funding node")
		}
		at(fn).funded += funded[i]
		for k := range nodes {
			if nodes[k].n == fn {
				of[i] = k
			}
		}
	}
	if sum != lg.basis {
		return cannot("the line's parts do not add up to its basis")
	}
	// What the credit takes of funded discounts, by part: each discount
	// spread over the parts of its funding node in proportion to what each
	// was paid, as a sale spreads what a node funds (keepFunded).
	takenOf := make([]*big.Rat, n)
	var taken int64
	for _, d := range l.Discounts {
		fn := cp.funderOf(d.ID)
		if fn == nil || d.Amount.IsZero() {
			continue
		}
		u, err := d.Amount.MinorUnits()
		if err != nil {
			return cannot("discount %s: %v", d.ID, err)
		}
		if u > 0 {
			// Taken: it comes off the funder's parts alone.
			if !takes || u > credit-taken {
				return cannot("it takes more of discounts than it credits")
			}
			var paid int64
			for i := range n {
				if under(lg.payee(i).meta.node, fn) {
					paid += lg.units(i)
				}
			}
			if paid <= 0 {
				return cannot("node %q, which funds discount %s, was paid nothing of line %q to bear it", fn.id, d.ID, lg.line)
			}
			for i := range n {
				if under(lg.payee(i).meta.node, fn) && lg.units(i) != 0 {
					x := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(u), big.NewInt(lg.units(i))), big.NewInt(paid))
					if takenOf[i] != nil {
						x.Add(x, takenOf[i])
					}
					takenOf[i] = x
				}
			}
			taken += u
			continue
		}
		x := at(fn)
		if -u > x.funded-x.given {
			return cannot("it gives back more of discount %s than node %q funded", d.ID, fn.id)
		}
		x.given -= u
	}
	var given, fundedAll int64 // at most what the parts funded, whose sum the ledger keeps within int64
	for _, x := range nodes {
		if x.given < 0 || x.given > x.funded {
			return cannot("it gives back more than node %q funded", x.n.id)
		}
		given += x.given
		fundedAll += x.funded
	}
	// x_i = (amount_i + funded_i) × (credit − taken + given) / (basis + funded)
	//       − funded_i × given_n / funded_n + taken_i.
	list := new(big.Rat).SetFrac(new(big.Int).Add(big.NewInt(credit-taken), big.NewInt(given)), new(big.Int).Add(big.NewInt(lg.basis), big.NewInt(fundedAll)))
	shares := make([]ensemble.Share, n)
	for i := range n {
		x := new(big.Rat).Mul(list, new(big.Rat).SetInt(new(big.Int).Add(big.NewInt(lg.units(i)), big.NewInt(funded[i]))))
		if k := of[i]; k >= 0 && nodes[k].given != 0 {
			x.Sub(x, new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(funded[i]), big.NewInt(nodes[k].given)), big.NewInt(nodes[k].funded)))
		}
		if takenOf[i] != nil {
			x.Add(x, takenOf[i])
		}
		if x.Sign() < 0 {
			return cannot("part %q would give back less than nothing", lg.entryID(i))
		}
		shares[i] = ensemble.Share{Key: string(lg.entryID(i)), Weight: ensemble.RatioFromRat(x)}
	}
	out := make([]int64, n)
	if err := ensemble.AllocateUnits(out, credit, shares, ensemble.AllocateOptions{}); err != nil {
		return cannot("%v", err)
	}
	for i := range n {
		if out[i] > lg.unreversed(i) {
			return cannot("part %q would give back %s, more than the %s it has left", lg.entryID(i),
				ensemble.MoneyFromMinor(out[i], lg.ctx.cur), ensemble.MoneyFromMinor(lg.unreversed(i), lg.ctx.cur))
		}
	}
	return out, nil
}

// under reports whether the node at path is funding node c or below it.
func under(path string, c *cnode) bool { return path == c.path || strings.HasPrefix(path, c.path+"/") }

// prorationCredit is the kind of a proration credit's line (Line.Kind, as
// invoice.KindProrationCredit names it), which lists every discount it
// gives back, none when it gives back none.
const prorationCredit = "proration_credit"

// fundingNodes returns the nodes of plan cp that fund discounts.
func fundingNodes(cp *cplan) []*cnode {
	var out []*cnode
	for _, n := range cp.funders {
		if !containsNode(out, n) {
			out = append(out, n)
		}
	}
	if cp.fundsRest != nil && !containsNode(out, cp.fundsRest) {
		out = append(out, cp.fundsRest)
	}
	return out
}

func containsNode(ns []*cnode, n *cnode) bool {
	for _, m := range ns {
		if m == n {
			return true
		}
	}
	return false
}
