package partner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/rules"
)

// Program is a named partner program: the rules its members sell under. Each
// policy field names a rule (by id) in the rule set given to NewGovernance;
// the version in force at the instant of the question decides. An empty
// field means the program has no such rule.
type Program struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// RequiredCertifications must all be held, unexpired, for a member to
	// sell.
	RequiredCertifications []string `json:"required_certifications,omitempty"`
	// SellPolicy is a policy rule deciding whether a member may sell an
	// offer to a customer at an instant. Without one, any offer may be sold
	// into the member's territories.
	SellPolicy string `json:"sell_policy,omitempty"`
	// DiscountAllowance is a share rule giving the largest discount (a
	// ratio of the list price) a member may give without approval. Without
	// one, no discount is allowed without approval.
	DiscountAllowance string `json:"discount_allowance,omitempty"`
	// ApprovalNeeded is a condition rule deciding whether a request needs
	// approval at all (for example `request.discount > percent(20) &&
	// partner.tier != "platinum"`). Without one, every request needs it.
	ApprovalNeeded string `json:"approval_needed,omitempty"`
	// Approver is a policy rule deciding whether an actor may approve or
	// reject a request (for example `"channel_manager" in actor.roles`).
	// Without one, nobody may.
	Approver string `json:"approver,omitempty"`
}

