package settlement

import (
	"cmp"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/partner"
)

// Amount is an amount keyed by a name (a party, an offer, a route kind).
type Amount struct {
	Key    string         `json:"key"`
	Amount ensemble.Money `json:"amount"`
}

// Margin is what a group of lines was worth and what the platform kept.
type Margin struct {
	Key      string         `json:"key"`
	Gross    ensemble.Money `json:"gross"`
	Platform ensemble.Money `json:"platform"`
}

// Metrics are the ecosystem figures of one currency, computed from
// entries: earnings, supplier costs and clawbacks, which split what lines
// were worth, and adjustments, which the platform pays or takes back, and
// fees (KindFee), which the platform charges a party for what it paid,
// and the true-ups of retroactive tiers (KindTrueUp), which move value
// between the parties of their line and add none to GrossValue.
// Reserves, holds, releases and payouts move no value between parties and
// are left out.
//
// Each entry counts in one bucket, and a clawback in the bucket of what it
// reverses, at what it moves of its line in the line's currency
// (Entry.LineAmount; ByParty, like statements, counts what the party is
// paid, in the currency it is paid in): supplier costs and their clawbacks (nodes under
// supplier_costs) in SupplierCosts; the platform's entries in
// PlatformRevenue; everything else, whatever the party's partner type, in
// PartnerEarnings. So GrossValue = PlatformRevenue + SupplierCosts +
// PartnerEarnings, and ByParty holds each party's net as its statements
// fold it (Earned + Reversed + Adjusted).
type Metrics struct {
	Currency ensemble.Currency `json:"currency"`
	// GrossValue is the value of every line settled, net of credits.
	GrossValue ensemble.Money `json:"gross_value"`
	// PlatformRevenue is what the platform kept: its earnings and
	// clawbacks, less the adjustments it paid other parties (plus those
	// it took back and the fees it charged them). An adjustment or fee
	// of the platform itself moves nothing between parties and is only in
	// ByParty.
	PlatformRevenue ensemble.Money `json:"platform_revenue"`
	SupplierCosts   ensemble.Money `json:"supplier_costs"`
	PartnerEarnings ensemble.Money `json:"partner_earnings"`
	// TakeRate is PlatformRevenue / GrossValue (zero when nothing sold),
	// exact: it reads "716/1275" when it does not terminate. To show it,
	// round it: TakeRate.Decimal(4, ensemble.RoundHalfEven) is 0.5616
	// (56.16%).
	TakeRate ensemble.Ratio `json:"take_rate"`
	// ByParty is each party's net earnings, sorted by party.
	ByParty []Amount `json:"by_party"`
	// BySeller and ByOffer are the platform's margin on the lines each
	// seller sold (for lines without a seller, their route kind:
	// "direct", "referral", "marketplace") and on each offer, sorted by
	// key.
	// Adjustments and fees belong to no sale and are not in them.
	BySeller []Margin `json:"by_seller"`
	ByOffer  []Margin `json:"by_offer"`
	// ByRoute is the gross value by route kind, sorted by kind name.
	ByRoute []Amount `json:"by_route"`
}

