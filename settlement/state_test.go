package settlement_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/ensemble-commerce/ensemble"
	"github.com/ensemble-commerce/ensemble/catalog"
	"github.com/ensemble-commerce/ensemble/partner"
	"github.com/ensemble-commerce/ensemble/settlement"
)

// ledgerPlans pay every kind of role a ledger part can carry: the platform,
// a fixed partner, the referrer, co-sellers, chain levels by index, all of
// them and by type, the top, a rolling cumulative share and the seller;
// marketplace lines take a calendar-year cumulative commission on the
// gross basis, and direct sales go to the platform.
const ledgerPlans = `
- id: wide
  version: 1
  routes: [partner, referral, co_sell]
  root:
    id: root
    children:
      - {id: platform, party: platform, share: "10%", fallback: platform}
      - {id: dev, party: "partner:dev-1", share: "5%", fallback: platform}
      - {id: ref, party: referrer, share: "5%", fallback: platform}
      - {id: co, party: co_sellers, share: "20%", fallback: platform}
      - {id: top, party: top, share: "5%", fallback: platform}
      - {id: levels, party: "chain[*]", share: "10%", fallback: platform}
      - {id: dist, party: distributor, share: "5%"}
      - {id: second, party: "chain[1]", share: "5%"}
      - id: volume
        party: platform
        fallback: platform
        share:
          cumulative:
            of: seller
            window: rolling_12_months
            tiers:
              - {up_to: {amount: "500.00", currency: EUR}, rate: "5%"}
              - {rate: "10%"}
      - {id: rest, party: seller, share: remaining, fallback: platform}
- id: store
  version: 2
  routes: [marketplace]
  basis: gross
  root:
    id: root
    children:
      - id: commission
        party: platform
        fallback: platform
        share:
          cumulative:
            of: seller
            tiers:
              - {up_to: {amount: "1000.00", currency: EUR}, rate: "15%"}
              - {rate: "30%"}
      - {id: developer, party: seller, share: remaining}
- id: direct
  version: 1
  routes: [direct]
  root: {id: root, party: platform}
`

func ledgerSettler(t testing.TB) *settlement.Settler {
	t.Helper()
	return planSettler(t, ledgerPlans, loadNetwork(t))
}

// ledgerChains are chains of one to three levels whose seller can trade
// (a cumulative share of a seller that cannot is an error); co-sellers may
// be suspended.
var ledgerChains = [][]partner.ID{{"sub-utrecht", "reseller-nl", "distri-eu"}, {"reseller-nl", "distri-eu"}, {"distri-eu"}, {"dev-1"}}

var coSellers = []partner.ID{"reseller-nl", "distri-eu", "reseller-de", "dev-1", "sub-utrecht"}

// drawCoSell draws up to most co-sellers for route r, which has a seller
// (its Seller or Chain[0]): partners other than the seller, with the
// seller's weight, either all zero (no weights: an equal split) or exact
// ratios summing to one, some of them zero.
func drawCoSell(t *rapid.T, id string, r *partner.Route, most int) {
	seller := r.Seller
	if seller == "" {
		seller = r.Chain[0]
	}
	others := slices.DeleteFunc(slices.Clone(coSellers), func(p partner.ID) bool { return p == seller })
	others = rapid.Permutation(others).Draw(t, id+".co_sellers")[:rapid.IntRange(1, min(most, len(others))).Draw(t, id+".co_seller_count")]
	r.SellerWeight, r.CoSellers = ensemble.Ratio{}, nil
	for _, p := range others {
		r.CoSellers = append(r.CoSellers, partner.CoSeller{Partner: p})
	}
	if rapid.IntRange(0, 3).Draw(t, id+".co_sell.equal") == 0 {
		return
	}
	raw := make([]int64, 1+len(others))
	var sum int64
	for i := range raw {
		raw[i] = rapid.Int64Range(0, 5).Draw(t, fmt.Sprintf("%s.co_sell.weight%d", id, i))
		sum += raw[i]
	}
	if sum == 0 {
		raw[0], sum = 1, 1
	}
	weight := func(i int) ensemble.Ratio { return ensemble.RatioFromRat(big.NewRat(raw[i], sum)) }
	r.SellerWeight = weight(0)
	for i := range r.CoSellers {
		r.CoSellers[i].Weight = weight(i + 1)
	}
}