// Offer is what partner rules know of an offer: the order package fills it
// from the catalog.
type Offer struct {
	ID         string            `json:"id"`
	Version    string            `json:"version,omitempty"`
	Category   string            `json:"category,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Customer is what partner rules know of the customer a sale is for.
type Customer struct {
	ID         string            `json:"id"`
	Country    Territory         `json:"country"`
	Segment    string            `json:"segment,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Actor is who acts on an approval request, with the roles the host gave
// them.
type Actor struct {
	ID    string   `json:"id"`
	Roles []string `json:"roles,omitempty"`
}

// Variables rules of partner programs read. Rules declare them with
// Env:
//
//	partner   Snapshot  (id, name, type, tier, parent, territories, attributes, certifications, program, status)
//	offer     Offer     (id, version, category, attributes)
//	customer  Customer  (id, country, segment, attributes)
//	request   Request   (id, kind, partner, offer, discount, list_price, price, ...)
//	actor     Actor     (id, roles)
const (
	VarPartner  = "partner"
	VarOffer    = "offer"
	VarCustomer = "customer"
	VarRequest  = "request"
	VarActor    = "actor"
)

// Env returns the rules environment partner programs' rules are written
// against, declaring the variables above with the size hints of their lists
// and maps (see SizeHints; actor.roles at most MaxListHint). Options such as
// cost limits are passed through; a SizeHint given here overrides ours.
func Env(opts ...rules.Option) (*rules.Env, error) {
	base := []rules.Option{
		rules.Var[Snapshot](VarPartner),
		rules.Var[Offer](VarOffer),
		rules.Var[Customer](VarCustomer),
		rules.Var[Request](VarRequest),
		rules.Var[Actor](VarActor),
		rules.SizeHint(VarActor+".roles", MaxListHint),
	}
	base = append(base, SizeHints(VarPartner)...)
	for _, attrs := range []string{VarOffer, VarCustomer, VarRequest + ".offer", VarRequest + ".customer"} {
		base = append(base, rules.SizeHint(attrs+".attributes", MaxListHint))
	}
	return rules.NewEnv(append(base, opts...)...)
}

// Size hints: the largest lists and maps the cost estimate of a rule
// assumes for partner facts. Without them, rules assume 1,000 entries, and
// a membership test such as "gold" in partner.certifications would cost
// a rule its whole default budget. A longer list stops a rule that reads it
// with a *rules.CostError when it runs.
const (
	// MaxListHint bounds a partner's certifications, attributes, an actor's
	// roles and an offer's or a customer's attributes.
	MaxListHint = 100
	// MaxTerritoriesHint bounds a partner's territories: every country.
	MaxTerritoriesHint = 300
)

// SizeHints returns the size hints of a Snapshot declared as the variable
// name: territories at most MaxTerritoriesHint, certifications and
// attributes at most MaxListHint. Env and settlement's environment use
// them.
func SizeHints(name string) []rules.Option {
	return []rules.Option{
		rules.SizeHint(name+".territories", MaxTerritoriesHint),
		rules.SizeHint(name+".certifications", MaxListHint),
		rules.SizeHint(name+".attributes", MaxListHint),
	}
}

// Governance answers who may sell what where, what discount a partner may
// give without approval, and who decides approvals, from a network, its
// programs and their rules. It is immutable and safe for concurrent use.
type Governance struct {
	net      *Network
	env      *rules.Env
	rules    *rules.RuleSet
	programs map[string]Program
}

// NewGovernance checks that every program is well formed and that every rule
// it names exists in rs with the right kind, and that every program a
// partner's terms name exists. env must be the environment rs was compiled
// in (from Env); both are nil when no program names a rule (a program that
// names one is then a problem). All problems are reported at once.
func NewGovernance(net *Network, programs []Program, env *rules.Env, rs *rules.RuleSet) (*Governance, error) {
	g := &Governance{net: net, env: env, rules: rs, programs: make(map[string]Program, len(programs))}
	var p ensemble.Problems
	switch {
	case net == nil:
		return nil, errors.New("partner: governance needs a network")
	case (env == nil) != (rs == nil):
		return nil, errors.New("partner: governance needs the rule set and the environment it was compiled in, or neither")
	}
	kinds := map[rules.Kind]map[string]bool{}
	var all []*rules.Rule
	if rs != nil {
		all = rs.Rules()
	}
	for _, r := range all {
		if kinds[r.Kind()] == nil {
			kinds[r.Kind()] = map[string]bool{}
		}
		kinds[r.Kind()][r.ID()] = true
	}
	for i, prog := range programs {
		path := ensemble.Path("programs", i)
		if !validName(prog.ID) {
			p.Addf(path+".id", "program id %q: want lowercase letters, digits, '_' or '-'", prog.ID)
		} else if _, dup := g.programs[prog.ID]; dup {
			p.Addf(path+".id", "duplicate program %q", prog.ID)
		}
		for _, ref := range []struct {
			field, id string
			kind      rules.Kind
		}{
			{"sell_policy", prog.SellPolicy, rules.Policy},
			{"discount_allowance", prog.DiscountAllowance, rules.Share},
			{"approval_needed", prog.ApprovalNeeded, rules.Condition},
			{"approver", prog.Approver, rules.Policy},
		} {
			if ref.id != "" && !kinds[ref.kind][ref.id] {
				p.Addf(path+"."+ref.field, "no %s rule %q in the rule set", ref.kind, ref.id)
			}
		}
		g.programs[prog.ID] = prog
	}
	for _, pt := range net.spec.Partners {
		for j, t := range pt.Terms {
			if _, ok := g.programs[t.Program]; t.Program != "" && !ok {
				p.Addf(fmt.Sprintf("partners[%q].terms[%d].program", pt.ID, j), "unknown program %q", t.Program)
			}
		}
	}
	if err := p.Err("partner governance"); err != nil {
		return nil, err
	}
	return g, nil
}

// Network returns the network governed.
func (g *Governance) Network() *Network { return g.net }

// Decision is the answer to a governance question, with what decided it.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason,omitempty"`
	// Rule is the rule (id and version) that decided, when a rule did; a
	// refusal by the network itself (an inactive partner, a territory not
	// covered, a missing certification) names no rule.
	Rule ensemble.Ref `json:"rule,omitzero"`
}

// Sale is the question "may this partner sell this offer to this customer
// at this instant?".
type Sale struct {
	Partner  ID        `json:"partner"`
	Offer    Offer     `json:"offer"`
	Customer Customer  `json:"customer"`
	At       time.Time `json:"at"`
}

