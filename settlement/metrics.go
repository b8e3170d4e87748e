package settlement

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
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

// Metrics are the ecosystem figures of one currency, computed from the
// entries of lines (earnings, supplier costs and clawbacks; reserves,
// holds, releases, adjustments and payouts move no value between parties
// and are left out).
type Metrics struct {
	Currency ensemble.Currency `json:"currency"`
	// GrossValue is the value of every line settled, net of credits.
	GrossValue ensemble.Money `json:"gross_value"`
	// PlatformRevenue is what the platform kept.
	PlatformRevenue ensemble.Money `json:"platform_revenue"`
	SupplierCosts   ensemble.Money `json:"supplier_costs"`
	PartnerEarnings ensemble.Money `json:"partner_earnings"`
	// TakeRate is PlatformRevenue / GrossValue (zero when nothing sold).
	TakeRate ensemble.Ratio `json:"take_rate"`
	// ByParty is each party's net earnings, sorted by party.
	ByParty []Amount `json:"by_party"`
	// BySeller and ByOffer are the platform's margin on the lines each
	// seller sold ("direct" for none) and on each offer, sorted by key.
	BySeller []Margin `json:"by_seller"`
	ByOffer  []Margin `json:"by_offer"`
	// ByRoute is the gross value by route kind, sorted by kind name.
	ByRoute []Amount `json:"by_route"`
}

// ComputeMetrics computes the metrics of entries dated in period, one per
// currency, sorted by currency code. platform is the platform's party id
// (DefaultPlatform when empty).
func ComputeMetrics(entries []Entry, period ensemble.Period, platform partner.ID) ([]Metrics, error) {
	if platform == "" {
		platform = DefaultPlatform
	}
	type cur struct {
		gross, plat, supp, partners int64
		party                       map[string]int64
		seller, offer               map[string][2]int64
		route                       map[string]int64
	}
	byCur := map[ensemble.Currency]*cur{}
	for i := range entries {
		e := &entries[i]
		if !period.Contains(e.Date) {
			continue
		}
		if e.Kind != KindEarning && e.Kind != KindSupplierCost && e.Kind != KindClawback {
			continue
		}
		u, err := e.Amount.MinorUnits()
		if err != nil {
			return nil, fmt.Errorf("settlement: metrics: entry %q: %w", e.ID, err)
		}
		c := byCur[e.Amount.Currency()]
		if c == nil {
			c = &cur{party: map[string]int64{}, seller: map[string][2]int64{}, offer: map[string][2]int64{}, route: map[string]int64{}}
			byCur[e.Amount.Currency()] = c
		}
		isPlat := e.Party == platform
		c.gross += u
		switch {
		case isPlat:
			c.plat += u
		case e.Kind == KindSupplierCost || (e.Kind == KindClawback && e.Role == "supplier"):
			c.supp += u
		default:
			c.partners += u
		}
		c.party[string(e.Party)] += u
		seller := string(e.Seller)
		if seller == "" {
			seller = "direct"
		}
		add := func(m map[string][2]int64, k string) {
			v := m[k]
			v[0] += u
			if isPlat {
				v[1] += u
			}
			m[k] = v
		}
		add(c.seller, seller)
		add(c.offer, string(e.Offer.Offer))
		c.route[e.Route.String()] += u
	}
	var out []Metrics
	for _, k := range slices.SortedFunc(maps.Keys(byCur), func(a, b ensemble.Currency) int { return cmp.Compare(a.Code(), b.Code()) }) {
		c := byCur[k]
		m := func(u int64) ensemble.Money { return ensemble.MoneyFromMinor(u, k) }
		mt := Metrics{Currency: k, GrossValue: m(c.gross), PlatformRevenue: m(c.plat), SupplierCosts: m(c.supp), PartnerEarnings: m(c.partners)}
		if c.gross != 0 {
			r, err := ensemble.NewRatio(c.plat, c.gross)
			if err != nil {
				return nil, err
			}
			mt.TakeRate = r
		}
		for _, p := range slices.Sorted(maps.Keys(c.party)) {
			mt.ByParty = append(mt.ByParty, Amount{Key: p, Amount: m(c.party[p])})
		}
		for _, s := range slices.Sorted(maps.Keys(c.seller)) {
			mt.BySeller = append(mt.BySeller, Margin{Key: s, Gross: m(c.seller[s][0]), Platform: m(c.seller[s][1])})
		}
		for _, o := range slices.Sorted(maps.Keys(c.offer)) {
			mt.ByOffer = append(mt.ByOffer, Margin{Key: o, Gross: m(c.offer[o][0]), Platform: m(c.offer[o][1])})
		}
		for _, r := range slices.Sorted(maps.Keys(c.route)) {
			mt.ByRoute = append(mt.ByRoute, Amount{Key: r, Amount: m(c.route[r])})
		}
		out = append(out, mt)
	}
	return out, nil
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
// positive net of earnings and clawbacks in before and in after.
func PartnerRetention(entries []Entry, before, after ensemble.Period, platform partner.ID) Retention {
	if platform == "" {
		platform = DefaultPlatform
	}
	earners := func(p ensemble.Period) map[partner.ID]bool {
		net := map[partner.ID]map[ensemble.Currency]int64{}
		for i := range entries {
			e := &entries[i]
			if e.Party == platform || !p.Contains(e.Date) || (e.Kind != KindEarning && e.Kind != KindClawback && e.Kind != KindSupplierCost) {
				continue
			}
			u, err := e.Amount.MinorUnits()
			if err != nil {
				continue
			}
			if net[e.Party] == nil {
				net[e.Party] = map[ensemble.Currency]int64{}
			}
			net[e.Party][e.Amount.Currency()] += u
		}
		out := map[partner.ID]bool{}
		for id, m := range net {
			for _, u := range m {
				if u > 0 {
					out[id] = true
				}
			}
		}
		return out
	}
	a, b := earners(before), earners(after)
	r := Retention{Before: len(a)}
	for _, id := range slices.Sorted(maps.Keys(a)) {
		if b[id] {
			r.Retained++
		} else {
			r.Lost = append(r.Lost, id)
		}
	}
	if r.Before > 0 {
		r.Rate, _ = ensemble.NewRatio(int64(r.Retained), int64(r.Before))
	}
	return r
}
