package settlement_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// conflicts summarises each *PlanConflictError of err, one line each:
// path, kind, versions, offers ("*" for any offer no plan lists), routes
// and dates.
func conflicts(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	var out []string
	for _, p := range ve.Problems {
		var ce *settlement.PlanConflictError
		require.ErrorAs(t, p, &ce, "%v", p)
		kind := "ambiguous"
		if errors.Is(ce, settlement.ErrShadowedPlan) {
			kind = "shadowed"
		} else {
			require.ErrorIs(t, ce, settlement.ErrAmbiguousPlan)
		}
		var vs, offers, routes []string
		for _, v := range ce.Plans {
			vs = append(vs, v.String())
		}
		for _, o := range ce.Offers {
			if o == "" {
				o = "*"
			}
			offers = append(offers, string(o))
		}
		if ce.Offers == nil && errors.Is(ce, settlement.ErrAmbiguousPlan) {
			offers = []string{"any"}
		}
		for _, k := range ce.Routes {
			routes = append(routes, k.String())
		}
		if len(routes) == 5 {
			routes = []string{"any"}
		}
		day := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Format(time.DateOnly)
		}
		s := strings.Join([]string{p.Path, kind, strings.Join(vs, ","), strings.Join(offers, ","), strings.Join(routes, ","),
			day(ce.From) + ".." + day(ce.Until)}, " ")
		out = append(out, strings.Join(strings.Fields(s), " "))
	}
	return out
}

// decodePlans reads a YAML list of plans without ParsePlans's checks, to
// give New what a host would build in code.
func decodePlans(t *testing.T, doc string) []settlement.PlanDocument {
	t.Helper()
	js, err := ensemble.YAMLToJSON([]byte(doc))
	require.NoError(t, err)
	var plans []settlement.PlanDocument
	require.NoError(t, json.Unmarshal(js, &plans))
	return plans
}