// CanSell decides whether a sale may be made. It refuses, with a reason, when
// the partner is not active at the instant, does not cover the customer's
// country, lacks a certification its program requires, or its program's
// sell policy denies. Errors (an unknown partner, a rule that fails to
// evaluate) are returned as errors, never as refusals.
func (g *Governance) CanSell(ctx context.Context, s Sale) (Decision, error) {
	snap, err := g.net.At(s.Partner, s.At)
	if err != nil {
		return Decision{}, err
	}
	if !snap.CanTrade() {
		return Decision{Reason: fmt.Sprintf("partner %q is %s", snap.ID, snap.Status)}, nil
	}
	if !g.net.covers(snap.Territories, s.Customer.Country) {
		return Decision{Reason: fmt.Sprintf("partner %q does not cover %s", snap.ID, s.Customer.Country)}, nil
	}
	prog, ok := g.programs[snap.Program]
	if !ok {
		return Decision{Allowed: true, Reason: "no program"}, nil
	}
	for _, c := range prog.RequiredCertifications {
		if _, held := slices.BinarySearch(snap.Certifications, c); !held {
			return Decision{Reason: fmt.Sprintf("partner %q lacks certification %q required by program %q", snap.ID, c, prog.ID)}, nil
		}
	}
	if prog.SellPolicy == "" {
		return Decision{Allowed: true}, nil
	}
	facts, err := g.facts(&snap, &s.Offer, &s.Customer, nil, nil)
	if err != nil {
		return Decision{}, err
	}
	return g.policy(ctx, prog.SellPolicy, s.At, facts)
}

// DiscountAllowance returns the largest discount, as a ratio of the list
// price, that the partner may give on the offer without approval at t: the
// program's discount_allowance rule, or zero when there is none. The result
// is clamped to [0, 1].
func (g *Governance) DiscountAllowance(ctx context.Context, partner ID, offer Offer, customer Customer, t time.Time) (decimal.Decimal, ensemble.Ref, error) {
	snap, err := g.net.At(partner, t)
	if err != nil {
		return decimal.Decimal{}, ensemble.Ref{}, err
	}
	prog := g.programs[snap.Program]
	if prog.DiscountAllowance == "" {
		return decimal.Zero, ensemble.Ref{}, nil
	}
	rule, err := g.rules.At(prog.DiscountAllowance, t)
	if err != nil {
		return decimal.Decimal{}, ensemble.Ref{}, err
	}
	facts, err := g.facts(&snap, &offer, &customer, nil, nil)
	if err != nil {
		return decimal.Decimal{}, ensemble.Ref{}, err
	}
	d, err := rule.Share(ctx, facts)
	if err != nil {
		return decimal.Decimal{}, ensemble.Ref{}, err
	}
	switch {
	case d.Sign() < 0:
		d = decimal.Zero
	case d.GreaterThan(decimal.NewFromInt(1)):
		d = decimal.NewFromInt(1)
	}
	return d, rule.Ref(), nil
}

func (g *Governance) policy(ctx context.Context, id string, t time.Time, facts *rules.Facts) (Decision, error) {
	rule, err := g.rules.At(id, t)
	if err != nil {
		return Decision{}, err
	}
	d, err := rule.Policy(ctx, facts)
	if err != nil {
		return Decision{}, err
	}
	return Decision{Allowed: d.Allowed, Reason: d.Reason, Rule: rule.Ref()}, nil
}

// facts sets the variables the rules read; nil ones stay unset (zero).
func (g *Governance) facts(snap *Snapshot, offer *Offer, customer *Customer, req *Request, actor *Actor) (*rules.Facts, error) {
	f := g.env.NewFacts()
	set := func(name string, v any) error {
		if err := f.Set(name, v); err != nil {
			return fmt.Errorf("partner: %s: %w", name, err)
		}
		return nil
	}
	var errs []error
	if snap != nil {
		errs = append(errs, set(VarPartner, snap))
	}
	if offer != nil {
		errs = append(errs, set(VarOffer, offer))
	}
	if customer != nil {
		errs = append(errs, set(VarCustomer, customer))
	}
	if req != nil {
		errs = append(errs, set(VarRequest, req))
	}
	if actor != nil {
		errs = append(errs, set(VarActor, actor))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}
