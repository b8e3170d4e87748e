package settlement

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Reference kinds settlement outputs use in their traces.
const (
	// RefLine refers to a settled line (Ref.ID is the LineID).
	RefLine ensemble.RefKind = "settlement_line"
	// RefPlanNode refers to a plan node: ID "plan/node/path", Version the
	// plan version.
	RefPlanNode ensemble.RefKind = "plan_node"
	// RefEntry refers to a payout entry.
	RefEntry ensemble.RefKind = "payout_entry"
)

// LineID identifies a line to settle. The empty ID is invalid, as is one
// ensemble.CheckID refuses with ensemble.EntrySeparators (entry ids are
// built from it, see EntryID) and the ids "adjustment" and "payout", which
// Adjust's and PayOut's entry ids begin with. Credit lines have their own
// ids.
type LineID string

// RouteKind says how a sale reached its customer.
type RouteKind uint8

const (
	// RouteUnspecified is the zero value; a line must name its route kind.
	RouteUnspecified RouteKind = iota
	// RouteDirect: the platform sold directly.
	RouteDirect
	// RouteMarketplace: sold through a marketplace partner.
	RouteMarketplace
	// RoutePartner: sold by a partner, possibly deep in a reseller chain.
	RoutePartner
	// RouteReferral: sold by the platform on a partner's referral.
	RouteReferral
	// RouteCoSell: sold jointly by several partners with weights.
	RouteCoSell
)

var routeNames = [...]string{"unspecified", "direct", "marketplace", "partner", "referral", "co_sell"}

// String returns the kind's lowercase name.
func (k RouteKind) String() string { return ensemble.EnumName(uint8(k), routeNames[:], "route_kind") }

// MarshalText writes the kind's name.
func (k RouteKind) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(k), routeNames[:], "settlement", "route kind")
}

// UnmarshalText reads a kind's name; "" is RouteUnspecified.
func (k *RouteKind) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[uint8](b, routeNames[:], "settlement", "route kind")
	*k = RouteKind(v)
	return err
}

// CoSeller is one partner of a co-sold deal with its relative weight.
type CoSeller struct {
	Partner partner.ID     `json:"partner"`
	Weight  ensemble.Ratio `json:"weight"`
}

// Route is who took part in a sale, captured when it was made: later
// changes to the partner hierarchy never move an old sale's payouts.
//
// A party appears once on a route: Settle refuses a line whose chain, or
// whose co-sellers, name a partner twice (ErrInvalidLine, at
// route.chain[i] or route.co_sellers[i].partner), since chain[*] and
// co_sellers entries are named by their partner. For the same reason
// chain and co-seller ids hold neither ':' nor '#'.
type Route struct {
	Kind RouteKind `json:"kind"`
	// Chain is the selling partner first, then its parent, up to the top
	// of its hierarchy (partner.Network.Chain at the sale's instant).
	// Empty for a direct sale.
	Chain []partner.ID `json:"chain,omitempty"`
	// Referrer is the partner that referred the customer, if any.
	Referrer partner.ID `json:"referrer,omitempty"`
	// CoSellers are the partners of a co-sold deal, with weights.
	CoSellers []CoSeller `json:"co_sellers,omitempty"`
	// Marketplace is the marketplace partner the sale went through.
	Marketplace partner.ID `json:"marketplace,omitempty"`
}

// Seller returns the selling partner, Chain[0], or "" for none.
func (r Route) Seller() partner.ID {
	if len(r.Chain) == 0 {
		return ""
	}
	return r.Chain[0]
}

// Customer is who a line was billed to.
type Customer struct {
	ID      string            `json:"id"`
	Country partner.Territory `json:"country,omitempty"`
}

