package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/text/language"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Context is what an order is checked against: the catalog its lines pin
// and the governance (with its partner network) of the partners on its
// route. Pass it explicitly to Decide; commands that need neither (task
// updates, suspensions) accept the zero Context. Governance may be nil for
// a direct order.
//
// Context is not serialised: hosts persist the catalog and network documents
// themselves.
type Context struct {
	Catalog    *catalog.Catalog    `json:"-"`
	Governance *partner.Governance `json:"-"`
}

// maxDigits bounds a quantity's digits so hostile input cannot make
// arithmetic slow.
const maxDigits = ensemble.MaxAmountDigits

// checkID reports an id ensemble.CheckID refuses (empty, too long, white
// space, control characters, invalid UTF-8, a separator): order ids hold
// none of ensemble.RefSeparators, as an order's refs join on '/' and '@'
// and its ids become part of invoice line and payout entry ids (the root
// package doc's Ids section).
func checkID(kind, s string) error {
	if s == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidID, kind)
	}
	if err := ensemble.CheckID(s, ensemble.RefSeparators); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidID, kind, err)
	}
	return nil
}

// checkQuantity reports a quantity that is negative, too long, or (when
// positive is set) not above zero.
func checkQuantity(q decimal.Decimal, positive bool) error {
	switch {
	case q.Sign() < 0 || (positive && q.Sign() == 0):
		return fmt.Errorf("%w: quantity %s must be above zero", ErrQuantity, q)
	case len(q.Coefficient().String()) > maxDigits || q.Exponent() < -maxDigits || q.Exponent() > maxDigits:
		return fmt.Errorf("%w: quantity %s has too many digits", ErrInvalid, cut(q.String()))
	}
	return nil
}

func checkCountry(c string) error {
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return fmt.Errorf("%w: country %q is not an ISO 3166-1 alpha-2 code", ErrInvalid, cut(c))
	}
	r, err := language.ParseRegion(c)
	if err != nil || r.String() != c || !r.IsCountry() {
		return fmt.Errorf("%w: country %q is not an ISO 3166-1 alpha-2 code", ErrInvalid, c)
	}
	return nil
}

// checkRegion reports a region that is not an ISO 3166-2 subdivision code
// of country: the country, a hyphen and one to three letters or digits
// ("CA-ON", "US-CA", "DE-BY"). The region keys the tax table invoicing
// looks the customer's rule up in, so a region written as the province
// alone ("ON") would find no rule at the first run, after the contract
// was signed: it is refused at the draft, with the code to write.
func checkRegion(country, region string) error {
	if region == "" {
		return nil
	}
	sub, ok := strings.CutPrefix(region, country+"-")
	if ok && len(sub) >= 1 && len(sub) <= 3 && strings.IndexFunc(sub, notUpperAlnum) < 0 {
		return nil
	}
	var hint string
	switch {
	case region == country:
		hint = "a region names a subdivision: leave it empty for the whole country"
	case !ok && len(region) <= 3 && strings.IndexFunc(region, notUpperAlnum) < 0:
		hint = fmt.Sprintf("write %q", country+"-"+region)
	default:
		hint = country + "-, then one to three capital letters or digits, as in \"CA-ON\" or \"US-CA\""
	}
	return fmt.Errorf("%w: region %q is not an ISO 3166-2 subdivision code of %s (%s)", ErrInvalid, cut(region), country, hint)
}

func notUpperAlnum(r rune) bool { return (r < 'A' || r > 'Z') && (r < '0' || r > '9') }