// genLedgerLine draws a sale line of any route kind, with or without tax and
// supplier costs.
func genLedgerLine(t *rapid.T, id string) settlement.Line {
	eurC := ensemble.MustCurrency("EUR")
	amount := rapid.Int64Range(0, 5_000_000).Draw(t, id+".amount")
	l := settlement.Line{
		ID:     settlement.LineID(id),
		Date:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rapid.IntRange(0, 500).Draw(t, id+".day")),
		Amount: ensemble.MoneyFromMinor(amount, eurC),
		Offer:  catalog.Pin{Offer: "suite", Version: 1},
	}
	if rapid.Bool().Draw(t, id+".taxed") {
		l.Tax = ensemble.MoneyFromMinor(rapid.Int64Range(0, amount/4).Draw(t, id+".tax"), eurC)
	}
	switch kind := rapid.SampledFrom([]partner.RouteKind{partner.RoutePartner, partner.RouteReferral, partner.RouteCoSell,
		partner.RouteMarketplace, partner.RouteDirect}).Draw(t, id+".route"); kind {
	case partner.RouteMarketplace:
		l.Route = partner.Route{Kind: kind, Chain: []partner.ID{"dev-1"}}
	case partner.RouteDirect:
		l.Route = partner.Route{Kind: kind}
	default:
		l.Route = partner.Route{Kind: kind, Chain: rapid.SampledFrom(ledgerChains).Draw(t, id+".chain")}
		if rapid.Bool().Draw(t, id+".referred") {
			l.Route.Referrer = "referral-ams"
		}
		if kind == partner.RouteCoSell {
			drawCoSell(t, id, &l.Route, len(coSellers)-1)
		}
	}
	left := amount
	for i := range rapid.IntRange(0, 2).Draw(t, id+".costs") {
		cost := rapid.Int64Range(0, left).Draw(t, fmt.Sprintf("%s.cost%d", id, i))
		left -= cost
		supplier := rapid.SampledFrom([]string{"supplier-backup", "supplier-secure"}).Draw(t, fmt.Sprintf("%s.supplier%d", id, i))
		l.SupplierCosts = append(l.SupplierCosts, catalog.SupplierCost{Supplier: supplier, Offer: "backup",
			Component: ensemble.Ref{Kind: "bundle_component", ID: fmt.Sprintf("suite/c%d/%s", i, supplier), Version: "1"},
			Cost:      ensemble.MoneyFromMinor(cost, eurC)})
	}
	return l
}

// requireStateRoundTrips checks that st reads back from its JSON, writes
// the same JSON again and holds the same ledger lines.
func requireStateRoundTrips(t require.TestingT, st settlement.State, ids []settlement.LineID) settlement.State {
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var back settlement.State
	require.NoError(t, json.Unmarshal(b, &back), "%s", b)
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	require.Equal(t, string(b), string(b2))
	require.Equal(t, st.Len(), back.Len())
	for _, id := range ids {
		want, ok := st.Line(id)
		got, ok2 := back.Line(id)
		require.Equal(t, ok, ok2, "line %s", id)
		if d := cmp.Diff(want, got, cmpOpts...); d != "" {
			require.Failf(t, "line differs after a JSON round trip", "%s:\n%s", id, d)
		}
	}
	return back
}

