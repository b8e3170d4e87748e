package settlement

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	ID LineID `json:"id"`
	// Date is when the line takes effect, not the date of the invoice
	// that bills it: from FromInvoice, the instant its invoice line fell
	// due (invoice.Line.Date): the service start of a charge billed in
	// advance, the instant of the change a proration line bills or
	// credits, the end of a usage period, the run's instant for late
	// usage, the credit note's date. Rules read the partner's terms and
	// tier as of it (and line.date), cumulative volumes window on it, and
	// the line's entries are dated by it, which statements fold by.
	Date time.Time `json:"date"`
	// Amount is the line's amount net of tax. Plans split it (or, with
	// basis gross, Amount + Tax).
	Amount ensemble.Money `json:"amount"`
	// Tax is the tax billed on the line, in Amount's currency: zero or
	// positive on a sale, zero or negative on a credit. A credit of a line
	// payable on collection takes its amount plus tax off what the customer
	// owes, so its tax must be in proportion to the credited line's, within
	// a unit (else ErrInvalidLine).
	Tax ensemble.Money `json:"tax,omitzero"`
	// Offer and Charge name what was sold, as the catalog pins it. A sale
	// names its offer (an empty offer id is ErrInvalidLine at
	// offer.offer: plans are picked by it); the charge may be empty.
	Offer  catalog.Pin      `json:"offer"`
	Charge catalog.ChargeID `json:"charge,omitempty"`
	// Kind is the kind of invoice line the line settles, as
	// invoice.LineKind names it ("recurring", "usage", "one_time",
	// "early_termination", "commitment_true_up", ...), which FromInvoice
	// sets; empty on a line a host builds otherwise. Rules read it as
	// line.kind, so a plan can pay partners on the service and not on a
	// fee: an early-termination fee bills no catalog charge (its Charge is
	// empty), and `line.kind != "early_termination"` keeps a node off it.
	// Since a rule may pay by it, it is a fact of a sale: sent again under
	// its id with another kind, a sale is ErrLineConflict, not a retry (a
	// sale a state settled before kinds were compared, or settled with no
	// kind, is compared without it; see State). On a credit, "proration_credit" says its
	// Discounts list every discount it gives back, none when it lists none
	// (see Discounts).
	Kind string `json:"kind,omitempty"`
	// Quantity is how many units the line bills (zero when not relevant):
	// of a late-usage adjustment or a progressive bill, what it adds to
	// what was billed before (FromInvoice takes invoice.UsageTrace.Billed
	// off the invoice line's cumulative Quantity); negative on a line that
	// takes usage back.
	Quantity decimal.Decimal `json:"quantity,omitzero"`
	// PeriodQuantity is, on such a line, the usage period's quantity with
	// it (the invoice line's cumulative Quantity), which a rule keyed on
	// the period's volume reads (line.period_quantity: 1,200 GB on the
	// adjustment billing the last 400 of them); zero means Quantity.
	PeriodQuantity decimal.Decimal `json:"period_quantity,omitzero"`
	Customer       Customer        `json:"customer,omitzero"`
	// Route is who took part in the sale, captured when it was made (see
	// partner.Route; FromInvoice copies the order's, with the kind its
	// parties make when the order gives none). A sale line names its Kind:
	// one left unspecified is ErrInvalidLine at route.kind, saying the kind
	// its parties make. Its Seller is its Chain's first partner: a route that gives
	// only the chain names Chain[0] the seller, one that gives only the
	// seller is a seller without parents (refused with ErrInvalidLine at
	// route.chain when the settler's network gives the seller parents at
	// the line's date, rather than paying their nodes nothing; Chain
	// holding the seller alone says the sale was made without them).
	// Settle refuses a route that
	// partner.Route.Validate refuses (a party twice, co-sell weights that
	// do not sum to one ...) with ErrInvalidLine at route.<field>, and
	// route partners holding ':' or '#', since chain[*] and co_sellers
	// entries are named by their partner. With a network (Config.Network),
	// the seller, every partner of its chain, every co-seller, the referrer
	// and the marketplace a sale's route names must be partners of it,
	// whatever the plan pays: one it does not know (a misspelt id) is
	// ErrInvalidLine at route.seller (the seller, also when the route gives
	// it only as its chain's first), route.chain[i],
	// route.co_sellers[i].partner, route.referrer or route.marketplace,
	// wrapping a *partner.PartnerError (partner.ErrUnknownPartner) with the
	// nearest id, where a plan paying the co-sell fee to a named partner
	// (partner:<id>) settled it and recorded the sale as co-sold by nobody
	// the network knows, and a misspelt seller was refused with no path,
	// no hint and not as an invalid line. A partner
	// the network knows who is not one yet at the line's date is the plan's
	// to handle (its share falls back). The chain may differ from the
	// network at the line's date (a partner moved since the sale), but
	// not link partners of types the network cannot link: a parent whose
	// type the network's parent_types do not allow for the partner's
	// type, or, for a type they do not list, a type no partner of that
	// type has as a parent in the network's terms (Network.ParentTypesOf)
	// is ErrInvalidLine at route.chain[i] (i the parent's level) wrapping
	// a *partner.ParentTypeError. A type the network neither declares nor
	// gives any partner of a parent is not checked. A credit line may
	// leave its
	// Route empty; a seller it names must be the credited line's (else
	// ErrInvalidLine): a credit reverses the credited line's split as the
	// state recorded it, and a host sharding by seller would settle a
	// credit naming another seller on the wrong shard.
	Route partner.Route `json:"route"`
	// SupplierCosts are the wholesale costs of the bundle's components
	// (catalog.Catalog.SupplierCosts computes them); they are paid to the
	// suppliers before the margin is split, whatever the network says of
	// them: a supplier's cost is owed for what it delivered, so neither
	// its status nor its absence from the network moves it elsewhere
	// (hold a suspended supplier's payout at payout time). Each takes its
	// Cost off the
	// line; one owed in another currency (Source, converted at Rate) pays
	// the supplier Source, in that currency (see Conversion). A source in
	// the line's currency, without a positive rate, or whose Cost (plus
	// Capped) is not Source × Rate within a minor unit, is ErrInvalidLine.
	SupplierCosts []catalog.SupplierCost `json:"supplier_costs,omitempty"`
	// Credits is the line a credit-note line credits; empty otherwise. A
	// credit dated before the line it credits is ErrInvalidLine (its
	// clawbacks would land in a period before the sale).
	Credits LineID `json:"credits,omitempty"`
	// Bearer says, on a credit-note line, who bears the credit: zero (the
	// default) reverses every party in proportion to what it has
	// unreversed; a party, plan node, role or bundle component takes the
	// whole credit from its parts alone (see Bearer). A sale line has
	// none.
	Bearer Bearer `json:"bearer,omitzero"`
	// Dispute says, on a credit-note line, whether the credit documents
	// what lost disputes of the credited line reversed already (the
	// customer's credit note for a dispute lost in part or in full) or is
	// a credit besides them (a goodwill credit after a lost chargeback). A
	// lost dispute is the partners' clawback: a credit documenting it
	// reverses nothing more (DisputeDocuments). A credit of a line whose
	// lost disputes some of what they lost no credit documents yet, that
	// leaves it unstated, is refused (ErrUndocumentedDispute) rather than
	// clawing the lost part back twice. A sale line has none.
	Dispute DisputeLink `json:"dispute,omitempty"`
	// Prepaid names the prepaid commitment the line buys, draws on or lets
	// expire, and how its partners earn on it (FromInvoiceWith sets it):
	// the State keeps the first line's mode and refuses a later line of
	// the same commitment settled the other way, which would pay twice.
	Prepaid PrepaidTerms `json:"prepaid,omitzero"`
	// Service is the period the line bills the service of (the invoice
	// line's Period; empty, [t, t), for a one-time fee delivered at an
	// instant), zero when not known. Every entry of the line keeps
	// it, so revenue and payouts can be reported by the month the service
	// was delivered, not the invoice date. Rules read it as
	// line.service_start and line.service_end: a usage line billed in
	// arrears is dated at its period's end, so a rule about the months of
	// service a line bills reads its start, not line.date. A rule reading
	// them fails a sale without one (see LineFacts).
	Service ensemble.Period `json:"service,omitzero"`
	// ContractStart is when the contract the line bills started: the
	// subscription's activation, the order's start (FromInvoice sets it
	// from invoice.Line.SubscriptionStart); zero when not known. Rules read
	// it as line.contract_start, so that a partner program paying on a
	// contract's first months is one rule for every deal rather than a
	// date per deal: `months_since(line.contract_start,
	// line.service_start) < 12` (rules' env_version 3; see
	// rules.Library). It may come after Date and Service: a line can fall
	// due before the contract's service starts (billed in advance of the
	// go-live, a prepaid commitment bought ahead, a host dating lines by
	// invoice), and months_since is then negative, so the first-year rule
	// pays it. A rule reading it fails a sale without one (see LineFacts);
	// a credit's is not read (a credit reverses the credited line's
	// split). It is a fact of the sale: sent again with another, the sale
	// is ErrLineConflict.
	ContractStart time.Time `json:"contract_start,omitzero"`
	// Discounts are the discounts the invoice took off the line before
	// Amount, each with what it took of the net (positive on a sale):
	// invoice.Line's Discounts, which FromInvoice copies (under prices
	// that include tax, less the tax they took with the price). A plan's DiscountFunding reads
	// them: the discounts a node funds are added back to what the root
	// splits, and come off that node's part alone, so the other parties
	// are paid as if the line had not been discounted. Under any other
	// plan they change nothing. Under a plan funding some,
	// they are facts of the sale: sent again with others, the sale is
	// ErrLineConflict; elsewhere they change no payout and are not
	// compared.
	//
	// A credit's are what it gives back of the credited line's discounts
	// (negative: FromInvoice copies a credit note's or a proration
	// credit's, less invoice's "credited", the part earlier credit notes
	// took, which is no discount). Of a line whose discounts a node funded,
	// a credit that takes less than all the line has left is re-split as
	// the sale was: each part gives back its share of the list price the
	// credit gives back (its amount plus the funded discounts it gives
	// back), less its share of the funded discounts it gives back, which
	// come back to the parts that funded them (see LedgerPart.Funded). A
	// credit listing no discount is read as giving back every discount in
	// the share of the list price it credits (each part gives back in
	// proportion to what it was paid), unless it is a proration credit
	// (Kind "proration_credit"), which lists every discount it gives back:
	// none listed, it gives back none. A funded discount listed positive
	// on a credit is one it takes (the credit of a discount recorded late,
	// which FromInvoice lists so): its share of the list price is its
	// amount less what it takes, and what it takes comes off the funding
	// node's parts alone, in proportion to what each was paid, as one
	// sale knowing the discount would have split the line; where they
	// cannot bear it the credit is ErrDiscountFunding. Where the re-split cannot hold (a
	// bearer named, a discount given back beyond what was funded, a part
	// that would give back less than nothing or more than it has left after
	// earlier credits) the credit reverses each part in proportion to what
	// it has unreversed, as before. A credit of all the line has left takes
	// from every part what it has left.
	Discounts []Discount `json:"discounts,omitempty"`
	// Recouped is, on a minimum commitment's true-up (Kind
	// "commitment_true_up"), what the true-up bills back of the discounts
	// the cycle's lines took, by discount (positive, adding up to at most
	// Amount): invoice.Line's Recouped, which FromInvoice copies (under
	// prices that include tax, less the tax, as Discounts). The customer
	// paid them after all, so a node funding a discount
	// (PlanDocument.DiscountFunding) gets back what the true-up bills back
	// of it: the root splits Amount less Recouped's funded discounts as
	// usual, and each funding node's part gets what it bills back of the
	// discounts it funds on top ("includes EUR 93.60 of discount
	// private-offer, which it funds and the true-up bills back"). A
	// funding node that takes no part of the line fails it with
	// ErrDiscountFunding, as a funded discount does; a discount no node
	// funds is split as billed.
	// Under a plan funding none it changes nothing. Under a plan funding
	// some, it is a fact of the sale (ErrLineConflict sent again with
	// another). A line with Recouped lists no Discounts (the true-up is
	// not discounted). A credit's (a true-up credit: what it gives back of
	// the credited true-up's, negative) is not read: the credit reverses
	// each part of the true-up in proportion to what it has unreversed,
	// the part it paid back to the funder included.
	Recouped []Discount `json:"recouped,omitempty"`
	// Invoice is the invoice the line is on (InvoiceOptions.Invoice sets
	// it): a collection of the invoice (Collection.Invoice) pays the lines
	// of it that a plan payable on collection settled, and, where a plan of
	// the settler pays on collection, its lines paid on settlement too, in
	// proportion to what each owes (see LedgerLine.Receivable). On a credit of
	// such a line it says whose balance the credit lowers: the credited
	// line's own invoice, or empty, lowers that line's (settle a credit
	// note's lines with InvoiceOptions{Invoice: note.Invoice}, the invoice
	// it credits); another invoice nets the credit there, taken off what
	// that invoice's lines owe (a proration credit on the next invoice,
	// settled with that invoice's lines: see Settler.Collect and the
	// README's "Which balance a credit comes off"). Any text; empty when
	// not known.
	Invoice string `json:"invoice,omitempty"`
	// Attributed is, on a line billing usage attributed to a record
	// attribute (catalog.Charge.AttributeTo; FromInvoice copies
	// invoice.Line.Attribution's value), the attribute's value: whose usage
	// the line bills, such as the contractor who did the hours. A plan node
	// whose party is "attributed" pays the partner it names; rules read it
	// as line.attributed. Empty when the line is not attributed. It is a
	// fact of the sale: sent again with another, the sale is
	// ErrLineConflict.
	Attributed string `json:"attributed,omitempty"`
	// Attributes are the host's own facts of the sale, which rules read
	// as line.attributes, a map of strings: what settlement cannot know
	// and a partner program pays on, such as who registered the deal
	// before the order (`line.attributes["registered_by"] ==
	// partner.id`) or the customer's first order (`has(line.attributes.
	// first_order)`). The host decides them from its own records (its
	// CRM's deal registrations, its order history); FromInvoiceWith
	// copies InvoiceOptions.Attributes to every line it converts. Nil
	// means none: a rule reading an attribute the line does not set sees
	// no key (`has()` false, `"k" in line.attributes` false; indexing it
	// fails the line with ErrRule, so guard with has()).
	//
	// At most MaxLineAttributes of them; each key non-empty and at most
	// MaxAttributeKey bytes, each value non-empty (leave out an attribute
	// the sale does not have) and at most MaxAttributeValue bytes, both
	// valid UTF-8 without control characters: else Settle refuses the
	// line with ErrInvalidLine and an *AttributeError (ErrLineAttribute)
	// naming the key, at attributes["<key>"]. Values are strings: a rule
	// reads a date with timestamp(line.attributes["registered_at"])
	// (RFC 3339) and a number with dec(...).
	//
	// They are facts of the sale: sent again with others, the sale is
	// ErrLineConflict (a line without them prints as it did before they
	// existed). Rules reading them run for every line, as every rule
	// reading the line does, so no decision is shared between lines
	// whose attributes differ; a plan whose rules read none pays nothing
	// for them. A credit's are not read (a credit reverses the credited
	// line's split).
	Attributes map[string]string `json:"attributes,omitempty"`
	// Trace says where the line came from: invoice line, order line, usage
	// aggregate... Every entry of the line carries it.
	Trace []ensemble.Ref `json:"trace,omitempty"`
}