// checkDraft validates a draft's structure (no catalog needed) and returns
// it normalised: kind derived, collections sorted, add-on quantities
// defaulted, instants in UTC, quote-only fields cleared. Paths index the
// draft as given.
func checkDraft(p *ensemble.Problems, d *Draft) Draft {
	c := d.Customer
	if err := checkID("customer id", string(c.ID)); err != nil {
		p.Add("customer.id", err)
	}
	if err := checkCountry(c.Country); err != nil {
		p.Add("customer.country", err)
	} else if err := checkRegion(c.Country, c.Region); err != nil {
		p.Add("customer.region", err)
	}
	if int(c.TaxStatus) >= len(taxStatusNames) {
		p.Add("customer.tax_status", fmt.Errorf("%w: tax status %d", ErrInvalid, c.TaxStatus))
	}
	if c.TaxStatus == ReverseCharge && c.TaxID == "" {
		p.Add("customer.tax_id", fmt.Errorf("%w: a reverse-charge customer needs a tax id", ErrRequired))
	}

	r := d.Route
	if !r.Kind.Valid() {
		p.Add("route.kind", fmt.Errorf("%w: route kind %d", ErrInvalid, r.Kind))
	} else if r.Kind != partner.RouteUnspecified && r.Kind != derivedKind(r) {
		p.Add("route.kind", fmt.Errorf("%w: route kind %s, but its parties make it %s", ErrInvalid, r.Kind, derivedKind(r)))
	}
	// The route's own rules (the seller first in its chain, a co-sold
	// route with a seller, no partner twice among the co-sellers nor the
	// seller among them, co-sell weights summing to one whole) are
	// partner.Route's, which a settlement line follows too.
	if err := r.Validate(); err != nil {
		var ve *ensemble.ValidationError
		if !errors.As(err, &ve) {
			p.Add("route", err)
		} else {
			for _, fe := range ve.Problems {
				p.Add(ensemble.Path("route", fe.Path), fmt.Errorf("%w: %w", routeCondition(fe.Err), fe.Err))
			}
		}
	}
	// And a party appears once across its roles: the seller, the
	// marketplace, the referrer and the co-sellers (partner.Route checks
	// the seller among its co-sellers).
	parties := map[partner.ID]string{}
	addParty := func(path string, id partner.ID) {
		if prev, dup := parties[id]; dup {
			p.Add(path, fmt.Errorf("%w: partner %q is also %s", ErrDuplicate, id, prev))
			return
		}
		parties[id] = path
	}
	for _, f := range []struct {
		path string
		id   partner.ID
	}{{"route.seller", r.Seller}, {"route.marketplace", r.Marketplace}, {"route.referrer", r.Referrer}} {
		if f.id != "" {
			addParty(f.path, f.id)
		}
	}
	for i, cs := range r.CoSellers {
		if prev, dup := parties[cs.Partner]; dup && prev != "route.seller" {
			p.Add(ensemble.Path("route", "co_sellers", i, "partner"), fmt.Errorf("%w: partner %q is also %s", ErrDuplicate, cs.Partner, prev))
		}
	}

	if len(d.Lines) == 0 {
		p.Add("lines", fmt.Errorf("%w: an order needs at least one line", ErrRequired))
	}
	seen := map[LineID]bool{}
	for i, l := range d.Lines {
		path := ensemble.Path("lines", i)
		if err := checkID("line id", string(l.ID)); err != nil {
			p.Add(path+".id", err)
		} else if seen[l.ID] {
			p.Add(path+".id", fmt.Errorf("%w: line %q", ErrDuplicate, l.ID))
		}
		seen[l.ID] = true
		checkPin(p, path+".pin", l.Pin)
		if err := checkQuantity(l.Quantity, true); err != nil {
			p.Add(path+".quantity", &LineError{Line: l.ID, Value: l.Quantity.String(), Err: err})
		}
		addOns := map[catalog.OfferID]bool{}
		for j, a := range l.AddOns {
			ap := ensemble.Path("lines", i, "add_ons", j)
			checkPin(p, ap+".pin", a.Pin)
			if addOns[a.Pin.Offer] {
				p.Add(ap+".pin.offer", fmt.Errorf("%w: add-on %q attached twice", ErrDuplicate, a.Pin.Offer))
			}
			addOns[a.Pin.Offer] = true
			if err := checkQuantity(a.Quantity, false); err != nil {
				p.Add(ap+".quantity", &LineError{Line: l.ID, Value: a.Quantity.String(), Err: err})
			}
		}
		checkDiscountRatio(p, path+".discount.ratio", l.ID, l.Discount.Ratio)
		checkDiscountEntries(p, path+".discount", l.ID, l.Discount)
		checkLineTerms(p, path+".terms", l.ID, l.Terms)
	}

	if d.Term.Length.Unit != ensemble.CadenceUnspecified || d.Term.Length.Count != 0 {
		if err := d.Term.Length.Validate(); err != nil {
			p.Add("term.length", fmt.Errorf("%w: %w", ErrInvalid, err))
		}
	} else if d.Term.EarlyTermination != nil {
		p.Add("term.length", &TermError{Field: "length", Err: fmt.Errorf("%w: a term with an early-termination fee needs a length", ErrRequired)})
	}
	checkFee(p, "term", "", d.Term.EarlyTermination)
	if d.Billing.TimeZone != "" {
		if _, err := time.LoadLocation(d.Billing.TimeZone); err != nil || strings.HasPrefix(d.Billing.TimeZone, "/") {
			p.Add("billing.time_zone", fmt.Errorf("%w: time zone %q", ErrInvalid, cut(d.Billing.TimeZone)))
		}
	}
	if d.Billing.Cadence.Unit != ensemble.CadenceUnspecified || d.Billing.Cadence.Count != 0 {
		if err := d.Billing.Cadence.Validate(); err != nil {
			p.Add("billing.cadence", fmt.Errorf("%w: %w", ErrInvalid, err))
		}
	}
	return normalise(d)
}

