package partner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ensemble-commerce/ensemble"
)

// RouteKind says how a sale reached its customer, for settlement plans and
// metrics. The zero value, RouteUnspecified, is what a draft order leaves
// for package order to derive from the route's parties; a settled line
// names a kind.
type RouteKind uint8

const (
	// RouteUnspecified is the zero value: no kind given.
	RouteUnspecified RouteKind = iota
	// RouteDirect: the platform sold to the customer itself.
	RouteDirect
	// RouteMarketplace: sold through a marketplace partner.
	RouteMarketplace
	// RoutePartner: sold by a partner, possibly at the bottom of a chain
	// (distributor -> reseller -> sub-reseller ...).
	RoutePartner
	// RouteReferral: the platform sold, a referral partner brought the
	// customer.
	RouteReferral
	// RouteCoSell: a partner sold together with co-sellers.
	RouteCoSell
)

var routeKindNames = []string{"unspecified", "direct", "marketplace", "partner", "referral", "co_sell"}

// String returns the kind's lowercase name ("co_sell"), or "route_kind(N)"
// for an undeclared value.
func (k RouteKind) String() string { return ensemble.EnumName(k, routeKindNames, "route_kind") }

// Valid reports whether k is a declared kind (RouteUnspecified included).
func (k RouteKind) Valid() bool { return int(k) < len(routeKindNames) }

// MarshalText writes the kind's name; an undeclared kind is an
// *ensemble.EnumError.
func (k RouteKind) MarshalText() ([]byte, error) {
	return ensemble.EnumText(k, routeKindNames, "partner", "route kind")
}

// UnmarshalText reads a kind's name; "" is RouteUnspecified and an unknown
// name an *ensemble.EnumError.
func (k *RouteKind) UnmarshalText(b []byte) (err error) {
	*k, err = ensemble.ParseEnum[RouteKind](b, routeKindNames, "partner", "route kind")
	return err
}

// CoSeller is a partner that co-sold a deal with the seller, with its
// weight in the deal's co-sell split (see Route).
type CoSeller struct {
	Partner ID             `json:"partner"`
	Weight  ensemble.Ratio `json:"weight,omitzero"`
}

// Route is who took part in a sale, captured when it was made, so that
// later changes to the partner hierarchy never move an old sale's payouts.
// Package order keeps one on every order (Order.Route) and package
// settlement reads one on every line (Line.Route).
//
// Seller is the transacting partner and Chain its hierarchy at the sale,
// seller first (partner.Network.Chain): when both are given, Chain[0] is
// the Seller. Package order fills Chain from the network when an order is
// quoted and accepted; a settlement line filled by hand may give either
// (a Chain without a Seller names Chain[0] the seller; a Seller without a
// Chain is a seller without parents, and settlement refuses it when its
// network gives the seller parents at the line's date: give Chain, or the
// seller alone, for a sale made without them).
//
// A party appears once on a route: no partner twice in the chain or among
// the co-sellers, and the seller not among its own co-sellers (Validate).
//
// A co-sold route's attribution covers the seller and its co-sellers
// together: SellerWeight and the co-sellers' weights are their shares of
// the deal, and sum to exactly one whole (a reseller co-selling 70/30 with
// a technology partner has SellerWeight 0.7 and one co-seller of weight
// 0.3). A route whose weights are all zero (none given) agreed no split:
// the seller and its co-sellers share equally, and settlement says so in
// each entry's share ("co-sell weight 1/3, equal: no weights on the
// route"). Settlement's co_sellers party pays this split.
type Route struct {
	Kind RouteKind `json:"kind"`
	// Seller is the transacting partner (a reseller, a sub-reseller, a
	// distributor selling itself); empty for direct and referral routes.
	Seller ID `json:"seller,omitempty"`
	// SellerWeight is the seller's own weight in the co-sell split, beside
	// its co-sellers'; zero without co-sellers. With co-sellers whose
	// weights sum to one it is zero too, and then the seller takes none of
	// the split (a co-sell fee the seller pays its co-sellers alone); when
	// every weight is zero no weights were agreed, and the seller and its
	// co-sellers share equally.
	SellerWeight ensemble.Ratio `json:"seller_weight,omitzero"`
	// Chain is the seller first, then its parent, up to the top of its
	// hierarchy, at the sale's instant; empty without a seller.
	Chain []ID `json:"chain,omitempty"`
	// Marketplace is the marketplace partner the sale went through.
	Marketplace ID `json:"marketplace,omitempty"`
	// Referrer is the partner that referred the customer, if any. Any
	// route may name one: a seller's sale (RoutePartner, RouteMarketplace,
	// RouteCoSell) that a referral partner brought names both; a
	// RouteReferral is a sale the platform made itself, with a referrer
	// and no seller.
	Referrer ID `json:"referrer,omitempty"`
	// CoSellers co-sold with the seller, each with its weight.
	CoSellers []CoSeller `json:"co_sellers,omitempty"`
}