// TestPropertyStateRoundTrips settles random lines of every route kind
// (supplier costs, co-sellers, chains of every depth, fallbacks, both
// cumulative windows), then credits, disputes won and lost at random: every
// state along the way reads back from JSON to the same state, and the state
// read back settles a further credit to the same entries.
func TestPropertyStateRoundTrips(t *testing.T) {
	s := ledgerSettler(t)
	rapid.Check(t, func(t *rapid.T) {
		lines := make([]settlement.Line, rapid.IntRange(1, 6).Draw(t, "lines"))
		ids := make([]settlement.LineID, len(lines))
		for i := range lines {
			lines[i] = genLedgerLine(t, fmt.Sprintf("L%d", i))
			ids[i] = lines[i].ID
		}
		res, err := s.Settle(ctx, settlement.State{}, lines)
		require.NoError(t, err)
		st := requireStateRoundTrips(t, res.State, ids)
		at := date("2027-06-01")
		for op := range rapid.IntRange(0, 8).Draw(t, "ops") {
			id := rapid.SampledFrom(ids[:len(lines)]).Draw(t, fmt.Sprintf("op%d.line", op))
			ll, ok := st.Line(id)
			require.True(t, ok)
			switch rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("op%d.kind", op)) {
			case 0: // a credit of some of what is left
				if ll.Disputed {
					continue
				}
				left, err := ll.Basis.Sub(ll.Credited)
				require.NoError(t, err)
				units, err := left.MinorUnits()
				require.NoError(t, err)
				take := rapid.Int64Range(0, units).Draw(t, fmt.Sprintf("op%d.credit", op))
				c := settlement.Line{ID: settlement.LineID(fmt.Sprintf("C%d", op)), Date: at, Amount: ensemble.MoneyFromMinor(-take, ll.Basis.Currency()), Credits: id,
					Dispute: settlement.DisputeSeparate}
				if undoc := minorOf(ll.Lost) - minorOf(ll.Documented); undoc > 0 && rapid.Bool().Draw(t, fmt.Sprintf("op%d.documents", op)) {
					// The lost dispute's credit note.
					c.Amount, c.Dispute = ensemble.MoneyFromMinor(-min(take, undoc), ll.Basis.Currency()), settlement.DisputeDocuments
				}
				res, err = s.Settle(ctx, st, []settlement.Line{c})
				require.NoError(t, err)
				ids = append(ids, c.ID)
			case 1:
				if ll.Disputed {
					res, err = s.ResolveDispute(st, id, rapid.Bool().Draw(t, fmt.Sprintf("op%d.won", op)), at)
				} else {
					res, err = s.Dispute(st, id, at)
				}
				require.NoError(t, err)
			case 2: // nothing: the state is read back again
				res.State = st
			}
			st = requireStateRoundTrips(t, res.State, ids)
		}
		// The state read back settles like the state it was written from.
		b, err := json.Marshal(st)
		require.NoError(t, err)
		var back settlement.State
		require.NoError(t, json.Unmarshal(b, &back))
		id := rapid.SampledFrom(ids[:len(lines)]).Draw(t, "last")
		ll, _ := st.Line(id)
		if ll.Disputed {
			return
		}
		left, err := ll.Basis.Sub(ll.Credited)
		require.NoError(t, err)
		full := settlement.Line{ID: "C-last", Date: at, Amount: left.Neg(), Credits: id, Dispute: settlement.DisputeSeparate}
		want, err := s.Settle(ctx, st, []settlement.Line{full})
		require.NoError(t, err)
		got, err := s.Settle(ctx, back, []settlement.Line{full})
		require.NoError(t, err)
		if d := cmp.Diff(want.Entries, got.Entries, cmpOpts...); d != "" {
			t.Fatalf("a state read back settles otherwise:\n%s", d)
		}
	})
}