// checkLineTerms checks a line's own anchor and term: an anchor needs
// OwnAnchor, a term a valid length (a renewal alone is no term).
func checkLineTerms(p *ensemble.Problems, path string, line LineID, t LineTerms) {
	if !t.Anchor.IsZero() && !t.OwnAnchor {
		p.Add(path+".anchor", &LineError{Line: line, Value: t.Anchor.UTC().Format(time.RFC3339),
			Err: fmt.Errorf("%w: an anchor without own_anchor", ErrInvalid)})
	}
	if t.Term == (Term{}) {
		return
	}
	if t.Term.Length == (ensemble.Cadence{}) {
		p.Add(path+".term.length", &LineError{Line: line, Err: fmt.Errorf("%w: a term that renews or has an early-termination fee needs a length", ErrRequired)})
	} else if err := t.Term.Length.Validate(); err != nil {
		p.Add(path+".term.length", &LineError{Line: line, Value: t.Term.Length.String(), Err: fmt.Errorf("%w: %w", ErrInvalid, err)})
	}
	checkFee(p, path+".term", line, t.Term.EarlyTermination)
}

// checkFee checks an early-termination fee at path (the term's) for the
// order's term (line empty) or a line's: a fixed or declining fee has a
// positive amount and no percent, a remaining-value fee a percent in
// [0, 100%] (zero: all) and no amount, a periods fee valid periods
// (CheckTerminationPeriods) and neither; only a periods fee has periods or
// is capped at the remaining value. Whole minor units are checked once
// the quote knows the currency (checkFeeUnits).
func checkFee(p *ensemble.Problems, path string, line LineID, et *EarlyTermination) {
	if et == nil {
		return
	}
	bad := func(field string, err error, format string, args ...any) {
		p.Add(path+"."+field, &TermError{Line: line, Field: field, Value: fmt.Sprintf(format, args...), Err: err})
	}
	const f = "early_termination"
	switch et.Rule {
	case TerminationFixed, TerminationDeclining:
		switch {
		case !et.Amount.IsPositive():
			bad(f+".amount", ErrInvalid, "a %s fee needs a positive amount, not %s", et.Rule, et.Amount)
		case tooLong(et.Amount):
			bad(f+".amount", ErrInvalid, "%s has too many digits", et.Amount)
		}
		if !et.Percent.IsZero() {
			bad(f+".percent", ErrInvalid, "a %s fee takes no percent", et.Rule)
		}
	case TerminationRemaining:
		if !et.Amount.IsZero() {
			bad(f+".amount", ErrInvalid, "a remaining-value fee takes no amount, only a percent")
		}
		if et.Percent.Sign() < 0 || et.Percent.Cmp(ensemble.RatioFromInt(1)) > 0 {
			bad(f+".percent", ErrInvalid, "%s is outside (0, 100%%]", et.Percent)
		}
	case TerminationPeriods:
		if !et.Amount.IsZero() {
			bad(f+".amount", ErrInvalid, "a periods fee takes no amount, only periods")
		}
		if !et.Percent.IsZero() {
			bad(f+".percent", ErrInvalid, "a periods fee takes no percent")
		}
		if err := CheckTerminationPeriods(et.Periods); err != nil {
			p.Add(path+"."+f+".periods", &TermError{Line: line, Field: f + ".periods", Err: err})
		}
	default:
		bad(f+".rule", ErrInvalid, "%d", et.Rule)
	}
	if et.Rule != TerminationPeriods {
		if et.Periods != (ensemble.Cadence{}) {
			bad(f+".periods", ErrInvalid, "a %s fee takes no periods", et.Rule)
		}
		if et.CapAtRemaining {
			bad(f+".cap_at_remaining", ErrInvalid, "only a periods fee is capped at the remaining value")
		}
	}
}