// DisputeLink says how a credit line relates to the lost disputes of the
// line it credits (Line.Dispute). Its JSON is its name: "" (unstated),
// "documents" or "separate".
type DisputeLink uint8

const (
	// DisputeUnstated is the zero value: the credit does not say. It
	// settles as any credit while every lost dispute of the credited line
	// is documented (or none was lost); otherwise it is refused with
	// ErrUndocumentedDispute, since settlement cannot tell the credit
	// note of a dispute lost in part from a later credit of what is left.
	DisputeUnstated DisputeLink = iota
	// DisputeDocuments: the credit is the customer's document of what the
	// credited line's lost disputes reversed already: it reverses nothing
	// and moves no money (the lost dispute clawed it back, and took it off
	// what the customer owes on a line payable on collection); the State
	// records it (CreditState.Documented, LedgerLine.Documented), so that
	// the loss is documented once. A credit documenting more than the lost
	// disputes left undocumented is ErrOverDocumented; it names no Bearer
	// (the dispute's outcome said who bore it) and is not netted on
	// another invoice (its Invoice is not read: the customer got the money
	// back through the dispute). On a line payable on collection its own
	// total (Amount plus Tax) replaces the share of the line's total the
	// lost disputes took off what the customer owes for the net it
	// documents, when the two differ by at most MaxNoteRounding (the
	// customer's document is the authority; the parties' entries, split
	// on the net, do not change); beyond it the credit is
	// ErrDocumentedTotal. A line the customer paid in full keeps what it
	// paid: the note then changes nothing of it.
	DisputeDocuments
	// DisputeSeparate: the credit is not a lost dispute's document: it
	// reverses as any credit (a goodwill credit after a lost chargeback),
	// and what the disputes lost stays undocumented.
	DisputeSeparate
)

