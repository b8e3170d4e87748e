package invoice

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/shopspring/decimal"
)

// CreditRequest asks for a credit note against an issued invoice.
type CreditRequest struct {
	// ID is the host's key for the note, unique per invoice; the note's ID
	// is "<invoice>/cn/<id>". Required; no '/' or white space.
	ID string `json:"id"`
	// Reason says why; required.
	Reason Reason `json:"reason"`
	// At is the note's date; required.
	At time.Time `json:"at"`
	// Full credits everything that remains creditable on every line.
	Full bool `json:"full,omitempty"`
	// Lines credit single lines (ignored when Full).
	Lines []CreditLine `json:"lines,omitempty"`
	// Memo is free text for the customer.
	Memo string `json:"memo,omitempty"`
	// Incident is the host's ID of the incident or claim the note
	// compensates (an outage, an SLA claim); required with ReasonSLA,
	// optional otherwise. Every line of the note carries it as a reference
	// of kind RefIncident, so a payout reversal traces to it.
	Incident string `json:"incident,omitempty"`
	// Prepaid says, for each prepaid commitment whose purchase the note
	// refunds (credits its KindPrepayment line), what had been drawn of it
	// and let expire when the note is raised: the Total of the last
	// invoice's PrepaidUse for it, as carried into the commitment's Drawn.
	// A refund takes what is left unused first and then what was drawn (see
	// PrepaidRefund); without it the split is unknown, and refunding a
	// purchase is ErrRequired.
	Prepaid []PrepaidDrawn `json:"prepaid,omitempty"`
	// Prorated are lines of later invoices that may hold proration credits
	// of this invoice's lines (an immediate cancellation or a downgrade
	// credits the unused part of what was billed in advance), or reversals
	// of them (a back-dated change: KindReversal), or credit-note lines
	// crediting them (a discount recorded after their usage was billed:
	// see Run.Billed). What they credited is no longer creditable, so a
	// Full note after them credits only the rest.
	// Lines that are neither, of this invoice's lines, are skipped, so a
	// host may pass every later line of the subscription.
	// Each line is given once: a line ID given twice is ErrDuplicate at
	// prorated[k].id (counted twice, it made a full note credit too
	// little); a host gathering them from overlapping queries removes the
	// repeats. A proration credit of this invoice with a positive net, tax
	// or total is refused (ErrInvalid, a *LineError naming it, at
	// prorated[k]): it would make more creditable than the line billed.
	// The other order, a credit note raised before the proration credit,
	// is the run's: give the note's lines to Build in Run.Billed, with the
	// line they credit, and the proration credit gives back only the
	// unused part of what the note left.
	Prorated []Line `json:"prorated,omitempty"`
	// Bearer says who bears the note's credits when package settlement
	// reverses the payouts of the lines credited: zero, the default, in
	// proportion to what every party still has; a supplier for an SLA
	// credit its component caused, say. Every line of the note carries it
	// (Line.Bearer) unless its CreditLine names its own.
	Bearer Bearer `json:"bearer,omitzero"`
}

// Bearer names who bears a credit-note line in settlement: whose payouts
// on the credited line its clawbacks take back (package settlement reads
// it as a settlement.Bearer, which says how). The zero Bearer is
// proportional: every party gives back in proportion to what it has
// unreversed. Otherwise exactly one of Party, Node, Role and Component is
// set.
type Bearer struct {
	// Party is the partner id that bears the credit. When the credited
	// line has supplier costs, a party that is none of its suppliers but
	// within a typo of one ("intelcoo" for "intelco") is refused by
	// NewCreditNote (*BearerError, ErrBearerNotOnLine, with a did-you-mean);
	// any other party may be a party of the order's route, which the
	// invoice does not know, and package settlement checks it.
	Party string `json:"party,omitempty"`
	// Node is the plan node path whose parts bear it ("root/channel").
	Node string `json:"node,omitempty"`
	// Role is the role whose parts bear it ("seller", "referrer";
	// "supplier" for every supplier cost).
	Role string `json:"role,omitempty"`
	// Component is the bundle component whose supplier bears it (the
	// Component.ID of the credited line's catalog.SupplierCost,
	// "bundle/component-offer/supplier"): the SLA credit of an outage that
	// supplier caused. One the credited line has no supplier cost of is
	// refused by NewCreditNote (*BearerError, ErrBearerNotOnLine).
	Component string `json:"component,omitempty"`
	// Shortfall says what settlement does when the bearer has less left
	// than the credit: "" or "error" refuses it, "proportional" takes the
	// rest from the other parties in proportion, "bearer_owes" takes the
	// whole credit from the bearer, beyond its part of the line (see
	// settlement.ShortfallBearerOwes).
	Shortfall string `json:"shortfall,omitempty"`
}

