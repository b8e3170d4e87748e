package settlement

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

// Variables settlement rules read. Env declares them:
//
//	line      LineFacts      (id, date, amount (the basis), net, tax, gross, quantity, currency, customer_id)
//	offer     OfferFacts     (id, version, charge)
//	route     RouteFacts     (kind, seller, depth, level, referrer, marketplace)
//	customer  CustomerFacts  (country)
//	partner   partner.Snapshot of the node's party at the line's date (tier, type, attributes, status, ...)
//	volume    VolumeFacts    (the cumulative volume of the partner a cumulative rate reads, before the line)
//
// A rule that reads only offer, route, customer and partner is evaluated
// once per distinct combination of those facts within one Settle call and
// its result reused; rules that read line or volume run for every line.
const (
	VarLine     = "line"
	VarOffer    = "offer"
	VarRoute    = "route"
	VarCustomer = "customer"
	VarPartner  = "partner"
	VarVolume   = "volume"
)

// LineFacts is what rules know of the line being settled.
type LineFacts struct {
	ID   string    `json:"id"`
	Date time.Time `json:"date"`
	// Amount is the plan's basis: net of tax by default, gross with basis
	// gross, after supplier costs are paid.
	Amount     ensemble.Money  `json:"amount"`
	Net        ensemble.Money  `json:"net"`
	Tax        ensemble.Money  `json:"tax"`
	Gross      ensemble.Money  `json:"gross"`
	Quantity   decimal.Decimal `json:"quantity"`
	Currency   string          `json:"currency"`
	CustomerID string          `json:"customer_id"`
}

// OfferFacts is what rules know of the offer and charge a line bills.
type OfferFacts struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Charge  string `json:"charge"`
}

// RouteFacts is what rules know of the line's route. Level is the chain
// level a chain[*] node is settling (0 is the seller), else 0.
type RouteFacts struct {
	Kind        string `json:"kind"`
	Seller      string `json:"seller"`
	Depth       int    `json:"depth"`
	Level       int    `json:"level"`
	Referrer    string `json:"referrer"`
	Marketplace string `json:"marketplace"`
}

// CustomerFacts is what rules know of the customer (its country). The
// customer id is line.customer_id, so that rules reading only the country
// stay reusable across lines.
type CustomerFacts struct {
	Country string `json:"country"`
}

// VolumeFacts is a cumulative volume rules can read: the seller's
// basis in the line's currency over the calendar year before this line (as
// State.Volume reports it). It grows only through plans with cumulative
// shares; credits do not reduce it.
type VolumeFacts struct {
	Partner string         `json:"partner"`
	Amount  ensemble.Money `json:"amount"`
}

// Env returns the rules environment settlement rules are compiled in
// (declaring the variables above, with partner.SizeHints for the partner's
// lists). Load the rule documents a plan names with it; options such as
// cost limits pass through, and a SizeHint given here overrides ours.
func Env(opts ...rules.Option) (*rules.Env, error) {
	o := []rules.Option{
		rules.Var[LineFacts](VarLine),
		rules.Var[OfferFacts](VarOffer),
		rules.Var[RouteFacts](VarRoute),
		rules.Var[CustomerFacts](VarCustomer),
		rules.Var[partner.Snapshot](VarPartner),
		rules.Var[VolumeFacts](VarVolume),
	}
	o = append(o, partner.SizeHints(VarPartner)...)
	return rules.NewEnv(append(o, opts...)...)
}

// contextEnv declares only the variables that do not change from line to
// line; a rule that compiles in it can be memoized per context.
func contextEnv() (*rules.Env, error) {
	return rules.NewEnv(append([]rules.Option{
		rules.Var[OfferFacts](VarOffer),
		rules.Var[RouteFacts](VarRoute),
		rules.Var[CustomerFacts](VarCustomer),
		rules.Var[partner.Snapshot](VarPartner),
	}, partner.SizeHints(VarPartner)...)...)
}

// partnerEnv declares only the node's partner: a rule that compiles in it
// is memoized per partner snapshot.
func partnerEnv() (*rules.Env, error) {
	return rules.NewEnv(append([]rules.Option{rules.Var[partner.Snapshot](VarPartner)}, partner.SizeHints(VarPartner)...)...)
}