var disputeLinkNames = [...]string{DisputeUnstated: "", DisputeDocuments: "documents", DisputeSeparate: "separate"}

// String returns the link's name ("unstated" for the zero value).
func (d DisputeLink) String() string {
	if d == DisputeUnstated {
		return "unstated"
	}
	if int(d) < len(disputeLinkNames) {
		return disputeLinkNames[d]
	}
	return "DisputeLink(" + strconv.Itoa(int(d)) + ")"
}

// MarshalText writes the link's name ("" for DisputeUnstated).
func (d DisputeLink) MarshalText() ([]byte, error) {
	return ensemble.EnumText(uint8(d), disputeLinkNames[:], "settlement", "dispute link")
}

// UnmarshalText reads a link's name; "" is DisputeUnstated.
func (d *DisputeLink) UnmarshalText(t []byte) error {
	v, err := ensemble.ParseEnum[uint8](t, disputeLinkNames[:], "settlement", "dispute link")
	*d = DisputeLink(v)
	return err
}

// periodQuantity returns the usage period's quantity with the line's: its
// PeriodQuantity, or its Quantity.
func (l *Line) periodQuantity() decimal.Decimal {
	if l.PeriodQuantity.IsZero() {
		return l.Quantity
	}
	return l.PeriodQuantity
}

