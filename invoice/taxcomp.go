package invoice

import (
	"fmt"

	"github.com/ensemble-commerce/ensemble"
)

// TaxComponent is one of the taxes a TaxRule stacks on a line, such as
// Canada's GST and Quebec's QST, a US state, county and city sales tax, or
// India's CGST and SGST. Each component is computed and rounded on its own.
type TaxComponent struct {
	// Name names the component on the invoice ("GST", "QST"); required,
	// unique within the rule.
	Name string `json:"name"`
	// Rate is the component's rate, such as "9.975%"; zero or more.
	Rate ensemble.Ratio `json:"rate"`
	// Compound says the component is computed on the amount plus the
	// components listed before it (as Quebec's QST was until 2013), not on
	// the amount alone (the default).
	Compound bool `json:"compound,omitempty"`
}

// TaxAmount is one component's tax on a line (Line.Taxes) or an invoice
// (TaxLine.Components): the component's name, the rate charged (zero for an
// exempt or reverse-charge customer) and the amount, in whole minor units.
type TaxAmount struct {
	// Name is the component's name (TaxComponent.Name).
	Name string `json:"name"`
	// Rate is the component's rate, or zero when no tax was charged.
	Rate ensemble.Ratio `json:"rate"`
	// Amount is the component's tax.
	Amount ensemble.Money `json:"amount"`
}

// ErrTaxComponents reports a tax rule whose components are wrong: none
// named, a name given twice, or a rule setting both Rate and Components.
var ErrTaxComponents = fmt.Errorf("%w: tax components", ErrInvalid)

// compiledComp is a component compiled for billing: k is the multiplier
// applied to a line's amount (exclusive: the rate on the amount plus, when
// compound, the earlier components; inclusive: the component's exact share
// of the tax-inclusive amount).
type compiledComp struct {
	name     string
	rate     ensemble.Ratio
	compound bool
	k        ensemble.Ratio // inclusive: exact share of the gross
}

// validateComponents checks rule r's components, adding problems at at.
func validateComponents(ps *ensemble.Problems, at string, r *TaxRule) {
	if len(r.Components) == 0 {
		return
	}
	if !r.Rate.IsZero() {
		ps.Add(at+".rate", because(ErrTaxComponents, "rate %s set beside %d components: give the rate of each component, and no rate on the rule", r.Rate, len(r.Components)))
	}
	names := map[string]int{}
	for j, c := range r.Components {
		cat := ensemble.Path(at+".components", j)
		switch first, dup := names[c.Name]; {
		case c.Name == "":
			ps.Add(cat+".name", fmt.Errorf("%w: %w", ErrTaxComponents, ErrRequired))
		case dup:
			ps.Add(cat+".name", because(ErrTaxComponents, "%q is components[%d] too: %w", c.Name, first, ErrDuplicate))
		default:
			names[c.Name] = j
		}
		if c.Rate.Sign() < 0 {
			ps.Add(cat+".rate", bad(ErrNegative, "%s", c.Rate))
		}
		if c.Compound && j == 0 {
			ps.Add(cat+".compound", because(ErrTaxComponents, "the first component %q has no earlier component to compound on", c.Name))
		}
	}
}

// compileComponents returns the rule's components compiled, and the rule's
// effective rate: the tax on an exclusive amount of 1, exactly.
func compileComponents(r *TaxRule) ([]compiledComp, ensemble.Ratio) {
	cs := make([]compiledComp, len(r.Components))
	eff := make([]ensemble.Ratio, len(r.Components))
	total := ratioZero
	for j, c := range r.Components {
		e := c.Rate
		if c.Compound {
			e = c.Rate.Mul(ratioOne.Add(total))
		}
		eff[j] = e
		total = total.Add(e)
		cs[j] = compiledComp{name: c.Name, rate: c.Rate, compound: c.Compound}
	}
	for j := range cs {
		cs[j].k = eff[j]
		if r.Inclusive {
			cs[j].k = quo(eff[j], ratioOne.Add(total))
		}
	}
	return cs, total
}