// Line is one line to settle: the small, documented type a billing team
// fills from its own billing system, without the invoice package. Amounts
// are whole minor units of one currency (Amount's); Tax is in the same
// currency or zero.
//
// A line that credits another (Credits set) is a credit-note line: its
// Amount (and Tax) are negative, and settling it reverses the credited
// line's entries in proportion to what each party has left unreversed, or
// from the parts of the Bearer it names. A
// sale line (one that credits nothing) has neither a negative Amount nor a
// negative Tax: Settle refuses such a line with a *LineError naming it and
// wrapping ErrInvalidLine and an *ensemble.ValidationError whose problem
// names the field ("amount", "tax").
type Line struct {
	ID   LineID    `json:"id"`
	Date time.Time `json:"date"`
	// Amount is the line's amount net of tax. Plans split it (or, with
	// basis gross, Amount + Tax).
	Amount ensemble.Money `json:"amount"`
	// Tax is the tax billed on the line, in Amount's currency: zero or
	// positive on a sale, zero or negative on a credit.
	Tax ensemble.Money `json:"tax,omitzero"`
	// Offer and Charge name what was sold, as the catalog pins it.
	Offer  catalog.Pin      `json:"offer"`
	Charge catalog.ChargeID `json:"charge,omitempty"`
	// Quantity is how many units the line bills (zero when not relevant).
	Quantity decimal.Decimal `json:"quantity,omitzero"`
	Customer Customer        `json:"customer,omitzero"`
	Route    Route           `json:"route"`
	// SupplierCosts are the wholesale costs of the bundle's components
	// (catalog.Catalog.SupplierCosts computes them); they are paid to the
	// suppliers before the margin is split.
	SupplierCosts []catalog.SupplierCost `json:"supplier_costs,omitempty"`
	// Credits is the line a credit-note line credits; empty otherwise.
	Credits LineID `json:"credits,omitempty"`
	// Bearer says, on a credit-note line, who bears the credit: zero (the
	// default) reverses every party in proportion to what it has
	// unreversed; a party, plan node, role or bundle component takes the
	// whole credit from its parts alone (see Bearer). A sale line has
	// none.
	Bearer Bearer `json:"bearer,omitzero"`
	// Prepaid names the prepaid commitment the line buys, draws on or lets
	// expire, and how its partners earn on it (FromInvoiceWith sets it):
	// the State keeps the first line's mode and refuses a later line of
	// the same commitment settled the other way, which would pay twice.
	Prepaid PrepaidTerms `json:"prepaid,omitzero"`
	// Service is the period the line bills the service of (the invoice
	// line's Period; empty, [t, t), for a one-time fee delivered at an
	// instant), zero when not known. Every entry of the line keeps
	// it, so revenue and payouts can be reported by the month the service
	// was delivered, not the invoice date.
	Service ensemble.Period `json:"service,omitzero"`
	// Trace says where the line came from: invoice line, order line, usage
	// aggregate... Every entry of the line carries it.
	Trace []ensemble.Ref `json:"trace,omitempty"`
}

// Currency returns the line's currency.
func (l *Line) Currency() ensemble.Currency { return l.Amount.Currency() }

// Ref returns the trace reference to the line.
func (l *Line) Ref() ensemble.Ref { return ensemble.Ref{Kind: RefLine, ID: string(l.ID)} }

// eachRepeat calls f(i, j) for each of the n keys that repeats an earlier
// one, j the first. A few keys are compared pairwise; more are looked up
// in a map, so that validating a line stays linear in its size.
func eachRepeat[K comparable](n int, key func(int) K, f func(i, j int)) {
	if n <= 16 {
		for i := 1; i < n; i++ {
			for j := range i {
				if key(i) == key(j) {
					f(i, j)
					break
				}
			}
		}
		return
	}
	first := make(map[K]int, n)
	for i := range n {
		if j, dup := first[key(i)]; dup {
			f(i, j)
		} else {
			first[key(i)] = i
		}
	}
}