// Currency returns the line's currency.
func (l *Line) Currency() ensemble.Currency { return l.Amount.Currency() }

// Ref returns the trace reference to the line.
func (l *Line) Ref() ensemble.Ref { return ensemble.Ref{Kind: RefLine, ID: string(l.ID)} }

// sellerFirst reports whether route r names its seller both ways, Seller
// and Chain[0] (validate checked they agree when both are given), or has
// none.
func sellerFirst(r *partner.Route) bool { return (r.Seller == "") == (len(r.Chain) == 0) }

// chainGiven refuses a sale whose route names its seller without its chain
// while the settler's network gives the seller a parent at the line's date:
// the plan's nodes for the parents would pay nothing and what they would
// have taken would go to the nodes after them, with no error. A route
// captured at the sale (package order fills its Chain), or a chain of the
// seller alone for a sale made without parents, settles as given.
func (s *Settler) chainGiven(l *Line) error {
	r := &l.Route
	if s.net == nil || l.Credits != "" || r.Seller == "" || len(r.Chain) > 0 {
		return nil
	}
	chain, err := s.net.Chain(r.Seller, l.Date)
	if err != nil || len(chain) < 2 {
		return nil // a seller the network does not know is refused where the route is resolved
	}
	var p ensemble.Problems
	p.Addf("route.chain", "the route names seller %q without its chain, and the network gives it parents at the line's date "+
		"(chain %s): give the chain the sale was made under (package order fills it when an order is quoted), or the seller "+
		"alone ([%s]) for a sale made without them", r.Seller, strings.Join(idStrings(chain), " > "), r.Seller)
	return fmt.Errorf("%w: %w", ErrInvalidLine, p.Err(fmt.Sprintf("line %q", string(l.ID))))
}

// routeParties refuses sale l when its route names a co-seller, referrer
// or marketplace the settler's network does not know, whichever nodes its
// plan has: the route is the record of who took part in the sale, and a
// misspelt co-seller under a plan paying the co-sell fee to a named partner
// (partner:<id>) settled without a word, recorded as co-sold by a partner
// that does not exist. A partner the network knows but who is not one yet
// at the line's date is the plan's to handle (its share falls back). The
// seller and its chain are checked as each sale is settled (sellerParties),
// how the chain links where the route is resolved (chainGiven, chainLinks);
// a settler without a network checks nothing.
func (s *Settler) routeParties(l *Line) error {
	r := &l.Route
	if s.net == nil || l.Credits != "" {
		return nil
	}
	bad := s.unknown(r.Referrer) || s.unknown(r.Marketplace)
	for i := range r.CoSellers {
		bad = bad || s.unknown(r.CoSellers[i].Partner)
	}
	if !bad { // every line but a refused one: nothing to write
		return nil
	}
	var p ensemble.Problems
	for i := range r.CoSellers {
		s.checkParty(&p, ensemble.Path("route", "co_sellers", i, "partner"), r.CoSellers[i].Partner)
	}
	s.checkParty(&p, "route.referrer", r.Referrer)
	s.checkParty(&p, "route.marketplace", r.Marketplace)
	return fmt.Errorf("%w: %w", ErrInvalidLine, p.Err(fmt.Sprintf("line %q", string(l.ID))))
}