// CheckTerminationPeriods checks the span a TerminationPeriods fee owes
// (EarlyTermination.Periods): a declared unit and a count in [1,
// MaxTerminationPeriods]; else an error wrapping ErrInvalid that says
// which. Package invoice checks a subscription's fee with it too.
func CheckTerminationPeriods(c ensemble.Cadence) error {
	if c.Unit == ensemble.CadenceUnspecified {
		return fmt.Errorf("%w: a periods fee needs periods with a unit (such as monthly)", ErrInvalid)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.Count < 1 || c.Count > MaxTerminationPeriods {
		return fmt.Errorf("%w: periods count %d is outside [1, %d]", ErrInvalid, c.Count, MaxTerminationPeriods)
	}
	return nil
}

// checkFeeUnits checks that a fee's amount is whole minor units of the
// order's currency (skipped when the currency is not an ISO 4217 code).
func (c *checker) checkFeeUnits(path string, line LineID, et *EarlyTermination, currency string) {
	if et == nil || et.Amount.IsZero() || tooLong(et.Amount) {
		return
	}
	cur, err := ensemble.ParseCurrency(currency)
	if err != nil {
		return
	}
	if !ensemble.MoneyFromDecimal(et.Amount, cur).IsRounded() {
		c.p.Add(path+".early_termination.amount", &TermError{Line: line, Field: "early_termination.amount",
			Value: et.Amount.String() + " is not whole minor units of " + currency, Err: ErrInvalid})
	}
}

// tooLong reports a decimal with more digits than arithmetic on it should
// take.
func tooLong(d decimal.Decimal) bool {
	return len(d.Coefficient().String()) > maxDigits || d.Exponent() < -maxDigits || d.Exponent() > maxDigits
}

func checkPin(p *ensemble.Problems, path string, pin catalog.Pin) {
	if pin.Offer == "" {
		p.Add(path+".offer", fmt.Errorf("%w: offer", ErrRequired))
	}
	if pin.Version < 0 {
		p.Add(path+".version", fmt.Errorf("%w: version %d is negative", ErrInvalid, pin.Version))
	}
}

func checkDiscountRatio(p *ensemble.Problems, path string, line LineID, r ensemble.Ratio) {
	if r.Sign() < 0 || r.Cmp(ensemble.RatioFromInt(1)) > 0 {
		p.Add(path, &LineError{Line: line, Value: r.String(), Err: fmt.Errorf("%w: discount outside [0, 1]", ErrInvalid)})
	}
}

// normalise returns a deep copy of d in canonical form.
func normalise(d *Draft) Draft {
	n := Draft{Customer: d.Customer, Route: d.Route, Term: d.Term, Billing: d.Billing, Currency: d.Currency}
	n.Term.EarlyTermination = cloneFee(d.Term.EarlyTermination)
	if n.Route.Kind == partner.RouteUnspecified {
		n.Route.Kind = derivedKind(n.Route)
	}
	n.Route.Chain = nil
	n.Route.CoSellers = slices.Clone(d.Route.CoSellers)
	slices.SortStableFunc(n.Route.CoSellers, func(a, b partner.CoSeller) int { return strings.Compare(string(a.Partner), string(b.Partner)) })
	if len(n.Route.CoSellers) == 0 {
		n.Route.CoSellers = nil
	}
	if !n.Billing.Anchor.IsZero() {
		n.Billing.Anchor = n.Billing.Anchor.UTC()
	}
	n.Lines = make([]Line, len(d.Lines))
	for i, l := range d.Lines {
		l.AddOns = cloneAddOns(l.AddOns)
		for j := range l.AddOns {
			if l.AddOns[j].Quantity.IsZero() {
				l.AddOns[j].Quantity = decimal.NewFromInt(1)
			}
		}
		sortAddOns(l.AddOns)
		l.Discount = Discount{Ratio: l.Discount.Ratio, Approval: cloneApproval(l.Discount.Approval), Charges: slices.Clone(l.Discount.Charges)}
		if !l.Terms.Anchor.IsZero() {
			l.Terms.Anchor = l.Terms.Anchor.UTC()
		}
		l.Terms.Term.EarlyTermination = cloneFee(l.Terms.Term.EarlyTermination)
		n.Lines[i] = l
	}
	slices.SortStableFunc(n.Lines, func(a, b Line) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return n
}

// cloneFee returns a copy of a fee, so a normalised draft shares nothing
// with the caller's.
func cloneFee(et *EarlyTermination) *EarlyTermination {
	if et == nil {
		return nil
	}
	c := *et
	return &c
}

func sortAddOns(as []AddOn) {
	slices.SortStableFunc(as, func(a, b AddOn) int { return strings.Compare(string(a.Pin.Offer), string(b.Pin.Offer)) })
}

// resolvePin pins the version in force at t when pin.Version is 0, and
// otherwise checks that the pinned version is in force at t.
func resolvePin(cat *catalog.Catalog, pin catalog.Pin, t time.Time) (catalog.Offer, error) {
	if pin.Version == 0 {
		o, err := cat.OfferAt(pin.Offer, t)
		return o, lookupErr(err, pin)
	}
	o, err := cat.Offer(pin)
	if err != nil {
		return catalog.Offer{}, lookupErr(err, pin)
	}
	if !o.InForce(t) {
		return catalog.Offer{}, fmt.Errorf("%w: %s at %s", ErrNotInForce, pin, t.Format(time.RFC3339))
	}
	return o, nil
}

func lookupErr(err error, pin catalog.Pin) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, catalog.ErrNotInForce):
		return fmt.Errorf("%w: %w", ErrNotInForce, err)
	case errors.Is(err, catalog.ErrNotFound):
		return fmt.Errorf("%w: offer %s: %w", ErrUnknown, pin, err)
	}
	return err
}