// check records what is wrong with the bearer's form under path; package
// settlement checks the rest (known roles, the bearer's part of the line).
func (b Bearer) check(ps *ensemble.Problems, path string) {
	named := 0
	for _, s := range [...]string{b.Party, b.Node, b.Role, b.Component} {
		if s != "" {
			named++
		}
	}
	switch {
	case named > 1:
		ps.Add(path, bad(ErrInvalid, "a bearer names one of party, node, role and component, not %d", named))
	case b.Shortfall != "" && b.Shortfall != "error" && b.Shortfall != "proportional" && b.Shortfall != "bearer_owes":
		ps.Add(path+".shortfall", bad(ErrInvalid, "shortfall %q: want error, proportional or bearer_owes", b.Shortfall))
	case named == 0 && b.Shortfall != "":
		ps.Add(path+".shortfall", bad(ErrInvalid, "a proportional credit has no shortfall: name a party, node, role or component"))
	}
}

// PrepaidDrawn is what had been drawn of a prepaid commitment, and let
// expire, when a credit note refunds its purchase (CreditRequest.Prepaid).
type PrepaidDrawn struct {
	// Commitment names the commitment (PrepaidCommitment.ID).
	Commitment PrepaidID `json:"commitment"`
	// Drawn is what had been drawn and let expire, in the commitment's
	// units (whole minor units, zero or more, at most the amount bought).
	Drawn decimal.Decimal `json:"drawn"`
}

// PrepaidRefund splits a refund of a prepaid commitment's purchase (a
// credit-note line of its KindPrepayment line) into what was never drawn
// and what had been drawn, or had expired, already. A refund takes what is
// left unused first: with A the amount bought, D what had been drawn and
// let expire (CreditRequest.Prepaid) and U' what earlier refunds took
// unused, the unused part is min(refund, A - U' - D); the rest is used.
// Amounts are negative, in the commitment's units (the credit line's
// Amount: its net, or net and tax when the purchase's tax is included in
// its price), like Line.Amount.
//
// What a finance team expects follows: the unused part refunded was never
// consumed, so partners earned nothing on it (on consumption) or lose what
// they earned on it (on prepayment); the used part was consumed, so what
// partners earned on it stays earned, in either mode, unless the
// consumption itself is taken back (a usage correction that lowers it,
// which gives back to the commitment). Package settlement settles the
// refund that way (settlement.PrepaidEarning), so both modes agree after it
// as they do without it.
type PrepaidRefund struct {
	// Drawn is what had been drawn and let expire when the note was raised.
	Drawn decimal.Decimal `json:"drawn"`
	// Unused is the part of the refund that returns what was never drawn.
	// Lower the commitment's Amount by it (Amount + Unused), so nothing
	// more is drawn on it; the used part does not lower it.
	Unused ensemble.Money `json:"unused"`
	// UnusedNet and UnusedTax are Unused's net of tax and the part of the
	// refund's tax it carries: round(Tax × Unused / Amount) of the credit
	// line, in the invoice's mode (the whole tax when all is unused).
	UnusedNet ensemble.Money `json:"unused_net"`
	UnusedTax ensemble.Money `json:"unused_tax"`
	// Used is the rest of the refund: consumption already drawn or expired.
	Used ensemble.Money `json:"used"`
}

// CreditLine credits one invoice line: by Amount (the total to credit,
// tax included, in whole minor units), by Quantity (that share of the
// remaining quantity), by Percent (that share of what the line billed), or,
// with none of them, all that remains of it. At most one is set.
type CreditLine struct {
	// Line is the invoice line to credit.
	Line LineID `json:"line"`
	// Amount is the total to credit, tax included (zero: see Quantity).
	Amount decimal.Decimal `json:"amount,omitzero"`
	// Quantity is the quantity to credit, out of what remains uncredited:
	// that share of what remains, so at the line's average unit price. On
	// a tiered price that is not the last units' rate (1 of 125 hours
	// billed 100 at 80.00 and 25 at 70.00 credits 78.00, not 70.00); to
	// credit the last units at their rate, credit by Amount.
	Quantity decimal.Decimal `json:"quantity,omitzero"`
	// Percent credits that share of the line's invoiced Total, tax
	// included: the service-credit percentage an SLA grants for a breach
	// (10% of the affected service's monthly fee). It is a share of what the
	// line billed, not of what remains, so two 10% credits credit 20% of the
	// line. Percent credits of a line round cumulatively, as proration does:
	// with P the percents credited by earlier notes (CreditNote.Percents),
	// the credit is round(Total × (P + p)) - round(Total × P) in the
	// invoice's mode, so percents adding up to 100% credit exactly the
	// line's total. P + p above 100%, or a credit beyond what remains (after
	// credits of other kinds), is ErrOverCredit. In (0, 100%].
	Percent ensemble.Ratio `json:"percent,omitzero"`
	// Bearer says who bears this line's credit in settlement, in place of
	// the request's Bearer (zero: the request's).
	Bearer Bearer `json:"bearer,omitzero"`
}

// CreditPercent records a credit of a share of one line (CreditLine.Percent).
type CreditPercent struct {
	// Line is the invoice line credited.
	Line LineID `json:"line"`
	// Percent is the share of its invoiced total credited.
	Percent ensemble.Ratio `json:"percent"`
}