// sellerParties refuses sale l, as it is settled and before its plan is
// picked, when its route names a seller or a partner of its chain the
// settler's network does not know, whatever its plan pays: ErrInvalidLine
// at route.seller (the seller, also when the route gives it only as its
// chain's first) or route.chain[i], wrapping partner.ErrUnknownPartner,
// with the nearest id. Before, a misspelt affiliate (the seller) was refused only
// where the route was resolved, as no invalid line, at no path and with no
// hint ("partner "aff-0O1": partner: unknown partner"). l's route has its
// seller first in its chain (withSellerFirst), so the chain is checked
// from its second partner on.
func (s *Settler) sellerParties(l *Line) error {
	r := &l.Route
	if s.net == nil {
		return nil
	}
	bad := s.unknown(r.Seller)
	for i := range r.Chain {
		bad = bad || s.unknown(r.Chain[i])
	}
	if !bad {
		return nil
	}
	var p ensemble.Problems
	s.checkParty(&p, "route.seller", r.Seller)
	for i := 1; i < len(r.Chain); i++ {
		s.checkParty(&p, ensemble.Path("route", "chain", i), r.Chain[i])
	}
	return lineErr(l.ID, "", "", "", fmt.Errorf("%w: %w", ErrInvalidLine, p.Err(fmt.Sprintf("line %q", string(l.ID)))))
}

// unknown reports whether partner id, named on a route, is one the
// settler's network (which it has) does not know: not empty, not the
// platform, and not a partner of it.
func (s *Settler) unknown(id partner.ID) bool {
	return id != "" && id != s.platform && !s.knowsPartner(id)
}

// checkParty adds to p, at path, that the route names partner id the
// network does not know, with the nearest id, when it is unknown.
func (s *Settler) checkParty(p *ensemble.Problems, path string, id partner.ID) {
	if !s.unknown(id) {
		return
	}
	p.Add(path, fmt.Errorf("%w%s: the route names every partner that took part in the sale, and the network has no such partner",
		&partner.PartnerError{ID: id, Err: partner.ErrUnknownPartner}, s.didYouMean(id)))
}

// didYouMean returns " (did you mean "<id>"?)" naming the partner of the
// settler's network whose id is nearest unknown id (ensemble.Nearest:
// "Anna" for "anna"), or "" when none is near or there is no network.
func (s *Settler) didYouMean(id partner.ID) string {
	if s.net == nil {
		return ""
	}
	var ids []string
	for _, p := range s.net.Spec().Partners {
		ids = append(ids, string(p.ID))
	}
	if near := ensemble.Nearest(string(id), ids); len(near) > 0 {
		return fmt.Sprintf(" (did you mean %q?)", near[0])
	}
	return ""
}

// knowsPartner reports whether the settler's network holds partner id:
// a lookup in the timelines New built of every partner, without copying
// the partner as Network.Partner does (a line names its referrer and
// co-sellers on every call).
func (s *Settler) knowsPartner(id partner.ID) bool {
	if s.timelines != nil {
		return s.timelines[id] != nil
	}
	_, ok := s.net.Partner(id)
	return ok
}

// knownSuppliers refuses sale l when its supplier costs name a supplier
// the settler was not given (Config.Suppliers), when it was given some.
func (s *Settler) knownSuppliers(l *Line) error {
	if s.suppliers == nil {
		return nil
	}
	var p ensemble.Problems
	for i := range l.SupplierCosts {
		id := l.SupplierCosts[i].Supplier
		if _, ok := s.suppliers[id]; !ok {
			p.Addf(ensemble.Path("supplier_costs", i, "supplier"), "supplier %q is not one of the settler's suppliers (Config.Suppliers): "+
				"a supplier id the catalog misspells would be paid as a party of its own", id)
		}
	}
	if err := p.Err(fmt.Sprintf("line %q", string(l.ID))); err != nil {
		return fmt.Errorf("%w: %w", ErrUnknownSupplier, err)
	}
	return nil
}

// lastInstant is the last instant settlement records: a State and its
// entries are written as JSON, and time.Time.MarshalJSON writes no year
// after 9999.
var lastInstant = time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)

