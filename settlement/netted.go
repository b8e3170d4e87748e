package settlement

import (
	"slices"
	"strings"

	"github.com/ensemble-commerce/ensemble"
)

// A credit of a line payable on collection takes its amount plus tax off
// what the customer owes. Which balance it takes it off is the invoice the
// credit line is on (Line.Invoice):
//
//   - the credited line's own invoice, or none: a credit note against that
//     invoice, which the customer then owes less on: the credited line's
//     balance is reduced (after a payment, a refund may be due);
//   - another invoice that holds lines awaiting collection: a credit
//     netted on that invoice, as a proration credit on the next month's
//     invoice is (invoice.KindProrationCredit). The customer pays that
//     invoice's total net of the credit, so the credit counts as paid
//     toward the invoice's lines, like a payment of the invoice (Collect)
//     of the credit's amount plus tax: their parts become payable in
//     proportion to what each owes, and the credited line's balance is
//     left as it was invoiced (paid or owed in full). What the credit holds
//     beyond what the invoice's lines owe is taken off the credited line's
//     balance.
//
// The payment is recorded on the invoice's lines as a collection whose id
// is the credit line's followed by nettedSuffix (an id no host collection
// can have: '#' is refused in collection ids), so its entries are
// "<line>:<part path>#collected.<credit>#netted". The invoice's lines
// must be in the state or in the credit's call (a call settles its sales
// before its credits): lines of an invoice settled in a later call than
// the credits netted on it do not receive them, and neither do lines
// another shard holds (settle an invoice's lines together, as
// FromInvoiceWith returns them, and shard by invoice, seller or customer,
// not by line).

// nettedSuffix ends the id of the collection a credit netted on an
// invoice pays that invoice's lines with.
const nettedSuffix = "#netted"

// nettedOn returns the lines of the invoice credit l is on, when that is
// not lg's own, that owe the customer's payment in lg's currency and no
// dispute holds, with what each owes, and what they owe in all.
func (r *run) nettedOn(l *Line, lg *ledger) (ids []LineID, owed []int64, all int64) {
	inv := l.Invoice
	if inv == "" || inv == lg.coll.invoice {
		return nil, nil, 0
	}
	for il := r.st.invoices.get(inv); il != nil; il = il.prev {
		y := r.st.lines.get(il.line)
		if il.line == lg.line || y == nil || y.coll == nil || y.disputed() || y.ctx.cur != lg.ctx.cur || y.coll.owed() == 0 {
			continue
		}
		ids = append(ids, il.line)
	}
	if len(ids) == 0 {
		return nil, nil, 0
	}
	slices.Sort(ids)
	owed = make([]int64, len(ids))
	for i, id := range ids {
		owed[i] = r.st.lines.get(id).coll.owed()
		all += min(owed[i], 1<<62-all)
	}
	return ids, owed, all
}

// payNetted pays amount of credit l, netted on its invoice, to the lines
// ids of that invoice, which owe owed.
func (r *run) payNetted(l *Line, ids []LineID, owed []int64, amount int64, cur ensemble.Currency) error {
	c := Collection{ID: string(l.ID) + nettedSuffix, Date: l.Date, Amount: ensemble.MoneyFromMinor(amount, cur), Invoice: l.Invoice}
	for _, id := range ids {
		r.undoOther(id, c.ID)
	}
	_, err := r.payLines(ids, owed, amount, &c, l.Date.UTC(), false)
	return err
}

// collectionName is how entries' notes name collection c: "collection
// P1", or "credit C1 netted on invoice INV-2".
func collectionName(c *Collection) string {
	if credit, ok := strings.CutSuffix(c.ID, nettedSuffix); ok {
		return "credit " + credit + " netted on invoice " + c.Invoice
	}
	return "collection " + c.ID
}

// validCollectionID reports whether id is an id a collection can have in
// a state: a host's (ensemble.CheckID, without ':' or '#'), or a netted
// credit's (a line id and nettedSuffix).
func validCollectionID(id string) error {
	if credit, ok := strings.CutSuffix(id, nettedSuffix); ok && ensemble.CheckLineID(credit) == nil {
		return nil
	}
	return ensemble.CheckID(id, ensemble.EntrySeparators)
}