// taxComponents computes a line's component taxes on gross under rule
// comps. Exclusive: each component is rate × (gross, plus the earlier
// components' rounded taxes when compound), rounded on its own. Inclusive:
// each component is its exact share of gross (rate/(1+R), R the rule's
// effective rate), rounded on its own; the net is gross less their sum.
// Per invoice (running non-nil), each component rounds cumulatively on the
// running base of its rule and treatment, as a single rate does.
func (g *gen) taxComponents(comps []compiledComp, inclusive bool, gross ensemble.Money, running map[string]ensemble.Money, prefix string) (ensemble.Money, []TaxAmount) {
	zero := ensemble.MoneyFromMinor(0, g.cur)
	out := make([]TaxAmount, len(comps))
	sum, earlier := zero, zero
	for j, c := range comps {
		base := gross
		if c.compound && !inclusive {
			base = g.add(gross, earlier)
		}
		k := c.rate
		if inclusive {
			k = c.k
		}
		var amt ensemble.Money
		switch {
		case k.IsZero():
			amt = zero
		case running != nil:
			key := prefix + "\x00" + c.name
			prev, ok := running[key]
			if !ok {
				prev = zero
			}
			next := g.add(prev, base)
			running[key] = next
			amt = g.sub(next.MulRatio(k, g.mode), prev.MulRatio(k, g.mode))
		default:
			amt = base.MulRatio(k, g.mode)
		}
		out[j] = TaxAmount{Name: c.name, Rate: c.rate, Amount: amt}
		earlier = g.add(earlier, amt)
		sum = g.add(sum, amt)
	}
	return sum, out
}

// zeroComponents lists comps with no rate and no tax: an exempt or
// reverse-charge customer's line.
func zeroComponents(comps []TaxComponent, cur ensemble.Currency) []TaxAmount {
	out := make([]TaxAmount, len(comps))
	for j, c := range comps {
		out[j] = TaxAmount{Name: c.Name, Rate: ratioZero, Amount: ensemble.MoneyFromMinor(0, cur)}
	}
	return out
}

// cloneTaxes copies ts, keeping nil.
func cloneTaxes(ts []TaxAmount) []TaxAmount {
	if ts == nil {
		return nil
	}
	return append([]TaxAmount(nil), ts...)
}

// addTaxes adds the components of b to a by name, in a's order (a name
// only b has is appended); x keeps a currency mismatch. a is not changed.
func addTaxes(x *ensemble.Arith, a, b []TaxAmount) []TaxAmount {
	if len(b) == 0 {
		return cloneTaxes(a)
	}
	out := cloneTaxes(a)
	for _, t := range b {
		found := false
		for j := range out {
			if out[j].Name == t.Name {
				out[j].Amount = x.Add(out[j].Amount, t.Amount)
				found = true
				break
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}

// negTaxes negates every component's amount.
func negTaxes(ts []TaxAmount) []TaxAmount {
	out := cloneTaxes(ts)
	for j := range out {
		out[j].Amount = out[j].Amount.Neg()
	}
	return out
}

// splitTax splits tax, the (non-negative) tax a credit gives back, among
// the components left (what was billed of each, less what earlier credits
// gave back), in proportion to what is left of each, by largest remainder:
// the parts add up to tax exactly, and when tax is at most the sum left,
// no part exceeds what is left of its component. All of it gives back each
// component's left exactly. It returns nil when left is empty.
func splitTax(x *ensemble.Arith, tax ensemble.Money, left []TaxAmount) []TaxAmount {
	if len(left) == 0 {
		return nil
	}
	out := cloneTaxes(left)
	zero := ensemble.MoneyFromMinor(0, tax.Currency())
	sum := zero
	for _, t := range left {
		sum = x.Add(sum, t.Amount)
	}
	if x.Cmp(sum, tax) == 0 {
		return out
	}
	shares := make([]ensemble.Share, len(left))
	pos := false
	for j, t := range left {
		w := ensemble.RatioFromDecimal(t.Amount.Amount())
		if w.Sign() < 0 {
			w = ratioZero
		}
		pos = pos || w.Sign() > 0
		shares[j] = ensemble.Share{Key: fmt.Sprintf("%06d", j), Weight: w}
	}
	if !pos {
		// Nothing left of any component: weigh by the rates.
		for j, t := range left {
			shares[j].Weight = t.Rate
			pos = pos || t.Rate.Sign() > 0
		}
		if !pos {
			shares[0].Weight = ratioOne
		}
	}
	parts, err := ensemble.Allocate(tax, shares, ensemble.AllocateOptions{})
	if err != nil {
		for j := range out {
			out[j].Amount = zero
		}
		out[0].Amount = tax
		return out
	}
	for j := range out {
		out[j].Amount = parts[j]
	}
	return out
}