// ledgerState returns the JSON of a state holding, among others: L1, a
// partner sale with supplier costs partly credited by C1; L2, a co-sold
// line under an open dispute; L3, a marketplace line (calendar-year
// volume); and a rolling volume.
func ledgerState(t testing.TB) []byte {
	t.Helper()
	s := ledgerSettler(t)
	l1 := chainLine("L1", "1000.00", "2026-03-01")
	l1.Offer = catalog.Pin{Offer: "suite", Version: 1}
	l1.SupplierCosts = []catalog.SupplierCost{{Supplier: "supplier-backup", Offer: "backup",
		Component: ensemble.Ref{Kind: "bundle_component", ID: "suite/backup/supplier-backup", Version: "1"}, Cost: eur("100.00")}}
	l2 := chainLine("L2", "300.00", "2026-03-02")
	l2.Route = partner.Route{Kind: partner.RouteCoSell, Seller: "reseller-nl", SellerWeight: ensemble.MustRatio("1/3"), Chain: []partner.ID{"reseller-nl", "distri-eu"},
		CoSellers: []partner.CoSeller{{Partner: "distri-eu", Weight: ensemble.MustRatio("2/3")}}}
	l3 := appLine("L3", "50.00", "2026-03-03")
	l3.Tax = eur("10.00")
	res, err := s.Settle(ctx, settlement.State{}, []settlement.Line{l1, l2, l3})
	require.NoError(t, err)
	res, err = s.Settle(ctx, res.State, []settlement.Line{credit("C1", "L1", "-250.00", "2026-03-10")})
	require.NoError(t, err)
	res, err = s.Dispute(res.State, "L2", date("2026-03-11"))
	require.NoError(t, err)
	b, err := json.Marshal(res.State)
	require.NoError(t, err)
	return b
}

// stateDoc is a state's JSON as generic values, for tests to corrupt.
type stateDoc map[string]any

// decodeProblem reads doc (a state's JSON, corrupted) and requires it to
// be refused with ErrCorruptState and a *StateError about line at a path
// ending in path whose text holds want.
func decodeProblem(t *testing.T, d stateDoc, path, want string, line settlement.LineID) *ensemble.FieldError {
	t.Helper()
	bad, err := json.Marshal(d)
	require.NoError(t, err)
	var st settlement.State
	err = json.Unmarshal(bad, &st)
	require.ErrorIs(t, err, settlement.ErrCorruptState)
	var ve *ensemble.ValidationError
	require.ErrorAs(t, err, &ve)
	i := slices.IndexFunc(ve.Problems, func(p *ensemble.FieldError) bool {
		return strings.HasSuffix(p.Path, path) && strings.Contains(p.Error(), want)
	})
	require.GreaterOrEqual(t, i, 0, "want %q at %s: %v", want, path, err)
	var se *settlement.StateError
	require.ErrorAs(t, ve.Problems[i], &se)
	require.Equal(t, line, se.Line)
	return ve.Problems[i]
}

func (d stateDoc) line(id string) map[string]any {
	for _, l := range d["lines"].([]any) {
		if l := l.(map[string]any); l["line"] == id {
			return l
		}
	}
	panic("no line " + id)
}

// part returns the first part of line id whose fields include every
// key/value of match.
func (d stateDoc) part(id string, match map[string]any) map[string]any {
	for _, p := range d.line(id)["parts"].([]any) {
		p := p.(map[string]any)
		ok := true
		for k, v := range match {
			ok = ok && p[k] == v
		}
		if ok {
			return p
		}
	}
	panic(fmt.Sprintf("no part %v of %s", match, id))
}

// moneyJSON is the JSON of a Money value.
func moneyJSON(amount, cur string) map[string]any {
	return map[string]any{"amount": amount, "currency": cur}
}

// shift returns the JSON of a Money value moved by delta minor units.
func shift(m any, delta int64) map[string]any {
	v := m.(map[string]any)
	got := ensemble.MustMoney(v["amount"].(string), v["currency"].(string))
	u, err := got.MinorUnits()
	if err != nil {
		panic(err)
	}
	return moneyJSON(ensemble.MoneyFromMinor(u+delta, got.Currency()).AmountString(), v["currency"].(string))
}

