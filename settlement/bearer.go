package settlement

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Bearer says who bears a credit (Line.Bearer) or a lost dispute
// (DisputeOutcome.Bearer): whose parts of the credited line its clawbacks
// take back.
//
// The zero Bearer is proportional, the default (Stripe reverses transfers
// and application fees this way): every part of the line gives back in
// proportion to what it has unreversed, but for the parts a reversal
// comes after the clawback window of (Node.Clawback), whose share their
// window's bearer gives back instead (see Clawback). A named bearer wins
// over the windows. Otherwise exactly one of Party,
// Node, Role and Component names the bearer, and the credit is taken from
// the bearer's parts alone, in proportion to what each of them has
// unreversed (largest remainder, ties by entry id); the other parts give
// nothing. A supplier-borne SLA credit of a bundle names the supplier's
// component: its supplier cost gives back the whole credit, and the
// platform, the resellers and the other suppliers keep theirs.
//
// A reversal never exceeds what a part has unreversed, unless its bearer
// owes the excess. When the bearer has less unreversed on the line than
// the credit takes, Shortfall says what happens: by default the credit is
// refused with a *BearerError (ErrBearerShortfall) naming the line, the
// bearer and the shortfall; ShortfallProportional takes all the bearer
// has left and the rest from the other parts in proportion;
// ShortfallBearerOwes takes the whole credit from the bearer, beyond its
// part of the line (an SLA credit of 800.00 borne by a lead contractor
// whose part of the line is 400.00 takes 800.00 from it: its part's
// unreversed amount is -400.00, and its clawback's share and note say the
// credit was borne beyond its part). A bearer with no part on the line is
// always refused (ErrBearerNotOnLine): a mistyped party never spreads a
// credit over the others.
//
// A part whose bearer owed beyond it has a negative unreversed amount. A
// later credit without a bearer reverses every part in proportion to what
// it has unreversed, that part too: it gets back its share of what it
// owes (the negative parts' share of the credit, credit × owed / what the
// line has left, half up, split over them by largest remainder; the
// positive parts give back the credit plus that). A credit of all the
// line has left takes from each part exactly what it has, whoever bears
// it, so every party ends at zero on a line credited in full, in whatever
// order its credits came, the bearer getting back what it owed. A later
// credit borne by a party below zero finds it with less than nothing:
// refused by default, made up by the others with ShortfallProportional,
// owed on top with ShortfallBearerOwes. A bearer of several parts (a
// node, a role, a component) bears with those of them that have
// something: one below zero neither gets back a share of what the others
// give nor counts against what the bearer has. A dispute holds nothing of
// a negative part.
//
// In YAML or JSON:
//
//	bearer: {component: suite/gpu/gpuco}              # the supplier of bundle suite's gpu component
//	bearer: {party: reseller-nl, shortfall: proportional}
//	bearer: {party: anna, shortfall: bearer_owes}     # anna gives back the whole credit, beyond its part
//	bearer: {node: root/channel}                      # every part decided under the channel node
//	bearer: {role: seller}
type Bearer struct {
	// Party bears it: every part of the line that pays this partner (or
	// the platform, by its id).
	Party partner.ID `json:"party,omitempty"`
	// Node bears it: the parts decided at this plan node path or below it
	// ("root/channel" covers "root/channel/reseller"). Supplier costs are
	// parts under "supplier_costs/<component>".
	Node string `json:"node,omitempty"`
	// Role bears it: the parts paid in this role, as entries name it
	// (Entry.Role: "platform", "seller", "referrer", "chain[1]",
	// "co_sellers", a partner type, ...); "supplier" names every supplier
	// cost of the line.
	Role string `json:"role,omitempty"`
	// Component bears it: the supplier of this bundle component (its
	// supplier cost, the part at "supplier_costs/<component>"), named by
	// its catalog.SupplierCost's Component.ID (on invoice lines,
	// "bundle/component-offer/supplier").
	Component string `json:"component,omitempty"`
	// Shortfall says what happens when the bearer has less unreversed on
	// the line than the credit takes: an error (the zero value), the rest
	// from the others in proportion, or the rest from the bearer, beyond
	// its part (ShortfallBearerOwes). Only with a bearer named.
	Shortfall Shortfall `json:"shortfall,omitempty"`
}

// Shortfall says what a credit does when its bearer has less unreversed on
// the line than the credit takes.
type Shortfall uint8