// CreditNote reverses part or all of an issued invoice. Its lines are
// KindCreditNote lines with negative amounts, each naming in Credits the
// invoice line it reverses; Subtotal, Tax and Total are their (negative)
// sums.
type CreditNote struct {
	// ID is "<invoice>/cn/<request id>".
	ID CreditNoteID `json:"id"`
	// Invoice is the invoice credited.
	Invoice InvoiceID `json:"invoice"`
	// Subscription is the invoice's subscription.
	Subscription SubscriptionID `json:"subscription"`
	// Customer is the invoice's customer.
	Customer CustomerID `json:"customer"`
	// Currency is the invoice's currency.
	Currency ensemble.Currency `json:"currency"`
	// Reason is the request's reason.
	Reason Reason `json:"reason"`
	// Date is the request's instant.
	Date time.Time `json:"date"`
	// Memo is the request's memo.
	Memo string `json:"memo,omitempty"`
	// Incident is the request's incident or claim (with ReasonSLA).
	Incident string `json:"incident,omitempty"`
	// Lines are the credit lines, sorted by ID.
	Lines []Line `json:"lines"`
	// Percents are the shares credited by percent (CreditLine.Percent),
	// sorted by line: later notes round their percent credits from them.
	Percents []CreditPercent `json:"percents,omitempty"`
	// Subtotal is the sum of the lines' Net (negative).
	Subtotal ensemble.Money `json:"subtotal"`
	// Taxes is the tax credited per rule.
	Taxes []TaxLine `json:"taxes"`
	// Tax is the sum of the lines' Tax (negative).
	Tax ensemble.Money `json:"tax"`
	// Total is Subtotal + Tax.
	Total ensemble.Money `json:"total"`
}

// Remainder is what remains creditable on one invoice line after the
// credit notes raised so far (all non-negative).
type Remainder struct {
	// Line is the invoice line.
	Line LineID `json:"line"`
	// Net is the net still creditable.
	Net ensemble.Money `json:"net"`
	// Tax is the tax still creditable.
	Tax ensemble.Money `json:"tax"`
	// Taxes is, for a line taxed with components, the tax still
	// creditable of each component.
	Taxes []TaxAmount `json:"taxes,omitempty"`
	// Total is Net + Tax.
	Total ensemble.Money `json:"total"`
	// Quantity is the quantity not yet credited by quantity.
	Quantity decimal.Decimal `json:"quantity"`
}

// Remaining returns, for every line of inv with a positive total, what the
// credit notes in prior, the proration credits, reversals and credit-note
// lines among prorated (lines of later invoices; see
// CreditRequest.Prorated) and the
// credits inv carries to its own lines billed anew (KindCreditNote lines
// of inv: see Run.Billed) leave creditable, sorted by line ID. Prior notes of another invoice, notes crediting lines inv lacks,
// a note (by ID) or a prorated line (by ID) given twice (ErrDuplicate, at
// prior[i].id or prorated[k].id: each would be counted twice), and a
// credit-note line or proration credit with a positive net, tax or total
// (or a credit-note line with a positive quantity: a sign-flipped or
// tampered record) are errors: an *ensemble.ValidationError whose problems
// name the note's or the proration credit's path (prior[i].lines[j],
// prorated[k]), the sign and over-credit ones wrapping a *LineError naming
// the line (ErrInvalid for a wrong sign, ErrOverCredit for more credited
// than the line billed).
func Remaining(inv Invoice, prior []CreditNote, prorated ...Line) ([]Remainder, error) {
	var ps ensemble.Problems
	rem := remaining(&inv, prior, prorated, &ps)
	if err := ps.Err(fmt.Sprintf("remaining of invoice %q", inv.ID)); err != nil {
		return nil, err
	}
	out := make([]Remainder, 0, len(rem))
	for i := range inv.Lines {
		if r, ok := rem[inv.Lines[i].ID]; ok {
			out = append(out, *r)
		}
	}
	return out, nil
}