func TestPlanVersionConflicts(t *testing.T) {
	const root = `root: {id: root, party: platform}`
	tests := []struct {
		name  string
		plans string
		want  []string
	}{
		{"two plans for any line", `
- {id: a, version: 1, ` + root + `}
- {id: b, version: 1, ` + root + `}`,
			[]string{"plans[1] ambiguous a@1,b@1 any any .."}},
		{"one offer, overlapping dates", `
- {id: a, version: 1, offers: [o1], effective_until: 2026-07-01T00:00:00Z, ` + root + `}
- {id: b, version: 1, offers: [o1], effective_from: 2026-06-01T00:00:00Z, ` + root + `}`,
			[]string{"plans[1] ambiguous a@1,b@1 o1 any 2026-06-01..2026-07-01"}},
		{"common offer and route of longer lists", `
- {id: a, version: 1, offers: [o1, o2], routes: [partner, referral], ` + root + `}
- {id: b, version: 1, offers: [o2, o3], routes: [referral, direct], ` + root + `}`,
			[]string{"plans[1] ambiguous a@1,b@1 o2 referral .."}},
		{"the offer-specific plan wins", `
- {id: any, version: 1, ` + root + `}
- {id: cloud, version: 1, offers: [o1], ` + root + `}`, nil},
		{"the route-specific plan wins", `
- {id: any, version: 1, ` + root + `}
- {id: partner, version: 1, routes: [partner], ` + root + `}`, nil},
		{"an offer outranks a route", `
- {id: by-route, version: 1, routes: [partner], ` + root + `}
- {id: by-offer, version: 1, offers: [o1], ` + root + `}`, nil},
		{"different routes", `
- {id: a, version: 1, routes: [partner], ` + root + `}
- {id: b, version: 1, routes: [direct], ` + root + `}`, nil},
		{"one ends where the other starts", `
- {id: a, version: 1, effective_until: 2026-06-01T00:00:00Z, ` + root + `}
- {id: b, version: 1, effective_from: 2026-06-01T00:00:00Z, ` + root + `}`, nil},
		{"a newer version takes over from its date", `
- {id: a, version: 1, effective_from: 2026-01-01T00:00:00Z, ` + root + `}
- {id: a, version: 2, effective_from: 2026-06-01T00:00:00Z, ` + root + `}`, nil},
		{"a newer version for one offer leaves the others to the old one", `
- {id: a, version: 1, ` + root + `}
- {id: a, version: 2, offers: [o1], ` + root + `}`, nil},
		{"a mistyped effective_from hides the previous version", `
- {id: a, version: 1, effective_from: 2026-01-01T00:00:00Z, ` + root + `}
- {id: a, version: 2, effective_from: 2025-06-01T00:00:00Z, ` + root + `}`,
			[]string{"plans[0] shadowed a@1,a@2 2026-01-01.."}},
		{"two later versions hide one between them", `
- {id: a, version: 1, effective_from: 2026-01-01T00:00:00Z, effective_until: 2027-01-01T00:00:00Z, ` + root + `}
- {id: a, version: 3, effective_from: 2026-07-01T00:00:00Z, ` + root + `}
- {id: a, version: 2, effective_until: 2026-07-01T00:00:00Z, ` + root + `}`,
			[]string{"plans[0] shadowed a@1,a@2,a@3 2026-01-01..2027-01-01"}},
		{"a version for more offers hides one for fewer", `
- {id: a, version: 1, offers: [o1], ` + root + `}
- {id: a, version: 2, offers: [o1, o2], ` + root + `}`,
			[]string{"plans[0] shadowed a@1,a@2 .."}},
		{"ties grouped by the routes they cover", `
- {id: a, version: 1, ` + root + `}
- {id: b, version: 1, effective_until: 2026-02-01T00:00:00Z, ` + root + `}
- {id: c, version: 1, offers: [o1], routes: [partner], ` + root + `}`,
			[]string{
				"plans[1] ambiguous a@1,b@1 o1 direct,marketplace,referral,co_sell ..2026-02-01",
				"plans[1] ambiguous a@1,b@1 * any ..2026-02-01",
			}},
		{"a tie before the specific plan starts is for every offer", `
- {id: a, version: 1, ` + root + `}
- {id: b, version: 1, effective_until: 2026-02-01T00:00:00Z, ` + root + `}
- {id: c, version: 1, offers: [o1], effective_from: 2026-03-01T00:00:00Z, ` + root + `}`,
			[]string{"plans[1] ambiguous a@1,b@1 any any ..2026-02-01"}},
		{"each version of a plan named in its own span", `
- {id: a, version: 1, effective_until: 2026-06-01T00:00:00Z, ` + root + `}
- {id: a, version: 2, effective_from: 2026-06-01T00:00:00Z, ` + root + `}
- {id: b, version: 1, ` + root + `}`,
			[]string{"plans[2] ambiguous a@1,b@1 any any ..2026-06-01", "plans[2] ambiguous a@2,b@1 any any 2026-06-01.."}},
		{"three plans tie: every pair", `
- {id: c, version: 1, routes: [direct], ` + root + `}
- {id: b, version: 1, routes: [direct], ` + root + `}
- {id: a, version: 1, routes: [direct], ` + root + `}`,
			[]string{"plans[1] ambiguous b@1,c@1 any direct ..", "plans[2] ambiguous a@1,b@1 any direct ..", "plans[2] ambiguous a@1,c@1 any direct .."}},
		{"a specific plan ends a tie part of the time", `
- {id: a, version: 1, routes: [partner], ` + root + `}
- {id: b, version: 1, routes: [partner], effective_until: 2026-03-01T00:00:00Z, ` + root + `}
- {id: c, version: 1, offers: [o1], effective_from: 2026-02-01T00:00:00Z, ` + root + `}`,
			[]string{"plans[1] ambiguous a@1,b@1 o1 partner ..2026-02-01", "plans[1] ambiguous a@1,b@1 * partner ..2026-03-01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := settlement.ParsePlans([]byte(tc.plans))
			require.Equal(t, tc.want, conflicts(t, err), "%v", err)
			_, err = settlement.New(settlement.Config{Plans: decodePlans(t, tc.plans)})
			require.Equal(t, tc.want, conflicts(t, err), "New: %v", err)
		})
	}
}