// TestStateDecodeRefusesCorruption corrupts a valid state one invariant
// at a time: each is refused with a *StateError (matching
// ErrCorruptState) that names the line and part, at the field's path.
func TestStateDecodeRefusesCorruption(t *testing.T) {
	valid := ledgerState(t)
	var st settlement.State
	require.NoError(t, json.Unmarshal(valid, &st), "the uncorrupted state reads")
	seller := map[string]any{"role": "seller"}
	supplier := map[string]any{"kind": "supplier_cost"}
	tests := []struct {
		class, name string
		corrupt     func(d stateDoc) (line, part string) // returns what the error must name
		field       string                               // the path after lines[i].parts[j] or lines[i]
		want        string
		is          error
	}{
		{"sums", "a part above what the line split", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["amount"], p["unreversed"] = shift(p["amount"], 1), shift(p["unreversed"], 1)
			return "L1", ""
		}, "parts", "the parts add up to EUR 1000.01, not the basis EUR 1000.00", nil},
		{"sums", "more unreversed than credits left", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["unreversed"] = shift(p["unreversed"], 1)
			return "L1", ""
		}, "parts", "not the basis EUR 1000.00 less the credited EUR 250.00", nil},
		{"sums", "credited beyond the basis", func(d stateDoc) (string, string) {
			d.line("L1")["credited"] = moneyJSON("1000.01", "EUR")
			return "L1", ""
		}, "credited", "credited EUR 1000.01 exceeds the basis", settlement.ErrOverCredit},
		{"sums", "negative credited", func(d stateDoc) (string, string) {
			d.line("L3")["credited"] = moneyJSON("-1.00", "EUR")
			return "L3", ""
		}, "credited", "negative credited", nil},
		{"sums", "unreversed above the amount", func(d stateDoc) (string, string) {
			p := d.part("L1", supplier)
			p["unreversed"] = shift(p["amount"], 1)
			return "L1", p["entry"].(string)
		}, "unreversed", "is outside [0, amount EUR 100.00]", nil},

		{"signs", "negative part on a sale", func(d stateDoc) (string, string) {
			p := d.part("L3", map[string]any{"role": "platform"})
			q := d.part("L3", seller)
			p["amount"], q["amount"] = shift(p["amount"], -2000), shift(q["amount"], 2000)
			p["unreversed"], q["unreversed"] = p["amount"], q["amount"]
			return "L3", p["entry"].(string)
		}, "amount", "negative amount", nil},
		{"signs", "negative unreversed", func(d stateDoc) (string, string) {
			p := d.part("L3", seller)
			p["unreversed"] = moneyJSON("-1.00", "EUR")
			return "L3", p["entry"].(string)
		}, "unreversed", "outside [0, amount", nil},
		{"signs", "negative basis", func(d stateDoc) (string, string) {
			d.line("L3")["basis"] = moneyJSON("-60.00", "EUR")
			return "L3", ""
		}, "basis", "negative basis", nil},

		{"roles", "unknown role", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["role"] = "Seller"
			return "L1", p["entry"].(string)
		}, "role", `unknown role "Seller"`, nil},
		{"roles", "chain[0] is written seller", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["role"] = "chain[0]"
			return "L1", p["entry"].(string)
		}, "role", `unknown role "chain[0]"`, nil},
		{"roles", "empty role", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			delete(p, "role")
			return "L1", p["entry"].(string)
		}, "role", `unknown role ""`, nil},
		{"roles", "a supplier cost paid to a plan role", func(d stateDoc) (string, string) {
			p := d.part("L1", supplier)
			p["role"] = "platform"
			return "L1", p["entry"].(string)
		}, "role", `unknown role "platform" for a part of kind supplier_cost`, nil},
		{"roles", "a fixed partner role paying another", func(d stateDoc) (string, string) {
			p := d.part("L1", map[string]any{"role": "partner:dev-1"})
			p["party"] = "dev-2"
			return "L1", p["entry"].(string)
		}, "party", `role "partner:dev-1" pays "dev-2"`, nil},
		{"roles", "a kind no ledger part has", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["kind"] = "clawback"
			return "L1", p["entry"].(string)
		}, "kind", "an earning or a supplier cost, not clawback", nil},
		{"roles", "a supplier cost outside supplier_costs/", func(d stateDoc) (string, string) {
			p := d.part("L1", supplier)
			p["node"] = "root/platform"
			p["entry"] = "L1:root/platform"
			return "L1", "L1:root/platform"
		}, "node", "is not under supplier_costs/", nil},

		{"keys", "duplicate part", func(d stateDoc) (string, string) {
			l := d.line("L1")
			parts := l["parts"].([]any)
			p := d.part("L1", seller)
			q := parts[0].(map[string]any)
			q["entry"], q["node"], q["role"], q["party"], q["kind"] = p["entry"], p["node"], p["role"], p["party"], p["kind"]
			return "L1", p["entry"].(string)
		}, "entry", "is also part", nil},
		{"keys", "entry id not derived from the node", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["entry"] = "L1:somewhere/else"
			return "L1", "L1:somewhere/else"
		}, "entry", `want "L1:root/rest"`, nil},
		{"keys", "a single-party entry naming its party", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["entry"] = p["entry"].(string) + "/" + p["party"].(string)
			return "L1", p["entry"].(string)
		}, "entry", "(line and node)", nil},
		{"keys", "a chain[*] entry not naming its party", func(d stateDoc) (string, string) {
			p := d.part("L1", map[string]any{"role": "chain[*]"})
			p["entry"] = "L1:" + p["node"].(string)
			return "L1", p["entry"].(string)
		}, "entry", "(line, node and party)", nil},

		{"currencies", "a part in another currency", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["amount"] = moneyJSON(p["amount"].(map[string]any)["amount"].(string), "USD")
			return "L1", p["entry"].(string)
		}, "amount", "is not in the line's currency EUR", settlement.ErrCurrency},
		{"currencies", "credited in another currency", func(d stateDoc) (string, string) {
			d.line("L1")["credited"] = moneyJSON("250.00", "USD")
			return "L1", ""
		}, "credited", "not in the line's currency", settlement.ErrCurrency},
		{"currencies", "held in another currency", func(d stateDoc) (string, string) {
			p := d.part("L2", map[string]any{"role": "platform"})
			p["held"] = moneyJSON(p["held"].(map[string]any)["amount"].(string), "GBP")
			return "L2", p["entry"].(string)
		}, "held", "not in the line's currency", settlement.ErrCurrency},
		{"currencies", "finer than the minor unit", func(d stateDoc) (string, string) {
			p := d.part("L1", supplier)
			p["unreversed"] = moneyJSON("75.001", "EUR")
			return "L1", p["entry"].(string)
		}, "unreversed", "not a whole number of minor units", ensemble.ErrNotMinorUnits},
		{"currencies", "a basis without currency", func(d stateDoc) (string, string) {
			d.line("L3")["basis"] = moneyJSON("0", "")
			return "L3", ""
		}, "basis", "has no currency", nil},

		{"routes", "unspecified route kind", func(d stateDoc) (string, string) {
			d.line("L1")["route"] = ""
			return "L1", ""
		}, "route", "route kind unspecified", nil},
		{"routes", "chain roles on a line with no seller", func(d stateDoc) (string, string) {
			delete(d.line("L1"), "seller")
			p := d.part("L1", map[string]any{"role": "top"})
			return "L1", p["entry"].(string)
		}, "role", `role "top" reads the route's chain, but the line has no seller`, nil},
		{"routes", "the seller's part paying another partner", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["party"] = "reseller-nl"
			return "L1", p["entry"].(string)
		}, "party", `role seller pays "reseller-nl", but the line's seller is "sub-utrecht"`, nil},
		{"routes", "an invalid seller id", func(d stateDoc) (string, string) {
			d.line("L1")["seller"] = "sub utrecht"
			return "L1", ""
		}, "seller", "invalid seller id", ensemble.ErrInvalidID},

		{"disputes", "disputed but never opened", func(d stateDoc) (string, string) {
			delete(d.line("L2"), "disputes")
			return "L2", ""
		}, "disputes", "no dispute was ever opened", nil},
		{"disputes", "a dispute holding less than is unreversed", func(d stateDoc) (string, string) {
			p := d.part("L2", map[string]any{"role": "platform"})
			p["held"] = shift(p["held"], -1)
			return "L2", p["entry"].(string)
		}, "held", "an open dispute holds", nil},
		{"disputes", "held on a line no dispute holds", func(d stateDoc) (string, string) {
			p := d.part("L1", seller)
			p["held"] = p["unreversed"]
			return "L1", p["entry"].(string)
		}, "held", "held on a line no dispute holds", nil},
		{"disputes", "too many disputes", func(d stateDoc) (string, string) {
			d.line("L2")["disputes"] = 1 << 31
			return "L2", ""
		}, "disputes", "disputes: want [0, 2147483647]", nil},

		{"lines", "an id holding a separator", func(d stateDoc) (string, string) {
			d.line("L3")["line"] = "L:3"
			return "L:3", ""
		}, "line", "invalid line id", ensemble.ErrInvalidID},
		{"lines", "a line held twice", func(d stateDoc) (string, string) {
			d.line("L3")["line"] = "L2"
			return "L2", ""
		}, "line", "held twice", settlement.ErrAlreadySettled},
		{"lines", "zero date", func(d stateDoc) (string, string) {
			d.line("L3")["date"] = "0001-01-01T00:00:00Z"
			return "L3", ""
		}, "date", "zero date", nil},
		{"lines", "no plan", func(d stateDoc) (string, string) {
			d.line("L3")["plan"] = map[string]any{"kind": "rule", "id": "store", "version": "2"}
			return "L3", ""
		}, "plan", "is not a plan version", nil},
		{"lines", "no offer", func(d stateDoc) (string, string) {
			d.line("L3")["offer"] = map[string]any{"offer": "", "version": 1}
			return "L3", ""
		}, "offer.offer", "empty offer id", nil},
	}
	for _, tt := range tests {
		t.Run(tt.class+"/"+tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(valid, &d))
			line, part := tt.corrupt(d)
			bad, err := json.Marshal(d)
			require.NoError(t, err)
			var st settlement.State
			err = json.Unmarshal(bad, &st)
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			var ve *ensemble.ValidationError
			require.ErrorAs(t, err, &ve)
			// The problem the test is about is among those reported.
			var found *settlement.StateError
			var paths []string
			for _, p := range ve.Problems {
				var se *settlement.StateError
				require.ErrorAs(t, p, &se, "every problem is a *StateError")
				require.ErrorIs(t, p, settlement.ErrCorruptState)
				paths = append(paths, p.Path+": "+se.Msg)
				if strings.Contains(se.Msg, tt.want) && strings.HasSuffix(p.Path, "."+tt.field) {
					found = se
				}
			}
			require.NotNil(t, found, "want %q at .%s among:\n%s", tt.want, tt.field, strings.Join(paths, "\n"))
			require.Equal(t, settlement.LineID(line), found.Line)
			require.Equal(t, settlement.EntryID(part), found.Part)
			if part != "" {
				require.Contains(t, found.Error(), fmt.Sprintf("line %q part %q: ", line, part))
			}
			if tt.is != nil {
				require.ErrorIs(t, found, tt.is)
			}
			require.Equal(t, settlement.State{}.Len(), st.Len(), "a refused state leaves the target unchanged")
		})
	}
}