// remaining returns what remains creditable on each line of inv with a
// positive total, recording in ps every problem of prior and prorated at
// its path; when it records one, what it returns is meaningless.
func remaining(inv *Invoice, prior []CreditNote, prorated []Line, ps *ensemble.Problems) map[LineID]*Remainder {
	rem := map[LineID]*Remainder{}
	for i := range inv.Lines {
		l := &inv.Lines[i]
		if l.Total.IsPositive() {
			rem[l.ID] = &Remainder{Line: l.ID, Net: l.Net, Tax: l.Tax, Taxes: cloneTaxes(l.Taxes), Total: l.Total, Quantity: l.Quantity}
		}
	}
	// A credit carried to a line billed anew, on the invoice itself (see
	// Run.Billed), credited it already.
	for i := range inv.Lines {
		l := &inv.Lines[i]
		if r, ok := rem[l.Credits]; ok && l.Kind == KindCreditNote {
			var x ensemble.Arith
			r.Net, r.Tax, r.Total, r.Quantity = x.Add(r.Net, l.Net), x.Add(r.Tax, l.Tax), x.Add(r.Total, l.Total), r.Quantity.Add(l.Quantity)
			r.Taxes = addTaxes(&x, r.Taxes, l.Taxes)
			if err := x.Err(); err != nil {
				ps.Add(ensemble.Path("invoice", "lines", i), &LineError{Line: l.Credits, Err: fmt.Errorf("%w: %w", ErrCurrency, err)})
			}
		}
	}
	// Proration credits and reversals of later invoices already gave back
	// part or all of a line: what they credited is no longer creditable.
	// Lines that credit another invoice's lines are not this invoice's
	// concern and are skipped.
	// The same line given twice would be subtracted twice: a full note
	// after it would credit too little, without a word.
	// A credit-note line of a later invoice (a discount recorded late,
	// credited on usage billed before it: see Run.Billed) credited its
	// line too; inv's own credit-note lines were counted above.
	own := make(map[LineID]bool, len(inv.Lines))
	for i := range inv.Lines {
		own[inv.Lines[i].ID] = true
	}
	given := make(map[LineID]int, len(prorated))
	for k := range prorated {
		pl := &prorated[k]
		pa := ensemble.Path("prorated", k)
		if first, dup := given[pl.ID]; dup {
			ps.Add(pa+".id", because(ErrDuplicate, "line %q is prorated[%d] too: give each later line once", pl.ID, first))
			continue
		}
		given[pl.ID] = k
		r, ok := rem[pl.Credits]
		if !ok || (pl.Kind != KindProrationCredit && pl.Kind != KindReversal && pl.Kind != KindCreditNote) || pl.Kind == KindCreditNote && own[pl.ID] {
			continue
		}
		// A positive credit would add back what it claims to credit: more
		// would remain creditable than the line billed.
		if what := positivePart(pl, false); what != "" {
			kind := "proration credit"
			switch pl.Kind {
			case KindReversal:
				kind = "reversal"
			case KindCreditNote:
				kind = "credit"
			}
			ps.Add(pa, &LineError{Line: pl.ID, Err: ErrInvalid, Value: fmt.Sprintf(
				"%s of line %q has a positive %s: a %s is never positive", kind, pl.Credits, what, kind)})
			continue
		}
		var e1, e2, e3 error
		r.Net, e1 = r.Net.Add(pl.Net)
		r.Tax, e2 = r.Tax.Add(pl.Tax)
		r.Total, e3 = r.Total.Add(pl.Total)
		var xt ensemble.Arith
		r.Taxes = addTaxes(&xt, r.Taxes, pl.Taxes)
		if e1 != nil || e2 != nil || e3 != nil || xt.Err() != nil {
			ps.Add(pa, &LineError{Line: pl.Credits, Err: ErrCurrency, Value: pl.Total.String()})
			continue
		}
		if r.Total.IsNegative() || r.Net.Sign()*r.Total.Sign() < 0 {
			ps.Add(pa, &LineError{Line: pl.Credits, Err: ErrOverCredit, Value: "proration credit " + quote(string(pl.ID))})
		}
	}
	notes := make(map[CreditNoteID]int, len(prior))
	noteLines := map[LineID]bool{}
	for i, cn := range prior {
		if first, dup := notes[cn.ID]; dup {
			ps.Add(ensemble.Path("prior", i, "id"), because(ErrDuplicate, "credit note %q is prior[%d] too: give each note once", cn.ID, first))
			continue
		}
		notes[cn.ID] = i
		if cn.Invoice != inv.ID {
			ps.Add(ensemble.Path("prior", i, "invoice"), bad(ErrInvalid, "credit note %q is against invoice %q, not %q", cn.ID, cn.Invoice, inv.ID))
			continue
		}
		for j := range cn.Lines {
			cl := &cn.Lines[j]
			pa := ensemble.Path("prior", i, "lines", j)
			if noteLines[cl.ID] {
				ps.Add(pa+".id", because(ErrDuplicate, "credit-note line %q of note %q is given twice", cl.ID, cn.ID))
				continue
			}
			noteLines[cl.ID] = true
			r, ok := rem[cl.Credits]
			if !ok {
				ps.Add(pa, &LineError{Line: cl.Credits, Err: ErrNotCreditable, Value: "credit note " + quote(string(cn.ID))})
				continue
			}
			if what := positivePart(cl, true); what != "" {
				ps.Add(pa, &LineError{Line: cl.ID, Err: ErrInvalid, Value: fmt.Sprintf(
					"credit note %q credits line %q with a positive %s: a credit-note line is never positive", cn.ID, cl.Credits, what)})
				continue
			}
			var e1, e2, e3 error
			r.Net, e1 = r.Net.Add(cl.Net)
			r.Tax, e2 = r.Tax.Add(cl.Tax)
			r.Total, e3 = r.Total.Add(cl.Total)
			var xt ensemble.Arith
			r.Taxes = addTaxes(&xt, r.Taxes, cl.Taxes)
			if e1 != nil || e2 != nil || e3 != nil || xt.Err() != nil {
				ps.Add(pa, &LineError{Line: cl.Credits, Err: ErrCurrency, Value: cl.Total.String()})
				continue
			}
			r.Quantity = r.Quantity.Add(cl.Quantity)
			if r.Total.IsNegative() || r.Net.Sign()*r.Total.Sign() < 0 || r.Quantity.Sign() < 0 {
				ps.Add(pa, &LineError{Line: cl.Credits, Err: ErrOverCredit, Value: "credit note " + quote(string(cn.ID))})
			}
		}
	}
	return rem
}