// Errors of Route.Validate. Every problem it reports wraps one of them.
var (
	// ErrInvalidRoute reports a Seller that is not its Chain's first
	// partner.
	ErrInvalidRoute = errors.New("partner: invalid route")
	// ErrMissingParty reports a route that names no partner where it needs
	// one: an empty chain or co-seller id, co-sellers or a seller weight
	// without a seller.
	ErrMissingParty = errors.New("partner: route party missing")
	// ErrDuplicateParty reports a partner named twice on a route: twice in
	// its chain, twice among its co-sellers, or the seller among its own
	// co-sellers (whose weight is SellerWeight).
	ErrDuplicateParty = errors.New("partner: a party appears twice on a route")
	// ErrCoSellWeights reports co-sell weights that are negative (wrapping
	// ensemble.ErrNegativeWeight too) or that, not all zero, do not sum to
	// exactly one whole.
	ErrCoSellWeights = errors.New("partner: invalid co-sell weights")
)

// Validate checks the route's parties and co-sell weights: each problem in
// an *ensemble.ValidationError at the path of its field, relative to the
// route ("seller", "chain[2]", "co_sellers[1].partner"), wrapping
// ErrInvalidRoute, ErrMissingParty, ErrDuplicateParty or ErrCoSellWeights:
//   - Seller, when Chain is given too, is Chain[0];
//   - chain and co-seller ids are not empty, no partner appears twice in
//     the chain or among the co-sellers, and the seller (Seller, else
//     Chain[0]) is not among its co-sellers;
//   - co-sellers, and a seller weight, come with a seller;
//   - no weight is negative, and SellerWeight plus the co-sellers' weights
//     are either all zero (an equal split) or sum to exactly one (reported
//     at "co_sellers", or at "seller_weight" on a route without
//     co-sellers, naming every weight).
//
// It checks neither the kind (package order derives it, package settlement
// requires one) nor the spelling of ids, which each package checks by its
// own id rules.
func (r Route) Validate() error {
	var p ensemble.Problems
	seller := r.seller()
	switch {
	case seller != "":
	case len(r.CoSellers) > 0:
		p.Add("seller", fmt.Errorf("%w: a co-sold route needs a seller", ErrMissingParty))
	case !r.SellerWeight.IsZero():
		p.Add("seller", fmt.Errorf("%w: a seller weight %s needs a seller", ErrMissingParty, r.SellerWeight))
	}
	if r.Seller != "" && len(r.Chain) > 0 && r.Chain[0] != r.Seller {
		p.Add("seller", fmt.Errorf("%w: seller %q is not the chain's first partner %q", ErrInvalidRoute, r.Seller, r.Chain[0]))
	}
	for i, id := range r.Chain {
		if id == "" {
			p.Add(ensemble.Path("chain", i), fmt.Errorf("%w: empty partner id", ErrMissingParty))
		}
	}
	eachRepeat(len(r.Chain), func(i int) ID { return r.Chain[i] }, func(i, j int) {
		if r.Chain[i] != "" {
			p.Add(ensemble.Path("chain", i), fmt.Errorf("%w: partner %q is also chain[%d]", ErrDuplicateParty, r.Chain[i], j))
		}
	})
	negative := r.SellerWeight.Sign() < 0
	if negative {
		p.Add("seller_weight", fmt.Errorf("%w: %w: seller weight %s", ErrCoSellWeights, ensemble.ErrNegativeWeight, r.SellerWeight))
	}
	for i, c := range r.CoSellers {
		switch {
		case c.Partner == "":
			p.Add(ensemble.Path("co_sellers", i, "partner"), fmt.Errorf("%w: empty partner id", ErrMissingParty))
		case c.Partner == seller:
			p.Add(ensemble.Path("co_sellers", i, "partner"), fmt.Errorf("%w: partner %q is the seller, whose own weight is seller_weight", ErrDuplicateParty, c.Partner))
		}
		if c.Weight.Sign() < 0 {
			negative = true
			p.Add(ensemble.Path("co_sellers", i, "weight"), fmt.Errorf("%w: %w: co-seller %q weight %s", ErrCoSellWeights, ensemble.ErrNegativeWeight, c.Partner, c.Weight))
		}
	}
	eachRepeat(len(r.CoSellers), func(i int) ID { return r.CoSellers[i].Partner }, func(i, j int) {
		if c := r.CoSellers[i].Partner; c != "" && c != seller {
			p.Add(ensemble.Path("co_sellers", i, "partner"), fmt.Errorf("%w: partner %q is also co_sellers[%d]", ErrDuplicateParty, c, j))
		}
	})
	if !negative {
		if sum, ok := r.coSellSum(); !ok {
			path := "co_sellers"
			if len(r.CoSellers) == 0 {
				path = "seller_weight"
			}
			p.Add(path, fmt.Errorf("%w: seller_weight and co-seller weights add up to %s, not one whole (%s)", ErrCoSellWeights, sum, r.weightsText()))
		}
	}
	return p.Err("route")
}