// TestStateDecodeRefusesCorruptCreditsAndVolumes: the credits a state
// remembers and its cumulative volumes are checked like its lines.
func TestStateDecodeRefusesCorruptCreditsAndVolumes(t *testing.T) {
	valid := ledgerState(t)
	volume := func(d stateDoc, window string) map[string]any {
		for _, v := range d["volumes"].([]any) {
			if v := v.(map[string]any); v["window"] == window {
				return v
			}
		}
		panic("no " + window + " volume")
	}
	tests := []struct {
		name    string
		corrupt func(d stateDoc)
		path    string
		want    string
		line    settlement.LineID
	}{
		{"a credit held twice", func(d stateDoc) { d["credits"] = append(d["credits"].([]any), d["credits"].([]any)[0]) }, "credits[1].line", "held twice", "C1"},
		{"a credit with a settled line's id", func(d stateDoc) {
			d["credits"] = append(d["credits"].([]any), map[string]any{"line": "L2", "credits": "L1"})
		}, "credits[1].line", "the id of a settled line", "L2"},
		{"a credit of itself", func(d stateDoc) { d["credits"].([]any)[0].(map[string]any)["credits"] = "C1" }, "credits[0].credits", "cannot credit itself", "C1"},
		{"a credit of a credit", func(d stateDoc) {
			d["credits"] = append(d["credits"].([]any), map[string]any{"line": "C2", "credits": "C1"})
		}, "credits[1].credits", "itself a credit", "C2"},
		{"a credit without id", func(d stateDoc) { d["credits"].([]any)[0].(map[string]any)["line"] = "" }, "credits[0].line", "invalid credit line id", ""},
		{"a volume in another currency", func(d stateDoc) {
			v := volume(d, "calendar_year")
			v["amount"] = moneyJSON(v["amount"].(map[string]any)["amount"].(string), "USD")
		}, "volumes[0].amount", "is not in EUR", ""},
		{"a negative volume", func(d stateDoc) {
			volume(d, "calendar_year")["amount"] = moneyJSON("-1.00", "EUR")
		}, "volumes[0].amount", "negative volume", ""},
		{"a rolling volume that is not the sum of its points", func(d stateDoc) {
			v := volume(d, "rolling_12_months")
			v["amount"] = shift(v["amount"], 1)
		}, ".amount", "is not the sum of its points", ""},
		{"points on a calendar year", func(d stateDoc) {
			v := volume(d, "calendar_year")
			v["points"] = []any{map[string]any{"date": "2026-03-03T00:00:00Z", "amount": v["amount"]}}
		}, ".points", "a calendar year keeps no points", ""},
		{"a volume held twice", func(d stateDoc) { d["volumes"] = append(d["volumes"].([]any), d["volumes"].([]any)[0]) }, "volumes[3]", "held twice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d stateDoc
			require.NoError(t, json.Unmarshal(valid, &d))
			tt.corrupt(d)
			decodeProblem(t, d, tt.path, tt.want, tt.line)
		})
	}
}