// positivePart names the first of l's net, tax and total (and, with qty,
// quantity) that is positive, with its value, or returns "": a credit
// (a credit-note line, a proration credit) has none.
func positivePart(l *Line, qty bool) string {
	switch {
	case l.Net.IsPositive():
		return "net " + l.Net.String()
	case l.Tax.IsPositive():
		return "tax " + l.Tax.String()
	case l.Total.IsPositive():
		return "total " + l.Total.String()
	case qty && l.Quantity.IsPositive():
		return "quantity " + l.Quantity.String()
	}
	return ""
}

// NewCreditNote credits lines of an issued invoice, given the credit notes
// already raised against it (prior). For each line it credits a total t of
// the remaining total T (t ≤ T: more is ErrOverCredit), and splits it as
// net = round(N × t / T) of the remaining net N, tax = t - net. Crediting the
// whole remainder credits exactly the remaining net and tax, so credit notes
// that end up crediting every line in full return exactly the invoice's
// subtotal, tax and total: no rounding drift, however the credits were
// split. The invoice must be issued and reconcile (Invoice.Check). The
// prior notes and req.Prorated are checked as Remaining checks them: a note
// or a prorated line given twice is ErrDuplicate (prior[i].id,
// prorated[k].id), never counted twice; a credit-note line or proration
// credit that is positive (a stored note sign-flipped or tampered with) is
// ErrInvalid at its path (prior[i].lines[j], prorated[k]), never counted
// as giving back. Every
// problem of the request is reported at once in an
// *ensemble.ValidationError; a failed call returns the zero CreditNote.
func NewCreditNote(inv Invoice, prior []CreditNote, req CreditRequest) (CreditNote, error) {
	var ps ensemble.Problems
	if inv.Status != Issued {
		ps.Add("invoice.status", bad(ErrNotIssued, "invoice %q is %s", inv.ID, inv.Status))
	}
	if !inv.Mode.Valid() {
		ps.Add("invoice.mode", bad(ErrInvalid, "%d", inv.Mode))
	}
	if inv.Currency.IsZero() {
		ps.Add("invoice.currency", ErrRequired)
	} else if err := inv.Check(); err != nil {
		ps.Add("invoice", err)
	}
	if err := validID(req.ID); err != nil {
		ps.Add("id", err)
	}
	id := CreditNoteID(string(inv.ID) + "/cn/" + req.ID)
	for _, cn := range prior {
		if cn.ID == id {
			ps.Add("id", bad(ErrDuplicate, "%q", req.ID))
		}
	}
	if req.Reason == ReasonUnspecified || req.Reason > ReasonSLA {
		ps.Add("reason", bad(ErrRequired, "reason %s", req.Reason))
	}
	if req.Reason == ReasonSLA && req.Incident == "" {
		ps.Add("incident", bad(ErrRequired, "an SLA credit names the incident or claim it compensates"))
	} else if req.Incident != "" {
		if err := ensemble.CheckID(req.Incident, ""); err != nil {
			ps.Add("incident", fmt.Errorf("%w: %w", ErrInvalidID, err))
		}
	}
	if req.At.IsZero() {
		ps.Add("at", ErrRequired)
	}
	req.Bearer.check(&ps, "bearer")
	n := ps.Len()
	rem := remaining(&inv, prior, req.Prorated, &ps)
	known := ps.Len() == n // else what remains is unknown, and the problems say why
	drawn := map[PrepaidID]decimal.Decimal{}
	for k, d := range req.Prepaid {
		pa := ensemble.Path("prepaid", k)
		if _, dup := drawn[d.Commitment]; dup {
			ps.Add(pa+".commitment", bad(ErrDuplicate, "%q", d.Commitment))
		} else if d.Commitment == "" {
			ps.Add(pa+".commitment", ErrRequired)
		}
		switch {
		case d.Drawn.Sign() < 0:
			ps.Add(pa+".drawn", bad(ErrNegative, "%s", d.Drawn))
		case !inRange(d.Drawn) || !ensemble.MoneyFromDecimal(d.Drawn, inv.Currency).IsRounded():
			ps.Add(pa+".drawn", bad(ErrInvalid, "%s is not whole minor units", d.Drawn))
		}
		drawn[d.Commitment] = d.Drawn
	}
	reqs := req.Lines
	if req.Full {
		reqs = nil
		for i := range inv.Lines {
			if r, ok := rem[inv.Lines[i].ID]; ok && known && r.Total.IsPositive() {
				reqs = append(reqs, CreditLine{Line: inv.Lines[i].ID})
			}
		}
	} else if len(reqs) == 0 {
		ps.Add("lines", ErrRequired)
	}
	cn := CreditNote{ID: id, Invoice: inv.ID, Subscription: inv.Subscription, Customer: inv.Customer.ID,
		Currency: inv.Currency, Reason: req.Reason, Date: req.At, Memo: req.Memo, Incident: req.Incident}
	seen := map[LineID]bool{}
	for k, cr := range reqs {
		at := ensemble.Path("lines", k)
		if seen[cr.Line] {
			ps.Add(at+".line", bad(ErrDuplicate, "%q", cr.Line))
			continue
		}
		seen[cr.Line] = true
		src, ok := inv.Line(cr.Line)
		if !ok {
			ps.Add(at+".line", bad(ErrUnknown, "line %q", cr.Line))
			continue
		}
		r := rem[cr.Line]
		if !known {
			continue
		}
		if r == nil || !r.Total.IsPositive() {
			ps.Add(at+".line", &LineError{Line: cr.Line, Err: ErrNotCreditable, Value: "nothing remains"})
			continue
		}
		var before ensemble.Ratio // the percents of this line credited so far
		for _, cn := range prior {
			for _, p := range cn.Percents {
				if p.Line == cr.Line {
					before = before.Add(p.Percent)
				}
			}
		}
		l, err := creditLine(&inv, &src, r, cr, before, id, req.At)
		if err != nil {
			ps.Add(at, err)
			continue
		}
		if src.Kind == KindPrepayment {
			if err := refund(&inv, &src, &l, prior, drawn); err != nil {
				ps.Add(at+".line", err)
				continue
			}
		}
		if req.Incident != "" {
			l.Refs = append(l.Refs, ensemble.Ref{Kind: RefIncident, ID: req.Incident})
			slices.SortFunc(l.Refs, ensemble.Ref.Compare)
		}
		if !cr.Percent.IsZero() {
			cn.Percents = append(cn.Percents, CreditPercent{Line: cr.Line, Percent: cr.Percent})
		}
		cr.Bearer.check(&ps, at+".bearer")
		l.Bearer = req.Bearer
		if cr.Bearer != (Bearer{}) {
			l.Bearer = cr.Bearer
		}
		if field, err := bearerOnLine(&src, l.Bearer); err != nil {
			ps.Add(at+".bearer."+field, err)
		}
		if err := ensemble.CheckLineID(string(l.ID)); err != nil {
			ps.Add(at+".line", fmt.Errorf("the credit line's id (%d bytes: the invoice's id, the request's and the credited line's) cannot settle: %w", len(l.ID), err))
		}
		cn.Lines = append(cn.Lines, l)
	}
	if err := ps.Err(fmt.Sprintf("credit note %q", id)); err != nil {
		return CreditNote{}, err
	}
	slices.SortFunc(cn.Lines, func(a, b Line) int { return strings.Compare(string(a.ID), string(b.ID)) })
	slices.SortFunc(cn.Percents, func(a, b CreditPercent) int { return strings.Compare(string(a.Line), string(b.Line)) })
	var x ensemble.Arith
	cn.Subtotal, cn.Tax, cn.Total, cn.Taxes = sumLines(&x, cn.Lines, inv.Currency)
	if err := x.Err(); err != nil {
		return CreditNote{}, fmt.Errorf("credit note %q: %w: %w", id, ErrCurrency, err)
	}
	return cn, nil
}