// ComputeMetrics computes the metrics of entries dated in period, one per
// currency, sorted by currency code. platform is the platform's party id
// (DefaultPlatform when empty). Sums beyond the int64 range of minor units
// are exact (math/big). Errors: a period that is zero or invalid (as
// Statements refuses it: a zero one would count nothing, silently), an
// entry id given twice (*DuplicateEntryError, ErrDuplicateEntry), an
// amount that is not whole minor units (ensemble.ErrNotMinorUnits, naming
// the entry).
func ComputeMetrics(entries []Entry, period ensemble.Period, platform partner.ID) ([]Metrics, error) {
	if err := period.Validate(); err != nil {
		return nil, fmt.Errorf("settlement: metrics: period: %w", err)
	}
	if platform == "" {
		platform = DefaultPlatform
	}
	if err := duplicateEntryAt(entries); err != nil {
		return nil, fmt.Errorf("settlement: metrics: %w", err)
	}
	type cur struct {
		gross, plat, supp, partners sum
		party                       map[string]*sum
		seller, offer               map[string]*[2]sum
		route                       map[string]*sum
	}
	byCur := map[ensemble.Currency]*cur{}
	var t tally
	for i := range entries {
		e := &entries[i]
		if !period.Contains(e.Date) {
			continue
		}
		if !valueMoving(e.Kind) {
			continue
		}
		// A party is paid Amount; the line's value moves in its own
		// currency (a supplier cost owed in another one: LineAmount).
		name := func() string { return fmt.Sprintf("entry %q", e.ID) }
		paid, v := t.units(e.Amount, name), e.LineAmount()
		u := paid
		if v.Currency() != e.Amount.Currency() {
			u = t.units(v, name)
		}
		if t.err != nil {
			return nil, fmt.Errorf("settlement: metrics: %w", t.err)
		}
		of := func(k ensemble.Currency) *cur {
			c := byCur[k]
			if c == nil {
				c = &cur{party: map[string]*sum{}, seller: map[string]*[2]sum{}, offer: map[string]*[2]sum{}, route: map[string]*sum{}}
				byCur[k] = c
			}
			return c
		}
		isPlat := e.Party == platform
		at(of(e.Amount.Currency()).party, string(e.Party)).plus(paid)
		c := of(v.Currency())
		if e.Kind == KindAdjustment || e.Kind == KindFee {
			// The platform pays a party's adjustment, and is paid a fee
			// it charges a party (it paid the fee itself): value moves
			// between the platform and the party, and no sale is worth
			// more.
			if !isPlat {
				c.partners.plus(u)
				c.plat.minus(u)
			}
			continue
		}
		if e.Kind == KindTrueUp {
			// A true-up moves value from the party funding it to the
			// party of the retroactive share, within the line: no sale is
			// worth more.
			if !isPlat {
				c.partners.plus(u)
				continue
			}
			c.plat.plus(u)
			seller := string(e.Seller)
			if seller == "" {
				seller = e.Route.String()
			}
			at(c.seller, seller)[1].plus(u)
			at(c.offer, string(e.Offer.Offer))[1].plus(u)
			continue
		}
		c.gross.plus(u)
		switch {
		case isPlat:
			c.plat.plus(u)
		case e.Kind == KindSupplierCost || reversesSupplierCost(e):
			c.supp.plus(u)
		default:
			c.partners.plus(u)
		}
		seller := string(e.Seller)
		if seller == "" {
			seller = e.Route.String() // no seller: "direct", "referral", "marketplace"
		}
		for _, v := range []*[2]sum{at(c.seller, seller), at(c.offer, string(e.Offer.Offer))} {
			v[0].plus(u)
			if isPlat {
				v[1].plus(u)
			}
		}
		at(c.route, e.Route.String()).plus(u)
	}
	var out []Metrics
	for _, k := range slices.SortedFunc(maps.Keys(byCur), func(a, b ensemble.Currency) int { return cmp.Compare(a.Code(), b.Code()) }) {
		c := byCur[k]
		m := func(u sum) ensemble.Money { return u.money(k) }
		mt := Metrics{Currency: k, GrossValue: m(c.gross), PlatformRevenue: m(c.plat), SupplierCosts: m(c.supp), PartnerEarnings: m(c.partners)}
		if c.gross.sign() != 0 {
			mt.TakeRate = ratio(c.plat, c.gross)
		}
		for _, p := range slices.Sorted(maps.Keys(c.party)) {
			mt.ByParty = append(mt.ByParty, Amount{Key: p, Amount: m(*c.party[p])})
		}
		for _, s := range slices.Sorted(maps.Keys(c.seller)) {
			mt.BySeller = append(mt.BySeller, Margin{Key: s, Gross: m(c.seller[s][0]), Platform: m(c.seller[s][1])})
		}
		for _, o := range slices.Sorted(maps.Keys(c.offer)) {
			mt.ByOffer = append(mt.ByOffer, Margin{Key: o, Gross: m(c.offer[o][0]), Platform: m(c.offer[o][1])})
		}
		for _, r := range slices.Sorted(maps.Keys(c.route)) {
			mt.ByRoute = append(mt.ByRoute, Amount{Key: r, Amount: m(*c.route[r])})
		}
		out = append(out, mt)
	}
	return out, nil
}

// valueMoving reports whether entries of kind k move value between
// parties (so metrics count them): earnings, supplier costs, clawbacks,
// adjustments, fees and true-ups.
func valueMoving(k EntryKind) bool {
	return k == KindEarning || k == KindSupplierCost || k == KindClawback || k == KindAdjustment || k == KindFee || k == KindTrueUp
}