// coSellSum returns the sum of the co-sell weights and whether it is one
// whole or zero (no weights given).
func (r Route) coSellSum() (ensemble.Ratio, bool) {
	if r.SellerWeight.IsZero() && len(r.CoSellers) == 0 {
		return ensemble.Ratio{}, true
	}
	sum := r.SellerWeight
	for _, c := range r.CoSellers {
		if !c.Weight.IsZero() {
			sum = sum.Add(c.Weight)
		}
	}
	return sum, sum.IsZero() || sum.Cmp(one) == 0
}

var one = ensemble.RatioFromInt(1)

// weightsText lists the route's co-sell weights: "seller r 0.7, a 0.3".
func (r Route) weightsText() string {
	var b strings.Builder
	if s := r.seller(); s != "" {
		fmt.Fprintf(&b, "seller %s %s", s, r.SellerWeight)
	} else {
		fmt.Fprintf(&b, "seller_weight %s", r.SellerWeight)
	}
	for _, c := range r.CoSellers {
		fmt.Fprintf(&b, ", %s %s", c.Partner, c.Weight)
	}
	return b.String()
}

// PartiesKind is the kind route r's parties make, whatever its Kind says:
// marketplace when it names a marketplace, else co_sell when it has
// co-sellers, else partner when it has a seller (Seller, or Chain[0]),
// else referral when it names a referrer, else direct (it names no party).
// Package order gives a draft's route without a Kind this kind, and
// settlement.FromInvoice an order's.
func (r Route) PartiesKind() RouteKind {
	switch {
	case r.Marketplace != "":
		return RouteMarketplace
	case len(r.CoSellers) > 0:
		return RouteCoSell
	case r.seller() != "":
		return RoutePartner
	case r.Referrer != "":
		return RouteReferral
	}
	return RouteDirect
}

// seller is the Seller, else Chain[0], else "".
func (r Route) seller() ID {
	if r.Seller != "" || len(r.Chain) == 0 {
		return r.Seller
	}
	return r.Chain[0]
}

// eachRepeat calls f(i, j) for each of the n keys that repeats an earlier
// one, j the first index holding it: pairwise for the few keys of a route,
// through a map beyond.
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

// Role is the part a partner plays on a route.
type Role uint8

const (
	// RoleUnspecified is the zero value and is never emitted.
	RoleUnspecified Role = iota
	// RoleSeller: the partner that sold (the bottom of the chain).
	RoleSeller
	// RoleUpline: a partner above the seller in the chain (level 1 is the
	// seller's parent, 2 its parent ...).
	RoleUpline
	// RoleMarketplace: the marketplace the sale went through.
	RoleMarketplace
	// RoleReferrer: the partner that referred the customer.
	RoleReferrer
	// RoleCoSeller: a partner that co-sold with the seller.
	RoleCoSeller
)

var roleNames = []string{"unspecified", "seller", "upline", "marketplace", "referrer", "co_seller"}

// String returns the role's lowercase name.
func (r Role) String() string { return ensemble.EnumName(r, roleNames, "role") }

// MarshalText writes the role's name; an undeclared role is an
// *ensemble.EnumError.
func (r Role) MarshalText() ([]byte, error) {
	return ensemble.EnumText(r, roleNames, "partner", "role")
}

// UnmarshalText reads a role's name; "" is RoleUnspecified.
func (r *Role) UnmarshalText(b []byte) (err error) {
	*r, err = ensemble.ParseEnum[Role](b, roleNames, "partner", "role")
	return err
}

// Party is one partner of a route in the role it plays.
type Party struct {
	Role    Role `json:"role"`
	Partner ID   `json:"partner"`
	// Level is the distance above the seller for RoleUpline (1 for the
	// seller's parent); 0 otherwise.
	Level int `json:"level,omitempty"`
	// Weight is the seller's or a co-seller's co-sell weight (zero when
	// none).
	Weight ensemble.Ratio `json:"weight,omitzero"`
}

// Parties lists every partner of the route with its role: the seller, each
// upline level of the chain, the marketplace, the referrer and the
// co-sellers, in that order (co-sellers as listed).
func (r Route) Parties() []Party {
	var ps []Party
	if s := r.seller(); s != "" {
		ps = append(ps, Party{Role: RoleSeller, Partner: s, Weight: r.SellerWeight})
	}
	for i, id := range r.Chain {
		if i > 0 {
			ps = append(ps, Party{Role: RoleUpline, Partner: id, Level: i})
		}
	}
	if r.Marketplace != "" {
		ps = append(ps, Party{Role: RoleMarketplace, Partner: r.Marketplace})
	}
	if r.Referrer != "" {
		ps = append(ps, Party{Role: RoleReferrer, Partner: r.Referrer})
	}
	for _, c := range r.CoSellers {
		ps = append(ps, Party{Role: RoleCoSeller, Partner: c.Partner, Weight: c.Weight})
	}
	return ps
}