// catalogErr maps a catalog check error to the order condition it means.
func catalogErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, catalog.ErrNotAttachable):
		return fmt.Errorf("%w: %w", ErrNotAttachable, err)
	case errors.Is(err, catalog.ErrFractionalQuantity):
		return fmt.Errorf("%w: %w", ErrFractionalQuantity, err)
	case errors.Is(err, catalog.ErrQuantity), errors.Is(err, catalog.ErrNegativeQuantity):
		return fmt.Errorf("%w: %w", ErrQuantity, err)
	case errors.Is(err, catalog.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrUnknown, err)
	}
	return err
}

func partnerOffer(o *catalog.Offer) partner.Offer {
	return partner.Offer{ID: string(o.ID), Version: strconv.Itoa(o.Version), Category: o.Category, Attributes: o.Attributes}
}

func partnerCustomer(c Customer) partner.Customer {
	return partner.Customer{ID: string(c.ID), Country: partner.Territory(c.Country), Segment: c.Segment}
}

// checker runs the catalog and governance checks of one command, gathering
// every problem.
type checker struct {
	ctx   context.Context
	env   Context
	order *Order
	now   time.Time // the command's instant: a change may be dated before it
	p     ensemble.Problems
}

func (c *checker) line(path string, id LineID, value string, err error) {
	if err != nil {
		c.p.Add(path, &LineError{Order: c.order.ID, Line: id, Value: value, Err: err})
	}
}

// routeCondition is the order error a problem partner.Route.Validate
// reports comes under: ErrDuplicate for a partner named twice, ErrRequired
// for a missing one, ErrInvalid for the rest.
func routeCondition(err error) error {
	switch {
	case errors.Is(err, partner.ErrDuplicateParty):
		return ErrDuplicate
	case errors.Is(err, partner.ErrMissingParty):
		return ErrRequired
	}
	return ErrInvalid
}

// needGovernance reports whether the route names partners, which the
// governance must check.
func needGovernance(r partner.Route) bool {
	return r.Seller != "" || r.Marketplace != "" || r.Referrer != "" || len(r.CoSellers) > 0
}