// validate checks the fields every line needs.
func (l *Line) validate() error {
	var p ensemble.Problems
	if err := ensemble.CheckID(string(l.ID), ensemble.EntrySeparators); err != nil {
		p.Add("id", err)
	} else if reservedLine(l.ID) {
		p.Addf("id", "line id %q is reserved: entry ids %q:<id> are Adjust's and PayOut's", l.ID, l.ID)
	}
	if l.Date.IsZero() {
		p.Addf("date", "zero date")
	}
	if sv := l.Service; !sv.Start.IsZero() || !sv.End.IsZero() {
		// An empty period [t, t) is a service delivered at an instant: an
		// invoice's one-time line (an onboarding fee) has one.
		if err := sv.Validate(); err != nil {
			p.Add("service", err)
		}
	}
	if l.Amount.Currency().IsZero() {
		p.Addf("amount", "no currency")
	} else if !l.Amount.IsRounded() {
		p.Add("amount", ensemble.ErrNotMinorUnits)
	}
	if !l.Tax.IsZero() && l.Tax.Currency() != l.Amount.Currency() {
		p.Addf("tax", "currency %s differs from the amount's %s", l.Tax.Currency(), l.Amount.Currency())
	} else if !l.Tax.IsRounded() {
		p.Add("tax", ensemble.ErrNotMinorUnits)
	}
	if l.Credits == "" {
		if l.Amount.IsNegative() {
			p.Addf("amount", "negative amount on a line that credits nothing")
		}
		if l.Tax.IsNegative() {
			p.Addf("tax", "negative tax %s on a line that credits nothing", l.Tax)
		}
		if l.Route.Kind == RouteUnspecified || int(l.Route.Kind) >= len(routeNames) {
			p.Addf("route.kind", "unspecified route kind")
		}
		if l.Offer.Offer == "" {
			p.Addf("offer.offer", "empty offer id")
		}
		if !l.Bearer.IsZero() {
			p.Addf("bearer", "a line that credits nothing has no bearer")
		}
	} else {
		if l.Credits == l.ID {
			p.Addf("credits", "a line cannot credit itself")
		}
		if l.Amount.IsPositive() {
			p.Addf("amount", "a credit line's amount must be negative")
		}
		if l.Tax.IsPositive() {
			p.Addf("tax", "a credit line's tax must not be positive")
		}
		l.Bearer.validate(&p, "bearer")
	}
	// Route partners name entries (chain[*] and co_sellers pay
	// "<line>:<node>/<partner>"), so they hold no '#', which starts an
	// entry id's suffix, and each appears once in its list: a party
	// appears once on a route.
	chain, cos := l.Route.Chain, l.Route.CoSellers
	for i, id := range chain {
		if err := ensemble.CheckID(string(id), ensemble.EntrySeparators); err != nil {
			p.Add(ensemble.Path("route", "chain", i), err)
		}
	}
	eachRepeat(len(chain), func(i int) partner.ID { return chain[i] }, func(i, j int) {
		p.Addf(ensemble.Path("route", "chain", i), "partner %q is also chain[%d]: a party appears once on a route", chain[i], j)
	})
	eachRepeat(len(cos), func(i int) partner.ID { return cos[i].Partner }, func(i, j int) {
		p.Addf(ensemble.Path("route", "co_sellers", i, "partner"), "partner %q is also co_sellers[%d]: a party appears once on a route", cos[i].Partner, j)
	})
	for i, c := range cos {
		if err := ensemble.CheckID(string(c.Partner), ensemble.EntrySeparators); err != nil {
			p.Add(ensemble.Path("route", "co_sellers", i, "partner"), err)
		}
		if c.Weight.Sign() < 0 {
			p.Add(ensemble.Path("route", "co_sellers", i, "weight"), ensemble.ErrNegativeWeight)
		}
	}
	for i, c := range l.SupplierCosts {
		if c.Supplier == "" {
			p.Addf(ensemble.Path("supplier_costs", i, "supplier"), "empty supplier")
		}
		// A supplier cost's entry id is "<line>:supplier_costs/<component
		// id>" (without one, "/<offer>/<supplier>"): no '#' in it.
		if c.Component.ID != "" {
			if strings.Contains(c.Component.ID, "#") {
				p.Addf(ensemble.Path("supplier_costs", i, "component", "id"), "component %q holds '#', which starts an entry id's suffix", c.Component.ID)
			}
		} else {
			if strings.Contains(string(c.Offer), "#") {
				p.Addf(ensemble.Path("supplier_costs", i, "offer"), "offer %q holds '#', which starts an entry id's suffix", c.Offer)
			}
			if strings.Contains(c.Supplier, "#") {
				p.Addf(ensemble.Path("supplier_costs", i, "supplier"), "supplier %q holds '#', which starts an entry id's suffix", c.Supplier)
			}
		}
		if c.Cost.IsNegative() || !c.Cost.IsRounded() {
			p.Addf(ensemble.Path("supplier_costs", i, "cost"), "cost must be whole, non-negative minor units")
		} else if !c.Cost.IsZero() && c.Cost.Currency() != l.Amount.Currency() {
			p.Add(ensemble.Path("supplier_costs", i, "cost"), ErrCurrency)
		}
	}
	if p.Len() == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidLine, p.Err(fmt.Sprintf("line %q", string(l.ID))))
}