// creditLine computes one credit-note line; before is the share of src
// credited by percent so far.
func creditLine(inv *Invoice, src *Line, r *Remainder, cr CreditLine, before ensemble.Ratio, id CreditNoteID, at time.Time) (Line, error) {
	mode := inv.Mode
	var x ensemble.Arith
	mismatch := func() (Line, error) {
		return Line{}, &LineError{Line: cr.Line, Err: fmt.Errorf("%w: %w", ErrCurrency, x.Err())}
	}
	total, qty := r.Total, r.Quantity
	all := true
	set := 0
	for _, ok := range [...]bool{!cr.Amount.IsZero(), !cr.Quantity.IsZero(), !cr.Percent.IsZero()} {
		if ok {
			set++
		}
	}
	switch {
	case set > 1:
		return Line{}, bad(ErrInvalid, "line %q: more than one of amount, quantity and percent set", cr.Line)
	case !cr.Percent.IsZero() && (cr.Percent.Sign() < 0 || cr.Percent.Cmp(ratioOne) > 0):
		return Line{}, bad(ErrInvalid, "percent %s is outside (0, 100%%]", cr.Percent)
	case !cr.Percent.IsZero():
		upTo := before.Add(cr.Percent)
		if upTo.Cmp(ratioOne) > 0 {
			return Line{}, &LineError{Line: cr.Line, Err: ErrOverCredit, Value: fmt.Sprintf("%s after %s credited by percent is over 100%%", cr.Percent.Percent(), before.Percent())}
		}
		a := x.Sub(src.Total.MulRatio(upTo, mode), src.Total.MulRatio(before, mode))
		if x.Err() != nil {
			return mismatch()
		}
		if !a.IsPositive() {
			return Line{}, &LineError{Line: cr.Line, Err: ErrNotCreditable, Value: fmt.Sprintf("%s of %s rounds to %s", cr.Percent.Percent(), src.Total, a)}
		}
		c := x.Cmp(a, r.Total)
		if c > 0 {
			return Line{}, &LineError{Line: cr.Line, Err: ErrOverCredit, Value: fmt.Sprintf("%s of %s is %s > %s", cr.Percent.Percent(), src.Total, a, r.Total)}
		}
		if c < 0 {
			total, qty, all = a, decimal.Zero, false
		}
	case cr.Amount.Sign() < 0:
		return Line{}, bad(ErrNegative, "amount %s", cr.Amount)
	case cr.Quantity.Sign() < 0:
		return Line{}, bad(ErrNegative, "quantity %s", cr.Quantity)
	case !cr.Amount.IsZero():
		a := ensemble.MoneyFromDecimal(cr.Amount, inv.Currency)
		if !a.IsRounded() {
			return Line{}, bad(ErrInvalid, "amount %s is not whole minor units", cr.Amount)
		}
		c := x.Cmp(a, r.Total)
		if c > 0 {
			return Line{}, &LineError{Line: cr.Line, Err: ErrOverCredit, Value: fmt.Sprintf("%s > %s", a, r.Total)}
		}
		if c < 0 {
			total, qty, all = a, decimal.Zero, false
		}
	case !cr.Quantity.IsZero():
		c := cr.Quantity.Cmp(r.Quantity)
		if c > 0 {
			return Line{}, &LineError{Line: cr.Line, Err: ErrOverCredit, Value: fmt.Sprintf("quantity %s > %s", cr.Quantity, r.Quantity)}
		}
		if c < 0 {
			f := quo(ensemble.RatioFromDecimal(cr.Quantity), ensemble.RatioFromDecimal(r.Quantity))
			total, qty, all = r.Total.MulRatio(f, mode), cr.Quantity, false
		}
	}
	net, tax := r.Net, r.Tax
	if !all {
		net = r.Net.MulRatio(quo(ensemble.RatioFromDecimal(total.Amount()), ensemble.RatioFromDecimal(r.Total.Amount())), mode)
		tax = x.Sub(total, net)
	}
	amount := net
	if src.TaxRule.Inclusive {
		amount = x.Add(net, tax)
	}
	// Each component gives back its share of what is left of it, never
	// more (splitTax); all of the line gives back each one's rest.
	taxes := negTaxes(splitTax(&x, tax, r.Taxes))
	if x.Err() != nil {
		return mismatch()
	}
	zero := ensemble.MoneyFromMinor(0, inv.Currency)
	l := Line{
		ID:              LineID(string(id) + "/" + string(src.ID)),
		Kind:            KindCreditNote,
		Subscription:    src.Subscription,
		Item:            src.Item,
		Customer:        src.Customer,
		Date:            at,
		Description:     "Credit: " + src.Description,
		Pin:             src.Pin,
		Charge:          src.Charge,
		Model:           src.Model,
		Cycle:           src.Cycle,
		Period:          src.Period,
		Quantity:        qty.Neg(),
		Full:            src.Full,
		Currency:        inv.Currency,
		Amount:          amount.Neg(),
		Discount:        zero,
		Net:             net.Neg(),
		Tax:             tax.Neg(),
		TaxRule:         src.TaxRule,
		Taxes:           taxes,
		Total:           total.Neg(),
		Credits:         src.ID,
		CreditedInvoice: inv.ID,
		Refs:            slices.Clone(src.Refs),
	}
	l.SubscriptionStart = src.SubscriptionStart
	l.Attribution = clonePtr(src.Attribution) // whose usage it credits
	l.Refs = append(l.Refs, ensemble.Ref{Kind: RefLine, ID: string(src.ID)}, ensemble.Ref{Kind: RefInvoice, ID: string(inv.ID)})
	slices.SortFunc(l.Refs, ensemble.Ref.Compare)
	l.Refs = slices.Compact(l.Refs)
	return l, nil
}