// checkInstant refuses an instant settlement cannot record: after the
// last instant of year 9999 (the State or entries it ends up in could not
// be written as JSON), or before year 1 (before the zero time.Time, which
// stands for no date, and before any state's window).
func checkInstant(t time.Time) error {
	switch {
	case t.Before(time.Time{}):
		return fmt.Errorf("%s is before year 1: no date settlement records", t.UTC().Format(time.RFC3339Nano))
	case t.After(lastInstant):
		return fmt.Errorf("%s is after year 9999: a State and its entries are written as JSON, which writes no later date",
			t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// keptUnits returns m in minor units, or the error saying why settlement
// cannot keep it: digits below the minor unit (ensemble.ErrNotMinorUnits),
// or a whole number of them beyond the int64 range settlement keeps
// amounts in (ensemble.ErrMinorUnitsRange, naming the range).
func keptUnits(m ensemble.Money) (int64, error) {
	u, err := m.MinorUnits()
	if errors.Is(err, ensemble.ErrMinorUnitsRange) {
		return 0, fmt.Errorf("%w: settlement keeps amounts within ±%s", err, ensemble.MoneyFromMinor(math.MaxInt64, m.Currency()))
	}
	return u, err
}

// idStrings returns ids as strings.
func idStrings(ids []partner.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// withSellerFirst completes r, which validate accepted, to name its seller
// both ways: a chain without a seller names Chain[0] the seller, a seller
// without a chain is a chain of one.
func withSellerFirst(r *partner.Route) {
	switch {
	case r.Seller == "" && len(r.Chain) > 0:
		r.Seller = r.Chain[0]
	case r.Seller != "" && len(r.Chain) == 0:
		r.Chain = []partner.ID{r.Seller}
	}
}

// validate checks the fields every line needs.
func (l *Line) validate() error {
	var p ensemble.Problems
	if err := ensemble.CheckLineID(string(l.ID)); err != nil {
		p.Add("id", err)
	} else if reservedLine(l.ID) {
		p.Addf("id", "line id %q is reserved: entry ids %q:<id> are Adjust's and PayOut's", l.ID, l.ID)
	}
	if l.Date.IsZero() {
		p.Addf("date", "zero date")
	} else if err := checkInstant(l.Date); err != nil {
		p.Add("date", err)
	}
	if !l.ContractStart.IsZero() {
		if err := checkInstant(l.ContractStart); err != nil {
			p.Add("contract_start", err)
		}
	}
	if sv := l.Service; !sv.Start.IsZero() || !sv.End.IsZero() {
		// An empty period [t, t) is a service delivered at an instant: an
		// invoice's one-time line (an onboarding fee) has one.
		if err := sv.Validate(); err != nil {
			p.Add("service", err)
		}
		// Every entry of the line carries it.
		if err := checkInstant(sv.Start); err != nil {
			p.Add("service.start", err)
		}
		if err := checkInstant(sv.End); err != nil {
			p.Add("service.end", err)
		}
	}
	if l.Amount.Currency().IsZero() {
		p.Addf("amount", "no currency")
	} else if !l.Amount.IsRounded() {
		p.Add("amount", ensemble.ErrNotMinorUnits)
	} else if _, err := keptUnits(l.Amount); err != nil {
		p.Add("amount", err)
	}
	if !l.Tax.IsZero() && l.Tax.Currency() != l.Amount.Currency() {
		p.Addf("tax", "currency %s differs from the amount's %s", l.Tax.Currency(), l.Amount.Currency())
	} else if !l.Tax.IsRounded() {
		p.Add("tax", ensemble.ErrNotMinorUnits)
	} else if _, err := keptUnits(l.Tax); err != nil {
		p.Add("tax", err)
	}
	if l.Credits == "" {
		if l.Amount.IsNegative() {
			p.Addf("amount", "negative amount on a line that credits nothing")
		}
		if l.Tax.IsNegative() {
			p.Addf("tax", "negative tax %s on a line that credits nothing", l.Tax)
		}
		switch k := impliedKind(&l.Route); {
		case l.Route.Kind != partner.RouteUnspecified && !l.Route.Kind.Valid():
			p.Addf("route.kind", "unspecified route kind")
		case l.Route.Kind != partner.RouteUnspecified:
		case k == partner.RouteUnspecified:
			p.Addf("route.kind", "unspecified route kind: the route names no party; a sale the platform made itself is %s",
				partner.RouteDirect)
		default:
			p.Addf("route.kind", "unspecified route kind: its parties make it %s (FromInvoice gives an order's route that kind, "+
				"as package order does a draft's)", k)
		}
		if l.Offer.Offer == "" {
			p.Addf("offer.offer", "empty offer id")
		}
		if !l.Bearer.IsZero() {
			p.Addf("bearer", "a line that credits nothing has no bearer")
		}
		if l.Dispute != DisputeUnstated {
			p.Addf("dispute", "a line that credits nothing documents no dispute")
		}
		l.validateDiscounts(&p)
		l.validateRecouped(&p)
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
		l.validateDiscounts(&p)
		switch {
		case l.Dispute > DisputeSeparate:
			p.Addf("dispute", "unknown dispute link %d", l.Dispute)
		case l.Dispute == DisputeDocuments && !l.Bearer.IsZero():
			p.Addf("bearer", "a credit documenting a lost dispute reverses nothing, so nobody bears it (the dispute's outcome named its bearer)")
		}
	}
	// The route's rules are partner.Route's, which an order follows too:
	// the seller first in its chain, no partner twice in the chain or
	// among the co-sellers (a party appears once on a route), no negative
	// weight.
	if err := l.Route.Validate(); err != nil {
		var ve *ensemble.ValidationError
		if !errors.As(err, &ve) {
			p.Add("route", err)
		} else {
			for _, fe := range ve.Problems {
				p.Add(ensemble.Path("route", fe.Path), fe.Err)
			}
		}
	}
	// Route partners name entries (chain[*] and co_sellers pay
	// "<line>:<node>/<partner>"), so they hold no '#', which starts an
	// entry id's suffix.
	if l.Route.Seller != "" && len(l.Route.Chain) == 0 {
		if err := ensemble.CheckID(string(l.Route.Seller), ensemble.EntrySeparators); err != nil {
			p.Add(ensemble.Path("route", "seller"), err)
		}
	}
	for i, id := range l.Route.Chain {
		if err := ensemble.CheckID(string(id), ensemble.EntrySeparators); err != nil && id != "" {
			p.Add(ensemble.Path("route", "chain", i), err)
		}
	}
	for i, c := range l.Route.CoSellers {
		if err := ensemble.CheckID(string(c.Partner), ensemble.EntrySeparators); err != nil && c.Partner != "" {
			p.Add(ensemble.Path("route", "co_sellers", i, "partner"), err)
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
		} else if _, err := keptUnits(c.Cost); err != nil {
			p.Add(ensemble.Path("supplier_costs", i, "cost"), err)
		} else if !c.Cost.IsZero() && c.Cost.Currency() != l.Amount.Currency() {
			p.Add(ensemble.Path("supplier_costs", i, "cost"), ErrCurrency)
		}
		if err := checkSource(&c, l.Amount.Currency()); err != nil {
			p.Add(ensemble.Path("supplier_costs", i, "source"), err)
		}
	}
	if len(l.Attributes) > 0 {
		l.validateAttributes(&p)
	}
	if p.Len() == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidLine, p.Err(fmt.Sprintf("line %q", string(l.ID))))
}

// Bounds of a line's attributes (Line.Attributes).
const (
	// MaxLineAttributes is how many attributes a line holds at most.
	MaxLineAttributes = 32
	// MaxAttributeKey is the longest key of a line attribute, in bytes.
	MaxAttributeKey = 64
	// MaxAttributeValue is the longest value of a line attribute, in
	// bytes.
	MaxAttributeValue = 256
)

// validateAttributes checks the line's attributes (Line.Attributes): at
// most MaxLineAttributes, keys and values non-empty, bounded, valid UTF-8
// without control characters. Each problem is an *AttributeError at
// attributes["<key>"], in key order.
func (l *Line) validateAttributes(p *ensemble.Problems) {
	if len(l.Attributes) > MaxLineAttributes {
		p.Add("attributes", fmt.Errorf("%w: %d attributes, more than the %d a line holds (MaxLineAttributes)",
			ErrLineAttribute, len(l.Attributes), MaxLineAttributes))
		return
	}
	var bad []*AttributeError
	for k, v := range l.Attributes {
		var why string
		switch {
		case k == "":
			why = "empty key"
		case len(k) > MaxAttributeKey:
			why = fmt.Sprintf("key of %d bytes, longer than %d (MaxAttributeKey)", len(k), MaxAttributeKey)
		case !plainText(k):
			why = "key is not valid UTF-8 without control characters"
		case v == "":
			why = "empty value: leave out an attribute the sale does not have"
		case len(v) > MaxAttributeValue:
			why = fmt.Sprintf("value of %d bytes, longer than %d (MaxAttributeValue)", len(v), MaxAttributeValue)
		case !plainText(v):
			why = fmt.Sprintf("value %q is not valid UTF-8 without control characters", v)
		default:
			continue
		}
		bad = append(bad, &AttributeError{Key: k, Problem: why})
	}
	slices.SortFunc(bad, func(a, b *AttributeError) int { return strings.Compare(a.Key, b.Key) })
	for _, e := range bad {
		p.Add(fmt.Sprintf("attributes[%q]", e.Key), e)
	}
}

// plainText reports whether s is valid UTF-8 holding no control
// character (C0, DEL, C1).
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Hand-filled chains. A route's Chain is the one captured when the sale
// was made (package order fills it from the network then), so it may
// differ from the network's at the line's date (a partner moved) and is
// settled as given; but a link of it the network's partner types cannot
// form is a data error that would pay the wrong parties without a word:
// the levels a plan finds by type (distributor, reseller) would find
// nobody, and their shares go to the nodes after them. (A referral
// partner named as a sub-reseller's parent paid the distributor's and the
// reseller's shares to the seller.)

// typeRule is what types a partner of one type may have above it in a
// chain: its parents' types (Network.ParentTypesOf), declared
// (NetworkSpec.ParentTypes) or, when the network declares none for the
// type, those its terms give partners of the type. checked is false for a
// type the network neither declares nor gives any partner of a parent:
// its partners' parents may be kept outside the network (on the routes),
// so nothing is known of them.
type typeRule struct {
	types    []partner.Type
	declared bool
	checked  bool
}

// chainTypes returns every partner's type in net, and the typeRule of
// each type.
func chainTypes(net *partner.Network) (map[partner.ID]partner.Type, map[partner.Type]typeRule) {
	spec := net.Spec()
	types := make(map[partner.ID]partner.Type, len(spec.Partners))
	rules := map[partner.Type]typeRule{}
	for _, p := range spec.Partners {
		types[p.ID] = p.Type
		if _, ok := rules[p.Type]; !ok {
			ts, declared := net.ParentTypesOf(p.Type)
			rules[p.Type] = typeRule{types: ts, declared: declared, checked: declared || len(ts) > 0}
		}
	}
	return types, rules
}

// badLink is a link of a route's chain the network's types cannot form:
// the level of the parent, and why.
type badLink struct {
	level int
	err   *partner.ParentTypeError
}

// chainLinks returns the links of chain ch the network's partner types
// cannot form (nil: none): a partner under a parent of a type that
// NetworkSpec.ParentTypes does not allow for the partner's type, or, for
// a type it does not list, of a type no partner of that type has had as
// a parent in the network's terms, at any instant (a referral partner
// above a sub-reseller whose partners all have resellers above them).
// Such a link is in no chain the network ever held, however partners
// moved since (a chain captured from it names the parents a partner had
// then, of types its terms record). A type that is not declared and whose
// partners the network gives no parent is not checked (their parents may
// be kept on the routes alone); partners it does not hold are left to the
// route's resolution (partner.ErrUnknownPartner).
func (s *Settler) chainLinks(ch []partner.ID) []badLink {
	if s.types == nil {
		return nil
	}
	var out []badLink
	for i := 1; i < len(ch); i++ {
		ct, ok := s.types[ch[i-1]]
		if !ok {
			continue
		}
		pt, ok := s.types[ch[i]]
		if !ok {
			continue
		}
		r := s.parentTypes[ct]
		if !r.checked || slices.Contains(r.types, pt) {
			continue
		}
		out = append(out, badLink{level: i, err: &partner.ParentTypeError{Child: ch[i-1], ChildType: ct, Parent: ch[i], ParentType: pt,
			Allowed: slices.Clone(r.types), Observed: !r.declared}})
	}
	return out
}

// chainLinkError is the error of sale l whose chain has the links bad:
// ErrInvalidLine, each link a problem at route.chain[i] wrapping its
// *partner.ParentTypeError (partner.ErrParentType).
func chainLinkError(l *Line, bad []badLink) error {
	var p ensemble.Problems
	for _, b := range bad {
		p.Add(ensemble.Path("route", "chain", b.level), fmt.Errorf("the network's types put no %q under %q: %w "+
			"(a route's chain names the parents its seller had when the sale was made)", b.err.Parent, b.err.Child, b.err))
	}
	return fmt.Errorf("%w: %w", ErrInvalidLine, p.Err(fmt.Sprintf("line %q", string(l.ID))))
}

// Discount is a discount the invoice took off a sale line (see
// Line.Discounts and PlanDocument.DiscountFunding).
type Discount struct {
	// ID names the discount as the invoice does (invoice.DiscountID:
	// the subscription's discount id, "partner" for an item's partner
	// discount, "line" for a segment's).
	ID string `json:"id"`
	// Amount is what it took off the line, in the line's currency: zero
	// or positive.
	Amount ensemble.Money `json:"amount"`
}

// validateRecouped checks what a sale line bills back of discounts
// (Line.Recouped): named, each once, in the line's currency, in minor
// units, not negative, adding up to at most the line's amount, on a line
// that lists no discounts.
func (l *Line) validateRecouped(p *ensemble.Problems) {
	if len(l.Recouped) == 0 {
		return
	}
	if len(l.Discounts) > 0 {
		p.Addf("recouped", "a line that bills back discounts (a true-up) is not discounted: it lists no discounts")
	}
	var sum int64
	ok := true
	for i, d := range l.Recouped {
		at := ensemble.Path("recouped", i)
		if d.ID == "" {
			p.Addf(at+".id", "empty discount id")
		} else if slices.ContainsFunc(l.Recouped[:i], func(e Discount) bool { return e.ID == d.ID }) {
			p.Addf(at+".id", "discount %q listed twice", d.ID)
		}
		switch {
		case d.Amount.Currency() != l.Amount.Currency():
			p.Addf(at+".amount", "currency %s differs from the amount's %s", d.Amount.Currency(), l.Amount.Currency())
			ok = false
		case !d.Amount.IsRounded():
			p.Add(at+".amount", ensemble.ErrNotMinorUnits)
			ok = false
		case d.Amount.IsNegative():
			p.Addf(at+".amount", "negative %s billed back on a sale", d.Amount)
			ok = false
		default:
			u, err := keptUnits(d.Amount)
			if err != nil || sum > math.MaxInt64-u {
				p.Addf(at+".amount", "%s out of range", d.Amount)
				ok = false
			} else {
				sum += u
			}
		}
	}
	if amt, err := keptUnits(l.Amount); ok && err == nil && sum > amt {
		p.Addf("recouped", "bills back %s of discounts, more than the line's %s", ensemble.MoneyFromMinor(sum, l.Amount.Currency()), l.Amount)
	}
}

// validateDiscounts checks a line's discounts: named, each once, in the
// line's currency, in minor units, and on a sale not negative (a credit's
// are what it gives back, negative; one it does not give back, positive,
// makes it reverse the line in proportion, see creditSplit).
func (l *Line) validateDiscounts(p *ensemble.Problems) {
	for i, d := range l.Discounts {
		at := ensemble.Path("discounts", i)
		if d.ID == "" {
			p.Addf(at+".id", "empty discount id")
		} else if slices.ContainsFunc(l.Discounts[:i], func(e Discount) bool { return e.ID == d.ID }) {
			p.Addf(at+".id", "discount %q listed twice", d.ID)
		}
		switch {
		case d.Amount.Currency() != l.Amount.Currency():
			p.Addf(at+".amount", "currency %s differs from the amount's %s", d.Amount.Currency(), l.Amount.Currency())
		case !d.Amount.IsRounded():
			p.Add(at+".amount", ensemble.ErrNotMinorUnits)
		case d.Amount.IsNegative() && l.Credits == "":
			p.Addf(at+".amount", "negative discount %s on a sale", d.Amount)
		default:
			if _, err := keptUnits(d.Amount); err != nil {
				p.Add(at+".amount", err)
			}
		}
	}
}