// checkLine resolves and checks one line at t: the offer version in force,
// not an add-on, its quantity, its add-ons. It returns the line pinned, the
// offer and its currency.
//
// currency is the order's; empty, it is the currency of the line's offer
// (the first line of a quote sets the order's): each add-on must be priced
// in it.
func (c *checker) checkLine(path string, l Line, t time.Time, currency string) (Line, catalog.Offer, bool) {
	ok := true
	off, err := resolvePin(c.env.Catalog, l.Pin, t)
	if err != nil {
		c.line(path+".pin", l.ID, l.Pin.String(), err)
		return l, off, false
	}
	l.Pin = off.Pin()
	if off.Kind == catalog.AddOn {
		c.line(path+".pin", l.ID, l.Pin.String(), fmt.Errorf("%w: %s is an add-on, not sold on its own", ErrNotAttachable, l.Pin))
		ok = false
	}
	if err := c.env.Catalog.CheckQuantity(l.Pin, l.Quantity); err != nil {
		c.line(path+".quantity", l.ID, l.Quantity.String(), catalogErr(err))
		ok = false
	}
	l.AddOns = cloneAddOns(l.AddOns)
	for j, a := range l.AddOns {
		ap := path + "." + ensemble.Path("add_ons", j)
		ao, err := resolvePin(c.env.Catalog, a.Pin, t)
		if err != nil {
			c.line(ap+".pin", l.ID, a.Pin.String(), err)
			ok = false
			continue
		}
		l.AddOns[j].Pin = ao.Pin()
		cur := currency
		if cur == "" {
			cur = off.Currency
		}
		if _, err := c.pricedIn(&ao, cur); err != nil {
			if len(ao.Currencies) == 0 && cur == off.Currency {
				err = fmt.Errorf("%w: add-on %s in %s, line in %s", ErrCurrency, ao.Pin(), ao.Currency, off.Currency)
			} else {
				err = fmt.Errorf("%w: add-on: %w, the order in %s", ErrCurrency, err, cur)
			}
			c.line(ap+".pin", l.ID, "", err) // the error names the currencies
			ok = false
		}
		if err := c.env.Catalog.CheckAttach(l.AddOns[j].Pin, l.Pin, a.Quantity); err != nil {
			sub := ".pin"
			if errors.Is(err, catalog.ErrQuantity) || errors.Is(err, catalog.ErrFractionalQuantity) {
				sub = ".quantity"
			}
			c.line(ap+sub, l.ID, l.AddOns[j].Pin.String()+" x "+a.Quantity.String(), catalogErr(err))
			ok = false
		}
	}
	return l, off, ok
}

// checkSale asks the governance whether the route's selling partner, and
// each of its co-sellers (who share in the sale), may sell off to the
// customer at t.
func (c *checker) checkSale(path string, l Line, off *catalog.Offer, t time.Time) {
	seller := sellingPartner(c.order.Route)
	if seller == "" || c.env.Governance == nil {
		return
	}
	sellers := []partner.ID{seller}
	for _, co := range c.order.Route.CoSellers {
		// One that cannot trade is reported at its place in the route.
		if snap, err := c.env.Governance.Network().At(co.Partner, t); err == nil && snap.CanTrade() {
			sellers = append(sellers, co.Partner)
		}
	}
	for _, p := range sellers {
		d, err := c.env.Governance.CanSell(c.ctx, partner.Sale{Partner: p, Offer: partnerOffer(off), Customer: partnerCustomer(c.order.Customer), At: t})
		if err != nil {
			c.line(path, l.ID, string(p), governanceErr(err))
			continue
		}
		if !d.Allowed {
			msg := d.Reason
			if d.Rule != (ensemble.Ref{}) {
				msg += " (" + d.Rule.String() + ")"
			}
			c.line(path, l.ID, string(p), fmt.Errorf("%w: partner %q may not sell %s: %s", ErrCannotSell, p, off.Pin(), msg))
		}
	}
}

// checkDiscount decides the basis of a line's discount at t and returns
// the discount with it.
func (c *checker) checkDiscount(path string, l Line, off *catalog.Offer, t time.Time) Discount {
	d := Discount{Ratio: l.Discount.Ratio, Approval: cloneApproval(l.Discount.Approval), Charges: slices.Clone(l.Discount.Charges)}
	if d.Ratio.IsZero() {
		d.Approval, d.Charges = nil, nil
		return d
	}
	c.checkDiscountCharges(path+".charges", l, off, t)
	seller := sellingPartner(c.order.Route)
	if seller == "" {
		d.Basis = BasisPlatform
		return d
	}
	if c.env.Governance == nil {
		return d // reported once for the route
	}
	allow, rule, err := c.env.Governance.DiscountAllowance(c.ctx, seller, partnerOffer(off), partnerCustomer(c.order.Customer), t)
	if err != nil {
		c.line(path, l.ID, string(seller), governanceErr(err))
		return d
	}
	d.Allowance, d.AllowanceRule = allow, rule
	if d.Ratio.Cmp(ensemble.RatioFromDecimal(allow)) <= 0 {
		d.Basis = BasisAllowance
		return d
	}
	if err := approvalCovers(d.Approval, seller, off.ID, c.order.Customer.ID, d.Ratio, c.now); err != nil {
		c.line(path, l.ID, d.Ratio.String(), fmt.Errorf("%w: discount %s above the allowance %s of partner %q: %w",
			ErrDiscountNotApproved, d.Ratio.Percent(), ensemble.RatioFromDecimal(allow).Percent(), seller, err))
		return d
	}
	d.Basis = BasisApproval
	return d
}