// refund marks l, a credit of src (a prepaid commitment's purchase), as
// the refund it is and splits it into its unused and used parts (see
// PrepaidRefund), given what had been drawn of each commitment: settlement
// needs both (see settlement.PrepaidEarning). Nothing is covered.
func refund(inv *Invoice, src, l *Line, prior []CreditNote, drawn map[PrepaidID]decimal.Decimal) error {
	var c PrepaidID
	for _, r := range src.Refs {
		if r.Kind == RefPrepaid {
			_, id, _ := strings.Cut(r.ID, "/")
			c = PrepaidID(id)
		}
	}
	d, ok := drawn[c]
	switch {
	case !ok:
		return &LineError{Line: src.ID, Err: ErrRequired, Value: fmt.Sprintf(
			"refunding the purchase of prepaid commitment %q needs what had been drawn of it: set CreditRequest.Prepaid from the last invoice's prepaid total", c)}
	case d.GreaterThan(src.Amount.Amount()):
		return &LineError{Line: src.ID, Err: ErrInvalid, Value: fmt.Sprintf("%s drawn of prepaid commitment %q, bought for %s", d, c, src.Amount.AmountString())}
	}
	cur, mode := inv.Currency, inv.Mode
	zero := ensemble.MoneyFromMinor(0, cur)
	var x ensemble.Arith
	// What is left unused: the amount bought, less what earlier refunds
	// took unused, less what was drawn.
	left := src.Amount
	for _, cn := range prior {
		for _, pl := range cn.Lines {
			if pl.Credits == src.ID && pl.Prepaid != nil && pl.Prepaid.Refund != nil {
				left = x.Add(left, pl.Prepaid.Refund.Unused)
			}
		}
	}
	left = x.Sub(left, ensemble.MoneyFromDecimal(d, cur))
	if left.IsNegative() {
		left = zero
	}
	all := l.Amount.Neg()
	unused := all
	if x.Cmp(unused, left) > 0 {
		unused = left
	}
	used := x.Sub(all, unused)
	rf := &PrepaidRefund{Drawn: d, Unused: unused.Neg(), UnusedNet: zero, UnusedTax: zero, Used: used.Neg()}
	switch {
	case unused.IsZero():
	case used.IsZero():
		rf.UnusedNet, rf.UnusedTax = l.Net, l.Tax
	default:
		rf.UnusedTax = l.Tax.MulRatio(quo(ensemble.RatioFromDecimal(unused.Amount()), ensemble.RatioFromDecimal(all.Amount())), mode)
		if src.TaxRule.Inclusive {
			rf.UnusedNet = x.Sub(rf.Unused, rf.UnusedTax)
		} else {
			rf.UnusedNet = rf.Unused
		}
	}
	if err := x.Err(); err != nil {
		return &LineError{Line: src.ID, Err: fmt.Errorf("%w: %w", ErrCurrency, err)}
	}
	l.Prepaid = &PrepaidDraw{Commitment: c, Covered: zero, CoveredNet: zero, CoveredTax: zero, Remaining: zero, Refund: rf}
	return nil
}