// TestStateDecodeErrorsAreTyped: text that is not a state is a
// *ensemble.DecodeError matching ErrCorruptState too.
func TestStateDecodeErrorsAreTyped(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":    `{"lines":[],"volumes":[],"extra":1}`,
		"duplicate key":    `{"lines":[],"lines":[],"volumes":[]}`,
		"bad money":        `{"lines":[{"line":"L1","basis":{"amount":"1e3","currency":"EUR"}}],"volumes":[]}`,
		"bad enum":         `{"lines":[{"line":"L1","route":"mail_order"}],"volumes":[]}`,
		"empty":            ``,
		"trailing garbage": `{"lines":[],"volumes":[]} x`,
	} {
		t.Run(name, func(t *testing.T) {
			var st settlement.State
			err := st.UnmarshalJSON([]byte(doc))
			require.ErrorIs(t, err, settlement.ErrCorruptState)
			require.ErrorIs(t, err, ensemble.ErrDecode)
			var de *ensemble.DecodeError
			require.ErrorAs(t, err, &de)
			require.Equal(t, "state", de.Subject)
		})
	}
}

// BenchmarkStateJSON reads a state of settled lines back from JSON, every
// invariant checked.
func BenchmarkStateJSON(b *testing.B) {
	s := newSettler(b)
	lines := make([]settlement.Line, 2000)
	for i := range lines {
		lines[i] = chainLine(fmt.Sprintf("L%05d", i), "1000.00", "2026-03-01")
	}
	res, err := s.Settle(ctx, settlement.State{}, lines)
	require.NoError(b, err)
	data, err := json.Marshal(res.State)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		var st settlement.State
		if err := json.Unmarshal(data, &st); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