// governanceErr maps an error of the governance (not a refusal): a
// cancelled or timed-out context stays what it is, an unknown partner is
// ErrUnknown, anything else (a rule that failed) is ErrCannotSell, since the
// sale could not be shown to be allowed.
func governanceErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, partner.ErrUnknownPartner):
		return fmt.Errorf("%w: %w", ErrUnknown, err)
	}
	return fmt.Errorf("%w: %w", ErrCannotSell, err)
}

// approvalCovers reports why an approval does not cover a discount of r
// on offer by seller for customer, in a command made at now, or nil when
// it does: approved, with its decision (who decided, when, and its audit
// events, as the governance's Submit and Decide leave it), decided by now
// (a change dated back may take an approval decided since), a price
// exception for that seller, offer and customer (when it names one), of at
// least r. (A request's expiry is a deadline for deciding it, which Decide
// enforces: an approval stays in force after it.)
func approvalCovers(a *partner.Approval, seller partner.ID, offer catalog.OfferID, customer CustomerID, r ensemble.Ratio, now time.Time) error {
	switch {
	case a == nil:
		return errors.New("no approval given")
	case a.Status != partner.ApprovalApproved:
		return fmt.Errorf("approval %q is %s", a.Request.ID, a.Status)
	case a.DecidedBy == "" || a.DecidedAt.IsZero() || a.Events < 1:
		return fmt.Errorf("approval %q carries no decision (decided_by, decided_at and its audit events): "+
			"give the approval the governance's Submit or Decide returned, as stored, never one from the party it favours", a.Request.ID)
	case now.Before(a.DecidedAt):
		return fmt.Errorf("approval %q was decided at %s, after the command, at %s", a.Request.ID, a.DecidedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case a.Request.Customer.ID != "" && a.Request.Customer.ID != string(customer):
		return fmt.Errorf("approval %q is for customer %q", a.Request.ID, a.Request.Customer.ID)
	case a.Request.Kind != partner.RequestPriceException:
		return fmt.Errorf("approval %q is a %s, not a price exception", a.Request.ID, a.Request.Kind)
	case a.Request.Partner != seller:
		return fmt.Errorf("approval %q is for partner %q", a.Request.ID, a.Request.Partner)
	case a.Request.Offer.ID != string(offer):
		return fmt.Errorf("approval %q is for offer %q", a.Request.ID, a.Request.Offer.ID)
	case ensemble.RatioFromDecimal(a.Request.Discount).Cmp(r) < 0:
		return fmt.Errorf("approval %q covers %s only", a.Request.ID, ensemble.RatioFromDecimal(a.Request.Discount).Percent())
	}
	return nil
}

// checkParties checks that every partner on the route exists and can trade
// at t, and returns the seller's chain then.
func (c *checker) checkParties(t time.Time) []partner.ID {
	r := c.order.Route
	if !needGovernance(r) {
		return nil
	}
	if c.env.Governance == nil {
		c.p.Add("route", fmt.Errorf("%w: route names partners but Context.Governance is nil", ErrMissingContext))
		return nil
	}
	net := c.env.Governance.Network()
	trade := func(path string, id partner.ID) {
		snap, err := net.At(id, t)
		if err != nil {
			c.p.Add(path, fmt.Errorf("%w: partner %q: %w", ErrUnknown, id, err))
			return
		}
		if !snap.CanTrade() {
			c.p.Add(path, fmt.Errorf("%w: partner %q is %s", ErrCannotSell, id, snap.Status))
		}
	}
	if r.Marketplace != "" && r.Seller != "" {
		trade("route.marketplace", r.Marketplace)
	}
	if r.Referrer != "" {
		trade("route.referrer", r.Referrer)
	}
	for i, cs := range r.CoSellers {
		trade(ensemble.Path("route", "co_sellers", i, "partner"), cs.Partner)
	}
	seller := sellingPartner(r)
	if seller == "" {
		return nil
	}
	chain, err := net.Chain(seller, t)
	if err != nil {
		path := "route.seller"
		if r.Seller == "" {
			path = "route.marketplace"
		}
		c.p.Add(path, fmt.Errorf("%w: partner %q: %w", ErrUnknown, seller, err))
		return nil
	}
	return chain
}

// needCatalog records a problem when the catalog is missing.
func (c *checker) needCatalog() bool {
	if c.env.Catalog == nil {
		c.p.Add("catalog", fmt.Errorf("%w: Context.Catalog is nil", ErrMissingContext))
		return false
	}
	return true
}

func cloneAddOns(as []AddOn) []AddOn {
	if len(as) == 0 {
		return nil
	}
	return slices.Clone(as)
}

// cloneDiscount returns a copy of d that shares nothing with it.
func cloneDiscount(d Discount) Discount {
	d.Approval = cloneApproval(d.Approval)
	d.Charges = slices.Clone(d.Charges)
	return d
}

func cloneApproval(a *partner.Approval) *partner.Approval {
	if a == nil {
		return nil
	}
	c := *a
	if c.Request.Offer.Attributes != nil {
		c.Request.Offer.Attributes = cloneMap(c.Request.Offer.Attributes)
	}
	if c.Request.Customer.Attributes != nil {
		c.Request.Customer.Attributes = cloneMap(c.Request.Customer.Attributes)
	}
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// checkDiscountEntries checks the charges a line's discount is limited to
// (Discount.Charges) as written: none empty or repeated, and none without
// a ratio.
func checkDiscountEntries(p *ensemble.Problems, path string, line LineID, d Discount) {
	if len(d.Charges) > 0 && d.Ratio.IsZero() {
		p.Add(path+".charges", &LineError{Line: line, Value: fmt.Sprint(d.Charges), Err: fmt.Errorf("%w: discount charges without a discount ratio", ErrInvalid)})
	}
	seen := make(map[catalog.ChargeID]bool, len(d.Charges))
	for m, c := range d.Charges {
		switch {
		case c == "":
			p.Add(ensemble.Path(path+".charges", m), &LineError{Line: line, Err: fmt.Errorf("%w: empty discount charge", ErrInvalid)})
		case seen[c]:
			p.Add(ensemble.Path(path+".charges", m), &LineError{Line: line, Value: string(c), Err: fmt.Errorf("%w: discount charge named twice", ErrDuplicate)})
		}
		seen[c] = true
	}
}

// checkDiscountCharges checks that each charge line l's discount is
// limited to (Discount.Charges) is a charge of its offer off, or of one of
// its add-ons in force at t (ErrDiscountCharge otherwise).
func (c *checker) checkDiscountCharges(path string, l Line, off *catalog.Offer, t time.Time) {
	if len(l.Discount.Charges) == 0 {
		return
	}
	held := map[catalog.ChargeID]bool{}
	var names []string
	add := func(o *catalog.Offer) {
		for _, ch := range o.Charges {
			if !held[ch.ID] {
				names = append(names, string(ch.ID))
			}
			held[ch.ID] = true
		}
	}
	add(off)
	for _, a := range l.AddOns {
		if ao, err := resolvePin(c.env.Catalog, a.Pin, t); err == nil {
			add(&ao)
		} // an unknown add-on is reported with the line
	}
	for m, ch := range l.Discount.Charges {
		if ch != "" && !held[ch] {
			c.line(ensemble.Path(path, m), l.ID, string(ch), fmt.Errorf("%w: discount charge %q is none of %s's or its add-ons' charges (%s)",
				ErrDiscountCharge, ch, off.Pin(), strings.Join(names, ", ")))
		}
	}
}

// pricedIn returns the key of currency (an order's, as a draft gives it or
// as the quote set it) when off is priced in it: its Currency or one of
// its further Currencies (a price book). Otherwise the catalog's
// *catalog.CurrencyError, naming the offer and its currencies.
func (c *checker) pricedIn(off *catalog.Offer, currency string) (string, error) {
	if off.Currency == currency {
		return currency, nil
	}
	cur, err := c.env.Catalog.PricedIn(off.Pin(), currency)
	if err != nil {
		return "", err
	}
	return cur.Key(), nil
}