// sumLines totals lines and their tax breakdown; x keeps a currency
// mismatch.
func sumLines(x *ensemble.Arith, lines []Line, cur ensemble.Currency) (sub, tax, total ensemble.Money, taxes []TaxLine) {
	zero := ensemble.MoneyFromMinor(0, cur)
	sub, tax, total = zero, zero, zero
	for i := range lines {
		l := &lines[i]
		sub = x.Add(sub, l.Net)
		tax = x.Add(tax, l.Tax)
		total = x.Add(total, l.Total)
		// An invoice has few rules: a linear search beats a map.
		j := -1
		for k := range taxes {
			if taxes[k].Rule.ID == l.TaxRule.ID && taxes[k].Rule.Treatment == l.TaxRule.Treatment {
				j = k
				break
			}
		}
		if j < 0 {
			j = len(taxes)
			taxes = append(taxes, TaxLine{Rule: l.TaxRule, Base: zero, Tax: zero})
		}
		taxes[j].Base = x.Add(taxes[j].Base, l.Net)
		taxes[j].Tax = x.Add(taxes[j].Tax, l.Tax)
		if len(l.Taxes) > 0 {
			taxes[j].Components = addTaxes(x, taxes[j].Components, l.Taxes)
		}
	}
	slices.SortFunc(taxes, func(a, b TaxLine) int {
		if c := strings.Compare(string(a.Rule.ID), string(b.Rule.ID)); c != 0 {
			return c
		}
		return int(a.Rule.Treatment) - int(b.Rule.Treatment)
	})
	return sub, tax, total, taxes
}

// bearerOnLine checks what the invoice knows of the bearer of a credit of
// src: a component must be one of its supplier costs'; a party that is not
// one of its suppliers but within a typo of one (ensemble.Nearest) is
// refused as misspelt. Any other party may be one of the route's, which
// the invoice does not know: settlement checks it. It returns the
// bearer's offending field and a *BearerError.
func bearerOnLine(src *Line, b Bearer) (string, error) {
	var field, name string
	var on []string
	switch {
	case b.Component != "":
		field, name = "component", b.Component
		for _, sc := range src.SupplierCosts {
			on = append(on, sc.Component.ID)
		}
	case b.Party != "":
		field, name = "party", b.Party
		for _, sc := range src.SupplierCosts {
			on = append(on, sc.Supplier)
		}
	default:
		return "", nil
	}
	slices.Sort(on)
	on = slices.Compact(on)
	if slices.Contains(on, name) || (field == "party" && len(ensemble.Nearest(name, on)) == 0) {
		return "", nil
	}
	return field, &BearerError{Line: src.ID, Bearer: b, OnLine: on, Err: ErrBearerNotOnLine}
}
