package invoice

import (
	"fmt"
	"time"

	"github.com/ensemble-commerce/ensemble"
)

// Issue returns inv issued at instant at: its status becomes Issued and
// credit notes may be raised against it. The invoice is checked first
// (Check); an invoice already issued, a zero at, or one that does not
// reconcile is an error, with the zero Invoice.
func Issue(inv Invoice, at time.Time) (Invoice, error) {
	if inv.Status == Issued {
		return Invoice{}, bad(ErrInvalid, "invoice %q is already issued", inv.ID)
	}
	if at.IsZero() {
		return Invoice{}, fmt.Errorf("invoice %q: issued at: %w", inv.ID, ErrRequired)
	}
	if err := inv.Check(); err != nil {
		return Invoice{}, err
	}
	inv.Status = Issued
	inv.IssuedAt = at
	return inv, nil
}

// Check verifies that the invoice reconciles to the minor unit: every
// amount is whole minor units in the invoice's currency; each line has
// Net = Amount - Discount (- Tax when inclusive), Discount = Σ Discounts and
// Total = Net + Tax; Subtotal, Tax and Total are the sums of the lines';
// the tax breakdown adds up to them, and a line's tax components
// (Line.Taxes) to its Tax; AmountDue = Total - Σ Credits; every
// line id is one settlement accepts (ensemble.CheckLineID: the ids it is
// composed of fit in ensemble.MaxLineIDBytes). It reports every
// discrepancy at once.
func (inv *Invoice) Check() error {
	var ps ensemble.Problems
	cur := inv.Currency
	ok := func(path string, m ensemble.Money) {
		if !m.IsZero() && m.Currency() != cur {
			ps.Add(path, bad(ErrCurrency, "%s", m))
		} else if !m.IsRounded() {
			ps.Add(path, bad(ErrInvalid, "%s is not whole minor units", m))
		}
	}
	eq := func(path string, got, want ensemble.Money) {
		if !got.Equal(want) {
			ps.Add(path, bad(ErrInvalid, "%s, want %s", got, want))
		}
	}
	zero := ensemble.MoneyFromMinor(0, cur)
	var x ensemble.Arith // sums; each amount in them is checked by ok or eq too
	for i := range inv.Lines {
		l := &inv.Lines[i]
		at := ensemble.Path("lines", i)
		if err := ensemble.CheckLineID(string(l.ID)); err != nil {
			ps.Add(at+".id", fmt.Errorf("%w: a line id composed of longer ids than settlement accepts (%d bytes)", err, len(l.ID)))
		}
		ok(at+".amount", l.Amount)
		ok(at+".discount", l.Discount)
		ok(at+".net", l.Net)
		ok(at+".tax", l.Tax)
		ok(at+".total", l.Total)
		d := zero
		for j, ad := range l.Discounts {
			ok(ensemble.Path(at, "discounts", j, "amount"), ad.Amount)
			d = x.Add(d, ad.Amount)
		}
		eq(at+".discount", l.Discount, d)
		net := x.Sub(l.Amount, l.Discount)
		if l.Prepaid != nil {
			ok(at+".prepaid.covered", l.Prepaid.Covered)
			net = x.Sub(net, l.Prepaid.Covered)
		}
		if l.TaxRule.Inclusive {
			net = x.Sub(net, l.Tax)
		}
		eq(at+".net", l.Net, net)
		tot := x.Add(l.Net, l.Tax)
		eq(at+".total", l.Total, tot)
		if len(l.Taxes) > 0 {
			ct := zero
			for j, t := range l.Taxes {
				ok(ensemble.Path(at, "taxes", j, "amount"), t.Amount)
				ct = x.Add(ct, t.Amount)
			}
			eq(at+".taxes", ct, l.Tax)
		}
	}
	sub, tax, total, taxes := sumLines(&x, inv.Lines, cur)
	eq("subtotal", inv.Subtotal, sub)
	eq("tax", inv.Tax, tax)
	eq("total", inv.Total, total)
	if len(taxes) != len(inv.Taxes) {
		ps.Add("taxes", bad(ErrInvalid, "%d rates, want %d", len(inv.Taxes), len(taxes)))
	} else {
		for i := range taxes {
			eq(ensemble.Path("taxes", i, "base"), inv.Taxes[i].Base, taxes[i].Base)
			eq(ensemble.Path("taxes", i, "tax"), inv.Taxes[i].Tax, taxes[i].Tax)
			if len(inv.Taxes[i].Components) != len(taxes[i].Components) {
				ps.Add(ensemble.Path("taxes", i, "components"), bad(ErrInvalid, "%d components, want %d", len(inv.Taxes[i].Components), len(taxes[i].Components)))
				continue
			}
			for j, c := range taxes[i].Components {
				got := inv.Taxes[i].Components[j]
				if got.Name != c.Name {
					ps.Add(ensemble.Path("taxes", i, "components", j, "name"), bad(ErrInvalid, "%q, want %q", got.Name, c.Name))
				}
				eq(ensemble.Path("taxes", i, "components", j, "amount"), got.Amount, c.Amount)
			}
		}
	}
	st := x.Add(inv.Subtotal, inv.Tax)
	eq("total", inv.Total, st)
	due := inv.Total
	for j, c := range inv.Credits {
		ok(ensemble.Path("credits", j, "amount"), c.Amount)
		due = x.Sub(due, c.Amount)
	}
	eq("amount_due", inv.AmountDue, due)
	if err := x.Err(); err != nil && ps.Len() == 0 {
		// Only a zero amount in another currency, which ok lets pass, gets
		// here: refused rather than summed as nothing.
		ps.Add("", fmt.Errorf("%w: %w", ErrCurrency, err))
	}
	return ps.Err(fmt.Sprintf("invoice %q", inv.ID))
}
