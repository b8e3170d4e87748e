package settlement

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/rules"
)

// Variables settlement rules read. Env declares them:
//
//	line      LineFacts      (id, date, amount (the basis), net, tax, gross, quantity, currency, customer_id, kind,
//	                          contract_start, service_start, service_end, attributed,
//	                          attributes (map of strings: the host's own facts of the sale, Line.Attributes))
//	offer     OfferFacts     (id, version, charge)
//	route     RouteFacts     (kind, seller, seller_tier, depth, level, referrer, marketplace)
//	customer  CustomerFacts  (country)
//	partner   partner.Snapshot of the node's party at the line's date (tier, type, attributes, status, ...)
//	volume    VolumeFacts    (the seller's volume over the calendar year before the line: see VolumeFacts)
//
// What each rule reads (rules.Rule.Reads) decides how often it runs: a rule
// that reads no line or volume fact is evaluated at most once per distinct
// value of exactly the offer, route and customer fields and the partner it
// reads within one Settle call, and its result reused (later calls may
// reuse it too; a level's decision is shared alike, within and across
// calls); rules that read line or volume run for every line.
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
	// gross, after supplier costs are paid; under a plan's
	// DiscountFunding, with the discounts its nodes fund added back (what
	// the root splits).
	Amount   ensemble.Money  `json:"amount"`
	Net      ensemble.Money  `json:"net"`
	Tax      ensemble.Money  `json:"tax"`
	Gross    ensemble.Money  `json:"gross"`
	Quantity decimal.Decimal `json:"quantity"`
	// PeriodQuantity is the usage period's quantity with the line's
	// (Line.PeriodQuantity), or Quantity.
	PeriodQuantity decimal.Decimal `json:"period_quantity"`
	Currency       string          `json:"currency"`
	CustomerID     string          `json:"customer_id"`
	// Kind is the kind of invoice line (Line.Kind): "recurring", "usage",
	// "early_termination", ...
	Kind string `json:"kind"`
	// ContractStart is when the contract the line bills started
	// (Line.ContractStart): `months_since(line.contract_start,
	// line.service_start) < 12` holds on the service of the contract's
	// first twelve months (rules' env_version 3).
	ContractStart time.Time `json:"contract_start"`
	// ServiceStart and ServiceEnd bound the service the line bills
	// (Line.Service): a usage line billed in arrears is dated at its
	// period's end, the next period's start, so a rule about the months
	// of service reads service_start.
	ServiceStart time.Time `json:"service_start"`
	ServiceEnd   time.Time `json:"service_end"`
	// Attributed is whose usage the line bills (Line.Attributed), "" when
	// the line is not attributed: a node paying party "attributed" on
	// lines some of which are not attributed (a period's minimum owed with
	// no usage) takes the condition `line.attributed != ""`.
	Attributed string `json:"attributed"`
	// Attributes are the host's own facts of the sale (Line.Attributes),
	// nil when it gives none: `has(line.attributes.first_order)`,
	// `line.attributes["registered_by"] == partner.id` (guard an index
	// with has(): a key the line does not set fails it with ErrRule). A
	// rule reading them runs for every line, so nothing decided from
	// them is shared between lines.
	Attributes map[string]string `json:"attributes"`
	// A sale whose line leaves ContractStart or Service zero does not
	// give these facts: a rule reading them by name fails it, with
	// ErrRule and ErrInvalidLine naming the rule, rather than reading the
	// zero instant (year 1), which would pay every such line as a
	// contract's first month, or none. (A rule reading the whole line,
	// `[line].all(l, ...)`, as rules could before these facts existed,
	// reads them as they are.)
}

// OfferFacts is what rules know of the offer and charge a line bills.
type OfferFacts struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Charge  string `json:"charge"`
}