// reversesSupplierCost reports whether e is a clawback of a supplier cost,
// whose node (the part's, which a clawback keeps) is under supplier_costs.
func reversesSupplierCost(e *Entry) bool {
	return e.Kind == KindClawback && strings.HasPrefix(e.Node, string(supplierCosts)+"/")
}

// at returns the value of m at k, adding a zero one.
func at[V any](m map[string]*V, k string) *V {
	v := m[k]
	if v == nil {
		v = new(V)
		m[k] = v
	}
	return v
}

// DensityRow counts the partners of one type covering one territory.
type DensityRow struct {
	Type      partner.Type      `json:"type"`
	Territory partner.Territory `json:"territory"`
	Count     int               `json:"count"`
}

// Density counts the partners that can trade at t by type and by each
// territory they hold, sorted by type then territory.
func Density(net *partner.Network, t time.Time) []DensityRow {
	counts := map[[2]string]int{}
	for _, p := range net.Spec().Partners {
		sn, err := net.At(p.ID, t)
		if err != nil || !sn.CanTrade() {
			continue
		}
		for _, tr := range sn.Territories {
			counts[[2]string{string(sn.Type), string(tr)}]++
		}
		if len(sn.Territories) == 0 {
			counts[[2]string{string(sn.Type), ""}]++
		}
	}
	out := make([]DensityRow, 0, len(counts))
	for _, k := range slices.SortedFunc(maps.Keys(counts), func(a, b [2]string) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	}) {
		out = append(out, DensityRow{Type: partner.Type(k[0]), Territory: partner.Territory(k[1]), Count: counts[k]})
	}
	return out
}

// Retention is how many partners that earned in one period earned again in
// the next.
type Retention struct {
	Before   int            `json:"before"`
	Retained int            `json:"retained"`
	Rate     ensemble.Ratio `json:"rate"`
	// Lost are the partners that earned before and not after, sorted.
	Lost []partner.ID `json:"lost,omitempty"`
}

// PartnerRetention compares the parties (other than the platform) with a
// positive net in before and in after: earnings, supplier costs, clawbacks,
// adjustments, fees and true-ups, as their statements fold them. Sums
// beyond the int64 range of minor units are exact. An amount that is not
// whole minor units is an error (ensemble.ErrNotMinorUnits, naming the
// entry), never skipped, and so is an entry id given twice
// (*DuplicateEntryError), never counted twice.
func PartnerRetention(entries []Entry, before, after ensemble.Period, platform partner.ID) (Retention, error) {
	if platform == "" {
		platform = DefaultPlatform
	}
	if err := duplicateEntryAt(entries); err != nil {
		return Retention{}, fmt.Errorf("settlement: retention: %w", err)
	}
	var t tally
	earners := func(p ensemble.Period) map[partner.ID]bool {
		net := map[partner.ID]map[ensemble.Currency]*sum{}
		for i := range entries {
			e := &entries[i]
			if e.Party == platform || !p.Contains(e.Date) || !valueMoving(e.Kind) {
				continue
			}
			u := t.units(e.Amount, func() string { return fmt.Sprintf("entry %q", e.ID) })
			if net[e.Party] == nil {
				net[e.Party] = map[ensemble.Currency]*sum{}
			}
			s := net[e.Party][e.Amount.Currency()]
			if s == nil {
				s = &sum{}
				net[e.Party][e.Amount.Currency()] = s
			}
			s.plus(u)
		}
		out := map[partner.ID]bool{}
		for id, m := range net {
			for _, u := range m {
				if u.sign() > 0 {
					out[id] = true
				}
			}
		}
		return out
	}
	a, b := earners(before), earners(after)
	if t.err != nil {
		return Retention{}, fmt.Errorf("settlement: retention: %w", t.err)
	}
	r := Retention{Before: len(a)}
	for _, id := range slices.Sorted(maps.Keys(a)) {
		if b[id] {
			r.Retained++
		} else {
			r.Lost = append(r.Lost, id)
		}
	}
	if r.Before > 0 {
		r.Rate = ensemble.RatioFromRat(big.NewRat(int64(r.Retained), int64(r.Before)))
	}
	return r, nil
}