const (
	// ShortfallError refuses the credit with a *BearerError
	// (ErrBearerShortfall): the zero value, so that who is paid never
	// changes without the host asking.
	ShortfallError Shortfall = iota
	// ShortfallProportional takes all the bearer has unreversed and the
	// rest from the line's other parts, in proportion to what each has
	// unreversed.
	ShortfallProportional
	// ShortfallBearerOwes makes the bearer give back the whole credit
	// even beyond its part of the line ("bearer_owes"): its parts give
	// back all they have unreversed and the rest (the excess) on top, in
	// proportion to their amounts, so that their unreversed amounts go
	// negative by the excess, which the ledger records; the other parts
	// give nothing. The line's parts still leave its basis less what was
	// credited unreversed, so a later credit of all the line has left
	// takes from every part exactly what it has left and gives the bearer
	// its excess back: every party ends at zero on a line credited in
	// full, as the customer got back all it paid and nobody earned on it.
	// A later credit of part of the line reverses every part in
	// proportion to what it has unreversed, a negative part too (it gets
	// back its share of the excess: see Bearer). A credit it bears that
	// takes all the line has left takes from each part what it has.
	// Only on a credit line of a line payable on settlement that is no
	// receivable of its invoice (a settler with a plan payable on
	// collection keeps the balance of every invoice line: see
	// LedgerLine.Receivable) and whose bearer's parts are owed in the
	// line's currency (else a *BearerError, ErrBearerOwes); a write-off or
	// a lost dispute cannot name it.
	ShortfallBearerOwes
)

var shortfallNames = [...]string{"error", "proportional", "bearer_owes"}

// String returns the option's name: "error", "proportional" or
// "bearer_owes".
func (s Shortfall) String() string {
	return ensemble.EnumName(uint8(s), shortfallNames[:], "shortfall")
}

// MarshalText writes the option's name.
func (s Shortfall) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(s), shortfallNames[:], "settlement", "shortfall")
}

// UnmarshalText reads an option's name; "" is ShortfallError.
func (s *Shortfall) UnmarshalText(b []byte) error {
	v, err := ensemble.ParseEnum[uint8](b, shortfallNames[:], "settlement", "shortfall")
	*s = Shortfall(v)
	return err
}

// IsZero reports whether b is the proportional default.
func (b Bearer) IsZero() bool { return b == Bearer{} }

// String says who bears: "proportional", "party reseller-nl", "node
// root/channel", "role seller" or "supplier of component gpu".
func (b Bearer) String() string {
	switch {
	case b.Party != "":
		return "party " + string(b.Party)
	case b.Node != "":
		return "node " + b.Node
	case b.Role != "":
		return "role " + b.Role
	case b.Component != "":
		return "supplier of component " + b.Component
	}
	return "proportional"
}

// validate records what is wrong with b under path.
func (b Bearer) validate(p *ensemble.Problems, path string) {
	named := 0
	for _, s := range [...]string{string(b.Party), b.Node, b.Role, b.Component} {
		if s != "" {
			named++
		}
	}
	switch {
	case named > 1:
		p.Addf(path, "a bearer names one of party, node, role and component, not %d", named)
	case named == 0 && b.Shortfall != ShortfallError:
		p.Addf(path+".shortfall", "a proportional credit has no shortfall: name a party, node, role or component")
	}
	if int(b.Shortfall) >= len(shortfallNames) {
		p.Addf(path+".shortfall", "unknown shortfall %d", b.Shortfall)
	}
	if b.Party != "" {
		if err := ensemble.CheckID(string(b.Party), ensemble.EntrySeparators); err != nil {
			p.Add(path+".party", err)
		}
	}
	if b.Node != "" && (strings.Contains(b.Node, "#") || slices.Contains(strings.Split(b.Node, "/"), "")) {
		p.Addf(path+".node", "node %q is not a node path (ids joined by '/', without '#')", b.Node)
	}
	if b.Role != "" {
		if _, _, known := partRole(b.Role, KindEarning); !known {
			p.Addf(path+".role", "unknown role %q", b.Role)
		}
	}
	if b.Component != "" && strings.Contains(b.Component, "#") {
		p.Addf(path+".component", "component %q holds '#', which no component id does", b.Component)
	}
}

// bears reports whether the bearer (not proportional) bears part pe.
func (b *Bearer) bears(pe *payee) bool {
	m := pe.meta
	switch {
	case b.Party != "":
		return pe.party == b.Party
	case b.Node != "":
		return m.node == b.Node || strings.HasPrefix(m.node, b.Node) && m.node[len(b.Node)] == '/'
	case b.Role == "supplier":
		return m.kind == KindSupplierCost
	case b.Role != "":
		return m.role == b.Role && m.kind == KindEarning
	}
	return m.kind == KindSupplierCost && m.node == string(supplierCosts)+"/"+b.Component
}

// named returns what b names: its party, node, role or component.
func (b Bearer) named() string {
	return string(b.Party) + b.Node + b.Role + b.Component // one of them at most is set
}

