package settlement

import (
	"fmt"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/invoice"
	"github.com/ensemble-commerce/ensemble/order"
	"github.com/ensemble-commerce/ensemble/partner"
)

// RouteFromOrder is the route an order captured when it was sold: its kind,
// the seller's chain at acceptance, the referrer, the marketplace and the
// co-sellers with their weights.
func RouteFromOrder(r order.Route) (Route, error) {
	var kind RouteKind
	text, err := r.Kind.MarshalText()
	if err == nil {
		err = kind.UnmarshalText(text)
	}
	if err != nil {
		return Route{}, fmt.Errorf("settlement: route kind %s: %w", r.Kind, err)
	}
	out := Route{Kind: kind, Chain: append([]partner.ID(nil), r.Chain...), Referrer: r.Referrer, Marketplace: r.Marketplace}
	for _, c := range r.CoSellers {
		out.CoSellers = append(out.CoSellers, CoSeller{Partner: c.Partner, Weight: c.Weight})
	}
	return out, nil
}

// FromInvoice returns the settlement lines of invoice or credit-note lines
// of an order, in the same order: each line's id, date, net amount and tax,
// offer pin, charge, quantity, supplier costs and the line it credits (a
// proration credit credits the line it reverses; a credit-note line the
// invoice line), the order's customer and route, and a trace that starts with
// the invoice line itself (invoice.RefLine) followed by the line's own
// references. Invoice line ids are unique across invoices and credit notes,
// so they serve as settlement line ids.
func FromInvoice(lines []invoice.Line, o order.Order) ([]Line, error) {
	route, err := RouteFromOrder(o.Route)
	if err != nil {
		return nil, err
	}
	customer := Customer{ID: string(o.Customer.ID), Country: partner.Territory(o.Customer.Country)}
	out := make([]Line, len(lines))
	for i, l := range lines {
		trace := make([]ensemble.Ref, 0, len(l.Refs)+1)
		trace = append(trace, ensemble.Ref{Kind: invoice.RefLine, ID: string(l.ID)})
		out[i] = Line{
			ID: LineID(l.ID), Date: l.Date, Amount: l.Net, Tax: l.Tax, Offer: l.Pin, Charge: l.Charge,
			Quantity: l.Quantity, Customer: customer, Route: route, SupplierCosts: l.SupplierCosts,
			Credits: LineID(l.Credits), Trace: append(trace, l.Refs...),
		}
	}
	return out, nil
}