// RouteFacts is what rules know of the line's route. Level is the chain
// level a chain[*] node is settling (0 is the seller), else 0. SellerTier is
// the seller's tier at the line's date ("" without a seller, or a network):
// a distributor's share that depends on the reseller's tier reads it
// (`route.seller_tier == "gold" ? percent(8) : percent(6)`), where
// partner.tier on the distributor's node reads the distributor's own.
type RouteFacts struct {
	Kind        string `json:"kind"`
	Seller      string `json:"seller"`
	SellerTier  string `json:"seller_tier"`
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

// VolumeFacts is a cumulative volume rules can read: the seller's basis
// over the calendar year before this line (as State.Volume reports it), in
// the currency of the plan's cumulative tiers (the line's own when they
// have no bound), into which lines in other currencies convert. It grows
// only through plans with a cumulative share of the seller over the
// calendar year (window calendar_year, of seller), whatever volume other
// cumulative shares read (a distributor's, a rolling window's): where no
// plan has one, it stays what the state holds, zero for a state that
// never had one.
type VolumeFacts struct {
	Partner string         `json:"partner"`
	Amount  ensemble.Money `json:"amount"`
}

// Env returns the rules environment settlement rules are compiled in
// (declaring the variables above, with partner.SizeHints for the partner's
// lists). Load the rule documents a plan names with it: New uses the rule
// set as compiled, with these options, and refuses one compiled in another
// environment (*EnvError).
//
// Options pass through, and a SizeHint given here overrides ours: cost
// limits and budgets (rules.CostLimit, rules.CostBudget, size hints) bound
// every evaluation a Settler makes. rules.TrustBounded(true) is the host's
// choice: rules without comprehensions, whose cost their length bounds,
// then run without cel-go's runtime cost tracker, several times faster
// (settlers forced it on every rule set before they used the host's as
// compiled); rules with comprehensions keep the limit either way.
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
	o = append(o, rules.SizeHint(VarLine+".attributes", MaxLineAttributes))
	return rules.NewEnv(append(o, opts...)...)
}

// ErrForeignEnv reports a rule set compiled in an environment settlement.Env
// did not build. An *EnvError matches it.
var ErrForeignEnv = errors.New("settlement: rules not compiled with settlement.Env")

// EnvError reports Config.Rules compiled in an environment other than one
// settlement.Env built: New uses a rule set as compiled (never compiling it
// again, so the host's options hold), and a settler sets exactly
// settlement's variables, of settlement's types. Compile the rules with
// settlement.Env, passing it any options. It matches ErrForeignEnv.
type EnvError struct {
	// Missing are settlement's variables the environment does not
	// declare, Extra the variables it declares that a settler never sets,
	// Mismatched those it declares with another Go type; each sorted.
	Missing, Extra, Mismatched []string
}

// Error names what differs from settlement.Env.
func (e *EnvError) Error() string {
	var why []string
	if len(e.Missing) > 0 {
		why = append(why, "no variable "+strings.Join(e.Missing, ", "))
	}
	if len(e.Extra) > 0 {
		why = append(why, "extra variable "+strings.Join(e.Extra, ", "))
	}
	if len(e.Mismatched) > 0 {
		why = append(why, "another type for "+strings.Join(e.Mismatched, ", "))
	}
	if len(why) == 0 {
		why = append(why, "no environment")
	}
	return "settlement: rules were compiled in an environment settlement.Env did not build (" + strings.Join(why, "; ") +
		"): compile them with settlement.Env"
}

// Is reports whether target is ErrForeignEnv.
func (e *EnvError) Is(target error) bool { return target == ErrForeignEnv }

// checkEnv returns an *EnvError unless env declares exactly settlement's
// variables, each of the Go type Env declares it with (which Facts.Set
// checks).
func checkEnv(env *rules.Env) error {
	if env == nil {
		return &EnvError{}
	}
	e := &EnvError{}
	declared := map[string]bool{}
	for _, v := range env.Variables() {
		declared[v] = true
	}
	f := env.NewFacts()
	for _, fv := range []struct {
		name string
		v    any
	}{{VarCustomer, &CustomerFacts{}}, {VarLine, &LineFacts{}}, {VarOffer, &OfferFacts{}}, {VarPartner, &partner.Snapshot{}},
		{VarRoute, &RouteFacts{}}, {VarVolume, &VolumeFacts{}}} {
		switch {
		case !declared[fv.name]:
			e.Missing = append(e.Missing, fv.name)
		case f.Set(fv.name, fv.v) != nil:
			e.Mismatched = append(e.Mismatched, fv.name)
		}
		delete(declared, fv.name)
	}
	for v := range declared {
		e.Extra = append(e.Extra, v)
	}
	sort.Strings(e.Extra)
	if len(e.Missing)+len(e.Extra)+len(e.Mismatched) > 0 {
		return e
	}
	return nil
}