// bearable returns what pe could be borne by in the form b names one: its
// party, node, role (an earning's; "supplier" for a supplier cost) or
// supplier component; "" when pe has none in that form.
func (b Bearer) bearable(pe *payee) string {
	m := pe.meta
	switch {
	case b.Party != "":
		return string(pe.party)
	case b.Node != "":
		return m.node
	case b.Role != "":
		if m.kind == KindSupplierCost {
			return "supplier"
		}
		return m.role
	}
	if c, ok := strings.CutPrefix(m.node, string(supplierCosts)+"/"); ok && m.kind == KindSupplierCost {
		return c
	}
	return ""
}

// ErrBearerShortfall reports a credit or lost dispute whose bearer has
// less unreversed on the line than it takes, with ShortfallError. A
// *BearerError wraps it.
var ErrBearerShortfall = errors.New("settlement: bearer has too little unreversed on the line")

// ErrBearerOwes reports a bearer that cannot give back beyond its part of
// the line (ShortfallBearerOwes) there: the line is payable on collection
// (what awaits the customer's payment is kept per part, never below
// zero) or is a receivable of its invoice (a line paid on settlement
// naming an invoice, under a settler with a plan payable on collection),
// or a part of the bearer's is a supplier cost owed in another
// currency (its conversion is kept within the part). A *BearerError wraps
// it; shortfall proportional, or the bearer's own Adjust, settle such a
// credit instead.
var ErrBearerOwes = errors.New("settlement: the bearer cannot owe beyond its part of this line")

// ErrBearerNotOnLine reports a bearer with no part on the credited line. A
// *BearerError wraps it.
var ErrBearerNotOnLine = errors.New("settlement: bearer has no part on the line")

// BearerError reports a credit or a lost dispute its bearer cannot bear. A
// *LineError naming the credit line (or the disputed line) wraps it.
type BearerError struct {
	// Line is the credited (or disputed) line.
	Line   LineID
	Bearer Bearer
	// Credit is what the credit takes back, Unreversed what the bearer has
	// left on the line and Shortfall the difference.
	Credit, Unreversed, Shortfall ensemble.Money
	// OnLine lists, with ErrBearerNotOnLine, what the line's parts could be
	// borne by in the form the bearer is (its parties, nodes, roles or
	// supplier components), sorted, so that a mistyped one can be told.
	OnLine []string
	// Err is ErrBearerShortfall, ErrBearerNotOnLine or ErrBearerOwes;
	// for the bearer of a clawback window (Clawback.BorneBy, Bearer then
	// the window's bearer and Credit what the kept parts would have given
	// back), ErrClawbackBearer, joined with ErrBearerNotOnLine when it has
	// no part on the line that is not kept.
	Err error
	// Why says, with ErrBearerOwes, why the bearer cannot owe beyond its
	// part here.
	Why string
}

// Error names the line, the bearer and the shortfall; for a bearer with no
// part on the line, what the line's parts could be borne by, and the
// nearest to what it names.
func (e *BearerError) Error() string {
	if errors.Is(e.Err, ErrBearerNotOnLine) {
		msg := fmt.Sprintf("settlement: %s bears no part of line %q", e.Bearer, string(e.Line))
		if len(e.OnLine) > 0 {
			msg += " (its parts: " + strings.Join(e.OnLine, ", ") + ")"
		}
		if near := ensemble.Nearest(e.Bearer.named(), e.OnLine); len(near) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", near[0])
		}
		return msg
	}
	if errors.Is(e.Err, ErrClawbackBearer) {
		return fmt.Sprintf("settlement: %s bears what parts of line %q keep past their clawback window, %s, and has %s left: it cannot owe the %s beyond its part: %s "+
			"(name a bearer on the reversal to settle it otherwise)", e.Bearer, string(e.Line), e.Credit, e.Unreversed, e.Shortfall, e.Why)
	}
	if errors.Is(e.Err, ErrBearerOwes) {
		return fmt.Sprintf("settlement: %s has %s unreversed on line %q, the credit takes %s: it cannot owe the %s beyond its part (shortfall: bearer_owes): %s",
			e.Bearer, e.Unreversed, string(e.Line), e.Credit, e.Shortfall, e.Why)
	}
	return fmt.Sprintf("settlement: %s has %s unreversed on line %q, the credit takes %s: %s short "+
		"(shortfall: proportional takes the rest from the other parts; bearer_owes takes it all from the bearer, beyond its part)", e.Bearer, e.Unreversed, string(e.Line), e.Credit, e.Shortfall)
}

// Unwrap returns the condition.
func (e *BearerError) Unwrap() error { return e.Err }