func TestPlanConflictMessages(t *testing.T) {
	_, err := settlement.ParsePlans([]byte(`
- {id: std, version: 1, offers: [o1], routes: [partner, referral], effective_from: 2026-01-01T00:00:00Z, root: {id: root, party: platform}}
- {id: legacy, version: 4, offers: [o1, o2], routes: [referral, partner], effective_until: 2026-06-01T00:00:00Z, root: {id: root, party: platform}}
- {id: std, version: 2, offers: [o1], routes: [partner, referral], effective_from: 2025-01-01T00:00:00Z, root: {id: root, party: platform}}
`))
	require.ErrorIs(t, err, settlement.ErrAmbiguousPlan)
	require.ErrorIs(t, err, settlement.ErrShadowedPlan)
	require.EqualError(t, err, `plans: 2 problems: `+
		`plans[0]: settlement: plan "std" version 1 (in force from 2026-01-01 on) is never picked: higher version 2 applies to every line it matches; check the versions' effective_from and effective_until; `+
		`plans[2]: settlement: plans "legacy" version 4 and "std" version 2 are equally specific for lines of offer "o1" on routes partner and referral from 2025-01-01 until 2026-06-01, which could not be settled; narrow one plan's offers, routes or effective span`)

	_, err = settlement.New(settlement.Config{Plans: []settlement.PlanDocument{
		{ID: "b", Version: 1, EffectiveFrom: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC), Root: settlement.Node{ID: "root", Party: "platform"}},
		{ID: "a", Version: 1, Root: settlement.Node{ID: "root", Party: "platform"}},
	}})
	var ce *settlement.PlanConflictError
	require.ErrorAs(t, err, &ce)
	require.EqualError(t, ce, `settlement: plans "a" version 1 and "b" version 1 are equally specific for lines of any offer on any route from 2026-03-01T12:30:00Z on, which could not be settled; narrow one plan's offers, routes or effective span`)

	// Plans listing currencies tie only in the currencies both list; a
	// plan listing currencies beats one for any currency.
	_, err = settlement.ParsePlans([]byte(`
- {id: euro, version: 1, currencies: [EUR, USD], root: {id: root, party: platform}}
- {id: sterling, version: 1, currencies: [GBP, USD], root: {id: root, party: platform}}
- {id: rest, version: 1, root: {id: root, party: platform}}
`))
	require.ErrorAs(t, err, &ce)
	require.Equal(t, []ensemble.Currency{ensemble.MustCurrency("USD")}, ce.Currencies)
	require.EqualError(t, ce, `settlement: plans "euro" version 1 and "sterling" version 1 are equally specific for lines of any offer on any route in USD at any date, which could not be settled; narrow one plan's offers, routes, currencies or effective span`)
	plans, err := settlement.ParsePlans([]byte(`
- {id: euro, version: 1, currencies: [EUR, USD], root: {id: root, party: platform}}
- {id: rest, version: 1, root: {id: root, party: platform}}
`))
	require.NoError(t, err)
	s, err := settlement.New(settlement.Config{Plans: plans})
	require.NoError(t, err)
	for cur, want := range map[string]string{"EUR": "euro@1", "USD": "euro@1", "GBP": "rest@1"} {
		v, err := settlement.Pick(s, settlement.Line{ID: "L", Date: date("2026-01-01"), Amount: ensemble.MustMoney("1", cur),
			Offer: catalog.Pin{Offer: "o", Version: 1}, Route: partner.Route{Kind: partner.RouteDirect}})
		require.NoError(t, err)
		require.Equal(t, want, v.String(), cur)
	}
}

// A settler New accepts never finds two plans ambiguous, and New refuses
// exactly the lines that are: the ties it reports, cell by cell and day by
// day, are the lines pick finds ambiguous. The versions it reports hidden
// are those a brute-force model finds never picked.
func TestPlanVersionsCheckIsExact(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const days = 8 // plans start and end on days 0..days
	listed := []catalog.OfferID{"o1", "o2"}
	lineOffers := append(slices.Clone(listed), "unlisted")
	routeKinds := []partner.RouteKind{partner.RouteDirect, partner.RouteMarketplace, partner.RoutePartner,
		partner.RouteReferral, partner.RouteCoSell}
	listedCurrencies := []ensemble.Currency{ensemble.MustCurrency("EUR"), ensemble.MustCurrency("USD")}
	lineCurrencies := append(slices.Clone(listedCurrencies), ensemble.MustCurrency("GBP"))
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "plans")
		seen := map[settlement.PlanVersion]bool{}
		var plans []settlement.PlanDocument
		for i := range n {
			p := fmt.Sprintf("plan%d", i)
			d := settlement.PlanDocument{
				ID:      rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, p+".id"),
				Version: rapid.IntRange(1, 3).Draw(t, p+".version"),
				Root:    settlement.Node{ID: "root", Party: "platform"},
			}
			if v := (settlement.PlanVersion{ID: d.ID, Version: d.Version}); seen[v] {
				continue // New refuses duplicates for their own sake
			} else {
				seen[v] = true
			}
			for _, o := range listed {
				if rapid.IntRange(0, 2).Draw(t, p+".offer."+string(o)) == 0 {
					d.Offers = append(d.Offers, o)
				}
			}
			for _, k := range []partner.RouteKind{partner.RoutePartner, partner.RouteDirect} {
				if rapid.IntRange(0, 2).Draw(t, p+".route."+k.String()) == 0 {
					d.Routes = append(d.Routes, k)
				}
			}
			for _, c := range listedCurrencies {
				if rapid.IntRange(0, 2).Draw(t, p+".currency."+c.Key()) == 0 {
					d.Currencies = append(d.Currencies, c)
				}
			}
			from := rapid.IntRange(-1, days-1).Draw(t, p+".from") // -1: unbounded
			if from >= 0 {
				d.EffectiveFrom = base.AddDate(0, 0, from)
			}
			if until := rapid.IntRange(from+1, days+1).Draw(t, p+".until"); until <= days { // days+1: unbounded
				d.EffectiveUntil = base.AddDate(0, 0, until)
			}
			plans = append(plans, d)
		}
		_, err := settlement.New(settlement.Config{Plans: plans})
		js, jerr := json.Marshal(plans)
		require.NoError(t, jerr)
		_, perr := settlement.ParsePlans(js)
		if len(plans) > 1 {
			require.Equal(t, fmt.Sprint(err), fmt.Sprint(perr), "ParsePlans checks as New does")
		}
		unchecked, uerr := settlement.NewUnchecked(settlement.Config{Plans: plans})
		require.NoError(t, uerr)

		// What New reports, cell by cell and day by day.
		isListed := map[catalog.OfferID]bool{}
		isListedCur := map[ensemble.Currency]bool{}
		for _, d := range plans {
			for _, o := range d.Offers {
				isListed[o] = true
			}
			for _, c := range d.Currencies {
				isListedCur[c] = true
			}
		}
		reported := map[string]bool{}
		shadowed := map[string]string{} // hidden version -> versions taking its place
		var ve *ensemble.ValidationError
		if err != nil {
			require.ErrorAs(t, err, &ve)
			for _, p := range ve.Problems {
				var ce *settlement.PlanConflictError
				require.ErrorAs(t, p, &ce)
				if errors.Is(ce, settlement.ErrShadowedPlan) {
					shadowed[ce.Plans[0].String()] = fmt.Sprint(ce.Plans[1:])
					continue
				}
				require.ErrorIs(t, ce, settlement.ErrAmbiguousPlan)
				require.Len(t, ce.Plans, 2)
				for _, o := range lineOffers {
					if ce.Offers != nil && !slices.Contains(ce.Offers, o) && !(slices.Contains(ce.Offers, "") && !isListed[o]) {
						continue
					}
					for _, c := range lineCurrencies {
						if ce.Currencies != nil && !slices.Contains(ce.Currencies, c) &&
							!(slices.Contains(ce.Currencies, ensemble.Currency{}) && !isListedCur[c]) {
							continue
						}
						for _, k := range ce.Routes {
							for day := -1; day <= days+1; day++ {
								at := base.AddDate(0, 0, day)
								if (ce.From.IsZero() || !at.Before(ce.From)) && (ce.Until.IsZero() || at.Before(ce.Until)) {
									reported[fmt.Sprint(o, c, k, day)] = true
								}
							}
						}
					}
				}
			}
		}

		// What pick finds, on every day, offer and route.
		line := func(o catalog.OfferID, c ensemble.Currency, k partner.RouteKind, at time.Time) settlement.Line {
			return settlement.Line{ID: "L", Date: at, Amount: ensemble.MoneyFromMinor(100, c), Offer: catalog.Pin{Offer: o, Version: 1},
				Route: partner.Route{Kind: k, Chain: []partner.ID{"dev-1"}}}
		}
		ambiguous := map[string]bool{}
		for _, o := range lineOffers {
			for _, c := range lineCurrencies {
				for _, k := range routeKinds {
					for day := -1; day <= days+1; day++ {
						_, perr := settlement.Pick(unchecked, line(o, c, k, base.AddDate(0, 0, day)))
						if errors.Is(perr, settlement.ErrAmbiguousPlan) {
							ambiguous[fmt.Sprint(o, c, k, day)] = true
						}
					}
				}
			}
		}
		require.Equal(t, ambiguous, reported, "%v", err)
		// Lines at any instant, not only midnight, agree with the days.
		for i := range 20 {
			p := fmt.Sprintf("line%d", i)
			o := rapid.SampledFrom(lineOffers).Draw(t, p+".offer")
			c := rapid.SampledFrom(lineCurrencies).Draw(t, p+".currency")
			k := rapid.SampledFrom(routeKinds).Draw(t, p+".route")
			at := base.Add(time.Duration(rapid.Int64Range(-24*60, (days+1)*24*60).Draw(t, p+".minute")) * time.Minute)
			day := int(at.Sub(base).Hours()) / 24
			if at.Before(base) {
				day = -1
			}
			_, perr := settlement.Pick(unchecked, line(o, c, k, at))
			require.Equal(t, reported[fmt.Sprint(o, c, k, day)], errors.Is(perr, settlement.ErrAmbiguousPlan), "%s %s %s %s: %v", o, c, k, at, perr)
		}

		// A brute-force model of hidden versions: a version that matches
		// some line, and for every line it matches a higher version of its
		// plan matches too; the highest such versions take its place.
		matches := func(d settlement.PlanDocument, o catalog.OfferID, c ensemble.Currency, k partner.RouteKind, at time.Time) bool {
			return (len(d.Offers) == 0 || slices.Contains(d.Offers, o)) && (len(d.Routes) == 0 || slices.Contains(d.Routes, k)) &&
				(len(d.Currencies) == 0 || slices.Contains(d.Currencies, c)) &&
				(d.EffectiveFrom.IsZero() || !at.Before(d.EffectiveFrom)) && (d.EffectiveUntil.IsZero() || at.Before(d.EffectiveUntil))
		}
		model := map[string]string{}
		for _, d := range plans {
			used, hidden := false, false
			takers := map[int]bool{}
			for _, o := range lineOffers {
				for _, c := range lineCurrencies {
					for _, k := range routeKinds {
						for day := -1; day <= days+1; day++ {
							at := base.AddDate(0, 0, day)
							if !matches(d, o, c, k, at) {
								continue
							}
							hidden = true
							top := d.Version
							for _, h := range plans {
								if h.ID == d.ID && h.Version > top && matches(h, o, c, k, at) {
									top = h.Version
								}
							}
							if top == d.Version {
								used = true
							} else {
								takers[top] = true
							}
						}
					}
				}
			}
			if hidden && !used {
				var vs []settlement.PlanVersion
				for v := range takers {
					vs = append(vs, settlement.PlanVersion{ID: d.ID, Version: v})
				}
				slices.SortFunc(vs, func(a, b settlement.PlanVersion) int { return a.Version - b.Version })
				model[settlement.PlanVersion{ID: d.ID, Version: d.Version}.String()] = fmt.Sprint(vs)
			}
		}
		require.Equal(t, model, shadowed, "%v", err)
		require.Equal(t, len(ambiguous) > 0, errors.Is(err, settlement.ErrAmbiguousPlan))
		require.Equal(t, len(model) > 0, errors.Is(err, settlement.ErrShadowedPlan))
	})
}

// A mistyped effective_from: version 2 was meant to start in 2026, so it
// hides version 1 entirely, and it ties with the legacy plan until that
// plan ends.
func ExamplePlanConflictError() {
	_, err := settlement.ParsePlans([]byte(`
- {id: std, version: 1, effective_from: 2025-01-01T00:00:00Z, root: {id: root, party: platform}}
- {id: std, version: 2, effective_from: 2015-01-01T00:00:00Z, root: {id: root, party: platform}}
- {id: legacy, version: 1, effective_until: 2025-01-01T00:00:00Z, root: {id: root, party: platform}}
`))
	var ve *ensemble.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			var ce *settlement.PlanConflictError
			if errors.As(p, &ce) {
				fmt.Println(p.Path, ce.Plans, errors.Is(ce, settlement.ErrShadowedPlan))
			}
		}
	}
	// Output:
	// plans[0] [std@1 std@2] true
	// plans[2] [legacy@1 std@2] false
}
